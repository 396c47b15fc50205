/* The BIO between OpenSSL and a connection's socket: OpenSSL's own socket
 * BIO writes with write(2), which raises SIGPIPE when the peer has gone,
 * and SIGPIPE's default action ends the process. A library must not kill
 * its application over a closed connection, nor change the process's signal
 * dispositions behind its back, so TLS records go out through send(2) with
 * MSG_NOSIGNAL, as the plain-text path does (net/conn.c). */
#ifndef WH_NET_TLS_BIO_H
#define WH_NET_TLS_BIO_H

#include <openssl/ssl.h>

/* A BIO on |fd| (not closed when the BIO is freed), or NULL when out of
 * memory. Non-blocking semantics as BIO_s_socket's: EAGAIN sets the retry
 * flags. */
BIO *wh_tls_bio_new(int fd);

#endif
