/* KDE's proxy settings file, kioslaverc: the [Proxy Settings] group read
 * from the text of one file (the caller reads the files; core/
 * desktop_proxy.c). Mapped to Windows' settings by policy/kde_proxy.h.
 *
 * The format is KConfig's INI dialect, as KDE Frameworks write it:
 *
 *   # comment
 *   [Proxy Settings]
 *   ProxyType=1
 *   httpProxy=http://proxy.example 8080
 *   NoProxyFor=localhost,.corp.example
 *   Proxy Config Script=http://wpad.example/proxy.pac
 *
 * Lines end with LF (a CR before it is dropped); white space around keys
 * and values is not part of them; the first '=' separates key and value;
 * a line whose first non-blank character is '#' is a comment. Keys are
 * case-sensitive. Values use KConfig's escapes: \s space, \t, \n, \r,
 * \\, \xHH; any other escaped character stands for itself. Only the
 * plain group "[Proxy Settings]" counts ("[Proxy Settings][Sub]" is
 * another group). Options in brackets after a key or a group:
 *   [$i]  immutable: a later (more local) file cannot change the key, or
 *         any key of the group; "[$i]" alone before the first group makes
 *         every group of the file immutable (how administrators lock the
 *         settings in /etc/xdg/kioslaverc);
 *   [$d]  the key is deleted: back to its default ("key[$d]" needs no
 *         '=', as KConfig writes it);
 *   [$e]  shell expansion of the value: NOT performed (a library does not
 *         run the shell on a configuration file); the value is taken as
 *         written, which for a proxy usually means it is ignored later;
 *   [xx]  a localised value ("key[de]"): ignored, only the plain key
 *         counts.
 * Unknown keys and groups, lines without '=', malformed group headers
 * (which open an unknown group) and values holding a NUL are skipped.
 * ProxyType that is not a decimal number is 0, as KConfig reads it;
 * ReversedException is true for "true", "on", "yes" or "1" (any case).
 *
 * Files cascade: wh_kioslaverc_parse applies one file on top of what
 * earlier files set, so the caller passes the system-wide files first
 * ($XDG_CONFIG_DIRS, least important first) and the user's last.
 *
 * Pure: no I/O, no locks, no globals; safe from any thread. */
#ifndef WH_POLICY_KIOSLAVERC_H
#define WH_POLICY_KIOSLAVERC_H

#include <stdbool.h>
#include <stddef.h>

#include <winhttp.h>

#include "policy/ie_proxy.h"

/* KDE's ProxyType values (KProtocolManager::ProxyType). */
enum wh_kde_proxy_type {
  WH_KDE_NO_PROXY = 0,
  WH_KDE_MANUAL = 1,
  WH_KDE_PAC = 2,
  WH_KDE_WPAD = 3,
  WH_KDE_ENV = 4
};

/* The [Proxy Settings] values; zero-initialise before the first file.
 * Strings are NULL when not set, else owned (wh_kde_settings_free). */
struct wh_kde_settings {
  long proxy_type;                /* ProxyType */
  char *script;                   /* Proxy Config Script */
  char *server[WH_IE_SCHEMES];    /* httpProxy, httpsProxy, ftpProxy, socksProxy */
  char *no_proxy_for;             /* NoProxyFor */
  bool reversed;                  /* ReversedException */
  unsigned locked;                /* keys made immutable by a file already read */
};

/* Frees what |s| owns and zeroes it. */
void wh_kde_settings_free(struct wh_kde_settings *s);

/* Applies the [Proxy Settings] entries of the |len| bytes at |text| (one
 * file, need not be NUL-terminated) to |s|. ERROR_SUCCESS, or
 * ERROR_NOT_ENOUGH_MEMORY; |s| is then partly updated but consistent
 * (still to be freed with wh_kde_settings_free). */
DWORD wh_kioslaverc_parse(const char *text, size_t len, struct wh_kde_settings *s);

#endif
