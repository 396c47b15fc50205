/* The per-session cookie jar: Set-Cookie parsing and storage (RFC 6265
 * §5.2, §5.3), the Cookie request header (§5.4), and the merge with a
 * Cookie header the application supplied itself.
 *
 * Pure: no I/O, no clock (|now| is always a parameter, in seconds since the
 * Unix epoch), no locale, no mutable globals. A jar is a plain struct; it
 * takes no lock of its own, so the engine guards each jar with its
 * session's lock. Different jars may be used from different threads at
 * once (CONTRACT C1). Public-suffix decisions use libpsl's built-in list
 * (psl_builtin(), read-only and shared); every allocation goes through
 * util/mem.h.
 *
 * What is stored (RFC 6265 §5.3, with the RFC 6265bis additions marked):
 *   - Domain: a cookie is host-only unless it carries a Domain attribute
 *     (the last one wins; one leading '.' is dropped; lower-cased). A
 *     Domain the request host does not domain-match (§5.1.3) drops the
 *     cookie. A Domain that is a public suffix (libpsl, ICANN and private
 *     sections) drops the cookie too, unless it equals the request host,
 *     in which case the cookie becomes host-only (§5.3 step 5). IP
 *     literals never domain-match anything but themselves.
 *   - Path: the last Path attribute whose value starts with '/', else the
 *     default-path of the request path (§5.1.4).
 *   - Expiry: Max-Age (§5.2.2) wins over Expires (§5.2.1) whatever their
 *     order; Expires is read with the cookie-date algorithm of §5.1.1
 *     (wh_cookie_parse_date). A cookie without either is a session cookie
 *     and never expires while the jar lives. A cookie that is already
 *     expired deletes the stored cookie of the same name, domain and path
 *     and is not stored.
 *   - Secure, HttpOnly and SameSite are recorded. HttpOnly cookies are
 *     sent like any other (WinHTTP is an HTTP API, not a script host);
 *     SameSite means nothing without a browsing context and is only kept.
 *   - Replacement (§5.3 step 11): a new cookie with the same name
 *     (case-sensitive), domain and path replaces the old one and keeps its
 *     creation time.
 *   - RFC 6265bis: a Secure cookie is refused from a non-secure request; a
 *     non-secure request cannot overwrite, shadow or delete a live Secure
 *     cookie of the same name whose domain matches either way and whose
 *     path the new path path-matches ("leave secure cookies alone"); a
 *     name starting with "__Secure-" (any case) needs Secure, one starting
 *     with "__Host-" needs Secure, no Domain attribute and an explicit
 *     Path=/. A Domain or Path attribute longer than 1024 bytes is ignored.
 *
 * Ignored outright (the function still returns ERROR_SUCCESS, as WinHTTP
 * and browsers silently drop bad cookies): a Set-Cookie value holding a
 * control character other than HTAB (NUL, CR and LF included), one without
 * '=' in its first part or with an empty name (RFC 6265 §5.2 steps 2 and
 * 5), name + value over WH_COOKIE_MAX_NAME_VALUE bytes, an empty or
 * over-long (> WH_COOKIE_MAX_HOST bytes) request host, and everything the
 * rules above reject.
 *
 * Limits (RFC 6265 §6.1 minimums): at most |max_per_domain| cookies per
 * registrable domain (libpsl's eTLD+1 of the cookie's domain; the domain
 * itself for IP literals and public suffixes) and |max_total| in the jar.
 * When an insertion exceeds a limit, expired cookies are purged first,
 * then the cookies least recently set (created or replaced) go first
 * (§5.3: "earliest last-access date"; the header builder takes a const jar,
 * so setting, not sending, counts as access). The cookie just stored is
 * never the one evicted.
 */
#ifndef WH_POLICY_COOKIE_H
#define WH_POLICY_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

/* RFC 6265 §6.1: at least 4096 bytes per cookie (name + value here, as
 * browsers count), 50 cookies per domain and 3000 in total. */
#define WH_COOKIE_MAX_NAME_VALUE 4096
#define WH_COOKIE_MAX_PER_DOMAIN 50
#define WH_COOKIE_MAX_TOTAL 3000
/* RFC 6265bis: a Domain or Path attribute value longer than this is
 * ignored. */
#define WH_COOKIE_MAX_ATTR 1024
/* Longest request host accepted (a DNS name is at most 253 bytes). */
#define WH_COOKIE_MAX_HOST 255

/* Expiry of a session cookie (no Max-Age, no Expires). */
#define WH_COOKIE_NEVER INT64_MAX

enum wh_cookie_samesite {
  WH_COOKIE_SAMESITE_UNSET = 0, /* no (recognised) SameSite attribute */
  WH_COOKIE_SAMESITE_NONE,
  WH_COOKIE_SAMESITE_LAX,
  WH_COOKIE_SAMESITE_STRICT
};

/* One stored cookie (RFC 6265 §5.3's fields). Read-only to callers; every
 * string is NUL-terminated and lives in the same allocation. */
