/* see autoproxy.h: lookups as jobs on worker threads (net/work.h), with an
 * eventfd for the caller to wait on and one to cancel them by. */
#include "core/autoproxy.h"
#include "core/autoproxy_int.h"

#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/wait.h"
#include "net/work.h"
#include "util/mem.h"

struct wh_autoproxy_job {
  struct wh_work work;
  atomic_int refs;      /* the caller's and the worker's */
  int fd;               /* eventfd: written once, when done */
  int cancel_fd;        /* eventfd: written when the caller gives up, which
                           stops the wait for a helper (and kills it) */
  struct wh_autoproxy *ap;
  bool detect;
  char *pac_url, *url, *host;
  struct wh_pac_fetch_limits limits;
  /* Written by the worker before |done| (release); read after it. */
  atomic_bool done;
  DWORD err;
  size_t n;
  struct wh_pac_entry entries[WH_PAC_MAX_ENTRIES];
};

static void job_unref(struct wh_autoproxy_job *j)
{
  if (atomic_fetch_sub(&j->refs, 1) != 1)
    return;
  if (j->fd >= 0)
    close(j->fd);
  if (j->cancel_fd >= 0)
    close(j->cancel_fd);
  wh_autoproxy_unref(j->ap);
  wh_free(j->pac_url);
  wh_free(j->url);
  wh_free(j->host);
  wh_free(j);
}

static struct wh_autoproxy_job *of_work(struct wh_work *w)
{
  return (struct wh_autoproxy_job *)(void *)((char *)w - offsetof(struct wh_autoproxy_job, work));
}

static void job_run(struct wh_work *w)
{
  struct wh_autoproxy_job *j = of_work(w);
  j->err = wh_autoproxy_evaluate(j->ap, j->detect, j->pac_url, j->url, j->host, &j->limits,
                                 j->cancel_fd, j->entries, &j->n);
  atomic_store_explicit(&j->done, true, memory_order_release);
  uint64_t one = 1;
  ssize_t wr = write(j->fd, &one, sizeof(one));
  (void)wr; /* an eventfd's counter cannot overflow from one write */
  job_unref(j);
}

DWORD wh_autoproxy_start(struct wh_autoproxy *ap, const struct wh_autoproxy_query *q,
                         struct wh_autoproxy_job **out)
{
  *out = NULL;
  struct wh_autoproxy_job *j = wh_calloc(1, sizeof(*j));
  if (!j)
    return ERROR_NOT_ENOUGH_MEMORY;
  bool failed = false;
  j->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  j->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  j->pac_url = wh_strdup_opt(q->pac_url, &failed);
  j->url = wh_strdup_opt(q->url, &failed);
  j->host = wh_strdup_opt(q->host, &failed);
  j->detect = q->detect;
  j->limits = q->limits;
  j->ap = ap;
  wh_autoproxy_ref(ap);
  atomic_init(&j->refs, 2);
  j->work.run = job_run;
  if (failed || j->fd < 0 || j->cancel_fd < 0 || !j->url || !j->host || wh_work_submit(&j->work) != 0) {
    atomic_store(&j->refs, 1);
    job_unref(j);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  *out = j;
  return ERROR_SUCCESS;
}

int wh_autoproxy_fd(const struct wh_autoproxy_job *j)
{
  return j->fd;
}

DWORD wh_autoproxy_finish(struct wh_autoproxy_job *j, struct wh_pac_entry out[WH_PAC_MAX_ENTRIES],
                          size_t *n)
{
  DWORD err = ERROR_WINHTTP_INTERNAL_ERROR; /* called too early: a bug */
  *n = 0;
  if (atomic_load_explicit(&j->done, memory_order_acquire)) {
    err = j->err;
    if (err == ERROR_SUCCESS) {
      memcpy(out, j->entries, j->n * sizeof(j->entries[0]));
      *n = j->n;
    }
  }
  job_unref(j);
  return err;
}

void wh_autoproxy_abandon(struct wh_autoproxy_job *j)
{
  if (!j)
    return;
  /* A helper still running for it is killed at once; a download goes on
   * to its own timeouts. */
  wh_cancel_fd_signal(j->cancel_fd);
  job_unref(j);
}

DWORD wh_autoproxy_run_sync(struct wh_autoproxy *ap, const struct wh_autoproxy_query *q,
                            int cancel_fd, struct wh_pac_entry out[WH_PAC_MAX_ENTRIES],
                            size_t *n)
{
  *n = 0;
  struct wh_autoproxy_job *j;
  DWORD err = wh_autoproxy_start(ap, q, &j);
  if (err != ERROR_SUCCESS)
    return err;
  /* No deadline of its own: every step of the job has one (the
   * download's timeouts, the script's time limit). */
  err = wh_wait_fd(j->fd, POLLIN, WH_NEVER, cancel_fd);
  if (err != ERROR_SUCCESS) {
    wh_autoproxy_abandon(j);
    return err;
  }
  return wh_autoproxy_finish(j, out, n);
}
