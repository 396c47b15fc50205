/* see ntlm.h */
#include "proto/ntlm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "util/md4.h"
#include "util/mem.h"

/* NegotiateFlags (MS-NLMP 2.2.2.5). */
#define F_UNICODE 0x00000001u
#define F_OEM 0x00000002u
#define F_REQUEST_TARGET 0x00000004u
#define F_NTLM 0x00000200u
#define F_ALWAYS_SIGN 0x00008000u
#define F_EXTENDED_SESSIONSECURITY 0x00080000u
#define F_TARGET_INFO 0x00800000u
#define F_VERSION 0x02000000u
#define F_128 0x20000000u
#define F_56 0x80000000u

#define OUR_FLAGS                                                                             \
  (F_UNICODE | F_OEM | F_REQUEST_TARGET | F_NTLM | F_ALWAYS_SIGN | F_EXTENDED_SESSIONSECURITY | \
   F_VERSION | F_128 | F_56)

/* AV_PAIR ids (2.2.2.1). */
#define AV_EOL 0
#define AV_TIMESTAMP 7

static const unsigned char signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

static void put16(unsigned char *p, uint16_t v)
{
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const unsigned char *p)
{
  return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void wh_ntlm_negotiate(unsigned char out[WH_NTLM_NEGOTIATE_LEN])
{
  memset(out, 0, WH_NTLM_NEGOTIATE_LEN);
  memcpy(out, signature, 8);
  put32(out + 8, 1);
  put32(out + 12, OUR_FLAGS);
  /* Domain and workstation fields: empty, their offsets at the end of
   * the message (gss-ntlmssp refuses an offset inside the header). */
  put32(out + 20, WH_NTLM_NEGOTIATE_LEN);
  put32(out + 28, WH_NTLM_NEGOTIATE_LEN);
  /* The Version field (2.2.2.10), which the optional field is in practice:
   * Windows always sends it, and gss-ntlmssp 1.2 refuses a negotiate
   * message without it. 10.0, build 19041, NTLM revision 15. */
  out[32] = 10;
  out[33] = 0;
  put16(out + 34, 19041);
  out[39] = 15;
}

DWORD wh_ntlm_parse_challenge(const unsigned char *msg, size_t len,
                              struct wh_ntlm_challenge *out)
{
  memset(out, 0, sizeof(*out));
  if (len < 32 || memcmp(msg, signature, 8) != 0 || get32(msg + 8) != 2)
    return ERROR_WINHTTP_LOGIN_FAILURE;
  out->flags = get32(msg + 20);
  memcpy(out->server_challenge, msg + 24, 8);
  /* Only Unicode strings are spoken; NTLMv2 needs the target's
   * information (its AV pairs sign into the response). */
  if (!(out->flags & F_UNICODE) || !(out->flags & F_TARGET_INFO) || len < 48)
    return ERROR_WINHTTP_LOGIN_FAILURE;
  size_t tl = get16(msg + 40), off = get32(msg + 44);
  if (off > len || tl > len - off || tl < 4)
    return ERROR_WINHTTP_LOGIN_FAILURE;
  out->target_info = msg + off;
  out->target_info_len = tl;
  /* The AV pairs must end with MsvAvEOL, each inside the field. */
  for (size_t i = 0;;) {
    if (tl - i < 4)
      return ERROR_WINHTTP_LOGIN_FAILURE;
    uint16_t id = get16(out->target_info + i), n = get16(out->target_info + i + 2);
    i += 4;
    if (n > tl - i)
      return ERROR_WINHTTP_LOGIN_FAILURE;
    if (id == AV_EOL)
      break;
    if (id == AV_TIMESTAMP && n == 8) {
      uint64_t t = 0;
      for (int k = 7; k >= 0; k--)
        t = t << 8 | out->target_info[i + (size_t)k];
      out->timestamp = t;
    }
    i += n;
  }
  return ERROR_SUCCESS;
}

/* HMAC-MD5 of |a| followed by |b|. On failure (no memory) a zero key: one
 * no server accepts, so the login fails cleanly. */
static void hmac_md5(const unsigned char key[16], const unsigned char *a, size_t alen,
                     const unsigned char *b, size_t blen, unsigned char out[16])
{
  unsigned int n = 16;
  unsigned char *buf = wh_malloc(alen + blen + 1);
  if (!buf) {
    memset(out, 0, 16);
    return;
  }
  memcpy(buf, a, alen);
  if (blen)
    memcpy(buf + alen, b, blen);
  if (!HMAC(EVP_md5(), key, 16, buf, alen + blen, out, &n))
    memset(out, 0, 16);
  OPENSSL_cleanse(buf, alen + blen);
  wh_free(buf);
}

void wh_ntlm_owf_v2(const uint16_t *user_upper, size_t user_len, const uint16_t *domain,
                    size_t domain_len, const uint16_t *password, size_t password_len,
                    unsigned char out[16])
{
  unsigned char nt[16];
  size_t pl = password_len * 2, ul = user_len * 2, dl = domain_len * 2;
  unsigned char *buf = wh_malloc(pl + ul + dl + 1);
  if (!buf) {
    memset(out, 0, 16);
    return;
  }
  for (size_t i = 0; i < password_len; i++)
    put16(buf + 2 * i, password[i]);
  wh_md4(buf, pl, nt);
  OPENSSL_cleanse(buf, pl);
  for (size_t i = 0; i < user_len; i++)
    put16(buf + 2 * i, user_upper[i]);
  for (size_t i = 0; i < domain_len; i++)
    put16(buf + ul + 2 * i, domain[i]);
  hmac_md5(nt, buf, ul + dl, NULL, 0, out);
  OPENSSL_cleanse(nt, sizeof(nt));
  wh_free(buf);
}

void wh_ntlm_proof(const unsigned char response_key[16], const unsigned char server_challenge[8],
                   const unsigned char *temp, size_t temp_len, unsigned char out[16])
{
  hmac_md5(response_key, server_challenge, 8, temp, temp_len, out);
}

/* A security buffer's fields (length, allocated length, offset). */
static void fields(unsigned char *p, size_t len, size_t off)
{
  put16(p, (uint16_t)len);
  put16(p + 2, (uint16_t)len);
  put32(p + 4, (uint32_t)off);
}

DWORD wh_ntlm_authenticate(const struct wh_ntlm_challenge *ch, const uint16_t *user,
                           size_t user_len, const uint16_t *domain, size_t domain_len,
                           const unsigned char response_key[16], uint64_t time,
                           const unsigned char client_challenge[8], unsigned char **out,
                           size_t *out_len)
{
  *out = NULL;
  *out_len = 0;
  /* temp (3.3.2): versions 1 and 1, six zeros, the time, the client
   * challenge, four zeros, the target information as received, four
   * zeros. */
  size_t temp_len = 28 + ch->target_info_len + 4;
  size_t nt_len = 16 + temp_len, lm_len = 24;
  size_t ul = user_len * 2, dl = domain_len * 2;
  if (nt_len > 0xffff || ul > 0xffff || dl > 0xffff)
    return ERROR_WINHTTP_LOGIN_FAILURE;
  size_t total = 64 + dl + ul + lm_len + nt_len;
  unsigned char *m = wh_calloc(1, total);
  if (!m)
    return ERROR_NOT_ENOUGH_MEMORY;
  size_t off_dom = 64, off_user = off_dom + dl, off_lm = off_user + ul, off_nt = off_lm + lm_len;

  unsigned char *temp = m + off_nt + 16;
  temp[0] = 1;
  temp[1] = 1;
  put64(temp + 8, ch->timestamp ? ch->timestamp : time);
  memcpy(temp + 16, client_challenge, 8);
  memcpy(temp + 28, ch->target_info, ch->target_info_len);
  wh_ntlm_proof(response_key, ch->server_challenge, temp, temp_len, m + off_nt);

  /* With a timestamp from the server the LMv2 response is left zero
   * (3.1.5.1.2); otherwise it is HMAC(server challenge, client challenge)
   * followed by the client challenge. */
  if (!ch->timestamp) {
    hmac_md5(response_key, ch->server_challenge, 8, client_challenge, 8, m + off_lm);
    memcpy(m + off_lm + 16, client_challenge, 8);
  }
  for (size_t i = 0; i < domain_len; i++)
    put16(m + off_dom + 2 * i, domain[i]);
  for (size_t i = 0; i < user_len; i++)
    put16(m + off_user + 2 * i, user[i]);

  memcpy(m, signature, 8);
  put32(m + 8, 3);
  fields(m + 12, lm_len, off_lm);
  fields(m + 20, nt_len, off_nt);
  fields(m + 28, dl, off_dom);
  fields(m + 36, ul, off_user);
  fields(m + 44, 0, total);  /* workstation: none */
  fields(m + 52, 0, total);  /* no session key exchanged */
  /* Without F_VERSION: the message then has no Version field. */
  put32(m + 60, (ch->flags & OUR_FLAGS & ~(F_OEM | F_VERSION)) | F_UNICODE);
  *out = m;
  *out_len = total;
  return ERROR_SUCCESS;
}
