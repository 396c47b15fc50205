/* Tests of WinHttpCrackUrl / WinHttpCreateUrl (api/api_url.c over
 * policy/url.c).
 *
 * The first tables are every check of WinHttpCrackUrl_test and
 * WinHttpCreateUrl_test in Wine's dlls/winhttp/tests/url.c, whose checks pass
 * on Windows; where Wine marks broken() or todo_wine, the modern Windows
 * variant is the expectation. The rows marked "ours" pin behaviour that
 * neither those tests nor Microsoft's documentation settle (see
 * docs/COMPAT.md), error precedence among them. The round-trip tables crack
 * URLs and build them back (plain, with ICU_ESCAPE/ICU_DECODE, with
 * ICU_INCLUDE_DEFAULT_PORT); the buffer-protocol tests walk every buffer
 * size of every component of both functions.
 *
 * Every call goes through the exported functions, so the last error is
 * checked too (Windows 7 and later set ERROR_SUCCESS on success). Caller
 * buffers are heap blocks of exactly the size passed, so that AddressSanitizer
 * catches any write or read past them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>
#include <wchar.h>

#include <winhttp.h>

#include "policy/url.h"
#include "util/mem.h"

#ifndef ICU_INCLUDE_DEFAULT_PORT
#define ICU_INCLUDE_DEFAULT_PORT 0x00008000
#endif

#define OK ERROR_SUCCESS
#define INVAL ERROR_INVALID_PARAMETER
#define SHORT ERROR_INSUFFICIENT_BUFFER
#define BADURL ERROR_WINHTTP_INVALID_URL
#define SCHEME ERROR_WINHTTP_UNRECOGNIZED_SCHEME
#define HTTP INTERNET_SCHEME_HTTP
#define HTTPS INTERNET_SCHEME_HTTPS

/* Values the structure holds before a call, to see what a call changes. */
#define SENTINEL_SCHEME ((INTERNET_SCHEME)0x77)
#define SENTINEL_PORT ((INTERNET_PORT)0x4242)
#define SENTINEL_WCHAR ((WCHAR)0x2a2a)
#define KEEP (-1)

/* Checks count and report; a table keeps going after a failed row so that a
 * regression shows every row it breaks. */
static unsigned long n_checks, n_failures;

