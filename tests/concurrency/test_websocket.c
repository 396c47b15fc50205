/* WebSockets on synchronous handles (issue 7): the upgrade and
 * WinHttpWebSocketCompleteUpgrade, every send and receive buffer type,
 * fragments, control frames, the close handshake, protocol errors, and the
 * concurrency contract (C4, C6, C11). Against the raw-frame server
 * (tests/peers/wsserver.py: it says afterwards, through /report, what our
 * client sent) and python3-websockets as an independent real server. */
#include "wh_test.h"
#include "peers.h"
#include "ws_test.h"

#include "core/handle.h"
#include "core/websocket.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

static struct wh_peer raw;  /* wsserver.py */
static struct wh_peer ref;  /* python3-websockets */

struct ws {
  HINTERNET s, c, r, w;
};

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends an upgrade request for |path| to |p| (with |headers| if any) and
 * receives the answer; the request stays open in w->r. */
static void upgrade_request(struct ws *w, const struct wh_peer *p, const wchar_t *path,
                            const wchar_t *headers)
{
  memset(w, 0, sizeof(*w));
  w->s = WinHttpOpen(L"ws-test", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(w->s);
  w->c = WinHttpConnect(w->s, L"127.0.0.1", wh_peer_port(p), 0);
  assert_non_null(w->c);
  w->r = WinHttpOpenRequest(w->c, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(w->r);
  assert_true(WinHttpSetOption(w->r, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, NULL, 0));
  assert_true(WinHttpSendRequest(w->r, headers, headers ? (DWORD)-1 : 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(w->r, NULL));
}

static DWORD status_of(HINTERNET r)
{
  DWORD st = 0, len = sizeof(st);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &st, &len, NULL));
  return st;
}

/* A WebSocket to |path| on |p|; the request handle is closed at once, as
 * Microsoft's samples do. */
static void open_ws(struct ws *w, const struct wh_peer *p, const wchar_t *path)
{
  upgrade_request(w, p, path, NULL);
  assert_int_equal(status_of(w->r), 101);
  w->w = WinHttpWebSocketCompleteUpgrade(w->r, 0);
  assert_non_null(w->w);
  assert_true(WinHttpCloseHandle(w->r));
  w->r = NULL;
}

static void close_all(struct ws *w)
{
  if (w->w)
    assert_true(WinHttpCloseHandle(w->w));
  if (w->r)
    assert_true(WinHttpCloseHandle(w->r));
  WinHttpCloseHandle(w->c);
  WinHttpCloseHandle(w->s);
}

/* What the raw server saw of connection |id| (GET /report, asked with the
 * harness's own client: never the library under test), once |wait| (NULL:
 * the end of the connection) has happened. The text stays valid until the
 * next call. */
static const char *report(const char *id, const char *wait)
{
  static char rep[4096];
  char query[160];
  snprintf(query, sizeof(query), "id=%s&wait=%s", id, wait ? wait : "end");
  assert_true(wh_peer_ws_report(&raw, query, rep, sizeof(rep)) >= 0);
  return rep;
}

static void expect_report_line(const char *id, const char *wait, const char *line)
{
  const char *rep = report(id, wait);
  if (!strstr(rep, line))
    print_error("report for %s lacks \"%s\":\n%s\n", id, line, rep);
  assert_non_null(strstr(rep, line));
}

static DWORD recv1(HINTERNET w, void *buf, DWORD cap, DWORD *n, WINHTTP_WEB_SOCKET_BUFFER_TYPE *t)
{
  *n = 0xdeadbeef;
  *t = (WINHTTP_WEB_SOCKET_BUFFER_TYPE)0xdead;
  return WinHttpWebSocketReceive(w, buf, cap, n, t);
}

static void expect_recv(HINTERNET w, WINHTTP_WEB_SOCKET_BUFFER_TYPE type, const void *data,
                        DWORD len)
{
  char buf[256];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(recv1(w, buf, sizeof(buf), &n, &t), ERROR_SUCCESS);
  assert_int_equal(t, type);
  assert_int_equal(n, len);
  if (len)
    assert_memory_equal(buf, data, len);
}

/* --- the upgrade ------------------------------------------------------------------- */

static void test_echo_reference_server(void **state)
{
  (void)state;
  struct ws w;
  open_ws(&w, &ref, L"/echo");
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE,
                                        "h\xc3\xa9llo", 6),
                   ERROR_SUCCESS);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "h\xc3\xa9llo", 6);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE,
                                        "\0\1\2", 3),
                   ERROR_SUCCESS);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, "\0\1\2", 3);
  /* An empty message. */
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE,
                                        NULL, 0),
                   ERROR_SUCCESS);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, NULL, 0);
  /* The close handshake; the server answers with our code and reason. */
  assert_int_equal(WinHttpWebSocketClose(w.w, 4001, "done", 4), ERROR_SUCCESS);
  wh_ws_expect_close_status(w.w, 4001, "done");
  /* Over: everything is refused now. */
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE,
                                        "x", 1),
                   ERROR_INVALID_OPERATION);
  char buf[1];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(recv1(w.w, buf, 1, &n, &t), ERROR_INVALID_OPERATION);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_INVALID_OPERATION);
  close_all(&w);
}

