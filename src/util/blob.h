/* An immutable, reference-counted byte string: a server certificate's DER,
 * encoded once per connection and shared with every request that used the
 * connection (WINHTTP_OPTION_SERVER_CERT_CONTEXT after the connection is
 * gone), instead of a copy per request. Any thread may take or drop a
 * reference. */
#ifndef WH_UTIL_BLOB_H
#define WH_UTIL_BLOB_H

#include <stdatomic.h>
#include <stddef.h>

struct wh_blob {
  atomic_uint refs;
  size_t len;
  unsigned char bytes[];
};

/* |len| bytes for the caller to fill before sharing, with one reference;
 * NULL when out of memory. */
struct wh_blob *wh_blob_alloc(size_t len);
/* A copy of |len| bytes with one reference; NULL when out of memory. */
struct wh_blob *wh_blob_new(const void *bytes, size_t len);
/* Another reference to |b| (NULL passes through). */
struct wh_blob *wh_blob_ref(struct wh_blob *b);
/* Drops a reference; the last one frees. NULL is ignored. */
void wh_blob_unref(struct wh_blob *b);

#endif
