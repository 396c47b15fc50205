/* Content decoding (WINHTTP_OPTION_DECOMPRESSION) and the session's cookie
 * jar, end to end against the fault server:
 *
 *  - gzip, deflate (zlib and raw), chunked or not, decode to the exact
 *    pattern bytes; Accept-Encoding is sent only when asked; without the
 *    option the coded bytes pass through with Content-Encoding;
 *  - a corrupt stream fails with INVALID_SERVER_RESPONSE, a truncated one
 *    after handing out every good byte, a bomb with RESPONSE_DRAIN_OVERFLOW
 *    at the 1 GiB bound;
 *  - Set-Cookie is stored and sent back (merged with the application's own
 *    Cookie header), not with WINHTTP_DISABLE_COOKIES, and expired cookies
 *    are dropped.
 *
 * Peer: the fault server (group setup). */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static struct wh_peer fault;

struct got {
  char *body;
  size_t len;
  DWORD status;
  DWORD err; /* of the first failing call, or ERROR_SUCCESS */
};

static void got_free(struct got *g)
{
  free(g->body);
  memset(g, 0, sizeof(*g));
}

/* GET |path| on a fresh request of |c|, reading the whole body. */
static void get(HINTERNET c, const wchar_t *path, DWORD decompression, DWORD disable,
                const wchar_t *extra, struct got *g)
{
  memset(g, 0, sizeof(*g));
  HINTERNET r = WinHttpOpenRequest(c, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(r);
  if (decompression)
    assert_true(WinHttpSetOption(r, WINHTTP_OPTION_DECOMPRESSION, &decompression,
                                 sizeof(decompression)));
  if (disable)
    assert_true(WinHttpSetOption(r, WINHTTP_OPTION_DISABLE_FEATURE, &disable, sizeof(disable)));
  if (extra)
    assert_true(WinHttpAddRequestHeaders(r, extra, (DWORD)-1, WINHTTP_ADDREQ_FLAG_ADD));
  if (!WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0) || !WinHttpReceiveResponse(r, NULL)) {
    g->err = GetLastError();
    WinHttpCloseHandle(r);
    return;
  }
  DWORD size = sizeof(g->status);
  WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL, &g->status,
                      &size, NULL);
  size_t cap = 1 << 16;
  g->body = malloc(cap + 1);
  for (;;) {
    if (g->len == cap) {
      cap *= 2;
      g->body = realloc(g->body, cap + 1);
    }
    DWORD n = 0;
    if (!WinHttpReadData(r, g->body + g->len, (DWORD)(cap - g->len), &n)) {
      g->err = GetLastError();
      break;
    }
    if (n == 0)
      break;
    g->len += n;
  }
  g->body[g->len] = '\0';
  WinHttpCloseHandle(r);
}

static int is_pattern(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + i % 26))
      return 0;
  return 1;
}

struct h2 {
  HINTERNET s, c;
};

static void open2(struct h2 *h)
{
  h->s = WinHttpOpen(L"content-test", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(h->s);
  h->c = WinHttpConnect(h->s, L"127.0.0.1", wh_peer_port(&fault), 0);
  assert_non_null(h->c);
}

static void close2(struct h2 *h)
{
  WinHttpCloseHandle(h->c);
  WinHttpCloseHandle(h->s);
}

/* --- decompression ---------------------------------------------------------------- */

static void test_decodes_each_coding(void **state)
{
  (void)state;
  static const wchar_t *const paths[] = {
      L"/gzip?n=100000", L"/gzip?n=70000&chunked=1", L"/deflate?n=5000",
      L"/deflate?n=5000&raw=1", L"/gzip?n=0",
  };
  static const size_t lens[] = {100000, 70000, 5000, 5000, 0};
  struct h2 h;
  open2(&h);
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
    struct got g;
    get(h.c, paths[i], WINHTTP_DECOMPRESSION_FLAG_ALL, 0, NULL, &g);
    if (g.err != ERROR_SUCCESS || g.len != lens[i] || !is_pattern(g.body, g.len))
      fail_msg("%ls: error %u, %zu bytes", paths[i], g.err, g.len);
    got_free(&g);
  }
  close2(&h);
}

static void test_accept_encoding_only_when_asked(void **state)
{
  (void)state;
  struct h2 h;
  open2(&h);
  struct got g;
  get(h.c, L"/echo", 0, 0, NULL, &g);
  assert_int_equal(g.err, ERROR_SUCCESS);
  assert_null(strstr(g.body, "Accept-Encoding"));
  got_free(&g);
  get(h.c, L"/echo", WINHTTP_DECOMPRESSION_FLAG_GZIP, 0, NULL, &g);
  assert_non_null(strstr(g.body, "Accept-Encoding: gzip\r\n"));
  got_free(&g);
  get(h.c, L"/echo", WINHTTP_DECOMPRESSION_FLAG_ALL, 0, NULL, &g);
  assert_non_null(strstr(g.body, "Accept-Encoding: gzip, deflate, br, zstd\r\n"));
  got_free(&g);
  /* the application's own Accept-Encoding wins */
  get(h.c, L"/echo", WINHTTP_DECOMPRESSION_FLAG_ALL, 0, L"Accept-Encoding: identity", &g);
  assert_non_null(strstr(g.body, "Accept-Encoding: identity\r\n"));
  assert_null(strstr(g.body, "gzip"));
  got_free(&g);
  close2(&h);
}

