/* see websocket.h */
#include "core/websocket.h"

#include <poll.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/exchange.h"
#include "core/handle.h"
#include "core/ws_steps.h"
#include "net/wait.h"
#include "util/mem.h"

/* --- the object ------------------------------------------------------------------- */

static void ws_close_hook(struct wh_object *o)
{
  struct wh_websocket *ws = wh_websocket_of(o);
  pthread_mutex_lock(&o->lock);
  ws->closing = true;
  for (int i = 0; i < 2; i++)
    if (ws->waiting_fd[i] >= 0)
      wh_cancel_fd_signal(ws->waiting_fd[i]);
  pthread_mutex_unlock(&o->lock);
  /* Operations in flight on the loop end cancelled there (C7). */
  if (o->flags & WH_OBJ_ASYNC)
    ws_async_cancel(ws);
}

static void ws_destroy(struct wh_object *o)
{
  struct wh_websocket *ws = wh_websocket_of(o);
  if (ws->conn)
    wh_conn_free(ws->conn);
  wh_free(ws->rbuf);
  wh_free(ws->sbuf);
  wh_free(ws->zout);
  if (ws->deflate)
    wh_ws_deflate_free(&ws->z);
  pthread_mutex_destroy(&ws->wlock);
}

static const struct wh_object_ops ws_ops = {
  .close = ws_close_hook,
  .destroy = ws_destroy,
};

/* Frees a WebSocket that was never published (its making failed). */
static void ws_unmake(struct wh_websocket *ws)
{
  if (ws->deflate)
    wh_ws_deflate_free(&ws->z);
  pthread_mutex_destroy(&ws->wlock);
  wh_free(ws->rbuf);
  wh_free(ws);
}

DWORD wh_websocket_new(struct wh_request *r, DWORD_PTR context,
                       const struct wh_ws_deflate_params *deflate, HINTERNET *out)
{
  struct wh_exchange *x = &r->x;
  struct wh_websocket *ws = wh_calloc(1, sizeof(*ws));
  if (!ws)
    return ERROR_NOT_ENOUGH_MEMORY;
  pthread_mutex_init(&ws->wlock, NULL);
  ws->send_keys.off = ws->ctl_keys.off = sizeof(ws->send_keys.b); /* empty */
  ws->waiting_fd[0] = ws->waiting_fd[1] = -1;
  ws->close_wait_fd = -1;
  ws->writer_wait_fd = -1;
  ws->send_fragment = -1;
  ws->idle_since = wh_now_ms();
  pthread_mutex_lock(&r->hdr.lock);
  ws->settings = r->settings;
  ws->send_timeout_ms = r->settings.send_timeout;
  /* Room for a frame head and some payload in every chunk, whatever the
   * option says. */
  ws->send_chunk = r->settings.ws_send_buffer_size < 256 ? 256 : r->settings.ws_send_buffer_size;
  ws->recv_chunk = r->settings.ws_receive_buffer_size;
  pthread_mutex_unlock(&r->hdr.lock);
  DWORD err = ERROR_SUCCESS;
  /* The bytes that came with the 101 head are the first frames. */
  size_t early = x->rend - x->rpos;
  if (early) {
    ws->rcap = ws->recv_chunk > early ? ws->recv_chunk : early;
    if ((ws->rbuf = wh_malloc(ws->rcap)) != NULL) {
      memcpy(ws->rbuf, x->rbuf + x->rpos, early);
      ws->rend = early;
    } else {
      err = ERROR_NOT_ENOUGH_MEMORY;
    }
  }
  /* No message-size bound is needed: messages are handed out as they
   * arrive, never gathered (the caller's buffer bounds each receive);
   * inflated ones are bounded by WH_WS_INFLATED_MAX (a bomb). */
  wh_ws_decoder_init(&ws->dec, 0, deflate != NULL);
  if (err == ERROR_SUCCESS && deflate) {
    err = wh_ws_deflate_init(&ws->z, deflate);
    ws->deflate = err == ERROR_SUCCESS;
  }
  /* An asynchronous WebSocket runs on a loop thread (ws_async.c). */
  if (err == ERROR_SUCCESS && (r->hdr.flags & WH_OBJ_ASYNC) && !(ws->loop = wh_loop_pick()))
    err = ERROR_NOT_ENOUGH_MEMORY;
  if (err != ERROR_SUCCESS) {
    ws_unmake(ws);
    return err;
  }
  wh_object_init(&ws->hdr, WH_WEBSOCKET, &ws_ops, &r->connect->hdr, r->hdr.flags);
  /* The WebSocket answers to the request's callback, with its own context
   * (WinHttpWebSocketCompleteUpgrade's pContext). */
  atomic_store(&ws->hdr.callback, atomic_load(&r->hdr.callback));
  atomic_store(&ws->hdr.notify_mask, atomic_load(&r->hdr.notify_mask));
  atomic_store(&ws->hdr.context, context);
  ws->conn = x->conn;
  err = wh_handle_alloc(&ws->hdr, out);
  if (err != ERROR_SUCCESS) {
    ws->conn = NULL; /* stays the request's */
    wh_object_release(&ws->hdr);
    return err;
  }
  x->conn = NULL;
  x->ws_ready = false;
  x->rpos = x->rend = 0;
  return ERROR_SUCCESS;
}

/* --- sides ------------------------------------------------------------------------------ */

