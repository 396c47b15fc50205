/* see url.h
 *
 * Sources of the behaviour, cited as:
 *   "Wine tests": dlls/winhttp/tests/url.c, whose checks pass on Windows
 *     (the todo_wine/broken() variants resolved to modern Windows);
 *   "MS docs": Microsoft's pages for WinHttpCrackUrl, WinHttpCreateUrl and
 *     URL_COMPONENTS (and the SDK header comments on the ICU_* flags).
 * Where neither pins a behaviour, the comment says which choice was made and
 * why; every such choice is listed in docs/COMPAT.md.
 */
#include "policy/url.h"

#include <stdint.h>
#include <string.h>
#include <wchar.h>

/* The SDK defines this flag for WinHttpCreateUrl; older headers lack it. */
#ifndef ICU_INCLUDE_DEFAULT_PORT
#define ICU_INCLUDE_DEFAULT_PORT 0x00008000
#endif

#define DWORD_MAX ((DWORD)-1)

/* WCHAR is wchar_t: signed on x86-64 Linux, unsigned elsewhere. Comparing
 * code units as uint32_t makes negative values "very large" everywhere. */
static inline uint32_t cu(WCHAR c)
{
  return (uint32_t)c;
}

static inline bool is_digit(WCHAR c)
{
  return cu(c) - '0' < 10u;
}

static int hex_value(WCHAR c)
{
  uint32_t v = cu(c);
  if (v - '0' < 10u)
    return (int)(v - '0');
  if (v - 'a' < 6u)
    return (int)(v - 'a' + 10);
  if (v - 'A' < 6u)
    return (int)(v - 'A' + 10);
  return -1;
}

/* ASCII case-insensitive comparison of |len| WCHARs with the lower-case
 * ASCII string |lit|. */
static bool eq_nocase(const WCHAR *s, size_t len, const char *lit)
{
  size_t i = 0;
  for (; i < len; i++) {
    uint32_t c = cu(s[i]);
    if (lit[i] == '\0')
      return false;
    if (c - 'A' < 26u)
      c += 'a' - 'A';
    if (c != (uint32_t)(unsigned char)lit[i])
      return false;
  }
  return lit[i] == '\0';
}

static INTERNET_PORT default_port(INTERNET_SCHEME scheme)
{
  return scheme == INTERNET_SCHEME_HTTPS ? INTERNET_DEFAULT_HTTPS_PORT : INTERNET_DEFAULT_HTTP_PORT;
}

/* The characters ICU_ESCAPE turns into %XX. Wine tests (url7, url18): the
 * controls, DEL, space and  " # % < > [ \ ] ^ ` { | } ~  are escaped while
 *  ! $ & ' ( ) * + , - . / : ; = ? @ _  are kept; MS docs add that non-ASCII
 * characters are escaped. Callers reject values above 0xFF first. */
static bool need_escape(WCHAR c)
{
  uint32_t v = cu(c);
  if (v <= 0x1f || v >= 0x7f)
    return true;
  switch (v) {
  case ' ': case '"': case '#': case '%': case '<': case '>': case '[':
  case '\\': case ']': case '^': case '`': case '{': case '|': case '}':
  case '~':
    return true;
  default:
    return false;
  }
}

/* ---------------------------------------------------------------------------
 * Splitting
 */

/* see url.h; |escape_from| receives where ICU_ESCAPE starts escaping (|cch|
 * when it escapes nothing). With |escape| set, a '#' at or after that point
 * is data, not the start of the extra info: ICU_ESCAPE escapes first (to
 * %23) and cracks afterwards, as Wine does. */
static DWORD split(const WCHAR *url, size_t cch, bool split_extra, bool escape,
                   struct wh_url_parts *out, size_t *escape_from)
{
  struct wh_url_parts p;
  size_t i, colon, auth, auth_end, host_start, host_end;

  memset(&p, 0, sizeof(p));

