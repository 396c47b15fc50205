/* whttp --parallel: declarations shared by parallel.c (the main thread's
 * loop), par_xfer.c (one transfer: its handles and its callback chain) and
 * par_show.c (progress lines, done lines, summary).
 *
 * Threads: the main thread opens handles, starts transfers, closes request
 * handles and finishes transfers; the callbacks run on the library's loop
 * threads (or inline inside a call) and own a transfer's output between
 * SendRequest and HANDLE_CLOSING. Everything both sides read or write is
 * under par.lock; the callbacks wake the main thread through par.wake (an
 * eventfd) and never hold the lock while calling WinHTTP. */
#ifndef WHTTP_PAR_H
#define WHTTP_PAR_H

#include <pthread.h>

#include "whttp.h"

#define PAR_BUFFER (64 * 1024)

enum par_state {
  PX_QUEUED,   /* not started */
  PX_ACTIVE,   /* handles open, the callback chain runs */
  PX_ENDED,    /* a result is known: the main thread closes the request */
  PX_CLOSING,  /* WinHttpCloseHandle called, waiting for HANDLE_CLOSING */
  PX_CLOSED,   /* HANDLE_CLOSING seen: the main thread finishes it */
  PX_FINISHED, /* reported and freed */
};

struct par;

struct par_xfer {
  struct par *par;
  size_t index;            /* 0-based position on the command line */
  const char *url;         /* as typed */
  WCHAR *host, *object;
  INTERNET_PORT port;
  bool secure;
  char *out_name;          /* file to write, NULL with --discard */
  HINTERNET connect, request;
  double start, end;
  /* Written by the callbacks (or by the main thread before SendRequest or
   * after HANDLE_CLOSING); read by the other side under par.lock. */
  enum par_state state;
  int rc;                  /* exit status of this transfer */
  const char *failed_call; /* the WinHTTP call that failed, or NULL */
  DWORD error;             /* its error */
  char *message;           /* other failure text (owned), or NULL */
  DWORD status;            /* HTTP status, 0 = none */
  uint64_t bytes, total;   /* body bytes written; Content-Length (0 = unknown) */
  DWORD secure_flags;
  /* Owned by the callback chain. */
  bool receiving;
  FILE *out;
  char *buf;               /* PAR_BUFFER bytes while started */
};

struct par {
  const struct whttp_args *a;
  HINTERNET session;
  pthread_mutex_t lock;
  int wake;                /* eventfd: the callbacks' "look again" */
  int sig_fd;              /* readable on SIGINT/SIGTERM (signals.c) */
  struct par_xfer **x;
  size_t n;
  double start;
  bool tty;                /* progress lines (stderr is a terminal, no -s) */
  size_t drawn;            /* progress lines on the screen */
  double last_draw;
  size_t ok, failed, not_started; /* main thread only */
  uint64_t bytes;
};

/* par_xfer.c */
int par_prepare(struct par *p, struct par_xfer *x);  /* crack, output name; 0 or exit status */
void par_start(struct par_xfer *x);                  /* open, set up and send; main thread */
/* A transfer's result: the first one wins; wakes the main thread. */
void par_end(struct par_xfer *x, int rc, const char *message);
void par_end_call(struct par_xfer *x, const char *call, DWORD err);
void CALLBACK par_on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len);
void par_wake(struct par *p);

/* par_show.c */
void par_show_progress(struct par *p, bool force);
void par_show_done(struct par *p, struct par_xfer *x);
void par_show_summary(struct par *p, bool interrupted);

#endif
