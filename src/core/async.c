/* see async.h */
#include "core/async.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>

#include "core/object.h"
#include "net/wait.h"

static struct wh_lane *of_task(struct wh_task *t)
{
  return (struct wh_lane *)(void *)((char *)t - offsetof(struct wh_lane, op_task));
}

static struct wh_request *of_cancel(struct wh_task *t)
{
  return (struct wh_request *)(void *)((char *)t - offsetof(struct wh_request, cancel_task));
}

static struct wh_lane *of_watch(struct wh_watch *w)
{
  return (struct wh_lane *)(void *)((char *)w - offsetof(struct wh_lane, watch));
}

static bool closing(struct wh_request *r)
{
  pthread_mutex_lock(&r->hdr.lock);
  bool c = r->closing;
  pthread_mutex_unlock(&r->hdr.lock);
  return c;
}

/* The operation is over: report it, then drop its reference (which may
 * deliver HANDLE_CLOSING, after everything else). */
static void end(struct wh_lane *ln, DWORD err)
{
  struct wh_request *r = ln->r;
  const struct wh_async_op *op = ln->op;
  ln->op = NULL;
  wh_exchange_op_over(&r->x, ln->index);
  /* A failure while the handle is being closed is the close's doing. */
  if (err != ERROR_SUCCESS && err != ERROR_WINHTTP_OPERATION_CANCELLED && closing(r))
    err = ERROR_WINHTTP_OPERATION_CANCELLED;
  op->finish(r, err);
  wh_object_release(&r->hdr);
}

/* The descriptor to watch: a WriteData waiting on the connection watches
 * its own dup of it, since the receive lane may be watching the socket at
 * the same time and epoll keeps one registration per descriptor. */
static int watch_fd(struct wh_lane *ln)
{
  struct wh_conn *c = ln->r->x.conn;
  if (ln->index == WH_LANE_SEND && ln->bits == WH_SIDE_SEND && c && ln->io.fd == c->fd)
    return wh_conn_write_fd(c);
  return ln->io.fd;
}

static void advance(struct wh_lane *ln)
{
  struct wh_request *r = ln->r;
  if (closing(r)) {
    end(ln, ERROR_WINHTTP_OPERATION_CANCELLED);
    return;
  }
  DWORD err = ln->op->step(r, &ln->io);
  if (err != ERROR_IO_PENDING) {
    end(ln, err);
    return;
  }
  uint32_t ev = (ln->io.events & POLLOUT) ? EPOLLOUT : EPOLLIN;
  int64_t deadline = ln->io.deadline ? ln->io.deadline : WH_NEVER;
  /* No descriptor and no events: parked until wh_async_wake. */
  int fd = ln->io.fd < 0 && ln->io.events == 0 ? -1 : watch_fd(ln);
  if (fd < 0 && ln->io.events != 0)
    end(ln, ERROR_WINHTTP_INTERNAL_ERROR);
  else if (wh_loop_watch(r->loop, &ln->watch, fd, ev, deadline) != 0)
    /* Out of memory is reported as such, not as the engine's own failure
     * (found by the out-of-memory sweep, tests/unit/test_oom.c). */
    end(ln, errno == ENOMEM ? ERROR_NOT_ENOUGH_MEMORY : ERROR_WINHTTP_INTERNAL_ERROR);
}

static void on_ready(struct wh_watch *w, bool timed_out)
{
  struct wh_lane *ln = of_watch(w);
  if (timed_out)
    end(ln, ERROR_WINHTTP_TIMEOUT);
  else
    advance(ln);
}

static void run_op(struct wh_task *t)
{
  advance(of_task(t));
}

static struct wh_lane *of_wake(struct wh_task *t)
{
  return (struct wh_lane *)(void *)((char *)t - offsetof(struct wh_lane, wake_task));
}

/* On the request's loop: resumes the lane if it is still parked (it may
 * have timed out, been cancelled, or been resumed by its own step since). */
static void run_wake(struct wh_task *t)
{
  struct wh_lane *ln = of_wake(t);
  struct wh_request *r = ln->r;
  atomic_store(&ln->wake_queued, false);
  if (ln->watch.armed && ln->watch.fd < 0 && ln->op) {
    wh_loop_unwatch(r->loop, &ln->watch);
    advance(ln);
  }
  wh_object_release(&r->hdr); /* the wake-up's reference */
}

void wh_async_wake(struct wh_request *r, int lane)
{
  struct wh_lane *ln = &r->lane[lane];
  if (atomic_exchange(&ln->wake_queued, true))
    return; /* one already on its way */
  wh_object_addref(&r->hdr);
  ln->wake_task.run = run_wake;
  wh_loop_post(r->loop, &ln->wake_task);
}

/* A request that may speak HTTP/2 runs on its origin's loop: its stream
 * shares a connection with the origin's other streams, and on one thread
 * they never contend for the connection's lock. Others spread round-robin. */
static struct wh_loop *pick_loop(const struct wh_request *r)
{
  if (!(r->settings.enable_http_protocol & WINHTTP_PROTOCOL_FLAG_HTTP2) ||
      !(r->open_flags & WINHTTP_FLAG_SECURE))
    return wh_loop_pick();
  uint32_t h = 2166136261u; /* FNV-1a over host and port */
  for (const char *p = r->connect->server; *p; p++)
    h = (h ^ (uint32_t)(unsigned char)(*p | 0x20)) * 16777619u;
  h = (h ^ r->port) * 16777619u;
  return wh_loop_pick_for(h);
}

