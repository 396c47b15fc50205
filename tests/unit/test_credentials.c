/* Credentials (issue 10, Basic): WinHttpSetCredentials and the credential
 * options against the fault server's /auth and /proxy-auth scenarios,
 * which answer 200 "authorized" only to "Basic base64(user:pass)" and
 * otherwise challenge (401 WWW-Authenticate / 407 Proxy-Authenticate) with
 * the schemes of ?schemes=. For /proxy-auth the fault server plays an HTTP
 * proxy: the session names it, the request goes to it in absolute form. */
#include "wh_test.h"
#include "peers.h"
#include "auth_test.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "net/conn.h"

static struct wh_peer fault;

static int setup(void **state)
{
  (void)state;
  return wh_peer_start_fault(&fault);
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault);
  return 0;
}

/* Sends, receives, reads the body into |body|; returns the status (a
 * cmocka failure if a call fails). */
static DWORD run(HINTERNET r, char *body, size_t cap)
{
  DWORD err, status = wh_h3_run(r, body, cap, &err);
  if (!status)
    fail_msg("SendRequest/ReceiveResponse: %lu", (unsigned long)err);
  return status;
}

#define AUTH L"/auth?schemes=basic&user=alice&pass=s3cret"

static void test_no_credentials_401(void **state)
{
  (void)state;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), AUTH, 0, 0);
  char body[256];
  assert_int_equal(run(h.r, body, sizeof(body)), 401);
  assert_string_equal(body, "unauthorized");
  wh_h3_close(&h);
}

/* SetCredentials for Basic: sent with the first send (no challenge needed). */
static void test_set_credentials_first(void **state)
{
  (void)state;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), AUTH, 0, 0);
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_BASIC,
                                    L"alice", L"s3cret", NULL));
  char body[256];
  assert_int_equal(run(h.r, body, sizeof(body)), 200);
  assert_string_equal(body, "authorized");
  /* Never part of the request headers the application can read. */
  WCHAR raw[2048];
  DWORD len = sizeof(raw);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_RAW_HEADERS_CRLF |
                                  WINHTTP_QUERY_FLAG_REQUEST_HEADERS, NULL, raw, &len, NULL));
  assert_null(wcsstr(raw, L"Authorization"));
  wh_h3_close(&h);
}

/* The documented loop: 401, QueryAuthSchemes, SetCredentials, send again. */
static void test_documented_loop(void **state)
{
  (void)state;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), AUTH, 0, 0);
  char body[256];
  assert_int_equal(run(h.r, body, sizeof(body)), 401);
  DWORD supported = 0, first = 0, target = 99;
  assert_true(WinHttpQueryAuthSchemes(h.r, &supported, &first, &target));
  assert_true(supported & WINHTTP_AUTH_SCHEME_BASIC);
  assert_int_equal(target, WINHTTP_AUTH_TARGET_SERVER);
  assert_true(WinHttpSetCredentials(h.r, target, WINHTTP_AUTH_SCHEME_BASIC, L"alice", L"s3cret",
                                    NULL));
  assert_int_equal(run(h.r, body, sizeof(body)), 200);
  assert_string_equal(body, "authorized");
  wh_h3_close(&h);
}

/* USERNAME/PASSWORD set beforehand: the 401 offering Basic is answered
 * automatically; wrong ones are tried once, then the 401 is the answer. */
static void test_options_answer_challenge(void **state)
{
  (void)state;
  struct wh_h3 h;
  char body[256];
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), AUTH, 0, 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, L"alice");
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, L"s3cret");
  assert_int_equal(run(h.r, body, sizeof(body)), 200);
  assert_string_equal(body, "authorized");
  wh_h3_close(&h);

  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), AUTH, 0, 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, L"alice");
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, L"wrong");
  assert_int_equal(run(h.r, body, sizeof(body)), 401);
  wh_h3_close(&h);

  /* A challenge the credentials cannot satisfy (this server takes only
   * Basic, yet offers NTLM and Negotiate: the NTLM handshake it starts
   * gets no challenge token back, and Kerberos knows no realm here) is
   * left to the application. */
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault),
             L"/auth?schemes=ntlm,negotiate&user=alice&pass=s3cret", 0, 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, L"alice");
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, L"s3cret");
  assert_int_equal(run(h.r, body, sizeof(body)), 401);
  wh_h3_close(&h);

  /* WINHTTP_DISABLE_AUTHENTICATION: never answered. */
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), AUTH, 0, 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, L"alice");
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, L"s3cret");
  DWORD off = WINHTTP_DISABLE_AUTHENTICATION;
  assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_DISABLE_FEATURE, &off, sizeof(off)));
  assert_int_equal(run(h.r, body, sizeof(body)), 401);
  wh_h3_close(&h);
}

/* A redirect to another origin takes no credentials along. */
static void test_not_sent_to_another_origin(void **state)
{
  (void)state;
  wchar_t path[256];
  swprintf(path, 256, L"/redirect?to=http://localhost:%u" AUTH, wh_peer_port(&fault));
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), path, 0, 0);
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_BASIC,
                                    L"alice", L"s3cret", NULL));
  char body[256];
  assert_int_equal(run(h.r, body, sizeof(body)), 401);
  wh_h3_close(&h);
}

