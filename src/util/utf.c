/* see utf.h. RFC 3629 encoding rules. */
#include "util/utf.h"

#include <stdint.h>

#include "util/mem.h"

static uint32_t valid_cp(wchar_t wc)
{
  /* wchar_t is signed on Linux; treat negatives as invalid. */
  if (wc < 0)
    return 0xFFFD;
  uint32_t c = (uint32_t)wc;
  if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
    return 0xFFFD;
  return c;
}

static size_t enc_len(uint32_t c)
{
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

size_t wh_utf8_len_of_wide(const wchar_t *w, size_t cch)
{
  size_t n = 0;
  for (size_t i = 0; i < cch; i++)
    n += enc_len(valid_cp(w[i]));
  return n;
}

size_t wh_utf8_from_wide_buf(const wchar_t *w, size_t cch, char *out)
{
  unsigned char *o = (unsigned char *)out;
  for (size_t i = 0; i < cch; i++) {
    uint32_t c = valid_cp(w[i]);
    if (c < 0x80) {
      *o++ = (unsigned char)c;
    } else if (c < 0x800) {
      *o++ = (unsigned char)(0xC0 | (c >> 6));
      *o++ = (unsigned char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      *o++ = (unsigned char)(0xE0 | (c >> 12));
      *o++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
      *o++ = (unsigned char)(0x80 | (c & 0x3F));
    } else {
      *o++ = (unsigned char)(0xF0 | (c >> 18));
      *o++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
      *o++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
      *o++ = (unsigned char)(0x80 | (c & 0x3F));
    }
  }
  return (size_t)(o - (unsigned char *)out);
}

int wh_utf8_from_wide(const wchar_t *w, size_t cch, char **out, size_t *out_len)
{
  if (cch == (size_t)-1)
    cch = wcslen(w);
  size_t n = wh_utf8_len_of_wide(w, cch);
  char *s = wh_malloc(n + 1);
  if (!s)
    return -1;
  wh_utf8_from_wide_buf(w, cch, s);
  s[n] = '\0';
  *out = s;
  if (out_len)
    *out_len = n;
  return 0;
}

/* Decodes one code point at |s[*i]|, advancing |*i|. Overlong forms,
 * surrogates and values above U+10FFFF are malformed: one U+FFFD and one
 * byte consumed. */
static uint32_t dec_one(const unsigned char *s, size_t len, size_t *i)
{
  unsigned char b = s[*i];
  uint32_t c, min;
  size_t need;
  if (b < 0x80) {
    (*i)++;
    return b;
  } else if ((b & 0xE0) == 0xC0) {
    c = b & 0x1F; need = 1; min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    c = b & 0x0F; need = 2; min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    c = b & 0x07; need = 3; min = 0x10000;
  } else {
    (*i)++;
    return 0xFFFD;
  }
  if (len - *i <= need) {
    (*i)++;
    return 0xFFFD;
  }
  for (size_t k = 1; k <= need; k++) {
    unsigned char cb = s[*i + k];
    if ((cb & 0xC0) != 0x80) {
      (*i)++;
      return 0xFFFD;
    }
    c = (c << 6) | (cb & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    (*i)++;
    return 0xFFFD;
  }
  *i += need + 1;
  return c;
}

size_t wh_wide_len_of_utf8(const char *s, size_t len)
{
  size_t n = 0, i = 0;
  while (i < len) {
    dec_one((const unsigned char *)s, len, &i);
    n++;
  }
  return n;
}

size_t wh_wide_from_utf8_buf(const char *s, size_t len, wchar_t *out)
{
  size_t n = 0, i = 0;
  while (i < len)
    out[n++] = (wchar_t)dec_one((const unsigned char *)s, len, &i);
  return n;
}

int wh_wide_from_utf8(const char *s, size_t len, wchar_t **out, size_t *out_cch)
{
  size_t n = wh_wide_len_of_utf8(s, len);
  wchar_t *w = wh_malloc((n + 1) * sizeof(wchar_t));
  if (!w)
    return -1;
  wh_wide_from_utf8_buf(s, len, w);
  w[n] = L'\0';
  *out = w;
  if (out_cch)
    *out_cch = n;
  return 0;
}
