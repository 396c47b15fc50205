/* see proxy_notify.h
 *
 * State, all under |lock|: the list of registrations, the current watcher
 * (NULL when none runs), the id counter. A registration is freed by
 * whoever ends it, after its callback has returned: wh_proxy_notify_unregister
 * waits for that (|calling|), except when called from the callback itself,
 * when the watcher frees it as the call returns (|orphan|).
 *
 * A watcher is stopped by the last unregistration: |w| is cleared and
 * |stop| set at once, so a new registration starts a new watcher while the
 * old one winds down; the old one is joined and freed by the thread that
 * stopped it, or, when that is the watcher's own thread (the last
 * unregistration made from a callback), it detaches and frees itself. A
 * stopped watcher calls no further callback. */
#include "core/proxy_notify.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/desktop_proxy.h"
#include "core/route.h"
#include "policy/ie_proxy.h"
#include "util/mem.h"

struct reg {
  struct reg *next;
  uint64_t id;
  ULONGLONG flags;
  WINHTTP_PROXY_CHANGE_CALLBACK fn;
  PVOID ctx;
  unsigned round;  /* the last notification round that called it, or skipped it */
  bool calling;    /* its callback runs on |caller| */
  pthread_t caller;
  bool orphan;     /* unregistered from its own callback: the watcher frees it */
};

struct watcher {
  pthread_t thread;
  int ifd;         /* inotify (KDE's directories), or -1 */
  int efd;         /* eventfd: a poke, or the stop */
  bool stop;       /* under |lock| */
  bool self_free;  /* under |lock|: stopped from its own thread, frees itself */
  uint64_t fp;     /* the settings last seen; the watcher thread's own */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t call_done = PTHREAD_COND_INITIALIZER;
static struct reg *regs;
static struct watcher *w;
static uint64_t next_id = 1;
static unsigned round_no;

/* --- the settings' fingerprint --------------------------------------------------- */

/* The current user's settings and the process default, fingerprinted
 * together. ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY. */
static DWORD fingerprint(uint64_t *out)
{
  struct wh_ie_proxy u;
  DWORD err = wh_user_proxy(&u);
  if (err != ERROR_SUCCESS)
    return err;
  uint64_t h = wh_ie_proxy_fingerprint(WH_FINGERPRINT_SEED, &u);
  wh_ie_proxy_clear(&u);
  char *proxy, *bypass;
  err = wh_default_proxy(&proxy, &bypass);
  if (err != ERROR_SUCCESS)
    return err;
  h = wh_fingerprint_str(h, proxy);
  h = wh_fingerprint_str(h, bypass);
  wh_free(proxy);
  wh_free(bypass);
  *out = h;
  return ERROR_SUCCESS;
}

/* --- the watcher ------------------------------------------------------------------ */

static void watcher_free(struct watcher *x)
{
  if (x->ifd >= 0)
    close(x->ifd);
  if (x->efd >= 0)
    close(x->efd);
  wh_free(x);
}

static DWORD add_watch(const char *dir, size_t n, void *ctx)
{
  struct watcher *x = ctx;
  char path[PATH_MAX];
  int len = snprintf(path, sizeof(path), "%.*s", (int)n, dir);
  if (len < 0 || (size_t)len >= sizeof(path))
    return ERROR_SUCCESS;
  /* KConfig writes a new file and renames it over the old one; an editor
   * may rewrite it in place; either may delete it. */
  uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                  IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  if (inotify_add_watch(x->ifd, path, mask) >= 0)
    return ERROR_SUCCESS;
  /* A directory that does not exist (or cannot be read) holds no
   * kioslaverc that KDE could read either. One created later is not
   * watched (docs/COMPAT.md). The kernel's watch limit is a failure: the
   * registration could not see what it asks for. */
  if (errno == ENOSPC || errno == ENOMEM)
    return ERROR_NOT_ENOUGH_MEMORY;
  return ERROR_SUCCESS;
}

/* A new watcher, its baseline taken after its watches are in place, so
 * that a change made from then on is seen. Not started. */
static DWORD watcher_new(struct watcher **out)
{
  struct watcher *x = wh_calloc(1, sizeof(*x));
  if (!x)
    return ERROR_NOT_ENOUGH_MEMORY;
  x->ifd = -1;
  x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  /* Out of descriptors counts as out of memory, as everywhere in the
   * library (net/conn.c). */
  DWORD err = x->efd < 0 ? ERROR_NOT_ENOUGH_MEMORY : ERROR_SUCCESS;
  /* kioslaverc is read only in a KDE session (core/desktop_proxy.h). */
  if (err == ERROR_SUCCESS && wh_kde_session()) {
    x->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    err = x->ifd < 0 ? ERROR_NOT_ENOUGH_MEMORY : wh_kde_dirs_each(add_watch, x);
  }
  if (err == ERROR_SUCCESS)
    err = fingerprint(&x->fp);
  if (err != ERROR_SUCCESS) {
    watcher_free(x);
    return err;
  }
  *out = x;
  return ERROR_SUCCESS;
}

/* Whether the inotify events waiting on |fd| concern a kioslaverc (or may
 * have: an overflowed queue, a watched directory gone). Drains them. */
static bool drain_inotify(int fd)
{
  bool relevant = false;
  _Alignas(struct inotify_event) char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return relevant;
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *e = (const struct inotify_event *)(void *)p;
      if (e->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT))
        relevant = true;
      else if (e->len && strcmp(e->name, "kioslaverc") == 0)
        relevant = true;
      p += sizeof(*e) + e->len;
    }
  }
}

