/* What WinHttpGetProxyForUrl and WinHttpGetProxyForUrlEx(2) share: the
 * checks of their arguments, and the lookup they describe, in UTF-8 for
 * core/autoproxy.h or answered by the static configuration
 * (WINHTTP_AUTOPROXY_ALLOW_STATIC). */
#ifndef WH_API_LOOKUP_H
#define WH_API_LOOKUP_H

#include <stdbool.h>

#include <winhttp.h>

#include "core/autoproxy.h"
#include "core/object.h"
#include "policy/pac_result.h"

/* Wine's test_WinHttpGetProxyForUrl (on Windows) and Microsoft's
 * WINHTTP_AUTOPROXY_OPTIONS: ERROR_INVALID_PARAMETER for a NULL or empty
 * URL, NULL options (or, |have_out| false, a NULL result), unknown flags,
 * neither AUTO_DETECT nor CONFIG_URL, AUTO_DETECT without a detection type,
 * CONFIG_URL without a URL, reserved fields set;
 * ERROR_WINHTTP_UNRECOGNIZED_SCHEME / ERROR_WINHTTP_INVALID_URL when the URL
 * or the PAC URL is not an http or https URL. */
DWORD wh_lookup_check(LPCWSTR url, const WINHTTP_AUTOPROXY_OPTIONS *o, bool have_out);

/* A checked lookup for core/autoproxy.h: |q| points into the strings. */
struct wh_lookup {
  struct wh_autoproxy_query q;
  char *url, *host, *pac_url;
};

/* Fills |l| from the arguments (already checked) and |s|'s timeouts. The
 * host is the URL's, without an IPv6 literal's brackets, lower-cased with
 * WINHTTP_AUTOPROXY_HOST_LOWERCASE (Microsoft: the case is kept by
 * default). Detection is by DNS: AUTO_DETECT with only
 * WINHTTP_AUTO_DETECT_TYPE_DHCP detects nothing (no DHCP discovery).
 * ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY; wh_lookup_free either way. */
DWORD wh_lookup_prepare(struct wh_session *s, LPCWSTR url, const WINHTTP_AUTOPROXY_OPTIONS *o,
                        struct wh_lookup *l);
void wh_lookup_free(struct wh_lookup *l);

/* WINHTTP_AUTOPROXY_ALLOW_STATIC: the static configuration's answer for
 * |url| (this process's WinHttpSetDefaultProxyConfiguration, else the
 * environment; core/route.h), as a request for it would be routed: its
 * HTTP proxies, or one DIRECT entry (with *bypass when the bypass list
 * names the host). *found false when nothing is configured.
 * ERROR_CALL_NOT_IMPLEMENTED when the proxy is a SOCKS or TLS one (not
 * spoken here), ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_lookup_static(LPCWSTR url, struct wh_pac_entry e[WH_PAC_MAX_ENTRIES], size_t *n,
                       bool *bypass, bool *found);

#endif
