/* see exchange.h: connecting and sending. The response side is in
 * exchange_recv.c. */
#include "core/exchange.h"

#include <openssl/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <time.h>
#include <wchar.h>

#include "core/object.h"
#include "core/autoproxy.h"
#include "core/credentials.h"
#include "core/gss_auth.h"
#include "core/gss_job.h"
#include "core/session.h"
#include "core/h2_stream.h"
#include "core/route.h"
#include "core/transport.h"
#include "core/ws_handshake.h"
#include "core/cert.h"
#include "net/h2_conn.h"
#include "net/tlscred.h"
#include "net/wait.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/utf.h"

/* Optional data up to this size is copied behind the head so that a small
 * POST leaves in one write; larger bodies are sent from the caller's
 * buffer. */
#define COALESCE_MAX 16384
/* The request head may not grow past this (headers are the caller's). */
#define HEAD_MAX (1u << 20)

void wh_exchange_init(struct wh_exchange *x)
{
  x->ktor.fd = -1;
  x->slot_wait_fd = -1;
  x->slot_efd = -1;
  x->h2_wait_fd = -1;
  x->tp = &wh_h1_transport;
  wh_buf_init(&x->out, HEAD_MAX + COALESCE_MAX);
}

static void drop_connect_state(struct wh_exchange *x)
{
  wh_secret_free(x->tun); /* a CONNECT of an attempt that will not go on */
  x->tun = NULL;
  wh_resolve_abandon(x->dns);
  x->dns = NULL;
  wh_autoproxy_abandon(x->ap_job); /* the lookup finishes on its own */
  x->ap_job = NULL;
  wh_connector_abort(&x->ktor);
  wh_free(x->addrs);
  x->addrs = NULL;
}

/* The HTTP/2 connect others waited for is over (whatever its outcome), or
 * this request stops waiting for another's. */
static void h2_connect_over(struct wh_exchange *x)
{
  if (x->h2_connecting)
    wh_h2_pool_connect_done(&x->h2_key);
  x->h2_connecting = false;
  if (x->h2_wait_fd >= 0) {
    wh_h2_pool_connect_unwait(x->h2_wait_fd);
    if (x->h2_wait_fd == x->slot_efd)
      wh_cancel_fd_drain(x->slot_efd);
  }
  x->h2_wait_fd = -1;
}

void wh_exchange_abort_connect(struct wh_exchange *x)
{
  h2_connect_over(x);
  if (x->slot_wait_fd >= 0)
    wh_pool_unwait_giving_up(x->slot_wait_fd, &x->limit_keys[0]);
  x->slot_wait_fd = -1;
  if (x->reserved)
    wh_pool_unreserve(&x->limit_keys[1]);
  x->reserved = false;
  /* A lookup, an address list or a half-open socket left by a failed or
   * cancelled connect: a later SendRequest on the handle starts afresh. */
  drop_connect_state(x);
}

void wh_exchange_free(struct wh_exchange *x)
{
  wh_exchange_abort_connect(x);
  drop_connect_state(x);
  wh_conn_free(x->conn);
  x->conn = NULL;
  if (x->slot_efd >= 0)
    close(x->slot_efd);
  x->slot_efd = -1;
  wh_free(x->limit_keys);
  x->limit_keys = NULL;
  if (x->cred_sent && x->out.p)
    OPENSSL_cleanse(x->out.p, x->out.cap); /* the credentials of its heads */
  wh_buf_free(&x->out);
  wh_free(x->host);
  x->host = NULL;
  wh_free(x->body_copy);
  x->body_copy = NULL;
  wh_secret_free(x->tun);
  x->tun = NULL;
  wh_tls_cred_unref(x->client_cred);
  x->client_cred = NULL;
  wh_blob_unref(x->cert_issuers);
  x->cert_issuers = NULL;
  for (int t = 0; t < 2; t++) {
    wh_free(x->digest[t]);
    x->digest[t] = NULL;
    wh_gss_free(x->gss[t]);
    x->gss[t] = NULL;
    wh_secret_free(x->gss_next[t]);
    x->gss_next[t] = NULL;
    wh_free(x->spn_used[t]);
    x->spn_used[t] = NULL;
  }
  wh_gss_job_abandon(x->gss_job);
  x->gss_job = NULL;
  wh_exchange_release_rbuf(x);
  wh_h2x_drop(x);
  wh_free(x->h2buf);
  x->h2buf = NULL;
  x->h2cap = 0;
  wh_resp_head_free(&x->resp);
  wh_chunked_free(&x->chunked);
  wh_headers_free(&x->trailers);
  if (x->decoding)
    wh_decoder_free(&x->dec);
  x->decoding = false;
  wh_free(x->dbuf);
  x->dbuf = NULL;
}

/* --- facts for WinHttpQueryOption ------------------------------------------ */

void wh_req_facts_free(struct wh_req_facts *f)
{
  wh_blob_unref(f->cert);
  f->cert = NULL;
  wh_blob_unref(f->issuers);
  f->issuers = NULL;
}

void wh_request_publish_facts(struct wh_request *r)
{
  struct wh_exchange *x = &r->x;
  struct wh_req_facts *f = &r->facts;
  f->sent = true;
  f->last_errno = x->last_errno;
  f->h2 = x->used_h2;
  f->proxy_answer = x->proxy_answered;
  if (f->issuers != x->cert_issuers) {
    wh_blob_unref(f->issuers);
    f->issuers = wh_blob_ref(x->cert_issuers);
  }
  if (x->host) {
    size_t n = strlen(x->host);
    if (n >= sizeof(f->host))
      n = sizeof(f->host) - 1;
    memcpy(f->host, x->host, n);
    f->host[n] = '\0';
    f->port = x->port;
    f->secure = x->secure;
  }
  /* The transport: the request's own connection, or its HTTP/2 stream's. */
  struct wh_conn *c = x->conn ? x->conn
                      : x->h2s ? wh_h2_conn_transport(wh_h2_stream_conn(x->h2s))
                               : NULL;
  if (!c)
    return; /* keep what the last connection showed (Windows answers after the body too) */
  f->connected = true;
  f->local = c->local;
  f->remote = c->remote;
  f->key_bits = wh_conn_key_bits(c);
  if (f->conn_id == c->id)
    return; /* the same connection: the certificate is already here */
  struct wh_blob *cert = NULL;
  if (x->secure && wh_conn_peer_cert(c, &cert) == ERROR_SUCCESS) {
    /* Shared with the connection, not copied: it outlives either. */
    wh_blob_unref(f->cert);
    f->cert = wh_blob_ref(cert);
    f->conn_id = c->id;
  } else if (!x->secure) {
    wh_blob_unref(f->cert);
    f->cert = NULL;
    f->conn_id = c->id;
  }
}

