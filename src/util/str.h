/* Locale-independent ASCII helpers and byte slices.
 *
 * <ctype.h> depends on the C locale of the process that loaded us, which a
 * library must never do for protocol text; these helpers are ASCII only.
 */
#ifndef WH_UTIL_STR_H
#define WH_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed run of bytes; not NUL-terminated unless said so. */
struct wh_slice {
  const char *p;
  size_t len;
};

static inline bool wh_is_digit(int c) { return c >= '0' && c <= '9'; }
static inline bool wh_is_alpha(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool wh_is_alnum(int c) { return wh_is_digit(c) || wh_is_alpha(c); }
static inline bool wh_is_xdigit(int c)
{
  return wh_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline int wh_to_lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}
static inline int wh_to_upper(int c)
{
  return (c >= 'a' && c <= 'z') ? c - ('a' - 'A') : c;
}
/* Value of a hex digit, or -1. */
static inline int wh_hex_value(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}
/* RFC 9110 §5.6.3 optional white space. */
static inline bool wh_is_ows(int c) { return c == ' ' || c == '\t'; }
/* RFC 9110 §5.6.2 tchar: the characters allowed in a token (header name).
 * A table lookup: it runs once per byte of every header name. */
extern const unsigned char wh_tchar_table[256];
static inline bool wh_is_tchar(int c)
{
  return c >= 0 && c < 256 && wh_tchar_table[c];
}

/* ASCII case-insensitive equality of two byte runs. */
bool wh_casecmp_eq(const char *a, size_t alen, const char *b, size_t blen);
/* Same, |b| NUL-terminated. */
bool wh_casecmp_eqz(const char *a, size_t alen, const char *b);

/* Trims OWS from both ends of the run at |*p|/|*len| in place. */
void wh_trim_ows(const char **p, size_t *len);

/* Parses a decimal unsigned integer of the whole run. Returns false on an
 * empty run, a non-digit, or a value above |max|. */
bool wh_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *out);

#endif
