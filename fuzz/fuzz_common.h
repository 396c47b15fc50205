/* Shared by the fuzz targets: the entry point's prototype, an invariant
 * check that aborts (so libFuzzer and the corpus replay both report it),
 * the pieces the streaming targets feed their input in, and the WCHAR
 * decoding the URL targets use for their text. */
#ifndef WH_FUZZ_COMMON_H
#define WH_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winhttp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                              \
  do {                                                                              \
    if (!(c)) {                                                                     \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);     \
      abort();                                                                      \
    }                                                                               \
  } while (0)

/* The length of the |k|-th piece of |n| input bytes, which starts at |pos|:
 * the fuzzer's piece length |cuts|[k] (0 means 1) while there are cuts,
 * and the rest of the input after them. */
static inline size_t fuzz_piece_len(size_t n, size_t pos, const uint8_t *cuts, size_t ncuts,
                                    size_t k)
{
  size_t left = n - pos;
  if (k >= ncuts)
    return left;
  size_t want = cuts[k] ? cuts[k] : 1;
  return want < left ? want : left;
}

/* A heap block holding exactly the |len| bytes at |base| + |pos| (one byte
 * allocated when |len| is 0, never read), so that AddressSanitizer catches
 * a read past a piece. |base| may be NULL when |len| is 0 (an empty
 * buffer), hence the offset is applied here and only when there are bytes.
 * free() it. */
static inline void *fuzz_piece_copy(const void *base, size_t pos, size_t len)
{
  void *piece = malloc(len ? len : 1);
  FUZZ_ASSERT(piece);
  if (len)
    memcpy(piece, (const unsigned char *)base + pos, len);
  return piece;
}

/* Decodes fuzz bytes into WCHARs: 0xFE and four bytes give any 32-bit
 * value (surrogates, above U+10FFFF, negative), 0xFF and two bytes a BMP
 * value, any other byte itself. Returns the count; |out| may be NULL to
 * count only. */
static inline size_t fuzz_decode_wide(const uint8_t *p, size_t n, WCHAR *out)
{
  size_t i = 0, k = 0;
  while (i < n) {
    uint32_t v;
    if (p[i] == 0xfe && n - i >= 5) {
      v = (uint32_t)p[i + 1] | (uint32_t)p[i + 2] << 8 | (uint32_t)p[i + 3] << 16 |
          (uint32_t)p[i + 4] << 24;
      i += 5;
    } else if (p[i] == 0xff && n - i >= 3) {
      v = (uint32_t)p[i + 1] << 8 | p[i + 2];
      i += 3;
    } else {
      v = p[i++];
    }
    if (out)
      out[k] = (WCHAR)v;
    k++;
  }
  return k;
}

#endif
