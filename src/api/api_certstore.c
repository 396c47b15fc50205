/* The crypt32 store functions of wincrypt.h: CertOpenStore (memory stores
 * only), CertOpenSystemStoreA/W (no system stores here), CertCloseStore,
 * CertCreateCertificateContext, CertAddEncodedCertificateToStore,
 * CertEnumCertificatesInStore, CertFindCertificateInStore and
 * CertGetCertificateContextProperty. Shims over core/certstore.h and
 * core/certfind.h: argument checks, WCHAR to UTF-8, the last error.
 * Errors are crypt32's (Microsoft's pages; Wine's crypt32 tests, which run
 * on Windows, for the cases the pages leave open). */
#include <stdint.h>
#include <string.h>

#include <wincrypt.h>

#include "api/api.h"
#include "core/cert.h"
#include "core/certfind.h"
#include "core/certstore.h"
#include "net/tlscred.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/utf.h"

#define E(hr) ((DWORD)(hr))

static BOOL fail(DWORD err)
{
  SetLastError(err);
  return FALSE;
}

static void *fail_null(DWORD err)
{
  SetLastError(err);
  return NULL;
}

/* A provider is a small integer cast to a pointer, or a name. */
static bool is_memory_provider(LPCSTR prov)
{
  if ((uintptr_t)prov <= 0xFFFF)
    return prov == CERT_STORE_PROV_MEMORY;
  return wh_casecmp_eqz(prov, strlen(prov), sz_CERT_STORE_PROV_MEMORY);
}

HCERTSTORE WINAPI CertOpenStore(LPCSTR lpszStoreProvider, DWORD dwEncodingType,
                                HCRYPTPROV_LEGACY hCryptProv, DWORD dwFlags, const void *pvPara)
{
  (void)dwEncodingType, (void)hCryptProv, (void)pvPara;
  /* Wine's testMemStore, on Windows: no provider is ERROR_FILE_NOT_FOUND,
   * and a memory store refuses CERT_STORE_DELETE_FLAG with
   * ERROR_CALL_NOT_IMPLEMENTED. */
  if (!lpszStoreProvider)
    return fail_null(ERROR_FILE_NOT_FOUND);
  if (!is_memory_provider(lpszStoreProvider) || (dwFlags & CERT_STORE_DELETE_FLAG))
    return fail_null(ERROR_CALL_NOT_IMPLEMENTED);
  struct wh_cert_store *s;
  DWORD err = wh_store_new(&s);
  return err == ERROR_SUCCESS ? (HCERTSTORE)s : fail_null(err);
}

/* Windows' system stores live in the registry; Linux has no equivalent a
 * library could honestly present as "MY" (docs/COMPAT.md). */
HCERTSTORE WINAPI CertOpenSystemStoreA(HCRYPTPROV_LEGACY hProv, LPCSTR szSubsystemProtocol)
{
  (void)hProv, (void)szSubsystemProtocol;
  return fail_null(ERROR_CALL_NOT_IMPLEMENTED);
}

HCERTSTORE WINAPI CertOpenSystemStoreW(HCRYPTPROV_LEGACY hProv, LPCWSTR szSubsystemProtocol)
{
  (void)hProv, (void)szSubsystemProtocol;
  return fail_null(ERROR_CALL_NOT_IMPLEMENTED);
}

BOOL WINAPI CertCloseStore(HCERTSTORE hCertStore, DWORD dwFlags)
{
  if (!hCertStore)
    return TRUE; /* Wine's testMemStore, on Windows */
  bool pending = false;
  DWORD err = wh_store_close(hCertStore, &pending);
  if (err != ERROR_SUCCESS)
    return fail(err);
  /* FORCE is treated as a plain close: contexts still referenced stay
   * valid rather than being freed under their owners. */
  if (pending && (dwFlags & CERT_CLOSE_STORE_CHECK_FLAG))
    return fail(E(CRYPT_E_PENDING_CLOSE));
  return TRUE;
}

