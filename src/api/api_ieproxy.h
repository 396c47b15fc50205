/* WinHttpGetIEProxyConfigForCurrentUser's work, kept out of api_proxy.c:
 * the desktop's or the environment's settings (core/desktop_proxy.h) as
 * GlobalAlloc'd WCHAR strings. */
#ifndef WH_API_API_IEPROXY_H
#define WH_API_API_IEPROXY_H

#include <stdbool.h>

#include <winhttp.h>

/* Fills |cfg| (not NULL) with the current user's proxy settings; every
 * string is NULL or GlobalAlloc'd (the caller frees it with GlobalFree).
 * All or nothing: on failure |cfg| is not written. ERROR_SUCCESS or
 * ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_api_ie_proxy_config(WINHTTP_CURRENT_USER_IE_PROXY_CONFIG *cfg);

#include "policy/ie_proxy.h"

/* The WINHTTP_PROXY_TYPE_* flags of settings |c|, as Internet Explorer
 * keeps them with each connection's settings: DIRECT always (a direct
 * connection stays allowed), PROXY with a proxy list, AUTO_PROXY_URL with
 * a PAC URL, AUTO_DETECT with WPAD, and also when nothing is configured
 * and |nothing_is_detect| (Windows' out-of-the-box setting, as
 * WinHttpGetIEProxyConfigForCurrentUser reports it). */
DWORD wh_api_proxy_type_flags(const struct wh_ie_proxy *c, bool nothing_is_detect);

#endif