/* --- notifications --------------------------------------------------------- */

/* Status information strings are WCHAR strings; the length counts WCHARs
 * including the NUL (Wine's tests, run on Windows). */
static void notify_str(struct wh_request *r, DWORD status, const char *s)
{
  WCHAR w[300];
  size_t len = strlen(s);
  if (wh_wide_len_of_utf8(s, len) >= sizeof(w) / sizeof(w[0]))
    len = 0; /* host names are at most 255 bytes; never truncate silently */
  size_t n = wh_wide_from_utf8_buf(s, len, w);
  w[n] = L'\0';
  wh_notify(&r->hdr, status, w, (DWORD)(n + 1));
}

static void notify_addr(struct wh_request *r, DWORD status, const struct wh_addr *a)
{
  char ip[64];
  wh_addr_format(a, ip, sizeof(ip));
  notify_str(r, status, ip);
}

/* --- preparing ------------------------------------------------------------------ */

static bool verb_is(const struct wh_request *r, const char *v)
{
  return strcmp(r->verb, v) == 0;
}

/* The headers Windows adds at send time unless the application set them:
 * they become part of the request headers (QueryHeaders sees them). */
static DWORD add_send_headers(struct wh_request *r, struct wh_exchange *x, const char *agent,
                              DWORD total_len)
{
  static const DWORD if_new = WINHTTP_ADDREQ_FLAG_ADD_IF_NEW;
  DWORD err = ERROR_SUCCESS;
  /* host, [v6-host], then ":port" unless it is the scheme's (by hand: this
   * runs for every request, and snprintf costs more than the rest). */
  char host[300];
  bool default_port = x->port == (x->secure ? 443 : 80);
  bool v6 = strchr(x->host, ':') != NULL && x->host[0] != '[';
  size_t hl = strlen(x->host), n = 0;
  if (hl + 2 + 6 >= sizeof(host))
    return ERROR_WINHTTP_INVALID_URL;
  if (v6)
    host[n++] = '[';
  memcpy(host + n, x->host, hl);
  n += hl;
  if (v6)
    host[n++] = ']';
  if (!default_port) {
    char digits[5];
    size_t k = 0;
    unsigned p = x->port;
    do {
      digits[k++] = (char)('0' + p % 10);
      p /= 10;
    } while (p);
    host[n++] = ':';
    while (k)
      host[n++] = digits[--k];
  }

  /* Host, User-Agent and Connection (the usual three) from one block,
   * not an allocation each: this runs for every request. */
  size_t al = agent ? strlen(agent) : 0;
  wh_headers_reserve(&r->headers, 3, 4 + n + 10 + al + 10 + 10 + 3 * 2);

  /* Out of memory is not ignored: the request would go out without Host,
   * a wrong request instead of a clean error (found by the out-of-memory
   * sweep, tests/unit/test_oom.c). Any other result (the application's own
   * Host) leaves the header as it is, as before. */
  if (wh_headers_apply_one(&r->headers, "Host", 4, host, n, if_new) == ERROR_NOT_ENOUGH_MEMORY)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (agent && *agent) {
    err = wh_headers_apply_one(&r->headers, "User-Agent", 10, agent, al, if_new);
    if (err == ERROR_WINHTTP_HEADER_ALREADY_EXISTS)
      err = ERROR_SUCCESS;
  }
  /* Windows sends Content-Length for any declared body, and 0 for POST and
   * PUT without one. */
  if (err == ERROR_SUCCESS && !x->chunked_upload &&
      (total_len != 0 || verb_is(r, "POST") || verb_is(r, "PUT"))) {
    char len[16];
    int ln = snprintf(len, sizeof(len), "%u", (unsigned)total_len);
    err = wh_headers_apply_one(&r->headers, "Content-Length", 14, len, (size_t)ln,
                               WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE);
  }
  if (err == ERROR_SUCCESS && x->chunked_upload)
    err = wh_headers_apply_one(&r->headers, "Transfer-Encoding", 17, "chunked", 7,
                               WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE);
  if (err == ERROR_SUCCESS && r->settings.decompression) {
    /* Asking for every coding Windows knows also brings br and zstd. */
    DWORD flags = r->settings.decompression;
    if ((flags & WINHTTP_DECOMPRESSION_FLAG_ALL) == WINHTTP_DECOMPRESSION_FLAG_ALL)
      flags |= WH_DECOMPRESSION_FLAG_BR | WH_DECOMPRESSION_FLAG_ZSTD;
    const char *ae = wh_accept_encoding(flags);
    if (ae)
      err = wh_headers_apply_one(&r->headers, "Accept-Encoding", 15, ae, strlen(ae), if_new);
    if (err == ERROR_WINHTTP_HEADER_ALREADY_EXISTS)
      err = ERROR_SUCCESS;
  }
  /* WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET: the opening handshake, with a
   * fresh key for every send (redirects included); its Connection: Upgrade
   * takes the place of Keep-Alive. */
  x->ws_upgrade = r->settings.upgrade_to_websocket;
  if (err == ERROR_SUCCESS && x->ws_upgrade) {
    x->ws_deflate_offer = r->settings.ws_deflate;
    err = wh_ws_new_key(x->ws_key);
    if (err == ERROR_SUCCESS)
      err = wh_ws_add_request_headers(&r->headers, x->ws_key, x->ws_deflate_offer);
  }
  if (err == ERROR_SUCCESS) {
    bool keep = !(r->settings.disabled_features & WINHTTP_DISABLE_KEEP_ALIVE);
    err = wh_headers_apply_one(&r->headers, "Connection", 10, keep ? "Keep-Alive" : "close",
                               keep ? 10 : 5, if_new);
  }
  if (err == ERROR_WINHTTP_HEADER_ALREADY_EXISTS)
    err = ERROR_SUCCESS;
  return err;
}

