/* The synchronous engine over TLS against nginx, one HTTPS port per test
 * certificate (tests/peers/gen-certs.sh): the good certificate passes once
 * the test CA is trusted (SSL_CERT_FILE); each bad one fails with
 * ERROR_WINHTTP_SECURE_FAILURE after a SECURE_FAILURE notification carrying
 * exactly its reason flag; the matching SECURITY_FLAG_IGNORE_* bit lets it
 * through and the others do not; the server certificate comes back as a
 * CERT_CONTEXT holding its DER; SECURE_PROTOCOLS restrictions apply.
 * Against the fault server over TLS: a close-delimited body ends at
 * close_notify, and a bare TCP close (a possible truncation) fails the read
 * like a cut Content-Length or chunked body.
 *
 * One nginx with TLS and one TLS fault server for the whole file (group
 * setup); the fault server's CA is not the trusted one, so its requests
 * ignore unknown-CA errors. The keep-alive pool is process-wide and keyed
 * by the ignore flags; each test empties it. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

static struct wh_peer nginx;
static struct wh_peer fault_tls;
static struct wh_rec rec;

/* The reason flags of the last SECURE_FAILURE notification. */
static pthread_mutex_t sf_lock = PTHREAD_MUTEX_INITIALIZER;
static DWORD sf_flags;
static DWORD sf_len;
static unsigned sf_count;

static void CALLBACK callback(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  if (status == WINHTTP_CALLBACK_STATUS_SECURE_FAILURE) {
    pthread_mutex_lock(&sf_lock);
    sf_len = len;
    sf_flags = info && len >= sizeof(DWORD) ? *(DWORD *)info : 0xFFFFFFFFu;
    sf_count++;
    pthread_mutex_unlock(&sf_lock);
  }
  wh_rec_callback(h, ctx, status, info, len);
}

static void reset(void)
{
  wh_pool_clear();
  pthread_mutex_lock(&rec.lock);
  rec.n = 0;
  pthread_mutex_unlock(&rec.lock);
  pthread_mutex_lock(&sf_lock);
  sf_flags = 0;
  sf_len = 0;
  sf_count = 0;
  pthread_mutex_unlock(&sf_lock);
}

struct h3 {
  HINTERNET s, c, r;
};

static void open3(struct h3 *h, const wchar_t *host, enum wh_peer_cert cert, const wchar_t *path)
{
  h->s = WinHttpOpen(L"sync-tls", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(h->s);
  WinHttpSetStatusCallback(h->s, callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  h->c = WinHttpConnect(h->s, host, wh_peer_cert_port(&nginx, cert), 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, NULL, path, NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(h->r);
}

static void close3(struct h3 *h)
{
  assert_true(WinHttpCloseHandle(h->r));
  assert_true(WinHttpCloseHandle(h->c));
  assert_true(WinHttpCloseHandle(h->s));
}

static int is_pattern(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + i % 26))
      return 0;
  return 1;
}

/* Receives and reads the body of a sent request; checks the pattern. */
static void finish_ok(HINTERNET r, size_t want)
{
  assert_true(WinHttpReceiveResponse(r, NULL));
  DWORD status = 0, size = sizeof(status);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &status, &size, NULL));
  assert_int_equal(status, 200);
  char *body = malloc(want + 1);
  assert_non_null(body);
  size_t n = 0;
  for (;;) {
    DWORD got = 0;
    assert_true(WinHttpReadData(r, body + n, (DWORD)(want + 1 - n), &got));
    if (got == 0)
      break;
    n += got;
    assert_true(n <= want);
  }
  assert_int_equal(n, want);
  assert_true(is_pattern(body, n));
  free(body);
}

/* GET over |cert|'s port with |ignore| security flags (0: none set). */
static void get_ok(const wchar_t *host, enum wh_peer_cert cert, DWORD ignore)
{
  reset();
  struct h3 h;
  open3(&h, host, cert, L"/100.bin");
  if (ignore)
    assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_SECURITY_FLAGS, &ignore, sizeof(ignore)));
  if (!WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0))
    print_error("SendRequest failed: %lu (flags 0x%lx)\n", (unsigned long)GetLastError(),
                (unsigned long)sf_flags);
  assert_int_equal(sf_count, 0);
  finish_ok(h.r, 100);
  close3(&h);
}

