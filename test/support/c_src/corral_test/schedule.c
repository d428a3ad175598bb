/*
 * Test NIFs for scheduling: the same CPU-bound loop run plain, dirty and
 * yielding, with a state destructor the tests can count.
 */
#include "corral_test.h"

#include <time.h>

static long states_freed;

typedef struct {
    uint64_t i, n, x;
    uint64_t raise_at; /* 0: never */
    uint64_t steps;
} Spin;

static void spin_free(Spin *s)
{
    (void)s;
    __atomic_fetch_add(&states_freed, 1, __ATOMIC_RELAXED);
}

/* One iteration of work the compiler cannot fold away. */
static inline uint64_t spin_step(uint64_t x, uint64_t i) { return x * 6364136223846793005ull + i + 1442695040888963407ull; }

static uint64_t spin_plain(uint64_t n)
{
    uint64_t x = 0;
    for (uint64_t i = 0; i < n; i++) x = spin_step(x, i);
    return x;
}

/* spin(n) on a normal scheduler (blocks it for the whole loop). */
CORRAL_NIF(spin) { return corral_make_u64(c, spin_plain(corral_arg_u64(c, 0))); }

/* The same, listed as dirty CPU in the table. */
CORRAL_NIF(spin_dirty) { return corral_make_u64(c, spin_plain(corral_arg_u64(c, 0))); }

/* spin_yielding(n, raise_at): the same loop in ~1 ms steps; returns
 * {result, steps}; raises at iteration raise_at when it is not 0. */
CORRAL_YIELDING_NIF(spin_yielding, Spin, spin_free)
{
    if (corral_first_step(c)) {
        state->n = corral_arg_u64(c, 0);
        state->raise_at = corral_arg_u64(c, 1);
    }
    state->steps++;
    while (state->i < state->n) {
        if (state->raise_at && state->i == state->raise_at)
            corral_raise(c, "stopped at iteration %llu after %llu steps", (unsigned long long)state->i,
                         (unsigned long long)state->steps);
        state->x = spin_step(state->x, state->i);
        state->i++;
        if (corral_should_yield(c)) return corral_continue(c);
    }
    return enif_make_tuple2(corral_env(c), corral_make_u64(c, state->x), corral_make_u64(c, state->steps));
}

CORRAL_NIF(yield_states_freed) { return corral_make_i64(c, __atomic_load_n(&states_freed, __ATOMIC_RELAXED)); }

/* Yield helpers outside a yielding NIF are a bug in the NIF. */
CORRAL_NIF(should_yield_plain) { return corral_make_bool(c, corral_should_yield(c)); }
CORRAL_NIF(continue_plain) { return corral_continue(c); }
CORRAL_NIF(first_step_plain) { return corral_make_bool(c, corral_first_step(c)); }

/* {== thread jobs ==} */

static long jobs_cancelled;

/* spin_thread(n): the spin loop on the thread pool, polling for
 * cancellation every 2^20 iterations. */
CORRAL_THREAD_NIF(spin_thread)
{
    uint64_t n = corral_arg_u64(c, 0), x = 0;
    for (uint64_t i = 0; i < n; i++) {
        x = spin_step(x, i);
        if ((i & 0xFFFFF) == 0 && corral_cancelled(c)) {
            __atomic_fetch_add(&jobs_cancelled, 1, __ATOMIC_RELAXED);
            return corral_make_nil(c);
        }
    }
    return corral_make_u64(c, x);
}

/* sleep_thread(ms): sleeps in 1 ms steps, stopping when cancelled. */
CORRAL_THREAD_NIF(sleep_thread)
{
    int64_t ms = corral_arg_int_range(c, 0, 0, 60000);
    struct timespec step = {0, 1000000};
    for (int64_t k = 0; k < ms; k++) {
        if (corral_cancelled(c)) {
            __atomic_fetch_add(&jobs_cancelled, 1, __ATOMIC_RELAXED);
            return corral_make_nil(c);
        }
        nanosleep(&step, NULL);
    }
    return corral_make_i64(c, ms);
}

/* alloc_steps(steps): a yielding NIF that takes scratch memory in every
 * step, for the allocation-failure sweep; frees counted by its destructor. */
typedef struct {
    int64_t steps, done, total;
} AllocSteps;
static long alloc_steps_freed;
static void alloc_steps_free(AllocSteps *s)
{
    (void)s;
    __atomic_add_fetch(&alloc_steps_freed, 1, __ATOMIC_RELAXED);
}
CORRAL_YIELDING_NIF(alloc_steps, AllocSteps, alloc_steps_free)
{
    if (corral_first_step(c)) state->steps = corral_arg_int_range(c, 0, 1, 100);
    unsigned char *scratch = corral_alloc(c, 200000);
    scratch[199999] = 1;
    state->total += scratch[199999];
    if (++state->done < state->steps) return corral_continue(c);
    return corral_make_i64(c, state->total);
}
CORRAL_NIF(alloc_steps_freed_count) { return corral_make_i64(c, __atomic_load_n(&alloc_steps_freed, __ATOMIC_RELAXED)); }