static DWORD side_take(struct wh_websocket *ws, int bits)
{
  int old = atomic_load(&ws->busy);
  do {
    if (old & bits)
      return ERROR_INVALID_OPERATION;
  } while (!atomic_compare_exchange_weak(&ws->busy, &old, old | bits));
  return ERROR_SUCCESS;
}

void ws_side_give(struct wh_websocket *ws, int bits)
{
  atomic_fetch_and(&ws->busy, ~bits);
  pthread_mutex_lock(&ws->hdr.lock);
  int fd = ws->close_wait_fd;
  pthread_mutex_unlock(&ws->hdr.lock);
  if (fd >= 0)
    wh_cancel_fd_signal(fd);
}

static void mark_failed(struct wh_websocket *ws)
{
  pthread_mutex_lock(&ws->hdr.lock);
  ws->failed = true;
  pthread_mutex_unlock(&ws->hdr.lock);
}

/* --- the writer role and the control frames owed ----------------------------------------- */

/* Takes the writer role, or registers |wake_fd| to be signalled when it is
 * given back. Only the send side's operation or Close ever waits for it
 * (the receive side only tries), so there is one waiter at most. */
static bool writer_take(struct wh_websocket *ws, const struct ws_send_op *op)
{
  pthread_mutex_lock(&ws->wlock);
  bool got = !ws->writing;
  if (got) {
    ws->writing = true;
  } else {
    ws->writer_wait_fd = op->wake_fd;
    ws->writer_wait_lane = op->lane;
  }
  pthread_mutex_unlock(&ws->wlock);
  return got;
}

static void writer_unwait(struct wh_websocket *ws, const struct ws_send_op *op)
{
  pthread_mutex_lock(&ws->wlock);
  if (op->lane ? ws->writer_wait_lane == op->lane : ws->writer_wait_fd == op->wake_fd) {
    ws->writer_wait_fd = -1;
    ws->writer_wait_lane = NULL;
  }
  pthread_mutex_unlock(&ws->wlock);
}

static void writer_give(struct wh_websocket *ws)
{
  pthread_mutex_lock(&ws->wlock);
  ws->writing = false;
  int fd = ws->writer_wait_fd;
  struct wh_ws_lane *lane = ws->writer_wait_lane;
  ws->writer_wait_fd = -1;
  ws->writer_wait_lane = NULL;
  pthread_mutex_unlock(&ws->wlock);
  if (fd >= 0)
    wh_cancel_fd_signal(fd);
  if (lane)
    ws_async_wake(lane);
}

/* Writes from |p|/|len| as far as the socket takes it now: ERROR_SUCCESS
 * (|*done| bytes, maybe fewer than |len|: then |*events| says what to wait
 * for) or the connection's failure. */
static DWORD write_some(struct wh_websocket *ws, const uint8_t *p, size_t len, size_t *done,
                        short *events)
{
  *done = 0;
  while (*done < len) {
    size_t n = 0;
    DWORD err = wh_conn_send(ws->conn, p + *done, len - *done, &n, events);
    if (err == ERROR_IO_PENDING)
      return ERROR_SUCCESS;
    if (err != ERROR_SUCCESS)
      return err;
    *done += n;
  }
  return ERROR_SUCCESS;
}

/* Writes the control frames owed (role held) as far as the socket takes
 * them: true when none is left. */
static DWORD write_ctl(struct wh_websocket *ws, bool *all, short *events)
{
  for (;;) {
    pthread_mutex_lock(&ws->wlock);
    size_t off = ws->ctl_off, end = ws->ctl_len;
    if (off == end) {
      ws->ctl_off = ws->ctl_len = 0;
      ws->pong_queued = false;
    }
    pthread_mutex_unlock(&ws->wlock);
    if (off == end) {
      *all = true;
      return ERROR_SUCCESS;
    }
    /* Appenders only write past ctl_len, so these bytes are stable. */
    size_t done = 0;
    DWORD err = write_some(ws, ws->ctl + off, end - off, &done, events);
    pthread_mutex_lock(&ws->wlock);
    ws->ctl_off += done;
    pthread_mutex_unlock(&ws->wlock);
    if (err != ERROR_SUCCESS)
      return err;
    if (off + done < end) {
      *all = false;
      return ERROR_SUCCESS;
    }
  }
}

/* A fresh masking key from the side's pool, refilled from OpenSSL's CSPRNG
 * when used up. */
static DWORD new_mask(struct wh_ws_keys *k, uint8_t key[4])
{
  if (k->off + 4 > sizeof(k->b)) {
    if (RAND_bytes(k->b, sizeof(k->b)) != 1)
      return ERROR_WINHTTP_INTERNAL_ERROR;
    k->off = 0;
  }
  memcpy(key, k->b + k->off, 4);
  k->off += 4;
  return ERROR_SUCCESS;
}

/* Queues a control frame the receive side owes. A pong already waiting
 * answers a newer ping too (§5.5.3 allows answering only the latest). */
static void queue_control(struct wh_websocket *ws, unsigned opcode, const uint8_t *payload,
                          size_t len)
{
  uint8_t frame[WH_WS_HEAD_MAX + WH_WS_CONTROL_MAX], key[4];
  size_t hl = 0;
  if (new_mask(&ws->ctl_keys, key) != ERROR_SUCCESS ||
      wh_ws_encode_head(opcode, WH_WS_FIN, len, key, frame, &hl) != ERROR_SUCCESS)
    return;
  wh_ws_mask(frame + hl, payload, len, key, 0);
  size_t n = hl + len;
  pthread_mutex_lock(&ws->wlock);
  bool skip = opcode == WH_WS_OP_PONG && ws->pong_queued;
  if (!skip && !ws->writing && ws->ctl_off == ws->ctl_len)
    ws->ctl_off = ws->ctl_len = 0;
  if (!skip && ws->ctl_len + n <= sizeof(ws->ctl)) {
    memcpy(ws->ctl + ws->ctl_len, frame, n);
    ws->ctl_len += n;
    if (opcode == WH_WS_OP_PONG)
      ws->pong_queued = true;
  }
  pthread_mutex_unlock(&ws->wlock);
}

