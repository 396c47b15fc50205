/*
 * wincrypt.h - OpenWinHTTP: the part of Microsoft's CryptoAPI (crypt32) that
 * WinHTTP programs use to get a client certificate for
 * WINHTTP_OPTION_CLIENT_CERT_CONTEXT, with Microsoft's names, signatures,
 * constants and error codes:
 *
 *   PFXImportCertStore(&pfx, L"password", 0)      a PKCS#12 (.pfx/.p12) file's
 *                                                  certificates and private key
 *   CertFindCertificateInStore(...)               CERT_FIND_ANY, _SUBJECT_STR,
 *   CertEnumCertificatesInStore(...)              _ISSUER_STR, _HASH, ...
 *   CertFreeCertificateContext, CertCloseStore    and the reference counts
 *
 * so that Microsoft's client-certificate code compiles and runs unchanged.
 * The functions are exported by libwinhttp (link with -lwinhttp; there is no
 * separate crypt32 library). docs/COMPAT.md lists what exists and how it
 * differs from Windows: there are no system stores ("MY"), only in-memory
 * ones; a certificate's CERT_INFO is not decoded (pCertInfo is NULL).
 * OpenWinHTTP's own extension, a store from PEM files, is in winhttp_ext.h.
 *
 * The base types, CERT_CONTEXT and the CRYPT_*_BLOB structures are defined
 * in winhttp.h, which this header includes: either header may be included
 * first, or only this one.
 */
#ifndef OPENWINHTTP_WINCRYPT_H
#define OPENWINHTTP_WINCRYPT_H

#include <winhttp.h>

