/* WinHttpSetOption / WinHttpQueryOption: the generic rules (handle, unknown
 * option, read-only and write-only options, handle types, lengths, the
 * query buffer protocol), every implemented option's values and defaults,
 * inheritance from the session, and the strings and structures. Expected
 * values come from Microsoft's pages and from Wine's tests where they hold
 * on Windows (named in each test). */
#include "wh_test.h"

#include <string.h>
#include <wchar.h>

#include "core/handle.h"
#include "core/object.h"
#include "util/mem.h"

/* --- helpers ------------------------------------------------------------- */

/* Runs WinHttpSetOption and returns its error (ERROR_SUCCESS on success),
 * checking that success leaves ERROR_SUCCESS and failure returns FALSE. */
static DWORD set_opt(HINTERNET h, DWORD opt, const void *buf, DWORD len)
{
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpSetOption(h, opt, (LPVOID)buf, len);
  DWORD err = GetLastError();
  if (ok) {
    assert_int_equal(err, ERROR_SUCCESS);
    return ERROR_SUCCESS;
  }
  assert_int_not_equal(err, ERROR_SUCCESS);
  return err;
}

static DWORD set_dw(HINTERNET h, DWORD opt, DWORD v)
{
  return set_opt(h, opt, &v, sizeof(v));
}

static DWORD query_opt(HINTERNET h, DWORD opt, void *buf, DWORD *len)
{
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpQueryOption(h, opt, buf, len);
  DWORD err = GetLastError();
  if (ok) {
    assert_int_equal(err, ERROR_SUCCESS);
    return ERROR_SUCCESS;
  }
  assert_int_not_equal(err, ERROR_SUCCESS);
  return err;
}

/* Queries a DWORD option, asserting success and a 4-byte answer. */
static DWORD get_dw(HINTERNET h, DWORD opt)
{
  DWORD v = 0xdeadbeef, len = sizeof(v);
  assert_int_equal(query_opt(h, opt, &v, &len), ERROR_SUCCESS);
  assert_int_equal(len, sizeof(DWORD));
  return v;
}

struct handles {
  HINTERNET s, c, r;
};

static void open_all(struct handles *h, DWORD req_flags)
{
  h->s = WinHttpOpen(L"test/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                     WINHTTP_NO_PROXY_BYPASS, 0);
  assert_non_null(h->s);
  h->c = WinHttpConnect(h->s, L"example.com", 0, 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, L"GET", L"/a/b?c=d", NULL, NULL, NULL, req_flags);
  assert_non_null(h->r);
}

static void close_all(struct handles *h)
{
  assert_true(WinHttpCloseHandle(h->r));
  assert_true(WinHttpCloseHandle(h->c));
  assert_true(WinHttpCloseHandle(h->s));
}

/* Runs |fn| on the settings of request or session |h| (white box: for
 * write-only options, whose values cannot be read back through the API). */
static struct wh_settings peek_settings(HINTERNET h)
{
  struct wh_object *o;
  assert_int_equal(wh_object_grab(h, 0, &o), ERROR_SUCCESS);
  struct wh_settings s;
  pthread_mutex_lock(&o->lock);
  if (o->type == WH_SESSION)
    s = wh_session_of(o)->settings;
  else
    s = wh_request_of(o)->settings;
  pthread_mutex_unlock(&o->lock);
  wh_handle_put(o);
  return s;
}

/* --- the generic rules --------------------------------------------------- */

static void test_invalid_handles(void **state)
{
  (void)state;
  DWORD v = 1, len = sizeof(v);
  HINTERNET bogus[] = {NULL, (HINTERNET)1, (HINTERNET)(uintptr_t)0x12345678};
  for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
    assert_int_equal(set_dw(bogus[i], WINHTTP_OPTION_REDIRECT_POLICY, 1), ERROR_INVALID_HANDLE);
    assert_int_equal(query_opt(bogus[i], WINHTTP_OPTION_REDIRECT_POLICY, &v, &len),
                     ERROR_INVALID_HANDLE);
    /* The handle is checked before anything else. */
    assert_int_equal(set_opt(bogus[i], 0, NULL, 4), ERROR_INVALID_HANDLE);
    assert_int_equal(query_opt(bogus[i], 0, NULL, NULL), ERROR_INVALID_HANDLE);
    /* Options documented for a NULL handle are not supported: still an
     * invalid handle. */
    assert_int_equal(set_dw(bogus[i], WINHTTP_OPTION_WORKER_THREAD_COUNT, 2),
                     ERROR_INVALID_HANDLE);
  }
  struct handles h;
  open_all(&h, 0);
  close_all(&h);
  HINTERNET closed[] = {h.s, h.c, h.r};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(set_dw(closed[i], WINHTTP_OPTION_CONTEXT_VALUE, 1), ERROR_INVALID_HANDLE);
    len = sizeof(v);
    assert_int_equal(query_opt(closed[i], WINHTTP_OPTION_HANDLE_TYPE, &v, &len),
                     ERROR_INVALID_HANDLE);
  }
}

/* Wine's test_basic_request (option 0 on each handle type, on Windows):
 * set gives INVALID_OPTION, query INVALID_PARAMETER. SDK options this
 * library does not implement answer the same (what a Windows without
 * them says). */
static void test_unknown_and_unsupported_options(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  static const DWORD ids[] = {
    0, 8, 10, 213, 0x0FFF, 0x1004, 0xFFFFFFFF,
    WINHTTP_OPTION_READ_BUFFER_SIZE, WINHTTP_OPTION_HTTP_VERSION,
    WINHTTP_OPTION_CONFIGURE_PASSPORT_AUTH, WINHTTP_OPTION_ENABLETRACING,
    WINHTTP_OPTION_GLOBAL_PROXY_CREDS, WINHTTP_OPTION_FEATURE_SUPPORTED,
    WINHTTP_OPTION_REQUEST_TIMES, WINHTTP_OPTION_TCP_KEEPALIVE,
    WINHTTP_OPTION_TCP_FAST_OPEN, WINHTTP_OPTION_SESSION_ERROR_LOG_GUID,
  };
  HINTERNET all[] = {h.s, h.c, h.r};
  char buf[64];
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
    for (size_t k = 0; k < 3; k++) {
      DWORD v = 1;
      assert_int_equal(set_opt(all[k], ids[i], &v, sizeof(v)), ERROR_WINHTTP_INVALID_OPTION);
      assert_int_equal(set_opt(all[k], ids[i], NULL, 0), ERROR_WINHTTP_INVALID_OPTION);
      DWORD len = sizeof(buf);
      assert_int_equal(query_opt(all[k], ids[i], buf, &len), ERROR_INVALID_PARAMETER);
      assert_int_equal(len, sizeof(buf));
    }
  }
  close_all(&h);
}

/* The buffer protocol of a DWORD query (Wine's test_WinHttpQueryOption on
 * a session's REDIRECT_POLICY). */
static void test_query_buffer_protocol(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, NULL, NULL),
                   ERROR_INVALID_PARAMETER);
  DWORD v = 0xdeadbeef;
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, &v, NULL),
                   ERROR_INVALID_PARAMETER);
  DWORD len = 0xdeadbeef;
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, NULL, &len),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, 4);
  len = 3;
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, &v, &len),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, 4);
  assert_int_equal(v, 0xdeadbeef); /* untouched */
  len = 0;
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, &v, &len),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, 4);
  len = 5;
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, &v, &len), ERROR_SUCCESS);
  assert_int_equal(len, 4);
  assert_int_equal(v, WINHTTP_OPTION_REDIRECT_POLICY_DISALLOW_HTTPS_TO_HTTP);
  /* A pointer-sized answer asks for pointer size. */
  len = 4;
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_CONTEXT_VALUE, &v, &len),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, sizeof(DWORD_PTR));
  close_all(&h);
}

