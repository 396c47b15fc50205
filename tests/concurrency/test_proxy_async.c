/* Named proxies on asynchronous sessions (WINHTTP_FLAG_ASYNC), against the
 * scriptable proxy (tests/peers/proxyserver.py): an http:// request (to the
 * fault server, absolute form) and an https:// request (to nginx, through a
 * CONNECT tunnel) complete from the callbacks, each operation started by the
 * completion of the one before, with the right body; the proxy's report
 * shows what went through it; a refused proxy fails with REQUEST_ERROR
 * (CANNOT_CONNECT from SendRequest). The test thread waits on a condition
 * variable signalled from the callbacks, with a deadline: no sleeps. */
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

static struct wh_peer fault;
static struct wh_peer nginx;
static struct wh_peer px;

#define BODY_MAX (1024 * 1024 + 1)

/* What one request's callbacks saw. */
struct trace {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool done;                 /* the last read, or an error */
  bool closing;              /* HANDLE_CLOSING came */
  WINHTTP_ASYNC_RESULT error;
  bool sent, headers;
  char *body;
  size_t body_len;
  bool overflow;
  char buf[16384];
};

static void trace_init(struct trace *t)
{
  memset(t, 0, sizeof(*t));
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->cond, NULL);
  t->body = malloc(BODY_MAX);
  assert_non_null(t->body);
}

static void trace_destroy(struct trace *t)
{
  free(t->body);
  pthread_mutex_destroy(&t->lock);
  pthread_cond_destroy(&t->cond);
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct trace *t = (struct trace *)ctx;
  if (!t)
    return;
  enum { NONE, RECEIVE, QUERY, READ } next = NONE;
  pthread_mutex_lock(&t->lock);
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    t->sent = true;
    next = RECEIVE;
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    t->headers = true;
    next = QUERY;
    break;
  case WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
    next = READ;
    break;
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (len == 0) {
      t->done = true;
    } else {
      if (t->body_len + len <= BODY_MAX) {
        memcpy(t->body + t->body_len, info, len);
        t->body_len += len;
      } else {
        t->overflow = true;
      }
      next = QUERY;
    }
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
    t->error = *(WINHTTP_ASYNC_RESULT *)info;
    t->done = true;
    break;
  case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
    t->closing = true;
    break;
  default:
    break;
  }
  pthread_cond_broadcast(&t->cond);
  pthread_mutex_unlock(&t->lock);
  /* Nothing touches |t| after HANDLE_CLOSING (next is NONE then): the test
   * frees it once it has seen that. */
  switch (next) {
  case RECEIVE:
    WinHttpReceiveResponse(h, NULL);
    break;
  case QUERY:
    WinHttpQueryDataAvailable(h, NULL);
    break;
  case READ:
    WinHttpReadData(h, t->buf, sizeof(t->buf), NULL);
    break;
  default:
    break;
  }
}

/* Waits (20 s at most) until *flag is set. */
static void wait_flag(struct trace *t, bool *flag, const char *what)
{
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 20;
  pthread_mutex_lock(&t->lock);
  int rc = 0;
  while (!*flag && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&t->cond, &t->lock, &dl);
  bool ok = *flag;
  pthread_mutex_unlock(&t->lock);
  if (!ok)
    fail_msg("%s did not come within 20 s", what);
}

static int is_pattern(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + i % 26))
      return 0;
  return 1;
}

static void start_proxy(void)
{
  if (wh_peer_start_proxy(&px, NULL) != 0)
    fail_msg("cannot start proxyserver.py");
}

static HINTERNET async_session(const WCHAR *proxy)
{
  HINTERNET s = WinHttpOpen(L"proxy-async", WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy,
                            WINHTTP_NO_PROXY_BYPASS, WINHTTP_FLAG_ASYNC);
  assert_non_null(s);
  assert_true(WinHttpSetTimeouts(s, 0, 10000, 20000, 20000));
  return s;
}

struct h3 {
  HINTERNET s, c, r;
};

/* Opens session, connection and request, starts SendRequest and lets the
 * callbacks drive the rest; returns once the chain has ended. */
