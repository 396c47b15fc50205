/* CertFindCertificateInStore's searches over a store (core/certstore.h),
 * with the search already decoded from Windows' find type and parameter
 * (api/api_crypt.c converts the WCHAR strings). */
#ifndef WH_CORE_CERTFIND_H
#define WH_CORE_CERTFIND_H

#include <stddef.h>

#include <wincrypt.h>

struct wh_cert_store;

enum wh_cert_find_kind {
  WH_FIND_ANY,         /* CERT_FIND_ANY */
  WH_FIND_SHA1,        /* CERT_FIND_SHA1_HASH: the DER's SHA-1 equals |bytes| */
  WH_FIND_SUBJECT_STR, /* CERT_FIND_SUBJECT_STR_A/_W: |text| in the subject */
  WH_FIND_ISSUER_STR,  /* CERT_FIND_ISSUER_STR_A/_W: |text| in the issuer */
  WH_FIND_EXISTING,    /* CERT_FIND_EXISTING: the same encoded certificate */
  WH_FIND_HAS_KEY,     /* CERT_FIND_HAS_PRIVATE_KEY */
};

struct wh_cert_query {
  enum wh_cert_find_kind kind;
  const char *text;           /* UTF-8, for the _STR kinds */
  const unsigned char *bytes; /* WH_FIND_SHA1: the hash; WH_FIND_EXISTING: the DER */
  size_t len;
};

/* The next context after |prev| (released whatever the outcome) that the
 * query matches, with a reference for the caller. CRYPT_E_NOT_FOUND when
 * there is none; ERROR_NOT_ENOUGH_MEMORY. The _STR kinds match a
 * case-insensitive substring of the name as CertNameToStr's
 * CERT_SIMPLE_NAME_STR writes it (net/tlscred.h). */
DWORD wh_cert_find(struct wh_cert_store *s, const struct wh_cert_query *q, PCCERT_CONTEXT prev,
                   PCCERT_CONTEXT *out);

#endif
