/* see exchange.h: receiving the response head and the body. */
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/exchange.h"
#include "core/h2_stream.h"
#include "core/object.h"
#include "core/redirect.h"
#include "net/wait.h"
#include "util/mem.h"

#define RBUF_MIN 16384
/* Response headers beyond this many fields are refused
 * (ERROR_WINHTTP_HEADER_COUNT_EXCEEDED); Windows documents no number. */
#define MAX_RESPONSE_HEADERS 1000

void wh_exchange_reset_response(struct wh_exchange *x)
{
  wh_resp_head_free(&x->resp);
  x->have_resp = false;
  wh_chunked_free(&x->chunked);
  wh_headers_free(&x->trailers);
  x->span = NULL;
  x->span_len = 0;
  x->body_done = false;
  x->body_left = 0;
  x->head_scan = 0;
  x->head_deadline = 0;
  x->ws_ready = false;
  x->h2_body = false;
  x->h2_ended = false;
  x->used_h2 = false;
  x->receiving_notified = false;
  x->interim_count = 0;
  memset(&x->fr, 0, sizeof(x->fr));
  if (x->decoding)
    wh_decoder_free(&x->dec);
  x->decoding = false;
  x->decoded_done = false;
  x->dpos = x->dlen = 0;
  x->pending_err = ERROR_SUCCESS;
}

/* --- the read buffer ----------------------------------------------------------- */

/* One spare read buffer per thread: a request handle per GET would
 * otherwise allocate and free RBUF_MIN bytes every time. Freed at thread
 * exit. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_make_key(void)
{
  pthread_key_create(&spare_key, wh_free);
}

void wh_exchange_release_rbuf(struct wh_exchange *x)
{
  if (x->rbuf && x->rcap == RBUF_MIN) {
    pthread_once(&spare_once, spare_make_key);
    if (!pthread_getspecific(spare_key) && pthread_setspecific(spare_key, x->rbuf) == 0)
      x->rbuf = NULL;
  }
  wh_free(x->rbuf);
  x->rbuf = NULL;
  x->rcap = x->rpos = x->rend = 0;
}

static char *take_spare(void)
{
  pthread_once(&spare_once, spare_make_key);
  char *p = pthread_getspecific(spare_key);
  if (p)
    pthread_setspecific(spare_key, NULL);
  return p;
}

/* Makes room for at least |want| more bytes after rend, compacting first. */
static DWORD rbuf_room(struct wh_exchange *x, size_t want, size_t max)
{
  if (x->rpos > 0 && x->span_len == 0) {
    memmove(x->rbuf, x->rbuf + x->rpos, x->rend - x->rpos);
    x->rend -= x->rpos;
    x->rpos = 0;
  }
  if (x->rcap - x->rend >= want)
    return ERROR_SUCCESS;
  size_t cap = x->rcap ? x->rcap : RBUF_MIN;
  while (cap - x->rend < want && cap < max)
    cap *= 2;
  if (cap > max)
    cap = max;
  if (cap <= x->rend)
    return ERROR_WINHTTP_HEADER_SIZE_OVERFLOW;
  if (!x->rbuf && cap == RBUF_MIN && (x->rbuf = take_spare()) != NULL) {
    x->rcap = cap;
    return ERROR_SUCCESS;
  }
  char *p = wh_realloc(x->rbuf, cap);
  if (!p)
    return ERROR_NOT_ENOUGH_MEMORY;
  x->rbuf = p;
  x->rcap = cap;
  return ERROR_SUCCESS;
}

/* Arms the wait for the next bytes: |timeout| (the receive timeout, per
 * packet: "applied when receiving a packet of response data", so it
 * starts at the first wait and restarts with progress), never later than
 * |limit| (an absolute bound on the whole wait, WH_NEVER for none). */
static void arm_recv_wait(struct wh_io *io, DWORD timeout, int64_t limit)
{
  if (io->deadline == 0)
    io->deadline = wh_deadline(timeout);
  if (limit < io->deadline)
    io->deadline = limit;
}

