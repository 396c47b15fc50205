/* The current user's proxy settings in Windows' shape (issue 9 §2):
 * policy/ie_proxy.c (a manual list, a PAC URL) and policy/gnome_proxy.c
 * (GNOME's GSettings values), pure functions tested row by row, with every
 * allocation failing in turn.
 *
 * Sources of the expectations: Internet Explorer's proxy strings as
 * WinHttpGetIEProxyConfigForCurrentUser returns them ("http=host:port;
 * https=host:port", bypass entries separated by ';', "<local>"); the
 * descriptions in gsettings-desktop-schemas' org.gnome.system.proxy schema
 * (a type is enabled when its host is non-empty and its port non-0; http
 * serves https when https has none; SOCKS serves every scheme without
 * its own); the no_proxy mapping of policy/proxy_env.c (test_proxy_config).
 * What is ours is listed in docs/COMPAT.md. */
#include "wh_test.h"

#include "policy/bypass.h"
#include "policy/gnome_proxy.h"
#include "policy/ie_proxy.h"
#include "util/mem.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static void expect_str(const char *what, const char *got, const char *want)
{
  if (want ? !got || strcmp(got, want) : got != NULL)
    fail_msg("%s: got \"%s\", want \"%s\"", what, got ? got : "(null)", want ? want : "(null)");
}

/* ---- a manual list ------------------------------------------------------------- */

static const struct manual_row {
  const char *http, *https, *ftp, *socks;
  bool https_uses_http;
  const char *bypass;
  const char *want_proxy, *want_bypass;
} manual_rows[] = {
    /* Nothing usable: nothing, and no bypass list without a proxy. */
    {NULL, NULL, NULL, NULL, false, "localhost", NULL, NULL},
    {"", " ", NULL, NULL, true, NULL, NULL, NULL},
    {"bad host", "p:0", "::1", "ho;st:1", true, "x", NULL, NULL},
    /* One entry per scheme, Internet Explorer's order and syntax. */
    {"proxy:8080", "secure:8443", "ftp-proxy:21", "socks:1080", false, NULL,
     "http=proxy:8080;https=secure:8443;ftp=ftp-proxy:21;socks=socks:1080", NULL},
    /* GNOME: http serves https when https has none; KDE: it does not. */
    {"proxy:3128", NULL, NULL, NULL, true, NULL, "http=proxy:3128;https=proxy:3128", NULL},
    {"proxy:3128", NULL, NULL, NULL, false, NULL, "http=proxy:3128", NULL},
    {"proxy:3128", "bad host", NULL, NULL, true, NULL, "http=proxy:3128;https=proxy:3128", NULL},
    /* SOCKS serves the schemes without a proxy of their own, by name. */
    {NULL, NULL, NULL, "socks:1080", true, NULL,
     "http=socks://socks:1080;https=socks://socks:1080;ftp=socks://socks:1080;socks=socks:1080",
     NULL},
    {"proxy:1", NULL, NULL, "socks5://user@s:9", false, NULL,
     "http=proxy:1;https=socks://s:9;ftp=socks://s:9;socks=s:9", NULL},
    {NULL, NULL, NULL, "socks://bad host:1", true, NULL, NULL, NULL},
    /* Servers as URLs: http:// and credentials dropped, other schemes kept
     * (the engine refuses them instead of going direct); ftp:// on the ftp
     * entry says nothing more. */
    {"http://u:pw@proxy.example:80/path", "https://tls.example:443", "ftp://f.example:21", NULL,
     false, NULL, "http=proxy.example:80;https=https://tls.example:443;ftp=f.example:21", NULL},
    {"[::1]:3128", NULL, NULL, NULL, true, NULL, "http=[::1]:3128;https=[::1]:3128", NULL},
    {"proxy", NULL, NULL, NULL, false, NULL, "http=proxy", NULL},
    /* The bypass list: no_proxy's meaning in Windows' globs, "<local>"
     * kept, URLs reduced to their host, what globs cannot say dropped. */
    {"p:1", NULL, NULL, NULL, false, "localhost, 127.0.0.0/8 ::1;*.corp.example",
     "http=p:1", "localhost;*.localhost;127.*;[::1];corp.example;*.corp.example"},
    {"p:1", NULL, NULL, NULL, false, "<local>", "http=p:1", "<local>"},
    {"p:1", NULL, NULL, NULL, false, "intranet,<LOCAL>,10.0.0.0/12,fe80::/10", "http=p:1",
     "intranet;*.intranet;<local>"},
    {"p:1", NULL, NULL, NULL, false, "http://bugs.kde.org/x,https://a.example", "http=p:1",
     "bugs.kde.org;*.bugs.kde.org;a.example;*.a.example"},
    {"p:1", NULL, NULL, NULL, false, "*,<local>", "http=p:1", "*"},
    {"p:1", NULL, NULL, NULL, false, "http://,  ,;", "http=p:1", NULL},
    {"p:1", NULL, NULL, NULL, false, "host:8080,[::1]:443", "http=p:1",
     "host:8080;*.host:8080;[::1]:443"},
};

