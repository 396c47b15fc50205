/* Tests of policy/cookie.c: the RFC 6265 cookie jar. The vectors are our
 * own, modelled on RFC 6265's §3.1 examples and on the kinds of case the
 * http-state test suite covers (attribute parsing, dates, domains, paths,
 * ordering, names and values), plus the RFC 6265bis rules cookie.h lists.
 * "now" is always NOW unless a test says otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/cookie.h"
#include "util/mem.h"

/* Tue, 14 Nov 2023 22:13:20 GMT */
#define NOW 1700000000LL

/* ---- helpers ------------------------------------------------------------ */

static void set_at(struct wh_cookie_jar *j, const char *sc, const char *host, const char *path,
                   bool secure, int64_t now)
{
  assert_int_equal(wh_cookie_jar_set(j, sc, strlen(sc), host, path, secure, now), ERROR_SUCCESS);
}

static void set(struct wh_cookie_jar *j, const char *sc, const char *host, const char *path)
{
  set_at(j, sc, host, path, false, NOW);
}

static void set_s(struct wh_cookie_jar *j, const char *sc, const char *host, const char *path)
{
  set_at(j, sc, host, path, true, NOW);
}

/* Asserts the Cookie header for a request; |want| NULL means none. */
static void expect_at(const struct wh_cookie_jar *j, const char *host, const char *path,
                      bool secure, int64_t now, const char *want)
{
  char *got = (char *)1;
  assert_int_equal(wh_cookie_jar_header(j, host, path, secure, now, &got), ERROR_SUCCESS);
  if (!want) {
    if (got)
      fail_msg("%s%s: want no cookie, got \"%s\"", host, path ? path : "", got);
    return;
  }
  if (!got)
    fail_msg("%s%s: want \"%s\", got none", host, path ? path : "", want);
  if (strcmp(got, want) != 0)
    fail_msg("%s%s: want \"%s\", got \"%s\"", host, path ? path : "", want, got);
  wh_free(got);
}

static void expect(const struct wh_cookie_jar *j, const char *host, const char *path,
                   const char *want)
{
  expect_at(j, host, path, false, NOW, want);
}

/* ---- RFC 6265 §5.1.1 cookie-date ---------------------------------------- */

static const struct date_row {
  const char *text;
  bool ok;
  int64_t want;
} date_rows[] = {
    /* The three HTTP-date forms. */
    {"Sun, 06 Nov 1994 08:49:37 GMT", true, 784111777},
    {"Sunday, 06-Nov-94 08:49:37 GMT", true, 784111777},
    {"Sun Nov  6 08:49:37 1994", true, 784111777},
    {"Wed, 09 Jun 2021 10:18:14 GMT", true, 1623233894},
    /* Any order, any delimiters, any case, trailing junk in tokens. */
    {"1994 Nov 6 8:49:37", true, 784111777},
    {"06 NOVEMBER 1994 08:49:37", true, 784111777},
    {"6-nov-1994 08:49:37", true, 784111777},
    {"Sun, 06 Nov 1994 08:49:37 GMT+0100", true, 784111777},
    {"Sun, 06 Nov 1994 08:49:37GMT", true, 784111777},
    {"  ,06 Nov 1994 08:49:37;;;", true, 784111777},
    {"06 Nov 1994 8:9:7", true, 784109347},
    /* Two-digit years: 70-99 are 19xx, 00-69 are 20xx. */
    {"Thu, 01 Jan 70 00:00:00 GMT", true, 0},
    {"Sat, 01 Jan 00 00:00:00 GMT", true, 946684800},
    {"01 Jan 69 00:00:00", true, 3124224000LL},
    /* Edges. */
    {"29 Feb 2024 00:00:00", true, 1709164800},
    {"01 Jan 1601 00:00:00", true, -11644473600LL},
    {"31 Dec 9999 23:59:59", true, 253402300799LL},
    /* Failures. */
    {"", false, 0},
    {"garbage", false, 0},
    {"Sun, 31 Nov 1994 08:49:37 GMT", false, 0}, /* no such date */
    {"29 Feb 2023 00:00:00", false, 0},
    {"06 Nov 1600 08:49:37", false, 0},          /* before 1601 */
    {"06 Nov 1994 24:00:00", false, 0},
    {"06 Nov 1994 08:60:00", false, 0},
    {"06 Nov 1994 08:49:60", false, 0},          /* no leap seconds here */
    {"06 Nov 1994", false, 0},                   /* no time */
    {"Nov 1994 08:49:37", false, 0},             /* no day */
    {"06 1994 08:49:37", false, 0},              /* no month */
    {"06 Nov 08:49:37", false, 0},               /* no year */
    {"00 Nov 1994 08:49:37", false, 0},
    {"32 Nov 1994 08:49:37", false, 0},
    {"06 Nov 19945 08:49:37", false, 0},         /* 5-digit year is no year */
    {"06 Nov 1994 123:49:37", false, 0},
};

static void test_cookie_date(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(date_rows) / sizeof(date_rows[0]); i++) {
    const struct date_row *r = &date_rows[i];
    int64_t got = 12345;
    bool ok = wh_cookie_parse_date(r->text, strlen(r->text), &got);
    if (ok != r->ok)
      fail_msg("\"%s\": want %s", r->text, r->ok ? "success" : "failure");
    if (ok && got != r->want)
      fail_msg("\"%s\": want %lld, got %lld", r->text, (long long)r->want, (long long)got);
  }
}

/* ---- one Set-Cookie, one request: the table ------------------------------ */

