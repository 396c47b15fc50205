/* Proxy discovery: the answers Windows gives on a machine where nothing is
 * configured, plus the Linux convention for "configured" (the environment).
 *
 *  - WinHttpGetDefaultProxyConfiguration: the proxies of http_proxy /
 *    https_proxy / no_proxy (policy/proxy_env.h), otherwise Windows'
 *    "nothing configured" (NO_PROXY, NULL strings).
 *    WinHttpGetIEProxyConfigForCurrentUser: the desktop's settings (GNOME,
 *    KDE), else the same environment (api/api_ieproxy.h).
 *    Strings are GlobalAlloc'd; the caller frees them with GlobalFree.
 *  - WinHttpDetectAutoProxyConfigUrl, WinHttpGetProxyForUrl and the resolver
 *    family: there is no WPAD discovery (issue 9), so auto-detection finds
 *    nothing, which Windows reports as ERROR_WINHTTP_AUTODETECTION_FAILED.
 *    A PAC URL would need a script engine (issue 9): ERROR_CALL_NOT_IMPLEMENTED.
 *
 * Sources: Microsoft's pages for each function and for
 * WINHTTP_AUTOPROXY_OPTIONS, "WinHTTP AutoProxy Functions"; Wine's
 * test_WinHttpDetectAutoProxyConfigUrl, test_WinHttpGetIEProxyConfigForCurrentUser
 * and test_WinHttpGetProxyForUrl (argument checks, run on Windows). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "api/api.h"
#include "api/api_ieproxy.h"
#include "core/handle.h"
#include "core/resolver.h"
#include "core/route.h"
#include "policy/bypass.h"
#include "policy/proxy_list.h"
#include "policy/url.h"
#include "util/mem.h"
#include "util/utf.h"

#define DETECT_FLAGS (WINHTTP_AUTO_DETECT_TYPE_DHCP | WINHTTP_AUTO_DETECT_TYPE_DNS_A)
#define AUTOPROXY_FLAGS                                                                   \
  (WINHTTP_AUTOPROXY_AUTO_DETECT | WINHTTP_AUTOPROXY_CONFIG_URL |                         \
   WINHTTP_AUTOPROXY_HOST_KEEPCASE | WINHTTP_AUTOPROXY_HOST_LOWERCASE |                   \
   WINHTTP_AUTOPROXY_ALLOW_AUTOCONFIG | WINHTTP_AUTOPROXY_ALLOW_STATIC |                  \
   WINHTTP_AUTOPROXY_ALLOW_CM | WINHTTP_AUTOPROXY_USE_INTERFACE_CONFIG |                  \
   WINHTTP_AUTOPROXY_RUN_INPROCESS | WINHTTP_AUTOPROXY_RUN_OUTPROCESS_ONLY |              \
   WINHTTP_AUTOPROXY_NO_DIRECTACCESS | WINHTTP_AUTOPROXY_NO_CACHE_CLIENT |                \
   WINHTTP_AUTOPROXY_NO_CACHE_SVC | WINHTTP_AUTOPROXY_SORT_RESULTS)

/* --- the environment ------------------------------------------------------ */

/* A GlobalAlloc'd WCHAR copy of |s|; NULL for NULL. */
static DWORD global_wide(const char *s, LPWSTR *out)
{
  *out = NULL;
  if (!s)
    return ERROR_SUCCESS;
  size_t len = strlen(s);
  size_t cch = wh_wide_len_of_utf8(s, len);
  WCHAR *w = GlobalAlloc(GMEM_FIXED, (cch + 1) * sizeof(WCHAR));
  if (!w)
    return ERROR_NOT_ENOUGH_MEMORY;
  wh_wide_from_utf8_buf(s, len, w);
  w[cch] = L'\0';
  *out = w;
  return ERROR_SUCCESS;
}

/* The configured proxy list and bypass list as GlobalAlloc'd WCHAR strings
 * (NULL when not configured): the process-wide default when |with_default|
 * and one was set, else the environment's. All or nothing. */
static DWORD config_proxy_wide(bool with_default, LPWSTR *proxy, LPWSTR *bypass)
{
  char *p, *b;
  *proxy = *bypass = NULL;
  DWORD err = with_default ? wh_default_proxy(&p, &b) : wh_env_proxy(&p, &b);
  if (err != ERROR_SUCCESS)
    return err;
  err = global_wide(p, proxy);
  if (err == ERROR_SUCCESS) {
    err = global_wide(b, bypass);
    if (err != ERROR_SUCCESS) {
      GlobalFree(*proxy);
      *proxy = NULL;
    }
  }
  wh_free(p);
  wh_free(b);
  return err;
}

