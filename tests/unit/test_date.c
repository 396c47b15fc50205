/* Tests of policy/date.c and of WinHttpTimeFromSystemTime /
 * WinHttpTimeToSystemTime. The expected values of the Windows-facing cases
 * are the facts Wine's tests record from real Windows (winhttp's
 * test_WinHttpTimeFromSystemTime / test_WinHttpTimeToSystemTime and wininet's
 * test_InternetTimeToSystemTime); everything else is RFC 9110 §5.6.7 and
 * calendar arithmetic checked against an independent day-by-day walk. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winhttp.h>

#include "policy/date.h"

/* 2025-03-06 07:08:09.123, a Thursday: the "now" of the lenient tests. */
static const struct wh_time NOW = {2025, 3, 4, 6, 7, 8, 9, 123};
/* 2025-03-06 07:08:09 as seconds since the epoch. */
#define NOW_EPOCH 1741244889LL

static void assert_time(const struct wh_time *got, const struct wh_time *want, const char *what)
{
  if (memcmp(got, want, sizeof(*got)) != 0) {
    print_error("%s: got %u-%u-%u dow %u %u:%u:%u.%u, want %u-%u-%u dow %u %u:%u:%u.%u\n", what,
                got->year, got->month, got->day, got->dow, got->hour, got->minute, got->second,
                got->ms, want->year, want->month, want->day, want->dow, want->hour, want->minute,
                want->second, want->ms);
    fail();
  }
}

/* ---- calendar -------------------------------------------------------- */

static void test_leap_years(void **state)
{
  (void)state;
  assert_true(wh_date_is_leap(2000));
  assert_false(wh_date_is_leap(1900));
  assert_true(wh_date_is_leap(2024));
  assert_false(wh_date_is_leap(2023));
  assert_false(wh_date_is_leap(2100));
  assert_true(wh_date_is_leap(1600));
  assert_true(wh_date_is_leap(0));
  assert_int_equal(wh_date_days_in_month(2000, 2), 29);
  assert_int_equal(wh_date_days_in_month(1900, 2), 28);
  assert_int_equal(wh_date_days_in_month(2024, 2), 29);
  assert_int_equal(wh_date_days_in_month(2023, 2), 28);
  assert_int_equal(wh_date_days_in_month(2023, 4), 30);
  assert_int_equal(wh_date_days_in_month(2023, 12), 31);
  assert_int_equal(wh_date_days_in_month(2023, 0), 0);
  assert_int_equal(wh_date_days_in_month(2023, 13), 0);
}