/* Wine's test_WinHttpQueryOption: the set length of a DWORD option must be
 * exactly 4 (3 and 5 give INSUFFICIENT_BUFFER), NULL with a length is
 * INVALID_PARAMETER, a bad value INVALID_PARAMETER. */
static void test_set_length_and_value_rules(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  DWORD v[2] = {WINHTTP_OPTION_REDIRECT_POLICY_ALWAYS, 0};
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, NULL, 4), ERROR_INVALID_PARAMETER);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, NULL, 0),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, v, 3), ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, v, 5), ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, v, 8), ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_REDIRECT_POLICY), 1);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_REDIRECT_POLICY, v, 4), ERROR_SUCCESS);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_REDIRECT_POLICY), 2);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_REDIRECT_POLICY, 3), ERROR_INVALID_PARAMETER);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_REDIRECT_POLICY, 0xFFFFFFFF),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_REDIRECT_POLICY), 2); /* unchanged */
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_REDIRECT_POLICY, 0), ERROR_SUCCESS);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_REDIRECT_POLICY), 0);
  /* NULL with a length is refused before the option is looked up. */
  assert_int_equal(set_opt(h.c, 0, NULL, 4), ERROR_INVALID_PARAMETER);
  close_all(&h);
}

/* --- handle types: one row per option ------------------------------------ */

enum vkind { V_DW, V_PTR, V_NONE, V_WSTR, V_PROXY };

#define OK ERROR_SUCCESS
#define HT ERROR_WINHTTP_INCORRECT_HANDLE_TYPE
#define NS ERROR_WINHTTP_OPTION_NOT_SETTABLE
#define IP ERROR_INVALID_PARAMETER
#define ST ERROR_WINHTTP_INCORRECT_HANDLE_STATE
#define NI ERROR_CALL_NOT_IMPLEMENTED

struct type_row {
  DWORD id;
  enum vkind kind;
  DWORD value;
  DWORD set[3];   /* session, connection, request */
  DWORD query[3];
};

/* From Microsoft's "Option Flags" table (session/request columns) and
 * Wine's tests on Windows for connections: only timeouts and the generic
 * options can be queried there, and nothing but CONTEXT_VALUE set. */
static const struct type_row type_rows[] = {
  {WINHTTP_OPTION_CALLBACK, V_PTR, 0, {NS, NS, NS}, {OK, OK, OK}},
  {WINHTTP_OPTION_RESOLVE_TIMEOUT, V_DW, 1000, {OK, HT, OK}, {OK, OK, OK}},
  {WINHTTP_OPTION_CONNECT_TIMEOUT, V_DW, 1000, {OK, HT, OK}, {OK, OK, OK}},
  {WINHTTP_OPTION_CONNECT_RETRIES, V_DW, 3, {OK, HT, OK}, {OK, HT, OK}},
  {WINHTTP_OPTION_SEND_TIMEOUT, V_DW, 1000, {OK, HT, OK}, {OK, OK, OK}},
  {WINHTTP_OPTION_RECEIVE_TIMEOUT, V_DW, 1000, {OK, HT, OK}, {OK, OK, OK}},
  {WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, V_DW, 1000, {OK, HT, OK}, {OK, OK, OK}},
  {WINHTTP_OPTION_HANDLE_TYPE, V_DW, 1, {NS, NS, NS}, {OK, OK, OK}},
  {WINHTTP_OPTION_PARENT_HANDLE, V_PTR, 0, {NS, NS, NS}, {OK, OK, OK}},
  {WINHTTP_OPTION_EXTENDED_ERROR, V_DW, 0, {NS, NS, NS}, {ST, HT, ST}},
  {WINHTTP_OPTION_SECURITY_FLAGS, V_DW, SECURITY_FLAG_IGNORE_UNKNOWN_CA, {HT, HT, OK},
   {HT, HT, OK}},
  {WINHTTP_OPTION_SECURITY_CERTIFICATE_STRUCT, V_DW, 0, {NS, NS, NS}, {HT, HT, ST}},
  {WINHTTP_OPTION_URL, V_WSTR, 0, {NS, NS, NS}, {HT, HT, OK}},
  {WINHTTP_OPTION_SECURITY_KEY_BITNESS, V_DW, 0, {NS, NS, NS}, {HT, HT, ST}},
  {WINHTTP_OPTION_PROXY, V_PROXY, 0, {OK, HT, OK}, {OK, HT, OK}},
  {WINHTTP_OPTION_USER_AGENT, V_WSTR, 0, {OK, HT, HT}, {OK, HT, HT}},
  {WINHTTP_OPTION_CONTEXT_VALUE, V_PTR, 0, {OK, OK, OK}, {OK, OK, OK}},
  {WINHTTP_OPTION_CLIENT_CERT_CONTEXT, V_NONE, 0, {HT, HT, ST}, {IP, IP, IP}},
  {WINHTTP_OPTION_DISABLE_FEATURE, V_DW, WINHTTP_DISABLE_COOKIES, {HT, HT, OK}, {IP, IP, IP}},
  {WINHTTP_OPTION_CODEPAGE, V_DW, 65001, {OK, HT, HT}, {IP, IP, IP}},
  {WINHTTP_OPTION_MAX_CONNS_PER_SERVER, V_DW, 4, {OK, HT, HT}, {OK, HT, HT}},
  {WINHTTP_OPTION_MAX_CONNS_PER_1_0_SERVER, V_DW, 4, {OK, HT, HT}, {OK, HT, HT}},
  {WINHTTP_OPTION_AUTOLOGON_POLICY, V_DW, 2, {HT, HT, OK}, {IP, IP, IP}},
  {WINHTTP_OPTION_SERVER_CERT_CONTEXT, V_PTR, 0, {NS, NS, NS}, {HT, HT, ST}},
  {WINHTTP_OPTION_WORKER_THREAD_COUNT, V_DW, 2, {HT, HT, HT}, {OK, OK, OK}},
  {WINHTTP_OPTION_SECURE_PROTOCOLS, V_DW, WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2, {OK, HT, HT},
   {IP, IP, IP}},
  {WINHTTP_OPTION_REDIRECT_POLICY, V_DW, 2, {OK, HT, OK}, {OK, HT, OK}},
  {WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS, V_DW, 3, {OK, HT, OK}, {OK, HT, OK}},
  {WINHTTP_OPTION_MAX_HTTP_STATUS_CONTINUE, V_DW, 3, {OK, HT, OK}, {OK, HT, OK}},
  {WINHTTP_OPTION_MAX_RESPONSE_HEADER_SIZE, V_DW, 3000, {OK, HT, OK}, {OK, HT, OK}},
  {WINHTTP_OPTION_MAX_RESPONSE_DRAIN_SIZE, V_DW, 3000, {OK, HT, OK}, {OK, HT, OK}},
  {WINHTTP_OPTION_CONNECTION_INFO, V_DW, 0, {NS, NS, NS}, {HT, HT, ST}},
  {WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST, V_DW, 0, {NS, NS, NS}, {HT, HT, ST}},
  {WINHTTP_OPTION_SPN, V_DW, 1, {HT, HT, OK}, {IP, IP, IP}},
  {WINHTTP_OPTION_UNLOAD_NOTIFY_EVENT, V_PTR, 0, {NI, HT, HT}, {IP, IP, IP}},
  {WINHTTP_OPTION_REJECT_USERPWD_IN_URL, V_DW, 1, {HT, HT, OK}, {IP, IP, IP}},
  {WINHTTP_OPTION_ASSURED_NON_BLOCKING_CALLBACKS, V_DW, 1, {OK, HT, HT}, {IP, IP, IP}},
  {WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, V_NONE, 0, {HT, HT, OK}, {IP, IP, IP}},
  {WINHTTP_OPTION_WEB_SOCKET_CLOSE_TIMEOUT, V_DW, 5000, {OK, HT, OK}, {OK, HT, OK}},
  /* Wine's test_websocket: a set on a request is INCORRECT_HANDLE_TYPE on
   * Windows (todo_wine), a query INVALID_PARAMETER everywhere. */
  {WINHTTP_OPTION_WEB_SOCKET_KEEPALIVE_INTERVAL, V_DW, 20000, {HT, HT, HT}, {IP, IP, IP}},
  {WINHTTP_OPTION_DECOMPRESSION, V_DW, WINHTTP_DECOMPRESSION_FLAG_ALL, {OK, HT, OK},
   {IP, IP, IP}},
  /* Wine's test_websocket: on a connection, INCORRECT_HANDLE_TYPE on
   * Windows (todo_wine). */
  {WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE, V_DW, 65535, {OK, HT, OK}, {OK, HT, OK}},
  {WINHTTP_OPTION_WEB_SOCKET_SEND_BUFFER_SIZE, V_DW, 65535, {OK, HT, OK}, {OK, HT, OK}},
  {WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, V_DW, WINHTTP_PROTOCOL_FLAG_HTTP2, {OK, HT, OK},
   {IP, IP, IP}},
  {WINHTTP_OPTION_HTTP_PROTOCOL_USED, V_DW, 0, {NS, NS, NS}, {HT, HT, ST}},
  {WINHTTP_OPTION_DISABLE_STREAM_QUEUE, V_DW, 1, {OK, HT, OK}, {IP, IP, IP}},
  {WINHTTP_OPTION_ENABLE_HTTP2_PLUS_CLIENT_CERT, V_DW, 1, {OK, HT, OK}, {IP, IP, IP}},
  {WINHTTP_OPTION_IPV6_FAST_FALLBACK, V_DW, 1, {OK, HT, HT}, {IP, IP, IP}},
  {WINHTTP_OPTION_EXPIRE_CONNECTION, V_NONE, 0, {HT, HT, OK}, {IP, IP, IP}},
  {WINHTTP_OPTION_DISABLE_SECURE_PROTOCOL_FALLBACK, V_DW, 1, {OK, HT, HT}, {IP, IP, IP}},
  {WINHTTP_OPTION_HTTP_PROTOCOL_REQUIRED, V_DW, 1, {OK, HT, OK}, {IP, IP, IP}},
  {WINHTTP_OPTION_USERNAME, V_WSTR, 0, {HT, HT, OK}, {HT, HT, OK}},
  {WINHTTP_OPTION_PASSWORD, V_WSTR, 0, {HT, HT, OK}, {HT, HT, OK}},
  {WINHTTP_OPTION_PROXY_USERNAME, V_WSTR, 0, {HT, HT, OK}, {HT, HT, OK}},
  {WINHTTP_OPTION_PROXY_PASSWORD, V_WSTR, 0, {HT, HT, OK}, {HT, HT, OK}},
};

