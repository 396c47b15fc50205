/* Proxy auto-configuration (issue 9 §3): PAC scripts served by the fault
 * server (/pac, tests/peers/faultserver.py, scripts in tests/peers/pac/),
 * evaluated in the helper process (helpers/pac/), through the public
 * functions:
 *
 *  - the pure parts: the answer parser and its two readings
 *    (policy/pac_result.h), WPAD's candidate names and resolv.conf
 *    (policy/wpad.h);
 *  - every PAC helper function (helpers.pac checks each one in the helper
 *    and answers "pass" or "fail");
 *  - answers mapped onto WINHTTP_PROXY_INFO (WinHttpGetProxyForUrl);
 *  - broken scripts: syntax errors, exceptions, answers that are not
 *    strings or not proxy lists, an endless loop, an endless allocation:
 *    ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT in bounded time, and the process
 *    (and the next lookup) carries on;
 *  - downloads that fail: ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT;
 *  - the session's cache (one download, helpers kept alive;
 *    WinHttpResetAutoProxy forgets it);
 *  - WPAD by DNS through the test seam (core/autoproxy.h: the candidate
 *    names are computed, only the seam's name "resolves", to a local URL);
 *  - the resolver handles (GETPROXYFORURL_COMPLETE, WinHttpGetProxyResultEx,
 *    cancellation by WinHttpCloseHandle);
 *  - WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY sessions whose WPAD script sends
 *    requests through the proxy peer (its report shows them), sync and
 *    async, https:// through a tunnel (the script sees no path), and
 *    direct when the script says so or nothing is found;
 *  - every allocation of a lookup failing in turn (test_oom.c's way).
 *
 * No test reaches outside the machine: the seam replaces DNS for WPAD, and
 * names that must not resolve contain spaces (refused before any query).
 * The script time limit is shortened for the whole program so that endless
 * loops end quickly. Events, never sleeps. */
#include "wh_test.h"
#include "peers.h"

#include "core/autoproxy.h"
#include "net/pac_proc.h"
#include "util/mem.h"
#include "policy/pac_result.h"
#include "policy/wpad.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define SCRIPT_MS 400 /* the script time limit in this program */

static struct wh_peer fault;

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- policy/pac_result.c ------------------------------------------------------ */

static void test_parse_table(void **state)
{
  (void)state;
  static const struct {
    const char *answer;
    const char *list; /* wh_pac_to_list; NULL: direct; "!": unsupported; "?": no entry */
    size_t n;         /* entries parsed */
  } rows[] = {
      {"PROXY a:1; PROXY b:2; DIRECT", "a:1;b:2", 3},
      {"PROXY a:1;PROXY b:2", "a:1;b:2", 2},
      {"  proxy a.example:8080  ;  direct  ", "a.example:8080", 2},
      {"DIRECT", NULL, 1},
      {"", NULL, 1},
      {"   \t ", NULL, 1},
      {"DIRECT; PROXY a:1", NULL, 2},
      {"HTTP a:1", "a:1", 1},
      {"PROXY a", "a:80", 1},
      {"PROXY [::1]:8080", "[::1]:8080", 1},
      {"PROXY [2001:db8::1]", "[2001:db8::1]:80", 1},
      {"SOCKS s:1; PROXY a:1", "a:1", 2},
      {"SOCKS5 s:1; HTTPS h:443; DIRECT", NULL, 3},
      {"SOCKS s:1", "!", 1},
      {"HTTPS h", "!", 1},
      {"garbage", "?", 0},
      {"PROXY", "?", 0},
      {"PROXY a:0", "?", 0},
      {"PROXY a:65536", "?", 0},
      {"PROXY a:1x", "?", 0},
      {"PROXY a/b:1", "?", 0},
      {"PROXY u@a:1", "?", 0},
      {"PROXY [::1", "?", 0},
      {"PROXY [zz]:1", "?", 0},
      {"DIRECT x", "?", 0},
      {"BOGUS a:1; PROXY b:2", "b:2", 1},
      {";;PROXY a:1;;", "a:1", 1},
      {"PROXY a:1 b:2", "?", 0},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    struct wh_pac_entry e[WH_PAC_MAX_ENTRIES];
    size_t n = wh_pac_result_parse(rows[i].answer, strlen(rows[i].answer), e, WH_PAC_MAX_ENTRIES);
    if (n != rows[i].n)
      fail_msg("\"%s\": %zu entries, want %zu", rows[i].answer, n, rows[i].n);
    if (n == 0)
      continue;
    char list[WH_PAC_MAX_ENTRIES * 264];
    enum wh_pac_list_kind k = wh_pac_to_list(e, n, list, sizeof(list));
    const char *want = rows[i].list;
    bool ok = want == NULL                ? k == WH_PAC_LIST_DIRECT
              : strcmp(want, "!") == 0    ? k == WH_PAC_LIST_UNSUPPORTED
                                          : k == WH_PAC_LIST_PROXIES && strcmp(list, want) == 0;
    if (!ok)
      fail_msg("\"%s\": list kind %d \"%s\"", rows[i].answer, (int)k, list);
    /* The route agrees with the list. */
    struct wh_proxy_server via[4];
    size_t m = wh_pac_to_route(e, n, via, 4);
    if (want == NULL)
      assert_int_equal(m, 0);
    else if (strcmp(want, "!") == 0)
      assert_true(m == 1 && via[0].unsupported);
    else
      assert_true(m >= 1 && !via[0].unsupported);
  }
  /* More entries than room: the first ones. */
  struct wh_pac_entry e[2];
  assert_int_equal(wh_pac_result_parse("PROXY a:1; PROXY b:2; PROXY c:3", 31, e, 2), 2);
  assert_string_equal(e[1].host, "b");
  /* Kinds, hosts and default ports. */
  struct wh_pac_entry f[4];
  assert_int_equal(wh_pac_result_parse("HTTPS h; SOCKS4 s; SOCKS5 t:9; PROXY [::1]", 42, f, 4), 4);
  assert_int_equal(f[0].kind, WH_PAC_HTTPS);
  assert_int_equal(f[0].port, 443);
  assert_int_equal(f[1].kind, WH_PAC_SOCKS);
  assert_int_equal(f[1].port, 1080);
  assert_int_equal(f[2].port, 9);
  assert_string_equal(f[3].host, "::1");
}

/* ---- policy/wpad.c -------------------------------------------------------------- */

