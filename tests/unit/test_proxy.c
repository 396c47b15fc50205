/* Named proxies through the synchronous API, against the scriptable proxy
 * (tests/peers/proxyserver.py, modes and report format at its top) and
 * tinyproxy, with the fault server and nginx as origins:
 *
 *  - WINHTTP_ACCESS_TYPE_NAMED_PROXY sessions send http:// requests to the
 *    proxy in absolute form ("GET http://host:port/path HTTP/1.1", Host
 *    header kept) and keep the connection to the proxy alive between
 *    requests; https:// goes through a CONNECT tunnel, TLS with the origin
 *    inside (the server certificate is the origin's);
 *  - WINHTTP_OPTION_PROXY on the request overrides the session both ways;
 *    the bypass list sends matching hosts direct ("<local>" matches names
 *    without a period, so not 127.0.0.1);
 *  - a list of proxies is tried in order, an unreachable one skipped; only
 *    unreachable ones: CANNOT_CONNECT;
 *  - a CONNECT answered 407 or 403 gives the request that response; garbage
 *    or a close instead of an answer: INVALID_SERVER_RESPONSE; a CONNECT
 *    never answered is cancelled by WinHttpCloseHandle (OPERATION_CANCELLED)
 *    or ended by the receive timeout (TIMEOUT);
 *  - tinyproxy (an independent implementation) carries http:// and https://;
 *  - the connection notifications come before SENDING_REQUEST and name the
 *    proxy's address.
 *
 * One fault server and one nginx (with TLS) serve the whole file (group
 * setup); each test starts its own proxy, so its client connections are
 * numbered from 1 in the report, and empties the keep-alive pool. Every
 * nginx has its own throwaway CA, so https:// requests ignore unknown-CA
 * errors (the name is still checked: the certificates name 127.0.0.1). No
 * sleeps: the stalled CONNECT is known to have arrived from the proxy's
 * report, which can wait for it. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

static struct wh_peer fault;   /* origin for http:// */
static struct wh_peer nginx;   /* origin for https:// */
static struct wh_peer px;      /* the proxy of the running test */
static struct wh_peer tiny;    /* tinyproxy, for the test that needs it */

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_pattern(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + i % 26))
      return 0;
  return 1;
}

static void start_proxy(const char *args)
{
  if (wh_peer_start_proxy(&px, args) != 0)
    fail_msg("cannot start proxyserver.py %s", args ? args : "");
}

/* L"127.0.0.1:<port>" in |buf|. */
static const WCHAR *proxy_name(unsigned short port, WCHAR buf[64])
{
  swprintf(buf, 64, L"127.0.0.1:%u", (unsigned)port);
  return buf;
}

static unsigned short tls_port(void)
{
  return wh_peer_cert_port(&nginx, WH_CERT_GOOD);
}

/* --- handles ------------------------------------------------------------------------- */

/* Every timeout bounded, so that a broken client fails instead of hanging. */
static HINTERNET bounded(HINTERNET s)
{
  assert_non_null(s);
  assert_true(WinHttpSetTimeouts(s, 0, 10000, 20000, 20000));
  return s;
}

static HINTERNET session_named(const WCHAR *proxy, const WCHAR *bypass)
{
  return bounded(WinHttpOpen(L"proxy-test", WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy,
                             bypass ? bypass : WINHTTP_NO_PROXY_BYPASS, 0));
}

static HINTERNET session_direct(void)
{
  return bounded(WinHttpOpen(L"proxy-test", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                             WINHTTP_NO_PROXY_BYPASS, 0));
}

/* A request and its connection handle; over TLS trusting the peer's own CA
 * by ignoring unknown-CA errors. */
struct req {
  HINTERNET c, r;
};

static void open_req(struct req *q, HINTERNET s, const WCHAR *host, unsigned short port,
                     const WCHAR *path, bool secure)
{
  q->c = WinHttpConnect(s, host, port, 0);
  assert_non_null(q->c);
  q->r = WinHttpOpenRequest(q->c, L"GET", path, NULL, NULL, NULL, secure ? WINHTTP_FLAG_SECURE : 0);
  assert_non_null(q->r);
  if (secure) {
    DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
    assert_true(WinHttpSetOption(q->r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags)));
  }
}

