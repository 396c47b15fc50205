/* see proxy_version.h */
#include "core/proxy_version.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/desktop_proxy.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool seen;
static uint64_t last;
static DWORD version;

DWORD wh_user_proxy_versioned(struct wh_ie_proxy *out, DWORD *v)
{
  DWORD err = wh_user_proxy(out);
  if (err != ERROR_SUCCESS)
    return err;
  uint64_t fp = wh_ie_proxy_fingerprint(WH_FINGERPRINT_SEED, out);
  pthread_mutex_lock(&lock);
  if (!seen || fp != last) {
    seen = true;
    last = fp;
    /* 2^32 observed changes wrap to 0, which is skipped: 0 reads as "no
     * version" to a caller that initialised its copy to 0. */
    if (++version == 0)
      version = 1;
  }
  *v = version;
  pthread_mutex_unlock(&lock);
  return ERROR_SUCCESS;
}