/* raise_thread(kind): raises from the pool thread after using scratch memory
 * and a cleanup, to check both run there too. */
CORRAL_ATOMS(raise_kinds, "runtime", "argument", "custom", "fields");
/* stubborn_thread(ms): sleeps without ever looking at corral_cancelled. */
CORRAL_THREAD_NIF(stubborn_thread)
{
    int64_t ms = corral_arg_int_range(c, 0, 0, 10000);
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
    return corral_make_i64(c, ms);
}

CORRAL_THREAD_NIF(raise_thread)
{
    unsigned kind = corral_arg_enum(c, 0, &raise_kinds);
    char *scratch = corral_alloc(c, 100000);
    scratch[0] = 1;
    if (kind == 0) corral_raise(c, "raised on a pool thread");
    if (kind == 1) corral_raise_arg(c, 0, "expected something else");
    if (kind == 3)
        corral_raise_fields(c, "Elixir.CorralTest.FieldError",
                            CORRAL_WITH(corral_with_i64("code", 3), corral_with_term("extra", corral_arg(c, 0))),
                            "fields from a thread");
    corral_raise_exception(c, "Elixir.CorralTest.CustomError", "custom from a thread");
}

CORRAL_NIF(jobs_cancelled_count) { return corral_make_i64(c, __atomic_load_n(&jobs_cancelled, __ATOMIC_RELAXED)); }

/* corral_cancelled outside a thread job is simply false. */
CORRAL_NIF(cancelled_plain) { return corral_make_bool(c, corral_cancelled(c)); }

/* counter_add_thread(counter, n): adds 1 n times on a pool thread, taking
 * the counter's write lock for each add, as the processes do. */
CORRAL_RESOURCE_EXTERN(Counter);

CORRAL_THREAD_NIF(counter_add_thread)
{
    Counter *k = corral_arg_resource(c, 0, Counter);
    int64_t n = corral_arg_i64(c, 1);
    for (int64_t i = 0; i < n; i++) {
        corral_defer_id held = corral_write_lock(c, &k->lock);
        k->value += 1;
        corral_run_now(c, held);
    }
    return corral_make_ok(c);
}

/* {== run-time choice of a dirty scheduler ==} */

static ERL_NIF_TERM where_am_i(corral_call *c)
{
    switch (enif_thread_type()) {
    case ERL_NIF_THR_NORMAL_SCHEDULER: return corral_make_atom(c, "normal");
    case ERL_NIF_THR_DIRTY_CPU_SCHEDULER: return corral_make_atom(c, "dirty_cpu");
    case ERL_NIF_THR_DIRTY_IO_SCHEDULER: return corral_make_atom(c, "dirty_io");
    default: return corral_make_atom(c, "other");
    }
}

/* adaptive_sum(bytes, threshold, io?): the sum of the bytes, on a dirty
 * scheduler (IO if io?, else CPU) when there are more than threshold of
 * them; {sum, where it ran}. A lock taken before the move must be released
 * (the counter's, checked by the test taking it afterwards). */
CORRAL_NIF(adaptive_sum)
{
    corral_binary in = corral_arg_binary(c, 0);
    size_t threshold = corral_arg_size(c, 1);
    bool io = corral_arg_bool(c, 2);
    corral_alloc(c, 64); /* scratch memory, freed at the move too */
    if (in.size > threshold && !corral_on_dirty_scheduler(c))
        return corral_schedule_dirty(c, io ? CORRAL_DIRTY_IO : CORRAL_DIRTY_CPU);
    uint64_t sum = 0;
    for (size_t k = 0; k < in.size; k++) sum += in.data[k];
    return enif_make_tuple2(c->env, corral_make_u64(c, sum), where_am_i(c));
}

/* adaptive_then_raise(x): moves to a dirty CPU scheduler, then raises there. */
CORRAL_NIF(adaptive_then_raise)
{
    int64_t x = corral_arg_i64(c, 0);
    if (!corral_on_dirty_scheduler(c)) return corral_schedule_dirty(c, CORRAL_DIRTY_CPU);
    return corral_raise_arg(c, 0, "expected a value that is not %lld on a dirty scheduler", (long long)x);
}

/* schedule_dirty_with(flags): corral_schedule_dirty with any flags; listed
 * once as a normal and once as a dirty function. */
CORRAL_NIF(schedule_dirty_with)
{
    return corral_schedule_dirty(c, (int)corral_arg_i64(c, 0));
}

CORRAL_NIF(schedule_dirty_from_dirty)
{
    return corral_schedule_dirty(c, (int)corral_arg_i64(c, 0));
}

typedef struct {
    int unused;
} NoState;

CORRAL_YIELDING_NIF(schedule_dirty_yielding, NoState, NULL)
{
    (void)state;
    return corral_schedule_dirty(c, CORRAL_DIRTY_CPU);
}

CORRAL_THREAD_NIF(schedule_dirty_thread)
{
    return corral_schedule_dirty(c, CORRAL_DIRTY_CPU);
}
