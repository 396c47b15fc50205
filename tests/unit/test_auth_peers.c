/* Tests of the authentication peers (tests/support/peers.c): the KDC,
 * apache2 with its Negotiate, NTLM, Basic and Digest locations, and squid
 * requiring Negotiate or Basic proxy credentials. The clients are independent of
 * OpenWinHTTP, so that a failure here points at a peer: curl (built with
 * GSS-API, SPNEGO and NTLM on Debian) for everything it can do, and, for
 * raw NTLM ("Authorization: NTLM"), gss-ntlmssp's initiator driven through
 * GSSAPI over a plain socket, because gss-ntlmssp 1.2 on the server refuses
 * the 32-byte NEGOTIATE_MESSAGE that curl --ntlm sends (see peers.h).
 *
 * A missing program (curl, krb5kdc, apache2, squid...) fails the test: CI
 * installs them all with scripts/install-deps.
 *
 * One KDC and one apache2 serve the group; squid and the apache2 without a
 * KDC are started by their tests. The test process sets KRB5_CONFIG and
 * KRB5CCNAME as a test of the library would before using GSSAPI. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <openssl/evp.h>

#include "peers.h"

/* gss-ntlmssp 1.2 fetches MD4 (and the like) from OpenSSL's legacy provider
 * for every context and never frees them: LeakSanitizer, under the ASan
 * build, must not blame this program for that library's leaks. The hooks
 * are the sanitizers' own (sanitizer/lsan_interface.h, asan_interface.h),
 * unused without them. The suppression needs the leak's whole stack: with
 * the fast unwinder it stops inside libcrypto, which has no frame pointers,
 * before it reaches gssntlmssp.so (the program is small; the slow unwinder
 * costs little). */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);
__attribute__((used)) const char *__lsan_default_suppressions(void)
{
  return "leak:gssntlmssp.so\n";
}
__attribute__((used)) const char *__asan_default_options(void)
{
  return "fast_unwind_on_malloc=0";
}

static struct wh_peer kdc;
static struct wh_peer apache;
static struct wh_peer local; /* a peer started by its test, stopped by
                                stop_local even when the test fails */

/* --- running tools ----------------------------------------------------------- */

static const char *curl_path(void)
{
  const char *c = getenv("WH_CURL");
  if (c && *c)
    return c;
  return access("/usr/bin/curl", X_OK) == 0 ? "/usr/bin/curl" : "curl";
}

/* The test's environment with |extra| ("NAME=value" strings, NULL-ended,
 * or NULL) replacing or adding variables. Caller frees the array only. */
static char **env_with(const char *const extra[])
{
  size_t n = 0, k = 0;
  while (environ[n])
    n++;
  while (extra && extra[k])
    k++;
  char **env = calloc(n + k + 1, sizeof(char *));
  assert_non_null(env);
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    int replaced = 0;
    for (size_t j = 0; j < k; j++) {
      size_t name = (size_t)(strchr(extra[j], '=') - extra[j]);
      if (strncmp(environ[i], extra[j], name + 1) == 0)
        replaced = 1;
    }
    if (!replaced)
      env[len++] = environ[i];
  }
  for (size_t j = 0; j < k; j++)
    env[len++] = (char *)extra[j];
  env[len] = NULL;
  return env;
}

/* Runs argv with |extra| environment and |input| (NULL: /dev/null) on its
 * stdin; returns what it wrote on stdout (NUL-terminated, caller frees);
 * *status gets its exit status. stderr is the test's. Fails the test when
 * the program cannot be started. */
