/* see objpool.h */
#include "util/objpool.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define WH_OBJPOOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WH_OBJPOOL_OFF 1
#endif
#endif

#ifdef WH_OBJPOOL_OFF

void *wh_objpool_get(struct wh_objpool *p)
{
  return wh_calloc(1, p->size);
}

void wh_objpool_put(struct wh_objpool *p, void *obj)
{
  (void)p;
  wh_free(obj);
}

#else

/* A slot: its chunk, then the object (aligned as malloc's results are);
 * while free, the object's first bytes link it into its chunk's list. */
struct slot {
  struct wh_objpool_chunk *chunk;
  alignas(max_align_t) unsigned char obj[];
};

/* A chunk is in the pool's partial list exactly while it has a free slot. */
struct wh_objpool_chunk {
  struct wh_objpool_chunk *next, *prev; /* the pool's partial list */
  void *free;                           /* free slots' objects, linked through their first bytes */
  unsigned used;
  alignas(max_align_t) unsigned char slots[];
};

static size_t slot_size(const struct wh_objpool *p)
{
  size_t a = alignof(max_align_t);
  size_t n = offsetof(struct slot, obj) + (p->size < sizeof(void *) ? sizeof(void *) : p->size);
  return (n + a - 1) / a * a;
}

static void unlink_chunk(struct wh_objpool *p, struct wh_objpool_chunk *c)
{
  if (c->prev)
    c->prev->next = c->next;
  else
    p->partial = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->next = c->prev = NULL;
}

static void push_chunk(struct wh_objpool *p, struct wh_objpool_chunk *c)
{
  c->prev = NULL;
  c->next = p->partial;
  if (c->next)
    c->next->prev = c;
  p->partial = c;
}

static struct wh_objpool_chunk *new_chunk(const struct wh_objpool *p)
{
  size_t ss = slot_size(p);
  if (ss > (SIZE_MAX - sizeof(struct wh_objpool_chunk)) / WH_OBJPOOL_SLOTS)
    return NULL;
  struct wh_objpool_chunk *c = wh_malloc(sizeof(*c) + ss * WH_OBJPOOL_SLOTS);
  if (!c)
    return NULL;
  c->next = c->prev = NULL;
  c->used = 0;
  c->free = NULL;
  for (size_t i = WH_OBJPOOL_SLOTS; i-- > 0;) {
    struct slot *s = (struct slot *)(void *)(c->slots + i * ss);
    s->chunk = c;
    memcpy(s->obj, &c->free, sizeof(void *));
    c->free = s->obj;
  }
  return c;
}

void *wh_objpool_get(struct wh_objpool *p)
{
  pthread_mutex_lock(&p->lock);
  struct wh_objpool_chunk *c = p->partial;
  if (!c) {
    c = new_chunk(p);
    if (!c) {
      pthread_mutex_unlock(&p->lock);
      return NULL;
    }
    push_chunk(p, c);
  }
  unsigned char *obj = c->free;
  memcpy(&c->free, obj, sizeof(void *));
  c->used++;
  if (!c->free)
    unlink_chunk(p, c); /* full */
  pthread_mutex_unlock(&p->lock);
  memset(obj, 0, p->size);
  return obj;
}

void wh_objpool_put(struct wh_objpool *p, void *obj)
{
  if (!obj)
    return;
  struct slot *s = (struct slot *)(void *)((unsigned char *)obj - offsetof(struct slot, obj));
  struct wh_objpool_chunk *c = s->chunk;
  pthread_mutex_lock(&p->lock);
  bool was_full = c->free == NULL;
  memcpy(obj, &c->free, sizeof(void *));
  c->free = obj;
  c->used--;
  if (was_full) {
    push_chunk(p, c);
  } else if (c->used == 0 && (p->partial != c || c->next)) {
    /* Empty, and another chunk has room: give the memory back. */
    unlink_chunk(p, c);
    pthread_mutex_unlock(&p->lock);
    wh_free(c);
    return;
  }
  pthread_mutex_unlock(&p->lock);
}

#endif
