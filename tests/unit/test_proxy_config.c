/* Proxy configuration and discovery on a network without WPAD (issue 11 §4,
 * issue 9): policy/proxy_env.c (the environment in Windows' syntax), the
 * api functions' argument checks and answers when nothing is found, then
 * Microsoft's autoproxy sample (examples/autoproxy.c) run against the fault
 * server: it falls back to a direct connection and fetches the page, or,
 * given a PAC URL, goes through the proxy the script names. PAC scripts
 * and WPAD themselves are tested in test_pac.c. The WPAD seam is set to an
 * empty search list: no lookup here asks the machine's DNS.
 *
 * Sources of the expectations: Wine's test_WinHttpDetectAutoProxyConfigUrl,
 * test_WinHttpGetIEProxyConfigForCurrentUser and test_WinHttpGetProxyForUrl
 * (which run on Windows), Microsoft's pages for each function, curl's
 * no_proxy rules (lib/noproxy.c); the rest is marked "ours" and listed in
 * docs/COMPAT.md.
 *
 * The environment tests change this process's environment with setenv and
 * run before anything starts a loop thread (the resolver tests). */
#include "wh_test.h"
#include "peers.h"

#include "core/autoproxy.h"
#include "policy/bypass.h"
#include "policy/proxy_env.h"
#include "util/mem.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

extern char **environ;

/* ---- policy/proxy_env.c ------------------------------------------------------ */

static const struct map_row {
  const char *http, *https, *no;
  const char *proxy, *bypass; /* expected; NULL = none */
} map_rows[] = {
    /* Nothing set, or set but empty: nothing configured. */
    {NULL, NULL, NULL, NULL, NULL},
    {"", "  ", NULL, NULL, NULL},
    {NULL, NULL, "localhost", NULL, NULL}, /* a bypass list alone means nothing */
    /* One entry per scheme, the proxy's scheme dropped when it is http. */
    {"http://proxy:3128", NULL, NULL, "http=proxy:3128", NULL},
    {"proxy:3128", "proxy2:3129", NULL, "http=proxy:3128;https=proxy2:3129", NULL},
    {NULL, "http://p.example:8080/", NULL, "https=p.example:8080", NULL},
    {"HTTP://Proxy.Example:80", NULL, NULL, "http=Proxy.Example:80", NULL},
    /* Other proxy schemes are kept (lower-cased) for the engine to judge. */
    {NULL, "https://secure:443", NULL, "https=https://secure:443", NULL},
    {"SOCKS5h://s:1080", NULL, NULL, "http=socks5h://s:1080", NULL},
    /* Credentials, path, query and fragment are dropped. */
    {"http://user:p@ss@proxy:8080/path?q#f", NULL, NULL, "http=proxy:8080", NULL},
    {"user@proxy", NULL, NULL, "http=proxy", NULL},
    /* No port: none invented. An empty port is no port (RFC 3986). */
    {"proxy", NULL, NULL, "http=proxy", NULL},
    {"http://proxy:", NULL, NULL, "http=proxy", NULL},
    {"  proxy:1\t\n", NULL, NULL, "http=proxy:1", NULL},
    /* IPv6 literals keep their brackets. */
    {"http://[::1]:3128", "[2001:db8::7]", NULL, "http=[::1]:3128;https=[2001:db8::7]", NULL},
    /* Malformed values are ignored; the other variable still counts. */
    {"http://:8080", "ok:1", NULL, "https=ok:1", NULL},
    {"http://host:0", NULL, NULL, NULL, NULL},
    {"http://host:65536", NULL, NULL, NULL, NULL},
    {"http://host:12ab", NULL, NULL, NULL, NULL},
    {"http://ho st:1", NULL, NULL, NULL, NULL},
    {"a;b=c:1", NULL, NULL, NULL, NULL},
    {"http://[::1", NULL, NULL, NULL, NULL},
    {"http://[zz::1]:1", NULL, NULL, NULL, NULL},
    {"://host", NULL, NULL, NULL, NULL},
    {"1http://host", NULL, NULL, NULL, NULL},
    {"ht_tp://host", NULL, NULL, NULL, NULL},
    {"http://host\r\nX: y", NULL, NULL, NULL, NULL},
    /* no_proxy, curl's rules in Windows' globs. */
    {"p:1", NULL, "example.com", "http=p:1", "example.com;*.example.com"},
    {"p:1", NULL, ".example.com", "http=p:1", "example.com;*.example.com"},
    {"p:1", NULL, "*.example.com", "http=p:1", "example.com;*.example.com"},
    {"p:1", NULL, "example.com.", "http=p:1", "example.com;*.example.com"},
    {"p:1", NULL, "localhost, 127.0.0.1 ,::1", "http=p:1", "localhost;*.localhost;127.0.0.1;[::1]"},
    {"p:1", NULL, "10.0.0.0/8,172.16.0.0/16 192.168.1.7/24;10.1.2.3/32", "http=p:1",
     "10.*;172.16.*;192.168.1.*;10.1.2.3"},
    {"p:1", NULL, "10.0.0.0/12,10.0.0.0/0,10.0.0.0/33,fe80::/10,[fe80::1]/64", "http=p:1", NULL},
    {"p:1", NULL, "[fe80::1],[::1]:8080,::2/128", "http=p:1", "[fe80::1];[::1]:8080;[::2]"},
    {"p:1", NULL, "intranet:8080", "http=p:1", "intranet:8080;*.intranet:8080"},
    {"p:1", NULL, "10.1.2.3:80", "http=p:1", "10.1.2.3:80"},
    {"p:1", NULL, "web*.corp", "http=p:1", "web*.corp"},
    {"p:1", NULL, "a.com,*", "http=p:1", "*"},
    {"p:1", NULL, " * ", "http=p:1", "*"},
    {"p:1", NULL, ",, ;", "http=p:1", NULL},
    {"p:1", NULL, "bad host!,host:0,host:x,.,[::1]x,good", "http=p:1", "bad;*.bad;good;*.good"},
};

