/* The HTTP/1.1 transport (core/transport.h): the request's own connection
 * (x->conn), the head and body framing of proto/h1.h, the read buffer, and
 * giving the connection back to the pool when the body ends. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/credentials.h"
#include "core/exchange.h"
#include "core/object.h"
#include "core/transport.h"
#include "net/wait.h"
#include "util/mem.h"

#define RBUF_MIN 16384
/* Response headers beyond this many fields are refused
 * (ERROR_WINHTTP_HEADER_COUNT_EXCEEDED); Windows documents no number. */
#define MAX_RESPONSE_HEADERS 1000

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
static DWORD rbuf_fill(struct wh_exchange *x, size_t max, DWORD timeout, int64_t limit,
                       struct wh_io *io, bool *eof)
{
  DWORD err = rbuf_room(x, 4096, max);
  if (err != ERROR_SUCCESS)
    return err;
  size_t n = 0;
  err = conn_recv(x, x->rbuf + x->rend, x->rcap - x->rend, &n, timeout, limit, io);
  if (err != ERROR_SUCCESS)
    return err;
  x->rend += n;
  *eof = n == 0;
  return ERROR_SUCCESS;
}

/* --- sending ------------------------------------------------------------------- */

/* Sends x->out, then the rest of x->opt, then x->tail. */
static DWORD send_pending(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  if (!x->conn)
    return ERROR_WINHTTP_CONNECTION_ERROR;
  for (;;) {
    const char *p;
    size_t left;
    if (x->out_off < x->out.len) {
      p = x->out.p + x->out_off;
      left = x->out.len - x->out_off;
    } else if (x->opt_off < x->opt_len) {
      p = (const char *)x->opt + x->opt_off;
      left = x->opt_len - x->opt_off;
    } else if (x->tail_off < x->tail_len) {
      p = x->tail + x->tail_off;
      left = x->tail_len - x->tail_off;
    } else {
      return ERROR_SUCCESS;
    }
    size_t n = 0;
    short ev = 0;
    DWORD err = wh_conn_send(x->conn, p, left, &n, &ev);
    if (err == ERROR_IO_PENDING) {
      io->fd = x->conn->fd;
      io->events = ev;
      if (io->deadline == 0)
        io->deadline = wh_deadline(r->settings.send_timeout);
      return ERROR_IO_PENDING;
    }
    if (err != ERROR_SUCCESS) {
      x->last_errno = x->conn->last_errno;
      return err;
    }
    io->deadline = 0; /* progress: the send timeout restarts */
    if (x->out_off < x->out.len)
      x->out_off += n;
    else if (x->opt_off < x->opt_len)
      x->opt_off += n;
    else
      x->tail_off += n;
    x->sent_total += n;
  }
}

static DWORD h1_send(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  if (x->auth_in_head && x->conn)
    x->conn->auth_bound = true; /* a handshake leg goes on it (net/conn.h) */
  DWORD err = send_pending(r, x, io);
  /* A pooled connection the server had already closed: once more on a
   * fresh one (the same rule as a dead connection found while receiving). */
  if (err == ERROR_WINHTTP_CONNECTION_ERROR && x->reused && !x->retried &&
      wh_exchange_resendable(x) && wh_method_idempotent(r->verb))
    return WH_RETRY;
  return err;
}

/* --- the end of the body ----------------------------------------------------------- */

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

/* The body ended: reuse the connection when the response allows it and
 * nothing unexpected follows, otherwise close it. */
static void body_finished(struct wh_request *r, struct wh_exchange *x)
{
  x->body_done = true;
  /* Full duplex: the send side may still be writing; the connection goes
   * with the next SendRequest or the handle. */
  if (!x->conn || x->split)
    return;
  bool keep = x->fr.keep_alive && x->rend == x->rpos && wh_conn_pending(x->conn) == 0 &&
              !r->settings.expire_connection &&
              !(r->settings.disabled_features & WINHTTP_DISABLE_KEEP_ALIVE);
  /* A refusal (401, 407) keeps its connection on the handle: the next leg
   * of an NTLM or Negotiate handshake, whether the engine answers it or the
   * application does after WinHttpSetCredentials, must go on this very
   * connection (core/credentials.c). A refused CONNECT's connection is
   * marked x->pretunnel: only another CONNECT may use it. */
  bool hold = x->resp.status == 401 || x->resp.status == 407 || x->conn->auth_bound;
  if (keep && hold) {
    x->rpos = x->rend = 0;
  } else if (keep) {
    struct wh_conn *c = x->conn;
    x->conn = NULL;
    x->rpos = x->rend = 0;
    wh_pool_put(c);
  } else {
    close_conn(r, x, true);
  }
}

