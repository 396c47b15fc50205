/* CONTRACT C5 (and the handle side of C6): closing a handle from several
 * threads at once succeeds exactly once; a closed or stale handle value
 * fails with ERROR_INVALID_HANDLE from any thread, while the table recycles
 * slots underneath; calls racing a close either work or fail cleanly, and
 * HANDLE_CLOSING comes exactly once. Runs under ThreadSanitizer in CI. */
#include "wh_test.h"

#include <stdatomic.h>
#include <string.h>

#include "core/handle.h"

#define THREADS 8

static pthread_barrier_t start;
static atomic_long closings;

static void CALLBACK closing_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)h; (void)ctx; (void)info; (void)len;
  if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING)
    atomic_fetch_add(&closings, 1);
}

/* --- many threads close the same handle at the same moment --------------- */

static HINTERNET race_handle;
static atomic_int race_wins, race_invalid, race_other;

static void *close_racer(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start);
  if (WinHttpCloseHandle(race_handle))
    atomic_fetch_add(&race_wins, 1);
  else if (GetLastError() == ERROR_INVALID_HANDLE)
    atomic_fetch_add(&race_invalid, 1);
  else
    atomic_fetch_add(&race_other, 1);
  pthread_barrier_wait(&start);
  return NULL;
}

static void test_c5_double_close_race(void **state)
{
  (void)state;
  long live = wh_handle_live_count();
  HINTERNET s = WinHttpOpen(L"c5", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  WinHttpSetStatusCallback(s, closing_cb, WINHTTP_CALLBACK_FLAG_HANDLES, 0);
  HINTERNET c = WinHttpConnect(s, L"localhost", 80, 0);
  pthread_t t[THREADS];
  pthread_barrier_init(&start, NULL, THREADS + 1);
  for (int round = 0; round < 200; round++) {
    atomic_store(&closings, 0);
    atomic_store(&race_wins, 0);
    atomic_store(&race_invalid, 0);
    atomic_store(&race_other, 0);
    race_handle = WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL, 0);
    assert_non_null(race_handle);
    for (int i = 0; i < THREADS; i++)
      assert_int_equal(pthread_create(&t[i], NULL, close_racer, NULL), 0);
    pthread_barrier_wait(&start); /* go */
    pthread_barrier_wait(&start); /* all closed */
    for (int i = 0; i < THREADS; i++)
      pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&race_wins), 1);
    assert_int_equal(atomic_load(&race_invalid), THREADS - 1);
    assert_int_equal(atomic_load(&race_other), 0);
    assert_int_equal(atomic_load(&closings), 1);
  }
  pthread_barrier_destroy(&start);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  assert_int_equal(wh_handle_live_count(), live);
}

/* --- stale values used while slots are recycled --------------------------- */

#define RING 1024
static _Atomic(HINTERNET) ring[RING];
static atomic_uint ring_pos;
static atomic_bool producers_done;
static atomic_long stale_uses, stale_accepted;

static void *recycler(void *arg)
{
  HINTERNET c = arg;
  pthread_barrier_wait(&start);
  for (int i = 0; i < 3000; i++) {
    HINTERNET h = (i & 1) ? WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL, 0)
                          : WinHttpOpen(NULL, 0, NULL, NULL, 0);
    if (!h)
      continue;
    WinHttpCloseHandle(h);
    /* Published only once closed: every use by a reader is a use after
     * close, of a value whose slot is being reissued right now. */
    atomic_store(&ring[atomic_fetch_add(&ring_pos, 1) % RING], h);
  }
  return NULL;
}

