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
 * uses that configuration too when there is one; with none, *discover is
 * set and the PAC script found by WPAD decides (core/autoproxy.h, the
 * exchange's WH_P_AUTOPROXY step). A list with no entry for the request's
 * scheme, or a bypass list naming the host, means direct. Takes the
 * request's and the session's locks, one at a time. ERROR_SUCCESS, or
 * ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_route_pick(struct wh_request *r, const char *host, uint16_t port, bool secure,
                    struct wh_route *out, bool *discover);

#endif
