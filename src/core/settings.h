/* Option values that a session hands down to the connections and requests
 * created under it. Each child copies its parent's settings at creation
 * (Windows: options set on a session later do not change existing
 * requests). Guarded by the owning object's lock. */
#ifndef WH_CORE_SETTINGS_H
#define WH_CORE_SETTINGS_H

#include <winhttp.h>

struct wh_settings {
  /* Timeouts in milliseconds as the caller gave them; 0xFFFFFFFF (-1) and 0
   * mean infinite where Windows says so. */
  DWORD resolve_timeout;
  DWORD connect_timeout;
  DWORD send_timeout;
  DWORD receive_timeout;
  DWORD receive_response_timeout;
};

/* Windows' defaults (Microsoft's WinHttpSetTimeouts documentation). */
void wh_settings_defaults(struct wh_settings *s);

#endif
