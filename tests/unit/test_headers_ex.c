/* WinHttpAddRequestHeadersEx and WinHttpQueryHeadersEx (src/api/
 * api_headers_ex.c) through the public API: request headers need no server
 * (every modifier, all-or-nothing arrays, out of memory, wide and narrow
 * strings, argument and handle errors, the caller-buffer protocol and its
 * alignment, index iteration); response headers and trailers come from the
 * fault server (tests/peers/faultserver.py: /ok, /chunked?trailer=1,
 * /set-cookie?c=...), started by the group setup. Behaviour choices are the
 * ones listed in docs/COMPAT.md. */
#include "wh_test.h"
#include "peers.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "net/conn.h"
#include "util/mem.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define ADD WINHTTP_ADDREQ_FLAG_ADD
#define ADD_IF_NEW WINHTTP_ADDREQ_FLAG_ADD_IF_NEW
#define COMMA WINHTTP_ADDREQ_FLAG_COALESCE_WITH_COMMA
#define SEMI WINHTTP_ADDREQ_FLAG_COALESCE_WITH_SEMICOLON
#define REPLACE WINHTTP_ADDREQ_FLAG_REPLACE
#define UNICODE_FLAG WINHTTP_EXTENDED_HEADER_FLAG_UNICODE
#define REQ WINHTTP_QUERY_FLAG_REQUEST_HEADERS
#define TRL WINHTTP_QUERY_FLAG_TRAILERS
#define WIRE WINHTTP_QUERY_FLAG_WIRE_ENCODING
#define ALL WINHTTP_QUERY_EX_ALL_HEADERS

static struct wh_peer fault;

/* --- handles ----------------------------------------------------------------------- */

struct handles {
  HINTERNET ses, con, req;
};