static void test_weekdays(void **state)
{
  (void)state;
  static const struct {
    unsigned y, m, d, dow;
  } rows[] = {
      {1970, 1, 1, 4},  {2000, 1, 1, 6},  {2008, 7, 28, 1}, {1900, 1, 1, 1},
      {2024, 2, 29, 4}, {2000, 2, 29, 2}, {1, 1, 1, 1},     {0, 1, 1, 6},
      {9999, 12, 31, 5}, {1994, 11, 6, 0}, {2005, 1, 7, 5},  {1600, 3, 1, 3},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
    assert_int_equal(wh_date_weekday(rows[i].y, rows[i].m, rows[i].d), rows[i].dow);
}

static void test_valid(void **state)
{
  (void)state;
  struct wh_time t = {2024, 2, 0, 29, 23, 59, 60, 0};
  assert_true(wh_date_valid(&t));
  t.dow = 99; /* not looked at */
  t.ms = 5000;
  assert_true(wh_date_valid(&t));
  t.year = 2023;
  assert_false(wh_date_valid(&t));
  t = (struct wh_time){9999, 12, 0, 31, 0, 0, 0, 0};
  assert_true(wh_date_valid(&t));
  t.year = 10000;
  assert_false(wh_date_valid(&t));
  t = (struct wh_time){2000, 1, 0, 1, 24, 0, 0, 0};
  assert_false(wh_date_valid(&t));
  t.hour = 0;
  t.minute = 60;
  assert_false(wh_date_valid(&t));
  t.minute = 0;
  t.second = 61;
  assert_false(wh_date_valid(&t));
  t.second = 0;
  t.day = 0;
  assert_false(wh_date_valid(&t));
  t.day = 1;
  t.month = 0;
  assert_false(wh_date_valid(&t));
}

/* ---- epoch conversion against an independent reference ---------------- */

static int ref_leap(int y)
{
  if (y % 400 == 0)
    return 1;
  if (y % 100 == 0)
    return 0;
  return y % 4 == 0;
}

/* Walks every day from 0000-01-01 to 9999-12-31, counting days and weekdays
 * by hand, and checks both conversions on each (at 12:34:56). */
static void test_epoch_day_by_day(void **state)
{
  (void)state;
  static const int mlen[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t day = WH_DATE_EPOCH_MIN / 86400; /* days since 1970 of 0000-01-01 */
  unsigned dow = 6;                        /* 0000-01-01 was a Saturday */
  for (int y = 0; y <= 9999; y++) {
    for (int m = 1; m <= 12; m++) {
      int n = mlen[m - 1] + (m == 2 ? ref_leap(y) : 0);
      for (int d = 1; d <= n; d++) {
        struct wh_time t = {(uint16_t)y, (uint16_t)m, 0, (uint16_t)d, 12, 34, 56, 0};
        int64_t secs = day * 86400 + 12 * 3600 + 34 * 60 + 56, got;
        if (!wh_date_to_epoch(&t, &got) || got != secs) {
          print_error("to_epoch %d-%d-%d\n", y, m, d);
          fail();
        }
        struct wh_time back;
        t.dow = (uint16_t)dow;
        if (!wh_date_from_epoch(secs, &back) || memcmp(&back, &t, sizeof(t)) != 0) {
          print_error("from_epoch %d-%d-%d\n", y, m, d);
          fail();
        }
        if (wh_date_weekday((unsigned)y, (unsigned)m, (unsigned)d) != dow) {
          print_error("weekday %d-%d-%d\n", y, m, d);
          fail();
        }
        day++;
        dow = (dow + 1) % 7;
      }
    }
  }
  assert_int_equal(day, (WH_DATE_EPOCH_MAX + 1) / 86400);
}

static void test_epoch_known_values(void **state)
{
  (void)state;
  static const struct {
    int64_t secs;
    struct wh_time t;
  } rows[] = {
      {0, {1970, 1, 4, 1, 0, 0, 0, 0}},
      {-1, {1969, 12, 3, 31, 23, 59, 59, 0}},
      {951782400, {2000, 2, 2, 29, 0, 0, 0, 0}},
      {1217239552, {2008, 7, 1, 28, 10, 5, 52, 0}},
      {1709164800, {2024, 2, 4, 29, 0, 0, 0, 0}},
      {-2208988800LL, {1900, 1, 1, 1, 0, 0, 0, 0}},
      {2147483647, {2038, 1, 2, 19, 3, 14, 7, 0}},
      {WH_DATE_EPOCH_MIN, {0, 1, 6, 1, 0, 0, 0, 0}},
      {WH_DATE_EPOCH_MAX, {9999, 12, 5, 31, 23, 59, 59, 0}},
      {NOW_EPOCH, {2025, 3, 4, 6, 7, 8, 9, 0}},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    struct wh_time t;
    int64_t secs;
    assert_true(wh_date_from_epoch(rows[i].secs, &t));
    assert_time(&t, &rows[i].t, "from_epoch");
    assert_true(wh_date_to_epoch(&rows[i].t, &secs));
    assert_true(secs == rows[i].secs);
  }
}

static void test_epoch_limits(void **state)
{
  (void)state;
  struct wh_time t = {1, 2, 3, 4, 5, 6, 7, 8}, keep = t;
  assert_false(wh_date_from_epoch(WH_DATE_EPOCH_MIN - 1, &t));
  assert_false(wh_date_from_epoch(WH_DATE_EPOCH_MAX + 1, &t));
  assert_false(wh_date_from_epoch(INT64_MIN, &t));
  assert_false(wh_date_from_epoch(INT64_MAX, &t));
  assert_memory_equal(&t, &keep, sizeof(t));

  /* A leap second is the first second of the next minute. */
  int64_t a, b;
  struct wh_time leap = {2016, 12, 6, 31, 23, 59, 60, 0};
  struct wh_time next = {2017, 1, 0, 1, 0, 0, 0, 0};
  assert_true(wh_date_to_epoch(&leap, &a));
  assert_true(wh_date_to_epoch(&next, &b));
  assert_true(a == b);

  /* Invalid dates do not convert; dow and ms are ignored. */
  struct wh_time bad = {2023, 2, 0, 29, 0, 0, 0, 0};
  assert_false(wh_date_to_epoch(&bad, &a));
  struct wh_time odd = {1970, 1, 77, 1, 0, 0, 1, 999};
  assert_true(wh_date_to_epoch(&odd, &a));
  assert_true(a == 1);
}

/* ---- formatting -------------------------------------------------------- */

static void test_format_wine(void **state)
{
  (void)state;
  /* Wine test_WinHttpTimeFromSystemTime: {2008, 7, 1, 28, 10, 5, 52, 0}. */
  struct wh_time t = {2008, 7, 1, 28, 10, 5, 52, 0};
  char buf[WH_DATE_RFC1123_LEN + 1];
  assert_true(wh_date_format(&t, buf, sizeof(buf)));
  assert_string_equal(buf, "Mon, 28 Jul 2008 10:05:52 GMT");
}

static void test_format_names(void **state)
{
  (void)state;
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64], want[64];
  for (unsigned m = 1; m <= 12; m++) {
    for (unsigned d = 0; d < 7; d++) {
      /* The day name is the caller's wDayOfWeek, right or not. */
      struct wh_time t = {1999, (uint16_t)m, (uint16_t)d, 9, 1, 2, 3, 456};
      assert_true(wh_date_format(&t, buf, sizeof(buf)));
      snprintf(want, sizeof(want), "%s, 09 %s 1999 01:02:03 GMT", days[d], months[m - 1]);
      assert_string_equal(buf, want);
      assert_int_equal(strlen(buf), WH_DATE_RFC1123_LEN);
    }
  }
}

static void test_format_edges(void **state)
{
  (void)state;
  static const struct {
    struct wh_time t;
    const char *want;
  } rows[] = {
      {{0, 1, 6, 1, 0, 0, 0, 0}, "Sat, 01 Jan 0000 00:00:00 GMT"},
      {{9999, 12, 5, 31, 23, 59, 59, 999}, "Fri, 31 Dec 9999 23:59:59 GMT"},
      {{2016, 12, 6, 31, 23, 59, 60, 0}, "Sat, 31 Dec 2016 23:59:60 GMT"},
      {{2000, 2, 2, 29, 12, 0, 0, 0}, "Tue, 29 Feb 2000 12:00:00 GMT"},
      {{2024, 2, 4, 29, 0, 0, 1, 0}, "Thu, 29 Feb 2024 00:00:01 GMT"},
      {{999, 5, 0, 5, 5, 5, 5, 0}, "Sun, 05 May 0999 05:05:05 GMT"},
      {{1970, 1, 4, 1, 0, 0, 0, 0}, "Thu, 01 Jan 1970 00:00:00 GMT"},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char buf[WH_DATE_RFC1123_LEN + 1];
    assert_true(wh_date_format(&rows[i].t, buf, sizeof(buf)));
    assert_string_equal(buf, rows[i].want);
  }
}

static void test_format_invalid(void **state)
{
  (void)state;
  static const struct wh_time bad[] = {
      {2008, 0, 1, 28, 10, 5, 52, 0},  {2008, 13, 1, 28, 10, 5, 52, 0},
      {2008, 7, 7, 28, 10, 5, 52, 0},  {2008, 7, 0xFFFF, 28, 10, 5, 52, 0},
      {2008, 7, 1, 0, 10, 5, 52, 0},   {2008, 7, 1, 32, 10, 5, 52, 0},
      {2008, 6, 1, 31, 10, 5, 52, 0},  {1900, 2, 1, 29, 10, 5, 52, 0},
      {2024, 2, 1, 30, 10, 5, 52, 0},  {2008, 7, 1, 28, 24, 5, 52, 0},
      {2008, 7, 1, 28, 10, 60, 52, 0}, {2008, 7, 1, 28, 10, 5, 61, 0},
      {10000, 7, 1, 28, 10, 5, 52, 0}, {30827, 12, 1, 31, 10, 5, 52, 0},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char buf[40];
    memset(buf, 'x', sizeof(buf));
    assert_false(wh_date_format(&bad[i], buf, sizeof(buf)));
    assert_int_equal(buf[0], 'x');
  }
  /* The buffer must hold the NUL too. */
  struct wh_time ok = {2008, 7, 1, 28, 10, 5, 52, 0};
  char small[WH_DATE_RFC1123_LEN];
  memset(small, 'x', sizeof(small));
  assert_false(wh_date_format(&ok, small, sizeof(small)));
  assert_int_equal(small[0], 'x');
  assert_false(wh_date_format(&ok, small, 0));
}

/* ---- strict HTTP-date parser ----------------------------------------- */

static bool parse_http(const char *s, int64_t now, struct wh_time *out)
{
  /* Copy into a block of exactly strlen(s) bytes, so AddressSanitizer sees
   * any read past the end (picohttpparser's guard-page idea). */
  size_t n = strlen(s);
  char *copy = malloc(n ? n : 1);
  assert_non_null(copy);
  memcpy(copy, s, n);
  bool ok = wh_date_parse_http(copy, n, now, out);
  free(copy);
  return ok;
}

static void test_parse_http_three_formats(void **state)
{
  (void)state;
  /* RFC 9110 §5.6.7's own example, in its three forms. */
  static const char *const forms[] = {
      "Sun, 06 Nov 1994 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37 GMT",
      "Sun Nov  6 08:49:37 1994",
      "Sun Nov 06 08:49:37 1994",
      "  Sun, 06 Nov 1994 08:49:37 GMT\t",
      "\tSunday, 06-Nov-94 08:49:37 GMT ",
  };
  const struct wh_time want = {1994, 11, 0, 6, 8, 49, 37, 0};
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    struct wh_time t;
    memset(&t, 0xAB, sizeof(t));
    if (!parse_http(forms[i], NOW_EPOCH, &t)) {
      print_error("rejected '%s'\n", forms[i]);
      fail();
    }
    assert_time(&t, &want, forms[i]);
  }
}

