/*
 * The same CPU-bound loop four ways, for the scheduler-latency benchmark
 * (bench/latency.exs): plain, dirty CPU, yielding, and a thread job.
 */
#include <corral.h>

static inline uint64_t step(uint64_t x, uint64_t i) { return x * 6364136223846793005ull + i + 1442695040888963407ull; }

static uint64_t spin(uint64_t n)
{
    uint64_t x = 0;
    for (uint64_t i = 0; i < n; i++) x = step(x, i);
    return x;
}

CORRAL_NIF(spin_plain) { return corral_make_u64(c, spin(corral_arg_u64(c, 0))); }
CORRAL_NIF(spin_dirty) { return corral_make_u64(c, spin(corral_arg_u64(c, 0))); }

typedef struct {
    uint64_t i, n, x;
} Spin;

CORRAL_YIELDING_NIF(spin_yielding, Spin, NULL)
{
    if (corral_first_step(c)) state->n = corral_arg_u64(c, 0);
    uint64_t i = state->i, n = state->n, x = state->x;
    while (i < n) {
        x = step(x, i);
        i++;
        if (corral_should_yield(c)) {
            state->i = i;
            state->x = x;
            return corral_continue(c);
        }
    }
    return corral_make_u64(c, x);
}

/* The same, asking only every 1024 iterations: for loops whose body is a
 * few nanoseconds, this keeps the check off the critical path. */
CORRAL_YIELDING_NIF(spin_yielding_chunked, Spin, NULL)
{
    if (corral_first_step(c)) state->n = corral_arg_u64(c, 0);
    uint64_t i = state->i, n = state->n, x = state->x;
    while (i < n) {
        x = step(x, i);
        i++;
        if ((i & 1023) == 0 && corral_should_yield(c)) {
            state->i = i;
            state->x = x;
            return corral_continue(c);
        }
    }
    return corral_make_u64(c, x);
}

CORRAL_THREAD_NIF(spin_thread)
{
    uint64_t n = corral_arg_u64(c, 0), x = 0;
    for (uint64_t i = 0; i < n; i++) {
        x = step(x, i);
        if ((i & 0xFFFFF) == 0 && corral_cancelled(c)) break;
    }
    return corral_make_u64(c, x);
}

CORRAL_MODULE(Bench.Latency.Native,
    CORRAL_FN("spin_plain", spin_plain, 1),
    CORRAL_FN_FLAGS("spin_dirty", spin_dirty, 1, CORRAL_DIRTY_CPU),
    CORRAL_FN("spin_yielding", spin_yielding, 1),
    CORRAL_FN("spin_yielding_chunked", spin_yielding_chunked, 1),
    CORRAL_FN_THREAD("spin_thread", spin_thread, 1));
