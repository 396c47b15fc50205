/* HTTP/2 through the synchronous API, against the scriptable HTTP/2 server
 * (tests/peers/h2server.py, scenario table at its top) and nginx's h2 port:
 *
 *  - WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL (HTTP2) on the session or the
 *    request selects h2 over TLS by ALPN; HTTP_PROTOCOL_USED says so; the
 *    head reads as "HTTP/2 <status>" with lower-case fields and no
 *    pseudo-header; bodies are byte-exact at every size;
 *  - without the option the server's HTTP/1.1 505 comes back; plain http://
 *    stays HTTP/1.1; HTTP_PROTOCOL_REQUIRED fails against a server without
 *    h2 (ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH), and without it the request
 *    falls back to HTTP/1.1;
 *  - one connection per origin: sequential requests share it (/conn), eight
 *    threads multiplex on it (/barrier), and the client queues beyond the
 *    server's MAX_CONCURRENT_STREAMS instead of violating it;
 *  - RST_STREAM fails only its request (CONNECTION_ERROR, the code in
 *    WINHTTP_OPTION_STREAM_ERROR_CODE); REFUSED_STREAM and a GOAWAY that
 *    left the stream unprocessed are retried on a new connection;
 *  - trailers, uploads under flow control, cancellation by close, a server
 *    that never sends SETTINGS (timeout, no hang).
 *
 * Each test starts its own h2server, so its connections count from 1. Every
 * peer has its own throwaway CA, so the requests ignore unknown-CA errors
 * (the host name is still checked). No sleeps: threads meet on barriers and
 * wait on condition variables with deadlines.
 * In the concurrency suite: its threaded cases (sharing, duplex, cancel)
 * run under ThreadSanitizer in CI. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"
#include "net/h2_conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct wh_peer h2;   /* the h2server of the running test */
static struct wh_peer aux;  /* a second peer some tests need */

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void start_h2(const char *args)
{
  if (wh_peer_start_h2(&h2, args) != 0)
    fail_msg("cannot start h2server.py %s (python3-h2 installed?)", args ? args : "");
}

static int is_pattern(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + i % 26))
      return 0;
  return 1;
}

/* --- handles ------------------------------------------------------------------------- */

/* A synchronous session, HTTP/2 enabled on it when |h2on|; every timeout
 * bounded so that a broken client fails instead of hanging. */
static HINTERNET session(bool h2on)
{
  HINTERNET s = WinHttpOpen(L"h2-sync", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(s);
  if (h2on) {
    DWORD v = WINHTTP_PROTOCOL_FLAG_HTTP2;
    assert_true(WinHttpSetOption(s, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, &v, sizeof(v)));
  }
  assert_true(WinHttpSetTimeouts(s, 0, 10000, 20000, 20000));
  return s;
}

static HINTERNET connect_port(HINTERNET s, unsigned short port)
{
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", port, 0);
  assert_non_null(c);
  return c;
}

/* A request over TLS that trusts the peer's own CA by ignoring unknown-CA
 * errors. */
static HINTERNET request(HINTERNET c, const wchar_t *verb, const wchar_t *path)
{
  HINTERNET r = WinHttpOpenRequest(c, verb, path, NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(r);
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags)));
  return r;
}

static DWORD protocol_used(HINTERNET r)
{
  DWORD v = 0xdeadbeef, len = sizeof(v);
  assert_true(WinHttpQueryOption(r, WINHTTP_OPTION_HTTP_PROTOCOL_USED, &v, &len));
  assert_int_equal(len, sizeof(DWORD));
  return v;
}

static DWORD status_of(HINTERNET r)
{
  DWORD code = 0, size = sizeof(code);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &code, &size, NULL));
  return code;
}

/* --- one exchange -------------------------------------------------------------------- */

enum stage { ST_OK, ST_SEND, ST_RECV, ST_READ };

struct outcome {
  enum stage stage; /* where it failed, ST_OK when it did not */
  DWORD err;
  DWORD status;
  DWORD proto;
  char *body;       /* malloc'd, NUL-terminated */
  size_t len;
};

static void outcome_free(struct outcome *o)
{
  free(o->body);
  memset(o, 0, sizeof(*o));
}

/* Reads the whole body of |r| into |o| with QueryDataAvailable and
 * ReadData; records a failure. (No cmocka assertion: threads use it.) */
static void read_all(HINTERNET r, struct outcome *o)
{
  size_t cap = 4096;
  o->body = malloc(cap + 1);
  if (!o->body)
    abort();
  o->len = 0;
  for (int guard = 0; guard < 1000000; guard++) {
    DWORD avail = 0;
    if (!WinHttpQueryDataAvailable(r, &avail)) {
      o->stage = ST_READ;
      o->err = GetLastError();
      break;
    }
    if (avail == 0) {
      /* The end, or nothing yet: ReadData tells which. */
      avail = 1;
    }
    if (o->len + avail > cap) {
      while (o->len + avail > cap)
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

/* Sends |r| (no body), receives, reads to the end. */
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
  /* No cmocka assertion here: worker threads call this too. */
  DWORD size = sizeof(o->status);
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                           &o->status, &size, NULL))
    o->status = 0;
  size = sizeof(o->proto);
  if (!WinHttpQueryOption(r, WINHTTP_OPTION_HTTP_PROTOCOL_USED, &o->proto, &size))
    o->proto = 0xdeadbeef;
  read_all(r, o);
}

static void expect_ok(const struct outcome *o, const char *what)
{
  if (o->stage != ST_OK)
    fail_msg("%s: failed at stage %d with error %lu", what, (int)o->stage,
             (unsigned long)o->err);
}

/* GET |path| on a new request of |c|; the outcome in |o|. */
static void get(HINTERNET c, const wchar_t *path, struct outcome *o)
{
  HINTERNET r = request(c, L"GET", path);
  exchange(r, o);
  assert_true(WinHttpCloseHandle(r));
}

/* GET /conn over HTTP/2: the connection number and the stream id. */
static void get_conn(HINTERNET c, unsigned *conn, unsigned *stream)
{
  struct outcome o;
  get(c, L"/conn", &o);
  expect_ok(&o, "GET /conn");
  assert_int_equal(o.status, 200);
  assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  unsigned a = 0, b = 0;
  if (sscanf(o.body, "%u %u", &a, &b) != 2)
    fail_msg("unexpected /conn body: %s", o.body);
  *conn = a;
  if (stream)
    *stream = b;
  outcome_free(&o);
}

static bool wcontains(const wchar_t *hay, const wchar_t *needle)
{
  return wcsstr(hay, needle) != NULL;
}

/* A malloc'd WCHAR string of header query |level| (NULL when it fails; the
 * error is then in GetLastError). */
