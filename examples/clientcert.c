/*
 * clientcert: the client-certificate flow of Microsoft's "SSL in WinHTTP"
 * page, as a Windows program writes it, on OpenWinHTTP:
 *
 *   1. send the request; the server asks for a certificate and
 *      WinHttpSendRequest (or WinHttpReceiveResponse) fails with
 *      ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED;
 *   2. WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST tells which certification
 *      authorities the server accepts (a SecPkgContext_IssuerListInfoEx the
 *      program frees with GlobalFree);
 *   3. the certificate is found with crypt32 (CertFindCertificateInStore
 *      with CERT_FIND_SUBJECT_STR) and set with
 *      WINHTTP_OPTION_CLIENT_CERT_CONTEXT; the program frees its context and
 *      closes the store at once (WinHTTP keeps a duplicate);
 *   4. the same request is sent again, and the response printed.
 *
 * The one change a Linux port needs: Windows' sample opens the "MY" system
 * store, which does not exist here, so the store comes from a PKCS#12 file
 * with PFXImportCertStore (docs/PORTING.md). Giving "-" as the subject
 * answers with WINHTTP_NO_CLIENT_CERT_CONTEXT instead.
 *
 * Usage: clientcert HOST PORT PATH PFX_FILE PASSWORD SUBJECT
 * Prints the issuers' count, then the status and the body; exit status 1 on
 * failure.
 */
#include <wincrypt.h>
#include <winhttp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* argv is bytes on Linux; the names and paths here are ASCII. */
static WCHAR *widen(const char *s)
{
  size_t n = strlen(s);
  WCHAR *w = malloc((n + 1) * sizeof(WCHAR));
  if (w) {
    for (size_t i = 0; i <= n; i++)
      w[i] = (WCHAR)(unsigned char)s[i];
  }
  return w;
}

/* Step 3: the certificate from the PKCS#12 file, set on the request. */
static BOOL SetClientCertificate(HINTERNET hRequest, const char *pfxFile, const WCHAR *password,
                                 const WCHAR *subject)
{
  if (wcscmp(subject, L"-") == 0)
    return WinHttpSetOption(hRequest, WINHTTP_OPTION_CLIENT_CERT_CONTEXT,
                            WINHTTP_NO_CLIENT_CERT_CONTEXT, 0);
  FILE *f = fopen(pfxFile, "rb");
  if (!f)
    return FALSE;
  static BYTE bytes[1 << 16];
  size_t size = fread(bytes, 1, sizeof(bytes), f);
  fclose(f);
  CRYPT_DATA_BLOB pfx = {(DWORD)size, bytes};
  HCERTSTORE hStore = PFXImportCertStore(&pfx, password, 0);
  BOOL fRet = FALSE;
  if (hStore) {
    PCCERT_CONTEXT pCertContext =
        CertFindCertificateInStore(hStore, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, 0,
                                   CERT_FIND_SUBJECT_STR, (LPVOID)subject, NULL);
    if (pCertContext) {
      fRet = WinHttpSetOption(hRequest, WINHTTP_OPTION_CLIENT_CERT_CONTEXT,
                              (LPVOID)pCertContext, sizeof(CERT_CONTEXT));
      CertFreeCertificateContext(pCertContext);
    }
    CertCloseStore(hStore, 0);
  }
  return fRet;
}

/* Step 2, as Microsoft's GetIssuerList sample does it. */
static void PrintIssuerList(HINTERNET hRequest)
{
  SecPkgContext_IssuerListInfoEx *pIssuerList = NULL;
  DWORD dwBufferSize = sizeof(SecPkgContext_IssuerListInfoEx *);
  if (WinHttpQueryOption(hRequest, WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST, &pIssuerList,
                         &dwBufferSize) == TRUE) {
    printf("issuers: %u\n", (unsigned)pIssuerList->cIssuers);
    GlobalFree(pIssuerList);
  }
}

int main(int argc, char **argv)
{
  if (argc != 7) {
    fprintf(stderr, "usage: clientcert HOST PORT PATH PFX_FILE PASSWORD SUBJECT\n");
    return 2;
  }
  WCHAR *host = widen(argv[1]), *path = widen(argv[3]), *password = widen(argv[5]),
        *subject = widen(argv[6]);
  HINTERNET hSession = NULL, hConnect = NULL, hRequest = NULL;
  BOOL bResults = FALSE;
  if (host && path && password && subject)
    hSession = WinHttpOpen(L"clientcert/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY,
                           WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
  if (hSession)
    hConnect = WinHttpConnect(hSession, host, (INTERNET_PORT)atoi(argv[2]), 0);
  if (hConnect)
    hRequest = WinHttpOpenRequest(hConnect, L"GET", path, NULL, WINHTTP_NO_REFERER,
                                  WINHTTP_DEFAULT_ACCEPT_TYPES, WINHTTP_FLAG_SECURE);
  /* Steps 1 and 4: at most one answer to the server's question. */
  for (int attempt = 0; hRequest && attempt < 2 && !bResults; attempt++) {
    bResults = WinHttpSendRequest(hRequest, WINHTTP_NO_ADDITIONAL_HEADERS, 0,
                                  WINHTTP_NO_REQUEST_DATA, 0, 0, 0) &&
               WinHttpReceiveResponse(hRequest, NULL);
    if (!bResults && GetLastError() == ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED && attempt == 0) {
      PrintIssuerList(hRequest);
      if (!SetClientCertificate(hRequest, argv[4], password, subject))
        break;
      /* NOTE: the application now sends the request again. */
    }
  }
  if (bResults) {
    DWORD dwStatus = 0, dwSize = sizeof(dwStatus);
    WinHttpQueryHeaders(hRequest, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                        WINHTTP_HEADER_NAME_BY_INDEX, &dwStatus, &dwSize,
                        WINHTTP_NO_HEADER_INDEX);
    printf("status: %u\n", (unsigned)dwStatus);
    char buf[4096];
    DWORD dwRead = 0;
    while (WinHttpReadData(hRequest, buf, sizeof(buf), &dwRead) && dwRead)
      fwrite(buf, 1, dwRead, stdout);
  } else {
    printf("Error %u has occurred.\n", (unsigned)GetLastError());
  }
  if (hRequest)
    WinHttpCloseHandle(hRequest);
  if (hConnect)
    WinHttpCloseHandle(hConnect);
  if (hSession)
    WinHttpCloseHandle(hSession);
  free(host);
  free(path);
  free(password);
  free(subject);
  return bResults ? 0 : 1;
}
