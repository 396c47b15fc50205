/* WebSockets on asynchronous handles (issue 7): completions through the
 * callback (WRITE_COMPLETE, READ_COMPLETE with WINHTTP_WEB_SOCKET_STATUS,
 * SHUTDOWN_COMPLETE, CLOSE_COMPLETE, REQUEST_ERROR with
 * WINHTTP_WEB_SOCKET_ASYNC_RESULT), a pending send and a pending receive at
 * once, cancellation by Close and by WinHttpCloseHandle (C7, C11) with
 * HANDLE_CLOSING last and once. Every wait is on an event. */
#include "wh_test.h"
#include "peers.h"
#include "ws_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <winhttp_ext.h>

static struct wh_peer raw; /* wsserver.py */
static struct wh_peer ref; /* python3-websockets */

#define MAX_EV 256

struct ev {
  HINTERNET h;
  DWORD status;
  pthread_t thread;
  WINHTTP_WEB_SOCKET_STATUS st;
  WINHTTP_WEB_SOCKET_ASYNC_RESULT res;
  WINHTTP_ASYNC_RESULT req_res;
};

/* Everything the callback saw, in order. */
struct trace {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  size_t n;
  struct ev e[MAX_EV];
  HINTERNET ws; /* the WebSocket handle, once made */
  int closing_after; /* callbacks seen after a HANDLE_CLOSING of the same handle */
};

static struct trace T = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {{0}}, 0, 0};

static void CALLBACK cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)ctx;
  pthread_mutex_lock(&T.lock);
  for (size_t i = 0; i < T.n; i++)
    if (T.e[i].h == h && T.e[i].status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING)
      T.closing_after++;
  if (T.n < MAX_EV) {
    struct ev *e = &T.e[T.n++];
    memset(e, 0, sizeof(*e));
    e->h = h;
    e->status = status;
    e->thread = pthread_self();
    if ((status == WINHTTP_CALLBACK_STATUS_READ_COMPLETE ||
         status == WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE) &&
        len == sizeof(e->st) && h == T.ws)
      memcpy(&e->st, info, sizeof(e->st));
    if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR && h == T.ws && len == sizeof(e->res))
      memcpy(&e->res, info, sizeof(e->res));
    else if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR && len == sizeof(e->req_res))
      memcpy(&e->req_res, info, sizeof(e->req_res));
  }
  pthread_cond_broadcast(&T.cond);
  pthread_mutex_unlock(&T.lock);
}

static void trace_reset(void)
{
  pthread_mutex_lock(&T.lock);
  T.n = 0;
  T.ws = NULL;
  T.closing_after = 0;
  pthread_mutex_unlock(&T.lock);
}

static size_t count_locked(HINTERNET h, DWORD status)
{
  size_t k = 0;
  for (size_t i = 0; i < T.n; i++)
    if ((!h || T.e[i].h == h) && T.e[i].status == status)
      k++;
  return k;
}

/* Waits (at most 10 s: a hang is a failure) until |h| has had |count|
 * callbacks of |status|; returns the index of the last one. */
static size_t wait_for(HINTERNET h, DWORD status, size_t count)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&T.lock);
  while (count_locked(h, status) < count) {
    if (pthread_cond_timedwait(&T.cond, &T.lock, &until) != 0) {
      pthread_mutex_unlock(&T.lock);
      fail_msg("timed out waiting for status 0x%lx x%zu", (unsigned long)status, count);
    }
  }
  size_t last = 0, k = 0;
  for (size_t i = 0; i < T.n; i++)
    if ((!h || T.e[i].h == h) && T.e[i].status == status && ++k == count)
      last = i;
  pthread_mutex_unlock(&T.lock);
  return last;
}

static struct ev event_at(size_t i)
{
  pthread_mutex_lock(&T.lock);
  struct ev e = T.e[i];
  pthread_mutex_unlock(&T.lock);
  return e;
}

/* Waits for the WebSocket |w|'s first REQUEST_ERROR and asserts that it
 * says |op| failed with |err|; returns its index. */
static size_t expect_ws_error(HINTERNET w, WINHTTP_WEB_SOCKET_OPERATION op, DWORD err)
{
  size_t i = wait_for(w, WINHTTP_CALLBACK_STATUS_REQUEST_ERROR, 1);
  struct ev e = event_at(i);
  assert_int_equal(e.res.Operation, op);
  assert_int_equal(e.res.AsyncResult.dwError, err);
  return i;
}

struct aws {
  HINTERNET s, c, r, w;
};

