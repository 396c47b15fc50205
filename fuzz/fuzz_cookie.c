/* libFuzzer target for the cookie jar (policy/cookie.c).
 *
 * Input: a script of lines ('\n'-separated). The first line is a header:
 * if it contains 'L' the jar gets low limits (3 per domain, 8 in all) so
 * that eviction runs often. Every other line is
 *
 *   OP T S host '|' path '|' data
 *
 * with OP one of
 *   'S'  wh_cookie_jar_set(data as the Set-Cookie value, host, path)
 *   'O'  the same with allocation failure after (T % 4) allocations
 *   'H'  wh_cookie_jar_header(host, path), remembered as the jar value
 *   'M'  wh_cookie_merge(data as the application's header, last jar value)
 *   'D'  wh_cookie_parse_date(data)
 * T a byte giving the time, now = BASE + (T - 'a') * 30 seconds, and S '1'
 * for a secure (https) request. Lines that do not fit are skipped. Bytes
 * other than '\n' (CR, NUL, anything) may appear in every field.
 *
 * Invariants checked: no crash or leak (ASan/UBSan); only ERROR_SUCCESS,
 * or ERROR_NOT_ENOUGH_MEMORY when allocations were made to fail (and then
 * the jar is unchanged); the jar within its limits, each cookie well
 * formed (non-empty name, no control bytes, path starting with '/', lower
 * case domain, registrable part a suffix of the domain, name + value within
 * WH_COOKIE_MAX_NAME_VALUE); built headers and merges free of CR, LF and
 * NUL, with no more pairs than cookies; a live cookie is sent to its own
 * domain and path over https.
 */
#include "fuzz_common.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/cookie.h"
#include "util/mem.h"


#define BASE 1700000000LL

static bool has_ctl(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0 || c == '\r' || c == '\n')
      return true;
  }
  return false;
}

static bool has_bad_ctl(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x08 || (c >= 0x0a && c <= 0x1f) || c == 0x7f)
      return true;
  }
  return false;
}

/* Well-formed output: non-empty, no CR/LF/NUL before its end, no more
 * "; "-separated pairs than |max|. */
static void check_value(const char *v, size_t max)
{
  size_t n = strlen(v);
  FUZZ_ASSERT(n > 0);
  FUZZ_ASSERT(!has_ctl(v, n));
  size_t pairs = 1;
  for (const char *p = v; (p = strstr(p, "; ")) != NULL; p += 2)
    pairs++;
  FUZZ_ASSERT(pairs <= max);
}

