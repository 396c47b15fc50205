/* HTTP dates: the RFC 1123 formatter behind WinHttpTimeFromSystemTime, the
 * lenient parser behind WinHttpTimeToSystemTime, a strict RFC 9110 §5.6.7
 * HTTP-date parser for the engine (Date, Expires, Last-Modified, Retry-After,
 * QueryHeaders with WINHTTP_QUERY_FLAG_SYSTEMTIME), and conversions to and
 * from seconds since the Unix epoch.
 *
 * Everything here is pure: no clock reads ("now" is always a parameter), no
 * locale, no libc time functions, no mutable state. All functions may be
 * called from any number of threads at once (CONTRACT.md C1).
 *
 * Calendar: proleptic Gregorian, UTC only, years 0000 to 9999 (the range a
 * 4DIGIT year can express). Day of week 0 is Sunday, as in SYSTEMTIME.
 */
#ifndef WH_POLICY_DATE_H
#define WH_POLICY_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Calendar fields, in the order and with the meaning of SYSTEMTIME, so the
 * api ring can copy them one by one; the policy ring does not see the
 * Windows header. */
struct wh_time {
  uint16_t year;   /* 0..9999 */
  uint16_t month;  /* 1..12 */
  uint16_t dow;    /* 0 (Sunday)..6 (Saturday) */
  uint16_t day;    /* 1..days in month */
  uint16_t hour;   /* 0..23 */
  uint16_t minute; /* 0..59 */
  uint16_t second; /* 0..60; 60 is a leap second (RFC 9110 §5.6.7) */
  uint16_t ms;     /* 0..999; not part of any HTTP-date */
};

/* "Mon, 28 Jul 2008 10:05:52 GMT" is always this many bytes (no NUL). */
#define WH_DATE_RFC1123_LEN 29

/* The representable range, as seconds since 1970-01-01T00:00:00Z:
 * 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define WH_DATE_EPOCH_MIN (-62167219200LL)
#define WH_DATE_EPOCH_MAX 253402300799LL

/* Gregorian leap year rule. */
bool wh_date_is_leap(unsigned year);
/* Days in |month| (1..12) of |year|; 0 when |month| is out of range. */
unsigned wh_date_days_in_month(unsigned year, unsigned month);
/* Day of the week (0 = Sunday) of a date; the date must be valid. */
unsigned wh_date_weekday(unsigned year, unsigned month, unsigned day);

/* True when year, month, day, hour, minute and second form a real instant:
 * year <= 9999, month 1..12, day 1..days in that month, hour <= 23,
 * minute <= 59, second <= 60. |dow| and |ms| are not looked at. */
bool wh_date_valid(const struct wh_time *t);

/* Formats |t| as an RFC 1123 / IMF-fixdate (RFC 9110 §5.6.7), for example
 * "Mon, 28 Jul 2008 10:05:52 GMT", into |buf| with a terminating NUL; |size|
 * must be at least WH_DATE_RFC1123_LEN + 1. The day name is |t->dow| as given
 * (it must be 0..6); it is not recomputed from the date, as Windows prints
 * the caller's wDayOfWeek. |t->ms| is ignored. Returns false, writing
 * nothing, when |t| is not wh_date_valid(), |t->dow| > 6, or |buf| is too
 * small. */
bool wh_date_format(const struct wh_time *t, char *buf, size_t size);

/* Seconds since the Unix epoch of the instant |t| (|dow| and |ms| ignored; a
 * leap second counts as the first second of the next minute). Returns false
 * when |t| is not wh_date_valid(). */
bool wh_date_to_epoch(const struct wh_time *t, int64_t *out);
/* The calendar fields of |secs| seconds since the epoch, with |dow| computed
 * and |ms| 0. Returns false, leaving |out| untouched, outside
 * [WH_DATE_EPOCH_MIN, WH_DATE_EPOCH_MAX]. */
bool wh_date_from_epoch(int64_t secs, struct wh_time *out);

/* Strict HTTP-date parser (RFC 9110 §5.6.7). Accepts exactly one of
 *   IMF-fixdate   "Sun, 06 Nov 1994 08:49:37 GMT"
 *   rfc850-date   "Sunday, 06-Nov-94 08:49:37 GMT"
 *   asctime-date  "Sun Nov  6 08:49:37 1994"
 * case-sensitively, with optional whitespace (SP/HTAB) around the value and
 * nothing else. The date must exist (no 31 Nov) and the time be at most
 * 23:59:60. A two-digit rfc850 year becomes the year with those last two
 * digits in (Y - 50, Y + 50], Y being the year of |now| (seconds since the
 * epoch): RFC 9110 reads a year more than 50 years ahead as the past one. The day name is checked for
 * syntax only; |out->dow| is computed from the date and |out->ms| is 0.
 * Returns false, leaving |out| untouched, on anything else. */
bool wh_date_parse_http(const char *s, size_t len, int64_t now, struct wh_time *out);

/* Bits of the value wh_date_parse_lenient() returns: the fields it took
 * from the text rather than from |now|. */
enum {
  WH_DATE_GOT_DOW = 1u << 0,
  WH_DATE_GOT_DAY = 1u << 1,
  WH_DATE_GOT_MONTH = 1u << 2,
  WH_DATE_GOT_YEAR = 1u << 3,
  WH_DATE_GOT_HOUR = 1u << 4,
  WH_DATE_GOT_MINUTE = 1u << 5,
  WH_DATE_GOT_SECOND = 1u << 6,
  WH_DATE_GOT_ALL = (1u << 7) - 1
};

/* The forgiving parser of WinHttpTimeToSystemTime. It cannot fail: |out|
 * starts as a copy of |now| and every field found in the text replaces the
 * copy's. Letters are compared case-insensitively by their first three
 * characters; every byte that is neither an ASCII letter nor a digit
 * separates tokens; words that are neither day nor month names ("GMT",
 * "UTC", "Date") are skipped. It reads RFC 1123, RFC 850 and asctime dates,
 * a month name and day followed by a year of 3+ digits ("Jan 3, 2033
 * 04:05:06"), numeric months ("Fri, 07-01-2005 12:06:35"), a numeric day of
 * week before a comma ("5, 07-01-2005 ..."), and any punctuation between
 * the numbers (" mon 28 jul 2008 10 05 52"). Parsing stops at the first
 * number that is out of range for the field it would fill, and once the
 * seconds are read. Years of one or two digits follow the same RFC 9110
 * window as wh_date_parse_http(), relative to |now->year|. When the text
 * has no day of week but a valid date results, |dow| is computed from it.
 * |ms| becomes 0 when the seconds were read.
 * Returns the WH_DATE_GOT_* bits of the fields read from the text. */
unsigned wh_date_parse_lenient(const char *s, size_t len, const struct wh_time *now,
                               struct wh_time *out);

#endif