/* One receive on the connection with the wait bookkeeping every caller
 * shares: ERROR_IO_PENDING fills |io| (see arm_recv_wait), progress
 * restarts the timeout, failures keep the errno. */
static DWORD conn_recv(struct wh_exchange *x, void *buf, size_t cap, size_t *n, DWORD timeout,
                       int64_t limit, struct wh_io *io)
{
  short ev = 0;
  DWORD err = wh_conn_recv(x->conn, buf, cap, n, &ev);
  if (err == ERROR_IO_PENDING) {
    io->fd = x->conn->fd;
    io->events = ev;
    arm_recv_wait(io, timeout, limit);
    return err;
  }
  if (err != ERROR_SUCCESS) {
    x->last_errno = x->conn->last_errno;
    return err;
  }
  io->deadline = 0;
  return ERROR_SUCCESS;
}

/* Reads once into the buffer. *eof is set at the peer's orderly close. */
static DWORD rbuf_fill(struct wh_request *r, struct wh_exchange *x, size_t max,
                       DWORD timeout, int64_t limit, struct wh_io *io, bool *eof)
{
  DWORD err = rbuf_room(x, 4096, max);
  if (err != ERROR_SUCCESS)
    return err;
  size_t n = 0;
  err = conn_recv(x, x->rbuf + x->rend, x->rcap - x->rend, &n, timeout, limit, io);
  if (err != ERROR_SUCCESS)
    return err;
  (void)r;
  x->rend += n;
  *eof = n == 0;
  return ERROR_SUCCESS;
}

/* --- the head ------------------------------------------------------------------- */

/* WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT bounds the wait for the whole
 * response head, however the bytes trickle in (the receive timeout, which
 * restarts with every packet, cannot stop a server that drips its head).
 * Windows reads the option back as 0xFFFFFFFF until it is set (Wine's
 * test_timeouts) and documents its default as 90 seconds: an unset option
 * means those 90 s, never "forever"; 0 turns the bound off, as 0 does
 * for every WinHTTP timeout (docs/COMPAT.md). */
#define WH_HEAD_TIMEOUT_DEFAULT 90000u

static DWORD head_timeout(DWORD option)
{
  return option == 0xFFFFFFFFu ? WH_HEAD_TIMEOUT_DEFAULT : option;
}

bool wh_method_idempotent(const char *verb)
{
  static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"};
  for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
    if (strcmp(verb, safe[i]) == 0)
      return true;
  return false;
}

static void close_conn(struct wh_request *r, struct wh_exchange *x, bool notify)
{
  if (!x->conn)
    return;
  if (notify)
    wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_CLOSING_CONNECTION, NULL, 0);
  if (x->split) {
    /* Full duplex: the send side may be writing on this connection right
     * now. Shut it down (the writer's next write or wait then fails at
     * once) and leave freeing it to the next SendRequest or the handle. */
    wh_conn_shutdown(x->conn);
  } else {
    wh_conn_free(x->conn);
    x->conn = NULL;
    x->rpos = x->rend = 0;
  }
  if (notify)
    wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_CONNECTION_CLOSED, NULL, 0);
}

/* A pooled connection the server had closed before it saw our request: send
 * again on a fresh one, once, when that is safe (nothing received, the
 * method idempotent, the whole request still at hand). */
static bool may_retry(const struct wh_request *r, const struct wh_exchange *x)
{
  /* Not in full duplex: the send side may be using the connection. */
  return !x->split && x->reused && !x->retried && x->rend == x->rpos &&
         wh_method_idempotent(r->verb) && wh_exchange_resendable(x);
}

static DWORD retry_send(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  wh_exchange_restart_send(x);
  io->deadline = 0;
  x->head_deadline = 0; /* a new request: a new wait for its head */
  return wh_exchange_send_step(r, io);
}

/* Set-Cookie fields go to the session's jar (unless the request disabled
 * cookies), from every final response, redirects included. A cookie that
 * cannot be stored for lack of memory is dropped, as a browser would. */
