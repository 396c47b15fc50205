/* see api.h */
#include "api/api.h"

#include <string.h>

#include "util/utf.h"

DWORD wh_utf8_opt(LPCWSTR w, int empty_is_null, char **out)
{
  *out = NULL;
  if (!w || (empty_is_null && !w[0]))
    return ERROR_SUCCESS;
  return wh_utf8_from_wide(w, (size_t)-1, out, NULL) ? ERROR_NOT_ENOUGH_MEMORY : ERROR_SUCCESS;
}

DWORD wh_global_wide(const char *s, LPWSTR *out)
{
  *out = NULL;
  if (!s)
    return ERROR_SUCCESS;
  size_t len = strlen(s);
  size_t cch = wh_wide_len_of_utf8(s, len);
  WCHAR *w = GlobalAlloc(GMEM_FIXED, (cch + 1) * sizeof(WCHAR));
  if (!w)
    return ERROR_NOT_ENOUGH_MEMORY;
  wh_wide_from_utf8_buf(s, len, w);
  w[cch] = L'\0';
  *out = w;
  return ERROR_SUCCESS;
}
