/* The HTTP/1.1 codec (src/proto/h1_*.c): the response-head finder and
 * parser, body framing, the chunked decoder, and the request head. Tables
 * for every rule and error of h1.h, equivalence of whole and split input
 * (every prefix, one byte at a time, every two-way split), limits, and every
 * out-of-memory path. Each input is copied to a heap block of exactly its
 * size, so AddressSanitizer catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <winhttp.h>

#include "wh_test.h"

#include "proto/h1.h"
#include "proto/headers.h"
#include "util/buf.h"
#include "util/mem.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal with its length, NULs inside included. */
#define T(s) s, sizeof(s) - 1

#define OK ERROR_SUCCESS
#define PENDING ERROR_IO_PENDING
#define BAD ERROR_WINHTTP_INVALID_SERVER_RESPONSE
#define BIG ERROR_WINHTTP_HEADER_SIZE_OVERFLOW
#define MANY ERROR_WINHTTP_HEADER_COUNT_EXCEEDED
#define LINE ERROR_WINHTTP_CHUNKED_ENCODING_HEADER_SIZE_OVERFLOW
#define NOMEM ERROR_NOT_ENOUGH_MEMORY

/* --- helpers --------------------------------------------------------------- */

static char *store_text(const struct wh_headers *h)
{
  struct wh_buf b;
  wh_buf_init(&b, 1 << 20);
  assert_int_equal(wh_headers_serialize(h, &b), OK);
  char *s = wh_buf_take(&b, NULL);
  assert_non_null(s);
  return s;
}

static void assert_store(const struct wh_headers *h, const char *expect)
{
  char *s = store_text(h);
  assert_string_equal(s, expect);
  wh_free(s);
}

static DWORD head_end(const char *p, size_t n, size_t max, size_t *end)
{
  char *c = wh_dup_exact(p, n);
  DWORD err = wh_h1_head_end(c, n, max, end);
  free(c);
  return err;
}

/* --- finding the end of the head ------------------------------------------ */

struct end_case {
  const char *p;
  size_t n;
  size_t max;
  DWORD err;
  size_t end; /* ERROR_SUCCESS only */
};

static const struct end_case end_cases[] = {
  {T("HTTP/1.1 200 OK\r\n\r\n"), 0, OK, 19},
  {T("HTTP/1.1 200 OK\r\n\r\nbody"), 0, OK, 19},
  {T("HTTP/1.1 200 OK\n\nbody"), 0, OK, 17},
  {T("HTTP/1.1 200 OK\r\n\nbody"), 0, OK, 18},
  {T("HTTP/1.1 200 OK\n\r\nbody"), 0, OK, 18},
  {T("HTTP/1.1 200 OK\r\nA: b\r\n\r\n\r\n\r\n"), 0, OK, 25},
  {T("HTTP/1.1 200 OK\r\nA: b\nC: d\n\r\n"), 0, OK, 29},
  {T("\r\n\nHTTP/1.1 200 OK\r\n\r\n"), 0, OK, 22},
  {T("http/1.1 200 OK\r\n\r\n"), 0, OK, 19},
  {T("HtTp/9 junk\n\n"), 0, OK, 13},      /* the finder only checks "HTTP/" */
  {T("HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n"), 0, OK, 26},
  {T("HTTP/1.1 200 OK\r\n\rX\r\n\r\n"), 0, OK, 23},
  {T("HTTP/1.1 200 OK\r\n\r\n"), 19, OK, 19}, /* exactly at the limit */
  {T("HTTP/1.1 200 OK\r\n\r\n"), 18, BIG, 0},
  {T("HTTP/1.1 200 OK\r\n\r"), 18, BIG, 0},
  {T("HTTP/1.1 200 OK\r\nA: b"), 10, BIG, 0},
  {T("HTTP/1"), 6, BIG, 0},
  {T("\r\n\r\n"), 4, BIG, 0},
  {T("HTTP/1.1 200 OK\r\nA: b\r\n"), 0, PENDING, 0},
  {T("HTTP/1.1 200 OK\r\nA: b\r\n\r"), 0, PENDING, 0},
  {T("HTTP/1.1 200 OK\r\n"), 100, PENDING, 0},
  {T("HTTP/1.1 200 OK"), 0, PENDING, 0},
  {T("HTT"), 0, PENDING, 0},
  {T("h"), 0, PENDING, 0},
  {T(""), 0, PENDING, 0},
  {T("\r"), 0, PENDING, 0},
  {T("\r\n\n\r\n"), 0, PENDING, 0},
  {T("hello world\r\n\r\n"), 0, BAD, 0},
  {T("<html>"), 0, BAD, 0},
  {T("\r\nX"), 0, BAD, 0},
  {T("\rHTTP/1.1 200 OK\r\n\r\n"), 0, BAD, 0},
  {T(" HTTP/1.1 200 OK\r\n\r\n"), 0, BAD, 0},
  {T("HTTPS/1.1 200 OK\r\n\r\n"), 0, BAD, 0},
  {T("HTTP\0"), 0, BAD, 0},
  {T("ICY 200 OK\r\n\r\n"), 0, BAD, 0},
};

static void test_head_end(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(end_cases); i++) {
    const struct end_case *c = &end_cases[i];
    size_t end = 12345;
    DWORD err = head_end(c->p, c->n, c->max, &end);
    if (err != c->err || (err == OK && end != c->end))
      fail_msg("case %zu: got %u end %zu, want %u end %zu", i, (unsigned)err, end,
               (unsigned)c->err, c->end);
    if (err == BIG || err == BAD)
      assert_int_equal(end, 0);
  }
  /* NULL with no bytes is allowed. */
  size_t end;
  assert_int_equal(wh_h1_head_end(NULL, 0, 0, &end), PENDING);
}

/* Every prefix of every case: pending until the whole head (or the byte that
 * shows it is no HTTP, or the limit) is there, and the same answer after. */
static void test_head_end_prefixes(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(end_cases); i++) {
    const struct end_case *c = &end_cases[i];
    bool decided = false;
    for (size_t k = 0; k <= c->n; k++) {
      size_t end = 0;
      DWORD err = head_end(c->p, k, c->max, &end);
      if (err == PENDING) {
        if (decided)
          fail_msg("case %zu prefix %zu: pending after an answer", i, k);
        continue;
      }
      decided = true;
      if (err != c->err || (err == OK && end != c->end))
        fail_msg("case %zu prefix %zu: got %u end %zu", i, k, (unsigned)err, end);
      if (err == OK && k < c->end)
        fail_msg("case %zu prefix %zu: found an end beyond the bytes", i, k);
    }
  }
}

/* Byte-at-a-time arrival with the resume offset gives the same answer as the
 * whole buffer, and the offset never goes backwards. */
