/* Argument and handle checks of the request functions (SendRequest,
 * WriteData, ReceiveResponse, QueryDataAvailable, ReadData, ReadDataEx) on
 * synchronous sessions, the bytes WriteData puts on the wire, and two
 * concurrency contracts:
 *
 *  - C9: while a blocking call runs on a request, a second call on the same
 *    request from another thread fails with INCORRECT_HANDLE_STATE and the
 *    first one is undisturbed (it ends with its own timeout);
 *  - C6: WinHttpCloseHandle from another thread ends a blocked
 *    ReceiveResponse promptly with OPERATION_CANCELLED, then HANDLE_CLOSING
 *    arrives exactly once, last.
 *
 * The blocked call is known to have started through the RECEIVING_RESPONSE
 * notification, which the engine delivers on the blocked thread just before
 * it waits: the callback meets the main thread at a barrier. No sleeps.
 *
 * Peer: the fault server (group setup). */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

static struct wh_peer fault;
static struct wh_rec rec;

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rec_reset(void)
{
  pthread_mutex_lock(&rec.lock);
  rec.n = 0;
  pthread_mutex_unlock(&rec.lock);
}

struct h3 {
  HINTERNET s, c, r;
};

static void open3(struct h3 *h, const wchar_t *verb, const wchar_t *path, WINHTTP_STATUS_CALLBACK cb)
{
  h->s = WinHttpOpen(L"sync-api", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(h->s);
  WinHttpSetStatusCallback(h->s, cb ? cb : wh_rec_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  h->c = WinHttpConnect(h->s, L"127.0.0.1", wh_peer_port(&fault), 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, verb, path, NULL, NULL, NULL, 0);
  assert_non_null(h->r);
}

static void close3(struct h3 *h)
{
  if (h->r)
    assert_true(WinHttpCloseHandle(h->r));
  assert_true(WinHttpCloseHandle(h->c));
  assert_true(WinHttpCloseHandle(h->s));
}

/* --- handle checks ------------------------------------------------------------------------- */

static void test_invalid_handles(void **state)
{
  (void)state;
  char buf[8];
  DWORD n = 0;
  HINTERNET bogus = (HINTERNET)(uintptr_t)0x7777777;
  HINTERNET handles[2] = {NULL, bogus};
  for (int i = 0; i < 2; i++) {
    HINTERNET h = handles[i];
    SetLastError(0);
    assert_false(WinHttpSendRequest(h, NULL, 0, NULL, 0, 0, 0));
    assert_last_error(ERROR_INVALID_HANDLE);
    assert_false(WinHttpWriteData(h, buf, 1, &n));
    assert_last_error(ERROR_INVALID_HANDLE);
    assert_false(WinHttpReceiveResponse(h, NULL));
    assert_last_error(ERROR_INVALID_HANDLE);
    assert_false(WinHttpQueryDataAvailable(h, &n));
    assert_last_error(ERROR_INVALID_HANDLE);
    assert_false(WinHttpReadData(h, buf, sizeof(buf), &n));
    assert_last_error(ERROR_INVALID_HANDLE);
    assert_int_equal(WinHttpReadDataEx(h, buf, sizeof(buf), &n, 0, 0, NULL), ERROR_INVALID_HANDLE);
  }
}

static void test_wrong_handle_types(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/ok", NULL);
  char buf[8];
  DWORD n = 0;
  HINTERNET wrong[2] = {h.s, h.c};
  for (int i = 0; i < 2; i++) {
    HINTERNET x = wrong[i];
    assert_false(WinHttpSendRequest(x, NULL, 0, NULL, 0, 0, 0));
    assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
    assert_false(WinHttpWriteData(x, buf, 1, &n));
    assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
    assert_false(WinHttpReceiveResponse(x, NULL));
    assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
    assert_false(WinHttpQueryDataAvailable(x, &n));
    assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
    assert_false(WinHttpReadData(x, buf, sizeof(buf), &n));
    assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
    assert_int_equal(WinHttpReadDataEx(x, buf, sizeof(buf), &n, 0, 0, NULL),
                     ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  }
  close3(&h);
}

static void test_closed_handle(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/ok", NULL);
  HINTERNET r = h.r;
  assert_true(WinHttpCloseHandle(r));
  h.r = NULL;
  char buf[8];
  DWORD n;
  assert_false(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  assert_last_error(ERROR_INVALID_HANDLE);
  assert_false(WinHttpReadData(r, buf, sizeof(buf), &n));
  assert_last_error(ERROR_INVALID_HANDLE);
  close3(&h);
}

/* --- SendRequest -------------------------------------------------------------------------------- */

static void test_send_request_args(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/echo", NULL);
  /* Headers NULL with a length. */
  assert_false(WinHttpSendRequest(h.r, NULL, 5, NULL, 0, 0, 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  /* A header with CR/LF injection or without a colon is refused. */
  assert_false(WinHttpSendRequest(h.r, L"X-A: 1\r\nbroken", (DWORD)-1, NULL, 0, 0, 0));
  assert_last_error(ERROR_WINHTTP_INVALID_HEADER);
  /* Then a good send works on the same handle, with its extra header. */
  assert_true(WinHttpSendRequest(h.r, L"X-Extra: yes", (DWORD)-1, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  char buf[2048];
  DWORD got = 0;
  assert_true(WinHttpReadData(h.r, buf, sizeof(buf) - 1, &got));
  buf[got] = 0;
  assert_non_null(strstr(buf, "\r\nX-Extra: yes\r\n"));
  close3(&h);
}

static void test_send_context_replaces(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/ok", NULL);
  DWORD_PTR ctx = 0;
  DWORD size = sizeof(ctx);
  /* The recorder is the default one; a context of 0 keeps using it, and a
   * non-zero one replaces the handle's value (Wine's test, on Windows). */
  WinHttpSetStatusCallback(h.r, NULL, 0, 0);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, (DWORD_PTR)0xdeadbef0));
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, &size));
  assert_int_equal(ctx, 0xdeadbef0);
  close3(&h);
}

/* --- WriteData ------------------------------------------------------------------------------------ */

static void test_write_data_args(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, L"POST", L"/echo", NULL);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, "ab", 2, 10, 0));
  DWORD n = 0xdeadbeef;
  /* NULL count. */
  assert_false(WinHttpWriteData(h.r, "cd", 2, NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  /* NULL buffer with a length. */
  assert_false(WinHttpWriteData(h.r, NULL, 2, &n));
  assert_last_error(ERROR_INVALID_PARAMETER);
  /* More than what remains of the declared total (8 bytes). */
  n = 0xdeadbeef;
  assert_false(WinHttpWriteData(h.r, "123456789", 9, &n));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_int_equal(n, 0xdeadbeef);
  /* Nothing of that went out: the 8 bytes still fit. */
  assert_true(WinHttpWriteData(h.r, "cdef", 4, &n));
  assert_int_equal(n, 4);
  assert_true(WinHttpWriteData(h.r, "", 0, &n)); /* an empty write is harmless */
  assert_int_equal(n, 0);
  assert_true(WinHttpWriteData(h.r, "ghij", 4, &n));
  assert_int_equal(n, 4);
  /* All declared bytes are out: one more is past the length. */
  n = 0xdeadbeef;
  assert_false(WinHttpWriteData(h.r, "k", 1, &n));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_int_equal(n, 0xdeadbeef);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  WCHAR v[16];
  DWORD size = sizeof(v);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CUSTOM, L"X-Echo-Body-Length", v, &size, NULL));
  assert_true(wcscmp(v, L"10") == 0);
  char buf[2048];
  DWORD got = 0;
  assert_true(WinHttpReadData(h.r, buf, sizeof(buf) - 1, &got));
  buf[got] = 0;
  char *body = strstr(buf, "\r\n\r\n");
  assert_non_null(body);
  assert_string_equal(body + 4, "abcdefghij");
  assert_non_null(strstr(buf, "\r\nContent-Length: 10\r\n"));
  close3(&h);
}

static void test_write_data_all_in_send(void **state)
{
  (void)state;
  /* Everything went with SendRequest: WriteData is past the declared length
   * (Windows 7 and later; Wine's test_WinHttpSendRequest), the count is left
   * alone. */
  struct h3 h;
  open3(&h, L"POST", L"/echo", NULL);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, "mode=Test", 9, 9, 0));
  DWORD n = 0xdeadbeef;
  assert_false(WinHttpWriteData(h.r, "x", 1, &n));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_int_equal(n, 0xdeadbeef);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  close3(&h);
}

