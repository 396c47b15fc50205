/* Proxy auto-configuration: finding a PAC script (WPAD by DNS, or the URL
 * the application gives), downloading it, running it in PAC helper
 * processes (net/pac_proc.h), and the per-session cache Windows keeps
 * ("Autoproxy Cache": one autoproxy URL and script per session, kept until
 * the machine's IP addresses change). Behind WinHttpGetProxyForUrl, the
 * resolver functions (core/resolver.h) and the requests of
 * WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY sessions (core/route.h).
 *
 * A lookup is a job: it runs on a worker thread (net/work.h), since every
 * step blocks (name lookups, the download, the helper), and signals an
 * eventfd when done, which a synchronous caller waits on with its deadline
 * and cancellation fd, and a loop thread watches like a socket. A caller
 * that gives up abandons the job: a helper working for it is killed at
 * once, a download goes on to its own timeouts; the job then frees
 * itself.
 *
 * The session's context (struct wh_autoproxy, reference-counted: jobs hold
 * one, so a session may close under them) caches:
 *  - the outcome of WPAD detection: the script found, or the failure;
 *  - the script of the last PAC URL asked for, or its failure;
 *  - PAC helpers with that script loaded, kept alive between lookups (at
 *    most WH_AUTOPROXY_HELPERS at once; each serves one lookup at a time).
 * A script is kept an hour at most, a failure a minute, and both are
 * dropped when the machine's addresses change or on WinHttpResetAutoProxy.
 * A script that fails to load is remembered with it (its next lookups fail
 * at once, without a helper). */
#ifndef WH_CORE_AUTOPROXY_H
#define WH_CORE_AUTOPROXY_H

#include <stdbool.h>
#include <stddef.h>

#include <winhttp.h>

#include "policy/pac_result.h"

#define WH_AUTOPROXY_HELPERS 4

/* How long a script may run for one call (its loading, or one
 * FindProxyForURL): Microsoft documents 60 seconds for Windows XP SP2 and
 * Server 2003 ("AutoProxy Issues in WinHTTP"); later versions say nothing. */
#define WH_AUTOPROXY_SCRIPT_MS 60000

/* The time limits of a PAC download: the session's timeouts. */
struct wh_pac_fetch_limits {
  DWORD resolve_ms, connect_ms, send_ms, receive_ms;
};

/* Downloads |url| (http or https) with the library's own engine and no
 * proxy: on success *body (wh_free, NUL-terminated) holds at most |max|
 * bytes. ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT for anything but a 200
 * with a body of at most |max| bytes (a network failure, a timeout, another
 * status), ERROR_NOT_ENOUGH_MEMORY. The api ring provides it
 * (api/pac_fetch.c: it uses the public functions) and registers it with
 * wh_autoproxy_set_fetcher before any session exists. */
typedef DWORD (*wh_pac_fetch_fn)(const char *url, const struct wh_pac_fetch_limits *lim,
                                 size_t max, char **body, size_t *len);
void wh_autoproxy_set_fetcher(wh_pac_fetch_fn fn);

struct wh_autoproxy;

/* A new context, or NULL when out of memory. */
struct wh_autoproxy *wh_autoproxy_new(void);
void wh_autoproxy_ref(struct wh_autoproxy *ap);
/* Drops a reference; the last one kills the context's helpers. */
void wh_autoproxy_unref(struct wh_autoproxy *ap);
/* WinHttpResetAutoProxy: forgets every cached outcome and kills the idle
 * helpers; lookups in progress finish with what they have. */
void wh_autoproxy_reset(struct wh_autoproxy *ap);

/* What to look up: copied by wh_autoproxy_start. */
struct wh_autoproxy_query {
  bool detect;           /* WINHTTP_AUTOPROXY_AUTO_DETECT (by DNS) */
  const char *pac_url;   /* WINHTTP_AUTOPROXY_CONFIG_URL's URL, or NULL */
  const char *url;       /* the URL FindProxyForURL is asked about */
  const char *host;      /* and its host */
  struct wh_pac_fetch_limits limits;
};

struct wh_autoproxy_job;

/* Starts a lookup in |ap|. Detection comes first when asked for, then the
 * PAC URL (Microsoft: the URL is the fallback when detection fails).
 * Returns ERROR_SUCCESS with *out set, or ERROR_NOT_ENOUGH_MEMORY (no job,
 * or no worker thread could be started). */
DWORD wh_autoproxy_start(struct wh_autoproxy *ap, const struct wh_autoproxy_query *q,
                         struct wh_autoproxy_job **out);
/* Readable once the job is done. */
int wh_autoproxy_fd(const struct wh_autoproxy_job *j);
/* Collects a finished job's outcome and frees it (call only once its fd
 * is readable). On success the script's answer, parsed, is in |out| (*n
 * entries, at least one). Errors: ERROR_WINHTTP_AUTODETECTION_FAILED (no
 * WPAD script, and no PAC URL), ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT,
 * ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT (it does not load, throws, overruns
 * its time, answers something that is not a proxy list),
 * ERROR_WINHTTP_AUTO_PROXY_SERVICE_ERROR (no helper could be started),
 * ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_autoproxy_finish(struct wh_autoproxy_job *j, struct wh_pac_entry out[WH_PAC_MAX_ENTRIES],
                          size_t *n);
/* Gives up on a job that is not finished (or is): never blocks. */
void wh_autoproxy_abandon(struct wh_autoproxy_job *j);

/* Runs a job to its end on the calling thread's behalf: waits on its fd
 * until done (or, when |cancel_fd| >= 0 is signalled, abandons it and
 * returns ERROR_WINHTTP_OPERATION_CANCELLED). Same results as
 * wh_autoproxy_finish. */
DWORD wh_autoproxy_run_sync(struct wh_autoproxy *ap, const struct wh_autoproxy_query *q,
                            int cancel_fd, struct wh_pac_entry out[WH_PAC_MAX_ENTRIES],
                            size_t *n);

/* WPAD by DNS (core/wpad.c): the URL of the first candidate name
 * (policy/wpad.h) that resolves, "http://wpad.<domain>/wpad.dat", as
 * WinHttpDetectAutoProxyConfigUrl reports it (it does not download).
 * ERROR_SUCCESS with *url (wh_free), ERROR_WINHTTP_AUTODETECTION_FAILED,
 * ERROR_NOT_ENOUGH_MEMORY. Blocks for the name lookups. */
DWORD wh_wpad_detect(char **url);

/* The candidates' URLs in order, for detection that downloads: calls
 * |try_url| with each candidate that resolves until it returns
 * ERROR_SUCCESS (or ERROR_NOT_ENOUGH_MEMORY), and returns that; otherwise
 * ERROR_WINHTTP_AUTODETECTION_FAILED when no name resolved, else the last
 * |try_url| error. */
DWORD wh_wpad_each(DWORD (*try_url)(const char *url, void *arg), void *arg);

/* Test seams (white-box tests only; never set by the library itself):
 *  - detection uses |domains| (white space between them) in place of the
 *    machine's search list, and among the candidate names only |name|
 *    "resolves", its script being at |url| (which may name any port)
 *    instead of http://|name|/wpad.dat. NULL |domains| restores the
 *    machine's own detection. No name is looked up in DNS while set.
 *  - the script time limit, in place of WH_AUTOPROXY_SCRIPT_MS (0 restores
 *    it). */
void wh_wpad_test_seam(const char *domains, const char *name, const char *url);
void wh_autoproxy_test_script_ms(long ms);

#endif
