/* The synchronous engine against nginx (plain HTTP, tests/peers/nginx.conf.in
 * and nginx-locations.conf): exact bytes of small and large files, HEAD, 304,
 * the notification order of a first request and of a reused connection,
 * redirects and their method rules, request bodies (optional data and
 * WriteData), response headers through WinHttpQueryHeaders, the read
 * functions' semantics, out-of-state calls and the connection options.
 *
 * One nginx for the whole file (group setup). The keep-alive pool is
 * process-wide: tests that look at connection reuse empty it first with the
 * internal hook wh_pool_clear(). */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static struct wh_peer nginx;
static struct wh_rec rec;

struct h3 {
  HINTERNET s, c, r;
};

static void rec_reset(void)
{
  pthread_mutex_lock(&rec.lock);
  rec.n = 0;
  pthread_mutex_unlock(&rec.lock);
}

static unsigned short port(void)
{
  return nginx.http_port;
}

static void open_session(struct h3 *h)
{
  h->s = WinHttpOpen(L"sync-nginx", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(h->s);
  assert_true(WinHttpSetStatusCallback(h->s, wh_rec_callback,
                                       WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0) == NULL);
  h->c = WinHttpConnect(h->s, L"127.0.0.1", port(), 0);
  assert_non_null(h->c);
  h->r = NULL;
}

static HINTERNET open_req(struct h3 *h, const wchar_t *verb, const wchar_t *path)
{
  h->r = WinHttpOpenRequest(h->c, verb, path, NULL, NULL, NULL, 0);
  assert_non_null(h->r);
  return h->r;
}

static void open3(struct h3 *h, const wchar_t *verb, const wchar_t *path)
{
  open_session(h);
  open_req(h, verb, path);
}

static void close_req(struct h3 *h)
{
  assert_true(WinHttpCloseHandle(h->r));
  h->r = NULL;
}

static void close3(struct h3 *h)
{
  if (h->r)
    close_req(h);
  assert_true(WinHttpCloseHandle(h->c));
  assert_true(WinHttpCloseHandle(h->s));
}

static void send_recv(HINTERNET r)
{
  assert_true(WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(r, NULL));
}

static DWORD status_of(HINTERNET r)
{
  DWORD status = 0, size = sizeof(status);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                                  WINHTTP_HEADER_NAME_BY_INDEX, &status, &size, WINHTTP_NO_HEADER_INDEX));
  assert_int_equal(size, sizeof(DWORD));
  return status;
}

/* Reads the body to its end with |chunk|-byte ReadData calls; returns a
 * malloc'd copy and its length. */
static char *read_body(HINTERNET r, DWORD chunk, size_t *len)
{
  size_t cap = 1 << 16, n = 0;
  char *all = malloc(cap);
  char *tmp = malloc(chunk ? chunk : 1);
  assert_non_null(all);
  assert_non_null(tmp);
  for (;;) {
    DWORD got = 0;
    assert_true(WinHttpReadData(r, tmp, chunk, &got));
    if (got == 0)
      break;
    assert_true(got <= chunk);
    while (n + got > cap) {
      cap *= 2;
      all = realloc(all, cap);
      assert_non_null(all);
    }
    memcpy(all + n, tmp, got);
    n += got;
  }
  free(tmp);
  *len = n;
  return all;
}

static int is_pattern(const char *p, size_t n, size_t offset)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + (offset + i) % 26))
      return 0;
  return 1;
}

static void get_expect_pattern(const wchar_t *path, size_t want, DWORD chunk)
{
  struct h3 h;
  open3(&h, L"GET", path);
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 200);
  size_t len;
  char *body = read_body(h.r, chunk, &len);
  assert_int_equal(len, want);
  assert_true(is_pattern(body, len, 0));
  free(body);
  close3(&h);
}

/* The statuses recorded since the last reset, for |handle| (NULL: all). */
static size_t statuses(HINTERNET handle, DWORD *out, size_t cap)
{
  size_t k = 0;
  pthread_mutex_lock(&rec.lock);
  for (size_t i = 0; i < rec.n && k < cap; i++)
    if (!handle || rec.e[i].handle == handle)
      out[k++] = rec.e[i].status;
  pthread_mutex_unlock(&rec.lock);
  return k;
}

/* A copy of the recorded entries (assertions never run under the lock). */
static size_t snapshot(struct wh_rec_entry *out, size_t cap)
{
  pthread_mutex_lock(&rec.lock);
  size_t n = rec.n < cap ? rec.n : cap;
  memcpy(out, rec.e, n * sizeof(*out));
  pthread_mutex_unlock(&rec.lock);
  return n;
}

static void expect_statuses(const DWORD *want, size_t nwant, const DWORD *got, size_t ngot)
{
  size_t n = nwant < ngot ? nwant : ngot;
  for (size_t i = 0; i < n; i++)
    if (want[i] != got[i]) {
      print_error("notification %zu: expected 0x%lx, got 0x%lx\n", i, (unsigned long)want[i],
                  (unsigned long)got[i]);
      break;
    }
  if (nwant != ngot)
    print_error("expected %zu notifications, got %zu\n", nwant, ngot);
  assert_int_equal(ngot, nwant);
  assert_memory_equal(got, want, nwant * sizeof(DWORD));
}

/* --- bodies ------------------------------------------------------------------------- */

