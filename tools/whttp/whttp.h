/* whttp: a command-line HTTP client built only on the public WinHTTP API
 * (winhttp.h, linked against libwinhttp). Declarations shared by its files. */
#ifndef WHTTP_H
#define WHTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <winhttp.h>

/* Exit statuses (curl's numbers where curl has one); whttp --help and the
 * man page carry the same table. */
enum whttp_exit {
  WX_OK = 0,
  WX_SCHEME = 1,     /* URL scheme is neither http nor https */
  WX_USAGE = 2,      /* bad command line */
  WX_URL = 3,        /* malformed URL */
  WX_UNSUPPORTED = 4, /* the library does not implement something needed */
  WX_RESOLVE = 6,    /* host name not resolved */
  WX_CONNECT = 7,    /* cannot connect */
  WX_HTTP = 22,      /* HTTP status >= 400 with -f */
  WX_WRITE = 23,     /* cannot write the output */
  WX_READ = 26,      /* cannot read the input file */
  WX_MEMORY = 27,    /* out of memory */
  WX_TIMEOUT = 28,   /* timed out (--max-time or a WinHTTP timeout) */
  WX_TLS = 35,       /* TLS handshake or certificate failure */
  WX_OTHER = 43,     /* any other WinHTTP failure */
  WX_REDIRECT = 47,  /* redirect failed (loop, too many, refused) */
  WX_RESPONSE = 52,  /* empty, malformed or oversized response */
  WX_SEND = 55,      /* connection failed while sending */
  WX_RECV = 56,      /* connection failed while receiving */
  WX_WS_CLOSED = 57, /* the WebSocket peer closed with an error status (unused by curl) */
};

/* The command line, parsed. */
struct whttp_args {
  const char *method;       /* -X, or NULL */
  const char **headers;     /* -H values */
  size_t n_headers;
  char *data;               /* -d / --data-binary body (owned), or NULL */
  size_t data_len;
  const char *upload;       /* -T FILE */
  const char *output;       /* -o FILE */
  bool remote_name;         /* -O */
  bool follow;              /* -L */
  bool insecure;            /* -k */
  bool include;             /* -i */
  bool head;                /* -I */
  bool verbose;             /* -v */
  bool compressed;          /* --compressed */
  bool fail;                /* -f */
  bool silent;              /* -s */
  double max_time;          /* --max-time, seconds; 0 = none */
  const char *url;          /* the first URL */
  const char **urls;        /* every URL, in order (urls[0] == url) */
  size_t n_urls;
  bool parallel;            /* -Z / --parallel */
  unsigned parallel_max;    /* transfers in flight at most (--parallel N, --parallel-max N) */
  bool discard;             /* --discard: bodies to /dev/null */
  bool websocket;           /* ws:// or wss:// URL, or --ws */
  bool binary;              /* --binary: stdin lines as binary messages */
  bool ws_deflate;          /* --ws-deflate: offer permessage-deflate (winhttp_ext.h) */
  bool http2;               /* --http2: enable HTTP/2 (ALPN h2, HTTP/1.1 fallback) */
  const char *proxy;        /* -x/--proxy: a named proxy (Windows' list syntax) */
  const char *noproxy;      /* --noproxy LIST: hosts bypassing it (curl's syntax) */
  char *bypass;             /* --noproxy in Windows' bypass-list syntax (owned), or NULL */
  const char *proxy_for;    /* --proxy-for URL: print what resolution chooses, exit */
  const char *user_spec;    /* -u USER[:PASS] */
  const char *proxy_user_spec; /* --proxy-user USER[:PASS] */
  const char *password_file;   /* --password-file: the password(s) not on the line */
  DWORD auth_scheme;        /* --basic, --digest, --ntlm, --negotiate: that scheme only,
                               through WinHttpSetCredentials (0: the best offered) */
  char *user, *password;    /* resolved (credentials.c); the password is wiped */
  char *proxy_user, *proxy_password;
  const char *cert_file;    /* --cert FILE: PKCS#12 or PEM */
  const char *key_file;     /* --key FILE: the PEM key, when not in --cert's file */
  const char *cert_password;      /* --cert-password PASS */
  const char *cert_password_file; /* --cert-password-file FILE */
  HCERTSTORE client_store;  /* loaded (clientcert.c) */
  PCCERT_CONTEXT client_cert;
};

/* Exit status of a --parallel or WebSocket run cut short by SIGINT/SIGTERM
 * (128 + SIGINT). */
#define WX_INTERRUPTED 130
#define WHTTP_PARALLEL_DEFAULT 50u
#define WHTTP_PARALLEL_LIMIT 10000u

/* args.c: 0 = run, 1 = done (help/version printed, exit 0), otherwise the
 * exit status of a command-line error (already reported). */
int whttp_parse_args(int argc, char **argv, struct whttp_args *a);
void whttp_free_args(struct whttp_args *a);

/* parallel.c: --parallel, every URL through one asynchronous session.
 * Returns the exit status. */
