/* bench_raw: the limit for the sequential HTTP/1.1 rows (issue 12 §1): the
 * least work a client can do for the same GETs as bench_sync, so that a
 * WinHTTP figure can be read against what the machine and nginx allow.
 *
 *   bench_raw --mode get|download --scheme http|https --port N
 *             [--host 127.0.0.1] [--path P] [--seconds S | --requests N]
 *             [--warmup N] [--cafile FILE] [--buffer BYTES] [--expect BYTES]
 *             [--cancellable]
 *
 * One kept-alive connection (bench_raw_io.c: plain, or OpenSSL directly
 * with the bench's CA). Per request: one write of fixed bytes prepared
 * once; reads into one fixed buffer (128 KiB by default, as bench_sync's
 * WinHTTP download) until the head ends, of which only the status line and
 * Content-Length are looked at; then reads until the body's length is in.
 * Every response is checked as the other clients check theirs: status 200
 * and, with --expect, the body length.
 *
 * The timed loop, the warm-up (which opens the connection and does the
 * handshake) and the result line are bench_sync's, with client=raw: the CPU
 * time is this process's own (CLOCK_PROCESS_CPUTIME_ID) over the same timed
 * interval as WinHTTP's and libcurl's, so the per CPU-second columns
 * compare like with like.
 *
 * --cancellable (client=raw-cancellable): the same, plus what a client that
 * pools connections and can be cancelled from another thread must do (a
 * liveness probe before each request, a poll() of the socket and an
 * eventfd before each read; bench_raw_io.h), to split the distance between
 * WinHTTP and the limit into those waits and the rest. Not in run.sh's
 * rounds; docs/PERFORMANCE.md's analysis gives its command. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bench_clock.h"
#include "bench_opts.h"
#include "bench_raw_io.h"

struct options {
  struct bench_opts b; /* bench_opts.h */
  int cancellable;     /* --cancellable: the waits of WinHTTP's design added */
};

struct client {
  struct raw_conn *conn;
  char request[1200]; /* the request's bytes, the same for every GET */
  size_t request_len;
  char *buf;
  size_t cap;
};

static _Noreturn void die(const char *what)
{
  fprintf(stderr, "bench_raw: %s\n", what);
  exit(1);
}

/* Offset just past the "\r\n\r\n" that ends the head, searching from from,
 * or 0 while it has not arrived. */
static size_t head_end(const char *p, size_t n, size_t from)
{
  for (size_t i = from; i + 4 <= n; i++)
    if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
      return i + 4;
  return 0;
}

/* The Content-Length value in the head p[0, n): the only header read. A
 * response without one (chunked, or delimited by close) cannot be a
 * keep-alive answer from nginx's static files, so it stops the run. */
static unsigned long long content_length(const char *p, size_t n)
{
  static const char name[] = "\r\ncontent-length:";
  const size_t len = sizeof(name) - 1;
  for (size_t i = 0; i + len <= n; i++) {
    if (p[i] != '\r' || strncasecmp(p + i, name, len) != 0)
      continue;
    size_t at = i + len;
    while (at < n && (p[at] == ' ' || p[at] == '\t'))
      at++;
    unsigned long long v = 0;
    size_t digits = 0;
    for (; at < n && p[at] >= '0' && p[at] <= '9'; at++, digits++)
      v = v * 10 + (unsigned long long)(p[at] - '0');
    if (digits == 0 || digits > 18)
      die("malformed Content-Length");
    return v;
  }
  die("response without Content-Length");
}