#define CHECK(line, cond)                                                                   \
  do {                                                                                      \
    n_checks++;                                                                             \
    if (!(cond)) {                                                                          \
      n_failures++;                                                                         \
      print_error("%s:%d: row at line %d: check failed: %s\n", __FILE__, __LINE__, (line), \
                  #cond);                                                                   \
    }                                                                                       \
  } while (0)

static void table_done(const char *what)
{
  print_message("%s: %lu checks\n", what, n_checks);
  assert_int_equal(n_failures, 0);
}

static void table_start(void)
{
  n_checks = n_failures = 0;
}

static WCHAR *wbuf(size_t n)
{
  WCHAR *b = wh_malloc((n ? n : 1) * sizeof(WCHAR));
  assert_non_null(b);
  for (size_t i = 0; i < n; i++)
    b[i] = SENTINEL_WCHAR;
  return b;
}

/* --------------------------------------------------------------------------
 * The strings of Wine's url.c tests.
 */

static const WCHAR url1[] = L"http://username:password@www.winehq.org/site/about?query";
static const WCHAR url2[] = L"http://username:@www.winehq.org/site/about?query";
static const WCHAR url3[] = L"http://www.winehq.org/site/about?query";
static const WCHAR url4[] = L"http://";
static const WCHAR url5[] = L"ftp://username:password@www.winehq.org:80/site/about?query";
static const WCHAR url6[] = L"http://username:password@www.winehq.org:42/site/about?query";
static const WCHAR url7[] = L"http://username:password@www.winehq.org/site/about%20!%22%23$%25&'()"
                            L"*+,-./:;%3C=%3E?@%5B%5C%5D%5E_%60%7B%7C%7D%7E";
static const WCHAR url8[] = L"http://username:password@www.winehq.org:0/site/about?query";
static const WCHAR url9[] = L"http://username:password@www.winehq.org:80/site/about?query";
static const WCHAR url10[] = L"https://username:password@www.winehq.org:443/site/about?query";
static const WCHAR url11[] = L"http://example.net/path?var1=example@example.com&var2=x&var3=y";
static const WCHAR url12[] = L"https://tools.google.com/service/update2?w=3:BxDHoWy8ezM";
static const WCHAR url13[] = L"http://winehq.o g/path with spaces";
static const WCHAR url14[] = L"http://www.winehq.org/test";
static const WCHAR url15[] = L"http://winehq.org:65536";
static const WCHAR url16[] = L"http://winehq.org:0";
static const WCHAR url17[] = L"http://winehq.org:";
static const WCHAR url18[] = L"http://%0D%1F%20%0A%7F%0D%0A";
static const WCHAR url19[] = L"http://?text=\xfb00";
static const WCHAR url20[] = L"http:///text=\xfb00";
static const WCHAR url21[] =
  L"https://nba2k19-ws.2ksports.com:19133/nba/v4/Accounts/get_account?x=3789526775265663876";
static const WCHAR url22[] = L"http://winehq.org:/";
static const WCHAR url23[] = L"http://:@www.winehq.org/site/about?query";

static const WCHAR url_k1[] = L"http://username:password@www.winehq.org/site/about";
static const WCHAR url_k2[] = L"http://www.winehq.org";
static const WCHAR url_k3[] = L"https://www.winehq.org/post?";
static const WCHAR url_k4[] = L"HTTP:www.winehq.org";
static const WCHAR url_k5[] = L"http:/www.winehq.org";
static const WCHAR url_k6[] = L"www.winehq.org";
static const WCHAR url_k7[] = L"www";
static const WCHAR url_k8[] = L"http";
static const WCHAR url_k9[] = L"http://winehq?";
static const WCHAR url_k10[] = L"http://winehq/post;a";

static const WCHAR empty[] = L"";
static const WCHAR ftp[] = L"ftp";
static const WCHAR http[] = L"http";
static const WCHAR winehq[] = L"www.winehq.org";
static const WCHAR username[] = L"username";
static const WCHAR password[] = L"password";
static const WCHAR about[] = L"/site/about";
static const WCHAR query[] = L"?query";
static const WCHAR escape[] = L" !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
static const WCHAR escape2[] = L"\r\x1f \n\x7f\r\n";
static const WCHAR escape3[] = L"?text=\xfb00";
static const WCHAR escape4[] = L"/text=\xfb00";

/* --------------------------------------------------------------------------
 * WinHttpCrackUrl table
 */

enum { C_SCHEME, C_USER, C_PASS, C_HOST, C_PATH, C_EXTRA, NCOMP };

enum in_mode { IN_NONE, IN_PTR, IN_BUF, IN_ZERO };
struct comp_in {
  enum in_mode mode;
  DWORD len;
};
#define N_ { IN_NONE, 0 }      /* not wanted: NULL, 0 */
#define P_(n) { IN_PTR, (n) } /* pointer mode: NULL, n */
#define B_(n) { IN_BUF, (n) } /* a buffer of n WCHARs */
#define Z_ { IN_ZERO, 0 }      /* a buffer with length 0 */
#define PTRS { P_(~0u), P_(~0u), P_(~0u), P_(1), P_(~0u), P_(~0u) } /* Wine's reset_url_components */
#define ONES { P_(1), P_(1), P_(1), P_(1), P_(1), P_(1) }

enum out_kind { O_ANY, O_SAME, O_NULL, O_AT, O_STR, O_STRN, O_LEN };
struct comp_out {
  enum out_kind kind;
  size_t off;
  const WCHAR *str;
  DWORD len;
};
#define ANY { O_ANY, 0, NULL, 0 }
#define SAME { O_SAME, 0, NULL, 0 }           /* pointer and length unchanged */
#define NUL0 { O_NULL, 0, NULL, 0 }           /* NULL with length 0 */
#define AT(o, n) { O_AT, (o), NULL, (n) }     /* url + o, length n */
#define STR(s) { O_STR, 0, (s), 0 }           /* buffer holds s, length wcslen(s) */
#define LEN(n) { O_LEN, 0, NULL, (n) }        /* buffer untouched, length n */
#define STRN(s, n) { O_STRN, 0, (s), (n) }    /* buffer holds n WCHARs of s (NULs too) */

struct crack_case {
  int line;
  const WCHAR *url;
  DWORD url_len;
  DWORD flags;
  struct comp_in in[NCOMP];
  DWORD err;
  int scheme; /* expected nScheme, or KEEP */
  long port;  /* expected nPort, or KEEP */
  struct comp_out out[NCOMP];
};

#define ROW __LINE__

/* Components are listed as scheme, user, password, host, path, extra. */
static const struct crack_case crack_cases[] = {
  /* ---- Wine: WinHttpCrackUrl_test, in order ---- */
  /* buffers of sufficient length */
  { ROW, url1, 0, 0, { B_(20), B_(20), B_(20), B_(20), B_(40), B_(20) }, OK, HTTP, 80,
    { STR(L"http"), STR(L"username"), STR(L"password"), STR(L"www.winehq.org"), STR(L"/site/about"),
      STR(L"?query") } },
  /* buffers of insufficient length (the user, password and extra lengths are
   * what the previous call left: 8, 8 and 6) */
  { ROW, url1, 0, 0, { B_(1), B_(8), B_(8), B_(1), B_(40), B_(6) }, SHORT, HTTP, 80,
    { LEN(5), LEN(9), LEN(9), LEN(15), STR(L"/site/about"), LEN(7) } },
  /* no buffers */
  { ROW, url_k1, 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), AT(7, 8), AT(16, 8), AT(25, 14), AT(39, 11), AT(50, 0) } },
  { ROW, url_k2, 0, 0, ONES, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 14), AT(21, 0), AT(21, 0) } },
  { ROW, url_k3, 0, 0, PTRS, OK, HTTPS, 443,
    { AT(0, 5), NUL0, NUL0, AT(8, 14), AT(22, 5), AT(27, 1) } },
  /* bad parameters */
  { ROW, url_k4, 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url_k5, 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url_k6, 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url_k7, 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url_k8, 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* url_k9: Windows 10 (win8 broken() variant: path at 13, extra "?") */
  { ROW, url_k9, 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 7), AT(14, 0), AT(14, 0) } },
  { ROW, url_k10, 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 6), AT(13, 7), AT(20, 0) } },
  { ROW, url4, 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, empty, 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* decoding without buffers */
  { ROW, url7, 0, ICU_DECODE, PTRS, INVAL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* decoding with buffers */
  { ROW, url7, 0, ICU_DECODE, { B_(20), B_(20), B_(20), B_(20), B_(80), B_(40) }, OK, HTTP, 80,
    { STR(http), STR(username), STR(password), STR(winehq),
      STR(L"/site/about !\"#$%&'()*+,-./:;<=>"), STR(L"?@[\\]^_`{|}~") } },
  /* urls with specified port numbers */
  { ROW, url6, 0, 0, { B_(20), B_(20), B_(20), B_(20), B_(40), B_(20) }, OK, HTTP, 42,
    { STR(http), STR(username), STR(password), STR(winehq), STR(about), STR(query) } },
  { ROW, url8, 0, 0, PTRS, OK, HTTP, 0,
    { AT(0, 4), AT(7, 8), AT(16, 8), AT(25, 14), AT(41, 11), AT(52, 6) } },
  { ROW, url9, 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), AT(7, 8), AT(16, 8), AT(25, 14), AT(42, 11), AT(53, 6) } },
  { ROW, url10, 0, 0, PTRS, OK, HTTPS, 443,
    { AT(0, 5), AT(8, 8), AT(17, 8), AT(26, 14), AT(44, 11), AT(55, 6) } },
  { ROW, empty, 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, http, 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* '@' in the query is not a userinfo separator */
  { ROW, url11, 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 11), AT(18, 5), AT(23, 39) } },
  /* ICU_DECODE, no extra info wanted: the query stays in the path */
  { ROW, url12, 0, ICU_DECODE, { B_(20), N_, N_, B_(20), B_(40), N_ }, OK, HTTPS, 443,
    { STR(L"https"), SAME, SAME, STR(L"tools.google.com"), STR(L"/service/update2?w=3:BxDHoWy8ezM"),
      SAME } },
  /* ICU_ESCAPE wins over ICU_DECODE; the host is not escaped */
  { ROW, url13, 0, ICU_ESCAPE | ICU_DECODE, { B_(20), N_, N_, B_(20), B_(40), N_ }, OK, HTTP, 80,
    { STR(http), SAME, SAME, STR(L"winehq.o g"), STR(L"/path%20with%20spaces"), SAME } },
  /* scheme not wanted (NULL, 0) */
  { ROW, url14, 0, 0, { N_, P_(~0u), P_(~0u), P_(~0u), P_(~0u), P_(~0u) }, OK, HTTP, 80,
    { NUL0, NUL0, NUL0, AT(7, 14), AT(21, 5), AT(26, 0) } },
  /* a buffer with length 0: nothing is written, not even nScheme */
  { ROW, url14, 0, 0, { Z_, P_(~0u), P_(~0u), N_, N_, N_ }, INVAL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url15, 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url16, 0, 0, PTRS, OK, HTTP, 0, { AT(0, 4), NUL0, NUL0, AT(7, 10), AT(19, 0), AT(19, 0) } },
  { ROW, url17, 0, 0, PTRS, OK, HTTP, 80, { AT(0, 4), NUL0, NUL0, AT(7, 10), AT(18, 0), AT(18, 0) } },
  { ROW, url22, 0, 0, PTRS, OK, HTTP, 80, { AT(0, 4), NUL0, NUL0, AT(7, 10), AT(18, 1), AT(19, 0) } },
  /* a long real-world URL; the extra info is not wanted */
  { ROW, url21, 0, 0, { B_(20), N_, N_, B_(40), B_(80), N_ }, OK, HTTPS, 19133,
    { STR(L"https"), SAME, SAME, STR(L"nba2k19-ws.2ksports.com"), STR(url21 + 37), SAME } },

  /* ---- ours: beyond Wine's tests ---- */
  /* exact buffer sizes: the NUL must fit */
  { ROW, url_k2, 0, 0, { B_(4), N_, N_, B_(14), N_, N_ }, SHORT, HTTP, 80,
    { LEN(5), SAME, SAME, LEN(15), SAME, SAME } },
  { ROW, url_k2, 0, 0, { B_(5), N_, N_, B_(15), B_(1), B_(1) }, OK, HTTP, 80,
    { STR(http), SAME, SAME, STR(winehq), STR(L""), STR(L"") } },
  /* absent user and password copied into buffers are empty strings */
  { ROW, url_k2, 0, 0, { N_, B_(4), B_(4), N_, N_, N_ }, OK, HTTP, 80,
    { SAME, STR(L""), STR(L""), SAME, SAME, SAME } },
  /* userinfo variants */
  { ROW, L"http://u@h/", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), AT(7, 1), NUL0, AT(9, 1), AT(10, 1), AT(11, 0) } },
  { ROW, url23, 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), AT(7, 0), AT(8, 0), AT(9, 14), AT(23, 11), AT(34, 6) } },
  { ROW, L"http://u:p:q@h/", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), AT(7, 1), AT(9, 3), AT(13, 1), AT(14, 1), AT(15, 0) } },
  { ROW, L"http://a@b@h/x", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), AT(7, 1), NUL0, AT(9, 3), AT(12, 2), AT(14, 0) } },
  /* the scheme is case-insensitive and returned as written */
  { ROW, L"HtTpS://H/", 0, 0, { B_(8), N_, N_, B_(8), B_(8), B_(8) }, OK, HTTPS, 443,
    { STR(L"HtTpS"), SAME, SAME, STR(L"H"), STR(L"/"), STR(L"") } },
  { ROW, L"ftp://h/", 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"httpx://h/", 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"://h/", 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"h:80/http://x/", 0, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* an empty host is an invalid URL */
  { ROW, L"http:///path", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://user@/p", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://:80/", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* ports */
  { ROW, L"http://h:65535", 0, 0, PTRS, OK, HTTP, 65535,
    { AT(0, 4), NUL0, NUL0, AT(7, 1), AT(14, 0), AT(14, 0) } },
  { ROW, L"https://h:00080/", 0, 0, PTRS, OK, HTTPS, 80,
    { AT(0, 5), NUL0, NUL0, AT(8, 1), AT(15, 1), AT(16, 0) } },
  { ROW, L"https://h:/", 0, 0, PTRS, OK, HTTPS, 443,
    { AT(0, 5), NUL0, NUL0, AT(8, 1), AT(10, 1), AT(11, 0) } },
  { ROW, L"http://h:8a/", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h:-1/", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h:80:81/", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h:99999999999999999999999/", 0, 0, PTRS, BADURL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h:\xff10/", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* IPv6 literals keep their brackets */
  { ROW, L"http://[::1]:8080/x", 0, 0, PTRS, OK, HTTP, 8080,
    { AT(0, 4), NUL0, NUL0, AT(7, 5), AT(17, 2), AT(19, 0) } },
  { ROW, L"https://[2001:db8::1]/", 0, 0, PTRS, OK, HTTPS, 443,
    { AT(0, 5), NUL0, NUL0, AT(8, 13), AT(21, 1), AT(22, 0) } },
  { ROW, L"http://[::1]", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 5), AT(12, 0), AT(12, 0) } },
  { ROW, L"http://[::1]:/", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 5), AT(13, 1), AT(14, 0) } },
  { ROW, L"http://u:p@[fe80::1%25eth0]:81/p?q", 0, 0, PTRS, OK, HTTP, 81,
    { AT(0, 4), AT(7, 1), AT(9, 1), AT(11, 16), AT(30, 2), AT(32, 2) } },
  { ROW, L"http://[::1/", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://[::1]x/", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://[::1]:8x/", 0, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* the extra info starts at the first '?' or '#' after the host */
  { ROW, L"http://h/p#f", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 1), AT(8, 2), AT(10, 2) } },
  { ROW, L"http://h/p?q#f", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 1), AT(8, 2), AT(10, 4) } },
  { ROW, L"http://h/p#f?q", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 1), AT(8, 2), AT(10, 4) } },
  { ROW, L"http://h/p#f?q", 0, 0, { P_(9), N_, N_, P_(9), P_(9), N_ }, OK, HTTP, 80,
    { AT(0, 4), SAME, SAME, AT(7, 1), AT(8, 6), SAME } },
  /* the authority ends only at '/' (MS docs: "http://server?Bad=URL") */
  { ROW, L"http://h#f", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 3), AT(10, 0), AT(10, 0) } },
  /* ICU_REJECT_USERPWD */
  { ROW, url1, 0, ICU_REJECT_USERPWD, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url23, 0, ICU_REJECT_USERPWD, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://@h/", 0, ICU_REJECT_USERPWD, PTRS, BADURL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url11, 0, ICU_REJECT_USERPWD, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 11), AT(18, 5), AT(23, 39) } },
  /* ICU_DECODE/ICU_ESCAPE need buffers even for a component that is
   * absent from the URL */
  { ROW, url_k2, 0, ICU_DECODE, { B_(8), P_(~0u), N_, B_(20), N_, N_ }, INVAL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url_k2, 0, ICU_ESCAPE, { B_(8), N_, N_, B_(20), N_, P_(1) }, INVAL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* ICU_DECODE: each component on its own, after splitting */
  { ROW, L"http://a%40b:p%3Aw@h%41/x%2Fy%3Fz?q%23r", 0, ICU_DECODE,
    { B_(8), B_(8), B_(8), B_(8), B_(16), B_(8) }, OK, HTTP, 80,
    { STR(http), STR(L"a@b"), STR(L"p:w"), STR(L"hA"), STR(L"/x/y?z"), STR(L"?q#r") } },
  { ROW, L"http://h/%41%42%e9%C3%A9", 0, ICU_DECODE, { N_, N_, N_, N_, B_(8), B_(8) }, OK, HTTP,
    80, { SAME, SAME, SAME, SAME, STR(L"/AB\xe9\xc3\xa9"), STR(L"") } },
  { ROW, L"http://h/%?%4?%zz%4", 0, ICU_DECODE, { N_, N_, N_, N_, B_(8), B_(16) }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STR(L"/%"), STR(L"?%4?%zz%4") } },
  { ROW, L"http://h/%2541", 0, ICU_DECODE, { N_, N_, N_, N_, B_(8), N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STR(L"/%41"), SAME } },
  /* decoded lengths are what count against the buffer */
  { ROW, L"http://h/%41%42", 0, ICU_DECODE, { N_, N_, N_, N_, B_(3), N_ }, SHORT, HTTP, 80,
    { SAME, SAME, SAME, SAME, LEN(4), SAME } },
  /* ICU_ESCAPE: from the last '/' on, '#' included (it is escaped before
   * the URL is cracked) */
  { ROW, L"http://h/a b#c d", 0, ICU_ESCAPE, { N_, N_, N_, B_(8), B_(24), B_(8) }, OK, HTTP, 80,
    { SAME, SAME, SAME, STR(L"h"), STR(L"/a%20b%23c%20d"), STR(L"") } },
  { ROW, L"http://h/a b/c d?e f", 0, ICU_ESCAPE, { N_, N_, N_, N_, B_(24), B_(24) }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STR(L"/a b/c%20d"), STR(L"?e%20f") } },
  { ROW, L"http://h/a b?x=/c d", 0, ICU_ESCAPE, { N_, N_, N_, N_, B_(24), B_(24) }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STR(L"/a b"), STR(L"?x=/c%20d") } },
  { ROW, L"http://h/\xe9\x80\x01", 0, ICU_ESCAPE, { N_, N_, N_, N_, B_(16), N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STR(L"/%E9%80%01"), SAME } },
  { ROW, L"http://h/\x100", 0, ICU_ESCAPE, { N_, N_, N_, N_, B_(16), N_ }, INVAL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h\x4e2d/x\x4e2d/y", 0, ICU_ESCAPE, { N_, N_, N_, B_(8), B_(16), N_ }, OK, HTTP,
    80, { SAME, SAME, SAME, STR(L"h\x4e2d"), STR(L"/x\x4e2d/y"), SAME } },
  /* with no path nothing is escaped, and the authority never is */
  { ROW, L"http://ho st", 0, ICU_ESCAPE, { N_, N_, N_, B_(8), B_(8), B_(8) }, OK, HTTP, 80,
    { SAME, SAME, SAME, STR(L"ho st"), STR(L""), STR(L"") } },
  { ROW, L"http://[::1]", 0, ICU_ESCAPE, { N_, N_, N_, B_(8), N_, N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, STR(L"[::1]"), SAME, SAME } },
  /* escaped lengths count against the buffer */
  { ROW, L"http://h/ ", 0, ICU_ESCAPE, { N_, N_, N_, N_, B_(4), N_ }, SHORT, HTTP, 80,
    { SAME, SAME, SAME, SAME, LEN(5), SAME } },
  /* dwUrlLength is authoritative: shorter than the string... */
  { ROW, url1, 39, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), AT(7, 8), AT(16, 8), AT(25, 14), AT(39, 0), AT(39, 0) } },
  { ROW, url1, 43, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), AT(7, 8), AT(16, 8), AT(25, 14), AT(39, 4), AT(43, 0) } },
  { ROW, url1, 7, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url1, 4, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* ...but a NUL inside it is refused wherever it stands after the scheme
   * (ours): "a\0b" would be "a" to anyone who used the host as a string */
  { ROW, L"http://a\0b/c", 12, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://a\0b/c", 12, 0, { B_(20), B_(20), B_(20), B_(20), B_(20), B_(20) }, BADURL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://evil.example\0.good.example/", 35, 0, PTRS, BADURL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h\0x", 10, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h/\0\0x\0", 13, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://\0h/", 11, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://u\0:p@h/", 15, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://u:p\0@h/", 15, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h:8\0/", 12, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h/a\0b", 12, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h/?a\0b", 13, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h/#\0x", 12, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://[::1\0]/", 14, 0, PTRS, BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* the NUL-terminated form stops at the NUL, as before */
  { ROW, L"http://a\0b/c", 0, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 1), AT(8, 0), AT(8, 0) } },
  /* NULs at the end of the length are dropped: a length that counts the
   * terminator, or a zero-padded buffer's size (ours) */
  { ROW, url_k2, 22, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 14), AT(21, 0), AT(21, 0) } },
  { ROW, L"http://h/p?q\0\0\0", 15, 0, PTRS, OK, HTTP, 80,
    { AT(0, 4), NUL0, NUL0, AT(7, 1), AT(8, 2), AT(10, 2) } },
  { ROW, L"http://h\0\0", 10, 0, { B_(8), N_, N_, B_(8), B_(8), B_(8) }, OK, HTTP, 80,
    { STR(L"http"), SAME, SAME, STR(L"h"), STR(L""), STR(L"") } },
  { ROW, L"\0\0", 2, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"ht\0tp://h/", 10, 0, PTRS, SCHEME, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* ICU_DECODE turns %00 into a NUL inside the value; the length counts it */
  { ROW, L"http://h/a%00b", 0, ICU_DECODE, { N_, N_, N_, N_, B_(8), N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STRN(L"/a\0b", 4), SAME } },
  { ROW, L"http://u%00:p%00@h/", 0, ICU_DECODE, { N_, B_(8), B_(8), N_, N_, N_ }, OK, HTTP, 80,
    { SAME, STRN(L"u\0", 2), STRN(L"p\0", 2), SAME, SAME, SAME } },
  /* ...except in the host, which no NUL may ever reach (ours), whether
   * the host is wanted or not; undecoded it is just characters */
  { ROW, L"http://a%00b/c", 0, ICU_DECODE, { N_, N_, N_, B_(16), N_, N_ }, BADURL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://a%00b/c", 0, ICU_DECODE, { N_, N_, N_, N_, B_(16), N_ }, BADURL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://a%00b/c", 0, 0, { N_, N_, N_, B_(16), N_, N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, STR(L"a%00b"), SAME, SAME } },
  { ROW, L"http://a%00b/c", 0, ICU_DECODE | ICU_ESCAPE, { N_, N_, N_, B_(16), N_, N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, STR(L"a%00b"), SAME, SAME } },
  { ROW, L"http://a%0/c", 0, ICU_DECODE, { N_, N_, N_, B_(16), N_, N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, STR(L"a%0"), SAME, SAME } },
  /* decoding is one pass per component: an escape split by the path/extra
   * boundary is not one */
  { ROW, L"http://h/%4?1", 0, ICU_DECODE, { N_, N_, N_, N_, B_(8), B_(8) }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STR(L"/%4"), STR(L"?1") } },
  /* ...but with the extra info not wanted the query is part of the path */
  { ROW, L"http://h/%3F%3f?%41", 0, ICU_DECODE, { N_, N_, N_, N_, B_(16), N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STR(L"/??\?A"), SAME } },
  /* ICU_ESCAPE: an existing escape is escaped again ('%' is escaped) */
  { ROW, L"http://h/%41", 0, ICU_ESCAPE, { N_, N_, N_, N_, B_(16), N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STR(L"/%2541"), SAME } },
  /* ICU_ESCAPE: the user name, password and host are never escaped */
  { ROW, L"http://u v:p w@h x/a b", 0, ICU_ESCAPE, { B_(8), B_(8), B_(8), B_(8), B_(16), B_(8) }, OK,
    HTTP, 80, { STR(http), STR(L"u v"), STR(L"p w"), STR(L"h x"), STR(L"/a%20b"), STR(L"") } },

  /* ---- ours: error precedence. Argument errors come first, then the
   * URL's own errors, then ICU_REJECT_USERPWD, then ICU_ESCAPE's wide
   * characters, and ERROR_INSUFFICIENT_BUFFER last. Nothing is written on
   * any of them but the last. ---- */
  /* a zero-length buffer beats an unrecognised scheme and an invalid URL */
  { ROW, L"ftp://h/", 0, 0, { Z_, N_, N_, N_, N_, N_ }, INVAL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url4, 0, 0, { N_, N_, N_, Z_, N_, N_ }, INVAL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* pointer mode with ICU_DECODE beats an invalid URL */
  { ROW, url4, 0, ICU_DECODE, PTRS, INVAL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, url_k6, 0, ICU_ESCAPE, { B_(8), N_, N_, P_(1), N_, N_ }, INVAL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* the URL's errors beat ICU_REJECT_USERPWD */
  { ROW, L"ftp://u:p@h/", 0, ICU_REJECT_USERPWD, PTRS, SCHEME, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://u@h:99999/", 0, ICU_REJECT_USERPWD, PTRS, BADURL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* ICU_REJECT_USERPWD beats ICU_ESCAPE's wide character */
  { ROW, L"http://u@h/\x100", 0, ICU_REJECT_USERPWD | ICU_ESCAPE, { B_(8), N_, N_, B_(8), B_(8), N_ },
    BADURL, KEEP, KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* both beat short buffers: nothing is written, no size reported */
  { ROW, url1, 0, ICU_REJECT_USERPWD, { B_(1), B_(1), B_(1), B_(1), B_(1), B_(1) }, BADURL, KEEP,
    KEEP, { SAME, SAME, SAME, SAME, SAME, SAME } },
  { ROW, L"http://h/\x100", 0, ICU_ESCAPE, { B_(1), N_, N_, B_(1), B_(1), B_(1) }, INVAL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* an invalid URL with short buffers: the URL error, not the sizes */
  { ROW, url15, 0, 0, { B_(1), N_, N_, B_(1), B_(1), B_(1) }, BADURL, KEEP, KEEP,
    { SAME, SAME, SAME, SAME, SAME, SAME } },
  /* ICU_ESCAPE only rejects wide characters it would escape: those from the
   * last '/' on (a wide host is fine, see above; so is a wide first path
   * segment) */
  { ROW, L"http://h/\x4e2d/x", 0, ICU_ESCAPE, { N_, N_, N_, N_, B_(16), N_ }, OK, HTTP, 80,
    { SAME, SAME, SAME, SAME, STR(L"/\x4e2d/x"), SAME } },
};

static void run_crack(const struct crack_case *c)
{
  URL_COMPONENTS uc, before;
  WCHAR *bufs[NCOMP] = { NULL };
  int line = c->line;

  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.nScheme = SENTINEL_SCHEME;
  uc.nPort = SENTINEL_PORT;

  WCHAR **strp[NCOMP] = { &uc.lpszScheme, &uc.lpszUserName, &uc.lpszPassword, &uc.lpszHostName,
                          &uc.lpszUrlPath, &uc.lpszExtraInfo };
  DWORD *lenp[NCOMP] = { &uc.dwSchemeLength, &uc.dwUserNameLength, &uc.dwPasswordLength,
                         &uc.dwHostNameLength, &uc.dwUrlPathLength, &uc.dwExtraInfoLength };

  for (int k = 0; k < NCOMP; k++) {
    switch (c->in[k].mode) {
    case IN_NONE:
      break;
    case IN_PTR:
      *lenp[k] = c->in[k].len;
      break;
    case IN_BUF:
      bufs[k] = wbuf(c->in[k].len);
      *strp[k] = bufs[k];
      *lenp[k] = c->in[k].len;
      break;
    case IN_ZERO:
      bufs[k] = wbuf(4);
      *strp[k] = bufs[k];
      *lenp[k] = 0;
      break;
    }
  }
  before = uc;
  WCHAR *before_str[NCOMP];
  DWORD before_len[NCOMP];
  for (int k = 0; k < NCOMP; k++) {
    before_str[k] = *strp[k];
    before_len[k] = *lenp[k];
  }

  SetLastError(0xdeadbeef);
  BOOL ret = WinHttpCrackUrl(c->url, c->url_len, c->flags, &uc);
  DWORD err = GetLastError();
  CHECK(line, ret == (c->err == ERROR_SUCCESS));
  CHECK(line, err == c->err);
  if (err != c->err)
    print_error("  got error %u, want %u\n", (unsigned)err, (unsigned)c->err);

  if (c->err != ERROR_SUCCESS && c->err != ERROR_INSUFFICIENT_BUFFER) {
    /* A failed call leaves the structure and the buffers untouched. */
    CHECK(line, memcmp(&uc, &before, sizeof(uc)) == 0);
    for (int k = 0; k < NCOMP; k++) {
      if (bufs[k] && c->in[k].len)
        CHECK(line, bufs[k][0] == SENTINEL_WCHAR);
    }
  }
  CHECK(line, uc.dwStructSize == sizeof(uc));
  if (c->scheme == KEEP)
    CHECK(line, uc.nScheme == SENTINEL_SCHEME);
  else
    CHECK(line, uc.nScheme == c->scheme);
  if (c->port == KEEP)
    CHECK(line, uc.nPort == SENTINEL_PORT);
  else
    CHECK(line, uc.nPort == c->port);

  for (int k = 0; k < NCOMP; k++) {
    const struct comp_out *o = &c->out[k];
    switch (o->kind) {
    case O_ANY:
      break;
    case O_SAME:
      CHECK(line, *strp[k] == before_str[k]);
      CHECK(line, *lenp[k] == before_len[k]);
      break;
    case O_NULL:
      CHECK(line, *strp[k] == NULL);
      CHECK(line, *lenp[k] == 0);
      break;
    case O_AT:
      CHECK(line, *strp[k] == c->url + o->off);
      CHECK(line, *lenp[k] == o->len);
      if (*strp[k] != c->url + o->off || *lenp[k] != o->len)
        print_error("  component %d: got offset %ld length %u, want %zu %u\n", k,
                    *strp[k] ? (long)(*strp[k] - c->url) : -1L, (unsigned)*lenp[k], o->off,
                    (unsigned)o->len);
      break;
    case O_STR:
      CHECK(line, *strp[k] == bufs[k]);
      if (*strp[k] == bufs[k] && bufs[k]) {
        size_t want = wcslen(o->str);
        CHECK(line, *lenp[k] == want);
        CHECK(line, *lenp[k] < c->in[k].len && bufs[k][*lenp[k]] == 0);
        CHECK(line, wmemcmp(bufs[k], o->str, want) == 0);
      }
      break;
    case O_STRN:
      CHECK(line, *strp[k] == bufs[k]);
      CHECK(line, *lenp[k] == o->len);
      if (*strp[k] == bufs[k] && bufs[k] && *lenp[k] == o->len) {
        CHECK(line, o->len < c->in[k].len && bufs[k][o->len] == 0);
        CHECK(line, wmemcmp(bufs[k], o->str, o->len) == 0);
      }
      break;
    case O_LEN:
      CHECK(line, *strp[k] == bufs[k]);
      CHECK(line, *lenp[k] == o->len);
      CHECK(line, bufs[k] && bufs[k][0] == SENTINEL_WCHAR);
      break;
    }
  }
  for (int k = 0; k < NCOMP; k++)
    wh_free(bufs[k]);
}

static void test_crack_table(void **state)
{
  (void)state;
  table_start();
  for (size_t i = 0; i < sizeof(crack_cases) / sizeof(crack_cases[0]); i++)
    run_crack(&crack_cases[i]);
  print_message("crack table: %zu rows\n", sizeof(crack_cases) / sizeof(crack_cases[0]));
  table_done("crack table");
}

static void test_crack_bad_arguments(void **state)
{
  URL_COMPONENTS uc;
  (void)state;

  /* Wine: NULL components, then a NULL URL. */
  SetLastError(0xdeadbeef);
  assert_false(WinHttpCrackUrl(url1, 0, 0, NULL));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);

  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.dwHostNameLength = 1;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpCrackUrl(NULL, 0, 0, &uc));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  assert_null(uc.lpszHostName);

  /* ours: dwStructSize must be exact. */
  uc.dwStructSize = sizeof(uc) - 1;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpCrackUrl(url1, 0, 0, &uc));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  uc.dwStructSize = sizeof(uc) + 1;
  assert_false(WinHttpCrackUrl(url1, 0, 0, &uc));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  uc.dwStructSize = 0;
  assert_false(WinHttpCrackUrl(url1, 0, 0, &uc));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  assert_null(uc.lpszHostName);
  assert_int_equal(uc.dwHostNameLength, 1);

  /* Nothing wanted at all is fine: only nScheme and nPort come back. */
  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  SetLastError(0xdeadbeef);
  assert_true(WinHttpCrackUrl(url10, 0, 0, &uc));
  assert_int_equal(GetLastError(), ERROR_SUCCESS);
  assert_int_equal(uc.nScheme, INTERNET_SCHEME_HTTPS);
  assert_int_equal(uc.nPort, 443);
  assert_null(uc.lpszHostName);
  assert_int_equal(uc.dwHostNameLength, 0);
}

/* An explicit dwUrlLength is never read past: the URL sits at the very end
 * of a heap block without a terminator. */
static void test_crack_exact_length_input(void **state)
{
  static const WCHAR src[] = L"https://user:pw@example.com:8443/a/b?c=d#e";
  const size_t n = wcslen(src);
  WCHAR *url = wbuf(n);
  URL_COMPONENTS uc;
  (void)state;

  wmemcpy(url, src, n);
  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.dwSchemeLength = uc.dwHostNameLength = uc.dwUserNameLength = ~0u;
  uc.dwPasswordLength = uc.dwUrlPathLength = uc.dwExtraInfoLength = ~0u;
  assert_true(WinHttpCrackUrl(url, (DWORD)n, 0, &uc));
  assert_int_equal(uc.nPort, 8443);
  assert_ptr_equal(uc.lpszHostName, url + 16);
  assert_int_equal(uc.dwHostNameLength, 11);
  assert_ptr_equal(uc.lpszUrlPath, url + 32);
  assert_int_equal(uc.dwUrlPathLength, 4);
  assert_ptr_equal(uc.lpszExtraInfo, url + 36);
  assert_int_equal(uc.dwExtraInfoLength, 6);

  /* Every prefix either cracks or fails cleanly. */
  for (size_t len = 1; len <= n; len++) {
    memset(&uc, 0, sizeof(uc));
    uc.dwStructSize = sizeof(uc);
    uc.dwSchemeLength = uc.dwHostNameLength = uc.dwUserNameLength = ~0u;
    uc.dwPasswordLength = uc.dwUrlPathLength = uc.dwExtraInfoLength = ~0u;
    WCHAR *tail = url + (n - len);
    wmemmove(tail, src, len);
    BOOL ok = WinHttpCrackUrl(tail, (DWORD)len, 0, &uc);
    if (ok)
      assert_ptr_equal(uc.lpszExtraInfo + uc.dwExtraInfoLength, tail + len);
    else
      assert_true(GetLastError() == ERROR_WINHTTP_INVALID_URL ||
                  GetLastError() == ERROR_WINHTTP_UNRECOGNIZED_SCHEME);
  }
  wh_free(url);
}

/* --------------------------------------------------------------------------
 * WinHttpCreateUrl table
 */

struct wc {
  const WCHAR *s;
  DWORD len;
};
#define W(s) { (s), (DWORD)(sizeof(s) / sizeof(WCHAR) - 1) } /* explicit length */
#define WZ(s) { (s), 0 }                                     /* NUL-terminated */
#define WN { NULL, 0 }

struct create_case {
  int line;
  DWORD size; /* dwStructSize */
  struct wc scheme;
  INTERNET_SCHEME nscheme;
  struct wc host;
  INTERNET_PORT port;
  struct wc user, pass, path, extra;
  DWORD flags;
  bool null_buf;
  DWORD in_len;
  DWORD err;
  DWORD out_len;
  const WCHAR *expect; /* NULL: content not checked */
};

#define SZ sizeof(URL_COMPONENTS)
/* Wine's fill_url_components */
#define FILL_SCHEME { http, 4 }, HTTP
#define FILL_HOST { winehq, 14 }, 80
#define FILL_CRED { username, 8 }, { password, 8 }
#define FILL_TAIL { about, 11 }, { query, 6 }

static const struct create_case create_cases[] = {
  /* ---- Wine: WinHttpCreateUrl_test, in order ---- */
  /* zero'ed components */
  { ROW, 0, WN, 0, WN, 0, WN, WN, WN, WN, 0, true, ~0u, INVAL, ~0u, NULL },
  /* valid components, NULL url, insufficient length */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, 0, true, 0, SHORT, 57, NULL },
  /* valid components, NULL url, sufficient length (Windows 7 and later) */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, 0, true, 256, INVAL, 256, NULL },
  /* valid components, allocated url, short length */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, 0, false, 2, SHORT, 57, NULL },
  /* allocated url, NULL scheme: nScheme decides */
  { ROW, SZ, { NULL, 4 }, HTTP, FILL_HOST, FILL_CRED, FILL_TAIL, 0, false, 256, OK, 56, url1 },
  /* allocated url, 0 nScheme: lpszScheme decides */
  { ROW, SZ, { http, 4 }, 0, FILL_HOST, FILL_CRED, FILL_TAIL, 0, false, 256, OK, 56, url1 },
  /* valid components, allocated url */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, 0, false, 256, OK, 56, url1 },
  /* valid username, NULL password (content: ours) */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, { username, 8 }, { NULL, 8 }, FILL_TAIL, 0, false, 256, OK, 47,
    L"http://username@www.winehq.org/site/about?query" },
  /* valid username, empty password */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, { username, 8 }, { empty, 0 }, FILL_TAIL, 0, false, 256, OK, 48,
    url2 },
  /* valid password, NULL username */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, { NULL, 8 }, { password, 8 }, FILL_TAIL, 0, false, 256, INVAL,
    256, NULL },
  /* valid password, empty username (content: ours) */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, { empty, 0 }, { password, 8 }, FILL_TAIL, 0, false, 256, OK, 48,
    L"http://:password@www.winehq.org/site/about?query" },
  /* NULL username, NULL password */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, { NULL, 8 }, { NULL, 8 }, FILL_TAIL, 0, false, 256, OK, 38, url3 },
  /* empty username, empty password */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, { empty, 0 }, { empty, 0 }, FILL_TAIL, 0, false, 256, OK, 40,
    url23 },
  /* nScheme has lower precedence than lpszScheme */
  { ROW, SZ, { ftp, 3 }, HTTP, FILL_HOST, FILL_CRED, FILL_TAIL, 0, false, 256, OK, 58, url5 },
  /* non-standard port */
  { ROW, SZ, FILL_SCHEME, { winehq, 14 }, 42, FILL_CRED, FILL_TAIL, 0, false, 256, OK, 59, url6 },
  /* escape extra info */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, { about, 11 }, W(escape), ICU_ESCAPE, false, 256, OK,
    113, url7 },
  /* escape extra info, everything else zero */
  { ROW, SZ, WN, 0, WN, 0, WN, WN, WN, W(escape2), ICU_ESCAPE, false, 256, OK, 28, url18 },
  /* extra info with Unicode characters (ANSI code page not UTF-8) */
  { ROW, SZ, WN, 0, WN, 0, WN, WN, WN, W(escape3), ICU_ESCAPE, false, 256, INVAL, 256, NULL },
  /* extra info with Unicode characters, no ICU_ESCAPE */
  { ROW, SZ, WN, 0, WN, 0, WN, WN, WN, W(escape3), 0, false, 256, OK, 14, url19 },
  /* escape path */
  { ROW, SZ, WN, 0, WN, 0, WN, WN, W(escape2), WN, ICU_ESCAPE, false, 256, OK, 28, url18 },
  /* path with Unicode characters */
  { ROW, SZ, WN, 0, WN, 0, WN, WN, W(escape4), WN, ICU_ESCAPE, false, 256, INVAL, 256, NULL },
  /* path with Unicode characters, no ICU_ESCAPE */
  { ROW, SZ, WN, 0, WN, 0, WN, WN, W(escape4), WN, 0, false, 256, OK, 14, url20 },
  /* NULL lpszScheme, 0 nScheme and nPort */
  { ROW, SZ, WN, 0, { winehq, 14 }, 0, FILL_CRED, FILL_TAIL, 0, false, 256, OK, 58, url8 },

  /* ---- ours ---- */
  /* the buffer must hold the NUL too */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, 0, false, 56, SHORT, 57, NULL },
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, 0, false, 57, OK, 56, url1 },
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, 0, true, 57, INVAL, 57, NULL },
  /* NUL-terminated components (length 0) */
  { ROW, SZ, WZ(http), HTTP, WZ(winehq), 80, WZ(username), WZ(password), WZ(about), WZ(query), 0,
    false, 57, OK, 56, url1 },
  /* an explicit length shorter than the string wins */
  { ROW, SZ, { L"https://", 5 }, 0, { winehq, 3 }, 443, WN, WN, { about, 5 }, { query, 2 }, 0, false,
    64, OK, 18, L"https://www/site?q" },
  /* https defaults */
  { ROW, SZ, WN, HTTPS, WZ(L"h"), 443, WN, WN, WZ(L"/"), WN, 0, false, 64, OK, 10, L"https://h/" },
  { ROW, SZ, WN, HTTPS, WZ(L"h"), 80, WN, WN, WZ(L"/"), WN, 0, false, 64, OK, 13, L"https://h:80/" },
  { ROW, SZ, WZ(L"HTTPS"), 0, WZ(L"h"), 443, WN, WN, WZ(L"/"), WN, 0, false, 64, OK, 10,
    L"HTTPS://h/" },
  { ROW, SZ, WZ(L"ftp"), 0, WZ(L"h"), 21, WN, WN, WZ(L"/"), WN, 0, false, 64, OK, 11, L"ftp://h:21/" },
  { ROW, SZ, WN, HTTP, WZ(L"h"), 65535, WN, WN, WN, WN, 0, false, 64, OK, 14, L"http://h:65535" },
  /* other schemes cannot come from nScheme */
  { ROW, SZ, WN, 3, WZ(L"h"), 21, WN, WN, WN, WN, 0, false, 64, INVAL, 64, NULL },
  { ROW, SZ, WN, -1, WZ(L"h"), 21, WN, WN, WN, WN, 0, false, 64, INVAL, 64, NULL },
  /* ICU_INCLUDE_DEFAULT_PORT */
  { ROW, SZ, WN, HTTP, WZ(L"h"), 80, WN, WN, WZ(L"/x"), WN, ICU_INCLUDE_DEFAULT_PORT, false, 64, OK, 13,
    L"http://h:80/x" },
  /* a '/' goes between the host and a path that lacks one, not elsewhere */
  { ROW, SZ, WN, HTTP, WZ(L"h"), 80, WN, WN, WZ(L"p"), WN, 0, false, 64, OK, 10, L"http://h/p" },
  { ROW, SZ, WN, HTTP, WZ(L"h"), 80, WN, WN, WZ(L""), WN, 0, false, 64, OK, 9, L"http://h/" },
  { ROW, SZ, WN, HTTP, WZ(L"h"), 80, WN, WN, WN, WZ(L"?q"), 0, false, 64, OK, 10, L"http://h?q" },
  { ROW, SZ, WN, HTTP, WN, 80, WN, WN, WZ(L"p"), WN, 0, false, 64, OK, 8, L"http://p" },
  /* IPv6 literal host, written as given */
  { ROW, SZ, WN, HTTP, WZ(L"[::1]"), 8080, WN, WN, WZ(L"/x"), WN, 0, false, 64, OK, 19,
    L"http://[::1]:8080/x" },
  /* ICU_ESCAPE leaves the scheme and authority alone */
  { ROW, SZ, WN, HTTP, WZ(L"a b"), 80, WZ(L"u v"), WZ(L"p w"), WZ(L"/\xe9 "), WZ(L"?%"), ICU_ESCAPE,
    false, 64, OK, 29, L"http://u v:p w@a b/%E9%20?%25" },
  /* ICU_ESCAPE with a character above 0xFF: no matter the buffer size */
  { ROW, SZ, WN, HTTP, WZ(L"h"), 80, WN, WN, WZ(escape4), WN, ICU_ESCAPE, true, 0, INVAL, 0, NULL },
  /* ICU_REJECT_USERPWD */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, ICU_REJECT_USERPWD, false, 256, BADURL, 256,
    NULL },
  { ROW, SZ, FILL_SCHEME, FILL_HOST, { empty, 0 }, WN, FILL_TAIL, ICU_REJECT_USERPWD, false, 256,
    BADURL, 256, NULL },
  { ROW, SZ, FILL_SCHEME, FILL_HOST, WN, WN, FILL_TAIL, ICU_REJECT_USERPWD, false, 256, OK, 38, url3 },
  /* a password without a user name fails before anything is measured */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, WN, { password, 8 }, FILL_TAIL, 0, true, 0, INVAL, 0, NULL },

  /* ---- ours: ICU_INCLUDE_DEFAULT_PORT ---- */
  { ROW, SZ, WN, HTTPS, WZ(L"h"), 443, WN, WN, WZ(L"/"), WN, ICU_INCLUDE_DEFAULT_PORT, false, 64, OK, 14,
    L"https://h:443/" },
  { ROW, SZ, WN, 0, WZ(L"h"), 80, WN, WN, WN, WN, ICU_INCLUDE_DEFAULT_PORT, false, 64, OK, 11,
    L"http://h:80" },
  { ROW, SZ, WZ(L"HTTPS"), HTTP, WZ(L"h"), 443, WN, WN, WZ(L"/"), WN, ICU_INCLUDE_DEFAULT_PORT, false,
    64, OK, 14, L"HTTPS://h:443/" },
  /* a non-default port is written either way */
  { ROW, SZ, WN, HTTP, WZ(L"h"), 42, WN, WN, WZ(L"/"), WN, ICU_INCLUDE_DEFAULT_PORT, false, 64, OK, 12,
    L"http://h:42/" },
  /* no host, no port */
  { ROW, SZ, WN, HTTP, WN, 80, WN, WN, WZ(L"p"), WN, ICU_INCLUDE_DEFAULT_PORT, false, 64, OK, 8,
    L"http://p" },
  /* the size probe counts the port */
  { ROW, SZ, WN, HTTP, WZ(L"h"), 80, WN, WN, WZ(L"/"), WN, ICU_INCLUDE_DEFAULT_PORT, true, 0, SHORT, 13,
    NULL },
  { ROW, SZ, WN, HTTP, WZ(L"h"), 80, WN, WN, WZ(L"/"), WN, ICU_INCLUDE_DEFAULT_PORT, false, 12, SHORT, 13,
    NULL },
  { ROW, SZ, WN, HTTP, WZ(L"h"), 80, WN, WN, WZ(L"/"), WN, ICU_INCLUDE_DEFAULT_PORT, false, 13, OK, 12,
    L"http://h:80/" },

  /* ---- ours: the flags WinHttpCreateUrl does not know are ignored ---- */
  { ROW, SZ, WN, HTTP, WZ(L"h"), 80, WN, WN, WZ(L"/%41 "), WN, ICU_DECODE | ICU_ESCAPE_AUTHORITY, false,
    64, OK, 13, L"http://h/%41 " },

  /* ---- ours: error precedence. Argument errors first (the password
   * without a user name), then ICU_REJECT_USERPWD, then the scheme, then
   * ICU_ESCAPE's wide characters, then the size; none touches the length
   * but the last. ---- */
  { ROW, SZ, FILL_SCHEME, FILL_HOST, WN, { password, 8 }, FILL_TAIL, ICU_REJECT_USERPWD, false, 256,
    INVAL, 256, NULL },
  { ROW, SZ, WN, 3, WZ(L"h"), 80, WZ(L"u"), WN, WZ(L"/"), WN, ICU_REJECT_USERPWD, false, 64, BADURL, 64,
    NULL },
  { ROW, SZ, WN, 3, WZ(L"h"), 80, WN, WN, W(escape4), WN, ICU_ESCAPE, false, 64, INVAL, 64, NULL },
  { ROW, SZ, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, ICU_REJECT_USERPWD, false, 2, BADURL, 2, NULL },
  { ROW, SZ, FILL_SCHEME, FILL_HOST, WN, WN, W(escape4), WN, ICU_ESCAPE, false, 2, INVAL, 2, NULL },
  { ROW, SZ, WN, -5, FILL_HOST, WN, WN, FILL_TAIL, 0, true, 0, INVAL, 0, NULL },
  { ROW, 0, FILL_SCHEME, FILL_HOST, FILL_CRED, FILL_TAIL, 0, true, 0, INVAL, 0, NULL },
};

