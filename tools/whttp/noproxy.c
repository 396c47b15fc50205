/* whttp --noproxy: curl's list of hosts that bypass the proxy, written in
 * WinHTTP's bypass-list syntax for the session's named proxy (-x).
 *
 * curl's meaning (CURLOPT_NOPROXY): entries separated by commas; a lone
 * "*" matches every host; a name matches itself and every name below it
 * ("ample.com" matches www.ample.com, not example.com); a leading dot is
 * the same name; IPv6 addresses are written without brackets; IPv4
 * addresses may carry a CIDR prefix ("192.168.0.0/16").
 *
 * WinHTTP's bypass list: entries separated by ';', '*' a wildcard, IPv6
 * addresses in brackets. So "ample.com" becomes "ample.com;*.ample.com",
 * "::1" becomes "[::1]", and prefixes of 8, 16, 24 and 32 bits become
 * "10.*"-style globs. What a bypass list cannot say (other prefixes, IPv6
 * prefixes, curl's lack of wildcards inside names) is refused rather than
 * approximated: a host that silently went through the proxy, or around it,
 * would be worse than an error. */
#include <stdlib.h>
#include <string.h>

#include "whttp.h"

struct out {
  char *s;
  size_t n, cap;
  bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
  if (o->failed)
    return;
  if (o->n + n + 1 > o->cap) {
    size_t cap = (o->n + n + 1) * 2;
    char *b = realloc(o->s, cap);
    if (!b) {
      o->failed = true;
      return;
    }
    o->s = b;
    o->cap = cap;
  }
  memcpy(o->s + o->n, s, n);
  o->n += n;
  o->s[o->n] = '\0';
}

static void put_entry(struct out *o, const char *s, size_t n)
{
  if (o->n)
    put(o, ";", 1);
  put(o, s, n);
}

static bool all_of(const char *s, size_t n, const char *set)
{
  for (size_t i = 0; i < n; i++)
    if (!strchr(set, s[i]))
      return false;
  return n > 0;
}

/* An IPv4 address "a.b.c.d" with each part 0-255: its parts in |part|. */
static bool ipv4(const char *s, size_t n, unsigned part[4])
{
  unsigned k = 0, v = 0, digits = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      if (digits == 0 || k == 4)
        return false;
      part[k++] = v;
      v = digits = 0;
    } else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
      v = v * 10 + (unsigned)(s[i] - '0');
      digits++;
      if (v > 255)
        return false;
    } else {
      return false;
    }
  }
  return k == 4;
}

/* One entry (trimmed, not empty). Returns false when it cannot be said. */
static bool map_entry(struct out *o, const char *e, size_t n)
{
  if (n == 1 && e[0] == '*') {
    put_entry(o, "*", 1);
    return true;
  }
  const char *slash = memchr(e, '/', n);
  unsigned p[4];
  if (slash) {
    size_t alen = (size_t)(slash - e), blen = n - alen - 1;
    if (!ipv4(e, alen, p) || !all_of(slash + 1, blen, "0123456789") || blen > 2)
      return false;
    int bits = atoi(slash + 1);
    char glob[32];
    int w;
    switch (bits) {
    case 8: w = snprintf(glob, sizeof(glob), "%u.*", p[0]); break;
    case 16: w = snprintf(glob, sizeof(glob), "%u.%u.*", p[0], p[1]); break;
    case 24: w = snprintf(glob, sizeof(glob), "%u.%u.%u.*", p[0], p[1], p[2]); break;
    case 32: w = snprintf(glob, sizeof(glob), "%u.%u.%u.%u", p[0], p[1], p[2], p[3]); break;
    default: return false; /* a bypass list's globs cannot say it */
    }
    put_entry(o, glob, (size_t)w);
    return true;
  }
  if (ipv4(e, n, p)) {
    put_entry(o, e, n);
    return true;
  }
  if (memchr(e, ':', n)) {
    /* An IPv6 address (curl takes them without brackets). */
    if (!all_of(e, n, "0123456789abcdefABCDEF:."))
      return false;
    put_entry(o, "[", 1);
    put(o, e, n);
    put(o, "]", 1);
    return true;
  }
  if (e[0] == '.') {
    e++;
    n--;
  }
  /* A host name: letters, digits, '-', '.', '_' (no wildcard, nothing the
   * bypass list would read as syntax). */
  if (!all_of(e, n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"))
    return false;
  put_entry(o, e, n);
  put(o, ";*.", 3);
  put(o, e, n);
  return true;
}

int whttp_noproxy_bypass(const char *list, char **out, char **bad)
{
  struct out o = {0};
  *out = NULL;
  *bad = NULL;
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *e = p;
    while (n && (*e == ' ' || *e == '\t')) {
      e++;
      n--;
    }
    while (n && (e[n - 1] == ' ' || e[n - 1] == '\t'))
      n--;
    if (n && !map_entry(&o, e, n)) {
      free(o.s);
      *bad = malloc(n + 1);
      if (!*bad)
        return WX_MEMORY;
      memcpy(*bad, e, n);
      (*bad)[n] = '\0';
      return WX_USAGE;
    }
    if (!end)
      break;
    p = end + 1;
  }
  if (o.failed) {
    free(o.s);
    return WX_MEMORY;
  }
  *out = o.s; /* NULL for an empty list: no bypass, as curl's "" */
  return 0;
}
