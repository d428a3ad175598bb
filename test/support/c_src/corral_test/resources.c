/*
 * Test NIFs for long-lived native state: closing, keeping references,
 * monitors, resource binaries, messages from threads, select.
 */
#include <corral.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef _WIN32
/* Built for Windows only to check that it compiles and reads back with the
 * same table (test/windows_test.exs); the pipe tests run on Unix. */
#include <io.h>
#define pipe(fds) _pipe((fds), 4096, _O_BINARY)
#endif

/* {== a closable handle ==} */

typedef struct {
    int64_t id;
    int64_t *payload; /* heap memory that the destructor frees */
} Handle;

static long handles_destroyed;

static void handle_destroy(Handle *h)
{
    /* A use after free would show in the sanitizer build; here the payload
     * also checks that the destructor runs once (a second free would be a
     * double free). */
    enif_free(h->payload);
    h->payload = NULL;
    __atomic_fetch_add(&handles_destroyed, 1, __ATOMIC_RELAXED);
}

CORRAL_CLOSABLE_RESOURCE(Handle, handle_destroy);

/* Calls from another library: "corral_test.handle.v1" gives the handle's
 * payload (a closed handle is not answered: Corral refuses for it). */
static void handle_answer(Handle *h, corral_resource_call *call)
{
    int64_t *out = corral_call_data(call, "corral_test.handle.v1", sizeof *out);
    if (out) *out = *h->payload;
}
CORRAL_RESOURCE_CALLABLE(Handle, handle_answer);

CORRAL_NIF(handle_open)
{
    Handle *h = corral_resource_new(c, Handle, 0);
    h->id = corral_arg_i64(c, 0);
    h->payload = enif_alloc(sizeof *h->payload);
    if (h->payload == NULL) corral_raise_oom(c, sizeof *h->payload);
    *h->payload = h->id;
    return corral_make_resource(c, h);
}

CORRAL_NIF(handle_read)
{
    Handle *h = corral_arg_resource(c, 0, Handle);
    return corral_make_i64(c, *h->payload);
}

/* read_slowly(handle, ms): keeps using the handle for ms milliseconds (on a
 * dirty scheduler), checking that the payload stays valid throughout. */
CORRAL_NIF(handle_read_slowly)
{
    Handle *h = corral_arg_resource(c, 0, Handle);
    int64_t ms = corral_arg_int_range(c, 1, 0, 10000);
    struct timespec step = {0, 1000000};
    for (int64_t k = 0; k < ms; k++) {
        if (h->payload == NULL || *h->payload != h->id) corral_raise(c, "payload freed while in use");
        nanosleep(&step, NULL);
    }
    return corral_make_i64(c, *h->payload);
}

/* close(handle): :ok, or :already_closed. */
CORRAL_ATOMS(close_results, "already_closed");
CORRAL_NIF(handle_close)
{
    Handle *h = corral_arg_resource(c, 0, Handle);
    if (corral_resource_close(c, Handle, h)) return corral_make_ok(c);
    return corral_atom(&close_results, 0);
}

/* Closing needs an open handle argument; this one takes it already closed
 * or not, by using the closed flag directly (a thread-side view). */
CORRAL_NIF(handles_destroyed_count) { return corral_make_i64(c, __atomic_load_n(&handles_destroyed, __ATOMIC_RELAXED)); }

/* Closing a type that is not closable is a bug in the NIF. */
CORRAL_RESOURCE_EXTERN(Counter);
CORRAL_NIF(close_counter)
{
    void *k = corral__arg_resource(c, 0, &Counter__corral_type);
    corral__resource_close(c, &Counter__corral_type, k);
    return corral_make_ok(c);
}

/* {== keep/release: a holder keeps a handle alive ==} */

typedef struct {
    Handle *held;
} Holder;

static void holder_destroy(Holder *k)
{
    if (k->held) corral_resource_release(k->held);
}
CORRAL_RESOURCE(Holder, holder_destroy);

CORRAL_NIF(holder_new)
{
    Handle *h = corral_arg_resource(c, 0, Handle);
    Holder *k = corral_resource_new(c, Holder, 0);
    corral_resource_keep(h);
    k->held = h;
    return corral_make_resource(c, k);
}

/* Reads through the kept pointer, as a thread would: try_enter/leave. */
CORRAL_NIF(holder_read)
{
    Holder *k = corral_arg_resource(c, 0, Holder);
    if (!corral_resource_try_enter(Handle, k->held)) return corral_make_error(c, corral_atom(&close_results, 0));
    int64_t v = *k->held->payload;
    corral_resource_leave(Handle, k->held);
    return corral_make_ok_tuple(c, corral_make_i64(c, v));
}

CORRAL_NIF(holder_closed) { return corral_make_bool(c, corral_resource_closed(corral_arg_resource(c, 0, Holder)->held)); }

/* {== monitors: a lock owned by a process, freed when it dies ==} */

