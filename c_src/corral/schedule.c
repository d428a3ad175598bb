/*
 * schedule.c: yielding NIFs and the debug-build watchdog.
 *
 * A yielding NIF runs in steps. The first step allocates the user's state
 * inside a hidden resource; each step that ends with corral_continue
 * reschedules the continuation with enif_schedule_nif, passing the original
 * arguments plus the state's term. Nothing else refers to that term, so when
 * the work finishes, raises, or the process dies between steps, the
 * resource is garbage collected and the state's destructor runs once.
 */
#include "corral_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The length of one step. erl_nif asks for about 1 ms per NIF call. */
#define STEP_NS 1000000ull
/* Adapt how often the clock is read so that reads come every 25..100 us. */
#define CHECK_MIN_NS 25000ull
#define CHECK_MAX_NS 100000ull
#define STRIDE_MAX (1L << 24)

typedef struct corral_yield_state {
    const corral__yield_desc *desc;
    corral__image *image; /* of the library that made it: desc points there */
    long stride;          /* loop iterations between clock reads, learnt */
    uint64_t step_start;  /* ns */
    uint64_t last_check;  /* ns */
    uint64_t steps;
    _Alignas(16) unsigned char state[]; /* the user's State (32-bit targets
                                          * would put it at 8 mod 16) */
} corral_yield_state;

_Static_assert(offsetof(corral_yield_state, state) % 16 == 0, "the user's state must be 16-aligned");

/* Runs in the code of the library that holds the type: after a reload, a
 * newer one than the library that made the state (and whose image the
 * state holds until here). */
static void yield_state_free(corral_yield_state *y)
{
    y->desc->state_dtor(y->state);
    corral__image_release(y->image);
}
CORRAL_RESOURCE(corral_yield_state, yield_state_free);

uint64_t corral__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *export_name(corral_nif_fn fn)
{
    for (unsigned k = 0; k < corral__lib.count; k++)
        if (corral__lib.exports[k].fptr == fn) return corral__lib.exports[k].name;
    return "corral_yielding_nif";
}

bool corral_on_dirty_scheduler(corral_call *c)
{
    (void)c;
    int type = enif_thread_type();
    return type == ERL_NIF_THR_DIRTY_CPU_SCHEDULER || type == ERL_NIF_THR_DIRTY_IO_SCHEDULER;
}

ERL_NIF_TERM corral_schedule_dirty(corral_call *c, int flags)
{
    if (flags != CORRAL_DIRTY_CPU && flags != CORRAL_DIRTY_IO)
        corral_raise(c, "corral_schedule_dirty: flags must be CORRAL_DIRTY_CPU or CORRAL_DIRTY_IO, got %d", flags);
    if (c->flags & (CORRAL__CALL_YIELDING | CORRAL__CALL_THREAD))
        corral_raise(c, "corral_schedule_dirty: a %s cannot move to a dirty scheduler",
                     (c->flags & CORRAL__CALL_THREAD) ? "thread job" : "yielding NIF");
    if (corral_on_dirty_scheduler(c)) corral_raise(c, "corral_schedule_dirty: the call is on a dirty scheduler already");
    /* The same entry point again: it decodes the arguments anew and the
     * body finds itself on a dirty scheduler. */
    return enif_schedule_nif(c->env, export_name(c->nif), flags, c->nif, c->argc, c->argv);
}

