/* KDE's proxy settings (issue 9 §2): the kioslaverc parser
 * (policy/kioslaverc.c) and the mapping to Windows' settings
 * (policy/kde_proxy.c), pure functions with the environment as a table.
 *
 * Sources of the expectations: what KDE Frameworks write and read (KIO's
 * proxy dialog writes "URL PORT" with a space; KProtocolManager::proxyFor
 * turns the last space before digits into ':' and drops a value with
 * anything else after its last space; ProxyType 0..4; in type 4 the keys
 * name environment variables; ReversedException), KConfig's file format
 * (escapes, [$i], [$d], [$e], localised keys) and Internet Explorer's
 * proxy strings. */
#include "wh_test.h"

#include "policy/kde_proxy.h"
#include "policy/kioslaverc.h"
#include "util/mem.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_str(const char *what, const char *got, const char *want)
{
  if (want ? !got || strcmp(got, want) : got != NULL)
    fail_msg("%s: got \"%s\", want \"%s\"", what, got ? got : "(null)", want ? want : "(null)");
}

static void parse(struct wh_kde_settings *s, const char *text)
{
  /* An exact-size heap copy: a read past the end is caught by ASan. */
  size_t n = strlen(text);
  char *copy = wh_dup_exact(text, n);
  assert_int_equal(wh_kioslaverc_parse(copy, n, s), ERROR_SUCCESS);
  free(copy);
}

/* ---- the parser ------------------------------------------------------------------ */

static void test_parse_kde5_file(void **state)
{
  (void)state;
  /* A file as KDE Plasma 5 writes it, other groups included. */
  static const char text[] = "ProxyUrlDisplayFlags=15\n"
                             "\n"
                             "[Cache Settings]\n"
                             "httpProxy=http://wrong 1\n"
                             "\n"
                             "[Proxy Settings]\n"
                             "NoProxyFor=localhost,.corp.example\n"
                             "Proxy Config Script=http://wpad.example/proxy.pac\n"
                             "ProxyType=1\n"
                             "ReversedException=false\n"
                             "ftpProxy=ftp://ftp.example 21\n"
                             "httpProxy=http://proxy.example 8080\n"
                             "httpsProxy=http://secure.example 8443\n"
                             "socksProxy=socks://socks.example 1080\n"
                             "\n"
                             "[$Version]\n"
                             "update_info=kioslave.upd:kde5_proxy\n";
  struct wh_kde_settings s = {0};
  parse(&s, text);
  assert_int_equal(s.proxy_type, 1);
  expect_str("script", s.script, "http://wpad.example/proxy.pac");
  expect_str("http", s.server[WH_IE_HTTP], "http://proxy.example 8080");
  expect_str("https", s.server[WH_IE_HTTPS], "http://secure.example 8443");
  expect_str("ftp", s.server[WH_IE_FTP], "ftp://ftp.example 21");
  expect_str("socks", s.server[WH_IE_SOCKS], "socks://socks.example 1080");
  expect_str("no proxy", s.no_proxy_for, "localhost,.corp.example");
  assert_false(s.reversed);
  assert_int_equal(s.locked, 0);
  wh_kde_settings_free(&s);
}