/* GET over |cert|'s port fails in SendRequest with SECURE_FAILURE after one
 * SECURE_FAILURE notification whose flags are exactly |flags|. */
static void get_fails(const wchar_t *host, enum wh_peer_cert cert, DWORD ignore, DWORD flags)
{
  reset();
  struct h3 h;
  open3(&h, host, cert, L"/100.bin");
  if (ignore)
    assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_SECURITY_FLAGS, &ignore, sizeof(ignore)));
  assert_false(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_last_error(ERROR_WINHTTP_SECURE_FAILURE);
  assert_int_equal(sf_count, 1);
  assert_int_equal(sf_len, sizeof(DWORD));
  if (sf_flags != flags)
    print_error("SECURE_FAILURE flags: expected 0x%lx, got 0x%lx\n", (unsigned long)flags,
                (unsigned long)sf_flags);
  assert_int_equal(sf_flags, flags);
  /* The notification went to the request, and nothing was sent. */
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_SECURE_FAILURE), 1);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_SENDING_REQUEST), 0);
  /* The request failed: receiving is out of state. */
  assert_false(WinHttpReceiveResponse(h.r, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  close3(&h);
}

/* --- the good certificate ---------------------------------------------------------------- */

static void test_good(void **state)
{
  (void)state;
  get_ok(L"localhost", WH_CERT_GOOD, 0);
  get_ok(L"127.0.0.1", WH_CERT_GOOD, 0);
}

static void test_good_large_and_reuse(void **state)
{
  (void)state;
  reset();
  struct h3 h;
  open3(&h, L"localhost", WH_CERT_GOOD, L"/1m.bin");
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  finish_ok(h.r, 1024 * 1024);
  assert_true(WinHttpCloseHandle(h.r));
  /* The TLS connection is reused: no new connect, no new handshake. */
  pthread_mutex_lock(&rec.lock);
  rec.n = 0;
  pthread_mutex_unlock(&rec.lock);
  h.r = WinHttpOpenRequest(h.c, NULL, L"/100.bin", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER), 0);
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_SENDING_REQUEST), 1);
  finish_ok(h.r, 100);
  close3(&h);
}

/* A new connection to a server seen before resumes its TLS session (the
 * ticket nginx sent): nginx reports $ssl_session_reused. Keep-alive is off
 * so that each request makes its own connection. */
static void test_session_resumed(void **state)
{
  (void)state;
  WCHAR reused[2][8];
  for (int i = 0; i < 2; i++) {
    struct h3 h;
    open3(&h, L"localhost", WH_CERT_GOOD, L"/whoami");
    DWORD off = WINHTTP_DISABLE_KEEP_ALIVE;
    assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_DISABLE_FEATURE, &off, sizeof(off)));
    assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
    assert_true(WinHttpReceiveResponse(h.r, NULL));
    DWORD len = sizeof(reused[i]);
    assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CUSTOM, L"X-Session-Reused", reused[i],
                                    &len, NULL));
    close3(&h);
  }
  assert_true(wcscmp(reused[1], L"r") == 0);
}

static void test_url_and_bitness(void **state)
{
  (void)state;
  reset();
  struct h3 h;
  open3(&h, L"localhost", WH_CERT_GOOD, L"/100.bin");
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  wchar_t want[80];
  swprintf(want, 80, L"https://localhost:%u/100.bin", wh_peer_cert_port(&nginx, WH_CERT_GOOD));
  WCHAR url[80];
  DWORD size = sizeof(url);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_URL, url, &size));
  assert_true(wcscmp(url, want) == 0);
  DWORD bits = 0;
  size = sizeof(bits);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SECURITY_KEY_BITNESS, &bits, &size));
  assert_true(bits >= 128);
  finish_ok(h.r, 100);
  close3(&h);
}

