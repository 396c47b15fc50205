/* The protocol between the library and its PAC helper process
 * (helpers/pac/, started by net/pac_proc.c): frames over a socket pair.
 *
 * A frame is a 5-byte header, the type byte and the payload's length as a
 * 32-bit big-endian number, then the payload:
 *
 *   library -> helper   'L' <script>           load a PAC script (once)
 *                       'Q' <url> NUL <host>   evaluate FindProxyForURL
 *   helper -> library   'K'                    the script loaded
 *                       'R' <answer>           FindProxyForURL's string
 *                       'E' <message>          the script failed (syntax,
 *                                              exception, no function,
 *                                              not a string, out of memory)
 *
 * Every request gets exactly one answer, in order. Lengths above the
 * reader's maximum are a protocol error (the other side is then killed or
 * abandoned, never trusted).
 *
 * Pure and self-contained (no other library module): the helper program
 * compiles this file too. */
#ifndef WH_PROTO_PAC_WIRE_H
#define WH_PROTO_PAC_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#define WH_PAC_WIRE_HEADER 5

/* The largest PAC script the library downloads and sends (Windows XP SP2
 * refused scripts over 1 MB; today's corporate scripts can be a few MB of
 * host lists), and the largest payloads each side accepts. */
#define WH_PAC_SCRIPT_MAX (4u << 20)
#define WH_PAC_WIRE_MAX_REQUEST (WH_PAC_SCRIPT_MAX + 16384u)
#define WH_PAC_WIRE_MAX_ANSWER 65536u

enum {
  WH_PAC_WIRE_LOAD = 'L',
  WH_PAC_WIRE_QUERY = 'Q',
  WH_PAC_WIRE_OK = 'K',
  WH_PAC_WIRE_RESULT = 'R',
  WH_PAC_WIRE_ERROR = 'E',
};

/* Writes the header of a frame of |type| with |len| payload bytes
 * (|len| < 2^32). */
void wh_pac_wire_header(unsigned char hdr[WH_PAC_WIRE_HEADER], int type, size_t len);

/* Reads a header from the |n| bytes at |p|: 1 with *type and *len set, 0
 * when fewer than WH_PAC_WIRE_HEADER bytes are there, -1 when the length
 * exceeds |max|. */
int wh_pac_wire_parse_header(const unsigned char *p, size_t n, size_t max, int *type,
                             size_t *len);

/* Splits a query payload into the URL and the host (neither may hold a
 * NUL). False when it has no NUL or more than one. */
bool wh_pac_wire_split_query(const char *p, size_t n, const char **url, size_t *url_len,
                             const char **host, size_t *host_len);

#endif