PCCERT_CONTEXT WINAPI CertCreateCertificateContext(DWORD dwCertEncodingType,
                                                   const BYTE *pbCertEncoded, DWORD cbCertEncoded)
{
  if (!(dwCertEncodingType & X509_ASN_ENCODING))
    return fail_null(E(E_INVALIDARG));
  struct wh_tls_cred *cred;
  DWORD err = wh_tls_cred_from_der(pbCertEncoded, cbCertEncoded, &cred);
  if (err != ERROR_SUCCESS)
    return fail_null(err);
  PCCERT_CONTEXT ctx = wh_cert_context_from_cred(cred);
  wh_tls_cred_unref(cred);
  return ctx ? ctx : fail_null(ERROR_NOT_ENOUGH_MEMORY);
}

BOOL WINAPI CertAddEncodedCertificateToStore(HCERTSTORE hCertStore, DWORD dwCertEncodingType,
                                             const BYTE *pbCertEncoded, DWORD cbCertEncoded,
                                             DWORD dwAddDisposition, PCCERT_CONTEXT *ppCertContext)
{
  if (ppCertContext)
    *ppCertContext = NULL;
  if (!(dwCertEncodingType & X509_ASN_ENCODING) || dwAddDisposition < CERT_STORE_ADD_NEW ||
      dwAddDisposition > CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES)
    return fail(E(E_INVALIDARG));
  /* Replacing needs deletion from a store, which this subset leaves out. */
  if (dwAddDisposition != CERT_STORE_ADD_NEW && dwAddDisposition != CERT_STORE_ADD_USE_EXISTING &&
      dwAddDisposition != CERT_STORE_ADD_ALWAYS)
    return fail(ERROR_CALL_NOT_IMPLEMENTED);
  struct wh_cert_store *s = wh_store_grab(hCertStore);
  if (!s)
    return fail(ERROR_INVALID_HANDLE);
  struct wh_tls_cred *cred;
  DWORD err = wh_tls_cred_from_der(pbCertEncoded, cbCertEncoded, &cred);
  if (err == ERROR_SUCCESS) {
    PCCERT_CONTEXT same =
        dwAddDisposition == CERT_STORE_ADD_ALWAYS ? NULL : wh_store_find_same(s, cred);
    if (same && dwAddDisposition == CERT_STORE_ADD_NEW) {
      CertFreeCertificateContext(same);
      err = E(CRYPT_E_EXISTS);
    } else if (same && ppCertContext) {
      *ppCertContext = same;
    } else if (same) {
      CertFreeCertificateContext(same);
    } else {
      err = wh_store_add(s, cred, ppCertContext);
    }
    wh_tls_cred_unref(cred);
  }
  wh_store_put(s);
  return err == ERROR_SUCCESS ? TRUE : fail(err);
}

/* The next context of |query| after |prev|; |prev| is freed whatever the
 * outcome (Microsoft: "always freed by this function, even for an
 * error"). */
static PCCERT_CONTEXT next_of(HCERTSTORE h, const struct wh_cert_query *query, PCCERT_CONTEXT prev)
{
  if (prev && !wh_cert_context_valid(prev))
    return fail_null(E(E_INVALIDARG));
  struct wh_cert_store *s = wh_store_grab(h);
  if (!s) {
    CertFreeCertificateContext(prev);
    return fail_null(ERROR_INVALID_HANDLE);
  }
  PCCERT_CONTEXT out = NULL;
  DWORD err = wh_cert_find(s, query, prev, &out);
  wh_store_put(s);
  return err == ERROR_SUCCESS ? out : fail_null(err);
}

PCCERT_CONTEXT WINAPI CertEnumCertificatesInStore(HCERTSTORE hCertStore,
                                                  PCCERT_CONTEXT pPrevCertContext)
{
  struct wh_cert_query q = {.kind = WH_FIND_ANY};
  return next_of(hCertStore, &q, pPrevCertContext);
}

