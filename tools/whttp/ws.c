/* whttp: WebSocket mode (ws://, wss://, --ws). whttp.c sends the upgrade
 * request (WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET) like any other request and
 * hands it over after a 101. WinHttpWebSocketCompleteUpgrade makes the
 * WebSocket (the request handle is closed at once, as Microsoft's samples
 * do), and two threads share it, as the contract allows: one send and one
 * receive at a time, from different threads.
 *
 *  - The receiver blocks in WinHttpWebSocketReceive and writes each message
 *    to stdout as its pieces arrive (a text message then gets a newline).
 *    When the peer's close frame or a failure ends receiving, it signals an
 *    eventfd and returns.
 *  - The main thread polls stdin, that eventfd and a self-pipe written by
 *    the SIGINT/SIGTERM handler: it sends each stdin line as one message,
 *    WinHttpWebSocketShutdown(1000) at the end of stdin,
 *    WinHttpWebSocketClose to answer the peer's close, or to leave (1001,
 *    bounded by a short WEB_SOCKET_CLOSE_TIMEOUT) on Ctrl-C.
 *
 * What the receiver found is read by the main thread only after joining it. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "whttp.h"

#define RECV_PIECE (64 * 1024) /* bytes asked of each WinHttpWebSocketReceive */
#define LINE_PIECE (64 * 1024) /* a longer stdin line goes out in fragments */
#define INTERRUPT_CLOSE_MS 2000u /* Ctrl-C: how long to wait for the peer's close */

/* How receiving ended. */
enum ending { END_CLOSE, END_ERROR, END_WRITE };

struct conv {
  const struct whttp_args *a;
  HINTERNET ws;
  int done_efd;              /* the receiver's "I am done" */
  const struct whttp_signals *sigs; /* fd[0] readable on SIGINT/SIGTERM */
  pthread_t receiver;

  /* Written by the receiver, read after the join. */
  enum ending ending;
  DWORD recv_err;            /* END_ERROR */
  int write_errno;           /* END_WRITE */
  USHORT close_status;       /* END_CLOSE */
  char reason[WINHTTP_WEB_SOCKET_MAX_CLOSE_REASON_LENGTH + 1];
  DWORD reason_len;

  /* Main thread only. */
  bool close_sent;           /* our close frame went out (Shutdown or Close) */
  char *line;                /* stdin bytes not sent yet: line[0, line_len) */
  size_t line_len;
  bool in_message;           /* fragments of the current line went out */
  unsigned long line_no;     /* the current line's number, from 1 */
  bool input_over;           /* end of stdin, or input that cannot be sent */
  int input_rc;              /* why the input stopped, when not its end */
};

/* --- messages on stderr ---------------------------------------------------------------- */

/* -v: one line per frame-level event, written at once (two threads trace). */
static void trace(const struct whttp_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void trace(const struct whttp_args *a, const char *fmt, ...)
{
  if (!a->verbose)
    return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s\n", line);
  fflush(stderr);
}

static const char *type_name(WINHTTP_WEB_SOCKET_BUFFER_TYPE t)
{
  switch (t) {
  case WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE:
  case WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE:
    return "text";
  case WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE:
  case WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE:
    return "binary";
  default:
    return "close";
  }
}

static bool is_fragment(WINHTTP_WEB_SOCKET_BUFFER_TYPE t)
{
  return t == WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE ||
         t == WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE;
}

/* "> text 5 bytes", "< binary 3 bytes (fragment)". */
static void trace_data(const struct whttp_args *a, char dir, WINHTTP_WEB_SOCKET_BUFFER_TYPE t,
                       DWORD n)
{
  trace(a, "%c %s %lu byte%s%s", dir, type_name(t), (unsigned long)n, n == 1 ? "" : "s",
        is_fragment(t) ? " (fragment)" : "");
}

/* A close reason quoted, with '"', '\' and control bytes escaped. */
static void quote_reason(const char *r, size_t n, char *out, size_t cap)
{
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < n && o + 6 < cap; i++) {
    unsigned char c = (unsigned char)r[i];
    if (c == '"' || c == '\\')
      o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
    else if (c < 0x20 || c == 0x7F)
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    else
      out[o++] = (char)c;
  }
  out[o++] = '"';
  out[o] = '\0';
}

/* "whttp: CALL failed: NAME (n)" unless -s; the exit status for |err|. */
static int fail_ws(const struct conv *c, const char *call, DWORD err, bool receiving)
{
  if (!c->a->silent)
    fprintf(stderr, "whttp: %s failed: %s (%lu)\n", call, whttp_error_name(err),
            (unsigned long)err);
  return whttp_exit_for(err, receiving);
}

