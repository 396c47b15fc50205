/* Shared helpers for the test programs: a thread-safe recorder of status
 * callbacks, and small conveniences around cmocka. */
#ifndef WH_TEST_H
#define WH_TEST_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <winhttp.h>

#define WH_REC_MAX 4096

struct wh_rec_entry {
  HINTERNET handle;
  DWORD_PTR context;
  DWORD status;
  HINTERNET info_handle; /* *(HINTERNET *)info for HANDLE_CREATED/CLOSING */
  DWORD info_len;
};

/* A log of every callback delivered to wh_rec_callback, in order. The
 * context value passed to WinHTTP must be the address of the recorder
 * (set with WINHTTP_OPTION_CONTEXT_VALUE) or the recorder set with
 * wh_rec_set_default(). */
struct wh_rec {
  pthread_mutex_t lock;
  size_t n;
  struct wh_rec_entry e[WH_REC_MAX];
};

void wh_rec_init(struct wh_rec *r);
void wh_rec_set_default(struct wh_rec *r);
void CALLBACK wh_rec_callback(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len);
/* Number of entries with |status| (and |handle| unless NULL). */
size_t wh_rec_count(struct wh_rec *r, HINTERNET handle, DWORD status);
/* Index of the first entry matching, or -1. */
long wh_rec_find(struct wh_rec *r, HINTERNET handle, DWORD status);

/* A heap copy of exactly the |n| bytes at |p| (one byte allocated when |n|
 * is 0, never read), so that AddressSanitizer catches a read past the end
 * of what a function was given. free() it. */
void *wh_dup_exact(const void *p, size_t n);

/* Asserts the last error equals |err|. */
#define assert_last_error(err) assert_int_equal(GetLastError(), (err))

#endif
