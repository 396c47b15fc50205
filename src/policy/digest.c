/* see digest.h */
#include "policy/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "util/mem.h"
#include "util/str.h"

static bool is_tchar(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

struct cur {
  const char *p;
  size_t len, i;
};

static void skip_ws(struct cur *c)
{
  while (c->i < c->len && (c->p[c->i] == ' ' || c->p[c->i] == '\t'))
    c->i++;
}

/* A token at the cursor: its start and length (0 if none). */
static size_t token(struct cur *c, const char **t)
{
  *t = c->p + c->i;
  size_t start = c->i;
  while (c->i < c->len && is_tchar(c->p[c->i]))
    c->i++;
  return c->i - start;
}

/* A value: a token or a quoted string (escapes resolved) into |buf|.
 * False when it does not fit or is malformed. */
static bool value(struct cur *c, char *buf, size_t cap)
{
  size_t n = 0;
  if (c->i < c->len && c->p[c->i] == '"') {
    c->i++;
    while (c->i < c->len && c->p[c->i] != '"') {
      char ch = c->p[c->i++];
      if (ch == '\\' && c->i < c->len)
        ch = c->p[c->i++];
      if ((unsigned char)ch < 0x20 && ch != '\t')
        return false;
      if (n + 1 >= cap)
        return false;
      buf[n++] = ch;
    }
    if (c->i >= c->len)
      return false; /* unterminated */
    c->i++;
  } else {
    const char *t;
    size_t tl = token(c, &t);
    if (tl == 0 || tl >= cap)
      return false;
    memcpy(buf, t, tl);
    n = tl;
  }
  buf[n] = '\0';
  return true;
}

static bool eq(const char *a, size_t al, const char *b)
{
  return wh_casecmp_eq(a, al, b, strlen(b));
}

/* Whether the comma-separated list |v| names |item|. */
static bool list_has(const char *v, const char *item)
{
  size_t il = strlen(item);
  for (const char *p = v; *p;) {
    while (*p == ' ' || *p == ',' || *p == '\t')
      p++;
    const char *s = p;
    while (*p && *p != ',' && *p != ' ' && *p != '\t')
      p++;
    if ((size_t)(p - s) == il && wh_casecmp_eq(s, il, item, il))
      return true;
  }
  return false;
}

bool wh_digest_parse(const char *v, size_t len, struct wh_digest_challenge *out)
{
  struct cur c = {v, len, 0};
  bool in_digest = false, have_realm = false, have_nonce = false, ok_alg = true, qop_seen = false;
  char buf[512];
  memset(out, 0, sizeof(*out));
  for (;;) {
    while (c.i < c.len && (c.p[c.i] == ',' || c.p[c.i] == ' ' || c.p[c.i] == '\t'))
      c.i++;
    if (c.i >= c.len)
      break;
    const char *t;
    size_t tl = token(&c, &t);
    if (tl == 0)
      return false; /* not HTTP's syntax: give up */
    skip_ws(&c);
    if (c.i < c.len && c.p[c.i] == '=') {
      c.i++;
      skip_ws(&c);
      if (!value(&c, buf, sizeof(buf)))
        return false;
      if (!in_digest)
        continue;
      if (eq(t, tl, "realm") && strlen(buf) < sizeof(out->realm)) {
        strcpy(out->realm, buf);
        have_realm = true;
      } else if (eq(t, tl, "nonce") && strlen(buf) < sizeof(out->nonce)) {
        strcpy(out->nonce, buf);
        have_nonce = buf[0] != '\0'; /* an empty nonce answers nothing */
      } else if (eq(t, tl, "opaque") && strlen(buf) < sizeof(out->opaque)) {
        strcpy(out->opaque, buf);
        out->has_opaque = true;
      } else if (eq(t, tl, "algorithm")) {
        size_t bl = strlen(buf);
        if (eq(buf, bl, "MD5"))
          out->alg = WH_DIGEST_MD5;
        else if (eq(buf, bl, "MD5-sess"))
          out->alg = WH_DIGEST_MD5_SESS;
        else if (eq(buf, bl, "SHA-256"))
          out->alg = WH_DIGEST_SHA256;
        else if (eq(buf, bl, "SHA-256-sess"))
          out->alg = WH_DIGEST_SHA256_SESS;
        else
          ok_alg = false;
      } else if (eq(t, tl, "qop")) {
        qop_seen = true;
        out->qop_auth = list_has(buf, "auth");
      } else if (eq(t, tl, "stale")) {
        out->stale = eq(buf, strlen(buf), "true");
      }
      continue;
    }
    /* A new challenge's scheme. The Digest one already read ends here. */
    if (in_digest)
      break;
    in_digest = eq(t, tl, "Digest");
  }
  if (!in_digest || !have_realm || !have_nonce || !ok_alg)
    return false;
  if (qop_seen && !out->qop_auth)
    return false; /* auth-int only */
  return true;
}

static const EVP_MD *md_of(enum wh_digest_alg a)
{
  return a == WH_DIGEST_MD5 || a == WH_DIGEST_MD5_SESS ? EVP_md5() : EVP_sha256();
}

/* Lower-case hex of H(the |n| parts joined by ':'). |hex| holds 65 bytes. */
static bool hash_hex(const EVP_MD *md, const char *const *parts, size_t n, char *hex)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned dl = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) == 1;
  for (size_t i = 0; ok && i < n; i++) {
    if (i)
      ok = EVP_DigestUpdate(ctx, ":", 1) == 1;
    ok = ok && EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx, d, &dl) == 1;
  EVP_MD_CTX_free(ctx);
  for (unsigned i = 0; ok && i < dl; i++)
    snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return ok;
}