/* --- configuration ---------------------------------------------------------- */

BOOL WINAPI WinHttpGetDefaultProxyConfiguration(WINHTTP_PROXY_INFO *pProxyInfo)
{
  /* COMPAT: Microsoft documents no argument check; a NULL structure is
   * refused rather than written through. */
  if (!pProxyInfo)
    return wh_fail(ERROR_INVALID_PARAMETER);
  LPWSTR proxy, bypass;
  DWORD err = config_proxy_wide(true, &proxy, &bypass);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  /* Microsoft: NAMED_PROXY when a list of proxy servers is configured,
   * otherwise NO_PROXY (with NULL strings, as Wine's proxy_active() reads
   * them). */
  pProxyInfo->dwAccessType = proxy ? WINHTTP_ACCESS_TYPE_NAMED_PROXY : WINHTTP_ACCESS_TYPE_NO_PROXY;
  pProxyInfo->lpszProxy = proxy;
  pProxyInfo->lpszProxyBypass = bypass;
  return wh_ok();
}

/* COMPAT: Windows writes its machine-wide WinHTTP setting (the registry,
 * administrators only, read by every program). The Linux equivalent is the
 * environment, which a library cannot change for other processes, and a
 * file of our own would be read by nothing else: the setting lives for the
 * process. WinHttpGetDefaultProxyConfiguration reports it, and sessions
 * opened with DEFAULT_PROXY or AUTOMATIC_PROXY afterwards use it, in place
 * of the environment. */
BOOL WINAPI WinHttpSetDefaultProxyConfiguration(WINHTTP_PROXY_INFO *pProxyInfo)
{
  if (!pProxyInfo)
    return wh_fail(ERROR_INVALID_PARAMETER);
  DWORD access = pProxyInfo->dwAccessType;
  if (access != WINHTTP_ACCESS_TYPE_NO_PROXY && access != WINHTTP_ACCESS_TYPE_NAMED_PROXY)
    return wh_fail(ERROR_INVALID_PARAMETER);
  if (access == WINHTTP_ACCESS_TYPE_NAMED_PROXY &&
      (!pProxyInfo->lpszProxy || !pProxyInfo->lpszProxy[0]))
    return wh_fail(ERROR_INVALID_PARAMETER);
  char *proxy = NULL, *bypass = NULL;
  size_t n;
  DWORD err = ERROR_SUCCESS;
  if (access == WINHTTP_ACCESS_TYPE_NAMED_PROXY) {
    if (wh_utf8_from_wide(pProxyInfo->lpszProxy, wcslen(pProxyInfo->lpszProxy), &proxy, &n) != 0)
      err = ERROR_NOT_ENOUGH_MEMORY;
    else if (pProxyInfo->lpszProxyBypass &&
             wh_utf8_from_wide(pProxyInfo->lpszProxyBypass, wcslen(pProxyInfo->lpszProxyBypass),
                               &bypass, &n) != 0)
      err = ERROR_NOT_ENOUGH_MEMORY;
  }
  if (err == ERROR_SUCCESS)
    err = wh_default_proxy_set(proxy, bypass);
  wh_free(proxy);
  wh_free(bypass);
  return err == ERROR_SUCCESS ? wh_ok() : wh_fail(err);
}

BOOL WINAPI WinHttpGetIEProxyConfigForCurrentUser(WINHTTP_CURRENT_USER_IE_PROXY_CONFIG *pProxyConfig)
{
  /* Wine's test_WinHttpGetIEProxyConfigForCurrentUser: NULL gives
   * ERROR_INVALID_PARAMETER; with nothing configured the call succeeds. */
  if (!pProxyConfig)
    return wh_fail(ERROR_INVALID_PARAMETER);
  /* COMPAT: fAutoDetect is TRUE only when the desktop asks for WPAD; with
   * nothing configured it is FALSE, not Windows' out-of-the-box TRUE. */
  DWORD err = wh_api_ie_proxy_config(pProxyConfig);
  return err == ERROR_SUCCESS ? wh_ok() : wh_fail(err);
}