struct wh_cookie {
  const char *name;   /* case-sensitive, never empty */
  const char *value;  /* may be empty */
  const char *domain; /* lower case; the request host for host-only */
  const char *path;   /* starts with '/' */
  const char *base;   /* the registrable domain: a suffix of |domain| */
  size_t name_len, value_len, domain_len, path_len, base_len;
  int64_t expiry;     /* seconds since the epoch; WH_COOKIE_NEVER */
  int64_t creation;   /* |now| when first stored, kept on replacement */
  uint64_t creation_seq; /* orders cookies created in the same second */
  uint64_t set_seq;      /* last time set: the eviction order */
  bool persistent;    /* had Max-Age or Expires */
  bool host_only;
  bool secure;
  bool http_only;
  enum wh_cookie_samesite same_site;
  char data[];        /* the strings */
};

struct wh_cookie_jar {
  struct wh_cookie **items; /* unordered */
  size_t count, cap;
  uint64_t seq;             /* last sequence number handed out */
  /* Limits; wh_cookie_jar_init() sets WH_COOKIE_MAX_PER_DOMAIN and
   * WH_COOKIE_MAX_TOTAL. A caller may lower them (to at least 1) before
   * use. */
  size_t max_per_domain, max_total;
};

/* Makes |j| an empty jar. Cannot fail; allocates nothing. */
void wh_cookie_jar_init(struct wh_cookie_jar *j);
/* Frees every cookie; |j| is left empty and may be used again. */
void wh_cookie_jar_free(struct wh_cookie_jar *j);

/* Parses one Set-Cookie field value (|len| bytes at |set_cookie_value|,
 * not NUL-terminated, without the "Set-Cookie:" name) received in answer
 * to a request for |request_host| (NUL-terminated: a DNS name of any case,
 * an IPv4 literal, or an IPv6 literal with or without brackets, no port)
 * and |request_path| (the request-target's path, NUL-terminated; anything
 * from a '?' or '#' on is ignored; NULL or empty means "/"), sent over a
 * secure channel when |secure_request|, and stores it as described above.
 * Returns ERROR_SUCCESS whether the cookie was stored, ignored, or deleted
 * a stored one; ERROR_NOT_ENOUGH_MEMORY, leaving the jar as it was, when an
 * allocation fails. */
DWORD wh_cookie_jar_set(struct wh_cookie_jar *j, const char *set_cookie_value, size_t len,
                        const char *request_host, const char *request_path, bool secure_request,
                        int64_t now);

/* Builds the Cookie header value for a request to |host| and |path| (same
 * forms as for wh_cookie_jar_set), secure when |secure| (https), at |now|
 * (RFC 6265 §5.4): the cookies whose domain the host matches (exactly for
 * host-only cookies, §5.1.3 domain-match otherwise), whose path the request
 * path path-matches (§5.1.4), that are not Secure unless |secure|, and that
 * have not expired, as "name=value" pairs joined by "; ", longest path
 * first, then earliest creation first. On success *out is a NUL-terminated
 * string the caller frees with wh_free(), or NULL when no cookie applies.
 * The value never holds CR, LF or NUL. Returns ERROR_SUCCESS or
 * ERROR_NOT_ENOUGH_MEMORY (*out NULL). */
DWORD wh_cookie_jar_header(const struct wh_cookie_jar *j, const char *host, const char *path,
                           bool secure, int64_t now, char **out);

/* Merges the Cookie header value the application supplied itself
 * (|app_header|, NUL-terminated, or NULL) with the jar's (|jar_value|, as
 * wh_cookie_jar_header() built it, or NULL). The rule:
 *   - the application's value comes first, byte for byte, with only the
 *     surrounding whitespace and trailing ';' removed;
 *   - then each jar pair whose name the application's value does not
 *     already carry, in the jar's order. A name is compared exactly (cookie
 *     names are case-sensitive); an application part without '=' counts as
 *     a name of its own (RFC 6265bis reads "a" as a nameless cookie, but
 *     withholding a jar cookie named "a" is the safer guess);
 *   - pairs are joined with "; ".
 * The application wins a name clash because it spoke last: it set the
 * header on this very request. On success *out is a string the caller frees
 * with wh_free(), or NULL when both inputs are NULL or blank. Returns
 * ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY (*out NULL). */
DWORD wh_cookie_merge(const char *app_header, const char *jar_value, char **out);

/* The cookie-date algorithm of RFC 6265 §5.1.1 (used for Expires): tokens
 * split on the delimiter set, the first time (h:m:s), day of month, month
 * name and 2-4 digit year found in that order of preference, two-digit
 * years 70-99 as 19xx and 00-69 as 20xx; fails on a missing field, a year
 * before 1601, an out-of-range field or a date that does not exist. On
 * success *out is the instant in seconds since the epoch (UTC). */
bool wh_cookie_parse_date(const char *s, size_t len, int64_t *out);

/* The stored cookie with exactly this name, domain (lower case) and path,
 * expired or not, or NULL. For tests and diagnostics. */
const struct wh_cookie *wh_cookie_jar_find(const struct wh_cookie_jar *j, const char *name,
                                           const char *domain, const char *path);

#endif
