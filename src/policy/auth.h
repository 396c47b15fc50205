/* Authentication challenges (RFC 9110 §11.6.1) as WinHttpQueryAuthSchemes
 * reports them: which WINHTTP_AUTH_SCHEME_* a WWW-Authenticate or
 * Proxy-Authenticate field value offers, and which came first. Pure. */
#ifndef WH_POLICY_AUTH_H
#define WH_POLICY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <winhttp.h>

/* Adds the schemes of one field value (|len| bytes, any number of
 * challenges, each with its parameters) to |*supported|, and sets |*first|
 * to the first recognised scheme when it is still 0. Schemes WinHTTP does
 * not know (Bearer, ...) are skipped (Wine's test_multi_authentication). */
void wh_auth_parse_challenges(const char *value, size_t len, DWORD *supported, DWORD *first);

/* Finds the challenge of |scheme| ("NTLM", "Negotiate": schemes whose
 * challenge is one token68, RFC 4559) in one field value: *token is what
 * follows the scheme name up to the end of that element, trimmed, possibly
 * empty (a first challenge). False when the value has no such challenge. */
bool wh_auth_find_token(const char *value, size_t len, const char *scheme, const char **token,
                        size_t *token_len);

#endif