/* WINHTTP_OPTION_SECURITY_CERTIFICATE_STRUCT (Wine's test_secure_connection):
 * the subject and issuer names, the validity dates, the key size; the
 * strings are the caller's to LocalFree. Before a send: a state error. */
static void test_certificate_struct(void **state)
{
  (void)state;
  reset();
  struct h3 h;
  open3(&h, L"localhost", WH_CERT_GOOD, L"/100.bin");
  WINHTTP_CERTIFICATE_INFO info;
  DWORD size = sizeof(info);
  SetLastError(0xdeadbeef);
  assert_false(WinHttpQueryOption(h.r, WINHTTP_OPTION_SECURITY_CERTIFICATE_STRUCT, &info, &size));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  DWORD flags = 0, fsize = sizeof(flags);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, &fsize));
  assert_int_equal(flags, 0);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  /* once secure: SECURE and the strength bits (Microsoft: query only) */
  fsize = sizeof(flags);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SECURITY_FLAGS, &flags, &fsize));
  assert_int_equal(flags, SECURITY_FLAG_SECURE | SECURITY_FLAG_STRENGTH_STRONG);
  size = 0;
  assert_false(WinHttpQueryOption(h.r, WINHTTP_OPTION_SECURITY_CERTIFICATE_STRUCT, NULL, &size));
  assert_last_error(ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(size, sizeof(info));
  memset(&info, 0, sizeof(info));
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SECURITY_CERTIFICATE_STRUCT, &info, &size));
  assert_int_equal(size, sizeof(info));
  assert_non_null(info.lpszSubjectInfo);
  assert_non_null(info.lpszIssuerInfo);
  assert_true(wcscmp(info.lpszSubjectInfo, L"localhost") == 0);
  assert_true(wcscmp(info.lpszIssuerInfo, L"OpenWinHTTP Test CA") == 0);
  assert_true(info.dwKeySize >= 128);
  /* not before < not after, both after 2020 (FILETIME: 100 ns since 1601) */
  uint64_t start = ((uint64_t)info.ftStart.dwHighDateTime << 32) | info.ftStart.dwLowDateTime;
  uint64_t expiry = ((uint64_t)info.ftExpiry.dwHighDateTime << 32) | info.ftExpiry.dwLowDateTime;
  assert_true(start > 132223104000000000ull); /* 2020-01-01 */
  assert_true(expiry > start);
  LocalFree(info.lpszSubjectInfo);
  LocalFree(info.lpszIssuerInfo);
  finish_ok(h.r, 100);
  close3(&h);
}

/* --- bad certificates ---------------------------------------------------------------------- */

static void test_expired(void **state)
{
  (void)state;
  get_fails(L"localhost", WH_CERT_EXPIRED, 0, WINHTTP_CALLBACK_STATUS_FLAG_CERT_DATE_INVALID);
}

static void test_wrong_host(void **state)
{
  (void)state;
  get_fails(L"localhost", WH_CERT_WRONG_HOST, 0, WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID);
}

static void test_self_signed(void **state)
{
  (void)state;
  get_fails(L"localhost", WH_CERT_SELF_SIGNED, 0, WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CA);
}

static void test_unknown_ca(void **state)
{
  (void)state;
  get_fails(L"localhost", WH_CERT_UNKNOWN_CA, 0, WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CA);
}

static void test_ip_literal_name_check(void **state)
{
  (void)state;
  /* The wrong-host certificate names only wrong.example, not 127.0.0.1. */
  get_fails(L"127.0.0.1", WH_CERT_WRONG_HOST, 0, WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID);
}

/* --- ignore flags ----------------------------------------------------------------------------- */

static void test_ignore_date(void **state)
{
  (void)state;
  get_ok(L"localhost", WH_CERT_EXPIRED, SECURITY_FLAG_IGNORE_CERT_DATE_INVALID);
  /* Another flag does not help. */
  get_fails(L"localhost", WH_CERT_EXPIRED, SECURITY_FLAG_IGNORE_CERT_CN_INVALID | SECURITY_FLAG_IGNORE_UNKNOWN_CA,
            WINHTTP_CALLBACK_STATUS_FLAG_CERT_DATE_INVALID);
}

