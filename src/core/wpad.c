/* WPAD by DNS: the I/O half (reading the machine's DNS domains, looking the
 * candidate names up); policy/wpad.c decides which names. See
 * core/autoproxy.h.
 *
 * DHCP discovery (option 252) is not performed: asking a DHCP server needs
 * a privileged port or the DHCP client's cooperation, and Linux has no
 * common interface to the lease's options (docs/COMPAT.md). */
#include "core/autoproxy.h"

#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "policy/wpad.h"
#include "util/mem.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_CONF_MAX 65536

/* --- the test seam ------------------------------------------------------------ */

static pthread_mutex_t seam_lock = PTHREAD_MUTEX_INITIALIZER;
static char *seam_domains, *seam_name, *seam_url; /* under |seam_lock| */

void wh_wpad_test_seam(const char *domains, const char *name, const char *url)
{
  pthread_mutex_lock(&seam_lock);
  wh_free(seam_domains);
  wh_free(seam_name);
  wh_free(seam_url);
  seam_domains = domains ? wh_strndup(domains, strlen(domains)) : NULL;
  seam_name = domains && name ? wh_strndup(name, strlen(name)) : NULL;
  seam_url = domains && url ? wh_strndup(url, strlen(url)) : NULL;
  pthread_mutex_unlock(&seam_lock);
}

/* --- the machine's domains ------------------------------------------------------ */

/* glibc's search list: LOCALDOMAIN when set (even empty), else
 * resolv.conf's search or domain line, else the host name's domain. */
static size_t machine_domains(char (*out)[WH_WPAD_NAME_MAX], size_t max)
{
  const char *local = secure_getenv("LOCALDOMAIN");
  if (local)
    return wh_wpad_domain_list(local, strlen(local), out, max);
  size_t n = 0;
  FILE *f = fopen(RESOLV_CONF, "re");
  if (f) {
    char *text = wh_malloc(RESOLV_CONF_MAX);
    if (text) {
      size_t len = fread(text, 1, RESOLV_CONF_MAX, f);
      n = wh_wpad_search_list(text, len, out, max);
      wh_free(text);
    }
    fclose(f);
  }
  if (n)
    return n;
  char host[WH_WPAD_NAME_MAX];
  if (gethostname(host, sizeof(host)) != 0)
    return 0;
  host[sizeof(host) - 1] = '\0';
  const char *dot = strchr(host, '.');
  return dot ? wh_wpad_domain_list(dot + 1, strlen(dot + 1), out, max) : 0;
}

static bool resolves(const char *name)
{
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int rc = getaddrinfo(name, NULL, &hints, &res);
  if (res)
    freeaddrinfo(res);
  return rc == 0;
}

/* --- detection ----------------------------------------------------------------- */

DWORD wh_wpad_each(DWORD (*try_url)(const char *url, void *arg), void *arg)
{
  char domains[WH_WPAD_DOMAINS_MAX][WH_WPAD_NAME_MAX];
  char names[WH_WPAD_CANDIDATES_MAX][WH_WPAD_NAME_MAX + 5];
  char *s_name = NULL, *s_url = NULL;
  size_t nd;
  pthread_mutex_lock(&seam_lock);
  bool seam = seam_domains != NULL;
  if (seam) {
    nd = wh_wpad_domain_list(seam_domains, strlen(seam_domains), domains, WH_WPAD_DOMAINS_MAX);
    s_name = seam_name ? wh_strndup(seam_name, strlen(seam_name)) : NULL;
    s_url = seam_url ? wh_strndup(seam_url, strlen(seam_url)) : NULL;
  }
  pthread_mutex_unlock(&seam_lock);
  if (!seam)
    nd = machine_domains(domains, WH_WPAD_DOMAINS_MAX);
  size_t nc = wh_wpad_candidates((const char(*)[WH_WPAD_NAME_MAX])domains, nd, names,
                                 WH_WPAD_CANDIDATES_MAX);
  DWORD err = ERROR_WINHTTP_AUTODETECTION_FAILED;
  for (size_t i = 0; i < nc; i++) {
    char url[2 * WH_WPAD_NAME_MAX + 32];
    if (seam) {
      if (!s_name || !s_url || strcmp(names[i], s_name) != 0)
        continue; /* does not "resolve" */
      snprintf(url, sizeof(url), "%.*s", WH_WPAD_NAME_MAX, s_url);
    } else {
      if (!resolves(names[i]))
        continue;
      snprintf(url, sizeof(url), "http://%.*s/wpad.dat", WH_WPAD_NAME_MAX + 5, names[i]);
    }
    err = try_url(url, arg);
    if (err == ERROR_SUCCESS || err == ERROR_NOT_ENOUGH_MEMORY)
      break; /* found, or no point trying further */
  }
  wh_free(s_name);
  wh_free(s_url);
  return err;
}

static DWORD take_first(const char *url, void *arg)
{
  char **out = arg;
  *out = wh_strndup(url, strlen(url));
  return *out ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
}

DWORD wh_wpad_detect(char **url)
{
  *url = NULL;
  return wh_wpad_each(take_first, url);
}
