/* Reference-counted CERT_CONTEXT values, the form in which WinHTTP hands
 * certificates to its callers (WINHTTP_OPTION_SERVER_CERT_CONTEXT) and
 * which they release with CertFreeCertificateContext. Only contexts made
 * here are accepted by the release functions; anything else is refused
 * rather than freed. */
#ifndef WH_CORE_CERT_H
#define WH_CORE_CERT_H

#include <stddef.h>

#include <winhttp.h>

/* A new context holding a copy of the |len| DER bytes at |der|, with one
 * reference. NULL when out of memory or |len| does not fit a DWORD. */
PCCERT_CONTEXT wh_cert_context_new(const unsigned char *der, size_t len);

/* Whether |ctx| was made by wh_cert_context_new and is still alive. */
int wh_cert_context_valid(PCCERT_CONTEXT ctx);

#endif
