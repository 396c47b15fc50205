/* The crypt32 subset of <wincrypt.h> and OpenWinHTTP's PEM import
 * (<winhttp_ext.h>), on the client certificates of tests/peers/gen-certs.sh:
 * PFXImportCertStore (good, wrong and empty passwords, damaged blobs),
 * CertFindCertificateInStore (subject and issuer substrings, case folded
 * beyond ASCII; SHA-1 thumbprints; private keys), enumeration, reference
 * counts across CertCloseStore (ASan checks that nothing leaks and that no
 * foreign or freed pointer is read), memory stores, properties, and every
 * allocation failing in turn. */
#include "wh_test.h"
#include "client_certs.h"
#include "peers.h"

#include <wincrypt.h>
#include <winhttp_ext.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/mem.h"

static char dir[256];

/* GetLastError as crypt32's HRESULT-valued codes are spelled. */
#define assert_last_hr(hr) assert_int_equal(GetLastError(), (DWORD)(hr))

static void *file(const char *name, size_t *len)
{
  void *p = wh_read_cert_file(dir, name, len);
  assert_non_null(p);
  return p;
}

static HCERTSTORE pfx(const char *name, const WCHAR *password)
{
  size_t len;
  BYTE *bytes = file(name, &len);
  CRYPT_DATA_BLOB blob = {(DWORD)len, bytes};
  HCERTSTORE s = PFXImportCertStore(&blob, password, 0);
  free(bytes);
  return s;
}

/* The PEM files' texts one after the other, through OwhPemImportCertStore. */
static HCERTSTORE pem(const char *a, const char *b, const char *c, const WCHAR *password)
{
  const char *names[] = {a, b, c};
  char *all = NULL;
  size_t total = 0;
  for (int i = 0; i < 3; i++) {
    if (!names[i])
      continue;
    size_t len;
    char *p = file(names[i], &len);
    all = realloc(all, total + len);
    assert_non_null(all);
    memcpy(all + total, p, len);
    total += len;
    free(p);
  }
  CRYPT_DATA_BLOB blob = {(DWORD)total, (BYTE *)all};
  HCERTSTORE s = OwhPemImportCertStore(&blob, password, 0);
  free(all);
  return s;
}

static size_t count(HCERTSTORE s)
{
  size_t n = 0;
  PCCERT_CONTEXT c = NULL;
  while ((c = CertEnumCertificatesInStore(s, c)))
    n++;
  assert_last_hr(CRYPT_E_NOT_FOUND);
  return n;
}

/* The DER of a PEM certificate file. */
static unsigned char *der_of(const char *name, int *len)
{
  char path[400];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(x);
  unsigned char *der = NULL;
  *len = i2d_X509(x, &der);
  X509_free(x);
  assert_true(*len > 0);
  return der;
}

static PCCERT_CONTEXT find_subject(HCERTSTORE s, const WCHAR *text, PCCERT_CONTEXT prev)
{
  return CertFindCertificateInStore(s, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, 0,
                                    CERT_FIND_SUBJECT_STR, text, prev);
}

/* --- PFXImportCertStore ---------------------------------------------------------------- */

static void test_pfx_import(void **state)
{
  (void)state;
  HCERTSTORE s = pfx("client.p12", L"p12-secret");
  assert_non_null(s);
  /* The leaf with its key, then the CA certificate the file carries. */
  assert_int_equal(count(s), 2);
  PCCERT_CONTEXT first = CertEnumCertificatesInStore(s, NULL);
  assert_non_null(first);
  assert_ptr_equal(first->hCertStore, s);
  assert_int_equal(first->dwCertEncodingType, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING);
  int len;
  unsigned char *der = der_of("client.pem", &len);
  assert_int_equal(first->cbCertEncoded, len);
  assert_memory_equal(first->pbCertEncoded, der, (size_t)len);
  OPENSSL_free(der);
  PCCERT_CONTEXT keyed =
      CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_HAS_PRIVATE_KEY, NULL, NULL);
  assert_ptr_equal(keyed, first);
  /* Only the leaf has one. */
  assert_null(CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_HAS_PRIVATE_KEY, NULL,
                                         keyed));
  assert_last_hr(CRYPT_E_NOT_FOUND);
  assert_true(CertFreeCertificateContext(first));
  assert_true(CertCloseStore(s, CERT_CLOSE_STORE_CHECK_FLAG));
}

