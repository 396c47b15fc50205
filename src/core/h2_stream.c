/* see h2_stream.h */
#include "core/h2_stream.h"

#include <string.h>

#include "core/async.h"
#include "core/object.h"
#include "core/transport.h"
#include "net/h2_conn.h"
#include "net/loop.h"
#include "net/wait.h"
#include "util/mem.h"

/* The stream's receive window when the request does not set
 * WINHTTP_OPTION_HTTP2_RECEIVE_WINDOW (Windows documents no default). */
#define STREAM_WINDOW_DEFAULT (1u << 20)
/* Response fields beyond this many are refused, as for HTTP/1.1. */
#define MAX_RESPONSE_FIELDS 1000

bool wh_h2x_wanted(const struct wh_request *r, const struct wh_exchange *x)
{
  /* A body of unknown length (WINHTTP_FLAG_AUTOMATIC_CHUNKING) goes over
   * HTTP/1.1, chunked, as Windows sends it, unless the request allows it
   * over HTTP/2 (HTTP2_PLUS_TRANSFER_ENCODING: END_STREAM ends it). One
   * the application frames itself (its own Transfer-Encoding) always
   * does: HTTP/2 forbids the field and would carry the framing as data. */
  /* A client certificate keeps the request on HTTP/1.1 unless it allows
   * HTTP/2 with one (ENABLE_HTTP2_PLUS_CLIENT_CERT), as on Windows, where
   * HTTP/2 with a client certificate is an opt-in (docs/COMPAT.md). */
  return x->secure && (r->settings.enable_http_protocol & WINHTTP_PROTOCOL_FLAG_HTTP2) &&
         !x->ws_upgrade && !x->auth_h1 && !x->app_te &&
         (!x->chunked_upload || r->settings.http2_plus_te) &&
         (x->client_auth != WH_CLIENT_CERT_SET || r->settings.http2_plus_client_cert);
}

bool wh_h2x_required(const struct wh_request *r)
{
  return r->settings.http_protocol_required &&
         (r->settings.enable_http_protocol & WINHTTP_PROTOCOL_FLAG_HTTP2);
}

DWORD wh_h2x_adopt(struct wh_request *r, struct wh_exchange *x)
{
  struct wh_h2_config cfg = {
      .stream_window = r->settings.http2_receive_window ? r->settings.http2_receive_window
                                                        : STREAM_WINDOW_DEFAULT,
      .max_header_bytes = r->settings.max_response_header_size,
      .max_header_count = MAX_RESPONSE_FIELDS,
      .keepalive_ms = r->settings.http2_keepalive,
  };
  struct wh_h2_conn *hc = NULL;
  struct wh_conn *c = x->conn;
  x->conn = NULL;
  DWORD err = wh_h2_conn_new(c, &cfg, &hc);
  if (err != ERROR_SUCCESS)
    return err;
  err = wh_h2_stream_open(hc, &x->h2s);
  if (err == ERROR_SUCCESS)
    wh_h2_pool_add(hc);
  /* The creator's reference: the stream and the pool hold their own. */
  wh_h2_conn_unref(hc);
  return err;
}

/* --- the request head as HTTP/2 fields ------------------------------------------- */

/* RFC 9113 §8.2.2: connection-specific fields never go out over HTTP/2;
 * Host becomes :authority. */
static bool skipped_field(const char *name, size_t len)
{
  static const char *const skip[] = {"connection", "keep-alive", "proxy-connection",
                                     "transfer-encoding", "upgrade", "host"};
  for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
    if (strlen(skip[i]) == len && strncasecmp(skip[i], name, len) == 0)
      return true;
  return false;
}

/* Builds the fields from the HTTP/1.1 head the exchange prepared (verb,
 * target, then "Name: value" lines, the session's cookies merged in):
 * one head for both transports. Names are lower-cased into |lower|. */
