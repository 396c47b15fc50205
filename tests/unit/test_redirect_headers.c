/* The application's request headers across a redirect to another origin
 * (docs/COMPAT.md, "Redirects"). Windows sends every header the application
 * added on the redirected request too, Authorization and Cookie included
 * (Microsoft's WinHttpAddRequestHeaders remarks: "Headers are transferred
 * across redirects"); an application that does not want that corrects them
 * in its REDIRECT callback, as .NET's WinHttpHandler does for
 * Authorization, and the correction applies to the redirected request.
 *
 * Against the fault server: 127.0.0.1 answers with a 302 to localhost (the
 * same server under another host name, so another origin), whose /echo
 * returns the request head it received. Synchronous and asynchronous; the
 * asynchronous exchange is driven from the callbacks and the test thread
 * waits on a condition variable. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

static struct wh_peer fault;

#define APP_HEADERS L"Authorization: Bearer s3cret\r\nCookie: app=1\r\nX-App: yes"

struct run {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool strip;        /* remove Authorization in the REDIRECT callback */
  int redirects;
  BOOL strip_ok;
  WCHAR location[256];
  char body[16384];
  size_t body_len;
  DWORD error;       /* asynchronous: the REQUEST_ERROR's code */
  bool done;         /* asynchronous: the body was read or an error came */
  bool closed;       /* HANDLE_CLOSING of the request */
  char buf[4096];
};

static void finish(struct run *run, DWORD error)
{
  pthread_mutex_lock(&run->lock);
  run->error = error;
  run->done = true;
  pthread_cond_broadcast(&run->cond);
  pthread_mutex_unlock(&run->lock);
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct run *run = (struct run *)ctx;
  if (!run)
    return;
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_REDIRECT: {
    /* The application's chance to correct its headers for the new target
     * (Microsoft's advice); not under run->lock: nothing here re-enters. */
    BOOL ok = run->strip ? WinHttpAddRequestHeaders(h, L"Authorization:", (DWORD)-1,
                                                    WINHTTP_ADDREQ_FLAG_REPLACE)
                         : TRUE;
    pthread_mutex_lock(&run->lock);
    run->redirects++;
    run->strip_ok = ok;
    if (info && len && len <= sizeof(run->location) / sizeof(WCHAR))
      wmemcpy(run->location, (const WCHAR *)info, len);
    pthread_mutex_unlock(&run->lock);
    break;
  }
  /* The asynchronous exchange, one step per completion. */
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    WinHttpReceiveResponse(h, NULL);
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    WinHttpReadData(h, run->buf, sizeof(run->buf), NULL);
    break;
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (len == 0) {
      finish(run, ERROR_SUCCESS);
      break;
    }
    pthread_mutex_lock(&run->lock);
    if (run->body_len + len < sizeof(run->body)) {
      memcpy(run->body + run->body_len, info, len);
      run->body_len += len;
    }
    pthread_mutex_unlock(&run->lock);
    WinHttpReadData(h, run->buf, sizeof(run->buf), NULL);
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
    finish(run, ((WINHTTP_ASYNC_RESULT *)info)->dwError);
    break;
  case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
    pthread_mutex_lock(&run->lock);
    run->closed = true;
    pthread_cond_broadcast(&run->cond);
    pthread_mutex_unlock(&run->lock);
    break;
  default:
    break;
  }
}

/* GETs |path| from 127.0.0.1 with the application's headers, following
 * redirects, and leaves the final body (an /echo of the last request head)
 * NUL-terminated in run->body. */