static void test_map_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(map_rows) / sizeof(map_rows[0]); i++) {
    const struct map_row *r = &map_rows[i];
    struct wh_proxy_env env = {r->http, r->https, r->no};
    char *proxy = (char *)1, *bypass = (char *)1;
    assert_int_equal(wh_proxy_env_map(&env, &proxy, &bypass), ERROR_SUCCESS);
    if (!(r->proxy ? proxy && !strcmp(proxy, r->proxy) : !proxy) ||
        !(r->bypass ? bypass && !strcmp(bypass, r->bypass) : !bypass))
      fail_msg("row %zu (%s | %s | %s): got \"%s\" \"%s\"", i, r->http ? r->http : "-",
               r->https ? r->https : "-", r->no ? r->no : "-", proxy ? proxy : "(null)",
               bypass ? bypass : "(null)");
    wh_free(proxy);
    wh_free(bypass);
  }
}

/* The produced bypass list, read by our own matcher (policy/bypass.c), means
 * what no_proxy means to curl. */
static void test_map_semantics(void **state)
{
  (void)state;
  static const struct {
    const char *no, *host;
    bool bypass;
  } rows[] = {
      {"example.com", "example.com", true},      {"example.com", "www.example.com", true},
      {"example.com", "a.b.example.com", true},  {"example.com", "notexample.com", false},
      {"example.com", "example.com.evil", false}, {".example.com", "example.com", true},
      {".example.com", "x.example.com", true},   {"10.0.0.0/8", "10.200.1.1", true},
      {"10.0.0.0/8", "11.0.0.1", false},         {"192.168.1.0/24", "192.168.1.254", true},
      {"192.168.1.0/24", "192.168.2.1", false},  {"::1", "::1", true},
      {"::1", "[::1]", true},                    {"::1", "::2", false},
      {"*", "anything", true},                   {"intranet:8080", "intranet", false},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    struct wh_proxy_env env = {"p:1", NULL, rows[i].no};
    char *proxy, *bypass;
    assert_int_equal(wh_proxy_env_map(&env, &proxy, &bypass), ERROR_SUCCESS);
    assert_non_null(bypass);
    bool got = wh_bypass_match(bypass, strlen(bypass), rows[i].host, strlen(rows[i].host),
                               WH_BYPASS_SCHEME_HTTP, 0);
    if (got != rows[i].bypass)
      fail_msg("no_proxy=%s host=%s: list \"%s\" gives %d", rows[i].no, rows[i].host, bypass, got);
    wh_free(proxy);
    wh_free(bypass);
  }
  /* The port of an entry is the request's port. */
  struct wh_proxy_env env = {"p:1", NULL, "intranet:8080"};
  char *proxy, *bypass;
  assert_int_equal(wh_proxy_env_map(&env, &proxy, &bypass), ERROR_SUCCESS);
  assert_true(wh_bypass_match(bypass, strlen(bypass), "a.intranet", 10, WH_BYPASS_SCHEME_HTTP, 8080));
  assert_false(wh_bypass_match(bypass, strlen(bypass), "a.intranet", 10, WH_BYPASS_SCHEME_HTTP, 80));
  wh_free(proxy);
  wh_free(bypass);
}

/* Every allocation failing in turn: ERROR_NOT_ENOUGH_MEMORY with nothing
 * returned (and nothing leaked), or the full answer. */
static void test_map_oom(void **state)
{
  (void)state;
  struct wh_proxy_env env = {"http://proxy.example:3128", "https://secure.example:443",
                             "localhost,.corp.example,10.0.0.0/8,::1"};
  wh_mem_fail_after(LONG_MAX);
  char *proxy, *bypass;
  assert_int_equal(wh_proxy_env_map(&env, &proxy, &bypass), ERROR_SUCCESS);
  long count = wh_mem_fail_allowed();
  wh_mem_fail_reset();
  wh_free(proxy);
  wh_free(bypass);
  assert_true(count > 0);
  for (long n = 0; n <= count; n++) {
    wh_mem_fail_after(n);
    DWORD err = wh_proxy_env_map(&env, &proxy, &bypass);
    bool refused = wh_mem_fail_count() > 0;
    wh_mem_fail_reset();
    if (refused) {
      assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
      assert_null(proxy);
      assert_null(bypass);
    } else {
      assert_int_equal(err, ERROR_SUCCESS);
      assert_string_equal(proxy, "http=proxy.example:3128;https=https://secure.example:443");
      assert_non_null(bypass);
      wh_free(proxy);
      wh_free(bypass);
    }
  }
}

/* ---- the environment through the API ------------------------------------------- */

static void env_clear(void)
{
  static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                     "no_proxy",   "NO_PROXY",   "all_proxy",   "ALL_PROXY"};
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    unsetenv(vars[i]);
}

static int env_setup(void **state)
{
  (void)state;
  env_clear();
  return 0;
}

static void wide_equal(const WCHAR *got, const WCHAR *want)
{
  if (!want) {
    assert_null(got);
    return;
  }
  assert_non_null(got);
  if (wcscmp(got, want) != 0)
    fail_msg("got \"%ls\", want \"%ls\"", got, want);
}

