/* see mem.h */
#include "util/mem.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* -1: never fail. Otherwise the number of allocations still allowed. The
 * common path is one relaxed load of a value that never changes outside
 * tests. */
static atomic_long fail_budget = -1;
static atomic_long fail_hits = 0;
/* Allocations allowed while armed (wh_mem_fail_allowed). */
static atomic_long fail_allowed = 0;
/* wh_mem_fail_once: the budget's end refuses one allocation and disarms. */
static atomic_bool fail_once = false;

static int should_fail(void)
{
  long b = atomic_load_explicit(&fail_budget, memory_order_relaxed);
  if (b < 0)
    return 0;
  for (;;) {
    if (b == 0) {
      /* One-shot: exactly one thread wins the 0 -> -1 exchange and fails;
       * any other sees the hook disarmed. */
      if (atomic_load_explicit(&fail_once, memory_order_relaxed) &&
          !atomic_compare_exchange_strong_explicit(&fail_budget, &b, -1,
                                                   memory_order_relaxed,
                                                   memory_order_relaxed))
        return 0;
      atomic_fetch_add_explicit(&fail_hits, 1, memory_order_relaxed);
      return 1;
    }
    if (atomic_compare_exchange_weak_explicit(&fail_budget, &b, b - 1,
                                              memory_order_relaxed,
                                              memory_order_relaxed)) {
      atomic_fetch_add_explicit(&fail_allowed, 1, memory_order_relaxed);
      return 0;
    }
    if (b < 0)
      return 0;
  }
}

void *wh_malloc(size_t n)
{
  if (should_fail())
    return NULL;
  return malloc(n ? n : 1);
}

void *wh_calloc(size_t count, size_t size)
{
  if (should_fail())
    return NULL;
  if (count == 0 || size == 0)
    return calloc(1, 1);
  return calloc(count, size);
}

void *wh_realloc(void *p, size_t n)
{
  if (should_fail())
    return NULL;
  return realloc(p, n ? n : 1);
}

void wh_free(void *p)
{
  free(p);
}

char *wh_strndup(const char *s, size_t len)
{
  char *r = wh_malloc(len + 1);
  if (!r)
    return NULL;
  if (len)
    memcpy(r, s, len);
  r[len] = '\0';
  return r;
}

char *wh_strdup_opt(const char *s, bool *failed)
{
  if (!s)
    return NULL;
  char *d = wh_strndup(s, strlen(s));
  if (!d)
    *failed = true;
  return d;
}

static void arm(long n, bool once)
{
  atomic_store(&fail_budget, -1);
  atomic_store(&fail_hits, 0);
  atomic_store(&fail_allowed, 0);
  atomic_store(&fail_once, once);
  atomic_store(&fail_budget, n < 0 ? -1 : n);
}

void wh_mem_fail_after(long n)
{
  arm(n, false);
}

void wh_mem_fail_once(long n)
{
  arm(n, true);
}

void wh_mem_fail_reset(void)
{
  atomic_store(&fail_budget, -1);
}

long wh_mem_fail_count(void)
{
  return atomic_load(&fail_hits);
}

long wh_mem_fail_allowed(void)
{
  return atomic_load(&fail_allowed);
}

void *wh_zlib_alloc(void *opaque, unsigned items, unsigned size)
{
  (void)opaque;
  /* wh_calloc checks items * size for overflow. */
  return wh_calloc(items, size);
}

void wh_zlib_free(void *opaque, void *p)
{
  (void)opaque;
  wh_free(p);
}
