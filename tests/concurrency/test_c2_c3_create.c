/* CONTRACT C2 and C3: WinHttpOpen from many threads at once; many threads
 * creating connections on one session and requests on one connection at
 * once; calls on different handles in parallel. Every handle is distinct,
 * every HANDLE_CREATED and HANDLE_CLOSING comes exactly once. Runs under
 * ThreadSanitizer in CI. */
#include "wh_test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/handle.h"

#define THREADS 8
#define PER_THREAD 300

static pthread_barrier_t start;
static HINTERNET g_session, g_connect;
static atomic_long created, closing;

static void CALLBACK count_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)h; (void)ctx; (void)info; (void)len;
  if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CREATED)
    atomic_fetch_add(&created, 1);
  else if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING)
    atomic_fetch_add(&closing, 1);
}

struct job {
  HINTERNET made[2 * PER_THREAD];
  int n;
  int failures;
};

static void *make_handles(void *arg)
{
  struct job *j = arg;
  pthread_barrier_wait(&start);
  for (int i = 0; i < PER_THREAD; i++) {
    HINTERNET c = WinHttpConnect(g_session, L"localhost", (INTERNET_PORT)(1000 + i), 0);
    HINTERNET r = WinHttpOpenRequest(g_connect, L"GET", L"/x", NULL, NULL, NULL, 0);
    if (!c || !r)
      j->failures++;
    /* A call on the handle this thread just made, in parallel with other
     * threads' calls on theirs (C2). */
    DWORD type = 0, len = sizeof(type);
    if (!WinHttpQueryOption(r, WINHTTP_OPTION_HANDLE_TYPE, &type, &len) ||
        type != WINHTTP_HANDLE_TYPE_REQUEST)
      j->failures++;
    if (!WinHttpAddRequestHeaders(r, L"X-Thread: 1", (DWORD)-1, WINHTTP_ADDREQ_FLAG_ADD))
      j->failures++;
    j->made[j->n++] = c;
    j->made[j->n++] = r;
  }
  return NULL;
}

static void *open_close_sessions(void *arg)
{
  struct job *j = arg;
  pthread_barrier_wait(&start);
  for (int i = 0; i < PER_THREAD; i++) {
    HINTERNET s = WinHttpOpen(L"c3", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
    if (!s || !WinHttpCloseHandle(s))
      j->failures++;
  }
  return NULL;
}

static int cmp_handle(const void *a, const void *b)
{
  uintptr_t x = (uintptr_t) * (HINTERNET const *)a, y = (uintptr_t) * (HINTERNET const *)b;
  return x < y ? -1 : x > y;
}

static void test_c3_create_on_shared_parents(void **state)
{
  (void)state;
  long live = wh_handle_live_count();
  g_session = WinHttpOpen(L"c3", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(g_session);
  WinHttpSetStatusCallback(g_session, count_cb, WINHTTP_CALLBACK_FLAG_HANDLES, 0);
  g_connect = WinHttpConnect(g_session, L"localhost", 80, 0);
  assert_non_null(g_connect);
  atomic_store(&created, 0);
  atomic_store(&closing, 0);

  static struct job jobs[THREADS];
  memset(jobs, 0, sizeof(jobs));
  pthread_t t[THREADS];
  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, make_handles, &jobs[i]), 0);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(jobs[i].failures, 0);
  }
  pthread_barrier_destroy(&start);
  assert_int_equal(atomic_load(&created), 2 * THREADS * PER_THREAD);

  /* Every value handed out is distinct. */
  static HINTERNET all[2 * THREADS * PER_THREAD];
  size_t n = 0;
  for (int i = 0; i < THREADS; i++)
    for (int k = 0; k < jobs[i].n; k++)
      all[n++] = jobs[i].made[k];
  qsort(all, n, sizeof(all[0]), cmp_handle);
  for (size_t i = 1; i < n; i++)
    assert_ptr_not_equal(all[i - 1], all[i]);

  /* Close everything from the threads that did not create it. */
  for (int i = 0; i < THREADS; i++)
    for (int k = 0; k < jobs[(i + 1) % THREADS].n; k++)
      assert_true(WinHttpCloseHandle(jobs[(i + 1) % THREADS].made[k]));
  assert_true(WinHttpCloseHandle(g_connect));
  assert_true(WinHttpCloseHandle(g_session));
  assert_int_equal(atomic_load(&closing), 2 * THREADS * PER_THREAD + 2);
  assert_int_equal(wh_handle_live_count(), live);
}

static void test_c3_sessions_in_parallel(void **state)
{
  (void)state;
  long live = wh_handle_live_count();
  static struct job jobs[THREADS];
  memset(jobs, 0, sizeof(jobs));
  pthread_t t[THREADS];
  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, open_close_sessions, &jobs[i]), 0);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(jobs[i].failures, 0);
  }
  pthread_barrier_destroy(&start);
  assert_int_equal(wh_handle_live_count(), live);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_c3_create_on_shared_parents),
    cmocka_unit_test(test_c3_sessions_in_parallel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