static void open_request(struct handles *h, const wchar_t *path)
{
  h->ses = WinHttpOpen(L"hex", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  assert_non_null(h->ses);
  h->con = WinHttpConnect(h->ses, L"127.0.0.1", wh_peer_port(&fault), 0);
  assert_non_null(h->con);
  h->req = WinHttpOpenRequest(h->con, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(h->req);
}

static void close_all(struct handles *h)
{
  WinHttpCloseHandle(h->req);
  WinHttpCloseHandle(h->con);
  WinHttpCloseHandle(h->ses);
}

/* Send, receive, and with |read_all| read the body to its end. */
static void exchange(struct handles *h, int read_all)
{
  assert_true(WinHttpSendRequest(h->req, WINHTTP_NO_ADDITIONAL_HEADERS, 0,
                                 WINHTTP_NO_REQUEST_DATA, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(h->req, NULL));
  if (!read_all)
    return;
  char buf[4096];
  DWORD got;
  do {
    got = 0;
    assert_true(WinHttpReadData(h->req, buf, sizeof(buf), &got));
  } while (got > 0);
}

/* --- adding -------------------------------------------------------------------------- */

static DWORD add_w(HINTERNET req, DWORD mods, const wchar_t *name, const wchar_t *value)
{
  WINHTTP_EXTENDED_HEADER e;
  e.pwszName = name;
  e.pwszValue = value;
  return WinHttpAddRequestHeadersEx(req, mods, UNICODE_FLAG, 0, 1, &e);
}

static DWORD add_a(HINTERNET req, DWORD mods, const char *name, const char *value)
{
  WINHTTP_EXTENDED_HEADER e;
  e.pszName = name;
  e.pszValue = value;
  return WinHttpAddRequestHeadersEx(req, mods, 0, 0, 1, &e);
}

/* --- querying -------------------------------------------------------------------------- */

/* One query with a buffer of the size a NULL-buffer call reports. On
 * success |*buf| is the caller's buffer (free it), |*arr| and |*n| the
 * result. */
static DWORD query(HINTERNET req, DWORD level, WINHTTP_HEADER_NAME *name, DWORD *index,
                   void **buf, WINHTTP_EXTENDED_HEADER **arr, DWORD *n)
{
  DWORD len = 0, cnt = 0;
  WINHTTP_EXTENDED_HEADER *a = NULL;
  *buf = NULL;
  DWORD err = WinHttpQueryHeadersEx(req, level, 0, 0, index, name, NULL, &len, &a, &cnt);
  if (err != ERROR_INSUFFICIENT_BUFFER)
    return err;
  assert_true(len > 0);
  *buf = malloc(len);
  assert_non_null(*buf);
  err = WinHttpQueryHeadersEx(req, level, 0, 0, index, name, *buf, &len, &a, &cnt);
  if (err == ERROR_SUCCESS) {
    *arr = a;
    *n = cnt;
  } else {
    free(*buf);
    *buf = NULL;
  }
  return err;
}

/* Every header of a query as "Name: value\n" lines: the narrow strings as
 * they are with WINHTTP_QUERY_FLAG_WIRE_ENCODING, else the wide ones with
 * every non-ASCII code point shown as '?'. Returns a malloc'd string, or
 * NULL and the error in |*err|. */
static char *render(HINTERNET req, DWORD level, WINHTTP_HEADER_NAME *name, DWORD *index,
                    DWORD *err)
{
  void *buf;
  WINHTTP_EXTENDED_HEADER *a;
  DWORD n;
  *err = query(req, level, name, index, &buf, &a, &n);
  if (*err != ERROR_SUCCESS)
    return NULL;
  size_t cap = 1, used = 0;
  for (DWORD i = 0; i < n; i++)
    cap += (level & WIRE) ? strlen(a[i].pszName) + strlen(a[i].pszValue) + 3
                          : wcslen(a[i].pwszName) + wcslen(a[i].pwszValue) + 3;
  char *out = malloc(cap);
  assert_non_null(out);
  for (DWORD i = 0; i < n; i++) {
    if (level & WIRE) {
      used += (size_t)sprintf(out + used, "%s: %s\n", a[i].pszName, a[i].pszValue);
      continue;
    }
    for (const wchar_t *w = a[i].pwszName; *w; w++)
      out[used++] = *w < 0x80 ? (char)*w : '?';
    out[used++] = ':';
    out[used++] = ' ';
    for (const wchar_t *w = a[i].pwszValue; *w; w++)
      out[used++] = *w < 0x80 ? (char)*w : '?';
    out[used++] = '\n';
  }
  out[used] = '\0';
  free(buf);
  return out;
}

/* The request store as lines, "" when it is empty. */
static void assert_request(HINTERNET req, const char *expect)
{
  DWORD err;
  char *s = render(req, ALL | REQ | WIRE, NULL, NULL, &err);
  if (!s) {
    assert_int_equal(err, ERROR_WINHTTP_HEADER_NOT_FOUND);
    assert_string_equal("", expect);
    return;
  }
  assert_string_equal(s, expect);
  free(s);
}

static void assert_query(HINTERNET req, DWORD level, WINHTTP_HEADER_NAME *name, DWORD *index,
                         const char *expect)
{
  DWORD err;
  char *s = render(req, level, name, index, &err);
  assert_int_equal(err, ERROR_SUCCESS);
  assert_string_equal(s, expect);
  free(s);
}

static DWORD query_err(HINTERNET req, DWORD level, WINHTTP_HEADER_NAME *name)
{
  void *buf;
  WINHTTP_EXTENDED_HEADER *a;
  DWORD n;
  DWORD err = query(req, level, name, NULL, &buf, &a, &n);
  free(buf);
  return err;
}

/* ==================================== adding ==================================== */

static void test_add_wide_query_wide(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  WINHTTP_EXTENDED_HEADER e[2];
  e[0].pwszName = L"X-One";
  e[0].pwszValue = L"1";
  e[1].pwszName = L"X-Two";
  e[1].pwszValue = L"  two words  ";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, UNICODE_FLAG, 0, 2, e), ERROR_SUCCESS);

  void *buf;
  WINHTTP_EXTENDED_HEADER *a = NULL;
  DWORD n = 0;
  assert_int_equal(query(h.req, ALL | REQ, NULL, NULL, &buf, &a, &n), ERROR_SUCCESS);
  assert_int_equal(n, 2);
  assert_true(wcscmp(a[0].pwszName, L"X-One") == 0);
  assert_true(wcscmp(a[0].pwszValue, L"1") == 0);
  assert_true(wcscmp(a[1].pwszName, L"X-Two") == 0);
  assert_true(wcscmp(a[1].pwszValue, L"two words") == 0); /* trimmed, as AddRequestHeaders */
  free(buf);
  close_all(&h);
}

static void test_add_narrow_query_narrow(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  WINHTTP_EXTENDED_HEADER e[2];
  e[0].pszName = "Accept";
  e[0].pszValue = "text/*";
  e[1].pszName = "X-Empty";
  e[1].pszValue = NULL; /* choice: NULL value = empty value */
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 0, 0, 2, e), ERROR_SUCCESS);
  assert_request(h.req, "Accept: text/*\nX-Empty: \n");
  /* The same store through WinHttpQueryHeaders. */
  WCHAR out[64];
  DWORD len = sizeof(out);
  assert_true(WinHttpQueryHeaders(h.req, WINHTTP_QUERY_ACCEPT | REQ, NULL, out, &len, NULL));
  assert_true(wcscmp(out, L"text/*") == 0);
  close_all(&h);
}

struct mod_case {
  const char *before; /* headers present first, "Name:value" lines */
  DWORD mods;
  const char *name, *value;
  DWORD err;
  const char *after;  /* the store afterwards, as render() prints it */
};

