/*
 * emit.c: thread jobs that send items to their caller (corral_emit), for
 * test/job_stream_test.exs. Each records how far it got and whether its
 * cleanups ran, so a test can see a cancelled producer stop.
 */
#include "corral_test.h"

/* Per slot: items its last emit_count job sent, and its jobs whose cleanup
 * ran early. A test that reads the counts gives its job a slot no other
 * test uses, so a job of an earlier test running out late cannot move
 * them. */
#define EMIT_SLOTS 8
static long emit_sent[EMIT_SLOTS];
static long emit_unwound[EMIT_SLOTS];

static void note_unwound(void *slot)
{
    int64_t *s = slot;
    if (*s >= 0) __atomic_fetch_add(&emit_unwound[*s], 1, __ATOMIC_RELAXED);
}

/* emit_count(n, scoped, slot): sends 0..n-1, then returns n. With scoped,
 * each item is {i, <<i::64>>} made after corral_emit_begin. */
CORRAL_THREAD_NIF(emit_count)
{
    int64_t n = corral_arg_int_range(c, 0, 0, INT64_MAX);
    bool scoped = corral_arg_bool(c, 1);
    int64_t slot = corral_arg_int_range(c, 2, 0, EMIT_SLOTS - 1);
    /* The cleanup sees the slot; -1 once the body has finished. */
    int64_t *running = corral_alloc(c, sizeof *running);
    *running = slot;
    corral_defer(c, note_unwound, running);
    __atomic_store_n(&emit_sent[slot], 0, __ATOMIC_RELAXED);
    for (int64_t i = 0; i < n; i++) {
        if (scoped) {
            corral_emit_begin(c);
            uint64_t be = __builtin_bswap64((uint64_t)i);
            corral_emit(c, corral_make_pair(c, corral_make_i64(c, i), corral_make_binary(c, &be, sizeof be)));
        } else {
            corral_emit(c, corral_make_i64(c, i));
        }
        __atomic_store_n(&emit_sent[slot], (long)i + 1, __ATOMIC_RELAXED);
    }
    *running = -1;
    return corral_make_i64(c, n);
}

/* emit_progress(slot): {sent, unwound} of the slot. */
CORRAL_NIF(emit_progress)
{
    int64_t slot = corral_arg_int_range(c, 0, 0, EMIT_SLOTS - 1);
    return corral_make_pair(c, corral_make_i64(c, __atomic_load_n(&emit_sent[slot], __ATOMIC_RELAXED)),
                            corral_make_i64(c, __atomic_load_n(&emit_unwound[slot], __ATOMIC_RELAXED)));
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
