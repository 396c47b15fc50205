/* TLS for net/conn.c, with OpenSSL 3 over the connection's non-blocking
 * socket.
 *
 * Verification follows WinHTTP's model rather than OpenSSL's: the handshake
 * always completes, every certificate problem is recorded as a
 * WINHTTP_CALLBACK_STATUS_FLAG_* bit (the verify callback never aborts), and
 * the engine then compares the bits with the request's SECURITY_FLAG_IGNORE_*
 * flags to decide between going on and SECURE_FAILURE. The trust store is
 * the system's (OpenSSL's default paths, which honour SSL_CERT_FILE and
 * SSL_CERT_DIR — the tests point those at a CA they generate). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/conn.h"
#include "net/tls_bio.h"
#include "net/tlscred.h"
#include "util/blob.h"
#include "util/buf.h"
#include "util/mem.h"

void wh_tls_free(struct ssl_st *ssl);
DWORD wh_tls_recv(struct wh_conn *c, void *buf, size_t cap, size_t *n, short *events);
DWORD wh_tls_send(struct wh_conn *c, const void *buf, size_t len, size_t *n, short *events);

/* --- contexts: one per protocol set, process-wide, made on first use ------- */

#define CTX_SLOTS 8

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  DWORD protocols;
  SSL_CTX *ctx;
} ctxs[CTX_SLOTS];
static int conn_index = -1; /* SSL ex_data slot holding the wh_conn */

