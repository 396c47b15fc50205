/* The PAC download with the library's own engine (pac_fetch.c), which
 * WinHttpOpen registers with core/autoproxy.h. */
#ifndef WH_API_PAC_FETCH_H
#define WH_API_PAC_FETCH_H

#include "core/autoproxy.h"

/* A wh_pac_fetch_fn (core/autoproxy.h). */
DWORD wh_api_pac_fetch(const char *url, const struct wh_pac_fetch_limits *lim, size_t max,
                       char **body, size_t *len);

#endif
