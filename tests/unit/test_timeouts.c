/* WinHttpSetTimeouts and the five timeout options: validation, handle
 * types, defaults, what a connection shows, what a request copies, and
 * the receive-response quirk. Mostly Wine's test_timeouts, whose ok()
 * lines hold on Windows, plus Microsoft's WinHttpSetTimeouts page. */
#include "wh_test.h"

#include <limits.h>
#include <string.h>

static const DWORD timeout_ids[4] = {WINHTTP_OPTION_RESOLVE_TIMEOUT, WINHTTP_OPTION_CONNECT_TIMEOUT,
                                     WINHTTP_OPTION_SEND_TIMEOUT, WINHTTP_OPTION_RECEIVE_TIMEOUT};

struct handles {
  HINTERNET s, c, r;
};

static void open_all(struct handles *h)
{
  h->s = WinHttpOpen(L"timeouts", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(h->s);
  h->c = WinHttpConnect(h->s, L"example.com", 0, 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, NULL, NULL, NULL, NULL, NULL, 0);
  assert_non_null(h->r);
}

static void close_all(struct handles *h)
{
  assert_true(WinHttpCloseHandle(h->r));
  assert_true(WinHttpCloseHandle(h->c));
  assert_true(WinHttpCloseHandle(h->s));
}

/* WinHttpSetTimeouts' error, ERROR_SUCCESS on success (which must leave
 * the last error at ERROR_SUCCESS). */
static DWORD set_timeouts(HINTERNET h, int a, int b, int c, int d)
{
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpSetTimeouts(h, a, b, c, d);
  DWORD err = GetLastError();
  if (ok) {
    assert_int_equal(err, ERROR_SUCCESS);
    return ERROR_SUCCESS;
  }
  assert_int_not_equal(err, ERROR_SUCCESS);
  return err;
}

static DWORD set_dw(HINTERNET h, DWORD opt, DWORD v, DWORD len)
{
  SetLastError(0xdeadbeef);
  DWORD buf[2] = {v, 0};
  BOOL ok = WinHttpSetOption(h, opt, buf, len);
  DWORD err = GetLastError();
  if (ok) {
    assert_int_equal(err, ERROR_SUCCESS);
    return ERROR_SUCCESS;
  }
  assert_int_not_equal(err, ERROR_SUCCESS);
  return err;
}

static DWORD get_dw(HINTERNET h, DWORD opt)
{
  DWORD v = 0xdeadbeef, len = sizeof(v);
  SetLastError(0xdeadbeef);
  assert_true(WinHttpQueryOption(h, opt, &v, &len));
  assert_int_equal(GetLastError(), ERROR_SUCCESS);
  assert_int_equal(len, sizeof(DWORD));
  return v;
}

static void expect_timeouts(HINTERNET h, DWORD a, DWORD b, DWORD c, DWORD d)
{
  assert_int_equal(get_dw(h, WINHTTP_OPTION_RESOLVE_TIMEOUT), a);
  assert_int_equal(get_dw(h, WINHTTP_OPTION_CONNECT_TIMEOUT), b);
  assert_int_equal(get_dw(h, WINHTTP_OPTION_SEND_TIMEOUT), c);
  assert_int_equal(get_dw(h, WINHTTP_OPTION_RECEIVE_TIMEOUT), d);
}

/* Microsoft: resolve 0 (infinite), connect 60 s, send 30 s, receive 30 s;
 * Wine's test_timeouts: receive-response ~0u on Windows. */
static void test_defaults(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h);
  HINTERNET all[] = {h.s, h.c, h.r};
  for (int k = 0; k < 3; k++) {
    expect_timeouts(all[k], 0, 60000, 30000, 30000);
    assert_int_equal(get_dw(all[k], WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT), 0xFFFFFFFF);
  }
  close_all(&h);
}

/* "All negative values other than -1 cause the function to fail with
 * ERROR_INVALID_PARAMETER", on every handle type, before the type is
 * looked at (Wine's test_timeouts on a connection). */
