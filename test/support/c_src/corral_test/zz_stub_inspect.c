#include "../../../../c_src/corral/corral_internal.h"
#include <stdio.h>
size_t corral__inspect(ErlNifEnv *env, ERL_NIF_TERM term, char *buf, size_t cap)
{
    return (size_t)enif_snprintf(buf, cap, "%T", term);
}