  /* Wine tests: no ':' at all ("www.winehq.org", "www", "http", "") is
   * ERROR_WINHTTP_UNRECOGNIZED_SCHEME, as is any scheme but http/https (MS
   * docs); the comparison ignores case. */
  for (colon = 0; colon < cch && url[colon] != ':'; colon++)
    ;
  if (colon == cch)
    return ERROR_WINHTTP_UNRECOGNIZED_SCHEME;
  if (eq_nocase(url, colon, "http"))
    p.scheme = INTERNET_SCHEME_HTTP;
  else if (eq_nocase(url, colon, "https"))
    p.scheme = INTERNET_SCHEME_HTTPS;
  else
    return ERROR_WINHTTP_UNRECOGNIZED_SCHEME;
  p.scheme_name.off = 0;
  p.scheme_name.len = colon;

  /* Wine tests: "HTTP:www.winehq.org", "http:/www.winehq.org" and "http://"
   * are ERROR_WINHTTP_INVALID_URL. */
  if (cch - colon < 3 || url[colon + 1] != '/' || url[colon + 2] != '/')
    return ERROR_WINHTTP_INVALID_URL;
  auth = colon + 3;

  /* A NUL can only arrive with an explicit dwUrlLength. No URL holds one
   * (RFC 3986 has no such character), and a component that did would be
   * read differently by a caller that checks it with its length and by
   * one that passes it on as a string: "evil.example\0.good.example"
   * passes a suffix check and then connects to evil.example. So a NUL
   * anywhere after the scheme is ERROR_WINHTTP_INVALID_URL (ours: Wine's
   * tests have no such URL; WinHttpCrackUrl drops trailing NULs first).
   * Before the scheme it is a scheme error, as that check comes first. */
  for (i = auth; i < cch; i++)
    if (url[i] == 0)
      return ERROR_WINHTTP_INVALID_URL;

  /* The authority ends at the first '/' and nowhere else. Wine tests
   * (url_k9, Windows 10 variant): "http://winehq?" has no path and no extra
   * info; MS docs warn that "http://server?Bad=URL" cracks "incorrectly". */
  for (auth_end = auth; auth_end < cch && url[auth_end] != '/'; auth_end++)
    ;

  /* Userinfo: up to the first '@' of the authority, so an '@' in the path
   * or query is data (Wine tests, url11). The user name ends at its first
   * ':'; the password may contain more of them. */
  host_start = auth;
  for (i = auth; i < auth_end && url[i] != '@'; i++)
    ;
  if (i < auth_end) {
    size_t at = i, c;
    for (c = auth; c < at && url[c] != ':'; c++)
      ;
    p.has_user = true;
    p.user.off = auth;
    p.user.len = c - auth;
    if (c < at) {
      p.has_password = true;
      p.password.off = c + 1;
      p.password.len = at - c - 1;
    }
    host_start = at + 1;
  }

  /* Host. An IPv6 literal keeps its brackets in the host name, as Windows
   * returns it, and its colons are not port separators. */
  if (host_start < auth_end && url[host_start] == '[') {
    for (i = host_start; i < auth_end && url[i] != ']'; i++)
      ;
    if (i == auth_end)
      return ERROR_WINHTTP_INVALID_URL;
    host_end = i + 1;
    if (host_end < auth_end && url[host_end] != ':')
      return ERROR_WINHTTP_INVALID_URL;
  } else {
    for (host_end = host_start; host_end < auth_end && url[host_end] != ':'; host_end++)
      ;
  }
  /* An empty host ("http:///path", "http://user@/", "http://:80/") is
   * rejected. Wine accepts all but "http://"; nothing sensible can connect
   * to an empty host, and the later layers assume a non-empty one. */
  if (host_end == host_start)
    return ERROR_WINHTTP_INVALID_URL;
  p.host.off = host_start;
  p.host.len = host_end - host_start;

