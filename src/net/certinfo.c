/* see certinfo.h */
#include "net/certinfo.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "util/utf.h"

/* Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01. */
#define EPOCH_DIFF 11644473600LL

static void to_filetime(const ASN1_TIME *t, FILETIME *ft)
{
  struct tm tm;
  memset(ft, 0, sizeof(*ft));
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
    return;
  int64_t secs = (int64_t)timegm(&tm);
  uint64_t v = (uint64_t)(secs + EPOCH_DIFF) * 10000000u;
  ft->dwLowDateTime = (DWORD)v;
  ft->dwHighDateTime = (DWORD)(v >> 32);
}

/* The name's values joined with CRLF, as a LocalAlloc'd WCHAR string. */
static LPWSTR name_string(const X509_NAME *name)
{
  size_t total = 0;
  int n = X509_NAME_entry_count(name);
  for (int i = 0; i < n; i++) {
    const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, v);
    if (len < 0)
      continue;
    total += wh_wide_len_of_utf8((const char *)utf8, (size_t)len) + 2;
    OPENSSL_free(utf8);
  }
  LPWSTR out = LocalAlloc(LMEM_FIXED, (total + 1) * sizeof(WCHAR));
  if (!out)
    return NULL;
  size_t pos = 0;
  for (int i = 0; i < n; i++) {
    const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, v);
    if (len < 0)
      continue;
    if (pos) {
      out[pos++] = L'\r';
      out[pos++] = L'\n';
    }
    pos += wh_wide_from_utf8_buf((const char *)utf8, (size_t)len, out + pos);
    OPENSSL_free(utf8);
  }
  out[pos] = L'\0';
  return out;
}

DWORD wh_certinfo_from_der(const unsigned char *der, size_t len, DWORD key_bits,
                           WINHTTP_CERTIFICATE_INFO *out)
{
  memset(out, 0, sizeof(*out));
  const unsigned char *p = der;
  X509 *x = d2i_X509(NULL, &p, (long)len);
  if (!x)
    return ERROR_WINHTTP_INTERNAL_ERROR;
  to_filetime(X509_get0_notAfter(x), &out->ftExpiry);
  to_filetime(X509_get0_notBefore(x), &out->ftStart);
  out->lpszSubjectInfo = name_string(X509_get_subject_name(x));
  out->lpszIssuerInfo = name_string(X509_get_issuer_name(x));
  out->dwKeySize = key_bits;
  X509_free(x);
  if (!out->lpszSubjectInfo || !out->lpszIssuerInfo) {
    LocalFree(out->lpszSubjectInfo);
    LocalFree(out->lpszIssuerInfo);
    memset(out, 0, sizeof(*out));
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  return ERROR_SUCCESS;
}
