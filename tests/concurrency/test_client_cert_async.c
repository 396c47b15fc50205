/* TLS client certificates through asynchronous sessions, and with many
 * requests of different identities at once (CONTRACT C2, C8), against
 * nginx's client-auth ports (GET /whoami tells which certificate the
 * connection presented):
 *
 *  - a server that asks with none set: REQUEST_ERROR (API_SEND_REQUEST,
 *    ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED); from inside that callback the
 *    application reads CLIENT_CERT_ISSUER_LIST, sets a certificate (or
 *    WINHTTP_NO_CLIENT_CERT_CONTEXT) and calls WinHttpSendRequest again on
 *    the same handle (C8), and the exchange completes with the right
 *    subject; HANDLE_CLOSING comes last, once (C7);
 *  - 48 asynchronous requests in flight at once on one session, and four
 *    threads with synchronous sessions meanwhile, rotating between two
 *    certificates, none, and none-until-asked, over HTTP/1.1 and HTTP/2:
 *    every response shows its own request's identity, so no connection
 *    (pooled or shared HTTP/2) carried another's.
 *
 * The test thread waits on a condition variable signalled by the
 * callbacks, always with a deadline: no sleeps. Runs under
 * ThreadSanitizer. */
#include "wh_test.h"
#include "client_certs.h"
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

static struct wh_peer nginx;
static struct wh_client_certs certs;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

/* Who a request is: a certificate set before sending, none on purpose,
 * or nothing until the server asks (then |answer|). */
enum who { ONE, TWO, NONE, ASKED_TWO, ASKED_NONE };

struct areq {
  HINTERNET r;
  enum who who;
  /* Under |lock|: */
  DWORD statuses[64];
  size_t n;
  unsigned cert_needed;       /* REQUEST_ERRORs with CERT_NEEDED on SendRequest */
  DWORD issuers;              /* cIssuers of the list read in that callback */
  DWORD resend_error;         /* the second SendRequest's failure, if any */
  WINHTTP_ASYNC_RESULT error; /* the REQUEST_ERROR that ended it */
  bool done;
  int closing;
  bool after_closing;
  DWORD status_code;
  DWORD proto;                /* HTTP_PROTOCOL_USED */
  char dn[128];
  char buf[512];
};

static PCCERT_CONTEXT cert_of(enum who w)
{
  return w == ONE ? certs.client1 : w == TWO || w == ASKED_TWO ? certs.client2 : NULL;
}

static const char *dn_of(enum who w)
{
  return w == ONE ? WH_CLIENT1_DN : w == TWO || w == ASKED_TWO ? WH_CLIENT2_DN : "";
}

static bool set_cert(HINTERNET r, PCCERT_CONTEXT c)
{
  return WinHttpSetOption(r, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, (LPVOID)c,
                          c ? sizeof(CERT_CONTEXT) : 0);
}

/* Microsoft's answer to CERT_NEEDED, from inside the callback: look at the
 * issuers, choose, send again. */
