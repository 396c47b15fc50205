/* Reference-counted CERT_CONTEXT values: the form in which WinHTTP hands
 * certificates to its callers (WINHTTP_OPTION_SERVER_CERT_CONTEXT) and takes
 * them (WINHTTP_OPTION_CLIENT_CERT_CONTEXT), and which the crypt32 subset
 * (wincrypt.h) makes and finds in stores (core/certstore.h).
 * CertDuplicateCertificateContext and CertFreeCertificateContext manage
 * them; only contexts made here are accepted, anything else is refused
 * rather than freed. */
#ifndef WH_CORE_CERT_H
#define WH_CORE_CERT_H

#include <stddef.h>

#include <wincrypt.h>

struct wh_tls_cred;

/* A standalone context holding a copy of the |len| DER bytes at |der|, with
 * one reference and no parsed certificate (a server's, for the caller to
 * look at). NULL when out of memory or |len| does not fit a DWORD. */
PCCERT_CONTEXT wh_cert_context_new(const unsigned char *der, size_t len);
/* A standalone context for |cred| (a reference of its own is taken), with
 * one reference. NULL when out of memory. */
PCCERT_CONTEXT wh_cert_context_from_cred(struct wh_tls_cred *cred);

/* Whether |ctx| was made here and is still alive (looked up by address;
 * a foreign or freed pointer is never read). */
int wh_cert_context_valid(PCCERT_CONTEXT ctx);

/* The identity behind a valid context (borrowed: lives as long as the
 * context); NULL for a DER-only one, which has no private key. */
struct wh_tls_cred *wh_cert_context_cred(PCCERT_CONTEXT ctx);

#endif