/* Both configuration functions, with whatever the environment holds now. */
static void expect_config(const WCHAR *proxy, const WCHAR *bypass)
{
  WINHTTP_PROXY_INFO info;
  memset(&info, 0xA5, sizeof(info));
  SetLastError(0xdeadbeef);
  assert_true(WinHttpGetDefaultProxyConfiguration(&info));
  assert_last_error(ERROR_SUCCESS);
  assert_int_equal(info.dwAccessType,
                   proxy ? WINHTTP_ACCESS_TYPE_NAMED_PROXY : WINHTTP_ACCESS_TYPE_NO_PROXY);
  wide_equal(info.lpszProxy, proxy);
  wide_equal(info.lpszProxyBypass, bypass);
  GlobalFree(info.lpszProxy);
  GlobalFree(info.lpszProxyBypass);

  WINHTTP_CURRENT_USER_IE_PROXY_CONFIG cfg;
  memset(&cfg, 0xA5, sizeof(cfg));
  SetLastError(0xdeadbeef);
  assert_true(WinHttpGetIEProxyConfigForCurrentUser(&cfg));
  assert_last_error(ERROR_SUCCESS);
  /* Ours: auto-detection when the environment names no proxy, as an
   * AUTOMATIC_PROXY session then does (COMPAT.md). */
  assert_int_equal(cfg.fAutoDetect, proxy ? FALSE : TRUE);
  assert_null(cfg.lpszAutoConfigUrl);
  wide_equal(cfg.lpszProxy, proxy);
  wide_equal(cfg.lpszProxyBypass, bypass);
  GlobalFree(cfg.lpszAutoConfigUrl);
  GlobalFree(cfg.lpszProxy);
  GlobalFree(cfg.lpszProxyBypass);
}

