/* A transport connection: a non-blocking TCP socket, optionally wrapped in
 * TLS, with the I/O primitives the request state machine needs. Every
 * operation is non-blocking: it makes progress or reports ERROR_IO_PENDING
 * with the poll events to wait for (the sync driver waits with poll(); the
 * async loop will wait with epoll). No callback runs in here; the caller
 * reports notifications. */
#ifndef WH_NET_CONN_H
#define WH_NET_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <winhttp.h>

#include "net/resolve.h"
#include "util/blob.h"

struct ssl_st;

/* What a connection is for: connections are pooled and reused by key. */
struct wh_conn_key {
  char host[256];   /* as given to WinHttpConnect (lower-cased) */
  uint16_t port;
  bool secure;
  DWORD security_flags; /* TLS connections verified under other ignore flags are not shared */
  DWORD protocols;      /* WINHTTP_FLAG_SECURE_PROTOCOL_* */
  bool revocation;      /* WINHTTP_ENABLE_SSL_REVOCATION was asked for */
  char proxy[264];      /* "host:port" of the proxy it goes through ("" direct):
                           to the proxy for http://, a tunnel for https:// */
  bool h2;              /* ALPN offers "h2" (WINHTTP_PROTOCOL_FLAG_HTTP2): such
                           connections are pooled apart (net/h2_conn.h) */
  /* TLS client authentication (WINHTTP_OPTION_CLIENT_CERT_CONTEXT). A
   * connection presents one identity for its whole life, and the server
   * may have authorised it by that identity, so it serves only requests
   * asking for the same: WH_CLIENT_CERT_* and, for a certificate, its
   * SHA-256. The TLS session cache is keyed the same way (net/tls.c). */
  uint8_t client_auth;
  unsigned char client_cert[32];
};

/* wh_conn_key.client_auth */
enum {
  WH_CLIENT_CERT_UNSET = 0, /* none set: a server's request for one pauses the
                               handshake (ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED) */
  WH_CLIENT_CERT_NONE,      /* WINHTTP_NO_CLIENT_CERT_CONTEXT: answer a request
                               without a certificate */
  WH_CLIENT_CERT_SET,       /* a certificate, presented when asked */
};

/* Whether two keys ask for the same client identity. */
static inline bool wh_conn_key_client_eq(const struct wh_conn_key *a, const struct wh_conn_key *b)
{
  return a->client_auth == b->client_auth &&
         (a->client_auth != WH_CLIENT_CERT_SET ||
          memcmp(a->client_cert, b->client_cert, sizeof(a->client_cert)) == 0);
}

struct wh_conn {
  int fd;
  int wfd;                 /* a dup of |fd| for a full-duplex writer's epoll watch (-1: none yet) */
  struct ssl_st *ssl;
  /* A full-duplex request may write on one thread while it reads on
   * another (CONTRACT C10): OpenSSL's SSL object takes one at a time. */
  pthread_mutex_t ssl_lock;
  struct wh_conn_key key;
  struct wh_addr remote;
  struct wh_addr local;
  int64_t idle_since;      /* monotonic ms when returned to the pool */
  unsigned requests;       /* requests started on this connection */
  bool auth_bound;         /* an NTLM or Negotiate handshake ran on it: the server may
                              take its requests as that identity's, so it never goes to
                              the shared pool (it stays with its request handle) */
  DWORD tls_flags;         /* WINHTTP_CALLBACK_STATUS_FLAG_* found during the handshake */
  bool tls_truncated;      /* the peer closed TCP without TLS close_notify (set by the
                              read that saw it): the end of the data is unproven */
  _Atomic int last_errno;  /* for WINHTTP_OPTION_EXTENDED_ERROR (either side of a duplex request) */
  uint64_t id;             /* unique for the process's lifetime */
  struct wh_blob *cert;    /* the peer's leaf certificate (DER), encoded once, shared */
  /* The certificate authorities the server named when it asked for a
   * client certificate none was set for (ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED):
   * each a 4-byte big-endian length and the DER of the name. */
  struct wh_blob *cert_issuers;
  bool counted;            /* holds a slot of its key's MAX_CONNS_PER_SERVER count */
  struct wh_conn *next;    /* pool list */
};

/* --- connecting ---------------------------------------------------------- */

/* Tries each address in turn (Windows tries every resolved address). */
struct wh_connector {
  const struct wh_addrs *addrs;
  size_t limit;        /* addresses tried at most (WINHTTP_OPTION_CONNECT_RETRIES) */
  size_t next;
  int fd;
  size_t current;
  int last_errno;
};

/* Tries the addresses in order, each once, at most |max_tries| of them
 * (WINHTTP_OPTION_CONNECT_RETRIES: "WinHTTP only attempts once per IP
 * address"; at least one is always tried). */
void wh_connector_init(struct wh_connector *k, const struct wh_addrs *addrs, size_t max_tries);
/* Starts or continues connecting. ERROR_SUCCESS: *fd connected (owned by the
 * caller) to addrs->a[k->current]. ERROR_IO_PENDING: wait for POLLOUT on
 * k->fd. ERROR_WINHTTP_CANNOT_CONNECT when every address failed. */
DWORD wh_connector_step(struct wh_connector *k, int *fd);
/* Closes a half-open attempt (timeout or cancellation). */
void wh_connector_abort(struct wh_connector *k);

/* A connection around a connected socket; takes ownership of |fd|. */
DWORD wh_conn_new(int fd, const struct wh_conn_key *key, const struct wh_addr *remote,
                  struct wh_conn **out);