static void test_manual_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(manual_rows) / sizeof(manual_rows[0]); i++) {
    const struct manual_row *r = &manual_rows[i];
    struct wh_ie_manual m = {{r->http, r->https, r->ftp, r->socks}, r->https_uses_http, r->bypass};
    struct wh_ie_proxy out = {0};
    assert_int_equal(wh_ie_proxy_manual(&m, &out), ERROR_SUCCESS);
    char what[32];
    snprintf(what, sizeof(what), "row %zu proxy", i);
    expect_str(what, out.proxy, r->want_proxy);
    snprintf(what, sizeof(what), "row %zu bypass", i);
    expect_str(what, out.bypass, r->want_bypass);
    assert_false(out.auto_detect);
    assert_null(out.auto_config_url);
    assert_int_equal(wh_ie_proxy_configured(&out), r->want_proxy != NULL);
    wh_ie_proxy_clear(&out);
  }
}

/* The bypass list produced, read by our own matcher (policy/bypass.c),
 * means what the desktops mean. */
static void test_manual_semantics(void **state)
{
  (void)state;
  struct wh_ie_manual m = {{"p:1", NULL, NULL, NULL}, false,
                           "localhost,127.0.0.0/8,::1,*.corp.example,<local>"};
  struct wh_ie_proxy out = {0};
  assert_int_equal(wh_ie_proxy_manual(&m, &out), ERROR_SUCCESS);
  static const struct {
    const char *host;
    bool bypass;
  } rows[] = {
      {"localhost", true},      {"127.0.0.1", true},     {"127.255.1.2", true},
      {"128.0.0.1", false},     {"::1", true},           {"corp.example", true},
      {"a.b.corp.example", true}, {"xcorp.example", false}, {"intranet", true},
      {"www.example.com", false},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    bool got = wh_bypass_match(out.bypass, strlen(out.bypass), rows[i].host, strlen(rows[i].host),
                               WH_BYPASS_SCHEME_HTTP, 0);
    if (got != rows[i].bypass)
      fail_msg("%s: list \"%s\" gives %d", rows[i].host, out.bypass, got);
  }
  wh_ie_proxy_clear(&out);
}

static void test_pac(void **state)
{
  (void)state;
  static const struct {
    const char *in, *want;
  } rows[] = {
      {NULL, NULL},
      {"", NULL},
      {" \t ", NULL},
      {"http://wpad.example/proxy.pac", "http://wpad.example/proxy.pac"},
      {"  http://wpad.example/p.pac\n", "http://wpad.example/p.pac"},
      {"http://a\r\nX-Injected: 1", NULL},
      {"http://a\x7f", NULL},
      {"file:///etc/proxy.pac", "file:///etc/proxy.pac"}, /* judged by WinHttpGetProxyForUrl */
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    struct wh_ie_proxy out = {0};
    assert_int_equal(wh_ie_proxy_pac(rows[i].in, &out), ERROR_SUCCESS);
    expect_str(rows[i].in ? rows[i].in : "(null)", out.auto_config_url, rows[i].want);
    assert_null(out.proxy);
    wh_ie_proxy_clear(&out);
  }
  /* Longer than 8 KiB: not a URL anyone configured. */
  static char big[8 * 1024 + 2];
  memset(big, 'a', sizeof(big) - 1);
  struct wh_ie_proxy out = {0};
  assert_int_equal(wh_ie_proxy_pac(big, &out), ERROR_SUCCESS);
  assert_null(out.auto_config_url);
}

/* ---- GNOME ------------------------------------------------------------------------ */

/* A GNOME configuration built from literals (the strings copied, as
 * core/gsettings.c hands them over). */
static void gnome_set(struct wh_gnome_proxy *g, const char *mode, const char *url,
                      const char *const host[4], const int port[4], const char *const *ignore,
                      size_t n_ignore)
{
  memset(g, 0, sizeof(*g));
  g->mode = mode ? wh_strndup(mode, strlen(mode)) : NULL;
  g->autoconfig_url = url ? wh_strndup(url, strlen(url)) : NULL;
  for (int k = 0; k < 4; k++) {
    g->host[k] = host && host[k] ? wh_strndup(host[k], strlen(host[k])) : NULL;
    g->port[k] = port ? port[k] : 0;
  }
  if (n_ignore) {
    g->ignore_hosts = wh_calloc(n_ignore, sizeof(char *));
    for (size_t i = 0; i < n_ignore; i++)
      g->ignore_hosts[i] = wh_strndup(ignore[i], strlen(ignore[i]));
    g->n_ignore = n_ignore;
  }
}

