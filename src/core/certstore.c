/* see certstore.h; the context layout is in cert_int.h */
#include "core/certstore.h"

#include <string.h>

#include "core/cert.h"
#include "core/cert_int.h"
#include "net/tlscred.h"
#include "util/mem.h"

struct wh_cert_store {
  /* One for the open handle, one per context of the store still alive
   * (its hCertStore points here), one per call holding it (grab). */
  atomic_uint refs;
  pthread_mutex_t lock; /* the list, the members' refs, |open| */
  bool open;
  struct wh_cert *head, *tail;
};

/* --- the registry of open handles ------------------------------------------------- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wh_cert_store **reg;
static size_t reg_n, reg_cap;

static void store_unref(struct wh_cert_store *s)
{
  if (atomic_fetch_sub(&s->refs, 1) == 1) {
    pthread_mutex_destroy(&s->lock);
    wh_free(s);
  }
}

DWORD wh_store_new(struct wh_cert_store **out)
{
  struct wh_cert_store *s = wh_calloc(1, sizeof(*s));
  if (!s)
    return ERROR_NOT_ENOUGH_MEMORY;
  atomic_init(&s->refs, 1);
  pthread_mutex_init(&s->lock, NULL);
  s->open = true;
  DWORD err = ERROR_SUCCESS;
  pthread_mutex_lock(&reg_lock);
  if (reg_n == reg_cap) {
    size_t cap = reg_cap ? reg_cap * 2 : 16;
    struct wh_cert_store **r = wh_realloc(reg, cap * sizeof(*r));
    if (r) {
      reg = r;
      reg_cap = cap;
    } else {
      err = ERROR_NOT_ENOUGH_MEMORY;
    }
  }
  if (err == ERROR_SUCCESS)
    reg[reg_n++] = s;
  pthread_mutex_unlock(&reg_lock);
  if (err != ERROR_SUCCESS) {
    store_unref(s);
    return err;
  }
  *out = s;
  return ERROR_SUCCESS;
}

struct wh_cert_store *wh_store_grab(HCERTSTORE h)
{
  struct wh_cert_store *found = NULL;
  pthread_mutex_lock(&reg_lock);
  for (size_t i = 0; i < reg_n && !found; i++) {
    if ((HCERTSTORE)reg[i] == h) {
      found = reg[i];
      atomic_fetch_add(&found->refs, 1);
    }
  }
  pthread_mutex_unlock(&reg_lock);
  return found;
}

void wh_store_put(struct wh_cert_store *s)
{
  store_unref(s);
}

/* --- members ---------------------------------------------------------------------- */

/* Under s->lock. */
static void unlink_member(struct wh_cert_store *s, struct wh_cert *c)
{
  if (c->prev)
    c->prev->next = c->next;
  else
    s->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    s->tail = c->prev;
  c->prev = c->next = NULL;
}

void wh_store_ref_member(struct wh_cert *c)
{
  pthread_mutex_lock(&c->store->lock);
  atomic_fetch_add(&c->refs, 1);
  pthread_mutex_unlock(&c->store->lock);
}

void wh_store_release_member(struct wh_cert *c)
{
  struct wh_cert_store *s = c->store;
  pthread_mutex_lock(&s->lock);
  bool last = atomic_fetch_sub(&c->refs, 1) == 1;
  if (last)
    unlink_member(s, c);
  pthread_mutex_unlock(&s->lock);
  if (last) {
    wh_cert_destroy(c);
    store_unref(s); /* the context's hold on its store */
  }
}

DWORD wh_store_add(struct wh_cert_store *s, struct wh_tls_cred *cred, PCCERT_CONTEXT *added)
{
  struct wh_cert *c = wh_cert_alloc(cred, s); /* its one reference: membership */
  if (!c)
    return ERROR_NOT_ENOUGH_MEMORY;
  atomic_fetch_add(&s->refs, 1);
  pthread_mutex_lock(&s->lock);
  bool open = s->open;
  if (open) {
    c->prev = s->tail;
    if (s->tail)
      s->tail->next = c;
    else
      s->head = c;
    s->tail = c;
    if (added) {
      atomic_fetch_add(&c->refs, 1);
      *added = &c->ctx;
    }
  }
  pthread_mutex_unlock(&s->lock);
  if (!open) {
    /* Closed by another thread meanwhile: nothing would ever drop the
     * membership. */
    wh_cert_destroy(c);
    store_unref(s);
    return ERROR_INVALID_HANDLE;
  }
  return ERROR_SUCCESS;
}

PCCERT_CONTEXT wh_store_find_same(struct wh_cert_store *s, struct wh_tls_cred *cred)
{
  size_t len;
  const unsigned char *der = wh_tls_cred_der(cred, &len);
  PCCERT_CONTEXT found = NULL;
  pthread_mutex_lock(&s->lock);
  for (struct wh_cert *c = s->head; c && !found; c = c->next) {
    if (c->ctx.cbCertEncoded == len && memcmp(c->der, der, len) == 0) {
      atomic_fetch_add(&c->refs, 1);
      found = &c->ctx;
    }
  }
  pthread_mutex_unlock(&s->lock);
  return found;
}

DWORD wh_store_next(struct wh_cert_store *s, PCCERT_CONTEXT prev, wh_cert_match_fn match,
                    const void *arg, PCCERT_CONTEXT *out)
{
  *out = NULL;
  struct wh_cert *p = prev ? wh_cert_of(prev) : NULL;
  DWORD err = (DWORD)CRYPT_E_NOT_FOUND;
  if (p && p->store != s) {
    err = (DWORD)E_INVALIDARG;
  } else {
    pthread_mutex_lock(&s->lock);
    /* |prev| is still linked: the caller's reference keeps it so. */
    for (struct wh_cert *c = p ? p->next : s->head; c; c = c->next) {
      int m = match ? match(&c->ctx, arg) : 1;
      if (m < 0) {
        err = (DWORD)-m;
        break;
      }
      if (m) {
        atomic_fetch_add(&c->refs, 1);
        *out = &c->ctx;
        err = ERROR_SUCCESS;
        break;
      }
    }
    pthread_mutex_unlock(&s->lock);
  }
  if (prev)
    CertFreeCertificateContext(prev);
  return err;
}

DWORD wh_store_close(HCERTSTORE h, bool *pending)
{
  struct wh_cert_store *s = NULL;
  pthread_mutex_lock(&reg_lock);
  for (size_t i = 0; i < reg_n && !s; i++) {
    if ((HCERTSTORE)reg[i] == h) {
      s = reg[i];
      reg[i] = reg[--reg_n];
    }
  }
  pthread_mutex_unlock(&reg_lock);
  if (!s)
    return ERROR_INVALID_HANDLE;
  /* The store lets go of its members; those referenced elsewhere stay
   * linked until their last release. */
  struct wh_cert *gone = NULL;
  pthread_mutex_lock(&s->lock);
  s->open = false;
  for (struct wh_cert *c = s->head, *next; c; c = next) {
    next = c->next;
    if (atomic_fetch_sub(&c->refs, 1) == 1) {
      unlink_member(s, c);
      c->next = gone;
      gone = c;
    }
  }
  *pending = s->head != NULL;
  pthread_mutex_unlock(&s->lock);
  while (gone) {
    struct wh_cert *c = gone;
    gone = c->next;
    wh_cert_destroy(c);
    store_unref(s);
  }
  store_unref(s); /* the handle's */
  return ERROR_SUCCESS;
}