/* --- the head ------------------------------------------------------------------------ */

/* A pooled connection the server had closed before it saw our request: send
 * again on a fresh one, once, when that is safe (nothing received, the
 * method idempotent, the whole request still at hand). */
static bool may_retry(const struct wh_request *r, const struct wh_exchange *x)
{
  /* Not in full duplex: the send side may be using the connection. */
  return !x->split && x->reused && !x->retried && x->rend == x->rpos &&
         wh_method_idempotent(r->verb) && wh_exchange_resendable(x);
}

/* Sets up the body of the final response from its framing. */
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

static DWORD h1_head(struct wh_request *r, struct wh_exchange *x, struct wh_io *io, bool *final)
{
  for (;;) {
    DWORD err = x->rend > x->rpos ? parse_one_head(r, x, final) : ERROR_IO_PENDING;
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
    if (err != ERROR_IO_PENDING) {
      if (err == ERROR_SUCCESS && *final) {
        /* The proxy's refusal: that connection ends here, unless it asks
         * for credentials (the next CONNECT of a connection-bound handshake
         * goes on it; x->pretunnel keeps it from carrying anything else). */
        if (x->proxy_answered && x->resp.status != 407)
          x->fr.keep_alive = false;
        start_body(r, x);
      }
      return err;
    }
    bool eof = false;
    size_t max = (size_t)r->settings.max_response_header_size + RBUF_MIN;
    err = rbuf_fill(x, max, r->settings.receive_timeout, x->head_deadline, io, &eof);
    if (err == ERROR_SUCCESS && eof)
      /* Closed before a complete head: nothing usable arrived. */
      return may_retry(r, x) ? WH_RETRY : ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    if (err == ERROR_WINHTTP_CONNECTION_ERROR && may_retry(r, x))
      return WH_RETRY;
    if (err != ERROR_SUCCESS)
      return err;
  }
}

/* --- a proxy's tunnel (CONNECT, RFC 9110 §9.3.6) ------------------------------------ */

