/* see pac_proc.h */
#include "net/pac_proc.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/wait.h"
#include "proto/pac_wire.h"
#include "util/mem.h"

#ifndef WH_PAC_HELPER_PATH
#define WH_PAC_HELPER_PATH "/usr/local/libexec/openwinhttp/winhttp-pac"
#endif
#ifndef WH_PAC_HELPER_REL
#define WH_PAC_HELPER_REL "../libexec/openwinhttp/winhttp-pac"
#endif

struct wh_pac_proc {
  pid_t pid;
  int fd; /* our end of the socket pair, non-blocking */
};

static atomic_uint started, alive;

unsigned wh_pac_proc_started(void)
{
  return atomic_load(&started);
}

unsigned wh_pac_proc_alive(void)
{
  return atomic_load(&alive);
}

/* --- finding the helper -------------------------------------------------------- */

static pthread_once_t path_once = PTHREAD_ONCE_INIT;
static char helper_path[4096];

static bool executable(const char *p)
{
  return access(p, X_OK) == 0;
}

static void find_helper(void)
{
  Dl_info info;
  /* The object this function is in: libwinhttp.so, or the program a
   * static library was linked into. */
  if (dladdr((void *)(uintptr_t)&find_helper, &info) && info.dli_fname) {
    const char *slash = strrchr(info.dli_fname, '/');
    size_t dl = slash ? (size_t)(slash - info.dli_fname) : 0;
    static const char *const rel[] = {WH_PAC_HELPER_REL, "winhttp-pac"};
    for (size_t i = 0; i < 2 && slash; i++) {
      int n = snprintf(helper_path, sizeof(helper_path), "%.*s/%s", (int)dl, info.dli_fname,
                       rel[i]);
      if (n > 0 && (size_t)n < sizeof(helper_path) && executable(helper_path))
        return;
    }
  }
  snprintf(helper_path, sizeof(helper_path), "%s", WH_PAC_HELPER_PATH);
}

/* --- spawning ----------------------------------------------------------------- */

/* The few variables the helper may use: the resolver's (LOCALDOMAIN,
 * RES_OPTIONS), the time zone (dateRange and friends use local time) and
 * the sanitizers' (a sanitizer build of the helper reports as the tests
 * ask). Read with secure_getenv: nothing is passed from a set-user-ID
 * program's environment. */
static size_t helper_env(char **envp, size_t cap)
{
  static const char *const names[] = {"TZ",           "LOCALDOMAIN",   "RES_OPTIONS",
                                      "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                      "TSAN_OPTIONS"};
  size_t n = 0;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && n + 1 < cap; i++) {
    const char *v = secure_getenv(names[i]);
    if (!v)
      continue;
    size_t len = strlen(names[i]) + 1 + strlen(v) + 1;
    char *e = wh_malloc(len);
    if (!e)
      continue; /* the helper does without */
    snprintf(e, len, "%s=%s", names[i], v);
    envp[n++] = e;
  }
  envp[n] = NULL;
  return n;
}

static DWORD spawn(struct wh_pac_proc *p)
{
  pthread_once(&path_once, find_helper);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return errno == ENOMEM || errno == ENOBUFS ? ERROR_NOT_ENOUGH_MEMORY
                                               : ERROR_WINHTTP_AUTO_PROXY_SERVICE_ERROR;
  /* The child's end must not be one of the descriptors the file actions
   * replace (an application that closed its standard input gets 0 from
   * socketpair): moved above 2 first. */
  if (sv[1] < 3) {
    int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
    close(sv[1]);
    if (moved < 0) {
      close(sv[0]);
      return ERROR_WINHTTP_AUTO_PROXY_SERVICE_ERROR;
    }
    sv[1] = moved;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  char *envp[8];
  size_t nenv = helper_env(envp, sizeof(envp) / sizeof(envp[0]));
  int rc = posix_spawn_file_actions_init(&fa);
  bool fa_ok = rc == 0;
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  if (rc == 0)
    rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (rc == 0)
    rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  bool attr_ok = false;
  if (rc == 0 && (rc = posix_spawnattr_init(&attr)) == 0) {
    attr_ok = true;
    /* Whatever the application blocks or handles, the helper starts
     * clean: SIGXCPU and SIGPIPE must do their default (terminate). */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
      rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0)
      rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (rc == 0) {
    char *argv[] = {helper_path, NULL};
    rc = posix_spawn(&p->pid, helper_path, &fa, &attr, argv, envp);
  }
  if (attr_ok)
    posix_spawnattr_destroy(&attr);
  if (fa_ok)
    posix_spawn_file_actions_destroy(&fa);
  for (size_t i = 0; i < nenv; i++)
    wh_free(envp[i]);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    return rc == ENOMEM ? ERROR_NOT_ENOUGH_MEMORY : ERROR_WINHTTP_AUTO_PROXY_SERVICE_ERROR;
  }
  p->fd = sv[0];
  fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
  atomic_fetch_add(&started, 1);
  atomic_fetch_add(&alive, 1);
  return ERROR_SUCCESS;
}

