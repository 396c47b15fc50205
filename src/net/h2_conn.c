/* see h2_conn.h */
#include "net/h2_conn.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/loop.h"
#include "net/wait.h"
#include "util/mem.h"

#define RBUF_SIZE 32768
/* Frames nghttp2 produces are gathered up to this much before a write. */
#define OBUF_GATHER 65536
/* The connection's receive window: the sum of every stream's unread bytes
 * stays below it (each stream's own is the request's HTTP2_RECEIVE_WINDOW). */
#define CONN_WINDOW (16u << 20)
#define POOL_MAX 64
/* Wake-ups gathered under the lock and sent after it is released. */
#define PEND_MAX 64

/* A side (lane) of a request waiting on its stream. */
struct waiter {
  int efd;                /* the waiting thread's wake-up eventfd (thread_wake_fd) */
  bool waited_efd;        /* returned to wait on efd: drain it when run again */
  bool listed;            /* on the connection's waiter list */
  bool signalled;         /* woken and not yet run again: one wake-up per
                             wait, however many frames arrive for it */
  struct wh_h2_waker waker; /* set: woken through it instead of efd */
  int lane;
  struct wh_h2_conn *hc;
  struct waiter *next;
};

struct wh_h2_stream {
  struct wh_h2_conn *hc;     /* referenced */
  struct wh_h2_stream *next; /* the connection's list (under its lock) */
  struct wh_h2_stream **pprev; /* what points at it in that list: leaving is O(1) */
  int32_t id;                /* 0 until submitted */
  bool active;               /* counted in hc->active */
  bool headers_sent, closed, ended, got_any, unprocessed;
  bool cancelled;
  size_t max_header_bytes;   /* the request's own limits on its heads */
  size_t max_header_count;
  uint32_t error;            /* RST_STREAM / GOAWAY code */
  DWORD head_err;            /* a head this engine refused */
  /* The response head being received, and the final one. */
  bool head_ready, in_trailers, have_trailers;
  unsigned interim;
  struct wh_resp_head head;
  size_t head_bytes;
  struct wh_headers trailers;
  /* Received body bytes the request has not taken. */
  unsigned char *q;
  size_t qlen, qcap;
  /* The request body the request has handed over. */
  const unsigned char *body;
  size_t body_len, body_off;
  bool body_last, body_eof, deferred;
  struct waiter w[2];
};

struct wh_h2_conn {
  pthread_mutex_t lock;
  atomic_int refs;        /* streams + the pool */
  struct wh_conn *c;
  nghttp2_session *ng;
  int ep, kick;
  bool kicked;            /* kick signalled, not yet drained */
  bool ep_out;            /* EPOLLOUT registered for the socket */
  unsigned char *obuf;
  size_t olen, ooff, ocap;
  unsigned char *rbuf;
  struct waiter *driver;  /* the side driving the connection, or NULL */
  struct wh_loop *driver_loop; /* the loop thread it drives from (NULL: a
                                  synchronous caller's thread) */
  struct waiter *waiters; /* listed followers */
  struct wh_h2_stream *streams;
  int pend[PEND_MAX];     /* eventfds to signal once the lock is released */
  unsigned npend;
  struct wh_h2_config cfg;
  atomic_bool dead, goaway;
  atomic_uint active;     /* streams open (or queued) on it */
  _Atomic int64_t idle_since;
  /* HTTP2_KEEPALIVE: a timer on a loop thread (it holds a reference while
   * it runs) sends a PING each interval; one left unanswered for a whole
   * interval means the peer is gone. */
  struct wh_loop *ka_loop;
  struct wh_watch ka_watch;
  struct wh_task ka_task;
  bool ping_outstanding;
  struct wh_h2_conn *pool_next; /* under pool_lock */
};

/* The stream of |id|: nghttp2 keeps each open stream's pointer (given at
 * submit, cleared when the stream leaves hc->streams), so the callbacks,
 * called for every frame and every header field, do not walk the list.
 * A stream nghttp2 has not opened yet (queued HEADERS that are then
 * refused) or no longer holds is looked for in the list. */
