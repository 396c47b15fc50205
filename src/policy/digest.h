/* HTTP Digest authentication (RFC 7616), the client's side: the challenge's
 * parameters and the Authorization value that answers it. Algorithms MD5,
 * MD5-sess, SHA-256 and SHA-256-sess; qop "auth" (or none, RFC 2069 style);
 * "auth-int" and userhash are not offered by this client (a challenge that
 * offers only auth-int is refused).
 *
 * Pure: no I/O, no state; the client nonce is the caller's. */
#ifndef WH_POLICY_DIGEST_H
#define WH_POLICY_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include <winhttp.h>

enum wh_digest_alg { WH_DIGEST_MD5, WH_DIGEST_MD5_SESS, WH_DIGEST_SHA256, WH_DIGEST_SHA256_SESS };

struct wh_digest_challenge {
  char realm[256];
  char nonce[256];
  char opaque[256];
  bool has_opaque;
  enum wh_digest_alg alg;
  bool qop_auth; /* "auth" offered: the answer uses qop=auth, nc and cnonce */
  bool stale;    /* the previous answer's nonce expired; the credentials were right */
};

/* The first usable Digest challenge among the |len| bytes of one
 * WWW-Authenticate or Proxy-Authenticate value (which may hold several
 * challenges). False when there is none (no Digest, an unknown algorithm,
 * only auth-int, a missing or over-long realm or nonce). */
bool wh_digest_parse(const char *value, size_t len, struct wh_digest_challenge *out);

/* The Authorization (or Proxy-Authorization) value answering |c| for
 * |method| |uri| with |user| and |pass|, nonce count |nc| and the client
 * nonce |cnonce| (hex). *out is wh_malloc'd (wh_secret_free it: it is
 * derived from the password). ERROR_SUCCESS, ERROR_NOT_ENOUGH_MEMORY, or
 * ERROR_INVALID_PARAMETER for a user name Digest cannot quote. */
DWORD wh_digest_answer(const struct wh_digest_challenge *c, const char *user, const char *pass,
                       const char *method, const char *uri, unsigned nc, const char *cnonce,
                       char **out);

#endif
