/* The current user's proxy settings, shaped as Windows reports them
 * (WINHTTP_CURRENT_USER_IE_PROXY_CONFIG), built from what a Linux desktop
 * stores (policy/gnome_proxy.h, policy/kde_proxy.h).
 *
 * Windows' Internet Options hold three independent things: "automatically
 * detect settings" (WPAD), a PAC URL, and a manual proxy list with its
 * bypass list. The list is written the way Internet Explorer writes it,
 * one entry per scheme that has a proxy:
 *
 *   "http=proxy:8080;https=proxy:8443;ftp=ftp-proxy:21;socks=socks:1080"
 *
 * which is the per-scheme syntax policy/proxy_list.h reads. The servers
 * are judged by the environment's rules (policy/proxy_env.h): a server
 * that is not a host with an optional port 1..65535 (after an optional
 * "scheme://" and "user@", which are dropped unless the scheme is another
 * than http; "ftp://" is dropped from the ftp entry too, and any scheme
 * from the socks entry) is left out; credentials never reach the list.
 *
 * Two rules come from the desktops rather than from Windows:
 *  - A scheme without a proxy of its own is sent to the SOCKS proxy when
 *    there is one, as "<scheme>=socks://host:port" (GNOME and KDE both use
 *    the SOCKS proxy for such schemes). Windows would write only
 *    "socks=host:port" and its WinHTTP would then go direct; naming the
 *    SOCKS proxy in the scheme's entry makes the engine refuse the request
 *    (it speaks no SOCKS) instead of silently bypassing the proxy the user
 *    chose. The "socks=" entry is written too, as Windows does.
 *  - GNOME uses the http proxy for https when https has none
 *    (|https_uses_http|); KDE does not.
 *
 * The bypass list takes the desktops' syntax, which is no_proxy's (GNOME's
 * ignore-hosts and KDE's NoProxyFor both name hosts, "*.domain" or
 * ".domain" for a domain and its subdomains, IP addresses, CIDR ranges and
 * "host:port"), and is mapped by wh_proxy_env_bypass; in addition
 * "<local>" is kept (Windows' own macro, which KDE accepts too), and a
 * "scheme://" before a host and a "/..." after it are dropped (KDE accepts
 * URLs). Ranges Windows' globs cannot express (prefixes other than /8,
 * /16, /24, /32, IPv6 prefixes) are dropped: those hosts use the proxy.
 *
 * Pure: no I/O, no locks, no globals; safe from any thread. */
#ifndef WH_POLICY_IE_PROXY_H
#define WH_POLICY_IE_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include <winhttp.h>

/* WINHTTP_CURRENT_USER_IE_PROXY_CONFIG in UTF-8. Every string is NULL or a
 * non-empty string the structure owns (wh_ie_proxy_clear frees them). */
struct wh_ie_proxy {
  bool auto_detect;
  char *auto_config_url;
  char *proxy;
  char *bypass; /* only with |proxy| */
};

/* Frees the strings and zeroes |c|. */
void wh_ie_proxy_clear(struct wh_ie_proxy *c);

/* True when |c| says anything: auto-detection, a PAC URL or a proxy. */
bool wh_ie_proxy_configured(const struct wh_ie_proxy *c);

/* A 64-bit fingerprint of |c| (FNV-1a over every field, a NULL string told
 * from an empty one), continuing from |seed| (pass WH_FINGERPRINT_SEED to
 * start): equal settings give equal values, so a change of the settings
 * shows as a change of the value (core/proxy_version.h,
 * core/proxy_notify.h). Not a cryptographic hash: nothing depends on it
 * resisting a chosen collision. */
#define WH_FINGERPRINT_SEED 0xcbf29ce484222325ull
uint64_t wh_fingerprint_str(uint64_t h, const char *s);
uint64_t wh_ie_proxy_fingerprint(uint64_t seed, const struct wh_ie_proxy *c);

/* The schemes a desktop names proxies for, in the order of the list. */
enum { WH_IE_HTTP, WH_IE_HTTPS, WH_IE_FTP, WH_IE_SOCKS, WH_IE_SCHEMES };

/* A manual configuration: per scheme a proxy URL ("host", "host:port",
 * "scheme://host:port", NUL-terminated) or NULL; the bypass list in the
 * desktops' syntax (entries separated by ',', ';' or white space) or NULL. */
struct wh_ie_manual {
  const char *server[WH_IE_SCHEMES];
  bool https_uses_http;
  const char *bypass;
};

/* Fills |out| (which must be clear) with the proxy list and bypass list of
 * |m|; |out| stays clear when no server is usable (the bypass list alone
 * configures nothing). ERROR_SUCCESS, or ERROR_NOT_ENOUGH_MEMORY with |out|
 * clear. */
DWORD wh_ie_proxy_manual(const struct wh_ie_manual *m, struct wh_ie_proxy *out);

/* Sets |out|->auto_config_url to a copy of |url| without surrounding white
 * space, unless it is NULL, empty, longer than 8 KiB or holds a control
 * character (then |out| is left as it is). ERROR_SUCCESS or
 * ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_ie_proxy_pac(const char *url, struct wh_ie_proxy *out);

#endif
