/* Proxy change notifications under contention (CONTRACT C8's promise for
 * callbacks, applied to WinHttpRegisterProxyChangeNotification: no lock
 * held while a callback runs, so a callback may register and unregister;
 * and core/proxy_notify.h's own: once
 * WinHttpUnregisterProxyChangeNotification has returned, that
 * registration's callback is not running and is never called again).
 *
 * Threads register and unregister in a loop while another keeps changing
 * the process default (each change wakes the watcher, which calls every
 * live registration); some callbacks register and unregister a nested
 * registration from inside. Every registration's "ended" flag is set right
 * after its unregistration returns; a callback that finds it set is a
 * violation. A registration that lives through the whole run must have
 * been called. Bounded in rounds; no sleeps. Runs under ThreadSanitizer in
 * CI (ctest -L concurrency). */
#include "wh_test.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#define THREADS 4
#define ROUNDS 200

struct slot {
  atomic_bool ended;
  atomic_int calls;
  bool nest; /* registers and unregisters another from inside */
};

static atomic_int violations, nested_ok;
static atomic_bool stop;
static pthread_barrier_t start;

static void CALLBACK plain_cb(ULONGLONG flags, PVOID ctx)
{
  struct slot *s = ctx;
  if (flags != WINHTTP_PROXY_NOTIFY_CHANGE || atomic_load(&s->ended))
    atomic_fetch_add(&violations, 1);
  atomic_fetch_add(&s->calls, 1);
}

static void CALLBACK nesting_cb(ULONGLONG flags, PVOID ctx)
{
  plain_cb(flags, ctx);
  struct slot inner = {.nest = false};
  WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE h;
  if (WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, plain_cb, &inner, &h) !=
      ERROR_SUCCESS) {
    atomic_fetch_add(&violations, 1);
    return;
  }
  if (WinHttpUnregisterProxyChangeNotification(h) != ERROR_SUCCESS)
    atomic_fetch_add(&violations, 1);
  atomic_store(&inner.ended, true);
  atomic_fetch_add(&nested_ok, 1);
}

/* The long-lived registration's: signals the test's main thread. */
static pthread_mutex_t long_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t long_called = PTHREAD_COND_INITIALIZER;

static void CALLBACK long_cb(ULONGLONG flags, PVOID ctx)
{
  nesting_cb(flags, ctx);
  pthread_mutex_lock(&long_lock);
  pthread_cond_broadcast(&long_called);
  pthread_mutex_unlock(&long_lock);
}

static void *worker(void *arg)
{
  unsigned seed = (unsigned)(uintptr_t)arg;
  pthread_barrier_wait(&start);
  for (int i = 0; i < ROUNDS; i++) {
    struct slot s = {.nest = (rand_r(&seed) % 4) == 0};
    WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE h;
    DWORD err = WinHttpRegisterProxyChangeNotification(
        WINHTTP_PROXY_NOTIFY_CHANGE, s.nest ? nesting_cb : plain_cb, &s, &h);
    if (err != ERROR_SUCCESS) {
      atomic_fetch_add(&violations, 1);
      continue;
    }
    if (WinHttpUnregisterProxyChangeNotification(h) != ERROR_SUCCESS)
      atomic_fetch_add(&violations, 1);
    /* |s| goes out of scope next: a callback still running or yet to come
     * would touch a dead stack slot (AddressSanitizer) and see |ended|. */
    atomic_store(&s.ended, true);
  }
  return NULL;
}

static void *changer(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start);
  for (unsigned i = 0; !atomic_load(&stop); i++) {
    WCHAR proxy[64];
    swprintf(proxy, 64, L"p%u.example:8080", i % 2);
    WINHTTP_PROXY_INFO info = {WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy, NULL};
    if (!WinHttpSetDefaultProxyConfiguration(&info))
      atomic_fetch_add(&violations, 1);
  }
  return NULL;
}

static void test_register_unregister_storm(void **state)
{
  (void)state;
  /* Lives through the whole run: it must hear of the changes. */
  struct slot longlived = {0};
  WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE hl;
  assert_int_equal(WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, long_cb,
                                                          &longlived, &hl),
                   ERROR_SUCCESS);
  pthread_barrier_init(&start, NULL, THREADS + 2);
  pthread_t t[THREADS], ch;
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)), 0);
  assert_int_equal(pthread_create(&ch, NULL, changer, NULL), 0);
  pthread_barrier_wait(&start);
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  /* The changer runs until the long-lived registration has been called
   * (bounded: a watcher that never calls fails here). */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 60;
  pthread_mutex_lock(&long_lock);
  while (atomic_load(&longlived.calls) == 0)
    if (pthread_cond_timedwait(&long_called, &long_lock, &until) == ETIMEDOUT)
      break;
  pthread_mutex_unlock(&long_lock);
  atomic_store(&stop, true);
  pthread_join(ch, NULL);
  assert_int_equal(WinHttpUnregisterProxyChangeNotification(hl), ERROR_SUCCESS);
  atomic_store(&longlived.ended, true);
  pthread_barrier_destroy(&start);
  assert_true(atomic_load(&longlived.calls) > 0);
  assert_true(atomic_load(&nested_ok) > 0);
  assert_int_equal(atomic_load(&violations), 0);
}

int main(void)
{
  /* The settings read at each check are the environment's and the process
   * default: no desktop, GIO's in-memory backend. */
  unsetenv("XDG_CURRENT_DESKTOP");
  setenv("GSETTINGS_BACKEND", "memory", 1);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_register_unregister_storm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
