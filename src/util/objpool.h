/* Fixed-size objects packed into shared chunks, for objects that outlive
 * the burst that made them: an idle keep-alive connection is allocated in
 * the middle of its request's allocations, and once those are freed it
 * would keep a whole heap page resident on its own (10,000 idle
 * connections cost 4 KiB of RSS each, 1.4 KiB of heap). Taken from a pool,
 * the survivors of a burst share pages.
 *
 * A chunk holds WH_OBJPOOL_SLOTS objects, handed out in order, so that a
 * burst fills chunks one after the other; a chunk that becomes empty while
 * another has room is freed. Thread-safe (one lock per pool). Builds with AddressSanitizer bypass the pool (plain calloc
 * and free), so that a use after free is still caught. */
#ifndef WH_UTIL_OBJPOOL_H
#define WH_UTIL_OBJPOOL_H

#include <pthread.h>
#include <stddef.h>

#define WH_OBJPOOL_SLOTS 64

struct wh_objpool_chunk;

struct wh_objpool {
  size_t size;                     /* of one object, as given */
  pthread_mutex_t lock;
  struct wh_objpool_chunk *partial; /* chunks with a free slot */
};

#define WH_OBJPOOL_INIT(object_size) {(object_size), PTHREAD_MUTEX_INITIALIZER, NULL}

/* A zeroed object, or NULL when out of memory (wh_malloc's test hook
 * applies to the chunks). */
void *wh_objpool_get(struct wh_objpool *p);
/* Gives back an object from wh_objpool_get(|p|); NULL is ignored. */
void wh_objpool_put(struct wh_objpool *p, void *obj);

#endif