static void run_create(const struct create_case *c)
{
  URL_COMPONENTS uc;
  WCHAR *buf = NULL;
  DWORD len = c->in_len;
  int line = c->line;

  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = c->size;
  uc.lpszScheme = (WCHAR *)c->scheme.s;
  uc.dwSchemeLength = c->scheme.len;
  uc.nScheme = c->nscheme;
  uc.lpszHostName = (WCHAR *)c->host.s;
  uc.dwHostNameLength = c->host.len;
  uc.nPort = c->port;
  uc.lpszUserName = (WCHAR *)c->user.s;
  uc.dwUserNameLength = c->user.len;
  uc.lpszPassword = (WCHAR *)c->pass.s;
  uc.dwPasswordLength = c->pass.len;
  uc.lpszUrlPath = (WCHAR *)c->path.s;
  uc.dwUrlPathLength = c->path.len;
  uc.lpszExtraInfo = (WCHAR *)c->extra.s;
  uc.dwExtraInfoLength = c->extra.len;
  if (!c->null_buf)
    buf = wbuf(c->in_len);

  URL_COMPONENTS before = uc;
  SetLastError(0xdeadbeef);
  BOOL ret = WinHttpCreateUrl(&uc, c->flags, buf, &len);
  DWORD err = GetLastError();
  CHECK(line, ret == (c->err == ERROR_SUCCESS));
  CHECK(line, err == c->err);
  if (err != c->err)
    print_error("  got error %u, want %u\n", (unsigned)err, (unsigned)c->err);
  CHECK(line, len == c->out_len);
  if (len != c->out_len)
    print_error("  got length %u, want %u\n", (unsigned)len, (unsigned)c->out_len);
  CHECK(line, memcmp(&uc, &before, sizeof(uc)) == 0);
  if (c->err == ERROR_SUCCESS && buf) {
    CHECK(line, len < c->in_len && buf[len] == 0);
    CHECK(line, wcslen(buf) == len);
    if (c->expect) {
      CHECK(line, wcscmp(buf, c->expect) == 0);
      if (wcscmp(buf, c->expect) != 0)
        print_error("  got %ls\n want %ls\n", buf, c->expect);
    }
  } else if (buf && c->in_len) {
    CHECK(line, buf[0] == SENTINEL_WCHAR);
  }
  wh_free(buf);
}

