/* An incremental UTF-8 validator (RFC 3629), for WebSocket text messages
 * and close reasons (RFC 6455 §5.6, §8.1), which arrive in pieces split
 * anywhere, a character included.
 *
 * Pure: no I/O, no locks, no globals, no allocation; the state is four bytes
 * the caller owns.
 *
 * Well-formed means exactly RFC 3629 §4 (the Unicode Standard's Table 3-7):
 *   U+0000..U+007F     00..7F
 *   U+0080..U+07FF     C2..DF 80..BF
 *   U+0800..U+0FFF     E0     A0..BF 80..BF
 *   U+1000..U+CFFF     E1..EC 80..BF 80..BF
 *   U+D000..U+D7FF     ED     80..9F 80..BF      (no surrogates D800..DFFF)
 *   U+E000..U+FFFF     EE..EF 80..BF 80..BF
 *   U+10000..U+3FFFF   F0     90..BF 80..BF 80..BF
 *   U+40000..U+FFFFF   F1..F3 80..BF 80..BF 80..BF
 *   U+100000..U+10FFFF F4     80..8F 80..BF 80..BF
 * so overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates, values above
 * U+10FFFF (F4 90.., F5..FF) and stray continuation bytes are all refused.
 * NUL (00) is a valid character.
 *
 * Fail fast: the validator stops at the first byte that cannot start or
 * continue a well-formed sequence, given everything before it. Because the
 * table constrains the second byte of each form, "E0 80" fails at 80 and
 * "F4 90" fails at 90, without waiting for the rest of the sequence; this is
 * what the Autobahn test suite's cases 6.x ("fail fast on invalid UTF-8")
 * expect of a WebSocket endpoint. A sequence cut short by the end of the text
 * is only detectable at the end: wh_utf8v_complete() says whether the text
 * fed so far ends on a character boundary.
 *
 * Speed: runs of ASCII are skipped eight bytes at a time.
 */
#ifndef WH_PROTO_UTF8_VALID_H
#define WH_PROTO_UTF8_VALID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Validator state; private fields. Zero-filled (or wh_utf8v_init) is the
 * start of a text. */
struct wh_utf8v {
  uint8_t need; /* continuation bytes still expected in this character */
  uint8_t lo;   /* the range the next continuation byte must fall in */
  uint8_t hi;
  uint8_t bad;  /* an invalid byte was seen: sticky */
};

void wh_utf8v_init(struct wh_utf8v *v);

/* Validates |n| more bytes at |p| (|p| may be NULL when |n| is 0). Returns
 * |n| when every byte is acceptable so far; otherwise the offset in |p| of
 * the first byte that is not, and the state turns bad: every later call
 * returns 0. Any split of a text gives the same verdict at the same byte. */
size_t wh_utf8v_feed(struct wh_utf8v *v, const void *p, size_t n);

/* True when no invalid byte was seen and the text fed so far ends on a
 * character boundary, i.e. it is well-formed UTF-8 in full. */
bool wh_utf8v_complete(const struct wh_utf8v *v);

/* True when no invalid byte was seen (the text may still end mid-character). */
bool wh_utf8v_ok(const struct wh_utf8v *v);

/* One-shot: true when the |n| bytes at |p| are well-formed UTF-8. */
bool wh_utf8_valid(const void *p, size_t n);

#endif
