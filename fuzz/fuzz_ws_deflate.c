/* permessage-deflate (proto/ws_deflate.c): the server's answer to our
 * offer, and the inflater fed hostile data.
 *
 * Input: byte 0 picks the offer flags and the output buffer size; then a
 * NUL-terminated extension answer; the rest is a message's compressed
 * payload, fed in pieces of the sizes in the first bytes after the answer
 * (as the decoder's spans would come), with the message ending at the last
 * piece. Invariants: never more output than room, never more input taken
 * than given, the inflated size bounded, the same bytes whatever the
 * output buffer size (checked against a second run with a large buffer).
 * Plus a round trip: what the compressor makes of the payload inflates
 * back to it exactly. */
#include "fuzz_common.h"

#include <winhttp_ext.h>

#include "proto/ws_deflate.h"

/* Inflates |in| (pieces of |cuts|) with |cap|-byte outputs; the bytes go
 * to |out| (|*out_len|, at most |out_cap|). Returns false on the
 * inflater's own failure. */
static bool run_inflate(const uint8_t *in, size_t n, const uint8_t *cuts, size_t ncuts,
                        size_t cap, uint8_t *out, size_t out_cap, size_t *out_len)
{
  struct wh_ws_deflate_params p = {0};
  struct wh_ws_deflate d;
  FUZZ_ASSERT(wh_ws_deflate_init(&d, &p) == ERROR_SUCCESS);
  d.max_message = 1u << 20;
  uint8_t *buf = malloc(cap);
  FUZZ_ASSERT(buf);
  size_t pos = 0, k = 0;
  bool ok = true, done = false;
  *out_len = 0;
  while (ok && !done) {
    size_t len = fuzz_piece_len(n, pos, cuts, ncuts, k++);
    bool last = pos + len == n;
    uint8_t *piece = fuzz_piece_copy(in, pos, len);
    size_t off = 0;
    for (;;) {
      size_t used = 0, made = 0;
      unsigned code = 0;
      bool piece_done = false;
      DWORD err = wh_ws_deflate_inflate(&d, piece + off, len - off, last, buf, cap, &used,
                                        &made, &piece_done, &code);
      FUZZ_ASSERT(used <= len - off);
      FUZZ_ASSERT(made <= cap);
      if (err != ERROR_SUCCESS) {
        FUZZ_ASSERT(code == 1007 || code == 1009);
        ok = false;
        break;
      }
      FUZZ_ASSERT(*out_len + made <= out_cap || *out_len + made <= d.max_message + cap);
      if (*out_len + made <= out_cap)
        memcpy(out + *out_len, buf, made);
      *out_len += made;
      off += used;
      if (piece_done) {
        done = true;
        break;
      }
      if (made < cap && off == len && !last)
        break; /* the next piece */
      /* Room left and all in, the message must be done. */
      FUZZ_ASSERT(!(made < cap && off == len && last));
    }
    free(piece);
    pos += len;
  }
  FUZZ_ASSERT(*out_len <= d.max_message + cap);
  free(buf);
  wh_ws_deflate_free(&d);
  return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  DWORD flags = WINHTTP_EXT_WEB_SOCKET_DEFLATE | (data[0] & 0x6u) |
                (data[0] & 0x80 ? WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_WINDOW(8 + (data[0] & 7)) : 0);
  size_t cap = 1 + (size_t)(data[0] >> 3) * 37;
  const uint8_t *nul = memchr(data + 1, 0, size - 1);
  size_t alen = nul ? (size_t)(nul - data - 1) : size - 1;
  char *answer = fuzz_piece_copy(data, 1, alen);
  struct wh_ws_deflate_params p;
  DWORD err = wh_ws_deflate_answer(answer, alen, flags, &p);
  FUZZ_ASSERT(err == ERROR_SUCCESS || err == ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  if (err == ERROR_SUCCESS)
    FUZZ_ASSERT(p.server_max_window_bits == 0 ||
                (p.server_max_window_bits >= 8 && p.server_max_window_bits <= 15));
  free(answer);
  if (!nul)
    return 0;
  const uint8_t *rest = nul + 1;
  size_t rn = size - (size_t)(rest - data);
  size_t ncuts = rn > 4 ? 4 : rn;
  const uint8_t *cuts = rest, *in = rest + ncuts;
  size_t n = rn - ncuts;

  /* The inflater on arbitrary data, two buffer sizes: same verdict, same
   * bytes. */
  size_t out_cap = 4u << 20;
  uint8_t *a = malloc(out_cap), *b = malloc(out_cap);
  size_t alen2 = 0, blen = 0;
  bool aok = run_inflate(in, n, cuts, ncuts, cap, a, out_cap, &alen2);
  bool bok = run_inflate(in, n, cuts, ncuts, 1u << 16, b, out_cap, &blen);
  FUZZ_ASSERT(aok == bok);
  if (aok) {
    FUZZ_ASSERT(alen2 == blen);
    FUZZ_ASSERT(alen2 > out_cap || memcmp(a, b, alen2) == 0);
  }

  /* The round trip: our compressor's output inflates back to the input. */
  struct wh_ws_deflate_params none = {0};
  struct wh_ws_deflate d;
  FUZZ_ASSERT(wh_ws_deflate_init(&d, &none) == ERROR_SUCCESS);
  size_t zcap = wh_ws_deflate_bound(n);
  uint8_t *z = malloc(zcap);
  size_t zn = 0;
  FUZZ_ASSERT(wh_ws_deflate_compress(&d, in, n, true, z, zcap, &zn) == ERROR_SUCCESS);
  wh_ws_deflate_free(&d);
  size_t back = 0;
  FUZZ_ASSERT(run_inflate(z, zn, cuts, ncuts, cap, a, out_cap, &back));
  FUZZ_ASSERT(back == n);
  FUZZ_ASSERT(n == 0 || memcmp(a, in, n) == 0);
  free(z);
  free(a);
  free(b);
  return 0;
}