static void test_large_message_in_small_receives(void **state)
{
  (void)state;
  /* 3 MiB + 7 out in one message, back in 1000-byte receives: fragments
   * until the last piece, which is the message type. */
  struct ws w;
  open_ws(&w, &ref, L"/echo");
  size_t big = 3 * 1024 * 1024 + 7;
  unsigned char *out = malloc(big), *in = malloc(big);
  assert_non_null(out);
  assert_non_null(in);
  for (size_t i = 0; i < big; i++)
    out[i] = (unsigned char)(i * 7 + 3);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, out,
                                        (DWORD)big),
                   ERROR_SUCCESS);
  size_t got = 0;
  for (;;) {
    DWORD n;
    WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
    DWORD cap = big - got < 1000 ? (DWORD)(big - got) : 1000;
    assert_int_equal(recv1(w.w, in + got, cap, &n, &t), ERROR_SUCCESS);
    got += n;
    if (t == WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE)
      break;
    assert_int_equal(t, WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE);
    assert_true(got < big);
  }
  assert_int_equal(got, big);
  assert_memory_equal(in, out, big);
  free(out);
  free(in);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
}

static void test_complete_upgrade_once(void **state)
{
  (void)state;
  struct ws w;
  upgrade_request(&w, &raw, L"/echo", NULL);
  w.w = WinHttpWebSocketCompleteUpgrade(w.r, 0);
  assert_non_null(w.w);
  /* C4: at most one WebSocket per request. */
  SetLastError(0xdeadbeef);
  assert_null(WinHttpWebSocketCompleteUpgrade(w.r, 0));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  /* A WebSocket handle is not a request. */
  SetLastError(0xdeadbeef);
  assert_null(WinHttpWebSocketCompleteUpgrade(w.w, 0));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  /* The WebSocket works with the request still open, and after it. */
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "a", 1),
                   ERROR_SUCCESS);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "a", 1);
  assert_true(WinHttpCloseHandle(w.r));
  w.r = NULL;
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "b", 1),
                   ERROR_SUCCESS);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "b", 1);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
}

struct race {
  HINTERNET r;
  HINTERNET got;
  DWORD err;
  pthread_barrier_t *go;
};

static void *race_upgrade(void *arg)
{
  struct race *x = arg;
  pthread_barrier_wait(x->go);
  x->got = WinHttpWebSocketCompleteUpgrade(x->r, 0);
  x->err = GetLastError();
  return NULL;
}

static void test_concurrent_complete_upgrade(void **state)
{
  (void)state;
  /* C4: two threads at once on one request: one WebSocket, never two. */
  for (int round = 0; round < 20; round++) {
    struct ws w;
    upgrade_request(&w, &raw, L"/echo", NULL);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    struct race a = {.r = w.r, .go = &go}, b = {.r = w.r, .go = &go};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race_upgrade, &a);
    pthread_create(&tb, NULL, race_upgrade, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&go);
    assert_true((a.got != NULL) != (b.got != NULL));
    struct race *loser = a.got ? &b : &a;
    assert_int_equal(loser->err, ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
    w.w = a.got ? a.got : b.got;
    close_all(&w);
  }
}

static void expect_upgrade_refused(const wchar_t *path, const wchar_t *headers, DWORD status,
                                   DWORD err)
{
  struct ws w;
  upgrade_request(&w, &raw, path, headers);
  assert_int_equal(status_of(w.r), status);
  SetLastError(0xdeadbeef);
  assert_null(WinHttpWebSocketCompleteUpgrade(w.r, 0));
  assert_last_error(err);
  close_all(&w);
}

