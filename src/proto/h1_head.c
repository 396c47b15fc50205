/* see h1.h: the response head (RFC 9112 §2-§6). */
#include "proto/h1.h"

#include <string.h>

#include "util/mem.h"
#include "util/str.h"

#define INVALID ERROR_WINHTTP_INVALID_SERVER_RESPONSE

/* --- finding the end of the head ----------------------------------------- */

DWORD wh_h1_head_end(const char *buf, size_t len, size_t max_head, size_t *end)
{
  return wh_h1_head_end_from(buf, len, max_head, 0, end);
}

/* The scan is line-based (§2.2): a line ends at LF, a CR right before the LF
 * belongs to the line end, and the head ends at the first empty line after
 * the status line. The status line and the field lines need nothing more
 * than "find the next LF" here, which memchr does quickly; their contents are
 * checked by wh_h1_parse_head. */
DWORD wh_h1_head_end_from(const char *buf, size_t len, size_t max_head, size_t from,
                          size_t *end)
{
  /* Only the first |n| bytes may belong to the head; if they are all there
   * and hold no end, the head is too big whatever comes next. */
  size_t n = (max_head && len > max_head) ? max_head : len;
  bool capped = max_head && len >= max_head;
  size_t pos, hint = 0;

  *end = 0;
  /* A resume offset is always past "HTTP/" (so >= 5) and within the bytes
   * seen; anything else restarts, which is always correct. */
  if (from >= 5 && from <= n) {
    pos = from;
  } else {
    pos = 0;
    /* choice: skip empty lines before the status line (see h1.h). */
    for (;;) {
      if (pos >= n)
        goto more;
      if (buf[pos] == '\n') {
        pos++;
        continue;
      }
      if (buf[pos] == '\r') {
        if (pos + 1 >= n)
          goto more;
        if (buf[pos + 1] == '\n') {
          pos += 2;
          continue;
        }
      }
      break;
    }
    /* §4 status-line = HTTP-version SP ...; HTTP-version starts "HTTP/".
     * Anything else is not HTTP/1.x (HTTP/0.9 sends the body at once), and
     * saying so now spares the engine a wait for a head that never comes. */
    for (size_t k = 0; k < 5; k++) {
      if (pos + k >= n)
        goto more;
      if (wh_to_upper((unsigned char)buf[pos + k]) != "HTTP/"[k])
        return INVALID;
    }
    pos += 5;
  }

  for (;;) {
    /* At the start of a line (the byte before is its predecessor's LF): an
     * empty line, "\n" or "\r\n", ends the head. */
    if (buf[pos - 1] == '\n') {
      if (pos >= n) {
        hint = pos;
        goto more;
      }
      if (buf[pos] == '\n') {
        *end = pos + 1;
        return ERROR_SUCCESS;
      }
      if (buf[pos] == '\r') {
        if (pos + 1 >= n) {
          hint = pos;
          goto more;
        }
        if (buf[pos + 1] == '\n') {
          *end = pos + 2;
          return ERROR_SUCCESS;
        }
      }
    }
    if (pos >= n) {
      hint = pos;
      goto more;
    }
    const char *lf = memchr(buf + pos, '\n', n - pos);
    if (!lf) {
      /* Mid-line: a resumed scan goes on looking for this line's LF. */
      hint = n;
      goto more;
    }
    pos = (size_t)(lf - buf) + 1;
  }

more:
  if (capped)
    return ERROR_WINHTTP_HEADER_SIZE_OVERFLOW;
  *end = hint;
  return ERROR_IO_PENDING;
}

/* --- parsing the head ----------------------------------------------------- */

/* The line starting at |pos|: its content ends at |*cend| (before the CR LF
 * or LF), the next line starts at |*next|. The last line may lack its LF. */
static void line_at(const char *p, size_t len, size_t pos, size_t *cend, size_t *next)
{
  const char *lf = memchr(p + pos, '\n', len - pos);
  size_t eol = lf ? (size_t)(lf - p) : len;
  *next = lf ? eol + 1 : len;
  if (eol > pos && p[eol - 1] == '\r')
    eol--;
  *cend = eol;
}

/* §4 status-line = HTTP-version SP status-code SP [ reason-phrase ], with
 * HTTP-version = "HTTP/" DIGIT "." DIGIT (§2.3), on the line |p|/|n|. */