/* Control bytes are owed and nobody is writing: the receive side should
 * watch for room to write them. */
static bool ctl_pending(struct wh_websocket *ws)
{
  pthread_mutex_lock(&ws->wlock);
  bool p = ws->ctl_off != ws->ctl_len && !ws->writing;
  pthread_mutex_unlock(&ws->wlock);
  return p;
}

/* The receive side writes what it owes when nobody else is writing, as far
 * as the socket takes it now; the rest goes with the next frame boundary
 * of a send, or the receive side's next wake-up (it watches for room). */
static void flush_ctl_now(struct wh_websocket *ws)
{
  pthread_mutex_lock(&ws->wlock);
  bool got = !ws->writing && ws->ctl_off != ws->ctl_len;
  if (got)
    ws->writing = true;
  pthread_mutex_unlock(&ws->wlock);
  if (!got)
    return;
  bool all;
  short ev;
  /* A failure (the connection is gone) shows on the next read. */
  (void)write_ctl(ws, &all, &ev);
  writer_give(ws);
}

/* --- receiving ------------------------------------------------------------------------------- */

static WINHTTP_WEB_SOCKET_BUFFER_TYPE buffer_type(unsigned opcode, bool whole)
{
  if (opcode == WH_WS_OP_TEXT)
    return whole ? WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE
                 : WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE;
  return whole ? WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE
               : WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE;
}

static void record_close(struct wh_websocket *ws, const struct wh_ws_event *ev)
{
  pthread_mutex_lock(&ws->hdr.lock);
  ws->close_received = true;
  ws->close_status = (USHORT)ev->close_code;
  ws->close_reason_len = ev->reason_len;
  if (ev->reason_len)
    memcpy(ws->close_reason, ev->reason, ev->reason_len);
  pthread_mutex_unlock(&ws->hdr.lock);
}

/* The connection must be failed (§7.1.7): tell the server why, once. */
static void fail_with(struct wh_websocket *ws, unsigned code)
{
  uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
  pthread_mutex_lock(&ws->hdr.lock);
  bool send = !ws->close_sent;
  ws->close_sent = true;
  ws->failed = true;
  pthread_mutex_unlock(&ws->hdr.lock);
  if (send) {
    queue_control(ws, WH_WS_OP_CLOSE, payload, 2);
    flush_ctl_now(ws);
  }
}

/* Makes room at the end of the read buffer (no span is pending here). */
static void rbuf_compact(struct wh_websocket *ws)
{
  if (ws->rpos == ws->rend) {
    ws->rpos = ws->rend = 0;
  } else if (ws->rpos > 0) {
    memmove(ws->rbuf, ws->rbuf + ws->rpos, ws->rend - ws->rpos);
    ws->rend -= ws->rpos;
    ws->rpos = 0;
  }
}

/* Hands out the current data frame's bytes; true when the receive is
 * complete (the frame ended, or the caller's buffer is full). */
/* What hand_out did. */
enum { OUT_MORE, OUT_DONE };

/* Inflates the current span of a compressed message into |out| (|room|
 * bytes), validating text as it comes out: |*made| bytes, |*done| when the
 * message is complete. */
static DWORD inflate_into(struct wh_websocket *ws, uint8_t *out, size_t room, size_t *made,
                          bool *done)
{
  size_t used = 0;
  unsigned code = 0;
  bool last = ws->span_frame_end && ws->span_message_end;
  DWORD err = wh_ws_deflate_inflate(&ws->z, ws->rbuf ? ws->rbuf + ws->span_off : NULL,
                                    ws->span_len, last, out, room, &used, made, done, &code);
  ws->span_off += used;
  ws->span_len -= used;
  if (err == ERROR_SUCCESS && ws->msg_opcode == WH_WS_OP_TEXT &&
      (wh_utf8v_feed(&ws->text, out, *made) != *made ||
       (*done && !wh_utf8v_complete(&ws->text)))) {
    err = ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    code = WH_WS_CLOSE_INVALID_DATA;
  }
  if (err != ERROR_SUCCESS)
    fail_with(ws, code);
  return err;
}

/* A compressed message's bytes for the caller: first what an earlier
 * receive inflated past its buffer (|zpend|), then more from the span. When
 * the buffer fills, a little more is inflated ahead into |zpend|, so that a
 * buffer exactly the message's size reports the whole message, not a
 * fragment followed by an empty message. */