static const struct {
  DWORD flag;
  int version;
  long no_op;
} versions[] = {
    {WINHTTP_FLAG_SECURE_PROTOCOL_TLS1, TLS1_VERSION, SSL_OP_NO_TLSv1},
    {WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
    {WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
    {WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
};

static DWORD flag_for_error(int err)
{
  switch (err) {
  case X509_V_ERR_CERT_HAS_EXPIRED:
  case X509_V_ERR_CERT_NOT_YET_VALID:
    return WINHTTP_CALLBACK_STATUS_FLAG_CERT_DATE_INVALID;
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_CERT_UNTRUSTED:
    return WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CA;
  case X509_V_ERR_INVALID_PURPOSE:
    return WINHTTP_CALLBACK_STATUS_FLAG_CERT_WRONG_USAGE;
  case X509_V_ERR_CERT_REVOKED:
    return WINHTTP_CALLBACK_STATUS_FLAG_CERT_REVOKED;
  case X509_V_ERR_UNABLE_TO_GET_CRL:
    return WINHTTP_CALLBACK_STATUS_FLAG_CERT_REV_FAILED;
  default:
    return WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CERT;
  }
}

/* Records the problem and lets the handshake go on (see the file comment). */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
  if (!ok) {
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct wh_conn *c = ssl ? SSL_get_ex_data(ssl, conn_index) : NULL;
    if (c)
      c->tls_flags |= flag_for_error(X509_STORE_CTX_get_error(x));
  }
  return 1;
}

/* --- session resumption: the last ticket per destination ------------------ */

#define SESS_SLOTS 64

/* Room for a 255-byte host, the numbers and a certificate's SHA-256 in hex:
 * a truncated key could merge two destinations. */
#define SESS_KEY_MAX 400

static pthread_mutex_t sess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char key[SESS_KEY_MAX];
  SSL_SESSION *sess;
} sessions[SESS_SLOTS];
static unsigned sess_next;

/* Sessions are shared only between connections made for the same host,
 * port, protocols and certificate-ignore flags (a session verified under
 * laxer flags must not let a stricter request skip verification), and the
 * same client identity: a resumed session keeps the identity the server
 * authenticated, so a request with another certificate, or none, must
 * never resume it. */
static void sess_key(const struct wh_conn *c, char *out, size_t cap)
{
  char id[2 * sizeof(c->key.client_cert) + 1] = "";
  if (c->key.client_auth == WH_CLIENT_CERT_SET)
    for (size_t i = 0; i < sizeof(c->key.client_cert); i++)
      snprintf(id + 2 * i, 3, "%02x", c->key.client_cert[i]);
  snprintf(out, cap, "%s|%u|%x|%x|%u%s", c->key.host, (unsigned)c->key.port,
           (unsigned)c->key.protocols, (unsigned)c->key.security_flags,
           (unsigned)c->key.client_auth, id);
}

/* OpenSSL hands over new sessions (TLS 1.3 tickets arrive after the
 * handshake); keep the newest per destination. The cache keeps a copy of
 * its own and connections resume from copies of that (resume_session): the
 * session OpenSSL offers stays its connection's, which OpenSSL goes on
 * writing to when more tickets arrive, and an object shared between
 * connections is raced on inside OpenSSL (openssl/openssl#24629; TSan saw
 * it in test_client_cert_async). Returning 0: OpenSSL keeps its own. */
static int new_session_cb(SSL *ssl, SSL_SESSION *offered)
{
  struct wh_conn *c = SSL_get_ex_data(ssl, conn_index);
  /* Only a connection whose certificate passed every check may be resumed:
   * a resumed handshake verifies nothing. (The verify callback has run by
   * the time OpenSSL offers the session.) */
  if (!c || c->tls_flags != 0)
    return 0;
  SSL_SESSION *sess = SSL_SESSION_dup(offered);
  if (!sess)
    return 0;
  char key[SESS_KEY_MAX];
  sess_key(c, key, sizeof(key));
  SSL_SESSION *old = NULL;
  pthread_mutex_lock(&sess_lock);
  int slot = -1;
  for (int i = 0; i < SESS_SLOTS && slot < 0; i++)
    if (sessions[i].sess && strcmp(sessions[i].key, key) == 0)
      slot = i;
  if (slot < 0)
    slot = (int)(sess_next++ % SESS_SLOTS);
  old = sessions[slot].sess;
  snprintf(sessions[slot].key, sizeof(sessions[slot].key), "%s", key);
  sessions[slot].sess = sess;
  pthread_mutex_unlock(&sess_lock);
  if (old)
    SSL_SESSION_free(old);
  return 0;
}

static void resume_session(SSL *ssl, const struct wh_conn *c)
{
  char key[SESS_KEY_MAX];
  sess_key(c, key, sizeof(key));
  pthread_mutex_lock(&sess_lock);
  for (int i = 0; i < SESS_SLOTS; i++) {
    if (sessions[i].sess && strcmp(sessions[i].key, key) == 0) {
      /* A private copy for this connection (see new_session_cb): the
       * cached object is never attached to a connection, so nothing writes
       * to it while it is copied here under the lock. */
      SSL_SESSION *own = SSL_SESSION_dup(sessions[i].sess);
      if (own) {
        SSL_set_session(ssl, own); /* takes its own reference */
        SSL_SESSION_free(own);
      }
      break;
    }
  }
  pthread_mutex_unlock(&sess_lock);
}

/* --- client certificates ---------------------------------------------------------- */

/* The CA names of the server's certificate request, each a 4-byte
 * big-endian length and the DER (the form wh_conn.cert_issuers keeps);
 * NULL when out of memory. */
static struct wh_blob *issuer_names(SSL *ssl)
{
  const STACK_OF(X509_NAME) *names = SSL_get_client_CA_list(ssl);
  struct wh_buf b;
  wh_buf_init(&b, 1u << 20);
  int rc = 0;
  for (int i = 0; i < sk_X509_NAME_num(names) && !rc; i++) {
    unsigned char *der = NULL;
    int n = i2d_X509_NAME(sk_X509_NAME_value(names, i), &der);
    if (n <= 0) {
      ERR_clear_error();
      continue;
    }
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    rc = wh_buf_add(&b, len, 4);
    if (!rc)
      rc = wh_buf_add(&b, der, (size_t)n);
    OPENSSL_free(der);
  }
  struct wh_blob *out = rc ? NULL : wh_blob_new(b.p, b.len);
  wh_buf_free(&b);
  return out;
}

/* OpenSSL calls this when the server asks for a certificate and none is set
 * on the connection. Without one set, WinHTTP reports
 * ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED and lets the application choose:
 * returning -1 pauses the handshake right there (SSL_ERROR_WANT_X509_LOOKUP),
 * in TLS 1.2 and 1.3 alike, before anything is sent on the client's behalf.
 * WINHTTP_NO_CLIENT_CERT_CONTEXT (or a certificate that does not suit the
 * server's algorithms) answers with no certificate: 0. */
static int client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
  (void)x509;
  (void)pkey;
  struct wh_conn *c = SSL_get_ex_data(ssl, conn_index);
  if (!c || c->key.client_auth != WH_CLIENT_CERT_UNSET)
    return 0;
  if (!c->cert_issuers)
    c->cert_issuers = issuer_names(ssl);
  return -1;
}

