/* Authentication against real servers (issue 10 §4): a throwaway MIT
 * Kerberos realm (krb5kdc) and apache2 with mod_auth_gssapi for Negotiate,
 * gss-ntlmssp behind the same module for NTLM, mod_auth_basic and
 * mod_auth_digest; squid for Basic proxy authentication. Every peer is
 * started here on loopback (tests/support/peers.h); the realm's krb5.conf
 * and credential cache live in the KDC peer's directory, named to the
 * Kerberos library through KRB5_CONFIG and KRB5CCNAME in this process. */
#include "wh_test.h"
#include "peers.h"
#include "auth_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "net/conn.h"

static struct wh_peer kdc, apache, squid;

static int setup(void **state)
{
  (void)state;
  if (wh_peer_start_kdc(&kdc) != 0)
    return -1;
  setenv("KRB5_CONFIG", wh_peer_krb5_conf(&kdc), 1);
  setenv("KRB5CCNAME", wh_peer_ccache(&kdc), 1);
  if (wh_peer_kdc_kinit(&kdc) != 0 || wh_peer_start_apache(&apache, &kdc) != 0 ||
      wh_peer_start_squid(&squid, &kdc) != 0)
    return -1;
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&squid);
  wh_peer_stop(&apache);
  wh_peer_stop(&kdc);
  return 0;
}

static wchar_t *widen(const char *s)
{
  static wchar_t buf[4][128];
  static int next;
  wchar_t *w = buf[next++ % 4];
  swprintf(w, 128, L"%s", s);
  return w;
}

/* A custom response header as UTF-8 ("" when absent). */
static void header(HINTERNET r, const wchar_t *name, char *out, size_t cap)
{
  WCHAR v[256];
  DWORD len = sizeof(v);
  out[0] = '\0';
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM, name, v, &len, NULL))
    return;
  size_t n = 0;
  for (; v[n] && n + 1 < cap; n++)
    out[n] = v[n] < 0x80 ? (char)v[n] : '?'; /* the values here are ASCII */
  out[n] = '\0';
}

static void open_apache(struct wh_h3 *h, const wchar_t *path, DWORD session_flags)
{
  /* "localhost": the service principal is HTTP/localhost, and a host name
   * without a dot is the intranet for the default autologon policy. */
  wh_h3_open(h, L"localhost", wh_peer_port(&apache), path, session_flags, 0);
}

static void expect_user(HINTERNET r, const char *user, const char *type)
{
  char v[128];
  header(r, L"X-Remote-User", v, sizeof(v));
  assert_string_equal(v, user);
  header(r, L"X-Auth-Type", v, sizeof(v));
  assert_string_equal(v, type);
}

/* The user's own identity, the ticket cache kinit filled, asked for by
 * WinHttpSetCredentials with no user. */
static void test_negotiate_ticket_cache(void **state)
{
  (void)state;
  struct wh_h3 h;
  open_apache(&h, L"/negotiate/index.txt", 0);
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER,
                                    WINHTTP_AUTH_SCHEME_NEGOTIATE, NULL, NULL, NULL));
  char body[256];
  DWORD err;
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "OpenWinHTTP negotiate ok\n");
  char who[128];
  snprintf(who, sizeof(who), "%s@%s", wh_peer_user(&kdc, WH_AUTH_KERBEROS), wh_peer_realm(&kdc));
  expect_user(h.r, who, "Negotiate");
  WCHAR spn[64];
  DWORD len = sizeof(spn);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SERVER_SPN_USED, spn, &len));
  assert_true(wcscmp(spn, L"HTTP/localhost") == 0);
  wh_h3_close(&h);
}

/* No credentials set: the autologon policy decides. MEDIUM (the default)
 * lets the ticket cache answer a dot-less host; HIGH never does. */
static void test_negotiate_autologon_policy(void **state)
{
  (void)state;
  char body[256];
  DWORD err;
  struct wh_h3 h;
  open_apache(&h, L"/negotiate/index.txt", 0);
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  wh_h3_close(&h);

  open_apache(&h, L"/negotiate/index.txt", 0);
  DWORD high = WINHTTP_AUTOLOGON_SECURITY_LEVEL_HIGH;
  assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_AUTOLOGON_POLICY, &high, sizeof(high)));
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 401);
  DWORD supported = 0, first = 0, target = 99;
  assert_true(WinHttpQueryAuthSchemes(h.r, &supported, &first, &target));
  assert_int_equal(supported, WINHTTP_AUTH_SCHEME_NEGOTIATE);
  wh_h3_close(&h);
}

