/* WinHttpQueryAuthSchemes: the challenge parser (policy/auth.c) on its own,
 * and the function against the fault server's 401/407 scenarios. Expected
 * values follow Wine's test_basic_request and test_multi_authentication
 * (run on Windows): unknown schemes are skipped, the first recognised one
 * is reported, no challenge is ERROR_INVALID_OPERATION, outputs untouched
 * on failure. */
#include "wh_test.h"
#include "peers.h"

#include "policy/auth.h"

#include <string.h>

static struct wh_peer fault;

static void test_parse(void **state)
{
  (void)state;
  static const struct {
    const char *v;
    DWORD supported, first;
  } rows[] = {
      {"Basic realm=\"x\"", WINHTTP_AUTH_SCHEME_BASIC, WINHTTP_AUTH_SCHEME_BASIC},
      {"basic", WINHTTP_AUTH_SCHEME_BASIC, WINHTTP_AUTH_SCHEME_BASIC},
      {"Bearer realm=\"a\", Basic realm=\"b\"", WINHTTP_AUTH_SCHEME_BASIC, WINHTTP_AUTH_SCHEME_BASIC},
      {"Digest realm=\"r, with comma\", nonce=\"n\", qop=\"auth\", NTLM",
       WINHTTP_AUTH_SCHEME_DIGEST | WINHTTP_AUTH_SCHEME_NTLM, WINHTTP_AUTH_SCHEME_DIGEST},
      {"Negotiate abc123==", WINHTTP_AUTH_SCHEME_NEGOTIATE, WINHTTP_AUTH_SCHEME_NEGOTIATE},
      {"Passport1.4 x=1", WINHTTP_AUTH_SCHEME_PASSPORT, WINHTTP_AUTH_SCHEME_PASSPORT},
      /* parameters named like schemes are not schemes */
      {"Foo basic=1, ntlm = 2", 0, 0},
      {"", 0, 0},
      {" , ,", 0, 0},
      {"Basic\"", 0, 0},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    DWORD s = 0, f = 0;
    wh_auth_parse_challenges(rows[i].v, strlen(rows[i].v), &s, &f);
    if (s != rows[i].supported || f != rows[i].first)
      fail_msg("row %zu \"%s\": supported %#x first %#x", i, rows[i].v, s, f);
  }
}

static void get(const wchar_t *path, HINTERNET *s, HINTERNET *c, HINTERNET *r)
{
  *s = WinHttpOpen(L"auth-test", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  *c = WinHttpConnect(*s, L"127.0.0.1", wh_peer_port(&fault), 0);
  *r = WinHttpOpenRequest(*c, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(*r);
  assert_true(WinHttpSendRequest(*r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(*r, NULL));
}

static void close3(HINTERNET s, HINTERNET c, HINTERNET r)
{
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_server_challenge(void **state)
{
  (void)state;
  HINTERNET s, c, r;
  get(L"/auth?schemes=bearer,ntlm,basic,negotiate", &s, &c, &r);
  DWORD sup = 0xdead, first = 0xdead, target = 0xdead;
  assert_true(WinHttpQueryAuthSchemes(r, &sup, &first, &target));
  assert_last_error(ERROR_SUCCESS);
  assert_int_equal(sup, WINHTTP_AUTH_SCHEME_NTLM | WINHTTP_AUTH_SCHEME_BASIC |
                            WINHTTP_AUTH_SCHEME_NEGOTIATE);
  assert_int_equal(first, WINHTTP_AUTH_SCHEME_NTLM);
  assert_int_equal(target, WINHTTP_AUTH_TARGET_SERVER);
  /* NULL outputs */
  SetLastError(0xdeadbeef);
  assert_false(WinHttpQueryAuthSchemes(r, NULL, &first, &target));
  assert_last_error(ERROR_INVALID_PARAMETER);
  close3(s, c, r);
}

static void test_proxy_challenge(void **state)
{
  (void)state;
  HINTERNET s, c, r;
  get(L"/proxy-auth?schemes=digest,basic", &s, &c, &r);
  DWORD sup = 0, first = 0, target = 0;
  assert_true(WinHttpQueryAuthSchemes(r, &sup, &first, &target));
  assert_int_equal(sup, WINHTTP_AUTH_SCHEME_DIGEST | WINHTTP_AUTH_SCHEME_BASIC);
  assert_int_equal(first, WINHTTP_AUTH_SCHEME_DIGEST);
  assert_int_equal(target, WINHTTP_AUTH_TARGET_PROXY);
  close3(s, c, r);
}

static void test_no_challenge(void **state)
{
  (void)state;
  HINTERNET s, c, r;
  get(L"/ok?n=10", &s, &c, &r);
  DWORD sup = 0xdead, first = 0xdead, target = 0xdead;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpQueryAuthSchemes(r, &sup, &first, &target));
  assert_last_error(ERROR_INVALID_OPERATION);
  assert_int_equal(sup, 0xdead);
  assert_int_equal(first, 0xdead);
  assert_int_equal(target, 0xdead);
  /* only unknown schemes: the same */
  close3(s, c, r);
  get(L"/auth?schemes=bearer", &s, &c, &r);
  assert_false(WinHttpQueryAuthSchemes(r, &sup, &first, &target));
  assert_last_error(ERROR_INVALID_OPERATION);
  close3(s, c, r);
}

static void test_states_and_handles(void **state)
{
  (void)state;
  DWORD a, b, t;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpQueryAuthSchemes(NULL, &a, &b, &t));
  assert_last_error(ERROR_INVALID_HANDLE);
  HINTERNET s = WinHttpOpen(L"auth-test", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_false(WinHttpQueryAuthSchemes(s, &a, &b, &t));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&fault), 0);
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/auth", NULL, NULL, NULL, 0);
  assert_false(WinHttpQueryAuthSchemes(r, &a, &b, &t));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  close3(s, c, r);
}

static int setup(void **state)
{
  (void)state;
  return wh_peer_start_fault(&fault);
}

static int teardown(void **state)
{
  (void)state;
  wh_peer_stop(&fault);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_server_challenge),
      cmocka_unit_test(test_proxy_challenge),
      cmocka_unit_test(test_no_challenge),
      cmocka_unit_test(test_states_and_handles),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
