/* see conn.h: sockets, the connector and the keep-alive pool. TLS is in
 * tls.c. */
#include "net/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/wait.h"
#include "util/mem.h"
#include "util/objpool.h"

void wh_tls_free(struct ssl_st *ssl); /* tls.c */
DWORD wh_tls_recv(struct wh_conn *c, void *buf, size_t cap, size_t *n, short *events);
DWORD wh_tls_send(struct wh_conn *c, const void *buf, size_t len, size_t *n, short *events);

/* --- connecting ------------------------------------------------------------ */

void wh_connector_init(struct wh_connector *k, const struct wh_addrs *addrs, size_t max_tries)
{
  memset(k, 0, sizeof(*k));
  k->addrs = addrs;
  k->limit = max_tries ? max_tries : 1;
  k->fd = -1;
}

void wh_connector_abort(struct wh_connector *k)
{
  if (k->fd >= 0)
    close(k->fd);
  k->fd = -1;
}

static int open_socket(int family)
{
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0)
    return -1;
  /* Requests are small writes answered by reads: Nagle would hold the
   * request head back for an ACK. */
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

DWORD wh_connector_step(struct wh_connector *k, int *fd)
{
  for (;;) {
    if (k->fd >= 0) {
      /* A connect in progress became writable: did it succeed? */
      int err = 0;
      socklen_t len = sizeof(err);
      if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
      if (err == 0) {
        /* SO_ERROR is 0 while the connect is still in progress too: a step
         * run before the socket became writable (woken for another reason)
         * must not take it for connected. */
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        if (getpeername(k->fd, (struct sockaddr *)&peer, &plen) != 0) {
          if (errno == ENOTCONN)
            return ERROR_IO_PENDING;
          err = errno;
        } else {
          *fd = k->fd;
          k->fd = -1;
          return ERROR_SUCCESS;
        }
      }
      if (err == EINPROGRESS || err == EALREADY)
        return ERROR_IO_PENDING;
      k->last_errno = err;
      close(k->fd);
      k->fd = -1;
    }
    if (k->next >= k->addrs->n || k->next >= k->limit)
      return ERROR_WINHTTP_CANNOT_CONNECT;
    k->current = k->next++;
    const struct wh_addr *a = &k->addrs->a[k->current];
    int s = open_socket(((const struct sockaddr *)&a->sa)->sa_family);
    if (s < 0) {
      k->last_errno = errno;
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
        return ERROR_NOT_ENOUGH_MEMORY;
      continue;
    }
    if (connect(s, (const struct sockaddr *)&a->sa, a->len) == 0) {
      *fd = s;
      return ERROR_SUCCESS;
    }
    if (errno == EINPROGRESS) {
      k->fd = s;
      return ERROR_IO_PENDING;
    }
    k->last_errno = errno;
    close(s);
  }
}

/* Connections come from a pool of their own: one that stays idle after a
 * burst of requests then shares its page with the burst's other
 * survivors, not with the burst's freed request memory (util/objpool.h). */
static struct wh_objpool conn_objs = WH_OBJPOOL_INIT(sizeof(struct wh_conn));