static void test_get_small(void **state)
{
  (void)state;
  get_expect_pattern(L"/100.bin", 100, 4096);
  get_expect_pattern(L"/100.bin", 100, 7); /* many small reads */
}

static void test_get_large(void **state)
{
  (void)state;
  get_expect_pattern(L"/1m.bin", 1024 * 1024, 65536);
  get_expect_pattern(L"/1m.bin", 1024 * 1024, 1000);
}

static void test_get_html(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/index.html");
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 200);
  WCHAR ctype[64];
  DWORD size = sizeof(ctype);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CONTENT_TYPE, NULL, ctype, &size, NULL));
  assert_true(wcsncmp(ctype, L"text/html", 9) == 0);
  size_t len;
  char *body = read_body(h.r, 4096, &len);
  assert_true(len > 0);
  DWORD cl = 0;
  size = sizeof(cl);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &cl, &size, NULL));
  assert_int_equal(cl, len);
  free(body);
  close3(&h);
}

static void test_head(void **state)
{
  (void)state;
  wh_pool_clear();
  struct h3 h;
  open3(&h, L"HEAD", L"/1m.bin");
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 200);
  DWORD cl = 0, size = sizeof(cl);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &cl, &size, NULL));
  assert_int_equal(cl, 1024 * 1024);
  DWORD avail = 1234;
  assert_true(WinHttpQueryDataAvailable(h.r, &avail));
  assert_int_equal(avail, 0);
  char buf[64];
  DWORD got = 1234;
  assert_true(WinHttpReadData(h.r, buf, sizeof(buf), &got));
  assert_int_equal(got, 0);
  close_req(&h);
  /* The connection is still in step: the next request on it reads its own
   * response. */
  rec_reset();
  open_req(&h, L"GET", L"/100.bin");
  send_recv(h.r);
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER), 0);
  size_t len;
  char *body = read_body(h.r, 4096, &len);
  assert_int_equal(len, 100);
  assert_true(is_pattern(body, len, 0));
  free(body);
  close3(&h);
}

static void test_not_modified(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/100.bin");
  send_recv(h.r);
  WCHAR lm[64];
  DWORD size = sizeof(lm);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_LAST_MODIFIED, NULL, lm, &size, NULL));
  SYSTEMTIME st;
  size = sizeof(st);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_LAST_MODIFIED | WINHTTP_QUERY_FLAG_SYSTEMTIME,
                                  NULL, &st, &size, NULL));
  assert_int_equal(size, sizeof(SYSTEMTIME));
  assert_true(st.wYear >= 2020);
  size_t len;
  free(read_body(h.r, 4096, &len));
  close_req(&h);

  wchar_t hdr[128];
  swprintf(hdr, 128, L"If-Modified-Since: %ls", lm);
  open_req(&h, NULL, L"/100.bin");
  assert_true(WinHttpSendRequest(h.r, hdr, (DWORD)-1, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  assert_int_equal(status_of(h.r), 304);
  DWORD avail = 1;
  assert_true(WinHttpQueryDataAvailable(h.r, &avail));
  assert_int_equal(avail, 0);
  char *body = read_body(h.r, 4096, &len);
  assert_int_equal(len, 0);
  free(body);
  close_req(&h);
  /* The connection survived the body-less response. */
  get_expect_pattern(L"/100.bin", 100, 4096);
  close3(&h);
}

static void test_error_statuses(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/status-404");
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 404);
  size_t len;
  free(read_body(h.r, 4096, &len));
  close_req(&h);
  open_req(&h, NULL, L"/status-500");
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 500);
  WCHAR text[64];
  DWORD size = sizeof(text);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_STATUS_TEXT, NULL, text, &size, NULL));
  assert_true(wcscmp(text, L"Internal Server Error") == 0);
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

/* --- notifications --------------------------------------------------------------------- */

