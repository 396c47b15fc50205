/* The request target WinHttpOpenRequest builds from its object name.
 *
 * Windows escapes the object name according to the open flags
 * (WINHTTP_FLAG_ESCAPE_PERCENT, WINHTTP_FLAG_ESCAPE_DISABLE,
 * WINHTTP_FLAG_ESCAPE_DISABLE_QUERY): characters that cannot appear on a
 * request line are percent-encoded from their UTF-8 bytes, and neither CR,
 * LF, NUL nor white space (SP, HTAB, VT, FF) can ever reach the wire raw.
 * See escape.c for the exact rules and their sources.
 */
#ifndef WH_POLICY_ESCAPE_H
#define WH_POLICY_ESCAPE_H

#include <stddef.h>

#include <winhttp.h>

/* Builds the request target for the UTF-8 object name |obj| (|len| bytes,
 * may be empty) under WinHttpOpenRequest |flags|. A '/' is prepended when
 * the name does not start with one (Windows). On success |*out| is a
 * NUL-terminated string owned by the caller (wh_free). Returns
 * ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_escape_request_target(const char *obj, size_t len, DWORD flags, char **out);

#endif
