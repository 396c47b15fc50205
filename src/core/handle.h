/* The handle table: HINTERNET values <-> objects.
 *
 * A handle value is (generation << 24) | slot index. Each slot holds one
 * 64-bit atomic word: generation (32 bits) | live bit | count of API calls
 * currently using the slot (31 bits). A lookup is one compare-and-swap on
 * that word, with no lock: it succeeds only if the generation matches and the
 * slot is live. A slot is reissued with generation + 1, so a stale value
 * fails with ERROR_INVALID_HANDLE for 2^32 - 1 reuses of its slot (CONTRACT
 * C5 asks for 2^24). See docs/ARCHITECTURE.md "Handle table".
 *
 * The table holds one reference on each object it maps. That reference is
 * dropped when the slot retires: after WinHttpCloseHandle cleared the live
 * bit and the last API call using the slot returned (CONTRACT C6).
 */
#ifndef WH_CORE_HANDLE_H
#define WH_CORE_HANDLE_H

#include <winhttp.h>

struct wh_object;

/* Publishes |obj| under a fresh handle value written to |*out|. The table
 * takes over one reference the caller held on |obj| on success; on failure
 * (ERROR_WINHTTP_OUT_OF_HANDLES, ERROR_NOT_ENOUGH_MEMORY) the caller still
 * owns it. Also stores the value in obj->handle before publishing. */
DWORD wh_handle_alloc(struct wh_object *obj, HINTERNET *out);

/* Looks |h| up. On success returns the object with a slot reference held,
 * which the caller must return with wh_handle_put(). Returns NULL for NULL,
 * never-issued, closed or stale values. Lock-free. */
struct wh_object *wh_handle_grab(HINTERNET h);

/* Returns a slot reference taken by wh_handle_grab or wh_handle_close. */
void wh_handle_put(struct wh_object *obj);

/* Marks |h| closed: later lookups fail. Exactly one caller wins for a given
 * value; everyone else gets NULL (ERROR_INVALID_HANDLE). The winner gets the
 * object with a slot reference held and must call wh_handle_put(). */
struct wh_object *wh_handle_close(HINTERNET h);

#ifdef WH_UNITTEST
/* Number of handles currently live (allocated and not yet retired). */
long wh_handle_live_count(void);
/* Forces the next allocation of the calling thread's shard to reuse slot
 * |idx| 's generation |gen|; for tests of generation wrap-around. */
void wh_handle_test_set_generation(HINTERNET h, unsigned long long gen);
#endif

#endif
