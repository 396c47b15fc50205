/* see client_certs.h */
#include "client_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winhttp_ext.h>

void *wh_read_cert_file(const char *dir, const char *name, size_t *len)
{
  char path[600];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "client_certs: cannot open %s\n", path);
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    char *nb = realloc(buf, cap *= 2);
    if (!nb)
      free(buf);
    buf = nb;
  }
  fclose(f);
  *len = n;
  return buf;
}

static PCCERT_CONTEXT pfx_cert(HCERTSTORE *store, const char *dir, const char *file,
                               const WCHAR *password, const WCHAR *subject)
{
  size_t len;
  BYTE *bytes = wh_read_cert_file(dir, file, &len);
  if (!bytes)
    return NULL;
  CRYPT_DATA_BLOB blob = {(DWORD)len, bytes};
  *store = PFXImportCertStore(&blob, password, 0);
  free(bytes);
  PCCERT_CONTEXT c = *store ? CertFindCertificateInStore(*store, X509_ASN_ENCODING, 0,
                                                         CERT_FIND_SUBJECT_STR, subject, NULL)
                            : NULL;
  if (!c)
    fprintf(stderr, "client_certs: %s: error 0x%x\n", file, (unsigned)GetLastError());
  return c;
}

static PCCERT_CONTEXT pem_cert(HCERTSTORE *store, const char *dir, const char *cert,
                               const char *key)
{
  size_t clen, klen;
  char *c = wh_read_cert_file(dir, cert, &clen);
  char *k = c ? wh_read_cert_file(dir, key, &klen) : NULL;
  char *both = k ? malloc(clen + klen) : NULL;
  PCCERT_CONTEXT ctx = NULL;
  if (both) {
    memcpy(both, c, clen);
    memcpy(both + clen, k, klen);
    CRYPT_DATA_BLOB blob = {(DWORD)(clen + klen), (BYTE *)both};
    *store = OwhPemImportCertStore(&blob, NULL, 0);
    ctx = *store ? CertFindCertificateInStore(*store, X509_ASN_ENCODING, 0,
                                              CERT_FIND_HAS_PRIVATE_KEY, NULL, NULL)
                 : NULL;
    if (!ctx)
      fprintf(stderr, "client_certs: %s: error 0x%x\n", cert, (unsigned)GetLastError());
  }
  free(c);
  free(k);
  free(both);
  return ctx;
}

int wh_client_certs_load(struct wh_client_certs *c, const char *certs_dir)
{
  memset(c, 0, sizeof(*c));
  c->client1 = pfx_cert(&c->stores[0], certs_dir, "client.p12", L"p12-secret", L"client1");
  c->client2 = pfx_cert(&c->stores[1], certs_dir, "client2.p12", NULL, L"CLIENT2");
  c->intruder = pem_cert(&c->stores[2], certs_dir, "intruder.pem", "intruder.key");
  if (c->client1 && c->client2 && c->intruder)
    return 0;
  wh_client_certs_free(c);
  return -1;
}

void wh_client_certs_free(struct wh_client_certs *c)
{
  CertFreeCertificateContext(c->client1);
  CertFreeCertificateContext(c->client2);
  CertFreeCertificateContext(c->intruder);
  for (int i = 0; i < 3; i++)
    CertCloseStore(c->stores[i], 0);
  memset(c, 0, sizeof(*c));
}
