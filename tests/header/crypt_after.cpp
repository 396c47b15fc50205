#include "crypt_after.c"
