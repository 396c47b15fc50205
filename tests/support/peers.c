/* see peers.h */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "peers.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef WH_PEERS_DIR
#error "WH_PEERS_DIR (the tests/peers directory) must be defined"
#endif

/* How long a peer may take to become ready: generous, because it costs
 * nothing when the peer is fast and sanitizer builds on a loaded machine are
 * slow. */
#define START_DEADLINE_MS 20000
#define STOP_DEADLINE_MS 2000
#define NGINX_ATTEMPTS 5

static const char *cert_names[WH_CERT_COUNT] = {
  "server", "expired", "wronghost", "selfsigned", "unknownca",
};

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("peers: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static const char *peers_dir(void)
{
  const char *d = getenv("WH_PEERS_DIR");
  return d && *d ? d : WH_PEERS_DIR;
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
  int64_t left = deadline - now_ms();
  if (left < 0)
    return 0;
  return left > INT32_MAX ? INT32_MAX : (int)left;
}

static int path_join(char *out, size_t cap, const char *a, const char *b)
{
  int n = snprintf(out, cap, "%s/%s", a, b);
  if (n < 0 || (size_t)n >= cap) {
    complain("path too long: %s/%s", a, b);
    return -1;
  }
  return 0;
}

/* --- files ------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void rm_tree(const char *dir)
{
  if (dir[0])
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int make_tempdir(struct wh_peer *p)
{
  const char *base = getenv("TMPDIR");
  if (!base || !*base)
    base = "/tmp";
  int n = snprintf(p->dir, sizeof(p->dir), "%s/wh-peer-XXXXXX", base);
  if (n < 0 || (size_t)n >= sizeof(p->dir)) {
    complain("TMPDIR too long");
    p->dir[0] = 0;
    return -1;
  }
  if (!mkdtemp(p->dir)) {
    complain("mkdtemp %s: %s", p->dir, strerror(errno));
    p->dir[0] = 0;
    return -1;
  }
  return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
  const char *d = data;
  while (len) {
    ssize_t w = write(fd, d, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    d += w;
    len -= (size_t)w;
  }
  return 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write_all(fd, data, len) != 0) {
    complain("write %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

/* The whole file as a NUL-terminated string (caller frees), or NULL. */
static char *read_file(const char *path)
{
  FILE *f = fopen(path, "rbe");
  if (!f)
    return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t r = fread(buf + len, 1, cap - len - 1, f);
    len += r;
    if (len + 1 < cap)
      break;
    char *nb = realloc(buf, cap * 2);
    if (!nb) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  fclose(f);
  if (buf)
    buf[len] = 0;
  return buf;
}

/* Returns |tmpl| with every "@KEY@" of |keys| replaced by the matching
 * value (caller frees), or NULL. */
static char *substitute(const char *tmpl, const char *const keys[], const char *const vals[],
                        size_t n)
{
  size_t cap = strlen(tmpl) + 1, len = 0;
  for (size_t i = 0; i < n; i++)
    cap += 8 * strlen(vals[i]); /* each key appears a few times at most */
  char *out = malloc(cap);
  if (!out)
    return NULL;
  const char *s = tmpl;
  while (*s) {
    size_t i = n;
    if (*s == '@') {
      for (i = 0; i < n; i++) {
        size_t kl = strlen(keys[i]);
        if (strncmp(s + 1, keys[i], kl) == 0 && s[1 + kl] == '@')
          break;
      }
    }
    if (i < n) {
      size_t vl = strlen(vals[i]);
      if (len + vl + 1 > cap) {
        cap = (len + vl + 1) * 2;
        char *no = realloc(out, cap);
        if (!no) {
          free(out);
          return NULL;
        }
        out = no;
      }
      memcpy(out + len, vals[i], vl);
      len += vl;
      s += strlen(keys[i]) + 2;
    } else {
      if (len + 2 > cap) {
        cap = (len + 2) * 2;
        char *no = realloc(out, cap);
        if (!no) {
          free(out);
          return NULL;
        }
        out = no;
      }
      out[len++] = *s++;
    }
  }
  out[len] = 0;
  return out;
}

/* --- processes ----------------------------------------------------------- */

/* Starts argv[0] (searched in PATH) with stdin from /dev/null. When
 * |child_fd| >= 0 it becomes descriptor |target| in the child. Every other
 * descriptor above 2 is closed in the child, so that it holds none of the
 * test's sockets. The child is killed when the calling thread exits. */
static pid_t spawn(char *const argv[], int child_fd, int target)
{
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    complain("fork: %s", strerror(errno));
    return -1;
  }
  if (pid > 0)
    return pid;

  /* The child: only async-signal-safe calls until exec. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
    _exit(126);
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0 && null_fd != 0)
    dup2(null_fd, 0);
  if (child_fd >= 0) {
    if (child_fd == target) {
      int fl = fcntl(child_fd, F_GETFD);
      fcntl(child_fd, F_SETFD, fl & ~FD_CLOEXEC);
    } else if (dup2(child_fd, target) < 0) {
      _exit(126);
    }
  }
  int keep = child_fd >= 0 && target > 2 ? target : 2;
  close_range((unsigned)keep + 1, ~0U, 0);
  execvp(argv[0], argv);
  _exit(127);
}

static void reap(pid_t pid, int *status)
{
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (status)
    *status = st;
}

/* Runs argv to completion; 0 when it exits with status 0. */
static int run(char *const argv[])
{
  pid_t pid = spawn(argv, -1, -1);
  if (pid < 0)
    return -1;
  int st;
  reap(pid, &st);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    complain("%s %s failed (status 0x%x)", argv[0], argv[1] ? argv[1] : "", (unsigned)st);
    return -1;
  }
  return 0;
}