static void test_parse_http_rejects(void **state)
{
  (void)state;
  static const char *const bad[] = {
      "",
      " ",
      "Sun",
      "Sun,",
      "sun, 06 Nov 1994 08:49:37 GMT",   /* case-sensitive */
      "Sun, 06 nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:37 gmt",
      "SUN, 06 NOV 1994 08:49:37 GMT",
      "Sun, 6 Nov 1994 08:49:37 GMT",    /* day is 2DIGIT */
      "Sun,06 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 94 08:49:37 GMT",     /* year is 4DIGIT */
      "Sun, 06 Nov 1994 8:49:37 GMT",
      "Sun, 06 Nov 1994 08:49 GMT",
      "Sun, 06 Nov 1994 08:49:37",
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "Sun, 06 Nov 1994 08:49:37 GMT+1",
      "Sun, 06 Nov 1994 08:49:37 GMTx",
      "Sun, 06 Nov 1994 08:49:37 +0000",
      "Sun, 06  Nov 1994 08:49:37 GMT",
      "Sun, 06-Nov-1994 08:49:37 GMT",
      "Sun, 31 Nov 1994 08:49:37 GMT",   /* no such date */
      "Thu, 29 Feb 1900 08:49:37 GMT",
      "Sun, 00 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 06 Nov 1994 23:60:00 GMT",
      "Sun, 06 Nov 1994 23:59:61 GMT",
      "Sun, 06 Xyz 1994 08:49:37 GMT",
      "Xyz, 06 Nov 1994 08:49:37 GMT",
      "Sunday, 06 Nov 1994 08:49:37 GMT",
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      "Sun, 06-Nov-94 08:49:37 GMT",
      "sunday, 06-Nov-94 08:49:37 GMT",
      "Sunnyday, 06-Nov-94 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37 UTC",
      "Sunday 06-Nov-94 08:49:37 GMT",
      "Sun Nov 6 08:49:37 1994",          /* single digit needs two spaces */
      "Sun Nov   6 08:49:37 1994",
      "Sun Nov  6 08:49:37 94",
      "Sun Nov  6 08:49:37 1994 GMT",
      "Sun Nov  6 08:49:37",
      "Sun,  Nov  6 08:49:37 1994",
      "Sun, 06 Nov 1994 08:49:37 GMT GMT",
      "06 Nov 1994 08:49:37 GMT",
      "1994-11-06T08:49:37Z",
      "Sun, 06 Nov 1994 08:49:37 GMT\r\n",
      "garbage",
      ",",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct wh_time t, keep;
    memset(&t, 0x5A, sizeof(t));
    keep = t;
    if (parse_http(bad[i], NOW_EPOCH, &t)) {
      print_error("accepted '%s'\n", bad[i]);
      fail();
    }
    assert_memory_equal(&t, &keep, sizeof(t));
  }
  /* An embedded NUL is just a bad byte. */
  struct wh_time t;
  assert_false(wh_date_parse_http("Sun, 06 Nov 1994 08:49:37 GMT\0", 30, NOW_EPOCH, &t));
  assert_false(wh_date_parse_http("Sun, 06 Nov\0994 08:49:37 GMT", 29, NOW_EPOCH, &t));
}

