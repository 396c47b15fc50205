/* whttp --parallel: the main thread. Every URL goes through ONE
 * asynchronous session (WINHTTP_FLAG_ASYNC), at most parallel_max in
 * flight. The main thread sleeps in poll() on an eventfd the callbacks
 * signal and on a self-pipe the SIGINT/SIGTERM handler writes to (plus a
 * timeout for progress redraws and --max-time); each time it wakes it closes
 * the requests whose result is known, finishes those whose HANDLE_CLOSING
 * came, and starts queued ones. Ctrl-C ends every transfer in flight,
 * closes its request (cancelling its operation) and waits for every
 * HANDLE_CLOSING before returning. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "par.h"

#define REDRAW_MS 100

static void drain(int fd)
{
  char buf[64];
  while (read(fd, buf, sizeof(buf)) > 0)
    ;
}

/* --- output names ------------------------------------------------------------------ */

static int by_name(const void *l, const void *r)
{
  const struct par_xfer *a = *(struct par_xfer *const *)l, *b = *(struct par_xfer *const *)r;
  return strcmp(a->out_name, b->out_name);
}

/* Two transfers writing one file would garble it: refused before any starts. */
static int check_names(struct par *p)
{
  struct par_xfer **named = malloc((p->n ? p->n : 1) * sizeof(*named));
  size_t k = 0;
  if (!named)
    return WX_MEMORY;
  for (size_t i = 0; i < p->n; i++)
    if (p->x[i]->out_name)
      named[k++] = p->x[i];
  qsort(named, k, sizeof(*named), by_name);
  int rc = WX_OK;
  for (size_t i = 1; i < k && !rc; i++)
    if (strcmp(named[i - 1]->out_name, named[i]->out_name) == 0) {
      fprintf(stderr, "whttp: %s and %s would both write '%s' (use -o with #1)\n",
              named[i - 1]->url, named[i]->url, named[i]->out_name);
      rc = WX_USAGE;
    }
  free(named);
  return rc;
}

/* --- one pass of the loop ---------------------------------------------------------- */

struct loop {
  struct par_xfer **act;  /* started, not finished */
  size_t n_act;
  size_t next;            /* next queued transfer */
  int stop;               /* 0, WX_INTERRUPTED or WX_TIMEOUT */
  int worst;
};

/* Closes the output of a transfer whose HANDLE_CLOSING came, reports it and
 * frees what it used. */
static void finish(struct par *p, struct loop *l, struct par_xfer *x)
{
  if (x->connect)
    WinHttpCloseHandle(x->connect);
  x->connect = x->request = NULL;
  if (x->out && x->out != stdout ? fclose(x->out) != 0 : x->out && fflush(stdout) != 0)
    if (x->rc == WX_OK) {
      x->rc = WX_WRITE;
      x->message = strdup(strerror(errno));
    }
  x->out = NULL;
  if (x->end == 0)
    x->end = whttp_now();
  par_show_done(p, x);
  if (x->rc == WX_OK)
    p->ok++;
  else
    p->failed++;
  if (x->rc > l->worst)
    l->worst = x->rc;
  p->bytes += x->bytes;
  free(x->buf);
  x->buf = NULL;
  x->state = PX_FINISHED;
}

/* Requests with a result get closed; those closed get finished. */
static void reap(struct par *p, struct loop *l)
{
  struct par_xfer **to_close = malloc((l->n_act ? l->n_act : 1) * sizeof(*to_close));
  size_t n_close = 0, kept = 0;
  pthread_mutex_lock(&p->lock);
  for (size_t i = 0; i < l->n_act; i++) {
    struct par_xfer *x = l->act[i];
    if (x->state == PX_ENDED && x->request && to_close) {
      x->state = PX_CLOSING;
      to_close[n_close++] = x;
    } else if (x->state == PX_ENDED && !x->request) {
      x->state = PX_CLOSED; /* never got a request handle: nothing to wait for */
    }
  }
  pthread_mutex_unlock(&p->lock);
  /* Not under the lock: closing may run callbacks inline. */
  for (size_t i = 0; i < n_close; i++)
    WinHttpCloseHandle(to_close[i]->request);
  free(to_close);
  pthread_mutex_lock(&p->lock);
  struct par_xfer *closed[64];
  size_t n_closed = 0;
  for (size_t i = 0; i < l->n_act; i++) {
    if (l->act[i]->state == PX_CLOSED && n_closed < 64)
      closed[n_closed++] = l->act[i];
    else
      l->act[kept++] = l->act[i];
  }
  l->n_act = kept;
  pthread_mutex_unlock(&p->lock);
  for (size_t i = 0; i < n_closed; i++)
    finish(p, l, closed[i]);
  if (n_closed == 64) /* more may be waiting */
    par_wake(p);
}

static void start_more(struct par *p, struct loop *l)
{
  while (!l->stop && l->n_act < p->a->parallel_max && l->next < p->n) {
    struct par_xfer *x = p->x[l->next++];
    l->act[l->n_act++] = x;
    if (x->state == PX_QUEUED)
      par_start(x); /* otherwise it failed in par_prepare: reported in order */
  }
}