/* One GET on the kept-alive connection; returns the body's length. */
static unsigned long long one_request(struct client *c)
{
  raw_probe(c->conn);
  raw_write_all(c->conn, c->request, c->request_len);
  size_t have = 0, end = 0;
  while (end == 0) {
    if (have == c->cap)
      die("response head larger than the buffer");
    size_t got = raw_read(c->conn, c->buf + have, c->cap - have);
    if (got == 0)
      die("connection closed before the response head ended");
    /* Only the new bytes (and the 3 before them) can complete "\r\n\r\n". */
    end = head_end(c->buf, have + got, have > 3 ? have - 3 : 0);
    have += got;
  }
  static const char ok[] = "HTTP/1.1 200 ";
  if (end < sizeof(ok) - 1 || memcmp(c->buf, ok, sizeof(ok) - 1) != 0)
    die("status is not 200");
  unsigned long long length = content_length(c->buf, end);
  unsigned long long body = have - end;
  if (body > length)
    die("more bytes than Content-Length (nothing else was asked for)");
  while (body < length) {
    unsigned long long left = length - body;
    size_t got = raw_read(c->conn, c->buf, left < c->cap ? (size_t)left : c->cap);
    if (got == 0)
      die("connection closed inside the body");
    body += got;
  }
  return body;
}

static void check_body(const struct options *o, unsigned long long got)
{
  if (o->b.expect >= 0 && got != (unsigned long long)o->b.expect) {
    fprintf(stderr, "bench_raw: body of %llu bytes, expected %lld\n", got, o->b.expect);
    exit(1);
  }
}

static _Noreturn void usage(void)
{
  fputs("usage: bench_raw --mode get|download --scheme http|https --port N\n"
        "                 [--host 127.0.0.1] [--path P] [--seconds S | --requests N]\n"
        "                 [--warmup N] [--cafile FILE] [--buffer BYTES] [--expect BYTES]\n"
        "                 [--cancellable]\n",
        stderr);
  exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
  memset(o, 0, sizeof(*o));
  bench_opts_init(&o->b, 128u * 1024u, 4096);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--cancellable")) {
      o->cancellable = 1;
      continue;
    }
    if (i + 1 >= argc || !bench_opt(&o->b, argv[i], argv[i + 1], usage))
      usage();
    i++;
  }
  bench_opts_finish(&o->b, usage);
}

int main(int argc, char **argv)
{
  struct options o;
  parse(argc, argv, &o);
  struct client c;
  memset(&c, 0, sizeof(c));
  /* The Host header carries the address the others send (RFC 9112 §3.2);
   * nothing else: no header nginx does not need. */
  int n = snprintf(c.request, sizeof(c.request), "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\n\r\n",
                   o.b.path, strchr(o.b.host, ':') ? "[" : "", o.b.host, strchr(o.b.host, ':') ? "]" : "",
                   o.b.port);
  if (n < 0 || (size_t)n >= sizeof(c.request))
    die("path too long");
  c.request_len = (size_t)n;
  c.cap = o.b.buffer;
  c.buf = malloc(c.cap);
  if (!c.buf)
    die("malloc");
  c.conn = raw_connect(o.b.host, o.b.port, o.b.secure, o.b.cafile);
  if (o.cancellable)
    raw_set_cancellable(c.conn);

  for (long i = 0; i < o.b.warmup; i++)
    check_body(&o, one_request(&c));
  long requests = 0;
  unsigned long long bytes = 0;
  double cpu0 = clock_of(CLOCK_PROCESS_CPUTIME_ID), user0 = user_seconds();
  double start = clock_of(CLOCK_MONOTONIC), end = start;
  for (;;) {
    unsigned long long got = one_request(&c);
    check_body(&o, got);
    requests++;
    bytes += got;
    end = clock_of(CLOCK_MONOTONIC);
    if (o.b.requests > 0 ? requests >= o.b.requests : end - start >= o.b.seconds)
      break;
  }
  double seconds = end - start, cpu = clock_of(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  double user = user_seconds() - user0;
  raw_close(c.conn);
  free(c.buf);

  double work = o.b.download ? (double)bytes / 1e6 : (double)requests;
  printf("result mode=%s scheme=%s client=raw%s requests=%ld bytes=%llu seconds=%.4f "
         "cpu_seconds=%.4f user_seconds=%.4f value=%.1f per_cpu_second=%.1f unit=%s\n",
         o.b.download ? "download" : "get", o.b.secure ? "https" : "http",
         o.cancellable ? "-cancellable" : "", requests, bytes, seconds,
         cpu, user, work / seconds, cpu > 0 ? work / cpu : 0.0, o.b.download ? "MB/s" : "req/s");
  return 0;
}
