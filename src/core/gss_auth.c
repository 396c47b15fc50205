/* see gss_auth.h */
#include "core/gss_auth.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <locale.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

#include "core/settings.h"
#include "proto/ntlm.h"
#include "util/utf.h"
#include "util/mem.h"

/* SPNEGO (1.3.6.1.5.5.2), and Kerberos 5 (1.2.840.113554.1.2.2), the only
 * mechanism explicit passwords are acquired for (see wh_gss_start). */
static gss_OID_desc spnego_oid = {6, (void *)"\x2b\x06\x01\x05\x05\x02"};
static gss_OID_desc krb5_oid = {9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};

/* Tokens the server sends are bounded by the response head's own limit;
 * this only keeps a decode from allocating for nonsense. */
#define MAX_TOKEN 65536

struct wh_gss {
  DWORD scheme;
  gss_OID mech;
  gss_ctx_id_t ctx;
  gss_cred_id_t cred;
  gss_name_t target;
  bool complete;
  /* NTLM (proto/ntlm.h): the name as UTF-16 code units and the response
   * key derived from the password (wiped when freed). */
  uint16_t *user, *domain;
  size_t user_len, domain_len;
  unsigned char key[16];
};

/* A UTF-8 locale for towupper_l, made once; without one (a system with
 * no C.UTF-8), ASCII letters only. */
static locale_t utf8_locale;
static pthread_once_t locale_once = PTHREAD_ONCE_INIT;