/* Waits until |fd| reports end of file (the child closed it, normally by
 * exiting) or the deadline passes; returns 0 on end of file. */
static int wait_eof(int fd, int64_t deadline)
{
  char buf[256];
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0)
      return 0;
    if (n < 0 && errno != EINTR && errno != EAGAIN)
      return 0;
  }
}

static void kill_and_reap(pid_t pid, int fd)
{
  kill(pid, SIGTERM);
  if (fd < 0 || wait_eof(fd, now_ms() + STOP_DEADLINE_MS) != 0)
    kill(pid, SIGKILL);
  reap(pid, NULL);
}

static const char *python_path(void)
{
  const char *py = getenv("WH_PYTHON");
  if (py && *py)
    return py;
  /* Debian's interpreter (scripts/install-deps) starts faster than a shim. */
  if (access("/usr/bin/python3", X_OK) == 0)
    return "/usr/bin/python3";
  return "python3";
}

static const char *nginx_path(void)
{
  const char *ng = getenv("WH_NGINX");
  if (ng && *ng)
    return ng;
  if (access("/usr/sbin/nginx", X_OK) == 0)
    return "/usr/sbin/nginx";
  return "nginx";
}

/* --- certificates ------------------------------------------------------------ */

int wh_peer_gen_certs(const char *dir)
{
  char script[512];
  if (path_join(script, sizeof(script), peers_dir(), "gen-certs.sh") != 0)
    return -1;
  char *argv[] = {(char *)"/bin/sh", script, (char *)dir, NULL};
  return run(argv);
}

static int make_certs(struct wh_peer *p, char *certs, size_t cap)
{
  if (path_join(certs, cap, p->dir, "certs") != 0 || wh_peer_gen_certs(certs) != 0)
    return -1;
  return path_join(p->ca_file, sizeof(p->ca_file), certs, "ca.pem");
}

/* --- the Python peers: the fault server and the WebSocket servers ---------------- */

/* Reads one line from |fd| before the deadline; 0 on success. */
static int read_line(int fd, char *line, size_t cap, int64_t deadline)
{
  size_t len = 0;
  while (len + 1 < cap) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0) {
      complain("no readiness line before the deadline");
      return -1;
    }
    if (r < 0)
      return -1;
    ssize_t n = read(fd, line + len, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      complain("peer exited before it was ready");
      return -1;
    }
    if (line[len] == '\n') {
      line[len] = 0;
      return 0;
    }
    len++;
  }
  complain("readiness line too long");
  return -1;
}