static void close_req(struct req *q)
{
  if (q->r)
    assert_true(WinHttpCloseHandle(q->r));
  assert_true(WinHttpCloseHandle(q->c));
  memset(q, 0, sizeof(*q));
}

/* --- one exchange -------------------------------------------------------------------- */

enum stage { ST_OK, ST_SEND, ST_RECV, ST_READ };

struct outcome {
  enum stage stage; /* where it failed, ST_OK when it did not */
  DWORD err;
  DWORD status;
  char *body;       /* malloc'd, NUL-terminated */
  size_t len;
};

static void outcome_free(struct outcome *o)
{
  free(o->body);
  memset(o, 0, sizeof(*o));
}

/* Reads the whole body of |r| into |o|; records a failure. */
static void read_all(HINTERNET r, struct outcome *o)
{
  size_t cap = 4096;
  o->body = malloc(cap + 1);
  if (!o->body)
    abort();
  o->len = 0;
  for (int guard = 0; guard < 1000000; guard++) {
    if (o->len == cap) {
      cap *= 2;
      char *nb = realloc(o->body, cap + 1);
      if (!nb)
        abort();
      o->body = nb;
    }
    DWORD got = 0;
    if (!WinHttpReadData(r, o->body + o->len, (DWORD)(cap - o->len), &got)) {
      o->stage = ST_READ;
      o->err = GetLastError();
      break;
    }
    if (got == 0)
      break;
    o->len += got;
  }
  o->body[o->len] = 0;
}

/* Sends |r| (no body), receives, reads to the end. No cmocka assertion:
 * threads call it too. */
static void exchange(HINTERNET r, struct outcome *o)
{
  memset(o, 0, sizeof(*o));
  if (!WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0)) {
    o->stage = ST_SEND;
    o->err = GetLastError();
    return;
  }
  if (!WinHttpReceiveResponse(r, NULL)) {
    o->stage = ST_RECV;
    o->err = GetLastError();
    return;
  }
  DWORD size = sizeof(o->status);
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                           &o->status, &size, NULL))
    o->status = 0;
  read_all(r, o);
}

static void expect_ok(const struct outcome *o, const char *what)
{
  if (o->stage != ST_OK)
    fail_msg("%s: failed at stage %d with error %lu", what, (int)o->stage, (unsigned long)o->err);
}

/* GET |path| of |host|:|port| on session |s|: expects 200 and the n-byte
 * pattern body. */
static void get_pattern(HINTERNET s, const WCHAR *host, unsigned short port, const WCHAR *path,
                        bool secure, size_t n, const char *what)
{
  struct req q;
  open_req(&q, s, host, port, path, secure);
  struct outcome o;
  exchange(q.r, &o);
  expect_ok(&o, what);
  if (o.status != 200)
    fail_msg("%s: status %lu", what, (unsigned long)o.status);
  assert_int_equal(o.len, n);
  assert_true(is_pattern(o.body, o.len));
  outcome_free(&o);
  close_req(&q);
}

/* The fault server's /ok?n=<n> by 127.0.0.1. */
static void get_fault(HINTERNET s, size_t n, const char *what)
{
  WCHAR path[32];
  swprintf(path, 32, L"/ok?n=%zu", n);
  get_pattern(s, L"127.0.0.1", wh_peer_port(&fault), path, false, n, what);
}

/* nginx's /100.bin over TLS by 127.0.0.1. */
static void get_nginx(HINTERNET s, const char *what)
{
  get_pattern(s, L"127.0.0.1", tls_port(), L"/100.bin", true, 100, what);
}

/* --- the proxy's report -------------------------------------------------------------- */

static char report[8192];

static void read_report(void)
{
  if (wh_peer_proxy_report(&px, report, sizeof(report)) < 0)
    fail_msg("no report from the proxy");
}