static void test_parse_http_prefixes(void **state)
{
  (void)state;
  /* Every proper prefix of a valid date is rejected, and none is read past
   * its end (the copy in parse_http is exactly sized). */
  static const char *const forms[] = {
      "Sun, 06 Nov 1994 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37 GMT",
      "Sun Nov  6 08:49:37 1994",
  };
  for (size_t f = 0; f < 3; f++) {
    size_t n = strlen(forms[f]);
    for (size_t k = 0; k < n; k++) {
      char *copy = malloc(k ? k : 1);
      assert_non_null(copy);
      memcpy(copy, forms[f], k);
      struct wh_time t;
      assert_false(wh_date_parse_http(copy, k, NOW_EPOCH, &t));
      free(copy);
    }
  }
}

static void test_parse_http_leap_and_limits(void **state)
{
  (void)state;
  struct wh_time t;
  assert_true(parse_http("Sat, 31 Dec 2016 23:59:60 GMT", NOW_EPOCH, &t));
  assert_int_equal(t.second, 60);
  assert_true(parse_http("Tue, 29 Feb 2000 00:00:00 GMT", NOW_EPOCH, &t));
  assert_int_equal(t.day, 29);
  assert_true(parse_http("Thu, 29 Feb 2024 00:00:00 GMT", NOW_EPOCH, &t));
  assert_true(parse_http("Sat, 01 Jan 0000 00:00:00 GMT", NOW_EPOCH, &t));
  assert_int_equal(t.year, 0);
  assert_int_equal(t.dow, 6);
  assert_true(parse_http("Fri, 31 Dec 9999 23:59:59 GMT", NOW_EPOCH, &t));
  assert_int_equal(t.year, 9999);
  /* The day name is syntax only: a wrong one is accepted and the real day
   * of the week reported. */
  assert_true(parse_http("Mon, 06 Nov 1994 08:49:37 GMT", NOW_EPOCH, &t));
  assert_int_equal(t.dow, 0);
}

static void test_parse_http_two_digit_years(void **state)
{
  (void)state;
  static const struct {
    int64_t now;
    const char *s;
    unsigned year;
  } rows[] = {
      /* now = 2025: the window is 1976..2075. */
      {NOW_EPOCH, "Sunday, 06-Nov-94 08:49:37 GMT", 1994},
      {NOW_EPOCH, "Thursday, 01-Jan-70 00:00:00 GMT", 2070},
      {NOW_EPOCH, "Tuesday, 01-Jan-75 00:00:00 GMT", 2075},
      {NOW_EPOCH, "Thursday, 01-Jan-76 00:00:00 GMT", 1976},
      {NOW_EPOCH, "Saturday, 01-Jan-00 00:00:00 GMT", 2000},
      {NOW_EPOCH, "Wednesday, 01-Jan-25 00:00:00 GMT", 2025},
      {NOW_EPOCH, "Wednesday, 31-Dec-99 00:00:00 GMT", 1999},
      /* now = 1999-12-31: the window is 1950..2049. */
      {946598400, "Friday, 01-Jan-49 00:00:00 GMT", 2049},
      {946598400, "Sunday, 01-Jan-50 00:00:00 GMT", 1950},
      {946598400, "Saturday, 01-Jan-05 00:00:00 GMT", 2005},
      /* now = 1970-01-01. */
      {0, "Sunday, 06-Nov-94 08:49:37 GMT", 1994},
      {0, "Tuesday, 06-Nov-01 08:49:37 GMT", 2001},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    struct wh_time t;
    if (!parse_http(rows[i].s, rows[i].now, &t) || t.year != rows[i].year) {
      print_error("'%s': want %u\n", rows[i].s, rows[i].year);
      fail();
    }
  }
}

static void test_parse_http_all_names(void **state)
{
  (void)state;
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const ldays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                      "Thursday", "Friday", "Saturday"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned m = 1; m <= 12; m++) {
    for (unsigned d = 1; d <= 7; d++) {
      unsigned dow = wh_date_weekday(2001, m, d);
      struct wh_time want = {2001, (uint16_t)m, (uint16_t)dow, (uint16_t)d, 13, 14, 15, 0}, t;
      char s[64];
      snprintf(s, sizeof(s), "%s, %02u %s 2001 13:14:15 GMT", days[dow], d, months[m - 1]);
      assert_true(parse_http(s, NOW_EPOCH, &t));
      assert_time(&t, &want, s);
      snprintf(s, sizeof(s), "%s, %02u-%s-01 13:14:15 GMT", ldays[dow], d, months[m - 1]);
      assert_true(parse_http(s, NOW_EPOCH, &t));
      assert_time(&t, &want, s);
      snprintf(s, sizeof(s), "%s %s %2u 13:14:15 2001", days[dow], months[m - 1], d);
      assert_true(parse_http(s, NOW_EPOCH, &t));
      assert_time(&t, &want, s);
    }
  }
}

