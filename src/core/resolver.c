/* see resolver.h */
#include "core/resolver.h"

#include <stddef.h>

#include "core/handle.h"
#include "util/mem.h"

static struct wh_resolver *of_task(struct wh_task *t)
{
  return (struct wh_resolver *)(void *)((char *)t - offsetof(struct wh_resolver, task));
}

/* WinHttpCloseHandle: an operation still queued reports
 * ERROR_WINHTTP_OPERATION_CANCELLED instead of its outcome, as a request's
 * does; the next ones are refused. */
static void resolver_close(struct wh_object *o)
{
  struct wh_resolver *r = (struct wh_resolver *)o;
  pthread_mutex_lock(&o->lock);
  r->closing = true;
  pthread_mutex_unlock(&o->lock);
}

static const struct wh_object_ops resolver_ops = {
  .close = resolver_close,
  .destroy = NULL,
};

DWORD wh_resolver_new(struct wh_session *s, HINTERNET *out)
{
  struct wh_resolver *r = wh_calloc(1, sizeof(*r));
  if (!r)
    return ERROR_NOT_ENOUGH_MEMORY;
  wh_object_init(&r->hdr, WH_RESOLVER, &resolver_ops, &s->hdr, s->hdr.flags);
  DWORD err = wh_handle_alloc(&r->hdr, out);
  if (err != ERROR_SUCCESS)
    wh_object_release(&r->hdr); /* never published: no HANDLE_CLOSING */
  return err;
}

/* On the resolver's loop thread. The state is settled before the callback
 * runs, so the callback may start the next operation (it is queued behind
 * this task on the same loop) or close the handle. */
static void run_fail(struct wh_task *t)
{
  struct wh_resolver *r = of_task(t);
  pthread_mutex_lock(&r->hdr.lock);
  WINHTTP_ASYNC_RESULT res = {
    .dwResult = API_GET_PROXY_FOR_URL,
    .dwError = r->closing ? ERROR_WINHTTP_OPERATION_CANCELLED : r->error,
  };
  r->pending = false;
  pthread_mutex_unlock(&r->hdr.lock);
  wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_REQUEST_ERROR, &res, sizeof(res));
  wh_object_release(&r->hdr); /* the operation's reference */
}

DWORD wh_resolver_fail_async(struct wh_resolver *r, DWORD err, DWORD_PTR ctx)
{
  pthread_mutex_lock(&r->hdr.lock);
  DWORD refused = ERROR_SUCCESS;
  if (r->closing)
    refused = ERROR_WINHTTP_OPERATION_CANCELLED;
  else if (r->pending)
    refused = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  else if (!r->loop && !(r->loop = wh_loop_pick()))
    refused = ERROR_NOT_ENOUGH_MEMORY;
  if (refused != ERROR_SUCCESS) {
    pthread_mutex_unlock(&r->hdr.lock);
    return refused;
  }
  r->pending = true;
  r->error = err;
  r->task.run = run_fail;
  struct wh_loop *l = r->loop;
  atomic_store_explicit(&r->hdr.context, ctx, memory_order_relaxed);
  wh_object_addref(&r->hdr); /* the operation's reference */
  pthread_mutex_unlock(&r->hdr.lock);
  wh_loop_post(l, &r->task);
  return ERROR_IO_PENDING;
}
