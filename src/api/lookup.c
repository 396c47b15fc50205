/* see lookup.h */
#include "api/lookup.h"

#include <string.h>
#include <wchar.h>

#include "core/route.h"
#include "policy/bypass.h"
#include "policy/proxy_list.h"
#include "policy/url.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/utf.h"

#define DETECT_FLAGS (WINHTTP_AUTO_DETECT_TYPE_DHCP | WINHTTP_AUTO_DETECT_TYPE_DNS_A)
#define AUTOPROXY_FLAGS                                                                   \
  (WINHTTP_AUTOPROXY_AUTO_DETECT | WINHTTP_AUTOPROXY_CONFIG_URL |                         \
   WINHTTP_AUTOPROXY_HOST_KEEPCASE | WINHTTP_AUTOPROXY_HOST_LOWERCASE |                   \
   WINHTTP_AUTOPROXY_ALLOW_AUTOCONFIG | WINHTTP_AUTOPROXY_ALLOW_STATIC |                  \
   WINHTTP_AUTOPROXY_ALLOW_CM | WINHTTP_AUTOPROXY_USE_INTERFACE_CONFIG |                  \
   WINHTTP_AUTOPROXY_RUN_INPROCESS | WINHTTP_AUTOPROXY_RUN_OUTPROCESS_ONLY |              \
   WINHTTP_AUTOPROXY_NO_DIRECTACCESS | WINHTTP_AUTOPROXY_NO_CACHE_CLIENT |                \
   WINHTTP_AUTOPROXY_NO_CACHE_SVC | WINHTTP_AUTOPROXY_SORT_RESULTS)

DWORD wh_lookup_check(LPCWSTR url, const WINHTTP_AUTOPROXY_OPTIONS *o, bool have_out)
{
  if (!url || !url[0] || !o || !have_out)
    return ERROR_INVALID_PARAMETER;
  DWORD f = o->dwFlags;
  if (f & ~(DWORD)AUTOPROXY_FLAGS)
    return ERROR_INVALID_PARAMETER;
  if (!(f & (WINHTTP_AUTOPROXY_AUTO_DETECT | WINHTTP_AUTOPROXY_CONFIG_URL)))
    return ERROR_INVALID_PARAMETER;
  if ((f & WINHTTP_AUTOPROXY_AUTO_DETECT) &&
      (!o->dwAutoDetectFlags || (o->dwAutoDetectFlags & ~(DWORD)DETECT_FLAGS)))
    return ERROR_INVALID_PARAMETER;
  if ((f & WINHTTP_AUTOPROXY_CONFIG_URL) && (!o->lpszAutoConfigUrl || !o->lpszAutoConfigUrl[0]))
    return ERROR_INVALID_PARAMETER;
  /* COMPAT: Microsoft also says dwAutoDetectFlags "must be zero" without
   * AUTO_DETECT and lpszAutoConfigUrl NULL without CONFIG_URL; those unused
   * fields are ignored, as Wine ignores them, so that code which fills the
   * structure once and toggles dwFlags keeps working. */
  if (o->lpvReserved || o->dwReserved)
    return ERROR_INVALID_PARAMETER;
  struct wh_url_parts parts;
  DWORD err = wh_url_split(url, wcslen(url), false, &parts);
  /* Microsoft: ERROR_WINHTTP_UNRECOGNIZED_SCHEME when "the URL of the PAC
   * file specified a scheme other than http: or https:" (so no file://). */
  if (err == ERROR_SUCCESS && (f & WINHTTP_AUTOPROXY_CONFIG_URL))
    err = wh_url_split(o->lpszAutoConfigUrl, wcslen(o->lpszAutoConfigUrl), false, &parts);
  return err;
}

/* The host of |url| in UTF-8, without an IPv6 literal's brackets. */
static DWORD url_host(LPCWSTR url, char **host, bool lower)
{
  struct wh_url_parts u;
  DWORD err = wh_url_split(url, wcslen(url), false, &u);
  if (err != ERROR_SUCCESS)
    return err;
  size_t off = u.host.off, len = u.host.len;
  if (len >= 2 && url[off] == L'[') {
    off++;
    len -= 2;
  }
  size_t n;
  if (wh_utf8_from_wide(url + off, len, host, &n) != 0)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (lower)
    for (char *p = *host; *p; p++)
      *p = (char)wh_to_lower(*p);
  return ERROR_SUCCESS;
}

