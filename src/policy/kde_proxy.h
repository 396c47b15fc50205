/* KDE's proxy settings (policy/kioslaverc.h) as Windows' current-user
 * settings (policy/ie_proxy.h), following what KIO does with them
 * (KProtocolManager):
 *
 *   ProxyType 0  no proxy: nothing (the caller then falls back to the
 *                environment). Any unknown type is the same.
 *   ProxyType 1  manual: httpProxy, httpsProxy, ftpProxy, socksProxy as
 *                the proxy list. KDE writes "URL PORT" with a space
 *                ("http://proxy.example 8080"); KIO turns a last space
 *                followed by digits into ':' and discards a value whose
 *                text after its last space is not digits; so does this.
 *                "host:port" (older KDE) is taken as is. An https request
 *                does not use httpProxy (KIO does not). A SOCKS proxy
 *                serves the schemes without their own (KIO tries it after
 *                the scheme's own proxy; Windows' list cannot say "after",
 *                so a scheme with its own proxy does not get it).
 *                NoProxyFor becomes the bypass list. With
 *                ReversedException, NoProxyFor lists the only hosts that
 *                use the proxy, which Windows' bypass list cannot say:
 *                the list is dropped and every host uses the proxy
 *                (failing visibly rather than leaking past it).
 *   ProxyType 2  "Proxy Config Script" as the PAC URL.
 *   ProxyType 3  WPAD: fAutoDetect.
 *   ProxyType 4  the environment: each of httpProxy ... socksProxy and
 *                NoProxyFor holds the NAME of an environment variable
 *                (or several, comma-separated; the first one set counts),
 *                whose value is used as in type 1 (without the space
 *                rule). HTTP_PROXY is not read in a CGI program
 *                (GATEWAY_INTERFACE set): there it holds the request's
 *                "Proxy:" header ("httpoxy"), as curl knows.
 *
 * Pure: the environment is read through |env| (secure_getenv in the
 * library, a table in the tests). */
#ifndef WH_POLICY_KDE_PROXY_H
#define WH_POLICY_KDE_PROXY_H

#include "policy/ie_proxy.h"
#include "policy/kioslaverc.h"

/* The value of the environment variable |name|, or NULL. */
typedef const char *(*wh_kde_getenv_fn)(const char *name, void *ctx);

/* Fills |out| (which must be clear) from |s|. ERROR_SUCCESS, or
 * ERROR_NOT_ENOUGH_MEMORY with |out| clear. */
DWORD wh_kde_proxy_map(const struct wh_kde_settings *s, wh_kde_getenv_fn env, void *ctx,
                       struct wh_ie_proxy *out);

#endif
