/* see desktop_proxy.h. Directories per the XDG Base Directory
 * Specification (XDG_CONFIG_HOME, XDG_CONFIG_DIRS: absolute paths only,
 * the first directory of XDG_CONFIG_DIRS the most important). */
#include "core/desktop_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/gsettings.h"
#include "core/route.h"
#include "policy/gnome_proxy.h"
#include "policy/kde_proxy.h"
#include "policy/kioslaverc.h"
#include "util/mem.h"
#include "util/str.h"

/* A kioslaverc is a few hundred bytes; a larger file is not one. */
#define KIOSLAVERC_MAX (1024 * 1024)
/* XDG_CONFIG_DIRS entries considered; more is not a real configuration. */
#define CONFIG_DIRS_MAX 32

static const char *env_get(const char *name, void *ctx)
{
  (void)ctx;
  return secure_getenv(name);
}

bool wh_kde_session(void)
{
  const char *d = secure_getenv("XDG_CURRENT_DESKTOP");
  while (d && *d) {
    const char *end = strchr(d, ':');
    size_t n = end ? (size_t)(end - d) : strlen(d);
    if (wh_casecmp_eqz(d, n, "KDE"))
      return true;
    d = end ? end + 1 : NULL;
  }
  return false;
}

/* Reads the file at |path| into |s|. A file that is missing, unreadable,
 * not a regular file or too big is skipped (success): KDE reads the other
 * files of the cascade in that case too. */
static DWORD read_kioslaverc(const char *path, struct wh_kde_settings *s)
{
  /* O_NONBLOCK: opening a FIFO put in the file's place must not wait. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return ERROR_SUCCESS;
  struct stat st;
  char *text = NULL;
  DWORD err = ERROR_SUCCESS;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > KIOSLAVERC_MAX)
    goto out;
  /* One byte more than the size, to see a file that grew meanwhile (being
   * rewritten: skipped, as a half-written file would be). */
  size_t cap = (size_t)st.st_size + 1;
  text = wh_malloc(cap);
  if (!text) {
    err = ERROR_NOT_ENOUGH_MEMORY;
    goto out;
  }
  size_t len = 0;
  while (len < cap) {
    ssize_t r = read(fd, text + len, cap - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      goto out; /* unreadable: skipped */
    if (r == 0)
      break;
    len += (size_t)r;
  }
  if (len < cap)
    err = wh_kioslaverc_parse(text, len, s);
out:
  wh_free(text);
  close(fd);
  return err;
}

/* "<dir>/kioslaverc" from the |n| bytes of |dir|. */
static DWORD read_in_dir(const char *dir, size_t n, void *ctx)
{
  char path[PATH_MAX];
  if (n > INT_MAX)
    return ERROR_SUCCESS;
  int w = snprintf(path, sizeof(path), "%.*s/kioslaverc", (int)n, dir);
  if (w < 0 || (size_t)w >= sizeof(path))
    return ERROR_SUCCESS;
  return read_kioslaverc(path, ctx);
}

/* |fn| for |dir| when it is absolute (the XDG rule) and short enough. */
static DWORD one_dir(const char *dir, size_t n, DWORD (*fn)(const char *, size_t, void *),
                     void *ctx)
{
  if (n == 0 || dir[0] != '/' || n >= PATH_MAX - sizeof("/kioslaverc"))
    return ERROR_SUCCESS;
  return fn(dir, n, ctx);
}

DWORD wh_kde_dirs_each(DWORD (*fn)(const char *dir, size_t n, void *ctx), void *ctx)
{
  /* The system directories, least important (last) first. */
  const char *dirs = secure_getenv("XDG_CONFIG_DIRS");
  if (!dirs || !dirs[0])
    dirs = "/etc/xdg";
  const char *start[CONFIG_DIRS_MAX];
  size_t len[CONFIG_DIRS_MAX], count = 0;
  for (const char *p = dirs; p && count < CONFIG_DIRS_MAX;) {
    const char *end = strchr(p, ':');
    start[count] = p;
    len[count++] = end ? (size_t)(end - p) : strlen(p);
    p = end ? end + 1 : NULL;
  }
  for (size_t i = count; i > 0; i--) {
    DWORD err = one_dir(start[i - 1], len[i - 1], fn, ctx);
    if (err != ERROR_SUCCESS)
      return err;
  }
  /* The user's, most important. */
  const char *home_config = secure_getenv("XDG_CONFIG_HOME");
  if (home_config && home_config[0] == '/')
    return one_dir(home_config, strlen(home_config), fn, ctx);
  const char *home = secure_getenv("HOME");
  if (!home || home[0] != '/')
    return ERROR_SUCCESS;
  char dir[PATH_MAX];
  int w = snprintf(dir, sizeof(dir), "%s/.config", home);
  if (w < 0 || (size_t)w >= sizeof(dir))
    return ERROR_SUCCESS;
  return one_dir(dir, (size_t)w, fn, ctx);
}

static DWORD from_kde(struct wh_ie_proxy *out)
{
  struct wh_kde_settings s;
  memset(&s, 0, sizeof(s));
  DWORD err = wh_kde_dirs_each(read_in_dir, &s);
  if (err == ERROR_SUCCESS)
    err = wh_kde_proxy_map(&s, env_get, NULL, out);
  wh_kde_settings_free(&s);
  return err;
}

static DWORD from_gnome(struct wh_ie_proxy *out)
{
  struct wh_gnome_proxy g;
  bool found;
  DWORD err = wh_gsettings_proxy(&g, &found);
  if (err == ERROR_SUCCESS && found)
    err = wh_gnome_proxy_map(&g, out);
  wh_gnome_proxy_free(&g);
  return err;
}

DWORD wh_user_proxy(struct wh_ie_proxy *out)
{
  memset(out, 0, sizeof(*out));
  DWORD err;
  if (wh_kde_session()) {
    err = from_kde(out);
    if (err != ERROR_SUCCESS || wh_ie_proxy_configured(out))
      goto done;
    wh_ie_proxy_clear(out);
  }
  err = from_gnome(out);
  if (err != ERROR_SUCCESS || wh_ie_proxy_configured(out))
    goto done;
  wh_ie_proxy_clear(out);
  err = wh_env_proxy(&out->proxy, &out->bypass);
done:
  if (err != ERROR_SUCCESS)
    wh_ie_proxy_clear(out);
  return err;
}
