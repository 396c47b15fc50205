/* WinHttpSetOption, WinHttpQueryOption and WinHttpSetTimeouts.
 *
 * Options are a table (docs/ARCHITECTURE.md "Options"): each entry says on
 * which handle types the option may be set and queried, how its set length
 * is checked, and where its value lives (a field of struct wh_settings, or
 * a handler). The generic rules are applied once, in this order, before any
 * handler runs:
 *
 *   set:   handle (ERROR_INVALID_HANDLE); buffer NULL with a length
 *          (ERROR_INVALID_PARAMETER); unknown option
 *          (ERROR_WINHTTP_INVALID_OPTION); read-only option
 *          (ERROR_WINHTTP_OPTION_NOT_SETTABLE); handle type
 *          (ERROR_WINHTTP_INCORRECT_HANDLE_TYPE); length
 *          (ERROR_INSUFFICIENT_BUFFER); value.
 *   query: handle; NULL length pointer (ERROR_INVALID_PARAMETER); unknown
 *          or write-only option (ERROR_INVALID_PARAMETER); handle type;
 *          buffer size protocol (ERROR_INSUFFICIENT_BUFFER, *len = needed).
 *
 * Sources: Microsoft's WinHttpSetOption, WinHttpQueryOption and "Option
 * Flags" pages; Wine's dlls/winhttp/tests/winhttp.c (test_WinHttpQueryOption,
 * test_timeouts, test_credentials, test_secure_connection, test_websocket,
 * test_basic_request, test_connection_info), whose ok() lines hold on
 * Windows (todo_wine marks where Wine differs from Windows).
 *
 * An SDK option this library does not implement is treated like an unknown
 * one (set: ERROR_WINHTTP_INVALID_OPTION, query: ERROR_INVALID_PARAMETER):
 * that is what a Windows version without the option answers (Microsoft:
 * "Attempting to set or query an option flag on a Windows version where it
 * is not supported will result in ERROR_WINHTTP_INVALID_OPTION"; Wine's
 * test_connection_info skips on ERROR_INVALID_PARAMETER for a query), so
 * applications take their fallback path. docs/STATUS.md lists them.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include <wincrypt.h>
#include <winhttp.h>
#include <winhttp_ext.h>

#include "api/api.h"
#include "core/cert.h"
#include "core/handle.h"
#include "net/certinfo.h"
#include "core/object.h"
#include "core/settings.h"
#include "core/websocket.h"
#include "util/mem.h"
#include "util/utf.h"

/* Handle-type masks. */
#define T_BIT(t) (1u << (t))
#define H_S T_BIT(WH_SESSION)
#define H_C T_BIT(WH_CONNECT)
#define H_R T_BIT(WH_REQUEST)
#define H_W T_BIT(WH_WEBSOCKET)
#define H_ANY (H_S | H_C | H_R | H_W | T_BIT(WH_RESOLVER) | T_BIT(WH_PROTOCOL))
/* Timeouts can be queried on a connection (its session's values). */
#define H_TIMEOUT_Q (H_S | H_C | H_R)

/* How a set checks its length before the value is looked at. */
enum size_rule {
  SZ_DWORD,     /* exactly sizeof(DWORD), else ERROR_INSUFFICIENT_BUFFER */
  SZ_DWORD_MIN, /* at least sizeof(DWORD) (timeouts: Wine does not check) */
  SZ_PTR,       /* exactly sizeof(DWORD_PTR) (CONTEXT_VALUE) */
  SZ_FREE,      /* the handler checks */
};

/* Where a plain option's value lives in struct wh_settings. */
enum field_kind { FK_NONE, FK_DWORD, FK_BOOL };

#define F_RO 0x1u /* read-only: set gives ERROR_WINHTTP_OPTION_NOT_SETTABLE */
#define F_WO 0x2u /* write-only: query gives ERROR_INVALID_PARAMETER */
#define F_OR 0x4u /* the value is OR'ed into the field (DISABLE_FEATURE) */

struct opt_desc;
typedef DWORD (*opt_check_fn)(struct wh_object *o, DWORD *v);
typedef DWORD (*opt_set_fn)(struct wh_object *o, const struct opt_desc *d, const void *buf,
                            DWORD len);
typedef DWORD (*opt_query_fn)(struct wh_object *o, const struct opt_desc *d, void *buf,
                              DWORD *len);

struct opt_desc {
  DWORD id;
  unsigned set_on;   /* handle types a set is valid on */
  unsigned query_on; /* handle types a query is valid on */
  unsigned flags;
  enum size_rule size;
  enum field_kind kind;
  size_t field;       /* offsetof(struct wh_settings, ...) when kind != FK_NONE */
  opt_check_fn check; /* validates (and may adjust) a plain value */
  opt_set_fn set;     /* overrides the plain field store */
  opt_query_fn query; /* overrides the plain field read */
};

/* --- buffers ------------------------------------------------------------- */

/* The query buffer protocol: a NULL or short buffer gives
 * ERROR_INSUFFICIENT_BUFFER with the needed size in *len; success sets *len
 * to the bytes written (Wine's test_WinHttpQueryOption: a 5-byte buffer for
 * a DWORD comes back as 4). */
static DWORD put_bytes(void *buf, DWORD *len, const void *src, DWORD n)
{
  if (!buf || *len < n) {
    *len = n;
    return ERROR_INSUFFICIENT_BUFFER;
  }
  memcpy(buf, src, n);
  *len = n;
  return ERROR_SUCCESS;
}

static DWORD put_dword(void *buf, DWORD *len, DWORD v)
{
  return put_bytes(buf, len, &v, sizeof(v));
}

/* String options: the needed size counts the terminating NUL, the size
 * returned on success does not; NULL reads as "" (Wine's test_credentials:
 * an unset user name gives an empty string and 0). */
static DWORD put_wstr(void *buf, DWORD *len, const char *utf8)
{
  size_t n8 = utf8 ? strlen(utf8) : 0;
  size_t cch = wh_wide_len_of_utf8(utf8 ? utf8 : "", n8);
  if (cch >= 0xFFFFFFFFu / sizeof(WCHAR))
    return ERROR_NOT_ENOUGH_MEMORY;
  DWORD need = (DWORD)((cch + 1) * sizeof(WCHAR));
  if (!buf || *len < need) {
    *len = need;
    return ERROR_INSUFFICIENT_BUFFER;
  }
  WCHAR *tmp = wh_malloc((cch + 1) * sizeof(WCHAR));
  if (!tmp)
    return ERROR_NOT_ENOUGH_MEMORY;
  wh_wide_from_utf8_buf(utf8 ? utf8 : "", n8, tmp);
  tmp[cch] = 0;
  memcpy(buf, tmp, need); /* |buf| may be unaligned */
  wh_free(tmp);
  *len = (DWORD)(cch * sizeof(WCHAR));
  return ERROR_SUCCESS;
}

static DWORD get_dword(const void *buf)
{
  DWORD v;
  memcpy(&v, buf, sizeof(v));
  return v;
}

/* A string option's set buffer: |len| counts WCHARs (Microsoft's
 * WinHttpSetOption; Wine's test_credentials passes lstrlenW), and for
 * USER_AGENT Microsoft says the count includes the NUL, so the string ends
 * at the first NUL within |len|. NULL with 0 clears (*out = NULL). */
