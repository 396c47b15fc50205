/* A request that should go through a proxy never goes straight to the
 * origin instead (issue 11 §4, issue 9): here the proxy is one nothing
 * listens on (127.0.0.1:1), so the request fails with
 * ERROR_WINHTTP_CANNOT_CONNECT and the origin never sees it, unless its
 * bypass list names the target (the environment's proxy, for DEFAULT_PROXY
 * and AUTOMATIC_PROXY sessions, too). Going through a proxy that works is
 * test_proxy.c's. Against the fault server, in both modes. */
#include "wh_test.h"
#include "peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "net/conn.h"

static struct wh_peer fault;
static struct wh_rec rec;

static int setup(void **state)
{
  (void)state;
  wh_rec_init(&rec);
  wh_rec_set_default(&rec);
  return wh_peer_start_fault(&fault);
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault);
  return 0;
}

struct h3 {
  HINTERNET s, c, r;
};

/* A session of |access| (with |proxy| and |bypass| for a named proxy), a
 * connection to |host| at the fault server's port and a GET of |path|. */
static void open3(struct h3 *h, DWORD access, const wchar_t *proxy, const wchar_t *bypass,
                  const wchar_t *host, const wchar_t *path, DWORD flags)
{
  h->s = WinHttpOpen(L"refused", access, proxy, bypass, flags);
  assert_non_null(h->s);
  WinHttpSetStatusCallback(h->s, wh_rec_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  h->c = WinHttpConnect(h->s, host, wh_peer_port(&fault), 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(h->r);
}

static void close3(struct h3 *h)
{
  WinHttpCloseHandle(h->r);
  WinHttpCloseHandle(h->c);
  WinHttpCloseHandle(h->s);
}

static void rec_reset(void)
{
  pthread_mutex_lock(&rec.lock);
  rec.n = 0;
  pthread_mutex_unlock(&rec.lock);
}

/* Sends |h|'s request and reads the answer; returns ERROR_SUCCESS with the
 * status, or the first call's error. */
static DWORD run_sync(struct h3 *h, DWORD *status)
{
  if (!WinHttpSendRequest(h->r, NULL, 0, NULL, 0, 0, 0) || !WinHttpReceiveResponse(h->r, NULL))
    return GetLastError();
  DWORD len = sizeof(*status);
  assert_true(WinHttpQueryHeaders(h->r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                                  NULL, status, &len, NULL));
  char buf[256];
  DWORD got;
  do
    assert_true(WinHttpReadData(h->r, buf, sizeof(buf), &got));
  while (got);
  return ERROR_SUCCESS;
}

/* The request went for the (unreachable) proxy: it failed to connect to
 * it, and nothing was sent anywhere. */
static void expect_refused_before_connecting(struct h3 *h)
{
  DWORD status = 0;
  rec_reset();
  assert_int_equal(run_sync(h, &status), ERROR_WINHTTP_CANNOT_CONNECT);
  assert_int_equal(wh_rec_count(&rec, h->r, WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER), 1);
  assert_int_equal(wh_rec_count(&rec, h->r, WINHTTP_CALLBACK_STATUS_SENDING_REQUEST), 0);
}

static void expect_direct_ok(struct h3 *h)
{
  DWORD status = 0;
  assert_int_equal(run_sync(h, &status), ERROR_SUCCESS);
  assert_int_equal(status, 200);
}

static void test_named_proxy_session_refused(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"127.0.0.1:1", NULL, L"127.0.0.1", L"/ok",
        0);
  expect_refused_before_connecting(&h);
  close3(&h);
}

static void test_named_proxy_bypassed_goes_direct(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"127.0.0.1:1", L"<local>;127.0.0.1",
        L"127.0.0.1", L"/ok", 0);
  expect_direct_ok(&h);
  close3(&h);
  /* An entry for another host does not bypass this one. */
  open3(&h, WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"127.0.0.1:1", L"*.example.com",
        L"127.0.0.1", L"/ok", 0);
  expect_refused_before_connecting(&h);
  close3(&h);
}

static void set_proxy(HINTERNET h, DWORD access, const wchar_t *proxy, const wchar_t *bypass)
{
  WINHTTP_PROXY_INFO pi = {access, (LPWSTR)proxy, (LPWSTR)bypass};
  assert_true(WinHttpSetOption(h, WINHTTP_OPTION_PROXY, &pi, sizeof(pi)));
}

static void test_request_proxy_option_refused(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, L"127.0.0.1", L"/ok", 0);
  set_proxy(h.r, WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"127.0.0.1:1", NULL);
  expect_refused_before_connecting(&h);
  close3(&h);
  /* Set on the session after the request was made: still in effect. */
  open3(&h, WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, L"127.0.0.1", L"/ok", 0);
  set_proxy(h.s, WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"127.0.0.1:1", NULL);
  expect_refused_before_connecting(&h);
  close3(&h);
}

static void test_request_no_proxy_overrides_session(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"127.0.0.1:1", NULL, L"127.0.0.1", L"/ok",
        0);
  set_proxy(h.r, WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL);
  expect_direct_ok(&h);
  close3(&h);
}