/* --- ReceiveResponse / reads ---------------------------------------------------------------------- */

static void test_receive_reserved(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/ok", NULL);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  int dummy;
  assert_false(WinHttpReceiveResponse(h.r, &dummy));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  close3(&h);
}

static void test_read_args(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/ok?n=100", NULL);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  char buf[200];
  DWORD n = 0;
  /* NULL count. */
  assert_false(WinHttpReadData(h.r, buf, sizeof(buf), NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpReadDataEx(h.r, buf, sizeof(buf), NULL, 0, 0, NULL), ERROR_INVALID_PARAMETER);
  /* NULL buffer with a length. */
  assert_false(WinHttpReadData(h.r, NULL, 10, &n));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpReadDataEx(h.r, NULL, 10, &n, 0, 0, NULL), ERROR_INVALID_PARAMETER);
  /* ReadDataEx: reserved arguments and unknown flags. */
  char prop[4];
  assert_int_equal(WinHttpReadDataEx(h.r, buf, sizeof(buf), &n, 0, 4, NULL), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpReadDataEx(h.r, buf, sizeof(buf), &n, 0, 0, prop), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpReadDataEx(h.r, buf, sizeof(buf), &n, 2, 0, NULL), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpReadDataEx(h.r, buf, sizeof(buf), &n, (ULONGLONG)1 << 40, 0, NULL),
                   ERROR_INVALID_PARAMETER);
  /* A zero-length read reads nothing and succeeds. */
  n = 1234;
  assert_true(WinHttpReadData(h.r, buf, 0, &n));
  assert_int_equal(n, 0);
  /* None of that consumed anything: the body is whole. */
  n = 0;
  assert_int_equal(WinHttpReadDataEx(h.r, buf, sizeof(buf), &n, WINHTTP_READ_DATA_EX_FLAG_FILL_BUFFER, 0, NULL),
                   ERROR_SUCCESS);
  assert_int_equal(n, 100);
  for (DWORD i = 0; i < n; i++)
    assert_int_equal(buf[i], 'a' + (int)(i % 26));
  close3(&h);
}