static DWORD get_wstr(const void *buf, DWORD len, char **out)
{
  *out = NULL;
  if (!buf)
    return ERROR_SUCCESS;
  const WCHAR *w = buf;
  size_t n = 0;
  while (n < len && w[n])
    n++;
  return wh_utf8_from_wide(w, n, out, NULL) ? ERROR_NOT_ENOUGH_MEMORY : ERROR_SUCCESS;
}

/* A copy of the UTF-8 string at *slot taken under |owner|'s lock, so that
 * it can be converted without the lock held. */
static DWORD snapshot_str(struct wh_object *owner, char *const *slot, char **out)
{
  DWORD err = ERROR_SUCCESS;
  pthread_mutex_lock(&owner->lock);
  *out = NULL;
  if (*slot && !(*out = wh_strndup(*slot, strlen(*slot))))
    err = ERROR_NOT_ENOUGH_MEMORY;
  pthread_mutex_unlock(&owner->lock);
  return err;
}

static int has_crlf(const char *s)
{
  return s && strpbrk(s, "\r\n") != NULL;
}

/* --- settings access ----------------------------------------------------- */

/* The settings an option on |o| reads or writes, and the object whose lock
 * guards them. A connection shows its session's current values: Wine's
 * test_timeouts ("Changing timeout values for session should affect the
 * values for connection"). NULL for a handle type without settings. */
static struct wh_settings *settings_of(struct wh_object *o, struct wh_object **owner)
{
  switch (o->type) {
  case WH_SESSION:
    *owner = o;
    return &wh_session_of(o)->settings;
  case WH_CONNECT: {
    struct wh_session *s = wh_connect_of(o)->session;
    *owner = &s->hdr;
    return &s->settings;
  }
  case WH_REQUEST:
    *owner = o;
    return &wh_request_of(o)->settings;
  case WH_WEBSOCKET:
    *owner = o;
    return &wh_websocket_of(o)->settings;
  default:
    /* WebSocket handles will carry their request's settings. */
    return NULL;
  }
}

static DWORD store_field(struct wh_object *o, const struct opt_desc *d, DWORD v)
{
  struct wh_object *owner;
  struct wh_settings *s = settings_of(o, &owner);
  if (!s)
    return ERROR_WINHTTP_INCORRECT_HANDLE_TYPE;
  char *p = (char *)s + d->field;
  pthread_mutex_lock(&owner->lock);
  if (d->kind == FK_BOOL) {
    *(bool *)(void *)p = v != 0;
  } else if (d->flags & F_OR) {
    *(DWORD *)(void *)p |= v;
  } else {
    *(DWORD *)(void *)p = v;
  }
  pthread_mutex_unlock(&owner->lock);
  return ERROR_SUCCESS;
}

static DWORD load_field(struct wh_object *o, size_t field, enum field_kind kind, DWORD *v)
{
  struct wh_object *owner;
  struct wh_settings *s = settings_of(o, &owner);
  if (!s)
    return ERROR_WINHTTP_INCORRECT_HANDLE_TYPE;
  const char *p = (const char *)s + field;
  pthread_mutex_lock(&owner->lock);
  *v = kind == FK_BOOL ? (DWORD) * (const bool *)(const void *)p : *(const DWORD *)(const void *)p;
  pthread_mutex_unlock(&owner->lock);
  return ERROR_SUCCESS;
}

/* --- value checks -------------------------------------------------------- */

static DWORD check_redirect_policy(struct wh_object *o, DWORD *v)
{
  (void)o;
  return *v > WINHTTP_OPTION_REDIRECT_POLICY_LAST ? ERROR_INVALID_PARAMETER : ERROR_SUCCESS;
}

/* Set: only the four IGNORE bits (Wine's test_secure_connection: SECURE and
 * STRENGTH_STRONG are refused on Windows). */
static DWORD check_security_flags(struct wh_object *o, DWORD *v)
{
  (void)o;
  return (*v & ~(DWORD)SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS) ? ERROR_INVALID_PARAMETER
                                                             : ERROR_SUCCESS;
}

#define SECURE_PROTOCOLS_KNOWN                                                          \
  (WINHTTP_FLAG_SECURE_PROTOCOL_SSL2 | WINHTTP_FLAG_SECURE_PROTOCOL_SSL3 |             \
   WINHTTP_FLAG_SECURE_PROTOCOL_TLS1 | WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_1 |           \
   WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2 | WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3)

static DWORD check_secure_protocols(struct wh_object *o, DWORD *v)
{
  (void)o;
  return (*v & ~(DWORD)SECURE_PROTOCOLS_KNOWN) ? ERROR_INVALID_PARAMETER : ERROR_SUCCESS;
}

static DWORD check_decompression(struct wh_object *o, DWORD *v)
{
  (void)o;
  return (*v & ~(DWORD)WINHTTP_DECOMPRESSION_FLAG_ALL) ? ERROR_INVALID_PARAMETER
                                                       : ERROR_SUCCESS;
}

static DWORD check_http_protocol(struct wh_object *o, DWORD *v)
{
  (void)o;
  return (*v & ~(DWORD)WINHTTP_PROTOCOL_MASK) ? ERROR_INVALID_PARAMETER : ERROR_SUCCESS;
}

/* HTTP2_KEEPALIVE: 0 (none) or an interval of at least a second (a shorter
 * one would flood the server with PINGs; Windows documents no bounds). */
static DWORD check_h2_keepalive(struct wh_object *o, DWORD *v)
{
  (void)o;
  return *v != 0 && *v < 1000 ? ERROR_INVALID_PARAMETER : ERROR_SUCCESS;
}

/* HTTP2_RECEIVE_WINDOW: a stream window HTTP/2 allows (RFC 9113 §6.9.2:
 * at least the initial 65,535, at most 2^31-1). */
static DWORD check_h2_window(struct wh_object *o, DWORD *v)
{
  (void)o;
  return *v < 65535u || *v > 0x7FFFFFFFu ? ERROR_INVALID_PARAMETER : ERROR_SUCCESS;
}

static DWORD check_autologon(struct wh_object *o, DWORD *v)
{
  (void)o;
  return *v > WINHTTP_AUTOLOGON_SECURITY_LEVEL_MAX ? ERROR_INVALID_PARAMETER : ERROR_SUCCESS;
}

static DWORD check_spn(struct wh_object *o, DWORD *v)
{
  (void)o;
  return (*v & ~(DWORD)WINHTTP_OPTION_SPN_MASK) ? ERROR_INVALID_PARAMETER : ERROR_SUCCESS;
}

/* "When this option is set to zero, WinHTTP sets the limit on the number of
 * connections to 2." */
/* winhttp_ext.h: known bits only, and a window of 8 to 15 bits or none. */
static DWORD check_ws_deflate(struct wh_object *o, DWORD *v)
{
  (void)o;
  unsigned bits = (*v >> 8) & 0xFu;
  if ((*v & ~(DWORD)WINHTTP_EXT_WEB_SOCKET_DEFLATE_MASK) || (bits && bits < 8))
    return ERROR_INVALID_PARAMETER;
  return ERROR_SUCCESS;
}

static DWORD check_max_conns(struct wh_object *o, DWORD *v)
{
  (void)o;
  if (*v == 0)
    *v = 2;
  return ERROR_SUCCESS;
}

