/* HTTP/2 under load from many threads, synchronous API, one session and one
 * connection (tests/peers/h2server.py): eight threads each run a
 * pseudo-random mix of requests on one connect handle:
 *
 *  - GET /ok?len=N of random sizes, bodies checked byte for byte;
 *  - POST /echo of random bytes, the echo checked;
 *  - a GET closed early: right after SendRequest, after the head, or
 *    halfway through the body (the client resets the stream);
 *  - a GET of /stall whose blocked ReadData is ended by a closer thread
 *    closing the handle (OPERATION_CANCELLED).
 *
 * Every completed request must be exact, no request may fail other than
 * as its scenario says, and at the end /conn must still name the first
 * connection: stream resets and cancellations never cost the connection.
 * The mix is seeded per thread, so a failure replays.
 *
 * Built for ThreadSanitizer: the workers share only atomics and a handoff
 * queue under a mutex; each handle has one owner at a time (a worker hands
 * its /stall request to the closer and never touches it again except for
 * the one ReadData the close is meant to end). No sleeps: the closer waits
 * on a condition variable with a deadline. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#define THREADS 8
#define PER_THREAD 120

static struct wh_peer h2;

static atomic_int failures;
static atomic_int completed;
static atomic_int early_closes;
static atomic_int cancelled;
static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_failure[512];

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failure(const char *fmt, ...)
{
  if (atomic_fetch_add(&failures, 1) == 0) {
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&msg_lock);
    vsnprintf(first_failure, sizeof(first_failure), fmt, ap);
    pthread_mutex_unlock(&msg_lock);
    va_end(ap);
  }
}

/* --- the closer: ends blocked reads by closing their handles ------------------------- */

#define QUEUE_MAX 64

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  HINTERNET q[QUEUE_MAX];
  size_t n;
  bool stop;
} closer = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, false};

/* Hands |r| to the closer, which will close it. */
static void hand_over(HINTERNET r)
{
  pthread_mutex_lock(&closer.lock);
  bool queued = closer.n < QUEUE_MAX;
  if (queued) {
    closer.q[closer.n++] = r;
    pthread_cond_broadcast(&closer.cond);
  }
  pthread_mutex_unlock(&closer.lock);
  if (!queued)
    WinHttpCloseHandle(r);
}

static void *closer_main(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&closer.lock);
  for (;;) {
    while (closer.n) {
      HINTERNET r = closer.q[--closer.n];
      pthread_mutex_unlock(&closer.lock);
      if (!WinHttpCloseHandle(r))
        failure("closer: CloseHandle failed: %lu", (unsigned long)GetLastError());
      pthread_mutex_lock(&closer.lock);
    }
    if (closer.stop)
      break;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 1; /* only to re-check stop; the broadcast wakes it */
    pthread_cond_timedwait(&closer.cond, &closer.lock, &dl);
  }
  pthread_mutex_unlock(&closer.lock);
  return NULL;
}

/* --- workers ------------------------------------------------------------------------- */

struct worker {
  pthread_t t;
  int id;
  HINTERNET c;
  pthread_barrier_t *start;
  uint32_t rng;
};

static uint32_t next_rand(struct worker *w)
{
  uint32_t x = w->rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  w->rng = x;
  return x;
}

static HINTERNET open_req(struct worker *w, const wchar_t *verb, const wchar_t *path)
{
  HINTERNET r = WinHttpOpenRequest(w->c, verb, path, NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  if (!r) {
    failure("worker %d: OpenRequest: %lu", w->id, (unsigned long)GetLastError());
    return NULL;
  }
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags));
  return r;
}

/* Reads |r|'s body to the end into |buf| (|cap| bytes); the length, or -1
 * after recording a failure. */
static long read_body(struct worker *w, HINTERNET r, unsigned char *buf, size_t cap)
{
  size_t len = 0;
  for (;;) {
    DWORD got = 0;
    size_t room = cap - len;
    if (room == 0) {
      unsigned char extra;
      if (!WinHttpReadData(r, &extra, 1, &got) || got != 0) {
        failure("worker %d: body longer than %zu", w->id, cap);
        return -1;
      }
      return (long)len;
    }
    if (!WinHttpReadData(r, buf + len, (DWORD)(room > 65536 ? 65536 : room), &got)) {
      failure("worker %d: ReadData at %zu: %lu", w->id, len, (unsigned long)GetLastError());
      return -1;
    }
    if (got == 0)
      return (long)len;
    len += got;
  }
}

