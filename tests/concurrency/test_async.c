/* Asynchronous sessions (WINHTTP_FLAG_ASYNC) end to end against the fault
 * server: the calls return at once and the results arrive as completion
 * notifications on a loop thread, in Windows' order; a callback may start
 * the next operation itself; failures arrive as REQUEST_ERROR with the API
 * that failed; closing the handle cancels the operation in flight
 * (REQUEST_ERROR with OPERATION_CANCELLED), then HANDLE_CLOSING comes last
 * and exactly once (CONTRACT C7); a second operation while one is pending
 * is refused (C9). The test thread waits on a condition variable signalled
 * from the callbacks: no sleeps. Runs under ThreadSanitizer. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct wh_peer fault;
static struct wh_peer fault_tls;

/* What one request's callbacks saw. */
struct trace {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  DWORD statuses[256];
  size_t n;
  WINHTTP_ASYNC_RESULT error;
  DWORD last_dword;
  char body[70000];
  size_t body_len;
  bool chain;         /* drive the whole exchange from the callbacks */
  bool done;          /* the chain ended (last read, or an error) */
  int closing_count;
  bool after_closing; /* anything after HANDLE_CLOSING */
  char buf[4096];
  atomic_int active;  /* callbacks running now, for this request */
  int max_active;
  int max_depth;      /* deepest nesting of callbacks on one thread */
};

static _Thread_local int depth;

static void trace_init(struct trace *t)
{
  memset(t, 0, sizeof(*t));
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->cond, NULL);
}

static void trace_destroy(struct trace *t)
{
  pthread_mutex_destroy(&t->lock);
  pthread_cond_destroy(&t->cond);
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct trace *t = (struct trace *)ctx;
  if (!t)
    return;
  int now = atomic_fetch_add(&t->active, 1) + 1 - depth; /* other threads' callbacks */
  depth++;
  pthread_mutex_lock(&t->lock);
  if (now > t->max_active)
    t->max_active = now;
  if (depth > t->max_depth)
    t->max_depth = depth;
  if (t->closing_count)
    t->after_closing = true;
  if (t->n < sizeof(t->statuses) / sizeof(t->statuses[0]))
    t->statuses[t->n++] = status;
  if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING)
    t->closing_count++;
  if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) {
    t->error = *(WINHTTP_ASYNC_RESULT *)info;
    t->done = true;
  }
  if (status == WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE ||
      status == WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE)
    t->last_dword = *(DWORD *)info;
  if (status == WINHTTP_CALLBACK_STATUS_READ_COMPLETE) {
    if (len && t->body_len + len <= sizeof(t->body)) {
      memcpy(t->body + t->body_len, info, len);
      t->body_len += len;
    }
    t->last_dword = len;
    if (len == 0)
      t->done = true;
  }
  bool chain = t->chain && status != WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING;
  if (!chain) {
    /* Nothing may touch |t| once the waiter is woken: after HANDLE_CLOSING
     * the test frees it. */
    depth--;
    atomic_fetch_sub(&t->active, 1);
  }
  pthread_cond_broadcast(&t->cond);
  pthread_mutex_unlock(&t->lock);
  if (!chain)
    return;
  /* The typical asynchronous program: each completion starts the next
   * operation, from the loop thread, inside the callback. */
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    WinHttpReceiveResponse(h, NULL);
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    WinHttpQueryDataAvailable(h, NULL);
    break;
  case WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
    WinHttpReadData(h, t->buf, sizeof(t->buf), NULL);
    break;
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (len)
      WinHttpQueryDataAvailable(h, NULL);
    break;
  default:
    break;
  }
  depth--;
  atomic_fetch_sub(&t->active, 1);
}

/* Waits until |status| has been seen |count| times, or the chain is done. */
static void wait_for(struct trace *t, DWORD status, size_t count)
{
  pthread_mutex_lock(&t->lock);
  for (;;) {
    size_t seen = 0;
    for (size_t i = 0; i < t->n; i++)
      seen += t->statuses[i] == status;
    if (seen >= count || (status != WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING && t->error.dwError))
      break;
    pthread_cond_wait(&t->cond, &t->lock);
  }
  pthread_mutex_unlock(&t->lock);
}

