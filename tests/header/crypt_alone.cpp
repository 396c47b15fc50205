#include "crypt_alone.c"
