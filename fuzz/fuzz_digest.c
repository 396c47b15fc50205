/* libFuzzer target for Digest challenges (policy/digest.c): what a hostile
 * server can put in WWW-Authenticate / Proxy-Authenticate.
 *
 * Input: a challenge value (any bytes). When it parses, the answer is
 * computed for a fixed user, password, method and target.
 *
 * Invariants checked: no crash or leak (ASan/UBSan); a parsed challenge has
 * a non-empty realm and nonce, NUL-terminated in their fields; an answer
 * starts with "Digest ", holds no CR, LF or NUL, and quotes every value it
 * echoes without a stray quote (an odd number of '"' would break the
 * header). */
#include "fuzz_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/digest.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct wh_digest_challenge c;
  if (!wh_digest_parse((const char *)data, size, &c))
    return 0;
  if (!memchr(c.realm, '\0', sizeof(c.realm)) || !memchr(c.nonce, '\0', sizeof(c.nonce)) ||
      !memchr(c.opaque, '\0', sizeof(c.opaque)) || !c.nonce[0])
    abort();
  char *v = NULL;
  DWORD err = wh_digest_answer(&c, "alice", "s3cret", "GET", "/path?q=1", 1, "0123456789abcdef",
                               &v);
  if (err == ERROR_INVALID_PARAMETER)
    return 0; /* a value that would need escaping: not answered */
  if (err != ERROR_SUCCESS || !v)
    abort();
  if (strncmp(v, "Digest ", 7) != 0 || strpbrk(v, "\r\n"))
    abort();
  size_t quotes = 0;
  for (const char *p = v; *p; p++)
    quotes += *p == '"';
  if (quotes % 2)
    abort();
  wh_free(v);
  return 0;
}