/* Request URLs are always converted to UTF-8 (the documented default);
 * other code pages are not implemented, so they are refused rather than
 * silently ignored (COMPAT). */
static DWORD check_codepage(struct wh_object *o, DWORD *v)
{
  (void)o;
  return *v == 65001u /* CP_UTF8 */ ? ERROR_SUCCESS : ERROR_INVALID_PARAMETER;
}

/* --- handlers: any handle ------------------------------------------------ */

static DWORD q_handle_type(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  return put_dword(buf, len, (DWORD)o->type);
}

/* A session has no parent: NULL. The parent's value stays the one it was
 * issued with, even once that handle is closed (the object lives on while
 * a child holds it). */
static DWORD q_parent(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  HINTERNET p = o->parent ? o->parent->handle : NULL;
  return put_bytes(buf, len, &p, sizeof(p));
}

static DWORD q_callback(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  WINHTTP_STATUS_CALLBACK cb = atomic_load_explicit(&o->callback, memory_order_acquire);
  return put_bytes(buf, len, &cb, sizeof(cb));
}

static DWORD s_context(struct wh_object *o, const struct opt_desc *d, const void *buf, DWORD len)
{
  (void)d;
  (void)len;
  DWORD_PTR v;
  memcpy(&v, buf, sizeof(v));
  atomic_store_explicit(&o->context, v, memory_order_release);
  return ERROR_SUCCESS;
}

static DWORD q_context(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  DWORD_PTR v = atomic_load_explicit(&o->context, memory_order_acquire);
  return put_bytes(buf, len, &v, sizeof(v));
}

/* 0 = "as many as there are CPUs", the documented default; Wine's
 * test_WinHttpQueryOption reads 0 on every handle type on Windows. */
static DWORD q_worker_threads(struct wh_object *o, const struct opt_desc *d, void *buf,
                              DWORD *len)
{
  (void)o;
  (void)d;
  return put_dword(buf, len, 0);
}

/* Options that describe a connection: before a request is sent there is
 * none (Wine's test_connection_info: CONNECTION_INFO before send gives
 * ERROR_WINHTTP_INCORRECT_HANDLE_STATE on Windows). */
static DWORD q_needs_connection(struct wh_object *o, const struct opt_desc *d, void *buf,
                                DWORD *len)
{
  (void)o;
  (void)d;
  (void)buf;
  (void)len;
  return ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
}

/* The connection options read the facts the engine published
 * (core/exchange.h) under the request's lock. */
static DWORD q_connection_info(struct wh_object *o, const struct opt_desc *d, void *buf,
                               DWORD *len)
{
  (void)d;
  struct wh_request *r = wh_request_of(o);
  WINHTTP_CONNECTION_INFO ci;
  memset(&ci, 0, sizeof(ci));
  pthread_mutex_lock(&o->lock);
  bool ok = r->facts.connected;
  if (ok) {
    ci.cbSize = sizeof(ci);
    memcpy(&ci.LocalAddress, &r->facts.local.sa, sizeof(ci.LocalAddress));
    memcpy(&ci.RemoteAddress, &r->facts.remote.sa, sizeof(ci.RemoteAddress));
  }
  pthread_mutex_unlock(&o->lock);
  if (!ok)
    return ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  return put_bytes(buf, len, &ci, sizeof(ci));
}

static DWORD q_server_cert(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  struct wh_request *r = wh_request_of(o);
  PCCERT_CONTEXT ctx = NULL;
  DWORD err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  pthread_mutex_lock(&o->lock);
  /* No connection is a state error whatever the buffer (Wine's tests). */
  bool have = r->facts.secure && r->facts.cert;
  if (have && (!buf || *len < sizeof(PCCERT_CONTEXT))) {
    *len = sizeof(PCCERT_CONTEXT);
    err = ERROR_INSUFFICIENT_BUFFER;
  } else if (have) {
    /* A new context each time: the caller frees it with
     * CertFreeCertificateContext. */
    ctx = wh_cert_context_new(r->facts.cert->bytes, r->facts.cert->len);
    err = ctx ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
  }
  pthread_mutex_unlock(&o->lock);
  if (err != ERROR_SUCCESS)
    return err;
  memcpy(buf, &ctx, sizeof(ctx));
  *len = sizeof(ctx);
  return ERROR_SUCCESS;
}

static DWORD q_key_bitness(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  struct wh_request *r = wh_request_of(o);
  pthread_mutex_lock(&o->lock);
  bool ok = r->facts.secure && r->facts.connected;
  DWORD bits = r->facts.key_bits;
  pthread_mutex_unlock(&o->lock);
  return ok ? put_dword(buf, len, bits) : ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
}

/* WINHTTP_CERTIFICATE_INFO from the published certificate; the strings are
 * the caller's to LocalFree (Wine's test_secure_connection, on Windows). */
static DWORD q_cert_struct(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  struct wh_request *r = wh_request_of(o);
  WINHTTP_CERTIFICATE_INFO info;
  DWORD err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  pthread_mutex_lock(&o->lock);
  bool have = r->facts.secure && r->facts.cert;
  if (have && (!buf || *len < sizeof(info))) {
    *len = sizeof(info);
    err = ERROR_INSUFFICIENT_BUFFER;
  } else if (have) {
    err = wh_certinfo_from_der(r->facts.cert->bytes, r->facts.cert->len, r->facts.key_bits, &info);
  }
  pthread_mutex_unlock(&o->lock);
  if (err != ERROR_SUCCESS)
    return err;
  memcpy(buf, &info, sizeof(info));
  *len = sizeof(info);
  return ERROR_SUCCESS;
}

/* The ignore flags the caller set, plus, once a secure connection exists,
 * SECURITY_FLAG_SECURE and the cipher strength (Microsoft: "query only"). */
static DWORD q_security_flags(struct wh_object *o, const struct opt_desc *d, void *buf,
                              DWORD *len)
{
  (void)d;
  struct wh_request *r = wh_request_of(o);
  pthread_mutex_lock(&o->lock);
  DWORD v = r->settings.security_flags;
  if (r->facts.secure && r->facts.connected) {
    DWORD bits = r->facts.key_bits;
    v |= SECURITY_FLAG_SECURE | (bits >= 128  ? SECURITY_FLAG_STRENGTH_STRONG
                                 : bits >= 56 ? SECURITY_FLAG_STRENGTH_MEDIUM
                                              : SECURITY_FLAG_STRENGTH_WEAK);
  }
  pthread_mutex_unlock(&o->lock);
  return put_dword(buf, len, v);
}

/* WINHTTP_PROTOCOL_FLAG_HTTP2 when the response came over HTTP/2, 0 for
 * HTTP/1.x. */
static DWORD q_protocol_used(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  pthread_mutex_lock(&o->lock);
  bool sent = wh_request_of(o)->facts.sent;
  bool h2 = wh_request_of(o)->facts.h2;
  pthread_mutex_unlock(&o->lock);
  return sent ? put_dword(buf, len, h2 ? WINHTTP_PROTOCOL_FLAG_HTTP2 : 0)
              : ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
}

/* TRUE when the response is the proxy's answer to a tunnel's CONNECT
 * (core/h1_stream.c), not the origin's. */
