/* see loop.h */
#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/wait.h"

#define MAX_LOOPS 64

struct wh_loop {
  pthread_t thread;
  int ep;
  int wake;              /* eventfd: tasks queued */
  pthread_mutex_t lock;  /* guards the task queue */
  struct wh_task *head, *tail;
  struct wh_watch *watches; /* armed watches with a deadline (loop-private) */
};

static struct wh_loop loops[MAX_LOOPS];
static unsigned nloops;
static atomic_uint next_loop;
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static _Thread_local struct wh_loop *current;

unsigned wh_loop_count(void)
{
  return nloops;
}

bool wh_loop_is_current(const struct wh_loop *l)
{
  return current == l;
}

/* --- tasks ------------------------------------------------------------------- */

void wh_loop_post(struct wh_loop *l, struct wh_task *t)
{
  t->next = NULL;
  pthread_mutex_lock(&l->lock);
  bool was_empty = !l->head;
  if (l->tail)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
  pthread_mutex_unlock(&l->lock);
  if (was_empty)
    wh_cancel_fd_signal(l->wake);
}

static void run_tasks(struct wh_loop *l)
{
  wh_cancel_fd_drain(l->wake);
  pthread_mutex_lock(&l->lock);
  struct wh_task *t = l->head;
  l->head = l->tail = NULL;
  pthread_mutex_unlock(&l->lock);
  while (t) {
    struct wh_task *next = t->next;
    t->run(t); /* may free or re-post |t| */
    t = next;
  }
}

/* --- watches ----------------------------------------------------------------- */

static void unlink_watch(struct wh_loop *l, struct wh_watch *w)
{
  for (struct wh_watch **pp = &l->watches; *pp; pp = &(*pp)->next) {
    if (*pp == w) {
      *pp = w->next;
      break;
    }
  }
  w->next = NULL;
}

int wh_loop_watch(struct wh_loop *l, struct wh_watch *w, int fd, uint32_t events,
                  int64_t deadline)
{
  struct epoll_event ev = {.events = events | EPOLLONESHOT, .data.ptr = w};
  if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0 &&
      (errno != EEXIST || epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) != 0))
    return -1;
  w->fd = fd;
  w->deadline = deadline;
  w->armed = true;
  w->next = l->watches;
  l->watches = w;
  return 0;
}

void wh_loop_unwatch(struct wh_loop *l, struct wh_watch *w)
{
  if (!w->armed)
    return;
  epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
  w->armed = false;
  unlink_watch(l, w);
}

/* Milliseconds to the nearest deadline, -1 for none. The list is short (the
 * requests bound to this loop that are waiting); a heap comes with scale. */
static int next_timeout(struct wh_loop *l)
{
  int64_t soonest = WH_NEVER;
  for (struct wh_watch *w = l->watches; w; w = w->next)
    if (w->deadline < soonest)
      soonest = w->deadline;
  if (soonest == WH_NEVER)
    return -1;
  int64_t left = soonest - wh_now_ms();
  return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static void fire_expired(struct wh_loop *l)
{
  int64_t now = wh_now_ms();
  for (;;) {
    struct wh_watch *w = l->watches;
    while (w && w->deadline > now)
      w = w->next;
    if (!w)
      return;
    wh_loop_unwatch(l, w);
    w->ready(w, true); /* may arm other watches: rescan from the start */
  }
}

static void *loop_main(void *arg)
{
  struct wh_loop *l = arg;
  current = l;
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(l->ep, evs, 64, next_timeout(l));
    /* Watches first, tasks after: a task (a cancellation) may end a
     * request and free the watch an event of this same batch points to,
     * whereas a watch's callback never frees another request's armed
     * watch (closing a request with an operation in flight only posts a
     * task). */
    bool tasks = false;
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) {
        tasks = true;
        continue;
      }
      struct wh_watch *w = evs[i].data.ptr;
      if (!w->armed)
        continue;
      wh_loop_unwatch(l, w);
      w->ready(w, false);
    }
    if (tasks)
      run_tasks(l);
    fire_expired(l);
  }
  return NULL;
}

static void start_loops(void)
{
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned want = cores < 1 ? 1 : cores > MAX_LOOPS ? MAX_LOOPS : (unsigned)cores;
  for (unsigned i = 0; i < want; i++) {
    struct wh_loop *l = &loops[nloops];
    pthread_mutex_init(&l->lock, NULL);
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (l->ep < 0 || l->wake < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &ev) != 0)
      break;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&l->thread, &attr, loop_main, l);
    pthread_attr_destroy(&attr);
    if (rc != 0)
      break;
    nloops++;
  }
}

struct wh_loop *wh_loop_pick(void)
{
  pthread_once(&start_once, start_loops);
  if (nloops == 0)
    return NULL;
  return &loops[atomic_fetch_add(&next_loop, 1) % nloops];
}
