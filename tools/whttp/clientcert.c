/* whttp: --cert FILE [--key FILE]: a TLS client certificate, loaded the way
 * a Windows program loads one (<wincrypt.h>): PKCS#12 through
 * PFXImportCertStore, PEM through OpenWinHTTP's OwhPemImportCertStore
 * (winhttp_ext.h), the certificate that has the private key found with
 * CertFindCertificateInStore, and set on each https:// request with
 * WINHTTP_OPTION_CLIENT_CERT_CONTEXT. The password of a PKCS#12 file or an
 * encrypted key comes from --cert-password, --cert-password-file or a
 * prompt on the terminal (never echoed); every copy, and the files' bytes,
 * are wiped when done. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <wincrypt.h>
#include <winhttp_ext.h>

#include "whttp.h"

/* Files of a few hundred KiB at most; more is not a certificate. */
#define CERT_FILE_MAX (4u << 20)

static void wipe(void *p, size_t n)
{
  volatile unsigned char *v = p;
  for (size_t i = 0; i < n; i++)
    v[i] = 0;
}

/* Appends the file |name| to *buf (malloc'd, *len bytes). */
static int append_file(const char *name, char **buf, size_t *len)
{
  FILE *f = fopen(name, "rb");
  if (!f) {
    fprintf(stderr, "whttp: cannot read %s: %s\n", name, strerror(errno));
    return WX_READ;
  }
  int rc = WX_OK;
  for (;;) {
    char chunk[4096];
    size_t n = fread(chunk, 1, sizeof(chunk), f);
    if (n == 0)
      break;
    char *nb = *len + n <= CERT_FILE_MAX ? malloc(*len + n) : NULL;
    if (!nb) {
      fprintf(stderr, "whttp: %s is too large for a certificate\n", name);
      rc = WX_READ;
      break;
    }
    if (*buf) {
      memcpy(nb, *buf, *len);
      wipe(*buf, *len);
      free(*buf);
    }
    memcpy(nb + *len, chunk, n);
    wipe(chunk, n);
    *buf = nb;
    *len += n;
  }
  if (ferror(f) && rc == WX_OK) {
    fprintf(stderr, "whttp: cannot read %s: %s\n", name, strerror(errno));
    rc = WX_READ;
  }
  fclose(f);
  return rc;
}

/* The store of |bytes| with |password| (UTF-8, or NULL). */
static HCERTSTORE import(const char *bytes, size_t len, bool pfx, const char *password)
{
  WCHAR *w = password ? whttp_widen(password, strlen(password)) : NULL;
  if (password && !w) {
    SetLastError(ERROR_INVALID_PASSWORD); /* not UTF-8: no password can match */
    return NULL;
  }
  CRYPT_DATA_BLOB blob = {(DWORD)len, (BYTE *)bytes};
  HCERTSTORE s = pfx ? PFXImportCertStore(&blob, w, 0) : OwhPemImportCertStore(&blob, w, 0);
  DWORD err = GetLastError();
  if (w) {
    wipe(w, wcslen(w) * sizeof(*w));
    free(w);
  }
  SetLastError(err);
  return s;
}

static const char *import_error(DWORD err)
{
  if (err == ERROR_INVALID_PASSWORD)
    return "wrong password";
  if (err == (DWORD)CRYPT_E_BAD_ENCODE)
    return "not a PKCS#12 or PEM certificate file";
  if (err == (DWORD)CRYPT_E_NOT_FOUND)
    return "no certificate in it";
  if (err == (DWORD)NTE_BAD_KEY)
    return "the key is not the certificate's";
  return whttp_error_name(err);
}

int whttp_client_cert_load(struct whttp_args *a)
{
  if (!a->cert_file)
    return WX_OK;
  char *bytes = NULL;
  size_t len = 0;
  int rc = append_file(a->cert_file, &bytes, &len);
  CRYPT_DATA_BLOB probe = {(DWORD)len, (BYTE *)bytes};
  bool pfx = rc == WX_OK && PFXIsPFXBlob(&probe);
  if (rc == WX_OK && a->key_file && pfx) {
    fprintf(stderr, "whttp: --key goes with a PEM certificate; %s is PKCS#12 (its key is "
                    "inside)\n",
            a->cert_file);
    rc = WX_USAGE;
  }
  if (rc == WX_OK && a->key_file) {
    /* One PEM text: the certificate, a line break, the key. */
    char *nl = malloc(len + 1);
    if (nl) {
      memcpy(nl, bytes, len);
      nl[len++] = '\n';
      wipe(bytes, len - 1);
      free(bytes);
      bytes = nl;
      rc = append_file(a->key_file, &bytes, &len);
    } else {
      rc = WX_MEMORY;
    }
  }
  char *password = a->cert_password ? strdup(a->cert_password) : NULL;
  if (rc == WX_OK && a->cert_password_file &&
      !(password = whttp_password_for(a->cert_file, a->cert_password_file)))
    rc = WX_READ;
  HCERTSTORE store = NULL;
  if (rc == WX_OK) {
    store = import(bytes, len, pfx, password);
    /* Asked on the terminal only when the file turns out to need it. */
    if (!store && GetLastError() == ERROR_INVALID_PASSWORD && !password) {
      password = whttp_password_for(a->cert_file, NULL);
      if (password)
        store = import(bytes, len, pfx, password);
      else
        SetLastError(ERROR_INVALID_PASSWORD);
    }
    if (!store) {
      DWORD err = GetLastError();
      fprintf(stderr, "whttp: --cert %s: %s%s\n", a->cert_file, import_error(err),
              err == ERROR_INVALID_PASSWORD && !password
                  ? " (give --cert-password, --cert-password-file, or run on a terminal)"
                  : "");
      rc = err == ERROR_NOT_ENOUGH_MEMORY ? WX_MEMORY : WX_TLS;
    }
  }
  whttp_wipe_free(password);
  if (bytes) {
    wipe(bytes, len);
    free(bytes);
  }
  if (rc != WX_OK)
    return rc;
  a->client_cert =
      CertFindCertificateInStore(store, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, 0,
                                 CERT_FIND_HAS_PRIVATE_KEY, NULL, NULL);
  if (!a->client_cert) {
    fprintf(stderr, "whttp: --cert %s: no private key (PEM: give it with --key FILE)\n",
            a->cert_file);
    CertCloseStore(store, 0);
    return WX_TLS;
  }
  a->client_store = store;
  return WX_OK;
}

BOOL whttp_client_cert_apply(HINTERNET request, const struct whttp_args *a, bool secure)
{
  if (!a->client_cert || !secure)
    return TRUE;
  /* The request takes a reference of its own (CertDuplicateCertificateContext). */
  return WinHttpSetOption(request, WINHTTP_OPTION_CLIENT_CERT_CONTEXT, (LPVOID)a->client_cert,
                          sizeof(CERT_CONTEXT));
}

void whttp_client_cert_free(struct whttp_args *a)
{
  CertFreeCertificateContext(a->client_cert);
  CertCloseStore(a->client_store, 0);
  a->client_cert = NULL;
  a->client_store = NULL;
}
