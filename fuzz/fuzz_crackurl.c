/* libFuzzer target for WinHttpCrackUrl (and WinHttpCreateUrl on its
 * results).
 *
 * Input layout (all optional; missing bytes read as 0):
 *   byte 0      bit 0 ICU_DECODE, bit 1 ICU_ESCAPE, bit 2 ICU_REJECT_USERPWD,
 *               bit 3 pass an explicit dwUrlLength (else NUL-terminated),
 *               bit 4 also set unknown flag bits;
 *   bytes 1-2   two bits per component (scheme, user, password, host, path,
 *               extra): 0 not wanted, 1 pointer mode, 2 small buffer,
 *               3 large buffer;
 *   bytes 3-8   one size byte per component (small: 1..32, or a buffer
 *               with length 0 for 0xFF; large: 256..511);
 *   the rest    the URL: a byte below 0xFE is that WCHAR (NUL included),
 *               0xFE + 4 bytes is any 32-bit wchar_t value, 0xFF + 2 bytes
 *               a UTF-16 code unit.
 *
 * The URL sits at the very end of an exact-size heap block (no terminator in
 * explicit-length mode) and every caller buffer is an exact-size block, so
 * AddressSanitizer sees any read or write past them. Invariants checked:
 * the result and last error agree and are documented errors; a buffer with
 * length 0 is ERROR_INVALID_PARAMETER whatever the URL; a failure
 * other than ERROR_INSUFFICIENT_BUFFER changes nothing; pointers stay inside
 * the URL; no component of a successful crack holds a NUL (one in the URL
 * is refused, trailing ones aside; ICU_DECODE may only produce one from a
 * "%00" outside the host); buffers hold a NUL-terminated value of the
 * reported length and nothing is written past it; the result agrees with a plain pointer-mode
 * crack of the same URL; and a URL cracked into buffers, built again with
 * WinHttpCreateUrl, cracks to the same components.
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


#define SENTINEL ((WCHAR)0x5a5a)
#define NCOMP 6

struct comps {
  URL_COMPONENTS uc;
  WCHAR **str[NCOMP];
  DWORD *len[NCOMP];
};

static void comps_init(struct comps *c)
{
  memset(&c->uc, 0, sizeof(c->uc));
  c->uc.dwStructSize = sizeof(c->uc);
  c->str[0] = &c->uc.lpszScheme;
  c->len[0] = &c->uc.dwSchemeLength;
  c->str[1] = &c->uc.lpszUserName;
  c->len[1] = &c->uc.dwUserNameLength;
  c->str[2] = &c->uc.lpszPassword;
  c->len[2] = &c->uc.dwPasswordLength;
  c->str[3] = &c->uc.lpszHostName;
  c->len[3] = &c->uc.dwHostNameLength;
  c->str[4] = &c->uc.lpszUrlPath;
  c->len[4] = &c->uc.dwUrlPathLength;
  c->str[5] = &c->uc.lpszExtraInfo;
  c->len[5] = &c->uc.dwExtraInfoLength;
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


static bool allowed_error(DWORD err)
{
  return err == ERROR_SUCCESS || err == ERROR_INSUFFICIENT_BUFFER || err == ERROR_INVALID_PARAMETER ||
         err == ERROR_WINHTTP_INVALID_URL || err == ERROR_WINHTTP_UNRECOGNIZED_SCHEME ||
         err == ERROR_NOT_ENOUGH_MEMORY;
}

static bool in_url(const WCHAR *p, DWORD len, const WCHAR *url, size_t n)
{
  return p >= url && p <= url + n && (size_t)(url + n - p) >= len;
}

/* A crack with every component in pointer mode and no flags: the reference
 * the other results are compared with. */