static void test_create_table(void **state)
{
  (void)state;
  table_start();
  for (size_t i = 0; i < sizeof(create_cases) / sizeof(create_cases[0]); i++)
    run_create(&create_cases[i]);
  print_message("create table: %zu rows\n", sizeof(create_cases) / sizeof(create_cases[0]));
  table_done("create table");
}

static void test_create_bad_arguments(void **state)
{
  URL_COMPONENTS uc;
  WCHAR buf[64];
  DWORD len;
  (void)state;

  /* Wine: NULL components, the length untouched. */
  len = ~0u;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpCreateUrl(NULL, 0, NULL, &len));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  assert_int_equal(len, ~0u);

  /* Wine: valid components, NULL url, NULL length. */
  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.lpszHostName = (WCHAR *)winehq;
  uc.nPort = 80;
  SetLastError(0xdeadbeef);
  assert_false(WinHttpCreateUrl(&uc, 0, NULL, NULL));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  assert_false(WinHttpCreateUrl(&uc, 0, buf, NULL));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);

  /* ours: dwStructSize must be exact. */
  uc.dwStructSize = sizeof(uc) + 4;
  len = 64;
  assert_false(WinHttpCreateUrl(&uc, 0, buf, &len));
  assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
  assert_int_equal(len, 64);

  /* The probe-then-allocate pattern of Microsoft's example. */
  uc.dwStructSize = sizeof(uc);
  len = 0;
  assert_false(WinHttpCreateUrl(&uc, 0, NULL, &len));
  assert_int_equal(GetLastError(), ERROR_INSUFFICIENT_BUFFER);
  assert_int_equal(len, 22);
  WCHAR *out = wbuf(len);
  SetLastError(0xdeadbeef);
  assert_true(WinHttpCreateUrl(&uc, 0, out, &len));
  assert_int_equal(GetLastError(), ERROR_SUCCESS);
  assert_int_equal(len, 21);
  assert_true(wcscmp(out, L"http://www.winehq.org") == 0);
  wh_free(out);
}