static void test_upgrade_refused(void **state)
{
  (void)state;
  /* Not upgraded at all: nothing to complete. */
  expect_upgrade_refused(L"/no-upgrade", NULL, 200, ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  /* A 101 that does not prove the server read our key, or is not a
   * WebSocket's. */
  expect_upgrade_refused(L"/bad-accept", NULL, 101, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_upgrade_refused(L"/no-101-headers", NULL, 101, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_upgrade_refused(L"/no-101-headers?omit=upgrade", NULL, 101,
                         ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_upgrade_refused(L"/no-101-headers?omit=connection", NULL, 101,
                         ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  /* An extension we did not offer; a subprotocol we did not offer. */
  expect_upgrade_refused(L"/echo?ext=permessage-deflate", NULL, 101,
                         ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_upgrade_refused(L"/echo?proto=chat", NULL, 101, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_upgrade_refused(L"/echo?proto=other", L"Sec-WebSocket-Protocol: chat, superchat", 101,
                         ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_subprotocol_offered(void **state)
{
  (void)state;
  struct ws w;
  upgrade_request(&w, &raw, L"/echo?proto=1&id=proto", L"Sec-WebSocket-Protocol: chat, superchat");
  w.w = WinHttpWebSocketCompleteUpgrade(w.r, 0);
  assert_non_null(w.w);
  /* The request's response headers still say what was chosen. */
  wchar_t proto[64];
  DWORD len = sizeof(proto);
  assert_true(WinHttpQueryHeaders(w.r, WINHTTP_QUERY_CUSTOM, L"Sec-WebSocket-Protocol", proto,
                                  &len, NULL));
  assert_true(wcscmp(proto, L"chat") == 0);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  expect_report_line("proto", NULL, "offer-proto=chat, superchat");
  close_all(&w);
}

static void test_frames_that_came_with_the_head(void **state)
{
  (void)state;
  /* A text frame "hi" in the same write as the 101. */
  struct ws w;
  open_ws(&w, &raw, L"/echo?early=81026869");
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "hi", 2);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
}

/* --- receiving ------------------------------------------------------------------------------------ */

static void test_fragments_and_interleaved_ping(void **state)
{
  (void)state;
  /* Our text message "ab€cd" comes back in 2-byte frames with a ping
   * between each two, the euro sign split across frames: four receives,
   * three fragments then the message, the pings answered. */
  struct ws w;
  open_ws(&w, &raw, L"/echo?id=frag&frag=2&ping=1");
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE,
                                        "ab\xe2\x82\xac" "cd", 7),
                   ERROR_SUCCESS);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE, "ab", 2);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE, "\xe2\x82", 2);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE, "\xac" "c", 2);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "d", 1);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
  const char *rep = report("frag", NULL);
  assert_non_null(strstr(rep, "code=1000"));
  assert_null(strstr(rep, "pongs=0"));
  assert_null(strstr(rep, "error="));
}

static void test_pings_answered(void **state)
{
  (void)state;
  /* Three pings, then a message: by the time the message is read, the
   * pongs have gone (each one as soon as its ping was decoded). */
  struct ws w;
  open_ws(&w, &raw, L"/send?id=ping&m=ping:a,ping:b,ping:c,text:x");
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "x", 1);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
  const char *rep = report("ping", NULL);
  /* One pong at least (a pong may answer several pings, §5.5.3), and
   * never more than the pings. */
  assert_null(strstr(rep, "pongs=0"));
  assert_non_null(strstr(rep, "code=1000"));
}

static void test_small_buffer_frame_fragments(void **state)
{
  (void)state;
  /* A 10-byte binary message into 4-byte receives: 4, 4 fragments, 2 the
   * message. */
  struct ws w;
  open_ws(&w, &raw, L"/send?m=bin:10");
  unsigned char buf[4];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(recv1(w.w, buf, 4, &n, &t), ERROR_SUCCESS);
    assert_int_equal(t, WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE);
    assert_int_equal(n, 4);
    for (DWORD k = 0; k < 4; k++)
      assert_int_equal(buf[k], ((DWORD)i * 4 + k) % 251);
  }
  assert_int_equal(recv1(w.w, buf, 4, &n, &t), ERROR_SUCCESS);
  assert_int_equal(t, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE);
  assert_int_equal(n, 2);
  assert_int_equal(buf[0], 8);
  assert_int_equal(buf[1], 9);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
}

static void test_big_message_many_frames(void **state)
{
  (void)state;
  /* 16 MiB in 1 KiB frames: every frame but the last a fragment. */
  struct ws w;
  open_ws(&w, &raw, L"/big?mb=16&frame=1024");
  size_t cap = 64 * 1024, got = 0;
  unsigned char *buf = malloc(cap);
  assert_non_null(buf);
  for (;;) {
    DWORD n;
    WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
    assert_int_equal(recv1(w.w, buf, (DWORD)cap, &n, &t), ERROR_SUCCESS);
    for (DWORD k = 0; k < n; k++)
      if (buf[k] != (got + k) % 251)
        fail_msg("byte %zu is %u", got + k, buf[k]);
    got += n;
    if (t == WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE)
      break;
    assert_int_equal(t, WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE);
  }
  assert_int_equal(got, 16u * 1024 * 1024);
  free(buf);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
}

