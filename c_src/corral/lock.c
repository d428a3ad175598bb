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
 *
 * With CORRAL_VM_LOCKS a lock is instead a pointer to an erl_nif lock, made
 * the first time it is taken (second section). Those must be destroyed, and
 * the code that takes a lock never says when its memory goes, so every lock
 * made is registered by its address: the VM's destructor of a resource
 * object destroys those inside the object, a lock made again at an address
 * that had one (memory freed and reused) destroys the old one, and the
 * unload of the library destroys the rest.
 */
#include "corral_internal.h"

#ifndef CORRAL_VM_LOCKS

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

void corral_mutex_forget(corral_mutex *m) { (void)m; }

void corral_rwlock_forget(corral_rwlock *l) { (void)l; }

size_t corral_vm_lock_count(void) { return 0; }

void corral__vm_locks_forget_range(void *from, size_t bytes)
{
    (void)from;
    (void)bytes;
}

void corral__vm_locks_move_range(void *from, size_t bytes, void *to)
{
    (void)from;
    (void)bytes;
    (void)to;
}

void corral__vm_locks_forget_all(void) {}

#else /* CORRAL_VM_LOCKS */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every erl_nif lock made for a lock word, sorted by the word's address. */
typedef struct {
    uintptr_t at;
    void *vm;
    bool rw;
} registered;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static registered *registry;
static size_t registry_count, registry_cap;