static void expect_gnome(const struct wh_gnome_proxy *g, bool autod, const char *url,
                         const char *proxy, const char *bypass)
{
  struct wh_ie_proxy out = {0};
  assert_int_equal(wh_gnome_proxy_map(g, &out), ERROR_SUCCESS);
  assert_int_equal(out.auto_detect, autod);
  expect_str("url", out.auto_config_url, url);
  expect_str("proxy", out.proxy, proxy);
  expect_str("bypass", out.bypass, bypass);
  wh_ie_proxy_clear(&out);
}

static const char *const gnome_default_ignore[] = {"localhost", "127.0.0.0/8", "::1"};

static void test_gnome_modes(void **state)
{
  (void)state;
  struct wh_gnome_proxy g;
  const char *const host[4] = {"proxy.example", "secure.example", "ftp.example", "socks.example"};
  const int port[4] = {8080, 8443, 2121, 1080};

  /* "none" (the schema's default), an unknown mode and no mode: nothing,
   * whatever the other keys hold. */
  static const char *const quiet[] = {"none", "bogus", NULL, "MANUAL"};
  for (size_t i = 0; i < 4; i++) {
    gnome_set(&g, quiet[i], "http://wpad/x.pac", host, port, gnome_default_ignore, 3);
    expect_gnome(&g, false, NULL, NULL, NULL);
    wh_gnome_proxy_free(&g);
  }

  /* "manual": the four types, ignore-hosts as the bypass list; the URL is
   * not part of it. */
  gnome_set(&g, "manual", "http://wpad/x.pac", host, port, gnome_default_ignore, 3);
  expect_gnome(&g, false, NULL,
               "http=proxy.example:8080;https=secure.example:8443;ftp=ftp.example:2121;"
               "socks=socks.example:1080",
               "localhost;*.localhost;127.*;[::1]");
  wh_gnome_proxy_free(&g);

  /* "auto": the URL, or WPAD when it is empty; never the manual list. */
  gnome_set(&g, "auto", "http://wpad.example/proxy.pac", host, port, gnome_default_ignore, 3);
  expect_gnome(&g, false, "http://wpad.example/proxy.pac", NULL, NULL);
  wh_gnome_proxy_free(&g);
  gnome_set(&g, "auto", "", host, port, NULL, 0);
  expect_gnome(&g, true, NULL, NULL, NULL);
  wh_gnome_proxy_free(&g);
  gnome_set(&g, "auto", NULL, NULL, NULL, NULL, 0);
  expect_gnome(&g, true, NULL, NULL, NULL);
  wh_gnome_proxy_free(&g);
  /* A URL no client could fetch configures nothing (GLib would fail and go
   * direct); the caller then falls back to the environment. */
  gnome_set(&g, "auto", "http://x\r\nHost: y", NULL, NULL, NULL, 0);
  expect_gnome(&g, false, NULL, NULL, NULL);
  wh_gnome_proxy_free(&g);
}

static void test_gnome_servers(void **state)
{
  (void)state;
  struct wh_gnome_proxy g;
  static const struct {
    const char *host[4];
    int port[4];
    const char *want;
  } rows[] = {
      /* A type is enabled when its host is non-empty and its port non-0. */
      {{"p", "s", NULL, NULL}, {3128, 0, 0, 0}, "http=p:3128;https=p:3128"},
      {{"", "s", NULL, NULL}, {3128, 443, 0, 0}, "https=s:443"},
      {{"p", NULL, "f", "k"}, {0, 0, 0, 0}, NULL},
      /* Out-of-range ports (the schema says 0..65535; a backend may not
       * care). */
      {{"p", NULL, NULL, NULL}, {65536, 0, 0, 0}, NULL},
      {{"p", NULL, NULL, NULL}, {-1, 0, 0, 0}, NULL},
      /* SOCKS alone serves everything. */
      {{NULL, NULL, NULL, "k"}, {0, 0, 0, 1080},
       "http=socks://k:1080;https=socks://k:1080;ftp=socks://k:1080;socks=k:1080"},
      /* Host spellings users type: a URL, an IPv6 address, a trailing slash,
       * blanks; non-ASCII stays UTF-8. */
      {{"http://proxy.example", NULL, NULL, NULL}, {8080, 0, 0, 0},
       "http=proxy.example:8080;https=proxy.example:8080"},
      {{"::1", NULL, NULL, NULL}, {3128, 0, 0, 0}, "http=[::1]:3128;https=[::1]:3128"},
      {{"[fe80::1]", NULL, NULL, NULL}, {1, 0, 0, 0}, "http=[fe80::1]:1;https=[fe80::1]:1"},
      {{" proxy.example/ ", NULL, NULL, NULL}, {80, 0, 0, 0},
       "http=proxy.example:80;https=proxy.example:80"},
      {{"pr\xc3\xb8xy", NULL, NULL, NULL}, {1, 0, 0, 0}, "http=pr\xc3\xb8xy:1;https=pr\xc3\xb8xy:1"},
      /* A host that could smuggle an entry of its own is refused. */
      {{"a;http=evil", NULL, NULL, NULL}, {1, 0, 0, 0}, NULL},
      {{"a b", NULL, NULL, NULL}, {1, 0, 0, 0}, NULL},
      {{"user:pw@p", NULL, NULL, NULL}, {1, 0, 0, 0}, NULL},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    gnome_set(&g, "manual", NULL, rows[i].host, rows[i].port, NULL, 0);
    struct wh_ie_proxy out = {0};
    assert_int_equal(wh_gnome_proxy_map(&g, &out), ERROR_SUCCESS);
    char what[32];
    snprintf(what, sizeof(what), "row %zu", i);
    expect_str(what, out.proxy, rows[i].want);
    assert_null(out.bypass);
    wh_ie_proxy_clear(&out);
    wh_gnome_proxy_free(&g);
  }
}

