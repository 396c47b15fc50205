/* The WebSocket frame codec (src/proto/ws_*.c) and the UTF-8 validator
 * (src/proto/utf8_valid.c): every rule of ws.h with the close code it fails
 * with and the byte it fails at, every length encoding boundary, whole input
 * against every split of it, masking against a byte-wise reference at every
 * offset and alignment, the close payload, and the Autobahn-style UTF-8
 * cases, with an exhaustive comparison against a reference decoder. Every
 * input is fed from a heap block of exactly its size, so AddressSanitizer
 * catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <winhttp.h>

#include "wh_test.h"

#include "proto/utf8_valid.h"
#include "proto/ws.h"
#include "util/buf.h"
#include "utf8_ref.h" /* fuzz/: the fuzzers' reference checker */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal with its length, NULs inside included. */
#define T(s) (const uint8_t *)(s), sizeof(s) - 1

#define OK ERROR_SUCCESS
#define BAD ERROR_WINHTTP_INVALID_SERVER_RESPONSE
#define PARAM ERROR_INVALID_PARAMETER

#define FIN 0x80u
#define RSV1 0x40u

/* --- helpers --------------------------------------------------------------- */

/* A growable byte string, for building streams of frames. */
struct bytes {
  uint8_t *p;
  size_t n, cap;
};

static void put(struct bytes *b, const void *p, size_t n)
{
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + n)
      cap *= 2;
    b->p = realloc(b->p, cap);
    assert_non_null(b->p);
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put_byte(struct bytes *b, unsigned v)
{
  uint8_t c = (uint8_t)v;
  put(b, &c, 1);
}

/* A server frame head: first byte |b0|, length |len| in the encoding |enc|
 * (0 minimal, 2 the 16-bit form, 8 the 64-bit form), no mask. */
static void put_head(struct bytes *b, unsigned b0, uint64_t len, int enc)
{
  put_byte(b, b0);
  if (enc == 0)
    enc = len <= 125 ? 1 : len <= 0xffff ? 2 : 8;
  if (enc == 1) {
    put_byte(b, (unsigned)len);
  } else if (enc == 2) {
    put_byte(b, 126);
    put_byte(b, (unsigned)(len >> 8) & 0xffu);
    put_byte(b, (unsigned)len & 0xffu);
  } else {
    put_byte(b, 127);
    for (int i = 0; i < 8; i++)
      put_byte(b, (unsigned)(len >> (56 - 8 * i)) & 0xffu);
  }
}

static void put_frame(struct bytes *b, unsigned b0, const void *payload, size_t len)
{
  put_head(b, b0, len, 0);
  put(b, payload, len);
}

static void put_str_frame(struct bytes *b, unsigned b0, const char *s)
{
  put_frame(b, b0, s, strlen(s));
}

/* --- a transcript of the decoder's events ---------------------------------- */

/* Everything the decoder reported, as text: data spans are concatenated, so
 * any split of the same input gives the same transcript.
 *   FRAME   "F<op>[f][c]:<len> "   f = fin, c = compressed
 *   DATA    the bytes (printable ASCII as is, others \xNN), then "] " at the
 *           end of a frame, "]] " at the end of a message
 *   CONTROL "C<op>:<payload> ", for a close "C8:<code>:<reason> "
 *   end     "@<bytes consumed>", then "!<fail code>" on error, "X" once closed */
struct run {
  struct wh_buf log;
  DWORD err;
  unsigned fail;
  size_t consumed;
};

static void log_bytes(struct wh_buf *log, const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char tmp[8];
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
      snprintf(tmp, sizeof(tmp), "%c", p[i]);
    else
      snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
    assert_int_equal(wh_buf_adds(log, tmp), 0);
  }
}

