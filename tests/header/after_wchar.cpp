#include "after_wchar.c"
