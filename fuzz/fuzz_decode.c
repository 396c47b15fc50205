/* libFuzzer target for proto/decode.c, the Content-Encoding decoder.
 *
 * Input layout:
 *   byte 0    bits 0-2: the coding (value % 5: identity, gzip, deflate, br,
 *             zstd); bits 3-7: a seed for the chunk sizes and the bound;
 *   the rest  the encoded body.
 *
 * The body is decoded twice: once in one piece into 64 KiB buffers, and once
 * split into fuzzer-chosen input chunks and output buffers (1 to 16 bytes or
 * up to 4 KiB, each chunk copied into an exact-size heap block so
 * AddressSanitizer sees any read or write past it). Invariants:
 *  - no crash, leak or hang; every call keeps the run contract of decode.h
 *    (progress rule; errors carry no data; errors are sticky);
 *  - the output never exceeds the bound (a small one for some seeds, so the
 *    bomb path is fuzzed, else 64 KiB: bombs reach it fast);
 *  - every error is one decode.h documents;
 *  - wh_coding_from_header, given the body as a header value, returns an
 *    enabled coding or identity;
 *  - chunking changes nothing: both runs succeed with the same output and
 *    done flag, or both fail, and then the shorter output is a prefix of the
 *    longer one. (Where output stops before an error depends on buffering
 *    inside the libraries, and a stream that is both a bomb and corrupt may
 *    report either problem first, so only those two may differ.)
 */
#include "fuzz_common.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winhttp.h>

#include "proto/decode.h"


struct outcome {
  DWORD err;
  unsigned char *out;
  size_t len, cap;
  bool done;
};

