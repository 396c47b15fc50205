/* see gss_job.h */
#include "core/gss_job.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/gss_auth.h"
#include "core/settings.h"
#include "net/work.h"
#include "util/mem.h"

struct wh_gss_job {
  struct wh_work work;
  atomic_int refs; /* the request's and the worker's */
  int fd;          /* eventfd: written once, when done */
  DWORD scheme;
  char *host, *user, *pass;
  /* Written by the worker before |done| (release); read after it. */
  atomic_bool done;
  DWORD err;
  struct wh_gss *ctx;
  char *token;
};

static void job_unref(struct wh_gss_job *j)
{
  if (atomic_fetch_sub(&j->refs, 1) != 1)
    return;
  if (j->fd >= 0)
    close(j->fd);
  wh_free(j->host);
  wh_free(j->user);
  wh_secret_free(j->pass);
  /* Results nobody took (an abandoned job). */
  wh_gss_free(j->ctx);
  wh_secret_free(j->token);
  wh_free(j);
}

static void job_run(struct wh_work *w)
{
  struct wh_gss_job *j =
      (struct wh_gss_job *)(void *)((char *)w - offsetof(struct wh_gss_job, work));
  j->err = wh_gss_start(j->scheme, j->host, j->user, j->pass, &j->ctx, &j->token);
  atomic_store_explicit(&j->done, true, memory_order_release);
  uint64_t one = 1;
  ssize_t wr = write(j->fd, &one, sizeof(one));
  (void)wr; /* an eventfd's counter cannot overflow from one write */
  job_unref(j);
}

DWORD wh_gss_job_start(DWORD scheme, const char *host, const char *user, const char *pass,
                       struct wh_gss_job **out)
{
  *out = NULL;
  struct wh_gss_job *j = wh_calloc(1, sizeof(*j));
  if (!j)
    return ERROR_NOT_ENOUGH_MEMORY;
  bool failed = false;
  j->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  j->scheme = scheme;
  j->host = wh_strdup_opt(host, &failed);
  j->user = wh_strdup_opt(user, &failed);
  j->pass = wh_strdup_opt(pass, &failed);
  atomic_init(&j->refs, 2);
  atomic_init(&j->done, false);
  j->work.run = job_run;
  if (failed || j->fd < 0 || wh_work_submit(&j->work) != 0) {
    atomic_store(&j->refs, 1);
    job_unref(j);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  *out = j;
  return ERROR_SUCCESS;
}

int wh_gss_job_fd(const struct wh_gss_job *j)
{
  return j->fd;
}

bool wh_gss_job_done(const struct wh_gss_job *j)
{
  return atomic_load_explicit(&j->done, memory_order_acquire);
}

DWORD wh_gss_job_finish(struct wh_gss_job *j, struct wh_gss **ctx, char **out)
{
  DWORD err = j->err;
  *ctx = j->ctx;
  *out = j->token;
  j->ctx = NULL;
  j->token = NULL;
  job_unref(j);
  return err;
}

void wh_gss_job_abandon(struct wh_gss_job *j)
{
  if (j)
    job_unref(j);
}
