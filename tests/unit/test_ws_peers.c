/* Tests of the WebSocket test peers themselves: the raw-frame server
 * (tests/peers/wsserver.py) and the reference server on python3-websockets
 * (tests/peers/ws_echo_websockets.py) do, byte for byte, what their tables
 * say, so that the library's WebSocket tests can trust them. The client
 * here is written in this file (a socket, the handshake by hand, masked
 * frames; OpenSSL for wss), never OpenWinHTTP, so that a failure here
 * points at a peer, not at the library.
 *
 * Every wait is on an event: a frame, an end of file, or a /report that the
 * server answers once what it waits for has happened. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include "peers.h"

/* RFC 6455 section 1.3's example key and the accept value it must give. */
#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };
#define FIN 0x80u
#define RSV1 0x40u

static struct wh_peer ws;  /* wsserver.py, plain */
static struct wh_peer ref; /* ws_echo_websockets.py, plain */

/* --- a tiny WebSocket client ------------------------------------------------ */

struct wsc {
  int fd;
  SSL *ssl;
  int status;           /* of the handshake response */
  char head[4096];      /* the response head, NUL-terminated */
  size_t early;         /* bytes after the head that came with it */
  unsigned char buf[65536];
  size_t off, len;      /* unread bytes: buf[off..len) */
  int eof;              /* the peer closed (or reset: err) */
  int err;
  int close_notify;     /* TLS: the end was a close_notify */
  uint32_t mask_seq;
};

static ssize_t io_read(struct wsc *c, void *dst, size_t n)
{
  if (c->ssl) {
    int r = SSL_read(c->ssl, dst, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r <= 0) {
      /* close_notify, or a bare end of file: both end the stream. A
       * receive timeout is told apart (see expect_eof). */
      int e = SSL_get_error(c->ssl, r);
      c->close_notify = e == SSL_ERROR_ZERO_RETURN;
      if (e == SSL_ERROR_WANT_READ ||
          (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)))
        c->err = EAGAIN;
      ERR_clear_error();
      return 0;
    }
    return r;
  }
  for (;;) {
    ssize_t r = recv(c->fd, dst, n, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      c->err = errno;
    return r;
  }
}

static void io_write(struct wsc *c, const void *data, size_t n)
{
  const char *d = data;
  while (n) {
    ssize_t w;
    if (c->ssl)
      w = SSL_write(c->ssl, d, n > INT32_MAX ? INT32_MAX : (int)n);
    else
      w = send(c->fd, d, n, MSG_NOSIGNAL);
    assert_true(w > 0);
    d += w;
    n -= (size_t)w;
  }
}

/* Reads more into the buffer; 0, or -1 at end of file or error. */
static int fill(struct wsc *c)
{
  if (c->off == c->len)
    c->off = c->len = 0;
  if (c->len == sizeof(c->buf)) {
    memmove(c->buf, c->buf + c->off, c->len - c->off);
    c->len -= c->off;
    c->off = 0;
  }
  assert_true(c->len < sizeof(c->buf));
  ssize_t r = io_read(c, c->buf + c->len, sizeof(c->buf) - c->len);
  if (r <= 0) {
    c->eof = 1;
    return -1;
  }
  c->len += (size_t)r;
  return 0;
}

/* Exactly n bytes; 0, or -1 at end of file first. */
static int read_exact(struct wsc *c, void *dst, size_t n)
{
  unsigned char *d = dst;
  while (n) {
    if (c->off == c->len && fill(c) != 0)
      return -1;
    size_t k = c->len - c->off < n ? c->len - c->off : n;
    memcpy(d, c->buf + c->off, k);
    c->off += k;
    d += k;
    n -= k;
  }
  return 0;
}

/* Connects (TLS when |ctx|), sends |request| verbatim and reads the response
 * head. */
static void wsc_request(struct wsc *c, const struct wh_peer *p, SSL_CTX *ctx, const char *request)
{
  memset(c, 0, sizeof(*c));
  c->fd = wh_peer_connect(p);
  assert_true(c->fd >= 0);
  if (ctx) {
    c->ssl = SSL_new(ctx);
    assert_non_null(c->ssl);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    assert_int_equal(SSL_set1_host(c->ssl, "localhost"), 1);
    assert_int_equal(SSL_connect(c->ssl), 1);
  }
  io_write(c, request, strlen(request));
  const unsigned char *end = NULL;
  while (!end) {
    assert_int_equal(fill(c), 0);
    end = memmem(c->buf, c->len, "\r\n\r\n", 4);
  }
  size_t head_len = (size_t)(end - c->buf) + 4;
  assert_true(head_len < sizeof(c->head));
  memcpy(c->head, c->buf, head_len);
  c->head[head_len] = 0;
  c->off = head_len;
  c->early = c->len - head_len;
  assert_int_equal(sscanf(c->head, "HTTP/1.1 %d", &c->status), 1);
}

/* The handshake for |path| with |extra| header lines; asserts a 101. */
static void wsc_open(struct wsc *c, const struct wh_peer *p, SSL_CTX *ctx, const char *path,
                     const char *extra)
{
  char req[2048];
  snprintf(req, sizeof(req),
           "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
           path, extra ? extra : "");
  wsc_request(c, p, ctx, req);
  if (c->status != 101)
    fail_msg("%s: status %d, head:\n%s", path, c->status, c->head);
  assert_non_null(strstr(c->head, "\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"));
}