static void wait_done(struct trace *t)
{
  pthread_mutex_lock(&t->lock);
  while (!t->done)
    pthread_cond_wait(&t->cond, &t->lock);
  pthread_mutex_unlock(&t->lock);
}

static size_t index_of(struct trace *t, DWORD status)
{
  for (size_t i = 0; i < t->n; i++)
    if (t->statuses[i] == status)
      return i;
  return (size_t)-1;
}

static int is_pattern(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + i % 26))
      return 0;
  return 1;
}

struct h3 {
  HINTERNET s, c, r;
};

static void open3(struct h3 *h, struct trace *t, const wchar_t *path, unsigned short port)
{
  h->s = WinHttpOpen(L"async-test", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(h->s);
  h->c = WinHttpConnect(h->s, L"127.0.0.1", port, 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(h->r);
  DWORD_PTR ctx = (DWORD_PTR)t;
  assert_true(WinHttpSetOption(h->r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  assert_true(WinHttpSetStatusCallback(h->r, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS,
                                       0) != WINHTTP_INVALID_STATUS_CALLBACK);
}

static void close3(struct h3 *h, struct trace *t)
{
  WinHttpCloseHandle(h->r);
  wait_for(t, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, 1);
  WinHttpCloseHandle(h->c);
  WinHttpCloseHandle(h->s);
}

/* Step by step from the test thread: each call returns TRUE at once and
 * its completion follows. */
static void test_get_step_by_step(void **state)
{
  (void)state;
  struct trace t;
  trace_init(&t);
  struct h3 h;
  open3(&h, &t, L"/ok?n=5000", wh_peer_port(&fault));
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE, 1);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE, 1);
  DWORD code = 0, size = sizeof(code);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &code, &size, NULL));
  assert_int_equal(code, 200);
  size_t reads = 0;
  while (!t.done) {
    assert_true(WinHttpQueryDataAvailable(h.r, NULL));
    wait_for(&t, WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE, reads + 1);
    assert_true(WinHttpReadData(h.r, t.buf, sizeof(t.buf), NULL));
    wait_for(&t, WINHTTP_CALLBACK_STATUS_READ_COMPLETE, ++reads);
  }
  assert_int_equal(t.error.dwError, 0);
  assert_int_equal(t.body_len, 5000);
  assert_true(is_pattern(t.body, t.body_len));
  /* Windows' order: sending before sent before the completion, then the
   * response notifications before HEADERS_AVAILABLE. */
  assert_true(index_of(&t, WINHTTP_CALLBACK_STATUS_SENDING_REQUEST) <
              index_of(&t, WINHTTP_CALLBACK_STATUS_REQUEST_SENT));
  assert_true(index_of(&t, WINHTTP_CALLBACK_STATUS_REQUEST_SENT) <
              index_of(&t, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE));
  assert_true(index_of(&t, WINHTTP_CALLBACK_STATUS_RESPONSE_RECEIVED) <
              index_of(&t, WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE));
  close3(&h, &t);
  assert_int_equal(t.closing_count, 1);
  assert_false(t.after_closing);
  trace_destroy(&t);
}

/* The whole exchange driven from inside the callbacks. */
static void test_get_chained_in_callbacks(void **state)
{
  (void)state;
  struct trace t;
  trace_init(&t);
  t.chain = true;
  struct h3 h;
  open3(&h, &t, L"/chunked?n=60000&chunks=9", wh_peer_port(&fault));
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  wait_done(&t);
  assert_int_equal(t.error.dwError, 0);
  assert_int_equal(t.body_len, 60000);
  assert_true(is_pattern(t.body, t.body_len));
  /* Buffered data completes inline, nested (Windows caps the depth at 3;
   * Wine's test_recursion wants at least 2), and never two callbacks of
   * one request at once. */
  assert_true(t.max_depth >= 2);
  assert_true(t.max_depth <= 4); /* 3 nested completions inside the first callback */
  assert_int_equal(t.max_active, 1);
  close3(&h, &t);
  assert_int_equal(t.closing_count, 1);
  assert_false(t.after_closing);
  trace_destroy(&t);
}