static void test_ignore_cn(void **state)
{
  (void)state;
  get_ok(L"localhost", WH_CERT_WRONG_HOST, SECURITY_FLAG_IGNORE_CERT_CN_INVALID);
  get_fails(L"localhost", WH_CERT_WRONG_HOST, SECURITY_FLAG_IGNORE_CERT_DATE_INVALID,
            WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID);
}

static void test_ignore_unknown_ca(void **state)
{
  (void)state;
  get_ok(L"localhost", WH_CERT_SELF_SIGNED, SECURITY_FLAG_IGNORE_UNKNOWN_CA);
  get_ok(L"localhost", WH_CERT_UNKNOWN_CA, SECURITY_FLAG_IGNORE_UNKNOWN_CA);
  get_fails(L"localhost", WH_CERT_UNKNOWN_CA, SECURITY_FLAG_IGNORE_CERT_DATE_INVALID,
            WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CA);
}

static void test_ignore_all(void **state)
{
  (void)state;
  for (int c = 0; c < WH_CERT_COUNT; c++)
    get_ok(L"localhost", (enum wh_peer_cert)c, SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS);
}

static void test_ignored_connection_not_shared(void **state)
{
  (void)state;
  /* A connection accepted under an ignore flag is not handed to a request
   * that does not ignore: that one still fails. */
  get_ok(L"localhost", WH_CERT_EXPIRED, SECURITY_FLAG_IGNORE_CERT_DATE_INVALID);
  pthread_mutex_lock(&sf_lock);
  sf_count = 0;
  pthread_mutex_unlock(&sf_lock);
  struct h3 h;
  open3(&h, L"localhost", WH_CERT_EXPIRED, L"/100.bin");
  assert_false(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_last_error(ERROR_WINHTTP_SECURE_FAILURE);
  assert_int_equal(sf_count, 1);
  close3(&h);
}

static void set_revocation(HINTERNET h)
{
  DWORD f = WINHTTP_ENABLE_SSL_REVOCATION;
  assert_true(WinHttpSetOption(h, WINHTTP_OPTION_ENABLE_FEATURE, &f, sizeof(f)));
}

static void test_revocation_check_not_silently_skipped(void **state)
{
  (void)state;
  /* No CRL or OCSP fetching yet: a request that asks for the revocation
   * check fails with CERT_REV_FAILED (Windows' answer when the check cannot
   * be made), even on a good certificate and with a verified connection to
   * the same server in the pool. */
  get_ok(L"localhost", WH_CERT_GOOD, 0); /* leaves a verified connection pooled */
  pthread_mutex_lock(&sf_lock);
  sf_count = 0;
  pthread_mutex_unlock(&sf_lock);
  struct h3 h;
  open3(&h, L"localhost", WH_CERT_GOOD, L"/100.bin");
  set_revocation(h.r);
  assert_false(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_last_error(ERROR_WINHTTP_SECURE_FAILURE);
  assert_int_equal(sf_count, 1);
  assert_int_equal(sf_flags, WINHTTP_CALLBACK_STATUS_FLAG_CERT_REV_FAILED);
  close3(&h);
  /* Ignoring every certificate error ignores this one too. */
  reset();
  open3(&h, L"localhost", WH_CERT_GOOD, L"/100.bin");
  set_revocation(h.r);
  DWORD ignore = SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS;
  assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_SECURITY_FLAGS, &ignore, sizeof(ignore)));
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  finish_ok(h.r, 100);
  close3(&h);
}

/* --- the server certificate -------------------------------------------------------------------- */

