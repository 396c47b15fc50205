/* see cookie.h. RFC 6265 (HTTP State Management Mechanism) §5.1-§5.4 and
 * §6.1, with the RFC 6265bis (draft-ietf-httpbis-rfc6265bis) additions the
 * header lists: control characters, Secure-from-secure-only, "leave secure
 * cookies alone", cookie-name prefixes and the attribute length limit. */
#include "policy/cookie.h"

#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#include "policy/date.h"
#include "util/mem.h"
#include "util/str.h"

/* ---- small helpers ------------------------------------------------------ */

/* RFC 6265bis §5.6 step 1: a set-cookie-string holding %x00-08 / %x0A-1F /
 * %x7F is ignored entirely. This also keeps CR, LF and NUL out of every
 * header we build. */
static bool is_bad_ctl(unsigned char c)
{
  return c <= 0x08 || (c >= 0x0a && c <= 0x1f) || c == 0x7f;
}

/* RFC 5234 WSP (SP / HTAB), the whitespace RFC 6265 §5.2 trims. */
static void trim_wsp(const char **p, size_t *len) { wh_trim_ows(p, len); }

static bool starts_with_ci(const char *s, size_t len, const char *prefix)
{
  size_t n = strlen(prefix);
  return len >= n && wh_casecmp_eq(s, n, prefix, n);
}

/* An IP literal, for RFC 6265 §5.1.3 ("the string is a host name (i.e.,
 * not an IP address)"): anything with a ':' (IPv6; brackets are stripped
 * before we get here) or made of digits and dots only (IPv4 in dotted
 * form). */
static bool is_ip_literal(const char *s, size_t len)
{
  bool digit = false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == ':')
      return true;
    if (wh_is_digit((unsigned char)s[i]))
      digit = true;
    else if (s[i] != '.')
      return false;
  }
  return digit;
}

/* Canonicalises a request host (RFC 6265 §5.1.2, ASCII part): strips IPv6
 * brackets and lower-cases into |buf| (WH_COOKIE_MAX_HOST + 1 bytes).
 * Returns false for an empty or over-long host. */
static bool canon_host(const char *host, char *buf, size_t *len)
{
  if (!host)
    return false;
  size_t n = strlen(host);
  const char *p = host;
  if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
    p++;
    n -= 2;
  }
  if (n == 0 || n > WH_COOKIE_MAX_HOST)
    return false;
  for (size_t i = 0; i < n; i++)
    buf[i] = (char)wh_to_lower((unsigned char)p[i]);
  buf[n] = '\0';
  *len = n;
  return true;
}

/* RFC 6265 §5.1.3 domain-match: |str| (lower case) domain-matches |dom|
 * (lower case) when they are identical, or when |dom| is a suffix of |str|
 * preceded in |str| by a '.' and |str| is a host name, not an IP. */
static bool domain_match(const char *str, size_t slen, const char *dom, size_t dlen)
{
  if (slen == dlen)
    return memcmp(str, dom, slen) == 0;
  if (dlen == 0 || dlen > slen)
    return false;
  if (str[slen - dlen - 1] != '.' || memcmp(str + slen - dlen, dom, dlen) != 0)
    return false;
  return !is_ip_literal(str, slen);
}

/* RFC 6265 §5.1.4 path-match: the request path |req| path-matches the
 * cookie path |cp| when they are identical, or |cp| is a prefix of |req|
 * and either ends in '/' or is followed in |req| by '/'. */
static bool path_match(const char *req, size_t rlen, const char *cp, size_t clen)
{
  if (clen > rlen || memcmp(req, cp, clen) != 0)
    return false;
  if (clen == rlen)
    return true;
  return (clen > 0 && cp[clen - 1] == '/') || req[clen] == '/';
}

/* The path part of a request-target: up to the first '?' or '#'; "/" for
 * NULL or empty. */
