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