static void test_config_null(void **state)
{
  (void)state;
  /* Wine's test_WinHttpGetIEProxyConfigForCurrentUser. */
  SetLastError(0xdeadbeef);
  assert_false(WinHttpGetIEProxyConfigForCurrentUser(NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  /* Ours: Microsoft documents no check; Wine would write through NULL. */
  SetLastError(0xdeadbeef);
  assert_false(WinHttpGetDefaultProxyConfiguration(NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
}

static void test_config_nothing(void **state)
{
  (void)state;
  /* Microsoft: NO_PROXY when no proxy list is configured; NULL strings. */
  expect_config(NULL, NULL);
  /* A bypass list alone configures nothing. */
  setenv("no_proxy", "localhost", 1);
  expect_config(NULL, NULL);
}

static void test_config_env(void **state)
{
  (void)state;
  setenv("http_proxy", "http://user:secret@proxy.example:3128/", 1);
  expect_config(L"http=proxy.example:3128", NULL);
  setenv("NO_PROXY", "localhost,.corp.example", 1);
  expect_config(L"http=proxy.example:3128", L"localhost;*.localhost;corp.example;*.corp.example");
  /* Lower case wins over upper case. */
  setenv("no_proxy", "10.0.0.0/8", 1);
  expect_config(L"http=proxy.example:3128", L"10.*");
  setenv("HTTPS_PROXY", "https://secure.example", 1);
  expect_config(L"http=proxy.example:3128;https=https://secure.example", L"10.*");
  setenv("https_proxy", "[::1]:8443", 1);
  expect_config(L"http=proxy.example:3128;https=[::1]:8443", L"10.*");
  /* Non-ASCII names arrive as UTF-8 and leave as WCHARs. */
  setenv("http_proxy", "pr\xc3\xb6xy.example:1", 1);
  expect_config(L"http=pr\u00f6xy.example:1;https=[::1]:8443", L"10.*");
}

/* curl's rule: HTTP_PROXY is not read, because a CGI program receives the
 * client's "Proxy:" request header under that name (httpoxy). */
static void test_config_httpoxy(void **state)
{
  (void)state;
  setenv("HTTP_PROXY", "evil.example:80", 1);
  expect_config(NULL, NULL);
  setenv("HTTPS_PROXY", "good.example:443", 1);
  expect_config(L"https=good.example:443", NULL);
}

/* ---- auto-detection -------------------------------------------------------------- */

static void test_detect(void **state)
{
  (void)state;
  WCHAR *url;
  /* Wine's test_WinHttpDetectAutoProxyConfigUrl. */
  SetLastError(0xdeadbeef);
  assert_false(WinHttpDetectAutoProxyConfigUrl(0, NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  url = NULL;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpDetectAutoProxyConfigUrl(0, &url));
  assert_last_error(ERROR_INVALID_PARAMETER);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpDetectAutoProxyConfigUrl(WINHTTP_AUTO_DETECT_TYPE_DNS_A, NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  /* Ours: an unknown detection type. */
  url = (WCHAR *)0xdeadbeef;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpDetectAutoProxyConfigUrl(0x4, &url));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_ptr_equal(url, (WCHAR *)0xdeadbeef);
  /* Nothing to detect: FALSE, AUTODETECTION_FAILED, the URL set to NULL. */
  static const DWORD flags[] = {WINHTTP_AUTO_DETECT_TYPE_DNS_A, WINHTTP_AUTO_DETECT_TYPE_DHCP,
                                WINHTTP_AUTO_DETECT_TYPE_DHCP | WINHTTP_AUTO_DETECT_TYPE_DNS_A};
  for (size_t i = 0; i < 3; i++) {
    url = (WCHAR *)0xdeadbeef;
    SetLastError(0xdeadbeef);
    assert_false(WinHttpDetectAutoProxyConfigUrl(flags[i], &url));
    assert_last_error(ERROR_WINHTTP_AUTODETECTION_FAILED);
    assert_null(url);
  }
}

static WINHTTP_AUTOPROXY_OPTIONS opts(DWORD flags, DWORD detect, const WCHAR *pac)
{
  WINHTTP_AUTOPROXY_OPTIONS o;
  memset(&o, 0, sizeof(o));
  o.dwFlags = flags;
  o.dwAutoDetectFlags = detect;
  o.lpszAutoConfigUrl = pac;
  return o;
}

static void expect_lookup(HINTERNET ses, const WCHAR *url, WINHTTP_AUTOPROXY_OPTIONS *o, DWORD err)
{
  WINHTTP_PROXY_INFO info;
  memset(&info, 0xA5, sizeof(info));
  SetLastError(0xdeadbeef);
  assert_false(WinHttpGetProxyForUrl(ses, url, o, &info));
  if (GetLastError() != err)
    fail_msg("%ls: error %u, want %u", url ? url : L"(null)", GetLastError(), err);
  /* Nothing is written on failure. */
  assert_int_equal(info.dwAccessType, 0xA5A5A5A5u);
}

#define AUTO WINHTTP_AUTOPROXY_AUTO_DETECT
#define PAC WINHTTP_AUTOPROXY_CONFIG_URL
#define DNS WINHTTP_AUTO_DETECT_TYPE_DNS_A
#define DHCP WINHTTP_AUTO_DETECT_TYPE_DHCP
#define URL L"http://winehq.org"

static void test_get_proxy_for_url(void **state)
{
  (void)state;
  WINHTTP_AUTOPROXY_OPTIONS o;

  /* Wine's test_WinHttpGetProxyForUrl, in its order. */
  SetLastError(0xdeadbeef);
  assert_false(WinHttpGetProxyForUrl(NULL, NULL, NULL, NULL));
  assert_last_error(ERROR_INVALID_HANDLE);
  HINTERNET ses = WinHttpOpen(L"winetest", 0, NULL, NULL, 0);
  assert_non_null(ses);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpGetProxyForUrl(ses, NULL, NULL, NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpGetProxyForUrl(ses, L"", NULL, NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpGetProxyForUrl(ses, URL, NULL, NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  o = opts(0, 0, NULL); /* both flags zero */
  expect_lookup(ses, URL, &o, ERROR_INVALID_PARAMETER);
  o = opts(AUTO, DNS, NULL);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpGetProxyForUrl(ses, URL, &o, NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  o = opts(AUTO, 0, NULL); /* no detection type */
  expect_lookup(ses, URL, &o, ERROR_INVALID_PARAMETER);
  o = opts(AUTO | PAC, DNS, NULL); /* CONFIG_URL without a URL */
  expect_lookup(ses, URL, &o, ERROR_INVALID_PARAMETER);
  /* Nothing to detect (Microsoft, "WinHTTP AutoProxy Functions"). */
  o = opts(AUTO, DNS, NULL);
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_AUTODETECTION_FAILED);
  o = opts(AUTO, DHCP | DNS, NULL);
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_AUTODETECTION_FAILED);
  expect_lookup(ses, L"http:", &o, ERROR_WINHTTP_INVALID_URL); /* Wine: fails */

  /* Ours, from Microsoft's lists and WINHTTP_AUTOPROXY_OPTIONS. */
  expect_lookup(ses, L"ftp://host/", &o, ERROR_WINHTTP_UNRECOGNIZED_SCHEME);
  expect_lookup(ses, L"https://host:99999/", &o, ERROR_WINHTTP_INVALID_URL);
  o = opts(AUTO | 0x80000000u, DNS, NULL); /* an unknown flag */
  expect_lookup(ses, URL, &o, ERROR_INVALID_PARAMETER);
  o = opts(AUTO, DNS | 0x4, NULL); /* an unknown detection type */
  expect_lookup(ses, URL, &o, ERROR_INVALID_PARAMETER);
  o = opts(AUTO, DNS, NULL);
  o.dwReserved = 1;
  expect_lookup(ses, URL, &o, ERROR_INVALID_PARAMETER);
  o = opts(AUTO, DNS, NULL);
  o.lpvReserved = &o;
  expect_lookup(ses, URL, &o, ERROR_INVALID_PARAMETER);
  o = opts(PAC, 0, L""); /* an empty PAC URL */
  expect_lookup(ses, URL, &o, ERROR_INVALID_PARAMETER);
  o = opts(PAC, 0, L"ftp://wpad/wpad.dat"); /* Microsoft: only http and https */
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_UNRECOGNIZED_SCHEME);
  /* The modifier flags are accepted. */
  o = opts(AUTO | WINHTTP_AUTOPROXY_RUN_INPROCESS | WINHTTP_AUTOPROXY_NO_CACHE_CLIENT |
               WINHTTP_AUTOPROXY_HOST_LOWERCASE | WINHTTP_AUTOPROXY_SORT_RESULTS,
           DNS, NULL);
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_AUTODETECTION_FAILED);
  /* Unused fields are ignored, as Wine ignores them. */
  o = opts(AUTO, DNS, L"not even a URL");
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_AUTODETECTION_FAILED);

  /* A PAC URL nobody serves (test_pac.c has the working ones): the
   * download fails, also after auto-detection found nothing (Windows then
   * falls back to the URL). */
  o = opts(PAC, 0, L"http://127.0.0.1:1/wpad.dat");
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT);
  o = opts(AUTO | PAC, DNS, L"https://127.0.0.1:1/wpad.dat");
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT);
  o = opts(PAC, DNS, L"http://127.0.0.1:1/wpad.dat"); /* an unused detection type */
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT);

  /* ALLOW_STATIC takes the static configuration in (here the environment):
   * the answer is the proxy a request for the URL would go through, or
   * NO_PROXY when it would go direct. */
  o = opts(AUTO | WINHTTP_AUTOPROXY_ALLOW_STATIC, DNS, NULL);
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_AUTODETECTION_FAILED);
  setenv("http_proxy", "proxy:3128", 1);
  WINHTTP_PROXY_INFO pi;
  memset(&pi, 0xA5, sizeof(pi));
  assert_true(WinHttpGetProxyForUrl(ses, URL, &o, &pi));
  assert_int_equal(pi.dwAccessType, WINHTTP_ACCESS_TYPE_NAMED_PROXY);
  wide_equal(pi.lpszProxy, L"proxy:3128");
  assert_null(pi.lpszProxyBypass);
  GlobalFree(pi.lpszProxy);
  /* An https:// URL has no proxy there: direct. */
  memset(&pi, 0xA5, sizeof(pi));
  assert_true(WinHttpGetProxyForUrl(ses, L"https://winehq.org/", &o, &pi));
  assert_int_equal(pi.dwAccessType, WINHTTP_ACCESS_TYPE_NO_PROXY);
  assert_null(pi.lpszProxy);
  /* Bypassed: direct. */
  setenv("no_proxy", "winehq.org", 1);
  memset(&pi, 0xA5, sizeof(pi));
  assert_true(WinHttpGetProxyForUrl(ses, URL, &o, &pi));
  assert_int_equal(pi.dwAccessType, WINHTTP_ACCESS_TYPE_NO_PROXY);
  unsetenv("no_proxy");
  /* A SOCKS proxy is not spoken: not implemented, never "direct". */
  setenv("http_proxy", "socks5://proxy:1080", 1);
  expect_lookup(ses, URL, &o, ERROR_CALL_NOT_IMPLEMENTED);
  setenv("http_proxy", "proxy:3128", 1);
  /* Plain auto-detection is WPAD only: the environment does not answer it. */
  o = opts(AUTO, DNS, NULL);
  expect_lookup(ses, URL, &o, ERROR_WINHTTP_AUTODETECTION_FAILED);
  env_clear();

  /* The handle must be a session; an asynchronous one answers the same,
   * synchronously. */
  HINTERNET con = WinHttpConnect(ses, L"localhost", 80, 0);
  assert_non_null(con);
  expect_lookup(con, URL, &o, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_true(WinHttpCloseHandle(con));
  HINTERNET async = WinHttpOpen(L"winetest", 0, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(async);
  expect_lookup(async, URL, &o, ERROR_WINHTTP_AUTODETECTION_FAILED);
  assert_true(WinHttpCloseHandle(async));
  assert_true(WinHttpCloseHandle(ses));
  expect_lookup(ses, URL, &o, ERROR_INVALID_HANDLE);
}

/* ---- the resolver family ------------------------------------------------------------ */

/* What the resolver callbacks saw, and an event to wait on. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int errors;   /* REQUEST_ERRORs */
  int closings; /* HANDLE_CLOSINGs */
  WINHTTP_ASYNC_RESULT last;
  DWORD last_len;
  DWORD_PTR last_ctx;
  pthread_t thread;
  int reenter;  /* nonzero: the next REQUEST_ERROR starts one more and closes */
  DWORD reenter_first, reenter_second, reenter_close;
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void CALLBACK resolver_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  /* No cmocka assertion here: this runs on a loop thread. */
  if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) {
    int reenter;
    pthread_mutex_lock(&seen.lock);
    reenter = seen.reenter;
    seen.reenter = 0;
    pthread_mutex_unlock(&seen.lock);
    if (reenter) {
      /* From the callback: the queued task cannot run before this returns,
       * so the order is deterministic. */
      WINHTTP_AUTOPROXY_OPTIONS o = opts(AUTO, DNS, NULL);
      DWORD first = WinHttpGetProxyForUrlEx(h, URL, &o, 7);
      DWORD second = WinHttpGetProxyForUrlEx(h, URL, &o, 8);
      DWORD closed = WinHttpCloseHandle(h) ? ERROR_SUCCESS : GetLastError();
      pthread_mutex_lock(&seen.lock);
      seen.reenter_first = first;
      seen.reenter_second = second;
      seen.reenter_close = closed;
      pthread_mutex_unlock(&seen.lock);
    }
    pthread_mutex_lock(&seen.lock);
    seen.errors++;
    seen.last = *(WINHTTP_ASYNC_RESULT *)info;
    seen.last_len = len;
    seen.last_ctx = ctx;
    seen.thread = pthread_self();
    pthread_cond_broadcast(&seen.cond);
    pthread_mutex_unlock(&seen.lock);
  } else if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING) {
    pthread_mutex_lock(&seen.lock);
    seen.closings++;
    pthread_cond_broadcast(&seen.cond);
    pthread_mutex_unlock(&seen.lock);
  }
}

