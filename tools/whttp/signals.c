/* SIGINT and SIGTERM for the main threads of -Z and WebSocket mode, which
 * wait in poll(): the handler only writes the signal's number to a
 * non-blocking self-pipe, and the waiting thread does the real work
 * (cancelling transfers, closing the WebSocket) outside the handler. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "whttp.h"

/* The pipe's write end, for the handler (one catcher at a time). */
static volatile int sig_write_fd = -1;

/* Writes the signal to the self-pipe and gives it back its default action,
 * so that a second Ctrl-C ends whttp at once if the orderly ending hangs
 * (write() and signal() are async-signal-safe). */
static void on_signal(int sig)
{
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  ssize_t r = write(sig_write_fd, &b, 1); /* full pipe: a signal is pending anyway */
  (void)r;
  signal(sig, SIG_DFL);
  errno = saved;
}

bool whttp_signals_catch(struct whttp_signals *s)
{
  memset(s, 0, sizeof(*s));
  s->fd[0] = s->fd[1] = -1;
  if (pipe(s->fd) != 0)
    return false;
  for (int i = 0; i < 2; i++)
    if (fcntl(s->fd[i], F_SETFL, O_NONBLOCK) != 0 || fcntl(s->fd[i], F_SETFD, FD_CLOEXEC) != 0)
      return false;
  sig_write_fd = s->fd[1];
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, &s->old_int) != 0)
    return false;
  s->caught_int = true;
  if (sigaction(SIGTERM, &sa, &s->old_term) != 0)
    return false;
  s->caught_term = true;
  return true;
}

void whttp_signals_release(struct whttp_signals *s)
{
  if (s->caught_int)
    sigaction(SIGINT, &s->old_int, NULL);
  if (s->caught_term)
    sigaction(SIGTERM, &s->old_term, NULL);
  s->caught_int = s->caught_term = false;
  sig_write_fd = -1;
  for (int i = 0; i < 2; i++) {
    if (s->fd[i] >= 0)
      close(s->fd[i]);
    s->fd[i] = -1;
  }
}