static void test_wpad_candidates(void **state)
{
  (void)state;
  char d[WH_WPAD_DOMAINS_MAX][WH_WPAD_NAME_MAX];
  char c[WH_WPAD_CANDIDATES_MAX][WH_WPAD_NAME_MAX + 5];
  static const char conf[] = "# comment\nnameserver 10.0.0.1\ndomain old.example\n"
                             "search Dept.Corp.Example.COM. corp.example.co.uk  bad..name x.y\t"
                             "single ; comment\noptions ndots:2\n";
  size_t nd = wh_wpad_search_list(conf, sizeof(conf) - 1, d, WH_WPAD_DOMAINS_MAX);
  assert_int_equal(nd, 4);
  assert_string_equal(d[0], "dept.corp.example.com");
  assert_string_equal(d[1], "corp.example.co.uk");
  assert_string_equal(d[2], "x.y");
  assert_string_equal(d[3], "single");
  size_t nc = wh_wpad_candidates((const char(*)[WH_WPAD_NAME_MAX])d, nd, c,
                                 WH_WPAD_CANDIDATES_MAX);
  /* Down to the organisation's domain, never a public suffix (com, co.uk;
   * "y" is an unknown top-level domain, a suffix by the list's default
   * rule), nothing for a single label. */
  static const char *const want[] = {"wpad.dept.corp.example.com", "wpad.corp.example.com",
                                     "wpad.example.com", "wpad.corp.example.co.uk",
                                     "wpad.example.co.uk", "wpad.x.y"};
  assert_int_equal(nc, sizeof(want) / sizeof(want[0]));
  for (size_t i = 0; i < nc; i++)
    assert_string_equal(c[i], want[i]);
  /* "domain" alone, the last line winning; duplicates once. */
  static const char conf2[] = "search a.example.org\ndomain b.example.org\n";
  nd = wh_wpad_search_list(conf2, sizeof(conf2) - 1, d, WH_WPAD_DOMAINS_MAX);
  assert_int_equal(nd, 1);
  assert_string_equal(d[0], "b.example.org");
  nd = wh_wpad_domain_list("a.example.org example.org", 25, d, WH_WPAD_DOMAINS_MAX);
  nc = wh_wpad_candidates((const char(*)[WH_WPAD_NAME_MAX])d, nd, c, WH_WPAD_CANDIDATES_MAX);
  assert_int_equal(nc, 2);
  assert_string_equal(c[1], "wpad.example.org");
  /* A private suffix of the list counts too: not wpad.github.io. */
  nd = wh_wpad_domain_list("user.github.io", 14, d, WH_WPAD_DOMAINS_MAX);
  nc = wh_wpad_candidates((const char(*)[WH_WPAD_NAME_MAX])d, nd, c, WH_WPAD_CANDIDATES_MAX);
  assert_int_equal(nc, 1);
  assert_string_equal(c[0], "wpad.user.github.io");
  /* Nothing at all. */
  assert_int_equal(wh_wpad_search_list("nameserver 1.2.3.4\n", 19, d, WH_WPAD_DOMAINS_MAX), 0);
  assert_int_equal(wh_wpad_domain_list("", 0, d, WH_WPAD_DOMAINS_MAX), 0);
}

/* ---- lookups through WinHttpGetProxyForUrl ------------------------------------------ */

/* "http://127.0.0.1:<fault>/pac?<query>" as WCHARs. */
static void pac_url(WCHAR *out, size_t cap, const char *query)
{
  swprintf(out, cap, L"http://127.0.0.1:%u/pac?%s", wh_peer_port(&fault), query);
}

/* "body=<the script percent-encoded>". */
static void body_query(char *out, size_t cap, const char *script)
{
  size_t n = (size_t)snprintf(out, cap, "body=");
  for (const unsigned char *p = (const unsigned char *)script; *p && n + 4 < cap; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
      out[n++] = (char)*p;
    else
      n += (size_t)snprintf(out + n, cap - n, "%%%02X", *p);
  }
  out[n] = '\0';
}

static WINHTTP_AUTOPROXY_OPTIONS pac_opts(const WCHAR *pac)
{
  WINHTTP_AUTOPROXY_OPTIONS o;
  memset(&o, 0, sizeof(o));
  o.dwFlags = WINHTTP_AUTOPROXY_CONFIG_URL;
  o.lpszAutoConfigUrl = pac;
  return o;
}

/* WinHttpGetProxyForUrl(|url|) with the script |script| (inline) or the
 * file |name|; returns the error, and the proxy list in |list| (empty for
 * NO_PROXY). */
static DWORD lookup(HINTERNET ses, const WCHAR *url, const char *query, WCHAR *list, size_t cap)
{
  WCHAR pac[8192];
  pac_url(pac, sizeof(pac) / sizeof(pac[0]), query);
  WINHTTP_AUTOPROXY_OPTIONS o = pac_opts(pac);
  WINHTTP_PROXY_INFO pi;
  memset(&pi, 0xA5, sizeof(pi));
  list[0] = L'\0';
  SetLastError(0xdeadbeef);
  if (!WinHttpGetProxyForUrl(ses, url, &o, &pi)) {
    assert_int_equal(pi.dwAccessType, 0xA5A5A5A5u); /* nothing written */
    return GetLastError();
  }
  assert_last_error(ERROR_SUCCESS);
  assert_null(pi.lpszProxyBypass);
  if (pi.dwAccessType == WINHTTP_ACCESS_TYPE_NO_PROXY) {
    assert_null(pi.lpszProxy);
  } else {
    assert_int_equal(pi.dwAccessType, WINHTTP_ACCESS_TYPE_NAMED_PROXY);
    assert_non_null(pi.lpszProxy);
    swprintf(list, cap, L"%ls", pi.lpszProxy);
    GlobalFree(pi.lpszProxy);
  }
  return ERROR_SUCCESS;
}

static DWORD lookup_script(HINTERNET ses, const WCHAR *url, const char *script, WCHAR *list,
                           size_t cap)
{
  char q[4096];
  body_query(q, sizeof(q), script);
  return lookup(ses, url, q, list, cap);
}

static void test_helpers(void **state)
{
  (void)state;
  static const char *const checks[] = {
      "isplainhostname", "dnsdomainis",    "localhostordomainis", "isresolvable",
      "isinnet",         "dnsresolve",     "myipaddress",         "dnsdomainlevels",
      "shexpmatch",      "weekdayrange",   "daterange",           "timerange",
      "isresolvableex",  "isinnetex",      "dnsresolveex",        "myipaddressex",
      "sortipaddresslist", "getclientversion", "alert",
  };
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(ses);
  for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
    WCHAR url[128], list[256];
    swprintf(url, 128, L"http://%s.test/", checks[i]);
    DWORD err = lookup(ses, url, "name=helpers", list, 256);
    if (err != ERROR_SUCCESS || wcscmp(list, L"pass:1") != 0)
      fail_msg("%s: error %u, answer \"%ls\"", checks[i], err, list);
  }
  assert_true(WinHttpCloseHandle(ses));
}

