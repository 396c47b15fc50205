/* see tlscred.h */
#include "net/tlscred.h"

#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "util/buf.h"
#include "util/mem.h"

/* crypt32's error codes are HRESULTs (negative LONGs); GetLastError and the
 * engine carry DWORDs. */
#define E(hr) ((DWORD)(hr))

struct wh_tls_cred {
  atomic_uint refs;
  X509 *cert;
  EVP_PKEY *key;          /* NULL: certificate only */
  STACK_OF(X509) *chain;  /* sent after the certificate; NULL: none */
  unsigned char sha1[WH_SHA1_LEN];
  unsigned char sha256[WH_SHA256_LEN];
  size_t der_len;
  unsigned char der[];
};

/* A new identity holding references of its own to |cert|, |key| and the
 * certificates of |chain| (any may be NULL but |cert|). */
static DWORD cred_new(X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain,
                      struct wh_tls_cred **out)
{
  int n = i2d_X509(cert, NULL);
  if (n <= 0) {
    ERR_clear_error();
    return E(CRYPT_E_BAD_ENCODE);
  }
  struct wh_tls_cred *c = wh_malloc(sizeof(*c) + (size_t)n);
  if (!c)
    return ERROR_NOT_ENOUGH_MEMORY;
  unsigned char *q = c->der;
  i2d_X509(cert, &q);
  c->der_len = (size_t)n;
  if (!EVP_Digest(c->der, c->der_len, c->sha1, NULL, EVP_sha1(), NULL) ||
      !EVP_Digest(c->der, c->der_len, c->sha256, NULL, EVP_sha256(), NULL)) {
    ERR_clear_error();
    wh_free(c);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  c->chain = NULL;
  if (chain && sk_X509_num(chain) > 0 && !(c->chain = X509_chain_up_ref(chain))) {
    wh_free(c);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  atomic_init(&c->refs, 1);
  X509_up_ref(cert);
  c->cert = cert;
  if (key)
    EVP_PKEY_up_ref(key);
  c->key = key;
  *out = c;
  return ERROR_SUCCESS;
}

struct wh_tls_cred *wh_tls_cred_ref(struct wh_tls_cred *c)
{
  if (c)
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  return c;
}

void wh_tls_cred_unref(struct wh_tls_cred *c)
{
  if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  X509_free(c->cert);
  EVP_PKEY_free(c->key); /* OpenSSL clears private key material as it frees it */
  sk_X509_pop_free(c->chain, X509_free);
  wh_free(c);
}

bool wh_tls_cred_has_key(const struct wh_tls_cred *c)
{
  return c->key != NULL;
}

const unsigned char *wh_tls_cred_der(const struct wh_tls_cred *c, size_t *len)
{
  *len = c->der_len;
  return c->der;
}

const unsigned char *wh_tls_cred_sha1(const struct wh_tls_cred *c)
{
  return c->sha1;
}

const unsigned char *wh_tls_cred_sha256(const struct wh_tls_cred *c)
{
  return c->sha256;
}

DWORD wh_tls_cred_from_der(const unsigned char *der, size_t len, struct wh_tls_cred **out)
{
  *out = NULL;
  if (!der || len == 0 || len > LONG_MAX)
    return E(CRYPT_E_ASN1_BADTAG);
  const unsigned char *p = der;
  X509 *x = d2i_X509(NULL, &p, (long)len);
  /* One whole certificate, nothing after it. */
  if (!x || (size_t)(p - der) != len) {
    X509_free(x);
    ERR_clear_error();
    return E(CRYPT_E_ASN1_BADTAG);
  }
  DWORD err = cred_new(x, NULL, NULL, out);
  X509_free(x);
  return err;
}

/* --- imports ---------------------------------------------------------------------- */

static DWORD list_push(struct wh_tls_cred_list *l, struct wh_tls_cred *c)
{
  struct wh_tls_cred **v = wh_realloc(l->v, (l->n + 1) * sizeof(*v));
  if (!v) {
    wh_tls_cred_unref(c);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  v[l->n++] = c;
  l->v = v;
  return ERROR_SUCCESS;
}

void wh_tls_cred_list_free(struct wh_tls_cred_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    wh_tls_cred_unref(l->v[i]);
  wh_free(l->v);
  l->v = NULL;
  l->n = 0;
}

/* The list an import yields: |leaf| with |key| and the |others| as its
 * chain first (when there is a leaf), then each of |others| alone. */
static DWORD build_list(X509 *leaf, EVP_PKEY *key, STACK_OF(X509) *others,
                        struct wh_tls_cred_list *out)
{
  DWORD err = ERROR_SUCCESS;
  struct wh_tls_cred *c = NULL;
  if (leaf) {
    err = cred_new(leaf, key, others, &c);
    if (err == ERROR_SUCCESS)
      err = list_push(out, c);
  }
  for (int i = 0; err == ERROR_SUCCESS && i < sk_X509_num(others); i++) {
    err = cred_new(sk_X509_value(others, i), NULL, NULL, &c);
    if (err == ERROR_SUCCESS)
      err = list_push(out, c);
  }
  if (err != ERROR_SUCCESS)
    wh_tls_cred_list_free(out);
  return err;
}

bool wh_tls_is_pkcs12(const void *p, size_t len)
{
  if (!p || len == 0 || len > LONG_MAX)
    return false;
  const unsigned char *q = p;
  PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)len);
  ERR_clear_error();
  PKCS12_free(p12);
  return p12 != NULL;
}

DWORD wh_tls_cred_import_pkcs12(const void *p, size_t len, const char *password,
                                struct wh_tls_cred_list *out)
{
  memset(out, 0, sizeof(*out));
  if (!p || len == 0 || len > LONG_MAX)
    return E(CRYPT_E_BAD_ENCODE);
  const unsigned char *q = p;
  PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)len);
  if (!p12) {
    ERR_clear_error();
    return E(CRYPT_E_BAD_ENCODE);
  }
  /* The MAC tells a wrong password from damaged data. An unprotected blob
   * may have been made with no password or an empty one, which encode
   * differently: both are tried, as OpenSSL's PKCS12_parse does. */
  const char *pass = password;
  bool mac = PKCS12_mac_present(p12);
  bool pass_ok = true;
  if (mac && pass && *pass)
    pass_ok = PKCS12_verify_mac(p12, pass, -1) == 1;
  else if (mac && PKCS12_verify_mac(p12, NULL, 0) == 1)
    pass = NULL;
  else if (mac && PKCS12_verify_mac(p12, "", 0) == 1)
    pass = "";
  else if (mac)
    pass_ok = false;
  ERR_clear_error();
  if (!pass_ok) {
    PKCS12_free(p12);
    return ERROR_INVALID_PASSWORD;
  }
  EVP_PKEY *key = NULL;
  X509 *leaf = NULL;
  STACK_OF(X509) *others = NULL;
  int parsed = PKCS12_parse(p12, pass, &key, &leaf, &others);
  ERR_clear_error();
  PKCS12_free(p12);
  DWORD err;
  if (!parsed) {
    /* The password passed the MAC, so the contents could not be
     * decrypted or decoded (an algorithm this OpenSSL does not offer, such
     * as RC2 without the legacy provider). Without a MAC, the password is
     * the likely culprit. */
    err = mac ? E(CRYPT_E_BAD_ENCODE) : ERROR_INVALID_PASSWORD;
  } else {
    err = build_list(leaf, leaf ? key : NULL, others, out);
  }
  X509_free(leaf);
  EVP_PKEY_free(key);
  sk_X509_pop_free(others, X509_free);
  return err;
}