static SSL_CTX *make_ctx(DWORD protocols)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx)
    return NULL;
  int lo = 0, hi = 0;
  long off = 0;
  for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
    if (protocols & versions[i].flag) {
      if (!lo)
        lo = versions[i].version;
      hi = versions[i].version;
    } else {
      off |= versions[i].no_op;
    }
  }
  SSL_CTX_set_min_proto_version(ctx, lo);
  SSL_CTX_set_max_proto_version(ctx, hi);
  /* Gaps in a non-contiguous set ("TLS 1.0 and 1.3") are switched off.
   * IGNORE_UNEXPECTED_EOF holds during the handshake only (a close there
   * is reported as before); wh_conn_tls_handshake clears it once the
   * connection carries data, so that a close without close_notify can be
   * told apart from one with it (see tls_recv_locked). */
  SSL_CTX_set_options(ctx, (uint64_t)off | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* Read several records per system call. Everything that waits on the
   * socket asks OpenSSL first (wh_conn_pending), so buffered bytes are
   * never stranded behind a poll(). */
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, 65536);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
  SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
  SSL_CTX_set_default_verify_paths(ctx);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
  static const unsigned char alpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
  return ctx;
}

static SSL_CTX *ctx_for(DWORD protocols)
{
  SSL_CTX *ctx = NULL;
  pthread_mutex_lock(&ctx_lock);
  if (conn_index < 0)
    conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  for (int i = 0; i < CTX_SLOTS && !ctx; i++) {
    if (ctxs[i].ctx && ctxs[i].protocols == protocols)
      ctx = ctxs[i].ctx;
    else if (!ctxs[i].ctx) {
      ctx = ctxs[i].ctx = make_ctx(protocols);
      ctxs[i].protocols = protocols;
    }
  }
  if (ctx)
    SSL_CTX_up_ref(ctx);
  pthread_mutex_unlock(&ctx_lock);
  /* More distinct protocol sets than slots: an unshared context. */
  return ctx ? ctx : make_ctx(protocols);
}

/* --- per connection --------------------------------------------------------------- */

static int usable_protocols(DWORD protocols)
{
  for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
    if (protocols & versions[i].flag)
      return 1;
  return 0;
}