static DWORD head_fields(const struct wh_exchange *x, struct wh_h2_field **out, size_t *count,
                         char **lower)
{
  const char *p = x->out.p, *end = x->out.p + x->head_len;
  size_t lines = 0;
  for (const char *q = p; q < end; q++)
    lines += *q == '\n';
  struct wh_h2_field *f = wh_calloc(lines + 4, sizeof(*f));
  char *low = wh_malloc(x->head_len + 1);
  if (!f || !low) {
    wh_free(f);
    wh_free(low);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  /* The request line: VERB SP target SP version CRLF. */
  const char *eol = memchr(p, '\r', (size_t)(end - p));
  const char *sp1 = eol ? memchr(p, ' ', (size_t)(eol - p)) : NULL;
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
  if (!sp2) {
    wh_free(f);
    wh_free(low);
    return ERROR_WINHTTP_INTERNAL_ERROR;
  }
  size_t n = 0;
  f[n++] = (struct wh_h2_field){":method", 7, p, (size_t)(sp1 - p)};
  f[n++] = (struct wh_h2_field){":scheme", 7, "https", 5};
  size_t authority = n++;
  f[authority] = (struct wh_h2_field){":authority", 10, x->host, strlen(x->host)};
  f[n++] = (struct wh_h2_field){":path", 5, sp1 + 1, (size_t)(sp2 - sp1 - 1)};
  size_t lo = 0;
  for (p = eol + 2; p < end;) {
    eol = memchr(p, '\r', (size_t)(end - p));
    if (!eol || eol == p)
      break;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon) {
      size_t nl = (size_t)(colon - p);
      const char *v = colon + 1;
      while (v < eol && (*v == ' ' || *v == '\t'))
        v++;
      if (nl == 4 && strncasecmp(p, "host", 4) == 0) {
        f[authority].value = v;
        f[authority].value_len = (size_t)(eol - v);
      } else if (!skipped_field(p, nl) &&
                 !(nl == 2 && strncasecmp(p, "te", 2) == 0 &&
                   !((size_t)(eol - v) == 8 && strncasecmp(v, "trailers", 8) == 0))) {
        for (size_t i = 0; i < nl; i++)
          low[lo + i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] - 'A' + 'a' : p[i]);
        f[n++] = (struct wh_h2_field){low + lo, nl, v, (size_t)(eol - v)};
        lo += nl;
      }
    }
    p = eol + 2;
  }
  *out = f;
  *count = n;
  *lower = low;
  return ERROR_SUCCESS;
}

/* --- failures ------------------------------------------------------------------------- */

/* A wait failed: keeps the stream's error code for
 * WINHTTP_OPTION_STREAM_ERROR_CODE. */
static DWORD failed(struct wh_exchange *x, DWORD err)
{
  if (err == ERROR_IO_PENDING || err == ERROR_SUCCESS || !x->h2s)
    return err;
  bool unprocessed, untouched;
  uint32_t code = wh_h2_stream_error(x->h2s, &unprocessed, &untouched);
  if (code)
    atomic_store(&x->stream_error, code);
  return err;
}

static bool wh_h2x_may_retry(const struct wh_request *r, const struct wh_exchange *x)
{
  if (!x->h2s || x->split || x->retried || !wh_exchange_resendable(x))
    return false;
  bool unprocessed, untouched;
  wh_h2_stream_error(x->h2s, &unprocessed, &untouched);
  return unprocessed || (untouched && x->reused && wh_method_idempotent(r->verb));
}

/* --- waiting ------------------------------------------------------------------------------ */

static void wake_async(void *ctx, int lane)
{
  wh_async_wake(ctx, lane);
}

/* Waits on the stream for |need|. An asynchronous operation running on its
 * own loop parks there and is resumed by a task (no eventfd, no epoll
 * registration per wait); a synchronous one, or an asynchronous step run
 * inline on another thread, waits on an eventfd. */
