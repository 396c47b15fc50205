/* libFuzzer target for PAC answers (policy/pac_result.c): the string a
 * downloaded, untrusted script returns from FindProxyForURL, and the
 * library's readings of it (WinHttpGetProxyForUrl's list, a request's
 * route).
 *
 * Input: the answer, any bytes.
 *
 * Invariants checked: no crash or leak (ASan/UBSan); at most |max| entries,
 * and with a smaller |max| a prefix of the same entries; every proxy entry
 * has a NUL-terminated, non-empty host of name characters (or an IPv6
 * literal's), and a port 1-65535; DIRECT has neither; the
 * proxy list, read back by the proxy-list parser (policy/proxy_list.c),
 * gives exactly the HTTP proxies before the first DIRECT, in order; the
 * route agrees with the list. */
#include "fuzz_common.h"

#include <stdbool.h>

#include "policy/pac_result.h"
#include "policy/proxy_list.h"

static void check_entry(const struct wh_pac_entry *e)
{
  const char *end = memchr(e->host, '\0', sizeof(e->host));
  FUZZ_ASSERT(end);
  size_t len = (size_t)(end - e->host);
  if (e->kind == WH_PAC_DIRECT) {
    FUZZ_ASSERT(len == 0 && e->port == 0);
    return;
  }
  FUZZ_ASSERT(e->kind == WH_PAC_HTTP || e->kind == WH_PAC_HTTPS || e->kind == WH_PAC_SOCKS);
  FUZZ_ASSERT(len > 0 && e->port != 0);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)e->host[i];
    FUZZ_ASSERT((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == ':' || c >= 0x80);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  struct wh_pac_entry e[WH_PAC_MAX_ENTRIES], few[3];
  size_t n = wh_pac_result_parse(s, size, e, WH_PAC_MAX_ENTRIES);
  FUZZ_ASSERT(n <= WH_PAC_MAX_ENTRIES);
  for (size_t i = 0; i < n; i++)
    check_entry(&e[i]);
  size_t m = wh_pac_result_parse(s, size, few, 3);
  FUZZ_ASSERT(m == (n < 3 ? n : 3));
  for (size_t i = 0; i < m; i++)
    FUZZ_ASSERT(memcmp(&few[i].kind, &e[i].kind, sizeof(e[i].kind)) == 0 &&
                strcmp(few[i].host, e[i].host) == 0 && few[i].port == e[i].port);

  char list[WH_PAC_MAX_ENTRIES * 264];
  enum wh_pac_list_kind k = wh_pac_to_list(e, n, list, sizeof(list));
  /* The HTTP proxies before the first DIRECT. */
  size_t want = 0;
  const struct wh_pac_entry *http[WH_PAC_MAX_ENTRIES];
  bool other = false, direct = false;
  for (size_t i = 0; i < n; i++) {
    if (e[i].kind == WH_PAC_DIRECT) {
      direct = true;
      break;
    }
    if (e[i].kind == WH_PAC_HTTP)
      http[want++] = &e[i];
    else
      other = true;
  }
  FUZZ_ASSERT(k == (want ? WH_PAC_LIST_PROXIES
                         : other && !direct ? WH_PAC_LIST_UNSUPPORTED : WH_PAC_LIST_DIRECT));
  if (want) {
    struct wh_proxy_server back[WH_PAC_MAX_ENTRIES];
    size_t b = wh_proxy_list_pick(list, strlen(list), "http", back, WH_PAC_MAX_ENTRIES);
    FUZZ_ASSERT(b == want);
    for (size_t i = 0; i < b; i++)
      FUZZ_ASSERT(strcmp(back[i].host, http[i]->host) == 0 && back[i].port == http[i]->port &&
                  !back[i].unsupported);
  }
  struct wh_proxy_server via[4];
  size_t r = wh_pac_to_route(e, n, via, 4);
  if (want)
    FUZZ_ASSERT(r == (want < 4 ? want : 4) && !via[0].unsupported);
  else
    FUZZ_ASSERT(k == WH_PAC_LIST_UNSUPPORTED ? r == 1 && via[0].unsupported : r == 0);
  return 0;
}