PCCERT_CONTEXT WINAPI CertFindCertificateInStore(HCERTSTORE hCertStore, DWORD dwCertEncodingType,
                                                 DWORD dwFindFlags, DWORD dwFindType,
                                                 const void *pvFindPara,
                                                 PCCERT_CONTEXT pPrevCertContext)
{
  (void)dwCertEncodingType, (void)dwFindFlags;
  struct wh_cert_query q = {.kind = WH_FIND_ANY};
  char *text = NULL;
  DWORD err = ERROR_SUCCESS;
  switch (dwFindType) {
  case CERT_FIND_ANY:
    break;
  case CERT_FIND_HAS_PRIVATE_KEY:
    q.kind = WH_FIND_HAS_KEY;
    break;
  case CERT_FIND_SHA1_HASH: {
    const CRYPT_HASH_BLOB *h = pvFindPara;
    q.kind = WH_FIND_SHA1;
    if (!h || (!h->pbData && h->cbData))
      err = E(E_INVALIDARG);
    else
      q.bytes = h->pbData, q.len = h->cbData;
    break;
  }
  case CERT_FIND_EXISTING: {
    PCCERT_CONTEXT c = pvFindPara;
    q.kind = WH_FIND_EXISTING;
    if (!c || !c->pbCertEncoded)
      err = E(E_INVALIDARG);
    else
      q.bytes = c->pbCertEncoded, q.len = c->cbCertEncoded;
    break;
  }
  case CERT_FIND_SUBJECT_STR_W:
  case CERT_FIND_ISSUER_STR_W:
    q.kind = dwFindType == CERT_FIND_SUBJECT_STR_W ? WH_FIND_SUBJECT_STR : WH_FIND_ISSUER_STR;
    if (!pvFindPara)
      err = E(E_INVALIDARG);
    else if (wh_utf8_from_wide(pvFindPara, (size_t)-1, &text, NULL) != 0)
      err = ERROR_NOT_ENOUGH_MEMORY;
    q.text = text;
    break;
  case CERT_FIND_SUBJECT_STR_A:
  case CERT_FIND_ISSUER_STR_A:
    /* The "ANSI" code page of a Linux process is UTF-8 (COMPAT.md). */
    q.kind = dwFindType == CERT_FIND_SUBJECT_STR_A ? WH_FIND_SUBJECT_STR : WH_FIND_ISSUER_STR;
    if (!pvFindPara)
      err = E(E_INVALIDARG);
    q.text = pvFindPara;
    break;
  default:
    /* Windows' other searches (names as blobs, key identifiers, usages,
     * issuer chains) are left out of this subset. */
    err = ERROR_CALL_NOT_IMPLEMENTED;
    break;
  }
  if (err != ERROR_SUCCESS) {
    CertFreeCertificateContext(pPrevCertContext);
    return fail_null(err);
  }
  PCCERT_CONTEXT out = next_of(hCertStore, &q, pPrevCertContext);
  wh_free(text);
  return out;
}

BOOL WINAPI CertGetCertificateContextProperty(PCCERT_CONTEXT pCertContext, DWORD dwPropId,
                                              void *pvData, DWORD *pcbData)
{
  if (!wh_cert_context_valid(pCertContext) || !pcbData)
    return fail(E(E_INVALIDARG));
  if (dwPropId != CERT_SHA1_HASH_PROP_ID && dwPropId != CERT_SHA256_HASH_PROP_ID)
    return fail(E(CRYPT_E_NOT_FOUND));
  bool sha256 = dwPropId == CERT_SHA256_HASH_PROP_ID;
  DWORD need = sha256 ? WH_SHA256_LEN : WH_SHA1_LEN;
  /* Microsoft: a NULL buffer asks for the size; a short one gets the size
   * and ERROR_MORE_DATA. */
  if (!pvData) {
    *pcbData = need;
    return TRUE;
  }
  if (*pcbData < need) {
    *pcbData = need;
    return fail(ERROR_MORE_DATA);
  }
  wh_tls_digest(pCertContext->pbCertEncoded, pCertContext->cbCertEncoded, sha256, pvData);
  *pcbData = need;
  return TRUE;
}