static void store_cookies(struct wh_request *r, struct wh_exchange *x)
{
  if (r->settings.disabled_features & WINHTTP_DISABLE_COOKIES)
    return;
  if (!wh_headers_find(&x->resp.headers, "Set-Cookie", 10, 0))
    return;
  struct wh_session *s = r->connect->session;
  int64_t now = (int64_t)time(NULL);
  pthread_mutex_lock(&s->hdr.lock);
  for (size_t i = 0;; i++) {
    const struct wh_header *h = wh_headers_find(&x->resp.headers, "Set-Cookie", 10, i);
    if (!h)
      break;
    wh_cookie_jar_set(&s->cookies, h->value, h->value_len, x->host, r->path, x->secure, now);
  }
  pthread_mutex_unlock(&s->hdr.lock);
}

/* WINHTTP_OPTION_DECOMPRESSION: decode a body with exactly one enabled
 * coding; anything else passes through untouched (proto/decode.h). */
static DWORD start_decoding(struct wh_request *r, struct wh_exchange *x)
{
  DWORD flags = r->settings.decompression;
  if (!flags || x->fr.kind == WH_H1_BODY_NONE)
    return ERROR_SUCCESS;
  if ((flags & WINHTTP_DECOMPRESSION_FLAG_ALL) == WINHTTP_DECOMPRESSION_FLAG_ALL)
    flags |= WH_DECOMPRESSION_FLAG_BR | WH_DECOMPRESSION_FLAG_ZSTD;
  const struct wh_header *ce = wh_headers_find(&x->resp.headers, "Content-Encoding", 16, 0);
  if (!ce)
    return ERROR_SUCCESS;
  enum wh_coding c = WH_CODING_IDENTITY;
  /* Two Content-Encoding fields are stacked codings: passed through. */
  if (!wh_headers_find(&x->resp.headers, "Content-Encoding", 16, 1))
    wh_coding_from_header(ce->value, ce->value_len, flags, &c);
  if (c == WH_CODING_IDENTITY)
    return ERROR_SUCCESS;
  DWORD err = wh_decoder_init(&x->dec, c, WH_MAX_DECODED_BODY);
  if (err != ERROR_SUCCESS)
    return err;
  x->decoding = true;
  x->decoded_done = false;
  x->dpos = x->dlen = 0;
  return ERROR_SUCCESS;
}

static void body_finished(struct wh_request *r, struct wh_exchange *x);

/* Sets up body decoding for the final response. */
static void start_body(struct wh_request *r, struct wh_exchange *x)
{
  x->span = NULL;
  x->span_len = 0;
  x->body_done = false;
  switch (x->fr.kind) {
  case WH_H1_BODY_NONE:
    if (x->fr.upgrade && x->ws_upgrade) {
      /* 101 to a WebSocket upgrade: the connection is the WebSocket's now,
       * held for WinHttpWebSocketCompleteUpgrade (not closed, not pooled);
       * the request's own body is empty. */
      x->ws_ready = true;
      x->body_done = true;
      break;
    }
    body_finished(r, x); /* HEAD, 204, 304: the connection is free again */
    break;
  case WH_H1_BODY_LENGTH:
    x->body_left = x->fr.length;
    if (x->body_left == 0)
      body_finished(r, x);
    break;
  case WH_H1_BODY_CHUNKED:
    wh_headers_init(&x->trailers);
    wh_chunked_init(&x->chunked, 0, 0, &x->trailers);
    break;
  case WH_H1_BODY_CLOSE:
    break;
  }
}