/* The session's cookies go out merged with the application's own Cookie
 * header (policy/cookie.h: the application's first, no name twice) in the
 * head of this send only; the request headers themselves are not changed,
 * so a later send merges with the jar as it is then. Writing the merged
 * value straight into the head leaves nothing to undo: replacing the
 * header and restoring it afterwards could run out of memory in the
 * restore and leave the jar's cookies in the application's header (found
 * by the out-of-memory sweep, tests/unit/test_oom.c). Caller holds the
 * request's lock. */
static DWORD serialize_with_jar(struct wh_request *r, const char *jar, struct wh_buf *out)
{
  const struct wh_header *h = wh_headers_find(&r->headers, "Cookie", 6, 0);
  char *merged = NULL;
  /* A stored value is NUL-terminated (proto/headers.h). */
  DWORD err = wh_cookie_merge(h ? h->value : NULL, jar, &merged);
  if (err == ERROR_SUCCESS)
    err = merged ? wh_headers_serialize_as(&r->headers, "Cookie", 6, merged, strlen(merged), out)
                 : wh_headers_serialize(&r->headers, out);
  wh_free(merged);
  return err;
}

static DWORD prepare_head(struct wh_request *r, const void *optional, DWORD opt_len,
                          DWORD total_len);

DWORD wh_exchange_prepare(struct wh_request *r, const void *optional, DWORD opt_len,
                          DWORD total_len)
{
  struct wh_exchange *x = &r->x;

  if (!x->host) {
    x->host = wh_strndup(r->connect->server, strlen(r->connect->server));
    if (!x->host)
      return ERROR_NOT_ENOUGH_MEMORY;
    for (char *p = x->host; *p; p++)
      if (*p >= 'A' && *p <= 'Z')
        *p = (char)(*p - 'A' + 'a');
    x->port = r->port;
    x->secure = (r->open_flags & WINHTTP_FLAG_SECURE) != 0;
  }
  x->total_len = total_len;
  x->body_sent = opt_len;
  /* Microsoft: with WINHTTP_FLAG_AUTOMATIC_CHUNKING and no total length
   * (WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH) the body goes out chunked. A GET
   * or HEAD without a body is left alone. */
  x->chunked_upload = (r->open_flags & WINHTTP_FLAG_AUTOMATIC_CHUNKING) && total_len == 0 &&
                      (opt_len || (strcmp(r->verb, "GET") != 0 && strcmp(r->verb, "HEAD") != 0));
  x->tail = NULL;
  x->tail_len = x->tail_off = 0;

  /* The way there, for this send (redirects included: the new target may
   * be bypassed, or need another proxy). */
  x->proxy_idx = 0;
  x->proxy_answered = false;
  bool discover = false;
  DWORD err = wh_route_pick(r, x->host, x->port, x->secure, &x->route, &discover);
  if (err != ERROR_SUCCESS)
    return err;
  if (discover) {
    /* The PAC script decides (step_autoproxy), then the head is built. */
    x->pend_opt = optional;
    x->pend_opt_len = opt_len;
    x->pend_total = total_len;
    x->out_off = 0;
    x->sending_notified = false;
    x->sent_total = 0;
    x->phase = WH_P_AUTOPROXY;
    return ERROR_SUCCESS;
  }
  return prepare_head(r, optional, opt_len, total_len);
}

