/* WinHttpTimeFromSystemTime and WinHttpTimeToSystemTime: WCHAR and SYSTEMTIME
 * shims over policy/date.c. This file is the only place the clock is read
 * for them; the parser gets "now" as an argument. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif

#include <time.h>

#include "api/api.h"
#include "policy/date.h"
#include "util/mem.h"

/* The formatted date is 29 characters plus a NUL, 30 WCHARs, which is all
 * this function ever writes. Microsoft documents the buffer as
 * WINHTTP_TIME_FORMAT_BUFSIZE bytes and allocates it as
 * WINHTTP_TIME_FORMAT_BUFSIZE / sizeof(WCHAR) WCHARs, so that quotient must
 * hold 30 WCHARs with our 4-byte WCHAR too. */
_Static_assert(WINHTTP_TIME_FORMAT_BUFSIZE / sizeof(WCHAR) >= WH_DATE_RFC1123_LEN + 1,
               "WINHTTP_TIME_FORMAT_BUFSIZE too small for the formatted date");

static void to_wh(const SYSTEMTIME *st, struct wh_time *t)
{
  t->year = st->wYear;
  t->month = st->wMonth;
  t->dow = st->wDayOfWeek;
  t->day = st->wDay;
  t->hour = st->wHour;
  t->minute = st->wMinute;
  t->second = st->wSecond;
  t->ms = st->wMilliseconds;
}

static void from_wh(const struct wh_time *t, SYSTEMTIME *st)
{
  st->wYear = t->year;
  st->wMonth = t->month;
  st->wDayOfWeek = t->dow;
  st->wDay = t->day;
  st->wHour = t->hour;
  st->wMinute = t->minute;
  st->wSecond = t->second;
  st->wMilliseconds = t->ms;
}

BOOL WINAPI WinHttpTimeFromSystemTime(const SYSTEMTIME *pst, LPWSTR pwszTime)
{
  if (!pst || !pwszTime)
    return wh_fail(ERROR_INVALID_PARAMETER);

  /* COMPAT: Windows indexes its name tables with wDayOfWeek and wMonth
   * unchecked (Wine does the same). We refuse out-of-range fields and
   * impossible dates with ERROR_INVALID_PARAMETER and leave the buffer
   * untouched. An in-range wDayOfWeek is printed as given, not recomputed,
   * so every input Windows formats sanely comes out identical. */
  struct wh_time t;
  char buf[WH_DATE_RFC1123_LEN + 1];
  to_wh(pst, &t);
  if (!wh_date_format(&t, buf, sizeof(buf)))
    return wh_fail(ERROR_INVALID_PARAMETER);
  for (size_t i = 0; i < sizeof(buf); i++)
    pwszTime[i] = (WCHAR)(unsigned char)buf[i];
  return wh_ok();
}

/* The current UTC time as calendar fields, with milliseconds, which is what
 * Windows pre-fills the SYSTEMTIME with (GetSystemTime). */
static void system_now(struct wh_time *now)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || !wh_date_from_epoch((int64_t)ts.tv_sec, now)) {
    /* Only a clock outside years 0..9999 gets here; the epoch will do. */
    wh_date_from_epoch(0, now);
    ts.tv_nsec = 0;
  }
  now->ms = (uint16_t)(ts.tv_nsec / 1000000);
}

BOOL WINAPI WinHttpTimeToSystemTime(LPCWSTR pwszTime, SYSTEMTIME *pst)
{
  if (!pwszTime || !pst)
    return wh_fail(ERROR_INVALID_PARAMETER);

  char *s;
  DWORD err = wh_utf8_opt(pwszTime, 0, &s);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);

  /* Windows succeeds on any string: fields the text does not provide keep
   * the current time (WINHTTP-API.md §1.9). */
  struct wh_time now, t;
  system_now(&now);
  size_t len = 0;
  while (s[len])
    len++;
  wh_date_parse_lenient(s, len, &now, &t);
  wh_free(s);
  from_wh(&t, pst);
  return wh_ok();
}
