/* The header store (src/proto/headers.c) and the WINHTTP_QUERY_* level table
 * (src/proto/query_level.c), without handles: every relevant check of Wine's
 * test_WinHttpAddHeaders, test_bad_header, test_basic_request,
 * test_multi_authentication and test_passport_auth, turned into tables, plus
 * the choices those tests leave open (see docs/COMPAT.md), limits and
 * out-of-memory paths. Where Wine's tests accept two answers, the Windows
 * one is asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <winhttp.h>

#include "proto/headers.h"
#include "proto/query_level.h"
#include "util/buf.h"
#include "util/mem.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal with its length, NULs inside included. */
#define T(s) s, sizeof(s) - 1

#define ADD WINHTTP_ADDREQ_FLAG_ADD
#define ADD_IF_NEW WINHTTP_ADDREQ_FLAG_ADD_IF_NEW
#define COALESCE WINHTTP_ADDREQ_FLAG_COALESCE
#define COMMA WINHTTP_ADDREQ_FLAG_COALESCE_WITH_COMMA
#define SEMI WINHTTP_ADDREQ_FLAG_COALESCE_WITH_SEMICOLON
#define REPLACE WINHTTP_ADDREQ_FLAG_REPLACE
#define REQ WINHTTP_QUERY_FLAG_REQUEST_HEADERS
#define CUSTOM WINHTTP_QUERY_CUSTOM

/* --- helpers --------------------------------------------------------------- */

/* The store serialised, as a heap string the caller frees with wh_free. */
static char *ser(const struct wh_headers *h)
{
  struct wh_buf b;
  wh_buf_init(&b, 1 << 20);
  assert_int_equal(wh_headers_serialize(h, &b), ERROR_SUCCESS);
  char *s = wh_buf_take(&b, NULL);
  assert_non_null(s);
  return s;
}

static void assert_store(const struct wh_headers *h, const char *expect)
{
  char *s = ser(h);
  assert_string_equal(s, expect);
  wh_free(s);
}

static void fill(struct wh_headers *h, const char *text)
{
  wh_headers_init(h);
  if (text)
    assert_int_equal(wh_headers_apply(h, text, strlen(text), ADD), ERROR_SUCCESS);
}

static const struct wh_query_ctx request_ctx = {
  .verb = "POST", .path = "/posttest.php", .version = "HTTP/1.1", .now = 1700000000};

/* Queries |level| (CUSTOM with |name|) and, when |expect| is non-NULL,
 * checks the text and the next index. */
static void check_query(const struct wh_headers *h, const struct wh_query_ctx *ctx, DWORD level,
                        const char *name, DWORD index, DWORD err, const char *expect,
                        DWORD next)
{
  struct wh_query_result r;
  DWORD got = wh_headers_query(h, ctx, level, name, name ? strlen(name) : 0, index, &r);
  assert_int_equal(got, err);
  if (err == ERROR_SUCCESS) {
    assert_int_equal(r.type, WH_Q_TEXT);
    assert_non_null(r.text);
    assert_int_equal(r.text_len, strlen(r.text));
    if (expect)
      assert_string_equal(r.text, expect);
    assert_int_equal(r.next_index, next);
  } else {
    assert_null(r.text);
  }
  wh_query_result_free(&r);
}

/* --- Wine test_WinHttpAddHeaders, step by step ------------------------------ */

enum op { APPLY, QUERY };

struct step {
  enum op op;
  const char *text; /* APPLY: header text; QUERY: header name for CUSTOM */
  DWORD mods;       /* APPLY: modifiers */
  DWORD err;
  DWORD index;      /* QUERY */
  const char *value;
  DWORD next;
};

static void run_steps(const struct step *steps, size_t n, struct wh_headers *h)
{
  for (size_t i = 0; i < n; i++) {
    const struct step *s = &steps[i];
    if (s->op == APPLY) {
      DWORD got = wh_headers_apply(h, s->text, strlen(s->text), s->mods);
      if (got != s->err)
        fail_msg("step %zu: apply \"%s\" %#x: got %u, want %u", i, s->text, (unsigned)s->mods,
                 (unsigned)got, (unsigned)s->err);
    } else {
      check_query(h, &request_ctx, CUSTOM | REQ, s->text, s->index, s->err, s->value, s->next);
    }
  }
}

#define NF ERROR_WINHTTP_HEADER_NOT_FOUND
#define BAD ERROR_WINHTTP_INVALID_HEADER

static void test_wine_add_headers(void **state)
{
  (void)state;
  /* Wine's "reverse" branch is Windows: REPLACE keeps the header's place,
   * so after "test1, test2" + REPLACE test3 the order is "test3, test2". */
  static const struct step steps[] = {
    {QUERY, "Warning", 0, NF, 0, NULL, 0},
    {APPLY, "Warning:test1", ADD, 0, 0, NULL, 0},
    {QUERY, "Warning", 0, 0, 0, "test1", 1},
    {QUERY, "Warning", 0, NF, 1, NULL, 0},
    {APPLY, "Warning:test2", ADD, 0, 0, NULL, 0},
    {QUERY, "Warning", 0, 0, 0, "test1", 1},
    {QUERY, "Warning", 0, 0, 1, "test2", 2},
    {APPLY, "Warning:test3", REPLACE, 0, 0, NULL, 0},
    {QUERY, "Warning", 0, 0, 0, "test3", 1},
    {QUERY, "Warning", 0, 0, 1, "test2", 2},
    {APPLY, "Warning:test4", ADD_IF_NEW, ERROR_WINHTTP_HEADER_ALREADY_EXISTS, 0, NULL, 0},
    {QUERY, "Warning", 0, 0, 0, "test3", 1},
    {QUERY, "Warning", 0, 0, 1, "test2", 2},
    {QUERY, "Warning", 0, NF, 2, NULL, 0},
    {APPLY, "Warning:test4", COALESCE, 0, 0, NULL, 0},
    {QUERY, "Warning", 0, 0, 0, "test3, test4", 1},
    {QUERY, "Warning", 0, 0, 1, "test2", 2},
    {QUERY, "Warning", 0, NF, 2, NULL, 0},
    {APPLY, "Warning:test5", COMMA, 0, 0, NULL, 0},
    {QUERY, "Warning", 0, 0, 0, "test3, test4, test5", 1},
    {QUERY, "Warning", 0, 0, 1, "test2", 2},
    {QUERY, "Warning", 0, NF, 2, NULL, 0},
    {APPLY, "Warning:test6", SEMI, 0, 0, NULL, 0},
    {QUERY, "Warning", 0, 0, 0, "test3, test4, test5; test6", 1},
    {QUERY, "Warning", 0, 0, 1, "test2", 2},
    {QUERY, "Warning", 0, NF, 2, NULL, 0},
    {APPLY, "Warning:test4", ADD | REPLACE, 0, 0, NULL, 0},
    {QUERY, "Warning", 0, 0, 0, "test4", 1},
    {QUERY, "Warning", 0, 0, 1, "test2", 2},
    {QUERY, "Warning", 0, NF, 2, NULL, 0},
    {APPLY, ":", ADD, BAD, 0, NULL, 0},
    {APPLY, "a:", ADD, 0, 0, NULL, 0},
    {QUERY, "a", 0, 0, 0, "", 1},
    {APPLY, ":b", ADD, BAD, 0, NULL, 0},
    {APPLY, "cd", ADD, BAD, 0, NULL, 0},
    {APPLY, " e :f", ADD, BAD, 0, NULL, 0},
    {APPLY, "field: value ", ADD, 0, 0, NULL, 0},
    {QUERY, "field", 0, 0, 0, "value", 1}, /* Wine keeps "value "; the test allows both */
    {APPLY, "Range: bytes=0-773\r\n", ADD | REPLACE, 0, 0, NULL, 0},
    {QUERY, "Range", 0, 0, 0, "bytes=0-773", 1},
    {QUERY, "name", 0, NF, 0, NULL, 0},
    {APPLY, "name: value", REPLACE, NF, 0, NULL, 0},
    {APPLY, "name: value", ADD, 0, 0, NULL, 0},
    {QUERY, "name", 0, 0, 0, "value", 1},
    {APPLY, "name:", REPLACE, 0, 0, NULL, 0},
    {QUERY, "name", 0, NF, 0, NULL, 0},
    {APPLY, "name: value", 0, 0, 0, NULL, 0},
    {QUERY, "name", 0, 0, 0, "value", 1},
  };
  struct wh_headers h;
  wh_headers_init(&h);
  run_steps(steps, COUNT(steps), &h);
  assert_store(&h, "Warning: test4\r\nWarning: test2\r\na: \r\nfield: value\r\n"
                   "Range: bytes=0-773\r\nname: value\r\n");
  wh_headers_free(&h);
}