static void test_server_closes_first(void **state)
{
  (void)state;
  struct ws w;
  open_ws(&w, &raw, L"/close?id=srvclose&code=4000&reason=done");
  char buf[16];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  USHORT st;
  DWORD used;
  /* Before the close frame, there is no status. */
  assert_int_equal(WinHttpWebSocketQueryCloseStatus(w.w, &st, buf, sizeof(buf), &used),
                   ERROR_INVALID_OPERATION);
  assert_int_equal(recv1(w.w, buf, sizeof(buf), &n, &t), ERROR_SUCCESS);
  assert_int_equal(t, WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE);
  assert_int_equal(n, 0);
  /* The reason buffer protocol: too small, then big enough. */
  assert_int_equal(WinHttpWebSocketQueryCloseStatus(w.w, &st, buf, 2, &used),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(used, 4);
  wh_ws_expect_close_status(w.w, 4000, "done");
  /* Receiving is over; Close answers the server's close. */
  assert_int_equal(recv1(w.w, buf, sizeof(buf), &n, &t), ERROR_INVALID_OPERATION);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, "ok", 2), ERROR_SUCCESS);
  close_all(&w);
  expect_report_line("srvclose", NULL, "code=1000 reason=ok");
}

static void test_empty_close_status(void **state)
{
  (void)state;
  struct ws w;
  open_ws(&w, &raw, L"/close?code=empty");
  char buf[8];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(recv1(w.w, buf, sizeof(buf), &n, &t), ERROR_SUCCESS);
  assert_int_equal(t, WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE);
  USHORT st;
  DWORD used = 99;
  assert_int_equal(WinHttpWebSocketQueryCloseStatus(w.w, &st, NULL, 0, &used), ERROR_SUCCESS);
  assert_int_equal(st, WINHTTP_WEB_SOCKET_EMPTY_CLOSE_STATUS);
  assert_int_equal(used, 0);
  assert_int_equal(WinHttpWebSocketClose(w.w, WINHTTP_WEB_SOCKET_EMPTY_CLOSE_STATUS, NULL, 0),
                   ERROR_SUCCESS);
  close_all(&w);
}

/* A server frame the client must reject: the receive fails with
 * ERROR_WINHTTP_INVALID_SERVER_RESPONSE and the server hears |code|. */
static void expect_protocol_error_after(const char *hex, int good, const char *code_line)
{
  static int k;
  char id[16];
  snprintf(id, sizeof(id), "perr%d", k++);
  wchar_t path[256];
  swprintf(path, 256, L"/raw?id=%s&hex=%s", id, hex);
  struct ws w;
  open_ws(&w, &raw, path);
  char buf[256];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  /* What came before the bad byte is handed out first. */
  for (int i = 0; i < good; i++)
    assert_int_equal(recv1(w.w, buf, sizeof(buf), &n, &t), ERROR_SUCCESS);
  DWORD err = recv1(w.w, buf, sizeof(buf), &n, &t);
  if (err != ERROR_WINHTTP_INVALID_SERVER_RESPONSE)
    print_error("%s: %lu (%lu bytes, type %d)\n", hex, (unsigned long)err, (unsigned long)n, t);
  assert_int_equal(err, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  /* It stays failed. */
  assert_int_equal(recv1(w.w, buf, sizeof(buf), &n, &t), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, "x", 1),
                   ERROR_INVALID_OPERATION);
  expect_report_line(id, "close", code_line);
  close_all(&w);
}

static void expect_protocol_error(const char *hex, const char *code_line)
{
  expect_protocol_error_after(hex, 0, code_line);
}

static void test_protocol_errors(void **state)
{
  (void)state;
  expect_protocol_error("8182000000006869", "code=1002");     /* masked server frame */
  expect_protocol_error("c1026869", "code=1002");             /* RSV1 without deflate */
  expect_protocol_error("a1026869", "code=1002");             /* RSV2 */
  expect_protocol_error("830101", "code=1002");               /* reserved opcode 3 */
  expect_protocol_error("8b00", "code=1002");                 /* reserved control 0xB */
  expect_protocol_error("897e007e", "code=1002");             /* 126-byte ping */
  expect_protocol_error("0900", "code=1002");                 /* ping without FIN */
  expect_protocol_error("800161", "code=1002");               /* continuation, no message */
  expect_protocol_error_after("0101618101", 1, "code=1002");  /* new message inside one */
  expect_protocol_error("880103", "code=1002");               /* close payload of 1 byte */
  expect_protocol_error("880203ed", "code=1002");             /* close code 1005 on the wire */
  expect_protocol_error("827f8000000000000000", "code=1002"); /* 64-bit length, top bit */
  /* Bad UTF-8 fails at the first byte that cannot continue: the lead
   * byte before it is still handed out (as a fragment can end inside a
   * character). */
  expect_protocol_error_after("8102c328", 1, "code=1007");     /* bad continuation */
  expect_protocol_error_after("8104eda080aa", 1, "code=1007"); /* a surrogate */
  expect_protocol_error("880403e8c328", "code=1007");         /* close reason not UTF-8 */
}

