/* WinHttpOpen / Connect / OpenRequest / CloseHandle / SetStatusCallback /
 * CheckPlatform: argument checks, error codes, HANDLE_CREATED and
 * HANDLE_CLOSING rules, handle values, out-of-memory paths. */
#include "wh_test.h"

#include <string.h>

#include "core/handle.h"
#include "util/mem.h"

static HINTERNET open_session(DWORD flags)
{
  HINTERNET s = WinHttpOpen(L"test/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                            WINHTTP_NO_PROXY_BYPASS, flags);
  assert_non_null(s);
  return s;
}

static void test_open_access_types(void **state)
{
  (void)state;
  static const DWORD ok_types[] = {WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, WINHTTP_ACCESS_TYPE_NO_PROXY,
                                   WINHTTP_ACCESS_TYPE_NAMED_PROXY,
                                   WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY};
  for (size_t i = 0; i < sizeof(ok_types) / sizeof(ok_types[0]); i++) {
    SetLastError(0xdeadbeef);
    HINTERNET s = WinHttpOpen(NULL, ok_types[i], ok_types[i] == WINHTTP_ACCESS_TYPE_NAMED_PROXY ? L"proxy:8080" : NULL,
                              NULL, 0);
    assert_non_null(s);
    assert_last_error(ERROR_SUCCESS);
    assert_true(WinHttpCloseHandle(s));
  }
  static const DWORD bad_types[] = {2, 5, 0x100, 0xFFFFFFFF};
  for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
    SetLastError(0xdeadbeef);
    assert_null(WinHttpOpen(NULL, bad_types[i], NULL, NULL, 0));
    assert_last_error(ERROR_INVALID_PARAMETER);
  }
}

static void test_open_flags(void **state)
{
  (void)state;
  HINTERNET s = WinHttpOpen(NULL, 0, NULL, NULL, WINHTTP_FLAG_ASYNC);
  assert_non_null(s);
  WinHttpCloseHandle(s);
  s = WinHttpOpen(NULL, 0, NULL, NULL, WINHTTP_FLAG_SECURE_DEFAULTS);
  assert_non_null(s);
  WinHttpCloseHandle(s);
  static const DWORD bad[] = {1, 0x40000000, 0x80000000, WINHTTP_FLAG_SECURE};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    SetLastError(0xdeadbeef);
    assert_null(WinHttpOpen(NULL, 0, NULL, NULL, bad[i]));
    assert_last_error(ERROR_INVALID_PARAMETER);
  }
  /* The agent becomes a header line: CR/LF would inject headers. */
  static const WCHAR *const bad_agents[] = {L"a\r\nX-Evil: 1", L"a\nb", L"a\r"};
  for (size_t i = 0; i < sizeof(bad_agents) / sizeof(bad_agents[0]); i++) {
    SetLastError(0xdeadbeef);
    assert_null(WinHttpOpen(bad_agents[i], 0, NULL, NULL, 0));
    assert_last_error(ERROR_INVALID_PARAMETER);
  }
}