/* The most arguments wh_peer_start_h2() passes on, and their total length. */
#define EXTRA_ARGS_MAX 16
#define EXTRA_ARGS_LEN 256

/* Starts tests/peers/|name|, a Python peer that takes --ipv6 and
 * --tls-cert/--tls-key and prints "READY <port>[ ipv6]" once it listens.
 * |extra| (NULL or a string of arguments separated by spaces, no quoting)
 * comes after those. */
static int start_python(struct wh_peer *p, enum wh_peer_kind kind, const char *name, int tls,
                        enum wh_peer_cert cert, const char *extra)
{
  memset(p, 0, sizeof(*p));
  p->fd = -1;
  p->pid = -1;
  if (make_tempdir(p) != 0)
    return -1;
  char script[512], certs[400], cert_file[512], key_file[512], extra_buf[EXTRA_ARGS_LEN];
  if (path_join(script, sizeof(script), peers_dir(), name) != 0)
    goto fail;
  char *argv[8 + EXTRA_ARGS_MAX] = {(char *)python_path(), script, (char *)"--ipv6", NULL};
  size_t argc = 3;
  if (tls) {
    if ((unsigned)cert >= WH_CERT_COUNT || make_certs(p, certs, sizeof(certs)) != 0)
      goto fail;
    snprintf(cert_file, sizeof(cert_file), "%s/%s.pem", certs, cert_names[cert]);
    snprintf(key_file, sizeof(key_file), "%s/%s.key", certs, cert_names[cert]);
    argv[argc++] = (char *)"--tls-cert";
    argv[argc++] = cert_file;
    argv[argc++] = (char *)"--tls-key";
    argv[argc++] = key_file;
  }
  if (extra && *extra) {
    int n = snprintf(extra_buf, sizeof(extra_buf), "%s", extra);
    if (n < 0 || (size_t)n >= sizeof(extra_buf)) {
      complain("peer arguments too long: %s", extra);
      goto fail;
    }
    char *save = NULL;
    for (char *tok = strtok_r(extra_buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
      if (argc + 1 >= sizeof(argv) / sizeof(argv[0])) {
        complain("too many peer arguments: %s", extra);
        goto fail;
      }
      argv[argc++] = tok;
    }
  }
  argv[argc] = NULL;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    complain("pipe: %s", strerror(errno));
    goto fail;
  }
  p->pid = spawn(argv, fds[1], 1);
  close(fds[1]);
  p->fd = fds[0];
  if (p->pid < 0)
    goto fail;
  p->kind = kind;

  char line[128];
  unsigned port = 0;
  if (read_line(p->fd, line, sizeof(line), now_ms() + START_DEADLINE_MS) != 0)
    goto fail;
  if (sscanf(line, "READY %u", &port) != 1 || port == 0 || port > 65535) {
    complain("unexpected readiness line: %s", line);
    goto fail;
  }
  p->port = (unsigned short)port;
  p->ipv6 = strstr(line, " ipv6") != NULL;
  p->tls = tls;
  if (tls)
    p->cert_port[cert] = p->port;
  return 0;

fail:
  wh_peer_stop(p);
  return -1;
}

int wh_peer_start_fault(struct wh_peer *p)
{
  return start_python(p, WH_PEER_FAULT, "faultserver.py", 0, WH_CERT_GOOD, NULL);
}

int wh_peer_start_fault_tls(struct wh_peer *p, enum wh_peer_cert cert)
{
  return start_python(p, WH_PEER_FAULT, "faultserver.py", 1, cert, NULL);
}

int wh_peer_start_ws(struct wh_peer *p)
{
  return start_python(p, WH_PEER_WS, "wsserver.py", 0, WH_CERT_GOOD, NULL);
}

int wh_peer_start_ws_tls(struct wh_peer *p, enum wh_peer_cert cert)
{
  return start_python(p, WH_PEER_WS, "wsserver.py", 1, cert, NULL);
}