static int fail_text(const struct conv *c, int code, const char *what, const char *detail)
{
  if (!c->a->silent)
    fprintf(stderr, "whttp: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  return code;
}

/* --- the receiver ---------------------------------------------------------------------------- */

/* Records the peer's close (WinHttpWebSocketQueryCloseStatus) and traces
 * it: "< close 1000 \"bye\"". */
static void note_close(struct conv *c, HINTERNET ws)
{
  DWORD used = 0;
  c->ending = END_CLOSE;
  DWORD err = WinHttpWebSocketQueryCloseStatus(ws, &c->close_status, c->reason,
                                               sizeof(c->reason) - 1, &used);
  c->reason_len = err == ERROR_SUCCESS ? used : 0;
  c->reason[c->reason_len] = '\0';
  if (err != ERROR_SUCCESS && err != ERROR_INSUFFICIENT_BUFFER)
    return;
  if (c->close_status == WINHTTP_WEB_SOCKET_EMPTY_CLOSE_STATUS) {
    trace(c->a, "< close %u (no status)", c->close_status);
  } else {
    char q[4 * sizeof(c->reason) + 3];
    quote_reason(c->reason, c->reason_len, q, sizeof(q));
    trace(c->a, "< close %u %s", c->close_status, q);
  }
}

/* Writes one piece of a message; the end of a text message gets a newline,
 * and a whole message is flushed. False when stdout fails. */
static bool write_piece(struct conv *c, const void *p, DWORD n,
                        WINHTTP_WEB_SOCKET_BUFFER_TYPE t)
{
  bool ok = n == 0 || fwrite(p, 1, n, stdout) == n;
  if (ok && t == WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE)
    ok = fputc('\n', stdout) != EOF;
  if (ok && !is_fragment(t))
    ok = fflush(stdout) == 0;
  if (!ok) {
    c->ending = END_WRITE;
    c->write_errno = errno;
  }
  return ok;
}

static void *receiver(void *arg)
{
  struct conv *c = arg;
  HINTERNET ws = c->ws; /* the main thread may clear c->ws meanwhile */
  unsigned char *buf = malloc(RECV_PIECE);
  DWORD err = buf ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
  c->ending = END_ERROR;
  while (err == ERROR_SUCCESS) {
    DWORD n = 0;
    WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
    err = WinHttpWebSocketReceive(ws, buf, RECV_PIECE, &n, &t);
    if (err != ERROR_SUCCESS)
      break;
    if (t == WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE) {
      note_close(c, ws);
      break;
    }
    trace_data(c->a, '<', t, n);
    if (!write_piece(c, buf, n, t))
      break;
  }
  c->recv_err = err;
  free(buf);
  uint64_t one = 1;
  ssize_t w = write(c->done_efd, &one, sizeof(one));
  (void)w; /* an eventfd counter does not overflow at 1 */
  return NULL;
}

/* --- sending stdin --------------------------------------------------------------------------- */

/* Sends p[0, n) as the end of the current message (|last|) or as one more
 * fragment of it. */
static DWORD send_piece(struct conv *c, const char *p, size_t n, bool last)
{
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t =
      c->a->binary ? (last ? WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE
                           : WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE)
                   : (last ? WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE
                           : WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE);
  trace_data(c->a, '>', t, (DWORD)n);
  c->in_message = !last;
  return WinHttpWebSocketSend(c->ws, t, (void *)p, (DWORD)n);
}

/* The bytes of p[0, n) that can go out now. Text mode: a fragment may not
 * end inside a character (the rest waits for the next read), and a line
 * that is not UTF-8 ends the input (exit 26). */
static size_t sendable(struct conv *c, const char *p, size_t n, bool last)
{
  if (c->a->binary)
    return n;
  bool bad;
  size_t ok = whttp_utf8_prefix(p, n, &bad);
  if (bad || (last && ok < n)) {
    char what[96];
    snprintf(what, sizeof(what), "stdin line %lu is not UTF-8 (--binary sends bytes as they are)",
             c->line_no);
    c->input_rc = fail_text(c, WX_READ, what, NULL);
    c->input_over = true;
  }
  return ok;
}

/* Sends every complete line in the buffer; then, at the end of stdin, the
 * last line if it has no newline, or, when the buffer is full of one line,
 * a fragment of it. */
static DWORD send_lines(struct conv *c, bool eof)
{
  DWORD err = ERROR_SUCCESS;
  size_t start = 0;
  while (err == ERROR_SUCCESS) {
    const char *p = c->line + start;
    const char *nl = memchr(p, '\n', c->line_len - start);
    if (!nl)
      break;
    size_t n = (size_t)(nl - p);
    if (sendable(c, p, n, true) < n)
      break;
    err = send_piece(c, p, n, true);
    start += n + 1;
    c->line_no++;
  }
  memmove(c->line, c->line + start, c->line_len - start);
  c->line_len -= start;
  if (err != ERROR_SUCCESS || c->input_over)
    return err;
  if (eof && (c->line_len > 0 || c->in_message)) {
    if (sendable(c, c->line, c->line_len, true) == c->line_len)
      err = send_piece(c, c->line, c->line_len, true);
    c->line_len = 0;
  } else if (c->line_len == LINE_PIECE) {
    size_t n = sendable(c, c->line, c->line_len, false);
    if (!c->input_over) {
      err = send_piece(c, c->line, n, false);
      memmove(c->line, c->line + n, c->line_len - n);
      c->line_len -= n;
    }
  }
  return err;
}

/* stdin is readable (or at its end): reads what is there and sends it. */
static DWORD pump_input(struct conv *c, bool invalid)
{
  ssize_t n = invalid ? 0 : read(STDIN_FILENO, c->line + c->line_len, LINE_PIECE - c->line_len);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN)
      return ERROR_SUCCESS;
    c->input_rc = fail_text(c, WX_READ, "cannot read stdin", strerror(errno));
    c->input_over = true;
    return ERROR_SUCCESS;
  }
  c->line_len += (size_t)n;
  DWORD err = send_lines(c, n == 0);
  if (n == 0)
    c->input_over = true;
  return err;
}