/* --- auto-detection ----------------------------------------------------------- */

BOOL WINAPI WinHttpDetectAutoProxyConfigUrl(DWORD dwAutoDetectFlags, LPWSTR *ppwstrAutoConfigUrl)
{
  /* Wine's test_WinHttpDetectAutoProxyConfigUrl: no flag or a NULL out
   * pointer gives ERROR_INVALID_PARAMETER. COMPAT: a flag other than the
   * two documented ones is refused too. */
  if (!dwAutoDetectFlags || (dwAutoDetectFlags & ~(DWORD)DETECT_FLAGS) || !ppwstrAutoConfigUrl)
    return wh_fail(ERROR_INVALID_PARAMETER);
  /* No WPAD discovery yet (issue 9): a network without a PAC URL. Windows
   * then sets the URL to NULL (Wine's test). */
  *ppwstrAutoConfigUrl = NULL;
  return wh_fail(ERROR_WINHTTP_AUTODETECTION_FAILED);
}

/* The checks WinHttpGetProxyForUrl and the Ex functions share once the
 * handle is known good: Wine's test_WinHttpGetProxyForUrl (a NULL or empty
 * URL, NULL options or result, neither AUTO_DETECT nor CONFIG_URL,
 * AUTO_DETECT without a detection type, CONFIG_URL without a URL:
 * ERROR_INVALID_PARAMETER) and Microsoft's WINHTTP_AUTOPROXY_OPTIONS
 * ("reserved ... must be NULL / zero"). The URLs must be http or https URLs:
 * ERROR_WINHTTP_UNRECOGNIZED_SCHEME / ERROR_WINHTTP_INVALID_URL, both on
 * Microsoft's list for these functions. */
static DWORD check_lookup(LPCWSTR url, const WINHTTP_AUTOPROXY_OPTIONS *o, bool have_out)
{
  if (!url || !url[0] || !o || !have_out)
    return ERROR_INVALID_PARAMETER;
  DWORD f = o->dwFlags;
  if (f & ~(DWORD)AUTOPROXY_FLAGS)
    return ERROR_INVALID_PARAMETER;
  if (!(f & (WINHTTP_AUTOPROXY_AUTO_DETECT | WINHTTP_AUTOPROXY_CONFIG_URL)))
    return ERROR_INVALID_PARAMETER;
  if ((f & WINHTTP_AUTOPROXY_AUTO_DETECT) &&
      (!o->dwAutoDetectFlags || (o->dwAutoDetectFlags & ~(DWORD)DETECT_FLAGS)))
    return ERROR_INVALID_PARAMETER;
  if ((f & WINHTTP_AUTOPROXY_CONFIG_URL) && (!o->lpszAutoConfigUrl || !o->lpszAutoConfigUrl[0]))
    return ERROR_INVALID_PARAMETER;
  /* COMPAT: Microsoft also says dwAutoDetectFlags "must be zero" without
   * AUTO_DETECT and lpszAutoConfigUrl NULL without CONFIG_URL; those unused
   * fields are ignored, as Wine ignores them, so that code which fills the
   * structure once and toggles dwFlags keeps working. */
  if (o->lpvReserved || o->dwReserved)
    return ERROR_INVALID_PARAMETER;
  struct wh_url_parts parts;
  DWORD err = wh_url_split(url, wcslen(url), false, &parts);
  if (err == ERROR_SUCCESS && (f & WINHTTP_AUTOPROXY_CONFIG_URL))
    err = wh_url_split(o->lpszAutoConfigUrl, wcslen(o->lpszAutoConfigUrl), false, &parts);
  return err;
}

/* What a valid lookup finds. Windows tries auto-detection first and falls
 * back to the PAC URL ("WinHTTP AutoProxy Functions"); detection finds
 * nothing here, and running a PAC script is issue 9. */