static void test_drop_mid_frame(void **state)
{
  (void)state;
  struct ws w;
  open_ws(&w, &raw, L"/drop?n=10&len=1000");
  char buf[2000];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  DWORD err = recv1(w.w, buf, sizeof(buf), &n, &t);
  /* The 6 payload bytes that came may be handed out first. */
  if (err == ERROR_SUCCESS) {
    assert_int_equal(t, WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE);
    err = recv1(w.w, buf, sizeof(buf), &n, &t);
  }
  assert_int_equal(err, ERROR_WINHTTP_CONNECTION_ERROR);
  close_all(&w);
}

/* --- sending --------------------------------------------------------------------------------------- */

static void test_send_fragments_and_types(void **state)
{
  (void)state;
  struct ws w;
  open_ws(&w, &raw, L"/echo?id=sendfrag");
  /* A CLOSE buffer never goes through Send; a NULL buffer with a length. */
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE, NULL, 0),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, NULL,
                                        1),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketSend(w.w, (WINHTTP_WEB_SOCKET_BUFFER_TYPE)9, "x", 1),
                   ERROR_INVALID_PARAMETER);
  /* One binary message in three sends; a UTF-8 buffer in the middle of it
   * is refused and changes nothing. */
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE, "ab",
                                        2),
                   ERROR_SUCCESS);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "x", 1),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE, "cd",
                                        2),
                   ERROR_SUCCESS);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, "e", 1),
                   ERROR_SUCCESS);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, "abcde", 5);
  /* Then a text message in two. */
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE, "\xe2\x82",
                                        2),
                   ERROR_SUCCESS);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "\xac", 1),
                   ERROR_SUCCESS);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "\xe2\x82\xac", 3);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
  /* Every frame masked (the server fails unmasked ones), each with its
   * own key. */
  const char *rep = report("sendfrag", NULL);
  assert_null(strstr(rep, "error="));
  assert_non_null(strstr(rep, "mask-repeats=0"));
  assert_non_null(strstr(rep, "msg=binary:5:3"));
  assert_non_null(strstr(rep, "msg=text:3:2"));
}

static void test_shutdown_then_receive(void **state)
{
  (void)state;
  /* Shutdown sends our close; receiving goes on until the server's
   * close, which the echo server answers with ours. */
  struct ws w;
  open_ws(&w, &raw, L"/send?id=shut&m=text:one");
  assert_int_equal(WinHttpWebSocketShutdown(w.w, 1000, "bye", 3), ERROR_SUCCESS);
  assert_int_equal(WinHttpWebSocketShutdown(w.w, 1000, NULL, 0), ERROR_INVALID_OPERATION);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, "x", 1),
                   ERROR_INVALID_OPERATION);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "one", 3);
  expect_recv(w.w, WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE, NULL, 0);
  wh_ws_expect_close_status(w.w, 1000, "bye");
  /* Close has nothing left to send or wait for. */
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
  expect_report_line("shut", NULL, "code=1000 reason=bye");
}

static void test_argument_checks(void **state)
{
  (void)state;
  struct ws w;
  open_ws(&w, &raw, L"/echo");
  char buf[130];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  USHORT st;
  assert_int_equal(WinHttpWebSocketReceive(w.w, NULL, 10, &n, &t), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketReceive(w.w, buf, 0, &n, &t), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketReceive(w.w, buf, 10, NULL, &t), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketReceive(w.w, buf, 10, &n, NULL), ERROR_INVALID_PARAMETER);
  memset(buf, 'r', sizeof(buf));
  assert_int_equal(WinHttpWebSocketShutdown(w.w, 1000, buf, 124), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketShutdown(w.w, 1000, NULL, 3), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, buf, 124), ERROR_INVALID_PARAMETER);
  /* Codes a client may not send. */
  assert_int_equal(WinHttpWebSocketClose(w.w, 1006, NULL, 0), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketClose(w.w, 999, NULL, 0), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketQueryCloseStatus(w.w, NULL, buf, 10, &n),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketQueryCloseStatus(w.w, &st, NULL, 10, &n),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWebSocketQueryCloseStatus(w.w, &st, buf, 10, NULL),
                   ERROR_INVALID_PARAMETER);
  /* Request functions on a WebSocket, WebSocket functions on a request. */
  assert_int_equal(WinHttpWebSocketSend(w.c, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, "x", 1),
                   ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_false(WinHttpReceiveResponse(w.w, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
  /* A closed handle. */
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, "x", 1),
                   ERROR_INVALID_HANDLE);
}