static void test_pfx_passwords(void **state)
{
  (void)state;
  SetLastError(0);
  assert_null(pfx("client.p12", L"wrong"));
  assert_last_error(ERROR_INVALID_PASSWORD);
  assert_null(pfx("client.p12", NULL));
  assert_last_error(ERROR_INVALID_PASSWORD);
  assert_null(pfx("client.p12", L""));
  assert_last_error(ERROR_INVALID_PASSWORD);
  /* Made with an empty password: NULL and "" both open it. */
  HCERTSTORE s = pfx("client2.p12", NULL);
  assert_non_null(s);
  assert_int_equal(count(s), 1);
  assert_true(CertCloseStore(s, 0));
  s = pfx("client2.p12", L"");
  assert_non_null(s);
  assert_true(CertCloseStore(s, 0));
  assert_null(pfx("client2.p12", L"p12-secret"));
  assert_last_error(ERROR_INVALID_PASSWORD);
}

static void test_pfx_bad_input(void **state)
{
  (void)state;
  assert_null(PFXImportCertStore(NULL, L"x", 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  CRYPT_DATA_BLOB no_bytes = {5, NULL};
  assert_null(PFXImportCertStore(&no_bytes, L"x", 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  CRYPT_DATA_BLOB empty = {0, NULL};
  assert_null(PFXImportCertStore(&empty, L"x", 0));
  assert_last_hr(CRYPT_E_BAD_ENCODE);
  static const BYTE junk[] = "not a PFX at all";
  CRYPT_DATA_BLOB garbage = {sizeof(junk), (BYTE *)junk};
  BYTE *exact = wh_dup_exact(junk, sizeof(junk));
  garbage.pbData = exact;
  assert_null(PFXImportCertStore(&garbage, NULL, 0));
  assert_last_hr(CRYPT_E_BAD_ENCODE);
  assert_false(PFXIsPFXBlob(&garbage));
  free(exact);
  /* A PFX cut short, every length. */
  size_t len;
  BYTE *bytes = file("client.p12", &len);
  for (size_t n = 1; n < len; n += 97) {
    BYTE *cut = wh_dup_exact(bytes, n);
    CRYPT_DATA_BLOB blob = {(DWORD)n, cut};
    assert_null(PFXImportCertStore(&blob, L"p12-secret", 0));
    assert_false(PFXIsPFXBlob(&blob));
    free(cut);
  }
  CRYPT_DATA_BLOB whole = {(DWORD)len, bytes};
  assert_true(PFXIsPFXBlob(&whole));
  assert_false(PFXIsPFXBlob(NULL));
  free(bytes);
  /* PEM is not PKCS#12. */
  bytes = file("client.pem", &len);
  CRYPT_DATA_BLOB text = {(DWORD)len, bytes};
  assert_false(PFXIsPFXBlob(&text));
  free(bytes);
}

/* --- finding ------------------------------------------------------------------------- */

static void test_find_subject(void **state)
{
  (void)state;
  HCERTSTORE s = pfx("client.p12", L"p12-secret");
  assert_non_null(s);
  PCCERT_CONTEXT leaf = CertEnumCertificatesInStore(s, NULL);
  /* A case-insensitive substring of "US, OpenWinHTTP Tests, client1". */
  static const WCHAR *const hits[] = {
      L"client1", L"CLIENT1", L"OpenWinHTTP tests", L"US, OpenWinHTTP Tests, client1", L"",
  };
  for (size_t i = 0; i < sizeof(hits) / sizeof(hits[0]); i++) {
    PCCERT_CONTEXT c = find_subject(s, hits[i], NULL);
    assert_ptr_equal(c, leaf);
    assert_true(CertFreeCertificateContext(c));
  }
  static const WCHAR *const misses[] = {L"client2", L"CN=client1", L"Tests;", L"client1 "};
  for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
    SetLastError(0);
    assert_null(find_subject(s, misses[i], NULL));
    assert_last_hr(CRYPT_E_NOT_FOUND);
  }
  /* The narrow form (UTF-8 here). */
  PCCERT_CONTEXT c = CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_SUBJECT_STR_A,
                                                "Client1", NULL);
  assert_ptr_equal(c, leaf);
  assert_true(CertFreeCertificateContext(c));
  /* The issuer: the client CA issued both the leaf and (itself) the CA. */
  c = CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_ISSUER_STR,
                                 L"client ca", NULL);
  assert_ptr_equal(c, leaf);
  c = CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_ISSUER_STR, L"client ca", c);
  assert_non_null(c);
  assert_ptr_not_equal(c, leaf);
  assert_null(
      CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_ISSUER_STR, L"client ca", c));
  assert_last_hr(CRYPT_E_NOT_FOUND);
  /* No text: E_INVALIDARG. */
  assert_null(find_subject(s, NULL, NULL));
  assert_last_hr(E_INVALIDARG);
  assert_true(CertFreeCertificateContext(leaf));
  assert_true(CertCloseStore(s, CERT_CLOSE_STORE_CHECK_FLAG));
}