static void seen_reset(void)
{
  pthread_mutex_lock(&seen.lock);
  seen.errors = seen.closings = 0;
  memset(&seen.last, 0, sizeof(seen.last));
  seen.last_ctx = 0;
  pthread_mutex_unlock(&seen.lock);
}

/* Waits until |*counter| reaches |n| (10 s at most). */
static void seen_wait(int *counter, int n)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&seen.lock);
  while (*counter < n)
    if (pthread_cond_timedwait(&seen.cond, &seen.lock, &until) == ETIMEDOUT)
      break;
  int got = *counter;
  pthread_mutex_unlock(&seen.lock);
  assert_int_equal(got, n);
}

static void test_resolver(void **state)
{
  (void)state;
  seen_reset();
  HINTERNET res = NULL;
  /* Microsoft's WinHttpCreateProxyResolver: NULL is ERROR_INVALID_HANDLE; a
   * handle that is not an asynchronous session is INCORRECT_HANDLE_TYPE. */
  assert_int_equal(WinHttpCreateProxyResolver(NULL, &res), ERROR_INVALID_HANDLE);
  HINTERNET sync = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(sync);
  assert_int_equal(WinHttpCreateProxyResolver(sync, &res), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_true(WinHttpCloseHandle(sync));
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(ses);
  HINTERNET con = WinHttpConnect(ses, L"localhost", 80, 0);
  assert_non_null(con);
  assert_int_equal(WinHttpCreateProxyResolver(con, &res), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_true(WinHttpCloseHandle(con));
  assert_int_equal(WinHttpCreateProxyResolver(ses, NULL), ERROR_INVALID_PARAMETER); /* ours */
  /* Microsoft: set the callback on the session before creating the
   * resolver, which inherits it. */
  WinHttpSetStatusCallback(ses, resolver_cb,
                           WINHTTP_CALLBACK_FLAG_REQUEST_ERROR |
                               WINHTTP_CALLBACK_FLAG_GETPROXYFORURL_COMPLETE |
                               WINHTTP_CALLBACK_FLAG_HANDLES,
                           0);
  assert_int_equal(WinHttpCreateProxyResolver(ses, &res), ERROR_SUCCESS);
  assert_non_null(res);

  WINHTTP_AUTOPROXY_OPTIONS o = opts(AUTO, DNS, NULL);
  WINHTTP_PROXY_RESULT result;
  WINHTTP_PROXY_RESULT_EX result_ex;
  /* The handle must be a resolver. */
  assert_int_equal(WinHttpGetProxyForUrlEx(ses, URL, &o, 1), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(WinHttpGetProxyResult(ses, &result), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(WinHttpGetProxyResult(NULL, &result), ERROR_INVALID_HANDLE);
  /* Bad arguments are refused synchronously: no callback follows. */
  WINHTTP_AUTOPROXY_OPTIONS bad = opts(AUTO, 0, NULL);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, URL, &bad, 1), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, NULL, &o, 1), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, URL, NULL, 1), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, L"gopher://x/", &o, 1),
                   ERROR_WINHTTP_UNRECOGNIZED_SCHEME);
  BYTE sel[4] = {0};
  assert_int_equal(WinHttpGetProxyForUrlEx2(res, URL, &o, 4, NULL, 1), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpGetProxyForUrlEx2(res, URL, &o, 0, sel, 1), ERROR_INVALID_PARAMETER);
  /* A PAC URL that is not http or https: refused synchronously. */
  WINHTTP_AUTOPROXY_OPTIONS pac = opts(PAC, 0, L"file:///etc/wpad.dat");
  assert_int_equal(WinHttpGetProxyForUrlEx(res, URL, &pac, 1), ERROR_WINHTTP_UNRECOGNIZED_SCHEME);
  /* Nothing has completed: no result. */
  assert_int_equal(WinHttpGetProxyResult(res, &result), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(WinHttpGetProxyResultEx(res, &result_ex), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(WinHttpGetProxyResult(res, NULL), ERROR_INVALID_PARAMETER);
  pthread_mutex_lock(&seen.lock);
  assert_int_equal(seen.errors, 0);
  pthread_mutex_unlock(&seen.lock);

  /* Auto-detection: ERROR_IO_PENDING, then REQUEST_ERROR on another thread
   * with API_GET_PROXY_FOR_URL, AUTODETECTION_FAILED and the call's
   * context. */
  assert_int_equal(WinHttpGetProxyForUrlEx(res, URL, &o, 0x1234), ERROR_IO_PENDING);
  seen_wait(&seen.errors, 1);
  pthread_mutex_lock(&seen.lock);
  assert_int_equal(seen.last_len, sizeof(WINHTTP_ASYNC_RESULT));
  assert_int_equal(seen.last.dwResult, API_GET_PROXY_FOR_URL);
  assert_int_equal(seen.last.dwError, ERROR_WINHTTP_AUTODETECTION_FAILED);
  assert_int_equal(seen.last_ctx, 0x1234);
  assert_false(pthread_equal(seen.thread, pthread_self()));
  pthread_mutex_unlock(&seen.lock);
  /* A failed call leaves no result. */
  assert_int_equal(WinHttpGetProxyResult(res, &result), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  /* Ex2 the same way. */
  assert_int_equal(WinHttpGetProxyForUrlEx2(res, URL, &o, sizeof(sel), sel, 0x5678),
                   ERROR_IO_PENDING);
  seen_wait(&seen.errors, 2);
  pthread_mutex_lock(&seen.lock);
  assert_int_equal(seen.last.dwError, ERROR_WINHTTP_AUTODETECTION_FAILED);
  assert_int_equal(seen.last_ctx, 0x5678);
  pthread_mutex_unlock(&seen.lock);

  /* From a callback: one more call is accepted, a second while it is
   * pending is refused, and closing the handle cancels the pending one,
   * whose REQUEST_ERROR (OPERATION_CANCELLED) comes before HANDLE_CLOSING. */
  pthread_mutex_lock(&seen.lock);
  seen.reenter = 1;
  pthread_mutex_unlock(&seen.lock);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, URL, &o, 3), ERROR_IO_PENDING);
  seen_wait(&seen.errors, 4);
  seen_wait(&seen.closings, 1);
  pthread_mutex_lock(&seen.lock);
  assert_int_equal(seen.reenter_first, ERROR_IO_PENDING);
  assert_int_equal(seen.reenter_second, ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(seen.reenter_close, ERROR_SUCCESS);
  assert_int_equal(seen.last.dwResult, API_GET_PROXY_FOR_URL);
  assert_int_equal(seen.last.dwError, ERROR_WINHTTP_OPERATION_CANCELLED);
  assert_int_equal(seen.last_ctx, 7);
  pthread_mutex_unlock(&seen.lock);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, URL, &o, 1), ERROR_INVALID_HANDLE);

  assert_true(WinHttpCloseHandle(ses));
  seen_wait(&seen.closings, 2);
  pthread_mutex_lock(&seen.lock);
  assert_int_equal(seen.errors, 4);
  pthread_mutex_unlock(&seen.lock);
}

