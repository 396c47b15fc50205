/* The Win32 memory helpers WinHTTP obliges its callers to use: proxy strings
 * are GlobalAlloc'd (freed with GlobalFree), certificate strings LocalAlloc'd
 * (freed with LocalFree). On Linux both are the C heap; the handles are plain
 * pointers. Only GMEM_FIXED/LMEM_FIXED semantics exist: GMEM_MOVEABLE blocks
 * would need GlobalLock, which WinHTTP never asks of its callers. */
#include <stdlib.h>

#include <winhttp.h>

static void *heap_alloc(UINT flags, SIZE_T n)
{
  /* 0x40 is GMEM_ZEROINIT and LMEM_ZEROINIT alike. Only the fixed flags are
   * meaningful here; a moveable block cannot be represented. */
  if (flags & ~(UINT)0x40) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return NULL;
  }
  void *p = (flags & 0x40) ? calloc(1, n ? n : 1) : malloc(n ? n : 1);
  if (!p)
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
  return p;
}

HGLOBAL WINAPI GlobalAlloc(UINT uFlags, SIZE_T dwBytes)
{
  return heap_alloc(uFlags, dwBytes);
}

/* Returns NULL on success, as Windows does. */
HGLOBAL WINAPI GlobalFree(HGLOBAL hMem)
{
  free(hMem);
  return NULL;
}

HLOCAL WINAPI LocalAlloc(UINT uFlags, SIZE_T uBytes)
{
  return heap_alloc(uFlags, uBytes);
}

HLOCAL WINAPI LocalFree(HLOCAL hMem)
{
  free(hMem);
  return NULL;
}
