/* see autoproxy.h: the session's context, its cache and helpers, and a
 * lookup's work (autoproxy_job.c runs it on a worker thread). */
#include "core/autoproxy.h"
#include "core/autoproxy_int.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "net/pac_proc.h"
#include "net/wait.h"
#include "proto/pac_wire.h"
#include "util/mem.h"

#define SCRIPT_TTL_MS (60 * 60 * 1000)
#define FAILURE_TTL_MS (60 * 1000)
#define FINGERPRINT_TTL_MS 1000

static _Atomic(wh_pac_fetch_fn) fetcher;
static atomic_long script_ms_override;

void wh_autoproxy_set_fetcher(wh_pac_fetch_fn fn)
{
  atomic_store(&fetcher, fn);
}

void wh_autoproxy_test_script_ms(long ms)
{
  atomic_store(&script_ms_override, ms);
}

static int64_t script_deadline(void)
{
  long ms = atomic_load(&script_ms_override);
  return wh_now_ms() + (ms > 0 ? ms : WH_AUTOPROXY_SCRIPT_MS);
}

/* --- the machine's addresses ------------------------------------------------------ */

/* A hash of the addresses of the interfaces that are up: Windows keeps its
 * autoproxy cache "until the IP address associated with the computer
 * changes". Computed at most once a second, process-wide. */
static atomic_uint_fast64_t fp_value;
static atomic_int_fast64_t fp_until;

static uint64_t mix(uint64_t h, const unsigned char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull; /* FNV-1a */
  return h;
}

static uint64_t fingerprint(void)
{
  int64_t now = wh_now_ms();
  if (now < atomic_load(&fp_until))
    return atomic_load(&fp_value);
  uint64_t h = 0xcbf29ce484222325ull;
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) == 0) {
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
      if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
        continue;
      if (i->ifa_addr->sa_family == AF_INET)
        h = mix(h, (const unsigned char *)&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
                4);
      else if (i->ifa_addr->sa_family == AF_INET6)
        h = mix(h, ((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr.s6_addr, 16);
    }
    freeifaddrs(list);
  }
  atomic_store(&fp_value, h);
  atomic_store(&fp_until, now + FINGERPRINT_TTL_MS);
  return h;
}

/* --- scripts and the cache ---------------------------------------------------- */

struct script {
  atomic_int refs;
  char *body;
  size_t len;
  unsigned gen;   /* which helpers have it loaded */
  DWORD load_err; /* under the context's lock: it failed to load */
};

static void script_unref(struct script *s)
{
  if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
    wh_free(s->body);
    wh_free(s);
  }
}

/* One cached outcome: of detection, or of the last PAC URL. */
struct slot {
  bool valid;
  bool busy;      /* being filled: others wait for it (one download, not many) */
  char *key;      /* the PAC URL (the URL slot) */
  struct script *script; /* a reference, or NULL with |err| */
  DWORD err;
  int64_t until;
  uint64_t fp;
};

static void slot_clear(struct slot *s)
{
  wh_free(s->key);
  script_unref(s->script);
  s->key = NULL;
  s->script = NULL;
  s->valid = false;
}

struct helper {
  struct helper *next;
  struct wh_pac_proc *proc;
  unsigned gen;
};

struct wh_autoproxy {
  atomic_int refs;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* a slot filled, a helper returned */
  struct slot detect, config;
  struct helper *idle;
  unsigned helpers;    /* alive: idle or lent to a lookup */
  unsigned next_gen;
  unsigned epoch;      /* WinHttpResetAutoProxy: outcomes begun before are not kept */
};

struct wh_autoproxy *wh_autoproxy_new(void)
{
  struct wh_autoproxy *ap = wh_calloc(1, sizeof(*ap));
  if (!ap)
    return NULL;
  atomic_init(&ap->refs, 1);
  pthread_mutex_init(&ap->lock, NULL);
  pthread_cond_init(&ap->cond, NULL);
  return ap;
}

void wh_autoproxy_ref(struct wh_autoproxy *ap)
{
  atomic_fetch_add(&ap->refs, 1);
}

static void kill_helpers(struct helper *h)
{
  while (h) {
    struct helper *next = h->next;
    wh_pac_proc_free(h->proc);
    wh_free(h);
    h = next;
  }
}

