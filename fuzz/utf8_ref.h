/* A reference UTF-8 checker for the fuzz targets and the unit test that
 * judge proto/utf8_valid.c (fuzz_utf8, fuzz_ws_frame, test_ws_frame).
 * Written the slow, obvious way and sharing nothing with the validator:
 * sequences are decoded by the bit pattern of their lead byte and judged by
 * their scalar value (shortest form, not a surrogate, at most U+10FFFF), and
 * "fail fast" is defined by search: a byte is bad when no continuation of
 * the text up to it can be well-formed. */
#ifndef WH_FUZZ_UTF8_REF_H
#define WH_FUZZ_UTF8_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* True when |p|/|n| is well-formed UTF-8. */
static inline bool ref_utf8_valid(const uint8_t *p, size_t n)
{
  size_t i = 0;
  while (i < n) {
    uint8_t b = p[i];
    size_t len;
    uint32_t cp, min;
    if (b < 0x80) {
      i++;
      continue;
    } else if ((b & 0xe0) == 0xc0) {
      len = 2, cp = b & 0x1fu, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      len = 3, cp = b & 0x0fu, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
      len = 4, cp = b & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len)
      return false;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return false;
      cp = cp << 6 | (p[i + k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

/* True when the short text |p|/|n| (n <= 8) is well-formed or becomes so
 * with up to three more bytes. Only continuation bytes can complete it, and
 * as far as any rule is concerned they fall in three classes, 80..8F,
 * 90..9F and A0..BF, so one of each is tried. */
static inline bool ref_utf8_completable(const uint8_t *p, size_t n)
{
  static const uint8_t reps[3] = {0x80, 0x90, 0xa0};
  uint8_t buf[12];
  if (ref_utf8_valid(p, n))
    return true;
  if (n > 8)
    return false;
  memcpy(buf, p, n);
  for (size_t extra = 1; extra <= 3; extra++) {
    size_t combos = extra == 1 ? 3 : extra == 2 ? 9 : 27;
    for (size_t c = 0; c < combos; c++) {
      size_t v = c;
      for (size_t k = 0; k < extra; k++, v /= 3)
        buf[n + k] = reps[v % 3];
      if (ref_utf8_valid(buf, n + extra))
        return true;
    }
  }
  return false;
}

/* Incremental reference: the text so far is whole characters plus |tail|,
 * the start of one more. */
struct ref_utf8 {
  uint8_t tail[4];
  size_t len;
  bool bad;
};

/* One more byte: false (and bad from then on) when no continuation of the
 * text can be well-formed any more. */
static inline bool ref_utf8_byte(struct ref_utf8 *r, uint8_t b)
{
  if (r->bad)
    return false;
  uint8_t t[5];
  memcpy(t, r->tail, r->len);
  t[r->len] = b;
  if (ref_utf8_valid(t, r->len + 1)) {
    r->len = 0; /* a whole character */
  } else if (r->len + 1 < 4 && ref_utf8_completable(t, r->len + 1)) {
    memcpy(r->tail, t, r->len + 1);
    r->len++;
  } else {
    r->bad = true;
    return false;
  }
  return true;
}

static inline bool ref_utf8_complete(const struct ref_utf8 *r)
{
  return !r->bad && r->len == 0;
}

#endif
