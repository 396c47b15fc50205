/* see proxy_list.h */
#include "policy/proxy_list.h"

#include <string.h>

#include "util/str.h"

static bool is_sep(char c)
{
  return c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
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
