/* see handle.h */
#include "core/handle.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/object.h"
#include "util/mem.h"

#define INDEX_BITS 24
#define MAX_SLOTS (UINT32_C(1) << INDEX_BITS)
#define CHUNK_BITS 10
#define CHUNK_SLOTS (1u << CHUNK_BITS)
#define NCHUNKS (MAX_SLOTS >> CHUNK_BITS)
/* Allocation and retirement take a shard lock (never lookups). Threads are
 * spread over shards so handle creation from many threads does not contend
 * on one lock (ARCHITECTURE-NOTES §7 "handle open/close scales"). */
#define NSHARDS 16u

#define W_COUNT_MASK UINT64_C(0x7FFFFFFF)
#define W_LIVE (UINT64_C(1) << 31)
#define W_GEN(w) ((uint32_t)((w) >> 32))

struct slot {
  _Atomic uint64_t word;
  _Atomic(struct wh_object *) obj;
  uint32_t next_free; /* shard free list, guarded by the shard lock */
};

struct shard {
  pthread_mutex_t lock;
  uint32_t free_head; /* slot index + 1; 0 = empty */
  uint32_t fresh;     /* next never-used k: index = shard + NSHARDS * k */
  char pad[64];
};

static _Atomic(struct slot *) chunks[NCHUNKS];
static struct shard shards[NSHARDS] = {
#define S PTHREAD_MUTEX_INITIALIZER, 0, 0, {0}
  {S}, {S}, {S}, {S}, {S}, {S}, {S}, {S},
  {S}, {S}, {S}, {S}, {S}, {S}, {S}, {S},
#undef S
};
static atomic_uint next_shard;
static _Thread_local unsigned my_shard = NSHARDS;
static atomic_long live_count;

static struct slot *slot_of(uint32_t idx, int create)
{
  _Atomic(struct slot *) *cp = &chunks[idx >> CHUNK_BITS];
  struct slot *c = atomic_load_explicit(cp, memory_order_acquire);
  if (c || !create)
    return c ? &c[idx & (CHUNK_SLOTS - 1)] : NULL;
  struct slot *fresh = wh_calloc(CHUNK_SLOTS, sizeof(*fresh));
  if (!fresh)
    return NULL;
  struct slot *expected = NULL;
  if (!atomic_compare_exchange_strong_explicit(cp, &expected, fresh,
                                               memory_order_acq_rel,
                                               memory_order_acquire)) {
    /* Another thread installed the chunk first; use theirs. */
    wh_free(fresh);
    c = expected;
  } else {
    c = fresh;
  }
  return &c[idx & (CHUNK_SLOTS - 1)];
}

static HINTERNET make_value(uint32_t gen, uint32_t idx)
{
  return (HINTERNET)(uintptr_t)(((uint64_t)gen << INDEX_BITS) | idx);
}

/* Takes a slot index from shard |s|. Returns 0 and sets |*idx|, or -1 when
 * the shard is exhausted, -2 when out of memory. Called with the lock held. */
static int shard_take_nolock(struct shard *sh, unsigned s, uint32_t *idx)
{
  if (sh->free_head) {
    *idx = sh->free_head - 1;
    struct slot *sl = slot_of(*idx, 0);
    sh->free_head = sl->next_free;
    return 0;
  }
  uint64_t i = (uint64_t)s + (uint64_t)NSHARDS * sh->fresh;
  if (i >= MAX_SLOTS)
    return -1;
  if (!slot_of((uint32_t)i, 1))
    return -2;
  sh->fresh++;
  *idx = (uint32_t)i;
  return 0;
}

DWORD wh_handle_alloc(struct wh_object *obj, HINTERNET *out)
{
  if (my_shard == NSHARDS)
    my_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % NSHARDS;
  /* Try the thread's own shard first, then the others, so one busy thread
   * can still use the whole table. */
  for (unsigned k = 0; k < NSHARDS; k++) {
    unsigned s = (my_shard + k) % NSHARDS;
    struct shard *sh = &shards[s];
    uint32_t idx;
    pthread_mutex_lock(&sh->lock);
    int r = shard_take_nolock(sh, s, &idx);
    pthread_mutex_unlock(&sh->lock);
    if (r == -2)
      return ERROR_NOT_ENOUGH_MEMORY;
    if (r == -1)
      continue;
    struct slot *sl = slot_of(idx, 0);
    uint64_t w = atomic_load_explicit(&sl->word, memory_order_relaxed);
    uint32_t gen = W_GEN(w) + 1;
    if (gen == 0)
      gen = 1; /* generation 0 is never issued: value 0..2^24-1 stay invalid */
    HINTERNET h = make_value(gen, idx);
    obj->handle = h;
    atomic_store_explicit(&sl->obj, obj, memory_order_relaxed);
    /* Publishes obj (and everything the caller initialised) to lookups. */
    atomic_store_explicit(&sl->word, ((uint64_t)gen << 32) | W_LIVE, memory_order_release);
    atomic_fetch_add_explicit(&live_count, 1, memory_order_relaxed);
    *out = h;
    return ERROR_SUCCESS;
  }
  return ERROR_WINHTTP_OUT_OF_HANDLES;
}

