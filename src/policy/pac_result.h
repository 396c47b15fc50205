/* The answer of a proxy auto-configuration script: the string its
 * FindProxyForURL (or FindProxyForURLEx) returns, and what WinHTTP makes of
 * it.
 *
 * Netscape's PAC format: entries separated by ';', each a keyword and, for a
 * proxy, "host[:port]":
 *
 *   "PROXY a.example:8080; PROXY b.example:8080; DIRECT"
 *
 * Keywords (any case): DIRECT; PROXY and HTTP (an HTTP proxy); HTTPS (an
 * HTTP proxy spoken over TLS); SOCKS, SOCKS4 and SOCKS5. An empty answer
 * means "no proxy" (Netscape: "if the string is null, no proxies should be
 * used"). Entries that do not parse (an unknown keyword, a bad port, a
 * missing host) are skipped.
 *
 * Two readings of one parsed answer:
 *  - the full list, entry by entry, as WinHttpGetProxyResult reports it
 *    (WINHTTP_PROXY_RESULT_ENTRY: a proxy with its scheme, or DIRECT);
 *  - WINHTTP_PROXY_INFO's proxy list, as WinHttpGetProxyForUrl returns it:
 *    the HTTP proxies in order, "a.example:8080;b.example:8080", ending at
 *    the first DIRECT and leaving the other kinds out (what Windows does,
 *    as observed by Chromium's WinHTTP resolver:
 *    net/proxy_resolution/win/proxy_resolver_winhttp.cc), and
 *    likewise the proxies a request goes through (core/route.h).
 *
 * Pure: no allocation, no state; safe from any thread. Fuzzed
 * (fuzz/fuzz_pac_result.c). */
#ifndef WH_POLICY_PAC_RESULT_H
#define WH_POLICY_PAC_RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/proxy_list.h"

enum wh_pac_kind {
  WH_PAC_DIRECT = 0,
  WH_PAC_HTTP,  /* PROXY, HTTP */
  WH_PAC_HTTPS, /* HTTPS: TLS to the proxy itself */
  WH_PAC_SOCKS, /* SOCKS, SOCKS4, SOCKS5 */
};

/* One entry; |host| (without an IPv6 literal's brackets) and |port| are
 * meaningful for proxies only. */
struct wh_pac_entry {
  enum wh_pac_kind kind;
  char host[256];
  unsigned short port;
};

/* At most this many entries of an answer are kept; the rest is ignored. */
#define WH_PAC_MAX_ENTRIES 16

/* Parses the |len| bytes of |s| into |out| (at most |max| entries) and
 * returns how many. An answer that is empty or only white space gives one
 * DIRECT entry. Returns 0 when the answer has text but no entry parses
 * (the script answered something that is not a proxy list). A port left
 * out is the kind's usual one: 80 for PROXY and HTTP, 443 for HTTPS, 1080
 * for SOCKS. A host is a name (letters, digits, '-', '.', '_', UTF-8
 * bytes) or an IPv6 literal in brackets. */
size_t wh_pac_result_parse(const char *s, size_t len, struct wh_pac_entry *out, size_t max);

/* What WinHttpGetProxyForUrl makes of |n| entries. */
enum wh_pac_list_kind {
  WH_PAC_LIST_DIRECT,      /* no HTTP proxy before the end or a DIRECT: NO_PROXY */
  WH_PAC_LIST_PROXIES,     /* |out| holds "host:port;host:port" */
  WH_PAC_LIST_UNSUPPORTED, /* only proxies of other kinds, and no DIRECT */
};

/* Writes the HTTP proxies of |e| that come before the first DIRECT into
 * |out| (|cap| bytes, NUL-terminated; an IPv6 host in brackets), joined
 * with ';', and says what the answer amounts to. Proxies of other kinds
 * are left out: an answer that names only those (and no DIRECT) is
 * WH_PAC_LIST_UNSUPPORTED, since going direct would bypass the proxy the
 * script asked for. |cap| of WH_PAC_MAX_ENTRIES * 264 always suffices. */
enum wh_pac_list_kind wh_pac_to_list(const struct wh_pac_entry *e, size_t n, char *out,
                                     size_t cap);

/* The proxies a request goes through for the |n| entries of |e|: the HTTP
 * proxies before the first DIRECT, in order, into |out| (at most |max|).
 * Returns how many; 0 means direct. An answer with only other kinds of
 * proxies and no DIRECT gives its first one, marked |unsupported|, so that
 * the request fails (ERROR_CALL_NOT_IMPLEMENTED) instead of going around
 * it. */
size_t wh_pac_to_route(const struct wh_pac_entry *e, size_t n, struct wh_proxy_server *out,
                       size_t max);

#endif