void wh_conn_free(struct wh_conn *c);
/* The descriptor a full-duplex writer watches (a dup of c->fd, made on
 * first use, so that its epoll registration is its own); -1 on failure. */
int wh_conn_write_fd(struct wh_conn *c);
/* Ends both directions at once (a failed side of a duplex request): the
 * other side's pending I/O fails promptly. The connection stays owned. */
void wh_conn_shutdown(struct wh_conn *c);

/* --- TLS ------------------------------------------------------------------- */

struct wh_tls_cred;
/* Starts TLS on |c| for |sni_host| with the key's protocols, presenting
 * |client| (net/tlscred.h; NULL unless the key's client_auth is
 * WH_CLIENT_CERT_SET) when the server asks for a certificate. */
DWORD wh_conn_tls_start(struct wh_conn *c, const char *sni_host,
                        const struct wh_tls_cred *client);
/* Drives the handshake. ERROR_IO_PENDING with *events; ERROR_SUCCESS when
 * done — then c->tls_flags holds the certificate problems found (the caller
 * decides with the ignore flags); ERROR_WINHTTP_SECURE_FAILURE with
 * c->tls_flags = WINHTTP_CALLBACK_STATUS_FLAG_SECURITY_CHANNEL_ERROR when the
 * handshake itself failed; ERROR_WINHTTP_CONNECTION_ERROR on a reset;
 * ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED when the server asked for a client
 * certificate and the key has none (WH_CLIENT_CERT_UNSET): the handshake
 * stops there, c->tls_flags holds what the server's certificate showed and
 * c->cert_issuers the names the server gave; the connection is good for
 * nothing else. The same error from wh_conn_recv/wh_conn_send is a request
 * made in a renegotiation. */
DWORD wh_conn_tls_handshake(struct wh_conn *c, short *events);
/* The DER of the peer's leaf certificate, encoded on first use and kept
 * with the connection (borrowed: valid while |c| lives).
 * ERROR_WINHTTP_INCORRECT_HANDLE_STATE when there is none. */
DWORD wh_conn_peer_cert(struct wh_conn *c, struct wh_blob **cert);
/* Negotiated cipher strength in bits (0 for plain connections). */
DWORD wh_conn_key_bits(const struct wh_conn *c);

/* --- I/O -------------------------------------------------------------------- */

/* Reads up to |cap| bytes. ERROR_SUCCESS with *n > 0, or *n == 0 at the
 * peer's orderly close; ERROR_IO_PENDING with *events;
 * ERROR_WINHTTP_CONNECTION_ERROR on a reset or a TLS failure. Over TLS a
 * TCP close without close_notify is reported as an orderly close too, with
 * c->tls_truncated set: callers for whom the close ends the data (a
 * close-delimited body) must treat it as a failure. */
DWORD wh_conn_recv(struct wh_conn *c, void *buf, size_t cap, size_t *n, short *events);
/* Writes up to |len| bytes: *n written (> 0) or ERROR_IO_PENDING with
 * *events; ERROR_WINHTTP_CONNECTION_ERROR when the peer is gone. */
DWORD wh_conn_send(struct wh_conn *c, const void *buf, size_t len, size_t *n, short *events);
/* Whether TLS negotiated ALPN "h2". */
bool wh_conn_alpn_h2(const struct wh_conn *c);
/* Bytes TLS has already decrypted and holds for the next read (0 for
 * plain connections): such bytes make the socket look idle to poll(). */
size_t wh_conn_pending(const struct wh_conn *c);
/* For a pooled connection about to be reused: false when the peer has
 * closed it or sent unexpected bytes. */
bool wh_conn_alive(struct wh_conn *c);

/* --- the process-wide keep-alive pool (Windows' pool is process-wide) -------- */

#define WH_POOL_IDLE_MS 30000

/* Takes an idle, live connection for |key|, or NULL. Each candidate is
 * probed first (wh_conn_alive: one non-blocking system call); one the
 * server closed, or on which unrequested bytes arrived, is discarded. */
struct wh_conn *wh_pool_take(const struct wh_conn_key *key);
/* Returns |c| for reuse (or frees it when the pool is full). */
void wh_pool_put(struct wh_conn *c);
/* Test hook: close every idle connection. */
void wh_pool_clear(void);

/* WINHTTP_OPTION_MAX_CONNS_PER_SERVER: connections per key, in use or
 * idle. wh_pool_reserve takes a slot for a connection about to be made
 * (true), or registers |wake_fd| (an eventfd) to be signalled when a
 * connection of |key| is released and returns false; the caller waits on
 * it, then calls wh_pool_unwait and tries again. Mark the new connection
 * with wh_conn_counted(); freeing it gives the slot back. |limit| of
 * WINHTTP_CONNS_PER_SERVER_UNLIMITED always succeeds without counting. */
bool wh_pool_reserve(const struct wh_conn_key *key, DWORD limit, int wake_fd);
/* WINHTTP_OPTION_MAX_CONNS_PER_1_0_SERVER: the server of |key| answered
 * with HTTP/1.0 (remembered process-wide for the most recent servers), and
 * whether it is known to. */
void wh_pool_note_http10(const struct wh_conn_key *key);
bool wh_pool_is_http10(const struct wh_conn_key *key);
void wh_pool_unreserve(const struct wh_conn_key *key);
void wh_pool_unwait(int wake_fd);
/* The same for a waiter that gives up (cancelled, timed out): if it had
 * already been woken, the wake-up passes to the next waiter of |key|. */
void wh_pool_unwait_giving_up(int wake_fd, const struct wh_conn_key *key);
void wh_conn_counted(struct wh_conn *c);

#endif
