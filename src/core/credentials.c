/* see credentials.h */
#include "core/credentials.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "core/exchange.h"
#include "core/object.h"
#include "policy/auth.h"
#include "util/mem.h"

void wh_cred_send_begins(struct wh_request *r)
{
  struct wh_exchange *x = &r->x;
  pthread_mutex_lock(&r->hdr.lock);
  for (int t = 0; t < 2; t++) {
    /* Given for Basic: sent from the start, so a refusal is final. */
    x->cred_basic[t] = r->opts.cred_scheme[t] == WINHTTP_AUTH_SCHEME_BASIC;
    x->cred_tried[t] = x->cred_basic[t];
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

DWORD wh_cred_header(struct wh_request *r, int target, char **value)
{
  *value = NULL;
  struct wh_exchange *x = &r->x;
  if (!x->cred_basic[target] || (r->settings.disabled_features & WINHTTP_DISABLE_AUTHENTICATION))
    return ERROR_SUCCESS;
  if (target == WH_CRED_SERVER && !own_origin(r, x))
    return ERROR_SUCCESS; /* never to another origin */
  pthread_mutex_lock(&r->hdr.lock);
  const char *user = target == WH_CRED_PROXY ? r->opts.proxy_username : r->opts.username;
  const char *pass = target == WH_CRED_PROXY ? r->opts.proxy_password : r->opts.password;
  char *plain = NULL;
  size_t plen = 0;
  if (user) {
    /* RFC 7617: user-id ":" password, as UTF-8 (the options are kept in
     * UTF-8; COMPAT.md). */
    size_t ul = strlen(user), pl = pass ? strlen(pass) : 0;
    plen = ul + 1 + pl;
    plain = wh_malloc(plen + 1);
    if (plain) {
      memcpy(plain, user, ul);
      plain[ul] = ':';
      if (pl)
        memcpy(plain + ul + 1, pass, pl);
      plain[plen] = '\0';
    }
  }
  pthread_mutex_unlock(&r->hdr.lock);
  if (!user)
    return ERROR_SUCCESS;
  if (!plain)
    return ERROR_NOT_ENOUGH_MEMORY;
  char *v = wh_malloc(6 + 4 * ((plen + 2) / 3) + 1);
  if (v) {
    memcpy(v, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)v + 6, (const unsigned char *)plain, (int)plen);
  }
  wh_secret_free(plain);
  *value = v;
  return v ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
}

DWORD wh_cred_maybe_resend(struct wh_request *r, struct wh_io *io, bool *again)
{
  *again = false;
  struct wh_exchange *x = &r->x;
  unsigned st = x->resp.status;
  int t = st == 401 ? WH_CRED_SERVER : st == 407 ? WH_CRED_PROXY : -1;
  if (t < 0 || x->cred_tried[t] || x->split ||
      (r->settings.disabled_features & WINHTTP_DISABLE_AUTHENTICATION))
    return ERROR_SUCCESS;
  if (t == WH_CRED_SERVER && !own_origin(r, x))
    return ERROR_SUCCESS;
  DWORD supported = 0, first = 0;
  const char *name = t == WH_CRED_PROXY ? "Proxy-Authenticate" : "WWW-Authenticate";
  for (size_t i = 0;; i++) {
    const struct wh_header *h = wh_headers_find(&x->resp.headers, name, strlen(name), i);
    if (!h)
      break;
    wh_auth_parse_challenges(h->value, h->value_len, &supported, &first);
  }
  if (!(supported & WINHTTP_AUTH_SCHEME_BASIC))
    return ERROR_SUCCESS; /* other schemes: the application's (not implemented here yet) */
  pthread_mutex_lock(&r->hdr.lock);
  bool have = (t == WH_CRED_PROXY ? r->opts.proxy_username : r->opts.username) != NULL;
  pthread_mutex_unlock(&r->hdr.lock);
  if (!have || !wh_exchange_resendable(x))
    return ERROR_SUCCESS;
  /* Once more, with the credentials, on a fresh connection (the refusal's
   * body is not worth reading). */
  x->cred_tried[t] = true;
  x->cred_basic[t] = true;
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
