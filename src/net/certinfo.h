/* WINHTTP_OPTION_SECURITY_CERTIFICATE_STRUCT: a WINHTTP_CERTIFICATE_INFO
 * built from the server certificate's DER. */
#ifndef WH_NET_CERTINFO_H
#define WH_NET_CERTINFO_H

#include <stddef.h>

#include <winhttp.h>

/* Fills |out|. The subject and issuer are the names' attribute values, one
 * per line ("\r\n"-separated, in the order they are encoded), which is what
 * Windows' CertNameToStr(CERT_SIMPLE_NAME_STR | CERT_NAME_STR_CRLF_FLAG)
 * gives; they are LocalAlloc'd for the caller to LocalFree. The protocol,
 * signature and encryption algorithm names are NULL (as Wine's tests accept
 * on Windows). Errors: ERROR_NOT_ENOUGH_MEMORY,
 * ERROR_WINHTTP_INTERNAL_ERROR (the DER does not parse). */
DWORD wh_certinfo_from_der(const unsigned char *der, size_t len, DWORD key_bits,
                           WINHTTP_CERTIFICATE_INFO *out);

#endif
