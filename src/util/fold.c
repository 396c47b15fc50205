/* see fold.h */
#include "util/fold.h"

#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

#include "util/mem.h"
#include "util/str.h"
#include "util/utf.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale; /* (locale_t)0 when the system has none */

static void find_locale(void)
{
  utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static wchar_t fold(wchar_t c)
{
  if (utf8_locale)
    return (wchar_t)towlower_l((wint_t)c, utf8_locale);
  return c < 128 ? (wchar_t)wh_to_lower((int)c) : c;
}

/* The text decoded and folded; NULL when out of memory. */
static wchar_t *folded(const char *s, size_t *n)
{
  wchar_t *w = NULL;
  if (wh_wide_from_utf8(s, strlen(s), &w, n) != 0)
    return NULL;
  for (size_t i = 0; i < *n; i++)
    w[i] = fold(w[i]);
  return w;
}

int wh_utf8_contains_nocase(const char *hay, const char *needle)
{
  pthread_once(&once, find_locale);
  size_t hn, nn;
  wchar_t *h = folded(hay, &hn);
  wchar_t *n = h ? folded(needle, &nn) : NULL;
  int found = -1;
  if (n) {
    found = 0;
    for (size_t i = 0; nn <= hn && i <= hn - nn && !found; i++)
      found = memcmp(h + i, n, nn * sizeof(*n)) == 0;
  }
  wh_free(h);
  wh_free(n);
  return found;
}