/* Whether |s| can go in a quoted-string as it is (no quote, backslash or
 * control byte). */
static bool quotable(const char *s)
{
  for (; *s; s++)
    if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

DWORD wh_digest_answer(const struct wh_digest_challenge *c, const char *user, const char *pass,
                       const char *method, const char *uri, unsigned nc, const char *cnonce,
                       char **out)
{
  *out = NULL;
  /* Everything written back inside quotes must need no escaping (a
   * server's realm, nonce or opaque with a quote in it is not answered). */
  if (!quotable(user) || !quotable(uri) || !quotable(c->realm) || !quotable(c->nonce) ||
      !quotable(c->opaque) || !quotable(cnonce))
    return ERROR_INVALID_PARAMETER;
  const EVP_MD *md = md_of(c->alg);
  char ha1[65], ha2[65], resp[65], ncs[9];
  snprintf(ncs, sizeof(ncs), "%08x", nc);
  const char *p1[] = {user, c->realm, pass};
  bool ok = hash_hex(md, p1, 3, ha1);
  if (ok && (c->alg == WH_DIGEST_MD5_SESS || c->alg == WH_DIGEST_SHA256_SESS)) {
    const char *ps[] = {ha1, c->nonce, cnonce};
    char sess[65];
    ok = hash_hex(md, ps, 3, sess);
    memcpy(ha1, sess, sizeof(ha1));
  }
  const char *p2[] = {method, uri};
  ok = ok && hash_hex(md, p2, 2, ha2);
  if (ok && c->qop_auth) {
    const char *pr[] = {ha1, c->nonce, ncs, cnonce, "auth", ha2};
    ok = hash_hex(md, pr, 6, resp);
  } else if (ok) {
    const char *pr[] = {ha1, c->nonce, ha2};
    ok = hash_hex(md, pr, 3, resp);
  }
  OPENSSL_cleanse(ha1, sizeof(ha1));
  if (!ok)
    return ERROR_NOT_ENOUGH_MEMORY;
  static const char *const names[] = {"MD5", "MD5-sess", "SHA-256", "SHA-256-sess"};
  size_t cap = strlen(user) + strlen(c->realm) + strlen(c->nonce) + strlen(uri) +
               strlen(c->opaque) + strlen(cnonce) + 256;
  char *v = wh_malloc(cap);
  if (!v)
    return ERROR_NOT_ENOUGH_MEMORY;
  /* The realm, nonce and opaque came in as quoted strings, unescaped:
   * requoted as they are when they need no escape, which is the rule. */
  int n = snprintf(v, cap,
                   "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                   "algorithm=%s, response=\"%s\"",
                   user, c->realm, c->nonce, uri, names[c->alg], resp);
  if (c->qop_auth)
    n += snprintf(v + n, cap - (size_t)n, ", qop=auth, nc=%s, cnonce=\"%s\"", ncs, cnonce);
  if (c->has_opaque)
    snprintf(v + n, cap - (size_t)n, ", opaque=\"%s\"", c->opaque);
  *out = v;
  return ERROR_SUCCESS;
}
