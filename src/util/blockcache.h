/* A per-thread cache of freed blocks of one size, for objects made and
 * freed at a high rate (a request handle per HTTP request). Blocks that
 * large miss malloc's per-thread cache; a hit here costs one memset instead
 * of malloc's and free's large-chunk paths. A thread keeps at most a few
 * blocks, freed when it exits.
 *
 * Builds with AddressSanitizer bypass the cache (plain calloc and free), so
 * that a use after free of such an object is still caught. */
#ifndef WH_UTIL_BLOCKCACHE_H
#define WH_UTIL_BLOCKCACHE_H

#include <stddef.h>

/* A zeroed block of |size| bytes (wh_calloc semantics), or NULL. */
void *wh_block_calloc(size_t size);
/* Gives back a block from wh_block_calloc(|size|). */
void wh_block_free(void *p, size_t size);

#endif