static struct wh_h2_stream *find(struct wh_h2_conn *hc, int32_t id)
{
  if (id <= 0)
    return NULL;
  struct wh_h2_stream *s = nghttp2_session_get_stream_user_data(hc->ng, id);
  if (s)
    return s;
  for (s = hc->streams; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

static void signal_waiter(struct waiter *w)
{
  if (w->signalled)
    return;
  w->signalled = true;
  if (w->waker.fn)
    w->waker.fn(w->waker.ctx, w->lane);
  else if (w->hc->npend < PEND_MAX)
    w->hc->pend[w->hc->npend++] = w->efd; /* sent by hc_unlock */
  else
    wh_cancel_fd_signal(w->efd);
}

/* Releases the lock, then wakes the threads signalled under it: a thread
 * woken while the lock is still held would only block on it. */
static void hc_unlock(struct wh_h2_conn *hc)
{
  int fds[PEND_MAX];
  unsigned n = hc->npend;
  memcpy(fds, hc->pend, n * sizeof(fds[0]));
  hc->npend = 0;
  pthread_mutex_unlock(&hc->lock);
  for (unsigned i = 0; i < n; i++)
    wh_cancel_fd_signal(fds[i]);
}

/* A synchronous waiter's wake-up: one eventfd per thread. They are never
 * closed (a thread that ends gives its one back for the next thread), so a
 * wake-up sent after the lock was released can only reach a thread that
 * takes it for a spurious one, never another file. */
static pthread_mutex_t wake_fds_lock = PTHREAD_MUTEX_INITIALIZER;
static int *spare_wake_fds;
static size_t nspare_wake_fds, cap_spare_wake_fds;
static _Thread_local int my_wake_fd = -1;
static pthread_key_t wake_key;
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

static void wake_fd_give_back(void *arg)
{
  int fd = (int)(intptr_t)arg - 1;
  pthread_mutex_lock(&wake_fds_lock);
  if (nspare_wake_fds == cap_spare_wake_fds) {
    size_t cap = cap_spare_wake_fds ? cap_spare_wake_fds * 2 : 16;
    int *p = wh_realloc(spare_wake_fds, cap * sizeof(*p));
    if (p) {
      spare_wake_fds = p;
      cap_spare_wake_fds = cap;
    }
  }
  if (nspare_wake_fds < cap_spare_wake_fds)
    spare_wake_fds[nspare_wake_fds++] = fd;
  /* else: kept open unused rather than closed (see above) */
  pthread_mutex_unlock(&wake_fds_lock);
}

static void wake_key_make(void)
{
  pthread_key_create(&wake_key, wake_fd_give_back);
}

static int thread_wake_fd(void)
{
  if (my_wake_fd >= 0)
    return my_wake_fd;
  pthread_once(&wake_once, wake_key_make);
  int fd = -1;
  pthread_mutex_lock(&wake_fds_lock);
  if (nspare_wake_fds)
    fd = spare_wake_fds[--nspare_wake_fds];
  pthread_mutex_unlock(&wake_fds_lock);
  if (fd >= 0)
    wh_cancel_fd_drain(fd); /* a late wake-up meant for its last thread */
  else
    fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    return -1;
  pthread_setspecific(wake_key, (void *)(intptr_t)(fd + 1));
  my_wake_fd = fd;
  return fd;
}

static void wake(struct wh_h2_stream *s)
{
  for (int i = 0; i < 2; i++)
    if (s->w[i].listed)
      signal_waiter(&s->w[i]);
}

static void deactivate(struct wh_h2_stream *s)
{
  if (!s->active)
    return;
  s->active = false;
  if (atomic_fetch_sub(&s->hc->active, 1) == 1)
    atomic_store(&s->hc->idle_since, wh_now_ms());
}

/* --- nghttp2's callbacks (under the connection's lock, from pump) ------------ */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
  (void)ng;
  struct wh_h2_conn *hc = ud;
  struct wh_h2_stream *s = find(hc, f->hd.stream_id);
  if (!s || f->hd.type != NGHTTP2_HEADERS)
    return 0;
  s->got_any = true;
  struct wh_headers *h;
  if (s->head_ready) {
    s->in_trailers = true;
    h = &s->trailers;
    wh_headers_free(h);
  } else {
    wh_resp_head_free(&s->head);
    s->head_bytes = 0;
    h = &s->head.headers;
  }
  wh_headers_init(h);
  wh_headers_set_limits(h, s->max_header_bytes, s->max_header_count);
  /* One block for the fields (net of HPACK they are a few times the
   * frame's length; the rest, if any, gets blocks of its own). */
  size_t guess = (size_t)f->hd.length * 4 + 64;
  wh_headers_reserve(h, 8, guess < 16384 ? guess : 16384);
  return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
  (void)ng;
  (void)flags;
  struct wh_h2_conn *hc = ud;
  struct wh_h2_stream *s = find(hc, f->hd.stream_id);
  if (!s)
    return 0;
  if (nlen > 0 && name[0] == ':') {
    /* nghttp2 checked the pseudo-headers (RFC 9113 §8.3.2): :status is
     * three digits. */
    if (!s->in_trailers && nlen == 7 && memcmp(name, ":status", 7) == 0 && vlen == 3)
      s->head.status = (unsigned)(value[0] - '0') * 100 + (unsigned)(value[1] - '0') * 10 +
                       (unsigned)(value[2] - '0');
    return 0;
  }
  struct wh_headers *h = s->in_trailers ? &s->trailers : &s->head.headers;
  DWORD err = wh_headers_apply_one(h, (const char *)name, nlen, (const char *)value, vlen,
                                   WINHTTP_ADDREQ_FLAG_ADD);
  if (err != ERROR_SUCCESS) {
    /* Too many or too large fields, or out of memory: this stream fails
     * (nghttp2 resets it); the connection and other streams go on. */
    s->head_err = err == ERROR_WINHTTP_INVALID_HEADER ? ERROR_WINHTTP_INVALID_SERVER_RESPONSE
                                                       : err;
    wake(s);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  s->head_bytes += nlen + vlen + 4;
  return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
  (void)ng;
  struct wh_h2_conn *hc = ud;
  if (f->hd.type == NGHTTP2_PING) {
    if (f->hd.flags & NGHTTP2_FLAG_ACK)
      hc->ping_outstanding = false; /* the keepalive's answer */
    return 0;
  }
  if (f->hd.type == NGHTTP2_GOAWAY) {
    /* No new streams on this connection; streams above last_stream_id are
     * closed by nghttp2 with REFUSED_STREAM (unprocessed: sent again). */
    atomic_store(&hc->goaway, true);
    for (struct wh_h2_stream *s = hc->streams; s; s = s->next)
      if (s->id > f->goaway.last_stream_id || s->id == 0) {
        s->unprocessed = true;
        if (!s->error)
          s->error = f->goaway.error_code;
        wake(s);
      }
    return 0;
  }
  struct wh_h2_stream *s = find(hc, f->hd.stream_id);
  if (!s)
    return 0;
  if (f->hd.type == NGHTTP2_RST_STREAM) {
    s->got_any = true; /* the server's answer: a reset, not a lost request */
    return 0;
  }
  if (f->hd.type == NGHTTP2_HEADERS) {
    if (s->in_trailers) {
      s->in_trailers = false;
      s->have_trailers = true;
    } else if (s->head.status >= 100 && s->head.status < 200) {
      s->interim++; /* 1xx: the final response follows */
    } else {
      s->head_ready = true;
    }
  } else if (f->hd.type != NGHTTP2_DATA) {
    return 0;
  }
  if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
    s->ended = true;
  wake(s);
  return 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *ud)
{
  (void)flags;
  struct wh_h2_conn *hc = ud;
  struct wh_h2_stream *s = find(hc, id);
  if (!s) {
    /* A stream whose request is gone: the bytes count for nothing. */
    nghttp2_session_consume(ng, id, len);
    return 0;
  }
  s->got_any = true;
  if (s->qcap - s->qlen < len) {
    size_t cap = s->qcap ? s->qcap : 16384;
    while (cap - s->qlen < len)
      cap *= 2;
    unsigned char *p = wh_realloc(s->q, cap);
    if (!p) {
      s->head_err = ERROR_NOT_ENOUGH_MEMORY;
      wake(s);
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    s->q = p;
    s->qcap = cap;
  }
  memcpy(s->q + s->qlen, data, len);
  s->qlen += len;
  wake(s);
  return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
  (void)ng;
  struct wh_h2_conn *hc = ud;
  struct wh_h2_stream *s = find(hc, id);
  if (!s)
    return 0;
  s->closed = true;
  if (code) {
    s->error = code;
    if (code == NGHTTP2_REFUSED_STREAM)
      s->unprocessed = true;
  }
  deactivate(s);
  wake(s);
  return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
  (void)ng;
  struct wh_h2_conn *hc = ud;
  if (f->hd.type != NGHTTP2_HEADERS)
    return 0;
  struct wh_h2_stream *s = find(hc, f->hd.stream_id);
  if (s) {
    s->headers_sent = true;
    wake(s);
  }
  return 0;
}

static int on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *f, int lib_error, void *ud)
{
  (void)ng;
  (void)lib_error;
  struct wh_h2_conn *hc = ud;
  if (f->hd.type != NGHTTP2_HEADERS)
    return 0;
  struct wh_h2_stream *s = find(hc, f->hd.stream_id);
  if (s) {
    /* Never sent (the connection is going away): the server never saw it. */
    s->closed = true;
    s->unprocessed = true;
    s->error = NGHTTP2_REFUSED_STREAM;
    deactivate(s);
    wake(s);
  }
  return 0;
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
  (void)ng;
  (void)src;
  struct wh_h2_conn *hc = ud;
  struct wh_h2_stream *s = find(hc, id);
  if (!s)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  size_t left = s->body_len - s->body_off;
  if (left == 0 && !s->body_last) {
    s->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  size_t n = left < length ? left : length;
  if (n)
    memcpy(buf, s->body + s->body_off, n);
  s->body_off += n;
  if (s->body_off == s->body_len) {
    if (s->body_last) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      s->body_eof = true;
    }
    wake(s); /* the caller's buffer is free again */
  }
  return (ssize_t)n;
}

/* --- moving bytes --------------------------------------------------------------- */

static void set_ep_out(struct wh_h2_conn *hc, bool out)
{
  if (out == hc->ep_out)
    return;
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.fd = hc->c->fd};
  if (epoll_ctl(hc->ep, EPOLL_CTL_MOD, hc->c->fd, &ev) == 0)
    hc->ep_out = out;
}

/* Writes what nghttp2 has to send, gathering frames first; leaves the
 * rest in obuf when the socket is full. */
static DWORD flush(struct wh_h2_conn *hc)
{
  for (;;) {
    while (hc->olen - hc->ooff < OBUF_GATHER) {
      const uint8_t *d;
      ssize_t n = nghttp2_session_mem_send(hc->ng, &d);
      if (n < 0)
        return ERROR_WINHTTP_CONNECTION_ERROR;
      if (n == 0)
        break;
      if (hc->ooff > 0 && hc->ooff == hc->olen)
        hc->ooff = hc->olen = 0;
      if (hc->ocap - hc->olen < (size_t)n) {
        if (hc->ooff > 0) {
          memmove(hc->obuf, hc->obuf + hc->ooff, hc->olen - hc->ooff);
          hc->olen -= hc->ooff;
          hc->ooff = 0;
        }
        size_t cap = hc->ocap ? hc->ocap : 16384;
        while (cap - hc->olen < (size_t)n)
          cap *= 2;
        if (cap != hc->ocap) {
          unsigned char *p = wh_realloc(hc->obuf, cap);
          if (!p)
            return ERROR_NOT_ENOUGH_MEMORY;
          hc->obuf = p;
          hc->ocap = cap;
        }
      }
      memcpy(hc->obuf + hc->olen, d, (size_t)n);
      hc->olen += (size_t)n;
    }
    if (hc->ooff == hc->olen) {
      hc->ooff = hc->olen = 0;
      return ERROR_SUCCESS;
    }
    size_t w = 0;
    short ev = 0;
    DWORD err = wh_conn_send(hc->c, hc->obuf + hc->ooff, hc->olen - hc->ooff, &w, &ev);
    if (err == ERROR_IO_PENDING)
      return ERROR_SUCCESS; /* the driver waits for EPOLLOUT */
    if (err != ERROR_SUCCESS)
      return err;
    hc->ooff += w;
  }
}

static bool output_queued(struct wh_h2_conn *hc)
{
  return hc->olen > hc->ooff;
}

/* The connection failed: every stream's waits end. */
static void conn_kill(struct wh_h2_conn *hc)
{
  atomic_store(&hc->dead, true);
  for (struct wh_h2_stream *s = hc->streams; s; s = s->next)
    wake(s);
}

/* Reads what the socket has, feeds it to nghttp2, writes what nghttp2
 * answers. Never blocks; called with the lock held. (Letting the lock go
 * around each read was measured with 8 synchronous threads on one
 * connection: no gain.) */
static DWORD pump(struct wh_h2_conn *hc)
{
  if (hc->kicked) {
    wh_cancel_fd_drain(hc->kick);
    hc->kicked = false;
  }
  for (;;) {
    size_t n = 0;
    short ev = 0;
    DWORD err = wh_conn_recv(hc->c, hc->rbuf, RBUF_SIZE, &n, &ev);
    if (err == ERROR_IO_PENDING)
      break;
    if (err != ERROR_SUCCESS)
      return err;
    if (n == 0)
      return ERROR_WINHTTP_CONNECTION_ERROR; /* closed: streams not ended fail */
    ssize_t rv = nghttp2_session_mem_recv(hc->ng, hc->rbuf, n);
    if (rv < 0) {
      flush(hc); /* the GOAWAY nghttp2 queued for the error, if it can go */
      return ERROR_WINHTTP_CONNECTION_ERROR;
    }
    if (n < RBUF_SIZE && wh_conn_pending(hc->c) == 0)
      break; /* drained (the epoll descriptor says when more comes) */
  }
  DWORD err = flush(hc);
  if (err != ERROR_SUCCESS)
    return err;
  if (!nghttp2_session_want_read(hc->ng) && !nghttp2_session_want_write(hc->ng))
    return ERROR_WINHTTP_CONNECTION_ERROR; /* both sides said GOAWAY */
  return ERROR_SUCCESS;
}

/* Output queued by a side that is not driving (a new stream's HEADERS, a
 * WINDOW_UPDATE after a read, request body bytes). When the driver runs on
 * this same loop thread, it is kicked and writes everything queued
 * meanwhile at once, after the callbacks in progress (64 new streams
 * started from 64 callbacks leave in one write, as a load generator sends
 * them). Otherwise the bytes are written now: waking another thread to
 * write them would cost more than the write. */
static void push_output(struct wh_h2_conn *hc)
{
  if (atomic_load(&hc->dead))
    return;
  if (hc->driver && hc->driver_loop && hc->driver_loop == wh_loop_current()) {
    if (!hc->kicked) {
      hc->kicked = true;
      wh_cancel_fd_signal(hc->kick);
    }
    return;
  }
  if (flush(hc) != ERROR_SUCCESS)
    conn_kill(hc);
  else if (output_queued(hc) && hc->driver && !hc->kicked) {
    hc->kicked = true; /* the socket is full: the driver adds EPOLLOUT */
    wh_cancel_fd_signal(hc->kick);
  }
}

/* --- the connection ---------------------------------------------------------------- */

static void conn_free(struct wh_h2_conn *hc)
{
  if (hc->ng)
    nghttp2_session_del(hc->ng);
  wh_conn_free(hc->c);
  if (hc->ep >= 0)
    close(hc->ep);
  if (hc->kick >= 0)
    close(hc->kick);
  wh_free(hc->obuf);
  wh_free(hc->rbuf);
  pthread_mutex_destroy(&hc->lock);
  wh_free(hc);
}

static void conn_unref(struct wh_h2_conn *hc)
{
  if (hc && atomic_fetch_sub(&hc->refs, 1) == 1)
    conn_free(hc);
}

void wh_h2_conn_unref(struct wh_h2_conn *hc)
{
  conn_unref(hc);
}

/* nghttp2's callback table and options are the same for every connection:
 * made once (out of memory leaves them NULL and connections fail). */
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static nghttp2_session_callbacks *cbs;
static nghttp2_option *opts;

static void setup(void)
{
  if (nghttp2_session_callbacks_new(&cbs) != 0) {
    cbs = NULL;
    return;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_send);
  if (nghttp2_option_new(&opts) != 0) {
    nghttp2_session_callbacks_del(cbs);
    cbs = NULL;
    opts = NULL;
    return;
  }
  /* Windows are reopened as the application reads (wh_h2_take_data), not
   * as bytes arrive: a reader that stops stalls its own stream only. */
  nghttp2_option_set_no_auto_window_update(opts, 1);
  /* Until the server's SETTINGS arrive, one stream at a time: a server with
   * a small MAX_CONCURRENT_STREAMS is never sent more than it allows. */
  nghttp2_option_set_peer_max_concurrent_streams(opts, 1);
}

static void ka_tick(struct wh_watch *w, bool timed_out);
static void ka_start(struct wh_task *t);

DWORD wh_h2_conn_new(struct wh_conn *c, const struct wh_h2_config *cfg, struct wh_h2_conn **out)
{
  *out = NULL;
  pthread_once(&setup_once, setup);
  struct wh_h2_conn *hc = wh_calloc(1, sizeof(*hc));
  if (!hc || !cbs) {
    wh_free(hc);
    wh_conn_free(c);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  pthread_mutex_init(&hc->lock, NULL);
  atomic_init(&hc->refs, 1);
  hc->c = c;
  hc->cfg = *cfg;
  hc->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  hc->ep = epoll_create1(EPOLL_CLOEXEC);
  hc->rbuf = wh_malloc(RBUF_SIZE);
  atomic_store(&hc->idle_since, wh_now_ms());
  struct epoll_event sev = {.events = EPOLLIN, .data.fd = c->fd};
  struct epoll_event kev = {.events = EPOLLIN, .data.fd = hc->kick};
  DWORD err = ERROR_SUCCESS;
  if (hc->kick < 0 || hc->ep < 0 || !hc->rbuf ||
      epoll_ctl(hc->ep, EPOLL_CTL_ADD, c->fd, &sev) != 0 ||
      epoll_ctl(hc->ep, EPOLL_CTL_ADD, hc->kick, &kev) != 0 ||
      nghttp2_session_client_new2(&hc->ng, cbs, hc, opts) != 0)
    err = ERROR_NOT_ENOUGH_MEMORY;
  if (err == ERROR_SUCCESS) {
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}, /* server push refused */
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, cfg->stream_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, cfg->max_header_bytes},
    };
    if (nghttp2_submit_settings(hc->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0 ||
        nghttp2_session_set_local_window_size(hc->ng, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW) != 0)
      err = ERROR_NOT_ENOUGH_MEMORY;
  }
  if (err == ERROR_SUCCESS && cfg->keepalive_ms) {
    /* Any loop thread: the timer's work is a PING now and then. */
    hc->ka_loop = wh_loop_pick_for((uint32_t)c->fd);
    if (!hc->ka_loop)
      err = ERROR_NOT_ENOUGH_MEMORY;
  }
  if (err != ERROR_SUCCESS) {
    conn_free(hc);
    return err;
  }
  if (hc->ka_loop) {
    atomic_fetch_add(&hc->refs, 1); /* the timer's */
    hc->ka_watch.ready = ka_tick;
    hc->ka_task.run = ka_start;
    wh_loop_post(hc->ka_loop, &hc->ka_task);
  }
  *out = hc;
  return ERROR_SUCCESS;
}