static void test_refused_is_request_error(void **state)
{
  (void)state;
  struct trace t;
  trace_init(&t);
  struct h3 h;
  open3(&h, &t, L"/", 1); /* port 1: nothing listens */
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  wait_done(&t);
  assert_int_equal(t.error.dwResult, API_SEND_REQUEST);
  assert_int_equal(t.error.dwError, ERROR_WINHTTP_CANNOT_CONNECT);
  assert_int_equal(index_of(&t, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE), (size_t)-1);
  close3(&h, &t);
  trace_destroy(&t);
}

/* Close while ReceiveResponse waits on a server that never answers:
 * REQUEST_ERROR(OPERATION_CANCELLED) for RECEIVE_RESPONSE, then
 * HANDLE_CLOSING last, once. A second operation meanwhile is refused. */
static void test_close_cancels(void **state)
{
  (void)state;
  struct trace t;
  trace_init(&t);
  struct h3 h;
  open3(&h, &t, L"/stall", wh_peer_port(&fault));
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE, 1);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE, 1);
  /* C9: one operation at a time */
  SetLastError(0xdeadbeef);
  assert_false(WinHttpQueryDataAvailable(h.r, NULL));
  assert_int_equal(GetLastError(), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_true(WinHttpCloseHandle(h.r));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, 1);
  assert_int_equal(t.error.dwResult, API_RECEIVE_RESPONSE);
  assert_int_equal(t.error.dwError, ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_true(index_of(&t, WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) <
              index_of(&t, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING));
  assert_int_equal(t.statuses[t.n - 1], WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  assert_int_equal(t.closing_count, 1);
  assert_false(t.after_closing);
  WinHttpCloseHandle(h.c);
  WinHttpCloseHandle(h.s);
  trace_destroy(&t);
}

/* ReceiveResponse out of sequence on an asynchronous request (before
 * SendRequest, or a second time): TRUE, then REQUEST_ERROR (API 1,
 * INCORRECT_HANDLE_STATE) delivered on the calling thread before the call
 * returns, as Windows does (Wine's test_async, run on Windows). */
static void test_receive_out_of_sequence(void **state)
{
  (void)state;
  struct trace t;
  trace_init(&t);
  struct h3 h;
  open3(&h, &t, L"/ok?n=10", wh_peer_port(&fault));
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  pthread_mutex_lock(&t.lock);
  assert_int_equal(t.error.dwResult, API_RECEIVE_RESPONSE);
  assert_int_equal(t.error.dwError, ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  memset(&t.error, 0, sizeof(t.error));
  t.done = false;
  pthread_mutex_unlock(&t.lock);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE, 1);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE, 1);
  assert_int_equal(t.error.dwError, 0);
  /* Twice. (Inline unless the loop thread is still inside the
   * HEADERS_AVAILABLE callback: then the error waits for it to return.) */
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_REQUEST_ERROR, 2); /* the first came before SendRequest */
  pthread_mutex_lock(&t.lock);
  assert_int_equal(t.error.dwResult, API_RECEIVE_RESPONSE);
  assert_int_equal(t.error.dwError, ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  memset(&t.error, 0, sizeof(t.error));
  pthread_mutex_unlock(&t.lock);
  /* The request is undisturbed: its body can still be read. */
  char buf[32];
  assert_true(WinHttpReadData(h.r, buf, sizeof(buf), NULL));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_READ_COMPLETE, 1);
  close3(&h, &t);
  assert_int_equal(t.closing_count, 1);
  assert_false(t.after_closing);
  trace_destroy(&t);
}

/* Two threads calling ReceiveResponse out of sequence at once: each TRUE
 * gets exactly one REQUEST_ERROR, each FALSE (the side busy with the other
 * thread's call, C9) gets none, and the errors never run on two threads at
 * once. */