static void log_fmt(struct wh_buf *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_fmt(struct wh_buf *log, const char *fmt, ...)
{
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  assert_int_equal(wh_buf_adds(log, tmp), 0);
}

static void log_event(struct wh_buf *log, const struct wh_ws_event *ev)
{
  switch (ev->type) {
  case WH_WS_EV_FRAME:
    log_fmt(log, "F%X%s%s:%llu ", ev->opcode, ev->fin ? "f" : "", ev->compressed ? "c" : "",
            (unsigned long long)ev->frame_len);
    break;
  case WH_WS_EV_DATA:
    log_bytes(log, ev->data, ev->len);
    if (ev->message_end)
      log_fmt(log, "]] ");
    else if (ev->frame_end)
      log_fmt(log, "] ");
    break;
  case WH_WS_EV_CONTROL:
    log_fmt(log, "C%X:", ev->opcode);
    if (ev->opcode == WH_WS_OP_CLOSE) {
      log_fmt(log, "%u:", ev->close_code);
      log_bytes(log, ev->reason, ev->reason_len);
    } else {
      log_bytes(log, ev->data, ev->len);
    }
    log_fmt(log, " ");
    break;
  default:
    fail_msg("unexpected event %d", (int)ev->type);
  }
}

/* Checks the invariants of one event against the call that gave it. */
static void check_event(const struct wh_ws_decoder *d, const uint8_t *in, size_t len, size_t used,
                        const struct wh_ws_event *ev)
{
  assert_true(used <= len);
  switch (ev->type) {
  case WH_WS_EV_NONE:
    assert_int_equal(used, len);
    break;
  case WH_WS_EV_DATA:
    assert_true(ev->opcode == WH_WS_OP_TEXT || ev->opcode == WH_WS_OP_BINARY);
    if (ev->len) {
      /* In place: the span is the tail of what this call consumed. */
      assert_ptr_equal(ev->data + ev->len, in + used);
      assert_true(ev->data >= in);
    } else {
      assert_true(ev->frame_end);
      assert_int_equal(used, 0);
    }
    if (ev->message_end)
      assert_true(ev->frame_end);
    break;
  case WH_WS_EV_CONTROL:
    assert_true(ev->len <= WH_WS_CONTROL_MAX);
    assert_int_equal(ev->len, ev->frame_len);
    if (ev->opcode == WH_WS_OP_CLOSE)
      assert_true(wh_ws_decoder_closed(d));
    break;
  case WH_WS_EV_FRAME:
    assert_true(ev->opcode <= WH_WS_OP_BINARY);
    break;
  }
}

/* Decodes |in|/|n| cut at the ascending offsets |cuts|[0..ncuts), each piece
 * from its own exact heap block, calling until NONE after every piece. */
static void run_cuts(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts, uint64_t max,
                     bool deflate, struct run *r)
{
  struct wh_ws_decoder d;
  wh_ws_decoder_init(&d, max, deflate);
  wh_buf_init(&r->log, SIZE_MAX / 2);
  r->err = OK;
  r->consumed = 0;

  size_t start = 0;
  for (size_t k = 0; k <= ncuts && r->err == OK; k++) {
    size_t end = k < ncuts ? cuts[k] : n;
    assert_true(end >= start && end <= n);
    uint8_t *piece = wh_dup_exact(in + start, end - start);
    size_t off = 0, plen = end - start;
    for (;;) {
      struct wh_ws_event ev;
      size_t used = 12345;
      r->err = wh_ws_decode(&d, piece + off, plen - off, &used, &ev);
      assert_true(used <= plen - off);
      r->consumed += used;
      if (r->err) {
        assert_int_equal(ev.type, WH_WS_EV_NONE);
        break;
      }
      check_event(&d, piece + off, plen - off, used, &ev);
      off += used;
      if (ev.type == WH_WS_EV_NONE)
        break;
      log_event(&r->log, &ev);
    }
    free(piece);
    start = end;
  }
  r->fail = wh_ws_decoder_fail_code(&d);
  log_fmt(&r->log, "@%zu", r->consumed);
  if (r->err) {
    assert_int_equal(r->err, BAD);
    assert_true(r->fail == 1002 || r->fail == 1007 || r->fail == 1009);
    log_fmt(&r->log, "!%u", r->fail);
    /* Sticky: consumes nothing, reports nothing, same error. */
    struct wh_ws_event ev;
    size_t used = 1;
    assert_int_equal(wh_ws_decode(&d, "\x81\x00", 2, &used, &ev), r->err);
    assert_int_equal(used, 0);
    assert_int_equal(ev.type, WH_WS_EV_NONE);
  } else {
    assert_int_equal(r->fail, 0);
    assert_int_equal(r->consumed, n);
    if (wh_ws_decoder_closed(&d))
      log_fmt(&r->log, "X");
  }
}

static char *run_log(const uint8_t *in, size_t n, uint64_t max, bool deflate)
{
  struct run r;
  run_cuts(in, n, NULL, 0, max, deflate, &r);
  return wh_buf_take(&r.log, NULL);
}

static void assert_log(const uint8_t *in, size_t n, uint64_t max, bool deflate, const char *want)
{
  char *got = run_log(in, n, max, deflate);
  assert_non_null(got);
  if (strcmp(got, want) != 0)
    fail_msg("transcript\n  got  %s\n  want %s", got, want);
  free(got);
}

/* The same transcript whole, byte by byte, split in two at every offset,
 * and in three at every pair of offsets (for inputs up to 96 bytes). */
static void assert_split_invariant(const uint8_t *in, size_t n, uint64_t max, bool deflate)
{
  char *whole = run_log(in, n, max, deflate);
  assert_non_null(whole);

  size_t *cuts = malloc((n + 1) * sizeof(*cuts));
  assert_non_null(cuts);
  for (size_t i = 0; i < n; i++)
    cuts[i] = i + 1;
  struct run r;
  run_cuts(in, n, cuts, n ? n - 1 : 0, max, deflate, &r);
  char *s = wh_buf_take(&r.log, NULL);
  if (strcmp(s, whole) != 0)
    fail_msg("byte by byte\n  got  %s\n  want %s", s, whole);
  free(s);

  for (size_t a = 0; a <= n; a++) {
    run_cuts(in, n, &a, 1, max, deflate, &r);
    s = wh_buf_take(&r.log, NULL);
    if (strcmp(s, whole) != 0)
      fail_msg("split at %zu\n  got  %s\n  want %s", a, s, whole);
    free(s);
    if (n > 96)
      continue;
    for (size_t b = a; b <= n; b++) {
      size_t two[2] = {a, b};
      run_cuts(in, n, two, 2, max, deflate, &r);
      s = wh_buf_take(&r.log, NULL);
      if (strcmp(s, whole) != 0)
        fail_msg("split at %zu and %zu\n  got  %s\n  want %s", a, b, s, whole);
      free(s);
    }
  }
  free(cuts);
  free(whole);
}

/* --- UTF-8: against a reference decoder ------------------------------------ */

/* The validator on |p|/|n| against the fuzzers' reference (fuzz/utf8_ref.h,
 * which shares nothing with it): the same verdict, and a failure exactly at
 * the first byte that no completion of the text can follow. */
static void utf8_vs_reference(const uint8_t *p, size_t n)
{
  struct ref_utf8 ref = {0};
  size_t ref_at = 0;
  while (ref_at < n && ref_utf8_byte(&ref, p[ref_at]))
    ref_at++;
  struct wh_utf8v v;
  wh_utf8v_init(&v);
  size_t at = wh_utf8v_feed(&v, p, n);
  if (at != ref_at)
    fail_msg("failed at %zu of %zu bytes starting %02x, want %zu", at, n, n ? p[0] : 0, ref_at);
  assert_int_equal(wh_utf8v_ok(&v), at == n);
  if (wh_utf8v_complete(&v) != (at == n && ref_utf8_complete(&ref)))
    fail_msg("complete=%d for %zu bytes starting %02x", wh_utf8v_complete(&v), n, n ? p[0] : 0);
  assert_int_equal(wh_utf8_valid(p, n), ref_utf8_valid(p, n));
}

/* --- UTF-8 validator ------------------------------------------------------- */

struct utf8_case {
  const uint8_t *p;
  size_t n;
  long bad;      /* offset of the first invalid byte, -1 if none */
  bool complete; /* when none: ends on a character boundary */
};

static const struct utf8_case utf8_cases[] = {
  {T(""), -1, true},
  {T("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"), -1, true},
  /* Autobahn 6.2: "κόσμε" */
  {T("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), -1, true},
  {T("\0"), -1, true},
  /* first and last of each length (Autobahn 6.6-6.8 boundaries) */
  {T("\x7f"), -1, true},
  {T("\xc2\x80"), -1, true},
  {T("\xdf\xbf"), -1, true},
  {T("\xe0\xa0\x80"), -1, true},
  {T("\xef\xbf\xbf"), -1, true},
  {T("\xf0\x90\x80\x80"), -1, true},
  {T("\xf4\x8f\xbf\xbf"), -1, true},
  {T("\xed\x9f\xbf"), -1, true},   /* U+D7FF */
  {T("\xee\x80\x80"), -1, true},   /* U+E000 */
  {T("\xef\xbf\xbd"), -1, true},   /* U+FFFD */
  {T("\xef\xbf\xbe"), -1, true},   /* U+FFFE: a noncharacter, still valid */
  /* above U+10FFFF (Autobahn 6.3.1 "\xf4\x90\x80\x80"; 6.8) */
  {T("\xf4\x90\x80\x80"), 1, false},
  {T("\xf5\x80\x80\x80"), 0, false},
  {T("\xf7\xbf\xbf\xbf"), 0, false},
  {T("\xf8\x88\x80\x80\x80"), 0, false},
  {T("\xfc\x84\x80\x80\x80\x80"), 0, false},
  {T("\xfe"), 0, false},
  {T("\xff"), 0, false},
  /* lone continuation bytes (6.10) */
  {T("\x80"), 0, false},
  {T("\xbf"), 0, false},
  {T("a\x80\xbf"), 1, false},
  /* lead bytes followed by something else (6.11-6.13) */
  {T("\xc2 "), 1, false},
  {T("\xe1\x80 "), 2, false},
  {T("\xf1\x80\x80 "), 3, false},
  {T("\xc2\xc2\x80"), 1, false},
  /* overlongs (6.17-6.19): "/" and the largest overlong of each length */
  {T("\xc0\xaf"), 0, false},
  {T("\xc1\xbf"), 0, false},
  {T("\xe0\x80\xaf"), 1, false},
  {T("\xe0\x9f\xbf"), 1, false},
  {T("\xf0\x80\x80\xaf"), 1, false},
  {T("\xf0\x8f\xbf\xbf"), 1, false},
  {T("\xc0\x80"), 0, false},
  /* surrogates, alone and paired (6.20, 6.21) */
  {T("\xed\xa0\x80"), 1, false},
  {T("\xed\xad\xbf"), 1, false},
  {T("\xed\xbf\xbf"), 1, false},
  {T("\xed\xa0\x80\xed\xb0\x80"), 1, false},
  /* Autobahn 6.4.1-6.4.4: fail fast in the middle of a text */
  {T("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80" "edited"), 12, false},
  {T("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited"), 12, false},
  /* truncated at the end: not yet invalid, not complete */
  {T("\xc2"), -1, false},
  {T("\xe1\x80"), -1, false},
  {T("\xf0\x90\x80"), -1, false},
  {T("\xf4"), -1, false},
  {T("abc\xed"), -1, false},
  /* ASCII runs longer than the 16-byte stride, with a bad byte after them */
  {T("0123456789abcdef0123456789abcdef\x80"), 32, false},
  {T("0123456789abcdef0123456789abcde\xc3\xa9"), -1, true},
  {T("0123456789abcdef0123456789abcdef0123456789\xff"), 42, false},
};

static void check_utf8_case(const struct utf8_case *c, size_t idx)
{
  size_t n = c->n;
  /* One shot. */
  uint8_t *p = wh_dup_exact(c->p, n);
  struct wh_utf8v v;
  wh_utf8v_init(&v);
  size_t at = wh_utf8v_feed(&v, p, n);
  if (c->bad >= 0) {
    if (at != (size_t)c->bad)
      fail_msg("case %zu: failed at %zu, want %ld", idx, at, c->bad);
    assert_false(wh_utf8v_ok(&v));
    assert_int_equal(wh_utf8v_feed(&v, "a", 1), 0); /* sticky */
  } else {
    if (at != n || wh_utf8v_complete(&v) != c->complete)
      fail_msg("case %zu: at %zu complete %d", idx, at, wh_utf8v_complete(&v));
  }
  assert_int_equal(wh_utf8_valid(p, n), c->bad < 0 && c->complete);
  utf8_vs_reference(p, n);
  free(p);

  /* Every split in two, each half from its own block, and byte by byte:
   * the same verdict at the same byte. */
  for (size_t cut = 0; cut <= n; cut++) {
    uint8_t *a = wh_dup_exact(c->p, cut), *b = wh_dup_exact(c->p + cut, n - cut);
    wh_utf8v_init(&v);
    size_t r1 = wh_utf8v_feed(&v, a, cut);
    size_t pos = r1;
    if (r1 == cut)
      pos = cut + wh_utf8v_feed(&v, b, n - cut);
    if (c->bad >= 0)
      assert_int_equal(pos, (size_t)c->bad);
    else
      assert_true(pos == n && wh_utf8v_complete(&v) == c->complete);
    free(a);
    free(b);
  }
  wh_utf8v_init(&v);
  size_t i = 0;
  for (; i < n; i++) {
    uint8_t *one = wh_dup_exact(c->p + i, 1);
    size_t r = wh_utf8v_feed(&v, one, 1);
    free(one);
    if (r != 1)
      break;
  }
  if (c->bad >= 0)
    assert_int_equal(i, (size_t)c->bad);
  else
    assert_true(i == n && wh_utf8v_complete(&v) == c->complete);
}

static void test_utf8_cases(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(utf8_cases); i++)
    check_utf8_case(&utf8_cases[i], i);
  /* A zero-filled state is a fresh one; NULL with no bytes is fine. */
  struct wh_utf8v v;
  memset(&v, 0, sizeof(v));
  assert_int_equal(wh_utf8v_feed(&v, NULL, 0), 0);
  assert_int_equal(wh_utf8v_feed(&v, "\xc3\xa9", 2), 2);
  assert_true(wh_utf8v_complete(&v));
  assert_true(wh_utf8_valid(NULL, 0));
}

/* Every scalar value encodes to valid UTF-8; surrogates and values above
 * U+10FFFF in the same bit patterns do not. */
static void test_utf8_every_code_point(void **state)
{
  (void)state;
  for (uint32_t cp = 0; cp < 0x200000; cp++) {
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
      b[0] = (uint8_t)cp, n = 1;
    } else if (cp < 0x800) {
      b[0] = (uint8_t)(0xc0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
      b[0] = (uint8_t)(0xe0 | cp >> 12), b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
      b[2] = (uint8_t)(0x80 | (cp & 0x3f)), n = 3;
    } else {
      b[0] = (uint8_t)(0xf0 | cp >> 18), b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
      b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (uint8_t)(0x80 | (cp & 0x3f)), n = 4;
    }
    bool want = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (wh_utf8_valid(b, n) != want)
      fail_msg("U+%04X: valid=%d", (unsigned)cp, !want);
  }
}

/* Every string of one or two bytes, and every string of up to four bytes
 * over an alphabet with each range boundary, against the reference. */
static void test_utf8_exhaustive(void **state)
{
  (void)state;
  for (unsigned a = 0; a < 256; a++) {
    uint8_t s[2] = {(uint8_t)a, 0};
    utf8_vs_reference(s, 1);
    for (unsigned b = 0; b < 256; b++) {
      s[1] = (uint8_t)b;
      utf8_vs_reference(s, 2);
    }
  }
  static const uint8_t alpha[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
                                  0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee,
                                  0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff};
  const size_t k = COUNT(alpha);
  for (size_t i = 0; i < k * k * k * k; i++) {
    uint8_t s[4] = {alpha[i % k], alpha[i / k % k], alpha[i / k / k % k], alpha[i / k / k / k]};
    utf8_vs_reference(s, 4);
    if (i < k * k * k)
      utf8_vs_reference(s, 3);
  }
}

/* --- encoder --------------------------------------------------------------- */

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

struct head_case {
  unsigned op, flags;
  uint64_t len;
  const uint8_t *want;
  size_t want_len;
};

static const struct head_case head_cases[] = {
  {WH_WS_OP_TEXT, FIN, 0, T("\x81\x80\x37\xfa\x21\x3d")},
  {WH_WS_OP_TEXT, FIN, 5, T("\x81\x85\x37\xfa\x21\x3d")},
  {WH_WS_OP_BINARY, FIN, 125, T("\x82\xfd\x37\xfa\x21\x3d")},
  {WH_WS_OP_BINARY, FIN, 126, T("\x82\xfe\x00\x7e\x37\xfa\x21\x3d")},
  {WH_WS_OP_BINARY, 0, 256, T("\x02\xfe\x01\x00\x37\xfa\x21\x3d")},
  {WH_WS_OP_BINARY, FIN, 65535, T("\x82\xfe\xff\xff\x37\xfa\x21\x3d")},
  {WH_WS_OP_BINARY, FIN, 65536, T("\x82\xff\0\0\0\0\0\x01\0\0\x37\xfa\x21\x3d")},
  {WH_WS_OP_BINARY, FIN, UINT64_C(0x7fffffffffffffff),
   T("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x37\xfa\x21\x3d")},
  {WH_WS_OP_CONT, 0, 3, T("\x00\x83\x37\xfa\x21\x3d")},
  {WH_WS_OP_CONT, FIN, 3, T("\x80\x83\x37\xfa\x21\x3d")},
  {WH_WS_OP_TEXT, FIN | RSV1, 7, T("\xc1\x87\x37\xfa\x21\x3d")},
  {WH_WS_OP_BINARY, RSV1, 70000, T("\x42\xff\0\0\0\0\0\x01\x11\x70\x37\xfa\x21\x3d")},
  {WH_WS_OP_CLOSE, FIN, 2, T("\x88\x82\x37\xfa\x21\x3d")},
  {WH_WS_OP_PING, FIN, 125, T("\x89\xfd\x37\xfa\x21\x3d")},
  {WH_WS_OP_PONG, FIN, 0, T("\x8a\x80\x37\xfa\x21\x3d")},
};

static void test_encode_head(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(head_cases); i++) {
    const struct head_case *c = &head_cases[i];
    uint8_t out[WH_WS_HEAD_MAX + 1];
    memset(out, 0xee, sizeof(out));
    size_t n = 0;
    assert_int_equal(wh_ws_encode_head(c->op, c->flags, c->len, KEY, out, &n), OK);
    if (n != c->want_len || memcmp(out, c->want, n) != 0)
      fail_msg("case %zu: %zu bytes", i, n);
    assert_int_equal(out[n], 0xee); /* nothing written past the head */
  }
}

static void test_encode_head_invalid(void **state)
{
  (void)state;
  static const struct {
    unsigned op, flags;
    uint64_t len;
  } bad[] = {
    {3, FIN, 0},      {7, FIN, 0},      {0xb, FIN, 0},    {0xf, FIN, 0},
    {16, FIN, 0},     {WH_WS_OP_TEXT, FIN | 0x20u, 0},    {WH_WS_OP_TEXT, FIN | 0x10u, 0},
    {WH_WS_OP_TEXT, 0x100u, 0},                          {WH_WS_OP_PING, 0, 0},
    {WH_WS_OP_PING, FIN, 126},           {WH_WS_OP_CLOSE, FIN | RSV1, 2},
    {WH_WS_OP_PONG, FIN, 1000},          {WH_WS_OP_CONT, RSV1, 1},
    {WH_WS_OP_BINARY, FIN, UINT64_C(0x8000000000000000)},
    {WH_WS_OP_BINARY, FIN, UINT64_MAX},
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    uint8_t out[WH_WS_HEAD_MAX];
    memset(out, 0xee, sizeof(out));
    size_t n = 99;
    if (wh_ws_encode_head(bad[i].op, bad[i].flags, bad[i].len, KEY, out, &n) != PARAM)
      fail_msg("case %zu accepted", i);
    assert_int_equal(n, 99);
    assert_int_equal(out[0], 0xee);
  }
  uint8_t out[WH_WS_HEAD_MAX];
  size_t n;
  assert_int_equal(wh_ws_encode_head(WH_WS_OP_TEXT, FIN, 1, NULL, out, &n), PARAM);
}

/* --- masking --------------------------------------------------------------- */

static void mask_ref(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
                     unsigned pos)
{
  for (size_t i = 0; i < n; i++)
    dst[i] = (uint8_t)(src[i] ^ key[(pos + i) & 3]);
}

static void test_mask_reference(void **state)
{
  (void)state;
  enum { MAXN = 300, PAD = 16 };
  uint8_t src[MAXN + PAD], dst[MAXN + 2 * PAD], want[MAXN];
  for (size_t i = 0; i < sizeof(src); i++)
    src[i] = (uint8_t)(i * 131 + 7);

  for (size_t n = 0; n <= MAXN; n += n < 80 ? 1 : 37) {
    for (unsigned pos = 0; pos < 8; pos++) { /* pos is taken modulo 4 */
      for (size_t sa = 0; sa < 8; sa++) {
        mask_ref(want, src + sa, n, KEY, pos);
        for (size_t da = 0; da < 8; da++) {
          memset(dst, 0xee, sizeof(dst));
          unsigned next = wh_ws_mask(dst + PAD + da, src + sa, n, KEY, pos);
          assert_int_equal(next, (pos + n) & 3);
          if (memcmp(dst + PAD + da, want, n) != 0)
            fail_msg("n %zu pos %u src+%zu dst+%zu", n, pos, sa, da);
          for (size_t i = 0; i < PAD + da; i++)
            assert_int_equal(dst[i], 0xee); /* nothing before */
          for (size_t i = PAD + da + n; i < sizeof(dst); i++)
            assert_int_equal(dst[i], 0xee); /* nothing after */
        }
        /* In place, then unmasked back. */
        uint8_t *inplace = wh_dup_exact(src + sa, n);
        wh_ws_mask(inplace, inplace, n, KEY, pos);
        assert_memory_equal(inplace, want, n);
        wh_ws_mask(inplace, inplace, n, KEY, pos);
        assert_memory_equal(inplace, src + sa, n);
        free(inplace);
      }
    }
  }
}

/* A payload masked in pieces of every size, each continuing the previous
 * one's offset, equals the payload masked at once. */
static void test_mask_pieces(void **state)
{
  (void)state;
  enum { N = 200 };
  uint8_t src[N], want[N], got[N];
  for (size_t i = 0; i < N; i++)
    src[i] = (uint8_t)(i ^ 0x5a);
  mask_ref(want, src, N, KEY, 0);
  for (size_t step = 1; step <= 40; step++) {
    unsigned pos = 0;
    for (size_t i = 0; i < N; i += step) {
      size_t n = N - i < step ? N - i : step;
      uint8_t *piece = wh_dup_exact(src + i, n);
      pos = wh_ws_mask(piece, piece, n, KEY, pos);
      memcpy(got + i, piece, n);
      free(piece);
    }
    assert_memory_equal(got, want, N);
  }
  /* A zero-length piece changes nothing and keeps the offset. */
  assert_int_equal(wh_ws_mask(got, src, 0, KEY, 3), 3);
}

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Not a bar (a sanitizer build is many times slower than a release one):
 * prints the masking throughput on 1 MiB payloads, in place and copying,
 * and checks the result. */
static void test_mask_throughput(void **state)
{
  (void)state;
  enum { N = 1 << 20, REPS = 64 };
  uint8_t *a = malloc(N + 1), *b = malloc(N + 1);
  assert_non_null(a);
  assert_non_null(b);
  for (size_t i = 0; i < N + 1; i++)
    a[i] = (uint8_t)i;
  double t0 = now_s();
  for (int r = 0; r < REPS; r++)
    wh_ws_mask(a + 1, a + 1, N, KEY, 0); /* even count: back to the start */
  double t1 = now_s();
  for (int r = 0; r < REPS; r++)
    wh_ws_mask(b, a + 1, N, KEY, (unsigned)r);
  double t2 = now_s();
  for (size_t i = 0; i < N + 1; i++)
    assert_int_equal(a[i], (uint8_t)i);
  mask_ref(a, a + 1, N, KEY, REPS - 1);
  assert_memory_equal(a, b, N);
  printf("mask 1 MiB: in place %.2f GB/s, copying %.2f GB/s (this build)\n",
         (double)N * REPS / (t1 - t0) / 1e9, (double)N * REPS / (t2 - t1) / 1e9);
  free(a);
  free(b);
}

/* --- close payload --------------------------------------------------------- */

static void test_close_codes(void **state)
{
  (void)state;
  for (unsigned c = 0; c < 70000; c++) {
    bool want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                (c >= 3000 && c <= 4999);
    assert_int_equal(wh_ws_close_code_valid(c), want);
  }
  /* The ones named in RFC 6455 §7.4.1 that must never be on the wire. */
  assert_false(wh_ws_close_code_valid(1004));
  assert_false(wh_ws_close_code_valid(1005));
  assert_false(wh_ws_close_code_valid(1006));
  assert_false(wh_ws_close_code_valid(1015));
}

static void test_close_parse(void **state)
{
  (void)state;
  unsigned code, fail;
  const uint8_t *reason;
  size_t rlen;

  assert_int_equal(wh_ws_close_parse(NULL, 0, &code, &reason, &rlen, &fail), OK);
  assert_int_equal(code, 1005);
  assert_null(reason);
  assert_int_equal(rlen, 0);
  assert_int_equal(fail, 0);

  uint8_t *p = wh_dup_exact("\x03\xe8", 2);
  assert_int_equal(wh_ws_close_parse(p, 2, &code, &reason, &rlen, NULL), OK);
  assert_int_equal(code, 1000);
  assert_int_equal(rlen, 0);
  free(p);

  p = wh_dup_exact("\x0f\xa0g\xc3\xa9nial", 9); /* 4000 "génial" */
  assert_int_equal(wh_ws_close_parse(p, 9, &code, &reason, &rlen, &fail), OK);
  assert_int_equal(code, 4000);
  assert_ptr_equal(reason, p + 2);
  assert_int_equal(rlen, 7);
  free(p);

  static const struct {
    const uint8_t *p;
    size_t n;
    unsigned fail;
  } bad[] = {
    {T("\x03"), 1002},          {T("\x00\x00"), 1002},      {T("\x03\xe7"), 1002},
    {T("\x03\xec"), 1002},      {T("\x03\xed"), 1002},      {T("\x03\xee"), 1002},
    {T("\x03\xf7"), 1002},      {T("\x03\xf8"), 1002},      {T("\x04\x4c"), 1002},
    {T("\x07\xd0"), 1002},      {T("\x0b\xb7"), 1002},      {T("\x13\x88"), 1002},
    {T("\xff\xffok"), 1002},    {T("\x03\xe8\xff"), 1007},  {T("\x03\xe8\xc3"), 1007},
    {T("\x03\xe8\xed\xa0\x80"), 1007},
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    p = wh_dup_exact(bad[i].p, bad[i].n);
    code = 1;
    fail = 0;
    assert_int_equal(wh_ws_close_parse(p, bad[i].n, &code, &reason, &rlen, &fail), BAD);
    if (fail != bad[i].fail)
      fail_msg("case %zu: fail %u", i, fail);
    free(p);
  }
  uint8_t big[126] = {0x03, 0xe8};
  memset(big + 2, 'a', sizeof(big) - 2);
  assert_int_equal(wh_ws_close_parse(big, 126, &code, &reason, &rlen, &fail), BAD);
  assert_int_equal(fail, 1002);
  assert_int_equal(wh_ws_close_parse(big, 125, &code, &reason, &rlen, &fail), OK);
  assert_int_equal(rlen, 123);
}

static void test_close_build(void **state)
{
  (void)state;
  uint8_t out[WH_WS_CONTROL_MAX];
  size_t n = 99;

  assert_int_equal(wh_ws_close_build(1005, NULL, 0, out, &n), OK);
  assert_int_equal(n, 0);
  assert_int_equal(wh_ws_close_build(1000, NULL, 0, out, &n), OK);
  assert_int_equal(n, 2);
  assert_memory_equal(out, "\x03\xe8", 2);
  assert_int_equal(wh_ws_close_build(4999, "bye \xe2\x82\xac", 7, out, &n), OK);
  assert_int_equal(n, 9);
  assert_memory_equal(out, "\x13\x87" "bye \xe2\x82\xac", 9);

  char reason[WH_WS_CLOSE_REASON_MAX + 1];
  memset(reason, 'r', sizeof(reason));
  assert_int_equal(wh_ws_close_build(1001, reason, 123, out, &n), OK);
  assert_int_equal(n, 125);
  /* What was built parses back. */
  unsigned code;
  const uint8_t *r;
  size_t rlen;
  assert_int_equal(wh_ws_close_parse(out, n, &code, &r, &rlen, NULL), OK);
  assert_int_equal(code, 1001);
  assert_int_equal(rlen, 123);
  assert_memory_equal(r, reason, 123);

  n = 99;
  assert_int_equal(wh_ws_close_build(1001, reason, 124, out, &n), PARAM);
  assert_int_equal(wh_ws_close_build(1005, "x", 1, out, &n), PARAM);
  assert_int_equal(wh_ws_close_build(1006, NULL, 0, out, &n), PARAM);
  assert_int_equal(wh_ws_close_build(1015, NULL, 0, out, &n), PARAM);
  assert_int_equal(wh_ws_close_build(999, NULL, 0, out, &n), PARAM);
  assert_int_equal(wh_ws_close_build(5000, NULL, 0, out, &n), PARAM);
  assert_int_equal(wh_ws_close_build(1000, "\xff", 1, out, &n), PARAM);
  assert_int_equal(wh_ws_close_build(1000, NULL, 3, out, &n), PARAM);
  assert_int_equal(n, 99);
}

/* --- decoder: valid streams ------------------------------------------------ */

/* RFC 6455 §5.7's examples, as the server sends them (unmasked). */
static void test_decode_rfc_examples(void **state)
{
  (void)state;
  assert_log(T("\x81\x05Hello"), 0, false, "F1f:5 Hello]] @7");
  assert_log(T("\x01\x03Hel\x80\x02lo"), 0, false, "F1:3 Hel] F0f:2 lo]] @9");
  assert_log(T("\x89\x05Hello"), 0, false, "C9:Hello @7");
  assert_log(T("\x8a\x05Hello"), 0, false, "CA:Hello @7");

  struct bytes b = {0};
  uint8_t payload[256];
  for (size_t i = 0; i < sizeof(payload); i++)
    payload[i] = 'a' + (uint8_t)(i % 26);
  put_frame(&b, FIN | 2, payload, 256);
  assert_int_equal(b.n, 4 + 256);
  assert_memory_equal(b.p, "\x82\x7e\x01\x00", 4);
  char *log = run_log(b.p, b.n, 0, false);
  assert_true(strncmp(log, "F2f:256 abcdefghijklmnopqrstuvwxyzabcd", 38) == 0);
  assert_non_null(strstr(log, "]] @260"));
  free(log);
  free(b.p);
}

/* Each length encoding at its boundaries: the right length is announced and
 * exactly that much payload is handed out, the next frame decoded after it. */
static void test_decode_lengths(void **state)
{
  (void)state;
  static const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
  for (size_t i = 0; i < COUNT(lens); i++) {
    for (int enc = 0; enc <= 8; enc++) {
      if (enc != 0 && enc != 2 && enc != 8)
        continue;
      if (enc == 2 && lens[i] > 0xffff)
        continue;
      struct bytes b = {0};
      put_head(&b, FIN | WH_WS_OP_BINARY, lens[i], enc);
      size_t head = b.n;
      if (enc == 0)
        assert_int_equal(head, lens[i] <= 125 ? 2 : lens[i] <= 0xffff ? 4 : 10);
      for (uint64_t k = 0; k < lens[i]; k++)
        put_byte(&b, (unsigned)(k & 0xff));
      put_str_frame(&b, FIN | WH_WS_OP_PING, "p");

      struct wh_ws_decoder d;
      wh_ws_decoder_init(&d, 0, false);
      struct wh_ws_event ev;
      size_t used, off = 0;
      assert_int_equal(wh_ws_decode(&d, b.p, b.n, &used, &ev), OK);
      assert_int_equal(ev.type, WH_WS_EV_FRAME);
      assert_int_equal(ev.frame_len, lens[i]);
      assert_int_equal(used, head); /* choice: a non-minimal length is fine */
      off += used;
      assert_int_equal(wh_ws_decode(&d, b.p + off, b.n - off, &used, &ev), OK);
      assert_int_equal(ev.type, WH_WS_EV_DATA);
      assert_int_equal(ev.len, lens[i]);
      assert_true(ev.frame_end && ev.message_end);
      off += used;
      assert_int_equal(wh_ws_decode(&d, b.p + off, b.n - off, &used, &ev), OK);
      assert_int_equal(ev.type, WH_WS_EV_CONTROL);
      assert_int_equal(ev.opcode, WH_WS_OP_PING);
      off += used;
      assert_int_equal(off, b.n);
      free(b.p);
    }
  }

  /* The largest length the format allows is accepted at the head. */
  struct wh_ws_decoder d;
  wh_ws_decoder_init(&d, 0, false);
  struct wh_ws_event ev;
  size_t used;
  assert_int_equal(
      wh_ws_decode(&d, "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff" "abc", 13, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_FRAME);
  assert_int_equal(ev.frame_len, UINT64_C(0x7fffffffffffffff));
  assert_int_equal(wh_ws_decode(&d, "abc", 3, &used, &ev), OK);
  assert_int_equal(ev.len, 3);
  assert_false(ev.frame_end);
}

static void test_decode_empty_frames(void **state)
{
  (void)state;
  /* An empty message, empty fragments, an empty ping and an empty close. */
  assert_log(T("\x81\x00"), 0, false, "F1f:0 ]] @2");
  assert_log(T("\x02\x00\x00\x00\x80\x00"), 0, false, "F2:0 ] F0:0 ] F0f:0 ]] @6");
  assert_log(T("\x01\x01" "a\x89\x00\x80\x00"), 0, false, "F1:1 a] C9: F0f:0 ]] @7");
  assert_log(T("\x88\x00"), 0, false, "C8:1005: @2X");

  /* The empty DATA comes from a call with no input at all. */
  struct wh_ws_decoder d;
  wh_ws_decoder_init(&d, 0, false);
  struct wh_ws_event ev;
  size_t used;
  uint8_t *p = wh_dup_exact("\x82\x00", 2);
  assert_int_equal(wh_ws_decode(&d, p, 2, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_FRAME);
  assert_int_equal(used, 2);
  assert_int_equal(wh_ws_decode(&d, NULL, 0, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_DATA);
  assert_int_equal(ev.len, 0);
  assert_int_equal(used, 0);
  assert_true(ev.frame_end && ev.message_end);
  assert_int_equal(ev.opcode, WH_WS_OP_BINARY);
  assert_int_equal(wh_ws_decode(&d, NULL, 0, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_NONE);
  free(p);
}

/* Control frames between the fragments of a message, their payload split
 * over several feeds, the message carrying on after them. */
static void test_decode_interleaved_control(void **state)
{
  (void)state;
  struct bytes b = {0};
  put_str_frame(&b, WH_WS_OP_TEXT, "caf\xc3");       /* "café" cut inside é */
  put_str_frame(&b, FIN | WH_WS_OP_PING, "are you there?");
  put_str_frame(&b, WH_WS_OP_CONT, "\xa9 \xe2\x82");  /* é ends, € starts */
  put_str_frame(&b, FIN | WH_WS_OP_PONG, "");
  put_str_frame(&b, FIN | WH_WS_OP_CONT, "\xac!");
  put_frame(&b, FIN | WH_WS_OP_BINARY, "\xff\x00\xfe", 3);
  put(&b, "\x88\x05\x03\xe8" "bye", 7);
  const char *want = "F1:4 caf\\xc3] C9:are you there? F0:4 \\xa9 \\xe2\\x82] CA: "
                     "F0f:2 \\xac!]] F2f:3 \\xff\\x00\\xfe]] C8:1000:bye @46X";
  assert_log(b.p, b.n, 0, false, want);
  assert_split_invariant(b.p, b.n, 0, false);

  /* in_message() is true from the first fragment to the last. */
  struct wh_ws_decoder d;
  wh_ws_decoder_init(&d, 0, false);
  struct wh_ws_event ev;
  size_t used, off = 0;
  assert_false(wh_ws_decoder_in_message(&d));
  int seen_ping = 0;
  for (;;) {
    assert_int_equal(wh_ws_decode(&d, b.p + off, b.n - off, &used, &ev), OK);
    off += used;
    if (ev.type == WH_WS_EV_NONE)
      break;
    if (ev.type == WH_WS_EV_CONTROL && ev.opcode == WH_WS_OP_PING) {
      seen_ping = 1;
      assert_true(wh_ws_decoder_in_message(&d));
    }
    if (ev.type == WH_WS_EV_DATA && ev.message_end)
      assert_false(wh_ws_decoder_in_message(&d));
  }
  assert_true(seen_ping);
  assert_true(wh_ws_decoder_closed(&d));
  free(b.p);
}

/* After a Close, bytes are consumed and ignored. */
static void test_decode_after_close(void **state)
{
  (void)state;
  assert_log(T("\x88\x02\x03\xe9\x81\x02hi\xff\xff\xff"), 0, false, "C8:1001: @11X");
  struct wh_ws_decoder d;
  wh_ws_decoder_init(&d, 0, false);
  struct wh_ws_event ev;
  size_t used;
  assert_int_equal(wh_ws_decode(&d, "\x88\x00", 2, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_CONTROL);
  assert_true(wh_ws_decoder_closed(&d));
  assert_int_equal(wh_ws_decode(&d, "\x89\x00", 2, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_NONE);
  assert_int_equal(used, 2);
  assert_int_equal(wh_ws_decoder_fail_code(&d), 0);
}

/* Every close code a server might send: the valid ones reach the engine,
 * the rest fail the connection with 1002 at the end of the payload. */
static void test_decode_close_codes(void **state)
{
  (void)state;
  for (unsigned c = 0; c <= 0xffff; c++) {
    uint8_t f[4] = {0x88, 0x02, (uint8_t)(c >> 8), (uint8_t)c};
    struct wh_ws_decoder d;
    wh_ws_decoder_init(&d, 0, false);
    struct wh_ws_event ev;
    size_t used;
    DWORD err = wh_ws_decode(&d, f, 4, &used, &ev);
    if (wh_ws_close_code_valid(c)) {
      assert_int_equal(err, OK);
      assert_int_equal(ev.type, WH_WS_EV_CONTROL);
      assert_int_equal(ev.close_code, c);
      assert_int_equal(ev.reason_len, 0);
    } else {
      assert_int_equal(err, BAD);
      assert_int_equal(wh_ws_decoder_fail_code(&d), 1002);
      assert_int_equal(used, 4);
    }
  }
}

static void test_decode_deflate(void **state)
{
  (void)state;
  /* RSV1 on a message's first frame only; the flag holds for the message;
   * compressed text is not UTF-8 checked (it is deflate data). */
  struct bytes b = {0};
  put_frame(&b, RSV1 | WH_WS_OP_TEXT, "\xff\xfe", 2);
  put_str_frame(&b, FIN | WH_WS_OP_PING, "x");
  put_frame(&b, FIN | WH_WS_OP_CONT, "\xc3", 1);
  put_frame(&b, FIN | WH_WS_OP_TEXT, "ok", 2);
  put_frame(&b, FIN | RSV1 | WH_WS_OP_BINARY, "z", 1);
  assert_log(b.p, b.n, 0, true,
             "F1c:2 \\xff\\xfe] C9:x F0fc:1 \\xc3]] F1f:2 ok]] F2fc:1 z]] @17");
  assert_split_invariant(b.p, b.n, 0, true);
  free(b.p);
}

/* --- decoder: failures ----------------------------------------------------- */

struct fail_case {
  const char *name;
  const uint8_t *p;
  size_t n;
  bool deflate;
  uint64_t max;
  unsigned fail;   /* 0: decodes fine */
  size_t at;       /* bytes consumed when it fails: the bad byte is the last */
};

static const struct fail_case fail_cases[] = {
  /* reserved bits */
  {"rsv1 without deflate", T("\xc1\x01" "a"), false, 0, 1002, 1},
  {"rsv2", T("\xa1\x01" "a"), false, 0, 1002, 1},
  {"rsv3", T("\x91\x01" "a"), false, 0, 1002, 1},
  {"rsv2 with deflate", T("\xa2\x00"), true, 0, 1002, 1},
  {"rsv1 with deflate", T("\xc1\x01" "a"), true, 0, 0, 3},
  {"rsv1 on continuation", T("\x41\x01" "a\xc0\x01" "b"), true, 0, 1002, 4},
  {"rsv1 on ping", T("\xc9\x00"), true, 0, 1002, 1},
  {"rsv1 on close", T("\xc8\x00"), true, 0, 1002, 1},
  /* reserved opcodes */
  {"opcode 3", T("\x83\x00"), false, 0, 1002, 1},
  {"opcode 4", T("\x84\x00"), false, 0, 1002, 1},
  {"opcode 5", T("\x85\x00"), false, 0, 1002, 1},
  {"opcode 6", T("\x86\x00"), false, 0, 1002, 1},
  {"opcode 7", T("\x87\x00"), false, 0, 1002, 1},
  {"opcode B", T("\x8b\x00"), false, 0, 1002, 1},
  {"opcode C", T("\x8c\x00"), false, 0, 1002, 1},
  {"opcode D", T("\x8d\x00"), false, 0, 1002, 1},
  {"opcode E", T("\x8e\x00"), false, 0, 1002, 1},
  {"opcode F", T("\x8f\x00"), false, 0, 1002, 1},
  {"opcode 3 mid-message", T("\x01\x01" "a\x03\x00"), false, 0, 1002, 4},
  /* masking */
  {"masked text", T("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), false, 0, 1002, 2},
  {"masked empty ping", T("\x89\x80\0\0\0\0"), false, 0, 1002, 2},
  /* control frames */
  {"ping 126 bytes", T("\x89\x7e\x00\x7e"), false, 0, 1002, 4},
  {"close 64-bit 200", T("\x88\x7f\0\0\0\0\0\0\0\xc8"), false, 0, 1002, 10},
  {"ping 125 in 16 bits", T("\x89\x7e\x00\x7d"), false, 0, 0, 4},
  {"fragmented ping", T("\x09\x01" "a"), false, 0, 1002, 1},
  {"fragmented close", T("\x08\x02\x03\xe8"), false, 0, 1002, 1},
  {"fragmented pong", T("\x0a\x00"), false, 0, 1002, 1},
  /* fragmentation */
  {"continuation first", T("\x80\x01" "a"), false, 0, 1002, 1},
  {"continuation after end", T("\x81\x01" "a\x80\x01" "b"), false, 0, 1002, 4},
  {"text in a message", T("\x01\x01" "a\x81\x01" "b"), false, 0, 1002, 4},
  {"binary in a message", T("\x02\x01" "a\x82\x01" "b"), false, 0, 1002, 4},
  {"text after ping in a message", T("\x01\x01" "a\x89\x00\x01\x00"), false, 0, 1002, 6},
  /* lengths */
  {"64-bit top bit", T("\x82\x7f\x80\0\0\0\0\0\0\0"), false, 0, 1002, 10},
  {"64-bit all ones", T("\x82\x7f\xff\xff\xff\xff\xff\xff\xff\xff"), false, 0, 1002, 10},
  {"16-bit 5 (non-minimal)", T("\x81\x7e\x00\x05hello"), false, 0, 0, 9},
  {"64-bit 5 (non-minimal)", T("\x81\x7f\0\0\0\0\0\0\0\x05hello"), false, 0, 0, 15},
  /* close payloads */
  {"close 1 byte", T("\x88\x01\x03"), false, 0, 1002, 3},
  {"close 999", T("\x88\x02\x03\xe7"), false, 0, 1002, 4},
  {"close 1004", T("\x88\x02\x03\xec"), false, 0, 1002, 4},
  {"close 1005", T("\x88\x02\x03\xed"), false, 0, 1002, 4},
  {"close 1006", T("\x88\x02\x03\xee"), false, 0, 1002, 4},
  {"close 1015", T("\x88\x02\x03\xf7"), false, 0, 1002, 4},
  {"close 1016", T("\x88\x02\x03\xf8"), false, 0, 1002, 4},
  {"close 2999", T("\x88\x02\x0b\xb7"), false, 0, 1002, 4},
  {"close 5000", T("\x88\x02\x13\x88"), false, 0, 1002, 4},
  {"close 1014", T("\x88\x02\x03\xf6"), false, 0, 0, 4},
  {"close 3000", T("\x88\x02\x0b\xb8"), false, 0, 0, 4},
  {"close bad reason", T("\x88\x06\x03\xe8" "ab\xc0\xaf"), false, 0, 1007, 8},
  {"close cut reason", T("\x88\x05\x03\xe8" "a\xe2\x82"), false, 0, 1007, 7},
  /* UTF-8 in text messages */
  {"text bad byte", T("\x81\x03" "a\xff" "b"), false, 0, 1007, 4},
  {"text overlong", T("\x81\x02\xc0\xaf"), false, 0, 1007, 3},
  {"text surrogate", T("\x81\x03\xed\xa0\x80"), false, 0, 1007, 4},
  {"text above 10FFFF", T("\x81\x04\xf4\x90\x80\x80"), false, 0, 1007, 4},
  {"text lone continuation", T("\x81\x01\x80"), false, 0, 1007, 3},
  {"text cut at end", T("\x81\x02" "a\xc3"), false, 0, 1007, 4},
  {"text cut at end of fragments", T("\x01\x01\xe2\x80\x01\x82"), false, 0, 1007, 6},
  {"text cut, empty last frame", T("\x01\x01\xe2\x80\x00"), false, 0, 1007, 5},
  {"text fail fast across frames", T("\x01\x02\xce\xba\x00\x02\xf4\x90\x80\x04" "edit"), false, 0,
   1007, 8},
  {"binary not checked", T("\x82\x03" "a\xff\xc3"), false, 0, 0, 5},
  /* message size */
  {"too big at once", T("\x81\x05" "hello"), false, 4, 1009, 2},
  {"exactly the limit", T("\x81\x04" "hell"), false, 4, 0, 6},
  {"too big in fragments", T("\x01\x03" "abc\x80\x02" "de"), false, 4, 1009, 7},
  {"limit with ping between", T("\x01\x02" "ab\x89\x03" "xyz\x80\x02" "cd"), false, 4, 0, 13},
  {"too big 16-bit", T("\x82\x7e\x01\x00"), false, 255, 1009, 4},
  {"too big 64-bit", T("\x82\x7f\0\0\0\x01\0\0\0\0"), false, 0xffffffff, 1009, 10},
  {"big ping is no message", T("\x89\x05" "hello"), false, 1, 0, 7},
  {"limit resets per message", T("\x81\x03" "abc\x81\x03" "def"), false, 3, 0, 10},
};

static void test_decode_failures(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(fail_cases); i++) {
    const struct fail_case *c = &fail_cases[i];
    struct run r;
    run_cuts(c->p, c->n, NULL, 0, c->max, c->deflate, &r);
    wh_buf_free(&r.log);
    if ((c->fail != 0) != (r.err != OK) || r.fail != c->fail)
      fail_msg("%s: err %u fail %u, want fail %u", c->name, (unsigned)r.err, r.fail, c->fail);
    if (c->fail && r.consumed != c->at)
      fail_msg("%s: failed after %zu bytes, want %zu", c->name, r.consumed, c->at);
    /* Fail fast: the bytes before the bad one raise nothing. */
    if (c->fail) {
      run_cuts(c->p, c->at - 1, NULL, 0, c->max, c->deflate, &r);
      wh_buf_free(&r.log);
      if (r.err != OK)
        fail_msg("%s: failed before its bad byte", c->name);
    }
    assert_split_invariant(c->p, c->n, c->max, c->deflate);
  }
}

/* The payload before a bad byte is handed out, in the call that meets it;
 * the next call fails at the bad byte. */
static void test_decode_utf8_prefix(void **state)
{
  (void)state;
  struct wh_ws_decoder d;
  wh_ws_decoder_init(&d, 0, false);
  struct wh_ws_event ev;
  size_t used;
  uint8_t *p = wh_dup_exact("\x81\x06" "abc", 5);
  assert_int_equal(wh_ws_decode(&d, p, 5, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_FRAME);
  assert_int_equal(wh_ws_decode(&d, p + 2, 3, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_DATA);
  assert_int_equal(ev.len, 3);
  assert_false(ev.frame_end);
  free(p);
  p = wh_dup_exact("d\xf5" "f", 3);
  assert_int_equal(wh_ws_decode(&d, p, 3, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_DATA);
  assert_ptr_equal(ev.data, p);
  assert_int_equal(ev.len, 1);
  assert_int_equal(used, 1);
  assert_false(ev.frame_end);
  assert_int_equal(wh_ws_decode(&d, p + 1, 2, &used, &ev), BAD);
  assert_int_equal(ev.type, WH_WS_EV_NONE);
  assert_null(ev.data);
  assert_int_equal(used, 1);
  assert_int_equal(wh_ws_decoder_fail_code(&d), 1007);
  free(p);

  /* A message whose last byte leaves a character open: everything before
   * that byte comes out, then the error, at that byte. */
  wh_ws_decoder_init(&d, 0, false);
  p = wh_dup_exact("\x81\x04" "ab\xe2\x82", 6);
  assert_int_equal(wh_ws_decode(&d, p, 6, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_FRAME);
  assert_int_equal(wh_ws_decode(&d, p + 2, 4, &used, &ev), OK);
  assert_int_equal(ev.type, WH_WS_EV_DATA);
  assert_int_equal(ev.len, 3);
  assert_false(ev.frame_end);
  assert_int_equal(wh_ws_decode(&d, p + 5, 1, &used, &ev), BAD);
  assert_int_equal(used, 1);
  assert_int_equal(wh_ws_decoder_fail_code(&d), 1007);
  free(p);
}

/* --- decoder: splits ------------------------------------------------------- */

/* Multi-frame streams, valid and not, give the same events and the same
 * verdict at the same byte however they are cut. */
static void test_decode_splits(void **state)
{
  (void)state;
  struct bytes b = {0};

  /* A fragmented text message with a ping inside and a character cut
   * across the fragments, then binary, then a close with a reason. */
  put_str_frame(&b, WH_WS_OP_TEXT, "\xce\xba\xe1\xbd");
  put_str_frame(&b, FIN | WH_WS_OP_PING, "ping!");
  put_str_frame(&b, FIN | WH_WS_OP_CONT, "\xb9\xcf\x83\xce\xbc\xce\xb5");
  put_frame(&b, FIN | WH_WS_OP_BINARY, "\0\1\2\3", 4);
  put(&b, "\x88\x09\x03\xe8g\xc3\xa9nial", 11);
  assert_log(b.p, b.n, 0, false,
             "F1:4 \\xce\\xba\\xe1\\xbd] C9:ping! F0f:7 \\xb9\\xcf\\x83\\xce\\xbc\\xce\\xb5]] "
             "F2f:4 \\x00\\x01\\x02\\x03]] C8:1000:g\\xc3\\xa9nial @39X");
  assert_split_invariant(b.p, b.n, 0, false);

  /* The same with a 16-bit length frame inside. */
  b.n = 0;
  uint8_t mid[300];
  memset(mid, 'm', sizeof(mid));
  put_frame(&b, WH_WS_OP_BINARY, mid, sizeof(mid));
  put_str_frame(&b, FIN | WH_WS_OP_PONG, "pong");
  put_frame(&b, FIN | WH_WS_OP_CONT, "end", 3);
  assert_split_invariant(b.p, b.n, 0, false);

  /* Failing streams: fail fast mid-message, too big at the second head. */
  b.n = 0;
  put_str_frame(&b, WH_WS_OP_TEXT, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5");
  put_str_frame(&b, FIN | WH_WS_OP_PING, "");
  put_str_frame(&b, WH_WS_OP_CONT, "\xf4\x90\x80\x80");
  put_str_frame(&b, FIN | WH_WS_OP_CONT, "edited");
  assert_log(b.p, b.n, 0, false,
             "F1:11 \\xce\\xba\\xe1\\xbd\\xb9\\xcf\\x83\\xce\\xbc\\xce\\xb5] C9: F0:4 \\xf4@19!1007");
  assert_split_invariant(b.p, b.n, 0, false);

  b.n = 0;
  put_str_frame(&b, WH_WS_OP_BINARY, "0123456789");
  put_str_frame(&b, FIN | WH_WS_OP_CONT, "0123456789");
  assert_log(b.p, b.n, 15, false, "F2:10 0123456789] @14!1009");
  assert_split_invariant(b.p, b.n, 15, false);
  free(b.p);
}

/* --- encoder and decoder together ------------------------------------------ */

/* A client frame the encoder built and masked, turned into the server frame
 * it stands for (mask bit and key removed, payload unmasked), decodes to the
 * original payload. */
static void test_roundtrip(void **state)
{
  (void)state;
  static const uint64_t lens[] = {0, 1, 125, 126, 65535, 65536, 100000};
  for (size_t i = 0; i < COUNT(lens); i++) {
    size_t n = (size_t)lens[i];
    uint8_t *payload = malloc(n + 1), *wire = malloc(n + WH_WS_HEAD_MAX);
    assert_non_null(payload);
    assert_non_null(wire);
    for (size_t k = 0; k < n; k++)
      payload[k] = (uint8_t)('a' + k % 26);
    size_t hl;
    assert_int_equal(wh_ws_encode_head(WH_WS_OP_TEXT, FIN, n, KEY, wire, &hl), OK);
    wh_ws_mask(wire + hl, payload, n, KEY, 0);
    if (n)
      assert_memory_not_equal(wire + hl, payload, n < 4 ? n : 4);

    /* Back to a server frame. */
    assert_memory_equal(wire + hl - 4, KEY, 4);
    wire[1] &= 0x7f;
    wh_ws_mask(wire + hl, wire + hl, n, KEY, 0);
    memmove(wire + hl - 4, wire + hl, n);
    size_t total = hl - 4 + n;

    struct wh_ws_decoder d;
    wh_ws_decoder_init(&d, 0, false);
    struct wh_ws_event ev;
    size_t used, off = 0, got = 0;
    for (;;) {
      assert_int_equal(wh_ws_decode(&d, wire + off, total - off, &used, &ev), OK);
      off += used;
      if (ev.type == WH_WS_EV_NONE)
        break;
      if (ev.type == WH_WS_EV_FRAME)
        assert_int_equal(ev.frame_len, n);
      if (ev.type == WH_WS_EV_DATA) {
        assert_memory_equal(ev.data, payload + got, ev.len);
        got += ev.len;
      }
    }
    assert_int_equal(got, n);
    free(payload);
    free(wire);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_utf8_cases),
    cmocka_unit_test(test_utf8_every_code_point),
    cmocka_unit_test(test_utf8_exhaustive),
    cmocka_unit_test(test_encode_head),
    cmocka_unit_test(test_encode_head_invalid),
    cmocka_unit_test(test_mask_reference),
    cmocka_unit_test(test_mask_pieces),
    cmocka_unit_test(test_mask_throughput),
    cmocka_unit_test(test_close_codes),
    cmocka_unit_test(test_close_parse),
    cmocka_unit_test(test_close_build),
    cmocka_unit_test(test_decode_rfc_examples),
    cmocka_unit_test(test_decode_lengths),
    cmocka_unit_test(test_decode_empty_frames),
    cmocka_unit_test(test_decode_interleaved_control),
    cmocka_unit_test(test_decode_after_close),
    cmocka_unit_test(test_decode_close_codes),
    cmocka_unit_test(test_decode_deflate),
    cmocka_unit_test(test_decode_failures),
    cmocka_unit_test(test_decode_utf8_prefix),
    cmocka_unit_test(test_decode_splits),
    cmocka_unit_test(test_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
