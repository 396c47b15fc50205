/* see str.h */
#include "util/str.h"

#define T1(c) [c] = 1
const unsigned char wh_tchar_table[256] = {
  T1('!'), T1('#'), T1('$'), T1('%'), T1('&'), T1('\''), T1('*'), T1('+'), T1('-'), T1('.'),
  T1('^'), T1('_'), T1('`'), T1('|'), T1('~'),
  T1('0'), T1('1'), T1('2'), T1('3'), T1('4'), T1('5'), T1('6'), T1('7'), T1('8'), T1('9'),
  T1('A'), T1('B'), T1('C'), T1('D'), T1('E'), T1('F'), T1('G'), T1('H'), T1('I'), T1('J'),
  T1('K'), T1('L'), T1('M'), T1('N'), T1('O'), T1('P'), T1('Q'), T1('R'), T1('S'), T1('T'),
  T1('U'), T1('V'), T1('W'), T1('X'), T1('Y'), T1('Z'),
  T1('a'), T1('b'), T1('c'), T1('d'), T1('e'), T1('f'), T1('g'), T1('h'), T1('i'), T1('j'),
  T1('k'), T1('l'), T1('m'), T1('n'), T1('o'), T1('p'), T1('q'), T1('r'), T1('s'), T1('t'),
  T1('u'), T1('v'), T1('w'), T1('x'), T1('y'), T1('z'),
};
#undef T1

bool wh_casecmp_eq(const char *a, size_t alen, const char *b, size_t blen)
{
  if (alen != blen)
    return false;
  for (size_t i = 0; i < alen; i++)
    if (wh_to_lower((unsigned char)a[i]) != wh_to_lower((unsigned char)b[i]))
      return false;
  return true;
}

bool wh_casecmp_eqz(const char *a, size_t alen, const char *b)
{
  size_t i = 0;
  for (; i < alen; i++) {
    if (b[i] == '\0')
      return false;
    if (wh_to_lower((unsigned char)a[i]) != wh_to_lower((unsigned char)b[i]))
      return false;
  }
  return b[i] == '\0';
}

void wh_trim_ows(const char **p, size_t *len)
{
  const char *s = *p;
  size_t n = *len;
  while (n && wh_is_ows((unsigned char)s[0])) {
    s++;
    n--;
  }
  while (n && wh_is_ows((unsigned char)s[n - 1]))
    n--;
  *p = s;
  *len = n;
}

bool wh_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *out)
{
  uint64_t v = 0;
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (!wh_is_digit((unsigned char)p[i]))
      return false;
    unsigned d = (unsigned)(p[i] - '0');
    if (v > (max - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}
