/* libFuzzer target for Windows' proxy lists and bypass lists
 * (policy/proxy_list.c, policy/bypass.c): the strings applications and the
 * environment hand to the router (core/route.c).
 *
 * Input: "LIST '\n' HOST '\n' rest": the first two lines, when present,
 * are a proxy list (also used as a bypass list) and a host name; any byte
 * but '\n' may appear in them.
 *
 * Invariants checked: no crash or leak (ASan/UBSan); wh_proxy_list_pick
 * returns at most |max| servers, each a NUL-terminated non-empty host under
 * 256 bytes with no separator or NUL inside and a port 1-65535, and finds
 * one exactly when wh_proxy_list_serves says the scheme is served (unless
 * every serving entry was malformed); the answer does not change with
 * |max| beyond its count (a prefix of the full answer). */
#include "fuzz_common.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/bypass.h"
#include "policy/proxy_list.h"

#define MAX 4

static void check_servers(const struct wh_proxy_server *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    const char *end = memchr(s[i].host, '\0', sizeof(s[i].host));
    if (!end || end == s[i].host)
      abort(); /* not terminated inside the field, or empty */
    size_t len = (size_t)(end - s[i].host);
    for (size_t k = 0; k < len; k++)
      if (s[i].host[k] == ';' || s[i].host[k] == ' ' || s[i].host[k] == '\t' ||
          s[i].host[k] == '\r' || s[i].host[k] == '\n')
        abort();
    if (s[i].port == 0)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *p = (const char *)data;
  const char *nl = memchr(p, '\n', size);
  size_t list_len = nl ? (size_t)(nl - p) : size;
  const char *host = nl ? nl + 1 : p + size;
  size_t rest = nl ? size - list_len - 1 : 0;
  const char *nl2 = memchr(host, '\n', rest);
  size_t host_len = nl2 ? (size_t)(nl2 - host) : rest;

  static const char *const schemes[] = {"http", "https"};
  for (int k = 0; k < 2; k++) {
    struct wh_proxy_server all[MAX], few[2];
    size_t n = wh_proxy_list_pick(p, list_len, schemes[k], all, MAX);
    if (n > MAX)
      abort();
    check_servers(all, n);
    if (n && !wh_proxy_list_serves(p, list_len, schemes[k]))
      abort(); /* a server for a scheme the list does not serve */
    size_t m = wh_proxy_list_pick(p, list_len, schemes[k], few, 2);
    if (m != (n < 2 ? n : 2))
      abort();
    for (size_t i = 0; i < m; i++)
      if (strcmp(few[i].host, all[i].host) != 0 || few[i].port != all[i].port ||
          few[i].unsupported != all[i].unsupported)
        abort();
    /* The same string as a bypass list, for the host given. */
    (void)wh_bypass_match(p, list_len, host, host_len,
                          k ? WH_BYPASS_SCHEME_HTTPS : WH_BYPASS_SCHEME_HTTP, k ? 443 : 80);
  }
  return 0;
}