int whttp_parallel(const struct whttp_args *a);

/* ws.c: WebSocket mode, after the upgrade request got its 101. Completes
 * the upgrade (closing *request at once and setting it to NULL), then sends
 * stdin lines and writes what arrives until the close. Returns the exit
 * status. */
int whttp_websocket(const struct whttp_args *a, HINTERNET *request);

/* signals.c: SIGINT and SIGTERM as bytes on a self-pipe (fd[0] turns
 * readable), each caught once: its default action comes back with it, so a
 * second Ctrl-C ends whttp at once. Catch it before starting any thread
 * that must not get the signal; release it before returning. */
struct whttp_signals {
  int fd[2];
  bool caught_int, caught_term;
  struct sigaction old_int, old_term;
};
#define WHTTP_SIGNALS_INIT {.fd = {-1, -1}}
bool whttp_signals_catch(struct whttp_signals *s);  /* false: errno says why */
void whttp_signals_release(struct whttp_signals *s); /* safe after a failed catch */

/* text.c: UTF-8 <-> WCHAR (UTF-32), names of errors, exit statuses. */
/* -u / --proxy-user: passwords from the line, --password-file or the
 * terminal (credentials.c); applied to each request. */
int whttp_credentials_resolve(struct whttp_args *a);
void whttp_credentials_free(struct whttp_args *a);
BOOL whttp_credentials_apply(HINTERNET request, const struct whttp_args *a);

/* The password for |who|: |file|'s first line, or asked on the terminal
 * (never echoed); NULL when neither works. whttp_wipe_free it. */
char *whttp_password_for(const char *who, const char *file);
void whttp_wipe_free(char *s);

/* --cert / --key (clientcert.c): the certificate loaded with the crypt32
 * functions of <wincrypt.h>, set on every https:// request. */
int whttp_client_cert_load(struct whttp_args *a);
BOOL whttp_client_cert_apply(HINTERNET request, const struct whttp_args *a, bool secure);
void whttp_client_cert_free(struct whttp_args *a);

/* noproxy.c: --noproxy LIST (curl's syntax) as a WinHTTP bypass list in
 * *out (malloc'd; NULL for an empty list). Returns 0, WX_MEMORY, or
 * WX_USAGE with the entry that cannot be expressed in *bad (malloc'd). */
int whttp_noproxy_bypass(const char *list, char **out, char **bad);

/* proxyfor.c: --proxy-for URL. Prints what proxy resolution chooses for
 * the URL ("key: value" lines on stdout) and returns the exit status. */
int whttp_proxy_for(const struct whttp_args *a);

/* The session of every mode: through a's proxy (-x) when one is given,
 * bypassed for the hosts of --noproxy. */
HINTERNET whttp_open_session(const struct whttp_args *a, DWORD flags);
WCHAR *whttp_widen(const char *s, size_t len);   /* NULL on bad UTF-8 or no memory */
/* whttp_widen, "http://" added when no scheme; ws:// and wss:// become
 * http:// and https:// (WinHttpCrackUrl knows only those). */
WCHAR *whttp_widen_url(const char *url);
bool whttp_is_ws_url(const char *url);           /* ws:// or wss:// (any case) */
/* The bytes of s[0, n) that form whole, valid UTF-8 sequences from the
 * start: n when all do; less when s ends inside a sequence that may still
 * be completed (*bad false) or holds an invalid one (*bad true). NUL is
 * valid. */
size_t whttp_utf8_prefix(const char *s, size_t n, bool *bad);
char *whttp_narrow(const WCHAR *w, size_t len);  /* NULL on no memory */
const char *whttp_error_name(DWORD err);
int whttp_exit_for(DWORD err, bool receiving);
const char *whttp_status_name(DWORD status);     /* "NAME_RESOLVED" ... */
void whttp_print_secure_flags(FILE *f, DWORD flags);

/* notify.c: the status callback (verbose trace; records TLS failure flags). */
struct whttp_notify {
  FILE *out;            /* where -v writes, or NULL when not verbose */
  bool body_phase;      /* collapse per-read notifications */
  uint64_t body_reads;
  uint64_t body_bytes;
  DWORD secure_flags;   /* from SECURE_FAILURE, 0 if none */
};
void whttp_notify_install(HINTERNET session, struct whttp_notify *n);
void whttp_notify_body_summary(struct whttp_notify *n);

/* progress.c: a progress bar on stderr when it is a terminal. */
struct whttp_progress {
  bool enabled;
  const char *what;     /* "download", "upload" */
  uint64_t total;       /* 0 = unknown */
  uint64_t done;
  double start;
  double last_draw;
  bool drawn;
};
double whttp_now(void);
void whttp_human(char *buf, size_t size, double bytes); /* "12.3 MiB" */
void whttp_progress_start(struct whttp_progress *p, bool enabled, const char *what,
                          uint64_t total);
void whttp_progress_update(struct whttp_progress *p, uint64_t done);
void whttp_progress_finish(struct whttp_progress *p);

#endif