static void test_set_credentials_arguments(void **state)
{
  (void)state;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), AUTH, 0, 0);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_BASIC,
                                     NULL, NULL, NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_false(WinHttpSetCredentials(h.r, 7, WINHTTP_AUTH_SCHEME_BASIC, L"a", L"b", NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_false(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, 3, L"a", L"b", NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_false(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_DIGEST,
                                     NULL, L"b", NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  /* NTLM and Negotiate take a user, or none: the default credentials. */
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_NTLM,
                                    L"a", L"b", NULL));
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER,
                                    WINHTTP_AUTH_SCHEME_NEGOTIATE, NULL, NULL, NULL));
  assert_false(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER,
                                     WINHTTP_AUTH_SCHEME_PASSPORT, L"a", L"b", NULL));
  assert_last_error(ERROR_CALL_NOT_IMPLEMENTED);
  assert_false(WinHttpSetCredentials(h.c, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_BASIC,
                                     L"a", L"b", NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_false(WinHttpSetCredentials(NULL, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_BASIC,
                                     L"a", L"b", NULL));
  assert_last_error(ERROR_INVALID_HANDLE);
  /* A user with no password is a user with an empty one. */
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_BASIC,
                                    L"alice", NULL, NULL));
  wh_h3_close(&h);
}

/* Proxy credentials, with the fault server as the HTTP proxy: a 407
 * offering Basic is answered with Proxy-Authorization. */
static void test_proxy_basic(void **state)
{
  (void)state;
  wchar_t proxy[64];
  swprintf(proxy, 64, L"127.0.0.1:%u", wh_peer_port(&fault));
  HINTERNET s = WinHttpOpen(L"creds", WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy, NULL, 0);
  assert_non_null(s);
  HINTERNET c = WinHttpConnect(s, L"origin.invalid", 80, 0);
  assert_non_null(c);
  char body[256];
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/proxy-auth?schemes=basic&user=bob&pass=pw",
                                   NULL, NULL, NULL, 0);
  assert_int_equal(run(r, body, sizeof(body)), 407);
  DWORD supported = 0, first = 0, target = 99;
  assert_true(WinHttpQueryAuthSchemes(r, &supported, &first, &target));
  assert_int_equal(target, WINHTTP_AUTH_TARGET_PROXY);
  assert_true(WinHttpSetCredentials(r, WINHTTP_AUTH_TARGET_PROXY, WINHTTP_AUTH_SCHEME_BASIC,
                                    L"bob", L"pw", NULL));
  assert_int_equal(run(r, body, sizeof(body)), 200);
  assert_string_equal(body, "authorized");
  WinHttpCloseHandle(r);
  /* The options, answered automatically. */
  r = WinHttpOpenRequest(c, L"GET", L"/proxy-auth?schemes=basic&user=bob&pass=pw", NULL, NULL,
                         NULL, 0);
  wh_h3_set_str(r, WINHTTP_OPTION_PROXY_USERNAME, L"bob");
  wh_h3_set_str(r, WINHTTP_OPTION_PROXY_PASSWORD, L"pw");
  assert_int_equal(run(r, body, sizeof(body)), 200);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* Digest (RFC 7616): preferred to Basic when both are offered; MD5 and
 * SHA-256 (and their -sess forms); a stale nonce renewed without asking
 * the application; wrong credentials refused once. */
static void digest_case(const wchar_t *path, const wchar_t *pass, DWORD want)
{
  struct wh_h3 h;
  char body[256];
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), path, 0, 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, L"alice");
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, pass);
  if (run(h.r, body, sizeof(body)) != want)
    fail_msg("%ls: not %lu", path, (unsigned long)want);
  wh_h3_close(&h);
}

static void test_digest(void **state)
{
  (void)state;
  digest_case(L"/auth?schemes=digest&user=alice&pass=s3cret", L"s3cret", 200);
  digest_case(L"/auth?schemes=basic,digest&user=alice&pass=s3cret", L"s3cret", 200);
  digest_case(L"/auth?schemes=digest&algorithm=SHA-256&user=alice&pass=s3cret", L"s3cret", 200);
  digest_case(L"/auth?schemes=digest&algorithm=MD5-sess&user=alice&pass=s3cret", L"s3cret", 200);
  digest_case(L"/auth?schemes=digest&algorithm=SHA-256-sess&user=alice&pass=s3cret", L"s3cret",
              200);
  digest_case(L"/auth?schemes=digest&stale=1&user=alice&pass=s3cret", L"s3cret", 200);
  digest_case(L"/auth?schemes=digest&user=alice&pass=s3cret", L"wrong", 401);
  /* WinHttpSetCredentials with DIGEST answers the challenge (the loop). */
  struct wh_h3 h;
  char body[256];
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), L"/auth?schemes=digest&user=alice&pass=s3cret", 0, 0);
  assert_int_equal(run(h.r, body, sizeof(body)), 401);
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_DIGEST,
                                    L"alice", L"s3cret", NULL));
  assert_int_equal(run(h.r, body, sizeof(body)), 200);
  assert_string_equal(body, "authorized");
  wh_h3_close(&h);
}

/* Asynchronously: the 401 answered from the options, then the body. */
static void test_async_options(void **state)
{
  (void)state;
  struct wh_async_wait w = WH_ASYNC_WAIT_INIT;
  struct wh_h3 h;
  wh_h3_open(&h, L"127.0.0.1", wh_peer_port(&fault), AUTH, WINHTTP_FLAG_ASYNC, 0);
  WinHttpSetStatusCallback(h.r, wh_async_wait_cb, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, L"alice");
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, L"s3cret");
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

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_credentials_401),
      cmocka_unit_test(test_set_credentials_first),
      cmocka_unit_test(test_documented_loop),
      cmocka_unit_test(test_options_answer_challenge),
      cmocka_unit_test(test_not_sent_to_another_origin),
      cmocka_unit_test(test_set_credentials_arguments),
      cmocka_unit_test(test_proxy_basic),
      cmocka_unit_test(test_async_options),
      cmocka_unit_test(test_digest),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
