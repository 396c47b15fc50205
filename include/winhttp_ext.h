/* OpenWinHTTP's extensions to the WinHTTP API: features Windows' WinHTTP
 * does not have (it includes <winhttp.h>). A program that uses them is an
 * OpenWinHTTP program; one that does not never notices they exist.
 *
 * Option numbers live in a private range, 0x4F570000 to 0x4F57FFFF ("OW"),
 * far above every WINHTTP_OPTION_* of the Windows SDK (which stay below
 * 0x10000), so they never collide with an SDK option, today's or a future
 * one. Windows' WinHttpSetOption answers them with
 * ERROR_WINHTTP_INVALID_OPTION, as it does any option it does not know. */
#ifndef OPENWINHTTP_EXT_H
#define OPENWINHTTP_EXT_H

#include <winhttp.h>

#define WINHTTP_EXT_OPTION_FIRST 0x4F570000u
#define WINHTTP_EXT_OPTION_LAST 0x4F57FFFFu

/* permessage-deflate (RFC 7692) for WebSockets: a DWORD on a session or a
 * request, set before WinHttpSendRequest of the upgrade (default 0: not
 * offered, as on Windows). With WINHTTP_EXT_WEB_SOCKET_DEFLATE the upgrade
 * offers the extension; when the server accepts it, messages are
 * compressed and decompressed transparently (sizes in WRITE_COMPLETE and
 * READ_COMPLETE are the uncompressed ones). A compressed message that
 * inflates past 256 MiB fails the connection with close code 1009. */
#define WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE (WINHTTP_EXT_OPTION_FIRST + 1u)

#define WINHTTP_EXT_WEB_SOCKET_DEFLATE 0x00000001u
/* Offer client_no_context_takeover: our compressor starts afresh for every
 * message (less memory kept between messages, a lower ratio). */
#define WINHTTP_EXT_WEB_SOCKET_DEFLATE_CLIENT_NO_CONTEXT_TAKEOVER 0x00000002u
/* Offer server_no_context_takeover: ask the server to do the same. */
#define WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER 0x00000004u
/* Ask for server_max_window_bits=N (8 to 15) with
 * WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_WINDOW(N); 0 asks for nothing. */
#define WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_WINDOW(bits) (((bits) & 0xFu) << 8)
#define WINHTTP_EXT_WEB_SOCKET_DEFLATE_MASK 0x00000F07u

/* --- functions ------------------------------------------------------------
 * Named Owh* (OpenWinHTTP), a prefix no Microsoft function has. */

#if defined(__cplusplus)
extern "C" {
#endif

/* Client certificates from PEM, the form Linux tools keep them in (Windows'
 * crypt32 has no PEM import; see <wincrypt.h> for PFXImportCertStore, which
 * takes PKCS#12). Like PFXImportCertStore: a memory store for the
 * certificates ("-----BEGIN CERTIFICATE-----") in the PEM text of |pPem|;
 * the one whose public key matches the private key in the same text
 * ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE
 * KEY") carries that key, and the others are sent with it as its chain. To
 * use a certificate file and a key file, pass their contents one after the
 * other. |szPassword| decrypts an encrypted key (NULL: none). |dwFlags|
 * must be 0. Free the store with CertCloseStore. Errors: as
 * PFXImportCertStore's, plus CRYPT_E_NOT_FOUND (no certificate in the text)
 * and NTE_BAD_KEY (a key that matches no certificate). */
WINHTTPAPI HCERTSTORE WINAPI OwhPemImportCertStore(CRYPT_DATA_BLOB *pPem, LPCWSTR szPassword,
                                                   DWORD dwFlags);

#if defined(__cplusplus)
}
#endif

#endif
