/* see object.h */
#include "core/object.h"

#include "core/handle.h"
#include "util/blockcache.h"
#include "util/mem.h"

void wh_object_init(struct wh_object *o, enum wh_type type,
                    const struct wh_object_ops *ops, struct wh_object *parent,
                    unsigned flags)
{
  o->ops = ops;
  o->type = type;
  o->flags = flags;
  atomic_init(&o->refs, 1);
  o->handle = NULL;
  o->parent = parent;
  if (parent) {
    wh_object_addref(parent);
    atomic_init(&o->callback, atomic_load(&parent->callback));
    atomic_init(&o->notify_mask, atomic_load(&parent->notify_mask));
    atomic_init(&o->context, atomic_load(&parent->context));
  } else {
    atomic_init(&o->callback, NULL);
    atomic_init(&o->notify_mask, 0);
    atomic_init(&o->context, 0);
  }
  pthread_mutex_init(&o->lock, NULL);
}

void wh_object_addref(struct wh_object *o)
{
  atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void wh_object_release(struct wh_object *o)
{
  while (o) {
    if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
      return;
    /* Last reference: nobody else can reach |o| any more, so HANDLE_CLOSING
     * is the last callback for this handle (CONTRACT C7). Objects that were
     * never published (creation failed half-way) have no handle and get no
     * notification. */
    if (o->handle) {
      HINTERNET h = o->handle;
      wh_notify(o, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING, &h, sizeof(h));
    }
    struct wh_object *parent = o->parent;
    if (o->ops && o->ops->destroy)
      o->ops->destroy(o);
    pthread_mutex_destroy(&o->lock);
    if (o->type == WH_REQUEST)
      wh_block_free(o, sizeof(struct wh_request)); /* made by wh_request_new */
    else
      wh_free(o);
    o = parent;
  }
}

DWORD wh_object_grab(HINTERNET h, enum wh_type want, struct wh_object **out)
{
  struct wh_object *o = wh_handle_grab(h);
  if (!o)
    return ERROR_INVALID_HANDLE;
  if (want && o->type != want) {
    wh_handle_put(o);
    return ERROR_WINHTTP_INCORRECT_HANDLE_TYPE;
  }
  *out = o;
  return ERROR_SUCCESS;
}

void wh_notify(struct wh_object *o, DWORD status, void *info, DWORD len)
{
  WINHTTP_STATUS_CALLBACK cb = atomic_load_explicit(&o->callback, memory_order_acquire);
  if (!cb || cb == WINHTTP_INVALID_STATUS_CALLBACK)
    return;
  if (!(atomic_load_explicit(&o->notify_mask, memory_order_relaxed) & status))
    return;
  cb(o->handle, atomic_load_explicit(&o->context, memory_order_relaxed), status, info, len);
}
