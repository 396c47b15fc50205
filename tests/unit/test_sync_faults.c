/* The synchronous engine against misbehaving peers (issue 3 §4 and §6): the
 * fault server (tests/peers/faultserver.py) and a few sockets of our own
 * (a closed port, a listener whose accept queue is full, a listener that
 * never reads). Every scenario asserts the exact error and the stage that
 * reports it (SendRequest, WriteData, ReceiveResponse or ReadData), and no
 * wait lasts longer than its timeout plus a margin.
 *
 * Peers: one plain fault server and one TLS fault server (good certificate,
 * trusted through SSL_CERT_FILE), started by the group setup. The keep-alive
 * pool is process-wide, so every exchange starts with an empty pool
 * (wh_pool_clear) unless the test is about reuse. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

static struct wh_peer fault;
static struct wh_peer fault_tls;
static struct wh_rec rec;

#define BODY_CAP (2u * 1024u * 1024u)

enum stage { ST_OPEN, ST_SEND, ST_WRITE, ST_RECV, ST_READ, ST_DONE };

static const char *stage_name(enum stage s)
{
  static const char *const names[] = {"open", "send", "write", "receive", "read", "done"};
  return names[s];
}

struct outcome {
  enum stage stage; /* where it failed, ST_DONE when the body was read to its end */
  DWORD err;
  DWORD status;
  size_t len;
  char *body;
  long ms; /* wall time of the failing (or last) call */
};

/* Per-exchange settings. */
struct knobs {
  const wchar_t *host; /* default 127.0.0.1 */
  unsigned short port; /* default the plain fault server */
  DWORD flags;         /* WinHttpOpenRequest flags */
  int timeouts;        /* nonzero: the four below are set with WinHttpSetTimeouts */
  int resolve_to, connect_to, send_to, receive_to;
  DWORD response_to;   /* nonzero: WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT */
  DWORD max_header;    /* nonzero: WINHTTP_OPTION_MAX_RESPONSE_HEADER_SIZE */
  DWORD max_continue;  /* nonzero: WINHTTP_OPTION_MAX_HTTP_STATUS_CONTINUE */
  DWORD max_redirects; /* nonzero: WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS */
  int set_policy;
  DWORD policy;
  DWORD total_len;     /* nonzero: SendRequest announces it, WriteData sends it */
  int keep_pool;       /* do not clear the pool first */
  int no_keep_alive;   /* WINHTTP_DISABLE_KEEP_ALIVE: a connection of its own, never pooled */
  const wchar_t *verb; /* default GET */
};

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rec_reset(void)
{
  pthread_mutex_lock(&rec.lock);
  rec.n = 0;
  pthread_mutex_unlock(&rec.lock);
}

static void set_dword(HINTERNET h, DWORD opt, DWORD v)
{
  assert_true(WinHttpSetOption(h, opt, &v, sizeof(v)));
}

static int is_pattern(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + i % 26))
      return 0;
  return 1;
}

/* One exchange: open, send (and write), receive, read to the end. Stops at
 * the first failure; the handles are closed before it returns. */