struct racer {
  HINTERNET r;
  pthread_barrier_t *go;
  int accepted;
};

static void *receive_racer(void *arg)
{
  struct racer *rc = arg;
  pthread_barrier_wait(rc->go);
  for (int i = 0; i < 50; i++)
    if (WinHttpReceiveResponse(rc->r, NULL))
      rc->accepted++;
  return NULL;
}

static void test_receive_out_of_sequence_racing(void **state)
{
  (void)state;
  struct trace t;
  trace_init(&t);
  struct h3 h;
  open3(&h, &t, L"/ok?n=10", wh_peer_port(&fault));
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE, 1);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE, 1);
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, 2);
  struct racer a = {h.r, &go, 0}, b = {h.r, &go, 0};
  pthread_t ta, tb;
  assert_int_equal(pthread_create(&ta, NULL, receive_racer, &a), 0);
  assert_int_equal(pthread_create(&tb, NULL, receive_racer, &b), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  pthread_barrier_destroy(&go);
  close3(&h, &t);
  size_t errors = 0;
  for (size_t i = 0; i < t.n; i++)
    if (t.statuses[i] == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR)
      errors++;
  assert_true(a.accepted + b.accepted > 0);
  assert_int_equal(errors, (size_t)(a.accepted + b.accepted));
  assert_true(t.max_active <= 1);
  assert_int_equal(t.closing_count, 1);
  assert_false(t.after_closing);
  trace_destroy(&t);
}

static void test_timeout_is_request_error(void **state)
{
  (void)state;
  struct trace t;
  trace_init(&t);
  struct h3 h;
  open3(&h, &t, L"/stall", wh_peer_port(&fault));
  DWORD ms = 300;
  assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &ms, sizeof(ms)));
  t.chain = true;
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  wait_done(&t);
  assert_int_equal(t.error.dwResult, API_RECEIVE_RESPONSE);
  assert_int_equal(t.error.dwError, ERROR_WINHTTP_TIMEOUT);
  close3(&h, &t);
  trace_destroy(&t);
}

static long mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The bounded waits for the response head, asynchronously: |path| with the
 * receive timeout |recv_ms| (WinHttpSetTimeouts) and, when nonzero,
 * RECEIVE_RESPONSE_TIMEOUT |head_ms|, fails ReceiveResponse with
 * ERROR_WINHTTP_TIMEOUT after about |expect_ms|. */
static void expect_head_timeout(const wchar_t *path, int recv_ms, DWORD head_ms, long expect_ms)
{
  struct trace t;
  trace_init(&t);
  struct h3 h;
  open3(&h, &t, path, wh_peer_port(&fault));
  assert_true(WinHttpSetTimeouts(h.r, 0, 5000, 5000, recv_ms));
  if (head_ms)
    assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &head_ms,
                                 sizeof(head_ms)));
  t.chain = true;
  long t0 = mono_ms();
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  wait_done(&t);
  long took = mono_ms() - t0;
  assert_int_equal(t.error.dwResult, API_RECEIVE_RESPONSE);
  assert_int_equal(t.error.dwError, ERROR_WINHTTP_TIMEOUT);
  assert_true(took >= expect_ms - 50);
  assert_true(took < expect_ms + 1500);
  close3(&h, &t);
  trace_destroy(&t);
}

static void test_stall_receive_timeout_bounds_head(void **state)
{
  (void)state;
  /* A server that takes the request and never answers: the receive
   * timeout alone ends the wait. */
  expect_head_timeout(L"/stall", 300, 0, 300);
}

static void test_drip_head_response_timeout(void **state)
{
  (void)state;
  /* A head dripped a byte every 100 ms restarts the 2 s receive timeout
   * forever; RECEIVE_RESPONSE_TIMEOUT bounds the whole head. */
  expect_head_timeout(L"/drip?n=20&ms=100", 2000, 600, 600);
}

/* POST with the body streamed by WriteData: WRITE_COMPLETE reports the
 * bytes written; the server saw the whole body. */