static void test_first_get_notification_order(void **state)
{
  (void)state;
  wh_pool_clear();
  rec_reset();
  struct h3 h;
  open3(&h, L"GET", L"/100.bin");
  HINTERNET s = h.s, c = h.c, r = h.r;
  send_recv(h.r);
  DWORD got[64];
  size_t n = statuses(NULL, got, 64);
  static const DWORD want[] = {
    WINHTTP_CALLBACK_STATUS_HANDLE_CREATED,       /* connect */
    WINHTTP_CALLBACK_STATUS_HANDLE_CREATED,       /* request */
    /* no RESOLVING_NAME / NAME_RESOLVED: an IP literal */
    WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER,
    WINHTTP_CALLBACK_STATUS_CONNECTED_TO_SERVER,
    WINHTTP_CALLBACK_STATUS_SENDING_REQUEST,
    WINHTTP_CALLBACK_STATUS_REQUEST_SENT,
    WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE,
    WINHTTP_CALLBACK_STATUS_RESPONSE_RECEIVED,
  };
  expect_statuses(want, sizeof(want) / sizeof(want[0]), got, n);
  struct wh_rec_entry e[64];
  size_t ne = snapshot(e, 64);
  /* A new connection is reported on the session handle, a new request on
   * the request handle, each with the new handle as information. */
  assert_ptr_equal(e[0].handle, s);
  assert_ptr_equal(e[0].info_handle, c);
  assert_ptr_equal(e[1].handle, r);
  assert_ptr_equal(e[1].info_handle, r);
  for (size_t i = 2; i < ne; i++)
    assert_ptr_equal(e[i].handle, r);
  /* REQUEST_SENT and RESPONSE_RECEIVED carry a DWORD byte count. */
  assert_int_equal(e[5].info_len, sizeof(DWORD));
  assert_int_equal(e[7].info_len, sizeof(DWORD));
  /* Reading a keep-alive body closes nothing. */
  size_t len;
  free(read_body(h.r, 4096, &len));
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_CLOSING_CONNECTION), 0);
  size_t before_close = snapshot(e, 64);
  close3(&h);
  /* Then HANDLE_CLOSING for the request, the connect and the session. */
  ne = snapshot(e, 64);
  assert_int_equal(ne, before_close + 3);
  assert_int_equal(e[before_close].status, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  assert_ptr_equal(e[before_close].handle, r);
  assert_int_equal(e[before_close + 1].status, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  assert_ptr_equal(e[before_close + 1].handle, c);
  assert_int_equal(e[before_close + 2].status, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
  assert_ptr_equal(e[before_close + 2].handle, s);
}

static void test_resolving_name_for_host_names(void **state)
{
  (void)state;
  wh_pool_clear();
  rec_reset();
  HINTERNET s = WinHttpOpen(L"sync-nginx", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  WinHttpSetStatusCallback(s, wh_rec_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  HINTERNET c = WinHttpConnect(s, L"localhost", port(), 0);
  HINTERNET r = WinHttpOpenRequest(c, NULL, L"/100.bin", NULL, NULL, NULL, 0);
  assert_non_null(r);
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0));
  long resolving = wh_rec_find(&rec, r, WINHTTP_CALLBACK_STATUS_RESOLVING_NAME);
  long resolved = wh_rec_find(&rec, r, WINHTTP_CALLBACK_STATUS_NAME_RESOLVED);
  long connecting = wh_rec_find(&rec, r, WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER);
  long sending = wh_rec_find(&rec, r, WINHTTP_CALLBACK_STATUS_SENDING_REQUEST);
  assert_true(resolving >= 0);
  assert_int_equal(resolved, resolving + 1);
  assert_true(connecting > resolved);
  assert_true(sending > connecting);
  assert_true(WinHttpReceiveResponse(r, NULL));
  assert_int_equal(status_of(r), 200);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_keepalive_reuse(void **state)
{
  (void)state;
  wh_pool_clear();
  struct h3 h;
  open3(&h, NULL, L"/100.bin");
  send_recv(h.r);
  WINHTTP_CONNECTION_INFO ci1, ci2;
  DWORD size = sizeof(ci1);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_CONNECTION_INFO, &ci1, &size));
  size_t len;
  free(read_body(h.r, 4096, &len));
  close_req(&h);

  /* Same connect handle: only SENDING_REQUEST/REQUEST_SENT, same socket. */
  rec_reset();
  open_req(&h, NULL, L"/1m.bin");
  HINTERNET r = h.r;
  send_recv(h.r);
  DWORD got[32];
  size_t n = statuses(r, got, 32);
  static const DWORD want[] = {
    WINHTTP_CALLBACK_STATUS_HANDLE_CREATED,
    WINHTTP_CALLBACK_STATUS_SENDING_REQUEST,
    WINHTTP_CALLBACK_STATUS_REQUEST_SENT,
    WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE,
    WINHTTP_CALLBACK_STATUS_RESPONSE_RECEIVED,
  };
  expect_statuses(want, sizeof(want) / sizeof(want[0]), got, n);
  size = sizeof(ci2);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_CONNECTION_INFO, &ci2, &size));
  assert_memory_equal(&ci1.LocalAddress, &ci2.LocalAddress, sizeof(struct sockaddr_in));
  free(read_body(h.r, 65536, &len));
  assert_int_equal(len, 1024 * 1024);
  close3(&h);

  /* A new session and connect to the same server: the pool is process-wide. */
  rec_reset();
  open3(&h, NULL, L"/100.bin");
  send_recv(h.r);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER), 0);
  assert_int_equal(wh_rec_count(&rec, NULL, WINHTTP_CALLBACK_STATUS_SENDING_REQUEST), 1);
  size = sizeof(ci2);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_CONNECTION_INFO, &ci2, &size));
  assert_memory_equal(&ci1.LocalAddress, &ci2.LocalAddress, sizeof(struct sockaddr_in));
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

static void test_unread_body_not_reused(void **state)
{
  (void)state;
  /* Closing a request in the middle of its body: the next request cannot
   * use that connection and must connect anew, and still get its bytes. */
  wh_pool_clear();
  struct h3 h;
  open3(&h, NULL, L"/1m.bin");
  send_recv(h.r);
  char buf[100];
  DWORD got = 0;
  assert_true(WinHttpReadData(h.r, buf, sizeof(buf), &got));
  assert_int_equal(got, 100);
  close_req(&h);
  rec_reset();
  open_req(&h, NULL, L"/100.bin");
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 200);
  size_t len;
  char *body = read_body(h.r, 4096, &len);
  assert_int_equal(len, 100);
  assert_true(is_pattern(body, len, 0));
  free(body);
  close3(&h);
}