static void drain_eventfd(int fd)
{
  uint64_t v;
  while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
    ;
}

/* Calls every registration's callback once, in registration order, with
 * no lock held; registrations made meanwhile are not called (they were
 * made after the change). Stops early when |x| is stopped. */
static void notify_all(struct watcher *x)
{
  pthread_mutex_lock(&lock);
  unsigned round = ++round_no;
  for (;;) {
    if (x->stop)
      break;
    struct reg *r = regs;
    while (r && r->round == round)
      r = r->next;
    if (!r)
      break;
    r->round = round;
    r->calling = true;
    r->caller = pthread_self();
    pthread_mutex_unlock(&lock);
    r->fn(r->flags, r->ctx);
    pthread_mutex_lock(&lock);
    r->calling = false;
    if (r->orphan)
      wh_free(r);
    pthread_cond_broadcast(&call_done);
  }
  pthread_mutex_unlock(&lock);
}

/* The settings may have changed: read them; call the callbacks when they
 * did. A read that fails (no memory) tells nothing and changes nothing. */
static void check(struct watcher *x)
{
  uint64_t fp;
  if (fingerprint(&fp) != ERROR_SUCCESS || fp == x->fp)
    return;
  x->fp = fp;
  notify_all(x);
}

static void *watcher_main(void *arg)
{
  struct watcher *x = arg;
  /* A change made while the registration that started this watcher was
   * being set up (before it could be poked) is caught here. */
  check(x);
  for (;;) {
    struct pollfd p[2] = {{.fd = x->efd, .events = POLLIN}, {.fd = x->ifd, .events = POLLIN}};
    int r = poll(p, x->ifd >= 0 ? 2 : 1, -1);
    if (r < 0 && errno != EINTR)
      break; /* cannot happen with valid descriptors; end rather than spin */
    pthread_mutex_lock(&lock);
    bool stop = x->stop;
    pthread_mutex_unlock(&lock);
    if (stop)
      break;
    bool relevant = false;
    if (r > 0 && (p[0].revents & POLLIN)) {
      drain_eventfd(x->efd);
      relevant = true;
    }
    if (r > 0 && x->ifd >= 0 && (p[1].revents & POLLIN) && drain_inotify(x->ifd))
      relevant = true;
    if (relevant)
      check(x);
  }
  pthread_mutex_lock(&lock);
  bool self_free = x->self_free;
  pthread_mutex_unlock(&lock);
  if (self_free) {
    pthread_detach(pthread_self());
    watcher_free(x);
  }
  return NULL;
}