static DWORD q_is_proxy_connect(struct wh_object *o, const struct opt_desc *d, void *buf,
                                DWORD *len)
{
  (void)d;
  pthread_mutex_lock(&o->lock);
  bool sent = wh_request_of(o)->facts.sent;
  bool answer = wh_request_of(o)->facts.proxy_answer;
  pthread_mutex_unlock(&o->lock);
  return sent ? put_dword(buf, len, answer ? TRUE : FALSE) : ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
}

/* The error code of the RST_STREAM (or GOAWAY) that ended the request's
 * HTTP/2 stream; 0 when none did. */
static DWORD q_stream_error(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  struct wh_request *r = wh_request_of(o);
  pthread_mutex_lock(&o->lock);
  bool sent = r->facts.sent;
  pthread_mutex_unlock(&o->lock);
  return sent ? put_dword(buf, len, atomic_load(&r->x.stream_error))
              : ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
}

/* The errno behind the last network failure of the request (COMPAT: Windows
 * reports a Winsock code). Sessions have no connection of their own. */
static DWORD q_extended_error(struct wh_object *o, const struct opt_desc *d, void *buf,
                              DWORD *len)
{
  if (o->type != WH_REQUEST)
    return q_needs_connection(o, d, buf, len);
  pthread_mutex_lock(&o->lock);
  bool sent = wh_request_of(o)->facts.sent;
  DWORD v = (DWORD)wh_request_of(o)->facts.last_errno;
  pthread_mutex_unlock(&o->lock);
  return sent ? put_dword(buf, len, v) : ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
}

/* --- handlers: settings with special rules ------------------------------- */

/* On Windows the receive-response timeout reads back as at least the
 * receive timeout: Wine's test_timeouts (on Windows, todo_wine in Wine)
 * sets it to 30000 on a request whose receive timeout is 0xbeefdead and
 * reads 0xbeefdead, and sets 48878 on a session whose receive timeout is
 * 48879 and reads 48879, while 48880 reads 48880. */
static DWORD q_receive_response_timeout(struct wh_object *o, const struct opt_desc *d,
                                        void *buf, DWORD *len)
{
  (void)d;
  DWORD rr, recv;
  DWORD err = load_field(o, offsetof(struct wh_settings, receive_response_timeout), FK_DWORD, &rr);
  if (err == ERROR_SUCCESS)
    err = load_field(o, offsetof(struct wh_settings, receive_timeout), FK_DWORD, &recv);
  if (err != ERROR_SUCCESS)
    return err;
  return put_dword(buf, len, rr > recv ? rr : recv);
}

/* SSL_REVOCATION is a request feature, SSL_REVERT_IMPERSONATION a session
 * one ("Option Flags"); anything else, and any length but a DWORD's, is
 * ERROR_INVALID_PARAMETER (Wine's test_WinHttpQueryOption: a 0 length and
 * 0xdeadbeef are refused on Windows). There is no impersonation on Linux:
 * REVERT_IMPERSONATION is accepted and changes nothing. */
static DWORD s_enable_feature(struct wh_object *o, const struct opt_desc *d, const void *buf,
                              DWORD len)
{
  if (len != sizeof(DWORD))
    return ERROR_INVALID_PARAMETER;
  DWORD v = get_dword(buf);
  DWORD allowed = o->type == WH_REQUEST ? WINHTTP_ENABLE_SSL_REVOCATION
                                        : WINHTTP_ENABLE_SSL_REVERT_IMPERSONATION;
  if (v != allowed)
    return ERROR_INVALID_PARAMETER;
  return store_field(o, d, v);
}

/* Microsoft: below 15000 (WINHTTP_WEB_SOCKET_MIN_KEEPALIVE_VALUE) is
 * ERROR_INVALID_PARAMETER; Wine's test_websocket: so are lengths 2 and 8. */
static DWORD s_ws_keepalive(struct wh_object *o, const struct opt_desc *d, const void *buf,
                            DWORD len)
{
  if (len != sizeof(DWORD) || get_dword(buf) < WINHTTP_WEB_SOCKET_MIN_KEEPALIVE_VALUE)
    return ERROR_INVALID_PARAMETER;
  return store_field(o, d, get_dword(buf));
}

/* Options that take no value (UPGRADE_TO_WEB_SOCKET, EXPIRE_CONNECTION):
 * the buffer is not looked at (Wine's test_websocket passes NULL, 0). */
static DWORD s_flag_on(struct wh_object *o, const struct opt_desc *d, const void *buf,
                       DWORD len)
{
  (void)buf;
  (void)len;
  return store_field(o, d, 1);
}

/* Needs a Win32 event object, which does not exist on Linux. */
static DWORD s_not_implemented(struct wh_object *o, const struct opt_desc *d, const void *buf,
                               DWORD len)
{
  (void)o;
  (void)d;
  (void)buf;
  (void)len;
  return ERROR_CALL_NOT_IMPLEMENTED;
}

/* Only on an https request (Wine's test_secure_connection: a plain request
 * gives ERROR_WINHTTP_INCORRECT_HANDLE_STATE on Windows). The buffer is the
 * CERT_CONTEXT itself (Microsoft's sample passes pCertContext and
 * sizeof(CERT_CONTEXT); the length is not looked at). The request keeps a
 * duplicate, so the caller may free its context and close its store at
 * once ("WinHttp calls CertDuplicateCertificateContext on the
 * caller-provided certificate context"). NULL (WINHTTP_NO_CLIENT_CERT_CONTEXT)
 * means "I have none": a server's request for one is answered without.
 * A context this library did not make gives ERROR_INVALID_PARAMETER; one
 * without a private key fails the send (CLIENT_CERT_NO_PRIVATE_KEY). */
static DWORD s_client_cert(struct wh_object *o, const struct opt_desc *d, const void *buf,
                           DWORD len)
{
  (void)d;
  (void)len;
  struct wh_request *r = wh_request_of(o);
  if (!(r->open_flags & WINHTTP_FLAG_SECURE))
    return ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  PCCERT_CONTEXT dup = NULL;
  if (buf && !(dup = CertDuplicateCertificateContext(buf)))
    return ERROR_INVALID_PARAMETER;
  pthread_mutex_lock(&o->lock);
  PCCERT_CONTEXT old = r->opts.client_cert;
  r->opts.client_cert = dup;
  r->settings.no_client_cert = dup == NULL;
  pthread_mutex_unlock(&o->lock);
  CertFreeCertificateContext(old);
  return ERROR_SUCCESS;
}

/* A SecPkgContext_IssuerListInfoEx in one GlobalAlloc'd block (the
 * structure, the CERT_NAME_BLOBs, the names' DER) whose address is written
 * to the buffer: the caller frees it with GlobalFree (Microsoft's "SSL in
 * WinHTTP"). Only after a send failed with CLIENT_AUTH_CERT_NEEDED;
 * otherwise ERROR_WINHTTP_INCORRECT_HANDLE_STATE, as before any send. */
