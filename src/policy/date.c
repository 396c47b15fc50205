/* see date.h. RFC 9110 §5.6.7 (HTTP-date), RFC 1123 §5.2.14 (four-digit
 * years in RFC 822 dates), and the behaviour of WinHttpTimeToSystemTime that
 * Wine's winhttp and wininet tests record from real Windows. */
#include "policy/date.h"

#include "util/str.h"

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const day_names_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days from 0000-01-01 to 1970-01-01 in the proleptic Gregorian calendar. */
#define DAYS_0000_TO_1970 719528
#define SECS_PER_DAY 86400

bool wh_date_is_leap(unsigned year)
{
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

unsigned wh_date_days_in_month(unsigned year, unsigned month)
{
  static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12)
    return 0;
  if (month == 2 && wh_date_is_leap(year))
    return 29;
  return len[month - 1];
}

/* Days before the first of |month| in a year. */
static unsigned days_before_month(unsigned year, unsigned month)
{
  static const unsigned short cum[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  return cum[month - 1] + (month > 2 && wh_date_is_leap(year) ? 1u : 0u);
}

/* Days from 0000-01-01 to the first of January of |year| (year <= 9999).
 * Year 0 is a leap year, so the leap years before |year| are the multiples
 * of 4 in [0, year), less those of 100, plus those of 400. */
static int64_t days_before_year(unsigned year)
{
  unsigned leaps = 0;
  if (year > 0)
    leaps = (year - 1) / 4 + 1 - ((year - 1) / 100 + 1) + ((year - 1) / 400 + 1);
  return (int64_t)year * 365 + leaps;
}

/* Days since 1970-01-01 of a valid date. */
static int64_t days_from_civil(unsigned year, unsigned month, unsigned day)
{
  return days_before_year(year) + days_before_month(year, month) + (day - 1) - DAYS_0000_TO_1970;
}

unsigned wh_date_weekday(unsigned year, unsigned month, unsigned day)
{
  /* 1970-01-01 was a Thursday (4). */
  int64_t d = days_from_civil(year, month, day) % 7;
  if (d < 0)
    d += 7;
  return (unsigned)((d + 4) % 7);
}

bool wh_date_valid(const struct wh_time *t)
{
  return t->year <= 9999 && t->month >= 1 && t->month <= 12 && t->day >= 1 &&
         t->day <= wh_date_days_in_month(t->year, t->month) && t->hour <= 23 && t->minute <= 59 &&
         t->second <= 60;
}

static char *put2(char *p, unsigned v)
{
  *p++ = (char)('0' + v / 10 % 10);
  *p++ = (char)('0' + v % 10);
  return p;
}

static char *put3(char *p, const char *name)
{
  *p++ = name[0];
  *p++ = name[1];
  *p++ = name[2];
  return p;
}

bool wh_date_format(const struct wh_time *t, char *buf, size_t size)
{
  if (size < WH_DATE_RFC1123_LEN + 1 || !wh_date_valid(t) || t->dow > 6)
    return false;
  char *p = buf;
  p = put3(p, day_names[t->dow]);
  *p++ = ',';
  *p++ = ' ';
  p = put2(p, t->day);
  *p++ = ' ';
  p = put3(p, month_names[t->month - 1]);
  *p++ = ' ';
  p = put2(p, t->year / 100u);
  p = put2(p, t->year % 100u);
  *p++ = ' ';
  p = put2(p, t->hour);
  *p++ = ':';
  p = put2(p, t->minute);
  *p++ = ':';
  p = put2(p, t->second);
  *p++ = ' ';
  *p++ = 'G';
  *p++ = 'M';
  *p++ = 'T';
  *p = '\0';
  return true;
}

bool wh_date_to_epoch(const struct wh_time *t, int64_t *out)
{
  if (!wh_date_valid(t))
    return false;
  *out = days_from_civil(t->year, t->month, t->day) * SECS_PER_DAY + (int64_t)t->hour * 3600 +
         (int64_t)t->minute * 60 + t->second;
  return true;
}

bool wh_date_from_epoch(int64_t secs, struct wh_time *out)
{
  if (secs < WH_DATE_EPOCH_MIN || secs > WH_DATE_EPOCH_MAX)
    return false;
  /* Shift to days since 0000-01-01, which is never negative in range, so
   * plain division is floor division. */
  int64_t since0 = secs - WH_DATE_EPOCH_MIN;
  int64_t dn = since0 / SECS_PER_DAY;
  unsigned rem = (unsigned)(since0 % SECS_PER_DAY);

  /* 146097 days per 400 years gives a year that is at most one too high. */
  unsigned year = (unsigned)(dn * 400 / 146097);
  while (year > 0 && days_before_year(year) > dn)
    year--;
  while (year < 9999 && days_before_year(year + 1) <= dn)
    year++;
  unsigned doy = (unsigned)(dn - days_before_year(year));
  unsigned month = 1;
  while (month < 12 && days_before_month(year, month + 1) <= doy)
    month++;

  out->year = (uint16_t)year;
  out->month = (uint16_t)month;
  out->day = (uint16_t)(doy - days_before_month(year, month) + 1);
  out->hour = (uint16_t)(rem / 3600);
  out->minute = (uint16_t)(rem / 60 % 60);
  out->second = (uint16_t)(rem % 60);
  out->ms = 0;
  /* 0000-01-01 was a Saturday (6). */
  out->dow = (uint16_t)((dn + 6) % 7);
  return true;
}

/* Index (0..6 / 0..11) of the three-letter name at |p| in |names|, compared
 * case-sensitively or not; -1 when none matches. */
static int find_name(const char (*names)[4], int count, const char *p, bool nocase)
{
  for (int i = 0; i < count; i++) {
    bool eq = true;
    for (int k = 0; k < 3 && eq; k++) {
      int a = (unsigned char)p[k], b = (unsigned char)names[i][k];
      eq = nocase ? wh_to_lower(a) == wh_to_lower(b) : a == b;
    }
    if (eq)
      return i;
  }
  return -1;
}

/* Two-digit year rule of RFC 9110 §5.6.7: "Recipients of a timestamp value
 * in rfc850-date format, which uses a two-digit year, MUST interpret a
 * timestamp that appears to be more than 50 years in the future as
 * representing the most recent year in the past that had the same last two
 * digits." So the year lands in (now - 50, now + 50]. */
static unsigned expand_year2(unsigned yy, unsigned now_year)
{
  unsigned y = now_year - now_year % 100 + yy;
  if (y + 50 <= now_year && y + 100 <= 9999)
    y += 100;
  else if (y > now_year + 50 && y >= 100)
    y -= 100;
  return y;
}

/* ---- strict parser --------------------------------------------------- */

/* A cursor over the trimmed input; every reader fails past the end. */
struct cur {
  const char *p;
  size_t n;
};

static bool lit(struct cur *c, char ch)
{
  if (c->n == 0 || *c->p != ch)
    return false;
  c->p++;
  c->n--;
  return true;
}

static bool digits(struct cur *c, size_t count, unsigned *out)
{
  if (c->n < count)
    return false;
  unsigned v = 0;
  for (size_t i = 0; i < count; i++) {
    if (!wh_is_digit((unsigned char)c->p[i]))
      return false;
    v = v * 10 + (unsigned)(c->p[i] - '0');
  }
  c->p += count;
  c->n -= count;
  *out = v;
  return true;
}

static bool month3(struct cur *c, unsigned *month)
{
  if (c->n < 3)
    return false;
  int m = find_name(month_names, 12, c->p, false);
  if (m < 0)
    return false;
  c->p += 3;
  c->n -= 3;
  *month = (unsigned)m + 1;
  return true;
}

/* time-of-day = hour ":" minute ":" second, 2DIGIT each. */
static bool time_of_day(struct cur *c, unsigned *h, unsigned *m, unsigned *s)
{
  return digits(c, 2, h) && lit(c, ':') && digits(c, 2, m) && lit(c, ':') && digits(c, 2, s);
}

static bool gmt(struct cur *c)
{
  return lit(c, 'G') && lit(c, 'M') && lit(c, 'T');
}

bool wh_date_parse_http(const char *s, size_t len, int64_t now, struct wh_time *out)
{
  wh_trim_ows(&s, &len);
  struct cur c = {s, len};
  unsigned year, month, day, hour, minute, second;

  /* The day name picks the format: three letters and a comma for
   * IMF-fixdate, three letters and a space for asctime, the full name and
   * a comma for rfc850. */
  size_t name_len = 0;
  while (name_len < c.n && wh_is_alpha((unsigned char)c.p[name_len]))
    name_len++;
  if (name_len == c.n)
    return false;
  char after = c.p[name_len];

  if (name_len == 3 && after == ',') {
    /* IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT
     * date1 = day SP month SP year ; e.g. 02 Jun 1982 */
    if (find_name(day_names, 7, c.p, false) < 0)
      return false;
    c.p += 4;
    c.n -= 4;
    if (!(lit(&c, ' ') && digits(&c, 2, &day) && lit(&c, ' ') && month3(&c, &month) &&
          lit(&c, ' ') && digits(&c, 4, &year) && lit(&c, ' ') &&
          time_of_day(&c, &hour, &minute, &second) && lit(&c, ' ') && gmt(&c)))
      return false;
  } else if (name_len == 3 && after == ' ') {
    /* asctime-date = day-name SP date3 SP time-of-day SP year
     * date3 = month SP ( 2DIGIT / ( SP 1DIGIT )) ; e.g. Jun  2 */
    if (find_name(day_names, 7, c.p, false) < 0)
      return false;
    c.p += 4;
    c.n -= 4;
    if (!(month3(&c, &month) && lit(&c, ' ')))
      return false;
    if (!(lit(&c, ' ') ? digits(&c, 1, &day) : digits(&c, 2, &day)))
      return false;
    if (!(lit(&c, ' ') && time_of_day(&c, &hour, &minute, &second) && lit(&c, ' ') &&
          digits(&c, 4, &year)))
      return false;
  } else if (after == ',') {
    /* rfc850-date = day-name-l "," SP date2 SP time-of-day SP GMT
     * date2 = day "-" month "-" 2DIGIT ; e.g. 02-Jun-82 */
    bool exact = false; /* case-sensitive, as the whole HTTP-date is */
    for (int i = 0; i < 7 && !exact; i++) {
      const char *n = day_names_long[i];
      size_t k = 0;
      while (k < name_len && n[k] == c.p[k])
        k++;
      exact = k == name_len && n[k] == '\0';
    }
    if (!exact)
      return false;
    c.p += name_len + 1;
    c.n -= name_len + 1;
    unsigned yy;
    if (!(lit(&c, ' ') && digits(&c, 2, &day) && lit(&c, '-') && month3(&c, &month) &&
          lit(&c, '-') && digits(&c, 2, &yy) && lit(&c, ' ') &&
          time_of_day(&c, &hour, &minute, &second) && lit(&c, ' ') && gmt(&c)))
      return false;
    struct wh_time n;
    if (!wh_date_from_epoch(now, &n))
      n.year = now < 0 ? 0 : 9999;
    year = expand_year2(yy, n.year);
    if (year > 9999)
      return false;
  } else {
    return false;
  }
  if (c.n != 0)
    return false;

  struct wh_time t = {(uint16_t)year, (uint16_t)month, 0, (uint16_t)day,
                      (uint16_t)hour, (uint16_t)minute, (uint16_t)second, 0};
  if (!wh_date_valid(&t))
    return false;
  t.dow = (uint16_t)wh_date_weekday(year, month, day);
  *out = t;
  return true;
}

/* ---- lenient parser -------------------------------------------------- */

/* Largest value a number token keeps; longer runs of digits saturate here,
 * which is out of range for every field. */
#define NUM_CAP 100000u

enum slot { S_DAY, S_MONTH, S_YEAR, S_HOUR, S_MINUTE, S_SECOND, S_NONE };

static const unsigned slot_bit[] = {WH_DATE_GOT_DAY,  WH_DATE_GOT_MONTH,  WH_DATE_GOT_YEAR,
                                    WH_DATE_GOT_HOUR, WH_DATE_GOT_MINUTE, WH_DATE_GOT_SECOND};

/* The next field a number fills. RFC 1123 and RFC 850 dates (and the
 * numeric variants Windows accepts) read day, month, year, then the time.
 * An asctime date names its month before the day and puts the year last. */
static enum slot next_slot(unsigned got, bool asctime)
{
  static const enum slot rfc[] = {S_DAY, S_MONTH, S_YEAR, S_HOUR, S_MINUTE, S_SECOND};
  static const enum slot asc[] = {S_DAY, S_HOUR, S_MINUTE, S_SECOND, S_YEAR};
  const enum slot *order = asctime ? asc : rfc;
  size_t count = asctime ? sizeof(asc) / sizeof(asc[0]) : sizeof(rfc) / sizeof(rfc[0]);
  for (size_t i = 0; i < count; i++)
    if (!(got & slot_bit[order[i]]))
      return order[i];
  return S_NONE;
}

unsigned wh_date_parse_lenient(const char *s, size_t len, const struct wh_time *now,
                               struct wh_time *out)
{
  struct wh_time t = *now;
  unsigned got = 0;
  bool asctime = false;
  size_t i = 0;

  while (i < len && next_slot(got, asctime) != S_NONE) {
    unsigned char ch = (unsigned char)s[i];
    if (wh_is_alpha(ch)) {
      size_t start = i;
      while (i < len && wh_is_alpha((unsigned char)s[i]))
        i++;
      /* Windows compares the first three letters only, so "Monday",
       * "mon" and "MONTAG" are all Monday. Shorter words are noise. */
      if (i - start < 3)
        continue;
      int d = find_name(day_names, 7, s + start, true);
      int m = find_name(month_names, 12, s + start, true);
      if (d >= 0 && !(got & (WH_DATE_GOT_DOW | WH_DATE_GOT_DAY))) {
        t.dow = (uint16_t)d;
        got |= WH_DATE_GOT_DOW;
      } else if (m >= 0 && !(got & WH_DATE_GOT_MONTH)) {
        t.month = (uint16_t)(m + 1);
        got |= WH_DATE_GOT_MONTH;
        /* A month named before any day number is asctime order. */
        if (!(got & WH_DATE_GOT_DAY))
          asctime = true;
      }
      continue;
    }
    if (!wh_is_digit(ch)) {
      i++;
      continue;
    }

    size_t start = i;
    unsigned v = 0;
    while (i < len && wh_is_digit((unsigned char)s[i])) {
      if (v < NUM_CAP)
        v = v * 10 + (unsigned)(s[i] - '0');
      i++;
    }
    if (v > NUM_CAP)
      v = NUM_CAP;
    size_t ndigits = i - start;

    /* Windows reads a leading number followed by a comma as the day of the
     * week: "5, 07-01-2005 12:06:35 GMT" is a Friday (Wine's wininet tests,
     * which pass on Windows). */
    if (got == 0) {
      size_t k = i;
      while (k < len && (s[k] == ' ' || s[k] == '\t'))
        k++;
      if (k < len && s[k] == ',' && v <= 6) {
        t.dow = (uint16_t)v;
        got |= WH_DATE_GOT_DOW;
        continue;
      }
    }

    enum slot slot = next_slot(got, asctime);
    /* "Sunday, January 3, 2033 04:05:06": after a named month and the day,
     * a number of three or more digits is the year, not the hour. */
    if (asctime && slot == S_HOUR && ndigits >= 3)
      slot = S_YEAR;
    bool ok;
    switch (slot) {
    case S_DAY:
      ok = v >= 1 && v <= 31;
      t.day = (uint16_t)v;
      break;
    case S_MONTH:
      ok = v >= 1 && v <= 12;
      t.month = (uint16_t)v;
      break;
    case S_YEAR:
      if (ndigits <= 2)
        v = expand_year2(v, now->year);
      ok = v <= 9999;
      t.year = (uint16_t)(ok ? v : 0);
      break;
    case S_HOUR:
      ok = v <= 23;
      t.hour = (uint16_t)v;
      break;
    case S_MINUTE:
      ok = v <= 59;
      t.minute = (uint16_t)v;
      break;
    case S_SECOND:
      ok = v <= 59;
      t.second = (uint16_t)v;
      break;
    case S_NONE:
    default:
      ok = false;
      break;
    }
    if (!ok) {
      /* Stop at the first impossible value, keeping |now| for it and for
       * every later field, as Windows stops at the first field it cannot
       * read. */
      switch (slot) {
      case S_DAY: t.day = now->day; break;
      case S_MONTH: t.month = now->month; break;
      case S_YEAR: t.year = now->year; break;
      case S_HOUR: t.hour = now->hour; break;
      case S_MINUTE: t.minute = now->minute; break;
      case S_SECOND: t.second = now->second; break;
      case S_NONE: default: break;
      }
      break;
    }
    got |= slot_bit[slot];
  }

  if (got & WH_DATE_GOT_SECOND)
    t.ms = 0;
  /* Without a day name in the text, keep the day of week consistent with
   * the date when there is one: Windows would leave today's. */
  if (!(got & WH_DATE_GOT_DOW) && (got & (WH_DATE_GOT_DAY | WH_DATE_GOT_MONTH | WH_DATE_GOT_YEAR)) &&
      t.year <= 9999 && t.day >= 1 && t.day <= wh_date_days_in_month(t.year, t.month))
    t.dow = (uint16_t)wh_date_weekday(t.year, t.month, t.day);
  *out = t;
  return got;
}
