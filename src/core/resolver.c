/* see resolver.h */
#include "core/resolver.h"

#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/handle.h"
#include "core/session.h"
#include "net/wait.h"
#include "util/mem.h"

static struct wh_resolver *of_task(struct wh_task *t)
{
  return (struct wh_resolver *)(void *)((char *)t - offsetof(struct wh_resolver, task));
}

static struct wh_resolver *of_cancel(struct wh_task *t)
{
  return (struct wh_resolver *)(void *)((char *)t - offsetof(struct wh_resolver, cancel_task));
}

static struct wh_resolver *of_watch(struct wh_watch *w)
{
  return (struct wh_resolver *)(void *)((char *)w - offsetof(struct wh_resolver, watch));
}

/* On the loop thread: the operation's outcome. The state is settled before
 * the callback runs, so the callback may start the next operation (queued
 * behind this task on the same loop), read the result, or close the
 * handle. */
static void report(struct wh_resolver *r, DWORD err, const struct wh_pac_entry *e, size_t n,
                   bool bypass)
{
  pthread_mutex_lock(&r->hdr.lock);
  if (r->closing)
    err = ERROR_WINHTTP_OPERATION_CANCELLED;
  bool settings = r->settings_op;
  if (err == ERROR_SUCCESS && settings) {
    wh_ie_proxy_clear(&r->result_cfg);
    r->result_cfg = r->settings; /* moved */
    memset(&r->settings, 0, sizeof(r->settings));
    r->result_version = r->settings_version;
  } else if (err == ERROR_SUCCESS) {
    memcpy(r->result, e, n * sizeof(e[0]));
    r->result_n = n;
    r->result_bypass = bypass;
  }
  if (err == ERROR_SUCCESS) {
    r->have_result = true;
    r->result_settings = settings;
  }
  wh_ie_proxy_clear(&r->settings);
  r->settings_op = false;
  r->pending = false;
  r->armed = false;
  pthread_mutex_unlock(&r->hdr.lock);
  if (err == ERROR_SUCCESS) {
    wh_notify(&r->hdr,
              settings ? WINHTTP_CALLBACK_STATUS_GETPROXYSETTINGS_COMPLETE
                       : WINHTTP_CALLBACK_STATUS_GETPROXYFORURL_COMPLETE,
              NULL, 0);
  } else {
    WINHTTP_ASYNC_RESULT res = {
        .dwResult = settings ? API_GET_PROXY_SETTINGS : API_GET_PROXY_FOR_URL, .dwError = err};
    wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_REQUEST_ERROR, &res, sizeof(res));
  }
  wh_object_release(&r->hdr); /* the operation's reference */
}

/* The job is done. */
static void job_ready(struct wh_watch *w, bool timed_out)
{
  (void)timed_out; /* armed without a deadline */
  struct wh_resolver *r = of_watch(w);
  pthread_mutex_lock(&r->hdr.lock);
  struct wh_autoproxy_job *job = r->job;
  r->job = NULL;
  pthread_mutex_unlock(&r->hdr.lock);
  struct wh_pac_entry e[WH_PAC_MAX_ENTRIES];
  size_t n = 0;
  DWORD err = wh_autoproxy_finish(job, e, &n);
  report(r, err, e, n, false);
}

/* The operation's first task on the loop: a known outcome is reported, a
 * lookup's eventfd watched (unless the handle was closed meanwhile). */
static void run_op(struct wh_task *t)
{
  struct wh_resolver *r = of_task(t);
  struct wh_pac_entry e[WH_PAC_MAX_ENTRIES];
  pthread_mutex_lock(&r->hdr.lock);
  struct wh_autoproxy_job *job = r->job;
  DWORD err = r->error;
  size_t n = r->n;
  bool bypass = r->bypass;
  memcpy(e, r->entries, n * sizeof(e[0]));
  bool watching = false;
  if (job && !r->closing) {
    watching = wh_loop_watch(r->loop, &r->watch, wh_autoproxy_fd(job), EPOLLIN, WH_NEVER) == 0;
    if (!watching)
      err = ERROR_NOT_ENOUGH_MEMORY;
  }
  if (watching)
    r->armed = true;
  else
    r->job = NULL;
  pthread_mutex_unlock(&r->hdr.lock);
  if (watching)
    return;
  wh_autoproxy_abandon(job);
  report(r, err, e, n, bypass);
}

/* WinHttpCloseHandle with an armed lookup: stop watching, abandon it,
 * report the cancellation. (Before its task ran, that task reports it.) */
static void run_cancel(struct wh_task *t)
{
  struct wh_resolver *r = of_cancel(t);
  pthread_mutex_lock(&r->hdr.lock);
  bool armed = r->pending && r->armed;
  struct wh_autoproxy_job *job = armed ? r->job : NULL;
  if (armed) {
    wh_loop_unwatch(r->loop, &r->watch);
    r->job = NULL;
  }
  pthread_mutex_unlock(&r->hdr.lock);
  if (armed) {
    wh_autoproxy_abandon(job);
    report(r, ERROR_WINHTTP_OPERATION_CANCELLED, NULL, 0, false);
  }
  wh_object_release(&r->hdr); /* the cancel task's reference */
}

static void resolver_close(struct wh_object *o)
{
  struct wh_resolver *r = (struct wh_resolver *)o;
  pthread_mutex_lock(&o->lock);
  r->closing = true;
  bool post = r->pending;
  struct wh_loop *l = r->loop;
  if (post)
    wh_object_addref(o); /* the cancel task's: the operation may end first */
  pthread_mutex_unlock(&o->lock);
  if (post)
    wh_loop_post(l, &r->cancel_task);
}