static void run_get(struct h3 *h, struct trace *t, const WCHAR *proxy, unsigned short port,
                    const WCHAR *path, bool secure)
{
  h->s = async_session(proxy);
  h->c = WinHttpConnect(h->s, L"127.0.0.1", port, 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, L"GET", path, NULL, NULL, NULL, secure ? WINHTTP_FLAG_SECURE : 0);
  assert_non_null(h->r);
  if (secure) {
    DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
    assert_true(WinHttpSetOption(h->r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags)));
  }
  DWORD_PTR ctx = (DWORD_PTR)t;
  assert_true(WinHttpSetOption(h->r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  assert_true(WinHttpSetStatusCallback(h->r, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS,
                                       0) != WINHTTP_INVALID_STATUS_CALLBACK);
  assert_true(WinHttpSendRequest(h->r, NULL, 0, NULL, 0, 0, 0));
  wait_flag(t, &t->done, "the end of the exchange");
}

static void close3(struct h3 *h, struct trace *t)
{
  WinHttpCloseHandle(h->r);
  wait_flag(t, &t->closing, "HANDLE_CLOSING");
  WinHttpCloseHandle(h->c);
  WinHttpCloseHandle(h->s);
}

static DWORD status_of(HINTERNET r)
{
  DWORD code = 0, size = sizeof(code);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &code, &size, NULL));
  return code;
}

static void expect_body(struct trace *t, size_t n, const char *what)
{
  if (t->error.dwError)
    fail_msg("%s: REQUEST_ERROR %lu from API %lu", what, (unsigned long)t->error.dwError,
             (unsigned long)t->error.dwResult);
  assert_true(t->sent);
  assert_true(t->headers);
  assert_false(t->overflow);
  assert_int_equal(t->body_len, n);
  assert_true(is_pattern(t->body, t->body_len));
}

static void read_report(char *buf, size_t cap)
{
  if (wh_peer_proxy_report(&px, buf, cap) < 0)
    fail_msg("no report from the proxy");
}

static void test_http_async(void **state)
{
  (void)state;
  start_proxy();
  WCHAR name[64];
  swprintf(name, 64, L"127.0.0.1:%u", (unsigned)wh_peer_port(&px));
  struct trace t;
  trace_init(&t);
  struct h3 h;
  run_get(&h, &t, name, wh_peer_port(&fault), L"/ok?n=50000", false);
  expect_body(&t, 50000, "http:// through the proxy");
  assert_int_equal(status_of(h.r), 200);
  close3(&h, &t);
  trace_destroy(&t);
  char report[1024], want[256];
  unsigned fp = wh_peer_port(&fault);
  snprintf(want, sizeof(want), "conn=1 GET http://127.0.0.1:%u/ok?n=50000 HTTP/1.1 host=127.0.0.1:%u\n",
           fp, fp);
  read_report(report, sizeof(report));
  assert_string_equal(report, want);
}

static void test_https_async(void **state)
{
  (void)state;
  start_proxy();
  WCHAR name[64];
  swprintf(name, 64, L"127.0.0.1:%u", (unsigned)wh_peer_port(&px));
  struct trace t;
  trace_init(&t);
  struct h3 h;
  unsigned short port = wh_peer_cert_port(&nginx, WH_CERT_GOOD);
  run_get(&h, &t, name, port, L"/1m.bin", true);
  expect_body(&t, 1024 * 1024, "https:// through the proxy");
  assert_int_equal(status_of(h.r), 200);
  close3(&h, &t);
  trace_destroy(&t);
  char report[1024], want[256];
  snprintf(want, sizeof(want), "conn=1 CONNECT 127.0.0.1:%u HTTP/1.1 host=", port);
  read_report(report, sizeof(report));
  if (strncmp(report, want, strlen(want)) != 0 || strchr(report, '\n') != report + strlen(report) - 1)
    fail_msg("proxy report:\n%swanted one line starting:\n%s", report, want);
}

/* A proxy that refuses: REQUEST_ERROR, CANNOT_CONNECT, from SendRequest. */
static void test_refused_async(void **state)
{
  (void)state;
  struct trace t;
  trace_init(&t);
  struct h3 h;
  run_get(&h, &t, L"127.0.0.1:1", wh_peer_port(&fault), L"/ok", false);
  assert_int_equal(t.error.dwError, ERROR_WINHTTP_CANNOT_CONNECT);
  assert_int_equal(t.error.dwResult, API_SEND_REQUEST);
  close3(&h, &t);
  trace_destroy(&t);
}

static int group_setup(void **state)
{
  (void)state;
  if (wh_peer_start_fault(&fault) != 0)
    return -1;
  return wh_peer_start_nginx(&nginx, 1);
}

static int group_teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault);
  wh_peer_stop(&nginx);
  return 0;
}

static int per_test_teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&px);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_http_async, per_test_teardown),
    cmocka_unit_test_teardown(test_https_async, per_test_teardown),
    cmocka_unit_test_teardown(test_refused_async, per_test_teardown),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("proxy_async", tests, group_setup, group_teardown);
}
