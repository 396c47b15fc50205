/* see route.h */
#include "core/route.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

/* The proxies a configuration of |access| sends a request for |host|
 * through (none: direct): |proxy| and |bypass| are the named proxy's
 * strings, |env_*| what the environment configured for the session.
 * *discover is set when AUTOMATIC_PROXY has nothing configured: the PAC
 * script found by WPAD decides instead (core/exchange.c). */
static void pick(DWORD access, const char *proxy, const char *bypass, const char *env_proxy,
                 const char *env_bypass, const char *host, uint16_t port, bool secure,
                 struct wh_route *out, bool *discover)
{
  out->n = 0;
  out->bypassed = false;
  if (access == WINHTTP_ACCESS_TYPE_DEFAULT_PROXY ||
      access == WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY) {
    proxy = env_proxy;
    bypass = env_bypass;
    if (access == WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY && !env_proxy) {
      *discover = true;
      return;
    }
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
  struct wh_session *s = r->connect->session;
  /* The environment's strings are fixed for the session's life. */
  const char *env_proxy = s->env_proxy, *env_bypass = s->env_bypass;
  *discover = false;
  pthread_mutex_lock(&r->hdr.lock);
  bool own = r->opts.has_proxy;
  if (own)
    pick(r->opts.proxy_access, r->opts.proxy, r->opts.proxy_bypass, env_proxy, env_bypass, host,
         port, secure, out, discover);
  pthread_mutex_unlock(&r->hdr.lock);
  if (!own) {
    pthread_mutex_lock(&s->hdr.lock);
    pick(s->access_type, s->proxy, s->proxy_bypass, env_proxy, env_bypass, host, port, secure,
         out, discover);
    pthread_mutex_unlock(&s->hdr.lock);
  }
  return ERROR_SUCCESS;
}
