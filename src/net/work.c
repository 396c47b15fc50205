/* see work.h */
#include "net/work.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct wh_work *head, *tail; /* under |lock| */
static unsigned running;            /* under |lock| */
static atomic_uint started;

unsigned wh_work_threads_started(void)
{
  return atomic_load(&started);
}

static struct wh_work *take(void)
{
  struct wh_work *w = head;
  if (w) {
    head = w->next;
    if (!head)
      tail = NULL;
  }
  return w;
}

static void *worker(void *arg)
{
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    struct wh_work *w = take();
    if (!w)
      running--;
    pthread_mutex_unlock(&lock);
    if (!w)
      return NULL;
    w->run(w);
  }
}

int wh_work_submit(struct wh_work *w)
{
  w->next = NULL;
  pthread_mutex_lock(&lock);
  if (tail)
    tail->next = w;
  else
    head = w;
  tail = w;
  int start = running < WH_WORK_THREADS;
  if (start)
    running++;
  pthread_mutex_unlock(&lock);
  if (!start)
    return 0; /* a running worker takes it */
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* The work runs the library's own synchronous engine (a PAC download,
   * TLS included): a loop thread's stack, not a resolver helper's. */
  pthread_attr_setstacksize(&attr, 1024 * 1024);
  int rc = pthread_create(&t, &attr, worker, NULL);
  pthread_attr_destroy(&attr);
  if (rc == 0) {
    atomic_fetch_add(&started, 1);
    return 0;
  }
  pthread_mutex_lock(&lock);
  running--;
  int ok = running > 0; /* another worker will take it */
  if (!ok) {
    /* Nobody will: take |w| back out (it is the only item, or the queue
     * would have a running worker). */
    struct wh_work **pp = &head;
    struct wh_work *prev = NULL;
    while (*pp && *pp != w) {
      prev = *pp;
      pp = &(*pp)->next;
    }
    if (*pp) {
      *pp = w->next;
      if (tail == w)
        tail = prev;
    }
  }
  pthread_mutex_unlock(&lock);
  return ok ? 0 : -1;
}