/* The rest of wh_exchange_prepare, once x->route is known. */
static DWORD prepare_head(struct wh_request *r, const void *optional, DWORD opt_len,
                          DWORD total_len)
{
  struct wh_exchange *x = &r->x;
  struct wh_session *s = r->connect->session;
  /* The session's agent, copied under its lock (WinHttpSetOption may
   * change it meanwhile): on the stack when it fits, as it nearly always
   * does. */
  char agent_buf[256];
  char *agent = NULL, *agent_heap = NULL;
  pthread_mutex_lock(&s->hdr.lock);
  if (s->agent) {
    size_t al = strlen(s->agent);
    agent = al < sizeof(agent_buf) ? agent_buf : (agent_heap = wh_malloc(al + 1));
    if (agent)
      memcpy(agent, s->agent, al + 1);
  }
  bool had_agent = s->agent != NULL;
  pthread_mutex_unlock(&s->hdr.lock);
  if (had_agent && !agent)
    return ERROR_NOT_ENOUGH_MEMORY;

  DWORD err = ERROR_SUCCESS;
  char *jar = NULL;
  if (!(r->settings.disabled_features & WINHTTP_DISABLE_COOKIES)) {
    pthread_mutex_lock(&s->hdr.lock);
    err = wh_cookie_jar_header(&s->cookies, x->host, r->path, x->secure, (int64_t)time(NULL),
                               &jar);
    pthread_mutex_unlock(&s->hdr.lock);
  }
  if (err != ERROR_SUCCESS) {
    wh_free(agent_heap);
    return err;
  }

  pthread_mutex_lock(&r->hdr.lock);
  /* The client certificate for this send's TLS connections (redirects
   * included), held until the next send or the handle's end. */
  PCCERT_CONTEXT cc = r->opts.client_cert;
  struct wh_tls_cred *id = cc ? wh_cert_context_cred(cc) : NULL;
  x->client_auth = cc                          ? WH_CLIENT_CERT_SET
                   : r->settings.no_client_cert ? WH_CLIENT_CERT_NONE
                                                : WH_CLIENT_CERT_UNSET;
  x->client_no_key = cc && (!id || !wh_tls_cred_has_key(id));
  wh_tls_cred_unref(x->client_cred);
  x->client_cred = x->client_no_key ? NULL : wh_tls_cred_ref(id);
  /* A Transfer-Encoding of the application's own: its bytes carry their
   * own framing, which only HTTP/1.1 can carry (core/h2_stream.c). */
  x->app_te = !x->chunked_upload &&
              wh_headers_find(&r->headers, "Transfer-Encoding", 17, 0) != NULL;
  err = add_send_headers(r, x, agent, total_len);
  wh_buf_reset(&x->out);
  x->auth_in_head = false;
  if (err == ERROR_SUCCESS) {
    /* The head in one allocation: request line, fields, the blank line
     * (the jar's cookies and credentials, when any, may grow it again). */
    wh_buf_reserve(&x->out, strlen(r->verb) + strlen(r->path) + strlen(r->version) +
                                r->headers.bytes + 16);
    int rc = wh_buf_adds(&x->out, r->verb);
    rc = rc ? rc : wh_buf_addc(&x->out, ' ');
    if (!rc && x->route.n && !x->secure && !x->ws_upgrade && r->path[0] == '/') {
      /* Through an HTTP proxy: the absolute form (RFC 9112 §3.2.2), the
       * origin written as the Host header has it. */
      const struct wh_header *h = wh_headers_find(&r->headers, "Host", 4, 0);
      rc = wh_buf_adds(&x->out, "http://");
      rc = rc ? rc : h ? wh_buf_add(&x->out, h->value, h->value_len) : wh_buf_adds(&x->out, x->host);
    }
    rc = rc ? rc : wh_buf_adds(&x->out, r->path);
    rc = rc ? rc : wh_buf_addc(&x->out, ' ');
    rc = rc ? rc : wh_buf_adds(&x->out, r->version);
    rc = rc ? rc : wh_buf_add(&x->out, "\r\n", 2);
    err = rc != 0 ? (rc == WH_BUF_ENOMEM ? ERROR_NOT_ENOUGH_MEMORY
                                         : ERROR_WINHTTP_HEADER_SIZE_OVERFLOW)
          : jar ? serialize_with_jar(r, jar, &x->out)
                : wh_headers_serialize(&r->headers, &x->out);
  }
  pthread_mutex_unlock(&r->hdr.lock);
  wh_free(agent_heap);
  wh_free(jar);
  /* Credentials go in the head of this send only (never into the request
   * headers, so QueryHeaders and -v never show them). */
  for (int t = 0; t < 2 && err == ERROR_SUCCESS; t++) {
    if (t == WH_CRED_PROXY && !(x->route.n && !x->secure && !x->ws_upgrade))
      continue; /* a tunnel's CONNECT carries the proxy's */
    if (!x->cred_kind[t])
      continue; /* no scheme chosen: nothing to sign (wh_cred_header's first test) */
    char *cred = NULL;
    /* Digest signs the request line's target (absolute form through a
     * proxy). */
    const char *target = x->out.p + strlen(r->verb) + 1;
    const char *sp = memchr(target, ' ', x->out.len - (size_t)(target - x->out.p));
    char *tgt = sp ? wh_strndup(target, (size_t)(sp - target)) : NULL;
    if (!tgt) {
      err = ERROR_NOT_ENOUGH_MEMORY;
      break;
    }
    err = wh_cred_header(r, t, r->verb, tgt, &cred, NULL);
    wh_free(tgt);
    if (cred && wh_cred_conn_based(x->cred_kind[t]))
      x->auth_in_head = true;
    if (err == ERROR_SUCCESS && cred) {
      const char *name = t == WH_CRED_PROXY ? "Proxy-Authorization: " : "Authorization: ";
      if (wh_buf_adds(&x->out, name) != 0 || wh_buf_adds(&x->out, cred) != 0 ||
          wh_buf_add(&x->out, "\r\n", 2) != 0)
        err = ERROR_NOT_ENOUGH_MEMORY;
      x->cred_sent = true;
    }
    wh_secret_free(cred);
  }
  if (err == ERROR_SUCCESS && wh_buf_add(&x->out, "\r\n", 2) != 0)
    err = ERROR_NOT_ENOUGH_MEMORY;
  if (err != ERROR_SUCCESS)
    return err;
  x->head_len = x->out.len; /* HTTP/2 sends the head as fields (core/h2_stream.c) */
  x->h2_gave = false;

  x->opt_len = optional ? opt_len : 0;
  x->opt_off = 0;
  if (x->chunked_upload) {
    /* The optional data is the first chunk; the caller's buffer is only
     * read during this SendRequest. */
    if (x->opt_len) {
      char hdr[WH_H1_CHUNK_HEADER_MAX];
      size_t hl = wh_h1_chunk_header(x->opt_len, hdr);
      if (wh_buf_add(&x->out, hdr, hl) != 0)
        return ERROR_NOT_ENOUGH_MEMORY;
      x->tail = WH_H1_CHUNK_END;
      x->tail_len = 2;
    }
    x->opt = optional;
  } else if (x->opt_len && x->opt_len <= COALESCE_MAX) {
    /* Keep a copy: a retry on a fresh connection or a 307/308 redirect
     * sends the body again after SendRequest has returned. */
    if ((const unsigned char *)optional != x->body_copy) {
      unsigned char *copy = wh_malloc(x->opt_len);
      if (!copy)
        return ERROR_NOT_ENOUGH_MEMORY;
      memcpy(copy, optional, x->opt_len);
      wh_free(x->body_copy);
      x->body_copy = copy;
    }
    if (wh_buf_add(&x->out, x->body_copy, x->opt_len) != 0)
      return ERROR_NOT_ENOUGH_MEMORY;
    x->opt_off = x->opt_len;
    x->opt = x->body_copy;
  } else {
    if (!x->opt_len) {
      wh_free(x->body_copy);
      x->body_copy = NULL;
    }
    x->opt = optional;
  }
  x->out_off = 0;
  x->sending_notified = false;
  x->sent_total = 0;
  x->phase = WH_P_ACQUIRE;
  return ERROR_SUCCESS;
}

/* --- connecting ------------------------------------------------------------------ */

/* The URL a PAC script is asked about for this send. https:// (and wss://)
 * targets go as "https://host[:port]/" only: their paths are hidden from
 * the network, and a script (downloaded from it) could leak them through
 * name lookups; browsers strip them the same way. http:// targets keep
 * the path. A WebSocket is asked about as http(s), the schemes Windows'
 * resolver takes. */
static char *pac_url(const struct wh_request *r, const struct wh_exchange *x)
{
  bool v6 = strchr(x->host, ':') != NULL;
  bool default_port = x->port == (x->secure ? 443 : 80);
  const char *path = x->secure ? "/" : r->path;
  size_t cap = strlen(x->host) + strlen(path) + 32;
  char *u = wh_malloc(cap);
  if (!u)
    return NULL;
  char port[8] = "";
  if (!default_port)
    snprintf(port, sizeof(port), ":%u", (unsigned)x->port);
  snprintf(u, cap, "%s://%s%s%s%s%s", x->secure ? "https" : "http", v6 ? "[" : "", x->host,
           v6 ? "]" : "", port, path[0] == '/' ? path : "/");
  return u;
}

/* AUTOMATIC_PROXY with detection or a PAC URL configured (core/route.h):
 * WPAD or the URL gives the PAC script, the script picks the proxies for
 * this URL. When that fails (no WPAD on the network, no script, a broken
 * one), the request goes by the static list configured beside them, else
 * direct, as Windows' automatic proxy falls back to a direct connection. */