static DWORD hand_out_inflated(struct wh_websocket *ws, struct ws_recv_op *op, int *what)
{
  size_t room = (size_t)(op->len - op->got);
  size_t n = ws->zpend_len < room ? ws->zpend_len : room;
  memcpy(op->buf + op->got, ws->zpend + ws->zpend_off, n);
  ws->zpend_off += n;
  ws->zpend_len -= n;
  op->got += (DWORD)n;
  room -= n;
  DWORD err = ERROR_SUCCESS;
  if (ws->zpend_len == 0 && !ws->zdone && room) {
    size_t made = 0;
    err = inflate_into(ws, op->buf + op->got, room, &made, &ws->zdone);
    op->got += (DWORD)made;
    room -= made;
  }
  if (err == ERROR_SUCCESS && ws->zpend_len == 0 && !ws->zdone && !room) {
    size_t made = 0;
    err = inflate_into(ws, ws->zpend, sizeof(ws->zpend), &made, &ws->zdone);
    ws->zpend_off = 0;
    ws->zpend_len = made;
  }
  if (err != ERROR_SUCCESS)
    return err;
  bool frame_in = ws->span_len == 0 && ws->span_frame_end;
  if (ws->zdone && ws->zpend_len == 0) {
    /* The whole message is out. */
    ws->zdone = false;
    ws->in_frame = false;
    op->read = op->got;
    op->type = buffer_type(ws->msg_opcode, true);
    *what = OUT_DONE;
  } else if (frame_in && !ws->span_message_end) {
    /* A frame ended inside the message: a fragment, if it gave anything
     * (a frame may hold deflate data that inflates only with the next). */
    ws->in_frame = false;
    if (op->got) {
      op->read = op->got;
      op->type = buffer_type(ws->msg_opcode, false);
      *what = OUT_DONE;
    }
  } else if (!room) {
    op->read = op->got;
    op->type = buffer_type(ws->msg_opcode, false);
    *what = OUT_DONE;
  }
  return ERROR_SUCCESS;
}

/* Hands out the current data frame's bytes (inflated when the message is
 * compressed): OUT_DONE when the receive is complete (the frame ended, or
 * the caller's buffer is full), OUT_MORE for the next event, or an error. */
static DWORD hand_out(struct wh_websocket *ws, struct ws_recv_op *op, int *what)
{
  *what = OUT_MORE;
  if (ws->msg_compressed && !op->to_close)
    return hand_out_inflated(ws, op, what);
  bool whole = ws->span_message_end;
  size_t room = op->to_close ? ws->span_len : (size_t)(op->len - op->got);
  size_t n = ws->span_len < room ? ws->span_len : room;
  if (!op->to_close)
    memcpy(op->buf + op->got, ws->rbuf + ws->span_off, n);
  ws->span_off += n;
  ws->span_len -= n;
  if (!op->to_close)
    op->got += (DWORD)n;
  if (ws->span_len == 0 && ws->span_frame_end) {
    ws->in_frame = false;
    op->read = op->got;
    op->type = buffer_type(ws->msg_opcode, whole);
    if (!op->to_close)
      *what = OUT_DONE;
  } else if (!op->to_close && op->got == op->len) {
    /* The caller's buffer is full inside the frame: a fragment. */
    op->read = op->got;
    op->type = buffer_type(ws->msg_opcode, false);
    *what = OUT_DONE;
  }
  return ERROR_SUCCESS;
}

/* Step: the next message bytes (or the server's close), reading when the
 * buffer is empty. While it waits it also watches for room when control
 * frames are owed, and wakes for keep-alive pings. */
DWORD recv_step(struct wh_websocket *ws, struct ws_recv_op *op, struct wh_ws_io *io)
{
  for (;;) {
    if (ws->in_frame) {
      int what;
      DWORD err = hand_out(ws, op, &what);
      if (err != ERROR_SUCCESS || what == OUT_DONE)
        return err;
    }
    size_t used = 0;
    struct wh_ws_event ev;
    DWORD err = wh_ws_decode(&ws->dec, ws->rbuf ? ws->rbuf + ws->rpos : NULL, ws->rend - ws->rpos,
                             &used, &ev);
    if (err != ERROR_SUCCESS) {
      fail_with(ws, wh_ws_decoder_fail_code(&ws->dec));
      return err;
    }
    size_t at = ws->rpos;
    ws->rpos += used;
    switch (ev.type) {
    case WH_WS_EV_FRAME:
      ws->in_frame = true;
      if (ev.opcode != WH_WS_OP_CONT) {
        ws->msg_opcode = ev.opcode;
        /* A compressed message's text is checked as it inflates (the
         * decoder sees only deflate data). */
        ws->msg_compressed = ev.compressed;
        wh_utf8v_init(&ws->text);
      }
      ws->span_len = 0;
      ws->span_frame_end = false;
      continue;
    case WH_WS_EV_DATA:
      ws->msg_opcode = ev.opcode;
      ws->span_off = ev.len ? (size_t)(ev.data - ws->rbuf) : at;
      ws->span_len = ev.len;
      ws->span_frame_end = ev.frame_end;
      ws->span_message_end = ev.message_end;
      continue;
    case WH_WS_EV_CONTROL:
      if (ev.opcode == WH_WS_OP_PING) {
        queue_control(ws, WH_WS_OP_PONG, ev.data, ev.len);
        flush_ctl_now(ws);
      } else if (ev.opcode == WH_WS_OP_CLOSE) {
        record_close(ws, &ev);
        op->read = 0;
        op->type = WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE;
        return ERROR_SUCCESS;
      }
      continue;
    case WH_WS_EV_NONE:
      break;
    }

    /* Everything buffered is decoded: read more. */
    if (!op->to_close && ws->keepalive_ms &&
        wh_now_ms() - ws->idle_since >= (int64_t)ws->keepalive_ms) {
      /* Idle for the keep-alive interval: a ping keeps the path open. */
      queue_control(ws, WH_WS_OP_PING, NULL, 0);
      ws->idle_since = wh_now_ms();
    }
    flush_ctl_now(ws);
    rbuf_compact(ws);
    if (!ws->rbuf) {
      /* Taken back while idle (below): WEB_SOCKET_RECEIVE_BUFFER_SIZE
       * bytes again, now that there is something to read or a try. */
      if (!(ws->rbuf = wh_malloc(ws->recv_chunk)))
        return ERROR_NOT_ENOUGH_MEMORY;
      ws->rcap = ws->recv_chunk;
    }
    size_t n = 0;
    short events = 0;
    err = wh_conn_recv(ws->conn, ws->rbuf + ws->rend, ws->rcap - ws->rend, &n, &events);
    if (err == ERROR_SUCCESS && n == 0) {
      /* The TCP connection ended without a close frame (§7.1.5: 1006). */
      mark_failed(ws);
      return ERROR_WINHTTP_CONNECTION_ERROR;
    }
    if (err == ERROR_SUCCESS) {
      ws->rend += n;
      ws->idle_since = wh_now_ms();
      io->deadline = 0;
      continue;
    }
    if (err != ERROR_IO_PENDING) {
      mark_failed(ws);
      return err;
    }
    if (ws->rpos == ws->rend && !(ws->in_frame && ws->span_len)) {
      /* Nothing buffered while we wait: an idle WebSocket holds no read
       * buffer (ten thousand of them waiting cost no 32 KiB each). */
      wh_free(ws->rbuf);
      ws->rbuf = NULL;
      ws->rcap = ws->rpos = ws->rend = 0;
    }
    io->fd = ws->conn->fd;
    io->events = (short)(events | (ctl_pending(ws) ? POLLOUT : 0));
    if (op->to_close) {
      io->deadline = op->close_deadline;
      io->wake = false;
    } else if (ws->keepalive_ms) {
      io->deadline = ws->idle_since + ws->keepalive_ms;
      io->wake = true;
    } else {
      io->deadline = WH_NEVER;
      io->wake = false;
    }
    return ERROR_IO_PENDING;
  }
}