static void *stale_user(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start);
  unsigned k = 0;
  while (!atomic_load(&producers_done) || k < 2 * RING) {
    HINTERNET h = atomic_load(&ring[k++ % RING]);
    if (!h)
      continue;
    DWORD type = 0, len = sizeof(type);
    BOOL ok;
    switch (k % 4) {
    case 0: ok = WinHttpQueryOption(h, WINHTTP_OPTION_HANDLE_TYPE, &type, &len); break;
    case 1: ok = WinHttpCloseHandle(h); break;
    case 2: ok = WinHttpSetStatusCallback(h, closing_cb, 0, 0) != WINHTTP_INVALID_STATUS_CALLBACK; break;
    default: ok = WinHttpAddRequestHeaders(h, L"X: y", (DWORD)-1, WINHTTP_ADDREQ_FLAG_ADD); break;
    }
    atomic_fetch_add(&stale_uses, 1);
    if (ok || GetLastError() != ERROR_INVALID_HANDLE)
      atomic_fetch_add(&stale_accepted, 1);
  }
  return NULL;
}

static void test_c5_stale_values_while_recycling(void **state)
{
  (void)state;
  long live = wh_handle_live_count();
  HINTERNET s = WinHttpOpen(L"c5", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  HINTERNET c = WinHttpConnect(s, L"localhost", 80, 0);
  enum { PRODUCERS = 4, READERS = 4 };
  pthread_t p[PRODUCERS], r[READERS];
  pthread_barrier_init(&start, NULL, PRODUCERS + READERS);
  for (int i = 0; i < PRODUCERS; i++)
    assert_int_equal(pthread_create(&p[i], NULL, recycler, c), 0);
  for (int i = 0; i < READERS; i++)
    assert_int_equal(pthread_create(&r[i], NULL, stale_user, NULL), 0);
  for (int i = 0; i < PRODUCERS; i++)
    pthread_join(p[i], NULL);
  atomic_store(&producers_done, 1);
  for (int i = 0; i < READERS; i++)
    pthread_join(r[i], NULL);
  pthread_barrier_destroy(&start);
  assert_true(atomic_load(&stale_uses) > 0);
  assert_int_equal(atomic_load(&stale_accepted), 0);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  assert_int_equal(wh_handle_live_count(), live);
}

/* --- calls racing a close on the same handle ------------------------------- */

static HINTERNET busy_handle;
static atomic_bool busy_stop;
static atomic_long busy_ok, busy_invalid, busy_other;

static void *busy_caller(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start);
  while (!atomic_load(&busy_stop)) {
    DWORD type = 0, len = sizeof(type);
    BOOL ok = WinHttpQueryOption(busy_handle, WINHTTP_OPTION_HANDLE_TYPE, &type, &len) &&
              WinHttpAddRequestHeaders(busy_handle, L"X-Busy: 1", (DWORD)-1,
                                       WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE);
    if (ok)
      atomic_fetch_add(&busy_ok, 1);
    else if (GetLastError() == ERROR_INVALID_HANDLE)
      atomic_fetch_add(&busy_invalid, 1);
    else
      atomic_fetch_add(&busy_other, 1);
  }
  return NULL;
}

static void test_c6_calls_racing_close(void **state)
{
  (void)state;
  long live = wh_handle_live_count();
  HINTERNET s = WinHttpOpen(L"c6", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  WinHttpSetStatusCallback(s, closing_cb, WINHTTP_CALLBACK_FLAG_HANDLES, 0);
  HINTERNET c = WinHttpConnect(s, L"localhost", 80, 0);
  for (int round = 0; round < 50; round++) {
    atomic_store(&closings, 0);
    atomic_store(&busy_stop, 0);
    busy_handle = WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL, 0);
    pthread_t t[4];
    pthread_barrier_init(&start, NULL, 5);
    for (int i = 0; i < 4; i++)
      assert_int_equal(pthread_create(&t[i], NULL, busy_caller, NULL), 0);
    pthread_barrier_wait(&start);
    assert_true(WinHttpCloseHandle(busy_handle));
    atomic_store(&busy_stop, 1);
    for (int i = 0; i < 4; i++)
      pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    /* Once every caller returned, the request is gone, exactly once. */
    assert_int_equal(atomic_load(&closings), 1);
    assert_int_equal(atomic_load(&busy_other), 0);
  }
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  assert_int_equal(wh_handle_live_count(), live);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_c5_double_close_race),
    cmocka_unit_test(test_c5_stale_values_while_recycling),
    cmocka_unit_test(test_c6_calls_racing_close),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
