/* see route.h */
#include "core/route.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/object.h"
#include "policy/bypass.h"
#include "policy/proxy_env.h"
#include "policy/proxy_list.h"

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

/* Whether a configuration of |access| sends a request for |host| through a
 * proxy: |proxy| and |bypass| are the named proxy's strings, |env_*| what
 * the environment configured for the session. */
static bool via_proxy(DWORD access, const char *proxy, const char *bypass, const char *env_proxy,
                      const char *env_bypass, const char *host, uint16_t port, bool secure)
{
  if (access == WINHTTP_ACCESS_TYPE_DEFAULT_PROXY ||
      access == WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY) {
    proxy = env_proxy;
    bypass = env_bypass;
  } else if (access != WINHTTP_ACCESS_TYPE_NAMED_PROXY) {
    return false;
  }
  if (!proxy || !wh_proxy_list_serves(proxy, strlen(proxy), secure ? "https" : "http"))
    return false;
  if (!bypass)
    return true;
  int scheme = secure ? WH_BYPASS_SCHEME_HTTPS : WH_BYPASS_SCHEME_HTTP;
  return !wh_bypass_match(bypass, strlen(bypass), host, strlen(host), scheme, port);
}

DWORD wh_route_check(struct wh_request *r, const char *host, uint16_t port, bool secure)
{
  struct wh_session *s = r->connect->session;
  /* The environment's strings are fixed for the session's life. */
  const char *env_proxy = s->env_proxy, *env_bypass = s->env_bypass;
  bool own, proxied = false;
  pthread_mutex_lock(&r->hdr.lock);
  own = r->opts.has_proxy;
  if (own)
    proxied = via_proxy(r->opts.proxy_access, r->opts.proxy, r->opts.proxy_bypass, env_proxy,
                        env_bypass, host, port, secure);
  pthread_mutex_unlock(&r->hdr.lock);
  if (!own) {
    pthread_mutex_lock(&s->hdr.lock);
    proxied = via_proxy(s->access_type, s->proxy, s->proxy_bypass, env_proxy, env_bypass, host,
                        port, secure);
    pthread_mutex_unlock(&s->hdr.lock);
  }
  return proxied ? ERROR_CALL_NOT_IMPLEMENTED : ERROR_SUCCESS;
}
