/*
 * emit.c: thread jobs that send items to their caller (corral_emit), for
 * test/job_stream_test.exs. Each records how far it got and whether its
 * cleanups ran, so a test can see a cancelled producer stop.
 */
#include "corral_test.h"

static long emit_sent;     /* items the last emit_count job sent */
static long emit_unwound;  /* emit_count jobs whose cleanup ran early */
static long emit_latest;   /* which emit_count job started last */

static void note_unwound(void *done)
{
    if (!*(bool *)done) __atomic_fetch_add(&emit_unwound, 1, __ATOMIC_RELAXED);
}

/* emit_count(n, scoped): sends 0..n-1, then returns n. With scoped, each
 * item is {i, <<i::64>>} made after corral_emit_begin. */
CORRAL_THREAD_NIF(emit_count)
{
    int64_t n = corral_arg_int_range(c, 0, 0, INT64_MAX);
    bool scoped = corral_arg_bool(c, 1);
    bool *done = corral_alloc(c, sizeof *done);
    *done = false;
    corral_defer(c, note_unwound, done);
    /* Only the job started last counts: one of an earlier test may still
     * be running out. */
    long me = __atomic_add_fetch(&emit_latest, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&emit_sent, 0, __ATOMIC_RELAXED);
    for (int64_t i = 0; i < n; i++) {
        if (scoped) {
            corral_emit_begin(c);
            uint64_t be = __builtin_bswap64((uint64_t)i);
            corral_emit(c, corral_make_pair(c, corral_make_i64(c, i), corral_make_binary(c, &be, sizeof be)));
        } else {
            corral_emit(c, corral_make_i64(c, i));
        }
        if (__atomic_load_n(&emit_latest, __ATOMIC_RELAXED) == me) __atomic_store_n(&emit_sent, (long)i + 1, __ATOMIC_RELAXED);
    }
    *done = true;
    return corral_make_i64(c, n);
}

CORRAL_NIF(emit_progress)
{
    return corral_make_pair(c, corral_make_i64(c, __atomic_load_n(&emit_sent, __ATOMIC_RELAXED)),
                            corral_make_i64(c, __atomic_load_n(&emit_unwound, __ATOMIC_RELAXED)));
}

/* emit_then_raise(k): sends k items, then raises. */
CORRAL_THREAD_NIF(emit_then_raise)
{
    int64_t k = corral_arg_int_range(c, 0, 0, 1000);
    for (int64_t i = 0; i < k; i++) corral_emit(c, corral_make_i64(c, i));
    corral_raise(c, "failed after %lld items", (long long)k);
}

/* emit_scope_end(how): corral_emit_begin, an item half made, then
 * "raise" raises and "return" returns what was made in the item's scope. */
CORRAL_ATOMS(scope_ends, "raise", "return");
CORRAL_THREAD_NIF(emit_scope_end)
{
    unsigned how = corral_arg_enum(c, 0, &scope_ends);
    corral_emit(c, corral_make_atom(c, "before"));
    corral_emit_begin(c);
    ERL_NIF_TERM made = corral_make_pair(c, corral_make_atom(c, "made"), corral_make_binary(c, "in the scope", 12));
    if (how == 0) corral_raise_fields(c, "Elixir.CorralTest.FieldError", CORRAL_WITH(corral_with_term("extra", made)), "raised in an item's scope");
    return made;
}

/* corral_emit_begin twice, without a corral_emit between. */
CORRAL_THREAD_NIF(emit_begin_twice)
{
    corral_emit_begin(c);
    corral_emit_begin(c);
    return corral_make_nil(c);
}

/* corral_emit and corral_emit_begin outside a thread job. */
CORRAL_NIF(emit_plain) { corral_emit(c, corral_make_i64(c, 1)); return corral_make_nil(c); }
CORRAL_NIF(emit_begin_plain) { corral_emit_begin(c); return corral_make_nil(c); }
