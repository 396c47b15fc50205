/* libFuzzer target for the incremental UTF-8 validator (proto/utf8_valid.c).
 *
 * Input: byte 0 says how many of the following bytes are piece lengths
 * (low 4 bits), the rest is the text. The text is validated at once, in the
 * fuzzer's pieces (each in its own heap block of exactly its size) and one
 * byte at a time, and by the reference checker of utf8_ref.h. Checked:
 *  - all runs stop at the same byte, the one the reference calls the first
 *    bad byte, or all accept every byte;
 *  - when all bytes are accepted, complete() agrees with the reference and
 *    with wh_utf8_valid(); a bad state is sticky.
 * Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "proto/utf8_valid.h"
#include "utf8_ref.h"

struct verdict {
  size_t at; /* offset of the first bad byte, or the length when none */
  bool complete;
};

/* Feeds |p|/|n| in pieces of the lengths |cuts|[0..ncuts) (0 means 1; the
 * last piece takes the rest; no cuts: one piece). */
static struct verdict run(const uint8_t *p, size_t n, const uint8_t *cuts, size_t ncuts)
{
  struct wh_utf8v v;
  wh_utf8v_init(&v);
  size_t pos = 0, k = 0;
  struct verdict out = {n, false};
  while (pos < n) {
    size_t plen = fuzz_piece_len(n, pos, cuts, ncuts, k++);
    uint8_t *piece = fuzz_piece_copy(p, pos, plen);
    size_t got = wh_utf8v_feed(&v, piece, plen);
    free(piece);
    FUZZ_ASSERT(got <= plen);
    if (got < plen) {
      FUZZ_ASSERT(!wh_utf8v_ok(&v) && !wh_utf8v_complete(&v));
      FUZZ_ASSERT(wh_utf8v_feed(&v, "a", 1) == 0); /* sticky */
      out.at = pos + got;
      return out;
    }
    FUZZ_ASSERT(wh_utf8v_ok(&v));
    pos += plen;
  }
  out.complete = wh_utf8v_complete(&v);
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  size_t ncuts = data[0] & 15u;
  if (ncuts > size - 1)
    ncuts = size - 1;
  const uint8_t *cuts = data + 1;
  const uint8_t *p = data + 1 + ncuts;
  size_t n = size - 1 - ncuts;

  /* The reference, byte by byte. */
  struct ref_utf8 ref = {{0}, 0, false};
  struct verdict want = {n, false};
  for (size_t i = 0; i < n; i++) {
    if (!ref_utf8_byte(&ref, p[i])) {
      want.at = i;
      break;
    }
  }
  if (want.at == n)
    want.complete = ref_utf8_complete(&ref);
  /* The reference agrees with itself: whole text and byte by byte. */
  FUZZ_ASSERT(ref_utf8_valid(p, n) == (want.at == n && want.complete));

  struct verdict whole = run(p, n, NULL, 0);
  FUZZ_ASSERT(whole.at == want.at && whole.complete == want.complete);
  struct verdict split = run(p, n, cuts, ncuts);
  FUZZ_ASSERT(split.at == want.at && split.complete == want.complete);
  if (n <= 4096) {
    uint8_t *ones = malloc(n ? n : 1);
    FUZZ_ASSERT(ones);
    memset(ones, 1, n ? n : 1);
    struct verdict bytes = run(p, n, ones, n);
    free(ones);
    FUZZ_ASSERT(bytes.at == want.at && bytes.complete == want.complete);
  }
  FUZZ_ASSERT(wh_utf8_valid(p, n) == (want.at == n && want.complete));
  return 0;
}