static void test_answers(void **state)
{
  (void)state;
  static const struct {
    const char *answer;
    const WCHAR *list; /* NULL: NO_PROXY */
    DWORD err;
  } rows[] = {
      {"PROXY a:1; PROXY b:2; DIRECT", L"a:1;b:2", ERROR_SUCCESS},
      {"DIRECT", NULL, ERROR_SUCCESS},
      {"", NULL, ERROR_SUCCESS},
      {"DIRECT; PROXY a:1", NULL, ERROR_SUCCESS},
      {"PROXY a:1; DIRECT; PROXY b:2", L"a:1", ERROR_SUCCESS},
      {"SOCKS s:1; PROXY a:1", L"a:1", ERROR_SUCCESS},
      {"PROXY [::1]:8080", L"[::1]:8080", ERROR_SUCCESS},
      {"HTTP h", L"h:80", ERROR_SUCCESS},
      {"SOCKS5 s:1080", NULL, ERROR_CALL_NOT_IMPLEMENTED},
      {"SOCKS s:1; DIRECT", NULL, ERROR_SUCCESS},
      {"nonsense", NULL, ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT},
  };
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(ses);
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char script[256];
    snprintf(script, sizeof(script), "function FindProxyForURL(u, h) { return \"%s\"; }",
             rows[i].answer);
    WCHAR list[256];
    DWORD err = lookup_script(ses, L"http://www.example.com/x", script, list, 256);
    bool ok = err == rows[i].err &&
              (err != ERROR_SUCCESS || (rows[i].list ? wcscmp(list, rows[i].list) == 0 : !list[0]));
    if (!ok)
      fail_msg("\"%s\": error %u, list \"%ls\"", rows[i].answer, err, list);
  }
  /* FindProxyForURLEx wins over FindProxyForURL (Microsoft), and gets the
   * URL as given. */
  WCHAR list[256];
  assert_int_equal(lookup(ses, L"http://host.example/path?q", "name=ex", list, 256),
                   ERROR_SUCCESS);
  assert_true(wcscmp(list, L"ex:2") == 0);
  /* The host as the URL writes it (Microsoft: HOST_KEEPCASE is the
   * default), or lower-cased with HOST_LOWERCASE. */
  const char *echo_host = "function FindProxyForURL(u, h) { return \"PROXY \" + h + \":1\"; }";
  assert_int_equal(lookup_script(ses, L"http://MiXeD.Example/", echo_host, list, 256),
                   ERROR_SUCCESS);
  assert_true(wcscmp(list, L"MiXeD.Example:1") == 0);
  char q[1024];
  body_query(q, sizeof(q), echo_host);
  WCHAR pac[2048];
  pac_url(pac, 2048, q);
  WINHTTP_AUTOPROXY_OPTIONS o = pac_opts(pac);
  o.dwFlags |= WINHTTP_AUTOPROXY_HOST_LOWERCASE;
  WINHTTP_PROXY_INFO pi;
  assert_true(WinHttpGetProxyForUrl(ses, L"http://MiXeD.Example/", &o, &pi));
  assert_true(wcscmp(pi.lpszProxy, L"mixed.example:1") == 0);
  GlobalFree(pi.lpszProxy);
  /* An IPv6 literal is passed without brackets. */
  assert_int_equal(lookup_script(ses, L"http://[::1]:8080/",
                                 "function FindProxyForURL(u, h) { return h == \"::1\" ? "
                                 "\"PROXY v6:1\" : \"PROXY other:1\"; }",
                                 list, 256),
                   ERROR_SUCCESS);
  assert_true(wcscmp(list, L"v6:1") == 0);
  assert_true(WinHttpCloseHandle(ses));
}

static void test_bad_scripts(void **state)
{
  (void)state;
  static const char *const scripts[] = {
      "function FindProxyForURL(u, h) { return \"DIRECT\"", /* syntax error */
      "function FindProxyForURL(u, h) { throw new Error(\"no\"); }",
      "function FindProxyForURL(u, h) { return 42; }",
      "function FindProxyForURL(u, h) { }",
      "var FindProxyForURL = 5;",
      "function Other(u, h) { return \"DIRECT\"; }",
      "throw 1;",
      "function FindProxyForURL(u, h) { return FindProxyForURL(u, h); }", /* no end of stack */
      "function FindProxyForURL(u, h) { var s = \"x\"; for (;;) s += s; }", /* no end of memory */
      "function FindProxyForURL(u, h) { var a = []; for (;;) a.push([a.length]); }",
      "function FindProxyForURL(u, h) { for (;;) {} }", /* no end at all */
      "for (;;) {}",
      "while (true) { dnsResolve(\"localhost\"); }",
  };
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(ses);
  for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
    WCHAR list[256];
    long t0 = now_ms();
    DWORD err = lookup_script(ses, L"http://www.example.com/", scripts[i], list, 256);
    long took = now_ms() - t0;
    if (err != ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT)
      fail_msg("script %zu: error %u, list \"%ls\"", i, err, list);
    /* Bounded: the time limit (and a helper's start and kill). */
    if (took > 20 * SCRIPT_MS + 5000)
      fail_msg("script %zu took %ld ms", i, took);
  }
  /* The process is fine, and so is the next script. */
  WCHAR list[256];
  assert_int_equal(lookup_script(ses, L"http://a/", "function FindProxyForURL(u,h){return \"PROXY ok:1\";}",
                                 list, 256),
                   ERROR_SUCCESS);
  assert_true(wcscmp(list, L"ok:1") == 0);
  /* A script that loops for some hosts only: those fail, in bounded time,
   * the others still answer (a fresh helper replaces the killed one). */
  long t0 = now_ms();
  assert_int_equal(lookup(ses, L"http://x.loop.test/", "name=loop", list, 256),
                   ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT);
  assert_true(now_ms() - t0 >= SCRIPT_MS - 50);
  assert_int_equal(lookup(ses, L"http://fine.test/", "name=loop", list, 256), ERROR_SUCCESS);
  assert_true(wcscmp(list, L"after-loop:1") == 0);
  assert_true(WinHttpCloseHandle(ses));
}

static void test_download_failures(void **state)
{
  (void)state;
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(ses);
  WCHAR list[64], pac[256];
  WINHTTP_AUTOPROXY_OPTIONS o;
  WINHTTP_PROXY_INFO pi;
  static const char *const paths[] = {
      "status?code=404", "status?code=500", "pac?name=no-such-file", "redirect-loop",
      "ok?n=5000000", /* larger than a script may be */
      "garbage",
  };
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    swprintf(pac, 256, L"http://127.0.0.1:%u/%s", wh_peer_port(&fault), paths[i]);
    o = pac_opts(pac);
    SetLastError(0xdeadbeef);
    if (WinHttpGetProxyForUrl(ses, L"http://a/", &o, &pi) ||
        GetLastError() != ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT)
      fail_msg("%s: error %u", paths[i], GetLastError());
  }
  /* Nobody listening. */
  o = pac_opts(L"http://127.0.0.1:1/wpad.dat");
  assert_false(WinHttpGetProxyForUrl(ses, L"http://a/", &o, &pi));
  assert_last_error(ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT);
  /* A download that never ends: the session's receive timeout ends it. */
  assert_true(WinHttpSetTimeouts(ses, 0, 2000, 2000, 300));
  swprintf(pac, 256, L"http://127.0.0.1:%u/stall-body", wh_peer_port(&fault));
  o = pac_opts(pac);
  long t0 = now_ms();
  assert_false(WinHttpGetProxyForUrl(ses, L"http://a/", &o, &pi));
  assert_last_error(ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT);
  assert_true(now_ms() - t0 < 10000);
  /* A server that drips bytes within every read timeout: the download's
   * own deadline (the sum of the timeouts) ends it. */
  assert_true(WinHttpSetTimeouts(ses, 100, 100, 100, 200));
  swprintf(pac, 256, L"http://127.0.0.1:%u/drip?n=400&ms=40", wh_peer_port(&fault));
  o = pac_opts(pac);
  t0 = now_ms();
  assert_false(WinHttpGetProxyForUrl(ses, L"http://a/", &o, &pi));
  assert_last_error(ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT);
  assert_true(now_ms() - t0 < 5000); /* the whole drip takes 20 s */
  (void)list;
  assert_true(WinHttpCloseHandle(ses));
}

