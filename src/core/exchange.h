/* The request state machine: one HTTP exchange (and its redirects) on a
 * request handle, over net/ connections and the sans-I/O proto/ codecs.
 *
 * Every step is non-blocking: it makes progress, finishes, fails, or returns
 * ERROR_IO_PENDING after filling a struct wh_io with the one descriptor,
 * events and deadline it waits for. A driver loops "step, wait, step":
 * wh_drive_sync() is the synchronous driver (the caller's own thread, poll()
 * with the deadline and the request's cancellation fd; ARCHITECTURE-NOTES §4);
 * the asynchronous loop threads will call the same steps from epoll.
 *
 * Notifications are delivered from inside the steps, on the driving thread,
 * with no lock held (CONTRACT: callbacks never run under an internal lock).
 */
#ifndef WH_CORE_EXCHANGE_H
#define WH_CORE_EXCHANGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

#include "core/route.h"
#include "net/conn.h"
#include "net/resolve.h"
#include "proto/decode.h"
#include "proto/h1.h"
#include "util/buf.h"

struct wh_request;
struct wh_h2_stream;
struct wh_transport;
struct wh_digest_challenge;
struct wh_autoproxy_job;

struct wh_io {
  int fd;
  short events;
  int64_t deadline;
  int lane;    /* the side whose operation this is (WH_LANE_*): an HTTP/2
                  stream keeps one waiter per side (net/h2_conn.h) */
};

/* Request-level states (WinHTTP's INCORRECT_HANDLE_STATE rules). */
enum wh_req_state {
  WH_RS_OPEN = 0,    /* created or re-opened: SendRequest allowed */
  WH_RS_BODY,        /* sent with total_len > optional: WriteData expected */
  WH_RS_SENT,        /* request complete: ReceiveResponse expected */
  WH_RS_HEADERS,     /* response headers received: read the body */
  WH_RS_DONE,        /* body read to the end */
  WH_RS_FAILED,      /* the exchange failed; SendRequest may start over */
};

/* Progress inside one operation, so a step can resume after a wait. */
enum wh_phase {
  WH_P_IDLE = 0,
  WH_P_AUTOPROXY, /* AUTOMATIC_PROXY: the PAC script picks the route (core/autoproxy.h) */
  WH_P_ACQUIRE,
  WH_P_RESOLVE,
  WH_P_CONNECT,
  WH_P_TUNNEL,  /* CONNECT through the proxy (https:// via a proxy) */
  WH_P_TLS,
  WH_P_SEND,
  WH_P_DONE,
};

struct wh_exchange {
  enum wh_phase phase;

  /* Where the request goes now (changes on redirects). */
  char *host;
  uint16_t port;
  bool secure;

  /* Through a proxy (core/route.h): the proxies to try, the one being
   * tried; the CONNECT request of a tunnel and what is sent of it; and
   * |proxy_answered| when the proxy refused the tunnel with a response of
   * its own (407, 403...), which becomes the request's response. */
  struct wh_route route;
  unsigned proxy_idx;
  /* WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY with nothing configured: the
   * lookup that picks the route (WH_P_AUTOPROXY), and the send's arguments,
   * kept until the route is known, since the head depends on it (absolute
   * form, proxy credentials). */
  struct wh_autoproxy_job *ap_job;
  const void *pend_opt;
  DWORD pend_opt_len, pend_total;
  char *tun;
  size_t tun_len, tun_off;
  bool proxy_answered;
  /* x->conn is a proxy connection whose CONNECT was refused with a 407 and
   * kept for the next leg of an NTLM or Negotiate handshake: it may only
   * carry another CONNECT, never the request itself. */
  bool pretunnel;

  /* Credentials (core/credentials.h), server and proxy: the scheme to send
   * them with on this send (0: none, WINHTTP_AUTH_SCHEME_BASIC or _DIGEST);
   * already sent or answered once in this SendRequest; a stale Digest
   * nonce already renewed once; the Digest challenge being answered and
   * its nonce count. */
  DWORD cred_kind[2];
  bool cred_tried[2];
  bool cred_stale_tried[2];
  struct wh_digest_challenge *digest[2];
  unsigned digest_nc[2];
  bool cred_sent;           /* |out| has held credentials: wiped when freed */
  /* NTLM and Negotiate (core/gss_auth.h): the handshake in progress per
   * target and the header value its next leg sends; the 401/407 body being
   * drained so that the next leg goes on the same connection (h1_stream.c
   * keeps a refusal's connection out of the pool); HTTP/1.1 from then on
   * (HTTP/2 cannot carry a connection-bound handshake, RFC 7540 §8.1.2). */
  struct wh_gss *gss[2];
  char *gss_next[2];
  /* An asynchronous request's Negotiate first leg running on a worker
   * (core/gss_job.h), while a 401/407 is being answered. */
  struct wh_gss_job *gss_job;
  int gss_job_target;       /* WH_CRED_SERVER or WH_CRED_PROXY: whose leg it makes */
  char *spn_used[2];        /* "HTTP/host": SERVER_SPN_USED, PROXY_SPN_USED */
  bool auth_drain;
  size_t auth_drained;
  bool auth_in_head;
  unsigned auth_legs[2];    /* challenges answered in the handshake, per target */        /* the prepared head carries an NTLM or Negotiate leg */
  bool auth_h1;

