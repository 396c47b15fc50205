/* WCHAR (wchar_t, UTF-32 on Linux) <-> UTF-8.
 *
 * Only the api ring converts; everything below it speaks UTF-8. Code points
 * that cannot be encoded (surrogates, values above U+10FFFF or negative
 * wchar_t) become U+FFFD, as Windows' WideCharToMultiByte(CP_UTF8) does for
 * unpaired surrogates. Malformed UTF-8 decodes to one U+FFFD per bad byte.
 */
#ifndef WH_UTIL_UTF_H
#define WH_UTIL_UTF_H

#include <stddef.h>
#include <wchar.h>

/* Bytes needed to encode the |cch| WCHARs at |w| (no NUL counted). */
size_t wh_utf8_len_of_wide(const wchar_t *w, size_t cch);
/* Encodes |cch| WCHARs into |out|, which must hold wh_utf8_len_of_wide()
 * bytes. Returns the bytes written; writes no NUL. */
size_t wh_utf8_from_wide_buf(const wchar_t *w, size_t cch, char *out);
/* Allocating form: |*out| is NUL-terminated and owned by the caller (free
 * with wh_free). |cch| may be (size_t)-1 for a NUL-terminated input.
 * Returns 0, or -1 when out of memory. |out_len| may be NULL. */
int wh_utf8_from_wide(const wchar_t *w, size_t cch, char **out, size_t *out_len);

/* WCHARs needed to decode the |len| bytes at |s| (no NUL counted). */
size_t wh_wide_len_of_utf8(const char *s, size_t len);
/* Decodes into |out|, which must hold wh_wide_len_of_utf8() WCHARs. Returns
 * the WCHARs written; writes no NUL. */
size_t wh_wide_from_utf8_buf(const char *s, size_t len, wchar_t *out);
/* Allocating form; |*out| is NUL-terminated, owned by the caller. Returns 0,
 * or -1 when out of memory. |out_cch| may be NULL. */
int wh_wide_from_utf8(const char *s, size_t len, wchar_t **out, size_t *out_cch);

#endif
