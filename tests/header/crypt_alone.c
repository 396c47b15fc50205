/* <wincrypt.h> alone, with the Win32 helpers of winhttp.h left out
 * (WINHTTP_NO_WIN32_HELPERS): it still declares the context functions its
 * callers free with. */
#define WINHTTP_NO_WIN32_HELPERS
#include <wincrypt.h>

int crypt_alone_check(void);

int crypt_alone_check(void)
{
  PCCERT_CONTEXT c = CertDuplicateCertificateContext(NULL);
  return c == NULL && CertFreeCertificateContext(NULL) && CertCloseStore(NULL, 0);
}