static int pac_count(const char *id)
{
  char req[256], buf[4096];
  int fd = wh_peer_connect(&fault);
  assert_true(fd >= 0);
  int n = snprintf(req, sizeof(req),
                   "GET /pac-count?id=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", id);
  assert_int_equal(write(fd, req, (size_t)n), n);
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  buf[got] = '\0';
  const char *body = strstr(buf, "\r\n\r\n");
  assert_non_null(body);
  return atoi(body + 4);
}

static void test_cache(void **state)
{
  (void)state;
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(ses);
  WCHAR list[64];
  unsigned started = wh_pac_proc_started();
  for (int i = 0; i < 5; i++) {
    assert_int_equal(lookup(ses, L"http://isplainhostname.test/", "name=helpers&id=cache1", list,
                            64),
                     ERROR_SUCCESS);
    assert_true(wcscmp(list, L"pass:1") == 0);
  }
  /* One download and one helper for five lookups: the session keeps the
   * script ("Autoproxy Cache") and the helper. */
  assert_int_equal(pac_count("cache1"), 1);
  assert_int_equal(wh_pac_proc_started() - started, 1);
  /* Another session has its own cache. */
  HINTERNET ses2 = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_int_equal(lookup(ses2, L"http://isplainhostname.test/", "name=helpers&id=cache1", list,
                          64),
                   ERROR_SUCCESS);
  assert_int_equal(pac_count("cache1"), 2);
  assert_true(WinHttpCloseHandle(ses2));
  /* WinHttpResetAutoProxy forgets the script (and the helpers). */
  assert_int_equal(WinHttpResetAutoProxy(ses, WINHTTP_RESET_ALL | WINHTTP_RESET_OUT_OF_PROC),
                   ERROR_SUCCESS);
  assert_int_equal(lookup(ses, L"http://isplainhostname.test/", "name=helpers&id=cache1", list,
                          64),
                   ERROR_SUCCESS);
  assert_int_equal(pac_count("cache1"), 3);
  /* Argument checks. */
  assert_int_equal(WinHttpResetAutoProxy(NULL, WINHTTP_RESET_ALL), ERROR_INVALID_HANDLE);
  assert_int_equal(WinHttpResetAutoProxy(ses, 0x80000000u), ERROR_INVALID_PARAMETER);
  HINTERNET con = WinHttpConnect(ses, L"localhost", 80, 0);
  assert_int_equal(WinHttpResetAutoProxy(con, WINHTTP_RESET_ALL),
                   ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_true(WinHttpCloseHandle(con));
  /* A session never used for a lookup has nothing to reset. */
  HINTERNET ses3 = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_int_equal(WinHttpResetAutoProxy(ses3, WINHTTP_RESET_STATE), ERROR_SUCCESS);
  assert_true(WinHttpCloseHandle(ses3));
  /* Closing the session kills its helpers. */
  assert_true(WinHttpCloseHandle(ses));
}

/* ---- WPAD ------------------------------------------------------------------------ */

static void test_wpad(void **state)
{
  (void)state;
  WCHAR *url;
  /* Nothing to try. */
  wh_wpad_test_seam("", NULL, NULL);
  url = (WCHAR *)1;
  assert_false(WinHttpDetectAutoProxyConfigUrl(WINHTTP_AUTO_DETECT_TYPE_DNS_A, &url));
  assert_last_error(ERROR_WINHTTP_AUTODETECTION_FAILED);
  assert_null(url);
  /* The third candidate of dept.corp.example.com "resolves". */
  char pac[256], wantc[256];
  snprintf(pac, sizeof(pac), "http://127.0.0.1:%u/pac?name=helpers&id=wpad1",
           wh_peer_port(&fault));
  wh_wpad_test_seam("dept.corp.example.com", "wpad.example.com", pac);
  assert_true(WinHttpDetectAutoProxyConfigUrl(WINHTTP_AUTO_DETECT_TYPE_DNS_A |
                                                  WINHTTP_AUTO_DETECT_TYPE_DHCP,
                                              &url));
  assert_last_error(ERROR_SUCCESS);
  assert_non_null(url);
  snprintf(wantc, sizeof(wantc), "%s", pac);
  WCHAR want[256];
  swprintf(want, 256, L"%s", wantc);
  assert_true(wcscmp(url, want) == 0);
  GlobalFree(url);
  assert_int_equal(pac_count("wpad1"), 0); /* detection does not download */
  /* DHCP alone: not performed. */
  url = (WCHAR *)1;
  assert_false(WinHttpDetectAutoProxyConfigUrl(WINHTTP_AUTO_DETECT_TYPE_DHCP, &url));
  assert_last_error(ERROR_WINHTTP_AUTODETECTION_FAILED);
  assert_null(url);
  /* A candidate that is not of the organisation never "resolves" even
   * when the seam names it: wpad.com is not a candidate. */
  wh_wpad_test_seam("example.com", "wpad.com", pac);
  assert_false(WinHttpDetectAutoProxyConfigUrl(WINHTTP_AUTO_DETECT_TYPE_DNS_A, &url));
  assert_last_error(ERROR_WINHTTP_AUTODETECTION_FAILED);

  /* WinHttpGetProxyForUrl with AUTO_DETECT downloads and runs it. */
  wh_wpad_test_seam("dept.corp.example.com", "wpad.corp.example.com", pac);
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  WINHTTP_AUTOPROXY_OPTIONS o;
  memset(&o, 0, sizeof(o));
  o.dwFlags = WINHTTP_AUTOPROXY_AUTO_DETECT;
  o.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DNS_A;
  WINHTTP_PROXY_INFO pi;
  assert_true(WinHttpGetProxyForUrl(ses, L"http://dnsdomainis.test/", &o, &pi));
  assert_true(wcscmp(pi.lpszProxy, L"pass:1") == 0);
  GlobalFree(pi.lpszProxy);
  assert_int_equal(pac_count("wpad1"), 1);
  /* DHCP only: nothing detected. */
  o.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DHCP;
  assert_false(WinHttpGetProxyForUrl(ses, L"http://dnsdomainis.test/", &o, &pi));
  assert_last_error(ERROR_WINHTTP_AUTODETECTION_FAILED);
  assert_true(WinHttpCloseHandle(ses));

  /* A name that resolves but serves nothing: UNABLE_TO_DOWNLOAD_SCRIPT;
   * with a PAC URL as well, the URL is the fallback (Microsoft). */
  char broken[128];
  snprintf(broken, sizeof(broken), "http://127.0.0.1:%u/status?code=404", wh_peer_port(&fault));
  wh_wpad_test_seam("corp.example.com", "wpad.corp.example.com", broken);
  ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  o.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DNS_A;
  assert_false(WinHttpGetProxyForUrl(ses, L"http://dnsdomainis.test/", &o, &pi));
  assert_last_error(ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT);
  WCHAR fallback[256];
  pac_url(fallback, 256, "name=helpers");
  o.dwFlags |= WINHTTP_AUTOPROXY_CONFIG_URL;
  o.lpszAutoConfigUrl = fallback;
  assert_true(WinHttpGetProxyForUrl(ses, L"http://dnsdomainis.test/", &o, &pi));
  assert_true(wcscmp(pi.lpszProxy, L"pass:1") == 0);
  GlobalFree(pi.lpszProxy);
  assert_true(WinHttpCloseHandle(ses));
  wh_wpad_test_seam("", NULL, NULL);
}

/* ---- the resolver handles --------------------------------------------------------- */

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int completes, errors, closings;
  DWORD error;
  DWORD_PTR ctx;
  pthread_t thread;
} ev = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void CALLBACK resolver_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)h;
  (void)len;
  pthread_mutex_lock(&ev.lock);
  if (status == WINHTTP_CALLBACK_STATUS_GETPROXYFORURL_COMPLETE)
    ev.completes++;
  else if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) {
    ev.errors++;
    ev.error = ((WINHTTP_ASYNC_RESULT *)info)->dwError;
  } else if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING) {
    ev.closings++;
  }
  ev.ctx = ctx;
  ev.thread = pthread_self();
  pthread_cond_broadcast(&ev.cond);
  pthread_mutex_unlock(&ev.lock);
}