static bool head_ok(struct worker *w, HINTERNET r, const char *what)
{
  DWORD code = 0, size = sizeof(code);
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL, &code,
                           &size, NULL) ||
      code != 200) {
    failure("worker %d: %s: status %lu", w->id, what, (unsigned long)code);
    return false;
  }
  DWORD proto = 0;
  size = sizeof(proto);
  if (!WinHttpQueryOption(r, WINHTTP_OPTION_HTTP_PROTOCOL_USED, &proto, &size) ||
      proto != WINHTTP_PROTOCOL_FLAG_HTTP2) {
    failure("worker %d: %s: protocol 0x%lx", w->id, what, (unsigned long)proto);
    return false;
  }
  return true;
}

static bool send_receive(struct worker *w, HINTERNET r, const void *body, DWORD len,
                         const char *what)
{
  if (!WinHttpSendRequest(r, NULL, 0, (void *)body, len, len, 0)) {
    failure("worker %d: %s: SendRequest: %lu", w->id, what, (unsigned long)GetLastError());
    return false;
  }
  if (!WinHttpReceiveResponse(r, NULL)) {
    failure("worker %d: %s: ReceiveResponse: %lu", w->id, what, (unsigned long)GetLastError());
    return false;
  }
  return head_ok(w, r, what);
}

static void do_get(struct worker *w, unsigned char *buf, size_t cap)
{
  size_t n = next_rand(w) % 50000;
  if (next_rand(w) % 8 == 0)
    n = next_rand(w) % 3; /* tiny and empty bodies too */
  wchar_t path[48];
  swprintf(path, 48, L"/ok?len=%zu", n);
  HINTERNET r = open_req(w, L"GET", path);
  if (!r)
    return;
  if (send_receive(w, r, NULL, 0, "GET /ok")) {
    long got = read_body(w, r, buf, cap);
    if (got >= 0) {
      bool exact = (size_t)got == n;
      for (size_t i = 0; exact && i < n; i++)
        exact = buf[i] == (unsigned char)('a' + i % 26);
      if (!exact)
        failure("worker %d: /ok?len=%zu: %ld bytes, or not the pattern", w->id, n, got);
      else
        atomic_fetch_add(&completed, 1);
    }
  }
  WinHttpCloseHandle(r);
}

static void do_echo(struct worker *w, unsigned char *buf, size_t cap)
{
  size_t n = 1 + next_rand(w) % 100000;
  unsigned char *data = malloc(n);
  if (!data)
    abort();
  for (size_t i = 0; i < n; i++)
    data[i] = (unsigned char)next_rand(w);
  HINTERNET r = open_req(w, L"POST", L"/echo");
  if (r && send_receive(w, r, data, (DWORD)n, "POST /echo")) {
    long got = read_body(w, r, buf, cap);
    if (got >= 0) {
      if ((size_t)got != n || memcmp(buf, data, n) != 0)
        failure("worker %d: /echo of %zu bytes came back as %ld different ones", w->id, n, got);
      else
        atomic_fetch_add(&completed, 1);
    }
  }
  if (r)
    WinHttpCloseHandle(r);
  free(data);
}

/* A GET abandoned at a random point: the close must reset the stream
 * without disturbing the others. */
static void do_early_close(struct worker *w, unsigned char *buf)
{
  HINTERNET r = open_req(w, L"GET", L"/ok?len=300000");
  if (!r)
    return;
  int when = (int)(next_rand(w) % 3);
  if (!WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0)) {
    failure("worker %d: early close: SendRequest: %lu", w->id, (unsigned long)GetLastError());
  } else if (when >= 1) {
    if (!WinHttpReceiveResponse(r, NULL)) {
      failure("worker %d: early close: ReceiveResponse: %lu", w->id,
              (unsigned long)GetLastError());
    } else if (when == 2) {
      size_t total = 0;
      while (total < 100000) {
        DWORD got = 0;
        if (!WinHttpReadData(r, buf, 16384, &got) || got == 0) {
          failure("worker %d: early close: read at %zu: %lu", w->id, total,
                  (unsigned long)GetLastError());
          break;
        }
        total += got;
      }
    }
  }
  if (!WinHttpCloseHandle(r))
    failure("worker %d: early close: CloseHandle: %lu", w->id, (unsigned long)GetLastError());
  atomic_fetch_add(&early_closes, 1);
}

/* GET /stall: the head arrives, the body never does; the closer thread
 * closes the handle while (or just before) this thread reads. */