/* A NUL-terminated copy of the first |n| bytes, up to an embedded NUL. */
static char *dup_n(const char *s, size_t n)
{
  const char *z = memchr(s, '\0', n);
  if (z)
    n = (size_t)(z - s);
  char *d = malloc(n + 1);
  FUZZ_ASSERT(d != NULL);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static void check_jar(const struct wh_cookie_jar *j, int64_t now)
{
  FUZZ_ASSERT(j->count <= j->max_total);
  FUZZ_ASSERT(j->count <= j->cap);
  for (size_t i = 0; i < j->count; i++) {
    const struct wh_cookie *c = j->items[i];
    FUZZ_ASSERT(c->name_len > 0 && c->name_len == strlen(c->name));
    FUZZ_ASSERT(c->value_len == strlen(c->value));
    FUZZ_ASSERT(c->name_len + c->value_len <= WH_COOKIE_MAX_NAME_VALUE);
    FUZZ_ASSERT(!has_bad_ctl(c->name, c->name_len) && !has_bad_ctl(c->value, c->value_len));
    FUZZ_ASSERT(c->path_len >= 1 && c->path[0] == '/' && c->path_len == strlen(c->path));
    FUZZ_ASSERT(c->domain_len >= 1 && c->domain_len <= WH_COOKIE_MAX_HOST);
    FUZZ_ASSERT(c->domain_len == strlen(c->domain));
    for (size_t k = 0; k < c->domain_len; k++)
      FUZZ_ASSERT(!(c->domain[k] >= 'A' && c->domain[k] <= 'Z'));
    FUZZ_ASSERT(c->base >= c->domain && c->base + c->base_len == c->domain + c->domain_len);
    FUZZ_ASSERT(c->creation_seq <= c->set_seq && c->set_seq <= j->seq);
    size_t same = 0;
    for (size_t k = 0; k < j->count; k++) {
      const struct wh_cookie *o = j->items[k];
      if (o->base_len == c->base_len && memcmp(o->base, c->base, c->base_len) == 0)
        same++;
      if (k != i)
        FUZZ_ASSERT(!(o->name_len == c->name_len && strcmp(o->name, c->name) == 0 &&
                      strcmp(o->domain, c->domain) == 0 && strcmp(o->path, c->path) == 0));
    }
    FUZZ_ASSERT(same <= j->max_per_domain);

    /* A live cookie reaches its own domain and path over https. */
    if (c->expiry > now && c->domain[0] != '[' && !strpbrk(c->path, "?#")) {
      char *h = NULL;
      FUZZ_ASSERT(wh_cookie_jar_header(j, c->domain, c->path, true, now, &h) == ERROR_SUCCESS);
      FUZZ_ASSERT(h != NULL);
      check_value(h, j->count);
      size_t need = c->name_len + 1 + c->value_len;
      char *pair = malloc(need + 1);
      FUZZ_ASSERT(pair != NULL);
      memcpy(pair, c->name, c->name_len);
      pair[c->name_len] = '=';
      memcpy(pair + c->name_len + 1, c->value, c->value_len);
      pair[need] = '\0';
      FUZZ_ASSERT(strstr(h, pair) != NULL);
      free(pair);
      wh_free(h);
    }
  }
}

/* Splits |line| ("host|path|data" after the three op bytes) into fields
 * copied as NUL-terminated strings (host and path stop at an embedded
 * NUL, as a C caller's would). */
struct line {
  char op, t, s;
  char *host, *path;
  const char *data;
  size_t data_len;
};

static bool split_line(const char *p, size_t n, struct line *l)
{
  if (n < 3)
    return false;
  l->op = p[0];
  l->t = p[1];
  l->s = p[2];
  p += 3;
  n -= 3;
  const char *bar1 = memchr(p, '|', n);
  if (!bar1)
    return false;
  const char *rest = bar1 + 1;
  size_t rn = n - (size_t)(rest - p);
  const char *bar2 = memchr(rest, '|', rn);
  if (!bar2)
    return false;
  l->host = dup_n(p, (size_t)(bar1 - p));
  l->path = dup_n(rest, (size_t)(bar2 - rest));
  l->data = bar2 + 1;
  l->data_len = n - (size_t)(l->data - p);
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *in = (const char *)data;
  const char *end = in + size;
  struct wh_cookie_jar j;
  char *jar_value = NULL;
  wh_cookie_jar_init(&j);

  const char *nl = memchr(in, '\n', size);
  if (nl && memchr(in, 'L', (size_t)(nl - in))) {
    j.max_per_domain = 3;
    j.max_total = 8;
  }
  const char *p = nl ? nl + 1 : end;
  int lines = 0;
  while (p < end && lines++ < 200) {
    const char *e = memchr(p, '\n', (size_t)(end - p));
    size_t n = e ? (size_t)(e - p) : (size_t)(end - p);
    struct line l;
    if (split_line(p, n, &l)) {
      int64_t now = BASE + ((int64_t)(unsigned char)l.t - 'a') * 30;
      bool secure = l.s == '1';
      switch (l.op) {
      case 'S': {
        FUZZ_ASSERT(wh_cookie_jar_set(&j, l.data, l.data_len, l.host, l.path, secure, now) ==
                    ERROR_SUCCESS);
        check_jar(&j, now);
        break;
      }
      case 'O': {
        size_t before = j.count;
        uint64_t seq = j.seq;
        wh_mem_fail_after((long)((unsigned char)l.t % 4));
        DWORD err = wh_cookie_jar_set(&j, l.data, l.data_len, l.host, l.path, secure, now);
        wh_mem_fail_reset();
        FUZZ_ASSERT(err == ERROR_SUCCESS || err == ERROR_NOT_ENOUGH_MEMORY);
        if (err != ERROR_SUCCESS)
          FUZZ_ASSERT(j.count == before && j.seq == seq);
        check_jar(&j, now);
        break;
      }
      case 'H': {
        char *h = (char *)1;
        FUZZ_ASSERT(wh_cookie_jar_header(&j, l.host, l.path, secure, now, &h) == ERROR_SUCCESS);
        if (h)
          check_value(h, j.count);
        wh_free(jar_value);
        jar_value = h;
        break;
      }
      case 'M': {
        char *app = dup_n(l.data, l.data_len);
        char *m = (char *)1;
        FUZZ_ASSERT(wh_cookie_merge(app, jar_value, &m) == ERROR_SUCCESS);
        if (m) {
          /* The application's bytes may hold CR/LF; only check ours. */
          if (!has_ctl(app, strlen(app)))
            check_value(m, SIZE_MAX);
          if (!jar_value)
            FUZZ_ASSERT(strstr(app, m) != NULL);
        }
        wh_free(m);
        free(app);
        break;
      }
      case 'D': {
        int64_t t;
        if (wh_cookie_parse_date(l.data, l.data_len, &t))
          FUZZ_ASSERT(t >= -11644473600LL && t <= 253402300799LL);
        break;
      }
      default:
        break;
      }
      free(l.host);
      free(l.path);
    }
    p = e ? e + 1 : end;
  }
  wh_free(jar_value);
  wh_cookie_jar_free(&j);
  return 0;
}