ERL_NIF_TERM corral__yield_run(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[], const corral__yield_desc *d,
                               bool first)
{
    corral_call call;
    /* The state's term travels as a hidden last argument of continuations. */
    corral__call_init(&call, env, first ? argc : argc - 1, argv, d->entry, CORRAL__CALL_YIELDING);
    call.yield = NULL;
    CORRAL__WATCHDOG_START();
    if (CORRAL__SETJMP(call.jmp)) {
        ERL_NIF_TERM raised = corral__unwound(&call);
        CORRAL__WATCHDOG_END(&call);
        return raised;
    }

    corral_yield_state *y;
    ERL_NIF_TERM state_term;
    if (first) {
        y = corral_resource_new(&call, corral_yield_state, d->state_size);
        y->desc = d;
        y->image = corral__image_hold();
        y->stride = 1;
        state_term = corral_make_resource(&call, y);
    } else {
        void *base;
        state_term = argv[argc - 1];
        if (!enif_get_resource(env, state_term, corral_yield_state__corral_type.rt, &base))
            corral_raise(&call, "lost the state of a yielding NIF");
        y = (corral_yield_state *)((char *)base + CORRAL__RESOURCE_HEADER);
    }
    call.yield = y;
    y->step_start = y->last_check = corral__now_ns();
    y->steps++;
    call.yield_countdown = y->stride;

    ERL_NIF_TERM result = d->body(&call, y->state);

    if (call.flags & CORRAL__CALL_CONTINUE) {
        ERL_NIF_TERM next[256];
        memcpy(next, argv, (size_t)call.argc * sizeof *next);
        next[call.argc] = state_term;
        result = enif_schedule_nif(env, export_name(d->entry), 0, d->cont, call.argc + 1, next);
    }
    corral__end(&call);
    CORRAL__WATCHDOG_END(&call);
    return result;
}

void corral__not_yielding(corral_call *c, const char *what)
{
    corral_raise(c, "%s: the function is not a yielding NIF (define it with CORRAL_YIELDING_NIF)", what);
}

bool corral_first_step(corral_call *c)
{
    if (!(c->flags & CORRAL__CALL_YIELDING)) corral__not_yielding(c, "corral_first_step");
    return c->yield->steps == 1;
}

bool corral__yield_check(corral_call *c)
{
    corral_yield_state *y = c->yield;
    uint64_t now = corral__now_ns();
    uint64_t since = now - y->last_check;
    y->last_check = now;
    if (since < CHECK_MIN_NS && y->stride < STRIDE_MAX)
        y->stride *= 2;
    else if (since > CHECK_MAX_NS && y->stride > 1)
        y->stride /= 2;
    c->yield_countdown = y->stride;
    uint64_t used = now - y->step_start;
    if (used < STEP_NS) return false;
    /* Tell the VM this call used its whole slice, so it accounts the step
     * like any process that ran out of reductions. */
    enif_consume_timeslice(c->env, 100);
    return true;
}

ERL_NIF_TERM corral_continue(corral_call *c)
{
    if (!(c->flags & CORRAL__CALL_YIELDING)) corral__not_yielding(c, "corral_continue");
    /* Marks the step as continuing; the driver reschedules instead of
     * returning the (meaningless) result. */
    c->flags |= CORRAL__CALL_CONTINUE;
    return 0;
}

/* {======================================================================
 * Watchdog (debug builds)
 * ======================================================================= */

void corral__watchdog(corral_call *c, uint64_t started)
{
    static uint64_t budget_ns;
    if (budget_ns == 0) {
        const char *env = getenv("CORRAL_WATCHDOG_US");
        long us = env ? atol(env) : 1000;
        budget_ns = (uint64_t)(us > 0 ? us : 1000) * 1000ull;
    }
    uint64_t took = corral__now_ns() - started;
    if (took <= budget_ns || enif_thread_type() != ERL_NIF_THR_NORMAL_SCHEDULER) return;
    char name[CORRAL_NAME_MAX + 64];
    corral__function_name(c, name, sizeof name);
    if (c->flags & CORRAL__CALL_YIELDING)
        fprintf(stderr,
                "corral watchdog: one step of %s held a normal scheduler for %.2f ms (budget %.2f ms): "
                "ask corral_should_yield more often in its loop\n",
                name, (double)took / 1e6, (double)budget_ns / 1e6);
    else
        fprintf(stderr,
                "corral watchdog: %s held a normal scheduler for %.2f ms (budget %.2f ms): "
                "make it dirty (CORRAL_FN_FLAGS), yielding (CORRAL_YIELDING_NIF) or shorter\n",
                name, (double)took / 1e6, (double)budget_ns / 1e6);
}

/* }====================================================================== */