static DWORD set_row(HINTERNET h, const struct type_row *row)
{
  DWORD_PTR p = 0x1234;
  WINHTTP_PROXY_INFO pi = {WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL};
  switch (row->kind) {
  case V_DW:
    return set_dw(h, row->id, row->value);
  case V_PTR:
    return set_opt(h, row->id, &p, sizeof(p));
  case V_NONE:
    return set_opt(h, row->id, NULL, 0);
  case V_WSTR:
    return set_opt(h, row->id, L"abc", 3);
  default:
    return set_opt(h, row->id, &pi, sizeof(pi));
  }
}

static void test_handle_type_rules(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(type_rows) / sizeof(type_rows[0]); i++) {
    const struct type_row *row = &type_rows[i];
    struct handles h;
    open_all(&h, 0);
    HINTERNET all[] = {h.s, h.c, h.r};
    for (int k = 0; k < 3; k++) {
      _Alignas(8) unsigned char buf[256];
      DWORD len = sizeof(buf);
      DWORD err = query_opt(all[k], row->id, buf, &len);
      if (err != row->query[k])
        fail_msg("query option %lu on handle kind %d: got %lu, want %lu", (unsigned long)row->id,
                 k, (unsigned long)err, (unsigned long)row->query[k]);
      if (err == ERROR_SUCCESS && row->id == WINHTTP_OPTION_PROXY) {
        WINHTTP_PROXY_INFO pi;
        memcpy(&pi, buf, sizeof(pi));
        GlobalFree(pi.lpszProxy);
        GlobalFree(pi.lpszProxyBypass);
      }
      err = set_row(all[k], row);
      if (err != row->set[k])
        fail_msg("set option %lu on handle kind %d: got %lu, want %lu", (unsigned long)row->id, k,
                 (unsigned long)err, (unsigned long)row->set[k]);
    }
    close_all(&h);
  }
}

/* --- defaults and values ------------------------------------------------- */

struct dw_default {
  DWORD id;
  DWORD value;
};

/* Microsoft's "Option Flags" and WinHttpSetTimeouts pages, and Wine's
 * tests on Windows (RECEIVE_RESPONSE_TIMEOUT ~0u, WebSocket buffers 32768,
 * WORKER_THREAD_COUNT 0). */
static const struct dw_default common_defaults[] = {
  {WINHTTP_OPTION_RESOLVE_TIMEOUT, 0},
  {WINHTTP_OPTION_CONNECT_TIMEOUT, 60000},
  {WINHTTP_OPTION_SEND_TIMEOUT, 30000},
  {WINHTTP_OPTION_RECEIVE_TIMEOUT, 30000},
  {WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, 0xFFFFFFFF},
  {WINHTTP_OPTION_CONNECT_RETRIES, 5},
  {WINHTTP_OPTION_REDIRECT_POLICY, WINHTTP_OPTION_REDIRECT_POLICY_DISALLOW_HTTPS_TO_HTTP},
  {WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS, 10},
  {WINHTTP_OPTION_MAX_HTTP_STATUS_CONTINUE, 10},
  {WINHTTP_OPTION_MAX_RESPONSE_HEADER_SIZE, 65536},
  {WINHTTP_OPTION_MAX_RESPONSE_DRAIN_SIZE, 1048576},
  {WINHTTP_OPTION_WEB_SOCKET_SEND_BUFFER_SIZE, 32768},
  {WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE, 32768},
  {WINHTTP_OPTION_WEB_SOCKET_CLOSE_TIMEOUT, 10000},
  {WINHTTP_OPTION_WORKER_THREAD_COUNT, 0},
};

