/* Helpers shared by the exported shims of the api ring. */
#ifndef WH_API_API_H
#define WH_API_API_H

#include <winhttp.h>

/* Sets the last error and returns FALSE; for BOOL-returning shims. */
static inline BOOL wh_fail(DWORD err)
{
  SetLastError(err);
  return FALSE;
}

/* Windows 7 and later set ERROR_SUCCESS on success (Wine's tests assert it). */
static inline BOOL wh_ok(void)
{
  SetLastError(ERROR_SUCCESS);
  return TRUE;
}

/* Maps an internal DWORD result onto BOOL + last error. */
static inline BOOL wh_result(DWORD err)
{
  SetLastError(err);
  return err == ERROR_SUCCESS;
}

/* The WINHTTP_ACCESS_TYPE_* values WinHttpOpen, WINHTTP_OPTION_PROXY and
 * WINHTTP_PROXY_INFO accept. */
static inline int wh_access_type_valid(DWORD t)
{
  return t == WINHTTP_ACCESS_TYPE_DEFAULT_PROXY || t == WINHTTP_ACCESS_TYPE_NO_PROXY ||
         t == WINHTTP_ACCESS_TYPE_NAMED_PROXY || t == WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY;
}

/* Converts an optional NUL-terminated WCHAR string to UTF-8. NULL, and an
 * empty string when |empty_is_null|, give *out = NULL. Returns
 * ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_utf8_opt(LPCWSTR w, int empty_is_null, char **out);

/* A GlobalAlloc'd WCHAR copy of the UTF-8 string |s| (the caller frees it
 * with GlobalFree, as Windows' proxy strings are freed); NULL for NULL.
 * ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_global_wide(const char *s, LPWSTR *out);

#endif