static void test_connection_close_notifications(void **state)
{
  (void)state;
  /* "Connection: close" from the client: at the end of the body the
   * connection is closed, announced by CLOSING_CONNECTION/CONNECTION_CLOSED. */
  wh_pool_clear();
  struct h3 h;
  open3(&h, NULL, L"/100.bin");
  assert_true(WinHttpSendRequest(h.r, L"Connection: close", (DWORD)-1, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  size_t len;
  rec_reset();
  free(read_body(h.r, 4096, &len));
  long closing = wh_rec_find(&rec, h.r, WINHTTP_CALLBACK_STATUS_CLOSING_CONNECTION);
  long closed = wh_rec_find(&rec, h.r, WINHTTP_CALLBACK_STATUS_CONNECTION_CLOSED);
  assert_true(closing >= 0);
  assert_true(closed > closing);
  close_req(&h);
  /* Nothing was pooled: the next request connects. */
  rec_reset();
  open_req(&h, NULL, L"/100.bin");
  send_recv(h.r);
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER), 1);
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

/* --- redirects ----------------------------------------------------------------------------- */

static void redirect_case(const wchar_t *path)
{
  struct h3 h;
  rec_reset();
  open3(&h, NULL, path);
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 200);
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_REDIRECT), 1);
  /* REDIRECT carries the new URL; then a new SENDING_REQUEST. */
  long redir = wh_rec_find(&rec, h.r, WINHTTP_CALLBACK_STATUS_REDIRECT);
  long first_sent = wh_rec_find(&rec, h.r, WINHTTP_CALLBACK_STATUS_REQUEST_SENT);
  assert_true(redir > first_sent);
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_SENDING_REQUEST), 2);
  assert_int_equal(wh_rec_count(&rec, h.r, WINHTTP_CALLBACK_STATUS_RESPONSE_RECEIVED), 2);
  wchar_t want[128];
  swprintf(want, 128, L"http://127.0.0.1:%u/100.bin", port());
  WCHAR url[256];
  DWORD size = sizeof(url);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_URL, url, &size));
  assert_int_equal(size, wcslen(want) * sizeof(WCHAR));
  assert_true(wcscmp(url, want) == 0);
  size_t len;
  char *body = read_body(h.r, 4096, &len);
  assert_int_equal(len, 100);
  assert_true(is_pattern(body, len, 0));
  free(body);
  close3(&h);
}

static void test_redirect_codes(void **state)
{
  (void)state;
  redirect_case(L"/redirect"); /* 301 */
  redirect_case(L"/redirect-302");
  redirect_case(L"/redirect-303");
  redirect_case(L"/redirect-307");
  redirect_case(L"/redirect-308");
  redirect_case(L"/redirect-abs");
}

static void test_redirect_info_is_url(void **state)
{
  (void)state;
  /* The REDIRECT notification's info is the new URL (WCHAR, with its
   * terminator counted in the length). */
  struct h3 h;
  rec_reset();
  open3(&h, NULL, L"/redirect-302");
  send_recv(h.r);
  long i = wh_rec_find(&rec, h.r, WINHTTP_CALLBACK_STATUS_REDIRECT);
  assert_true(i >= 0);
  wchar_t want[128];
  swprintf(want, 128, L"http://127.0.0.1:%u/100.bin", port());
  /* The recorder keeps only the length: the URL's characters plus NUL. */
  struct wh_rec_entry e[64];
  assert_true(snapshot(e, 64) > (size_t)i);
  assert_int_equal(e[i].info_len, wcslen(want) + 1);
  size_t len;
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

/* POST to a redirect: 301/302/303 become GET without the body (the static
 * file then answers 200); 307/308 keep POST and its body (nginx's static
 * module refuses POST with 405). */
static DWORD post_redirect(const wchar_t *path)
{
  struct h3 h;
  open3(&h, L"POST", path);
  static char data[] = "a=1&b=2";
  assert_true(WinHttpSendRequest(h.r, L"Content-Type: application/x-www-form-urlencoded", (DWORD)-1,
                                 data, 7, 7, 0));
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  DWORD status = status_of(h.r);
  WCHAR verb[16];
  DWORD size = sizeof(verb);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_REQUEST_METHOD, NULL, verb, &size, NULL));
  if (status == 200)
    assert_true(wcscmp(verb, L"GET") == 0);
  else
    assert_true(wcscmp(verb, L"POST") == 0);
  size_t len;
  free(read_body(h.r, 4096, &len));
  close3(&h);
  return status;
}

static void test_redirect_post_method_rules(void **state)
{
  (void)state;
  assert_int_equal(post_redirect(L"/redirect"), 200);
  assert_int_equal(post_redirect(L"/redirect-302"), 200);
  assert_int_equal(post_redirect(L"/redirect-303"), 200);
  assert_int_equal(post_redirect(L"/redirect-307"), 405);
  assert_int_equal(post_redirect(L"/redirect-308"), 405);
}

static void test_redirect_policy_never(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/redirect-302");
  DWORD v = WINHTTP_OPTION_REDIRECT_POLICY_NEVER;
  assert_true(WinHttpSetOption(h.r, WINHTTP_OPTION_REDIRECT_POLICY, &v, sizeof(v)));
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 302);
  WCHAR loc[64];
  DWORD size = sizeof(loc);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_LOCATION, NULL, loc, &size, NULL));
  assert_true(wcscmp(loc, L"/100.bin") == 0);
  size_t len;
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

static void test_redirect_loop(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/redirect-loop");
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_false(WinHttpReceiveResponse(h.r, NULL));
  assert_last_error(ERROR_WINHTTP_REDIRECT_FAILED);
  close3(&h);
}