static DWORD step_autoproxy(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  struct wh_session *s = r->connect->session;
  if (!x->ap_job) {
    struct wh_autoproxy *ap = wh_session_autoproxy(s);
    char *url = ap ? pac_url(r, x) : NULL;
    DWORD err = ERROR_NOT_ENOUGH_MEMORY;
    if (url) {
      /* Fixed for the session's life: read without its lock. An empty
       * configuration (another access type) detects. */
      const struct wh_auto_config *cfg = &s->auto_cfg;
      struct wh_autoproxy_query q = {
          .detect = cfg->detect || !cfg->pac_url,
          .pac_url = cfg->pac_url,
          .url = url,
          .host = x->host,
          .limits = {r->settings.resolve_timeout, r->settings.connect_timeout,
                     r->settings.send_timeout, r->settings.receive_timeout},
      };
      err = wh_autoproxy_start(ap, &q, &x->ap_job);
    }
    wh_free(url);
    wh_autoproxy_unref(ap);
    if (err != ERROR_SUCCESS)
      return err;
  }
  int fd = wh_autoproxy_fd(x->ap_job);
  if (!wh_fd_readable(fd)) {
    /* No deadline of its own: each step of the lookup has one. */
    io->fd = fd;
    io->events = POLLIN;
    return ERROR_IO_PENDING;
  }
  struct wh_pac_entry e[WH_PAC_MAX_ENTRIES];
  size_t n = 0;
  struct wh_autoproxy_job *job = x->ap_job;
  x->ap_job = NULL;
  DWORD err = wh_autoproxy_finish(job, e, &n);
  if (err == ERROR_NOT_ENOUGH_MEMORY)
    return err;
  if (err == ERROR_SUCCESS)
    x->route.n = (unsigned)wh_pac_to_route(e, n, x->route.via, WH_ROUTE_MAX);
  else
    wh_route_auto_static(s, x->host, x->port, x->secure, &x->route);
  return prepare_head(r, x->pend_opt, x->pend_opt_len, x->pend_total);
}

static void conn_key(const struct wh_request *r, const struct wh_exchange *x,
                     struct wh_conn_key *k)
{
  memset(k, 0, sizeof(*k));
  size_t n = strlen(x->host);
  memcpy(k->host, x->host, n < sizeof(k->host) - 1 ? n : sizeof(k->host) - 1);
  k->port = x->port;
  k->secure = x->secure;
  if (x->route.n) {
    /* A tunnel (https://, ws://) serves only its origin; a connection
     * for absolute-form requests is not one: they are never mixed. */
    const struct wh_proxy_server *p = &x->route.via[x->proxy_idx];
    bool tunnel = x->secure || x->ws_upgrade;
    snprintf(k->proxy, sizeof(k->proxy), "%s%s:%u", tunnel ? "tunnel " : "", p->host,
             (unsigned)p->port);
  }
  if (x->secure) {
    k->security_flags = r->settings.security_flags;
    k->protocols = r->settings.secure_protocols;
    /* A connection verified without the revocation check is not handed
     * to a request that asks for it (tls_failures). */
    k->revocation = (r->settings.enabled_features & WINHTTP_ENABLE_SSL_REVOCATION) != 0;
    k->h2 = wh_h2x_wanted(r, x);
    k->client_auth = x->client_auth;
    if (x->client_cred)
      memcpy(k->client_cert, wh_tls_cred_sha256(x->client_cred), sizeof(k->client_cert));
  }
}

/* Certificate problems the request does not ignore. */
static DWORD tls_failures(const struct wh_request *r, DWORD flags)
{
  /* WINHTTP_ENABLE_SSL_REVOCATION asks for a revocation check this engine
   * cannot make yet (no CRL or OCSP fetching): Windows' answer when the
   * check cannot be completed is CERT_REV_FAILED, never a silent pass. */
  if (r->settings.enabled_features & WINHTTP_ENABLE_SSL_REVOCATION)
    flags |= WINHTTP_CALLBACK_STATUS_FLAG_CERT_REV_FAILED;
  DWORD ign = r->settings.security_flags;
  if (ign & SECURITY_FLAG_IGNORE_UNKNOWN_CA)
    flags &= ~(DWORD)WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CA;
  if (ign & SECURITY_FLAG_IGNORE_CERT_DATE_INVALID)
    flags &= ~(DWORD)WINHTTP_CALLBACK_STATUS_FLAG_CERT_DATE_INVALID;
  if (ign & SECURITY_FLAG_IGNORE_CERT_CN_INVALID)
    flags &= ~(DWORD)WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID;
  if (ign & SECURITY_FLAG_IGNORE_CERT_WRONG_USAGE)
    flags &= ~(DWORD)WINHTTP_CALLBACK_STATUS_FLAG_CERT_WRONG_USAGE;
  /* With every certificate check ignored (IGNORE_ALL_CERT_ERRORS), a merely
   * untrusted or malformed certificate is accepted too. */
  if ((ign & SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS) == SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS)
    flags &= ~(DWORD)(WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CERT |
                      WINHTTP_CALLBACK_STATUS_FLAG_CERT_REV_FAILED);
  return flags;
}

/* The wake-up for waiting on another request (a connection slot, another's
 * HTTP/2 connect): a synchronous call sleeps on its thread's eventfd; an
 * asynchronous request has the loop watch an eventfd of its own. */
static int wake_fd(const struct wh_request *r, struct wh_exchange *x)
{
  if (!(r->hdr.flags & WH_OBJ_ASYNC))
    return wh_thread_cancel_fd();
  if (x->slot_efd < 0)
    x->slot_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return x->slot_efd;
}