/* An explicit user and password obtain the ticket themselves: no ticket
 * cache needed (pointed at an empty one here). A wrong password is a
 * login failure when the application chose Negotiate. */
static void test_negotiate_password(void **state)
{
  (void)state;
  char empty[400];
  snprintf(empty, sizeof(empty), "FILE:%s/no-such-ccache", kdc.dir);
  setenv("KRB5CCNAME", empty, 1);
  char body[256];
  DWORD err;
  struct wh_h3 h;
  open_apache(&h, L"/negotiate/index.txt", 0);
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER,
                                    WINHTTP_AUTH_SCHEME_NEGOTIATE,
                                    widen(wh_peer_user(&kdc, WH_AUTH_KERBEROS)),
                                    widen(wh_peer_password(&kdc, WH_AUTH_KERBEROS)), NULL));
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  wh_h3_close(&h);

  /* The options, in Windows' DOMAIN\user form (the realm). */
  open_apache(&h, L"/negotiate/index.txt", 0);
  wchar_t user[128];
  swprintf(user, 128, L"%s\\%s", wh_peer_realm(&kdc), wh_peer_user(&kdc, WH_AUTH_KERBEROS));
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, user);
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, widen(wh_peer_password(&kdc, WH_AUTH_KERBEROS)));
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  wh_h3_close(&h);

  open_apache(&h, L"/negotiate/index.txt", 0);
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER,
                                    WINHTTP_AUTH_SCHEME_NEGOTIATE,
                                    widen(wh_peer_user(&kdc, WH_AUTH_KERBEROS)), L"wrong", NULL));
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 0);
  assert_int_equal(err, ERROR_WINHTTP_LOGIN_FAILURE);
  wh_h3_close(&h);
}

/* The realm's credential cache again (a test may have pointed it away). */
static int restore_ccache(void **state)
{
  (void)state;
  setenv("KRB5CCNAME", wh_peer_ccache(&kdc), 1);
  return 0;
}

/* An asynchronous GET of /negotiate/ sent and its response asked for:
 * the ticket cache answers the 401 (no credentials set). */
static void negotiate_async_start(struct wh_h3 *h, struct wh_async_wait *w)
{
  open_apache(h, L"/negotiate/index.txt", WINHTTP_FLAG_ASYNC);
  WinHttpSetStatusCallback(h->r, wh_async_wait_cb,
                           WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | WINHTTP_CALLBACK_FLAG_HANDLES,
                           0);
  assert_true(WinHttpSendRequest(h->r, NULL, 0, NULL, 0, 0, (DWORD_PTR)w));
  assert_int_equal(wh_async_wait_next(w), WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE);
  assert_true(WinHttpReceiveResponse(h->r, NULL));
}

/* Asynchronously, from the ticket cache. */
static void test_negotiate_async(void **state)
{
  (void)state;
  struct wh_async_wait w = WH_ASYNC_WAIT_INIT;
  struct wh_h3 h;
  negotiate_async_start(&h, &w);
  assert_int_equal(wh_async_wait_next(&w), WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE);
  DWORD status = 0, len = sizeof(status);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &status, &len, NULL));
  assert_int_equal(status, 200);
  wh_h3_close(&h);
  wh_async_wait_closed(&w);
}

/* A KDC that answers nobody: it accepts each connection and holds it until
 * released, as a KDC behind a dead route or an overloaded one does. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int listener;
  int accepted;  /* connections taken */
  bool released;
  pthread_t thread;
} mute = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void *mute_kdc(void *arg)
{
  (void)arg;
  int held[16], n = 0;
  for (;;) {
    int fd = accept(mute.listener, NULL, NULL);
    if (fd < 0)
      break; /* the listener was shut down */
    pthread_mutex_lock(&mute.lock);
    if (mute.released || n == 16) {
      pthread_mutex_unlock(&mute.lock);
      close(fd);
      continue;
    }
    held[n++] = fd;
    mute.accepted++;
    pthread_cond_broadcast(&mute.cond);
    pthread_mutex_unlock(&mute.lock);
  }
  while (n)
    close(held[--n]);
  return NULL;
}

