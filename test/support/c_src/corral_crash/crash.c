/*
 * crash.c: the test library of isolated mode (CorralTest.IsolatedNative,
 * use Corral, isolate: true). Some functions crash the process on purpose.
 */
#include <corral.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

CORRAL_NIF(add)
{
    return corral_make_i64(c, corral_arg_int_range(c, 0, -1000000, 1000000) + corral_arg_int_range(c, 1, -1000000, 1000000));
}

/* echo(term): the term itself, whatever it holds. */
CORRAL_NIF(echo) { return corral_arg(c, 0); }

/* A store through a null pointer: SIGSEGV (under ASan, its report and abort). */
CORRAL_NIF(null_deref)
{
    volatile int *volatile p = NULL;
    *p = 42;
    return corral_make_ok(c);
}

CORRAL_NIF(abort_now)
{
    abort();
    return corral_make_ok(c);
}

/* exit(status) from C: the process ends without a signal. */
CORRAL_NIF(exit_now)
{
    exit((int)corral_arg_int_range(c, 0, 0, 255));
    return corral_make_ok(c);
}

CORRAL_ATOMS(fail_kinds, "argument", "runtime", "custom");

/* fail(kind): raises ArgumentError, RuntimeError or CorralTest.CustomError. */
CORRAL_NIF(fail)
{
    switch (corral_arg_enum(c, 0, &fail_kinds)) {
    case 0: return corral_raise_arg(c, 0, "expected something else");
    case 1: return corral_raise(c, "failed on purpose");
    default: return corral_raise_exception(c, "Elixir.CorralTest.CustomError", "custom failure %d", 7);
    }
}

/* sleep(ms) on a dirty I/O scheduler. */
CORRAL_NIF(sleep_ms)
{
    int64_t ms = corral_arg_int_range(c, 0, 0, 60000);
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&t, &t) != 0) {}
    return corral_make_ok(c);
}

/* block_ms(ms): the same sleep on a normal scheduler, holding it (what a
 * NIF must never do, and isolation must survive). */
CORRAL_NIF(block_ms)
{
    int64_t ms = corral_arg_int_range(c, 0, 0, 60000);
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&t, &t) != 0) {}
    return corral_make_ok(c);
}

/* atom(name): the atom of that name, made in the native process. */
CORRAL_NIF(atom) { return corral_make_atom(c, corral_arg_cstring(c, 0)); }

/* self(): the pid of the process running the call. */
CORRAL_NIF(self_pid)
{
    ErlNifPid pid = corral_self(c);
    return corral_make_pid(c, &pid);
}

typedef struct {
    corral_mutex lock;
    int64_t value;
} Cell;

static int64_t cells_gone;
static void cell_destroy(Cell *k) { (void)k; __atomic_add_fetch(&cells_gone, 1, __ATOMIC_RELAXED); }
CORRAL_RESOURCE(Cell, cell_destroy);

CORRAL_NIF(cell_new)
{
    int64_t v = corral_arg_i64(c, 0);
    Cell *k = corral_resource_new(c, Cell, 0);
    k->value = v;
    return corral_make_resource(c, k);
}

/* cell_add(cell, n): the new value. */
CORRAL_NIF(cell_add)
{
    Cell *k = corral_arg_resource(c, 0, Cell);
    int64_t n = corral_arg_int_range(c, 1, -1000000, 1000000);
    corral_lock(c, &k->lock);
    k->value += n;
    return corral_make_i64(c, k->value);
}

CORRAL_NIF(cells_destroyed)
{
    return corral_make_i64(c, __atomic_load_n(&cells_gone, __ATOMIC_RELAXED));
}

/* A thread job: the sum 0 + 1 + ... + n-1. */
CORRAL_THREAD_NIF(sum_thread)
{
    uint64_t n = corral_arg_u64(c, 0), s = 0;
    for (uint64_t i = 0; i < n; i++) s += i;
    return corral_make_u64(c, s);
}

CORRAL_DOC("add", 2, "add(integer(), integer()) :: integer()", "The sum, computed in the native process.");

/* raw_write(bytes): on a dirty IO scheduler, writes the bytes as they are on the channel to the
 * calling VM (file descriptor 4 of the native process), as a bug that
 * corrupted this process's memory could: the calling VM must not trust
 * what comes from here. */
CORRAL_NIF(raw_write)
{
    corral_binary b = corral_arg_binary(c, 0);
    size_t done = 0;
    while (done < b.size) {
        ssize_t n = write(4, b.data + done, b.size - done);
        if (n <= 0) corral_raise(c, "raw_write: write failed");
        done += (size_t)n;
    }
    /* Every use writes what the calling VM must take as a broken protocol
     * and kill this process for; the call waits for that (up to 10 s), so
     * that it is still in flight then and reports it, whichever way its
     * reply would have gone (the shared ring does not pass the pipe). */
    struct timespec t = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000; i++) nanosleep(&t, NULL);
    return corral_make_ok(c);
}

CORRAL_MODULE(CorralTest.IsolatedNative,
    CORRAL_FN("add", add, 2),
    CORRAL_FN("echo", echo, 1),
    CORRAL_FN("null_deref", null_deref, 0),
    CORRAL_FN("abort_now", abort_now, 0),
    CORRAL_FN("exit_now", exit_now, 1),
    CORRAL_FN("fail", fail, 1),
    CORRAL_FN_FLAGS("sleep_ms", sleep_ms, 1, CORRAL_DIRTY_IO),
    CORRAL_FN("self_pid", self_pid, 0),
    CORRAL_FN("block_ms", block_ms, 1),
    CORRAL_FN("atom", atom, 1),
    CORRAL_FN("cell_new", cell_new, 1),
    CORRAL_FN("cell_add", cell_add, 2),
    CORRAL_FN("cells_destroyed", cells_destroyed, 0),
    CORRAL_FN_FLAGS("raw_write", raw_write, 1, CORRAL_DIRTY_IO),
    CORRAL_FN_THREAD("sum_thread", sum_thread, 1));
