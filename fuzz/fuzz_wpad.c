/* libFuzzer target for WPAD's inputs (policy/wpad.c): resolv.conf text and
 * a LOCALDOMAIN value, and the candidate names made from them.
 *
 * Input: resolv.conf text (also read as a LOCALDOMAIN value).
 *
 * Invariants checked: no crash or leak (ASan/UBSan); at most |max| domains,
 * each a lower-case DNS name (labels of letters, digits, '-' and '_', none
 * empty, no trailing dot) shorter than WH_WPAD_NAME_MAX; every candidate is
 * "wpad." and a suffix of one of the domains with two labels or more, and
 * none is listed twice. */
#include "fuzz_common.h"

#include <stdbool.h>

#include "policy/wpad.h"

static void check_name(const char *s)
{
  size_t len = strlen(s);
  FUZZ_ASSERT(len > 0 && len < WH_WPAD_NAME_MAX && s[0] != '.' && s[len - 1] != '.');
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    FUZZ_ASSERT((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                (c == '.' && s[i + 1] != '.'));
  }
}

static bool is_suffix(const char *name, const char *domain)
{
  size_t n = strlen(name), d = strlen(domain);
  return n <= d && strcmp(domain + d - n, name) == 0 && (n == d || domain[d - n - 1] == '.');
}

static void check(char (*d)[WH_WPAD_NAME_MAX], size_t nd)
{
  FUZZ_ASSERT(nd <= WH_WPAD_DOMAINS_MAX);
  for (size_t i = 0; i < nd; i++)
    check_name(d[i]);
  char c[WH_WPAD_CANDIDATES_MAX][WH_WPAD_NAME_MAX + 5];
  size_t nc = wh_wpad_candidates((const char(*)[WH_WPAD_NAME_MAX])d, nd, c,
                                 WH_WPAD_CANDIDATES_MAX);
  FUZZ_ASSERT(nc <= WH_WPAD_CANDIDATES_MAX);
  for (size_t i = 0; i < nc; i++) {
    FUZZ_ASSERT(strncmp(c[i], "wpad.", 5) == 0);
    const char *suffix = c[i] + 5;
    check_name(suffix);
    FUZZ_ASSERT(strchr(suffix, '.'));
    bool found = false;
    for (size_t k = 0; k < nd && !found; k++)
      found = is_suffix(suffix, d[k]);
    FUZZ_ASSERT(found);
    for (size_t k = 0; k < i; k++)
      FUZZ_ASSERT(strcmp(c[k], c[i]) != 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char d[WH_WPAD_DOMAINS_MAX][WH_WPAD_NAME_MAX];
  check(d, wh_wpad_search_list((const char *)data, size, d, WH_WPAD_DOMAINS_MAX));
  check(d, wh_wpad_domain_list((const char *)data, size, d, WH_WPAD_DOMAINS_MAX));
  return 0;
}
