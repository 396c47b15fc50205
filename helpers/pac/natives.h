/* The PAC helper functions that need the network stack or exact address
 * arithmetic, written in C and bound into the script's global object:
 *
 *   dnsResolve(host)              the host's first IPv4 address, or null
 *   dnsResolveEx(host)            "v6;...;v4;..." (IPv6 first), "" if none
 *   myIpAddress()                 this machine's IPv4 address
 *   myIpAddressEx()               "v6;...;v4;..." of its interfaces, "" if none
 *   isInNet(host, pattern, mask)  IPv4: (addr & mask) == (pattern & mask)
 *   isInNetEx(host, "addr/bits")  IPv4 or IPv6 prefix match
 *   sortIpAddressList("a;b;c")    IPv6 before IPv4, each sorted; "" if any
 *                                 item is not an address
 *
 * Netscape's PAC specification and Microsoft's "IPv6-Aware Proxy Helper
 * API Definitions" describe them; the code is this project's own. Name
 * lookups use getaddrinfo; they may block, which is why scripts run in a
 * helper process the library can kill. Answers are cached for a minute,
 * so that a script testing one host several times costs one lookup. */
#ifndef PAC_NATIVES_H
#define PAC_NATIVES_H

#include <duktape.h>

/* Adds the functions to the global object of |ctx|. */
void pac_natives_register(duk_context *ctx);

#endif
