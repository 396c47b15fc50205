/* WinHttpGetIEProxyConfigForCurrentUser from the desktop's settings
 * (issue 9 §2), end to end: real GSettings (GIO's keyfile backend, with
 * gsettings-desktop-schemas' real schema) and real kioslaverc files, in
 * temporary directories, never the machine's or the user's own settings.
 *
 * GIO reads its environment once per process (GSETTINGS_BACKEND,
 * XDG_CONFIG_HOME) and caches what it read, so every configuration runs in
 * a child process: this program re-executes itself with "--child" and a
 * prepared environment; the child calls the function once, prints the
 * four fields, frees each string with GlobalFree and exits. Under ASan
 * the child's own leak check runs at its exit, so a leak fails the case.
 *
 * Expectations: Internet Explorer's strings (docs/COMPAT.md gives the
 * mapping and the precedence: the desktop when it configures something,
 * else the environment); the GNOME cases skip when GIO or the schema is not
 * installed (scripts/install-deps lists gsettings-desktop-schemas). */
#include "wh_test.h"

#include "core/gsettings.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

extern char **environ;

/* ---- the child ------------------------------------------------------------------------ */

static void print_field(const char *name, const WCHAR *w)
{
  if (!w)
    printf("%s=(null)\n", name);
  else
    printf("%s=%ls\n", name, w);
}

static int child(void)
{
  /* %ls needs a UTF-8 locale for non-ASCII names. */
  setlocale(LC_ALL, "C.UTF-8");
  WINHTTP_CURRENT_USER_IE_PROXY_CONFIG cfg;
  memset(&cfg, 0xA5, sizeof(cfg));
  if (!WinHttpGetIEProxyConfigForCurrentUser(&cfg)) {
    printf("error=%u\n", GetLastError());
    return 0;
  }
  if (GetLastError() != ERROR_SUCCESS)
    printf("lasterror=%u\n", GetLastError());
  printf("auto=%d\n", cfg.fAutoDetect);
  print_field("url", cfg.lpszAutoConfigUrl);
  print_field("proxy", cfg.lpszProxy);
  print_field("bypass", cfg.lpszProxyBypass);
  /* Microsoft: each non-NULL string is freed with GlobalFree. */
  GlobalFree(cfg.lpszAutoConfigUrl);
  GlobalFree(cfg.lpszProxy);
  GlobalFree(cfg.lpszProxyBypass);
  /* Whether GNOME's settings could be read at all (the parent skips the
   * GNOME cases otherwise). */
  struct wh_gnome_proxy g;
  bool found = false;
  wh_gsettings_proxy(&g, &found);
  wh_gnome_proxy_free(&g);
  printf("gsettings=%d\n", found);
  return 0;
}

/* ---- the parent ----------------------------------------------------------------------- */

static char tmp[256];     /* this case's directory */
static bool have_gsettings; /* learnt from the first child */

static void write_file(const char *rel, const char *text)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", tmp, rel);
  /* Parent directories, one level at a time. */
  for (char *p = path + strlen(tmp) + 1; (p = strchr(p, '/')); p++) {
    *p = '\0';
    mkdir(path, 0700);
    *p = '/';
  }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void remove_tree(const char *dir)
{
  char *argv[] = {"rm", "-rf", (char *)dir, NULL};
  pid_t pid;
  assert_int_equal(posix_spawnp(&pid, "rm", NULL, NULL, argv, environ), 0);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* The variables a case controls, removed from what the child inherits. */
static bool controlled(const char *kv)
{
  static const char *const names[] = {
      "http_proxy=",      "HTTP_PROXY=",          "https_proxy=",     "HTTPS_PROXY=",
      "no_proxy=",        "NO_PROXY=",            "all_proxy=",       "ALL_PROXY=",
      "XDG_CURRENT_DESKTOP=", "XDG_CONFIG_HOME=", "XDG_CONFIG_DIRS=", "XDG_DATA_HOME=",
      "XDG_DATA_DIRS=",   "GSETTINGS_BACKEND=",   "GSETTINGS_SCHEMA_DIR=", "HOME=",
      "GATEWAY_INTERFACE="};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (!strncmp(kv, names[i], strlen(names[i])))
      return true;
  return false;
}

/* Reads |fd| to its end (bounded in time: a hang fails the test). */
static void slurp(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = 60000 - ((now.tv_sec - start.tv_sec) * 1000 +
                         (now.tv_nsec - start.tv_nsec) / 1000000);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, (int)left) <= 0)
      fail_msg("child: no end of output in time");
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0 || (n += (size_t)r) == cap - 1)
      break;
  }
  buf[n] = '\0';
}