/* ---- Microsoft's autoproxy sample ---------------------------------------------------- */

#ifdef WH_AUTOPROXY_EXAMPLE
/* Reads |fd| to its end into |buf| (at most |cap| - 1 bytes, NUL added). */
static size_t slurp(int fd, char *buf, size_t cap, long deadline_ms)
{
  size_t n = 0;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = deadline_ms - (now.tv_sec * 1000 + now.tv_nsec / 1000000);
    if (left <= 0 || poll(&p, 1, (int)left) <= 0)
      fail_msg("autoproxy: no end of output in time");
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
    if (n == cap - 1)
      break;
  }
  buf[n] = '\0';
  return n;
}

/* Runs the sample on |url| (and |pac|, NULL for auto-detection) with the
 * proxy variables of this process removed, LOCALDOMAIN empty (no search
 * domain: WPAD asks no DNS server) and |extra| (NAME=value or NULL)
 * added. */
static int run_autoproxy(const char *url, const char *pac, const char *extra, char *out,
                         size_t out_cap, size_t *out_len, char *err, size_t err_cap)
{
  static const char *const drop[] = {"http_proxy=", "HTTP_PROXY=", "https_proxy=", "HTTPS_PROXY=",
                                     "no_proxy=",   "NO_PROXY=",   "all_proxy=",   "ALL_PROXY=",
                                     "LOCALDOMAIN="};
  size_t n = 0;
  while (environ[n])
    n++;
  char **envp = calloc(n + 3, sizeof(char *));
  assert_non_null(envp);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    bool keep = true;
    for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++)
      if (!strncmp(environ[i], drop[d], strlen(drop[d])))
        keep = false;
    if (keep)
      envp[k++] = environ[i];
  }
  if (extra)
    envp[k++] = (char *)extra;
  envp[k++] = (char *)"LOCALDOMAIN=";
  envp[k] = NULL;

  int o[2], e[2];
  assert_int_equal(pipe(o), 0);
  assert_int_equal(pipe(e), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, o[1], 1);
  posix_spawn_file_actions_adddup2(&fa, e[1], 2);
  posix_spawn_file_actions_addclose(&fa, o[0]);
  posix_spawn_file_actions_addclose(&fa, e[0]);
  char *argv[] = {(char *)WH_AUTOPROXY_EXAMPLE, (char *)url, (char *)pac, NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, WH_AUTOPROXY_EXAMPLE, &fa, NULL, argv, envp), 0);
  posix_spawn_file_actions_destroy(&fa);
  free(envp);
  close(o[1]);
  close(e[1]);

  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long deadline = now.tv_sec * 1000 + now.tv_nsec / 1000000 + 60000;
  /* The outputs are far smaller than a pipe's buffer, so reading one to its
   * end before the other cannot block the child. */
  *out_len = slurp(o[0], out, out_cap, deadline);
  slurp(e[0], err, err_cap, deadline);
  close(o[0]);
  close(e[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void check_pattern(const char *p, size_t n, size_t want)
{
  assert_int_equal(n, want);
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + i % 26))
      fail_msg("byte %zu of the body is wrong", i);
}

