/* whttp --parallel: what stderr shows. On a terminal, one line per transfer
 * in flight, redrawn in place (at most MAX_LINES, then "... and N more");
 * finished transfers scroll above them as "done" lines. Otherwise only the
 * "done URL STATUS BYTES SECONDS" lines. Then the summary. -s: nothing. */
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "par.h"

#define MAX_LINES 20
#define REDRAW_EVERY 0.1

struct snap {
  size_t index;
  const char *url;
  uint64_t bytes, total;
  double start;
};

static int width(void)
{
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    return ws.ws_col;
  return 80;
}

/* Erases the progress lines drawn last time (the cursor is below them). */
static void clear_lines(struct par *p)
{
  if (p->drawn)
    fprintf(stderr, "\r\033[%zuA\033[J", p->drawn);
  p->drawn = 0;
}

static void draw_line(const struct snap *s, double now, int cols)
{
  char done[32], total[32], rate[32], pct[8] = "";
  double secs = now - s->start > 1e-3 ? now - s->start : 1e-3;
  whttp_human(done, sizeof(done), (double)s->bytes);
  whttp_human(rate, sizeof(rate), (double)s->bytes / secs);
  if (s->total) {
    whttp_human(total, sizeof(total), (double)s->total);
    snprintf(pct, sizeof(pct), "%3d%%", (int)((double)s->bytes * 100 / (double)s->total));
  } else {
    snprintf(total, sizeof(total), "?");
  }
  char tail[96];
  int tl = snprintf(tail, sizeof(tail), " %4s %s / %s %s/s", pct, done, total, rate);
  int room = cols - tl - 8;
  int ul = (int)strlen(s->url);
  if (room < 10)
    room = 10;
  if (ul <= room)
    fprintf(stderr, "[%3zu] %-*s%s\n", s->index + 1, room, s->url, tail);
  else /* keep the end of the URL: the file name */
    fprintf(stderr, "[%3zu] ...%s%s\n", s->index + 1, s->url + ul - (room - 3), tail);
}

void par_show_progress(struct par *p, bool force)
{
  if (!p->tty)
    return;
  double now = whttp_now();
  if (!force && now - p->last_draw < REDRAW_EVERY)
    return;
  struct snap s[MAX_LINES];
  size_t n = 0, more = 0;
  pthread_mutex_lock(&p->lock);
  for (size_t i = 0; i < p->n; i++) {
    struct par_xfer *x = p->x[i];
    if (x->state != PX_ACTIVE && x->state != PX_ENDED && x->state != PX_CLOSING)
      continue;
    if (n == MAX_LINES) {
      more++;
      continue;
    }
    s[n++] = (struct snap){x->index, x->url, x->bytes, x->total, x->start};
  }
  pthread_mutex_unlock(&p->lock);
  clear_lines(p);
  int cols = width();
  for (size_t i = 0; i < n; i++)
    draw_line(&s[i], now, cols);
  p->drawn = n;
  if (more) {
    fprintf(stderr, "... and %zu more\n", more);
    p->drawn++;
  }
  fflush(stderr);
  p->last_draw = now;
}

/* Called by the main thread after HANDLE_CLOSING: x is its own. */
void par_show_done(struct par *p, struct par_xfer *x)
{
  if (p->a->silent)
    return;
  clear_lines(p);
  char status[16] = "-";
  if (x->status)
    snprintf(status, sizeof(status), "%lu", (unsigned long)x->status);
  double secs = x->start > 0 && x->end > x->start ? x->end - x->start : 0;
  fprintf(stderr, "done %s %s %llu %.3fs", x->url, status, (unsigned long long)x->bytes, secs);
  if (x->rc != WX_OK) {
    fprintf(stderr, " failed (exit %d):", x->rc);
    if (x->failed_call)
      fprintf(stderr, " %s: %s (%lu)", x->failed_call, whttp_error_name(x->error),
              (unsigned long)x->error);
    if (x->message)
      fprintf(stderr, " %s", x->message);
    if (x->rc == WX_HTTP)
      fprintf(stderr, " (%s)", status);
    if (x->secure_flags) {
      fputs("; certificate: ", stderr);
      whttp_print_secure_flags(stderr, x->secure_flags);
    }
  }
  if (x->out_name && x->rc == WX_OK)
    fprintf(stderr, " -> %s", x->out_name);
  fputc('\n', stderr);
  fflush(stderr);
}

void par_show_summary(struct par *p, bool interrupted)
{
  if (p->a->silent)
    return;
  clear_lines(p);
  double secs = whttp_now() - p->start;
  char bytes[32], rate[32];
  whttp_human(bytes, sizeof(bytes), (double)p->bytes);
  whttp_human(rate, sizeof(rate), (double)p->bytes / (secs > 1e-3 ? secs : 1e-3));
  fprintf(stderr, "whttp: %zu transfers: %zu ok, %zu failed", p->n, p->ok, p->failed);
  if (p->not_started)
    fprintf(stderr, ", %zu not started", p->not_started);
  fprintf(stderr, "; %llu bytes (%s) in %.3f s, %s/s%s\n", (unsigned long long)p->bytes, bytes,
          secs, rate, interrupted ? " (interrupted)" : "");
  fflush(stderr);
}
