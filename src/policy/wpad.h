/* Web Proxy Auto-Discovery by DNS: which names to try.
 *
 * A machine in "dept.corp.example.com" looks for its PAC script at
 * http://wpad.dept.corp.example.com/wpad.dat, then
 * http://wpad.corp.example.com/wpad.dat, then
 * http://wpad.example.com/wpad.dat: "wpad." before each suffix of its DNS
 * domain, longest first (Windows' "devolution"). It stops before a public
 * suffix: wpad.com, or wpad.co.uk for a domain under co.uk, would be a
 * stranger's server answering every machine of that suffix (the WPAD
 * name-collision attacks), so the Public Suffix List (libpsl, private
 * suffixes included) decides where an organisation's own domain ends. A
 * single-label domain gives nothing. Without libpsl's built-in list, two
 * labels is the floor, Windows' default devolution level.
 *
 * The domains are the resolver's search list (resolv.conf's "search" or
 * "domain", or LOCALDOMAIN), else the host name's domain: what the caller
 * reads (core/wpad.c) is parsed here.
 *
 * Pure (the Public Suffix List is libpsl's built-in, read-only copy); safe
 * from any thread. */
#ifndef WH_POLICY_WPAD_H
#define WH_POLICY_WPAD_H

#include <stddef.h>

#define WH_WPAD_NAME_MAX 256
/* glibc's limit on the search list (MAXDNSRCH). */
#define WH_WPAD_DOMAINS_MAX 6
#define WH_WPAD_CANDIDATES_MAX 32

/* The search list of resolv.conf text (|len| bytes): the domains of its
 * last "search" or "domain" line, as glibc reads them (comments start with
 * '#' or ';'). Each goes into |out| lower-cased, without a trailing dot;
 * entries that are not DNS names (empty labels, other bytes than letters,
 * digits, '-' and '_', too long) are skipped. Returns how many (at most
 * |max|). */
size_t wh_wpad_search_list(const char *text, size_t len, char (*out)[WH_WPAD_NAME_MAX],
                           size_t max);

/* The same for a list separated by white space (LOCALDOMAIN's value). */
size_t wh_wpad_domain_list(const char *text, size_t len, char (*out)[WH_WPAD_NAME_MAX],
                           size_t max);

/* The WPAD host names for the |n| domains of |domains|, in the order to
 * try them: for each domain, "wpad." before it and before each shorter
 * suffix that still has two labels or more and is not a public suffix.
 * Names already listed are not repeated. Returns how many (at most |max|). */
size_t wh_wpad_candidates(const char (*domains)[WH_WPAD_NAME_MAX], size_t n,
                          char (*out)[WH_WPAD_NAME_MAX + 5], size_t max);

#endif