DWORD wh_lookup_prepare(struct wh_session *s, LPCWSTR url, const WINHTTP_AUTOPROXY_OPTIONS *o,
                        struct wh_lookup *l)
{
  memset(l, 0, sizeof(*l));
  DWORD f = o->dwFlags;
  size_t n;
  if (wh_utf8_from_wide(url, wcslen(url), &l->url, &n) != 0)
    return ERROR_NOT_ENOUGH_MEMORY;
  DWORD err = url_host(url, &l->host, (f & WINHTTP_AUTOPROXY_HOST_LOWERCASE) != 0);
  if (err != ERROR_SUCCESS)
    return err;
  if ((f & WINHTTP_AUTOPROXY_CONFIG_URL) &&
      wh_utf8_from_wide(o->lpszAutoConfigUrl, wcslen(o->lpszAutoConfigUrl), &l->pac_url, &n) != 0)
    return ERROR_NOT_ENOUGH_MEMORY;
  l->q.detect = (f & WINHTTP_AUTOPROXY_AUTO_DETECT) &&
                (o->dwAutoDetectFlags & WINHTTP_AUTO_DETECT_TYPE_DNS_A);
  l->q.pac_url = l->pac_url;
  l->q.url = l->url;
  l->q.host = l->host;
  pthread_mutex_lock(&s->hdr.lock);
  l->q.limits.resolve_ms = s->settings.resolve_timeout;
  l->q.limits.connect_ms = s->settings.connect_timeout;
  l->q.limits.send_ms = s->settings.send_timeout;
  l->q.limits.receive_ms = s->settings.receive_timeout;
  pthread_mutex_unlock(&s->hdr.lock);
  return ERROR_SUCCESS;
}

void wh_lookup_free(struct wh_lookup *l)
{
  wh_free(l->url);
  wh_free(l->host);
  wh_free(l->pac_url);
  memset(l, 0, sizeof(*l));
}

DWORD wh_lookup_static(LPCWSTR url, struct wh_pac_entry e[WH_PAC_MAX_ENTRIES], size_t *n,
                       bool *bypass, bool *found)
{
  *found = *bypass = false;
  *n = 0;
  char *list, *bylist;
  DWORD err = wh_default_proxy(&list, &bylist);
  if (err != ERROR_SUCCESS || !list) {
    wh_free(bylist);
    return err;
  }
  *found = true;
  struct wh_url_parts u;
  char *host = NULL;
  err = wh_url_split(url, wcslen(url), false, &u);
  if (err == ERROR_SUCCESS)
    err = url_host(url, &host, false);
  if (err == ERROR_SUCCESS) {
    bool secure = u.scheme == INTERNET_SCHEME_HTTPS;
    int scheme = secure ? WH_BYPASS_SCHEME_HTTPS : WH_BYPASS_SCHEME_HTTP;
    *bypass = bylist && wh_bypass_match(bylist, strlen(bylist), host, strlen(host), scheme, u.port);
    struct wh_proxy_server via[WH_ROUTE_MAX];
    size_t k = *bypass ? 0
                       : wh_proxy_list_pick(list, strlen(list), secure ? "https" : "http", via,
                                            WH_ROUTE_MAX);
    for (size_t i = 0; i < k && err == ERROR_SUCCESS; i++) {
      if (via[i].unsupported) {
        err = ERROR_CALL_NOT_IMPLEMENTED; /* a SOCKS or TLS proxy: not one we speak */
        break;
      }
      e[i].kind = WH_PAC_HTTP;
      memcpy(e[i].host, via[i].host, sizeof(e[i].host));
      e[i].port = via[i].port;
    }
    if (err == ERROR_SUCCESS) {
      *n = k;
      if (k == 0) {
        memset(&e[0], 0, sizeof(e[0]));
        e[0].kind = WH_PAC_DIRECT;
        *n = 1;
      }
    }
  }
  wh_free(host);
  wh_free(list);
  wh_free(bylist);
  return err;
}
