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
   * "http=host:port;https=host:port"). */
  WCHAR *proxy = whttp_widen(a->proxy, strlen(a->proxy));
  if (!proxy) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return NULL;
  }
  HINTERNET s = WinHttpOpen(agent, WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy,
                            WINHTTP_NO_PROXY_BYPASS, flags);
  free(proxy);
  return s;
}