/* One head from the buffer, or ERROR_IO_PENDING for more bytes. */
static DWORD parse_one_head(struct wh_request *r, struct wh_exchange *x, bool *final)
{
  size_t max = r->settings.max_response_header_size;
  size_t end = 0;
  DWORD err = wh_h1_head_end_from(x->rbuf + x->rpos, x->rend - x->rpos, max, x->head_scan, &end);
  if (err == ERROR_IO_PENDING)
    x->head_scan = end;
  if (err != ERROR_SUCCESS)
    return err;
  x->head_scan = 0;
  struct wh_h1_limits lim = {.max_count = MAX_RESPONSE_HEADERS, .max_bytes = max};
  wh_resp_head_free(&x->resp);
  err = wh_h1_parse_head(x->rbuf + x->rpos, end, &lim, &x->resp);
  if (err != ERROR_SUCCESS)
    return err;
  x->rpos += end;
  err = wh_h1_framing(&x->resp, r->verb, &x->fr);
  if (err != ERROR_SUCCESS)
    return err;
  DWORD got = (DWORD)end;
  wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_RESPONSE_RECEIVED, &got, sizeof(got));
  if (x->fr.interim) {
    /* 1xx (not 101): report it and wait for the real response. */
    DWORD status = x->resp.status;
    if (++x->interim_count > r->settings.max_status_continue)
      return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_INTERMEDIATE_RESPONSE, &status, sizeof(status));
    x->receiving_notified = false;
    *final = false;
    return ERROR_SUCCESS;
  }
  x->have_resp = true;
  *final = true;
  if (x->resp.version_minor == 0 && x->conn)
    wh_pool_note_http10(&x->conn->key); /* MAX_CONNS_PER_1_0_SERVER from now on */
  return ERROR_SUCCESS;
}

DWORD wh_exchange_recv_step(struct wh_request *r, struct wh_io *io)
{
  struct wh_exchange *x = &r->x;
  for (;;) {
    if (x->phase != WH_P_DONE) {
      /* A redirect or a retry is still sending. */
      DWORD err = wh_exchange_send_step(r, io);
      if (err != ERROR_SUCCESS)
        return err;
      io->deadline = 0;
    }
    if (!x->receiving_notified) {
      x->receiving_notified = true;
      wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE, NULL, 0);
    }
    if (x->head_deadline == 0)
      x->head_deadline = wh_deadline(head_timeout(r->settings.receive_response_timeout));
    if (x->h2s) {
      /* HTTP/2: the head arrives on the stream (1xx already skipped). */
      DWORD err = wh_h2x_recv_head(r, x, io);
      if (err == ERROR_WINHTTP_CONNECTION_ERROR && wh_h2x_may_retry(r, x)) {
        err = retry_send(r, x, io);
        if (err != ERROR_SUCCESS)
          return err;
        continue;
      }
      if (err != ERROR_SUCCESS)
        return err;
      store_cookies(r, x);
      bool again = false;
      err = x->split ? ERROR_SUCCESS : wh_redirect_maybe(r, io, &again);
      if (err != ERROR_SUCCESS)
        return err;
      if (!again)
        return start_decoding(r, x);
      continue;
    }
    bool final = false;
    DWORD err = x->rend > x->rpos ? parse_one_head(r, x, &final) : ERROR_IO_PENDING;
    if (err == ERROR_IO_PENDING && x->fresh_send && wh_conn_pending(x->conn) == 0) {
      /* The request has just left: wait before reading instead of a read
       * that would find nothing (one system call per request saved). */
      x->fresh_send = false;
      io->fd = x->conn->fd;
      io->events = POLLIN;
      arm_recv_wait(io, r->settings.receive_timeout, x->head_deadline);
      return ERROR_IO_PENDING;
    }
    x->fresh_send = false;
    if (err == ERROR_IO_PENDING) {
      bool eof = false;
      size_t max = (size_t)r->settings.max_response_header_size + RBUF_MIN;
      err = rbuf_fill(r, x, max, r->settings.receive_timeout, x->head_deadline, io, &eof);
      if (err == ERROR_SUCCESS && eof) {
        if (may_retry(r, x)) {
          err = retry_send(r, x, io);
          if (err != ERROR_SUCCESS)
            return err;
          continue;
        }
        /* Closed before a complete head: nothing usable arrived. */
        return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
      }
      if (err == ERROR_WINHTTP_CONNECTION_ERROR && may_retry(r, x)) {
        err = retry_send(r, x, io);
        if (err != ERROR_SUCCESS)
          return err;
        continue;
      }
      if (err != ERROR_SUCCESS)
        return err;
      continue;
    }
    if (err != ERROR_SUCCESS)
      return err;
    if (!final)
      continue;
    store_cookies(r, x);
    start_body(r, x);
    bool again = false;
    /* A full-duplex response is the answer to a body still being sent:
     * it cannot be redirected (the body would have to go again). */
    err = x->split ? ERROR_SUCCESS : wh_redirect_maybe(r, io, &again);
    if (err != ERROR_SUCCESS)
      return err;
    if (!again)
      return start_decoding(r, x);
  }
}

