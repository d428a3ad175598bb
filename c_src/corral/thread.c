/*
 * thread.c: thread jobs. A pool of native threads (see "The pool") runs
 * CORRAL_THREAD_NIF bodies. Each job is a resource: the caller's term, the queue and the
 * worker each hold a reference, so it is freed exactly once, whether it
 * ran, was cancelled, or its caller died. The job monitors its caller; the
 * down callback (or Corral.Job.cancel/2) sets the cancelled flag, which the
 * body can poll and which drops the reply. A body may also send items to
 * its caller while it runs (corral_emit, "Items"), against credit the
 * caller grants as it takes them.
 */
#include "corral_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct corral_job {
    const corral__thread_desc *desc;
    ErlNifEnv *env; /* the job's own env: argument copies, then the reply */
    int argc;
    ErlNifPid caller;
    atomic_int cancelled;
    struct corral_job *next; /* queue link */
    /* corral_on_cancel: how to interrupt the body, while it is set. The
     * lock makes clearing it wait for an interrupt already running. */
    corral_mutex interrupt_lock;
    void (*interrupt)(void *arg);
    void *interrupt_arg;
    /* corral_emit: items the caller has room for (it starts with
     * CORRAL_EMIT_WINDOW and the caller's acks add to it), the env items
     * travel in (made on the first emit, cleared after each send), and whether
     * the body waits for credit (under pool.lock: such a thread does not
     * count as able to take work). */
    atomic_int credit;
    ErlNifEnv *item_env;
    bool waiting_credit;
    ERL_NIF_TERM argv[];
} corral_job;

static void job_free(corral_job *job)
{
    if (job->env) enif_free_env(job->env);
    job->env = NULL;
    if (job->item_env) enif_free_env(job->item_env);
    job->item_env = NULL;
}
CORRAL_RESOURCE(corral_job, job_free);

static void pool_job_cancelled(void);

/* The job's caller gave up: the flag, then the body's interrupt if it has
 * one set (on the thread that cancels: a scheduler). */
static bool cancel_job(corral_job *job)
{
    if (atomic_exchange(&job->cancelled, 1)) return false;
    corral_mutex_lock(&job->interrupt_lock);
    if (job->interrupt) job->interrupt(job->interrupt_arg);
    corral_mutex_unlock(&job->interrupt_lock);
    pool_job_cancelled();
    return true;
}

static void job_down(corral_job *job, ErlNifEnv *env, const ErlNifPid *pid)
{
    (void)env;
    (void)pid;
    cancel_job(job);
}
CORRAL_RESOURCE_ON_DOWN(corral_job, job_down);

/* {======================================================================
 * The pool
 *
 * Threads are started as jobs arrive, up to the pool's size (one per
 * scheduler, or CORRAL_THREADS). A job whose caller gave up (a timeout,
 * Corral.Job.cancel/2, the caller's death) may go on running if its C code
 * never looks at corral_cancelled(c); the thread it holds then does not
 * count, and the pool starts another one when work waits, so such jobs
 * cannot starve the others. Extra threads leave when they find no work.
 * Threads are detached: nothing ever waits for one on a scheduler. When the
 * library unloads, the threads finish the jobs already submitted (every
 * caller gets its reply) and leave; the library's image stays mapped for
 * them (corral__keep_image_mapped), so an unload never waits for them.
 * ======================================================================= */

#define MAX_THREADS 256

/* Work other than jobs: a function and its argument (corral__pool_task). */
typedef struct pool_task {
    void (*fn)(void *arg);
    void *arg;
    struct pool_task *next;
} pool_task;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t credit; /* a job waiting in corral_emit may go on */
    corral_job *head, *tail;
    pool_task *tasks; /* run before jobs, in any order */
    bool stopping;
    int size;                         /* threads wanted; 0 until the first job */
    int nthreads;                     /* alive */
    int idle;                         /* waiting for work */
    bool used[MAX_THREADS];           /* slots of alive threads */
    corral_job *running[MAX_THREADS]; /* the job each slot runs, or NULL */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, NULL, false, 0, 0, 0, {0}, {0}};

static bool run_body(corral_call *c, const corral__thread_desc *d, ERL_NIF_TERM *out)
{
    if (CORRAL__SETJMP(c->jmp)) return false;
    *out = d->body(c);
    return true;
}

