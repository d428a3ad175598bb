/*
 * Test NIFs for the lifecycle of wrapped C libraries: handles that own
 * handles (Conn -> Cursor -> Row), destructors that may block, and thread
 * jobs that a cancel interrupts.
 *
 * Every destructor writes an event ("destroy cursor 3") into one log, read
 * and emptied by lifecycle_events/0, so tests see the order they ran in.
 */
#include <corral.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* {== the event log ==} */

#define EVENTS_MAX 4096

static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[EVENTS_MAX][48];
static unsigned nevents;

static void event(const char *what, int64_t id)
{
    pthread_mutex_lock(&events_lock);
    if (nevents < EVENTS_MAX) snprintf(events[nevents++], sizeof events[0], "%s %lld", what, (long long)id);
    pthread_mutex_unlock(&events_lock);
}

/* lifecycle_events(): the events so far, oldest first; empties the log. */
CORRAL_NIF(lifecycle_events)
{
    pthread_mutex_lock(&events_lock);
    ERL_NIF_TERM list = enif_make_list(c->env, 0);
    for (unsigned k = nevents; k > 0; k--)
        list = enif_make_list_cell(c->env, corral_make_string(c, events[k - 1]), list);
    nevents = 0;
    pthread_mutex_unlock(&events_lock);
    return list;
}

/* {== Conn -> Cursor -> Row ==} */

/* `alive` is what a use after the destructor would see: each destructor
 * clears it, and every read checks the whole chain up to the Conn. */
typedef struct {
    int64_t id;
    int64_t alive;
} Conn;

typedef struct {
    int64_t id;
    int64_t alive;
    int64_t slow_ms; /* cursor_open_slow: the destructor sleeps this long */
} Cursor;

typedef struct {
    int64_t id;
    int64_t alive;
} Row;

/* Declared before their destructors, which reach the parent. */
static void conn_destroy(Conn *conn);
static void cursor_destroy(Cursor *cur);
static void row_destroy(Row *row);
CORRAL_CLOSABLE_RESOURCE(Conn, conn_destroy);
CORRAL_CLOSABLE_RESOURCE(Cursor, cursor_destroy);
CORRAL_CLOSABLE_RESOURCE(Row, row_destroy);
CORRAL_RESOURCE_PARENT(Cursor, Conn);
CORRAL_RESOURCE_PARENT(Row, Cursor);

static void conn_destroy(Conn *conn)
{
    conn->alive = 0;
    event("destroy conn", conn->id);
}

static void cursor_destroy(Cursor *cur)
{
    /* A slow cursor's destructor says it began, sleeps, then writes to
     * the object (which must not have been freed meanwhile; under ASan a
     * write to freed memory aborts). */
    if (cur->slow_ms > 0) {
        event("destroy cursor begins", cur->id);
        struct timespec t = {cur->slow_ms / 1000, (cur->slow_ms % 1000) * 1000000};
        nanosleep(&t, NULL);
    }
    /* The parent must still be whole: its destructor runs after this one. */
    Conn *conn = corral_resource_parent(Cursor, cur);
    event(conn->alive == 1 ? "destroy cursor" : "destroy cursor after its conn", cur->id);
    cur->alive = 0;
}

static void row_destroy(Row *row)
{
    Cursor *cur = corral_resource_parent(Row, row);
    event(cur->alive == 1 ? "destroy row" : "destroy row after its cursor", row->id);
    row->alive = 0;
}


CORRAL_NIF(conn_open)
{
    Conn *conn = corral_resource_new(c, Conn, 0);
    conn->id = corral_arg_i64(c, 0);
    conn->alive = 1;
    return corral_make_resource(c, conn);
}

/* cursor_open(conn, id) */
CORRAL_NIF(cursor_open)
{
    Conn *conn = corral_arg_resource(c, 0, Conn);
    int64_t id = corral_arg_i64(c, 1);
    Cursor *cur = corral_resource_new_child(c, Cursor, conn, 0);
    cur->id = id;
    cur->alive = 1;
    return corral_make_resource(c, cur);
}

/* cursor_open_slow(conn, id, ms): a cursor whose destructor sleeps ms
 * (0..1000) milliseconds. */
CORRAL_NIF(cursor_open_slow)
{
    Conn *conn = corral_arg_resource(c, 0, Conn);
    int64_t id = corral_arg_i64(c, 1);
    int64_t ms = corral_arg_int_range(c, 2, 0, 1000);
    Cursor *cur = corral_resource_new_child(c, Cursor, conn, 0);
    cur->id = id;
    cur->alive = 1;
    cur->slow_ms = ms;
    return corral_make_resource(c, cur);
}

/* cursor_open_then_raise(conn): a child made by a call that then raises. */
CORRAL_NIF(cursor_open_then_raise)
{
    Conn *conn = corral_arg_resource(c, 0, Conn);
    Cursor *cur = corral_resource_new_child(c, Cursor, conn, 0);
    cur->id = 0;
    cur->alive = 1;
    return corral_raise(c, "failed after making a cursor");
}