static DWORD wait_for(struct wh_request *r, struct wh_exchange *x, struct wh_io *io,
                      enum wh_h2_need need, DWORD timeout, int64_t limit)
{
  struct wh_h2_waker wk = {NULL, NULL};
  if (r->hdr.flags & WH_OBJ_ASYNC) {
    pthread_mutex_lock(&r->hdr.lock);
    struct wh_loop *l = r->loop;
    pthread_mutex_unlock(&r->hdr.lock);
    if (l && wh_loop_is_current(l)) {
      wk.fn = wake_async;
      wk.ctx = r;
    }
  }
  return wh_h2_wait(x->h2s, io->lane, need, timeout, limit, &wk, &io->deadline, &io->fd,
                    &io->events);
}

/* --- sending ---------------------------------------------------------------------------- */

static DWORD wh_h2x_send(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  if (!x->h2_gave) {
    struct wh_h2_field *f = NULL;
    size_t n = 0;
    char *lower = NULL;
    DWORD err = head_fields(x, &f, &n, &lower);
    if (err != ERROR_SUCCESS)
      return err;
    bool last = !x->chunked_upload && x->opt_len == x->total_len;
    bool body = !(last && x->opt_len == 0);
    wh_h2_stream_limits(x->h2s, r->settings.max_response_header_size, MAX_RESPONSE_FIELDS);
    /* The body goes first so that nghttp2 finds it when it asks. */
    if (body)
      wh_h2_give_body(x->h2s, x->opt, x->opt_len, last);
    err = wh_h2_submit(x->h2s, f, n, body);
    wh_free(f);
    wh_free(lower);
    if (err != ERROR_SUCCESS)
      return failed(x, err);
    x->h2_gave = true;
    x->sent_total = x->head_len + x->opt_len;
    /* nghttp2 copied the fields; a body it reads later is the exchange's
     * own copy (or none): nothing of the caller's is left to wait for. The
     * frames leave with the connection's next write, and a failure to send
     * them shows in the wait for the response. */
    if (x->opt_len == 0 || x->opt == x->body_copy) {
      x->h2_gave = false;
      return ERROR_SUCCESS;
    }
  }
  DWORD err = wait_for(r, x, io, WH_H2_NEED_SENT, r->settings.send_timeout, WH_NEVER);
  if (err == ERROR_SUCCESS)
    x->h2_gave = false;
  return failed(x, err);
}

static DWORD wh_h2x_write(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  if (!x->h2_gave) {
    bool last = x->ending_upload ||
                (!x->chunked_upload && x->body_sent + x->opt_len == x->total_len);
    /* The last chunk of a chunked upload is END_STREAM, no bytes. */
    wh_h2_give_body(x->h2s, x->opt, x->ending_upload ? 0 : x->opt_len, last);
    x->h2_gave = true;
  }
  DWORD err = wait_for(r, x, io, WH_H2_NEED_SENT, r->settings.send_timeout, WH_NEVER);
  if (err == ERROR_SUCCESS)
    x->h2_gave = false;
  return failed(x, err);
}

/* --- receiving --------------------------------------------------------------------------- */

static DWORD wh_h2x_recv_head(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  DWORD err = wait_for(r, x, io, WH_H2_NEED_HEAD, r->settings.receive_timeout, x->head_deadline);
  if (err != ERROR_SUCCESS)
    return failed(x, err);
  if (wh_h2_interim_count(x->h2s) > r->settings.max_status_continue)
    return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
  size_t bytes = 0;
  wh_h2_take_head(x->h2s, &x->resp, &bytes);
  x->used_h2 = true;
  x->have_resp = true;
  x->h2_ended = false;
  memset(&x->fr, 0, sizeof(x->fr));
  x->fr.kind = WH_H1_BODY_CLOSE; /* the stream delimits the body */
  x->fr.keep_alive = true;
  DWORD got = (DWORD)bytes;
  wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_RESPONSE_RECEIVED, &got, sizeof(got));
  return ERROR_SUCCESS;
}

