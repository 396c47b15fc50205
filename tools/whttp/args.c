/* whttp: the command line. Short options cluster (-sLo FILE) and take their
 * value attached or as the next word; long options take "--opt=value" or
 * "--opt value"; "--" ends the options. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "whttp.h"

#ifndef WHTTP_VERSION
#define WHTTP_VERSION "0"
#endif

static const char usage_text[] =
  "Usage: whttp [options] URL\n"
  "       whttp [-x PROXY [--noproxy LIST]] --proxy-for URL\n"
  "       whttp -Z [N] (-O | -o FILE | --discard) [options] URL...\n"
  "       whttp [--binary] [--ws-deflate] [-H ...] [-kvs] [-m SECONDS] (ws://... | wss://... | --ws URL)\n"
  "A command-line HTTP and WebSocket client built on the WinHTTP API (OpenWinHTTP).\n"
  "\n"
  "  -X, --request METHOD      request method (default GET; POST with -d; PUT with -T)\n"
  "  -H, --header 'Name: value'  add a request header (repeatable; 'Name:' removes one)\n"
  "  -d, --data DATA           POST DATA (@FILE: the file with CR/LF removed; repeated: joined by &)\n"
  "      --data-binary DATA    POST DATA as is (@FILE: the file's bytes)\n"
  "  -T, --upload-file FILE    PUT FILE, streamed (a URL ending in / gets the file name)\n"
  "  -o, --output FILE         write the body to FILE instead of stdout\n"
  "  -O, --remote-name         write the body to a file named like the URL's last segment\n"
  "  -L, --location            follow redirects (without it they are not followed)\n"
  "  -k, --insecure            ignore every certificate error\n"
  "  -i, --include             write the response head before the body\n"
  "  -I, --head                send HEAD and write the response head\n"
  "  -v, --verbose             trace notifications and both heads on stderr\n"
  "      --compressed          ask for gzip/deflate and decode the body\n"
  "  -x, --proxy HOST:PORT     go through this HTTP proxy (Windows' list syntax:\n"
  "                            'http=HOST:PORT;https=HOST:PORT' per scheme)\n"
  "      --noproxy LIST        with -x: these hosts go direct (curl's syntax: comma-\n"
  "                            separated names, each with its subdomains, IP\n"
  "                            addresses, /8 /16 /24 /32 ranges; '*' for every host)\n"
  "      --proxy-for URL       print what proxy resolution chooses for URL and exit:\n"
  "                            -x and --noproxy, else the user's settings (desktop,\n"
  "                            then environment) and their PAC script or WPAD\n"
  "  -u, --user USER[:PASS]    credentials for the server (the best scheme it asks for;\n"
  "                            without :PASS the password comes from\n"
  "                            --password-file or is asked on the terminal)\n"
  "      --proxy-user USER[:PASS]  the same for the proxy (-x)\n"
  "      --password-file FILE  the password (its first line) for -u / --proxy-user\n"
  "      --basic               send Basic credentials at once, before any challenge\n"
  "      --digest              answer only a Digest challenge (RFC 7616)\n"
  "      --ntlm                answer only NTLM (NTLMv2), with -u DOMAIN\\USER:PASS\n"
  "      --negotiate           answer only Negotiate (Kerberos); without -u, or with\n"
  "                            -u :, the ticket cache's identity (kinit)\n"
  "      --cert FILE           TLS client certificate: PKCS#12 (.p12/.pfx) or PEM\n"
  "      --key FILE            the private key (PEM) when not in --cert's file\n"
  "      --cert-password PASS  the password of the PKCS#12 file or encrypted key\n"
  "                            (else --cert-password-file, or asked on the terminal)\n"
  "      --cert-password-file FILE  that password (its first line)\n"
  "      --http2               speak HTTP/2 when the https:// server offers it (ALPN\n"
  "                            h2; HTTP/1.1 otherwise); with -Z, requests to one\n"
  "                            origin share one multiplexed connection\n"
  "  -m, --max-time SECONDS    give up after SECONDS (decimals allowed)\n"
  "  -f, --fail                exit 22, writing no body, when the status is >= 400\n"
  "  -s, --silent              no progress bar and no error messages\n"
  "  -Z, --parallel [N]        transfer every URL at once through one asynchronous\n"
  "                            session, at most N in flight (default 50; N is the\n"
  "                            next word when it is a number, or --parallel=N)\n"
  "      --parallel-max N      the same limit N (1..10000)\n"
  "      --discard             with -Z: throw the bodies away (/dev/null)\n"
  "      --ws                  WebSocket mode with an http:// or https:// URL\n"
  "      --binary              WebSocket mode: send stdin lines as binary messages\n"
  "      --ws-deflate          WebSocket mode: offer permessage-deflate (RFC 7692;\n"
  "                            an OpenWinHTTP extension, winhttp_ext.h)\n"
  "  -h, --help                this help\n"
  "  -V, --version             the version\n"
  "\n"
  "The trust store is OpenSSL's default; SSL_CERT_FILE / SSL_CERT_DIR select another.\n"
  "A progress bar is drawn on stderr when stderr is a terminal.\n"
  "\n"
  "Parallel mode (-Z): several URLs; each body goes to its own file, so one of\n"
  "-O (named after the URL; two URLs naming the same file are refused), -o FILE\n"
  "(\"#1\" in FILE is replaced by the URL's number, 1, 2, ...; needed with more\n"
  "than one URL) or --discard is required. -T and -v are refused. On a terminal\n"
  "stderr shows one progress line per transfer in flight; otherwise one line per\n"
  "finished transfer: \"done URL STATUS BYTES SECONDS\" (\"-\" for no status, then\n"
  "the error). A summary follows (ok, failed, bytes, elapsed, rate). --max-time\n"
  "limits the whole run. Ctrl-C cancels every transfer (exit 130); a second one\n"
  "ends whttp at once.\n"
  "\n"
  "WebSocket mode (ws://, wss://, --ws): after the upgrade (101), each stdin\n"
  "line is sent as one text message without its newline (--binary: binary),\n"
  "and each message received is written to stdout (text ones followed by a\n"
  "newline). --ws-deflate offers permessage-deflate; whether the server took it\n"
  "shows in -v's 101 head (Sec-WebSocket-Extensions). At the end of stdin whttp sends its close (1000) and waits for\n"
  "the server's; a close from the server is answered. -v traces the frames\n"
  "(\"> text 5 bytes\", \"< close 1000 \\\"bye\\\"\"). -m limits the handshake.\n"
  "Ctrl-C closes with 1001 (exit 130). -d, -T, -X, -o, -O, -i, -I, -L, -f,\n"
  "--compressed and -Z are refused.\n"
  "\n"
  "Exit status:\n"
  "   0 success              1 unsupported URL scheme   2 bad command line\n"
  "   3 malformed URL        4 not implemented by the library\n"
  "   6 host not resolved    7 cannot connect\n"
  "  22 HTTP status >= 400 (-f); WebSocket upgrade refused (no 101)\n"
  "  23 cannot write output 26 cannot read input file   27 out of memory\n"
  "  28 timed out           35 TLS/certificate failure  43 other WinHTTP failure\n"
  "  47 redirect failed     52 empty or invalid response\n"
  "  55 connection failed while sending                 56 ... while receiving\n"
  "  57 the WebSocket server closed with an error status (not 1000, 1001, none)\n"
  " 130 interrupted (-Z, WebSocket mode)\n"
  "With -Z the exit status is the highest status of the failed transfers.\n";

/* One option: its letters, whether it takes a value, and its handler. */
struct opt {
  char short_name;
  const char *long_name;
  bool has_value;
  int (*apply)(struct whttp_args *a, const char *value);
};