/* A self-signed certificate whose subject is |cn| (UTF-8), DER in *der. */
static int make_cert(const char *cn, unsigned char **der)
{
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  assert_non_null(key);
  assert_non_null(x);
  X509_NAME *name = X509_NAME_new();
  assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                         -1, 0));
  assert_true(X509_set_subject_name(x, name));
  assert_true(X509_set_issuer_name(x, name));
  assert_true(X509_set_pubkey(x, key));
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  assert_true(X509_sign(x, key, EVP_sha256()) > 0);
  *der = NULL;
  int len = i2d_X509(x, der);
  X509_NAME_free(name);
  X509_free(x);
  EVP_PKEY_free(key);
  return len;
}

static void test_find_folds_beyond_ascii(void **state)
{
  (void)state;
  HCERTSTORE s = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, 0, NULL);
  assert_non_null(s);
  unsigned char *der;
  int len = make_cert("\xC3\x89mile Zo\xC3\xAB \xD0\x96ukov", &der); /* "Émile Zoë Жukov" */
  assert_true(CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, (DWORD)len,
                                               CERT_STORE_ADD_ALWAYS, NULL));
  OPENSSL_free(der);
  static const WCHAR *const hits[] = {L"\u00e9mile", L"\u00c9MILE ZO\u00cb", L"\u0436ukov"};
  for (size_t i = 0; i < sizeof(hits) / sizeof(hits[0]); i++) {
    PCCERT_CONTEXT c = find_subject(s, hits[i], NULL);
    assert_non_null(c);
    assert_true(CertFreeCertificateContext(c));
  }
  assert_null(find_subject(s, L"emile", NULL));
  assert_last_hr(CRYPT_E_NOT_FOUND);
  assert_true(CertCloseStore(s, CERT_CLOSE_STORE_CHECK_FLAG));
}