static void test_set_timeouts_validation(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h);
  HINTERNET all[] = {h.s, h.c, h.r};
  static const int bad[] = {-2, -3, INT_MIN};
  for (int k = 0; k < 3; k++) {
    for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
      int v = bad[b];
      assert_int_equal(set_timeouts(all[k], v, 0, 0, 0), ERROR_INVALID_PARAMETER);
      assert_int_equal(set_timeouts(all[k], 0, v, 0, 0), ERROR_INVALID_PARAMETER);
      assert_int_equal(set_timeouts(all[k], 0, 0, v, 0), ERROR_INVALID_PARAMETER);
      assert_int_equal(set_timeouts(all[k], 0, 0, 0, v), ERROR_INVALID_PARAMETER);
    }
  }
  /* Nothing was changed by the failures. */
  expect_timeouts(h.s, 0, 60000, 30000, 30000);
  expect_timeouts(h.r, 0, 60000, 30000, 30000);
  /* Valid values on a connection: wrong handle type. */
  assert_int_equal(set_timeouts(h.c, -1, -1, -1, -1), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(set_timeouts(h.c, 0, 0, 0, 0), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  close_all(&h);
  /* Closed, NULL and never-issued handles. */
  HINTERNET dead[] = {h.s, h.r, NULL, (HINTERNET)1};
  for (size_t i = 0; i < sizeof(dead) / sizeof(dead[0]); i++)
    assert_int_equal(set_timeouts(dead[i], 0, 0, 0, 0), ERROR_INVALID_HANDLE);
}

/* -1 and 0 are accepted (both infinite); -1 reads back as 0xFFFFFFFF. */
static void test_set_timeouts_values(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h);
  HINTERNET targets[] = {h.s, h.r};
  for (int k = 0; k < 2; k++) {
    HINTERNET t = targets[k];
    assert_int_equal(set_timeouts(t, -1, -1, -1, -1), ERROR_SUCCESS);
    expect_timeouts(t, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF);
    assert_int_equal(set_timeouts(t, 0, 0, 0, 0), ERROR_SUCCESS);
    expect_timeouts(t, 0, 0, 0, 0);
    assert_int_equal(set_timeouts(t, 0x0123, 0x4567, 0x89ab, 0xcdef), ERROR_SUCCESS);
    expect_timeouts(t, 0x0123, 0x4567, 0x89ab, 0xcdef);
    assert_int_equal(set_timeouts(t, INT_MAX, 1, -1, 2), ERROR_SUCCESS);
    expect_timeouts(t, (DWORD)INT_MAX, 1, 0xFFFFFFFF, 2);
    /* SetTimeouts leaves the receive-response timeout alone. */
    assert_int_equal(get_dw(t, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT), 0xFFFFFFFF);
  }
  close_all(&h);
}

/* Wine's test_timeouts: any DWORD round-trips through the options, on a
 * session and on a request, and the two stay independent. */
static void test_timeout_options_round_trip(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h);
  static const DWORD values[] = {0, 1, 0xdead, 0xbeefdead, 0xFFFFFFFF};
  for (int i = 0; i < 4; i++) {
    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
      assert_int_equal(set_dw(h.s, timeout_ids[i], values[v], 4), ERROR_SUCCESS);
      assert_int_equal(get_dw(h.s, timeout_ids[i]), values[v]);
      assert_int_equal(set_dw(h.r, timeout_ids[i], values[v] ^ 1, 4), ERROR_SUCCESS);
      assert_int_equal(get_dw(h.r, timeout_ids[i]), values[v] ^ 1);
      assert_int_equal(get_dw(h.s, timeout_ids[i]), values[v]);
    }
  }
  close_all(&h);
}

/* Length rules of the timeout options: at least a DWORD (Wine does not
 * check the length at all; a shorter buffer cannot hold the value), NULL
 * with a length refused. Connections cannot be set (Wine's test_timeouts,
 * on Windows). */
