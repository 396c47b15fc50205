/* An HTTP/2 connection (RFC 9113) shared by many request streams, over one
 * net/conn.h transport. nghttp2 is the frame codec, used without I/O
 * (nghttp2_session_mem_recv / mem_send): this file moves the bytes.
 *
 * Who reads the socket (docs/ARCHITECTURE.md, "HTTP/2"): no thread of our
 * own. A request side that needs something from its stream (its HEADERS
 * sent, its response head, body bytes) calls wh_h2_wait(). If nobody is
 * driving the connection, it becomes the driver: it reads and writes the
 * socket without blocking, feeds nghttp2, and when nothing more can be done
 * waits on the connection's descriptor. Frames for other streams are queued
 * on those streams and their waiting sides are woken through their own
 * eventfds. When the driver has what it came for, or its operation ends any
 * other way (timeout, cancellation: wh_h2_leave), it wakes one waiting side,
 * which becomes the next driver. A lone caller is always the driver: a
 * single synchronous request reads the socket on its own thread with no
 * hand-off. Synchronous threads and asynchronous loop threads follow the
 * same protocol; both wait on a descriptor given in a struct wh_io.
 *
 * The connection's descriptor is an epoll instance of its own holding the
 * socket (EPOLLIN, and EPOLLOUT while output is queued) and a kick eventfd:
 * a side that queues output the socket cannot take while another side
 * drives signals the kick, so the driver's wait includes the write.
 *
 * One lock per connection guards the nghttp2 session, every stream's
 * state and the roles. It is never held across a wait or a callback; the
 * socket I/O done under it never blocks. Lock order: a request's hdr.lock,
 * then this lock, then the pool's and the transport's own.
 *
 * Streams are reference-counted: one reference for the request, one for
 * nghttp2 while the stream is open. Data the server sends is queued on the
 * stream and counted against its window until the request takes it
 * (wh_h2_take_data), so a slow reader stalls only its own stream. */
#ifndef WH_NET_H2_CONN_H
#define WH_NET_H2_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

#include "net/conn.h"
#include "proto/resp_head.h"

struct wh_h2_conn;
struct wh_h2_stream;

/* What a request side waits for. */
enum wh_h2_need {
  WH_H2_NEED_SENT,  /* its HEADERS and the body given so far are out */
  WH_H2_NEED_HEAD,  /* the final response head */
  WH_H2_NEED_DATA,  /* body bytes, or the end of the stream */
};

/* Connection settings chosen by the request that opens it. */
struct wh_h2_config {
  uint32_t stream_window;  /* SETTINGS_INITIAL_WINDOW_SIZE (HTTP2_RECEIVE_WINDOW) */
  uint32_t max_header_bytes; /* response header block limit (MAX_RESPONSE_HEADER_SIZE) */
  uint32_t max_header_count;
  uint32_t keepalive_ms;   /* HTTP2_KEEPALIVE: PING interval, 0 = none */
};

/* Wraps |c| (TLS with ALPN h2 negotiated; the connection takes it, also on
 * failure) and queues the client preface and SETTINGS. */
DWORD wh_h2_conn_new(struct wh_conn *c, const struct wh_h2_config *cfg, struct wh_h2_conn **out);

/* The transport, for the facts WinHttpQueryOption reports (addresses,
 * certificate); valid while the caller holds a stream of the connection. */
struct wh_conn *wh_h2_conn_transport(struct wh_h2_conn *hc);
/* Drops the caller's reference (wh_h2_conn_new's). */
void wh_h2_conn_unref(struct wh_h2_conn *hc);

/* --- the pool ---------------------------------------------------------------- */

/* A live connection for |key| that takes new streams, with a stream opened
 * on it for the caller, or NULL. With |need_slot| only a connection below
 * the server's MAX_CONCURRENT_STREAMS qualifies (DISABLE_STREAM_QUEUE);
 * otherwise a request beyond it waits in nghttp2's queue for a free slot. */
struct wh_h2_stream *wh_h2_pool_join(const struct wh_conn_key *key, bool need_slot);
/* Offers |hc| to other requests (the pool holds a reference of its own
 * until the connection dies, goes away or idles out). */
void wh_h2_pool_add(struct wh_h2_conn *hc);
/* Opening connections to an origin that may speak HTTP/2: the first request
 * connects, the others wait for its outcome and then join its connection
 * (RFC 9113 §9.1: one connection per origin), instead of each opening its
 * own. wh_h2_pool_connect_begin returns true when the caller is to connect
 * (then it must call wh_h2_pool_connect_done for |key| however the connect
 * ends), or false after registering |wake_fd| (an eventfd) to be signalled
 * when the connect in progress ends; the caller then calls
 * wh_h2_pool_connect_unwait and tries the pool again. */
