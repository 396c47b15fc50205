/* The asynchronous driver of WebSocket operations (ws_steps.h): each
 * operation runs its steps on the WebSocket's loop thread (net/loop.h) and
 * ends with its completion (WRITE_COMPLETE, SHUTDOWN_COMPLETE,
 * READ_COMPLETE, CLOSE_COMPLETE) or REQUEST_ERROR carrying a
 * WINHTTP_WEB_SOCKET_ASYNC_RESULT.
 *
 * As Windows does, a send or a shutdown is first tried on the calling
 * thread, and completes there (its callback before the call returns) when
 * the socket takes the whole frame; otherwise the loop finishes it. A
 * receive always goes to the loop. Close runs on the loop too, in its own
 * lane: it ends the operations pending on the other two
 * (OPERATION_CANCELLED), sends the close frame and waits for the server's.
 *
 * Every accepted operation holds a reference on the WebSocket until its
 * completion has been delivered, so HANDLE_CLOSING comes after it (C7). */
#include "core/ws_steps.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>

#include "net/wait.h"
#include "util/mem.h"

/* Inline completions nest at most this deep on one thread (Windows: 3). */
#define WS_INLINE_MAX 3
static _Thread_local int inline_depth;

static struct wh_ws_lane *of_watch(struct wh_watch *w)
{
  return (struct wh_ws_lane *)(void *)((char *)w - offsetof(struct wh_ws_lane, watch));
}

static struct wh_ws_lane *of_task(struct wh_task *t)
{
  return (struct wh_ws_lane *)(void *)((char *)t - offsetof(struct wh_ws_lane, task));
}

static struct wh_websocket *of_cancel(struct wh_task *t)
{
  return (struct wh_websocket *)(void *)((char *)t - offsetof(struct wh_websocket, cancel_task));
}

static WINHTTP_WEB_SOCKET_OPERATION operation_of(int kind)
{
  switch (kind) {
  case WH_WS_K_SEND:
    return WINHTTP_WEB_SOCKET_SEND_OPERATION;
  case WH_WS_K_SHUTDOWN:
    return WINHTTP_WEB_SOCKET_SHUTDOWN_OPERATION;
  case WH_WS_K_RECEIVE:
    return WINHTTP_WEB_SOCKET_RECEIVE_OPERATION;
  default:
    return WINHTTP_WEB_SOCKET_CLOSE_OPERATION;
  }
}

/* Whether the operation of |kind| must end cancelled: the handle is being
 * closed, or (except for Close itself) Close wants the sides. */
static bool stopped(struct wh_websocket *ws, int kind)
{
  pthread_mutex_lock(&ws->hdr.lock);
  bool s = ws->closing || (ws->cancel && kind != WH_WS_K_CLOSE);
  pthread_mutex_unlock(&ws->hdr.lock);
  return s;
}

/* The operation is over: give its side back, report, drop its reference
 * (which may deliver HANDLE_CLOSING, after everything else). */
