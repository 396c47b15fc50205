/* libFuzzer target for the chunked decoder (proto/h1_body.c).
 *
 * Input: byte 0 picks the limits and whether trailers are collected, byte 1
 * says how many of the following bytes are piece lengths (0-15), and the
 * rest is the body as sent. The body is decoded whole, in the fuzzer's
 * pieces (each in its own heap block, unconsumed bytes offered again), and,
 * when short, one byte at a time. Checked:
 *  - every run of the three gives the same error, end, de-chunked bytes,
 *    bytes consumed and trailers;
 *  - data spans point inside the bytes consumed by that call, a call with
 *    no data and no end consumed everything, errors are sticky, and after
 *    the end nothing more is consumed;
 *  - a decoded body re-encoded with wh_h1_chunk_header decodes to itself.
 * Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <winhttp.h>

#include "fuzz_common.h"
#include "proto/h1.h"
#include "util/buf.h"
#include "util/mem.h"

#define CHECK(x)                                                                                  \
  do {                                                                                            \
    if (!(x))                                                                                     \
      abort();                                                                                    \
  } while (0)

static const size_t max_lines[4] = {0, 8, 64, 1};
static const size_t max_trailers[4] = {0, 16, 256, 1};
static const size_t trailer_counts[4] = {0, 1, 3, 10};

struct cfg {
  size_t max_line, max_trailer, max_count;
  bool collect;
};

struct result {
  DWORD err;
  bool done;
  size_t consumed;
  struct wh_buf body;
  char *trailers; /* serialised store (wh_free); NULL when not collected */
};

/* Decodes |in|/|n| cut into pieces of the lengths |cuts|[0..ncuts) (0 means
 * 1; the last piece takes whatever is left). */
static void decode(const char *in, size_t n, const uint8_t *cuts, size_t ncuts,
                   const struct cfg *cf, struct result *res)
{
  struct wh_headers tr;
  struct wh_chunked c;
  wh_headers_init(&tr);
  wh_headers_set_limits(&tr, 0, cf->max_count);
  wh_chunked_init(&c, cf->max_line, cf->max_trailer, cf->collect ? &tr : NULL);
  wh_buf_init(&res->body, SIZE_MAX / 2);
  res->err = ERROR_SUCCESS;
  res->done = false;
  res->consumed = 0;
  res->trailers = NULL;

  size_t pos = 0, k = 0;
  while (pos < n && res->err == ERROR_SUCCESS && !res->done) {
    size_t plen = fuzz_piece_len(n, pos, cuts, ncuts, k++);
    char *piece = fuzz_piece_copy(in, pos, plen);
    size_t off = 0;
    for (;;) {
      size_t used, dlen;
      const char *d;
      res->err = wh_chunked_decode(&c, piece + off, plen - off, &used, &d, &dlen);
      CHECK(used <= plen - off);
      if (dlen) {
        CHECK(res->err == ERROR_SUCCESS);
        CHECK(d >= piece + off && d + dlen <= piece + off + used);
        CHECK(wh_buf_add(&res->body, d, dlen) == 0);
      }
      off += used;
      res->consumed += used;
      res->done = wh_chunked_done(&c);
      if (res->err || res->done)
        break;
      if (dlen == 0) {
        CHECK(off == plen);
        break;
      }
    }
    free(piece);
    pos += off == plen ? plen : off;
    if (off != plen)
      CHECK(res->err || res->done);
  }
  CHECK(res->consumed <= n);
  if (res->err) {
    size_t used = 1, dlen = 1;
    const char *d;
    CHECK(wh_chunked_decode(&c, "0\r\n\r\n", 5, &used, &d, &dlen) == res->err);
    CHECK(used == 0 && dlen == 0 && !wh_chunked_done(&c));
  } else if (res->done) {
    size_t used = 1, dlen = 1;
    const char *d;
    CHECK(wh_chunked_decode(&c, "1\r\n", 3, &used, &d, &dlen) == ERROR_SUCCESS);
    CHECK(used == 0 && dlen == 0);
  } else {
    CHECK(res->consumed == n);
  }
  CHECK(c.body_len == res->body.len);
  if (cf->collect) {
    struct wh_buf t;
    wh_buf_init(&t, SIZE_MAX / 2);
    CHECK(wh_headers_serialize(&tr, &t) == ERROR_SUCCESS);
    res->trailers = wh_buf_take(&t, NULL);
    CHECK(res->trailers);
    if (!res->done)
      CHECK(tr.n == 0); /* trailers appear only with the end */
  }
  wh_chunked_free(&c);
  wh_headers_free(&tr);
}

