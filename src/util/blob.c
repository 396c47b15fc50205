/* see blob.h */
#include "util/blob.h"

#include <string.h>

#include "util/mem.h"

struct wh_blob *wh_blob_alloc(size_t len)
{
  struct wh_blob *b = wh_malloc(sizeof(*b) + len);
  if (!b)
    return NULL;
  atomic_init(&b->refs, 1);
  b->len = len;
  return b;
}

struct wh_blob *wh_blob_new(const void *bytes, size_t len)
{
  struct wh_blob *b = wh_blob_alloc(len);
  if (b && len)
    memcpy(b->bytes, bytes, len);
  return b;
}

struct wh_blob *wh_blob_ref(struct wh_blob *b)
{
  if (b)
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
  return b;
}

void wh_blob_unref(struct wh_blob *b)
{
  if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
    wh_free(b);
}
