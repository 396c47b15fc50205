/* Tests of the test peers themselves (tests/support/peers.c): each peer
 * starts, answers at the byte level what its documentation says, and stops
 * without leaving a process or a directory behind. The client here is a
 * plain blocking socket (and OpenSSL for TLS), never OpenWinHTTP, so that a
 * failure here points at the peer, not the library.
 *
 * One fault server and one nginx (with TLS) serve most tests; they are
 * started by the group setups and stopped by the group teardowns. The
 * proxies (proxyserver.py in each mode, tinyproxy) are started by their
 * tests, in front of a fault server of their own group. */
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
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <zlib.h>

#include "peers.h"

#define LIT(s) (s), (sizeof(s) - 1)

static struct wh_peer fault;
static struct wh_peer nginx;

/* --- byte-level client helpers --------------------------------------------- */

static void send_all(int fd, const char *data, size_t len)
{
  while (len) {
    ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
    assert_true(w > 0);
    data += w;
    len -= (size_t)w;
  }
}

static void send_str(int fd, const char *s)
{
  send_all(fd, s, strlen(s));
}

/* Reads until end of file, an error or |cap| bytes. Returns the length;
 * *err is 0 at end of file, else the errno. */
static size_t recv_all(int fd, char *buf, size_t cap, int *err)
{
  size_t len = 0;
  *err = 0;
  while (len < cap) {
    ssize_t r = recv(fd, buf + len, cap - len, 0);
    if (r == 0)
      break;
    if (r < 0) {
      if (errno == EINTR)
        continue;
      *err = errno;
      break;
    }
    len += (size_t)r;
  }
  return len;
}

static const char *find_mem(const char *hay, size_t n, const char *needle)
{
  size_t k = strlen(needle);
  for (size_t i = 0; k <= n && i <= n - k; i++)
    if (memcmp(hay + i, needle, k) == 0)
      return hay + i;
  return NULL;
}

/* Content-Length of a head, or -1. */
static long head_content_length(const char *head, size_t head_len)
{
  for (size_t i = 0; i + 16 < head_len; i++)
    if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, "Content-Length:", 15) == 0)
      return strtol(head + i + 15, NULL, 10);
  return -1;
}

/* Reads one response: its head, then a Content-Length body or a chunked
 * body up to its last chunk. Returns the total length; *body_off is where
 * the body starts. */
static size_t recv_response(int fd, char *buf, size_t cap, size_t *body_off)
{
  size_t len = 0;
  const char *end = NULL;
  while (!end) {
    assert_true(len < cap);
    ssize_t r = recv(fd, buf + len, cap - len, 0);
    assert_true(r > 0);
    len += (size_t)r;
    end = find_mem(buf, len, "\r\n\r\n");
  }
  size_t head_len = (size_t)(end - buf) + 4;
  *body_off = head_len;
  long cl = head_content_length(buf, head_len);
  int chunked = find_mem(buf, head_len, "Transfer-Encoding: chunked") != NULL;
  for (;;) {
    if (cl >= 0 && len >= head_len + (size_t)cl)
      break;
    if (chunked && len >= head_len + 5 && memcmp(buf + len - 5, "0\r\n\r\n", 5) == 0)
      break;
    if (cl < 0 && !chunked)
      break;
    assert_true(len < cap);
    ssize_t r = recv(fd, buf + len, cap - len, 0);
    assert_true(r > 0);
    len += (size_t)r;
  }
  return len;
}

/* Decodes a chunked body in place; returns the decoded length. */
static size_t dechunk(char *body, size_t len)
{
  size_t in = 0, out = 0;
  for (;;) {
    char *end;
    unsigned long n = strtoul(body + in, &end, 16);
    const char *crlf = find_mem(body + in, len - in, "\r\n");
    assert_non_null(crlf);
    assert_true(end <= crlf);
    in = (size_t)(crlf - body) + 2;
    if (n == 0)
      return out;
    assert_true(in + n + 2 <= len);
    memmove(body + out, body + in, n);
    out += n;
    in += n + 2;
  }
}

static int is_pattern(const char *p, size_t n, size_t offset)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + (i + offset) % 26))
      return 0;
  return 1;
}

/* One request on a new connection; the whole reply until end of file. */
static size_t exchange(unsigned short port, const char *request, char *buf, size_t cap, int *err)
{
  int fd = wh_peer_connect_port(port, 0);
  assert_true(fd >= 0);
  send_str(fd, request);
  size_t n = recv_all(fd, buf, cap, err);
  close(fd);
  return n;
}

/* --- the fault server -------------------------------------------------------- */

static int fault_setup(void **state)
{
  (void)state;
  return wh_peer_start_fault(&fault) == 0 ? 0 : -1;
}

static int fault_teardown(void **state)
{
  (void)state;
  wh_peer_stop(&fault);
  return 0;
}