static void ev_wait(int *counter, int n)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  pthread_mutex_lock(&ev.lock);
  while (*counter < n)
    if (pthread_cond_timedwait(&ev.cond, &ev.lock, &until) == ETIMEDOUT)
      break;
  int got = *counter;
  pthread_mutex_unlock(&ev.lock);
  assert_int_equal(got, n);
}

static void test_resolver(void **state)
{
  (void)state;
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(ses);
  WinHttpSetStatusCallback(ses, resolver_cb,
                           WINHTTP_CALLBACK_FLAG_REQUEST_ERROR |
                               WINHTTP_CALLBACK_FLAG_GETPROXYFORURL_COMPLETE |
                               WINHTTP_CALLBACK_FLAG_HANDLES,
                           0);
  HINTERNET res;
  assert_int_equal(WinHttpCreateProxyResolver(ses, &res), ERROR_SUCCESS);
  char q[512];
  body_query(q, sizeof(q),
             "function FindProxyForURL(u, h) { return \"PROXY a.example:1; SOCKS s:2; "
             "HTTPS t:443; DIRECT\"; }");
  WCHAR pac[1024];
  pac_url(pac, 1024, q);
  WINHTTP_AUTOPROXY_OPTIONS o = pac_opts(pac);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, L"http://www.example.com/", &o, 0x42),
                   ERROR_IO_PENDING);
  ev_wait(&ev.completes, 1);
  pthread_mutex_lock(&ev.lock);
  assert_int_equal(ev.ctx, 0x42);
  assert_false(pthread_equal(ev.thread, pthread_self()));
  pthread_mutex_unlock(&ev.lock);
  WINHTTP_PROXY_RESULT_EX rx;
  memset(&rx, 0xA5, sizeof(rx));
  assert_int_equal(WinHttpGetProxyResultEx(res, &rx), ERROR_SUCCESS);
  assert_int_equal(rx.cEntries, 4);
  assert_true(rx.pEntries[0].fProxy);
  assert_int_equal(rx.pEntries[0].ProxyScheme, INTERNET_SCHEME_HTTP);
  assert_true(wcscmp(rx.pEntries[0].pwszProxy, L"a.example") == 0);
  assert_int_equal(rx.pEntries[0].ProxyPort, 1);
  assert_int_equal(rx.pEntries[1].ProxyScheme, INTERNET_SCHEME_SOCKS);
  assert_int_equal(rx.pEntries[1].ProxyPort, 2);
  assert_int_equal(rx.pEntries[2].ProxyScheme, INTERNET_SCHEME_HTTPS);
  assert_false(rx.pEntries[3].fProxy);
  assert_false(rx.pEntries[3].fBypass);
  assert_null(rx.pEntries[3].pwszProxy);
  assert_null(rx.hProxyDetectionHandle);
  WinHttpFreeProxyResultEx(&rx);
  assert_int_equal(rx.cEntries, 0);
  assert_null(rx.pEntries);
  WinHttpFreeProxyResultEx(NULL);
  WINHTTP_PROXY_RESULT r;
  assert_int_equal(WinHttpGetProxyResult(res, &r), ERROR_SUCCESS);
  assert_int_equal(r.cEntries, 4);
  WinHttpFreeProxyResult(&r);
  assert_null(r.pEntries);
  WinHttpFreeProxyResult(NULL);

  /* A broken script: REQUEST_ERROR with BAD_AUTO_PROXY_SCRIPT, no result. */
  body_query(q, sizeof(q), "function FindProxyForURL(u, h) { return 1; }");
  pac_url(pac, 1024, q);
  o = pac_opts(pac);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, L"http://www.example.com/", &o, 0x43),
                   ERROR_IO_PENDING);
  ev_wait(&ev.errors, 1);
  pthread_mutex_lock(&ev.lock);
  assert_int_equal(ev.error, ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT);
  pthread_mutex_unlock(&ev.lock);
  assert_int_equal(WinHttpGetProxyResult(res, &r), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);

  /* ALLOW_STATIC with the environment's proxy: answered from it, with
   * fBypass on the direct entry the bypass list gives. */
  setenv("http_proxy", "static.example:3128", 1);
  setenv("no_proxy", "bypassed.example", 1);
  o.dwFlags |= WINHTTP_AUTOPROXY_ALLOW_STATIC;
  assert_int_equal(WinHttpGetProxyForUrlEx(res, L"http://www.example.com/", &o, 0x44),
                   ERROR_IO_PENDING);
  ev_wait(&ev.completes, 2);
  assert_int_equal(WinHttpGetProxyResult(res, &r), ERROR_SUCCESS);
  assert_int_equal(r.cEntries, 1);
  assert_true(wcscmp(r.pEntries[0].pwszProxy, L"static.example") == 0);
  assert_int_equal(r.pEntries[0].ProxyPort, 3128);
  WinHttpFreeProxyResult(&r);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, L"http://bypassed.example/", &o, 0x45),
                   ERROR_IO_PENDING);
  ev_wait(&ev.completes, 3);
  assert_int_equal(WinHttpGetProxyResult(res, &r), ERROR_SUCCESS);
  assert_int_equal(r.cEntries, 1);
  assert_false(r.pEntries[0].fProxy);
  assert_true(r.pEntries[0].fBypass);
  WinHttpFreeProxyResult(&r);
  unsetenv("http_proxy");
  unsetenv("no_proxy");

  /* Closing the handle cancels a lookup still running (a script that
   * loops): REQUEST_ERROR with OPERATION_CANCELLED, then HANDLE_CLOSING,
   * well before the script's time limit would have ended it. */
  wh_autoproxy_test_script_ms(60000);
  WCHAR loop[256];
  pac_url(loop, 256, "name=loop");
  o = pac_opts(loop);
  assert_int_equal(WinHttpGetProxyForUrlEx(res, L"http://x.loop.test/", &o, 0x46),
                   ERROR_IO_PENDING);
  long t0 = now_ms();
  assert_true(WinHttpCloseHandle(res));
  ev_wait(&ev.errors, 2);
  ev_wait(&ev.closings, 1);
  assert_true(now_ms() - t0 < 5000);
  pthread_mutex_lock(&ev.lock);
  assert_int_equal(ev.error, ERROR_WINHTTP_OPERATION_CANCELLED);
  pthread_mutex_unlock(&ev.lock);
  /* (The cancelled lookup's helper was killed at once.) */
  assert_true(WinHttpCloseHandle(ses));
  ev_wait(&ev.closings, 2);
  wh_autoproxy_test_script_ms(SCRIPT_MS);
}