static size_t count_lines(const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* The report holds exactly |want| (a format with the fault server's port
 * for each %u). */
static void expect_report(const char *want)
{
  read_report();
  if (strcmp(report, want) != 0)
    fail_msg("proxy report:\n%swanted:\n%s", report, want);
}

/* The report line of GET http://127.0.0.1:<fault>/ok?n=<n> on connection
 * |conn|. */
static void fault_line(char *out, size_t cap, unsigned conn, size_t n)
{
  unsigned fp = wh_peer_port(&fault);
  snprintf(out, cap, "conn=%u GET http://127.0.0.1:%u/ok?n=%zu HTTP/1.1 host=127.0.0.1:%u\n", conn,
           fp, n, fp);
}

/* --- http:// through the proxy ------------------------------------------------------- */

static void test_http_via_named_proxy(void **state)
{
  (void)state;
  start_proxy(NULL);
  WCHAR name[64];
  HINTERNET s = session_named(proxy_name(wh_peer_port(&px), name), NULL);
  get_fault(s, 100, "http:// through the proxy");
  char want[256];
  fault_line(want, sizeof(want), 1, 100);
  expect_report(want);
  WinHttpCloseHandle(s);
}

/* Sequential requests share one connection to the proxy. */
static void test_keepalive_to_proxy(void **state)
{
  (void)state;
  start_proxy(NULL);
  WCHAR name[64];
  HINTERNET s = session_named(proxy_name(wh_peer_port(&px), name), NULL);
  get_fault(s, 10, "first");
  get_fault(s, 20, "second");
  get_fault(s, 30, "third");
  char a[256], b[256], c[256], want[800];
  fault_line(a, sizeof(a), 1, 10);
  fault_line(b, sizeof(b), 1, 20);
  fault_line(c, sizeof(c), 1, 30);
  snprintf(want, sizeof(want), "%s%s%s", a, b, c);
  expect_report(want);
  WinHttpCloseHandle(s);
}

/* WINHTTP_OPTION_PROXY on the request: named on a direct session goes
 * through the proxy; NO_PROXY on a named session goes direct. */
static void test_request_option(void **state)
{
  (void)state;
  start_proxy(NULL);
  WCHAR name[64];
  proxy_name(wh_peer_port(&px), name);

  HINTERNET s = session_direct();
  struct req q;
  open_req(&q, s, L"127.0.0.1", wh_peer_port(&fault), L"/ok?n=40", false);
  WINHTTP_PROXY_INFO info = {WINHTTP_ACCESS_TYPE_NAMED_PROXY, name, NULL};
  assert_true(WinHttpSetOption(q.r, WINHTTP_OPTION_PROXY, &info, sizeof(info)));
  struct outcome o;
  exchange(q.r, &o);
  expect_ok(&o, "named proxy on the request");
  assert_int_equal(o.status, 200);
  assert_int_equal(o.len, 40);
  outcome_free(&o);
  close_req(&q);
  char want[256];
  fault_line(want, sizeof(want), 1, 40);
  expect_report(want);
  WinHttpCloseHandle(s);

  s = session_named(name, NULL);
  open_req(&q, s, L"127.0.0.1", wh_peer_port(&fault), L"/ok?n=50", false);
  WINHTTP_PROXY_INFO none = {WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL};
  assert_true(WinHttpSetOption(q.r, WINHTTP_OPTION_PROXY, &none, sizeof(none)));
  exchange(q.r, &o);
  expect_ok(&o, "no proxy on the request");
  assert_int_equal(o.status, 200);
  assert_int_equal(o.len, 50);
  assert_true(is_pattern(o.body, o.len));
  outcome_free(&o);
  close_req(&q);
  expect_report(want); /* nothing new */
  WinHttpCloseHandle(s);
}

/* The bypass list: "127.0.0.1" goes direct; "<local>" matches only names
 * without a period, so 127.0.0.1 still goes through the proxy and localhost
 * does not. */
static void test_bypass_list(void **state)
{
  (void)state;
  start_proxy(NULL);
  WCHAR name[64];
  proxy_name(wh_peer_port(&px), name);

  HINTERNET s = session_named(name, L"127.0.0.1");
  get_fault(s, 60, "bypassed by address");
  expect_report("");
  WinHttpCloseHandle(s);

  s = session_named(name, L"<local>");
  get_fault(s, 70, "<local> does not match 127.0.0.1");
  char want[256];
  fault_line(want, sizeof(want), 1, 70);
  expect_report(want);
  get_pattern(s, L"localhost", wh_peer_port(&fault), L"/ok?n=80", false, 80,
              "<local> matches localhost");
  expect_report(want); /* nothing new */
  WinHttpCloseHandle(s);
}

/* A list: the first proxy refuses, the second carries the request. */
static void test_proxy_list_failover(void **state)
{
  (void)state;
  start_proxy(NULL);
  WCHAR list[96];
  swprintf(list, 96, L"127.0.0.1:1;127.0.0.1:%u", (unsigned)wh_peer_port(&px));
  HINTERNET s = session_named(list, NULL);
  get_fault(s, 90, "second proxy of the list");
  char want[256];
  fault_line(want, sizeof(want), 1, 90);
  expect_report(want);
  WinHttpCloseHandle(s);
}

/* The only proxy refuses: CANNOT_CONNECT from SendRequest. */
static void test_proxy_refuses(void **state)
{
  (void)state;
  HINTERNET s = session_named(L"127.0.0.1:1", NULL);
  struct req q;
  open_req(&q, s, L"127.0.0.1", wh_peer_port(&fault), L"/ok", false);
  assert_false(WinHttpSendRequest(q.r, NULL, 0, NULL, 0, 0, 0));
  assert_last_error(ERROR_WINHTTP_CANNOT_CONNECT);
  close_req(&q);
  WinHttpCloseHandle(s);
}

/* --- https:// through a CONNECT tunnel ----------------------------------------------- */

/* The DER of nginx's good certificate (dir/certs/server.pem), malloc'd. */
static unsigned char *nginx_cert_der(int *len)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/certs/server.pem", wh_peer_dir(&nginx));
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(x);
  unsigned char *der = NULL;
  *len = i2d_X509(x, &der);
  X509_free(x);
  assert_true(*len > 0);
  return der;
}

