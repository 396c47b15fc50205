/* see route.h */
#include "core/route.h"

#include <pthread.h>
#include <string.h>

#include "core/object.h"
#include "policy/bypass.h"

/* Whether a configuration of |access| with |proxy| and |bypass| sends a
 * request for |host| through a proxy. */
static bool via_proxy(DWORD access, const char *proxy, const char *bypass, const char *host,
                      uint16_t port, bool secure)
{
  if (access != WINHTTP_ACCESS_TYPE_NAMED_PROXY || !proxy || !*proxy)
    return false;
  if (!bypass)
    return true;
  int scheme = secure ? WH_BYPASS_SCHEME_HTTPS : WH_BYPASS_SCHEME_HTTP;
  return !wh_bypass_match(bypass, strlen(bypass), host, strlen(host), scheme, port);
}

DWORD wh_route_check(struct wh_request *r, const char *host, uint16_t port, bool secure)
{
  bool own, proxied = false;
  pthread_mutex_lock(&r->hdr.lock);
  own = r->opts.has_proxy;
  if (own)
    proxied = via_proxy(r->opts.proxy_access, r->opts.proxy, r->opts.proxy_bypass, host, port,
                        secure);
  pthread_mutex_unlock(&r->hdr.lock);
  if (!own) {
    struct wh_session *s = r->connect->session;
    pthread_mutex_lock(&s->hdr.lock);
    proxied = via_proxy(s->access_type, s->proxy, s->proxy_bypass, host, port, secure);
    pthread_mutex_unlock(&s->hdr.lock);
  }
  return proxied ? ERROR_CALL_NOT_IMPLEMENTED : ERROR_SUCCESS;
}
