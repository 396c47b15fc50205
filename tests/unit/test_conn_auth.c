/* Connection-based authentication (issue 10: NTLM, Negotiate) against the
 * fault server's /ntlm scenario, which plays the server side of an NTLM
 * handshake without checking the tokens, only where they arrive: the
 * authenticate message must come on the connection of the negotiate
 * message, after a 401 whose 10 KB body had to be read first (Wine's
 * test_large_data_authentication on Windows). The client side is the real
 * gss-ntlmssp mechanism through GSSAPI. Kerberos (Negotiate) runs against a
 * real realm in test_negotiate.c. */
#include "wh_test.h"
#include "peers.h"
#include "auth_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "net/conn.h"

static struct wh_peer fault;

/* NTLM credentials for |target| of |r|: bob of domain WINHTTP, as the
 * fault server's /ntlm expects. */
static void ntlm_as_bob(HINTERNET r, DWORD target)
{
  assert_true(WinHttpSetCredentials(r, target, WINHTTP_AUTH_SCHEME_NTLM, L"WINHTTP\\bob", L"pw",
                                    NULL));
}

/* A synchronous GET of |path| with bob's NTLM credentials fails with
 * ERROR_WINHTTP_LOGIN_FAILURE. */
static void expect_login_failure(const wchar_t *path)
{
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), path, 0, 0);
  ntlm_as_bob(h.r, WINHTTP_AUTH_TARGET_SERVER);
  char body[4096];
  DWORD err;
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 0);
  assert_int_equal(err, ERROR_WINHTTP_LOGIN_FAILURE);
  wh_h3_close(&h);
}

static int setup(void **state)
{
  (void)state;
  /* The user's own NTLM identity would come from here: none in the tests
   * unless one sets it. */
  unsetenv("NTLM_USER_FILE");
  return wh_peer_start_fault(&fault);
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault);
  return 0;
}

static void ntlm_with_set_credentials(const wchar_t *path)
{
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), path, 0, 0);
  ntlm_as_bob(h.r, WINHTTP_AUTH_TARGET_SERVER);
  static char body[32768];
  DWORD err;
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "authorized");
  /* The handshake's headers are the engine's, never the request's. */
  WCHAR raw[2048];
  DWORD len = sizeof(raw);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_RAW_HEADERS_CRLF |
                                  WINHTTP_QUERY_FLAG_REQUEST_HEADERS, NULL, raw, &len, NULL));
  assert_null(wcsstr(raw, L"Authorization"));
  WCHAR spn[64];
  len = sizeof(spn);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SERVER_SPN_USED, spn, &len));
  assert_true(wcscmp(spn, L"HTTP/127.0.0.1") == 0);
  wh_h3_close(&h);
}

/* Three legs on one connection, each 401 carrying 10 KB to read first. */
static void test_ntlm_large_401_body(void **state)
{
  (void)state;
  ntlm_with_set_credentials(L"/ntlm?n=10240");
}

static void test_ntlm_chunked_401_body(void **state)
{
  (void)state;
  ntlm_with_set_credentials(L"/ntlm?n=10240&chunked=1");
}

/* Larger than MAX_RESPONSE_DRAIN_SIZE: the connection is not worth
 * keeping, so the authenticate message goes on a new one and the server
 * refuses it. The handshake cannot be completed; the 401 is the answer. */
static void test_ntlm_drain_limit(void **state)
{
  (void)state;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), L"/ntlm?n=20000", 0, 0);
  DWORD limit = 4096;
  assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_MAX_RESPONSE_DRAIN_SIZE, &limit,
                               sizeof(limit)));
  ntlm_as_bob(h.r, WINHTTP_AUTH_TARGET_SERVER);
  static char body[32768];
  DWORD err;
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 401);
  assert_string_equal(body, "wrong connection");
  wh_h3_close(&h);
}

/* Credentials from the options answer an NTLM challenge unasked. */
static void test_ntlm_from_options(void **state)
{
  (void)state;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), L"/ntlm?n=100", 0, 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, L"WINHTTP\\bob");
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, L"pw");
  char body[4096];
  DWORD err;
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "authorized");
  wh_h3_close(&h);
}

/* No credentials: a host with dots is not the intranet, so the default
 * credentials are not offered (AUTOLOGON_POLICY MEDIUM); with LOW they are
 * tried, and since this process has no NTLM identity the 401 stands. */