static void test_post_with_write_data(void **state)
{
  (void)state;
  struct trace t;
  trace_init(&t);
  struct h3 h;
  h.s = WinHttpOpen(L"async-test", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  h.c = WinHttpConnect(h.s, L"127.0.0.1", wh_peer_port(&fault), 0);
  h.r = WinHttpOpenRequest(h.c, L"POST", L"/echo", NULL, NULL, NULL, 0);
  DWORD_PTR ctx = (DWORD_PTR)&t;
  assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  WinHttpSetStatusCallback(h.r, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  static char first[] = "hello", rest[] = " world";
  assert_true(WinHttpSendRequest(h.r, NULL, 0, first, 5, 11, 0));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE, 1);
  assert_true(WinHttpWriteData(h.r, rest, 6, NULL));
  wait_for(&t, WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE, 1);
  assert_int_equal(t.last_dword, 6);
  pthread_mutex_lock(&t.lock);
  t.chain = true;
  pthread_mutex_unlock(&t.lock);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  wait_done(&t);
  assert_int_equal(t.error.dwError, 0);
  t.body[t.body_len < sizeof(t.body) ? t.body_len : sizeof(t.body) - 1] = '\0';
  assert_non_null(strstr(t.body, "Content-Length: 11\r\n"));
  assert_non_null(strstr(t.body, "\r\n\r\nhello world"));
  close3(&h, &t);
  trace_destroy(&t);
}

/* A close-delimited body over TLS ends at close_notify; a bare TCP close
 * in its place (a possible truncation) fails the read after the bytes that
 * arrived, as in synchronous mode (test_sync_tls). */
static void test_tls_close_delimited(void **state)
{
  (void)state;
  for (int bare = 0; bare < 2; bare++) {
    struct trace t;
    trace_init(&t);
    t.chain = true;
    struct h3 h;
    h.s = WinHttpOpen(L"async-test", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
    h.c = WinHttpConnect(h.s, L"localhost", wh_peer_port(&fault_tls), 0);
    h.r = WinHttpOpenRequest(h.c, L"GET", bare ? L"/close-abort?n=9000" : L"/close?n=9000", NULL,
                             NULL, NULL, WINHTTP_FLAG_SECURE);
    assert_non_null(h.r);
    DWORD_PTR ctx = (DWORD_PTR)&t;
    assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
    WinHttpSetStatusCallback(h.r, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
    assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
    wait_done(&t);
    if (bare) {
      assert_int_equal(t.error.dwError, ERROR_WINHTTP_CONNECTION_ERROR);
      assert_true(t.error.dwResult == API_QUERY_DATA_AVAILABLE ||
                  t.error.dwResult == API_READ_DATA);
    } else {
      assert_int_equal(t.error.dwError, 0);
    }
    assert_int_equal(t.body_len, 9000);
    assert_true(is_pattern(t.body, t.body_len));
    close3(&h, &t);
    trace_destroy(&t);
  }
}

static int setup(void **state)
{
  (void)state;
  if (wh_peer_start_fault(&fault) != 0 || wh_peer_start_fault_tls(&fault_tls, WH_CERT_GOOD) != 0)
    return -1;
  /* Trust the TLS fault server's CA before the first TLS request. */
  return setenv("SSL_CERT_FILE", wh_peer_ca_file(&fault_tls), 1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  wh_peer_stop(&fault);
  wh_peer_stop(&fault_tls);
  wh_pool_clear();
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_step_by_step),
      cmocka_unit_test(test_get_chained_in_callbacks),
      cmocka_unit_test(test_refused_is_request_error),
      cmocka_unit_test(test_close_cancels),
      cmocka_unit_test(test_receive_out_of_sequence),
      cmocka_unit_test(test_receive_out_of_sequence_racing),
      cmocka_unit_test(test_timeout_is_request_error),
      cmocka_unit_test(test_stall_receive_timeout_bounds_head),
      cmocka_unit_test(test_drip_head_response_timeout),
      cmocka_unit_test(test_post_with_write_data),
      cmocka_unit_test(test_tls_close_delimited),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
