/* Proxy bypass lists: does a host skip the proxy? Used by
 * WinHttpIsHostInProxyBypassList and, later, by the engine when it picks a
 * route for a request on a WINHTTP_ACCESS_TYPE_NAMED_PROXY session.
 *
 * The syntax is the one Microsoft documents for WINHTTP_PROXY_INFO's
 * lpszProxyBypass ("one or more server names separated by semicolons or
 * whitespace", plus "<local>" for "all servers that do not contain a period
 * in their name") with the WinINet extensions Windows accepts in the same
 * list: '*' wildcards, a "scheme://" prefix and a ":port" suffix. In full:
 *
 *   list   = *( sep ) [ entry *( 1*sep entry ) ] *( sep )
 *   sep    = ";" / "," / SP / HTAB / CR / LF
 *   entry  = "<local>" / [ scheme "://" ] host [ ":" ( port / "*" ) ]
 *   scheme = "http" / "https" / "ftp" / "socks"        (any case)
 *   host   = glob / "[" glob "]"                        (IPv6 literal)
 *
 * A glob is compared with the host case-insensitively (ASCII); '*' matches
 * any run of characters, dots included, so "*.example.com" matches
 * "www.example.com" but not "example.com", and "10.*" matches "10.1.2.3".
 * An entry with a scheme matches only requests of that scheme; an entry
 * with a port matches only that port (port 0 in a query means the scheme's
 * default). Two IPv6 literals without wildcards match when they are the
 * same address however written ("::1" and "0:0::1"). "<local>" never matches
 * an IP literal, and an empty host matches nothing, not even "*". Entries that cannot match anything (an
 * unknown scheme, a bad port, an empty host) are skipped, never errors.
 *
 * Pure: no allocation, no state; safe from any thread.
 */
#ifndef WH_POLICY_BYPASS_H
#define WH_POLICY_BYPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Request schemes, numbered as INTERNET_SCHEME_* in winhttp.h. */
enum wh_bypass_scheme {
  WH_BYPASS_SCHEME_HTTP = 1,
  WH_BYPASS_SCHEME_HTTPS = 2,
  WH_BYPASS_SCHEME_FTP = 3,
  WH_BYPASS_SCHEME_SOCKS = 4
};

/* The scheme's default port (80, 443, 21, 1080), or 0 for an unknown one. */
uint16_t wh_bypass_default_port(int scheme);

/* True when the |host_len| bytes of |host| (a name, an IPv4 literal or an
 * IPv6 literal with or without brackets; UTF-8) match an entry of the
 * |list_len|-byte bypass |list| for a request of |scheme| to |port| (0: the
 * scheme's default). Neither string needs a NUL. */
bool wh_bypass_match(const char *list, size_t list_len, const char *host, size_t host_len,
                     int scheme, uint16_t port);

#endif
