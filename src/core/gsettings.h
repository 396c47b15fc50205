/* GNOME's proxy settings read through GSettings (GIO), loaded at run time.
 *
 * The library has no link dependency on GLib: the first call dlopens
 * libgio-2.0.so.0 (which brings libglib and libgobject with it). When it
 * is missing, or the schema org.gnome.system.proxy (Debian's
 * gsettings-desktop-schemas) is not installed, there are no GNOME
 * settings. The schema is looked up in the default schema source first:
 * g_settings_new on a schema that is not installed aborts the process.
 * Each key is checked to exist in the installed schema (asking for a key
 * a schema lacks aborts too) and each value to have the expected type
 * before it is read, so an odd schema or backend cannot crash the caller.
 *
 * Side effects a program inherits by calling this, as with any GLib
 * client: GIO's settings backend is loaded (dconf on a desktop), and GLib
 * may start its helper threads (its worker thread, GDBus's for dconf's
 * change notifications). GIO reads its environment (GSETTINGS_BACKEND,
 * XDG_CONFIG_HOME, XDG_DATA_DIRS, ...) when it first loads; later changes
 * to those variables in the process are not seen. In a set-user-ID or
 * set-group-ID program (AT_SECURE) GIO is never loaded: its module
 * loading and its environment are the invoking user's to control.
 *
 * Thread-safe: the loading runs once (pthread_once), and the reads are
 * serialised by one lock, since not every settings backend documents
 * reads from several threads as safe; the call is not on a hot path. */
#ifndef WH_CORE_GSETTINGS_H
#define WH_CORE_GSETTINGS_H

#include <stdbool.h>

#include <winhttp.h>

#include "policy/gnome_proxy.h"

/* Reads the settings into |g| (zeroed first; the caller frees it with
 * wh_gnome_proxy_free). *found is false, with |g| empty, when GIO or the
 * schema is unavailable. ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY (with
 * |g| empty). */
DWORD wh_gsettings_proxy(struct wh_gnome_proxy *g, bool *found);

#endif
