/* Which way a request goes: straight to the origin, or through a proxy
 * (an HTTP proxy: absolute-form requests for http://, a CONNECT tunnel for
 * https://; core/exchange.c and core/h1_stream.c). A target its bypass
 * list names goes direct, as it does on Windows. */
#ifndef WH_CORE_ROUTE_H
#define WH_CORE_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include <winhttp.h>

struct wh_request;

/* The proxy the environment configures, the Linux convention where Windows
 * has its machine and user settings: http_proxy (lower case only: CGI puts
 * a request's "Proxy:" header in HTTP_PROXY), https_proxy or HTTPS_PROXY,
 * no_proxy or NO_PROXY, read with secure_getenv (a set-user-ID program does
 * not take its proxy from whoever started it) and mapped to Windows'
 * syntax by policy/proxy_env.h. *proxy and *bypass (UTF-8, wh_free) are
 * NULL when nothing is configured. ERROR_NOT_ENOUGH_MEMORY or success. */
DWORD wh_env_proxy(char **proxy, char **bypass);

#include "policy/proxy_list.h"

/* The process-wide default (WinHttpSetDefaultProxyConfiguration) when one
 * was set, otherwise the environment's (wh_env_proxy): what
 * WinHttpGetDefaultProxyConfiguration reports and what DEFAULT_PROXY and
 * AUTOMATIC_PROXY sessions use. Same contract as wh_env_proxy. */
DWORD wh_default_proxy(char **proxy, char **bypass);
/* Sets the process-wide default: |proxy| NULL means "no proxy" (which then
 * overrides the environment too). Copies the strings. */
DWORD wh_default_proxy_set(const char *proxy, const char *bypass);

/* What an AUTOMATIC_PROXY session goes by, read when it opens (Windows
 * 8.1+: "system and per-user proxy settings"):
 *  1. the process-wide default when one was set (a static list);
 *  2. in a desktop session (XDG_CURRENT_DESKTOP set), the user's settings
 *     as WinHttpGetIEProxyConfigForCurrentUser reports them
 *     (core/desktop_proxy.h: the desktop's, else the environment's):
 *     detection, a PAC URL and a static list, each as configured;
 *  3. otherwise the environment's static list.
 * Nothing configured at all means detection (WPAD), as Windows' own
 * out-of-the-box setting does. A desktop is consulted only inside a
 * desktop session: a server or container has no user settings to honour,
 * and loading GIO and its settings backend there (D-Bus included) would
 * be a cost and a side effect for nothing. */
struct wh_auto_config {
  bool detect;   /* WPAD */
  char *pac_url; /* the PAC script's URL (UTF-8, wh_free) or NULL */
  char *proxy;   /* the static list (wh_free) or NULL: used when neither of
                    the above is set, or when they find no script */
  char *bypass;
};
/* Fills |out| (ERROR_SUCCESS), or ERROR_NOT_ENOUGH_MEMORY with |out|
 * empty. */
DWORD wh_auto_config_read(struct wh_auto_config *out);
void wh_auto_config_clear(struct wh_auto_config *c);
/* Whether a script decides (detection or a PAC URL). An empty |c| (a
 * session opened with another access type, given AUTOMATIC_PROXY later by
 * WINHTTP_OPTION_PROXY) detects, as nothing configured does. */
static inline bool wh_auto_config_discovers(const struct wh_auto_config *c)
{
  return c->detect || c->pac_url || !c->proxy;
}

/* The proxies to try, in order; none: direct. */
#define WH_ROUTE_MAX 4
struct wh_route {
  unsigned n;
  bool bypassed; /* direct because a proxy's bypass list names the host */
  struct wh_proxy_server via[WH_ROUTE_MAX];
};

/* The way |r| goes to |host|:|port|. Looks at the request's own
 * WINHTTP_OPTION_PROXY if it set one, else its session's access type:
 * NAMED_PROXY uses the session's list, DEFAULT_PROXY what the environment
 * configured when it opened (or the process default). AUTOMATIC_PROXY
 * uses its session's wh_auto_config: the static list, unless detection or
 * a PAC URL is configured; then *discover is set and the script decides
 * (core/autoproxy.h, the exchange's WH_P_AUTOPROXY step, which falls back
 * to the static list, else direct). A list with no entry for the request's
 * scheme, or a bypass list naming the host, means direct. Takes the
 * request's and the session's locks, one at a time. ERROR_SUCCESS, or
 * ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_route_pick(struct wh_request *r, const char *host, uint16_t port, bool secure,
                    struct wh_route *out, bool *discover);

struct wh_session;
/* An AUTOMATIC_PROXY session's static list for |host|:|port|: what a
 * request goes by when detection and the PAC URL found no script. */
void wh_route_auto_static(const struct wh_session *s, const char *host, uint16_t port,
                          bool secure, struct wh_route *out);

#endif