static void test_every_modifier(void **state)
{
  (void)state;
  static const struct mod_case cases[] = {
    {"", ADD, "A", "1", ERROR_SUCCESS, "A: 1\n"},
    {"A:1", ADD, "A", "2", ERROR_SUCCESS, "A: 1\nA: 2\n"},
    {"A:1", 0, "A", "2", ERROR_SUCCESS, "A: 1\nA: 2\n"},
    {"A:1", ADD | 0x1234, "B", "2", ERROR_SUCCESS, "A: 1\nB: 2\n"}, /* index bits ignored */
    {"", ADD_IF_NEW, "A", "1", ERROR_SUCCESS, "A: 1\n"},
    {"A:1", ADD_IF_NEW, "a", "2", ERROR_WINHTTP_HEADER_ALREADY_EXISTS, "A: 1\n"},
    {"A:1\r\nB:2", REPLACE, "A", "9", ERROR_SUCCESS, "A: 9\nB: 2\n"}, /* in place */
    {"A:1\r\nB:2", REPLACE, "A", "", ERROR_SUCCESS, "B: 2\n"},        /* empty: removed */
    {"A:1\r\nB:2", REPLACE, "A", NULL, ERROR_SUCCESS, "B: 2\n"},      /* NULL: removed */
    {"B:2", REPLACE, "A", "1", ERROR_WINHTTP_HEADER_NOT_FOUND, "B: 2\n"},
    {"B:2", REPLACE | ADD, "A", "1", ERROR_SUCCESS, "B: 2\nA: 1\n"},
    {"Accept:text/*", COMMA, "Accept", "audio/*", ERROR_SUCCESS, "Accept: text/*, audio/*\n"},
    {"A:x", SEMI, "a", "y", ERROR_SUCCESS, "A: x; y\n"},
    {"A:x", COMMA | SEMI, "A", "y", ERROR_SUCCESS, "A: x, y\n"}, /* comma wins */
    {"B:2", COMMA, "A", "1", ERROR_SUCCESS, "B: 2\nA: 1\n"},    /* new name: added */
    {"A:x", COMMA, "A", "", ERROR_SUCCESS, "A: x\n"},           /* nothing to coalesce */
    {"A:1", REPLACE | COMMA, "A", "2", ERROR_SUCCESS, "A: 2\n"}, /* REPLACE beats COALESCE */
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    const struct mod_case *c = &cases[i];
    struct handles h;
    open_request(&h, L"/x");
    if (c->before[0]) {
      wchar_t w[64];
      swprintf(w, COUNT(w), L"%s", c->before);
      assert_true(WinHttpAddRequestHeaders(h.req, w, (DWORD)-1, ADD));
    }
    DWORD err = add_a(h.req, c->mods, c->name, c->value);
    if (err != c->err)
      fail_msg("case %zu: error %lu, expected %lu", i, (unsigned long)err, (unsigned long)c->err);
    assert_request(h.req, c->after);
    close_all(&h);
  }
}

/* Validation comes before any modifier error and before anything is
 * applied, and a modifier error on pair k leaves no trace of pairs 1..k-1. */
static void test_all_or_nothing(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  assert_int_equal(add_a(h.req, ADD, "A", "1"), ERROR_SUCCESS);

  WINHTTP_EXTENDED_HEADER e[3];
  e[0].pszName = "B";
  e[0].pszValue = "2";
  e[1].pszName = "A";
  e[1].pszValue = "3";
  e[2].pszName = "C";
  e[2].pszValue = "4";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD_IF_NEW, 0, 0, 3, e),
                   ERROR_WINHTTP_HEADER_ALREADY_EXISTS);
  assert_request(h.req, "A: 1\n");

  /* A malformed third pair: INVALID_HEADER although pair 2 would fail
   * ADD_IF_NEW first. */
  e[2].pszName = "bad name";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD_IF_NEW, 0, 0, 3, e),
                   ERROR_WINHTTP_INVALID_HEADER);
  e[2].pszName = "C";
  e[2].pszValue = "x\r\nInjected: 1";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 0, 0, 3, e),
                   ERROR_WINHTTP_INVALID_HEADER);
  e[2].pszValue = "x\ny";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 0, 0, 3, e),
                   ERROR_WINHTTP_INVALID_HEADER);
  e[2].pszName = "";
  e[2].pszValue = "4";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 0, 0, 3, e),
                   ERROR_WINHTTP_INVALID_HEADER);
  e[2].pszName = "C:";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 0, 0, 3, e),
                   ERROR_WINHTTP_INVALID_HEADER);
  e[2].pszName = NULL;
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 0, 0, 3, e), ERROR_INVALID_PARAMETER);
  assert_request(h.req, "A: 1\n");

  /* REPLACE of a missing name as the last pair undoes an earlier REPLACE. */
  e[0].pszName = "A";
  e[0].pszValue = "changed";
  e[1].pszName = "Missing";
  e[1].pszValue = "1";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, REPLACE, 0, 0, 2, e),
                   ERROR_WINHTTP_HEADER_NOT_FOUND);
  assert_request(h.req, "A: 1\n");

  /* And the whole array when it succeeds, in order. */
  e[0].pszName = "B";
  e[0].pszValue = "2";
  e[1].pszName = "C";
  e[1].pszValue = "3";
  e[2].pszName = "A";
  e[2].pszValue = "4";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD | COMMA, 0, 0, 3, e), ERROR_SUCCESS);
  assert_request(h.req, "A: 1, 4\nB: 2\nC: 3\n");
  close_all(&h);
}

