/* see loop.h */
#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/wait.h"
#include "util/mem.h"

#define MAX_LOOPS 64

struct wh_loop {
  pthread_t thread;
  int ep;
  int wake;              /* eventfd: tasks queued */
  pthread_mutex_t lock;  /* guards the task queue */
  struct wh_task *head, *tail;
  bool self_posted;      /* the loop queued a task itself: run the queue without a wake-up (loop-private) */
  /* Armed watches with a deadline, a binary min-heap on the deadline
   * (loop-private): arming, disarming and finding the next deadline stay
   * O(log n) with ten thousand requests waiting on one loop. */
  struct wh_watch **heap;
  size_t heap_len, heap_cap;
};

#define WH_NO_SLOT ((size_t)-1)

static struct wh_loop loops[MAX_LOOPS];
static unsigned nloops;
static atomic_uint next_loop;
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static _Thread_local struct wh_loop *current;

unsigned wh_loop_count(void)
{
  return nloops;
}

struct wh_loop *wh_loop_current(void)
{
  return current;
}

bool wh_loop_is_current(const struct wh_loop *l)
{
  return current == l;
}

/* --- tasks ------------------------------------------------------------------- */

void wh_loop_post(struct wh_loop *l, struct wh_task *t)
{
  t->next = NULL;
  bool self = current == l;
  pthread_mutex_lock(&l->lock);
  bool was_empty = !l->head;
  if (l->tail)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
  pthread_mutex_unlock(&l->lock);
  /* From the loop's own thread (a callback starting the next operation)
   * no wake-up is needed: the loop looks at its queue before it sleeps
   * again. Saves an eventfd write and read per request. */
  if (self)
    l->self_posted = true;
  else if (was_empty)
    wh_cancel_fd_signal(l->wake);
}

static void run_tasks(struct wh_loop *l, bool woken)
{
  if (woken)
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

/* --- the deadline heap -------------------------------------------------------- */

static void heap_set(struct wh_loop *l, size_t i, struct wh_watch *w)
{
  l->heap[i] = w;
  w->slot = i;
}

static void heap_up(struct wh_loop *l, size_t i)
{
  struct wh_watch *w = l->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (l->heap[parent]->deadline <= w->deadline)
      break;
    heap_set(l, i, l->heap[parent]);
    i = parent;
  }
  heap_set(l, i, w);
}

static void heap_down(struct wh_loop *l, size_t i)
{
  struct wh_watch *w = l->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= l->heap_len)
      break;
    if (c + 1 < l->heap_len && l->heap[c + 1]->deadline < l->heap[c]->deadline)
      c++;
    if (w->deadline <= l->heap[c]->deadline)
      break;
    heap_set(l, i, l->heap[c]);
    i = c;
  }
  heap_set(l, i, w);
}

static int heap_push(struct wh_loop *l, struct wh_watch *w)
{
  if (l->heap_len == l->heap_cap) {
    size_t cap = l->heap_cap ? l->heap_cap * 2 : 64;
    /* Through util/mem.c like every allocation, so the out-of-memory
     * sweep (tests/unit/test_oom.c) reaches this path too. */
    struct wh_watch **h = wh_realloc(l->heap, cap * sizeof(*h));
    if (!h) {
      errno = ENOMEM; /* the hook's refusals do not set it */
      return -1;
    }
    l->heap = h;
    l->heap_cap = cap;
  }
  heap_set(l, l->heap_len++, w);
  heap_up(l, w->slot);
  return 0;
}

static void heap_remove(struct wh_loop *l, struct wh_watch *w)
{
  size_t i = w->slot;
  w->slot = WH_NO_SLOT;
  struct wh_watch *last = l->heap[--l->heap_len];
  if (last == w)
    return;
  heap_set(l, i, last);
  if (i > 0 && l->heap[(i - 1) / 2]->deadline > last->deadline)
    heap_up(l, i);
  else
    heap_down(l, i);
}

/* --- watches ----------------------------------------------------------------- */

int wh_loop_watch(struct wh_loop *l, struct wh_watch *w, int fd, uint32_t events,
                  int64_t deadline)
{
  w->fd = fd;
  w->deadline = deadline;
  w->slot = WH_NO_SLOT;
  if (deadline != WH_NEVER && heap_push(l, w) != 0)
    return -1;
  if (fd < 0) {
    /* Parked: only the deadline, and whoever resumes it (core/async.c). */
    w->armed = true;
    return 0;
  }
  /* A descriptor that fired before stays registered (one-shot, so
   * disabled): re-arming it is one MOD; a new one is an ADD. Closing a
   * descriptor removes it from the epoll set by itself. */
  struct epoll_event ev = {.events = events | EPOLLONESHOT, .data.ptr = w};
  if (epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) != 0 &&
      (errno != ENOENT || epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0)) {
    if (w->slot != WH_NO_SLOT)
      heap_remove(l, w);
    return -1;
  }
  w->armed = true;
  return 0;
}

/* A watch whose one-shot event fired: epoll has disabled it already, so
 * it leaves the heap without a system call. */
static void disarm_fired(struct wh_loop *l, struct wh_watch *w)
{
  w->armed = false;
  if (w->slot != WH_NO_SLOT)
    heap_remove(l, w);
}

void wh_loop_unwatch(struct wh_loop *l, struct wh_watch *w)
{
  if (!w->armed)
    return;
  if (w->fd >= 0)
    epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
  w->armed = false;
  if (w->slot != WH_NO_SLOT)
    heap_remove(l, w);
}

/* Milliseconds to the nearest deadline, -1 for none. */
static int next_timeout(struct wh_loop *l)
{
  if (l->heap_len == 0)
    return -1;
  int64_t left = l->heap[0]->deadline - wh_now_ms();
  return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static void fire_expired(struct wh_loop *l)
{
  int64_t now = wh_now_ms();
  while (l->heap_len > 0 && l->heap[0]->deadline <= now) {
    struct wh_watch *w = l->heap[0];
    wh_loop_unwatch(l, w);
    w->ready(w, true); /* may arm other watches, the heap's top is read again */
  }
}

static void *loop_main(void *arg)
{
  struct wh_loop *l = arg;
  current = l;
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(l->ep, evs, 64, l->self_posted ? 0 : next_timeout(l));
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
      disarm_fired(l, w);
      w->ready(w, false);
    }
    if (tasks || l->self_posted) {
      l->self_posted = false;
      run_tasks(l, tasks);
    }
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

struct wh_loop *wh_loop_pick_for(uint32_t key)
{
  pthread_once(&start_once, start_loops);
  if (nloops == 0)
    return NULL;
  return &loops[key % nloops];
}
