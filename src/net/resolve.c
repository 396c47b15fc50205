/* see resolve.h */
#include "net/resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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

/* One lookup of a name in flight, shared by every request that asks for
 * that name meanwhile: ten thousand requests to one new host cost one
 * getaddrinfo and one helper thread, not ten thousand. */
struct lookup {
  struct lookup *next;        /* in |inflight| (reg_lock) */
  struct lookup *next_queued; /* in the queue for a helper (reg_lock) */
  atomic_int refs;            /* the registry until done, and each job attached */
  char host[MAX_HOST + 1];
  /* Published before the waiters are signalled (release), read after
   * their eventfd (acquire). */
  _Atomic DWORD err;
  _Atomic(struct wh_addrs *) result; /* port 0, owned */
  struct wh_resolve **waiters; /* each holds a job reference (reg_lock) */
  size_t n_waiters, cap_waiters;
};

struct wh_resolve {
  atomic_int refs; /* the requester, and the lookup until it signals */
  int fd;          /* eventfd, written once when the lookup ends */
  uint16_t port;
  struct lookup *lk; /* a reference */
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

/* getaddrinfo for |host|: the addresses with port 0, cached. */
static DWORD lookup(const char *host, struct wh_addrs **out)
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
  *out = a;
  return ERROR_SUCCESS;
}

/* --- the registry of lookups in flight and their helper threads -------------- */

/* At most this many getaddrinfo calls at once; more distinct names wait in
 * |queue| for a helper to finish. */
#define MAX_HELPERS 4

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lookup *inflight;   /* being looked up, or queued: joinable */
static struct lookup *queue_head, *queue_tail;
static unsigned helpers;          /* helper threads running */
static atomic_uint threads_started;

unsigned wh_resolve_threads_started(void)
{
  return atomic_load(&threads_started);
}

static void lookup_put(struct lookup *lk)
{
  if (atomic_fetch_sub(&lk->refs, 1) == 1) {
    wh_free(atomic_load(&lk->result));
    wh_free(lk->waiters);
    wh_free(lk);
  }
}

static void job_put(struct wh_resolve *j)
{
  if (atomic_fetch_sub(&j->refs, 1) == 1) {
    close(j->fd);
    lookup_put(j->lk);
    wh_free(j);
  }
}

static void unlink_inflight(struct lookup *lk)
{
  for (struct lookup **pp = &inflight; *pp; pp = &(*pp)->next)
    if (*pp == lk) {
      *pp = lk->next;
      break;
    }
  lk->next = NULL;
}

/* |lk| is over (looked up, or no helper could run it): publish, take it out
 * of the registry, wake every job attached, drop the registry's reference. */
static void lookup_done(struct lookup *lk, DWORD err, struct wh_addrs *res)
{
  atomic_store_explicit(&lk->result, res, memory_order_relaxed);
  atomic_store_explicit(&lk->err, err, memory_order_release);
  pthread_mutex_lock(&reg_lock);
  unlink_inflight(lk);
  struct wh_resolve **w = lk->waiters;
  size_t n = lk->n_waiters;
  lk->waiters = NULL;
  lk->n_waiters = lk->cap_waiters = 0;
  pthread_mutex_unlock(&reg_lock);
  uint64_t one = 1;
  for (size_t i = 0; i < n; i++) {
    ssize_t r = write(w[i]->fd, &one, sizeof(one)); /* release: pairs with finish's read */
    (void)r;
    job_put(w[i]);
  }
  wh_free(w);
  lookup_put(lk);
}

static void *helper_main(void *arg)
{
  struct lookup *lk = arg;
  while (lk) {
    struct wh_addrs *res = NULL;
    DWORD err = lookup(lk->host, &res);
    lookup_done(lk, err, res);
    /* The next name waiting for a helper, or this thread ends. */
    pthread_mutex_lock(&reg_lock);
    lk = queue_head;
    if (lk) {
      queue_head = lk->next_queued;
      if (!queue_head)
        queue_tail = NULL;
    } else {
      helpers--;
    }
    pthread_mutex_unlock(&reg_lock);
  }
  return NULL;
}