static void test_server_cert_context(void **state)
{
  (void)state;
  reset();
  struct h3 h;
  open3(&h, L"localhost", WH_CERT_GOOD, L"/100.bin");
  PCCERT_CONTEXT cert = NULL;
  DWORD size = sizeof(cert);
  /* Before the connection exists. */
  assert_false(WinHttpQueryOption(h.r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  size = sizeof(cert) - 1;
  assert_false(WinHttpQueryOption(h.r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size));
  assert_last_error(ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(size, sizeof(cert));
  size = sizeof(cert);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size));
  assert_int_equal(size, sizeof(cert));
  assert_non_null(cert);
  assert_non_null(cert->pbCertEncoded);
  assert_true(cert->cbCertEncoded > 100);
  const unsigned char *p = cert->pbCertEncoded;
  X509 *x = d2i_X509(NULL, &p, (long)cert->cbCertEncoded);
  assert_non_null(x);
  assert_ptr_equal(p, cert->pbCertEncoded + cert->cbCertEncoded); /* the whole DER */
  /* It is the leaf for localhost. */
  assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
  X509_free(x);
  /* Each query hands out its own reference. */
  PCCERT_CONTEXT again = NULL;
  size = sizeof(again);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &again, &size));
  assert_int_equal(again->cbCertEncoded, cert->cbCertEncoded);
  assert_memory_equal(again->pbCertEncoded, cert->pbCertEncoded, cert->cbCertEncoded);
  assert_true(CertFreeCertificateContext(again));
  finish_ok(h.r, 100);
  close3(&h);
  /* The context outlives the request. */
  p = cert->pbCertEncoded;
  x = d2i_X509(NULL, &p, (long)cert->cbCertEncoded);
  assert_non_null(x);
  X509_free(x);
  assert_true(CertFreeCertificateContext(cert));
}

static void test_server_cert_context_ignored_failure(void **state)
{
  (void)state;
  /* The certificate of a connection accepted despite its expiry. */
  reset();
  struct h3 h;
  open3(&h, L"localhost", WH_CERT_EXPIRED, L"/100.bin");
  DWORD ignore = SECURITY_FLAG_IGNORE_CERT_DATE_INVALID;
  assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_SECURITY_FLAGS, &ignore, sizeof(ignore)));
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  PCCERT_CONTEXT cert = NULL;
  DWORD size = sizeof(cert);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size));
  const unsigned char *p = cert->pbCertEncoded;
  X509 *x = d2i_X509(NULL, &p, (long)cert->cbCertEncoded);
  assert_non_null(x);
  assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) < 0); /* expired */
  X509_free(x);
  assert_true(CertFreeCertificateContext(cert));
  finish_ok(h.r, 100);
  close3(&h);
}

/* --- protocols ------------------------------------------------------------------------------------- */