/* The first entry at or after `at`. */
static size_t lower_bound(uintptr_t at)
{
    size_t lo = 0, hi = registry_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (registry[mid].at < at) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static void destroy_vm_lock(const registered *r)
{
    if (r->rw) enif_rwlock_destroy(r->vm); else enif_mutex_destroy(r->vm);
}

/* The VM cannot go on without memory for a lock its code needs (its own
 * lock allocations end it the same way): say which and stop. */
static void no_memory_for_lock(const char *what)
{
    fprintf(stderr, "Corral (%s): no memory for an erl_nif lock (%s)\n", corral__lib.module ? corral__lib.module : "?", what);
    abort();
}

/* Called with the registry locked. A lock already registered at `at`
 * lived in memory freed without corral_*_forget and used again. */
static void add(uintptr_t at, void *vm, bool rw)
{
    size_t i = lower_bound(at);
    if (i < registry_count && registry[i].at == at) {
        destroy_vm_lock(&registry[i]);
        registry[i] = (registered){at, vm, rw};
        return;
    }
    if (registry_count == registry_cap) {
        size_t cap = registry_cap ? registry_cap * 2 : 64;
        registered *grown = enif_realloc(registry, cap * sizeof *grown);
        if (grown == NULL) no_memory_for_lock("registry");
        registry = grown;
        registry_cap = cap;
    }
    memmove(&registry[i + 1], &registry[i], (registry_count - i) * sizeof *registry);
    registry[i] = (registered){at, vm, rw};
    registry_count++;
}

/* "Elixir.Db.Native[mutex conn.c:42]". The part before "[" is the kind
 * the debug emulator's order checker orders locks by (at most 32 kinds in
 * the whole VM, 63 bytes each): one per library. Finer kinds would soon
 * pass the limit, and would make legitimate nesting an abort: it orders
 * kinds, not instances, so a mutex, then a read-write lock, then another
 * mutex is a cycle to it. The rest (lcnt shows the whole name) says what
 * the lock is and where it was first taken. */
static void lock_name(char *buf, size_t cap, const char *kind, const char *site)
{
    const char *base = strrchr(site, '/');
    snprintf(buf, cap, "%.60s[%s %s]", corral__lib.module ? corral__lib.module : "corral", kind, base ? base + 1 : site);
}

/* Made by the first thread to take the lock; a thread that loses the race
 * to publish its own destroys it and uses the winner's. */
ErlNifMutex *corral__vm_mutex(corral_mutex *m, const char *site)
{
    char name[160];
    lock_name(name, sizeof name, "mutex", site);
    ErlNifMutex *made = enif_mutex_create(name);
    if (made == NULL) no_memory_for_lock(name);
    pthread_mutex_lock(&registry_lock);
    ErlNifMutex *seen = NULL;
    if (!__atomic_compare_exchange_n(&m->vm, &seen, made, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&registry_lock);
        enif_mutex_destroy(made);
        return seen;
    }
    add((uintptr_t)m, made, false);
    pthread_mutex_unlock(&registry_lock);
    return made;
}

ErlNifRWLock *corral__vm_rwlock(corral_rwlock *l, const char *site)
{
    char name[160];
    lock_name(name, sizeof name, "rwlock", site);
    ErlNifRWLock *made = enif_rwlock_create(name);
    if (made == NULL) no_memory_for_lock(name);
    pthread_mutex_lock(&registry_lock);
    ErlNifRWLock *seen = NULL;
    if (!__atomic_compare_exchange_n(&l->vm, &seen, made, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&registry_lock);
        enif_rwlock_destroy(made);
        return seen;
    }
    add((uintptr_t)l, made, true);
    pthread_mutex_unlock(&registry_lock);
    return made;
}

/* Takes the entry of the lock word at `at` out of the registry and
 * destroys its lock, if it has one. */
static void forget(void *word)
{
    pthread_mutex_lock(&registry_lock);
    size_t i = lower_bound((uintptr_t)word);
    if (i < registry_count && registry[i].at == (uintptr_t)word) {
        destroy_vm_lock(&registry[i]);
        memmove(&registry[i], &registry[i + 1], (registry_count - i - 1) * sizeof *registry);
        registry_count--;
    }
    pthread_mutex_unlock(&registry_lock);
}

void corral_mutex_forget(corral_mutex *m)
{
    forget(m);
    __atomic_store_n(&m->vm, NULL, __ATOMIC_RELEASE);
}

void corral_rwlock_forget(corral_rwlock *l)
{
    forget(l);
    __atomic_store_n(&l->vm, NULL, __ATOMIC_RELEASE);
}

size_t corral_vm_lock_count(void)
{
    pthread_mutex_lock(&registry_lock);
    size_t n = registry_count;
    pthread_mutex_unlock(&registry_lock);
    return n;
}

/* The memory [from, from + bytes) goes (a resource object's): its locks
 * with it. */
void corral__vm_locks_forget_range(void *from, size_t bytes)
{
    uintptr_t lo = (uintptr_t)from, hi = lo + bytes;
    pthread_mutex_lock(&registry_lock);
    size_t i = lower_bound(lo), j = i;
    while (j < registry_count && registry[j].at < hi) destroy_vm_lock(&registry[j++]);
    memmove(&registry[i], &registry[j], (registry_count - j) * sizeof *registry);
    registry_count -= j - i;
    pthread_mutex_unlock(&registry_lock);
}

/* The bytes of [from, from + bytes) were copied to `to` (a destructor run
 * later from a copy): the locks in them now belong to the copy. */
void corral__vm_locks_move_range(void *from, size_t bytes, void *to)
{
    uintptr_t lo = (uintptr_t)from, hi = lo + bytes;
    pthread_mutex_lock(&registry_lock);
    for (;;) {
        size_t i = lower_bound(lo);
        if (i == registry_count || registry[i].at >= hi) break;
        registered r = registry[i];
        memmove(&registry[i], &registry[i + 1], (registry_count - i - 1) * sizeof *registry);
        registry_count--;
        add((uintptr_t)to + (r.at - lo), r.vm, r.rw);
    }
    pthread_mutex_unlock(&registry_lock);
}

/* The library is unloaded and nothing runs its code any more. */
void corral__vm_locks_forget_all(void)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < registry_count; i++) destroy_vm_lock(&registry[i]);
    enif_free(registry);
    registry = NULL;
    registry_count = registry_cap = 0;
    pthread_mutex_unlock(&registry_lock);
}

#endif /* CORRAL_VM_LOCKS */

void corral__unlock_mutex(void *m) { corral__mutex_release(m); }

void corral__unlock_read(void *l) { corral__read_release(l); }

void corral__unlock_write(void *l) { corral__write_release(l); }
