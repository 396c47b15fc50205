/* see api_ieproxy.h. Microsoft's WinHttpGetIEProxyConfigForCurrentUser:
 * "The caller must free the lpszProxy, lpszProxyBypass and
 * lpszAutoConfigUrl strings ... if they are non-NULL. Use GlobalFree". */
#include "api/api_ieproxy.h"

#include <stdbool.h>

#include "api/api.h"
#include "core/desktop_proxy.h"

DWORD wh_api_ie_proxy_config(WINHTTP_CURRENT_USER_IE_PROXY_CONFIG *cfg)
{
  struct wh_ie_proxy ie;
  DWORD err = wh_user_proxy(&ie);
  if (err != ERROR_SUCCESS)
    return err;
  LPWSTR url = NULL, proxy = NULL, bypass = NULL;
  err = wh_global_wide(ie.auto_config_url, &url);
  if (err == ERROR_SUCCESS)
    err = wh_global_wide(ie.proxy, &proxy);
  if (err == ERROR_SUCCESS)
    err = wh_global_wide(ie.bypass, &bypass);
  if (err == ERROR_SUCCESS) {
    /* Nothing configured anywhere: Windows' out-of-the-box "Automatically
     * detect settings", which is also what an AUTOMATIC_PROXY session does
     * then (WPAD). A user who named a proxy or a script chose it, and
     * network-supplied WPAD should not override that. */
    bool nothing = !ie.auto_detect && !ie.auto_config_url && !ie.proxy;
    cfg->fAutoDetect = ie.auto_detect || nothing ? TRUE : FALSE;
    cfg->lpszAutoConfigUrl = url;
    cfg->lpszProxy = proxy;
    cfg->lpszProxyBypass = bypass;
  } else {
    GlobalFree(url);
    GlobalFree(proxy);
    GlobalFree(bypass);
  }
  wh_ie_proxy_clear(&ie);
  return err;
}

DWORD wh_api_proxy_type_flags(const struct wh_ie_proxy *c, bool nothing_is_detect)
{
  DWORD f = WINHTTP_PROXY_TYPE_DIRECT;
  if (c->proxy)
    f |= WINHTTP_PROXY_TYPE_PROXY;
  if (c->auto_config_url)
    f |= WINHTTP_PROXY_TYPE_AUTO_PROXY_URL;
  if (c->auto_detect || (nothing_is_detect && !wh_ie_proxy_configured(c)))
    f |= WINHTTP_PROXY_TYPE_AUTO_DETECT;
  return f;
}
