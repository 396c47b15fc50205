/* see route.h */
#include "core/route.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/desktop_proxy.h"
#include "core/object.h"
#include "core/proxy_notify.h"
#include "policy/bypass.h"
#include "policy/proxy_env.h"
#include "policy/proxy_list.h"
#include "util/mem.h"
#include "util/str.h"

static const char *env_either(const char *lower, const char *upper)
{
  const char *v = secure_getenv(lower);
  return v ? v : secure_getenv(upper);
}

DWORD wh_env_proxy(char **proxy, char **bypass)
{
  struct wh_proxy_env env = {
    .http_proxy = secure_getenv("http_proxy"),
    .https_proxy = env_either("https_proxy", "HTTPS_PROXY"),
    .no_proxy = env_either("no_proxy", "NO_PROXY"),
  };
  return wh_proxy_env_map(&env, proxy, bypass);
}

/* The process-wide default of WinHttpSetDefaultProxyConfiguration. */
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static bool default_set;
static char *default_proxy, *default_bypass;

static char *dup_or_null(const char *s, bool *failed)
{
  if (!s)
    return NULL;
  char *d = wh_strndup(s, strlen(s));
  if (!d)
    *failed = true;
  return d;
}

DWORD wh_default_proxy(char **proxy, char **bypass)
{
  pthread_mutex_lock(&default_lock);
  bool set = default_set, failed = false;
  *proxy = set ? dup_or_null(default_proxy, &failed) : NULL;
  *bypass = set ? dup_or_null(default_bypass, &failed) : NULL;
  pthread_mutex_unlock(&default_lock);
  if (failed) {
    wh_free(*proxy);
    wh_free(*bypass);
    *proxy = *bypass = NULL;
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  return set ? ERROR_SUCCESS : wh_env_proxy(proxy, bypass);
}

DWORD wh_default_proxy_set(const char *proxy, const char *bypass)
{
  bool failed = false;
  char *p = dup_or_null(proxy, &failed);
  char *b = proxy ? dup_or_null(bypass, &failed) : NULL;
  if (failed) {
    wh_free(p);
    wh_free(b);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  pthread_mutex_lock(&default_lock);
  char *old_p = default_proxy, *old_b = default_bypass;
  default_proxy = p;
  default_bypass = b;
  default_set = true;
  pthread_mutex_unlock(&default_lock);
  wh_free(old_p);
  wh_free(old_b);
  /* The effective settings may have changed: registered proxy change
   * callbacks hear of it (core/proxy_notify.h). */
  wh_proxy_notify_poke();
  return ERROR_SUCCESS;
}

static bool desktop_session(void)
{
  const char *d = secure_getenv("XDG_CURRENT_DESKTOP");
  return d && *d;
}

void wh_auto_config_clear(struct wh_auto_config *c)
{
  wh_free(c->pac_url);
  wh_free(c->proxy);
  wh_free(c->bypass);
  memset(c, 0, sizeof(*c));
}

DWORD wh_auto_config_read(struct wh_auto_config *out)
{
  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&default_lock);
  bool set = default_set;
  pthread_mutex_unlock(&default_lock);
  DWORD err;
  if (set || !desktop_session()) {
    /* The process default when set, else the environment. */
    err = wh_default_proxy(&out->proxy, &out->bypass);
  } else {
    struct wh_ie_proxy ie;
    err = wh_user_proxy(&ie);
    if (err == ERROR_SUCCESS) {
      out->detect = ie.auto_detect;
      out->pac_url = ie.auto_config_url;
      out->proxy = ie.proxy;
      out->bypass = ie.bypass;
    }
  }
  if (err != ERROR_SUCCESS)
    return err;
  if (!out->detect && !out->pac_url && !out->proxy)
    out->detect = true;
  return ERROR_SUCCESS;
}

/* The proxies a configuration of |access| sends a request for |host|
 * through (none: direct): |proxy| and |bypass| are the named proxy's
 * strings; DEFAULT_PROXY takes |s|'s environment, AUTOMATIC_PROXY its
 * auto_cfg. *discover is set when AUTOMATIC_PROXY has detection or a PAC
 * URL: the script decides instead (core/exchange.c). */
static void pick(DWORD access, const char *proxy, const char *bypass,
                 const struct wh_session *s, const char *host, uint16_t port, bool secure,
                 struct wh_route *out, bool *discover)
{
  out->n = 0;
  out->bypassed = false;
  if (access == WINHTTP_ACCESS_TYPE_DEFAULT_PROXY) {
    proxy = s->env_proxy;
    bypass = s->env_bypass;
  } else if (access == WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY) {
    if (wh_auto_config_discovers(&s->auto_cfg)) {
      *discover = true;
      return;
    }
    proxy = s->auto_cfg.proxy;
    bypass = s->auto_cfg.bypass;
  } else if (access != WINHTTP_ACCESS_TYPE_NAMED_PROXY) {
    return;
  }
  if (!proxy)
    return;
  int scheme = secure ? WH_BYPASS_SCHEME_HTTPS : WH_BYPASS_SCHEME_HTTP;
  if (bypass && wh_bypass_match(bypass, strlen(bypass), host, strlen(host), scheme, port)) {
    out->bypassed = true;
    return;
  }
  out->n = (unsigned)wh_proxy_list_pick(proxy, strlen(proxy), secure ? "https" : "http",
                                        out->via, WH_ROUTE_MAX);
}

DWORD wh_route_pick(struct wh_request *r, const char *host, uint16_t port, bool secure,
                    struct wh_route *out, bool *discover)
{
  /* The session's env_* and auto_cfg are fixed for its life. */
  struct wh_session *s = r->connect->session;
  *discover = false;
  pthread_mutex_lock(&r->hdr.lock);
  bool own = r->opts.has_proxy;
  if (own)
    pick(r->opts.proxy_access, r->opts.proxy, r->opts.proxy_bypass, s, host, port, secure, out,
         discover);
  pthread_mutex_unlock(&r->hdr.lock);
  if (!own) {
    pthread_mutex_lock(&s->hdr.lock);
    pick(s->access_type, s->proxy, s->proxy_bypass, s, host, port, secure, out, discover);
    pthread_mutex_unlock(&s->hdr.lock);
  }
  return ERROR_SUCCESS;
}

void wh_route_auto_static(const struct wh_session *s, const char *host, uint16_t port,
                          bool secure, struct wh_route *out)
{
  bool discover = false;
  /* A session opened with another access type has no auto_cfg: the
   * environment's list it read, if any. */
  bool own = s->access_type == WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY;
  pick(WINHTTP_ACCESS_TYPE_NAMED_PROXY, own ? s->auto_cfg.proxy : s->env_proxy,
       own ? s->auto_cfg.bypass : s->env_bypass, s, host, port, secure, out, &discover);
}
