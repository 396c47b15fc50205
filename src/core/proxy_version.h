/* The version of the current user's proxy settings, which Windows keeps
 * with the settings themselves (WINHTTP_PROXY_SETTINGS'
 * dwCurrentSettingsVersion, WinHttpGetProxySettingsVersion,
 * WINHTTP_PROXY_SETTINGS_EX's ullGenerationId: "incremented each time the
 * configuration is changed").
 *
 * Linux's settings (the desktop's, the environment: core/desktop_proxy.h)
 * carry no version, so this process keeps one: every read of the settings
 * is fingerprinted (policy/ie_proxy.h), and the version goes up by one
 * whenever a read finds a fingerprint other than the previous read's. The
 * first read gives 1. Equal settings read twice give the same version; a
 * change between two reads gives a higher one. Changes made and undone
 * between two reads are not seen (the settings are the same). The count
 * is this process's: another process reading the same settings may hold
 * another number.
 *
 * Thread-safe: one leaf mutex around two words, held for a comparison. */
#ifndef WH_CORE_PROXY_VERSION_H
#define WH_CORE_PROXY_VERSION_H

#include <winhttp.h>

#include "policy/ie_proxy.h"

/* wh_user_proxy (core/desktop_proxy.h), and the version of what it read in
 * *version. Same contract as wh_user_proxy; *version is set only on
 * success. */
DWORD wh_user_proxy_versioned(struct wh_ie_proxy *out, DWORD *version);

#endif
