/* libFuzzer target for KDE's proxy settings file (policy/kioslaverc.c) and
 * its mapping to Windows' strings (policy/kde_proxy.c, policy/ie_proxy.c):
 * a file any user (or a corrupt disk) can put in ~/.config.
 *
 * Input: one byte |c|, then text. The text is cut in two at |c|/255 of its
 * length and read as two files of a cascade (the system's, then the
 * user's), each from an exact-size heap copy so that ASan catches a read
 * past its end.
 *
 * Invariants checked: no crash, hang or leak (ASan/UBSan); parsing
 * succeeds and is deterministic (the same settings twice); only known keys
 * can be locked; the mapping succeeds; what it produces is what Windows'
 * readers can take: the PAC URL and the lists hold no control characters
 * and are non-empty when present, a bypass list only comes with a proxy
 * list, the proxy list never holds '@' (no credentials) nor white space,
 * and a server wh_proxy_list_pick finds for http or https is one for a
 * scheme the list serves. */
#include "fuzz_common.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "policy/kde_proxy.h"
#include "policy/kioslaverc.h"
#include "policy/proxy_list.h"

/* A fixed environment for ProxyType 4, with names a fuzzer can find. */
static const char *fake_getenv(const char *name, void *ctx)
{
  (void)ctx;
  static const char *const table[] = {
      "http_proxy", "http://env.example:3128", "https_proxy", "https://u:p@tls.example:443",
      "no_proxy",   "localhost,.corp,10.0.0.0/8", "A",         "a;b c@d",
      "B",          "socks5://s:1080",            NULL};
  for (size_t i = 0; table[i]; i += 2)
    if (!strcmp(table[i], name))
      return table[i + 1];
  return NULL;
}

static bool same(const char *a, const char *b)
{
  return (!a && !b) || (a && b && !strcmp(a, b));
}

static void parse_files(const uint8_t *text, size_t n, size_t cut, struct wh_kde_settings *s)
{
  void *first = fuzz_piece_copy(text, 0, cut);
  void *second = fuzz_piece_copy(text, cut, n - cut);
  FUZZ_ASSERT(wh_kioslaverc_parse(first, cut, s) == ERROR_SUCCESS);
  FUZZ_ASSERT(wh_kioslaverc_parse(second, n - cut, s) == ERROR_SUCCESS);
  free(first);
  free(second);
}

static void check_text(const char *s, bool list)
{
  if (!s)
    return;
  FUZZ_ASSERT(s[0] != '\0');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f);
    if (list)
      FUZZ_ASSERT(*p != ' ');
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  const uint8_t *text = data + 1;
  size_t n = size - 1;
  size_t cut = n * data[0] / 255;

  struct wh_kde_settings a = {0}, b = {0};
  parse_files(text, n, cut, &a);
  parse_files(text, n, cut, &b);
  FUZZ_ASSERT(a.proxy_type == b.proxy_type && a.reversed == b.reversed && a.locked == b.locked);
  FUZZ_ASSERT(same(a.script, b.script) && same(a.no_proxy_for, b.no_proxy_for));
  for (int k = 0; k < WH_IE_SCHEMES; k++)
    FUZZ_ASSERT(same(a.server[k], b.server[k]));
  FUZZ_ASSERT((a.locked & ~0xffu) == 0);
  FUZZ_ASSERT(a.proxy_type >= 0);

  /* The file's own type, and each mapping whatever the type said. */
  for (long type = -1; type <= WH_KDE_ENV; type++) {
    if (type >= 0)
      a.proxy_type = type;
    struct wh_ie_proxy out = {0};
    FUZZ_ASSERT(wh_kde_proxy_map(&a, fake_getenv, NULL, &out) == ERROR_SUCCESS);
    check_text(out.auto_config_url, false);
    check_text(out.proxy, true);
    check_text(out.bypass, true);
    FUZZ_ASSERT(!out.bypass || out.proxy);
    if (out.proxy) {
      FUZZ_ASSERT(!strchr(out.proxy, '@'));
      struct wh_proxy_server via[4];
      size_t len = strlen(out.proxy);
      /* A server the engine cannot use (a name over 255 bytes) may be
       * listed; one it picks must be for a scheme the list serves. */
      if (wh_proxy_list_pick(out.proxy, len, "http", via, 4) > 0)
        FUZZ_ASSERT(wh_proxy_list_serves(out.proxy, len, "http"));
      if (wh_proxy_list_pick(out.proxy, len, "https", via, 4) > 0)
        FUZZ_ASSERT(wh_proxy_list_serves(out.proxy, len, "https"));
    }
    wh_ie_proxy_clear(&out);
  }
  wh_kde_settings_free(&a);
  wh_kde_settings_free(&b);
  return 0;
}