DWORD wh_conn_tls_start(struct wh_conn *c, const char *sni_host,
                        const struct wh_tls_cred *client)
{
  if (!usable_protocols(c->key.protocols)) {
    /* Only SSL 2/3 asked for: nothing OpenSSL 3 will speak. */
    c->tls_flags = WINHTTP_CALLBACK_STATUS_FLAG_SECURITY_CHANNEL_ERROR;
    return ERROR_WINHTTP_SECURE_FAILURE;
  }
  SSL_CTX *ctx = ctx_for(c->key.protocols);
  if (!ctx)
    return ERROR_NOT_ENOUGH_MEMORY;
  SSL *ssl = SSL_new(ctx);
  SSL_CTX_free(ctx); /* the SSL holds its own reference */
  if (!ssl)
    return ERROR_NOT_ENOUGH_MEMORY;
  SSL_set_ex_data(ssl, conn_index, c);
  SSL_set_connect_state(ssl);
  /* Our BIO, not SSL_set_fd's: no SIGPIPE when the peer has gone. */
  BIO *bio = wh_tls_bio_new(c->fd);
  if (!bio) {
    SSL_free(ssl);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  SSL_set_bio(ssl, bio, bio);
  /* SNI carries names only (RFC 6066 §3). */
  if (!wh_host_is_literal(sni_host))
    SSL_set_tlsext_host_name(ssl, sni_host);
  /* HTTP/2 only when the request enabled it (RFC 9113 §3.2: ALPN "h2"),
   * with HTTP/1.1 as the fallback the server may choose. */
  static const unsigned char h2_alpn[] = "\x02h2\x08http/1.1";
  if (c->key.h2 && SSL_set_alpn_protos(ssl, h2_alpn, sizeof(h2_alpn) - 1) != 0) {
    SSL_free(ssl);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  if (client) {
    DWORD err = wh_tls_cred_use(client, ssl);
    if (err != ERROR_SUCCESS) {
      SSL_free(ssl);
      return err;
    }
  }
  resume_session(ssl, c);
  c->ssl = ssl;
  c->tls_flags = 0;
  return ERROR_SUCCESS;
}

static DWORD want(SSL *ssl, int rc, short *events, struct wh_conn *c)
{
  switch (SSL_get_error(ssl, rc)) {
  case SSL_ERROR_WANT_READ:
    *events = POLLIN;
    return ERROR_IO_PENDING;
  case SSL_ERROR_WANT_WRITE:
    *events = POLLOUT;
    return ERROR_IO_PENDING;
  case SSL_ERROR_WANT_X509_LOOKUP:
    /* A renegotiation asking for a certificate none was set for
     * (client_cert_cb): what WinHttpReceiveResponse reports as such. */
    return ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED;
  case SSL_ERROR_SYSCALL:
    c->last_errno = errno;
    ERR_clear_error();
    return ERROR_WINHTTP_CONNECTION_ERROR;
  default:
    ERR_clear_error();
    return ERROR_WINHTTP_CONNECTION_ERROR;
  }
}

/* The host name check is ours (not OpenSSL's), so that it yields exactly the
 * CN_INVALID bit. */
static void check_host(struct wh_conn *c, X509 *peer)
{
  const char *host = c->key.host;
  char buf[256];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(buf)) {
    memcpy(buf, host + 1, n - 2);
    buf[n - 2] = '\0';
    host = buf;
  }
  int ok = wh_host_is_literal(host) ? X509_check_ip_asc(peer, host, 0)
                                    : X509_check_host(peer, host, 0, 0, NULL);
  if (ok != 1)
    c->tls_flags |= WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID;
}

bool wh_conn_alpn_h2(const struct wh_conn *c)
{
  const unsigned char *p = NULL;
  unsigned len = 0;
  if (c->ssl)
    SSL_get0_alpn_selected(c->ssl, &p, &len);
  return len == 2 && p[0] == 'h' && p[1] == '2';
}

DWORD wh_conn_tls_handshake(struct wh_conn *c, short *events)
{
  ERR_clear_error();
  int rc = SSL_do_handshake(c->ssl);
  if (rc == 1) {
    SSL_clear_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    if (!peer) {
      c->tls_flags |= WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CERT;
      return ERROR_SUCCESS;
    }
    check_host(c, peer);
    X509_free(peer);
    return ERROR_SUCCESS;
  }
  int e = SSL_get_error(c->ssl, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
    return want(c->ssl, rc, events, c);
  if (e == SSL_ERROR_WANT_X509_LOOKUP) {
    /* Paused by client_cert_cb. The server's certificate has been verified
     * by now (it comes before the request for ours, in TLS 1.2 and 1.3), so
     * the caller can still put its problems first. */
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    if (peer)
      check_host(c, peer);
    else
      c->tls_flags |= WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CERT;
    X509_free(peer);
    return ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED;
  }
  if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    /* The peer closed or reset the connection mid-handshake. */
    c->last_errno = errno;
    return ERROR_WINHTTP_CONNECTION_ERROR;
  }
  ERR_clear_error();
  c->tls_flags |= WINHTTP_CALLBACK_STATUS_FLAG_SECURITY_CHANNEL_ERROR;
  return ERROR_WINHTTP_SECURE_FAILURE;
}

static DWORD tls_recv_locked(struct wh_conn *c, void *buf, size_t cap, size_t *n, short *events)
{
  ERR_clear_error();
  size_t got = 0;
  int rc = SSL_read_ex(c->ssl, buf, cap, &got);
  if (rc == 1) {
    *n = got;
    return ERROR_SUCCESS;
  }
  int e = SSL_get_error(c->ssl, rc);
  if (e == SSL_ERROR_ZERO_RETURN) {
    *n = 0; /* close_notify: the peer's authenticated end of the stream */
    return ERROR_SUCCESS;
  }
  if (e == SSL_ERROR_SSL &&
      ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    /* The TCP connection closed without close_notify. Anyone on the path
     * can forge that FIN, so the data may have been cut short: report the
     * end like any other and let the HTTP framing decide (a length or the
     * last chunk proves completeness; a close-delimited body fails). */
    ERR_clear_error();
    c->tls_truncated = true;
    *n = 0;
    return ERROR_SUCCESS;
  }
  return want(c->ssl, rc, events, c);
}

DWORD wh_tls_recv(struct wh_conn *c, void *buf, size_t cap, size_t *n, short *events)
{
  pthread_mutex_lock(&c->ssl_lock);
  DWORD err = tls_recv_locked(c, buf, cap, n, events);
  pthread_mutex_unlock(&c->ssl_lock);
  return err;
}

DWORD wh_tls_send(struct wh_conn *c, const void *buf, size_t len, size_t *n, short *events)
{
  pthread_mutex_lock(&c->ssl_lock);
  ERR_clear_error();
  size_t put = 0;
  int rc = SSL_write_ex(c->ssl, buf, len, &put);
  DWORD err = ERROR_SUCCESS;
  if (rc == 1)
    *n = put;
  else
    err = want(c->ssl, rc, events, c);
  pthread_mutex_unlock(&c->ssl_lock);
  return err;
}

void wh_tls_free(struct ssl_st *ssl)
{
  /* No close_notify: the socket is closed right after, and a blocking
   * shutdown exchange would be wasted on a non-blocking socket. */
  SSL_free(ssl);
}

DWORD wh_conn_peer_cert(struct wh_conn *c, struct wh_blob **cert)
{
  if (!c->ssl)
    return ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  /* Encoded once, under the transport's lock: a full-duplex request's
   * other side may be in SSL_read, and the requests sharing an HTTP/2
   * connection publish their facts from their own threads. */
  DWORD err = ERROR_SUCCESS;
  pthread_mutex_lock(&c->ssl_lock);
  if (!c->cert) {
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    int n = peer ? i2d_X509(peer, NULL) : 0;
    struct wh_blob *b = n > 0 ? wh_blob_alloc((size_t)n) : NULL;
    if (b) {
      unsigned char *q = b->bytes;
      i2d_X509(peer, &q);
      c->cert = b;
    }
    err = !peer ? ERROR_WINHTTP_INCORRECT_HANDLE_STATE : !b ? ERROR_NOT_ENOUGH_MEMORY : err;
    X509_free(peer);
  }
  *cert = c->cert;
  pthread_mutex_unlock(&c->ssl_lock);
  return err;
}

size_t wh_conn_pending(const struct wh_conn *c)
{
  if (!c->ssl)
    return 0;
  struct wh_conn *m = (struct wh_conn *)c; /* the lock, not the connection, changes */
  pthread_mutex_lock(&m->ssl_lock);
  size_t n = 0;
  /* SSL_has_pending also sees read-ahead bytes not yet decrypted. */
  if (SSL_has_pending(c->ssl)) {
    int k = SSL_pending(c->ssl);
    n = k > 0 ? (size_t)k : 1;
  }
  pthread_mutex_unlock(&m->ssl_lock);
  return n;
}

DWORD wh_conn_key_bits(const struct wh_conn *c)
{
  if (!c->ssl)
    return 0;
  struct wh_conn *m = (struct wh_conn *)c; /* the lock, not the connection, changes */
  pthread_mutex_lock(&m->ssl_lock);
  const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);
  DWORD bits = ci ? (DWORD)SSL_CIPHER_get_bits(ci, NULL) : 0;
  pthread_mutex_unlock(&m->ssl_lock);
  return bits;
}
