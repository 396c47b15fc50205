/* see proxy_env.h. URL shape per RFC 3986 §3 (scheme §3.1, authority §3.2,
 * IPv6 literals §3.2.2); no_proxy semantics per curl's lib/noproxy.c. */
#include "policy/proxy_env.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"

/* No environment variable comes near this (Linux caps one at 128 KiB); the
 * bound only keeps a hostile value from growing a buffer without limit. */
#define LIST_MAX (1024u * 1024u)

enum put { PUT_NONE, PUT_DONE, PUT_NOMEM };

static bool is_space(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Characters of a host name. Bytes above 0x7F pass: an internationalised
 * name arrives as UTF-8 and is converted to WCHARs as a whole. Everything
 * that separates entries in a Windows list (';', ',', '=', white space) is
 * excluded, so no value can add an entry of its own. */
static bool is_name_char(unsigned char c)
{
  return wh_is_alnum(c) || c == '-' || c == '.' || c == '_' || c >= 0x80;
}

/* The inside of an IPv6 literal: hex digits, ':' and '.' (an embedded IPv4
 * tail). Zone identifiers are not accepted. */
static bool is_ipv6_text(const char *s, size_t n)
{
  bool colon = false;
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == ':')
      colon = true;
    else if (!wh_is_xdigit(c) && c != '.')
      return false;
  }
  return colon;
}

/* A decimal port 1..65535. */
static bool is_port(const char *s, size_t n)
{
  uint64_t v;
  return n <= 5 && wh_parse_u64(s, n, 65535, &v) && v > 0;
}

/* Four dotted decimal octets, each 0..255 in at most three digits. */
static bool parse_ipv4(const char *s, size_t n, unsigned out[4])
{
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= n || s[i] != '.')
        return false;
      i++;
    }
    size_t start = i;
    while (i < n && wh_is_digit((unsigned char)s[i]) && i - start < 3)
      i++;
    uint64_t v;
    if (!wh_parse_u64(s + start, i - start, 255, &v))
      return false;
    out[part] = (unsigned)v;
  }
  return i == n;
}

static bool add(struct wh_buf *b, const char *s, size_t n, enum put *st)
{
  if (*st == PUT_NOMEM)
    return false;
  if (wh_buf_add(b, s, n) != 0) {
    *st = PUT_NOMEM;
    return false;
  }
  return true;
}

/* --- proxy servers --------------------------------------------------------- */

/* Appends "<key>=" and the server named by the proxy URL |value| to |list|
 * (with a ';' first when the list is not empty). PUT_NONE when |value| is
 * NULL, empty or not a proxy URL (see proxy_env.h). */
static enum put put_server(struct wh_buf *list, const char *key, const char *value)
{
  if (!value)
    return PUT_NONE;
  const char *p = value;
  size_t n = strlen(value);
  while (n && is_space((unsigned char)p[0]))
    p++, n--;
  while (n && is_space((unsigned char)p[n - 1]))
    n--;
  if (n == 0)
    return PUT_NONE;

  /* scheme "://": a letter, then letters, digits, '+', '-', '.' (RFC 3986
   * §3.1). Anything else before "://" makes the value malformed. */
  const char *scheme = NULL;
  size_t scheme_len = 0;
  for (size_t i = 0; i + 2 < n; i++) {
    if (p[i] == ':' && p[i + 1] == '/' && p[i + 2] == '/') {
      if (i == 0 || !wh_is_alpha((unsigned char)p[0]))
        return PUT_NONE;
      for (size_t k = 1; k < i; k++) {
        unsigned char c = (unsigned char)p[k];
        if (!wh_is_alnum(c) && c != '+' && c != '-' && c != '.')
          return PUT_NONE;
      }
      scheme = p;
      scheme_len = i;
      p += i + 3;
      n -= i + 3;
      break;
    }
    if (p[i] == '/' || p[i] == '@')
      break;
  }

  /* The authority ends at the path, query or fragment, which are ignored;
   * the userinfo ends at its last '@' and is dropped. */
  size_t auth = 0;
  while (auth < n && p[auth] != '/' && p[auth] != '?' && p[auth] != '#')
    auth++;
  for (size_t i = auth; i > 0; i--) {
    if (p[i - 1] == '@') {
      p += i;
      auth -= i;
      break;
    }
  }