static WCHAR *query_string(HINTERNET r, DWORD level, const wchar_t *name)
{
  DWORD len = 0;
  if (WinHttpQueryHeaders(r, level, name, NULL, &len, NULL))
    fail_msg("a NULL buffer query succeeded");
  if (GetLastError() != ERROR_INSUFFICIENT_BUFFER)
    return NULL;
  WCHAR *buf = malloc(len + sizeof(WCHAR));
  assert_non_null(buf);
  if (!WinHttpQueryHeaders(r, level, name, buf, &len, NULL)) {
    DWORD err = GetLastError();
    free(buf);
    SetLastError(err);
    return NULL;
  }
  return buf;
}

/* --- protocol selection and the head -------------------------------------------------- */

static void test_get_head_and_version(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  HINTERNET r = request(c, L"GET", L"/ok?len=100");
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(r, NULL));
  assert_int_equal(protocol_used(r), WINHTTP_PROTOCOL_FLAG_HTTP2);
  assert_int_equal(status_of(r), 200);

  WCHAR *v = query_string(r, WINHTTP_QUERY_VERSION, NULL);
  assert_non_null(v);
  assert_true(wcscmp(v, L"HTTP/2") == 0);
  free(v);
  /* HTTP/2 has no reason phrase: an empty string, not a failure. */
  WCHAR text[16];
  DWORD len = sizeof(text);
  wmemset(text, L'x', NELEM(text));
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_TEXT, NULL, text, &len, NULL));
  assert_int_equal(len, 0);
  assert_true(text[0] == 0);

  WCHAR *raw = query_string(r, WINHTTP_QUERY_RAW_HEADERS_CRLF, NULL);
  assert_non_null(raw);
  if (wcsncmp(raw, L"HTTP/2 200", 10) != 0)
    fail_msg("raw head starts with: %.40ls", raw);
  assert_true(wcontains(raw, L"\r\ncontent-length: 100\r\n"));
  assert_true(wcontains(raw, L"\r\ncontent-type: text/plain\r\n"));
  assert_false(wcontains(raw, L":status"));
  size_t n = wcslen(raw);
  assert_true(n > 4 && wcscmp(raw + n - 4, L"\r\n\r\n") == 0);
  free(raw);

  /* Fields by name, case-insensitively, and by their well-known levels. */
  DWORD cl = 0, size = sizeof(cl);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER,
                                  NULL, &cl, &size, NULL));
  assert_int_equal(cl, 100);
  v = query_string(r, WINHTTP_QUERY_CONTENT_TYPE, NULL);
  assert_non_null(v);
  assert_true(wcscmp(v, L"text/plain") == 0);
  free(v);
  v = query_string(r, WINHTTP_QUERY_CUSTOM, L"Content-Length");
  assert_non_null(v);
  assert_true(wcscmp(v, L"100") == 0);
  free(v);
  /* No pseudo-header can be asked for as a field. */
  assert_null(query_string(r, WINHTTP_QUERY_CUSTOM, L":status"));
  assert_int_equal(GetLastError(), ERROR_WINHTTP_HEADER_NOT_FOUND);

  /* WinHttpQueryHeadersEx lists the fields alone, names lower-case. */
  DWORD blen = 0, cnt = 0;
  WINHTTP_EXTENDED_HEADER *a = NULL;
  assert_int_equal(WinHttpQueryHeadersEx(r, WINHTTP_QUERY_EX_ALL_HEADERS, 0, 0, NULL, NULL, NULL,
                                         &blen, &a, &cnt),
                   ERROR_INSUFFICIENT_BUFFER);
  void *buf = malloc(blen);
  assert_non_null(buf);
  assert_int_equal(WinHttpQueryHeadersEx(r, WINHTTP_QUERY_EX_ALL_HEADERS, 0, 0, NULL, NULL, buf,
                                         &blen, &a, &cnt),
                   ERROR_SUCCESS);
  assert_int_equal(cnt, 2);
  for (DWORD i = 0; i < cnt; i++) {
    assert_true(a[i].pwszName[0] != L':');
    for (const WCHAR *w = a[i].pwszName; *w; w++)
      assert_false(*w >= L'A' && *w <= L'Z');
  }
  free(buf);

  struct outcome o = {0};
  read_all(r, &o);
  expect_ok(&o, "read");
  assert_int_equal(o.len, 100);
  assert_true(is_pattern(o.body, o.len));
  outcome_free(&o);
  assert_true(WinHttpCloseHandle(r));
  assert_true(WinHttpCloseHandle(c));
  assert_true(WinHttpCloseHandle(s));
}

/* The option on the request alone is enough. */
static void test_enable_on_request(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(false), c = connect_port(s, wh_peer_port(&h2));
  HINTERNET r = request(c, L"GET", L"/ok?len=10");
  DWORD v = WINHTTP_PROTOCOL_FLAG_HTTP2;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, &v, sizeof(v)));
  struct outcome o;
  exchange(r, &o);
  expect_ok(&o, "GET /ok?len=10");
  assert_int_equal(o.status, 200);
  assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  assert_int_equal(o.len, 10);
  assert_true(is_pattern(o.body, o.len));
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_body_sizes(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  static const size_t sizes[] = {0, 1, 16383, 16384, 16385, 65535, 65536, 1000000};
  for (size_t i = 0; i < NELEM(sizes); i++) {
    wchar_t path[64];
    swprintf(path, NELEM(path), L"/ok?len=%zu", sizes[i]);
    struct outcome o;
    get(c, path, &o);
    expect_ok(&o, "GET /ok");
    assert_int_equal(o.status, 200);
    assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
    if (o.len != sizes[i])
      fail_msg("len=%zu: got %zu bytes", sizes[i], o.len);
    assert_true(is_pattern(o.body, o.len));
    outcome_free(&o);
  }
  /* A status without a body of its own. */
  struct outcome o;
  get(c, L"/nope", &o);
  expect_ok(&o, "GET /nope");
  assert_int_equal(o.status, 404);
  assert_string_equal(o.body, "not found\n");
  outcome_free(&o);
  /* A header block larger than one frame (HEADERS + CONTINUATION). */
  HINTERNET r = request(c, L"GET", L"/bigheaders?n=400");
  exchange(r, &o);
  expect_ok(&o, "GET /bigheaders");
  assert_int_equal(o.status, 200);
  assert_string_equal(o.body, "ok\n");
  WCHAR *v = query_string(r, WINHTTP_QUERY_CUSTOM, L"x-big-00399");
  assert_non_null(v);
  assert_int_equal(wcslen(v), 100 - 11);
  free(v);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* Without the option: HTTP/1.1 over TLS, and h2server's 505. */
static void test_without_option_gets_505(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(false), c = connect_port(s, wh_peer_port(&h2));
  HINTERNET r = request(c, L"GET", L"/ok");
  struct outcome o;
  exchange(r, &o);
  expect_ok(&o, "GET /ok without HTTP/2");
  assert_int_equal(o.status, 505);
  assert_int_equal(o.proto, 0);
  assert_string_equal(o.body, "HTTP/2 only (ALPN h2)\n");
  WCHAR *v = query_string(r, WINHTTP_QUERY_VERSION, NULL);
  assert_non_null(v);
  assert_true(wcscmp(v, L"HTTP/1.1") == 0);
  free(v);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* A connection-based scheme cannot run over HTTP/2: a 401 offering NTLM
 * that the request can answer sends it again over HTTP/1.1 (Windows does
 * the same), which this server refuses with a 505. A 401 the request has
 * no credentials for stays an HTTP/2 response. */
static void test_connection_auth_falls_back_to_http11(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  HINTERNET r = request(c, L"GET", L"/auth?scheme=NTLM");
  struct outcome o;
  exchange(r, &o);
  expect_ok(&o, "GET /auth without credentials");
  assert_int_equal(o.status, 401);
  assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  outcome_free(&o);
  WinHttpCloseHandle(r);

  r = request(c, L"GET", L"/auth?scheme=NTLM");
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_USERNAME, (void *)L"WINHTTP\\bob", 11));
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_PASSWORD, (void *)L"pw", 2));
  exchange(r, &o);
  expect_ok(&o, "GET /auth with NTLM credentials");
  assert_int_equal(o.status, 505);
  assert_int_equal(o.proto, 0);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* Plain http:// never uses HTTP/2 (no cleartext h2, as on Windows). */