static void wsc_close(struct wsc *c)
{
  if (c->ssl) {
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    ERR_clear_error();
  }
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  c->ssl = NULL;
}

/* One frame with first byte |b0|; masked with a fresh key unless |key| is
 * "unmasked" (NULL with masked = 0) or given. */
static void send_frame_key(struct wsc *c, unsigned b0, const void *payload, size_t n, int masked,
                           const unsigned char *key)
{
  unsigned char head[14], k[4];
  size_t h = 0;
  head[h++] = (unsigned char)b0;
  unsigned char mbit = masked ? 0x80 : 0;
  if (n < 126) {
    head[h++] = (unsigned char)(mbit | n);
  } else if (n < 65536) {
    head[h++] = mbit | 126;
    head[h++] = (unsigned char)(n >> 8);
    head[h++] = (unsigned char)n;
  } else {
    head[h++] = mbit | 127;
    for (int i = 7; i >= 0; i--)
      head[h++] = (unsigned char)((uint64_t)n >> (8 * i));
  }
  if (masked) {
    if (key) {
      memcpy(k, key, 4);
    } else {
      c->mask_seq++;
      k[0] = (unsigned char)c->mask_seq;
      k[1] = (unsigned char)(c->mask_seq >> 8);
      k[2] = 0x5a;
      k[3] = 0xc3;
    }
    memcpy(head + h, k, 4);
    h += 4;
  }
  unsigned char *out = malloc(h + n + 1);
  assert_non_null(out);
  memcpy(out, head, h);
  for (size_t i = 0; i < n; i++)
    out[h + i] = (unsigned char)(((const unsigned char *)payload)[i] ^ (masked ? k[i % 4] : 0));
  io_write(c, out, h + n);
  free(out);
}

static void send_frame(struct wsc *c, unsigned b0, const void *payload, size_t n)
{
  send_frame_key(c, b0, payload, n, 1, NULL);
}

/* A close frame's payload into |p|: |code| (0: none, the payload is
 * empty) and |reason|; its length. */
static size_t close_payload(unsigned char p[128], unsigned code, const char *reason)
{
  size_t n = 0;
  if (code) {
    size_t k = strlen(reason);
    assert_true(k <= 123);
    p[n++] = (unsigned char)(code >> 8);
    p[n++] = (unsigned char)code;
    memcpy(p + n, reason, k);
    n += k;
  }
  return n;
}

static void send_close(struct wsc *c, unsigned code, const char *reason)
{
  unsigned char p[128] = {0}; /* an empty close leaves it unwritten */
  size_t n = close_payload(p, code, reason);
  send_frame(c, FIN | OP_CLOSE, p, n);
}

struct frame {
  int fin, rsv, op, masked;
  size_t len;
  unsigned char *data; /* NUL-terminated, unmasked */
};

/* The next frame; 0, or -1 at end of file. */
static int recv_frame(struct wsc *c, struct frame *f)
{
  unsigned char h[8];
  memset(f, 0, sizeof(*f));
  if (read_exact(c, h, 2) != 0)
    return -1;
  f->fin = h[0] >> 7;
  f->rsv = (h[0] >> 4) & 7;
  f->op = h[0] & 15;
  f->masked = h[1] >> 7;
  uint64_t n = h[1] & 127;
  if (n == 126) {
    assert_int_equal(read_exact(c, h, 2), 0);
    n = (uint64_t)h[0] << 8 | h[1];
  } else if (n == 127) {
    assert_int_equal(read_exact(c, h, 8), 0);
    n = 0;
    for (int i = 0; i < 8; i++)
      n = n << 8 | h[i];
  }
  assert_true(n < 64u * 1024 * 1024);
  unsigned char key[4] = {0};
  if (f->masked)
    assert_int_equal(read_exact(c, key, 4), 0);
  f->len = (size_t)n;
  f->data = malloc(f->len + 1);
  assert_non_null(f->data);
  assert_int_equal(read_exact(c, f->data, f->len), 0);
  for (size_t i = 0; f->masked && i < f->len; i++)
    f->data[i] ^= key[i % 4];
  f->data[f->len] = 0;
  return 0;
}

/* The next frame, which must have this first byte and payload. */
static void expect_frame(struct wsc *c, unsigned b0, const void *payload, size_t n)
{
  struct frame f;
  assert_int_equal(recv_frame(c, &f), 0);
  if ((unsigned)(f.fin << 7 | f.rsv << 4 | f.op) != b0 || f.len != n ||
      memcmp(f.data, payload, n) != 0 || f.masked)
    fail_msg("frame 0x%02x len %zu (masked %d), wanted 0x%02x len %zu", (unsigned)f.op, f.len,
             f.masked, b0, n);
  free(f.data);
}

static void expect_text(struct wsc *c, const char *s)
{
  expect_frame(c, FIN | OP_TEXT, s, strlen(s));
}

/* A close frame with |code| (0: empty payload) and |reason|. */
static void expect_close(struct wsc *c, unsigned code, const char *reason)
{
  unsigned char p[128] = {0}; /* an empty close leaves it unwritten */
  size_t n = close_payload(p, code, reason);
  expect_frame(c, FIN | OP_CLOSE, p, n);
}

/* The peer closes the connection with nothing more to say (and the
 * socket's 10 s receive timeout did not fire first). */
static void expect_eof(struct wsc *c)
{
  unsigned char b;
  assert_int_equal(read_exact(c, &b, 1), -1);
  assert_true(c->eof);
  if (c->err == EAGAIN || c->err == EWOULDBLOCK)
    fail_msg("timed out waiting for the peer to close");
}