static void complete(struct wh_ws_lane *ln, DWORD err)
{
  struct wh_websocket *ws = ln->ws;
  int kind = ln->kind;
  ln->kind = WH_WS_K_NONE;
  if (err != ERROR_SUCCESS && err != ERROR_WINHTTP_OPERATION_CANCELLED && stopped(ws, kind))
    err = ERROR_WINHTTP_OPERATION_CANCELLED;
  /* What the callback reports is taken before the side goes back: the
   * callback may start the next operation in this lane. */
  WINHTTP_WEB_SOCKET_STATUS st = {.dwBytesTransferred = ln->bytes, .eBufferType = ln->type};
  DWORD status = 0;
  if (kind == WH_WS_K_RECEIVE && err != ERROR_SUCCESS && err != ERROR_WINHTTP_OPERATION_CANCELLED) {
    ws->recv_err = err; /* the connection is over: every later receive */
    if (ln->recv.got) {
      /* The good bytes first; the failure comes with the next call. */
      st.dwBytesTransferred = ln->recv.got;
      st.eBufferType = ws_fragment_type(ws);
      err = ERROR_SUCCESS;
    }
  } else if (kind == WH_WS_K_RECEIVE && err == ERROR_SUCCESS) {
    st.dwBytesTransferred = ln->recv.read;
    st.eBufferType = ln->recv.type;
  }
  switch (kind) {
  case WH_WS_K_SEND:
    status = WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE;
    ws_side_give(ws, WH_WS_SIDE_SEND);
    break;
  case WH_WS_K_SHUTDOWN:
    status = WINHTTP_CALLBACK_STATUS_SHUTDOWN_COMPLETE;
    ws_side_give(ws, WH_WS_SIDE_SEND);
    break;
  case WH_WS_K_RECEIVE:
    status = WINHTTP_CALLBACK_STATUS_READ_COMPLETE;
    ws_side_give(ws, WH_WS_SIDE_RECV);
    break;
  default:
    status = WINHTTP_CALLBACK_STATUS_CLOSE_COMPLETE;
    break;
  }
  if (err == ERROR_SUCCESS) {
    if (status == WINHTTP_CALLBACK_STATUS_CLOSE_COMPLETE)
      wh_notify(&ws->hdr, status, NULL, 0);
    else
      wh_notify(&ws->hdr, status, &st, sizeof(st));
  } else {
    /* dwResult is 0, as Windows reports it for a receive and a close
     * (Wine's notification tests); Operation names the call. */
    WINHTTP_WEB_SOCKET_ASYNC_RESULT res = {
      .AsyncResult = {.dwResult = 0, .dwError = err},
      .Operation = operation_of(kind),
    };
    wh_notify(&ws->hdr, WINHTTP_CALLBACK_STATUS_REQUEST_ERROR, &res, sizeof(res));
  }
  wh_object_release(&ws->hdr);
}

/* A send that will not finish gives the writer role back. */
static void abort_lane(struct wh_ws_lane *ln)
{
  if (ln->kind == WH_WS_K_SEND || ln->kind == WH_WS_K_SHUTDOWN ||
      (ln->kind == WH_WS_K_CLOSE && ln->close_stage == 1))
    send_abort(ln->ws, &ln->send);
}

/* --- Close's own sequence: the close frame, then the server's --------------------- */

static DWORD close_step(struct wh_websocket *ws, struct wh_ws_lane *ln, struct wh_ws_io *io)
{
  for (;;) {
    DWORD err;
    switch (ln->close_stage) {
    case 0: {
      pthread_mutex_lock(&ws->hdr.lock);
      bool sent = ws->close_sent, failed = ws->failed;
      pthread_mutex_unlock(&ws->hdr.lock);
      if (sent || failed) {
        ln->close_stage = 2;
        continue;
      }
      if (!ws->sbuf && !(ws->sbuf = wh_malloc(ws->send_chunk)))
        return ERROR_NOT_ENOUGH_MEMORY;
      send_op_init(&ln->send, WH_WS_OP_CLOSE, WH_WS_FIN, ln->close_payload, ln->close_len, -1,
                   ln);
      pthread_mutex_lock(&ws->hdr.lock);
      ws->close_sent = true; /* even if it fails: no second close */
      pthread_mutex_unlock(&ws->hdr.lock);
      ln->close_stage = 1;
      continue;
    }
    case 1:
      err = send_step(ws, &ln->send, io);
      if (err != ERROR_SUCCESS)
        return err;
      ln->close_stage = 2;
      io->deadline = 0;
      continue;
    case 2: {
      pthread_mutex_lock(&ws->hdr.lock);
      bool received = ws->close_received, failed = ws->failed;
      pthread_mutex_unlock(&ws->hdr.lock);
      if (received || failed)
        return ERROR_SUCCESS;
      ln->close_stage = 3;
      continue;
    }
    default:
      return recv_step(ws, &ln->recv, io);
    }
  }
}