/* xorshift32: the chunk sizes depend only on the input. */
static uint32_t next(uint32_t *s)
{
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

static size_t pick(uint32_t *s, bool tiny)
{
  uint32_t r = next(s);
  return tiny ? 1 + r % 16 : 1 + r % 4096;
}

static void append(struct outcome *o, const unsigned char *b, size_t n)
{
  if (o->cap - o->len < n) {
    size_t cap = o->cap * 2 + n;
    unsigned char *nb = realloc(o->out, cap);
    FUZZ_ASSERT(nb);
    o->out = nb;
    o->cap = cap;
  }
  if (n)
    memcpy(o->out + o->len, b, n);
  o->len += n;
}

static bool documented(DWORD e)
{
  return e == ERROR_WINHTTP_INVALID_SERVER_RESPONSE || e == ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW;
}

/* seed == 0: one piece, 64 KiB buffers. */
static struct outcome run(enum wh_coding c, const uint8_t *in, size_t n, uint64_t bound,
                          uint32_t seed)
{
  struct outcome o = {0, NULL, 0, 0, false};
  struct wh_decoder d;
  o.err = wh_decoder_init(&d, c, bound);
  FUZZ_ASSERT(o.err == ERROR_SUCCESS);
  bool tiny_in = seed & 1, tiny_out = seed & 2;
  size_t pos = 0;
  bool want_error = false;
  for (unsigned long calls = 0;; calls++) {
    FUZZ_ASSERT(calls < 50000000ul);
    size_t avail = n - pos, oc = 65536;
    if (seed) {
      size_t k = pick(&seed, tiny_in);
      if (avail > k)
        avail = k;
      oc = pick(&seed, tiny_out);
    }
    unsigned char *chunk = malloc(avail ? avail : 1);
    unsigned char *buf = malloc(oc);
    FUZZ_ASSERT(chunk && buf);
    if (avail)
      memcpy(chunk, in + pos, avail);
    size_t used = 7, wrote = 7;
    bool done = true;
    DWORD e = wh_decoder_run(&d, chunk, avail, &used, buf, oc, &wrote, &done);
    if (!e)
      append(&o, buf, wrote);
    free(chunk);
    free(buf);
    if (e) {
      FUZZ_ASSERT(used == 0 && wrote == 0 && !done);
      FUZZ_ASSERT(documented(e));
      o.err = e;
      break;
    }
    FUZZ_ASSERT(!want_error);
    FUZZ_ASSERT(used <= avail && wrote <= oc);
    FUZZ_ASSERT((uint64_t)o.len <= bound);
    pos += used;
    o.done = done;
    if (wrote < oc && used < avail) {
      want_error = true; /* only a deferred error stops a call early */
      continue;
    }
    if (pos == n && wrote < oc) {
      o.err = wh_decoder_finish(&d);
      FUZZ_ASSERT(o.err == ERROR_SUCCESS || documented(o.err));
      break;
    }
  }
  if (o.err) {
    size_t used, wrote;
    bool done;
    unsigned char b[2];
    FUZZ_ASSERT(wh_decoder_run(&d, "z", 1, &used, b, sizeof(b), &wrote, &done) == o.err);
    FUZZ_ASSERT(wh_decoder_finish(&d) == o.err);
  }
  wh_decoder_free(&d);
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  enum wh_coding c = (enum wh_coding)((data[0] & 7) % 5);
  uint32_t seed = (uint32_t)(data[0] >> 3);
  uint64_t bound = (seed & 12) == 0 ? 1 + (uint64_t)seed * 977u : (uint64_t)1 << 16;
  const uint8_t *body = data + 1;
  size_t n = size - 1;

  struct outcome whole = run(c, body, n, bound, 0);
  /* Mixed into the seed so different bodies get different splits; never 0,
   * which means "one piece" (xorshift stays at 0). */
  uint32_t split = (seed << 24) ^ (uint32_t)n * 2654435761u;
  for (size_t i = 0; i < n && i < 16; i++)
    split = split * 31u + body[i];
  split = (split & ~3u) | (seed & 3u);
  if ((split >> 2) == 0)
    split |= 4u;
  struct outcome parts = run(c, body, n, bound, split);

  FUZZ_ASSERT((whole.err == ERROR_SUCCESS) == (parts.err == ERROR_SUCCESS));
  if (whole.err == ERROR_SUCCESS) {
    FUZZ_ASSERT(whole.len == parts.len);
    FUZZ_ASSERT(whole.len == 0 || memcmp(whole.out, parts.out, whole.len) == 0);
    FUZZ_ASSERT(whole.done == parts.done);
  } else {
    size_t m = whole.len < parts.len ? whole.len : parts.len;
    FUZZ_ASSERT(m == 0 || memcmp(whole.out, parts.out, m) == 0);
    FUZZ_ASSERT(whole.err == parts.err || whole.err == ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW ||
                parts.err == ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW);
  }
  /* The body doubles as a Content-Encoding value: any bytes map to a coding
   * in the enum, and only to an enabled one. */
  DWORD flags = (seed & 1 ? (DWORD)WINHTTP_DECOMPRESSION_FLAG_GZIP : 0) |
                (seed & 2 ? (DWORD)WINHTTP_DECOMPRESSION_FLAG_DEFLATE : 0) |
                (seed & 4 ? WH_DECOMPRESSION_FLAG_BR : 0) | (seed & 8 ? WH_DECOMPRESSION_FLAG_ZSTD : 0);
  enum wh_coding hc = (enum wh_coding)99;
  FUZZ_ASSERT(wh_coding_from_header((const char *)body, n < 64 ? n : 64, flags, &hc) ==
              ERROR_SUCCESS);
  FUZZ_ASSERT(hc == WH_CODING_IDENTITY ||
              (hc == WH_CODING_GZIP && (flags & WINHTTP_DECOMPRESSION_FLAG_GZIP)) ||
              (hc == WH_CODING_DEFLATE && (flags & WINHTTP_DECOMPRESSION_FLAG_DEFLATE)) ||
              (hc == WH_CODING_BR && (flags & WH_DECOMPRESSION_FLAG_BR)) ||
              (hc == WH_CODING_ZSTD && (flags & WH_DECOMPRESSION_FLAG_ZSTD)));

  if (c == WH_CODING_IDENTITY && (uint64_t)n <= bound) {
    FUZZ_ASSERT(whole.err == ERROR_SUCCESS && whole.len == n);
    FUZZ_ASSERT(n == 0 || memcmp(whole.out, body, n) == 0);
  }
  free(whole.out);
  free(parts.out);
  return 0;
}