/* The close handshake started by us with a peer that echoes the close
 * (RFC 6455 section 5.5.1): ours, the same close back, then the peer
 * closes the connection first. */
static void close_handshake(struct wsc *c, unsigned code, const char *reason)
{
  send_close(c, code, reason);
  expect_close(c, code, reason);
  expect_eof(c);
}

/* Nothing is waiting to be read at this moment. */
static void expect_nothing_yet(struct wsc *c)
{
  assert_int_equal(c->len - c->off, 0);
  if (c->ssl)
    assert_int_equal(SSL_pending(c->ssl), 0);
  struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 0), 0);
}

static int is_pattern251(const unsigned char *p, size_t n, size_t offset)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)((offset + i) % 251))
      return 0;
  return 1;
}

/* GET /report?|query|, asserting it worked. */
static const char *report(const struct wh_peer *p, const char *query)
{
  static char buf[8192];
  assert_true(wh_peer_ws_report(p, query, buf, sizeof(buf)) >= 0);
  return buf;
}

static void expect_report_line(const char *rep, const char *line)
{
  size_t k = strlen(line);
  for (const char *s = rep; *s;) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t)(nl - s) : strlen(s);
    if (n == k && memcmp(s, line, k) == 0)
      return;
    s += n + (nl ? 1 : 0);
  }
  fail_msg("report lacks the line \"%s\":\n%s", line, rep);
}

static SSL_CTX *client_ctx(const char *ca)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  assert_non_null(ctx);
  assert_non_null(ca);
  assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  return ctx;
}

/* --- wsserver.py: the handshake ---------------------------------------------- */

static int ws_setup(void **state)
{
  (void)state;
  return wh_peer_start_ws(&ws) == 0 ? 0 : -1;
}

static int ws_teardown(void **state)
{
  (void)state;
  wh_peer_stop(&ws);
  return 0;
}