static void run_job(corral_job *job)
{
    if (atomic_load(&job->cancelled)) return;
    corral_call call;
    corral__call_init(&call, job->env, job->argc, job->argv, job->desc->entry, CORRAL__CALL_THREAD);
    call.job = job;
    ERL_NIF_TERM result, reply;
    bool returned = run_body(&call, job->desc, &result);
    /* Whatever the body interrupts may be gone once its cleanups ran. */
    corral_on_cancel_clear(&call);
    if (returned) {
        corral__end(&call);
        /* Returned between corral_emit_begin and corral_emit: the result
         * may have been made in the item's env, which is freed below. */
        if (call.env != job->env) result = enif_make_copy(job->env, result);
        reply = enif_make_tuple2(job->env, corral__atom_ok, result);
    } else {
        corral__finish(&call);
        /* Raised between corral_emit_begin and corral_emit: the exception
         * was made in the item's env, which is cleared below. */
        ERL_NIF_TERM exception = call.env == job->env ? call.exception : enif_make_copy(job->env, call.exception);
        /* A corral_return_error result is a reply like any other. */
        reply = enif_make_tuple2(job->env, (call.flags & CORRAL__CALL_ERROR_RESULT) ? corral__atom_ok : corral__atom_raise,
                                 exception);
    }
    if (job->item_env) {
        enif_free_env(job->item_env);
        job->item_env = NULL;
    }
    ERL_NIF_TERM self = enif_make_resource(job->env, (char *)job - CORRAL__RESOURCE_HEADER);
    ERL_NIF_TERM msg = enif_make_tuple3(job->env, corral__atom_corral_reply, self, reply);
    /* Checked and sent under the lock a cancel takes: once
     * Corral.Job.cancel/2 returns, no reply is on its way. */
    corral_mutex_lock(&job->interrupt_lock);
    if (!atomic_load(&job->cancelled)) enif_send(NULL, &job->caller, job->env, msg);
    corral_mutex_unlock(&job->interrupt_lock);
    enif_free_env(job->env);
    job->env = NULL;
}

static void *worker(void *arg)
{
    int slot = (int)(intptr_t)arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.head == NULL && pool.tasks == NULL && !pool.stopping) {
            pool.idle++;
            pthread_cond_wait(&pool.wake, &pool.lock);
            pool.idle--;
        }
        if (pool.tasks) {
            pool_task *t = pool.tasks;
            pool.tasks = t->next;
            pthread_mutex_unlock(&pool.lock);
            t->fn(t->arg);
            enif_free(t);
            pthread_mutex_lock(&pool.lock);
            continue;
        }
        if (pool.head == NULL) break; /* stopping, and nothing left to run */
        corral_job *job = pool.head;
        pool.head = job->next;
        if (pool.head == NULL) pool.tail = NULL;
        pool.running[slot] = job;
        pthread_mutex_unlock(&pool.lock);
        run_job(job);
        /* Out of pool.running before the queue's reference goes: that may
         * be the last one, and useful_threads reads running jobs (from the
         * job's down callback, on another thread) under the lock. */
        pthread_mutex_lock(&pool.lock);
        pool.running[slot] = NULL;
        pthread_mutex_unlock(&pool.lock);
        corral_resource_release(job);
        pthread_mutex_lock(&pool.lock);
        /* A thread started beside one held by a cancelled job leaves when idle. */
        if (pool.head == NULL && pool.tasks == NULL && pool.nthreads > pool.size) break;
    }
    pool.used[slot] = false;
    pool.nthreads--;
    bool drained = pool.stopping && pool.nthreads == 0;
    pthread_mutex_unlock(&pool.lock);
    if (drained) corral__pool_drained();
    return NULL;
}

static int pool_size(void)
{
    const char *env = getenv("CORRAL_THREADS");
    int n = env ? atoi(env) : 0;
    if (n <= 0) {
        ErlNifSysInfo info;
        enif_system_info(&info, sizeof info);
        n = info.scheduler_threads > 0 ? info.scheduler_threads : 1;
    }
    return n > MAX_THREADS ? MAX_THREADS : n;
}

/* Called with pool.lock held. Threads that can take work: alive ones not
 * held by a job whose caller gave up. */
static int useful_threads(void)
{
    int n = pool.nthreads;
    for (int k = 0; k < MAX_THREADS; k++)
        if (pool.used[k] && pool.running[k] && (atomic_load(&pool.running[k]->cancelled) || pool.running[k]->waiting_credit))
            n--;
    return n;
}

/* Called with pool.lock held: starts threads while work waits with no idle
 * thread for it and fewer than `size` useful ones. False if no thread runs. */
static bool pool_grow(void)
{
    if (pool.size == 0) pool.size = pool_size();
    while ((pool.head || pool.tasks) && pool.idle == 0 && pool.nthreads < MAX_THREADS && useful_threads() < pool.size) {
        int slot = 0;
        while (pool.used[slot]) slot++;
        pthread_attr_t attr;
        pthread_t tid;
        if (pthread_attr_init(&attr) != 0) break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&tid, &attr, worker, (void *)(intptr_t)slot);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        pool.used[slot] = true;
        pool.running[slot] = NULL;
        pool.nthreads++;
    }
    return pool.nthreads > 0;
}