/* Every allocation failure is ERROR_NOT_ENOUGH_MEMORY with the store as it
 * was; the first run with no failure succeeds. */
static void test_add_out_of_memory(void **state)
{
  (void)state;
  struct handles h;
  WINHTTP_EXTENDED_HEADER e[3];
  e[0].pwszName = L"A";
  e[0].pwszValue = L"new";
  e[1].pwszName = L"B";
  e[1].pwszValue = L"2";
  e[2].pwszName = L"C";
  e[2].pwszValue = L"3";
  for (long k = 0;; k++) {
    open_request(&h, L"/x");
    assert_int_equal(add_w(h.req, ADD, L"A", L"1"), ERROR_SUCCESS);
    assert_int_equal(add_w(h.req, ADD, L"Z", L"26"), ERROR_SUCCESS);
    wh_mem_fail_after(k);
    DWORD err = WinHttpAddRequestHeadersEx(h.req, REPLACE | ADD, UNICODE_FLAG, 0, 3, e);
    long failed = wh_mem_fail_count();
    wh_mem_fail_reset();
    if (failed == 0) {
      assert_int_equal(err, ERROR_SUCCESS);
      assert_request(h.req, "A: new\nZ: 26\nB: 2\nC: 3\n");
      close_all(&h);
      assert_true(k > 3);
      break;
    }
    assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
    assert_request(h.req, "A: 1\nZ: 26\n");
    close_all(&h);
  }
}