static void get_with_protocols(DWORD protocols)
{
  reset();
  struct h3 h;
  h.s = WinHttpOpen(L"sync-tls", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(h.s);
  assert_true(WinHttpSetOption(h.s, WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols, sizeof(protocols)));
  WinHttpSetStatusCallback(h.s, callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  h.c = WinHttpConnect(h.s, L"localhost", wh_peer_cert_port(&nginx, WH_CERT_GOOD), 0);
  h.r = WinHttpOpenRequest(h.c, NULL, L"/100.bin", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(h.r);
  if (!WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0))
    print_error("protocols 0x%lx: error %lu\n", (unsigned long)protocols, (unsigned long)GetLastError());
  finish_ok(h.r, 100);
  close3(&h);
}

static void test_secure_protocols(void **state)
{
  (void)state;
  get_with_protocols(WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3);
  get_with_protocols(WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2);
  get_with_protocols(WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2 | WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3);
}

/* --- truncation: bodies cut by the server's close (fault server) -------------------------- */

/* GETs |path| from the TLS fault server and reads the whole body 700 bytes
 * at a time (after WinHttpQueryDataAvailable when |query| is set). Returns
 * ERROR_SUCCESS at the end of the body or the error of the failing call;
 * *got counts the bytes read, all of which must follow the pattern. */
static DWORD fault_get(const wchar_t *path, int query, size_t *got)
{
  reset();
  HINTERNET s = WinHttpOpen(L"sync-tls", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(s);
  HINTERNET c = WinHttpConnect(s, L"localhost", wh_peer_port(&fault_tls), 0);
  assert_non_null(c);
  HINTERNET r = WinHttpOpenRequest(c, NULL, path, NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(r);
  DWORD ignore = SECURITY_FLAG_IGNORE_UNKNOWN_CA;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &ignore, sizeof(ignore)));
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(r, NULL));
  static char body[65536];
  size_t n = 0;
  DWORD err = ERROR_SUCCESS;
  for (;;) {
    DWORD avail = 0, read = 0;
    if (query && !WinHttpQueryDataAvailable(r, &avail)) {
      err = GetLastError();
      break;
    }
    if (!WinHttpReadData(r, body + n, 700, &read)) {
      err = GetLastError();
      break;
    }
    if (read == 0)
      break;
    n += read;
    assert_true(n + 700 <= sizeof(body));
  }
  assert_true(is_pattern(body, n));
  *got = n;
  assert_true(WinHttpCloseHandle(r));
  assert_true(WinHttpCloseHandle(c));
  assert_true(WinHttpCloseHandle(s));
  return err;
}

/* close_notify, then the close: the body is complete. */
static void test_close_delimited_clean(void **state)
{
  (void)state;
  for (int query = 0; query < 2; query++) {
    size_t got = 0;
    assert_int_equal(fault_get(L"/close?n=20000", query, &got), ERROR_SUCCESS);
    assert_int_equal(got, 20000);
  }
}

/* A bare TCP close where close_notify should be: every byte that arrived
 * is handed out, then the read fails instead of reporting the end. */
static void test_close_delimited_truncated(void **state)
{
  (void)state;
  for (int query = 0; query < 2; query++) {
    size_t got = 0;
    assert_int_equal(fault_get(L"/close-abort?n=3000", query, &got),
                     ERROR_WINHTTP_CONNECTION_ERROR);
    assert_int_equal(got, 3000);
  }
}

/* A Content-Length or chunked body cut short fails the same way, whether
 * the close carries close_notify or not. */
static void test_framed_truncated(void **state)
{
  (void)state;
  static const struct {
    const wchar_t *path;
    size_t got;
  } cases[] = {
      {L"/trunc-cl?n=1000", 500},
      {L"/trunc-cl?n=1000&bare=1", 500},
      {L"/trunc-chunked", 50},
      {L"/trunc-chunked?bare=1", 50},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    for (int query = 0; query < 2; query++) {
      size_t got = 0;
      assert_int_equal(fault_get(cases[i].path, query, &got), ERROR_WINHTTP_CONNECTION_ERROR);
      assert_int_equal(got, cases[i].got);
    }
  }
}

static int setup(void **state)
{
  (void)state;
  wh_rec_init(&rec);
  wh_rec_set_default(&rec);
  if (wh_peer_start_fault_tls(&fault_tls, WH_CERT_GOOD) != 0)
    return -1;
  if (wh_peer_start_nginx(&nginx, 1) != 0)
    return -1;
  /* Trust the test CA before the first TLS request of the process. */
  return setenv("SSL_CERT_FILE", wh_peer_ca_file(&nginx), 1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&nginx);
  wh_peer_stop(&fault_tls);
  wh_rec_set_default(NULL);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_good),
    cmocka_unit_test(test_good_large_and_reuse),
    cmocka_unit_test(test_session_resumed),
    cmocka_unit_test(test_url_and_bitness),
    cmocka_unit_test(test_certificate_struct),
    cmocka_unit_test(test_expired),
    cmocka_unit_test(test_wrong_host),
    cmocka_unit_test(test_self_signed),
    cmocka_unit_test(test_unknown_ca),
    cmocka_unit_test(test_ip_literal_name_check),
    cmocka_unit_test(test_ignore_date),
    cmocka_unit_test(test_ignore_cn),
    cmocka_unit_test(test_ignore_unknown_ca),
    cmocka_unit_test(test_ignore_all),
    cmocka_unit_test(test_ignored_connection_not_shared),
    cmocka_unit_test(test_revocation_check_not_silently_skipped),
    cmocka_unit_test(test_server_cert_context),
    cmocka_unit_test(test_server_cert_context_ignored_failure),
    cmocka_unit_test(test_secure_protocols),
    cmocka_unit_test(test_close_delimited_clean),
    cmocka_unit_test(test_close_delimited_truncated),
    cmocka_unit_test(test_framed_truncated),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("sync_tls", tests, setup, teardown);
}
