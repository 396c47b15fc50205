/* see peers.h */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "peers.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
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

/* How spawn_io sets up a child. */
struct child_io {
  char *const *envp; /* its environment; NULL: the test's */
  int in_fd;         /* its stdin; -1: /dev/null */
  int out_fd;        /* its stdout and stderr; -1: the test's */
  int keep_fd;       /* becomes descriptor |keep_target| in it; -1: none */
  int keep_target;
  int switch_user;   /* run as uid/gid (the test runs as root) */
  uid_t uid;
  gid_t gid;
};

/* Starts argv[0] (searched in PATH) as |io| says. Every other descriptor
 * above 2 is closed in the child, so that it holds none of the test's
 * sockets. The child is killed when the calling thread exits. */
static pid_t spawn_io(char *const argv[], const struct child_io *io)
{
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    complain("fork: %s", strerror(errno));
    return -1;
  }
  if (pid > 0)
    return pid;

  /* The child: only async-signal-safe calls until exec. The user switch
   * comes first because a change of credentials clears the parent-death
   * signal; for the same reason the harness switches users itself rather
   * than letting a daemon do it (apache2's User, squid's
   * cache_effective_user): a daemon that did would outlive a killed test. */
  if (io->switch_user &&
      (setgroups(0, NULL) != 0 || setgid(io->gid) != 0 || setuid(io->uid) != 0))
    _exit(126);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
    _exit(126);
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  int in_fd = io->in_fd >= 0 ? io->in_fd : open("/dev/null", O_RDWR | O_CLOEXEC);
  if (in_fd >= 0 && in_fd != 0)
    dup2(in_fd, 0);
  if (io->out_fd >= 0) {
    dup2(io->out_fd, 1);
    dup2(io->out_fd, 2);
  }
  if (io->keep_fd >= 0) {
    if (io->keep_fd == io->keep_target) {
      int fl = fcntl(io->keep_fd, F_GETFD);
      fcntl(io->keep_fd, F_SETFD, fl & ~FD_CLOEXEC);
    } else if (dup2(io->keep_fd, io->keep_target) < 0) {
      _exit(126);
    }
  }
  int keep = io->keep_fd >= 0 && io->keep_target > 2 ? io->keep_target : 2;
  close_range((unsigned)keep + 1, ~0U, 0);
  if (io->envp)
    execvpe(argv[0], argv, io->envp);
  else
    execvp(argv[0], argv);
  _exit(127);
}

/* Starts argv[0] with stdin from /dev/null; when |child_fd| >= 0 it becomes
 * descriptor |target| in the child. */