typedef struct {
    corral_mutex mutex;
    bool held;
    ErlNifPid owner;
    ErlNifMonitor mon;
    ErlNifPid notify;
    bool has_notify;
} Lease;

CORRAL_RESOURCE(Lease, NULL);

CORRAL_ATOMS(lease_atoms, "lease_released", "busy", "not_alive");

static void lease_down(Lease *l, ErlNifEnv *env, const ErlNifPid *pid)
{
    (void)env;
    corral_mutex_lock(&l->mutex);
    if (l->held && enif_compare_pids(&l->owner, pid) == 0) {
        l->held = false;
        if (l->has_notify) {
            corral_msg *m = corral_msg_new();
            if (m) {
                ERL_NIF_TERM msg = enif_make_tuple2(corral_msg_env(m), corral_atom(&lease_atoms, 0),
                                                    enif_make_pid(corral_msg_env(m), pid));
                corral_msg_send(NULL, m, &l->notify, msg);
            }
        }
    }
    corral_mutex_unlock(&l->mutex);
}
CORRAL_RESOURCE_ON_DOWN(Lease, lease_down);

CORRAL_NIF(lease_new)
{
    Lease *l = corral_resource_new(c, Lease, 0);
    l->notify = corral_arg_pid(c, 0);
    l->has_notify = true;
    return corral_make_resource(c, l);
}

/* acquire(lease): :ok and the caller owns it until release or death; :busy otherwise. */
CORRAL_NIF(lease_acquire)
{
    Lease *l = corral_arg_resource(c, 0, Lease);
    corral_lock(c, &l->mutex);
    if (l->held) return corral_atom(&lease_atoms, 1);
    ErlNifPid self = corral_self(c);
    if (!corral_monitor(c, l, &self, &l->mon)) return corral_atom(&lease_atoms, 1);
    l->owner = self;
    l->held = true;
    return corral_make_ok(c);
}

/* acquire_for(lease, pid): on behalf of another process; :not_alive if it is dead. */
CORRAL_NIF(lease_acquire_for)
{
    Lease *l = corral_arg_resource(c, 0, Lease);
    ErlNifPid owner = corral_arg_pid(c, 1);
    corral_lock(c, &l->mutex);
    if (l->held) return corral_atom(&lease_atoms, 1);
    if (!corral_monitor(c, l, &owner, &l->mon)) return corral_atom(&lease_atoms, 2);
    l->owner = owner;
    l->held = true;
    return corral_make_ok(c);
}

CORRAL_NIF(lease_release)
{
    Lease *l = corral_arg_resource(c, 0, Lease);
    corral_lock(c, &l->mutex);
    ErlNifPid self = corral_self(c);
    if (!l->held || enif_compare_pids(&l->owner, &self) != 0) corral_raise_arg(c, 0, "expected a lease held by the caller");
    l->held = false;
    return corral_make_bool(c, corral_demonitor(c, l, &l->mon));
}

/* Monitoring needs a down callback: Counter has none. */
CORRAL_NIF(monitor_counter)
{
    void *k = corral__arg_resource(c, 0, &Counter__corral_type);
    ErlNifPid self = corral_self(c);
    corral_monitor(c, k, &self, NULL);
    return corral_make_ok(c);
}

/* {== resource binaries ==} */

typedef struct {
    size_t size;
    unsigned char bytes[];
} Blob;
CORRAL_RESOURCE(Blob, NULL);

/* blob(binary): a resource holding a copy, and binaries into it. */
CORRAL_NIF(blob_new)
{
    corral_binary b = corral_arg_binary(c, 0);
    Blob *k = corral_resource_new(c, Blob, b.size);
    k->size = b.size;
    memcpy(k->bytes, b.data, b.size);
    return corral_make_resource(c, k);
}

/* blob_slice(blob, offset, length): a zero-copy binary. The offset is
 * checked before the pointer is formed (forming a pointer far past an
 * object is undefined behaviour, which the sanitizer run reports); corral
 * checks the range of the bytes again. */
CORRAL_NIF(blob_slice)
{
    Blob *k = corral_arg_resource(c, 0, Blob);
    size_t off = corral_arg_int_range(c, 1, 0, (int64_t)k->size), len = corral_arg_size(c, 2);
    return corral_make_resource_binary(c, k, k->bytes + off, len);
}

/* {== messages from a thread ==} */

typedef struct {
    ErlNifPid to;
    int64_t n;
} send_job;

static void *send_from_thread(void *arg)
{
    send_job *job = arg;
    for (int64_t k = 0; k < job->n; k++) {
        corral_msg *m = corral_msg_new();
        if (m == NULL) break;
        ErlNifEnv *env = corral_msg_env(m);
        corral_msg_send(NULL, m, &job->to, enif_make_tuple2(env, enif_make_atom(env, "from_thread"), enif_make_int64(env, k)));
    }
    enif_free(job);
    return NULL;
}

