/* see kioslaverc.h. The format as KConfig's INI backend reads it (KDE
 * Frameworks' KConfig documentation, "KConfig Entries": escapes, "[$i]",
 * "[$e]", "[$d]", localised keys). */
#include "policy/kioslaverc.h"

#include <stdint.h>
#include <string.h>

#include "util/mem.h"
#include "util/str.h"

/* The keys read, and their bit in |locked|. */
enum {
  K_TYPE,
  K_SCRIPT,
  K_HTTP,
  K_HTTPS,
  K_FTP,
  K_SOCKS,
  K_NO_PROXY,
  K_REVERSED,
  K_COUNT
};
#define ALL_KEYS ((1u << K_COUNT) - 1u)

static const char *const key_names[K_COUNT] = {
    "ProxyType", "Proxy Config Script", "httpProxy",  "httpsProxy",
    "ftpProxy",  "socksProxy",          "NoProxyFor", "ReversedException",
};

void wh_kde_settings_free(struct wh_kde_settings *s)
{
  wh_free(s->script);
  for (int k = 0; k < WH_IE_SCHEMES; k++)
    wh_free(s->server[k]);
  wh_free(s->no_proxy_for);
  memset(s, 0, sizeof(*s));
}

static bool is_blank(char c)
{
  return c == ' ' || c == '\t';
}

static void trim(const char **p, size_t *n)
{
  while (*n && is_blank(**p))
    (*p)++, (*n)--;
  while (*n && is_blank((*p)[*n - 1]))
    (*n)--;
}

/* --- group headers ------------------------------------------------------------ */

struct group {
  bool ours;      /* the plain [Proxy Settings] group */
  bool immutable; /* "[$i]" after it */
};

/* Parses a header line "[a][b]...": |ours| when the only name part is
 * "Proxy Settings"; |immutable| when a "[$...i...]" part is present.
 * *file_flag is set for a line that is only "[$i]" (the whole file). A
 * malformed header opens an unknown group. */
static struct group parse_group(const char *p, size_t n, bool *file_flag)
{
  struct group g = {false, false};
  size_t names = 0, flags = 0;
  bool named_ours = false;
  while (n) {
    if (p[0] != '[')
      return (struct group){false, false}; /* text outside brackets */
    const char *close = memchr(p, ']', n);
    if (!close)
      return (struct group){false, false};
    const char *in = p + 1;
    size_t in_len = (size_t)(close - in);
    if (in_len && in[0] == '$') {
      flags++;
      if (memchr(in, 'i', in_len))
        g.immutable = true;
    } else {
      names++;
      named_ours = in_len == 14 && !memcmp(in, "Proxy Settings", 14);
    }
    n -= (size_t)(close - p) + 1;
    p = close + 1;
    trim(&p, &n);
  }
  if (names == 0 && flags > 0 && g.immutable)
    *file_flag = true;
  g.ours = names == 1 && named_ours;
  return g;
}

/* --- entries ---------------------------------------------------------------------- */

enum key_opts { OPT_IMMUTABLE = 1, OPT_DELETE = 2, OPT_LOCALISED = 4, OPT_BAD = 8 };

/* Splits "name[opt][opt]" into the name and its options. */
static unsigned parse_key(const char *p, size_t n, size_t *name_len)
{
  const char *open = memchr(p, '[', n);
  unsigned opts = 0;
  /* The caller trimmed the front; blanks before the options are not part
   * of the name either. */
  *name_len = open ? (size_t)(open - p) : n;
  while (*name_len && is_blank(p[*name_len - 1]))
    (*name_len)--;
  if (!open)
    return opts;
  size_t rest = n - (size_t)(open - p);
  p = open;
  while (rest) {
    if (p[0] != '[')
      return opts | OPT_BAD;
    const char *close = memchr(p, ']', rest);
    if (!close)
      return opts | OPT_BAD;
    const char *in = p + 1;
    size_t in_len = (size_t)(close - in);
    if (in_len && in[0] == '$') {
      if (memchr(in, 'i', in_len))
        opts |= OPT_IMMUTABLE;
      if (memchr(in, 'd', in_len))
        opts |= OPT_DELETE;
    } else {
      opts |= OPT_LOCALISED;
    }
    rest -= (size_t)(close - p) + 1;
    p = close + 1;
    trim(&p, &rest);
  }
  return opts;
}

/* KConfig's escapes decoded into a new string; NULL with *nomem false for
 * a value that holds a NUL (raw or escaped). */