static void test_head_end_resume(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(end_cases); i++) {
    const struct end_case *c = &end_cases[i];
    size_t from = 0, end = 0;
    DWORD err = PENDING;
    for (size_t k = 0; k <= c->n && err == PENDING; k++) {
      char *b = wh_dup_exact(c->p, k);
      err = wh_h1_head_end_from(b, k, c->max, from, &end);
      free(b);
      if (err == PENDING) {
        if (end < from || end > k)
          fail_msg("case %zu at %zu: resume offset %zu after %zu", i, k, end, from);
        from = end;
      }
    }
    if (err != c->err || (err == OK && end != c->end))
      fail_msg("case %zu: resumed scan got %u end %zu", i, (unsigned)err, end);
  }
  /* A bogus offset restarts the scan instead of misreading. */
  size_t end;
  assert_int_equal(wh_h1_head_end_from(T("HTTP/1.1 200 OK\r\n\r\n"), 0, 400, &end), OK);
  assert_int_equal(end, 19);
  assert_int_equal(wh_h1_head_end_from(T("HTTP/1.1 200 OK\r\n\r\n"), 0, 2, &end), OK);
  assert_int_equal(end, 19);
}

/* --- the status line ----------------------------------------------------- */

struct status_case {
  const char *p;
  size_t n;
  DWORD err;
  unsigned minor, status;
  const char *reason;
};

static const struct status_case status_cases[] = {
  {T("HTTP/1.1 200 OK\r\n\r\n"), OK, 1, 200, "OK"},
  {T("HTTP/1.0 404 Not Found\r\n\r\n"), OK, 0, 404, "Not Found"},
  {T("HTTP/1.1 200\r\n\r\n"), OK, 1, 200, ""},
  {T("HTTP/1.1 200 \r\n\r\n"), OK, 1, 200, ""},
  {T("HTTP/1.1 200 \t OK \t\r\n\r\n"), OK, 1, 200, "OK"},
  {T("http/1.1 204 No Content\n\n"), OK, 1, 204, "No Content"},
  {T("HTTP/1.1  301  Moved  Permanently\r\n\r\n"), OK, 1, 301, "Moved  Permanently"},
  {T("HTTP/1.2 200 OK\r\n\r\n"), OK, 2, 200, "OK"},
  {T("HTTP/1.9 200 OK\r\n\r\n"), OK, 9, 200, "OK"},
  {T("HTTP/1.1 100 Continue\r\n\r\n"), OK, 1, 100, "Continue"},
  {T("HTTP/1.1 999 Whatever\r\n\r\n"), OK, 1, 999, "Whatever"},
  {T("HTTP/1.1 200 r\xc3\xa9sum\xc3\xa9 \x01\x7f\r\n\r\n"), OK, 1, 200, "r\xc3\xa9sum\xc3\xa9 \x01\x7f"},
  {T("HTTP/1.1 200 OK"), OK, 1, 200, "OK"}, /* a last line without LF */
  {T("\r\n\nHTTP/1.1 200 OK\r\n\r\n"), OK, 1, 200, "OK"},
  {T("HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 500 No\r\n\r\n"), OK, 1, 200, "OK"},
  {T("HTTP/2 200\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/2.0 200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/0.9 200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.10 200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.x 200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1,1 200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 99 Low\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 099 Low\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 000\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 1000 High\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 200OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 2x0 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 -20 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1\t200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 200\tOK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 20\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 \r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTPS/1.1 200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("ICY 200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("hello world\r\n\r\n"), BAD, 0, 0, NULL}, /* HTTP/0.9: test_no_headers */
  {T(" HTTP/1.1 200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 200 O\0K\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 200 O\rK\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1 200 OK\r\r\n\r\n"), BAD, 0, 0, NULL},
  {T("HTTP/1.1\0 200 OK\r\n\r\n"), BAD, 0, 0, NULL},
  {T(""), BAD, 0, 0, NULL},
  {T("\r\n\r\n"), BAD, 0, 0, NULL},
  {T("\n"), BAD, 0, 0, NULL},
};

static void test_status_line(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(status_cases); i++) {
    const struct status_case *c = &status_cases[i];
    struct wh_resp_head r;
    char *b = wh_dup_exact(c->p, c->n);
    DWORD err = wh_h1_parse_head(b, c->n, NULL, &r);
    free(b);
    if (err != c->err)
      fail_msg("case %zu: got %u, want %u", i, (unsigned)err, (unsigned)c->err);
    if (err == OK) {
      assert_int_equal(r.version_major, 1);
      assert_int_equal(r.version_minor, c->minor);
      assert_int_equal(r.status, c->status);
      assert_non_null(r.reason);
      assert_string_equal(r.reason, c->reason);
      assert_int_equal(r.reason_len, strlen(c->reason));
      assert_int_equal(r.headers.n, 0);
    } else {
      assert_null(r.reason);
      assert_null(r.headers.v);
      assert_int_equal(r.status, 0);
    }
    wh_resp_head_free(&r);
    wh_resp_head_free(&r); /* twice is safe */
  }
}

static void test_version_string(void **state)
{
  (void)state;
  struct wh_resp_head r;
  assert_int_equal(wh_h1_parse_head(T("http/1.0 200 OK\r\n\r\n"), NULL, &r), OK);
  assert_string_equal(wh_resp_version_string(&r), "HTTP/1.0");
  wh_resp_head_free(&r);
  assert_int_equal(wh_h1_parse_head(T("HTTP/1.1 200 OK\r\n\r\n"), NULL, &r), OK);
  assert_string_equal(wh_resp_version_string(&r), "HTTP/1.1");
  wh_resp_head_free(&r);
  assert_int_equal(wh_h1_parse_head(T("HTTP/1.7 200 OK\r\n\r\n"), NULL, &r), OK);
  assert_string_equal(wh_resp_version_string(&r), "HTTP/1.7");
  wh_resp_head_free(&r);
}

/* --- header fields --------------------------------------------------------- */

struct field_case {
  const char *p; /* after "HTTP/1.1 200 OK\r\n" */
  size_t n;
  DWORD err;
  const char *store; /* serialised, on success */
};