static void exchange(const wchar_t *path, const struct knobs *k, struct outcome *o)
{
  static const struct knobs none;
  if (!k)
    k = &none;
  memset(o, 0, sizeof(*o));
  o->body = malloc(BODY_CAP);
  assert_non_null(o->body);
  if (!k->keep_pool)
    wh_pool_clear();
  rec_reset();

  HINTERNET ses = WinHttpOpen(L"faults", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(ses);
  WinHttpSetStatusCallback(ses, wh_rec_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  HINTERNET con = WinHttpConnect(ses, k->host ? k->host : L"127.0.0.1",
                                 k->port ? k->port : wh_peer_port(&fault), 0);
  assert_non_null(con);
  HINTERNET req = WinHttpOpenRequest(con, k->verb ? k->verb : L"GET", path, NULL, NULL, NULL,
                                     k->flags);
  assert_non_null(req);
  if (k->timeouts)
    assert_true(WinHttpSetTimeouts(req, k->resolve_to, k->connect_to, k->send_to, k->receive_to));
  if (k->response_to)
    set_dword(req, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, k->response_to);
  if (k->max_header)
    set_dword(req, WINHTTP_OPTION_MAX_RESPONSE_HEADER_SIZE, k->max_header);
  if (k->no_keep_alive)
    set_dword(req, WINHTTP_OPTION_DISABLE_FEATURE, WINHTTP_DISABLE_KEEP_ALIVE);
  if (k->max_continue)
    set_dword(req, WINHTTP_OPTION_MAX_HTTP_STATUS_CONTINUE, k->max_continue);
  if (k->max_redirects)
    set_dword(req, WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS, k->max_redirects);
  if (k->set_policy)
    set_dword(req, WINHTTP_OPTION_REDIRECT_POLICY, k->policy);

  long t0 = now_ms();
  o->stage = ST_SEND;
  if (!WinHttpSendRequest(req, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0,
                          k->total_len, 0))
    goto failed;
  if (k->total_len) {
    o->stage = ST_WRITE;
    char *data = calloc(1, k->total_len);
    assert_non_null(data);
    DWORD written = 0;
    t0 = now_ms();
    BOOL ok = WinHttpWriteData(req, data, k->total_len, &written);
    free(data);
    if (!ok)
      goto failed;
  }
  o->stage = ST_RECV;
  t0 = now_ms();
  if (!WinHttpReceiveResponse(req, NULL))
    goto failed;
  DWORD size = sizeof(o->status);
  assert_true(WinHttpQueryHeaders(req, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                                  WINHTTP_HEADER_NAME_BY_INDEX, &o->status, &size,
                                  WINHTTP_NO_HEADER_INDEX));
  o->stage = ST_READ;
  for (;;) {
    char tmp[16384];
    DWORD got = 0;
    t0 = now_ms();
    if (!WinHttpReadData(req, tmp, sizeof(tmp), &got))
      goto failed;
    if (got == 0)
      break;
    if (o->len + got <= BODY_CAP)
      memcpy(o->body + o->len, tmp, got);
    o->len += got;
  }
  o->stage = ST_DONE;
  o->err = ERROR_SUCCESS;
  o->ms = now_ms() - t0;
  goto done;
failed:
  o->err = GetLastError();
  o->ms = now_ms() - t0;
done:
  assert_true(WinHttpCloseHandle(req));
  assert_true(WinHttpCloseHandle(con));
  assert_true(WinHttpCloseHandle(ses));
}

static void outcome_free(struct outcome *o)
{
  free(o->body);
  o->body = NULL;
}

/* Asserts the stage and error, with a readable message on mismatch. */
static void check(const struct outcome *o, enum stage stage, DWORD err)
{
  if (o->stage != stage || o->err != err)
    print_error("expected %s/%lu, got %s/%lu (after %ld ms)\n", stage_name(stage),
                (unsigned long)err, stage_name(o->stage), (unsigned long)o->err, o->ms);
  assert_int_equal(o->err, err);
  assert_int_equal(o->stage, stage);
}

/* The scenario fails at |stage| with |err|. */
static void expect_fail(const wchar_t *path, const struct knobs *k, enum stage stage, DWORD err)
{
  struct outcome o;
  exchange(path, k, &o);
  check(&o, stage, err);
  outcome_free(&o);
}

/* The scenario fails at |stage| with ERROR_WINHTTP_TIMEOUT after about
 * |ms|, the timeout that ends it: not sooner (bar 50 ms of clock slack),
 * nor much later. */
static void expect_timeout(const wchar_t *path, const struct knobs *k, enum stage stage, long ms)
{
  struct outcome o;
  exchange(path, k, &o);
  check(&o, stage, ERROR_WINHTTP_TIMEOUT);
  assert_true(o.ms >= ms - 50);
  assert_true(o.ms < ms + 1500);
  outcome_free(&o);
}

/* The scenario succeeds with |status| and exactly |body| (NULL: the
 * pattern of |len| bytes). */
static void expect_ok(const wchar_t *path, const struct knobs *k, DWORD status, const char *body,
                      size_t len)
{
  struct outcome o;
  exchange(path, k, &o);
  check(&o, ST_DONE, ERROR_SUCCESS);
  assert_int_equal(o.status, status);
  assert_int_equal(o.len, len);
  if (body)
    assert_memory_equal(o.body, body, len);
  else
    assert_true(is_pattern(o.body, len));
  outcome_free(&o);
}

/* --- sockets of our own -------------------------------------------------------------- */

static int listener(int backlog, unsigned short *port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t alen = sizeof(a);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  if (backlog >= 0)
    assert_int_equal(listen(fd, backlog), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* --- connecting ------------------------------------------------------------------------ */

static void test_refused(void **state)
{
  (void)state;
  unsigned short port;
  int fd = listener(-1, &port); /* bound, not listening: connections are refused */
  struct knobs k = {.port = port};
  struct outcome o;
  exchange(L"/ok", &k, &o);
  close(fd);
  check(&o, ST_SEND, ERROR_WINHTTP_CANNOT_CONNECT);
  assert_true(o.ms < 5000); /* fails fast (Wine's test_connect_error) */
  /* The attempt was announced, its success never was. */
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER), 1);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_CONNECTED_TO_SERVER), 0);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_SENDING_REQUEST), 0);
  outcome_free(&o);
}