  size_t host_len;
  if (auth > 0 && p[0] == '[') {
    const char *close = memchr(p, ']', auth);
    if (!close || !is_ipv6_text(p + 1, (size_t)(close - p) - 1))
      return PUT_NONE;
    host_len = (size_t)(close - p) + 1;
  } else {
    host_len = 0;
    while (host_len < auth && p[host_len] != ':') {
      if (!is_name_char((unsigned char)p[host_len]))
        return PUT_NONE;
      host_len++;
    }
    if (host_len == 0)
      return PUT_NONE;
  }
  const char *port = NULL;
  size_t port_len = 0;
  if (host_len < auth) {
    if (p[host_len] != ':')
      return PUT_NONE;
    port = p + host_len + 1;
    port_len = auth - host_len - 1;
    /* "host:" is "host" (RFC 3986 §3.2.3: an empty port is the default). */
    if (port_len && !is_port(port, port_len))
      return PUT_NONE;
  }

  enum put st = PUT_DONE;
  if (list->len)
    add(list, ";", 1, &st);
  add(list, key, strlen(key), &st);
  add(list, "=", 1, &st);
  if (scheme && !wh_casecmp_eqz(scheme, scheme_len, "http")) {
    for (size_t i = 0; i < scheme_len; i++) {
      char c = (char)wh_to_lower((unsigned char)scheme[i]);
      add(list, &c, 1, &st);
    }
    add(list, "://", 3, &st);
  }
  add(list, p, host_len, &st);
  if (port_len) {
    add(list, ":", 1, &st);
    add(list, port, port_len, &st);
  }
  return st;
}

/* --- no_proxy -------------------------------------------------------------- */

/* Appends one bypass entry: |host| then |port| (":digits" or empty). */
static void put_entry(struct wh_buf *b, const char *host, size_t host_len, const char *port,
                      size_t port_len, enum put *st)
{
  if (b->len)
    add(b, ";", 1, st);
  add(b, host, host_len, st);
  add(b, port, port_len, st);
}

/* An IPv6 no_proxy entry, bracketed or bare, with an optional "/bits":
 * only a full-length prefix (an exact address) can be written. */
static void put_ipv6(struct wh_buf *b, const char *addr, size_t n, const char *port,
                     size_t port_len, enum put *st)
{
  const char *slash = memchr(addr, '/', n);
  if (slash) {
    size_t bits_len = n - (size_t)(slash - addr) - 1;
    uint64_t bits;
    if (!wh_parse_u64(slash + 1, bits_len, 128, &bits) || bits != 128)
      return;
    n = (size_t)(slash - addr);
  }
  if (!is_ipv6_text(addr, n))
    return;
  if (b->len)
    add(b, ";", 1, st);
  add(b, "[", 1, st);
  add(b, addr, n, st);
  add(b, "]", 1, st);
  add(b, port, port_len, st);
}

/* Appends the Windows entries for one no_proxy token (see proxy_env.h);
 * nothing for a token that cannot be expressed or is malformed. */
static void put_token(struct wh_buf *b, const char *t, size_t n, enum put *st)
{
  const char *port = "";
  size_t port_len = 0;

  if (t[0] == '[') {
    const char *close = memchr(t, ']', n);
    if (!close)
      return;
    size_t rest = n - (size_t)(close - t) - 1;
    if (rest) {
      if (close[1] != ':' || !is_port(close + 2, rest - 1))
        return;
      port = close + 1;
      port_len = rest;
    }
    put_ipv6(b, t + 1, (size_t)(close - t) - 1, port, port_len, st);
    return;
  }
  size_t colons = 0;
  for (size_t i = 0; i < n; i++)
    colons += t[i] == ':';
  if (colons >= 2) {
    put_ipv6(b, t, n, "", 0, st);
    return;
  }
  if (colons == 1) {
    const char *colon = memchr(t, ':', n);
    port_len = n - (size_t)(colon - t);
    if (!is_port(colon + 1, port_len - 1))
      return;
    port = colon;
    n = (size_t)(colon - t);
  }
  /* curl ignores one trailing dot ("example.com." is "example.com"). */
  if (n && t[n - 1] == '.')
    n--;

  unsigned ip[4];
  const char *slash = memchr(t, '/', n);
  if (slash) {
    uint64_t bits;
    size_t bits_len = n - (size_t)(slash - t) - 1;
    if (!parse_ipv4(t, (size_t)(slash - t), ip) || !wh_parse_u64(slash + 1, bits_len, 32, &bits))
      return;
    if (bits == 0 || bits % 8 != 0)
      return; /* no glob expresses it */
    /* The network's leading octets, then "*" for the host part. */
    char glob[20];
    size_t g = 0;
    for (unsigned i = 0; i < (unsigned)bits / 8; i++) {
      unsigned v = ip[i];
      if (i)
        glob[g++] = '.';
      if (v >= 100)
        glob[g++] = (char)('0' + v / 100);
      if (v >= 10)
        glob[g++] = (char)('0' + v / 10 % 10);
      glob[g++] = (char)('0' + v % 10);
    }
    if (bits < 32) {
      glob[g++] = '.';
      glob[g++] = '*';
    }
    put_entry(b, glob, g, port, port_len, st);
    return;
  }
  if (parse_ipv4(t, n, ip)) {
    put_entry(b, t, n, port, port_len, st);
    return;
  }

  /* A name. "*.example.com" is taken as ".example.com", which curl reads as
   * "example.com": the name and all its subdomains. */
  if (n >= 2 && t[0] == '*' && t[1] == '.')
    t++, n--;
  if (n && t[0] == '.')
    t++, n--;
  if (n == 0)
    return;
  bool glob = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)t[i];
    if (c == '*')
      glob = true;
    else if (!is_name_char(c))
      return;
  }
  put_entry(b, t, n, port, port_len, st);
  /* An entry with its own wildcards is already a Windows glob; a plain name
   * also needs the glob for its subdomains. */
  if (!glob) {
    add(b, ";*.", 3, st);
    add(b, t, n, st);
    add(b, port, port_len, st);
  }
}

