/* NTLM and Negotiate through GSSAPI (issue 10): the security contexts of
 * the connection-based schemes, one per request and target.
 *
 * Negotiate is SPNEGO (RFC 4559) over MIT Kerberos; NTLM is the gss-ntlmssp
 * mechanism (NTLMv2: its default LM compatibility level is 3). Both come
 * from the system's GSSAPI library, so the user's own identity is theirs:
 * the Kerberos ticket cache (KRB5CCNAME) for Negotiate, NTLM_USER_FILE for
 * gss-ntlmssp. An explicit user and password acquire credentials with
 * gss_acquire_cred_with_password instead.
 *
 * The target is the service principal "HTTP@host" (host-based service),
 * which is what Windows asks for as "HTTP/host". Nothing here reads the
 * socket; obtaining a Kerberos service ticket may talk to the KDC inside
 * the GSSAPI library (cached afterwards, per credential cache). */
#ifndef WH_CORE_GSS_AUTH_H
#define WH_CORE_GSS_AUTH_H

#include <stddef.h>

#include <winhttp.h>

struct wh_gss;

/* Starts a context for |scheme| (WINHTTP_AUTH_SCHEME_NEGOTIATE or _NTLM)
 * toward the service on |host| (the SPN's host part, with ":port" when the
 * SPN option asks for it). |user| NULL means the default credentials;
 * "DOMAIN\user" is accepted as Windows writes it. On success *out is the
 * first header value, "Negotiate <base64>" or "NTLM <base64>" (free with
 * wh_secret_free). Errors: ERROR_WINHTTP_LOGIN_FAILURE (no credentials,
 * the mechanism refused), ERROR_CALL_NOT_IMPLEMENTED (the mechanism is not
 * installed: gss-ntlmssp for NTLM), ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_gss_start(DWORD scheme, const char *host, const char *user, const char *pass,
                   struct wh_gss **ctx, char **out);

/* Continues with the server's token (the base64 after the scheme name, as
 * received). *out is the next header value, or NULL when the context is
 * complete and nothing more needs sending. Errors:
 * ERROR_WINHTTP_LOGIN_FAILURE (a bad or refused token),
 * ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_gss_step(struct wh_gss *ctx, const char *token, size_t len, char **out);

/* Frees the context and its credentials (the acquired password credentials
 * are released; tokens are wiped). NULL is fine. */
void wh_gss_free(struct wh_gss *ctx);

#endif
