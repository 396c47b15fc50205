/* PFXImportCertStore, PFXIsPFXBlob (wincrypt.h) and OpenWinHTTP's
 * OwhPemImportCertStore (winhttp_ext.h): certificates and a private key
 * from PKCS#12 or PEM bytes into a memory store (core/certstore.h). The
 * decoding is net/tlscred.c's; this file converts the WCHAR password and
 * reports errors through the last error, as crypt32 does. */
#include <wincrypt.h>
#include <winhttp_ext.h>

#include "api/api.h"
#include "core/certstore.h"
#include "core/settings.h"
#include "net/tlscred.h"
#include "util/utf.h"

typedef DWORD (*import_fn)(const void *p, size_t len, const char *password,
                           struct wh_tls_cred_list *out);

/* The store holding what |import| decodes from |blob|. The password's UTF-8
 * copy is wiped when done. */
static HCERTSTORE import_store(import_fn import, CRYPT_DATA_BLOB *blob, LPCWSTR password)
{
  if (!blob || (!blob->pbData && blob->cbData)) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return NULL;
  }
  char *pass = NULL;
  if (password && wh_utf8_from_wide(password, (size_t)-1, &pass, NULL) != 0) {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return NULL;
  }
  struct wh_tls_cred_list list;
  DWORD err = import(blob->pbData, blob->cbData, pass, &list);
  wh_secret_free(pass);
  struct wh_cert_store *s = NULL;
  if (err == ERROR_SUCCESS)
    err = wh_store_new(&s);
  for (size_t i = 0; err == ERROR_SUCCESS && i < list.n; i++)
    err = wh_store_add(s, list.v[i], NULL);
  wh_tls_cred_list_free(&list); /* the store's contexts hold their own references */
  if (err != ERROR_SUCCESS) {
    if (s) {
      bool pending;
      wh_store_close((HCERTSTORE)s, &pending);
    }
    SetLastError(err);
    return NULL;
  }
  return (HCERTSTORE)s;
}

HCERTSTORE WINAPI PFXImportCertStore(CRYPT_DATA_BLOB *pPFX, LPCWSTR szPassword, DWORD dwFlags)
{
  /* Every flag concerns where Windows persists the keys; here a key lives
   * in memory with its context (wincrypt.h). */
  (void)dwFlags;
  return import_store(wh_tls_cred_import_pkcs12, pPFX, szPassword);
}

BOOL WINAPI PFXIsPFXBlob(CRYPT_DATA_BLOB *pPFX)
{
  return pPFX && pPFX->pbData && wh_tls_is_pkcs12(pPFX->pbData, pPFX->cbData);
}

HCERTSTORE WINAPI OwhPemImportCertStore(CRYPT_DATA_BLOB *pPem, LPCWSTR szPassword, DWORD dwFlags)
{
  if (dwFlags) {
    SetLastError((DWORD)E_INVALIDARG);
    return NULL;
  }
  return import_store(wh_tls_cred_import_pem, pPem, szPassword);
}
