/* WinHttpCrackUrl and WinHttpCreateUrl semantics, on WCHAR strings.
 *
 * This module deliberately works on WCHAR (wchar_t) arrays rather than on the
 * project's internal UTF-8: WinHttpCrackUrl's pointer mode must hand back
 * pointers into the caller's own string, so the offsets have to be WCHAR
 * offsets of that string. The api ring (api_url.c) only maps the returned
 * DWORD onto BOOL + SetLastError.
 *
 * Everything here is pure: no I/O, no locks, no mutable globals, so every
 * function may run on any number of threads at once (CONTRACT.md C1).
 *
 * Behaviour follows Windows. The executable specification is Wine's
 * dlls/winhttp/tests/url.c (its checks pass on Windows); where those tests
 * are silent, Microsoft's documentation of WinHttpCrackUrl, WinHttpCreateUrl
 * and URL_COMPONENTS decides, and where both are silent the choice made is
 * stated next to the code (and listed in docs/COMPAT.md).
 */
#ifndef WH_POLICY_URL_H
#define WH_POLICY_URL_H

#include <stdbool.h>
#include <stddef.h>

#include <winhttp.h>

/* A run of WCHARs inside the string that was split: |off| and |len| count
 * WCHARs from its start. */
struct wh_url_span {
  size_t off;
  size_t len;
};

/* The parts of an http or https URL, as WinHttpCrackUrl sees them:
 *
 *   scheme ":" "//" [ user [ ":" password ] "@" ] host [ ":" [ port ] ] path extra
 *
 * The authority ends at the first '/' only (so "http://host?q" has the host
 * "host?q", as Microsoft's remarks warn). |path| starts at that '/'; |extra|
 * starts at the first '?' or '#' of the rest (or is empty at the end of the
 * string). An IPv6 literal host keeps its brackets ("[::1]"). */
struct wh_url_parts {
  INTERNET_SCHEME scheme; /* INTERNET_SCHEME_HTTP or INTERNET_SCHEME_HTTPS */
  INTERNET_PORT port;     /* the explicit port, else the scheme's default */
  bool has_user;          /* an '@' ended a userinfo part (maybe empty) */
  bool has_password;      /* that userinfo contained a ':' */
  struct wh_url_span scheme_name;
  struct wh_url_span user;     /* {0, 0} when !has_user */
  struct wh_url_span password; /* {0, 0} when !has_password */
  struct wh_url_span host;     /* never empty */
  struct wh_url_span path;     /* empty at the end when there is no '/' */
  struct wh_url_span extra;    /* empty at the end when there is none */
};

/* Splits the |cch| WCHARs at |url|. With |split_extra| false the query
 * and fragment stay in |path| and |extra| is empty at the end, as
 * WinHttpCrackUrl does when the caller does not ask for the extra info. Fills |*out| only on success.
 * Returns ERROR_SUCCESS, ERROR_WINHTTP_UNRECOGNIZED_SCHEME (no ':' or a
 * scheme other than http/https, case-insensitive) or
 * ERROR_WINHTTP_INVALID_URL (no "//", a NUL after the scheme, empty host,
 * bad IPv6 literal, port not decimal or above 65535). */
DWORD wh_url_split(const WCHAR *url, size_t cch, bool split_extra, struct wh_url_parts *out);

/* WinHttpCrackUrl. |cch| 0 means |url| is NUL-terminated; otherwise exactly
 * |cch| WCHARs are read, never more, and NULs at their end are ignored (a
 * length that counts the terminator). Pointer-mode components point into
 * |url|; buffer-mode components are copied and NUL-terminated.
 * Returns:
 *   ERROR_SUCCESS;
 *   ERROR_INSUFFICIENT_BUFFER when a caller buffer is too small: its length
 *     is set to the required size including the NUL, every other component,
 *     nScheme and nPort are still filled;
 *   ERROR_INVALID_PARAMETER (NULL |url| or |uc|, wrong dwStructSize, a
 *     buffer with length 0, ICU_DECODE/ICU_ESCAPE with a pointer-mode
 *     component, ICU_ESCAPE on a character above 0xFF);
 *   ERROR_WINHTTP_UNRECOGNIZED_SCHEME, ERROR_WINHTTP_INVALID_URL (as
 *     wh_url_split, ICU_DECODE on a host holding "%00", and
 *     ICU_REJECT_USERPWD on a URL with a userinfo part);
 *   ERROR_NOT_ENOUGH_MEMORY (a result longer than a DWORD can count).
 * On every error but ERROR_INSUFFICIENT_BUFFER, |*uc| is left untouched. */
DWORD wh_url_crack(const WCHAR *url, DWORD cch, DWORD flags, URL_COMPONENTS *uc);

/* WinHttpCreateUrl. |*cch| is the size of |buf| in WCHARs, including room
 * for the NUL. On success the URL and a NUL are written and |*cch| is set to
 * the URL's length without the NUL.
 * Returns:
 *   ERROR_SUCCESS;
 *   ERROR_INSUFFICIENT_BUFFER with |*cch| set to the size needed including
 *     the NUL (checked before |buf|, so |buf| may be NULL when probing);
 *   ERROR_INVALID_PARAMETER (NULL |uc| or |cch|, wrong dwStructSize, a
 *     password without a user name, no lpszScheme and an nScheme other than
 *     0/HTTP/HTTPS, ICU_ESCAPE on a path or extra character above 0xFF,
 *     NULL |buf| with a large enough |*cch|, a URL too long for a DWORD);
 *   ERROR_WINHTTP_INVALID_URL (ICU_REJECT_USERPWD with a user or password).
 * On every error but ERROR_INSUFFICIENT_BUFFER, |*cch| and |buf| are left
 * untouched. */
DWORD wh_url_create(const URL_COMPONENTS *uc, DWORD flags, WCHAR *buf, DWORD *cch);

#endif