static void test_defaults(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, WINHTTP_FLAG_SECURE);
  for (size_t i = 0; i < sizeof(common_defaults) / sizeof(common_defaults[0]); i++) {
    assert_int_equal(get_dw(h.s, common_defaults[i].id), common_defaults[i].value);
    assert_int_equal(get_dw(h.r, common_defaults[i].id), common_defaults[i].value);
  }
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_MAX_CONNS_PER_SERVER), 0xFFFFFFFF);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_MAX_CONNS_PER_1_0_SERVER), 0xFFFFFFFF);
  /* Wine's test_secure_connection: 0 on a new https request. */
  assert_int_equal(get_dw(h.r, WINHTTP_OPTION_SECURITY_FLAGS), 0);
  /* Write-only values, white box. */
  struct wh_settings s = peek_settings(h.r);
  assert_int_equal(s.secure_protocols,
                   WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2 | WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3);
  assert_int_equal(s.decompression, 0);
  assert_int_equal(s.enable_http_protocol, 0);
  assert_int_equal(s.autologon_policy, WINHTTP_AUTOLOGON_SECURITY_LEVEL_MEDIUM);
  assert_int_equal(s.disabled_features, 0);
  assert_int_equal(s.enabled_features, 0);
  assert_int_equal(s.codepage, 65001);
  assert_int_equal(s.ws_keepalive_interval, 30000);
  assert_false(s.upgrade_to_websocket);
  assert_false(s.expire_connection);
  assert_false(s.no_client_cert);
  close_all(&h);
}

struct value_row {
  DWORD id;
  int on_request; /* else on the session */
  DWORD value;
  DWORD err;
};

static const struct value_row value_rows[] = {
  /* Wine's test_secure_connection: only the IGNORE bits can be set. */
  {WINHTTP_OPTION_SECURITY_FLAGS, 1, SECURITY_FLAG_IGNORE_CERT_WRONG_USAGE, OK},
  {WINHTTP_OPTION_SECURITY_FLAGS, 1, SECURITY_FLAG_SECURE, IP},
  {WINHTTP_OPTION_SECURITY_FLAGS, 1, SECURITY_FLAG_STRENGTH_STRONG, IP},
  {WINHTTP_OPTION_SECURITY_FLAGS, 1,
   SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_DATE_INVALID |
       SECURITY_FLAG_IGNORE_CERT_CN_INVALID,
   OK},
  {WINHTTP_OPTION_SECURITY_FLAGS, 1, SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS, OK},
  {WINHTTP_OPTION_SECURITY_FLAGS, 1, 0, OK},
  {WINHTTP_OPTION_SECURITY_FLAGS, 1, 0x00000400, IP},
  {WINHTTP_OPTION_SECURE_PROTOCOLS, 0, WINHTTP_FLAG_SECURE_PROTOCOL_ALL, OK},
  {WINHTTP_OPTION_SECURE_PROTOCOLS, 0,
   WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_1 | WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3, OK},
  {WINHTTP_OPTION_SECURE_PROTOCOLS, 0, 0x4, IP},
  {WINHTTP_OPTION_SECURE_PROTOCOLS, 0, 0x4000, IP},
  {WINHTTP_OPTION_DECOMPRESSION, 0, WINHTTP_DECOMPRESSION_FLAG_GZIP, OK},
  {WINHTTP_OPTION_DECOMPRESSION, 1, 4, IP},
  {WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, 1, WINHTTP_PROTOCOL_MASK, OK},
  {WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, 0, 4, IP},
  {WINHTTP_OPTION_AUTOLOGON_POLICY, 1, WINHTTP_AUTOLOGON_SECURITY_LEVEL_PROXY_ONLY, OK},
  {WINHTTP_OPTION_AUTOLOGON_POLICY, 1, 4, IP},
  {WINHTTP_OPTION_SPN, 1, WINHTTP_ENABLE_SPN_SERVER_PORT, OK},
  {WINHTTP_OPTION_SPN, 1, 2, IP},
  {WINHTTP_OPTION_CODEPAGE, 0, 1252, IP},
  {WINHTTP_OPTION_CODEPAGE, 0, 0, IP},
  /* Wine's test_WinHttpQueryOption: any DISABLE_FEATURE value is taken. */
  {WINHTTP_OPTION_DISABLE_FEATURE, 1, 0, OK},
  {WINHTTP_OPTION_DISABLE_FEATURE, 1, 0xFFFFFFFF, OK},
  {WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS, 1, 0, OK},
  {WINHTTP_OPTION_WEB_SOCKET_SEND_BUFFER_SIZE, 0, 15, OK}, /* test_websocket */
};

static void test_value_validation(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(value_rows) / sizeof(value_rows[0]); i++) {
    struct handles h;
    open_all(&h, 0);
    HINTERNET t = value_rows[i].on_request ? h.r : h.s;
    DWORD err = set_dw(t, value_rows[i].id, value_rows[i].value);
    if (err != value_rows[i].err)
      fail_msg("row %zu: option %lu value %#lx: got %lu, want %lu", i,
               (unsigned long)value_rows[i].id, (unsigned long)value_rows[i].value,
               (unsigned long)err, (unsigned long)value_rows[i].err);
    close_all(&h);
  }
}

/* Values reach the settings (write-only options, white box), and bad ones
 * leave them unchanged. */
static void test_write_only_values_stored(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_SECURE_PROTOCOLS, WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3),
                   OK);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_SECURE_PROTOCOLS, 0x4), IP);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_IPV6_FAST_FALLBACK, 7), OK);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_ASSURED_NON_BLOCKING_CALLBACKS, 1), OK);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_DISABLE_SECURE_PROTOCOL_FALLBACK, 1), OK);
  struct wh_settings s = peek_settings(h.s);
  assert_int_equal(s.secure_protocols, WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3);
  assert_true(s.ipv6_fast_fallback);
  assert_true(s.assured_non_blocking_callbacks);
  assert_true(s.disable_secure_protocol_fallback);

  /* DISABLE_FEATURE bits are OR'ed ("one or more of the following flags"). */
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_DISABLE_FEATURE, WINHTTP_DISABLE_COOKIES), OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_DISABLE_FEATURE, WINHTTP_DISABLE_REDIRECTS), OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_DISABLE_FEATURE, 0), OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_DECOMPRESSION, WINHTTP_DECOMPRESSION_FLAG_DEFLATE),
                   OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, WINHTTP_PROTOCOL_FLAG_HTTP2),
                   OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_HTTP_PROTOCOL_REQUIRED, 1), OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_AUTOLOGON_POLICY, WINHTTP_AUTOLOGON_SECURITY_LEVEL_HIGH),
                   OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_AUTOLOGON_POLICY, 9), IP);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_REJECT_USERPWD_IN_URL, 1), OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_DISABLE_STREAM_QUEUE, 1), OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_SPN, WINHTTP_ENABLE_SPN_SERVER_PORT), OK);
  /* Options without a value ignore the buffer (Wine's test_websocket). */
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, NULL, 0), OK);
  DWORD junk = 0;
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_EXPIRE_CONNECTION, &junk, sizeof(junk)), OK);
  s = peek_settings(h.r);
  assert_int_equal(s.disabled_features, WINHTTP_DISABLE_COOKIES | WINHTTP_DISABLE_REDIRECTS);
  assert_int_equal(s.decompression, WINHTTP_DECOMPRESSION_FLAG_DEFLATE);
  assert_int_equal(s.enable_http_protocol, WINHTTP_PROTOCOL_FLAG_HTTP2);
  assert_true(s.http_protocol_required);
  assert_int_equal(s.autologon_policy, WINHTTP_AUTOLOGON_SECURITY_LEVEL_HIGH);
  assert_true(s.reject_userpwd_in_url);
  assert_true(s.disable_stream_queue);
  assert_int_equal(s.spn, WINHTTP_ENABLE_SPN_SERVER_PORT);
  assert_true(s.upgrade_to_websocket);
  assert_true(s.expire_connection);
  /* Length rules of the BOOL and write-only DWORD options. */
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_DISABLE_FEATURE, &junk, 2),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_IPV6_FAST_FALLBACK, NULL, 0),
                   ERROR_INSUFFICIENT_BUFFER);
  close_all(&h);
}

