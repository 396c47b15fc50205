/* WinHttpCrackUrl and WinHttpCreateUrl: thin shims over policy/url.c.
 *
 * Both are stateless and take no handle, so they may run on any number of
 * threads at once (CONTRACT.md C1); all the logic, and the sources for it,
 * live in policy/url.c. The shims only map the result onto BOOL and the last
 * error, which Windows 7 and later set to ERROR_SUCCESS on success (Wine's
 * url.c tests assert it for both functions).
 */
#include <winhttp.h>

#include "api/api.h"
#include "policy/url.h"

BOOL WINAPI WinHttpCrackUrl(LPCWSTR pwszUrl, DWORD dwUrlLength, DWORD dwFlags,
                            LPURL_COMPONENTS lpUrlComponents)
{
  return wh_result(wh_url_crack(pwszUrl, dwUrlLength, dwFlags, lpUrlComponents));
}

BOOL WINAPI WinHttpCreateUrl(LPURL_COMPONENTS lpUrlComponents, DWORD dwFlags, LPWSTR pwszUrl,
                             LPDWORD pdwUrlLength)
{
  return wh_result(wh_url_create(lpUrlComponents, dwFlags, pwszUrl, pdwUrlLength));
}
