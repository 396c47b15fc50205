/* NTLM messages (MS-NLMP), NTLMv2 only: the negotiate message a client
 * sends first, the server's challenge message read, and the authenticate
 * message that answers it. Pure: no I/O, no clock, no randomness (the
 * caller gives the time and the client challenge), so the codec can be
 * fuzzed and checked against the specification's test vectors.
 *
 * Written here rather than taken from gss-ntlmssp through GSSAPI: Debian
 * 12's gss-ntlmssp 1.2.0 leaks about 7 KB per password credential it
 * acquires (it loads OpenSSL's legacy provider into a fresh library context
 * each time), which a service authenticating every request cannot afford,
 * and it needs a system plugin most machines lack. Neither signing nor
 * sealing is negotiated (HTTP authenticates the connection, nothing more),
 * so no session key is derived and no MIC is sent. */
#ifndef WH_PROTO_NTLM_H
#define WH_PROTO_NTLM_H

#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

/* The negotiate message (type 1), 40 bytes with its Version field, asking
 * for Unicode, NTLM, extended session security and the target's
 * information. */
#define WH_NTLM_NEGOTIATE_LEN 40
void wh_ntlm_negotiate(unsigned char out[WH_NTLM_NEGOTIATE_LEN]);

/* What the answer needs from a challenge message (type 2). |target_info|
 * points into the message given to wh_ntlm_parse_challenge. */
struct wh_ntlm_challenge {
  uint32_t flags;
  unsigned char server_challenge[8];
  const unsigned char *target_info;
  size_t target_info_len;
  uint64_t timestamp; /* MsvAvTimestamp (FILETIME), 0 when absent */
};

/* Parses a challenge message. ERROR_WINHTTP_LOGIN_FAILURE when it is not
 * one (signature, type, a field outside the message, malformed target
 * information, no Unicode). */
DWORD wh_ntlm_parse_challenge(const unsigned char *msg, size_t len,
                              struct wh_ntlm_challenge *out);

/* NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5 keyed by MD4 of the UTF-16LE password
 * over the upper-cased UTF-16LE user name followed by the domain. */
void wh_ntlm_owf_v2(const uint16_t *user_upper, size_t user_len, const uint16_t *domain,
                    size_t domain_len, const uint16_t *password, size_t password_len,
                    unsigned char out[16]);

/* The authenticate message (type 3) answering |ch| for user and domain
 * (UTF-16LE code units as given, not upper-cased) with |response_key|
 * (wh_ntlm_owf_v2), at |time| (FILETIME, used when the challenge carries
 * no timestamp) with the 8-byte |client_challenge|. *out is allocated
 * (wh_free), *out_len its length. ERROR_NOT_ENOUGH_MEMORY or success. */
DWORD wh_ntlm_authenticate(const struct wh_ntlm_challenge *ch, const uint16_t *user,
                           size_t user_len, const uint16_t *domain, size_t domain_len,
                           const unsigned char response_key[16], uint64_t time,
                           const unsigned char client_challenge[8], unsigned char **out,
                           size_t *out_len);

/* The NTProofStr of an NTLMv2 response (exposed for the test vectors). */
void wh_ntlm_proof(const unsigned char response_key[16], const unsigned char server_challenge[8],
                   const unsigned char *temp, size_t temp_len, unsigned char out[16]);

#endif