/* Wine's test_WinHttpQueryOption (on Windows), and "Option Flags":
 * SSL_REVOCATION is for requests, SSL_REVERT_IMPERSONATION for sessions. */
static void test_enable_feature(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  DWORD f = WINHTTP_ENABLE_SSL_REVOCATION;
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_ENABLE_FEATURE, NULL, sizeof(f)), IP);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_ENABLE_FEATURE, &f, 0), IP);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_ENABLE_FEATURE, &f, 3), IP);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_ENABLE_FEATURE, &f, sizeof(f)), OK);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_ENABLE_FEATURE, 0xdeadbeef), IP);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_ENABLE_FEATURE, 0), IP);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_ENABLE_FEATURE, WINHTTP_ENABLE_SSL_REVERT_IMPERSONATION),
                   IP);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_ENABLE_FEATURE, WINHTTP_ENABLE_SSL_REVERT_IMPERSONATION),
                   OK);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_ENABLE_FEATURE, WINHTTP_ENABLE_SSL_REVOCATION), IP);
  assert_int_equal(set_dw(h.c, WINHTTP_OPTION_ENABLE_FEATURE, WINHTTP_ENABLE_SSL_REVOCATION), HT);
  /* Write-only: the buffer is left alone. */
  DWORD v = 0xdeadbeef, len = sizeof(v);
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_ENABLE_FEATURE, &v, &len), IP);
  assert_int_equal(v, 0xdeadbeef);
  len = 0;
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_DISABLE_FEATURE, NULL, &len), IP);
  assert_int_equal(len, 0);
  assert_int_equal(peek_settings(h.r).enabled_features, WINHTTP_ENABLE_SSL_REVOCATION);
  assert_int_equal(peek_settings(h.s).enabled_features, WINHTTP_ENABLE_SSL_REVERT_IMPERSONATION);
  close_all(&h);
}

/* Wine's test_websocket (on Windows): below 15000, or any length but 4,
 * is INVALID_PARAMETER; the option is write-only and not for requests.
 * (WebSocket handles do not exist yet, so the accepted case cannot be
 * exercised.) */
static void test_websocket_options(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  DWORD v = 0, len = sizeof(v);
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_WEB_SOCKET_KEEPALIVE_INTERVAL, &v, &len), IP);
  len = 0;
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_WEB_SOCKET_KEEPALIVE_INTERVAL, NULL, &len), IP);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_WEB_SOCKET_KEEPALIVE_INTERVAL, 20000), HT);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_WEB_SOCKET_KEEPALIVE_INTERVAL, 20000), HT);
  /* Buffer sizes: a request takes its session's, and its own later
   * changes stay its own. */
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE, 65535), OK);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_WEB_SOCKET_SEND_BUFFER_SIZE, 15), OK);
  HINTERNET r2 = WinHttpOpenRequest(h.c, L"GET", L"/", NULL, NULL, NULL, 0);
  assert_non_null(r2);
  assert_int_equal(get_dw(r2, WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE), 65535);
  assert_int_equal(get_dw(r2, WINHTTP_OPTION_WEB_SOCKET_SEND_BUFFER_SIZE), 15);
  assert_int_equal(set_dw(r2, WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE, 1048576), OK);
  assert_int_equal(get_dw(r2, WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE), 1048576);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE), 65535);
  assert_int_equal(get_dw(h.r, WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE), 32768);
  assert_true(WinHttpCloseHandle(r2));
  close_all(&h);
}

/* Microsoft: "When this option is set to zero, WinHTTP sets the limit on
 * the number of connections to 2." */
static void test_max_conns(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_MAX_CONNS_PER_SERVER, 0), OK);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_MAX_CONNS_PER_SERVER), 2);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_MAX_CONNS_PER_SERVER, 16), OK);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_MAX_CONNS_PER_SERVER), 16);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_MAX_CONNS_PER_1_0_SERVER, 1), OK);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_MAX_CONNS_PER_1_0_SERVER), 1);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_MAX_CONNS_PER_SERVER), 16);
  close_all(&h);
}

/* --- generic options ----------------------------------------------------- */

static void test_handle_type_and_parent(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_HANDLE_TYPE), WINHTTP_HANDLE_TYPE_SESSION);
  assert_int_equal(get_dw(h.c, WINHTTP_OPTION_HANDLE_TYPE), WINHTTP_HANDLE_TYPE_CONNECT);
  assert_int_equal(get_dw(h.r, WINHTTP_OPTION_HANDLE_TYPE), WINHTTP_HANDLE_TYPE_REQUEST);

  HINTERNET p = (HINTERNET)1;
  DWORD len = sizeof(p);
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_PARENT_HANDLE, &p, &len), OK);
  assert_int_equal(len, sizeof(HINTERNET));
  assert_ptr_equal(p, h.c);
  len = sizeof(p);
  assert_int_equal(query_opt(h.c, WINHTTP_OPTION_PARENT_HANDLE, &p, &len), OK);
  assert_ptr_equal(p, h.s);
  len = sizeof(p);
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_PARENT_HANDLE, &p, &len), OK);
  assert_null(p);
  len = sizeof(p) - 1;
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_PARENT_HANDLE, &p, &len),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, sizeof(HINTERNET));
  /* A closed parent's value is still reported (its object lives on while
   * the child holds it). */
  assert_true(WinHttpCloseHandle(h.c));
  len = sizeof(p);
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_PARENT_HANDLE, &p, &len), OK);
  assert_ptr_equal(p, h.c);
  assert_true(WinHttpCloseHandle(h.r));
  assert_true(WinHttpCloseHandle(h.s));
}

static void CALLBACK dummy_callback(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info,
                                    DWORD len)
{
  (void)h, (void)ctx, (void)status, (void)info, (void)len;
}

/* "Retrieves the pointer to the callback function set with
 * WinHttpSetStatusCallback." */
static void test_callback_option(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  WINHTTP_STATUS_CALLBACK cb = dummy_callback;
  DWORD len = sizeof(cb);
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_CALLBACK, &cb, &len), OK);
  assert_int_equal(len, sizeof(cb));
  assert_null(cb);
  WinHttpSetStatusCallback(h.s, dummy_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  len = sizeof(cb);
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_CALLBACK, &cb, &len), OK);
  assert_ptr_equal(cb, dummy_callback);
  /* The existing request keeps its own (none). */
  len = sizeof(cb);
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_CALLBACK, &cb, &len), OK);
  assert_null(cb);
  len = 0;
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_CALLBACK, NULL, &len), ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, sizeof(cb));
  WinHttpSetStatusCallback(h.s, NULL, 0, 0);
  close_all(&h);
}

