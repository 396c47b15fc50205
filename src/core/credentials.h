/* Credentials on requests (issue 10, first part: Basic and Digest): what
 * WinHttpSetCredentials and the USERNAME/PASSWORD and PROXY_USERNAME/
 * PROXY_PASSWORD options make the engine send.
 *
 *  - WinHttpSetCredentials(..., WINHTTP_AUTH_SCHEME_BASIC, ...) sends the
 *    credentials with the next send, before any challenge (Basic needs no
 *    round trip).
 *  - Credentials given by the options alone are sent when a 401 (or a 407
 *    for the proxy ones) offers Basic: the request goes again, once,
 *    automatically, as Windows answers a challenge for credentials set
 *    beforehand. A second refusal is the application's to see.
 *  - Server credentials go only to the request's own origin (never to
 *    another after a redirect); proxy credentials only to the proxy
 *    (absolute-form requests, and the CONNECT of a tunnel).
 *  - Digest (RFC 7616: MD5, MD5-sess, SHA-256, SHA-256-sess, qop=auth,
 *    policy/digest.h) answers the server's challenge: never before one.
 *  - NTLM and Negotiate run through GSSAPI (core/gss_auth.h): a handshake
 *    of one or more legs on one HTTP/1.1 connection. Passport is not
 *    implemented: WinHttpSetCredentials refuses it with
 *    ERROR_CALL_NOT_IMPLEMENTED. */
#ifndef WH_CORE_CREDENTIALS_H
#define WH_CORE_CREDENTIALS_H

#include <stdbool.h>

#include <winhttp.h>

struct wh_request;
struct wh_io;

enum { WH_CRED_SERVER = 0, WH_CRED_PROXY = 1 };

/* NTLM and Negotiate: schemes that authenticate the connection. */
bool wh_cred_conn_based(DWORD scheme);

/* At WinHttpSendRequest: which targets get Basic credentials from the
 * start (those WinHttpSetCredentials gave with BASIC). */
void wh_cred_send_begins(struct wh_request *r);

/* The "Authorization" (SERVER) or "Proxy-Authorization" (PROXY) value to
 * send now for |method| |request_target| (what the request line carries:
 * Digest signs it), "Basic ..." or "Digest ..." (free with
 * wh_secret_free), or NULL. For the server, only when the exchange targets
 * the request's own origin. Takes the request's lock. ERROR_SUCCESS or
 * ERROR_NOT_ENOUGH_MEMORY. With |io| (a step that may wait: a proxy's
 * CONNECT), an asynchronous request starts Negotiate on a worker thread
 * (core/gss_job.h) and gets ERROR_IO_PENDING until it is done; without,
 * the Kerberos library is called here. */
DWORD wh_cred_header(struct wh_request *r, int target, const char *method,
                     const char *request_target, char **value, struct wh_io *io);

/* After a final response head: a 401 or 407 that can be answered makes
 * the request go again.
 *  - A handshake in progress (NTLM, Negotiate) continues with the token of
 *    the server's challenge; a challenge without one ends it.
 *  - Otherwise the strongest scheme offered that the request can answer:
 *    Negotiate, NTLM (with its credentials, or the user's own identity
 *    where WINHTTP_OPTION_AUTOLOGON_POLICY allows it), Digest, Basic.
 *  - A Digest refusal with stale=true (the nonce expired) is answered once
 *    more with the new nonce, without asking the application.
 * When the refusal's body is still to be read, x->auth_drain is set and
 * the exchange reads it, then calls wh_cred_resend (the next leg of a
 * handshake must go on the same connection); otherwise the request is
 * prepared anew at once and *again is true. Errors:
 * ERROR_WINHTTP_LOGIN_FAILURE (the server's token was refused by the
 * mechanism), ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_cred_maybe_resend(struct wh_request *r, struct wh_io *io, bool *again);

/* Sends the request again after a refusal (its body drained): on the same
 * connection when it is still open, otherwise on a new one. */
DWORD wh_cred_resend(struct wh_request *r, struct wh_io *io);

#endif
