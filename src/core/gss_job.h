/* A Negotiate handshake's first leg on a worker thread (net/work.h).
 *
 * Starting a Kerberos context may ask the KDC for a service ticket: a
 * network round trip inside the GSSAPI library, seconds long when the KDC
 * is slow or unreachable (each of its addresses tried with growing
 * timeouts). On a loop thread that would stall every other request the
 * loop serves, so an asynchronous request runs wh_gss_start here and
 * waits on the job's eventfd like on a socket. Synchronous requests call
 * wh_gss_start directly: their thread is the application's own.
 *
 * A job belongs to its request until finished or abandoned; an abandoned
 * one (the request closed meanwhile) frees itself, and what it made, when
 * the library call returns: that call cannot be interrupted. */
#ifndef WH_CORE_GSS_JOB_H
#define WH_CORE_GSS_JOB_H

#include <stdbool.h>

#include <winhttp.h>

struct wh_gss;
struct wh_gss_job;

/* Starts wh_gss_start(|scheme|, |host|, |user|, |pass|) on a worker; the
 * strings are copied (the password wiped when freed). ERROR_SUCCESS with
 * *out, ERROR_NOT_ENOUGH_MEMORY (no memory, descriptor or worker). */
DWORD wh_gss_job_start(DWORD scheme, const char *host, const char *user, const char *pass,
                       struct wh_gss_job **out);
/* The eventfd that becomes readable when the job is done. */
int wh_gss_job_fd(const struct wh_gss_job *j);
/* Whether it is done (then wh_gss_job_finish does not wait). */
bool wh_gss_job_done(const struct wh_gss_job *j);
/* Takes a done job's result and frees the job: what wh_gss_start
 * returned, with *ctx and *out as it set them. */
DWORD wh_gss_job_finish(struct wh_gss_job *j, struct wh_gss **ctx, char **out);
/* Gives the job up: it frees itself and its result once done. NULL is
 * fine. */
void wh_gss_job_abandon(struct wh_gss_job *j);

#endif