/* A job's caller gave up: if it runs on, another thread may be needed;
 * if it waits in corral_emit, it wakes up to leave. */
static void pool_job_cancelled(void)
{
    pthread_mutex_lock(&pool.lock);
    if (pool.head) pool_grow();
    pthread_cond_broadcast(&pool.credit);
    pthread_mutex_unlock(&pool.lock);
}

bool corral__pool_task(void (*fn)(void *arg), void *arg)
{
    pool_task *t = enif_alloc(sizeof *t);
    if (t == NULL) return false;
    t->fn = fn;
    t->arg = arg;
    pthread_mutex_lock(&pool.lock);
    t->next = pool.tasks;
    pool.tasks = t;
    if (!pool_grow()) {
        pool.tasks = t->next;
        pthread_mutex_unlock(&pool.lock);
        enif_free(t);
        return false;
    }
    pthread_cond_signal(&pool.wake);
    bool stopping = pool.stopping;
    pthread_mutex_unlock(&pool.lock);
    /* After the unload, the task still runs this image's code. */
    if (stopping) corral__keep_image_mapped();
    return true;
}

bool corral__pool_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.stopping = true;
    pthread_cond_broadcast(&pool.wake);
    bool running = pool.nthreads > 0;
    pthread_mutex_unlock(&pool.lock);
    /* The threads finish the submitted jobs in this image, after the unload. */
    if (running) corral__keep_image_mapped();
    return running;
}

/* }====================================================================== */

ERL_NIF_TERM corral__job_submit(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[], const corral__thread_desc *d)
{
    corral_call call;
    corral__call_init(&call, env, argc, argv, d->entry, 0);
    if (CORRAL__SETJMP(call.jmp)) return corral__unwound(&call);

    corral_job *job = corral_resource_new(&call, corral_job, (size_t)argc * sizeof(ERL_NIF_TERM));
    job->desc = d;
    job->argc = argc;
    atomic_store(&job->credit, CORRAL_EMIT_WINDOW);
    /* Constructed from here: whatever fails below, job_free frees the env. */
    ERL_NIF_TERM term = corral_make_resource(&call, job);
    job->env = corral__alloc_fails() ? NULL : enif_alloc_env();
    if (job->env == NULL) corral_raise_oom(&call, sizeof *job);
    for (int k = 0; k < argc; k++) job->argv[k] = enif_make_copy(job->env, argv[k]);
    job->caller = corral_self(&call);
    if (!corral_monitor(&call, job, &job->caller, NULL)) atomic_store(&job->cancelled, 1);

    pthread_mutex_lock(&pool.lock);
    corral_resource_keep(job); /* the queue's reference */
    job->next = NULL;
    if (pool.tail)
        pool.tail->next = job;
    else
        pool.head = job;
    pool.tail = job;
    if (!pool_grow()) {
        /* No thread could start: take the job (the tail) back out. */
        corral_job *prev = NULL;
        for (corral_job *j = pool.head; j != job; j = j->next) prev = j;
        if (prev) prev->next = NULL; else pool.head = NULL;
        pool.tail = prev;
        pthread_mutex_unlock(&pool.lock);
        corral_resource_release(job);
        corral_raise(&call, "could not start Corral's thread pool");
    }
    pthread_cond_signal(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    corral__end(&call);
    return term;
}

bool corral_cancelled(corral_call *c)
{
    if (!(c->flags & CORRAL__CALL_THREAD)) return corral__watch_cancelled(c);
    return atomic_load(&c->job->cancelled) != 0;
}

void corral_on_cancel(corral_call *c, void (*interrupt)(void *arg), void *arg)
{
    if (!(c->flags & CORRAL__CALL_THREAD)) {
        corral__watch_on_cancel(c, interrupt, arg);
        return;
    }
    corral_job *job = c->job;
    corral_mutex_lock(&job->interrupt_lock);
    job->interrupt = interrupt;
    job->interrupt_arg = arg;
    /* Cancelled before the body got here: interrupt at once, so the call
     * the body is about to make stops early. */
    if (interrupt && atomic_load(&job->cancelled)) interrupt(arg);
    corral_mutex_unlock(&job->interrupt_lock);
}

void corral_on_cancel_clear(corral_call *c)
{
    if (!(c->flags & CORRAL__CALL_THREAD)) {
        corral__watch_clear(c);
        return;
    }
    corral_job *job = c->job;
    corral_mutex_lock(&job->interrupt_lock);
    job->interrupt = NULL;
    job->interrupt_arg = NULL;
    corral_mutex_unlock(&job->interrupt_lock);
}

/* __corral_cancel__(job): marks a job cancelled; true if it was not yet. */
ERL_NIF_TERM corral__cancel_nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    (void)argc;
    void *base;
    if (!enif_get_resource(env, argv[0], corral_job__corral_type.rt, &base)) return enif_make_badarg(env);
    corral_job *job = (corral_job *)((char *)base + CORRAL__RESOURCE_HEADER);
    return cancel_job(job) ? corral__atom_true : corral__atom_false;
}

