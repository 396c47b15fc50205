/* The NTLM codec (proto/ntlm.h) and MD4 (util/md4.h) against published
 * vectors: RFC 1320's for MD4, MS-NLMP §4.2.2 and §4.2.4 for NTOWFv1,
 * NTOWFv2, the NTLMv2 proof and the LMv2 response; and the challenge
 * parser against malformed messages. */
#include "wh_test.h"

#include <stdio.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "proto/ntlm.h"
#include "util/md4.h"
#include "util/mem.h"

static void hex(const char *h, unsigned char *out, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
    out[i] = (unsigned char)v;
  }
}

static void assert_hex(const unsigned char *got, const char *want)
{
  unsigned char w[64];
  size_t n = strlen(want) / 2;
  hex(want, w, n);
  assert_memory_equal(got, w, n);
}

static size_t u16(const char *s, uint16_t *out)
{
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++)
    out[i] = (uint16_t)(unsigned char)s[i];
  return n;
}

static void test_md4_rfc1320(void **state)
{
  (void)state;
  unsigned char d[16];
  wh_md4("", 0, d);
  assert_hex(d, "31d6cfe0d16ae931b73c59d7e0c089c0");
  wh_md4("abc", 3, d);
  assert_hex(d, "a448017aaf21d8525fc10ae87aa6729d");
  wh_md4("message digest", 14, d);
  assert_hex(d, "d9130a8164549fe818874806e1c7014b");
  const char *long80 =
      "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
  wh_md4(long80, 80, d);
  assert_hex(d, "e33b4ddc9c38f2199c3e7b164fcc0536");
  /* 56 bytes: the padding needs a second block. */
  wh_md4("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
  unsigned char again[16];
  wh_md4("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, again);
  assert_memory_equal(d, again, 16);
}

/* MS-NLMP 4.2.2.1.2: NTOWFv1("Password"), the MD4 of its UTF-16LE form. */
static void test_ntowf_v1(void **state)
{
  (void)state;
  const unsigned char pw[] = {'P', 0, 'a', 0, 's', 0, 's', 0, 'w', 0, 'o', 0, 'r', 0, 'd', 0};
  unsigned char d[16];
  wh_md4(pw, sizeof(pw), d);
  assert_hex(d, "a4f49c406510bdcab6824ee7c30fd852");
}

/* MS-NLMP 4.2.4: user "User", domain "Domain", password "Password",
 * server challenge 0123456789abcdef, client challenge aa..aa, time 0, and
 * the AV pairs NbDomainName "Domain", NbComputerName "Server". */
static const unsigned char server_ch[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const unsigned char client_ch[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
static const unsigned char av[] = {0x02, 0x00, 0x0c, 0x00, 'D', 0, 'o', 0, 'm', 0, 'a', 0, 'i', 0,
                                   'n', 0, 0x01, 0x00, 0x0c, 0x00, 'S', 0, 'e', 0, 'r', 0, 'v', 0,
                                   'e', 0, 'r', 0, 0x00, 0x00, 0x00, 0x00};

static void response_key(unsigned char key[16])
{
  uint16_t user[8], dom[8], pw[16];
  size_t ul = u16("USER", user), dl = u16("Domain", dom), pl = u16("Password", pw);
  wh_ntlm_owf_v2(user, ul, dom, dl, pw, pl, key);
}

static void test_ntowf_v2(void **state)
{
  (void)state;
  unsigned char key[16];
  response_key(key);
  assert_hex(key, "0c868a403bfd7a93a3001ef22ef02e3f");
}

/* A challenge message carrying the vector's values, no timestamp. */
static size_t challenge_msg(unsigned char *m, const unsigned char *info, size_t info_len,
                            uint32_t flags)
{
  memset(m, 0, 48);
  memcpy(m, "NTLMSSP\0", 8);
  m[8] = 2;
  m[20] = (unsigned char)flags;
  m[21] = (unsigned char)(flags >> 8);
  m[22] = (unsigned char)(flags >> 16);
  m[23] = (unsigned char)(flags >> 24);
  memcpy(m + 24, server_ch, 8);
  m[40] = (unsigned char)info_len;
  m[42] = (unsigned char)info_len;
  m[44] = 48;
  memcpy(m + 48, info, info_len);
  return 48 + info_len;
}

static void test_authenticate_vector(void **state)
{
  (void)state;
  unsigned char msg[256];
  size_t len = challenge_msg(msg, av, sizeof(av), 0xe28a8233u);
  struct wh_ntlm_challenge ch;
  assert_int_equal(wh_ntlm_parse_challenge(msg, len, &ch), ERROR_SUCCESS);
  assert_int_equal(ch.target_info_len, sizeof(av));
  assert_int_equal(ch.timestamp, 0);
  unsigned char key[16];
  response_key(key);
  uint16_t user[8], dom[8];
  size_t ul = u16("User", user), dl = u16("Domain", dom);
  unsigned char *out;
  size_t out_len;
  assert_int_equal(wh_ntlm_authenticate(&ch, user, ul, dom, dl, key, 0, client_ch, &out, &out_len),
                   ERROR_SUCCESS);
  assert_memory_equal(out, "NTLMSSP\0\3\0\0\0", 12);
  /* LMv2: HMAC(server ch || client ch), then the client challenge. */
  size_t lm_off = (size_t)(out[16] | out[17] << 8);
  assert_int_equal(out[12], 24);
  assert_hex(out + lm_off, "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
  /* The NT response starts with NTProofStr, then temp. */
  size_t nt_len = (size_t)(out[20] | out[21] << 8), nt_off = (size_t)(out[24] | out[25] << 8);
  assert_int_equal(nt_len, 16 + 28 + sizeof(av) + 4);
  assert_hex(out + nt_off, "68cd0ab851e51c96aabc927bebef6a1c");
  assert_hex(out + nt_off + 16, "0101000000000000");
  assert_memory_equal(out + nt_off + 16 + 28, av, sizeof(av));
  /* User and domain as given, UTF-16LE. */
  size_t u_off = (size_t)(out[40] | out[41] << 8);
  assert_int_equal(out[36], 8);
  assert_memory_equal(out + u_off, "U\0s\0e\0r\0", 8);
  wh_free(out);
}

/* A server timestamp is used, and the LMv2 response is then zeros. */
static void test_authenticate_timestamp(void **state)
{
  (void)state;
  unsigned char info[64];
  size_t n = 0;
  info[n++] = 7, info[n++] = 0, info[n++] = 8, info[n++] = 0;
  for (int i = 0; i < 8; i++)
    info[n++] = (unsigned char)(0x11 * (i + 1));
  memset(info + n, 0, 4), n += 4;
  unsigned char msg[256];
  size_t len = challenge_msg(msg, info, n, 0xe28a8233u);
  struct wh_ntlm_challenge ch;
  assert_int_equal(wh_ntlm_parse_challenge(msg, len, &ch), ERROR_SUCCESS);
  assert_int_equal(ch.timestamp, 0x8877665544332211ull);
  unsigned char key[16] = {1};
  uint16_t user[4];
  size_t ul = u16("bob", user);
  unsigned char *out;
  size_t out_len;
  assert_int_equal(
      wh_ntlm_authenticate(&ch, user, ul, NULL, 0, key, 12345, client_ch, &out, &out_len),
      ERROR_SUCCESS);
  size_t lm_off = (size_t)(out[16] | out[17] << 8);
  unsigned char zero[24] = {0};
  assert_memory_equal(out + lm_off, zero, 24);
  size_t nt_off = (size_t)(out[24] | out[25] << 8);
  assert_memory_equal(out + nt_off + 16 + 8, info + 4, 8); /* the server's time */
  wh_free(out);
}

static void test_bad_challenges(void **state)
{
  (void)state;
  struct wh_ntlm_challenge ch;
  unsigned char msg[256];
  size_t len = challenge_msg(msg, av, sizeof(av), 0xe28a8233u);
  for (size_t cut = 0; cut < len; cut++) /* every truncation */
    assert_int_equal(wh_ntlm_parse_challenge(msg, cut, &ch), ERROR_WINHTTP_LOGIN_FAILURE);
  unsigned char bad[256];
  memcpy(bad, msg, len);
  bad[8] = 3; /* not a challenge */
  assert_int_equal(wh_ntlm_parse_challenge(bad, len, &ch), ERROR_WINHTTP_LOGIN_FAILURE);
  memcpy(bad, msg, len);
  bad[44] = 200; /* target info outside the message */
  assert_int_equal(wh_ntlm_parse_challenge(bad, len, &ch), ERROR_WINHTTP_LOGIN_FAILURE);
  memcpy(bad, msg, len);
  bad[48 + 2] = 0xff; /* an AV pair longer than the field */
  assert_int_equal(wh_ntlm_parse_challenge(bad, len, &ch), ERROR_WINHTTP_LOGIN_FAILURE);
  /* No Unicode, no target information: not NTLMv2. */
  len = challenge_msg(msg, av, sizeof(av), 0xe28a8233u & ~1u);
  assert_int_equal(wh_ntlm_parse_challenge(msg, len, &ch), ERROR_WINHTTP_LOGIN_FAILURE);
  len = challenge_msg(msg, av, sizeof(av), 0xe28a8233u & ~0x00800000u);
  assert_int_equal(wh_ntlm_parse_challenge(msg, len, &ch), ERROR_WINHTTP_LOGIN_FAILURE);
  /* AV pairs without the terminating MsvAvEOL. */
  len = challenge_msg(msg, av, sizeof(av) - 4, 0xe28a8233u);
  assert_int_equal(wh_ntlm_parse_challenge(msg, len, &ch), ERROR_WINHTTP_LOGIN_FAILURE);
}

static void test_negotiate_message(void **state)
{
  (void)state;
  unsigned char m[WH_NTLM_NEGOTIATE_LEN];
  wh_ntlm_negotiate(m);
  assert_memory_equal(m, "NTLMSSP\0\1\0\0\0", 12);
  uint32_t flags = (uint32_t)m[12] | (uint32_t)m[13] << 8 | (uint32_t)m[14] << 16 |
                   (uint32_t)m[15] << 24;
  assert_true(flags & 0x1);        /* Unicode */
  assert_true(flags & 0x200);      /* NTLM */
  assert_true(flags & 0x80000);    /* extended session security */
  assert_false(flags & 0x10);      /* no signing */
  assert_false(flags & 0x40000000); /* no key exchange */
}

/* Interoperability: gss-ntlmssp (an independent implementation, Debian's
 * package) as the server accepts our negotiate message, and our
 * authenticate message for the right password, as WINHTTP\bob; it refuses
 * a wrong one. The server's users come from NTLM_USER_FILE. */
static gss_OID_desc ntlmssp_oid = {10, (void *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};

static OM_uint32 accept_as_server(const char *password, char *who, size_t who_cap)
{
  OM_uint32 min, maj;
  gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  gss_OID_set_desc mechs = {1, &ntlmssp_oid};
  maj = gss_acquire_cred(&min, GSS_C_NO_NAME, 0, &mechs, GSS_C_ACCEPT, &cred, NULL, NULL);
  assert_int_equal(maj, GSS_S_COMPLETE);
  unsigned char t1[WH_NTLM_NEGOTIATE_LEN];
  wh_ntlm_negotiate(t1);
  gss_buffer_desc in = {sizeof(t1), t1}, t2 = GSS_C_EMPTY_BUFFER;
  maj = gss_accept_sec_context(&min, &ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL, &t2,
                               NULL, NULL, NULL);
  assert_int_equal(maj, GSS_S_CONTINUE_NEEDED);
  struct wh_ntlm_challenge ch;
  assert_int_equal(wh_ntlm_parse_challenge(t2.value, t2.length, &ch), ERROR_SUCCESS);
  uint16_t upper[8], user[8], dom[8], pw[64];
  size_t ul = u16("BOB", upper), dl = u16("WINHTTP", dom), pl = u16(password, pw);
  u16("bob", user);
  unsigned char key[16];
  wh_ntlm_owf_v2(upper, ul, dom, dl, pw, pl, key);
  unsigned char *t3;
  size_t t3_len;
  uint64_t now = ((uint64_t)time(NULL) + 11644473600ull) * 10000000ull;
  assert_int_equal(wh_ntlm_authenticate(&ch, user, ul, dom, dl, key, now, client_ch, &t3, &t3_len),
                   ERROR_SUCCESS);
  gss_buffer_desc in3 = {t3_len, t3}, out3 = GSS_C_EMPTY_BUFFER, name = GSS_C_EMPTY_BUFFER;
  gss_name_t src = GSS_C_NO_NAME;
  maj = gss_accept_sec_context(&min, &ctx, cred, &in3, GSS_C_NO_CHANNEL_BINDINGS, &src, NULL,
                               &out3, NULL, NULL, NULL);
  who[0] = '\0';
  if (maj == GSS_S_COMPLETE && gss_display_name(&min, src, &name, NULL) == GSS_S_COMPLETE) {
    snprintf(who, who_cap, "%.*s", (int)name.length, (const char *)name.value);
    gss_release_buffer(&min, &name);
  }
  wh_free(t3);
  gss_release_buffer(&min, &t2);
  gss_release_buffer(&min, &out3);
  gss_release_name(&min, &src);
  gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
  gss_release_cred(&min, &cred);
  return maj;
}

static void test_gss_ntlmssp_accepts(void **state)
{
  (void)state;
  char dir[] = "/tmp/wh-ntlm-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char file[64];
  snprintf(file, sizeof(file), "%s/users", dir);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fputs("WINHTTP:bob:S3cret-pw\n", f);
  fclose(f);
  setenv("NTLM_USER_FILE", file, 1);
  char who[128];
  assert_int_equal(accept_as_server("S3cret-pw", who, sizeof(who)), GSS_S_COMPLETE);
  assert_string_equal(who, "WINHTTP\\bob");
  assert_int_not_equal(accept_as_server("wrong", who, sizeof(who)), GSS_S_COMPLETE);
  unsetenv("NTLM_USER_FILE");
  unlink(file);
  rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_md4_rfc1320),         cmocka_unit_test(test_ntowf_v1),
      cmocka_unit_test(test_ntowf_v2),            cmocka_unit_test(test_authenticate_vector),
      cmocka_unit_test(test_authenticate_timestamp), cmocka_unit_test(test_bad_challenges),
      cmocka_unit_test(test_negotiate_message),
      cmocka_unit_test(test_gss_ntlmssp_accepts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