/* Runs the child with the case's |vars| (NAME=value, NULL-terminated) on
 * top of the defaults that keep it inside |tmp|: the keyfile backend,
 * XDG_CONFIG_HOME, XDG_CONFIG_DIRS and HOME in the case's directory.
 * Returns its output. */
static void run(const char *const *vars, char *out, size_t cap)
{
  static char self[512];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
  assert_true(sl > 0);
  self[sl] = '\0';
  char home[300], config[300], dirs[300];
  snprintf(home, sizeof(home), "HOME=%s", tmp);
  snprintf(config, sizeof(config), "XDG_CONFIG_HOME=%s/config", tmp);
  snprintf(dirs, sizeof(dirs), "XDG_CONFIG_DIRS=%s/sys", tmp);
  /* The case's variables first: getenv finds the first of two entries of
   * the same name, so they override the defaults after them. */
  char *envp[256];
  size_t k = 0;
  for (size_t i = 0; vars && vars[i] && k < 40; i++)
    envp[k++] = (char *)vars[i];
  envp[k++] = home;
  envp[k++] = config;
  envp[k++] = dirs;
  envp[k++] = "GSETTINGS_BACKEND=keyfile";
  for (size_t i = 0; environ[i] && k < 250; i++)
    if (!controlled(environ[i]))
      envp[k++] = environ[i];
  envp[k] = NULL;

  int o[2];
  assert_int_equal(pipe(o), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, o[1], 1);
  posix_spawn_file_actions_addclose(&fa, o[0]);
  posix_spawn_file_actions_addclose(&fa, o[1]);
  char *argv[] = {self, "--child", NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, self, &fa, NULL, argv, envp), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(o[1]);
  slurp(o[0], out, cap);
  close(o[0]);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("child failed (status %d); output:\n%s", st, out);
  have_gsettings = strstr(out, "gsettings=1\n") != NULL;
}

/* Runs one case and compares the four fields. */
static void expect(const char *const *vars, int autod, const char *url, const char *proxy,
                   const char *bypass)
{
  char out[8192], want[4096];
  run(vars, out, sizeof(out));
  snprintf(want, sizeof(want), "auto=%d\nurl=%s\nproxy=%s\nbypass=%s\n", autod,
           url ? url : "(null)", proxy ? proxy : "(null)", bypass ? bypass : "(null)");
  if (strncmp(out, want, strlen(want)) != 0)
    fail_msg("want:\n%sgot:\n%s", want, out);
}

static int case_setup(void **state)
{
  (void)state;
  snprintf(tmp, sizeof(tmp), "/tmp/wh-desktop-XXXXXX");
  assert_non_null(mkdtemp(tmp));
  return 0;
}

static int case_teardown(void **state)
{
  (void)state;
  remove_tree(tmp);
  return 0;
}

#define KEYFILE "config/glib-2.0/settings/keyfile"
#define ENV_PROXY "http_proxy=http://env.example:3128"
#define ENV_LIST "http=env.example:3128"

/* Skips a GNOME case where GIO or the schema is missing (learnt by running
 * the child once). */
static void need_gsettings(void)
{
  char out[8192];
  run(NULL, out, sizeof(out));
  if (!have_gsettings)
    skip();
}

/* ---- nothing configured, and the environment ---------------------------------------------- */

static void test_null(void **state)
{
  (void)state;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpGetIEProxyConfigForCurrentUser(NULL));
  assert_last_error(ERROR_INVALID_PARAMETER);
}

static void test_nothing(void **state)
{
  (void)state;
  /* No desktop settings, no variables: Windows' "nothing configured", whose
   * out-of-the-box setting is "Automatically detect settings". */
  expect(NULL, 1, NULL, NULL, NULL); /* nothing configured: auto-detect */
  /* The environment. */
  const char *const env[] = {ENV_PROXY, "no_proxy=localhost", NULL};
  expect(env, 0, NULL, ENV_LIST, "localhost;*.localhost");
}

/* ---- GNOME ------------------------------------------------------------------------------ */

static void test_gnome_none(void **state)
{
  (void)state;
  need_gsettings();
  /* "none" (the default, written or not) falls back to the environment. */
  write_file(KEYFILE, "[system/proxy]\nmode='none'\n\n[system/proxy/http]\nhost='p'\nport=1\n");
  const char *const env[] = {ENV_PROXY, NULL};
  expect(env, 0, NULL, ENV_LIST, NULL);
  expect(NULL, 1, NULL, NULL, NULL); /* nothing configured: auto-detect */
}

