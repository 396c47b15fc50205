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

/* ERROR_SUCCESS when |r| may connect to |host|:|port| directly; otherwise
 * the error to fail the send with. Looks at the request's own
 * WINHTTP_OPTION_PROXY if it set one, else its session's access type and
 * proxy. Takes the request's and the session's locks, one at a time. */
DWORD wh_route_check(struct wh_request *r, const char *host, uint16_t port, bool secure);

#endif
