/*
 * lock.c: the slow paths of Corral's one-word locks (corral.h, section
 * "Locks": taking a free lock and releasing one without waiters are inline
 * there), and the releases as cleanup functions for the locks a call took.
 *
 * Waiting works the way a futex does. On Linux it is one: a waiter sleeps
 * only while the word still holds the value it saw, and a releaser changes
 * the word first and then wakes (one waiter of a mutex: it marks the word
 * contended again when it takes it; every waiter of a read-write lock), so
 * a wake-up is never lost. Elsewhere
 * (and with CORRAL_PORTABLE_LOCKS) the same contract is built from 64
 * mutex/condition-variable buckets chosen by the lock's address: the waiter
 * checks the word under the bucket's mutex before sleeping, the releaser
 * broadcasts under it. Buckets are shared by all locks, so a wake-up may
 * reach threads waiting for another lock; they look again and sleep again.
 * Either way a lock needs neither an init nor a destroy call: zeroed memory
 * is a free lock, and freeing it leaks nothing.
 */
#include "corral_internal.h"

#if defined(__linux__) && !defined(CORRAL_PORTABLE_LOCKS)

#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's futex operations (its stable ABI, linux/futex.h), written
 * here: a musl toolchain without the kernel headers (Debian's musl-gcc,
 * Alpine without linux-headers) still builds. */
#ifndef FUTEX_WAIT_PRIVATE
#define FUTEX_WAIT_PRIVATE (0 | 128)
#define FUTEX_WAKE_PRIVATE (1 | 128)
#endif

/* Sleeps while *word == seen (a spurious return only means a look again). */
static void sleep_on(unsigned *word, unsigned seen)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void wake(unsigned *word, int how_many) { syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, how_many, NULL, NULL, 0); }

void corral__lock_wake_one(unsigned *word) { wake(word, 1); }

void corral__lock_wake_all(unsigned *word) { wake(word, INT_MAX); }

#else

#define BUCKETS 64

static struct bucket {
    pthread_mutex_t m;
    pthread_cond_t wake;
} buckets[BUCKETS] = {[0 ... BUCKETS - 1] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER}};

static struct bucket *bucket_of(const unsigned *word)
{
    uintptr_t a = (uintptr_t)word;
    return &buckets[((a >> 4) ^ (a >> 10)) % BUCKETS];
}

static void sleep_on(unsigned *word, unsigned seen)
{
    struct bucket *b = bucket_of(word);
    pthread_mutex_lock(&b->m);
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == seen) pthread_cond_wait(&b->wake, &b->m);
    pthread_mutex_unlock(&b->m);
}

/* A bucket may hold waiters of other locks: wake them all. */
void corral__lock_wake_all(unsigned *word)
{
    struct bucket *b = bucket_of(word);
    pthread_mutex_lock(&b->m);
    pthread_cond_broadcast(&b->wake);
    pthread_mutex_unlock(&b->m);
}

void corral__lock_wake_one(unsigned *word) { corral__lock_wake_all(word); }

#endif

#define WRITER CORRAL__LOCK_WRITER
#define WAITING CORRAL__LOCK_WAITING
#define READER CORRAL__LOCK_READER

static unsigned load(const unsigned *word) { return __atomic_load_n(word, __ATOMIC_RELAXED); }

static bool swap(unsigned *word, unsigned *seen, unsigned want)
{
    return __atomic_compare_exchange_n(word, seen, want, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* The mutex's slow path: mark it contended (2) and sleep until a swap to 2
 * finds it free. */
void corral__mutex_wait(corral_mutex *m)
{
    while (__atomic_exchange_n(&m->state, 2u, __ATOMIC_ACQUIRE) != 0) sleep_on(&m->state, 2u);
}

/* A reader waits only for a writer: it sets the waiting bit so that the
 * writer's release wakes it, then sleeps while the word is unchanged. */
void corral__read_wait(corral_rwlock *l)
{
    for (;;) {
        unsigned s = load(&l->state);
        if (!(s & WRITER)) {
            if (swap(&l->state, &s, s + READER)) return;
            continue;
        }
        if (!(s & WAITING)) {
            if (!swap(&l->state, &s, s | WAITING)) continue;
            s |= WAITING;
        }
        sleep_on(&l->state, s);
    }
}

/* A writer waits for every holder; it keeps the waiting bits it set when
 * it takes the lock free of holders, so that other waiters are woken by its
 * release too. */
void corral__write_wait(corral_rwlock *l)
{
    for (;;) {
        unsigned s = load(&l->state);
        if ((s & ~WAITING) == 0) {
            if (swap(&l->state, &s, s | WRITER)) return;
            continue;
        }
        if (!(s & WAITING)) {
            if (!swap(&l->state, &s, s | WAITING)) continue;
            s |= WAITING;
        }
        sleep_on(&l->state, s);
    }
}

/* The last reader left and someone waits (a writer): clear the bit and
 * wake. If the word changed meanwhile, a new holder has the bit and wakes
 * the waiters when it leaves. */
void corral__read_release_wake(corral_rwlock *l)
{
    unsigned expected = WAITING;
    if (__atomic_compare_exchange_n(&l->state, &expected, 0u, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        corral__lock_wake_all(&l->state);
}

void corral__unlock_mutex(void *m) { corral__mutex_release(m); }

void corral__unlock_read(void *l) { corral__read_release(l); }

void corral__unlock_write(void *l) { corral__write_release(l); }