/* --- request bodies ------------------------------------------------------------------------ */

static void test_post_optional(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, L"POST", L"/upload");
  static char data[1000];
  memset(data, 'x', sizeof(data));
  rec_reset();
  assert_true(WinHttpSendRequest(h.r, NULL, 0, data, sizeof(data), sizeof(data), 0));
  /* REQUEST_SENT reports head and body. */
  long i = wh_rec_find(&rec, h.r, WINHTTP_CALLBACK_STATUS_REQUEST_SENT);
  assert_true(i >= 0);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  assert_int_equal(status_of(h.r), 200);
  size_t len;
  char *body = read_body(h.r, 4096, &len);
  assert_int_equal(len, 9);
  assert_memory_equal(body, "uploaded\n", 9);
  free(body);
  close3(&h);
}

static void test_post_write_data(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, L"POST", L"/upload");
  const DWORD total = 300000;
  char *data = malloc(total);
  assert_non_null(data);
  memset(data, 'y', total);
  /* 100 bytes up front, the rest in three writes. */
  assert_true(WinHttpSendRequest(h.r, NULL, 0, data, 100, total, 0));
  DWORD off = 100, written = 0;
  const DWORD parts[3] = {1, 150000, total - 150101};
  for (int i = 0; i < 3; i++) {
    assert_true(WinHttpWriteData(h.r, data + off, parts[i], &written));
    assert_int_equal(written, parts[i]);
    off += parts[i];
  }
  assert_int_equal(off, total);
  /* Past the declared length: refused, the count untouched (Windows 7 and
   * later; Wine's test_WinHttpSendRequest). */
  written = 0xdeadbeef;
  assert_false(WinHttpWriteData(h.r, data, 1, &written));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_int_equal(written, 0xdeadbeef);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  assert_int_equal(status_of(h.r), 200);
  size_t len;
  char *body = read_body(h.r, 4096, &len);
  assert_memory_equal(body, "uploaded\n", 9);
  free(body);
  free(data);
  close3(&h);
}

static void test_post_automatic_chunking(void **state)
{
  (void)state;
  /* WINHTTP_FLAG_AUTOMATIC_CHUNKING with an unknown length: a chunked upload,
   * finished by a zero-length write or ReceiveResponse. */
  struct h3 h;
  open_session(&h);
  h.r = WinHttpOpenRequest(h.c, L"POST", L"/upload", NULL, NULL, NULL, WINHTTP_FLAG_AUTOMATIC_CHUNKING);
  assert_non_null(h.r);
  if (!WinHttpSendRequest(h.r, NULL, 0, NULL, 0, WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH, 0)) {
    print_message("automatic chunking not available: error %lu\n", (unsigned long)GetLastError());
    close3(&h);
    skip();
  }
  DWORD written = 0;
  assert_true(WinHttpWriteData(h.r, "hello ", 6, &written));
  assert_true(WinHttpWriteData(h.r, "world", 5, &written));
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  assert_int_equal(status_of(h.r), 200);
  size_t len;
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

/* --- response headers ----------------------------------------------------------------------- */

static void test_query_headers(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/100.bin");
  /* Before a response exists. */
  DWORD status = 0, size = sizeof(status);
  assert_false(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                   &status, &size, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 200);

  WCHAR buf[512];
  size = sizeof(buf);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_STATUS_CODE, NULL, buf, &size, NULL));
  assert_true(wcscmp(buf, L"200") == 0);
  assert_int_equal(size, 3 * sizeof(WCHAR));
  size = sizeof(buf);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_VERSION, NULL, buf, &size, NULL));
  assert_true(wcscmp(buf, L"HTTP/1.1") == 0);
  size = sizeof(buf);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_STATUS_TEXT, NULL, buf, &size, NULL));
  assert_true(wcscmp(buf, L"OK") == 0);
  assert_int_equal(size, 2 * sizeof(WCHAR));

  DWORD cl = 0;
  size = sizeof(cl);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &cl, &size, NULL));
  assert_int_equal(cl, 100);
  assert_int_equal(size, sizeof(DWORD));
  ULONGLONG cl64 = 0;
  size = sizeof(cl64);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER64,
                                  NULL, &cl64, &size, NULL));
  assert_int_equal(cl64, 100);
  assert_int_equal(size, sizeof(ULONGLONG));

  /* CUSTOM by name, case-insensitively. */
  size = sizeof(buf);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CUSTOM, L"content-LENGTH", buf, &size, NULL));
  assert_true(wcscmp(buf, L"100") == 0);
  size = sizeof(buf);
  assert_false(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CUSTOM, L"X-Not-There", buf, &size, NULL));
  assert_last_error(ERROR_WINHTTP_HEADER_NOT_FOUND);

  /* RAW_HEADERS_CRLF: the status line first, the blank line last. */
  size = sizeof(buf);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_RAW_HEADERS_CRLF, NULL, buf, &size, NULL));
  assert_int_equal(size, wcslen(buf) * sizeof(WCHAR));
  assert_true(wcsncmp(buf, L"HTTP/1.1 200 OK\r\n", 17) == 0);
  size_t n = wcslen(buf);
  assert_true(n > 4 && wcscmp(buf + n - 4, L"\r\n\r\n") == 0);
  assert_non_null(wcsstr(buf, L"\r\nContent-Length: 100\r\n"));

  /* RAW_HEADERS: NUL-separated lines ending in an empty one. */
  WCHAR raw[512];
  size = sizeof(raw);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_RAW_HEADERS, NULL, raw, &size, NULL));
  assert_true(wcscmp(raw, L"HTTP/1.1 200 OK") == 0);
  size_t chars = size / sizeof(WCHAR);
  assert_true(chars >= 2);
  assert_int_equal(raw[chars - 1], 0);
  int found_cl = 0;
  for (size_t i = 0; i < chars && raw[i];) {
    if (wcscmp(raw + i, L"Content-Length: 100") == 0)
      found_cl = 1;
    i += wcslen(raw + i) + 1;
  }
  assert_true(found_cl);
  size_t len;
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

