/* Tests of proto/decode.c: Content-Encoding mapping, and the streaming
 * decoder for gzip, deflate (zlib-wrapped and raw), br and zstd under every
 * way the engine may feed it: whole bodies, one byte at a time, one-byte
 * output buffers, concatenated members, trailing junk, truncation,
 * corruption, the decompression-bomb bound and allocation failure.
 *
 * gzip, deflate and zstd inputs are compressed here with zlib and libzstd.
 * libbrotlienc is not linked, so the br inputs are fixed vectors, made once
 * with BrotliEncoderCompress (quality 11, window 22) from the inputs named in
 * their comments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include <winhttp.h>

#include "proto/decode.h"
#include "util/mem.h"

/* ---- fixed br vectors ------------------------------------------------- */

/* brotli of text_block(4096) (see below). */
static const unsigned char br_text[177] = {
  0x1b, 0xff, 0x0f, 0xa0, 0x1c, 0x09, 0x36, 0x4e, 0xf2, 0xcd, 0x5d, 0x16,
  0x6b, 0x05, 0x18, 0xb3, 0x37, 0x6e, 0x30, 0x36, 0xaf, 0x94, 0x55, 0x20,
  0x78, 0x18, 0xb1, 0x03, 0x90, 0x1f, 0x1e, 0x66, 0x52, 0x98, 0x25, 0x52,
  0x23, 0x34, 0xa7, 0x97, 0x2d, 0x1e, 0xb9, 0x7f, 0x1d, 0x79, 0xea, 0xe8,
  0x77, 0xb4, 0x40, 0x28, 0x12, 0x4b, 0xa4, 0x65, 0x64, 0xe1, 0x0a, 0x4a,
  0x20, 0x14, 0x89, 0x25, 0xd2, 0x32, 0xb2, 0x70, 0x85, 0x25, 0x10, 0x8a,
  0xc4, 0x12, 0x69, 0x19, 0x59, 0xb8, 0xa2, 0x12, 0x08, 0x45, 0x62, 0x89,
  0xb4, 0x8c, 0x2c, 0x5c, 0x71, 0x09, 0x84, 0x22, 0xb1, 0x44, 0x5a, 0x46,
  0x16, 0xae, 0xa4, 0x04, 0x42, 0x91, 0x58, 0x22, 0x2d, 0x23, 0x0b, 0x57,
  0xba, 0x04, 0x42, 0x91, 0x58, 0x22, 0x2d, 0x23, 0x0b, 0x57, 0xa6, 0x04,
  0x42, 0x91, 0x58, 0x22, 0x2d, 0x23, 0x0b, 0x57, 0xb6, 0x04, 0x42, 0x91,
  0x58, 0x22, 0x2d, 0x23, 0x0b, 0x57, 0xae, 0x04, 0x42, 0x91, 0x58, 0x22,
  0x2d, 0x23, 0x3b, 0xbf, 0x15, 0x54, 0x09, 0x84, 0x22, 0xb1, 0x44, 0x5a,
  0x46, 0x16, 0xae, 0xa0, 0x04, 0x42, 0x91, 0x58, 0x22, 0x2d, 0x23, 0x0b,
  0x57, 0x58, 0x02, 0xa1, 0x48, 0x2c, 0x91, 0x1e, 0x0c,
};


/* brotli of the empty input. */
static const unsigned char br_empty[1] = {0x06};

/* brotli of 4 MiB of zero bytes: 14 bytes that expand 300,000 times. */
static const unsigned char br_zeros[14] = {
  0x9b, 0xff, 0xff, 0x3f, 0xf8, 0x27, 0x00, 0xe2, 0xb1, 0x40, 0x20, 0xf7,
  0xfe, 0x07,
};
#define BR_ZEROS_LEN ((size_t)4 << 20)

/* A metadata meta-block header with its reserved bit set: invalid at the
 * first byte (RFC 7932 §9.2). */
static const unsigned char br_reserved[3] = {0x1c, 0x00, 0x00};

/* ---- inputs ------------------------------------------------------------ */

/* "line 00000: the quick brown fox\n", "line 00001: ...", cut at |n|. */
static unsigned char *text_block(size_t n)
{
  unsigned char *b = malloc(n ? n : 1);
  assert_non_null(b);
  size_t i = 0;
  for (unsigned line = 0; i < n; line++) {
    char tmp[64];
    int k = snprintf(tmp, sizeof(tmp), "line %05u: the quick brown fox\n", line);
    for (int j = 0; j < k && i < n; j++)
      b[i++] = (unsigned char)tmp[j];
  }
  return b;
}

/* Text with stretches of noise: compressors then mix literal-heavy dynamic
 * blocks, long matches and (for noise) stored blocks, and matches reach back
 * across the 32 KiB window when n is large. */
static unsigned char *payload(size_t n)
{
  unsigned char *b = text_block(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; i++) {
    if ((i / 4096) % 3 == 1) {
      x = x * 1103515245u + 12345u;
      b[i] = (unsigned char)(x >> 23);
    }
  }
  return b;
}

/* zlib's deflate with |wbits| (15 zlib, -15 raw, 31 gzip). */
static unsigned char *zcompress(const void *src, size_t n, int wbits, int level, size_t *out_len)
{
  z_stream s;
  memset(&s, 0, sizeof(s));
  assert_int_equal(deflateInit2(&s, level, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&s, (uLong)n) + 32;
  unsigned char *out = malloc(cap);
  assert_non_null(out);
  s.next_in = (Bytef *)(uintptr_t)src;
  s.avail_in = (uInt)n;
  s.next_out = out;
  s.avail_out = (uInt)cap;
  assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
  *out_len = cap - s.avail_out;
  deflateEnd(&s);
  return out;
}

/* A zstd frame with a content checksum, so corruption is always caught. */
static unsigned char *zstd_compress(const void *src, size_t n, int level, size_t *out_len)
{
  ZSTD_CCtx *c = ZSTD_createCCtx();
  assert_non_null(c);
  assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
  assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)));
  size_t cap = ZSTD_compressBound(n);
  unsigned char *out = malloc(cap);
  assert_non_null(out);
  size_t r = ZSTD_compress2(c, out, cap, src, n);
  assert_false(ZSTD_isError(r));
  ZSTD_freeCCtx(c);
  *out_len = r;
  return out;
}