/* CONTEXT_VALUE takes exactly sizeof(DWORD_PTR) (WINHTTP-API.md §2; Wine's
 * test_WinHttpSendRequest reads it back). */
static void test_context_value_option(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  DWORD_PTR ctx = (DWORD_PTR)0x1122334455667788ull, got = 0;
  DWORD len = sizeof(got);
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_CONTEXT_VALUE, &got, &len), OK);
  assert_int_equal(len, sizeof(DWORD_PTR));
  assert_true(got == 0);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, 4), ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx) + 1),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)), OK);
  len = sizeof(got);
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_CONTEXT_VALUE, &got, &len), OK);
  assert_true(got == ctx);
  /* Connections take it too. */
  assert_int_equal(set_opt(h.c, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)), OK);
  len = sizeof(got);
  got = 0;
  assert_int_equal(query_opt(h.c, WINHTTP_OPTION_CONTEXT_VALUE, &got, &len), OK);
  assert_true(got == ctx);
  close_all(&h);
}

/* Wine's test_WinHttpQueryOption: 0 on every handle type, a 5-byte buffer
 * answered with 4; settable only on a NULL handle. */
static void test_worker_thread_count(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  HINTERNET all[] = {h.s, h.c, h.r};
  for (int k = 0; k < 3; k++) {
    DWORD v = 0xdeadbeef, len = sizeof(v) + 1;
    assert_int_equal(query_opt(all[k], WINHTTP_OPTION_WORKER_THREAD_COUNT, &v, &len), OK);
    assert_int_equal(len, sizeof(DWORD));
    assert_int_equal(v, 0);
  }
  close_all(&h);
}

/* --- connection-dependent options ---------------------------------------- */

/* Wine's test_connection_info: CONNECTION_INFO before send is
 * INCORRECT_HANDLE_STATE on Windows. The same holds for every option that
 * describes a connection, whatever the buffer. */
static void test_connection_state_options(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, WINHTTP_FLAG_SECURE);
  static const DWORD ids[] = {
    WINHTTP_OPTION_CONNECTION_INFO, WINHTTP_OPTION_SERVER_CERT_CONTEXT,
    WINHTTP_OPTION_SECURITY_CERTIFICATE_STRUCT, WINHTTP_OPTION_SECURITY_KEY_BITNESS,
    WINHTTP_OPTION_HTTP_PROTOCOL_USED, WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST,
    WINHTTP_OPTION_EXTENDED_ERROR,
  };
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
    WINHTTP_CONNECTION_INFO info;
    DWORD len = sizeof(info);
    assert_int_equal(query_opt(h.r, ids[i], &info, &len), ST);
    len = 0;
    assert_int_equal(query_opt(h.r, ids[i], NULL, &len), ST);
    assert_int_equal(len, 0);
    assert_int_equal(set_opt(h.r, ids[i], &info, sizeof(info)), NS);
  }
  close_all(&h);
}

/* Wine's test_secure_connection (on Windows): a plain request refuses a
 * client certificate with INCORRECT_HANDLE_STATE, an https one takes
 * WINHTTP_NO_CLIENT_CERT_CONTEXT. */
static void test_client_cert_context(void **state)
{
  (void)state;
  struct handles plain, secure;
  open_all(&plain, 0);
  open_all(&secure, WINHTTP_FLAG_SECURE);
  assert_int_equal(set_opt(plain.r, WINHTTP_OPTION_CLIENT_CERT_CONTEXT,
                           WINHTTP_NO_CLIENT_CERT_CONTEXT, 0),
                   ST);
  assert_false(peek_settings(secure.r).no_client_cert);
  assert_int_equal(set_opt(secure.r, WINHTTP_OPTION_CLIENT_CERT_CONTEXT,
                           WINHTTP_NO_CLIENT_CERT_CONTEXT, 0),
                   OK);
  assert_true(peek_settings(secure.r).no_client_cert);
  /* A CERT_CONTEXT the library did not make (crypt32's functions make
   * them: tests/unit/test_client_cert.c) is refused without being read. */
  CERT_CONTEXT cert;
  memset(&cert, 0, sizeof(cert));
  assert_int_equal(set_opt(secure.r, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, &cert, sizeof(cert)),
                   IP);
  assert_true(peek_settings(secure.r).no_client_cert);
  assert_int_equal(set_opt(secure.s, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, NULL, 0), HT);
  close_all(&plain);
  close_all(&secure);
}

static void test_security_flags_round_trip(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, WINHTTP_FLAG_SECURE);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_SECURITY_FLAGS,
                          SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_CN_INVALID),
                   OK);
  assert_int_equal(get_dw(h.r, WINHTTP_OPTION_SECURITY_FLAGS),
                   SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_CN_INVALID);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_SECURITY_FLAGS, SECURITY_FLAG_SECURE), IP);
  assert_int_equal(get_dw(h.r, WINHTTP_OPTION_SECURITY_FLAGS),
                   SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_CN_INVALID);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_SECURITY_FLAGS, 0), OK);
  assert_int_equal(get_dw(h.r, WINHTTP_OPTION_SECURITY_FLAGS), 0);
  close_all(&h);
}

/* --- strings ------------------------------------------------------------- */

/* Queries a string option into |out| (cch WCHARs), asserting success;
 * returns the byte length reported. */
static DWORD get_str(HINTERNET h, DWORD opt, WCHAR *out, DWORD cch)
{
  DWORD len = cch * (DWORD)sizeof(WCHAR);
  out[0] = L'#';
  assert_int_equal(query_opt(h, opt, out, &len), OK);
  assert_int_equal(out[len / sizeof(WCHAR)], 0);
  return len;
}

/* Wine's test_credentials (on Windows), lengths in WCHARs: per request,
 * empty until set, each slot independent. */
static void test_credentials(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  static const DWORD ids[] = {WINHTTP_OPTION_USERNAME, WINHTTP_OPTION_PASSWORD,
                              WINHTTP_OPTION_PROXY_USERNAME, WINHTTP_OPTION_PROXY_PASSWORD};
  static const WCHAR *vals[] = {L"user", L"pass", L"proxyuser", L"proxypass"};
  WCHAR buf[32];
  for (int i = 0; i < 4; i++) {
    assert_int_equal(get_str(h.r, ids[i], buf, 32), 0);
    assert_int_equal(buf[0], 0);
  }
  for (int i = 0; i < 4; i++) {
    assert_int_equal(set_opt(h.r, ids[i], vals[i], (DWORD)wcslen(vals[i])), OK);
    for (int k = 0; k < 4; k++) {
      DWORD len = get_str(h.r, ids[k], buf, 32);
      if (k <= i) {
        assert_int_equal(len, wcslen(vals[k]) * sizeof(WCHAR));
        assert_true(wcscmp(buf, vals[k]) == 0);
      } else {
        assert_int_equal(len, 0);
      }
    }
  }
  /* The buffer protocol: the needed size counts the NUL. */
  DWORD len = 0;
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_PROXY_USERNAME, NULL, &len),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, 10 * sizeof(WCHAR));
  len = 9 * sizeof(WCHAR); /* the characters but not the NUL */
  buf[0] = L'#';
  assert_int_equal(query_opt(h.r, WINHTTP_OPTION_PROXY_USERNAME, buf, &len),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, 10 * sizeof(WCHAR));
  assert_int_equal(buf[0], L'#');
  /* A length past the NUL stops at it; NULL/0 clears; Unicode survives. */
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_USERNAME, L"ab\0cd", 5), OK);
  assert_int_equal(get_str(h.r, WINHTTP_OPTION_USERNAME, buf, 32), 2 * sizeof(WCHAR));
  assert_true(wcscmp(buf, L"ab") == 0);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_USERNAME, L"xyz", 2), OK);
  assert_int_equal(get_str(h.r, WINHTTP_OPTION_USERNAME, buf, 32), 2 * sizeof(WCHAR));
  assert_true(wcscmp(buf, L"xy") == 0);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_PASSWORD, L"\u00e9\u4e2d\U0001F600", 3), OK);
  assert_int_equal(get_str(h.r, WINHTTP_OPTION_PASSWORD, buf, 32), 3 * sizeof(WCHAR));
  assert_true(wcscmp(buf, L"\u00e9\u4e2d\U0001F600") == 0);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_USERNAME, NULL, 0), OK);
  assert_int_equal(get_str(h.r, WINHTTP_OPTION_USERNAME, buf, 32), 0);
  /* Another request of the same connection has none (per request). */
  HINTERNET r2 = WinHttpOpenRequest(h.c, NULL, NULL, NULL, NULL, NULL, 0);
  assert_non_null(r2);
  assert_int_equal(get_str(r2, WINHTTP_OPTION_PROXY_USERNAME, buf, 32), 0);
  assert_true(WinHttpCloseHandle(r2));
  close_all(&h);
}

