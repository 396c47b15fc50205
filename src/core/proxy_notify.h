/* Proxy change notifications (WinHttpRegisterProxyChangeNotification):
 * registered callbacks are called when the effective proxy settings
 * change.
 *
 * "Effective" here is what this library would report or use: the current
 * user's settings (core/desktop_proxy.h) and the process default
 * (WinHttpSetDefaultProxyConfiguration, else the environment:
 * core/route.h wh_default_proxy). What can be seen changing, and how:
 *  - the process default: WinHttpSetDefaultProxyConfiguration pokes the
 *    watcher (wh_proxy_notify_poke);
 *  - KDE's kioslaverc files, in a KDE session: the directories they live
 *    in (wh_kde_dirs_each) are watched with inotify, so KDE's own way of
 *    writing them (a new file renamed over the old) is seen too.
 * Not watched: GNOME's GSettings, which report changes only through a GLib
 * main loop the library does not run (and dconf's database file, watched
 * directly, changes before dconf lets readers see the new values, so a
 * change could be read as no change); the environment, which only the
 * process itself can change, behind the library's back (setenv).
 *
 * Each possible change is checked, not assumed: the effective settings are
 * read again and fingerprinted (policy/ie_proxy.h), and only a different
 * fingerprint calls the callbacks. A change made and undone before the
 * watcher reads is not reported.
 *
 * Threads: one watcher thread, started by the first registration and ended
 * when the last one goes, waits on the inotify descriptor and an eventfd
 * (no polling, no timer) and calls the callbacks, one after another, with
 * no lock held. A callback may register or unregister anything, itself
 * included. After wh_proxy_notify_unregister returns, that registration's
 * callback is not running and is never called again, except when it is
 * called from that callback itself (then the call in progress ends
 * normally). */
#ifndef WH_CORE_PROXY_NOTIFY_H
#define WH_CORE_PROXY_NOTIFY_H

#include <stdint.h>

#include <winhttp.h>

/* Registers |fn| (not NULL), to be called as fn(flags, ctx) on each
 * change; *id identifies the registration (never 0, never reused).
 * ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY (also when no descriptor or
 * thread is left for the watcher, or the inotify watch limit is reached). */
DWORD wh_proxy_notify_register(ULONGLONG flags, WINHTTP_PROXY_CHANGE_CALLBACK fn, PVOID ctx,
                               uint64_t *id);

/* Ends registration |id|: ERROR_SUCCESS, or ERROR_INVALID_HANDLE when no
 * such registration exists (never made, or already ended). Waits for a
 * call of its callback in progress on the watcher thread, unless called
 * from that very call. */
DWORD wh_proxy_notify_unregister(uint64_t id);

/* The process default proxy changed (core/route.c): the watcher, if any,
 * checks the settings again. Takes one leaf lock; call with no lock held. */
void wh_proxy_notify_poke(void);

#endif
