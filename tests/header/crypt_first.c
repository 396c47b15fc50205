/* <wincrypt.h> before <winhttp.h>: the crypt32 subset's types and
 * functions, and the ones both headers share (CERT_CONTEXT, the blobs),
 * defined once whichever comes first. Called by use_header.c's main. */
#include <wincrypt.h>
#include <winhttp.h>

#include <string.h>

int crypt_first_check(void);

int crypt_first_check(void)
{
  /* Microsoft's sample, up to the point where a PFX file would be read. */
  CRYPT_DATA_BLOB pfx;
  memset(&pfx, 0, sizeof(pfx));
  HCERTSTORE store = PFXImportCertStore(&pfx, L"password", 0);
  if (store || GetLastError() != (DWORD)CRYPT_E_BAD_ENCODE)
    return 0;
  store = CertOpenStore(CERT_STORE_PROV_MEMORY, X509_ASN_ENCODING, 0, 0, NULL);
  PCCERT_CONTEXT cert = CertFindCertificateInStore(store, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING,
                                                   0, CERT_FIND_SUBJECT_STR, L"client", NULL);
  int ok = store && !cert && GetLastError() == (DWORD)CRYPT_E_NOT_FOUND;
  CertFreeCertificateContext(cert);
  CertCloseStore(store, 0);
  SecPkgContext_IssuerListInfoEx list;
  memset(&list, 0, sizeof(list));
  CERT_NAME_BLOB *names = list.aIssuers;
  return ok && names == NULL && sizeof(CERT_CONTEXT) > sizeof(DWORD) &&
         CERT_FIND_SUBJECT_STR == 0x00080007 && CERT_FIND_HASH == 0x00010000;
}
