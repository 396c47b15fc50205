/* Tests of policy/bypass.c and WinHttpIsHostInProxyBypassList. The list
 * syntax is Microsoft's WINHTTP_PROXY_INFO description (separators, <local>)
 * plus the WinINet wildcard, scheme and port forms; see bypass.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winhttp.h>

#include "policy/bypass.h"

#define HTTP WH_BYPASS_SCHEME_HTTP
#define HTTPS WH_BYPASS_SCHEME_HTTPS
#define FTP WH_BYPASS_SCHEME_FTP
#define SOCKS WH_BYPASS_SCHEME_SOCKS

static const struct row {
  const char *list;
  const char *host;
  int scheme;
  uint16_t port;
  bool want;
} rows[] = {
    /* <local>: names without a period (WINHTTP_PROXY_INFO). */
    {"<local>", "intranet", HTTP, 0, true},
    {"<local>", "localhost", HTTP, 0, true},
    {"<LOCAL>", "server", HTTPS, 443, true},
    {"<local>", "www.example.com", HTTP, 0, false},
    {"<local>", "server.", HTTP, 0, false},
    {"<local>", "127.0.0.1", HTTP, 0, false},
    {"<local>", "::1", HTTP, 0, false},
    {"<local>", "[::1]", HTTP, 0, false},
    {"<local>", "", HTTP, 0, false},
    {"<-loopback>", "localhost", HTTP, 0, false},
    {"<foo>", "<foo>", HTTP, 0, false},
    /* Exact names, case-insensitively. */
    {"example.com", "example.com", HTTP, 0, true},
    {"Example.COM", "eXample.com", HTTP, 0, true},
    {"example.com", "www.example.com", HTTP, 0, false},
    {"example.com", "example.co", HTTP, 0, false},
    {"example.co", "example.com", HTTP, 0, false},
    /* Wildcards. */
    {"*.example.com", "www.example.com", HTTP, 0, true},
    {"*.example.com", "a.b.example.com", HTTP, 0, true},
    {"*.EXAMPLE.com", "WWW.Example.COM", HTTP, 0, true},
    {"*.example.com", "example.com", HTTP, 0, false},
    {"*.example.com", "wwwexample.com", HTTP, 0, false},
    {"*.example.com", "www.example.com.evil.org", HTTP, 0, false},
    {"*.example.com", "www.example.com.", HTTP, 0, false},
    {"*example*", "myexample.org", HTTP, 0, true},
    {"*example*", "example", HTTP, 0, true},
    {"*example*", "exampl.org", HTTP, 0, false},
    {"10.*", "10.1.2.3", HTTP, 0, true},
    {"10.*", "110.1.2.3", HTTP, 0, false},
    {"192.168.*.*", "192.168.0.1", HTTP, 0, true},
    {"192.168.*.*", "192.169.0.1", HTTP, 0, false},
    {"a*b*c", "aXXbYYc", HTTP, 0, true},
    {"a*b*c", "aXXbYY", HTTP, 0, false},
    {"a*b*c", "abcbc", HTTP, 0, true},
    {"**", "x", HTTP, 0, true},
    {"*", "anything.at.all", HTTPS, 8443, true},
    {"*", "", HTTP, 0, false},
    /* Separators: semicolons and whitespace (documented), commas (ours). */
    {"foo.com;bar.com", "bar.com", HTTP, 0, true},
    {"foo.com bar.com", "bar.com", HTTP, 0, true},
    {"foo.com\tbar.com\r\nbaz.com", "baz.com", HTTP, 0, true},
    {"foo.com,bar.com", "bar.com", HTTP, 0, true},
    {";;  ;foo.com;;", "foo.com", HTTP, 0, true},
    {"foo.com; <local> ;*.corp", "host", HTTP, 0, true},
    {"foo.com; <local> ;*.corp", "x.corp", HTTP, 0, true},
    {"foo.com; <local> ;*.corp", "x.corp.com", HTTP, 0, false},
    {"", "foo.com", HTTP, 0, false},
    {";;;", "foo.com", HTTP, 0, false},
    /* Scheme prefixes. */
    {"http://foo.com", "foo.com", HTTP, 0, true},
    {"http://foo.com", "foo.com", HTTPS, 0, false},
    {"HTTPS://foo.com", "foo.com", HTTPS, 443, true},
    {"ftp://foo.com", "foo.com", HTTP, 0, false},
    {"ftp://foo.com", "foo.com", FTP, 0, true},
    {"socks://proxyhost", "proxyhost", SOCKS, 0, true},
    {"gopher://foo.com", "foo.com", HTTP, 0, false},
    {"http://", "foo.com", HTTP, 0, false},
    {"http://*.example.com", "www.example.com", HTTP, 0, true},
    /* Ports; 0 in the query means the scheme's default. */
    {"foo.com:8080", "foo.com", HTTP, 8080, true},
    {"foo.com:8080", "foo.com", HTTP, 80, false},
    {"foo.com:8080", "foo.com", HTTP, 0, false},
    {"foo.com:80", "foo.com", HTTP, 0, true},
    {"foo.com:443", "foo.com", HTTPS, 0, true},
    {"foo.com:443", "foo.com", HTTP, 0, false},
    {"foo.com:21", "foo.com", FTP, 0, true},
    {"foo.com:1080", "foo.com", SOCKS, 0, true},
    {"foo.com:*", "foo.com", HTTP, 1234, true},
    {"foo.com:", "foo.com", HTTP, 1234, true},
    {"foo.com:99999", "foo.com", HTTP, 0, false},
    {"foo.com:8o", "foo.com", HTTP, 0, false},
    {"foo.com:-1", "foo.com", HTTP, 0, false},
    {"https://foo.com:8443", "foo.com", HTTPS, 8443, true},
    {"https://foo.com:8443", "foo.com", HTTP, 8443, false},
    {"10.0.0.1:21", "10.0.0.1", FTP, 0, true},
    {"*:8080", "anything", HTTP, 8080, true},
    {"*:8080", "anything", HTTP, 8081, false},
    /* IPv6 literals, bracketed or not, compared as addresses. */
    {"[::1]", "::1", HTTP, 0, true},
    {"[::1]", "[::1]", HTTP, 0, true},
    {"::1", "0:0:0:0:0:0:0:1", HTTP, 0, true},
    {"[0:0::1]", "[::0001]", HTTP, 0, true},
    {"[::1]:8080", "::1", HTTP, 8080, true},
    {"[::1]:8080", "::1", HTTP, 80, false},
    {"[::1]", "::2", HTTP, 0, false},
    {"[fe80::*]", "fe80::1", HTTP, 0, true},
    {"fe80::*", "FE80::abcd", HTTP, 0, true},
    {"fe80::*", "fe81::abcd", HTTP, 0, false},
    {"[2001:db8::1]", "2001:db8:0:0:0:0:0:2", HTTP, 0, false},
    {"[2001:DB8::1]", "2001:db8:0:0:0:0:0:1", HTTP, 0, true},
    {"[::ffff:10.0.0.1]", "::ffff:a00:1", HTTP, 0, true},
    {"[::]", "0:0:0:0:0:0:0:0", HTTP, 0, true},
    {"[1::]", "1:0:0:0:0:0:0:0", HTTP, 0, true},
    {"[::1", "::1", HTTP, 0, false},
    {"[::1]x", "::1", HTTP, 0, false},
    {"[1:2:3:4:5:6:7:8:9]", "1:2:3:4:5:6:7:8:9", HTTP, 0, true}, /* not an address: text */
    {"[1::2::3]", "1::2::3", HTTP, 0, true},                       /* same */
    {"[1::2::3]", "1:0:2:0:3::", HTTP, 0, false},
};