static void test_close_timeout(void **state)
{
  (void)state;
  /* A server that never answers our close: Close gives up after
   * WEB_SOCKET_CLOSE_TIMEOUT, set on the WebSocket handle. */
  struct ws w;
  open_ws(&w, &raw, L"/silent");
  DWORD ms = 300;
  assert_true(WinHttpSetOption(w.w, WINHTTP_OPTION_WEB_SOCKET_CLOSE_TIMEOUT, &ms, sizeof(ms)));
  long t0 = now_ms();
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_WINHTTP_TIMEOUT);
  long took = now_ms() - t0;
  assert_true(took >= 250);
  assert_true(took < 300 + 2000);
  close_all(&w);
}

/* A receive on a thread of its own, for a silent server: it returns only
 * when something ends it. */
struct blocked {
  HINTERNET w;
  DWORD err;
  pthread_barrier_t started;
  pthread_t thread;
};

static void *blocked_receive(void *arg)
{
  struct blocked *b = arg;
  char buf[16];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  pthread_barrier_wait(&b->started);
  b->err = WinHttpWebSocketReceive(b->w, buf, sizeof(buf), &n, &t);
  return NULL;
}

/* Starts |b|'s receive on |w|; returns once its thread is about to call
 * WinHttpWebSocketReceive (wait_receive_pending: once it is inside). */
static void start_blocked_receive(struct blocked *b, HINTERNET w)
{
  memset(b, 0, sizeof(*b));
  b->w = w;
  pthread_barrier_init(&b->started, NULL, 2);
  assert_int_equal(pthread_create(&b->thread, NULL, blocked_receive, b), 0);
  pthread_barrier_wait(&b->started);
}

/* Waits for |b|'s receive to return, which must be as cancelled. */
static void expect_receive_cancelled(struct blocked *b)
{
  pthread_join(b->thread, NULL);
  pthread_barrier_destroy(&b->started);
  assert_int_equal(b->err, ERROR_WINHTTP_OPERATION_CANCELLED);
}

static void test_keepalive_setting(void **state)
{
  (void)state;
  /* Microsoft's minimum interval is 15 s; it is set on the WebSocket. */
  struct ws w;
  open_ws(&w, &raw, L"/silent");
  DWORD v = 14999;
  assert_false(WinHttpSetOption(w.w, WINHTTP_OPTION_WEB_SOCKET_KEEPALIVE_INTERVAL, &v, sizeof(v)));
  assert_last_error(ERROR_INVALID_PARAMETER);
  v = 15000;
  assert_true(WinHttpSetOption(w.w, WINHTTP_OPTION_WEB_SOCKET_KEEPALIVE_INTERVAL, &v, sizeof(v)));
  close_all(&w);
}

static void test_keepalive_pings_while_idle(void **state)
{
  (void)state;
  /* A receive waiting on a silent server pings it each interval. The
   * option's 15 s minimum would make this a slow test: the interval is
   * set to 100 ms white-box, on the handle's own settings. */
  struct ws w;
  open_ws(&w, &raw, L"/silent?id=ka");
  struct wh_object *o;
  assert_int_equal(wh_object_grab(w.w, WH_WEBSOCKET, &o), ERROR_SUCCESS);
  pthread_mutex_lock(&o->lock);
  wh_websocket_of(o)->settings.ws_keepalive_interval = 100;
  pthread_mutex_unlock(&o->lock);
  wh_handle_put(o);
  struct blocked b;
  start_blocked_receive(&b, w.w);
  /* The server says when it has seen two pings. */
  const char *rep = report("ka", "pings:2");
  assert_null(strstr(rep, "timeout=1"));
  assert_null(strstr(rep, "pings=0"));
  assert_null(strstr(rep, "pings=1\n"));
  assert_true(WinHttpCloseHandle(w.w));
  w.w = NULL;
  expect_receive_cancelled(&b);
  close_all(&w);
}

/* --- the contract: C6, C11 -------------------------------------------------------------------------- */

/* Waits until another thread's receive holds the receive side (white-box:
 * probing with a receive of our own could block on a silent server). */
static void wait_receive_pending(HINTERNET h)
{
  struct wh_object *o;
  assert_int_equal(wh_object_grab(h, WH_WEBSOCKET, &o), ERROR_SUCCESS);
  long t0 = now_ms();
  while (!(atomic_load(&wh_websocket_of(o)->busy) & WH_WS_SIDE_RECV)) {
    assert_true(now_ms() - t0 < 10000);
    sched_yield();
  }
  wh_handle_put(o);
}