/* cursor_open_after_close(conn): closes conn, then makes a child of it. */
CORRAL_NIF(cursor_open_after_close)
{
    Conn *conn = corral_arg_resource(c, 0, Conn);
    corral_resource_close(c, Conn, conn);
    corral_resource_new_child(c, Cursor, conn, 0);
    return corral_make_atom(c, "unreachable");
}

/* row_open(cursor, id) */
CORRAL_NIF(row_open)
{
    Cursor *cur = corral_arg_resource(c, 0, Cursor);
    int64_t id = corral_arg_i64(c, 1);
    Row *row = corral_resource_new_child(c, Row, cur, 0);
    row->id = id;
    row->alive = 1;
    return corral_make_resource(c, row);
}

static ERL_NIF_TERM chain(corral_call *c, Cursor *cur)
{
    Conn *conn = corral_resource_parent(Cursor, cur);
    if (cur->alive != 1 || conn->alive != 1) corral_raise(c, "used after its destructor");
    return enif_make_tuple2(c->env, corral_make_i64(c, conn->id), corral_make_i64(c, cur->id));
}

/* cursor_read(cursor): {conn id, cursor id}, through the parent. */
CORRAL_NIF(cursor_read)
{
    return chain(c, corral_arg_resource(c, 0, Cursor));
}

/* row_read(row): {conn id, cursor id, row id}. */
CORRAL_NIF(row_read)
{
    Row *row = corral_arg_resource(c, 0, Row);
    Cursor *cur = corral_resource_parent(Row, row);
    ERL_NIF_TERM ids = chain(c, cur);
    if (row->alive != 1) corral_raise(c, "used after its destructor");
    const ERL_NIF_TERM *two;
    int n;
    enif_get_tuple(c->env, ids, &n, &two);
    return enif_make_tuple3(c->env, two[0], two[1], corral_make_i64(c, row->id));
}

/* cursor_read_slowly(cursor, ms), dirty: keeps reading through the parent
 * for ms milliseconds; a close of the conn meanwhile must not end either. */
CORRAL_NIF(cursor_read_slowly)
{
    Cursor *cur = corral_arg_resource(c, 0, Cursor);
    int64_t ms = corral_arg_int_range(c, 1, 0, 10000);
    struct timespec step = {0, 1000000};
    ERL_NIF_TERM ids = chain(c, cur);
    for (int64_t k = 0; k < ms; k++) {
        nanosleep(&step, NULL);
        ids = chain(c, cur);
    }
    return ids;
}

/* conn_close(conn), cursor_close(cursor), row_close(row): whether this call closed it. */
CORRAL_NIF(conn_close)
{
    return corral_make_bool(c, corral_resource_close(c, Conn, corral_arg_resource(c, 0, Conn)));
}

CORRAL_NIF(cursor_close)
{
    return corral_make_bool(c, corral_resource_close(c, Cursor, corral_arg_resource(c, 0, Cursor)));
}

CORRAL_NIF(row_close)
{
    return corral_make_bool(c, corral_resource_close(c, Row, corral_arg_resource(c, 0, Row)));
}

/* {== a destructor that blocks ==} */

typedef struct {
    int64_t id;
    int64_t sleep_ms;
} Sleeper;

static void sleeper_destroy(Sleeper *s)
{
    struct timespec t = {s->sleep_ms / 1000, (s->sleep_ms % 1000) * 1000000};
    nanosleep(&t, NULL);
    int type = enif_thread_type();
    event(type == ERL_NIF_THR_NORMAL_SCHEDULER ? "sleeper destroyed on a normal scheduler"
          : type == ERL_NIF_THR_DIRTY_IO_SCHEDULER || type == ERL_NIF_THR_DIRTY_CPU_SCHEDULER
              ? "sleeper destroyed on a dirty scheduler"
              : "sleeper destroyed off the schedulers",
          s->id);
}

CORRAL_CLOSABLE_RESOURCE(Sleeper, sleeper_destroy);
CORRAL_RESOURCE_BLOCKING_DESTRUCTOR(Sleeper);

/* sleeper_new(id, ms): an object whose destructor sleeps ms milliseconds. */
CORRAL_NIF(sleeper_new)
{
    Sleeper *s = corral_resource_new(c, Sleeper, 0);
    s->id = corral_arg_i64(c, 0);
    s->sleep_ms = corral_arg_int_range(c, 1, 0, 10000);
    return corral_make_resource(c, s);
}

/* sleeper_close(s) normal, sleeper_close_dirty(s) on a dirty IO scheduler. */
CORRAL_NIF(sleeper_close)
{
    return corral_make_bool(c, corral_resource_close(c, Sleeper, corral_arg_resource(c, 0, Sleeper)));
}