static unsigned char *concat(const void *a, size_t na, const void *b, size_t nb, size_t *n)
{
  unsigned char *r = malloc(na + nb + 1);
  assert_non_null(r);
  memcpy(r, a, na);
  memcpy(r + na, b, nb);
  *n = na + nb;
  return r;
}

/* ---- the driver -------------------------------------------------------- */

struct decoded {
  DWORD err;
  unsigned char *out; /* malloc'd; free() it */
  size_t len;
  bool done;          /* *done after the last successful run */
  bool init_ok;       /* wh_decoder_init succeeded */
};

/* Decodes |enc| the way the engine will: input in chunks of at most
 * |in_chunk| bytes, output buffers of exactly |out_chunk| bytes (0 means
 * 64 KiB), calling again while input is left or the buffer came back full,
 * then wh_decoder_finish. Checks the run contract on every call. */
static struct decoded decode(enum wh_coding c, const void *enc, size_t enc_len, size_t in_chunk,
                             size_t out_chunk, uint64_t max_output)
{
  struct decoded r = {0, NULL, 0, false, false};
  size_t oc = out_chunk ? out_chunk : 65536;
  size_t cap = oc * 2;
  r.out = malloc(cap);
  assert_non_null(r.out);

  struct wh_decoder d;
  r.err = wh_decoder_init(&d, c, max_output);
  if (r.err) {
    wh_decoder_free(&d);
    return r;
  }
  r.init_ok = true;
  const unsigned char *in = enc;
  size_t pos = 0;
  bool want_error = false;
  for (unsigned long calls = 0;; calls++) {
    assert_true(calls < 100000000ul); /* a hang is a failure */
    size_t avail = enc_len - pos;
    if (in_chunk && avail > in_chunk)
      avail = in_chunk;
    if (cap - r.len < oc) {
      cap = cap * 2 + oc;
      r.out = realloc(r.out, cap);
      assert_non_null(r.out);
    }
    size_t used = 99, wrote = 99;
    bool done = true;
    DWORD e = wh_decoder_run(&d, in + pos, avail, &used, r.out + r.len, oc, &wrote, &done);
    if (e) {
      /* Errors never come with data or consumption. */
      assert_int_equal(used, 0);
      assert_int_equal(wrote, 0);
      assert_false(done);
      r.err = e;
      break;
    }
    assert_false(want_error);
    assert_true(used <= avail);
    assert_true(wrote <= oc);
    pos += used;
    r.len += wrote;
    r.done = done;
    assert_true((uint64_t)r.len <= max_output);
    if (wrote < oc && used < avail) {
      /* Only a deferred error may stop a call early. */
      want_error = true;
      continue;
    }
    if (pos == enc_len && wrote < oc) {
      r.err = wh_decoder_finish(&d);
      break;
    }
  }
  /* Sticky: the same error again, from run and from finish. */
  if (r.err) {
    size_t used, wrote;
    bool done;
    unsigned char b[4];
    assert_int_equal(wh_decoder_run(&d, "x", 1, &used, b, sizeof(b), &wrote, &done), r.err);
    assert_int_equal(wh_decoder_finish(&d), r.err);
  }
  wh_decoder_free(&d);
  wh_decoder_free(&d); /* twice is safe */
  return r;
}

static void expect_output(struct decoded r, const void *want, size_t want_len)
{
  assert_int_equal(r.err, ERROR_SUCCESS);
  assert_int_equal(r.len, want_len);
  if (want_len)
    assert_memory_equal(r.out, want, want_len);
  free(r.out);
}

static void expect_error(struct decoded r, DWORD err)
{
  assert_int_equal(r.err, err);
  free(r.out);
}

/* Chunkings every round trip goes through: {in, out}, 0 = whole/64 KiB. */
static const size_t CHUNKINGS[][2] = {
  {0, 0}, {1, 0}, {0, 1}, {1, 1}, {2, 3}, {7, 13}, {4096, 1}, {1, 4096}, {100000, 65536},
};
#define NCHUNKINGS (sizeof(CHUNKINGS) / sizeof(CHUNKINGS[0]))

static void round_trip(enum wh_coding c, const void *enc, size_t enc_len, const void *plain,
                       size_t plain_len)
{
  for (size_t i = 0; i < NCHUNKINGS; i++) {
    /* One-byte buffers on big inputs are slow under sanitizers and add
     * nothing the small inputs do not cover. */
    if ((CHUNKINGS[i][0] == 1 || CHUNKINGS[i][1] == 1) && plain_len > 70000)
      continue;
    struct decoded r = decode(c, enc, enc_len, CHUNKINGS[i][0], CHUNKINGS[i][1], UINT64_MAX);
    if (r.err || r.len != plain_len)
      print_error("coding %d chunking in %zu out %zu: err %lu len %zu (want %zu)\n", (int)c,
                  CHUNKINGS[i][0], CHUNKINGS[i][1], (unsigned long)r.err, r.len, plain_len);
    assert_true(r.done);
    expect_output(r, plain, plain_len);
  }
}

/* ---- Content-Encoding -------------------------------------------------- */

