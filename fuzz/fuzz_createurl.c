/* libFuzzer target for WinHttpCreateUrl (and WinHttpCrackUrl on its
 * results).
 *
 * Input layout (all optional; missing bytes read as 0):
 *   byte 0      bit 0 ICU_ESCAPE, bit 1 ICU_REJECT_USERPWD,
 *               bit 2 ICU_INCLUDE_DEFAULT_PORT, bit 3 also set flags that
 *               mean nothing to WinHttpCreateUrl (ICU_DECODE, unknown bits),
 *               bit 4 a wrong dwStructSize;
 *   byte 1      nScheme, as a signed byte (0, http, https, ftp, -1, ...);
 *   bytes 2-3   nPort, little-endian;
 *   byte 4      how the output buffer is passed, after a (NULL, 0) probe:
 *               0 NULL with *len = byte 5 * 4 (too small or large enough),
 *               1 a buffer of byte 5 WCHARs, 2 the exact size the probe
 *               asked for, 3 one WCHAR less than that;
 *   byte 5      that size;
 *   then, for scheme, user, password, host, path and extra in turn:
 *     a descriptor byte: bits 0-1 0 NULL pointer (the length is the next
 *               byte, so NULL with a non-zero length is covered),
 *               1 NUL-terminated (length 0), 2 explicit length, the string
 *               in an exact-size block with no terminator, 3 explicit
 *               length shorter than the string (by bits 2-7, at least 1);
 *     a byte count n and n bytes of text: a byte below 0xFE is that WCHAR
 *               (NUL included), 0xFE + 4 bytes any 32-bit wchar_t value,
 *               0xFF + 2 bytes a UTF-16 code unit.
 *
 * Every component string and every output buffer is an exact-size heap
 * block, so AddressSanitizer sees any read or write past them. Invariants:
 * the result and last error agree and the error is the one the rules of
 * url.h give, in their order of precedence; on any failure but
 * ERROR_INSUFFICIENT_BUFFER nothing is written, not even the length; the
 * components and their strings are never modified; a probe reports the
 * size needed including the NUL and a retry with exactly that size
 * succeeds, while one WCHAR less fails again with the same size; on
 * success the length is that size - 1, the URL is NUL-terminated there,
 * nothing past the NUL is written, and without NULs in the components the
 * length is wcslen of the output; without ICU_ESCAPE the output is exactly
 * scheme "://" [user [":" password] "@"] host [":" port] ["/"] path extra,
 * with it the escaped tail decodes back to path and extra and holds no
 * character that needs escaping; and when the components form a URL that
 * WinHttpCrackUrl can split unambiguously, cracking the output gives them
 * back (the port as given, an inserted '/', an escaped tail decoded).
 */
#include "fuzz_common.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <winhttp.h>

#include "util/mem.h"

#ifndef ICU_INCLUDE_DEFAULT_PORT
#define ICU_INCLUDE_DEFAULT_PORT 0x00008000
#endif


#define SENTINEL ((WCHAR)0x5a5a)
#define NCOMP 6

enum { SCHEME, USER, PASS, HOST, PATH, EXTRA };

/* One component as the caller passes it, and what it means: |eff| points at
 * the |n| WCHARs the function should use (NULL when the pointer is NULL). */
struct comp {
  WCHAR *block; /* the heap block passed, NULL for a NULL pointer */
  size_t block_len;
  DWORD len; /* the length field passed */
  const WCHAR *eff;
  size_t n;
};

/* A cursor over the input; reads past the end give 0. */
struct in {
  const uint8_t *p;
  size_t n, i;
};

static uint8_t next(struct in *in)
{
  return in->i < in->n ? in->p[in->i++] : 0;
}

static WCHAR *wnew(size_t n)
{
  WCHAR *p = wh_malloc((n ? n : 1) * sizeof(WCHAR));
  if (!p)
    abort();
  for (size_t i = 0; i < n; i++)
    p[i] = SENTINEL;
  return p;
}