static void test_name_not_resolved(void **state)
{
  (void)state;
  struct knobs k = {.host = L"nonexistent.invalid", .port = 80};
  rec_reset();
  expect_fail(L"/", &k, ST_SEND, ERROR_WINHTTP_NAME_NOT_RESOLVED);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_RESOLVING_NAME), 1);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER), 0);
}

static void test_connect_timeout(void **state)
{
  (void)state;
  /* A listener with a full accept queue: further SYNs are dropped, so a
   * connect neither succeeds nor fails until its timeout. */
  unsigned short port;
  int lfd = listener(0, &port);
  int dummies[8];
  int nd = 0, full = 0;
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  while (nd < 8 && !full) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    dummies[nd++] = fd;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
      continue;
    assert_int_equal(errno, EINPROGRESS);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 200) == 0)
      full = 1; /* this one hangs: the queue is full */
  }
  assert_true(full);
  struct knobs k = {.port = port, .timeouts = 1, .resolve_to = 0, .connect_to = 300,
                    .send_to = 30000, .receive_to = 30000};
  struct outcome o;
  exchange(L"/", &k, &o);
  for (int i = 0; i < nd; i++)
    close(dummies[i]);
  close(lfd);
  check(&o, ST_SEND, ERROR_WINHTTP_TIMEOUT);
  assert_true(o.ms >= 250);
  assert_true(o.ms < 300 + 1500);
  outcome_free(&o);
}

static void test_send_timeout(void **state)
{
  (void)state;
  /* A listener that never accepts: the kernel completes the connection and
   * buffers what it can, then the window closes and the upload stalls. */
  unsigned short port;
  int lfd = listener(16, &port);
  struct knobs k = {.port = port, .timeouts = 1, .connect_to = 5000, .send_to = 300,
                    .receive_to = 30000, .total_len = 48u * 1024u * 1024u};
  struct outcome o;
  exchange(L"/upload", &k, &o);
  close(lfd);
  check(&o, ST_WRITE, ERROR_WINHTTP_TIMEOUT);
  assert_true(o.ms >= 250);
  outcome_free(&o);
}

static void test_slow_reader_upload(void **state)
{
  (void)state;
  /* A server that reads the upload 16 KiB every 5 ms: each bit of progress
   * restarts the 300 ms send timeout, so 2 MiB go through. */
  struct knobs k = {.verb = L"POST", .timeouts = 1, .connect_to = 5000, .send_to = 300,
                    .receive_to = 5000, .total_len = 2u * 1024u * 1024u};
  expect_ok(L"/slow-read?bytes=16384&ms=5", &k, 200, "received 2097152", 16);
}

static void test_early_response(void **state)
{
  (void)state;
  /* The server answers 413 before reading the upload, then discards it:
   * the upload completes and the early response is the response. */
  struct knobs k = {.verb = L"POST", .total_len = 1024u * 1024u};
  struct outcome o;
  exchange(L"/early-response?code=413", &k, &o);
  check(&o, ST_DONE, ERROR_SUCCESS);
  assert_int_equal(o.status, 413);
  assert_int_equal(o.len, 5);
  assert_memory_equal(o.body, "early", 5);
  outcome_free(&o);
}

/* --- stalls and slowness ------------------------------------------------------------- */

static void test_stall_response_timeout(void **state)
{
  (void)state;
  struct knobs k = {.response_to = 300};
  expect_timeout(L"/stall", &k, ST_RECV, 300);
}