/* "Option Flags": the session's agent; when set, the length is in
 * characters and may include the NUL. */
static void test_user_agent(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  WCHAR buf[64];
  assert_int_equal(get_str(h.s, WINHTTP_OPTION_USER_AGENT, buf, 64), 8 * sizeof(WCHAR));
  assert_true(wcscmp(buf, L"test/1.0") == 0);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_USER_AGENT, L"agent/2", 7), OK);
  assert_int_equal(get_str(h.s, WINHTTP_OPTION_USER_AGENT, buf, 64), 7 * sizeof(WCHAR));
  assert_true(wcscmp(buf, L"agent/2") == 0);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_USER_AGENT, L"agent/3", 8), OK);
  assert_int_equal(get_str(h.s, WINHTTP_OPTION_USER_AGENT, buf, 64), 7 * sizeof(WCHAR));
  assert_true(wcscmp(buf, L"agent/3") == 0);
  /* It would end up in a header line. */
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_USER_AGENT, L"a\r\nX: y", 7), IP);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_USER_AGENT, L"a\nb", 3), IP);
  assert_int_equal(get_str(h.s, WINHTTP_OPTION_USER_AGENT, buf, 64), 7 * sizeof(WCHAR));
  DWORD len = 4;
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_USER_AGENT, buf, &len), ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, 8 * sizeof(WCHAR));
  close_all(&h);
  /* A session opened without an agent reads as empty. */
  HINTERNET s = WinHttpOpen(NULL, WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(s);
  assert_int_equal(get_str(s, WINHTTP_OPTION_USER_AGENT, buf, 64), 0);
  assert_true(WinHttpCloseHandle(s));
}

struct url_row {
  const WCHAR *server;
  INTERNET_PORT port;
  DWORD flags;
  const WCHAR *object;
  const WCHAR *url;
};

static const struct url_row url_rows[] = {
  {L"example.com", 0, 0, L"/a?b=c", L"http://example.com/a?b=c"},
  {L"example.com", 80, 0, L"", L"http://example.com/"},
  {L"example.com", 0, WINHTTP_FLAG_SECURE, L"/x", L"https://example.com/x"},
  {L"example.com", 443, WINHTTP_FLAG_SECURE, L"/x", L"https://example.com/x"},
  {L"example.com", 443, 0, L"/x", L"http://example.com:443/x"},
  {L"example.com", 80, WINHTTP_FLAG_SECURE, L"/x", L"https://example.com:80/x"},
  {L"127.0.0.1", 8080, 0, L"/p q", L"http://127.0.0.1:8080/p%20q"},
  {L"::1", 65535, 0, L"/", L"http://[::1]:65535/"},
  {L"[::1]", 0, 0, L"/", L"http://[::1]/"},
};

/* "Retrieves a string value that contains the full URL"; before any
 * redirect it is the one the request was opened for. */
static void test_url_option(void **state)
{
  (void)state;
  HINTERNET s = WinHttpOpen(NULL, WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(s);
  for (size_t i = 0; i < sizeof(url_rows) / sizeof(url_rows[0]); i++) {
    const struct url_row *row = &url_rows[i];
    HINTERNET c = WinHttpConnect(s, row->server, row->port, 0);
    assert_non_null(c);
    HINTERNET r = WinHttpOpenRequest(c, NULL, row->object, NULL, NULL, NULL, row->flags);
    assert_non_null(r);
    WCHAR buf[128];
    DWORD want = (DWORD)(wcslen(row->url) * sizeof(WCHAR));
    DWORD len = 0;
    assert_int_equal(query_opt(r, WINHTTP_OPTION_URL, NULL, &len), ERROR_INSUFFICIENT_BUFFER);
    assert_int_equal(len, want + sizeof(WCHAR));
    assert_int_equal(get_str(r, WINHTTP_OPTION_URL, buf, 128), want);
    if (wcscmp(buf, row->url) != 0)
      fail_msg("row %zu: got %ls, want %ls", i, buf, row->url);
    assert_true(WinHttpCloseHandle(r));
    assert_true(WinHttpCloseHandle(c));
  }
  assert_true(WinHttpCloseHandle(s));
}

/* --- WINHTTP_OPTION_PROXY ------------------------------------------------ */

static void query_proxy(HINTERNET h, WINHTTP_PROXY_INFO *pi)
{
  DWORD len = sizeof(*pi);
  memset(pi, 0xcc, sizeof(*pi));
  assert_int_equal(query_opt(h, WINHTTP_OPTION_PROXY, pi, &len), OK);
  assert_int_equal(len, sizeof(*pi));
}

static void free_proxy(WINHTTP_PROXY_INFO *pi)
{
  GlobalFree(pi->lpszProxy);
  GlobalFree(pi->lpszProxyBypass);
}

static void test_proxy_option(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  WINHTTP_PROXY_INFO pi;
  query_proxy(h.s, &pi);
  assert_int_equal(pi.dwAccessType, WINHTTP_ACCESS_TYPE_NO_PROXY);
  assert_null(pi.lpszProxy);
  assert_null(pi.lpszProxyBypass);

  WINHTTP_PROXY_INFO set = {WINHTTP_ACCESS_TYPE_NAMED_PROXY, (LPWSTR)L"proxy:8080",
                            (LPWSTR)L"<local>"};
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_PROXY, &set, sizeof(set)), OK);
  query_proxy(h.s, &pi);
  assert_int_equal(pi.dwAccessType, WINHTTP_ACCESS_TYPE_NAMED_PROXY);
  assert_true(wcscmp(pi.lpszProxy, L"proxy:8080") == 0);
  assert_true(wcscmp(pi.lpszProxyBypass, L"<local>") == 0);
  free_proxy(&pi);
  /* A request without its own shows the session's. */
  query_proxy(h.r, &pi);
  assert_int_equal(pi.dwAccessType, WINHTTP_ACCESS_TYPE_NAMED_PROXY);
  assert_true(wcscmp(pi.lpszProxy, L"proxy:8080") == 0);
  free_proxy(&pi);
  /* Its own overrides it, and leaves the session alone. */
  WINHTTP_PROXY_INFO direct = {WINHTTP_ACCESS_TYPE_NO_PROXY, (LPWSTR)L"ignored", NULL};
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_PROXY, &direct, sizeof(direct)), OK);
  query_proxy(h.r, &pi);
  assert_int_equal(pi.dwAccessType, WINHTTP_ACCESS_TYPE_NO_PROXY);
  assert_null(pi.lpszProxy);
  assert_null(pi.lpszProxyBypass);
  query_proxy(h.s, &pi);
  assert_int_equal(pi.dwAccessType, WINHTTP_ACCESS_TYPE_NAMED_PROXY);
  free_proxy(&pi);

  /* Refused: unknown access types, a named proxy without a name, CR/LF,
   * a short structure. */
  WINHTTP_PROXY_INFO bad[] = {
    {2, NULL, NULL},
    {0xdeadbeef, NULL, NULL},
    {WINHTTP_ACCESS_TYPE_NAMED_PROXY, NULL, NULL},
    {WINHTTP_ACCESS_TYPE_NAMED_PROXY, (LPWSTR)L"", NULL},
    {WINHTTP_ACCESS_TYPE_NAMED_PROXY, (LPWSTR)L"p:1\r\nX: y", NULL},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(set_opt(h.s, WINHTTP_OPTION_PROXY, &bad[i], sizeof(bad[i])), IP);
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_PROXY, &set, sizeof(set) - 1),
                   ERROR_INSUFFICIENT_BUFFER);
  query_proxy(h.s, &pi);
  assert_true(wcscmp(pi.lpszProxy, L"proxy:8080") == 0); /* unchanged */
  free_proxy(&pi);
  DWORD len = sizeof(pi) - 1;
  assert_int_equal(query_opt(h.s, WINHTTP_OPTION_PROXY, &pi, &len), ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, sizeof(pi));
  close_all(&h);
}