/* --- the body: raw bytes as the framing delivers them ----------------------- */

static size_t raw_buffered(const struct wh_exchange *x)
{
  if (x->h2_body)
    return x->span_len;
  switch (x->fr.kind) {
  case WH_H1_BODY_CHUNKED:
    return x->span_len;
  case WH_H1_BODY_LENGTH: {
    uint64_t avail = x->rend - x->rpos;
    return (size_t)(avail < x->body_left ? avail : x->body_left);
  }
  case WH_H1_BODY_CLOSE:
    return x->rend - x->rpos;
  default:
    return 0;
  }
}

/* The body ended: reuse the connection when the response allows it and
 * nothing unexpected follows, otherwise close it. */
static void body_finished(struct wh_request *r, struct wh_exchange *x)
{
  x->body_done = true;
  if (x->h2_body) {
    wh_h2x_finish(x); /* the connection stays with its other streams */
    return;
  }
  /* Full duplex: the send side may still be writing; the connection goes
   * with the next SendRequest or the handle. */
  if (!x->conn || x->split)
    return;
  bool keep = x->fr.keep_alive && x->rend == x->rpos && wh_conn_pending(x->conn) == 0 &&
              !r->settings.expire_connection &&
              !(r->settings.disabled_features & WINHTTP_DISABLE_KEEP_ALIVE);
  if (keep) {
    struct wh_conn *c = x->conn;
    x->conn = NULL;
    x->rpos = x->rend = 0;
    wh_pool_put(c);
  } else {
    close_conn(r, x, true);
  }
}

/* Decodes chunked framing from the buffer into x->span. */
static DWORD dechunk(struct wh_request *r, struct wh_exchange *x)
{
  while (x->span_len == 0 && x->rend > x->rpos && !wh_chunked_done(&x->chunked)) {
    size_t used = 0;
    DWORD err = wh_chunked_decode(&x->chunked, x->rbuf + x->rpos, x->rend - x->rpos, &used,
                                  &x->span, &x->span_len);
    if (err != ERROR_SUCCESS)
      return err;
    x->rpos += used;
  }
  if (x->span_len == 0 && !x->body_done && wh_chunked_done(&x->chunked))
    body_finished(r, x);
  return ERROR_SUCCESS;
}

/* The raw body bytes at hand (de-chunked), without copying. */
static DWORD raw_peek(struct wh_request *r, struct wh_exchange *x, const char **p, size_t *n)
{
  if (x->h2_body) {
    wh_h2x_peek(x);
    if (x->span_len == 0 && x->h2_ended && !x->body_done)
      body_finished(r, x);
    *p = x->span;
  } else if (x->fr.kind == WH_H1_BODY_CHUNKED) {
    DWORD err = dechunk(r, x);
    if (err != ERROR_SUCCESS)
      return err;
    *p = x->span;
  } else {
    *p = x->rbuf ? x->rbuf + x->rpos : NULL;
  }
  *n = raw_buffered(x);
  return ERROR_SUCCESS;
}

static void raw_consume(struct wh_request *r, struct wh_exchange *x, size_t n)
{
  if (n == 0)
    return;
  if (x->h2_body) {
    x->span += n;
    x->span_len -= n;
    if (x->span_len == 0 && x->h2_ended)
      body_finished(r, x);
    return;
  }
  if (x->fr.kind == WH_H1_BODY_CHUNKED) {
    x->span += n;
    x->span_len -= n;
    return;
  }
  x->rpos += n;
  if (x->fr.kind == WH_H1_BODY_LENGTH) {
    x->body_left -= n;
    if (x->body_left == 0)
      body_finished(r, x);
  }
}