static DWORD q_issuer_list(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  struct wh_request *r = wh_request_of(o);
  pthread_mutex_lock(&o->lock);
  struct wh_blob *names = wh_blob_ref(r->facts.issuers);
  pthread_mutex_unlock(&o->lock);
  if (!names)
    return ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  DWORD err = ERROR_SUCCESS;
  if (!buf || *len < sizeof(SecPkgContext_IssuerListInfoEx *)) {
    *len = sizeof(SecPkgContext_IssuerListInfoEx *);
    err = ERROR_INSUFFICIENT_BUFFER;
  }
  /* The blob: per name a 4-byte big-endian length, then the DER (net/conn.h). */
  size_t count = 0, bytes = 0;
  for (size_t off = 0; err == ERROR_SUCCESS && off + 4 <= names->len;) {
    const unsigned char *p = names->bytes + off;
    size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (n > names->len - off - 4)
      break;
    count++;
    bytes += n;
    off += 4 + n;
  }
  SecPkgContext_IssuerListInfoEx *list = NULL;
  if (err == ERROR_SUCCESS) {
    list = GlobalAlloc(GMEM_FIXED | GMEM_ZEROINIT,
                       sizeof(*list) + count * sizeof(CERT_NAME_BLOB) + bytes);
    err = list ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
  }
  if (err == ERROR_SUCCESS) {
    CERT_NAME_BLOB *blobs = (CERT_NAME_BLOB *)(void *)(list + 1);
    BYTE *der = (BYTE *)(blobs + count);
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
      const unsigned char *p = names->bytes + off;
      size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
      memcpy(der, p + 4, n);
      blobs[i].cbData = (DWORD)n;
      blobs[i].pbData = der;
      der += n;
      off += 4 + n;
    }
    list->aIssuers = count ? blobs : NULL;
    list->cIssuers = (DWORD)count;
    memcpy(buf, &list, sizeof(list));
    *len = sizeof(list);
  }
  wh_blob_unref(names);
  return err;
}

/* --- handlers: strings --------------------------------------------------- */

/* The request's slot for one of the four credential options. */
static char **cred_slot(struct wh_request *r, DWORD id)
{
  switch (id) {
  case WINHTTP_OPTION_USERNAME:
    return &r->opts.username;
  case WINHTTP_OPTION_PASSWORD:
    return &r->opts.password;
  case WINHTTP_OPTION_PROXY_USERNAME:
    return &r->opts.proxy_username;
  default:
    return &r->opts.proxy_password;
  }
}

static int cred_is_secret(DWORD id)
{
  return id == WINHTTP_OPTION_PASSWORD || id == WINHTTP_OPTION_PROXY_PASSWORD;
}

static DWORD s_cred(struct wh_object *o, const struct opt_desc *d, const void *buf, DWORD len)
{
  char *v;
  DWORD err = get_wstr(buf, len, &v);
  if (err != ERROR_SUCCESS)
    return err;
  pthread_mutex_lock(&o->lock);
  char **slot = cred_slot(wh_request_of(o), d->id);
  char *old = *slot;
  *slot = v;
  pthread_mutex_unlock(&o->lock);
  if (cred_is_secret(d->id))
    wh_secret_free(old);
  else
    wh_free(old);
  return ERROR_SUCCESS;
}

static DWORD q_cred(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  char *v;
  DWORD err = snapshot_str(o, cred_slot(wh_request_of(o), d->id), &v);
  if (err == ERROR_SUCCESS)
    err = put_wstr(buf, len, v);
  if (cred_is_secret(d->id))
    wh_secret_free(v);
  else
    wh_free(v);
  return err;
}

/* The agent ends up in the User-Agent header line, so CR and LF are
 * refused (COMPAT: Windows documents no check). */
static DWORD s_user_agent(struct wh_object *o, const struct opt_desc *d, const void *buf,
                          DWORD len)
{
  (void)d;
  char *v;
  DWORD err = get_wstr(buf, len, &v);
  if (err != ERROR_SUCCESS)
    return err;
  if (has_crlf(v)) {
    wh_free(v);
    return ERROR_INVALID_PARAMETER;
  }
  struct wh_session *s = wh_session_of(o);
  pthread_mutex_lock(&o->lock);
  char *old = s->agent;
  s->agent = v;
  pthread_mutex_unlock(&o->lock);
  wh_free(old);
  return ERROR_SUCCESS;
}

static DWORD q_user_agent(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  char *v;
  DWORD err = snapshot_str(o, &wh_session_of(o)->agent, &v);
  if (err == ERROR_SUCCESS)
    err = put_wstr(buf, len, v);
  wh_free(v);
  return err;
}

/* Appends |n| bytes to the growing string at *p (NUL kept at the end). */
static int append(char **p, size_t *used, const char *s, size_t n)
{
  char *q = wh_realloc(*p, *used + n + 1);
  if (!q)
    return -1;
  memcpy(q + *used, s, n);
  *used += n;
  q[*used] = 0;
  *p = q;
  return 0;
}

/* scheme://host[:port]path, the port left out when it is the scheme's
 * default and IPv6 literals bracketed. Before any redirect this is the
 * URL the request was opened for. */
