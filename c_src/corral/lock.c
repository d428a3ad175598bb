/*
 * lock.c: releasing the locks a call took (corral_lock, corral_read_lock,
 * corral_write_lock), and, where a zeroed pthread lock is not an unlocked one
 * (see corral.h), Corral's own one-word locks.
 *
 * The one-word locks wait the way a futex does, without needing one: a
 * thread that must wait sleeps on the condition variable of a bucket chosen
 * by the lock's address, after checking under the bucket's mutex that it
 * still must wait; a thread that releases a lock with waiters changes the
 * word first and then wakes the bucket under the same mutex. So a wake-up is
 * never lost, and locks need neither an init nor a destroy call: zeroed
 * memory is a free lock, and freeing it leaks nothing. Buckets are shared by
 * all locks, so a wake-up may reach threads waiting for another lock; they
 * look again and sleep again.
 *
 * Mutex word: 0 free, 1 locked, 2 locked with waiters.
 * Read-write word: bit 0 a writer holds it, bit 1 someone waits, bits 2 and
 * up the number of readers. Readers enter whenever no writer holds the lock
 * (as glibc's default read-write lock does).
 */
#include "corral_internal.h"

void corral__unlock_mutex(void *m);
void corral__unlock_rwlock(void *l);

#if defined(__linux__) && !defined(CORRAL_PORTABLE_LOCKS)

void corral__unlock_mutex(void *m) { pthread_mutex_unlock(&((corral_mutex *)m)->m); }

void corral__unlock_rwlock(void *l) { pthread_rwlock_unlock(&((corral_rwlock *)l)->l); }

#else

#define WRITER 1u
#define WAITING 2u
#define READER 4u

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

static unsigned load(const unsigned *word) { return __atomic_load_n(word, __ATOMIC_RELAXED); }

static bool swap(unsigned *word, unsigned *seen, unsigned want)
{
    return __atomic_compare_exchange_n(word, seen, want, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Sleeps while (*word & mask) != 0 and the waiting bit (or, for a mutex,
 * the value 2) is set: the releaser wakes the bucket after changing either. */
static void sleep_while(unsigned *word, unsigned mask, unsigned waiting)
{
    struct bucket *b = bucket_of(word);
    pthread_mutex_lock(&b->m);
    unsigned s = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if ((s & mask) && (s & waiting) == waiting) pthread_cond_wait(&b->wake, &b->m);
    pthread_mutex_unlock(&b->m);
}

static void wake_all(unsigned *word)
{
    struct bucket *b = bucket_of(word);
    pthread_mutex_lock(&b->m);
    pthread_cond_broadcast(&b->wake);
    pthread_mutex_unlock(&b->m);
}

/* The mutex's slow path: mark it contended (2) and sleep until a swap to 2
 * finds it free. */
void corral__mutex_wait(corral_mutex *m)
{
    while (__atomic_exchange_n(&m->state, 2u, __ATOMIC_ACQUIRE) != 0) sleep_while(&m->state, 2u, 2u);
}

void corral__unlock_mutex(void *p)
{
    corral_mutex *m = p;
    if (__atomic_exchange_n(&m->state, 0u, __ATOMIC_RELEASE) == 2u) wake_all(&m->state);
}

void corral__read_wait(corral_rwlock *l)
{
    for (;;) {
        unsigned s = load(&l->state);
        if (!(s & WRITER)) {
            if (swap(&l->state, &s, s + READER)) return;
            continue;
        }
        if (!(s & WAITING) && !swap(&l->state, &s, s | WAITING)) continue;
        sleep_while(&l->state, WRITER, WAITING);
    }
}

void corral__write_wait(corral_rwlock *l)
{
    for (;;) {
        unsigned s = load(&l->state);
        if ((s & ~WAITING) == 0) {
            if (swap(&l->state, &s, s | WRITER)) return;
            continue;
        }
        if (!(s & WAITING) && !swap(&l->state, &s, s | WAITING)) continue;
        sleep_while(&l->state, ~WAITING, WAITING);
    }
}

void corral__unlock_rwlock(void *p)
{
    corral_rwlock *l = p;
    /* The holder is a writer exactly when the writer bit is set: a writer
     * excludes readers. */
    if (load(&l->state) & WRITER) {
        if (__atomic_fetch_and(&l->state, ~(WRITER | WAITING), __ATOMIC_RELEASE) & WAITING) wake_all(&l->state);
        return;
    }
    unsigned before = __atomic_fetch_sub(&l->state, READER, __ATOMIC_RELEASE);
    if (before == (READER | WAITING)) {
        /* The last reader left and someone waits (a writer): clear the bit
         * and wake. If the word changed meanwhile, a new holder has the bit
         * and wakes the waiters when it leaves. */
        unsigned expected = WAITING;
        if (__atomic_compare_exchange_n(&l->state, &expected, 0u, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            wake_all(&l->state);
    }
}

#endif