/* Reads once from the connection: into the buffer, or straight into the
 * caller's memory when nothing is buffered and no framing or decoding is in
 * the way (large downloads then cost no copy). */
static DWORD read_more(struct wh_request *r, struct wh_exchange *x, struct wh_io *io,
                       unsigned char *direct, size_t direct_cap, size_t *direct_got)
{
  DWORD timeout = r->settings.receive_timeout;
  bool eof = false;
  DWORD err;
  *direct_got = 0;
  if (x->h2_body)
    return wh_h2x_more(r, x, io);
  if (!x->conn) /* defensive: the body is over or the connection failed */
    return x->body_done ? ERROR_SUCCESS : ERROR_WINHTTP_CONNECTION_ERROR;
  if (direct && !x->decoding && x->rend == x->rpos && x->fr.kind != WH_H1_BODY_CHUNKED) {
    size_t cap = direct_cap;
    if (x->fr.kind == WH_H1_BODY_LENGTH && cap > x->body_left)
      cap = (size_t)x->body_left;
    size_t n = 0;
    err = conn_recv(x, direct, cap, &n, timeout, WH_NEVER, io);
    if (err != ERROR_SUCCESS)
      return err;
    eof = n == 0;
    *direct_got = n;
    if (x->fr.kind == WH_H1_BODY_LENGTH) {
      x->body_left -= n;
      if (n && x->body_left == 0)
        body_finished(r, x);
    }
  } else {
    err = rbuf_fill(r, x, SIZE_MAX / 2, timeout, WH_NEVER, io, &eof);
    if (err != ERROR_SUCCESS)
      return err;
  }
  if (eof) {
    /* Over TLS only close_notify ends a close-delimited body: a bare TCP
     * close may be an attacker's cut (see wh_conn_recv), and is treated
     * as the failure it would be for any other framing. */
    if (x->fr.kind == WH_H1_BODY_CLOSE && !x->conn->tls_truncated) {
      close_conn(r, x, true);
      x->body_done = true;
      return ERROR_SUCCESS;
    }
    /* The peer closed before the framing said the body ends. */
    close_conn(r, x, false);
    return ERROR_WINHTTP_CONNECTION_ERROR;
  }
  return ERROR_SUCCESS;
}

/* --- the body as the application sees it (decoded when asked) ----------------- */

#define DBUF_SIZE 65536

size_t wh_exchange_buffered(const struct wh_exchange *x)
{
  return x->decoding ? x->dlen - x->dpos : raw_buffered(x);
}

bool wh_exchange_body_done(const struct wh_exchange *x)
{
  return x->decoding ? x->decoded_done && x->dlen == x->dpos
                     : x->body_done && raw_buffered(x) == 0;
}

/* Decodes into |out|. *need_more: no raw bytes at hand and the body is not
 * over, read more first. */
static DWORD decode_some(struct wh_request *r, struct wh_exchange *x, unsigned char *out,
                         size_t cap, size_t *produced, bool *need_more)
{
  *produced = 0;
  *need_more = false;
  while (!x->decoded_done) {
    const char *p;
    size_t n;
    DWORD err = raw_peek(r, x, &p, &n);
    if (err != ERROR_SUCCESS)
      return err;
    if (n == 0 && !x->body_done) {
      *need_more = true;
      return ERROR_SUCCESS;
    }
    size_t used = 0, outn = 0;
    bool done = false;
    err = wh_decoder_run(&x->dec, p, n, &used, out, cap, &outn, &done);
    if (err != ERROR_SUCCESS)
      return err;
    raw_consume(r, x, used);
    *produced = outn;
    if (outn > 0)
      return ERROR_SUCCESS;
    if (x->body_done && raw_buffered(x) == 0) {
      err = wh_decoder_finish(&x->dec);
      if (err != ERROR_SUCCESS)
        return err;
      x->decoded_done = true;
    }
  }
  return ERROR_SUCCESS;
}

