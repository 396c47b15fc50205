/* Proxy auto-configuration from many threads at once (CONTRACT C1's spirit
 * for WinHttpGetProxyForUrl, C2/C3 for sessions, C7 for resolver handles),
 * under ThreadSanitizer in CI:
 *
 *  - C1/C2: threads call WinHttpGetProxyForUrl at the same moment, on one
 *    shared session (one cached script, its helpers lent one lookup at a
 *    time) and on sessions of their own; every answer is the one a single
 *    thread gets;
 *  - C7: resolver handles on several threads, each looking up in a loop,
 *    while another thread closes some of them in the middle: every
 *    accepted lookup gets exactly one GETPROXYFORURL_COMPLETE or
 *    REQUEST_ERROR, then HANDLE_CLOSING comes once, last;
 *  - AUTOMATIC_PROXY: many asynchronous requests of one session at once go
 *    through the proxy the WPAD script names (one detection and download
 *    for all of them);
 *  - C6/C7: a send waiting for a script that loops is ended by
 *    WinHttpCloseHandle from another thread, at once.
 *
 * Scripts come from the fault server (tests/peers/pac/); WPAD goes through
 * the test seam (no DNS). Barriers and condition variables, no sleeps. */
#include "wh_test.h"
#include "peers.h"
#include "auth_test.h"

#include "core/autoproxy.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define THREADS 8
#define ROUNDS 12

static struct wh_peer fault;
static pthread_barrier_t start;
static HINTERNET shared;

static const char *const checks[] = {"isplainhostname", "dnsdomainis", "shexpmatch",
                                     "isinnetex", "sortipaddresslist", "dnsresolve"};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

struct worker {
  int index;
  int failures;
  char why[256];
};

static bool one_lookup(HINTERNET ses, const char *check, char *why, size_t cap)
{
  WCHAR pac[256], url[128];
  swprintf(pac, 256, L"http://127.0.0.1:%u/pac?name=helpers", wh_peer_port(&fault));
  swprintf(url, 128, L"http://%s.test/", check);
  WINHTTP_AUTOPROXY_OPTIONS o;
  memset(&o, 0, sizeof(o));
  o.dwFlags = WINHTTP_AUTOPROXY_CONFIG_URL;
  o.lpszAutoConfigUrl = pac;
  WINHTTP_PROXY_INFO pi;
  if (!WinHttpGetProxyForUrl(ses, url, &o, &pi)) {
    snprintf(why, cap, "%s: error %u", check, GetLastError());
    return false;
  }
  bool ok = pi.lpszProxy && wcscmp(pi.lpszProxy, L"pass:1") == 0;
  if (!ok)
    snprintf(why, cap, "%s: answer %ls", check, pi.lpszProxy ? pi.lpszProxy : L"(none)");
  GlobalFree(pi.lpszProxy);
  GlobalFree(pi.lpszProxyBypass);
  return ok;
}

static void *lookup_thread(void *arg)
{
  struct worker *w = arg;
  /* Odd threads have a session of their own; even ones share one. */
  HINTERNET own = w->index % 2 ? WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0)
                               : NULL;
  HINTERNET ses = own ? own : shared;
  pthread_barrier_wait(&start);
  for (int r = 0; r < ROUNDS; r++)
    if (!one_lookup(ses, checks[(size_t)(w->index + r) % NCHECKS], w->why, sizeof(w->why)))
      w->failures++;
  if (own)
    WinHttpCloseHandle(own);
  return NULL;
}

/* C1/C2: WinHttpGetProxyForUrl on many threads at once. */
static void test_c1_get_proxy_for_url(void **state)
{
  (void)state;
  shared = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(shared);
  pthread_barrier_init(&start, NULL, THREADS);
  pthread_t t[THREADS];
  struct worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].index = i;
    assert_int_equal(pthread_create(&t[i], NULL, lookup_thread, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    if (w[i].failures)
      fail_msg("thread %d: %d failures, last %s", i, w[i].failures, w[i].why);
  }
  pthread_barrier_destroy(&start);
  assert_true(WinHttpCloseHandle(shared));
}

/* ---- C7: resolver handles ---------------------------------------------------- */

#define RESOLVERS 6
#define LOOKUPS 8

struct res_state {
  HINTERNET h;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int started;   /* accepted lookups (ERROR_IO_PENDING) */
  int completes; /* GETPROXYFORURL_COMPLETE */
  int errors;    /* REQUEST_ERROR */
  int closings;  /* HANDLE_CLOSING */
  int after_closing; /* callbacks after HANDLE_CLOSING: must stay 0 */
  int bad_results;
};

