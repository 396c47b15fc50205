/* WINHTTP_OPTION_MAX_CONNS_PER_SERVER: with a limit of one, a second
 * request to the same server waits until the first one's connection is
 * free, and then reuses it; without the limit it opens its own. The fault
 * server's /count scenario tells which: it answers how many requests its
 * TCP connection has served.
 *
 * The first request is known to be in flight through its
 * RECEIVING_RESPONSE notification (delivered on its thread just before it
 * waits for the delayed answer), which posts a semaphore. No sleeps. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <semaphore.h>
#include <stdbool.h>
#include <string.h>

static struct wh_peer fault;
static sem_t in_flight;

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)h, (void)ctx, (void)info, (void)len;
  if (status == WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE)
    sem_post(&in_flight);
}

struct job {
  HINTERNET connect;
  const wchar_t *path;
  char body[64];
  DWORD err;
};

static void get(struct job *j, WINHTTP_STATUS_CALLBACK cb)
{
  HINTERNET r = WinHttpOpenRequest(j->connect, L"GET", j->path, NULL, NULL, NULL, 0);
  if (cb)
    WinHttpSetStatusCallback(r, cb, WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE, 0);
  DWORD n = 0, got = 0;
  j->err = ERROR_SUCCESS;
  if (!WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0) || !WinHttpReceiveResponse(r, NULL))
    j->err = GetLastError();
  while (j->err == ERROR_SUCCESS && got < sizeof(j->body) - 1) {
    if (!WinHttpReadData(r, j->body + got, (DWORD)(sizeof(j->body) - 1 - got), &n))
      j->err = GetLastError();
    if (n == 0)
      break;
    got += n;
  }
  j->body[got] = '\0';
  WinHttpCloseHandle(r);
}

static void *first(void *arg)
{
  get(arg, on_status);
  return NULL;
}

/* Runs /delay on a thread and, once it is in flight, /count here, with
 * |limit| per server and |limit10| per HTTP/1.0 server. */
static void run10(DWORD limit, DWORD limit10, const char *want_count)
{
  wh_pool_clear();
  HINTERNET s = WinHttpOpen(L"max-conns", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(s);
  assert_true(WinHttpSetOption(s, WINHTTP_OPTION_MAX_CONNS_PER_SERVER, &limit, sizeof(limit)));
  assert_true(WinHttpSetOption(s, WINHTTP_OPTION_MAX_CONNS_PER_1_0_SERVER, &limit10,
                               sizeof(limit10)));
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&fault), 0);
  struct job a = {.connect = c, .path = L"/delay?ms=300&n=5"};
  struct job b = {.connect = c, .path = L"/count"};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, first, &a), 0);
  while (sem_wait(&in_flight) != 0)
    ;
  get(&b, NULL);
  pthread_join(t, NULL);
  assert_int_equal(a.err, ERROR_SUCCESS);
  assert_int_equal(b.err, ERROR_SUCCESS);
  assert_string_equal(a.body, "abcde");
  assert_string_equal(b.body, want_count);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void run(DWORD limit, const char *want_count)
{
  run10(limit, WINHTTP_CONNS_PER_SERVER_UNLIMITED, want_count);
}

static void test_limit_one_waits_and_reuses(void **state)
{
  (void)state;
  run(1, "2");
}

static void test_http10_limit_once_known(void **state)
{
  (void)state;
  /* The 1.0 limit does not apply to a server not known to speak HTTP/1.0
   * (its version is only learnt from a response)... */
  run10(WINHTTP_CONNS_PER_SERVER_UNLIMITED, 1, "1");
  /* ...and does once it has answered with HTTP/1.0 (/http10). */
  struct job v = {.path = L"/http10?n=3"};
  HINTERNET s = WinHttpOpen(L"max-conns", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  v.connect = WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&fault), 0);
  get(&v, NULL);
  assert_int_equal(v.err, ERROR_SUCCESS);
  assert_string_equal(v.body, "abc");
  WinHttpCloseHandle(v.connect);
  WinHttpCloseHandle(s);
  run10(WINHTTP_CONNS_PER_SERVER_UNLIMITED, 1, "2");
}

static void test_unlimited_opens_another(void **state)
{
  (void)state;
  run(WINHTTP_CONNS_PER_SERVER_UNLIMITED, "1");
}

/* --- asynchronous sessions: the wait is a watch on the loop, not a thread --- */

struct ajob {
  HINTERNET r;
  char body[64];
  DWORD got;
  DWORD err;          /* REQUEST_ERROR's error, or ERROR_SUCCESS */
  bool signal_flight; /* post in_flight at RECEIVING_RESPONSE */
  sem_t done;         /* posted at HANDLE_CLOSING */
};