static void do_closed_by_other(struct worker *w, unsigned char *buf)
{
  HINTERNET r = open_req(w, L"GET", L"/stall");
  if (!r)
    return;
  if (!send_receive(w, r, NULL, 0, "GET /stall")) {
    WinHttpCloseHandle(r);
    return;
  }
  hand_over(r);
  DWORD got = 0;
  if (WinHttpReadData(r, buf, 100, &got)) {
    failure("worker %d: ReadData on /stall succeeded (%lu bytes) despite the close", w->id,
            (unsigned long)got);
    return;
  }
  DWORD err = GetLastError();
  if (err != ERROR_WINHTTP_OPERATION_CANCELLED && err != ERROR_INVALID_HANDLE)
    failure("worker %d: ReadData on closed /stall: %lu", w->id, (unsigned long)err);
  atomic_fetch_add(&cancelled, 1);
}

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  size_t cap = 128 * 1024;
  unsigned char *buf = malloc(cap);
  if (!buf)
    abort();
  pthread_barrier_wait(w->start);
  for (int i = 0; i < PER_THREAD && atomic_load(&failures) == 0; i++) {
    uint32_t pick = next_rand(w) % 16;
    if (pick < 9)
      do_get(w, buf, cap);
    else if (pick < 12)
      do_echo(w, buf, cap);
    else if (pick < 15)
      do_early_close(w, buf);
    else
      do_closed_by_other(w, buf);
  }
  free(buf);
  return NULL;
}

/* --- the test ------------------------------------------------------------------------ */

static unsigned conn_number(HINTERNET c)
{
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/conn", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(r);
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags)));
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(r, NULL));
  DWORD proto = 0, size = sizeof(proto);
  assert_true(WinHttpQueryOption(r, WINHTTP_OPTION_HTTP_PROTOCOL_USED, &proto, &size));
  assert_int_equal(proto, WINHTTP_PROTOCOL_FLAG_HTTP2);
  char body[64];
  DWORD got = 0, total = 0;
  while (WinHttpReadData(r, body + total, (DWORD)(sizeof(body) - 1 - total), &got) && got)
    total += got;
  body[total] = 0;
  WinHttpCloseHandle(r);
  unsigned conn = 0;
  assert_int_equal(sscanf(body, "%u", &conn), 1);
  return conn;
}

static void test_eight_threads_one_connection(void **state)
{
  (void)state;
  if (wh_peer_start_h2(&h2, NULL) != 0)
    fail_msg("cannot start h2server.py (python3-h2 installed?)");
  HINTERNET s = WinHttpOpen(L"h2-stress", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(s);
  DWORD v = WINHTTP_PROTOCOL_FLAG_HTTP2;
  assert_true(WinHttpSetOption(s, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, &v, sizeof(v)));
  assert_true(WinHttpSetTimeouts(s, 0, 10000, 30000, 30000));
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&h2), 0);
  assert_non_null(c);
  unsigned first = conn_number(c);

  atomic_store(&failures, 0);
  atomic_store(&completed, 0);
  atomic_store(&early_closes, 0);
  atomic_store(&cancelled, 0);
  pthread_mutex_lock(&closer.lock);
  closer.stop = false;
  closer.n = 0;
  pthread_mutex_unlock(&closer.lock);
  pthread_t closer_t;
  assert_int_equal(pthread_create(&closer_t, NULL, closer_main, NULL), 0);

  pthread_barrier_t start;
  assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
  struct worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (struct worker){
        .id = i, .c = c, .start = &start, .rng = 0x9E3779B9u * (uint32_t)(i + 1)};
    assert_int_equal(pthread_create(&w[i].t, NULL, worker_main, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_join(w[i].t, NULL), 0);
  pthread_barrier_destroy(&start);
  pthread_mutex_lock(&closer.lock);
  closer.stop = true;
  pthread_cond_broadcast(&closer.cond);
  pthread_mutex_unlock(&closer.lock);
  assert_int_equal(pthread_join(closer_t, NULL), 0);

  pthread_mutex_lock(&msg_lock);
  char msg[sizeof(first_failure)];
  memcpy(msg, first_failure, sizeof(msg));
  pthread_mutex_unlock(&msg_lock);
  print_message("completed %d, closed early %d, cancelled by the closer %d\n",
                atomic_load(&completed), atomic_load(&early_closes), atomic_load(&cancelled));
  if (atomic_load(&failures))
    fail_msg("%d failures; the first: %s", atomic_load(&failures), msg);
  assert_true(atomic_load(&completed) > THREADS * PER_THREAD / 2);
  assert_true(atomic_load(&early_closes) > 0);
  assert_true(atomic_load(&cancelled) > 0);

  /* Everything went over the first connection, and it still serves. */
  assert_int_equal(conn_number(c), first);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&h2);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_eight_threads_one_connection, teardown),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("h2_stress", tests, NULL, NULL);
}