static void test_find_hash_and_properties(void **state)
{
  (void)state;
  HCERTSTORE s = pfx("client.p12", L"p12-secret");
  assert_non_null(s);
  PCCERT_CONTEXT ca = CertEnumCertificatesInStore(s, CertEnumCertificatesInStore(s, NULL));
  assert_non_null(ca);
  BYTE sha1[20], sha256[32], want[32];
  DWORD size = 0;
  /* The size first, then too small, then right. */
  assert_true(CertGetCertificateContextProperty(ca, CERT_HASH_PROP_ID, NULL, &size));
  assert_int_equal(size, 20);
  size = 19;
  assert_false(CertGetCertificateContextProperty(ca, CERT_HASH_PROP_ID, sha1, &size));
  assert_last_error(ERROR_MORE_DATA);
  assert_int_equal(size, 20);
  assert_true(CertGetCertificateContextProperty(ca, CERT_SHA1_HASH_PROP_ID, sha1, &size));
  assert_true(EVP_Digest(ca->pbCertEncoded, ca->cbCertEncoded, want, NULL, EVP_sha1(), NULL));
  assert_memory_equal(sha1, want, 20);
  size = sizeof(sha256);
  assert_true(CertGetCertificateContextProperty(ca, CERT_SHA256_HASH_PROP_ID, sha256, &size));
  assert_int_equal(size, 32);
  assert_true(EVP_Digest(ca->pbCertEncoded, ca->cbCertEncoded, want, NULL, EVP_sha256(), NULL));
  assert_memory_equal(sha256, want, 32);
  assert_false(CertGetCertificateContextProperty(ca, CERT_FRIENDLY_NAME_PROP_ID, NULL, &size));
  assert_last_hr(CRYPT_E_NOT_FOUND);
  assert_false(CertGetCertificateContextProperty(ca, CERT_HASH_PROP_ID, sha1, NULL));
  assert_last_hr(E_INVALIDARG);
  /* The thumbprint finds it. */
  CRYPT_HASH_BLOB hash = {20, sha1};
  PCCERT_CONTEXT found = CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_HASH,
                                                    &hash, NULL);
  assert_ptr_equal(found, ca);
  sha1[0] ^= 1;
  assert_null(
      CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_SHA1_HASH, &hash, NULL));
  assert_last_hr(CRYPT_E_NOT_FOUND);
  assert_null(CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_HASH, NULL, NULL));
  assert_last_hr(E_INVALIDARG);
  /* CERT_FIND_EXISTING: the same encoded certificate, from any context. */
  PCCERT_CONTEXT bare =
      CertCreateCertificateContext(X509_ASN_ENCODING, ca->pbCertEncoded, ca->cbCertEncoded);
  assert_non_null(bare);
  assert_null(bare->hCertStore);
  PCCERT_CONTEXT same =
      CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_EXISTING, bare, NULL);
  assert_ptr_equal(same, ca);
  /* A search this subset leaves out; |prev| is freed all the same. */
  assert_null(CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_ISSUER_NAME, NULL,
                                         CertDuplicateCertificateContext(ca)));
  assert_last_error(ERROR_CALL_NOT_IMPLEMENTED);
  assert_true(CertFreeCertificateContext(same));
  assert_true(CertFreeCertificateContext(found));
  assert_true(CertFreeCertificateContext(bare));
  assert_true(CertFreeCertificateContext(ca));
  assert_true(CertCloseStore(s, CERT_CLOSE_STORE_CHECK_FLAG));
}

/* --- reference counts and lifetimes ------------------------------------------------- */

static void test_refcounts(void **state)
{
  (void)state;
  HCERTSTORE s = pfx("client.p12", L"p12-secret");
  assert_non_null(s);
  PCCERT_CONTEXT c = find_subject(s, L"client1", NULL);
  assert_non_null(c);
  assert_ptr_equal(CertDuplicateCertificateContext(c), c);
  /* Closing with contexts still referenced: the handle goes, they stay
   * (CHECK says so). */
  assert_false(CertCloseStore(s, CERT_CLOSE_STORE_CHECK_FLAG));
  assert_last_hr(CRYPT_E_PENDING_CLOSE);
  assert_ptr_equal(c->hCertStore, s);
  BYTE sha1[20];
  DWORD size = sizeof(sha1);
  assert_true(CertGetCertificateContextProperty(c, CERT_HASH_PROP_ID, sha1, &size));
  /* The handle no longer works. */
  assert_null(CertEnumCertificatesInStore(s, NULL));
  assert_last_error(ERROR_INVALID_HANDLE);
  assert_false(CertCloseStore(s, 0));
  assert_last_error(ERROR_INVALID_HANDLE);
  assert_true(CertFreeCertificateContext(c));
  assert_true(CertFreeCertificateContext(c)); /* the last: the store's memory goes too */
  /* Freed: refused, and never read (ASan). */
  assert_false(CertFreeCertificateContext(c));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_null(CertDuplicateCertificateContext(c));
  assert_true(CertFreeCertificateContext(NULL));
  assert_true(CertCloseStore(NULL, 0));
  /* A CERT_CONTEXT of the caller's own is not ours to free. */
  CERT_CONTEXT mine;
  memset(&mine, 0, sizeof(mine));
  CERT_CONTEXT *heap = wh_dup_exact(&mine, sizeof(mine));
  assert_false(CertFreeCertificateContext(heap));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_null(CertDuplicateCertificateContext(heap));
  assert_null(CertEnumCertificatesInStore(s, heap));
  free(heap);
  /* A foreign store handle. */
  int not_a_store;
  assert_null(CertEnumCertificatesInStore(&not_a_store, NULL));
  assert_last_error(ERROR_INVALID_HANDLE);
}