static void req_path_of(const char *path, const char **p, size_t *len)
{
  if (!path || !*path || *path == '?' || *path == '#') {
    *p = "/";
    *len = 1;
    return;
  }
  *p = path;
  *len = strcspn(path, "?#");
}

/* RFC 6265 §5.1.4 default-path: the request path up to, not including, its
 * right-most '/'; "/" when the path does not start with '/' or has only
 * one '/'. */
static void default_path(const char *req, size_t rlen, const char **p, size_t *len)
{
  if (rlen == 0 || req[0] != '/') {
    *p = "/";
    *len = 1;
    return;
  }
  size_t last = rlen - 1;
  while (req[last] != '/')
    last--;
  if (last == 0) {
    *p = "/";
    *len = 1;
    return;
  }
  *p = req;
  *len = last;
}

/* ---- RFC 6265 §5.1.1 cookie-date -------------------------------------- */

/* delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E */
static bool is_date_delim(unsigned char c)
{
  return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
         (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/* Reads |min|..|max| digits at |*i| of |t| into |*v|; false when fewer
 * than |min| are there. */
static bool take_digits(const char *t, size_t n, size_t *i, unsigned min, unsigned max,
                        unsigned *v)
{
  unsigned count = 0, val = 0;
  while (*i < n && count < max && wh_is_digit((unsigned char)t[*i])) {
    val = val * 10 + (unsigned)(t[*i] - '0');
    (*i)++;
    count++;
  }
  *v = val;
  return count >= min;
}

/* The "( non-digit *OCTET )" tail of the productions (optional, as in
 * erratum 4148): nothing more, or a non-digit. */
static bool tail_ok(const char *t, size_t n, size_t i)
{
  return i == n || !wh_is_digit((unsigned char)t[i]);
}

/* time = hms-time [ non-digit *OCTET ]; hms-time = 1*2DIGIT ":" 1*2DIGIT
 * ":" 1*2DIGIT */
static bool date_time(const char *t, size_t n, unsigned *h, unsigned *m, unsigned *s)
{
  size_t i = 0;
  if (!take_digits(t, n, &i, 1, 2, h) || i >= n || t[i++] != ':')
    return false;
  if (!take_digits(t, n, &i, 1, 2, m) || i >= n || t[i++] != ':')
    return false;
  return take_digits(t, n, &i, 1, 2, s) && tail_ok(t, n, i);
}

static bool date_number(const char *t, size_t n, unsigned min, unsigned max, unsigned *v)
{
  size_t i = 0;
  return take_digits(t, n, &i, min, max, v) && tail_ok(t, n, i);
}

/* month = ( "jan" / ... / "dec" ) *OCTET, case-insensitively. */
static bool date_month(const char *t, size_t n, unsigned *month)
{
  static const char names[12][4] = {"jan", "feb", "mar", "apr", "may", "jun",
                                    "jul", "aug", "sep", "oct", "nov", "dec"};
  if (n < 3)
    return false;
  for (unsigned k = 0; k < 12; k++) {
    if (wh_casecmp_eq(t, 3, names[k], 3)) {
      *month = k + 1;
      return true;
    }
  }
  return false;
}

bool wh_cookie_parse_date(const char *s, size_t len, int64_t *out)
{
  bool got_time = false, got_day = false, got_month = false, got_year = false;
  unsigned hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
  size_t i = 0;
  /* §5.1.1 step 1: date-token-list = date-token *( 1*delimiter date-token ),
   * date-token = 1*non-delimiter. Step 2: each token, first match wins. */
  while (i < len) {
    while (i < len && is_date_delim((unsigned char)s[i]))
      i++;
    size_t start = i;
    while (i < len && !is_date_delim((unsigned char)s[i]))
      i++;
    const char *t = s + start;
    size_t n = i - start;
    if (n == 0)
      break;
    unsigned a, b, c;
    if (!got_time && date_time(t, n, &a, &b, &c)) {
      got_time = true;
      hour = a;
      minute = b;
      second = c;
    } else if (!got_day && date_number(t, n, 1, 2, &a)) {
      got_day = true;
      day = a;
    } else if (!got_month && date_month(t, n, &a)) {
      got_month = true;
      month = a;
    } else if (!got_year && date_number(t, n, 2, 4, &a)) {
      got_year = true;
      year = a;
    }
  }
  /* Steps 3-5: two-digit years, then the range checks. */
  if (got_year && year >= 70 && year <= 99)
    year += 1900;
  else if (got_year && year <= 69)
    year += 2000;
  if (!got_time || !got_day || !got_month || !got_year)
    return false;
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59)
    return false;
  /* Step 6: the date must exist (no 31 November); wh_date_to_epoch checks. */
  struct wh_time tm = {.year = (uint16_t)year,
                       .month = (uint16_t)month,
                       .day = (uint16_t)day,
                       .hour = (uint16_t)hour,
                       .minute = (uint16_t)minute,
                       .second = (uint16_t)second};
  return wh_date_to_epoch(&tm, out);
}

/* ---- RFC 6265 §5.2 Set-Cookie parsing ----------------------------------- */

struct parsed {
  const char *name, *value;
  size_t name_len, value_len;
  bool have_max_age, have_expires, have_domain, have_path;
  int64_t max_age_expiry, expires;
  const char *domain; /* without the leading '.'; may be empty */
  size_t domain_len;
  const char *path;   /* NULL: the default-path (§5.2.4) */
  size_t path_len;
  bool secure, http_only;
  enum wh_cookie_samesite same_site;
};

/* §5.2.2 Max-Age: "-"? 1*DIGIT; delta <= 0 is the earliest time. */
static bool parse_max_age(const char *v, size_t n, int64_t now, int64_t *expiry)
{
  size_t i = 0;
  bool neg = false;
  if (n == 0)
    return false;
  if (v[0] == '-') {
    neg = true;
    i = 1;
    if (n == 1)
      return false;
  }
  int64_t delta = 0;
  for (; i < n; i++) {
    if (!wh_is_digit((unsigned char)v[i]))
      return false;
    if (delta < INT64_MAX / 20) /* saturate: past any representable date */
      delta = delta * 10 + (v[i] - '0');
  }
  if (neg || delta == 0)
    *expiry = INT64_MIN;
  else if (now > 0 && delta > INT64_MAX - now)
    *expiry = INT64_MAX;
  else
    *expiry = now + delta;
  return true;
}

static void parse_attribute(struct parsed *pc, const char *av, size_t n, int64_t now)
{
  const char *eq = memchr(av, '=', n);
  const char *an = av, *v = "";
  size_t anl = n, vl = 0;
  if (eq) {
    anl = (size_t)(eq - av);
    v = eq + 1;
    vl = n - anl - 1;
  }
  trim_wsp(&an, &anl);
  trim_wsp(&v, &vl);
  if (wh_casecmp_eqz(an, anl, "expires")) {
    /* §5.2.1: an unparsable date ignores the attribute. */
    int64_t t;
    if (wh_cookie_parse_date(v, vl, &t)) {
      pc->have_expires = true;
      pc->expires = t;
    }
  } else if (wh_casecmp_eqz(an, anl, "max-age")) {
    int64_t t;
    if (parse_max_age(v, vl, now, &t)) {
      pc->have_max_age = true;
      pc->max_age_expiry = t;
    }
  } else if (wh_casecmp_eqz(an, anl, "domain")) {
    /* §5.2.3: an empty value is ignored (SHOULD); 6265bis: so is one over
     * 1024 bytes; one leading '.' is dropped. */
    if (vl == 0 || vl > WH_COOKIE_MAX_ATTR)
      return;
    if (v[0] == '.') {
      v++;
      vl--;
    }
    pc->have_domain = true;
    pc->domain = v;
    pc->domain_len = vl;
  } else if (wh_casecmp_eqz(an, anl, "path")) {
    /* §5.2.4: a value that does not start with '/' means the default-path,
     * and still replaces an earlier Path. */
    if (vl > WH_COOKIE_MAX_ATTR)
      return;
    pc->have_path = true;
    if (vl == 0 || v[0] != '/') {
      pc->path = NULL;
      pc->path_len = 0;
    } else {
      pc->path = v;
      pc->path_len = vl;
    }
  } else if (wh_casecmp_eqz(an, anl, "secure")) {
    pc->secure = true; /* §5.2.5 */
  } else if (wh_casecmp_eqz(an, anl, "httponly")) {
    pc->http_only = true; /* §5.2.6 */
  } else if (wh_casecmp_eqz(an, anl, "samesite")) {
    /* 6265bis §5.6.7: an unknown value leaves the default enforcement. */
    if (wh_casecmp_eqz(v, vl, "strict"))
      pc->same_site = WH_COOKIE_SAMESITE_STRICT;
    else if (wh_casecmp_eqz(v, vl, "lax"))
      pc->same_site = WH_COOKIE_SAMESITE_LAX;
    else if (wh_casecmp_eqz(v, vl, "none"))
      pc->same_site = WH_COOKIE_SAMESITE_NONE;
    else
      pc->same_site = WH_COOKIE_SAMESITE_UNSET;
  }
  /* §5.2 step 6: any other attribute is ignored. */
}

/* §5.2: false when the set-cookie-string is to be ignored entirely. */
static bool parse_set_cookie(const char *s, size_t len, int64_t now, struct parsed *pc)
{
  memset(pc, 0, sizeof(*pc));
  for (size_t i = 0; i < len; i++)
    if (is_bad_ctl((unsigned char)s[i]))
      return false;
  /* Step 1: the name-value-pair runs to the first ';'. */
  const char *semi = memchr(s, ';', len);
  size_t nv_len = semi ? (size_t)(semi - s) : len;
  /* Steps 2-5: it needs a '=' and a non-empty name; both halves trimmed. */
  const char *eq = memchr(s, '=', nv_len);
  if (!eq)
    return false;
  pc->name = s;
  pc->name_len = (size_t)(eq - s);
  pc->value = eq + 1;
  pc->value_len = nv_len - pc->name_len - 1;
  trim_wsp(&pc->name, &pc->name_len);
  trim_wsp(&pc->value, &pc->value_len);
  if (pc->name_len == 0)
    return false;
  /* §6.1 / 6265bis: name + value over the limit is ignored. */
  if (pc->name_len + pc->value_len > WH_COOKIE_MAX_NAME_VALUE)
    return false;
  /* §5.2.1-§5.2.6: each ';'-separated cookie-av, in order. */
  size_t i = nv_len;
  while (i < len) {
    i++; /* the ';' */
    const char *av = s + i;
    const char *next = memchr(av, ';', len - i);
    size_t n = next ? (size_t)(next - av) : len - i;
    parse_attribute(pc, av, n, now);
    i += n;
  }
  return true;
}

/* ---- the jar ------------------------------------------------------------ */

void wh_cookie_jar_init(struct wh_cookie_jar *j)
{
  memset(j, 0, sizeof(*j));
  j->max_per_domain = WH_COOKIE_MAX_PER_DOMAIN;
  j->max_total = WH_COOKIE_MAX_TOTAL;
}

void wh_cookie_jar_free(struct wh_cookie_jar *j)
{
  for (size_t i = 0; i < j->count; i++)
    wh_free(j->items[i]);
  wh_free(j->items);
  size_t per = j->max_per_domain, total = j->max_total;
  memset(j, 0, sizeof(*j));
  j->max_per_domain = per;
  j->max_total = total;
}

static bool is_expired(const struct wh_cookie *c, int64_t now) { return c->expiry <= now; }

static void remove_at(struct wh_cookie_jar *j, size_t i)
{
  wh_free(j->items[i]);
  j->items[i] = j->items[--j->count];
  j->items[j->count] = NULL;
}

static bool same_base(const struct wh_cookie *a, const struct wh_cookie *b)
{
  return a->base_len == b->base_len && memcmp(a->base, b->base, a->base_len) == 0;
}

static void purge_expired(struct wh_cookie_jar *j, int64_t now)
{
  for (size_t i = 0; i < j->count;) {
    if (is_expired(j->items[i], now))
      remove_at(j, i);
    else
      i++;
  }
}

/* Removes the least recently set cookie other than |keep|, only among those
 * sharing |keep|'s registrable domain when |per_domain|. False when there
 * is no candidate. */
static bool evict_one(struct wh_cookie_jar *j, const struct wh_cookie *keep, bool per_domain)
{
  size_t victim = j->count;
  for (size_t i = 0; i < j->count; i++) {
    const struct wh_cookie *c = j->items[i];
    if (c == keep || (per_domain && !same_base(c, keep)))
      continue;
    if (victim == j->count || c->set_seq < j->items[victim]->set_seq)
      victim = i;
  }
  if (victim == j->count)
    return false;
  remove_at(j, victim);
  return true;
}

static size_t count_base(const struct wh_cookie_jar *j, const struct wh_cookie *c)
{
  size_t n = 0;
  for (size_t i = 0; i < j->count; i++)
    n += same_base(j->items[i], c);
  return n;
}

/* §5.3 last paragraphs: expired cookies first, then the least recently
 * set ones of an over-full domain, then of the whole jar. */
static void enforce_limits(struct wh_cookie_jar *j, const struct wh_cookie *keep, int64_t now)
{
  if (count_base(j, keep) > j->max_per_domain || j->count > j->max_total)
    purge_expired(j, now);
  while (count_base(j, keep) > j->max_per_domain && evict_one(j, keep, true))
    ;
  while (j->count > j->max_total && evict_one(j, keep, false))
    ;
}

static size_t find_index(const struct wh_cookie_jar *j, const char *name, size_t name_len,
                         const char *domain, size_t domain_len, const char *path,
                         size_t path_len)
{
  for (size_t i = 0; i < j->count; i++) {
    const struct wh_cookie *c = j->items[i];
    if (c->name_len == name_len && c->domain_len == domain_len && c->path_len == path_len &&
        memcmp(c->name, name, name_len) == 0 && memcmp(c->domain, domain, domain_len) == 0 &&
        memcmp(c->path, path, path_len) == 0)
      return i;
  }
  return j->count;
}

const struct wh_cookie *wh_cookie_jar_find(const struct wh_cookie_jar *j, const char *name,
                                           const char *domain, const char *path)
{
  size_t i = find_index(j, name, strlen(name), domain, strlen(domain), path, strlen(path));
  return i < j->count ? j->items[i] : NULL;
}

/* 6265bis "leave secure cookies alone": a live Secure cookie of the same
 * name, whose domain domain-matches the new one's or the other way round,
 * and whose path the new path path-matches. */
static bool shadows_secure(const struct wh_cookie_jar *j, const struct parsed *pc,
                           const char *domain, size_t dlen, const char *path, size_t plen,
                           int64_t now)
{
  for (size_t i = 0; i < j->count; i++) {
    const struct wh_cookie *c = j->items[i];
    if (!c->secure || is_expired(c, now) || c->name_len != pc->name_len ||
        memcmp(c->name, pc->name, pc->name_len) != 0)
      continue;
    if (!domain_match(c->domain, c->domain_len, domain, dlen) &&
        !domain_match(domain, dlen, c->domain, c->domain_len))
      continue;
    if (path_match(path, plen, c->path, c->path_len))
      return true;
  }
  return false;
}

/* The registrable domain (eTLD+1) of |domain| (NUL-terminated, lower
 * case), as an offset into it: the unit of the per-domain limit. */
static size_t base_offset(const char *domain, size_t dlen)
{
  const psl_ctx_t *psl = psl_builtin();
  if (!psl || is_ip_literal(domain, dlen))
    return 0;
  const char *r = psl_registrable_domain(psl, domain);
  if (!r || r < domain || r > domain + dlen)
    return 0;
  return (size_t)(r - domain);
}

/* §5.3 step 5: is |domain| (NUL-terminated, lower case) a public suffix?
 * Without libpsl's built-in list (a build without one), a single label is
 * taken for one: the list's implicit "*" rule. */
static bool is_public_suffix(const char *domain)
{
  const psl_ctx_t *psl = psl_builtin();
  if (!psl)
    return strchr(domain, '.') == NULL;
  return psl_is_public_suffix2(psl, domain, PSL_TYPE_ANY) != 0;
}

static struct wh_cookie *new_cookie(const struct parsed *pc, const char *domain, size_t dlen,
                                    const char *path, size_t plen)
{
  size_t size = sizeof(struct wh_cookie) + pc->name_len + pc->value_len + dlen + plen + 4;
  struct wh_cookie *c = wh_malloc(size);
  if (!c)
    return NULL;
  memset(c, 0, sizeof(*c));
  char *p = c->data;
  memcpy(p, pc->name, pc->name_len);
  p[pc->name_len] = '\0';
  c->name = p;
  c->name_len = pc->name_len;
  p += pc->name_len + 1;
  memcpy(p, pc->value, pc->value_len);
  p[pc->value_len] = '\0';
  c->value = p;
  c->value_len = pc->value_len;
  p += pc->value_len + 1;
  memcpy(p, domain, dlen);
  p[dlen] = '\0';
  c->domain = p;
  c->domain_len = dlen;
  p += dlen + 1;
  memcpy(p, path, plen);
  p[plen] = '\0';
  c->path = p;
  c->path_len = plen;
  size_t off = base_offset(c->domain, dlen);
  c->base = c->domain + off;
  c->base_len = dlen - off;
  c->secure = pc->secure;
  c->http_only = pc->http_only;
  c->same_site = pc->same_site;
  return c;
}

DWORD wh_cookie_jar_set(struct wh_cookie_jar *j, const char *set_cookie_value, size_t len,
                        const char *request_host, const char *request_path, bool secure_request,
                        int64_t now)
{
  struct parsed pc;
  char host[WH_COOKIE_MAX_HOST + 1];
  char dbuf[WH_COOKIE_MAX_HOST + 1];
  size_t hlen;
  if (!set_cookie_value || !canon_host(request_host, host, &hlen))
    return ERROR_SUCCESS;
  if (!parse_set_cookie(set_cookie_value, len, now, &pc))
    return ERROR_SUCCESS;

  /* §5.3 steps 4-6: the domain. */
  const char *domain = host;
  size_t dlen = hlen;
  bool host_only = true;
  if (pc.have_domain && pc.domain_len > 0) {
    if (pc.domain_len > hlen)
      return ERROR_SUCCESS; /* cannot domain-match the host */
    for (size_t i = 0; i < pc.domain_len; i++)
      dbuf[i] = (char)wh_to_lower((unsigned char)pc.domain[i]);
    dbuf[pc.domain_len] = '\0';
    bool exact = pc.domain_len == hlen && memcmp(dbuf, host, hlen) == 0;
    if (!exact) {
      /* Step 6: the host must domain-match the Domain attribute (an IP
       * only ever matches itself). */
      if (!domain_match(host, hlen, dbuf, pc.domain_len))
        return ERROR_SUCCESS;
      /* Step 5: a public suffix is refused unless it is the host itself
       * (then the cookie is host-only, the exact case). */
      if (is_public_suffix(dbuf))
        return ERROR_SUCCESS;
      domain = dbuf;
      dlen = pc.domain_len;
      host_only = false;
    } else if (is_ip_literal(host, hlen) || !is_public_suffix(host)) {
      host_only = false; /* Domain=<the host itself>: subdomains too */
    }
  }

  /* Step 7: the path. */
  const char *rp, *path;
  size_t rplen, plen;
  req_path_of(request_path, &rp, &rplen);
  if (pc.have_path && pc.path) {
    path = pc.path;
    plen = pc.path_len;
  } else {
    default_path(rp, rplen, &path, &plen);
  }

  /* 6265bis: Secure only from a secure request, and the name prefixes. */
  if (pc.secure && !secure_request)
    return ERROR_SUCCESS;
  if (starts_with_ci(pc.name, pc.name_len, "__Secure-") && !pc.secure)
    return ERROR_SUCCESS;
  if (starts_with_ci(pc.name, pc.name_len, "__Host-") &&
      (!pc.secure || !host_only || !pc.have_path || plen != 1 || path[0] != '/'))
    return ERROR_SUCCESS;
  if (!pc.secure && !secure_request &&
      shadows_secure(j, &pc, domain, dlen, path, plen, now))
    return ERROR_SUCCESS;

  /* Step 3: the expiry; Max-Age wins over Expires. */
  bool persistent = pc.have_max_age || pc.have_expires;
  int64_t expiry = pc.have_max_age ? pc.max_age_expiry
                   : pc.have_expires ? pc.expires
                                     : WH_COOKIE_NEVER;

  /* Step 11: the cookie it replaces. */
  size_t old = find_index(j, pc.name, pc.name_len, domain, dlen, path, plen);
  if (persistent && expiry <= now) {
    /* Already expired: it only deletes (§5.3, expired cookies are
     * removed). */
    if (old < j->count)
      remove_at(j, old);
    return ERROR_SUCCESS;
  }

  /* Everything that can fail happens before the jar changes. */
  struct wh_cookie *c = new_cookie(&pc, domain, dlen, path, plen);
  if (!c)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (old == j->count && j->count == j->cap) {
    size_t ncap = j->cap ? j->cap * 2 : 16;
    struct wh_cookie **items = wh_realloc(j->items, ncap * sizeof(*items));
    if (!items) {
      wh_free(c);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
    j->items = items;
    j->cap = ncap;
  }
  c->host_only = host_only;
  c->persistent = persistent;
  c->expiry = expiry;
  c->set_seq = ++j->seq;
  if (old < j->count) {
    c->creation = j->items[old]->creation;
    c->creation_seq = j->items[old]->creation_seq;
    wh_free(j->items[old]);
    j->items[old] = c;
  } else {
    c->creation = now;
    c->creation_seq = c->set_seq;
    j->items[j->count++] = c;
  }
  enforce_limits(j, c, now);
  return ERROR_SUCCESS;
}

/* ---- RFC 6265 §5.4 the Cookie header ------------------------------------ */

/* §5.4 step 2: longer paths first, then earlier creation times. */
static int cookie_order(const void *a, const void *b)
{
  const struct wh_cookie *x = *(const struct wh_cookie *const *)a;
  const struct wh_cookie *y = *(const struct wh_cookie *const *)b;
  if (x->path_len != y->path_len)
    return x->path_len > y->path_len ? -1 : 1;
  if (x->creation != y->creation)
    return x->creation < y->creation ? -1 : 1;
  if (x->creation_seq != y->creation_seq)
    return x->creation_seq < y->creation_seq ? -1 : 1;
  return 0;
}

DWORD wh_cookie_jar_header(const struct wh_cookie_jar *j, const char *host, const char *path,
                           bool secure, int64_t now, char **out)
{
  char h[WH_COOKIE_MAX_HOST + 1];
  size_t hlen;
  *out = NULL;
  if (j->count == 0 || !canon_host(host, h, &hlen))
    return ERROR_SUCCESS;
  const char *rp;
  size_t rplen;
  req_path_of(path, &rp, &rplen);

  const struct wh_cookie **sel = wh_malloc(j->count * sizeof(*sel));
  if (!sel)
    return ERROR_NOT_ENOUGH_MEMORY;
  size_t n = 0, total = 0;
  /* §5.4 step 1. */
  for (size_t i = 0; i < j->count; i++) {
    const struct wh_cookie *c = j->items[i];
    if (is_expired(c, now) || (c->secure && !secure))
      continue;
    if (c->host_only ? !(c->domain_len == hlen && memcmp(c->domain, h, hlen) == 0)
                     : !domain_match(h, hlen, c->domain, c->domain_len))
      continue;
    if (!path_match(rp, rplen, c->path, c->path_len))
      continue;
    sel[n++] = c;
    total += c->name_len + 1 + c->value_len + 2;
  }
  if (n == 0) {
    wh_free(sel);
    return ERROR_SUCCESS;
  }
  qsort(sel, n, sizeof(*sel), cookie_order);
  /* §5.4 step 4: name=value pairs joined by "; ". */
  char *s = wh_malloc(total - 2 + 1);
  if (!s) {
    wh_free(sel);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  char *p = s;
  for (size_t i = 0; i < n; i++) {
    if (i) {
      *p++ = ';';
      *p++ = ' ';
    }
    memcpy(p, sel[i]->name, sel[i]->name_len);
    p += sel[i]->name_len;
    *p++ = '=';
    memcpy(p, sel[i]->value, sel[i]->value_len);
    p += sel[i]->value_len;
  }
  *p = '\0';
  wh_free(sel);
  *out = s;
  return ERROR_SUCCESS;
}

/* ---- merging with the application's Cookie header ----------------------- */

/* The name of one ';'-separated part: up to '=' (the whole part without
 * one), trimmed. */
static void part_name(const char *p, size_t n, const char **name, size_t *nlen)
{
  const char *eq = memchr(p, '=', n);
  *name = p;
  *nlen = eq ? (size_t)(eq - p) : n;
  trim_wsp(name, nlen);
}

/* Whether one of the non-blank ';'-separated parts of the application's
 * header is named |name|. */
static bool app_has_name(const char *app, size_t alen, const char *name, size_t nlen)
{
  size_t i = 0;
  while (i < alen) {
    const char *part = app + i;
    const char *semi = memchr(part, ';', alen - i);
    size_t n = semi ? (size_t)(semi - part) : alen - i;
    i += n + 1;
    trim_wsp(&part, &n);
    if (n == 0)
      continue;
    const char *pn;
    size_t pnl;
    part_name(part, n, &pn, &pnl);
    if (pnl == nlen && memcmp(pn, name, nlen) == 0)
      return true;
  }
  return false;
}

static void trim_header(const char **p, size_t *n)
{
  trim_wsp(p, n);
  while (*n && ((*p)[*n - 1] == ';' || wh_is_ows((unsigned char)(*p)[*n - 1])))
    (*n)--;
}

DWORD wh_cookie_merge(const char *app_header, const char *jar_value, char **out)
{
  const char *app = app_header ? app_header : "";
  const char *jar = jar_value ? jar_value : "";
  size_t alen = strlen(app), jlen = strlen(jar);
  *out = NULL;
  trim_header(&app, &alen);
  trim_header(&jar, &jlen);
  if (alen == 0 && jlen == 0)
    return ERROR_SUCCESS;
  /* The result is at most app + "; " + each jar part + "; ". */
  char *s = wh_malloc(alen + jlen + 2 * (jlen + 1) + 1);
  if (!s)
    return ERROR_NOT_ENOUGH_MEMORY;
  memcpy(s, app, alen);
  char *p = s + alen;
  size_t i = 0;
  while (i < jlen) {
    const char *part = jar + i;
    const char *semi = memchr(part, ';', jlen - i);
    size_t n = semi ? (size_t)(semi - part) : jlen - i;
    i += n + 1;
    trim_wsp(&part, &n);
    if (n == 0)
      continue;
    const char *name;
    size_t nlen;
    part_name(part, n, &name, &nlen);
    if (alen && app_has_name(app, alen, name, nlen))
      continue;
    if (p != s) {
      *p++ = ';';
      *p++ = ' ';
    }
    memcpy(p, part, n);
    p += n;
  }
  *p = '\0';
  *out = s;
  return ERROR_SUCCESS;
}
