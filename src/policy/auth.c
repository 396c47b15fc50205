/* see auth.h */
#include "policy/auth.h"

#include <stdbool.h>

#include "util/str.h"

static const struct {
  const char *name;
  DWORD scheme;
} schemes[] = {
    {"Basic", WINHTTP_AUTH_SCHEME_BASIC},
    {"NTLM", WINHTTP_AUTH_SCHEME_NTLM},
    {"Passport1.4", WINHTTP_AUTH_SCHEME_PASSPORT},
    {"Digest", WINHTTP_AUTH_SCHEME_DIGEST},
    {"Negotiate", WINHTTP_AUTH_SCHEME_NEGOTIATE},
};

static DWORD scheme_of(const char *p, size_t n)
{
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
    if (wh_casecmp_eqz(p, n, schemes[i].name))
      return schemes[i].scheme;
  return 0;
}

/* One comma-separated element, quotes respected: [start, end). */
static size_t element_end(const char *s, size_t len, size_t i)
{
  bool quoted = false;
  for (; i < len; i++) {
    if (quoted && s[i] == '\\' && i + 1 < len)
      i++;
    else if (s[i] == '"')
      quoted = !quoted;
    else if (s[i] == ',' && !quoted)
      break;
  }
  return i;
}

/* Whether the element [i, end) starts a challenge: a scheme token followed
 * by white space or the element's end. "name=value" (or "token68=") is a
 * parameter of the challenge before it. On true, the scheme is [*s, *s +
 * *n) and what follows it starts at *rest. */
static bool challenge_at(const char *v, size_t i, size_t end, size_t *s, size_t *n, size_t *rest)
{
  size_t p = i;
  while (p < end && wh_is_ows(v[p]))
    p++;
  size_t t = p;
  while (t < end && wh_is_tchar((unsigned char)v[t]))
    t++;
  if (t == p || (t < end && !wh_is_ows(v[t])))
    return false;
  size_t q = t;
  while (q < end && wh_is_ows(v[q]))
    q++;
  if (q < end && v[q] == '=')
    return false;
  *s = p;
  *n = t - p;
  *rest = q;
  return true;
}

void wh_auth_parse_challenges(const char *value, size_t len, DWORD *supported, DWORD *first)
{
  for (size_t i = 0; i < len;) {
    size_t end = element_end(value, len, i), s, n, rest;
    DWORD sc = challenge_at(value, i, end, &s, &n, &rest) ? scheme_of(value + s, n) : 0;
    if (sc) {
      *supported |= sc;
      if (!*first)
        *first = sc;
    }
    i = end + 1;
  }
}

bool wh_auth_find_token(const char *value, size_t len, const char *scheme, const char **token,
                        size_t *token_len)
{
  for (size_t i = 0; i < len;) {
    size_t end = element_end(value, len, i), s, n, rest;
    if (challenge_at(value, i, end, &s, &n, &rest) && wh_casecmp_eqz(value + s, n, scheme)) {
      size_t b = end;
      while (b > rest && wh_is_ows(value[b - 1]))
        b--;
      *token = value + rest;
      *token_len = b - rest;
      return true;
    }
    i = end + 1;
  }
  return false;
}