/* format -> strict parse -> format over the whole range, plus epoch. */
static void test_round_trips(void **state)
{
  (void)state;
  size_t count = 0;
  for (int64_t secs = WH_DATE_EPOCH_MIN; secs <= WH_DATE_EPOCH_MAX;
       secs += 86400LL * 97 + 3637) {
    struct wh_time t, p;
    char a[WH_DATE_RFC1123_LEN + 1], b[WH_DATE_RFC1123_LEN + 1];
    int64_t back;
    assert_true(wh_date_from_epoch(secs, &t));
    assert_true(wh_date_format(&t, a, sizeof(a)));
    assert_true(wh_date_parse_http(a, strlen(a), NOW_EPOCH, &p));
    assert_time(&p, &t, a);
    assert_true(wh_date_format(&p, b, sizeof(b)));
    assert_string_equal(a, b);
    assert_true(wh_date_to_epoch(&p, &back));
    assert_true(back == secs);
    count++;
  }
  assert_true(count > 30000);
}

/* ---- lenient parser ---------------------------------------------------- */

struct lenient_row {
  const char *s;
  struct wh_time want;
  unsigned got;
};

#define ALL WH_DATE_GOT_ALL
#define NODOW (WH_DATE_GOT_ALL & ~WH_DATE_GOT_DOW)
#define DATE (WH_DATE_GOT_DAY | WH_DATE_GOT_MONTH | WH_DATE_GOT_YEAR)

static const struct lenient_row lenient_rows[] = {
    /* winhttp test_WinHttpTimeToSystemTime (passes on Windows). */
    {"Mon, 28 Jul 2008 10:05:52 GMT\n", {2008, 7, 1, 28, 10, 5, 52, 0}, ALL},
    {" mon 28 jul 2008 10 05 52\n", {2008, 7, 1, 28, 10, 5, 52, 0}, ALL},
    /* wininet test_InternetTimeToSystemTime (passes on Windows). */
    {"Fri, 07 Jan 2005 12:06:35 GMT", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"Fri, 07 Jan 2005 12:06:35 UTC", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {" fri, 7 jan 2005 12 06 35", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"Fri, 07-01-2005 12:06:35", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"5, 07-01-2005 12:06:35 GMT", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"5, 07-01-2005 12:06:35 UTC", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"5, 07-01-2005 12:06:35 GMT;", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"5, 07-01-2005 12:06:35 GMT123", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"2, 11 01 2022 11 13 05", {2022, 1, 2, 11, 11, 13, 5, 0}, ALL},
    {"2, 11-01-2022 11#13^05", {2022, 1, 2, 11, 11, 13, 5, 0}, ALL},
    {"2, 11*01/2022 11+13=05", {2022, 1, 2, 11, 11, 13, 5, 0}, ALL},
    {"2, 11-Jan-2022 11:13:05", {2022, 1, 2, 11, 11, 13, 5, 0}, ALL},
    {"Fri Jan 7 12:06:35 2005", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"Fri Jan 7 12:06:35 2005 GMT", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"Fri Jan 7 12:06:35 2005 UTC", {2005, 1, 5, 7, 12, 6, 35, 0}, ALL},
    {"Fr", {2025, 3, 4, 6, 7, 8, 9, 123}, 0},
    /* RFC 9110's three formats, and variations. */
    {"Monday, 28-Jul-08 10:05:52 GMT", {2008, 7, 1, 28, 10, 5, 52, 0}, ALL},
    {"Mon Jul 28 10:05:52 2008", {2008, 7, 1, 28, 10, 5, 52, 0}, ALL},
    {"Tue Jul  8 10:05:52 2008", {2008, 7, 2, 8, 10, 5, 52, 0}, ALL},
    {"MONDAY, 28-JUL-2008 10:05:52 GMT", {2008, 7, 1, 28, 10, 5, 52, 0}, ALL},
    {"Date: Mon, 28 Jul 2008 10:05:52 GMT", {2008, 7, 1, 28, 10, 5, 52, 0}, ALL},
    {"Mon,\xC2\xA0" "28\xE2\x80\x83Jul 2008 10:05:52 GMT", {2008, 7, 1, 28, 10, 5, 52, 0}, ALL},
    {"Sunday, 06-November-94 08:49:37 GMT", {1994, 11, 0, 6, 8, 49, 37, 0}, ALL},
    /* The text's day of week is kept even when wrong... */
    {"Tue, 28 Jul 2008 10:05:52 GMT", {2008, 7, 2, 28, 10, 5, 52, 0}, ALL},
    /* ...and computed when the text has none. */
    {"28 Jul 2008 10:05:52 GMT", {2008, 7, 1, 28, 10, 5, 52, 0}, NODOW},
    {"Jul 28 10:05:52 2008", {2008, 7, 1, 28, 10, 5, 52, 0}, NODOW},
    /* Partial input keeps |now| for the rest, milliseconds included. */
    {"", {2025, 3, 4, 6, 7, 8, 9, 123}, 0},
    {"hello world", {2025, 3, 4, 6, 7, 8, 9, 123}, 0},
    {"!!! ,,, ::: ---", {2025, 3, 4, 6, 7, 8, 9, 123}, 0},
    {"Mon", {2025, 3, 1, 6, 7, 8, 9, 123}, WH_DATE_GOT_DOW},
    {"Mon, 28", {2025, 3, 1, 28, 7, 8, 9, 123}, WH_DATE_GOT_DOW | WH_DATE_GOT_DAY},
    {"Mon, 28 Jul", {2025, 7, 1, 28, 7, 8, 9, 123},
     WH_DATE_GOT_DOW | WH_DATE_GOT_DAY | WH_DATE_GOT_MONTH},
    {"Mon, 28 Jul 2008", {2008, 7, 1, 28, 7, 8, 9, 123}, WH_DATE_GOT_DOW | DATE},
    {"Mon, 28 Jul 2008 10", {2008, 7, 1, 28, 10, 8, 9, 123},
     WH_DATE_GOT_DOW | DATE | WH_DATE_GOT_HOUR},
    {"Mon, 28 Jul 2008 10:05", {2008, 7, 1, 28, 10, 5, 9, 123},
     WH_DATE_GOT_DOW | DATE | WH_DATE_GOT_HOUR | WH_DATE_GOT_MINUTE},
    {"28", {2025, 3, 5, 28, 7, 8, 9, 123}, WH_DATE_GOT_DAY},
    {"Jul", {2025, 7, 0, 6, 7, 8, 9, 123}, WH_DATE_GOT_MONTH},
    /* Out-of-range numbers stop the parse; |now| fills the rest. */
    {"Mon, 32 Jul 2008 10:05:52", {2025, 3, 1, 6, 7, 8, 9, 123}, WH_DATE_GOT_DOW},
    {"Mon, 00 Jul 2008 10:05:52", {2025, 3, 1, 6, 7, 8, 9, 123}, WH_DATE_GOT_DOW},
    {"Mon, 28 13 2008 10:05:52", {2025, 3, 1, 28, 7, 8, 9, 123},
     WH_DATE_GOT_DOW | WH_DATE_GOT_DAY},
    {"Mon, 28 Jul 2008 24:05:52", {2008, 7, 1, 28, 7, 8, 9, 123}, WH_DATE_GOT_DOW | DATE},
    {"Mon, 28 Jul 2008 10:60:52", {2008, 7, 1, 28, 10, 8, 9, 123},
     WH_DATE_GOT_DOW | DATE | WH_DATE_GOT_HOUR},
    {"Mon, 28 Jul 2008 10:05:60", {2008, 7, 1, 28, 10, 5, 9, 123},
     WH_DATE_GOT_DOW | DATE | WH_DATE_GOT_HOUR | WH_DATE_GOT_MINUTE},
    {"Mon, 28 Jul 12345 10:05:52", {2025, 7, 1, 28, 7, 8, 9, 123},
     WH_DATE_GOT_DOW | WH_DATE_GOT_DAY | WH_DATE_GOT_MONTH},
    {"Mon, 28 Jul 123456789012345678901234567890 10:05:52", {2025, 7, 1, 28, 7, 8, 9, 123},
     WH_DATE_GOT_DOW | WH_DATE_GOT_DAY | WH_DATE_GOT_MONTH},
    /* Two-digit years: RFC 9110 window around 2025 (1976..2075). */
    {"Mon, 28 Jul 08 10:05:52", {2008, 7, 1, 28, 10, 5, 52, 0}, ALL},
    {"Thu, 01 Jan 70 00:00:00", {2070, 1, 4, 1, 0, 0, 0, 0}, ALL},
    {"Thu, 01 Jan 76 00:00:00", {1976, 1, 4, 1, 0, 0, 0, 0}, ALL},
    {"Thu, 01 Jan 5 00:00:00", {2005, 1, 4, 1, 0, 0, 0, 0}, ALL},
    {"Thu, 01 Jan 999 00:00:00", {999, 1, 4, 1, 0, 0, 0, 0}, ALL},
    {"Thu, 01 Jan 0099 00:00:00", {99, 1, 4, 1, 0, 0, 0, 0}, ALL},
    /* Impossible dates keep their fields (as Windows would); the day of
     * week is not computed for them. */
    {"Mon, 30 Feb 2008 10:05:52", {2008, 2, 1, 30, 10, 5, 52, 0}, ALL},
    {"30 Feb 2008 10:05:52", {2008, 2, 4, 30, 10, 5, 52, 0}, NODOW},
    /* Extra numbers after the seconds are ignored. */
    {"Mon, 28 Jul 2008 10:05:52 GMT 2009 11", {2008, 7, 1, 28, 10, 5, 52, 0}, ALL},
    /* A leading number without a comma is the day, and one above 6 with a
     * comma is not a day of week. */
    {"28 7 2008 10 5 52", {2008, 7, 1, 28, 10, 5, 52, 0}, NODOW},
    {"7, 01 2005 12 06 35", {2005, 1, 5, 7, 12, 6, 35, 0}, NODOW},
};

static void test_lenient_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(lenient_rows) / sizeof(lenient_rows[0]); i++) {
    const struct lenient_row *r = &lenient_rows[i];
    size_t n = strlen(r->s);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, r->s, n);
    struct wh_time t;
    unsigned got = wh_date_parse_lenient(copy, n, &NOW, &t);
    free(copy);
    assert_time(&t, &r->want, r->s);
    if (got != r->got) {
      print_error("'%s': got mask %#x, want %#x\n", r->s, got, r->got);
      fail();
    }
  }
}