/* RAW_HEADERS(_CRLF) of request headers before any send: the request line
 * comes first, the index is not moved (test_WinHttpAddHeaders). */
static void test_wine_raw_request_headers(void **state)
{
  (void)state;
  struct wh_headers h;
  struct wh_query_result r;
  fill(&h, "Warning:test1");

  static const char crlf[] = "POST /posttest.php HTTP/1.1\r\nWarning: test1\r\n\r\n";
  for (DWORD index = 0; index < 3; index += 2) {
    assert_int_equal(wh_headers_query(&h, &request_ctx, WINHTTP_QUERY_RAW_HEADERS_CRLF | REQ,
                                      T("Warning"), index, &r),
                     ERROR_SUCCESS);
    assert_int_equal(r.type, WH_Q_TEXT);
    assert_int_equal(r.text_len, sizeof(crlf) - 1);
    assert_string_equal(r.text, crlf);
    assert_int_equal(r.next_index, index);
    wh_query_result_free(&r);
  }

  static const char nul[] = "POST /posttest.php HTTP/1.1\0Warning: test1\0";
  assert_int_equal(wh_headers_query(&h, &request_ctx, WINHTTP_QUERY_RAW_HEADERS | REQ, T("Warning"),
                                    0, &r),
                   ERROR_SUCCESS);
  assert_int_equal(r.type, WH_Q_RAW_NUL);
  assert_int_equal(r.text_len, sizeof(nul) - 1);
  assert_memory_equal(r.text, nul, sizeof(nul)); /* and the terminator */
  assert_int_equal(r.next_index, 0);
  wh_query_result_free(&r);

  /* An empty store still has the request line and the blank line. */
  wh_headers_clear(&h);
  check_query(&h, &request_ctx, WINHTTP_QUERY_RAW_HEADERS_CRLF | REQ, NULL, 0, 0,
              "POST /posttest.php HTTP/1.1\r\n\r\n", 0);
  wh_headers_free(&h);
}

/* test_bad_header: every kind of line break, as AddRequestHeaders and the
 * headers of SendRequest see them. */
static void test_wine_bad_header(void **state)
{
  (void)state;
  static const char text[] = "Content-Type: text/html\n\r"
                             "Test1: Value1\n"
                             "Test2: Value2\n\n\n"
                             "Test3: Value3\r\r\r"
                             "Test4: Value4\r\n\r\n"
                             "Cookie: 111";
  static const struct {
    const char *name, *value;
  } expect[] = {
    {"Content-Type", "text/html"}, {"Test1", "Value1"}, {"Test2", "Value2"},
    {"Test3", "Value3"},           {"Test4", "Value4"}, {"Cookie", "111"},
  };
  struct wh_headers h;
  wh_headers_init(&h);
  assert_int_equal(wh_headers_apply(&h, T(text), ADD), ERROR_SUCCESS);
  for (size_t i = 0; i < COUNT(expect); i++)
    check_query(&h, &request_ctx, CUSTOM | REQ, expect[i].name, 0, 0, expect[i].value, 1);
  /* SendRequest adds its headers with ADD | REPLACE. */
  assert_int_equal(wh_headers_apply(&h, T("Test5: Value5\rTest6: Value6"), ADD | REPLACE),
                   ERROR_SUCCESS);
  assert_store(&h, "Content-Type: text/html\r\nTest1: Value1\r\nTest2: Value2\r\nTest3: Value3\r\n"
                   "Test4: Value4\r\nCookie: 111\r\nTest5: Value5\r\nTest6: Value6\r\n");
  wh_headers_free(&h);
}

/* --- parsing --------------------------------------------------------------- */

static void test_invalid_lines(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    size_t len;
  } bad[] = {
    {T(":")},           {T(":b")},           {T("cd")},          {T(" e :f")},
    {T("x : y")},       {T(" x: y")},        {T("\tx: y")},      {T("a b: c")},
    {T("a\tb: c")},     {T("(x): y")},       {T("a@b: c")},      {T("a/b: c")},
    {T("a=b: c")},      {T("\"a\": c")},     {T("a\x01: c")},    {T("a\x7f: c")},
    {T("caf\xc3\xa9: x")}, {T("   ")},       {T("x")},           {T("B: 2\r\nbad")},
    {T("bad\r\nB: 2")}, {T("B: 2\nC: 3\n:")}, {T("B: 2\r\n e: x\r\n")},
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    struct wh_headers h;
    fill(&h, "A: 1");
    DWORD got = wh_headers_apply(&h, bad[i].text, bad[i].len, ADD);
    if (got != ERROR_WINHTTP_INVALID_HEADER)
      fail_msg("case %zu: got %u", i, (unsigned)got);
    assert_store(&h, "A: 1\r\n"); /* nothing applied, not even the good lines */
    wh_headers_free(&h);
  }
}

static void test_line_values(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    size_t len;
    const char *name, *value;
  } cases[] = {
    {T("a:"), "a", ""},
    {T("field: value "), "field", "value"},
    {T("x:\t v \t"), "x", "v"},
    {T("x:a:b"), "x", "a:b"},
    {T("x:  a  b  "), "x", "a  b"},
    {T("x:\x01y"), "x", "\x01y"},
    {T("x: caf\xc3\xa9"), "x", "caf\xc3\xa9"},
    {T("X-Y_z.~!#$%&'*+^`|09: v"), "X-Y_z.~!#$%&'*+^`|09", "v"},
    {T("x: a\0\r\nEvil: yes"), "x", "a"}, /* a NUL ends the text */
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    struct wh_headers h;
    wh_headers_init(&h);
    assert_int_equal(wh_headers_apply(&h, cases[i].text, cases[i].len, ADD), ERROR_SUCCESS);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].name, cases[i].name);
    assert_int_equal(h.v[0].name_len, strlen(cases[i].name));
    assert_string_equal(h.v[0].value, cases[i].value);
    assert_int_equal(h.v[0].value_len, strlen(cases[i].value));
    wh_headers_free(&h);
  }
}

static void test_line_breaks(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    size_t len;
    const char *expect;
  } cases[] = {
    {T("A: 1\r\nB: 2"), "A: 1\r\nB: 2\r\n"},
    {T("A: 1\nB: 2"), "A: 1\r\nB: 2\r\n"},
    {T("A: 1\rB: 2"), "A: 1\r\nB: 2\r\n"},
    {T("A: 1\n\rB: 2"), "A: 1\r\nB: 2\r\n"},
    {T("A: 1\r\n\r\nB: 2\r\n"), "A: 1\r\nB: 2\r\n"},
    {T("\r\nA: 1"), "A: 1\r\n"},
    {T("A: 1\r\r\rB: 2"), "A: 1\r\nB: 2\r\n"},
    {T("A: 1\n\n\nB: 2\n"), "A: 1\r\nB: 2\r\n"},
    {T("A: 1\n\r\n\rB: 2"), "A: 1\r\nB: 2\r\n"},
    {T("\r\n"), ""},
    {T("\n\r\n\r\r\r"), ""},
    {T(""), ""},
    {T("\0A: 1"), ""},
    {T("A: 1\0B: 2"), "A: 1\r\n"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    struct wh_headers h;
    wh_headers_init(&h);
    assert_int_equal(wh_headers_apply(&h, cases[i].text, cases[i].len, ADD), ERROR_SUCCESS);
    assert_store(&h, cases[i].expect);
    wh_headers_free(&h);
  }
  struct wh_headers h;
  wh_headers_init(&h);
  assert_int_equal(wh_headers_apply(&h, NULL, 0, ADD), ERROR_SUCCESS);
  assert_int_equal(h.n, 0);
  wh_headers_free(&h);
}