static void mute_release(void)
{
  pthread_mutex_lock(&mute.lock);
  mute.released = true;
  pthread_mutex_unlock(&mute.lock);
  shutdown(mute.listener, SHUT_RDWR); /* ends the accept: the held ones close */
  pthread_join(mute.thread, NULL);
  close(mute.listener);
}

/* An asynchronous request whose Negotiate leg needs a service ticket from
 * a KDC that does not answer: the Kerberos library waits, on a worker
 * thread (core/gss_job.h), and requests on the loop threads go on
 * meanwhile. Once the KDC gives up, the 401 is the application's. */
/* Starts the mute KDC and points the Kerberos library at it, with a
 * ticket cache holding the TGT only: the next service ticket must be asked
 * for (earlier tests cached one). */
static void mute_start(void)
{
  assert_int_equal(wh_peer_kdc_kinit(&kdc), 0);
  mute.listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(mute.listener >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  assert_int_equal(bind(mute.listener, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(mute.listener, 16), 0);
  assert_int_equal(getsockname(mute.listener, (struct sockaddr *)&a, &al), 0);
  mute.accepted = 0;
  mute.released = false;
  assert_int_equal(pthread_create(&mute.thread, NULL, mute_kdc, NULL), 0);

  /* The realm's krb5.conf with the mute KDC in the real one's place. */
  FILE *f = fopen(wh_peer_krb5_conf(&kdc), "r");
  assert_non_null(f);
  char conf[4096], line[512], path[600];
  size_t n = 0;
  while (fgets(line, sizeof(line), f)) {
    if (strstr(line, "kdc = 127.0.0.1:"))
      snprintf(line, sizeof(line), "    kdc = 127.0.0.1:%u\n", (unsigned)ntohs(a.sin_port));
    n += (size_t)snprintf(conf + n, sizeof(conf) - n, "%s", line);
    assert_true(n < sizeof(conf));
  }
  fclose(f);
  snprintf(path, sizeof(path), "%s/mute-krb5.conf", wh_peer_dir(&kdc));
  f = fopen(path, "w");
  assert_non_null(f);
  assert_true(fputs(conf, f) >= 0);
  assert_int_equal(fclose(f), 0);
  setenv("KRB5_CONFIG", path, 1);
}

/* Releases the mute KDC and gives the real one back, with a fresh TGT. */
static void mute_stop(void)
{
  mute_release();
  setenv("KRB5_CONFIG", wh_peer_krb5_conf(&kdc), 1);
  assert_int_equal(wh_peer_kdc_kinit(&kdc), 0);
}

/* The mute KDC started and a Negotiate request sent to /negotiate/:
 * whether the Kerberos library then went to the KDC for its ticket (the
 * 401 came and the request is answering it). */
static bool negotiate_waiting_on_kdc(struct wh_h3 *h, struct wh_async_wait *w)
{
  mute_start();
  negotiate_async_start(h, w);
  return wh_wait_count(&mute.lock, &mute.cond, &mute.accepted, 1, 20000) >= 1;
}

static void test_negotiate_async_slow_kdc(void **state)
{
  (void)state;
  struct wh_async_wait w = WH_ASYNC_WAIT_INIT;
  struct wh_h3 h;
  bool waiting = negotiate_waiting_on_kdc(&h, &w);

  /* Meanwhile, plain requests on the same session and origin. */
  enum { PLAIN = 8 };
  HINTERNET pr[PLAIN];
  /* Static: a request still pending when closed may call back later. */
  static struct wh_async_count plain = WH_ASYNC_COUNT_INIT;
  for (int i = 0; i < PLAIN && waiting; i++) {
    pr[i] = WinHttpOpenRequest(h.c, L"GET", L"/index.txt", NULL, NULL, NULL, 0);
    assert_non_null(pr[i]);
    WinHttpSetStatusCallback(pr[i], wh_async_count_cb, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
    assert_true(WinHttpSendRequest(pr[i], NULL, 0, NULL, 0, 0, (DWORD_PTR)&plain));
  }
  int done = waiting ? wh_wait_count(&plain.lock, &plain.cond, &plain.done, PLAIN, 10000) : 0;
  pthread_mutex_lock(&plain.lock);
  int ok = plain.ok;
  pthread_mutex_unlock(&plain.lock);
  /* The Negotiate request is still waiting on the KDC: the plain ones did
   * not wait for it. */
  pthread_mutex_lock(&w.lock);
  bool held = w.last == 0;
  pthread_mutex_unlock(&w.lock);
  mute_stop();
  if (waiting) {
    wh_wait_count(&plain.lock, &plain.cond, &plain.done, PLAIN, 30000);
    for (int i = 0; i < PLAIN; i++)
      WinHttpCloseHandle(pr[i]);
  }
  /* No ticket: Negotiate cannot start, so the refusal stands. */
  assert_int_equal(wh_async_wait_next(&w), WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE);
  DWORD status = 0, len = sizeof(status);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &status, &len, NULL));
  wh_h3_close(&h);
  wh_async_wait_closed(&w);
  assert_true(waiting);
  assert_true(held);
  assert_int_equal(done, PLAIN);
  assert_int_equal(ok, PLAIN);
  assert_int_equal(status, 401);
}

/* Closing the request while its Negotiate leg waits on the KDC: the close
 * completes at once (C6), and the worker's result is freed when the
 * Kerberos library returns (ASan checks nothing leaks). */
static void test_negotiate_async_close_waiting_kdc(void **state)
{
  (void)state;
  struct wh_async_wait w = WH_ASYNC_WAIT_INIT;
  struct wh_h3 h;
  bool waiting = negotiate_waiting_on_kdc(&h, &w);
  assert_true(WinHttpCloseHandle(h.r));
  /* HANDLE_CLOSING comes while the KDC still holds the connection (it is
   * released only after). */
  bool prompt = wh_async_wait_closed_within(&w, 10000);
  mute_stop();
  if (!prompt)
    wh_async_wait_closed(&w);
  WinHttpCloseHandle(h.c);
  WinHttpCloseHandle(h.s);
  assert_true(waiting);
  assert_true(prompt);
}

/* Proxy credentials set before the send (Negotiate, the ticket cache) on an
 * asynchronous https:// request through squid: the CONNECT's first leg is
 * made on a worker thread too, so a plain request goes on meanwhile; once
 * the KDC gives up, the scheme the application chose has failed. */
static void test_negotiate_async_tunnel_slow_kdc(void **state)
{
  (void)state;
  struct wh_peer tls;
  memset(&tls, 0, sizeof(tls));
  assert_int_equal(wh_peer_start_fault_tls(&tls, WH_CERT_GOOD), 0);
  mute_start();
  wchar_t proxy[64];
  swprintf(proxy, 64, L"localhost:%u", (unsigned)wh_peer_port(&squid));
  HINTERNET s = WinHttpOpen(L"auth-test", WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy, L"<-loopback>",
                            WINHTTP_FLAG_ASYNC);
  assert_non_null(s);
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", wh_peer_cert_port(&tls, WH_CERT_GOOD), 0);
  assert_non_null(c);
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/ok", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(r);
  DWORD ignore = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &ignore, sizeof(ignore)));
  assert_true(WinHttpSetCredentials(r, WINHTTP_AUTH_TARGET_PROXY, WINHTTP_AUTH_SCHEME_NEGOTIATE,
                                    NULL, NULL, NULL));
  struct wh_async_wait w = WH_ASYNC_WAIT_INIT;
  WinHttpSetStatusCallback(r, wh_async_wait_cb,
                           WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | WINHTTP_CALLBACK_FLAG_HANDLES,
                           0);
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, (DWORD_PTR)&w));
  bool waiting = wh_wait_count(&mute.lock, &mute.cond, &mute.accepted, 1, 20000) >= 1;

  /* Meanwhile plain asynchronous requests, straight to apache. */
  enum { PLAIN = 8 };
  static struct wh_async_count plain = WH_ASYNC_COUNT_INIT;
  struct wh_h3 h;
  open_apache(&h, L"/index.txt", WINHTTP_FLAG_ASYNC);
  HINTERNET pr[PLAIN];
  for (int i = 0; i < PLAIN; i++) {
    pr[i] = i ? WinHttpOpenRequest(h.c, L"GET", L"/index.txt", NULL, NULL, NULL, 0) : h.r;
    assert_non_null(pr[i]);
    WinHttpSetStatusCallback(pr[i], wh_async_count_cb, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
    assert_true(WinHttpSendRequest(pr[i], NULL, 0, NULL, 0, 0, (DWORD_PTR)&plain));
  }
  int done = wh_wait_count(&plain.lock, &plain.cond, &plain.done, PLAIN, 10000);
  pthread_mutex_lock(&w.lock);
  bool held = w.last == 0;
  pthread_mutex_unlock(&w.lock);
  mute_stop();
  wh_wait_count(&plain.lock, &plain.cond, &plain.done, PLAIN, 30000);
  for (int i = 1; i < PLAIN; i++)
    WinHttpCloseHandle(pr[i]);
  wh_h3_close(&h);
  /* The KDC gone: the send fails, the application's scheme refused. */
  assert_int_equal(wh_async_wait_next(&w), WINHTTP_CALLBACK_STATUS_REQUEST_ERROR);
  DWORD err = w.error;
  WinHttpCloseHandle(r);
  wh_async_wait_closed(&w);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  wh_pool_clear();
  wh_peer_stop(&tls);
  assert_true(waiting);
  assert_true(held);
  assert_int_equal(done, PLAIN);
  pthread_mutex_lock(&plain.lock);
  int ok = plain.ok;
  pthread_mutex_unlock(&plain.lock);
  assert_int_equal(ok, PLAIN);
  assert_int_equal(err, ERROR_WINHTTP_LOGIN_FAILURE);
}

