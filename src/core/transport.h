/* The transports of a request exchange (docs/ARCHITECTURE.md, "HTTP/2").
 * Everything per request lives in core/exchange*.c: the WinHTTP states,
 * the head built once, notifications, redirects, cookies, decoding, the
 * caller's buffers. What depends on how the bytes travel is behind this
 * table: HTTP/1.1 on a connection of the request's own (core/h1_stream.c)
 * and HTTP/2 on a stream of a shared connection (core/h2_stream.c). The
 * exchange picks one when it gets a connection (x->tp).
 *
 * Each operation is a resumable step like the exchange's own: it makes
 * progress, finishes, fails, or returns ERROR_IO_PENDING after filling the
 * struct wh_io. */
#ifndef WH_CORE_TRANSPORT_H
#define WH_CORE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <winhttp.h>

struct wh_request;
struct wh_exchange;
struct wh_io;

/* Returned by send and head: the request never reached the server (a
 * pooled connection it had closed, a refused HTTP/2 stream) and may go
 * again on a fresh connection, once. Never leaves the exchange. */
#define WH_RETRY ((DWORD)0x20000001u)

struct wh_transport {
  const char *name;
  /* Puts the prepared head and the body given to SendRequest on the wire. */
  DWORD (*send)(struct wh_request *r, struct wh_exchange *x, struct wh_io *io);
  /* Sends the WriteData bytes set up by wh_exchange_prepare_write. */
  DWORD (*write)(struct wh_request *r, struct wh_exchange *x, struct wh_io *io);
  /* Receives one response head into x->resp (RESPONSE_RECEIVED reported).
   * *final false: a 1xx was reported, the real head follows. On the final
   * head the body is set up (x->fr, x->body_done...). */
  DWORD (*head)(struct wh_request *r, struct wh_exchange *x, struct wh_io *io, bool *final);
  /* Body bytes at hand, without copying or waiting (may reach the end). */
  DWORD (*peek)(struct wh_request *r, struct wh_exchange *x, const char **p, size_t *n);
  /* The application took |n| of the bytes peek showed. */
  void (*consume)(struct wh_request *r, struct wh_exchange *x, size_t n);
  /* Waits for more body bytes; may read straight into |direct| (|cap|
   * bytes, *got of them filled) when nothing is buffered. */
  DWORD (*more)(struct wh_request *r, struct wh_exchange *x, struct wh_io *io,
                unsigned char *direct, size_t cap, size_t *got);
  /* Body bytes at hand (what peek would show). */
  size_t (*buffered)(const struct wh_exchange *x);
};

extern const struct wh_transport wh_h1_transport;
extern const struct wh_transport wh_h2_transport;

#endif
