/* see md4.h */
#include "util/md4.h"

#include <string.h>

static uint32_t rol(uint32_t x, int s)
{
  return (x << s) | (x >> (32 - s));
}

#define F(x, y, z) (((x) & (y)) | (~(x) & (z)))
#define G(x, y, z) (((x) & (y)) | ((x) & (z)) | ((y) & (z)))
#define H(x, y, z) ((x) ^ (y) ^ (z))

/* One 64-byte block (RFC 1320 §3.4: three rounds of sixteen steps). */
static void block(uint32_t st[4], const unsigned char *p)
{
  uint32_t x[16];
  for (int i = 0; i < 16; i++)
    x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
           (uint32_t)p[4 * i + 3] << 24;
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
  static const int s1[4] = {3, 7, 11, 19}, s2[4] = {3, 5, 9, 13}, s3[4] = {3, 9, 11, 15};
  for (int i = 0; i < 16; i++) {
    uint32_t t = rol(a + F(b, c, d) + x[i], s1[i % 4]);
    a = d, d = c, c = b, b = t;
  }
  for (int i = 0; i < 16; i++) {
    int k = (i % 4) * 4 + i / 4; /* 0 4 8 12 1 5 9 13 ... */
    uint32_t t = rol(a + G(b, c, d) + x[k] + 0x5a827999u, s2[i % 4]);
    a = d, d = c, c = b, b = t;
  }
  static const int order3[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  for (int i = 0; i < 16; i++) {
    uint32_t t = rol(a + H(b, c, d) + x[order3[i]] + 0x6ed9eba1u, s3[i % 4]);
    a = d, d = c, c = b, b = t;
  }
  st[0] += a;
  st[1] += b;
  st[2] += c;
  st[3] += d;
}

void wh_md4(const void *data, size_t len, unsigned char out[16])
{
  uint32_t st[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  const unsigned char *p = data;
  size_t left = len;
  for (; left >= 64; p += 64, left -= 64)
    block(st, p);
  /* Padding: 0x80, zeros to 56 mod 64, then the bit length, little-endian. */
  unsigned char tail[128] = {0};
  memcpy(tail, p, left);
  tail[left] = 0x80;
  size_t tl = left < 56 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++)
    tail[tl - 8 + (size_t)i] = (unsigned char)(bits >> (8 * i));
  block(st, tail);
  if (tl == 128)
    block(st, tail + 64);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      out[4 * i + j] = (unsigned char)(st[i] >> (8 * j));
}