  /* Port. Wine tests: ":0" is port 0, ":65536" is ERROR_WINHTTP_INVALID_URL,
   * an empty port (":" or ":/") is the scheme's default. A non-digit in the
   * port is rejected too: Wine stops at it and keeps the digits before, but
   * "host:80x" naming port 80 would be a guess at the caller's intent. */
  p.port = default_port(p.scheme);
  if (host_end < auth_end && host_end + 1 < auth_end) {
    uint32_t v = 0;
    for (i = host_end + 1; i < auth_end; i++) {
      if (!is_digit(url[i]))
        return ERROR_WINHTTP_INVALID_URL;
      v = v * 10 + (cu(url[i]) - '0');
      if (v > 65535)
        return ERROR_WINHTTP_INVALID_URL;
    }
    p.port = (INTERNET_PORT)v;
  }

  /* ICU_ESCAPE escapes from the last '/' on (Wine: the host of url13 stays
   * unescaped while its path is escaped), and never inside the authority:
   * with no path at all nothing is escaped. */
  *escape_from = cch;
  if (escape && auth_end < cch) {
    /* url[auth_end] is the path's '/', so the loop stops there at worst. */
    for (i = cch - 1; i > auth_end && url[i] != '/'; i--)
      ;
    *escape_from = i;
  }

  /* Path and extra info. MS docs: the extra info is "?something or
   * #something", and when the caller does not ask for it the path keeps the
   * query and fragment (Wine tests, url21). Without a '/' both are empty and
   * point at the end of the string (Wine tests, url_k2). */
  if (auth_end == cch) {
    p.path.off = p.extra.off = cch;
  } else {
    size_t q = cch;
    if (split_extra) {
      for (q = auth_end; q < cch; q++) {
        if (url[q] == '?' || (url[q] == '#' && q < *escape_from))
          break;
      }
    }
    p.path.off = auth_end;
    p.path.len = q - auth_end;
    p.extra.off = q;
    p.extra.len = cch - q;
  }

  *out = p;
  return ERROR_SUCCESS;
}

DWORD wh_url_split(const WCHAR *url, size_t cch, bool split_extra, struct wh_url_parts *out)
{
  size_t escape_from;
  return split(url, cch, split_extra, false, out, &escape_from);
}

/* ---------------------------------------------------------------------------
 * WinHttpCrackUrl
 */

enum xform { XF_NONE, XF_DECODE, XF_ESCAPE };

/* Length of the span |sp| of |url| once transformed; with XF_ESCAPE only the
 * characters at or after |esc_from| are escaped. */
static size_t xform_len(const WCHAR *url, struct wh_url_span sp, enum xform x, size_t esc_from)
{
  size_t i, n = 0, end = sp.off + sp.len;
  switch (x) {
  case XF_NONE:
    return sp.len;
  case XF_ESCAPE:
    for (i = sp.off; i < end; i++)
      n += (i >= esc_from && need_escape(url[i])) ? 3 : 1;
    return n;
  case XF_DECODE:
    for (i = sp.off; i < end; n++) {
      /* A '%' not followed by two hex digits inside this component (a lone
       * '%', "%4" at the end, "%zz") is kept as it is. */
      if (url[i] == '%' && end - i >= 3 && hex_value(url[i + 1]) >= 0 && hex_value(url[i + 2]) >= 0)
        i += 3;
      else
        i++;
    }
    return n;
  }
  return sp.len;
}

static void xform_copy(WCHAR *dst, const WCHAR *url, struct wh_url_span sp, enum xform x,
                       size_t esc_from)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t i, end = sp.off + sp.len;
  switch (x) {
  case XF_NONE:
    if (sp.len)
      memcpy(dst, url + sp.off, sp.len * sizeof(WCHAR));
    return;
  case XF_ESCAPE:
    for (i = sp.off; i < end; i++) {
      if (i >= esc_from && need_escape(url[i])) {
        uint32_t v = cu(url[i]);
        *dst++ = '%';
        *dst++ = (WCHAR)hex[(v >> 4) & 0xf];
        *dst++ = (WCHAR)hex[v & 0xf];
      } else {
        *dst++ = url[i];
      }
    }
    return;
  case XF_DECODE:
    for (i = sp.off; i < end;) {
      if (url[i] == '%' && end - i >= 3 && hex_value(url[i + 1]) >= 0 && hex_value(url[i + 2]) >= 0) {
        /* MS docs: only %xx is decoded, not UTF-8; each escape becomes the
         * WCHAR of that byte value. */
        *dst++ = (WCHAR)(hex_value(url[i + 1]) * 16 + hex_value(url[i + 2]));
        i += 3;
      } else {
        *dst++ = url[i++];
      }
    }
    return;
  }
}