DWORD wh_conn_new(int fd, const struct wh_conn_key *key, const struct wh_addr *remote,
                  struct wh_conn **out)
{
  struct wh_conn *c = wh_objpool_get(&conn_objs);
  if (!c) {
    close(fd);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  static atomic_ullong next_id = 1;
  c->id = atomic_fetch_add(&next_id, 1);
  c->fd = fd;
  c->wfd = -1;
  pthread_mutex_init(&c->ssl_lock, NULL);
  c->key = *key;
  c->remote = *remote;
  c->local.len = sizeof(c->local.sa);
  if (getsockname(fd, (struct sockaddr *)&c->local.sa, &c->local.len) != 0)
    c->local.len = 0;
  *out = c;
  return ERROR_SUCCESS;
}

static void count_release(const struct wh_conn_key *key);

void wh_conn_free(struct wh_conn *c)
{
  if (!c)
    return;
  if (c->counted)
    count_release(&c->key);
  if (c->ssl)
    wh_tls_free(c->ssl);
  wh_blob_unref(c->cert);
  wh_blob_unref(c->cert_issuers);
  if (c->wfd >= 0)
    close(c->wfd);
  if (c->fd >= 0)
    close(c->fd);
  pthread_mutex_destroy(&c->ssl_lock);
  wh_objpool_put(&conn_objs, c);
}

int wh_conn_write_fd(struct wh_conn *c)
{
  if (c->wfd < 0)
    c->wfd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
  return c->wfd;
}

void wh_conn_shutdown(struct wh_conn *c)
{
  shutdown(c->fd, SHUT_RDWR);
}

/* --- I/O ----------------------------------------------------------------------- */

DWORD wh_conn_recv(struct wh_conn *c, void *buf, size_t cap, size_t *n, short *events)
{
  if (c->ssl)
    return wh_tls_recv(c, buf, cap, n, events);
  for (;;) {
    ssize_t r = recv(c->fd, buf, cap, 0);
    if (r >= 0) {
      *n = (size_t)r;
      return ERROR_SUCCESS;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      *events = POLLIN;
      return ERROR_IO_PENDING;
    }
    c->last_errno = errno;
    return ERROR_WINHTTP_CONNECTION_ERROR;
  }
}

DWORD wh_conn_send(struct wh_conn *c, const void *buf, size_t len, size_t *n, short *events)
{
  if (c->ssl)
    return wh_tls_send(c, buf, len, n, events);
  for (;;) {
    /* MSG_NOSIGNAL: a peer that went away must give an error, not SIGPIPE
     * in the application. */
    ssize_t r = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (r >= 0) {
      *n = (size_t)r;
      return ERROR_SUCCESS;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      *events = POLLOUT;
      return ERROR_IO_PENDING;
    }
    c->last_errno = errno;
    return ERROR_WINHTTP_CONNECTION_ERROR;
  }
}

bool wh_conn_alive(struct wh_conn *c)
{
  /* Bytes OpenSSL already holds would be read before the socket's. */
  if (wh_conn_pending(c) != 0)
    return false;
  char b;
  ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  /* Nothing to read is the only healthy answer for an idle HTTP/1.1
   * connection: EOF means the server closed it, and bytes would be a
   * response nobody asked for. */
  return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* --- pool ------------------------------------------------------------------------ */

/* Idle connections, in buckets by a hash of their key: taking one looks
 * at its own bucket only, however many others are idle (10,000 idle
 * connections cost a take what ten do). Each bucket is a list, most
 * recently pooled first: the likeliest to still be open. A connection
 * idle past WH_POOL_IDLE_MS is closed when its bucket is next looked at,
 * and by a sweep of every bucket at most once a second. The cap is half
 * the process's descriptor limit (at least POOL_MIN_MAX), read again at
 * each sweep: idle connections must not take the descriptors the
 * application needs for its own files. */
#define POOL_BUCKETS 1024 /* a power of two */
#define POOL_MIN_MAX 256
#define POOL_SWEEP_MS 1000

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static void wake_one_locked(const struct wh_conn_key *key);
static struct wh_conn *pool_bucket[POOL_BUCKETS];
static size_t pool_count;
static size_t pool_max = POOL_MIN_MAX;
static int64_t pool_next_sweep;

static bool key_eq(const struct wh_conn_key *a, const struct wh_conn_key *b)
{
  return a->port == b->port && a->secure == b->secure &&
         a->security_flags == b->security_flags && a->protocols == b->protocols &&
         a->revocation == b->revocation && wh_conn_key_client_eq(a, b) &&
         strcmp(a->host, b->host) == 0 && strcmp(a->proxy, b->proxy) == 0;
}

static uint32_t fnv_str(uint32_t h, const char *s)
{
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* Over fields key_eq compares (equal keys, equal hashes). */
static struct wh_conn **bucket_of(const struct wh_conn_key *key)
{
  uint32_t h = fnv_str(2166136261u, key->host);
  h = fnv_str(h, key->proxy);
  h = (h ^ key->port) * 16777619u;
  h = (h ^ (unsigned)key->secure) * 16777619u;
  return &pool_bucket[(h ^ (h >> 16)) & (POOL_BUCKETS - 1)];
}

static size_t read_pool_max(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return POOL_MIN_MAX;
  rlim_t half = rl.rlim_cur / 2;
  if (half > (rlim_t)1 << 20)
    half = (rlim_t)1 << 20;
  return half > POOL_MIN_MAX ? (size_t)half : POOL_MIN_MAX;
}

/* Under pool_lock: moves the expired connections of the list at |pp| to
 * |*dead|. */
static void expire_locked(struct wh_conn **pp, int64_t now, struct wh_conn **dead)
{
  while (*pp) {
    struct wh_conn *c = *pp;
    if (now - c->idle_since > WH_POOL_IDLE_MS) {
      *pp = c->next;
      c->next = *dead;
      *dead = c;
      pool_count--;
      continue;
    }
    pp = &c->next;
  }
}

/* Under pool_lock: the sweep, when it is due. */
static void maybe_sweep_locked(int64_t now, struct wh_conn **dead)
{
  if (now < pool_next_sweep)
    return;
  pool_next_sweep = now + POOL_SWEEP_MS;
  pool_max = read_pool_max();
  if (pool_count == 0)
    return;
  for (size_t i = 0; i < POOL_BUCKETS; i++)
    expire_locked(&pool_bucket[i], now, dead);
}

static void free_list(struct wh_conn *c)
{
  while (c) {
    struct wh_conn *n = c->next;
    wh_conn_free(c);
    c = n;
  }
}

struct wh_conn *wh_pool_take(const struct wh_conn_key *key)
{
  struct wh_conn *dead = NULL, *found = NULL;
  int64_t now = wh_now_ms();
  pthread_mutex_lock(&pool_lock);
  maybe_sweep_locked(now, &dead);
  struct wh_conn **pp = bucket_of(key);
  while (*pp) {
    struct wh_conn *c = *pp;
    if (now - c->idle_since > WH_POOL_IDLE_MS) {
      *pp = c->next;
      c->next = dead;
      dead = c;
      pool_count--;
      continue;
    }
    if (key_eq(&c->key, key) && c->key.h2 == key->h2) {
      *pp = c->next;
      pool_count--;
      found = c;
      break;
    }
    pp = &c->next;
  }
  pthread_mutex_unlock(&pool_lock);
  free_list(dead);
  if (found) {
    found->next = NULL;
    /* Every reuse is probed, however recently the connection was pooled:
     * bytes that arrived while it was idle (a second response pushed after
     * a complete one, a body after a 204 or a HEAD answer) would otherwise
     * be read as the next request's response. */
    if (!wh_conn_alive(found)) {
      wh_conn_free(found);
      return wh_pool_take(key); /* the next one, if any */
    }
  }
  return found;
}

void wh_pool_put(struct wh_conn *c)
{
  if (c->auth_bound) {
    /* Authenticated as someone: another request must not inherit that. */
    wh_conn_free(c);
    return;
  }
  struct wh_conn *dead = NULL;
  c->idle_since = wh_now_ms();
  pthread_mutex_lock(&pool_lock);
  maybe_sweep_locked(c->idle_since, &dead);
  if (pool_count < pool_max) {
    struct wh_conn **b = bucket_of(&c->key);
    c->next = *b;
    *b = c;
    pool_count++;
    wake_one_locked(&c->key);
    c = NULL;
  }
  pthread_mutex_unlock(&pool_lock);
  free_list(dead);
  wh_conn_free(c);
}

void wh_pool_clear(void)
{
  struct wh_conn *all = NULL;
  pthread_mutex_lock(&pool_lock);
  for (size_t i = 0; i < POOL_BUCKETS; i++) {
    while (pool_bucket[i]) {
      struct wh_conn *c = pool_bucket[i];
      pool_bucket[i] = c->next;
      c->next = all;
      all = c;
    }
  }
  pool_count = 0;
  pthread_mutex_unlock(&pool_lock);
  free_list(all);
}

/* --- MAX_CONNS_PER_SERVER ------------------------------------------------------------ */

#define COUNT_SLOTS 64
#define WAITERS_MAX 64

static struct {
  struct wh_conn_key key;
  unsigned n;
} counts[COUNT_SLOTS];
static struct {
  struct wh_conn_key key;
  int fd;
} waiters[WAITERS_MAX];
static unsigned nwaiters;

/* Under pool_lock. NULL when the table is full: then the limit is not
 * enforced for that key (bounded memory beats a hard failure). */
static unsigned *count_of(const struct wh_conn_key *key, bool create)
{
  int free_slot = -1;
  for (int i = 0; i < COUNT_SLOTS; i++) {
    if (counts[i].n && key_eq(&counts[i].key, key))
      return &counts[i].n;
    if (!counts[i].n && free_slot < 0)
      free_slot = i;
  }
  if (!create || free_slot < 0)
    return NULL;
  counts[free_slot].key = *key;
  return &counts[free_slot].n;
}

/* Servers seen answering with HTTP/1.0, for MAX_CONNS_PER_1_0_SERVER: the
 * version is only known from a response, so the limit applies from a
 * server's first answer on. A ring of the most recent ones, under
 * pool_lock (forgetting an old one only lifts its lower limit). */
#define HTTP10_SLOTS 64
static struct wh_conn_key http10[HTTP10_SLOTS];
static unsigned http10_n, http10_next;

static bool is_http10_locked(const struct wh_conn_key *key)
{
  for (unsigned i = 0; i < http10_n; i++)
    if (key_eq(&http10[i], key))
      return true;
  return false;
}

void wh_pool_note_http10(const struct wh_conn_key *key)
{
  pthread_mutex_lock(&pool_lock);
  if (!is_http10_locked(key)) {
    http10[http10_next] = *key;
    http10_next = (http10_next + 1) % HTTP10_SLOTS;
    if (http10_n < HTTP10_SLOTS)
      http10_n++;
  }
  pthread_mutex_unlock(&pool_lock);
}

bool wh_pool_is_http10(const struct wh_conn_key *key)
{
  pthread_mutex_lock(&pool_lock);
  bool known = is_http10_locked(key);
  pthread_mutex_unlock(&pool_lock);
  return known;
}

bool wh_pool_reserve(const struct wh_conn_key *key, DWORD limit, int wake_fd)
{
  if (limit == WINHTTP_CONNS_PER_SERVER_UNLIMITED)
    return true;
  bool ok = true;
  pthread_mutex_lock(&pool_lock);
  unsigned *n = count_of(key, true);
  if (n && *n >= limit) {
    ok = false;
    if (nwaiters < WAITERS_MAX) {
      waiters[nwaiters].key = *key;
      waiters[nwaiters].fd = wake_fd;
      nwaiters++;
    } else {
      ok = true; /* too many waiters to track: do not make this one wait forever */
    }
  }
  if (ok && n)
    (*n)++;
  pthread_mutex_unlock(&pool_lock);
  return ok;
}

void wh_pool_unreserve(const struct wh_conn_key *key)
{
  count_release(key);
}

void wh_pool_unwait(int wake_fd)
{
  pthread_mutex_lock(&pool_lock);
  for (unsigned i = 0; i < nwaiters; i++) {
    if (waiters[i].fd == wake_fd) {
      waiters[i] = waiters[--nwaiters];
      break;
    }
  }
  pthread_mutex_unlock(&pool_lock);
}

void wh_pool_unwait_giving_up(int wake_fd, const struct wh_conn_key *key)
{
  pthread_mutex_lock(&pool_lock);
  bool found = false;
  for (unsigned i = 0; i < nwaiters && !found; i++) {
    if (waiters[i].fd == wake_fd) {
      waiters[i] = waiters[--nwaiters];
      found = true;
    }
  }
  /* Already woken for a free connection it will not use: the next waiter
   * gets the wake-up instead. */
  if (!found)
    wake_one_locked(key);
  pthread_mutex_unlock(&pool_lock);
}

void wh_conn_counted(struct wh_conn *c)
{
  c->counted = true;
}

/* Under pool_lock: a connection of |key| became available (freed or
 * pooled), wake one waiter. Signalled under the lock: the waiter
 * unregisters under it too, so the fd is still its own (threads keep their
 * eventfd until they exit). */
static void wake_one_locked(const struct wh_conn_key *key)
{
  for (unsigned i = 0; i < nwaiters; i++) {
    if (key_eq(&waiters[i].key, key)) {
      int fd = waiters[i].fd;
      waiters[i] = waiters[--nwaiters];
      wh_cancel_fd_signal(fd);
      return;
    }
  }
}

static void count_release(const struct wh_conn_key *key)
{
  pthread_mutex_lock(&pool_lock);
  unsigned *n = count_of(key, false);
  if (n && *n)
    (*n)--;
  wake_one_locked(key);
  pthread_mutex_unlock(&pool_lock);
}
