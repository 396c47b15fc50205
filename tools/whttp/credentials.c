/* whttp: -u / --proxy-user credentials. A password comes from the command
 * line ("USER:PASS"), from --password-file, or from a prompt on the
 * terminal, never echoed; it is wiped from memory when whttp is done. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "whttp.h"

void whttp_wipe_free(char *s)
{
  if (!s)
    return;
  volatile char *p = s;
  while (*p)
    *p++ = '\0';
  free(s);
}

/* One line from |fd| without its newline (at most |cap| - 1 bytes). */
static int read_line(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0 || c == '\n')
      break;
    if (n + 1 < cap)
      buf[n++] = c;
  }
  buf[n] = '\0';
  if (n && buf[n - 1] == '\r')
    buf[--n] = '\0';
  return 0;
}

char *whttp_password_for(const char *who, const char *file)
{
  char buf[1024];
  if (file) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return NULL;
    read_line(fd, buf, sizeof(buf));
    close(fd);
  } else {
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0)
      return NULL;
    struct termios old, quiet;
    bool restore = tcgetattr(tty, &old) == 0;
    if (restore) {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t)ECHO;
      tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    dprintf(tty, "Password for %s: ", who);
    read_line(tty, buf, sizeof(buf));
    dprintf(tty, "\n");
    if (restore)
      tcsetattr(tty, TCSAFLUSH, &old);
    close(tty);
  }
  char *p = strdup(buf);
  volatile char *w = buf;
  for (size_t i = 0; i < sizeof(buf); i++)
    w[i] = '\0';
  return p;
}

/* Splits "USER[:PASS]" into |*user| and |*pass| (both malloc'd). */
static int split(const char *spec, const char *file, char **user, char **pass)
{
  const char *colon = strchr(spec, ':');
  *user = colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
  *pass = colon ? strdup(colon + 1) : whttp_password_for(spec, file);
  if (!*user || !*pass) {
    free(*user);
    whttp_wipe_free(*pass);
    *user = *pass = NULL;
    return -1;
  }
  return 0;
}

int whttp_credentials_resolve(struct whttp_args *a)
{
  if (a->user_spec && split(a->user_spec, a->password_file, &a->user, &a->password) != 0) {
    fprintf(stderr, "whttp: no password for -u: give USER:PASS, --password-file FILE, or run "
                    "on a terminal\n");
    return WX_USAGE;
  }
  if (a->proxy_user_spec &&
      split(a->proxy_user_spec, a->password_file, &a->proxy_user, &a->proxy_password) != 0) {
    fprintf(stderr, "whttp: no password for --proxy-user: give USER:PASS, --password-file FILE, "
                    "or run on a terminal\n");
    return WX_USAGE;
  }
  return WX_OK;
}

void whttp_credentials_free(struct whttp_args *a)
{
  free(a->user);
  free(a->proxy_user);
  whttp_wipe_free(a->password);
  whttp_wipe_free(a->proxy_password);
  a->user = a->proxy_user = a->password = a->proxy_password = NULL;
}

/* One target's credentials: with --basic, --digest, --ntlm or --negotiate
 * through WinHttpSetCredentials (Basic, NTLM and Negotiate at once, Digest
 * when challenged), otherwise through the options (the best scheme the
 * challenge offers). */
static BOOL apply(HINTERNET r, DWORD scheme, DWORD target, const char *user, const char *pass)
{
  WCHAR *u = whttp_widen(user, strlen(user)), *p = whttp_widen(pass, strlen(pass));
  BOOL ok = u && p;
  if (ok && scheme)
    ok = WinHttpSetCredentials(r, target, scheme, u, p, NULL);
  else if (ok)
    ok = WinHttpSetOption(r, target ? WINHTTP_OPTION_PROXY_USERNAME : WINHTTP_OPTION_USERNAME, u,
                          (DWORD)wcslen(u)) &&
         WinHttpSetOption(r, target ? WINHTTP_OPTION_PROXY_PASSWORD : WINHTTP_OPTION_PASSWORD, p,
                          (DWORD)wcslen(p));
  free(u);
  if (p) {
    volatile WCHAR *w = p;
    while (*w)
      *w++ = 0;
  }
  free(p);
  return ok;
}

BOOL whttp_credentials_apply(HINTERNET request, const struct whttp_args *a)
{
  DWORD scheme = a->auth_scheme;
  /* Negotiate without a user (or "-u :"): the ticket cache's identity. */
  if (scheme == WINHTTP_AUTH_SCHEME_NEGOTIATE && (!a->user || !a->user[0]))
    return WinHttpSetCredentials(request, WINHTTP_AUTH_TARGET_SERVER, scheme, NULL, NULL, NULL);
  if (a->user && !apply(request, scheme, WINHTTP_AUTH_TARGET_SERVER, a->user, a->password))
    return FALSE;
  if (a->proxy_user &&
      !apply(request, scheme, WINHTTP_AUTH_TARGET_PROXY, a->proxy_user, a->proxy_password))
    return FALSE;
  return TRUE;
}