static void wake(struct watcher *x)
{
  uint64_t one = 1;
  /* A full counter (2^64 - 2 pokes unread) already means "wake up". */
  while (write(x->efd, &one, sizeof(one)) < 0 && errno == EINTR)
    ;
}

/* --- registrations ------------------------------------------------------------------- */

DWORD wh_proxy_notify_register(ULONGLONG flags, WINHTTP_PROXY_CHANGE_CALLBACK fn, PVOID ctx,
                               uint64_t *id)
{
  struct reg *r = wh_calloc(1, sizeof(*r));
  if (!r)
    return ERROR_NOT_ENOUGH_MEMORY;
  r->flags = flags;
  r->fn = fn;
  r->ctx = ctx;
  pthread_mutex_lock(&lock);
  bool running = w != NULL;
  pthread_mutex_unlock(&lock);
  /* The baseline read (files, GSettings) is made with no lock held. */
  struct watcher *fresh = NULL;
  if (!running) {
    DWORD err = watcher_new(&fresh);
    if (err != ERROR_SUCCESS) {
      wh_free(r);
      return err;
    }
  }
  pthread_mutex_lock(&lock);
  if (!w && !fresh) {
    /* The watcher stopped meanwhile (its last registration ended). */
    pthread_mutex_unlock(&lock);
    wh_free(r);
    return wh_proxy_notify_register(flags, fn, ctx, id);
  }
  if (!w) {
    if (pthread_create(&fresh->thread, NULL, watcher_main, fresh) != 0) {
      pthread_mutex_unlock(&lock);
      watcher_free(fresh);
      wh_free(r);
      return ERROR_NOT_ENOUGH_MEMORY; /* no thread */
    }
    w = fresh;
    fresh = NULL;
  }
  r->id = next_id++;
  /* Not called by a notification round already under way: its change
   * came before this registration. */
  r->round = round_no;
  struct reg **tail = &regs;
  while (*tail)
    tail = &(*tail)->next;
  *tail = r;
  *id = r->id;
  pthread_mutex_unlock(&lock);
  if (fresh)
    watcher_free(fresh); /* another registration started one first */
  return ERROR_SUCCESS;
}

DWORD wh_proxy_notify_unregister(uint64_t id)
{
  pthread_mutex_lock(&lock);
  struct reg **pp = &regs;
  while (*pp && (*pp)->id != id)
    pp = &(*pp)->next;
  struct reg *r = *pp;
  if (!r) {
    pthread_mutex_unlock(&lock);
    return ERROR_INVALID_HANDLE;
  }
  *pp = r->next;
  bool from_own_call = r->calling && pthread_equal(r->caller, pthread_self());
  if (from_own_call)
    r->orphan = true;
  else
    while (r->calling)
      pthread_cond_wait(&call_done, &lock);
  struct watcher *stopped = NULL;
  bool own_thread = false;
  if (!regs && w) {
    stopped = w;
    w = NULL;
    stopped->stop = true;
    own_thread = pthread_equal(stopped->thread, pthread_self());
    stopped->self_free = own_thread;
    wake(stopped);
  }
  pthread_mutex_unlock(&lock);
  if (!from_own_call)
    wh_free(r);
  if (stopped && !own_thread) {
    pthread_join(stopped->thread, NULL);
    watcher_free(stopped);
  }
  return ERROR_SUCCESS;
}

void wh_proxy_notify_poke(void)
{
  pthread_mutex_lock(&lock);
  if (w)
    wake(w);
  pthread_mutex_unlock(&lock);
}