/* ---- AUTOMATIC_PROXY sessions -------------------------------------------------------- */

/* GET |url| on a session opened with AUTOMATIC_PROXY; returns the status,
 * or the error. |secure|: https://, the test CA's certificate accepted. */
static DWORD get_sync_tls(const WCHAR *host, unsigned short port, const WCHAR *path, bool secure)
{
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY, NULL, NULL, 0);
  assert_non_null(ses);
  HINTERNET con = WinHttpConnect(ses, host, port, 0);
  HINTERNET req =
      WinHttpOpenRequest(con, L"GET", path, NULL, NULL, NULL, secure ? WINHTTP_FLAG_SECURE : 0);
  assert_non_null(req);
  DWORD ignore = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  if (secure)
    assert_true(WinHttpSetOption(req, WINHTTP_OPTION_SECURITY_FLAGS, &ignore, sizeof(ignore)));
  DWORD status = 0, size = sizeof(status);
  if (WinHttpSendRequest(req, NULL, 0, NULL, 0, 0, 0) && WinHttpReceiveResponse(req, NULL))
    WinHttpQueryHeaders(req, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL, &status,
                        &size, NULL);
  else
    status = GetLastError();
  WinHttpCloseHandle(req);
  WinHttpCloseHandle(con);
  WinHttpCloseHandle(ses);
  return status;
}

static DWORD get_sync(const WCHAR *host, unsigned short port, const WCHAR *path)
{
  return get_sync_tls(host, port, path, false);
}

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done;
  DWORD status;
} as = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void CALLBACK async_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)ctx;
  (void)len;
  DWORD code = 0;
  bool done = false;
  if (status == WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE) {
    if (!WinHttpReceiveResponse(h, NULL)) {
      code = GetLastError();
      done = true;
    }
  } else if (status == WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE) {
    DWORD size = sizeof(code);
    WinHttpQueryHeaders(h, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL, &code,
                        &size, NULL);
    done = true;
  } else if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) {
    code = ((WINHTTP_ASYNC_RESULT *)info)->dwError;
    done = true;
  }
  if (done) {
    pthread_mutex_lock(&as.lock);
    as.status = code;
    as.done++;
    pthread_cond_broadcast(&as.cond);
    pthread_mutex_unlock(&as.lock);
  }
}