struct wh_conn *wh_h2_conn_transport(struct wh_h2_conn *hc)
{
  return hc->c;
}

/* --- the pool ------------------------------------------------------------------------ */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wh_h2_conn *pool_head;
static unsigned pool_count;

static bool pool_key_eq(const struct wh_conn_key *a, const struct wh_conn_key *b)
{
  return a->port == b->port && a->secure == b->secure && a->h2 == b->h2 &&
         a->security_flags == b->security_flags && a->protocols == b->protocols &&
         a->revocation == b->revocation && wh_conn_key_client_eq(a, b) &&
         strcmp(a->host, b->host) == 0 && strcmp(a->proxy, b->proxy) == 0;
}

static bool retired(struct wh_h2_conn *hc, int64_t now)
{
  return atomic_load(&hc->dead) || atomic_load(&hc->goaway) ||
         (atomic_load(&hc->active) == 0 && now - atomic_load(&hc->idle_since) > WH_POOL_IDLE_MS);
}

/* --- HTTP2_KEEPALIVE ---------------------------------------------------------------- */

static struct wh_h2_conn *of_ka_watch(struct wh_watch *w)
{
  return (struct wh_h2_conn *)(void *)((char *)w - offsetof(struct wh_h2_conn, ka_watch));
}

static struct wh_h2_conn *of_ka_task(struct wh_task *t)
{
  return (struct wh_h2_conn *)(void *)((char *)t - offsetof(struct wh_h2_conn, ka_task));
}

