/* see api.h */
#include "api/api.h"

#include "util/utf.h"

DWORD wh_utf8_opt(LPCWSTR w, int empty_is_null, char **out)
{
  *out = NULL;
  if (!w || (empty_is_null && !w[0]))
    return ERROR_SUCCESS;
  return wh_utf8_from_wide(w, (size_t)-1, out, NULL) ? ERROR_NOT_ENOUGH_MEMORY : ERROR_SUCCESS;
}
