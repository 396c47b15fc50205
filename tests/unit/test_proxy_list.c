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

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_entries_serve_every_scheme),
      cmocka_unit_test(test_per_scheme_entries),
      cmocka_unit_test(test_empty_lists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
