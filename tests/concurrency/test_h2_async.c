/* HTTP/2 through asynchronous sessions (WINHTTP_FLAG_ASYNC), against the
 * scriptable HTTP/2 server (tests/peers/h2server.py): each exchange is
 * driven from its callbacks (SENDREQUEST_COMPLETE -> ReceiveResponse,
 * HEADERS_AVAILABLE -> QueryDataAvailable, DATA_AVAILABLE -> ReadData,
 * READ_COMPLETE -> QueryDataAvailable until the empty read):
 *
 *  - one GET: Windows' order of notifications, HANDLE_CLOSING last and
 *    once, the head read as HTTP/2, the body exact;
 *  - 64 requests in flight at once on one session: every body exact, and
 *    all 64 open at once on one connection (/barrier?n=64);
 *  - closing a request whose ReceiveResponse is pending: REQUEST_ERROR
 *    (RECEIVE_RESPONSE, OPERATION_CANCELLED) then HANDLE_CLOSING, while
 *    another request on the same connection completes;
 *  - RST_STREAM: REQUEST_ERROR with CONNECTION_ERROR and the code in
 *    WINHTTP_OPTION_STREAM_ERROR_CODE; an upload echoed exactly.
 *
 * Each test starts its own h2server (ignoring its throwaway CA). The test
 * thread waits on a condition variable signalled by the callbacks, always
 * with a deadline: no sleeps, no unbounded waits. Runs under ThreadSanitizer:
 * everything the callbacks and the test thread share is under one mutex. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define WAIT_S 60

static struct wh_peer h2;

/* Everything the callbacks record, under |lock|, signalled on |cond|. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

struct areq {
  HINTERNET r;
  bool chain;            /* drive the exchange from the callbacks */
  DWORD statuses[512];
  size_t n;
  WINHTTP_ASYNC_RESULT error;
  bool done;             /* the empty read, or an error */
  int closing;           /* HANDLE_CLOSING count */
  bool after_closing;    /* anything after HANDLE_CLOSING */
  DWORD status_code;     /* from HEADERS_AVAILABLE */
  DWORD proto;           /* HTTP_PROTOCOL_USED at HEADERS_AVAILABLE */
  char *body;
  size_t len, cap;
  char buf[16384];       /* ReadData's buffer */
};

static struct areq *areq_new(bool chain)
{
  struct areq *a = calloc(1, sizeof(*a));
  assert_non_null(a);
  a->chain = chain;
  return a;
}

static void areq_free(struct areq *a)
{
  if (a) {
    free(a->body);
    free(a);
  }
}

static void append(struct areq *a, const void *p, size_t n)
{
  if (a->len + n + 1 > a->cap) {
    size_t cap = a->cap ? a->cap : 4096;
    while (a->len + n + 1 > cap)
      cap *= 2;
    char *nb = realloc(a->body, cap);
    if (!nb)
      abort();
    a->body = nb;
    a->cap = cap;
  }
  memcpy(a->body + a->len, p, n);
  a->len += n;
  a->body[a->len] = 0;
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct areq *a = (struct areq *)ctx;
  if (!a)
    return;
  DWORD code = 0, proto = 0;
  if (status == WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE) {
    /* Queries are allowed in the callback, outside our lock. */
    DWORD size = sizeof(code);
    if (!WinHttpQueryHeaders(h, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                             &code, &size, NULL))
      code = 0;
    size = sizeof(proto);
    if (!WinHttpQueryOption(h, WINHTTP_OPTION_HTTP_PROTOCOL_USED, &proto, &size))
      proto = 0xdeadbeef;
  }
  pthread_mutex_lock(&lock);
  if (a->closing)
    a->after_closing = true;
  if (a->n < NELEM(a->statuses))
    a->statuses[a->n++] = status;
  bool chain = a->chain && !a->done;
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    a->status_code = code;
    a->proto = proto;
    break;
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (len)
      append(a, info, len);
    else
      a->done = true;
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
    a->error = *(WINHTTP_ASYNC_RESULT *)info;
    a->done = true;
    chain = false;
    break;
  case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
    a->closing++;
    chain = false;
    break;
  default:
    break;
  }
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
  /* After HANDLE_CLOSING the test may free |a|: nothing touches it now. */
  if (!chain)
    return;
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    WinHttpReceiveResponse(h, NULL);
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    WinHttpQueryDataAvailable(h, NULL);
    break;
  case WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
    WinHttpReadData(h, a->buf, sizeof(a->buf), NULL);
    break;
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (len)
      WinHttpQueryDataAvailable(h, NULL);
    break;
  default:
    break;
  }
}