DWORD wh_async_start(struct wh_request *r, const struct wh_async_op *op)
{
  pthread_mutex_lock(&r->hdr.lock);
  if (!r->loop)
    r->loop = pick_loop(r);
  struct wh_loop *l = r->loop;
  pthread_mutex_unlock(&r->hdr.lock);
  if (!l)
    return ERROR_NOT_ENOUGH_MEMORY;
  struct wh_lane *ln = &r->lane[op->lane];
  ln->op = op;
  ln->io.fd = -1;
  ln->io.events = 0;
  ln->io.deadline = 0;
  ln->io.lane = op->lane;
  ln->watch.ready = on_ready;
  ln->op_task.run = run_op;
  wh_object_addref(&r->hdr); /* the operation's reference */
  /* While a callback of |r| runs (on any thread), the loop must not
   * deliver another: the task waits for the last callback to return. */
  pthread_mutex_lock(&r->hdr.lock);
  bool defer = atomic_load(&r->callbacks) > 0;
  if (defer)
    r->deferred[op->lane] = &ln->op_task;
  pthread_mutex_unlock(&r->hdr.lock);
  if (!defer)
    wh_loop_post(l, &ln->op_task);
  return ERROR_SUCCESS;
}

/* The calling thread's nesting of inline completions, and the request
 * whose callback it is running (innermost). */
static _Thread_local int inline_depth;
static _Thread_local struct wh_request *in_callback_of;

/* Counts a callback (or an inline step) of |r| in progress. */
static void activity_enter(struct wh_request *r)
{
  pthread_mutex_lock(&r->hdr.lock);
  atomic_fetch_add(&r->callbacks, 1);
  pthread_mutex_unlock(&r->hdr.lock);
}

/* The last one out posts the operations parked meanwhile. */
static void activity_leave(struct wh_request *r)
{
  struct wh_task *t[2] = {NULL, NULL};
  pthread_mutex_lock(&r->hdr.lock);
  if (atomic_fetch_sub(&r->callbacks, 1) == 1) {
    for (int i = 0; i < 2; i++) {
      t[i] = r->deferred[i];
      r->deferred[i] = NULL;
    }
  }
  struct wh_loop *l = r->loop;
  pthread_mutex_unlock(&r->hdr.lock);
  for (int i = 0; i < 2; i++)
    if (t[i])
      wh_loop_post(l, t[i]);
}

struct wh_request *wh_async_callback_enter(struct wh_request *r)
{
  activity_enter(r);
  inline_depth++;
  struct wh_request *saved = in_callback_of;
  in_callback_of = r;
  return saved;
}

void wh_async_callback_leave(struct wh_request *r, struct wh_request *saved)
{
  in_callback_of = saved;
  inline_depth--;
  activity_leave(r);
}

static bool other_lane_busy(struct wh_request *r, int lane)
{
  int other = lane == WH_LANE_SEND ? WH_SIDE_RECV : WH_SIDE_SEND;
  return (atomic_load(&r->busy) & ~r->lane[lane].bits & other) != 0;
}

static bool may_inline(struct wh_request *r, int lane)
{
  if (inline_depth >= WH_INLINE_MAX || other_lane_busy(r, lane))
    return false;
  /* Another thread in a callback of this request: completing here would
   * run two of its callbacks at once; the loop serialises them. */
  return atomic_load(&r->callbacks) == 0 || in_callback_of == r;
}

DWORD wh_async_run(struct wh_request *r, const struct wh_async_op *op)
{
  if (may_inline(r, op->lane)) {
    /* Counted as activity before the other lane is looked at again: an
     * operation the other side starts from now on waits for this one's
     * callback instead of running beside it on the loop thread. */
    activity_enter(r);
    if (other_lane_busy(r, op->lane)) {
      activity_leave(r);
      return wh_async_start(r, op);
    }
    struct wh_io io = {.fd = -1, .events = 0, .deadline = 0, .lane = op->lane};
    inline_depth++;
    DWORD err = closing(r) ? ERROR_WINHTTP_OPERATION_CANCELLED : op->step(r, &io);
    inline_depth--;
    if (err != ERROR_IO_PENDING) {
      wh_exchange_op_over(&r->x, op->lane);
      op->finish(r, err);
      activity_leave(r);
      return ERROR_SUCCESS;
    }
    activity_leave(r);
  }
  return wh_async_start(r, op);
}

static void run_cancel(struct wh_task *t)
{
  struct wh_request *r = of_cancel(t);
  /* Only an operation parked on a watch is ended here. One whose task is
   * still queued (started from a callback just before the close) ends when
   * that task runs and sees the handle closing; ending it here would drop
   * the reference that task still needs. */
  for (int i = 0; i < 2; i++) {
    struct wh_lane *ln = &r->lane[i];
    /* |armed| first: it is the loop's own, and an armed watch means the
     * loop set |op| before arming it (another thread may be filling in
     * the lane of an operation it is starting, not yet posted). */
    if (ln->watch.armed && ln->op) {
      wh_loop_unwatch(r->loop, &ln->watch);
      end(ln, ERROR_WINHTTP_OPERATION_CANCELLED);
    }
  }
  wh_object_release(&r->hdr); /* the cancel task's reference */
}

void wh_async_cancel(struct wh_request *r)
{
  pthread_mutex_lock(&r->hdr.lock);
  struct wh_loop *l = r->loop;
  pthread_mutex_unlock(&r->hdr.lock);
  if (!l)
    return; /* nothing was ever started */
  /* No operation accepted (no side held, nothing queued behind a send):
   * nothing to cancel. The handle is already marked closing, so an
   * operation that starts after this look ends cancelled when its step
   * runs. Most closes (after the last read) thus post nothing. */
  if (atomic_load(&r->busy) == 0)
    return;
  r->cancel_task.run = run_cancel;
  wh_object_addref(&r->hdr);
  wh_loop_post(l, &r->cancel_task);
}