static void test_coding_from_header(void **state)
{
  (void)state;
  const DWORD all = WH_DECOMPRESSION_FLAG_EVERY;
  const DWORD win = WINHTTP_DECOMPRESSION_FLAG_ALL;
  static const struct {
    const char *value;
    DWORD flags;
    enum wh_coding want;
  } cases[] = {
    {"gzip", win, WH_CODING_GZIP},
    {"GZip", win, WH_CODING_GZIP},
    {"x-gzip", win, WH_CODING_GZIP},
    {"X-GZIP", WINHTTP_DECOMPRESSION_FLAG_GZIP, WH_CODING_GZIP},
    {"deflate", win, WH_CODING_DEFLATE},
    {"DEFLATE", WINHTTP_DECOMPRESSION_FLAG_DEFLATE, WH_CODING_DEFLATE},
    {"br", all, WH_CODING_BR},
    {"Br", WH_DECOMPRESSION_FLAG_BR, WH_CODING_BR},
    {"zstd", all, WH_CODING_ZSTD},
    {"ZSTD", WH_DECOMPRESSION_FLAG_ZSTD, WH_CODING_ZSTD},
    /* not enabled: the server ignored Accept-Encoding; pass through */
    {"gzip", 0, WH_CODING_IDENTITY},
    {"gzip", WINHTTP_DECOMPRESSION_FLAG_DEFLATE, WH_CODING_IDENTITY},
    {"deflate", WINHTTP_DECOMPRESSION_FLAG_GZIP, WH_CODING_IDENTITY},
    {"br", win, WH_CODING_IDENTITY},
    {"zstd", win | WH_DECOMPRESSION_FLAG_BR, WH_CODING_IDENTITY},
    /* list syntax: OWS and empty elements */
    {" gzip ", win, WH_CODING_GZIP},
    {"\tgzip\t", win, WH_CODING_GZIP},
    {", gzip ,", win, WH_CODING_GZIP},
    {",,,br,,", all, WH_CODING_BR},
    {"identity, gzip", win, WH_CODING_GZIP},
    {"gzip, IDENTITY", win, WH_CODING_GZIP},
    /* nothing to decode */
    {"", all, WH_CODING_IDENTITY},
    {"   ", all, WH_CODING_IDENTITY},
    {",", all, WH_CODING_IDENTITY},
    {"identity", all, WH_CODING_IDENTITY},
    /* stacked codings pass through, like Windows */
    {"gzip, br", all, WH_CODING_IDENTITY},
    {"gzip, gzip", all, WH_CODING_IDENTITY},
    {"deflate,gzip", all, WH_CODING_IDENTITY},
    {"gzip, compress", all, WH_CODING_IDENTITY},
    /* unknown or malformed */
    {"compress", all, WH_CODING_IDENTITY},
    {"x-compress", all, WH_CODING_IDENTITY},
    {"gzi", all, WH_CODING_IDENTITY},
    {"gzipx", all, WH_CODING_IDENTITY},
    {"g zip", all, WH_CODING_IDENTITY},
    {"gzip;q=1", all, WH_CODING_IDENTITY},
    {"\"gzip\"", all, WH_CODING_IDENTITY},
    {"x-deflate", all, WH_CODING_IDENTITY},
    {"brotli", all, WH_CODING_IDENTITY},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    enum wh_coding got = (enum wh_coding)77;
    assert_int_equal(wh_coding_from_header(cases[i].value, strlen(cases[i].value), cases[i].flags,
                                           &got),
                     ERROR_SUCCESS);
    if (got != cases[i].want)
      print_error("case %zu \"%s\": got %d want %d\n", i, cases[i].value, (int)got,
                  (int)cases[i].want);
    assert_int_equal(got, cases[i].want);
  }

  enum wh_coding got = WH_CODING_GZIP;
  /* no header at all */
  assert_int_equal(wh_coding_from_header(NULL, 0, all, &got), ERROR_SUCCESS);
  assert_int_equal(got, WH_CODING_IDENTITY);
  /* only |len| bytes count: the value is not NUL-terminated */
  assert_int_equal(wh_coding_from_header("gzipped", 4, all, &got), ERROR_SUCCESS);
  assert_int_equal(got, WH_CODING_GZIP);
  assert_int_equal(wh_coding_from_header("br\0zstd", 7, all, &got), ERROR_SUCCESS);
  assert_int_equal(got, WH_CODING_IDENTITY);
  /* bad arguments */
  assert_int_equal(wh_coding_from_header("gzip", 4, all, NULL), ERROR_INVALID_PARAMETER);
  assert_int_equal(wh_coding_from_header(NULL, 4, all, &got), ERROR_INVALID_PARAMETER);
}

static void test_accept_encoding(void **state)
{
  (void)state;
  assert_null(wh_accept_encoding(0));
  assert_null(wh_accept_encoding(0x80000000u));
  assert_string_equal(wh_accept_encoding(WINHTTP_DECOMPRESSION_FLAG_ALL), "gzip, deflate");
  assert_string_equal(wh_accept_encoding(WINHTTP_DECOMPRESSION_FLAG_GZIP), "gzip");
  assert_string_equal(wh_accept_encoding(WINHTTP_DECOMPRESSION_FLAG_DEFLATE), "deflate");
  assert_string_equal(wh_accept_encoding(WH_DECOMPRESSION_FLAG_EVERY), "gzip, deflate, br, zstd");
  assert_string_equal(wh_accept_encoding(WINHTTP_DECOMPRESSION_FLAG_GZIP | WH_DECOMPRESSION_FLAG_ZSTD),
                      "gzip, zstd");
  assert_string_equal(wh_accept_encoding(WH_DECOMPRESSION_FLAG_BR), "br");
  /* Every value names exactly the enabled codings, each of which maps back. */
  for (DWORD m = 0; m < 16; m++) {
    DWORD flags = ((m & 1) ? (DWORD)WINHTTP_DECOMPRESSION_FLAG_GZIP : 0) |
                  ((m & 2) ? (DWORD)WINHTTP_DECOMPRESSION_FLAG_DEFLATE : 0) |
                  ((m & 4) ? WH_DECOMPRESSION_FLAG_BR : 0) | ((m & 8) ? WH_DECOMPRESSION_FLAG_ZSTD : 0);
    const char *v = wh_accept_encoding(flags);
    if (!m) {
      assert_null(v);
      continue;
    }
    const char *p = v;
    size_t count = 0;
    while (*p) {
      const char *e = strchr(p, ',');
      size_t n = e ? (size_t)(e - p) : strlen(p);
      enum wh_coding c;
      assert_int_equal(wh_coding_from_header(p, n, flags, &c), ERROR_SUCCESS);
      assert_int_not_equal(c, WH_CODING_IDENTITY);
      count++;
      p += n;
      while (*p == ',' || *p == ' ')
        p++;
    }
    assert_int_equal(count, (size_t)__builtin_popcount(m));
  }
}