static void ka_arm(struct wh_h2_conn *hc)
{
  if (wh_loop_watch(hc->ka_loop, &hc->ka_watch, -1, 0, wh_now_ms() + hc->cfg.keepalive_ms) != 0) {
    /* Out of memory for the timer: the promise of a checked connection
     * cannot be kept, so it takes no new streams. */
    atomic_store(&hc->goaway, true);
    conn_unref(hc);
  }
}

/* On the timer's loop thread, each interval. */
static void ka_tick(struct wh_watch *w, bool timed_out)
{
  (void)timed_out;
  struct wh_h2_conn *hc = of_ka_watch(w);
  pthread_mutex_lock(&hc->lock);
  bool stop = atomic_load(&hc->dead) ||
              (atomic_load(&hc->active) == 0 && retired(hc, wh_now_ms()));
  if (!stop) {
    /* Nobody reading: read what came (the last PING's answer, a GOAWAY). */
    if (!hc->driver && pump(hc) != ERROR_SUCCESS) {
      conn_kill(hc);
      stop = true;
    } else if (hc->ping_outstanding) {
      conn_kill(hc); /* no answer for a whole interval: the peer is gone */
      stop = true;
    } else if (nghttp2_submit_ping(hc->ng, NGHTTP2_FLAG_NONE, NULL) == 0) {
      hc->ping_outstanding = true;
      push_output(hc);
    }
  }
  hc_unlock(hc);
  if (stop)
    conn_unref(hc); /* the timer's reference */
  else
    ka_arm(hc);
}