static DWORD lookup(const WINHTTP_AUTOPROXY_OPTIONS *o)
{
  /* ALLOW_STATIC asks for the static configuration to take part (the
   * process default or the environment): with a proxy configured there,
   * answering "nothing found" would send the program past it.
   * WinHttpGetProxyForUrl answers from it (static_answer); the resolver
   * family has no results to give yet. */
  if (o->dwFlags & WINHTTP_AUTOPROXY_ALLOW_STATIC) {
    char *p, *b;
    DWORD err = wh_default_proxy(&p, &b);
    bool configured = p != NULL;
    wh_free(p);
    wh_free(b);
    if (err != ERROR_SUCCESS)
      return err;
    if (configured)
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
  if (o->dwFlags & WINHTTP_AUTOPROXY_CONFIG_URL)
    return ERROR_CALL_NOT_IMPLEMENTED;
  return ERROR_WINHTTP_AUTODETECTION_FAILED;
}

/* WINHTTP_AUTOPROXY_ALLOW_STATIC with a static configuration (the process
 * default or the environment, core/route.h): the answer for |url| as a
 * request would be routed. *found false when nothing is configured. */
static DWORD static_answer(LPCWSTR url, WINHTTP_PROXY_INFO *out, bool *found)
{
  *found = false;
  char *list, *bypass;
  DWORD err = wh_default_proxy(&list, &bypass);
  if (err != ERROR_SUCCESS || !list) {
    wh_free(bypass);
    return err;
  }
  *found = true;
  struct wh_url_parts u;
  err = wh_url_split(url, wcslen(url), false, &u);
  char *host = NULL;
  size_t hlen = 0;
  if (err == ERROR_SUCCESS) {
    /* The host without an IPv6 literal's brackets, as bypass lists see it. */
    size_t off = u.host.off, len = u.host.len;
    if (len >= 2 && url[off] == L'[') {
      off++;
      len -= 2;
    }
    if (wh_utf8_from_wide(url + off, len, &host, &hlen) != 0)
      err = ERROR_NOT_ENOUGH_MEMORY;
  }
  bool secure = u.scheme == INTERNET_SCHEME_HTTPS;
  struct wh_proxy_server via[WH_ROUTE_MAX];
  size_t n = 0;
  if (err == ERROR_SUCCESS) {
    int scheme = secure ? WH_BYPASS_SCHEME_HTTPS : WH_BYPASS_SCHEME_HTTP;
    bool bypassed = bypass && wh_bypass_match(bypass, strlen(bypass), host, hlen, scheme, u.port);
    if (!bypassed)
      n = wh_proxy_list_pick(list, strlen(list), secure ? "https" : "http", via, WH_ROUTE_MAX);
  }
  /* "host:port;host:port" for the proxies to try; none: direct. */
  char joined[WH_ROUTE_MAX * 264];
  size_t jl = 0;
  for (size_t i = 0; i < n && err == ERROR_SUCCESS; i++) {
    if (via[i].unsupported) {
      err = ERROR_CALL_NOT_IMPLEMENTED; /* a SOCKS or TLS proxy: not one we speak */
      break;
    }
    bool v6 = strchr(via[i].host, ':') != NULL;
    jl += (size_t)snprintf(joined + jl, sizeof(joined) - jl, "%s%s%s%s:%u", i ? ";" : "",
                           v6 ? "[" : "", via[i].host, v6 ? "]" : "", (unsigned)via[i].port);
  }
  LPWSTR proxy = NULL;
  if (err == ERROR_SUCCESS && n)
    err = global_wide(joined, &proxy);
  if (err == ERROR_SUCCESS) {
    out->dwAccessType = n ? WINHTTP_ACCESS_TYPE_NAMED_PROXY : WINHTTP_ACCESS_TYPE_NO_PROXY;
    out->lpszProxy = proxy;
    out->lpszProxyBypass = NULL;
  }
  wh_free(host);
  wh_free(list);
  wh_free(bypass);
  return err;
}

BOOL WINAPI WinHttpGetProxyForUrl(HINTERNET hSession, LPCWSTR lpcwszUrl,
                                  WINHTTP_AUTOPROXY_OPTIONS *pAutoProxyOptions,
                                  WINHTTP_PROXY_INFO *pProxyInfo)
{
  /* The handle first (Wine's test: all NULL gives ERROR_INVALID_HANDLE).
   * An asynchronous session is accepted: the call is synchronous either
   * way, as on Windows. */
  struct wh_object *o;
  DWORD err = wh_object_grab(hSession, WH_SESSION, &o);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  err = check_lookup(lpcwszUrl, pAutoProxyOptions, pProxyInfo != NULL);
  bool found = false;
  /* Nothing is detected here (no WPAD) and PAC scripts are not run yet,
   * so with ALLOW_STATIC the static configuration answers when there is
   * one: the proxies a request for the URL would go through, or NO_PROXY
   * when it would go direct. */
  if (err == ERROR_SUCCESS && (pAutoProxyOptions->dwFlags & WINHTTP_AUTOPROXY_ALLOW_STATIC))
    err = static_answer(lpcwszUrl, pProxyInfo, &found);
  if (err == ERROR_SUCCESS && !found)
    err = lookup(pAutoProxyOptions);
  wh_handle_put(o);
  return err == ERROR_SUCCESS ? wh_ok() : wh_fail(err);
}

/* --- the resolver family --------------------------------------------------------- */

DWORD WINAPI WinHttpCreateProxyResolver(HINTERNET hSession, HINTERNET *phResolver)
{
  /* Microsoft: ERROR_INVALID_HANDLE for NULL, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE
   * for a handle that is not a session or a session that is not
   * asynchronous. */
  struct wh_object *o;
  DWORD err = wh_object_grab(hSession, WH_SESSION, &o);
  if (err != ERROR_SUCCESS)
    return err;
  if (!(o->flags & WH_OBJ_ASYNC))
    err = ERROR_WINHTTP_INCORRECT_HANDLE_TYPE;
  else if (!phResolver)
    err = ERROR_INVALID_PARAMETER;
  else
    err = wh_resolver_new(wh_session_of(o), phResolver);
  wh_handle_put(o);
  return err;
}

static DWORD get_proxy_ex(HINTERNET hResolver, PCWSTR url, WINHTTP_AUTOPROXY_OPTIONS *opts,
                          DWORD_PTR ctx)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hResolver, WH_RESOLVER, &o);
  if (err != ERROR_SUCCESS)
    return err;
  err = check_lookup(url, opts, true);
  if (err == ERROR_SUCCESS)
    err = lookup(opts);
  /* Microsoft: the Ex function "always executes asynchronously", so the
   * outcome of the lookup itself arrives as REQUEST_ERROR; what cannot be
   * looked up at all (a PAC script) is refused synchronously, with no
   * callback to follow. */
  if (err == ERROR_WINHTTP_AUTODETECTION_FAILED)
    err = wh_resolver_fail_async((struct wh_resolver *)o, err, ctx);
  wh_handle_put(o);
  return err;
}