static void test_parse_syntax(void **state)
{
  (void)state;
  struct wh_kde_settings s = {0};
  /* A BOM, CRLF, blanks around keys and values, comments, a last line
   * without LF; the later of two entries wins. */
  parse(&s, "\xEF\xBB\xBF# kioslaverc\r\n"
            "  [Proxy Settings]  \r\n"
            "\t# ProxyType=3\r\n"
            "  ProxyType  =  2 \r\n"
            "httpProxy=first\r\n"
            "httpProxy = second \r\n"
            "line without equals\r\n"
            "=no key\r\n"
            "unknownKey=1\r\n"
            "Proxy Config Script=http://w/p.pac");
  assert_int_equal(s.proxy_type, 2);
  expect_str("http", s.server[WH_IE_HTTP], "second");
  expect_str("script", s.script, "http://w/p.pac");
  wh_kde_settings_free(&s);

  /* KConfig's escapes. */
  parse(&s, "[Proxy Settings]\n"
            "NoProxyFor=a\\sb\\tc\\\\d\\x41\\q\\\n"
            "httpProxy=\\x00evil\n"
            "httpsProxy=x\\x4\n");
  expect_str("escapes", s.no_proxy_for, "a b\tc\\dAq");
  assert_null(s.server[WH_IE_HTTP]); /* a NUL: not a value */
  expect_str("short hex", s.server[WH_IE_HTTPS], "xx4");
  wh_kde_settings_free(&s);

  /* Only the plain group counts; keys are case-sensitive. */
  parse(&s, "[Proxy Settings][Sub]\nProxyType=1\n"
            "[proxy settings]\nProxyType=2\n"
            "[Proxy Settings\nProxyType=3\n"
            "[Proxy Settings] trailing\nProxyType=4\n"
            "[Proxy Settings]\nproxytype=3\nhttpproxy=x\n");
  assert_int_equal(s.proxy_type, 0);
  assert_null(s.server[WH_IE_HTTP]);
  wh_kde_settings_free(&s);

  /* Values as KConfig reads them. */
  static const struct {
    const char *type, *reversed;
    long want_type;
    bool want_reversed;
  } rows[] = {
      {"1", "true", 1, true},   {" 4 ", "TRUE", 4, true}, {"x", "on", 0, true},
      {"-1", "Yes", 0, true},   {"", "1", 0, true},       {"99", "false", 99, false},
      {"3", "0", 3, false},     {"1e3", "maybe", 0, false},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char text[128];
    snprintf(text, sizeof(text), "[Proxy Settings]\nProxyType=%s\nReversedException=%s\n",
             rows[i].type, rows[i].reversed);
    parse(&s, text);
    assert_int_equal(s.proxy_type, rows[i].want_type);
    assert_int_equal(s.reversed, rows[i].want_reversed);
    wh_kde_settings_free(&s);
  }
}

static void test_parse_options(void **state)
{
  (void)state;
  struct wh_kde_settings s = {0};
  /* Localised keys are not the key; [$e] is taken literally; [$d] deletes,
   * with or without '='; a plain key without '=' is no entry. */
  parse(&s, "[Proxy Settings]\n"
            "httpProxy[de]=localised\n"
            "httpsProxy[$e]=$HOME/x\n"
            "ftpProxy=f\n"
            "ftpProxy[$d]=\n"
            "ProxyType=1\n"
            "ProxyType[$d]\n"
            "NoProxyFor=n\n"
            "NoProxyFor[$d]=\n"
            "ReversedException=true\n"
            "ReversedException[$d]\n"
            "ProxyType\n"
            "socksProxy[broken=1\n");
  assert_null(s.server[WH_IE_HTTP]);
  expect_str("$e", s.server[WH_IE_HTTPS], "$HOME/x");
  assert_null(s.server[WH_IE_FTP]);
  assert_null(s.server[WH_IE_SOCKS]);
  assert_int_equal(s.proxy_type, 0);
  assert_null(s.no_proxy_for);
  assert_false(s.reversed);
  wh_kde_settings_free(&s);
}

/* Files cascade: the user's file over the system's, except what the system
 * file made immutable. */