static DWORD build_url(struct wh_request *r, char **out)
{
  /* After a send the target may have moved (redirects): the engine's facts
   * say where the request went last. */
  bool moved = r->facts.host[0] != '\0';
  int secure = moved ? r->facts.secure : (r->open_flags & WINHTTP_FLAG_SECURE) != 0;
  const char *host = moved ? r->facts.host : r->connect->server;
  unsigned port_no = moved ? r->facts.port : r->port;
  int v6 = strchr(host, ':') != NULL && host[0] != '[';
  char port[16] = "";
  if (port_no != (secure ? INTERNET_DEFAULT_HTTPS_PORT : INTERNET_DEFAULT_HTTP_PORT)) {
    unsigned p = port_no;
    char digits[8];
    size_t k = 0;
    do {
      digits[k++] = (char)('0' + p % 10);
      p /= 10;
    } while (p);
    port[0] = ':';
    for (size_t i = 0; i < k; i++)
      port[1 + i] = digits[k - 1 - i];
    port[1 + k] = 0;
  }
  char *u = NULL;
  size_t used = 0;
  const char *scheme = secure ? "https://" : "http://";
  int bad = append(&u, &used, scheme, strlen(scheme)) ||
            (v6 && append(&u, &used, "[", 1)) || append(&u, &used, host, strlen(host)) ||
            (v6 && append(&u, &used, "]", 1)) || append(&u, &used, port, strlen(port)) ||
            append(&u, &used, r->path, strlen(r->path));
  if (bad) {
    wh_free(u);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  *out = u;
  return ERROR_SUCCESS;
}

/* The service principal the last NTLM or Negotiate handshake asked for,
 * "HTTP/host" (core/credentials.c); an empty string before any. */
static DWORD q_spn_used(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  int t = d->id == WINHTTP_OPTION_PROXY_SPN_USED ? 1 : 0;
  char *v;
  DWORD err = snapshot_str(o, &wh_request_of(o)->x.spn_used[t], &v);
  if (err == ERROR_SUCCESS)
    err = put_wstr(buf, len, v ? v : "");
  wh_free(v);
  return err;
}

static DWORD q_url(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  char *url;
  pthread_mutex_lock(&o->lock);
  DWORD err = build_url(wh_request_of(o), &url);
  pthread_mutex_unlock(&o->lock);
  if (err != ERROR_SUCCESS)
    return err;
  err = put_wstr(buf, len, url);
  wh_free(url);
  return err;
}

/* --- handlers: WINHTTP_OPTION_PROXY -------------------------------------- */

struct proxy_cfg {
  DWORD access;
  char *proxy;
  char *bypass;
};

static void proxy_cfg_free(struct proxy_cfg *p)
{
  wh_free(p->proxy);
  wh_free(p->bypass);
  p->proxy = p->bypass = NULL;
}

/* The access types WinHttpOpen accepts. As there, the strings mean
 * something only for a named proxy, which must name one; CR and LF are
 * refused since the proxy may end up in a request line (COMPAT). */
static DWORD parse_proxy_info(const void *buf, DWORD len, struct proxy_cfg *out)
{
  WINHTTP_PROXY_INFO pi;
  memset(out, 0, sizeof(*out));
  if (len < sizeof(pi))
    return ERROR_INSUFFICIENT_BUFFER;
  memcpy(&pi, buf, sizeof(pi));
  switch (pi.dwAccessType) {
  case WINHTTP_ACCESS_TYPE_DEFAULT_PROXY:
  case WINHTTP_ACCESS_TYPE_NO_PROXY:
  case WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY:
    out->access = pi.dwAccessType;
    return ERROR_SUCCESS;
  case WINHTTP_ACCESS_TYPE_NAMED_PROXY:
    break;
  default:
    return ERROR_INVALID_PARAMETER;
  }
  out->access = pi.dwAccessType;
  DWORD err = wh_utf8_opt(pi.lpszProxy, 1, &out->proxy);
  if (err == ERROR_SUCCESS)
    err = wh_utf8_opt(pi.lpszProxyBypass, 0, &out->bypass);
  if (err == ERROR_SUCCESS &&
      (!out->proxy || has_crlf(out->proxy) || has_crlf(out->bypass)))
    err = ERROR_INVALID_PARAMETER;
  if (err != ERROR_SUCCESS)
    proxy_cfg_free(out);
  return err;
}

static DWORD s_proxy(struct wh_object *o, const struct opt_desc *d, const void *buf, DWORD len)
{
  (void)d;
  struct proxy_cfg p;
  DWORD err = parse_proxy_info(buf, len, &p);
  if (err != ERROR_SUCCESS)
    return err;
  pthread_mutex_lock(&o->lock);
  if (o->type == WH_SESSION) {
    struct wh_session *s = wh_session_of(o);
    struct proxy_cfg old = {s->access_type, s->proxy, s->proxy_bypass};
    s->access_type = p.access;
    s->proxy = p.proxy;
    s->proxy_bypass = p.bypass;
    p = old;
  } else {
    struct wh_request_opts *r = &wh_request_of(o)->opts;
    struct proxy_cfg old = {r->proxy_access, r->proxy, r->proxy_bypass};
    r->has_proxy = true;
    r->proxy_access = p.access;
    r->proxy = p.proxy;
    r->proxy_bypass = p.bypass;
    p = old;
  }
  pthread_mutex_unlock(&o->lock);
  proxy_cfg_free(&p);
  return ERROR_SUCCESS;
}

/* The session's configuration, or a request's own if it set one. */
static DWORD snapshot_proxy(struct wh_object *o, struct proxy_cfg *out)
{
  memset(out, 0, sizeof(*out));
  if (o->type == WH_REQUEST) {
    struct wh_request_opts *r = &wh_request_of(o)->opts;
    pthread_mutex_lock(&o->lock);
    int own = r->has_proxy;
    DWORD err = ERROR_SUCCESS;
    if (own) {
      out->access = r->proxy_access;
      if ((r->proxy && !(out->proxy = wh_strndup(r->proxy, strlen(r->proxy)))) ||
          (r->proxy_bypass &&
           !(out->bypass = wh_strndup(r->proxy_bypass, strlen(r->proxy_bypass)))))
        err = ERROR_NOT_ENOUGH_MEMORY;
    }
    pthread_mutex_unlock(&o->lock);
    if (own || err != ERROR_SUCCESS) {
      if (err != ERROR_SUCCESS)
        proxy_cfg_free(out);
      return err;
    }
    o = &wh_request_of(o)->connect->session->hdr;
  }
  struct wh_session *s = wh_session_of(o);
  DWORD err = snapshot_str(o, &s->proxy, &out->proxy);
  if (err == ERROR_SUCCESS)
    err = snapshot_str(o, &s->proxy_bypass, &out->bypass);
  pthread_mutex_lock(&o->lock);
  out->access = s->access_type;
  pthread_mutex_unlock(&o->lock);
  if (err != ERROR_SUCCESS)
    proxy_cfg_free(out);
  return err;
}

/* A GlobalAlloc'd WCHAR copy (the caller frees it with GlobalFree, as
 * Microsoft documents for this option), or NULL for NULL. */
static DWORD global_wstr(const char *s, LPWSTR *out)
{
  *out = NULL;
  if (!s)
    return ERROR_SUCCESS;
  size_t cch = wh_wide_len_of_utf8(s, strlen(s));
  WCHAR *w = GlobalAlloc(GMEM_FIXED, (cch + 1) * sizeof(WCHAR));
  if (!w)
    return ERROR_NOT_ENOUGH_MEMORY;
  wh_wide_from_utf8_buf(s, strlen(s), w);
  w[cch] = 0;
  *out = w;
  return ERROR_SUCCESS;
}

static DWORD q_proxy(struct wh_object *o, const struct opt_desc *d, void *buf, DWORD *len)
{
  (void)d;
  WINHTTP_PROXY_INFO pi;
  if (!buf || *len < sizeof(pi)) {
    *len = sizeof(pi);
    return ERROR_INSUFFICIENT_BUFFER;
  }
  struct proxy_cfg p;
  DWORD err = snapshot_proxy(o, &p);
  if (err != ERROR_SUCCESS)
    return err;
  memset(&pi, 0, sizeof(pi));
  pi.dwAccessType = p.access;
  err = global_wstr(p.proxy, &pi.lpszProxy);
  if (err == ERROR_SUCCESS)
    err = global_wstr(p.bypass, &pi.lpszProxyBypass);
  proxy_cfg_free(&p);
  if (err != ERROR_SUCCESS) {
    GlobalFree(pi.lpszProxy);
    return err;
  }
  memcpy(buf, &pi, sizeof(pi));
  *len = sizeof(pi);
  return ERROR_SUCCESS;
}

/* --- the table ----------------------------------------------------------- */

#define FLD(f) offsetof(struct wh_settings, f)

/* A plain DWORD setting, settable on |s| and queryable on |q|. */
#define DW(id, s, q, fl, f, chk) {id, s, q, fl, SZ_DWORD, FK_DWORD, FLD(f), chk, NULL, NULL}
/* A timeout: the length is only checked to hold a DWORD. */
#define TMO(id, f) {id, H_S | H_R, H_TIMEOUT_Q, 0, SZ_DWORD_MIN, FK_DWORD, FLD(f), NULL, NULL, NULL}
/* A write-only BOOL setting. */
#define BL(id, s, f) {id, s, 0, F_WO, SZ_DWORD, FK_BOOL, FLD(f), NULL, NULL, NULL}
/* Handled entirely by |set| and/or |query|. */
#define FN(id, s, q, fl, sz, setf, qf) {id, s, q, fl, sz, FK_NONE, 0, NULL, setf, qf}
/* Handled by |set|, which stores into field |f| of kind |k|. */
#define FNF(id, s, fl, k, f, setf) {id, s, 0, fl, SZ_FREE, k, FLD(f), NULL, setf, NULL}
/* Read-only, answered by |qf|. */
#define RO(id, q, qf) {id, 0, q, F_RO, SZ_FREE, FK_NONE, 0, NULL, NULL, qf}

static const struct opt_desc options[] = {
  RO(WINHTTP_OPTION_CALLBACK, H_ANY, q_callback),
  TMO(WINHTTP_OPTION_RESOLVE_TIMEOUT, resolve_timeout),
  TMO(WINHTTP_OPTION_CONNECT_TIMEOUT, connect_timeout),
  DW(WINHTTP_OPTION_CONNECT_RETRIES, H_S | H_R, H_S | H_R, 0, connect_retries, NULL),
  TMO(WINHTTP_OPTION_SEND_TIMEOUT, send_timeout),
  TMO(WINHTTP_OPTION_RECEIVE_TIMEOUT, receive_timeout),
  {WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, H_S | H_R, H_TIMEOUT_Q, 0, SZ_DWORD_MIN, FK_DWORD,
   FLD(receive_response_timeout), NULL, NULL, q_receive_response_timeout},
  RO(WINHTTP_OPTION_HANDLE_TYPE, H_ANY, q_handle_type),
  RO(WINHTTP_OPTION_PARENT_HANDLE, H_ANY, q_parent),
  RO(WINHTTP_OPTION_EXTENDED_ERROR, H_S | H_R, q_extended_error),
  {WINHTTP_OPTION_SECURITY_FLAGS, H_R, H_R, 0, SZ_DWORD, FK_DWORD, FLD(security_flags),
   check_security_flags, NULL, q_security_flags},
  RO(WINHTTP_OPTION_SECURITY_CERTIFICATE_STRUCT, H_R, q_cert_struct),
  RO(WINHTTP_OPTION_URL, H_R, q_url),
  RO(WINHTTP_OPTION_SERVER_SPN_USED, H_R, q_spn_used),
  RO(WINHTTP_OPTION_PROXY_SPN_USED, H_R, q_spn_used),
  RO(WINHTTP_OPTION_SECURITY_KEY_BITNESS, H_R, q_key_bitness),
  FN(WINHTTP_OPTION_PROXY, H_S | H_R, H_S | H_R, 0, SZ_FREE, s_proxy, q_proxy),
  FN(WINHTTP_OPTION_USER_AGENT, H_S, H_S, 0, SZ_FREE, s_user_agent, q_user_agent),
  FN(WINHTTP_OPTION_CONTEXT_VALUE, H_ANY, H_ANY, 0, SZ_PTR, s_context, q_context),
  FN(WINHTTP_OPTION_CLIENT_CERT_CONTEXT, H_R, 0, F_WO, SZ_FREE, s_client_cert, NULL),
  DW(WINHTTP_OPTION_DISABLE_FEATURE, H_R, 0, F_WO | F_OR, disabled_features, NULL),
  DW(WINHTTP_OPTION_CODEPAGE, H_S, 0, F_WO, codepage, check_codepage),
  DW(WINHTTP_OPTION_MAX_CONNS_PER_SERVER, H_S, H_S, 0, max_conns_per_server, check_max_conns),
  DW(WINHTTP_OPTION_MAX_CONNS_PER_1_0_SERVER, H_S, H_S, 0, max_conns_per_1_0_server,
     check_max_conns),
  DW(WINHTTP_OPTION_AUTOLOGON_POLICY, H_R, 0, F_WO, autologon_policy, check_autologon),
  RO(WINHTTP_OPTION_SERVER_CERT_CONTEXT, H_R, q_server_cert),
  FNF(WINHTTP_OPTION_ENABLE_FEATURE, H_S | H_R, F_WO | F_OR, FK_DWORD, enabled_features,
      s_enable_feature),
  /* Settable only on a NULL handle, before any asynchronous work
   * ("Option Flags"); a NULL handle is ERROR_INVALID_HANDLE here. */
  FN(WINHTTP_OPTION_WORKER_THREAD_COUNT, 0, H_ANY, 0, SZ_DWORD, NULL, q_worker_threads),
  DW(WINHTTP_OPTION_SECURE_PROTOCOLS, H_S, 0, F_WO, secure_protocols, check_secure_protocols),
  DW(WINHTTP_OPTION_REDIRECT_POLICY, H_S | H_R, H_S | H_R, 0, redirect_policy,
     check_redirect_policy),
  DW(WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS, H_S | H_R, H_S | H_R, 0, max_redirects, NULL),
  DW(WINHTTP_OPTION_MAX_HTTP_STATUS_CONTINUE, H_S | H_R, H_S | H_R, 0, max_status_continue,
     NULL),
  DW(WINHTTP_OPTION_MAX_RESPONSE_HEADER_SIZE, H_S | H_R, H_S | H_R, 0,
     max_response_header_size, NULL),
  DW(WINHTTP_OPTION_MAX_RESPONSE_DRAIN_SIZE, H_S | H_R, H_S | H_R, 0, max_response_drain_size,
     NULL),
  RO(WINHTTP_OPTION_CONNECTION_INFO, H_R, q_connection_info),
  RO(WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST, H_R, q_issuer_list),
  DW(WINHTTP_OPTION_SPN, H_R, 0, F_WO, spn, check_spn),
  FN(WINHTTP_OPTION_UNLOAD_NOTIFY_EVENT, H_S, 0, F_WO, SZ_FREE, s_not_implemented, NULL),
  BL(WINHTTP_OPTION_REJECT_USERPWD_IN_URL, H_R, reject_userpwd_in_url),
  BL(WINHTTP_OPTION_ASSURED_NON_BLOCKING_CALLBACKS, H_S, assured_non_blocking_callbacks),
  FNF(WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, H_R, F_WO, FK_BOOL, upgrade_to_websocket,
      s_flag_on),
  DW(WINHTTP_OPTION_WEB_SOCKET_CLOSE_TIMEOUT, H_S | H_R | H_W, H_S | H_R | H_W, 0,
     ws_close_timeout, NULL),
  DW(WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, H_S | H_R, H_S | H_R, 0, ws_deflate,
     check_ws_deflate),
  FNF(WINHTTP_OPTION_WEB_SOCKET_KEEPALIVE_INTERVAL, H_W, F_WO, FK_DWORD, ws_keepalive_interval,
      s_ws_keepalive),
  DW(WINHTTP_OPTION_DECOMPRESSION, H_S | H_R, 0, F_WO, decompression, check_decompression),
  DW(WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE, H_S | H_R, H_S | H_R, 0,
     ws_receive_buffer_size, NULL),
  DW(WINHTTP_OPTION_WEB_SOCKET_SEND_BUFFER_SIZE, H_S | H_R, H_S | H_R, 0, ws_send_buffer_size,
     NULL),
  DW(WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, H_S | H_R, 0, F_WO, enable_http_protocol,
     check_http_protocol),
  RO(WINHTTP_OPTION_HTTP_PROTOCOL_USED, H_R, q_protocol_used),
  RO(WINHTTP_OPTION_STREAM_ERROR_CODE, H_R, q_stream_error),
  RO(WINHTTP_OPTION_IS_PROXY_CONNECT_RESPONSE, H_R, q_is_proxy_connect),
  BL(WINHTTP_OPTION_RECEIVE_PROXY_CONNECT_RESPONSE, H_R, receive_proxy_connect_response),
  BL(WINHTTP_OPTION_REQUIRE_STREAM_END, H_S | H_R, require_stream_end),
  BL(WINHTTP_OPTION_HTTP2_PLUS_TRANSFER_ENCODING, H_S | H_R, http2_plus_te),
  BL(WINHTTP_OPTION_ENABLE_HTTP2_PLUS_CLIENT_CERT, H_S | H_R, http2_plus_client_cert),
  DW(WINHTTP_OPTION_HTTP2_RECEIVE_WINDOW, H_S | H_R, 0, F_WO, http2_receive_window,
     check_h2_window),
  DW(WINHTTP_OPTION_HTTP2_KEEPALIVE, H_S, 0, F_WO, http2_keepalive, check_h2_keepalive),
  BL(WINHTTP_OPTION_DISABLE_STREAM_QUEUE, H_S | H_R, disable_stream_queue),
  BL(WINHTTP_OPTION_IPV6_FAST_FALLBACK, H_S, ipv6_fast_fallback),
  FNF(WINHTTP_OPTION_EXPIRE_CONNECTION, H_R, F_WO, FK_BOOL, expire_connection, s_flag_on),
  BL(WINHTTP_OPTION_DISABLE_SECURE_PROTOCOL_FALLBACK, H_S, disable_secure_protocol_fallback),
  BL(WINHTTP_OPTION_HTTP_PROTOCOL_REQUIRED, H_S | H_R, http_protocol_required),
  FN(WINHTTP_OPTION_USERNAME, H_R, H_R, 0, SZ_FREE, s_cred, q_cred),
  FN(WINHTTP_OPTION_PASSWORD, H_R, H_R, 0, SZ_FREE, s_cred, q_cred),
  FN(WINHTTP_OPTION_PROXY_USERNAME, H_R, H_R, 0, SZ_FREE, s_cred, q_cred),
  FN(WINHTTP_OPTION_PROXY_PASSWORD, H_R, H_R, 0, SZ_FREE, s_cred, q_cred),
};

static const struct opt_desc *find_option(DWORD id)
{
  for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
    if (options[i].id == id)
      return &options[i];
  return NULL;
}

/* --- the generic rules --------------------------------------------------- */

static DWORD check_set_length(const struct opt_desc *d, DWORD len)
{
  switch (d->size) {
  case SZ_DWORD:
    return len == sizeof(DWORD) ? ERROR_SUCCESS : ERROR_INSUFFICIENT_BUFFER;
  case SZ_DWORD_MIN:
    return len >= sizeof(DWORD) ? ERROR_SUCCESS : ERROR_INSUFFICIENT_BUFFER;
  case SZ_PTR:
    return len == sizeof(DWORD_PTR) ? ERROR_SUCCESS : ERROR_INSUFFICIENT_BUFFER;
  default:
    return ERROR_SUCCESS;
  }
}

static DWORD set_option(struct wh_object *o, DWORD id, const void *buf, DWORD len)
{
  /* Wine checks this first of all; the Wine tests expect it for
   * REDIRECT_POLICY and ENABLE_FEATURE on Windows. */
  if (!buf && len)
    return ERROR_INVALID_PARAMETER;
  const struct opt_desc *d = find_option(id);
  if (!d)
    return ERROR_WINHTTP_INVALID_OPTION;
  if (d->flags & F_RO)
    return ERROR_WINHTTP_OPTION_NOT_SETTABLE;
  if (!(d->set_on & T_BIT(o->type)))
    return ERROR_WINHTTP_INCORRECT_HANDLE_TYPE;
  DWORD err = check_set_length(d, len);
  if (err != ERROR_SUCCESS)
    return err;
  if (d->set)
    return d->set(o, d, buf, len);
  DWORD v = get_dword(buf);
  if (d->check && (err = d->check(o, &v)) != ERROR_SUCCESS)
    return err;
  return store_field(o, d, v);
}

static DWORD query_option(struct wh_object *o, DWORD id, void *buf, DWORD *len)
{
  if (!len)
    return ERROR_INVALID_PARAMETER;
  const struct opt_desc *d = find_option(id);
  /* Unknown and write-only options alike (Wine's test_basic_request:
   * option 0; test_WinHttpQueryOption: DISABLE_FEATURE, ENABLE_FEATURE;
   * test_websocket: WEB_SOCKET_KEEPALIVE_INTERVAL on any handle). */
  if (!d || (d->flags & F_WO))
    return ERROR_INVALID_PARAMETER;
  if (!(d->query_on & T_BIT(o->type)))
    return ERROR_WINHTTP_INCORRECT_HANDLE_TYPE;
  if (d->query)
    return d->query(o, d, buf, len);
  DWORD v;
  DWORD err = load_field(o, d->field, d->kind, &v);
  return err == ERROR_SUCCESS ? put_dword(buf, len, v) : err;
}

/* --- exports ------------------------------------------------------------- */

BOOL WINAPI WinHttpSetOption(HINTERNET hInternet, DWORD dwOption, LPVOID lpBuffer,
                             DWORD dwBufferLength)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hInternet, 0, &o);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  err = set_option(o, dwOption, lpBuffer, dwBufferLength);
  wh_handle_put(o);
  return wh_result(err);
}