static void test_second_receive_refused_close_cancels(void **state)
{
  (void)state;
  struct ws w;
  open_ws(&w, &raw, L"/silent?id=c11");
  struct blocked b;
  start_blocked_receive(&b, w.w);
  /* While one receive waits: a second receive is refused, a send goes
   * through (C11). */
  char buf[8];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  wait_receive_pending(w.w);
  assert_int_equal(WinHttpWebSocketReceive(w.w, buf, sizeof(buf), &n, &t), ERROR_INVALID_OPERATION);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "hi", 2),
                   ERROR_SUCCESS);
  /* Close ends the pending receive with OPERATION_CANCELLED; the silent
   * server never answers, so the close handshake times out. */
  DWORD ms = 200;
  assert_true(WinHttpSetOption(w.w, WINHTTP_OPTION_WEB_SOCKET_CLOSE_TIMEOUT, &ms, sizeof(ms)));
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_WINHTTP_TIMEOUT);
  expect_receive_cancelled(&b);
  close_all(&w);
  const char *rep = report("c11", NULL);
  assert_non_null(strstr(rep, "messages=1"));
}

static void test_close_handle_ends_receive(void **state)
{
  (void)state;
  /* C6: closing the handle while another thread is blocked in a receive
   * returns that call promptly. */
  struct ws w;
  open_ws(&w, &raw, L"/silent");
  struct blocked b;
  start_blocked_receive(&b, w.w);
  wait_receive_pending(w.w);
  long t0 = now_ms();
  assert_true(WinHttpCloseHandle(w.w));
  w.w = NULL;
  expect_receive_cancelled(&b);
  assert_true(now_ms() - t0 < 2000);
  close_all(&w);
}

struct pump {
  HINTERNET w;
  int count;
  size_t size;
  DWORD err;
  size_t bytes;
};

static void *pump_send(void *arg)
{
  struct pump *p = arg;
  unsigned char *buf = malloc(p->size);
  for (size_t i = 0; i < p->size; i++)
    buf[i] = (unsigned char)i;
  for (int i = 0; i < p->count && p->err == ERROR_SUCCESS; i++)
    p->err = WinHttpWebSocketSend(p->w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, buf,
                                  (DWORD)p->size);
  free(buf);
  return NULL;
}

static void *pump_receive(void *arg)
{
  struct pump *p = arg;
  unsigned char *buf = malloc(p->size);
  int messages = 0;
  while (messages < p->count && p->err == ERROR_SUCCESS) {
    DWORD n;
    WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
    p->err = WinHttpWebSocketReceive(p->w, buf, (DWORD)p->size, &n, &t);
    p->bytes += n;
    if (t == WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE)
      messages++;
  }
  free(buf);
  return NULL;
}

static void test_send_and_receive_at_once(void **state)
{
  (void)state;
  /* C11: one thread sends 200 messages of 64 KiB while another receives
   * their echoes, on one WebSocket: neither waits for the other, and
   * (under TSan) nothing races. */
  struct ws w;
  open_ws(&w, &ref, L"/echo");
  struct pump s = {.w = w.w, .count = 200, .size = 64 * 1024};
  struct pump r = {.w = w.w, .count = 200, .size = 64 * 1024};
  pthread_t ts, tr;
  pthread_create(&tr, NULL, pump_receive, &r);
  pthread_create(&ts, NULL, pump_send, &s);
  pthread_join(ts, NULL);
  pthread_join(tr, NULL);
  assert_int_equal(s.err, ERROR_SUCCESS);
  assert_int_equal(r.err, ERROR_SUCCESS);
  assert_int_equal(r.bytes, 200u * 64 * 1024);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
}

struct racer {
  HINTERNET w;
  int tries;
  int sent, refused, other;
  pthread_barrier_t *go;
};

static void *race_send(void *arg)
{
  struct racer *x = arg;
  unsigned char buf[4096];
  memset(buf, 'x', sizeof(buf));
  pthread_barrier_wait(x->go);
  for (int i = 0; i < x->tries; i++) {
    DWORD err = WinHttpWebSocketSend(x->w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, buf,
                                     sizeof(buf));
    if (err == ERROR_SUCCESS)
      x->sent++;
    else if (err == ERROR_INVALID_OPERATION)
      x->refused++;
    else
      x->other++;
  }
  return NULL;
}