static void test_coding_names(void **state)
{
  (void)state;
  assert_string_equal(wh_coding_name(WH_CODING_IDENTITY), "identity");
  assert_string_equal(wh_coding_name(WH_CODING_GZIP), "gzip");
  assert_string_equal(wh_coding_name(WH_CODING_DEFLATE), "deflate");
  assert_string_equal(wh_coding_name(WH_CODING_BR), "br");
  assert_string_equal(wh_coding_name(WH_CODING_ZSTD), "zstd");
  assert_null(wh_coding_name((enum wh_coding)42));
}

/* ---- round trips ------------------------------------------------------- */

static const size_t SIZES[] = {0, 1, 100, 5000, 65536, 300000};
#define NSIZES (sizeof(SIZES) / sizeof(SIZES[0]))

static void test_gzip_round_trips(void **state)
{
  (void)state;
  for (size_t s = 0; s < NSIZES; s++) {
    unsigned char *p = payload(SIZES[s]);
    for (int level = 1; level <= 9; level += 8) {
      size_t n;
      unsigned char *enc = zcompress(p, SIZES[s], 16 + MAX_WBITS, level, &n);
      round_trip(WH_CODING_GZIP, enc, n, p, SIZES[s]);
      free(enc);
    }
    free(p);
  }
}

static void test_deflate_zlib_and_raw(void **state)
{
  (void)state;
  for (size_t s = 0; s < NSIZES; s++) {
    unsigned char *p = payload(SIZES[s]);
    size_t n;
    /* RFC 9110's "deflate": zlib-wrapped */
    unsigned char *enc = zcompress(p, SIZES[s], MAX_WBITS, 6, &n);
    round_trip(WH_CODING_DEFLATE, enc, n, p, SIZES[s]);
    free(enc);
    /* what many servers send instead: raw deflate */
    enc = zcompress(p, SIZES[s], -MAX_WBITS, 6, &n);
    round_trip(WH_CODING_DEFLATE, enc, n, p, SIZES[s]);
    free(enc);
    /* small windows and level 0 (stored blocks only), both wrappings */
    enc = zcompress(p, SIZES[s], 9, 0, &n);
    round_trip(WH_CODING_DEFLATE, enc, n, p, SIZES[s]);
    free(enc);
    enc = zcompress(p, SIZES[s], -9, 9, &n);
    round_trip(WH_CODING_DEFLATE, enc, n, p, SIZES[s]);
    free(enc);
    free(p);
  }
}

static void test_zstd_round_trips(void **state)
{
  (void)state;
  for (size_t s = 0; s < NSIZES; s++) {
    unsigned char *p = payload(SIZES[s]);
    for (int level = 1; level <= 19; level += 18) {
      size_t n;
      unsigned char *enc = zstd_compress(p, SIZES[s], level, &n);
      round_trip(WH_CODING_ZSTD, enc, n, p, SIZES[s]);
      free(enc);
    }
    /* without a checksum, from the one-shot API */
    size_t cap = ZSTD_compressBound(SIZES[s]);
    unsigned char *enc = malloc(cap);
    assert_non_null(enc);
    size_t n = ZSTD_compress(enc, cap, p, SIZES[s], 3);
    assert_false(ZSTD_isError(n));
    round_trip(WH_CODING_ZSTD, enc, n, p, SIZES[s]);
    free(enc);
    free(p);
  }
}

static void test_br_vectors(void **state)
{
  (void)state;
  unsigned char *t = text_block(4096);
  round_trip(WH_CODING_BR, br_text, sizeof(br_text), t, 4096);
  free(t);
  round_trip(WH_CODING_BR, br_empty, sizeof(br_empty), "", 0);
  unsigned char *z = calloc(1, BR_ZEROS_LEN);
  assert_non_null(z);
  struct decoded r = decode(WH_CODING_BR, br_zeros, sizeof(br_zeros), 0, 0, UINT64_MAX);
  expect_output(r, z, BR_ZEROS_LEN);
  r = decode(WH_CODING_BR, br_zeros, sizeof(br_zeros), 1, 7777, UINT64_MAX);
  expect_output(r, z, BR_ZEROS_LEN);
  free(z);
}

static void test_identity(void **state)
{
  (void)state;
  unsigned char *p = payload(10000);
  for (size_t i = 0; i < NCHUNKINGS; i++) {
    struct decoded r = decode(WH_CODING_IDENTITY, p, 10000, CHUNKINGS[i][0], CHUNKINGS[i][1],
                              UINT64_MAX);
    assert_false(r.done); /* identity has no end marker */
    expect_output(r, p, 10000);
  }
  /* the bound applies to identity too */
  expect_error(decode(WH_CODING_IDENTITY, p, 10000, 0, 0, 9999), ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW);
  expect_output(decode(WH_CODING_IDENTITY, p, 10000, 0, 0, 10000), p, 10000);
  free(p);
}

/* An empty body under any coding is an empty entity (browsers agree): a
 * 200 with Content-Length: 0 and Content-Encoding: gzip exists in the wild. */
static void test_empty_body(void **state)
{
  (void)state;
  for (int c = WH_CODING_IDENTITY; c <= WH_CODING_ZSTD; c++) {
    struct decoded r = decode((enum wh_coding)c, "", 0, 0, 0, UINT64_MAX);
    assert_false(r.done);
    expect_output(r, "", 0);
  }
}

/* ---- stream ends ------------------------------------------------------- */