static DWORD parse_status(const char *p, size_t n, struct wh_resp_head *out)
{
  size_t i;
  if (n < 12)
    return INVALID;
  for (i = 0; i < 5; i++)
    if (wh_to_upper((unsigned char)p[i]) != "HTTP/"[i])
      return INVALID;
  /* Only major version 1 is HTTP/1.x framing; a higher minor is processed
   * as 1.1 (§2.3: "the highest minor version within that major version to
   * which the recipient is conformant"). */
  if (p[5] != '1' || p[6] != '.' || !wh_is_digit((unsigned char)p[7]) || p[8] != ' ')
    return INVALID;
  out->version_major = 1;
  out->version_minor = (unsigned)(p[7] - '0');
  /* choice: more than one SP before the code is tolerated. */
  i = 9;
  while (i < n && p[i] == ' ')
    i++;
  if (n - i < 3)
    return INVALID;
  unsigned code = 0;
  for (size_t k = 0; k < 3; k++, i++) {
    if (!wh_is_digit((unsigned char)p[i]))
      return INVALID;
    code = code * 10 + (unsigned)(p[i] - '0');
  }
  /* RFC 9110 §15: the first digit is the class, 1-5 defined, up to 9
   * extensible; a code below 100 has no class. */
  if (code < 100)
    return INVALID;
  const char *reason = p + i;
  size_t rlen = 0;
  if (i < n) {
    /* "200OK" and "2000" are not a code followed by a reason. */
    if (p[i] != ' ')
      return INVALID;
    reason = p + i + 1;
    rlen = n - i - 1;
    /* reason-phrase = *( HTAB / SP / VCHAR / obs-text ); we only refuse what
     * could cut or split the text we hand to callers. */
    if (memchr(reason, '\0', rlen) || memchr(reason, '\r', rlen))
      return INVALID;
    wh_trim_ows(&reason, &rlen);
  }
  out->status = code;
  out->reason = wh_strndup(reason, rlen);
  if (!out->reason)
    return ERROR_NOT_ENOUGH_MEMORY;
  out->reason_len = rlen;
  return ERROR_SUCCESS;
}

DWORD wh_h1_parse_fields(const char *p, size_t len, struct wh_headers *h)
{
  struct wh_buf fold;
  size_t pos = 0, cend, next;
  DWORD err = ERROR_SUCCESS;

  /* One block for every field of the section, and the array sized once:
   * |len| bounds the fields' names and values, its line ends their count. */
  size_t lines = 0;
  for (const char *q = p, *end = p + len; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
    lines++;
  wh_headers_reserve(h, lines, len);
  /* The fold buffer is only touched (and allocated) for obs-fold. */
  wh_buf_init(&fold, SIZE_MAX / 2);
  while (pos < len) {
    line_at(p, len, pos, &cend, &next);
    if (cend == pos)
      break; /* the empty line that ends the section */
    /* A line starting with white space continues the previous field (see
     * below); here there is none, so it is invalid (§2.2, §5.2). */
    if (wh_is_ows((unsigned char)p[pos])) {
      err = INVALID;
      break;
    }
    /* §5.1 field-line = field-name ":" OWS field-value OWS. The name must be
     * a token, so white space before the colon fails the token check in the
     * store, as §5.1 requires. */
    const char *colon = memchr(p + pos, ':', cend - pos);
    if (!colon) {
      err = INVALID;
      break;
    }
    const char *name = p + pos;
    size_t nlen = (size_t)(colon - name);
    const char *value = colon + 1;
    size_t vlen = cend - (size_t)(value - p);
    pos = next;

    if (pos < len && wh_is_ows((unsigned char)p[pos])) {
      /* §5.2 obs-fold: a user agent replaces each fold with SP. Both sides
       * are trimmed first so one fold gives exactly one SP; a continuation
       * with nothing on it adds nothing. Rare, so it may allocate. */
      int rc = 0;
      wh_buf_reset(&fold);
      wh_trim_ows(&value, &vlen);
      rc = wh_buf_add(&fold, value, vlen);
      while (rc == 0 && pos < len && wh_is_ows((unsigned char)p[pos])) {
        line_at(p, len, pos, &cend, &next);
        const char *piece = p + pos;
        size_t plen = cend - pos;
        wh_trim_ows(&piece, &plen);
        if (plen && fold.len)
          rc = wh_buf_addc(&fold, ' ');
        if (plen && rc == 0)
          rc = wh_buf_add(&fold, piece, plen);
        pos = next;
      }
      if (rc) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        break;
      }
      value = fold.p ? fold.p : "";
      vlen = fold.len;
    }
    /* The store checks the name is a token and the value holds no CR, LF
     * or NUL (so a bare CR inside a line is refused, §2.2), trims the value
     * and applies its limits. ADD appends, keeping duplicates in order. */
    err = wh_headers_apply_one(h, name, nlen, value, vlen, WINHTTP_ADDREQ_FLAG_ADD);
    if (err) {
      if (err == ERROR_WINHTTP_INVALID_HEADER)
        err = INVALID;
      break;
    }
  }
  wh_buf_free(&fold);
  if (err)
    wh_headers_clear(h);
  return err;
}