static void test_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    const struct row *r = &rows[i];
    /* Exactly sized copies: AddressSanitizer catches any over-read. */
    size_t ll = strlen(r->list), hl = strlen(r->host);
    char *list = malloc(ll ? ll : 1), *host = malloc(hl ? hl : 1);
    assert_non_null(list);
    assert_non_null(host);
    memcpy(list, r->list, ll);
    memcpy(host, r->host, hl);
    bool got = wh_bypass_match(list, ll, host, hl, r->scheme, r->port);
    free(list);
    free(host);
    if (got != r->want) {
      print_error("row %zu: list '%s' host '%s' scheme %d port %u: got %d\n", i, r->list,
                  r->host, r->scheme, r->port, got);
      fail();
    }
  }
  assert_true(sizeof(rows) / sizeof(rows[0]) >= 40);
}

static void test_default_ports(void **state)
{
  (void)state;
  assert_int_equal(wh_bypass_default_port(HTTP), 80);
  assert_int_equal(wh_bypass_default_port(HTTPS), 443);
  assert_int_equal(wh_bypass_default_port(FTP), 21);
  assert_int_equal(wh_bypass_default_port(SOCKS), 1080);
  assert_int_equal(wh_bypass_default_port(0), 0);
  assert_int_equal(wh_bypass_default_port(5), 0);
}