DWORD wh_h1_tunnel_step(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  if (!x->tun) {
    /* The origin as authority-form, IPv6 literals in brackets. */
    bool v6 = strchr(x->host, ':') != NULL;
    char authority[300];
    int an = snprintf(authority, sizeof(authority), "%s%s%s:%u", v6 ? "[" : "", x->host,
                      v6 ? "]" : "", (unsigned)x->port);
    if (an < 0 || (size_t)an >= sizeof(authority))
      return ERROR_WINHTTP_INVALID_URL;
    char *cred = NULL;
    DWORD cerr = wh_cred_header(r, WH_CRED_PROXY, "CONNECT", authority, &cred, io);
    if (cerr != ERROR_SUCCESS)
      return cerr; /* ERROR_IO_PENDING: the first Negotiate leg is being made */
    if (cred && wh_cred_conn_based(x->cred_kind[WH_CRED_PROXY]))
      x->conn->auth_bound = true; /* the tunnel is authenticated as someone */
    size_t cap = 2 * (size_t)an + 64 + (cred ? strlen(cred) + 32 : 0);
    x->tun = wh_malloc(cap);
    if (!x->tun) {
      wh_secret_free(cred);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
    int n = snprintf(x->tun, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n", authority,
                     authority, cred ? "Proxy-Authorization: " : "", cred ? cred : "",
                     cred ? "\r\n" : "");
    x->tun_len = (size_t)n;
    wh_secret_free(cred);
    x->tun_off = 0;
    x->rpos = x->rend = 0;
    x->head_scan = 0;
  }
  while (x->tun_off < x->tun_len) {
    size_t n = 0;
    short ev = 0;
    DWORD err = wh_conn_send(x->conn, x->tun + x->tun_off, x->tun_len - x->tun_off, &n, &ev);
    if (err == ERROR_IO_PENDING) {
      io->fd = x->conn->fd;
      io->events = ev;
      if (io->deadline == 0)
        io->deadline = wh_deadline(r->settings.send_timeout);
      return ERROR_IO_PENDING;
    }
    if (err != ERROR_SUCCESS) {
      x->last_errno = x->conn->last_errno;
      return err;
    }
    x->tun_off += n;
    io->deadline = 0;
  }
  size_t max = r->settings.max_response_header_size;
  for (;;) {
    size_t end = 0;
    DWORD err = x->rend > x->rpos ? wh_h1_head_end_from(x->rbuf + x->rpos, x->rend - x->rpos, max,
                                                        x->head_scan, &end)
                                  : ERROR_IO_PENDING;
    if (err == ERROR_IO_PENDING) {
      if (x->rend > x->rpos)
        x->head_scan = end;
      bool eof = false;
      err = rbuf_fill(x, max + RBUF_MIN, r->settings.receive_timeout, WH_NEVER, io, &eof);
      if (err == ERROR_SUCCESS && eof)
        return ERROR_WINHTTP_INVALID_SERVER_RESPONSE; /* closed before its answer */
      if (err != ERROR_SUCCESS)
        return err;
      continue;
    }
    if (err != ERROR_SUCCESS)
      return err == ERROR_WINHTTP_HEADER_SIZE_OVERFLOW ? err
                                                       : ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    x->head_scan = 0;
    struct wh_resp_head h;
    memset(&h, 0, sizeof(h));
    struct wh_h1_limits lim = {.max_count = MAX_RESPONSE_HEADERS, .max_bytes = max};
    err = wh_h1_parse_head(x->rbuf + x->rpos, end, &lim, &h);
    unsigned status = h.status;
    wh_resp_head_free(&h);
    if (err != ERROR_SUCCESS)
      return err == ERROR_NOT_ENOUGH_MEMORY ? err : ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    wh_secret_free(x->tun);
    x->tun = NULL;
    if (status >= 200 && status < 300) {
      x->pretunnel = false;
      /* The tunnel stands. Nothing may follow the answer: the next bytes
       * are the origin's, and it speaks only after our TLS hello. */
      if (x->rend - x->rpos != end)
        return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
      x->rpos = x->rend = 0;
      return ERROR_SUCCESS;
    }
    /* Refused (407, 403, 502...): the proxy's answer, still in the
     * buffer, becomes the request's response (core/exchange.c). */
    x->proxy_answered = true;
    x->pretunnel = true;
    return ERROR_SUCCESS;
  }
}

/* --- the body: raw bytes as the framing delivers them ----------------------- */

static size_t h1_buffered(const struct wh_exchange *x)
{
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
static DWORD h1_peek(struct wh_request *r, struct wh_exchange *x, const char **p, size_t *n)
{
  if (x->fr.kind == WH_H1_BODY_CHUNKED) {
    DWORD err = dechunk(r, x);
    if (err != ERROR_SUCCESS)
      return err;
    *p = x->span;
  } else {
    *p = x->rbuf ? x->rbuf + x->rpos : NULL;
  }
  *n = h1_buffered(x);
  return ERROR_SUCCESS;
}

static void h1_consume(struct wh_request *r, struct wh_exchange *x, size_t n)
{
  if (n == 0)
    return;
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
static DWORD h1_more(struct wh_request *r, struct wh_exchange *x, struct wh_io *io,
                     unsigned char *direct, size_t direct_cap, size_t *direct_got)
{
  DWORD timeout = r->settings.receive_timeout;
  bool eof = false;
  DWORD err;
  *direct_got = 0;
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
    err = rbuf_fill(x, SIZE_MAX / 2, timeout, WH_NEVER, io, &eof);
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

const struct wh_transport wh_h1_transport = {
    .name = "HTTP/1.1",
    .send = h1_send,
    .write = send_pending,
    .head = h1_head,
    .peek = h1_peek,
    .consume = h1_consume,
    .more = h1_more,
    .buffered = h1_buffered,
};