  /* TLS client authentication, read from the request at each send
   * (WINHTTP_OPTION_CLIENT_CERT_CONTEXT): WH_CLIENT_CERT_* (net/conn.h), the
   * certificate's identity (a reference; NULL unless SET) and whether it
   * lacks a private key. |cert_issuers|: the CA names of the server's
   * request for a certificate when the last send failed with
   * ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED (WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST). */
  uint8_t client_auth;
  struct wh_tls_cred *client_cred;
  bool client_no_key;
  struct wh_blob *cert_issuers;

  /* The connection and how it was obtained. */
  struct wh_conn *conn;
  bool reused;
  bool reserved;            /* holds a MAX_CONNS_PER_SERVER slot for the connection being made */
  int slot_wait_fd;         /* registered to be woken when a slot frees (-1: not waiting) */
  int slot_efd;             /* an asynchronous request's own wake-up for that, made on first need */
  /* Only with a MAX_CONNS_PER_SERVER limit (allocated on its first use,
   * so that a request without one carries no keys): [0] the server it
   * waits for, [1] the one its reserved slot counts against. */
  struct wh_conn_key *limit_keys;
  struct wh_resolve *dns;
  struct wh_addrs *addrs;
  struct wh_connector ktor;

  /* How the bytes travel (core/transport.h): HTTP/1.1 on x->conn, or
   * HTTP/2 on a stream; chosen when the request gets its connection. */
  const struct wh_transport *tp;
  /* HTTP/2 (core/h2_stream.h): the request's stream on a shared connection
   * (NULL for HTTP/1.1).
   * |h2buf| is the private buffer the stream's queued bytes are swapped
   * into (x->span points into it). */
  struct wh_h2_stream *h2s;
  /* The connect this request makes for an origin others wait on
   * (wh_h2_pool_connect_begin), or the wake-up it waits on for another's. */
  bool h2_connecting;
  int h2_wait_fd;
  struct wh_conn_key h2_key;
  bool app_te;              /* the application set Transfer-Encoding itself */
  bool h2_ended;            /* the stream ended: the body ends with the span */
  bool h2_gave;             /* this write's bytes were handed to the stream */
  bool used_h2;             /* the last response came over HTTP/2 */
  unsigned char *h2buf;
  size_t h2cap;
  /* WINHTTP_OPTION_STREAM_ERROR_CODE: the last RST_STREAM/GOAWAY code. */
  _Atomic DWORD stream_error;
  size_t head_len;          /* the request head's length in |out| */

  /* Bytes to send: the request head, plus the optional data when small. */
  struct wh_buf out;
  size_t out_off;
  const unsigned char *opt; /* optional data still to send: the caller's
                               buffer (only during SendRequest) or body_copy */
  size_t opt_len, opt_off;
  unsigned char *body_copy; /* small optional data, kept for retries and 307/308 */
  const char *tail;         /* sent after opt: the CRLF closing an upload chunk */
  size_t tail_len, tail_off;
  bool sending_notified;
  bool fresh_send;          /* the request just left: the answer cannot be there yet */
  bool ending_upload;       /* the last chunk of a chunked upload is being sent */
  size_t sent_total;

  /* Request body accounting (WriteData). */
  uint64_t total_len;
  uint64_t body_sent;
  bool chunked_upload;      /* WINHTTP_FLAG_AUTOMATIC_CHUNKING without a length */
  bool receive_ends_upload; /* this ReceiveResponse sends the last chunk first */
  /* Full duplex (CONTRACT C10): |body_open| while WriteData may still send
   * body bytes (read by the receive side); |split| once the response was
   * asked for before the body was complete — then neither side frees or
   * pools the connection (the other may be using it), no redirect or
   * retry is attempted, and the next SendRequest starts afresh. Both
   * change under the request's lock. */
  atomic_bool body_open;
  bool split;