/* "whttp: MESSAGE 'DETAIL'" (DETAIL may be NULL) and the usage status. */
static int usage_error(const char *message, const char *detail)
{
  fprintf(stderr, "whttp: %s", message);
  if (detail)
    fprintf(stderr, " '%s'", detail);
  fputs("\nTry 'whttp --help'.\n", stderr);
  return WX_USAGE;
}

static int set_method(struct whttp_args *a, const char *v) { a->method = v; return 0; }
static int set_upload(struct whttp_args *a, const char *v) { a->upload = v; return 0; }
static int set_output(struct whttp_args *a, const char *v) { a->output = v; return 0; }
static int set_remote(struct whttp_args *a, const char *v) { (void)v; a->remote_name = true; return 0; }
static int set_follow(struct whttp_args *a, const char *v) { (void)v; a->follow = true; return 0; }
static int set_insecure(struct whttp_args *a, const char *v) { (void)v; a->insecure = true; return 0; }
static int set_include(struct whttp_args *a, const char *v) { (void)v; a->include = true; return 0; }
static int set_verbose(struct whttp_args *a, const char *v) { (void)v; a->verbose = true; return 0; }
static int set_compressed(struct whttp_args *a, const char *v) { (void)v; a->compressed = true; return 0; }
static int set_fail(struct whttp_args *a, const char *v) { (void)v; a->fail = true; return 0; }
static int set_silent(struct whttp_args *a, const char *v) { (void)v; a->silent = true; return 0; }