/* An asynchronous session's upgrade to |path| on |p|; the WebSocket is
 * made and the request handle closed. */
/* With the permessage-deflate option |deflate| (winhttp_ext.h; 0: none). */
static void open_async_deflate(struct aws *a, const struct wh_peer *p, const wchar_t *path,
                               DWORD deflate);

static void open_async(struct aws *a, const struct wh_peer *p, const wchar_t *path)
{
  open_async_deflate(a, p, path, 0);
}

static void open_async_deflate(struct aws *a, const struct wh_peer *p, const wchar_t *path,
                               DWORD deflate)
{
  trace_reset();
  memset(a, 0, sizeof(*a));
  a->s = WinHttpOpen(L"ws-async", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(a->s);
  WinHttpSetStatusCallback(a->s, cb, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  a->c = WinHttpConnect(a->s, L"127.0.0.1", wh_peer_port(p), 0);
  a->r = WinHttpOpenRequest(a->c, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(a->r);
  assert_true(WinHttpSetOption(a->r, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, NULL, 0));
  if (deflate)
    assert_true(WinHttpSetOption(a->r, WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, &deflate,
                                 sizeof(deflate)));
  assert_true(WinHttpSendRequest(a->r, NULL, 0, NULL, 0, 0, 0));
  wait_for(a->r, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE, 1);
  assert_true(WinHttpReceiveResponse(a->r, NULL));
  wait_for(a->r, WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE, 1);
  a->w = WinHttpWebSocketCompleteUpgrade(a->r, 0);
  assert_non_null(a->w);
  pthread_mutex_lock(&T.lock);
  T.ws = a->w;
  pthread_mutex_unlock(&T.lock);
  /* HANDLE_CREATED on the request, with the new handle. */
  wait_for(a->r, WINHTTP_CALLBACK_STATUS_HANDLE_CREATED, 1);
  assert_true(WinHttpCloseHandle(a->r));
  wait_for(a->r, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, 1);
}

static void close_async(struct aws *a)
{
  if (a->w) {
    assert_true(WinHttpCloseHandle(a->w));
    wait_for(a->w, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, 1);
  }
  WinHttpCloseHandle(a->c);
  WinHttpCloseHandle(a->s);
  wait_for(a->s, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, 1);
  pthread_mutex_lock(&T.lock);
  int after = T.closing_after;
  /* HANDLE_CLOSING once per handle. */
  size_t once = count_locked(a->w, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  pthread_mutex_unlock(&T.lock);
  assert_int_equal(after, 0);
  if (a->w)
    assert_int_equal(once, 1);
}

static void test_echo_async(void **state)
{
  (void)state;
  struct aws a;
  open_async(&a, &ref, L"/echo");
  /* A small send completes on the calling thread, before Send returns. */
  assert_int_equal(WinHttpWebSocketSend(a.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, "hello", 5),
                   ERROR_SUCCESS);
  size_t i = wait_for(a.w, WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE, 1);
  struct ev e = event_at(i);
  assert_true(pthread_equal(e.thread, pthread_self()));
  assert_int_equal(e.st.dwBytesTransferred, 5);
  /* A receive completes from the loop; the out-parameters are not used. */
  char buf[16];
  DWORD n = 0xdeadbeef;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t = (WINHTTP_WEB_SOCKET_BUFFER_TYPE)0xdead;
  assert_int_equal(WinHttpWebSocketReceive(a.w, buf, 3, &n, &t), ERROR_SUCCESS);
  i = wait_for(a.w, WINHTTP_CALLBACK_STATUS_READ_COMPLETE, 1);
  e = event_at(i);
  assert_int_equal(e.st.dwBytesTransferred, 3);
  assert_int_equal(e.st.eBufferType, WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE);
  assert_memory_equal(buf, "hel", 3);
  assert_int_equal(n, 0xdeadbeef);
  assert_int_equal(WinHttpWebSocketReceive(a.w, buf, sizeof(buf), &n, &t), ERROR_SUCCESS);
  i = wait_for(a.w, WINHTTP_CALLBACK_STATUS_READ_COMPLETE, 2);
  e = event_at(i);
  assert_int_equal(e.st.dwBytesTransferred, 2);
  assert_int_equal(e.st.eBufferType, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE);
  assert_memory_equal(buf, "lo", 2);
  /* The close handshake. */
  assert_int_equal(WinHttpWebSocketClose(a.w, 1000, "bye", 3), ERROR_SUCCESS);
  wait_for(a.w, WINHTTP_CALLBACK_STATUS_CLOSE_COMPLETE, 1);
  wh_ws_expect_close_status(a.w, 1000, "bye");
  assert_int_equal(WinHttpWebSocketClose(a.w, 1000, NULL, 0), ERROR_INVALID_OPERATION);
  close_async(&a);
}

static void test_pending_send_and_receive(void **state)
{
  (void)state;
  /* 8 MiB out while a receive waits for the echo: both pending at once
   * (C11); a second receive meanwhile is refused. */
  struct aws a;
  open_async(&a, &ref, L"/echo");
  size_t len = 8u << 20;
  unsigned char *out = malloc(len), *in = malloc(len);
  for (size_t i = 0; i < len; i++)
    out[i] = (unsigned char)(i * 13);
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(WinHttpWebSocketReceive(a.w, in, (DWORD)len, &n, &t), ERROR_SUCCESS);
  assert_int_equal(WinHttpWebSocketReceive(a.w, in, (DWORD)len, &n, &t), ERROR_INVALID_OPERATION);
  assert_int_equal(WinHttpWebSocketSend(a.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, out,
                                        (DWORD)len),
                   ERROR_SUCCESS);
  wait_for(a.w, WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE, 1);
  size_t got = 0, reads = 0;
  for (;;) {
    size_t i = wait_for(a.w, WINHTTP_CALLBACK_STATUS_READ_COMPLETE, ++reads);
    struct ev e = event_at(i);
    got += e.st.dwBytesTransferred;
    if (e.st.eBufferType == WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE)
      break;
    assert_int_equal(e.st.eBufferType, WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE);
    assert_int_equal(WinHttpWebSocketReceive(a.w, in + got, (DWORD)(len - got), &n, &t),
                     ERROR_SUCCESS);
  }
  assert_int_equal(got, len);
  assert_memory_equal(in, out, len);
  free(in);
  free(out);
  assert_int_equal(WinHttpWebSocketClose(a.w, 1000, NULL, 0), ERROR_SUCCESS);
  wait_for(a.w, WINHTTP_CALLBACK_STATUS_CLOSE_COMPLETE, 1);
  close_async(&a);
}

static void test_close_cancels_pending_receive(void **state)
{
  (void)state;
  /* Close with a receive pending: the receive ends with REQUEST_ERROR
   * {RECEIVE, OPERATION_CANCELLED}, then CLOSE_COMPLETE. */
  struct aws a;
  open_async(&a, &raw, L"/echo");
  char buf[16];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(WinHttpWebSocketReceive(a.w, buf, sizeof(buf), &n, &t), ERROR_SUCCESS);
  assert_int_equal(WinHttpWebSocketClose(a.w, 1000, NULL, 0), ERROR_SUCCESS);
  size_t ierr = expect_ws_error(a.w, WINHTTP_WEB_SOCKET_RECEIVE_OPERATION,
                                ERROR_WINHTTP_OPERATION_CANCELLED);
  size_t iclose = wait_for(a.w, WINHTTP_CALLBACK_STATUS_CLOSE_COMPLETE, 1);
  assert_true(ierr < iclose);
  /* Nothing else may start now. */
  assert_int_equal(WinHttpWebSocketSend(a.w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, "x", 1),
                   ERROR_INVALID_OPERATION);
  close_async(&a);
}

static void test_close_handle_cancels_receive(void **state)
{
  (void)state;
  /* WinHttpCloseHandle with a receive pending on a silent server:
   * REQUEST_ERROR {RECEIVE, OPERATION_CANCELLED}, then HANDLE_CLOSING,
   * last. */
  struct aws a;
  open_async(&a, &raw, L"/silent");
  char buf[16];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(WinHttpWebSocketReceive(a.w, buf, sizeof(buf), &n, &t), ERROR_SUCCESS);
  HINTERNET w = a.w;
  assert_true(WinHttpCloseHandle(w));
  a.w = NULL;
  size_t iclosing = wait_for(w, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, 1);
  size_t ierr = expect_ws_error(w, WINHTTP_WEB_SOCKET_RECEIVE_OPERATION,
                                ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_true(ierr < iclosing);
  close_async(&a);
}

static void test_close_timeout_async(void **state)
{
  (void)state;
  /* A server that never answers our close: REQUEST_ERROR {CLOSE,
   * TIMEOUT} after WEB_SOCKET_CLOSE_TIMEOUT. */
  struct aws a;
  open_async(&a, &raw, L"/silent");
  DWORD ms = 200;
  assert_true(WinHttpSetOption(a.w, WINHTTP_OPTION_WEB_SOCKET_CLOSE_TIMEOUT, &ms, sizeof(ms)));
  assert_int_equal(WinHttpWebSocketClose(a.w, 1000, NULL, 0), ERROR_SUCCESS);
  expect_ws_error(a.w, WINHTTP_WEB_SOCKET_CLOSE_OPERATION, ERROR_WINHTTP_TIMEOUT);
  close_async(&a);
}

static void test_shutdown_then_server_close(void **state)
{
  (void)state;
  /* Shutdown completes (SHUTDOWN_COMPLETE); the echo server answers with
   * its close, which a receive reports as CLOSE_BUFFER_TYPE. */
  struct aws a;
  open_async(&a, &raw, L"/echo");
  assert_int_equal(WinHttpWebSocketShutdown(a.w, 1000, "done", 4), ERROR_SUCCESS);
  wait_for(a.w, WINHTTP_CALLBACK_STATUS_SHUTDOWN_COMPLETE, 1);
  assert_int_equal(WinHttpWebSocketShutdown(a.w, 1000, NULL, 0), ERROR_INVALID_OPERATION);
  char buf[8];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(WinHttpWebSocketReceive(a.w, buf, sizeof(buf), &n, &t), ERROR_SUCCESS);
  size_t i = wait_for(a.w, WINHTTP_CALLBACK_STATUS_READ_COMPLETE, 1);
  struct ev e = event_at(i);
  assert_int_equal(e.st.eBufferType, WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE);
  assert_int_equal(e.st.dwBytesTransferred, 0);
  wh_ws_expect_close_status(a.w, 1000, "done");
  /* Nothing left to do but end it. */
  assert_int_equal(WinHttpWebSocketClose(a.w, 1000, NULL, 0), ERROR_SUCCESS);
  wait_for(a.w, WINHTTP_CALLBACK_STATUS_CLOSE_COMPLETE, 1);
  close_async(&a);
}

static void test_protocol_error_async(void **state)
{
  (void)state;
  /* A masked server frame: REQUEST_ERROR {RECEIVE,
   * INVALID_SERVER_RESPONSE}. */
  struct aws a;
  open_async(&a, &raw, L"/raw?hex=8182000000006869");
  char buf[8];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(WinHttpWebSocketReceive(a.w, buf, sizeof(buf), &n, &t), ERROR_SUCCESS);
  expect_ws_error(a.w, WINHTTP_WEB_SOCKET_RECEIVE_OPERATION, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  close_async(&a);
}

static void test_deflate_async(void **state)
{
  (void)state;
  /* permessage-deflate through the asynchronous driver: WRITE_COMPLETE
   * and READ_COMPLETE count the uncompressed bytes. */
  struct aws a;
  open_async_deflate(&a, &ref, L"/echo", WINHTTP_EXT_WEB_SOCKET_DEFLATE);
  static char text[64 * 1024];
  for (size_t i = 0; i < sizeof(text); i++)
    text[i] = "abcabcabd"[i % 9];
  assert_int_equal(WinHttpWebSocketSend(a.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, text,
                                        sizeof(text)),
                   ERROR_SUCCESS);
  size_t i = wait_for(a.w, WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE, 1);
  assert_int_equal(event_at(i).st.dwBytesTransferred, sizeof(text));
  static char in[sizeof(text)];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(WinHttpWebSocketReceive(a.w, in, sizeof(in), &n, &t), ERROR_SUCCESS);
  i = wait_for(a.w, WINHTTP_CALLBACK_STATUS_READ_COMPLETE, 1);
  struct ev e = event_at(i);
  assert_int_equal(e.st.eBufferType, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE);
  assert_int_equal(e.st.dwBytesTransferred, sizeof(text));
  assert_memory_equal(in, text, sizeof(text));
  assert_int_equal(WinHttpWebSocketClose(a.w, 1000, NULL, 0), ERROR_SUCCESS);
  wait_for(a.w, WINHTTP_CALLBACK_STATUS_CLOSE_COMPLETE, 1);
  close_async(&a);
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
      cmocka_unit_test(test_echo_async),
      cmocka_unit_test(test_pending_send_and_receive),
      cmocka_unit_test(test_close_cancels_pending_receive),
      cmocka_unit_test(test_close_handle_cancels_receive),
      cmocka_unit_test(test_close_timeout_async),
      cmocka_unit_test(test_shutdown_then_server_close),
      cmocka_unit_test(test_protocol_error_async),
      cmocka_unit_test(test_deflate_async),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