static void test_lenient_names(void **state)
{
  (void)state;
  static const char *const ldays[] = {"sunday",   "MONDAY", "Tuesday", "wEdNeSdAy",
                                      "Thursday", "fri",    "SAT"};
  static const char *const lmonths[] = {"January", "FEB",  "march",   "April",
                                        "MAY",     "june", "July",    "august",
                                        "Sept",    "oct",  "November", "DECEMBER"};
  for (unsigned m = 1; m <= 12; m++) {
    for (unsigned d = 0; d < 7; d++) {
      char s[80];
      struct wh_time t, want = {2033, (uint16_t)m, (uint16_t)d, 3, 4, 5, 6, 0};
      snprintf(s, sizeof(s), "%s %s 3 04:05:06 2033", ldays[d], lmonths[m - 1]);
      assert_int_equal(wh_date_parse_lenient(s, strlen(s), &NOW, &t), ALL);
      assert_time(&t, &want, s);
      snprintf(s, sizeof(s), "%s, %s 3, 2033 04:05:06", ldays[d], lmonths[m - 1]);
      assert_int_equal(wh_date_parse_lenient(s, strlen(s), &NOW, &t), ALL);
      assert_time(&t, &want, s);
      snprintf(s, sizeof(s), "%s, 3 %s 2033 04:05:06", ldays[d], lmonths[m - 1]);
      assert_int_equal(wh_date_parse_lenient(s, strlen(s), &NOW, &t), ALL);
      assert_time(&t, &want, s);
    }
  }
}