bool wh_h2_pool_connect_begin(const struct wh_conn_key *key, int wake_fd);
void wh_h2_pool_connect_done(const struct wh_conn_key *key);
void wh_h2_pool_connect_unwait(int wake_fd);

/* Test hook: drops every pooled HTTP/2 connection that has no stream. */
void wh_h2_pool_clear(void);

/* --- streams --------------------------------------------------------------------- */

/* A new stream on |hc| (not yet sent), referenced for the caller. */
DWORD wh_h2_stream_open(struct wh_h2_conn *hc, struct wh_h2_stream **out);

/* The limits on the stream's response head and trailers (the request's
 * MAX_RESPONSE_HEADER_SIZE; the connection's SETTINGS advertise those of
 * the request that opened it). Call before wh_h2_submit. */
void wh_h2_stream_limits(struct wh_h2_stream *s, size_t max_bytes, size_t max_count);

/* Submits the request: |nv| (name, value) pairs, pseudo-headers first, as
 * nghttp2 wants them; |body| false ends the stream with the HEADERS frame.
 * The request's body bytes are then given with wh_h2_give_body. */
struct wh_h2_field {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
};
DWORD wh_h2_submit(struct wh_h2_stream *s, const struct wh_h2_field *nv, size_t n, bool body);

/* Hands |len| body bytes at |p| to the stream (the caller's memory, read
 * before WH_H2_NEED_SENT is met); |last| ends the stream after them. */
DWORD wh_h2_give_body(struct wh_h2_stream *s, const void *p, size_t len, bool last);

/* Waits (for side |lane|: 0 send, 1 receive) until |need| is met: ERROR_SUCCESS,
 * or ERROR_IO_PENDING with |io| filled (its deadline from |timeout| when
 * unset; never past |limit|). A stream the server reset or a connection
 * that failed gives ERROR_WINHTTP_CONNECTION_ERROR (wh_h2_stream_error
 * tells which); ERROR_WINHTTP_INVALID_SERVER_RESPONSE for a malformed or
 * refused response head. NEED_DATA is also met by the end of the stream. */
/* How a waiting side is woken: by |fn|(|ctx|, lane) when set (an
 * asynchronous operation parked on its loop: no descriptor, *fd = -1 and
 * *events = 0), otherwise through an eventfd of its own (*fd). */
struct wh_h2_waker {
  void (*fn)(void *ctx, int lane);
  void *ctx;
};
DWORD wh_h2_wait(struct wh_h2_stream *s, int lane, enum wh_h2_need need, DWORD timeout,
                 int64_t limit, const struct wh_h2_waker *waker, int64_t *deadline, int *fd,
                 short *events);
/* The side's operation is over (success or not): gives up the driver role
 * if it held it, waking another side to take it over. */
void wh_h2_leave(struct wh_h2_stream *s, int lane);

/* Moves the final response head out; |*bytes| is its size as HPACK
 * delivered it (name + value + 32 per field, RFC 9113 §6.5.2's measure). */
void wh_h2_take_head(struct wh_h2_stream *s, struct wh_resp_head *out, size_t *bytes);
/* 1xx responses seen before the final one. */
unsigned wh_h2_interim_count(struct wh_h2_stream *s);
/* Swaps the queued body bytes into |*buf| (capacity |*cap|, the caller's
 * heap buffer, possibly NULL) and returns their count; the stream's window
 * reopens by as much. *ended: the server ended the stream and nothing is
 * left queued. */
size_t wh_h2_take_data(struct wh_h2_stream *s, unsigned char **buf, size_t *cap, bool *ended);
/* Moves the trailers (a HEADERS frame after the body) into |out|. */
void wh_h2_take_trailers(struct wh_h2_stream *s, struct wh_headers *out);

/* Why the stream failed: the RST_STREAM or GOAWAY error code (0 none), and
 * whether the server said it never processed the request (REFUSED_STREAM,
 * or a stream above GOAWAY's last-stream-id): such a request may be sent
 * again on another connection whatever its method. */
/* *untouched: nothing at all arrived for the stream (a connection that
 * died under it may not have delivered the request). */
uint32_t wh_h2_stream_error(struct wh_h2_stream *s, bool *unprocessed, bool *untouched);
/* True once the stream ended cleanly (END_STREAM received). */
bool wh_h2_stream_ended(struct wh_h2_stream *s);

/* Resets the stream (RST_STREAM CANCEL) unless it already ended, without
 * dropping the reference: a side still using it gets CONNECTION_ERROR. */
void wh_h2_stream_cancel(struct wh_h2_stream *s);
/* Drops the request's reference: resets the stream if it is still open
 * (only that stream: the connection and its other streams go on). */
void wh_h2_stream_release(struct wh_h2_stream *s);

/* The connection of |s| (for facts), not referenced. */
struct wh_h2_conn *wh_h2_stream_conn(struct wh_h2_stream *s);

#endif