static char *unescape(const char *p, size_t n, bool *nomem)
{
  if (memchr(p, '\0', n))
    return NULL;
  char *out = wh_malloc(n + 1);
  if (!out) {
    *nomem = true;
    return NULL;
  }
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c != '\\') {
      out[o++] = c;
      continue;
    }
    if (++i == n)
      break; /* a lone backslash at the end: nothing escaped */
    switch (p[i]) {
    case 's': out[o++] = ' '; break;
    case 't': out[o++] = '\t'; break;
    case 'n': out[o++] = '\n'; break;
    case 'r': out[o++] = '\r'; break;
    case 'x':
      if (i + 2 < n && wh_hex_value((unsigned char)p[i + 1]) >= 0 &&
          wh_hex_value((unsigned char)p[i + 2]) >= 0) {
        int v = wh_hex_value((unsigned char)p[i + 1]) * 16 + wh_hex_value((unsigned char)p[i + 2]);
        if (v == 0) {
          wh_free(out);
          return NULL;
        }
        out[o++] = (char)v;
        i += 2;
      } else {
        out[o++] = 'x';
      }
      break;
    default: out[o++] = p[i]; break;
    }
  }
  out[o] = '\0';
  return out;
}

static bool parse_bool(const char *v)
{
  static const char *const yes[] = {"true", "on", "yes", "1"};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
    if (wh_casecmp_eqz(v, strlen(v), yes[i]))
      return true;
  return false;
}

static long parse_type(const char *v)
{
  uint64_t t;
  const char *p = v;
  size_t n = strlen(v);
  trim(&p, &n);
  return wh_parse_u64(p, n, 1000000, &t) ? (long)t : 0;
}

static char **string_slot(struct wh_kde_settings *s, int key)
{
  switch (key) {
  case K_SCRIPT: return &s->script;
  case K_HTTP: return &s->server[WH_IE_HTTP];
  case K_HTTPS: return &s->server[WH_IE_HTTPS];
  case K_FTP: return &s->server[WH_IE_FTP];
  case K_SOCKS: return &s->server[WH_IE_SOCKS];
  case K_NO_PROXY: return &s->no_proxy_for;
  default: return NULL;
  }
}

/* Sets |key| to the decoded |value| (NULL: back to the default). Takes
 * ownership of |value|. */
static void set_key(struct wh_kde_settings *s, int key, char *value)
{
  char **slot = string_slot(s, key);
  if (slot) {
    wh_free(*slot);
    *slot = value;
    return;
  }
  if (key == K_TYPE)
    s->proxy_type = value ? parse_type(value) : 0;
  else if (key == K_REVERSED)
    s->reversed = value ? parse_bool(value) : false;
  wh_free(value);
}

/* One "key[opts]=value" line of our group. |locked_before| are the keys
 * earlier files made immutable; *locks collects this file's. */
static bool entry(struct wh_kde_settings *s, const char *p, size_t n, unsigned locked_before,
                  unsigned *locks)
{
  /* KConfig writes a deleted entry as "key[$d]", without '='. */
  const char *eq = memchr(p, '=', n);
  size_t key_len = eq ? (size_t)(eq - p) : n;
  const char *value = eq ? eq + 1 : p + n;
  size_t value_len = eq ? n - key_len - 1 : 0;
  trim(&p, &key_len);
  trim(&value, &value_len);
  size_t name_len;
  unsigned opts = parse_key(p, key_len, &name_len);
  if ((opts & (OPT_BAD | OPT_LOCALISED)) || (!eq && !(opts & OPT_DELETE)))
    return true;
  int key = -1;
  for (int k = 0; k < K_COUNT; k++)
    if (strlen(key_names[k]) == name_len && !memcmp(p, key_names[k], name_len))
      key = k;
  if (key < 0 || (locked_before & (1u << key)))
    return true;
  if (opts & OPT_IMMUTABLE)
    *locks |= 1u << key;
  if (opts & OPT_DELETE) {
    set_key(s, key, NULL);
    return true;
  }
  bool nomem = false;
  char *v = unescape(value, value_len, &nomem);
  if (nomem)
    return false;
  if (v)
    set_key(s, key, v);
  return true;
}

DWORD wh_kioslaverc_parse(const char *text, size_t len, struct wh_kde_settings *s)
{
  const unsigned locked_before = s->locked;
  unsigned locks = 0;
  bool in_ours = false, file_immutable = false;
  size_t i = 0;
  /* A UTF-8 byte order mark is not part of the first line. */
  if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
    i = 3;
  while (i < len) {
    const char *line = text + i;
    const char *nl = memchr(line, '\n', len - i);
    size_t n = nl ? (size_t)(nl - line) : len - i;
    i += n + (nl ? 1 : 0);
    if (n && line[n - 1] == '\r')
      n--;
    trim(&line, &n);
    if (n == 0 || line[0] == '#')
      continue;
    if (line[0] == '[') {
      bool file_flag = false;
      struct group g = parse_group(line, n, &file_flag);
      if (file_flag) {
        file_immutable = true;
        continue;
      }
      in_ours = g.ours;
      if (in_ours && (g.immutable || file_immutable))
        locks = ALL_KEYS;
      continue;
    }
    if (in_ours && !entry(s, line, n, locked_before, &locks)) {
      s->locked |= locks;
      return ERROR_NOT_ENOUGH_MEMORY;
    }
  }
  s->locked |= locks;
  return ERROR_SUCCESS;
}