static bool is_list_sep(unsigned char c)
{
  return c == ',' || c == ';' || is_space(c);
}

/* Fills |b| with the bypass list for |no_proxy| (may stay empty). */
static enum put put_bypass(struct wh_buf *b, const char *no_proxy)
{
  enum put st = PUT_DONE;
  if (!no_proxy)
    return st;
  for (const char *p = no_proxy; *p && st != PUT_NOMEM;) {
    while (*p && is_list_sep((unsigned char)*p))
      p++;
    const char *t = p;
    while (*p && !is_list_sep((unsigned char)*p))
      p++;
    size_t n = (size_t)(p - t);
    if (n == 0)
      break;
    /* "*" bypasses everything: the rest of the list adds nothing. curl
     * honours it only as the whole value; one entry among others means the
     * same to Windows, and to Go and Python. */
    if (n == 1 && t[0] == '*') {
      wh_buf_reset(b);
      return add(b, "*", 1, &st) ? PUT_DONE : PUT_NOMEM;
    }
    put_token(b, t, n, &st);
  }
  return st;
}

/* --- both ------------------------------------------------------------------- */

DWORD wh_proxy_env_map(const struct wh_proxy_env *env, char **proxy, char **bypass)
{
  char *p = NULL, *s = NULL;
  struct wh_buf list, skip;
  wh_buf_init(&list, LIST_MAX);
  wh_buf_init(&skip, LIST_MAX);
  *proxy = NULL;
  *bypass = NULL;
  if (put_server(&list, "http", env->http_proxy) == PUT_NOMEM ||
      put_server(&list, "https", env->https_proxy) == PUT_NOMEM)
    goto nomem;
  if (list.len == 0)
    goto out; /* no proxy: the bypass list means nothing */
  if (put_bypass(&skip, env->no_proxy) == PUT_NOMEM)
    goto nomem;
  if (!(p = wh_buf_take(&list, NULL)))
    goto nomem;
  if (skip.len && !(s = wh_buf_take(&skip, NULL)))
    goto nomem;
  *proxy = p;
  *bypass = s;
out:
  wh_buf_free(&list);
  wh_buf_free(&skip);
  return ERROR_SUCCESS;

nomem:
  wh_free(p);
  wh_buf_free(&list);
  wh_buf_free(&skip);
  return ERROR_NOT_ENOUGH_MEMORY;
}

/* --- the halves, for other sources ------------------------------------------ */

int wh_proxy_env_add_server(struct wh_buf *list, const char *key, const char *value)
{
  switch (put_server(list, key, value)) {
  case PUT_DONE: return 1;
  case PUT_NOMEM: return -1;
  default: return 0;
  }
}

DWORD wh_proxy_env_bypass(const char *no_proxy, char **bypass)
{
  struct wh_buf skip;
  wh_buf_init(&skip, LIST_MAX);
  *bypass = NULL;
  DWORD err = ERROR_SUCCESS;
  if (put_bypass(&skip, no_proxy) == PUT_NOMEM)
    err = ERROR_NOT_ENOUGH_MEMORY;
  else if (skip.len && !(*bypass = wh_buf_take(&skip, NULL)))
    err = ERROR_NOT_ENOUGH_MEMORY;
  wh_buf_free(&skip);
  return err;
}