/* {======================================================================
 * Items
 *
 * corral_emit sends {corral_item, Job, Item} to the caller. Each send
 * spends one credit; the caller's acks (__corral_ack__/2, after it took
 * items from its mailbox) give them back, so at most CORRAL_EMIT_WINDOW
 * items wait in its mailbox. Without credit the body waits on pool.credit,
 * and its thread stops counting as able to take work (pool_grow may start
 * another). A cancel wakes it, and the body unwinds from corral_emit.
 * ======================================================================= */

static corral_job *emitting_job(corral_call *c, const char *fn)
{
    if (!(c->flags & CORRAL__CALL_THREAD))
        corral_raise(c, "%s: only a thread job (CORRAL_THREAD_NIF, CORRAL_DEF_THREAD) can send items to its caller", fn);
    corral_job *job = c->job;
    if (job->item_env == NULL) {
        job->item_env = corral__alloc_fails() ? NULL : enif_alloc_env();
        if (job->item_env == NULL) corral_raise_oom(c, sizeof(void *));
    }
    return job;
}

void corral_emit_begin(corral_call *c)
{
    corral_job *job = emitting_job(c, "corral_emit_begin");
    if (c->env == job->item_env) corral_raise(c, "corral_emit_begin: already called; corral_emit sends the item first");
    c->env = job->item_env;
}

/* Spends one credit, waiting for it if none is left; false if the job was
 * cancelled first. */
static bool take_credit(corral_job *job)
{
    for (;;) {
        int have = atomic_load(&job->credit);
        if (atomic_load(&job->cancelled)) return false;
        if (have > 0) {
            if (atomic_compare_exchange_weak(&job->credit, &have, have - 1)) return true;
            continue;
        }
        pthread_mutex_lock(&pool.lock);
        job->waiting_credit = true;
        if (pool.head) pool_grow();
        /* Ack and cancel change their flag, then take pool.lock to
         * broadcast: read under it, neither wake-up is lost. */
        while (atomic_load(&job->credit) <= 0 && !atomic_load(&job->cancelled))
            pthread_cond_wait(&pool.credit, &pool.lock);
        job->waiting_credit = false;
        pthread_mutex_unlock(&pool.lock);
    }
}

void corral_emit(corral_call *c, ERL_NIF_TERM item)
{
    corral_job *job = emitting_job(c, "corral_emit");
    ErlNifEnv *env = job->item_env;
    bool scoped = c->env == env;
    /* Back in the job's env first: a raise below builds its message there. */
    c->env = job->env;
    if (!take_credit(job)) corral_raise(c, "corral_emit: the caller stopped taking items (the job is cancelled)");
    if (!scoped) item = enif_make_copy(env, item);
    ERL_NIF_TERM self = enif_make_resource(env, (char *)job - CORRAL__RESOURCE_HEADER);
    ERL_NIF_TERM msg = enif_make_tuple3(env, corral__atom_corral_item, self, item);
    /* Under the lock a cancel takes, as the reply (run_job). */
    corral_mutex_lock(&job->interrupt_lock);
    bool cancelled = atomic_load(&job->cancelled) != 0;
    if (!cancelled) enif_send(NULL, &job->caller, env, msg);
    corral_mutex_unlock(&job->interrupt_lock);
    /* A send leaves the env invalid until it is cleared; after a cancel
     * nothing was sent, and the item goes. */
    enif_clear_env(env);
    if (cancelled) corral_raise(c, "corral_emit: the caller stopped taking items (the job is cancelled)");
}

/* __corral_ack__(job, n): the caller took n items; the job may send n more. */
ERL_NIF_TERM corral__ack_nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    (void)argc;
    void *base;
    int n;
    if (!enif_get_resource(env, argv[0], corral_job__corral_type.rt, &base)) return enif_make_badarg(env);
    if (!enif_get_int(env, argv[1], &n) || n < 1 || n > CORRAL_EMIT_WINDOW) return enif_make_badarg(env);
    corral_job *job = (corral_job *)((char *)base + CORRAL__RESOURCE_HEADER);
    /* Never beyond the window: a caller acking what it never took gains nothing. */
    int have = atomic_load(&job->credit);
    while (!atomic_compare_exchange_weak(&job->credit, &have, have + n > CORRAL_EMIT_WINDOW ? CORRAL_EMIT_WINDOW : have + n)) {
    }
    /* Only a job without credit can be waiting; its check of the credit
     * and its wait are under pool.lock, so taking it here cannot miss it. */
    if (have <= 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.credit);
        pthread_mutex_unlock(&pool.lock);
    }
    return corral__atom_ok;
}

/* }====================================================================== */