/* NTLM checked by a real server (gss-ntlmssp behind apache), which offers
 * Negotiate and NTLM: Kerberos knows no realm WINHTTP, so NTLM answers. */
static void test_ntlm_apache(void **state)
{
  (void)state;
  wchar_t user[128];
  swprintf(user, 128, L"%s\\%s", wh_peer_auth_domain(&apache, WH_AUTH_NTLM),
           wh_peer_user(&apache, WH_AUTH_NTLM));
  const wchar_t *pass = widen(wh_peer_password(&apache, WH_AUTH_NTLM));
  char body[256], who[128];
  DWORD err;
  snprintf(who, sizeof(who), "%s\\%s", wh_peer_auth_domain(&apache, WH_AUTH_NTLM),
           wh_peer_user(&apache, WH_AUTH_NTLM));
  struct wh_h3 h;
  open_apache(&h, L"/ntlm/index.txt", 0);
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_NTLM,
                                    user, pass, NULL));
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "OpenWinHTTP ntlm ok\n");
  expect_user(h.r, who, "NTLM");
  wh_h3_close(&h);

  open_apache(&h, L"/ntlm/index.txt", 0);
  wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, user);
  wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, pass);
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
  wh_h3_close(&h);

  open_apache(&h, L"/ntlm/index.txt", 0);
  assert_true(WinHttpSetCredentials(h.r, WINHTTP_AUTH_TARGET_SERVER, WINHTTP_AUTH_SCHEME_NTLM,
                                    user, L"wrong", NULL));
  assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 401);
  wh_h3_close(&h);
}

