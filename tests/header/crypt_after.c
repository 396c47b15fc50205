/* <winhttp.h>, then <wincrypt.h> and <winhttp_ext.h>: the other order. */
#include <winhttp.h>
#include <wincrypt.h>
#include <winhttp_ext.h>

int crypt_after_check(void);

int crypt_after_check(void)
{
  CRYPT_DATA_BLOB pem = {0, NULL};
  HCERTSTORE store = OwhPemImportCertStore(&pem, NULL, 0);
  PCCERT_CONTEXT none = WINHTTP_NO_CLIENT_CERT_CONTEXT;
  return !store && GetLastError() == (DWORD)CRYPT_E_NOT_FOUND && !none &&
         CertOpenSystemStoreW(0, L"MY") == NULL &&
         GetLastError() == ERROR_CALL_NOT_IMPLEMENTED &&
         WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST == 94;
}