static void test_gzip_members(void **state)
{
  (void)state;
  unsigned char *a = payload(40000), *b = text_block(3000);
  size_t na, nb, ne;
  unsigned char *ga = zcompress(a, 40000, 31, 6, &na);
  unsigned char *gb = zcompress(b, 3000, 31, 1, &nb);
  unsigned char *ge = zcompress("", 0, 31, 6, &ne); /* an empty member */
  size_t n1, n2, n3, want_n;
  unsigned char *s1 = concat(ga, na, ge, ne, &n1);
  unsigned char *s2 = concat(s1, n1, gb, nb, &n2);
  unsigned char *s3 = concat(s2, n2, ga, na, &n3);
  unsigned char *w1 = concat(a, 40000, b, 3000, &want_n);
  unsigned char *want = concat(w1, want_n, a, 40000, &want_n);
  round_trip(WH_CODING_GZIP, s3, n3, want, want_n);
  /* The boundaries at every split: two members, input cut anywhere. */
  size_t n;
  unsigned char *two = concat(gb, nb, gb, nb, &n);
  unsigned char *bb = concat(b, 3000, b, 3000, &want_n);
  for (size_t cut = 1; cut < n; cut += (cut > nb - 4 && cut < nb + 4) ? 1 : 37) {
    struct wh_decoder d;
    assert_int_equal(wh_decoder_init(&d, WH_CODING_GZIP, UINT64_MAX), ERROR_SUCCESS);
    unsigned char *out = malloc(want_n + 16);
    size_t used, wrote, got = 0;
    bool done;
    assert_int_equal(wh_decoder_run(&d, two, cut, &used, out, want_n + 16, &wrote, &done), 0);
    assert_int_equal(used, cut);
    got += wrote;
    assert_int_equal(wh_decoder_run(&d, two + cut, n - cut, &used, out + got, want_n + 16 - got,
                                    &wrote, &done),
                     0);
    assert_int_equal(used, n - cut);
    got += wrote;
    assert_true(done);
    assert_int_equal(wh_decoder_finish(&d), ERROR_SUCCESS);
    assert_int_equal(got, want_n);
    assert_memory_equal(out, bb, want_n);
    free(out);
    wh_decoder_free(&d);
  }
  free(two);
  free(bb);
  free(a);
  free(b);
  free(ga);
  free(gb);
  free(ge);
  free(s1);
  free(s2);
  free(s3);
  free(w1);
  free(want);
}

