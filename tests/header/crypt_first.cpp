#include "crypt_first.c"
