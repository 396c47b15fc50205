/* see certfind.h */
#include "core/certfind.h"

#include <string.h>

#include "core/cert.h"
#include "core/certstore.h"
#include "net/tlscred.h"
#include "util/fold.h"
#include "util/mem.h"

/* A wh_cert_match_fn (certstore.h): runs under the store's lock. Every
 * member of a store has a parsed certificate (wh_cert_context_cred). */
static int matches(PCCERT_CONTEXT ctx, const void *arg)
{
  const struct wh_cert_query *q = arg;
  struct wh_tls_cred *c = wh_cert_context_cred(ctx);
  if (!c)
    return 0;
  switch (q->kind) {
  case WH_FIND_ANY:
    return 1;
  case WH_FIND_HAS_KEY:
    return wh_tls_cred_has_key(c);
  case WH_FIND_SHA1:
    return q->len == WH_SHA1_LEN && memcmp(wh_tls_cred_sha1(c), q->bytes, WH_SHA1_LEN) == 0;
  case WH_FIND_EXISTING:
    return ctx->cbCertEncoded == q->len && memcmp(ctx->pbCertEncoded, q->bytes, q->len) == 0;
  case WH_FIND_SUBJECT_STR:
  case WH_FIND_ISSUER_STR: {
    char *name = NULL;
    if (wh_tls_cred_name(c, q->kind == WH_FIND_ISSUER_STR, &name) != ERROR_SUCCESS)
      return -(int)ERROR_NOT_ENOUGH_MEMORY;
    int found = wh_utf8_contains_nocase(name, q->text ? q->text : "");
    wh_free(name);
    return found < 0 ? -(int)ERROR_NOT_ENOUGH_MEMORY : found;
  }
  }
  return 0;
}

DWORD wh_cert_find(struct wh_cert_store *s, const struct wh_cert_query *q, PCCERT_CONTEXT prev,
                   PCCERT_CONTEXT *out)
{
  return wh_store_next(s, prev, matches, q, out);
}
