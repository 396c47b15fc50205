/* The HTTP/2 transport of a request exchange (wh_h2_transport,
 * core/transport.h; docs/ARCHITECTURE.md, "HTTP/2"): the request on a
 * stream of a shared net/h2_conn.h connection. Besides the table, what
 * the exchange needs to choose it and to let a stream go. */
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

/* Drops the stream, resetting it if it is still open. */
void wh_h2x_drop(struct wh_exchange *x);
/* Resets the stream but keeps it (a full-duplex request's other side may
 * be using it): that side's next wait fails at once. */
void wh_h2x_cancel(struct wh_exchange *x);

#endif
