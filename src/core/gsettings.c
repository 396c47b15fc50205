/* see gsettings.h. The GIO calls are those of GLib's documented API
 * (GSettingsSchemaSource, GSettingsSchema, GSettings, GVariant), declared
 * here by hand with opaque pointers so that no GLib header is needed to
 * build. */
#include "core/gsettings.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

#include "util/mem.h"

/* The schema and its four children, in the order of WH_IE_* after the
 * parent. */
enum { S_PROXY, S_HTTP, S_HTTPS, S_FTP, S_SOCKS, S_COUNT };
static const char *const schema_ids[S_COUNT] = {
    "org.gnome.system.proxy",       "org.gnome.system.proxy.http",
    "org.gnome.system.proxy.https", "org.gnome.system.proxy.ftp",
    "org.gnome.system.proxy.socks",
};

/* No list a user keeps comes near these; they bound what a corrupt
 * backend can make us copy. */
#define IGNORE_MAX 4096u
#define STRING_MAX (64u * 1024u)

/* GLib's types, opaque: gboolean is int, gsize is size_t, gint32 is
 * int32_t on every platform GLib supports. */
struct gio {
  void *(*source_get_default)(void);
  void *(*source_lookup)(void *source, const char *id, int recursive);
  int (*schema_has_key)(void *schema, const char *name);
  void *(*settings_new_full)(void *schema, void *backend, const char *path);
  void *(*get_value)(void *settings, const char *key);
  int (*is_of_type)(void *value, const void *type);
  const char *(*get_string)(void *value, size_t *length);
  int32_t (*get_int32)(void *value);
  const char **(*get_strv)(void *value, size_t *length);
  void (*variant_unref)(void *value);
  void (*g_free)(void *p);
  /* Kept for the life of the process: GIO cannot be unloaded, and the
   * objects are what GLib's own proxy resolver keeps too. NULL for a
   * schema that is not installed (a child only; without the parent
   * nothing is kept). */
  void *schema[S_COUNT];
  void *settings[S_COUNT];
  bool ready;
};

static struct gio gio;
static pthread_once_t gio_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t gio_lock = PTHREAD_MUTEX_INITIALIZER;

_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "dlsym returns function pointers as void *");

/* Resolves |name| into the function pointer at |slot| (POSIX: dlsym's
 * result converts to a function pointer; memcpy says so without a cast
 * between object and function pointer types). */
static bool resolve(void *handle, const char *name, void *slot)
{
  void *sym = dlsym(handle, name);
  if (!sym)
    return false;
  memcpy(slot, &sym, sizeof(sym));
  return true;
}

static void load(void)
{
  /* A set-user-ID program does not load modules chosen by the
   * environment of whoever started it. */
  if (getauxval(AT_SECURE))
    return;
  /* RTLD_NODELETE: GLib registers types and may start threads; it can
   * never be unloaded. RTLD_LOCAL: its symbols do not become the
   * program's. An application that links GLib itself gets the same copy. */
  void *h = dlopen("libgio-2.0.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!h)
    return;
  /* dlsym on a handle searches its dependencies too (libglib,
   * libgobject), where the GVariant functions and g_free live. */
  struct gio g = {0};
  if (!resolve(h, "g_settings_schema_source_get_default", &g.source_get_default) ||
      !resolve(h, "g_settings_schema_source_lookup", &g.source_lookup) ||
      !resolve(h, "g_settings_schema_has_key", &g.schema_has_key) ||
      !resolve(h, "g_settings_new_full", &g.settings_new_full) ||
      !resolve(h, "g_settings_get_value", &g.get_value) ||
      !resolve(h, "g_variant_is_of_type", &g.is_of_type) ||
      !resolve(h, "g_variant_get_string", &g.get_string) ||
      !resolve(h, "g_variant_get_int32", &g.get_int32) ||
      !resolve(h, "g_variant_get_strv", &g.get_strv) ||
      !resolve(h, "g_variant_unref", &g.variant_unref) || !resolve(h, "g_free", &g.g_free))
    return;
  void *source = g.source_get_default();
  if (!source)
    return; /* no schema installed at all */
  for (int i = 0; i < S_COUNT; i++) {
    g.schema[i] = g.source_lookup(source, schema_ids[i], 1);
    if (!g.schema[i] && i == S_PROXY)
      return;
  }
  for (int i = 0; i < S_COUNT; i++)
    if (g.schema[i])
      g.settings[i] = g.settings_new_full(g.schema[i], NULL, NULL);
  if (!g.settings[S_PROXY])
    return;
  g.ready = true;
  gio = g;
}

/* The value of |key| in settings |i| when the installed schema has the key
 * and the value has the GVariant |type| ("s", "i", "as"); NULL otherwise.
 * The caller unrefs it. */
static void *value_of(int i, const char *key, const char *type)
{
  if (!gio.settings[i] || !gio.schema_has_key(gio.schema[i], key))
    return NULL;
  void *v = gio.get_value(gio.settings[i], key);
  if (v && !gio.is_of_type(v, type)) {
    gio.variant_unref(v);
    v = NULL;
  }
  return v;
}

/* A copy of string |key| of settings |i|, or NULL (*nomem set when out of
 * memory). */
static char *read_string(int i, const char *key, bool *nomem)
{
  void *v = value_of(i, key, "s");
  if (!v)
    return NULL;
  size_t n = 0;
  const char *s = gio.get_string(v, &n);
  char *copy = NULL;
  if (s && n <= STRING_MAX && !(copy = wh_strndup(s, n)))
    *nomem = true;
  gio.variant_unref(v);
  return copy;
}

static int read_int(int i, const char *key)
{
  void *v = value_of(i, key, "i");
  if (!v)
    return 0;
  int32_t n = gio.get_int32(v);
  gio.variant_unref(v);
  return n;
}

static bool read_ignore(struct wh_gnome_proxy *g)
{
  void *v = value_of(S_PROXY, "ignore-hosts", "as");
  if (!v)
    return true;
  size_t n = 0;
  const char **strv = gio.get_strv(v, &n);
  bool ok = true;
  if (strv && n) {
    if (n > IGNORE_MAX)
      n = IGNORE_MAX;
    g->ignore_hosts = wh_calloc(n, sizeof(char *));
    ok = g->ignore_hosts != NULL;
    for (size_t k = 0; ok && k < n; k++) {
      size_t len = strlen(strv[k]);
      if (len > STRING_MAX)
        continue;
      if (!(g->ignore_hosts[g->n_ignore] = wh_strndup(strv[k], len)))
        ok = false;
      else
        g->n_ignore++;
    }
  }
  gio.g_free(strv);
  gio.variant_unref(v);
  return ok;
}

DWORD wh_gsettings_proxy(struct wh_gnome_proxy *g, bool *found)
{
  memset(g, 0, sizeof(*g));
  *found = false;
  pthread_once(&gio_once, load);
  if (!gio.ready)
    return ERROR_SUCCESS;
  bool nomem = false;
  pthread_mutex_lock(&gio_lock);
  g->mode = read_string(S_PROXY, "mode", &nomem);
  g->autoconfig_url = read_string(S_PROXY, "autoconfig-url", &nomem);
  for (int k = 0; k < WH_IE_SCHEMES; k++) {
    g->host[k] = read_string(S_HTTP + k, "host", &nomem);
    g->port[k] = read_int(S_HTTP + k, "port");
  }
  if (!read_ignore(g))
    nomem = true;
  pthread_mutex_unlock(&gio_lock);
  if (nomem) {
    wh_gnome_proxy_free(g);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  *found = true;
  return ERROR_SUCCESS;
}
