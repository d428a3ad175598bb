/*
 * The hand-offs inside one VM that an isolated call's native side would
 * make: a process wakes a plain thread (poke/0: a futex word; the thread
 * spins up to `spins` pause instructions before it sleeps), and the thread
 * wakes the process back with enif_send while it waits in receive.
 * thread_wake.erl times it. Run by wake.sh.
 */
#define _GNU_SOURCE
#include <erl_nif.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_uint word, sleepers;
static ErlNifPid target;
static long spin_max;
static ErlNifTid tid;

static void *serve(void *arg)
{
    (void)arg;
    ErlNifEnv *env = enif_alloc_env();
    unsigned seen = 0;
    for (;;) {
        long k = 0;
        while (atomic_load(&word) == seen && k++ < spin_max) __builtin_ia32_pause();
        if (atomic_load(&word) == seen) {
            atomic_fetch_add(&sleepers, 1);
            while (atomic_load(&word) == seen) syscall(SYS_futex, &word, FUTEX_WAIT, seen, NULL, NULL, 0);
            atomic_fetch_sub(&sleepers, 1);
        }
        seen = atomic_load(&word);
        enif_send(NULL, &target, env, enif_make_atom(env, "pong"));
        enif_clear_env(env);
    }
    return NULL;
}

static ERL_NIF_TERM start(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    (void)argc;
    enif_self(env, &target);
    enif_get_long(env, argv[0], &spin_max);
    enif_thread_create("thread_wake", &tid, serve, NULL, NULL);
    return enif_make_atom(env, "ok");
}

static ERL_NIF_TERM poke(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    (void)argc;
    (void)argv;
    atomic_fetch_add(&word, 1);
    if (atomic_load(&sleepers)) syscall(SYS_futex, &word, FUTEX_WAKE, 1, NULL, NULL, 0);
    return enif_make_atom(env, "ok");
}

static ErlNifFunc funcs[] = {{"start", 1, start, 0}, {"poke", 0, poke, 0}};
ERL_NIF_INIT(thread_wake, funcs, NULL, NULL, NULL, NULL)