static void test_https_via_proxy(void **state)
{
  (void)state;
  start_proxy(NULL);
  WCHAR name[64];
  HINTERNET s = session_named(proxy_name(wh_peer_port(&px), name), NULL);
  struct req q;
  open_req(&q, s, L"127.0.0.1", tls_port(), L"/100.bin", true);
  struct outcome o;
  memset(&o, 0, sizeof(o));
  if (!WinHttpSendRequest(q.r, NULL, 0, NULL, 0, 0, 0))
    fail_msg("https:// through the proxy: SendRequest failed with %lu",
             (unsigned long)GetLastError());
  /* The certificate is the origin's, seen through the tunnel. */
  PCCERT_CONTEXT cert = NULL;
  DWORD size = sizeof(cert);
  assert_true(WinHttpQueryOption(q.r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size));
  assert_non_null(cert);
  int der_len;
  unsigned char *der = nginx_cert_der(&der_len);
  assert_int_equal(cert->cbCertEncoded, (DWORD)der_len);
  assert_memory_equal(cert->pbCertEncoded, der, (size_t)der_len);
  OPENSSL_free(der);
  assert_true(CertFreeCertificateContext(cert));
  assert_true(WinHttpReceiveResponse(q.r, NULL));
  DWORD status = 0;
  size = sizeof(status);
  assert_true(WinHttpQueryHeaders(q.r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                                  NULL, &status, &size, NULL));
  assert_int_equal(status, 200);
  BOOL is_proxy = TRUE;
  size = sizeof(is_proxy);
  assert_true(WinHttpQueryOption(q.r, WINHTTP_OPTION_IS_PROXY_CONNECT_RESPONSE, &is_proxy, &size));
  assert_false(is_proxy); /* the origin's */
  read_all(q.r, &o);
  expect_ok(&o, "https:// body");
  assert_int_equal(o.len, 100);
  assert_true(is_pattern(o.body, o.len));
  outcome_free(&o);
  close_req(&q);

  char want[256];
  snprintf(want, sizeof(want), "conn=1 CONNECT 127.0.0.1:%u HTTP/1.1 host=", tls_port());
  read_report();
  if (strncmp(report, want, strlen(want)) != 0 || count_lines(report) != 1)
    fail_msg("proxy report:\n%swanted one line starting:\n%s", report, want);

  /* The next https:// request reuses the tunnelled connection. */
  get_nginx(s, "second https:// request");
  read_report();
  assert_int_equal(count_lines(report), 1);
  WinHttpCloseHandle(s);
}

