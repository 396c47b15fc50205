/* The request target WinHttpOpenRequest builds from its object name; see
 * escape.h.
 *
 * Sources, and what each one settles:
 *
 * [MS]  Microsoft's WinHttpOpenRequest reference, dwFlags table:
 *       - default: "all unsafe characters except the percent symbol are
 *         converted to an escape sequence";
 *       - WINHTTP_FLAG_ESCAPE_PERCENT: the percent symbol is escaped too;
 *       - WINHTTP_FLAG_ESCAPE_DISABLE: unsafe characters of the object name
 *         are not escaped;
 *       - WINHTTP_FLAG_ESCAPE_DISABLE_QUERY: unsafe characters of the query
 *         component are not escaped;
 *       - WINHTTP_FLAG_NULL_CODEPAGE: "Windows 7: This option is obsolete",
 *         so it changes nothing here (the caller always converts to UTF-8).
 * [W]   Wine's dlls/winhttp/tests/winhttp.c, test_request_path_escapes and
 *       the "/escape" branch of its server_thread, which run on Windows and
 *       compare the exact request line Windows sends for seven object names
 *       under 0, ESCAPE_PERCENT, ESCAPE_DISABLE and ESCAPE_DISABLE_QUERY.
 *       They pin the unsafe set below, upper-case hex, UTF-8 for non-ASCII,
 *       and that even "disabled" escaping still encodes the space and every
 *       byte >= 0x80 and drops CR/LF (the trailing "\r\n" of the object
 *       name is absent from the request line, not escaped).
 * [W2]  Wine's test_multiple_reads opens the object "big" and its server
 *       expects "/big": a '/' is prepended to a name without one.
 *
 * The rules, in order:
 *  1. Prepend '/' unless the name starts with '/'. An empty name gives "/".
 *     This is done for every other first character too: an asterisk becomes
 *     a slash and an asterisk, and "http://h/x" becomes "/http://h/x". Neither [MS] nor [W] shows
 *     Windows sending an asterisk-form or absolute-form target from the
 *     object name; the absolute form for proxies is built by the sender from
 *     the connect handle's host, not from the object name.
 *  2. The target splits at its first '?': the path before it, the query
 *     from it on ('?' itself is never escaped).
 *  3. Each part is ESCAPED or LITERAL. Under ESCAPE_DISABLE both parts are
 *     LITERAL; under ESCAPE_DISABLE_QUERY the query is. Otherwise ESCAPED.
 *  4. ESCAPED: the bytes 0x00-0x20, 0x7F, 0x80-0xFF and " # < > [ \ ] ^ `
 *     { | } become %XX (upper-case hex); '%' too with ESCAPE_PERCENT. [W]
 *     shows every other printable ASCII byte passing through, '%', '?',
 *     '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@'
 *     included.
 *  5. LITERAL: CR and LF are dropped, the space and bytes >= 0x80 become
 *     %XX, everything else passes through unchanged ([W]: 0x1F, 0x7F, '<',
 *     '"', '%' and '#' are sent raw) except HTAB, VT and FF, which become
 *     %09, %0B and %0C (ours: see below).
 *  6. NUL becomes %00 in both modes. It cannot come from WinHttpOpenRequest
 *     (the object name is NUL-terminated); this only keeps a NUL from ever
 *     reaching a request line through some other caller.
 *
 * Whatever the flags, CR, LF, NUL and every byte a server may take for the
 * separator between the request line's words therefore never appear in the
 * result, which is what stops request-line injection. RFC 9112 §3 lets a
 * server split the request line on SP, HTAB, VT, FF or a bare CR; [W] shows
 * Windows encoding the space and dropping CR even with escaping disabled,
 * and rule 5 treats the other three the way Windows treats the space
 * (Windows' own handling of them is untested). Other control bytes cannot
 * split the line and go out raw, as [W] shows for 0x1F and 0x7F.
 */
#include "policy/escape.h"

#include <stdbool.h>
#include <stdint.h>

#include "util/mem.h"

enum action { KEEP, DROP, ENCODE };

/* The characters [W] shows Windows escaping among printable ASCII. */
static bool is_unsafe_printable(unsigned char c)
{
  switch (c) {
  case '"': case '#': case '<': case '>': case '[': case '\\':
  case ']': case '^': case '`': case '{': case '|': case '}':
    return true;
  default:
    return false;
  }
}

/* The bytes a lenient server may read as the SP between the request
 * line's words (RFC 9112 §3), bare CR aside (it is dropped or escaped). */
static bool is_line_whitespace(unsigned char c)
{
  return c == ' ' || c == '\t' || c == 0x0B || c == 0x0C;
}

static enum action classify(unsigned char c, bool literal, bool escape_percent)
{
  if (c == '\0' || c >= 0x80 || is_line_whitespace(c))
    return ENCODE;
  if (literal)
    return (c == '\r' || c == '\n') ? DROP : KEEP;
  if (c < 0x20 || c == 0x7F || is_unsafe_printable(c) || (escape_percent && c == '%'))
    return ENCODE;
  return KEEP;
}

/* One pass over the name with the rules above. With |dst| NULL it only
 * counts; otherwise it writes. Returns the number of bytes (no NUL). The
 * '/' of rule 1 is the caller's. */
static size_t run(const unsigned char *src, size_t len, DWORD flags, char *dst)
{
  static const char hex[] = "0123456789ABCDEF";
  const bool disable_all = (flags & WINHTTP_FLAG_ESCAPE_DISABLE) != 0;
  const bool disable_query = disable_all || (flags & WINHTTP_FLAG_ESCAPE_DISABLE_QUERY) != 0;
  const bool escape_percent = (flags & WINHTTP_FLAG_ESCAPE_PERCENT) != 0;
  bool in_query = false;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = src[i];
    if (c == '?')
      in_query = true;
    switch (classify(c, in_query ? disable_query : disable_all, escape_percent)) {
    case DROP:
      break;
    case KEEP:
      if (dst)
        dst[n] = (char)c;
      n++;
      break;
    case ENCODE:
      if (dst) {
        dst[n] = '%';
        dst[n + 1] = hex[c >> 4];
        dst[n + 2] = hex[c & 0x0F];
      }
      n += 3;
      break;
    }
  }
  return n;
}

DWORD wh_escape_request_target(const char *obj, size_t len, DWORD flags, char **out)
{
  *out = NULL;
  /* Each byte grows to at most three, plus the '/' and the NUL: the bound
   * 3 * len + 2 must not wrap. Checked before |obj| is read at all. */
  if (len > (SIZE_MAX - 2) / 3)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (len == 0)
    obj = "";
  const unsigned char *src = (const unsigned char *)obj;
  const size_t slash = (len > 0 && src[0] == '/') ? 0 : 1;
  const size_t body = run(src, len, flags, NULL);
  char *buf = wh_malloc(slash + body + 1);
  if (!buf)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (slash)
    buf[0] = '/';
  run(src, len, flags, buf + slash);
  buf[slash + body] = '\0';
  *out = buf;
  return ERROR_SUCCESS;
}