static pid_t spawn(char *const argv[], int child_fd, int target)
{
  struct child_io io = {.in_fd = -1, .out_fd = -1, .keep_fd = child_fd, .keep_target = target};
  return spawn_io(argv, &io);
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

static void kill_and_reap_within(pid_t pid, int fd, int deadline_ms)
{
  kill(pid, SIGTERM);
  if (fd < 0 || wait_eof(fd, now_ms() + deadline_ms) != 0)
    kill(pid, SIGKILL);
  reap(pid, NULL);
}

static void kill_and_reap(pid_t pid, int fd)
{
  kill_and_reap_within(pid, fd, STOP_DEADLINE_MS);
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

/* Starts |argv| as |p|'s process (of |kind|) and waits for its pid file
 * |pidname| in p->dir, watched by |ino|. The child holds the only write
 * end of a pipe as its descriptor 3, so end of file on p->fd means it has
 * exited. |io| (NULL: the test's environment and output) gets that
 * descriptor set. 0: running; 1: it exited (a port picked may have been
 * taken meanwhile); -1: it did not write the file in time, or could not be
 * started. On anything but 0, |p| holds no process. */
static int launch(struct wh_peer *p, char *const argv[], struct child_io *io,
                  enum wh_peer_kind kind, int ino, const char *pidname)
{
  struct child_io plain = {.in_fd = -1, .out_fd = -1};
  if (!io)
    io = &plain;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return -1;
  io->keep_fd = fds[1];
  io->keep_target = 3;
  p->pid = spawn_io(argv, io);
  close(fds[1]);
  p->fd = fds[0];
  int r = -1;
  if (p->pid >= 0) {
    p->kind = kind;
    r = wait_pid_file(p, ino, pidname, now_ms() + START_DEADLINE_MS);
    if (r == 0)
      return 0;
    kill_and_reap(p->pid, p->fd);
  }
  close(p->fd);
  p->fd = -1;
  p->pid = -1;
  p->kind = WH_PEER_NONE;
  return r;
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
    int r = launch(p, argv, NULL, WH_PEER_NGINX, ino, "nginx.pid");
    if (r == 0)
      break;
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
    int r = launch(p, argv, NULL, WH_PEER_TINYPROXY, ino, "tinyproxy.pid");
    if (r == 0) {
      p->port = port;
      break;
    }
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

/* --- authentication peers: common helpers ---------------------------------------- */

#define KDC_REALM "WINHTTP.TEST"
#define NTLM_DOMAIN "WINHTTP"
#define BASIC_REALM "winhttp-basic"
#define DIGEST_REALM "winhttp-digest"
#define PROXY_REALM "winhttp-proxy"
/* squid takes a second or two to exit after SIGTERM even with
 * shutdown_lifetime 0. */
#define SQUID_STOP_DEADLINE_MS 10000

static void peer_init(struct wh_peer *p)
{
  memset(p, 0, sizeof(*p));
  p->fd = -1;
  p->pid = -1;
}

/* |len| random letters and digits, NUL-terminated (|out| holds len + 1):
 * passwords that survive every file format and command line they go
 * through unquoted. */
static int random_alnum(char *out, size_t len)
{
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char raw[64];
  if (len > sizeof(raw) || getrandom(raw, len, 0) != (ssize_t)len) {
    complain("getrandom: %s", strerror(errno));
    return -1;
  }
  for (size_t i = 0; i < len; i++)
    out[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
  out[len] = 0;
  return 0;
}

static int set_cred(struct wh_peer_cred *c, const char *domain, const char *user)
{
  snprintf(c->domain, sizeof(c->domain), "%s", domain);
  snprintf(c->user, sizeof(c->user), "%s", user);
  return random_alnum(c->password, 24);
}

/* A child's environment: the test's, with some variables replaced. */
struct env {
  char **v; /* NULL-terminated; every string owned */
  size_t n;
};

static void env_free(struct env *e)
{
  for (size_t i = 0; i < e->n; i++)
    free(e->v[i]);
  free(e->v);
  e->v = NULL;
  e->n = 0;
}

static int env_init(struct env *e)
{
  size_t n = 0;
  while (environ[n])
    n++;
  e->n = 0;
  e->v = calloc(n + 1, sizeof(char *));
  if (!e->v)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (!(e->v[i] = strdup(environ[i]))) {
      env_free(e);
      return -1;
    }
    e->n++;
  }
  return 0;
}

static int env_set(struct env *e, const char *key, const char *value)
{
  char *kv;
  if (asprintf(&kv, "%s=%s", key, value) < 0)
    return -1;
  size_t kl = strlen(key);
  for (size_t i = 0; i < e->n; i++) {
    if (strncmp(e->v[i], key, kl) == 0 && e->v[i][kl] == '=') {
      free(e->v[i]);
      e->v[i] = kv;
      return 0;
    }
  }
  char **nv = realloc(e->v, (e->n + 2) * sizeof(char *));
  if (!nv) {
    free(kv);
    return -1;
  }
  e->v = nv;
  e->v[e->n++] = kv;
  e->v[e->n] = NULL;
  return 0;
}

/* Runs argv to completion with |env|, |input| (NULL: nothing) on its stdin
 * and its output appended to dir/setup.log. 0 when it exits with status 0;
 * else -1, after complaining with that log. The input goes through a memfd,
 * neither the command line (other users see it) nor a file. */
static int run_logged(const char *dir, char *const argv[], const struct env *env, const char *input)
{
  char log_path[512];
  if (path_join(log_path, sizeof(log_path), dir, "setup.log") != 0)
    return -1;
  int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out < 0) {
    complain("open %s: %s", log_path, strerror(errno));
    return -1;
  }
  int in = -1;
  if (input) {
    in = memfd_create("wh-peer-stdin", MFD_CLOEXEC);
    if (in < 0 || write_all(in, input, strlen(input)) != 0 || lseek(in, 0, SEEK_SET) != 0) {
      complain("memfd: %s", strerror(errno));
      if (in >= 0)
        close(in);
      close(out);
      return -1;
    }
  }
  struct child_io io = {.envp = env->v, .in_fd = in, .out_fd = out, .keep_fd = -1};
  pid_t pid = spawn_io(argv, &io);
  close(out);
  if (in >= 0)
    close(in);
  if (pid < 0)
    return -1;
  int st;
  reap(pid, &st);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    char *log = read_file(log_path);
    complain("%s failed (status 0x%x); %s:\n%s", argv[0], (unsigned)st, log_path,
             log ? log : "(none)");
    free(log);
    return -1;
  }
  return 0;
}

/* The first of |paths| that is executable, else the environment variable
 * |var| when set, else the bare name (searched in PATH by exec). */
static const char *tool_path(const char *var, const char *const paths[], const char *name)
{
  const char *v = getenv(var);
  if (v && *v)
    return v;
  for (size_t i = 0; paths[i]; i++)
    if (access(paths[i], X_OK) == 0)
      return paths[i];
  return name;
}

/* When the tests run as root, apache2 and squid must run as an
 * unprivileged user (apache2 refuses to serve as root, squid too; the
 * harness switches, see spawn_io), who must then read and write the peer's
 * directory: chown_tree hands it over. nftw has no user pointer, hence the
 * file-scope owner; peers start from one thread. */
static uid_t chown_uid;
static gid_t chown_gid;

static int chown_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return lchown(path, chown_uid, chown_gid) == 0 ? 0 : -1;
}

static int chown_tree(const char *dir, uid_t uid, gid_t gid)
{
  chown_uid = uid;
  chown_gid = gid;
  if (nftw(dir, chown_entry, 16, FTW_PHYS) != 0) {
    complain("chown %s: %s", dir, strerror(errno));
    return -1;
  }
  return 0;
}

/* Under root: sets io to run the daemon as the first of |names| that
 * exists and hands it the peer's directory. Not under root: nothing to
 * do. */
static int prepare_owner(struct wh_peer *p, const char *const names[], struct child_io *io)
{
  io->switch_user = 0;
  if (geteuid() != 0)
    return 0;
  for (size_t i = 0; names[i]; i++) {
    struct passwd *pw = getpwnam(names[i]);
    if (pw) {
      io->switch_user = 1;
      io->uid = pw->pw_uid;
      io->gid = pw->pw_gid;
      return chown_tree(p->dir, io->uid, io->gid);
    }
  }
  complain("running as root and none of the users %s... exists", names[0]);
  return -1;
}

/* Waits until |file| in p->dir contains |text|, reading it again whenever
 * inotify (|ino|, watching the directory) reports that it was written, or
 * until the child exits (end of file on p->fd, the pipe whose write end
 * only the child holds). 0: found; 1: exited; -1: timeout. */
