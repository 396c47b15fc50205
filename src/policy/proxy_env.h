/* The Linux convention for a configured proxy, in Windows' syntax.
 *
 * On Linux a user configures a proxy in the environment: http_proxy,
 * https_proxy and no_proxy, read by curl, wget, Python, Go and most other
 * clients. Windows programs ask WinHTTP instead
 * (WinHttpGetDefaultProxyConfiguration, WinHttpGetIEProxyConfigForCurrentUser)
 * and go direct when it reports nothing. Reporting the variables keeps a
 * ported program on the user's proxy instead of silently bypassing it. This
 * module turns the variables' values into the two WINHTTP_PROXY_INFO
 * strings; the api ring reads the environment and passes the values in.
 *
 * Which variables (curl's rules, applied by the caller): http_proxy in lower
 * case only, because a CGI program gets the request's "Proxy:" header as
 * HTTP_PROXY ("httpoxy", CVE-2016-5385); https_proxy, else HTTPS_PROXY;
 * no_proxy, else NO_PROXY. An empty value means "not set".
 *
 * The proxy list names one server per scheme that has one, in Windows'
 * per-scheme syntax (WINHTTP_PROXY_INFO: "[<scheme>=][<scheme>://]<server>
 * [:<port>]", entries separated by ';'):
 *
 *   http_proxy=http://proxy:3128 https_proxy=proxy:3129
 *       -> "http=proxy:3128;https=proxy:3129"
 *
 * A request whose scheme has no entry goes direct, as curl does when only
 * one of the two variables is set. A proxy value is a URL,
 * [scheme "://"] [userinfo "@"] host [":" port] [path]:
 *   - the proxy's own scheme is kept, lower-cased, unless it is http
 *     ("https=https://proxy:443", "http=socks5://proxy:1080"), so that the
 *     engine can refuse one it cannot speak instead of misusing it;
 *   - the userinfo is dropped: a proxy list has no place for credentials
 *     (WinHTTP takes them through WINHTTP_OPTION_PROXY_USERNAME/PASSWORD),
 *     and applications log these strings;
 *   - the path, query and fragment are ignored, as curl ignores them;
 *   - without a port none is written, and the scheme's default applies
 *     (curl alone would use 1080);
 *   - a value without that shape (an empty or bad host, a port that is not
 *     1..65535, a character that could split the list) is ignored, as if the
 *     variable were not set.
 *
 * The bypass list comes from no_proxy with curl's matching rules
 * (lib/noproxy.c): entries separated by commas or white space, a name
 * matches itself and every subdomain with or without a leading dot, a
 * trailing dot is ignored, IP addresses match exactly or by CIDR prefix, and
 * "*" bypasses every host. Windows' entries are globs matched against the
 * whole host (policy/bypass.h), so each entry becomes:
 *
 *   "*"                                      -> "*" (the whole list)
 *   "example.com", ".example.com", "*.example.com"
 *                                            -> "example.com;*.example.com"
 *   "10.1.2.3"                               -> "10.1.2.3"
 *   "10.0.0.0/8", "172.16.0.0/16", "192.168.1.0/24"
 *                                            -> "10.*", "172.16.*", "192.168.1.*"
 *   "::1", "[::1]"                           -> "[::1]"
 *   "example.com:8080"                       -> "example.com:8080;*.example.com:8080"
 *
 * An entry Windows' syntax cannot express (a CIDR prefix that is not 8, 16,
 * 24 or 32 bits, an IPv6 prefix shorter than 128 bits) or a malformed one is
 * dropped; the proxy is then used for those hosts, which fails visibly
 * rather than sending traffic past the proxy the user configured. The bypass
 * list is only produced together with a proxy list.
 *
 * Pure: no I/O, no locks, no globals; safe from any thread.
 */
#ifndef WH_POLICY_PROXY_ENV_H
#define WH_POLICY_PROXY_ENV_H

#include <winhttp.h>

#include "util/buf.h"

/* The variables' values (NUL-terminated UTF-8), or NULL when unset. */
struct wh_proxy_env {
  const char *http_proxy;
  const char *https_proxy;
  const char *no_proxy;
};

/* Maps |env| onto a proxy list and a bypass list. On success |*proxy| is
 * the proxy list, or NULL when no variable names a usable proxy, and
 * |*bypass| the bypass list, or NULL when there is no proxy list or no
 * usable no_proxy entry; the caller owns both (wh_free). Returns
 * ERROR_SUCCESS, or ERROR_NOT_ENOUGH_MEMORY with both set to NULL. */
DWORD wh_proxy_env_map(const struct wh_proxy_env *env, char **proxy, char **bypass);

/* The two halves of wh_proxy_env_map, for other sources of the same kind of
 * values (the desktop's proxy settings, policy/ie_proxy.h), so that they
 * are judged by the same rules.
 *
 * wh_proxy_env_add_server appends "<key>=<server>" for the proxy URL
 * |value| to |list|, with a ';' first when |list| is not empty. Returns 1
 * when an entry was added, 0 when |value| is NULL, empty or not a proxy URL
 * (|list| unchanged), -1 when out of memory (|list| then holds a partial
 * entry and is to be discarded). */
int wh_proxy_env_add_server(struct wh_buf *list, const char *key, const char *value);

/* The bypass list for |no_proxy| (NUL-terminated, no_proxy's syntax and
 * curl's meaning): *bypass is NULL when no entry is usable; the caller
 * owns it (wh_free). ERROR_SUCCESS, or ERROR_NOT_ENOUGH_MEMORY with
 * *bypass NULL. */
DWORD wh_proxy_env_bypass(const char *no_proxy, char **bypass);

#endif
