/* see query_level.h
 *
 * Header names: Microsoft's "Query Info Flags" page describes each level by
 * the header it retrieves; the spellings follow the HTTP RFCs. Where Wine's
 * attribute_table (dlls/winhttp/request.c) differs, the comment says so:
 * Wine leaves the obsolete levels unmapped (HEADER_NOT_FOUND) and maps
 * DERIVED_FROM to "From". We map every level whose header has a registered
 * or historical wire name, since Microsoft documents the obsolete ones as
 * "maintained for legacy application compatibility" (WinINet apps commonly
 * read Content-Disposition through its level). Levels with no known wire name
 * (ORIG_URI, PASSPORT_URLS, PASSPORT_CONFIG) stay WH_QK_NONE, as in Wine;
 * Wine's test_WinHttpSendRequest checks ORIG_URI gives HEADER_NOT_FOUND.
 */
#include "proto/query_level.h"

#define H(sym, hdr) {sym, WH_QK_HEADER, hdr, sizeof(hdr) - 1, #sym}
#define S(sym, kind) {sym, kind, NULL, 0, #sym}

static const struct wh_query_level levels[WH_QUERY_LEVEL_MAX + 1] = {
  H(WINHTTP_QUERY_MIME_VERSION, "Mime-Version"),
  H(WINHTTP_QUERY_CONTENT_TYPE, "Content-Type"),
  H(WINHTTP_QUERY_CONTENT_TRANSFER_ENCODING, "Content-Transfer-Encoding"),
  H(WINHTTP_QUERY_CONTENT_ID, "Content-ID"),
  H(WINHTTP_QUERY_CONTENT_DESCRIPTION, "Content-Description"), /* Wine: none */
  H(WINHTTP_QUERY_CONTENT_LENGTH, "Content-Length"),
  H(WINHTTP_QUERY_CONTENT_LANGUAGE, "Content-Language"),
  H(WINHTTP_QUERY_ALLOW, "Allow"),
  H(WINHTTP_QUERY_PUBLIC, "Public"),
  H(WINHTTP_QUERY_DATE, "Date"),
  H(WINHTTP_QUERY_EXPIRES, "Expires"),
  H(WINHTTP_QUERY_LAST_MODIFIED, "Last-Modified"),
  H(WINHTTP_QUERY_MESSAGE_ID, "Message-ID"),                 /* Wine: none */
  H(WINHTTP_QUERY_URI, "URI"),
  H(WINHTTP_QUERY_DERIVED_FROM, "Derived-From"),             /* Wine: "From" */
  H(WINHTTP_QUERY_COST, "Cost"),                             /* Wine: none */
  H(WINHTTP_QUERY_LINK, "Link"),                             /* Wine: none */
  H(WINHTTP_QUERY_PRAGMA, "Pragma"),
  S(WINHTTP_QUERY_VERSION, WH_QK_VERSION),
  S(WINHTTP_QUERY_STATUS_CODE, WH_QK_STATUS_CODE),
  S(WINHTTP_QUERY_STATUS_TEXT, WH_QK_STATUS_TEXT),
  S(WINHTTP_QUERY_RAW_HEADERS, WH_QK_RAW_HEADERS),
  S(WINHTTP_QUERY_RAW_HEADERS_CRLF, WH_QK_RAW_HEADERS_CRLF),
  H(WINHTTP_QUERY_CONNECTION, "Connection"),
  H(WINHTTP_QUERY_ACCEPT, "Accept"),
  H(WINHTTP_QUERY_ACCEPT_CHARSET, "Accept-Charset"),
  H(WINHTTP_QUERY_ACCEPT_ENCODING, "Accept-Encoding"),
  H(WINHTTP_QUERY_ACCEPT_LANGUAGE, "Accept-Language"),
  H(WINHTTP_QUERY_AUTHORIZATION, "Authorization"),
  H(WINHTTP_QUERY_CONTENT_ENCODING, "Content-Encoding"),
  H(WINHTTP_QUERY_FORWARDED, "Forwarded"),                   /* Wine: none */
  H(WINHTTP_QUERY_FROM, "From"),                             /* Wine: none */
  H(WINHTTP_QUERY_IF_MODIFIED_SINCE, "If-Modified-Since"),
  H(WINHTTP_QUERY_LOCATION, "Location"),
  S(WINHTTP_QUERY_ORIG_URI, WH_QK_NONE),
  H(WINHTTP_QUERY_REFERER, "Referer"),
  H(WINHTTP_QUERY_RETRY_AFTER, "Retry-After"),
  H(WINHTTP_QUERY_SERVER, "Server"),
  H(WINHTTP_QUERY_TITLE, "Title"),                           /* Wine: none */
  H(WINHTTP_QUERY_USER_AGENT, "User-Agent"),
  H(WINHTTP_QUERY_WWW_AUTHENTICATE, "WWW-Authenticate"),
  H(WINHTTP_QUERY_PROXY_AUTHENTICATE, "Proxy-Authenticate"),
  H(WINHTTP_QUERY_ACCEPT_RANGES, "Accept-Ranges"),
  H(WINHTTP_QUERY_SET_COOKIE, "Set-Cookie"),
  H(WINHTTP_QUERY_COOKIE, "Cookie"),
  S(WINHTTP_QUERY_REQUEST_METHOD, WH_QK_REQUEST_METHOD),
  H(WINHTTP_QUERY_REFRESH, "Refresh"),                       /* Wine: none */
  H(WINHTTP_QUERY_CONTENT_DISPOSITION, "Content-Disposition"), /* Wine: none */
  H(WINHTTP_QUERY_AGE, "Age"),
  H(WINHTTP_QUERY_CACHE_CONTROL, "Cache-Control"),
  H(WINHTTP_QUERY_CONTENT_BASE, "Content-Base"),
  H(WINHTTP_QUERY_CONTENT_LOCATION, "Content-Location"),
  H(WINHTTP_QUERY_CONTENT_MD5, "Content-MD5"),
  H(WINHTTP_QUERY_CONTENT_RANGE, "Content-Range"),
  H(WINHTTP_QUERY_ETAG, "ETag"),
  H(WINHTTP_QUERY_HOST, "Host"),
  H(WINHTTP_QUERY_IF_MATCH, "If-Match"),
  H(WINHTTP_QUERY_IF_NONE_MATCH, "If-None-Match"),
  H(WINHTTP_QUERY_IF_RANGE, "If-Range"),
  H(WINHTTP_QUERY_IF_UNMODIFIED_SINCE, "If-Unmodified-Since"),
  H(WINHTTP_QUERY_MAX_FORWARDS, "Max-Forwards"),
  H(WINHTTP_QUERY_PROXY_AUTHORIZATION, "Proxy-Authorization"),
  H(WINHTTP_QUERY_RANGE, "Range"),
  H(WINHTTP_QUERY_TRANSFER_ENCODING, "Transfer-Encoding"),
  H(WINHTTP_QUERY_UPGRADE, "Upgrade"),
  H(WINHTTP_QUERY_VARY, "Vary"),
  H(WINHTTP_QUERY_VIA, "Via"),
  H(WINHTTP_QUERY_WARNING, "Warning"),
  H(WINHTTP_QUERY_EXPECT, "Expect"),
  H(WINHTTP_QUERY_PROXY_CONNECTION, "Proxy-Connection"),
  H(WINHTTP_QUERY_UNLESS_MODIFIED_SINCE, "Unless-Modified-Since"),
  /* Wine's table has no rows for 71..74, which shifts its last four rows:
   * it answers ERROR_INVALID_PARAMETER for 75..78. */
  {WH_QUERY_ECHO_REQUEST, WH_QK_ECHO, NULL, 0, "WINHTTP_QUERY_ECHO_REQUEST"},
  {WH_QUERY_ECHO_REPLY, WH_QK_ECHO, NULL, 0, "WINHTTP_QUERY_ECHO_REPLY"},
  {WH_QUERY_ECHO_HEADERS, WH_QK_ECHO, NULL, 0, "WINHTTP_QUERY_ECHO_HEADERS"},
  {WH_QUERY_ECHO_HEADERS_CRLF, WH_QK_ECHO, NULL, 0, "WINHTTP_QUERY_ECHO_HEADERS_CRLF"},
  H(WINHTTP_QUERY_PROXY_SUPPORT, "Proxy-Support"),           /* Wine: none (RFC 4559) */
  H(WINHTTP_QUERY_AUTHENTICATION_INFO, "Authentication-Info"), /* Wine: none */
  S(WINHTTP_QUERY_PASSPORT_URLS, WH_QK_NONE),
  S(WINHTTP_QUERY_PASSPORT_CONFIG, WH_QK_NONE),
};

static const struct wh_query_level custom = S(WINHTTP_QUERY_CUSTOM, WH_QK_CUSTOM);

const struct wh_query_level *wh_query_level_get(DWORD level)
{
  if (level <= WH_QUERY_LEVEL_MAX)
    return &levels[level];
  if (level == WINHTTP_QUERY_CUSTOM)
    return &custom;
  return NULL;
}
