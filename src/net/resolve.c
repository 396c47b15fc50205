/* see resolve.h */
#include "net/resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/wait.h"
#include "util/mem.h"
#include "util/str.h"

#define MAX_ADDRS 16
#define CACHE_SLOTS 32
#define CACHE_TTL_MS 60000
#define MAX_HOST 255

struct wh_resolve {
  atomic_int refs; /* the requester and the helper thread */
  int fd;          /* eventfd, written once by the helper */
  char host[MAX_HOST + 1];
  uint16_t port;
  /* Published by the helper before it writes the eventfd; atomics so the
   * hand-over is explicit whatever the fd semantics. */
  _Atomic DWORD err;
  _Atomic(struct wh_addrs *) result;
};

/* --- cache ---------------------------------------------------------------- */

struct cache_entry {
  char host[MAX_HOST + 1];
  int64_t expires;
  struct wh_addrs *addrs; /* port 0 */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[CACHE_SLOTS];
static unsigned cache_next;

static size_t addrs_size(size_t n)
{
  return sizeof(struct wh_addrs) + n * sizeof(struct wh_addr);
}

static struct wh_addrs *addrs_copy(const struct wh_addrs *a, uint16_t port)
{
  struct wh_addrs *c = wh_malloc(addrs_size(a->n));
  if (!c)
    return NULL;
  memcpy(c, a, addrs_size(a->n));
  for (size_t i = 0; i < c->n; i++) {
    struct sockaddr *sa = (struct sockaddr *)&c->a[i].sa;
    if (sa->sa_family == AF_INET)
      ((struct sockaddr_in *)sa)->sin_port = htons(port);
    else
      ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
  }
  return c;
}

static struct wh_addrs *cache_get(const char *host, uint16_t port)
{
  struct wh_addrs *out = NULL;
  int64_t now = wh_now_ms();
  pthread_mutex_lock(&cache_lock);
  for (unsigned i = 0; i < CACHE_SLOTS; i++) {
    struct cache_entry *e = &cache[i];
    if (e->addrs && e->expires > now && wh_casecmp_eqz(host, strlen(host), e->host)) {
      out = addrs_copy(e->addrs, port);
      break;
    }
  }
  pthread_mutex_unlock(&cache_lock);
  return out;
}

static void cache_put(const char *host, const struct wh_addrs *a)
{
  struct wh_addrs *c = addrs_copy(a, 0);
  if (!c)
    return; /* caching is an optimisation */
  pthread_mutex_lock(&cache_lock);
  struct cache_entry *e = &cache[cache_next++ % CACHE_SLOTS];
  wh_free(e->addrs);
  memcpy(e->host, host, strlen(host) + 1);
  e->addrs = c;
  e->expires = wh_now_ms() + CACHE_TTL_MS;
  pthread_mutex_unlock(&cache_lock);
}

void wh_resolve_cache_clear(void)
{
  pthread_mutex_lock(&cache_lock);
  for (unsigned i = 0; i < CACHE_SLOTS; i++) {
    wh_free(cache[i].addrs);
    cache[i].addrs = NULL;
  }
  pthread_mutex_unlock(&cache_lock);
}

/* --- literals --------------------------------------------------------------- */

/* Strips the brackets of "[v6]" into |buf|. */
static const char *unbracket(const char *host, char *buf, size_t cap)
{
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < cap) {
    memcpy(buf, host + 1, n - 2);
    buf[n - 2] = '\0';
    return buf;
  }
  return host;
}

static int parse_literal(const char *host, uint16_t port, struct wh_addr *out)
{
  char buf[64];
  const char *h = unbracket(host, buf, sizeof(buf));
  struct sockaddr_in *v4 = (struct sockaddr_in *)&out->sa;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->sa;
  memset(out, 0, sizeof(*out));
  if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out->len = sizeof(*v4);
    return 1;
  }
  if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out->len = sizeof(*v6);
    return 1;
  }
  return 0;
}

int wh_host_is_literal(const char *host)
{
  struct wh_addr a;
  return parse_literal(host, 0, &a);
}

void wh_addr_format(const struct wh_addr *a, char *out, size_t cap)
{
  const struct sockaddr *sa = (const struct sockaddr *)&a->sa;
  const void *p = sa->sa_family == AF_INET
                      ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                      : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
  if (!inet_ntop(sa->sa_family, p, out, (socklen_t)cap) && cap)
    out[0] = '\0';
}

