/* see bypass.h. IPv6 text forms per RFC 4291 §2.2; bracketed literals per
 * RFC 3986 §3.2.2. */
#include "policy/bypass.h"

#include <string.h>

#include "util/str.h"

uint16_t wh_bypass_default_port(int scheme)
{
  switch (scheme) {
  case WH_BYPASS_SCHEME_HTTP: return 80;
  case WH_BYPASS_SCHEME_HTTPS: return 443;
  case WH_BYPASS_SCHEME_FTP: return 21;
  case WH_BYPASS_SCHEME_SOCKS: return 1080;
  default: return 0;
  }
}

static bool is_sep(char c)
{
  return c == ';' || c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Case-insensitive glob match where '*' matches any run of bytes. The
 * classic backtracking walk: remember the last star and, on a mismatch,
 * let that star swallow one more byte. O(len(p) * len(s)) at worst. */
static bool glob_match(const char *p, size_t plen, const char *s, size_t slen)
{
  size_t pi = 0, si = 0;
  size_t star = (size_t)-1, mark = 0;
  while (si < slen) {
    if (pi < plen && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < plen &&
               wh_to_lower((unsigned char)p[pi]) == wh_to_lower((unsigned char)s[si])) {
      pi++;
      si++;
    } else if (star != (size_t)-1) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < plen && p[pi] == '*')
    pi++;
  return pi == plen;
}

/* Parses a dotted-quad IPv4 address (four decimal parts, each 0..255, at
 * most three digits) into |out|. */
static bool parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= len || s[i] != '.')
        return false;
      i++;
    }
    unsigned v = 0;
    size_t nd = 0;
    while (i < len && wh_is_digit((unsigned char)s[i]) && nd < 3) {
      v = v * 10 + (unsigned)(s[i] - '0');
      i++;
      nd++;
    }
    if (nd == 0 || v > 255)
      return false;
    out[part] = (uint8_t)v;
  }
  return i == len;
}

/* Parses the RFC 4291 §2.2 text forms of an IPv6 address, including "::"
 * compression and a trailing dotted quad, into 16 bytes. Zone identifiers
 * are not accepted. */
static bool parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
  uint8_t head[16], tail[16];
  size_t nhead = 0, ntail = 0;
  bool compressed = false;
  size_t i = 0;

  if (len < 2)
    return false;
  if (s[0] == ':') {
    if (s[1] != ':')
      return false;
    compressed = true;
    i = 2;
  }
  while (i < len) {
    uint8_t *dst = compressed ? tail : head;
    size_t *n = compressed ? &ntail : &nhead;
    /* A trailing dotted quad takes the last 32 bits. */
    size_t j = i;
    while (j < len && s[j] != ':')
      j++;
    if (j == len && memchr(s + i, '.', len - i)) {
      if (*n + 4 > 16 || !parse_ipv4(s + i, len - i, dst + *n))
        return false;
      *n += 4;
      i = len;
      break;
    }
    unsigned v = 0;
    size_t nd = 0;
    while (i < len && wh_is_xdigit((unsigned char)s[i])) {
      if (++nd > 4)
        return false;
      v = v * 16 + (unsigned)wh_hex_value((unsigned char)s[i]);
      i++;
    }
    if (nd == 0 || *n + 2 > 16)
      return false;
    dst[(*n)++] = (uint8_t)(v >> 8);
    dst[(*n)++] = (uint8_t)v;
    if (i == len)
      break;
    if (s[i] != ':')
      return false;
    i++;
    if (i < len && s[i] == ':') {
      if (compressed)
        return false;
      compressed = true;
      i++;
    } else if (i == len) {
      return false; /* a single trailing colon */
    }
  }
  if (compressed) {
    if (nhead + ntail > 14)
      return false;
    memset(out, 0, 16);
    memcpy(out, head, nhead);
    memcpy(out + 16 - ntail, tail, ntail);
  } else {
    if (nhead != 16)
      return false;
    memcpy(out, head, 16);
  }
  return true;
}