void wh_autoproxy_unref(struct wh_autoproxy *ap)
{
  if (!ap || atomic_fetch_sub(&ap->refs, 1) != 1)
    return;
  /* No lookup is left (each holds a reference), so no helper is lent. */
  kill_helpers(ap->idle);
  slot_clear(&ap->detect);
  slot_clear(&ap->config);
  pthread_cond_destroy(&ap->cond);
  pthread_mutex_destroy(&ap->lock);
  wh_free(ap);
}

void wh_autoproxy_reset(struct wh_autoproxy *ap)
{
  pthread_mutex_lock(&ap->lock);
  ap->epoch++;
  slot_clear(&ap->detect);
  slot_clear(&ap->config);
  struct helper *idle = ap->idle;
  ap->idle = NULL;
  for (struct helper *h = idle; h; h = h->next)
    ap->helpers--;
  pthread_cond_broadcast(&ap->cond);
  pthread_mutex_unlock(&ap->lock);
  kill_helpers(idle);
}

/* Downloads |url| into a new script. */
static DWORD download(const char *url, const struct wh_pac_fetch_limits *lim,
                      struct script **out)
{
  wh_pac_fetch_fn fetch = atomic_load(&fetcher);
  if (!fetch)
    return ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT;
  char *body = NULL;
  size_t len = 0;
  DWORD err = fetch(url, lim, WH_PAC_SCRIPT_MAX, &body, &len);
  if (err != ERROR_SUCCESS)
    return err;
  struct script *s = wh_calloc(1, sizeof(*s));
  if (!s) {
    wh_free(body);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  atomic_init(&s->refs, 1);
  s->body = body;
  s->len = len;
  *out = s;
  return ERROR_SUCCESS;
}

struct detect_try {
  const struct wh_pac_fetch_limits *lim;
  struct script *script;
};

static DWORD try_candidate(const char *url, void *arg)
{
  struct detect_try *t = arg;
  return download(url, t->lim, &t->script);
}

/* The script of |slot| (a new reference), from the cache or fetched:
 * detection when |key| is NULL, else the PAC URL |key|. */
static DWORD slot_get(struct wh_autoproxy *ap, struct slot *slot, const char *key,
                      const struct wh_pac_fetch_limits *lim, struct script **out)
{
  *out = NULL;
  uint64_t fp = fingerprint(); /* (a system call: not under the lock) */
  pthread_mutex_lock(&ap->lock);
  for (;;) {
    if (slot->valid && wh_now_ms() < slot->until && slot->fp == fp &&
        (!key || (slot->key && strcmp(slot->key, key) == 0))) {
      DWORD err = slot->err;
      if (slot->script) {
        atomic_fetch_add(&slot->script->refs, 1);
        *out = slot->script;
        err = ERROR_SUCCESS;
      }
      pthread_mutex_unlock(&ap->lock);
      return err;
    }
    if (!slot->busy)
      break;
    pthread_cond_wait(&ap->cond, &ap->lock);
  }
  slot->busy = true;
  unsigned epoch = ap->epoch;
  pthread_mutex_unlock(&ap->lock);

  struct script *s = NULL;
  DWORD err;
  if (key) {
    err = download(key, lim, &s);
  } else {
    struct detect_try t = {lim, NULL};
    err = wh_wpad_each(try_candidate, &t);
    s = t.script;
  }
  char *k = key ? wh_strndup(key, strlen(key)) : NULL;

  pthread_mutex_lock(&ap->lock);
  slot->busy = false;
  /* Out of memory says nothing about the script: not kept. */
  if (epoch == ap->epoch && err != ERROR_NOT_ENOUGH_MEMORY && (!key || k)) {
    slot_clear(slot);
    slot->valid = true;
    slot->key = k;
    k = NULL;
    slot->err = err;
    if (s) {
      s->gen = ++ap->next_gen;
      atomic_fetch_add(&s->refs, 1);
      slot->script = s;
    }
    slot->until = wh_now_ms() + (s ? SCRIPT_TTL_MS : FAILURE_TTL_MS);
    slot->fp = fp;
  } else if (s) {
    s->gen = ++ap->next_gen;
  }
  pthread_cond_broadcast(&ap->cond);
  pthread_mutex_unlock(&ap->lock);
  wh_free(k);
  *out = s;
  return err;
}

/* --- helpers ------------------------------------------------------------------ */

/* A helper with |s| loaded: an idle one, or a new one. Waits while the
 * context has WH_AUTOPROXY_HELPERS lent out (each comes back within its
 * own deadline). */
static DWORD helper_get(struct wh_autoproxy *ap, struct script *s, int cancel_fd,
                        struct helper **out)
{
  pthread_mutex_lock(&ap->lock);
  for (;;) {
    if (s->load_err) {
      DWORD err = s->load_err;
      pthread_mutex_unlock(&ap->lock);
      return err;
    }
    struct helper **pp = &ap->idle;
    while (*pp && (*pp)->gen != s->gen)
      pp = &(*pp)->next;
    if (*pp) {
      struct helper *h = *pp;
      *pp = h->next;
      pthread_mutex_unlock(&ap->lock);
      *out = h;
      return ERROR_SUCCESS;
    }
    if (ap->idle && ap->helpers >= WH_AUTOPROXY_HELPERS) {
      /* An idle helper of an older script makes room. */
      struct helper *old = ap->idle;
      ap->idle = old->next;
      ap->helpers--;
      pthread_mutex_unlock(&ap->lock);
      old->next = NULL;
      kill_helpers(old);
      pthread_mutex_lock(&ap->lock);
      continue;
    }
    if (ap->helpers < WH_AUTOPROXY_HELPERS)
      break;
    pthread_cond_wait(&ap->cond, &ap->lock);
  }
  ap->helpers++;
  pthread_mutex_unlock(&ap->lock);

