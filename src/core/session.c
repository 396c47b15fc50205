/* see session.h */
#include "core/session.h"

#include <string.h>
#include <unistd.h>

#include "core/async.h"
#include "core/autoproxy.h"
#include "core/handle.h"
#include "net/wait.h"
#include "core/route.h"
#include "util/blockcache.h"
#include "util/mem.h"

/* --- session ------------------------------------------------------------- */

static void session_destroy(struct wh_object *o)
{
  struct wh_session *s = wh_session_of(o);
  wh_free(s->agent);
  wh_free(s->proxy);
  wh_free(s->proxy_bypass);
  wh_free(s->env_proxy);
  wh_free(s->env_bypass);
  wh_auto_config_clear(&s->auto_cfg);
  wh_cookie_jar_free(&s->cookies);
  wh_autoproxy_unref(s->autoproxy);
}

static const struct wh_object_ops session_ops = {
  .close = NULL,
  .destroy = session_destroy,
};

DWORD wh_session_new(char *agent, DWORD access_type, char *proxy, char *bypass,
                     DWORD flags, HINTERNET *out)
{
  struct wh_session *s = wh_calloc(1, sizeof(*s));
  if (!s) {
    wh_free(agent);
    wh_free(proxy);
    wh_free(bypass);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  wh_object_init(&s->hdr, WH_SESSION, &session_ops, NULL,
                 (flags & WINHTTP_FLAG_ASYNC) ? WH_OBJ_ASYNC : 0);
  s->agent = agent;
  s->access_type = access_type;
  s->proxy = proxy;
  s->proxy_bypass = bypass;
  s->open_flags = flags;
  wh_settings_defaults(&s->settings);
  wh_cookie_jar_init(&s->cookies);
  /* The defaults are read once, when the session opens (as Windows reads
   * its machine setting in WinHttpOpen). */
  DWORD err = ERROR_SUCCESS;
  if (access_type == WINHTTP_ACCESS_TYPE_DEFAULT_PROXY ||
      access_type == WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY)
    err = wh_default_proxy(&s->env_proxy, &s->env_bypass); /* a request may ask for DEFAULT_PROXY */
  if (err == ERROR_SUCCESS && access_type == WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY)
    err = wh_auto_config_read(&s->auto_cfg);
  if (err == ERROR_SUCCESS)
    err = wh_handle_alloc(&s->hdr, out);
  if (err != ERROR_SUCCESS)
    wh_object_release(&s->hdr); /* never published: no HANDLE_CLOSING */
  return err;
}

struct wh_autoproxy *wh_session_autoproxy(struct wh_session *s)
{
  pthread_mutex_lock(&s->hdr.lock);
  if (!s->autoproxy)
    s->autoproxy = wh_autoproxy_new();
  struct wh_autoproxy *ap = s->autoproxy;
  if (ap)
    wh_autoproxy_ref(ap);
  pthread_mutex_unlock(&s->hdr.lock);
  return ap;
}

/* --- connection ---------------------------------------------------------- */

static void connect_destroy(struct wh_object *o)
{
  wh_free(wh_connect_of(o)->server);
}

static const struct wh_object_ops connect_ops = {
  .close = NULL,
  .destroy = connect_destroy,
};

DWORD wh_connect_new(struct wh_session *s, char *server, INTERNET_PORT port,
                     HINTERNET *out)
{
  struct wh_connect *c = wh_calloc(1, sizeof(*c));
  if (!c) {
    wh_free(server);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  wh_object_init(&c->hdr, WH_CONNECT, &connect_ops, &s->hdr, s->hdr.flags);
  c->session = s;
  c->server = server;
  c->port = port;
  pthread_mutex_lock(&s->hdr.lock);
  c->settings = s->settings;
  pthread_mutex_unlock(&s->hdr.lock);
  HINTERNET h;
  DWORD err = wh_handle_alloc(&c->hdr, &h);
  if (err != ERROR_SUCCESS) {
    wh_object_release(&c->hdr);
    return err;
  }
  *out = h;
  /* Windows reports a new connection on the session handle, with a pointer
   * to the new handle as the status information. */
  wh_notify(&s->hdr, WINHTTP_CALLBACK_STATUS_HANDLE_CREATED, &h, sizeof(h));
  return ERROR_SUCCESS;
}

/* --- request ------------------------------------------------------------- */

static void request_destroy(struct wh_object *o)
{
  struct wh_request *r = wh_request_of(o);
  wh_free(r->verb);
  wh_free(r->path);
  wh_free(r->version);
  wh_headers_free(&r->headers);
  wh_request_opts_free(&r->opts);
  wh_exchange_free(&r->x);
  wh_req_facts_free(&r->facts);
}

/* WinHttpCloseHandle: a synchronous call blocked on this request (another
 * thread; it holds a slot reference, so the object stays alive) wakes up
 * and returns ERROR_WINHTTP_OPERATION_CANCELLED (CONTRACT C6). */
static void request_close(struct wh_object *o)
{
  struct wh_request *r = wh_request_of(o);
  pthread_mutex_lock(&o->lock);
  r->closing = true;
  for (int i = 0; i < 2; i++)
    if (r->waiting_fd[i] >= 0)
      wh_cancel_fd_signal(r->waiting_fd[i]);
  pthread_mutex_unlock(&o->lock);
  /* An asynchronous operation in flight ends with OPERATION_CANCELLED on
   * its loop thread (CONTRACT C7). */
  if (o->flags & WH_OBJ_ASYNC)
    wh_async_cancel(r);
}

static const struct wh_object_ops request_ops = {
  .close = request_close,
  .destroy = request_destroy,
};

void wh_request_spec_free(struct wh_request_spec *spec)
{
  wh_free(spec->verb);
  wh_free(spec->path);
  wh_free(spec->version);
  wh_free(spec->referrer);
  if (spec->accept_types) {
    for (char **t = spec->accept_types; *t; t++)
      wh_free(*t);
    wh_free(spec->accept_types);
  }
  memset(spec, 0, sizeof(*spec));
}

/* The headers WinHttpOpenRequest adds: Accept (one header, the types joined
 * with ", "), Referer, and the no-cache pair for
 * WINHTTP_FLAG_REFRESH (= BYPASS_PROXY_CACHE). */
static DWORD add_open_headers(struct wh_request *r, const struct wh_request_spec *spec)
{
  static const DWORD coalesce = WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_COALESCE_WITH_COMMA;
  DWORD err = ERROR_SUCCESS;
  if (spec->accept_types) {
    for (char **t = spec->accept_types; *t && err == ERROR_SUCCESS; t++)
      err = wh_headers_apply_one(&r->headers, "Accept", 6, *t, strlen(*t), coalesce);
  }
  if (err == ERROR_SUCCESS && spec->referrer)
    err = wh_headers_apply_one(&r->headers, "Referer", 7, spec->referrer,
                               strlen(spec->referrer), WINHTTP_ADDREQ_FLAG_ADD);
  if (err == ERROR_SUCCESS && (spec->flags & WINHTTP_FLAG_REFRESH)) {
    err = wh_headers_apply_one(&r->headers, "Pragma", 6, "no-cache", 8, WINHTTP_ADDREQ_FLAG_ADD);
    if (err == ERROR_SUCCESS)
      err = wh_headers_apply_one(&r->headers, "Cache-Control", 13, "no-cache", 8,
                                 WINHTTP_ADDREQ_FLAG_ADD);
  }
  return err;
}

DWORD wh_request_new(struct wh_connect *c, struct wh_request_spec *spec,
                     HINTERNET *out)
{
  /* A request per HTTP request: its memory comes from the thread's cache
   * of freed ones when it can (util/blockcache.h). */
  struct wh_request *r = wh_block_calloc(sizeof(*r));
  if (!r) {
    wh_request_spec_free(spec);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  wh_object_init(&r->hdr, WH_REQUEST, &request_ops, &c->hdr, c->hdr.flags);
  r->connect = c;
  wh_headers_init(&r->headers);
  wh_exchange_init(&r->x);
  atomic_init(&r->state, WH_RS_OPEN);
  atomic_init(&r->busy, 0);
  for (int i = 0; i < 2; i++) {
    r->waiting_fd[i] = -1;
    r->lane[i].r = r;
    r->lane[i].index = i;
  }
  DWORD err = add_open_headers(r, spec);
  r->verb = spec->verb;
  r->path = spec->path;
  r->version = spec->version;
  r->open_flags = spec->flags;
  spec->verb = spec->path = spec->version = NULL;
  wh_request_spec_free(spec);
  if (err != ERROR_SUCCESS) {
    wh_object_release(&r->hdr);
    return err;
  }
  r->port = c->port;
  if (r->port == INTERNET_DEFAULT_PORT)
    r->port = (r->open_flags & WINHTTP_FLAG_SECURE) ? INTERNET_DEFAULT_HTTPS_PORT
                                                    : INTERNET_DEFAULT_HTTP_PORT;
  pthread_mutex_lock(&c->session->hdr.lock);
  r->settings = c->session->settings;
  pthread_mutex_unlock(&c->session->hdr.lock);

  HINTERNET h;
  err = wh_handle_alloc(&r->hdr, &h);
  if (err != ERROR_SUCCESS) {
    wh_object_release(&r->hdr);
    return err;
  }
  *out = h;
  wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_HANDLE_CREATED, &h, sizeof(h));
  return ERROR_SUCCESS;
}
