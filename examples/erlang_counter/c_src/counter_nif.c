/*
 * An Erlang module backed by Corral: a counter shared between processes.
 * Built with plain make (see Makefile and ../../corral.mk).
 */
#include <corral.h>

typedef struct {
    corral_mutex lock;
    int64_t value;
} Counter;

CORRAL_RESOURCE(Counter, NULL);

/* new(Start) -> Counter */
CORRAL_NIF(counter_new)
{
    Counter *k = corral_resource_new(c, Counter, 0);
    k->value = corral_arg_i64(c, 0);
    return corral_make_resource(c, k);
}

/* add(Counter, Delta) -> NewValue */
CORRAL_NIF(counter_add)
{
    Counter *k = corral_arg_resource(c, 0, Counter);
    int64_t d = corral_arg_int_range(c, 1, -1000000, 1000000);
    corral_lock(c, &k->lock);
    int64_t sum;
    if (__builtin_add_overflow(k->value, d, &sum)) corral_raise_argument(c, "the counter would overflow");
    k->value = sum;
    return corral_make_i64(c, sum);
}

/* get(Counter) -> Value */
CORRAL_NIF(counter_get)
{
    Counter *k = corral_arg_resource(c, 0, Counter);
    corral_lock(c, &k->lock);
    return corral_make_i64(c, k->value);
}

CORRAL_ERLANG_MODULE(counter_nif,
    CORRAL_FN("new", counter_new, 1),
    CORRAL_FN("add", counter_add, 2),
    CORRAL_FN("get", counter_get, 1));