static void ka_start(struct wh_task *t)
{
  ka_arm(of_ka_task(t));
}

/* Unlinks retired connections (under pool_lock) onto |*gone|. */
static void pool_sweep(struct wh_h2_conn **gone, int64_t now)
{
  for (struct wh_h2_conn **pp = &pool_head; *pp;) {
    struct wh_h2_conn *hc = *pp;
    if (retired(hc, now)) {
      *pp = hc->pool_next;
      pool_count--;
      hc->pool_next = *gone;
      *gone = hc;
    } else {
      pp = &hc->pool_next;
    }
  }
}

static void unref_list(struct wh_h2_conn *gone)
{
  while (gone) {
    struct wh_h2_conn *next = gone->pool_next;
    conn_unref(gone);
    gone = next;
  }
}

void wh_h2_pool_add(struct wh_h2_conn *hc)
{
  struct wh_h2_conn *gone = NULL;
  pthread_mutex_lock(&pool_lock);
  pool_sweep(&gone, wh_now_ms());
  if (pool_count < POOL_MAX) {
    atomic_fetch_add(&hc->refs, 1);
    hc->pool_next = pool_head;
    pool_head = hc;
    pool_count++;
  }
  pthread_mutex_unlock(&pool_lock);
  unref_list(gone);
}

void wh_h2_pool_clear(void)
{
  struct wh_h2_conn *gone = NULL;
  pthread_mutex_lock(&pool_lock);
  for (struct wh_h2_conn **pp = &pool_head; *pp;) {
    struct wh_h2_conn *hc = *pp;
    if (atomic_load(&hc->active) == 0) {
      *pp = hc->pool_next;
      pool_count--;
      hc->pool_next = gone;
      gone = hc;
    } else {
      pp = &hc->pool_next;
    }
  }
  pthread_mutex_unlock(&pool_lock);
  unref_list(gone);
}