/* --- sending --------------------------------------------------------------------------------- */

enum { S_ROLE, S_CTL_BEFORE, S_BODY, S_CTL_AFTER, S_DONE };

void send_op_init(struct ws_send_op *op, unsigned opcode, unsigned flags, const void *p,
                  size_t len, int wake_fd, struct wh_ws_lane *lane)
{
  memset(op, 0, sizeof(*op));
  op->opcode = opcode;
  op->flags = flags;
  op->p = p;
  op->len = len;
  op->wake_fd = wake_fd;
  op->lane = lane;
}

/* Masks the next piece of the frame into sbuf (the head first). */
static DWORD fill_chunk(struct wh_websocket *ws, struct ws_send_op *op)
{
  size_t used = 0;
  if (!op->started) {
    size_t hl = 0;
    DWORD err = new_mask(&ws->send_keys, op->key);
    if (err == ERROR_SUCCESS)
      err = wh_ws_encode_head(op->opcode, op->flags, op->len, op->key, ws->sbuf, &hl);
    if (err != ERROR_SUCCESS)
      return err;
    used = hl;
  }
  size_t n = op->len - op->off;
  if (n > ws->send_chunk - used)
    n = ws->send_chunk - used;
  op->pos = wh_ws_mask(ws->sbuf + used, op->p + op->off, n, op->key, op->pos);
  op->off += n;
  op->chunk = used + n;
  op->chunk_off = 0;
  return ERROR_SUCCESS;
}

DWORD send_step(struct wh_websocket *ws, struct ws_send_op *op, struct wh_ws_io *io)
{
  short events = POLLOUT;
  for (;;) {
    DWORD err = ERROR_SUCCESS;
    bool all = true;
    switch (op->stage) {
    case S_ROLE:
      if (!writer_take(ws, op)) {
        io->fd = -1; /* wait for the role: op->wake_fd, or op->lane posted */
        io->events = POLLIN;
        io->deadline = WH_NEVER;
        io->wake = false;
        return ERROR_IO_PENDING;
      }
      op->stage = S_CTL_BEFORE;
      continue;
    case S_CTL_BEFORE:
    case S_CTL_AFTER:
      err = write_ctl(ws, &all, &events);
      if (err == ERROR_SUCCESS && all) {
        op->stage++;
        continue;
      }
      break;
    case S_BODY:
      if (op->chunk_off == op->chunk) {
        if (op->started && op->off == op->len) {
          op->stage = S_CTL_AFTER;
          continue;
        }
        err = fill_chunk(ws, op);
        op->started = true;
        if (err != ERROR_SUCCESS)
          return err;
      }
      size_t done = 0;
      err = write_some(ws, ws->sbuf + op->chunk_off, op->chunk - op->chunk_off, &done, &events);
      op->chunk_off += done;
      if (done)
        io->deadline = 0; /* progress: the send timeout restarts */
      if (err == ERROR_SUCCESS && op->chunk_off == op->chunk)
        continue;
      all = false;
      break;
    case S_DONE:
      writer_give(ws);
      return ERROR_SUCCESS;
    }
    if (err != ERROR_SUCCESS)
      return err;
    /* The socket is full: wait for room, within the send timeout. */
    io->fd = ws->conn->fd;
    io->events = events;
    if (io->deadline == 0 || io->wake)
      io->deadline = wh_deadline(ws->send_timeout_ms);
    io->wake = false;
    return ERROR_IO_PENDING;
  }
}