static void test_query_data_available_null(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/ok?n=10", NULL);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  assert_true(WinHttpQueryDataAvailable(h.r, NULL));
  DWORD n = 0;
  assert_true(WinHttpQueryDataAvailable(h.r, &n));
  assert_int_equal(n, 10);
  close3(&h);
}

/* --- C9 and C6 ---------------------------------------------------------------------------------- */

/* A callback that releases a barrier the first time |trigger| is delivered
 * for |req|, on the thread that delivers it. */
struct blocker {
  pthread_barrier_t barrier;
  HINTERNET req;
  DWORD trigger;
  atomic_int fired;
  /* the blocked call's outcome */
  BOOL ok;
  DWORD err;
  long started, ended;
};

static struct blocker blk;

static void CALLBACK blocking_callback(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  wh_rec_callback(h, ctx, status, info, len);
  if (status == blk.trigger && h == blk.req && atomic_exchange(&blk.fired, 1) == 0)
    pthread_barrier_wait(&blk.barrier);
}

static void *receive_thread(void *arg)
{
  (void)arg;
  blk.started = now_ms();
  SetLastError(0);
  blk.ok = WinHttpReceiveResponse(blk.req, NULL);
  blk.err = GetLastError();
  blk.ended = now_ms();
  return NULL;
}

/* Sends GET /stall, then starts ReceiveResponse on another thread and
 * returns once that call has announced RECEIVING_RESPONSE. */
static void start_blocked_receive(struct h3 *h, DWORD response_timeout, pthread_t *t)
{
  wh_pool_clear();
  rec_reset();
  memset(&blk, 0, sizeof(blk));
  assert_int_equal(pthread_barrier_init(&blk.barrier, NULL, 2), 0);
  open3(h, NULL, L"/stall", blocking_callback);
  assert_true(WinHttpSetTimeouts(h->r, 0, 5000, 5000, 5000));
  assert_true(WinHttpSetOption(h->r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &response_timeout,
                               sizeof(response_timeout)));
  blk.req = h->r;
  blk.trigger = WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE;
  assert_true(WinHttpSendRequest(h->r, NULL, 0, NULL, 0, 0, 0));
  assert_int_equal(pthread_create(t, NULL, receive_thread, NULL), 0);
  pthread_barrier_wait(&blk.barrier);
}

