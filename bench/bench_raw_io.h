/* The transport of bench_raw (the "limit" client): one TCP connection,
 * plain or through OpenSSL used directly, and nothing else. Every failure
 * ends the process: a benchmark that goes on after an error measures
 * nothing. */
#ifndef BENCH_RAW_IO_H
#define BENCH_RAW_IO_H

#include <stddef.h>

struct raw_conn;

/* Connects to host:port (a numeric IPv4 or IPv6 address). With secure, does
 * the TLS handshake, verifying the server's certificate chain against
 * cafile (or, without one, OpenSSL's default paths, which honour
 * SSL_CERT_FILE) and its name or address against host. */
struct raw_conn *raw_connect(const char *host, unsigned port, int secure, const char *cafile);

/* Writes all n bytes: one write() or SSL_write() unless the kernel takes
 * fewer. */
void raw_write_all(struct raw_conn *c, const void *p, size_t n);

/* One read() or SSL_read() of at most cap bytes into buf; returns the
 * number read, 0 at the peer's end of stream. */
size_t raw_read(struct raw_conn *c, void *buf, size_t cap);

/* The waits a cancellable, pooling client cannot do without, for the
 * analysis of the distance to the limit (bench_raw --cancellable): before
 * each request a liveness probe of the kept-alive connection (one
 * recv(MSG_PEEK | MSG_DONTWAIT)), and before each read that would block, a
 * poll() on the socket and an eventfd another thread could signal. */
void raw_set_cancellable(struct raw_conn *c);
/* Before a request on the kept-alive connection: the probe, when set. */
void raw_probe(struct raw_conn *c);

void raw_close(struct raw_conn *c);

#endif
