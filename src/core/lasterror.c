/* GetLastError/SetLastError: a thread-local value, as on Windows. */
#include <winhttp.h>

static _Thread_local DWORD last_error;

DWORD WINAPI GetLastError(void)
{
  return last_error;
}

void WINAPI SetLastError(DWORD err)
{
  last_error = err;
}