/* --- CONNECT failures ---------------------------------------------------------------- */

/* An https:// request through a proxy started with |args|, by a named
 * session whose receive timeout is |recv_ms|. */
static void https_through(const char *args, DWORD recv_ms, struct req *q, HINTERNET *s)
{
  start_proxy(args);
  WCHAR name[64];
  *s = session_named(proxy_name(wh_peer_port(&px), name), NULL);
  open_req(q, *s, L"127.0.0.1", tls_port(), L"/100.bin", true);
  assert_true(WinHttpSetTimeouts(q->r, 0, 5000, 5000, (int)recv_ms));
}

/* The proxy's answer to CONNECT is the request's response. */
static void connect_answered(const char *args, DWORD code)
{
  struct req q;
  HINTERNET s;
  https_through(args, 10000, &q, &s);
  struct outcome o;
  exchange(q.r, &o);
  expect_ok(&o, args);
  assert_int_equal(o.status, code);
  /* The response says whose it is. */
  BOOL is_proxy = FALSE;
  DWORD blen = sizeof(is_proxy);
  assert_true(WinHttpQueryOption(q.r, WINHTTP_OPTION_IS_PROXY_CONNECT_RESPONSE, &is_proxy, &blen));
  assert_true(is_proxy);
  char want[32];
  snprintf(want, sizeof(want), "proxy says %lu", (unsigned long)code);
  assert_string_equal(o.body, want);
  if (code == 407) {
    WCHAR value[128];
    DWORD size = sizeof(value);
    assert_true(WinHttpQueryHeaders(q.r, WINHTTP_QUERY_PROXY_AUTHENTICATE,
                                    WINHTTP_HEADER_NAME_BY_INDEX, value, &size,
                                    WINHTTP_NO_HEADER_INDEX));
    assert_true(wcscmp(value, L"Basic realm=\"test\"") == 0);
  }
  outcome_free(&o);
  close_req(&q);
  char line[200];
  snprintf(line, sizeof(line), "conn=1 CONNECT 127.0.0.1:%u HTTP/1.1 host=", tls_port());
  read_report();
  assert_non_null(strstr(report, line));
  WinHttpCloseHandle(s);
}

static void test_connect_407(void **state)
{
  (void)state;
  connect_answered("--connect-answer 407", 407);
}

static void test_connect_403(void **state)
{
  (void)state;
  connect_answered("--connect-answer 403", 403);
}

/* No HTTP answer to CONNECT: INVALID_SERVER_RESPONSE from SendRequest or
 * ReceiveResponse. */