/* send_from_thread(pid, n): a native thread sends n messages, then exits. */
CORRAL_NIF(thread_send)
{
    send_job *job = enif_alloc(sizeof *job);
    if (job == NULL) corral_raise_oom(c, sizeof *job);
    job->to = corral_arg_pid(c, 0);
    job->n = corral_arg_i64(c, 1);
    ErlNifTid tid;
    if (enif_thread_create("corral_test_sender", &tid, send_from_thread, job, NULL) != 0) {
        enif_free(job);
        corral_raise(c, "could not start a thread");
    }
    enif_thread_join(tid, NULL);
    return corral_make_ok(c);
}

/* send_in_call(pid, term, unsent?): corral_send, and a corral_msg_new_in
 * message that is either sent or left for the call to free. */
CORRAL_NIF(send_in_call)
{
    ErlNifPid to = corral_arg_pid(c, 0);
    bool unsent = corral_arg_bool(c, 2);
    corral_send(c, &to, corral_arg(c, 1));
    corral_msg *m = corral_msg_new_in(c);
    ERL_NIF_TERM copy = corral_msg_copy(m, corral_arg(c, 1));
    if (!unsent) corral_msg_send(c, m, &to, enif_make_tuple2(corral_msg_env(m), enif_make_atom(corral_msg_env(m), "copy"), copy));
    return corral_make_ok(c);
}

CORRAL_NIF(self_pid)
{
    ErlNifPid p = corral_self(c);
    return corral_make_pid(c, &p);
}

CORRAL_NIF(pid_arg)
{
    ErlNifPid p = corral_arg_pid(c, 0);
    return corral_make_pid(c, &p);
}

/* {== select on a pipe ==} */

typedef struct {
    int rfd, wfd;
    long stops;
} Pipe;

static long pipes_stopped;
static void pipe_stop(Pipe *p, int fd, bool direct)
{
    (void)direct;
    close(fd);
    if (fd == p->rfd) p->rfd = -1;
    __atomic_fetch_add(&pipes_stopped, 1, __ATOMIC_RELAXED);
}

static void pipe_destroy(Pipe *p)
{
    if (p->rfd >= 0) close(p->rfd);
    if (p->wfd >= 0) close(p->wfd);
}
CORRAL_RESOURCE(Pipe, pipe_destroy);
CORRAL_RESOURCE_ON_STOP(Pipe, pipe_stop);

CORRAL_NIF(pipe_new)
{
    int fds[2];
    if (pipe(fds) != 0) corral_raise(c, "pipe: %s", strerror(errno));
    Pipe *p = corral_resource_new(c, Pipe, 0);
    p->rfd = fds[0];
    p->wfd = fds[1];
#ifndef _WIN32
    fcntl(p->rfd, F_SETFL, O_NONBLOCK);
#endif
    return corral_make_resource(c, p);
}

CORRAL_NIF(pipe_write)
{
    Pipe *p = corral_arg_resource(c, 0, Pipe);
    corral_binary b = corral_arg_binary(c, 1);
    ssize_t n = write(p->wfd, b.data, b.size);
    if (n < 0) corral_raise(c, "write: %s", strerror(errno));
    return corral_make_i64(c, n);
}

/* watch(pipe, ref): a message arrives when the read end has data. */
CORRAL_NIF(pipe_watch)
{
    Pipe *p = corral_arg_resource(c, 0, Pipe);
    corral_select(c, Pipe, p, p->rfd, CORRAL_SELECT_READ, corral_arg(c, 1));
    return corral_make_ok(c);
}

CORRAL_NIF(pipe_read)
{
    Pipe *p = corral_arg_resource(c, 0, Pipe);
    unsigned char buf[256];
    ssize_t n = read(p->rfd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return corral_make_error(c, corral_make_nil(c));
    if (n < 0) corral_raise(c, "read: %s", strerror(errno));
    return corral_make_ok_tuple(c, corral_make_binary(c, buf, (size_t)n));
}

CORRAL_NIF(pipe_stop_watch)
{
    Pipe *p = corral_arg_resource(c, 0, Pipe);
    corral_select_stop(c, Pipe, p, p->rfd);
    return corral_make_ok(c);
}

/* A descriptor the VM rejects. */
CORRAL_NIF(pipe_watch_bad)
{
    Pipe *p = corral_arg_resource(c, 0, Pipe);
    corral_select(c, Pipe, p, -1, CORRAL_SELECT_READ, corral_arg(c, 0));
    return corral_make_ok(c);
}

CORRAL_NIF(pipes_stopped_count) { return corral_make_i64(c, __atomic_load_n(&pipes_stopped, __ATOMIC_RELAXED)); }

/* Select on a type without a stop callback is refused. */
CORRAL_NIF(select_counter)
{
    void *k = corral__arg_resource(c, 0, &Counter__corral_type);
    corral__select(c, &Counter__corral_type, k, 0, CORRAL_SELECT_READ, corral_arg(c, 0));
    return corral_make_ok(c);
}
