/*
 * The library of the isolated-call benchmark (isolated.exs). It is built
 * twice from this file: as Bench.RoundTrip.Native (loaded in the VM) and as
 * Bench.RoundTrip.Isolated (use Corral, isolate: true), with the module name
 * given by -DROUNDTRIP_MODULE, so both run the same C.
 *
 *   add(a, b)         a + b, as in corral_bench.c
 *   echo(binary)      the binary itself (the copy is the work)
 *   cell_new(v)       a resource holding v
 *   cell_get(cell)    the value of a cell
 *   crash()           a store through a null pointer
 */
#include <corral.h>

CORRAL_NIF(add)
{
    return corral_make_i64(c, corral_arg_i64(c, 0) + corral_arg_i64(c, 1));
}

CORRAL_NIF(echo)
{
    corral_arg_binary(c, 0);
    return corral_arg(c, 0);
}

typedef struct { int64_t value; } Cell;
CORRAL_RESOURCE(Cell, NULL);

CORRAL_NIF(cell_new)
{
    int64_t v = corral_arg_i64(c, 0);
    Cell *k = corral_resource_new(c, Cell, 0);
    k->value = v;
    return corral_make_resource(c, k);
}

CORRAL_NIF(cell_get)
{
    return corral_make_i64(c, corral_arg_resource(c, 0, Cell)->value);
}

CORRAL_NIF(crash)
{
    volatile int *volatile p = NULL;
    *p = 1;
    return corral_make_ok(c);
}

/* One more macro level, so ROUNDTRIP_MODULE expands before CORRAL_MODULE
 * stringifies it. */
#define ROUNDTRIP_ENTRY(mod, ...) CORRAL_MODULE(mod, __VA_ARGS__)
ROUNDTRIP_ENTRY(ROUNDTRIP_MODULE,
    CORRAL_FN("add", add, 2),
    CORRAL_FN("echo", echo, 1),
    CORRAL_FN("cell_new", cell_new, 1),
    CORRAL_FN("cell_get", cell_get, 1),
    CORRAL_FN("crash", crash, 0));