static void test_ntlm_no_credentials(void **state)
{
  (void)state;
  DWORD policies[] = {WINHTTP_AUTOLOGON_SECURITY_LEVEL_MEDIUM,
                      WINHTTP_AUTOLOGON_SECURITY_LEVEL_LOW};
  for (size_t i = 0; i < 2; i++) {
    struct wh_h3 h;
    wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), L"/ntlm?n=100", 0, 0);
    assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_AUTOLOGON_POLICY, &policies[i],
                                 sizeof(DWORD)));
    char body[4096];
    DWORD err;
    assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 401);
    DWORD supported = 0, first = 0, target = 99;
    assert_true(WinHttpQueryAuthSchemes(h.r, &supported, &first, &target));
    assert_int_equal(supported, WINHTTP_AUTH_SCHEME_NTLM);
    wh_h3_close(&h);
  }
}

/* The application's loop: the 401, then WinHttpSetCredentials(NTLM) and a
 * second send on the same handle. */
static void test_ntlm_documented_loop(void **state)
{
  (void)state;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), L"/ntlm?n=10240", 0, 0);
  static char body[32768];
  DWORD err;
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 401);
  DWORD supported = 0, first = 0, target = 99;
  assert_true(WinHttpQueryAuthSchemes(h.r, &supported, &first, &target));
  assert_int_equal(first, WINHTTP_AUTH_SCHEME_NTLM);
  assert_int_equal(target, WINHTTP_AUTH_TARGET_SERVER);
  assert_true(WinHttpSetCredentials(h.r, target, first, L"WINHTTP\\bob", L"pw", NULL));
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "authorized");
  wh_h3_close(&h);
}

/* A challenge the mechanism cannot read: the application chose NTLM, so
 * the request fails with ERROR_WINHTTP_LOGIN_FAILURE. */
static void test_ntlm_garbage_challenge(void **state)
{
  (void)state;
  expect_login_failure(L"/ntlm?n=100&garbage=1");
}

/* A server that challenges for ever: the handshake is complete after the
 * authenticate message, so a further challenge ends it (a login failure
 * when the application chose the scheme, the 401 when the engine did). */
static void test_ntlm_endless(void **state)
{
  (void)state;
  expect_login_failure(L"/ntlm?n=100&endless=1");
  struct wh_h3 h;
  char body[4096];
  DWORD err;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), L"/ntlm?n=100&endless=1", 0, 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, L"WINHTTP\\bob");
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, L"pw");
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 401);
  wh_h3_close(&h);
}

/* WINHTTP_DISABLE_AUTHENTICATION: the challenge is the application's. */
static void test_ntlm_disabled(void **state)
{
  (void)state;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), L"/ntlm?n=100", 0, 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, L"WINHTTP\\bob");
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, L"pw");
  DWORD off = WINHTTP_DISABLE_AUTHENTICATION;
  assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_DISABLE_FEATURE, &off, sizeof(off)));
  char body[4096];
  DWORD err;
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 401);
  wh_h3_close(&h);
}

/* Asynchronously: the legs run on the loop thread, the bodies drained
 * there; the application sees one SENDREQUEST_COMPLETE and one
 * HEADERS_AVAILABLE. */
static void test_ntlm_async(void **state)
{
  (void)state;
  const wchar_t *paths[] = {L"/ntlm?n=10240", L"/ntlm?n=10240&chunked=1"};
  for (size_t i = 0; i < 2; i++) {
    struct wh_async_wait w = WH_ASYNC_WAIT_INIT;
    struct wh_h3 h;
    wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), paths[i], WINHTTP_FLAG_ASYNC, 0);
    WinHttpSetStatusCallback(h.r, wh_async_wait_cb, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
    ntlm_as_bob(h.r, WINHTTP_AUTH_TARGET_SERVER);
    assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, (DWORD_PTR)&w));
    assert_int_equal(wh_async_wait_next(&w), WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE);
    assert_true(WinHttpReceiveResponse(h.r, NULL));
    assert_int_equal(wh_async_wait_next(&w), WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE);
    DWORD status = 0, len = sizeof(status);
    assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                                    NULL, &status, &len, NULL));
    assert_int_equal(status, 200);
    char buf[64];
    assert_true(WinHttpReadData(h.r, buf, sizeof(buf), NULL));
    assert_int_equal(wh_async_wait_next(&w), WINHTTP_CALLBACK_STATUS_READ_COMPLETE);
    assert_int_equal(w.read, 10);
    assert_memory_equal(buf, "authorized", 10);
    wh_h3_close(&h);
  }
}

/* Closing the request in the middle of the handshake (the first 401's
 * body is still coming) cancels it: REQUEST_ERROR or nothing, then
 * HANDLE_CLOSING; no crash, no leak. */