BOOL WINAPI WinHttpQueryOption(HINTERNET hInternet, DWORD dwOption, LPVOID lpBuffer,
                               LPDWORD lpdwBufferLength)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hInternet, 0, &o);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  err = query_option(o, dwOption, lpBuffer, lpdwBufferLength);
  wh_handle_put(o);
  return wh_result(err);
}

/* Values are checked before the handle type (Wine's test_timeouts: -2 on a
 * connection gives ERROR_INVALID_PARAMETER, valid values
 * ERROR_WINHTTP_INCORRECT_HANDLE_TYPE). -1 is stored as 0xFFFFFFFF, which
 * like 0 means infinite (Microsoft's WinHttpSetTimeouts). */
BOOL WINAPI WinHttpSetTimeouts(HINTERNET hInternet, int nResolveTimeout, int nConnectTimeout,
                               int nSendTimeout, int nReceiveTimeout)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hInternet, 0, &o);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  struct wh_object *owner = NULL;
  struct wh_settings *s = NULL;
  if (nResolveTimeout < -1 || nConnectTimeout < -1 || nSendTimeout < -1 || nReceiveTimeout < -1)
    err = ERROR_INVALID_PARAMETER;
  else if (o->type != WH_SESSION && o->type != WH_REQUEST)
    err = ERROR_WINHTTP_INCORRECT_HANDLE_TYPE;
  else
    s = settings_of(o, &owner);
  if (s) {
    pthread_mutex_lock(&owner->lock);
    s->resolve_timeout = (DWORD)nResolveTimeout;
    s->connect_timeout = (DWORD)nConnectTimeout;
    s->send_timeout = (DWORD)nSendTimeout;
    s->receive_timeout = (DWORD)nReceiveTimeout;
    pthread_mutex_unlock(&owner->lock);
  }
  wh_handle_put(o);
  return wh_result(err);
}
