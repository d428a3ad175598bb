/*
 * The Corral side of the benchmarks that the Buffer example does not cover.
 *
 *   add(a, b)   a + b for two 64-bit integers, written with Corral; compare
 *               with add/2 in c_src/handwritten/handwritten.c.
 */
#include <corral.h>

CORRAL_NIF(add)
{
    return corral_make_i64(c, corral_arg_i64(c, 0) + corral_arg_i64(c, 1));
}

CORRAL_MODULE(Bench.CorralNative,
    CORRAL_FN("add", add, 2));