/* Enumeration frees the previous context; one kept by the caller
 * survives the store's close and is the caller's to free. */
static void test_enum_frees_prev(void **state)
{
  (void)state;
  HCERTSTORE s = pfx("client.p12", L"p12-secret");
  assert_non_null(s);
  PCCERT_CONTEXT first = CertEnumCertificatesInStore(s, NULL);
  PCCERT_CONTEXT kept = CertDuplicateCertificateContext(first);
  PCCERT_CONTEXT second = CertEnumCertificatesInStore(s, first); /* frees |first| once */
  assert_non_null(second);
  assert_null(CertEnumCertificatesInStore(s, second)); /* frees |second| */
  assert_last_hr(CRYPT_E_NOT_FOUND);
  assert_true(CertCloseStore(s, 0));
  assert_true(CertFreeCertificateContext(kept));
  assert_false(CertFreeCertificateContext(kept));
}

/* --- memory stores -------------------------------------------------------------------- */

static void test_memory_store(void **state)
{
  (void)state;
  /* Wine's testMemStore, on Windows. */
  assert_null(CertOpenStore(NULL, 0, 0, 0, NULL));
  assert_last_error(ERROR_FILE_NOT_FOUND);
  assert_null(CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, CERT_STORE_DELETE_FLAG, NULL));
  assert_last_error(ERROR_CALL_NOT_IMPLEMENTED);
  assert_null(CertOpenStore(CERT_STORE_PROV_SYSTEM, 0, 0, CERT_SYSTEM_STORE_CURRENT_USER, L"MY"));
  assert_last_error(ERROR_CALL_NOT_IMPLEMENTED);
  assert_null(CertOpenSystemStoreW(0, L"MY"));
  assert_last_error(ERROR_CALL_NOT_IMPLEMENTED);
  assert_null(CertOpenSystemStoreA(0, "MY"));
  assert_last_error(ERROR_CALL_NOT_IMPLEMENTED);
  HCERTSTORE named = CertOpenStore("memory", 0, 0, 0, NULL);
  assert_non_null(named);
  assert_true(CertCloseStore(named, CERT_CLOSE_STORE_CHECK_FLAG));

  HCERTSTORE s = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, CERT_STORE_CREATE_NEW_FLAG, NULL);
  assert_non_null(s);
  assert_int_equal(count(s), 0);
  int len;
  unsigned char *der = der_of("client.pem", &len);
  PCCERT_CONTEXT added = NULL;
  assert_true(CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, (DWORD)len,
                                               CERT_STORE_ADD_ALWAYS, &added));
  assert_non_null(added);
  assert_ptr_equal(added->hCertStore, s);
  assert_memory_equal(added->pbCertEncoded, der, (size_t)len);
  PCCERT_CONTEXT other = (PCCERT_CONTEXT)1;
  assert_false(CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, (DWORD)len,
                                                CERT_STORE_ADD_NEW, &other));
  assert_last_hr(CRYPT_E_EXISTS);
  assert_null(other);
  assert_true(CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, (DWORD)len,
                                               CERT_STORE_ADD_USE_EXISTING, &other));
  assert_ptr_equal(other, added);
  assert_true(CertFreeCertificateContext(other));
  assert_int_equal(count(s), 1);
  assert_true(CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, (DWORD)len,
                                               CERT_STORE_ADD_ALWAYS, NULL));
  assert_int_equal(count(s), 2);
  /* No key came with the DER. */
  assert_null(
      CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_HAS_PRIVATE_KEY, NULL, NULL));
  /* Bad arguments. */
  assert_false(CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, (DWORD)len, 0, NULL));
  assert_last_hr(E_INVALIDARG);
  assert_false(CertAddEncodedCertificateToStore(s, 0, der, (DWORD)len, CERT_STORE_ADD_ALWAYS,
                                                NULL));
  assert_last_hr(E_INVALIDARG);
  assert_false(CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, (DWORD)len,
                                                CERT_STORE_ADD_REPLACE_EXISTING, NULL));
  assert_last_error(ERROR_CALL_NOT_IMPLEMENTED);
  assert_false(CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, (DWORD)len - 1,
                                                CERT_STORE_ADD_ALWAYS, NULL));
  assert_last_hr(CRYPT_E_ASN1_BADTAG);
  assert_false(CertAddEncodedCertificateToStore(NULL, X509_ASN_ENCODING, der, (DWORD)len,
                                                CERT_STORE_ADD_ALWAYS, NULL));
  assert_last_error(ERROR_INVALID_HANDLE);
  assert_null(CertCreateCertificateContext(X509_ASN_ENCODING, der, 10));
  assert_last_hr(CRYPT_E_ASN1_BADTAG);
  assert_null(CertCreateCertificateContext(X509_ASN_ENCODING, NULL, 0));
  assert_last_hr(CRYPT_E_ASN1_BADTAG);
  assert_null(CertCreateCertificateContext(0, der, (DWORD)len));
  assert_last_hr(E_INVALIDARG);
  OPENSSL_free(der);
  assert_true(CertFreeCertificateContext(added));
  assert_true(CertCloseStore(s, CERT_CLOSE_STORE_CHECK_FLAG));
}

