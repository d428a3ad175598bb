/*
 * An Erlang module backed by Corral: a counter shared between processes.
 * Built with plain make (see Makefile and ../../corral.mk); the Erlang
 * module counter_nif is generated from the built library (corral_stubs),
 * with its -specs and docs from the declarations below.
 */
#include <corral.h>

typedef struct {
    corral_mutex lock;
    int64_t value;
    bool frozen;
} Counter;

CORRAL_RESOURCE(Counter, NULL);

CORRAL_DEF(new, (res, Counter), (i64, start))
{
    Counter *k = corral_resource_new(c, Counter, 0);
    k->value = start;
    return k;
}
CORRAL_DOC_OF(new, "A new counter holding `Start`.");

/* Overflow raises error:badarith (corral_add_i64); a frozen counter raises
 * error:{counter_frozen, #{value := V, message := Text}}. */
CORRAL_DEF(add, i64, (res, Counter, counter), (i64, delta))
{
    if (delta < -1000000 || delta > 1000000) corral_raise_arg(c, 1, "expected an integer in -1000000..1000000");
    corral_lock(c, &counter->lock);
    if (counter->frozen)
        corral_raise_fields(c, "counter_frozen", CORRAL_WITH(corral_with_i64("value", counter->value)),
                            "the counter is frozen at %lld", (long long)counter->value);
    return counter->value = corral_add_i64(c, counter->value, delta);
}
CORRAL_DOC_OF(add, "Adds `Delta` (at most a million either way) and returns the new value.");

CORRAL_DEF(get, i64, (res, Counter, counter))
{
    corral_lock(c, &counter->lock);
    return counter->value;
}

CORRAL_DEF(freeze, void, (res, Counter, counter))
{
    corral_lock(c, &counter->lock);
    counter->frozen = true;
}
CORRAL_DOC_OF(freeze, "Makes every later `add/2` raise `{counter_frozen, ...}`.");

/* sum_to(N): 1 + 2 + ... + N on Corral's thread pool, stopping early when
 * the caller gives up. */
CORRAL_THREAD_NIF(sum_to)
{
    uint64_t n = corral_arg_u64(c, 0), sum = 0;
    for (uint64_t k = 1; k <= n; k++) {
        if ((k & 0xFFFFF) == 0 && corral_cancelled(c)) return corral_make_atom(c, "cancelled");
        sum = corral_add_u64(c, sum, k);
    }
    return corral_make_u64(c, sum);
}
CORRAL_DOC("sum_to", 1, "sum_to(n :: non_neg_integer()) :: non_neg_integer()",
           "1 + 2 + ... + `N`, computed on Corral's thread pool.");

CORRAL_ERLANG_MODULE(counter_nif,
    CORRAL_EXPORT(new),
    CORRAL_EXPORT(add),
    CORRAL_EXPORT(get),
    CORRAL_EXPORT(freeze),
    CORRAL_FN_THREAD("sum_to", sum_to, 1));