static void make_locale(void)
{
  utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* UTF-8 to UTF-16 code units (surrogate pairs above the BMP); |upper|
 * upper-cases each character as Unicode defines it (NTOWFv2 hashes the
 * upper-cased user name, as Windows' RtlUpcaseUnicodeString does). */
static uint16_t *utf16(const char *s, size_t len, bool upper, size_t *n)
{
  wchar_t *w;
  size_t cch;
  if (wh_wide_from_utf8(s, len, &w, &cch) != 0)
    return NULL;
  uint16_t *u = wh_malloc(2 * cch * sizeof(uint16_t) + 2);
  if (!u) {
    wh_free(w);
    return NULL;
  }
  if (upper)
    pthread_once(&locale_once, make_locale);
  size_t k = 0;
  for (size_t i = 0; i < cch; i++) {
    uint32_t c = (uint32_t)w[i];
    if (upper && utf8_locale)
      c = (uint32_t)towupper_l((wint_t)c, utf8_locale);
    else if (upper && c >= 'a' && c <= 'z')
      c -= 'a' - 'A';
    if (c >= 0x10000) {
      c -= 0x10000;
      u[k++] = (uint16_t)(0xd800 + (c >> 10));
      u[k++] = (uint16_t)(0xdc00 + (c & 0x3ff));
    } else {
      u[k++] = (uint16_t)c;
    }
  }
  OPENSSL_cleanse(w, cch * sizeof(wchar_t));
  wh_free(w);
  *n = k;
  return u;
}

static DWORD header_value(const struct wh_gss *g, const gss_buffer_desc *tok, char **out);

static void ntlm_header(const unsigned char *msg, size_t len, char **out, DWORD *err)
{
  gss_buffer_desc tok = {len, (void *)msg};
  struct wh_gss fake = {.scheme = WINHTTP_AUTH_SCHEME_NTLM};
  *err = header_value(&fake, &tok, out);
}

/* NTLM with the codec of proto/ntlm.h: "DOMAIN\user", "user@domain" (a
 * UPN, domain left empty as MS-NLMP allows) or a bare user name. */
static DWORD ntlm_start(struct wh_gss *g, const char *user, const char *pass, char **out)
{
  if (!user)
    return ERROR_WINHTTP_LOGIN_FAILURE; /* no NTLM identity of the user's own on Linux */
  const char *bs = strchr(user, '\\');
  const char *name = bs ? bs + 1 : user;
  size_t dl = bs ? (size_t)(bs - user) : 0;
  size_t pl, upl;
  g->user = utf16(name, strlen(name), false, &g->user_len);
  g->domain = utf16(user, dl, false, &g->domain_len);
  uint16_t *upper = utf16(name, strlen(name), true, &upl);
  uint16_t *pw = utf16(pass ? pass : "", pass ? strlen(pass) : 0, false, &pl);
  DWORD err = ERROR_SUCCESS;
  if (!g->user || !g->domain || !upper || !pw)
    err = ERROR_NOT_ENOUGH_MEMORY;
  else
    wh_ntlm_owf_v2(upper, upl, g->domain, g->domain_len, pw, pl, g->key);
  if (pw)
    OPENSSL_cleanse(pw, pl * 2);
  wh_free(pw);
  wh_free(upper);
  if (err != ERROR_SUCCESS)
    return err;
  unsigned char m[WH_NTLM_NEGOTIATE_LEN];
  wh_ntlm_negotiate(m);
  ntlm_header(m, sizeof(m), out, &err);
  return err;
}

static DWORD ntlm_step(struct wh_gss *g, const unsigned char *in, size_t len, char **out)
{
  struct wh_ntlm_challenge ch;
  DWORD err = wh_ntlm_parse_challenge(in, len, &ch);
  if (err != ERROR_SUCCESS)
    return err;
  unsigned char cc[8];
  if (RAND_bytes(cc, sizeof(cc)) != 1)
    return ERROR_WINHTTP_LOGIN_FAILURE;
  /* FILETIME: 100 ns units since 1601 (used when the server gives none). */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t now = ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
  unsigned char *msg;
  size_t mlen;
  err = wh_ntlm_authenticate(&ch, g->user, g->user_len, g->domain, g->domain_len, g->key, now, cc,
                             &msg, &mlen);
  if (err != ERROR_SUCCESS)
    return err;
  ntlm_header(msg, mlen, out, &err);
  OPENSSL_cleanse(msg, mlen);
  wh_free(msg);
  g->complete = true;
  return err;
}

static DWORD major_error(OM_uint32 major)
{
  OM_uint32 routine = GSS_ROUTINE_ERROR(major);
  /* The mechanism is not there (gss-ntlmssp not installed): an honest
   * "not implemented here" rather than a failed logon. */
  if (routine == GSS_S_BAD_MECH || routine == GSS_S_UNAVAILABLE)
    return ERROR_CALL_NOT_IMPLEMENTED;
  return ERROR_WINHTTP_LOGIN_FAILURE;
}

/* "DOMAIN\user", as Windows programs write it, becomes "user@DOMAIN" for
 * Kerberos (realms are upper case by convention, as Active Directory's). */
static char *principal_name(const char *user)
{
  const char *bs = strchr(user, '\\');
  if (!bs)
    return wh_strndup(user, strlen(user));
  size_t dl = (size_t)(bs - user), ul = strlen(bs + 1);
  char *n = wh_malloc(ul + 1 + dl + 1);
  if (!n)
    return NULL;
  memcpy(n, bs + 1, ul);
  n[ul] = '@';
  for (size_t i = 0; i < dl; i++) {
    char c = user[i];
    n[ul + 1 + i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  n[ul + 1 + dl] = '\0';
  return n;
}

static DWORD acquire_with_password(struct wh_gss *g, const char *user, const char *pass)
{
  char *name = principal_name(user);
  if (!name)
    return ERROR_NOT_ENOUGH_MEMORY;
  OM_uint32 minor, major;
  gss_name_t gname = GSS_C_NO_NAME;
  gss_buffer_desc nb = {strlen(name), name};
  major = gss_import_name(&minor, &nb, GSS_C_NT_USER_NAME, &gname);
  wh_free(name);
  if (GSS_ERROR(major))
    return ERROR_WINHTTP_LOGIN_FAILURE;
  /* Kerberos only: SPNEGO would acquire for every mechanism installed,
   * gss-ntlmssp included, which leaks on each password acquisition (see
   * proto/ntlm.h); NTLM is the "NTLM" scheme's, done by our own codec. */
  gss_OID_set_desc mechs = {1, &krb5_oid};
  gss_buffer_desc pw = {strlen(pass), (void *)pass};
  major = gss_acquire_cred_with_password(&minor, gname, &pw, GSS_C_INDEFINITE, &mechs,
                                         GSS_C_INITIATE, &g->cred, NULL, NULL);
  gss_release_name(&minor, &gname);
  return GSS_ERROR(major) ? major_error(major) : ERROR_SUCCESS;
}

static DWORD header_value(const struct wh_gss *g, const gss_buffer_desc *tok, char **out)
{
  const char *name = g->scheme == WINHTTP_AUTH_SCHEME_NTLM ? "NTLM " : "Negotiate ";
  size_t nl = strlen(name);
  char *v = wh_malloc(nl + 4 * ((tok->length + 2) / 3) + 1);
  if (!v)
    return ERROR_NOT_ENOUGH_MEMORY;
  memcpy(v, name, nl);
  EVP_EncodeBlock((unsigned char *)v + nl, tok->value, (int)tok->length);
  *out = v;
  return ERROR_SUCCESS;
}

/* One call of gss_init_sec_context with |in| (NULL on the first leg). */
static DWORD advance(struct wh_gss *g, gss_buffer_t in, char **out)
{
  *out = NULL;
  OM_uint32 minor, ign;
  gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
  /* No mutual authentication asked: the context is complete once the
   * server has our token (Windows does not fail a request over a missing
   * mutual-authentication token either). */
  OM_uint32 major =
      gss_init_sec_context(&minor, g->cred, &g->ctx, g->target, g->mech, 0, GSS_C_INDEFINITE,
                           GSS_C_NO_CHANNEL_BINDINGS, in ? in : GSS_C_NO_BUFFER, NULL, &tok,
                           NULL, NULL);
  DWORD err = ERROR_SUCCESS;
  if (GSS_ERROR(major))
    err = in ? ERROR_WINHTTP_LOGIN_FAILURE : major_error(major);
  else if (tok.length)
    err = header_value(g, &tok, out);
  g->complete = !GSS_ERROR(major) && !(major & GSS_S_CONTINUE_NEEDED);
  if (tok.value) {
    OPENSSL_cleanse(tok.value, tok.length);
    gss_release_buffer(&ign, &tok);
  }
  return err;
}

DWORD wh_gss_start(DWORD scheme, const char *host, const char *user, const char *pass,
                   struct wh_gss **ctx, char **out)
{
  *ctx = NULL;
  *out = NULL;
  struct wh_gss *g = wh_calloc(1, sizeof(*g));
  if (!g)
    return ERROR_NOT_ENOUGH_MEMORY;
  g->scheme = scheme;
  g->mech = &spnego_oid;
  g->ctx = GSS_C_NO_CONTEXT;
  g->cred = GSS_C_NO_CREDENTIAL;
  g->target = GSS_C_NO_NAME;

  DWORD err = ERROR_SUCCESS;
  if (scheme == WINHTTP_AUTH_SCHEME_NTLM) {
    err = ntlm_start(g, user, pass, out);
    if (err != ERROR_SUCCESS) {
      wh_secret_free(*out);
      *out = NULL;
      wh_gss_free(g);
      return err;
    }
    *ctx = g;
    return ERROR_SUCCESS;
  }
  size_t hl = strlen(host);
  char *spn = wh_malloc(5 + hl + 1);
  if (!spn) {
    err = ERROR_NOT_ENOUGH_MEMORY;
  } else {
    memcpy(spn, "HTTP@", 5);
    memcpy(spn + 5, host, hl + 1);
    OM_uint32 minor;
    gss_buffer_desc sb = {5 + hl, spn};
    if (GSS_ERROR(gss_import_name(&minor, &sb, GSS_C_NT_HOSTBASED_SERVICE, &g->target)))
      err = ERROR_WINHTTP_LOGIN_FAILURE;
    wh_free(spn);
  }
  if (err == ERROR_SUCCESS && user) {
    /* An explicit password: Kerberos directly. Its token (the mechanism's
     * own, not wrapped in SPNEGO) is what Negotiate servers accept from
     * Kerberos-only clients. SPNEGO would need a credential acquired for
     * every mechanism installed, gss-ntlmssp's included, which leaks on each
     * password (proto/ntlm.h). */
    err = acquire_with_password(g, user, pass ? pass : "");
    g->mech = &krb5_oid;
  }
  if (err == ERROR_SUCCESS)
    err = advance(g, NULL, out);
  if (err == ERROR_SUCCESS && !*out)
    err = ERROR_WINHTTP_LOGIN_FAILURE; /* a first leg with nothing to send */
  if (err != ERROR_SUCCESS) {
    wh_secret_free(*out);
    *out = NULL;
    wh_gss_free(g);
    return err;
  }
  *ctx = g;
  return ERROR_SUCCESS;
}

DWORD wh_gss_step(struct wh_gss *g, const char *token, size_t len, char **out)
{
  *out = NULL;
  if (g->complete || len == 0 || len > MAX_TOKEN || len % 4 != 0)
    return ERROR_WINHTTP_LOGIN_FAILURE;
  unsigned char *raw = wh_malloc(len / 4 * 3 + 1);
  if (!raw)
    return ERROR_NOT_ENOUGH_MEMORY;
  int n = EVP_DecodeBlock(raw, (const unsigned char *)token, (int)len);
  if (n < 0) {
    wh_free(raw);
    return ERROR_WINHTTP_LOGIN_FAILURE;
  }
  /* EVP_DecodeBlock counts the padding as zero bytes. */
  for (size_t i = len; i > 0 && token[i - 1] == '=' && n > 0; i--)
    n--;
  gss_buffer_desc in = {(size_t)n, raw};
  DWORD err = g->scheme == WINHTTP_AUTH_SCHEME_NTLM ? ntlm_step(g, raw, (size_t)n, out)
                                                    : advance(g, &in, out);
  OPENSSL_cleanse(raw, len / 4 * 3);
  wh_free(raw);
  return err;
}

void wh_gss_free(struct wh_gss *g)
{
  if (!g)
    return;
  OM_uint32 minor;
  if (g->ctx != GSS_C_NO_CONTEXT)
    gss_delete_sec_context(&minor, &g->ctx, GSS_C_NO_BUFFER);
  if (g->cred != GSS_C_NO_CREDENTIAL)
    gss_release_cred(&minor, &g->cred);
  if (g->target != GSS_C_NO_NAME)
    gss_release_name(&minor, &g->target);
  wh_free(g->user);
  wh_free(g->domain);
  OPENSSL_cleanse(g->key, sizeof(g->key));
  wh_free(g);
}