static struct timespec deadline_in(int seconds)
{
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += seconds;
  return dl;
}

/* Waits (|lock| held) on |cond| until |dl|; false once it has passed. */
static bool wait_until(const struct timespec *dl)
{
  return pthread_cond_timedwait(&cond, &lock, dl) != ETIMEDOUT;
}

static size_t count_of(const struct areq *a, DWORD status)
{
  size_t c = 0;
  for (size_t i = 0; i < a->n; i++)
    c += a->statuses[i] == status;
  return c;
}

/* Waits until |a| has seen |status| |count| times (or an error, unless
 * |status| is HANDLE_CLOSING). */
static void wait_status(struct areq *a, DWORD status, size_t count)
{
  struct timespec dl = deadline_in(WAIT_S);
  pthread_mutex_lock(&lock);
  bool ok = true;
  while (count_of(a, status) < count &&
         (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING || !a->error.dwError) && ok)
    ok = wait_until(&dl);
  pthread_mutex_unlock(&lock);
  if (!ok)
    fail_msg("notification 0x%lx never came", (unsigned long)status);
}

/* Waits until every one of |n| requests is done. */
static void wait_all_done(struct areq **a, size_t n)
{
  struct timespec dl = deadline_in(WAIT_S);
  pthread_mutex_lock(&lock);
  bool ok = true;
  for (;;) {
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
      done += a[i]->done;
    if (done == n || !ok)
      break;
    ok = wait_until(&dl);
  }
  pthread_mutex_unlock(&lock);
  if (!ok)
    fail_msg("not every request finished within %d s", WAIT_S);
}

static size_t index_of(const struct areq *a, DWORD status)
{
  for (size_t i = 0; i < a->n; i++)
    if (a->statuses[i] == status)
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

/* --- handles ------------------------------------------------------------------------- */

static void start_h2(const char *args)
{
  if (wh_peer_start_h2(&h2, args) != 0)
    fail_msg("cannot start h2server.py (python3-h2 installed?)");
}

static HINTERNET async_session(void)
{
  HINTERNET s = WinHttpOpen(L"h2-async", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL,
                            WINHTTP_FLAG_ASYNC);
  assert_non_null(s);
  DWORD v = WINHTTP_PROTOCOL_FLAG_HTTP2;
  assert_true(WinHttpSetOption(s, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, &v, sizeof(v)));
  assert_true(WinHttpSetTimeouts(s, 0, 10000, 20000, 20000));
  return s;
}

static HINTERNET async_connect(HINTERNET s)
{
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&h2), 0);
  assert_non_null(c);
  return c;
}