/* A send that will not finish (failure, cancellation): the role goes back,
 * and a frame cut short leaves the stream unusable. */
void send_abort(struct wh_websocket *ws, struct ws_send_op *op)
{
  if (op->stage == S_ROLE) {
    writer_unwait(ws, op);
    return;
  }
  if (op->stage != S_DONE)
    writer_give(ws);
  if (op->stage > S_CTL_BEFORE || op->started)
    mark_failed(ws);
}

/* --- the synchronous driver ------------------------------------------------------------------ */

/* Runs |step| on the calling thread: step, wait (published in
 * waiting_fd[lane], so that a close ends it), step again. |by_close|: the
 * caller is WinHttpWebSocketClose, which WebSocket-level cancellation
 * spares. A deadline marked |wake| only wakes the step up. */
static DWORD drive(struct wh_websocket *ws, int lane, DWORD (*step)(struct wh_websocket *, void *,
                                                                    struct wh_ws_io *),
                   void *op, int cancel, bool by_close)
{
  struct wh_ws_io io = {.fd = -1};
  for (;;) {
    DWORD err = step(ws, op, &io);
    if (err != ERROR_IO_PENDING)
      return err;
    pthread_mutex_lock(&ws->hdr.lock);
    bool stop = ws->closing || (ws->cancel && !by_close);
    if (!stop)
      ws->waiting_fd[lane] = cancel;
    pthread_mutex_unlock(&ws->hdr.lock);
    if (stop)
      return ERROR_WINHTTP_OPERATION_CANCELLED;
    int64_t deadline = io.deadline ? io.deadline : WH_NEVER;
    err = io.fd >= 0 ? wh_wait_fd(io.fd, io.events, deadline, cancel)
                     : wh_wait_fd(cancel, POLLIN, deadline, -1); /* the writer role */
    pthread_mutex_lock(&ws->hdr.lock);
    ws->waiting_fd[lane] = -1;
    stop = ws->closing || (ws->cancel && !by_close);
    pthread_mutex_unlock(&ws->hdr.lock);
    if (stop)
      return ERROR_WINHTTP_OPERATION_CANCELLED;
    if (io.fd < 0 && err == ERROR_SUCCESS)
      wh_cancel_fd_drain(cancel); /* the role was given back */
    else if (err == ERROR_WINHTTP_OPERATION_CANCELLED)
      wh_cancel_fd_drain(cancel); /* a signal meant for an earlier wait */
    else if (err == ERROR_WINHTTP_TIMEOUT && io.wake)
      io.deadline = 0;
    else if (err != ERROR_SUCCESS)
      return err;
  }
}

static DWORD recv_step_any(struct wh_websocket *ws, void *op, struct wh_ws_io *io)
{
  return recv_step(ws, op, io);
}

static DWORD send_step_any(struct wh_websocket *ws, void *op, struct wh_ws_io *io)
{
  return send_step(ws, op, io);
}

static DWORD run_send(struct wh_websocket *ws, int lane, unsigned opcode, unsigned flags,
                      const void *p, size_t len, bool by_close)
{
  int cancel = wh_thread_cancel_fd();
  if (cancel < 0)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (!ws->sbuf && !(ws->sbuf = wh_malloc(ws->send_chunk)))
    return ERROR_NOT_ENOUGH_MEMORY;
  struct ws_send_op op;
  send_op_init(&op, opcode, flags, p, len, cancel, NULL);
  DWORD err = drive(ws, lane, send_step_any, &op, cancel, by_close);
  if (err != ERROR_SUCCESS)
    send_abort(ws, &op);
  return err;
}

/* --- the operations ----------------------------------------------------------------------------- */

static bool is_async(const struct wh_websocket *ws)
{
  return (ws->hdr.flags & WH_OBJ_ASYNC) != 0;
}

WINHTTP_WEB_SOCKET_BUFFER_TYPE ws_fragment_type(const struct wh_websocket *ws)
{
  return buffer_type(ws->msg_opcode, false);
}

DWORD wh_websocket_receive(struct wh_websocket *ws, void *buf, DWORD len, DWORD *read,
                           WINHTTP_WEB_SOCKET_BUFFER_TYPE *type)
{
  DWORD err = side_take(ws, WH_WS_SIDE_RECV);
  if (err != ERROR_SUCCESS)
    return err;
  pthread_mutex_lock(&ws->hdr.lock);
  if (ws->closed || ws->close_received || ws->close_started)
    err = ERROR_INVALID_OPERATION;
  ws->keepalive_ms = ws->settings.ws_keepalive_interval;
  pthread_mutex_unlock(&ws->hdr.lock);
  if (err == ERROR_SUCCESS && ws->recv_err != ERROR_SUCCESS)
    err = ws->recv_err;
  if (err == ERROR_SUCCESS && is_async(ws)) {
    /* The side goes back with the completion. */
    return ws_async_receive(ws, buf, len);
  }
  int cancel = err == ERROR_SUCCESS ? wh_thread_cancel_fd() : -1;
  if (err == ERROR_SUCCESS && cancel < 0)
    err = ERROR_NOT_ENOUGH_MEMORY;
  if (err == ERROR_SUCCESS) {
    struct ws_recv_op op = {.buf = buf, .len = len};
    err = drive(ws, WH_WS_LANE_RECV, recv_step_any, &op, cancel, false);
    if (err != ERROR_SUCCESS && err != ERROR_WINHTTP_OPERATION_CANCELLED)
      ws->recv_err = err; /* the connection is over: every later receive */
    if (err != ERROR_SUCCESS && op.got) {
      /* The good bytes first; the failure comes with the next call. */
      op.read = op.got;
      op.type = ws_fragment_type(ws);
      err = ERROR_SUCCESS;
    }
    if (err == ERROR_SUCCESS) {
      *read = op.read;
      *type = op.type;
    }
  }
  ws_side_give(ws, WH_WS_SIDE_RECV);
  return err;
}