static void test_gnome_manual(void **state)
{
  (void)state;
  need_gsettings();
  /* Every field, credentials included (which must appear nowhere); the
   * desktop wins over the environment. */
  write_file(KEYFILE, "[system/proxy]\n"
                      "mode='manual'\n"
                      "autoconfig-url='http://unused.example/p.pac'\n"
                      "ignore-hosts=['localhost', '127.0.0.0/8', '::1', '*.corp.example', "
                      "'10.0.0.0/12', '<local>']\n"
                      "\n"
                      "[system/proxy/http]\n"
                      "host='proxy.example'\n"
                      "port=8080\n"
                      "use-authentication=true\n"
                      "authentication-user='alice'\n"
                      "authentication-password='s3cret'\n"
                      "\n"
                      "[system/proxy/https]\nhost='secure.example'\nport=8443\n"
                      "\n"
                      "[system/proxy/ftp]\nhost='ftp.example'\nport=2121\n"
                      "\n"
                      "[system/proxy/socks]\nhost='socks.example'\nport=1080\n");
  const char *const env[] = {ENV_PROXY, NULL};
  expect(env, 0, NULL,
         "http=proxy.example:8080;https=secure.example:8443;ftp=ftp.example:2121;"
         "socks=socks.example:1080",
         "localhost;*.localhost;127.*;[::1];corp.example;*.corp.example;<local>");
  char out[8192];
  run(env, out, sizeof(out));
  assert_null(strstr(out, "alice"));
  assert_null(strstr(out, "s3cret"));
}

static void test_gnome_manual_rules(void **state)
{
  (void)state;
  need_gsettings();
  /* http serves https; the default ignore-hosts. */
  write_file(KEYFILE, "[system/proxy]\nmode='manual'\n\n[system/proxy/http]\nhost='p'\nport=3128\n");
  expect(NULL, 0, NULL, "http=p:3128;https=p:3128", "localhost;*.localhost;127.*;[::1]");
  /* SOCKS alone serves every scheme; an https host without a port is off. */
  write_file(KEYFILE, "[system/proxy]\nmode='manual'\nignore-hosts=@as []\n\n"
                      "[system/proxy/https]\nhost='off.example'\n\n"
                      "[system/proxy/socks]\nhost='s'\nport=1080\n");
  expect(NULL, 0, NULL,
         "http=socks://s:1080;https=socks://s:1080;ftp=socks://s:1080;socks=s:1080", NULL);
  /* Manual without a usable server: the environment. */
  write_file(KEYFILE, "[system/proxy]\nmode='manual'\n\n[system/proxy/http]\nhost=''\n");
  const char *const env[] = {ENV_PROXY, NULL};
  expect(env, 0, NULL, ENV_LIST, NULL);
  /* IPv6 and non-ASCII host names. */
  write_file(KEYFILE, "[system/proxy]\nmode='manual'\nignore-hosts=@as []\n\n"
                      "[system/proxy/http]\nhost='::1'\nport=3128\n\n"
                      "[system/proxy/https]\nhost='pr\xc3\xb8xy.example'\nport=1\n");
  expect(NULL, 0, NULL, "http=[::1]:3128;https=pr\xc3\xb8xy.example:1", NULL);
}

static void test_gnome_auto(void **state)
{
  (void)state;
  need_gsettings();
  const char *const env[] = {ENV_PROXY, NULL};
  /* A PAC URL; the manual servers and the environment are not reported. */
  write_file(KEYFILE, "[system/proxy]\nmode='auto'\n"
                      "autoconfig-url='http://wpad.example/proxy.pac'\n\n"
                      "[system/proxy/http]\nhost='p'\nport=1\n");
  expect(env, 0, "http://wpad.example/proxy.pac", NULL, NULL);
  /* No URL: WPAD. */
  write_file(KEYFILE, "[system/proxy]\nmode='auto'\n");
  expect(env, 1, NULL, NULL, NULL);
}

/* What a settings backend may hold that the schema does not allow: GSettings
 * ignores such values (the schema's default applies), and nothing crashes. */