/* Connects in progress per origin, and who waits for them. The tables are
 * small: past them a request simply connects on its own. */
#define PENDING_MAX 32
#define PENDING_WAITERS 64
static struct {
  struct wh_conn_key key;
  bool used;
  unsigned nwait;
  int wait[PENDING_WAITERS];
} pending[PENDING_MAX];

bool wh_h2_pool_connect_begin(const struct wh_conn_key *key, int wake_fd)
{
  bool connect = true;
  int free_slot = -1;
  pthread_mutex_lock(&pool_lock);
  for (int i = 0; i < PENDING_MAX; i++) {
    if (!pending[i].used) {
      if (free_slot < 0)
        free_slot = i;
      continue;
    }
    if (!pool_key_eq(&pending[i].key, key))
      continue;
    if (pending[i].nwait < PENDING_WAITERS && wake_fd >= 0) {
      pending[i].wait[pending[i].nwait++] = wake_fd;
      connect = false;
    }
    free_slot = -2; /* in progress: never a second entry */
    break;
  }
  if (free_slot >= 0) {
    pending[free_slot].used = true;
    pending[free_slot].key = *key;
    pending[free_slot].nwait = 0;
  }
  pthread_mutex_unlock(&pool_lock);
  return connect;
}

void wh_h2_pool_connect_done(const struct wh_conn_key *key)
{
  pthread_mutex_lock(&pool_lock);
  for (int i = 0; i < PENDING_MAX; i++) {
    if (!pending[i].used || !pool_key_eq(&pending[i].key, key))
      continue;
    for (unsigned k = 0; k < pending[i].nwait; k++)
      wh_cancel_fd_signal(pending[i].wait[k]);
    pending[i].used = false;
    pending[i].nwait = 0;
    break;
  }
  pthread_mutex_unlock(&pool_lock);
}

void wh_h2_pool_connect_unwait(int wake_fd)
{
  pthread_mutex_lock(&pool_lock);
  for (int i = 0; i < PENDING_MAX; i++)
    for (unsigned k = 0; pending[i].used && k < pending[i].nwait; k++)
      if (pending[i].wait[k] == wake_fd) {
        pending[i].wait[k] = pending[i].wait[--pending[i].nwait];
        break;
      }
  pthread_mutex_unlock(&pool_lock);
}

static DWORD stream_attach(struct wh_h2_conn *hc, struct wh_h2_stream **out);

struct wh_h2_stream *wh_h2_pool_join(const struct wh_conn_key *key, bool need_slot)
{
  int64_t now = wh_now_ms();
  for (int tries = 0; tries < 4; tries++) {
    struct wh_h2_conn *gone = NULL, *hc = NULL;
    pthread_mutex_lock(&pool_lock);
    pool_sweep(&gone, now);
    for (struct wh_h2_conn *p = pool_head; p; p = p->pool_next)
      if (pool_key_eq(&p->c->key, key)) {
        hc = p;
        atomic_fetch_add(&hc->refs, 1);
        break;
      }
    pthread_mutex_unlock(&pool_lock);
    unref_list(gone);
    if (!hc)
      return NULL;
    struct wh_h2_stream *s = NULL;
    pthread_mutex_lock(&hc->lock);
    /* An idle connection nobody reads may hold a GOAWAY or the server's
     * close: read what is there first (the probe HTTP/1.1 pooling does).
     * One with streams in flight is read by their sides soon enough. */
    if (!hc->driver && atomic_load(&hc->active) == 0 && !atomic_load(&hc->dead) &&
        pump(hc) != ERROR_SUCCESS)
      conn_kill(hc);
    bool full = need_slot && atomic_load(&hc->active) >=
                                 nghttp2_session_get_remote_settings(
                                     hc->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    bool usable = !atomic_load(&hc->dead) && !atomic_load(&hc->goaway) && !full;
    if (usable && stream_attach(hc, &s) != ERROR_SUCCESS)
      s = NULL;
    hc_unlock(hc);
    conn_unref(hc); /* the stream holds its own */
    if (s || (usable && !s) || full)
      return s; /* joined; out of memory; or full (a new connection) */
  }
  return NULL;
}

/* --- streams --------------------------------------------------------------------------- */

/* Under hc->lock. */
static DWORD stream_attach(struct wh_h2_conn *hc, struct wh_h2_stream **out)
{
  struct wh_h2_stream *s = wh_calloc(1, sizeof(*s));
  if (!s)
    return ERROR_NOT_ENOUGH_MEMORY;
  s->hc = hc;
  atomic_fetch_add(&hc->refs, 1);
  s->w[0].efd = s->w[1].efd = -1;
  s->max_header_bytes = hc->cfg.max_header_bytes;
  s->max_header_count = hc->cfg.max_header_count;
  s->w[0].hc = s->w[1].hc = hc;
  wh_headers_init(&s->trailers);
  s->next = hc->streams;
  if (s->next)
    s->next->pprev = &s->next;
  hc->streams = s;
  s->pprev = &hc->streams;
  s->active = true;
  atomic_fetch_add(&hc->active, 1);
  *out = s;
  return ERROR_SUCCESS;
}

DWORD wh_h2_stream_open(struct wh_h2_conn *hc, struct wh_h2_stream **out)
{
  pthread_mutex_lock(&hc->lock);
  DWORD err = stream_attach(hc, out);
  hc_unlock(hc);
  return err;
}

struct wh_h2_conn *wh_h2_stream_conn(struct wh_h2_stream *s)
{
  return s->hc;
}

void wh_h2_stream_limits(struct wh_h2_stream *s, size_t max_bytes, size_t max_count)
{
  pthread_mutex_lock(&s->hc->lock);
  s->max_header_bytes = max_bytes;
  s->max_header_count = max_count;
  hc_unlock(s->hc);
}

DWORD wh_h2_submit(struct wh_h2_stream *s, const struct wh_h2_field *f, size_t n, bool body)
{
  nghttp2_nv *nv = wh_calloc(n ? n : 1, sizeof(*nv));
  if (!nv)
    return ERROR_NOT_ENOUGH_MEMORY;
  for (size_t i = 0; i < n; i++) {
    nv[i].name = (uint8_t *)(uintptr_t)f[i].name;
    nv[i].namelen = f[i].name_len;
    nv[i].value = (uint8_t *)(uintptr_t)f[i].value;
    nv[i].valuelen = f[i].value_len;
    nv[i].flags = NGHTTP2_NV_FLAG_NONE;
  }
  struct wh_h2_conn *hc = s->hc;
  nghttp2_data_provider dp = {.source.ptr = NULL, .read_callback = read_body};
  pthread_mutex_lock(&hc->lock);
  DWORD err = ERROR_SUCCESS;
  if (atomic_load(&hc->dead) || atomic_load(&hc->goaway)) {
    s->unprocessed = true;
    err = ERROR_WINHTTP_CONNECTION_ERROR;
  } else {
    int32_t id = nghttp2_submit_request(hc->ng, NULL, nv, n, body ? &dp : NULL, s);
    if (id < 0)
      err = id == NGHTTP2_ERR_NOMEM ? ERROR_NOT_ENOUGH_MEMORY : ERROR_WINHTTP_CONNECTION_ERROR;
    else
      s->id = id;
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE)
      s->unprocessed = true; /* the connection ran out of stream ids */
  }
  if (err == ERROR_SUCCESS)
    push_output(hc);
  hc_unlock(hc);
  wh_free(nv); /* nghttp2 copied the fields */
  return err;
}