/* OpenSSL asks for a PEM key's password through a callback; without one it
 * would prompt on the terminal. No password: the decryption fails. */
static int pem_password(char *buf, int size, int rwflag, void *u)
{
  (void)rwflag;
  const char *pw = u;
  size_t n = pw ? strlen(pw) : 0;
  if (!pw || size <= 0 || n > (size_t)size)
    return 0;
  memcpy(buf, pw, n);
  return (int)n;
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The PEM blocks of the text: certificates decoded into |certs|; whether
 * there is a private key and whether it is encrypted. */
static DWORD pem_scan(const void *p, size_t len, STACK_OF(X509) *certs, bool *key,
                      bool *encrypted)
{
  BIO *bio = BIO_new_mem_buf(p, (int)len);
  if (!bio)
    return ERROR_NOT_ENOUGH_MEMORY;
  DWORD err = ERROR_SUCCESS;
  for (;;) {
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
      /* The end of the text, or a block that does not decode. */
      unsigned long e = ERR_peek_last_error();
      if (!(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
        err = E(CRYPT_E_BAD_ENCODE);
      break;
    }
    if (strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0) {
      const unsigned char *q = data;
      X509 *x = d2i_X509(NULL, &q, dlen);
      if (!x)
        err = E(CRYPT_E_BAD_ENCODE);
      else if (!sk_X509_push(certs, x)) {
        X509_free(x);
        err = ERROR_NOT_ENOUGH_MEMORY;
      }
    } else if (ends_with(name, "PRIVATE KEY")) {
      *key = true;
      if (strstr(name, "ENCRYPTED") || (header && strstr(header, "ENCRYPTED")))
        *encrypted = true;
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (err != ERROR_SUCCESS)
      break;
  }
  ERR_clear_error();
  BIO_free(bio);
  return err;
}

DWORD wh_tls_cred_import_pem(const void *p, size_t len, const char *password,
                             struct wh_tls_cred_list *out)
{
  memset(out, 0, sizeof(*out));
  if (!p || len == 0 || len > INT_MAX)
    return E(CRYPT_E_NOT_FOUND);
  STACK_OF(X509) *certs = sk_X509_new_null();
  if (!certs)
    return ERROR_NOT_ENOUGH_MEMORY;
  bool has_key = false, encrypted = false;
  EVP_PKEY *key = NULL;
  X509 *leaf = NULL;
  DWORD err = pem_scan(p, len, certs, &has_key, &encrypted);
  if (err == ERROR_SUCCESS && sk_X509_num(certs) == 0)
    err = E(CRYPT_E_NOT_FOUND);
  if (err == ERROR_SUCCESS && has_key) {
    BIO *bio = BIO_new_mem_buf(p, (int)len);
    key = bio ? PEM_read_bio_PrivateKey(bio, NULL, pem_password, (void *)password) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!key)
      err = !bio ? ERROR_NOT_ENOUGH_MEMORY
            : encrypted ? ERROR_INVALID_PASSWORD
                        : E(CRYPT_E_BAD_ENCODE);
  }
  if (err == ERROR_SUCCESS && key) {
    /* The key goes with the certificate of its public key; the others
     * become its chain. */
    for (int i = 0; i < sk_X509_num(certs) && !leaf; i++) {
      if (X509_check_private_key(sk_X509_value(certs, i), key) == 1)
        leaf = sk_X509_delete(certs, i);
    }
    ERR_clear_error();
    if (!leaf)
      err = E(NTE_BAD_KEY);
  }
  if (err == ERROR_SUCCESS)
    err = build_list(leaf, key, certs, out);
  X509_free(leaf);
  EVP_PKEY_free(key);
  sk_X509_pop_free(certs, X509_free);
  return err;
}

/* --- names ----------------------------------------------------------------------- */

/* CertNameToStr quotes a value that holds one of its separators or
 * starts or ends with white space, doubling the quotes inside. */
static bool needs_quotes(const unsigned char *s, int n)
{
  if (n == 0)
    return false;
  if (s[0] == ' ' || s[n - 1] == ' ')
    return true;
  for (int i = 0; i < n; i++)
    if (s[i] != '\0' && strchr(",+=\"\n<>#;", s[i]))
      return true;
  return false;
}

static int add_value(struct wh_buf *b, const unsigned char *s, int n)
{
  if (!needs_quotes(s, n))
    return wh_buf_add(b, s, (size_t)n);
  int rc = wh_buf_addc(b, '"');
  for (int i = 0; i < n && !rc; i++)
    rc = s[i] == '"' ? wh_buf_add(b, "\"\"", 2) : wh_buf_addc(b, (char)s[i]);
  return rc ? rc : wh_buf_addc(b, '"');
}

DWORD wh_tls_cred_name(const struct wh_tls_cred *c, bool issuer, char **out)
{
  const X509_NAME *name = issuer ? X509_get_issuer_name(c->cert) : X509_get_subject_name(c->cert);
  struct wh_buf b;
  wh_buf_init(&b, 1u << 20);
  int rc = 0, last_set = -1;
  for (int i = 0; i < X509_NAME_entry_count(name) && !rc; i++) {
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (n < 0) {
      ERR_clear_error();
      continue;
    }
    /* Attributes of one relative name are joined with " + ". */
    int set = X509_NAME_ENTRY_set(e);
    if (b.len)
      rc = wh_buf_adds(&b, set == last_set ? " + " : ", ");
    last_set = set;
    if (!rc)
      rc = add_value(&b, utf8, n);
    OPENSSL_free(utf8);
  }
  size_t len;
  *out = rc ? NULL : wh_buf_take(&b, &len);
  wh_buf_free(&b);
  return *out ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
}

void wh_tls_digest(const unsigned char *p, size_t len, bool sha256, unsigned char *out)
{
  if (!EVP_Digest(p, len, out, NULL, sha256 ? EVP_sha256() : EVP_sha1(), NULL)) {
    /* Only an OpenSSL without the digest (a FIPS build refusing SHA-1)
     * gets here: zeros match no certificate. */
    ERR_clear_error();
    memset(out, 0, sha256 ? WH_SHA256_LEN : WH_SHA1_LEN);
  }
}

/* --- presenting it ------------------------------------------------------------------ */

DWORD wh_tls_cred_use(const struct wh_tls_cred *c, struct ssl_st *ssl)
{
  if (!c->key)
    return ERROR_WINHTTP_CLIENT_CERT_NO_PRIVATE_KEY;
  /* Each takes a reference of its own: the identity may go before the
   * connection does. */
  bool ok = SSL_use_certificate(ssl, c->cert) == 1 && SSL_use_PrivateKey(ssl, c->key) == 1;
  for (int i = 0; ok && i < sk_X509_num(c->chain); i++)
    ok = SSL_add1_chain_cert(ssl, sk_X509_value(c->chain, i)) == 1;
  ERR_clear_error();
  return ok ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
}
