/* Worker threads for blocking work that must stay off the loop threads and
 * may take long: proxy auto-configuration (core/autoproxy.c) downloads a
 * script, looks up WPAD names and waits for a PAC helper process.
 *
 * At most WH_WORK_THREADS run at once; more work queues. A worker ends when
 * the queue is empty, so an idle process has none. The work item says
 * itself how it reports back (an eventfd, a loop task). */
#ifndef WH_NET_WORK_H
#define WH_NET_WORK_H

#define WH_WORK_THREADS 8

struct wh_work {
  void (*run)(struct wh_work *w); /* on a worker thread; may block */
  struct wh_work *next;           /* queue-private */
};

/* Queues |w|. Returns 0, or -1 when no worker runs and none could be
 * started (out of threads or memory): |w| is then not queued. */
int wh_work_submit(struct wh_work *w);

/* Workers started so far (tests). */
unsigned wh_work_threads_started(void);

#endif
