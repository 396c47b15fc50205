/* The PAC download (core/autoproxy.h's wh_pac_fetch_fn): a GET with the
 * library's own engine, through its public functions as any program would
 * write it, on an internal synchronous session of its own (no status
 * callback, so the application never sees it).
 *
 * A server that drips its answer byte by byte would never exceed the
 * per-read timeouts, so the whole download has a deadline too: the sum of
 * the four timeouts, an infinite one counting as a minute (Chromium notes
 * that Windows' own autoproxy service waits for that sum).
 *
 * No proxy: the script says which proxy to use, so fetching it through one
 * would be circular (Windows fetches it direct as well). The session's
 * timeouts apply; redirects are followed under the default policy, and an
 * https:// PAC URL's certificate is verified like any other. Anything but a
 * 200 whose body fits is ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT, which
 * Microsoft gives as the example of this error: "the server referenced by
 * the PAC URL may not have been reachable, or the server returned a 404
 * NOT FOUND response". */
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <winhttp.h>

#include "api/api.h"
#include "api/pac_fetch.h"
#include "util/mem.h"
#include "util/utf.h"

/* The error that stands for |err| from a public function: out of memory
 * stays what it is, everything else is a failed download. */
static DWORD download_error(DWORD err)
{
  return err == ERROR_NOT_ENOUGH_MEMORY ? err : ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT;
}

#define INFINITE_AS_MS 60000

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The whole download's budget, in ms. */
static long long budget_ms(const struct wh_pac_fetch_limits *lim)
{
  const DWORD t[] = {lim->resolve_ms, lim->connect_ms, lim->send_ms, lim->receive_ms};
  long long sum = 0;
  for (size_t i = 0; i < 4; i++)
    sum += t[i] == 0 || t[i] == (DWORD)-1 ? INFINITE_AS_MS : (long long)t[i];
  return sum;
}

/* Reads what has arrived each time (not a full buffer), so that the
 * deadline is checked at least once per receive timeout. */
static DWORD read_body(HINTERNET req, size_t max, long long deadline, char **body, size_t *len)
{
  size_t cap = 16384, n = 0;
  char *buf = wh_malloc(cap + 1);
  if (!buf)
    return ERROR_NOT_ENOUGH_MEMORY;
  for (;;) {
    if (n == cap) {
      if (cap > max) {
        wh_free(buf);
        return ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT; /* too large */
      }
      size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      char *nb = wh_realloc(buf, ncap + 1);
      if (!nb) {
        wh_free(buf);
        return ERROR_NOT_ENOUGH_MEMORY;
      }
      buf = nb;
      cap = ncap;
    }
    DWORD avail = 0, got = 0;
    if (!WinHttpQueryDataAvailable(req, &avail) ||
        (avail && !WinHttpReadData(req, buf + n,
                                   (DWORD)(avail < cap - n ? avail : cap - n), &got))) {
      DWORD err = GetLastError();
      wh_free(buf);
      return download_error(err);
    }
    if (avail == 0)
      break; /* the end */
    n += got;
    if (now_ms() > deadline) {
      wh_free(buf);
      return ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT; /* too slow */
    }
  }
  if (n > max) {
    wh_free(buf);
    return ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT;
  }
  buf[n] = '\0';
  *body = buf;
  *len = n;
  return ERROR_SUCCESS;
}

DWORD wh_api_pac_fetch(const char *url, const struct wh_pac_fetch_limits *lim, size_t max,
                       char **body, size_t *len)
{
  *body = NULL;
  *len = 0;
  WCHAR *wurl;
  size_t cch;
  if (wh_wide_from_utf8(url, strlen(url), &wurl, &cch) != 0)
    return ERROR_NOT_ENOUGH_MEMORY;
  WCHAR host[256];
  URL_COMPONENTS uc;
  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.lpszHostName = host;
  uc.dwHostNameLength = sizeof(host) / sizeof(host[0]);
  uc.dwUrlPathLength = (DWORD)-1; /* pointers into |wurl|: path and query */
  uc.dwExtraInfoLength = (DWORD)-1;
  DWORD err = ERROR_SUCCESS;
  HINTERNET ses = NULL, con = NULL, req = NULL;
  WCHAR *path = NULL;
  if (!WinHttpCrackUrl(wurl, (DWORD)cch, 0, &uc) ||
      (uc.nScheme != INTERNET_SCHEME_HTTP && uc.nScheme != INTERNET_SCHEME_HTTPS)) {
    err = ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT;
    goto out;
  }
  /* The request target: the path and the query, "/" when empty. */
  size_t plen = uc.dwUrlPathLength + uc.dwExtraInfoLength;
  path = wh_malloc((plen + 2) * sizeof(WCHAR));
  if (!path) {
    err = ERROR_NOT_ENOUGH_MEMORY;
    goto out;
  }
  if (plen)
    wmemcpy(path, uc.dwUrlPathLength ? uc.lpszUrlPath : uc.lpszExtraInfo, plen);
  path[plen] = L'\0';
  WCHAR *frag = wcschr(path, L'#'); /* never sent */
  if (frag) {
    *frag = L'\0';
    plen = (size_t)(frag - path);
  }
  if (!plen || path[0] != L'/') {
    wmemmove(path + 1, path, plen + 1);
    path[0] = L'/';
  }
  ses = WinHttpOpen(NULL, WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                    WINHTTP_NO_PROXY_BYPASS, 0);
  if (ses)
    WinHttpSetTimeouts(ses, (int)lim->resolve_ms, (int)lim->connect_ms, (int)lim->send_ms,
                       (int)lim->receive_ms);
  con = ses ? WinHttpConnect(ses, host, uc.nPort, 0) : NULL;
  req = con ? WinHttpOpenRequest(con, L"GET", path, NULL, WINHTTP_NO_REFERER,
                                 WINHTTP_DEFAULT_ACCEPT_TYPES,
                                 uc.nScheme == INTERNET_SCHEME_HTTPS ? WINHTTP_FLAG_SECURE : 0)
            : NULL;
  long long budget = budget_ms(lim);
  long long deadline = now_ms() + budget;
  /* The head, too, within the budget (however slowly it comes). */
  DWORD head_ms = budget > 0x7fffffffLL ? 0x7fffffff : (DWORD)budget;
  if (req)
    WinHttpSetOption(req, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &head_ms, sizeof(head_ms));
  if (!req || !WinHttpSendRequest(req, WINHTTP_NO_ADDITIONAL_HEADERS, 0, NULL, 0, 0, 0) ||
      !WinHttpReceiveResponse(req, NULL)) {
    err = download_error(GetLastError());
    goto out;
  }
  DWORD status = 0, size = sizeof(status);
  if (!WinHttpQueryHeaders(req, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                           WINHTTP_HEADER_NAME_BY_INDEX, &status, &size,
                           WINHTTP_NO_HEADER_INDEX) ||
      status != 200) {
    err = ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT;
    goto out;
  }
  err = read_body(req, max, deadline, body, len);
out:
  if (req)
    WinHttpCloseHandle(req);
  if (con)
    WinHttpCloseHandle(con);
  if (ses)
    WinHttpCloseHandle(ses);
  wh_free(path);
  wh_free(wurl);
  return err;
}
