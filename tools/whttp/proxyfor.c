/* whttp --proxy-for URL: what proxy resolution chooses for URL, printed
 * as "key: value" lines, then exit. Built on the public functions, in the
 * order Microsoft's "Setting WinINet Proxy Configurations in WinHTTP"
 * describes for an application that follows the user's settings:
 *
 *  1. with -x, the named proxy and --noproxy's bypass list decide (as a
 *     session opened with WINHTTP_ACCESS_TYPE_NAMED_PROXY would);
 *  2. otherwise WinHttpGetIEProxyConfigForCurrentUser gives the user's
 *     settings (the desktop's, else the environment's); with auto-detection
 *     or a PAC URL, WinHttpGetProxyForUrl asks the script (WPAD by DNS,
 *     or the URL), and its answer is the result; when it fails the error
 *     is printed and the manual proxy, if any, is used instead, as a
 *     Windows client falls back;
 *  3. a manual proxy list: WinHttpIsHostInProxyBypassList says whether the
 *     URL's host bypasses it; otherwise the entries for the URL's scheme,
 *     in order;
 *  4. nothing: DIRECT.
 *
 * WINHTTP_AUTOPROXY_ALLOW_STATIC is not passed: it would let the process's
 * static configuration (the environment) answer before the desktop's PAC
 * script, the reverse of the precedence WinHttpGetIEProxyConfigForCurrentUser
 * reports (the environment is already there when the desktop configures
 * nothing). */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "whttp.h"

static void print_w(const char *key, const WCHAR *w)
{
  if (!w) {
    printf("%s: (none)\n", key);
    return;
  }
  char *s = whttp_narrow(w, wcslen(w));
  printf("%s: %s\n", key, s ? s : "?");
  free(s);
}

static const char *access_name(DWORD t)
{
  return t == WINHTTP_ACCESS_TYPE_NAMED_PROXY ? "NAMED_PROXY"
         : t == WINHTTP_ACCESS_TYPE_NO_PROXY  ? "NO_PROXY"
                                              : "?";
}

static bool list_sep(WCHAR c)
{
  return c == L';' || c == L' ' || c == L'\t' || c == L'\r' || c == L'\n';
}

/* "result: PROXY a;b" with the entries of |list| that serve |scheme| (an
 * entry "scheme=server" serves that scheme, a bare server every one), or
 * DIRECT when none does: what WinHTTP tries, in order. */
static void print_picked(const WCHAR *list, const WCHAR *scheme)
{
  size_t sl = wcslen(scheme);
  bool any = false;
  for (const WCHAR *p = list; *p;) {
    while (*p && list_sep(*p))
      p++;
    const WCHAR *e = p;
    while (*p && !list_sep(*p))
      p++;
    size_t n = (size_t)(p - e);
    if (n == 0)
      continue;
    const WCHAR *eq = wmemchr(e, L'=', n), *colon = wmemchr(e, L':', n);
    const WCHAR *server = e;
    if (eq && (!colon || eq < colon)) {
      if ((size_t)(eq - e) != sl || wcsncasecmp(e, scheme, sl) != 0)
        continue;
      server = eq + 1;
    }
    char *s = whttp_narrow(server, (size_t)(p - server));
    printf("%s%s", any ? ";" : "result: PROXY ", s ? s : "?");
    free(s);
    any = true;
  }
  if (any)
    putchar('\n');
  else
    printf("result: DIRECT (no proxy for %ls)\n", scheme);
}

/* A named proxy list with its bypass list, for |host| (steps 1 and 3). */
static int report_named(const char *method, const WCHAR *proxy, const WCHAR *bypass,
                        const URL_COMPONENTS *uc, const WCHAR *host)
{
  printf("method: %s\n", method);
  printf("access-type: NAMED_PROXY\n");
  print_w("proxy", proxy);
  print_w("bypass", bypass);
  WINHTTP_PROXY_INFO info = {WINHTTP_ACCESS_TYPE_NAMED_PROXY, (LPWSTR)proxy, (LPWSTR)bypass};
  BOOL bypassed = FALSE;
  DWORD err = WinHttpIsHostInProxyBypassList(&info, host, uc->nScheme, uc->nPort, &bypassed);
  if (err != ERROR_SUCCESS) {
    fprintf(stderr, "whttp: WinHttpIsHostInProxyBypassList failed: %s (%lu)\n",
            whttp_error_name(err), (unsigned long)err);
    return whttp_exit_for(err, false);
  }
  if (bypassed)
    printf("result: DIRECT (bypass list)\n");
  else
    print_picked(proxy, uc->nScheme == INTERNET_SCHEME_HTTPS ? L"https" : L"http");
  return WX_OK;
}

/* Step 2: the PAC script (WPAD, or the user's URL). True when it answered;
 * false, with the error printed, when the fallback applies. */