  /* WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET (core/ws_handshake.h): the send
   * asked for the upgrade with |ws_key|; |ws_ready| once its 101 arrived:
   * the connection (and the bytes after the head in rbuf) now speak
   * WebSocket and wait for WinHttpWebSocketCompleteUpgrade, which takes
   * them; never pooled, never reused for another request. */
  bool ws_upgrade;
  bool ws_ready;
  DWORD ws_deflate_offer;   /* the permessage-deflate offer sent with it */
  char ws_key[25];

  /* Receiving. Unread bytes are rbuf[rpos, rend). */
  char *rbuf;
  size_t rcap, rpos, rend;
  size_t head_scan;           /* wh_h1_head_end_from resume offset */
  /* WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT: when the whole head (1xx
   * included) must have arrived; 0 until the wait for it begins, reset
   * for every request sent (redirects and retries too). */
  int64_t head_deadline;
  bool receiving_notified;
  unsigned interim_count;     /* 1xx responses seen (MAX_HTTP_STATUS_CONTINUE) */
  unsigned redirect_count;
  bool retried;               /* a dead pooled connection was replaced once */
  struct wh_resp_head resp; /* the final response's head */
  bool have_resp;
  struct wh_h1_framing fr;
  struct wh_chunked chunked;
  struct wh_headers trailers;
  uint64_t body_left;         /* WH_H1_BODY_LENGTH: bytes still to come */
  const char *span;           /* de-chunked bytes ready to hand out */
  size_t span_len;
  bool body_done;

  /* Content decoding (WINHTTP_OPTION_DECOMPRESSION): decoded bytes wait in
   * dbuf[dpos, dlen) when QueryDataAvailable asked ahead of ReadData. */
  bool decoding;
  bool decoded_done;
  struct wh_decoder dec;
  unsigned char *dbuf;
  size_t dpos, dlen;

  /* A body error met after some bytes were handed out: reported by the
   * next read, so the application first gets every good byte. */
  DWORD pending_err;

  /* The ReadData in progress: the caller's buffer. */
  unsigned char *rd_buf;
  size_t rd_cap, rd_got;
  bool rd_fill;               /* fill the buffer (ReadData) or any bytes (ReadDataEx) */

  /* Extended error: the errno behind the last network failure (written by
   * either side of a full-duplex request). */
  _Atomic int last_errno;
};

/* What WinHttpQueryOption may see of the exchange: a copy published by the
 * operation's thread under the request's lock (the exchange itself is
 * private to that thread). */
struct wh_req_facts {
  bool sent;               /* a SendRequest has run */
  bool connected;          /* local/remote are valid */
  struct wh_addr local, remote;
  bool secure;
  char host[256];          /* the current target (after redirects) */
  uint16_t port;
  DWORD key_bits;
  struct wh_blob *cert;    /* the server's leaf certificate (DER), a reference */
  uint64_t conn_id;        /* the connection the certificate came from */
  bool h2;                 /* WINHTTP_OPTION_HTTP_PROTOCOL_USED: HTTP/2 */
  bool proxy_answer;       /* IS_PROXY_CONNECT_RESPONSE: the proxy refused the tunnel */
  int last_errno;          /* WINHTTP_OPTION_EXTENDED_ERROR */
  struct wh_blob *issuers; /* CLIENT_CERT_ISSUER_LIST after CLIENT_AUTH_CERT_NEEDED, a reference */
};

/* Copies the exchange's current facts into r->facts; call from the thread
 * running the operation, with r->hdr.lock held. Keeps the previous
 * certificate when the new one cannot be copied (out of memory). */
void wh_request_publish_facts(struct wh_request *r);
void wh_req_facts_free(struct wh_req_facts *f);

/* Sets up |x|, which must be zeroed memory (it is part of the request's
 * block, from wh_block_calloc: zeroing it twice cost 3.7 KB of stores per
 * request). */
void wh_exchange_init(struct wh_exchange *x);
/* Closes the connection (never pooled) and frees everything. */
void wh_exchange_free(struct wh_exchange *x);
/* Gives back a connection slot reserved or waited for by a connect that
 * will not finish (failure, timeout, cancellation). */
void wh_exchange_abort_connect(struct wh_exchange *x);

/* Prepares sending |r|'s request: picks the route (core/route.h), builds
 * the head from the request line and headers (adding Host, User-Agent,
 * Content-Length and Connection as Windows does) and records the optional
 * data. When the route must first be discovered (an AUTOMATIC_PROXY
 * session), the head is built by the send step once it is known: the
 * optional data must then stay valid until the send completes, as Windows
 * requires of asynchronous sends anyway. */
