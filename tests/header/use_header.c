/* Compiled as C11 and as C++17 with -Wall -Wextra -Werror: the public header
 * alone, used the way Windows code uses it (L"..." literals, the WINHTTP_NO_*
 * macros), and linked against the shared library; with it, <wincrypt.h> and
 * <winhttp_ext.h> in either order (crypt_*.c). */
#include <winhttp.h>

#include <stdio.h>
#include <string.h>

int after_wchar_check(void);
int crypt_first_check(void);
int crypt_after_check(void);
int crypt_alone_check(void);

int main(void)
{
  URL_COMPONENTS uc;
  memset(&uc, 0, sizeof(uc)); /* ZeroMemory; g++ -Wextra flags `= {0}` */
  WCHAR host[64];
  uc.dwStructSize = sizeof(uc);
  uc.lpszHostName = host;
  uc.dwHostNameLength = sizeof(host) / sizeof(host[0]);
  if (!WinHttpCrackUrl(L"https://example.com:8443/a?b=c", 0, 0, &uc))
    return 1;
  if (uc.nPort != 8443 || uc.nScheme != INTERNET_SCHEME_HTTPS)
    return 2;
  HINTERNET s = WinHttpOpen(L"header-test/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY,
                            WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
  if (!s)
    return 3;
  HINTERNET c = WinHttpConnect(s, host, uc.nPort, 0);
  HINTERNET r = c ? WinHttpOpenRequest(c, L"GET", L"/", NULL, WINHTTP_NO_REFERER,
                                       WINHTTP_DEFAULT_ACCEPT_TYPES, WINHTTP_FLAG_SECURE)
                  : NULL;
  int ok = r != NULL && GetLastError() == ERROR_SUCCESS;
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  if (!ok || !after_wchar_check())
    return 4;
  if (!crypt_first_check() || !crypt_after_check() || !crypt_alone_check())
    return 5;
  printf("ok\n");
  return 0;
}