/* Copies what is at hand into the caller's buffer; never waits. */
static size_t take(struct wh_request *r, struct wh_exchange *x, unsigned char *buf, size_t cap)
{
  if (x->decoding) {
    size_t n = x->dlen - x->dpos;
    if (n > cap)
      n = cap;
    if (n == 0)
      return 0;
    memcpy(buf, x->dbuf + x->dpos, n);
    x->dpos += n;
    return n;
  }
  const char *p;
  size_t n;
  if (raw_peek(r, x, &p, &n) != ERROR_SUCCESS || n == 0)
    return 0; /* a framing error surfaces on the next read */
  if (n > cap)
    n = cap;
  memcpy(buf, p, n);
  raw_consume(r, x, n);
  return n;
}

DWORD wh_exchange_fill_step(struct wh_request *r, struct wh_io *io)
{
  struct wh_exchange *x = &r->x;
  if (x->pending_err && wh_exchange_buffered(x) == 0)
    return x->pending_err;
  for (;;) {
    size_t unused;
    bool need_more = false;
    if (x->decoding) {
      if (x->dlen > x->dpos || x->decoded_done)
        return ERROR_SUCCESS;
      if (!x->dbuf && !(x->dbuf = wh_malloc(DBUF_SIZE)))
        return ERROR_NOT_ENOUGH_MEMORY;
      size_t got = 0;
      DWORD err = decode_some(r, x, x->dbuf, DBUF_SIZE, &got, &need_more);
      if (err != ERROR_SUCCESS)
        return err;
      x->dpos = 0;
      x->dlen = got;
      if (!need_more)
        continue;
    } else {
      const char *p;
      size_t n;
      DWORD err = raw_peek(r, x, &p, &n);
      if (err != ERROR_SUCCESS)
        return err;
      if (n > 0 || x->body_done)
        return ERROR_SUCCESS;
    }
    DWORD err = read_more(r, x, io, NULL, 0, &unused);
    if (err != ERROR_SUCCESS)
      return err;
  }
}

static DWORD read_step(struct wh_request *r, struct wh_exchange *x, struct wh_io *io);

DWORD wh_exchange_read_step(struct wh_request *r, struct wh_io *io)
{
  struct wh_exchange *x = &r->x;
  if (x->pending_err) {
    x->rd_got += take(r, x, x->rd_buf + x->rd_got, x->rd_cap - x->rd_got);
    return x->rd_got ? ERROR_SUCCESS : x->pending_err;
  }
  DWORD err = read_step(r, x, io);
  if (err != ERROR_SUCCESS && err != ERROR_IO_PENDING && x->rd_got > 0) {
    /* Hand out the good bytes now, the failure next time. */
    x->pending_err = err;
    return ERROR_SUCCESS;
  }
  return err;
}

static DWORD read_step(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  for (;;) {
    x->rd_got += take(r, x, x->rd_buf + x->rd_got, x->rd_cap - x->rd_got);
    if (x->rd_got == x->rd_cap || wh_exchange_body_done(x) || (!x->rd_fill && x->rd_got > 0))
      return ERROR_SUCCESS;
    bool need_more = false;
    if (x->decoding) {
      size_t got = 0;
      DWORD err = decode_some(r, x, x->rd_buf + x->rd_got, x->rd_cap - x->rd_got, &got,
                              &need_more);
      if (err != ERROR_SUCCESS)
        return err;
      x->rd_got += got;
      if (!need_more)
        continue;
    } else {
      const char *p;
      size_t n;
      DWORD err = raw_peek(r, x, &p, &n);
      if (err != ERROR_SUCCESS)
        return err;
      /* The peek may have reached the end (the last chunk): the connection
       * is then gone, and the check at the top returns. */
      if (n > 0 || x->body_done)
        continue;
    }
    size_t got = 0;
    DWORD err = read_more(r, x, io, x->rd_buf + x->rd_got, x->rd_cap - x->rd_got, &got);
    if (err != ERROR_SUCCESS)
      return err;
    x->rd_got += got;
  }
}