static void wh_h2x_peek(struct wh_exchange *x)
{
  if (x->span_len > 0 || x->body_done || !x->h2s || x->h2_ended)
    return;
  bool ended = false;
  size_t n = wh_h2_take_data(x->h2s, &x->h2buf, &x->h2cap, &ended);
  x->span = (const char *)x->h2buf;
  x->span_len = n;
  x->h2_ended = ended;
}

static DWORD wh_h2x_more(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  if (!x->h2s)
    return x->body_done ? ERROR_SUCCESS : ERROR_WINHTTP_CONNECTION_ERROR;
  DWORD err = wait_for(r, x, io, WH_H2_NEED_DATA, r->settings.receive_timeout, WH_NEVER);
  if (err == ERROR_SUCCESS)
    io->deadline = 0; /* progress: the receive timeout restarts */
  return failed(x, err);
}

static void wh_h2x_finish(struct wh_exchange *x)
{
  if (!x->h2s)
    return;
  wh_h2_take_trailers(x->h2s, &x->trailers);
  if (!x->split)
    wh_h2x_drop(x);
}

void wh_h2x_drop(struct wh_exchange *x)
{
  wh_h2_stream_release(x->h2s);
  x->h2s = NULL;
  x->h2_gave = false;
}

void wh_h2x_cancel(struct wh_exchange *x)
{
  if (x->h2s)
    wh_h2_stream_cancel(x->h2s);
}

void wh_exchange_op_over(struct wh_exchange *x, int lane)
{
  if (x->h2s)
    wh_h2_leave(x->h2s, lane);
}

/* --- the transport table (core/transport.h) ------------------------------------------ */

static DWORD h2_send(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  DWORD err = wh_h2x_send(r, x, io);
  return err == ERROR_WINHTTP_CONNECTION_ERROR && wh_h2x_may_retry(r, x) ? WH_RETRY : err;
}

static DWORD h2_head(struct wh_request *r, struct wh_exchange *x, struct wh_io *io, bool *final)
{
  DWORD err = wh_h2x_recv_head(r, x, io);
  if (err == ERROR_WINHTTP_CONNECTION_ERROR && wh_h2x_may_retry(r, x))
    return WH_RETRY;
  *final = err == ERROR_SUCCESS; /* 1xx never reach the exchange */
  return err;
}

/* The stream ended and its last bytes were taken. */
static void body_end(struct wh_exchange *x)
{
  x->body_done = true;
  wh_h2x_finish(x); /* the connection stays with its other streams */
}

static DWORD h2_peek(struct wh_request *r, struct wh_exchange *x, const char **p, size_t *n)
{
  (void)r;
  wh_h2x_peek(x);
  if (x->span_len == 0 && x->h2_ended && !x->body_done)
    body_end(x);
  *p = x->span;
  *n = x->span_len;
  return ERROR_SUCCESS;
}

static void h2_consume(struct wh_request *r, struct wh_exchange *x, size_t n)
{
  (void)r;
  if (n == 0)
    return;
  x->span += n;
  x->span_len -= n;
  if (x->span_len == 0 && x->h2_ended)
    body_end(x);
}

static DWORD h2_more(struct wh_request *r, struct wh_exchange *x, struct wh_io *io,
                     unsigned char *direct, size_t cap, size_t *got)
{
  (void)direct;
  (void)cap;
  *got = 0; /* the bytes come out of the stream's queue, never straight */
  return wh_h2x_more(r, x, io);
}

static size_t h2_buffered(const struct wh_exchange *x)
{
  return x->span_len;
}

const struct wh_transport wh_h2_transport = {
    .name = "HTTP/2",
    .send = h2_send,
    .write = wh_h2x_write,
    .head = h2_head,
    .peek = h2_peek,
    .consume = h2_consume,
    .more = h2_more,
    .buffered = h2_buffered,
};