/* Attaches |j| to the lookup of its host, starting one if there is none.
 * Returns the lookup a new helper thread must run, or NULL. */
static DWORD attach(struct wh_resolve *j, const char *host, struct lookup **start)
{
  *start = NULL;
  pthread_mutex_lock(&reg_lock);
  struct lookup *lk = inflight;
  while (lk && !wh_casecmp_eqz(host, strlen(host), lk->host))
    lk = lk->next;
  bool fresh = !lk;
  if (fresh) {
    lk = wh_calloc(1, sizeof(*lk));
    if (!lk) {
      pthread_mutex_unlock(&reg_lock);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
    memcpy(lk->host, host, strlen(host) + 1);
    atomic_init(&lk->refs, 1); /* the registry's */
    atomic_init(&lk->err, ERROR_WINHTTP_INTERNAL_ERROR);
    atomic_init(&lk->result, NULL);
  }
  if (lk->n_waiters == lk->cap_waiters) {
    size_t cap = lk->cap_waiters ? lk->cap_waiters * 2 : 4;
    struct wh_resolve **w = wh_realloc(lk->waiters, cap * sizeof(*w));
    if (!w) {
      pthread_mutex_unlock(&reg_lock);
      if (fresh)
        lookup_put(lk);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
    lk->waiters = w;
    lk->cap_waiters = cap;
  }
  atomic_fetch_add(&j->refs, 1); /* the lookup's, until it signals */
  lk->waiters[lk->n_waiters++] = j;
  atomic_fetch_add(&lk->refs, 1); /* the job's */
  j->lk = lk;
  if (fresh) {
    lk->next = inflight;
    inflight = lk;
    if (helpers < MAX_HELPERS) {
      helpers++;
      *start = lk;
    } else {
      if (queue_tail)
        queue_tail->next_queued = lk;
      else
        queue_head = lk;
      queue_tail = lk;
    }
  }
  pthread_mutex_unlock(&reg_lock);
  return ERROR_SUCCESS;
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
  j->port = port;
  atomic_init(&j->refs, 1); /* the requester's */
  struct lookup *start = NULL;
  DWORD err = attach(j, host, &start);
  if (err != ERROR_SUCCESS) {
    close(j->fd);
    wh_free(j);
    return err;
  }
  if (start) {
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int rc = pthread_create(&t, &attr, helper_main, start);
    pthread_attr_destroy(&attr);
    if (rc == 0) {
      atomic_fetch_add(&threads_started, 1);
    } else {
      /* No thread: the lookup fails for everyone attached to it, and so do
       * the names queued behind it when no helper is left to take them. */
      pthread_mutex_lock(&reg_lock);
      helpers--;
      struct lookup *stranded = helpers == 0 ? queue_head : NULL;
      if (stranded)
        queue_head = queue_tail = NULL;
      pthread_mutex_unlock(&reg_lock);
      lookup_done(start, ERROR_NOT_ENOUGH_MEMORY, NULL);
      while (stranded) {
        struct lookup *next = stranded->next_queued;
        lookup_done(stranded, ERROR_NOT_ENOUGH_MEMORY, NULL);
        stranded = next;
      }
    }
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
  ssize_t r = read(job->fd, &v, sizeof(v)); /* acquire: pairs with lookup_done's write */
  DWORD err = r == (ssize_t)sizeof(v)
                  ? atomic_load_explicit(&job->lk->err, memory_order_acquire)
                  : ERROR_WINHTTP_INTERNAL_ERROR;
  if (err == ERROR_SUCCESS) {
    *out = addrs_copy(atomic_load_explicit(&job->lk->result, memory_order_relaxed), job->port);
    if (!*out)
      err = ERROR_NOT_ENOUGH_MEMORY;
  }
  job_put(job);
  return err;
}

void wh_resolve_abandon(struct wh_resolve *job)
{
  if (job)
    job_put(job);
}
