/* Functions of the SDK header that are not implemented yet. Each fails
 * honestly with ERROR_CALL_NOT_IMPLEMENTED: BOOL and HINTERNET functions
 * through the last error, DWORD functions as their result (the *Ex,
 * WebSocket and proxy-resolver families return their error directly).
 * docs/STATUS.md lists every function with its state and the issue that
 * will implement it; move a function out of this file when it lands.
 * Parameters are unused by design; the names document the signatures. */
#include "api/api.h"

#define UNUSED(x) (void)(x)
#define NOT_IMPLEMENTED ERROR_CALL_NOT_IMPLEMENTED

static HINTERNET null_handle(void)
{
  SetLastError(NOT_IMPLEMENTED);
  return NULL;
}

/* ---- Authentication ---- */

BOOL WINAPI WinHttpQueryAuthParams(HINTERNET hRequest, DWORD AuthScheme, LPVOID *pAuthParams)
{
  UNUSED(hRequest), UNUSED(AuthScheme), UNUSED(pAuthParams);
  return wh_fail(NOT_IMPLEMENTED);
}

/* ---- Connection groups ---- */

DWORD WINAPI WinHttpQueryConnectionGroup(HINTERNET hInternet, const GUID *pGuidConnection,
                                         ULONGLONG ullFlags,
                                         PWINHTTP_QUERY_CONNECTION_GROUP_RESULT *ppResult)
{
  UNUSED(hInternet), UNUSED(pGuidConnection), UNUSED(ullFlags), UNUSED(ppResult);
  return NOT_IMPLEMENTED;
}

/* Nothing can produce a result yet, so there is nothing to free. */
VOID WINAPI WinHttpFreeQueryConnectionGroupResult(WINHTTP_QUERY_CONNECTION_GROUP_RESULT *pResult)
{
  UNUSED(pResult);
}

/* ---- Proxy settings (the rest: api_proxy.c, api_autoproxy.c, api_resolver.c) ---- */

DWORD WINAPI WinHttpWriteProxySettings(HINTERNET hSession, BOOL fForceUpdate,
                                       WINHTTP_PROXY_SETTINGS *pWinHttpProxySettings)
{
  UNUSED(hSession), UNUSED(fForceUpdate), UNUSED(pWinHttpProxySettings);
  return NOT_IMPLEMENTED;
}

DWORD WINAPI WinHttpReadProxySettings(HINTERNET hSession, PCWSTR pcwszConnectionName,
                                      BOOL fFallBackToDefaultSettings,
                                      BOOL fSetAutoDiscoverForDefaultSettings,
                                      DWORD *pdwSettingsVersion,
                                      BOOL *pfDefaultSettingsAreReturned,
                                      WINHTTP_PROXY_SETTINGS *pWinHttpProxySettings)
{
  UNUSED(hSession), UNUSED(pcwszConnectionName), UNUSED(fFallBackToDefaultSettings);
  UNUSED(fSetAutoDiscoverForDefaultSettings), UNUSED(pdwSettingsVersion);
  UNUSED(pfDefaultSettingsAreReturned), UNUSED(pWinHttpProxySettings);
  return NOT_IMPLEMENTED;
}

VOID WINAPI WinHttpFreeProxySettings(WINHTTP_PROXY_SETTINGS *pWinHttpProxySettings)
{
  UNUSED(pWinHttpProxySettings);
}

DWORD WINAPI WinHttpGetProxySettingsVersion(HINTERNET hSession, DWORD *pdwProxySettingsVersion)
{
  UNUSED(hSession), UNUSED(pdwProxySettingsVersion);
  return NOT_IMPLEMENTED;
}

DWORD WINAPI WinHttpSetProxySettingsPerUser(BOOL fProxySettingsPerUser)
{
  UNUSED(fProxySettingsPerUser);
  return NOT_IMPLEMENTED;
}

DWORD WINAPI WinHttpRegisterProxyChangeNotification(
    ULONGLONG ullFlags, WINHTTP_PROXY_CHANGE_CALLBACK pfnCallback, PVOID pvContext,
    WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE *hRegistration)
{
  UNUSED(ullFlags), UNUSED(pfnCallback), UNUSED(pvContext), UNUSED(hRegistration);
  return NOT_IMPLEMENTED;
}

DWORD WINAPI WinHttpUnregisterProxyChangeNotification(
    WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE hRegistration)
{
  UNUSED(hRegistration);
  return NOT_IMPLEMENTED;
}

DWORD WINAPI WinHttpGetProxySettingsEx(HINTERNET hResolver,
                                       WINHTTP_PROXY_SETTINGS_TYPE ProxySettingsType,
                                       PWINHTTP_PROXY_SETTINGS_PARAM pProxySettingsParam,
                                       DWORD_PTR pContext)
{
  UNUSED(hResolver), UNUSED(ProxySettingsType), UNUSED(pProxySettingsParam), UNUSED(pContext);
  return NOT_IMPLEMENTED;
}

DWORD WINAPI WinHttpGetProxySettingsResultEx(HINTERNET hResolver, PVOID pProxySettingsEx)
{
  UNUSED(hResolver), UNUSED(pProxySettingsEx);
  return NOT_IMPLEMENTED;
}

DWORD WINAPI WinHttpFreeProxySettingsEx(WINHTTP_PROXY_SETTINGS_TYPE ProxySettingsType,
                                        PVOID pProxySettingsEx)
{
  UNUSED(ProxySettingsType), UNUSED(pProxySettingsEx);
  return NOT_IMPLEMENTED;
}

/* ---- Upgraded protocol streams ---- */

HINTERNET WINAPI WinHttpProtocolCompleteUpgrade(HINTERNET hRequest, DWORD_PTR dwContext)
{
  UNUSED(hRequest), UNUSED(dwContext);
  return null_handle();
}

DWORD WINAPI WinHttpProtocolSend(HINTERNET ProtocolHandle, ULONGLONG Flags, PVOID pvBuffer,
                                 DWORD dwBufferLength)
{
  UNUSED(ProtocolHandle), UNUSED(Flags), UNUSED(pvBuffer), UNUSED(dwBufferLength);
  return NOT_IMPLEMENTED;
}

DWORD WINAPI WinHttpProtocolReceive(HINTERNET ProtocolHandle, ULONGLONG Flags, PVOID pvBuffer,
                                    DWORD dwBufferLength, DWORD *pdwBytesRead)
{
  UNUSED(ProtocolHandle), UNUSED(Flags), UNUSED(pvBuffer), UNUSED(dwBufferLength);
  UNUSED(pdwBytesRead);
  return NOT_IMPLEMENTED;
}