/* A blocking child of a Conn: its destructor, deferred to the pool, still
 * runs before the conn's. */
typedef struct {
    int64_t id;
} Slow;

static void slow_destroy(Slow *s)
{
    struct timespec t = {0, 100 * 1000000};
    nanosleep(&t, NULL);
    event("destroy slow", s->id);
}

CORRAL_CLOSABLE_RESOURCE(Slow, slow_destroy);
CORRAL_RESOURCE_PARENT(Slow, Conn);
CORRAL_RESOURCE_BLOCKING_DESTRUCTOR(Slow);

/* slow_open(conn, id) */
CORRAL_NIF(slow_open)
{
    Conn *conn = corral_arg_resource(c, 0, Conn);
    int64_t id = corral_arg_i64(c, 1);
    Slow *s = corral_resource_new_child(c, Slow, conn, 0);
    s->id = id;
    return corral_make_resource(c, s);
}

/* {== thread jobs a cancel interrupts ==} */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool interrupted;
} Waiter;

static void wake_waiter(void *arg)
{
    Waiter *w = arg;
    pthread_mutex_lock(&w->lock);
    w->interrupted = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void waiter_free(void *arg)
{
    Waiter *w = arg;
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    enif_free(w);
}

/* Blocks (as a C library call would, not polling corral_cancelled) until
 * interrupted or ms milliseconds passed; logs which. */
static bool block(corral_call *c, int64_t id, int64_t ms)
{
    Waiter *w = enif_alloc(sizeof *w);
    if (w == NULL) corral_raise_oom(c, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->interrupted = false;
    corral_defer(c, waiter_free, w);
    corral_on_cancel(c, wake_waiter, w);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&w->lock);
    while (!w->interrupted)
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0) break;
    bool interrupted = w->interrupted;
    pthread_mutex_unlock(&w->lock);
    event(interrupted ? "interrupted" : "ran to the end", id);
    return interrupted;
}

/* block_until_interrupted(id, ms): block/3 in a thread job. */
CORRAL_THREAD_NIF(block_until_interrupted)
{
    int64_t id = corral_arg_i64(c, 0);
    int64_t ms = corral_arg_int_range(c, 1, 0, 60000);
    return corral_make_bool(c, block(c, id, ms));
}

/* block_dirty(id, ms, deadline_ms): block/3 on a dirty IO scheduler, with
 * corral_cancel_after(deadline_ms) first when it is not 0; returns
 * {interrupted, corral_cancelled}. */
CORRAL_NIF(block_dirty)
{
    int64_t id = corral_arg_i64(c, 0);
    int64_t ms = corral_arg_int_range(c, 1, 0, 60000);
    int64_t deadline = corral_arg_int_range(c, 2, 0, 60000);
    if (deadline) corral_cancel_after(c, (uint32_t)deadline);
    bool interrupted = block(c, id, ms);
    return enif_make_tuple2(c->env, corral_make_bool(c, interrupted), corral_make_bool(c, corral_cancelled(c)));
}

/* cancel_after_outside(): corral_cancel_after on a normal scheduler, and
 * the same in a thread job: bugs in the NIF. */
CORRAL_NIF(cancel_after_outside)
{
    corral_cancel_after(c, 10);
    return corral_make_atom(c, "unreachable");
}

CORRAL_THREAD_NIF(cancel_after_job)
{
    corral_cancel_after(c, 10);
    return corral_make_atom(c, "unreachable");
}

static void count_interrupt(void *arg) { __atomic_fetch_add((long *)arg, 1, __ATOMIC_RELAXED); }

static long stray_interrupt_count;

/* set_then_clear_interrupt(ms): sets an interrupt, clears it, then sleeps
 * ms milliseconds; a cancel during the sleep must not call it. */
CORRAL_THREAD_NIF(set_then_clear_interrupt)
{
    int64_t ms = corral_arg_int_range(c, 0, 0, 60000);
    corral_on_cancel(c, count_interrupt, &stray_interrupt_count);
    corral_on_cancel_clear(c);
    struct timespec step = {0, 1000000};
    for (int64_t k = 0; k < ms && !corral_cancelled(c); k++) nanosleep(&step, NULL);
    return corral_make_i64(c, ms);
}

CORRAL_NIF(stray_interrupts)
{
    return corral_make_i64(c, __atomic_load_n(&stray_interrupt_count, __ATOMIC_RELAXED));
}

/* on_cancel_outside_job(): corral_on_cancel on a normal scheduler is a
 * bug (nothing can cancel such a call); on a dirty one (the same function
 * listed dirty) it clears at the call's end, and nothing cancels it. */
CORRAL_NIF(on_cancel_outside_job)
{
    corral_on_cancel(c, count_interrupt, &stray_interrupt_count);
    return corral_make_atom(c, "unreachable");
}
