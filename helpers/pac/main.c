/* winhttp-pac: the process in which OpenWinHTTP runs proxy
 * auto-configuration scripts, downloaded from the network and therefore
 * untrusted. The library starts it (net/pac_proc.c) with a socket on
 * standard input and /dev/null for output, sends the script, then asks for
 * proxies URL by URL (src/proto/pac_wire.h).
 *
 * Why a process of its own: a script may loop forever or allocate without
 * end, and Debian's duktape cannot interrupt a running script, so the
 * library must be able to kill the evaluation without harm to the
 * application; name lookups (dnsResolve) block as well.
 *
 * What bounds it, set here at startup before any script byte is read:
 *  - the heap: engine.c's allocator stops at HEAP_MAX, and RLIMIT_AS caps
 *    the whole address space as a backstop (not in sanitizer builds,
 *    whose shadow memory needs terabytes of address space);
 *  - CPU time: RLIMIT_CPU, raised before each request to what the process
 *    has used plus CPU_PER_REQUEST seconds, so that a helper left looping
 *    by a library that died is killed by the kernel (SIGXCPU);
 *  - RLIMIT_NOFILE (a few sockets for name lookups), RLIMIT_FSIZE 0 (no
 *    file is written), RLIMIT_CORE 0 (a killed helper leaves no core), no
 *    new privileges; every descriptor above 2 is closed.
 * The wall clock is the library's: it kills the helper when an answer is
 * late. Any framing error ends the process. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "proto/pac_wire.h"

#define HEAP_MAX (128u << 20)
#define ADDRESS_SPACE_MAX (1ul << 30)
#define CPU_PER_REQUEST 90
#define FD_MAX 32

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

/* Best effort: a lower limit already set stays. (A macro: the type of
 * setrlimit's first parameter differs between C libraries.) */
#define limit(resource, soft, hard)        \
  do {                                     \
    struct rlimit rl_ = {(soft), (hard)};  \
    (void)setrlimit((resource), &rl_);     \
  } while (0)

static void confine(void)
{
  /* Descriptors inherited from the application (its sockets and files)
   * have no business here. */
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
  {
    for (int fd = 3; fd < 1024; fd++)
      close(fd);
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  limit(RLIMIT_CORE, 0, 0);
  limit(RLIMIT_FSIZE, 0, 0);
  limit(RLIMIT_NOFILE, FD_MAX, FD_MAX);
#ifndef SANITIZED
  limit(RLIMIT_AS, ADDRESS_SPACE_MAX, ADDRESS_SPACE_MAX);
#endif
}

/* Before each request: CPU_PER_REQUEST more seconds than used so far. */
static void cpu_budget(void)
{
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return;
  rlim_t used = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1);
  limit(RLIMIT_CPU, used + CPU_PER_REQUEST, RLIM_INFINITY);
}

static bool read_full(void *buf, size_t n)
{
  unsigned char *p = buf;
  while (n) {
    ssize_t r = read(0, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    p += r;
    n -= (size_t)r;
  }
  return true;
}

static bool write_full(const void *buf, size_t n)
{
  const unsigned char *p = buf;
  while (n) {
    ssize_t w = send(0, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static bool reply(int type, const void *payload, size_t len)
{
  unsigned char hdr[WH_PAC_WIRE_HEADER];
  wh_pac_wire_header(hdr, type, len);
  return write_full(hdr, sizeof(hdr)) && (len == 0 || write_full(payload, len));
}

int main(void)
{
  confine();
  struct pac_engine *engine = pac_engine_new(HEAP_MAX);
  if (!engine)
    return 1;
  static char answer[WH_PAC_WIRE_MAX_ANSWER];
  bool loaded = false;
  for (;;) {
    unsigned char hdr[WH_PAC_WIRE_HEADER];
    int type;
    size_t len;
    if (!read_full(hdr, sizeof(hdr)))
      break; /* the library is done with this helper */
    if (wh_pac_wire_parse_header(hdr, sizeof(hdr), WH_PAC_WIRE_MAX_REQUEST, &type, &len) != 1)
      return 2;
    char *payload = malloc(len ? len : 1);
    if (!payload || !read_full(payload, len))
      return 3;
    cpu_budget();
    bool ok;
    if (type == WH_PAC_WIRE_LOAD && !loaded) {
      if (pac_engine_load(engine, payload, len, answer, sizeof(answer)) == 0) {
        loaded = true;
        ok = reply(WH_PAC_WIRE_OK, NULL, 0);
      } else {
        ok = reply(WH_PAC_WIRE_ERROR, answer, strlen(answer));
      }
    } else if (type == WH_PAC_WIRE_QUERY && loaded) {
      const char *url, *host;
      size_t ul, hl, n;
      if (!wh_pac_wire_split_query(payload, len, &url, &ul, &host, &hl)) {
        free(payload);
        return 4;
      }
      int rc = pac_engine_query(engine, url, ul, host, hl, answer, sizeof(answer), &n);
      ok = reply(rc == 0 ? WH_PAC_WIRE_RESULT : WH_PAC_WIRE_ERROR, answer, n);
    } else {
      free(payload);
      return 5; /* out of order: the library is confused, or not the library */
    }
    free(payload);
    if (!ok)
      break;
  }
  pac_engine_free(engine);
  return 0;
}
