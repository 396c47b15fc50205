/* TLS client certificates in the synchronous engine, against nginx's
 * client-auth ports (ssl_verify_client on / optional, the client CA of
 * tests/peers/gen-certs.sh), GET /whoami telling which certificate the
 * connection presented:
 *
 *  - a server that asks, with no certificate set: SendRequest fails with
 *    ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED (TLS 1.3 and TLS 1.2);
 *    CLIENT_CERT_ISSUER_LIST then names the client CA; the certificate set
 *    and SendRequest again on the same handle: 200 with its subject
 *    (Microsoft's "SSL in WinHTTP" flow);
 *  - WINHTTP_NO_CLIENT_CERT_CONTEXT: 200 without a certificate where it is
 *    optional, nginx's 400 where it is required;
 *  - a certificate from another CA: nginx's 400; one set up front: 200 at
 *    once; one without a private key: CLIENT_CERT_NO_PRIVATE_KEY;
 *  - connections (and TLS sessions) are never shared between requests with
 *    different certificates, or with one and without;
 *  - HTTP/2: only with ENABLE_HTTP2_PLUS_CLIENT_CERT (Windows' opt-in).
 *
 * One nginx with TLS for the whole file; the keep-alive pool is
 * process-wide and each test empties it first. */
#include "wh_test.h"
#include "client_certs.h"
#include "peers.h"

#include "net/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

static struct wh_peer nginx;
static struct wh_client_certs certs;
static char certs_dir[400];

struct h3 {
  HINTERNET s, c, r;
};

static void open_session(struct h3 *h, DWORD protocols)
{
  h->s = WinHttpOpen(L"client-cert", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(h->s);
  if (protocols)
    assert_true(WinHttpSetOption(h->s, WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols,
                                 sizeof(protocols)));
}

static void open_request(struct h3 *h, unsigned short port, const wchar_t *path)
{
  h->c = WinHttpConnect(h->s, L"localhost", port, 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, NULL, path, NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(h->r);
}

static void open3(struct h3 *h, enum wh_peer_client_auth mode, DWORD protocols)
{
  open_session(h, protocols);
  open_request(h, wh_peer_client_auth_port(&nginx, mode), L"/whoami");
}

static void close_request(struct h3 *h)
{
  assert_true(WinHttpCloseHandle(h->r));
  assert_true(WinHttpCloseHandle(h->c));
  h->r = h->c = NULL;
}

static void close3(struct h3 *h)
{
  close_request(h);
  assert_true(WinHttpCloseHandle(h->s));
}

static void set_cert(HINTERNET r, PCCERT_CONTEXT cert)
{
  /* As Microsoft's sample passes it: the context itself, and its size. */
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, (LPVOID)cert,
                               cert ? sizeof(CERT_CONTEXT) : 0));
}

static DWORD status_of(HINTERNET r)
{
  DWORD status = 0, size = sizeof(status);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &status, &size, NULL));
  return status;
}

/* The X-Client-DN header as UTF-8 ("" when absent). */
static void client_dn(HINTERNET r, char *out, size_t cap)
{
  WCHAR buf[256];
  DWORD size = sizeof(buf);
  out[0] = '\0';
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM, L"X-Client-DN", buf, &size, NULL)) {
    assert_last_error(ERROR_WINHTTP_HEADER_NOT_FOUND);
    return;
  }
  size_t i = 0;
  for (; buf[i] && i + 1 < cap; i++)
    out[i] = buf[i] < 128 ? (char)buf[i] : '?'; /* the subjects are ASCII */
  out[i] = '\0';
}

/* Reads the body to its end (so the connection goes back to the pool). */
static void read_body(HINTERNET r, char *out, size_t cap)
{
  size_t n = 0;
  for (;;) {
    DWORD got = 0;
    assert_true(n + 1 < cap);
    assert_true(WinHttpReadData(r, out + n, (DWORD)(cap - 1 - n), &got));
    if (got == 0)
      break;
    n += got;
  }
  out[n] = '\0';
}