int wh_peer_start_ws_ref(struct wh_peer *p)
{
  return start_python(p, WH_PEER_WS_REF, "ws_echo_websockets.py", 0, WH_CERT_GOOD, NULL);
}

int wh_peer_start_ws_ref_tls(struct wh_peer *p, enum wh_peer_cert cert)
{
  return start_python(p, WH_PEER_WS_REF, "ws_echo_websockets.py", 1, cert, NULL);
}

int wh_peer_start_h2(struct wh_peer *p, const char *extra_args)
{
  return start_python(p, WH_PEER_H2, "h2server.py", 1, WH_CERT_GOOD, extra_args);
}

int wh_peer_start_proxy(struct wh_peer *p, const char *extra_args)
{
  return start_python(p, WH_PEER_PROXY, "proxyserver.py", 0, WH_CERT_GOOD, extra_args);
}

/* --- nginx ------------------------------------------------------------------------ */

/* A port that was free on 127.0.0.1 a moment ago (and on ::1 too when
 * *ipv6 is set on return). nginx cannot report a port it was given as 0, so
 * the harness picks one and retries if nginx then fails to bind it. */
static int pick_port(unsigned short *port, int *ipv6)
{
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof(a);
  if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
      getsockname(s, (struct sockaddr *)&a, &alen) != 0) {
    close(s);
    return -1;
  }
  *port = ntohs(a.sin_port);
  if (ipv6) {
    *ipv6 = 0;
    int s6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s6 >= 0) {
      int one = 1;
      struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = a.sin_port};
      a6.sin6_addr = in6addr_loopback;
      setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
      *ipv6 = bind(s6, (struct sockaddr *)&a6, sizeof(a6)) == 0;
      close(s6);
    }
  }
  close(s);
  return 0;
}

/* The site's files, in dir/root. */
static int make_site(const char *dir)
{
  char root[400], path[512];
  if (path_join(root, sizeof(root), dir, "root") != 0 || mkdir(root, 0755) != 0)
    return -1;
  const char *tmp_dirs[] = {"tmp", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi",
                            "tmp/scgi"};
  for (size_t i = 0; i < sizeof(tmp_dirs) / sizeof(tmp_dirs[0]); i++)
    if (path_join(path, sizeof(path), dir, tmp_dirs[i]) != 0 || mkdir(path, 0755) != 0)
      return -1;

  size_t big = 1024 * 1024;
  char *buf = malloc(big);
  if (!buf)
    return -1;
  for (size_t i = 0; i < big; i++)
    buf[i] = (char)('a' + i % 26);
  int rc = 0;
  rc |= path_join(path, sizeof(path), root, "100.bin") || write_file(path, buf, 100);
  rc |= path_join(path, sizeof(path), root, "1m.bin") || write_file(path, buf, big);

  /* 16 KiB of compressible text, lines "line N: the quick brown fox..." */
  size_t len = 0;
  for (int i = 0; len < 16384 - 64; i++)
    len += (size_t)snprintf(buf + len, big - len,
                            "line %04d: the quick brown fox jumps over the lazy dog\n", i);
  rc |= path_join(path, sizeof(path), root, "text.txt") || write_file(path, buf, len);
  free(buf);

  static const char index_html[] =
      "<!DOCTYPE html>\n<html><head><title>OpenWinHTTP test</title></head>\n"
      "<body><p>OpenWinHTTP test site</p></body></html>\n";
  rc |= path_join(path, sizeof(path), root, "index.html") ||
        write_file(path, index_html, sizeof(index_html) - 1);

  /* 100 MiB of zeros without writing them: a sparse file. */
  if (!rc && path_join(path, sizeof(path), root, "100m.bin") == 0) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, 100 * 1024 * 1024) != 0)
      rc = -1;
    if (fd >= 0)
      close(fd);
  }
  if (rc)
    complain("cannot create the nginx site in %s", root);
  return rc ? -1 : 0;
}