DWORD wh_h1_parse_head(const char *head, size_t len, const struct wh_h1_limits *lim,
                       struct wh_resp_head *out)
{
  size_t pos = 0, cend, next;
  DWORD err;

  memset(out, 0, sizeof(*out));
  wh_headers_init(&out->headers);
  if (lim)
    wh_headers_set_limits(&out->headers, lim->max_bytes, lim->max_count);

  /* The same empty lines wh_h1_head_end skipped. */
  while (pos < len) {
    if (head[pos] == '\n')
      pos++;
    else if (head[pos] == '\r' && pos + 1 < len && head[pos + 1] == '\n')
      pos += 2;
    else
      break;
  }
  if (pos >= len)
    return INVALID; /* no status line at all */
  line_at(head, len, pos, &cend, &next);
  err = parse_status(head + pos, cend - pos, out);
  if (err == ERROR_SUCCESS)
    err = wh_h1_parse_fields(head + next, len - next, &out->headers);
  if (err)
    wh_resp_head_free(out);
  return err;
}

/* --- framing ---------------------------------------------------------------- */

/* Iterates the elements of a comma-separated list (RFC 9110 §5.6.1): each
 * call yields the next element, OWS-trimmed and possibly empty. */
struct list_iter {
  const char *p, *end;
  bool over;
};

static bool list_next(struct list_iter *it, const char **e, size_t *elen)
{
  if (it->over)
    return false;
  const char *comma = memchr(it->p, ',', (size_t)(it->end - it->p));
  const char *stop = comma ? comma : it->end;
  *e = it->p;
  *elen = (size_t)(stop - it->p);
  wh_trim_ows(e, elen);
  if (comma)
    it->p = comma + 1;
  else
    it->over = true;
  return true;
}

static bool name_is(const struct wh_header *h, const char *lower, size_t n)
{
  return h->name_len == n && wh_casecmp_eq(h->name, n, lower, n);
}

static bool is_token(const char *p, size_t n)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!wh_is_tchar((unsigned char)p[i]))
      return false;
  return true;
}

/* What the framing fields say, gathered in one pass over the headers. */
struct facts {
  bool te, cl, cl_bad, conn_close, conn_keep_alive, conn_upgrade;
  bool te_bad, te_last_chunked;
  size_t te_codings, te_chunked;
  uint64_t cl_value;
};

/* RFC 9112 §6.1 Transfer-Encoding = #transfer-coding, with
 * transfer-coding = token *( OWS ";" OWS transfer-parameter ). */
static void scan_te(struct facts *fa, const struct wh_header *h)
{
  struct list_iter it = {h->value, h->value + h->value_len, false};
  const char *e;
  size_t elen;
  fa->te = true;
  while (list_next(&it, &e, &elen)) {
    if (elen == 0)
      continue; /* RFC 9110 §5.6.1: empty elements do not count */
    const char *semi = memchr(e, ';', elen);
    size_t nlen = semi ? (size_t)(semi - e) : elen;
    wh_trim_ows(&e, &nlen);
    if (!is_token(e, nlen)) {
      fa->te_bad = true;
      continue;
    }
    bool chunked = wh_casecmp_eqz(e, nlen, "chunked");
    fa->te_codings++;
    fa->te_chunked += chunked;
    fa->te_last_chunked = chunked;
  }
}

/* RFC 9110 §8.6 Content-Length = 1*DIGIT; a recipient may accept a list of
 * identical values ("42, 42") or repeated identical fields as one. */
