/* libFuzzer target for the HTTP-date code (policy/date.c) and the two time
 * functions of the API. Arbitrary bytes go
 *   - to the strict RFC 9110 parser: on success every field is in range,
 *     the date is real, and format -> re-parse gives the same value and the
 *     same epoch second;
 *   - to the lenient parser: it always returns fields in range, and every
 *     field it says it did not read is the one from "now";
 *   - to WinHttpTimeToSystemTime, as UTF-8 decoded to WCHARs and as raw
 *     WCHARs: it always succeeds with fields in range;
 *   - to WinHttpTimeFromSystemTime as a raw SYSTEMTIME: on success the
 *     string is a strict HTTP-date of the same instant.
 * Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <winhttp.h>

#include "policy/date.h"
#include "util/mem.h"
#include "util/utf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                  \
  do {                                                                                            \
    if (!(x))                                                                                     \
      abort();                                                                                    \
  } while (0)

/* 2025-03-06 07:08:09 UTC, and a few other "now"s for two-digit years. */
static const int64_t nows[] = {1741244889LL, 0, 946598400LL, WH_DATE_EPOCH_MAX,
                               WH_DATE_EPOCH_MIN};

static void check_strict(const char *s, size_t len, int64_t now)
{
  struct wh_time t;
  if (!wh_date_parse_http(s, len, now, &t))
    return;
  CHECK(wh_date_valid(&t));
  CHECK(t.dow == wh_date_weekday(t.year, t.month, t.day));
  CHECK(t.ms == 0);

  char buf[WH_DATE_RFC1123_LEN + 1];
  CHECK(wh_date_format(&t, buf, sizeof(buf)));
  struct wh_time again;
  CHECK(wh_date_parse_http(buf, WH_DATE_RFC1123_LEN, now, &again));
  CHECK(memcmp(&t, &again, sizeof(t)) == 0);

  int64_t secs;
  CHECK(wh_date_to_epoch(&t, &secs));
  struct wh_time back;
  if (wh_date_from_epoch(secs, &back) && t.second < 60) {
    CHECK(memcmp(&t, &back, sizeof(t)) == 0);
  }
}

static void check_lenient(const char *s, size_t len, const struct wh_time *now)
{
  struct wh_time t;
  unsigned got = wh_date_parse_lenient(s, len, now, &t);
  CHECK((got & ~(unsigned)WH_DATE_GOT_ALL) == 0);
  CHECK(t.year <= 9999 && t.month >= 1 && t.month <= 12 && t.dow <= 6 && t.day >= 1 &&
        t.day <= 31 && t.hour <= 23 && t.minute <= 59 && t.second <= 59 && t.ms <= 999);
  if (!(got & WH_DATE_GOT_YEAR))
    CHECK(t.year == now->year);
  if (!(got & WH_DATE_GOT_MONTH))
    CHECK(t.month == now->month);
  if (!(got & WH_DATE_GOT_DAY))
    CHECK(t.day == now->day);
  if (!(got & WH_DATE_GOT_HOUR))
    CHECK(t.hour == now->hour);
  if (!(got & WH_DATE_GOT_MINUTE))
    CHECK(t.minute == now->minute);
  if (!(got & WH_DATE_GOT_SECOND))
    CHECK(t.second == now->second && t.ms == now->ms);
  else
    CHECK(t.ms == 0);
  if (got == 0)
    CHECK(memcmp(&t, now, sizeof(t)) == 0);
}

static void check_systemtime(const SYSTEMTIME *st)
{
  CHECK(st->wYear <= 9999 && st->wMonth >= 1 && st->wMonth <= 12 && st->wDayOfWeek <= 6 &&
        st->wDay >= 1 && st->wDay <= 31 && st->wHour <= 23 && st->wMinute <= 59 &&
        st->wSecond <= 59 && st->wMilliseconds <= 999);
}

static void check_api_parse(const WCHAR *w)
{
  SYSTEMTIME st;
  SetLastError(0xdeadbeef);
  CHECK(WinHttpTimeToSystemTime(w, &st));
  CHECK(GetLastError() == ERROR_SUCCESS);
  check_systemtime(&st);
}

static void check_api_format(const uint8_t *data, size_t size)
{
  SYSTEMTIME st;
  if (size < sizeof(st))
    return;
  memcpy(&st, data, sizeof(st));
  WCHAR buf[WINHTTP_TIME_FORMAT_BUFSIZE / sizeof(WCHAR)];
  if (!WinHttpTimeFromSystemTime(&st, buf)) {
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    return;
  }
  char s[WH_DATE_RFC1123_LEN + 1];
  for (size_t i = 0; i <= WH_DATE_RFC1123_LEN; i++) {
    CHECK(buf[i] >= 0 && buf[i] < 0x80);
    s[i] = (char)buf[i];
  }
  CHECK(s[WH_DATE_RFC1123_LEN] == '\0');
  struct wh_time t;
  CHECK(wh_date_parse_http(s, WH_DATE_RFC1123_LEN, nows[0], &t));
  CHECK(t.year == st.wYear && t.month == st.wMonth && t.day == st.wDay && t.hour == st.wHour &&
        t.minute == st.wMinute && t.second == st.wSecond);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;

  for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++)
    check_strict(s, size, nows[i]);

  struct wh_time now;
  for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
    CHECK(wh_date_from_epoch(nows[i], &now));
    now.ms = 321;
    check_lenient(s, size, &now);
  }

  /* The bytes as UTF-8 text, through the WCHAR entry point. */
  wchar_t *w;
  if (wh_wide_from_utf8(s, size, &w, NULL) == 0) {
    check_api_parse(w);
    wh_free(w);
  }

  /* The bytes as raw WCHARs (any value, surrogates and negatives too). */
  size_t cch = size / sizeof(WCHAR);
  WCHAR *raw = malloc((cch + 1) * sizeof(WCHAR));
  if (raw) {
    memcpy(raw, data, cch * sizeof(WCHAR));
    raw[cch] = 0;
    check_api_parse(raw);
    free(raw);
  }

  check_api_format(data, size);
  return 0;
}
