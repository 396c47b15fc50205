/* Out of memory in WebSocket paths (the sweep of test_oom.c, for the
 * upgrade, CompleteUpgrade, send, receive and the close handshake, plain and
 * with permessage-deflate): every allocation the scenario makes is failed in
 * turn (fail-after and fail-once); each run ends in success or in a clean
 * error (ERROR_NOT_ENOUGH_MEMORY, or the failure it leads to on the
 * connection), never a crash, a leak (ASan) or a hang. Synchronous handles,
 * against python3-websockets. */
#include "wh_test.h"
#include "peers.h"

#include <limits.h>
#include <string.h>
#include <winhttp_ext.h>

#include "util/mem.h"

static struct wh_peer ref;

/* The first failure of a scenario (ERROR_SUCCESS when none). */
static DWORD scenario(DWORD deflate)
{
  DWORD err = ERROR_SUCCESS;
  HINTERNET s = WinHttpOpen(L"oom-ws", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  HINTERNET c = s ? WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&ref), 0) : NULL;
  HINTERNET r = c ? WinHttpOpenRequest(c, L"GET", L"/echo", NULL, NULL, NULL, 0) : NULL;
  HINTERNET w = NULL;
  if (!r)
    err = GetLastError();
  if (!err && !WinHttpSetOption(r, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, NULL, 0))
    err = GetLastError();
  if (!err && deflate &&
      !WinHttpSetOption(r, WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, &deflate, sizeof(deflate)))
    err = GetLastError();
  if (!err && (!WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0) || !WinHttpReceiveResponse(r, NULL)))
    err = GetLastError();
  if (!err && !(w = WinHttpWebSocketCompleteUpgrade(r, 0)))
    err = GetLastError();
  static const char msg[] = "an out-of-memory sweep, an out-of-memory sweep";
  char buf[128];
  DWORD n = 0;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  if (!err)
    err = WinHttpWebSocketSend(w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, (void *)msg,
                               sizeof(msg) - 1);
  if (!err)
    err = WinHttpWebSocketReceive(w, buf, sizeof(buf), &n, &t);
  if (!err && (n != sizeof(msg) - 1 || memcmp(buf, msg, n) != 0))
    fail_msg("echo garbled (%lu bytes)", (unsigned long)n);
  if (!err)
    err = WinHttpWebSocketClose(w, 1000, NULL, 0);
  /* Closing allocates nothing; every handle goes, whatever happened. */
  if (w)
    WinHttpCloseHandle(w);
  if (r)
    WinHttpCloseHandle(r);
  if (c)
    WinHttpCloseHandle(c);
  if (s)
    WinHttpCloseHandle(s);
  return err;
}

static void sweep(DWORD deflate)
{
  wh_mem_fail_after(LONG_MAX);
  assert_int_equal(scenario(deflate), ERROR_SUCCESS);
  long count = wh_mem_fail_allowed();
  wh_mem_fail_reset();
  assert_true(count > 0);
  for (int once = 0; once < 2; once++) {
    for (long k = 0;; k++) {
      if (once)
        wh_mem_fail_once(k);
      else
        wh_mem_fail_after(k);
      DWORD err = scenario(deflate);
      long refused = wh_mem_fail_count();
      wh_mem_fail_reset();
      if (refused == 0) {
        assert_int_equal(err, ERROR_SUCCESS);
        if (k > count)
          break;
        continue;
      }
      /* A refused allocation shows as out-of-memory where it happened, or
       * as what it does to the connection afterwards (a frame that could
       * not be sent leaves it failed). */
      if (err != ERROR_SUCCESS && err != ERROR_NOT_ENOUGH_MEMORY &&
          err != ERROR_INVALID_OPERATION && err != ERROR_WINHTTP_CONNECTION_ERROR &&
          err != ERROR_WINHTTP_INVALID_SERVER_RESPONSE && err != ERROR_WINHTTP_INTERNAL_ERROR)
        fail_msg("allocation %ld (%s): unexpected error %lu", k, once ? "once" : "after",
                 (unsigned long)err);
    }
  }
}

static void test_plain(void **state)
{
  (void)state;
  sweep(0);
}

static void test_deflate(void **state)
{
  (void)state;
  sweep(WINHTTP_EXT_WEB_SOCKET_DEFLATE);
}

static int setup(void **state)
{
  (void)state;
  return wh_peer_start_ws_ref(&ref);
}

static int teardown(void **state)
{
  (void)state;
  wh_peer_stop(&ref);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),
      cmocka_unit_test(test_deflate),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