/* Microsoft's WinHttpCrackUrl example: crack in pointer mode, change the
 * extra info, build the URL again from the pointers and lengths. */
static void test_create_from_pointer_mode(void **state)
{
  static const WCHAR src[] = L"http://search.msn.com/results.asp?RS=CHECKED&FORM=MSNH&v=1&q=wininet";
  URL_COMPONENTS uc;
  DWORD len = 0;
  (void)state;

  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.dwSchemeLength = (DWORD)-1;
  uc.dwHostNameLength = (DWORD)-1;
  uc.dwUrlPathLength = (DWORD)-1;
  uc.dwExtraInfoLength = (DWORD)-1;
  assert_true(WinHttpCrackUrl(src, (DWORD)wcslen(src), 0, &uc));
  uc.lpszExtraInfo = (WCHAR *)L"?RS=CHECKED&FORM=MSNH&v=1&q=winhttp";

  assert_false(WinHttpCreateUrl(&uc, 0, NULL, &len));
  assert_int_equal(GetLastError(), ERROR_INSUFFICIENT_BUFFER);
  WCHAR *out = wbuf(len);
  assert_true(WinHttpCreateUrl(&uc, 0, out, &len));
  assert_true(wcscmp(out, L"http://search.msn.com/results.asp?RS=CHECKED&FORM=MSNH&v=1&q=winhttp") == 0);
  wh_free(out);
}

