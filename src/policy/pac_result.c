/* see pac_result.h */
#include "policy/pac_result.h"

#include <stdio.h>
#include <string.h>

#include "util/str.h"

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static void trim(const char **p, size_t *len)
{
  while (*len && is_space(**p)) {
    (*p)++;
    (*len)--;
  }
  while (*len && is_space((*p)[*len - 1]))
    (*len)--;
}

/* The keyword at the start of an entry, or -1. */
static int keyword(const char *w, size_t n)
{
  static const struct {
    const char *name;
    enum wh_pac_kind kind;
  } words[] = {
      {"DIRECT", WH_PAC_DIRECT}, {"PROXY", WH_PAC_HTTP},   {"HTTP", WH_PAC_HTTP},
      {"HTTPS", WH_PAC_HTTPS},   {"SOCKS", WH_PAC_SOCKS},  {"SOCKS4", WH_PAC_SOCKS},
      {"SOCKS5", WH_PAC_SOCKS},
  };
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (wh_casecmp_eqz(w, n, words[i].name))
      return (int)words[i].kind;
  return -1;
}

static unsigned short default_port(enum wh_pac_kind k)
{
  return k == WH_PAC_HTTPS ? 443 : k == WH_PAC_SOCKS ? 1080 : 80;
}

/* "host[:port]" or "[v6][:port]" into |e|; false when it does not parse. */
static bool parse_server(const char *s, size_t n, struct wh_pac_entry *e)
{
  const char *host = s, *port = NULL;
  size_t hlen = n;
  if (n && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close)
      return false;
    host = s + 1;
    hlen = (size_t)(close - host);
    if (close + 1 < s + n) {
      if (close[1] != ':')
        return false;
      port = close + 2;
    }
    /* Inside the brackets, only what an IPv6 literal holds. */
    for (size_t k = 0; k < hlen; k++)
      if (!wh_is_xdigit(host[k]) && host[k] != ':' && host[k] != '.')
        return false;
  } else {
    const char *c = memchr(s, ':', n);
    if (c) {
      hlen = (size_t)(c - s);
      port = c + 1;
    }
    /* A host name: letters, digits, '-', '.', '_', and UTF-8 bytes (an
     * internationalised name). Anything else could mean something else
     * once written into a proxy list ("=" makes "scheme=server"; found by
     * fuzz/fuzz_pac_result.c). */
    for (size_t k = 0; k < hlen; k++) {
      unsigned char ch = (unsigned char)host[k];
      if (!wh_is_alnum(ch) && ch != '-' && ch != '.' && ch != '_' && ch < 0x80)
        return false;
    }
  }
  if (hlen == 0 || hlen >= sizeof(e->host))
    return false;
  unsigned long p = default_port(e->kind);
  if (port) {
    size_t plen = (size_t)(s + n - port);
    if (plen == 0 || plen > 5)
      return false;
    p = 0;
    for (size_t k = 0; k < plen; k++) {
      if (!wh_is_digit(port[k]))
        return false;
      p = p * 10 + (unsigned long)(port[k] - '0');
    }
    if (p == 0 || p > 65535)
      return false;
  }
  memcpy(e->host, host, hlen);
  e->host[hlen] = '\0';
  e->port = (unsigned short)p;
  return true;
}

/* One entry, trimmed: "KEYWORD" or "KEYWORD server". */
static bool parse_entry(const char *s, size_t n, struct wh_pac_entry *e)
{
  size_t w = 0;
  while (w < n && !is_space(s[w]))
    w++;
  int k = keyword(s, w);
  if (k < 0)
    return false;
  e->kind = (enum wh_pac_kind)k;
  const char *rest = s + w;
  size_t rlen = n - w;
  trim(&rest, &rlen);
  if (e->kind == WH_PAC_DIRECT) {
    e->host[0] = '\0';
    e->port = 0;
    return rlen == 0;
  }
  return parse_server(rest, rlen, e);
}

size_t wh_pac_result_parse(const char *s, size_t len, struct wh_pac_entry *out, size_t max)
{
  const char *all = s;
  size_t all_len = len;
  trim(&all, &all_len);
  if (all_len == 0) {
    if (max == 0)
      return 0;
    memset(&out[0], 0, sizeof(out[0]));
    out[0].kind = WH_PAC_DIRECT;
    return 1;
  }
  size_t n = 0, i = 0;
  while (i < all_len && n < max) {
    size_t start = i;
    while (i < all_len && all[i] != ';')
      i++;
    const char *e = all + start;
    size_t elen = i - start;
    i++; /* the ';' */
    trim(&e, &elen);
    if (elen && parse_entry(e, elen, &out[n]))
      n++;
  }
  return n;
}

enum wh_pac_list_kind wh_pac_to_list(const struct wh_pac_entry *e, size_t n, char *out,
                                     size_t cap)
{
  size_t used = 0;
  bool any = false, other = false, direct = false;
  if (cap)
    out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (e[i].kind == WH_PAC_DIRECT) {
      direct = true;
      break;
    }
    if (e[i].kind != WH_PAC_HTTP) {
      other = true;
      continue;
    }
    bool v6 = strchr(e[i].host, ':') != NULL;
    int w = snprintf(out + used, cap - used, "%s%s%s%s:%u", any ? ";" : "", v6 ? "[" : "",
                     e[i].host, v6 ? "]" : "", (unsigned)e[i].port);
    if (w < 0 || (size_t)w >= cap - used) {
      if (cap)
        out[used] = '\0'; /* no room: the entries that fit */
      break;
    }
    used += (size_t)w;
    any = true;
  }
  if (any)
    return WH_PAC_LIST_PROXIES;
  return other && !direct ? WH_PAC_LIST_UNSUPPORTED : WH_PAC_LIST_DIRECT;
}

size_t wh_pac_to_route(const struct wh_pac_entry *e, size_t n, struct wh_proxy_server *out,
                       size_t max)
{
  size_t k = 0;
  const struct wh_pac_entry *first_other = NULL;
  bool direct = false;
  for (size_t i = 0; i < n && k < max; i++) {
    if (e[i].kind == WH_PAC_DIRECT) {
      direct = true;
      break;
    }
    if (e[i].kind != WH_PAC_HTTP) {
      if (!first_other)
        first_other = &e[i];
      continue;
    }
    memcpy(out[k].host, e[i].host, sizeof(out[k].host));
    out[k].port = e[i].port;
    out[k].unsupported = false;
    k++;
  }
  if (k == 0 && first_other && !direct && max) {
    memcpy(out[0].host, first_other->host, sizeof(out[0].host));
    out[0].port = first_other->port;
    out[0].unsupported = true;
    k = 1;
  }
  return k;
}