static void test_parse_cascade(void **state)
{
  (void)state;
  struct wh_kde_settings s = {0};
  parse(&s, "[Proxy Settings]\nProxyType=1\nhttpProxy=sys 1\nNoProxyFor=sys\n");
  parse(&s, "[Proxy Settings]\nhttpProxy=user 2\n");
  assert_int_equal(s.proxy_type, 1);
  expect_str("http", s.server[WH_IE_HTTP], "user 2");
  expect_str("no proxy", s.no_proxy_for, "sys");
  wh_kde_settings_free(&s);

  /* One immutable key. */
  parse(&s, "[Proxy Settings]\nProxyType[$i]=1\nhttpProxy=sys 1\n");
  parse(&s, "[Proxy Settings]\nProxyType=0\nProxyType[$d]=\nhttpProxy=user 2\n");
  assert_int_equal(s.proxy_type, 1);
  expect_str("http", s.server[WH_IE_HTTP], "user 2");
  wh_kde_settings_free(&s);

  /* An immutable group: nothing of it changes afterwards; within the file
   * that locks it, the entries still apply. */
  parse(&s, "[Proxy Settings][$i]\nProxyType=1\nhttpProxy=locked 3128\n");
  parse(&s, "[Proxy Settings]\nProxyType=0\nhttpProxy=user 2\nNoProxyFor=*\n");
  assert_int_equal(s.proxy_type, 1);
  expect_str("http", s.server[WH_IE_HTTP], "locked 3128");
  assert_null(s.no_proxy_for);
  wh_kde_settings_free(&s);

  /* An immutable file. */
  parse(&s, "[$i]\n[Other]\nx=1\n[Proxy Settings]\nProxyType=3\n");
  parse(&s, "[Proxy Settings]\nProxyType=0\n");
  assert_int_equal(s.proxy_type, 3);
  wh_kde_settings_free(&s);

  /* An immutable file without the group locks nothing of it. */
  parse(&s, "[$i]\n[Other]\nx=1\n");
  parse(&s, "[Proxy Settings]\nProxyType=2\n");
  assert_int_equal(s.proxy_type, 2);
  wh_kde_settings_free(&s);
}

/* Inputs that are not a kioslaverc at all: no crash, nothing read. */
static void test_parse_garbage(void **state)
{
  (void)state;
  struct wh_kde_settings s = {0};
  static const char bin[] = "[Proxy Settings]\n\x00\xff=1\nProxyType=1\x00x\n\xff\xfe[\n";
  char *copy = wh_dup_exact(bin, sizeof(bin) - 1);
  assert_int_equal(wh_kioslaverc_parse(copy, sizeof(bin) - 1, &s), ERROR_SUCCESS);
  free(copy);
  /* "ProxyType=1\0x": the value holds a NUL, so it is not taken. */
  assert_int_equal(s.proxy_type, 0);
  wh_kde_settings_free(&s);
  assert_int_equal(wh_kioslaverc_parse(NULL, 0, &s), ERROR_SUCCESS);
  parse(&s, "[");
  parse(&s, "]");
  parse(&s, "[Proxy Settings]\n[");
  parse(&s, "[Proxy Settings]\n=");
  parse(&s, "[Proxy Settings]\nProxyType=");
  parse(&s, "[Proxy Settings]\nhttpProxy=\\");
  parse(&s, "[Proxy Settings]\nhttpProxy[=x");
  parse(&s, "[Proxy Settings]\nhttpProxy[$i=x");
  assert_int_equal(s.proxy_type, 0);
  wh_kde_settings_free(&s);
}

static void test_parse_oom(void **state)
{
  (void)state;
  static const char text[] = "[Proxy Settings]\nProxyType=1\nhttpProxy=a 1\nhttpsProxy=b 2\n"
                             "ftpProxy=c\nsocksProxy=d\nNoProxyFor=e\nProxy Config Script=f\n";
  struct wh_kde_settings s = {0};
  wh_mem_fail_after(LONG_MAX);
  parse(&s, text);
  long count = wh_mem_fail_allowed();
  wh_mem_fail_reset();
  wh_kde_settings_free(&s);
  assert_true(count > 0);
  for (long n = 0; n < count; n++) {
    wh_mem_fail_after(n);
    DWORD err = wh_kioslaverc_parse(text, sizeof(text) - 1, &s);
    wh_mem_fail_reset();
    assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
    wh_kde_settings_free(&s); /* a partial result is still freed cleanly */
  }
}

/* ---- the mapping ---------------------------------------------------------------------- */

struct env_table {
  const char *const *pairs; /* name, value, name, value, ..., NULL */
};

static const char *table_getenv(const char *name, void *ctx)
{
  const struct env_table *t = ctx;
  for (size_t i = 0; t && t->pairs && t->pairs[i]; i += 2)
    if (!strcmp(t->pairs[i], name))
      return t->pairs[i + 1];
  return NULL;
}

