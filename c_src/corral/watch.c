/*
 * watch.c: cancelling calls on dirty schedulers.
 *
 * A dirty call's caller waits inside the NIF, so it cannot time out, and
 * the VM lets the call run to its end even when the caller is killed. A
 * body that blocks in a C library registers how to interrupt it
 * (corral_on_cancel) and maybe a deadline (corral_cancel_after); one
 * watcher thread per library then interrupts it when the deadline passes
 * or the caller is no longer alive (it asks the VM every POLL_NS).
 *
 * Each watched call has an entry, allocated at its first corral_on_cancel
 * or corral_cancel_after and released by a cleanup of the call, so the
 * entry lives exactly as long as the call, whichever way it ends. The
 * watcher calls the interrupt holding the lock that corral_on_cancel_clear
 * and the release take: once either returns, the interrupt never runs
 * again. The thread starts with the first watched call and is joined when
 * the library unloads (no call of the library runs by then).
 */
#include "corral_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* How often the watcher asks whether callers are alive. */
#define POLL_NS 20000000ull

struct corral__watch {
    struct corral__watch *prev, *next;
    bool linked;
    ErlNifPid caller;
    uint64_t deadline; /* monotonic ns; 0: none */
    void (*interrupt)(void *arg);
    void *interrupt_arg;
    atomic_bool cancelled;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a new deadline, or stop */
    corral__watch *head;
    bool started, stopping;
    pthread_t thread;
} watcher = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t cond_once = PTHREAD_ONCE_INIT;

#ifdef __APPLE__
/* macOS has no pthread_condattr_setclock: its waits are relative instead,
 * which a change of the wall clock does not stretch either. */
static void init_cond(void) { pthread_cond_init(&watcher.wake, NULL); }

static void wait_until(uint64_t until, uint64_t now)
{
    uint64_t d = until > now ? until - now : 0;
    struct timespec rel = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
    pthread_cond_timedwait_relative_np(&watcher.wake, &watcher.lock, &rel);
}
#else
/* The condition variable waits on the monotonic clock, as deadlines do. */
static void init_cond(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&watcher.wake, &attr);
    pthread_condattr_destroy(&attr);
}

static void wait_until(uint64_t until, uint64_t now)
{
    (void)now;
    struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
    pthread_cond_timedwait(&watcher.wake, &watcher.lock, &ts);
}
#endif

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Under the lock. */
static void fire(corral__watch *w)
{
    atomic_store(&w->cancelled, true);
    if (w->interrupt) w->interrupt(w->interrupt_arg);
}

static void *watch_loop(void *unused)
{
    (void)unused;
    /* A process-independent environment: enif_is_process_alive from a
     * thread that is not a scheduler. */
    ErlNifEnv *env = enif_alloc_env();
    pthread_mutex_lock(&watcher.lock);
    while (!watcher.stopping) {
        if (watcher.head == NULL) {
            pthread_cond_wait(&watcher.wake, &watcher.lock);
            continue;
        }
        uint64_t now = now_ns(), next = now + POLL_NS;
        for (corral__watch *w = watcher.head; w; w = w->next) {
            if (atomic_load(&w->cancelled)) continue;
            if ((w->deadline && now >= w->deadline) || (env && !enif_is_process_alive(env, &w->caller)))
                fire(w);
            else if (w->deadline && w->deadline < next)
                next = w->deadline;
        }
        wait_until(next, now);
    }
    pthread_mutex_unlock(&watcher.lock);
    if (env) enif_free_env(env);
    return NULL;
}

/* The call's cleanup: unlinks the entry (waiting for an interrupt running
 * now) and frees it. */
static void release(void *arg)
{
    corral__watch *w = arg;
    pthread_mutex_lock(&watcher.lock);
    if (w->linked) {
        if (w->prev) w->prev->next = w->next; else watcher.head = w->next;
        if (w->next) w->next->prev = w->prev;
    }
    pthread_mutex_unlock(&watcher.lock);
    enif_free(w);
}

static const char *not_cancellable =
    "only a thread job (CORRAL_THREAD_NIF) or a call on a dirty scheduler can be cancelled";

/* The call's entry, made and linked at the first use. */
static corral__watch *entry(corral_call *c, const char *what)
{
    if (c->flags & CORRAL__CALL_WATCHED) return c->watch;
    if (!corral_on_dirty_scheduler(c)) corral_raise(c, "%s: %s", what, not_cancellable);
    corral__watch *w = corral__alloc_fails() ? NULL : enif_alloc(sizeof *w);
    if (w == NULL) corral_raise_oom(c, sizeof *w);
    w->prev = w->next = NULL;
    w->linked = false;
    w->deadline = 0;
    w->interrupt = NULL;
    w->interrupt_arg = NULL;
    atomic_init(&w->cancelled, false);
    enif_self(c->env, &w->caller);
    corral_defer(c, release, w); /* runs release(w) and raises if it cannot */
    pthread_once(&cond_once, init_cond);
    pthread_mutex_lock(&watcher.lock);
    if (!watcher.started && !watcher.stopping) {
        if (pthread_create(&watcher.thread, NULL, watch_loop, NULL) != 0) {
            pthread_mutex_unlock(&watcher.lock);
            corral_raise(c, "%s: could not start the thread that watches dirty calls", what);
        }
        watcher.started = true;
    }
    w->next = watcher.head;
    if (w->next) w->next->prev = w;
    watcher.head = w;
    w->linked = true;
    pthread_cond_signal(&watcher.wake); /* an idle watcher starts polling */
    pthread_mutex_unlock(&watcher.lock);
    c->watch = w;
    c->flags |= CORRAL__CALL_WATCHED;
    return w;
}

void corral__watch_on_cancel(corral_call *c, void (*interrupt)(void *arg), void *arg)
{
    corral__watch *w = entry(c, "corral_on_cancel");
    pthread_mutex_lock(&watcher.lock);
    w->interrupt = interrupt;
    w->interrupt_arg = arg;
    /* Cancelled before the body got here: interrupt at once. */
    if (interrupt && atomic_load(&w->cancelled)) interrupt(arg);
    pthread_mutex_unlock(&watcher.lock);
}

void corral__watch_clear(corral_call *c)
{
    if (!(c->flags & CORRAL__CALL_WATCHED)) return;
    pthread_mutex_lock(&watcher.lock);
    c->watch->interrupt = NULL;
    c->watch->interrupt_arg = NULL;
    pthread_mutex_unlock(&watcher.lock);
}

bool corral__watch_cancelled(corral_call *c)
{
    return (c->flags & CORRAL__CALL_WATCHED) && atomic_load(&c->watch->cancelled);
}

void corral_cancel_after(corral_call *c, uint32_t ms)
{
    if (c->flags & CORRAL__CALL_THREAD)
        corral_raise(c, "corral_cancel_after: a thread job is cancelled by its caller's timeout "
                        "(Corral.Job.await/3 or the module's :job_timeout)");
    corral__watch *w = entry(c, "corral_cancel_after");
    pthread_mutex_lock(&watcher.lock);
    w->deadline = now_ns() + (uint64_t)ms * 1000000ull;
    if (w->deadline == 0) w->deadline = 1;
    pthread_cond_signal(&watcher.wake);
    pthread_mutex_unlock(&watcher.lock);
}

void corral__watch_stop(void)
{
    pthread_mutex_lock(&watcher.lock);
    watcher.stopping = true;
    bool started = watcher.started;
    if (started) pthread_cond_signal(&watcher.wake);
    pthread_mutex_unlock(&watcher.lock);
    if (started) pthread_join(watcher.thread, NULL);
}