/* Auto-detection fails, as on a Windows network without WPAD, and the
 * sample ignores the error and fetches the page directly. With http_proxy
 * set it still goes direct: it asked WPAD only, and its session is
 * NO_PROXY. */
static void test_autoproxy_example(void **state)
{
  (void)state;
  struct wh_peer fault;
  memset(&fault, 0, sizeof(fault));
  assert_int_equal(wh_peer_start_fault(&fault), 0);
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/ok?n=5000", wh_peer_port(&fault));
  static char out[16384], err[4096];
  size_t out_len;
  static const char *const extras[] = {NULL, "http_proxy=http://127.0.0.1:9"};
  for (size_t i = 0; i < 2; i++) {
    int rc = run_autoproxy(url, NULL, extras[i], out, sizeof(out), &out_len, err, sizeof(err));
    if (rc != 0)
      fail_msg("autoproxy exited with %d; stderr:\n%s", rc, err);
    check_pattern(out, out_len, 5000);
    if (!strstr(err, "no proxy found (error 12180), connecting directly") ||
        !strstr(err, "HTTP status 200"))
      fail_msg("unexpected stderr:\n%s", err);
  }
  /* With a PAC URL (tests/peers/pac/proxy.pac): the script's proxy is set
   * on the request, which goes through it. */
  struct wh_peer px;
  memset(&px, 0, sizeof(px));
  assert_int_equal(wh_peer_start_proxy(&px, NULL), 0);
  char pac[160], want[200], report[4096];
  snprintf(pac, sizeof(pac), "http://127.0.0.1:%u/pac?name=proxy&port=%u", wh_peer_port(&fault),
           wh_peer_port(&px));
  int rc = run_autoproxy(url, pac, NULL, out, sizeof(out), &out_len, err, sizeof(err));
  if (rc != 0)
    fail_msg("autoproxy exited with %d; stderr:\n%s", rc, err);
  check_pattern(out, out_len, 5000);
  snprintf(want, sizeof(want), "using proxy 127.0.0.1:%u\n", wh_peer_port(&px));
  if (!strstr(err, want) || !strstr(err, "HTTP status 200"))
    fail_msg("unexpected stderr:\n%s", err);
  snprintf(want, sizeof(want), "GET %s HTTP/1.1", url);
  assert_true(wh_peer_proxy_report(&px, report, sizeof(report)) > 0);
  if (!strstr(report, want))
    fail_msg("the proxy saw:\n%s", report);
  wh_peer_stop(&px);
  wh_peer_stop(&fault);
}
#endif