static void test_gnome_bad_values(void **state)
{
  (void)state;
  need_gsettings();
  write_file(KEYFILE, "[system/proxy]\nmode='manual'\nignore-hosts=5\nunknown-key='x'\n\n"
                      "[system/proxy/http]\nhost='p'\nport='not a number'\n\n"
                      "[system/proxy/https]\nhost=['a', 'b']\nport=99999\n\n"
                      "[system/proxy/socks]\nhost='s'\nport=-5\n");
  expect(NULL, 0, NULL, "http=p:8080;https=p:8080", "localhost;*.localhost;127.*;[::1]");
  write_file(KEYFILE, "[system/proxy]\nmode='sideways'\n");
  expect(NULL, 1, NULL, NULL, NULL); /* nothing configured: auto-detect */
  /* Not a keyfile at all: the defaults, then the environment. */
  write_file(KEYFILE, "\x01\x02 garbage [[[ = ]]\n\xff\xfe\n");
  const char *const env[] = {ENV_PROXY, NULL};
  expect(env, 0, NULL, ENV_LIST, NULL);
}

/* Without the schema (gsettings-desktop-schemas not installed) the call
 * must not abort (g_settings_new would): the environment answers. */
static void test_gnome_no_schema(void **state)
{
  (void)state;
  write_file(KEYFILE, "[system/proxy]\nmode='manual'\n\n[system/proxy/http]\nhost='p'\nport=1\n");
  write_file("data/empty", "");
  char data_dirs[300], data_home[300];
  snprintf(data_dirs, sizeof(data_dirs), "XDG_DATA_DIRS=%s/data", tmp);
  snprintf(data_home, sizeof(data_home), "XDG_DATA_HOME=%s/data", tmp);
  const char *const env[] = {ENV_PROXY, data_dirs, data_home, NULL};
  expect(env, 0, NULL, ENV_LIST, NULL);
  char out[8192];
  run(env, out, sizeof(out));
  assert_non_null(strstr(out, "gsettings=0\n"));
}

/* ---- KDE --------------------------------------------------------------------------------- */

#define KDE "XDG_CURRENT_DESKTOP=KDE"
#define KIOSLAVERC "config/kioslaverc"

static void test_kde_types(void **state)
{
  (void)state;
  const char *const env[] = {KDE, ENV_PROXY, "MY_PROXY=http://mine.example:81",
                             "MY_NO_PROXY=.corp", NULL};
  /* 0: the environment. */
  write_file(KIOSLAVERC, "[Proxy Settings]\nProxyType=0\nhttpProxy=http://p 1\n");
  expect(env, 0, NULL, ENV_LIST, NULL);
  /* 1: manual, as KDE 5 writes it. */
  write_file(KIOSLAVERC, "[Proxy Settings]\n"
                         "NoProxyFor=localhost,.kde.org,192.168.0.0/16,<local>\n"
                         "Proxy Config Script=\n"
                         "ProxyType=1\n"
                         "ReversedException=false\n"
                         "ftpProxy=ftp://ftp.example 21\n"
                         "httpProxy=http://proxy.example 8080\n"
                         "httpsProxy=http://secure.example 8443\n"
                         "socksProxy=socks://socks.example 1080\n");
  expect(env, 0, NULL,
         "http=proxy.example:8080;https=secure.example:8443;ftp=ftp.example:21;"
         "socks=socks.example:1080",
         "localhost;*.localhost;kde.org;*.kde.org;192.168.*;<local>");
  /* 2: the script. */
  write_file(KIOSLAVERC,
             "[Proxy Settings]\nProxyType=2\nProxy Config Script=http://wpad.example/kde.pac\n");
  expect(env, 0, "http://wpad.example/kde.pac", NULL, NULL);
  /* 3: WPAD. */
  write_file(KIOSLAVERC, "[Proxy Settings]\nProxyType=3\n");
  expect(env, 1, NULL, NULL, NULL);
  /* 4: the variables it names. */
  write_file(KIOSLAVERC,
             "[Proxy Settings]\nProxyType=4\nhttpProxy=MY_PROXY\nNoProxyFor=MY_NO_PROXY\n");
  expect(env, 0, NULL, "http=mine.example:81", "corp;*.corp");
  /* Reversed exceptions cannot be said: every host uses the proxy. */
  write_file(KIOSLAVERC, "[Proxy Settings]\nProxyType=1\nhttpProxy=p 1\nNoProxyFor=a\n"
                         "ReversedException=true\n");
  expect(env, 0, NULL, "http=p:1", NULL);
}

