/*
 * crash.c: the test library of isolated mode (CorralTest.IsolatedNative,
 * use Corral, isolate: true). Some functions crash the process on purpose.
 */
#include <corral.h>
#include <stdio.h>
#include <string.h>
#include "../../../../c_src/corral_isolated/ring_layout.h"
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

/* zeros(n): n zero bytes (a small request with a big reply). */
CORRAL_NIF(zeros)
{
    size_t n = (size_t)corral_arg_int_range(c, 0, 0, 64 * 1024 * 1024);
    ERL_NIF_TERM bin;
    unsigned char *p = enif_make_new_binary(corral_env(c), n, &bin);
    memset(p, 0, n);
    return bin;
}

/* ring_scribble(how): for 5 ms, writes into the shared ring of this native
 * process (found in /proc/self/maps) as a process with corrupted memory
 * could: every slot whose call is being served (this call's too) gets a
 * finished reply of {:ok, -1, false}, with another call's id (how = 0) or
 * with its own id and a length over the slot (how = 1). Returns the number
 * of replies written (if the calling VM has not killed this process by
 * then), or -1 if this process has no ring. */
CORRAL_NIF(ring_scribble)
{
    int64_t how = corral_arg_int_range(c, 0, 0, 1);
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL) return corral_make_int(c, -1);
    char line[512];
    Region *region = NULL;
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long start;
        if (strstr(line, "/corral-ring-") != NULL && sscanf(line, "%lx-", &start) == 1) {
            region = (Region *)start;
            break;
        }
    }
    fclose(maps);
    if (region == NULL) return corral_make_int(c, -1);
    /* term_to_binary({:ok, -1, false}) */
    static const unsigned char forged[] = {131, 104, 3, 100, 0, 2, 'o', 'k', 98, 255, 255, 255, 255, 100, 0, 5, 'f', 'a', 'l', 's', 'e'};
    int written = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int i = 0; i < RING_SLOTS; i++) {
            Slot *s = &region->slot[i];
            if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != TAKEN) continue;
            memcpy(s->data, forged, sizeof forged);
            if (how == 0) {
                s->id = s->id ^ 0x5555555555555555ull;
                s->len = sizeof forged;
            } else {
                s->len = 0xFFFFFFFFu;
            }
            __atomic_store_n(&s->state, REPLY, __ATOMIC_RELEASE);
            written++;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 5000000L);
    return corral_make_int(c, written);
}

CORRAL_MODULE(CorralTest.IsolatedNative,
    CORRAL_FN("zeros", zeros, 1),
    CORRAL_FN_FLAGS("ring_scribble", ring_scribble, 1, CORRAL_DIRTY_CPU),
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