static bool is_utf8_type(WINHTTP_WEB_SOCKET_BUFFER_TYPE t)
{
  return t == WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE ||
         t == WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE;
}

static bool is_message_type(WINHTTP_WEB_SOCKET_BUFFER_TYPE t)
{
  return t == WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE ||
         t == WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE;
}

/* Under the send side: ERROR_INVALID_OPERATION once a close was sent, the
 * handshake is over or the connection failed. */
static DWORD send_state(struct wh_websocket *ws)
{
  pthread_mutex_lock(&ws->hdr.lock);
  DWORD err = ws->close_sent || ws->closed || ws->failed || ws->close_started
                  ? ERROR_INVALID_OPERATION
                  : ERROR_SUCCESS;
  pthread_mutex_unlock(&ws->hdr.lock);
  return err;
}

/* permessage-deflate: compresses our payload into |zout| (owned by the
 * send side until the next send). */
static DWORD compress_payload(struct wh_websocket *ws, const void *buf, size_t len, bool fin,
                              size_t *n)
{
  size_t need = wh_ws_deflate_bound(len);
  if (need > ws->zcap) {
    uint8_t *z = wh_realloc(ws->zout, need);
    if (!z)
      return ERROR_NOT_ENOUGH_MEMORY;
    ws->zout = z;
    ws->zcap = need;
  }
  return wh_ws_deflate_compress(&ws->z, buf, len, fin, ws->zout, ws->zcap, n);
}

DWORD wh_websocket_send(struct wh_websocket *ws, WINHTTP_WEB_SOCKET_BUFFER_TYPE type,
                        const void *buf, DWORD len)
{
  DWORD err = side_take(ws, WH_WS_SIDE_SEND);
  if (err != ERROR_SUCCESS)
    return err;
  err = send_state(ws);
  /* A fragmented message goes on with the same kind of buffer (Wine's
   * tests: BINARY_FRAGMENT then UTF8_* is ERROR_INVALID_PARAMETER). */
  if (err == ERROR_SUCCESS && ws->send_fragment >= 0 &&
      is_utf8_type((WINHTTP_WEB_SOCKET_BUFFER_TYPE)ws->send_fragment) != is_utf8_type(type))
    err = ERROR_INVALID_PARAMETER;
  if (err != ERROR_SUCCESS) {
    ws_side_give(ws, WH_WS_SIDE_SEND);
    return err;
  }
  unsigned opcode = ws->send_fragment >= 0 ? WH_WS_OP_CONT
                    : is_utf8_type(type)   ? WH_WS_OP_TEXT
                                           : WH_WS_OP_BINARY;
  bool fin = is_message_type(type);
  unsigned flags = fin ? WH_WS_FIN : 0;
  const void *payload = buf;
  size_t n = len;
  if (ws->deflate) {
    /* permessage-deflate: the payload goes out compressed, RSV1 on the
     * message's first frame (RFC 7692 §6). */
    err = compress_payload(ws, buf, len, fin, &n);
    payload = ws->zout;
    if (opcode != WH_WS_OP_CONT)
      flags |= WH_WS_RSV1;
  }
  /* The message's state moves on with the frame: a send that then fails
   * leaves the connection failed anyway. */
  if (err == ERROR_SUCCESS)
    ws->send_fragment = fin ? -1 : (int)type;
  if (err == ERROR_SUCCESS && is_async(ws)) {
    /* The side goes back with the completion, which reports |len|. */
    return ws_async_send(ws, WH_WS_K_SEND, opcode, flags, payload, n, len, type);
  }
  if (err == ERROR_SUCCESS)
    err = run_send(ws, WH_WS_LANE_SEND, opcode, flags, payload, n, false);
  ws_side_give(ws, WH_WS_SIDE_SEND);
  return err;
}

/* Sends our close frame (the send side or both held). */
static DWORD send_close(struct wh_websocket *ws, int lane, const uint8_t *payload, size_t n,
                        bool by_close)
{
  DWORD err = run_send(ws, lane, WH_WS_OP_CLOSE, WH_WS_FIN, payload, n, by_close);
  pthread_mutex_lock(&ws->hdr.lock);
  ws->close_sent = true; /* even when it failed: no second close */
  pthread_mutex_unlock(&ws->hdr.lock);
  return err;
}

DWORD wh_websocket_shutdown(struct wh_websocket *ws, USHORT status, const void *reason, DWORD len)
{
  uint8_t payload[WH_WS_CONTROL_MAX];
  size_t n = 0;
  DWORD err = wh_ws_close_build(status, reason, len, payload, &n);
  if (err != ERROR_SUCCESS)
    return err;
  err = side_take(ws, WH_WS_SIDE_SEND);
  if (err != ERROR_SUCCESS)
    return err;
  err = send_state(ws);
  if (err == ERROR_SUCCESS && is_async(ws)) {
    pthread_mutex_lock(&ws->hdr.lock);
    ws->close_sent = true;
    pthread_mutex_unlock(&ws->hdr.lock);
    /* The payload is copied: the caller's reason need not outlive the
     * call. */
    memcpy(ws->shutdown_payload, payload, n);
    return ws_async_send(ws, WH_WS_K_SHUTDOWN, WH_WS_OP_CLOSE, WH_WS_FIN, ws->shutdown_payload,
                         n, 0, WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE);
  }
  if (err == ERROR_SUCCESS)
    err = send_close(ws, WH_WS_LANE_SEND, payload, n, false);
  ws_side_give(ws, WH_WS_SIDE_SEND);
  return err;
}

