/* Proxy configuration: what the machine and the user configured, in
 * Windows' terms, from the Linux convention for "configured" (the
 * environment).
 *
 *  - WinHttpGetDefaultProxyConfiguration: the proxies of http_proxy /
 *    https_proxy / no_proxy (policy/proxy_env.h), otherwise Windows'
 *    "nothing configured" (NO_PROXY, NULL strings).
 *    WinHttpGetIEProxyConfigForCurrentUser: the desktop's settings (GNOME,
 *    KDE), else the same environment (api/api_ieproxy.h).
 *    Strings are GlobalAlloc'd; the caller frees them with GlobalFree.
 *  - WinHttpSetDefaultProxyConfiguration: for this process.
 * Proxy auto-configuration (WPAD, PAC) is in api_autoproxy.c and
 * api_resolver.c.
 *
 * Sources: Microsoft's pages for each function; Wine's
 * test_WinHttpGetIEProxyConfigForCurrentUser (run on Windows). */
#include <stdbool.h>
#include <string.h>
#include <wchar.h>

#include "api/api.h"
#include "api/api_ieproxy.h"
#include "core/route.h"
#include "util/mem.h"
#include "util/utf.h"

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
  err = wh_global_wide(p, proxy);
  if (err == ERROR_SUCCESS) {
    err = wh_global_wide(b, bypass);
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
  /* The desktop's settings, else the environment's (api/api_ieproxy.c);
   * with nothing configured anywhere, fAutoDetect is TRUE, Windows'
   * out-of-the-box setting and what an AUTOMATIC_PROXY session does. */
  DWORD err = wh_api_ie_proxy_config(pProxyConfig);
  return err == ERROR_SUCCESS ? wh_ok() : wh_fail(err);
}