static int set_discard(struct whttp_args *a, const char *v) { (void)v; a->discard = true; return 0; }
static int set_ws(struct whttp_args *a, const char *v) { (void)v; a->websocket = true; return 0; }
static int set_binary(struct whttp_args *a, const char *v) { (void)v; a->binary = true; return 0; }
static int set_proxy(struct whttp_args *a, const char *v) { a->proxy = v; return 0; }
static int set_noproxy(struct whttp_args *a, const char *v) { a->noproxy = v; return 0; }
static int set_proxy_for(struct whttp_args *a, const char *v) { a->proxy_for = v; return 0; }
static int set_user(struct whttp_args *a, const char *v) { a->user_spec = v; return 0; }
static int set_proxy_user(struct whttp_args *a, const char *v) { a->proxy_user_spec = v; return 0; }
static int set_password_file(struct whttp_args *a, const char *v) { a->password_file = v; return 0; }
static int set_cert(struct whttp_args *a, const char *v) { a->cert_file = v; return 0; }
static int set_key(struct whttp_args *a, const char *v) { a->key_file = v; return 0; }
static int set_cert_password(struct whttp_args *a, const char *v) { a->cert_password = v; return 0; }
static int set_cert_password_file(struct whttp_args *a, const char *v)
{
  a->cert_password_file = v;
  return 0;
}
static int set_scheme(struct whttp_args *a, DWORD scheme)
{
  if (a->auth_scheme && a->auth_scheme != scheme)
    return usage_error("--basic, --digest, --ntlm and --negotiate cannot be combined", NULL);
  a->auth_scheme = scheme;
  return 0;
}
static int set_basic(struct whttp_args *a, const char *v) { (void)v; return set_scheme(a, WINHTTP_AUTH_SCHEME_BASIC); }
static int set_digest(struct whttp_args *a, const char *v) { (void)v; return set_scheme(a, WINHTTP_AUTH_SCHEME_DIGEST); }
static int set_ntlm(struct whttp_args *a, const char *v) { (void)v; return set_scheme(a, WINHTTP_AUTH_SCHEME_NTLM); }
static int set_negotiate(struct whttp_args *a, const char *v) { (void)v; return set_scheme(a, WINHTTP_AUTH_SCHEME_NEGOTIATE); }
static int set_http2(struct whttp_args *a, const char *v) { (void)v; a->http2 = true; return 0; }
static int set_ws_deflate(struct whttp_args *a, const char *v) { (void)v; a->ws_deflate = true; return 0; }

static int set_parallel_max(struct whttp_args *a, const char *v)
{
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (errno || end == v || *end || v[0] == '-' || n < 1 || n > WHTTP_PARALLEL_LIMIT)
    return usage_error("the parallel limit must be a number from 1 to 10000, not", v);
  a->parallel_max = (unsigned)n;
  return 0;
}

/* -Z / --parallel: a flag whose limit may follow (see parallel_value). */
static int set_parallel(struct whttp_args *a, const char *v)
{
  a->parallel = true;
  return v ? set_parallel_max(a, v) : 0;
}

