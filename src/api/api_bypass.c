/* WinHttpIsHostInProxyBypassList: a WCHAR shim over policy/bypass.c. Like the
 * other Windows 8 era functions it returns its error code instead of setting
 * the last error. */
#include "api/api.h"
#include "policy/bypass.h"
#include "util/mem.h"

_Static_assert(INTERNET_SCHEME_HTTP == WH_BYPASS_SCHEME_HTTP &&
                   INTERNET_SCHEME_HTTPS == WH_BYPASS_SCHEME_HTTPS &&
                   INTERNET_SCHEME_FTP == WH_BYPASS_SCHEME_FTP &&
                   INTERNET_SCHEME_SOCKS == WH_BYPASS_SCHEME_SOCKS,
               "policy/bypass.h scheme numbers must equal INTERNET_SCHEME_*");

static size_t cstr_len(const char *s)
{
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

DWORD WINAPI WinHttpIsHostInProxyBypassList(const WINHTTP_PROXY_INFO *pProxyInfo, PCWSTR pwszHost,
                                            INTERNET_SCHEME tScheme, INTERNET_PORT nPort,
                                            BOOL *pfIsInBypassList)
{
  if (!pProxyInfo || !pwszHost || !pfIsInBypassList)
    return ERROR_INVALID_PARAMETER;
  /* COMPAT: Microsoft documents no validation. We refuse schemes that are
   * not INTERNET_SCHEME_* values and access types that are not
   * WINHTTP_ACCESS_TYPE_* values (most likely an uninitialised structure),
   * but consult the bypass list for every valid access type: the question
   * is about the list, whichever proxy it would be used with. */
  if ((int)tScheme < INTERNET_SCHEME_HTTP || (int)tScheme > INTERNET_SCHEME_SOCKS)
    return ERROR_INVALID_PARAMETER;
  if (!wh_access_type_valid(pProxyInfo->dwAccessType))
    return ERROR_INVALID_PARAMETER;

  *pfIsInBypassList = FALSE;
  if (!pProxyInfo->lpszProxyBypass)
    return ERROR_SUCCESS;

  char *list, *host;
  DWORD err = wh_utf8_opt(pProxyInfo->lpszProxyBypass, 0, &list);
  if (err != ERROR_SUCCESS)
    return err;
  err = wh_utf8_opt(pwszHost, 0, &host);
  if (err != ERROR_SUCCESS) {
    wh_free(list);
    return err;
  }
  if (wh_bypass_match(list, cstr_len(list), host, cstr_len(host), (int)tScheme, nPort))
    *pfIsInBypassList = TRUE;
  wh_free(host);
  wh_free(list);
  return ERROR_SUCCESS;
}