/* Basic and Digest checked by apache's own modules. */
static void test_basic_digest_apache(void **state)
{
  (void)state;
  static const struct {
    const wchar_t *path;
    enum wh_peer_auth kind;
    const char *type;
  } cases[] = {{L"/basic/index.txt", WH_AUTH_BASIC, "Basic"},
               {L"/digest/index.txt", WH_AUTH_DIGEST, "Digest"}};
  for (size_t i = 0; i < 2; i++) {
    struct wh_h3 h;
    open_apache(&h, cases[i].path, 0);
    wh_h3_set_str(h.r, WINHTTP_OPTION_USERNAME, widen(wh_peer_user(&apache, cases[i].kind)));
    wh_h3_set_str(h.r, WINHTTP_OPTION_PASSWORD, widen(wh_peer_password(&apache, cases[i].kind)));
    char body[256];
    DWORD err;
    assert_int_equal(wh_h3_run(h.r, body, sizeof(body), &err), 200);
    expect_user(h.r, wh_peer_user(&apache, cases[i].kind), cases[i].type);
    wh_h3_close(&h);
  }
}

/* squid wants proxy credentials (it offers Negotiate, then Basic; the
 * proxy is named by its address, so Kerberos has no service principal for
 * it and Basic answers): for http:// (absolute form) and for https:// (the
 * CONNECT), answered from the proxy options. */
