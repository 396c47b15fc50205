/* Proxy auto-configuration, synchronous: WinHttpDetectAutoProxyConfigUrl,
 * WinHttpGetProxyForUrl, WinHttpResetAutoProxy (the asynchronous resolver
 * functions are in api_resolver.c). The work is core/autoproxy.h's: WPAD by
 * DNS, the PAC download with the library's own engine (api/pac_fetch.c,
 * registered by WinHttpOpen), the script run in a helper process.
 *
 * Sources: Microsoft's pages for each function, "WinHTTP AutoProxy
 * Functions", "Autoproxy Cache", "AutoProxy Issues in WinHTTP"; Wine's
 * test_WinHttpDetectAutoProxyConfigUrl and test_WinHttpGetProxyForUrl
 * (argument checks, run on Windows); how Windows maps a PAC answer onto
 * WINHTTP_PROXY_INFO as Chromium's WinHTTP resolver observed it
 * (policy/pac_result.h). */
#include <stdbool.h>
#include <string.h>

#include "api/api.h"
#include "api/lookup.h"
#include "core/autoproxy.h"
#include "core/handle.h"
#include "core/session.h"
#include "policy/pac_result.h"
#include "util/mem.h"

#define DETECT_FLAGS (WINHTTP_AUTO_DETECT_TYPE_DHCP | WINHTTP_AUTO_DETECT_TYPE_DNS_A)
#define RESET_FLAGS                                                                      \
  (WINHTTP_RESET_ALL | WINHTTP_RESET_NOTIFY_NETWORK_CHANGED | WINHTTP_RESET_OUT_OF_PROC | \
   WINHTTP_RESET_DISCARD_RESOLVERS)

BOOL WINAPI WinHttpDetectAutoProxyConfigUrl(DWORD dwAutoDetectFlags, LPWSTR *ppwstrAutoConfigUrl)
{
  /* Wine's test_WinHttpDetectAutoProxyConfigUrl: no flag or a NULL out
   * pointer gives ERROR_INVALID_PARAMETER. COMPAT: a flag other than the
   * two documented ones is refused too. */
  if (!dwAutoDetectFlags || (dwAutoDetectFlags & ~(DWORD)DETECT_FLAGS) || !ppwstrAutoConfigUrl)
    return wh_fail(ERROR_INVALID_PARAMETER);
  /* Windows sets the URL to NULL when nothing is found (Wine's test). */
  *ppwstrAutoConfigUrl = NULL;
  /* COMPAT: DHCP discovery is not performed (core/wpad.c says why); DNS
   * is: the first WPAD name that resolves. Like Windows, the script
   * itself is not fetched here. */
  if (!(dwAutoDetectFlags & WINHTTP_AUTO_DETECT_TYPE_DNS_A))
    return wh_fail(ERROR_WINHTTP_AUTODETECTION_FAILED);
  char *url = NULL;
  DWORD err = wh_wpad_detect(&url);
  LPWSTR w = NULL;
  if (err == ERROR_SUCCESS)
    err = wh_global_wide(url, &w);
  wh_free(url);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  *ppwstrAutoConfigUrl = w;
  return wh_ok();
}

/* The answer's entries as WINHTTP_PROXY_INFO: NAMED_PROXY with the HTTP
 * proxies before the first DIRECT ("a:1;b:2"), or NO_PROXY. */
static DWORD to_proxy_info(const struct wh_pac_entry *e, size_t n, WINHTTP_PROXY_INFO *out)
{
  char list[WH_PAC_MAX_ENTRIES * 264];
  enum wh_pac_list_kind k = wh_pac_to_list(e, n, list, sizeof(list));
  /* COMPAT: Windows leaves SOCKS and HTTPS proxies out of the list (as
   * Chromium observed); when the script named nothing else and no DIRECT,
   * that would be NO_PROXY: a direct connection the script did not allow.
   * Refused instead, as a static configuration naming such a proxy is. */
  if (k == WH_PAC_LIST_UNSUPPORTED)
    return ERROR_CALL_NOT_IMPLEMENTED;
  LPWSTR proxy = NULL;
  if (k == WH_PAC_LIST_PROXIES) {
    DWORD err = wh_global_wide(list, &proxy);
    if (err != ERROR_SUCCESS)
      return err;
  }
  out->dwAccessType = proxy ? WINHTTP_ACCESS_TYPE_NAMED_PROXY : WINHTTP_ACCESS_TYPE_NO_PROXY;
  out->lpszProxy = proxy;
  out->lpszProxyBypass = NULL;
  return ERROR_SUCCESS;
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
  err = wh_lookup_check(lpcwszUrl, pAutoProxyOptions, pProxyInfo != NULL);
  struct wh_pac_entry e[WH_PAC_MAX_ENTRIES];
  size_t n = 0;
  bool found = false, bypass;
  /* ALLOW_STATIC: a static configuration answers first (the proxies a
   * request for the URL would go through), as the existing setting is what
   * the application asked to take part. */
  if (err == ERROR_SUCCESS && (pAutoProxyOptions->dwFlags & WINHTTP_AUTOPROXY_ALLOW_STATIC))
    err = wh_lookup_static(lpcwszUrl, e, &n, &bypass, &found);
  if (err == ERROR_SUCCESS && !found) {
    struct wh_lookup l;
    struct wh_autoproxy *ap = NULL;
    err = wh_lookup_prepare(wh_session_of(o), lpcwszUrl, pAutoProxyOptions, &l);
    if (err == ERROR_SUCCESS && !(ap = wh_session_autoproxy(wh_session_of(o))))
      err = ERROR_NOT_ENOUGH_MEMORY;
    /* COMPAT: closing the session does not interrupt the call; its steps
     * are bounded by the session's timeouts and the script's time limit. */
    if (err == ERROR_SUCCESS)
      err = wh_autoproxy_run_sync(ap, &l.q, -1, e, &n);
    wh_autoproxy_unref(ap);
    wh_lookup_free(&l);
  }
  if (err == ERROR_SUCCESS)
    err = to_proxy_info(e, n, pProxyInfo); /* nothing is written on failure */
  wh_handle_put(o);
  return err == ERROR_SUCCESS ? wh_ok() : wh_fail(err);
}

DWORD WINAPI WinHttpResetAutoProxy(HINTERNET hSession, DWORD dwFlags)
{
  /* Microsoft: ERROR_INVALID_HANDLE, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE for
   * a handle that is not a session. COMPAT: unknown flags are refused;
   * WINHTTP_RESET_OUT_OF_PROC ("required", acting on the autoproxy
   * service) is accepted but not required: there is no service, and the
   * session's own cache is what a reset can clear. Whatever the flags,
   * everything the session cached goes (detection, script, helpers). The
   * 30-second minimum Microsoft describes between resets does not apply. */
  struct wh_object *o;
  DWORD err = wh_object_grab(hSession, WH_SESSION, &o);
  if (err != ERROR_SUCCESS)
    return err;
  if (dwFlags & ~(DWORD)RESET_FLAGS) {
    wh_handle_put(o);
    return ERROR_INVALID_PARAMETER;
  }
  struct wh_session *s = wh_session_of(o);
  pthread_mutex_lock(&s->hdr.lock);
  struct wh_autoproxy *ap = s->autoproxy;
  if (ap)
    wh_autoproxy_ref(ap);
  pthread_mutex_unlock(&s->hdr.lock);
  if (ap) {
    wh_autoproxy_reset(ap);
    wh_autoproxy_unref(ap);
  }
  wh_handle_put(o);
  return ERROR_SUCCESS;
}