static void test_c9_second_call_refused(void **state)
{
  (void)state;
  struct h3 h;
  pthread_t t;
  const DWORD timeout = 800;
  start_blocked_receive(&h, timeout, &t);
  /* ReceiveResponse is blocked on the other thread: every operation on the
   * same request is out of state, and changes nothing. */
  char buf[16];
  DWORD n = 0xdeadbeef;
  assert_false(WinHttpReceiveResponse(h.r, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_false(WinHttpQueryDataAvailable(h.r, &n));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_false(WinHttpReadData(h.r, buf, sizeof(buf), &n));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(WinHttpReadDataEx(h.r, buf, sizeof(buf), &n, 0, 0, NULL),
                   ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  /* Microsoft: ReadDataEx zeroes the count before any checking. */
  assert_int_equal(n, 0);
  n = 0xdeadbeef;
  assert_false(WinHttpWriteData(h.r, "x", 1, &n));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_false(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(n, 0xdeadbeef);
  /* The first call ends with its own timeout, undisturbed. */
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_false(blk.ok);
  assert_int_equal(blk.err, ERROR_WINHTTP_TIMEOUT);
  long took = blk.ended - blk.started;
  assert_true(took >= (long)timeout - 50);
  assert_true(took < (long)timeout + 1500);
  /* Exactly one RECEIVING_RESPONSE: the refused calls announced nothing. */
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE), 1);
  pthread_barrier_destroy(&blk.barrier);
  close3(&h);
}

static void test_c6_close_cancels_receive(void **state)
{
  (void)state;
  struct h3 h;
  pthread_t t;
  start_blocked_receive(&h, 30000, &t);
  HINTERNET r = h.r;
  long t0 = now_ms();
  assert_true(WinHttpCloseHandle(r));
  h.r = NULL;
  assert_int_equal(pthread_join(t, NULL), 0);
  long took = blk.ended - t0;
  assert_false(blk.ok);
  assert_int_equal(blk.err, ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_true(took < 2000); /* promptly, not at the 30 s timeout */
  /* HANDLE_CLOSING for the request exactly once, and last for it. */
  assert_int_equal(wh_rec_count(&rec, r, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING), 1);
  long closing = wh_rec_find(&rec, r, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  pthread_mutex_lock(&rec.lock);
  long last = -1;
  for (size_t i = 0; i < rec.n; i++)
    if (rec.e[i].handle == r)
      last = (long)i;
  pthread_mutex_unlock(&rec.lock);
  assert_int_equal(closing, last);
  /* The handle is gone. */
  DWORD n;
  assert_false(WinHttpQueryDataAvailable(r, &n));
  assert_last_error(ERROR_INVALID_HANDLE);
  pthread_barrier_destroy(&blk.barrier);
  close3(&h);
  /* The parents closed normally, each once. */
  assert_int_equal(wh_rec_count(&rec, h.c, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING), 1);
  assert_int_equal(wh_rec_count(&rec, h.s, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING), 1);
}

static void test_c6_close_session_first(void **state)
{
  (void)state;
  /* Closing the session (the request's ancestor) does not cancel the
   * request; closing the request then does. */
  struct h3 h;
  pthread_t t;
  start_blocked_receive(&h, 30000, &t);
  assert_true(WinHttpCloseHandle(h.s));
  assert_true(WinHttpCloseHandle(h.c));
  long t0 = now_ms();
  assert_true(WinHttpCloseHandle(h.r));
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_false(blk.ok);
  assert_int_equal(blk.err, ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_true(blk.ended - t0 < 2000);
  /* Request, connection, session: each closes once, in that order. */
  long cr = wh_rec_find(&rec, h.r, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  long cc = wh_rec_find(&rec, h.c, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  long cs = wh_rec_find(&rec, h.s, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  assert_true(cr >= 0);
  assert_true(cc > cr);
  assert_true(cs > cc);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING), 3);
  pthread_barrier_destroy(&blk.barrier);
}

static int setup(void **state)
{
  (void)state;
  wh_rec_init(&rec);
  wh_rec_set_default(&rec);
  return wh_peer_start_fault(&fault) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault);
  wh_rec_set_default(NULL);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_invalid_handles),
    cmocka_unit_test(test_wrong_handle_types),
    cmocka_unit_test(test_closed_handle),
    cmocka_unit_test(test_send_request_args),
    cmocka_unit_test(test_send_context_replaces),
    cmocka_unit_test(test_write_data_args),
    cmocka_unit_test(test_write_data_all_in_send),
    cmocka_unit_test(test_receive_reserved),
    cmocka_unit_test(test_read_args),
    cmocka_unit_test(test_query_data_available_null),
    cmocka_unit_test(test_c9_second_call_refused),
    cmocka_unit_test(test_c6_close_cancels_receive),
    cmocka_unit_test(test_c6_close_session_first),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("sync_api", tests, setup, teardown);
}