static void read_comp(struct in *in, struct comp *c)
{
  uint8_t desc = next(in);
  uint8_t count = next(in);
  size_t avail = in->n - in->i;
  size_t take = count < avail ? count : avail;
  const uint8_t *text = in->p + in->i;
  in->i += take;

  memset(c, 0, sizeof(*c));
  size_t n = fuzz_decode_wide(text, take, NULL);
  switch (desc & 3) {
  case 0:
    /* NULL with whatever length: the component is absent. */
    c->len = count;
    return;
  case 1:
    /* NUL-terminated: the function reads up to the first NUL. */
    c->block_len = n + 1;
    c->block = wnew(c->block_len);
    fuzz_decode_wide(text, take, c->block);
    c->block[n] = 0;
    c->len = 0;
    c->eff = c->block;
    c->n = wcslen(c->block);
    return;
  default:
    break;
  }
  if (n == 0) {
    /* An explicit length of 0 would mean NUL-terminated: pass "" instead. */
    c->block_len = 1;
    c->block = wnew(1);
    c->block[0] = 0;
    c->eff = c->block;
    return;
  }
  c->block_len = n;
  c->block = wnew(n);
  fuzz_decode_wide(text, take, c->block);
  c->eff = c->block;
  c->n = n;
  if ((desc & 3) == 3) {
    size_t cut = (size_t)(desc >> 2);
    c->n = cut < n ? n - cut : 1;
  }
  c->len = (DWORD)c->n;
}

static bool eq_ascii_nocase(const WCHAR *s, size_t n, const char *lit)
{
  size_t i = 0;
  for (; i < n && lit[i]; i++) {
    uint32_t c = (uint32_t)s[i];
    if (c - 'A' < 26u)
      c += 'a' - 'A';
    if (c != (uint32_t)(unsigned char)lit[i])
      return false;
  }
  return i == n && lit[i] == '\0';
}

static bool contains(const WCHAR *s, size_t n, const char *set)
{
  for (size_t i = 0; i < n; i++) {
    for (const char *q = set; *q; q++) {
      if ((uint32_t)s[i] == (uint32_t)(unsigned char)*q)
        return true;
    }
  }
  return false;
}

/* A growable WCHAR string for the expected output. */
struct wstr {
  WCHAR *p;
  size_t n, cap;
};

static void wput(struct wstr *s, const WCHAR *src, size_t n)
{
  if (s->n + n + 1 > s->cap) {
    size_t cap = (s->n + n + 1) * 2;
    WCHAR *np = wh_malloc(cap * sizeof(WCHAR));
    if (!np)
      abort();
    if (s->n)
      wmemcpy(np, s->p, s->n);
    wh_free(s->p);
    s->p = np;
    s->cap = cap;
  }
  if (n)
    wmemcpy(s->p + s->n, src, n);
  s->n += n;
  s->p[s->n] = 0;
}

static void wputc(struct wstr *s, WCHAR c)
{
  wput(s, &c, 1);
}

static int hexv(WCHAR c)
{
  uint32_t v = (uint32_t)c;
  if (v - '0' < 10u)
    return (int)(v - '0');
  if (v - 'A' < 6u)
    return (int)(v - 'A' + 10);
  return -1;
}

/* Percent-decodes |n| WCHARs of an ICU_ESCAPE result: every '%' there must
 * start an upper-case %XX (a literal '%' is itself escaped). */
static void unescape(const WCHAR *s, size_t n, struct wstr *out)
{
  for (size_t i = 0; i < n;) {
    if (s[i] == '%') {
      FUZZ_ASSERT(n - i >= 3 && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0);
      wputc(out, (WCHAR)(hexv(s[i + 1]) * 16 + hexv(s[i + 2])));
      i += 3;
    } else {
      /* Nothing that needs escaping is left as it is. */
      uint32_t v = (uint32_t)s[i];
      FUZZ_ASSERT(v > 0x20 && v < 0x7f && !contains(&s[i], 1, "\"#<>[\\]^`{|}~"));
      wputc(out, s[i]);
      i++;
    }
  }
}

/* Cracks |url| (|n| WCHARs, explicit length) into pointers. */
static bool crack_ptr(const WCHAR *url, size_t n, URL_COMPONENTS *uc)
{
  memset(uc, 0, sizeof(*uc));
  uc->dwStructSize = sizeof(*uc);
  uc->dwSchemeLength = uc->dwUserNameLength = uc->dwPasswordLength = ~0u;
  uc->dwHostNameLength = uc->dwUrlPathLength = uc->dwExtraInfoLength = ~0u;
  return WinHttpCrackUrl(url, (DWORD)n, 0, uc) != FALSE;
}

static bool span_eq(const WCHAR *a, size_t an, const WCHAR *b, size_t bn)
{
  return an == bn && (an == 0 || wmemcmp(a, b, an) == 0);
}

/* The components form a URL WinHttpCrackUrl splits back into them: an
 * http(s) scheme, a host with no delimiter of its own (or an IPv6 literal),
 * a user name without ':' '@' '/', a password without '@' '/', a path
 * without '?' '#', an extra info that is empty or starts with '?' or '#',
 * and no extra info glued to the host without a path; and no NUL where it
 * would stay one (WinHttpCrackUrl refuses a URL holding a NUL, which
 * ICU_ESCAPE turns into %00 only in the path and extra info). */
