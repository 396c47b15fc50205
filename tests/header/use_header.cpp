#include "use_header.c"