struct buf {
  char *s;
  size_t len, cap;
};

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = b->s ? vsnprintf(b->s + b->len, room, fmt, ap) : -1;
    va_end(ap);
    if (n >= 0 && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    size_t ncap = b->cap ? b->cap * 2 : 4096;
    char *ns = realloc(b->s, ncap);
    if (!ns)
      abort();
    b->s = ns;
    b->cap = ncap;
  }
}

/* Picks the ports and writes dir/nginx.conf. */
static int write_nginx_conf(struct wh_peer *p, int tls)
{
  char tmpl_path[512], conf_path[512], certs[400];
  if (path_join(tmpl_path, sizeof(tmpl_path), peers_dir(), "nginx.conf.in") != 0 ||
      path_join(conf_path, sizeof(conf_path), p->dir, "nginx.conf") != 0 ||
      path_join(certs, sizeof(certs), p->dir, "certs") != 0)
    return -1;
  char *tmpl = read_file(tmpl_path);
  if (!tmpl) {
    complain("cannot read %s", tmpl_path);
    return -1;
  }

  struct buf servers = {0};
  if (pick_port(&p->http_port, &p->ipv6) != 0) {
    free(tmpl);
    return -1;
  }
  buf_printf(&servers, "    server {\n        listen 127.0.0.1:%u;\n", p->http_port);
  if (p->ipv6)
    buf_printf(&servers, "        listen [::1]:%u;\n", p->http_port);
  buf_printf(&servers, "        include %s/nginx-locations.conf;\n    }\n", peers_dir());
  memset(p->cert_port, 0, sizeof(p->cert_port));
  memset(p->client_auth_port, 0, sizeof(p->client_auth_port));
  p->h2_port = 0;
  if (tls) {
    for (int c = 0; c <= WH_CERT_COUNT; c++) {
      int h2 = c == WH_CERT_COUNT;
      const char *name = cert_names[h2 ? WH_CERT_GOOD : c];
      unsigned short port;
      if (pick_port(&port, NULL) != 0) {
        free(tmpl);
        free(servers.s);
        return -1;
      }
      if (h2)
        p->h2_port = port;
      else
        p->cert_port[c] = port;
      buf_printf(&servers,
                 "    server {\n        listen 127.0.0.1:%u ssl%s;\n"
                 "        ssl_certificate %s/%s.pem;\n"
                 "        ssl_certificate_key %s/%s.key;\n"
                 "        include %s/nginx-locations.conf;\n    }\n",
                 port, h2 ? " http2" : "", certs, name, certs, name, peers_dir());
    }
    static const char *const verify[WH_CLIENT_AUTH_COUNT] = {"on", "optional", "on"};
    for (int m = 0; m < WH_CLIENT_AUTH_COUNT; m++) {
      unsigned short port;
      if (pick_port(&port, NULL) != 0) {
        free(tmpl);
        free(servers.s);
        return -1;
      }
      p->client_auth_port[m] = port;
      buf_printf(&servers,
                 "    server {\n        listen 127.0.0.1:%u ssl%s;\n"
                 "        ssl_certificate %s/server.pem;\n"
                 "        ssl_certificate_key %s/server.key;\n"
                 "        ssl_client_certificate %s/client-ca.pem;\n"
                 "        ssl_verify_client %s;\n"
                 "        include %s/nginx-locations.conf;\n    }\n",
                 port, m == WH_CLIENT_AUTH_REQUIRED_H2 ? " http2" : "", certs, certs, certs,
                 verify[m], peers_dir());
    }
  }
  const char *keys[] = {"DIR", "PEERS", "SERVERS"};
  const char *vals[] = {p->dir, peers_dir(), servers.s};
  char *conf = substitute(tmpl, keys, vals, 3);
  free(tmpl);
  free(servers.s);
  if (!conf)
    return -1;
  int rc = write_file(conf_path, conf, strlen(conf));
  free(conf);
  return rc;
}

