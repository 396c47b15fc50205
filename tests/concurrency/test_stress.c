/* The contract under stress (issue 4, CONTRACT C5-C9): 8 threads run
 * asynchronous requests against nginx and the fault server, each driven by
 * its callbacks (Send -> Receive -> QueryDataAvailable/ReadData until the
 * end), while the threads close request handles at random points, their
 * own and each other's. The books are checked at the end:
 *
 *  - every operation the API accepted (returned TRUE) got exactly one
 *    completion or REQUEST_ERROR;
 *  - every request got exactly one HANDLE_CLOSING, and nothing after it;
 *  - nothing leaks (AddressSanitizer) and nothing races (ThreadSanitizer).
 *
 * Bounded by an operation count (WH_STRESS_OPS, default 100000) and a time
 * limit (WH_STRESS_SECONDS, default 90). Waiting is on a condition
 * variable; no sleeps. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 8
#define SLOTS 64 /* live requests anyone may close */

static struct wh_peer fault, nginx;
static HINTERNET session, conn_fault, conn_nginx;

static atomic_long ops;        /* API calls made */
static atomic_long accepted;   /* ... that returned TRUE (a completion is owed) */
static atomic_long completed;  /* completions and REQUEST_ERRORs delivered */
static atomic_long violations; /* books that did not balance */
static atomic_long created, closings;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static _Atomic(HINTERNET) slots[SLOTS];
static long max_ops;
static long deadline_ms;

struct req {
  atomic_int closing_seen;
  atomic_int after_closing;
  char buf[2048];
  struct req *next; /* all requests, freed at the end */
};

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct req *all;

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An API call whose TRUE owes a completion: counted before the call, since
 * an inline completion is delivered before it returns. */
#define CALL(expr)                                 \
  do {                                             \
    atomic_fetch_add(&ops, 1);                     \
    atomic_fetch_add(&accepted, 1);                \
    if (!(expr))                                   \
      atomic_fetch_sub(&accepted, 1);              \
  } while (0)

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct req *q = (struct req *)ctx;
  if (!q)
    return;
  if (atomic_load(&q->closing_seen))
    atomic_store(&q->after_closing, 1);
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
    atomic_fetch_add(&q->closing_seen, 1);
    pthread_mutex_lock(&done_lock);
    atomic_fetch_add(&closings, 1);
    pthread_cond_broadcast(&done_cond);
    pthread_mutex_unlock(&done_lock);
    return;
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    atomic_fetch_add(&completed, 1);
    CALL(WinHttpReceiveResponse(h, NULL));
    return;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    atomic_fetch_add(&completed, 1);
    CALL(WinHttpQueryDataAvailable(h, NULL));
    return;
  case WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
    atomic_fetch_add(&completed, 1);
    if (*(DWORD *)info)
      CALL(WinHttpReadData(h, q->buf, sizeof(q->buf), NULL));
    return;
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    atomic_fetch_add(&completed, 1);
    if (len)
      CALL(WinHttpQueryDataAvailable(h, NULL));
    return;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
  case WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE:
    atomic_fetch_add(&completed, 1);
    return;
  default:
    return;
  }
}

static const wchar_t *const fault_paths[] = {
    L"/ok?n=100", L"/chunked?n=5000&chunks=5", L"/close?n=300", L"/delay?ms=5&n=10",
    L"/stall", L"/204", L"/reset-body", L"/garbage",
};

