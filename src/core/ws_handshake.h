/* The client side of the WebSocket opening handshake (RFC 6455 §4.1): the
 * headers a request marked with WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET sends,
 * and the checks its 101 answer must pass before
 * WinHttpWebSocketCompleteUpgrade hands the connection over.
 *
 * The key is 16 bytes from OpenSSL's CSPRNG, base64-encoded (§4.1 item 7);
 * the answer must carry base64(SHA-1(key + the RFC's GUID)) (§4.2.2). */
#ifndef WH_CORE_WS_HANDSHAKE_H
#define WH_CORE_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include <winhttp.h>

#include "proto/h1.h"
#include "proto/headers.h"
#include "proto/ws_deflate.h"

/* A base64-encoded 16-byte key: 24 characters and a NUL. */
#define WH_WS_KEY_LEN 24
/* A base64-encoded SHA-1: 28 characters and a NUL. */
#define WH_WS_ACCEPT_LEN 28

/* Makes a fresh key into |key| (NUL-terminated). ERROR_NOT_ENOUGH_MEMORY
 * or ERROR_WINHTTP_INTERNAL_ERROR when the CSPRNG fails. */
DWORD wh_ws_new_key(char key[WH_WS_KEY_LEN + 1]);

/* The Sec-WebSocket-Accept value |key| calls for (NUL-terminated). */
void wh_ws_accept_for(const char *key, char accept[WH_WS_ACCEPT_LEN + 1]);

/* Adds the upgrade's headers to the request headers |h| for a send with
 * |key|: Upgrade, Connection: Upgrade and Sec-WebSocket-Key (replacing any,
 * so every send has its own key), Sec-WebSocket-Version: 13 unless the
 * application set one, and Sec-WebSocket-Extensions with our
 * permessage-deflate offer when |deflate| (winhttp_ext.h flags) asks for
 * it. */
DWORD wh_ws_add_request_headers(struct wh_headers *h, const char *key, DWORD deflate);

/* Whether |resp|, the answer to a request with |key|, the request headers
 * |req| and the deflate offer |deflate| (winhttp_ext.h flags), completes
 * the handshake (§4.2.2, §4.1 "the client MUST fail the WebSocket
 * Connection" items): status 101, "Upgrade: websocket", "upgrade" among
 * the Connection tokens, the right Sec-WebSocket-Accept, no extension but
 * an answer to our permessage-deflate offer (then |*deflated| and
 * |*params|), and a Sec-WebSocket-Protocol only if it is one the
 * application offered. ERROR_SUCCESS, or
 * ERROR_WINHTTP_INVALID_SERVER_RESPONSE. */
DWORD wh_ws_check_response(const struct wh_resp_head *resp, const struct wh_headers *req,
                           const char *key, DWORD deflate, bool *deflated,
                           struct wh_ws_deflate_params *params);

#endif