static bool has_nul(const struct comp *c)
{
  return c->eff && c->n && wmemchr(c->eff, 0, c->n) != NULL;
}

static bool should_round_trip(const struct comp *c, bool escape)
{
  const struct comp *h = &c[HOST];
  if (!h->eff || h->n == 0)
    return false;
  if (has_nul(&c[USER]) || has_nul(&c[PASS]) || has_nul(h) ||
      (!escape && (has_nul(&c[PATH]) || has_nul(&c[EXTRA]))))
    return false;
  if (contains(h->eff, h->n, "/@"))
    return false;
  if (h->eff[0] == '[') {
    if (h->n < 2 || h->eff[h->n - 1] != ']' || contains(h->eff + 1, h->n - 2, "]"))
      return false;
  } else if (contains(h->eff, h->n, ":[]")) {
    return false;
  }
  if (c[USER].eff && contains(c[USER].eff, c[USER].n, ":@/"))
    return false;
  if (c[PASS].eff && contains(c[PASS].eff, c[PASS].n, "@/"))
    return false;
  if (!c[PATH].eff && c[EXTRA].eff && c[EXTRA].n)
    return false;
  /* With ICU_ESCAPE, '#' becomes %23 and only '?' splits; the tail is then
   * compared as a whole, so only the authority matters. */
  if (escape)
    return true;
  if (c[PATH].eff && contains(c[PATH].eff, c[PATH].n, "?#"))
    return false;
  if (c[EXTRA].eff && c[EXTRA].n && c[EXTRA].eff[0] != '?' && c[EXTRA].eff[0] != '#')
    return false;
  return true;
}

/* Probes, calls in the mode the input asks for, retries, and checks the
 * result against the expected error |want_err| and output. */