static void answer(struct areq *a, HINTERNET h)
{
  SecPkgContext_IssuerListInfoEx *list = NULL;
  DWORD size = sizeof(list), issuers = 0xFFFFFFFFu, err = 0;
  if (WinHttpQueryOption(h, WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST, &list, &size)) {
    issuers = list->cIssuers;
    GlobalFree(list);
  }
  if (!set_cert(h, a->who == ASKED_TWO ? certs.client2 : WINHTTP_NO_CLIENT_CERT_CONTEXT) ||
      !WinHttpSendRequest(h, NULL, 0, NULL, 0, 0, (DWORD_PTR)a))
    err = GetLastError();
  pthread_mutex_lock(&lock);
  a->issuers = issuers;
  a->resend_error = err;
  if (err)
    a->done = true;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

static void finish(struct areq *a)
{
  pthread_mutex_lock(&lock);
  a->done = true;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct areq *a = (struct areq *)ctx;
  if (!a)
    return;
  pthread_mutex_lock(&lock);
  if (a->closing)
    a->after_closing = true;
  if (a->n < NELEM(a->statuses))
    a->statuses[a->n++] = status;
  if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING) {
    a->closing++;
    pthread_cond_broadcast(&cond);
  }
  pthread_mutex_unlock(&lock);
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR: {
    WINHTTP_ASYNC_RESULT res = *(WINHTTP_ASYNC_RESULT *)info;
    bool asked = res.dwResult == API_SEND_REQUEST &&
                 res.dwError == ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED;
    pthread_mutex_lock(&lock);
    if (asked)
      a->cert_needed++;
    bool again = asked && a->cert_needed == 1 && (a->who == ASKED_TWO || a->who == ASKED_NONE);
    if (!again)
      a->error = res;
    pthread_mutex_unlock(&lock);
    if (again)
      answer(a, h);
    else
      finish(a);
    break;
  }
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    if (!WinHttpReceiveResponse(h, NULL))
      finish(a);
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE: {
    DWORD code = 0, size = sizeof(code);
    WCHAR dn[128];
    DWORD dn_size = sizeof(dn);
    WinHttpQueryHeaders(h, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL, &code,
                        &size, NULL);
    if (!WinHttpQueryHeaders(h, WINHTTP_QUERY_CUSTOM, L"X-Client-DN", dn, &dn_size, NULL))
      dn[0] = 0;
    DWORD proto = 0;
    size = sizeof(proto);
    WinHttpQueryOption(h, WINHTTP_OPTION_HTTP_PROTOCOL_USED, &proto, &size);
    pthread_mutex_lock(&lock);
    a->status_code = code;
    a->proto = proto;
    size_t i = 0;
    for (; dn[i] && i + 1 < sizeof(a->dn); i++)
      a->dn[i] = dn[i] < 128 ? (char)dn[i] : '?';
    a->dn[i] = 0;
    pthread_mutex_unlock(&lock);
    if (!WinHttpReadData(h, a->buf, sizeof(a->buf), NULL))
      finish(a);
    break;
  }
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    /* The body is one short line: read to the end so the connection goes
     * back to the pool for the others. */
    if (len == 0 || !WinHttpReadData(h, a->buf, sizeof(a->buf), NULL))
      finish(a);
    break;
  default:
    break;
  }
}

/* Waits for |pred(a)| with the lock held, up to WAIT_S seconds. */
static bool wait_for(bool (*pred)(struct areq *), struct areq **all, size_t n)
{
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += WAIT_S;
  pthread_mutex_lock(&lock);
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++)
    while (!pred(all[i]) && ok)
      ok = pthread_cond_timedwait(&cond, &lock, &deadline) != ETIMEDOUT;
  pthread_mutex_unlock(&lock);
  return ok;
}

static bool is_done(struct areq *a)
{
  return a->done;
}

static bool is_closed(struct areq *a)
{
  return a->closing > 0;
}