static void test_gnome_ignore_hosts(void **state)
{
  (void)state;
  const char *const host[4] = {"p", NULL, NULL, NULL};
  const int port[4] = {1, 0, 0, 0};
  /* GLib's forms: names, "*.domain", addresses, CIDR ranges, host:port;
   * empty entries skipped; ranges globs cannot say dropped. */
  static const char *const ignore[] = {"",           "*.example.com", "192.168.0.0/24",
                                       "10.0.0.0/9", "fe80::/10",     "[::1]:8080",
                                       "web:8080",   "<local>"};
  struct wh_gnome_proxy g;
  gnome_set(&g, "manual", NULL, host, port, ignore, sizeof(ignore) / sizeof(ignore[0]));
  expect_gnome(&g, false, NULL, "http=p:1;https=p:1",
               "example.com;*.example.com;192.168.0.*;[::1]:8080;web:8080;*.web:8080;<local>");
  wh_gnome_proxy_free(&g);
  /* An empty list: no bypass list. */
  gnome_set(&g, "manual", NULL, host, port, NULL, 0);
  expect_gnome(&g, false, NULL, "http=p:1;https=p:1", NULL);
  wh_gnome_proxy_free(&g);
}

/* ---- out of memory --------------------------------------------------------------------- */

/* Every allocation of the mapping failing in turn: ERROR_NOT_ENOUGH_MEMORY
 * with |out| clear (and nothing leaked, under ASan), or the full answer. */
static void test_oom(void **state)
{
  (void)state;
  const char *const host[4] = {"proxy.example", "", "ftp://f.example", "socks.example"};
  const int port[4] = {8080, 0, 21, 1080};
  static const char *const ignore[] = {"localhost", "127.0.0.0/8", "::1", "<local>", "*.corp"};
  struct wh_gnome_proxy g;
  gnome_set(&g, "manual", NULL, host, port, ignore, 5);
  struct wh_ie_proxy want = {0};
  wh_mem_fail_after(LONG_MAX);
  assert_int_equal(wh_gnome_proxy_map(&g, &want), ERROR_SUCCESS);
  long count = wh_mem_fail_allowed();
  wh_mem_fail_reset();
  assert_true(count > 0);
  assert_non_null(want.proxy);
  for (long n = 0; n <= count; n++) {
    struct wh_ie_proxy out = {0};
    wh_mem_fail_after(n);
    DWORD err = wh_gnome_proxy_map(&g, &out);
    bool refused = wh_mem_fail_count() > 0;
    wh_mem_fail_reset();
    if (refused) {
      assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
      assert_false(wh_ie_proxy_configured(&out));
      assert_null(out.bypass);
    } else {
      assert_int_equal(err, ERROR_SUCCESS);
      assert_string_equal(out.proxy, want.proxy);
      assert_string_equal(out.bypass, want.bypass);
    }
    wh_ie_proxy_clear(&out);
  }
  wh_ie_proxy_clear(&want);
  wh_gnome_proxy_free(&g);

  /* The PAC URL's one allocation. */
  struct wh_ie_proxy out = {0};
  wh_mem_fail_after(0);
  assert_int_equal(wh_ie_proxy_pac("http://wpad/p.pac", &out), ERROR_NOT_ENOUGH_MEMORY);
  wh_mem_fail_reset();
  assert_null(out.auto_config_url);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_manual_table),
    cmocka_unit_test(test_manual_semantics),
    cmocka_unit_test(test_pac),
    cmocka_unit_test(test_gnome_modes),
    cmocka_unit_test(test_gnome_servers),
    cmocka_unit_test(test_gnome_ignore_hosts),
    cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