/* --- PEM (winhttp_ext.h) -------------------------------------------------------------- */

static void test_pem_import(void **state)
{
  (void)state;
  /* A certificate, its CA, and the key encrypted. */
  HCERTSTORE s = pem("client.pem", "client-ca.pem", "client-enc.key", L"pem-secret");
  assert_non_null(s);
  assert_int_equal(count(s), 2);
  PCCERT_CONTEXT c =
      CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_HAS_PRIVATE_KEY, NULL, NULL);
  assert_non_null(c);
  assert_ptr_equal(c, find_subject(s, L"client1", NULL));
  assert_true(CertFreeCertificateContext(c));
  assert_true(CertFreeCertificateContext(c));
  assert_true(CertCloseStore(s, CERT_CLOSE_STORE_CHECK_FLAG));
  /* The key first, in the clear. */
  s = pem("client.key", "client.pem", NULL, NULL);
  assert_non_null(s);
  c = CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_HAS_PRIVATE_KEY, NULL, NULL);
  assert_non_null(c);
  assert_true(CertFreeCertificateContext(c));
  assert_true(CertCloseStore(s, CERT_CLOSE_STORE_CHECK_FLAG));
  /* A certificate alone: no key. */
  s = pem("client.pem", NULL, NULL, NULL);
  assert_non_null(s);
  assert_null(
      CertFindCertificateInStore(s, X509_ASN_ENCODING, 0, CERT_FIND_HAS_PRIVATE_KEY, NULL, NULL));
  assert_true(CertCloseStore(s, CERT_CLOSE_STORE_CHECK_FLAG));
}

