/* The rest of issue 9's proxy-settings functions, through the public API:
 *
 *  - WinHttpReadProxySettings / WinHttpFreeProxySettings and
 *    WinHttpGetProxySettingsVersion: the current user's settings (here the
 *    environment's and a KDE kioslaverc's) in WINHTTP_PROXY_SETTINGS, the
 *    default settings when nothing is configured, a version that stays
 *    while the settings stay and rises when they change;
 *  - WinHttpWriteProxySettings and WinHttpSetProxySettingsPerUser(FALSE):
 *    refused (ERROR_ACCESS_DENIED), nothing changed;
 *  - WinHttpGetProxySettingsEx / ResultEx / FreeProxySettingsEx on a
 *    resolver handle: GETPROXYSETTINGS_COMPLETE from a loop thread with the
 *    context, WINHTTP_PROXY_SETTINGS_EX filled as Microsoft describes it,
 *    the argument checks, the results of the two kinds of operation kept
 *    apart, a close right after the call;
 *  - WinHttpRegister/UnregisterProxyChangeNotification: called (on the
 *    watcher thread, with the flag and the context) when
 *    WinHttpSetDefaultProxyConfiguration changes the default and when a
 *    KDE kioslaverc changes, not for a rewrite that changes nothing;
 *    unregistering waits for a callback in progress, works from inside
 *    the callback, and stops the calls;
 *  - every allocation of the reading functions failing in turn.
 *
 * The settings are real ones in a temporary directory: a KDE session
 * (XDG_CURRENT_DESKTOP=KDE) whose XDG directories are this test's, GIO's
 * in-memory GSettings backend (GNOME's defaults: nothing configured), and
 * the proxy variables of this process. Events, never sleeps: each wait is a
 * condition variable with a generous bound that only a failure reaches. */
#include "wh_test.h"

#include "util/mem.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

static char dir[64]; /* this program's XDG directories live here */

static void env_clear(void)
{
  static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                     "no_proxy",   "NO_PROXY",   "all_proxy",   "ALL_PROXY"};
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    unsetenv(vars[i]);
}

/* Replaces the user's kioslaverc as KConfig does: a new file renamed over
 * the old one. NULL removes it. */