static DWORD step_acquire(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  /* A certificate without its private key cannot authenticate anything
   * (a server's certificate from SERVER_CERT_CONTEXT, say). */
  if (x->secure && x->client_no_key)
    return ERROR_WINHTTP_CLIENT_CERT_NO_PRIVATE_KEY;
  struct wh_conn_key k;
  conn_key(r, x, &k);
  /* HTTP/2 only over TLS (Windows speaks no cleartext HTTP/2), never for a
   * WebSocket upgrade: a request that requires it cannot be served. */
  if (!k.h2 && wh_h2x_required(r))
    return ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH;
  bool keep = !(r->settings.disabled_features & WINHTTP_DISABLE_KEEP_ALIVE);
  wh_h2x_drop(x); /* a stream left by a retry or a redirect */
  h2_connect_over(x); /* woken: the connect waited for is over */
  x->tp = &wh_h1_transport; /* until an HTTP/2 stream is opened */
  if (k.h2 && keep && !x->conn && !x->retried) {
    /* A shared HTTP/2 connection to the origin: a stream on it, no
     * connecting at all. (A retry after a refusal goes to a new one.) */
    x->h2s = wh_h2_pool_join(&k, r->settings.disable_stream_queue);
    if (x->h2s) {
      x->tp = &wh_h2_transport;
      x->reused = true;
      x->phase = WH_P_SEND;
      return ERROR_SUCCESS;
    }
    /* Another request is connecting to this origin: wait for its outcome
     * (then join it) rather than open a connection of our own. */
    int wake = wake_fd(r, x);
    if (wake < 0)
      return ERROR_NOT_ENOUGH_MEMORY;
    if (!wh_h2_pool_connect_begin(&k, wake)) {
      x->h2_wait_fd = wake;
      io->fd = wake;
      io->events = POLLIN;
      if (io->deadline == 0)
        io->deadline = wh_deadline(r->settings.connect_timeout);
      return ERROR_IO_PENDING;
    }
    x->h2_connecting = true;
    x->h2_key = k;
  }
  if (x->conn) {
    /* A connection kept from the previous response on this handle (a
     * redirect to the same origin, a refusal being answered): probed like
     * a pooled one. One whose CONNECT the proxy refused carries only
     * another CONNECT, and only when this send takes the same tunnel. */
    bool tunnel = x->route.n && (x->secure || x->ws_upgrade);
    struct wh_conn_key want;
    conn_key(r, x, &want);
    const struct wh_conn_key *have = &x->conn->key;
    bool fits = !x->pretunnel || (tunnel && want.port == have->port &&
                                  strcmp(want.host, have->host) == 0 &&
                                  strcmp(want.proxy, have->proxy) == 0);
    /* Nor one that presents another client identity than this send's
     * (the application changed CLIENT_CERT_CONTEXT in between). */
    if (x->secure && !wh_conn_key_client_eq(&want, have))
      fits = false;
    if (fits && wh_conn_alive(x->conn)) {
      x->reused = true;
      x->phase = x->pretunnel ? WH_P_TUNNEL : WH_P_SEND;
      return ERROR_SUCCESS;
    }
    x->pretunnel = false;
    wh_conn_free(x->conn);
    x->conn = NULL;
    x->rpos = x->rend = 0;
  }
  x->conn = keep ? wh_pool_take(&k) : NULL;
  if (x->conn && k.h2 && wh_h2x_required(r)) {
    /* Pooled under the HTTP/2 offer, so the server chose HTTP/1.1. */
    wh_pool_put(x->conn);
    x->conn = NULL;
    return ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH;
  }
  if (x->conn) {
    x->reused = true;
    x->phase = WH_P_SEND;
    return ERROR_SUCCESS;
  }
  x->reused = false;
  /* MAX_CONNS_PER_SERVER: wait for a slot when the server has its fill
   * (the slot's release or a pooled connection wakes this thread's
   * eventfd; the driver then steps again). */
  if (x->slot_wait_fd >= 0) {
    wh_pool_unwait(x->slot_wait_fd);
    if (x->slot_wait_fd == x->slot_efd)
      wh_cancel_fd_drain(x->slot_efd);
    x->slot_wait_fd = -1;
  }
  DWORD limit = r->settings.max_conns_per_server;
  DWORD limit10 = r->settings.max_conns_per_1_0_server;
  if (limit10 < limit && wh_pool_is_http10(&k))
    limit = limit10; /* a server known to answer HTTP/1.0 */
  if (!x->reserved && limit != WINHTTP_CONNS_PER_SERVER_UNLIMITED) {
    if (!x->limit_keys && !(x->limit_keys = wh_calloc(2, sizeof(*x->limit_keys))))
      return ERROR_NOT_ENOUGH_MEMORY;
    int wake = wake_fd(r, x);
    if (wake < 0)
      return ERROR_NOT_ENOUGH_MEMORY;
    if (!wh_pool_reserve(&k, limit, wake)) {
      x->slot_wait_fd = wake;
      x->limit_keys[0] = k;
      io->fd = wake;
      io->events = POLLIN;
      if (io->deadline == 0)
        io->deadline = wh_deadline(r->settings.connect_timeout);
      return ERROR_IO_PENDING;
    }
    x->reserved = true;
    x->limit_keys[1] = k;
  }
  /* A SOCKS proxy or one spoken over TLS (the environment can name them):
   * not implemented, and never bypassed silently. */
  if (x->route.n && x->route.via[x->proxy_idx].unsupported)
    return ERROR_CALL_NOT_IMPLEMENTED;
  /* Where the socket goes: the origin, or the proxy being tried. */
  const char *host = x->route.n ? x->route.via[x->proxy_idx].host : x->host;
  uint16_t port = x->route.n ? x->route.via[x->proxy_idx].port : x->port;
  if (!wh_host_is_literal(host))
    notify_str(r, WINHTTP_CALLBACK_STATUS_RESOLVING_NAME, host);
  DWORD err = wh_resolve_start(host, port, &x->dns, &x->addrs);
  if (err != ERROR_SUCCESS)
    return err;
  x->phase = WH_P_RESOLVE;
  return ERROR_SUCCESS;
}

static DWORD step_resolve(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  if (x->dns) {
    if (!wh_fd_readable(wh_resolve_fd(x->dns))) {
      io->fd = wh_resolve_fd(x->dns);
      io->events = POLLIN;
      if (io->deadline == 0)
        io->deadline = wh_deadline(r->settings.resolve_timeout);
      return ERROR_IO_PENDING;
    }
    struct wh_resolve *job = x->dns;
    x->dns = NULL;
    DWORD err = wh_resolve_finish(job, &x->addrs);
    if (err != ERROR_SUCCESS)
      return err;
  }
  if (!wh_host_is_literal(x->route.n ? x->route.via[x->proxy_idx].host : x->host))
    notify_addr(r, WINHTTP_CALLBACK_STATUS_NAME_RESOLVED, &x->addrs->a[0]);
  wh_connector_init(&x->ktor, x->addrs, r->settings.connect_retries);
  x->phase = WH_P_CONNECT;
  return ERROR_SUCCESS;
}