static void connect_invalid(const char *args)
{
  struct req q;
  HINTERNET s;
  https_through(args, 10000, &q, &s);
  struct outcome o;
  exchange(q.r, &o);
  if (o.stage != ST_SEND && o.stage != ST_RECV)
    fail_msg("%s: stage %d, status %lu", args, (int)o.stage, (unsigned long)o.status);
  assert_int_equal(o.err, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  outcome_free(&o);
  close_req(&q);
  WinHttpCloseHandle(s);
}

static void test_connect_garbage(void **state)
{
  (void)state;
  connect_invalid("--connect-garbage");
}

static void test_connect_close(void **state)
{
  (void)state;
  connect_invalid("--connect-close");
}

struct blocked {
  HINTERNET r;
  BOOL ok;
  DWORD err;
  long ended;
};

static void *send_main(void *arg)
{
  struct blocked *b = arg;
  SetLastError(0);
  b->ok = WinHttpSendRequest(b->r, NULL, 0, NULL, 0, 0, 0);
  b->err = GetLastError();
  b->ended = now_ms();
  return NULL;
}

/* A SendRequest waiting for the CONNECT answer is ended by
 * WinHttpCloseHandle from another thread, promptly. The proxy's report
 * tells when the CONNECT has arrived, so the call is then waiting. */
static void test_connect_stall_close_cancels(void **state)
{
  (void)state;
  struct req q;
  HINTERNET s;
  https_through("--connect-stall", 20000, &q, &s);
  struct blocked b = {.r = q.r};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, send_main, &b), 0);
  char got[1024];
  int n = wh_peer_proxy_report_wait(&px, " CONNECT ", got, sizeof(got));
  if (n < 0 || strstr(got, "timeout=1")) {
    WinHttpCloseHandle(q.r); /* let the thread end before failing */
    pthread_join(t, NULL);
    fail_msg("the CONNECT never reached the proxy: %s", got);
  }
  long t0 = now_ms();
  assert_true(WinHttpCloseHandle(q.r));
  q.r = NULL;
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_false(b.ok);
  assert_int_equal(b.err, ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_true(b.ended - t0 < 2000);
  close_req(&q);
  WinHttpCloseHandle(s);
}

/* The same CONNECT ends by the receive timeout. */
static void test_connect_stall_times_out(void **state)
{
  (void)state;
  struct req q;
  HINTERNET s;
  https_through("--connect-stall", 500, &q, &s);
  long t0 = now_ms();
  struct outcome o;
  exchange(q.r, &o);
  long took = now_ms() - t0;
  if (o.stage != ST_SEND && o.stage != ST_RECV)
    fail_msg("stalled CONNECT: stage %d, status %lu", (int)o.stage, (unsigned long)o.status);
  assert_int_equal(o.err, ERROR_WINHTTP_TIMEOUT);
  if (took < 400 || took >= 5000)
    fail_msg("the timeout took %ld ms", took);
  outcome_free(&o);
  close_req(&q);
  WinHttpCloseHandle(s);
}

/* --- tinyproxy ------------------------------------------------------------------------ */

static void test_tinyproxy(void **state)
{
  (void)state;
  if (wh_peer_start_tinyproxy(&tiny) != 0)
    fail_msg("cannot start tinyproxy (scripts/install-deps installs it)");
  WCHAR name[64];
  HINTERNET s = session_named(proxy_name(wh_peer_port(&tiny), name), NULL);
  get_fault(s, 1000, "http:// through tinyproxy");
  struct req q;
  open_req(&q, s, L"127.0.0.1", tls_port(), L"/1m.bin", true);
  struct outcome o;
  exchange(q.r, &o);
  expect_ok(&o, "https:// through tinyproxy");
  assert_int_equal(o.status, 200);
  assert_int_equal(o.len, 1024 * 1024);
  assert_true(is_pattern(o.body, o.len));
  PCCERT_CONTEXT cert = NULL;
  DWORD size = sizeof(cert);
  assert_true(WinHttpQueryOption(q.r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size));
  assert_non_null(cert);
  assert_true(CertFreeCertificateContext(cert));
  outcome_free(&o);
  close_req(&q);
  WinHttpCloseHandle(s);
}

/* --- notifications ------------------------------------------------------------------- */

#define NOTE_MAX 256

static struct {
  pthread_mutex_t lock;
  DWORD status[NOTE_MAX];
  WCHAR info[NOTE_MAX][64]; /* the string of RESOLVING/NAME_RESOLVED/CONNECT* */
  size_t n;
} notes = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void CALLBACK note_callback(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info,
                                   DWORD len)
{
  (void)h;
  (void)ctx;
  pthread_mutex_lock(&notes.lock);
  if (notes.n < NOTE_MAX) {
    size_t i = notes.n++;
    notes.status[i] = status;
    notes.info[i][0] = 0;
    bool text = status == WINHTTP_CALLBACK_STATUS_RESOLVING_NAME ||
                status == WINHTTP_CALLBACK_STATUS_NAME_RESOLVED ||
                status == WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER ||
                status == WINHTTP_CALLBACK_STATUS_CONNECTED_TO_SERVER;
    if (text && info && len) {
      size_t k = len < 63 ? len : 63;
      memcpy(notes.info[i], info, k * sizeof(WCHAR));
      notes.info[i][k] = 0;
    }
  }
  pthread_mutex_unlock(&notes.lock);
}