/* Our close frame: the send side is done, receiving goes on. */
static DWORD shutdown_send(struct conv *c)
{
  trace(c->a, "> close %u", WINHTTP_WEB_SOCKET_SUCCESS_CLOSE_STATUS);
  c->close_sent = true;
  return WinHttpWebSocketShutdown(c->ws, WINHTTP_WEB_SOCKET_SUCCESS_CLOSE_STATUS, NULL, 0);
}

/* --- the end ---------------------------------------------------------------------------------- */

static void join_receiver(struct conv *c)
{
  pthread_join(c->receiver, NULL);
}

static bool normal_close(USHORT status)
{
  return status == WINHTTP_WEB_SOCKET_SUCCESS_CLOSE_STATUS ||
         status == WINHTTP_WEB_SOCKET_ENDPOINT_TERMINATED_CLOSE_STATUS ||
         status == WINHTTP_WEB_SOCKET_EMPTY_CLOSE_STATUS;
}

/* Receiving ended: answers the peer's close (with its own status, as RFC
 * 6455 section 5.5.1 suggests) or reports why it ended. */
static int finish(struct conv *c)
{
  join_receiver(c);
  if (c->ending == END_WRITE) {
    int rc = fail_text(c, WX_WRITE, "stdout", strerror(c->write_errno));
    if (!c->close_sent)
      trace(c->a, "> close %u", WINHTTP_WEB_SOCKET_ENDPOINT_TERMINATED_CLOSE_STATUS);
    WinHttpWebSocketClose(c->ws, WINHTTP_WEB_SOCKET_ENDPOINT_TERMINATED_CLOSE_STATUS, NULL, 0);
    return rc;
  }
  if (c->ending == END_ERROR)
    return fail_ws(c, "WinHttpWebSocketReceive", c->recv_err, true);
  /* The peer's close. After our Shutdown, Close only completes the
   * handshake; otherwise it sends our answer. */
  if (!c->close_sent)
    trace(c->a, "> close %u", c->close_status);
  DWORD err = WinHttpWebSocketClose(c->ws, c->close_status, NULL, 0);
  if (err != ERROR_SUCCESS && !c->a->silent)
    fprintf(stderr, "whttp: WinHttpWebSocketClose failed: %s (%lu) (the server had closed)\n",
            whttp_error_name(err), (unsigned long)err);
  if (normal_close(c->close_status))
    return WX_OK;
  if (!c->a->silent) {
    char q[4 * sizeof(c->reason) + 3];
    quote_reason(c->reason, c->reason_len, q, sizeof(q));
    fprintf(stderr, "whttp: the server closed the WebSocket with status %u %s\n",
            c->close_status, q);
  }
  return WX_WS_CLOSED;
}

/* Ctrl-C: our close (1001, "going away") and a short wait for the peer's;
 * Close ends the receiver's blocked receive. The peer's close, when Close
 * rather than the receiver got it, is traced afterwards. */