static void test_concurrent_sends_one_wins(void **state)
{
  (void)state;
  /* C11 misuse: two threads sending at once on one WebSocket. Each send
   * either goes out whole or is refused with ERROR_INVALID_OPERATION,
   * leaving the other alone: the server gets exactly the messages that
   * were accepted, none torn (it would fail a frame interleaved with
   * another). A receiver drains the echoes meanwhile. */
  struct ws w;
  open_ws(&w, &raw, L"/echo?id=race");
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, 2);
  struct racer a = {.w = w.w, .tries = 300, .go = &go}, b = {.w = w.w, .tries = 300, .go = &go};
  struct pump r = {.w = w.w, .count = 1 << 30, .size = 8192};
  pthread_t ta, tb, tr;
  pthread_create(&tr, NULL, pump_receive, &r);
  pthread_create(&ta, NULL, race_send, &a);
  pthread_create(&tb, NULL, race_send, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  assert_int_equal(a.other + b.other, 0);
  assert_int_equal(a.sent + a.refused, 300);
  assert_int_equal(b.sent + b.refused, 300);
  /* Close ends the receiver (cancelled) after the server echoed our
   * close; the server counted what it received. */
  char want[64];
  snprintf(want, sizeof(want), "messages=%d\n", a.sent + b.sent);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  pthread_join(tr, NULL);
  pthread_barrier_destroy(&go);
  close_all(&w);
  const char *rep = report("race", NULL);
  if (!strstr(rep, want))
    print_error("expected %s in:\n%s\n", want, rep);
  assert_non_null(strstr(rep, want));
  assert_null(strstr(rep, "error="));
}

static void test_wss(void **state)
{
  (void)state;
  /* wss:// through the TLS layer: the raw server with the test CA's
   * certificate; an echo in 1 KiB frames and a close. */
  struct wh_peer tls;
  assert_int_equal(wh_peer_start_ws_tls(&tls, WH_CERT_GOOD), 0);
  assert_int_equal(setenv("SSL_CERT_FILE", wh_peer_ca_file(&tls), 1), 0);
  struct ws w;
  memset(&w, 0, sizeof(w));
  w.s = WinHttpOpen(L"ws-test", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  w.c = WinHttpConnect(w.s, L"localhost", wh_peer_port(&tls), 0);
  w.r = WinHttpOpenRequest(w.c, L"GET", L"/echo?frag=1024&id=wss", NULL, NULL, NULL,
                           WINHTTP_FLAG_SECURE);
  assert_non_null(w.r);
  assert_true(WinHttpSetOption(w.r, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, NULL, 0));
  assert_true(WinHttpSendRequest(w.r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(w.r, NULL));
  w.w = WinHttpWebSocketCompleteUpgrade(w.r, 0);
  assert_non_null(w.w);
  size_t len = 100000, got = 0;
  unsigned char *out = malloc(len), *in = malloc(len);
  for (size_t i = 0; i < len; i++)
    out[i] = (unsigned char)(i * 31);
  assert_int_equal(WinHttpWebSocketSend(w.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, out,
                                        (DWORD)len),
                   ERROR_SUCCESS);
  for (;;) {
    DWORD n;
    WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
    assert_int_equal(recv1(w.w, in + got, (DWORD)(len - got), &n, &t), ERROR_SUCCESS);
    got += n;
    if (t == WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE)
      break;
  }
  assert_int_equal(got, len);
  assert_memory_equal(in, out, len);
  free(in);
  free(out);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, "tls", 3), ERROR_SUCCESS);
  wh_ws_expect_close_status(w.w, 1000, "tls");
  close_all(&w);
  wh_peer_stop(&tls);
  unsetenv("SSL_CERT_FILE");
}

static int setup(void **state)
{
  (void)state;
  return wh_ws_peers_start(&raw, &ref);
}

static int teardown(void **state)
{
  (void)state;
  wh_ws_peers_stop(&raw, &ref);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_reference_server),
      cmocka_unit_test(test_large_message_in_small_receives),
      cmocka_unit_test(test_complete_upgrade_once),
      cmocka_unit_test(test_concurrent_complete_upgrade),
      cmocka_unit_test(test_upgrade_refused),
      cmocka_unit_test(test_subprotocol_offered),
      cmocka_unit_test(test_frames_that_came_with_the_head),
      cmocka_unit_test(test_fragments_and_interleaved_ping),
      cmocka_unit_test(test_pings_answered),
      cmocka_unit_test(test_small_buffer_frame_fragments),
      cmocka_unit_test(test_big_message_many_frames),
      cmocka_unit_test(test_server_closes_first),
      cmocka_unit_test(test_empty_close_status),
      cmocka_unit_test(test_protocol_errors),
      cmocka_unit_test(test_drop_mid_frame),
      cmocka_unit_test(test_send_fragments_and_types),
      cmocka_unit_test(test_shutdown_then_receive),
      cmocka_unit_test(test_argument_checks),
      cmocka_unit_test(test_close_timeout),
      cmocka_unit_test(test_keepalive_setting),
      cmocka_unit_test(test_keepalive_pings_while_idle),
      cmocka_unit_test(test_second_receive_refused_close_cancels),
      cmocka_unit_test(test_close_handle_ends_receive),
      cmocka_unit_test(test_send_and_receive_at_once),
      cmocka_unit_test(test_concurrent_sends_one_wins),
      cmocka_unit_test(test_wss),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