static int wait_log_text(struct wh_peer *p, int ino, const char *file, const char *text,
                         int64_t deadline)
{
  char path[512];
  if (path_join(path, sizeof(path), p->dir, file) != 0)
    return -1;
  for (;;) {
    struct pollfd pfd[2] = {{.fd = ino, .events = POLLIN}, {.fd = p->fd, .events = POLLIN}};
    int r = poll(pfd, 2, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      complain("\"%s\" not in %s before the deadline", text, file);
      return -1;
    }
    int touched = 0;
    if (pfd[0].revents & POLLIN) {
      char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
      ssize_t n = read(ino, ev, sizeof(ev));
      for (ssize_t off = 0; n > 0 && off < n;) {
        const struct inotify_event *e = (const struct inotify_event *)(void *)(ev + off);
        if (e->len && strcmp(e->name, file) == 0)
          touched = 1;
        off += (ssize_t)(sizeof(*e) + e->len);
      }
    }
    int exited = (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    if (touched || exited) {
      char *log = read_file(path);
      int found = log && strstr(log, text);
      free(log);
      if (found)
        return 0;
    }
    if (exited)
      return 1;
  }
}

/* A client krb5.conf for the test realm, its KDC at 127.0.0.1:|kdc_port|:
 * no DNS at all, TCP (the KDC listens on TCP only), localhost in the realm,
 * and the default credential cache and keytab in |dir| so that nothing
 * falls back to /tmp/krb5cc_<uid> or /etc/krb5.keytab. */
static int write_krb5_conf(const char *path, const char *dir, unsigned short kdc_port)
{
  struct buf b = {0};
  buf_printf(&b,
             "# written by tests/support/peers.c\n"
             "[libdefaults]\n"
             "  default_realm = %s\n"
             "  dns_lookup_kdc = false\n"
             "  dns_lookup_realm = false\n"
             "  dns_canonicalize_hostname = false\n"
             "  rdns = false\n"
             "  udp_preference_limit = 1\n"
             "  default_ccache_name = FILE:%s/ccache\n"
             "  default_keytab_name = FILE:%s/http.keytab\n"
             "  default_client_keytab_name = FILE:%s/client.keytab\n",
             KDC_REALM, dir, dir, dir);
  if (kdc_port)
    buf_printf(&b,
               "[realms]\n"
               "  %s = {\n"
               "    kdc = 127.0.0.1:%u\n"
               "  }\n"
               "[domain_realm]\n"
               "  localhost = %s\n",
               KDC_REALM, kdc_port, KDC_REALM);
  int rc = write_file(path, b.s, b.len);
  free(b.s);
  return rc;
}

/* --- the KDC ---------------------------------------------------------------------- */

static int write_kdc_conf(const char *path, const char *dir, unsigned short port)
{
  struct buf b = {0};
  /* kdc_listen empty: no UDP socket, one port fewer that may be taken. */
  buf_printf(&b,
             "# written by tests/support/peers.c\n"
             "[realms]\n"
             "  %s = {\n"
             "    database_name = %s/principal\n"
             "    key_stash_file = %s/stash\n"
             "    acl_file = %s/kadm5.acl\n"
             "    kdc_listen = \"\"\n"
             "    kdc_tcp_listen = 127.0.0.1:%u\n"
             "  }\n"
             "[logging]\n"
             "  kdc = FILE:%s/kdc.log\n"
             "  admin_server = FILE:%s/kadmin.log\n"
             "  default = FILE:%s/krb5.log\n",
             KDC_REALM, dir, dir, dir, port, dir, dir, dir);
  int rc = write_file(path, b.s, b.len);
  free(b.s);
  return rc;
}

/* The environment of every Kerberos tool the KDC peer runs. LC_ALL=C: the
 * harness reads krb5kdc's readiness line, which is translated. */
static int kdc_env(const struct wh_peer *p, struct env *env)
{
  char profile[512];
  if (path_join(profile, sizeof(profile), p->dir, "kdc.conf") != 0 || env_init(env) != 0)
    return -1;
  if (env_set(env, "KRB5_CONFIG", p->krb5_conf) != 0 ||
      env_set(env, "KRB5_KDC_PROFILE", profile) != 0 ||
      env_set(env, "KRB5CCNAME", p->ccache) != 0 || env_set(env, "LC_ALL", "C") != 0) {
    env_free(env);
    return -1;
  }
  return 0;
}

/* The database (master key from random bytes, given on stdin and kept only
 * in the stash), the user principal with its password, and the service
 * principal with random keys exported to the keytab. kadmin.local reads its
 * requests from stdin, so passwords stay off command lines. */
static int make_realm(struct wh_peer *p, const struct env *env)
{
  char master[33], acl[512], input[512];
  if (random_alnum(master, 32) != 0 || path_join(acl, sizeof(acl), p->dir, "kadm5.acl") != 0 ||
      write_file(acl, "", 0) != 0)
    return -1;
  snprintf(input, sizeof(input), "%s\n%s\n", master, master);
  char *create[] = {(char *)"kdb5_util", (char *)"-r", (char *)KDC_REALM, (char *)"create",
                    (char *)"-s", NULL};
  int rc = run_logged(p->dir, create, env, input);
  explicit_bzero(master, sizeof(master));
  explicit_bzero(input, sizeof(input));
  if (rc != 0)
    return -1;
  const struct wh_peer_cred *c = &p->cred[WH_AUTH_KERBEROS];
  int n = snprintf(input, sizeof(input),
                   "addprinc -pw %s %s\n"
                   "addprinc -randkey HTTP/localhost\n"
                   "ktadd -k %s HTTP/localhost\n",
                   c->password, c->user, p->keytab);
  if (n < 0 || (size_t)n >= sizeof(input))
    return -1;
  char *kadmin[] = {(char *)"kadmin.local", (char *)"-r", (char *)KDC_REALM, NULL};
  rc = run_logged(p->dir, kadmin, env, input);
  explicit_bzero(input, sizeof(input));
  /* kadmin.local exits 0 even when a request read from stdin fails: the
   * keytab is the proof that all three were done. */
  struct stat st;
  if (rc == 0 && (stat(p->keytab, &st) != 0 || st.st_size == 0)) {
    char log_path[512];
    char *log = path_join(log_path, sizeof(log_path), p->dir, "setup.log") == 0
                    ? read_file(log_path)
                    : NULL;
    complain("kadmin.local made no keytab; %s:\n%s", log_path, log ? log : "(none)");
    free(log);
    rc = -1;
  }
  return rc;
}

/* Reads krb5kdc's stderr until "krb5kdc: starting...". With -n, krb5kdc
 * binds and listens, then (after a -P pid file, if asked) opens its
 * database again and prints that line last before it enters its loop
 * (kdc/main.c): the line proves more than the pid file would. Nothing else
 * goes to stderr once the log file is open, so the pipe never fills.
 * 0: ready; 1: exited; -1: timeout. */
static int wait_kdc_ready(struct wh_peer *p, int64_t deadline)
{
  char line[256];
  size_t len = 0;
  for (;;) {
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    int r = poll(&pfd, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0) {
      complain("krb5kdc not ready before the deadline");
      return -1;
    }
    char ch;
    ssize_t n = r < 0 ? -1 : read(p->fd, &ch, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return 1;
    if (ch != '\n' && len + 1 < sizeof(line)) {
      line[len++] = ch;
      continue;
    }
    line[len] = 0;
    len = 0;
    if (strstr(line, "starting..."))
      return 0;
  }
}

static const char *krb5kdc_path(void)
{
  static const char *const paths[] = {"/usr/sbin/krb5kdc", NULL};
  return tool_path("WH_KRB5KDC", paths, "krb5kdc");
}

/* krb5kdc cannot report a port it was given as 0: the harness picks one and
 * starts again with another if krb5kdc exits before it is ready. */
static int start_krb5kdc(struct wh_peer *p, const struct env *env)
{
  char kdc_conf[512], log_path[512];
  if (path_join(kdc_conf, sizeof(kdc_conf), p->dir, "kdc.conf") != 0 ||
      path_join(log_path, sizeof(log_path), p->dir, "kdc.log") != 0)
    return -1;
  for (int attempt = 1;; attempt++) {
    unsigned short port;
    if (pick_port(&port, NULL) != 0 || write_kdc_conf(kdc_conf, p->dir, port) != 0 ||
        write_krb5_conf(p->krb5_conf, p->dir, port) != 0)
      return -1;
    char *argv[] = {(char *)krb5kdc_path(), (char *)"-n", (char *)"-r", (char *)KDC_REALM, NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      return -1;
    /* Its stderr is the pipe: the readiness line, and end of file when it
     * exits. */
    struct child_io io = {.envp = env->v, .in_fd = -1, .out_fd = -1, .keep_fd = fds[1],
                          .keep_target = 2};
    p->pid = spawn_io(argv, &io);
    close(fds[1]);
    p->fd = fds[0];
    if (p->pid < 0)
      return -1;
    p->kind = WH_PEER_KDC;
    int r = wait_kdc_ready(p, now_ms() + START_DEADLINE_MS);
    if (r == 0) {
      p->port = port;
      return 0;
    }
    kill_and_reap(p->pid, p->fd);
    close(p->fd);
    p->fd = -1;
    p->pid = -1;
    p->kind = WH_PEER_NONE;
    char *log = read_file(log_path);
    int in_use = log && strstr(log, "in use");
    if (r < 0 || !in_use || attempt == NGINX_ATTEMPTS) {
      complain("krb5kdc (%s) failed to start; %s:\n%s", krb5kdc_path(), log_path,
               log ? log : "(none)");
      free(log);
      return -1;
    }
    free(log);
  }
}

int wh_peer_start_kdc(struct wh_peer *p)
{
  peer_init(p);
  if (make_tempdir(p) != 0)
    return -1;
  struct env env = {0};
  if (set_cred(&p->cred[WH_AUTH_KERBEROS], KDC_REALM, "alice") != 0 ||
      path_join(p->krb5_conf, sizeof(p->krb5_conf), p->dir, "krb5.conf") != 0 ||
      path_join(p->keytab, sizeof(p->keytab), p->dir, "http.keytab") != 0)
    goto fail;
  snprintf(p->ccache, sizeof(p->ccache), "FILE:%s/ccache", p->dir);
  /* kdb5_util and kadmin.local need both files before the port is known
   * (they listen on nothing); start_krb5kdc writes the final ones. */
  if (write_krb5_conf(p->krb5_conf, p->dir, 0) != 0 || kdc_env(p, &env) != 0)
    goto fail;
  char kdc_conf[512];
  if (path_join(kdc_conf, sizeof(kdc_conf), p->dir, "kdc.conf") != 0 ||
      write_kdc_conf(kdc_conf, p->dir, 88) != 0 || make_realm(p, &env) != 0 ||
      start_krb5kdc(p, &env) != 0)
    goto fail;
  env_free(&env);
  return 0;

fail:
  env_free(&env);
  wh_peer_stop(p);
  return -1;
}

int wh_peer_kdc_kinit(const struct wh_peer *kdc)
{
  if (kdc->kind != WH_PEER_KDC) {
    complain("kinit: not a KDC peer");
    return -1;
  }
  struct env env = {0};
  if (kdc_env(kdc, &env) != 0)
    return -1;
  const struct wh_peer_cred *c = &kdc->cred[WH_AUTH_KERBEROS];
  char principal[80], input[64];
  snprintf(principal, sizeof(principal), "%s@%s", c->user, c->domain);
  snprintf(input, sizeof(input), "%s\n", c->password);
  char *argv[] = {(char *)"kinit", principal, NULL};
  int rc = run_logged(kdc->dir, argv, &env, input);
  explicit_bzero(input, sizeof(input));
  env_free(&env);
  return rc;
}

/* --- apache2 ------------------------------------------------------------------------ */

static const char *apache2_path(void)
{
  static const char *const paths[] = {"/usr/sbin/apache2", NULL};
  return tool_path("WH_APACHE2", paths, "apache2");
}

/* One index.txt per location, "OpenWinHTTP <name> ok\n"; no negotiate/
 * without a KDC, so that it is a 404 rather than an open door. */
static int make_apache_site(const char *dir, int negotiate)
{
  static const char *const locations[] = {"", "ntlm", "basic", "digest", "negotiate"};
  char htdocs[400], sub[450], file[512], body[64];
  if (path_join(htdocs, sizeof(htdocs), dir, "htdocs") != 0 || mkdir(htdocs, 0755) != 0)
    return -1;
  size_t n_loc = sizeof(locations) / sizeof(locations[0]) - (negotiate ? 0 : 1);
  for (size_t i = 0; i < n_loc; i++) {
    const char *loc = locations[i];
    if (*loc) {
      if (path_join(sub, sizeof(sub), htdocs, loc) != 0 || mkdir(sub, 0755) != 0)
        return -1;
    } else {
      snprintf(sub, sizeof(sub), "%s", htdocs);
    }
    int n = snprintf(body, sizeof(body), "OpenWinHTTP %s ok\n", *loc ? loc : "public");
    if (path_join(file, sizeof(file), sub, "index.txt") != 0 ||
        write_file(file, body, (size_t)n) != 0)
      return -1;
  }
  return 0;
}

/* "user:$6$salt$hash": SHA-512 crypt, which both apache (through APR, which
 * hands unknown formats to crypt(3)) and squid's basic_ncsa_auth accept. */
static int passwd_line(const struct wh_peer_cred *c, char *out, size_t cap)
{
  char salt[3 + 16 + 2] = "$6$";
  if (random_alnum(salt + 3, 16) != 0)
    return -1;
  strcat(salt, "$");
  struct crypt_data data;
  memset(&data, 0, sizeof(data));
  const char *hash = crypt_r(c->password, salt, &data);
  if (!hash || hash[0] != '$') {
    complain("crypt_r failed");
    return -1;
  }
  int n = snprintf(out, cap, "%s:%s\n", c->user, hash);
  explicit_bzero(&data, sizeof(data));
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* htdigest's format: "user:realm:" and MD5("user:realm:password") in hex. */
static int htdigest_line(const struct wh_peer_cred *c, char *out, size_t cap)
{
  char a1[160];
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  int n = snprintf(a1, sizeof(a1), "%s:%s:%s", c->user, c->domain, c->password);
  if (n < 0 || (size_t)n >= sizeof(a1) || !EVP_Digest(a1, (size_t)n, md, &mdlen, EVP_md5(), NULL))
    return -1;
  explicit_bzero(a1, sizeof(a1));
  size_t len = (size_t)snprintf(out, cap, "%s:%s:", c->user, c->domain);
  for (unsigned int i = 0; i < mdlen && len + 3 < cap; i++)
    len += (size_t)snprintf(out + len, cap - len, "%02x", md[i]);
  if (len + 2 > cap)
    return -1;
  out[len++] = '\n';
  out[len] = 0;
  return 0;
}

/* The credential files: htpasswd (Basic), htdigest (Digest) and the NTLM
 * user file (gss-ntlmssp's format, one "DOMAIN:user:password" a line, the
 * password in clear). */
static int make_apache_users(struct wh_peer *p)
{
  char path[512], line[256];
  if (set_cred(&p->cred[WH_AUTH_NTLM], NTLM_DOMAIN, "bob") != 0 ||
      set_cred(&p->cred[WH_AUTH_BASIC], BASIC_REALM, "carol") != 0 ||
      set_cred(&p->cred[WH_AUTH_DIGEST], DIGEST_REALM, "dave") != 0)
    return -1;
  if (path_join(path, sizeof(path), p->dir, "htpasswd") != 0 ||
      passwd_line(&p->cred[WH_AUTH_BASIC], line, sizeof(line)) != 0 ||
      write_file(path, line, strlen(line)) != 0)
    return -1;
  if (path_join(path, sizeof(path), p->dir, "htdigest") != 0 ||
      htdigest_line(&p->cred[WH_AUTH_DIGEST], line, sizeof(line)) != 0 ||
      write_file(path, line, strlen(line)) != 0)
    return -1;
  const struct wh_peer_cred *n = &p->cred[WH_AUTH_NTLM];
  snprintf(line, sizeof(line), "%s:%s:%s\n", n->domain, n->user, n->password);
  return path_join(p->ntlm_users, sizeof(p->ntlm_users), p->dir, "ntlm-users") != 0 ||
                 write_file(p->ntlm_users, line, strlen(line)) != 0
             ? -1
             : 0;
}

static int write_apache_conf(const struct wh_peer *p, unsigned short port, int negotiate)
{
  static const char *const modules[][2] = {
      {"mpm_event_module", "mod_mpm_event.so"},   {"authz_core_module", "mod_authz_core.so"},
      {"authz_user_module", "mod_authz_user.so"}, {"authn_core_module", "mod_authn_core.so"},
      {"authn_file_module", "mod_authn_file.so"}, {"auth_basic_module", "mod_auth_basic.so"},
      {"auth_digest_module", "mod_auth_digest.so"}, {"auth_gssapi_module", "mod_auth_gssapi.so"},
      {"headers_module", "mod_headers.so"},       {"mime_module", "mod_mime.so"},
  };
  const char *d = p->dir;
  struct buf b = {0};
  buf_printf(&b,
             "# written by tests/support/peers.c\n"
             "ServerRoot \"%s\"\n"
             "ServerName localhost\n"
             "Listen 127.0.0.1:%u\n"
             "PidFile \"%s/httpd.pid\"\n"
             "DefaultRuntimeDir \"%s\"\n"
             "Mutex file:%s default\n"
             "ErrorLog \"%s/error.log\"\n"
             "LogLevel info\n"
             "LogFormat \"%%h \\\"%%r\\\" %%>s %%b user=%%u\" wh\n"
             "CustomLog \"%s/access.log\" wh\n",
             d, port, d, d, d, d, d);
  for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
    buf_printf(&b, "LoadModule %s /usr/lib/apache2/modules/%s\n", modules[i][0], modules[i][1]);
  /* Connection-based schemes (NTLM) need the connection kept. */
  buf_printf(&b,
             "KeepAlive On\n"
             "MaxKeepAliveRequests 0\n"
             "KeepAliveTimeout 60\n"
             "TypesConfig /dev/null\n"
             "AddType text/plain .txt\n"
             "DocumentRoot \"%s/htdocs\"\n"
             "<Directory \"%s/htdocs\">\n"
             "  AllowOverride None\n"
             "  Require all granted\n"
             "</Directory>\n"
             "Header set X-Remote-User \"expr=%%{REMOTE_USER}\" \"expr=-n %%{REMOTE_USER}\"\n"
             "Header set X-Auth-Type \"expr=%%{AUTH_TYPE}\" \"expr=-n %%{REMOTE_USER}\"\n",
             d, d);
  if (negotiate)
    buf_printf(&b,
               "<Location \"/negotiate/\">\n"
               "  AuthType GSSAPI\n"
               "  AuthName \"Kerberos\"\n"
               "  GssapiAllowedMech krb5\n"
               "  GssapiCredStore keytab:%s/http.keytab\n"
               "  GssapiBasicAuth Off\n"
               "  Require valid-user\n"
               "</Location>\n",
               d);
  buf_printf(&b,
             "<Location \"/ntlm/\">\n"
             "  AuthType GSSAPI\n"
             "  AuthName \"NTLM\"\n"
             "  GssapiAllowedMech ntlmssp\n"
             "  GssapiConnectionBound On\n"
             "  GssapiBasicAuth Off\n"
             "  Require valid-user\n"
             "</Location>\n"
             "<Location \"/basic/\">\n"
             "  AuthType Basic\n"
             "  AuthName \"%s\"\n"
             "  AuthBasicProvider file\n"
             "  AuthUserFile \"%s/htpasswd\"\n"
             "  Require valid-user\n"
             "</Location>\n"
             "<Location \"/digest/\">\n"
             "  AuthType Digest\n"
             "  AuthName \"%s\"\n"
             "  AuthDigestProvider file\n"
             "  AuthUserFile \"%s/htdigest\"\n"
             "  Require valid-user\n"
             "</Location>\n",
             BASIC_REALM, d, DIGEST_REALM, d);
  char path[512];
  int rc = path_join(path, sizeof(path), d, "httpd.conf") != 0 ? -1 : write_file(path, b.s, b.len);
  free(b.s);
  return rc;
}

/* apache2's environment: Kerberos and gss-ntlmssp configured from the
 * directory only (krb5.conf, keytab, credential and replay caches), NTLM's
 * NetBIOS names fixed rather than taken from the host name. */
static int apache_env(const struct wh_peer *p, struct env *env)
{
  char krb5_conf[512], keytab[512], ccache[512];
  if (path_join(krb5_conf, sizeof(krb5_conf), p->dir, "krb5.conf") != 0 || env_init(env) != 0)
    return -1;
  snprintf(keytab, sizeof(keytab), "FILE:%s/http.keytab", p->dir);
  snprintf(ccache, sizeof(ccache), "FILE:%s/ccache", p->dir);
  if (env_set(env, "KRB5_CONFIG", krb5_conf) != 0 || env_set(env, "KRB5_KTNAME", keytab) != 0 ||
      env_set(env, "KRB5CCNAME", ccache) != 0 || env_set(env, "KRB5RCACHEDIR", p->dir) != 0 ||
      env_set(env, "NTLM_USER_FILE", p->ntlm_users) != 0 ||
      env_set(env, "NETBIOS_DOMAIN_NAME", NTLM_DOMAIN) != 0 ||
      env_set(env, "NETBIOS_COMPUTER_NAME", "WHTEST") != 0 || env_set(env, "LC_ALL", "C") != 0) {
    env_free(env);
    return -1;
  }
  return 0;
}

static int copy_file(const char *from, const char *to)
{
  int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    complain("open %s: %s", from, strerror(errno));
    return -1;
  }
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  char buf[8192];
  ssize_t n = 0;
  while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
    if (write_all(out, buf, (size_t)n) != 0)
      break;
  int rc = out >= 0 && n == 0 ? 0 : -1;
  if (rc)
    complain("copy %s to %s failed", from, to);
  close(in);
  if (out >= 0)
    close(out);
  return rc;
}

/* Readiness: as nginx, apache2 writes its PidFile in the MPM's run hook,
 * after the open-logs hook has bound and listened on every Listen address
 * (also with -X); IN_CLOSE_WRITE on it is the event. -X: one process, so
 * that PR_SET_PDEATHSIG takes all of apache2 down with the test (children
 * of a forking apache2 would outlive a killed parent). */
int wh_peer_start_apache(struct wh_peer *p, const struct wh_peer *kdc)
{
  static const char *const users[] = {"www-data", "nobody", NULL};
  peer_init(p);
  int ino = -1;
  struct env env = {0};
  if (make_tempdir(p) != 0)
    return -1;
  char krb5_conf[512], keytab[512], log_path[512], conf_path[512];
  struct child_io io = {.in_fd = -1, .out_fd = -1, .keep_target = 3};
  if (kdc && kdc->kind != WH_PEER_KDC) {
    complain("apache: the kdc argument is not a KDC peer");
    goto fail;
  }
  if (path_join(krb5_conf, sizeof(krb5_conf), p->dir, "krb5.conf") != 0 ||
      path_join(keytab, sizeof(keytab), p->dir, "http.keytab") != 0 ||
      path_join(log_path, sizeof(log_path), p->dir, "error.log") != 0 ||
      path_join(conf_path, sizeof(conf_path), p->dir, "httpd.conf") != 0)
    goto fail;
  /* Without a KDC, a krb5.conf with no realm: never the system's. */
  if (write_krb5_conf(krb5_conf, p->dir, kdc ? kdc->port : 0) != 0 ||
      (kdc && copy_file(kdc->keytab, keytab) != 0))
    goto fail;
  if (make_apache_site(p->dir, kdc != NULL) != 0 || make_apache_users(p) != 0 || apache_env(p, &env) != 0 ||
      prepare_owner(p, users, &io) != 0)
    goto fail;
  io.envp = env.v;
  ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ino < 0 || inotify_add_watch(ino, p->dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    complain("inotify: %s", strerror(errno));
    goto fail;
  }
  for (int attempt = 1;; attempt++) {
    unsigned short port;
    if (pick_port(&port, NULL) != 0 || write_apache_conf(p, port, kdc != NULL) != 0)
      goto fail;
    unlink(log_path);
    char *argv[] = {(char *)apache2_path(), (char *)"-X", (char *)"-f", conf_path, NULL};
    int r = launch(p, argv, &io, WH_PEER_APACHE, ino, "httpd.pid");
    if (r == 0) {
      p->port = port;
      break;
    }
    if (r < 0 || attempt == NGINX_ATTEMPTS) {
      char *log = read_file(log_path);
      complain("apache2 (%s) failed to start; its log:\n%s", apache2_path(), log ? log : "(none)");
      free(log);
      goto fail;
    }
  }
  close(ino);
  env_free(&env);
  return 0;

fail:
  if (ino >= 0)
    close(ino);
  env_free(&env);
  wh_peer_stop(p);
  return -1;
}

const char *wh_peer_ntlm_user_file(const struct wh_peer *p)
{
  return p->ntlm_users[0] ? p->ntlm_users : NULL;
}

/* --- squid -------------------------------------------------------------------------- */

static const char *squid_path(void)
{
  static const char *const paths[] = {"/usr/sbin/squid", NULL};
  return tool_path("WH_SQUID", paths, "squid");
}

static const char *squid_helper_path(void)
{
  static const char *const paths[] = {"/usr/lib/squid/basic_ncsa_auth", NULL};
  return tool_path("WH_SQUID_BASIC_AUTH", paths, "basic_ncsa_auth");
}

static const char *squid_negotiate_path(void)
{
  static const char *const paths[] = {"/usr/lib/squid/negotiate_kerberos_auth", NULL};
  return tool_path("WH_SQUID_NEGOTIATE_AUTH", paths, "negotiate_kerberos_auth");
}

static int write_squid_conf(const struct wh_peer *p, unsigned short port, int negotiate)
{
  const char *d = p->dir;
  struct buf b = {0};
  buf_printf(&b,
             "# written by tests/support/peers.c\n"
             "http_port 127.0.0.1:%u\n"
             "visible_hostname whtest-squid\n"
             "pid_filename %s/squid.pid\n"
             "cache_log %s/cache.log\n"
             "access_log stdio:%s/access.log\n"
             "cache_store_log none\n"
             "coredump_dir %s\n"
             "netdb_filename none\n"
             "pinger_enable off\n"
             "cache deny all\n"
             "memory_cache_shared off\n"
             "shutdown_lifetime 0 seconds\n"
             "dns_nameservers 127.0.0.1\n",
             port, d, d, d, d);
  /* Schemes are offered in this order: Negotiate first, as a Windows proxy
   * would. The helper reads the copy of the KDC's keytab and keeps its
   * replay cache in the directory. */
  if (negotiate)
    buf_printf(&b,
               "auth_param negotiate program %s -s HTTP/localhost@%s -k %s/http.keytab -c %s\n"
               "auth_param negotiate children 2 startup=1 idle=1\n"
               "auth_param negotiate keep_alive on\n",
               squid_negotiate_path(), KDC_REALM, d, d);
  /* The order of http_access: strangers out, then a 407 for anyone without
   * valid credentials, then loopback destinations only. No rule about
   * CONNECT ports: tunnels to any port (tests use high ones). */
  buf_printf(&b,
             "auth_param basic program %s %s/passwd\n"
             "auth_param basic realm %s\n"
             "auth_param basic children 2 startup=1 idle=1\n"
             "acl authed proxy_auth REQUIRED\n"
             "http_access deny !localhost\n"
             "http_access deny !authed\n"
             "http_access allow to_localhost\n"
             "http_access deny all\n"
             "reply_header_add X-Proxy-User \"%%un\" all\n",
             squid_helper_path(), d, PROXY_REALM);
  char path[512];
  int rc = path_join(path, sizeof(path), d, "squid.conf") != 0 ? -1 : write_file(path, b.s, b.len);
  free(b.s);
  return rc;
}

/* squid makes shared memory segments in /dev/shm named after its service
 * name even with one worker, and removes them when it exits normally; this
 * removes what a killed squid left. */
static void remove_squid_shm(const char *service)
{
  DIR *dir = opendir("/dev/shm");
  if (!dir)
    return;
  size_t sl = strlen(service);
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (strncmp(e->d_name, service, sl) == 0 && e->d_name[sl] == '-') {
      char name[300];
      snprintf(name, sizeof(name), "/%s", e->d_name);
      shm_unlink(name);
    }
  }
  closedir(dir);
}

/* Readiness: squid -N writes its pid file before it opens its ports
 * (main.cc: Instance::WriteOurPid() comes before the listening sockets), so
 * the pid file proves nothing. Once a port listens, it logs "Accepting HTTP
 * Socket connections at ..." to cache.log (client_side.cc, after starting
 * the acceptor); the harness reads cache.log whenever inotify reports a
 * write to it. squid -N keeps descriptor 3, the end-of-file pipe. */
int wh_peer_start_squid(struct wh_peer *p, const struct wh_peer *kdc)
{
  static const char *const users[] = {"proxy", "nobody", NULL};
  peer_init(p);
  int ino = -1;
  struct env env = {0};
  if (make_tempdir(p) != 0)
    return -1;
  char conf_path[512], log_path[512], passwd[512], line[256], krb5_conf[512], keytab[512];
  struct child_io io = {.in_fd = -1, .out_fd = -1, .keep_target = 3};
  if (kdc && kdc->kind != WH_PEER_KDC) {
    complain("squid: the kdc argument is not a KDC peer");
    goto fail;
  }
  if (access(squid_helper_path(), X_OK) != 0 ||
      (kdc && access(squid_negotiate_path(), X_OK) != 0)) {
    complain("squid's helpers (%s, %s) are missing", squid_helper_path(), squid_negotiate_path());
    goto fail;
  }
  /* Kerberos for the Negotiate helper as for apache2: its own krb5.conf and
   * keytab copy; without a KDC a krb5.conf with no realm. */
  if (path_join(krb5_conf, sizeof(krb5_conf), p->dir, "krb5.conf") != 0 ||
      path_join(keytab, sizeof(keytab), p->dir, "http.keytab") != 0 ||
      write_krb5_conf(krb5_conf, p->dir, kdc ? kdc->port : 0) != 0 ||
      (kdc && copy_file(kdc->keytab, keytab) != 0) || env_init(&env) != 0 ||
      env_set(&env, "KRB5_CONFIG", krb5_conf) != 0 || env_set(&env, "KRB5RCACHEDIR", p->dir) != 0)
    goto fail;
  io.envp = env.v;
  /* A service name of its own (letters and digits: the directory's random
   * suffix), so that its shared memory names collide with no other squid. */
  snprintf(p->service, sizeof(p->service), "whsquid%s", strrchr(p->dir, '-') + 1);
  if (set_cred(&p->cred[WH_AUTH_BASIC], PROXY_REALM, "erin") != 0 ||
      path_join(conf_path, sizeof(conf_path), p->dir, "squid.conf") != 0 ||
      path_join(log_path, sizeof(log_path), p->dir, "cache.log") != 0 ||
      path_join(passwd, sizeof(passwd), p->dir, "passwd") != 0 ||
      passwd_line(&p->cred[WH_AUTH_BASIC], line, sizeof(line)) != 0 ||
      write_file(passwd, line, strlen(line)) != 0 ||
      prepare_owner(p, users, &io) != 0)
    goto fail;
  ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ino < 0 || inotify_add_watch(ino, p->dir, IN_MODIFY | IN_CLOSE_WRITE) < 0) {
    complain("inotify: %s", strerror(errno));
    goto fail;
  }
  for (int attempt = 1;; attempt++) {
    unsigned short port;
    if (pick_port(&port, NULL) != 0 || write_squid_conf(p, port, kdc != NULL) != 0)
      goto fail;
    unlink(log_path);
    char *argv[] = {(char *)squid_path(), (char *)"-N", (char *)"-n", p->service, (char *)"-f",
                    conf_path, NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      goto fail;
    io.keep_fd = fds[1];
    p->pid = spawn_io(argv, &io);
    close(fds[1]);
    p->fd = fds[0];
    if (p->pid < 0)
      goto fail;
    p->kind = WH_PEER_SQUID;
    int r = wait_log_text(p, ino, "cache.log", "Accepting HTTP Socket connections",
                          now_ms() + START_DEADLINE_MS);
    if (r == 0) {
      p->port = port;
      break;
    }
    kill_and_reap_within(p->pid, p->fd, SQUID_STOP_DEADLINE_MS);
    close(p->fd);
    p->fd = -1;
    p->pid = -1;
    p->kind = WH_PEER_NONE;
    char *log = read_file(log_path);
    int in_use = log && strstr(log, "in use");
    if (r < 0 || !in_use || attempt == NGINX_ATTEMPTS) {
      complain("squid (%s) failed to start; its cache.log:\n%s", squid_path(),
               log ? log : "(none)");
      free(log);
      goto fail;
    }
    free(log);
  }
  close(ino);
  env_free(&env);
  return 0;

fail:
  if (ino >= 0)
    close(ino);
  env_free(&env);
  wh_peer_stop(p);
  return -1;
}

/* --- authentication accessors ------------------------------------------------------ */

static const struct wh_peer_cred *peer_cred(const struct wh_peer *p, enum wh_peer_auth scheme)
{
  if ((unsigned)scheme >= WH_AUTH_COUNT || !p->cred[scheme].user[0])
    return NULL;
  return &p->cred[scheme];
}

const char *wh_peer_user(const struct wh_peer *p, enum wh_peer_auth scheme)
{
  const struct wh_peer_cred *c = peer_cred(p, scheme);
  return c ? c->user : NULL;
}

const char *wh_peer_password(const struct wh_peer *p, enum wh_peer_auth scheme)
{
  const struct wh_peer_cred *c = peer_cred(p, scheme);
  return c ? c->password : NULL;
}

const char *wh_peer_auth_domain(const struct wh_peer *p, enum wh_peer_auth scheme)
{
  const struct wh_peer_cred *c = peer_cred(p, scheme);
  return c ? c->domain : NULL;
}

const char *wh_peer_krb5_conf(const struct wh_peer *kdc)
{
  return kdc->kind == WH_PEER_KDC ? kdc->krb5_conf : NULL;
}

const char *wh_peer_realm(const struct wh_peer *kdc)
{
  return kdc->kind == WH_PEER_KDC ? kdc->cred[WH_AUTH_KERBEROS].domain : NULL;
}

const char *wh_peer_keytab(const struct wh_peer *kdc)
{
  return kdc->kind == WH_PEER_KDC ? kdc->keytab : NULL;
}

const char *wh_peer_ccache(const struct wh_peer *kdc)
{
  return kdc->kind == WH_PEER_KDC ? kdc->ccache : NULL;
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
    kill_and_reap_within(p->pid, p->fd,
                         p->kind == WH_PEER_SQUID ? SQUID_STOP_DEADLINE_MS : STOP_DEADLINE_MS);
  if (p->service[0])
    remove_squid_shm(p->service);
  if (p->fd > 0)
    close(p->fd);
  rm_tree(p->dir);
  memset(p, 0, sizeof(*p));
  p->fd = -1;
  p->pid = -1;
}
