/* see utf8_valid.h: RFC 3629 §4 as a byte-driven state machine.
 *
 * The state after a lead byte is "how many continuation bytes are still
 * due" plus the range the next one must fall in: 80..BF in general, and a
 * narrower range right after E0, ED, F0 and F4, which is how overlongs,
 * surrogates and values above U+10FFFF are refused at their second byte.
 */
#include "proto/utf8_valid.h"

#include <string.h>

#define ASCII_MASK UINT64_C(0x8080808080808080)

void wh_utf8v_init(struct wh_utf8v *v)
{
  v->need = 0;
  v->lo = 0x80;
  v->hi = 0xbf;
  v->bad = 0;
}

/* What a byte means between characters: 0 cannot start one (a
 * continuation byte, C0, C1, F5..FF), else one of the classes below. A
 * constant table, so the hot loop has one load instead of a chain of
 * comparisons. */
enum { L_BAD, L_2, L_3, L_E0, L_ED, L_4, L_F0, L_F4 };

#define R16(c) c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c
static const uint8_t lead_class[128] = {
    /* 80..BF */ R16(L_BAD), R16(L_BAD), R16(L_BAD), R16(L_BAD),
    /* C0..CF */ L_BAD, L_BAD, L_2, L_2, L_2, L_2, L_2, L_2, L_2, L_2, L_2, L_2, L_2, L_2, L_2, L_2,
    /* D0..DF */ R16(L_2),
    /* E0..EF */ L_E0, L_3, L_3, L_3, L_3, L_3, L_3, L_3, L_3, L_3, L_3, L_3, L_3, L_ED, L_3, L_3,
    /* F0..FF */ L_F0, L_4, L_4, L_4, L_F4, L_BAD, L_BAD, L_BAD, L_BAD, L_BAD, L_BAD, L_BAD, L_BAD,
    L_BAD, L_BAD, L_BAD};
#undef R16

/* Per class: continuation bytes due, and the range of the first one. The
 * narrow ranges refuse overlongs (E0 80..9F, F0 80..8F), surrogates
 * (ED A0..BF) and values above U+10FFFF (F4 90..BF). */
static const uint8_t class_need[8] = {0, 1, 2, 2, 2, 3, 3, 3};
static const uint8_t class_lo[8] = {0, 0x80, 0x80, 0xa0, 0x80, 0x80, 0x90, 0x80};
static const uint8_t class_hi[8] = {0, 0xbf, 0xbf, 0xbf, 0x9f, 0xbf, 0xbf, 0x8f};

size_t wh_utf8v_feed(struct wh_utf8v *v, const void *p, size_t n)
{
  const uint8_t *s = p;
  size_t i = 0;
  uint8_t need = v->need, lo = v->lo, hi = v->hi;

  if (v->bad)
    return 0;
  while (i < n) {
    if (need == 0) {
      /* Between characters. A run of ASCII is skipped 16 bytes at a time
       * (memcpy compiles to plain unaligned loads); non-ASCII text does
       * not pay for the attempt. */
      if (s[i] < 0x80) {
        i++;
        while (n - i >= 16) {
          uint64_t a, b;
          memcpy(&a, s + i, 8);
          memcpy(&b, s + i + 8, 8);
          if ((a | b) & ASCII_MASK)
            break;
          i += 16;
        }
        while (i < n && s[i] < 0x80)
          i++;
        continue;
      }
      unsigned c = lead_class[s[i] - 0x80u];
      if (c == L_BAD)
        goto bad;
      need = class_need[c];
      lo = class_lo[c];
      hi = class_hi[c];
      i++;
      /* The whole character is here (the common case): check it at once
       * rather than one trip round the loop per byte. */
      if (n - i >= need) {
        if (s[i] < lo || s[i] > hi)
          goto bad;
        i++;
        while (--need) {
          if ((s[i] & 0xc0u) != 0x80u)
            goto bad;
          i++;
        }
        lo = 0x80;
        hi = 0xbf;
      }
    } else {
      uint8_t b = s[i];
      if (b < lo || b > hi)
        goto bad;
      need--;
      lo = 0x80;
      hi = 0xbf;
      i++;
    }
  }
  v->need = need;
  v->lo = lo;
  v->hi = hi;
  return n;

bad:
  v->bad = 1;
  v->need = 0;
  return i;
}

bool wh_utf8v_complete(const struct wh_utf8v *v)
{
  return !v->bad && v->need == 0;
}

bool wh_utf8v_ok(const struct wh_utf8v *v)
{
  return !v->bad;
}

bool wh_utf8_valid(const void *p, size_t n)
{
  struct wh_utf8v v;
  wh_utf8v_init(&v);
  return wh_utf8v_feed(&v, p, n) == n && wh_utf8v_complete(&v);
}