DWORD WINAPI WinHttpGetProxyForUrlEx(HINTERNET hResolver, PCWSTR pcwszUrl,
                                     WINHTTP_AUTOPROXY_OPTIONS *pAutoProxyOptions,
                                     DWORD_PTR pContext)
{
  return get_proxy_ex(hResolver, pcwszUrl, pAutoProxyOptions, pContext);
}

DWORD WINAPI WinHttpGetProxyForUrlEx2(HINTERNET hResolver, PCWSTR pcwszUrl,
                                      WINHTTP_AUTOPROXY_OPTIONS *pAutoProxyOptions,
                                      DWORD cbInterfaceSelectionContext,
                                      BYTE *pInterfaceSelectionContext, DWORD_PTR pContext)
{
  /* COMPAT: the interface selection context is opaque (Microsoft documents
   * only its type); a length without a buffer or a buffer without a length
   * is refused, the bytes themselves are not used: there is only one
   * answer whatever the interface. */
  if ((cbInterfaceSelectionContext == 0) != (pInterfaceSelectionContext == NULL))
    return ERROR_INVALID_PARAMETER;
  return get_proxy_ex(hResolver, pcwszUrl, pAutoProxyOptions, pContext);
}

/* Microsoft: ERROR_WINHTTP_INCORRECT_HANDLE_STATE when "the resolver handle
 * has not successfully completed a call to WinHttpGetProxyForUrlEx", which
 * no call can do yet. */
static DWORD get_result(HINTERNET hResolver, const void *out)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hResolver, WH_RESOLVER, &o);
  if (err != ERROR_SUCCESS)
    return err;
  wh_handle_put(o);
  return out ? ERROR_WINHTTP_INCORRECT_HANDLE_STATE : ERROR_INVALID_PARAMETER;
}

DWORD WINAPI WinHttpGetProxyResult(HINTERNET hResolver, WINHTTP_PROXY_RESULT *pProxyResult)
{
  return get_result(hResolver, pProxyResult);
}

DWORD WINAPI WinHttpGetProxyResultEx(HINTERNET hResolver, WINHTTP_PROXY_RESULT_EX *pProxyResultEx)
{
  return get_result(hResolver, pProxyResultEx);
}