static DWORD crack_pointers(const WCHAR *url, DWORD url_len, size_t n, struct comps *r)
{
  comps_init(r);
  for (int k = 0; k < NCOMP; k++)
    *r->len[k] = ~0u;
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpCrackUrl(url, url_len, 0, &r->uc);
  DWORD err = GetLastError();
  FUZZ_ASSERT(ok == (err == ERROR_SUCCESS));
  FUZZ_ASSERT(err == ERROR_SUCCESS || err == ERROR_WINHTTP_INVALID_URL ||
              err == ERROR_WINHTTP_UNRECOGNIZED_SCHEME);
  if (!ok)
    return err;
  const URL_COMPONENTS *u = &r->uc;
  FUZZ_ASSERT(u->nScheme == INTERNET_SCHEME_HTTP || u->nScheme == INTERNET_SCHEME_HTTPS);
  FUZZ_ASSERT(u->lpszScheme == url);
  FUZZ_ASSERT(u->dwSchemeLength == (u->nScheme == INTERNET_SCHEME_HTTP ? 4u : 5u));
  FUZZ_ASSERT(u->lpszHostName && u->dwHostNameLength > 0);
  for (int k = 0; k < NCOMP; k++) {
    if (*r->str[k]) {
      FUZZ_ASSERT(in_url(*r->str[k], *r->len[k], url, n));
      FUZZ_ASSERT(wmemchr(*r->str[k], 0, *r->len[k]) == NULL);
    } else {
      FUZZ_ASSERT((k == 1 || k == 2) && *r->len[k] == 0);
    }
  }
  FUZZ_ASSERT(!u->lpszPassword || u->lpszUserName);
  /* The pieces tile the end of the URL: path, then extra, then the end. */
  FUZZ_ASSERT(u->lpszHostName + u->dwHostNameLength <= u->lpszUrlPath);
  FUZZ_ASSERT(u->lpszUrlPath + u->dwUrlPathLength == u->lpszExtraInfo);
  FUZZ_ASSERT(u->lpszExtraInfo + u->dwExtraInfoLength == url + n);
  FUZZ_ASSERT(u->dwUrlPathLength == 0 || u->lpszUrlPath[0] == '/');
  FUZZ_ASSERT(u->dwExtraInfoLength == 0 || u->lpszExtraInfo[0] == '?' || u->lpszExtraInfo[0] == '#');
  return ERROR_SUCCESS;
}

/* ICU_DECODE refuses a host that would decode to a NUL. */
static bool host_has_escaped_nul(const URL_COMPONENTS *u)
{
  for (DWORD i = 0; i + 2 < u->dwHostNameLength; i++)
    if (u->lpszHostName[i] == '%' && u->lpszHostName[i + 1] == '0' &&
        u->lpszHostName[i + 2] == '0')
      return true;
  return false;
}

/* Builds the URL back from buffers copied from the reference, cracks it and
 * compares. The only normalisations are the default port being dropped
 * and an empty path becoming "/". */