static void scan_cl(struct facts *fa, const struct wh_header *h)
{
  struct list_iter it = {h->value, h->value + h->value_len, false};
  const char *e;
  size_t elen;
  uint64_t v;
  while (list_next(&it, &e, &elen)) {
    if (!wh_parse_u64(e, elen, UINT64_MAX, &v) || (fa->cl && v != fa->cl_value)) {
      fa->cl_bad = true;
      return;
    }
    fa->cl = true;
    fa->cl_value = v;
  }
}

/* RFC 9110 §7.6.1 Connection = #connection-option, case-insensitive. */
static void scan_connection(struct facts *fa, const struct wh_header *h)
{
  struct list_iter it = {h->value, h->value + h->value_len, false};
  const char *e;
  size_t elen;
  while (list_next(&it, &e, &elen)) {
    if (wh_casecmp_eqz(e, elen, "close"))
      fa->conn_close = true;
    else if (wh_casecmp_eqz(e, elen, "keep-alive"))
      fa->conn_keep_alive = true;
    else if (wh_casecmp_eqz(e, elen, "upgrade"))
      fa->conn_upgrade = true;
  }
}

DWORD wh_h1_framing(const struct wh_resp_head *r, const char *request_method,
                    struct wh_h1_framing *f)
{
  struct facts fa;
  memset(&fa, 0, sizeof(fa));
  memset(f, 0, sizeof(*f));
  f->kind = WH_H1_BODY_CLOSE;

  bool cl_seen = false;
  for (size_t i = 0; i < r->headers.n; i++) {
    const struct wh_header *h = &r->headers.v[i];
    if (name_is(h, "transfer-encoding", 17)) {
      scan_te(&fa, h);
    } else if (name_is(h, "content-length", 14)) {
      cl_seen = true;
      if (!fa.cl_bad)
        scan_cl(&fa, h);
    } else if (name_is(h, "connection", 10)) {
      scan_connection(&fa, h);
    }
  }
  if (cl_seen && !fa.cl)
    fa.cl_bad = true; /* only empty values */

  const char *method = request_method ? request_method : "GET";
  bool http11 = r->version_minor >= 1;
  /* §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive". */
  bool ka = http11 ? !fa.conn_close : (fa.conn_keep_alive && !fa.conn_close);
  /* §6.3 item 3: both fields may be an attempt at smuggling; whatever we
   * do with the body, the connection is not trusted afterwards. */
  bool both = fa.te && cl_seen;
  unsigned st = r->status;
  f->conn_upgrade = fa.conn_upgrade;

  /* §6.3 item 1: these never have content, whatever the fields say. */
  if (st < 200) {
    f->kind = WH_H1_BODY_NONE;
    if (st == 101) {
      f->upgrade = true;
    } else {
      f->interim = true;
      f->keep_alive = ka && !both;
    }
    return ERROR_SUCCESS;
  }
  if (strcmp(method, "HEAD") == 0 || st == 204 || st == 304) {
    f->kind = WH_H1_BODY_NONE;
    f->keep_alive = ka && !both;
    return ERROR_SUCCESS;
  }
  /* §6.3 item 2: a 2xx to CONNECT switches to tunnel mode. */
  if (strcmp(method, "CONNECT") == 0 && st < 300) {
    f->kind = WH_H1_BODY_NONE;
    f->tunnel = true;
    return ERROR_SUCCESS;
  }
  if (fa.te) {
    /* §6.1: chunked must be applied at most once, and a list with no coding
     * is not a Transfer-Encoding value. */
    if (fa.te_bad || fa.te_codings == 0 || fa.te_chunked > 1)
      return INVALID;
    if (fa.te_last_chunked) {
      f->kind = WH_H1_BODY_CHUNKED;
      f->transfer_coded = fa.te_codings > 1;
      /* choice: an HTTP/1.0 message with Transfer-Encoding is still
       * de-chunked, but §6.1 says to close after it. */
      f->keep_alive = ka && !both && http11;
    }
    /* §6.3 item 4: otherwise a response is delimited by the close. */
    return ERROR_SUCCESS;
  }
  if (cl_seen) {
    /* §6.3 item 5: an invalid Content-Length is an unrecoverable error. */
    if (fa.cl_bad)
      return INVALID;
    f->kind = WH_H1_BODY_LENGTH;
    f->length = fa.cl_value;
    f->keep_alive = ka;
    return ERROR_SUCCESS;
  }
  /* §6.3 item 7: read until the server closes. */
  return ERROR_SUCCESS;
}