/* Takes both sides for Close: operations pending on them end cancelled
 * (CONTRACT C11), and Close waits for them to give their side back. */
static DWORD take_both(struct wh_websocket *ws, int cancel)
{
  pthread_mutex_lock(&ws->hdr.lock);
  ws->cancel = true;
  for (int i = 0; i < 2; i++)
    if (ws->waiting_fd[i] >= 0)
      wh_cancel_fd_signal(ws->waiting_fd[i]);
  pthread_mutex_unlock(&ws->hdr.lock);
  DWORD err = ERROR_SUCCESS;
  for (;;) {
    int zero = 0;
    pthread_mutex_lock(&ws->hdr.lock);
    bool got = atomic_compare_exchange_strong(&ws->busy, &zero, WH_WS_SIDE_BOTH);
    bool closing = ws->closing;
    if (!got && !closing)
      ws->close_wait_fd = cancel;
    pthread_mutex_unlock(&ws->hdr.lock);
    if (got)
      break;
    if (closing) {
      err = ERROR_WINHTTP_OPERATION_CANCELLED;
      break;
    }
    /* The other operations leave promptly: they were signalled. */
    err = wh_wait_fd(cancel, POLLIN, WH_NEVER, -1);
    wh_cancel_fd_drain(cancel);
    if (err != ERROR_SUCCESS)
      break;
  }
  pthread_mutex_lock(&ws->hdr.lock);
  ws->close_wait_fd = -1;
  ws->cancel = false;
  pthread_mutex_unlock(&ws->hdr.lock);
  return err;
}

DWORD wh_websocket_close(struct wh_websocket *ws, USHORT status, const void *reason, DWORD len)
{
  /* The arguments first: nothing is cancelled by a call that cannot run. */
  uint8_t payload[WH_WS_CONTROL_MAX];
  size_t n = 0;
  DWORD err = wh_ws_close_build(status, reason, len, payload, &n);
  if (err != ERROR_SUCCESS)
    return err;
  pthread_mutex_lock(&ws->hdr.lock);
  bool done = ws->closed || ws->close_started;
  if (!done && is_async(ws)) {
    /* Accepted: operations pending or queued end cancelled (C11), new ones
     * are refused; the loop runs the handshake (ws_async.c). */
    ws->close_started = true;
    ws->cancel = true;
    for (int i = 0; i < 2; i++)
      if (ws->waiting_fd[i] >= 0)
        wh_cancel_fd_signal(ws->waiting_fd[i]);
  }
  pthread_mutex_unlock(&ws->hdr.lock);
  if (done)
    return ERROR_INVALID_OPERATION;
  if (is_async(ws))
    return ws_async_close(ws, payload, n);
  int cancel = wh_thread_cancel_fd();
  if (cancel < 0)
    return ERROR_NOT_ENOUGH_MEMORY;
  err = take_both(ws, cancel);
  if (err != ERROR_SUCCESS)
    return err;
  pthread_mutex_lock(&ws->hdr.lock);
  bool closed = ws->closed, sent = ws->close_sent, received = ws->close_received,
       failed = ws->failed;
  DWORD close_timeout = ws->settings.ws_close_timeout;
  pthread_mutex_unlock(&ws->hdr.lock);
  if (closed) {
    err = ERROR_INVALID_OPERATION; /* another Close got there first */
  } else {
    /* WEB_SOCKET_CLOSE_TIMEOUT bounds the whole handshake. */
    int64_t deadline = wh_deadline(close_timeout);
    if (!sent && !failed)
      err = send_close(ws, WH_WS_LANE_SEND, payload, n, true);
    if (err == ERROR_SUCCESS && !received && !failed) {
      struct ws_recv_op op = {.to_close = true, .close_deadline = deadline};
      err = drive(ws, WH_WS_LANE_RECV, recv_step_any, &op, cancel, true);
    }
    pthread_mutex_lock(&ws->hdr.lock);
    ws->closed = true;
    pthread_mutex_unlock(&ws->hdr.lock);
    /* The server closes TCP first (§7.1.1); we need not wait for it. */
    wh_conn_shutdown(ws->conn);
  }
  ws_side_give(ws, WH_WS_SIDE_BOTH);
  return err;
}

DWORD wh_websocket_query_close_status(struct wh_websocket *ws, USHORT *status, void *reason,
                                      DWORD len, DWORD *consumed)
{
  DWORD err = ERROR_SUCCESS;
  pthread_mutex_lock(&ws->hdr.lock);
  if (!ws->close_received) {
    err = ERROR_INVALID_OPERATION;
  } else {
    *status = ws->close_status;
    *consumed = (DWORD)ws->close_reason_len;
    if (len < ws->close_reason_len)
      err = ERROR_INSUFFICIENT_BUFFER;
    else if (ws->close_reason_len)
      memcpy(reason, ws->close_reason, ws->close_reason_len);
  }
  pthread_mutex_unlock(&ws->hdr.lock);
  return err;
}