static void test_plain_http_stays_http11(void **state)
{
  (void)state;
  assert_int_equal(wh_peer_start_fault(&aux), 0);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&aux));
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/ok?n=50", NULL, NULL, NULL, 0);
  assert_non_null(r);
  struct outcome o;
  exchange(r, &o);
  expect_ok(&o, "GET http://");
  assert_int_equal(o.status, 200);
  assert_int_equal(o.proto, 0);
  assert_int_equal(o.len, 50);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* A TLS server without h2 (the fault server): with HTTP_PROTOCOL_REQUIRED
 * the request fails with HTTP_PROTOCOL_MISMATCH; without, it falls back to
 * HTTP/1.1. */
static void test_required_mismatch(void **state)
{
  (void)state;
  assert_int_equal(wh_peer_start_fault_tls(&aux, WH_CERT_GOOD), 0);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&aux));

  HINTERNET r = request(c, L"GET", L"/ok?n=20");
  BOOL yes = TRUE;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_HTTP_PROTOCOL_REQUIRED, &yes, sizeof(yes)));
  struct outcome o;
  exchange(r, &o);
  if (o.stage != ST_SEND && o.stage != ST_RECV)
    fail_msg("REQUIRED against HTTP/1.1: stage %d, status %lu", (int)o.stage,
             (unsigned long)o.status);
  assert_int_equal(o.err, ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH);
  outcome_free(&o);
  WinHttpCloseHandle(r);

  r = request(c, L"GET", L"/ok?n=20");
  exchange(r, &o);
  expect_ok(&o, "fallback to HTTP/1.1");
  assert_int_equal(o.status, 200);
  assert_int_equal(o.proto, 0);
  assert_int_equal(o.len, 20);
  assert_true(is_pattern(o.body, o.len));
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* REQUIRED against a server that does speak h2 changes nothing. */
static void test_required_satisfied(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  HINTERNET r = request(c, L"GET", L"/ok?len=5");
  BOOL yes = TRUE;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_HTTP_PROTOCOL_REQUIRED, &yes, sizeof(yes)));
  struct outcome o;
  exchange(r, &o);
  expect_ok(&o, "REQUIRED over h2");
  assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  assert_int_equal(o.len, 5);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- connection sharing -------------------------------------------------------------- */

static void test_sequential_share_connection(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true);
  HINTERNET c1 = connect_port(s, wh_peer_port(&h2)), c2 = connect_port(s, wh_peer_port(&h2));
  unsigned conn[4], sid[4];
  get_conn(c1, &conn[0], &sid[0]);
  get_conn(c1, &conn[1], &sid[1]);
  get_conn(c2, &conn[2], &sid[2]); /* another connect handle, same origin */
  get_conn(c1, &conn[3], &sid[3]);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(conn[i], conn[0]);
    assert_int_equal(sid[i] % 2, 1); /* client-initiated */
    if (i)
      assert_true(sid[i] > sid[i - 1]);
  }
  WinHttpCloseHandle(c1);
  WinHttpCloseHandle(c2);
  WinHttpCloseHandle(s);
}

struct worker {
  pthread_t t;
  HINTERNET c;
  pthread_barrier_t *start;
  const wchar_t *path;
  int repeat;
  struct outcome o;      /* the first failure, or the last outcome */
  unsigned conn;         /* from /conn after the main requests */
  struct outcome conn_o; /* that request's outcome (stage, error, status) */
  bool bad_body;
};

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  pthread_barrier_wait(w->start);
  for (int i = 0; i < w->repeat; i++) {
    HINTERNET r = WinHttpOpenRequest(w->c, L"GET", w->path, NULL, NULL, NULL,
                                     WINHTTP_FLAG_SECURE);
    DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
    WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags));
    free(w->o.body);
    exchange(r, &w->o);
    WinHttpCloseHandle(r);
    if (w->o.stage != ST_OK || w->o.status != 200)
      return NULL;
  }
  /* Which connection: /conn (parsed here, asserted by the main thread). */
  HINTERNET r = WinHttpOpenRequest(w->c, L"GET", L"/conn", NULL, NULL, NULL,
                                   WINHTTP_FLAG_SECURE);
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags));
  struct outcome o;
  exchange(r, &o);
  WinHttpCloseHandle(r);
  if (o.stage == ST_OK && o.body)
    sscanf(o.body, "%u", &w->conn);
  free(o.body);
  o.body = NULL;
  w->conn_o = o;
  return NULL;
}

/* Runs |n| workers on |c| doing |path| |repeat| times each, all released
 * together; checks each got 200 over h2 and that all finished on one
 * connection; returns that connection number. */
