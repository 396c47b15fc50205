/* libFuzzer target for NTLM challenge messages (proto/ntlm.c) and the
 * token lookup in challenge fields (policy/auth.c): what a hostile server
 * can send in "WWW-Authenticate: NTLM <base64>".
 *
 * Input: the first byte picks the target. 0: the rest is a decoded
 * challenge message; when it parses, the authenticate message is built for
 * a fixed user and key. 1: the rest is a field value searched for the NTLM
 * and Negotiate tokens.
 *
 * Invariants checked: no crash or leak (ASan/UBSan); a parsed challenge's
 * target information lies inside the input and ends with MsvAvEOL; the
 * authenticate message carries its signature and type, and every field's
 * offset and length lie inside it; a token found lies inside the value. */
#include "fuzz_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/auth.h"
#include "proto/ntlm.h"
#include "util/mem.h"

static void check_field(const unsigned char *m, size_t len, size_t at)
{
  size_t n = (size_t)(m[at] | m[at + 1] << 8);
  size_t off = (size_t)m[at + 4] | (size_t)m[at + 5] << 8 | (size_t)m[at + 6] << 16 |
               (size_t)m[at + 7] << 24;
  if (off > len || n > len - off)
    abort();
}

static void challenge(const uint8_t *data, size_t size)
{
  struct wh_ntlm_challenge ch;
  if (wh_ntlm_parse_challenge(data, size, &ch) != ERROR_SUCCESS)
    return;
  if (ch.target_info < data || ch.target_info_len > size ||
      (size_t)(ch.target_info - data) > size - ch.target_info_len || ch.target_info_len < 4)
    abort();
  static const uint16_t user[] = {'b', 'o', 'b'}, dom[] = {'W', 'I', 'N'};
  static const unsigned char key[16] = {1, 2, 3}, cc[8] = {9, 8, 7};
  unsigned char *m;
  size_t len;
  DWORD err = wh_ntlm_authenticate(&ch, user, 3, dom, 3, key, 1, cc, &m, &len);
  if (err == ERROR_WINHTTP_LOGIN_FAILURE)
    return; /* too large a target for a 16-bit field */
  if (err != ERROR_SUCCESS)
    abort();
  if (len < 64 || memcmp(m, "NTLMSSP\0\3\0\0\0", 12) != 0)
    abort();
  for (size_t at = 12; at <= 52; at += 8)
    check_field(m, len, at);
  wh_free(m);
}

static void token(const uint8_t *data, size_t size)
{
  const char *names[] = {"NTLM", "Negotiate"};
  for (size_t i = 0; i < 2; i++) {
    const char *t;
    size_t n;
    if (wh_auth_find_token((const char *)data, size, names[i], &t, &n) &&
        (t < (const char *)data || n > size || (size_t)(t - (const char *)data) > size - n))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  if (data[0] & 1)
    token(data + 1, size - 1);
  else
    challenge(data + 1, size - 1);
  return 0;
}
