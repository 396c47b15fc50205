/* What core/cert.c (contexts) and core/certstore.c (stores) share: the
 * private block around each public CERT_CONTEXT and the store it may belong
 * to. Nothing else includes this. */
#ifndef WH_CORE_CERT_INT_H
#define WH_CORE_CERT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wincrypt.h>

struct wh_tls_cred;
struct wh_cert_store;

/* The public CERT_CONTEXT sits inside a private block, so that
 * CertDuplicateCertificateContext can hand back the same pointer with one
 * more reference, as Windows does. Every live context is in a process-wide
 * set (cert.c), looked up by address alone: a pointer that did not come
 * from here, or one already freed, is refused without being read.
 *
 * |refs| counts the references handed out, plus one while the context is
 * a member of an open store. A standalone context (store == NULL) changes
 * it atomically; a store's member changes it under the store's lock, so
 * that a context is never found in the list while it is being freed. */
struct wh_cert {
  struct wh_cert *live_next;   /* the live set's bucket */
  atomic_uint refs;
  struct wh_cert_store *store; /* holds a reference on it while the context lives */
  struct wh_tls_cred *cred;    /* parsed certificate (+ key); NULL for DER-only ones */
  struct wh_cert *prev, *next; /* the store's list */
  CERT_CONTEXT ctx;
  unsigned char der[];
};

static inline struct wh_cert *wh_cert_of(PCCERT_CONTEXT ctx)
{
  return (struct wh_cert *)(void *)((char *)(uintptr_t)ctx - offsetof(struct wh_cert, ctx));
}

/* A context for |cred|'s certificate, with one reference, holding a
 * reference of its own on |cred|; in |store| (which the caller links it
 * into, under the store's lock) or standalone. NULL when out of memory.
 * It is live (wh_cert_live) from the moment it is returned. */
struct wh_cert *wh_cert_alloc(struct wh_tls_cred *cred, struct wh_cert_store *store);
/* Frees a context whose last reference is gone (already unlinked). */
void wh_cert_destroy(struct wh_cert *c);
/* Whether |ctx| is the CERT_CONTEXT of a live context; never reads *ctx. */
bool wh_cert_live(PCCERT_CONTEXT ctx);

/* Releases one reference of a store member (certstore.c). */
void wh_store_release_member(struct wh_cert *c);
/* Takes one more reference on a store member (certstore.c). */
void wh_store_ref_member(struct wh_cert *c);

#endif