static void test_ws_handshake(void **state)
{
  (void)state;
  struct wsc c;
  wsc_open(&c, &ws, NULL, "/echo?proto=1&hdr=X-Test:%20yes",
           "Sec-WebSocket-Protocol: chat, superchat\r\n");
  static const char want[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
                             "Sec-WebSocket-Protocol: chat\r\nX-Test: yes\r\n\r\n";
  assert_string_equal(c.head, want);
  assert_int_equal(c.early, 0);
  wsc_close(&c);

  /* ?proto= with another value is sent verbatim, offered or not; ?ext= too. */
  wsc_open(&c, &ws, NULL, "/echo?proto=other&ext=permessage-deflate", NULL);
  assert_non_null(strstr(c.head, "\r\nSec-WebSocket-Protocol: other\r\n"));
  assert_non_null(strstr(c.head, "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"));
  wsc_close(&c);

  /* Frames sent with the head arrive with it. */
  wsc_open(&c, &ws, NULL, "/echo?early=81026869", NULL);
  assert_int_equal(c.early, 4);
  expect_text(&c, "hi");
  wsc_close(&c);
}

static void test_ws_handshake_refusals(void **state)
{
  (void)state;
  static const struct {
    const char *request;
    int status;
    const char *in_head;
  } cases[] = {
      {"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n",
       426, "\r\nSec-WebSocket-Version: 13\r\n"},
      {"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Version: 13\r\n\r\n",
       400, "bad Sec-WebSocket-Key"},
      {"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "bad Sec-WebSocket-Key"},
      {"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "no Upgrade: websocket"},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "method is not GET"},
      {"GET /nonesuch HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, "
       "Upgrade\r\nSec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
       404, "unknown scenario"},
      {"GET /send?m=bogus HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "bad argument"},
      {"GET /no-upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
       200, "Content-Length: 25\r\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct wsc c;
    wsc_request(&c, &ws, NULL, cases[i].request);
    /* The whole answer, up to the server's close. */
    while (fill(&c) == 0)
      ;
    char all[8192];
    size_t body = c.len - c.off;
    assert_true(strlen(c.head) + body < sizeof(all));
    snprintf(all, sizeof(all), "%s%.*s", c.head, (int)body, (const char *)c.buf + c.off);
    if (c.status != cases[i].status || !strstr(all, cases[i].in_head))
      fail_msg("case %zu: status %d, answer:\n%s", i, c.status, all);
    wsc_close(&c);
  }

  /* bad-accept: a 101 with the accept value of another key. */
  struct wsc c;
  wsc_request(&c, &ws, NULL,
              "GET /bad-accept HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: " SAMPLE_KEY "\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n");
  assert_int_equal(c.status, 101);
  assert_non_null(strstr(c.head, "\r\nSec-WebSocket-Accept: "));
  assert_null(strstr(c.head, SAMPLE_ACCEPT));
  assert_non_null(strstr(c.head, "\r\nUpgrade: websocket\r\n"));
  wsc_close(&c);

  /* no-101-headers: the right accept value, no Upgrade, no Connection. */
  wsc_request(&c, &ws, NULL,
              "GET /no-101-headers HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: " SAMPLE_KEY "\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n");
  assert_string_equal(c.head, "HTTP/1.1 101 Switching Protocols\r\n"
                              "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n");
  wsc_close(&c);
  wsc_request(&c, &ws, NULL,
              "GET /no-101-headers?omit=connection HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: " SAMPLE_KEY "\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n");
  assert_non_null(strstr(c.head, "\r\nUpgrade: websocket\r\n"));
  assert_null(strstr(c.head, "\r\nConnection:"));
  wsc_close(&c);
}

/* --- wsserver.py: scenarios ------------------------------------------------------ */

static void test_ws_echo(void **state)
{
  (void)state;
  struct wsc c;
  wsc_open(&c, &ws, NULL, "/echo?id=echo1", "Sec-WebSocket-Protocol: a, b\r\n");
  send_frame(&c, FIN | OP_TEXT, "hello", 5);
  expect_text(&c, "hello");
  static const unsigned char bin[] = {0, 1, 2, 0xff};
  send_frame(&c, FIN | OP_BINARY, bin, sizeof(bin));
  expect_frame(&c, FIN | OP_BINARY, bin, sizeof(bin));
  send_frame(&c, FIN | OP_PING, "p", 1);
  expect_frame(&c, FIN | OP_PONG, "p", 1);
  send_frame(&c, FIN | OP_TEXT, "", 0);
  expect_text(&c, "");
  /* Fragments are reassembled, a ping in the middle answered at once. */
  send_frame(&c, OP_TEXT, "ab", 2);
  send_frame(&c, FIN | OP_PING, "", 0);
  send_frame(&c, OP_CONT, "cd", 2);
  send_frame(&c, FIN | OP_CONT, "e", 1);
  expect_frame(&c, FIN | OP_PONG, "", 0);
  expect_text(&c, "abcde");
  send_frame(&c, FIN | OP_PONG, "unsolicited", 11);
  close_handshake(&c, 1000, "bye");
  wsc_close(&c);

  const char *rep = report(&ws, "id=echo1");
  assert_memory_equal(rep, "code=1000 reason=bye\n", 21);
  expect_report_line(rep, "pings=2");
  expect_report_line(rep, "pongs=1");
  expect_report_line(rep, "messages=4");
  expect_report_line(rep, "msg=text:5:1");
  expect_report_line(rep, "msg=binary:4:1");
  expect_report_line(rep, "msg=text:0:1");
  expect_report_line(rep, "msg=text:5:3");
  expect_report_line(rep, "mask-repeats=0");
  expect_report_line(rep, "offer-proto=a, b");
  expect_report_line(rep, "end=closed");
  assert_null(strstr(rep, "error="));

  /* An empty close is echoed empty, and reported as such. */
  wsc_open(&c, &ws, NULL, "/echo?id=echo2", NULL);
  close_handshake(&c, 0, "");
  wsc_close(&c);
  rep = report(&ws, "id=echo2");
  assert_memory_equal(rep, "code=empty\n", 11);
}

static void test_ws_echo_fragmented(void **state)
{
  (void)state;
  struct wsc c;
  wsc_open(&c, &ws, NULL, "/echo?frag=4&ping=1", NULL);
  send_frame(&c, FIN | OP_TEXT, "0123456789", 10);
  expect_frame(&c, OP_TEXT, "0123", 4);
  expect_frame(&c, FIN | OP_PING, "p0", 2);
  expect_frame(&c, OP_CONT, "4567", 4);
  expect_frame(&c, FIN | OP_PING, "p1", 2);
  expect_frame(&c, FIN | OP_CONT, "89", 2);
  /* A message no longer than a fragment goes out whole. */
  send_frame(&c, FIN | OP_BINARY, "abc", 3);
  expect_frame(&c, FIN | OP_BINARY, "abc", 3);
  close_handshake(&c, 1001, "");
  wsc_close(&c);
}

static void test_ws_close_scenario(void **state)
{
  (void)state;
  struct wsc c;
  wsc_open(&c, &ws, NULL, "/close?code=4001&reason=later%21&id=close1", NULL);
  expect_close(&c, 4001, "later!");
  /* It waits for our close, ignoring data meanwhile, then closes TCP. */
  send_frame(&c, FIN | OP_TEXT, "late data", 9);
  expect_nothing_yet(&c);
  send_close(&c, 4001, "ok");
  expect_eof(&c);
  wsc_close(&c);
  const char *rep = report(&ws, "id=close1");
  assert_memory_equal(rep, "code=4001 reason=ok\n", 20);
  expect_report_line(rep, "messages=1");
  expect_report_line(rep, "end=closed");

  wsc_open(&c, &ws, NULL, "/close?code=0", NULL);
  expect_close(&c, 0, "");
  send_close(&c, 0, "");
  expect_eof(&c);
  wsc_close(&c);

  /* ?fin=1: the close frame and TCP's close, without waiting. */
  wsc_open(&c, &ws, NULL, "/close?code=1001&fin=1&id=close3", NULL);
  expect_close(&c, 1001, "");
  expect_eof(&c);
  wsc_close(&c);
  rep = report(&ws, "id=close3");
  expect_report_line(rep, "none");
  expect_report_line(rep, "end=drop");
}

static void test_ws_send_script(void **state)
{
  (void)state;
  struct wsc c;
  wsc_open(&c, &ws, NULL,
           "/send?m=text:hello,bin:3,ping:x,text-frag:%E2%82|%AC,bin-frag:2|0|1,pong,"
           "text:a%2Cb%3Ac,binhex:00ff,hex:8a00,close:1001:gone,text:after",
           NULL);
  expect_text(&c, "hello");
  expect_frame(&c, FIN | OP_BINARY, "\0\1\2", 3);
  expect_frame(&c, FIN | OP_PING, "x", 1);
  expect_frame(&c, OP_TEXT, "\xe2\x82", 2);
  expect_frame(&c, FIN | OP_CONT, "\xac", 1);
  expect_frame(&c, OP_BINARY, "\0\1", 2);
  expect_frame(&c, OP_CONT, "", 0);
  expect_frame(&c, FIN | OP_CONT, "\2", 1);
  expect_frame(&c, FIN | OP_PONG, "", 0);
  expect_text(&c, "a,b:c");
  expect_frame(&c, FIN | OP_BINARY, "\0\xff", 2);
  expect_frame(&c, FIN | OP_PONG, "", 0);
  expect_close(&c, 1001, "gone");
  expect_text(&c, "after");
  send_close(&c, 1001, "");
  expect_eof(&c);
  wsc_close(&c);

  /* wait: the rest only after a message from the client; then echo. */
  wsc_open(&c, &ws, NULL, "/send?m=text:first,wait,text:second&id=send2", NULL);
  expect_text(&c, "first");
  send_frame(&c, FIN | OP_PING, "k", 1);
  expect_frame(&c, FIN | OP_PONG, "k", 1);
  expect_nothing_yet(&c);
  send_frame(&c, FIN | OP_TEXT, "go", 2);
  expect_text(&c, "second");
  send_frame(&c, FIN | OP_TEXT, "echoed", 6);
  expect_text(&c, "echoed");
  close_handshake(&c, 1000, "");
  wsc_close(&c);
  const char *rep = report(&ws, "id=send2");
  expect_report_line(rep, "messages=2");
  expect_report_line(rep, "pings=1");

  /* eof: TCP closes with no close frame. */
  wsc_open(&c, &ws, NULL, "/send?m=text:x,eof", NULL);
  expect_text(&c, "x");
  expect_eof(&c);
  wsc_close(&c);

  /* chunk=1: every byte its own write; the frames are the same. */
  wsc_open(&c, &ws, NULL, "/send?chunk=1&m=text:hello,bin:300", NULL);
  expect_text(&c, "hello");
  struct frame f;
  assert_int_equal(recv_frame(&c, &f), 0);
  assert_int_equal(f.op, OP_BINARY);
  assert_int_equal(f.len, 300);
  assert_true(is_pattern251(f.data, f.len, 0));
  free(f.data);
  wsc_close(&c);
}

static void test_ws_raw(void **state)
{
  (void)state;
  struct wsc c;
  /* RFC 6455 section 5.7's unmasked ping "Hello", then its masked text
   * frame "Hello" (which a server must never send), verbatim. */
  wsc_open(&c, &ws, NULL, "/raw?id=raw1&hex=890548656c6c6f818537fa213d7f9f4d5158", NULL);
  expect_frame(&c, FIN | OP_PING, "Hello", 5);
  struct frame f;
  assert_int_equal(recv_frame(&c, &f), 0);
  assert_true(f.masked);
  assert_int_equal(f.op, OP_TEXT);
  assert_string_equal((const char *)f.data, "Hello");
  free(f.data);
  wsc_close(&c);

  /* A 64-bit length with its top bit set. */
  wsc_open(&c, &ws, NULL, "/raw?id=raw2&hex=827f8000000000000000", NULL);
  unsigned char head[10];
  assert_int_equal(read_exact(&c, head, 10), 0);
  static const unsigned char want[10] = {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0};
  assert_memory_equal(head, want, 10);
  /* What the client sends back is recorded. */
  close_handshake(&c, 1002, "bad length");
  wsc_close(&c);
  const char *rep = report(&ws, "id=raw2");
  assert_memory_equal(rep, "code=1002 reason=bad length\n", 28);
  expect_report_line(rep, "end=closed");
}

/* A client frame a server must reject: the close the server answers with,
 * and the error it records. */
static void test_ws_rejects_bad_client_frames(void **state)
{
  (void)state;
  static const struct {
    unsigned b0;
    const char *payload;
    size_t len;
    int masked;
    unsigned code;
    const char *kind;
    int is_close; /* the bad frame was our close: we send no other */
  } cases[] = {
      {FIN | OP_TEXT, "hi", 2, 0, 1002, "unmasked", 0},
      {FIN | RSV1 | OP_TEXT, "hi", 2, 1, 1002, "rsv", 0},
      {FIN | 3, "hi", 2, 1, 1002, "opcode", 0},
      {FIN | 0xb, "", 0, 1, 1002, "opcode", 0},
      {OP_PING, "", 0, 1, 1002, "control-fragmented", 0},
      {FIN | OP_CONT, "x", 1, 1, 1002, "continuation", 0},
      {FIN | OP_TEXT, "\xff", 1, 1, 1007, "utf8", 0},
      {FIN | OP_TEXT, "\xed\xa0\x80", 3, 1, 1007, "utf8", 0}, /* a surrogate */
      {FIN | OP_CLOSE, "\x03", 1, 1, 1002, "close-length", 1},
      {FIN | OP_CLOSE, "\x03\xed", 2, 1, 1002, "close-code", 1}, /* 1005 */
      {FIN | OP_CLOSE, "\x03\xe8\xff", 3, 1, 1007, "close-utf8", 1},
  };
  char big_ping[126];
  memset(big_ping, 'p', sizeof(big_ping));
  for (size_t i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
    char path[64], query[64], line[64];
    snprintf(path, sizeof(path), "/echo?id=bad%zu", i);
    struct wsc c;
    wsc_open(&c, &ws, NULL, path, NULL);
    const char *kind;
    unsigned code;
    int is_close = 0;
    if (i == sizeof(cases) / sizeof(cases[0])) { /* a 126-byte ping */
      send_frame(&c, FIN | OP_PING, big_ping, sizeof(big_ping));
      kind = "control-length";
      code = 1002;
    } else {
      send_frame_key(&c, cases[i].b0, cases[i].payload, cases[i].len, cases[i].masked, NULL);
      kind = cases[i].kind;
      code = cases[i].code;
      is_close = cases[i].is_close;
    }
    expect_close(&c, code, kind);
    if (!is_close)
      send_close(&c, code, "");
    expect_eof(&c);
    wsc_close(&c);
    snprintf(query, sizeof(query), "id=bad%zu", i);
    snprintf(line, sizeof(line), "error=%s", kind);
    expect_report_line(report(&ws, query), line);
  }

  /* A message split across fragments: the text check spans them. */
  struct wsc c;
  wsc_open(&c, &ws, NULL, "/echo", NULL);
  send_frame(&c, OP_TEXT, "\xe2\x82", 2);
  send_frame(&c, FIN | OP_CONT, "\xac", 1);
  expect_text(&c, "\xe2\x82\xac");
  /* Data frames of a new message inside a fragmented one. */
  send_frame(&c, OP_TEXT, "a", 1);
  send_frame(&c, FIN | OP_TEXT, "b", 1);
  expect_close(&c, 1002, "continuation");
  send_close(&c, 1002, "");
  expect_eof(&c);
  wsc_close(&c);
}

static void test_ws_mask_repeats(void **state)
{
  (void)state;
  static const unsigned char key[4] = {1, 2, 3, 4};
  struct wsc c;
  wsc_open(&c, &ws, NULL, "/echo?id=mask", NULL);
  for (int i = 0; i < 3; i++) {
    send_frame_key(&c, FIN | OP_TEXT, "same", 4, 1, key);
    expect_text(&c, "same");
  }
  close_handshake(&c, 1000, "");
  wsc_close(&c);
  expect_report_line(report(&ws, "id=mask"), "mask-repeats=2");
}

static void test_ws_big(void **state)
{
  (void)state;
  struct wsc c;
  wsc_open(&c, &ws, NULL, "/big?mb=2&frame=16384", NULL);
  size_t total = 0, frames = 0, n = 2u * 1024 * 1024;
  unsigned char *msg = malloc(n);
  assert_non_null(msg);
  for (;;) {
    struct frame f;
    assert_int_equal(recv_frame(&c, &f), 0);
    assert_int_equal(f.op, frames == 0 ? OP_BINARY : OP_CONT);
    assert_true(f.len <= 16384);
    assert_true(total + f.len <= n);
    memcpy(msg + total, f.data, f.len);
    total += f.len;
    frames++;
    int fin = f.fin;
    free(f.data);
    if (fin)
      break;
  }
  assert_int_equal(total, n);
  assert_int_equal(frames, n / 16384);
  assert_true(is_pattern251(msg, n, 0));
  /* It echoes afterwards: a 2 MiB message in 4 masked frames comes back
   * whole, as a test of the server's unmasking. */
  for (size_t i = 0; i < 4; i++)
    send_frame(&c, (i == 3 ? FIN : 0) | (i == 0 ? OP_BINARY : OP_CONT), msg + i * (n / 4), n / 4);
  struct frame f;
  assert_int_equal(recv_frame(&c, &f), 0);
  assert_int_equal(f.op, OP_BINARY);
  assert_true(f.fin);
  assert_int_equal(f.len, n);
  assert_true(is_pattern251(f.data, n, 0));
  free(f.data);
  free(msg);
  wsc_close(&c);

  /* ?n= for an exact size. */
  wsc_open(&c, &ws, NULL, "/big?n=70000", NULL);
  assert_int_equal(recv_frame(&c, &f), 0);
  assert_int_equal(f.op, OP_BINARY);
  assert_int_equal(f.len, 65536);
  assert_false(f.fin);
  free(f.data);
  assert_int_equal(recv_frame(&c, &f), 0);
  assert_true(f.fin);
  assert_int_equal(f.len, 70000 - 65536);
  assert_true(is_pattern251(f.data, f.len, 65536));
  free(f.data);
  wsc_close(&c);
}

static void test_ws_drop(void **state)
{
  (void)state;
  struct wsc c;
  wsc_open(&c, &ws, NULL, "/drop?n=10&id=drop1", NULL);
  unsigned char b[16];
  assert_int_equal(read_exact(&c, b, 10), 0);
  static const unsigned char want[10] = {0x82, 126, 0x03, 0xe8, 0, 1, 2, 3, 4, 5};
  assert_memory_equal(b, want, 10);
  expect_eof(&c);
  assert_int_equal(c.err, 0); /* a FIN, not a reset */
  wsc_close(&c);
  expect_report_line(report(&ws, "id=drop1"), "end=drop");

  /* rst=1: a reset. The byte sent before it may be read first. */
  wsc_open(&c, &ws, NULL, "/drop?n=1&rst=1", NULL);
  if (read_exact(&c, b, 1) == 0) {
    assert_int_equal(b[0], 0x82);
    expect_eof(&c);
  }
  assert_int_equal(c.err, ECONNRESET);
  wsc_close(&c);
}

static void test_ws_silent(void **state)
{
  (void)state;
  struct wsc c;
  wsc_open(&c, &ws, NULL, "/silent?id=quiet", NULL);
  send_frame(&c, FIN | OP_PING, "1", 1);
  send_frame(&c, FIN | OP_PING, "2", 1);
  const char *rep = report(&ws, "id=quiet&wait=pings:2");
  expect_report_line(rep, "pings=2");
  assert_null(strstr(rep, "end="));
  /* The server had answered by now if it answered: it did not. */
  expect_nothing_yet(&c);
  send_close(&c, 1000, "bye");
  rep = report(&ws, "id=quiet&wait=close");
  assert_memory_equal(rep, "code=1000 reason=bye\n", 21);
  expect_nothing_yet(&c);
  wsc_close(&c);
  expect_report_line(report(&ws, "id=quiet"), "end=eof");
}

static void test_ws_report_unknown(void **state)
{
  (void)state;
  const char *rep = report(&ws, "id=never-connected&ms=20");
  assert_string_equal(rep, "none\ntimeout=1\n");
  assert_string_equal(report(&ws, "id=never-connected&wait=now"), "none\n");
}

static void test_ws_tls(void **state)
{
  (void)state;
  struct wh_peer p;
  assert_int_equal(wh_peer_start_ws_tls(&p, WH_CERT_GOOD), 0);
  assert_int_equal(p.kind, WH_PEER_WS);
  SSL_CTX *ctx = client_ctx(wh_peer_ca_file(&p));
  struct wsc c;
  wsc_open(&c, &p, ctx, "/echo?id=tls", NULL);
  send_frame(&c, FIN | OP_TEXT, "secure", 6);
  expect_text(&c, "secure");
  close_handshake(&c, 1000, "done");
  assert_true(c.close_notify);
  wsc_close(&c);
  assert_memory_equal(report(&p, "id=tls"), "code=1000 reason=done\n", 22);

  wsc_open(&c, &p, ctx, "/big?n=100000", NULL);
  struct frame f;
  assert_int_equal(recv_frame(&c, &f), 0);
  free(f.data);
  assert_int_equal(recv_frame(&c, &f), 0);
  assert_true(f.fin);
  assert_true(is_pattern251(f.data, f.len, 65536));
  free(f.data);
  wsc_close(&c);

  /* drop over TLS: the bytes, then TCP's end without close_notify. */
  wsc_open(&c, &p, ctx, "/drop?n=6", NULL);
  unsigned char b[8];
  assert_int_equal(read_exact(&c, b, 6), 0);
  static const unsigned char want[6] = {0x82, 126, 0x03, 0xe8, 0, 1};
  assert_memory_equal(b, want, 6);
  expect_eof(&c);
  assert_false(c.close_notify);
  wsc_close(&c);
  SSL_CTX_free(ctx);
  wh_peer_stop(&p);
}

/* --- ws_echo_websockets.py ---------------------------------------------------------- */

static int ref_setup(void **state)
{
  (void)state;
  return wh_peer_start_ws_ref(&ref) == 0 ? 0 : -1;
}

static int ref_teardown(void **state)
{
  (void)state;
  wh_peer_stop(&ref);
  return 0;
}

static void test_ref_echo_and_close(void **state)
{
  (void)state;
  struct wsc c;
  assert_int_equal(ref.kind, WH_PEER_WS_REF);
  wsc_open(&c, &ref, NULL, "/echo?id=r1", NULL);
  assert_non_null(strstr(c.head, "\r\nUpgrade: websocket\r\n"));
  assert_null(strstr(c.head, "Sec-WebSocket-Protocol"));
  assert_null(strstr(c.head, "Sec-WebSocket-Extensions"));
  send_frame(&c, FIN | OP_TEXT, "hello", 5);
  expect_text(&c, "hello");
  send_frame(&c, OP_BINARY, "\x01\x02", 2);
  send_frame(&c, FIN | OP_PING, "pp", 2);
  send_frame(&c, FIN | OP_CONT, "\x03", 1);
  expect_frame(&c, FIN | OP_PONG, "pp", 2);
  expect_frame(&c, FIN | OP_BINARY, "\x01\x02\x03", 3);
  close_handshake(&c, 1000, "done");
  wsc_close(&c);
  assert_string_equal(report(&ref, "id=r1"), "code=1000 reason=done\n");

  /* The server's own close. */
  wsc_open(&c, &ref, NULL, "/close?code=4002&reason=x&id=r2", NULL);
  expect_close(&c, 4002, "x");
  send_close(&c, 0, "");
  expect_eof(&c);
  wsc_close(&c);
  assert_string_equal(report(&ref, "id=r2"), "code=empty\n");

  /* A real server rejects an unmasked frame (1002) too. */
  wsc_open(&c, &ref, NULL, "/echo", NULL);
  send_frame_key(&c, FIN | OP_TEXT, "hi", 2, 0, NULL);
  struct frame f;
  assert_int_equal(recv_frame(&c, &f), 0);
  assert_int_equal(f.op, OP_CLOSE);
  assert_true(f.len >= 2);
  assert_int_equal(f.data[0] << 8 | f.data[1], 1002);
  free(f.data);
  wsc_close(&c);

  assert_string_equal(report(&ref, "id=nobody&ms=20"), "none\ntimeout=1\n");
}

static void test_ref_subprotocols(void **state)
{
  (void)state;
  static const struct {
    const char *path, *offer, *want;
  } cases[] = {
      {"/echo?proto=b,c", "x, c, b", "c"},
      {"/echo?proto=*", "x, c", "x"},
      {"/echo?proto=q", "x, c", NULL},
      {"/echo", "x", NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char extra[128], want[128];
    snprintf(extra, sizeof(extra), "Sec-WebSocket-Protocol: %s\r\n", cases[i].offer);
    struct wsc c;
    wsc_open(&c, &ref, NULL, cases[i].path, extra);
    if (cases[i].want) {
      snprintf(want, sizeof(want), "\r\nSec-WebSocket-Protocol: %s\r\n", cases[i].want);
      assert_non_null(strstr(c.head, want));
    } else {
      assert_null(strstr(c.head, "Sec-WebSocket-Protocol"));
    }
    wsc_close(&c);
  }
}

/* permessage-deflate (RFC 7692) with the reference server: a compressed
 * message goes and comes back compressed. */
static void test_ref_deflate(void **state)
{
  (void)state;
  struct wsc c;
  wsc_open(&c, &ref, NULL, "/echo?deflate=0", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  assert_null(strstr(c.head, "Sec-WebSocket-Extensions"));
  wsc_close(&c);

  wsc_open(&c, &ref, NULL, "/echo", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  assert_non_null(strstr(c.head, "\r\nSec-WebSocket-Extensions: permessage-deflate"));
  static const char text[] = "hello hello hello hello hello hello";
  unsigned char z[256];
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = (unsigned char *)text;
  zs.avail_in = sizeof(text) - 1;
  zs.next_out = z;
  zs.avail_out = sizeof(z);
  assert_int_equal(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
  size_t zn = sizeof(z) - zs.avail_out;
  deflateEnd(&zs);
  assert_true(zn > 4);
  assert_memory_equal(z + zn - 4, "\0\0\xff\xff", 4);
  send_frame(&c, FIN | RSV1 | OP_TEXT, z, zn - 4);

  struct frame f;
  assert_int_equal(recv_frame(&c, &f), 0);
  assert_int_equal(f.op, OP_TEXT);
  assert_int_equal(f.rsv, 4); /* RSV1: compressed */
  unsigned char in[300], out[256];
  assert_true(f.len + 4 <= sizeof(in));
  memcpy(in, f.data, f.len);
  memcpy(in + f.len, "\0\0\xff\xff", 4);
  memset(&zs, 0, sizeof(zs));
  assert_int_equal(inflateInit2(&zs, -15), Z_OK);
  zs.next_in = in;
  zs.avail_in = (uInt)(f.len + 4);
  zs.next_out = out;
  zs.avail_out = sizeof(out);
  int zr = inflate(&zs, Z_SYNC_FLUSH);
  assert_true(zr == Z_OK || zr == Z_STREAM_END);
  assert_int_equal(sizeof(out) - zs.avail_out, sizeof(text) - 1);
  assert_memory_equal(out, text, sizeof(text) - 1);
  inflateEnd(&zs);
  free(f.data);
  wsc_close(&c);
}

static void test_ref_tls(void **state)
{
  (void)state;
  struct wh_peer p;
  assert_int_equal(wh_peer_start_ws_ref_tls(&p, WH_CERT_GOOD), 0);
  SSL_CTX *ctx = client_ctx(wh_peer_ca_file(&p));
  struct wsc c;
  wsc_open(&c, &p, ctx, "/echo?id=t", NULL);
  send_frame(&c, FIN | OP_BINARY, "\x00\x01", 2);
  expect_frame(&c, FIN | OP_BINARY, "\x00\x01", 2);
  close_handshake(&c, 1001, "");
  wsc_close(&c);
  assert_string_equal(report(&p, "id=t"), "code=1001 reason=\n");
  SSL_CTX_free(ctx);
  char dir[sizeof(p.dir)];
  strcpy(dir, wh_peer_dir(&p));
  wh_peer_stop(&p);
  struct stat st;
  assert_int_not_equal(stat(dir, &st), 0);
}

int main(void)
{
  const struct CMUnitTest ws_tests[] = {
      cmocka_unit_test(test_ws_handshake),
      cmocka_unit_test(test_ws_handshake_refusals),
      cmocka_unit_test(test_ws_echo),
      cmocka_unit_test(test_ws_echo_fragmented),
      cmocka_unit_test(test_ws_close_scenario),
      cmocka_unit_test(test_ws_send_script),
      cmocka_unit_test(test_ws_raw),
      cmocka_unit_test(test_ws_rejects_bad_client_frames),
      cmocka_unit_test(test_ws_mask_repeats),
      cmocka_unit_test(test_ws_big),
      cmocka_unit_test(test_ws_drop),
      cmocka_unit_test(test_ws_silent),
      cmocka_unit_test(test_ws_report_unknown),
      cmocka_unit_test(test_ws_tls),
  };
  const struct CMUnitTest ref_tests[] = {
      cmocka_unit_test(test_ref_echo_and_close),
      cmocka_unit_test(test_ref_subprotocols),
      cmocka_unit_test(test_ref_deflate),
      cmocka_unit_test(test_ref_tls),
  };
  int failed = cmocka_run_group_tests_name("wsserver", ws_tests, ws_setup, ws_teardown);
  failed += cmocka_run_group_tests_name("ws_echo_websockets", ref_tests, ref_setup, ref_teardown);
  return failed;
}