static void kioslaverc(const char *text)
{
  char path[128], tmp[140];
  snprintf(path, sizeof(path), "%s/config/kioslaverc", dir);
  if (!text) {
    unlink(path);
    return;
  }
  snprintf(tmp, sizeof(tmp), "%s.new", path);
  FILE *f = fopen(tmp, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(rename(tmp, path), 0);
}

static int setup(void **state)
{
  (void)state;
  env_clear();
  kioslaverc(NULL);
  return 0;
}

static HINTERNET open_session(DWORD flags)
{
  HINTERNET s = WinHttpOpen(L"t", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, flags);
  assert_non_null(s);
  return s;
}

/* ---- WinHttpReadProxySettings, WinHttpGetProxySettingsVersion ---------------------- */

static DWORD version_now(HINTERNET s)
{
  DWORD v = 0;
  assert_int_equal(WinHttpGetProxySettingsVersion(s, &v), ERROR_SUCCESS);
  assert_int_not_equal(v, 0);
  return v;
}

static void test_read_args(void **state)
{
  (void)state;
  HINTERNET s = open_session(0);
  HINTERNET c = WinHttpConnect(s, L"example.com", 80, 0);
  assert_non_null(c);
  DWORD v;
  BOOL def;
  WINHTTP_PROXY_SETTINGS ps;
  assert_int_equal(WinHttpReadProxySettings(NULL, NULL, TRUE, FALSE, &v, &def, &ps),
                   ERROR_INVALID_HANDLE);
  assert_int_equal(WinHttpReadProxySettings(c, NULL, TRUE, FALSE, &v, &def, &ps),
                   ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(WinHttpReadProxySettings(s, NULL, TRUE, FALSE, NULL, &def, &ps),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpReadProxySettings(s, NULL, TRUE, FALSE, &v, NULL, &ps),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpReadProxySettings(s, NULL, TRUE, FALSE, &v, &def, NULL),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpGetProxySettingsVersion(NULL, &v), ERROR_INVALID_HANDLE);
  assert_int_equal(WinHttpGetProxySettingsVersion(c, &v), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(WinHttpGetProxySettingsVersion(s, NULL), ERROR_INVALID_PARAMETER);
  WinHttpFreeProxySettings(NULL); /* ignored */
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_read_nothing(void **state)
{
  (void)state;
  HINTERNET s = open_session(0);
  DWORD v = 0xA5A5;
  BOOL def = 7;
  WINHTTP_PROXY_SETTINGS ps;
  memset(&ps, 0xA5, sizeof(ps));
  /* No settings, no fallback: nothing is written. */
  assert_int_equal(WinHttpReadProxySettings(s, NULL, FALSE, FALSE, &v, &def, &ps),
                   ERROR_FILE_NOT_FOUND);
  assert_int_equal(v, 0xA5A5);
  assert_int_equal(def, 7);
  /* The default settings: a direct connection... */
  assert_int_equal(WinHttpReadProxySettings(s, NULL, TRUE, FALSE, &v, &def, &ps), ERROR_SUCCESS);
  assert_true(def);
  assert_int_equal(ps.dwStructSize, sizeof(ps));
  assert_int_equal(ps.dwFlags, WINHTTP_PROXY_TYPE_DIRECT);
  assert_int_equal(ps.dwCurrentSettingsVersion, v);
  assert_int_equal(version_now(s), v);
  assert_null(ps.pwszConnectionName);
  assert_null(ps.pwszProxy);
  assert_null(ps.pwszProxyBypass);
  assert_null(ps.pwszAutoconfigUrl);
  assert_null(ps.pwszAutoconfigSecondaryUrl);
  assert_null(ps.pwszLastKnownGoodAutoConfigUrl);
  assert_int_equal(ps.dwDetectedInterfaceIpCount, 0);
  assert_null(ps.pdwDetectedInterfaceIp);
  assert_int_equal(ps.cNetworkKeys, 0);
  assert_null(ps.pNetworkKeys);
  WinHttpFreeProxySettings(&ps);
  /* ...and WPAD when asked for; any connection name reads the same. */
  assert_int_equal(WinHttpReadProxySettings(s, L"Wired connection 1", TRUE, TRUE, &v, &def, &ps),
                   ERROR_SUCCESS);
  assert_true(def);
  assert_int_equal(ps.dwFlags, WINHTTP_PROXY_TYPE_DIRECT | WINHTTP_PROXY_TYPE_AUTO_DETECT);
  assert_null(ps.pwszConnectionName);
  WinHttpFreeProxySettings(&ps);
  assert_int_equal(ps.dwFlags, 0);
  WinHttpCloseHandle(s);
}

static void test_read_env_and_kde(void **state)
{
  (void)state;
  HINTERNET s = open_session(WINHTTP_FLAG_ASYNC); /* any session will do */
  DWORD v0 = version_now(s);
  assert_int_equal(version_now(s), v0); /* the same settings, the same version */

  setenv("http_proxy", "http://env.example:3128", 1);
  setenv("no_proxy", "localhost", 1);
  DWORD v, v1;
  BOOL def;
  WINHTTP_PROXY_SETTINGS ps;
  assert_int_equal(WinHttpReadProxySettings(s, NULL, FALSE, TRUE, &v1, &def, &ps), ERROR_SUCCESS);
  assert_true(v1 > v0);
  assert_false(def);
  assert_int_equal(ps.dwFlags, WINHTTP_PROXY_TYPE_DIRECT | WINHTTP_PROXY_TYPE_PROXY);
  assert_int_equal(ps.dwCurrentSettingsVersion, v1);
  assert_true(wcscmp(ps.pwszProxy, L"http=env.example:3128") == 0);
  assert_true(wcscmp(ps.pwszProxyBypass, L"localhost;*.localhost") == 0);
  assert_null(ps.pwszAutoconfigUrl);
  /* The strings are GlobalAlloc'd: freeing one with GlobalFree is fine. */
  GlobalFree(ps.pwszProxy);
  ps.pwszProxy = NULL;
  WinHttpFreeProxySettings(&ps);
  assert_null(ps.pwszProxyBypass);
  assert_int_equal(version_now(s), v1);

  /* A KDE PAC URL takes precedence over the environment. */
  kioslaverc("[Proxy Settings]\nProxyType=2\nProxy Config Script=http://wpad.example/k.pac\n");
  assert_int_equal(WinHttpReadProxySettings(s, NULL, FALSE, FALSE, &v, &def, &ps), ERROR_SUCCESS);
  assert_true(v > v1);
  assert_false(def);
  assert_int_equal(ps.dwFlags, WINHTTP_PROXY_TYPE_DIRECT | WINHTTP_PROXY_TYPE_AUTO_PROXY_URL);
  assert_true(wcscmp(ps.pwszAutoconfigUrl, L"http://wpad.example/k.pac") == 0);
  assert_null(ps.pwszProxy);
  WinHttpFreeProxySettings(&ps);
  /* KDE's WPAD. */
  kioslaverc("[Proxy Settings]\nProxyType=3\n");
  DWORD v2;
  assert_int_equal(WinHttpReadProxySettings(s, NULL, FALSE, FALSE, &v2, &def, &ps), ERROR_SUCCESS);
  assert_true(v2 > v);
  assert_int_equal(ps.dwFlags, WINHTTP_PROXY_TYPE_DIRECT | WINHTTP_PROXY_TYPE_AUTO_DETECT);
  WinHttpFreeProxySettings(&ps);
  /* Back to the environment: a change again, so a new version. */
  kioslaverc(NULL);
  assert_true(version_now(s) > v2);
  WinHttpCloseHandle(s);
}

/* ---- refused: writing, per-machine settings -------------------------------------------- */

static void test_write_refused(void **state)
{
  (void)state;
  HINTERNET s = open_session(0);
  DWORD before = version_now(s);
  WINHTTP_PROXY_SETTINGS ps;
  memset(&ps, 0, sizeof(ps));
  ps.dwStructSize = sizeof(ps);
  ps.dwFlags = WINHTTP_PROXY_TYPE_PROXY;
  ps.pwszProxy = L"written.example:8080";
  assert_int_equal(WinHttpWriteProxySettings(NULL, TRUE, &ps), ERROR_INVALID_HANDLE);
  assert_int_equal(WinHttpWriteProxySettings(s, TRUE, NULL), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpWriteProxySettings(s, FALSE, &ps), ERROR_ACCESS_DENIED);
  assert_int_equal(WinHttpWriteProxySettings(s, TRUE, &ps), ERROR_ACCESS_DENIED);
  assert_int_equal(version_now(s), before);
  WINHTTP_CURRENT_USER_IE_PROXY_CONFIG ie;
  assert_true(WinHttpGetIEProxyConfigForCurrentUser(&ie));
  assert_null(ie.lpszProxy);
  GlobalFree(ie.lpszAutoConfigUrl);
  GlobalFree(ie.lpszProxyBypass);
  assert_int_equal(WinHttpSetProxySettingsPerUser(TRUE), ERROR_SUCCESS);
  assert_int_equal(WinHttpSetProxySettingsPerUser(FALSE), ERROR_ACCESS_DENIED);
  WinHttpCloseHandle(s);
}

/* ---- WinHttpGetProxySettingsEx on a resolver ------------------------------------------- */

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int completes, url_completes, errors, closings;
  DWORD error, api;
  DWORD_PTR ctx;
  pthread_t thread;
} ev = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void CALLBACK resolver_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)h;
  (void)len;
  pthread_mutex_lock(&ev.lock);
  if (status == WINHTTP_CALLBACK_STATUS_GETPROXYSETTINGS_COMPLETE) {
    ev.completes++;
  } else if (status == WINHTTP_CALLBACK_STATUS_GETPROXYFORURL_COMPLETE) {
    ev.url_completes++;
  } else if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) {
    ev.errors++;
    ev.error = ((WINHTTP_ASYNC_RESULT *)info)->dwError;
    ev.api = (DWORD)((WINHTTP_ASYNC_RESULT *)info)->dwResult;
  } else if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING) {
    /* Last: nothing may follow. */
    ev.closings++;
  }
  ev.ctx = ctx;
  ev.thread = pthread_self();
  pthread_cond_broadcast(&ev.cond);
  pthread_mutex_unlock(&ev.lock);
}

