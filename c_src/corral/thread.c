/*
 * thread.c: thread jobs. A fixed pool of native threads (started with the
 * first job, stopped when the library unloads) runs CORRAL_THREAD_NIF
 * bodies. Each job is a resource: the caller's term, the queue and the
 * worker each hold a reference, so it is freed exactly once, whether it
 * ran, was cancelled, or its caller died. The job monitors its caller; the
 * down callback (or Corral.Job.cancel/2) sets the cancelled flag, which the
 * body can poll and which drops the reply.
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
    ERL_NIF_TERM argv[];
} corral_job;

static void job_free(corral_job *job)
{
    if (job->env) enif_free_env(job->env);
    job->env = NULL;
}
CORRAL_RESOURCE(corral_job, job_free);

static void job_down(corral_job *job, ErlNifEnv *env, const ErlNifPid *pid)
{
    (void)env;
    (void)pid;
    atomic_store(&job->cancelled, 1);
}
CORRAL_RESOURCE_ON_DOWN(corral_job, job_down);

/* {======================================================================
 * The pool
 * ======================================================================= */

#define MAX_THREADS 256

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    corral_job *head, *tail;
    bool started, stopping;
    int nthreads;
    ErlNifTid threads[MAX_THREADS];
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, false, false, 0, {0}};

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
    if (run_body(&call, job->desc, &result)) {
        corral__end(&call);
        reply = enif_make_tuple2(job->env, corral__atom_ok, result);
    } else {
        corral__finish(&call);
        reply = enif_make_tuple2(job->env, corral__atom_raise, call.exception);
    }
    if (atomic_load(&job->cancelled)) return;
    ERL_NIF_TERM self = enif_make_resource(job->env, (char *)job - CORRAL__RESOURCE_HEADER);
    ERL_NIF_TERM msg = enif_make_tuple3(job->env, corral__atom_corral_reply, self, reply);
    enif_send(NULL, &job->caller, job->env, msg);
    enif_free_env(job->env);
    job->env = NULL;
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        while (pool.head == NULL && !pool.stopping) pthread_cond_wait(&pool.wake, &pool.lock);
        if (pool.stopping) {
            pthread_mutex_unlock(&pool.lock);
            return NULL;
        }
        corral_job *job = pool.head;
        pool.head = job->next;
        if (pool.head == NULL) pool.tail = NULL;
        pthread_mutex_unlock(&pool.lock);
        run_job(job);
        corral_resource_release(job); /* the queue's reference */
    }
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

/* Called with pool.lock held. */
static bool pool_start(void)
{
    if (pool.started) return true;
    int n = pool_size();
    for (int k = 0; k < n; k++) {
        if (enif_thread_create("corral_worker", &pool.threads[k], worker, NULL, NULL) != 0) break;
        pool.nthreads++;
    }
    pool.started = pool.nthreads > 0;
    return pool.started;
}

void corral__pool_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    if (!pool.started) {
        pthread_mutex_unlock(&pool.lock);
        return;
    }
    pool.stopping = true;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int k = 0; k < pool.nthreads; k++) enif_thread_join(pool.threads[k], NULL);
    /* Jobs still queued never run; their queue references go. */
    while (pool.head) {
        corral_job *job = pool.head;
        pool.head = job->next;
        corral_resource_release(job);
    }
    pool.tail = NULL;
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
    /* Constructed from here: whatever fails below, job_free frees the env. */
    ERL_NIF_TERM term = corral_make_resource(&call, job);
    job->env = enif_alloc_env();
    if (job->env == NULL) corral_raise_oom(&call, sizeof *job);
    for (int k = 0; k < argc; k++) job->argv[k] = enif_make_copy(job->env, argv[k]);
    job->caller = corral_self(&call);
    if (!corral_monitor(&call, job, &job->caller, NULL)) atomic_store(&job->cancelled, 1);

    pthread_mutex_lock(&pool.lock);
    if (!pool_start()) {
        pthread_mutex_unlock(&pool.lock);
        corral_raise(&call, "could not start Corral's thread pool");
    }
    corral_resource_keep(job); /* the queue's reference */
    job->next = NULL;
    if (pool.tail)
        pool.tail->next = job;
    else
        pool.head = job;
    pool.tail = job;
    pthread_cond_signal(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    corral__end(&call);
    return term;
}

bool corral_cancelled(corral_call *c)
{
    if (!(c->flags & CORRAL__CALL_THREAD)) return false;
    return atomic_load(&c->job->cancelled) != 0;
}

/* __corral_cancel__(job): marks a job cancelled; true if it was not yet. */
ERL_NIF_TERM corral__cancel_nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    (void)argc;
    void *base;
    if (!enif_get_resource(env, argv[0], corral_job__corral_type.rt, &base)) return enif_make_badarg(env);
    corral_job *job = (corral_job *)((char *)base + CORRAL__RESOURCE_HEADER);
    return atomic_exchange(&job->cancelled, 1) ? corral__atom_false : corral__atom_true;
}