static void test_redirect_out_of_bypass_refused(void **state)
{
  (void)state;
  /* 127.0.0.1 is bypassed, localhost is not: the redirect's send fails. */
  wchar_t path[128];
  swprintf(path, 128, L"/redirect?to=http://localhost:%u/ok", wh_peer_port(&fault));
  struct h3 h;
  open3(&h, WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"127.0.0.1:1", L"127.0.0.1", L"127.0.0.1",
        path, 0);
  DWORD status = 0;
  rec_reset();
  assert_int_equal(run_sync(&h, &status), ERROR_WINHTTP_CANNOT_CONNECT);
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_REDIRECT), 1);
  close3(&h);
}

/* Asynchronously the failure is the send's REQUEST_ERROR. */
struct async_wait {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool done;
  WINHTTP_ASYNC_RESULT res;
};

static void CALLBACK async_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)h, (void)len;
  struct async_wait *w = (struct async_wait *)ctx;
  if (status != WINHTTP_CALLBACK_STATUS_REQUEST_ERROR &&
      status != WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE)
    return;
  pthread_mutex_lock(&w->lock);
  if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR)
    w->res = *(WINHTTP_ASYNC_RESULT *)info;
  w->done = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

static void test_named_proxy_async_request_error(void **state)
{
  (void)state;
  struct async_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, {0, 0}};
  HINTERNET s = WinHttpOpen(L"refused", WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"127.0.0.1:1",
                            NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(s);
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&fault), 0);
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/ok", NULL, NULL, NULL, 0);
  assert_non_null(r);
  WinHttpSetStatusCallback(r, async_cb, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, (DWORD_PTR)&w));
  pthread_mutex_lock(&w.lock);
  while (!w.done)
    pthread_cond_wait(&w.cond, &w.lock);
  pthread_mutex_unlock(&w.lock);
  assert_int_equal(w.res.dwResult, API_SEND_REQUEST);
  assert_int_equal(w.res.dwError, ERROR_WINHTTP_CANNOT_CONNECT);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* The environment is the Linux "default proxy": DEFAULT_PROXY and
 * AUTOMATIC_PROXY sessions opened while it names one do not go around it. */
static void clear_proxy_env(void)
{
  static const char *const vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "no_proxy",
                                     "NO_PROXY", "HTTP_PROXY"};
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    unsetenv(vars[i]);
}

static void test_default_proxy_from_environment_refused(void **state)
{
  (void)state;
  static const DWORD types[] = {WINHTTP_ACCESS_TYPE_DEFAULT_PROXY,
                                WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY};
  struct h3 h;
  for (size_t i = 0; i < 2; i++) {
    clear_proxy_env();
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    open3(&h, types[i], NULL, NULL, L"127.0.0.1", L"/ok", 0);
    clear_proxy_env(); /* read when the session opened, not at each send */
    expect_refused_before_connecting(&h);
    close3(&h);
  }
  /* Nothing configured: direct, as before. */
  open3(&h, WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, NULL, NULL, L"127.0.0.1", L"/ok", 0);
  expect_direct_ok(&h);
  close3(&h);
}

static void test_default_proxy_no_proxy_and_schemes(void **state)
{
  (void)state;
  struct h3 h;
  /* no_proxy names the host: direct. */
  clear_proxy_env();
  setenv("http_proxy", "http://127.0.0.1:1", 1);
  setenv("no_proxy", "localhost,127.0.0.1", 1);
  open3(&h, WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, NULL, NULL, L"127.0.0.1", L"/ok", 0);
  expect_direct_ok(&h);
  close3(&h);
  /* Only https_proxy: plain HTTP goes direct... */
  clear_proxy_env();
  setenv("https_proxy", "http://127.0.0.1:1", 1);
  open3(&h, WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, NULL, NULL, L"127.0.0.1", L"/ok", 0);
  expect_direct_ok(&h);
  close3(&h);
  /* ...and HTTPS is refused before anything is sent. */
  open3(&h, WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, NULL, NULL, L"127.0.0.1", L"/ok",
        0);
  WinHttpCloseHandle(h.r);
  h.r = WinHttpOpenRequest(h.c, L"GET", L"/ok", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(h.r);
  expect_refused_before_connecting(&h);
  close3(&h);
  clear_proxy_env();
}

static void test_named_per_scheme_list(void **state)
{
  (void)state;
  /* "https=..." serves HTTPS only: an HTTP request goes direct. */
  struct h3 h;
  open3(&h, WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"https=127.0.0.1:1", NULL, L"127.0.0.1",
        L"/ok", 0);
  expect_direct_ok(&h);
  close3(&h);
  open3(&h, WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"https=127.0.0.1:1;http=127.0.0.1:2",
        NULL, L"127.0.0.1", L"/ok", 0);
  expect_refused_before_connecting(&h);
  close3(&h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_named_proxy_session_refused),
      cmocka_unit_test(test_named_proxy_bypassed_goes_direct),
      cmocka_unit_test(test_request_proxy_option_refused),
      cmocka_unit_test(test_request_no_proxy_overrides_session),
      cmocka_unit_test(test_redirect_out_of_bypass_refused),
      cmocka_unit_test(test_named_proxy_async_request_error),
      cmocka_unit_test(test_default_proxy_from_environment_refused),
      cmocka_unit_test(test_default_proxy_no_proxy_and_schemes),
      cmocka_unit_test(test_named_per_scheme_list),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