/* The lenient parser reads what the strict one accepts the same way. */
static void test_lenient_agrees_with_strict(void **state)
{
  (void)state;
  for (int64_t secs = -2208988800LL; secs <= 4102444800LL; secs += 86400LL * 13 + 4001) {
    struct wh_time t, l;
    char a[WH_DATE_RFC1123_LEN + 1];
    assert_true(wh_date_from_epoch(secs, &t));
    assert_true(wh_date_format(&t, a, sizeof(a)));
    assert_int_equal(wh_date_parse_lenient(a, strlen(a), &NOW, &l), ALL);
    assert_time(&l, &t, a);
  }
}

static void test_lenient_every_prefix(void **state)
{
  (void)state;
  /* Byte-at-a-time: every prefix parses to something in range. */
  const char *s = "Monday, 28-Jul-08 10:05:52 GMT; Fri Jan 7 12:06:35 2005";
  size_t n = strlen(s);
  for (size_t k = 0; k <= n; k++) {
    char *copy = malloc(k ? k : 1);
    assert_non_null(copy);
    memcpy(copy, s, k);
    struct wh_time t;
    wh_date_parse_lenient(copy, k, &NOW, &t);
    free(copy);
    assert_true(t.year <= 9999 && t.month >= 1 && t.month <= 12 && t.dow <= 6 && t.day >= 1 &&
                t.day <= 31 && t.hour <= 23 && t.minute <= 59 && t.second <= 59 && t.ms <= 999);
  }
}

/* ---- the WinHTTP API --------------------------------------------------- */

static void widen(const char *s, WCHAR *out)
{
  while ((*out++ = (WCHAR)(unsigned char)*s++) != 0)
    ;
}

static bool wide_eq(const WCHAR *w, const char *s)
{
  for (;; w++, s++) {
    if (*w != (WCHAR)(unsigned char)*s)
      return false;
    if (!*s)
      return true;
  }
}

static void test_api_from_systemtime(void **state)
{
  (void)state;
  /* Wine test_WinHttpTimeFromSystemTime. */
  static const SYSTEMTIME st = {2008, 7, 1, 28, 10, 5, 52, 0};
  WCHAR buf[WINHTTP_TIME_FORMAT_BUFSIZE + 1];

  SetLastError(0xdeadbeef);
  assert_false(WinHttpTimeFromSystemTime(&st, NULL));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpTimeFromSystemTime(NULL, buf));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  SetLastError(0xdeadbeef);
  assert_true(WinHttpTimeFromSystemTime(&st, buf));
  assert_int_equal(GetLastError(), ERROR_SUCCESS);
  assert_true(wide_eq(buf, "Mon, 28 Jul 2008 10:05:52 GMT"));
}

static void test_api_from_systemtime_bound(void **state)
{
  (void)state;
  /* Microsoft's sample allocates WINHTTP_TIME_FORMAT_BUFSIZE/sizeof(WCHAR)
   * WCHARs; we write 30 (29 + NUL), and not one more. */
  assert_true(WINHTTP_TIME_FORMAT_BUFSIZE / sizeof(WCHAR) >= 30);
  static const SYSTEMTIME st = {9999, 12, 5, 31, 23, 59, 59, 999};
  WCHAR *buf = malloc(WINHTTP_TIME_FORMAT_BUFSIZE / sizeof(WCHAR) * sizeof(WCHAR));
  assert_non_null(buf);
  for (size_t i = 0; i < WINHTTP_TIME_FORMAT_BUFSIZE / sizeof(WCHAR); i++)
    buf[i] = 0x2A2A;
  assert_true(WinHttpTimeFromSystemTime(&st, buf));
  assert_true(wide_eq(buf, "Fri, 31 Dec 9999 23:59:59 GMT"));
  for (size_t i = 30; i < WINHTTP_TIME_FORMAT_BUFSIZE / sizeof(WCHAR); i++)
    assert_int_equal(buf[i], 0x2A2A);
  free(buf);
}

