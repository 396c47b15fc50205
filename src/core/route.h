/* Which way a request goes: straight to the origin, or through a proxy.
 *
 * Proxies are not implemented yet (issue 9). Until they are, a request
 * whose configuration says "through a proxy" must not silently go to the
 * origin instead (a program that relies on its proxy for policy, auditing
 * or reachability would be bypassing it): it fails with
 * ERROR_CALL_NOT_IMPLEMENTED. A target its bypass list names goes direct,
 * as it would on Windows. */
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

/* ERROR_SUCCESS when |r| may connect to |host|:|port| directly; otherwise
 * the error to fail the send with. Looks at the request's own
 * WINHTTP_OPTION_PROXY if it set one, else its session's access type:
 * NAMED_PROXY uses the session's list, DEFAULT_PROXY and AUTOMATIC_PROXY
 * what the environment configured when it opened (nothing to detect
 * beyond that: proxy discovery finds nothing, api/api_proxy.c). A list
 * with no entry for the request's scheme, or a bypass list naming the
 * host, means direct. Takes the request's and the session's locks, one at
 * a time. */
DWORD wh_route_check(struct wh_request *r, const char *host, uint16_t port, bool secure);

#endif