static DWORD start_tls(struct wh_request *r, struct wh_exchange *x, struct wh_io *io);

static DWORD step_connect(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  size_t before = x->ktor.next;
  int fd = -1;
  DWORD err = wh_connector_step(&x->ktor, &fd);
  /* Windows reports each address it tries. */
  if (x->ktor.next != before)
    notify_addr(r, WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER, &x->addrs->a[x->ktor.current]);
  if (err == ERROR_IO_PENDING) {
    io->fd = x->ktor.fd;
    io->events = POLLOUT;
    if (x->ktor.next != before || io->deadline == 0)
      io->deadline = wh_deadline(r->settings.connect_timeout);
    return ERROR_IO_PENDING;
  }
  if (err != ERROR_SUCCESS) {
    x->last_errno = x->ktor.last_errno;
    return err;
  }
  struct wh_conn_key k;
  conn_key(r, x, &k);
  err = wh_conn_new(fd, &k, &x->addrs->a[x->ktor.current], &x->conn);
  if (err != ERROR_SUCCESS)
    return err;
  if (x->reserved) {
    wh_conn_counted(x->conn); /* the reserved slot now belongs to the connection */
    x->reserved = false;
  }
  if (x->route.n && (x->secure || x->ws_upgrade)) {
    /* CONNECT first, then TLS to the origin inside. A ws:// upgrade takes
     * a tunnel too: proxies seldom pass an Upgrade along. */
    x->phase = WH_P_TUNNEL;
    return ERROR_SUCCESS;
  }
  if (x->secure)
    return start_tls(r, x, io);
  notify_addr(r, WINHTTP_CALLBACK_STATUS_CONNECTED_TO_SERVER, &x->conn->remote);
  x->phase = WH_P_SEND;
  return ERROR_SUCCESS;
}

/* TLS with the origin (its name for SNI and the certificate check),
 * directly or inside a proxy's tunnel. */
static DWORD start_tls(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  DWORD err = wh_conn_tls_start(x->conn, x->host,
                                x->client_auth == WH_CLIENT_CERT_SET ? x->client_cred : NULL);
  if (err == ERROR_WINHTTP_SECURE_FAILURE) {
    DWORD flags = x->conn->tls_flags;
    wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_SECURE_FAILURE, &flags, sizeof(flags));
  }
  if (err != ERROR_SUCCESS)
    return err;
  x->phase = WH_P_TLS;
  io->deadline = 0;
  return ERROR_SUCCESS;
}

/* The proxy's tunnel (core/h1_stream.c): once it stands, TLS inside it;
 * when the proxy answered with a response of its own, that response is
 * the request's, and nothing is sent. */
static DWORD step_tunnel(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  DWORD err = wh_h1_tunnel_step(r, x, io);
  if (err != ERROR_SUCCESS)
    return err;
  io->deadline = 0;
  if (x->proxy_answered) {
    x->phase = WH_P_DONE;
    return ERROR_SUCCESS;
  }
  if (x->secure)
    return start_tls(r, x, io);
  notify_addr(r, WINHTTP_CALLBACK_STATUS_CONNECTED_TO_SERVER, &x->conn->remote);
  x->phase = WH_P_SEND;
  return ERROR_SUCCESS;
}

static DWORD step_tls(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  short ev = 0;
  DWORD err = wh_conn_tls_handshake(x->conn, &ev);
  if (err == ERROR_IO_PENDING) {
    io->fd = x->conn->fd;
    io->events = ev;
    if (io->deadline == 0)
      io->deadline = wh_deadline(r->settings.connect_timeout);
    return ERROR_IO_PENDING;
  }
  DWORD flags = x->conn->tls_flags;
  /* A server that asks for a client certificate is first a server whose
   * own certificate must pass: its problems are reported before the
   * request for ours. */
  if (err == ERROR_SUCCESS || err == ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED)
    flags = tls_failures(r, flags);
  if (err == ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED && !flags)
    return err; /* the issuer list goes to the request when it fails */
  if (err == ERROR_WINHTTP_SECURE_FAILURE || flags) {
    /* The reasons first, then the failure (WINHTTP-API.md §3.1). */
    wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_SECURE_FAILURE, &flags, sizeof(flags));
    return ERROR_WINHTTP_SECURE_FAILURE;
  }
  if (err != ERROR_SUCCESS) {
    x->last_errno = x->conn->last_errno;
    return err;
  }
  /* Windows reports CONNECTED_TO_SERVER once the secure channel is up. */
  notify_addr(r, WINHTTP_CALLBACK_STATUS_CONNECTED_TO_SERVER, &x->conn->remote);
  if (x->conn->key.h2) {
    if (wh_conn_alpn_h2(x->conn)) {
      err = wh_h2x_adopt(r, x);
      if (err != ERROR_SUCCESS)
        return err;
      x->tp = &wh_h2_transport;
    }
    h2_connect_over(x); /* those waiting join it, or connect themselves */
    if (!x->h2s && wh_h2x_required(r))
      return ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH;
  }
  x->phase = WH_P_SEND;
  return ERROR_SUCCESS;
}

static DWORD step_send(struct wh_request *r, struct wh_exchange *x, struct wh_io *io)
{
  if (!x->sending_notified) {
    x->sending_notified = true;
    if (x->conn)
      x->conn->requests++;
    wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_SENDING_REQUEST, NULL, 0);
    io->deadline = 0;
  }
  DWORD err = x->tp->send(r, x, io);
  if (err != ERROR_SUCCESS)
    return err;
  DWORD sent = (DWORD)x->sent_total;
  x->fresh_send = true;
  wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_REQUEST_SENT, &sent, sizeof(sent));
  x->phase = WH_P_DONE;
  return ERROR_SUCCESS;
}

DWORD wh_exchange_prepare_write(struct wh_exchange *x, const void *buf, size_t len)
{
  wh_buf_reset(&x->out);
  x->out_off = 0;
  x->opt = buf;
  x->opt_len = len;
  x->opt_off = 0;
  x->tail = NULL;
  x->tail_len = x->tail_off = 0;
  x->sent_total = 0;
  x->h2_gave = false;
  /* (A zero-length WriteData on a chunked upload sends the last chunk
   * instead: wh_exchange_prepare_last_chunk.) */
  if (x->chunked_upload && len) {
    char hdr[WH_H1_CHUNK_HEADER_MAX];
    size_t hl = wh_h1_chunk_header(len, hdr);
    if (wh_buf_add(&x->out, hdr, hl) != 0)
      return ERROR_NOT_ENOUGH_MEMORY;
    x->tail = WH_H1_CHUNK_END;
    x->tail_len = 2;
  }
  return ERROR_SUCCESS;
}