static void resolver_destroy(struct wh_object *o)
{
  struct wh_resolver *r = (struct wh_resolver *)o;
  wh_ie_proxy_clear(&r->settings);
  wh_ie_proxy_clear(&r->result_cfg);
}

static const struct wh_object_ops resolver_ops = {
  .close = resolver_close,
  .destroy = resolver_destroy,
};

DWORD wh_resolver_new(struct wh_session *s, HINTERNET *out)
{
  struct wh_resolver *r = wh_calloc(1, sizeof(*r));
  if (!r)
    return ERROR_NOT_ENOUGH_MEMORY;
  wh_object_init(&r->hdr, WH_RESOLVER, &resolver_ops, &s->hdr, s->hdr.flags);
  r->task.run = run_op;
  r->cancel_task.run = run_cancel;
  r->watch.ready = job_ready;
  DWORD err = wh_handle_alloc(&r->hdr, out);
  if (err != ERROR_SUCCESS)
    wh_object_release(&r->hdr); /* never published: no HANDLE_CLOSING */
  return err;
}

/* wh_resolver_begin's work; |cfg| (NULL for a lookup) is taken over. */
static DWORD begin(struct wh_resolver *r, const struct wh_autoproxy_query *q, DWORD err,
                   const struct wh_pac_entry *e, size_t n, bool bypass, struct wh_ie_proxy *cfg,
                   DWORD version, DWORD_PTR ctx)
{
  pthread_mutex_lock(&r->hdr.lock);
  DWORD refused = ERROR_SUCCESS;
  if (r->closing)
    refused = ERROR_WINHTTP_OPERATION_CANCELLED;
  else if (r->pending)
    refused = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  else if (!r->loop && !(r->loop = wh_loop_pick()))
    refused = ERROR_NOT_ENOUGH_MEMORY;
  if (refused == ERROR_SUCCESS) {
    r->pending = true; /* claimed: a concurrent call is refused */
    r->have_result = false;
    wh_ie_proxy_clear(&r->result_cfg);
  }
  pthread_mutex_unlock(&r->hdr.lock);
  if (refused != ERROR_SUCCESS) {
    if (cfg)
      wh_ie_proxy_clear(cfg);
    return refused;
  }

  struct wh_autoproxy_job *job = NULL;
  DWORD started = ERROR_SUCCESS;
  if (q) {
    struct wh_autoproxy *ap = wh_session_autoproxy(wh_session_of(r->hdr.parent));
    started = ap ? wh_autoproxy_start(ap, q, &job) : ERROR_NOT_ENOUGH_MEMORY;
    wh_autoproxy_unref(ap);
  }
  pthread_mutex_lock(&r->hdr.lock);
  if (started != ERROR_SUCCESS) {
    r->pending = false;
    pthread_mutex_unlock(&r->hdr.lock);
    return started;
  }
  r->job = job;
  r->error = err;
  r->n = q || err != ERROR_SUCCESS ? 0 : n;
  if (r->n)
    memcpy(r->entries, e, n * sizeof(e[0]));
  r->bypass = bypass;
  r->settings_op = cfg != NULL;
  if (cfg) {
    r->settings = *cfg; /* moved */
    memset(cfg, 0, sizeof(*cfg));
    r->settings_version = version;
  }
  struct wh_loop *l = r->loop;
  atomic_store_explicit(&r->hdr.context, ctx, memory_order_relaxed);
  wh_object_addref(&r->hdr); /* the operation's reference */
  pthread_mutex_unlock(&r->hdr.lock);
  wh_loop_post(l, &r->task);
  return ERROR_IO_PENDING;
}

DWORD wh_resolver_begin(struct wh_resolver *r, const struct wh_autoproxy_query *q, DWORD err,
                        const struct wh_pac_entry *e, size_t n, bool bypass, DWORD_PTR ctx)
{
  return begin(r, q, err, e, n, bypass, NULL, 0, ctx);
}

DWORD wh_resolver_begin_settings(struct wh_resolver *r, struct wh_ie_proxy *cfg, DWORD version,
                                 DWORD_PTR ctx)
{
  return begin(r, NULL, ERROR_SUCCESS, NULL, 0, false, cfg, version, ctx);
}

DWORD wh_resolver_result(struct wh_resolver *r, struct wh_pac_entry out[WH_PAC_MAX_ENTRIES],
                         size_t *n, bool *bypass)
{
  pthread_mutex_lock(&r->hdr.lock);
  DWORD err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  *n = 0;
  if (r->have_result && !r->result_settings && !r->pending) {
    memcpy(out, r->result, r->result_n * sizeof(r->result[0]));
    *n = r->result_n;
    *bypass = r->result_bypass;
    err = ERROR_SUCCESS;
  }
  pthread_mutex_unlock(&r->hdr.lock);
  return err;
}

DWORD wh_resolver_settings_result(struct wh_resolver *r, struct wh_ie_proxy *out,
                                  DWORD *version)
{
  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&r->hdr.lock);
  DWORD err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  if (r->have_result && r->result_settings && !r->pending) {
    bool failed = false;
    out->auto_detect = r->result_cfg.auto_detect;
    out->auto_config_url = wh_strdup_opt(r->result_cfg.auto_config_url, &failed);
    out->proxy = wh_strdup_opt(r->result_cfg.proxy, &failed);
    out->bypass = wh_strdup_opt(r->result_cfg.bypass, &failed);
    *version = r->result_version;
    err = failed ? ERROR_NOT_ENOUGH_MEMORY : ERROR_SUCCESS;
  }
  pthread_mutex_unlock(&r->hdr.lock);
  if (err != ERROR_SUCCESS)
    wh_ie_proxy_clear(out);
  return err;
}