/* Waits for |p|'s pid file |name| in its directory, watched by |ino|: nginx
 * and tinyproxy write it once every listening socket is bound and
 * listening. Or for the child to exit (end of file on p->fd, the pipe whose
 * write end only the child holds). 0: ready; 1: exited; -1: timeout. */
static int wait_pid_file(struct wh_peer *p, int ino, const char *name, int64_t deadline)
{
  for (;;) {
    struct pollfd pfd[2] = {{.fd = ino, .events = POLLIN}, {.fd = p->fd, .events = POLLIN}};
    int r = poll(pfd, 2, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      complain("%s not written before the deadline", name);
      return -1;
    }
    if (pfd[0].revents & POLLIN) {
      char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
      ssize_t n = read(ino, ev, sizeof(ev));
      for (ssize_t off = 0; n > 0 && off < n;) {
        const struct inotify_event *e = (const struct inotify_event *)(void *)(ev + off);
        if (e->len && strcmp(e->name, name) == 0)
          return 0;
        off += (ssize_t)(sizeof(*e) + e->len);
      }
    }
    if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
      return 1;
  }
}

int wh_peer_start_nginx(struct wh_peer *p, int tls)
{
  memset(p, 0, sizeof(*p));
  p->fd = -1;
  p->pid = -1;
  int ino = -1;
  if (make_tempdir(p) != 0)
    return -1;
  char certs[400], conf_path[512], log_path[512], prefix[300];
  if (tls && make_certs(p, certs, sizeof(certs)) != 0)
    goto fail;
  if (make_site(p->dir) != 0)
    goto fail;
  if (path_join(conf_path, sizeof(conf_path), p->dir, "nginx.conf") != 0 ||
      path_join(log_path, sizeof(log_path), p->dir, "error.log") != 0)
    goto fail;
  snprintf(prefix, sizeof(prefix), "%s/", p->dir);

  ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ino < 0 || inotify_add_watch(ino, p->dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    complain("inotify: %s", strerror(errno));
    goto fail;
  }

  for (int attempt = 1;; attempt++) {
    if (write_nginx_conf(p, tls) != 0)
      goto fail;
    unlink(log_path);
    char *argv[] = {(char *)nginx_path(), (char *)"-p", prefix, (char *)"-c", conf_path,
                    (char *)"-e", log_path, NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      goto fail;
    /* The child holds the only write end of this pipe as its descriptor 3,
     * so end of file on the read end means nginx has exited. */
    p->pid = spawn(argv, fds[1], 3);
    close(fds[1]);
    p->fd = fds[0];
    if (p->pid < 0)
      goto fail;
    p->kind = WH_PEER_NGINX;
    int r = wait_pid_file(p, ino, "nginx.pid", now_ms() + START_DEADLINE_MS);
    if (r == 0)
      break;
    /* Exited (or hung): a port picked may have been taken meanwhile. */
    kill_and_reap(p->pid, p->fd);
    close(p->fd);
    p->fd = -1;
    p->pid = -1;
    p->kind = WH_PEER_NONE;
    char *log = read_file(log_path);
    int in_use = log && strstr(log, "in use");
    if (r < 0 || !in_use || attempt == NGINX_ATTEMPTS) {
      complain("nginx failed to start; its log:\n%s", log ? log : "(none)");
      free(log);
      goto fail;
    }
    free(log);
  }
  close(ino);
  p->tls = tls;
  p->port = tls ? p->cert_port[WH_CERT_GOOD] : p->http_port;
  return 0;

fail:
  if (ino >= 0)
    close(ino);
  wh_peer_stop(p);
  return -1;
}

/* --- tinyproxy ---------------------------------------------------------------------- */

static const char *tinyproxy_path(void)
{
  const char *tp = getenv("WH_TINYPROXY");
  if (tp && *tp)
    return tp;
  if (access("/usr/sbin/tinyproxy", X_OK) == 0)
    return "/usr/sbin/tinyproxy";
  if (access("/usr/bin/tinyproxy", X_OK) == 0)
    return "/usr/bin/tinyproxy";
  return "tinyproxy";
}

/* tinyproxy cannot listen on a port the kernel picks and report it, so the
 * harness picks a free one (pick_port: bound, then released; another
 * process may take it in between) and starts again with another port when
 * tinyproxy exits before it is ready. Readiness: tinyproxy 1.11 binds and
 * listens, then creates its PidFile (O_EXCL), writes the pid and closes it,
 * all before it accepts; IN_CLOSE_WRITE on that file is the event, as for
 * nginx. No ConnectPort line: tinyproxy.conf(5) says that then CONNECT is
 * allowed to every port (the sample configuration would restrict it to 443
 * and 563). */
int wh_peer_start_tinyproxy(struct wh_peer *p)
{
  memset(p, 0, sizeof(*p));
  p->fd = -1;
  p->pid = -1;
  int ino = -1;
  if (make_tempdir(p) != 0)
    return -1;
  char conf_path[512], log_path[512], pid_path[512];
  if (path_join(conf_path, sizeof(conf_path), p->dir, "tinyproxy.conf") != 0 ||
      path_join(log_path, sizeof(log_path), p->dir, "tinyproxy.log") != 0 ||
      path_join(pid_path, sizeof(pid_path), p->dir, "tinyproxy.pid") != 0)
    goto fail;
  ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ino < 0 || inotify_add_watch(ino, p->dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    complain("inotify: %s", strerror(errno));
    goto fail;
  }
  for (int attempt = 1;; attempt++) {
    unsigned short port;
    if (pick_port(&port, NULL) != 0) {
      complain("no free port for tinyproxy");
      goto fail;
    }
    struct buf conf = {0};
    buf_printf(&conf,
               "# written by tests/support/peers.c\n"
               "Port %u\n"
               "Listen 127.0.0.1\n"
               "Timeout 60\n"
               "MaxClients 64\n"
               "Allow 127.0.0.1\n"
               "DisableViaHeader Yes\n"
               "LogLevel Info\n"
               "LogFile \"%s\"\n"
               "PidFile \"%s\"\n",
               port, log_path, pid_path);
    int wrc = write_file(conf_path, conf.s, conf.len);
    free(conf.s);
    if (wrc != 0)
      goto fail;
    unlink(log_path);
    unlink(pid_path);
    char *argv[] = {(char *)tinyproxy_path(), (char *)"-d", (char *)"-c", conf_path, NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      goto fail;
    /* As for nginx: the child holds the only write end, as descriptor 3. */
    p->pid = spawn(argv, fds[1], 3);
    close(fds[1]);
    p->fd = fds[0];
    if (p->pid < 0)
      goto fail;
    p->kind = WH_PEER_TINYPROXY;
    int r = wait_pid_file(p, ino, "tinyproxy.pid", now_ms() + START_DEADLINE_MS);
    if (r == 0) {
      p->port = port;
      break;
    }
    kill_and_reap(p->pid, p->fd);
    close(p->fd);
    p->fd = -1;
    p->pid = -1;
    p->kind = WH_PEER_NONE;
    if (r < 0 || attempt == NGINX_ATTEMPTS) {
      char *log = read_file(log_path);
      complain("tinyproxy (%s) failed to start; its log:\n%s", tinyproxy_path(),
               log ? log : "(none)");
      free(log);
      goto fail;
    }
  }
  close(ino);
  return 0;

fail:
  if (ino >= 0)
    close(ino);
  wh_peer_stop(p);
  return -1;
}

/* --- common ------------------------------------------------------------------------ */

unsigned short wh_peer_port(const struct wh_peer *p)
{
  return p->port;
}

unsigned short wh_peer_cert_port(const struct wh_peer *p, enum wh_peer_cert cert)
{
  return (unsigned)cert < WH_CERT_COUNT ? p->cert_port[cert] : 0;
}

unsigned short wh_peer_client_auth_port(const struct wh_peer *p, enum wh_peer_client_auth mode)
{
  return (unsigned)mode < WH_CLIENT_AUTH_COUNT ? p->client_auth_port[mode] : 0;
}

const char *wh_peer_ca_file(const struct wh_peer *p)
{
  return p->ca_file[0] ? p->ca_file : NULL;
}

const char *wh_peer_dir(const struct wh_peer *p)
{
  return p->dir;
}

int wh_peer_connect_port(unsigned short port, int ipv6)
{
  int s = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  int rc;
  if (ipv6) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    a.sin6_addr = in6addr_loopback;
    rc = connect(s, (struct sockaddr *)&a, sizeof(a));
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(s, (struct sockaddr *)&a, sizeof(a));
  }
  if (rc != 0) {
    close(s);
    return -1;
  }
  struct timeval tv = {.tv_sec = 10};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return s;
}

int wh_peer_connect(const struct wh_peer *p)
{
  return wh_peer_connect_port(p->port, 0);
}

static int proxy_report(const struct wh_peer *p, const char *text, char *buf, size_t cap)
{
  if (cap == 0)
    return -1;
  char req[512];
  size_t rl = (size_t)snprintf(req, sizeof(req), "GET http://proxy.report/%s", text ? "?wait=" : "");
  for (const char *t = text; t && *t; t++) {
    if (rl + 80 >= sizeof(req)) {
      complain("proxy report: cannot wait for \"%s\"", text);
      return -1;
    }
    if (isalnum((unsigned char)*t))
      req[rl++] = *t;
    else
      rl += (size_t)snprintf(req + rl, sizeof(req) - rl, "%%%02X", (unsigned char)*t);
  }
  /* Less than the socket's 10 s receive timeout. */
  rl += (size_t)snprintf(req + rl, sizeof(req) - rl,
                         "%s HTTP/1.1\r\nHost: proxy.report\r\nConnection: close\r\n\r\n",
                         text ? "&ms=8000" : "");
  buf[0] = 0;
  int s = wh_peer_connect(p);
  if (s < 0) {
    complain("proxy report: cannot connect to port %u", (unsigned)p->port);
    return -1;
  }
  size_t len = 0, rcap = 65536;
  char *r = malloc(rcap + 1);
  if (!r || send(s, req, rl, MSG_NOSIGNAL) != (ssize_t)rl) {
    complain("proxy report: send failed");
    free(r);
    close(s);
    return -1;
  }
  /* Until end of file (the request asked for close; receives time out
   * after 10 s, see wh_peer_connect_port). */
  for (;;) {
    if (len == rcap) {
      char *nr = realloc(r, rcap * 2 + 1);
      if (!nr)
        break;
      r = nr;
      rcap *= 2;
    }
    ssize_t n = recv(s, r + len, rcap - len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  close(s);
  r[len] = 0;
  const char *end = strstr(r, "\r\n\r\n");
  long cl = -1;
  const char *h = end ? strcasestr(r, "\r\nContent-Length:") : NULL;
  if (h && h < end)
    cl = strtol(h + 17, NULL, 10);
  if (strncmp(r, "HTTP/1.1 200 ", 13) != 0 || !end || cl < 0 ||
      len - (size_t)(end + 4 - r) != (size_t)cl) {
    complain("proxy report: unexpected answer (%zu bytes): %.200s", len, r);
    free(r);
    return -1;
  }
  if ((size_t)cl >= cap) {
    complain("proxy report: %ld bytes do not fit in %zu", cl, cap);
    free(r);
    return -1;
  }
  memcpy(buf, end + 4, (size_t)cl);
  buf[cl] = 0;
  free(r);
  return (int)cl;
}

int wh_peer_proxy_report(const struct wh_peer *p, char *buf, size_t cap)
{
  return proxy_report(p, NULL, buf, cap);
}

int wh_peer_proxy_report_wait(const struct wh_peer *p, const char *text, char *buf, size_t cap)
{
  return proxy_report(p, text, buf, cap);
}

void wh_peer_stop(struct wh_peer *p)
{
  if (p->pid > 0)
    kill_and_reap(p->pid, p->fd);
  if (p->fd > 0)
    close(p->fd);
  rm_tree(p->dir);
  memset(p, 0, sizeof(*p));
  p->fd = -1;
  p->pid = -1;
}
