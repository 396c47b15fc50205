/* whttp: the progress bar, drawn on stderr when stderr is a terminal and the
 * transfer lasts long enough to be worth one (half a second). */
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "whttp.h"

#define SHOW_AFTER 0.5   /* seconds before the bar first appears */
#define REDRAW_EVERY 0.1 /* seconds between redraws */

double whttp_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void whttp_progress_start(struct whttp_progress *p, bool enabled, const char *what,
                          uint64_t total)
{
  p->enabled = enabled && isatty(STDERR_FILENO);
  p->what = what;
  p->total = total;
  p->done = 0;
  p->start = whttp_now();
  p->last_draw = 0;
  p->drawn = false;
}

static int terminal_width(void)
{
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    return ws.ws_col;
  return 80;
}

/* "12.3 MiB" into buf. */
void whttp_human(char *buf, size_t size, double bytes)
{
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;
  while (bytes >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
    bytes /= 1024;
    u++;
  }
  snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

static void draw_bar(int width, double fraction)
{
  int fill = (int)(fraction * width);
  fputc('[', stderr);
  for (int i = 0; i < width; i++)
    fputc(i < fill ? '#' : '-', stderr);
  fputc(']', stderr);
}

static void draw(struct whttp_progress *p, double now)
{
  char done[32], rate[32], total[32];
  double secs = now - p->start > 0 ? now - p->start : 1e-9;
  whttp_human(done, sizeof(done), (double)p->done);
  whttp_human(rate, sizeof(rate), (double)p->done / secs);
  fputc('\r', stderr);
  if (p->total && p->done <= p->total) {
    double f = (double)p->done / (double)p->total;
    whttp_human(total, sizeof(total), (double)p->total);
    int bar = terminal_width() - 58;
    draw_bar(bar > 10 ? bar : 10, f);
    fprintf(stderr, " %3d%% %s / %s %s/s ", (int)(f * 100), done, total, rate);
  } else {
    fprintf(stderr, "%s: %s %s/s ", p->what, done, rate);
  }
  fputs("\033[K", stderr); /* clear the rest of the line */
  fflush(stderr);
  p->drawn = true;
  p->last_draw = now;
}

void whttp_progress_update(struct whttp_progress *p, uint64_t done)
{
  p->done = done;
  if (!p->enabled)
    return;
  double now = whttp_now();
  if (now - p->start < SHOW_AFTER || now - p->last_draw < REDRAW_EVERY)
    return;
  draw(p, now);
}

void whttp_progress_finish(struct whttp_progress *p)
{
  if (!p->enabled || !p->drawn)
    return;
  draw(p, whttp_now());
  fputc('\n', stderr);
}