static void test_every_prefix(void **state)
{
  (void)state;
  /* Truncated lists and hosts never read past their ends. */
  const char *list = "http://[fe80::1]:8080; <local> ,*.a.b:*;https://x:1;[::ffff:1.2.3.4]";
  const char *host = "[fe80:0:0:0:0:0:0:1]";
  size_t ll = strlen(list), hl = strlen(host);
  for (size_t a = 0; a <= ll; a++) {
    for (size_t b = 0; b <= hl; b++) {
      char *l = malloc(a ? a : 1), *h = malloc(b ? b : 1);
      assert_non_null(l);
      assert_non_null(h);
      memcpy(l, list, a);
      memcpy(h, host, b);
      (void)wh_bypass_match(l, a, h, b, HTTP, 8080);
      free(l);
      free(h);
    }
  }
}

static void test_long_glob(void **state)
{
  (void)state;
  /* Many stars against a long near-miss stays quick (no exponential
   * backtracking). */
  char pat[512], host[4096];
  size_t n = 0;
  for (int i = 0; i < 200; i++) {
    pat[n++] = '*';
    pat[n++] = 'a';
  }
  pat[n++] = 'b';
  memset(host, 'a', sizeof(host));
  assert_false(wh_bypass_match(pat, n, host, sizeof(host), HTTP, 0));
  host[sizeof(host) - 1] = 'b';
  assert_true(wh_bypass_match(pat, n, host, sizeof(host), HTTP, 0));
}

/* ---- the WinHTTP API --------------------------------------------------- */

static WCHAR *widen(const char *s)
{
  size_t n = strlen(s);
  WCHAR *w = malloc((n + 1) * sizeof(WCHAR));
  assert_non_null(w);
  for (size_t i = 0; i <= n; i++)
    w[i] = (WCHAR)(unsigned char)s[i];
  return w;
}

