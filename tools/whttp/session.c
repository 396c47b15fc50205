/* whttp: the session every mode opens (one place for its access type). */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "whttp.h"

HINTERNET whttp_open_session(const struct whttp_args *a, DWORD flags)
{
  WCHAR agent[64];
  swprintf(agent, 64, L"whttp/%s", WHTTP_VERSION);
  if (!a->proxy)
    return WinHttpOpen(agent, WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                       WINHTTP_NO_PROXY_BYPASS, flags);
  /* -x: a named proxy in Windows' list syntax ("host:port", or
   * "http=host:port;https=host:port"); --noproxy: its bypass list, already
   * in WinHTTP's syntax (noproxy.c). */
  WCHAR *proxy = whttp_widen(a->proxy, strlen(a->proxy));
  WCHAR *bypass = a->bypass ? whttp_widen(a->bypass, strlen(a->bypass)) : NULL;
  if (!proxy || (a->bypass && !bypass)) {
    free(proxy);
    free(bypass);
    SetLastError(ERROR_INVALID_PARAMETER);
    return NULL;
  }
  HINTERNET s = WinHttpOpen(agent, WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy,
                            bypass ? bypass : WINHTTP_NO_PROXY_BYPASS, flags);
  free(proxy);
  free(bypass);
  return s;
}