static void expect_map(const char *text, const char *const *env, bool autod, const char *url,
                       const char *proxy, const char *bypass)
{
  struct wh_kde_settings s = {0};
  parse(&s, text);
  struct env_table t = {env};
  struct wh_ie_proxy out = {0};
  assert_int_equal(wh_kde_proxy_map(&s, table_getenv, &t, &out), ERROR_SUCCESS);
  if (out.auto_detect != autod)
    fail_msg("%s: fAutoDetect %d", text, out.auto_detect);
  expect_str("url", out.auto_config_url, url);
  expect_str("proxy", out.proxy, proxy);
  expect_str("bypass", out.bypass, bypass);
  wh_ie_proxy_clear(&out);
  wh_kde_settings_free(&s);
}

#define ALL_KEYS_SET                                                                          \
  "httpProxy=http://proxy.example 8080\nhttpsProxy=http://secure.example 8443\n"            \
  "ftpProxy=ftp://ftp.example 21\nsocksProxy=socks://socks.example 1080\n"                  \
  "NoProxyFor=localhost,.corp.example,192.168.0.0/16,<local>\n"                             \
  "Proxy Config Script=http://wpad.example/proxy.pac\n"

static void test_map_types(void **state)
{
  (void)state;
  /* 0 (and no file, and unknown types): nothing, whatever else is set. */
  expect_map("", NULL, false, NULL, NULL, NULL);
  expect_map("[Proxy Settings]\nProxyType=0\n" ALL_KEYS_SET, NULL, false, NULL, NULL, NULL);
  expect_map("[Proxy Settings]\nProxyType=5\n" ALL_KEYS_SET, NULL, false, NULL, NULL, NULL);
  /* 1: the four servers and the bypass list. */
  expect_map("[Proxy Settings]\nProxyType=1\n" ALL_KEYS_SET, NULL, false, NULL,
             "http=proxy.example:8080;https=secure.example:8443;ftp=ftp.example:21;"
             "socks=socks.example:1080",
             "localhost;*.localhost;corp.example;*.corp.example;192.168.*;<local>");
  /* 2: the script's URL. */
  expect_map("[Proxy Settings]\nProxyType=2\n" ALL_KEYS_SET, NULL, false,
             "http://wpad.example/proxy.pac", NULL, NULL);
  expect_map("[Proxy Settings]\nProxyType=2\n", NULL, false, NULL, NULL, NULL);
  /* 3: WPAD. */
  expect_map("[Proxy Settings]\nProxyType=3\n" ALL_KEYS_SET, NULL, true, NULL, NULL, NULL);
}

static void test_map_manual(void **state)
{
  (void)state;
  /* KIO: https does not fall back to http; SOCKS serves the rest. */
  expect_map("[Proxy Settings]\nProxyType=1\nhttpProxy=http://p 3128\n", NULL, false, NULL,
             "http=p:3128", NULL);
  expect_map("[Proxy Settings]\nProxyType=1\nhttpProxy=p 3128\nsocksProxy=s 1080\n", NULL, false,
             NULL, "http=p:3128;https=socks://s:1080;ftp=socks://s:1080;socks=s:1080", NULL);
  /* Old style "host:port"; a value with no port; anything but digits after
   * the last space discards the value (KIO's proxyFor). */
  expect_map("[Proxy Settings]\nProxyType=1\nhttpProxy=http://p:81\nhttpsProxy=q\n", NULL, false,
             NULL, "http=p:81;https=q", NULL);
  expect_map("[Proxy Settings]\nProxyType=1\nhttpProxy=http://p 80x\nhttpsProxy=q 8 x\n", NULL,
             false, NULL, NULL, NULL);
  expect_map("[Proxy Settings]\nProxyType=1\nhttpProxy=http://p 0\nhttpsProxy=q 99999\n", NULL,
             false, NULL, NULL, NULL);
  /* IPv6 literals and credentials (dropped). */
  expect_map("[Proxy Settings]\nProxyType=1\nhttpProxy=http://u:pw@[::1] 3128\n", NULL, false,
             NULL, "http=[::1]:3128", NULL);
  /* Reversed: NoProxyFor names the only proxied hosts, which a bypass list
   * cannot say; every host uses the proxy. */
  expect_map("[Proxy Settings]\nProxyType=1\nhttpProxy=p 1\nNoProxyFor=a.example\n"
             "ReversedException=true\n",
             NULL, false, NULL, "http=p:1", NULL);
  /* No usable server: nothing (the bypass list alone means nothing). */
  expect_map("[Proxy Settings]\nProxyType=1\nNoProxyFor=a\n", NULL, false, NULL, NULL, NULL);
}

