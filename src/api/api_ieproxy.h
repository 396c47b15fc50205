/* WinHttpGetIEProxyConfigForCurrentUser's work, kept out of api_proxy.c:
 * the desktop's or the environment's settings (core/desktop_proxy.h) as
 * GlobalAlloc'd WCHAR strings. */
#ifndef WH_API_API_IEPROXY_H
#define WH_API_API_IEPROXY_H

#include <winhttp.h>

/* Fills |cfg| (not NULL) with the current user's proxy settings; every
 * string is NULL or GlobalAlloc'd (the caller frees it with GlobalFree).
 * All or nothing: on failure |cfg| is not written. ERROR_SUCCESS or
 * ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_api_ie_proxy_config(WINHTTP_CURRENT_USER_IE_PROXY_CONFIG *cfg);

#endif