struct slot {
  WCHAR **str;
  DWORD *len;
};

static size_t wide_len(const WCHAR *s)
{
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

DWORD wh_url_crack(const WCHAR *url, DWORD cch, DWORD flags, URL_COMPONENTS *uc)
{
  enum { SCHEME, USER, PASSWORD, HOST, PATH, EXTRA, NSLOTS };
  struct wh_url_parts p;
  struct wh_url_span span[NSLOTS];
  bool present[NSLOTS];
  size_t need[NSLOTS];
  size_t n, escape_from, k;
  enum xform x;
  bool overflow = false;
  DWORD err;

  /* Wine tests: a NULL URL, NULL components or a wrong dwStructSize is
   * ERROR_INVALID_PARAMETER. */
  if (!url || !uc || uc->dwStructSize != sizeof(*uc))
    return ERROR_INVALID_PARAMETER;

  struct slot slot[NSLOTS] = {
    [SCHEME] = { &uc->lpszScheme, &uc->dwSchemeLength },
    [USER] = { &uc->lpszUserName, &uc->dwUserNameLength },
    [PASSWORD] = { &uc->lpszPassword, &uc->dwPasswordLength },
    [HOST] = { &uc->lpszHostName, &uc->dwHostNameLength },
    [PATH] = { &uc->lpszUrlPath, &uc->dwUrlPathLength },
    [EXTRA] = { &uc->lpszExtraInfo, &uc->dwExtraInfoLength },
  };

  /* Wine tests: a buffer whose length is 0 is ERROR_INVALID_PARAMETER, and
   * nothing (not even nScheme) is written. ICU_DECODE and ICU_ESCAPE need
   * caller buffers (MS docs); Wine tests: pointer mode with ICU_DECODE is
   * ERROR_INVALID_PARAMETER. Both are checked before anything else so that
   * a failing call never leaves a half-filled structure. (Wine checks the
   * second rule lazily, component by component, and lets an empty component
   * through in pointer mode, pointing into its freed scratch copy.) */
  for (k = 0; k < NSLOTS; k++) {
    if (*slot[k].str && !*slot[k].len)
      return ERROR_INVALID_PARAMETER;
    if ((flags & (ICU_DECODE | ICU_ESCAPE)) && !*slot[k].str && *slot[k].len)
      return ERROR_INVALID_PARAMETER;
  }

  /* MS docs: a length of 0 means NUL-terminated. Otherwise the length is
   * authoritative: exactly |cch| WCHARs are read, never more. NULs at its
   * end are dropped (ours): a length that counts the terminator, or a
   * zero-padded buffer's size, is a common slip and hides nothing. Any
   * other NUL is refused by split(). */
  n = cch ? cch : wide_len(url);
  while (cch && n > 0 && url[n - 1] == 0)
    n--;

  err = split(url, n, uc->dwExtraInfoLength != 0, (flags & ICU_ESCAPE) != 0, &p, &escape_from);
  if (err != ERROR_SUCCESS)
    return err;

  /* The same for a NUL that ICU_DECODE would put into the host name (from
   * "%00"): no host name holds one, and it would truncate the name where
   * the buffer is used as a string (ours). A decoded NUL elsewhere is the
   * value the caller asked for, and the returned length counts it. */
  if ((flags & (ICU_DECODE | ICU_ESCAPE)) == ICU_DECODE) {
    for (k = p.host.off; k + 2 < p.host.off + p.host.len; k++)
      if (url[k] == '%' && url[k + 1] == '0' && url[k + 2] == '0')
        return ERROR_WINHTTP_INVALID_URL;
  }

  /* MS docs: ICU_REJECT_USERPWD rejects a URL with embedded credentials
   * with ERROR_WINHTTP_INVALID_URL. Any userinfo part counts, even an empty
   * "http://@host/", since it is credential syntax all the same. */
  if ((flags & ICU_REJECT_USERPWD) && p.has_user)
    return ERROR_WINHTTP_INVALID_URL;

  /* Wine tests (url13): with both flags ICU_ESCAPE wins and nothing is
   * decoded. A character above 0xFF has no %XX form (Windows escapes the
   * bytes of the ANSI code page); Wine tests pin ERROR_INVALID_PARAMETER for
   * WinHttpCreateUrl and Wine does the same here. */
  x = (flags & ICU_ESCAPE) ? XF_ESCAPE : (flags & ICU_DECODE) ? XF_DECODE : XF_NONE;
  if (x == XF_ESCAPE) {
    for (k = escape_from; k < n; k++) {
      if (cu(url[k]) > 0xff)
        return ERROR_INVALID_PARAMETER;
    }
  }

  span[SCHEME] = p.scheme_name;
  span[USER] = p.user;
  span[PASSWORD] = p.password;
  span[HOST] = p.host;
  span[PATH] = p.path;
  span[EXTRA] = p.extra;
  present[SCHEME] = present[HOST] = present[PATH] = present[EXTRA] = true;
  present[USER] = p.has_user;
  present[PASSWORD] = p.has_password;

  /* Sizes first, so the only failure after the first write is
   * ERROR_INSUFFICIENT_BUFFER. A length must fit a DWORD with room for the
   * NUL; only a multi-gigabyte escaped URL could fail this. */
  for (k = 0; k < NSLOTS; k++) {
    need[k] = present[k] ? xform_len(url, span[k], x, escape_from) : 0;
    if (need[k] > DWORD_MAX - 1)
      return ERROR_NOT_ENOUGH_MEMORY;
  }

  for (k = 0; k < NSLOTS; k++) {
    WCHAR **str = slot[k].str;
    DWORD *len = slot[k].len;
    if (!*len)
      continue; /* not wanted */
    if (!*str) {
      /* Pointer mode (MS docs): the address of the component inside the
       * caller's string. An absent user name or password is NULL with
       * length 0 (Wine tests, url_k2); an empty path or extra info points
       * at the end of the string. The cast only restores the caller's own
       * pointer type: URL_COMPONENTS has no const members. */
      *str = present[k] ? (WCHAR *)(url + span[k].off) : NULL;
      *len = (DWORD)need[k];
      continue;
    }
    /* Buffer mode (MS docs, Wine tests): copy and NUL-terminate, and on a
     * short buffer report the size needed including the NUL while the
     * other components are still filled. */
    if (need[k] >= *len) {
      *len = (DWORD)(need[k] + 1);
      overflow = true;
      continue;
    }
    if (present[k])
      xform_copy(*str, url, span[k], x, escape_from);
    (*str)[need[k]] = 0;
    *len = (DWORD)need[k];
  }

  /* Wine tests: nScheme and nPort are set on success (and Wine sets them on
   * ERROR_INSUFFICIENT_BUFFER as well, which is kept). */
  uc->nScheme = p.scheme;
  uc->nPort = p.port;
  return overflow ? ERROR_INSUFFICIENT_BUFFER : ERROR_SUCCESS;
}

/* ---------------------------------------------------------------------------
 * WinHttpCreateUrl
 */

/* MS docs (URL_COMPONENTS): for WinHttpCreateUrl a length of 0 means the
 * string is NUL-terminated, otherwise it is the string's length. */
static size_t comp_len(const WCHAR *s, DWORD len)
{
  return len ? (size_t)len : wide_len(s);
}

/* Length of |s| once escaped, or SIZE_MAX when a character above 0xFF has no
 * escape (Wine tests: escape3/escape4 with ICU_ESCAPE). */
static size_t escaped_len(const WCHAR *s, size_t len)
{
  size_t i, n = 0;
  for (i = 0; i < len; i++) {
    if (cu(s[i]) > 0xff)
      return SIZE_MAX;
    n += need_escape(s[i]) ? 3 : 1;
  }
  return n;
}

static WCHAR *put(WCHAR *dst, const WCHAR *s, size_t len)
{
  if (len)
    memcpy(dst, s, len * sizeof(WCHAR));
  return dst + len;
}

static WCHAR *put_escaped(WCHAR *dst, const WCHAR *s, size_t len)
{
  struct wh_url_span sp = { 0, len };
  xform_copy(dst, s, sp, XF_ESCAPE, 0);
  return dst + escaped_len(s, len);
}

/* Writes |port| in decimal to |out| (room for 5) and returns the digits. */
static size_t format_port(INTERNET_PORT port, WCHAR out[5])
{
  WCHAR tmp[5];
  size_t n = 0, i;
  unsigned v = port;
  do {
    tmp[n++] = (WCHAR)('0' + v % 10);
    v /= 10;
  } while (v);
  for (i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  return n;
}

DWORD wh_url_create(const URL_COMPONENTS *uc, DWORD flags, WCHAR *buf, DWORD *cch)
{
  static const WCHAR http[] = { 'h', 't', 't', 'p' };
  static const WCHAR https[] = { 'h', 't', 't', 'p', 's' };
  const WCHAR *scheme;
  size_t scheme_len, user_len = 0, pass_len = 0, host_len = 0, path_len = 0, extra_len = 0;
  size_t path_out = 0, extra_out = 0, port_len = 0;
  INTERNET_SCHEME num;
  WCHAR port[5];
  bool escape = (flags & ICU_ESCAPE) != 0;
  bool with_port = false, slash = false;
  uint64_t total;

  /* Wine tests: NULL components, a wrong dwStructSize or a NULL length is
   * ERROR_INVALID_PARAMETER, the length untouched. */
  if (!uc || uc->dwStructSize != sizeof(*uc) || !cch)
    return ERROR_INVALID_PARAMETER;

  /* Wine tests: a password without a user name is ERROR_INVALID_PARAMETER;
   * an empty user name with a password is fine (":password@"). */
  if (!uc->lpszUserName && uc->lpszPassword)
    return ERROR_INVALID_PARAMETER;
  /* MS docs: ICU_REJECT_USERPWD rejects a user name or password with
   * ERROR_WINHTTP_INVALID_URL. */
  if ((flags & ICU_REJECT_USERPWD) && (uc->lpszUserName || uc->lpszPassword))
    return ERROR_WINHTTP_INVALID_URL;

  /* Wine tests: lpszScheme wins over nScheme, and nScheme 0 means http.
   * The default port is judged from the scheme that is written, so "ftp"
   * with port 80 gets ":80" (Wine tests, url5). WinHTTP knows no scheme but
   * http and https, so any other nScheme is ERROR_INVALID_PARAMETER (Wine
   * would dereference NULL). */
  if (uc->lpszScheme) {
    scheme = uc->lpszScheme;
    scheme_len = comp_len(uc->lpszScheme, uc->dwSchemeLength);
    num = eq_nocase(scheme, scheme_len, "http")    ? INTERNET_SCHEME_HTTP
          : eq_nocase(scheme, scheme_len, "https") ? INTERNET_SCHEME_HTTPS
                                                   : 0;
  } else {
    num = uc->nScheme ? uc->nScheme : INTERNET_SCHEME_HTTP;
    if (num == INTERNET_SCHEME_HTTP) {
      scheme = http;
      scheme_len = 4;
    } else if (num == INTERNET_SCHEME_HTTPS) {
      scheme = https;
      scheme_len = 5;
    } else {
      return ERROR_INVALID_PARAMETER;
    }
  }

  if (uc->lpszUserName)
    user_len = comp_len(uc->lpszUserName, uc->dwUserNameLength);
  if (uc->lpszPassword)
    pass_len = comp_len(uc->lpszPassword, uc->dwPasswordLength);
  if (uc->lpszUrlPath)
    path_len = comp_len(uc->lpszUrlPath, uc->dwUrlPathLength);
  if (uc->lpszExtraInfo)
    extra_len = comp_len(uc->lpszExtraInfo, uc->dwExtraInfoLength);
  if (uc->lpszHostName) {
    host_len = comp_len(uc->lpszHostName, uc->dwHostNameLength);
    /* Wine tests: the port follows the host only when it is not the
     * scheme's default (port 0 is written, url8); without a host there is
     * no port (url18). ICU_INCLUDE_DEFAULT_PORT (SDK) writes it always. */
    with_port = (flags & ICU_INCLUDE_DEFAULT_PORT) || num == 0 || uc->nPort != default_port(num);
    if (with_port)
      port_len = format_port(uc->nPort, port);
    /* A '/' separates the host from a path that lacks one (Wine); with no
     * host nothing is inserted (Wine tests, url18: "http://%0D..."). */
    slash = uc->lpszUrlPath && (path_len == 0 || uc->lpszUrlPath[0] != '/');
  }

  /* MS docs: ICU_ESCAPE escapes the path and the extra info only. */
  path_out = path_len;
  extra_out = extra_len;
  if (escape) {
    if (uc->lpszUrlPath && (path_out = escaped_len(uc->lpszUrlPath, path_len)) == SIZE_MAX)
      return ERROR_INVALID_PARAMETER;
    if (uc->lpszExtraInfo && (extra_out = escaped_len(uc->lpszExtraInfo, extra_len)) == SIZE_MAX)
      return ERROR_INVALID_PARAMETER;
  }

  /* Wine tests: "://" follows the scheme even without a host (url18-20). */
  total = (uint64_t)scheme_len + 3;
  if (uc->lpszUserName)
    total += (uint64_t)user_len + 1; /* "@" */
  if (uc->lpszPassword)
    total += (uint64_t)pass_len + 1; /* ":" */
  total += host_len;
  if (with_port)
    total += port_len + 1; /* ":" */
  if (slash)
    total += 1;
  total += (uint64_t)path_out + extra_out;
  if (total > DWORD_MAX - 1)
    return ERROR_INVALID_PARAMETER;

  /* Wine tests: a short length gives ERROR_INSUFFICIENT_BUFFER and the size
   * needed including the NUL, whether or not |buf| is NULL; a NULL |buf|
   * with a large enough length is ERROR_INVALID_PARAMETER (Windows 7 on),
   * the length untouched. The buffer must hold the NUL as well: Wine accepts
   * a length one short of that and writes one WCHAR past the buffer. */
  if ((uint64_t)*cch < total + 1) {
    *cch = (DWORD)(total + 1);
    return ERROR_INSUFFICIENT_BUFFER;
  }
  if (!buf)
    return ERROR_INVALID_PARAMETER;

  WCHAR *w = buf;
  w = put(w, scheme, scheme_len);
  *w++ = ':';
  *w++ = '/';
  *w++ = '/';
  if (uc->lpszUserName) {
    w = put(w, uc->lpszUserName, user_len);
    if (uc->lpszPassword) {
      *w++ = ':';
      w = put(w, uc->lpszPassword, pass_len);
    }
    *w++ = '@';
  }
  if (uc->lpszHostName) {
    w = put(w, uc->lpszHostName, host_len);
    if (with_port) {
      *w++ = ':';
      w = put(w, port, port_len);
    }
    if (slash)
      *w++ = '/';
  }
  if (uc->lpszUrlPath)
    w = escape ? put_escaped(w, uc->lpszUrlPath, path_len) : put(w, uc->lpszUrlPath, path_len);
  if (uc->lpszExtraInfo)
    w = escape ? put_escaped(w, uc->lpszExtraInfo, extra_len) : put(w, uc->lpszExtraInfo, extra_len);
  *w = 0;

  *cch = (DWORD)total;
  return ERROR_SUCCESS;
}