/* --------------------------------------------------------------------------
 * Round trips
 */

struct rt_case {
  const WCHAR *url;
  const WCHAR *canonical; /* what WinHttpCreateUrl gives back; NULL: |url| */
};

static const struct rt_case rt_cases[] = {
  { L"http://www.winehq.org/", NULL },
  { L"http://www.winehq.org/site/about", NULL },
  { L"http://username:password@www.winehq.org/site/about?query", NULL },
  { L"https://www.winehq.org/post?", NULL },
  { L"http://www.winehq.org:42/site/about?query", NULL },
  { L"https://nba2k19-ws.2ksports.com:19133/nba/v4/Accounts/get_account?x=3789526775265663876",
    NULL },
  { L"http://example.net/path?var1=example@example.com&var2=x&var3=y", NULL },
  { L"https://tools.google.com/service/update2?w=3:BxDHoWy8ezM", NULL },
  { L"http://winehq/post;a", NULL },
  { L"http://[::1]:8080/index.html", NULL },
  { L"https://[2001:db8::7]/c=GB?objectClass?one", NULL },
  { L"http://user@host/", NULL },
  { L"http://user:@host/x", NULL },
  { L"http://u:p:q@host/x", NULL },
  { L"http://host:0/", NULL },
  { L"https://host:80/", NULL },
  { L"http://host:443/", NULL },
  { L"http://host:65535/a/b/c/", NULL },
  { L"http://host/p#frag", NULL },
  { L"http://host/p?q=1#frag", NULL },
  { L"http://host/%41%20b?c=%2F", NULL },
  { L"http://host/caf\xe9/\x4e2d\x6587?\x65e5=\x672c", NULL },
  { L"HTTP://HOST/Path", NULL },
  { L"http://a@b@c/", NULL },
  { L"http://host/?", NULL },
  { L"http://host/#", NULL },
  { L"http://search.msn.com/results.asp?RS=CHECKED&FORM=MSNH&v=1&q=wininet", NULL },
  { L"https://user:pass@[fe80::1%25eth0]:8443/x?y#z", NULL },
  { L"http://host//double//slash", NULL },
  { L"http://h/a;b=c/d,e", NULL },
  { L"http://:@www.winehq.org/site/about?query", NULL },
  { L"http://h/a%2Fb%3Fc?d=%26#e%23", NULL },
  { L"https://[::1]/", NULL },
  { L"http://h/?a=b?c=d", NULL },
  { L"http://h/p?q#f?g", NULL },
  { L"http://h/~user/index.html", NULL },
  { L"http://u%40x:p%3Ay@h/", NULL },
  { L"http://h:8080", L"http://h:8080/" },
  { L"https://h:/?q", L"https://h/?q" },
  /* non-canonical inputs */
  { L"http://host:80/", L"http://host/" },
  { L"https://host:443/x", L"https://host/x" },
  { L"http://host", L"http://host/" },
  { L"http://host:/", L"http://host/" },
  { L"http://host:00042/", L"http://host:42/" },
  { L"HtTpS://h:443", L"HtTpS://h/" },
};

struct cracked {
  WCHAR scheme[64], user[64], pass[64], host[64], path[128], extra[128];
  URL_COMPONENTS uc;
  bool has_user, has_pass;
};

/* Cracks |url| into buffers, noting from a pointer-mode pass whether the
 * user name and password are present (buffers cannot tell "" from absent). */
