/* see credentials.h */
#include "core/credentials.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/exchange.h"
#include "core/object.h"
#include "policy/auth.h"
#include "policy/digest.h"
#include "util/mem.h"

void wh_cred_send_begins(struct wh_request *r)
{
  struct wh_exchange *x = &r->x;
  pthread_mutex_lock(&r->hdr.lock);
  for (int t = 0; t < 2; t++) {
    /* Given for Basic: sent from the start, so a refusal is final. Digest
     * needs the server's nonce first: it waits for the challenge. */
    x->cred_kind[t] = r->opts.cred_scheme[t] == WINHTTP_AUTH_SCHEME_BASIC
                          ? WINHTTP_AUTH_SCHEME_BASIC
                          : 0;
    x->cred_tried[t] = x->cred_kind[t] != 0;
    x->cred_stale_tried[t] = false;
    wh_free(x->digest[t]);
    x->digest[t] = NULL;
    x->digest_nc[t] = 0;
  }
  pthread_mutex_unlock(&r->hdr.lock);
}

/* Whether the exchange still targets the origin the request was opened
 * for (a redirect may have taken it elsewhere). */
static bool own_origin(const struct wh_request *r, const struct wh_exchange *x)
{
  return x->port == r->port && x->secure == ((r->open_flags & WINHTTP_FLAG_SECURE) != 0) &&
         strcasecmp(x->host, r->connect->server) == 0;
}

static DWORD basic_value(const char *user, const char *pass, char **value)
{
  /* RFC 7617: user-id ":" password, as UTF-8 (the options are kept in
   * UTF-8; COMPAT.md). */
  size_t ul = strlen(user), pl = pass ? strlen(pass) : 0, plen = ul + 1 + pl;
  char *plain = wh_malloc(plen + 1);
  if (!plain)
    return ERROR_NOT_ENOUGH_MEMORY;
  memcpy(plain, user, ul);
  plain[ul] = ':';
  if (pl)
    memcpy(plain + ul + 1, pass, pl);
  plain[plen] = '\0';
  char *v = wh_malloc(6 + 4 * ((plen + 2) / 3) + 1);
  if (v) {
    memcpy(v, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)v + 6, (const unsigned char *)plain, (int)plen);
  }
  wh_secret_free(plain);
  *value = v;
  return v ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
}

DWORD wh_cred_header(struct wh_request *r, int target, const char *method,
                     const char *request_target, char **value)
{
  *value = NULL;
  struct wh_exchange *x = &r->x;
  DWORD kind = x->cred_kind[target];
  if (!kind || (r->settings.disabled_features & WINHTTP_DISABLE_AUTHENTICATION))
    return ERROR_SUCCESS;
  if (target == WH_CRED_SERVER && !own_origin(r, x))
    return ERROR_SUCCESS; /* never to another origin */
  char cnonce[33];
  if (kind == WINHTTP_AUTH_SCHEME_DIGEST) {
    unsigned char rnd[16];
    if (!x->digest[target] || RAND_bytes(rnd, sizeof(rnd)) != 1)
      return ERROR_SUCCESS;
    for (size_t i = 0; i < sizeof(rnd); i++)
      snprintf(cnonce + 2 * i, 3, "%02x", rnd[i]);
  }
  pthread_mutex_lock(&r->hdr.lock);
  const char *user = target == WH_CRED_PROXY ? r->opts.proxy_username : r->opts.username;
  const char *pass = target == WH_CRED_PROXY ? r->opts.proxy_password : r->opts.password;
  DWORD err = ERROR_SUCCESS;
  if (user && kind == WINHTTP_AUTH_SCHEME_BASIC)
    err = basic_value(user, pass, value);
  else if (user)
    err = wh_digest_answer(x->digest[target], user, pass ? pass : "", method, request_target,
                           ++x->digest_nc[target], cnonce, value);
  pthread_mutex_unlock(&r->hdr.lock);
  /* A name Digest cannot quote: no answer; the challenge reaches the
   * application. */
  return err == ERROR_INVALID_PARAMETER ? ERROR_SUCCESS : err;
}

