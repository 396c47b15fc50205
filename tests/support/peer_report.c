/* see peers.h: wh_peer_ws_report, the client of the WebSocket peers'
 * GET /report. A plain socket (and OpenSSL for wss peers), never
 * OpenWinHTTP: a test must be able to ask what its client sent even when
 * that client is broken. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "peers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* The server's whole answer (it closes after it) into |buf|; its length, or
 * -1. */
static long exchange(const struct wh_peer *p, const char *req, char *buf, size_t cap)
{
  int fd = wh_peer_connect(p);
  if (fd < 0) {
    fprintf(stderr, "peers: report: cannot connect to port %u\n", wh_peer_port(p));
    return -1;
  }
  /* The peer may wait up to its ms= (10 s by default) before it answers. */
  struct timeval tv = {.tv_sec = 40};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  SSL_CTX *ctx = NULL;
  SSL *ssl = NULL;
  long len = -1;
  if (p->tls) {
    /* No verification: the test asks its own peer over loopback, whichever
     * certificate (expired, wrong host...) that peer was given. */
    ctx = SSL_CTX_new(TLS_client_method());
    ssl = ctx ? SSL_new(ctx) : NULL;
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
      fprintf(stderr, "peers: report: TLS handshake failed\n");
      goto out;
    }
  }
  size_t req_len = strlen(req);
  if (ssl ? SSL_write(ssl, req, (int)req_len) != (int)req_len
          : send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
    fprintf(stderr, "peers: report: cannot send the request\n");
    goto out;
  }
  size_t n = 0;
  for (;;) {
    if (n + 1 >= cap) {
      fprintf(stderr, "peers: report: answer larger than %zu bytes\n", cap);
      goto out;
    }
    int want = cap - n - 1 > 65536 ? 65536 : (int)(cap - n - 1);
    ssize_t r = ssl ? SSL_read(ssl, buf + n, want) : recv(fd, buf + n, (size_t)want, 0);
    if (r < 0 && !ssl && errno == EINTR)
      continue;
    if (r <= 0)
      break; /* end of the answer (the server closes after it) */
    n += (size_t)r;
  }
  buf[n] = 0;
  len = (long)n;
out:
  if (ssl) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  SSL_CTX_free(ctx);
  ERR_clear_error();
  close(fd);
  return len;
}

int wh_peer_ws_report(const struct wh_peer *p, const char *query, char *buf, size_t cap)
{
  char req[1024];
  int k = snprintf(req, sizeof(req),
                   "GET /report?%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                   query);
  if (k < 0 || (size_t)k >= sizeof(req) || cap == 0) {
    fprintf(stderr, "peers: report: query too long\n");
    return -1;
  }
  long n = exchange(p, req, buf, cap);
  if (n < 0)
    return -1;
  if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0) {
    fprintf(stderr, "peers: report: unexpected answer: %.80s\n", buf);
    return -1;
  }
  const char *body = strstr(buf, "\r\n\r\n");
  if (!body) {
    fprintf(stderr, "peers: report: truncated answer\n");
    return -1;
  }
  body += 4;
  size_t blen = (size_t)(buf + n - body);
  memmove(buf, body, blen + 1);
  return (int)blen;
}