static HINTERNET async_session(DWORD protocols, bool h2)
{
  HINTERNET s = WinHttpOpen(L"client-cert-async", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL,
                            WINHTTP_FLAG_ASYNC);
  assert_non_null(s);
  if (protocols)
    assert_true(WinHttpSetOption(s, WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols,
                                 sizeof(protocols)));
  if (h2) {
    DWORD v = WINHTTP_PROTOCOL_FLAG_HTTP2;
    BOOL on = TRUE;
    assert_true(WinHttpSetOption(s, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, &v, sizeof(v)));
    assert_true(
        WinHttpSetOption(s, WINHTTP_OPTION_ENABLE_HTTP2_PLUS_CLIENT_CERT, &on, sizeof(on)));
  }
  WinHttpSetStatusCallback(s, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  return s;
}

/* Opens and sends one request as |a->who|. */
static void start(struct areq *a, HINTERNET c)
{
  a->r = WinHttpOpenRequest(c, NULL, L"/whoami", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(a->r);
  DWORD_PTR ctx = (DWORD_PTR)a;
  assert_true(WinHttpSetOption(a->r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  if (a->who == ONE || a->who == TWO || a->who == NONE)
    assert_true(set_cert(a->r, cert_of(a->who)));
  assert_true(WinHttpSendRequest(a->r, NULL, 0, NULL, 0, 0, (DWORD_PTR)a));
}

static void check_ok(struct areq *a)
{
  pthread_mutex_lock(&lock);
  if (a->status_code != 200 || strcmp(a->dn, dn_of(a->who)) != 0)
    print_error("who %d: status %u, dn \"%s\", error %u/%u\n", (int)a->who,
                (unsigned)a->status_code, a->dn, (unsigned)a->error.dwResult,
                (unsigned)a->error.dwError);
  assert_int_equal(a->status_code, 200);
  assert_string_equal(a->dn, dn_of(a->who));
  assert_int_equal(a->error.dwError, 0);
  bool asked = a->who == ASKED_TWO || a->who == ASKED_NONE;
  /* Only a request that had set nothing is asked; pooled connections may
   * spare it the question (none of its identity was asked before). */
  if (!asked)
    assert_int_equal(a->cert_needed, 0);
  if (a->cert_needed) {
    assert_int_equal(a->cert_needed, 1);
    assert_int_equal(a->issuers, 1);
    assert_int_equal(a->resend_error, 0);
  }
  pthread_mutex_unlock(&lock);
}

/* --- one request, answered from its callback ---------------------------------------- */

static void asked_and_answered(enum wh_peer_client_auth port, enum who who, DWORD protocols)
{
  wh_pool_clear();
  HINTERNET s = async_session(protocols, false);
  HINTERNET c = WinHttpConnect(s, L"localhost", wh_peer_client_auth_port(&nginx, port), 0);
  assert_non_null(c);
  struct areq *a = calloc(1, sizeof(*a));
  assert_non_null(a);
  a->who = who;
  start(a, c);
  assert_true(wait_for(is_done, &a, 1));
  check_ok(a);
  pthread_mutex_lock(&lock);
  assert_int_equal(a->cert_needed, 1);
  /* The question came first, on the send, then a whole exchange. */
  long q = -1, sent = -1;
  for (size_t i = 0; i < a->n; i++) {
    if (a->statuses[i] == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR && q < 0)
      q = (long)i;
    if (a->statuses[i] == WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE && sent < 0)
      sent = (long)i;
  }
  assert_true(q >= 0 && sent > q);
  pthread_mutex_unlock(&lock);
  assert_true(WinHttpCloseHandle(a->r));
  assert_true(wait_for(is_closed, &a, 1));
  pthread_mutex_lock(&lock);
  assert_int_equal(a->closing, 1);
  assert_false(a->after_closing);
  pthread_mutex_unlock(&lock);
  free(a);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_async_required(void **state)
{
  (void)state;
  asked_and_answered(WH_CLIENT_AUTH_REQUIRED, ASKED_TWO, 0);
}

static void test_async_required_tls12(void **state)
{
  (void)state;
  asked_and_answered(WH_CLIENT_AUTH_REQUIRED, ASKED_TWO, WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2);
}

static void test_async_optional_none(void **state)
{
  (void)state;
  asked_and_answered(WH_CLIENT_AUTH_OPTIONAL, ASKED_NONE, 0);
}

/* An application that does not answer: the REQUEST_ERROR is the end. */
static void test_async_not_answered(void **state)
{
  (void)state;
  wh_pool_clear();
  HINTERNET s = async_session(0, false);
  HINTERNET c = WinHttpConnect(
      s, L"localhost", wh_peer_client_auth_port(&nginx, WH_CLIENT_AUTH_REQUIRED), 0);
  struct areq *a = calloc(1, sizeof(*a));
  assert_non_null(a);
  a->who = ONE;
  a->r = WinHttpOpenRequest(c, NULL, L"/whoami", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  DWORD_PTR ctx = (DWORD_PTR)a;
  assert_true(WinHttpSetOption(a->r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  assert_true(WinHttpSendRequest(a->r, NULL, 0, NULL, 0, 0, (DWORD_PTR)a));
  assert_true(wait_for(is_done, &a, 1));
  pthread_mutex_lock(&lock);
  assert_int_equal(a->error.dwResult, API_SEND_REQUEST);
  assert_int_equal(a->error.dwError, ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED);
  pthread_mutex_unlock(&lock);
  /* The list is there for the application after the callback too. */
  SecPkgContext_IssuerListInfoEx *list = NULL;
  DWORD size = sizeof(list);
  assert_true(WinHttpQueryOption(a->r, WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST, &list, &size));
  assert_int_equal(list->cIssuers, 1);
  GlobalFree(list);
  assert_true(WinHttpCloseHandle(a->r));
  assert_true(wait_for(is_closed, &a, 1));
  free(a);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- many identities at once -------------------------------------------------------- */

#define ASYNC_N 48
#define SYNC_THREADS 4
#define SYNC_ROUNDS 12

struct sync_arg {
  int index;
  unsigned short port;
  int kinds; /* 3: ONE, TWO, NONE; 2 on a port that requires one */
  int failures;
};

/* A synchronous session's requests, one identity after another. */
static void *sync_worker(void *p)
{
  struct sync_arg *arg = p;
  HINTERNET s = WinHttpOpen(L"client-cert-sync", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  HINTERNET c = s ? WinHttpConnect(s, L"localhost", arg->port, 0) : NULL;
  for (int i = 0; c && i < SYNC_ROUNDS; i++) {
    enum who who = (enum who)((arg->index + i) % arg->kinds); /* ONE, TWO[, NONE] */
    HINTERNET r = WinHttpOpenRequest(c, NULL, L"/whoami", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
    WCHAR dn[128];
    DWORD code = 0, size = sizeof(code), dn_size = sizeof(dn);
    char body[256];
    DWORD got = 0;
    bool ok = r && set_cert(r, cert_of(who)) && WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0) &&
              WinHttpReceiveResponse(r, NULL) &&
              WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &code, &size, NULL) &&
              WinHttpReadData(r, body, sizeof(body), &got);
    if (ok && !WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM, L"X-Client-DN", dn, &dn_size, NULL))
      dn[0] = 0;
    char narrow[128] = "";
    for (size_t k = 0; ok && dn[k] && k + 1 < sizeof(narrow); k++)
      narrow[k] = (char)dn[k];
    if (!ok || code != 200 || strcmp(narrow, dn_of(who)) != 0)
      arg->failures++;
    WinHttpCloseHandle(r);
  }
  if (!c)
    arg->failures++;
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  return NULL;
}

static void many_at_once(enum wh_peer_client_auth port_mode, bool h2)
{
  wh_pool_clear();
  unsigned short port = wh_peer_client_auth_port(&nginx, port_mode);
  pthread_t threads[SYNC_THREADS];
  struct sync_arg args[SYNC_THREADS];
  for (int t = 0; t < SYNC_THREADS; t++) {
    args[t] = (struct sync_arg){
        .index = t, .port = port, .kinds = port_mode == WH_CLIENT_AUTH_OPTIONAL ? 3 : 2};
    assert_int_equal(pthread_create(&threads[t], NULL, sync_worker, &args[t]), 0);
  }
  HINTERNET s = async_session(0, h2);
  HINTERNET c = WinHttpConnect(s, L"localhost", port, 0);
  assert_non_null(c);
  struct areq *all[ASYNC_N];
  /* A required port cannot answer "none". */
  static const enum who rotation[] = {ONE, TWO, NONE, ASKED_TWO, ASKED_NONE};
  static const enum who required_rotation[] = {ONE, TWO, ASKED_TWO};
  for (size_t i = 0; i < ASYNC_N; i++) {
    all[i] = calloc(1, sizeof(struct areq));
    assert_non_null(all[i]);
    all[i]->who = port_mode == WH_CLIENT_AUTH_OPTIONAL ? rotation[i % NELEM(rotation)]
                                                       : required_rotation[i % 3];
    start(all[i], c);
  }
  assert_true(wait_for(is_done, all, ASYNC_N));
  for (size_t i = 0; i < ASYNC_N; i++) {
    check_ok(all[i]);
    pthread_mutex_lock(&lock);
    assert_int_equal(all[i]->proto, h2 ? WINHTTP_PROTOCOL_FLAG_HTTP2 : 0);
    pthread_mutex_unlock(&lock);
  }
  for (size_t i = 0; i < ASYNC_N; i++)
    assert_true(WinHttpCloseHandle(all[i]->r));
  assert_true(wait_for(is_closed, all, ASYNC_N));
  for (size_t i = 0; i < ASYNC_N; i++) {
    pthread_mutex_lock(&lock);
    assert_int_equal(all[i]->closing, 1);
    assert_false(all[i]->after_closing);
    pthread_mutex_unlock(&lock);
    free(all[i]);
  }
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  for (int t = 0; t < SYNC_THREADS; t++) {
    assert_int_equal(pthread_join(threads[t], NULL), 0);
    assert_int_equal(args[t].failures, 0);
  }
}

static void test_c2_identities_http1(void **state)
{
  (void)state;
  many_at_once(WH_CLIENT_AUTH_OPTIONAL, false);
}

static void test_c2_identities_http2(void **state)
{
  (void)state;
  many_at_once(WH_CLIENT_AUTH_REQUIRED_H2, true);
}

static int setup(void **state)
{
  (void)state;
  if (wh_peer_start_nginx(&nginx, 1) != 0)
    return -1;
  char dir[400];
  snprintf(dir, sizeof(dir), "%s/certs", wh_peer_dir(&nginx));
  if (wh_client_certs_load(&certs, dir) != 0)
    return -1;
  return setenv("SSL_CERT_FILE", wh_peer_ca_file(&nginx), 1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_client_certs_free(&certs);
  wh_peer_stop(&nginx);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_async_required),
    cmocka_unit_test(test_async_required_tls12),
    cmocka_unit_test(test_async_optional_none),
    cmocka_unit_test(test_async_not_answered),
    cmocka_unit_test(test_c2_identities_http1),
    cmocka_unit_test(test_c2_identities_http2),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("client_cert_async", tests, setup, teardown);
}