void wh_exchange_prepare_last_chunk(struct wh_exchange *x)
{
  wh_exchange_prepare_write(x, WH_H1_LAST_CHUNK, sizeof(WH_H1_LAST_CHUNK) - 1);
  /* Not a chunk of its own: undo the framing prepare_write added. */
  wh_buf_reset(&x->out);
  x->tail = NULL;
  x->tail_len = 0;
}

DWORD wh_exchange_write_step(struct wh_request *r, struct wh_io *io)
{
  struct wh_exchange *x = &r->x;
  return x->tp->write(r, x, io);
}

void wh_exchange_drop_stream(struct wh_exchange *x)
{
  wh_h2x_drop(x);
}

void wh_exchange_cancel_stream(struct wh_exchange *x)
{
  wh_h2x_cancel(x);
}

void wh_exchange_restart_send(struct wh_exchange *x)
{
  x->retried = true;
  wh_h2x_drop(x);
  wh_conn_free(x->conn);
  x->conn = NULL;
  x->rpos = x->rend = 0;
  x->out_off = 0;
  x->sending_notified = false;
  x->sent_total = 0;
  x->phase = WH_P_ACQUIRE;
}

DWORD wh_exchange_send_step(struct wh_request *r, struct wh_io *io)
{
  struct wh_exchange *x = &r->x;
  for (;;) {
    DWORD err;
    enum wh_phase before = x->phase;
    switch (x->phase) {
    case WH_P_AUTOPROXY:
      err = step_autoproxy(r, x, io);
      break;
    case WH_P_ACQUIRE:
      err = step_acquire(r, x, io);
      break;
    case WH_P_RESOLVE:
      err = step_resolve(r, x, io);
      break;
    case WH_P_CONNECT:
      err = step_connect(r, x, io);
      break;
    case WH_P_TUNNEL:
      err = step_tunnel(r, x, io);
      break;
    case WH_P_TLS:
      err = step_tls(r, x, io);
      break;
    case WH_P_SEND:
      err = step_send(r, x, io);
      if (err == WH_RETRY) {
        /* The request never reached the server (core/transport.h): once
         * more on a fresh connection. */
        wh_exchange_restart_send(x);
        err = ERROR_SUCCESS;
      }
      break;
    case WH_P_DONE:
      drop_connect_state(x);
      return ERROR_SUCCESS;
    default:
      return ERROR_WINHTTP_INTERNAL_ERROR;
    }
    if ((err == ERROR_WINHTTP_CANNOT_CONNECT || err == ERROR_WINHTTP_NAME_NOT_RESOLVED) &&
        x->proxy_idx + 1 < x->route.n && !x->conn) {
      /* That proxy cannot be reached: the next one of the list. */
      wh_exchange_abort_connect(x);
      x->proxy_idx++;
      x->phase = WH_P_ACQUIRE;
      io->deadline = 0;
      continue;
    }
    if (err != ERROR_SUCCESS) {
      if (err != ERROR_IO_PENDING)
        wh_exchange_abort_connect(x);
      return err;
    }
    if (x->phase != before)
      io->deadline = 0; /* each phase has its own timeout */
  }
}

/* --- the synchronous driver ------------------------------------------------------ */

static bool is_closing(struct wh_request *r)
{
  pthread_mutex_lock(&r->hdr.lock);
  bool closing = r->closing;
  pthread_mutex_unlock(&r->hdr.lock);
  return closing;
}

/* Publishes the thread's cancellation fd for WinHttpCloseHandle (one slot
 * per lane: a full-duplex request may have a thread waiting on each side),
 * or reports that the handle is already being closed. */
static bool begin_wait(struct wh_request *r, int lane, int fd)
{
  pthread_mutex_lock(&r->hdr.lock);
  bool closing = r->closing;
  if (!closing)
    r->waiting_fd[lane] = fd;
  pthread_mutex_unlock(&r->hdr.lock);
  return !closing;
}

static bool end_wait(struct wh_request *r, int lane)
{
  pthread_mutex_lock(&r->hdr.lock);
  r->waiting_fd[lane] = -1;
  bool closing = r->closing;
  pthread_mutex_unlock(&r->hdr.lock);
  return closing;
}

static DWORD drive_sync_loop(struct wh_request *r,
                             DWORD (*step)(struct wh_request *, struct wh_io *), int lane,
                             int cancel)
{
  struct wh_io io = {.fd = -1, .events = 0, .deadline = 0, .lane = lane};
  for (;;) {
    DWORD err = step(r, &io);
    if (err != ERROR_IO_PENDING) {
      /* A failure while the handle is being closed is the close's doing
       * (a full-duplex request's other side shuts the socket down when it
       * is cancelled): it is reported as the cancellation. */
      if (err != ERROR_SUCCESS && err != ERROR_WINHTTP_OPERATION_CANCELLED && is_closing(r))
        err = ERROR_WINHTTP_OPERATION_CANCELLED;
      return err;
    }
    if (!begin_wait(r, lane, cancel))
      return ERROR_WINHTTP_OPERATION_CANCELLED;
    err = wh_wait_fd(io.fd, io.events, io.deadline ? io.deadline : WH_NEVER, cancel);
    bool closing = end_wait(r, lane);
    if (err == ERROR_WINHTTP_OPERATION_CANCELLED && !closing) {
      /* A signal meant for a request this thread served before. */
      wh_cancel_fd_drain(cancel);
      continue;
    }
    if (closing)
      return ERROR_WINHTTP_OPERATION_CANCELLED;
    if (err != ERROR_SUCCESS)
      return err;
  }
}

DWORD wh_drive_sync(struct wh_request *r, DWORD (*step)(struct wh_request *, struct wh_io *),
                    int lane)
{
  int cancel = wh_thread_cancel_fd();
  if (cancel < 0)
    return ERROR_NOT_ENOUGH_MEMORY;
  DWORD err = drive_sync_loop(r, step, lane, cancel);
  /* However it ended, this side waits no more (an HTTP/2 stream hands
   * the connection's driving to another request's thread). */
  wh_exchange_op_over(&r->x, lane);
  return err;
}
