/* see cert.h */
#include "core/cert.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "util/mem.h"

/* The public CERT_CONTEXT sits inside a private block so that
 * CertDuplicateCertificateContext can hand back the same pointer with one
 * more reference, as Windows does. The magic word catches a context that
 * did not come from us, or one already freed, before anything is written. */
#define CERT_MAGIC 0x43455254u /* "CERT" */
#define CERT_DEAD 0x44454144u  /* "DEAD" */

struct wh_cert {
  atomic_uint magic;
  atomic_uint refs;
  CERT_CONTEXT ctx;
  unsigned char der[];
};

static struct wh_cert *cert_of(PCCERT_CONTEXT ctx)
{
  return (struct wh_cert *)(void *)((char *)(uintptr_t)ctx - offsetof(struct wh_cert, ctx));
}

PCCERT_CONTEXT wh_cert_context_new(const unsigned char *der, size_t len)
{
  if (len > UINT32_MAX || len > SIZE_MAX - sizeof(struct wh_cert))
    return NULL;
  struct wh_cert *c = wh_malloc(sizeof(*c) + len);
  if (!c)
    return NULL;
  atomic_init(&c->magic, CERT_MAGIC);
  atomic_init(&c->refs, 1);
  if (len)
    memcpy(c->der, der, len);
  c->ctx.dwCertEncodingType = X509_ASN_ENCODING | PKCS_7_ASN_ENCODING;
  c->ctx.pbCertEncoded = c->der;
  c->ctx.cbCertEncoded = (DWORD)len;
  c->ctx.pCertInfo = NULL; /* opaque here (docs/COMPAT.md) */
  c->ctx.hCertStore = NULL;
  return &c->ctx;
}

int wh_cert_context_valid(PCCERT_CONTEXT ctx)
{
  return ctx && atomic_load(&cert_of(ctx)->magic) == CERT_MAGIC;
}

PCCERT_CONTEXT WINAPI CertDuplicateCertificateContext(PCCERT_CONTEXT pCertContext)
{
  if (!wh_cert_context_valid(pCertContext))
    return NULL;
  atomic_fetch_add(&cert_of(pCertContext)->refs, 1);
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
  struct wh_cert *c = cert_of(pCertContext);
  if (atomic_fetch_sub(&c->refs, 1) == 1) {
    atomic_store(&c->magic, CERT_DEAD);
    wh_free(c);
  }
  return TRUE;
}