  struct helper *h = wh_calloc(1, sizeof(*h));
  DWORD err = h ? wh_pac_proc_start(s->body, s->len, script_deadline(), cancel_fd, &h->proc)
                : ERROR_NOT_ENOUGH_MEMORY;
  if (err == ERROR_SUCCESS) {
    h->gen = s->gen;
    *out = h;
    return ERROR_SUCCESS;
  }
  wh_free(h);
  pthread_mutex_lock(&ap->lock);
  ap->helpers--;
  if (err == ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT)
    s->load_err = err; /* every later lookup would fail the same way */
  pthread_cond_broadcast(&ap->cond);
  pthread_mutex_unlock(&ap->lock);
  return err;
}

/* Back to the idle list after a good answer; killed after a failure (its
 * heap may be broken, or it is still running). */
static void helper_put(struct wh_autoproxy *ap, struct helper *h, bool good)
{
  pthread_mutex_lock(&ap->lock);
  if (good) {
    h->next = ap->idle;
    ap->idle = h;
    h = NULL;
  } else {
    ap->helpers--;
  }
  pthread_cond_broadcast(&ap->cond);
  pthread_mutex_unlock(&ap->lock);
  if (h) {
    h->next = NULL;
    kill_helpers(h);
  }
}

/* --- a lookup ------------------------------------------------------------------ */

static DWORD get_script(struct wh_autoproxy *ap, bool detect, const char *pac_url,
                        const struct wh_pac_fetch_limits *lim, struct script **out)
{
  DWORD err = ERROR_WINHTTP_AUTODETECTION_FAILED;
  if (detect) {
    err = slot_get(ap, &ap->detect, NULL, lim, out);
    if (err == ERROR_SUCCESS || err == ERROR_NOT_ENOUGH_MEMORY)
      return err;
  }
  /* Microsoft ("WinHTTP AutoProxy Functions"): with both flags, the PAC
   * URL is used when detection finds nothing. */
  if (pac_url)
    err = slot_get(ap, &ap->config, pac_url, lim, out);
  return err;
}

DWORD wh_autoproxy_evaluate(struct wh_autoproxy *ap, bool detect, const char *pac_url,
                            const char *url, const char *host,
                            const struct wh_pac_fetch_limits *lim, int cancel_fd,
                            struct wh_pac_entry *out, size_t *n)
{
  *n = 0;
  struct script *s;
  DWORD err = get_script(ap, detect, pac_url, lim, &s);
  if (err != ERROR_SUCCESS)
    return err;
  struct helper *h;
  err = helper_get(ap, s, cancel_fd, &h);
  char *answer = NULL;
  if (err == ERROR_SUCCESS) {
    err = wh_pac_proc_query(h->proc, url, host, script_deadline(), cancel_fd, &answer);
    helper_put(ap, h, err == ERROR_SUCCESS);
  }
  script_unref(s);
  if (err == ERROR_SUCCESS) {
    *n = wh_pac_result_parse(answer, strlen(answer), out, WH_PAC_MAX_ENTRIES);
    if (*n == 0)
      err = ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT; /* not a proxy list */
  }
  wh_free(answer);
  return err;
}