static void cancel_all(struct loop *l, int why)
{
  l->stop = why;
  for (size_t i = 0; i < l->n_act; i++)
    par_end(l->act[i], why, why == WX_TIMEOUT ? "operation timed out (--max-time)"
                                               : "interrupted");
}

static int poll_timeout(struct par *p, double deadline)
{
  int ms = p->tty ? REDRAW_MS : -1;
  if (deadline > 0) {
    double left = (deadline - whttp_now()) * 1000 + 1;
    int dl = left < 0 ? 0 : left > 1e9 ? 1000000000 : (int)left;
    if (ms < 0 || dl < ms)
      ms = dl;
  }
  return ms;
}

static void run_loop(struct par *p, struct loop *l)
{
  double deadline = p->a->max_time > 0 ? p->start + p->a->max_time : 0;
  for (;;) {
    reap(p, l);
    start_more(p, l);
    if (l->n_act == 0 && (l->next == p->n || l->stop))
      break;
    struct pollfd fds[2] = {{.fd = p->wake, .events = POLLIN}, {.fd = p->sig_fd, .events = POLLIN}};
    int r = poll(fds, 2, poll_timeout(p, deadline));
    if (r < 0 && errno != EINTR) {
      perror("whttp: poll");
      if (!l->stop)
        cancel_all(l, WX_OTHER);
    }
    if (r > 0 && (fds[0].revents & POLLIN))
      drain(p->wake);
    if (r > 0 && (fds[1].revents & POLLIN)) {
      drain(p->sig_fd);
      if (l->stop != WX_INTERRUPTED)
        cancel_all(l, WX_INTERRUPTED);
    }
    if (deadline > 0 && !l->stop && whttp_now() >= deadline)
      cancel_all(l, WX_TIMEOUT);
    par_show_progress(p, false);
  }
  par_show_progress(p, true);
}

/* --- the whole run ----------------------------------------------------------------- */

static int open_session(struct par *p)
{
  p->session = whttp_open_session(p->a, WINHTTP_FLAG_ASYNC);
  if (!p->session) {
    DWORD err = GetLastError();
    fprintf(stderr, "whttp: WinHttpOpen failed: %s (%lu)\n", whttp_error_name(err),
            (unsigned long)err);
    return whttp_exit_for(err, false);
  }
  DWORD flags = WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | WINHTTP_CALLBACK_FLAG_HANDLES |
                WINHTTP_CALLBACK_FLAG_SECURE_FAILURE;
  if (WinHttpSetStatusCallback(p->session, par_on_status, flags, 0) ==
      WINHTTP_INVALID_STATUS_CALLBACK) {
    fprintf(stderr, "whttp: WinHttpSetStatusCallback failed\n");
    return WX_OTHER;
  }
  return WX_OK;
}

static void free_all(struct par *p)
{
  for (size_t i = 0; i < p->n; i++) {
    struct par_xfer *x = p->x[i];
    if (!x)
      continue;
    free(x->host);
    free(x->object);
    free(x->out_name);
    free(x->message);
    free(x->buf);
    free(x);
  }
  free(p->x);
}

static int prepare_all(struct par *p)
{
  p->x = calloc(p->n, sizeof(*p->x));
  if (!p->x)
    return WX_MEMORY;
  for (size_t i = 0; i < p->n; i++) {
    struct par_xfer *x = calloc(1, sizeof(*x));
    if (!x)
      return WX_MEMORY;
    p->x[i] = x;
    x->index = i;
    x->url = p->a->urls[i];
    par_prepare(p, x); /* a failure is this transfer's result */
  }
  return check_names(p);
}

int whttp_parallel(const struct whttp_args *a)
{
  struct par p = {.a = a, .n = a->n_urls, .wake = -1, .start = whttp_now()};
  struct loop l = {0};
  struct whttp_signals sigs = WHTTP_SIGNALS_INIT;
  pthread_mutex_init(&p.lock, NULL);
  p.tty = !a->silent && isatty(STDERR_FILENO);
  int rc = prepare_all(&p);
  if (!rc && (p.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
    rc = WX_OTHER;
  if (!rc && !(l.act = calloc(a->parallel_max, sizeof(*l.act))))
    rc = WX_MEMORY;
  if (!rc && !whttp_signals_catch(&sigs)) {
    perror("whttp: signals");
    rc = WX_OTHER;
  }
  p.sig_fd = sigs.fd[0];
  if (!rc && !(rc = open_session(&p))) {
    run_loop(&p, &l);
    p.not_started = p.n - l.next;
    par_show_summary(&p, l.stop == WX_INTERRUPTED);
    rc = l.stop == WX_INTERRUPTED ? WX_INTERRUPTED : l.worst;
    if (l.stop == WX_TIMEOUT && rc < WX_TIMEOUT)
      rc = WX_TIMEOUT;
  }
  if (p.session)
    WinHttpCloseHandle(p.session);
  whttp_signals_release(&sigs);
  if (p.wake >= 0)
    close(p.wake);
  free(l.act);
  free_all(&p);
  pthread_mutex_destroy(&p.lock);
  return rc;
}