static void test_timeout_option_rules(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(set_dw(h.s, timeout_ids[i], 7, 3), ERROR_INSUFFICIENT_BUFFER);
    assert_int_equal(set_dw(h.s, timeout_ids[i], 7, 0), ERROR_INSUFFICIENT_BUFFER);
    assert_int_equal(set_dw(h.s, timeout_ids[i], 8, 8), ERROR_SUCCESS);
    assert_int_equal(get_dw(h.s, timeout_ids[i]), 8);
    SetLastError(0xdeadbeef);
    assert_false(WinHttpSetOption(h.s, timeout_ids[i], NULL, 4));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    assert_int_equal(set_dw(h.c, timeout_ids[i], 0, 4), ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
    DWORD v = 0, len = 3;
    assert_false(WinHttpQueryOption(h.c, timeout_ids[i], &v, &len));
    assert_int_equal(GetLastError(), ERROR_INSUFFICIENT_BUFFER);
    assert_int_equal(len, 4);
  }
  assert_int_equal(set_dw(h.c, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, 30000, 4),
                   ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  close_all(&h);
}

/* Wine's test_timeouts on Windows: a connection shows its session's
 * current values ("Changing timeout values for session should affect the
 * values for connection"); a request copies them when it is created and
 * is independent afterwards, both ways. */
static void test_inheritance(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h);
  HINTERNET early = h.r;
  assert_int_equal(set_timeouts(h.s, 0x0123, 0x4567, 0x89ab, 0xcdef), ERROR_SUCCESS);
  expect_timeouts(h.c, 0x0123, 0x4567, 0x89ab, 0xcdef);
  expect_timeouts(early, 0, 60000, 30000, 30000);
  for (int i = 0; i < 4; i++)
    assert_int_equal(set_dw(h.s, timeout_ids[i], 0xdead, 4), ERROR_SUCCESS);
  expect_timeouts(h.c, 0xdead, 0xdead, 0xdead, 0xdead);
  HINTERNET late = WinHttpOpenRequest(h.c, NULL, NULL, NULL, NULL, NULL, 0);
  assert_non_null(late);
  expect_timeouts(late, 0xdead, 0xdead, 0xdead, 0xdead);
  assert_int_equal(set_timeouts(late, 0xcdef, 0x89ab, 0x4567, 0x0123), ERROR_SUCCESS);
  expect_timeouts(late, 0xcdef, 0x89ab, 0x4567, 0x0123);
  expect_timeouts(h.s, 0xdead, 0xdead, 0xdead, 0xdead);
  expect_timeouts(h.c, 0xdead, 0xdead, 0xdead, 0xdead);
  for (int i = 0; i < 4; i++)
    assert_int_equal(set_dw(h.s, timeout_ids[i], 0xbeef, 4), ERROR_SUCCESS);
  expect_timeouts(late, 0xcdef, 0x89ab, 0x4567, 0x0123);
  expect_timeouts(early, 0, 60000, 30000, 30000);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, 0x7FFFFFFF, 4),
                   ERROR_SUCCESS);
  assert_int_equal(get_dw(h.c, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT), 0x7FFFFFFF);
  assert_int_equal(get_dw(late, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT), 0xFFFFFFFF);
  assert_true(WinHttpCloseHandle(late));
  close_all(&h);
}

/* Wine's test_timeouts (ok() on Windows, todo_wine in Wine): the
 * receive-response timeout reads back as at least the receive timeout. */
static void test_receive_response_timeout(void **state)
{
  (void)state;
  struct handles h;
  open_all(&h);
  /* Session: receive 48879. */
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_RECEIVE_TIMEOUT, 0xbeef, 4), ERROR_SUCCESS);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, 48878, 4), ERROR_SUCCESS);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT), 48879);
  assert_int_equal(set_dw(h.s, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, 48880, 4), ERROR_SUCCESS);
  assert_int_equal(get_dw(h.s, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT), 48880);
  /* Request: receive 0xbeefdead, receive-response 30000. */
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_RECEIVE_TIMEOUT, 0xbeefdead, 4), ERROR_SUCCESS);
  assert_int_equal(get_dw(h.r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT), 0xFFFFFFFF);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, 30000, 4), ERROR_SUCCESS);
  assert_int_equal(get_dw(h.r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT), 0xbeefdead);
  /* A smaller receive timeout lets the stored value show. */
  assert_int_equal(set_timeouts(h.r, 0, 0, 0, 100), ERROR_SUCCESS);
  assert_int_equal(get_dw(h.r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT), 30000);
  assert_int_equal(set_dw(h.r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, 30000, 3),
                   ERROR_INSUFFICIENT_BUFFER);
  close_all(&h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_set_timeouts_validation),
    cmocka_unit_test(test_set_timeouts_values),
    cmocka_unit_test(test_timeout_options_round_trip),
    cmocka_unit_test(test_timeout_option_rules),
    cmocka_unit_test(test_inheritance),
    cmocka_unit_test(test_receive_response_timeout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
