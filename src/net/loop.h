/* The asynchronous engine's loop threads (ARCHITECTURE-NOTES §4): a small
 * process-wide pool of epoll threads, one per core, started on first use.
 * Each asynchronous request is bound to one loop; everything that touches
 * its exchange runs on that loop's thread, so a request's steps and
 * callbacks never run concurrently.
 *
 * Other threads talk to a loop only through wh_loop_post(), which queues a
 * task and wakes the loop's eventfd. Watches (a descriptor, events and a
 * deadline) are armed and disarmed on the loop thread only. */
#ifndef WH_NET_LOOP_H
#define WH_NET_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wh_loop;

struct wh_task {
  void (*run)(struct wh_task *t);
  struct wh_task *next; /* loop-private */
};

struct wh_watch {
  /* Called on the loop thread when |fd| is ready or the deadline passed
   * (|timed_out|). The watch is disarmed by then; re-arm to wait again. */
  void (*ready)(struct wh_watch *w, bool timed_out);
  /* loop-private */
  int fd;
  int64_t deadline;
  bool armed;
  size_t slot; /* index in the loop's deadline heap, WH_NO_SLOT when not there */
};

/* A loop for a new request: round-robin over the pool, which is started on
 * the first call. NULL when no thread could be started. */
struct wh_loop *wh_loop_pick(void);
/* The loop for |key| (a hash): requests with one key share one loop thread.
 * HTTP/2 requests to one origin use it, so that the streams of a shared
 * connection run on one thread and never contend for its lock. */
struct wh_loop *wh_loop_pick_for(uint32_t key);

/* Queues |t| to run on |l|'s thread; any thread. */
void wh_loop_post(struct wh_loop *l, struct wh_task *t);

/* On |l|'s thread: calls w->ready once |fd| is ready for |events|
 * (EPOLLIN/EPOLLOUT) or |deadline| (monotonic ms, WH_NEVER for none) passes.
 * Returns 0, or -1 with errno set when the descriptor cannot be watched
 * (ENOMEM: no memory for the deadline, or the kernel's for epoll). */
int wh_loop_watch(struct wh_loop *l, struct wh_watch *w, int fd, uint32_t events,
                  int64_t deadline);
/* (|fd| -1 parks the watch: only its deadline can fire it; whoever parked
 * it resumes it by other means, unwatching it first.) */
/* On |l|'s thread: disarms |w| if armed. */
void wh_loop_unwatch(struct wh_loop *l, struct wh_watch *w);

/* The loop whose thread is calling, or NULL. */
struct wh_loop *wh_loop_current(void);
/* Whether the calling thread is |l|'s. */
bool wh_loop_is_current(const struct wh_loop *l);
/* Number of loop threads started (WINHTTP_OPTION_WORKER_THREAD_COUNT). */
unsigned wh_loop_count(void);

#endif