/* --- lookups ---------------------------------------------------------------- */

static DWORD lookup(const char *host, uint16_t port, struct wh_addrs **out)
{
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_ADDRCONFIG};
  struct addrinfo *res = NULL;
  int rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc == EAI_MEMORY)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (rc != 0 || !res)
    return ERROR_WINHTTP_NAME_NOT_RESOLVED;
  size_t n = 0;
  for (struct addrinfo *ai = res; ai && n < MAX_ADDRS; ai = ai->ai_next)
    if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
      n++;
  struct wh_addrs *a = n ? wh_malloc(addrs_size(n)) : NULL;
  if (!a) {
    freeaddrinfo(res);
    return n ? ERROR_NOT_ENOUGH_MEMORY : ERROR_WINHTTP_NAME_NOT_RESOLVED;
  }
  a->n = 0;
  for (struct addrinfo *ai = res; ai && a->n < n; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
      continue;
    struct wh_addr *d = &a->a[a->n++];
    memset(d, 0, sizeof(*d));
    memcpy(&d->sa, ai->ai_addr, ai->ai_addrlen);
    d->len = ai->ai_addrlen;
  }
  freeaddrinfo(res);
  cache_put(host, a);
  struct wh_addrs *c = addrs_copy(a, port);
  wh_free(a);
  if (!c)
    return ERROR_NOT_ENOUGH_MEMORY;
  *out = c;
  return ERROR_SUCCESS;
}

static void job_put(struct wh_resolve *j)
{
  if (atomic_fetch_sub(&j->refs, 1) == 1) {
    close(j->fd);
    wh_free(atomic_load(&j->result));
    wh_free(j);
  }
}

static void *job_main(void *arg)
{
  struct wh_resolve *j = arg;
  struct wh_addrs *res = NULL;
  DWORD err = lookup(j->host, j->port, &res);
  atomic_store_explicit(&j->result, res, memory_order_relaxed);
  atomic_store_explicit(&j->err, err, memory_order_release);
  uint64_t one = 1;
  ssize_t r = write(j->fd, &one, sizeof(one)); /* release: the reader reads j->err after */
  (void)r;
  job_put(j);
  return NULL;
}

DWORD wh_resolve_start(const char *host, uint16_t port, struct wh_resolve **job,
                       struct wh_addrs **out)
{
  *job = NULL;
  *out = NULL;
  size_t hl = strlen(host);
  if (hl == 0 || hl > MAX_HOST)
    return ERROR_WINHTTP_NAME_NOT_RESOLVED;
  struct wh_addr lit;
  if (parse_literal(host, port, &lit)) {
    struct wh_addrs *a = wh_malloc(addrs_size(1));
    if (!a)
      return ERROR_NOT_ENOUGH_MEMORY;
    a->n = 1;
    a->a[0] = lit;
    *out = a;
    return ERROR_SUCCESS;
  }
  if ((*out = cache_get(host, port)) != NULL)
    return ERROR_SUCCESS;

  struct wh_resolve *j = wh_calloc(1, sizeof(*j));
  if (!j)
    return ERROR_NOT_ENOUGH_MEMORY;
  j->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (j->fd < 0) {
    wh_free(j);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  memcpy(j->host, host, hl + 1);
  j->port = port;
  atomic_init(&j->refs, 2);
  atomic_init(&j->err, ERROR_WINHTTP_INTERNAL_ERROR);
  atomic_init(&j->result, NULL);
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int rc = pthread_create(&t, &attr, job_main, j);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    close(j->fd);
    wh_free(j);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  *job = j;
  return ERROR_SUCCESS;
}

int wh_resolve_fd(const struct wh_resolve *job)
{
  return job->fd;
}

DWORD wh_resolve_finish(struct wh_resolve *job, struct wh_addrs **out)
{
  uint64_t v;
  ssize_t r = read(job->fd, &v, sizeof(v)); /* acquire: pairs with the helper's write */
  DWORD err = r == (ssize_t)sizeof(v) ? atomic_load_explicit(&job->err, memory_order_acquire)
                                       : ERROR_WINHTTP_INTERNAL_ERROR;
  if (err == ERROR_SUCCESS)
    *out = atomic_exchange(&job->result, NULL);
  job_put(job);
  return err;
}

void wh_resolve_abandon(struct wh_resolve *job)
{
  if (job)
    job_put(job);
}