static void test_connect_errors(void **state)
{
  (void)state;
  HINTERNET s = open_session(0);
  SetLastError(0xdeadbeef);
  assert_null(WinHttpConnect(s, NULL, 0, 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_null(WinHttpConnect(s, L"bad\r\nhost", 0, 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_null(WinHttpConnect(s, L"bad host", 0, 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_null(WinHttpConnect(NULL, L"localhost", 0, 0));
  assert_last_error(ERROR_INVALID_HANDLE);

  HINTERNET c = WinHttpConnect(s, L"localhost", 8080, 0);
  assert_non_null(c);
  assert_last_error(ERROR_SUCCESS);
  /* A connect handle is not a session. */
  assert_null(WinHttpConnect(c, L"localhost", 0, 0));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  HINTERNET r = WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL, 0);
  assert_non_null(r);
  assert_null(WinHttpConnect(r, L"localhost", 0, 0));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_null(WinHttpOpenRequest(s, NULL, NULL, NULL, NULL, NULL, 0));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_null(WinHttpOpenRequest(r, NULL, NULL, NULL, NULL, NULL, 0));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_true(WinHttpCloseHandle(r));
  assert_true(WinHttpCloseHandle(c));
  assert_true(WinHttpCloseHandle(s));
  /* A closed session cannot make connections. */
  assert_null(WinHttpConnect(s, L"localhost", 0, 0));
  assert_last_error(ERROR_INVALID_HANDLE);
}

static void query_request_line(HINTERNET r, WCHAR *out, DWORD cch)
{
  DWORD len = cch * (DWORD)sizeof(WCHAR);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_RAW_HEADERS_CRLF | WINHTTP_QUERY_FLAG_REQUEST_HEADERS,
                                  WINHTTP_HEADER_NAME_BY_INDEX, out, &len, WINHTTP_NO_HEADER_INDEX));
}

static void test_open_request_defaults(void **state)
{
  (void)state;
  HINTERNET s = open_session(0);
  HINTERNET c = WinHttpConnect(s, L"localhost", 0, 0);
  WCHAR buf[1024];
  /* NULL and "" both mean GET, "/" and HTTP/1.1. */
  LPCWSTR empties[] = {NULL, L""};
  for (int i = 0; i < 2; i++) {
    HINTERNET r = WinHttpOpenRequest(c, empties[i], empties[i], empties[i], NULL, NULL, 0);
    assert_non_null(r);
    query_request_line(r, buf, 1024);
    assert_memory_equal(buf, L"GET / HTTP/1.1\r\n", 16 * sizeof(WCHAR));
    DWORD len = sizeof(buf);
    assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_REQUEST_METHOD, NULL, buf, &len, NULL));
    assert_int_equal(len, 3 * sizeof(WCHAR));
    assert_true(wcscmp(buf, L"GET") == 0);
    WinHttpCloseHandle(r);
  }
  /* A '/' is prepended to a relative object name. */
  HINTERNET r = WinHttpOpenRequest(c, L"POST", L"x/y", L"HTTP/1.0", NULL, NULL, 0);
  assert_non_null(r);
  query_request_line(r, buf, 1024);
  assert_memory_equal(buf, L"POST /x/y HTTP/1.0\r\n", 20 * sizeof(WCHAR));
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_open_request_headers_and_flags(void **state)
{
  (void)state;
  HINTERNET s = open_session(0);
  HINTERNET c = WinHttpConnect(s, L"localhost", 0, 0);
  LPCWSTR types[] = {L"text/html", L"", L"application/json", NULL};
  HINTERNET r = WinHttpOpenRequest(c, L"GET", L"/", NULL, L"http://ref.example/", types,
                                   WINHTTP_FLAG_REFRESH);
  assert_non_null(r);
  WCHAR buf[256];
  DWORD len = sizeof(buf);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_ACCEPT | WINHTTP_QUERY_FLAG_REQUEST_HEADERS, NULL, buf,
                                  &len, NULL));
  assert_true(wcscmp(buf, L"text/html, application/json") == 0);
  len = sizeof(buf);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_REQUEST_HEADERS, L"Referer",
                                  buf, &len, NULL));
  assert_true(wcscmp(buf, L"http://ref.example/") == 0);
  len = sizeof(buf);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_PRAGMA | WINHTTP_QUERY_FLAG_REQUEST_HEADERS, NULL, buf,
                                  &len, NULL));
  assert_true(wcscmp(buf, L"no-cache") == 0);
  WinHttpCloseHandle(r);

  /* Unknown flags are refused (applications probe AUTOMATIC_CHUNKING). */
  assert_null(WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL, 0x1));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_null(WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL, 0x10000000));
  assert_last_error(ERROR_INVALID_PARAMETER);
  r = WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL,
                         WINHTTP_FLAG_SECURE | WINHTTP_FLAG_AUTOMATIC_CHUNKING | WINHTTP_FLAG_ESCAPE_DISABLE);
  assert_non_null(r);
  WinHttpCloseHandle(r);
  /* Anything that would split the request line or a header is refused. */
  assert_null(WinHttpOpenRequest(c, L"GET /x HTTP/1.1\r\nX:", NULL, NULL, NULL, NULL, 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_null(WinHttpOpenRequest(c, NULL, NULL, L"HTTP/1.1\r\nX: y", NULL, NULL, 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  assert_null(WinHttpOpenRequest(c, NULL, NULL, NULL, L"a\r\nX: y", NULL, 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  LPCWSTR evil[] = {L"a\nX: y", NULL};
  assert_null(WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, evil, 0));
  assert_last_error(ERROR_INVALID_PARAMETER);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

static void test_close_handle(void **state)
{
  (void)state;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpCloseHandle(NULL));
  assert_last_error(ERROR_INVALID_HANDLE);
  /* Values never issued. */
  HINTERNET bogus[] = {(HINTERNET)1, (HINTERNET)0x1234, (HINTERNET)(uintptr_t)0xFFFFFF,
                       (HINTERNET)(uintptr_t)-1, (HINTERNET)(uintptr_t)0x7fffffffffff0001ull};
  for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
    SetLastError(0xdeadbeef);
    assert_false(WinHttpCloseHandle(bogus[i]));
    assert_last_error(ERROR_INVALID_HANDLE);
  }
  HINTERNET s = open_session(0);
  SetLastError(0xdeadbeef);
  assert_true(WinHttpCloseHandle(s));
  assert_last_error(ERROR_SUCCESS);
  /* A second close fails and sends nothing. */
  assert_false(WinHttpCloseHandle(s));
  assert_last_error(ERROR_INVALID_HANDLE);
}

static void test_handle_values_not_reused(void **state)
{
  (void)state;
  HINTERNET s = open_session(0);
  assert_true(WinHttpCloseHandle(s));
  /* The next handle on this thread reuses the slot with a new generation:
   * the old value stays invalid. */
  HINTERNET s2 = open_session(0);
  assert_ptr_not_equal(s, s2);
  assert_false(WinHttpCloseHandle(s));
  assert_last_error(ERROR_INVALID_HANDLE);
  assert_null(WinHttpConnect(s, L"x", 0, 0));
  assert_last_error(ERROR_INVALID_HANDLE);
  assert_true(WinHttpCloseHandle(s2));

  /* Generation wrap-around never issues generation 0 (which would make
   * small integers valid handle values). */
  HINTERNET a = open_session(0);
  assert_true(WinHttpCloseHandle(a));
  wh_handle_test_set_generation(a, 0xFFFFFFFFull);
  HINTERNET b = open_session(0);
  assert_true((uintptr_t)b >= (1u << 24));
  assert_true(((uintptr_t)b & 0xFFFFFF) == ((uintptr_t)a & 0xFFFFFF));
  assert_true(WinHttpCloseHandle(b));
}

static void test_status_callback_basics(void **state)
{
  (void)state;
  SetLastError(0xdeadbeef);
  assert_ptr_equal(WinHttpSetStatusCallback(NULL, wh_rec_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0),
                   WINHTTP_INVALID_STATUS_CALLBACK);
  assert_last_error(ERROR_INVALID_HANDLE);
  HINTERNET s = open_session(0);
  SetLastError(0xdeadbeef);
  assert_null(WinHttpSetStatusCallback(s, wh_rec_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0));
  assert_last_error(ERROR_SUCCESS);
  assert_ptr_equal(WinHttpSetStatusCallback(s, NULL, 0, 0), wh_rec_callback);
  assert_null(WinHttpSetStatusCallback(s, NULL, 0, 0));
  WinHttpCloseHandle(s);
  assert_ptr_equal(WinHttpSetStatusCallback(s, NULL, 0, 0), WINHTTP_INVALID_STATUS_CALLBACK);
  assert_last_error(ERROR_INVALID_HANDLE);
}

static void test_created_and_closing_order(void **state)
{
  (void)state;
  struct wh_rec rec;
  wh_rec_init(&rec);
  wh_rec_set_default(&rec);
  HINTERNET s = open_session(0);
  WinHttpSetStatusCallback(s, wh_rec_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  HINTERNET c = WinHttpConnect(s, L"localhost", 0, 0);
  HINTERNET r = WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL, 0);
  assert_int_equal(rec.n, 2);
  /* A new connection is reported on the session handle, a new request on
   * the request handle, each with the new handle as information. */
  assert_ptr_equal(rec.e[0].handle, s);
  assert_int_equal(rec.e[0].status, WINHTTP_CALLBACK_STATUS_HANDLE_CREATED);
  assert_ptr_equal(rec.e[0].info_handle, c);
  assert_ptr_equal(rec.e[1].handle, r);
  assert_int_equal(rec.e[1].status, WINHTTP_CALLBACK_STATUS_HANDLE_CREATED);
  assert_ptr_equal(rec.e[1].info_handle, r);

  /* Closing the session first: its HANDLE_CLOSING waits for its children;
   * the order is request, connection, session. */
  assert_true(WinHttpCloseHandle(s));
  assert_int_equal(rec.n, 2);
  assert_true(WinHttpCloseHandle(c));
  assert_int_equal(rec.n, 2);
  assert_true(WinHttpCloseHandle(r));
  assert_int_equal(rec.n, 5);
  HINTERNET order[] = {r, c, s};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(rec.e[2 + i].status, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING);
    assert_ptr_equal(rec.e[2 + i].handle, order[i]);
    assert_ptr_equal(rec.e[2 + i].info_handle, order[i]);
    assert_int_equal(rec.e[2 + i].info_len, sizeof(HINTERNET));
  }
  /* Nothing more ever comes for these handles. */
  assert_false(WinHttpCloseHandle(r));
  assert_int_equal(rec.n, 5);
  wh_rec_set_default(NULL);
}

static void test_mask_and_inheritance(void **state)
{
  (void)state;
  struct wh_rec rec;
  wh_rec_init(&rec);
  wh_rec_set_default(&rec);
  HINTERNET s = open_session(0);
  /* Without the HANDLES flags nothing is delivered. */
  WinHttpSetStatusCallback(s, wh_rec_callback, WINHTTP_CALLBACK_FLAG_SEND_REQUEST, 0);
  HINTERNET c = WinHttpConnect(s, L"localhost", 0, 0);
  assert_int_equal(rec.n, 0);
  /* Children copy the callback and mask at creation: changing the session
   * later does not change an existing connection. */
  WinHttpSetStatusCallback(s, wh_rec_callback, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
  HINTERNET r = WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL, 0);
  assert_int_equal(rec.n, 0);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  assert_int_equal(rec.n, 0);
  HINTERNET c2 = WinHttpConnect(s, L"localhost", 0, 0);
  assert_int_equal(wh_rec_count(&rec, s, WINHTTP_CALLBACK_STATUS_HANDLE_CREATED), 1);
  /* A callback removed from a handle stops its notifications. */
  WinHttpSetStatusCallback(c2, NULL, 0, 0);
  WinHttpCloseHandle(c2);
  assert_int_equal(wh_rec_count(&rec, c2, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING), 0);
  WinHttpCloseHandle(s);
  assert_int_equal(wh_rec_count(&rec, s, WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING), 1);
  wh_rec_set_default(NULL);
}

static void test_context_value(void **state)
{
  (void)state;
  struct wh_rec rec;
  wh_rec_init(&rec);
  HINTERNET s = open_session(0);
  DWORD_PTR ctx = (DWORD_PTR)&rec;
  assert_true(WinHttpSetOption(s, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  WinHttpSetStatusCallback(s, wh_rec_callback, WINHTTP_CALLBACK_FLAG_HANDLES, 0);
  HINTERNET c = WinHttpConnect(s, L"localhost", 0, 0);
  HINTERNET r = WinHttpOpenRequest(c, NULL, NULL, NULL, NULL, NULL, 0);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  /* The context is inherited by children and passed back with every
   * notification. */
  assert_int_equal(rec.n, 5);
  for (size_t i = 0; i < rec.n; i++)
    assert_true(rec.e[i].context == ctx);
}

static HINTERNET g_reentry_handle;
static DWORD g_reentry_err;
static void CALLBACK reentry_callback(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)ctx; (void)info; (void)len;
  if (status != WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING)
    return;
  /* Re-entering the API from HANDLE_CLOSING must neither deadlock nor
   * succeed on the dead handle. */
  g_reentry_handle = h;
  WinHttpCloseHandle(h);
  g_reentry_err = GetLastError();
  HINTERNET s2 = WinHttpOpen(NULL, 0, NULL, NULL, 0);
  WinHttpCloseHandle(s2);
}

static void test_callback_reentry(void **state)
{
  (void)state;
  HINTERNET s = open_session(0);
  WinHttpSetStatusCallback(s, reentry_callback, WINHTTP_CALLBACK_FLAG_HANDLES, 0);
  assert_true(WinHttpCloseHandle(s));
  assert_last_error(ERROR_SUCCESS);
  assert_ptr_equal(g_reentry_handle, s);
  assert_int_equal(g_reentry_err, ERROR_INVALID_HANDLE);
}

static void test_check_platform(void **state)
{
  (void)state;
  SetLastError(0xdeadbeef);
  assert_true(WinHttpCheckPlatform());
}

/* Every allocation on the creation paths is made to fail in turn: the call
 * must fail with ERROR_NOT_ENOUGH_MEMORY, leak nothing (ASan) and leave
 * nothing behind in the handle table. */
static void test_out_of_memory(void **state)
{
  (void)state;
  long live = wh_handle_live_count();
  for (long n = 0; n < 64; n++) {
    wh_mem_fail_after(n);
    HINTERNET s = WinHttpOpen(L"agent", WINHTTP_ACCESS_TYPE_NAMED_PROXY, L"p:1", L"<local>", 0);
    DWORD err = GetLastError();
    HINTERNET c = s ? WinHttpConnect(s, L"host", 0, 0) : NULL;
    DWORD cerr = GetLastError();
    LPCWSTR types[] = {L"a/b", L"c/d", NULL};
    HINTERNET r = c ? WinHttpOpenRequest(c, L"PUT", L"/p q", NULL, L"ref", types, WINHTTP_FLAG_REFRESH) : NULL;
    DWORD rerr = GetLastError();
    long failures = wh_mem_fail_count();
    wh_mem_fail_reset();
    if (!s)
      assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
    if (s && !c)
      assert_int_equal(cerr, ERROR_NOT_ENOUGH_MEMORY);
    if (c && !r)
      assert_int_equal(rerr, ERROR_NOT_ENOUGH_MEMORY);
    WinHttpCloseHandle(r);
    WinHttpCloseHandle(c);
    WinHttpCloseHandle(s);
    assert_int_equal(wh_handle_live_count(), live);
    if (failures == 0)
      break; /* every allocation point has been exercised */
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_open_access_types),
    cmocka_unit_test(test_open_flags),
    cmocka_unit_test(test_connect_errors),
    cmocka_unit_test(test_open_request_defaults),
    cmocka_unit_test(test_open_request_headers_and_flags),
    cmocka_unit_test(test_close_handle),
    cmocka_unit_test(test_handle_values_not_reused),
    cmocka_unit_test(test_status_callback_basics),
    cmocka_unit_test(test_created_and_closing_order),
    cmocka_unit_test(test_mask_and_inheritance),
    cmocka_unit_test(test_context_value),
    cmocka_unit_test(test_callback_reentry),
    cmocka_unit_test(test_check_platform),
    cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
