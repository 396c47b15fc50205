/* The current user's proxy settings, the Linux counterpart of Internet
 * Explorer's (WinHttpGetIEProxyConfigForCurrentUser): the desktop's proxy
 * settings where the desktop has some, the environment otherwise.
 *
 * Where they are looked for, first that configures something wins:
 *  1. KDE, when XDG_CURRENT_DESKTOP names it (a ':'-separated list; the
 *     entry "KDE", any case): kioslaverc from each directory of
 *     XDG_CONFIG_DIRS (default /etc/xdg), least important first, then
 *     from XDG_CONFIG_HOME (default ~/.config), cascading as KConfig does
 *     (policy/kioslaverc.h, policy/kde_proxy.h). Outside a KDE session the
 *     file is not read: a kioslaverc left by an earlier session must not
 *     steer another desktop's programs.
 *  2. GNOME's GSettings (org.gnome.system.proxy), whenever GIO and the
 *     schema are installed (core/gsettings.h, policy/gnome_proxy.h): other
 *     desktops (Cinnamon, MATE, Xfce, Budgie, Unity) and GTK programs
 *     under KDE use the same settings.
 *  3. The environment (core/route.h wh_env_proxy): http_proxy,
 *     https_proxy, no_proxy.
 * "Configures something" means WPAD, a PAC URL or at least one usable
 * proxy server. GNOME's mode "none" and KDE's ProxyType 0 are both the
 * desktops' defaults, which a user who never opened the settings has, so
 * they cannot be told from "not configured" and fall through to the
 * environment. Variables are read with secure_getenv, so a
 * set-user-ID program sees none of the invoker's choices, and GIO is not
 * loaded there (core/gsettings.h).
 *
 * Thread-safe; reads the files and the settings at each call. */
#ifndef WH_CORE_DESKTOP_PROXY_H
#define WH_CORE_DESKTOP_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include <winhttp.h>

#include "policy/ie_proxy.h"

/* Fills |out| (zeroed first; the caller frees it with wh_ie_proxy_clear).
 * Nothing configured anywhere leaves it clear. ERROR_SUCCESS, or
 * ERROR_NOT_ENOUGH_MEMORY with |out| clear. */
DWORD wh_user_proxy(struct wh_ie_proxy *out);

/* True when XDG_CURRENT_DESKTOP names KDE (kioslaverc is read only then). */
bool wh_kde_session(void);

/* Calls |fn| with each directory whose kioslaverc the KDE settings come
 * from (|n| bytes at |dir|, not NUL-terminated), least important first:
 * XDG_CONFIG_DIRS last to first, then XDG_CONFIG_HOME (or ~/.config).
 * Relative and overlong paths are skipped. Stops at, and returns, the
 * first result other than ERROR_SUCCESS. core/proxy_notify.c watches the
 * same directories. */
DWORD wh_kde_dirs_each(DWORD (*fn)(const char *dir, size_t n, void *ctx), void *ctx);

#endif