static void crack_all(const WCHAR *url, DWORD flags, struct cracked *c)
{
  URL_COMPONENTS p;
  memset(&p, 0, sizeof(p));
  p.dwStructSize = sizeof(p);
  p.dwUserNameLength = p.dwPasswordLength = 1;
  assert_true(WinHttpCrackUrl(url, 0, 0, &p));
  c->has_user = p.lpszUserName != NULL;
  c->has_pass = p.lpszPassword != NULL;

  memset(&c->uc, 0, sizeof(c->uc));
  c->uc.dwStructSize = sizeof(c->uc);
  c->uc.lpszScheme = c->scheme;
  c->uc.dwSchemeLength = 64;
  c->uc.lpszUserName = c->user;
  c->uc.dwUserNameLength = 64;
  c->uc.lpszPassword = c->pass;
  c->uc.dwPasswordLength = 64;
  c->uc.lpszHostName = c->host;
  c->uc.dwHostNameLength = 64;
  c->uc.lpszUrlPath = c->path;
  c->uc.dwUrlPathLength = 128;
  c->uc.lpszExtraInfo = c->extra;
  c->uc.dwExtraInfoLength = 128;
  SetLastError(0xdeadbeef);
  assert_true(WinHttpCrackUrl(url, 0, flags, &c->uc));
  assert_int_equal(GetLastError(), ERROR_SUCCESS);
}

/* Builds a URL from a crack_all() result; the caller frees it. */
static WCHAR *create_from(struct cracked *c, DWORD flags)
{
  URL_COMPONENTS uc = c->uc;
  DWORD len = 0;
  if (!c->has_user)
    uc.lpszUserName = NULL;
  if (!c->has_pass)
    uc.lpszPassword = NULL;
  uc.nScheme = 0; /* lpszScheme decides */
  assert_false(WinHttpCreateUrl(&uc, flags, NULL, &len));
  assert_int_equal(GetLastError(), ERROR_INSUFFICIENT_BUFFER);
  WCHAR *out = wbuf(len);
  DWORD size = len;
  SetLastError(0xdeadbeef);
  assert_true(WinHttpCreateUrl(&uc, flags, out, &len));
  assert_int_equal(GetLastError(), ERROR_SUCCESS);
  assert_int_equal(len, size - 1);
  assert_int_equal(wcslen(out), len);
  return out;
}

static void same_cracked(int line, const struct cracked *a, const struct cracked *b)
{
  CHECK(line, a->uc.nScheme == b->uc.nScheme);
  CHECK(line, a->uc.nPort == b->uc.nPort);
  CHECK(line, wcscmp(a->scheme, b->scheme) == 0);
  CHECK(line, a->has_user == b->has_user && wcscmp(a->user, b->user) == 0);
  CHECK(line, a->has_pass == b->has_pass && wcscmp(a->pass, b->pass) == 0);
  CHECK(line, wcscmp(a->host, b->host) == 0);
}

static void test_round_trip(void **state)
{
  (void)state;
  table_start();
  for (size_t i = 0; i < sizeof(rt_cases) / sizeof(rt_cases[0]); i++) {
    const struct rt_case *r = &rt_cases[i];
    const WCHAR *want = r->canonical ? r->canonical : r->url;
    int line = (int)i; /* index into rt_cases */
    struct cracked a, b;

    /* Crack into buffers, build, compare with the input. */
    crack_all(r->url, 0, &a);
    WCHAR *out = create_from(&a, 0);
    CHECK(line, wcscmp(out, want) == 0);
    if (wcscmp(out, want) != 0)
      print_error("  round trip %zu: got %ls\n", i, out);

    /* The built URL cracks to the same components (a path "" becomes "/"). */
    crack_all(out, 0, &b);
    same_cracked(line, &a, &b);
    CHECK(line, wcscmp(a.path[0] ? a.path : L"/", b.path) == 0 || (!a.path[0] && !b.path[0]));
    CHECK(line, wcscmp(a.extra, b.extra) == 0);
    wh_free(out);

    /* Microsoft's pattern: crack in pointer mode and build from the
     * pointers. A present but empty user name or password cannot take part:
     * length 0 means NUL-terminated to WinHttpCreateUrl. */
    URL_COMPONENTS p;
    memset(&p, 0, sizeof(p));
    p.dwStructSize = sizeof(p);
    p.dwSchemeLength = p.dwHostNameLength = p.dwUserNameLength = ~0u;
    p.dwPasswordLength = p.dwUrlPathLength = p.dwExtraInfoLength = ~0u;
    assert_true(WinHttpCrackUrl(r->url, 0, 0, &p));
    if ((p.lpszUserName && !p.dwUserNameLength) || (p.lpszPassword && !p.dwPasswordLength) ||
        !p.dwUrlPathLength)
      continue;
    DWORD len = 0;
    assert_false(WinHttpCreateUrl(&p, 0, NULL, &len));
    WCHAR *out2 = wbuf(len);
    assert_true(WinHttpCreateUrl(&p, 0, out2, &len));
    CHECK(line, wcscmp(out2, want) == 0);
    wh_free(out2);
  }
  table_done("round trip");
}

/* ICU_ESCAPE when building and ICU_DECODE when cracking undo each other on
 * the path and extra info. */
static void test_round_trip_escape(void **state)
{
  static const struct {
    const WCHAR *path, *extra, *url;
  } cases[] = {
    { L"/a b/c\td", L"?x=1 2&y=<3>", L"http://h/a%20b/c%09d?x=1%202&y=%3C3%3E" },
    { L"/100%/\"q\"", L"#frag ment", L"http://h/100%25/%22q%22%23frag%20ment" },
    { L"/caf\xe9", L"?\x7f\x01", L"http://h/caf%E9?%7F%01" },
    { L"/{}|\\^~[]`", L"", L"http://h/%7B%7D%7C%5C%5E%7E%5B%5D%60" },
    { L"/!$&'()*+,;=:@", L"?!$&'()*+,;=:@/?", L"http://h/!$&'()*+,;=:@?!$&'()*+,;=:@/?" },
  };
  (void)state;
  table_start();
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int line = (int)i;
    URL_COMPONENTS uc;
    WCHAR out[256], path[128], extra[128];
    DWORD len = 256;

    memset(&uc, 0, sizeof(uc));
    uc.dwStructSize = sizeof(uc);
    uc.lpszHostName = (WCHAR *)L"h";
    uc.nPort = 80;
    uc.lpszUrlPath = (WCHAR *)cases[i].path;
    uc.lpszExtraInfo = (WCHAR *)cases[i].extra;
    CHECK(line, WinHttpCreateUrl(&uc, ICU_ESCAPE, out, &len));
    CHECK(line, wcscmp(out, cases[i].url) == 0);
    if (wcscmp(out, cases[i].url) != 0)
      print_error("  got %ls\n", out);

    memset(&uc, 0, sizeof(uc));
    uc.dwStructSize = sizeof(uc);
    uc.lpszUrlPath = path;
    uc.dwUrlPathLength = 128;
    uc.lpszExtraInfo = extra;
    uc.dwExtraInfoLength = 128;
    CHECK(line, WinHttpCrackUrl(out, 0, ICU_DECODE, &uc));
    /* "#frag ment" was escaped into the path, so it decodes back there. */
    if (cases[i].extra[0] == '#') {
      WCHAR joined[128];
      swprintf(joined, 128, L"%ls%ls", cases[i].path, cases[i].extra);
      CHECK(line, wcscmp(path, joined) == 0);
      CHECK(line, extra[0] == 0);
    } else {
      CHECK(line, wcscmp(path, cases[i].path) == 0);
      CHECK(line, wcscmp(extra, cases[i].extra) == 0);
    }
  }
  table_done("escape round trip");
}

/* --------------------------------------------------------------------------
 * The buffer-size protocol, component by component
 */

struct proto_case {
  const WCHAR *url;
  DWORD flags;
  const WCHAR *want[NCOMP]; /* what each component holds once cracked */
};

static const struct proto_case proto_cases[] = {
  { L"https://user:pass@host.example:8443/dir/file?q=1#f", 0,
    { L"https", L"user", L"pass", L"host.example", L"/dir/file", L"?q=1#f" } },
  /* decoded lengths are the ones that count */
  { L"http://us%65r:p%41ss@h%6Fst/a%20b/c%2F?x=%41%42", ICU_DECODE,
    { L"http", L"user", L"pAss", L"host", L"/a b/c/", L"?x=AB" } },
  /* and so are escaped ones */
  { L"http://h/a b/c d<e>?f g", ICU_ESCAPE,
    { L"http", L"", L"", L"h", L"/a b/c%20d%3Ce%3E", L"?f%20g" } },
};

/* Fills |uc| with a buffer of |size[k]| WCHARs for every component. */
static void proto_setup(URL_COMPONENTS *uc, WCHAR *bufs[NCOMP], const DWORD size[NCOMP],
                        WCHAR **strp[NCOMP], DWORD *lenp[NCOMP])
{
  memset(uc, 0, sizeof(*uc));
  uc->dwStructSize = sizeof(*uc);
  uc->nScheme = SENTINEL_SCHEME;
  uc->nPort = SENTINEL_PORT;
  strp[C_SCHEME] = &uc->lpszScheme;
  lenp[C_SCHEME] = &uc->dwSchemeLength;
  strp[C_USER] = &uc->lpszUserName;
  lenp[C_USER] = &uc->dwUserNameLength;
  strp[C_PASS] = &uc->lpszPassword;
  lenp[C_PASS] = &uc->dwPasswordLength;
  strp[C_HOST] = &uc->lpszHostName;
  lenp[C_HOST] = &uc->dwHostNameLength;
  strp[C_PATH] = &uc->lpszUrlPath;
  lenp[C_PATH] = &uc->dwUrlPathLength;
  strp[C_EXTRA] = &uc->lpszExtraInfo;
  lenp[C_EXTRA] = &uc->dwExtraInfoLength;
  for (int k = 0; k < NCOMP; k++) {
    bufs[k] = wbuf(size[k]);
    *strp[k] = bufs[k];
    *lenp[k] = size[k];
  }
}

/* For every component on its own, every buffer size from 1 to one more
 * than needed: a buffer that cannot hold the value and its NUL gives
 * ERROR_INSUFFICIENT_BUFFER with the size needed (NUL included) and stays
 * untouched, while every other component, nScheme and nPort are still
 * filled; a retry with the size reported succeeds. Then all components too
 * small at once: each reports its own size. */
