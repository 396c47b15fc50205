/* see natives.h */
#include "natives.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ADDRS 16
#define CACHE_SLOTS 32
#define CACHE_TTL_S 60

/* One name's addresses, IPv6 and IPv4 apart, in getaddrinfo's order. */
struct addrs {
  size_t n6, n4;
  struct in6_addr v6[MAX_ADDRS];
  struct in_addr v4[MAX_ADDRS];
};

struct cache_entry {
  char host[256];
  time_t expires;
  bool ok;
  struct addrs a;
};

static struct cache_entry cache[CACHE_SLOTS];
static unsigned cache_next;

static time_t now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

/* A literal needs no lookup (and no cache). */
static bool literal(const char *host, struct addrs *a)
{
  memset(a, 0, sizeof(*a));
  if (inet_pton(AF_INET, host, &a->v4[0]) == 1) {
    a->n4 = 1;
    return true;
  }
  if (inet_pton(AF_INET6, host, &a->v6[0]) == 1) {
    a->n6 = 1;
    return true;
  }
  return false;
}

/* The addresses of |host|; false when it does not resolve. */
static bool resolve(const char *host, struct addrs *a)
{
  if (literal(host, a))
    return true;
  size_t hl = strlen(host);
  if (hl == 0 || hl >= sizeof(cache[0].host))
    return false;
  time_t now = now_s();
  for (unsigned i = 0; i < CACHE_SLOTS; i++) {
    if (cache[i].expires > now && strcmp(cache[i].host, host) == 0) {
      *a = cache[i].a;
      return cache[i].ok;
    }
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  bool ok = getaddrinfo(host, NULL, &hints, &res) == 0;
  memset(a, 0, sizeof(*a));
  for (struct addrinfo *ai = ok ? res : NULL; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET && a->n4 < MAX_ADDRS)
      a->v4[a->n4++] = ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr;
    else if (ai->ai_family == AF_INET6 && a->n6 < MAX_ADDRS)
      a->v6[a->n6++] = ((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr;
  }
  if (res)
    freeaddrinfo(res);
  ok = a->n4 + a->n6 > 0;
  struct cache_entry *e = &cache[cache_next++ % CACHE_SLOTS];
  memcpy(e->host, host, hl + 1);
  e->expires = now + CACHE_TTL_S;
  e->ok = ok;
  e->a = *a;
  return ok;
}

/* Appends "addr" (with a ';' before all but the first) to |buf|. */
static void append(char *buf, size_t cap, size_t *len, int family, const void *addr)
{
  char s[INET6_ADDRSTRLEN];
  if (!inet_ntop(family, addr, s, sizeof(s)))
    return;
  size_t sl = strlen(s);
  if (*len + sl + 2 > cap)
    return;
  if (*len)
    buf[(*len)++] = ';';
  memcpy(buf + *len, s, sl + 1);
  *len += sl;
}

static void push_list(duk_context *ctx, const struct addrs *a)
{
  char buf[MAX_ADDRS * 2 * (INET6_ADDRSTRLEN + 1) + 1];
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < a->n6; i++)
    append(buf, sizeof(buf), &len, AF_INET6, &a->v6[i]);
  for (size_t i = 0; i < a->n4; i++)
    append(buf, sizeof(buf), &len, AF_INET, &a->v4[i]);
  duk_push_lstring(ctx, buf, len);
}

/* The argument as a C string (anything is converted, as JScript does). */
static const char *arg(duk_context *ctx, duk_idx_t i)
{
  return duk_safe_to_string(ctx, i);
}

static duk_ret_t js_dns_resolve(duk_context *ctx)
{
  struct addrs a;
  if (!resolve(arg(ctx, 0), &a) || a.n4 == 0) {
    duk_push_null(ctx);
    return 1;
  }
  char s[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.v4[0], s, sizeof(s));
  duk_push_string(ctx, s);
  return 1;
}

static duk_ret_t js_dns_resolve_ex(duk_context *ctx)
{
  struct addrs a;
  if (!resolve(arg(ctx, 0), &a))
    memset(&a, 0, sizeof(a));
  push_list(ctx, &a);
  return 1;
}

/* The source address the routing table picks for the Internet: a UDP
 * socket "connected" to a documentation address (RFC 5737 TEST-NET-1; no
 * packet is sent), else the first configured address, else loopback. */
static bool route_source_v4(struct in_addr *out)
{
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
  inet_pton(AF_INET, "192.0.2.1", &to.sin_addr);
  struct sockaddr_in me;
  socklen_t len = sizeof(me);
  bool ok = connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0 &&
            getsockname(fd, (struct sockaddr *)&me, &len) == 0 && me.sin_addr.s_addr != 0;
  close(fd);
  if (ok)
    *out = me.sin_addr;
  return ok;
}

/* The addresses of the interfaces that are up, loopback excluded. */
static void interface_addrs(struct addrs *a)
{
  memset(a, 0, sizeof(*a));
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) != 0)
    return;
  for (struct ifaddrs *i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
      continue;
    if (i->ifa_addr->sa_family == AF_INET && a->n4 < MAX_ADDRS)
      a->v4[a->n4++] = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
    else if (i->ifa_addr->sa_family == AF_INET6 && a->n6 < MAX_ADDRS)
      a->v6[a->n6++] = ((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
  }
  freeifaddrs(list);
}

static duk_ret_t js_my_ip_address(duk_context *ctx)
{
  struct in_addr v4;
  struct addrs a;
  if (!route_source_v4(&v4)) {
    interface_addrs(&a);
    if (a.n4)
      v4 = a.v4[0];
    else
      inet_pton(AF_INET, "127.0.0.1", &v4);
  }
  char s[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &v4, s, sizeof(s));
  duk_push_string(ctx, s);
  return 1;
}

static duk_ret_t js_my_ip_address_ex(duk_context *ctx)
{
  struct addrs a;
  interface_addrs(&a);
  push_list(ctx, &a);
  return 1;
}

/* An IPv4 address of |host| (a literal or its first address). */
static bool host_v4(const char *host, struct in_addr *out)
{
  struct addrs a;
  if (!resolve(host, &a) || a.n4 == 0)
    return false;
  *out = a.v4[0];
  return true;
}

static duk_ret_t js_is_in_net(duk_context *ctx)
{
  struct in_addr h, pat, mask;
  const char *host = arg(ctx, 0);
  bool in = inet_pton(AF_INET, arg(ctx, 1), &pat) == 1 &&
            inet_pton(AF_INET, arg(ctx, 2), &mask) == 1 && host_v4(host, &h) &&
            (h.s_addr & mask.s_addr) == (pat.s_addr & mask.s_addr);
  duk_push_boolean(ctx, in);
  return 1;
}

/* Whether the first |bits| bits of |a| and |b| (|len| bytes each) agree. */
static bool prefix_eq(const unsigned char *a, const unsigned char *b, size_t len, unsigned bits)
{
  for (size_t i = 0; i < len && bits; i++) {
    unsigned take = bits >= 8 ? 8 : bits;
    unsigned char m = (unsigned char)(0xffu << (8 - take));
    if ((a[i] & m) != (b[i] & m))
      return false;
    bits -= take;
  }
  return true;
}

/* "addr/bits": Microsoft's examples write IPv6 prefixes short
 * ("3ffe:8311:ffff/48"), which inet_pton refuses, so "::" is tried after
 * the written groups as well. */
static int parse_prefix(const char *s, unsigned char addr[16], unsigned *bits)
{
  const char *slash = strchr(s, '/');
  if (!slash || slash == s || !slash[1] || strlen(slash + 1) > 3)
    return 0;
  char text[64];
  size_t al = (size_t)(slash - s);
  if (al + 3 > sizeof(text))
    return 0;
  unsigned b = 0;
  for (const char *d = slash + 1; *d; d++) {
    if (*d < '0' || *d > '9')
      return 0;
    b = b * 10 + (unsigned)(*d - '0');
  }
  memcpy(text, s, al);
  text[al] = '\0';
  if (inet_pton(AF_INET, text, addr) == 1)
    return b <= 32 ? (*bits = b, AF_INET) : 0;
  if (inet_pton(AF_INET6, text, addr) != 1) {
    memcpy(text + al, "::", 3);
    if (inet_pton(AF_INET6, text, addr) != 1)
      return 0;
  }
  return b <= 128 ? (*bits = b, AF_INET6) : 0;
}

static duk_ret_t js_is_in_net_ex(duk_context *ctx)
{
  unsigned char pfx[16];
  unsigned bits = 0;
  struct addrs a;
  const char *host = arg(ctx, 0);
  int family = parse_prefix(arg(ctx, 1), pfx, &bits);
  bool in = false;
  if (family && resolve(host, &a)) {
    if (family == AF_INET)
      for (size_t i = 0; i < a.n4 && !in; i++)
        in = prefix_eq((const unsigned char *)&a.v4[i], pfx, 4, bits);
    else
      for (size_t i = 0; i < a.n6 && !in; i++)
        in = prefix_eq(a.v6[i].s6_addr, pfx, 16, bits);
  }
  duk_push_boolean(ctx, in);
  return 1;
}

/* --- sortIpAddressList --------------------------------------------------------- */

struct item {
  int family;
  unsigned char addr[16];
  unsigned scope; /* IPv6: smaller first (RFC 6724's scopes) */
  const char *text;
  size_t len;
};

static unsigned v6_scope(const unsigned char *a)
{
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
    return 2; /* link-local */
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
    return 5; /* site-local (deprecated) */
  if (a[0] == 0xff)
    return a[1] & 0x0f; /* multicast: its own scope field */
  static const unsigned char loop[16] = {[15] = 1};
  if (memcmp(a, loop, 16) == 0)
    return 1;
  return 14; /* global */
}

static int item_cmp(const void *pa, const void *pb)
{
  const struct item *a = pa, *b = pb;
  if (a->family != b->family)
    return a->family == AF_INET6 ? -1 : 1;
  if (a->scope != b->scope)
    return a->scope < b->scope ? -1 : 1;
  int c = memcmp(a->addr, b->addr, a->family == AF_INET6 ? 16 : 4);
  if (c)
    return c;
  return a < b ? -1 : a > b; /* stable for equal addresses */
}

/* Microsoft: "A list of sorted semi-colon delimited IP addresses or an empty
 * string if unable to sort the IP Address list"; IPv6 addresses come
 * first. Its example puts a link-local address before a global one, so
 * IPv6 addresses are ordered by scope, then by value. The addresses are
 * returned as written. */
static duk_ret_t js_sort_ip_address_list(duk_context *ctx)
{
  const char *list = arg(ctx, 0);
  struct item items[64];
  size_t n = 0;
  const char *p = list;
  bool ok = true;
  while (ok) {
    const char *end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *t = p;
    while (len && (*t == ' ' || *t == '\t')) {
      t++;
      len--;
    }
    while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
      len--;
    char text[INET6_ADDRSTRLEN + 1];
    if (len == 0 || len >= sizeof(text) || n == sizeof(items) / sizeof(items[0])) {
      ok = false;
      break;
    }
    memcpy(text, t, len);
    text[len] = '\0';
    struct item *it = &items[n];
    memset(it, 0, sizeof(*it));
    if (inet_pton(AF_INET, text, it->addr) == 1) {
      it->family = AF_INET;
    } else if (inet_pton(AF_INET6, text, it->addr) == 1) {
      it->family = AF_INET6;
      it->scope = v6_scope(it->addr);
    } else {
      ok = false;
      break;
    }
    it->text = t;
    it->len = len;
    n++;
    if (!end)
      break;
    p = end + 1;
  }
  if (!ok || n == 0) {
    duk_push_string(ctx, "");
    return 1;
  }
  qsort(items, n, sizeof(items[0]), item_cmp);
  char out[sizeof(items) / sizeof(items[0]) * (INET6_ADDRSTRLEN + 1)];
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    if (i)
      out[used++] = ';';
    memcpy(out + used, items[i].text, items[i].len);
    used += items[i].len;
  }
  duk_push_lstring(ctx, out, used);
  return 1;
}

void pac_natives_register(duk_context *ctx)
{
  static const struct {
    const char *name;
    duk_c_function fn;
    duk_idx_t nargs;
  } fns[] = {
      {"dnsResolve", js_dns_resolve, 1},
      {"dnsResolveEx", js_dns_resolve_ex, 1},
      {"myIpAddress", js_my_ip_address, 0},
      {"myIpAddressEx", js_my_ip_address_ex, 0},
      {"isInNet", js_is_in_net, 3},
      {"isInNetEx", js_is_in_net_ex, 2},
      {"sortIpAddressList", js_sort_ip_address_list, 1},
  };
  duk_push_global_object(ctx);
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
    duk_push_c_function(ctx, fns[i].fn, fns[i].nargs);
    duk_put_prop_string(ctx, -2, fns[i].name);
  }
  duk_pop(ctx);
}
