/* see wh_test.h */
#include "wh_test.h"

#include <stdlib.h>
#include <string.h>

static struct wh_rec *default_rec;

void wh_rec_init(struct wh_rec *r)
{
  memset(r, 0, sizeof(*r));
  pthread_mutex_init(&r->lock, NULL);
}

void wh_rec_set_default(struct wh_rec *r)
{
  default_rec = r;
}

void CALLBACK wh_rec_callback(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct wh_rec *r = ctx ? (struct wh_rec *)ctx : default_rec;
  if (!r)
    return;
  pthread_mutex_lock(&r->lock);
  if (r->n < WH_REC_MAX) {
    struct wh_rec_entry *e = &r->e[r->n++];
    e->handle = h;
    e->context = ctx;
    e->status = status;
    e->info_len = len;
    e->info_handle = NULL;
    if ((status == WINHTTP_CALLBACK_STATUS_HANDLE_CREATED ||
         status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING) && info && len == sizeof(HINTERNET))
      e->info_handle = *(HINTERNET *)info;
  }
  pthread_mutex_unlock(&r->lock);
}

size_t wh_rec_count(struct wh_rec *r, HINTERNET handle, DWORD status)
{
  size_t c = 0;
  pthread_mutex_lock(&r->lock);
  for (size_t i = 0; i < r->n; i++)
    if (r->e[i].status == status && (!handle || r->e[i].handle == handle))
      c++;
  pthread_mutex_unlock(&r->lock);
  return c;
}

long wh_rec_find(struct wh_rec *r, HINTERNET handle, DWORD status)
{
  long found = -1;
  pthread_mutex_lock(&r->lock);
  for (size_t i = 0; i < r->n; i++)
    if (r->e[i].status == status && (!handle || r->e[i].handle == handle)) {
      found = (long)i;
      break;
    }
  pthread_mutex_unlock(&r->lock);
  return found;
}

void *wh_dup_exact(const void *p, size_t n)
{
  void *c = malloc(n ? n : 1);
  assert_non_null(c);
  if (n)
    memcpy(c, p, n);
  return c;
}