static void test_ntlm_async_close_midway(void **state)
{
  (void)state;
  struct wh_async_wait w = WH_ASYNC_WAIT_INIT;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), L"/ntlm?n=1000000", WINHTTP_FLAG_ASYNC, 0);
  WinHttpSetStatusCallback(h.r, wh_async_wait_cb,
                           WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | WINHTTP_CALLBACK_FLAG_HANDLES,
                           0);
  ntlm_as_bob(h.r, WINHTTP_AUTH_TARGET_SERVER);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, (DWORD_PTR)&w));
  assert_int_equal(wh_async_wait_next(&w), WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  wh_h3_close(&h);
  /* |w| lives on this stack: the callbacks end with HANDLE_CLOSING. */
  wh_async_wait_closed(&w);
}

/* A connection an NTLM handshake authenticated is the handle's alone:
 * another request (no credentials) never inherits it from the pool, while
 * the same handle's next send does reuse it. The fault server's /count
 * says how many requests its connection carried. */
static void test_authenticated_connection_not_shared(void **state)
{
  (void)state;
  wh_pool_clear();
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), L"/ntlm?n=10", 0, 0);
  ntlm_as_bob(h.r, WINHTTP_AUTH_TARGET_SERVER);
  char body[4096];
  DWORD err;
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  HINTERNET other = WinHttpOpenRequest(h.c, L"GET", L"/count", NULL, NULL, NULL, 0);
  assert_non_null(other);
  assert_int_equal(wh_h3_run(other, body, sizeof(body), &err), 200);
  assert_string_equal(body, "1"); /* a connection of its own */
  WinHttpCloseHandle(other);
  wh_h3_close(&h);
}

/* Through a proxy whose CONNECT needs an NTLM handshake: the CONNECTs of
 * its three legs go on one connection (each 407's body drained), then TLS
 * to the origin inside the tunnel. Without credentials the 407 is the
 * response (a proxy's); the application's loop then answers it. */
static void proxy_session(struct wh_h3 *h, const struct wh_peer *px, const struct wh_peer *origin)
{
  wchar_t name[64];
  swprintf(name, 64, L"127.0.0.1:%u", (unsigned)wh_peer_port(px));
  h->s = WinHttpOpen(L"conn-auth", WINHTTP_ACCESS_TYPE_NAMED_PROXY, name, L"<-loopback>", 0);
  assert_non_null(h->s);
  h->c = WinHttpConnect(h->s, L"127.0.0.1", wh_peer_port(origin), 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, L"GET", L"/ok?n=5", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(h->r);
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  assert_true(WinHttpSetOption(h->r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags)));
}

static void test_ntlm_proxy_connect(void **state)
{
  (void)state;
  struct wh_peer px = {0}, origin = {0};
  assert_int_equal(wh_peer_start_proxy(&px, "--connect-ntlm"), 0);
  assert_int_equal(wh_peer_start_fault_tls(&origin, WH_CERT_GOOD), 0);
  struct wh_h3 h;
  char body[8192];
  DWORD err;

  proxy_session(&h, &px, &origin);
  ntlm_as_bob(h.r, WINHTTP_AUTH_TARGET_PROXY);
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "abcde");
  wh_h3_close(&h);

  proxy_session(&h, &px, &origin);
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 407);
  BOOL is_proxy = FALSE;
  DWORD len = sizeof(is_proxy);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_IS_PROXY_CONNECT_RESPONSE, &is_proxy, &len));
  assert_true(is_proxy);
  DWORD supported = 0, first = 0, target = 99;
  assert_true(WinHttpQueryAuthSchemes(h.r, &supported, &first, &target));
  assert_int_equal(target, WINHTTP_AUTH_TARGET_PROXY);
  assert_true(WinHttpSetCredentials(h.r, target, first, L"WINHTTP\\bob", L"pw", NULL));
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "abcde");
  wh_h3_close(&h);

  wh_pool_clear();
  wh_peer_stop(&origin);
  wh_peer_stop(&px);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ntlm_large_401_body),
      cmocka_unit_test(test_ntlm_chunked_401_body),
      cmocka_unit_test(test_ntlm_drain_limit),
      cmocka_unit_test(test_ntlm_from_options),
      cmocka_unit_test(test_ntlm_no_credentials),
      cmocka_unit_test(test_ntlm_documented_loop),
      cmocka_unit_test(test_ntlm_garbage_challenge),
      cmocka_unit_test(test_ntlm_endless),
      cmocka_unit_test(test_ntlm_disabled),
      cmocka_unit_test(test_ntlm_async),
      cmocka_unit_test(test_ntlm_async_close_midway),
      cmocka_unit_test(test_authenticated_connection_not_shared),
      cmocka_unit_test(test_ntlm_proxy_connect),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