static void check_round_trip(const struct comps *ref)
{
  const URL_COMPONENTS *r = &ref->uc;
  URL_COMPONENTS uc;
  WCHAR *copy[NCOMP] = { NULL };
  DWORD len = 0;

  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  for (int k = 0; k < NCOMP; k++) {
    if (!*ref->str[k])
      continue;
    copy[k] = wnew((size_t)*ref->len[k] + 1);
    wmemcpy(copy[k], *ref->str[k], *ref->len[k]);
    copy[k][*ref->len[k]] = 0;
  }
  uc.lpszScheme = copy[0];
  uc.dwSchemeLength = r->dwSchemeLength;
  uc.lpszUserName = copy[1];
  uc.dwUserNameLength = r->dwUserNameLength;
  uc.lpszPassword = copy[2];
  uc.dwPasswordLength = r->dwPasswordLength;
  uc.lpszHostName = copy[3];
  uc.dwHostNameLength = r->dwHostNameLength;
  uc.nPort = r->nPort;
  uc.lpszUrlPath = copy[4];
  uc.dwUrlPathLength = r->dwUrlPathLength;
  uc.lpszExtraInfo = copy[5];
  uc.dwExtraInfoLength = r->dwExtraInfoLength;

  SetLastError(0xdeadbeef);
  FUZZ_ASSERT(!WinHttpCreateUrl(&uc, 0, NULL, &len));
  FUZZ_ASSERT(GetLastError() == ERROR_INSUFFICIENT_BUFFER);
  FUZZ_ASSERT(len >= 4);
  WCHAR *out = wnew(len);
  DWORD size = len;
  FUZZ_ASSERT(WinHttpCreateUrl(&uc, 0, out, &len));
  FUZZ_ASSERT(GetLastError() == ERROR_SUCCESS);
  FUZZ_ASSERT(len == size - 1 && out[len] == 0);

  struct comps back;
  FUZZ_ASSERT(crack_pointers(out, len, len, &back) == ERROR_SUCCESS);
  const URL_COMPONENTS *b = &back.uc;
  FUZZ_ASSERT(b->nScheme == r->nScheme);
  FUZZ_ASSERT(b->nPort == r->nPort);
  for (int k = 0; k < NCOMP; k++) {
    const WCHAR *want = *ref->str[k];
    DWORD want_len = *ref->len[k];
    if (k == 4 && want_len == 0) {
      want = L"/";
      want_len = 1;
    }
    FUZZ_ASSERT((*back.str[k] == NULL) == (want == NULL));
    FUZZ_ASSERT(*back.len[k] == want_len);
    if (want_len)
      FUZZ_ASSERT(wmemcmp(*back.str[k], want, want_len) == 0);
  }
  wh_free(out);
  for (int k = 0; k < NCOMP; k++)
    wh_free(copy[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t hdr[9] = { 0 };
  size_t hlen = size < sizeof(hdr) ? size : sizeof(hdr);
  memcpy(hdr, data, hlen);
  const uint8_t *text = data + hlen;
  size_t tlen = size - hlen;

  DWORD flags = 0;
  if (hdr[0] & 1)
    flags |= ICU_DECODE;
  if (hdr[0] & 2)
    flags |= ICU_ESCAPE;
  if (hdr[0] & 4)
    flags |= ICU_REJECT_USERPWD;
  if (hdr[0] & 16)
    flags |= 0x00000f00u | ICU_ESCAPE_AUTHORITY;

  /* The URL, at the end of its block. */
  size_t n = fuzz_decode_wide(text, tlen, NULL);
  bool explicit_len = (hdr[0] & 8) && n > 0;
  WCHAR *block = wnew(explicit_len ? n : n + 1);
  fuzz_decode_wide(text, tlen, block);
  if (!explicit_len)
    block[n] = 0;
  const WCHAR *url = block;
  /* What the function will see: up to the first NUL without a length;
   * with one, everything but the NULs at its end. */
  size_t seen = n;
  if (!explicit_len) {
    seen = 0;
    while (url[seen])
      seen++;
  } else {
    while (seen > 0 && url[seen - 1] == 0)
      seen--;
  }
  DWORD url_len = explicit_len ? (DWORD)n : 0;

  /* The reference crack. */
  struct comps ref;
  DWORD ref_err = crack_pointers(url, url_len, seen, &ref);
  if (ref_err == ERROR_SUCCESS)
    check_round_trip(&ref);

  /* The crack under test. */
  struct comps c;
  WCHAR *bufs[NCOMP] = { NULL };
  DWORD sizes[NCOMP] = { 0 };
  unsigned modes = (unsigned)hdr[1] | (unsigned)hdr[2] << 8;
  bool arg_error = false;
  comps_init(&c);
  c.uc.nScheme = 0x77;
  c.uc.nPort = 0x4242;
  for (int k = 0; k < NCOMP; k++) {
    unsigned m = (modes >> (2 * k)) & 3;
    uint8_t s = hdr[3 + k];
    if (m == 1) {
      *c.len[k] = s ? s : ~0u;
    } else if (m == 2 && s == 0xff) {
      /* A buffer whose length says 0: an argument error, whatever the URL.
       * The one WCHAR behind it must stay untouched. */
      sizes[k] = 1;
      bufs[k] = wnew(1);
      *c.str[k] = bufs[k];
      *c.len[k] = 0;
      arg_error = true;
    } else if (m >= 2) {
      sizes[k] = m == 2 ? (DWORD)(s % 32 + 1) : (DWORD)(256 + s);
      bufs[k] = wnew(sizes[k]);
      *c.str[k] = bufs[k];
      *c.len[k] = sizes[k];
    }
  }
  URL_COMPONENTS before = c.uc;
  bool wanted[NCOMP];
  for (int k = 0; k < NCOMP; k++)
    wanted[k] = *c.str[k] || *c.len[k];

  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpCrackUrl(url, url_len, flags, &c.uc);
  DWORD err = GetLastError();
  FUZZ_ASSERT(ok == (err == ERROR_SUCCESS));
  FUZZ_ASSERT(allowed_error(err));
  FUZZ_ASSERT(c.uc.dwStructSize == sizeof(c.uc));
  /* Argument errors come before anything the URL could cause. */
  if (arg_error)
    FUZZ_ASSERT(err == ERROR_INVALID_PARAMETER);

  if (err != ERROR_SUCCESS && err != ERROR_INSUFFICIENT_BUFFER) {
    FUZZ_ASSERT(memcmp(&c.uc, &before, sizeof(before)) == 0);
    for (int k = 0; k < NCOMP; k++)
      for (DWORD i = 0; i < sizes[k]; i++)
        FUZZ_ASSERT(bufs[k][i] == SENTINEL);
    /* The URL errors are the reference's; the arguments only add
     * ERROR_INVALID_PARAMETER (a buffer with length 0, pointer mode or a
     * wide character with a transforming flag) and ICU_REJECT_USERPWD's
     * invalid URL. */
    if (ref_err != ERROR_SUCCESS)
      FUZZ_ASSERT(err == ref_err || err == ERROR_INVALID_PARAMETER);
    else if (err == ERROR_WINHTTP_INVALID_URL)
      FUZZ_ASSERT(((flags & ICU_REJECT_USERPWD) && ref.uc.lpszUserName) ||
                  ((flags & (ICU_DECODE | ICU_ESCAPE)) == ICU_DECODE &&
                   host_has_escaped_nul(&ref.uc)));
    else
      FUZZ_ASSERT(err == ERROR_INVALID_PARAMETER && (arg_error || (flags & (ICU_DECODE | ICU_ESCAPE))));
  } else {
    FUZZ_ASSERT(ref_err == ERROR_SUCCESS);
    FUZZ_ASSERT(c.uc.nScheme == ref.uc.nScheme && c.uc.nPort == ref.uc.nPort);
    FUZZ_ASSERT(!(flags & ICU_REJECT_USERPWD) || !ref.uc.lpszUserName);
    bool overflow = false;
    /* Without the extra info wanted, the path keeps the query. */
    DWORD path_len = ref.uc.dwUrlPathLength + (wanted[5] ? 0 : ref.uc.dwExtraInfoLength);
    for (int k = 0; k < NCOMP; k++) {
      WCHAR *p = *c.str[k];
      DWORD l = *c.len[k];
      const WCHAR *rp = *ref.str[k];
      DWORD rl = *ref.len[k];
      if (!wanted[k]) {
        FUZZ_ASSERT(!p && !l); /* not wanted */
      } else if (!bufs[k]) {
        /* Pointer mode, only without a transforming flag. */
        FUZZ_ASSERT(!(flags & (ICU_DECODE | ICU_ESCAPE)));
        FUZZ_ASSERT(p == rp);
        FUZZ_ASSERT(l == (k == 4 ? path_len : rl));
        if (p)
          FUZZ_ASSERT(in_url(p, l, url, seen));
      } else {
        FUZZ_ASSERT(p == bufs[k]);
        if (l >= sizes[k]) {
          /* Too small: the size needed, the buffer untouched. */
          FUZZ_ASSERT(l > sizes[k]);
          for (DWORD i = 0; i < sizes[k]; i++)
            FUZZ_ASSERT(p[i] == SENTINEL);
          overflow = true;
        } else {
          FUZZ_ASSERT(p[l] == 0);
          for (DWORD i = l + 1; i < sizes[k]; i++)
            FUZZ_ASSERT(p[i] == SENTINEL);
          if (!(flags & (ICU_DECODE | ICU_ESCAPE)))
            FUZZ_ASSERT(l == (k == 4 ? path_len : rl) && (!l || wmemcmp(p, rp, l) == 0));
          if ((flags & ICU_DECODE) && !(flags & ICU_ESCAPE) && k != 4)
            FUZZ_ASSERT(l <= rl);
          if ((flags & ICU_ESCAPE) && k != 4 && k != 5)
            FUZZ_ASSERT(l == rl && (!l || wmemcmp(p, rp, l) == 0));
        }
      }
    }
    FUZZ_ASSERT(overflow == (err == ERROR_INSUFFICIENT_BUFFER));
  }

  for (int k = 0; k < NCOMP; k++)
    wh_free(bufs[k]);
  wh_free(block);
  return 0;
}