/* --- modifiers ------------------------------------------------------------- */

static void test_modifiers(void **state)
{
  (void)state;
  static const struct {
    const char *before, *text;
    DWORD mods, err;
    const char *after;
  } cases[] = {
    /* no modifier, ADD, COALESCE of a new name: append, duplicates too */
    {"A: 1", "A: 2", 0, 0, "A: 1\r\nA: 2\r\n"},
    {"A: 1", "a: 2", ADD, 0, "A: 1\r\na: 2\r\n"},
    {"A: 1", "B: 2", COALESCE, 0, "A: 1\r\nB: 2\r\n"},
    {"A: 1", "B: 2", SEMI, 0, "A: 1\r\nB: 2\r\n"},
    /* ADD_IF_NEW: the name is compared without case */
    {"A: 1", "B: 2", ADD_IF_NEW, 0, "A: 1\r\nB: 2\r\n"},
    {"A: 1", "a: 2", ADD_IF_NEW, ERROR_WINHTTP_HEADER_ALREADY_EXISTS, "A: 1\r\n"},
    {"A: 1", "A: 2", ADD_IF_NEW | REPLACE, ERROR_WINHTTP_HEADER_ALREADY_EXISTS, "A: 1\r\n"},
    {"A: 1", "A: 2", ADD_IF_NEW | COALESCE, ERROR_WINHTTP_HEADER_ALREADY_EXISTS, "A: 1\r\n"},
    /* REPLACE: first match, in place, name spelling kept */
    {"A: 1\r\nB: 2\r\nC: 3", "b: x", REPLACE, 0, "A: 1\r\nB: x\r\nC: 3\r\n"},
    {"B: 1\r\nA: 0\r\nB: 2", "B: x", REPLACE, 0, "B: x\r\nA: 0\r\nB: 2\r\n"},
    {"B: 1\r\nA: 0\r\nB: 2", "B:", REPLACE, 0, "A: 0\r\nB: 2\r\n"},
    {"B: 1\r\nA: 0\r\nB: 2", "B:  \t ", REPLACE, 0, "A: 0\r\nB: 2\r\n"},
    {"A: 1", "B: 2", REPLACE, ERROR_WINHTTP_HEADER_NOT_FOUND, "A: 1\r\n"},
    {"A: 1", "B:", REPLACE, ERROR_WINHTTP_HEADER_NOT_FOUND, "A: 1\r\n"},
    {"A: 1", "B: 2", ADD | REPLACE, 0, "A: 1\r\nB: 2\r\n"},
    {"A: 1", "B:", ADD | REPLACE, 0, "A: 1\r\nB: \r\n"},
    {"A: 1", "A: 2", REPLACE | COALESCE, 0, "A: 2\r\n"},
    /* COALESCE onto the first header of that name */
    {"A: 1\r\nA: 2", "A: 3", COALESCE, 0, "A: 1, 3\r\nA: 2\r\n"},
    {"A: 1", "A: 3", COMMA, 0, "A: 1, 3\r\n"},
    {"A: 1", "A: 3", SEMI, 0, "A: 1; 3\r\n"},
    {"A: 1", "A: 3", COMMA | SEMI, 0, "A: 1, 3\r\n"},
    {"A: 1", "A:", COALESCE, 0, "A: 1\r\n"},
    {"A:", "A: 3", COALESCE, 0, "A: , 3\r\n"},
    /* the index bits and unknown bits are ignored */
    {"A: 1\r\nA: 2", "A: x", REPLACE | 1, 0, "A: x\r\nA: 2\r\n"},
    {"A: 1", "A: 2", ADD | 0xFFFF, 0, "A: 1\r\nA: 2\r\n"},
    {"A: 1", "A: 2", 0x00FF0000, 0, "A: 1\r\nA: 2\r\n"},
    {"A: 1", "A: 2", ADD_IF_NEW | 7, ERROR_WINHTTP_HEADER_ALREADY_EXISTS, "A: 1\r\n"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    struct wh_headers h;
    fill(&h, cases[i].before);
    DWORD got = wh_headers_apply(&h, cases[i].text, strlen(cases[i].text), cases[i].mods);
    if (got != cases[i].err)
      fail_msg("case %zu: got %u, want %u", i, (unsigned)got, (unsigned)cases[i].err);
    char *s = ser(&h);
    if (strcmp(s, cases[i].after) != 0)
      fail_msg("case %zu: store \"%s\"", i, s);
    wh_free(s);
    wh_headers_free(&h);
  }
}

/* Several lines: all or nothing, each line seeing the ones before it. */
static void test_multi_line_atomic(void **state)
{
  (void)state;
  static const struct {
    const char *before, *text;
    DWORD mods, err;
    const char *after;
  } cases[] = {
    {"A: 1", "B: 2\r\nA: 3", ADD_IF_NEW, ERROR_WINHTTP_HEADER_ALREADY_EXISTS, "A: 1\r\n"},
    {"A: 1", "B: 2\r\nB: 3", ADD_IF_NEW, ERROR_WINHTTP_HEADER_ALREADY_EXISTS, "A: 1\r\n"},
    {"A: 1", "A: 2\r\nC: 3", REPLACE, ERROR_WINHTTP_HEADER_NOT_FOUND, "A: 1\r\n"},
    {"A: 1", "A: 2\r\nA: 3", REPLACE, 0, "A: 3\r\n"},
    {NULL, "X: 1\r\nX: 2\r\nX: 3", COALESCE, 0, "X: 1, 2, 3\r\n"},
    {NULL, "X: 1\r\nX:\r\nY: 2", ADD | REPLACE, 0, "Y: 2\r\n"},
    {"A: 1\r\nB: 2", "C: 3\nD: 4", ADD, 0, "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    struct wh_headers h;
    fill(&h, cases[i].before);
    DWORD got = wh_headers_apply(&h, cases[i].text, strlen(cases[i].text), cases[i].mods);
    if (got != cases[i].err)
      fail_msg("case %zu: got %u, want %u", i, (unsigned)got, (unsigned)cases[i].err);
    assert_store(&h, cases[i].after);
    wh_headers_free(&h);
  }
}

static void test_apply_one(void **state)
{
  (void)state;
  static const struct {
    const char *name;
    size_t nlen;
    const char *value;
    size_t vlen;
    DWORD err;
    const char *after;
  } cases[] = {
    {T("X"), T("v"), 0, "X: v\r\n"},
    {T("X"), T("  v \t"), 0, "X: v\r\n"},
    {T("X"), NULL, 0, 0, "X: \r\n"},
    {T("X"), T(""), 0, "X: \r\n"},
    {T("X"), T("a: b, c"), 0, "X: a: b, c\r\n"},
    {T("X"), T("a\r\nEvil: yes"), BAD, ""},
    {T("X"), T("a\rb"), BAD, ""},
    {T("X"), T("a\nb"), BAD, ""},
    {T("X"), T("a\0b"), BAD, ""},
    {T("X Y"), T("v"), BAD, ""},
    {T("X:"), T("v"), BAD, ""},
    {T(""), T("v"), BAD, ""},
    {T("X\0"), T("v"), BAD, ""},
    {T("X\r\nY"), T("v"), BAD, ""},
    {NULL, 0, T("v"), BAD, ""},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    struct wh_headers h;
    wh_headers_init(&h);
    DWORD got = wh_headers_apply_one(&h, cases[i].name, cases[i].nlen, cases[i].value,
                                     cases[i].vlen, ADD);
    if (got != cases[i].err)
      fail_msg("case %zu: got %u, want %u", i, (unsigned)got, (unsigned)cases[i].err);
    assert_store(&h, cases[i].after);
    wh_headers_free(&h);
  }
  /* The same modifier rules as the text form. */
  struct wh_headers h;
  fill(&h, "A: 1");
  assert_int_equal(wh_headers_apply_one(&h, T("a"), T("2"), COALESCE), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply_one(&h, T("B"), T("3"), REPLACE),
                   ERROR_WINHTTP_HEADER_NOT_FOUND);
  assert_int_equal(wh_headers_apply_one(&h, T("A"), T("9"), ADD_IF_NEW),
                   ERROR_WINHTTP_HEADER_ALREADY_EXISTS);
  assert_store(&h, "A: 1, 2\r\n");
  wh_headers_free(&h);
}

/* --- lookup, serialisation, lifecycle ------------------------------------------ */

static void test_find(void **state)
{
  (void)state;
  struct wh_headers h;
  fill(&h, "Set-Cookie: a\r\nX: 0\r\nset-cookie: b\r\nSET-COOKIE: c");
  static const char *expect[] = {"a", "b", "c"};
  for (size_t i = 0; i < COUNT(expect); i++) {
    const struct wh_header *e = wh_headers_find(&h, T("sEt-CoOkIe"), i);
    assert_non_null(e);
    assert_string_equal(e->value, expect[i]);
  }
  assert_null(wh_headers_find(&h, T("Set-Cookie"), 3));
  assert_null(wh_headers_find(&h, T("Set-Cooki"), 0));
  assert_null(wh_headers_find(&h, T("Set-Cookie2"), 0));
  assert_null(wh_headers_find(&h, T(""), 0));
  wh_headers_free(&h);
}

static void test_serialize(void **state)
{
  (void)state;
  struct wh_headers h;
  struct wh_buf b;
  fill(&h, "A: 1\r\nBb: 22");
  wh_buf_init(&b, 64);
  assert_int_equal(wh_buf_adds(&b, "GET / HTTP/1.1\r\n"), 0);
  assert_int_equal(wh_headers_serialize(&h, &b), ERROR_SUCCESS);
  assert_string_equal(b.p, "GET / HTTP/1.1\r\nA: 1\r\nBb: 22\r\n");
  wh_buf_free(&b);

  /* Too small: the buffer keeps what it had. */
  wh_buf_init(&b, 20);
  assert_int_equal(wh_buf_adds(&b, "GET / HTTP/1.1\r\n"), 0);
  assert_int_equal(wh_headers_serialize(&h, &b), ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  assert_int_equal(b.len, 16);
  assert_string_equal(b.p, "GET / HTTP/1.1\r\n");
  wh_buf_free(&b);

  /* The bytes field tracks the serialised size through every mutation. */
  assert_int_equal(h.bytes, strlen("A: 1\r\nBb: 22\r\n"));
  assert_int_equal(wh_headers_apply(&h, T("A: 333"), REPLACE), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply(&h, T("Bb: 4"), SEMI), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply(&h, T("C: 5"), ADD), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply(&h, T("A:"), REPLACE), ERROR_SUCCESS);
  char *s = ser(&h);
  assert_string_equal(s, "Bb: 22; 4\r\nC: 5\r\n");
  assert_int_equal(h.bytes, strlen(s));
  wh_free(s);
  wh_headers_free(&h);
}

/* wh_headers_serialize_as: the first header of the name goes out with the
 * given value, in its place; none: appended; the store is not changed (the
 * jar's cookies are merged this way, core/exchange.c). */
static void test_serialize_as(void **state)
{
  (void)state;
  struct wh_headers h;
  struct wh_buf b;
  fill(&h, "A: 1\r\ncookie: app=1\r\nCookie: two\r\nB: 2");
  wh_buf_init(&b, 256);
  assert_int_equal(wh_headers_serialize_as(&h, "Cookie", 6, "app=1; jar=2", 12, &b),
                   ERROR_SUCCESS);
  assert_string_equal(b.p, "A: 1\r\ncookie: app=1; jar=2\r\nCookie: two\r\nB: 2\r\n");
  assert_store(&h, "A: 1\r\ncookie: app=1\r\nCookie: two\r\nB: 2\r\n");
  wh_buf_reset(&b);
  assert_int_equal(wh_headers_serialize_as(&h, "X", 1, "y", 1, &b), ERROR_SUCCESS);
  assert_string_equal(b.p, "A: 1\r\ncookie: app=1\r\nCookie: two\r\nB: 2\r\nX: y\r\n");
  /* What the store would refuse is refused, and the buffer keeps what it had. */
  wh_buf_reset(&b);
  assert_int_equal(wh_buf_adds(&b, "GET / HTTP/1.1\r\n"), 0);
  assert_int_equal(wh_headers_serialize_as(&h, "X", 1, "a\r\nb", 4, &b),
                   ERROR_WINHTTP_INVALID_HEADER);
  assert_int_equal(wh_headers_serialize_as(&h, "X Y", 3, "v", 1, &b),
                   ERROR_WINHTTP_INVALID_HEADER);
  assert_string_equal(b.p, "GET / HTTP/1.1\r\n");
  wh_buf_free(&b);
  /* Too small: the buffer keeps what it had. */
  wh_buf_init(&b, 30);
  assert_int_equal(wh_buf_adds(&b, "GET / HTTP/1.1\r\n"), 0);
  assert_int_equal(wh_headers_serialize_as(&h, "A", 1, "2", 1, &b),
                   ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  assert_int_equal(b.len, 16);
  assert_string_equal(b.p, "GET / HTTP/1.1\r\n");
  wh_buf_free(&b);
  wh_headers_free(&h);
}

static void test_lifecycle(void **state)
{
  (void)state;
  struct wh_headers h;
  wh_headers_init(&h);
  assert_int_equal(h.n, 0);
  assert_null(h.v);
  wh_headers_free(&h); /* nothing allocated: fine */
  wh_headers_set_limits(&h, 100, 3);
  assert_int_equal(wh_headers_apply(&h, T("A: 1\r\nB: 2"), ADD), ERROR_SUCCESS);
  wh_headers_clear(&h);
  assert_int_equal(h.n, 0);
  assert_int_equal(h.bytes, 0);
  assert_int_equal(h.max_bytes, 100);
  assert_int_equal(h.max_count, 3);
  /* Many headers: the array grows. */
  wh_headers_set_limits(&h, 0, 0);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(wh_headers_apply(&h, T("X-Many: v"), ADD), ERROR_SUCCESS);
  assert_int_equal(h.n, 1000);
  assert_non_null(wh_headers_find(&h, T("x-many"), 999));
  wh_headers_free(&h);
  wh_headers_free(&h); /* twice: fine */
}

/* --- limits ---------------------------------------------------------------- */

static void test_limits(void **state)
{
  (void)state;
  struct wh_headers h;
  wh_headers_init(&h);
  wh_headers_set_limits(&h, 0, 2);
  assert_int_equal(wh_headers_apply(&h, T("A: 1\r\nB: 2\r\nC: 3"), ADD),
                   ERROR_WINHTTP_HEADER_COUNT_EXCEEDED);
  assert_int_equal(h.n, 0);
  assert_int_equal(wh_headers_apply(&h, T("A: 1\r\nB: 2"), ADD), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply(&h, T("C: 3"), ADD), ERROR_WINHTTP_HEADER_COUNT_EXCEEDED);
  /* Changing a header needs no new slot. */
  assert_int_equal(wh_headers_apply(&h, T("A: 9"), REPLACE), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply(&h, T("A: 8"), COALESCE), ERROR_SUCCESS);
  assert_store(&h, "A: 9, 8\r\nB: 2\r\n");
  wh_headers_free(&h);

  /* "A: 1\r\n" is 6 bytes. */
  wh_headers_init(&h);
  wh_headers_set_limits(&h, 12, 0);
  assert_int_equal(wh_headers_apply(&h, T("A: 1\r\nB: 2"), ADD), ERROR_SUCCESS);
  assert_int_equal(h.bytes, 12);
  assert_int_equal(wh_headers_apply(&h, T("C:"), ADD), ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  assert_int_equal(wh_headers_apply(&h, T("A: 12"), REPLACE), ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  assert_int_equal(wh_headers_apply(&h, T("A: 2"), COALESCE), ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  assert_int_equal(wh_headers_apply(&h, T("A: 7"), REPLACE), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply_one(&h, T("Long"), T("value"), ADD),
                   ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  assert_store(&h, "A: 7\r\nB: 2\r\n");
  /* Lowered below the content: shrinking is still allowed, growth is not. */
  wh_headers_set_limits(&h, 4, 1);
  assert_int_equal(wh_headers_apply(&h, T("B:"), REPLACE), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply(&h, T("A: 77"), REPLACE), ERROR_WINHTTP_HEADER_SIZE_OVERFLOW);
  assert_int_equal(wh_headers_apply(&h, T("A:"), REPLACE), ERROR_SUCCESS);
  assert_int_equal(h.bytes, 0);
  wh_headers_free(&h);
}

/* --- out of memory: every failure leaves the store as it was -------------------- */

enum oom_op {
  OOM_APPLY_ONE_LINE,
  OOM_APPLY_LINES,
  OOM_APPLY_ONE,
  OOM_REPLACE,
  OOM_COALESCE,
  OOM_GROW,
  OOM_QUERY_TEXT,
  OOM_QUERY_RAW,
  OOM_SERIALIZE
};

static DWORD run_oom_op(enum oom_op op, struct wh_headers *h, struct wh_query_result *r,
                        struct wh_buf *b)
{
  switch (op) {
  case OOM_APPLY_ONE_LINE:
    return wh_headers_apply(h, T("New: v"), ADD);
  case OOM_APPLY_LINES:
    return wh_headers_apply(h, T("New: v\r\nA: x\r\nB: y"), COALESCE);
  case OOM_APPLY_ONE:
    return wh_headers_apply_one(h, T("New"), T("v"), ADD);
  case OOM_REPLACE:
    return wh_headers_apply(h, T("A: longer value"), REPLACE);
  case OOM_COALESCE:
    return wh_headers_apply(h, T("B: more"), SEMI);
  case OOM_GROW: {
    DWORD err = ERROR_SUCCESS;
    for (int i = 0; i < 20 && !err; i++)
      err = wh_headers_apply(h, T("G: v"), ADD);
    return err;
  }
  case OOM_QUERY_TEXT:
    return wh_headers_query(h, &request_ctx, WINHTTP_QUERY_CUSTOM | REQ, T("B"), 0, r);
  case OOM_QUERY_RAW:
    return wh_headers_query(h, &request_ctx, WINHTTP_QUERY_RAW_HEADERS_CRLF | REQ, NULL, 0, 0, r);
  case OOM_SERIALIZE:
    return wh_headers_serialize(h, b);
  }
  return ERROR_INVALID_PARAMETER;
}

static void test_out_of_memory(void **state)
{
  (void)state;
  for (enum oom_op op = OOM_APPLY_ONE_LINE; op <= OOM_SERIALIZE; op++) {
    long failures = 0;
    for (long k = 0;; k++) {
      struct wh_headers h;
      struct wh_query_result r = {0};
      struct wh_buf b;
      /* Long enough that serialising it outgrows the buffer's first block. */
      fill(&h, "A: 1\r\nB: 2\r\nLong: 0123456789012345678901234567890123456789"
               "0123456789012345678901234567890123456789");
      wh_buf_init(&b, 1 << 16);
      assert_int_equal(wh_buf_adds(&b, "keep"), 0);
      char *before = ser(&h);

      wh_mem_fail_after(k);
      DWORD err = run_oom_op(op, &h, &r, &b);
      wh_mem_fail_reset();

      if (err == ERROR_SUCCESS) {
        wh_query_result_free(&r);
        wh_buf_free(&b);
        wh_headers_free(&h);
        wh_free(before);
        break;
      }
      /* OOM_GROW stops on the first failure, after earlier successes. */
      assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
      failures++;
      if (op != OOM_GROW) {
        char *after = ser(&h);
        assert_string_equal(before, after);
        wh_free(after);
      }
      assert_null(r.text);
      assert_string_equal(b.p, "keep");
      wh_buf_free(&b);
      wh_headers_free(&h);
      wh_free(before);
      assert_true(k < 200);
    }
    if (failures == 0)
      fail_msg("op %d never allocated", (int)op);
  }
}

/* --- the level table ------------------------------------------------------- */

#define L(sym) {sym, #sym}

static void test_level_table(void **state)
{
  (void)state;
  /* Every level of our <winhttp.h> is in the table under its own value. */
  static const struct {
    DWORD level;
    const char *symbol;
  } syms[] = {
    L(WINHTTP_QUERY_MIME_VERSION), L(WINHTTP_QUERY_CONTENT_TYPE),
    L(WINHTTP_QUERY_CONTENT_TRANSFER_ENCODING), L(WINHTTP_QUERY_CONTENT_ID),
    L(WINHTTP_QUERY_CONTENT_DESCRIPTION), L(WINHTTP_QUERY_CONTENT_LENGTH),
    L(WINHTTP_QUERY_CONTENT_LANGUAGE), L(WINHTTP_QUERY_ALLOW), L(WINHTTP_QUERY_PUBLIC),
    L(WINHTTP_QUERY_DATE), L(WINHTTP_QUERY_EXPIRES), L(WINHTTP_QUERY_LAST_MODIFIED),
    L(WINHTTP_QUERY_MESSAGE_ID), L(WINHTTP_QUERY_URI), L(WINHTTP_QUERY_DERIVED_FROM),
    L(WINHTTP_QUERY_COST), L(WINHTTP_QUERY_LINK), L(WINHTTP_QUERY_PRAGMA),
    L(WINHTTP_QUERY_VERSION), L(WINHTTP_QUERY_STATUS_CODE), L(WINHTTP_QUERY_STATUS_TEXT),
    L(WINHTTP_QUERY_RAW_HEADERS), L(WINHTTP_QUERY_RAW_HEADERS_CRLF), L(WINHTTP_QUERY_CONNECTION),
    L(WINHTTP_QUERY_ACCEPT), L(WINHTTP_QUERY_ACCEPT_CHARSET), L(WINHTTP_QUERY_ACCEPT_ENCODING),
    L(WINHTTP_QUERY_ACCEPT_LANGUAGE), L(WINHTTP_QUERY_AUTHORIZATION),
    L(WINHTTP_QUERY_CONTENT_ENCODING), L(WINHTTP_QUERY_FORWARDED), L(WINHTTP_QUERY_FROM),
    L(WINHTTP_QUERY_IF_MODIFIED_SINCE), L(WINHTTP_QUERY_LOCATION), L(WINHTTP_QUERY_ORIG_URI),
    L(WINHTTP_QUERY_REFERER), L(WINHTTP_QUERY_RETRY_AFTER), L(WINHTTP_QUERY_SERVER),
    L(WINHTTP_QUERY_TITLE), L(WINHTTP_QUERY_USER_AGENT), L(WINHTTP_QUERY_WWW_AUTHENTICATE),
    L(WINHTTP_QUERY_PROXY_AUTHENTICATE), L(WINHTTP_QUERY_ACCEPT_RANGES),
    L(WINHTTP_QUERY_SET_COOKIE), L(WINHTTP_QUERY_COOKIE), L(WINHTTP_QUERY_REQUEST_METHOD),
    L(WINHTTP_QUERY_REFRESH), L(WINHTTP_QUERY_CONTENT_DISPOSITION), L(WINHTTP_QUERY_AGE),
    L(WINHTTP_QUERY_CACHE_CONTROL), L(WINHTTP_QUERY_CONTENT_BASE),
    L(WINHTTP_QUERY_CONTENT_LOCATION), L(WINHTTP_QUERY_CONTENT_MD5),
    L(WINHTTP_QUERY_CONTENT_RANGE), L(WINHTTP_QUERY_ETAG), L(WINHTTP_QUERY_HOST),
    L(WINHTTP_QUERY_IF_MATCH), L(WINHTTP_QUERY_IF_NONE_MATCH), L(WINHTTP_QUERY_IF_RANGE),
    L(WINHTTP_QUERY_IF_UNMODIFIED_SINCE), L(WINHTTP_QUERY_MAX_FORWARDS),
    L(WINHTTP_QUERY_PROXY_AUTHORIZATION), L(WINHTTP_QUERY_RANGE),
    L(WINHTTP_QUERY_TRANSFER_ENCODING), L(WINHTTP_QUERY_UPGRADE), L(WINHTTP_QUERY_VARY),
    L(WINHTTP_QUERY_VIA), L(WINHTTP_QUERY_WARNING), L(WINHTTP_QUERY_EXPECT),
    L(WINHTTP_QUERY_PROXY_CONNECTION), L(WINHTTP_QUERY_UNLESS_MODIFIED_SINCE),
    {WH_QUERY_ECHO_REQUEST, "WINHTTP_QUERY_ECHO_REQUEST"},
    {WH_QUERY_ECHO_REPLY, "WINHTTP_QUERY_ECHO_REPLY"},
    {WH_QUERY_ECHO_HEADERS, "WINHTTP_QUERY_ECHO_HEADERS"},
    {WH_QUERY_ECHO_HEADERS_CRLF, "WINHTTP_QUERY_ECHO_HEADERS_CRLF"},
    L(WINHTTP_QUERY_PROXY_SUPPORT), L(WINHTTP_QUERY_AUTHENTICATION_INFO),
    L(WINHTTP_QUERY_PASSPORT_URLS), L(WINHTTP_QUERY_PASSPORT_CONFIG), L(WINHTTP_QUERY_CUSTOM),
  };
  assert_int_equal(COUNT(syms), WINHTTP_QUERY_MAX + 2);
  assert_int_equal(WINHTTP_QUERY_MAX, WH_QUERY_LEVEL_MAX);
  for (size_t i = 0; i < COUNT(syms); i++) {
    const struct wh_query_level *ql = wh_query_level_get(syms[i].level);
    assert_non_null(ql);
    assert_int_equal(ql->level, syms[i].level);
    assert_string_equal(ql->symbol, syms[i].symbol);
    if (i <= WINHTTP_QUERY_MAX)
      assert_int_equal(syms[i].level, i); /* listed in value order: no gaps, no clashes */
    assert_true((ql->kind == WH_QK_HEADER) == (ql->name != NULL));
    if (ql->name)
      assert_int_equal(ql->name_len, strlen(ql->name));
  }
  static const DWORD invalid[] = {WINHTTP_QUERY_MAX + 1, 100, 0x1000, 0xFFFE, 0x10000, 0xFFFFFFFF};
  for (size_t i = 0; i < COUNT(invalid); i++)
    assert_null(wh_query_level_get(invalid[i]));
  assert_int_equal(wh_query_level_get(CUSTOM)->kind, WH_QK_CUSTOM);

  /* A few names pinned (Wine's attribute_table agrees on these). */
  static const struct {
    DWORD level;
    const char *name;
  } names[] = {
    {WINHTTP_QUERY_CONTENT_TYPE, "Content-Type"}, {WINHTTP_QUERY_CONTENT_LENGTH, "Content-Length"},
    {WINHTTP_QUERY_WWW_AUTHENTICATE, "WWW-Authenticate"}, {WINHTTP_QUERY_ETAG, "ETag"},
    {WINHTTP_QUERY_CONTENT_MD5, "Content-MD5"}, {WINHTTP_QUERY_CONTENT_ID, "Content-ID"},
    {WINHTTP_QUERY_UNLESS_MODIFIED_SINCE, "Unless-Modified-Since"},
    {WINHTTP_QUERY_AUTHENTICATION_INFO, "Authentication-Info"},
  };
  for (size_t i = 0; i < COUNT(names); i++)
    assert_string_equal(wh_query_level_get(names[i].level)->name, names[i].name);
}

/* Every header level finds its header (in any case, at any index); every
 * level without one answers HEADER_NOT_FOUND even when a header of a
 * similar name exists. */
static void test_every_level(void **state)
{
  (void)state;
  for (DWORD level = 0; level <= WINHTTP_QUERY_MAX; level++) {
    const struct wh_query_level *ql = wh_query_level_get(level);
    struct wh_headers h;
    wh_headers_init(&h);
    assert_int_equal(wh_headers_apply(&h, T("Orig-Uri: x\r\nEcho-Reply: y\r\nStatus: 200"), ADD),
                     ERROR_SUCCESS);
    if (ql->kind == WH_QK_HEADER) {
      char lower[64];
      for (size_t i = 0; i <= ql->name_len; i++)
        lower[i] = (char)((ql->name[i] >= 'A' && ql->name[i] <= 'Z') ? ql->name[i] + 32 : ql->name[i]);
      assert_int_equal(wh_headers_apply_one(&h, lower, ql->name_len, T("first"), ADD), 0);
      assert_int_equal(wh_headers_apply_one(&h, ql->name, ql->name_len, T("second"), ADD), 0);
      check_query(&h, &request_ctx, level, NULL, 0, 0, "first", 1);
      check_query(&h, &request_ctx, level | REQ, NULL, 1, 0, "second", 2);
      check_query(&h, &request_ctx, level, NULL, 2, NF, NULL, 0);
    } else if (ql->kind == WH_QK_NONE || ql->kind == WH_QK_ECHO) {
      check_query(&h, &request_ctx, level, NULL, 0, NF, NULL, 0);
      check_query(&h, &request_ctx, level | REQ, NULL, 0, NF, NULL, 0);
    }
    wh_headers_free(&h);
  }
}

static void test_query_parameters(void **state)
{
  (void)state;
  struct wh_headers h;
  fill(&h, "A: 1\r\nContent-Length: 5");
  static const struct {
    DWORD level;
    DWORD err;
  } cases[] = {
    {WINHTTP_QUERY_MAX + 1, ERROR_INVALID_PARAMETER},
    {0xFFFE, ERROR_INVALID_PARAMETER},
    {WINHTTP_QUERY_CONTENT_LENGTH | 0x00010000, ERROR_INVALID_PARAMETER},
    {WINHTTP_QUERY_CONTENT_LENGTH | 0x10000000, ERROR_INVALID_PARAMETER}, /* WinINet's COALESCE */
    {WINHTTP_QUERY_CONTENT_LENGTH | 0x04000000, ERROR_INVALID_PARAMETER},
    {WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER | WINHTTP_QUERY_FLAG_SYSTEMTIME,
     ERROR_INVALID_PARAMETER},
    {WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER | WINHTTP_QUERY_FLAG_NUMBER64,
     ERROR_INVALID_PARAMETER},
    {WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER64 | WINHTTP_QUERY_FLAG_SYSTEMTIME,
     ERROR_INVALID_PARAMETER},
    {WINHTTP_QUERY_CONTENT_LENGTH | REQ | WINHTTP_QUERY_FLAG_TRAILERS, ERROR_SUCCESS},
    {WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_WIRE_ENCODING, ERROR_SUCCESS},
    {WINHTTP_QUERY_ORIG_URI, NF}, /* test_WinHttpSendRequest */
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    struct wh_query_result r;
    DWORD got = wh_headers_query(&h, &request_ctx, cases[i].level, NULL, 0, 0, &r);
    if (got != cases[i].err)
      fail_msg("case %zu: got %u", i, (unsigned)got);
    wh_query_result_free(&r);
  }
  struct wh_query_result r;
  assert_int_equal(wh_headers_query(&h, &request_ctx, CUSTOM, NULL, 0, 0, &r),
                   ERROR_INVALID_PARAMETER);
  check_query(&h, &request_ctx, CUSTOM, "", 0, NF, NULL, 0);
  check_query(&h, &request_ctx, CUSTOM, "A:", 0, NF, NULL, 0);
  check_query(&h, &request_ctx, CUSTOM, "a", 0, 0, "1", 1);
  /* The index is DWORD: the next one wraps like the API's would. */
  check_query(&h, &request_ctx, CUSTOM, "a", 0xFFFFFFFF, NF, NULL, 0);
  /* A name with a NUL inside is compared with its length. */
  assert_int_equal(wh_headers_query(&h, &request_ctx, CUSTOM, T("A\0B"), 0, &r), NF);
  wh_query_result_free(&r);
  wh_query_result_free(&r); /* twice: fine */
  wh_headers_free(&h);
}

/* VERSION, STATUS_*, REQUEST_METHOD, RAW_* before and after a response. */
static void test_computed_levels(void **state)
{
  (void)state;
  struct wh_headers req, resp;
  fill(&req, "Warning: test1");
  fill(&resp, "Content-Length: 0\r\nLocation: /\r\nWWW-Authenticate: Passport1.4");
  const struct wh_query_ctx *rc = &request_ctx;

  /* Request only: REQUEST_METHOD with or without the flag, index unmoved
   * (test_WinHttpSendRequest); the status line does not exist yet. */
  check_query(&req, rc, WINHTTP_QUERY_REQUEST_METHOD, NULL, 0, 0, "POST", 0);
  check_query(&req, rc, WINHTTP_QUERY_REQUEST_METHOD | REQ, NULL, 4, 0, "POST", 4);
  check_query(&req, rc, WINHTTP_QUERY_VERSION | REQ, NULL, 0, 0, "HTTP/1.1", 0);
  check_query(&req, rc, WINHTTP_QUERY_VERSION, NULL, 0, NF, NULL, 0);
  check_query(&req, rc, WINHTTP_QUERY_STATUS_CODE, NULL, 0, NF, NULL, 0);
  check_query(&req, rc, WINHTTP_QUERY_STATUS_TEXT, NULL, 0, NF, NULL, 0);
  check_query(&req, rc, WINHTTP_QUERY_RAW_HEADERS, NULL, 0, NF, NULL, 0);
  check_query(&req, rc, WINHTTP_QUERY_RAW_HEADERS_CRLF, NULL, 0, NF, NULL, 0);
  struct wh_query_ctx none = {0};
  check_query(&req, &none, WINHTTP_QUERY_REQUEST_METHOD, NULL, 0, NF, NULL, 0);

  /* test_passport_auth: a 302 turned into 401 keeps its reason phrase. */
  struct wh_query_ctx ctx = request_ctx;
  ctx.resp_version = "HTTP/1.1";
  ctx.status_code = 401;
  ctx.status_text = "Found";
  check_query(&resp, &ctx, WINHTTP_QUERY_STATUS_CODE, NULL, 0, 0, "401", 0);
  check_query(&resp, &ctx, WINHTTP_QUERY_STATUS_TEXT, NULL, 0, 0, "Found", 0);
  check_query(&resp, &ctx, WINHTTP_QUERY_VERSION, NULL, 0, 0, "HTTP/1.1", 0);
  check_query(&resp, &ctx, WINHTTP_QUERY_STATUS_CODE | REQ, NULL, 0, NF, NULL, 0);
  check_query(&resp, &ctx, WINHTTP_QUERY_STATUS_TEXT | REQ, NULL, 0, NF, NULL, 0);
  check_query(&resp, &ctx, WINHTTP_QUERY_RAW_HEADERS_CRLF, NULL, 7, 0,
              "HTTP/1.1 401 Found\r\nContent-Length: 0\r\nLocation: /\r\n"
              "WWW-Authenticate: Passport1.4\r\n\r\n",
              7);
  struct wh_query_result r;
  static const char nul[] =
    "HTTP/1.1 401 Found\0Content-Length: 0\0Location: /\0WWW-Authenticate: Passport1.4\0";
  assert_int_equal(wh_headers_query(&resp, &ctx, WINHTTP_QUERY_RAW_HEADERS, NULL, 0, 0, &r), 0);
  assert_int_equal(r.type, WH_Q_RAW_NUL);
  assert_int_equal(r.text_len, sizeof(nul) - 1);
  assert_memory_equal(r.text, nul, sizeof(nul));
  /* test_basic_request: the last character is a NUL, the one before not. */
  assert_int_equal(r.text[r.text_len - 1], '\0');
  assert_true(r.text[r.text_len - 2] != '\0');
  wh_query_result_free(&r);
  /* FLAG_NUMBER on RAW is ignored (Wine). */
  check_query(&resp, &ctx, WINHTTP_QUERY_RAW_HEADERS_CRLF | WINHTTP_QUERY_FLAG_NUMBER, NULL, 0, 0,
              NULL, 0);

  /* No reason phrase: no trailing space. */
  ctx.status_code = 204;
  ctx.status_text = "";
  check_query(&req, &ctx, WINHTTP_QUERY_RAW_HEADERS_CRLF, NULL, 0, 0,
              "HTTP/1.1 204\r\nWarning: test1\r\n\r\n", 0);
  ctx.status_text = NULL;
  check_query(&req, &ctx, WINHTTP_QUERY_STATUS_TEXT, NULL, 0, 0, "", 0);
  check_query(&resp, &ctx, WINHTTP_QUERY_VERSION | REQ, NULL, 0, 0, "HTTP/1.1", 0);
  ctx.version = NULL;
  check_query(&resp, &ctx, WINHTTP_QUERY_VERSION | REQ, NULL, 0, NF, NULL, 0);

  assert_int_equal(wh_headers_query(&resp, &ctx, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                                    NULL, 0, 0, &r),
                   0);
  assert_int_equal(r.type, WH_Q_NUMBER);
  assert_int_equal(r.number, 204);
  assert_null(r.text);
  wh_query_result_free(&r);
  wh_headers_free(&req);
  wh_headers_free(&resp);
}

/* test_multi_authentication: CUSTOM walks the WWW-Authenticate headers by
 * index; a level and CUSTOM agree. */
static void test_custom_index(void **state)
{
  (void)state;
  struct wh_headers h;
  fill(&h, "WWW-Authenticate: Bearer\r\nWWW-Authenticate: Basic\r\nServer: x\r\n"
           "WWW-Authenticate: NTLM");
  static const char *expect[] = {"Bearer", "Basic", "NTLM"};
  for (DWORD i = 0; i < 3; i++) {
    check_query(&h, &request_ctx, CUSTOM, "WWW-Authenticate", i, 0, expect[i], i + 1);
    check_query(&h, &request_ctx, WINHTTP_QUERY_WWW_AUTHENTICATE, NULL, i, 0, expect[i], i + 1);
  }
  check_query(&h, &request_ctx, CUSTOM, "WWW-Authenticate", 3, NF, NULL, 0);
  wh_headers_free(&h);
}

static void test_number(void **state)
{
  (void)state;
  static const struct {
    const char *value;
    uint64_t n32, n64;
  } cases[] = {
    {"100", 100, 100},
    {"0", 0, 0},
    {"+7", 7, 7},
    {"-1", 0xFFFFFFFFu, UINT64_MAX},
    {"abc", 0, 0},
    {"", 0, 0},
    {"-", 0, 0},
    {"12abc", 12, 12},
    {"1 2", 1, 1},
    {"007", 7, 7},
    {"2147483647", 0x7FFFFFFF, 2147483647},
    {"2147483648", 0x7FFFFFFF, 2147483648u},
    {"4294967295", 0x7FFFFFFF, 4294967295u},
    {"4294967296", 0x7FFFFFFF, 4294967296u},
    {"-2147483648", 0x80000000u, (uint64_t)INT64_C(-2147483648)},
    {"-2147483649", 0x80000000u, (uint64_t)INT64_C(-2147483649)},
    {"9223372036854775807", 0x7FFFFFFF, INT64_MAX},
    {"9223372036854775808", 0x7FFFFFFF, INT64_MAX},
    {"99999999999999999999999", 0x7FFFFFFF, INT64_MAX},
    {"-9223372036854775808", 0x80000000u, (uint64_t)INT64_MIN},
    {"-99999999999999999999999", 0x80000000u, (uint64_t)INT64_MIN},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    struct wh_headers h;
    struct wh_query_result r;
    wh_headers_init(&h);
    assert_int_equal(wh_headers_apply_one(&h, T("Content-Length"), cases[i].value,
                                          strlen(cases[i].value), ADD),
                     0);
    assert_int_equal(wh_headers_query(&h, &request_ctx,
                                      WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                      0, 0, &r),
                     0);
    assert_int_equal(r.type, WH_Q_NUMBER);
    if (r.number != cases[i].n32)
      fail_msg("case %zu \"%s\": 32-bit %llu", i, cases[i].value, (unsigned long long)r.number);
    assert_int_equal(r.next_index, 1);
    assert_null(r.text);
    assert_int_equal(wh_headers_query(&h, &request_ctx,
                                      CUSTOM | WINHTTP_QUERY_FLAG_NUMBER64, T("content-length"),
                                      0, &r),
                     0);
    assert_int_equal(r.type, WH_Q_NUMBER64);
    if (r.number != cases[i].n64)
      fail_msg("case %zu \"%s\": 64-bit %llu", i, cases[i].value, (unsigned long long)r.number);
    wh_headers_free(&h);
  }
}

static void test_systemtime(void **state)
{
  (void)state;
  struct wh_headers h;
  struct wh_query_result r;
  fill(&h, "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nExpires: 0\r\n"
           "Last-Modified: Sunday, 06-Nov-94 08:49:37 GMT\r\nDate: Thu, 01 Jan 2037 00:00:00 GMT");
  assert_int_equal(wh_headers_query(&h, &request_ctx, WINHTTP_QUERY_DATE | WINHTTP_QUERY_FLAG_SYSTEMTIME,
                                    NULL, 0, 0, &r),
                   0);
  assert_int_equal(r.type, WH_Q_SYSTEMTIME);
  assert_null(r.text);
  assert_int_equal(r.time.year, 1994);
  assert_int_equal(r.time.month, 11);
  assert_int_equal(r.time.dow, 0);
  assert_int_equal(r.time.day, 6);
  assert_int_equal(r.time.hour, 8);
  assert_int_equal(r.time.minute, 49);
  assert_int_equal(r.time.second, 37);
  assert_int_equal(r.time.ms, 0);
  assert_int_equal(r.next_index, 1);
  assert_int_equal(wh_headers_query(&h, &request_ctx, WINHTTP_QUERY_DATE | WINHTTP_QUERY_FLAG_SYSTEMTIME,
                                    NULL, 0, 1, &r),
                   0);
  assert_int_equal(r.time.year, 2037);
  assert_int_equal(r.next_index, 2);
  /* rfc850: the two-digit year is placed relative to ctx.now (2023). */
  assert_int_equal(wh_headers_query(&h, &request_ctx,
                                    WINHTTP_QUERY_LAST_MODIFIED | WINHTTP_QUERY_FLAG_SYSTEMTIME, NULL,
                                    0, 0, &r),
                   0);
  assert_int_equal(r.time.year, 1994);
  /* Not a date: treated as absent. */
  assert_int_equal(wh_headers_query(&h, &request_ctx,
                                    WINHTTP_QUERY_EXPIRES | WINHTTP_QUERY_FLAG_SYSTEMTIME, NULL, 0, 0,
                                    &r),
                   NF);
  wh_headers_free(&h);
}

/* wh_headers_reserve: entries carved from one block behave as entries of
 * their own: replaced, coalesced, removed, cleared and refilled, cloned by
 * a multi-line apply; once the block is full, entries get blocks of their
 * own; a store without the hint is unchanged. Run under ASan, a block
 * freed twice or a slab entry passed to free() would be reported. */
/* wh_buf_reserve: one growth for what is announced; never past max, and
 * what is already there stays. */
static void test_buf_reserve(void **state)
{
  (void)state;
  struct wh_buf b;
  wh_buf_init(&b, 1000);
  wh_buf_reserve(&b, 300);
  assert_non_null(b.p);
  assert_true(b.cap >= 301);
  char *before = b.p;
  for (int i = 0; i < 30; i++)
    assert_int_equal(wh_buf_adds(&b, "0123456789"), 0);
  assert_ptr_equal(b.p, before); /* no reallocation for the 300 announced */
  assert_int_equal(b.len, 300);
  wh_buf_reserve(&b, 5000); /* past max: only a hint, ignored */
  assert_true(b.cap <= 1001);
  assert_int_equal(b.len, 300);
  assert_memory_equal(b.p, "0123456789", 10);
  wh_buf_reserve(&b, 700); /* exactly up to max */
  assert_true(b.cap == 1001);
  char more[700];
  memset(more, 'y', sizeof(more));
  assert_int_equal(wh_buf_add(&b, more, sizeof(more)), 0);
  assert_int_equal(b.len, 1000);
  assert_int_equal(wh_buf_addc(&b, 'x'), WH_BUF_TOOBIG);
  wh_buf_free(&b);
}

static void test_reserve_slab(void **state)
{
  (void)state;
  struct wh_headers h;
  wh_headers_init(&h);
  wh_headers_reserve(&h, 4, 24); /* room for two or three small pairs */
  assert_non_null(h.slab);
  assert_true(h.cap >= 4);
  assert_int_equal(wh_headers_apply_one(&h, "A", 1, "1", 1, ADD), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply_one(&h, "Bb", 2, "22", 2, ADD), ERROR_SUCCESS);
  assert_true(h.slab_used > 0);
  /* Past the block: a block of its own. */
  assert_int_equal(wh_headers_apply_one(&h, "Long-Name", 9, "a long value", 12, ADD),
                   ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply_one(&h, "A", 1, "x", 1, WINHTTP_ADDREQ_FLAG_REPLACE),
                   ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply_one(&h, "Bb", 2, "3", 1, WINHTTP_ADDREQ_FLAG_COALESCE_WITH_COMMA),
                   ERROR_SUCCESS);
  assert_store(&h, "A: x\r\nBb: 22, 3\r\nLong-Name: a long value\r\n");
  assert_int_equal(wh_headers_apply(&h, "C: 1\r\nD: 2\r\n", 12, ADD), ERROR_SUCCESS);
  assert_int_equal(wh_headers_apply_one(&h, "Long-Name", 9, "", 0, WINHTTP_ADDREQ_FLAG_REPLACE),
                   ERROR_SUCCESS);
  assert_store(&h, "A: x\r\nBb: 22, 3\r\nC: 1\r\nD: 2\r\n");
  /* Cleared, the block is reused from its start. */
  wh_headers_clear(&h);
  wh_headers_reserve(&h, 1, 64); /* a slab is there: only the array */
  assert_int_equal(h.slab_used, 0);
  assert_int_equal(wh_headers_apply_one(&h, "E", 1, "5", 1, ADD), ERROR_SUCCESS);
  assert_int_equal(h.slab_used, 4);
  assert_store(&h, "E: 5\r\n");
  wh_headers_free(&h);
  assert_null(h.slab);
  /* A reserve that cannot get memory is only a hint. */
  wh_headers_init(&h);
  wh_mem_fail_after(0);
  wh_headers_reserve(&h, 8, 128);
  wh_mem_fail_reset();
  assert_null(h.slab);
  assert_int_equal(wh_headers_apply_one(&h, "F", 1, "6", 1, ADD), ERROR_SUCCESS);
  assert_store(&h, "F: 6\r\n");
  wh_headers_free(&h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_wine_add_headers),
    cmocka_unit_test(test_wine_raw_request_headers),
    cmocka_unit_test(test_wine_bad_header),
    cmocka_unit_test(test_invalid_lines),
    cmocka_unit_test(test_line_values),
    cmocka_unit_test(test_line_breaks),
    cmocka_unit_test(test_modifiers),
    cmocka_unit_test(test_multi_line_atomic),
    cmocka_unit_test(test_apply_one),
    cmocka_unit_test(test_find),
    cmocka_unit_test(test_serialize),
    cmocka_unit_test(test_serialize_as),
    cmocka_unit_test(test_lifecycle),
    cmocka_unit_test(test_reserve_slab),
    cmocka_unit_test(test_buf_reserve),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_out_of_memory),
    cmocka_unit_test(test_level_table),
    cmocka_unit_test(test_every_level),
    cmocka_unit_test(test_query_parameters),
    cmocka_unit_test(test_computed_levels),
    cmocka_unit_test(test_custom_index),
    cmocka_unit_test(test_number),
    cmocka_unit_test(test_systemtime),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
