/* WinHttpRegisterProxyChangeNotification and
 * WinHttpUnregisterProxyChangeNotification: shims over core/proxy_notify.h,
 * which says what is watched and what is not.
 *
 * Microsoft: the callback is called "when the effective proxy settings
 * change", with the flag given at registration ("for example,
 * WINHTTP_PROXY_NOTIFY_CHANGE", the only one defined) and the context
 * pointer; the registration handle (a PVOID) ends it. */
#include <stdint.h>

#include "api/api.h"
#include "core/proxy_notify.h"

DWORD WINAPI WinHttpRegisterProxyChangeNotification(
    ULONGLONG ullFlags, WINHTTP_PROXY_CHANGE_CALLBACK pfnCallback, PVOID pvContext,
    WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE *hRegistration)
{
  /* COMPAT: Microsoft documents no error; a missing callback or handle
   * pointer, and a flag other than the one defined, are refused. */
  if (!pfnCallback || !hRegistration || ullFlags != WINHTTP_PROXY_NOTIFY_CHANGE)
    return ERROR_INVALID_PARAMETER;
  uint64_t id;
  DWORD err = wh_proxy_notify_register(ullFlags, pfnCallback, pvContext, &id);
  if (err == ERROR_SUCCESS)
    /* The handle is the registration's number, never an address: a stale
     * or made-up handle is looked up, never dereferenced, and a number is
     * never reused, so an old handle cannot end a newer registration. */
    *hRegistration = (WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE)(uintptr_t)id;
  return err;
}

DWORD WINAPI WinHttpUnregisterProxyChangeNotification(
    WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE hRegistration)
{
  /* COMPAT: NULL, an unknown handle and one already unregistered give
   * ERROR_INVALID_HANDLE (Microsoft documents no error). */
  if (!hRegistration)
    return ERROR_INVALID_HANDLE;
  return wh_proxy_notify_unregister((uint64_t)(uintptr_t)hRegistration);
}
