/* see wait.h */
#include "net/wait.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int64_t wh_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wh_deadline(DWORD timeout_ms)
{
  if (timeout_ms == 0 || timeout_ms == 0xFFFFFFFFu)
    return WH_NEVER;
  return wh_now_ms() + (int64_t)timeout_ms;
}

DWORD wh_wait_fd(int fd, short events, int64_t deadline, int cancel_fd)
{
  struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = cancel_fd, .events = POLLIN}};
  nfds_t n = cancel_fd >= 0 ? 2 : 1;
  for (;;) {
    int timeout = -1;
    if (deadline != WH_NEVER) {
      int64_t left = deadline - wh_now_ms();
      if (left <= 0)
        return ERROR_WINHTTP_TIMEOUT;
      timeout = left > INT32_MAX ? INT32_MAX : (int)left;
    }
    int r = poll(p, n, timeout);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return ERROR_WINHTTP_INTERNAL_ERROR;
    }
    if (n == 2 && p[1].revents)
      return ERROR_WINHTTP_OPERATION_CANCELLED;
    if (r > 0 && p[0].revents)
      return ERROR_SUCCESS;
    /* r == 0: the timeout elapsed; the loop re-checks the deadline so a
     * early wake-up never reports a timeout too soon. */
  }
}

static pthread_key_t fd_key;
static pthread_once_t fd_once = PTHREAD_ONCE_INIT;
static _Thread_local int thread_fd = -1;

static void close_thread_fd(void *p)
{
  close((int)(intptr_t)p - 1);
}

static void make_key(void)
{
  pthread_key_create(&fd_key, close_thread_fd);
}

int wh_thread_cancel_fd(void)
{
  if (thread_fd < 0) {
    pthread_once(&fd_once, make_key);
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
      return -1;
    /* The key's value closes the fd at thread exit (+1: 0 means unset). */
    pthread_setspecific(fd_key, (void *)(intptr_t)(fd + 1));
    thread_fd = fd;
  }
  return thread_fd;
}

void wh_cancel_fd_signal(int fd)
{
  uint64_t one = 1;
  /* A full counter (never in practice) still leaves it readable. */
  ssize_t r = write(fd, &one, sizeof(one));
  (void)r;
}

void wh_cancel_fd_drain(int fd)
{
  uint64_t v;
  ssize_t r = read(fd, &v, sizeof(v));
  (void)r;
}

int wh_fd_readable(int fd)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, 0) > 0;
}