static struct slot *slot_of_value(HINTERNET h, uint32_t *gen, uint32_t *idx)
{
  uint64_t v = (uint64_t)(uintptr_t)h;
  uint64_t g = v >> INDEX_BITS;
  if (g == 0 || g > UINT32_MAX)
    return NULL;
  *gen = (uint32_t)g;
  *idx = (uint32_t)(v & (MAX_SLOTS - 1));
  return slot_of(*idx, 0);
}

struct wh_object *wh_handle_grab(HINTERNET h)
{
  uint32_t gen, idx;
  struct slot *sl = slot_of_value(h, &gen, &idx);
  if (!sl)
    return NULL;
  uint64_t w = atomic_load_explicit(&sl->word, memory_order_relaxed);
  for (;;) {
    if (W_GEN(w) != gen || !(w & W_LIVE) || (w & W_COUNT_MASK) == W_COUNT_MASK)
      return NULL;
    if (atomic_compare_exchange_weak_explicit(&sl->word, &w, w + 1,
                                              memory_order_acquire,
                                              memory_order_relaxed))
      return atomic_load_explicit(&sl->obj, memory_order_relaxed);
  }
}

struct wh_object *wh_handle_close(HINTERNET h)
{
  uint32_t gen, idx;
  struct slot *sl = slot_of_value(h, &gen, &idx);
  if (!sl)
    return NULL;
  uint64_t w = atomic_load_explicit(&sl->word, memory_order_relaxed);
  for (;;) {
    if (W_GEN(w) != gen || !(w & W_LIVE) || (w & W_COUNT_MASK) == W_COUNT_MASK)
      return NULL;
    /* Clear live and take a slot reference in one step, so the object
     * stays mapped for the closer's cancel hook. */
    if (atomic_compare_exchange_weak_explicit(&sl->word, &w, (w & ~W_LIVE) + 1,
                                              memory_order_acq_rel,
                                              memory_order_relaxed))
      return atomic_load_explicit(&sl->obj, memory_order_relaxed);
  }
}

static void retire(struct slot *sl, uint32_t idx)
{
  struct wh_object *obj = atomic_load_explicit(&sl->obj, memory_order_relaxed);
  atomic_store_explicit(&sl->obj, NULL, memory_order_relaxed);
  struct shard *sh = &shards[idx % NSHARDS];
  pthread_mutex_lock(&sh->lock);
  sl->next_free = sh->free_head;
  sh->free_head = idx + 1;
  pthread_mutex_unlock(&sh->lock);
  atomic_fetch_sub_explicit(&live_count, 1, memory_order_relaxed);
  /* The table's reference; may deliver HANDLE_CLOSING. No lock is held. */
  wh_object_release(obj);
}

void wh_handle_put(struct wh_object *obj)
{
  /* Initialised for the compiler's sake: a held slot always decodes. */
  uint32_t gen = 0, idx = 0;
  struct slot *sl = slot_of_value(obj->handle, &gen, &idx);
  uint64_t w = atomic_fetch_sub_explicit(&sl->word, 1, memory_order_acq_rel) - 1;
  if ((w & W_COUNT_MASK) == 0 && !(w & W_LIVE))
    retire(sl, idx);
}

#ifdef WH_UNITTEST
long wh_handle_live_count(void)
{
  return atomic_load(&live_count);
}

void wh_handle_test_set_generation(HINTERNET h, unsigned long long g)
{
  uint32_t gen, idx;
  struct slot *sl = slot_of_value(h, &gen, &idx);
  uint64_t w = atomic_load(&sl->word);
  atomic_store(&sl->word, (w & UINT64_C(0xFFFFFFFF)) | ((uint64_t)(uint32_t)g << 32));
}
#endif