static void test_kde_cascade(void **state)
{
  (void)state;
  const char *const env[] = {KDE, NULL};
  /* The administrator's immutable settings over the user's. */
  write_file("sys/kioslaverc", "[Proxy Settings][$i]\nProxyType=1\nhttpProxy=http://corp 3128\n");
  write_file(KIOSLAVERC, "[Proxy Settings]\nProxyType=0\nhttpProxy=http://mine 1\n");
  expect(env, 0, NULL, "http=corp:3128", NULL);
  /* Without the lock, the user's. */
  write_file("sys/kioslaverc", "[Proxy Settings]\nProxyType=1\nhttpProxy=http://corp 3128\n");
  write_file(KIOSLAVERC, "[Proxy Settings]\nhttpProxy=http://mine 1\n");
  expect(env, 0, NULL, "http=mine:1", NULL);
  /* ~/.config when XDG_CONFIG_HOME is unset. */
  char unset_config[] = "XDG_CONFIG_HOME=";
  const char *const env2[] = {KDE, unset_config, NULL};
  write_file(".config/kioslaverc", "[Proxy Settings]\nProxyType=3\n");
  expect(env2, 1, NULL, NULL, NULL);
}

static void test_kde_precedence(void **state)
{
  (void)state;
  write_file(KIOSLAVERC, "[Proxy Settings]\nProxyType=1\nhttpProxy=http://kde 1\n");
  /* Not a KDE session: the file is not read. Several desktops named: KDE
   * counts wherever it is in the list. */
  const char *const gnome[] = {"XDG_CURRENT_DESKTOP=GNOME", ENV_PROXY, NULL};
  expect(gnome, 0, NULL, ENV_LIST, NULL);
  const char *const both[] = {"XDG_CURRENT_DESKTOP=X-Cinnamon:kde", NULL};
  expect(both, 0, NULL, "http=kde:1", NULL);
  /* KDE configures nothing: GNOME's settings, then the environment. */
  write_file(KIOSLAVERC, "[Proxy Settings]\nProxyType=0\n");
  write_file(KEYFILE, "[system/proxy]\nmode='auto'\n");
  const char *const kde[] = {KDE, ENV_PROXY, NULL};
  char out[8192];
  run(kde, out, sizeof(out));
  if (have_gsettings)
    expect(kde, 1, NULL, NULL, NULL);
  /* KDE configures something: GNOME's settings are not looked at. */
  write_file(KIOSLAVERC, "[Proxy Settings]\nProxyType=2\nProxy Config Script=http://k/p.pac\n");
  expect(kde, 0, "http://k/p.pac", NULL, NULL);
}

/* Files that are not kioslaverc files: skipped, nothing breaks or hangs. */
static void test_kde_bad_files(void **state)
{
  (void)state;
  const char *const env[] = {KDE, ENV_PROXY, NULL};
  /* Binary garbage. */
  write_file(KIOSLAVERC, "\x7f" "ELF\x02\x01\x01\xff[Proxy Settings\xff\nProxyType=\x01\n");
  expect(env, 0, NULL, ENV_LIST, NULL);
  /* A directory, and a FIFO (opening one must not wait for a writer). */
  char path[512];
  snprintf(path, sizeof(path), "%s/" KIOSLAVERC, tmp);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(mkdir(path, 0700), 0);
  expect(env, 0, NULL, ENV_LIST, NULL);
  assert_int_equal(rmdir(path), 0);
  assert_int_equal(mkfifo(path, 0600), 0);
  expect(env, 0, NULL, ENV_LIST, NULL);
  /* Unreadable. */
  assert_int_equal(unlink(path), 0);
  write_file(KIOSLAVERC, "[Proxy Settings]\nProxyType=3\n");
  assert_int_equal(chmod(path, 0), 0);
  if (access(path, R_OK) != 0) /* root reads it anyway */
    expect(env, 0, NULL, ENV_LIST, NULL);
  assert_int_equal(chmod(path, 0600), 0);
  /* Relative configuration directories are ignored (XDG). */
  write_file(KIOSLAVERC, "[Proxy Settings]\nProxyType=3\n");
  const char *const rel[] = {KDE, "XDG_CONFIG_HOME=config", "XDG_CONFIG_DIRS=sys:", NULL};
  expect(rel, 1, NULL, NULL, NULL); /* nothing configured: auto-detect */
}

int main(int argc, char **argv)
{
  if (argc == 2 && !strcmp(argv[1], "--child"))
    return child();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_null),
    cmocka_unit_test_setup_teardown(test_nothing, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_gnome_none, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_gnome_manual, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_gnome_manual_rules, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_gnome_auto, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_gnome_bad_values, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_gnome_no_schema, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_kde_types, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_kde_cascade, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_kde_precedence, case_setup, case_teardown),
    cmocka_unit_test_setup_teardown(test_kde_bad_files, case_setup, case_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
