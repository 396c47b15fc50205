/* see wpad.h */
#include "policy/wpad.h"

#include <libpsl.h>
#include <stdbool.h>
#include <string.h>

#include "util/str.h"

/* Copies a DNS name of |len| bytes into |out|, lower-cased and without a
 * trailing dot; false when it is not one. */
static bool take_name(const char *s, size_t len, char out[WH_WPAD_NAME_MAX])
{
  if (len && s[len - 1] == '.')
    len--;
  if (len == 0 || len >= WH_WPAD_NAME_MAX)
    return false;
  size_t label = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.') {
      if (label == 0)
        return false; /* an empty label */
      label = 0;
    } else if (wh_is_alnum(c) || c == '-' || c == '_') {
      if (++label > 63)
        return false;
    } else {
      return false;
    }
    out[i] = (char)wh_to_lower(c);
  }
  if (label == 0)
    return false;
  out[len] = '\0';
  return true;
}

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

size_t wh_wpad_domain_list(const char *text, size_t len, char (*out)[WH_WPAD_NAME_MAX],
                           size_t max)
{
  size_t n = 0, i = 0;
  while (i < len && n < max) {
    while (i < len && is_space(text[i]))
      i++;
    size_t start = i;
    while (i < len && !is_space(text[i]))
      i++;
    if (i > start && take_name(text + start, i - start, out[n]))
      n++;
  }
  return n;
}

size_t wh_wpad_search_list(const char *text, size_t len, char (*out)[WH_WPAD_NAME_MAX],
                           size_t max)
{
  size_t n = 0, i = 0;
  while (i < len) {
    size_t start = i;
    while (i < len && text[i] != '\n')
      i++;
    const char *line = text + start;
    size_t ll = i - start;
    i++; /* the newline */
    static const char *const keys[] = {"search", "domain"};
    for (size_t k = 0; k < 2; k++) {
      size_t kl = strlen(keys[k]);
      if (ll > kl && memcmp(line, keys[k], kl) == 0 && (line[kl] == ' ' || line[kl] == '\t')) {
        /* glibc: the last of these lines wins; a comment ends the list. */
        const char *rest = line + kl;
        size_t rl = ll - kl;
        for (size_t c = 0; c < rl; c++)
          if (rest[c] == '#' || rest[c] == ';') {
            rl = c;
            break;
          }
        n = wh_wpad_domain_list(rest, rl, out, k == 0 ? max : (max ? 1 : 0));
      }
    }
  }
  return n;
}

static size_t labels(const char *s)
{
  size_t n = 1;
  for (; *s; s++)
    n += *s == '.';
  return n;
}

/* Whether "wpad." + |suffix| belongs to the organisation. */
static bool own_suffix(const psl_ctx_t *psl, const char *suffix)
{
  if (labels(suffix) < 2)
    return false;
  if (!psl)
    return true; /* no list: two labels is the floor */
  return !psl_is_public_suffix2(psl, suffix, PSL_TYPE_ANY);
}

size_t wh_wpad_candidates(const char (*domains)[WH_WPAD_NAME_MAX], size_t n,
                          char (*out)[WH_WPAD_NAME_MAX + 5], size_t max)
{
  const psl_ctx_t *psl = psl_builtin();
  size_t k = 0;
  for (size_t d = 0; d < n && k < max; d++) {
    for (const char *s = domains[d]; s && *s && k < max;) {
      if (!own_suffix(psl, s))
        break;
      bool seen = false;
      for (size_t j = 0; j < k && !seen; j++)
        seen = strcmp(out[j] + 5, s) == 0;
      if (!seen) {
        memcpy(out[k], "wpad.", 5);
        memcpy(out[k] + 5, s, strlen(s) + 1);
        k++;
      }
      const char *dot = strchr(s, '.');
      s = dot ? dot + 1 : NULL;
    }
  }
  return k;
}
