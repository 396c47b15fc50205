/* policy/proxy_list.c: which entry of a Windows proxy list serves a scheme. */
#include "wh_test.h"

#include <string.h>

#include "policy/proxy_list.h"

static bool serves(const char *list, const char *scheme)
{
  return wh_proxy_list_serves(list, strlen(list), scheme);
}

static void test_plain_entries_serve_every_scheme(void **state)
{
  (void)state;
  assert_true(serves("proxy:3128", "http"));
  assert_true(serves("proxy:3128", "https"));
  assert_true(serves("http://proxy:3128", "https")); /* a scheme prefix, not "scheme=" */
  assert_true(serves("[::1]:3128", "http"));
  assert_true(serves("  ;proxy ", "http"));
}

static void test_per_scheme_entries(void **state)
{
  (void)state;
  assert_true(serves("http=proxy:80", "http"));
  assert_false(serves("http=proxy:80", "https"));
  assert_true(serves("http=a:1;https=b:2", "https"));
  assert_true(serves("HTTPS=b:2", "https")); /* case-insensitive */
  assert_false(serves("ftp=f:21 socks=s:1080", "http"));
  assert_true(serves("ftp=f:21 proxy:1", "http")); /* a plain entry after others */
  assert_false(serves("https=", "https")); /* names no server */
  assert_false(serves("httpx=p:1", "http"));
}

static void test_empty_lists(void **state)
{
  (void)state;
  assert_false(serves("", "http"));
  assert_false(serves(" ; \t", "https"));
  /* Not NUL-terminated: the length is respected. */
  assert_false(wh_proxy_list_serves("https=a:1;proxy:2", 9, "http"));
  assert_true(wh_proxy_list_serves("https=a:1;proxy:2", 17, "http"));
}

/* The servers to try, in order, for a scheme. */
static size_t pick(const char *list, const char *scheme, struct wh_proxy_server *out, size_t max)
{
  return wh_proxy_list_pick(list, strlen(list), scheme, out, max);
}

static void test_pick_servers(void **state)
{
  (void)state;
  struct wh_proxy_server s[4];
  assert_int_equal(pick("proxy:3128", "http", s, 4), 1);
  assert_string_equal(s[0].host, "proxy");
  assert_int_equal(s[0].port, 3128);
  assert_false(s[0].unsupported);
  /* No port: 80. A trailing slash and "http://" are dropped. */
  assert_int_equal(pick("http://proxy/", "https", s, 4), 1);
  assert_string_equal(s[0].host, "proxy");
  assert_int_equal(s[0].port, 80);
  assert_false(s[0].unsupported);
  /* Per scheme, in order, only the request's; IPv6 in brackets. */
  assert_int_equal(pick("https=a:1;http=b:2;[::1]:3;http=c", "http", s, 4), 3);
  assert_string_equal(s[0].host, "b");
  assert_int_equal(s[0].port, 2);
  assert_string_equal(s[1].host, "::1");
  assert_int_equal(s[1].port, 3);
  assert_string_equal(s[2].host, "c");
  assert_int_equal(s[2].port, 80);
  /* Not an HTTP proxy spoken in clear: kept, marked. */
  assert_int_equal(pick("http=socks5://s:1080;https=https://t:443", "http", s, 4), 1);
  assert_true(s[0].unsupported);
  assert_string_equal(s[0].host, "s");
  assert_int_equal(pick("http=socks5://s:1080;https=https://t:443", "https", s, 4), 1);
  assert_true(s[0].unsupported);
  /* Malformed entries are skipped; |max| bounds the answer. */
  assert_int_equal(pick("a:0;b:65536;c:x;:80;[::1;d:70000;e:65535", "http", s, 4), 1);
  assert_string_equal(s[0].host, "e");
  assert_int_equal(pick("a:1 b:2 c:3", "http", s, 2), 2);
  assert_int_equal(pick("", "http", s, 4), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_entries_serve_every_scheme),
      cmocka_unit_test(test_per_scheme_entries),
      cmocka_unit_test(test_empty_lists),
      cmocka_unit_test(test_pick_servers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