static bool report_script(const WINHTTP_CURRENT_USER_IE_PROXY_CONFIG *ie, const WCHAR *url)
{
  HINTERNET s = WinHttpOpen(L"whttp", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                            WINHTTP_NO_PROXY_BYPASS, 0);
  if (!s) {
    printf("pac-error: %s (%lu)\n", whttp_error_name(GetLastError()),
           (unsigned long)GetLastError());
    return false;
  }
  WINHTTP_AUTOPROXY_OPTIONS o;
  memset(&o, 0, sizeof(o));
  if (ie->fAutoDetect) {
    o.dwFlags |= WINHTTP_AUTOPROXY_AUTO_DETECT;
    o.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DHCP | WINHTTP_AUTO_DETECT_TYPE_DNS_A;
  }
  if (ie->lpszAutoConfigUrl) {
    o.dwFlags |= WINHTTP_AUTOPROXY_CONFIG_URL;
    o.lpszAutoConfigUrl = ie->lpszAutoConfigUrl;
  }
  WINHTTP_PROXY_INFO info;
  memset(&info, 0, sizeof(info));
  bool ok = WinHttpGetProxyForUrl(s, url, &o, &info);
  DWORD err = GetLastError();
  WinHttpCloseHandle(s);
  if (!ok) {
    printf("pac-error: %s (%lu)\n", whttp_error_name(err), (unsigned long)err);
    return false;
  }
  printf("method: %s\n", ie->lpszAutoConfigUrl ? "pac" : "auto-detect");
  printf("access-type: %s\n", access_name(info.dwAccessType));
  print_w("proxy", info.lpszProxy);
  print_w("bypass", info.lpszProxyBypass);
  if (info.dwAccessType == WINHTTP_ACCESS_TYPE_NAMED_PROXY && info.lpszProxy) {
    char *p = whttp_narrow(info.lpszProxy, wcslen(info.lpszProxy));
    printf("result: PROXY %s\n", p ? p : "?");
    free(p);
  } else {
    printf("result: DIRECT\n");
  }
  GlobalFree(info.lpszProxy);
  GlobalFree(info.lpszProxyBypass);
  return true;
}

static int resolve(const struct whttp_args *a, const WCHAR *url, const URL_COMPONENTS *uc,
                   const WCHAR *host)
{
  if (a->proxy) {
    WCHAR *proxy = whttp_widen(a->proxy, strlen(a->proxy));
    WCHAR *bypass = a->bypass ? whttp_widen(a->bypass, strlen(a->bypass)) : NULL;
    int rc = WX_MEMORY;
    if (proxy && (bypass || !a->bypass))
      rc = report_named("named proxy (-x)", proxy, bypass, uc, host);
    free(proxy);
    free(bypass);
    return rc;
  }
  WINHTTP_CURRENT_USER_IE_PROXY_CONFIG ie;
  if (!WinHttpGetIEProxyConfigForCurrentUser(&ie)) {
    DWORD err = GetLastError();
    fprintf(stderr, "whttp: WinHttpGetIEProxyConfigForCurrentUser failed: %s (%lu)\n",
            whttp_error_name(err), (unsigned long)err);
    return whttp_exit_for(err, false);
  }
  printf("user-auto-detect: %s\n", ie.fAutoDetect ? "yes" : "no");
  print_w("user-pac", ie.lpszAutoConfigUrl);
  print_w("user-proxy", ie.lpszProxy);
  print_w("user-bypass", ie.lpszProxyBypass);
  int rc = WX_OK;
  bool answered = (ie.fAutoDetect || ie.lpszAutoConfigUrl) && report_script(&ie, url);
  if (!answered && ie.lpszProxy) {
    rc = report_named("manual proxy (current user)", ie.lpszProxy, ie.lpszProxyBypass, uc, host);
  } else if (!answered) {
    printf("method: none\naccess-type: NO_PROXY\nresult: DIRECT\n");
  }
  GlobalFree(ie.lpszAutoConfigUrl);
  GlobalFree(ie.lpszProxy);
  GlobalFree(ie.lpszProxyBypass);
  return rc;
}

int whttp_proxy_for(const struct whttp_args *a)
{
  WCHAR *url = whttp_widen_url(a->proxy_for);
  if (!url) {
    fprintf(stderr, "whttp: --proxy-for: not a URL in UTF-8: '%s'\n", a->proxy_for);
    return WX_URL;
  }
  WCHAR host[256];
  URL_COMPONENTS uc;
  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.lpszHostName = host;
  uc.dwHostNameLength = sizeof(host) / sizeof(host[0]);
  int rc;
  if (!WinHttpCrackUrl(url, 0, 0, &uc)) {
    DWORD err = GetLastError();
    fprintf(stderr, "whttp: --proxy-for: WinHttpCrackUrl failed: %s (%lu)\n",
            whttp_error_name(err), (unsigned long)err);
    rc = whttp_exit_for(err, false);
  } else if (uc.nScheme != INTERNET_SCHEME_HTTP && uc.nScheme != INTERNET_SCHEME_HTTPS) {
    fprintf(stderr, "whttp: --proxy-for: only http:// and https:// URLs have proxies\n");
    rc = WX_SCHEME;
  } else {
    print_w("url", url);
    rc = resolve(a, url, &uc, host);
  }
  free(url);
  if (fflush(stdout) != 0 && rc == WX_OK)
    rc = WX_WRITE;
  return rc;
}
