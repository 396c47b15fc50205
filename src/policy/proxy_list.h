/* Windows' proxy lists (WINHTTP_PROXY_INFO.lpszProxy): which entry, if any,
 * a request of a given scheme goes through.
 *
 * Microsoft's syntax: entries separated by ';' or white space, each
 * "[<scheme>=][<scheme>://]<server>[:<port>]". An entry with "<scheme>="
 * serves only requests of that scheme ("http=proxy:3128;https=proxy:3129");
 * one without serves every scheme. A request whose scheme no entry serves
 * goes direct.
 *
 * Only the question "is there a proxy for this scheme" is answered here
 * (the engine does not speak to proxies yet: core/route.h); choosing and
 * parsing the server is issue 9's.
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

#endif
