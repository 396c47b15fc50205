/* bench_raw's transport: a blocking socket, and OpenSSL's defaults over it
 * for HTTPS. Deliberately nothing tuned beyond what libcurl also sets
 * (TCP_NODELAY): the raw client stands for the least a client must do, not
 * for a different TLS configuration. */
#define _POSIX_C_SOURCE 200809L
#include "bench_raw_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct raw_conn {
  int fd;
  int cancel_fd; /* raw_set_cancellable: an eventfd polled with the socket, else -1 */
  SSL_CTX *ctx; /* NULL over plain HTTP */
  SSL *ssl;
};

static _Noreturn void fail(const char *what)
{
  fprintf(stderr, "bench_raw: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(1);
}

static _Noreturn void fail_tls(const char *what)
{
  fprintf(stderr, "bench_raw: %s failed:\n", what);
  ERR_print_errors_fp(stderr);
  exit(1);
}

static int tcp_connect(const char *host, unsigned port)
{
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((unsigned short)port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((unsigned short)port);
    len = sizeof(*v6);
  } else {
    errno = 0;
    fail("--host must be a numeric address (no resolver in the limit client)");
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail("socket");
  if (connect(fd, (struct sockaddr *)&ss, len) != 0)
    fail("connect");
  /* As libcurl and WinHTTP do: a request must not wait for an ACK. */
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
    fail("TCP_NODELAY");
  return fd;
}

static void tls_start(struct raw_conn *c, const char *host, const char *cafile)
{
  c->ctx = SSL_CTX_new(TLS_client_method());
  if (!c->ctx)
    fail_tls("SSL_CTX_new");
  /* The same trust as the other clients: the bench's CA, chain and name
   * (here the address) verified. */
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
  if (cafile ? SSL_CTX_load_verify_locations(c->ctx, cafile, NULL) != 1
             : SSL_CTX_set_default_verify_paths(c->ctx) != 1)
    fail_tls("loading the CA");
  c->ssl = SSL_new(c->ctx);
  if (!c->ssl)
    fail_tls("SSL_new");
  unsigned char addr[16];
  int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
  if (is_ip) {
    /* An address is checked against the certificate's IP entries, and
     * is not sent as SNI (RFC 6066 §3), as libcurl does. */
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) != 1)
      fail_tls("X509_VERIFY_PARAM_set1_ip_asc");
  } else if (SSL_set1_host(c->ssl, host) != 1 || SSL_set_tlsext_host_name(c->ssl, host) != 1) {
    fail_tls("SSL_set1_host");
  }
  if (SSL_set_fd(c->ssl, c->fd) != 1)
    fail_tls("SSL_set_fd");
  if (SSL_connect(c->ssl) != 1)
    fail_tls("the TLS handshake");
}

struct raw_conn *raw_connect(const char *host, unsigned port, int secure, const char *cafile)
{
  struct raw_conn *c = calloc(1, sizeof(*c));
  if (!c)
    fail("calloc");
  c->fd = tcp_connect(host, port);
  c->cancel_fd = -1;
  if (secure)
    tls_start(c, host, cafile);
  return c;
}

void raw_write_all(struct raw_conn *c, const void *p, size_t n)
{
  const char *at = p;
  while (n > 0) {
    size_t done;
    if (c->ssl) {
      /* Blocking, without SSL_MODE_ENABLE_PARTIAL_WRITE: all or an error. */
      if (SSL_write_ex(c->ssl, at, n, &done) != 1)
        fail_tls("SSL_write");
    } else {
      ssize_t w = write(c->fd, at, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        fail("write");
      done = (size_t)w;
    }
    at += done;
    n -= done;
  }
}

void raw_set_cancellable(struct raw_conn *c)
{
  c->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (c->cancel_fd < 0)
    fail("eventfd");
}

void raw_probe(struct raw_conn *c)
{
  if (c->cancel_fd < 0)
    return;
  char b;
  ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
    fail("kept-alive connection not idle");
}

/* The wait before a read, when cancellable and nothing is buffered. */
static void wait_readable(struct raw_conn *c)
{
  if (c->cancel_fd < 0 || (c->ssl && SSL_pending(c->ssl) > 0))
    return;
  struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = c->cancel_fd, .events = POLLIN}};
  while (poll(p, 2, -1) < 0)
    if (errno != EINTR)
      fail("poll");
  if (p[1].revents)
    fail("cancelled");
}

size_t raw_read(struct raw_conn *c, void *buf, size_t cap)
{
  wait_readable(c);
  if (c->ssl) {
    size_t got = 0;
    if (SSL_read_ex(c->ssl, buf, cap, &got) == 1)
      return got;
    int e = SSL_get_error(c->ssl, 0);
    if (e == SSL_ERROR_ZERO_RETURN)
      return 0;
    fail_tls("SSL_read");
  }
  for (;;) {
    ssize_t r = read(c->fd, buf, cap);
    if (r >= 0)
      return (size_t)r;
    if (errno != EINTR)
      fail("read");
  }
}

void raw_close(struct raw_conn *c)
{
  if (c->ssl) {
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
  }
  close(c->fd);
  if (c->cancel_fd >= 0)
    close(c->cancel_fd);
  free(c);
}