static const struct field_case field_cases[] = {
  {T("A: b\r\nC:d\r\n\r\n"), OK, "A: b\r\nC: d\r\n"},
  {T("A:   b  \t\r\n\r\n"), OK, "A: b\r\n"},
  {T("A:\r\n\r\n"), OK, "A: \r\n"},
  {T("A: \t \r\n\r\n"), OK, "A: \r\n"},
  {T("A: b\nC: d\n\n"), OK, "A: b\r\nC: d\r\n"},
  {T("A: b\r\nC: d\n\r\n"), OK, "A: b\r\nC: d\r\n"},
  {T("Set-Cookie: a=1\r\nset-cookie: b=2\r\nSet-Cookie: a=1\r\n\r\n"), OK,
   "Set-Cookie: a=1\r\nset-cookie: b=2\r\nSet-Cookie: a=1\r\n"},
  {T("Location: http://h:8/x?y=z\r\n\r\n"), OK, "Location: http://h:8/x?y=z\r\n"},
  {T("X: a:b: c\r\n\r\n"), OK, "X: a:b: c\r\n"},
  {T("X: caf\xc3\xa9 \x7f\x01\r\n\r\n"), OK, "X: caf\xc3\xa9 \x7f\x01\r\n"},
  {T("!#$%&'*+-.^_`|~09aZ: v\r\n\r\n"), OK, "!#$%&'*+-.^_`|~09aZ: v\r\n"},
  {T("A: b\r\n\r\nJunk line\r\n\0\r\n"), OK, "A: b\r\n"},
  {T("A: b\r\nC: d"), OK, "A: b\r\nC: d\r\n"}, /* a last line without LF */
  {T("\r\n"), OK, ""},
  {T(""), OK, ""},
  /* §5.2 obs-fold: one SP per fold. */
  {T("A: b\r\n c\r\nD: e\r\n\r\n"), OK, "A: b c\r\nD: e\r\n"},
  {T("A: b  \r\n\t c \r\n   d\r\n\r\n"), OK, "A: b c d\r\n"},
  {T("A:\r\n c\r\n\r\n"), OK, "A: c\r\n"},
  {T("A: b\r\n \r\n\r\n"), OK, "A: b\r\n"},
  {T("A: b\r\n \r\n c\r\n\r\n"), OK, "A: b c\r\n"},
  {T("A: b\n c\n\n"), OK, "A: b c\r\n"},
  {T("A: b\r\n c"), OK, "A: b c\r\n"},
  /* Invalid lines. */
  {T(" A: b\r\n\r\n"), BAD, NULL},
  {T("\tA: b\r\n\r\n"), BAD, NULL},
  {T("A b\r\n\r\n"), BAD, NULL},
  {T("A: b\r\nno colon\r\n\r\n"), BAD, NULL},
  {T(": b\r\n\r\n"), BAD, NULL},
  {T("A : b\r\n\r\n"), BAD, NULL},
  {T("A\t: b\r\n\r\n"), BAD, NULL},
  {T("A@: b\r\n\r\n"), BAD, NULL},
  {T("A\"B: c\r\n\r\n"), BAD, NULL},
  {T("caf\xc3\xa9: b\r\n\r\n"), BAD, NULL},
  {T("A: b\0c\r\n\r\n"), BAD, NULL},
  {T("A\0: b\r\n\r\n"), BAD, NULL},
  {T("A: b\rc\r\n\r\n"), BAD, NULL},
  {T("A: b\r\r\n\r\n"), BAD, NULL},
  {T("\rA: b\r\n\r\n"), BAD, NULL},
  {T("A: b\r\n c\rd\r\n\r\n"), BAD, NULL},
  {T("A: b\r\n c\0\r\n\r\n"), BAD, NULL},
};

static void test_fields(void **state)
{
  (void)state;
  static const char status[] = "HTTP/1.1 200 OK\r\n";
  for (size_t i = 0; i < COUNT(field_cases); i++) {
    const struct field_case *c = &field_cases[i];
    size_t n = sizeof(status) - 1 + c->n;
    char *b = malloc(n);
    assert_non_null(b);
    memcpy(b, status, sizeof(status) - 1);
    memcpy(b + sizeof(status) - 1, c->p, c->n);
    struct wh_resp_head r;
    DWORD err = wh_h1_parse_head(b, n, NULL, &r);
    free(b);
    if (err != c->err)
      fail_msg("case %zu: got %u, want %u", i, (unsigned)err, (unsigned)c->err);
    if (err == OK) {
      char *s = store_text(&r.headers);
      if (strcmp(s, c->store) != 0)
        fail_msg("case %zu: store \"%s\"", i, s);
      wh_free(s);
      assert_int_equal(r.status, 200);
    } else {
      assert_null(r.reason);
      assert_int_equal(r.headers.n, 0);
    }
    wh_resp_head_free(&r);
  }
}

/* The field parser on its own, as the trailers use it: a failure clears the
 * store, success appends to what is there. */
static void test_parse_fields(void **state)
{
  (void)state;
  struct wh_headers h;
  wh_headers_init(&h);
  assert_int_equal(wh_h1_parse_fields(T("A: 1\r\n\r\n"), &h), OK);
  assert_int_equal(wh_h1_parse_fields(T("B: 2\r\n\r\n"), &h), OK);
  assert_store(&h, "A: 1\r\nB: 2\r\n");
  assert_int_equal(wh_h1_parse_fields(T("C: 3\r\nbad\r\n\r\n"), &h), BAD);
  assert_int_equal(h.n, 0);
  wh_headers_free(&h);
}

static void test_limits(void **state)
{
  (void)state;
  static const char head[] = "HTTP/1.1 200 OK\r\nA: b\r\nC: d\r\nE: f\r\n\r\n";
  struct wh_resp_head r;
  struct wh_h1_limits lim = {3, 0};
  assert_int_equal(wh_h1_parse_head(T(head), &lim, &r), OK);
  assert_int_equal(r.headers.n, 3);
  assert_int_equal(r.headers.max_count, 3);
  wh_resp_head_free(&r);
  lim.max_count = 2;
  assert_int_equal(wh_h1_parse_head(T(head), &lim, &r), MANY);
  assert_null(r.reason);
  assert_int_equal(r.headers.n, 0);
  wh_resp_head_free(&r);

  /* Each "X: y" costs 1 + 1 + 4 serialised bytes. */
  lim = (struct wh_h1_limits){0, 18};
  assert_int_equal(wh_h1_parse_head(T(head), &lim, &r), OK);
  wh_resp_head_free(&r);
  lim.max_bytes = 17;
  assert_int_equal(wh_h1_parse_head(T(head), &lim, &r), BIG);
  assert_int_equal(r.headers.n, 0);
  wh_resp_head_free(&r);

  /* A folded value counts as joined. */
  lim = (struct wh_h1_limits){0, 8};
  assert_int_equal(wh_h1_parse_head(T("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"), &lim, &r), OK);
  wh_resp_head_free(&r);
  lim.max_bytes = 7;
  assert_int_equal(wh_h1_parse_head(T("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"), &lim, &r), BIG);
  wh_resp_head_free(&r);

  /* A big head within the limit: 1,000 headers. */
  struct wh_buf b;
  wh_buf_init(&b, 1 << 20);
  assert_int_equal(wh_buf_adds(&b, "HTTP/1.1 200 OK\r\n"), 0);
  for (int i = 0; i < 1000; i++) {
    char line[64];
    snprintf(line, sizeof(line), "X-Header-%d: value %d\r\n", i, i);
    assert_int_equal(wh_buf_adds(&b, line), 0);
  }
  assert_int_equal(wh_buf_adds(&b, "\r\n"), 0);
  size_t end;
  assert_int_equal(wh_h1_head_end(b.p, b.len, 0, &end), OK);
  assert_int_equal(end, b.len);
  assert_int_equal(wh_h1_head_end(b.p, b.len, b.len - 1, &end), BIG);
  lim = (struct wh_h1_limits){1000, 0};
  assert_int_equal(wh_h1_parse_head(b.p, b.len, &lim, &r), OK);
  assert_int_equal(r.headers.n, 1000);
  assert_string_equal(r.headers.v[999].name, "X-Header-999");
  assert_string_equal(r.headers.v[999].value, "value 999");
  wh_resp_head_free(&r);
  lim.max_count = 999;
  assert_int_equal(wh_h1_parse_head(b.p, b.len, &lim, &r), MANY);
  wh_resp_head_free(&r);
  wh_buf_free(&b);
}

/* --- framing --------------------------------------------------------------- */

enum { K_NONE = WH_H1_BODY_NONE, K_LEN = WH_H1_BODY_LENGTH, K_CHUNK = WH_H1_BODY_CHUNKED,
       K_CLOSE = WH_H1_BODY_CLOSE };