DWORD wh_exchange_prepare(struct wh_request *r, const void *optional, DWORD opt_len,
                          DWORD total_len);

/* Step: connect (resolve, connect, TLS, reusing a pooled connection when
 * possible) and send the prepared bytes. */
DWORD wh_exchange_send_step(struct wh_request *r, struct wh_io *io);

/* Sets up sending |len| request-body bytes from |buf| (WinHttpWriteData),
 * as one chunk for a chunked upload. */
DWORD wh_exchange_prepare_write(struct wh_exchange *x, const void *buf, size_t len);
/* Sets up sending the last chunk of a chunked upload. */
void wh_exchange_prepare_last_chunk(struct wh_exchange *x);
/* Step: send what wh_exchange_prepare_write set up; no notifications. */
DWORD wh_exchange_write_step(struct wh_request *r, struct wh_io *io);

/* Drops the (dead) connection and sets the request up to be sent again
 * from the start on a fresh one; at most once per send. */
void wh_exchange_restart_send(struct wh_exchange *x);

/* RFC 9110 §9.2.2: a request that may be repeated safely. */
bool wh_method_idempotent(const char *verb);

/* Whether the whole request (head and body) is still at hand to send again:
 * no body, or a small one given to SendRequest and nothing streamed. */
static inline bool wh_exchange_resendable(const struct wh_exchange *x)
{
  return !x->chunked_upload && x->total_len == x->opt_len &&
         (x->opt_len == 0 || x->opt == x->body_copy);
}

/* Step: receive the final response head (1xx skipped, redirects followed
 * under the request's policy). Needs a completed send. */
DWORD wh_exchange_recv_step(struct wh_request *r, struct wh_io *io);

/* Decoded bodies may not grow past this (a decompression bomb gives
 * ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW; docs/COMPAT.md). */
#define WH_MAX_DECODED_BODY (1ull << 30)

/* Body bytes available without waiting (0 also at the end: check
 * wh_exchange_body_done). */
size_t wh_exchange_buffered(const struct wh_exchange *x);
/* Whether the application has seen the whole body. */
bool wh_exchange_body_done(const struct wh_exchange *x);
/* Step: make at least one body byte available, or reach the end. */
DWORD wh_exchange_fill_step(struct wh_request *r, struct wh_io *io);
/* Step: read body bytes into x->rd_buf (set rd_buf, rd_cap, rd_fill and
 * rd_got = 0 first) until it is full (rd_fill), any bytes arrived, or the
 * body ended. When the body is complete the connection goes back to the
 * pool or is closed (with CLOSING_CONNECTION / CONNECTION_CLOSED). */
DWORD wh_exchange_read_step(struct wh_request *r, struct wh_io *io);

/* Step (core/h1_stream.c): CONNECT |x->host|:|x->port| on the fresh
 * connection to the proxy, and its answer. ERROR_SUCCESS once the tunnel
 * stands, or with x->proxy_answered set when the proxy answered otherwise
 * (the answer waits in the read buffer as the request's response);
 * ERROR_WINHTTP_INVALID_SERVER_RESPONSE for anything not HTTP, or a close
 * before the answer. */
DWORD wh_h1_tunnel_step(struct wh_request *r, struct wh_exchange *x, struct wh_io *io);

/* Frees the read buffer, or keeps it as the thread's spare. */
void wh_exchange_release_rbuf(struct wh_exchange *x);

/* The request's stream on a shared connection (HTTP/2, core/h2_stream.h):
 * dropped (reset unless it ended; the connection goes on with its other
 * streams), or reset but kept while a full-duplex request's other side may
 * still be using it. No-ops for HTTP/1.1, whose connection is x->conn. */
void wh_exchange_drop_stream(struct wh_exchange *x);
void wh_exchange_cancel_stream(struct wh_exchange *x);

/* An operation of side |lane| ended, whatever its result: its waits are
 * over (an HTTP/2 stream hands the driving of its connection to another
 * side). Both drivers call it (wh_drive_sync, core/async.c). */
void wh_exchange_op_over(struct wh_exchange *x, int lane);

/* Forgets the previous response (SendRequest again on the same handle). */
void wh_exchange_reset_response(struct wh_exchange *x);

/* Runs |step| to completion on the calling thread. Returns its result,
 * ERROR_WINHTTP_TIMEOUT when a wait passes its deadline, or
 * ERROR_WINHTTP_OPERATION_CANCELLED when the handle is closed meanwhile. */
DWORD wh_drive_sync(struct wh_request *r, DWORD (*step)(struct wh_request *, struct wh_io *),
                    int lane);

#endif
