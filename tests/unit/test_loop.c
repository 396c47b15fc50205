/* The loop's deadline heap (net/loop.c), white-box: watches armed on a loop
 * thread with shuffled deadlines fire in deadline order, each once and timed
 * out; watches disarmed before their deadline never fire; a watch whose
 * descriptor becomes ready fires as ready, not timed out. The test waits on
 * a condition variable for the last expected firing, never on a clock. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "wh_test.h"

#include "net/loop.h"
#include "net/wait.h"

#define N_WATCH 400

struct probe {
  struct wh_watch w; /* first: the callback gets &w */
  int64_t deadline;
  int fired;
  bool timed_out;
  bool cancelled;
};

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct wh_loop *loop;
  struct probe p[N_WATCH];
  int pipes[N_WATCH][2];
  size_t order[N_WATCH];
  size_t n_fired;
  size_t n_expected;
  bool armed_ok;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void on_ready(struct wh_watch *w, bool timed_out)
{
  struct probe *p = (struct probe *)w;
  pthread_mutex_lock(&g.lock);
  p->fired++;
  p->timed_out = timed_out;
  g.order[g.n_fired++] = (size_t)(p - g.p);
  pthread_cond_broadcast(&g.cond);
  pthread_mutex_unlock(&g.lock);
}

/* Runs on the loop thread: arms every watch, then disarms every fifth one
 * (from the middle of the heap as well as its top). */
static void arm_all(struct wh_task *t)
{
  (void)t;
  int64_t now = wh_now_ms();
  bool ok = true;
  for (size_t i = 0; i < N_WATCH; i++) {
    struct probe *p = &g.p[i];
    p->w.ready = on_ready;
    /* Shuffled deadlines 20..59 ms ahead, many equal. */
    p->deadline = now + 20 + (int64_t)((i * 7919u) % 40u);
    /* The read end of an empty pipe: never ready, only the deadline fires. */
    ok &= wh_loop_watch(g.loop, &p->w, g.pipes[i][0], 0x001 /* EPOLLIN */, p->deadline) == 0;
  }
  for (size_t i = 0; i < N_WATCH; i += 5) {
    wh_loop_unwatch(g.loop, &g.p[i].w);
    g.p[i].cancelled = true;
  }
  pthread_mutex_lock(&g.lock);
  g.armed_ok = ok;
  pthread_mutex_unlock(&g.lock);
}

static void wait_fired(size_t n)
{
  pthread_mutex_lock(&g.lock);
  while (g.n_fired < n)
    pthread_cond_wait(&g.cond, &g.lock);
  pthread_mutex_unlock(&g.lock);
}

static void test_deadlines_fire_in_order(void **state)
{
  (void)state;
  g.loop = wh_loop_pick();
  assert_non_null(g.loop);
  for (size_t i = 0; i < N_WATCH; i++)
    assert_int_equal(pipe(g.pipes[i]), 0);
  size_t expected = N_WATCH - (N_WATCH + 4) / 5;
  struct wh_task task = {.run = arm_all};
  wh_loop_post(g.loop, &task);
  wait_fired(expected);
  pthread_mutex_lock(&g.lock);
  assert_true(g.armed_ok);
  assert_int_equal(g.n_fired, expected);
  int64_t last = 0;
  for (size_t k = 0; k < g.n_fired; k++) {
    struct probe *p = &g.p[g.order[k]];
    assert_false(p->cancelled);
    assert_int_equal(p->fired, 1);
    assert_true(p->timed_out);
    assert_true(p->deadline >= last); /* the heap hands them out in order */
    last = p->deadline;
  }
  for (size_t i = 0; i < N_WATCH; i += 5)
    assert_int_equal(g.p[i].fired, 0);
  g.n_fired = 0;
  pthread_mutex_unlock(&g.lock);
  for (size_t i = 0; i < N_WATCH; i++) {
    close(g.pipes[i][0]);
    close(g.pipes[i][1]);
  }
}

/* A ready descriptor fires before its deadline, as ready; the heap entry
 * goes with it (a later deadline scan must not see it again). */
static struct probe ready_probe, late_probe;
static int ready_pipe[2], late_pipe[2];

static void arm_ready(struct wh_task *t)
{
  (void)t;
  int64_t now = wh_now_ms();
  ready_probe.w.ready = on_ready;
  late_probe.w.ready = on_ready;
  bool ok = wh_loop_watch(g.loop, &ready_probe.w, ready_pipe[0], 0x001, now + 60000) == 0 &&
            wh_loop_watch(g.loop, &late_probe.w, late_pipe[0], 0x001, now + 30) == 0;
  pthread_mutex_lock(&g.lock);
  g.armed_ok = ok;
  pthread_mutex_unlock(&g.lock);
  /* Ready at once: the loop sees it on its next epoll_wait. */
  ssize_t r = write(ready_pipe[1], "x", 1);
  (void)r;
}

static void test_ready_before_deadline(void **state)
{
  (void)state;
  g.loop = wh_loop_pick();
  assert_int_equal(pipe(ready_pipe), 0);
  assert_int_equal(pipe(late_pipe), 0);
  g.n_fired = 0;
  struct wh_task task = {.run = arm_ready};
  wh_loop_post(g.loop, &task);
  wait_fired(2);
  pthread_mutex_lock(&g.lock);
  assert_true(g.armed_ok);
  assert_int_equal(ready_probe.fired, 1);
  assert_false(ready_probe.timed_out);
  assert_int_equal(late_probe.fired, 1);
  assert_true(late_probe.timed_out);
  pthread_mutex_unlock(&g.lock);
  for (int i = 0; i < 2; i++) {
    close(ready_pipe[i]);
    close(late_pipe[i]);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deadlines_fire_in_order),
      cmocka_unit_test(test_ready_before_deadline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