static void test_crack_buffer_protocol(void **state)
{
  (void)state;
  table_start();
  for (size_t i = 0; i < sizeof(proto_cases) / sizeof(proto_cases[0]); i++) {
    const struct proto_case *pc = &proto_cases[i];
    int line = (int)i; /* index into proto_cases */
    URL_COMPONENTS uc;
    WCHAR *bufs[NCOMP];
    WCHAR **strp[NCOMP];
    DWORD *lenp[NCOMP];
    DWORD size[NCOMP], need[NCOMP];

    for (int k = 0; k < NCOMP; k++)
      need[k] = (DWORD)wcslen(pc->want[k]) + 1;

    for (int k = 0; k < NCOMP; k++) {
      for (DWORD sz = 1; sz <= need[k] + 1; sz++) {
        for (int j = 0; j < NCOMP; j++)
          size[j] = j == k ? sz : 64;
        proto_setup(&uc, bufs, size, strp, lenp);
        SetLastError(0xdeadbeef);
        BOOL ret = WinHttpCrackUrl(pc->url, 0, pc->flags, &uc);
        DWORD err = GetLastError();
        bool short_buf = sz < need[k];
        CHECK(line, ret == !short_buf);
        CHECK(line, err == (short_buf ? ERROR_INSUFFICIENT_BUFFER : ERROR_SUCCESS));
        CHECK(line, uc.nScheme == (pc->url[4] == 's' ? HTTPS : HTTP));
        CHECK(line, uc.nPort != SENTINEL_PORT);
        for (int j = 0; j < NCOMP; j++) {
          CHECK(line, *strp[j] == bufs[j]);
          if (j == k && short_buf) {
            CHECK(line, *lenp[j] == need[j]);
            for (DWORD q = 0; q < sz; q++)
              CHECK(line, bufs[j][q] == SENTINEL_WCHAR);
          } else {
            CHECK(line, *lenp[j] == need[j] - 1);
            CHECK(line, wcscmp(bufs[j], pc->want[j]) == 0);
            /* nothing is written past the NUL */
            for (DWORD q = need[j]; q < size[j]; q++)
              CHECK(line, bufs[j][q] == SENTINEL_WCHAR);
          }
        }
        if (short_buf) {
          /* The retry with the size reported. The lengths are in/out, so
           * the caller sets the other buffers' sizes again. */
          DWORD again = *lenp[k];
          wh_free(bufs[k]);
          bufs[k] = wbuf(again);
          *strp[k] = bufs[k];
          for (int j = 0; j < NCOMP; j++)
            *lenp[j] = j == k ? again : size[j];
          SetLastError(0xdeadbeef);
          CHECK(line, WinHttpCrackUrl(pc->url, 0, pc->flags, &uc));
          CHECK(line, GetLastError() == ERROR_SUCCESS);
          CHECK(line, *lenp[k] == again - 1 && wcscmp(bufs[k], pc->want[k]) == 0);
        }
        for (int j = 0; j < NCOMP; j++)
          wh_free(bufs[j]);
      }
    }

    /* Every buffer exactly one short: every component reports its size. */
    for (int k = 0; k < NCOMP; k++)
      size[k] = need[k] - 1 ? need[k] - 1 : 1;
    proto_setup(&uc, bufs, size, strp, lenp);
    SetLastError(0xdeadbeef);
    CHECK(line, !WinHttpCrackUrl(pc->url, 0, pc->flags, &uc));
    CHECK(line, GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    for (int k = 0; k < NCOMP; k++) {
      if (need[k] == 1) {
        /* an empty value fits a buffer of one */
        CHECK(line, *lenp[k] == 0 && bufs[k][0] == 0);
      } else {
        CHECK(line, *lenp[k] == need[k] && bufs[k][0] == SENTINEL_WCHAR);
      }
    }
    for (int k = 0; k < NCOMP; k++)
      wh_free(bufs[k]);
  }
  table_done("crack buffer protocol");
}

/* WinHttpCreateUrl's side of the protocol, for every length from 0 to one
 * more than needed, with a buffer and with NULL: too short is
 * ERROR_INSUFFICIENT_BUFFER with the size needed (NUL included) and the
 * buffer untouched; long enough writes the URL and its NUL, nothing more,
 * and sets the length without the NUL; NULL with a length long enough is
 * ERROR_INVALID_PARAMETER with the length untouched. */
static void test_create_buffer_protocol(void **state)
{
  static const struct {
    const WCHAR *host, *user, *pass, *path, *extra;
    INTERNET_PORT port;
    DWORD flags;
    const WCHAR *url;
  } cases[] = {
    { L"www.winehq.org", L"username", L"password", L"/site/about", L"?query", 80, 0, url1 },
    { L"h", NULL, NULL, L"p q", L"#r s", 8080, ICU_ESCAPE, L"http://h:8080/p%20q%23r%20s" },
    { L"h", NULL, NULL, NULL, NULL, 80, ICU_INCLUDE_DEFAULT_PORT, L"http://h:80" },
    { NULL, NULL, NULL, NULL, NULL, 80, 0, L"http://" },
  };
  (void)state;
  table_start();
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int line = (int)i; /* index into cases */
    URL_COMPONENTS uc;
    const DWORD need = (DWORD)wcslen(cases[i].url) + 1;

    memset(&uc, 0, sizeof(uc));
    uc.dwStructSize = sizeof(uc);
    uc.lpszHostName = (WCHAR *)cases[i].host;
    uc.lpszUserName = (WCHAR *)cases[i].user;
    uc.lpszPassword = (WCHAR *)cases[i].pass;
    uc.lpszUrlPath = (WCHAR *)cases[i].path;
    uc.lpszExtraInfo = (WCHAR *)cases[i].extra;
    uc.nPort = cases[i].port;
    for (DWORD sz = 0; sz <= need + 1; sz++) {
      WCHAR *buf = wbuf(sz);
      DWORD len = sz;
      SetLastError(0xdeadbeef);
      BOOL ret = WinHttpCreateUrl(&uc, cases[i].flags, buf, &len);
      DWORD err = GetLastError();
      if (sz < need) {
        CHECK(line, !ret && err == ERROR_INSUFFICIENT_BUFFER && len == need);
        for (DWORD q = 0; q < sz; q++)
          CHECK(line, buf[q] == SENTINEL_WCHAR);
      } else {
        CHECK(line, ret && err == ERROR_SUCCESS && len == need - 1);
        CHECK(line, wcscmp(buf, cases[i].url) == 0);
        for (DWORD q = need; q < sz; q++)
          CHECK(line, buf[q] == SENTINEL_WCHAR);
      }
      wh_free(buf);

      len = sz;
      SetLastError(0xdeadbeef);
      ret = WinHttpCreateUrl(&uc, cases[i].flags, NULL, &len);
      err = GetLastError();
      CHECK(line, !ret);
      if (sz < need)
        CHECK(line, err == ERROR_INSUFFICIENT_BUFFER && len == need);
      else
        CHECK(line, err == ERROR_INVALID_PARAMETER && len == sz);
    }
  }
  table_done("create buffer protocol");
}

/* With ICU_INCLUDE_DEFAULT_PORT every URL of the round-trip table is built
 * with its port spelled out right after the host, and still cracks to the
 * same components. */
static void test_round_trip_default_port(void **state)
{
  (void)state;
  table_start();
  for (size_t i = 0; i < sizeof(rt_cases) / sizeof(rt_cases[0]); i++) {
    int line = (int)i; /* index into rt_cases */
    struct cracked a, b;
    URL_COMPONENTS p;

    crack_all(rt_cases[i].url, 0, &a);
    WCHAR *out = create_from(&a, ICU_INCLUDE_DEFAULT_PORT);
    crack_all(out, 0, &b);
    same_cracked(line, &a, &b);
    CHECK(line, wcscmp(a.extra, b.extra) == 0);

    memset(&p, 0, sizeof(p));
    p.dwStructSize = sizeof(p);
    p.dwHostNameLength = p.dwUrlPathLength = 1;
    CHECK(line, WinHttpCrackUrl(out, 0, 0, &p));
    WCHAR port[8];
    int n = swprintf(port, 8, L":%u", (unsigned)a.uc.nPort);
    CHECK(line, n > 0 && wcsncmp(p.lpszHostName + p.dwHostNameLength, port, (size_t)n) == 0);
    CHECK(line, p.lpszHostName + p.dwHostNameLength + n == p.lpszUrlPath);
    wh_free(out);
  }
  table_done("round trip with default port");
}

/* wh_url_split directly, for the engine's use. */
static void test_split(void **state)
{
  struct wh_url_parts p;
  static const WCHAR u[] = L"https://u:p@[::1]:8443/a?b#c";
  (void)state;

  assert_int_equal(wh_url_split(u, wcslen(u), true, &p), ERROR_SUCCESS);
  assert_int_equal(p.scheme, INTERNET_SCHEME_HTTPS);
  assert_int_equal(p.port, 8443);
  assert_true(p.has_user && p.has_password);
  assert_int_equal(p.user.off, 8);
  assert_int_equal(p.user.len, 1);
  assert_int_equal(p.password.off, 10);
  assert_int_equal(p.host.off, 12);
  assert_int_equal(p.host.len, 5);
  assert_int_equal(p.path.off, 22);
  assert_int_equal(p.path.len, 2);
  assert_int_equal(p.extra.off, 24);
  assert_int_equal(p.extra.len, 4);

  assert_int_equal(wh_url_split(u, wcslen(u), false, &p), ERROR_SUCCESS);
  assert_int_equal(p.path.len, 6);
  assert_int_equal(p.extra.off, wcslen(u));
  assert_int_equal(p.extra.len, 0);

  memset(&p, 0x5a, sizeof(p));
  struct wh_url_parts copy = p;
  assert_int_equal(wh_url_split(L"gopher://x/", 11, true, &p), ERROR_WINHTTP_UNRECOGNIZED_SCHEME);
  assert_int_equal(wh_url_split(L"http://", 7, true, &p), ERROR_WINHTTP_INVALID_URL);
  assert_int_equal(wh_url_split(L"", 0, true, &p), ERROR_WINHTTP_UNRECOGNIZED_SCHEME);
  assert_memory_equal(&p, &copy, sizeof(p));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crack_table),
    cmocka_unit_test(test_crack_bad_arguments),
    cmocka_unit_test(test_crack_exact_length_input),
    cmocka_unit_test(test_create_table),
    cmocka_unit_test(test_create_bad_arguments),
    cmocka_unit_test(test_create_from_pointer_mode),
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_round_trip_escape),
    cmocka_unit_test(test_round_trip_default_port),
    cmocka_unit_test(test_crack_buffer_protocol),
    cmocka_unit_test(test_create_buffer_protocol),
    cmocka_unit_test(test_split),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