static unsigned run_workers(HINTERNET c, int n, const wchar_t *path, int repeat,
                            size_t want_len, const char *want_body)
{
  pthread_barrier_t start;
  assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)n), 0);
  struct worker *w = calloc((size_t)n, sizeof(*w));
  assert_non_null(w);
  for (int i = 0; i < n; i++) {
    w[i].c = c;
    w[i].start = &start;
    w[i].path = path;
    w[i].repeat = repeat;
    assert_int_equal(pthread_create(&w[i].t, NULL, worker_main, &w[i]), 0);
  }
  for (int i = 0; i < n; i++)
    assert_int_equal(pthread_join(w[i].t, NULL), 0);
  pthread_barrier_destroy(&start);
  unsigned conn = 0;
  for (int i = 0; i < n; i++) {
    char what[64];
    snprintf(what, sizeof(what), "worker %d", i);
    expect_ok(&w[i].o, what);
    if (w[i].o.status != 200)
      fail_msg("worker %d: status %lu, body %s", i, (unsigned long)w[i].o.status,
               w[i].o.body ? w[i].o.body : "");
    assert_int_equal(w[i].o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
    assert_int_equal(w[i].o.len, want_len);
    if (want_body)
      assert_memory_equal(w[i].o.body, want_body, want_len);
    else
      assert_true(is_pattern(w[i].o.body, w[i].o.len));
    if (w[i].conn == 0)
      fail_msg("worker %d: GET /conn failed at stage %d, error %lu, status %lu", i,
               (int)w[i].conn_o.stage, (unsigned long)w[i].conn_o.err,
               (unsigned long)w[i].conn_o.status);
    if (i == 0)
      conn = w[i].conn;
    else if (w[i].conn != conn)
      fail_msg("worker %d on connection %u, worker 0 on %u", i, w[i].conn, conn);
    free(w[i].o.body);
  }
  free(w);
  return conn;
}

/* Eight threads at once: the server answers /barrier?n=8 only when eight
 * streams are open at once on one connection. The connection exists first
 * (warm), so the eight requests have one to share. */