static bool all_digits(const char *s)
{
  if (!*s)
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

/* The optional limit of -Z/--parallel: the next word, when it is a number. */
static const char *parallel_value(int argc, char **argv, int *i)
{
  if (*i + 1 < argc && all_digits(argv[*i + 1]))
    return argv[++*i];
  return NULL;
}

static int set_head(struct whttp_args *a, const char *v)
{
  (void)v;
  a->head = true;
  a->include = true;
  return 0;
}

static int show_help(struct whttp_args *a, const char *v)
{
  (void)a;
  (void)v;
  fputs(usage_text, stdout);
  return 1;
}

static int show_version(struct whttp_args *a, const char *v)
{
  (void)a;
  (void)v;
  printf("whttp %s (OpenWinHTTP)\n", WHTTP_VERSION);
  return 1;
}

static int add_header(struct whttp_args *a, const char *v)
{
  const char **h = realloc(a->headers, (a->n_headers + 1) * sizeof(*h));
  if (!h)
    return usage_error("out of memory", NULL);
  h[a->n_headers++] = v;
  a->headers = h;
  return 0;
}

static int set_max_time(struct whttp_args *a, const char *v)
{
  char *end;
  errno = 0;
  double s = strtod(v, &end);
  if (errno || end == v || *end || !isfinite(s) || s <= 0 || s > 2147483.0)
    return usage_error("--max-time needs a positive number of seconds, not", v);
  a->max_time = s;
  return 0;
}

/* Reads a whole file into memory (NUL-terminated). */
static char *slurp(const char *path, size_t *len)
{
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (n < cap - 1)
      break;
    char *bigger = realloc(buf, cap *= 2);
    if (!bigger)
      free(buf);
    buf = bigger;
  }
  bool bad = ferror(f) != 0;
  if (f != stdin)
    fclose(f);
  if (!buf || bad) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static size_t strip_newlines(char *s, size_t n)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] != '\r' && s[i] != '\n')
      s[o++] = s[i];
  return o;
}

/* Appends one piece of body (joined by '&' as curl does for -d). */
static int append_data(struct whttp_args *a, const char *piece, size_t n)
{
  size_t sep = a->data ? 1 : 0;
  char *d = realloc(a->data, a->data_len + sep + n + 1);
  if (!d)
    return usage_error("out of memory", NULL);
  if (sep)
    d[a->data_len] = '&';
  memcpy(d + a->data_len + sep, piece, n);
  a->data_len += sep + n;
  d[a->data_len] = '\0';
  a->data = d;
  return 0;
}

static int add_data_common(struct whttp_args *a, const char *v, bool binary)
{
  if (v[0] != '@')
    return append_data(a, v, strlen(v));
  size_t n = 0;
  char *content = slurp(v + 1, &n);
  if (!content) {
    fprintf(stderr, "whttp: cannot read %s: %s\n", v + 1, strerror(errno));
    return WX_READ;
  }
  if (!binary)
    n = strip_newlines(content, n);
  int rc = append_data(a, content, n);
  free(content);
  return rc;
}

static int add_data(struct whttp_args *a, const char *v) { return add_data_common(a, v, false); }
static int add_data_binary(struct whttp_args *a, const char *v) { return add_data_common(a, v, true); }