static struct res_state rs[RESOLVERS];

static void CALLBACK res_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)info;
  (void)len;
  (void)h;
  struct res_state *s = &rs[ctx % RESOLVERS];
  int bad = 0;
  if (status == WINHTTP_CALLBACK_STATUS_GETPROXYFORURL_COMPLETE) {
    /* The result is there for the callback (it may also be closing). */
    WINHTTP_PROXY_RESULT r;
    DWORD err = WinHttpGetProxyResult(h, &r);
    if (err == ERROR_SUCCESS) {
      bad = !(r.cEntries == 1 && r.pEntries[0].fProxy &&
              wcscmp(r.pEntries[0].pwszProxy, L"pass") == 0);
      WinHttpFreeProxyResult(&r);
    }
  }
  pthread_mutex_lock(&s->lock);
  if (s->closings)
    s->after_closing++;
  if (status == WINHTTP_CALLBACK_STATUS_GETPROXYFORURL_COMPLETE)
    s->completes++;
  else if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR)
    s->errors++;
  else if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING)
    s->closings++;
  s->bad_results += bad;
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

/* Waits until every accepted lookup of |s| has been reported and it has
 * seen |closings| HANDLE_CLOSING (-1: whatever). */
static bool res_settled(struct res_state *s, int closings)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 60;
  pthread_mutex_lock(&s->lock);
  while (s->completes + s->errors < s->started || (closings >= 0 && s->closings < closings))
    if (pthread_cond_timedwait(&s->cond, &s->lock, &until) == ETIMEDOUT)
      break;
  bool ok = s->completes + s->errors == s->started && (closings < 0 || s->closings == closings);
  pthread_mutex_unlock(&s->lock);
  return ok;
}

static void *resolver_thread(void *arg)
{
  struct res_state *s = arg;
  WCHAR pac[256];
  swprintf(pac, 256, L"http://127.0.0.1:%u/pac?name=helpers", wh_peer_port(&fault));
  WINHTTP_AUTOPROXY_OPTIONS o;
  memset(&o, 0, sizeof(o));
  o.dwFlags = WINHTTP_AUTOPROXY_CONFIG_URL;
  o.lpszAutoConfigUrl = pac;
  pthread_barrier_wait(&start);
  for (int i = 0; i < LOOKUPS; i++) {
    DWORD err = WinHttpGetProxyForUrlEx(s->h, L"http://dnsdomainis.test/", &o,
                                        (DWORD_PTR)(s - rs));
    if (err != ERROR_IO_PENDING)
      break; /* closed by the other thread (INVALID_HANDLE, CANCELLED) */
    pthread_mutex_lock(&s->lock);
    s->started++;
    pthread_mutex_unlock(&s->lock);
    if (!res_settled(s, -1))
      break; /* reported by the end-of-test check */
  }
  return NULL;
}

static void *closer_thread(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start);
  /* Half of the resolvers are closed as soon as their first lookup is
   * under way; the others when their thread is done. */
  for (int i = 0; i < RESOLVERS; i += 2) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&rs[i].lock);
    while (rs[i].started == 0)
      if (pthread_cond_timedwait(&rs[i].cond, &rs[i].lock, &until) == ETIMEDOUT)
        break;
    pthread_mutex_unlock(&rs[i].lock);
    WinHttpCloseHandle(rs[i].h);
  }
  return NULL;
}

