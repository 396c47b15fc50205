/* TLS client identities as OpenSSL holds them: a certificate, its private
 * key when there is one, and the other certificates sent with it (its
 * chain). They are what the crypt32 subset's CERT_CONTEXTs carry
 * (core/cert.c) and what a TLS connection presents when the server asks
 * (net/tls.c). Immutable once made and reference-counted: a context and
 * the connections being set up with it share one. OpenSSL stays inside
 * this file and tls.c.
 *
 * Errors are Win32 codes as crypt32 reports them (wincrypt.h):
 * CRYPT_E_BAD_ENCODE for bytes that do not decode, ERROR_INVALID_PASSWORD
 * for a wrong password, ERROR_NOT_ENOUGH_MEMORY. */
#ifndef WH_NET_TLSCRED_H
#define WH_NET_TLSCRED_H

#include <stdbool.h>
#include <stddef.h>

#include <wincrypt.h>

struct wh_tls_cred;
struct ssl_st;

#define WH_SHA1_LEN 20
#define WH_SHA256_LEN 32

/* What an import produced, in the blob's order (the certificate with the
 * key first). The list owns one reference to each. */
struct wh_tls_cred_list {
  size_t n;
  struct wh_tls_cred **v;
};

/* A certificate without a key from its DER encoding. CRYPT_E_ASN1_BADTAG
 * when the bytes are not one whole certificate. */
DWORD wh_tls_cred_from_der(const unsigned char *der, size_t len, struct wh_tls_cred **out);

/* Whether |len| bytes at |p| decode as PKCS#12 (the password unchecked). */
bool wh_tls_is_pkcs12(const void *p, size_t len);
/* The certificates of a PKCS#12 blob; |password| is UTF-8 (NULL and ""
 * are both tried when either is given, for an unprotected blob). */
DWORD wh_tls_cred_import_pkcs12(const void *p, size_t len, const char *password,
                                struct wh_tls_cred_list *out);
/* The certificates of PEM text, the one matching the text's private key
 * (decrypted with |password|, UTF-8, when encrypted) carrying it.
 * CRYPT_E_NOT_FOUND: no certificate; NTE_BAD_KEY: a key that matches none. */
DWORD wh_tls_cred_import_pem(const void *p, size_t len, const char *password,
                             struct wh_tls_cred_list *out);
void wh_tls_cred_list_free(struct wh_tls_cred_list *l);

struct wh_tls_cred *wh_tls_cred_ref(struct wh_tls_cred *c);
/* Drops a reference; the last frees the key (OpenSSL clears it). */
void wh_tls_cred_unref(struct wh_tls_cred *c);

bool wh_tls_cred_has_key(const struct wh_tls_cred *c);
/* The certificate's DER, borrowed from |c|. */
const unsigned char *wh_tls_cred_der(const struct wh_tls_cred *c, size_t *len);
/* Digests of the DER (the SHA-1 is Windows' "thumbprint"); borrowed. */
const unsigned char *wh_tls_cred_sha1(const struct wh_tls_cred *c);
const unsigned char *wh_tls_cred_sha256(const struct wh_tls_cred *c);
/* The subject (or issuer) as CertNameToStr(CERT_SIMPLE_NAME_STR) writes
 * it: the attribute values in their encoded order, separated by ", ", a
 * value quoted when it holds a separator. UTF-8, the caller's to wh_free. */
DWORD wh_tls_cred_name(const struct wh_tls_cred *c, bool issuer, char **out);

/* The SHA-1 (|sha256| false, WH_SHA1_LEN bytes) or SHA-256 of |len| bytes
 * into |out|. */
void wh_tls_digest(const unsigned char *p, size_t len, bool sha256, unsigned char *out);

/* Makes |ssl| present |c| (certificate, key and chain) when the server
 * asks. ERROR_WINHTTP_CLIENT_CERT_NO_PRIVATE_KEY without a key. */
DWORD wh_tls_cred_use(const struct wh_tls_cred *c, struct ssl_st *ssl);

#endif