static void test_add_arguments(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  WINHTTP_EXTENDED_HEADER e;
  e.pszName = "A";
  e.pszValue = "1";
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 2, 0, 1, &e), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 1ull << 40, 0, 1, &e),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 0, 1, 1, &e), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 0, 0, 0, &e), ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpAddRequestHeadersEx(h.req, ADD, 0, 0, 1, NULL), ERROR_INVALID_PARAMETER);
  assert_int_equal(add_w(h.req, ADD, NULL, L"1"), ERROR_INVALID_PARAMETER);
  assert_int_equal(add_a(h.req, ADD, NULL, "1"), ERROR_INVALID_PARAMETER);
  assert_int_equal(add_w(h.req, ADD, L"", L"1"), ERROR_WINHTTP_INVALID_HEADER);
  assert_int_equal(add_w(h.req, ADD, L"A B", L"1"), ERROR_WINHTTP_INVALID_HEADER);
  assert_int_equal(add_w(h.req, ADD, L"A", L"1\r2"), ERROR_WINHTTP_INVALID_HEADER);
  assert_request(h.req, "");

  /* Handles: NULL and closed are INVALID_HANDLE, others INCORRECT_HANDLE_TYPE. */
  assert_int_equal(WinHttpAddRequestHeadersEx(NULL, ADD, 0, 0, 1, &e), ERROR_INVALID_HANDLE);
  assert_int_equal(WinHttpAddRequestHeadersEx(h.ses, ADD, 0, 0, 1, &e),
                   ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(WinHttpAddRequestHeadersEx(h.con, ADD, 0, 0, 1, &e),
                   ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  HINTERNET req = h.req;
  assert_true(WinHttpCloseHandle(req));
  assert_int_equal(WinHttpAddRequestHeadersEx(req, ADD, 0, 0, 1, &e), ERROR_INVALID_HANDLE);
  h.req = NULL;
  close_all(&h);
}

/* Wide strings are converted to UTF-8; narrow ones are sent as given. */
static void test_add_non_ascii(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  assert_int_equal(add_w(h.req, ADD, L"X-W", L"caf\u00e9 \U0001F600"), ERROR_SUCCESS);
  assert_int_equal(add_a(h.req, ADD, "X-N", "caf\xc3\xa9"), ERROR_SUCCESS);
  assert_int_equal(add_a(h.req, ADD, "X-L", "caf\xe9"), ERROR_SUCCESS); /* not UTF-8: kept */
  assert_int_equal(add_w(h.req, ADD, L"X-\u00e9", L"1"), ERROR_WINHTTP_INVALID_HEADER);
  assert_int_equal(add_a(h.req, ADD, "X-\xc3\xa9", "1"), ERROR_WINHTTP_INVALID_HEADER);
  assert_request(h.req, "X-W: caf\xc3\xa9 \xf0\x9f\x98\x80\nX-N: caf\xc3\xa9\nX-L: caf\xe9\n");

  void *buf;
  WINHTTP_EXTENDED_HEADER *a;
  DWORD n;
  assert_int_equal(query(h.req, ALL | REQ, NULL, NULL, &buf, &a, &n), ERROR_SUCCESS);
  assert_int_equal(n, 3);
  assert_true(wcscmp(a[0].pwszValue, L"caf\u00e9 \U0001F600") == 0);
  assert_true(wcscmp(a[1].pwszValue, L"caf\u00e9") == 0);
  assert_true(wcscmp(a[2].pwszValue, L"caf\uFFFD") == 0); /* malformed UTF-8: U+FFFD */
  free(buf);
  close_all(&h);
}

/* =================================== querying =================================== */

static void check_inside(const void *buf, DWORD len, const void *p, size_t n)
{
  const char *b = buf, *q = p;
  assert_true(q >= b && q + n <= b + len);
}

/* The array and its strings live in the caller's buffer, correctly aligned,
 * for every misalignment of the buffer; the reported size fits any of them,
 * and one byte less fails for the worst. */
static void test_buffer_protocol(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  assert_int_equal(add_w(h.req, ADD, L"Accept", L"*/*"), ERROR_SUCCESS);
  assert_int_equal(add_w(h.req, ADD, L"X-Long", L"abcdefghijklmnopqrstuvwxyz"), ERROR_SUCCESS);
  assert_int_equal(add_w(h.req, ADD, L"Y", L""), ERROR_SUCCESS);

  for (int wire = 0; wire < 2; wire++) {
    DWORD level = ALL | REQ | (wire ? WIRE : 0);
    DWORD need = 0, cnt = 77;
    WINHTTP_EXTENDED_HEADER *a = NULL;
    assert_int_equal(WinHttpQueryHeadersEx(h.req, level, 0, 0, NULL, NULL, NULL, &need, &a, &cnt),
                     ERROR_INSUFFICIENT_BUFFER);
    assert_null(a);
    assert_int_equal(cnt, 77); /* outputs untouched on failure */
    size_t strings = wire ? 7 + 4 + 7 + 27 + 2 + 1 : (7 + 4 + 7 + 27 + 2 + 1) * sizeof(WCHAR);
    size_t align = alignof(WINHTTP_EXTENDED_HEADER);
    assert_int_equal(need, 3 * sizeof(WINHTTP_EXTENDED_HEADER) + strings + align - 1);

    unsigned char *mem = malloc(need + 16);
    assert_non_null(mem);
    for (size_t off = 0; off < 16; off++) {
      unsigned char *buf = mem + off;
      size_t pad = (align - (uintptr_t)buf % align) % align;
      /* Too small for this address by one byte. */
      DWORD len = (DWORD)(need - (align - 1) + pad - 1);
      assert_int_equal(WinHttpQueryHeadersEx(h.req, level, 0, 0, NULL, NULL, buf, &len, &a, &cnt),
                       ERROR_INSUFFICIENT_BUFFER);
      assert_int_equal(len, need);
      len = need;
      a = NULL;
      memset(mem, 0xAA, need + 16);
      assert_int_equal(WinHttpQueryHeadersEx(h.req, level, 0, 0, NULL, NULL, buf, &len, &a, &cnt),
                       ERROR_SUCCESS);
      assert_int_equal(cnt, 3);
      assert_int_equal(len, need - (align - 1) + pad);
      assert_ptr_equal(a, buf + pad);
      assert_int_equal((uintptr_t)a % align, 0);
      check_inside(buf, len, a, 3 * sizeof(*a));
      for (DWORD i = 0; i < cnt; i++) {
        if (wire) {
          check_inside(buf, len, a[i].pszName, strlen(a[i].pszName) + 1);
          check_inside(buf, len, a[i].pszValue, strlen(a[i].pszValue) + 1);
        } else {
          assert_int_equal((uintptr_t)a[i].pwszName % alignof(WCHAR), 0);
          assert_int_equal((uintptr_t)a[i].pwszValue % alignof(WCHAR), 0);
          check_inside(buf, len, a[i].pwszName, (wcslen(a[i].pwszName) + 1) * sizeof(WCHAR));
          check_inside(buf, len, a[i].pwszValue, (wcslen(a[i].pwszValue) + 1) * sizeof(WCHAR));
        }
      }
      if (wire) {
        assert_string_equal(a[1].pszName, "X-Long");
        assert_string_equal(a[1].pszValue, "abcdefghijklmnopqrstuvwxyz");
        assert_string_equal(a[2].pszValue, "");
      } else {
        assert_true(wcscmp(a[0].pwszName, L"Accept") == 0);
        assert_true(wcscmp(a[2].pwszValue, L"") == 0);
      }
    }
    free(mem);
  }

  /* ppHeaders may be NULL (_Out_writes_opt_); the count is still set. */
  unsigned char *buf = malloc(1024);
  assert_non_null(buf);
  DWORD len = 1024, cnt = 0;
  assert_int_equal(WinHttpQueryHeadersEx(h.req, ALL | REQ, 0, 0, NULL, NULL, buf, &len, NULL, &cnt),
                   ERROR_SUCCESS);
  assert_int_equal(cnt, 3);
  free(buf);
  close_all(&h);
}

/* Named headers: the index-th instance, the index moving to the next one on
 * success only; NULL index means the first. */
static void test_index_iteration(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  assert_int_equal(add_a(h.req, ADD, "X-A", "one"), ERROR_SUCCESS);
  assert_int_equal(add_a(h.req, ADD, "Other", "o"), ERROR_SUCCESS);
  assert_int_equal(add_a(h.req, ADD, "x-a", "two"), ERROR_SUCCESS);
  assert_int_equal(add_a(h.req, ADD, "X-A", "three"), ERROR_SUCCESS);

  WINHTTP_HEADER_NAME wn;
  wn.pwszName = L"x-A";
  DWORD index = 0;
  assert_query(h.req, WINHTTP_QUERY_CUSTOM | REQ, &wn, &index, "X-A: one\n");
  assert_int_equal(index, 1);
  assert_query(h.req, WINHTTP_QUERY_CUSTOM | REQ, &wn, &index, "x-a: two\n");
  assert_int_equal(index, 2);
  assert_query(h.req, WINHTTP_QUERY_CUSTOM | REQ, &wn, &index, "X-A: three\n");
  assert_int_equal(index, 3);
  void *buf;
  WINHTTP_EXTENDED_HEADER *a;
  DWORD n;
  assert_int_equal(query(h.req, WINHTTP_QUERY_CUSTOM | REQ, &wn, &index, &buf, &a, &n),
                   ERROR_WINHTTP_HEADER_NOT_FOUND);
  assert_int_equal(index, 3);
  assert_query(h.req, WINHTTP_QUERY_CUSTOM | REQ, &wn, NULL, "X-A: one\n");

  /* INSUFFICIENT_BUFFER leaves the index alone. */
  index = 1;
  DWORD len = 0, cnt = 0;
  assert_int_equal(WinHttpQueryHeadersEx(h.req, WINHTTP_QUERY_CUSTOM | REQ, 0, 0, &index, &wn,
                                         NULL, &len, &a, &cnt),
                   ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(index, 1);

  /* Narrow names with WIRE_ENCODING; ALL_HEADERS ignores the index. */
  WINHTTP_HEADER_NAME nn;
  nn.pszName = "OTHER";
  index = 0;
  assert_query(h.req, WINHTTP_QUERY_CUSTOM | REQ | WIRE, &nn, &index, "Other: o\n");
  assert_int_equal(index, 1);
  index = 2;
  assert_query(h.req, ALL | REQ | WIRE, NULL, &index,
               "X-A: one\nOther: o\nx-a: two\nX-A: three\n");
  assert_int_equal(index, 2);
  close_all(&h);
}

/* A known level maps to its header name. */
static void test_known_levels(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  assert_int_equal(add_w(h.req, ADD, L"accept", L"a/b"), ERROR_SUCCESS);
  assert_int_equal(add_w(h.req, ADD, L"Content-Type", L"text/plain"), ERROR_SUCCESS);
  assert_query(h.req, WINHTTP_QUERY_ACCEPT | REQ, NULL, NULL, "accept: a/b\n");
  assert_query(h.req, WINHTTP_QUERY_CONTENT_TYPE | REQ | WIRE, NULL, NULL,
               "Content-Type: text/plain\n");
  assert_int_equal(query_err(h.req, WINHTTP_QUERY_USER_AGENT | REQ, NULL),
                   ERROR_WINHTTP_HEADER_NOT_FOUND);
  /* Windows-internal ECHO levels never match. */
  assert_int_equal(query_err(h.req, 71 | REQ, NULL), ERROR_WINHTTP_HEADER_NOT_FOUND);
  close_all(&h);
}

static void test_query_arguments(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  assert_int_equal(add_w(h.req, ADD, L"A", L"1"), ERROR_SUCCESS);
  static const DWORD bad[] = {
    WINHTTP_QUERY_VERSION | REQ,
    WINHTTP_QUERY_STATUS_CODE | REQ,
    WINHTTP_QUERY_STATUS_TEXT | REQ,
    WINHTTP_QUERY_RAW_HEADERS_CRLF | REQ,
    WINHTTP_QUERY_REQUEST_METHOD | REQ,
    WINHTTP_QUERY_ACCEPT | REQ | WINHTTP_QUERY_FLAG_NUMBER,
    WINHTTP_QUERY_ACCEPT | REQ | WINHTTP_QUERY_FLAG_NUMBER64,
    WINHTTP_QUERY_DATE | REQ | WINHTTP_QUERY_FLAG_SYSTEMTIME,
    ALL | REQ | WINHTTP_QUERY_FLAG_NUMBER,
    ALL | REQ | 0x00400000u,  /* unknown modifier */
    ALL | REQ | TRL,          /* choice: no request trailers */
    (WINHTTP_QUERY_MAX + 1) | REQ,
    WINHTTP_QUERY_CUSTOM | REQ, /* NULL pHeaderName */
  };
  for (size_t i = 0; i < COUNT(bad); i++)
    if (query_err(h.req, bad[i], NULL) != ERROR_INVALID_PARAMETER)
      fail_msg("level %#lx is not INVALID_PARAMETER", (unsigned long)bad[i]);

  WINHTTP_HEADER_NAME hn;
  hn.pwszName = NULL;
  assert_int_equal(query_err(h.req, WINHTTP_QUERY_CUSTOM | REQ, &hn), ERROR_INVALID_PARAMETER);
  assert_int_equal(query_err(h.req, WINHTTP_QUERY_CUSTOM | REQ | WIRE, &hn),
                   ERROR_INVALID_PARAMETER);

  DWORD len = 0, cnt = 0;
  WINHTTP_EXTENDED_HEADER *a = NULL;
  assert_int_equal(WinHttpQueryHeadersEx(h.req, ALL | REQ, 1, 0, NULL, NULL, NULL, &len, &a, &cnt),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpQueryHeadersEx(h.req, ALL | REQ, 0, 0, NULL, NULL, NULL, NULL, &a, &cnt),
                   ERROR_INVALID_PARAMETER);
  assert_int_equal(WinHttpQueryHeadersEx(h.req, ALL | REQ, 0, 0, NULL, NULL, NULL, &len, &a, NULL),
                   ERROR_INVALID_PARAMETER);
  /* uiCodePage is not validated (Microsoft: "No validation is done"). */
  assert_int_equal(WinHttpQueryHeadersEx(h.req, ALL | REQ, 0, 12345, NULL, NULL, NULL, &len, &a,
                                         &cnt),
                   ERROR_INSUFFICIENT_BUFFER);

  assert_int_equal(WinHttpQueryHeadersEx(NULL, ALL | REQ, 0, 0, NULL, NULL, NULL, &len, &a, &cnt),
                   ERROR_INVALID_HANDLE);
  assert_int_equal(WinHttpQueryHeadersEx(h.con, ALL | REQ, 0, 0, NULL, NULL, NULL, &len, &a, &cnt),
                   ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  assert_int_equal(WinHttpQueryHeadersEx(h.ses, ALL | REQ, 0, 0, NULL, NULL, NULL, &len, &a, &cnt),
                   ERROR_WINHTTP_INCORRECT_HANDLE_TYPE);
  HINTERNET req = h.req;
  WinHttpCloseHandle(req);
  assert_int_equal(WinHttpQueryHeadersEx(req, ALL | REQ, 0, 0, NULL, NULL, NULL, &len, &a, &cnt),
                   ERROR_INVALID_HANDLE);
  h.req = NULL;
  close_all(&h);
}

/* No response yet: response levels and trailers are INCORRECT_HANDLE_STATE;
 * an empty request store has no headers at all. */
static void test_before_response(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/x");
  assert_int_equal(query_err(h.req, ALL | REQ, NULL), ERROR_WINHTTP_HEADER_NOT_FOUND);
  assert_int_equal(query_err(h.req, ALL, NULL), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(query_err(h.req, WINHTTP_QUERY_CONTENT_TYPE, NULL),
                   ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_int_equal(query_err(h.req, ALL | TRL, NULL), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  /* Parameter errors still come first. */
  assert_int_equal(query_err(h.req, WINHTTP_QUERY_STATUS_CODE, NULL), ERROR_INVALID_PARAMETER);
  close_all(&h);
}

/* ============================== with the fault server ============================= */

static void test_response_headers(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/ok?n=10&ctype=text/x-test");
  assert_int_equal(add_w(h.req, ADD, L"X-Sent", L"yes"), ERROR_SUCCESS);
  exchange(&h, 0);
  assert_query(h.req, ALL, NULL, NULL, "Content-Type: text/x-test\nContent-Length: 10\n");
  assert_query(h.req, ALL | WIRE, NULL, NULL, "Content-Type: text/x-test\nContent-Length: 10\n");
  assert_query(h.req, WINHTTP_QUERY_CONTENT_LENGTH, NULL, NULL, "Content-Length: 10\n");
  WINHTTP_HEADER_NAME hn;
  hn.pwszName = L"content-type";
  assert_query(h.req, WINHTTP_QUERY_CUSTOM, &hn, NULL, "Content-Type: text/x-test\n");
  assert_int_equal(query_err(h.req, WINHTTP_QUERY_SET_COOKIE, NULL),
                   ERROR_WINHTTP_HEADER_NOT_FOUND);
  /* The request store holds what was sent, the engine's headers included. */
  hn.pwszName = L"X-Sent";
  assert_query(h.req, WINHTTP_QUERY_CUSTOM | REQ, &hn, NULL, "X-Sent: yes\n");
  char host[64];
  snprintf(host, sizeof(host), "Host: 127.0.0.1:%u\n", (unsigned)wh_peer_port(&fault));
  assert_query(h.req, WINHTTP_QUERY_HOST | REQ | WIRE, NULL, NULL, host);
  /* Trailers before the body was read: not yet. */
  assert_int_equal(query_err(h.req, ALL | TRL, NULL), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  char body[64];
  DWORD got = 0;
  assert_true(WinHttpReadData(h.req, body, sizeof(body), &got));
  assert_int_equal(got, 10);
  assert_true(WinHttpReadData(h.req, body, sizeof(body), &got));
  assert_int_equal(got, 0);
  /* Read to the end: no trailers on a Content-Length body; the response
   * headers stay. */
  assert_int_equal(query_err(h.req, ALL | TRL, NULL), ERROR_WINHTTP_HEADER_NOT_FOUND);
  assert_query(h.req, WINHTTP_QUERY_CONTENT_LENGTH, NULL, NULL, "Content-Length: 10\n");
  close_all(&h);
}

static void test_repeated_response_headers(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/set-cookie?c=a%3D1&c=b%3D2&c=c%3D3");
  exchange(&h, 1);
  DWORD index = 0;
  assert_query(h.req, WINHTTP_QUERY_SET_COOKIE, NULL, &index, "Set-Cookie: a=1\n");
  assert_query(h.req, WINHTTP_QUERY_SET_COOKIE, NULL, &index, "Set-Cookie: b=2\n");
  assert_query(h.req, WINHTTP_QUERY_SET_COOKIE | WIRE, NULL, &index, "Set-Cookie: c=3\n");
  assert_int_equal(index, 3);
  assert_int_equal(query_err(h.req, ALL | TRL, NULL), ERROR_WINHTTP_HEADER_NOT_FOUND);
  DWORD err;
  char *all = render(h.req, ALL, NULL, NULL, &err);
  assert_non_null(all);
  assert_non_null(strstr(all, "Set-Cookie: a=1\nSet-Cookie: b=2\nSet-Cookie: c=3\n"));
  free(all);
  close_all(&h);
}

/* A byte that is not UTF-8 on the wire: as is with WIRE_ENCODING, U+FFFD in
 * the wide form (the fault server writes its head in Latin-1). */
static void test_wire_bytes(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/set-cookie?c=caf%C3%A9");
  exchange(&h, 1);
  assert_query(h.req, WINHTTP_QUERY_SET_COOKIE | WIRE, NULL, NULL, "Set-Cookie: caf\xe9\n");
  void *buf;
  WINHTTP_EXTENDED_HEADER *a;
  DWORD n;
  assert_int_equal(query(h.req, WINHTTP_QUERY_SET_COOKIE, NULL, NULL, &buf, &a, &n),
                   ERROR_SUCCESS);
  assert_int_equal(n, 1);
  assert_true(wcscmp(a[0].pwszValue, L"caf\uFFFD") == 0);
  free(buf);
  close_all(&h);
}

static void test_trailers(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/chunked?trailer=1&n=100");
  exchange(&h, 0);
  assert_int_equal(query_err(h.req, ALL | TRL, NULL), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  char body[40];
  DWORD got = 0;
  assert_true(WinHttpReadData(h.req, body, sizeof(body), &got));
  assert_int_equal(got, sizeof(body));
  assert_int_equal(query_err(h.req, ALL | TRL, NULL), ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  do
    assert_true(WinHttpReadData(h.req, body, sizeof(body), &got));
  while (got > 0);

  assert_query(h.req, ALL | TRL, NULL, NULL, "X-Trailer: yes\nX-Checksum: 100\n");
  assert_query(h.req, ALL | TRL | WIRE, NULL, NULL, "X-Trailer: yes\nX-Checksum: 100\n");
  WINHTTP_HEADER_NAME hn;
  hn.pszName = "x-checksum";
  assert_query(h.req, WINHTTP_QUERY_CUSTOM | TRL | WIRE, &hn, NULL, "X-Checksum: 100\n");
  assert_int_equal(query_err(h.req, WINHTTP_QUERY_CONTENT_TYPE | TRL, NULL),
                   ERROR_WINHTTP_HEADER_NOT_FOUND);
  /* The head is separate from the trailers. */
  assert_query(h.req, WINHTTP_QUERY_TRANSFER_ENCODING, NULL, NULL,
               "Transfer-Encoding: chunked\n");
  hn.pwszName = L"X-Trailer";
  assert_int_equal(query_err(h.req, WINHTTP_QUERY_CUSTOM, &hn), ERROR_WINHTTP_HEADER_NOT_FOUND);
  close_all(&h);
}

static void test_chunked_without_trailers(void **state)
{
  (void)state;
  struct handles h;
  open_request(&h, L"/chunked?n=10");
  exchange(&h, 1);
  assert_int_equal(query_err(h.req, ALL | TRL, NULL), ERROR_WINHTTP_HEADER_NOT_FOUND);
  close_all(&h);
}

/* --- group --------------------------------------------------------------------------- */

static int setup(void **state)
{
  (void)state;
  return wh_peer_start_fault(&fault) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_add_wide_query_wide),
    cmocka_unit_test(test_add_narrow_query_narrow),
    cmocka_unit_test(test_every_modifier),
    cmocka_unit_test(test_all_or_nothing),
    cmocka_unit_test(test_add_out_of_memory),
    cmocka_unit_test(test_add_arguments),
    cmocka_unit_test(test_add_non_ascii),
    cmocka_unit_test(test_buffer_protocol),
    cmocka_unit_test(test_index_iteration),
    cmocka_unit_test(test_known_levels),
    cmocka_unit_test(test_query_arguments),
    cmocka_unit_test(test_before_response),
    cmocka_unit_test(test_response_headers),
    cmocka_unit_test(test_repeated_response_headers),
    cmocka_unit_test(test_wire_bytes),
    cmocka_unit_test(test_trailers),
    cmocka_unit_test(test_chunked_without_trailers),
  };
  return cmocka_run_group_tests_name("headers_ex", tests, setup, teardown);
}
