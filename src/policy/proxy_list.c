/* see proxy_list.h */
#include "policy/proxy_list.h"

#include <string.h>

#include "util/str.h"

static bool is_sep(char c)
{
  return c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next entry of list[*i..len): its start and length, 0 at the end. */
static size_t next_entry(const char *list, size_t len, size_t *i, const char **e)
{
  while (*i < len && is_sep(list[*i]))
    (*i)++;
  size_t start = *i;
  while (*i < len && !is_sep(list[*i]))
    (*i)++;
  *e = list + start;
  return *i - start;
}

/* Whether entry |e| serves |scheme|; *server is what follows "scheme=". */
static bool entry_serves(const char *e, size_t elen, const char *scheme, const char **server,
                         size_t *slen)
{
  size_t sl = strlen(scheme);
  /* "scheme=..." only when the '=' comes before any "://" or ':'. */
  const char *eq = memchr(e, '=', elen);
  const char *colon = memchr(e, ':', elen);
  if (!eq || (colon && colon < eq)) {
    *server = e;
    *slen = elen;
    return true; /* serves every scheme */
  }
  if ((size_t)(eq - e) == sl && wh_casecmp_eq(e, sl, scheme, sl) && eq + 1 < e + elen) {
    *server = eq + 1;
    *slen = (size_t)(e + elen - (eq + 1));
    return true;
  }
  return false;
}

size_t wh_proxy_list_pick(const char *list, size_t len, const char *scheme,
                          struct wh_proxy_server *out, size_t max)
{
  size_t n = 0, i = 0;
  while (i < len && n < max) {
    const char *e, *s;
    size_t elen = next_entry(list, len, &i, &e), slen;
    if (elen == 0)
      continue;
    if (!entry_serves(e, elen, scheme, &s, &slen))
      continue;
    const char *sep = slen >= 3 ? memchr(s, ':', slen) : NULL;
    bool unsupported = false;
    if (sep && (size_t)(s + slen - sep) >= 3 && sep[1] == '/' && sep[2] == '/') {
      unsupported = !((size_t)(sep - s) == 4 && wh_casecmp_eq(s, 4, "http", 4));
      slen -= (size_t)(sep + 3 - s); /* "http://server" */
      s = sep + 3;
    }
    while (slen && s[slen - 1] == '/')
      slen--; /* "http://proxy:3128/" */
    const char *host = s, *port = NULL;
    size_t hlen = slen;
    if (slen && s[0] == '[') {
      const char *close = memchr(s, ']', slen);
      if (!close)
        continue;
      host = s + 1;
      hlen = (size_t)(close - host);
      if (close + 1 < s + slen) {
        if (close[1] != ':')
          continue;
        port = close + 2;
      }
    } else {
      const char *c = memchr(s, ':', slen);
      if (c) {
        hlen = (size_t)(c - s);
        port = c + 1;
      }
    }
    unsigned long p = 80;
    if (port) {
      size_t plen = (size_t)(s + slen - port);
      if (plen == 0 || plen > 5)
        continue;
      p = 0;
      for (size_t k = 0; k < plen; k++) {
        if (port[k] < '0' || port[k] > '9') {
          p = 0;
          break;
        }
        p = p * 10 + (unsigned long)(port[k] - '0');
      }
      if (p == 0 || p > 65535)
        continue;
    }
    if (hlen == 0 || hlen >= sizeof(out[n].host))
      continue;
    bool bad = false; /* NUL, controls, "/" or "@" (a path or credentials) */
    for (size_t k = 0; k < hlen; k++)
      if ((unsigned char)host[k] < 0x21 || host[k] == 0x7f || host[k] == '/' || host[k] == '@')
        bad = true;
    if (bad)
      continue;
    memcpy(out[n].host, host, hlen);
    out[n].host[hlen] = '\0';
    out[n].port = (unsigned short)p;
    out[n].unsupported = unsupported;
    n++;
  }
  return n;
}

bool wh_proxy_list_entry(const char *list, size_t len, const char *scheme, const char **server,
                         size_t *slen)
{
  size_t i = 0;
  while (i < len) {
    const char *e;
    size_t elen = next_entry(list, len, &i, &e);
    if (elen && entry_serves(e, elen, scheme, server, slen))
      return true;
  }
  return false;
}

bool wh_proxy_list_serves(const char *list, size_t len, const char *scheme)
{
  size_t slen = strlen(scheme);
  size_t i = 0;
  while (i < len) {
    while (i < len && is_sep(list[i]))
      i++;
    size_t start = i;
    while (i < len && !is_sep(list[i]))
      i++;
    if (i == start)
      continue;
    const char *e = list + start;
    size_t elen = i - start;
    /* "scheme=..." only when the '=' comes before any "://" or ':'. */
    const char *eq = memchr(e, '=', elen);
    const char *colon = memchr(e, ':', elen);
    if (!eq || (colon && colon < eq))
      return true; /* serves every scheme */
    if ((size_t)(eq - e) == slen && wh_casecmp_eq(e, slen, scheme, slen) && eq + 1 < e + elen)
      return true;
  }
  return false;
}