static const struct one_row {
  const char *set_cookie;
  const char *set_host, *set_path;
  const char *get_host, *get_path;
  const char *want;
} one_rows[] = {
    /* RFC 6265 §3.1, first example. */
    {"SID=31d4d96e407aad42", "example.com", "/", "example.com", "/", "SID=31d4d96e407aad42"},
    /* Plain values, spaces, quotes, odd bytes. */
    {"foo=bar", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"  foo  =  bar  ", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=\"bar\"", "home.example.org", "/", "home.example.org", "/", "foo=\"bar\""},
    {"foo=", "home.example.org", "/", "home.example.org", "/", "foo="},
    {"foo==bar=", "home.example.org", "/", "home.example.org", "/", "foo==bar="},
    {"foo bar=baz qux", "home.example.org", "/", "home.example.org", "/", "foo bar=baz qux"},
    {"foo=a\tb", "home.example.org", "/", "home.example.org", "/", "foo=a\tb"},
    {"foo=bar, baz=qux", "home.example.org", "/", "home.example.org", "/", "foo=bar, baz=qux"},
    {"foo=b;max-age=3600, c=d;path=/", "home.example.org", "/", "home.example.org", "/", "foo=b"},
    {"foo=\xc3\xa9t\xc3\xa9", "home.example.org", "/", "home.example.org", "/",
     "foo=\xc3\xa9t\xc3\xa9"},
    /* Unknown and malformed attributes are skipped. */
    {"foo=bar; Version=1", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; foo=qux", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; ; ; HttpOnly", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar;", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; Secure=no", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar; Max-Age=abc", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; Max-Age=", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; Max-Age=-", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; Max-Age=1x", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; Expires=not a date", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    /* Ignored cookies: RFC 6265 §5.2 steps 2 and 5, control characters. */
    {"foo", "home.example.org", "/", "home.example.org", "/", NULL},
    {"=bar", "home.example.org", "/", "home.example.org", "/", NULL},
    {"  =bar", "home.example.org", "/", "home.example.org", "/", NULL},
    {"", "home.example.org", "/", "home.example.org", "/", NULL},
    {";foo=bar", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar\r\nX-Evil: 1", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar\nbaz", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=\x01", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar\x7f", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar; path=/\r", "home.example.org", "/", "home.example.org", "/", NULL},
    /* Expiry. */
    {"foo=bar; Expires=Fri, 01 Jan 2038 00:00:00 GMT", "home.example.org", "/",
     "home.example.org", "/", "foo=bar"},
    {"foo=bar; Expires=Sun, 06 Nov 1994 08:49:37 GMT", "home.example.org", "/",
     "home.example.org", "/", NULL},
    {"foo=bar; Max-Age=10000", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; Max-Age=0", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar; Max-Age=-1", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar; Max-Age=00000", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar; Max-Age=99999999999999999999999999", "home.example.org", "/",
     "home.example.org", "/", "foo=bar"},
    {"foo=bar; Max-Age=60; Expires=Sun, 06 Nov 1994 08:49:37 GMT", "home.example.org", "/",
     "home.example.org", "/", "foo=bar"},
    {"foo=bar; Expires=Fri, 01 Jan 2038 00:00:00 GMT; Max-Age=0", "home.example.org", "/",
     "home.example.org", "/", NULL},
    {"foo=bar; Max-Age=0; Max-Age=60", "home.example.org", "/", "home.example.org", "/",
     "foo=bar"},
    {"foo=bar; Max-Age=60; Max-Age=junk", "home.example.org", "/", "home.example.org", "/",
     "foo=bar"},
    {"foo=bar; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Expires=bogus", "home.example.org", "/",
     "home.example.org", "/", NULL},
    /* Domain: host-only, Domain attribute, leading dot, case. */
    {"foo=bar", "home.example.org", "/", "sibling.example.org", "/", NULL},
    {"foo=bar", "home.example.org", "/", "sub.home.example.org", "/", NULL},
    {"foo=bar", "home.example.org", "/", "HOME.Example.ORG", "/", "foo=bar"},
    {"foo=bar", "HOME.Example.ORG", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; Domain=example.org", "home.example.org", "/", "sibling.example.org", "/",
     "foo=bar"},
    {"foo=bar; Domain=.example.org", "home.example.org", "/", "example.org", "/", "foo=bar"},
    {"foo=bar; Domain=EXAMPLE.org", "home.example.org", "/", "a.b.example.org", "/", "foo=bar"},
    {"foo=bar; Domain=home.example.org", "home.example.org", "/", "sub.home.example.org", "/",
     "foo=bar"},
    {"foo=bar; Domain=..example.org", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar; Domain=example.org.", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar; Domain=", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; Domain=", "home.example.org", "/", "sub.home.example.org", "/", NULL},
    {"foo=bar; Domain=.", "home.example.org", "/", "sub.home.example.org", "/", NULL},
    {"foo=bar; Domain=.", "home.example.org", "/", "home.example.org", "/", "foo=bar"},
    {"foo=bar; Domain=example.org; Domain=", "home.example.org", "/", "www.example.org", "/",
     "foo=bar"},
    {"foo=bar; Domain=example.com; Domain=example.org", "home.example.org", "/",
     "www.example.org", "/", "foo=bar"},
    {"foo=bar; Domain=example.org; Domain=example.com", "home.example.org", "/",
     "home.example.org", "/", NULL},
    {"foo=bar; Domain=other.org", "home.example.org", "/", "other.org", "/", NULL},
    {"foo=bar; Domain=other.org", "home.example.org", "/", "home.example.org", "/", NULL},
    {"foo=bar; Domain=ample.org", "example.org", "/", "example.org", "/", NULL},
    {"foo=bar; Domain=sub.home.example.org", "home.example.org", "/", "sub.home.example.org",
     "/", NULL},
    /* Public suffixes (libpsl): ICANN and private sections. */
    {"foo=bar; Domain=com", "example.com", "/", "example.com", "/", NULL},
    {"foo=bar; Domain=.com", "example.com", "/", "other.com", "/", NULL},
    {"foo=bar; Domain=co.uk", "www.bbc.co.uk", "/", "www.bbc.co.uk", "/", NULL},
    {"foo=bar; Domain=bbc.co.uk", "www.bbc.co.uk", "/", "news.bbc.co.uk", "/", "foo=bar"},
    {"foo=bar; Domain=github.io", "alice.github.io", "/", "alice.github.io", "/", NULL},
    {"foo=bar; Domain=co.uk", "co.uk", "/", "co.uk", "/", "foo=bar"},
    {"foo=bar; Domain=co.uk", "co.uk", "/", "bbc.co.uk", "/", NULL},
    {"foo=bar; Domain=localhost", "localhost", "/", "localhost", "/", "foo=bar"},
    {"foo=bar", "localhost", "/", "localhost", "/", "foo=bar"},
    /* IP literals match only themselves. */
    {"foo=bar", "192.168.1.10", "/", "192.168.1.10", "/", "foo=bar"},
    {"foo=bar; Domain=168.1.10", "192.168.1.10", "/", "192.168.1.10", "/", NULL},
    {"foo=bar; Domain=1.10", "192.168.1.10", "/", "192.168.1.10", "/", NULL},
    {"foo=bar; Domain=192.168.1.10", "192.168.1.10", "/", "192.168.1.10", "/", "foo=bar"},
    {"foo=bar; Domain=192.168.1.10", "192.168.1.10", "/", "5.192.168.1.10", "/", NULL},
    {"foo=bar", "[::1]", "/", "::1", "/", "foo=bar"},
    {"foo=bar", "::1", "/", "[::1]", "/", "foo=bar"},
    {"foo=bar", "[2001:DB8::1]", "/", "[2001:db8::1]", "/", "foo=bar"},
    /* Paths: default-path (§5.1.4). */
    {"foo=bar", "h.example.org", "/a/b/c", "h.example.org", "/a/b", "foo=bar"},
    {"foo=bar", "h.example.org", "/a/b/c", "h.example.org", "/a/bc", NULL},
    {"foo=bar", "h.example.org", "/a/b/c", "h.example.org", "/a", NULL},
    {"foo=bar", "h.example.org", "/a/b/", "h.example.org", "/a/b/", "foo=bar"},
    {"foo=bar", "h.example.org", "/a/b/", "h.example.org", "/a/c", NULL},
    {"foo=bar", "h.example.org", "/a", "h.example.org", "/", "foo=bar"},
    {"foo=bar", "h.example.org", "", "h.example.org", "/", "foo=bar"},
    {"foo=bar", "h.example.org", NULL, "h.example.org", "/", "foo=bar"},
    {"foo=bar", "h.example.org", "relative/x", "h.example.org", "/", "foo=bar"},
    {"foo=bar", "h.example.org", "/a/b?q=/c/d/e", "h.example.org", "/a/x", "foo=bar"},
    {"foo=bar", "h.example.org", "/a/b?q=/c/d/e", "h.example.org", "/c/d", NULL},
    {"foo=bar", "h.example.org", "/a/b#/c/d", "h.example.org", "/a", "foo=bar"},
    {"foo=bar", "h.example.org", "/a/b/c", "h.example.org", "/a/b?x", "foo=bar"},
    /* Paths: the Path attribute and path-match. */
    {"foo=bar; Path=/foo", "h.example.org", "/", "h.example.org", "/foo", "foo=bar"},
    {"foo=bar; Path=/foo", "h.example.org", "/", "h.example.org", "/foo/", "foo=bar"},
    {"foo=bar; Path=/foo", "h.example.org", "/", "h.example.org", "/foo/bar", "foo=bar"},
    {"foo=bar; Path=/foo", "h.example.org", "/", "h.example.org", "/foobar", NULL},
    {"foo=bar; Path=/foo", "h.example.org", "/", "h.example.org", "/fo", NULL},
    {"foo=bar; Path=/foo", "h.example.org", "/", "h.example.org", "/", NULL},
    {"foo=bar; Path=/foo", "h.example.org", "/", "h.example.org", "/FOO", NULL},
    {"foo=bar; Path=/foo/", "h.example.org", "/", "h.example.org", "/foo/bar", "foo=bar"},
    {"foo=bar; Path=/foo/", "h.example.org", "/", "h.example.org", "/foo", NULL},
    {"foo=bar; Path=/foo", "h.example.org", "/", "h.example.org", "/foo?x=1", "foo=bar"},
    {"foo=bar; Path=foo", "h.example.org", "/x/y", "h.example.org", "/x", "foo=bar"},
    {"foo=bar; Path=", "h.example.org", "/x/y", "h.example.org", "/", NULL},
    {"foo=bar; Path=/a; Path=", "h.example.org", "/x/y", "h.example.org", "/x", "foo=bar"},
    {"foo=bar; Path=/a; Path=/b", "h.example.org", "/", "h.example.org", "/b", "foo=bar"},
    {"foo=bar;  path  =  /a  ", "h.example.org", "/", "h.example.org", "/a", "foo=bar"},
    {"foo=bar; PATH=/a", "h.example.org", "/", "h.example.org", "/b", NULL},
    /* Secure and prefixes, set over http (RFC 6265bis). */
    {"foo=bar; Secure", "h.example.org", "/", "h.example.org", "/", NULL},
    {"__Secure-foo=bar", "h.example.org", "/", "h.example.org", "/", NULL},
    {"__Host-foo=bar; Path=/", "h.example.org", "/", "h.example.org", "/", NULL},
    {"__secure=bar", "h.example.org", "/", "h.example.org", "/", "__secure=bar"},
    {"__Hostfoo=bar", "h.example.org", "/", "h.example.org", "/", "__Hostfoo=bar"},
};

static void test_one_cookie_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof(one_rows) / sizeof(one_rows[0]); i++) {
    const struct one_row *r = &one_rows[i];
    struct wh_cookie_jar j;
    wh_cookie_jar_init(&j);
    set(&j, r->set_cookie, r->set_host, r->set_path);
    char *got = (char *)1;
    assert_int_equal(wh_cookie_jar_header(&j, r->get_host, r->get_path, false, NOW, &got),
                     ERROR_SUCCESS);
    if ((got == NULL) != (r->want == NULL) || (got && strcmp(got, r->want) != 0))
      fail_msg("row %zu \"%s\" from %s%s, sent to %s%s: want %s%s%s, got %s%s%s", i,
               r->set_cookie, r->set_host, r->set_path ? r->set_path : "(null)", r->get_host,
               r->get_path, r->want ? "\"" : "", r->want ? r->want : "none",
               r->want ? "\"" : "", got ? "\"" : "", got ? got : "none", got ? "\"" : "");
    wh_free(got);
    wh_cookie_jar_free(&j);
  }
}

/* Set-Cookie with an explicit length: a NUL inside is a control character,
 * and nothing past |len| is read. */
static void test_explicit_length(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  static const char with_nul[] = "a=b\0c";
  assert_int_equal(wh_cookie_jar_set(&j, with_nul, sizeof(with_nul) - 1, "h.example.org", "/",
                                     false, NOW),
                   ERROR_SUCCESS);
  expect(&j, "h.example.org", "/", NULL);
  /* Only "x=1" of "x=1; Secure" is given. */
  assert_int_equal(wh_cookie_jar_set(&j, "x=1; Secure", 3, "h.example.org", "/", false, NOW),
                   ERROR_SUCCESS);
  expect(&j, "h.example.org", "/", "x=1");
  /* A bad host or NULL input stores nothing. */
  set(&j, "y=1", "", "/");
  set(&j, "y=2", "[]", "/");
  assert_int_equal(wh_cookie_jar_set(&j, "y=3", 3, NULL, "/", false, NOW), ERROR_SUCCESS);
  assert_int_equal(wh_cookie_jar_set(&j, NULL, 0, "h.example.org", "/", false, NOW),
                   ERROR_SUCCESS);
  char longhost[WH_COOKIE_MAX_HOST + 2];
  memset(longhost, 'a', sizeof(longhost) - 1);
  longhost[sizeof(longhost) - 1] = '\0';
  set(&j, "y=4", longhost, "/");
  assert_int_equal(j.count, 1);
  char *out = (char *)1;
  assert_int_equal(wh_cookie_jar_header(&j, longhost, "/", false, NOW, &out), ERROR_SUCCESS);
  assert_null(out);
  assert_int_equal(wh_cookie_jar_header(&j, "", "/", false, NOW, &out), ERROR_SUCCESS);
  assert_null(out);
  wh_cookie_jar_free(&j);
}

/* ---- RFC 6265 §3.1 examples in sequence ---------------------------------- */

static void test_rfc6265_examples(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  /* The server sets SID and lang for example.com and its subdomains. */
  set(&j, "SID=31d4d96e407aad42; Path=/; Domain=example.com", "www.example.com", "/");
  set(&j, "lang=en-US; Path=/; Domain=example.com", "www.example.com", "/");
  expect(&j, "www.example.com", "/", "SID=31d4d96e407aad42; lang=en-US");
  expect(&j, "docs.example.com", "/x", "SID=31d4d96e407aad42; lang=en-US");
  expect(&j, "example.com", "/", "SID=31d4d96e407aad42; lang=en-US");
  expect(&j, "example.org", "/", NULL);
  wh_cookie_jar_free(&j);

  /* Secure, HttpOnly SID (set over https) and a lang for the domain. */
  set_s(&j, "SID=31d4d96e407aad42; Path=/; Secure; HttpOnly", "example.com", "/");
  set(&j, "lang=en-US; Path=/; Domain=example.com", "example.com", "/");
  expect_at(&j, "example.com", "/", true, NOW, "SID=31d4d96e407aad42; lang=en-US");
  expect(&j, "example.com", "/", "lang=en-US");
  expect(&j, "www.example.com", "/", "lang=en-US");
  const struct wh_cookie *c = wh_cookie_jar_find(&j, "SID", "example.com", "/");
  assert_non_null(c);
  assert_true(c->secure);
  assert_true(c->http_only);
  assert_true(c->host_only);
  assert_false(c->persistent);
  assert_true(c->expiry == WH_COOKIE_NEVER);

  /* lang gets an expiry, then is removed by one in the past. */
  set(&j, "lang=en-US; Expires=Wed, 09 Jun 2038 10:18:14 GMT; Domain=example.com; Path=/",
      "example.com", "/");
  c = wh_cookie_jar_find(&j, "lang", "example.com", "/");
  assert_non_null(c);
  assert_true(c->persistent);
  assert_false(c->host_only);
  set(&j, "lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Domain=example.com; Path=/",
      "example.com", "/");
  assert_null(wh_cookie_jar_find(&j, "lang", "example.com", "/"));
  expect_at(&j, "example.com", "/", true, NOW, "SID=31d4d96e407aad42");
  wh_cookie_jar_free(&j);
}

/* ---- expiry -------------------------------------------------------------- */

static void test_expiry(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  set(&j, "a=1; Max-Age=60", "h.example.org", "/");
  set(&j, "b=2; Expires=Tue, 14 Nov 2023 22:14:20 GMT", "h.example.org", "/"); /* NOW + 60 */
  set(&j, "c=3", "h.example.org", "/");
  expect_at(&j, "h.example.org", "/", false, NOW + 59, "a=1; b=2; c=3");
  expect_at(&j, "h.example.org", "/", false, NOW + 60, "c=3");
  expect_at(&j, "h.example.org", "/", false, INT64_MAX - 1, "c=3");

  const struct wh_cookie *c = wh_cookie_jar_find(&j, "a", "h.example.org", "/");
  assert_non_null(c);
  assert_true(c->persistent);
  assert_int_equal(c->expiry, NOW + 60);

  /* Max-Age=0 deletes; so does a past Expires; a bad Max-Age does not. */
  set(&j, "a=x; Max-Age=junk", "h.example.org", "/");
  c = wh_cookie_jar_find(&j, "a", "h.example.org", "/");
  assert_non_null(c);
  assert_false(c->persistent);
  assert_string_equal(c->value, "x");
  set(&j, "a=; Max-Age=0", "h.example.org", "/");
  set(&j, "b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "h.example.org", "/");
  expect(&j, "h.example.org", "/", "c=3");
  assert_int_equal(j.count, 1);

  /* Deleting needs the same domain and path. */
  set(&j, "c=; Max-Age=0; Path=/other", "h.example.org", "/");
  set(&j, "c=; Max-Age=0; Domain=example.org", "h.example.org", "/");
  expect(&j, "h.example.org", "/", "c=3");
  set(&j, "c=; Max-Age=-5", "h.example.org", "/x");
  expect(&j, "h.example.org", "/", NULL);

  /* Huge Max-Age saturates instead of overflowing. */
  set_at(&j, "d=4; Max-Age=9223372036854775807", "h.example.org", "/", false, NOW);
  c = wh_cookie_jar_find(&j, "d", "h.example.org", "/");
  assert_non_null(c);
  assert_true(c->expiry > NOW);
  set_at(&j, "e=5; Max-Age=100", "h.example.org", "/", false, INT64_MAX - 10);
  c = wh_cookie_jar_find(&j, "e", "h.example.org", "/");
  assert_non_null(c);
  assert_true(c->expiry == INT64_MAX);
  set_at(&j, "f=6; Max-Age=100", "h.example.org", "/", false, -1000);
  c = wh_cookie_jar_find(&j, "f", "h.example.org", "/");
  assert_non_null(c);
  assert_int_equal(c->expiry, -900);
  wh_cookie_jar_free(&j);
}

/* ---- replacement and ordering -------------------------------------------- */

static void test_replacement_and_order(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  set_at(&j, "a=1", "h.example.org", "/", false, NOW);
  set_at(&j, "b=2", "h.example.org", "/", false, NOW + 1);
  set_at(&j, "a=3", "h.example.org", "/", false, NOW + 2);
  /* The replacement keeps a's creation time, so a still comes first. */
  expect_at(&j, "h.example.org", "/", false, NOW + 3, "a=3; b=2");
  assert_int_equal(wh_cookie_jar_find(&j, "a", "h.example.org", "/")->creation, NOW);
  assert_int_equal(j.count, 2);

  /* Names are case-sensitive; other paths and domains are other cookies. */
  set_at(&j, "A=4", "h.example.org", "/", false, NOW + 4);
  set_at(&j, "a=5; Path=/p", "h.example.org", "/", false, NOW + 5);
  set_at(&j, "a=6; Domain=example.org", "h.example.org", "/", false, NOW + 6);
  assert_int_equal(j.count, 5);
  /* Longest path first; then creation order; same second: set order. */
  expect_at(&j, "h.example.org", "/p/q", false, NOW + 7, "a=5; a=3; b=2; A=4; a=6");
  expect_at(&j, "www.example.org", "/p", false, NOW + 7, "a=6");

  /* Same-second creation keeps the order of setting. */
  wh_cookie_jar_free(&j);
  set(&j, "z=1", "h.example.org", "/");
  set(&j, "y=2", "h.example.org", "/");
  set(&j, "x=3", "h.example.org", "/");
  set(&j, "w=4; Path=/a/b", "h.example.org", "/");
  set(&j, "v=5; Path=/a", "h.example.org", "/");
  expect(&j, "h.example.org", "/a/b/c", "w=4; v=5; z=1; y=2; x=3");
  set(&j, "y=22", "h.example.org", "/");
  expect(&j, "h.example.org", "/a/b/c", "w=4; v=5; z=1; y=22; x=3");

  /* A host-only cookie and a Domain cookie for the same domain string are
   * the same cookie (§5.3 step 11 compares name, domain and path). */
  wh_cookie_jar_free(&j);
  set(&j, "k=1", "example.org", "/");
  expect(&j, "www.example.org", "/", NULL);
  set(&j, "k=2; Domain=example.org", "example.org", "/");
  assert_int_equal(j.count, 1);
  expect(&j, "www.example.org", "/", "k=2");
  wh_cookie_jar_free(&j);
}

/* ---- flags: HttpOnly, SameSite, host-only ------------------------------- */

static void test_flags(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  set(&j, "a=1; HttpOnly; SameSite=Strict", "h.example.org", "/");
  set(&j, "b=1; httponly; samesite=LAX", "h.example.org", "/");
  set(&j, "c=1; SameSite=None", "h.example.org", "/");
  set(&j, "d=1; SameSite=bogus", "h.example.org", "/");
  set(&j, "e=1; SameSite=Lax; SameSite=bogus", "h.example.org", "/");
  const struct wh_cookie *c = wh_cookie_jar_find(&j, "a", "h.example.org", "/");
  assert_true(c->http_only);
  assert_int_equal(c->same_site, WH_COOKIE_SAMESITE_STRICT);
  c = wh_cookie_jar_find(&j, "b", "h.example.org", "/");
  assert_true(c->http_only);
  assert_int_equal(c->same_site, WH_COOKIE_SAMESITE_LAX);
  c = wh_cookie_jar_find(&j, "c", "h.example.org", "/");
  assert_false(c->http_only);
  assert_int_equal(c->same_site, WH_COOKIE_SAMESITE_NONE);
  assert_int_equal(wh_cookie_jar_find(&j, "d", "h.example.org", "/")->same_site,
                   WH_COOKIE_SAMESITE_UNSET);
  assert_int_equal(wh_cookie_jar_find(&j, "e", "h.example.org", "/")->same_site,
                   WH_COOKIE_SAMESITE_UNSET);
  /* HttpOnly cookies are sent: WinHTTP is an HTTP client. */
  expect(&j, "h.example.org", "/", "a=1; b=1; c=1; d=1; e=1");
  assert_null(wh_cookie_jar_find(&j, "a", "h.example.org", "/x"));
  assert_null(wh_cookie_jar_find(&j, "a", "example.org", "/"));
  wh_cookie_jar_free(&j);
}

/* ---- Secure, prefixes, "leave secure cookies alone" --------------------- */

static void test_secure_rules(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  set(&j, "s=http; Secure", "h.example.org", "/");
  assert_int_equal(j.count, 0);
  set_s(&j, "s=1; Secure", "h.example.org", "/");
  expect(&j, "h.example.org", "/", NULL);
  expect_at(&j, "h.example.org", "/", true, NOW, "s=1");

  /* A non-secure request cannot overwrite, shadow or delete it... */
  set(&j, "s=2", "h.example.org", "/");
  set(&j, "s=3; Path=/deeper", "h.example.org", "/");
  set(&j, "s=4; Domain=example.org", "h.example.org", "/");
  set(&j, "s=; Max-Age=0", "h.example.org", "/");
  expect_at(&j, "h.example.org", "/deeper", true, NOW, "s=1");
  assert_int_equal(j.count, 1);
  /* ...but other names, and paths it does not cover, are fine. */
  set(&j, "t=1", "h.example.org", "/");
  set_s(&j, "u=1; Secure; Path=/only", "h.example.org", "/");
  set(&j, "u=2; Path=/elsewhere", "h.example.org", "/");
  expect_at(&j, "h.example.org", "/elsewhere", true, NOW, "u=2; s=1; t=1");
  /* A secure request replaces and deletes freely. */
  set_s(&j, "s=5", "h.example.org", "/");
  expect_at(&j, "h.example.org", "/", false, NOW, "s=5; t=1");
  assert_false(wh_cookie_jar_find(&j, "s", "h.example.org", "/")->secure);
  /* An expired Secure cookie no longer protects its name. */
  set_s(&j, "v=1; Secure; Max-Age=10", "h.example.org", "/");
  set_at(&j, "v=2", "h.example.org", "/", false, NOW + 20);
  expect_at(&j, "h.example.org", "/", false, NOW + 20, "s=5; t=1; v=2");
  wh_cookie_jar_free(&j);

  /* Prefixes (RFC 6265bis): __Secure- needs Secure; __Host- needs Secure,
   * no Domain and Path=/. The prefix is matched case-insensitively. */
  static const struct {
    const char *sc;
    bool stored;
  } pre[] = {
      {"__Secure-a=1", false},
      {"__Secure-a=1; Secure", true},
      {"__SECURE-a=1", false},
      {"__secure-a=1; Secure; Domain=example.org", true},
      {"__Host-a=1; Secure; Path=/", true},
      {"__host-a=1; Path=/", false},
      {"__Host-a=1; Secure", false},
      {"__Host-a=1; Secure; Path=/x", false},
      {"__Host-a=1; Secure; Path=/; Domain=example.org", false},
      {"__Host-a=1; Secure; Path=/; Domain=h.example.org", false},
      {"__HOST-a=1; Secure; Path=/; Domain=", true},
      {"__Host-a=1; Secure; Path=rel", true}, /* default-path of "/" is "/" */
  };
  for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
    wh_cookie_jar_init(&j);
    set_s(&j, pre[i].sc, "h.example.org", "/");
    if ((j.count == 1) != pre[i].stored)
      fail_msg("\"%s\": want %s", pre[i].sc, pre[i].stored ? "stored" : "ignored");
    wh_cookie_jar_free(&j);
  }
}

/* ---- limits and eviction ------------------------------------------------- */

static void test_size_limit(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  char *sc = malloc(WH_COOKIE_MAX_NAME_VALUE + 64);
  assert_non_null(sc);
  /* name "n" + "=" + value: exactly 4096 bytes of name and value. */
  sc[0] = 'n';
  sc[1] = '=';
  memset(sc + 2, 'v', WH_COOKIE_MAX_NAME_VALUE - 1);
  strcpy(sc + 1 + WH_COOKIE_MAX_NAME_VALUE, "; Path=/");
  set(&j, sc, "h.example.org", "/");
  assert_int_equal(j.count, 1);
  assert_int_equal(wh_cookie_jar_find(&j, "n", "h.example.org", "/")->value_len,
                   WH_COOKIE_MAX_NAME_VALUE - 1);
  /* One byte more: ignored, and the stored one stays. */
  memset(sc + 2, 'w', WH_COOKIE_MAX_NAME_VALUE);
  sc[2 + WH_COOKIE_MAX_NAME_VALUE] = '\0';
  set(&j, sc, "h.example.org", "/");
  assert_int_equal(j.count, 1);
  assert_int_equal(wh_cookie_jar_find(&j, "n", "h.example.org", "/")->value[0], 'v');
  /* Whitespace around the value does not count. */
  sc[2] = ' ';
  sc[2 + WH_COOKIE_MAX_NAME_VALUE - 1] = ' ';
  set(&j, sc, "h.example.org", "/");
  assert_int_equal(wh_cookie_jar_find(&j, "n", "h.example.org", "/")->value[0], 'w');
  free(sc);

  /* Domain and Path values over 1024 bytes are ignored as attributes. */
  char attr[WH_COOKIE_MAX_ATTR + 64];
  memcpy(attr, "p=1; Path=/", 11);
  memset(attr + 11, 'x', WH_COOKIE_MAX_ATTR);
  attr[10 + WH_COOKIE_MAX_ATTR + 1] = '\0';
  set(&j, attr, "h.example.org", "/d/e");
  assert_non_null(wh_cookie_jar_find(&j, "p", "h.example.org", "/d"));
  attr[10 + WH_COOKIE_MAX_ATTR] = '\0';
  set(&j, attr, "h.example.org", "/d/e");
  assert_int_equal(wh_cookie_jar_find(&j, "p", "h.example.org", attr + 10)->path_len,
                   WH_COOKIE_MAX_ATTR);
  wh_cookie_jar_free(&j);
}

static void test_per_domain_limit(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  char sc[32];
  /* 50 cookies split between two hosts of one registrable domain. */
  for (int i = 0; i < WH_COOKIE_MAX_PER_DOMAIN; i++) {
    snprintf(sc, sizeof(sc), "c%d=%d", i, i);
    set(&j, sc, i % 2 ? "a.example.org" : "b.example.org", "/");
  }
  assert_int_equal(j.count, WH_COOKIE_MAX_PER_DOMAIN);
  /* Refresh c0, then add one more: c1, the least recently set, goes. */
  set(&j, "c0=again", "b.example.org", "/");
  set(&j, "new=1", "a.example.org", "/");
  assert_int_equal(j.count, WH_COOKIE_MAX_PER_DOMAIN);
  assert_null(wh_cookie_jar_find(&j, "c1", "a.example.org", "/"));
  assert_non_null(wh_cookie_jar_find(&j, "c0", "b.example.org", "/"));
  assert_non_null(wh_cookie_jar_find(&j, "new", "a.example.org", "/"));
  /* Another registrable domain has its own budget. */
  set(&j, "other=1", "example.com", "/");
  set(&j, "other=1", "www.bbc.co.uk", "/");
  assert_int_equal(j.count, WH_COOKIE_MAX_PER_DOMAIN + 2);
  /* Expired cookies go before live ones. */
  wh_cookie_jar_free(&j);
  set(&j, "old=1", "h.example.org", "/");
  set(&j, "short=1; Max-Age=5", "h.example.org", "/");
  for (int i = 2; i < WH_COOKIE_MAX_PER_DOMAIN; i++) {
    snprintf(sc, sizeof(sc), "c%d=%d", i, i);
    set(&j, sc, "h.example.org", "/");
  }
  set_at(&j, "late=1", "h.example.org", "/", false, NOW + 10);
  assert_int_equal(j.count, WH_COOKIE_MAX_PER_DOMAIN);
  assert_non_null(wh_cookie_jar_find(&j, "old", "h.example.org", "/"));
  assert_null(wh_cookie_jar_find(&j, "short", "h.example.org", "/"));
  wh_cookie_jar_free(&j);

  /* A lowered limit; IP literals count on their own. */
  j.max_per_domain = 2;
  set(&j, "a=1", "10.0.0.1", "/");
  set(&j, "b=1", "10.0.0.1", "/");
  set(&j, "c=1", "10.0.0.1", "/");
  set(&j, "a=1", "10.0.0.2", "/");
  assert_int_equal(j.count, 3);
  expect(&j, "10.0.0.1", "/", "b=1; c=1");
  wh_cookie_jar_free(&j);
}

static void test_total_limit(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  char sc[32], host[32];
  for (int i = 0; i <= WH_COOKIE_MAX_TOTAL; i++) {
    snprintf(sc, sizeof(sc), "c%d=%d", i, i);
    snprintf(host, sizeof(host), "d%d.example", i / 40);
    set(&j, sc, host, "/");
  }
  assert_int_equal(j.count, WH_COOKIE_MAX_TOTAL);
  assert_null(wh_cookie_jar_find(&j, "c0", "d0.example", "/"));
  assert_non_null(wh_cookie_jar_find(&j, "c1", "d0.example", "/"));
  char name[16];
  snprintf(name, sizeof(name), "c%d", WH_COOKIE_MAX_TOTAL);
  snprintf(host, sizeof(host), "d%d.example", WH_COOKIE_MAX_TOTAL / 40);
  assert_non_null(wh_cookie_jar_find(&j, name, host, "/"));
  wh_cookie_jar_free(&j);

  /* A lowered total. */
  j.max_total = 3;
  set(&j, "a=1", "one.example", "/");
  set(&j, "b=1", "two.example", "/");
  set(&j, "c=1", "three.example", "/");
  set(&j, "a=2", "one.example", "/");
  set(&j, "d=1", "four.example", "/");
  assert_int_equal(j.count, 3);
  assert_null(wh_cookie_jar_find(&j, "b", "two.example", "/"));
  expect(&j, "one.example", "/", "a=2");
  wh_cookie_jar_free(&j);
}

/* ---- merging with the application's header ------------------------------- */

static void test_merge(void **state)
{
  (void)state;
  static const struct {
    const char *app, *jar, *want;
  } rows[] = {
      {NULL, NULL, NULL},
      {"", "", NULL},
      {" ; ", NULL, NULL},
      {"a=1", NULL, "a=1"},
      {NULL, "b=2", "b=2"},
      {"", "b=2; c=3", "b=2; c=3"},
      {"a=1", "b=2", "a=1; b=2"},
      {"a=1", "a=2; b=3", "a=1; b=3"},
      {"a=1; ", "b=2", "a=1; b=2"},
      {"  a=1 ;;", "b=2", "a=1; b=2"},
      {"a=1;b=2", "b=3; c=4; a=5", "a=1;b=2; c=4"},
      {"A=1", "a=2", "A=1; a=2"},
      {"x", "x=1; y=2", "x; y=2"},
      {" a = 1 ", "a=2", "a = 1"},
      {"a=1", "a=2; a=3; a=4", "a=1"},
      {"a=1", "b=1; b=2", "a=1; b=1; b=2"},
      {"=v", "b=2", "=v; b=2"},
      {"session=abc", "session=old; theme=dark", "session=abc; theme=dark"},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char *out = (char *)1;
    assert_int_equal(wh_cookie_merge(rows[i].app, rows[i].jar, &out), ERROR_SUCCESS);
    if (!rows[i].want) {
      if (out)
        fail_msg("row %zu: want none, got \"%s\"", i, out);
      continue;
    }
    if (!out || strcmp(out, rows[i].want) != 0)
      fail_msg("row %zu: want \"%s\", got \"%s\"", i, rows[i].want, out ? out : "(none)");
    wh_free(out);
  }
}

/* ---- out of memory ------------------------------------------------------- */

static char *header_of(const struct wh_cookie_jar *j)
{
  char *out = NULL;
  assert_int_equal(wh_cookie_jar_header(j, "h.example.org", "/a/b", true, NOW, &out),
                   ERROR_SUCCESS);
  return out;
}

static void test_oom(void **state)
{
  (void)state;
  /* wh_cookie_jar_set: every failure leaves the jar exactly as it was. The
   * jar holds 16 cookies so that the next insertion grows the array. */
  for (int op = 0; op < 3; op++) {
    static const char *const ops[] = {"new=1; Path=/a", "k3=replaced", "k4=; Max-Age=0"};
    for (long k = 0;; k++) {
      struct wh_cookie_jar j;
      wh_cookie_jar_init(&j);
      char sc[32];
      for (int i = 0; i < 16; i++) {
        snprintf(sc, sizeof(sc), "k%d=%d", i, i);
        set(&j, sc, "h.example.org", "/");
      }
      char *before = header_of(&j);
      wh_mem_fail_after(k);
      DWORD err = wh_cookie_jar_set(&j, ops[op], strlen(ops[op]), "h.example.org", "/", false,
                                    NOW);
      wh_mem_fail_reset();
      char *after = header_of(&j);
      if (err == ERROR_SUCCESS) {
        assert_string_not_equal(before, after);
        wh_free(before);
        wh_free(after);
        wh_cookie_jar_free(&j);
        break;
      }
      assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
      assert_string_equal(before, after);
      assert_int_equal(j.count, 16);
      wh_free(before);
      wh_free(after);
      wh_cookie_jar_free(&j);
      assert_true(k < 10);
    }
  }

  /* wh_cookie_jar_header. */
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  set(&j, "a=1", "h.example.org", "/");
  set(&j, "b=2", "h.example.org", "/");
  for (long k = 0;; k++) {
    char *out = (char *)1;
    wh_mem_fail_after(k);
    DWORD err = wh_cookie_jar_header(&j, "h.example.org", "/", false, NOW, &out);
    wh_mem_fail_reset();
    if (err == ERROR_SUCCESS) {
      assert_string_equal(out, "a=1; b=2");
      wh_free(out);
      break;
    }
    assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
    assert_null(out);
    assert_true(k < 10);
  }
  wh_cookie_jar_free(&j);

  /* wh_cookie_merge. */
  for (long k = 0;; k++) {
    char *out = (char *)1;
    wh_mem_fail_after(k);
    DWORD err = wh_cookie_merge("a=1", "a=2; b=3", &out);
    wh_mem_fail_reset();
    if (err == ERROR_SUCCESS) {
      assert_string_equal(out, "a=1; b=3");
      wh_free(out);
      break;
    }
    assert_int_equal(err, ERROR_NOT_ENOUGH_MEMORY);
    assert_null(out);
    assert_true(k < 10);
  }
}

/* A jar may be freed and reused; free keeps the limits. */
static void test_reuse(void **state)
{
  (void)state;
  struct wh_cookie_jar j;
  wh_cookie_jar_init(&j);
  wh_cookie_jar_free(&j);
  j.max_total = 7;
  set(&j, "a=1", "h.example.org", "/");
  wh_cookie_jar_free(&j);
  assert_int_equal(j.count, 0);
  assert_int_equal(j.max_total, 7);
  assert_int_equal(j.max_per_domain, WH_COOKIE_MAX_PER_DOMAIN);
  expect(&j, "h.example.org", "/", NULL);
  set(&j, "b=2", "h.example.org", "/");
  expect(&j, "h.example.org", "/", "b=2");
  wh_cookie_jar_free(&j);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cookie_date),
      cmocka_unit_test(test_one_cookie_table),
      cmocka_unit_test(test_explicit_length),
      cmocka_unit_test(test_rfc6265_examples),
      cmocka_unit_test(test_expiry),
      cmocka_unit_test(test_replacement_and_order),
      cmocka_unit_test(test_flags),
      cmocka_unit_test(test_secure_rules),
      cmocka_unit_test(test_size_limit),
      cmocka_unit_test(test_per_domain_limit),
      cmocka_unit_test(test_total_limit),
      cmocka_unit_test(test_merge),
      cmocka_unit_test(test_oom),
      cmocka_unit_test(test_reuse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