static void test_stall_headers_receive_timeout(void **state)
{
  (void)state;
  /* The head arrives; the body never does: the receive timeout of the read. */
  struct knobs k = {.timeouts = 1, .connect_to = 5000, .send_to = 5000, .receive_to = 300};
  struct outcome o;
  exchange(L"/stall-headers", &k, &o);
  check(&o, ST_READ, ERROR_WINHTTP_TIMEOUT);
  assert_int_equal(o.status, 200);
  assert_true(o.ms >= 250);
  assert_true(o.ms < 300 + 1500);
  outcome_free(&o);
}

static void test_stall_body_receive_timeout(void **state)
{
  (void)state;
  struct knobs k = {.timeouts = 1, .connect_to = 5000, .send_to = 5000, .receive_to = 300};
  struct outcome o;
  exchange(L"/stall-body", &k, &o);
  /* ReadData fills its buffer: it waits for the missing 50 bytes. */
  check(&o, ST_READ, ERROR_WINHTTP_TIMEOUT);
  assert_int_equal(o.len, 0);
  assert_true(o.ms < 300 + 1500);
  outcome_free(&o);
}

static void test_stall_body_partial_then_timeout(void **state)
{
  (void)state;
  /* ReadDataEx without FILL_BUFFER returns the 50 bytes that came, then the
   * next read times out. */
  wh_pool_clear();
  HINTERNET ses = WinHttpOpen(L"faults", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  HINTERNET con = WinHttpConnect(ses, L"127.0.0.1", wh_peer_port(&fault), 0);
  HINTERNET req = WinHttpOpenRequest(con, NULL, L"/stall-body", NULL, NULL, NULL, 0);
  assert_non_null(req);
  assert_true(WinHttpSetTimeouts(req, 0, 5000, 5000, 300));
  assert_true(WinHttpSendRequest(req, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(req, NULL));
  char buf[100];
  size_t have = 0;
  while (have < 50) {
    DWORD got = 0;
    assert_int_equal(WinHttpReadDataEx(req, buf + have, (DWORD)(sizeof(buf) - have), &got, 0, 0, NULL),
                     ERROR_SUCCESS);
    assert_true(got > 0);
    have += got;
  }
  assert_int_equal(have, 50);
  assert_true(is_pattern(buf, 50));
  DWORD got = 1234;
  long t0 = now_ms();
  assert_int_equal(WinHttpReadDataEx(req, buf, sizeof(buf), &got, 0, 0, NULL), ERROR_WINHTTP_TIMEOUT);
  assert_true(now_ms() - t0 < 300 + 1500);
  /* After a failure the request is finished: another read is out of state. */
  assert_false(WinHttpReadData(req, buf, sizeof(buf), &got));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  WinHttpCloseHandle(req);
  WinHttpCloseHandle(con);
  WinHttpCloseHandle(ses);
}

static void test_drip_under_timeout(void **state)
{
  (void)state;
  /* One byte every 10 ms: progress restarts the 300 ms receive timeout
   * (per packet); the whole head arrives well within its 5 s bound. */
  struct knobs k = {.timeouts = 1, .connect_to = 5000, .send_to = 5000, .receive_to = 300,
                    .response_to = 5000};
  expect_ok(L"/drip?n=20&ms=10", &k, 200, NULL, 20);
}

static void test_stall_receive_timeout_bounds_head(void **state)
{
  (void)state;
  /* Only WinHttpSetTimeouts: a server that takes the request and never
   * answers is timed out by the receive timeout (Windows: "to receive a
   * response to a request"), not waited for forever. */
  struct knobs k = {.timeouts = 1, .connect_to = 5000, .send_to = 5000, .receive_to = 300};
  expect_timeout(L"/stall", &k, ST_RECV, 300);
}

static void test_drip_head_response_timeout(void **state)
{
  (void)state;
  /* A head dripped one byte every 100 ms never trips the 2 s receive
   * timeout, but RECEIVE_RESPONSE_TIMEOUT bounds the whole head: 600 ms,
   * far less than the head takes (40-odd bytes, 4 s and more). */
  struct knobs k = {.timeouts = 1, .connect_to = 5000, .send_to = 5000, .receive_to = 2000,
                    .response_to = 600};
  expect_timeout(L"/drip?n=20&ms=100", &k, ST_RECV, 600);
}

/* --- status lines ------------------------------------------------------------------------ */

static void test_status_bad_code(void **state)
{
  (void)state;
  expect_fail(L"/status-bad-code", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_status_bad_proto(void **state)
{
  (void)state;
  expect_fail(L"/status-bad-proto", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_status_bad_version(void **state)
{
  (void)state;
  expect_fail(L"/status-bad-version", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_status_short_code(void **state)
{
  (void)state;
  expect_fail(L"/status-short-code", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_status_long_code(void **state)
{
  (void)state;
  expect_fail(L"/status-long-code", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_status_empty(void **state)
{
  (void)state;
  expect_fail(L"/status-empty", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_garbage(void **state)
{
  (void)state;
  expect_fail(L"/garbage", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_http09(void **state)
{
  (void)state;
  /* No status line (Wine's test_no_headers, on Windows). */
  expect_fail(L"/http09", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_status_no_reason(void **state)
{
  (void)state;
  /* Legal: the reason phrase may be empty. */
  wh_pool_clear();
  HINTERNET ses = WinHttpOpen(L"faults", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  HINTERNET con = WinHttpConnect(ses, L"127.0.0.1", wh_peer_port(&fault), 0);
  HINTERNET req = WinHttpOpenRequest(con, NULL, L"/status-no-reason", NULL, NULL, NULL, 0);
  assert_true(WinHttpSendRequest(req, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(req, NULL));
  WCHAR text[64];
  DWORD size = sizeof(text);
  assert_true(WinHttpQueryHeaders(req, WINHTTP_QUERY_STATUS_TEXT, NULL, text, &size, NULL));
  assert_int_equal(size, 0);
  assert_int_equal(text[0], 0);
  char buf[8];
  DWORD got = 0;
  assert_true(WinHttpReadData(req, buf, sizeof(buf), &got));
  assert_int_equal(got, 2);
  assert_memory_equal(buf, "ok", 2);
  WinHttpCloseHandle(req);
  WinHttpCloseHandle(con);
  WinHttpCloseHandle(ses);
}

static void test_bare_lf(void **state)
{
  (void)state;
  expect_ok(L"/bare-lf", NULL, 200, "ok", 2);
}

/* --- framing ------------------------------------------------------------------------------- */

static void test_cl_conflict(void **state)
{
  (void)state;
  expect_fail(L"/cl-conflict", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_cl_dup_same(void **state)
{
  (void)state;
  expect_ok(L"/cl-dup-same", NULL, 200, "hello", 5);
}

static void test_cl_negative(void **state)
{
  (void)state;
  expect_fail(L"/cl-negative", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_cl_overflow(void **state)
{
  (void)state;
  expect_fail(L"/cl-overflow", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_chunk_bad_hex(void **state)
{
  (void)state;
  expect_fail(L"/chunk-bad-hex", NULL, ST_READ, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_chunk_overflow(void **state)
{
  (void)state;
  expect_fail(L"/chunk-overflow", NULL, ST_READ, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_chunk_negative(void **state)
{
  (void)state;
  expect_fail(L"/chunk-negative", NULL, ST_READ, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_chunk_long_line(void **state)
{
  (void)state;
  expect_fail(L"/chunk-long-line?kb=64", NULL, ST_READ,
              ERROR_WINHTTP_CHUNKED_ENCODING_HEADER_SIZE_OVERFLOW);
}

static void test_chunk_no_crlf(void **state)
{
  (void)state;
  expect_fail(L"/chunk-no-crlf", NULL, ST_READ, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_chunked_trailer_ext(void **state)
{
  (void)state;
  expect_ok(L"/chunked?n=1000&chunks=7&trailer=1&ext=1", NULL, 200, NULL, 1000);
}

/* WINHTTP_QUERY_FLAG_TRAILERS: the trailer fields, once the body is read;
 * before that a state error; never mixed with the head's fields. */
static void test_query_trailers(void **state)
{
  (void)state;
  HINTERNET s = WinHttpOpen(L"trailers", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&fault), 0);
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/chunked?n=300&chunks=3&trailer=1", NULL, NULL,
                                   NULL, 0);
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(r, NULL));
  WCHAR v[64];
  DWORD len = sizeof(v);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_TRAILERS,
                                   L"X-Trailer", v, &len, NULL));
  assert_int_equal(GetLastError(), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  char buf[512];
  DWORD n = 0, total = 0;
  while (WinHttpReadData(r, buf, sizeof(buf), &n) && n)
    total += n;
  assert_int_equal(total, 300);
  len = sizeof(v);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_TRAILERS,
                                  L"X-Trailer", v, &len, NULL));
  assert_true(wcscmp(v, L"yes") == 0);
  DWORD num = 0;
  len = sizeof(num);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_TRAILERS |
                                         WINHTTP_QUERY_FLAG_NUMBER,
                                  L"X-Checksum", &num, &len, NULL));
  assert_int_equal(num, 300);
  /* the trailer is not a header of the head */
  len = sizeof(v);
  assert_false(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM, L"X-Trailer", v, &len, NULL));
  assert_int_equal(GetLastError(), ERROR_WINHTTP_HEADER_NOT_FOUND);
  /* request headers have no trailers */
  len = sizeof(v);
  assert_false(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_TRAILERS |
                                         WINHTTP_QUERY_FLAG_REQUEST_HEADERS,
                                  L"Host", v, &len, NULL));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_close_delimited(void **state)
{
  (void)state;
  expect_ok(L"/close?n=5000", NULL, 200, NULL, 5000);
  expect_ok(L"/http10?n=777", NULL, 200, NULL, 777);
}

static void test_no_body_statuses(void **state)
{
  (void)state;
  expect_ok(L"/204", NULL, 204, "", 0);
  /* 304 with "Content-Length: 100" of the representation: still no body. */
  expect_ok(L"/304", NULL, 304, "", 0);
}

/* --- truncation and resets ------------------------------------------------------------------ */

static void test_trunc_cl(void **state)
{
  (void)state;
  struct outcome o;
  exchange(L"/trunc-cl?n=1000", NULL, &o);
  check(&o, ST_READ, ERROR_WINHTTP_CONNECTION_ERROR);
  outcome_free(&o);
}

static void test_trunc_chunked(void **state)
{
  (void)state;
  expect_fail(L"/trunc-chunked", NULL, ST_READ, ERROR_WINHTTP_CONNECTION_ERROR);
}

static void test_trunc_headers(void **state)
{
  (void)state;
  expect_fail(L"/trunc-headers", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_close_no_response(void **state)
{
  (void)state;
  expect_fail(L"/close-no-response", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_reset_before(void **state)
{
  (void)state;
  expect_fail(L"/reset-before", NULL, ST_RECV, ERROR_WINHTTP_CONNECTION_ERROR);
}

static void test_reset_headers(void **state)
{
  (void)state;
  expect_fail(L"/reset-headers", NULL, ST_RECV, ERROR_WINHTTP_CONNECTION_ERROR);
}

static void test_reset_body(void **state)
{
  (void)state;
  expect_fail(L"/reset-body", NULL, ST_READ, ERROR_WINHTTP_CONNECTION_ERROR);
}

/* A pooled connection that the server closed (FIN or RST) after the
 * previous response: the next idempotent request is retried once on a new
 * connection, invisibly. */
static void dead_pooled(const wchar_t *first)
{
  expect_ok(first, NULL, 200, NULL, 100);
  struct knobs k = {.keep_pool = 1};
  expect_ok(L"/count", &k, 200, "1", 1);
}

/* Bytes nobody asked for arrive on a pooled connection after a complete
 * response (/push); /release sends them and answers only afterwards, on a
 * connection of its own, so they are there before the next request. That
 * request, following at once, must not take them for its response: the
 * connection is discarded and /count runs on a new one. */
static void stray_bytes_on_pooled(const wchar_t *verb, const wchar_t *push, const wchar_t *release,
                                  DWORD status, const char *body)
{
  struct knobs first = {.verb = verb};
  expect_ok(push, &first, status, body, body ? strlen(body) : 0);
  struct knobs own = {.keep_pool = 1, .no_keep_alive = 1};
  expect_ok(release, &own, 200, "released", 8);
  struct knobs next = {.keep_pool = 1};
  expect_ok(L"/count", &next, 200, "1", 1);
}

static void test_pooled_pushed_response_discarded(void **state)
{
  (void)state;
  stray_bytes_on_pooled(L"GET", L"/push?id=resp", L"/release?id=resp", 200, "ok");
}

static void test_pooled_body_after_204_discarded(void **state)
{
  (void)state;
  stray_bytes_on_pooled(L"GET", L"/push?id=204&code=204&what=body", L"/release?id=204", 204,
                        NULL);
}

static void test_pooled_body_after_head_discarded(void **state)
{
  (void)state;
  stray_bytes_on_pooled(L"HEAD", L"/push?id=head&what=body", L"/release?id=head", 200, NULL);
}

static void test_pooled_clean_reused(void **state)
{
  (void)state;
  /* The check costs nothing in reuse: a clean connection still serves the
   * next request (the second on it). */
  expect_ok(L"/count", NULL, 200, "1", 1);
  struct knobs k = {.keep_pool = 1};
  expect_ok(L"/count", &k, 200, "2", 1);
}

static void test_pooled_fin_retried(void **state)
{
  (void)state;
  dead_pooled(L"/ok?close=1");
}

static void test_pooled_rst_retried(void **state)
{
  (void)state;
  dead_pooled(L"/ok?reset=1");
}

/* --- limits ------------------------------------------------------------------------------------- */

static void test_big_headers(void **state)
{
  (void)state;
  /* Default MAX_RESPONSE_HEADER_SIZE is 64 KiB: a 64 KiB value overflows. */
  expect_fail(L"/big-headers?kb=64", NULL, ST_RECV, ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  struct knobs small = {.max_header = 1024};
  expect_fail(L"/big-headers?kb=2", &small, ST_RECV, ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  struct knobs big = {.max_header = 256 * 1024};
  expect_ok(L"/big-headers?kb=64", &big, 200, "ok", 2);
}

static void test_many_headers(void **state)
{
  (void)state;
  expect_fail(L"/many-headers?count=2000", NULL, ST_RECV, ERROR_WINHTTP_HEADER_COUNT_EXCEEDED);
  expect_ok(L"/many-headers?count=200", NULL, 200, "ok", 2);
}

static void test_1xx_flood(void **state)
{
  (void)state;
  struct knobs k = {.max_continue = 3};
  rec_reset();
  expect_ok(L"/1xx-flood?n=3", &k, 200, "ok", 2);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_INTERMEDIATE_RESPONSE), 3);
  expect_fail(L"/1xx-flood?n=4", &k, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  /* The default is 10. */
  expect_ok(L"/1xx-flood?n=10", NULL, 200, "ok", 2);
  expect_fail(L"/1xx-flood?n=50", NULL, ST_RECV, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

static void test_interim_responses(void **state)
{
  (void)state;
  expect_ok(L"/continue?n=300", NULL, 200, NULL, 300);
  expect_ok(L"/early-hints", NULL, 200, "ok", 2);
}

/* --- redirects --------------------------------------------------------------------------------- */

static void test_redirect_loop(void **state)
{
  (void)state;
  expect_fail(L"/redirect-loop", NULL, ST_RECV, ERROR_WINHTTP_REDIRECT_FAILED);
  expect_fail(L"/redirect-loop?abs=1", NULL, ST_RECV, ERROR_WINHTTP_REDIRECT_FAILED);
}

static void test_redirect_chain_limit(void **state)
{
  (void)state;
  rec_reset();
  expect_ok(L"/redirect-chain?n=3", NULL, 200, NULL, 100);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_REDIRECT), 3);
  struct knobs k = {.max_redirects = 2};
  expect_fail(L"/redirect-chain?n=3", &k, ST_RECV, ERROR_WINHTTP_REDIRECT_FAILED);
  struct knobs never = {.set_policy = 1, .policy = WINHTTP_OPTION_REDIRECT_POLICY_NEVER};
  expect_ok(L"/redirect-chain?n=3", &never, 302, "redirect", 8);
}

static void test_redirect_no_location(void **state)
{
  (void)state;
  /* Nothing to follow: the 302 itself is the response. */
  expect_ok(L"/redirect-no-location", NULL, 302, "redirect", 8);
}

static void test_redirect_http_to_https(void **state)
{
  (void)state;
  wchar_t path[128];
  swprintf(path, 128, L"/redirect-https?port=%u&to=/ok?n=123", wh_peer_port(&fault_tls));
  expect_ok(path, NULL, 200, NULL, 123);
}

static void test_redirect_https_to_http_refused(void **state)
{
  (void)state;
  wchar_t path[160];
  swprintf(path, 160, L"/redirect?code=302&to=http://127.0.0.1:%u/ok", wh_peer_port(&fault));
  struct knobs k = {.port = wh_peer_port(&fault_tls), .flags = WINHTTP_FLAG_SECURE};
  expect_fail(path, &k, ST_RECV, ERROR_WINHTTP_REDIRECT_FAILED);
  k.set_policy = 1;
  k.policy = WINHTTP_OPTION_REDIRECT_POLICY_ALWAYS;
  expect_ok(path, &k, 200, NULL, 100);
}

/* --- group -------------------------------------------------------------------------------------- */

static int setup(void **state)
{
  (void)state;
  wh_rec_init(&rec);
  wh_rec_set_default(&rec);
  if (wh_peer_start_fault(&fault) != 0)
    return -1;
  if (wh_peer_start_fault_tls(&fault_tls, WH_CERT_GOOD) != 0)
    return -1;
  if (setenv("SSL_CERT_FILE", wh_peer_ca_file(&fault_tls), 1) != 0)
    return -1;
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault_tls);
  wh_peer_stop(&fault);
  wh_rec_set_default(NULL);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_refused),
    cmocka_unit_test(test_name_not_resolved),
    cmocka_unit_test(test_connect_timeout),
    cmocka_unit_test(test_send_timeout),
    cmocka_unit_test(test_slow_reader_upload),
    cmocka_unit_test(test_early_response),
    cmocka_unit_test(test_stall_response_timeout),
    cmocka_unit_test(test_stall_headers_receive_timeout),
    cmocka_unit_test(test_stall_body_receive_timeout),
    cmocka_unit_test(test_stall_body_partial_then_timeout),
    cmocka_unit_test(test_drip_under_timeout),
    cmocka_unit_test(test_stall_receive_timeout_bounds_head),
    cmocka_unit_test(test_drip_head_response_timeout),
    cmocka_unit_test(test_status_bad_code),
    cmocka_unit_test(test_status_bad_proto),
    cmocka_unit_test(test_status_bad_version),
    cmocka_unit_test(test_status_short_code),
    cmocka_unit_test(test_status_long_code),
    cmocka_unit_test(test_status_empty),
    cmocka_unit_test(test_garbage),
    cmocka_unit_test(test_http09),
    cmocka_unit_test(test_status_no_reason),
    cmocka_unit_test(test_bare_lf),
    cmocka_unit_test(test_cl_conflict),
    cmocka_unit_test(test_cl_dup_same),
    cmocka_unit_test(test_cl_negative),
    cmocka_unit_test(test_cl_overflow),
    cmocka_unit_test(test_chunk_bad_hex),
    cmocka_unit_test(test_chunk_overflow),
    cmocka_unit_test(test_chunk_negative),
    cmocka_unit_test(test_chunk_long_line),
    cmocka_unit_test(test_chunk_no_crlf),
    cmocka_unit_test(test_chunked_trailer_ext),
    cmocka_unit_test(test_query_trailers),
    cmocka_unit_test(test_close_delimited),
    cmocka_unit_test(test_no_body_statuses),
    cmocka_unit_test(test_trunc_cl),
    cmocka_unit_test(test_trunc_chunked),
    cmocka_unit_test(test_trunc_headers),
    cmocka_unit_test(test_close_no_response),
    cmocka_unit_test(test_reset_before),
    cmocka_unit_test(test_reset_headers),
    cmocka_unit_test(test_reset_body),
    cmocka_unit_test(test_pooled_pushed_response_discarded),
    cmocka_unit_test(test_pooled_body_after_204_discarded),
    cmocka_unit_test(test_pooled_body_after_head_discarded),
    cmocka_unit_test(test_pooled_clean_reused),
    cmocka_unit_test(test_pooled_fin_retried),
    cmocka_unit_test(test_pooled_rst_retried),
    cmocka_unit_test(test_big_headers),
    cmocka_unit_test(test_many_headers),
    cmocka_unit_test(test_1xx_flood),
    cmocka_unit_test(test_interim_responses),
    cmocka_unit_test(test_redirect_loop),
    cmocka_unit_test(test_redirect_chain_limit),
    cmocka_unit_test(test_redirect_no_location),
    cmocka_unit_test(test_redirect_http_to_https),
    cmocka_unit_test(test_redirect_https_to_http_refused),
  };
  /* WH_TEST_FILTER / WH_TEST_SKIP: run a subset while debugging (globs). */
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("sync_faults", tests, setup, teardown);
}