static void test_c7_resolvers(void **state)
{
  (void)state;
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(ses);
  WinHttpSetStatusCallback(ses, res_cb,
                           WINHTTP_CALLBACK_FLAG_REQUEST_ERROR |
                               WINHTTP_CALLBACK_FLAG_GETPROXYFORURL_COMPLETE |
                               WINHTTP_CALLBACK_FLAG_HANDLES,
                           0);
  for (int i = 0; i < RESOLVERS; i++) {
    memset(&rs[i], 0, sizeof(rs[i]));
    pthread_mutex_init(&rs[i].lock, NULL);
    pthread_cond_init(&rs[i].cond, NULL);
    assert_int_equal(WinHttpCreateProxyResolver(ses, &rs[i].h), ERROR_SUCCESS);
  }
  /* The started counter is bumped after the call returns, so a lookup may
   * complete before it is counted: the resolver thread waits for both. */
  pthread_barrier_init(&start, NULL, RESOLVERS + 1);
  pthread_t t[RESOLVERS], closer;
  for (int i = 0; i < RESOLVERS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, resolver_thread, &rs[i]), 0);
  assert_int_equal(pthread_create(&closer, NULL, closer_thread, NULL), 0);
  for (int i = 0; i < RESOLVERS; i++)
    pthread_join(t[i], NULL);
  pthread_join(closer, NULL);
  for (int i = 1; i < RESOLVERS; i += 2)
    assert_true(WinHttpCloseHandle(rs[i].h));
  for (int i = 0; i < RESOLVERS; i++) {
    if (!res_settled(&rs[i], 1))
      fail_msg("resolver %d: %d started, %d complete, %d errors, %d closings", i, rs[i].started,
               rs[i].completes, rs[i].errors, rs[i].closings);
    assert_int_equal(rs[i].after_closing, 0);
    assert_int_equal(rs[i].bad_results, 0);
    assert_true(rs[i].started >= 1);
    if (i % 2)
      assert_int_equal(rs[i].completes, LOOKUPS); /* never closed while busy */
  }
  pthread_barrier_destroy(&start);
  assert_true(WinHttpCloseHandle(ses));
}

/* ---- AUTOMATIC_PROXY, many requests at once --------------------------------------- */

#define REQUESTS 16

static void test_automatic_proxy_many(void **state)
{
  (void)state;
  struct wh_peer px;
  memset(&px, 0, sizeof(px));
  assert_int_equal(wh_peer_start_proxy(&px, NULL), 0);
  char pac[256];
  snprintf(pac, sizeof(pac), "http://127.0.0.1:%u/pac?name=proxy&port=%u&id=many",
           wh_peer_port(&fault), wh_peer_port(&px));
  wh_wpad_test_seam("many.example.net", "wpad.example.net", pac);
  HINTERNET ses =
      WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(ses);
  struct wh_async_count ar = WH_ASYNC_COUNT_INIT;
  WinHttpSetStatusCallback(ses, wh_async_count_cb, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
  HINTERNET con = WinHttpConnect(ses, L"127.0.0.1", wh_peer_port(&fault), 0);
  HINTERNET req[REQUESTS];
  for (int i = 0; i < REQUESTS; i++) {
    WCHAR path[32];
    swprintf(path, 32, L"/ok?n=%d", 100 + i);
    req[i] = WinHttpOpenRequest(con, L"GET", path, NULL, NULL, NULL, 0);
    assert_non_null(req[i]);
    assert_true(WinHttpSendRequest(req[i], NULL, 0, NULL, 0, 0, (DWORD_PTR)&ar));
  }
  int done = wh_wait_count(&ar.lock, &ar.cond, &ar.done, REQUESTS, 60000);
  pthread_mutex_lock(&ar.lock);
  int ok = ar.ok;
  pthread_mutex_unlock(&ar.lock);
  assert_int_equal(done, REQUESTS);
  assert_int_equal(ok, REQUESTS);
  /* Every one went through the proxy. */
  char report[16384], line[128];
  assert_true(wh_peer_proxy_report(&px, report, sizeof(report)) > 0);
  for (int i = 0; i < REQUESTS; i++) {
    snprintf(line, sizeof(line), "/ok?n=%d HTTP/1.1", 100 + i);
    if (!strstr(report, line))
      fail_msg("not through the proxy: %s\n%s", line, report);
  }
  for (int i = 0; i < REQUESTS; i++)
    WinHttpCloseHandle(req[i]);
  WinHttpCloseHandle(con);
  WinHttpCloseHandle(ses);
  wh_wpad_test_seam("", NULL, NULL);
  wh_peer_stop(&px);
}

/* ---- C6/C7: closing a send that waits for the PAC script ------------------------ */

/* Asks the fault server how many times /pac?id=|id| was served, answered
 * once it is at least |n| (the server waits; no polling here). */
static int pac_count_at_least(const char *id, int n)
{
  char req[256], buf[2048];
  int fd = wh_peer_connect(&fault);
  assert_true(fd >= 0);
  int len = snprintf(req, sizeof(req),
                     "GET /pac-count?id=%s&atleast=%d HTTP/1.1\r\nHost: x\r\n"
                     "Connection: close\r\n\r\n",
                     id, n);
  assert_int_equal(write(fd, req, (size_t)len), len);
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  buf[got] = '\0';
  const char *body = strstr(buf, "\r\n\r\n");
  return body ? atoi(body + 4) : -1;
}

struct c6_send {
  HINTERNET req;
  DWORD err;
  long took_ms;
};

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *c6_sender(void *arg)
{
  struct c6_send *c = arg;
  long t0 = now_ms();
  c->err = WinHttpSendRequest(c->req, NULL, 0, NULL, 0, 0, 0) ? ERROR_SUCCESS : GetLastError();
  c->took_ms = now_ms() - t0;
  return NULL;
}

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int errors, closings;
  DWORD error;
} cc = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void CALLBACK cancel_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)h;
  (void)ctx;
  (void)len;
  pthread_mutex_lock(&cc.lock);
  if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) {
    cc.errors++;
    cc.error = ((WINHTTP_ASYNC_RESULT *)info)->dwError;
  } else if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING) {
    if (cc.errors == 0)
      cc.errors = -100; /* HANDLE_CLOSING before the operation's report */
    cc.closings++;
  }
  pthread_cond_broadcast(&cc.cond);
  pthread_mutex_unlock(&cc.lock);
}