static void test_map_env(void **state)
{
  (void)state;
  static const char *const env[] = {"http_proxy",  "http://e.example:3128",
                                    "HTTPS_PROXY", "https://tls.example:443",
                                    "MY_SOCKS",    "socks5://s.example:1080",
                                    "no_proxy",    "localhost,.corp",
                                    "EMPTY",       "",
                                    NULL};
  expect_map("[Proxy Settings]\nProxyType=4\nhttpProxy=http_proxy\nhttpsProxy=HTTPS_PROXY\n"
             "ftpProxy=UNSET\nsocksProxy=MY_SOCKS\nNoProxyFor=no_proxy\n",
             env, false, NULL,
             "http=e.example:3128;https=https://tls.example:443;ftp=socks://s.example:1080;"
             "socks=s.example:1080",
             "localhost;*.localhost;corp;*.corp");
  /* Several names: the first one set and not empty. */
  expect_map("[Proxy Settings]\nProxyType=4\nhttpProxy=EMPTY,UNSET , http_proxy\n", env, false,
             NULL, "http=e.example:3128", NULL);
  /* Nothing set: nothing. */
  expect_map("[Proxy Settings]\nProxyType=4\nhttpProxy=UNSET\n", env, false, NULL, NULL, NULL);
  /* httpoxy: HTTP_PROXY is not read in a CGI program. */
  static const char *const cgi[] = {"HTTP_PROXY", "evil.example:80", "GATEWAY_INTERFACE",
                                    "CGI/1.1", NULL};
  expect_map("[Proxy Settings]\nProxyType=4\nhttpProxy=HTTP_PROXY\n", cgi, false, NULL, NULL,
             NULL);
  static const char *const not_cgi[] = {"HTTP_PROXY", "good.example:80", NULL};
  expect_map("[Proxy Settings]\nProxyType=4\nhttpProxy=HTTP_PROXY\n", not_cgi, false, NULL,
             "http=good.example:80", NULL);
  /* A name too long to be one is skipped. */
  char text[700];
  char name[300];
  memset(name, 'A', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  snprintf(text, sizeof(text), "[Proxy Settings]\nProxyType=4\nhttpProxy=%s,http_proxy\n", name);
  expect_map(text, env, false, NULL, "http=e.example:3128", NULL);
}

static void test_map_oom(void **state)
{
  (void)state;
  struct wh_kde_settings s = {0};
  parse(&s, "[Proxy Settings]\nProxyType=1\n" ALL_KEYS_SET);
  struct wh_ie_proxy want = {0};
  wh_mem_fail_after(LONG_MAX);
  assert_int_equal(wh_kde_proxy_map(&s, table_getenv, NULL, &want), ERROR_SUCCESS);
  long count = wh_mem_fail_allowed();
  wh_mem_fail_reset();
  for (long n = 0; n <= count; n++) {
    struct wh_ie_proxy out = {0};
    wh_mem_fail_after(n);
    DWORD err = wh_kde_proxy_map(&s, table_getenv, NULL, &out);
    bool refused = wh_mem_fail_count() > 0;
    wh_mem_fail_reset();
    if (refused) {
      assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
      assert_false(wh_ie_proxy_configured(&out));
    } else {
      assert_int_equal(err, ERROR_SUCCESS);
      assert_string_equal(out.proxy, want.proxy);
      assert_string_equal(out.bypass, want.bypass);
    }
    wh_ie_proxy_clear(&out);
  }
  wh_ie_proxy_clear(&want);
  wh_kde_settings_free(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_kde5_file), cmocka_unit_test(test_parse_syntax),
    cmocka_unit_test(test_parse_options),   cmocka_unit_test(test_parse_cascade),
    cmocka_unit_test(test_parse_garbage),   cmocka_unit_test(test_parse_oom),
    cmocka_unit_test(test_map_types),       cmocka_unit_test(test_map_manual),
    cmocka_unit_test(test_map_env),         cmocka_unit_test(test_map_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
