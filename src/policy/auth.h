/* Authentication challenges (RFC 9110 §11.6.1) as WinHttpQueryAuthSchemes
 * reports them: which WINHTTP_AUTH_SCHEME_* a WWW-Authenticate or
 * Proxy-Authenticate field value offers, and which came first. Pure. */
#ifndef WH_POLICY_AUTH_H
#define WH_POLICY_AUTH_H

#include <stddef.h>

#include <winhttp.h>

/* Adds the schemes of one field value (|len| bytes, any number of
 * challenges, each with its parameters) to |*supported|, and sets |*first|
 * to the first recognised scheme when it is still 0. Schemes WinHTTP does
 * not know (Bearer, ...) are skipped (Wine's test_multi_authentication). */
void wh_auth_parse_challenges(const char *value, size_t len, DWORD *supported, DWORD *first);

#endif