/* A send waiting for a script that loops (its time limit a minute away) is
 * ended by WinHttpCloseHandle from another thread: synchronously with
 * OPERATION_CANCELLED at once (C6), asynchronously with REQUEST_ERROR
 * (OPERATION_CANCELLED) then HANDLE_CLOSING (C7). */
static void test_c6_c7_close_while_discovering(void **state)
{
  (void)state;
  wh_autoproxy_test_script_ms(60000);
  char pac[256];
  snprintf(pac, sizeof(pac), "http://127.0.0.1:%u/pac?name=loop&id=c6", wh_peer_port(&fault));
  wh_wpad_test_seam("c6.example.net", "wpad.example.net", pac);

  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY, NULL, NULL, 0);
  HINTERNET con = WinHttpConnect(ses, L"x.loop.test", 80, 0);
  struct c6_send c = {WinHttpOpenRequest(con, L"GET", L"/", NULL, NULL, NULL, 0), 0, 0};
  assert_non_null(c.req);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, c6_sender, &c), 0);
  /* Once the script was fetched, the send waits for its (endless) answer. */
  assert_int_equal(pac_count_at_least("c6", 1), 1);
  long t0 = now_ms();
  assert_true(WinHttpCloseHandle(c.req));
  pthread_join(t, NULL);
  assert_int_equal(c.err, ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_true(now_ms() - t0 < 5000);
  WinHttpCloseHandle(con);
  WinHttpCloseHandle(ses);

  HINTERNET as =
      WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  WinHttpSetStatusCallback(as, cancel_cb,
                           WINHTTP_CALLBACK_FLAG_REQUEST_ERROR | WINHTTP_CALLBACK_FLAG_HANDLES, 0);
  con = WinHttpConnect(as, L"x.loop.test", 80, 0);
  HINTERNET req = WinHttpOpenRequest(con, L"GET", L"/", NULL, NULL, NULL, 0);
  assert_true(WinHttpSendRequest(req, NULL, 0, NULL, 0, 0, 0));
  assert_int_equal(pac_count_at_least("c6", 2), 2); /* a new session: a new download */
  t0 = now_ms();
  assert_true(WinHttpCloseHandle(req));
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  pthread_mutex_lock(&cc.lock);
  while (cc.closings < 1)
    if (pthread_cond_timedwait(&cc.cond, &cc.lock, &until) == ETIMEDOUT)
      break;
  int errors = cc.errors, closings = cc.closings;
  DWORD error = cc.error;
  pthread_mutex_unlock(&cc.lock);
  assert_int_equal(errors, 1);
  assert_int_equal(error, ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_int_equal(closings, 1);
  assert_true(now_ms() - t0 < 5000);
  WinHttpCloseHandle(con);
  WinHttpCloseHandle(as);
  wh_wpad_test_seam("", NULL, NULL);
  wh_autoproxy_test_script_ms(20000);
}

static int group_setup(void **state)
{
  (void)state;
  wh_wpad_test_seam("", NULL, NULL);
  /* A bound on any script that would loop; these ones never do. */
  wh_autoproxy_test_script_ms(20000);
  memset(&fault, 0, sizeof(fault));
  return wh_peer_start_fault(&fault);
}

static int group_teardown(void **state)
{
  (void)state;
  wh_peer_stop(&fault);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_c1_get_proxy_for_url),
      cmocka_unit_test(test_c7_resolvers),
      cmocka_unit_test(test_automatic_proxy_many),
      cmocka_unit_test(test_c6_c7_close_while_discovering),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