static void test_without_option_passes_through(void **state)
{
  (void)state;
  struct h2 h;
  open2(&h);
  struct got g;
  get(h.c, L"/gzip?n=1000", 0, 0, NULL, &g);
  assert_int_equal(g.err, ERROR_SUCCESS);
  /* the gzip magic, not the pattern */
  assert_true(g.len > 10 && (unsigned char)g.body[0] == 0x1f && (unsigned char)g.body[1] == 0x8b);
  got_free(&g);
  /* a coding not enabled passes through too */
  get(h.c, L"/deflate?n=1000", WINHTTP_DECOMPRESSION_FLAG_GZIP, 0, NULL, &g);
  assert_int_equal(g.err, ERROR_SUCCESS);
  assert_false(g.len == 1000 && is_pattern(g.body, g.len));
  got_free(&g);
  close2(&h);
}

static void test_bad_streams(void **state)
{
  (void)state;
  struct h2 h;
  open2(&h);
  struct got g;
  get(h.c, L"/gzip-bad", WINHTTP_DECOMPRESSION_FLAG_ALL, 0, NULL, &g);
  assert_int_equal(g.err, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  got_free(&g);
  /* every good byte first, then the failure */
  get(h.c, L"/gzip-trunc?n=5000", WINHTTP_DECOMPRESSION_FLAG_ALL, 0, NULL, &g);
  assert_int_equal(g.err, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  assert_true(is_pattern(g.body, g.len));
  got_free(&g);
  close2(&h);
}

static void test_bomb(void **state)
{
  (void)state;
  struct h2 h;
  open2(&h);
  struct got g;
  get(h.c, L"/bomb?mb=1040", WINHTTP_DECOMPRESSION_FLAG_ALL, 0, NULL, &g);
  assert_int_equal(g.err, ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW);
  assert_int_equal(g.len, 1u << 30); /* exactly the bound, then the error */
  got_free(&g);
  close2(&h);
}

/* --- cookies ----------------------------------------------------------------------- */

static void test_cookies_round_trip(void **state)
{
  (void)state;
  struct h2 h;
  open2(&h);
  struct got g;
  get(h.c, L"/set-cookie?c=a%3D1&c=b%3D2%3B%20Path%3D%2Fecho&c=gone%3D1%3B%20Max-Age%3D0", 0, 0,
      NULL, &g);
  assert_int_equal(g.err, ERROR_SUCCESS);
  got_free(&g);
  get(h.c, L"/echo", 0, 0, L"Cookie: app=1", &g);
  /* the application's pairs first, then the jar's: longest path first */
  assert_non_null(strstr(g.body, "Cookie: app=1; b=2; a=1\r\n"));
  assert_null(strstr(g.body, "gone"));
  got_free(&g);
  /* disabled: nothing sent, nothing stored */
  get(h.c, L"/echo", 0, WINHTTP_DISABLE_COOKIES, NULL, &g);
  assert_null(strstr(g.body, "Cookie:"));
  got_free(&g);
  get(h.c, L"/set-cookie?c=c%3D3", 0, WINHTTP_DISABLE_COOKIES, NULL, &g);
  got_free(&g);
  get(h.c, L"/echo", 0, 0, NULL, &g);
  assert_non_null(strstr(g.body, "Cookie: b=2; a=1\r\n"));
  got_free(&g);
  close2(&h);
}

static void test_cookies_per_session(void **state)
{
  (void)state;
  struct h2 one, two;
  open2(&one);
  open2(&two);
  struct got g;
  get(one.c, L"/set-cookie?c=mine%3D1", 0, 0, NULL, &g);
  got_free(&g);
  get(two.c, L"/echo", 0, 0, NULL, &g);
  assert_null(strstr(g.body, "mine=1"));
  got_free(&g);
  get(one.c, L"/echo", 0, 0, NULL, &g);
  assert_non_null(strstr(g.body, "mine=1"));
  got_free(&g);
  close2(&one);
  close2(&two);
}

static int setup(void **state)
{
  (void)state;
  return wh_peer_start_fault(&fault);
}

static int teardown(void **state)
{
  (void)state;
  wh_peer_stop(&fault);
  wh_pool_clear();
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decodes_each_coding),
      cmocka_unit_test(test_accept_encoding_only_when_asked),
      cmocka_unit_test(test_without_option_passes_through),
      cmocka_unit_test(test_bad_streams),
      cmocka_unit_test(test_bomb),
      cmocka_unit_test(test_cookies_round_trip),
      cmocka_unit_test(test_cookies_per_session),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