static void test_api_arguments(void **state)
{
  (void)state;
  WCHAR list[] = L"*.example.com";
  WINHTTP_PROXY_INFO info = {WINHTTP_ACCESS_TYPE_NAMED_PROXY, NULL, list};
  BOOL in = 7;

  /* It reports through its return value, not the last error. */
  SetLastError(0xdeadbeef);
  assert_int_equal(WinHttpIsHostInProxyBypassList(NULL, L"www.example.com", INTERNET_SCHEME_HTTP,
                                                  80, &in),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(GetLastError(), 0xdeadbeef);
  assert_int_equal(in, 7);
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, NULL, INTERNET_SCHEME_HTTP, 80, &in),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"www.example.com",
                                                  INTERNET_SCHEME_HTTP, 80, NULL),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(in, 7);

  /* Schemes outside INTERNET_SCHEME_*. */
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"www.example.com", (INTERNET_SCHEME)0,
                                                  80, &in),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"www.example.com", (INTERNET_SCHEME)5,
                                                  80, &in),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"www.example.com", (INTERNET_SCHEME)-1,
                                                  80, &in),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(in, 7);

  /* Access types outside WINHTTP_ACCESS_TYPE_*. */
  info.dwAccessType = 2;
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"www.example.com",
                                                  INTERNET_SCHEME_HTTP, 80, &in),
                   ERROR_INVALID_PARAMETER);
  info.dwAccessType = 0xdeadbeef;
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"www.example.com",
                                                  INTERNET_SCHEME_HTTP, 80, &in),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(in, 7);

  /* Every documented access type consults the list. */
  static const DWORD types[] = {WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, WINHTTP_ACCESS_TYPE_NO_PROXY,
                                WINHTTP_ACCESS_TYPE_NAMED_PROXY,
                                WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY};
  for (size_t i = 0; i < 4; i++) {
    info.dwAccessType = types[i];
    in = 7;
    assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"www.example.com",
                                                    INTERNET_SCHEME_HTTPS, 0, &in),
                     ERROR_SUCCESS);
    assert_int_equal(in, TRUE);
    in = 7;
    assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"example.com",
                                                    INTERNET_SCHEME_HTTPS, 0, &in),
                     ERROR_SUCCESS);
    assert_int_equal(in, FALSE);
  }

  /* No list: nothing is bypassed. An empty host matches nothing. */
  info.dwAccessType = WINHTTP_ACCESS_TYPE_NAMED_PROXY;
  info.lpszProxyBypass = NULL;
  in = 7;
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"www.example.com",
                                                  INTERNET_SCHEME_HTTP, 80, &in),
                   ERROR_SUCCESS);
  assert_int_equal(in, FALSE);
  info.lpszProxyBypass = list;
  in = 7;
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, L"", INTERNET_SCHEME_HTTP, 80, &in),
                   ERROR_SUCCESS);
  assert_int_equal(in, FALSE);
}

static void test_api_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    const struct row *r = &rows[i];
    WCHAR *list = widen(r->list), *host = widen(r->host);
    WINHTTP_PROXY_INFO info = {WINHTTP_ACCESS_TYPE_NAMED_PROXY, NULL, list};
    BOOL in = 7;
    DWORD err = WinHttpIsHostInProxyBypassList(&info, host, (INTERNET_SCHEME)r->scheme, r->port,
                                               &in);
    free(list);
    free(host);
    assert_int_equal(err, ERROR_SUCCESS);
    if (in != (r->want ? TRUE : FALSE)) {
      print_error("row %zu: list '%s' host '%s': got %d\n", i, r->list, r->host, in);
      fail();
    }
  }
}

static void test_api_non_ascii(void **state)
{
  (void)state;
  /* Non-ASCII names compare byte for byte after UTF-8 conversion (no case
   * folding outside ASCII, no IDNA). */
  WCHAR list[] = {'*', '.', 0x00E9, 'x', '.', 'c', 'o', 'm', ';', 0x4E2D, 0};
  WINHTTP_PROXY_INFO info = {WINHTTP_ACCESS_TYPE_NAMED_PROXY, NULL, list};
  BOOL in;
  WCHAR h1[] = {'w', '.', 0x00E9, 'X', '.', 'C', 'O', 'M', 0};
  WCHAR h2[] = {'w', '.', 0x00C9, 'x', '.', 'c', 'o', 'm', 0};
  WCHAR h3[] = {0x4E2D, 0};
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, h1, INTERNET_SCHEME_HTTP, 0, &in),
                   ERROR_SUCCESS);
  assert_int_equal(in, TRUE);
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, h2, INTERNET_SCHEME_HTTP, 0, &in),
                   ERROR_SUCCESS);
  assert_int_equal(in, FALSE);
  assert_int_equal(WinHttpIsHostInProxyBypassList(&info, h3, INTERNET_SCHEME_HTTP, 0, &in),
                   ERROR_SUCCESS);
  assert_int_equal(in, TRUE);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),        cmocka_unit_test(test_default_ports),
      cmocka_unit_test(test_every_prefix), cmocka_unit_test(test_long_glob),
      cmocka_unit_test(test_api_arguments), cmocka_unit_test(test_api_table),
      cmocka_unit_test(test_api_non_ascii),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