/* Flags of struct wh_h1_framing, compactly. */
#define KA 1u
#define INTERIM 2u
#define UPG 4u
#define CONN_UPG 8u
#define TUNNEL 16u
#define CODED 32u

struct framing_case {
  const char *head;
  const char *method;
  DWORD err;
  int kind;
  uint64_t length;
  unsigned flags;
};

static const struct framing_case framing_cases[] = {
  /* Content-Length (§6.3 item 5, RFC 9110 §8.6). */
  {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "GET", OK, K_LEN, 10, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", OK, K_LEN, 0, KA},
  {"HTTP/1.1 200 OK\r\ncontent-length:007\r\n\r\n", "GET", OK, K_LEN, 7, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", "GET", OK, K_LEN,
   UINT64_MAX, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\n", "GET", OK, K_LEN, 5000000000ull,
   KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", "GET", OK, K_LEN, 5, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5,5 ,  5\r\n\r\n", "GET", OK, K_LEN, 5, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", "GET", OK, K_LEN, 5, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: ,5\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5.0\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "GET", BAD, K_CLOSE,
   0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: x\r\n\r\n", "GET", BAD, K_CLOSE, 0,
   0},
  /* Transfer-Encoding (§6.1, §6.3 items 3 and 4). */
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", OK, K_CHUNK, 0, KA},
  {"HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n", "GET", OK, K_CHUNK, 0, KA},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked,\r\n\r\n", "GET", OK, K_CHUNK, 0, KA},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "GET", OK, K_CHUNK, 0,
   KA | CODED},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", "GET",
   OK, K_CHUNK, 0, KA | CODED},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked ; foo=bar\r\n\r\n", "GET", OK, K_CHUNK, 0, KA},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "GET", OK, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET", OK, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\n", "GET", OK,
   K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "GET", OK,
   K_CHUNK, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", OK,
   K_CHUNK, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: bogus\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", OK,
   K_CHUNK, 0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "GET",
   BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip, chunked\r\n\r\n", "GET", BAD, K_CLOSE,
   0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: , ,\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chu nked\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: ;q=1\r\n\r\n", "GET", BAD, K_CLOSE, 0, 0},
  /* Connection and versions (§9.3). */
  {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", "GET", OK, K_LEN, 1, 0},
  {"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 1\r\n\r\n", "GET", OK,
   K_LEN, 1, 0},
  {"HTTP/1.1 200 OK\r\nConnection: foo\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", "GET",
   OK, K_LEN, 1, 0},
  {"HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 1\r\n\r\n", "GET", OK, K_LEN, 1, KA},
  {"HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 1\r\n\r\n", "GET", OK, K_LEN, 1,
   KA},
  {"HTTP/1.1 200 OK\r\n\r\n", "GET", OK, K_CLOSE, 0, 0},
  {"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n", "GET", OK, K_CLOSE, 0, 0},
  {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", OK, K_LEN, 1, 0},
  {"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n", "GET", OK, K_LEN, 1,
   KA},
  {"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 1\r\n\r\n", "GET", OK,
   K_LEN, 1, 0},
  {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", "GET", OK, K_CLOSE, 0, 0},
  {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", OK,
   K_CHUNK, 0, 0},
  {"HTTP/1.2 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", OK, K_LEN, 1, KA},
  /* No content (§6.3 items 1 and 2). */
  {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "HEAD", OK, K_NONE, 0, KA},
  {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", OK, K_NONE, 0, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: bogus\r\n\r\n", "HEAD", OK, K_NONE, 0, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", OK,
   K_NONE, 0, 0},
  {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "head", OK, K_LEN, 100, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", NULL, OK, K_LEN, 100, KA},
  {"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "GET", OK, K_NONE, 0, KA},
  {"HTTP/1.1 204 No Content\r\n\r\n", "POST", OK, K_NONE, 0, KA},
  {"HTTP/1.0 204 No Content\r\n\r\n", "GET", OK, K_NONE, 0, 0},
  {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", OK, K_NONE, 0, KA},
  {"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n", "GET", OK, K_NONE, 0, 0},
  {"HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n\r\n", "GET", OK, K_LEN, 0, KA},
  {"HTTP/1.1 100 Continue\r\n\r\n", "POST", OK, K_NONE, 0, KA | INTERIM},
  {"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", "GET", OK, K_NONE, 0, KA | INTERIM},
  {"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n", "GET", OK, K_NONE, 0, KA | INTERIM},
  {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "GET",
   OK, K_NONE, 0, UPG | CONN_UPG},
  {"HTTP/1.1 101 Switching Protocols\r\n\r\n", "GET", OK, K_NONE, 0, UPG},
  {"HTTP/1.1 200 OK\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\n", "GET", OK, K_LEN, 2,
   KA | CONN_UPG},
  {"HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT", OK, K_NONE, 0, TUNNEL},
  {"HTTP/1.1 204 OK\r\nContent-Length: 9\r\n\r\n", "CONNECT", OK, K_NONE, 0, KA},
  {"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\n", "CONNECT", OK, K_LEN, 3, KA},
  {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "connect", OK, K_LEN, 3, KA},
  {"HTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\n", "GET", OK, K_LEN, 3, KA},
};

static void test_framing(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(framing_cases); i++) {
    const struct framing_case *c = &framing_cases[i];
    struct wh_resp_head r;
    struct wh_h1_framing f;
    assert_int_equal(wh_h1_parse_head(c->head, strlen(c->head), NULL, &r), OK);
    memset(&f, 0xa5, sizeof(f));
    DWORD err = wh_h1_framing(&r, c->method, &f);
    unsigned flags = (f.keep_alive ? KA : 0) | (f.interim ? INTERIM : 0) |
                     (f.upgrade ? UPG : 0) | (f.conn_upgrade ? CONN_UPG : 0) |
                     (f.tunnel ? TUNNEL : 0) | (f.transfer_coded ? CODED : 0);
    if (err != c->err || (int)f.kind != c->kind || flags != c->flags ||
        (f.kind == WH_H1_BODY_LENGTH && f.length != c->length))
      fail_msg("case %zu: got err %u kind %d len %llu flags %#x, want %u %d %llu %#x", i,
               (unsigned)err, (int)f.kind, (unsigned long long)f.length, flags, (unsigned)c->err,
               c->kind, (unsigned long long)c->length, c->flags);
    if (f.kind != WH_H1_BODY_LENGTH)
      assert_true(f.length == 0);
    wh_resp_head_free(&r);
  }
}

/* --- the chunked decoder ---------------------------------------------------- */

struct dec_result {
  DWORD err;
  bool done;
  size_t consumed; /* bytes of the input used in all */
  char *body;      /* malloc'd */
  size_t body_len;
  char *trailers;  /* serialised trailer store (wh_free), or NULL */
};

struct dec_opts {
  size_t max_line, max_trailer;
  bool collect;            /* pass a trailer store */
  size_t trailer_max_count;
};

static void append(char **buf, size_t *len, const char *p, size_t n)
{
  char *nb = realloc(*buf, *len + n + 1);
  assert_non_null(nb);
  memcpy(nb + *len, p, n);
  *len += n;
  nb[*len] = '\0';
  *buf = nb;
}

/* Decodes |in| fed in pieces that end at the offsets |cuts| (ascending, the
 * last one |n|), each piece in its own exact-size heap block; unconsumed
 * bytes of a piece are offered again until the decoder stops. */
static struct dec_result decode_cuts(const char *in, size_t n, const size_t *cuts,
                                     size_t ncuts, const struct dec_opts *o)
{
  struct dec_result res = {OK, false, 0, NULL, 0, NULL};
  struct wh_headers tr;
  assert_true(ncuts >= 1 && cuts[ncuts - 1] == n);
  struct wh_chunked c;
  wh_headers_init(&tr);
  wh_headers_set_limits(&tr, 0, o ? o->trailer_max_count : 0);
  wh_chunked_init(&c, o ? o->max_line : 0, o ? o->max_trailer : 0,
                  o && o->collect ? &tr : NULL);
  append(&res.body, &res.body_len, "", 0);
  size_t start = 0;
  for (size_t k = 0; k < ncuts && !res.done && res.err == OK; k++) {
    size_t plen = cuts[k] - start;
    char *piece = wh_dup_exact(in + start, plen);
    size_t off = 0;
    for (;;) {
      size_t used;
      const char *data;
      size_t dlen;
      res.err = wh_chunked_decode(&c, piece + off, plen - off, &used, &data, &dlen);
      assert_true(used <= plen - off);
      if (dlen) {
        assert_true(data >= piece + off && data + dlen <= piece + off + used);
        append(&res.body, &res.body_len, data, dlen);
      }
      off += used;
      res.consumed += used;
      res.done = wh_chunked_done(&c);
      if (res.err != OK || res.done)
        break;
      if (dlen == 0) {
        assert_int_equal(off, plen); /* no data means all was taken */
        break;
      }
    }
    free(piece);
    start = cuts[k];
  }
  if (res.err != OK) {
    /* Sticky. */
    size_t used = 99;
    const char *data = "x";
    size_t dlen = 99;
    assert_int_equal(wh_chunked_decode(&c, "0\r\n\r\n", 5, &used, &data, &dlen), res.err);
    assert_int_equal(used, 0);
    assert_int_equal(dlen, 0);
    assert_false(wh_chunked_done(&c));
  } else if (res.done) {
    size_t used = 99;
    const char *data = "x";
    size_t dlen = 99;
    assert_int_equal(wh_chunked_decode(&c, "5\r\n", 3, &used, &data, &dlen), OK);
    assert_int_equal(used, 0);
    assert_int_equal(dlen, 0);
    assert_true(c.body_len == res.body_len);
  }
  if (o && o->collect)
    res.trailers = store_text(&tr);
  wh_chunked_free(&c);
  wh_chunked_free(&c);
  wh_headers_free(&tr);
  return res;
}

static struct dec_result decode_whole(const char *in, size_t n, const struct dec_opts *o)
{
  size_t cut = n;
  return decode_cuts(in, n, &cut, 1, o);
}

static void dec_free(struct dec_result *r)
{
  free(r->body);
  wh_free(r->trailers);
}

static void assert_same(const struct dec_result *a, const struct dec_result *b, const char *what,
                        size_t i)
{
  if (a->err != b->err || a->done != b->done || a->body_len != b->body_len ||
      memcmp(a->body, b->body, a->body_len) != 0 ||
      (a->err == OK && a->consumed != b->consumed) ||
      ((a->trailers == NULL) != (b->trailers == NULL)) ||
      (a->trailers && strcmp(a->trailers, b->trailers) != 0))
    fail_msg("case %zu: %s decoding differs: err %u/%u done %d/%d body %zu/%zu consumed %zu/%zu",
             i, what, (unsigned)a->err, (unsigned)b->err, a->done, b->done, a->body_len,
             b->body_len, a->consumed, b->consumed);
}

struct chunk_case {
  const char *p;
  size_t n;
  DWORD err;
  bool done;
  const char *body;
  size_t body_n;
  size_t rest;          /* bytes left after the end (done only) */
  struct dec_opts opts;
  const char *trailers; /* with opts.collect, on success */
};

static const struct chunk_case chunk_cases[] = {
  {T("5\r\nhello\r\n0\r\n\r\n"), OK, true, T("hello"), 0, {0}, NULL},
  {T("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nHTTP/1.1"), OK, true, T("hello world"), 8, {0}, NULL},
  {T("a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n"), OK, true, T("0123456789abcdefghij"), 0,
   {0}, NULL},
  {T("5\nhello\n0\n\nX"), OK, true, T("hello"), 1, {0}, NULL},
  {T("5\r\nhello\n0\r\n\n"), OK, true, T("hello"), 0, {0}, NULL},
  {T("0\r\n\r\n"), OK, true, T(""), 0, {0}, NULL},
  {T("000\r\n\r\n\r\n"), OK, true, T(""), 2, {0}, NULL},
  {T("0005\r\nhello\r\n0000\r\n\r\n"), OK, true, T("hello"), 0, {0}, NULL},
  {T("00000000000000000000001\r\nx\r\n0\r\n\r\n"), OK, true, T("x"), 0, {0}, NULL},
  {T("5;name=value\r\nhello\r\n0;last\r\n\r\n"), OK, true, T("hello"), 0, {0}, NULL},
  {T("5 ;a=\"b c\" ; d\r\nhello\r\n0\t;x\r\n\r\n"), OK, true, T("hello"), 0, {0}, NULL},
  {T("5  \r\nhello\r\n0 \t\r\n\r\n"), OK, true, T("hello"), 0, {0}, NULL},
  {T("5;\xc3\xa9\t\r\nhello\r\n0\r\n\r\n"), OK, true, T("hello"), 0, {0}, NULL},
  {T("3\r\na\0b\r\n0\r\n\r\n"), OK, true, T("a\0b"), 0, {0}, NULL},
  {T("2\r\n\r\n\r\n0\r\n\r\n"), OK, true, T("\r\n"), 0, {0}, NULL},
  /* Trailers: skipped, or collected. */
  {T("0\r\nX-T: 1\r\nY: 2\r\n\r\nZ"), OK, true, T(""), 1, {0}, NULL},
  {T("0\r\nX-T: 1\r\nY: 2\r\n\r\nZ"), OK, true, T(""), 1, {0, 0, true, 0}, "X-T: 1\r\nY: 2\r\n"},
  {T("0\nX-T: 1\nY:2\n\n"), OK, true, T(""), 0, {0, 0, true, 0}, "X-T: 1\r\nY: 2\r\n"},
  {T("3\r\nabc\r\n0\r\nA: b\r\n c\r\n\r\n"), OK, true, T("abc"), 0, {0, 0, true, 0}, "A: b c\r\n"},
  {T("0\r\n\r\n"), OK, true, T(""), 0, {0, 0, true, 0}, ""},
  {T("0\r\nbad line\r\n\r\n"), OK, true, T(""), 0, {0}, NULL}, /* skipped unchecked */
  {T("0\r\nbad line\r\n\r\n"), BAD, false, T(""), 0, {0, 0, true, 0}, NULL},
  {T("0\r\n folded\r\n\r\n"), BAD, false, T(""), 0, {0, 0, true, 0}, NULL},
  {T("0\r\nA: 1\r\nB: 2\r\n\r\n"), MANY, false, T(""), 0, {0, 0, true, 1}, NULL},
  {T("0\r\nA: 1\r\n\r\n"), OK, true, T(""), 0, {0, 0, true, 1}, "A: 1\r\n"},
  {T("0\r\nX: 1\rY\r\n\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("0\r\nX: \0\r\n\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("0\r\n\rX"), BAD, false, T(""), 0, {0}, NULL},
  /* Trailer section limit: "A: 123\r\n\r\n" is 10 bytes. */
  {T("0\r\nA: 123\r\n\r\n"), OK, true, T(""), 0, {0, 10, true, 0}, "A: 123\r\n"},
  {T("0\r\nA: 123\r\n\r\n"), OK, true, T(""), 0, {0, 10, false, 0}, NULL},
  {T("0\r\nA: 1234\r\n\r\n"), BIG, false, T(""), 0, {0, 10, true, 0}, NULL},
  {T("0\r\nA: 1234\r\n\r\n"), BIG, false, T(""), 0, {0, 10, false, 0}, NULL},
  /* Incomplete: what there is, and no end. */
  {T("5\r\nhel"), OK, false, T("hel"), 0, {0}, NULL},
  {T("5\r\nhello"), OK, false, T("hello"), 0, {0}, NULL},
  {T("5\r\nhello\r"), OK, false, T("hello"), 0, {0}, NULL},
  {T("5\r\nhello\r\n0\r\n"), OK, false, T("hello"), 0, {0}, NULL},
  {T("5\r\nhello\r\n0\r\nA: b\r\n"), OK, false, T("hello"), 0, {0, 0, true, 0}, ""},
  {T("5;ext"), OK, false, T(""), 0, {0}, NULL},
  {T(""), OK, false, T(""), 0, {0}, NULL},
  {T("ffffffffffffffff\r\nab"), OK, false, T("ab"), 0, {0}, NULL},
  {T("FFFFFFFFFFFFFFFF\r\nab"), OK, false, T("ab"), 0, {0}, NULL},
  /* Bad framing. */
  {T("\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("\n"), BAD, false, T(""), 0, {0}, NULL},
  {T(";ext\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("x\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("-1\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("+1\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T(" 5\r\nhello\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("5 5\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("0x5\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("5g\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("5\rX"), BAD, false, T(""), 0, {0}, NULL},
  {T("5\r\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("5;\x01\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("5;a\0\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("5;a\x7f\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("5;a\rb\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("5\r\nhelloX\r\n0\r\n\r\n"), BAD, false, T("hello"), 0, {0}, NULL},
  {T("5\r\nhello\rX"), BAD, false, T("hello"), 0, {0}, NULL},
  {T("5\r\nhello\r\r\n"), BAD, false, T("hello"), 0, {0}, NULL},
  {T("5\r\nhello\n\r\n"), BAD, false, T("hello"), 0, {0}, NULL}, /* an empty size line */
  {T("10000000000000000\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("fffffffffffffffff\r\n"), BAD, false, T(""), 0, {0}, NULL},
  {T("1\r\na\r\n10000000000000000\r\n"), BAD, false, T("a"), 0, {0}, NULL},
  /* The size line limit counts digits, white space and extensions. */
  {T("5;aaaaaa\r\nhello\r\n0\r\n\r\n"), OK, true, T("hello"), 0, {8, 0, false, 0}, NULL},
  {T("5;aaaaaaa\r\nhello\r\n0\r\n\r\n"), LINE, false, T(""), 0, {8, 0, false, 0}, NULL},
  {T("000000005\r\nhello\r\n0\r\n\r\n"), LINE, false, T(""), 0, {8, 0, false, 0}, NULL},
  {T("5       \r\nhello\r\n0\r\n\r\n"), OK, true, T("hello"), 0, {8, 0, false, 0}, NULL},
  {T("5        \r\n"), LINE, false, T(""), 0, {8, 0, false, 0}, NULL},
  {T("1\r\na\r\n0;aaaaaaa\r\n\r\n"), LINE, false, T("a"), 0, {8, 0, false, 0}, NULL},
  {T("5;aaaaaaa"), LINE, false, T(""), 0, {8, 0, false, 0}, NULL},
  {T("5;aaaaaa"), OK, false, T(""), 0, {8, 0, false, 0}, NULL},
};

static void test_chunked(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(chunk_cases); i++) {
    const struct chunk_case *c = &chunk_cases[i];
    struct dec_result r = decode_whole(c->p, c->n, &c->opts);
    size_t blen = c->body_n;
    if (r.err != c->err || r.done != c->done || r.body_len != blen ||
        memcmp(r.body, c->body, blen) != 0)
      fail_msg("case %zu: got err %u done %d body \"%s\" (%zu)", i, (unsigned)r.err, r.done,
               r.body, r.body_len);
    if (r.err == OK && r.done && c->n - r.consumed != c->rest)
      fail_msg("case %zu: %zu bytes left, want %zu", i, c->n - r.consumed, c->rest);
    if (r.err == OK && !r.done)
      assert_int_equal(r.consumed, c->n);
    if (c->trailers && r.err == OK)
      assert_string_equal(r.trailers, c->trailers);
    dec_free(&r);
  }
}

/* Every case one byte at a time, and at every two-way and a spread of
 * three-way splits, gives what the whole input gives. */
static void test_chunked_split(void **state)
{
  (void)state;
  for (size_t i = 0; i < COUNT(chunk_cases); i++) {
    const struct chunk_case *c = &chunk_cases[i];
    struct dec_result whole = decode_whole(c->p, c->n, &c->opts);

    size_t *cuts = malloc((c->n + 1) * sizeof(*cuts));
    assert_non_null(cuts);
    cuts[0] = 0;
    for (size_t k = 0; k < c->n; k++)
      cuts[k] = k + 1;
    struct dec_result bytes = decode_cuts(c->p, c->n, cuts, c->n ? c->n : 1, &c->opts);
    assert_same(&whole, &bytes, "byte-at-a-time", i);
    dec_free(&bytes);

    for (size_t a = 0; a <= c->n; a++) {
      size_t two[2] = {a, c->n};
      struct dec_result r = decode_cuts(c->p, c->n, two, 2, &c->opts);
      assert_same(&whole, &r, "two-way", i);
      dec_free(&r);
      for (size_t b = a; b <= c->n; b += 3) {
        size_t three[3] = {a, b, c->n};
        r = decode_cuts(c->p, c->n, three, 3, &c->opts);
        assert_same(&whole, &r, "three-way", i);
        dec_free(&r);
      }
    }
    free(cuts);
    dec_free(&whole);
  }
}

/* The default size-line limit is 16 KiB of digits, white space and
 * extensions. */
static void test_chunked_default_limit(void **state)
{
  (void)state;
  for (size_t extra = 0; extra < 2; extra++) {
    size_t line = WH_CHUNKED_DEFAULT_MAX_LINE + extra;
    size_t n = line + 13;
    char *in = malloc(n);
    assert_non_null(in);
    in[0] = '3';
    in[1] = ';';
    memset(in + 2, 'e', line - 2);
    memcpy(in + line, "\r\nabc\r\n0\r\n\r\n", 13);
    struct dec_result r = decode_whole(in, n, NULL);
    if (extra == 0) {
      assert_int_equal(r.err, OK);
      assert_true(r.done);
      assert_int_equal(r.body_len, 3);
    } else {
      assert_int_equal(r.err, LINE);
    }
    dec_free(&r);
    free(in);
  }
}

/* Large chunks come back in place, in as few spans as the input allows. */
static void test_chunked_in_place(void **state)
{
  (void)state;
  static const char in[] = "8\r\n01234567\r\n4\r\nabcd\r\n0\r\n\r\n";
  struct wh_chunked c;
  size_t used;
  const char *data;
  size_t dlen;
  wh_chunked_init(&c, 0, 0, NULL);
  assert_int_equal(wh_chunked_decode(&c, in, sizeof(in) - 1, &used, &data, &dlen), OK);
  assert_ptr_equal(data, in + 3);
  assert_int_equal(dlen, 8);
  assert_int_equal(used, 11);
  assert_int_equal(wh_chunked_decode(&c, in + 11, sizeof(in) - 12, &used, &data, &dlen), OK);
  assert_ptr_equal(data, in + 16);
  assert_int_equal(dlen, 4);
  assert_int_equal(used, 9);
  assert_int_equal(wh_chunked_decode(&c, in + 20, sizeof(in) - 21, &used, &data, &dlen), OK);
  assert_int_equal(dlen, 0);
  assert_null(data);
  assert_int_equal(used, 7);
  assert_true(wh_chunked_done(&c));
  assert_true(c.body_len == 12);
  wh_chunked_free(&c);

  /* A chunk bigger than size_t can index is handed out piecewise. */
  wh_chunked_init(&c, 0, 0, NULL);
  assert_int_equal(wh_chunked_decode(&c, T("FFFFFFFFFFFFFFFF\r\nxyz"), &used, &data, &dlen), OK);
  assert_int_equal(dlen, 3);
  assert_true(c.remaining == UINT64_MAX - 3);
  assert_int_equal(wh_chunked_decode(&c, T("more"), &used, &data, &dlen), OK);
  assert_int_equal(dlen, 4);
  assert_false(wh_chunked_done(&c));
  wh_chunked_free(&c);
}

/* The upload side round-trips through the decoder. */
static void test_chunk_header(void **state)
{
  (void)state;
  static const struct {
    uint64_t size;
    const char *text;
  } cases[] = {
    {0, "0\r\n"},        {1, "1\r\n"},         {15, "f\r\n"},
    {16, "10\r\n"},      {255, "ff\r\n"},      {4096, "1000\r\n"},
    {0x123456789abcdef0ull, "123456789abcdef0\r\n"}, {UINT64_MAX, "ffffffffffffffff\r\n"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    char buf[WH_H1_CHUNK_HEADER_MAX];
    size_t n = wh_h1_chunk_header(cases[i].size, buf);
    assert_int_equal(n, strlen(cases[i].text));
    assert_memory_equal(buf, cases[i].text, n);
  }

  struct wh_buf b;
  wh_buf_init(&b, 1 << 20);
  static const char *const parts[] = {"Hello", ", ", "chunked", " world", "!"};
  for (size_t i = 0; i < COUNT(parts); i++) {
    char hdr[WH_H1_CHUNK_HEADER_MAX];
    assert_int_equal(wh_buf_add(&b, hdr, wh_h1_chunk_header(strlen(parts[i]), hdr)), 0);
    assert_int_equal(wh_buf_adds(&b, parts[i]), 0);
    assert_int_equal(wh_buf_adds(&b, WH_H1_CHUNK_END), 0);
  }
  assert_int_equal(wh_buf_adds(&b, WH_H1_LAST_CHUNK), 0);
  struct dec_result r = decode_whole(b.p, b.len, NULL);
  assert_int_equal(r.err, OK);
  assert_true(r.done);
  assert_int_equal(r.consumed, b.len);
  assert_string_equal(r.body, "Hello, chunked world!");
  dec_free(&r);
  wh_buf_free(&b);
}

/* --- the request head --------------------------------------------------------- */

static void test_request_head(void **state)
{
  (void)state;
  struct wh_headers h;
  struct wh_buf b;
  wh_headers_init(&h);
  assert_int_equal(wh_headers_apply(&h, T("Host: example.com\r\nUser-Agent: t\r\n"),
                                    WINHTTP_ADDREQ_FLAG_ADD),
                   OK);

  wh_buf_init(&b, 1 << 16);
  assert_int_equal(wh_h1_request_head("POST", "/a?b=c", "HTTP/1.1", &h, &b), OK);
  assert_string_equal(b.p, "POST /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n");
  wh_buf_reset(&b);
  assert_int_equal(wh_h1_request_head(NULL, "/", NULL, NULL, &b), OK);
  assert_string_equal(b.p, "GET / HTTP/1.1\r\n\r\n");
  wh_buf_reset(&b);
  assert_int_equal(wh_h1_request_head("CONNECT", "h:443", "HTTP/1.0", NULL, &b), OK);
  assert_string_equal(b.p, "CONNECT h:443 HTTP/1.0\r\n\r\n");
  wh_buf_reset(&b);
  assert_int_equal(wh_h1_request_head("OPTIONS", "*", NULL, &h, &b), OK);
  assert_string_equal(b.p, "OPTIONS * HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n");

  /* Anything that could split the request line is refused; |out| is kept. */
  static const char *const bad[][3] = {
    {"", "/", NULL},         {"G T", "/", NULL},        {"GET\r\n", "/", NULL},
    {"G(ET", "/", NULL},     {"GET", "", NULL},         {"GET", NULL, NULL},
    {"GET", "/a b", NULL},   {"GET", "/\r\nX: y", NULL}, {"GET", "/\x7f", NULL},
    {"GET", "/\t", NULL},    {"GET", "/", ""},          {"GET", "/", "HTTP/1.1\r\nX: y"},
    {"GET", "/", "HTTP 1"},
  };
  wh_buf_reset(&b);
  assert_int_equal(wh_buf_adds(&b, "keep"), 0);
  for (size_t i = 0; i < COUNT(bad); i++) {
    if (wh_h1_request_head(bad[i][0], bad[i][1], bad[i][2], &h, &b) != ERROR_INVALID_PARAMETER)
      fail_msg("bad case %zu accepted", i);
    assert_string_equal(b.p, "keep");
  }
  wh_buf_free(&b);

  /* Every possible ceiling: fits exactly, or fails cleanly at any point. */
  static const char full[] = "PUT /x HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
  for (size_t max = 4; max <= sizeof(full) - 1 + 4; max++) {
    wh_buf_init(&b, max);
    assert_int_equal(wh_buf_adds(&b, "pre:"), 0);
    DWORD err = wh_h1_request_head("PUT", "/x", NULL, &h, &b);
    if (max - 4 >= sizeof(full) - 1) {
      assert_int_equal(err, OK);
      assert_int_equal(b.len, 4 + sizeof(full) - 1);
      assert_string_equal(b.p + 4, full);
    } else {
      assert_int_equal(err, BIG);
      assert_int_equal(b.len, 4);
      assert_string_equal(b.p, "pre:");
    }
    wh_buf_free(&b);
  }
  wh_headers_free(&h);
}

/* --- out of memory ------------------------------------------------------------- */

/* Runs |op| with the k-th allocation failing, for k = 0, 1, ... until it
 * succeeds; every failure must be ERROR_NOT_ENOUGH_MEMORY and leak nothing
 * (LeakSanitizer checks at exit). Returns the number of failures seen. */
static size_t oom_walk(DWORD (*op)(void))
{
  size_t failures = 0;
  for (long k = 0;; k++) {
    wh_mem_fail_after(k);
    DWORD err = op(); /* resets the hook itself before checking a success */
    wh_mem_fail_reset();
    if (err == OK)
      break;
    assert_int_equal(err, NOMEM);
    failures++;
    assert_true(k < 1000);
  }
  return failures;
}

static DWORD oom_parse_head(void)
{
  static const char head[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n 3\r\nC: 4\r\nD: 5\r\n"
                             "E: 6\r\nF: 7\r\nG: 8\r\nH: 9\r\nI: 10\r\n\r\n";
  struct wh_resp_head r;
  DWORD err = wh_h1_parse_head(T(head), NULL, &r);
  if (err == OK) {
    wh_mem_fail_reset();
    assert_int_equal(r.headers.n, 9);
    assert_string_equal(r.headers.v[1].value, "2 3");
    struct wh_h1_framing f;
    assert_int_equal(wh_h1_framing(&r, "GET", &f), OK);
  } else {
    assert_null(r.reason);
    assert_null(r.headers.v);
  }
  wh_resp_head_free(&r);
  return err;
}

static DWORD oom_chunked(void)
{
  static const char in[] = "3\r\nabc\r\n0\r\nA: 1\r\nB: 2\r\n 3\r\n\r\n";
  struct wh_headers tr;
  struct wh_chunked c;
  wh_headers_init(&tr);
  wh_chunked_init(&c, 0, 0, &tr);
  DWORD err = OK;
  /* Byte by byte, so the trailer buffer grows in many steps. */
  for (size_t i = 0; i < sizeof(in) - 1 && err == OK; i++) {
    size_t used;
    const char *data;
    size_t dlen;
    err = wh_chunked_decode(&c, in + i, 1, &used, &data, &dlen);
    assert_int_equal(used, 1);
  }
  if (err == OK) {
    wh_mem_fail_reset();
    assert_true(wh_chunked_done(&c));
    assert_store(&tr, "A: 1\r\nB: 2 3\r\n");
  } else {
    assert_int_equal(tr.n, 0);
  }
  wh_chunked_free(&c);
  wh_headers_free(&tr);
  return err;
}

static void test_out_of_memory(void **state)
{
  (void)state;
  assert_true(oom_parse_head() == OK);
  /* reason + the array + one block for the 9 headers (wh_headers_reserve) +
   * fold; a failed reserve falls back to a block per header, walked too. */
  assert_true(oom_walk(oom_parse_head) >= 4);
  assert_true(oom_walk(oom_chunked) >= 3);
  /* The request head allocates only its output buffer; the store is built
   * before the failures start, so this walks the serialiser alone. */
  size_t failures = 0;
  for (long k = 0;; k++) {
    struct wh_headers h;
    struct wh_buf b;
    wh_headers_init(&h);
    assert_int_equal(wh_headers_apply(&h, T("Host: a\r\nX: y"), WINHTTP_ADDREQ_FLAG_ADD), OK);
    wh_buf_init(&b, 1 << 16);
    wh_mem_fail_after(k);
    DWORD err = wh_h1_request_head("GET", "/", NULL, &h, &b);
    wh_mem_fail_reset();
    wh_buf_free(&b);
    wh_headers_free(&h);
    if (err == OK)
      break;
    assert_int_equal(err, NOMEM);
    failures++;
  }
  assert_true(failures >= 1);
}

/* --- a realistic exchange -------------------------------------------------------- */

/* A keep-alive connection delivering an interim response, a chunked
 * response and a Content-Length response in one read, as the engine would
 * walk it. */
static void test_pipeline(void **state)
{
  (void)state;
  static const char wire[] =
    "HTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Thu, 06 Mar 2025 07:08:09 GMT\r\n"
    "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
    "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"
    "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnah";
  const char *p = wire;
  size_t left = sizeof(wire) - 1, end;
  struct wh_resp_head r;
  struct wh_h1_framing f;

  assert_int_equal(wh_h1_head_end(p, left, 65536, &end), OK);
  assert_int_equal(wh_h1_parse_head(p, end, NULL, &r), OK);
  assert_int_equal(wh_h1_framing(&r, "POST", &f), OK);
  assert_true(f.interim && f.kind == WH_H1_BODY_NONE);
  wh_resp_head_free(&r);
  p += end;
  left -= end;

  assert_int_equal(wh_h1_head_end(p, left, 65536, &end), OK);
  assert_int_equal(wh_h1_parse_head(p, end, NULL, &r), OK);
  assert_int_equal(wh_h1_framing(&r, "POST", &f), OK);
  assert_int_equal(r.status, 200);
  assert_int_equal(f.kind, WH_H1_BODY_CHUNKED);
  assert_true(f.keep_alive);
  const struct wh_header *d = wh_headers_find(&r.headers, T("date"), 0);
  assert_non_null(d);
  assert_string_equal(d->value, "Thu, 06 Mar 2025 07:08:09 GMT");
  wh_resp_head_free(&r);
  p += end;
  left -= end;

  struct wh_chunked c;
  wh_chunked_init(&c, 0, 0, NULL);
  char body[32];
  size_t blen = 0;
  while (!wh_chunked_done(&c)) {
    size_t used, dlen;
    const char *data;
    assert_int_equal(wh_chunked_decode(&c, p, left, &used, &data, &dlen), OK);
    if (dlen) {
      assert_true(blen + dlen <= sizeof(body));
      memcpy(body + blen, data, dlen);
      blen += dlen;
    }
    p += used;
    left -= used;
  }
  wh_chunked_free(&c);
  assert_int_equal(blen, 11);
  assert_memory_equal(body, "hello world", 11);

  assert_int_equal(wh_h1_head_end(p, left, 65536, &end), OK);
  assert_int_equal(wh_h1_parse_head(p, end, NULL, &r), OK);
  assert_int_equal(wh_h1_framing(&r, "GET", &f), OK);
  assert_int_equal(r.status, 404);
  assert_string_equal(r.reason, "Not Found");
  assert_int_equal(f.kind, WH_H1_BODY_LENGTH);
  assert_true(f.length == 3);
  assert_int_equal(left - end, 3);
  wh_resp_head_free(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_head_end),
    cmocka_unit_test(test_head_end_prefixes),
    cmocka_unit_test(test_head_end_resume),
    cmocka_unit_test(test_status_line),
    cmocka_unit_test(test_version_string),
    cmocka_unit_test(test_fields),
    cmocka_unit_test(test_parse_fields),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_framing),
    cmocka_unit_test(test_chunked),
    cmocka_unit_test(test_chunked_split),
    cmocka_unit_test(test_chunked_default_limit),
    cmocka_unit_test(test_chunked_in_place),
    cmocka_unit_test(test_chunk_header),
    cmocka_unit_test(test_request_head),
    cmocka_unit_test(test_out_of_memory),
    cmocka_unit_test(test_pipeline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