static void test_query_headers_buffer_protocol(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/100.bin");
  send_recv(h.r);
  /* Size query: no buffer. */
  DWORD size = 0;
  assert_false(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_VERSION, NULL, NULL, &size, NULL));
  assert_last_error(ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(size, (8 + 1) * sizeof(WCHAR)); /* "HTTP/1.1" and its NUL */
  /* One byte short. */
  WCHAR buf[32];
  DWORD small = size - 1;
  wmemset(buf, L'#', 32);
  assert_false(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_VERSION, NULL, buf, &small, NULL));
  assert_last_error(ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(small, size);
  /* Exactly enough: the returned size excludes the NUL. */
  DWORD exact = size;
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_VERSION, NULL, buf, &exact, NULL));
  assert_int_equal(exact, 8 * sizeof(WCHAR));
  assert_true(wcscmp(buf, L"HTTP/1.1") == 0);
  /* The same for a whole block. */
  size = 0;
  assert_false(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_RAW_HEADERS_CRLF, NULL, NULL, &size, NULL));
  assert_last_error(ERROR_INSUFFICIENT_BUFFER);
  WCHAR *all = malloc(size);
  assert_non_null(all);
  DWORD size2 = size;
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_RAW_HEADERS_CRLF, NULL, all, &size2, NULL));
  assert_int_equal(size2 + sizeof(WCHAR), size);
  free(all);
  /* A number needs room for its type. */
  DWORD tiny = 2;
  DWORD num = 0;
  assert_false(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                   &num, &tiny, NULL));
  assert_last_error(ERROR_INSUFFICIENT_BUFFER);
  size_t len;
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

static void test_query_custom_index(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/cookie");
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 200);
  WCHAR buf[128];
  DWORD index = 0, size = sizeof(buf);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CUSTOM, L"Set-Cookie", buf, &size, &index));
  assert_true(wcscmp(buf, L"nginx=1; Path=/") == 0);
  assert_int_equal(index, 1);
  size = sizeof(buf);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CUSTOM, L"Set-Cookie", buf, &size, &index));
  assert_true(wcscmp(buf, L"session=abc; Path=/; HttpOnly") == 0);
  assert_int_equal(index, 2);
  size = sizeof(buf);
  assert_false(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_CUSTOM, L"Set-Cookie", buf, &size, &index));
  assert_last_error(ERROR_WINHTTP_HEADER_NOT_FOUND);
  assert_int_equal(index, 2);
  /* The same through the SET_COOKIE level. */
  index = 1;
  size = sizeof(buf);
  assert_true(WinHttpQueryHeaders(h.r, WINHTTP_QUERY_SET_COOKIE, NULL, buf, &size, &index));
  assert_true(wcscmp(buf, L"session=abc; Path=/; HttpOnly") == 0);
  assert_int_equal(index, 2);
  size_t len;
  char *body = read_body(h.r, 4096, &len);
  assert_int_equal(len, 7);
  assert_memory_equal(body, "cookie\n", 7);
  free(body);
  close3(&h);
}

/* --- reading --------------------------------------------------------------------------------- */

static void test_query_data_available(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/1m.bin");
  send_recv(h.r);
  size_t total = 0;
  char *buf = malloc(1024 * 1024);
  assert_non_null(buf);
  for (;;) {
    DWORD avail = 0xFFFFFFFF;
    assert_true(WinHttpQueryDataAvailable(h.r, &avail));
    if (avail == 0)
      break;
    assert_true(total + avail <= 1024 * 1024);
    /* What is available is read without waiting, exactly. */
    DWORD got = 0;
    assert_true(WinHttpReadData(h.r, buf + total, avail, &got));
    assert_int_equal(got, avail);
    total += got;
  }
  assert_int_equal(total, 1024 * 1024);
  assert_true(is_pattern(buf, total, 0));
  /* At the end it stays 0, and reads give 0. */
  DWORD avail = 1;
  assert_true(WinHttpQueryDataAvailable(h.r, &avail));
  assert_int_equal(avail, 0);
  DWORD got = 1;
  assert_true(WinHttpReadData(h.r, buf, 100, &got));
  assert_int_equal(got, 0);
  /* A NULL count is allowed. */
  assert_true(WinHttpQueryDataAvailable(h.r, NULL));
  free(buf);
  close3(&h);
}