DWORD wh_cred_maybe_resend(struct wh_request *r, struct wh_io *io, bool *again)
{
  *again = false;
  struct wh_exchange *x = &r->x;
  unsigned st = x->resp.status;
  int t = st == 401 ? WH_CRED_SERVER : st == 407 ? WH_CRED_PROXY : -1;
  if (t < 0 || x->split || (r->settings.disabled_features & WINHTTP_DISABLE_AUTHENTICATION))
    return ERROR_SUCCESS;
  if (t == WH_CRED_SERVER && !own_origin(r, x))
    return ERROR_SUCCESS;
  DWORD supported = 0, first = 0;
  struct wh_digest_challenge dig;
  bool have_digest = false;
  const char *name = t == WH_CRED_PROXY ? "Proxy-Authenticate" : "WWW-Authenticate";
  for (size_t i = 0;; i++) {
    const struct wh_header *h = wh_headers_find(&x->resp.headers, name, strlen(name), i);
    if (!h)
      break;
    wh_auth_parse_challenges(h->value, h->value_len, &supported, &first);
    if (!have_digest)
      have_digest = wh_digest_parse(h->value, h->value_len, &dig);
  }
  pthread_mutex_lock(&r->hdr.lock);
  bool have = (t == WH_CRED_PROXY ? r->opts.proxy_username : r->opts.username) != NULL;
  DWORD chosen = r->opts.cred_scheme[t];
  pthread_mutex_unlock(&r->hdr.lock);
  if (!have || !wh_exchange_resendable(x))
    return ERROR_SUCCESS;
  DWORD kind = 0;
  if (x->cred_tried[t]) {
    /* Refused after our answer: final, unless our Digest nonce had only
     * expired (stale=true: the credentials were right), once. */
    if (x->cred_kind[t] == WINHTTP_AUTH_SCHEME_DIGEST && have_digest && dig.stale &&
        !x->cred_stale_tried[t]) {
      x->cred_stale_tried[t] = true;
      kind = WINHTTP_AUTH_SCHEME_DIGEST;
    }
  } else if (have_digest && (!chosen || chosen == WINHTTP_AUTH_SCHEME_DIGEST)) {
    kind = WINHTTP_AUTH_SCHEME_DIGEST; /* the stronger of the two */
  } else if ((supported & WINHTTP_AUTH_SCHEME_BASIC) &&
             (!chosen || chosen == WINHTTP_AUTH_SCHEME_BASIC)) {
    kind = WINHTTP_AUTH_SCHEME_BASIC;
  }
  if (!kind)
    return ERROR_SUCCESS; /* other schemes: the application's (not implemented here yet) */
  if (kind == WINHTTP_AUTH_SCHEME_DIGEST) {
    if (!x->digest[t] && !(x->digest[t] = wh_malloc(sizeof(dig))))
      return ERROR_NOT_ENOUGH_MEMORY;
    *x->digest[t] = dig;
    x->digest_nc[t] = 0; /* a new nonce */
  }
  /* Once more, with the credentials, on a fresh connection (the refusal's
   * body is not worth reading). */
  x->cred_tried[t] = true;
  x->cred_kind[t] = kind;
  wh_exchange_drop_stream(x);
  wh_conn_free(x->conn);
  x->conn = NULL;
  x->rpos = x->rend = 0;
  wh_exchange_reset_response(x);
  x->retried = false;
  DWORD err = wh_exchange_prepare(r, x->opt_len ? x->body_copy : NULL, (DWORD)x->opt_len,
                                  (DWORD)x->opt_len);
  if (err != ERROR_SUCCESS)
    return err;
  io->deadline = 0;
  *again = true;
  return ERROR_SUCCESS;
}
