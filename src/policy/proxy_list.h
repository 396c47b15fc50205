/* Windows' proxy lists (WINHTTP_PROXY_INFO.lpszProxy): which entry, if any,
 * a request of a given scheme goes through.
 *
 * Microsoft's syntax: entries separated by ';' or white space, each
 * "[<scheme>=][<scheme>://]<server>[:<port>]". An entry with "<scheme>="
 * serves only requests of that scheme ("http=proxy:3128;https=proxy:3129");
 * one without serves every scheme. A request whose scheme no entry serves
 * goes direct.
 *
 * wh_proxy_list_serves answers "is there a proxy for this scheme";
 * wh_proxy_list_pick gives the servers to try, in order (core/route.h).
 *
 * Pure: no allocation, no state; safe from any thread. */
#ifndef WH_POLICY_PROXY_LIST_H
#define WH_POLICY_PROXY_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* True when the |len|-byte |list| has an entry for requests of |scheme|
 * ("http" or "https", lower case). Empty entries are skipped; an entry
 * naming another scheme ("ftp=...") serves only that one. */
bool wh_proxy_list_serves(const char *list, size_t len, const char *scheme);

/* A proxy server: a host name or address (IPv6 without brackets) and a
 * port (80 when the entry gives none, WinHTTP's default). */
struct wh_proxy_server {
  char host[256];
  unsigned short port;
  bool unsupported; /* "socks5://...", "https://...": not an HTTP proxy spoken in clear */
};

/* The servers of the |len|-byte |list| that serve |scheme|, in the list's
 * order, into |out| (at most |max|); returns how many. An entry whose host
 * is empty, too long or holds a control byte, '/' or '@', or whose port is
 * not 1-65535, is skipped. An
 * "http://" before the server is accepted and dropped (these are HTTP
 * proxies). An entry with another scheme ("socks5://", "https://", as the
 * environment may give them: policy/proxy_env.h) is kept in its place with
 * |unsupported| set. */
size_t wh_proxy_list_pick(const char *list, size_t len, const char *scheme,
                          struct wh_proxy_server *out, size_t max);

/* The first entry of the |len|-byte |list| that serves |scheme|, as written
 * after its "scheme=" (for instance "proxy:3128" or "socks://s:1080"):
 * *server points into |list|, *slen is its length. False when no entry
 * serves the scheme. Unlike wh_proxy_list_pick, the text is not judged: it
 * is for reporting a configuration (WINHTTP_PROXY_SETTINGS_EX), not for
 * connecting. */
bool wh_proxy_list_entry(const char *list, size_t len, const char *scheme, const char **server,
                         size_t *slen);

#endif