static void same(const struct result *a, const struct result *b)
{
  CHECK(a->err == b->err && a->done == b->done);
  CHECK(a->body.len == b->body.len);
  CHECK(a->body.len == 0 || memcmp(a->body.p, b->body.p, a->body.len) == 0);
  if (a->err == ERROR_SUCCESS)
    CHECK(a->consumed == b->consumed);
  CHECK((a->trailers == NULL) == (b->trailers == NULL));
  if (a->trailers)
    CHECK(strcmp(a->trailers, b->trailers) == 0);
}

static void release(struct result *r)
{
  wh_buf_free(&r->body);
  wh_free(r->trailers);
}

/* The decoded body as chunks of up to 7 bytes, then the last chunk. */
static void reencode(const struct result *r)
{
  struct wh_buf b;
  wh_buf_init(&b, SIZE_MAX / 2);
  for (size_t i = 0; i < r->body.len; i += 7) {
    size_t n = r->body.len - i < 7 ? r->body.len - i : 7;
    char hdr[WH_H1_CHUNK_HEADER_MAX];
    CHECK(wh_buf_add(&b, hdr, wh_h1_chunk_header(n, hdr)) == 0);
    CHECK(wh_buf_add(&b, r->body.p + i, n) == 0);
    CHECK(wh_buf_add(&b, WH_H1_CHUNK_END, 2) == 0);
  }
  CHECK(wh_buf_add(&b, WH_H1_LAST_CHUNK, 5) == 0);
  struct cfg cf = {0, 0, 0, false};
  struct result again;
  decode(b.p, b.len, NULL, 0, &cf, &again);
  CHECK(again.err == ERROR_SUCCESS && again.done && again.consumed == b.len);
  CHECK(again.body.len == r->body.len);
  CHECK(r->body.len == 0 || memcmp(again.body.p, r->body.p, r->body.len) == 0);
  release(&again);
  wh_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  struct cfg cf = {max_lines[data[0] & 3], max_trailers[(data[0] >> 2) & 3],
                   trailer_counts[(data[0] >> 5) & 3], (data[0] & 0x10) != 0};
  size_t ncuts = data[1] & 15;
  if (ncuts > size - 2)
    ncuts = size - 2;
  const uint8_t *cuts = data + 2;
  const char *in = (const char *)data + 2 + ncuts;
  size_t n = size - 2 - ncuts;

  struct result whole, split;
  decode(in, n, NULL, 0, &cf, &whole);
  decode(in, n, cuts, ncuts, &cf, &split);
  same(&whole, &split);
  release(&split);
  if (n <= 2048) {
    uint8_t ones[1] = {1};
    struct result bytes;
    /* One piece length, repeated: every piece is one byte. */
    size_t pos_cuts = n;
    uint8_t *c1 = malloc(pos_cuts ? pos_cuts : 1);
    CHECK(c1);
    memset(c1, ones[0], pos_cuts ? pos_cuts : 1);
    decode(in, n, c1, pos_cuts, &cf, &bytes);
    free(c1);
    same(&whole, &bytes);
    release(&bytes);
  }
  if (whole.err == ERROR_SUCCESS && whole.done)
    reencode(&whole);
  release(&whole);
  return 0;
}
