/* MD4 (RFC 1320), for NTLM's password hash and nothing else: OpenSSL 3
 * keeps MD4 in its legacy provider, which a system may not ship or load,
 * and MD4 is broken as a general hash. Pure. */
#ifndef WH_UTIL_MD4_H
#define WH_UTIL_MD4_H

#include <stddef.h>
#include <stdint.h>

void wh_md4(const void *data, size_t len, unsigned char out[16]);

#endif