static void *worker(void *arg)
{
  unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
  while (atomic_load(&ops) < max_ops && now_ms() < deadline_ms) {
    bool use_nginx = rand_r(&seed) % 3 == 0;
    HINTERNET c = use_nginx ? conn_nginx : conn_fault;
    const wchar_t *path =
        use_nginx ? L"/100.bin" : fault_paths[(size_t)rand_r(&seed) % (sizeof(fault_paths) / sizeof(fault_paths[0]))];
    HINTERNET r = WinHttpOpenRequest(c, L"GET", path, NULL, NULL, NULL, 0);
    if (!r)
      continue;
    struct req *q = calloc(1, sizeof(*q));
    pthread_mutex_lock(&all_lock);
    q->next = all;
    all = q;
    pthread_mutex_unlock(&all_lock);
    atomic_fetch_add(&created, 1);
    DWORD_PTR ctx = (DWORD_PTR)q;
    WinHttpSetOption(r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx));
    DWORD ms = 2000; /* the stall scenario ends by timeout if nobody closes it */
    WinHttpSetOption(r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &ms, sizeof(ms));
    WinHttpSetStatusCallback(r, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
    CALL(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
    /* Publish it, and close whatever was in the slot: someone else's
     * request, at whatever point it has reached. */
    size_t slot = (size_t)rand_r(&seed) % SLOTS;
    HINTERNET old = atomic_exchange(&slots[slot], r);
    if (old) {
      atomic_fetch_add(&ops, 1);
      WinHttpCloseHandle(old); /* may race with another closer: INVALID_HANDLE then */
    }
    /* Sometimes also close a random slot at once (maybe our own request,
     * maybe mid-send). */
    if (rand_r(&seed) % 4 == 0) {
      HINTERNET victim = atomic_exchange(&slots[(size_t)rand_r(&seed) % SLOTS], NULL);
      if (victim) {
        atomic_fetch_add(&ops, 1);
        WinHttpCloseHandle(victim);
      }
    }
  }
  return NULL;
}

static void test_contract_under_stress(void **state)
{
  (void)state;
  const char *e = getenv("WH_STRESS_OPS");
  max_ops = e ? atol(e) : 100000;
  e = getenv("WH_STRESS_SECONDS");
  deadline_ms = now_ms() + (e ? atol(e) : 90) * 1000;

  session = WinHttpOpen(L"stress", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(session);
  conn_fault = WinHttpConnect(session, L"127.0.0.1", wh_peer_port(&fault), 0);
  conn_nginx = WinHttpConnect(session, L"127.0.0.1", wh_peer_port(&nginx), 0);
  pthread_t t[THREADS];
  for (uintptr_t i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  /* Close what is still published, then wait for every HANDLE_CLOSING. */
  for (size_t i = 0; i < SLOTS; i++) {
    HINTERNET r = atomic_exchange(&slots[i], NULL);
    if (r)
      WinHttpCloseHandle(r);
  }
  pthread_mutex_lock(&done_lock);
  while (atomic_load(&closings) < atomic_load(&created))
    pthread_cond_wait(&done_cond, &done_lock);
  pthread_mutex_unlock(&done_lock);

  long acc = atomic_load(&accepted), comp = atomic_load(&completed);
  print_message("stress: %ld API calls, %ld requests, %ld accepted operations, %ld completions\n",
                atomic_load(&ops), atomic_load(&created), acc, comp);
  /* every accepted operation got exactly one completion or error */
  assert_int_equal(acc, comp);
  /* every request closed exactly once, nothing after HANDLE_CLOSING */
  assert_int_equal(atomic_load(&closings), atomic_load(&created));
  pthread_mutex_lock(&all_lock);
  for (struct req *q = all; q;) {
    if (atomic_load(&q->closing_seen) != 1 || atomic_load(&q->after_closing))
      atomic_fetch_add(&violations, 1);
    struct req *next = q->next;
    free(q);
    q = next;
  }
  all = NULL;
  pthread_mutex_unlock(&all_lock);
  assert_int_equal(atomic_load(&violations), 0);
  assert_true(atomic_load(&created) > 100);
  WinHttpCloseHandle(conn_fault);
  WinHttpCloseHandle(conn_nginx);
  WinHttpCloseHandle(session);
}

static int setup(void **state)
{
  (void)state;
  if (wh_peer_start_fault(&fault) != 0)
    return -1;
  return wh_peer_start_nginx(&nginx, 0);
}

static int teardown(void **state)
{
  (void)state;
  wh_peer_stop(&fault);
  wh_peer_stop(&nginx);
  wh_pool_clear();
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_contract_under_stress),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