static void test_trailing_bytes(void **state)
{
  (void)state;
  unsigned char *p = text_block(2000);
  size_t n, m;
  static const struct {
    const char *junk;
    size_t len;
    bool ok_gzip; /* junk after gzip: ignored unless it starts a member */
  } tails[] = {
    {"\0\0\0\0", 4, true},
    {"\x1f", 1, true},
    {"\x1f\x00", 2, true},
    {"\x1f\x1f\x8b", 3, true},
    {"hello world", 11, true},
    {"\n", 1, true},
    {"\x1f\x8b", 2, false},          /* a member that never comes: truncated */
    {"\x1f\x8b\x08\x00", 4, false},
    {"\x1f\x8b\x09\x00\x00\x00\x00\x00\x00\x03", 10, false}, /* bad method: corrupt */
  };
  unsigned char *g = zcompress(p, 2000, 31, 6, &n);
  unsigned char *zl = zcompress(p, 2000, 15, 6, &m);
  size_t rn;
  unsigned char *raw = zcompress(p, 2000, -15, 6, &rn);
  for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
    size_t t;
    unsigned char *s = concat(g, n, tails[i].junk, tails[i].len, &t);
    for (size_t k = 0; k < NCHUNKINGS; k++) {
      struct decoded r = decode(WH_CODING_GZIP, s, t, CHUNKINGS[k][0], CHUNKINGS[k][1], UINT64_MAX);
      if (tails[i].ok_gzip) {
        assert_true(r.done);
        expect_output(r, p, 2000);
      } else {
        expect_error(r, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
      }
    }
    free(s);
    /* deflate: anything after the end is ignored */
    s = concat(zl, m, tails[i].junk, tails[i].len, &t);
    expect_output(decode(WH_CODING_DEFLATE, s, t, 0, 0, UINT64_MAX), p, 2000);
    expect_output(decode(WH_CODING_DEFLATE, s, t, 1, 1, UINT64_MAX), p, 2000);
    free(s);
    s = concat(raw, rn, tails[i].junk, tails[i].len, &t);
    expect_output(decode(WH_CODING_DEFLATE, s, t, 0, 0, UINT64_MAX), p, 2000);
    expect_output(decode(WH_CODING_DEFLATE, s, t, 3, 5, UINT64_MAX), p, 2000);
    free(s);
  }
  /* br: anything after the end is corrupt, also a second stream */
  unsigned char *t4096 = text_block(4096);
  size_t t;
  unsigned char *s = concat(br_text, sizeof(br_text), "\0", 1, &t);
  expect_error(decode(WH_CODING_BR, s, t, 0, 0, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_error(decode(WH_CODING_BR, s, t, 1, 1, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  free(s);
  s = concat(br_empty, 1, br_empty, 1, &t);
  expect_error(decode(WH_CODING_BR, s, t, 0, 0, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  free(s);
  free(t4096);
  /* zstd: further frames and skippable frames decode; junk is corrupt */
  size_t zn;
  unsigned char *z = zstd_compress(p, 2000, 3, &zn);
  s = concat(z, zn, z, zn, &t);
  size_t pp_n;
  unsigned char *pp = concat(p, 2000, p, 2000, &pp_n);
  round_trip(WH_CODING_ZSTD, s, t, pp, pp_n);
  free(s);
  free(pp);
  static const unsigned char skippable[] = {0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'a', 'b', 'c'};
  unsigned char *s1 = concat(skippable, sizeof(skippable), z, zn, &t);
  s = concat(s1, t, skippable, sizeof(skippable), &t);
  round_trip(WH_CODING_ZSTD, s, t, p, 2000);
  free(s);
  free(s1);
  s = concat(z, zn, "junk", 4, &t);
  expect_error(decode(WH_CODING_ZSTD, s, t, 0, 0, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_error(decode(WH_CODING_ZSTD, s, t, 1, 1, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  free(s);
  free(z);
  free(g);
  free(zl);
  free(raw);
  free(p);
}

/* The done flag: false inside a stream, true at its end, and back to false
 * when another gzip member starts. */
static void test_done_flag(void **state)
{
  (void)state;
  unsigned char *p = text_block(1000);
  size_t n;
  unsigned char *g = zcompress(p, 1000, 31, 6, &n);
  struct wh_decoder d;
  unsigned char out[4096];
  size_t used, wrote;
  bool done;
  assert_int_equal(wh_decoder_init(&d, WH_CODING_GZIP, UINT64_MAX), 0);
  assert_int_equal(wh_decoder_run(&d, g, n - 1, &used, out, sizeof(out), &wrote, &done), 0);
  assert_false(done);
  assert_int_equal(wh_decoder_run(&d, g + n - 1, 1, &used, out, sizeof(out), &wrote, &done), 0);
  assert_true(done);
  assert_int_equal(wh_decoder_run(&d, g, 10, &used, out, sizeof(out), &wrote, &done), 0);
  assert_false(done);
  assert_int_equal(wh_decoder_finish(&d), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  wh_decoder_free(&d);
  /* Output still held is not done: a full buffer first, then the rest. */
  assert_int_equal(wh_decoder_init(&d, WH_CODING_GZIP, UINT64_MAX), 0);
  assert_int_equal(wh_decoder_run(&d, g, n, &used, out, 999, &wrote, &done), 0);
  assert_int_equal(wrote, 999);
  assert_false(done);
  size_t used2;
  assert_int_equal(wh_decoder_run(&d, g + used, n - used, &used2, out, sizeof(out), &wrote, &done), 0);
  assert_int_equal(wrote, 1);
  assert_true(done);
  assert_int_equal(wh_decoder_finish(&d), ERROR_SUCCESS);
  wh_decoder_free(&d);
  free(g);
  free(p);
}

/* ---- bad streams ------------------------------------------------------- */

static void test_truncation(void **state)
{
  (void)state;
  unsigned char *p = payload(6000);
  struct {
    enum wh_coding c;
    unsigned char *enc;
    size_t n;
  } s[5];
  s[0].c = WH_CODING_GZIP;
  s[0].enc = zcompress(p, 6000, 31, 6, &s[0].n);
  s[1].c = WH_CODING_DEFLATE;
  s[1].enc = zcompress(p, 6000, 15, 6, &s[1].n);
  s[2].c = WH_CODING_DEFLATE;
  s[2].enc = zcompress(p, 6000, -15, 6, &s[2].n);
  s[3].c = WH_CODING_ZSTD;
  s[3].enc = zstd_compress(p, 6000, 3, &s[3].n);
  s[4].c = WH_CODING_BR;
  s[4].enc = malloc(sizeof(br_text));
  memcpy(s[4].enc, br_text, sizeof(br_text));
  s[4].n = sizeof(br_text);
  for (size_t i = 0; i < 5; i++) {
    /* Every proper prefix is a truncated stream: all of those that end in
     * the headers and the trailers, a sample of the middle. */
    for (size_t len = 1; len < s[i].n; len += (len < 40 || len + 40 > s[i].n) ? 1 : 7) {
      struct decoded r = decode(s[i].c, s[i].enc, len, 0, 0, UINT64_MAX);
      if (r.err != ERROR_WINHTTP_INVALID_SERVER_RESPONSE)
        print_error("stream %zu prefix %zu of %zu: err %lu\n", i, len, s[i].n, (unsigned long)r.err);
      assert_false(r.done);
      expect_error(r, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
      if (len % 97 == 1)
        expect_error(decode(s[i].c, s[i].enc, len, 1, 1, UINT64_MAX),
                     ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
    }
    free(s[i].enc);
  }
  free(p);
}

static void test_corruption(void **state)
{
  (void)state;
  unsigned char *p = payload(20000);
  size_t n;
  /* gzip: CRC-32 and the deflate data catch any change in the body */
  unsigned char *g = zcompress(p, 20000, 31, 6, &n);
  for (size_t at = 10; at < n; at += 61) {
    for (unsigned flip = 0x01; flip <= 0x80; flip <<= 3) {
      g[at] ^= (unsigned char)flip;
      struct decoded r = decode(WH_CODING_GZIP, g, n, 0, 0, UINT64_MAX);
      if (r.err != ERROR_WINHTTP_INVALID_SERVER_RESPONSE)
        print_error("gzip flip %#x at %zu of %zu: err %lu\n", flip, at, n, (unsigned long)r.err);
      expect_error(r, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
      g[at] ^= (unsigned char)flip;
    }
  }
  /* gzip header: bad magic, bad method */
  g[0] = 0x1e;
  expect_error(decode(WH_CODING_GZIP, g, n, 0, 0, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  g[0] = 0x1f;
  g[2] = 7;
  expect_error(decode(WH_CODING_GZIP, g, n, 1, 1, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  free(g);
  /* zlib: the Adler-32 trailer */
  g = zcompress(p, 20000, 15, 6, &n);
  g[n - 1] ^= 1;
  expect_error(decode(WH_CODING_DEFLATE, g, n, 0, 0, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  free(g);
  /* zlib with a preset dictionary (FDICT): HTTP cannot name one */
  static const unsigned char fdict[] = {0x78, 0xbb, 0, 0, 0, 1, 0x03, 0x00};
  expect_error(decode(WH_CODING_DEFLATE, fdict, sizeof(fdict), 0, 0, UINT64_MAX),
               ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  /* raw deflate has no checksum; a reserved block type is still invalid */
  static const unsigned char btype3[] = {0x07, 0x00, 0x00};
  expect_error(decode(WH_CODING_DEFLATE, btype3, sizeof(btype3), 0, 0, UINT64_MAX),
               ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_error(decode(WH_CODING_DEFLATE, btype3, sizeof(btype3), 1, 1, UINT64_MAX),
               ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  /* a gzip body sent as "deflate" is not a deflate stream */
  g = zcompress(p, 20000, 31, 6, &n);
  expect_error(decode(WH_CODING_DEFLATE, g, n, 0, 0, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  /* and a zlib stream sent as "gzip" is not gzip */
  free(g);
  g = zcompress(p, 20000, 15, 6, &n);
  expect_error(decode(WH_CODING_GZIP, g, n, 0, 0, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  free(g);
  /* zstd: the content checksum, and a bad magic number */
  g = zstd_compress(p, 20000, 3, &n);
  g[n - 1] ^= 0x40;
  expect_error(decode(WH_CODING_ZSTD, g, n, 0, 0, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_error(decode(WH_CODING_ZSTD, g, n, 5, 3, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  g[n - 1] ^= 0x40;
  g[0] ^= 0xff;
  expect_error(decode(WH_CODING_ZSTD, g, n, 0, 0, UINT64_MAX), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  free(g);
  /* br: a reserved bit, and plain text */
  expect_error(decode(WH_CODING_BR, br_reserved, sizeof(br_reserved), 0, 0, UINT64_MAX),
               ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  expect_error(decode(WH_CODING_BR, "hello, world, not brotli", 24, 1, 1, UINT64_MAX),
               ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  free(p);
}

/* RFC 9659: a zstd window over 8 MiB is refused before anything is
 * allocated for it. Hand-made frames: magic, a descriptor with no content
 * size, the window byte (exponent << 3: log = 10 + exponent), then one raw
 * last block holding "A". */
static void test_zstd_window_limit(void **state)
{
  (void)state;
  unsigned char f[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x68, 0x09, 0x00, 0x00, 'A'};
  expect_output(decode(WH_CODING_ZSTD, f, sizeof(f), 0, 0, UINT64_MAX), "A", 1); /* 8 MiB */
  f[5] = 0x70;                                                                  /* 16 MiB */
  expect_error(decode(WH_CODING_ZSTD, f, sizeof(f), 0, 0, UINT64_MAX),
               ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
}

/* A zstd frame whose header declares more content than its blocks hold is
 * corrupt, however the body arrives: zstd itself checks the declared size
 * only when it decodes a frame in one pass (found by fuzz_decode: whole vs
 * split inputs disagreed). Also a frame that declares less. */
static void test_zstd_declared_size(void **state)
{
  (void)state;
  /* Single segment, content size 0xb864 + 256, then one empty last raw block. */
  const unsigned char f[] = {0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x64, 0xb8, 0x01, 0x00, 0x00};
  for (size_t k = 0; k < NCHUNKINGS; k++)
    expect_error(decode(WH_CODING_ZSTD, f, sizeof(f), CHUNKINGS[k][0], CHUNKINGS[k][1], UINT64_MAX),
                 ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  /* Declares 1 byte (single segment, 1-byte size), holds "AB" in a raw block. */
  const unsigned char g[] = {0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x01, 0x11, 0x00, 0x00, 'A', 'B'};
  for (size_t k = 0; k < NCHUNKINGS; k++) {
    struct decoded r =
        decode(WH_CODING_ZSTD, g, sizeof(g), CHUNKINGS[k][0], CHUNKINGS[k][1], UINT64_MAX);
    assert_int_equal(r.err, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
    free(r.out);
  }
}

/* A late error comes after the good output, never with it. */
static void test_error_after_data(void **state)
{
  (void)state;
  unsigned char *p = text_block(50000);
  size_t n;
  unsigned char *g = zcompress(p, 50000, 31, 6, &n);
  g[n - 6] ^= 0x10; /* the CRC-32, checked after the last byte is out */
  struct wh_decoder d;
  unsigned char *out = malloc(60000);
  size_t used, wrote;
  bool done;
  assert_int_equal(wh_decoder_init(&d, WH_CODING_GZIP, UINT64_MAX), 0);
  assert_int_equal(wh_decoder_run(&d, g, n, &used, out, 60000, &wrote, &done), ERROR_SUCCESS);
  assert_int_equal(wrote, 50000);
  assert_memory_equal(out, p, 50000);
  assert_false(done);
  assert_int_equal(wh_decoder_run(&d, g + used, n - used, &used, out, 60000, &wrote, &done),
                   ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  assert_int_equal(wrote, 0);
  assert_int_equal(used, 0);
  assert_int_equal(wh_decoder_finish(&d), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  wh_decoder_free(&d);
  /* ... and finish reports a deferred error too */
  assert_int_equal(wh_decoder_init(&d, WH_CODING_GZIP, UINT64_MAX), 0);
  assert_int_equal(wh_decoder_run(&d, g, n, &used, out, 60000, &wrote, &done), ERROR_SUCCESS);
  assert_int_equal(wh_decoder_finish(&d), ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  wh_decoder_free(&d);
  free(out);
  free(g);
  free(p);
}

/* ---- the decompression-bomb bound -------------------------------------- */

static void check_bomb(enum wh_coding c, const void *enc, size_t n, size_t plain_len)
{
  static const size_t bounds[] = {0, 1, 4096, 1000000};
  for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
    /* Exactly |bound| bytes come out, all of them right, then the error. */
    size_t b = bounds[i];
    struct decoded r = decode(c, enc, n, 0, 0, b);
    assert_int_equal(r.err, ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW);
    assert_int_equal(r.len, b);
    for (size_t k = 0; k < r.len; k++)
      assert_int_equal(r.out[k], 0);
    free(r.out);
    r = decode(c, enc, n, 3, 1000, b);
    assert_int_equal(r.err, ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW);
    assert_int_equal(r.len, b);
    free(r.out);
  }
  /* The bound is inclusive: exactly the body's size passes, one less fails. */
  struct decoded r = decode(c, enc, n, 0, 0, plain_len);
  assert_int_equal(r.err, ERROR_SUCCESS);
  assert_int_equal(r.len, plain_len);
  free(r.out);
  r = decode(c, enc, n, 0, 0, plain_len - 1);
  assert_int_equal(r.err, ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW);
  assert_int_equal(r.len, plain_len - 1);
  free(r.out);
}

static void test_bomb(void **state)
{
  (void)state;
  const size_t big = (size_t)3 << 20;
  unsigned char *z = calloc(1, big);
  assert_non_null(z);
  size_t n;
  unsigned char *e = zcompress(z, big, 31, 9, &n);
  assert_true(n < big / 500); /* it is a bomb */
  check_bomb(WH_CODING_GZIP, e, n, big);
  free(e);
  e = zcompress(z, big, 15, 9, &n);
  check_bomb(WH_CODING_DEFLATE, e, n, big);
  free(e);
  e = zcompress(z, big, -15, 9, &n);
  check_bomb(WH_CODING_DEFLATE, e, n, big);
  free(e);
  e = zstd_compress(z, big, 3, &n);
  check_bomb(WH_CODING_ZSTD, e, n, big);
  free(e);
  check_bomb(WH_CODING_BR, br_zeros, sizeof(br_zeros), BR_ZEROS_LEN);
  free(z);

  /* Exact bounds with tiny buffers, on a small body. */
  unsigned char *p = payload(5000);
  e = zcompress(p, 5000, 31, 6, &n);
  struct decoded r = decode(WH_CODING_GZIP, e, n, 1, 1, 5000);
  expect_output(r, p, 5000);
  r = decode(WH_CODING_GZIP, e, n, 1, 1, 4999);
  assert_int_equal(r.err, ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW);
  assert_int_equal(r.len, 4999);
  assert_memory_equal(r.out, p, 4999);
  free(r.out);
  free(e);
  free(p);
}

/* ---- allocation failure ------------------------------------------------ */

/* Fails the 0th, 1st, ... allocation until a decode gets through: every
 * failure must be ERROR_NOT_ENOUGH_MEMORY (from init or mid-stream), never
 * a crash, a leak (ASan) or a wrong code. */
static void check_oom(enum wh_coding c, const void *enc, size_t n, const void *plain, size_t plain_len)
{
  bool mid_stream = false; /* some failure hit run, not init */
  for (long k = 0;; k++) {
    assert_true(k < 1000);
    wh_mem_fail_after(k);
    struct decoded r = decode(c, enc, n, 1000, 4096, UINT64_MAX);
    long refused = wh_mem_fail_count();
    wh_mem_fail_reset();
    if (refused == 0) {
      expect_output(r, plain, plain_len);
      break;
    }
    mid_stream |= r.init_ok;
    if (r.err != ERROR_NOT_ENOUGH_MEMORY)
      print_error("coding %d fail after %ld: err %lu\n", (int)c, k, (unsigned long)r.err);
    expect_error(r, ERROR_NOT_ENOUGH_MEMORY);
  }
  assert_true(mid_stream);
}

static void test_out_of_memory(void **state)
{
  (void)state;
  unsigned char *p = payload(70000);
  size_t n;
  unsigned char *e = zcompress(p, 70000, 31, 6, &n);
  check_oom(WH_CODING_GZIP, e, n, p, 70000);
  free(e);
  e = zcompress(p, 70000, -15, 6, &n);
  check_oom(WH_CODING_DEFLATE, e, n, p, 70000);
  free(e);
  e = zstd_compress(p, 70000, 3, &n);
  check_oom(WH_CODING_ZSTD, e, n, p, 70000);
  free(e);
  unsigned char *t = text_block(4096);
  check_oom(WH_CODING_BR, br_text, sizeof(br_text), t, 4096);
  free(t);
  free(p);
}

/* ---- arguments --------------------------------------------------------- */

static void test_arguments(void **state)
{
  (void)state;
  struct wh_decoder d;
  unsigned char out[8];
  size_t used = 5, wrote = 5;
  bool done = true;
  assert_int_equal(wh_decoder_init(NULL, WH_CODING_GZIP, 1), ERROR_INVALID_PARAMETER);
  assert_int_equal(wh_decoder_init(&d, (enum wh_coding)9, 1), ERROR_INVALID_PARAMETER);
  wh_decoder_free(&d);
  wh_decoder_free(NULL);
  assert_int_equal(wh_decoder_finish(NULL), ERROR_INVALID_PARAMETER);
  assert_int_equal(wh_decoder_run(NULL, "a", 1, &used, out, 8, &wrote, &done), ERROR_INVALID_PARAMETER);
  assert_int_equal(used, 0);
  assert_int_equal(wrote, 0);
  assert_false(done);

  assert_int_equal(wh_decoder_init(&d, WH_CODING_GZIP, UINT64_MAX), ERROR_SUCCESS);
  assert_int_equal(wh_decoder_run(&d, NULL, 1, &used, out, 8, &wrote, &done), ERROR_INVALID_PARAMETER);
  assert_int_equal(wh_decoder_run(&d, "a", 1, &used, NULL, 8, &wrote, &done), ERROR_INVALID_PARAMETER);
  assert_int_equal(wh_decoder_run(&d, "a", 1, NULL, out, 8, &wrote, &done), ERROR_INVALID_PARAMETER);
  assert_int_equal(wh_decoder_run(&d, "a", 1, &used, out, 8, NULL, &done), ERROR_INVALID_PARAMETER);
  assert_int_equal(wh_decoder_run(&d, "a", 1, &used, out, 8, &wrote, NULL), ERROR_INVALID_PARAMETER);
  /* no room: nothing happens, successfully */
  assert_int_equal(wh_decoder_run(&d, "\x1f\x8b", 2, &used, out, 0, &wrote, &done), ERROR_SUCCESS);
  assert_int_equal(used, 0);
  assert_int_equal(wrote, 0);
  /* NULL buffers with zero lengths are fine */
  assert_int_equal(wh_decoder_run(&d, NULL, 0, &used, out, 8, &wrote, &done), ERROR_SUCCESS);
  assert_int_equal(wh_decoder_run(&d, "\x1f", 1, &used, NULL, 0, &wrote, &done), ERROR_SUCCESS);
  assert_int_equal(wh_decoder_finish(&d), ERROR_SUCCESS); /* still empty */
  wh_decoder_free(&d);
  /* a freed decoder refuses work instead of crashing */
  assert_int_equal(wh_decoder_run(&d, "a", 1, &used, out, 8, &wrote, &done), ERROR_INVALID_PARAMETER);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_coding_from_header),
    cmocka_unit_test(test_accept_encoding),
    cmocka_unit_test(test_coding_names),
    cmocka_unit_test(test_gzip_round_trips),
    cmocka_unit_test(test_deflate_zlib_and_raw),
    cmocka_unit_test(test_zstd_round_trips),
    cmocka_unit_test(test_br_vectors),
    cmocka_unit_test(test_identity),
    cmocka_unit_test(test_empty_body),
    cmocka_unit_test(test_gzip_members),
    cmocka_unit_test(test_trailing_bytes),
    cmocka_unit_test(test_done_flag),
    cmocka_unit_test(test_truncation),
    cmocka_unit_test(test_corruption),
    cmocka_unit_test(test_zstd_window_limit),
    cmocka_unit_test(test_zstd_declared_size),
    cmocka_unit_test(test_error_after_data),
    cmocka_unit_test(test_bomb),
    cmocka_unit_test(test_out_of_memory),
    cmocka_unit_test(test_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
