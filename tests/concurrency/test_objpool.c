/* util/objpool: objects are zeroed, aligned as malloc's, distinct while
 * held, reusable after being given back, and safe to get and put from
 * several threads at once (run under ThreadSanitizer in CI, where the pool
 * is active; AddressSanitizer builds bypass it and check the same API on
 * plain calloc and free). */
#include "wh_test.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/objpool.h"

struct thing {
  uint64_t owner;
  unsigned char bytes[56];
};

static struct wh_objpool things = WH_OBJPOOL_INIT(sizeof(struct thing));

static bool all_zero(const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return false;
  return true;
}

static void test_single_thread(void **state)
{
  (void)state;
  enum { N = 3 * WH_OBJPOOL_SLOTS + 5 };
  static struct thing *held[N];
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < N; i++) {
      held[i] = wh_objpool_get(&things);
      assert_non_null(held[i]);
      assert_true(all_zero(held[i], sizeof(*held[i]))); /* zeroed, even when reused */
      assert_int_equal((uintptr_t)held[i] % alignof(max_align_t), 0);
      held[i]->owner = i + 1;
      memset(held[i]->bytes, (int)(i & 0xff), sizeof(held[i]->bytes));
    }
    for (size_t i = 0; i < N; i++) { /* distinct: nothing overwrote another */
      assert_int_equal(held[i]->owner, i + 1);
      for (size_t k = 0; k < sizeof(held[i]->bytes); k++)
        assert_int_equal(held[i]->bytes[k], (unsigned char)(i & 0xff));
    }
    /* Every other one back, then the rest: chunks empty in any order. */
    for (size_t i = 0; i < N; i += 2)
      wh_objpool_put(&things, held[i]);
    for (size_t i = 1; i < N; i += 2)
      wh_objpool_put(&things, held[i]);
  }
  wh_objpool_put(&things, NULL); /* ignored */
}

struct worker {
  pthread_t t;
  uint64_t id;
  unsigned bad;
};

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  enum { HOLD = 97 };
  struct thing *held[HOLD] = {0};
  uint64_t seed = w->id * 2654435761u + 1;
  for (int i = 0; i < 20000; i++) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    size_t k = (size_t)(seed >> 33) % HOLD;
    if (held[k]) {
      if (held[k]->owner != w->id || held[k]->bytes[7] != (unsigned char)w->id)
        w->bad++;
      wh_objpool_put(&things, held[k]);
      held[k] = NULL;
    } else {
      held[k] = wh_objpool_get(&things);
      if (!held[k] || !all_zero(held[k], sizeof(*held[k]))) {
        w->bad++;
        continue;
      }
      held[k]->owner = w->id;
      memset(held[k]->bytes, (int)w->id, sizeof(held[k]->bytes));
    }
  }
  for (size_t k = 0; k < HOLD; k++)
    wh_objpool_put(&things, held[k]);
  return NULL;
}

static void test_threads(void **state)
{
  (void)state;
  enum { T = 4 };
  struct worker w[T];
  for (int i = 0; i < T; i++) {
    w[i] = (struct worker){.id = (uint64_t)i + 1};
    assert_int_equal(pthread_create(&w[i].t, NULL, worker_main, &w[i]), 0);
  }
  for (int i = 0; i < T; i++) {
    assert_int_equal(pthread_join(w[i].t, NULL), 0);
    assert_int_equal(w[i].bad, 0);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_single_thread),
    cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
