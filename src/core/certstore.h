/* In-memory certificate stores (HCERTSTORE): what PFXImportCertStore,
 * OwhPemImportCertStore and CertOpenStore(CERT_STORE_PROV_MEMORY) return,
 * and what CertEnumCertificatesInStore and CertFindCertificateInStore
 * walk.
 *
 * Lifetime follows Windows: closing the handle drops the store's own hold
 * on its certificates, but a context still referenced stays valid, and so
 * does the store memory its hCertStore points to, until the last such
 * context is freed. Every live handle is in a process-wide registry, so a
 * closed or foreign HCERTSTORE is refused (ERROR_INVALID_HANDLE) instead of
 * being dereferenced. */
#ifndef WH_CORE_CERTSTORE_H
#define WH_CORE_CERTSTORE_H

#include <stdbool.h>

#include <wincrypt.h>

struct wh_cert_store;
struct wh_tls_cred;

/* A new, empty, open store; its handle is (HCERTSTORE)store. */
DWORD wh_store_new(struct wh_cert_store **out);
/* The open store behind |h| with a reference for the caller
 * (wh_store_put), or NULL when |h| is no open store. */
struct wh_cert_store *wh_store_grab(HCERTSTORE h);
void wh_store_put(struct wh_cert_store *s);

/* Adds a context for |cred| at the end of the store. *added (when
 * non-NULL) gets a reference of its own. */
DWORD wh_store_add(struct wh_cert_store *s, struct wh_tls_cred *cred, PCCERT_CONTEXT *added);
/* The store's context with the same encoded certificate as |cred|, with a
 * reference for the caller, or NULL. */
PCCERT_CONTEXT wh_store_find_same(struct wh_cert_store *s, struct wh_tls_cred *cred);

/* A test of a context: 1 matches, 0 does not, or a (negated) error. Runs
 * under the store's lock: it must not call back into the store. */
typedef int (*wh_cert_match_fn)(PCCERT_CONTEXT ctx, const void *arg);

/* The first context after |prev| (from the start when NULL) that |match|
 * accepts, with a reference for the caller. |prev| is released whatever
 * the outcome (Windows frees it even on failure). CRYPT_E_NOT_FOUND when
 * none matches; E_INVALIDARG when |prev| is not this store's. */
DWORD wh_store_next(struct wh_cert_store *s, PCCERT_CONTEXT prev, wh_cert_match_fn match,
                    const void *arg, PCCERT_CONTEXT *out);

/* CertCloseStore: the handle stops working at once. *pending says whether
 * contexts are still referenced (the memory then lives until they are
 * freed). ERROR_INVALID_HANDLE for no open store. */
DWORD wh_store_close(HCERTSTORE h, bool *pending);

#endif
