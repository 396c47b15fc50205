/* see async.h */
#include "core/async.h"

#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>

#include "core/object.h"
#include "net/wait.h"

static struct wh_request *of_task(struct wh_task *t)
{
  return (struct wh_request *)(void *)((char *)t - offsetof(struct wh_request, op_task));
}

static struct wh_request *of_cancel(struct wh_task *t)
{
  return (struct wh_request *)(void *)((char *)t - offsetof(struct wh_request, cancel_task));
}

static struct wh_request *of_watch(struct wh_watch *w)
{
  return (struct wh_request *)(void *)((char *)w - offsetof(struct wh_request, watch));
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
static void end(struct wh_request *r, DWORD err)
{
  const struct wh_async_op *op = r->op;
  r->op = NULL;
  op->finish(r, err);
  wh_object_release(&r->hdr);
}

static void advance(struct wh_request *r)
{
  if (closing(r)) {
    end(r, ERROR_WINHTTP_OPERATION_CANCELLED);
    return;
  }
  DWORD err = r->op->step(r, &r->io);
  if (err != ERROR_IO_PENDING) {
    end(r, err);
    return;
  }
  uint32_t ev = (r->io.events & POLLOUT) ? EPOLLOUT : EPOLLIN;
  int64_t deadline = r->io.deadline ? r->io.deadline : WH_NEVER;
  if (wh_loop_watch(r->loop, &r->watch, r->io.fd, ev, deadline) != 0)
    end(r, ERROR_WINHTTP_INTERNAL_ERROR);
}

static void on_ready(struct wh_watch *w, bool timed_out)
{
  struct wh_request *r = of_watch(w);
  if (timed_out)
    end(r, ERROR_WINHTTP_TIMEOUT);
  else
    advance(r);
}

static void run_op(struct wh_task *t)
{
  advance(of_task(t));
}

DWORD wh_async_start(struct wh_request *r, const struct wh_async_op *op)
{
  pthread_mutex_lock(&r->hdr.lock);
  if (!r->loop)
    r->loop = wh_loop_pick();
  struct wh_loop *l = r->loop;
  pthread_mutex_unlock(&r->hdr.lock);
  if (!l)
    return ERROR_NOT_ENOUGH_MEMORY;
  r->op = op;
  r->io.fd = -1;
  r->io.events = 0;
  r->io.deadline = 0;
  r->watch.ready = on_ready;
  r->op_task.run = run_op;
  wh_object_addref(&r->hdr); /* the operation's reference */
  /* While a callback of |r| runs (on any thread), the loop must not
   * deliver another: the task waits for the last callback to return. */
  pthread_mutex_lock(&r->hdr.lock);
  bool defer = atomic_load(&r->callbacks) > 0;
  if (defer)
    r->deferred = &r->op_task;
  pthread_mutex_unlock(&r->hdr.lock);
  if (!defer)
    wh_loop_post(l, &r->op_task);
  return ERROR_SUCCESS;
}

/* The calling thread's nesting of inline completions, and the request
 * whose callback it is running (innermost). */
static _Thread_local int inline_depth;
static _Thread_local struct wh_request *in_callback_of;

struct wh_request *wh_async_callback_enter(struct wh_request *r)
{
  pthread_mutex_lock(&r->hdr.lock);
  atomic_fetch_add(&r->callbacks, 1);
  pthread_mutex_unlock(&r->hdr.lock);
  inline_depth++;
  struct wh_request *saved = in_callback_of;
  in_callback_of = r;
  return saved;
}

void wh_async_callback_leave(struct wh_request *r, struct wh_request *saved)
{
  in_callback_of = saved;
  inline_depth--;
  pthread_mutex_lock(&r->hdr.lock);
  struct wh_task *t = NULL;
  if (atomic_fetch_sub(&r->callbacks, 1) == 1) {
    t = r->deferred;
    r->deferred = NULL;
  }
  struct wh_loop *l = r->loop;
  pthread_mutex_unlock(&r->hdr.lock);
  if (t)
    wh_loop_post(l, t);
}

static bool may_inline(struct wh_request *r)
{
  if (inline_depth >= WH_INLINE_MAX)
    return false;
  /* Another thread in a callback of this request: completing here would
   * run two of its callbacks at once; the loop serialises them. */
  return atomic_load(&r->callbacks) == 0 || in_callback_of == r;
}

DWORD wh_async_run(struct wh_request *r, const struct wh_async_op *op)
{
  if (may_inline(r)) {
    struct wh_io io = {.fd = -1, .events = 0, .deadline = 0};
    inline_depth++;
    DWORD err = closing(r) ? ERROR_WINHTTP_OPERATION_CANCELLED : op->step(r, &io);
    inline_depth--;
    if (err != ERROR_IO_PENDING) {
      op->finish(r, err);
      return ERROR_SUCCESS;
    }
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
  if (r->op && r->watch.armed) {
    wh_loop_unwatch(r->loop, &r->watch);
    end(r, ERROR_WINHTTP_OPERATION_CANCELLED);
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
  r->cancel_task.run = run_cancel;
  wh_object_addref(&r->hdr);
  wh_loop_post(l, &r->cancel_task);
}
