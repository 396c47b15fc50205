/* GNOME's proxy settings (the GSettings schema org.gnome.system.proxy of
 * gsettings-desktop-schemas) as Windows' current-user settings
 * (policy/ie_proxy.h). core/gsettings.c reads the values; this module only
 * maps them.
 *
 * The schema, and what each key becomes:
 *   mode             "none": nothing (the caller then falls back to the
 *                    environment); "manual": the servers below; "auto": a
 *                    PAC URL, or WPAD when autoconfig-url is empty
 *                    (fAutoDetect), as GLib's resolver does. Anything else
 *                    is "none".
 *   autoconfig-url   lpszAutoConfigUrl, in mode "auto" only.
 *   http, https, ftp, socks (sub-schemas .http, .https, ...): host and
 *                    port. The schema's rule: "Each of the 4 proxy types is
 *                    enabled if its host key is non-empty and its port key
 *                    is non-0"; an http proxy also serves https when https
 *                    has none; a SOCKS proxy serves every scheme without
 *                    its own. The http schema's use-authentication,
 *                    authentication-user and authentication-password are
 *                    never read: credentials have no place in a proxy list
 *                    (WinHTTP takes them through WINHTTP_OPTION_PROXY_*).
 *   ignore-hosts     lpszProxyBypass, in mode "manual" only (Windows' bypass
 *                    list belongs to the manual list). Its syntax is
 *                    GLib's, which is no_proxy's: see ie_proxy.h for what
 *                    can be expressed.
 *   use-same-proxy   ignored, as GLib ignores it (the https rule above
 *                    covers its common use).
 *
 * Pure: no I/O, no locks, no globals; safe from any thread. */
#ifndef WH_POLICY_GNOME_PROXY_H
#define WH_POLICY_GNOME_PROXY_H

#include <stddef.h>

#include "policy/ie_proxy.h"

/* The values read, each owned by the structure (wh_gnome_proxy_free); a
 * key the schema or the backend did not give is NULL (strings) or 0
 * (ports). */
struct wh_gnome_proxy {
  char *mode;
  char *autoconfig_url;
  char *host[WH_IE_SCHEMES];
  int port[WH_IE_SCHEMES];
  char **ignore_hosts; /* |n_ignore| strings */
  size_t n_ignore;
};

/* Frees what |g| owns and zeroes it. */
void wh_gnome_proxy_free(struct wh_gnome_proxy *g);

/* Fills |out| (which must be clear) from |g|. ERROR_SUCCESS, or
 * ERROR_NOT_ENOUGH_MEMORY with |out| clear. */
DWORD wh_gnome_proxy_map(const struct wh_gnome_proxy *g, struct wh_ie_proxy *out);

#endif