static DWORD get_async(const WCHAR *host, unsigned short port, const WCHAR *path)
{
  HINTERNET ses =
      WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(ses);
  WinHttpSetStatusCallback(ses, async_cb, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
  HINTERNET con = WinHttpConnect(ses, host, port, 0);
  HINTERNET req = WinHttpOpenRequest(con, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(req);
  pthread_mutex_lock(&as.lock);
  int before = as.done;
  pthread_mutex_unlock(&as.lock);
  assert_true(WinHttpSendRequest(req, NULL, 0, NULL, 0, 0, 0));
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  pthread_mutex_lock(&as.lock);
  while (as.done == before)
    if (pthread_cond_timedwait(&as.cond, &as.lock, &until) == ETIMEDOUT)
      break;
  DWORD status = as.done > before ? as.status : 0;
  pthread_mutex_unlock(&as.lock);
  WinHttpCloseHandle(req);
  WinHttpCloseHandle(con);
  WinHttpCloseHandle(ses);
  return status;
}

static void test_automatic_proxy(void **state)
{
  (void)state;
  struct wh_peer px;
  memset(&px, 0, sizeof(px));
  assert_int_equal(wh_peer_start_proxy(&px, NULL), 0);
  char pac[256];
  snprintf(pac, sizeof(pac), "http://127.0.0.1:%u/pac?name=proxy&port=%u", wh_peer_port(&fault),
           wh_peer_port(&px));
  wh_wpad_test_seam("office.example.net", "wpad.example.net", pac);
  unsigned short fp = wh_peer_port(&fault);
  char report[8192], line[256];

  /* The script sends it through the proxy: absolute form. */
  assert_int_equal(get_sync(L"127.0.0.1", fp, L"/ok?n=10"), 200);
  snprintf(line, sizeof(line), "GET http://127.0.0.1:%u/ok?n=10 HTTP/1.1", fp);
  assert_true(wh_peer_proxy_report_wait(&px, line, report, sizeof(report)) > 0);
  assert_non_null(strstr(report, line));
  /* Asynchronous too. */
  assert_int_equal(get_async(L"127.0.0.1", fp, L"/ok?n=11"), 200);
  snprintf(line, sizeof(line), "GET http://127.0.0.1:%u/ok?n=11 HTTP/1.1", fp);
  assert_true(wh_peer_proxy_report_wait(&px, line, report, sizeof(report)) > 0);
  assert_non_null(strstr(report, line));
  /* "localhost" goes direct, as the script says: the proxy never sees it. */
  assert_int_equal(get_sync(L"localhost", fp, L"/ok?n=12"), 200);
  assert_int_equal(get_async(L"localhost", fp, L"/ok?n=13"), 200);
  assert_true(wh_peer_proxy_report(&px, report, sizeof(report)) >= 0);
  assert_null(strstr(report, "ok?n=12"));
  assert_null(strstr(report, "ok?n=13"));

  /* https:: the script is asked about "https://host:port/" only (no
   * path), and the request tunnels through the proxy it names. */
  struct wh_peer tls;
  memset(&tls, 0, sizeof(tls));
  assert_int_equal(wh_peer_start_fault_tls(&tls, WH_CERT_GOOD), 0);
  unsigned short tp = wh_peer_cert_port(&tls, WH_CERT_GOOD);
  char script[512], tq[1024], tpac[1200];
  snprintf(script, sizeof(script),
           "function FindProxyForURL(u, h) { return u == \"https://127.0.0.1:%u/\" ? "
           "\"PROXY 127.0.0.1:%u\" : \"PROXY 127.0.0.1:1\"; }",
           tp, wh_peer_port(&px));
  body_query(tq, sizeof(tq), script);
  snprintf(tpac, sizeof(tpac), "http://127.0.0.1:%u/pac?%s", fp, tq);
  wh_wpad_test_seam("office.example.net", "wpad.example.net", tpac);
  assert_int_equal(get_sync_tls(L"127.0.0.1", tp, L"/ok?n=9&secret=path", true), 200);
  snprintf(line, sizeof(line), "CONNECT 127.0.0.1:%u HTTP/1.1", tp);
  assert_true(wh_peer_proxy_report_wait(&px, line, report, sizeof(report)) > 0);
  assert_non_null(strstr(report, line));
  assert_null(strstr(report, "secret"));
  wh_peer_stop(&tls);

  /* No WPAD script on the network: direct (Windows' fallback). */
  wh_wpad_test_seam("", NULL, NULL);
  assert_int_equal(get_sync(L"127.0.0.1", fp, L"/ok?n=14"), 200);
  assert_int_equal(get_async(L"127.0.0.1", fp, L"/ok?n=15"), 200);
  /* A broken script: direct as well. */
  char broken[512], q[256];
  body_query(q, sizeof(q), "function FindProxyForURL(u, h) { throw 1; }");
  snprintf(broken, sizeof(broken), "http://127.0.0.1:%u/pac?%s", fp, q);
  wh_wpad_test_seam("office.example.net", "wpad.office.example.net", broken);
  assert_int_equal(get_sync(L"127.0.0.1", fp, L"/ok?n=16"), 200);
  assert_true(wh_peer_proxy_report(&px, report, sizeof(report)) >= 0);
  assert_null(strstr(report, "ok?n=14"));
  assert_null(strstr(report, "ok?n=15"));
  assert_null(strstr(report, "ok?n=16"));
  /* A proxy the script names but nobody runs, then DIRECT: the proxy's
   * failure is reported (DIRECT after proxies is not a failover target). */
  body_query(q, sizeof(q), "function FindProxyForURL(u, h) { return \"PROXY 127.0.0.1:1\"; }");
  snprintf(broken, sizeof(broken), "http://127.0.0.1:%u/pac?%s", fp, q);
  wh_wpad_test_seam("office.example.net", "wpad.office.example.net", broken);
  assert_int_equal(get_sync(L"127.0.0.1", fp, L"/ok?n=17"), ERROR_WINHTTP_CANNOT_CONNECT);
  /* Only a SOCKS proxy: refused, never direct. */
  body_query(q, sizeof(q), "function FindProxyForURL(u, h) { return \"SOCKS 127.0.0.1:1080\"; }");
  snprintf(broken, sizeof(broken), "http://127.0.0.1:%u/pac?%s", fp, q);
  wh_wpad_test_seam("office.example.net", "wpad.office.example.net", broken);
  assert_int_equal(get_sync(L"127.0.0.1", fp, L"/ok?n=18"), ERROR_CALL_NOT_IMPLEMENTED);
  wh_wpad_test_seam("", NULL, NULL);
  wh_peer_stop(&px);
}

/* An AUTOMATIC_PROXY session in a KDE session goes by the user's settings
 * (kioslaverc in a temporary XDG_CONFIG_HOME), as Windows' goes by the
 * per-user ones: a manual proxy, a PAC URL (and direct when it gives no
 * script), WPAD; outside a desktop session they are not read. */
static void write_kioslaverc(const char *dir, const char *body)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/kioslaverc", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_true(fputs(body, f) >= 0);
  assert_int_equal(fclose(f), 0);
}

/* GET /ok?n=|n| synchronously and /ok?n=|n|+1 asynchronously on
 * AUTOMATIC_PROXY sessions: both succeed, and both through the proxy |px|. */
static void via_proxy_both(struct wh_peer *px, unsigned short fp, int n)
{
  WCHAR path[64];
  char line[256], report[8192];
  swprintf(path, 64, L"/ok?n=%d", n);
  assert_int_equal(get_sync(L"127.0.0.1", fp, path), 200);
  swprintf(path, 64, L"/ok?n=%d", n + 1);
  assert_int_equal(get_async(L"127.0.0.1", fp, path), 200);
  for (int k = n; k <= n + 1; k++) {
    snprintf(line, sizeof(line), "GET http://127.0.0.1:%u/ok?n=%d HTTP/1.1", fp, k);
    assert_true(wh_peer_proxy_report_wait(px, line, report, sizeof(report)) > 0);
    assert_non_null(strstr(report, line)); /* (the wait also ends after 8 s) */
  }
}

static void test_automatic_proxy_desktop(void **state)
{
  (void)state;
  struct wh_peer px;
  memset(&px, 0, sizeof(px));
  assert_int_equal(wh_peer_start_proxy(&px, NULL), 0);
  unsigned short fp = wh_peer_port(&fault), pp = wh_peer_port(&px);
  char dir[] = "/tmp/wh-pac-desktop.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char none[600];
  snprintf(none, sizeof(none), "%s/none", dir);
  setenv("XDG_CONFIG_HOME", dir, 1);
  setenv("XDG_CONFIG_DIRS", none, 1); /* not the machine's /etc/xdg */
  setenv("XDG_CURRENT_DESKTOP", "KDE", 1);
  char rc[1024], report[8192], line[256], q[256], dead[512];
  /* WPAD would send everything to a proxy nobody runs: a request that
   * gets through did not ask it. */
  body_query(q, sizeof(q), "function FindProxyForURL(u, h) { return \"PROXY 127.0.0.1:1\"; }");
  snprintf(dead, sizeof(dead), "http://127.0.0.1:%u/pac?%s", fp, q);
  wh_wpad_test_seam("office.example.net", "wpad.office.example.net", dead);

  /* A manual proxy, in KDE's "URL PORT" form: a static list. */
  snprintf(rc, sizeof(rc), "[Proxy Settings]\nProxyType=1\nhttpProxy=http://127.0.0.1 %u\n", pp);
  write_kioslaverc(dir, rc);
  via_proxy_both(&px, fp, 30);

  /* A PAC URL: its script routes; no WPAD on the network meanwhile. */
  wh_wpad_test_seam("", NULL, NULL);
  snprintf(rc, sizeof(rc),
           "[Proxy Settings]\nProxyType=2\n"
           "Proxy Config Script=http://127.0.0.1:%u/pac?name=proxy&port=%u\n",
           fp, pp);
  write_kioslaverc(dir, rc);
  via_proxy_both(&px, fp, 32);
  /* A PAC URL with no script behind it: direct, not WPAD's dead proxy. */
  wh_wpad_test_seam("office.example.net", "wpad.office.example.net", dead);
  snprintf(rc, sizeof(rc),
           "[Proxy Settings]\nProxyType=2\nProxy Config Script=http://127.0.0.1:%u/pac?name=nope\n",
           fp);
  write_kioslaverc(dir, rc);
  assert_int_equal(get_sync(L"127.0.0.1", fp, L"/ok?n=34"), 200);

  /* "Detect proxy configuration automatically": WPAD, whose script here
   * names the live proxy. */
  char live[512];
  snprintf(live, sizeof(live), "http://127.0.0.1:%u/pac?name=proxy&port=%u", fp, pp);
  wh_wpad_test_seam("office.example.net", "wpad.office.example.net", live);
  write_kioslaverc(dir, "[Proxy Settings]\nProxyType=3\n");
  assert_int_equal(get_sync(L"127.0.0.1", fp, L"/ok?n=35"), 200);
  snprintf(line, sizeof(line), "GET http://127.0.0.1:%u/ok?n=35 HTTP/1.1", fp);
  assert_true(wh_peer_proxy_report_wait(&px, line, report, sizeof(report)) > 0);
  assert_non_null(strstr(report, line));

  /* A request of that session asking for DEFAULT_PROXY goes by the
   * environment the session read when it opened, not the desktop's. */
  char envp[64];
  snprintf(envp, sizeof(envp), "http://127.0.0.1:%u", pp);
  setenv("http_proxy", envp, 1);
  wh_wpad_test_seam("office.example.net", "wpad.office.example.net", dead);
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY, NULL, NULL, 0);
  unsetenv("http_proxy");
  assert_non_null(ses);
  HINTERNET con = WinHttpConnect(ses, L"127.0.0.1", fp, 0);
  HINTERNET req = WinHttpOpenRequest(con, L"GET", L"/ok?n=37", NULL, NULL, NULL, 0);
  assert_non_null(req);
  WINHTTP_PROXY_INFO pi = {WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, NULL, NULL};
  assert_true(WinHttpSetOption(req, WINHTTP_OPTION_PROXY, &pi, sizeof(pi)));
  assert_true(WinHttpSendRequest(req, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(req, NULL));
  WinHttpCloseHandle(req);
  WinHttpCloseHandle(con);
  WinHttpCloseHandle(ses);
  snprintf(line, sizeof(line), "GET http://127.0.0.1:%u/ok?n=37 HTTP/1.1", fp);
  assert_true(wh_peer_proxy_report_wait(&px, line, report, sizeof(report)) > 0);
  assert_non_null(strstr(report, line));

  /* Outside a desktop session the manual proxy is not read: nothing is
   * configured, so WPAD (none here), then direct. */
  wh_wpad_test_seam("", NULL, NULL);
  snprintf(rc, sizeof(rc), "[Proxy Settings]\nProxyType=1\nhttpProxy=http://127.0.0.1 %u\n", pp);
  write_kioslaverc(dir, rc);
  unsetenv("XDG_CURRENT_DESKTOP");
  assert_int_equal(get_sync(L"127.0.0.1", fp, L"/ok?n=36"), 200);

  assert_true(wh_peer_proxy_report(&px, report, sizeof(report)) >= 0);
  assert_null(strstr(report, "ok?n=34"));
  assert_null(strstr(report, "ok?n=36"));
  unsetenv("XDG_CONFIG_HOME");
  unsetenv("XDG_CONFIG_DIRS");
  snprintf(line, sizeof(line), "%s/kioslaverc", dir);
  assert_int_equal(unlink(line), 0);
  assert_int_equal(rmdir(dir), 0);
  wh_peer_stop(&px);
}

/* ---- out of memory ---------------------------------------------------------------- */

/* Every allocation of a whole lookup (a fresh session: the job, the
 * download with the library's own engine, the helper's start, the answer,
 * the result strings) failing in turn, once and from then on: the lookup
 * must give the right answer or ERROR_NOT_ENOUGH_MEMORY, never another
 * error, a crash, a hang or a leak (ASan). The helper itself allocates with
 * malloc, in its own process. */
static DWORD oom_run(const WCHAR *pac)
{
  HINTERNET ses = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  if (!ses)
    return GetLastError();
  WINHTTP_AUTOPROXY_OPTIONS o = pac_opts(pac);
  WINHTTP_PROXY_INFO pi;
  DWORD err = ERROR_SUCCESS;
  if (!WinHttpGetProxyForUrl(ses, L"http://dnsdomainis.test/", &o, &pi))
    err = GetLastError();
  else if (!pi.lpszProxy || wcscmp(pi.lpszProxy, L"pass:1") != 0)
    err = ERROR_WINHTTP_INTERNAL_ERROR; /* a wrong answer */
  if (err == ERROR_SUCCESS)
    GlobalFree(pi.lpszProxy);
  WinHttpCloseHandle(ses);
  return err;
}

static void test_oom_lookup(void **state)
{
  (void)state;
  WCHAR pac[256];
  pac_url(pac, 256, "name=helpers");
  assert_int_equal(oom_run(pac), ERROR_SUCCESS); /* first-use allocations out of the way */
  wh_mem_fail_after(LONG_MAX);
  assert_int_equal(oom_run(pac), ERROR_SUCCESS);
  long count = wh_mem_fail_allowed();
  wh_mem_fail_reset();
  assert_true(count > 20); /* the whole lookup (about 40 when written) */
  for (int once = 0; once < 2; once++) {
    for (long n = 0; n <= count; n++) {
      if (once)
        wh_mem_fail_once(n);
      else
        wh_mem_fail_after(n);
      DWORD err = oom_run(pac);
      bool refused = wh_mem_fail_count() > 0;
      wh_mem_fail_reset();
      if (err != ERROR_SUCCESS && !(refused && err == ERROR_NOT_ENOUGH_MEMORY))
        fail_msg("allocation %ld (%s): error %u", n, once ? "once" : "after", err);
    }
  }
}

static int group_setup(void **state)
{
  (void)state;
  /* No test may ask the machine's DNS for WPAD names. */
  wh_wpad_test_seam("", NULL, NULL);
  wh_autoproxy_test_script_ms(SCRIPT_MS);
  unsetenv("http_proxy");
  unsetenv("https_proxy");
  unsetenv("HTTPS_PROXY");
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  unsetenv("XDG_CURRENT_DESKTOP"); /* the runner's desktop settings stay out */
  memset(&fault, 0, sizeof(fault));
  return wh_peer_start_fault(&fault);
}

static int group_teardown(void **state)
{
  (void)state;
  wh_peer_stop(&fault);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_table),
      cmocka_unit_test(test_wpad_candidates),
      cmocka_unit_test(test_helpers),
      cmocka_unit_test(test_answers),
      cmocka_unit_test(test_bad_scripts),
      cmocka_unit_test(test_download_failures),
      cmocka_unit_test(test_cache),
      cmocka_unit_test(test_wpad),
      cmocka_unit_test(test_resolver),
      cmocka_unit_test(test_automatic_proxy),
      cmocka_unit_test(test_automatic_proxy_desktop),
      cmocka_unit_test(test_oom_lookup),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
