/* Name resolution (net/resolve.c), white-box: literals and cached names
 * need no thread; requests for a name being looked up join that lookup, so
 * many at once cost one helper thread (ten thousand requests to one new
 * host must not mean ten thousand threads: issue 4's thread bound); every
 * joined request gets the addresses with its own port; an abandoned job
 * does not disturb the others. Uses "localhost" only (answered from
 * /etc/hosts, no network). Waits on the jobs' eventfds with poll(). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include "wh_test.h"

#include "net/resolve.h"
#include "util/mem.h"

#define N_JOBS 32

static uint16_t port_of(const struct wh_addr *a)
{
  const struct sockaddr *sa = (const struct sockaddr *)&a->sa;
  return ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
                                         : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

static void test_literal_needs_no_thread(void **state)
{
  (void)state;
  unsigned before = wh_resolve_threads_started();
  struct wh_resolve *job;
  struct wh_addrs *out;
  assert_int_equal(wh_resolve_start("127.0.0.1", 81, &job, &out), ERROR_SUCCESS);
  assert_null(job);
  assert_non_null(out);
  assert_int_equal(out->n, 1);
  assert_int_equal(port_of(&out->a[0]), 81);
  wh_free(out);
  assert_int_equal(wh_resolve_threads_started(), before);
}

static void test_one_name_one_thread(void **state)
{
  (void)state;
  wh_resolve_cache_clear();
  unsigned before = wh_resolve_threads_started();
  struct wh_resolve *jobs[N_JOBS];
  struct wh_addrs *outs[N_JOBS];
  for (int i = 0; i < N_JOBS; i++) {
    assert_int_equal(wh_resolve_start("localhost", (uint16_t)(1000 + i), &jobs[i], &outs[i]),
                     ERROR_SUCCESS);
    assert_true(jobs[i] != NULL || outs[i] != NULL);
  }
  /* The first start found nothing cached: one helper. The others joined
   * its lookup or, once it was done, found the cache. */
  assert_int_equal(wh_resolve_threads_started() - before, 1);
  /* One abandons its job: the rest still get their answer. */
  int abandoned = -1;
  for (int i = 0; i < N_JOBS && abandoned < 0; i++)
    if (jobs[i]) {
      wh_resolve_abandon(jobs[i]);
      jobs[i] = NULL;
      abandoned = i;
    }
  for (int i = 0; i < N_JOBS; i++) {
    if (i == abandoned)
      continue;
    if (jobs[i]) {
      struct pollfd p = {.fd = wh_resolve_fd(jobs[i]), .events = POLLIN};
      assert_int_equal(poll(&p, 1, 10000), 1);
      assert_int_equal(wh_resolve_finish(jobs[i], &outs[i]), ERROR_SUCCESS);
    }
    assert_non_null(outs[i]);
    assert_true(outs[i]->n >= 1);
    for (size_t k = 0; k < outs[i]->n; k++)
      assert_int_equal(port_of(&outs[i]->a[k]), 1000 + i);
    wh_free(outs[i]);
  }
  /* Now cached: no thread at all. */
  struct wh_resolve *job;
  struct wh_addrs *out;
  assert_int_equal(wh_resolve_start("LOCALHOST", 7, &job, &out), ERROR_SUCCESS);
  assert_null(job);
  assert_non_null(out);
  wh_free(out);
  assert_int_equal(wh_resolve_threads_started() - before, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_literal_needs_no_thread),
      cmocka_unit_test(test_one_name_one_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