static void CALLBACK on_async(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct ajob *j = (struct ajob *)ctx;
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE:
    if (j->signal_flight)
      sem_post(&in_flight);
    break;
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    if (!WinHttpReceiveResponse(h, NULL))
      j->err = GetLastError();
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (status == WINHTTP_CALLBACK_STATUS_READ_COMPLETE) {
      j->got += len;
      if (len == 0 || j->got >= sizeof(j->body) - 1) {
        j->body[j->got] = '\0';
        WinHttpCloseHandle(h);
        break;
      }
    }
    if (!WinHttpReadData(h, j->body + j->got, (DWORD)(sizeof(j->body) - 1 - j->got), NULL))
      j->err = GetLastError();
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
    j->err = ((WINHTTP_ASYNC_RESULT *)info)->dwError;
    WinHttpCloseHandle(h);
    break;
  case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
    sem_post(&j->done);
    break;
  default:
    break;
  }
}

static void astart(struct ajob *j, HINTERNET c, const wchar_t *path)
{
  sem_init(&j->done, 0, 0);
  j->r = WinHttpOpenRequest(c, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(j->r);
  DWORD_PTR ctx = (DWORD_PTR)j;
  assert_true(WinHttpSetOption(j->r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  WinHttpSetStatusCallback(j->r, on_async,
                           WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | WINHTTP_CALLBACK_FLAG_HANDLES |
                               WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE,
                           0);
  assert_true(WinHttpSendRequest(j->r, NULL, 0, NULL, 0, 0, 0));
}

static void await_closed(struct ajob *j)
{
  while (sem_wait(&j->done) != 0)
    ;
  sem_destroy(&j->done);
}

static HINTERNET async_connect(HINTERNET *session, DWORD limit)
{
  wh_pool_clear();
  *session = WinHttpOpen(L"max-conns", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL,
                         WINHTTP_FLAG_ASYNC);
  assert_non_null(*session);
  assert_true(
      WinHttpSetOption(*session, WINHTTP_OPTION_MAX_CONNS_PER_SERVER, &limit, sizeof(limit)));
  HINTERNET c = WinHttpConnect(*session, L"127.0.0.1", wh_peer_port(&fault), 0);
  assert_non_null(c);
  return c;
}

/* Async, limit one: the second request waits on the loop for the first
 * one's connection and then reuses it. */
static void test_async_limit_one_waits_and_reuses(void **state)
{
  (void)state;
  HINTERNET s, c = async_connect(&s, 1);
  struct ajob a = {.signal_flight = true}, b = {0};
  astart(&a, c, L"/delay?ms=300&n=5");
  while (sem_wait(&in_flight) != 0)
    ;
  astart(&b, c, L"/count");
  await_closed(&a);
  await_closed(&b);
  assert_int_equal(a.err, ERROR_SUCCESS);
  assert_int_equal(b.err, ERROR_SUCCESS);
  assert_string_equal(a.body, "abcde");
  assert_string_equal(b.body, "2");
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* Async, limit one: closing a request that waits for a slot cancels it
 * (REQUEST_ERROR, OPERATION_CANCELLED), gives its place up, and a later
 * request still gets the connection. */
static void test_async_waiting_request_cancelled(void **state)
{
  (void)state;
  HINTERNET s, c = async_connect(&s, 1);
  struct ajob a = {.signal_flight = true}, b = {0}, d = {0};
  astart(&a, c, L"/delay?ms=300&n=5");
  while (sem_wait(&in_flight) != 0)
    ;
  astart(&b, c, L"/count");
  WinHttpCloseHandle(b.r);
  await_closed(&b);
  assert_int_equal(b.err, ERROR_WINHTTP_OPERATION_CANCELLED);
  await_closed(&a);
  assert_int_equal(a.err, ERROR_SUCCESS);
  astart(&d, c, L"/count");
  await_closed(&d);
  assert_int_equal(d.err, ERROR_SUCCESS);
  assert_string_equal(d.body, "2");
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static int setup(void **state)
{
  (void)state;
  sem_init(&in_flight, 0, 0);
  return wh_peer_start_fault(&fault);
}

static int teardown(void **state)
{
  (void)state;
  wh_peer_stop(&fault);
  sem_destroy(&in_flight);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limit_one_waits_and_reuses),
      cmocka_unit_test(test_unlimited_opens_another),
      cmocka_unit_test(test_http10_limit_once_known),
      cmocka_unit_test(test_async_limit_one_waits_and_reuses),
      cmocka_unit_test(test_async_waiting_request_cancelled),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