static bool has_byte(const char *s, size_t len, char c)
{
  return len > 0 && memchr(s, c, len) != NULL;
}

/* Host patterns and hosts may carry the brackets of a URL authority. */
static void strip_brackets(const char **s, size_t *len)
{
  if (*len >= 2 && (*s)[0] == '[' && (*s)[*len - 1] == ']') {
    (*s)++;
    *len -= 2;
  }
}

static bool scheme_named(const char *s, size_t len, int scheme)
{
  static const char *const names[] = {NULL, "http", "https", "ftp", "socks"};
  if (scheme < 1 || scheme > 4)
    return false;
  return wh_casecmp_eqz(s, len, names[scheme]);
}

/* One entry of the list against a host that has had its brackets removed. */
static bool entry_match(const char *e, size_t elen, const char *host, size_t hlen, int scheme,
                        uint16_t port)
{
  /* "<local>": hosts without a period (WINHTTP_PROXY_INFO). An IPv6 literal
   * has no period either but is an address, not an intranet name. */
  if (wh_casecmp_eqz(e, elen, "<local>"))
    return hlen > 0 && !has_byte(host, hlen, '.') && !has_byte(host, hlen, ':');
  if (elen > 0 && e[0] == '<')
    return false; /* other <...> macros (e.g. <-loopback>) are not hosts */

  /* scheme:// prefix */
  for (size_t i = 0; i + 3 <= elen; i++) {
    if (e[i] == ':' && e[i + 1] == '/' && e[i + 2] == '/') {
      if (!scheme_named(e, i, scheme))
        return false;
      e += i + 3;
      elen -= i + 3;
      break;
    }
    if (!wh_is_alpha((unsigned char)e[i]))
      break;
  }

  /* host and :port. "[v6]:port" is bracketed; an unbracketed pattern with
   * more than one colon is a bare IPv6 literal and has no port. */
  const char *pat = e;
  size_t plen = elen;
  const char *pp = NULL;
  size_t pplen = 0;
  if (elen > 0 && e[0] == '[') {
    const char *close = memchr(e, ']', elen);
    if (!close)
      return false;
    pat = e + 1;
    plen = (size_t)(close - pat);
    size_t rest = elen - (size_t)(close - e) - 1;
    if (rest > 0) {
      if (close[1] != ':')
        return false;
      pp = close + 2;
      pplen = rest - 1;
    }
  } else {
    const char *colon = memchr(e, ':', elen);
    if (colon && !memchr(colon + 1, ':', elen - (size_t)(colon - e) - 1)) {
      plen = (size_t)(colon - e);
      pp = colon + 1;
      pplen = elen - plen - 1;
    }
  }
  if (plen == 0)
    return false;

  /* An empty port ("host:") or "*" means any port. */
  if (pp && pplen > 0 && !(pplen == 1 && pp[0] == '*')) {
    uint64_t want;
    if (!wh_parse_u64(pp, pplen, 65535, &want))
      return false;
    uint16_t have = port ? port : wh_bypass_default_port(scheme);
    if (want != have)
      return false;
  }

  if (!has_byte(pat, plen, '*') && has_byte(pat, plen, ':') && has_byte(host, hlen, ':')) {
    uint8_t a[16], b[16];
    if (parse_ipv6(pat, plen, a) && parse_ipv6(host, hlen, b))
      return memcmp(a, b, 16) == 0;
  }
  return glob_match(pat, plen, host, hlen);
}

bool wh_bypass_match(const char *list, size_t list_len, const char *host, size_t host_len,
                     int scheme, uint16_t port)
{
  strip_brackets(&host, &host_len);
  if (host_len == 0)
    return false; /* nothing to route, so nothing to bypass */
  size_t i = 0;
  while (i < list_len) {
    while (i < list_len && is_sep(list[i]))
      i++;
    size_t start = i;
    while (i < list_len && !is_sep(list[i]))
      i++;
    if (i > start && entry_match(list + start, i - start, host, host_len, scheme, port))
      return true;
  }
  return false;
}
