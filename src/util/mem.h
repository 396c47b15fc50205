/* Allocation wrappers: the one place every internal allocation goes through.
 *
 * They exist for two reasons: tests can make the Nth allocation fail
 * (wh_mem_fail_after) to walk every error path under AddressSanitizer, and a
 * single place can later add accounting. Never call malloc/free directly.
 */
#ifndef WH_UTIL_MEM_H
#define WH_UTIL_MEM_H

#include <stdbool.h>
#include <stddef.h>

void *wh_malloc(size_t n);
void *wh_calloc(size_t count, size_t size);
void *wh_realloc(void *p, size_t n);
void wh_free(void *p);

/* zlib's allocator hooks (z_stream.zalloc/zfree take exactly these
 * types), so that zlib's allocations fail on the test hook too. */
void *wh_zlib_alloc(void *opaque, unsigned items, unsigned size);
void wh_zlib_free(void *opaque, void *p);

/* Returns a NUL-terminated copy of the |len| bytes at |s|, or NULL when out
 * of memory. The caller owns the result. */
char *wh_strndup(const char *s, size_t len);
/* A copy of the optional string |s| (NULL for NULL); when memory runs out,
 * NULL and |*failed| set, so that several copies are checked once. */
char *wh_strdup_opt(const char *s, bool *failed);

/* Test hook: after |n| more successful allocations, every allocation fails
 * until wh_mem_fail_reset() is called. A negative |n| disables failing.
 * Returns nothing; counters are process-wide and atomic (allocations on
 * every thread count, the loop threads' included). */
void wh_mem_fail_after(long n);
/* As wh_mem_fail_after, but only the one allocation after those |n| fails;
 * the hook is then disarmed (later allocations succeed). */
void wh_mem_fail_once(long n);
void wh_mem_fail_reset(void);
/* Number of allocations refused since the last wh_mem_fail_after/once(). */
long wh_mem_fail_count(void);
/* Number of allocations allowed since the last wh_mem_fail_after/once()
 * while the hook was armed: wh_mem_fail_after(LONG_MAX), run, and this is
 * how many allocations the run made. */
long wh_mem_fail_allowed(void);

#endif
