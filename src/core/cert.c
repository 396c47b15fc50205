/* see cert.h; the private layout is in cert_int.h */
#include "core/cert.h"

#include <string.h>

#include "core/cert_int.h"
#include "net/tlscred.h"
#include "util/mem.h"

/* --- the live set ---------------------------------------------------------------------- */

/* Addresses hashed into buckets of singly linked contexts. Lookups compare
 * addresses only, so a foreign or stale pointer is answered "not ours"
 * without being dereferenced. Contexts come and go once per certificate
 * handed out (a SERVER_CERT_CONTEXT query, an import): one lock suffices. */
#define LIVE_BUCKETS 4096u

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wh_cert *live[LIVE_BUCKETS];

static size_t bucket_of(const void *p)
{
  uintptr_t v = (uintptr_t)p;
  return (size_t)((v >> 4) ^ (v >> 16)) % LIVE_BUCKETS;
}

static void live_add(struct wh_cert *c)
{
  size_t b = bucket_of(&c->ctx);
  pthread_mutex_lock(&live_lock);
  c->live_next = live[b];
  live[b] = c;
  pthread_mutex_unlock(&live_lock);
}

static void live_remove(struct wh_cert *c)
{
  size_t b = bucket_of(&c->ctx);
  pthread_mutex_lock(&live_lock);
  for (struct wh_cert **pp = &live[b]; *pp; pp = &(*pp)->live_next) {
    if (*pp == c) {
      *pp = c->live_next;
      break;
    }
  }
  pthread_mutex_unlock(&live_lock);
}

bool wh_cert_live(PCCERT_CONTEXT ctx)
{
  if (!ctx)
    return false;
  bool found = false;
  size_t b = bucket_of(ctx);
  pthread_mutex_lock(&live_lock);
  for (const struct wh_cert *c = live[b]; c && !found; c = c->live_next)
    found = &c->ctx == ctx;
  pthread_mutex_unlock(&live_lock);
  return found;
}

/* --- contexts --------------------------------------------------------------------------- */

static struct wh_cert *cert_new(const unsigned char *der, size_t len)
{
  if (len > UINT32_MAX || len > SIZE_MAX - sizeof(struct wh_cert))
    return NULL;
  struct wh_cert *c = wh_malloc(sizeof(*c) + len);
  if (!c)
    return NULL;
  c->live_next = NULL;
  atomic_init(&c->refs, 1);
  c->store = NULL;
  c->cred = NULL;
  c->prev = c->next = NULL;
  if (len)
    memcpy(c->der, der, len);
  c->ctx.dwCertEncodingType = X509_ASN_ENCODING | PKCS_7_ASN_ENCODING;
  c->ctx.pbCertEncoded = c->der;
  c->ctx.cbCertEncoded = (DWORD)len;
  c->ctx.pCertInfo = NULL; /* opaque here (docs/COMPAT.md) */
  c->ctx.hCertStore = NULL;
  return c;
}

PCCERT_CONTEXT wh_cert_context_new(const unsigned char *der, size_t len)
{
  struct wh_cert *c = cert_new(der, len);
  if (!c)
    return NULL;
  live_add(c);
  return &c->ctx;
}

struct wh_cert *wh_cert_alloc(struct wh_tls_cred *cred, struct wh_cert_store *store)
{
  size_t len;
  const unsigned char *der = wh_tls_cred_der(cred, &len);
  struct wh_cert *c = cert_new(der, len);
  if (!c)
    return NULL;
  c->cred = wh_tls_cred_ref(cred);
  c->store = store;
  c->ctx.hCertStore = (HCERTSTORE)store;
  live_add(c);
  return c;
}

PCCERT_CONTEXT wh_cert_context_from_cred(struct wh_tls_cred *cred)
{
  struct wh_cert *c = wh_cert_alloc(cred, NULL);
  return c ? &c->ctx : NULL;
}

void wh_cert_destroy(struct wh_cert *c)
{
  live_remove(c);
  wh_tls_cred_unref(c->cred);
  wh_free(c);
}

int wh_cert_context_valid(PCCERT_CONTEXT ctx)
{
  return wh_cert_live(ctx);
}

struct wh_tls_cred *wh_cert_context_cred(PCCERT_CONTEXT ctx)
{
  return wh_cert_of(ctx)->cred;
}

PCCERT_CONTEXT WINAPI CertDuplicateCertificateContext(PCCERT_CONTEXT pCertContext)
{
  if (!wh_cert_context_valid(pCertContext))
    return NULL;
  struct wh_cert *c = wh_cert_of(pCertContext);
  if (c->store)
    wh_store_ref_member(c);
  else
    atomic_fetch_add(&c->refs, 1);
  return pCertContext;
}

/* Windows: TRUE for NULL and on every successful release. */
BOOL WINAPI CertFreeCertificateContext(PCCERT_CONTEXT pCertContext)
{
  if (!pCertContext)
    return TRUE;
  if (!wh_cert_context_valid(pCertContext)) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  struct wh_cert *c = wh_cert_of(pCertContext);
  if (c->store)
    wh_store_release_member(c);
  else if (atomic_fetch_sub(&c->refs, 1) == 1)
    wh_cert_destroy(c);
  return TRUE;
}
