/* see settings.h */
#include "core/settings.h"

#include <string.h>

void wh_settings_defaults(struct wh_settings *s)
{
  memset(s, 0, sizeof(*s));
  s->resolve_timeout = 0;        /* infinite */
  s->connect_timeout = 60000;
  s->send_timeout = 30000;
  s->receive_timeout = 30000;
  s->receive_response_timeout = 0xFFFFFFFFu; /* infinite (Wine's tests, run on Windows) */
}
