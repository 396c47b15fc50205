/* Shared by the two files of core/autoproxy (autoproxy.c: the context
 * and its cache; autoproxy_job.c: lookups as jobs). */
#ifndef WH_CORE_AUTOPROXY_INT_H
#define WH_CORE_AUTOPROXY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/autoproxy.h"

/* One lookup, blocking: the script (from |ap|'s cache or fetched:
 * detection first when |detect|, then |pac_url|), a helper with it loaded,
 * and its answer for |url| and |host|, parsed into |out| (*n entries).
 * |cancel_fd| (an eventfd) ends a wait for the helper when signalled
 * (ERROR_WINHTTP_OPERATION_CANCELLED). Errors as wh_autoproxy_finish's. */
DWORD wh_autoproxy_evaluate(struct wh_autoproxy *ap, bool detect, const char *pac_url,
                            const char *url, const char *host,
                            const struct wh_pac_fetch_limits *lim, int cancel_fd,
                            struct wh_pac_entry *out, size_t *n);

#endif
