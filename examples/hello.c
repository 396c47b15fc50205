/* The README's example: a Windows-style WinHTTP program, unchanged.
 * Cracks a URL, opens a session, a connection and a request, and reads the
 * request's headers back. (Sending arrives with the request engine.) */
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <winhttp.h>

int main(void)
{
  WCHAR host[256], path[1024], hdrs[2048];
  URL_COMPONENTS uc;
  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.lpszHostName = host; uc.dwHostNameLength = 256;
  uc.lpszUrlPath = path;  uc.dwUrlPathLength = 1024;
  if (!WinHttpCrackUrl(L"https://example.org:8443/docs/index.html", 0, 0, &uc))
    return fprintf(stderr, "CrackUrl: %u\n", GetLastError()), 1;

  HINTERNET s = WinHttpOpen(L"hello/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY,
                            WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
  HINTERNET c = WinHttpConnect(s, host, uc.nPort, 0);
  HINTERNET r = WinHttpOpenRequest(c, L"GET", path, NULL, WINHTTP_NO_REFERER,
                                   WINHTTP_DEFAULT_ACCEPT_TYPES, WINHTTP_FLAG_SECURE);
  WinHttpAddRequestHeaders(r, L"Accept: text/html\r\nX-Demo: 1", (DWORD)-1, WINHTTP_ADDREQ_FLAG_ADD);
  DWORD len = sizeof(hdrs);
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_RAW_HEADERS_CRLF | WINHTTP_QUERY_FLAG_REQUEST_HEADERS,
                           WINHTTP_HEADER_NAME_BY_INDEX, hdrs, &len, WINHTTP_NO_HEADER_INDEX))
    return fprintf(stderr, "QueryHeaders: %u\n", GetLastError()), 1;
  printf("host=%ls port=%u\n%ls", host, uc.nPort, hdrs);
  WinHttpCloseHandle(r); WinHttpCloseHandle(c); WinHttpCloseHandle(s);
  return 0;
}
