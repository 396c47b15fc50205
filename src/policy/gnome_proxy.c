/* see gnome_proxy.h. Key semantics from the descriptions in
 * gsettings-desktop-schemas' org.gnome.system.proxy.gschema.xml. */
#include "policy/gnome_proxy.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"

#define HOST_MAX (64u * 1024u)
#define LIST_MAX (1024u * 1024u)

void wh_gnome_proxy_free(struct wh_gnome_proxy *g)
{
  wh_free(g->mode);
  wh_free(g->autoconfig_url);
  for (int k = 0; k < WH_IE_SCHEMES; k++)
    wh_free(g->host[k]);
  for (size_t i = 0; i < g->n_ignore; i++)
    wh_free(g->ignore_hosts[i]);
  wh_free(g->ignore_hosts);
  memset(g, 0, sizeof(*g));
}

/* "host:port" for one scheme into |b|; false when the scheme is not
 * enabled (an empty host or a port outside 1..65535) or out of memory
 * (*nomem set). A bare IPv6 address gets its brackets; a '/' the user
 * typed after the name would hide the port from the proxy URL parser, so
 * it and what follows are dropped. */
static bool server_text(const char *host, int port, struct wh_buf *b, bool *nomem)
{
  if (!host || port <= 0 || port > 65535)
    return false;
  size_t n = strlen(host);
  while (n && (host[n - 1] == '/' || host[n - 1] == ' '))
    n--;
  while (n && host[0] == ' ')
    host++, n--;
  if (n == 0 || n > HOST_MAX)
    return false;
  bool v6 = memchr(host, ':', n) && host[0] != '[' && !strstr(host, "://");
  char num[8];
  snprintf(num, sizeof(num), ":%d", port);
  if ((v6 && wh_buf_addc(b, '[') != 0) || wh_buf_add(b, host, n) != 0 ||
      (v6 && wh_buf_addc(b, ']') != 0) || wh_buf_adds(b, num) != 0) {
    *nomem = true;
    return false;
  }
  return true;
}

/* ignore-hosts joined with ',' (the separators ie_proxy.h reads) into |b|. */
static bool join_ignore(const struct wh_gnome_proxy *g, struct wh_buf *b)
{
  for (size_t i = 0; i < g->n_ignore; i++) {
    const char *h = g->ignore_hosts[i];
    if (!h || !h[0])
      continue;
    if ((b->len && wh_buf_addc(b, ',') != 0) || wh_buf_adds(b, h) != 0)
      return false;
  }
  return true;
}

static DWORD map_manual(const struct wh_gnome_proxy *g, struct wh_ie_proxy *out)
{
  struct wh_buf text[WH_IE_SCHEMES], ignore;
  struct wh_ie_manual m = {.https_uses_http = true};
  bool nomem = false;
  for (int k = 0; k < WH_IE_SCHEMES; k++) {
    wh_buf_init(&text[k], HOST_MAX + 16);
    if (server_text(g->host[k], g->port[k], &text[k], &nomem))
      m.server[k] = text[k].p;
  }
  wh_buf_init(&ignore, LIST_MAX);
  if (!join_ignore(g, &ignore))
    nomem = true;
  m.bypass = ignore.p;
  DWORD err = nomem ? ERROR_NOT_ENOUGH_MEMORY : wh_ie_proxy_manual(&m, out);
  for (int k = 0; k < WH_IE_SCHEMES; k++)
    wh_buf_free(&text[k]);
  wh_buf_free(&ignore);
  return err;
}

DWORD wh_gnome_proxy_map(const struct wh_gnome_proxy *g, struct wh_ie_proxy *out)
{
  const char *mode = g->mode ? g->mode : "none";
  if (!strcmp(mode, "manual"))
    return map_manual(g, out);
  if (!strcmp(mode, "auto")) {
    /* GLib's rule: an empty URL means WPAD. A URL no client could use
     * (wh_ie_proxy_pac refuses it) configures nothing: GLib would fail to
     * fetch it and go direct. */
    const char *u = g->autoconfig_url;
    while (u && (*u == ' ' || *u == '\t'))
      u++;
    if (!u || !*u) {
      out->auto_detect = true;
      return ERROR_SUCCESS;
    }
    return wh_ie_proxy_pac(u, out);
  }
  return ERROR_SUCCESS;
}