static long note_find(DWORD status)
{
  for (size_t i = 0; i < notes.n; i++)
    if (notes.status[i] == status)
      return (long)i;
  return -1;
}

/* The name resolved and the address connected to are the proxy's: the
 * origin is "localhost", the proxy "127.0.0.1". Both connection
 * notifications come before SENDING_REQUEST. */
static void test_notifications(void **state)
{
  (void)state;
  start_proxy(NULL);
  pthread_mutex_lock(&notes.lock);
  notes.n = 0;
  pthread_mutex_unlock(&notes.lock);
  WCHAR name[64];
  HINTERNET s = session_named(proxy_name(wh_peer_port(&px), name), NULL);
  assert_true(WinHttpSetStatusCallback(s, note_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS,
                                       0) != WINHTTP_INVALID_STATUS_CALLBACK);
  get_pattern(s, L"localhost", wh_peer_port(&fault), L"/ok?n=10", false, 10,
              "http://localhost through the proxy");
  pthread_mutex_lock(&notes.lock);
  long resolving = note_find(WINHTTP_CALLBACK_STATUS_RESOLVING_NAME);
  long connecting = note_find(WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER);
  long connected = note_find(WINHTTP_CALLBACK_STATUS_CONNECTED_TO_SERVER);
  long sending = note_find(WINHTTP_CALLBACK_STATUS_SENDING_REQUEST);
  bool resolving_ok = resolving < 0 || wcscmp(notes.info[resolving], L"127.0.0.1") == 0;
  bool connecting_ok = connecting >= 0 && wcscmp(notes.info[connecting], L"127.0.0.1") == 0;
  bool connected_ok = connected >= 0 && wcscmp(notes.info[connected], L"127.0.0.1") == 0;
  pthread_mutex_unlock(&notes.lock);
  assert_true(resolving_ok);
  assert_true(connecting_ok);
  assert_true(connected_ok);
  assert_true(sending >= 0);
  assert_true(connecting < connected);
  assert_true(connected < sending);
  WinHttpSetStatusCallback(s, NULL, 0, 0);
  WinHttpCloseHandle(s);
  unsigned fp = wh_peer_port(&fault);
  char want[256];
  snprintf(want, sizeof(want), "conn=1 GET http://localhost:%u/ok?n=10 HTTP/1.1 host=localhost:%u\n",
           fp, fp);
  expect_report(want);
}

/* --- group --------------------------------------------------------------------------- */

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
  wh_peer_stop(&tiny);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_http_via_named_proxy, per_test_teardown),
    cmocka_unit_test_teardown(test_keepalive_to_proxy, per_test_teardown),
    cmocka_unit_test_teardown(test_request_option, per_test_teardown),
    cmocka_unit_test_teardown(test_bypass_list, per_test_teardown),
    cmocka_unit_test_teardown(test_proxy_list_failover, per_test_teardown),
    cmocka_unit_test_teardown(test_proxy_refuses, per_test_teardown),
    cmocka_unit_test_teardown(test_https_via_proxy, per_test_teardown),
    cmocka_unit_test_teardown(test_connect_407, per_test_teardown),
    cmocka_unit_test_teardown(test_connect_403, per_test_teardown),
    cmocka_unit_test_teardown(test_connect_garbage, per_test_teardown),
    cmocka_unit_test_teardown(test_connect_close, per_test_teardown),
    cmocka_unit_test_teardown(test_connect_stall_close_cancels, per_test_teardown),
    cmocka_unit_test_teardown(test_connect_stall_times_out, per_test_teardown),
    cmocka_unit_test_teardown(test_tinyproxy, per_test_teardown),
    cmocka_unit_test_teardown(test_notifications, per_test_teardown),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("proxy", tests, group_setup, group_teardown);
}