static void test_multiplex_eight_threads(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first;
  get_conn(c, &first, NULL);
  unsigned conn = run_workers(c, 8, L"/barrier?n=8", 1, 2, "ok");
  assert_int_equal(conn, first);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* The same from a cold start: eight first requests at once must wait for
 * the one connection being set up (and its ALPN answer) rather than each
 * opening its own. */
static void test_multiplex_cold_start(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  run_workers(c, 8, L"/barrier?n=8", 1, 2, "ok");
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* The server allows two concurrent streams (h2 answers a third with a
 * connection error): the client uses both (/barrier?n=2) and queues the
 * rest on the same connection, so six concurrent bodies all arrive and the
 * connection is the first one throughout. */
static void test_max_concurrent_streams_queued(void **state)
{
  (void)state;
  start_h2("--max-streams 2");
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first;
  get_conn(c, &first, NULL);
  assert_int_equal(run_workers(c, 2, L"/barrier?n=2", 1, 2, "ok"), first);
  assert_int_equal(run_workers(c, 6, L"/ok?len=100000", 3, 100000, NULL), first);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- flow control and limits ------------------------------------------------------------ */

/* A stream whose body nobody reads stalls alone: with the smallest stream
 * window (HTTP2_RECEIVE_WINDOW 65,535), 4 MB waiting on one request do not
 * keep other requests of the connection from completing; the 4 MB then
 * arrive intact as they are read (a WINDOW_UPDATE per read). */
static void test_slow_reader_stalls_only_its_stream(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  DWORD w = 65534;
  assert_false(WinHttpSetOption(s, WINHTTP_OPTION_HTTP2_RECEIVE_WINDOW, &w, sizeof(w)));
  assert_last_error(ERROR_INVALID_PARAMETER);
  w = 65535;
  assert_true(WinHttpSetOption(s, WINHTTP_OPTION_HTTP2_RECEIVE_WINDOW, &w, sizeof(w)));
  unsigned first, again;
  get_conn(c, &first, NULL);
  HINTERNET big = request(c, L"GET", L"/ok?len=4000000");
  assert_true(WinHttpSendRequest(big, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(big, NULL));
  for (int i = 0; i < 3; i++) {
    get_conn(c, &again, NULL);
    assert_int_equal(again, first);
  }
  struct outcome o;
  memset(&o, 0, sizeof(o));
  read_all(big, &o);
  expect_ok(&o, "reading the 4 MB body");
  assert_int_equal(o.len, 4000000);
  assert_true(is_pattern(o.body, o.len));
  outcome_free(&o);
  WinHttpCloseHandle(big);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* The server allows one stream at a time. With DISABLE_STREAM_QUEUE a
 * request that finds the connection's only stream taken opens another
 * connection instead of waiting for it. */
static void test_disable_stream_queue(void **state)
{
  (void)state;
  start_h2("--max-streams 1");
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first, other;
  get_conn(c, &first, NULL);
  HINTERNET held = request(c, L"GET", L"/stall"); /* its stream stays open */
  assert_true(WinHttpSendRequest(held, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(held, NULL));
  HINTERNET r = request(c, L"GET", L"/conn");
  BOOL on = TRUE;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_DISABLE_STREAM_QUEUE, &on, sizeof(on)));
  struct outcome o;
  exchange(r, &o);
  expect_ok(&o, "GET /conn with DISABLE_STREAM_QUEUE");
  assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  assert_int_equal(sscanf(o.body, "%u", &other), 1);
  assert_int_not_equal(other, first);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(held);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* A response head past the request's MAX_RESPONSE_HEADER_SIZE fails that
 * request with HEADER_SIZE_OVERFLOW; the connection carries on. */
static void test_oversized_head(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first, again;
  get_conn(c, &first, NULL);
  HINTERNET r = request(c, L"GET", L"/bigheaders?n=400");
  DWORD max = 8192;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_MAX_RESPONSE_HEADER_SIZE, &max, sizeof(max)));
  struct outcome o;
  exchange(r, &o);
  assert_int_equal(o.stage, ST_RECV);
  assert_int_equal(o.err, ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  get_conn(c, &again, NULL);
  assert_int_equal(again, first);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* HTTP2_KEEPALIVE: while a request waits on its stream, a PING goes out
 * every interval (the server answers /waitping once it has seen two); with
 * no keepalive set none does (the server gives up: 504). */
static void test_keepalive_pings(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true);
  DWORD ms = 999;
  assert_false(WinHttpSetOption(s, WINHTTP_OPTION_HTTP2_KEEPALIVE, &ms, sizeof(ms)));
  assert_last_error(ERROR_INVALID_PARAMETER);
  ms = 1000;
  assert_true(WinHttpSetOption(s, WINHTTP_OPTION_HTTP2_KEEPALIVE, &ms, sizeof(ms)));
  HINTERNET c = connect_port(s, wh_peer_port(&h2));
  struct outcome o;
  long t0 = now_ms();
  get(c, L"/waitping?n=2&ms=9000", &o);
  expect_ok(&o, "GET /waitping with keepalive");
  assert_int_equal(o.status, 200);
  assert_true(strncmp(o.body, "pings ", 6) == 0);
  long took = now_ms() - t0;
  assert_true(took >= 1500 && took < 9000);
  outcome_free(&o);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  wh_pool_clear();
  wh_h2_pool_clear();

  /* A new server, a session without keepalive: no PING at all. */
  wh_peer_stop(&h2);
  start_h2(NULL);
  s = session(true);
  c = connect_port(s, wh_peer_port(&h2));
  get(c, L"/waitping?n=1&ms=1500", &o);
  expect_ok(&o, "GET /waitping without keepalive");
  assert_int_equal(o.status, 504);
  outcome_free(&o);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* A body of unknown length (WINHTTP_FLAG_AUTOMATIC_CHUNKING, no total
 * length): over HTTP/1.1 by default, as Windows sends it (h2server then
 * answers its HTTP/1.1 505); over HTTP/2 with HTTP2_PLUS_TRANSFER_ENCODING,
 * END_STREAM ending it (the echo comes back whole). */
static void chunked_post(HINTERNET c, bool plus, struct outcome *o)
{
  HINTERNET r = WinHttpOpenRequest(c, L"POST", L"/echo", NULL, NULL, NULL,
                                   WINHTTP_FLAG_SECURE | WINHTTP_FLAG_AUTOMATIC_CHUNKING);
  assert_non_null(r);
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags)));
  if (plus) {
    BOOL on = TRUE;
    assert_true(WinHttpSetOption(r, WINHTTP_OPTION_HTTP2_PLUS_TRANSFER_ENCODING, &on, sizeof(on)));
  }
  memset(o, 0, sizeof(*o));
  assert_true(WinHttpSendRequest(r, NULL, 0, (void *)"first,", 6,
                                 WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH, 0));
  DWORD n = 0;
  assert_true(WinHttpWriteData(r, "second,", 7, &n));
  assert_true(WinHttpWriteData(r, "third", 5, &n));
  assert_true(WinHttpWriteData(r, "", 0, &n)); /* the end */
  if (!WinHttpReceiveResponse(r, NULL)) {
    o->stage = ST_RECV;
    o->err = GetLastError();
  } else {
    o->status = status_of(r);
    o->proto = protocol_used(r);
    read_all(r, o);
  }
  WinHttpCloseHandle(r);
}

static void test_unknown_length_body(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  struct outcome o;
  chunked_post(c, false, &o);
  expect_ok(&o, "chunked POST without HTTP2_PLUS_TRANSFER_ENCODING");
  assert_int_equal(o.proto, 0);
  assert_int_equal(o.status, 505); /* h2server's answer to HTTP/1.1 */
  outcome_free(&o);
  chunked_post(c, true, &o);
  expect_ok(&o, "chunked POST with HTTP2_PLUS_TRANSFER_ENCODING");
  assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  assert_int_equal(o.status, 200);
  assert_string_equal(o.body, "first,second,third");
  outcome_free(&o);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* CONTRACT C10 over HTTP/2: the response is read while the request body is
 * still being written, on two threads, one stream (h2server's /duplex
 * echoes each piece as it arrives). The writer sends piece i only after
 * the reader saw the echo of piece i-1. */
static const char *const duplex_pieces[] = {"alpha-", "bravo-", "charlie-delta"};
#define N_DUPLEX (sizeof(duplex_pieces) / sizeof(duplex_pieces[0]))

struct duplex {
  HINTERNET r;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  size_t echoed; /* pieces the reader has seen back */
  DWORD write_err;
};

static void *duplex_writer(void *arg)
{
  struct duplex *d = arg;
  for (size_t i = 1; i < N_DUPLEX; i++) {
    pthread_mutex_lock(&d->lock);
    while (d->echoed < i)
      pthread_cond_wait(&d->cond, &d->lock);
    pthread_mutex_unlock(&d->lock);
    DWORD n = 0;
    if (!WinHttpWriteData(d->r, duplex_pieces[i], (DWORD)strlen(duplex_pieces[i]), &n)) {
      d->write_err = GetLastError();
      return NULL;
    }
  }
  return NULL;
}

static void test_full_duplex(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  struct duplex d = {.r = request(c, L"POST", L"/duplex")};
  pthread_mutex_init(&d.lock, NULL);
  pthread_cond_init(&d.cond, NULL);
  DWORD total = 0;
  for (size_t i = 0; i < N_DUPLEX; i++)
    total += (DWORD)strlen(duplex_pieces[i]);
  /* The first piece with SendRequest, the rest through WriteData. */
  assert_true(WinHttpSendRequest(d.r, NULL, 0, (void *)duplex_pieces[0],
                                 (DWORD)strlen(duplex_pieces[0]), total, 0));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, duplex_writer, &d), 0);
  assert_true(WinHttpReceiveResponse(d.r, NULL));
  assert_int_equal(status_of(d.r), 200);
  assert_int_equal(protocol_used(d.r), WINHTTP_PROTOCOL_FLAG_HTTP2);
  for (size_t i = 0; i < N_DUPLEX; i++) {
    char buf[64];
    size_t want = strlen(duplex_pieces[i]), got = 0;
    while (got < want) {
      DWORD n = 0;
      assert_true(WinHttpReadData(d.r, buf + got, (DWORD)(want - got), &n));
      assert_true(n > 0);
      got += n;
    }
    assert_memory_equal(buf, duplex_pieces[i], want);
    pthread_mutex_lock(&d.lock);
    d.echoed = i + 1;
    pthread_cond_broadcast(&d.cond);
    pthread_mutex_unlock(&d.lock);
  }
  pthread_join(t, NULL);
  assert_int_equal(d.write_err, ERROR_SUCCESS);
  char end[8];
  DWORD n = 1;
  assert_true(WinHttpReadData(d.r, end, sizeof(end), &n));
  assert_int_equal(n, 0);
  WinHttpCloseHandle(d.r);
  pthread_cond_destroy(&d.cond);
  pthread_mutex_destroy(&d.lock);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- stream errors and retries ------------------------------------------------------- */

static DWORD stream_error_code(HINTERNET r)
{
  DWORD v = 0xdeadbeef, len = sizeof(v);
  assert_true(WinHttpQueryOption(r, WINHTTP_OPTION_STREAM_ERROR_CODE, &v, &len));
  assert_int_equal(len, sizeof(DWORD));
  return v;
}

static void test_rst_before_headers(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first, again;
  get_conn(c, &first, NULL);
  static const struct {
    const wchar_t *path;
    DWORD code;
  } cases[] = {{L"/rst?code=8", 8}, {L"/rst", 2}, {L"/rst?at=headers&code=11", 11}};
  for (size_t i = 0; i < NELEM(cases); i++) {
    HINTERNET r = request(c, L"GET", cases[i].path);
    struct outcome o;
    exchange(r, &o);
    assert_int_equal(o.stage, ST_RECV);
    assert_int_equal(o.err, ERROR_WINHTTP_CONNECTION_ERROR);
    assert_int_equal(stream_error_code(r), cases[i].code);
    outcome_free(&o);
    WinHttpCloseHandle(r);
    /* Only that stream failed: the connection carries on. */
    get_conn(c, &again, NULL);
    if (again != first)
      fail_msg("after %ls: connection %u, before it %u", cases[i].path, again, first);
  }
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_rst_mid_body(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first, again;
  get_conn(c, &first, NULL);
  HINTERNET r = request(c, L"GET", L"/rst?at=body&code=8");
  struct outcome o;
  exchange(r, &o);
  /* The head arrived (200, content-length 100), then 10 bytes at most, then
   * the reset fails the read. */
  assert_int_equal(o.stage, ST_READ);
  assert_int_equal(o.err, ERROR_WINHTTP_CONNECTION_ERROR);
  assert_int_equal(o.status, 200);
  assert_true(o.len <= 10);
  assert_true(is_pattern(o.body, o.len));
  assert_int_equal(stream_error_code(r), 8);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  get_conn(c, &again, NULL);
  assert_int_equal(again, first);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* A request that completed normally has no stream error (0). */
static void test_stream_error_code_zero(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  HINTERNET r = request(c, L"GET", L"/ok?len=3");
  struct outcome o;
  exchange(r, &o);
  expect_ok(&o, "GET /ok?len=3");
  assert_int_equal(stream_error_code(r), 0);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* REFUSED_STREAM means "not processed": the GET is retried on a new
 * connection (the refusing one refuses it every time) and succeeds. */
static void test_refused_stream_retried(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first;
  get_conn(c, &first, NULL);
  struct outcome o;
  get(c, L"/refuse-once", &o);
  expect_ok(&o, "GET /refuse-once");
  assert_int_equal(o.status, 200);
  assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  unsigned conn = 0, sid = 0;
  assert_int_equal(sscanf(o.body, "%u %u", &conn, &sid), 2);
  assert_int_not_equal(conn, first);
  outcome_free(&o);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* GOAWAY whose last-stream-id is below the request's stream: retried on a
 * new connection; later requests go there too, never to the old one. */
static void test_goaway_retried(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first, later;
  get_conn(c, &first, NULL);
  struct outcome o;
  get(c, L"/goaway-once", &o);
  expect_ok(&o, "GET /goaway-once");
  assert_int_equal(o.status, 200);
  unsigned conn = 0, sid = 0;
  assert_int_equal(sscanf(o.body, "%u %u", &conn, &sid), 2);
  assert_int_not_equal(conn, first);
  outcome_free(&o);
  get_conn(c, &later, NULL);
  assert_int_equal(later, conn);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* A GOAWAY that covers the request's stream (last-stream-id at or above
 * it) with no response: processed, maybe, so not retried: the request
 * fails, and the next one uses a new connection. */
static void test_goaway_processed_not_retried(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first, later;
  get_conn(c, &first, NULL);
  struct outcome o;
  get(c, L"/goaway?last=1001&code=2", &o);
  assert_int_not_equal(o.stage, ST_OK);
  assert_int_equal(o.err, ERROR_WINHTTP_CONNECTION_ERROR);
  outcome_free(&o);
  get_conn(c, &later, NULL);
  assert_int_not_equal(later, first);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- trailers, uploads --------------------------------------------------------------- */

static void test_trailers(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  HINTERNET r = request(c, L"GET", L"/trailers");
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(r, NULL));
  assert_int_equal(protocol_used(r), WINHTTP_PROTOCOL_FLAG_HTTP2);
  /* Before the end of the body: not yet. */
  WCHAR v[64];
  DWORD len = sizeof(v);
  assert_false(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_TRAILERS,
                                   L"grpc-status", v, &len, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  struct outcome o = {0};
  read_all(r, &o);
  expect_ok(&o, "read /trailers");
  assert_string_equal(o.body, "trailers body\n");
  outcome_free(&o);

  len = sizeof(v);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_TRAILERS,
                                  L"grpc-status", v, &len, NULL));
  assert_true(wcscmp(v, L"0") == 0);
  DWORD num = 77;
  len = sizeof(num);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_TRAILERS |
                                         WINHTTP_QUERY_FLAG_NUMBER,
                                  L"Grpc-Status", &num, &len, NULL));
  assert_int_equal(num, 0);

  DWORD blen = 0, cnt = 0;
  WINHTTP_EXTENDED_HEADER *a = NULL;
  DWORD level = WINHTTP_QUERY_EX_ALL_HEADERS | WINHTTP_QUERY_FLAG_TRAILERS;
  assert_int_equal(WinHttpQueryHeadersEx(r, level, 0, 0, NULL, NULL, NULL, &blen, &a, &cnt),
                   ERROR_INSUFFICIENT_BUFFER);
  void *buf = malloc(blen);
  assert_non_null(buf);
  assert_int_equal(WinHttpQueryHeadersEx(r, level, 0, 0, NULL, NULL, buf, &blen, &a, &cnt),
                   ERROR_SUCCESS);
  assert_int_equal(cnt, 1);
  assert_true(wcscmp(a[0].pwszName, L"grpc-status") == 0);
  assert_true(wcscmp(a[0].pwszValue, L"0") == 0);
  free(buf);
  /* The trailer is not a field of the head, and the head is intact. */
  len = sizeof(v);
  assert_false(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM, L"grpc-status", v, &len, NULL));
  assert_last_error(ERROR_WINHTTP_HEADER_NOT_FOUND);
  WCHAR *ct = query_string(r, WINHTTP_QUERY_CONTENT_TYPE, NULL);
  assert_non_null(ct);
  assert_true(wcscmp(ct, L"text/plain") == 0);
  free(ct);
  WinHttpCloseHandle(r);

  /* A body without trailers: none, once read. */
  r = request(c, L"GET", L"/ok?len=7");
  exchange(r, &o);
  expect_ok(&o, "GET /ok?len=7");
  len = sizeof(v);
  assert_false(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_TRAILERS,
                                   L"grpc-status", v, &len, NULL));
  assert_last_error(ERROR_WINHTTP_HEADER_NOT_FOUND);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void fill_random(unsigned char *p, size_t n, uint32_t seed)
{
  uint32_t x = seed ? seed : 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (unsigned char)(x >> 24);
  }
}

/* POST /echo: |head| bytes given to SendRequest, then |tail| bytes through
 * WriteData in |chunk|-byte pieces, the total declared; the echo is exact. */
static void echo_case(HINTERNET c, size_t head, size_t tail, size_t chunk)
{
  size_t total = head + tail;
  unsigned char *data = malloc(total ? total : 1);
  assert_non_null(data);
  fill_random(data, total, (uint32_t)(total * 2654435761u));
  HINTERNET r = request(c, L"POST", L"/echo");
  if (!WinHttpSendRequest(r, NULL, 0, head ? data : NULL, (DWORD)head, (DWORD)total, 0))
    fail_msg("SendRequest (%zu + %zu): %lu", head, tail, (unsigned long)GetLastError());
  for (size_t off = head; off < total;) {
    size_t n = total - off < chunk ? total - off : chunk;
    DWORD wrote = 0;
    if (!WinHttpWriteData(r, data + off, (DWORD)n, &wrote))
      fail_msg("WriteData at %zu: %lu", off, (unsigned long)GetLastError());
    assert_int_equal(wrote, n);
    off += n;
  }
  assert_true(WinHttpReceiveResponse(r, NULL));
  assert_int_equal(status_of(r), 200);
  assert_int_equal(protocol_used(r), WINHTTP_PROTOCOL_FLAG_HTTP2);
  struct outcome o = {0};
  read_all(r, &o);
  expect_ok(&o, "read the echo");
  assert_int_equal(o.len, total);
  assert_memory_equal(o.body, data, total);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  free(data);
}

static void test_post_echo(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  echo_case(c, 0, 0, 1);                   /* empty body */
  echo_case(c, 1000, 0, 1);                /* all in SendRequest */
  echo_case(c, 0, 1000000, 65536);         /* all by WriteData: beyond every window */
  echo_case(c, 777, 1000000, 100000);      /* both */
  echo_case(c, 70000, 0, 1);               /* SendRequest beyond the initial window */
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- cancellation and timeouts ------------------------------------------------------- */

/* Signals when the watched request reports |trigger|. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  HINTERNET req;
  DWORD trigger;
  bool fired;
} watch = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, false};

static void CALLBACK watch_callback(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info,
                                    DWORD len)
{
  (void)ctx;
  (void)info;
  (void)len;
  pthread_mutex_lock(&watch.lock);
  if (h == watch.req && status == watch.trigger) {
    watch.fired = true;
    pthread_cond_broadcast(&watch.cond);
  }
  pthread_mutex_unlock(&watch.lock);
}

static void watch_arm(HINTERNET r, DWORD trigger)
{
  pthread_mutex_lock(&watch.lock);
  watch.req = r;
  watch.trigger = trigger;
  watch.fired = false;
  pthread_mutex_unlock(&watch.lock);
  assert_true(WinHttpSetStatusCallback(r, watch_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS,
                                       0) != WINHTTP_INVALID_STATUS_CALLBACK);
}

/* Waits (10 s at most) for the armed notification. */
static void watch_wait(void)
{
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10;
  pthread_mutex_lock(&watch.lock);
  int rc = 0;
  while (!watch.fired && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&watch.cond, &watch.lock, &dl);
  bool fired = watch.fired;
  watch.req = NULL;
  pthread_mutex_unlock(&watch.lock);
  if (!fired)
    fail_msg("the notification never came");
}

struct blocked {
  HINTERNET r;
  bool read_body;   /* block in ReadData (else in ReceiveResponse) */
  bool signal;      /* fire |watch| just before the call */
  BOOL ok;
  DWORD err;
  long ended;
};

static void *blocked_main(void *arg)
{
  struct blocked *b = arg;
  if (b->signal) {
    pthread_mutex_lock(&watch.lock);
    watch.fired = true;
    pthread_cond_broadcast(&watch.cond);
    pthread_mutex_unlock(&watch.lock);
  }
  SetLastError(0);
  if (b->read_body) {
    char buf[256];
    DWORD got = 0;
    b->ok = WinHttpReadData(b->r, buf, sizeof(buf), &got);
  } else {
    b->ok = WinHttpReceiveResponse(b->r, NULL);
  }
  b->err = GetLastError();
  b->ended = now_ms();
  return NULL;
}

/* A request blocked (in ReceiveResponse on a head the server holds back, or
 * in ReadData on /stall's body) is ended by WinHttpCloseHandle from another
 * thread with OPERATION_CANCELLED, promptly; meanwhile and afterwards other
 * requests on the same connection complete. */
static void close_cancels(bool read_body)
{
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first, during, after;
  get_conn(c, &first, NULL);
  struct blocked b = {0};
  b.read_body = read_body;
  b.r = request(c, L"GET", read_body ? L"/stall" : L"/barrier?n=1000&ms=30000");
  assert_true(WinHttpSendRequest(b.r, NULL, 0, NULL, 0, 0, 0));
  if (read_body) {
    assert_true(WinHttpReceiveResponse(b.r, NULL));
    assert_int_equal(status_of(b.r), 200);
  }
  /* ReceiveResponse announces RECEIVING_RESPONSE from inside the call;
   * ReadData announces nothing, so the thread signals just before it
   * calls (see below for what that allows). */
  if (read_body) {
    pthread_mutex_lock(&watch.lock);
    watch.fired = false;
    pthread_mutex_unlock(&watch.lock);
  } else {
    watch_arm(b.r, WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE);
  }
  b.signal = read_body;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, blocked_main, &b), 0);
  watch_wait();
  /* The stream waits; the connection serves another one meanwhile. */
  get_conn(c, &during, NULL);
  assert_int_equal(during, first);
  long t0 = now_ms();
  assert_true(WinHttpCloseHandle(b.r));
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_false(b.ok);
  /* A ReadData that had not started yet when the handle closed meets an
   * invalid handle instead; no API tells from outside that a synchronous
   * ReadData is waiting, and the test does not sleep to make it likely. */
  if (read_body && b.err == ERROR_INVALID_HANDLE)
    print_message("note: the close came before ReadData started\n");
  else
    assert_int_equal(b.err, ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_true(b.ended - t0 < 2000);
  get_conn(c, &after, NULL);
  assert_int_equal(after, first);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_close_cancels_receive(void **state)
{
  (void)state;
  close_cancels(false);
}

static void test_close_cancels_read(void **state)
{
  (void)state;
  close_cancels(true);
}

/* A stalled body times out by the receive timeout, and the stream alone is
 * given up: the connection still serves. */
static void test_stall_times_out(void **state)
{
  (void)state;
  start_h2(NULL);
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  unsigned first, after;
  get_conn(c, &first, NULL);
  HINTERNET r = request(c, L"GET", L"/stall");
  assert_true(WinHttpSetTimeouts(r, 0, 5000, 5000, 500));
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(r, NULL));
  char buf[200];
  DWORD got = 0;
  long t0 = now_ms();
  assert_false(WinHttpReadData(r, buf, sizeof(buf), &got));
  assert_last_error(ERROR_WINHTTP_TIMEOUT);
  long took = now_ms() - t0;
  assert_true(took >= 400 && took < 5000);
  WinHttpCloseHandle(r);
  get_conn(c, &after, NULL);
  assert_int_equal(after, first);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* The server never answers the connection preface: the request fails by
 * its timeouts, with TIMEOUT, instead of hanging. */
static void test_no_settings_times_out(void **state)
{
  (void)state;
  start_h2("--no-settings");
  HINTERNET s = session(true), c = connect_port(s, wh_peer_port(&h2));
  HINTERNET r = request(c, L"GET", L"/ok");
  /* h2 or nothing, so that only the HTTP/2 path can pass: an HTTP/1.1
   * request to this silent server would time out too. */
  BOOL yes = TRUE;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_HTTP_PROTOCOL_REQUIRED, &yes, sizeof(yes)));
  assert_true(WinHttpSetTimeouts(r, 0, 5000, 500, 500));
  long t0 = now_ms();
  struct outcome o;
  exchange(r, &o);
  long took = now_ms() - t0;
  if (o.stage != ST_SEND && o.stage != ST_RECV)
    fail_msg("no SETTINGS: stage %d, status %lu", (int)o.stage, (unsigned long)o.status);
  assert_int_equal(o.err, ERROR_WINHTTP_TIMEOUT);
  assert_true(took < 8000);
  outcome_free(&o);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- nginx --------------------------------------------------------------------------- */

static void test_nginx_h2(void **state)
{
  (void)state;
  assert_int_equal(wh_peer_start_nginx(&aux, 1), 0);
  assert_true(aux.h2_port != 0);
  HINTERNET s = session(true), c = connect_port(s, aux.h2_port);
  static const struct {
    const wchar_t *path;
    size_t len;
  } files[] = {{L"/100.bin", 100}, {L"/1m.bin", 1024 * 1024}, {L"/100.bin", 100}};
  for (size_t i = 0; i < NELEM(files); i++) {
    HINTERNET r = request(c, L"GET", files[i].path);
    struct outcome o;
    exchange(r, &o);
    expect_ok(&o, "nginx over h2");
    assert_int_equal(o.status, 200);
    assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
    assert_int_equal(o.len, files[i].len);
    assert_true(is_pattern(o.body, o.len));
    WCHAR *v = query_string(r, WINHTTP_QUERY_VERSION, NULL);
    assert_non_null(v);
    assert_true(wcscmp(v, L"HTTP/2") == 0);
    free(v);
    DWORD cl = 0, size = sizeof(cl);
    assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER,
                                    NULL, &cl, &size, NULL));
    assert_int_equal(cl, files[i].len);
    outcome_free(&o);
    WinHttpCloseHandle(r);
  }
  /* A 404 and nginx's HTTPS port without h2 (HTTP/1.1 fallback). */
  struct outcome o;
  get(c, L"/status-404", &o);
  expect_ok(&o, "nginx 404");
  assert_int_equal(o.status, 404);
  assert_int_equal(o.proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  outcome_free(&o);
  HINTERNET c1 = connect_port(s, wh_peer_cert_port(&aux, WH_CERT_GOOD));
  get(c1, L"/100.bin", &o);
  expect_ok(&o, "nginx https without h2");
  assert_int_equal(o.status, 200);
  assert_int_equal(o.proto, 0);
  outcome_free(&o);
  WinHttpCloseHandle(c1);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- group --------------------------------------------------------------------------- */

static int per_test_teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_h2_pool_clear();
  wh_peer_stop(&h2);
  wh_peer_stop(&aux);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_get_head_and_version, per_test_teardown),
    cmocka_unit_test_teardown(test_enable_on_request, per_test_teardown),
    cmocka_unit_test_teardown(test_body_sizes, per_test_teardown),
    cmocka_unit_test_teardown(test_without_option_gets_505, per_test_teardown),
    cmocka_unit_test_teardown(test_connection_auth_falls_back_to_http11, per_test_teardown),
    cmocka_unit_test_teardown(test_plain_http_stays_http11, per_test_teardown),
    cmocka_unit_test_teardown(test_required_mismatch, per_test_teardown),
    cmocka_unit_test_teardown(test_required_satisfied, per_test_teardown),
    cmocka_unit_test_teardown(test_sequential_share_connection, per_test_teardown),
    cmocka_unit_test_teardown(test_multiplex_eight_threads, per_test_teardown),
    cmocka_unit_test_teardown(test_multiplex_cold_start, per_test_teardown),
    cmocka_unit_test_teardown(test_max_concurrent_streams_queued, per_test_teardown),
    cmocka_unit_test_teardown(test_slow_reader_stalls_only_its_stream, per_test_teardown),
    cmocka_unit_test_teardown(test_disable_stream_queue, per_test_teardown),
    cmocka_unit_test_teardown(test_oversized_head, per_test_teardown),
    cmocka_unit_test_teardown(test_keepalive_pings, per_test_teardown),
    cmocka_unit_test_teardown(test_unknown_length_body, per_test_teardown),
    cmocka_unit_test_teardown(test_full_duplex, per_test_teardown),
    cmocka_unit_test_teardown(test_rst_before_headers, per_test_teardown),
    cmocka_unit_test_teardown(test_rst_mid_body, per_test_teardown),
    cmocka_unit_test_teardown(test_stream_error_code_zero, per_test_teardown),
    cmocka_unit_test_teardown(test_refused_stream_retried, per_test_teardown),
    cmocka_unit_test_teardown(test_goaway_retried, per_test_teardown),
    cmocka_unit_test_teardown(test_goaway_processed_not_retried, per_test_teardown),
    cmocka_unit_test_teardown(test_trailers, per_test_teardown),
    cmocka_unit_test_teardown(test_post_echo, per_test_teardown),
    cmocka_unit_test_teardown(test_close_cancels_receive, per_test_teardown),
    cmocka_unit_test_teardown(test_close_cancels_read, per_test_teardown),
    cmocka_unit_test_teardown(test_stall_times_out, per_test_teardown),
    cmocka_unit_test_teardown(test_no_settings_times_out, per_test_teardown),
    cmocka_unit_test_teardown(test_nginx_h2, per_test_teardown),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("h2_sync", tests, NULL, NULL);
}
