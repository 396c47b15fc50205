/* The HTTP/2 transport of a request exchange (docs/ARCHITECTURE.md,
 * "HTTP/2"): what core/exchange*.c does for HTTP/1.1 on its own connection
 * (put the request on the wire, receive the head, hand out body bytes),
 * done on a stream of a shared net/h2_conn.h connection. Each function is
 * a resumable step like the rest of the exchange: ERROR_IO_PENDING fills
 * the struct wh_io. */
#ifndef WH_CORE_H2_STREAM_H
#define WH_CORE_H2_STREAM_H

#include <stdbool.h>

#include "core/exchange.h"

struct wh_request;

/* Whether this send may use HTTP/2: enabled by the request
 * (WINHTTP_PROTOCOL_FLAG_HTTP2), over TLS, not a WebSocket upgrade, and a
 * body HTTP/2 can carry (see h2_stream.c). */
bool wh_h2x_wanted(const struct wh_request *r, const struct wh_exchange *x);
/* Whether the request insists (WINHTTP_OPTION_HTTP_PROTOCOL_REQUIRED). */
bool wh_h2x_required(const struct wh_request *r);

/* The TLS connection in x->conn negotiated h2: it becomes a shared HTTP/2
 * connection (offered to other requests) and the request opens a stream. */
DWORD wh_h2x_adopt(struct wh_request *r, struct wh_exchange *x);

/* Sends the prepared request on the stream: its HEADERS, then the body
 * given to SendRequest. */
DWORD wh_h2x_send(struct wh_request *r, struct wh_exchange *x, struct wh_io *io);
/* Sends the WriteData bytes set up by wh_exchange_prepare_write. */
DWORD wh_h2x_write(struct wh_request *r, struct wh_exchange *x, struct wh_io *io);
/* Receives the final head into x->resp. */
DWORD wh_h2x_recv_head(struct wh_request *r, struct wh_exchange *x, struct wh_io *io);
/* Makes body bytes available in x->span (or reaches the end): never waits. */
void wh_h2x_peek(struct wh_exchange *x);
/* Waits for more body bytes. */
DWORD wh_h2x_more(struct wh_request *r, struct wh_exchange *x, struct wh_io *io);

/* Whether a failed send may go again on another connection: the server
 * said it never processed it, or a reused connection died before any
 * answer and the method is idempotent. */
bool wh_h2x_may_retry(const struct wh_request *r, const struct wh_exchange *x);

/* The body ended: the trailers move to x->trailers and the stream is
 * released (the connection stays with its other streams). */
void wh_h2x_finish(struct wh_exchange *x);
/* Drops the stream, resetting it if it is still open. */
void wh_h2x_drop(struct wh_exchange *x);
/* Resets the stream but keeps it (a full-duplex request's other side may
 * be using it): that side's next wait fails at once. */
void wh_h2x_cancel(struct wh_exchange *x);

#endif
