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
 *  - NTLM, Negotiate and Passport are not implemented yet:
 *    WinHttpSetCredentials refuses them with ERROR_CALL_NOT_IMPLEMENTED,
 *    and a challenge offering only them is left to the application. */
#ifndef WH_CORE_CREDENTIALS_H
#define WH_CORE_CREDENTIALS_H

#include <stdbool.h>

#include <winhttp.h>

struct wh_request;
struct wh_io;

enum { WH_CRED_SERVER = 0, WH_CRED_PROXY = 1 };

/* At WinHttpSendRequest: which targets get Basic credentials from the
 * start (those WinHttpSetCredentials gave with BASIC). */
void wh_cred_send_begins(struct wh_request *r);

/* The "Authorization" (SERVER) or "Proxy-Authorization" (PROXY) value to
 * send now for |method| |request_target| (what the request line carries:
 * Digest signs it), "Basic ..." or "Digest ..." (free with
 * wh_secret_free), or NULL. For the server, only when the exchange targets
 * the request's own origin. Takes the request's lock. ERROR_SUCCESS or
 * ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_cred_header(struct wh_request *r, int target, const char *method,
                     const char *request_target, char **value);

/* After a final response head: a 401 or 407 that offers Digest (preferred)
 * or Basic, answered with credentials the request has and has not sent
 * yet, makes the request go again (*again true; the exchange is prepared
 * anew). A Digest refusal with stale=true (the nonce expired) is answered
 * once more with the new nonce, without asking the application. */
DWORD wh_cred_maybe_resend(struct wh_request *r, struct wh_io *io, bool *again);

#endif