#if defined(__cplusplus)
extern "C" {
#endif

#ifndef _HRESULT_DEFINED
#define _HRESULT_DEFINED
typedef LONG HRESULT;
#endif

typedef ULONG_PTR HCRYPTPROV_LEGACY;

/* ------------------------------------------------------------------------
 * Error codes (GetLastError after a failed call). The HRESULT-valued ones
 * are negative LONGs, as in Microsoft's winerror.h.
 * ------------------------------------------------------------------------ */

#ifndef ERROR_INVALID_PASSWORD
#define ERROR_INVALID_PASSWORD 86L
#endif
#ifndef E_INVALIDARG
#define E_INVALIDARG ((HRESULT)0x80070057L)
#endif
#ifndef NTE_BAD_KEY
#define NTE_BAD_KEY ((HRESULT)0x80090003L)
#endif
#ifndef CRYPT_E_BAD_ENCODE
#define CRYPT_E_BAD_ENCODE ((HRESULT)0x80092002L)
#endif
#ifndef CRYPT_E_NOT_FOUND
#define CRYPT_E_NOT_FOUND ((HRESULT)0x80092004L)
#endif
#ifndef CRYPT_E_EXISTS
#define CRYPT_E_EXISTS ((HRESULT)0x80092005L)
#endif
#ifndef CRYPT_E_PENDING_CLOSE
#define CRYPT_E_PENDING_CLOSE ((HRESULT)0x8009200FL)
#endif
#ifndef CRYPT_E_ASN1_BADTAG
#define CRYPT_E_ASN1_BADTAG ((HRESULT)0x8009310BL)
#endif

/* ------------------------------------------------------------------------
 * Encodings
 * ------------------------------------------------------------------------ */

#define CRYPT_ASN_ENCODING 0x00000001
#define CRYPT_NDR_ENCODING 0x00000002
#define X509_NDR_ENCODING 0x00000002
#define PKCS_7_NDR_ENCODING 0x00020000

/* ------------------------------------------------------------------------
 * Stores (CertOpenStore). Only CERT_STORE_PROV_MEMORY is implemented; the
 * others exist so that programs naming them compile (they fail with
 * ERROR_CALL_NOT_IMPLEMENTED).
 * ------------------------------------------------------------------------ */

#define CERT_STORE_PROV_MSG ((LPCSTR)1)
#define CERT_STORE_PROV_MEMORY ((LPCSTR)2)
#define CERT_STORE_PROV_FILE ((LPCSTR)3)
#define CERT_STORE_PROV_REG ((LPCSTR)4)
#define CERT_STORE_PROV_PKCS7 ((LPCSTR)5)
#define CERT_STORE_PROV_SERIALIZED ((LPCSTR)6)
#define CERT_STORE_PROV_FILENAME_A ((LPCSTR)7)
#define CERT_STORE_PROV_FILENAME_W ((LPCSTR)8)
#define CERT_STORE_PROV_FILENAME CERT_STORE_PROV_FILENAME_W
#define CERT_STORE_PROV_SYSTEM_A ((LPCSTR)9)
#define CERT_STORE_PROV_SYSTEM_W ((LPCSTR)10)
#define CERT_STORE_PROV_SYSTEM CERT_STORE_PROV_SYSTEM_W
#define CERT_STORE_PROV_COLLECTION ((LPCSTR)11)
#define CERT_STORE_PROV_SYSTEM_REGISTRY_A ((LPCSTR)12)
#define CERT_STORE_PROV_SYSTEM_REGISTRY_W ((LPCSTR)13)
#define CERT_STORE_PROV_SYSTEM_REGISTRY CERT_STORE_PROV_SYSTEM_REGISTRY_W
#define CERT_STORE_PROV_PHYSICAL_W ((LPCSTR)14)
#define CERT_STORE_PROV_PHYSICAL CERT_STORE_PROV_PHYSICAL_W
#define CERT_STORE_PROV_PKCS12 ((LPCSTR)17)
#define sz_CERT_STORE_PROV_MEMORY "Memory"
#define sz_CERT_STORE_PROV_FILENAME_W "File"
#define sz_CERT_STORE_PROV_FILENAME sz_CERT_STORE_PROV_FILENAME_W
#define sz_CERT_STORE_PROV_SYSTEM_W "System"
#define sz_CERT_STORE_PROV_SYSTEM sz_CERT_STORE_PROV_SYSTEM_W
#define sz_CERT_STORE_PROV_PKCS7 "PKCS7"
#define sz_CERT_STORE_PROV_PKCS12 "PKCS12"
#define sz_CERT_STORE_PROV_SERIALIZED "Serialized"
#define sz_CERT_STORE_PROV_COLLECTION "Collection"

#define CERT_STORE_NO_CRYPT_RELEASE_FLAG 0x00000001
#define CERT_STORE_SET_LOCALIZED_NAME_FLAG 0x00000002
#define CERT_STORE_DEFER_CLOSE_UNTIL_LAST_FREE_FLAG 0x00000004
#define CERT_STORE_DELETE_FLAG 0x00000010
#define CERT_STORE_UNSAFE_PHYSICAL_FLAG 0x00000020
#define CERT_STORE_SHARE_STORE_FLAG 0x00000040
#define CERT_STORE_SHARE_CONTEXT_FLAG 0x00000080
#define CERT_STORE_MANIFOLD_FLAG 0x00000100
#define CERT_STORE_ENUM_ARCHIVED_FLAG 0x00000200
#define CERT_STORE_UPDATE_KEYID_FLAG 0x00000400
#define CERT_STORE_BACKUP_RESTORE_FLAG 0x00000800
#define CERT_STORE_MAXIMUM_ALLOWED_FLAG 0x00001000
#define CERT_STORE_CREATE_NEW_FLAG 0x00002000
#define CERT_STORE_OPEN_EXISTING_FLAG 0x00004000
#define CERT_STORE_READONLY_FLAG 0x00008000

#define CERT_SYSTEM_STORE_LOCATION_SHIFT 16
#define CERT_SYSTEM_STORE_CURRENT_USER_ID 1
#define CERT_SYSTEM_STORE_LOCAL_MACHINE_ID 2
#define CERT_SYSTEM_STORE_CURRENT_USER \
  (CERT_SYSTEM_STORE_CURRENT_USER_ID << CERT_SYSTEM_STORE_LOCATION_SHIFT)
#define CERT_SYSTEM_STORE_LOCAL_MACHINE \
  (CERT_SYSTEM_STORE_LOCAL_MACHINE_ID << CERT_SYSTEM_STORE_LOCATION_SHIFT)

#define CERT_CLOSE_STORE_FORCE_FLAG 0x00000001
#define CERT_CLOSE_STORE_CHECK_FLAG 0x00000002

/* CertAddEncodedCertificateToStore's dwAddDisposition. */
#define CERT_STORE_ADD_NEW 1
#define CERT_STORE_ADD_USE_EXISTING 2
#define CERT_STORE_ADD_REPLACE_EXISTING 3
#define CERT_STORE_ADD_ALWAYS 4
#define CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES 5
#define CERT_STORE_ADD_NEWER 6
#define CERT_STORE_ADD_NEWER_INHERIT_PROPERTIES 7

/* ------------------------------------------------------------------------
 * CertFindCertificateInStore's dwFindType. Implemented: CERT_FIND_ANY,
 * CERT_FIND_SHA1_HASH (CERT_FIND_HASH), CERT_FIND_SUBJECT_STR_A/_W,
 * CERT_FIND_ISSUER_STR_A/_W, CERT_FIND_EXISTING, CERT_FIND_HAS_PRIVATE_KEY;
 * the others give ERROR_CALL_NOT_IMPLEMENTED.
 * ------------------------------------------------------------------------ */

#define CERT_COMPARE_MASK 0xFFFF
#define CERT_COMPARE_SHIFT 16
#define CERT_COMPARE_ANY 0
#define CERT_COMPARE_SHA1_HASH 1
#define CERT_COMPARE_NAME 2
#define CERT_COMPARE_ATTR 3
#define CERT_COMPARE_MD5_HASH 4
#define CERT_COMPARE_PROPERTY 5
#define CERT_COMPARE_PUBLIC_KEY 6
#define CERT_COMPARE_HASH CERT_COMPARE_SHA1_HASH
#define CERT_COMPARE_NAME_STR_A 7
#define CERT_COMPARE_NAME_STR_W 8
#define CERT_COMPARE_KEY_SPEC 9
#define CERT_COMPARE_ENHKEY_USAGE 10
#define CERT_COMPARE_CTL_USAGE CERT_COMPARE_ENHKEY_USAGE
#define CERT_COMPARE_SUBJECT_CERT 11
#define CERT_COMPARE_ISSUER_OF 12
#define CERT_COMPARE_EXISTING 13
#define CERT_COMPARE_SIGNATURE_HASH 14
#define CERT_COMPARE_KEY_IDENTIFIER 15
#define CERT_COMPARE_CERT_ID 16
#define CERT_COMPARE_CROSS_CERT_DIST_POINTS 17
#define CERT_COMPARE_PUBKEY_MD5_HASH 18
#define CERT_COMPARE_SUBJECT_INFO_ACCESS 19
#define CERT_COMPARE_HASH_STR 20
#define CERT_COMPARE_HAS_PRIVATE_KEY 21

#define CERT_INFO_ISSUER_FLAG 4
#define CERT_INFO_SUBJECT_FLAG 7

#define CERT_FIND_ANY (CERT_COMPARE_ANY << CERT_COMPARE_SHIFT)
#define CERT_FIND_SHA1_HASH (CERT_COMPARE_SHA1_HASH << CERT_COMPARE_SHIFT)
#define CERT_FIND_MD5_HASH (CERT_COMPARE_MD5_HASH << CERT_COMPARE_SHIFT)
#define CERT_FIND_SIGNATURE_HASH (CERT_COMPARE_SIGNATURE_HASH << CERT_COMPARE_SHIFT)
#define CERT_FIND_KEY_IDENTIFIER (CERT_COMPARE_KEY_IDENTIFIER << CERT_COMPARE_SHIFT)
#define CERT_FIND_HASH CERT_FIND_SHA1_HASH
#define CERT_FIND_PROPERTY (CERT_COMPARE_PROPERTY << CERT_COMPARE_SHIFT)
#define CERT_FIND_PUBLIC_KEY (CERT_COMPARE_PUBLIC_KEY << CERT_COMPARE_SHIFT)
#define CERT_FIND_SUBJECT_NAME \
  (CERT_COMPARE_NAME << CERT_COMPARE_SHIFT | CERT_INFO_SUBJECT_FLAG)
#define CERT_FIND_SUBJECT_ATTR \
  (CERT_COMPARE_ATTR << CERT_COMPARE_SHIFT | CERT_INFO_SUBJECT_FLAG)
#define CERT_FIND_ISSUER_NAME (CERT_COMPARE_NAME << CERT_COMPARE_SHIFT | CERT_INFO_ISSUER_FLAG)
#define CERT_FIND_ISSUER_ATTR (CERT_COMPARE_ATTR << CERT_COMPARE_SHIFT | CERT_INFO_ISSUER_FLAG)
#define CERT_FIND_SUBJECT_STR_A \
  (CERT_COMPARE_NAME_STR_A << CERT_COMPARE_SHIFT | CERT_INFO_SUBJECT_FLAG)
#define CERT_FIND_SUBJECT_STR_W \
  (CERT_COMPARE_NAME_STR_W << CERT_COMPARE_SHIFT | CERT_INFO_SUBJECT_FLAG)
#define CERT_FIND_SUBJECT_STR CERT_FIND_SUBJECT_STR_W
#define CERT_FIND_ISSUER_STR_A \
  (CERT_COMPARE_NAME_STR_A << CERT_COMPARE_SHIFT | CERT_INFO_ISSUER_FLAG)
#define CERT_FIND_ISSUER_STR_W \
  (CERT_COMPARE_NAME_STR_W << CERT_COMPARE_SHIFT | CERT_INFO_ISSUER_FLAG)
#define CERT_FIND_ISSUER_STR CERT_FIND_ISSUER_STR_W
#define CERT_FIND_KEY_SPEC (CERT_COMPARE_KEY_SPEC << CERT_COMPARE_SHIFT)
#define CERT_FIND_ENHKEY_USAGE (CERT_COMPARE_ENHKEY_USAGE << CERT_COMPARE_SHIFT)
#define CERT_FIND_CTL_USAGE CERT_FIND_ENHKEY_USAGE
#define CERT_FIND_SUBJECT_CERT (CERT_COMPARE_SUBJECT_CERT << CERT_COMPARE_SHIFT)
#define CERT_FIND_ISSUER_OF (CERT_COMPARE_ISSUER_OF << CERT_COMPARE_SHIFT)
#define CERT_FIND_EXISTING (CERT_COMPARE_EXISTING << CERT_COMPARE_SHIFT)
#define CERT_FIND_CERT_ID (CERT_COMPARE_CERT_ID << CERT_COMPARE_SHIFT)
#define CERT_FIND_CROSS_CERT_DIST_POINTS \
  (CERT_COMPARE_CROSS_CERT_DIST_POINTS << CERT_COMPARE_SHIFT)
#define CERT_FIND_PUBKEY_MD5_HASH (CERT_COMPARE_PUBKEY_MD5_HASH << CERT_COMPARE_SHIFT)
#define CERT_FIND_SUBJECT_INFO_ACCESS (CERT_COMPARE_SUBJECT_INFO_ACCESS << CERT_COMPARE_SHIFT)
#define CERT_FIND_HASH_STR (CERT_COMPARE_HASH_STR << CERT_COMPARE_SHIFT)
#define CERT_FIND_HAS_PRIVATE_KEY (CERT_COMPARE_HAS_PRIVATE_KEY << CERT_COMPARE_SHIFT)

/* ------------------------------------------------------------------------
 * Context properties (CertGetCertificateContextProperty). Implemented: the
 * SHA-1 hash (CERT_HASH_PROP_ID, the "thumbprint") and the SHA-256 hash.
 * ------------------------------------------------------------------------ */

#define CERT_KEY_PROV_HANDLE_PROP_ID 1
#define CERT_KEY_PROV_INFO_PROP_ID 2
#define CERT_SHA1_HASH_PROP_ID 3
#define CERT_MD5_HASH_PROP_ID 4
#define CERT_HASH_PROP_ID CERT_SHA1_HASH_PROP_ID
#define CERT_KEY_CONTEXT_PROP_ID 5
#define CERT_FRIENDLY_NAME_PROP_ID 11
#define CERT_KEY_IDENTIFIER_PROP_ID 20
#define CERT_SHA256_HASH_PROP_ID 107

/* ------------------------------------------------------------------------
 * PFXImportCertStore's dwFlags. Keys are never persisted here (there is no
 * key container; a key lives with its context, in memory), so every flag is
 * accepted and none changes anything.
 * ------------------------------------------------------------------------ */

#define CRYPT_EXPORTABLE 0x00000001
#define CRYPT_USER_PROTECTED 0x00000002
#define CRYPT_MACHINE_KEYSET 0x00000020
#define CRYPT_USER_KEYSET 0x00001000
#define PKCS12_INCLUDE_EXTENDED_PROPERTIES 0x00000010
#define PKCS12_PREFER_CNG_KSP 0x00000100
#define PKCS12_ALWAYS_CNG_KSP 0x00000200
#define PKCS12_ALLOW_OVERWRITE_KEY 0x00004000
#define PKCS12_NO_PERSIST_KEY 0x00008000

/* ------------------------------------------------------------------------
 * Functions
 * ------------------------------------------------------------------------ */

/* A memory store holding the PKCS#12 blob's certificates; the one whose
 * public key matches the blob's private key carries that key (and the
 * blob's other certificates are sent with it as its chain). The password
 * must be the blob's; NULL and "" are both tried for an unprotected blob.
 * Errors: ERROR_INVALID_PARAMETER (no blob), ERROR_INVALID_PASSWORD,
 * CRYPT_E_BAD_ENCODE (not PKCS#12, or protected with an algorithm OpenSSL
 * does not offer), ERROR_NOT_ENOUGH_MEMORY. */
WINHTTPAPI HCERTSTORE WINAPI PFXImportCertStore(CRYPT_DATA_BLOB *pPFX, LPCWSTR szPassword,
                                                DWORD dwFlags);
/* Whether the blob decodes as PKCS#12 (the password is not checked). */
WINHTTPAPI BOOL WINAPI PFXIsPFXBlob(CRYPT_DATA_BLOB *pPFX);

/* CERT_STORE_PROV_MEMORY (or "Memory"): a new, empty store. Any other
 * provider: ERROR_CALL_NOT_IMPLEMENTED (NULL: ERROR_FILE_NOT_FOUND, as on
 * Windows). */
WINHTTPAPI HCERTSTORE WINAPI CertOpenStore(LPCSTR lpszStoreProvider, DWORD dwEncodingType,
                                           HCRYPTPROV_LEGACY hCryptProv, DWORD dwFlags,
                                           const void *pvPara);
/* There are no system stores on Linux ("MY", "ROOT"): NULL with
 * ERROR_CALL_NOT_IMPLEMENTED. Use PFXImportCertStore. */
WINHTTPAPI HCERTSTORE WINAPI CertOpenSystemStoreA(HCRYPTPROV_LEGACY hProv,
                                                  LPCSTR szSubsystemProtocol);
WINHTTPAPI HCERTSTORE WINAPI CertOpenSystemStoreW(HCRYPTPROV_LEGACY hProv,
                                                  LPCWSTR szSubsystemProtocol);
#ifdef UNICODE
#define CertOpenSystemStore CertOpenSystemStoreW
#else
#define CertOpenSystemStore CertOpenSystemStoreA
#endif
/* Closes the handle. Contexts still referenced (and the store memory they
 * point into) live until freed; with CERT_CLOSE_STORE_CHECK_FLAG that case
 * returns FALSE with CRYPT_E_PENDING_CLOSE (the handle is closed all the
 * same). NULL: TRUE. */
WINHTTPAPI BOOL WINAPI CertCloseStore(HCERTSTORE hCertStore, DWORD dwFlags);

/* A context for the DER certificate, in no store. */
WINHTTPAPI PCCERT_CONTEXT WINAPI CertCreateCertificateContext(DWORD dwCertEncodingType,
                                                              const BYTE *pbCertEncoded,
                                                              DWORD cbCertEncoded);
WINHTTPAPI BOOL WINAPI CertAddEncodedCertificateToStore(HCERTSTORE hCertStore,
                                                        DWORD dwCertEncodingType,
                                                        const BYTE *pbCertEncoded,
                                                        DWORD cbCertEncoded,
                                                        DWORD dwAddDisposition,
                                                        PCCERT_CONTEXT *ppCertContext);
/* The certificate after |pPrevCertContext| (which is freed) or the first;
 * NULL with CRYPT_E_NOT_FOUND after the last. */
WINHTTPAPI PCCERT_CONTEXT WINAPI CertEnumCertificatesInStore(HCERTSTORE hCertStore,
                                                             PCCERT_CONTEXT pPrevCertContext);
/* The next certificate after |pPrevCertContext| (which is freed, even on
 * failure) that matches; NULL with CRYPT_E_NOT_FOUND when none does. The
 * _STR types match a case-insensitive substring of the name as
 * CertNameToStr(CERT_SIMPLE_NAME_STR) writes it ("US, Org, client1"). */
WINHTTPAPI PCCERT_CONTEXT WINAPI CertFindCertificateInStore(HCERTSTORE hCertStore,
                                                            DWORD dwCertEncodingType,
                                                            DWORD dwFindFlags, DWORD dwFindType,
                                                            const void *pvFindPara,
                                                            PCCERT_CONTEXT pPrevCertContext);
WINHTTPAPI BOOL WINAPI CertGetCertificateContextProperty(PCCERT_CONTEXT pCertContext,
                                                         DWORD dwPropId, void *pvData,
                                                         DWORD *pcbData);
/* Also declared by winhttp.h (unless WINHTTP_NO_WIN32_HELPERS). */
WINHTTPAPI PCCERT_CONTEXT WINAPI CertDuplicateCertificateContext(PCCERT_CONTEXT pCertContext);
WINHTTPAPI BOOL WINAPI CertFreeCertificateContext(PCCERT_CONTEXT pCertContext);

#if defined(__cplusplus)
}
#endif

#endif /* OPENWINHTTP_WINCRYPT_H */
