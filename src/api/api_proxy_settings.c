/* The proxy-settings functions Windows' own settings tools use:
 * WinHttpReadProxySettings, WinHttpFreeProxySettings,
 * WinHttpGetProxySettingsVersion, WinHttpWriteProxySettings,
 * WinHttpSetProxySettingsPerUser.
 *
 * Microsoft publishes no reference page for these five functions nor for
 * WINHTTP_PROXY_SETTINGS; the SDK header's declarations and annotations
 * (_In_ session, _In_opt_ connection name, three _Out_ pointers) are all
 * there is. The decisions below are ours and docs/COMPAT.md gives the
 * reasons:
 *  - reading is real: the current user's settings, from the same sources
 *    as WinHttpGetIEProxyConfigForCurrentUser (the desktop, then the
 *    environment: core/desktop_proxy.h), with a version that changes when
 *    they change (core/proxy_version.h);
 *  - writing is refused with ERROR_ACCESS_DENIED: a library never edits
 *    the user's or the machine's configuration behind their back, and a
 *    write that only this process saw would tell a settings tool it had
 *    changed a configuration it had not;
 *  - the settings are per user already, so WinHttpSetProxySettingsPerUser
 *    (TRUE) has nothing to change; FALSE, a machine-wide switch on
 *    Windows, is refused like a write. */
#include <string.h>

#include "api/api.h"
#include "api/api_ieproxy.h"
#include "core/handle.h"
#include "core/object.h"
#include "core/proxy_version.h"

/* The session every function but WinHttpSetProxySettingsPerUser takes:
 * ERROR_INVALID_HANDLE, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE, or success. */
static DWORD check_session(HINTERNET h)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(h, WH_SESSION, &o);
  if (err == ERROR_SUCCESS)
    wh_handle_put(o);
  return err;
}

DWORD WINAPI WinHttpReadProxySettings(HINTERNET hSession, PCWSTR pcwszConnectionName,
                                      BOOL fFallBackToDefaultSettings,
                                      BOOL fSetAutoDiscoverForDefaultSettings,
                                      DWORD *pdwSettingsVersion,
                                      BOOL *pfDefaultSettingsAreReturned,
                                      WINHTTP_PROXY_SETTINGS *pWinHttpProxySettings)
{
  DWORD err = check_session(hSession);
  if (err != ERROR_SUCCESS)
    return err;
  if (!pdwSettingsVersion || !pfDefaultSettingsAreReturned || !pWinHttpProxySettings)
    return ERROR_INVALID_PARAMETER;
  /* COMPAT: a Linux desktop keeps one set of proxy settings for every
   * network connection (Windows keeps one per connection), so every
   * connection name reads the same settings. */
  (void)pcwszConnectionName;
  struct wh_ie_proxy cfg;
  DWORD version;
  err = wh_user_proxy_versioned(&cfg, &version);
  if (err != ERROR_SUCCESS)
    return err;
  /* Nothing configured anywhere is "no settings stored": the default
   * settings when the caller falls back to them (a direct connection, and
   * WPAD when it asks for it), else ERROR_FILE_NOT_FOUND, the error
   * WinHttpGetIEProxyConfigForCurrentUser documents for "no settings". */
  bool defaults = !wh_ie_proxy_configured(&cfg);
  if (defaults && !fFallBackToDefaultSettings) {
    wh_ie_proxy_clear(&cfg);
    return ERROR_FILE_NOT_FOUND;
  }
  LPWSTR url = NULL, proxy = NULL, bypass = NULL;
  err = wh_global_wide(cfg.auto_config_url, &url);
  if (err == ERROR_SUCCESS)
    err = wh_global_wide(cfg.proxy, &proxy);
  if (err == ERROR_SUCCESS)
    err = wh_global_wide(cfg.bypass, &bypass);
  if (err == ERROR_SUCCESS) {
    WINHTTP_PROXY_SETTINGS *s = pWinHttpProxySettings;
    memset(s, 0, sizeof(*s));
    s->dwStructSize = sizeof(*s);
    s->dwFlags = wh_api_proxy_type_flags(&cfg, false);
    if (defaults && fSetAutoDiscoverForDefaultSettings)
      s->dwFlags |= WINHTTP_PROXY_TYPE_AUTO_DETECT;
    s->dwCurrentSettingsVersion = version;
    /* The settings are no one connection's (above): no name. */
    s->pwszConnectionName = NULL;
    s->pwszProxy = proxy;
    s->pwszProxyBypass = bypass;
    s->pwszAutoconfigUrl = url;
    /* No secondary or last-known-good PAC URL, no detection history, no
     * network keys: nothing on Linux records them. */
    *pdwSettingsVersion = version;
    *pfDefaultSettingsAreReturned = defaults ? TRUE : FALSE;
  } else {
    GlobalFree(url);
    GlobalFree(proxy);
    GlobalFree(bypass);
  }
  wh_ie_proxy_clear(&cfg);
  return err;
}

/* Frees what WinHttpReadProxySettings filled in (its strings are
 * GlobalAlloc'd) and zeroes the structure. NULL is ignored. */
VOID WINAPI WinHttpFreeProxySettings(WINHTTP_PROXY_SETTINGS *pWinHttpProxySettings)
{
  WINHTTP_PROXY_SETTINGS *s = pWinHttpProxySettings;
  if (!s)
    return;
  GlobalFree(s->pwszConnectionName);
  GlobalFree(s->pwszProxy);
  GlobalFree(s->pwszProxyBypass);
  GlobalFree(s->pwszAutoconfigUrl);
  GlobalFree(s->pwszAutoconfigSecondaryUrl);
  GlobalFree(s->pwszLastKnownGoodAutoConfigUrl);
  GlobalFree(s->pdwDetectedInterfaceIp);
  GlobalFree(s->pNetworkKeys);
  memset(s, 0, sizeof(*s));
}

DWORD WINAPI WinHttpGetProxySettingsVersion(HINTERNET hSession, DWORD *pdwProxySettingsVersion)
{
  DWORD err = check_session(hSession);
  if (err != ERROR_SUCCESS)
    return err;
  if (!pdwProxySettingsVersion)
    return ERROR_INVALID_PARAMETER;
  struct wh_ie_proxy cfg;
  DWORD version;
  err = wh_user_proxy_versioned(&cfg, &version);
  if (err == ERROR_SUCCESS) {
    *pdwProxySettingsVersion = version;
    wh_ie_proxy_clear(&cfg);
  }
  return err;
}

DWORD WINAPI WinHttpWriteProxySettings(HINTERNET hSession, BOOL fForceUpdate,
                                       WINHTTP_PROXY_SETTINGS *pWinHttpProxySettings)
{
  (void)fForceUpdate;
  DWORD err = check_session(hSession);
  if (err != ERROR_SUCCESS)
    return err;
  if (!pWinHttpProxySettings)
    return ERROR_INVALID_PARAMETER;
  /* COMPAT: refused, whatever the settings (see the top of this file). */
  return ERROR_ACCESS_DENIED;
}

DWORD WINAPI WinHttpSetProxySettingsPerUser(BOOL fProxySettingsPerUser)
{
  /* COMPAT: per user is how the settings are kept; per machine would take
   * changing the machine's configuration, which is refused. */
  return fProxySettingsPerUser ? ERROR_SUCCESS : ERROR_ACCESS_DENIED;
}