static void ev_reset(void)
{
  pthread_mutex_lock(&ev.lock);
  ev.completes = ev.url_completes = ev.errors = ev.closings = 0;
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

static HINTERNET new_resolver(HINTERNET ses)
{
  HINTERNET res = NULL;
  assert_int_equal(WinHttpCreateProxyResolver(ses, &res), ERROR_SUCCESS);
  return res;
}

static void get_settings(HINTERNET res, DWORD_PTR ctx, int nth)
{
  assert_int_equal(WinHttpGetProxySettingsEx(res, WinHttpProxySettingsTypeWsl, NULL, ctx),
                   ERROR_IO_PENDING);
  ev_wait(&ev.completes, nth);
  pthread_mutex_lock(&ev.lock);
  assert_int_equal(ev.ctx, ctx);
  assert_false(pthread_equal(ev.thread, pthread_self()));
  pthread_mutex_unlock(&ev.lock);
}

static void test_settings_ex(void **state)
{
  (void)state;
  ev_reset();
  HINTERNET ses = open_session(WINHTTP_FLAG_ASYNC);
  WinHttpSetStatusCallback(ses, resolver_cb,
                           WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | WINHTTP_CALLBACK_FLAG_HANDLES,
                           0);
  HINTERNET res = new_resolver(ses);

  /* Arguments. */
  WINHTTP_PROXY_SETTINGS_EX sx;
  memset(&sx, 0xA5, sizeof(sx));
  WINHTTP_PROXY_SETTINGS_PARAM param = {0, NULL, NULL};
  assert_int_equal(WinHttpGetProxySettingsEx(NULL, WinHttpProxySettingsTypeWsl, NULL, 0),
                   ERROR_INVALID_HANDLE);
  assert_int_equal(WinHttpGetProxySettingsEx(ses, WinHttpProxySettingsTypeWsl, NULL, 0),
                   ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(WinHttpGetProxySettingsEx(res, WinHttpProxySettingsTypeUnknown, NULL, 0),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpGetProxySettingsEx(res, (WINHTTP_PROXY_SETTINGS_TYPE)99, NULL, 0),
                   ERROR_INVALID_PARAMETER);
  param.ullFlags = 1;
  assert_int_equal(WinHttpGetProxySettingsEx(res, WinHttpProxySettingsTypeWsl, &param, 0),
                   ERROR_INVALID_PARAMETER);
  param.ullFlags = 0;
  param.pcwszProbeHost = L"probe.example";
  assert_int_equal(WinHttpGetProxySettingsEx(res, WinHttpProxySettingsTypeWsl, &param, 0),
                   ERROR_INVALID_PARAMETER);
  /* Nothing was started: no result yet. */
  assert_int_equal(WinHttpGetProxySettingsResultEx(res, &sx),
                   ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(WinHttpGetProxySettingsResultEx(ses, &sx), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(WinHttpFreeProxySettingsEx(WinHttpProxySettingsTypeWsl, NULL),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpFreeProxySettingsEx(WinHttpProxySettingsTypeUnknown, &sx),
                   ERROR_INVALID_PARAMETER);

  /* Nothing configured: Windows' out-of-the-box auto-detection. */
  get_settings(res, 0x51, 1);
  assert_int_equal(WinHttpGetProxySettingsResultEx(res, NULL), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpGetProxySettingsResultEx(res, &sx), ERROR_SUCCESS);
  assert_int_equal(sx.ullFlags, WINHTTP_PROXY_TYPE_DIRECT | WINHTTP_PROXY_TYPE_AUTO_DETECT);
  assert_int_equal(sx.ullGenerationId, version_now(ses));
  assert_null(sx.pcwszAutoconfigUrl);
  assert_null(sx.pcwszProxy);
  assert_null(sx.pcwszSecureProxy);
  assert_int_equal(sx.cProxyBypasses, 0);
  assert_null(sx.rgpcwszProxyBypasses);
  assert_int_equal(sx.dwInterfaceIndex, 0);
  assert_null(sx.pcwszConnectionName);
  assert_int_equal(WinHttpFreeProxySettingsEx(WinHttpProxySettingsTypeWsl, &sx), ERROR_SUCCESS);
  /* The result stays until the next operation. */
  assert_int_equal(WinHttpGetProxySettingsResultEx(res, &sx), ERROR_SUCCESS);
  assert_int_equal(WinHttpFreeProxySettingsEx(WinHttpProxySettingsTypeWsl, &sx), ERROR_SUCCESS);

  /* The environment's proxies: a URL per scheme, the bypass list split. A
   * connection name is accepted (one set of settings for every one). */
  setenv("http_proxy", "http://env.example:3128", 1);
  setenv("https_proxy", "secure.example:8443", 1);
  setenv("no_proxy", "localhost,.corp.example", 1);
  param.pcwszProbeHost = NULL;
  param.pcwszConnectionName = L"Wired connection 1";
  assert_int_equal(WinHttpGetProxySettingsEx(res, WinHttpProxySettingsTypeXBox, &param, 0x52),
                   ERROR_IO_PENDING);
  ev_wait(&ev.completes, 2);
  memset(&sx, 0xA5, sizeof(sx));
  assert_int_equal(WinHttpGetProxySettingsResultEx(res, &sx), ERROR_SUCCESS);
  assert_int_equal(sx.ullFlags, WINHTTP_PROXY_TYPE_DIRECT | WINHTTP_PROXY_TYPE_PROXY);
  assert_true(wcscmp(sx.pcwszProxy, L"http://env.example:3128") == 0);
  assert_true(wcscmp(sx.pcwszSecureProxy, L"http://secure.example:8443") == 0);
  assert_null(sx.pcwszAutoconfigUrl);
  assert_null(sx.pcwszConnectionName);
  assert_int_equal(sx.cProxyBypasses, 4);
  assert_true(wcscmp(sx.rgpcwszProxyBypasses[0], L"localhost") == 0);
  assert_true(wcscmp(sx.rgpcwszProxyBypasses[1], L"*.localhost") == 0);
  assert_true(wcscmp(sx.rgpcwszProxyBypasses[2], L"corp.example") == 0);
  assert_true(wcscmp(sx.rgpcwszProxyBypasses[3], L"*.corp.example") == 0);
  DWORD_PTR gen = (DWORD_PTR)sx.ullGenerationId;
  assert_int_equal(gen, version_now(ses));
  assert_int_equal(WinHttpFreeProxySettingsEx(WinHttpProxySettingsTypeXBox, &sx), ERROR_SUCCESS);
  assert_null(sx.pcwszProxy);
  assert_int_equal(sx.cProxyBypasses, 0);
  env_clear();

  /* KDE: a SOCKS proxy for everything keeps its scheme; a PAC URL. */
  kioslaverc("[Proxy Settings]\nProxyType=1\nsocksProxy=socks://socks.example 1080\n");
  get_settings(res, 0x53, 3);
  assert_int_equal(WinHttpGetProxySettingsResultEx(res, &sx), ERROR_SUCCESS);
  assert_true(wcscmp(sx.pcwszProxy, L"socks://socks.example:1080") == 0);
  assert_true(wcscmp(sx.pcwszSecureProxy, L"socks://socks.example:1080") == 0);
  assert_true(sx.ullGenerationId > gen);
  WinHttpFreeProxySettingsEx(WinHttpProxySettingsTypeWsl, &sx);
  kioslaverc("[Proxy Settings]\nProxyType=2\nProxy Config Script=http://wpad.example/k.pac\n");
  assert_int_equal(WinHttpGetProxySettingsEx(res, WinHttpProxySettingsTypeWsa, NULL, 0x54),
                   ERROR_IO_PENDING);
  ev_wait(&ev.completes, 4);
  assert_int_equal(WinHttpGetProxySettingsResultEx(res, &sx), ERROR_SUCCESS);
  assert_int_equal(sx.ullFlags, WINHTTP_PROXY_TYPE_DIRECT | WINHTTP_PROXY_TYPE_AUTO_PROXY_URL);
  assert_true(wcscmp(sx.pcwszAutoconfigUrl, L"http://wpad.example/k.pac") == 0);
  assert_null(sx.pcwszProxy);
  WinHttpFreeProxySettingsEx(WinHttpProxySettingsTypeWsa, &sx);
  kioslaverc(NULL);

  /* The two kinds of result are kept apart: a settings result is no
   * lookup's, and a lookup's result replaces the settings. */
  WINHTTP_PROXY_RESULT pr;
  assert_int_equal(WinHttpGetProxyResult(res, &pr), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  setenv("http_proxy", "static.example:3128", 1);
  WINHTTP_AUTOPROXY_OPTIONS o = {0};
  o.dwFlags = WINHTTP_AUTOPROXY_CONFIG_URL | WINHTTP_AUTOPROXY_ALLOW_STATIC;
  o.lpszAutoConfigUrl = L"http://127.0.0.1:1/never.pac";
  assert_int_equal(WinHttpGetProxyForUrlEx(res, L"http://www.example.com/", &o, 0x55),
                   ERROR_IO_PENDING);
  ev_wait(&ev.url_completes, 1);
  assert_int_equal(WinHttpGetProxyResult(res, &pr), ERROR_SUCCESS);
  WinHttpFreeProxyResult(&pr);
  assert_int_equal(WinHttpGetProxySettingsResultEx(res, &sx),
                   ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  env_clear();

  /* Closed at once: either the settings arrive or the operation is
   * cancelled, exactly one of them, then HANDLE_CLOSING, last. */
  assert_int_equal(WinHttpGetProxySettingsEx(res, WinHttpProxySettingsTypeWsl, NULL, 0x56),
                   ERROR_IO_PENDING);
  assert_true(WinHttpCloseHandle(res));
  ev_wait(&ev.closings, 1);
  pthread_mutex_lock(&ev.lock);
  assert_int_equal(ev.completes + ev.errors, 5);
  if (ev.errors) {
    assert_int_equal(ev.error, ERROR_WINHTTP_OPERATION_CANCELLED);
    assert_int_equal(ev.api, API_GET_PROXY_SETTINGS);
  }
  pthread_mutex_unlock(&ev.lock);
  WinHttpCloseHandle(ses);

  /* Resolvers exist on asynchronous sessions only. */
  HINTERNET sync = open_session(0);
  HINTERNET none = NULL;
  assert_int_equal(WinHttpCreateProxyResolver(sync, &none), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  WinHttpCloseHandle(sync);
}

/* ---- every allocation failing in turn --------------------------------------------------- */

static void test_oom(void **state)
{
  (void)state;
  setenv("http_proxy", "http://env.example:3128", 1);
  setenv("https_proxy", "secure.example:8443", 1);
  setenv("no_proxy", "localhost,.corp.example,10.0.0.0/8", 1);
  HINTERNET s = open_session(0);
  DWORD v;
  BOOL def;
  WINHTTP_PROXY_SETTINGS ps;
  wh_mem_fail_after(LONG_MAX);
  assert_int_equal(WinHttpReadProxySettings(s, NULL, TRUE, FALSE, &v, &def, &ps), ERROR_SUCCESS);
  long count = wh_mem_fail_allowed();
  wh_mem_fail_reset();
  WinHttpFreeProxySettings(&ps);
  assert_true(count > 0);
  for (long n = 0; n <= count; n++) {
    wh_mem_fail_once(n);
    memset(&ps, 0xA5, sizeof(ps));
    DWORD err = WinHttpReadProxySettings(s, NULL, TRUE, FALSE, &v, &def, &ps);
    bool refused = wh_mem_fail_count() > 0;
    wh_mem_fail_reset();
    if (refused) {
      assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
      assert_int_equal(ps.dwStructSize, 0xA5A5A5A5); /* nothing written */
    } else {
      assert_int_equal(err, ERROR_SUCCESS);
      assert_true(wcscmp(ps.pwszProxy, L"http=env.example:3128;https=secure.example:8443") == 0);
      WinHttpFreeProxySettings(&ps);
    }
  }
  WinHttpCloseHandle(s);

  /* The result of WinHttpGetProxySettingsEx, once it has arrived. */
  ev_reset();
  HINTERNET ses = open_session(WINHTTP_FLAG_ASYNC);
  WinHttpSetStatusCallback(ses, resolver_cb, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
  HINTERNET res = new_resolver(ses);
  get_settings(res, 0x61, 1);
  WINHTTP_PROXY_SETTINGS_EX sx;
  wh_mem_fail_after(LONG_MAX);
  assert_int_equal(WinHttpGetProxySettingsResultEx(res, &sx), ERROR_SUCCESS);
  count = wh_mem_fail_allowed();
  wh_mem_fail_reset();
  WinHttpFreeProxySettingsEx(WinHttpProxySettingsTypeWsl, &sx);
  assert_true(count > 0);
  for (long n = 0; n <= count; n++) {
    wh_mem_fail_once(n);
    memset(&sx, 0xA5, sizeof(sx));
    DWORD err = WinHttpGetProxySettingsResultEx(res, &sx);
    bool refused = wh_mem_fail_count() > 0;
    wh_mem_fail_reset();
    if (refused) {
      assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
      assert_int_equal(sx.cProxyBypasses, 0xA5A5A5A5); /* nothing written */
    } else {
      assert_int_equal(err, ERROR_SUCCESS);
      assert_int_equal(sx.cProxyBypasses, 5);
      WinHttpFreeProxySettingsEx(WinHttpProxySettingsTypeWsl, &sx);
    }
  }
  WinHttpCloseHandle(res);
  WinHttpCloseHandle(ses);
  env_clear();
}

/* ---- proxy change notifications ----------------------------------------------------- */

struct watch {
  int calls;
  ULONGLONG flags;
  pthread_t thread;
  /* Behaviours for the callback. */
  bool unregister_self;           /* unregisters its own registration */
  WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE handle;
  DWORD unregister_result;
  bool hold;                      /* waits for |release| before returning */
  bool release;
  int returned_seq;               /* when it returned (|seq|) */
};

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int seq;
} nt = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void CALLBACK change_cb(ULONGLONG flags, PVOID ctx)
{
  struct watch *w = ctx;
  pthread_mutex_lock(&nt.lock);
  w->calls++;
  w->flags = flags;
  w->thread = pthread_self();
  bool self = w->unregister_self;
  pthread_cond_broadcast(&nt.cond);
  while (w->hold && !w->release)
    pthread_cond_wait(&nt.cond, &nt.lock);
  pthread_mutex_unlock(&nt.lock);
  if (self) {
    DWORD r = WinHttpUnregisterProxyChangeNotification(w->handle);
    pthread_mutex_lock(&nt.lock);
    w->unregister_result = r;
    pthread_mutex_unlock(&nt.lock);
  }
  pthread_mutex_lock(&nt.lock);
  w->returned_seq = ++nt.seq;
  pthread_cond_broadcast(&nt.cond);
  pthread_mutex_unlock(&nt.lock);
}

static void wait_calls(struct watch *w, int n)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  pthread_mutex_lock(&nt.lock);
  while (w->calls < n)
    if (pthread_cond_timedwait(&nt.cond, &nt.lock, &until) == ETIMEDOUT)
      break;
  int got = w->calls;
  pthread_mutex_unlock(&nt.lock);
  assert_int_equal(got, n);
}

static int calls_of(struct watch *w)
{
  pthread_mutex_lock(&nt.lock);
  int n = w->calls;
  pthread_mutex_unlock(&nt.lock);
  return n;
}

static void set_default(const WCHAR *proxy)
{
  WINHTTP_PROXY_INFO info = {proxy ? WINHTTP_ACCESS_TYPE_NAMED_PROXY : WINHTTP_ACCESS_TYPE_NO_PROXY,
                             (LPWSTR)proxy, NULL};
  assert_true(WinHttpSetDefaultProxyConfiguration(&info));
}

static void test_notify_args(void **state)
{
  (void)state;
  WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE h = NULL;
  struct watch w = {0};
  assert_int_equal(WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, NULL, &w, &h),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(
      WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, change_cb, &w, NULL),
      ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpRegisterProxyChangeNotification(0, change_cb, &w, &h),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpRegisterProxyChangeNotification(2, change_cb, &w, &h),
                   ERROR_INVALID_PARAMETER);
  assert_null(h);
  assert_int_equal(WinHttpUnregisterProxyChangeNotification(NULL), ERROR_INVALID_HANDLE);
  assert_int_equal(WinHttpUnregisterProxyChangeNotification((void *)&w), ERROR_INVALID_HANDLE);
  assert_int_equal(
      WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, change_cb, &w, &h),
      ERROR_SUCCESS);
  assert_non_null(h);
  assert_int_equal(WinHttpUnregisterProxyChangeNotification(h), ERROR_SUCCESS);
  assert_int_equal(WinHttpUnregisterProxyChangeNotification(h), ERROR_INVALID_HANDLE);
  assert_int_equal(w.calls, 0);
}

static void test_notify_changes(void **state)
{
  (void)state;
  struct watch a = {0}, b = {0};
  WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE ha, hb;
  assert_int_equal(
      WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, change_cb, &a, &ha),
      ERROR_SUCCESS);
  assert_int_equal(
      WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, change_cb, &b, &hb),
      ERROR_SUCCESS);
  assert_true(ha != hb);

  /* The process default changes: both hear of it, on another thread, with
   * the flag. */
  set_default(L"one.example:8080");
  wait_calls(&a, 1);
  wait_calls(&b, 1);
  assert_int_equal(a.flags, WINHTTP_PROXY_NOTIFY_CHANGE);
  assert_false(pthread_equal(a.thread, pthread_self()));

  /* The same default again changes nothing, and a kioslaverc rewritten
   * with nothing in it still configures nothing: no call for either. The
   * next real change shows it: exactly one more call. */
  set_default(L"one.example:8080");
  kioslaverc("[General]\n");
  set_default(L"two.example:8080");
  wait_calls(&a, 2);
  wait_calls(&b, 2);

  /* KDE's settings change (the file renamed over, as KConfig writes it). */
  kioslaverc("[Proxy Settings]\nProxyType=1\nhttpProxy=http://kde.example 3128\n");
  wait_calls(&a, 3);
  wait_calls(&b, 3);
  /* ...and change back (the file removed). */
  kioslaverc(NULL);
  wait_calls(&a, 4);

  /* Unregistered: no more calls for |a|; |b| still gets them. */
  assert_int_equal(WinHttpUnregisterProxyChangeNotification(ha), ERROR_SUCCESS);
  set_default(L"three.example:8080");
  wait_calls(&b, 5);
  set_default(L"four.example:8080");
  wait_calls(&b, 6);
  assert_int_equal(calls_of(&a), 4);
  assert_int_equal(WinHttpUnregisterProxyChangeNotification(hb), ERROR_SUCCESS);

  /* With no registration left the watcher has ended; a new registration
   * starts another, which sees the next change. */
  struct watch c = {0};
  WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE hc;
  assert_int_equal(
      WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, change_cb, &c, &hc),
      ERROR_SUCCESS);
  set_default(L"five.example:8080");
  wait_calls(&c, 1);
  assert_int_equal(WinHttpUnregisterProxyChangeNotification(hc), ERROR_SUCCESS);
}

struct unreg_arg {
  WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE h;
  DWORD result;
  int returned_seq;
};

static void *unregister_thread(void *arg)
{
  struct unreg_arg *u = arg;
  u->result = WinHttpUnregisterProxyChangeNotification(u->h);
  pthread_mutex_lock(&nt.lock);
  u->returned_seq = ++nt.seq;
  pthread_mutex_unlock(&nt.lock);
  return NULL;
}

/* Unregistering waits for the callback in progress; from inside the
 * callback it does not (and does not deadlock). */
static void test_notify_unregister(void **state)
{
  (void)state;
  struct watch held = {.hold = true};
  WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE h;
  assert_int_equal(
      WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, change_cb, &held, &h),
      ERROR_SUCCESS);
  set_default(L"six.example:8080");
  wait_calls(&held, 1); /* the callback now waits for |release| */
  struct unreg_arg u = {.h = h};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, unregister_thread, &u), 0);
  pthread_mutex_lock(&nt.lock);
  held.release = true;
  pthread_cond_broadcast(&nt.cond);
  pthread_mutex_unlock(&nt.lock);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(u.result, ERROR_SUCCESS);
  /* The callback had returned before the unregistration did. */
  assert_true(held.returned_seq > 0);
  assert_true(held.returned_seq < u.returned_seq);

  /* From inside its own callback, the last registration. */
  struct watch self = {.unregister_self = true};
  assert_int_equal(
      WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, change_cb, &self,
                                             &self.handle),
      ERROR_SUCCESS);
  set_default(L"seven.example:8080");
  wait_calls(&self, 1);
  pthread_mutex_lock(&nt.lock);
  while (self.returned_seq == 0)
    pthread_cond_wait(&nt.cond, &nt.lock);
  pthread_mutex_unlock(&nt.lock);
  assert_int_equal(self.unregister_result, ERROR_SUCCESS);
  assert_int_equal(WinHttpUnregisterProxyChangeNotification(self.handle), ERROR_INVALID_HANDLE);

  /* A callback unregistering itself while another registration lives:
   * the other goes on being called, the first is not called again. */
  struct watch once = {.unregister_self = true}, stays = {0};
  WINHTTP_PROXY_CHANGE_REGISTRATION_HANDLE hs;
  assert_int_equal(
      WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, change_cb, &once,
                                             &once.handle),
      ERROR_SUCCESS);
  assert_int_equal(
      WinHttpRegisterProxyChangeNotification(WINHTTP_PROXY_NOTIFY_CHANGE, change_cb, &stays, &hs),
      ERROR_SUCCESS);
  set_default(L"eight.example:8080");
  wait_calls(&stays, 1);
  set_default(L"nine.example:8080");
  wait_calls(&stays, 2);
  assert_int_equal(calls_of(&once), 1);
  assert_int_equal(once.unregister_result, ERROR_SUCCESS);
  assert_int_equal(WinHttpUnregisterProxyChangeNotification(hs), ERROR_SUCCESS);
}