static void test_read_data_ex(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/1m.bin");
  send_recv(h.r);
  const DWORD cap = 300000;
  char *buf = malloc(cap);
  assert_non_null(buf);
  size_t total = 0;
  /* With FILL_BUFFER: full buffers until the last. */
  for (int i = 0; i < 3; i++) {
    DWORD got = 0;
    assert_int_equal(WinHttpReadDataEx(h.r, buf, cap, &got, WINHTTP_READ_DATA_EX_FLAG_FILL_BUFFER, 0, NULL),
                     ERROR_SUCCESS);
    assert_int_equal(got, cap);
    assert_true(is_pattern(buf, got, total));
    total += got;
  }
  /* Without: whatever is at hand, at least one byte, at most the buffer. */
  while (total < 1024 * 1024) {
    DWORD got = 0;
    assert_int_equal(WinHttpReadDataEx(h.r, buf, cap, &got, 0, 0, NULL), ERROR_SUCCESS);
    assert_true(got > 0);
    assert_true(got <= cap);
    assert_true(total + got <= 1024 * 1024);
    assert_true(is_pattern(buf, got, total));
    total += got;
  }
  DWORD got = 1;
  assert_int_equal(WinHttpReadDataEx(h.r, buf, cap, &got, 0, 0, NULL), ERROR_SUCCESS);
  assert_int_equal(got, 0);
  got = 1;
  assert_int_equal(WinHttpReadDataEx(h.r, buf, cap, &got, WINHTTP_READ_DATA_EX_FLAG_FILL_BUFFER, 0, NULL),
                   ERROR_SUCCESS);
  assert_int_equal(got, 0);
  free(buf);
  close3(&h);
}

static void test_read_data_fills(void **state)
{
  (void)state;
  /* ReadData waits until its buffer is full or the body ends. */
  struct h3 h;
  open3(&h, NULL, L"/1m.bin");
  send_recv(h.r);
  char *buf = malloc(100000);
  assert_non_null(buf);
  size_t total = 0;
  for (;;) {
    DWORD got = 0;
    assert_true(WinHttpReadData(h.r, buf, 100000, &got));
    if (got == 0)
      break;
    if (total + 100000 <= 1024 * 1024)
      assert_int_equal(got, 100000);
    else
      assert_int_equal(got, 1024 * 1024 - total);
    total += got;
  }
  assert_int_equal(total, 1024 * 1024);
  free(buf);
  close3(&h);
}

/* --- state errors ------------------------------------------------------------------------------ */