/* --- inheritance --------------------------------------------------------- */

/* Children copy the session's settings when they are created: a request
 * made before a change keeps the old value, one made after gets the new
 * one, and a request's change stays its own. */
static void test_inheritance(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  HINTERNET before = h.r;
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_REDIRECT_POLICY, WINHTTP_OPTION_REDIRECT_POLICY_ALWAYS),
                   OK);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS, 3), OK);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_CONNECT_RETRIES, 9), OK);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_DECOMPRESSION, WINHTTP_DECOMPRESSION_FLAG_ALL), OK);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_SECURE_PROTOCOLS, WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3),
                   OK);
  HINTERNET after = WinHttpOpenRequest(h.c, NULL, NULL, NULL, NULL, NULL, 0);
  assert_non_null(after);
  assert_int_equal(get_dw(before, WINHTTP_OPTION_REDIRECT_POLICY), 1);
  assert_int_equal(get_dw(before, WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS), 10);
  assert_int_equal(get_dw(before, WINHTTP_OPTION_CONNECT_RETRIES), 5);
  assert_int_equal(peek_settings(before).decompression, 0);
  assert_int_equal(get_dw(after, WINHTTP_OPTION_REDIRECT_POLICY), 2);
  assert_int_equal(get_dw(after, WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS), 3);
  assert_int_equal(get_dw(after, WINHTTP_OPTION_CONNECT_RETRIES), 9);
  struct wh_settings s = peek_settings(after);
  assert_int_equal(s.decompression, WINHTTP_DECOMPRESSION_FLAG_ALL);
  assert_int_equal(s.secure_protocols, WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3);
  assert_int_equal(set_dw(after, WINHTTP_OPTION_REDIRECT_POLICY, 0), OK);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_REDIRECT_POLICY), 2);
  /* Request-only state never goes back to the session. */
  assert_int_equal(set_dw(after, WINHTTP_OPTION_DISABLE_FEATURE, WINHTTP_DISABLE_COOKIES), OK);
  HINTERNET third = WinHttpOpenRequest(h.c, NULL, NULL, NULL, NULL, NULL, 0);
  assert_non_null(third);
  assert_int_equal(peek_settings(third).disabled_features, 0);
  assert_true(WinHttpCloseHandle(third));
  assert_true(WinHttpCloseHandle(after));
  close_all(&h);
}

/* --- other ---------------------------------------------------------------- */

/* No Win32 event objects exist on Linux: refused, not ignored. */
static void test_unload_notify_event(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  void *event = &h;
  assert_int_equal(set_opt(h.s, WINHTTP_OPTION_UNLOAD_NOTIFY_EVENT, &event, sizeof(event)),
                   ERROR_CALL_NOT_IMPLEMENTED);
  close_all(&h);
}

/* Allocation failures while setting or querying strings: an error, no
 * leak (ASan), the old value kept. */
static void test_out_of_memory(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h, 0);
  assert_int_equal(set_opt(h.r, WINHTTP_OPTION_USERNAME, L"old", 3), OK);
  wh_mem_fail_after(0);
  DWORD err = set_opt(h.r, WINHTTP_OPTION_USERNAME, L"new", 3);
  DWORD err2 = set_opt(h.s, WINHTTP_OPTION_USER_AGENT, L"new", 3);
  WCHAR buf[16];
  DWORD len = sizeof(buf);
  DWORD err3 = query_opt(h.r, WINHTTP_OPTION_USERNAME, buf, &len);
  WINHTTP_PROXY_INFO set = {WINHTTP_ACCESS_TYPE_NAMED_PROXY, (LPWSTR)L"p:1", NULL};
  DWORD err4 = set_opt(h.s, WINHTTP_OPTION_PROXY, &set, sizeof(set));
  wh_mem_fail_reset();
  assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
  assert_int_equal(err2, ERROR_NOT_ENOUGH_MEMORY);
  assert_int_equal(err3, ERROR_NOT_ENOUGH_MEMORY);
  assert_int_equal(err4, ERROR_NOT_ENOUGH_MEMORY);
  assert_int_equal(get_str(h.r, WINHTTP_OPTION_USERNAME, buf, 16), 3 * sizeof(WCHAR));
  assert_true(wcscmp(buf, L"old") == 0);
  close_all(&h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_invalid_handles),
    cmocka_unit_test(test_unknown_and_unsupported_options),
    cmocka_unit_test(test_query_buffer_protocol),
    cmocka_unit_test(test_set_length_and_value_rules),
    cmocka_unit_test(test_handle_type_rules),
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_value_validation),
    cmocka_unit_test(test_write_only_values_stored),
    cmocka_unit_test(test_enable_feature),
    cmocka_unit_test(test_websocket_options),
    cmocka_unit_test(test_max_conns),
    cmocka_unit_test(test_handle_type_and_parent),
    cmocka_unit_test(test_callback_option),
    cmocka_unit_test(test_context_value_option),
    cmocka_unit_test(test_worker_thread_count),
    cmocka_unit_test(test_connection_state_options),
    cmocka_unit_test(test_client_cert_context),
    cmocka_unit_test(test_security_flags_round_trip),
    cmocka_unit_test(test_credentials),
    cmocka_unit_test(test_user_agent),
    cmocka_unit_test(test_url_option),
    cmocka_unit_test(test_proxy_option),
    cmocka_unit_test(test_inheritance),
    cmocka_unit_test(test_unload_notify_event),
    cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