static char *run_capture(char *const argv[], const char *const extra[], const char *input,
                         int *status)
{
  char **env = env_with(extra);
  int fds[2], in[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(pipe2(in, O_CLOEXEC), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(fds[1], 1);
    execve(argv[0], argv, env);
    execvpe(argv[0], argv, env);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  free(env);
  close(fds[1]);
  close(in[0]);
  /* Small enough for the pipe's buffer; SIGPIPE is ignored. */
  if (input)
    assert_true(write(in[1], input, strlen(input)) == (ssize_t)strlen(input));
  close(in[1]);
  size_t cap = 65536, len = 0;
  char *out = malloc(cap + 1);
  assert_non_null(out);
  for (;;) {
    ssize_t r = read(fds[0], out + len, cap - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += (size_t)r;
    if (len == cap) {
      cap *= 2;
      out = realloc(out, cap + 1);
      assert_non_null(out);
    }
  }
  close(fds[0]);
  out[len] = 0;
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  if (*status == 127)
    fail_msg("cannot run %s (scripts/install-deps installs it)", argv[0]);
  return out;
}

/* curl -s -S -D - <args...>: every response's headers, the last body, then
 * "\nstatus=<code>"; *rc gets curl's exit status. |extra| as for
 * run_capture. */
static char *curl_va(const char *const extra[], int *rc, va_list ap)
{
  char *argv[40] = {(char *)curl_path(), (char *)"-s", (char *)"-S", (char *)"-D", (char *)"-",
                    (char *)"-w", (char *)"\nstatus=%{http_code}\n"};
  size_t argc = 7;
  for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
    assert_true(argc + 1 < sizeof(argv) / sizeof(argv[0]));
    argv[argc++] = (char *)a;
  }
  argv[argc] = NULL;
  return run_capture(argv, extra, NULL, rc);
}

/* The same for a transfer that must succeed at curl's level. */
static char *curl(const char *const extra[], ...)
{
  int rc;
  va_list ap;
  va_start(ap, extra);
  char *out = curl_va(extra, &rc, ap);
  va_end(ap);
  if (rc != 0)
    fail_msg("curl exited with %d; its output:\n%s", rc, out);
  return out;
}

/* The same when curl itself fails: *rc is its exit status. */
static char *curl_rc(const char *const extra[], int *rc, ...)
{
  va_list ap;
  va_start(ap, rc);
  char *out = curl_va(extra, rc, ap);
  va_end(ap);
  return out;
}

static int final_status(const char *out)
{
  const char *s = strstr(out, "\nstatus=");
  const char *last = NULL;
  while (s) {
    last = s;
    s = strstr(s + 1, "\nstatus=");
  }
  return last ? atoi(last + 8) : -1;
}

static void expect_status(const char *out, int status)
{
  if (final_status(out) != status)
    fail_msg("expected status %d, curl said:\n%s", status, out);
}

static void expect_text(const char *out, const char *text)
{
  if (!strstr(out, text))
    fail_msg("expected \"%s\" in:\n%s", text, out);
}

static void expect_no_text(const char *out, const char *text)
{
  if (strstr(out, text))
    fail_msg("did not expect \"%s\" in:\n%s", text, out);
}

static char *url(const struct wh_peer *p, const char *path)
{
  char *u;
  assert_true(asprintf(&u, "http://localhost:%u%s", wh_peer_port(p), path) > 0);
  return u;
}

static char *user_pass(const struct wh_peer *p, enum wh_peer_auth a, const char *prefix)
{
  char *s;
  assert_non_null(wh_peer_user(p, a));
  assert_true(asprintf(&s, "%s%s:%s", prefix, wh_peer_user(p, a), wh_peer_password(p, a)) > 0);
  return s;
}

static int peer_alive(pid_t pid)
{
  return pid > 0 && kill(pid, 0) == 0;
}

/* --- group setup ------------------------------------------------------------------ */

static int setup(void **state)
{
  (void)state;
  signal(SIGPIPE, SIG_IGN);
  if (wh_peer_start_kdc(&kdc) != 0) {
    fprintf(stderr, "cannot start the KDC (scripts/install-deps installs krb5-kdc)\n");
    return -1;
  }
  if (wh_peer_start_apache(&apache, &kdc) != 0) {
    fprintf(stderr, "cannot start apache2 (scripts/install-deps installs it)\n");
    wh_peer_stop(&kdc);
    return -1;
  }
  /* What a test of the library does before it uses GSSAPI. */
  setenv("KRB5_CONFIG", wh_peer_krb5_conf(&kdc), 1);
  setenv("KRB5CCNAME", wh_peer_ccache(&kdc), 1);
  return 0;
}

static int stop_local(void **state)
{
  (void)state;
  wh_peer_stop(&local);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  wh_peer_stop(&apache);
  wh_peer_stop(&kdc);
  return 0;
}

/* --- curl ------------------------------------------------------------------------- */

/* The checks below rely on curl's GSS-API, SPNEGO and NTLM support. */
static void test_curl_features(void **state)
{
  (void)state;
  char *argv[] = {(char *)curl_path(), (char *)"-V", NULL};
  int status;
  char *out = run_capture(argv, NULL, NULL, &status);
  assert_int_equal(status, 0);
  const char *features = strstr(out, "\nFeatures:");
  if (!features)
    fail_msg("curl -V lists no features:\n%s", out);
  expect_text(features, " GSS-API");
  expect_text(features, " SPNEGO");
  expect_text(features, " NTLM");
  free(out);
}

/* --- the KDC ---------------------------------------------------------------------- */

static void test_kdc_accessors(void **state)
{
  (void)state;
  assert_string_equal(wh_peer_realm(&kdc), "WINHTTP.TEST");
  assert_string_equal(wh_peer_user(&kdc, WH_AUTH_KERBEROS), "alice");
  assert_string_equal(wh_peer_auth_domain(&kdc, WH_AUTH_KERBEROS), "WINHTTP.TEST");
  assert_true(strlen(wh_peer_password(&kdc, WH_AUTH_KERBEROS)) >= 16);
  assert_null(wh_peer_user(&kdc, WH_AUTH_BASIC));
  assert_null(wh_peer_krb5_conf(&apache));
  struct stat st;
  assert_int_equal(stat(wh_peer_krb5_conf(&kdc), &st), 0);
  assert_int_equal(stat(wh_peer_keytab(&kdc), &st), 0);
  assert_true(st.st_size > 0);
  assert_true(strncmp(wh_peer_ccache(&kdc), "FILE:", 5) == 0);
  assert_true(strncmp(wh_peer_ccache(&kdc) + 5, wh_peer_dir(&kdc), strlen(wh_peer_dir(&kdc))) ==
              0);
  /* Every file of the realm lives in the peer's directory. */
  char *conf = NULL;
  FILE *f = fopen(wh_peer_krb5_conf(&kdc), "r");
  assert_non_null(f);
  size_t cap = 0;
  assert_true(getdelim(&conf, &cap, 0, f) > 0);
  fclose(f);
  char kdc_line[64];
  snprintf(kdc_line, sizeof(kdc_line), "kdc = 127.0.0.1:%u\n", wh_peer_port(&kdc));
  expect_text(conf, kdc_line);
  expect_text(conf, "dns_lookup_kdc = false");
  expect_text(conf, "localhost = WINHTTP.TEST");
  free(conf);
}

/* kinit fills the credential cache; klist -s (MIT's) agrees, and a wrong
 * password is refused by the KDC. */
static void test_kdc_kinit(void **state)
{
  (void)state;
  assert_int_equal(wh_peer_kdc_kinit(&kdc), 0);
  char *klist[] = {(char *)"klist", (char *)"-s", NULL};
  int status;
  char *out = run_capture(klist, NULL, NULL, &status);
  assert_int_equal(status, 0);
  free(out);

  char *principal;
  assert_true(asprintf(&principal, "alice@%s", wh_peer_realm(&kdc)) > 0);
  char *kinit[] = {(char *)"kinit", principal, NULL};
  char cc[400];
  snprintf(cc, sizeof(cc), "KRB5CCNAME=FILE:%s/wrong-ccache", wh_peer_dir(&kdc));
  const char *extra[] = {cc, NULL};
  out = run_capture(kinit, extra, "not-the-password\n", &status);
  assert_int_not_equal(status, 0);
  free(out);
  free(principal);
}

/* --- apache2 ---------------------------------------------------------------------- */

static void test_apache_public(void **state)
{
  (void)state;
  char *u = url(&apache, "/index.txt");
  char *out = curl(NULL, u, NULL);
  expect_status(out, 200);
  expect_text(out, "OpenWinHTTP public ok\n");
  expect_no_text(out, "X-Remote-User");
  free(out);
  free(u);
}

static void test_apache_negotiate(void **state)
{
  (void)state;
  assert_int_equal(wh_peer_kdc_kinit(&kdc), 0);
  char *u = url(&apache, "/negotiate/index.txt");
  char *out = curl(NULL, u, NULL);
  expect_status(out, 401);
  expect_text(out, "WWW-Authenticate: Negotiate\r\n");
  expect_no_text(out, "WWW-Authenticate: NTLM");
  expect_no_text(out, "WWW-Authenticate: Basic");
  free(out);

  out = curl(NULL, "--negotiate", "-u", ":", u, NULL);
  expect_status(out, 200);
  expect_text(out, "X-Remote-User: alice@WINHTTP.TEST\r\n");
  expect_text(out, "X-Auth-Type: Negotiate\r\n");
  expect_text(out, "OpenWinHTTP negotiate ok\n");
  free(out);

  /* Without a ticket: curl cannot make a token and the server still says
   * 401. */
  char cc[400];
  snprintf(cc, sizeof(cc), "KRB5CCNAME=FILE:%s/no-such-ccache", wh_peer_dir(&kdc));
  const char *no_ticket[] = {cc, NULL};
  out = curl(no_ticket, "--negotiate", "-u", ":", u, NULL);
  expect_status(out, 401);
  free(out);
  free(u);
}

/* NTLM inside SPNEGO: curl --negotiate with no Kerberos ticket and
 * gss-ntlmssp's client credentials from the peer's NTLM user file. */
static void test_apache_ntlm_in_negotiate(void **state)
{
  (void)state;
  char *u = url(&apache, "/ntlm/index.txt");
  char *out = curl(NULL, u, NULL);
  expect_status(out, 401);
  expect_text(out, "WWW-Authenticate: Negotiate\r\n");
  expect_text(out, "WWW-Authenticate: NTLM\r\n");
  free(out);

  char cc[400], users[400];
  snprintf(cc, sizeof(cc), "KRB5CCNAME=FILE:%s/no-such-ccache", wh_peer_dir(&apache));
  snprintf(users, sizeof(users), "NTLM_USER_FILE=%s", wh_peer_ntlm_user_file(&apache));
  const char *extra[] = {cc, users, NULL};
  out = curl(extra, "--negotiate", "-u", ":", u, NULL);
  expect_status(out, 200);
  expect_text(out, "X-Remote-User: WINHTTP\\bob\r\n");
  expect_text(out, "X-Auth-Type: Negotiate\r\n");
  expect_text(out, "OpenWinHTTP ntlm ok\n");
  free(out);
  free(u);
}

/* --- raw NTLM through gss-ntlmssp's initiator ----------------------------------------- */

static gss_OID_desc ntlmssp_oid = {10, (void *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};

/* Sends "GET |path|" on |fd| with "Authorization: NTLM |token|" (base64 of
 * |tok|, or no header when tok is NULL) and reads one response into |resp|
 * (headers and a Content-Length body). Returns the status. */
static int ntlm_round(int fd, const char *path, const gss_buffer_desc *tok, char *resp, size_t cap)
{
  char req[4096], b64[3000] = "";
  if (tok) {
    assert_true(tok->length < sizeof(b64) / 4 * 3 - 4);
    EVP_EncodeBlock((unsigned char *)b64, tok->value, (int)tok->length);
  }
  int n = snprintf(req, sizeof(req),
                   "GET %s HTTP/1.1\r\nHost: localhost:%u\r\n%s%s%s\r\n", path,
                   wh_peer_port(&apache), tok ? "Authorization: NTLM " : "", b64,
                   tok ? "\r\n" : "");
  assert_true(n > 0 && (size_t)n < sizeof(req));
  assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
  size_t len = 0;
  const char *end = NULL;
  long body = -1;
  while (len + 1 < cap) {
    ssize_t r = recv(fd, resp + len, cap - len - 1, 0);
    assert_true(r > 0);
    len += (size_t)r;
    resp[len] = 0;
    if (!end && (end = strstr(resp, "\r\n\r\n")) != NULL) {
      const char *cl = strcasestr(resp, "\r\nContent-Length:");
      assert_true(cl && cl < end);
      body = strtol(cl + 17, NULL, 10);
    }
    if (end && len >= (size_t)(end + 4 - resp) + (size_t)body)
      break;
  }
  assert_non_null(end);
  return atoi(resp + 9);
}

/* The base64 after "WWW-Authenticate: NTLM " in |resp|, decoded into |out|. */
static size_t ntlm_challenge(const char *resp, unsigned char *out, size_t cap)
{
  const char *h = strstr(resp, "\r\nWWW-Authenticate: NTLM ");
  if (!h)
    fail_msg("no NTLM challenge in:\n%s", resp);
  h += 25;
  size_t b64 = strcspn(h, "\r");
  assert_true(b64 / 4 * 3 <= cap);
  int n = EVP_DecodeBlock(out, (const unsigned char *)h, (int)b64);
  assert_true(n > 0);
  while (b64 > 0 && h[b64 - 1] == '=') {
    n--;
    b64--;
  }
  return (size_t)n;
}

static void gss_ok(OM_uint32 maj, OM_uint32 min, const char *what)
{
  if (!GSS_ERROR(maj))
    return;
  OM_uint32 ctx = 0, m;
  gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
  gss_display_status(&m, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &text);
  fail_msg("%s: %.*s (minor %u)", what, (int)text.length, (char *)text.value, (unsigned)min);
}

/* "Authorization: NTLM" on one kept-alive connection: NEGOTIATE, then
 * AUTHENTICATE answering the server's CHALLENGE. |password| right: 200 and
 * bob is the user; wrong: 401. */
static void ntlm_exchange(const char *password, int expect)
{
  OM_uint32 maj, min;
  char who[80];
  snprintf(who, sizeof(who), "%s\\%s", wh_peer_auth_domain(&apache, WH_AUTH_NTLM),
           wh_peer_user(&apache, WH_AUTH_NTLM));
  gss_buffer_desc name_buf = {strlen(who), who};
  gss_buffer_desc pw_buf = {strlen(password), (void *)password};
  gss_buffer_desc target_buf = {14, (void *)"HTTP@localhost"};
  gss_name_t user = GSS_C_NO_NAME, target = GSS_C_NO_NAME;
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
  gss_OID_set_desc mechs = {1, &ntlmssp_oid};
  maj = gss_import_name(&min, &name_buf, GSS_C_NT_USER_NAME, &user);
  gss_ok(maj, min, "gss_import_name(user)");
  maj = gss_import_name(&min, &target_buf, GSS_C_NT_HOSTBASED_SERVICE, &target);
  gss_ok(maj, min, "gss_import_name(target)");
  maj = gss_acquire_cred_with_password(&min, user, &pw_buf, 0, &mechs, GSS_C_INITIATE, &cred,
                                       NULL, NULL);
  gss_ok(maj, min, "gss_acquire_cred_with_password (is gss-ntlmssp installed?)");

  int fd = wh_peer_connect(&apache);
  assert_true(fd >= 0);
  static char resp[65536];
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  maj = gss_init_sec_context(&min, cred, &ctx, target, &ntlmssp_oid, 0, 0,
                             GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &out, NULL, NULL);
  gss_ok(maj, min, "gss_init_sec_context (NEGOTIATE)");
  assert_int_equal(maj, GSS_S_CONTINUE_NEEDED);
  assert_int_equal(ntlm_round(fd, "/ntlm/index.txt", &out, resp, sizeof(resp)), 401);
  gss_release_buffer(&min, &out);

  unsigned char chal[2048];
  gss_buffer_desc in = {ntlm_challenge(resp, chal, sizeof(chal)), chal};
  maj = gss_init_sec_context(&min, cred, &ctx, target, &ntlmssp_oid, 0, 0,
                             GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, NULL, NULL);
  gss_ok(maj, min, "gss_init_sec_context (AUTHENTICATE)");
  int status = ntlm_round(fd, "/ntlm/index.txt", &out, resp, sizeof(resp));
  gss_release_buffer(&min, &out);
  if (status != expect)
    fail_msg("expected %d, got:\n%s", expect, resp);
  if (expect == 200) {
    expect_text(resp, "X-Remote-User: WINHTTP\\bob\r\n");
    expect_text(resp, "X-Auth-Type: NTLM\r\n");
    expect_text(resp, "OpenWinHTTP ntlm ok\n");
    /* Connection-bound: the next request on the connection needs no
     * credentials. */
    assert_int_equal(ntlm_round(fd, "/ntlm/index.txt", NULL, resp, sizeof(resp)), 200);
    expect_text(resp, "X-Remote-User: WINHTTP\\bob\r\n");
  }
  close(fd);
  gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
  gss_release_cred(&min, &cred);
  gss_release_name(&min, &user);
  gss_release_name(&min, &target);
}

static void test_apache_ntlm_raw(void **state)
{
  (void)state;
  ntlm_exchange(wh_peer_password(&apache, WH_AUTH_NTLM), 200);
  ntlm_exchange("not-the-password", 401);
}

/* --- Basic and Digest ------------------------------------------------------------------- */

static void test_apache_basic(void **state)
{
  (void)state;
  assert_string_equal(wh_peer_auth_domain(&apache, WH_AUTH_BASIC), "winhttp-basic");
  char *u = url(&apache, "/basic/index.txt");
  char *out = curl(NULL, u, NULL);
  expect_status(out, 401);
  expect_text(out, "WWW-Authenticate: Basic realm=\"winhttp-basic\"\r\n");
  free(out);

  char *good = user_pass(&apache, WH_AUTH_BASIC, "");
  out = curl(NULL, "-u", good, u, NULL);
  expect_status(out, 200);
  expect_text(out, "X-Remote-User: carol\r\n");
  expect_text(out, "X-Auth-Type: Basic\r\n");
  expect_text(out, "OpenWinHTTP basic ok\n");
  free(out);

  out = curl(NULL, "-u", "carol:not-the-password", u, NULL);
  expect_status(out, 401);
  free(out);
  /* Another scheme's user is not a Basic user. */
  char *dave = user_pass(&apache, WH_AUTH_DIGEST, "");
  out = curl(NULL, "-u", dave, u, NULL);
  expect_status(out, 401);
  free(out);
  free(dave);
  free(good);
  free(u);
}

static void test_apache_digest(void **state)
{
  (void)state;
  assert_string_equal(wh_peer_auth_domain(&apache, WH_AUTH_DIGEST), "winhttp-digest");
  char *u = url(&apache, "/digest/index.txt");
  char *out = curl(NULL, u, NULL);
  expect_status(out, 401);
  expect_text(out, "WWW-Authenticate: Digest realm=\"winhttp-digest\"");
  expect_text(out, "qop=\"auth\"");
  free(out);

  char *good = user_pass(&apache, WH_AUTH_DIGEST, "");
  out = curl(NULL, "--digest", "-u", good, u, NULL);
  expect_status(out, 200);
  expect_text(out, "X-Remote-User: dave\r\n");
  expect_text(out, "X-Auth-Type: Digest\r\n");
  expect_text(out, "Authentication-Info: ");
  expect_text(out, "OpenWinHTTP digest ok\n");
  free(out);

  out = curl(NULL, "--digest", "-u", "dave:not-the-password", u, NULL);
  expect_status(out, 401);
  free(out);
  free(good);
  free(u);
}

/* Without a KDC there is no /negotiate/; the rest still works. */
static void test_apache_without_kdc(void **state)
{
  (void)state;
  struct wh_peer *a = &local;
  assert_int_equal(wh_peer_start_apache(a, NULL), 0);
  pid_t pid = a->pid;
  char *u = url(a, "/negotiate/index.txt");
  char *out = curl(NULL, u, NULL);
  expect_status(out, 404);
  free(out);
  free(u);
  u = url(a, "/basic/index.txt");
  char *good = user_pass(a, WH_AUTH_BASIC, "");
  out = curl(NULL, "-u", good, u, NULL);
  expect_status(out, 200);
  free(out);
  free(good);
  free(u);
  /* Passwords are random per peer. */
  assert_string_not_equal(wh_peer_password(a, WH_AUTH_BASIC),
                          wh_peer_password(&apache, WH_AUTH_BASIC));
  char dir[256];
  snprintf(dir, sizeof(dir), "%s", wh_peer_dir(a));
  wh_peer_stop(a);
  assert_false(peer_alive(pid));
  assert_int_not_equal(access(dir, F_OK), 0);
}

/* --- squid ----------------------------------------------------------------------------- */

static int shm_segments(const char *service)
{
  DIR *d = opendir("/dev/shm");
  if (!d)
    return 0;
  int n = 0;
  size_t sl = strlen(service);
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strncmp(e->d_name, service, sl) == 0 && e->d_name[sl] == '-')
      n++;
  closedir(d);
  return n;
}

static void test_squid(void **state)
{
  (void)state;
  struct wh_peer *sq = &local;
  assert_int_equal(wh_peer_start_squid(sq, &kdc), 0);
  pid_t pid = sq->pid;
  char proxy[64], service[64], dir[256];
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", wh_peer_port(sq));
  snprintf(service, sizeof(service), "%s", sq->service);
  snprintf(dir, sizeof(dir), "%s", wh_peer_dir(sq));
  assert_string_equal(wh_peer_user(sq, WH_AUTH_BASIC), "erin");
  assert_string_equal(wh_peer_auth_domain(sq, WH_AUTH_BASIC), "winhttp-proxy");
  char *creds = user_pass(sq, WH_AUTH_BASIC, "");
  char *origin = url(&apache, "/index.txt");

  /* No proxy credentials, or wrong ones: 407 with both challenges,
   * Negotiate first. */
  char *out = curl(NULL, "-x", proxy, origin, NULL);
  expect_status(out, 407);
  expect_text(out, "Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: Basic "
                   "realm=\"winhttp-proxy\"\r\n");
  free(out);
  out = curl(NULL, "-x", proxy, "--proxy-user", "erin:not-the-password", origin, NULL);
  expect_status(out, 407);
  free(out);

  /* Forwarded to the origin on a high loopback port. */
  out = curl(NULL, "-x", proxy, "--proxy-user", creds, origin, NULL);
  expect_status(out, 200);
  expect_text(out, "X-Proxy-User: erin\r\n");
  expect_text(out, "OpenWinHTTP public ok\n");
  free(out);

  /* CONNECT to a high port: refused without credentials (curl then fails,
   * 56), tunnelled with. */
  int rc;
  out = curl_rc(NULL, &rc, "-p", "-x", proxy, origin, NULL);
  assert_int_equal(rc, 56);
  expect_text(out, "HTTP/1.1 407 ");
  expect_text(out, "Proxy-Authenticate: Basic realm=\"winhttp-proxy\"\r\n");
  free(out);
  out = curl(NULL, "-p", "-x", proxy, "--proxy-user", creds, origin, NULL);
  expect_status(out, 200);
  expect_text(out, "HTTP/1.1 200 Connection established\r\n");
  expect_text(out, "OpenWinHTTP public ok\n");
  free(out);

  /* Through the proxy and then Basic at the origin: both sets of
   * credentials. */
  char *u = url(&apache, "/basic/index.txt");
  char *carol = user_pass(&apache, WH_AUTH_BASIC, "");
  out = curl(NULL, "-x", proxy, "--proxy-user", creds, "-u", carol, u, NULL);
  expect_status(out, 200);
  expect_text(out, "X-Remote-User: carol\r\n");
  free(out);
  free(carol);
  free(u);

  /* Only loopback destinations (192.0.2.1 is TEST-NET-1, never reached:
   * squid refuses before it connects). */
  out = curl(NULL, "-x", proxy, "--proxy-user", creds, "http://192.0.2.1/", NULL);
  expect_status(out, 403);
  free(out);

  /* Negotiate with alice's ticket, the proxy named localhost (its service
   * principal is HTTP/localhost). */
  assert_int_equal(wh_peer_kdc_kinit(&kdc), 0);
  char named[64];
  snprintf(named, sizeof(named), "http://localhost:%u", wh_peer_port(sq));
  out = curl(NULL, "-x", named, "--proxy-negotiate", "-U", ":", origin, NULL);
  expect_status(out, 200);
  expect_text(out, "X-Proxy-User: alice@WINHTTP.TEST\r\n");
  expect_text(out, "OpenWinHTTP public ok\n");
  free(out);
  out = curl(NULL, "-p", "-x", named, "--proxy-negotiate", "-U", ":", origin, NULL);
  expect_status(out, 200);
  expect_text(out, "HTTP/1.1 200 Connection established\r\n");
  expect_text(out, "OpenWinHTTP public ok\n");
  free(out);

  free(origin);
  free(creds);
  wh_peer_stop(sq);
  assert_false(peer_alive(pid));
  assert_int_equal(shm_segments(service), 0);
  assert_int_not_equal(access(dir, F_OK), 0);
}

/* Without a KDC: Basic only. */
static void test_squid_without_kdc(void **state)
{
  (void)state;
  assert_int_equal(wh_peer_start_squid(&local, NULL), 0);
  char proxy[64];
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", wh_peer_port(&local));
  char *origin = url(&apache, "/index.txt");
  char *out = curl(NULL, "-x", proxy, origin, NULL);
  expect_status(out, 407);
  expect_text(out, "Proxy-Authenticate: Basic realm=\"winhttp-proxy\"\r\n");
  expect_no_text(out, "Proxy-Authenticate: Negotiate");
  free(out);
  char *creds = user_pass(&local, WH_AUTH_BASIC, "");
  out = curl(NULL, "-x", proxy, "--proxy-user", creds, origin, NULL);
  expect_status(out, 200);
  free(out);
  free(creds);
  free(origin);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_curl_features),
      cmocka_unit_test(test_kdc_accessors),
      cmocka_unit_test(test_kdc_kinit),
      cmocka_unit_test(test_apache_public),
      cmocka_unit_test(test_apache_negotiate),
      cmocka_unit_test(test_apache_ntlm_in_negotiate),
      cmocka_unit_test(test_apache_ntlm_raw),
      cmocka_unit_test(test_apache_basic),
      cmocka_unit_test(test_apache_digest),
      cmocka_unit_test_teardown(test_apache_without_kdc, stop_local),
      cmocka_unit_test_teardown(test_squid, stop_local),
      cmocka_unit_test_teardown(test_squid_without_kdc, stop_local),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
