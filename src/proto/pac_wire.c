/* see pac_wire.h */
#include "proto/pac_wire.h"

#include <string.h>

void wh_pac_wire_header(unsigned char hdr[WH_PAC_WIRE_HEADER], int type, size_t len)
{
  hdr[0] = (unsigned char)type;
  hdr[1] = (unsigned char)(len >> 24);
  hdr[2] = (unsigned char)(len >> 16);
  hdr[3] = (unsigned char)(len >> 8);
  hdr[4] = (unsigned char)len;
}

int wh_pac_wire_parse_header(const unsigned char *p, size_t n, size_t max, int *type,
                             size_t *len)
{
  if (n < WH_PAC_WIRE_HEADER)
    return 0;
  size_t l = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | (size_t)p[4];
  if (l > max)
    return -1;
  *type = p[0];
  *len = l;
  return 1;
}

bool wh_pac_wire_split_query(const char *p, size_t n, const char **url, size_t *url_len,
                             const char **host, size_t *host_len)
{
  const char *nul = memchr(p, '\0', n);
  if (!nul)
    return false;
  size_t ul = (size_t)(nul - p);
  if (memchr(nul + 1, '\0', n - ul - 1))
    return false;
  *url = p;
  *url_len = ul;
  *host = nul + 1;
  *host_len = n - ul - 1;
  return true;
}
