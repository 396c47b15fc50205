/* see ws_test.h */
#include "ws_test.h"

#include "wh_test.h"

#include <string.h>

int wh_ws_peers_start(struct wh_peer *raw, struct wh_peer *ref)
{
  if (wh_peer_start_ws(raw) != 0)
    return -1;
  if (wh_peer_start_ws_ref(ref) != 0) {
    /* cmocka runs no group teardown after a failed setup. */
    wh_peer_stop(raw);
    return -1;
  }
  return 0;
}

void wh_ws_peers_stop(struct wh_peer *raw, struct wh_peer *ref)
{
  wh_peer_stop(raw);
  wh_peer_stop(ref);
}

void wh_ws_expect_close_status(HINTERNET ws, USHORT code, const char *reason)
{
  USHORT st = 0;
  char got[WINHTTP_WEB_SOCKET_MAX_CLOSE_REASON_LENGTH];
  DWORD used = 0;
  assert_int_equal(WinHttpWebSocketQueryCloseStatus(ws, &st, got, sizeof(got), &used),
                   ERROR_SUCCESS);
  assert_int_equal(st, code);
  assert_int_equal(used, strlen(reason));
  assert_memory_equal(got, reason, used);
}