int main(void)
{
  /* A KDE session whose configuration is this program's own, GIO's
   * in-memory backend (nothing configured in GNOME's settings), and no
   * proxy variable: each case sets what it needs. Set before anything
   * loads GIO, which reads its environment once. */
  snprintf(dir, sizeof(dir), "%s/wh-proxy-settings.XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (strlen(dir) >= sizeof(dir) - 1 || !mkdtemp(dir))
    return 1;
  char config[96], sys[96];
  snprintf(config, sizeof(config), "%s/config", dir);
  snprintf(sys, sizeof(sys), "%s/sys", dir);
  mkdir(config, 0700);
  mkdir(sys, 0700);
  setenv("XDG_CURRENT_DESKTOP", "KDE", 1);
  setenv("XDG_CONFIG_HOME", config, 1);
  setenv("XDG_CONFIG_DIRS", sys, 1);
  setenv("HOME", dir, 1);
  setenv("GSETTINGS_BACKEND", "memory", 1);
  env_clear();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_read_args, setup),
    cmocka_unit_test_setup(test_read_nothing, setup),
    cmocka_unit_test_setup(test_read_env_and_kde, setup),
    cmocka_unit_test_setup(test_write_refused, setup),
    cmocka_unit_test_setup(test_settings_ex, setup),
    cmocka_unit_test_setup(test_oom, setup),
    cmocka_unit_test_setup(test_notify_args, setup),
    cmocka_unit_test_setup(test_notify_changes, setup),
    cmocka_unit_test_setup(test_notify_unregister, setup),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  kioslaverc(NULL);
  rmdir(config);
  rmdir(sys);
  rmdir(dir);
  return rc;
}