static int interrupt(struct conv *c)
{
  DWORD ms = INTERRUPT_CLOSE_MS;
  WinHttpSetOption(c->ws, WINHTTP_OPTION_WEB_SOCKET_CLOSE_TIMEOUT, &ms, sizeof(ms));
  if (!c->close_sent)
    trace(c->a, "> close %u", WINHTTP_WEB_SOCKET_ENDPOINT_TERMINATED_CLOSE_STATUS);
  DWORD err =
      WinHttpWebSocketClose(c->ws, WINHTTP_WEB_SOCKET_ENDPOINT_TERMINATED_CLOSE_STATUS, NULL, 0);
  join_receiver(c);
  if (c->ending != END_CLOSE) {
    if (err == ERROR_SUCCESS)
      note_close(c, c->ws);
    else
      trace(c->a, "* no close from the server: %s", whttp_error_name(err));
  }
  return WX_INTERRUPTED;
}

/* A send failed for a reason of its own (not the receive side's end): the
 * connection is unusable. Closing the handle ends the blocked receive
 * (CONTRACT C6). */
static int abandon(struct conv *c, int rc)
{
  WinHttpCloseHandle(c->ws);
  join_receiver(c);
  c->ws = NULL;
  return rc;
}

/* The main thread's loop: stdin to messages until the receiver is done or
 * a signal comes. */
static int converse(struct conv *c)
{
  enum { P_DONE, P_SIGNAL, P_STDIN };
  bool reading = true;
  for (;;) {
    struct pollfd fds[3] = {
      {.fd = c->done_efd, .events = POLLIN},
      {.fd = c->sigs->fd[0], .events = POLLIN},
      {.fd = reading ? STDIN_FILENO : -1, .events = POLLIN},
    };
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      return abandon(c, fail_text(c, WX_OTHER, "poll", strerror(errno)));
    }
    if (fds[P_SIGNAL].revents)
      return interrupt(c);
    if (fds[P_DONE].revents) {
      int rc = finish(c);
      return c->input_rc ? c->input_rc : rc;
    }
    if (!fds[P_STDIN].revents)
      continue;
    DWORD err = pump_input(c, (fds[P_STDIN].revents & POLLNVAL) != 0);
    if (err == ERROR_SUCCESS && c->input_over) {
      reading = false;
      err = shutdown_send(c);
    }
    if (err == ERROR_INVALID_OPERATION) {
      /* The receive side ended the WebSocket (a protocol error, a failed
       * connection): the receiver says why. */
      reading = false;
    } else if (err != ERROR_SUCCESS) {
      return abandon(c, fail_ws(c, c->close_sent ? "WinHttpWebSocketShutdown"
                                                  : "WinHttpWebSocketSend",
                                err, false));
    }
  }
}

/* Starts the receiver with SIGINT/SIGTERM blocked, so that they reach the
 * main thread's poll. */
static bool start_receiver(struct conv *c)
{
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  bool ok = pthread_create(&c->receiver, NULL, receiver, c) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return ok;
}

/* --- the upgrade ------------------------------------------------------------------------------- */

/* --max-time bounded the handshake through the request's timeouts, which
 * the WebSocket inherits: Windows' defaults again for the session (send
 * 30 s; a receive waits as long as it takes). */
static void default_timeouts(HINTERNET request)
{
  WinHttpSetTimeouts(request, 0, 60000, 30000, 30000);
}

int whttp_websocket(const struct whttp_args *a, HINTERNET *request)
{
  struct whttp_signals sigs = WHTTP_SIGNALS_INIT;
  struct conv c = {.a = a, .done_efd = -1, .line_no = 1, .sigs = &sigs};
  default_timeouts(*request);
  c.ws = WinHttpWebSocketCompleteUpgrade(*request, 0);
  if (!c.ws)
    return fail_ws(&c, "WinHttpWebSocketCompleteUpgrade", GetLastError(), true);
  WinHttpCloseHandle(*request);
  *request = NULL;
  int rc = WX_OK;
  if (!(c.line = malloc(LINE_PIECE)))
    rc = fail_text(&c, WX_MEMORY, "out of memory", NULL);
  else if ((c.done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
    rc = fail_text(&c, WX_OTHER, "eventfd", strerror(errno));
  else if (!whttp_signals_catch(&sigs))
    rc = fail_text(&c, WX_OTHER, "signals", strerror(errno));
  else if (!start_receiver(&c))
    rc = fail_text(&c, WX_OTHER, "cannot start the receiving thread", NULL);
  else
    rc = converse(&c);
  whttp_signals_release(&sigs);
  if (c.done_efd >= 0)
    close(c.done_efd);
  if (c.ws)
    WinHttpCloseHandle(c.ws);
  free(c.line);
  return rc;
}