static void check_create(URL_COMPONENTS *uc, const URL_COMPONENTS *before, DWORD flags,
                         const struct comp *c, INTERNET_SCHEME num, INTERNET_PORT port,
                         DWORD want_err, uint8_t out_mode, uint8_t out_size)
{
  bool escape = (flags & ICU_ESCAPE) != 0;

  /* The probe. */
  DWORD len = 0;
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpCreateUrl(uc, flags, NULL, &len);
  DWORD err = GetLastError();
  FUZZ_ASSERT(!ok);
  FUZZ_ASSERT(memcmp(uc, before, sizeof(*uc)) == 0);
  if (want_err != ERROR_SUCCESS) {
    FUZZ_ASSERT(err == want_err);
    FUZZ_ASSERT(len == 0);
    return;
  }
  FUZZ_ASSERT(err == ERROR_INSUFFICIENT_BUFFER);
  const DWORD need = len; /* including the NUL */
  FUZZ_ASSERT(need >= 4);

  /* The call under test, in the mode the input asks for. */
  WCHAR *buf = NULL;
  DWORD bufsize;
  switch (out_mode) {
  case 0:
    bufsize = (DWORD)out_size * 4;
    break;
  case 1:
    bufsize = out_size;
    break;
  case 2:
    bufsize = need;
    break;
  default:
    bufsize = need - 1;
    break;
  }
  if (out_mode != 0)
    buf = wnew(bufsize);
  len = bufsize;
  SetLastError(0xdeadbeef);
  ok = WinHttpCreateUrl(uc, flags, buf, &len);
  err = GetLastError();
  FUZZ_ASSERT(ok == (err == ERROR_SUCCESS));
  FUZZ_ASSERT(memcmp(uc, before, sizeof(*uc)) == 0);
  if (bufsize < need) {
    /* Too small, with or without a buffer: the size again, nothing
     * written. */
    FUZZ_ASSERT(err == ERROR_INSUFFICIENT_BUFFER && len == need);
    for (DWORD i = 0; buf && i < bufsize; i++)
      FUZZ_ASSERT(buf[i] == SENTINEL);
    /* The retry with the size asked for succeeds. */
    wh_free(buf);
    bufsize = len;
    buf = wnew(bufsize);
    SetLastError(0xdeadbeef);
    ok = WinHttpCreateUrl(uc, flags, buf, &len);
    err = GetLastError();
  } else if (!buf) {
    /* Large enough but NULL: rejected, the length untouched. */
    FUZZ_ASSERT(err == ERROR_INVALID_PARAMETER && len == bufsize);
    bufsize = need;
    buf = wnew(bufsize);
    len = bufsize;
    SetLastError(0xdeadbeef);
    ok = WinHttpCreateUrl(uc, flags, buf, &len);
    err = GetLastError();
  }
  FUZZ_ASSERT(ok && err == ERROR_SUCCESS);
  FUZZ_ASSERT(len == need - 1 && buf[len] == 0);
  for (DWORD i = need; i < bufsize; i++)
    FUZZ_ASSERT(buf[i] == SENTINEL);
  bool has_nul = false;
  for (int k = 0; k < NCOMP; k++) {
    for (size_t i = 0; c[k].eff && i < c[k].n; i++)
      if (c[k].eff[i] == 0)
        has_nul = true;
  }
  if (!has_nul)
    FUZZ_ASSERT(wcslen(buf) == len);

  /* The expected head: scheme "://" [user [":" password] "@"] host
   * [":" port] ["/"]. */
  struct wstr want = { NULL, 0, 0 };
  static const WCHAR http[] = L"http", https[] = L"https";
  if (c[SCHEME].eff)
    wput(&want, c[SCHEME].eff, c[SCHEME].n);
  else
    wput(&want, num == INTERNET_SCHEME_HTTPS ? https : http, num == INTERNET_SCHEME_HTTPS ? 5 : 4);
  wput(&want, L"://", 3);
  if (c[USER].eff) {
    wput(&want, c[USER].eff, c[USER].n);
    if (c[PASS].eff) {
      wputc(&want, ':');
      wput(&want, c[PASS].eff, c[PASS].n);
    }
    wputc(&want, '@');
  }
  bool slash = false;
  if (c[HOST].eff) {
    wput(&want, c[HOST].eff, c[HOST].n);
    INTERNET_PORT def = num == INTERNET_SCHEME_HTTPS ? 443 : 80;
    if ((flags & ICU_INCLUDE_DEFAULT_PORT) || num == 0 || port != def) {
      WCHAR digits[8];
      int nd = swprintf(digits, 8, L":%u", (unsigned)port);
      FUZZ_ASSERT(nd > 0);
      wput(&want, digits, (size_t)nd);
    }
    slash = c[PATH].eff && (c[PATH].n == 0 || c[PATH].eff[0] != '/');
    if (slash)
      wputc(&want, '/');
  }
  size_t head = want.n;
  /* The tail: path then extra, as given. */
  if (c[PATH].eff)
    wput(&want, c[PATH].eff, c[PATH].n);
  if (c[EXTRA].eff)
    wput(&want, c[EXTRA].eff, c[EXTRA].n);
  FUZZ_ASSERT(len >= head && wmemcmp(buf, want.p, head) == 0);
  if (!escape) {
    FUZZ_ASSERT(span_eq(buf, len, want.p, want.n));
  } else {
    struct wstr tail = { NULL, 0, 0 };
    wput(&tail, L"", 0);
    unescape(buf + head, len - head, &tail);
    FUZZ_ASSERT(span_eq(tail.p, tail.n, want.p + head, want.n - head));
    wh_free(tail.p);
  }

  /* Crack the output and compare. */
  if (num != 0 && should_round_trip(c, escape)) {
    URL_COMPONENTS r;
    FUZZ_ASSERT(crack_ptr(buf, len, &r));
    FUZZ_ASSERT(r.nScheme == num && r.nPort == port);
    FUZZ_ASSERT(span_eq(r.lpszScheme, r.dwSchemeLength, want.p, c[SCHEME].eff ? c[SCHEME].n : (num == INTERNET_SCHEME_HTTPS ? 5u : 4u)));
    FUZZ_ASSERT((r.lpszUserName != NULL) == (c[USER].eff != NULL));
    if (c[USER].eff)
      FUZZ_ASSERT(span_eq(r.lpszUserName, r.dwUserNameLength, c[USER].eff, c[USER].n));
    FUZZ_ASSERT((r.lpszPassword != NULL) == (c[PASS].eff != NULL));
    if (c[PASS].eff)
      FUZZ_ASSERT(span_eq(r.lpszPassword, r.dwPasswordLength, c[PASS].eff, c[PASS].n));
    FUZZ_ASSERT(span_eq(r.lpszHostName, r.dwHostNameLength, c[HOST].eff, c[HOST].n));
    /* The path and extra info: together they are the escaped tail; apart
     * they are what was given, with the '/' inserted. */
    FUZZ_ASSERT(r.lpszUrlPath == buf + head - (slash ? 1 : 0));
    FUZZ_ASSERT(r.dwUrlPathLength + r.dwExtraInfoLength == len - (head - (slash ? 1 : 0)));
    if (!escape) {
      size_t pn = c[PATH].eff ? c[PATH].n + (slash ? 1 : 0) : 0;
      FUZZ_ASSERT(r.dwUrlPathLength == pn);
      FUZZ_ASSERT(span_eq(r.lpszExtraInfo, r.dwExtraInfoLength, c[EXTRA].eff ? c[EXTRA].eff : L"",
                          c[EXTRA].eff ? c[EXTRA].n : 0));
    }
  }
  wh_free(want.p);
  wh_free(buf);

}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct in in = { data, size, 0 };
  uint8_t f = next(&in);
  int8_t nscheme = (int8_t)next(&in);
  uint8_t port_lo = next(&in);
  uint8_t port_hi = next(&in);
  INTERNET_PORT port = (INTERNET_PORT)(port_lo | port_hi << 8);
  uint8_t out_mode = next(&in) & 3;
  uint8_t out_size = next(&in);

  DWORD flags = 0;
  if (f & 1)
    flags |= ICU_ESCAPE;
  if (f & 2)
    flags |= ICU_REJECT_USERPWD;
  if (f & 4)
    flags |= ICU_INCLUDE_DEFAULT_PORT;
  if (f & 8)
    flags |= ICU_DECODE | ICU_ESCAPE_AUTHORITY | 0x00000f00u;

  struct comp c[NCOMP];
  for (int k = 0; k < NCOMP; k++)
    read_comp(&in, &c[k]);

  URL_COMPONENTS uc;
  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = (f & 16) ? (DWORD)sizeof(uc) - 4 : (DWORD)sizeof(uc);
  uc.nScheme = nscheme;
  uc.nPort = port;
  uc.lpszScheme = c[SCHEME].block;
  uc.dwSchemeLength = c[SCHEME].len;
  uc.lpszUserName = c[USER].block;
  uc.dwUserNameLength = c[USER].len;
  uc.lpszPassword = c[PASS].block;
  uc.dwPasswordLength = c[PASS].len;
  uc.lpszHostName = c[HOST].block;
  uc.dwHostNameLength = c[HOST].len;
  uc.lpszUrlPath = c[PATH].block;
  uc.dwUrlPathLength = c[PATH].len;
  uc.lpszExtraInfo = c[EXTRA].block;
  uc.dwExtraInfoLength = c[EXTRA].len;
  const URL_COMPONENTS before = uc;

  /* Copies of the strings, to see that none is written to. */
  WCHAR *orig[NCOMP] = { NULL };
  for (int k = 0; k < NCOMP; k++) {
    if (c[k].block) {
      orig[k] = wnew(c[k].block_len);
      wmemcpy(orig[k], c[k].block, c[k].block_len);
    }
  }

  /* The error the rules of url.h give, in their order. */
  INTERNET_SCHEME num = 0;
  if (c[SCHEME].eff)
    num = eq_ascii_nocase(c[SCHEME].eff, c[SCHEME].n, "http")    ? INTERNET_SCHEME_HTTP
          : eq_ascii_nocase(c[SCHEME].eff, c[SCHEME].n, "https") ? INTERNET_SCHEME_HTTPS
                                                                  : 0;
  else if (nscheme == 0 || nscheme == INTERNET_SCHEME_HTTP)
    num = INTERNET_SCHEME_HTTP;
  else if (nscheme == INTERNET_SCHEME_HTTPS)
    num = INTERNET_SCHEME_HTTPS;
  bool wide_tail = false;
  for (int k = PATH; k <= EXTRA; k++) {
    for (size_t i = 0; c[k].eff && i < c[k].n; i++)
      if ((uint32_t)c[k].eff[i] > 0xff)
        wide_tail = true;
  }
  DWORD want_err = ERROR_SUCCESS;
  if (f & 16)
    want_err = ERROR_INVALID_PARAMETER;
  else if (!c[USER].eff && c[PASS].eff)
    want_err = ERROR_INVALID_PARAMETER;
  else if ((flags & ICU_REJECT_USERPWD) && (c[USER].eff || c[PASS].eff))
    want_err = ERROR_WINHTTP_INVALID_URL;
  else if (!c[SCHEME].eff && num == 0)
    want_err = ERROR_INVALID_PARAMETER;
  else if ((flags & ICU_ESCAPE) && wide_tail)
    want_err = ERROR_INVALID_PARAMETER;

  check_create(&uc, &before, flags, c, num, port, want_err, out_mode, out_size);

  for (int k = 0; k < NCOMP; k++) {
    if (c[k].block)
      FUZZ_ASSERT(wmemcmp(c[k].block, orig[k], c[k].block_len) == 0);
    wh_free(orig[k]);
    wh_free(c[k].block);
  }
  return 0;
}