void wh_pac_proc_free(struct wh_pac_proc *p)
{
  if (!p)
    return;
  if (p->pid > 0) {
    kill(p->pid, SIGKILL);
    /* It dies at once; an application that reaps every child
     * (waitpid(-1)) may have taken it first (ECHILD). */
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
      ;
    atomic_fetch_sub(&alive, 1);
  }
  if (p->fd >= 0)
    close(p->fd);
  wh_free(p);
}

/* --- talking ----------------------------------------------------------------- */

/* How a wait for the helper ended. */
struct waiting {
  int64_t deadline;
  int cancel_fd;
  DWORD err; /* ERROR_WINHTTP_OPERATION_CANCELLED once cancelled */
};

static bool wait_for(struct wh_pac_proc *p, short events, struct waiting *w)
{
  DWORD err = wh_wait_fd(p->fd, events, w->deadline, w->cancel_fd);
  if (err == ERROR_WINHTTP_OPERATION_CANCELLED)
    w->err = err;
  return err == ERROR_SUCCESS;
}

/* Sends |n| bytes. */
static bool send_all(struct wh_pac_proc *p, const void *buf, size_t n, struct waiting *wt)
{
  const unsigned char *b = buf;
  while (n) {
    ssize_t w = send(p->fd, b, n, MSG_NOSIGNAL);
    if (w > 0) {
      b += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(p, POLLOUT, wt))
      continue;
    return false;
  }
  return true;
}

/* Receives exactly |n| bytes. */
static bool recv_all(struct wh_pac_proc *p, void *buf, size_t n, struct waiting *wt)
{
  unsigned char *b = buf;
  while (n) {
    ssize_t r = recv(p->fd, b, n, 0);
    if (r > 0) {
      b += r;
      n -= (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(p, POLLIN, wt))
      continue;
    return false; /* closed, failed, or late */
  }
  return true;
}

/* One request and its answer. *payload (NUL-terminated, wh_free) is the
 * answer's payload. ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT when the helper
 * died, broke the protocol or missed the deadline;
 * ERROR_WINHTTP_OPERATION_CANCELLED. */
static DWORD exchange(struct wh_pac_proc *p, int type, const void *a, size_t alen,
                      const void *b, size_t blen, struct waiting *w, int *answer_type,
                      char **payload)
{
  unsigned char hdr[WH_PAC_WIRE_HEADER];
  wh_pac_wire_header(hdr, type, alen + blen);
  size_t len;
  if (!send_all(p, hdr, sizeof(hdr), w) || (alen && !send_all(p, a, alen, w)) ||
      (blen && !send_all(p, b, blen, w)) || !recv_all(p, hdr, sizeof(hdr), w) ||
      wh_pac_wire_parse_header(hdr, sizeof(hdr), WH_PAC_WIRE_MAX_ANSWER, answer_type, &len) != 1)
    return w->err ? w->err : ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT;
  char *buf = wh_malloc(len + 1);
  if (!buf)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (!recv_all(p, buf, len, w)) {
    wh_free(buf);
    return w->err ? w->err : ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT;
  }
  buf[len] = '\0';
  *payload = buf;
  return ERROR_SUCCESS;
}

DWORD wh_pac_proc_start(const char *script, size_t len, int64_t deadline, int cancel_fd,
                        struct wh_pac_proc **out)
{
  *out = NULL;
  if (len > WH_PAC_SCRIPT_MAX)
    return ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT;
  struct wh_pac_proc *p = wh_calloc(1, sizeof(*p));
  if (!p)
    return ERROR_NOT_ENOUGH_MEMORY;
  p->fd = -1;
  DWORD err = spawn(p);
  if (err != ERROR_SUCCESS) {
    wh_free(p);
    return err;
  }
  int type = 0;
  char *answer = NULL;
  struct waiting w = {deadline, cancel_fd, ERROR_SUCCESS};
  err = exchange(p, WH_PAC_WIRE_LOAD, script, len, NULL, 0, &w, &type, &answer);
  if (err == ERROR_SUCCESS && type != WH_PAC_WIRE_OK)
    err = ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT;
  wh_free(answer);
  if (err != ERROR_SUCCESS) {
    wh_pac_proc_free(p);
    return err;
  }
  *out = p;
  return ERROR_SUCCESS;
}

DWORD wh_pac_proc_query(struct wh_pac_proc *p, const char *url, const char *host,
                        int64_t deadline, int cancel_fd, char **answer)
{
  *answer = NULL;
  size_t ul = strlen(url) + 1; /* the NUL between the two */
  size_t hl = strlen(host);
  if (ul + hl > WH_PAC_WIRE_MAX_REQUEST)
    return ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT;
  int type = 0;
  char *payload = NULL;
  struct waiting w = {deadline, cancel_fd, ERROR_SUCCESS};
  DWORD err = exchange(p, WH_PAC_WIRE_QUERY, url, ul, host, hl, &w, &type, &payload);
  if (err == ERROR_SUCCESS && type != WH_PAC_WIRE_RESULT) {
    wh_free(payload);
    return ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT;
  }
  if (err == ERROR_SUCCESS)
    *answer = payload;
  return err;
}
