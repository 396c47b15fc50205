/* The header must also compile after <wchar.h> (and the C library headers a
 * Windows program typically includes first). */
#include <wchar.h>
#include <stdlib.h>
#include <string.h>
#include <winhttp.h>

int after_wchar_check(void);

int after_wchar_check(void)
{
  SYSTEMTIME st;
  memset(&st, 0, sizeof(st));
  return WinHttpTimeToSystemTime(L"Mon, 28 Jul 2008 10:05:52 GMT", &st) && st.wYear == 2008 &&
         wcslen(L"abc") == 3 && sizeof(WCHAR) == sizeof(wchar_t) && sizeof(DWORD) == 4;
}