/* Sends, receives and checks the status, subject header and body. */
static void expect_response(HINTERNET r, DWORD status, const char *dn)
{
  if (!WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0))
    print_error("SendRequest failed: %u\n", (unsigned)GetLastError());
  assert_true(WinHttpReceiveResponse(r, NULL));
  assert_int_equal(status_of(r), status);
  char got[256], body[2048];
  client_dn(r, got, sizeof(got));
  read_body(r, body, sizeof(body));
  if (dn) {
    assert_string_equal(got, dn);
    char want[300];
    snprintf(want, sizeof(want), "verify=%s dn=%s\n", *dn ? "SUCCESS" : "NONE", dn);
    assert_string_equal(body, want);
  }
}

static void expect_cert_needed(HINTERNET r)
{
  assert_false(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  assert_last_error(ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED);
  /* Nothing was sent: there is no response to receive. */
  assert_false(WinHttpReceiveResponse(r, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
}

/* The DER of the client CA's subject, as the server sends it. */
static unsigned char *client_ca_name(int *len)
{
  char path[500];
  snprintf(path, sizeof(path), "%s/client-ca.pem", certs_dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(ca);
  unsigned char *der = NULL;
  *len = i2d_X509_NAME(X509_get_subject_name(ca), &der);
  X509_free(ca);
  assert_true(*len > 0);
  return der;
}

static void expect_issuer_list_names_client_ca(HINTERNET r)
{
  SecPkgContext_IssuerListInfoEx *list = NULL;
  DWORD size = 0;
  /* The buffer holds a pointer; asking with none gives its size. */
  assert_false(WinHttpQueryOption(r, WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST, NULL, &size));
  assert_last_error(ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(size, sizeof(list));
  assert_true(WinHttpQueryOption(r, WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST, &list, &size));
  assert_int_equal(size, sizeof(list));
  assert_non_null(list);
  assert_int_equal(list->cIssuers, 1);
  int len;
  unsigned char *want = client_ca_name(&len);
  assert_int_equal(list->aIssuers[0].cbData, len);
  assert_memory_equal(list->aIssuers[0].pbData, want, (size_t)len);
  OPENSSL_free(want);
  assert_null(GlobalFree(list)); /* one block, as Microsoft's sample frees it */
}

static void expect_no_issuer_list(HINTERNET r)
{
  SecPkgContext_IssuerListInfoEx *list = NULL;
  DWORD size = sizeof(list);
  assert_false(WinHttpQueryOption(r, WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST, &list, &size));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
}

/* --- the server asks, the application answers --------------------------------------- */

/* Microsoft's flow: CERT_NEEDED, the issuer list, the certificate, the
 * same request again. */
static void needed_then_resend(DWORD protocols)
{
  wh_pool_clear();
  struct h3 h;
  open3(&h, WH_CLIENT_AUTH_REQUIRED, protocols);
  expect_no_issuer_list(h.r);
  expect_cert_needed(h.r);
  expect_issuer_list_names_client_ca(h.r);
  set_cert(h.r, certs.client1);
  expect_response(h.r, 200, WH_CLIENT1_DN);
  /* The list belonged to the failed send. */
  expect_no_issuer_list(h.r);
  /* And the certificate stays for the next send on the handle. */
  expect_response(h.r, 200, WH_CLIENT1_DN);
  close3(&h);
}

static void test_required_tls13(void **state)
{
  (void)state;
  needed_then_resend(0);
}

static void test_required_tls12(void **state)
{
  (void)state;
  needed_then_resend(WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2);
}

static void test_optional_asks_too(void **state)
{
  (void)state;
  wh_pool_clear();
  struct h3 h;
  open3(&h, WH_CLIENT_AUTH_OPTIONAL, 0);
  expect_cert_needed(h.r);
  expect_issuer_list_names_client_ca(h.r);
  /* "If the server requests the certificate but does not require it, the
   * application can specify this option to indicate that it does not have
   * a certificate." */
  set_cert(h.r, WINHTTP_NO_CLIENT_CERT_CONTEXT);
  expect_response(h.r, 200, "");
  close3(&h);
}

static void test_none_where_required(void **state)
{
  (void)state;
  wh_pool_clear();
  struct h3 h;
  open3(&h, WH_CLIENT_AUTH_REQUIRED, WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2);
  set_cert(h.r, WINHTTP_NO_CLIENT_CERT_CONTEXT);
  /* nginx: 400 "No required SSL certificate was sent" (Microsoft: "it may
   * send a 403"). */
  expect_response(h.r, 400, NULL);
  close3(&h);
  open3(&h, WH_CLIENT_AUTH_REQUIRED, 0);
  set_cert(h.r, WINHTTP_NO_CLIENT_CERT_CONTEXT);
  expect_response(h.r, 400, NULL);
  close3(&h);
}

static void test_wrong_ca(void **state)
{
  (void)state;
  wh_pool_clear();
  for (int mode = WH_CLIENT_AUTH_REQUIRED; mode <= WH_CLIENT_AUTH_OPTIONAL; mode++) {
    struct h3 h;
    open3(&h, (enum wh_peer_client_auth)mode, 0);
    set_cert(h.r, certs.intruder);
    /* nginx accepts the handshake and answers 400 "The SSL certificate
     * error". */
    expect_response(h.r, 400, NULL);
    close3(&h);
  }
}

static void test_cert_up_front(void **state)
{
  (void)state;
  wh_pool_clear();
  struct h3 h;
  open3(&h, WH_CLIENT_AUTH_REQUIRED, 0);
  set_cert(h.r, certs.client2);
  expect_response(h.r, 200, WH_CLIENT2_DN);
  close3(&h);
  /* A server that never asks is not bothered by one. */
  open_session(&h, 0);
  open_request(&h, wh_peer_cert_port(&nginx, WH_CERT_GOOD), L"/whoami");
  set_cert(h.r, certs.client2);
  expect_response(h.r, 200, "");
  close3(&h);
}

/* Microsoft's sample frees its context and closes the store as soon as the
 * option is set: the request holds a duplicate. */
static void test_request_keeps_its_own_reference(void **state)
{
  (void)state;
  wh_pool_clear();
  size_t len;
  BYTE *bytes = wh_read_cert_file(certs_dir, "client.p12", &len);
  assert_non_null(bytes);
  CRYPT_DATA_BLOB blob = {(DWORD)len, bytes};
  HCERTSTORE store = PFXImportCertStore(&blob, L"p12-secret", 0);
  free(bytes);
  assert_non_null(store);
  PCCERT_CONTEXT cert = CertFindCertificateInStore(store, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING,
                                                   0, CERT_FIND_SUBJECT_STR, L"Client1", NULL);
  assert_non_null(cert);
  struct h3 h;
  open3(&h, WH_CLIENT_AUTH_REQUIRED, 0);
  set_cert(h.r, cert);
  assert_true(CertFreeCertificateContext(cert));
  assert_true(CertCloseStore(store, 0));
  expect_response(h.r, 200, WH_CLIENT1_DN);
  close3(&h);
}

static void test_no_private_key(void **state)
{
  (void)state;
  wh_pool_clear();
  struct h3 h;
  /* A server's certificate, from the option that hands it out. */
  open_session(&h, 0);
  open_request(&h, wh_peer_cert_port(&nginx, WH_CERT_GOOD), L"/100.bin");
  expect_response(h.r, 200, NULL);
  PCCERT_CONTEXT server = NULL;
  DWORD size = sizeof(server);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &server, &size));
  close_request(&h);
  open_request(&h, wh_peer_client_auth_port(&nginx, WH_CLIENT_AUTH_REQUIRED), L"/whoami");
  set_cert(h.r, server);
  assert_true(CertFreeCertificateContext(server));
  assert_false(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_last_error(ERROR_WINHTTP_CLIENT_CERT_NO_PRIVATE_KEY);
  close_request(&h);
  /* A context made from the certificate alone. */
  PCCERT_CONTEXT bare = CertCreateCertificateContext(
      X509_ASN_ENCODING, certs.client1->pbCertEncoded, certs.client1->cbCertEncoded);
  assert_non_null(bare);
  open_request(&h, wh_peer_client_auth_port(&nginx, WH_CLIENT_AUTH_REQUIRED), L"/whoami");
  set_cert(h.r, bare);
  assert_true(CertFreeCertificateContext(bare));
  assert_false(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_last_error(ERROR_WINHTTP_CLIENT_CERT_NO_PRIVATE_KEY);
  /* The same request with a usable one goes through. */
  set_cert(h.r, certs.client1);
  expect_response(h.r, 200, WH_CLIENT1_DN);
  close3(&h);
}

static void test_option_errors(void **state)
{
  (void)state;
  struct h3 h;
  open_session(&h, 0);
  h.c = WinHttpConnect(h.s, L"localhost", wh_peer_port(&nginx), 0);
  assert_non_null(h.c);
  /* Plain http: ERROR_WINHTTP_INCORRECT_HANDLE_STATE (Wine's tests, on
   * Windows), a real certificate as "none". */
  h.r = WinHttpOpenRequest(h.c, NULL, L"/", NULL, NULL, NULL, 0);
  assert_non_null(h.r);
  assert_false(WinHttpSetOption(h.r, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, (LPVOID)certs.client1,
                                sizeof(CERT_CONTEXT)));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_true(WinHttpCloseHandle(h.r));
  h.r = WinHttpOpenRequest(h.c, NULL, L"/", NULL, NULL, NULL, WINHTTP_FLAG_SECURE);
  assert_non_null(h.r);
  /* A CERT_CONTEXT this library did not make. */
  CERT_CONTEXT forged;
  memset(&forged, 0, sizeof(forged));
  forged.dwCertEncodingType = X509_ASN_ENCODING;
  forged.pbCertEncoded = certs.client1->pbCertEncoded;
  forged.cbCertEncoded = certs.client1->cbCertEncoded;
  CERT_CONTEXT *heap = wh_dup_exact(&forged, sizeof(forged));
  assert_false(WinHttpSetOption(h.r, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, heap, sizeof(*heap)));
  assert_last_error(ERROR_INVALID_PARAMETER);
  free(heap);
  /* Write-only; not on sessions or connections. */
  PCCERT_CONTEXT q = NULL;
  DWORD size = sizeof(q);
  assert_false(WinHttpQueryOption(h.r, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, &q, &size));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_false(WinHttpSetOption(h.s, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, NULL, 0));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  /* Setting, replacing and clearing leak nothing (ASan). */
  set_cert(h.r, certs.client1);
  set_cert(h.r, certs.client2);
  set_cert(h.r, WINHTTP_NO_CLIENT_CERT_CONTEXT);
  set_cert(h.r, certs.client1);
  expect_no_issuer_list(h.r);
  close3(&h);
}

/* --- connections and sessions are per identity ------------------------------------- */

static void test_not_shared_between_identities(void **state)
{
  (void)state;
  wh_pool_clear();
  struct h3 h;
  open_session(&h, 0);
  unsigned short port = wh_peer_client_auth_port(&nginx, WH_CLIENT_AUTH_OPTIONAL);
  static const struct {
    int who; /* 1, 2: client1, client2; 0: none; -1: unset */
    const char *dn;
  } steps[] = {
      {1, WH_CLIENT1_DN}, {2, WH_CLIENT2_DN}, {0, ""},  {-1, NULL},
      {1, WH_CLIENT1_DN}, {0, ""},            {2, WH_CLIENT2_DN},
  };
  /* Twice: once with the connections pooled, once with only the TLS
   * sessions cached (a resumed session keeps the identity the server saw). */
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
      if (round)
        wh_pool_clear();
      open_request(&h, port, L"/whoami");
      if (steps[i].who >= 0)
        set_cert(h.r, steps[i].who == 1   ? certs.client1
                      : steps[i].who == 2 ? certs.client2
                                          : WINHTTP_NO_CLIENT_CERT_CONTEXT);
      if (steps[i].dn)
        expect_response(h.r, 200, steps[i].dn);
      else
        expect_cert_needed(h.r);
      close_request(&h);
    }
  }
  assert_true(WinHttpCloseHandle(h.s));
}

/* --- HTTP/2 -------------------------------------------------------------------------- */

static DWORD protocol_used(HINTERNET r)
{
  DWORD v = 0, size = sizeof(v);
  assert_true(WinHttpQueryOption(r, WINHTTP_OPTION_HTTP_PROTOCOL_USED, &v, &size));
  return v;
}

static void test_http2(void **state)
{
  (void)state;
  wh_pool_clear();
  DWORD h2 = WINHTTP_PROTOCOL_FLAG_HTTP2;
  unsigned short port = wh_peer_client_auth_port(&nginx, WH_CLIENT_AUTH_REQUIRED_H2);
  struct h3 h;
  open_session(&h, 0);
  assert_true(WinHttpSetOption(h.s, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, &h2, sizeof(h2)));
  /* The server asks over an HTTP/2 offer just the same. */
  open_request(&h, port, L"/whoami");
  expect_cert_needed(h.r);
  expect_issuer_list_names_client_ca(h.r);
  /* By default a client certificate keeps the request on HTTP/1.1
   * (Windows: HTTP/2 with one is an opt-in). */
  set_cert(h.r, certs.client1);
  expect_response(h.r, 200, WH_CLIENT1_DN);
  assert_int_equal(protocol_used(h.r), 0);
  close_request(&h);
  BOOL on = TRUE;
  assert_true(WinHttpSetOption(h.s, WINHTTP_OPTION_ENABLE_HTTP2_PLUS_CLIENT_CERT, &on, sizeof(on)));
  /* With the opt-in, HTTP/2, and each identity on a connection of its own
   * (a shared HTTP/2 connection would show the first one's subject). */
  for (int i = 0; i < 4; i++) {
    open_request(&h, port, L"/whoami");
    set_cert(h.r, i % 2 ? certs.client2 : certs.client1);
    expect_response(h.r, 200, i % 2 ? WH_CLIENT2_DN : WH_CLIENT1_DN);
    assert_int_equal(protocol_used(h.r), WINHTTP_PROTOCOL_FLAG_HTTP2);
    close_request(&h);
  }
  assert_true(WinHttpCloseHandle(h.s));
}

static int setup(void **state)
{
  (void)state;
  if (wh_peer_start_nginx(&nginx, 1) != 0)
    return -1;
  snprintf(certs_dir, sizeof(certs_dir), "%s/certs", wh_peer_dir(&nginx));
  if (wh_client_certs_load(&certs, certs_dir) != 0)
    return -1;
  /* Trust the test CA before the first TLS request of the process. */
  return setenv("SSL_CERT_FILE", wh_peer_ca_file(&nginx), 1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_client_certs_free(&certs);
  wh_peer_stop(&nginx);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_required_tls13),
    cmocka_unit_test(test_required_tls12),
    cmocka_unit_test(test_optional_asks_too),
    cmocka_unit_test(test_none_where_required),
    cmocka_unit_test(test_wrong_ca),
    cmocka_unit_test(test_cert_up_front),
    cmocka_unit_test(test_request_keeps_its_own_reference),
    cmocka_unit_test(test_no_private_key),
    cmocka_unit_test(test_option_errors),
    cmocka_unit_test(test_not_shared_between_identities),
    cmocka_unit_test(test_http2),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("client_cert", tests, setup, teardown);
}
