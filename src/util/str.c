/* see str.h */
#include "util/str.h"

bool wh_is_tchar(int c)
{
  if (wh_is_alnum(c))
    return true;
  switch (c) {
  case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
  case '+': case '-': case '.': case '^': case '_': case '`': case '|':
  case '~':
    return true;
  default:
    return false;
  }
}

bool wh_casecmp_eq(const char *a, size_t alen, const char *b, size_t blen)
{
  if (alen != blen)
    return false;
  for (size_t i = 0; i < alen; i++)
    if (wh_to_lower((unsigned char)a[i]) != wh_to_lower((unsigned char)b[i]))
      return false;
  return true;
}

bool wh_casecmp_eqz(const char *a, size_t alen, const char *b)
{
  size_t i = 0;
  for (; i < alen; i++) {
    if (b[i] == '\0')
      return false;
    if (wh_to_lower((unsigned char)a[i]) != wh_to_lower((unsigned char)b[i]))
      return false;
  }
  return b[i] == '\0';
}

void wh_trim_ows(const char **p, size_t *len)
{
  const char *s = *p;
  size_t n = *len;
  while (n && wh_is_ows((unsigned char)s[0])) {
    s++;
    n--;
  }
  while (n && wh_is_ows((unsigned char)s[n - 1]))
    n--;
  *p = s;
  *len = n;
}

bool wh_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *out)
{
  uint64_t v = 0;
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (!wh_is_digit((unsigned char)p[i]))
      return false;
    unsigned d = (unsigned)(p[i] - '0');
    if (v > (max - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}