static void get(struct run *run, const wchar_t *path, bool async, bool strip)
{
  memset(run, 0, sizeof(*run));
  pthread_mutex_init(&run->lock, NULL);
  pthread_cond_init(&run->cond, NULL);
  run->strip = strip;
  wh_pool_clear();
  HINTERNET s = WinHttpOpen(L"redirect-headers", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL,
                            async ? WINHTTP_FLAG_ASYNC : 0);
  assert_non_null(s);
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&fault), 0);
  assert_non_null(c);
  HINTERNET r = WinHttpOpenRequest(c, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(r);
  DWORD_PTR ctx = (DWORD_PTR)run;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  assert_true(WinHttpSetStatusCallback(r, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0) !=
              WINHTTP_INVALID_STATUS_CALLBACK);
  assert_true(WinHttpAddRequestHeaders(r, APP_HEADERS, (DWORD)-1, WINHTTP_ADDREQ_FLAG_ADD));
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  if (async) {
    pthread_mutex_lock(&run->lock);
    while (!run->done)
      pthread_cond_wait(&run->cond, &run->lock);
    pthread_mutex_unlock(&run->lock);
    assert_int_equal(run->error, ERROR_SUCCESS);
  } else {
    assert_true(WinHttpReceiveResponse(r, NULL));
    for (;;) {
      DWORD got = 0;
      assert_true(WinHttpReadData(r, run->body + run->body_len,
                                  (DWORD)(sizeof(run->body) - 1 - run->body_len), &got));
      if (got == 0)
        break;
      run->body_len += got;
    }
  }
  DWORD status = 0, size = sizeof(status);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &status, &size, NULL));
  assert_int_equal(status, 200);
  assert_true(WinHttpCloseHandle(r));
  /* Nothing may touch |run| once HANDLE_CLOSING has come. */
  pthread_mutex_lock(&run->lock);
  while (!run->closed)
    pthread_cond_wait(&run->cond, &run->lock);
  pthread_mutex_unlock(&run->lock);
  assert_true(WinHttpCloseHandle(c));
  assert_true(WinHttpCloseHandle(s));
  run->body[run->body_len] = '\0';
  pthread_mutex_destroy(&run->lock);
  pthread_cond_destroy(&run->cond);
}

/* The request head /echo saw holds |line| (a whole header line). */
static bool echoed(const struct run *run, const char *line)
{
  char want[128];
  snprintf(want, sizeof(want), "\r\n%s\r\n", line);
  return strstr(run->body, want) != NULL;
}

static void cross_origin(bool async)
{
  unsigned port = wh_peer_port(&fault);
  wchar_t path[128], location[128];
  swprintf(path, 128, L"/redirect?code=302&to=http://localhost:%u/echo", port);
  swprintf(location, 128, L"http://localhost:%u/echo", port);
  char host[64];
  snprintf(host, sizeof(host), "Host: localhost:%u", port);

  struct run run;
  get(&run, path, async, false);
  assert_int_equal(run.redirects, 1);
  assert_true(wcscmp(run.location, location) == 0);
  if (!echoed(&run, "Authorization: Bearer s3cret"))
    print_error("echo: %s\n", run.body);
  assert_true(echoed(&run, host)); /* the other origin got the request */
  assert_true(echoed(&run, "Authorization: Bearer s3cret"));
  assert_true(echoed(&run, "Cookie: app=1"));
  assert_true(echoed(&run, "X-App: yes"));
  assert_null(strstr(run.body, "Host: 127.0.0.1")); /* the library's own header is redone */

  /* Removed in the REDIRECT callback: gone from the redirected request,
   * the other headers kept. */
  get(&run, path, async, true);
  assert_int_equal(run.redirects, 1);
  assert_true(run.strip_ok);
  assert_true(echoed(&run, host));
  assert_null(strstr(run.body, "Authorization"));
  assert_true(echoed(&run, "Cookie: app=1"));
  assert_true(echoed(&run, "X-App: yes"));
}

static void test_cross_origin_sync(void **state)
{
  (void)state;
  cross_origin(false);
}

static void test_cross_origin_async(void **state)
{
  (void)state;
  cross_origin(true);
}

/* To the same origin as well, of course. */
static void test_same_origin(void **state)
{
  (void)state;
  struct run run;
  get(&run, L"/redirect?code=302&to=/echo", false, false);
  assert_int_equal(run.redirects, 1);
  assert_true(echoed(&run, "Authorization: Bearer s3cret"));
  assert_true(echoed(&run, "Cookie: app=1"));
  assert_true(echoed(&run, "X-App: yes"));
}

static int setup(void **state)
{
  (void)state;
  return wh_peer_start_fault(&fault);
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cross_origin_sync),
      cmocka_unit_test(test_cross_origin_async),
      cmocka_unit_test(test_same_origin),
  };
  return cmocka_run_group_tests_name("redirect_headers", tests, setup, teardown);
}
