/* Microsoft's autoproxy sample, ported: the example code of "WinHTTP
 * AutoProxy Functions" (the page WinHttpGetProxyForUrl's documentation
 * points to for its use). It asks WPAD for a proxy for the URL
 * (WinHttpGetProxyForUrl with WINHTTP_AUTOPROXY_AUTO_DETECT), sets the proxy
 * on the request if one was found, and otherwise ignores the error and sends
 * the request directly, through the WINHTTP_ACCESS_TYPE_NO_PROXY session.
 *
 * Three changes from the original: the URL comes from the command line
 * instead of http://www.microsoft.com/ms.htm; a PAC URL may follow it, used
 * (WINHTTP_AUTOPROXY_CONFIG_URL) in place of auto-detection, the case the
 * sample's comment mentions ("because the Proxy Auto-Config URL is not
 * known"); and the part the original leaves out ("process the response")
 * writes the status to stderr and the body to stdout. The structure, the
 * calls and their order are the sample's: on a network without WPAD,
 * WinHttpGetProxyForUrl fails with ERROR_WINHTTP_AUTODETECTION_FAILED and
 * the program connects directly, as on Windows; with a PAC script, it uses
 * the proxy the script names.
 *
 *   autoproxy URL [PAC-URL]   exit status 0 when the response was a 200 and
 *                             its body was written out, 1 otherwise
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <winhttp.h>

int main(int argc, char **argv)
{
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: autoproxy URL [PAC-URL]\n");
    return 2;
  }
  setlocale(LC_CTYPE, ""); /* the URL argument and %ls output in the user's encoding */
  WCHAR url[2048], pac[2048];
  if (mbstowcs(url, argv[1], sizeof(url) / sizeof(url[0])) >= sizeof(url) / sizeof(url[0]) ||
      (argc == 3 &&
       mbstowcs(pac, argv[2], sizeof(pac) / sizeof(pac[0])) >= sizeof(pac) / sizeof(pac[0]))) {
    fprintf(stderr, "autoproxy: bad or too long URL\n");
    return 2;
  }

  HINTERNET hHttpSession = NULL;
  HINTERNET hConnect = NULL;
  HINTERNET hRequest = NULL;
  WINHTTP_AUTOPROXY_OPTIONS AutoProxyOptions;
  WINHTTP_PROXY_INFO ProxyInfo;
  DWORD cbProxyInfoSize = sizeof(ProxyInfo);
  DWORD status = 0, size = sizeof(status);
  int ok = 0;

  memset(&AutoProxyOptions, 0, sizeof(AutoProxyOptions));
  memset(&ProxyInfo, 0, sizeof(ProxyInfo));

  /* The sample hard-codes its host and path; here they come from the URL. */
  WCHAR host[256], path[2048];
  URL_COMPONENTS uc;
  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.lpszHostName = host;
  uc.dwHostNameLength = sizeof(host) / sizeof(host[0]);
  uc.lpszUrlPath = path;
  uc.dwUrlPathLength = sizeof(path) / sizeof(path[0]);
  if (!WinHttpCrackUrl(url, 0, 0, &uc)) {
    fprintf(stderr, "autoproxy: WinHttpCrackUrl failed: %u\n", GetLastError());
    return 1;
  }

  /* Create the session. Requests go directly to the server by default. */
  hHttpSession = WinHttpOpen(L"WinHTTP AutoProxy Sample/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY,
                             WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
  if (!hHttpSession)
    goto Exit;

  /* Create the connect handle. */
  hConnect = WinHttpConnect(hHttpSession, host, uc.nPort, 0);
  if (!hConnect)
    goto Exit;

  /* Create the request handle. */
  hRequest = WinHttpOpenRequest(hConnect, L"GET", path, L"HTTP/1.1", WINHTTP_NO_REFERER,
                                WINHTTP_DEFAULT_ACCEPT_TYPES,
                                uc.nScheme == INTERNET_SCHEME_HTTPS ? WINHTTP_FLAG_SECURE : 0);
  if (!hRequest)
    goto Exit;

  /* Auto-detect the PAC file when its URL is not known, with DHCP and DNS;
   * send the domain credentials if fetching the script asks for them. */
  if (argc == 3) {
    AutoProxyOptions.dwFlags = WINHTTP_AUTOPROXY_CONFIG_URL;
    AutoProxyOptions.lpszAutoConfigUrl = pac;
  } else {
    AutoProxyOptions.dwFlags = WINHTTP_AUTOPROXY_AUTO_DETECT;
    AutoProxyOptions.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DHCP | WINHTTP_AUTO_DETECT_TYPE_DNS_A;
  }
  AutoProxyOptions.fAutoLogonIfChallenged = TRUE;

  /* If auto-proxy finds a proxy, set it on the request. If it fails, ignore
   * the error and send the request directly, with the NO_PROXY
   * configuration the request inherited from the session. */
  if (WinHttpGetProxyForUrl(hHttpSession, url, &AutoProxyOptions, &ProxyInfo)) {
    fprintf(stderr, "autoproxy: using proxy %ls\n", ProxyInfo.lpszProxy ? ProxyInfo.lpszProxy : L"(none)");
    if (!WinHttpSetOption(hRequest, WINHTTP_OPTION_PROXY, &ProxyInfo, cbProxyInfoSize))
      goto Exit;
  } else {
    fprintf(stderr, "autoproxy: no proxy found (error %u), connecting directly\n", GetLastError());
  }

  /* Send the request and wait for the response. */
  if (!WinHttpSendRequest(hRequest, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0,
                          0, 0))
    goto Exit;
  if (!WinHttpReceiveResponse(hRequest, NULL))
    goto Exit;

  /* Process the response (the part the sample omits). */
  if (!WinHttpQueryHeaders(hRequest, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                           WINHTTP_HEADER_NAME_BY_INDEX, &status, &size, WINHTTP_NO_HEADER_INDEX))
    goto Exit;
  fprintf(stderr, "autoproxy: HTTP status %u\n", status);
  for (;;) {
    char buf[16384];
    DWORD got = 0;
    if (!WinHttpReadData(hRequest, buf, sizeof(buf), &got))
      goto Exit;
    if (got == 0)
      break;
    if (fwrite(buf, 1, got, stdout) != got)
      goto Exit;
  }
  ok = status == 200 && fflush(stdout) == 0;

Exit:
  if (!ok && GetLastError() != ERROR_SUCCESS)
    fprintf(stderr, "autoproxy: failed: error %u\n", GetLastError());

  /* Clean up the WINHTTP_PROXY_INFO strings. */
  if (ProxyInfo.lpszProxy != NULL)
    GlobalFree(ProxyInfo.lpszProxy);
  if (ProxyInfo.lpszProxyBypass != NULL)
    GlobalFree(ProxyInfo.lpszProxyBypass);

  /* Close the handles. */
  if (hRequest != NULL)
    WinHttpCloseHandle(hRequest);
  if (hConnect != NULL)
    WinHttpCloseHandle(hConnect);
  if (hHttpSession != NULL)
    WinHttpCloseHandle(hHttpSession);
  return ok ? 0 : 1;
}