/* --- the loop side -------------------------------------------------------------------- */

static DWORD run_step(struct wh_ws_lane *ln)
{
  struct wh_websocket *ws = ln->ws;
  switch (ln->kind) {
  case WH_WS_K_SEND:
  case WH_WS_K_SHUTDOWN:
    return send_step(ws, &ln->send, &ln->io);
  case WH_WS_K_RECEIVE:
    return recv_step(ws, &ln->recv, &ln->io);
  default:
    return close_step(ws, ln, &ln->io);
  }
}

/* The end of a Close: the handshake is over, the connection shut down. */
static void close_done(struct wh_websocket *ws)
{
  pthread_mutex_lock(&ws->hdr.lock);
  ws->closed = true;
  pthread_mutex_unlock(&ws->hdr.lock);
  wh_conn_shutdown(ws->conn);
}

static void finish(struct wh_ws_lane *ln, DWORD err)
{
  if (err != ERROR_SUCCESS)
    abort_lane(ln);
  if (ln->kind == WH_WS_K_CLOSE)
    close_done(ln->ws);
  complete(ln, err);
}

static void advance(struct wh_ws_lane *ln)
{
  struct wh_websocket *ws = ln->ws;
  if (stopped(ws, ln->kind)) {
    finish(ln, ERROR_WINHTTP_OPERATION_CANCELLED);
    return;
  }
  DWORD err = run_step(ln);
  if (err != ERROR_IO_PENDING) {
    finish(ln, err);
    return;
  }
  if (ln->io.fd < 0)
    return; /* parked until the writer role's holder gives it back */
  /* The send lane watches its own dup of the socket: epoll keeps one
   * registration per descriptor, and the receive lane watches the socket
   * itself. */
  int fd = ln == &ws->lane[WH_WS_LANE_SEND] ? wh_conn_write_fd(ws->conn) : ln->io.fd;
  uint32_t ev = 0;
  if (ln->io.events & POLLIN)
    ev |= EPOLLIN;
  if (ln->io.events & POLLOUT)
    ev |= EPOLLOUT;
  int64_t deadline = ln->io.deadline ? ln->io.deadline : WH_NEVER;
  if (fd < 0)
    finish(ln, ERROR_NOT_ENOUGH_MEMORY);
  else if (wh_loop_watch(ws->loop, &ln->watch, fd, ev, deadline) != 0)
    finish(ln, errno == ENOMEM ? ERROR_NOT_ENOUGH_MEMORY : ERROR_WINHTTP_INTERNAL_ERROR);
}

static void on_ready(struct wh_watch *w, bool timed_out)
{
  struct wh_ws_lane *ln = of_watch(w);
  if (timed_out && !ln->io.wake) {
    finish(ln, ERROR_WINHTTP_TIMEOUT);
    return;
  }
  if (timed_out)
    ln->io.deadline = 0; /* a keep-alive wake-up */
  advance(ln);
}

static void run_task(struct wh_task *t)
{
  advance(of_task(t));
}

void ws_async_wake(struct wh_ws_lane *ln)
{
  ln->task.run = run_task;
  wh_loop_post(ln->ws->loop, &ln->task);
}

/* Hands |ln|'s operation to the loop thread. */
static void post(struct wh_ws_lane *ln)
{
  ln->watch.ready = on_ready;
  ln->task.run = run_task;
  wh_loop_post(ln->ws->loop, &ln->task);
}

static void lane_start(struct wh_websocket *ws, int lane, int kind)
{
  struct wh_ws_lane *ln = &ws->lane[lane];
  ln->ws = ws;
  ln->kind = kind;
  ln->io = (struct wh_ws_io){.fd = -1};
  ln->bytes = 0;
  wh_object_addref(&ws->hdr); /* the operation's reference */
}

/* --- entry points ---------------------------------------------------------------------- */