static void test_squid_basic(void **state)
{
  (void)state;
  wchar_t proxy[64];
  swprintf(proxy, 64, L"127.0.0.1:%u", (unsigned)wh_peer_port(&squid));
  HINTERNET s = WinHttpOpen(L"auth-test", WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy, L"<-loopback>", 0);
  assert_non_null(s);
  HINTERNET c = WinHttpConnect(s, L"localhost", wh_peer_port(&apache), 0);
  assert_non_null(c);
  char body[256];
  DWORD err;
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/index.txt", NULL, NULL, NULL, 0);
  assert_int_equal(wh_h3_run(r, body, sizeof(body), &err), 407);
  WinHttpCloseHandle(r);
  r = WinHttpOpenRequest(c, L"GET", L"/index.txt", NULL, NULL, NULL, 0);
  wh_h3_set_str(r, WINHTTP_OPTION_PROXY_USERNAME, widen(wh_peer_user(&squid, WH_AUTH_BASIC)));
  wh_h3_set_str(r, WINHTTP_OPTION_PROXY_PASSWORD, widen(wh_peer_password(&squid, WH_AUTH_BASIC)));
  assert_int_equal(wh_h3_run(r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "OpenWinHTTP public ok\n");
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);

  /* https:// through squid's CONNECT tunnel: a 407 to the CONNECT, then
   * the credentials on the next CONNECT, then TLS with the origin. */
  struct wh_peer origin = {0};
  assert_int_equal(wh_peer_start_fault_tls(&origin, WH_CERT_GOOD), 0);
  c = WinHttpConnect(s, L"127.0.0.1", wh_peer_port(&origin), 0);
  assert_non_null(c);
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  r = WinHttpOpenRequest(c, L"GET", L"/ok?n=5", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags)));
  assert_int_equal(wh_h3_run(r, body, sizeof(body), &err), 407);
  BOOL is_proxy = FALSE;
  DWORD len = sizeof(is_proxy);
  assert_true(WinHttpQueryOption(r, WINHTTP_OPTION_IS_PROXY_CONNECT_RESPONSE, &is_proxy, &len));
  assert_true(is_proxy);
  WinHttpCloseHandle(r);
  r = WinHttpOpenRequest(c, L"GET", L"/ok?n=5", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof(flags)));
  wh_h3_set_str(r, WINHTTP_OPTION_PROXY_USERNAME, widen(wh_peer_user(&squid, WH_AUTH_BASIC)));
  wh_h3_set_str(r, WINHTTP_OPTION_PROXY_PASSWORD, widen(wh_peer_password(&squid, WH_AUTH_BASIC)));
  assert_int_equal(wh_h3_run(r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "abcde");
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  wh_pool_clear();
  wh_peer_stop(&origin);
}

/* squid offers Negotiate first: the ticket cache answers it for a proxy
 * named localhost (proxies get the default credentials under the default
 * autologon policy), for http:// and for a tunnel's CONNECT. */
static void test_squid_negotiate(void **state)
{
  (void)state;
  wchar_t proxy[64];
  swprintf(proxy, 64, L"localhost:%u", (unsigned)wh_peer_port(&squid));
  HINTERNET s = WinHttpOpen(L"auth-test", WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy, L"<-loopback>", 0);
  assert_non_null(s);
  HINTERNET c = WinHttpConnect(s, L"localhost", wh_peer_port(&apache), 0);
  assert_non_null(c);
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/index.txt", NULL, NULL, NULL, 0);
  char body[256], v[128], who[128];
  DWORD err;
  assert_int_equal(wh_h3_run(r, body, sizeof(body), &err), 200);
  assert_string_equal(body, "OpenWinHTTP public ok\n");
  snprintf(who, sizeof(who), "%s@%s", wh_peer_user(&kdc, WH_AUTH_KERBEROS), wh_peer_realm(&kdc));
  header(r, L"X-Proxy-User", v, sizeof(v));
  assert_string_equal(v, who);
  WCHAR spn[64];
  DWORD len = sizeof(spn);
  assert_true(WinHttpQueryOption(r, WINHTTP_OPTION_PROXY_SPN_USED, spn, &len));
  assert_true(wcscmp(spn, L"HTTP/localhost") == 0);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_negotiate_ticket_cache),
      cmocka_unit_test(test_negotiate_autologon_policy),
      cmocka_unit_test_teardown(test_negotiate_password, restore_ccache),
      cmocka_unit_test(test_negotiate_async),
      cmocka_unit_test(test_negotiate_async_slow_kdc),
      cmocka_unit_test(test_negotiate_async_close_waiting_kdc),
      cmocka_unit_test(test_negotiate_async_tunnel_slow_kdc),
      cmocka_unit_test(test_ntlm_apache),
      cmocka_unit_test(test_basic_digest_apache),
      cmocka_unit_test(test_squid_basic),
      cmocka_unit_test(test_squid_negotiate),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
