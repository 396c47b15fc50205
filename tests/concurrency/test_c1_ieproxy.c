/* CONTRACT C1 for WinHttpGetIEProxyConfigForCurrentUser: it takes no
 * handle, so any number of threads may call it at once, the very first
 * calls included (they race to load GIO once). Every thread gets the same
 * answer as a single thread, and every string is its own GlobalAlloc'd
 * copy. Runs under ThreadSanitizer in CI.
 *
 * The settings are real ones in a temporary directory: a KDE session whose
 * kioslaverc configures nothing (read and parsed at every call), then
 * GNOME's settings through GIO's keyfile backend (manual proxies), so that
 * each call goes through both desktops' code. GIO reads its environment
 * once, so it is set before the first call. */
#include "wh_test.h"

#include "core/gsettings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#define THREADS 8
#define ROUNDS 200

static pthread_barrier_t start;
static char dir[64];

#define WANT_PROXY                                                                          \
  L"http=proxy.example:8080;https=secure.example:8443;ftp=socks://socks.example:1080;"        \
  L"socks=socks.example:1080"
#define WANT_BYPASS L"localhost;*.localhost;corp.example;*.corp.example;<local>"
#define WANT_ENV_PROXY L"http=env.example:3128"

struct tally {
  long bad, gnome, env; /* wrong answers; GNOME's answers; the environment's */
};

static void write_file(const char *rel, const char *text)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
    *p = '\0';
    mkdir(path, 0700);
    *p = '/';
  }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void *worker(void *arg)
{
  struct tally *n = arg;
  pthread_barrier_wait(&start);
  for (int i = 0; i < ROUNDS; i++) {
    WINHTTP_CURRENT_USER_IE_PROXY_CONFIG cfg;
    memset(&cfg, 0xA5, sizeof(cfg));
    if (!WinHttpGetIEProxyConfigForCurrentUser(&cfg) || GetLastError() != ERROR_SUCCESS) {
      n->bad++;
      continue;
    }
    if (cfg.fAutoDetect || cfg.lpszAutoConfigUrl || !cfg.lpszProxy)
      n->bad++;
    else if (!wcscmp(cfg.lpszProxy, WANT_PROXY) && cfg.lpszProxyBypass &&
             !wcscmp(cfg.lpszProxyBypass, WANT_BYPASS))
      n->gnome++;
    else if (!wcscmp(cfg.lpszProxy, WANT_ENV_PROXY) && !cfg.lpszProxyBypass)
      n->env++;
    else
      n->bad++;
    /* The strings are this call's own: scribbling on them before freeing
     * them disturbs no other thread (ASan/TSan would see it). */
    if (cfg.lpszProxy)
      cfg.lpszProxy[0] = L'#';
    GlobalFree(cfg.lpszAutoConfigUrl);
    GlobalFree(cfg.lpszProxy);
    GlobalFree(cfg.lpszProxyBypass);
  }
  return NULL;
}

static void test_c1_ie_proxy_config_in_parallel(void **state)
{
  (void)state;
  pthread_t t[THREADS];
  struct tally n[THREADS];
  memset(n, 0, sizeof(n));
  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, worker, &n[i]), 0);
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  pthread_barrier_destroy(&start);
  /* GNOME's answer everywhere, or (without GIO or the schema, which
   * test_desktop_proxy covers) the environment's everywhere. */
  struct wh_gnome_proxy g;
  bool found;
  assert_int_equal(wh_gsettings_proxy(&g, &found), ERROR_SUCCESS);
  wh_gnome_proxy_free(&g);
  for (int i = 0; i < THREADS; i++) {
    assert_int_equal(n[i].bad, 0);
    assert_int_equal(found ? n[i].gnome : n[i].env, ROUNDS);
  }
}

int main(void)
{
  snprintf(dir, sizeof(dir), "/tmp/wh-c1-ieproxy-XXXXXX");
  if (!mkdtemp(dir))
    return 1;
  write_file("config/kioslaverc", "[Proxy Settings]\nProxyType=0\n");
  write_file("config/glib-2.0/settings/keyfile",
             "[system/proxy]\nmode='manual'\n"
             "ignore-hosts=['localhost', '*.corp.example', '<local>']\n\n"
             "[system/proxy/http]\nhost='proxy.example'\nport=8080\n\n"
             "[system/proxy/https]\nhost='secure.example'\nport=8443\n\n"
             "[system/proxy/socks]\nhost='socks.example'\nport=1080\n");
  char config[128], sys[128];
  snprintf(config, sizeof(config), "%s/config", dir);
  snprintf(sys, sizeof(sys), "%s/sys", dir);
  setenv("XDG_CURRENT_DESKTOP", "KDE", 1);
  setenv("XDG_CONFIG_HOME", config, 1);
  setenv("XDG_CONFIG_DIRS", sys, 1);
  setenv("HOME", dir, 1);
  setenv("GSETTINGS_BACKEND", "keyfile", 1);
  setenv("http_proxy", "http://env.example:3128", 1);
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_c1_ie_proxy_config_in_parallel),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