static const struct opt options[] = {
  {'X', "request", true, set_method},
  {'H', "header", true, add_header},
  {'d', "data", true, add_data},
  {0, "data-binary", true, add_data_binary},
  {'T', "upload-file", true, set_upload},
  {'o', "output", true, set_output},
  {'O', "remote-name", false, set_remote},
  {'L', "location", false, set_follow},
  {'k', "insecure", false, set_insecure},
  {'i', "include", false, set_include},
  {'I', "head", false, set_head},
  {'v', "verbose", false, set_verbose},
  {0, "compressed", false, set_compressed},
  {'m', "max-time", true, set_max_time},
  {'f', "fail", false, set_fail},
  {'s', "silent", false, set_silent},
  {'Z', "parallel", false, set_parallel},
  {0, "parallel-max", true, set_parallel_max},
  {0, "discard", false, set_discard},
  {0, "ws", false, set_ws},
  {0, "binary", false, set_binary},
  {0, "ws-deflate", false, set_ws_deflate},
  {0, "http2", false, set_http2},
  {'x', "proxy", true, set_proxy},
  {0, "noproxy", true, set_noproxy},
  {0, "proxy-for", true, set_proxy_for},
  {'u', "user", true, set_user},
  {0, "proxy-user", true, set_proxy_user},
  {0, "password-file", true, set_password_file},
  {0, "basic", false, set_basic},
  {0, "cert", true, set_cert},
  {0, "key", true, set_key},
  {0, "cert-password", true, set_cert_password},
  {0, "cert-password-file", true, set_cert_password_file},
  {0, "digest", false, set_digest},
  {0, "ntlm", false, set_ntlm},
  {0, "negotiate", false, set_negotiate},
  {'h', "help", false, show_help},
  {'V', "version", false, show_version},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const struct opt *find_short(char c)
{
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (options[i].short_name == c)
      return &options[i];
  return NULL;
}

static const struct opt *find_long(const char *name, size_t len)
{
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (strlen(options[i].long_name) == len && strncmp(options[i].long_name, name, len) == 0)
      return &options[i];
  return NULL;
}

/* "--name[=value]" at argv[*i]; advances *i past a separate value. */
static int parse_long(int argc, char **argv, int *i, struct whttp_args *a)
{
  const char *name = argv[*i] + 2;
  const char *eq = strchr(name, '=');
  const struct opt *o = find_long(name, eq ? (size_t)(eq - name) : strlen(name));
  if (!o)
    return usage_error("unknown option", argv[*i]);
  if (o->apply == set_parallel)
    return set_parallel(a, eq ? eq + 1 : parallel_value(argc, argv, i));
  if (!o->has_value) {
    if (eq)
      return usage_error("this option takes no value:", argv[*i]);
    return o->apply(a, NULL);
  }
  if (eq)
    return o->apply(a, eq + 1);
  if (*i + 1 >= argc)
    return usage_error("this option needs a value:", argv[*i]);
  return o->apply(a, argv[++*i]);
}

/* "-abc" or "-Xvalue" at argv[*i]; advances *i past a separate value. */
static int parse_short(int argc, char **argv, int *i, struct whttp_args *a)
{
  for (const char *p = argv[*i] + 1; *p; p++) {
    const struct opt *o = find_short(*p);
    char name[3] = {'-', *p, '\0'};
    if (!o)
      return usage_error("unknown option", name);
    if (!o->has_value) {
      const char *v = o->apply == set_parallel && !p[1] ? parallel_value(argc, argv, i) : NULL;
      int rc = o->apply(a, v);
      if (rc)
        return rc;
      continue;
    }
    if (p[1])
      return o->apply(a, p + 1);
    if (*i + 1 >= argc)
      return usage_error("this option needs a value:", name);
    return o->apply(a, argv[++*i]);
  }
  return 0;
}

/* -Z: every body needs a place of its own; what cannot run in parallel. */
static int check_parallel(const struct whttp_args *a)
{
  if (!a->output && !a->remote_name && !a->discard)
    return usage_error("-Z needs -O, -o FILE or --discard (bodies cannot share stdout)", NULL);
  if ((a->output && a->discard) || (a->remote_name && a->discard))
    return usage_error("--discard cannot be combined with -o or -O", NULL);
  if (a->output && a->n_urls > 1 && !strstr(a->output, "#1"))
    return usage_error("with -Z and several URLs, -o needs \"#1\" (the URL's number) in", a->output);
  if (a->upload)
    return usage_error("-T cannot be combined with -Z", NULL);
  if (a->verbose)
    return usage_error("-v cannot be combined with -Z", NULL);
  return 0;
}

/* WebSocket mode: one GET upgraded, stdin and stdout for the messages;
 * what shapes an HTTP transfer has no meaning there. */
static int check_websocket(const struct whttp_args *a)
{
  /* -I sets -i too: named first. */
  const char *refused = a->parallel      ? "-Z"
                        : a->upload      ? "-T"
                        : a->data        ? "-d/--data-binary"
                        : a->method      ? "-X"
                        : a->output      ? "-o"
                        : a->remote_name ? "-O"
                        : a->head        ? "-I"
                        : a->include     ? "-i"
                        : a->follow      ? "-L"
                        : a->fail        ? "-f"
                        : a->compressed  ? "--compressed"
                        : a->http2       ? "--http2"
                        : a->discard     ? "--discard"
                                         : NULL;
  if (refused)
    return usage_error("this option has no use in WebSocket mode:", refused);
  if (a->n_urls > 1)
    return usage_error("more than one URL:", a->urls[1]);
  return 0;
}

static int check_cert(const struct whttp_args *a)
{
  if ((a->key_file || a->cert_password || a->cert_password_file) && !a->cert_file)
    return usage_error("--key and --cert-password(-file) need --cert", NULL);
  if (a->cert_password && a->cert_password_file)
    return usage_error("--cert-password and --cert-password-file cannot be combined", NULL);
  return 0;
}

/* --noproxy: only with -x (without it whttp uses no proxy at all, so the
 * list would be accepted and do nothing), turned into a bypass list. */
static int check_noproxy(struct whttp_args *a)
{
  if (!a->noproxy)
    return 0;
  if (!a->proxy)
    return usage_error("--noproxy needs -x (without it whttp uses no proxy)", NULL);
  char *bad = NULL;
  int rc = whttp_noproxy_bypass(a->noproxy, &a->bypass, &bad);
  if (rc == WX_USAGE)
    rc = usage_error("--noproxy: a WinHTTP bypass list cannot express", bad);
  else if (rc)
    fputs("whttp: out of memory\n", stderr);
  free(bad);
  return rc;
}

static int check_args(struct whttp_args *a)
{
  int rc = check_noproxy(a);
  if (rc)
    return rc;
  /* --proxy-for URL: a report, no transfer; its URL is its own. */
  if (a->proxy_for)
    return a->url ? usage_error("--proxy-for takes no other URL:", a->url) : 0;
  if (!a->url)
    return usage_error("no URL given", NULL);
  if (whttp_is_ws_url(a->url))
    a->websocket = true;
  if (a->binary && !a->websocket)
    return usage_error("--binary needs WebSocket mode (a ws:// or wss:// URL, or --ws)", NULL);
  if (a->ws_deflate && !a->websocket)
    return usage_error("--ws-deflate needs WebSocket mode (a ws:// or wss:// URL, or --ws)", NULL);
  if (a->websocket) {
    rc = check_websocket(a);
    if (!rc)
      rc = check_cert(a);
    return rc ? rc : whttp_client_cert_load(a);
  }
  if (a->n_urls > 1 && !a->parallel)
    return usage_error("more than one URL (see -Z):", a->urls[1]);
  if (a->discard && !a->parallel)
    return usage_error("--discard needs -Z", NULL);
  if (a->parallel_max == 0)
    a->parallel_max = WHTTP_PARALLEL_DEFAULT;
  if (a->data && a->upload)
    return usage_error("-d/--data-binary and -T cannot be combined", NULL);
  if (a->output && a->remote_name)
    return usage_error("-o and -O cannot be combined", NULL);
  if (a->head && (a->data || a->upload))
    return usage_error("-I cannot send a body", NULL);
  if (a->proxy_user_spec && !a->proxy)
    return usage_error("--proxy-user needs -x", NULL);
  if (a->auth_scheme && a->auth_scheme != WINHTTP_AUTH_SCHEME_NEGOTIATE && !a->user_spec &&
      !a->proxy_user_spec)
    return usage_error("--basic, --digest and --ntlm need -u or --proxy-user", NULL);
  rc = check_cert(a);
  if (!rc && a->parallel)
    rc = check_parallel(a);
  if (!rc)
    rc = whttp_credentials_resolve(a);
  return rc ? rc : whttp_client_cert_load(a);
}

static int parse_word(int argc, char **argv, int *i, bool *options_done, struct whttp_args *a)
{
  const char *w = argv[*i];
  if (*options_done || w[0] != '-' || w[1] == '\0') {
    const char **u = realloc(a->urls, (a->n_urls + 1) * sizeof(*u));
    if (!u)
      return usage_error("out of memory", NULL);
    u[a->n_urls++] = w;
    a->urls = u;
    a->url = u[0];
    return 0;
  }
  if (strcmp(w, "--") == 0) {
    *options_done = true;
    return 0;
  }
  return w[1] == '-' ? parse_long(argc, argv, i, a) : parse_short(argc, argv, i, a);
}

int whttp_parse_args(int argc, char **argv, struct whttp_args *a)
{
  memset(a, 0, sizeof(*a));
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    int rc = parse_word(argc, argv, &i, &options_done, a);
    if (rc)
      return rc;
  }
  return check_args(a);
}

void whttp_free_args(struct whttp_args *a)
{
  whttp_credentials_free(a);
  whttp_client_cert_free(a);
  free(a->headers);
  free(a->data);
  free(a->urls);
  free(a->bypass);
  a->bypass = NULL;
  a->urls = NULL;
  a->headers = NULL;
  a->data = NULL;
}