static void test_fault_ok_exact_bytes(void **state)
{
  (void)state;
  char buf[512];
  int err;
  size_t n = exchange(wh_peer_port(&fault),
                      "GET /ok?n=30 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf,
                      sizeof(buf), &err);
  static const char want[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 30\r\n\r\nabcdefghijklmnopqrstuvwxyzabcd";
  assert_int_equal(err, 0);
  assert_int_equal(n, sizeof(want) - 1);
  assert_memory_equal(buf, want, n);
}

static void test_fault_keepalive_count(void **state)
{
  (void)state;
  char buf[512];
  size_t off;
  int fd = wh_peer_connect(&fault);
  assert_true(fd >= 0);
  for (int i = 1; i <= 3; i++) {
    send_str(fd, "GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
    size_t n = recv_response(fd, buf, sizeof(buf), &off);
    assert_int_equal(n - off, 1);
    assert_int_equal(buf[off], '0' + i);
  }
  /* HEAD: the same head, no body, and the connection stays usable. */
  send_str(fd, "HEAD /ok?n=7 HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
  static const char want[] =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Request-Count: 5\r\n"
      "Content-Length: 1\r\n\r\n5";
  size_t n = 0;
  while (n < sizeof(want) - 1) {
    ssize_t r = recv(fd, buf + n, sizeof(want) - 1 - n, 0);
    assert_true(r > 0);
    n += (size_t)r;
  }
  assert_memory_equal(buf, want, n);
  close(fd);

  /* A new connection counts from 1 again. */
  fd = wh_peer_connect(&fault);
  send_str(fd, "GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_int_equal(n - off, 1);
  assert_int_equal(buf[off], '1');
  close(fd);
}

static void test_fault_chunked_exact_bytes(void **state)
{
  (void)state;
  char buf[512];
  int err;
  size_t n = exchange(wh_peer_port(&fault),
                      "GET /chunked?n=10&chunks=3&trailer=1 HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\n\r\n",
                      buf, sizeof(buf), &err);
  static const char want[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Transfer-Encoding: chunked\r\nTrailer: X-Trailer, X-Checksum\r\n\r\n"
                             "3\r\nabc\r\n3\r\ndef\r\n4\r\nghij\r\n0\r\n"
                             "X-Trailer: yes\r\nX-Checksum: 10\r\n\r\n";
  assert_int_equal(err, 0);
  assert_int_equal(n, sizeof(want) - 1);
  assert_memory_equal(buf, want, n);
}

struct fixed_case {
  const char *path;
  const char *want;
  size_t want_len;
};

/* Scenarios that send fixed bytes and close. */
static void test_fault_fixed_misbehaviours(void **state)
{
  (void)state;
  static const struct fixed_case cases[] = {
      {"status-bad-code", LIT("HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nok")},
      {"status-bad-proto", LIT("HTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")},
      {"status-empty", LIT("\r\n\r\n")},
      {"http09", LIT("<html><body>HTTP/0.9 style reply</body></html>\n")},
      {"hdr-no-colon", LIT("HTTP/1.1 200 OK\r\nX-Bad header line\r\nContent-Length: 2\r\n\r\nok")},
      {"hdr-nul", LIT("HTTP/1.1 200 OK\r\nX-Nul: a\0b\r\nContent-Length: 2\r\n\r\nok")},
      {"hdr-obs-fold",
       LIT("HTTP/1.1 200 OK\r\nX-Fold: a\r\n  continued\r\nContent-Length: 2\r\n\r\nok")},
      {"cl-conflict",
       LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")},
      {"cl-te", LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n0\r\n\r\n")},
      {"chunk-bad-hex", LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "zz\r\nhello\r\n0\r\n\r\n")},
      {"chunk-no-crlf", LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhelloXX0\r\n\r\n")},
      {"trunc-headers", LIT("HTTP/1.1 200 OK\r\nContent-Len")},
      {"trunc-cl?n=10", LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde")},
      {"close-no-response", LIT("")},
      {"cl-overflow?v=18446744073709551616",
       LIT("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\nhello")},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char req[256], buf[1024];
    int err;
    snprintf(req, sizeof(req), "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", cases[i].path);
    size_t n = exchange(wh_peer_port(&fault), req, buf, sizeof(buf), &err);
    if (n != cases[i].want_len || memcmp(buf, cases[i].want, n) != 0 || err != 0)
      fail_msg("scenario %s: got %zu bytes, error %d", cases[i].path, n, err);
  }
  /* garbage: 512 bytes, no status line */
  char buf[1024];
  int err;
  size_t n = exchange(wh_peer_port(&fault), "GET /garbage HTTP/1.1\r\nHost: x\r\n\r\n", buf,
                      sizeof(buf), &err);
  assert_int_equal(n, 512);
  assert_int_equal(err, 0);
  assert_true(memcmp(buf, "HTTP/", 5) != 0);
}

static void test_fault_resets(void **state)
{
  (void)state;
  static const struct {
    const char *path;
    const char *prefix;
  } cases[] = {
      {"reset-before", ""},
      {"reset-headers", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Partial"},
      {"reset-body", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabcdefghij"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char req[256], buf[2048];
    int err;
    snprintf(req, sizeof(req), "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", cases[i].path);
    size_t n = exchange(wh_peer_port(&fault), req, buf, sizeof(buf), &err);
    /* An RST, not a FIN. Data that arrived before it may be read first. */
    if (err != ECONNRESET)
      fail_msg("scenario %s: error %d, not ECONNRESET", cases[i].path, err);
    size_t k = strlen(cases[i].prefix);
    if (n >= k)
      assert_memory_equal(buf, cases[i].prefix, k);
  }
}

static void test_fault_stall_headers(void **state)
{
  (void)state;
  char buf[256];
  int fd = wh_peer_connect(&fault);
  assert_true(fd >= 0);
  send_str(fd, "GET /stall-headers HTTP/1.1\r\nHost: x\r\n\r\n");
  static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  size_t n = 0;
  while (n < sizeof(head) - 1) {
    ssize_t r = recv(fd, buf + n, sizeof(head) - 1 - n, 0);
    assert_true(r > 0);
    n += (size_t)r;
  }
  assert_memory_equal(buf, head, n);
  /* Nothing more comes (checked for a short while) and the server keeps the
   * connection open. */
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 100), 0);
  close(fd);
}

static void test_fault_echo_expect_continue(void **state)
{
  (void)state;
  char buf[2048];
  size_t off;
  int fd = wh_peer_connect(&fault);
  assert_true(fd >= 0);
  static const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                             "Expect: 100-continue\r\n\r\n";
  send_str(fd, head);
  /* The interim response comes before the body is sent. */
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  size_t n = 0;
  while (n < sizeof(cont) - 1) {
    ssize_t r = recv(fd, buf + n, sizeof(cont) - 1 - n, 0);
    assert_true(r > 0);
    n += (size_t)r;
  }
  assert_memory_equal(buf, cont, n);
  send_str(fd, "hello");
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_non_null(find_mem(buf, off, "X-Echo-Framing: length\r\n"));
  assert_non_null(find_mem(buf, off, "X-Echo-Body-Length: 5\r\n"));
  assert_int_equal(n - off, sizeof(head) - 1 + 5);
  assert_memory_equal(buf + off, head, sizeof(head) - 1);
  assert_memory_equal(buf + off + sizeof(head) - 1, "hello", 5);

  /* A chunked upload on the same connection is echoed with its framing. */
  static const char up[] = "PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  send_str(fd, up);
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_non_null(find_mem(buf, off, "X-Echo-Framing: chunked\r\n"));
  assert_non_null(find_mem(buf, off, "X-Echo-Body-Length: 5\r\n"));
  assert_int_equal(n - off, sizeof(up) - 1);
  assert_memory_equal(buf + off, up, n - off);
  close(fd);
}

static void test_fault_1xx_flood_and_redirect(void **state)
{
  (void)state;
  char buf[1024];
  int err;
  size_t n = exchange(wh_peer_port(&fault),
                      "GET /1xx-flood?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                      buf, sizeof(buf), &err);
  static const char flood[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
                              "HTTP/1.1 100 Continue\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  assert_int_equal(n, sizeof(flood) - 1);
  assert_memory_equal(buf, flood, n);

  n = exchange(wh_peer_port(&fault),
               "GET /307?to=/echo&abs=1 HTTP/1.1\r\nHost: h.test:81\r\nConnection: close\r\n\r\n",
               buf, sizeof(buf), &err);
  static const char redir[] = "HTTP/1.1 307 Redirect\r\nLocation: http://h.test:81/echo\r\n";
  assert_true(n > sizeof(redir));
  assert_memory_equal(buf, redir, sizeof(redir) - 1);
}

static void test_fault_auth(void **state)
{
  (void)state;
  char buf[2048];
  size_t off;
  int fd = wh_peer_connect(&fault);
  assert_true(fd >= 0);
  send_str(fd, "GET /auth HTTP/1.1\r\nHost: x\r\n\r\n");
  recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 401 ", 13);
  assert_non_null(find_mem(buf, off, "WWW-Authenticate: Basic realm=\"openwinhttp\"\r\n"));
  assert_non_null(find_mem(buf, off, "WWW-Authenticate: Digest realm="));
  assert_non_null(find_mem(buf, off, "WWW-Authenticate: NTLM\r\n"));
  assert_non_null(find_mem(buf, off, "WWW-Authenticate: Negotiate\r\n"));
  send_str(fd, "GET /auth HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n");
  size_t n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n", 17);
  assert_int_equal(n - off, 10);
  assert_memory_equal(buf + off, "authorized", 10);
  send_str(fd, "GET /proxy-auth?schemes=basic HTTP/1.1\r\nHost: x\r\n\r\n");
  recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 407 ", 13);
  assert_non_null(find_mem(buf, off, "Proxy-Authenticate: Basic realm=\"openwinhttp\"\r\n"));
  close(fd);
}

/* Inflates gzip data; returns the decoded length, checking every byte with
 * |check| (0: zeros, 1: the pattern). */
static size_t gunzip_count(const char *data, size_t len, int check)
{
  z_stream z;
  memset(&z, 0, sizeof(z));
  assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)len;
  static char out[65536];
  size_t total = 0;
  int rc;
  do {
    z.next_out = (Bytef *)out;
    z.avail_out = sizeof(out);
    rc = inflate(&z, Z_NO_FLUSH);
    assert_true(rc == Z_OK || rc == Z_STREAM_END);
    size_t got = sizeof(out) - z.avail_out;
    for (size_t i = 0; i < got; i++)
      assert_int_equal(out[i], check ? (char)('a' + (total + i) % 26) : 0);
    total += got;
  } while (rc != Z_STREAM_END);
  assert_int_equal(z.avail_in, 0);
  inflateEnd(&z);
  return total;
}

static void test_fault_gzip_and_bomb(void **state)
{
  (void)state;
  static char buf[64 * 1024];
  size_t off;
  int fd = wh_peer_connect(&fault);
  assert_true(fd >= 0);
  send_str(fd, "GET /gzip?n=5000 HTTP/1.1\r\nHost: x\r\n\r\n");
  size_t n = recv_response(fd, buf, sizeof(buf), &off);
  assert_non_null(find_mem(buf, off, "Content-Encoding: gzip\r\n"));
  assert_int_equal(gunzip_count(buf + off, n - off, 1), 5000);

  /* 8 MiB of zeros from about 8 KiB on the wire, chunked. */
  send_str(fd, "GET /bomb?mb=8 HTTP/1.1\r\nHost: x\r\n\r\n");
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_true(n - off < 16 * 1024);
  size_t body = dechunk(buf + off, n - off);
  assert_int_equal(gunzip_count(buf + off, body, 0), 8u * 1024 * 1024);
  close(fd);
}

static void test_fault_ipv6(void **state)
{
  (void)state;
  if (!fault.ipv6)
    skip();
  char buf[256];
  int fd = wh_peer_connect_port(wh_peer_port(&fault), 1);
  assert_true(fd >= 0);
  send_str(fd, "GET /ok?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  int err;
  size_t n = recv_all(fd, buf, sizeof(buf), &err);
  assert_true(n > 3);
  assert_memory_equal(buf + n - 3, "abc", 3);
  close(fd);
}

static void test_fault_drip(void **state)
{
  (void)state;
  char buf[256];
  int fd = wh_peer_connect(&fault);
  assert_true(fd >= 0);
  send_str(fd, "GET /drip?ms=1&n=4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t n = 0;
  int reads = 0;
  for (;;) {
    ssize_t r = recv(fd, buf + n, sizeof(buf) - n, 0);
    assert_true(r >= 0);
    if (r == 0)
      break;
    reads++;
    n += (size_t)r;
  }
  static const char want[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd";
  assert_int_equal(n, sizeof(want) - 1);
  assert_memory_equal(buf, want, n);
  assert_true(reads > 1); /* it really came in pieces */
  close(fd);
}

static void test_peer_stop_cleans_up(void **state)
{
  (void)state;
  struct wh_peer p;
  assert_int_equal(wh_peer_start_fault(&p), 0);
  unsigned short port = wh_peer_port(&p);
  char dir[sizeof(p.dir)];
  strcpy(dir, wh_peer_dir(&p));
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  wh_peer_stop(&p);
  assert_int_not_equal(stat(dir, &st), 0);
  assert_int_equal(errno, ENOENT);
  assert_int_equal(wh_peer_connect_port(port, 0), -1);
  assert_int_equal(errno, ECONNREFUSED);
  wh_peer_stop(&p); /* idempotent */
  struct wh_peer zero;
  memset(&zero, 0, sizeof(zero));
  wh_peer_stop(&zero);
}

/* --- TLS ---------------------------------------------------------------------------- */

/* A TLS client connection to 127.0.0.1:port verifying "localhost" against
 * |ca|; NULL when the handshake fails, with the verification result in
 * *verify either way. */
static SSL *tls_connect(SSL_CTX *ctx, unsigned short port, const char *alpn, long *verify,
                        int *fd_out)
{
  int fd = wh_peer_connect_port(port, 0);
  assert_true(fd >= 0);
  SSL *ssl = SSL_new(ctx);
  assert_non_null(ssl);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  assert_int_equal(SSL_set1_host(ssl, "localhost"), 1);
  if (alpn)
    SSL_set_alpn_protos(ssl, (const unsigned char *)alpn, (unsigned)strlen(alpn));
  int rc = SSL_connect(ssl);
  *verify = SSL_get_verify_result(ssl);
  if (rc != 1) {
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    return NULL;
  }
  *fd_out = fd;
  return ssl;
}

static void tls_close(SSL *ssl, int fd)
{
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
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

/* Writes |req| and reads until the connection closes. */
static size_t tls_exchange(SSL *ssl, const char *req, char *buf, size_t cap)
{
  assert_int_equal(SSL_write(ssl, req, (int)strlen(req)), (int)strlen(req));
  size_t n = 0;
  for (;;) {
    assert_true(n < cap);
    int r = SSL_read(ssl, buf + n, (int)(cap - n > INT32_MAX ? INT32_MAX : cap - n));
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  return n;
}

static void test_fault_tls(void **state)
{
  (void)state;
  struct wh_peer p;
  assert_int_equal(wh_peer_start_fault_tls(&p, WH_CERT_GOOD), 0);
  assert_int_equal(wh_peer_cert_port(&p, WH_CERT_GOOD), wh_peer_port(&p));
  SSL_CTX *ctx = client_ctx(wh_peer_ca_file(&p));
  long verify;
  int fd;
  SSL *ssl = tls_connect(ctx, wh_peer_port(&p), NULL, &verify, &fd);
  assert_non_null(ssl);
  assert_int_equal(verify, X509_V_OK);
  char buf[512];
  size_t n = tls_exchange(ssl, "GET /ok?n=5 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                          buf, sizeof(buf));
  static const char want[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 5\r\n\r\nabcde";
  assert_int_equal(n, sizeof(want) - 1);
  assert_memory_equal(buf, want, n);
  tls_close(ssl, fd);
  SSL_CTX_free(ctx);
  wh_peer_stop(&p);
}

/* Reads exactly |n| bytes over |ssl|. */
static void tls_read_exact(SSL *ssl, unsigned char *buf, size_t n)
{
  size_t got = 0;
  while (got < n) {
    int r = SSL_read(ssl, buf + got, (int)(n - got));
    assert_true(r > 0);
    got += (size_t)r;
  }
}

/* The HTTP/2 server (wh_peer_start_h2): TLS with the good certificate;
 * with ALPN "h2" its first frame is its SETTINGS, carrying the
 * MAX_CONCURRENT_STREAMS given by the extra arguments; with ALPN
 * "http/1.1" it answers HTTP/1.1 505 and closes. */
static void test_h2_peer(void **state)
{
  (void)state;
  struct wh_peer p;
  assert_int_equal(wh_peer_start_h2(&p, "--max-streams 4"), 0);
  assert_int_equal(p.kind, WH_PEER_H2);
  assert_true(p.tls);
  assert_int_equal(wh_peer_cert_port(&p, WH_CERT_GOOD), wh_peer_port(&p));
  SSL_CTX *ctx = client_ctx(wh_peer_ca_file(&p));
  long verify;
  int fd;
  SSL *ssl = tls_connect(ctx, wh_peer_port(&p), "\x02h2", &verify, &fd);
  assert_non_null(ssl);
  assert_int_equal(verify, X509_V_OK);
  const unsigned char *alpn = NULL;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  assert_int_equal(alpn_len, 2);
  assert_memory_equal(alpn, "h2", 2);
  unsigned char head[9], payload[256];
  tls_read_exact(ssl, head, sizeof(head));
  size_t len = (size_t)head[0] << 16 | (size_t)head[1] << 8 | head[2];
  assert_int_equal(head[3], 4); /* SETTINGS */
  assert_int_equal(head[4], 0); /* not an ACK */
  assert_memory_equal(head + 5, "\0\0\0\0", 4);
  assert_true(len % 6 == 0 && len <= sizeof(payload));
  tls_read_exact(ssl, payload, len);
  int found = 0;
  for (size_t i = 0; i < len; i += 6) {
    unsigned id = (unsigned)payload[i] << 8 | payload[i + 1];
    uint32_t v = (uint32_t)payload[i + 2] << 24 | (uint32_t)payload[i + 3] << 16 |
                 (uint32_t)payload[i + 4] << 8 | payload[i + 5];
    if (id == 3) {
      assert_int_equal(v, 4);
      found = 1;
    }
  }
  assert_true(found);
  tls_close(ssl, fd);

  ssl = tls_connect(ctx, wh_peer_port(&p), "\x08http/1.1", &verify, &fd);
  assert_non_null(ssl);
  char buf[512];
  size_t n = tls_exchange(ssl, "GET /ok HTTP/1.1\r\nHost: localhost\r\n\r\n", buf, sizeof(buf));
  static const char want[] = "HTTP/1.1 505 HTTP Version Not Supported\r\n";
  assert_true(n > sizeof(want) - 1);
  assert_memory_equal(buf, want, sizeof(want) - 1);
  tls_close(ssl, fd);
  SSL_CTX_free(ctx);

  char dir[sizeof(p.dir)];
  strcpy(dir, wh_peer_dir(&p));
  unsigned short port = wh_peer_port(&p);
  wh_peer_stop(&p);
  struct stat st;
  assert_int_not_equal(stat(dir, &st), 0);
  assert_int_equal(wh_peer_connect_port(port, 0), -1);
}

/* --- nginx ------------------------------------------------------------------------- */

static int nginx_setup(void **state)
{
  (void)state;
  return wh_peer_start_nginx(&nginx, 1) == 0 ? 0 : -1;
}

static int nginx_teardown(void **state)
{
  (void)state;
  wh_peer_stop(&nginx);
  return 0;
}

static void test_nginx_http_keepalive(void **state)
{
  (void)state;
  static char buf[1200 * 1024];
  size_t off;
  int fd = wh_peer_connect_port(nginx.http_port, 0);
  assert_true(fd >= 0);
  send_str(fd, "GET /100.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
  size_t n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n", 17);
  assert_int_equal(n - off, 100);
  assert_true(is_pattern(buf + off, 100, 0));
  /* The same connection serves a 1 MiB file next. */
  send_str(fd, "GET /1m.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n", 17);
  assert_int_equal(n - off, 1024 * 1024);
  assert_true(is_pattern(buf + off, 1024 * 1024, 0));
  /* Redirects, relative. */
  send_str(fd, "GET /redirect HTTP/1.1\r\nHost: localhost\r\n\r\n");
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 301 Moved Permanently\r\n", 32);
  assert_non_null(find_mem(buf, off, "\r\nLocation: /100.bin\r\n"));
  /* gzip makes the text chunked. */
  send_str(fd, "GET /text.txt HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n");
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n", 17);
  assert_non_null(find_mem(buf, off, "\r\nContent-Encoding: gzip\r\n"));
  assert_non_null(find_mem(buf, off, "\r\nTransfer-Encoding: chunked\r\n"));
  /* Cookies. */
  send_str(fd, "GET /cookie HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_non_null(find_mem(buf, off, "\r\nSet-Cookie: nginx=1; Path=/\r\n"));
  close(fd);

  if (nginx.ipv6) {
    fd = wh_peer_connect_port(nginx.http_port, 1);
    assert_true(fd >= 0);
    send_str(fd, "GET /100.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
    n = recv_response(fd, buf, sizeof(buf), &off);
    assert_int_equal(n - off, 100);
    close(fd);
  }
}

static void test_nginx_https_good(void **state)
{
  (void)state;
  assert_int_equal(wh_peer_port(&nginx), wh_peer_cert_port(&nginx, WH_CERT_GOOD));
  SSL_CTX *ctx = client_ctx(wh_peer_ca_file(&nginx));
  long verify;
  int fd;
  SSL *ssl = tls_connect(ctx, wh_peer_port(&nginx), "\x08http/1.1", &verify, &fd);
  assert_non_null(ssl);
  assert_int_equal(verify, X509_V_OK);
  static char buf[1200 * 1024];
  size_t n = tls_exchange(ssl, "GET /1m.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                          buf, sizeof(buf));
  const char *end = find_mem(buf, n, "\r\n\r\n");
  assert_non_null(end);
  size_t off = (size_t)(end - buf) + 4;
  assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n", 17);
  assert_int_equal(n - off, 1024 * 1024);
  assert_true(is_pattern(buf + off, n - off, 0));
  tls_close(ssl, fd);

  /* HTTP/2 is offered on its own port. */
  ssl = tls_connect(ctx, nginx.h2_port, "\x02h2\x08http/1.1", &verify, &fd);
  assert_non_null(ssl);
  const unsigned char *proto;
  unsigned proto_len;
  SSL_get0_alpn_selected(ssl, &proto, &proto_len);
  assert_int_equal(proto_len, 2);
  assert_memory_equal(proto, "h2", 2);
  tls_close(ssl, fd);
  SSL_CTX_free(ctx);
}

static void test_nginx_https_bad_certs(void **state)
{
  (void)state;
  static const struct {
    enum wh_peer_cert cert;
    long verify;
  } cases[] = {
      {WH_CERT_EXPIRED, X509_V_ERR_CERT_HAS_EXPIRED},
      {WH_CERT_WRONG_HOST, X509_V_ERR_HOSTNAME_MISMATCH},
      {WH_CERT_SELF_SIGNED, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
      {WH_CERT_UNKNOWN_CA, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
  };
  SSL_CTX *ctx = client_ctx(wh_peer_ca_file(&nginx));
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    unsigned short port = wh_peer_cert_port(&nginx, cases[i].cert);
    assert_int_not_equal(port, 0);
    long verify;
    int fd;
    SSL *ssl = tls_connect(ctx, port, NULL, &verify, &fd);
    if (ssl)
      fail_msg("certificate %d was accepted", (int)cases[i].cert);
    if (verify != cases[i].verify)
      fail_msg("certificate %d: verify result %ld, want %ld", (int)cases[i].cert, verify,
               cases[i].verify);
  }
  SSL_CTX_free(ctx);
}

static void test_nginx_plain_only(void **state)
{
  (void)state;
  struct wh_peer p;
  assert_int_equal(wh_peer_start_nginx(&p, 0), 0);
  assert_int_equal(wh_peer_port(&p), p.http_port);
  assert_null(wh_peer_ca_file(&p));
  assert_int_equal(wh_peer_cert_port(&p, WH_CERT_GOOD), 0);
  char buf[512];
  int err;
  size_t n = exchange(wh_peer_port(&p),
                      "GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf,
                      sizeof(buf), &err);
  assert_true(n > 30);
  assert_memory_equal(buf, "HTTP/1.1 404 Not Found\r\n", 24);
  unsigned short port = wh_peer_port(&p);
  wh_peer_stop(&p);
  assert_int_equal(wh_peer_connect_port(port, 0), -1);
}

/* --- the proxies ------------------------------------------------------------------ */

static struct wh_peer origin; /* the fault server behind the proxies */

static int proxy_setup(void **state)
{
  (void)state;
  return wh_peer_start_fault(&origin) == 0 ? 0 : -1;
}

static int proxy_teardown(void **state)
{
  (void)state;
  wh_peer_stop(&origin);
  return 0;
}

/* Sends CONNECT for the origin on |fd|. */
static void send_connect(int fd, unsigned short port)
{
  char req[160];
  snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%u HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", port,
           port);
  send_str(fd, req);
}

/* Absolute-form requests are forwarded (keep-alive on both sides: the
 * origin's /count says the upstream connection is reused) and reported. */
static void test_proxy_forward_and_report(void **state)
{
  (void)state;
  struct wh_peer px;
  assert_int_equal(wh_peer_start_proxy(&px, NULL), 0);
  assert_int_equal(px.kind, WH_PEER_PROXY);
  char report[2048];
  assert_int_equal(wh_peer_proxy_report(&px, report, sizeof(report)), 0);
  unsigned short op = wh_peer_port(&origin);
  char req[256], buf[1024];
  size_t off;
  int fd = wh_peer_connect(&px);
  assert_true(fd >= 0);
  snprintf(req, sizeof(req),
           "GET http://127.0.0.1:%u/ok?n=30 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
           "Proxy-Connection: keep-alive\r\n\r\n",
           op, op);
  send_str(fd, req);
  size_t n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n", 17);
  assert_int_equal(n - off, 30);
  assert_true(is_pattern(buf + off, 30, 0));
  snprintf(req, sizeof(req),
           "GET http://127.0.0.1:%u/chunked?n=50 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", op, op);
  send_str(fd, req);
  n = recv_response(fd, buf, sizeof(buf) - 1, &off);
  assert_non_null(find_mem(buf, off, "\r\nTransfer-Encoding: chunked\r\n"));
  assert_int_equal(dechunk(buf + off, n - off), 50);
  assert_true(is_pattern(buf + off, 50, 0));
  snprintf(req, sizeof(req), "GET http://127.0.0.1:%u/count HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
           op, op);
  send_str(fd, req);
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_int_equal(n - off, 1);
  assert_memory_equal(buf + off, "3", 1); /* one upstream connection */
  close(fd);

  int len = wh_peer_proxy_report(&px, report, sizeof(report));
  char want[512];
  snprintf(want, sizeof(want),
           "conn=1 GET http://127.0.0.1:%u/ok?n=30 HTTP/1.1 host=127.0.0.1:%u\n"
           "conn=1 GET http://127.0.0.1:%u/chunked?n=50 HTTP/1.1 host=127.0.0.1:%u\n"
           "conn=1 GET http://127.0.0.1:%u/count HTTP/1.1 host=127.0.0.1:%u\n",
           op, op, op, op, op, op);
  assert_int_equal(len, (int)strlen(want));
  assert_string_equal(report, want);

  /* An origin that refuses: 502 from the proxy; a new connection is
   * numbered 2. */
  fd = wh_peer_connect(&px);
  assert_true(fd >= 0);
  send_str(fd, "GET http://127.0.0.1:1/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 502 ", 13);
  close(fd);
  assert_true(wh_peer_proxy_report(&px, report, sizeof(report)) > 0);
  assert_non_null(strstr(report, "\nconn=2 GET http://127.0.0.1:1/x HTTP/1.1 host=127.0.0.1:1\n"));
  wh_peer_stop(&px);
}

/* CONNECT opens a tunnel to the origin. */
static void test_proxy_connect_tunnel(void **state)
{
  (void)state;
  struct wh_peer px;
  assert_int_equal(wh_peer_start_proxy(&px, NULL), 0);
  int fd = wh_peer_connect(&px);
  assert_true(fd >= 0);
  send_connect(fd, wh_peer_port(&origin));
  static const char est[] = "HTTP/1.1 200 Connection established\r\n\r\n";
  char buf[512];
  size_t got = 0;
  while (got < sizeof(est) - 1) {
    ssize_t r = recv(fd, buf + got, sizeof(est) - 1 - got, 0);
    assert_true(r > 0);
    got += (size_t)r;
  }
  assert_memory_equal(buf, est, sizeof(est) - 1);
  send_str(fd, "GET /ok?n=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  int err;
  size_t n = recv_all(fd, buf, sizeof(buf), &err);
  close(fd);
  static const char want[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 5\r\n\r\nabcde";
  assert_int_equal(err, 0);
  assert_int_equal(n, sizeof(want) - 1);
  assert_memory_equal(buf, want, n);
  char report[512], line[200];
  assert_true(wh_peer_proxy_report(&px, report, sizeof(report)) > 0);
  snprintf(line, sizeof(line), "conn=1 CONNECT 127.0.0.1:%u HTTP/1.1 host=127.0.0.1:%u\n",
           wh_peer_port(&origin), wh_peer_port(&origin));
  assert_string_equal(report, line);
  wh_peer_stop(&px);
}

/* The failing CONNECT modes, byte for byte. */
static void test_proxy_connect_modes(void **state)
{
  (void)state;
  unsigned short op = wh_peer_port(&origin);
  char buf[1024], report[512];
  size_t off;
  int err;
  struct wh_peer px;

  /* 407: an answer with a body, and the connection stays open. */
  assert_int_equal(wh_peer_start_proxy(&px, "--connect-answer 407"), 0);
  int fd = wh_peer_connect(&px);
  assert_true(fd >= 0);
  send_connect(fd, op);
  size_t n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 407 Proxy Authentication Required\r\n", 44);
  assert_non_null(find_mem(buf, off, "\r\nProxy-Authenticate: Basic realm=\"test\"\r\n"));
  assert_int_equal(n - off, 14);
  assert_memory_equal(buf + off, "proxy says 407", 14);
  send_connect(fd, op);
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 407 ", 13);
  close(fd);
  assert_true(wh_peer_proxy_report(&px, report, sizeof(report)) > 0);
  assert_non_null(strstr(report, "conn=1 CONNECT"));
  assert_null(strstr(report, "conn=2"));
  wh_peer_stop(&px);

  /* 403 */
  assert_int_equal(wh_peer_start_proxy(&px, "--connect-answer 403"), 0);
  fd = wh_peer_connect(&px);
  assert_true(fd >= 0);
  send_connect(fd, op);
  n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 403 Forbidden\r\n", 24);
  assert_null(find_mem(buf, off, "Proxy-Authenticate"));
  assert_int_equal(n - off, 14);
  assert_memory_equal(buf + off, "proxy says 403", 14);
  close(fd);
  wh_peer_stop(&px);

  /* garbage, then end of file */
  assert_int_equal(wh_peer_start_proxy(&px, "--connect-garbage"), 0);
  fd = wh_peer_connect(&px);
  assert_true(fd >= 0);
  send_connect(fd, op);
  n = recv_all(fd, buf, sizeof(buf), &err);
  assert_int_equal(err, 0);
  assert_int_equal(n, 11);
  assert_memory_equal(buf, "garbage\r\n\r\n", 11);
  close(fd);
  wh_peer_stop(&px);

  /* close: end of file without a byte */
  assert_int_equal(wh_peer_start_proxy(&px, "--connect-close"), 0);
  fd = wh_peer_connect(&px);
  assert_true(fd >= 0);
  send_connect(fd, op);
  n = recv_all(fd, buf, sizeof(buf), &err);
  assert_int_equal(n, 0);
  close(fd);
  assert_true(wh_peer_proxy_report(&px, report, sizeof(report)) > 0);
  assert_non_null(strstr(report, "conn=1 CONNECT 127.0.0.1:"));
  wh_peer_stop(&px);

  /* stall: once the report shows the CONNECT arrived, nothing has come
   * back and the connection is open. A wait for what never comes ends with
   * "timeout=1". */
  assert_int_equal(wh_peer_start_proxy(&px, "--connect-stall"), 0);
  fd = wh_peer_connect(&px);
  assert_true(fd >= 0);
  send_connect(fd, op);
  assert_true(wh_peer_proxy_report_wait(&px, "conn=1 CONNECT", report, sizeof(report)) > 0);
  assert_null(strstr(report, "timeout=1"));
  assert_non_null(strstr(report, "conn=1 CONNECT"));
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 0), 0);
  close(fd);
  assert_true(wh_peer_proxy_report_wait(&px, "conn=2", report, sizeof(report)) > 0);
  assert_non_null(strstr(report, "\ntimeout=1\n"));
  wh_peer_stop(&px);
}

/* tinyproxy forwards and tunnels too (to any port: no ConnectPort), and
 * stops without leaving its directory behind. */
static void test_tinyproxy(void **state)
{
  (void)state;
  struct wh_peer tp;
  assert_int_equal(wh_peer_start_tinyproxy(&tp), 0);
  assert_int_equal(tp.kind, WH_PEER_TINYPROXY);
  unsigned short op = wh_peer_port(&origin);
  char req[256], buf[1024];
  size_t off;
  int fd = wh_peer_connect(&tp);
  assert_true(fd >= 0);
  snprintf(req, sizeof(req),
           "GET http://127.0.0.1:%u/ok?n=30 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", op, op);
  send_str(fd, req);
  size_t n = recv_response(fd, buf, sizeof(buf), &off);
  assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n", 17);
  assert_int_equal(n - off, 30);
  assert_true(is_pattern(buf + off, 30, 0));
  close(fd);

  fd = wh_peer_connect(&tp);
  assert_true(fd >= 0);
  send_connect(fd, op);
  /* tinyproxy's answer has headers: read up to the empty line, byte by
   * byte so that nothing of the tunnel is consumed. */
  size_t got = 0;
  while (!find_mem(buf, got, "\r\n\r\n")) {
    assert_true(got < sizeof(buf));
    ssize_t r = recv(fd, buf + got, 1, 0);
    assert_true(r > 0);
    got += (size_t)r;
  }
  assert_memory_equal(buf, "HTTP/1.", 7);
  assert_memory_equal(buf + 8, " 200 ", 5);
  send_str(fd, "GET /ok?n=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  int err;
  n = recv_all(fd, buf, sizeof(buf), &err);
  close(fd);
  static const char want[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 5\r\n\r\nabcde";
  assert_int_equal(n, sizeof(want) - 1);
  assert_memory_equal(buf, want, n);

  char dir[sizeof(tp.dir)];
  strcpy(dir, wh_peer_dir(&tp));
  unsigned short port = wh_peer_port(&tp);
  wh_peer_stop(&tp);
  struct stat st;
  assert_int_not_equal(stat(dir, &st), 0);
  assert_int_equal(wh_peer_connect_port(port, 0), -1);
}

int main(void)
{
  const struct CMUnitTest fault_tests[] = {
      cmocka_unit_test(test_fault_ok_exact_bytes),
      cmocka_unit_test(test_fault_keepalive_count),
      cmocka_unit_test(test_fault_chunked_exact_bytes),
      cmocka_unit_test(test_fault_fixed_misbehaviours),
      cmocka_unit_test(test_fault_resets),
      cmocka_unit_test(test_fault_stall_headers),
      cmocka_unit_test(test_fault_echo_expect_continue),
      cmocka_unit_test(test_fault_1xx_flood_and_redirect),
      cmocka_unit_test(test_fault_auth),
      cmocka_unit_test(test_fault_gzip_and_bomb),
      cmocka_unit_test(test_fault_ipv6),
      cmocka_unit_test(test_fault_drip),
  };
  const struct CMUnitTest own_tests[] = {
      cmocka_unit_test(test_peer_stop_cleans_up),
      cmocka_unit_test(test_fault_tls),
      cmocka_unit_test(test_h2_peer),
      cmocka_unit_test(test_nginx_plain_only),
  };
  const struct CMUnitTest nginx_tests[] = {
      cmocka_unit_test(test_nginx_http_keepalive),
      cmocka_unit_test(test_nginx_https_good),
      cmocka_unit_test(test_nginx_https_bad_certs),
  };
  const struct CMUnitTest proxy_tests[] = {
      cmocka_unit_test(test_proxy_forward_and_report),
      cmocka_unit_test(test_proxy_connect_tunnel),
      cmocka_unit_test(test_proxy_connect_modes),
      cmocka_unit_test(test_tinyproxy),
  };
  int failed = cmocka_run_group_tests_name("fault", fault_tests, fault_setup, fault_teardown);
  failed += cmocka_run_group_tests_name("nginx", nginx_tests, nginx_setup, nginx_teardown);
  failed += cmocka_run_group_tests_name("lifecycle", own_tests, NULL, NULL);
  failed += cmocka_run_group_tests_name("proxy", proxy_tests, proxy_setup, proxy_teardown);
  return failed;
}
