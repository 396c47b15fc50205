/* Helpers shared by the WebSocket tests of the library
 * (tests/concurrency/test_websocket*.c): the pair of peers they talk to and
 * the checks both modes make the same way. */
#ifndef WH_WS_TEST_H
#define WH_WS_TEST_H

#include <winhttp.h>

#include "peers.h"

/* Starts the raw-frame server (wsserver.py) into |raw| and the reference
 * server (python3-websockets) into |ref|: 0, or -1 with neither running. */
int wh_ws_peers_start(struct wh_peer *raw, struct wh_peer *ref);
void wh_ws_peers_stop(struct wh_peer *raw, struct wh_peer *ref);

/* Asserts that WinHttpWebSocketQueryCloseStatus on |ws| succeeds with
 * |code| and the reason |reason| (NUL-terminated; "" for none). */
void wh_ws_expect_close_status(HINTERNET ws, USHORT code, const char *reason);

#endif
