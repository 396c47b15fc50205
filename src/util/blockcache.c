/* see blockcache.h */
#include "util/blockcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "util/mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define WH_BLOCKCACHE_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WH_BLOCKCACHE_OFF 1
#endif
#endif

#ifdef WH_BLOCKCACHE_OFF

void *wh_block_calloc(size_t size)
{
  return wh_calloc(1, size);
}

void wh_block_free(void *p, size_t size)
{
  (void)size;
  wh_free(p);
}

#else

#define CACHE_MAX 32

struct cache {
  size_t size;
  unsigned n;
  void *v[CACHE_MAX];
};

/* The thread's cache lives in its own storage: giving a block back never
 * allocates (closing a handle needs no memory; tests/unit/test_oom.c). */
static _Thread_local struct cache tl_cache;
static _Thread_local bool tl_registered;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void cache_free(void *arg)
{
  struct cache *c = arg;
  while (c->n)
    wh_free(c->v[--c->n]);
}

static void make_key(void)
{
  pthread_key_create(&key, cache_free);
}

void *wh_block_calloc(size_t size)
{
  struct cache *c = &tl_cache;
  if (c->n && c->size == size) {
    void *p = c->v[--c->n];
    memset(p, 0, size);
    return p;
  }
  return wh_calloc(1, size);
}

void wh_block_free(void *p, size_t size)
{
  if (!p)
    return;
  struct cache *c = &tl_cache;
  if (!tl_registered) {
    /* The key's destructor frees the blocks when the thread exits. */
    pthread_once(&once, make_key);
    if (pthread_setspecific(key, c) != 0) {
      wh_free(p);
      return;
    }
    tl_registered = true;
  }
  if (c->size != size) {
    /* Another size: the cache follows the most recent one. */
    while (c->n)
      wh_free(c->v[--c->n]);
    c->size = size;
  }
  if (c->n < CACHE_MAX)
    c->v[c->n++] = p;
  else
    wh_free(p);
}

#endif