DWORD wh_h2_give_body(struct wh_h2_stream *s, const void *p, size_t len, bool last)
{
  struct wh_h2_conn *hc = s->hc;
  pthread_mutex_lock(&hc->lock);
  s->body = p;
  s->body_len = len;
  s->body_off = 0;
  s->body_last = last;
  if (s->deferred && s->id > 0 && !s->closed) {
    s->deferred = false;
    nghttp2_session_resume_data(hc->ng, s->id);
    push_output(hc);
  }
  hc_unlock(hc);
  return ERROR_SUCCESS;
}

static bool body_given_out(const struct wh_h2_stream *s)
{
  return s->headers_sent && s->body_off == s->body_len && (!s->body_last || s->body_eof);
}

/* Whether |need| is met (ERROR_SUCCESS), not yet (ERROR_IO_PENDING), or
 * can no longer be. */
static DWORD check(struct wh_h2_conn *hc, struct wh_h2_stream *s, enum wh_h2_need need)
{
  if (s->head_err)
    return s->head_err;
  switch (need) {
  case WH_H2_NEED_SENT:
    if (body_given_out(s))
      return ERROR_SUCCESS;
    /* The server answered in full and closed the stream before taking
     * the whole body: there is nothing left to send it for. */
    if (s->closed && s->ended && s->error == 0)
      return ERROR_SUCCESS;
    break;
  case WH_H2_NEED_HEAD:
    if (s->head_ready)
      return ERROR_SUCCESS;
    break;
  case WH_H2_NEED_DATA:
    if (s->qlen > 0 || s->ended)
      return ERROR_SUCCESS;
    break;
  }
  if (s->closed || s->cancelled || atomic_load(&hc->dead))
    return ERROR_WINHTTP_CONNECTION_ERROR;
  return ERROR_IO_PENDING;
}

static void unlist(struct wh_h2_conn *hc, struct waiter *w)
{
  if (!w->listed)
    return;
  for (struct waiter **pp = &hc->waiters; *pp; pp = &(*pp)->next)
    if (*pp == w) {
      *pp = w->next;
      break;
    }
  w->listed = false;
  w->next = NULL;
}

/* The driver is done: the first follower not woken yet (if any) takes
 * over. One already woken (its data came in the driver's last pump) may
 * find its stream served and return without waiting again: waking it
 * again would be a no-op, and the other followers would wait for a
 * driver that never comes (a stall seen as ERROR_WINHTTP_TIMEOUT in
 * test_h2_sync's and test_h2_stress's threads under load). */
static void hand_off(struct wh_h2_conn *hc)
{
  hc->driver = NULL;
  for (struct waiter *w = hc->waiters; w; w = w->next)
    if (!w->signalled) {
      signal_waiter(w);
      return;
    }
}

static void arm(int64_t *deadline, DWORD timeout, int64_t limit)
{
  if (*deadline == 0)
    *deadline = wh_deadline(timeout);
  if (limit < *deadline)
    *deadline = limit;
}

DWORD wh_h2_wait(struct wh_h2_stream *s, int lane, enum wh_h2_need need, DWORD timeout,
                 int64_t limit, const struct wh_h2_waker *waker, int64_t *deadline, int *fd,
                 short *events)
{
  struct wh_h2_conn *hc = s->hc;
  struct waiter *w = &s->w[lane];
  pthread_mutex_lock(&hc->lock);
  /* Woken (or timed out) from a wait on this thread's eventfd: consume it,
   * including a late wake-up meant for an earlier wait. */
  if (w->waited_efd && w->efd == my_wake_fd)
    wh_cancel_fd_drain(w->efd);
  w->waited_efd = false;
  w->signalled = false;
  unlist(hc, w);
  DWORD err;
  for (int round = 0;; round++) {
    err = check(hc, s, need);
    if (err != ERROR_IO_PENDING || round > 0)
      break;
    if (hc->driver && hc->driver != w)
      break; /* a follower: wait to be woken */
    hc->driver = w;
    hc->driver_loop = wh_loop_current();
    DWORD perr = pump(hc);
    if (perr != ERROR_SUCCESS)
      conn_kill(hc);
  }
  if (err != ERROR_IO_PENDING) {
    if (hc->driver == w)
      hand_off(hc);
  } else if (hc->driver == w) {
    set_ep_out(hc, output_queued(hc));
    *fd = hc->ep;
    *events = POLLIN;
    arm(deadline, timeout, limit);
  } else {
    w->lane = lane;
    w->waker = waker ? *waker : (struct wh_h2_waker){NULL, NULL};
    w->efd = w->waker.fn ? -1 : thread_wake_fd();
    if (!w->waker.fn && w->efd < 0) {
      err = ERROR_NOT_ENOUGH_MEMORY;
    } else {
      w->listed = true;
      w->next = hc->waiters;
      hc->waiters = w;
      w->waited_efd = !w->waker.fn;
      *fd = w->waker.fn ? -1 : w->efd;
      *events = w->waker.fn ? 0 : POLLIN;
      arm(deadline, timeout, limit);
    }
  }
  hc_unlock(hc);
  return err;
}

