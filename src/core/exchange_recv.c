/* see exchange.h: receiving the response head and the body. */
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/credentials.h"
#include "core/exchange.h"
#include "core/transport.h"
#include "core/object.h"
#include "core/redirect.h"
#include "net/wait.h"
#include "util/mem.h"

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

static DWORD raw_peek(struct wh_request *r, struct wh_exchange *x, const char **p, size_t *n);
static void raw_consume(struct wh_request *r, struct wh_exchange *x, size_t n);
static DWORD read_more(struct wh_request *r, struct wh_exchange *x, struct wh_io *io,
                       unsigned char *direct, size_t direct_cap, size_t *direct_got);

/* The body of a refusal the request answers (core/credentials.h), read and
 * dropped so that the next leg can go on the same connection. Past
 * MAX_RESPONSE_DRAIN_SIZE the connection is not worth keeping: closed, and
 * the request goes on a new one. */
static DWORD auth_drain(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  while (x->conn && !x->body_done) {
    const char *p;
    size_t n;
    DWORD err = raw_peek(r, x, &p, &n);
    if (err != ERROR_SUCCESS)
      return err;
    if (n > 0) {
      if (n > r->settings.max_response_drain_size - x->auth_drained) {
        wh_conn_free(x->conn);
        x->conn = NULL;
        break;
      }
      x->auth_drained += n;
      raw_consume(r, x, n);
      continue;
    }
    if (x->body_done)
      break;
    size_t unused;
    err = read_more(r, x, io, NULL, 0, &unused);
    if (err != ERROR_SUCCESS)
      return err;
  }
  x->auth_drained = 0;
  return wh_cred_resend(r, io);
}

DWORD wh_exchange_recv_step(struct wh_request *r, struct wh_io *io)
{
  struct wh_exchange *x = &r->x;
  for (;;) {
    if (x->auth_drain) {
      DWORD err = auth_drain(r, x, io);
      if (err != ERROR_SUCCESS)
        return err;
    }
    if (x->phase != WH_P_DONE) {
      /* A redirect or a retry is still sending. */
      DWORD err = wh_exchange_send_step(r, io);
      if (err != ERROR_SUCCESS)
        return err;
      io->deadline = 0;
    }
    DWORD err;
    /* With a Negotiate leg being made on a worker (core/gss_job.h), the
     * head is in already: back to answering it. */
    if (!x->gss_job) {
      if (!x->receiving_notified) {
        x->receiving_notified = true;
        wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE, NULL, 0);
      }
      if (x->head_deadline == 0)
        x->head_deadline = wh_deadline(head_timeout(r->settings.receive_response_timeout));
      bool final = false;
      err = x->tp->head(r, x, io, &final);
      if (err == WH_RETRY) {
        err = retry_send(r, x, io);
        if (err != ERROR_SUCCESS)
          return err;
        continue;
      }
      if (err != ERROR_SUCCESS)
        return err;
      if (!final)
        continue; /* a 1xx: RECEIVING_RESPONSE again, then the next head */
      store_cookies(r, x);
    }
    bool again = false;
    /* A 401/407 answered with credentials at hand: the request goes again
     * (core/credentials.h). */
    err = wh_cred_maybe_resend(r, io, &again);
    if (err != ERROR_SUCCESS)
      return err;
    if (again || x->auth_drain)
      continue;
    /* A full-duplex response is the answer to a body still being sent:
     * it cannot be redirected (the body would have to go again). */
    err = x->split ? ERROR_SUCCESS : wh_redirect_maybe(r, io, &again);
    if (err != ERROR_SUCCESS)
      return err;
    if (!again)
      return start_decoding(r, x);
  }
}

/* --- the body: raw bytes as the transport delivers them ------------------- */

static size_t raw_buffered(const struct wh_exchange *x)
{
  return x->tp->buffered(x);
}

static DWORD raw_peek(struct wh_request *r, struct wh_exchange *x, const char **p, size_t *n)
{
  return x->tp->peek(r, x, p, n);
}

static void raw_consume(struct wh_request *r, struct wh_exchange *x, size_t n)
{
  x->tp->consume(r, x, n);
}

static DWORD read_more(struct wh_request *r, struct wh_exchange *x, struct wh_io *io,
                       unsigned char *direct, size_t direct_cap, size_t *direct_got)
{
  return x->tp->more(r, x, io, direct, direct_cap, direct_got);
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