static void test_pem_errors(void **state)
{
  (void)state;
  assert_null(pem("client.pem", "client-enc.key", NULL, L"wrong"));
  assert_last_error(ERROR_INVALID_PASSWORD);
  assert_null(pem("client.pem", "client-enc.key", NULL, NULL));
  assert_last_error(ERROR_INVALID_PASSWORD);
  assert_null(pem("client.pem", "client2.key", NULL, NULL));
  assert_last_hr(NTE_BAD_KEY);
  assert_null(pem("client.key", NULL, NULL, NULL));
  assert_last_hr(CRYPT_E_NOT_FOUND);
  static const char text[] = "hello, no PEM here\n";
  CRYPT_DATA_BLOB blob = {sizeof(text) - 1, (BYTE *)text};
  assert_null(OwhPemImportCertStore(&blob, NULL, 0));
  assert_last_hr(CRYPT_E_NOT_FOUND);
  static const char broken[] =
      "-----BEGIN CERTIFICATE-----\n@@@@ not base64 @@@@\n-----END CERTIFICATE-----\n";
  CRYPT_DATA_BLOB bad = {sizeof(broken) - 1, (BYTE *)broken};
  assert_null(OwhPemImportCertStore(&bad, NULL, 0));
  assert_last_hr(CRYPT_E_BAD_ENCODE);
  assert_null(OwhPemImportCertStore(&blob, NULL, 1));
  assert_last_hr(E_INVALIDARG);
  assert_null(OwhPemImportCertStore(NULL, NULL, 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
}

/* --- out of memory --------------------------------------------------------------------- */

/* Every allocation of an import and a search, failing in turn: each run
 * ends in success or ERROR_NOT_ENOUGH_MEMORY, and leaks nothing (ASan).
 * (OpenSSL's own allocations do not go through the hook.) */
static void oom_run(const BYTE *p12, size_t len, DWORD *err)
{
  CRYPT_DATA_BLOB blob = {(DWORD)len, (BYTE *)p12};
  *err = ERROR_SUCCESS;
  HCERTSTORE s = PFXImportCertStore(&blob, L"p12-secret", 0);
  if (!s) {
    *err = GetLastError();
    return;
  }
  PCCERT_CONTEXT c = find_subject(s, L"CLIENT1", NULL);
  if (!c)
    *err = GetLastError();
  CertFreeCertificateContext(c);
  CertCloseStore(s, 0);
}

static void test_out_of_memory(void **state)
{
  (void)state;
  size_t len;
  BYTE *p12 = file("client.p12", &len);
  DWORD err;
  wh_mem_fail_after(LONG_MAX);
  oom_run(p12, len, &err);
  long allocs = wh_mem_fail_allowed();
  wh_mem_fail_reset();
  assert_int_equal(err, ERROR_SUCCESS);
  assert_true(allocs > 3);
  for (long n = 0; n < allocs; n++) {
    for (int once = 0; once < 2; once++) {
      if (once)
        wh_mem_fail_once(n);
      else
        wh_mem_fail_after(n);
      oom_run(p12, len, &err);
      wh_mem_fail_reset();
      if (err != ERROR_SUCCESS && err != ERROR_NOT_ENOUGH_MEMORY)
        print_error("allocation %ld (%s): error 0x%x\n", n, once ? "once" : "after",
                    (unsigned)err);
      assert_true(err == ERROR_SUCCESS || err == ERROR_NOT_ENOUGH_MEMORY);
    }
  }
  free(p12);
}

static int setup(void **state)
{
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/wh-crypt32-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  return wh_peer_gen_certs(dir);
}

static int teardown(void **state)
{
  (void)state;
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[600];
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.')
        continue;
      snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pfx_import),
    cmocka_unit_test(test_pfx_passwords),
    cmocka_unit_test(test_pfx_bad_input),
    cmocka_unit_test(test_find_subject),
    cmocka_unit_test(test_find_folds_beyond_ascii),
    cmocka_unit_test(test_find_hash_and_properties),
    cmocka_unit_test(test_refcounts),
    cmocka_unit_test(test_enum_frees_prev),
    cmocka_unit_test(test_memory_store),
    cmocka_unit_test(test_pem_import),
    cmocka_unit_test(test_pem_errors),
    cmocka_unit_test(test_out_of_memory),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("crypt32", tests, setup, teardown);
}