static void test_api_from_systemtime_invalid(void **state)
{
  (void)state;
  static const SYSTEMTIME bad[] = {
      {2008, 0, 1, 28, 10, 5, 52, 0},  {2008, 13, 1, 28, 10, 5, 52, 0},
      {2008, 7, 7, 28, 10, 5, 52, 0},  {2008, 7, 1, 0, 10, 5, 52, 0},
      {2008, 7, 1, 32, 10, 5, 52, 0},  {2023, 2, 1, 29, 10, 5, 52, 0},
      {2008, 7, 1, 28, 24, 5, 52, 0},  {2008, 7, 1, 28, 10, 60, 52, 0},
      {2008, 7, 1, 28, 10, 5, 61, 0},  {10000, 7, 1, 28, 10, 5, 52, 0},
      {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    WCHAR buf[64];
    buf[0] = 0x2A2A;
    SetLastError(0xdeadbeef);
    assert_false(WinHttpTimeFromSystemTime(&bad[i], buf));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    assert_int_equal(buf[0], 0x2A2A);
  }
}

static void test_api_to_systemtime(void **state)
{
  (void)state;
  /* Wine test_WinHttpTimeToSystemTime. */
  static const SYSTEMTIME want = {2008, 7, 1, 28, 10, 5, 52, 0};
  SYSTEMTIME st;

  SetLastError(0xdeadbeef);
  assert_false(WinHttpTimeToSystemTime(L"Mon, 28 Jul 2008 10:05:52 GMT\n", NULL));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpTimeToSystemTime(NULL, &st));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);

  SetLastError(0xdeadbeef);
  memset(&st, 0, sizeof(st));
  assert_true(WinHttpTimeToSystemTime(L"Mon, 28 Jul 2008 10:05:52 GMT\n", &st));
  assert_int_equal(GetLastError(), ERROR_SUCCESS);
  assert_memory_equal(&st, &want, sizeof(st));

  SetLastError(0xdeadbeef);
  memset(&st, 0, sizeof(st));
  assert_true(WinHttpTimeToSystemTime(L" mon 28 jul 2008 10 05 52\n", &st));
  assert_int_equal(GetLastError(), ERROR_SUCCESS);
  assert_memory_equal(&st, &want, sizeof(st));

  /* Every complete row of the table through the WCHAR entry point, except
   * those whose two-digit year depends on the year the test runs in. */
  static const struct wh_time later = {2040, 1, 0, 1, 0, 0, 0, 0};
  for (size_t i = 0; i < sizeof(lenient_rows) / sizeof(lenient_rows[0]); i++) {
    struct wh_time t;
    const char *s = lenient_rows[i].s;
    if (lenient_rows[i].got != ALL || strchr(s, '\xC2'))
      continue;
    wh_date_parse_lenient(s, strlen(s), &later, &t);
    if (t.year != lenient_rows[i].want.year)
      continue;
    WCHAR w[128];
    widen(lenient_rows[i].s, w);
    assert_true(WinHttpTimeToSystemTime(w, &st));
    const struct wh_time *e = &lenient_rows[i].want;
    assert_int_equal(st.wYear, e->year);
    assert_int_equal(st.wMonth, e->month);
    assert_int_equal(st.wDayOfWeek, e->dow);
    assert_int_equal(st.wDay, e->day);
    assert_int_equal(st.wHour, e->hour);
    assert_int_equal(st.wMinute, e->minute);
    assert_int_equal(st.wSecond, e->second);
    assert_int_equal(st.wMilliseconds, 0);
  }

  /* Characters outside ASCII (and invalid code points) are separators. */
  static const WCHAR odd[] = {'M', 'o', 'n', ',', 0x00A0, '2', '8', 0x2003, 'J', 'u', 'l',
                              (WCHAR)0x110000, '2', '0', '0', '8', (WCHAR)-5, '1', '0', ':',
                              '0', '5', 0xD800, '5', '2', 0};
  memset(&st, 0, sizeof(st));
  assert_true(WinHttpTimeToSystemTime(odd, &st));
  assert_memory_equal(&st, &want, sizeof(st));
}

static void test_api_to_systemtime_now(void **state)
{
  (void)state;
  /* With nothing to read, the result is the current UTC time. */
  static const char *const inputs[] = {"", "garbage", "Fr", ":::"};
  for (size_t i = 0; i < 4; i++) {
    WCHAR w[16];
    widen(inputs[i], w);
    struct timespec before, after;
    SYSTEMTIME st;
    clock_gettime(CLOCK_REALTIME, &before);
    SetLastError(0xdeadbeef);
    assert_true(WinHttpTimeToSystemTime(w, &st));
    assert_int_equal(GetLastError(), ERROR_SUCCESS);
    clock_gettime(CLOCK_REALTIME, &after);
    struct wh_time t = {st.wYear, st.wMonth, st.wDayOfWeek, st.wDay,
                        st.wHour, st.wMinute, st.wSecond, st.wMilliseconds};
    int64_t secs;
    assert_true(wh_date_to_epoch(&t, &secs));
    assert_true(secs >= (int64_t)before.tv_sec && secs <= (int64_t)after.tv_sec);
    assert_int_equal(st.wDayOfWeek, wh_date_weekday(st.wYear, st.wMonth, st.wDay));
    assert_true(st.wMilliseconds <= 999);
  }
}

static void test_api_round_trip(void **state)
{
  (void)state;
  for (int64_t secs = 0; secs < 4102444800LL; secs += 86400LL * 31 + 7777) {
    struct wh_time t;
    assert_true(wh_date_from_epoch(secs, &t));
    SYSTEMTIME st = {t.year, t.month, t.dow, t.day, t.hour, t.minute, t.second, 0}, back;
    WCHAR buf[WINHTTP_TIME_FORMAT_BUFSIZE / sizeof(WCHAR)];
    assert_true(WinHttpTimeFromSystemTime(&st, buf));
    assert_true(WinHttpTimeToSystemTime(buf, &back));
    assert_memory_equal(&st, &back, sizeof(st));
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_leap_years),
      cmocka_unit_test(test_weekdays),
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_epoch_day_by_day),
      cmocka_unit_test(test_epoch_known_values),
      cmocka_unit_test(test_epoch_limits),
      cmocka_unit_test(test_format_wine),
      cmocka_unit_test(test_format_names),
      cmocka_unit_test(test_format_edges),
      cmocka_unit_test(test_format_invalid),
      cmocka_unit_test(test_parse_http_three_formats),
      cmocka_unit_test(test_parse_http_rejects),
      cmocka_unit_test(test_parse_http_prefixes),
      cmocka_unit_test(test_parse_http_leap_and_limits),
      cmocka_unit_test(test_parse_http_two_digit_years),
      cmocka_unit_test(test_parse_http_all_names),
      cmocka_unit_test(test_round_trips),
      cmocka_unit_test(test_lenient_table),
      cmocka_unit_test(test_lenient_names),
      cmocka_unit_test(test_lenient_agrees_with_strict),
      cmocka_unit_test(test_lenient_every_prefix),
      cmocka_unit_test(test_api_from_systemtime),
      cmocka_unit_test(test_api_from_systemtime_bound),
      cmocka_unit_test(test_api_from_systemtime_invalid),
      cmocka_unit_test(test_api_to_systemtime),
      cmocka_unit_test(test_api_to_systemtime_now),
      cmocka_unit_test(test_api_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
