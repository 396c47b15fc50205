/* see credentials.h */
#include "core/credentials.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/exchange.h"
#include "core/gss_auth.h"
#include "core/gss_job.h"
#include "core/object.h"
#include "policy/auth.h"
#include "policy/digest.h"
#include "util/mem.h"

bool wh_cred_conn_based(DWORD scheme)
{
  return scheme == WINHTTP_AUTH_SCHEME_NTLM || scheme == WINHTTP_AUTH_SCHEME_NEGOTIATE;
}

static bool conn_based(DWORD scheme)
{
  return wh_cred_conn_based(scheme);
}

void wh_cred_send_begins(struct wh_request *r)
{
  struct wh_exchange *x = &r->x;
  pthread_mutex_lock(&r->hdr.lock);
  x->auth_h1 = false;
  for (int t = 0; t < 2; t++) {
    /* Given for Basic, NTLM or Negotiate: sent from the start (the first
     * leg of a handshake, for the last two), so a refusal is final. Digest
     * needs the server's nonce first: it waits for the challenge. */
    DWORD sc = r->opts.cred_scheme[t];
    x->cred_kind[t] = sc == WINHTTP_AUTH_SCHEME_BASIC || conn_based(sc) ? sc : 0;
    x->cred_tried[t] = x->cred_kind[t] != 0;
    x->cred_stale_tried[t] = false;
    x->auth_h1 = x->auth_h1 || conn_based(sc);
    wh_free(x->digest[t]);
    x->digest[t] = NULL;
    x->digest_nc[t] = 0;
    wh_gss_free(x->gss[t]);
    x->gss[t] = NULL;
    wh_secret_free(x->gss_next[t]);
    x->gss_next[t] = NULL;
    x->auth_legs[t] = 0;
  }
  x->auth_drain = false;
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

/* Whether the user's own identity (the ticket cache) may answer |t|'s
 * challenge without the application having set credentials:
 * WINHTTP_OPTION_AUTOLOGON_POLICY. MEDIUM, the default, allows the
 * intranet, which Microsoft defines as the servers the proxy bypass list
 * names; plain host names ("<local>": no dot) count too, as Windows' local
 * intranet zone has them. Proxies are trusted by every level but HIGH. */
static bool autologon_allowed(const struct wh_request *r, const struct wh_exchange *x, int t)
{
  DWORD pol = r->settings.autologon_policy;
  if (pol == WINHTTP_AUTOLOGON_SECURITY_LEVEL_LOW)
    return true;
  if (pol == WINHTTP_AUTOLOGON_SECURITY_LEVEL_HIGH)
    return false;
  if (t == WH_CRED_PROXY)
    return true;
  if (pol == WINHTTP_AUTOLOGON_SECURITY_LEVEL_PROXY_ONLY)
    return false;
  return x->route.bypassed || (!strchr(x->host, '.') && !strchr(x->host, ':'));
}

/* The SPN's host part: the proxy's or the server's name, with the port
 * when WINHTTP_OPTION_SPN asks for it and it is not the scheme's own. */
static void spn_host(const struct wh_request *r, const struct wh_exchange *x, int t, char *out,
                     size_t cap)
{
  const char *host = x->host;
  unsigned port = x->port;
  if (t == WH_CRED_PROXY && x->route.n) {
    host = x->route.via[x->proxy_idx].host;
    port = x->route.via[x->proxy_idx].port;
  }
  bool dflt = port == (x->secure && t == WH_CRED_SERVER ? 443u : 80u);
  if ((r->settings.spn & WINHTTP_ENABLE_SPN_SERVER_PORT) && !dflt)
    snprintf(out, cap, "%s:%u", host, port);
  else
    snprintf(out, cap, "%s", host);
}

/* What a handshake for |t| starts from: copies of the request's user and
 * password (NULL: the default credentials) and the SPN's host, recorded
 * as SERVER_SPN_USED / PROXY_SPN_USED. The handshake before it is
 * dropped. */
static DWORD gss_args(struct wh_request *r, int t, char **user, char **pass, char *host,
                      size_t cap)
{
  struct wh_exchange *x = &r->x;
  pthread_mutex_lock(&r->hdr.lock);
  const char *u = t == WH_CRED_PROXY ? r->opts.proxy_username : r->opts.username;
  const char *p = t == WH_CRED_PROXY ? r->opts.proxy_password : r->opts.password;
  *user = u ? wh_strndup(u, strlen(u)) : NULL;
  *pass = p ? wh_strndup(p, strlen(p)) : NULL;
  pthread_mutex_unlock(&r->hdr.lock);
  spn_host(r, x, t, host, cap);
  char *spn = wh_malloc(5 + strlen(host) + 1);
  if ((u && !*user) || (p && !*pass) || !spn) {
    wh_free(*user);
    wh_secret_free(*pass);
    wh_free(spn);
    *user = *pass = NULL;
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  memcpy(spn, "HTTP/", 5);
  memcpy(spn + 5, host, strlen(host) + 1);
  pthread_mutex_lock(&r->hdr.lock); /* SERVER_SPN_USED may be asked now */
  char *old = x->spn_used[t];
  x->spn_used[t] = spn;
  pthread_mutex_unlock(&r->hdr.lock);
  wh_free(old);
  wh_gss_free(x->gss[t]);
  x->gss[t] = NULL;
  return ERROR_SUCCESS;
}

/* Starts the |scheme| handshake for |t| with the request's credentials (or
 * the default ones when it has none): *value is the first leg's header. */
static DWORD gss_begin(struct wh_request *r, int t, DWORD scheme, char **value)
{
  *value = NULL;
  char *user, *pass, host[300];
  DWORD err = gss_args(r, t, &user, &pass, host, sizeof(host));
  if (err != ERROR_SUCCESS)
    return err;
  /* GSSAPI may talk to the KDC here: no lock held. */
  err = wh_gss_start(scheme, host, user, pass, &r->x.gss[t], value);
  wh_free(user);
  wh_secret_free(pass);
  return err;
}

/* gss_begin from a step that may wait (answering a 401/407, a proxy's
 * CONNECT). An asynchronous request's Negotiate runs on a worker
 * (core/gss_job.h): the KDC may take seconds, and this runs on a loop
 * thread. ERROR_IO_PENDING with |io| set while it does; called again once
 * the job's fd is readable, it takes the result. */
static DWORD gss_begin_answer(struct wh_request *r, int t, DWORD scheme, char **value,
                              struct wh_io *io)
{
  struct wh_exchange *x = &r->x;
  *value = NULL;
  if (x->gss_job && x->gss_job_target != t) {
    /* Another target's leg (never expected: each step finishes its own
     * before anything else runs): not this one's to take. */
    wh_gss_job_abandon(x->gss_job);
    x->gss_job = NULL;
  }
  if (!x->gss_job) {
    if (scheme != WINHTTP_AUTH_SCHEME_NEGOTIATE || !(r->hdr.flags & WH_OBJ_ASYNC))
      return gss_begin(r, t, scheme, value);
    char *user, *pass, host[300];
    DWORD err = gss_args(r, t, &user, &pass, host, sizeof(host));
    if (err == ERROR_SUCCESS)
      err = wh_gss_job_start(scheme, host, user, pass, &x->gss_job);
    x->gss_job_target = t;
    wh_free(user);
    wh_secret_free(pass);
    if (err != ERROR_SUCCESS)
      return err;
  }
  if (!wh_gss_job_done(x->gss_job)) {
    io->fd = wh_gss_job_fd(x->gss_job);
    io->events = POLLIN;
    io->deadline = 0; /* the KDC's own timeouts bound it */
    return ERROR_IO_PENDING;
  }
  struct wh_gss_job *j = x->gss_job;
  x->gss_job = NULL;
  return wh_gss_job_finish(j, &x->gss[t], value);
}

DWORD wh_cred_header(struct wh_request *r, int target, const char *method,
                     const char *request_target, char **value, struct wh_io *io)
{
  *value = NULL;
  struct wh_exchange *x = &r->x;
  DWORD kind = x->cred_kind[target];
  if (!kind || (r->settings.disabled_features & WINHTTP_DISABLE_AUTHENTICATION))
    return ERROR_SUCCESS;
  if (target == WH_CRED_SERVER && !own_origin(r, x))
    return ERROR_SUCCESS; /* never to another origin */
  if (conn_based(kind)) {
    if (x->gss_next[target]) {
      *value = x->gss_next[target]; /* the leg the last challenge asked for */
      x->gss_next[target] = NULL;
      return ERROR_SUCCESS;
    }
    if (x->gss[target])
      return ERROR_SUCCESS; /* the handshake is over: nothing more to send */
    /* Set with WinHttpSetCredentials: the first leg goes unasked. The
     * application chose the scheme, so a failure is its answer. */
    return io ? gss_begin_answer(r, target, kind, value, io) : gss_begin(r, target, kind, value);
  }
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

/* The server's token for the |scheme| handshake in |name| fields. */
static bool server_token(const struct wh_exchange *x, const char *name, DWORD scheme,
                         const char **tok, size_t *len)
{
  const char *sname = scheme == WINHTTP_AUTH_SCHEME_NTLM ? "NTLM" : "Negotiate";
  for (size_t i = 0;; i++) {
    const struct wh_header *h = wh_headers_find(&x->resp.headers, name, strlen(name), i);
    if (!h)
      return false;
    if (wh_auth_find_token(h->value, h->value_len, sname, tok, len))
      return true;
  }
}

/* The next leg of the handshake in progress for |t|, from the server's
 * challenge: *next NULL when it is over (refused, or complete yet still
 * refused): the response is then the application's. */
static DWORD gss_continue(struct wh_exchange *x, int t, const char *name, char **next)
{
  *next = NULL;
  const char *tok;
  size_t len;
  DWORD err = ERROR_SUCCESS;
  if (server_token(x, name, x->cred_kind[t], &tok, &len) && len > 0)
    err = wh_gss_step(x->gss[t], tok, len, next);
  if (!*next) {
    wh_gss_free(x->gss[t]);
    x->gss[t] = NULL;
  }
  return err;
}

/* Legs of one handshake before it counts as endless renegotiation (NTLM
 * needs 2 answers, Kerberos 1, SPNEGO a few). */
#define MAX_LEGS 8

/* The schemes tried on a challenge, strongest first (Windows' order). */
static const DWORD preference[] = {WINHTTP_AUTH_SCHEME_NEGOTIATE, WINHTTP_AUTH_SCHEME_NTLM,
                                   WINHTTP_AUTH_SCHEME_DIGEST, WINHTTP_AUTH_SCHEME_BASIC};

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
  if (!wh_exchange_resendable(x))
    return ERROR_SUCCESS; /* a streamed body cannot go again */
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
  /* WinHttpSetCredentials(NTLM or Negotiate, NULL user): the default
   * credentials, asked for by the application itself. */
  bool may_default = conn_based(chosen) && !have;
  DWORD kind = 0;
  char *next = NULL;
  if (x->gss[t] && ++x->auth_legs[t] > MAX_LEGS) {
    /* A server that keeps challenging: a login that will not end. */
    wh_gss_free(x->gss[t]);
    x->gss[t] = NULL;
    return chosen == x->cred_kind[t] ? ERROR_WINHTTP_LOGIN_FAILURE : ERROR_SUCCESS;
  }
  if (x->gss[t]) {
    /* A handshake in progress: the challenge carries its next token. */
    DWORD err = gss_continue(x, t, name, &next);
    /* A mechanism failure fails the request when the application chose
     * the scheme (ERROR_WINHTTP_LOGIN_FAILURE); when the engine picked it
     * (default credentials it turned out not to have, say), the refusal
     * stands for the application to answer. */
    if (err == ERROR_NOT_ENOUGH_MEMORY || (err != ERROR_SUCCESS && chosen == x->cred_kind[t]))
      return err;
    kind = next ? x->cred_kind[t] : 0;
  } else if (x->cred_tried[t]) {
    /* Refused after our answer: final, unless our Digest nonce had only
     * expired (stale=true: the credentials were right), once. */
    if (x->cred_kind[t] == WINHTTP_AUTH_SCHEME_DIGEST && have_digest && dig.stale && have &&
        !x->cred_stale_tried[t]) {
      x->cred_stale_tried[t] = true;
      kind = WINHTTP_AUTH_SCHEME_DIGEST;
    }
  } else {
    for (size_t i = 0; i < sizeof(preference) / sizeof(preference[0]) && !kind; i++) {
      DWORD c = preference[i];
      if (!(supported & c) || (chosen && chosen != c))
        continue;
      if (conn_based(c)) {
        if (!have && !may_default && !autologon_allowed(r, x, t))
          continue;
        /* A mechanism that cannot start (no ticket, not installed) gives
         * way to the next scheme the server offers. */
        DWORD err = gss_begin_answer(r, t, c, &next, io);
        if (err == ERROR_NOT_ENOUGH_MEMORY || err == ERROR_IO_PENDING)
          return err;
        if (err == ERROR_SUCCESS)
          kind = c;
      } else if (have && (c == WINHTTP_AUTH_SCHEME_BASIC || have_digest)) {
        kind = c;
      }
    }
  }
  if (!kind)
    return ERROR_SUCCESS; /* the response is the application's */
  if (kind == WINHTTP_AUTH_SCHEME_DIGEST) {
    if (!x->digest[t] && !(x->digest[t] = wh_malloc(sizeof(dig))))
      return ERROR_NOT_ENOUGH_MEMORY;
    *x->digest[t] = dig;
    x->digest_nc[t] = 0; /* a new nonce */
  }
  x->cred_tried[t] = true;
  x->cred_kind[t] = kind;
  if (conn_based(kind)) {
    wh_secret_free(x->gss_next[t]);
    x->gss_next[t] = next;
    /* Bound to the connection: over HTTP/1.1 only (Windows falls back the
     * same way); the next leg goes on this connection once the refusal's
     * body is read (wh_cred_resend, after the exchange drained it). */
    if (x->used_h2)
      x->auth_h1 = true;
  }
  if (x->conn && !x->body_done) {
    x->auth_drain = true;
    return ERROR_SUCCESS;
  }
  DWORD err = wh_cred_resend(r, io);
  *again = err == ERROR_SUCCESS;
  return err;
}

DWORD wh_cred_resend(struct wh_request *r, struct wh_io *io)
{
  struct wh_exchange *x = &r->x;
  x->auth_drain = false;
  /* The refusal's connection, kept when its body was read to the end and
   * the server keeps it open (h1_stream.c holds it back from the pool). */
  if (!(x->conn && x->body_done)) {
    wh_exchange_drop_stream(x);
    wh_conn_free(x->conn);
    x->conn = NULL;
  }
  x->rpos = x->rend = 0;
  wh_exchange_reset_response(x);
  x->retried = false;
  DWORD err = wh_exchange_prepare(r, x->opt_len ? x->body_copy : NULL, (DWORD)x->opt_len,
                                  (DWORD)x->opt_len);
  if (err != ERROR_SUCCESS)
    return err;
  io->deadline = 0;
  return ERROR_SUCCESS;
}