void wh_h2_leave(struct wh_h2_stream *s, int lane)
{
  struct wh_h2_conn *hc = s->hc;
  struct waiter *w = &s->w[lane];
  pthread_mutex_lock(&hc->lock);
  if (w->waited_efd && w->efd == my_wake_fd)
    wh_cancel_fd_drain(w->efd); /* ended while waiting: leave the thread's eventfd clean */
  w->waited_efd = false;
  unlist(hc, w);
  if (hc->driver == w)
    hand_off(hc);
  hc_unlock(hc);
}

void wh_h2_take_head(struct wh_h2_stream *s, struct wh_resp_head *out, size_t *bytes)
{
  pthread_mutex_lock(&s->hc->lock);
  wh_resp_head_free(out);
  *out = s->head;
  out->version_major = 2;
  out->version_minor = 0;
  memset(&s->head, 0, sizeof(s->head));
  *bytes = s->head_bytes;
  hc_unlock(s->hc);
}

unsigned wh_h2_interim_count(struct wh_h2_stream *s)
{
  pthread_mutex_lock(&s->hc->lock);
  unsigned n = s->interim;
  hc_unlock(s->hc);
  return n;
}

size_t wh_h2_take_data(struct wh_h2_stream *s, unsigned char **buf, size_t *cap, bool *ended)
{
  struct wh_h2_conn *hc = s->hc;
  pthread_mutex_lock(&hc->lock);
  size_t n = s->qlen;
  if (n) {
    unsigned char *mine = *buf;
    size_t mycap = *cap;
    *buf = s->q;
    *cap = s->qcap;
    s->q = mine;
    s->qcap = mycap;
    s->qlen = 0;
    if (s->id > 0 && !s->closed) {
      nghttp2_session_consume(hc->ng, s->id, n);
    } else {
      nghttp2_session_consume_connection(hc->ng, n);
    }
    push_output(hc); /* the WINDOW_UPDATE */
  }
  *ended = s->ended && s->qlen == 0;
  hc_unlock(hc);
  return n;
}

void wh_h2_take_trailers(struct wh_h2_stream *s, struct wh_headers *out)
{
  pthread_mutex_lock(&s->hc->lock);
  wh_headers_free(out);
  if (s->have_trailers) {
    *out = s->trailers;
    wh_headers_init(&s->trailers);
    s->have_trailers = false;
  } else {
    wh_headers_init(out);
  }
  hc_unlock(s->hc);
}

uint32_t wh_h2_stream_error(struct wh_h2_stream *s, bool *unprocessed, bool *untouched)
{
  pthread_mutex_lock(&s->hc->lock);
  uint32_t e = s->error;
  *unprocessed = s->unprocessed;
  *untouched = !s->got_any;
  hc_unlock(s->hc);
  return e;
}

bool wh_h2_stream_ended(struct wh_h2_stream *s)
{
  pthread_mutex_lock(&s->hc->lock);
  bool e = s->ended;
  hc_unlock(s->hc);
  return e;
}

/* Under hc->lock: resets |s| on the wire unless it already ended. */
static void reset_locked(struct wh_h2_conn *hc, struct wh_h2_stream *s)
{
  if (s->id > 0 && !s->closed && !atomic_load(&hc->dead)) {
    nghttp2_submit_rst_stream(hc->ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
    push_output(hc);
  }
}

void wh_h2_stream_cancel(struct wh_h2_stream *s)
{
  struct wh_h2_conn *hc = s->hc;
  pthread_mutex_lock(&hc->lock);
  if (!(s->ended && s->closed))
    reset_locked(hc, s);
  s->cancelled = true;
  wake(s);
  hc_unlock(hc);
}

void wh_h2_stream_release(struct wh_h2_stream *s)
{
  if (!s)
    return;
  struct wh_h2_conn *hc = s->hc;
  pthread_mutex_lock(&hc->lock);
  for (int i = 0; i < 2; i++) {
    unlist(hc, &s->w[i]);
    if (hc->driver == &s->w[i])
      hand_off(hc);
  }
  /* A stream that ended but was not closed yet (its request body still
   * open) is reset too: the response is complete, the rest is moot. */
  if (!s->closed)
    reset_locked(hc, s);
  if (s->qlen && !atomic_load(&hc->dead))
    nghttp2_session_consume_connection(hc->ng, s->qlen);
  deactivate(s);
  *s->pprev = s->next;
  if (s->next)
    s->next->pprev = s->pprev;
  if (s->id > 0)
    (void)nghttp2_session_set_stream_user_data(hc->ng, s->id, NULL); /* fails once closed: fine */
  hc_unlock(hc);
  wh_resp_head_free(&s->head);
  wh_headers_free(&s->trailers);
  wh_free(s->q);
  wh_free(s);
  conn_unref(hc);
}