static void test_state_errors(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/100.bin");
  char buf[16];
  DWORD got = 0, avail = 0;
  /* Nothing sent yet. */
  assert_false(WinHttpReceiveResponse(h.r, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_false(WinHttpReadData(h.r, buf, sizeof(buf), &got));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_false(WinHttpQueryDataAvailable(h.r, &avail));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_false(WinHttpWriteData(h.r, "x", 1, &got));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  /* Sent, not received. */
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  assert_false(WinHttpReadData(h.r, buf, sizeof(buf), &got));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_false(WinHttpQueryDataAvailable(h.r, &avail));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(WinHttpReadDataEx(h.r, buf, sizeof(buf), &got, 0, 0, NULL),
                   ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  /* The request is still usable after those refusals. */
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  /* Twice. */
  assert_false(WinHttpReceiveResponse(h.r, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(status_of(h.r), 200);
  /* Writing after the response. */
  assert_false(WinHttpWriteData(h.r, "x", 1, &got));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  size_t len;
  char *body = read_body(h.r, 4096, &len);
  assert_int_equal(len, 100);
  free(body);
  /* Still twice after the body. */
  assert_false(WinHttpReceiveResponse(h.r, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  close3(&h);
}

static void test_send_again_on_same_handle(void **state)
{
  (void)state;
  /* A request handle can be sent again; the new response replaces the old. */
  struct h3 h;
  open3(&h, NULL, L"/100.bin");
  send_recv(h.r);
  size_t len;
  free(read_body(h.r, 4096, &len));
  send_recv(h.r);
  assert_int_equal(status_of(h.r), 200);
  char *body = read_body(h.r, 4096, &len);
  assert_int_equal(len, 100);
  assert_true(is_pattern(body, len, 0));
  free(body);
  close3(&h);
}

/* --- connection options -------------------------------------------------------------------------- */

static void test_connection_info(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/100.bin");
  WINHTTP_CONNECTION_INFO ci;
  DWORD size = sizeof(ci);
  assert_false(WinHttpQueryOption(h.r, WINHTTP_OPTION_CONNECTION_INFO, &ci, &size));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_true(WinHttpSendRequest(h.r, NULL, 0, NULL, 0, 0, 0));
  /* Too small. */
  size = sizeof(ci) - 1;
  assert_false(WinHttpQueryOption(h.r, WINHTTP_OPTION_CONNECTION_INFO, &ci, &size));
  assert_last_error(ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(size, sizeof(ci));
  memset(&ci, 0, sizeof(ci));
  size = sizeof(ci);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_CONNECTION_INFO, &ci, &size));
  assert_int_equal(size, sizeof(ci));
  assert_int_equal(ci.cbSize, sizeof(ci));
  const struct sockaddr_in *remote = (const struct sockaddr_in *)&ci.RemoteAddress;
  const struct sockaddr_in *local = (const struct sockaddr_in *)&ci.LocalAddress;
  assert_int_equal(remote->sin_family, AF_INET);
  assert_int_equal(ntohs(remote->sin_port), port());
  assert_int_equal(ntohl(remote->sin_addr.s_addr), INADDR_LOOPBACK);
  assert_int_equal(local->sin_family, AF_INET);
  assert_int_equal(ntohl(local->sin_addr.s_addr), INADDR_LOOPBACK);
  assert_true(ntohs(local->sin_port) != 0);
  assert_true(WinHttpReceiveResponse(h.r, NULL));
  size_t len;
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

static void test_url_option_and_protocol(void **state)
{
  (void)state;
  struct h3 h;
  open3(&h, NULL, L"/100.bin?x=1");
  send_recv(h.r);
  wchar_t want[128];
  swprintf(want, 128, L"http://127.0.0.1:%u/100.bin?x=1", port());
  DWORD size = 0;
  assert_false(WinHttpQueryOption(h.r, WINHTTP_OPTION_URL, NULL, &size));
  assert_last_error(ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(size, (wcslen(want) + 1) * sizeof(WCHAR));
  WCHAR url[128];
  size = sizeof(url);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_URL, url, &size));
  assert_true(wcscmp(url, want) == 0);
  /* Plain HTTP/1.1: no HTTP/2, no certificate. */
  DWORD proto = 0xFF;
  size = sizeof(proto);
  assert_true(WinHttpQueryOption(h.r, WINHTTP_OPTION_HTTP_PROTOCOL_USED, &proto, &size));
  assert_int_equal(proto, 0);
  PCCERT_CONTEXT cert = NULL;
  size = sizeof(cert);
  assert_false(WinHttpQueryOption(h.r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  size_t len;
  free(read_body(h.r, 4096, &len));
  close3(&h);
}

static int setup(void **state)
{
  (void)state;
  wh_rec_init(&rec);
  wh_rec_set_default(&rec);
  return wh_peer_start_nginx(&nginx, 0) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&nginx);
  wh_rec_set_default(NULL);
  return 0;
}

/* Body of |r| (received) as a number: nginx's /conn-id. */
static unsigned long read_conn_id(HINTERNET r)
{
  char buf[32];
  DWORD got = 0, n;
  while (WinHttpReadData(r, buf + got, (DWORD)sizeof(buf) - 1 - got, &n) && n > 0)
    got += n;
  buf[got] = '\0';
  assert_true(got > 0);
  return strtoul(buf, NULL, 10);
}

/* The pool keeps more idle connections than the 256 it once capped at
 * (net/conn.c: half the descriptor limit): 300 requests held open at once
 * use 300 connections; once read to the end they are all idle, and 300
 * more requests held open at once are all served by those same 300. */
static void test_many_idle_connections(void **state)
{
  (void)state;
  enum { N = 300 };
  wh_pool_clear();
  HINTERNET s = WinHttpOpen(L"pool", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(s);
  HINTERNET c = WinHttpConnect(s, L"127.0.0.1", port(), 0);
  assert_non_null(c);
  static HINTERNET r[N];
  static unsigned long first[N];
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++) {
      r[i] = WinHttpOpenRequest(c, L"GET", L"/conn-id", NULL, NULL, NULL, 0);
      assert_non_null(r[i]);
      assert_true(WinHttpSendRequest(r[i], NULL, 0, NULL, 0, 0, 0));
      assert_true(WinHttpReceiveResponse(r[i], NULL));
    }
    for (int i = 0; i < N; i++) {
      unsigned long id = read_conn_id(r[i]);
      assert_true(WinHttpCloseHandle(r[i]));
      if (round == 0) {
        for (int j = 0; j < i; j++)
          assert_true(first[j] != id); /* each held its own connection */
        first[i] = id;
      } else {
        bool seen = false;
        for (int j = 0; j < N && !seen; j++)
          seen = first[j] == id;
        if (!seen)
          fail_msg("request %d of the second round came over a new connection (%lu)", i, id);
      }
    }
  }
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  wh_pool_clear();
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_first_get_notification_order),
    cmocka_unit_test(test_resolving_name_for_host_names),
    cmocka_unit_test(test_get_small),
    cmocka_unit_test(test_get_large),
    cmocka_unit_test(test_get_html),
    cmocka_unit_test(test_head),
    cmocka_unit_test(test_not_modified),
    cmocka_unit_test(test_error_statuses),
    cmocka_unit_test(test_keepalive_reuse),
    cmocka_unit_test(test_unread_body_not_reused),
    cmocka_unit_test(test_connection_close_notifications),
    cmocka_unit_test(test_redirect_codes),
    cmocka_unit_test(test_redirect_info_is_url),
    cmocka_unit_test(test_redirect_post_method_rules),
    cmocka_unit_test(test_redirect_policy_never),
    cmocka_unit_test(test_redirect_loop),
    cmocka_unit_test(test_post_optional),
    cmocka_unit_test(test_post_write_data),
    cmocka_unit_test(test_post_automatic_chunking),
    cmocka_unit_test(test_query_headers),
    cmocka_unit_test(test_query_headers_buffer_protocol),
    cmocka_unit_test(test_query_custom_index),
    cmocka_unit_test(test_query_data_available),
    cmocka_unit_test(test_read_data_ex),
    cmocka_unit_test(test_read_data_fills),
    cmocka_unit_test(test_state_errors),
    cmocka_unit_test(test_send_again_on_same_handle),
    cmocka_unit_test(test_connection_info),
    cmocka_unit_test(test_url_option_and_protocol),
    cmocka_unit_test(test_many_idle_connections),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("sync_nginx", tests, setup, teardown);
}