DWORD ws_async_send(struct wh_websocket *ws, int kind, unsigned opcode, unsigned flags,
                    const void *p, size_t len, DWORD reported,
                    WINHTTP_WEB_SOCKET_BUFFER_TYPE type)
{
  if (!ws->sbuf && !(ws->sbuf = wh_malloc(ws->send_chunk)))
    return ERROR_NOT_ENOUGH_MEMORY;
  struct wh_ws_lane *ln = &ws->lane[WH_WS_LANE_SEND];
  lane_start(ws, WH_WS_LANE_SEND, kind);
  ln->bytes = reported; /* the caller's bytes, before any compression */
  ln->type = type;
  send_op_init(&ln->send, opcode, flags, p, len, -1, ln);
  if (inline_depth < WS_INLINE_MAX && !stopped(ws, kind)) {
    /* Written at once when the socket takes it: the completion comes
     * before the call returns, as on Windows. */
    inline_depth++;
    DWORD err = send_step(ws, &ln->send, &ln->io);
    if (err != ERROR_IO_PENDING) {
      finish(ln, err);
      inline_depth--;
      return ERROR_SUCCESS;
    }
    inline_depth--;
  }
  post(ln);
  return ERROR_SUCCESS;
}

DWORD ws_async_receive(struct wh_websocket *ws, void *buf, DWORD len)
{
  struct wh_ws_lane *ln = &ws->lane[WH_WS_LANE_RECV];
  lane_start(ws, WH_WS_LANE_RECV, WH_WS_K_RECEIVE);
  ln->recv = (struct ws_recv_op){.buf = buf, .len = len};
  post(ln);
  return ERROR_SUCCESS;
}

/* On the loop thread, first thing in a Close: the operations waiting in
 * the other lanes end cancelled (those whose task is still queued end when
 * it runs: they see |cancel|). */
static void cancel_lanes(struct wh_websocket *ws, bool close_lane_too)
{
  for (int i = 0; i < 3; i++) {
    struct wh_ws_lane *ln = &ws->lane[i];
    if (i == WH_WS_LANE_CLOSE && !close_lane_too)
      continue;
    if (ln->kind != WH_WS_K_NONE && ln->watch.armed) {
      wh_loop_unwatch(ws->loop, &ln->watch);
      finish(ln, ERROR_WINHTTP_OPERATION_CANCELLED);
    }
  }
}

static void run_close(struct wh_task *t)
{
  struct wh_ws_lane *ln = of_task(t);
  cancel_lanes(ln->ws, false);
  advance(ln);
}

DWORD ws_async_close(struct wh_websocket *ws, const uint8_t *payload, size_t len)
{
  struct wh_ws_lane *ln = &ws->lane[WH_WS_LANE_CLOSE];
  lane_start(ws, WH_WS_LANE_CLOSE, WH_WS_K_CLOSE);
  memcpy(ln->close_payload, payload, len);
  ln->close_len = len;
  ln->close_stage = 0;
  pthread_mutex_lock(&ws->hdr.lock);
  DWORD close_timeout = ws->settings.ws_close_timeout;
  pthread_mutex_unlock(&ws->hdr.lock);
  /* WEB_SOCKET_CLOSE_TIMEOUT bounds the whole handshake. */
  ln->recv = (struct ws_recv_op){.to_close = true, .close_deadline = wh_deadline(close_timeout)};
  ln->watch.ready = on_ready;
  ln->task.run = run_close;
  wh_loop_post(ws->loop, &ln->task);
  return ERROR_SUCCESS;
}

static void run_cancel(struct wh_task *t)
{
  struct wh_websocket *ws = of_cancel(t);
  cancel_lanes(ws, true);
  wh_object_release(&ws->hdr); /* the cancel task's reference */
}

void ws_async_cancel(struct wh_websocket *ws)
{
  if (!ws->loop)
    return;
  ws->cancel_task.run = run_cancel;
  wh_object_addref(&ws->hdr);
  wh_loop_post(ws->loop, &ws->cancel_task);
}