/* Opens |a|'s request (TLS, the peer's CA ignored) with the callback. */
static void open_areq(HINTERNET c, struct areq *a, const wchar_t *verb, const wchar_t *path)
{
  a->r = WinHttpOpenRequest(c, verb, path, NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(a->r);
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  assert_true(WinHttpSetOption(a->r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags)));
  DWORD_PTR ctx = (DWORD_PTR)a;
  assert_true(WinHttpSetOption(a->r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  assert_true(WinHttpSetStatusCallback(a->r, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS,
                                       0) != WINHTTP_INVALID_STATUS_CALLBACK);
}

/* Closes |a|'s request and waits for its HANDLE_CLOSING. Nothing may come
 * after that notification, so from here the test reads |a| without the
 * lock (the wait under it orders every earlier write before the reads),
 * and a failed assertion never leaves the lock held. */
static void close_areq(struct areq *a)
{
  assert_true(WinHttpCloseHandle(a->r));
  wait_status(a, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, 1);
  assert_int_equal(a->closing, 1);
  assert_false(a->after_closing);
  assert_int_equal(a->statuses[a->n - 1], WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
}

/* One chained GET of |path| on |c|; returns the finished request (closed;
 * free it). */
static struct areq *get_chained(HINTERNET c, const wchar_t *path)
{
  struct areq *a = areq_new(true);
  open_areq(c, a, L"GET", path);
  assert_true(WinHttpSendRequest(a->r, NULL, 0, NULL, 0, 0, 0));
  wait_all_done(&a, 1);
  close_areq(a);
  return a;
}

/* --- tests --------------------------------------------------------------------------- */

static void test_get_notification_order(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = async_session(), c = async_connect(s);
  struct areq *a = areq_new(true);
  open_areq(c, a, L"GET", L"/ok?len=50000");
  assert_true(WinHttpSendRequest(a->r, NULL, 0, NULL, 0, 0, 0));
  wait_all_done(&a, 1);
  /* The head is there for the test thread too. */
  DWORD v = 0, size = sizeof(v);
  assert_true(WinHttpQueryOption(a->r, WINHTTP_OPTION_HTTP_PROTOCOL_USED, &v, &size));
  assert_int_equal(v, WINHTTP_PROTOCOL_FLAG_HTTP2);
  WCHAR ver[16];
  size = sizeof(ver);
  assert_true(WinHttpQueryHeaders(a->r, WINHTTP_QUERY_VERSION, NULL, ver, &size, NULL));
  assert_true(wcscmp(ver, L"HTTP/2") == 0);
  close_areq(a);

  assert_int_equal(a->error.dwError, 0);
  assert_int_equal(a->status_code, 200);
  assert_int_equal(a->proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  assert_int_equal(a->len, 50000);
  assert_true(is_pattern(a->body, a->len));
  static const DWORD order[] = {
    WINHTTP_CALLBACK_STATUS_SENDING_REQUEST,    WINHTTP_CALLBACK_STATUS_REQUEST_SENT,
    WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE, WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE,
    WINHTTP_CALLBACK_STATUS_RESPONSE_RECEIVED,  WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE,
    WINHTTP_CALLBACK_STATUS_READ_COMPLETE,      WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING,
  };
  for (size_t i = 0; i < NELEM(order); i++) {
    size_t at = index_of(a, order[i]);
    if (at == (size_t)-1)
      fail_msg("notification 0x%lx missing", (unsigned long)order[i]);
    if (i && at <= index_of(a, order[i - 1]))
      fail_msg("notification 0x%lx before 0x%lx", (unsigned long)order[i],
               (unsigned long)order[i - 1]);
  }
  /* Every READ_COMPLETE after the head; exactly one HEADERS_AVAILABLE. */
  size_t head = index_of(a, WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE);
  for (size_t i = 0; i < head; i++)
    assert_int_not_equal(a->statuses[i], WINHTTP_CALLBACK_STATUS_READ_COMPLETE);
  assert_int_equal(count_of(a, WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE), 1);
  assert_int_equal(count_of(a, WINHTTP_CALLBACK_STATUS_REQUEST_ERROR), 0);
  areq_free(a);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* 64 requests started at once from the test thread on one session. First
 * bodies of many sizes (each exact), then 64 /barrier?n=64, which the
 * server answers only when all 64 streams are open at once on one
 * connection. A first request makes the connection exist. */
static void test_64_in_flight(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = async_session(), c = async_connect(s);
  struct areq *warm = get_chained(c, L"/conn");
  assert_int_equal(warm->status_code, 200);
  assert_int_equal(warm->proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  areq_free(warm);

  enum { N = 64 };
  for (int phase = 0; phase < 2; phase++) {
    struct areq *a[N];
    size_t want[N];
    for (size_t i = 0; i < N; i++) {
      wchar_t path[64];
      want[i] = phase ? 2 : (i * 7919) % 70001;
      if (phase)
        swprintf(path, NELEM(path), L"/barrier?n=%d&i=%zu", N, i);
      else
        swprintf(path, NELEM(path), L"/ok?len=%zu", want[i]);
      a[i] = areq_new(true);
      open_areq(c, a[i], L"GET", path);
    }
    for (size_t i = 0; i < N; i++)
      assert_true(WinHttpSendRequest(a[i]->r, NULL, 0, NULL, 0, 0, 0));
    wait_all_done(a, N);
    for (size_t i = 0; i < N; i++)
      close_areq(a[i]);
    for (size_t i = 0; i < N; i++) {
      if (a[i]->error.dwError)
        fail_msg("phase %d request %zu: REQUEST_ERROR api %lu error %lu", phase, i,
                 (unsigned long)a[i]->error.dwResult, (unsigned long)a[i]->error.dwError);
      if (a[i]->status_code != 200)
        fail_msg("phase %d request %zu: status %lu body %s", phase, i,
                 (unsigned long)a[i]->status_code, a[i]->body ? a[i]->body : "");
      assert_int_equal(a[i]->proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
      assert_int_equal(a[i]->len, want[i]);
      if (phase)
        assert_memory_equal(a[i]->body, "ok", 2);
      else
        assert_true(is_pattern(a[i]->body, a[i]->len));
      areq_free(a[i]);
    }
  }
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* ReceiveResponse pending on a head the server holds back; the handle is
 * closed: REQUEST_ERROR (RECEIVE_RESPONSE, OPERATION_CANCELLED), then
 * HANDLE_CLOSING last. Another request completes on the same connection
 * while the first waits, and after it is gone. */
static void test_close_cancels(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = async_session(), c = async_connect(s);
  struct areq *w = get_chained(c, L"/conn");
  unsigned first = 0, during = 0, after = 0;
  assert_int_equal(sscanf(w->body ? w->body : "", "%u", &first), 1);
  areq_free(w);

  struct areq *a = areq_new(false);
  open_areq(c, a, L"GET", L"/barrier?n=1000&ms=30000");
  assert_true(WinHttpSendRequest(a->r, NULL, 0, NULL, 0, 0, 0));
  wait_status(a, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE, 1);
  assert_true(WinHttpReceiveResponse(a->r, NULL));
  wait_status(a, WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE, 1);

  w = get_chained(c, L"/conn");
  assert_int_equal(sscanf(w->body ? w->body : "", "%u", &during), 1);
  areq_free(w);
  assert_int_equal(during, first);

  assert_true(WinHttpCloseHandle(a->r));
  wait_status(a, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, 1);
  assert_int_equal(a->error.dwResult, API_RECEIVE_RESPONSE);
  assert_int_equal(a->error.dwError, ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_true(index_of(a, WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) <
              index_of(a, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING));
  assert_int_equal(a->statuses[a->n - 1], WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  assert_int_equal(a->closing, 1);
  assert_false(a->after_closing);
  assert_int_equal(count_of(a, WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE), 0);
  areq_free(a);

  w = get_chained(c, L"/conn");
  assert_int_equal(sscanf(w->body ? w->body : "", "%u", &after), 1);
  areq_free(w);
  assert_int_equal(after, first);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* RST_STREAM before the head, and in the body. */
static void test_rst(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = async_session(), c = async_connect(s);
  static const struct {
    const wchar_t *path;
    DWORD api;
    DWORD code;
  } cases[] = {
    {L"/rst?code=8", API_RECEIVE_RESPONSE, 8},
    {L"/rst?at=body&code=2", API_READ_DATA, 2},
  };
  for (size_t i = 0; i < NELEM(cases); i++) {
    struct areq *a = areq_new(true);
    open_areq(c, a, L"GET", cases[i].path);
    assert_true(WinHttpSendRequest(a->r, NULL, 0, NULL, 0, 0, 0));
    wait_all_done(&a, 1);
    DWORD code = 0xdeadbeef, size = sizeof(code);
    assert_true(WinHttpQueryOption(a->r, WINHTTP_OPTION_STREAM_ERROR_CODE, &code, &size));
    close_areq(a);
    assert_int_equal(code, cases[i].code);
    assert_int_equal(a->error.dwError, ERROR_WINHTTP_CONNECTION_ERROR);
    /* Mid-body the failing call is ReadData, or QueryDataAvailable when it
     * is the one that meets the reset. */
    if (cases[i].api == API_READ_DATA)
      assert_true(a->error.dwResult == API_READ_DATA ||
                  a->error.dwResult == API_QUERY_DATA_AVAILABLE);
    else
      assert_int_equal(a->error.dwResult, cases[i].api);
    assert_true(a->len <= 10);
    areq_free(a);
  }
  /* The connection is fine. */
  struct areq *a = get_chained(c, L"/ok?len=1000");
  assert_int_equal(a->error.dwError, 0);
  assert_int_equal(a->len, 1000);
  areq_free(a);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* POST /echo with 300000 bytes given to SendRequest (beyond the initial
 * flow-control windows): echoed exactly. */
static void test_post_echo(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = async_session(), c = async_connect(s);
  size_t n = 300000;
  unsigned char *data = malloc(n);
  assert_non_null(data);
  for (size_t i = 0; i < n; i++)
    data[i] = (unsigned char)((i * 131u) ^ (i >> 9));
  struct areq *a = areq_new(true);
  open_areq(c, a, L"POST", L"/echo");
  assert_true(WinHttpSendRequest(a->r, NULL, 0, data, (DWORD)n, (DWORD)n, 0));
  wait_all_done(&a, 1);
  close_areq(a);
  assert_int_equal(a->error.dwError, 0);
  assert_int_equal(a->status_code, 200);
  assert_int_equal(a->proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  assert_int_equal(a->len, n);
  assert_memory_equal(a->body, data, n);
  areq_free(a);
  free(data);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static int per_test_teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&h2);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_get_notification_order, per_test_teardown),
    cmocka_unit_test_teardown(test_64_in_flight, per_test_teardown),
    cmocka_unit_test_teardown(test_close_cancels, per_test_teardown),
    cmocka_unit_test_teardown(test_rst, per_test_teardown),
    cmocka_unit_test_teardown(test_post_echo, per_test_teardown),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("h2_async", tests, NULL, NULL);
}