/* WinHttpSetDefaultProxyConfiguration: process-wide (COMPAT.md). What
 * WinHttpGetDefaultProxyConfiguration reports from then on, in place of the
 * environment; the current user's configuration stays the environment's.
 * Runs last: the setting cannot be undone for the process. */
static void test_set_default(void **state)
{
  (void)state;
  WINHTTP_PROXY_INFO info = {WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, NULL, NULL};
  SetLastError(0xdeadbeef);
  assert_false(WinHttpSetDefaultProxyConfiguration(NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_false(WinHttpSetDefaultProxyConfiguration(&info));
  assert_last_error(ERROR_INVALID_PARAMETER);
  info.dwAccessType = WINHTTP_ACCESS_TYPE_NAMED_PROXY;
  assert_false(WinHttpSetDefaultProxyConfiguration(&info)); /* no list */
  assert_last_error(ERROR_INVALID_PARAMETER);
  /* Nothing set yet: the environment. */
  setenv("http_proxy", "env.example:1", 1);
  expect_config(L"http=env.example:1", NULL);
  info.lpszProxy = (LPWSTR)L"set.example:8080";
  info.lpszProxyBypass = (LPWSTR)L"<local>";
  assert_true(WinHttpSetDefaultProxyConfiguration(&info));
  WINHTTP_PROXY_INFO got;
  assert_true(WinHttpGetDefaultProxyConfiguration(&got));
  assert_int_equal(got.dwAccessType, WINHTTP_ACCESS_TYPE_NAMED_PROXY);
  wide_equal(got.lpszProxy, L"set.example:8080");
  wide_equal(got.lpszProxyBypass, L"<local>");
  GlobalFree(got.lpszProxy);
  GlobalFree(got.lpszProxyBypass);
  WINHTTP_CURRENT_USER_IE_PROXY_CONFIG cfg;
  assert_true(WinHttpGetIEProxyConfigForCurrentUser(&cfg));
  wide_equal(cfg.lpszProxy, L"http=env.example:1");
  GlobalFree(cfg.lpszAutoConfigUrl);
  GlobalFree(cfg.lpszProxy);
  GlobalFree(cfg.lpszProxyBypass);
  /* NO_PROXY: no proxy, whatever the environment says; strings ignored. */
  info.dwAccessType = WINHTTP_ACCESS_TYPE_NO_PROXY;
  assert_true(WinHttpSetDefaultProxyConfiguration(&info));
  memset(&got, 0xA5, sizeof(got));
  assert_true(WinHttpGetDefaultProxyConfiguration(&got));
  assert_int_equal(got.dwAccessType, WINHTTP_ACCESS_TYPE_NO_PROXY);
  assert_null(got.lpszProxy);
  assert_null(got.lpszProxyBypass);
}

int main(void)
{
  /* No lookup of this program asks the machine's DNS for WPAD names. */
  wh_wpad_test_seam("", NULL, NULL);
  /* The current user's settings here are the environment's: no desktop
   * settings may answer first (test_desktop_proxy covers those). GIO's
   * in-memory backend holds only the schema's defaults (mode "none"); set
   * before anything loads GIO, which reads it once. */
  unsetenv("XDG_CURRENT_DESKTOP");
  setenv("GSETTINGS_BACKEND", "memory", 1);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_map_table),
    cmocka_unit_test(test_map_semantics),
    cmocka_unit_test(test_map_oom),
    cmocka_unit_test_setup(test_config_null, env_setup),
    cmocka_unit_test_setup(test_config_nothing, env_setup),
    cmocka_unit_test_setup(test_config_env, env_setup),
    cmocka_unit_test_setup(test_config_httpoxy, env_setup),
    cmocka_unit_test_setup(test_detect, env_setup),
    cmocka_unit_test_setup(test_get_proxy_for_url, env_setup),
    cmocka_unit_test_setup(test_resolver, env_setup),
#ifdef WH_AUTOPROXY_EXAMPLE
    cmocka_unit_test_setup(test_autoproxy_example, env_setup),
#endif
    cmocka_unit_test_setup(test_set_default, env_setup), /* last: process-wide */
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
