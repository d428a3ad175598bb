/*
 * ring.c: the fast channel of an isolated module, a shared-memory ring.
 *
 * The pipe between the calling VM and the native process costs several
 * wake-ups per call (caller -> server -> pipe -> serving process and back),
 * about what :erpc to a peer node costs. The ring takes the common case off
 * that path: the caller's own process writes its request into a slot of a
 * memory region both VMs map, the native VM's serving process, polling the
 * region, takes it, and the reply comes back into the same slot, where the
 * caller, spinning for a bounded time, finds it. No wake-up while calls
 * keep coming; one (of the serving process) for the first after a pause.
 *
 * What does not fit, or takes longer than the spin, goes over the pipe as
 * before: a request bigger than a slot is sent the old way; a reply that is
 * late (the caller stopped spinning: "parked") or too big is written on the
 * pipe and routed by the server (lib/corral/isolated/server.ex), which also
 * still sees every crash, abandon and ping.
 *
 * Trust: the native side can write anything into the region. So the calling
 * VM never waits on it (it only spins, for a bounded time, and never sleeps
 * on a futex there), keeps who owns each slot in memory of its own
 * (Ring.owner, never shared), bounds every length it reads, and accepts a
 * reply from a slot only for the call that slot holds, with that call's id;
 * a reply with another id is reported as a violation and the server kills
 * the native process. The native side trusts the calling VM (it is started
 * by it) but still bounds lengths.
 *
 * Linux only (futex). Elsewhere ring_create says :unsupported and every call
 * takes the pipe.
 *
 * Slot states (Slot.state, shared):
 *   FREE -> REQUEST   caller wrote a request
 *   REQUEST -> TAKEN  the native VM's serving process took it
 *   TAKEN -> REPLY    the reply is in the slot (caller spinning)
 *   TAKEN -> PIPED    the reply is too big: it comes on the pipe
 *   TAKEN -> PARKED   caller stopped spinning: the reply comes on the
 *                     pipe, and the server frees the slot
 *   REQUEST -> WAITING  the same before the thread took it; the thread
 *                     then takes it as WAITING -> PARKED
 *   REPLY -> FREE     caller took the reply
 */
#define _GNU_SOURCE
#include <corral.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "ring_layout.h"

#define pause_cpu() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#if defined(__x86_64__) || defined(__i386__)
#undef pause_cpu
#define pause_cpu() __builtin_ia32_pause()
#elif defined(__aarch64__)
#undef pause_cpu
#define pause_cpu() __asm__ __volatile__("yield")
#endif

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The share of a time slice (1..100 %) that `ns` of spinning used. */
static int timeslice(uint64_t ns) { return ns >= 990000u ? 100 : (int)(1 + ns / 10000u); }

static uint32_t load(uint32_t *w) { return __atomic_load_n(w, __ATOMIC_ACQUIRE); }
static int cas(uint32_t *w, uint32_t from, uint32_t to)
{
    return __atomic_compare_exchange_n(w, &from, to, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* The atoms of the results, interned at load: enif_make_atom by name
 * takes the atom table's lock, which the callers of a ring contend for. */
enum { A_REPLY, A_PARKED, A_VIOLATION, A_FULL, A_IDLE, A_UNSUPPORTED };
CORRAL_ATOMS(ring_atoms, "reply", "parked", "violation", "full", "idle", "unsupported");

/* ---- The calling VM's side ---- */

typedef struct {
    Region *region;
    int closed;                /* atomic: the native process is gone */
    uint64_t next_id;          /* atomic */
    uint64_t owner[RING_SLOTS]; /* atomic: the id of the call in each slot, 0 when free */
    ErlNifPid pid[RING_SLOTS];  /* the process that made it (set before REQUEST) */
    char path[64];             /* the file, until unlinked */
} Ring;

static void ring_destroy(Ring *r)
{
    if (r->path[0] != '\0') unlink(r->path);
    if (r->region != NULL) munmap(r->region, sizeof(Region));
}

CORRAL_RESOURCE(Ring, ring_destroy);

/* ring_create(): {ring, path} of a new region in a file only this user can
 * open (mkstemp: O_EXCL, mode 0600), or :unsupported. */
CORRAL_NIF(ring_create)
{
#ifdef __linux__
    char path[64];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/corral-ring-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) return corral_atom(&ring_atoms, A_UNSUPPORTED);
    if (ftruncate(fd, sizeof(Region)) != 0) {
        close(fd);
        unlink(path);
        return corral_atom(&ring_atoms, A_UNSUPPORTED);
    }
    Region *region = mmap(NULL, sizeof(Region), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (region == MAP_FAILED) {
        unlink(path);
        return corral_atom(&ring_atoms, A_UNSUPPORTED);
    }
    region->magic = RING_MAGIC;
    region->slots = RING_SLOTS;
    region->slot_bytes = SLOT_BYTES;
    Ring *r = corral_resource_new(c, Ring, 0);
    r->region = region;
    r->next_id = 1;
    memcpy(r->path, path, sizeof path);
    ERL_NIF_TERM items[2] = {corral_make_resource(c, r), corral_make_binary(c, path, strlen(path))};
    return corral_make_tuple(c, items, 2);
#else
    return corral_atom(&ring_atoms, A_UNSUPPORTED);
#endif
}

/* ring_unlink(ring): removes the file (the native VM has mapped it). */
CORRAL_NIF(ring_unlink)
{
    Ring *r = corral_arg_resource(c, 0, Ring);
    if (r->path[0] != '\0') {
        unlink(r->path);
        r->path[0] = '\0';
    }
    return corral_make_ok(c);
}

/* ring_close(ring): the native process is gone; spinning callers stop. */
CORRAL_NIF(ring_close)
{
    Ring *r = corral_arg_resource(c, 0, Ring);
    __atomic_store_n(&r->closed, 1, __ATOMIC_RELEASE);
    return corral_make_ok(c);
}

static void free_slot(Ring *r, int i)
{
    __atomic_store_n(&r->region->slot[i].state, FREE, __ATOMIC_RELEASE);
    __atomic_store_n(&r->owner[i], 0, __ATOMIC_RELEASE);
}

static ERL_NIF_TERM outcome(corral_call *c, unsigned tag, int i, uint64_t id)
{
    ERL_NIF_TERM items[3] = {corral_atom(&ring_atoms, tag), corral_make_int(c, i), corral_make_u64(c, id)};
    return corral_make_tuple(c, items, 3);
}

/* Takes the reply in slot i (state REPLY) for call `id`: {:reply, bytes},
 * or {:violation, slot, id} when the slot names another call or a length
 * over the slot (the caller's server then kills the native process; the
 * slot stays taken until the ring is dropped). */
static ERL_NIF_TERM take_reply(corral_call *c, Ring *r, int i, uint64_t id)
{
    Slot *s = &r->region->slot[i];
    uint64_t got = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE);
    uint32_t len = __atomic_load_n(&s->len, __ATOMIC_ACQUIRE);
    if (got != id || len > SLOT_DATA)
        return outcome(c, A_VIOLATION, i, id);
    ERL_NIF_TERM bin = corral_make_binary(c, s->data, len);
    free_slot(r, i);
    ERL_NIF_TERM items[2] = {corral_atom(&ring_atoms, A_REPLY), bin};
    return corral_make_tuple(c, items, 2);
}

/* ring_call(ring, request, spin_us): writes the request into a free slot
 * and waits up to spin_us microseconds for its reply:
 *   {:reply, bytes}       the reply, from the slot
 *   {:parked, slot, id}   no reply yet (or it comes on the pipe): the
 *                         caller registers the call with its server
 *   {:violation, slot, id}  the slot holds a reply to another call
 *   :full                 no free slot, the request is too big, or the ring
 *                         is closed: send it the old way */
CORRAL_NIF(ring_call)
{
    Ring *r = corral_arg_resource(c, 0, Ring);
    corral_binary req = corral_arg_binary(c, 1);
    int64_t spin_us = corral_arg_int_range(c, 2, 0, 1000);
    if (req.size > SLOT_DATA || __atomic_load_n(&r->closed, __ATOMIC_ACQUIRE)) return corral_atom(&ring_atoms, A_FULL);

    uint64_t id = __atomic_fetch_add(&r->next_id, 1, __ATOMIC_RELAXED);
    int i = -1;
    for (int k = 0; k < RING_SLOTS; k++) {
        uint64_t zero = 0;
        if (__atomic_load_n(&r->owner[k], __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&r->owner[k], &zero, id, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            i = k;
            break;
        }
    }
    if (i < 0) return corral_atom(&ring_atoms, A_FULL);

    Region *region = r->region;
    Slot *s = &region->slot[i];
    enif_self(corral_env(c), &r->pid[i]);
    memcpy(s->data, req.data, req.size);
    __atomic_store_n(&s->len, (uint32_t)req.size, __ATOMIC_RELAXED);
    __atomic_store_n(&s->id, id, __ATOMIC_RELAXED);
    __atomic_store_n(&s->state, REQUEST, __ATOMIC_SEQ_CST);
    __atomic_fetch_or(&region->requested, 1ull << i, __ATOMIC_SEQ_CST);
    /* Paired with ring_poll's store to `polling` and the thread's to
     * `sleeping` (each then looks at `requested` or at seq): either they see
     * this request or we see that one must be woken. */
    __atomic_fetch_add(&region->seq, 1, __ATOMIC_SEQ_CST);
#ifdef __linux__
    if (!__atomic_load_n(&region->polling, __ATOMIC_SEQ_CST) && __atomic_load_n(&region->sleeping, __ATOMIC_SEQ_CST))
        syscall(SYS_futex, &region->seq, FUTEX_WAKE, 1, NULL, NULL, 0);
#endif

    uint64_t start = now_ns(), limit = (uint64_t)spin_us * 1000u, spun = 0;
    for (uint32_t k = 1;; k++) {
        uint32_t state = load(&s->state);
        if (state == REPLY) break;
        if (state == PIPED) goto parked;
        if ((k & 63) == 0) {
            spun = now_ns() - start;
            if (spun >= limit || __atomic_load_n(&r->closed, __ATOMIC_ACQUIRE)) {
                /* Park: from here the reply comes on the pipe. Lost to a
                 * reply that just came: take it. */
                if (cas(&s->state, REQUEST, WAITING) || cas(&s->state, TAKEN, PARKED)) goto parked;
                if (load(&s->state) == REPLY) break;
                goto parked; /* PIPED, or a state the native side made up */
            }
        }
        /* After a few microseconds, give the core away at each turn: the
         * native VM's threads may be waiting for it (with few cores, a
         * caller that only spins holds one of them until the kernel
         * preempts it, a millisecond or more). */
        if (spun > 3000)
            sched_yield();
        else
            pause_cpu();
    }
    enif_consume_timeslice(corral_env(c), timeslice(spun));
    return take_reply(c, r, i, id);

parked:
    enif_consume_timeslice(corral_env(c), timeslice(spun));
    return outcome(c, A_PARKED, i, id);
}

/* ring_owns(ring, slot, id): whether the slot holds call id (a reply on
 * the pipe for it is expected). */
CORRAL_NIF(ring_owns)
{
    Ring *r = corral_arg_resource(c, 0, Ring);
    uint64_t slot = corral_arg_u64(c, 1), id = corral_arg_u64(c, 2);
    return corral_make_bool(c, slot < RING_SLOTS && id != 0 && __atomic_load_n(&r->owner[slot], __ATOMIC_ACQUIRE) == id);
}

/* ring_orphans(ring): [{slot, id, replied?}] of the calls whose process
 * died between stopping to spin and parking with the server, so that no
 * reply will free their slot: the server frees them (at once if the reply
 * is in the slot, else when it comes on the pipe). A slot still FREE in the
 * region has just been claimed, and its pid may not be written yet. */
CORRAL_NIF(ring_orphans)
{
    Ring *r = corral_arg_resource(c, 0, Ring);
    ErlNifEnv *env = corral_env(c);
    ERL_NIF_TERM list = enif_make_list(env, 0);
    for (int i = 0; i < RING_SLOTS; i++) {
        uint64_t id = __atomic_load_n(&r->owner[i], __ATOMIC_ACQUIRE);
        if (id == 0) continue;
        uint32_t state = load(&r->region->slot[i].state);
        if (state == FREE || enif_is_process_alive(env, &r->pid[i])) continue;
        ERL_NIF_TERM item = enif_make_tuple3(env, enif_make_int(env, i), enif_make_uint64(env, id),
                                             state == REPLY ? enif_make_atom(env, "true") : enif_make_atom(env, "false"));
        list = enif_make_list_cell(env, item, list);
    }
    return list;
}

/* ring_free(ring, slot, id): the call in the slot has ended (its reply came
 * on the pipe, or it was abandoned and ended): the slot can be used again.
 * Returns whether the slot held that call. */
CORRAL_NIF(ring_free)
{
    Ring *r = corral_arg_resource(c, 0, Ring);
    uint64_t slot = corral_arg_u64(c, 1), id = corral_arg_u64(c, 2);
    if (slot >= RING_SLOTS || id == 0 || __atomic_load_n(&r->owner[slot], __ATOMIC_ACQUIRE) != id) return corral_make_bool(c, 0);
    free_slot(r, (int)slot);
    return corral_make_bool(c, 1);
}

/* ---- The native VM's side ---- */

/*
 * The serving process of the native VM takes requests itself, polling the
 * region from its scheduler (ring_poll): a thread handing them over would
 * have to wake that scheduler for each one, 15 us or more here, and a
 * thread spinning for them takes the core the scheduler needs. While it
 * polls (Region.polling), callers wake nobody. When it has been idle for a
 * while it stops (ring_poll returns :idle) and waits for a message; the
 * thread below, asleep on the futex, sends it {:"$corral_ring_wake"} when
 * a request comes.
 */
static Region *native_region;
static ErlNifPid native_server;
static int native_idle; /* atomic: the serving process waits for a wake */

static int pending(Region *region) { return __atomic_load_n(&region->requested, __ATOMIC_SEQ_CST) != 0; }

static void wake_server(ErlNifEnv *env)
{
    int one = 1;
    if (__atomic_compare_exchange_n(&native_idle, &one, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        enif_send(NULL, &native_server, env, enif_make_atom(env, "$corral_ring_wake"));
        enif_clear_env(env);
    }
}

static void *native_thread(void *arg)
{
    (void)arg;
    Region *region = native_region;
    ErlNifEnv *env = enif_alloc_env();
    for (;;) {
        uint32_t seen = __atomic_load_n(&region->seq, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&native_idle, __ATOMIC_SEQ_CST) && pending(region)) wake_server(env);
        __atomic_store_n(&region->sleeping, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&region->seq, __ATOMIC_SEQ_CST) == seen) {
#ifdef __linux__
            /* Bounded, so that a missed wake costs at most this. */
            struct timespec t = {0, 50 * 1000 * 1000};
            syscall(SYS_futex, &region->seq, FUTEX_WAIT, seen, &t, NULL, 0);
#else
            struct timespec t = {0, 1000 * 1000};
            nanosleep(&t, NULL);
#endif
        }
        __atomic_store_n(&region->sleeping, 0, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* Takes the requests waiting in the region: [{slot, id, request}]. A bit
 * set in `requested` names a slot in state REQUEST, or WAITING if its
 * caller parked before the request was taken. */
static ERL_NIF_TERM take_requests(corral_call *c, Region *region)
{
    ErlNifEnv *env = corral_env(c);
    ERL_NIF_TERM list = enif_make_list(env, 0);
    uint64_t m = __atomic_exchange_n(&region->requested, 0, __ATOMIC_SEQ_CST);
    while (m != 0) {
        int i = 63 - __builtin_clzll(m);
        m &= ~(1ull << i);
        Slot *s = &region->slot[i];
        if (!cas(&s->state, REQUEST, TAKEN) && !cas(&s->state, WAITING, PARKED)) continue;
        uint32_t len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
        if (len > SLOT_DATA) len = SLOT_DATA;
        ERL_NIF_TERM bin;
        unsigned char *p = enif_make_new_binary(env, len, &bin);
        memcpy(p, s->data, len);
        ERL_NIF_TERM item = enif_make_tuple3(env, enif_make_int(env, i), enif_make_uint64(env, __atomic_load_n(&s->id, __ATOMIC_RELAXED)), bin);
        list = enif_make_list_cell(env, item, list);
    }
    return list;
}

/* ring_poll(spin_us, stop?): the requests in the region ([{slot, id,
 * request}]), waiting up to spin_us microseconds for one; [] if none came.
 * With stop? true and none there, the serving process stops polling:
 * :idle, and {:"$corral_ring_wake"} comes when one does. */
CORRAL_NIF(ring_poll)
{
    int64_t spin_us = corral_arg_int_range(c, 0, 0, 1000);
    bool stop = corral_arg_bool(c, 1);
    Region *region = native_region;
    if (region == NULL) return corral_atom(&ring_atoms, A_IDLE);
    __atomic_store_n(&region->polling, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&native_idle, 0, __ATOMIC_SEQ_CST);
    uint64_t start = now_ns(), limit = (uint64_t)spin_us * 1000u, spun = 0;
    for (uint32_t k = 1; !pending(region); k++) {
        if ((k & 15) == 0 && (spun = now_ns() - start) >= limit) break;
        pause_cpu();
    }
    enif_consume_timeslice(corral_env(c), timeslice(spun));
    if (pending(region)) return take_requests(c, region);
    if (!stop) return enif_make_list(corral_env(c), 0);

    /* Paired with ring_call's bump of seq and load of polling: either it
     * wakes the thread, or the check below sees its request. */
    __atomic_store_n(&native_idle, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&region->polling, 0, __ATOMIC_SEQ_CST);
    if (pending(region)) {
        int one = 1;
        if (__atomic_compare_exchange_n(&native_idle, &one, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            __atomic_store_n(&region->polling, 1, __ATOMIC_SEQ_CST);
            return take_requests(c, region);
        }
        /* The thread took it and sends the wake. */
    }
    return corral_atom(&ring_atoms, A_IDLE);
}

/* ring_attach(path, server): maps the calling VM's region and starts the
 * thread that wakes `server` when it stopped polling. :ok, or {:error, why}. */
CORRAL_NIF(ring_attach)
{
    const char *path = corral_arg_cstring(c, 0);
    ErlNifPid server = corral_arg_pid(c, 1);
    if (native_region != NULL) return corral_make_error(c, corral_make_atom(c, "attached"));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return corral_make_error(c, corral_make_atom(c, "open"));
    struct stat st;
    Region *region = MAP_FAILED;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size == sizeof(Region))
        region = mmap(NULL, sizeof(Region), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (region == MAP_FAILED) return corral_make_error(c, corral_make_atom(c, "map"));
    if (region->magic != RING_MAGIC || region->slots != RING_SLOTS || region->slot_bytes != SLOT_BYTES) {
        munmap(region, sizeof(Region));
        return corral_make_error(c, corral_make_atom(c, "layout"));
    }
    native_region = region;
    native_server = server;
    __atomic_store_n(&region->polling, 1, __ATOMIC_SEQ_CST);
    ErlNifTid tid;
    ErlNifThreadOpts *opts = enif_thread_opts_create("corral_ring_opts");
    int failed = enif_thread_create("corral_ring", &tid, native_thread, NULL, opts);
    enif_thread_opts_destroy(opts);
    if (failed) {
        native_region = NULL;
        munmap(region, sizeof(Region));
        return corral_make_error(c, corral_make_atom(c, "thread"));
    }
    return corral_make_ok(c);
}

/* ring_reply(slot, id, reply): puts the reply into the slot if the caller
 * still spins for it and it fits: true. false: it goes on the pipe (the
 * caller parked, or the reply is too big: then the caller is told now). */
CORRAL_NIF(ring_reply)
{
    uint64_t slot = corral_arg_u64(c, 0), id = corral_arg_u64(c, 1);
    corral_binary reply = corral_arg_binary(c, 2);
    Region *region = native_region;
    if (region == NULL || slot >= RING_SLOTS) return corral_make_bool(c, 0);
    Slot *s = &region->slot[slot];
    if (load(&s->state) != TAKEN || __atomic_load_n(&s->id, __ATOMIC_RELAXED) != id) return corral_make_bool(c, 0);
    if (reply.size > SLOT_DATA) {
        cas(&s->state, TAKEN, PIPED);
        return corral_make_bool(c, 0);
    }
    memcpy(s->data, reply.data, reply.size);
    __atomic_store_n(&s->len, (uint32_t)reply.size, __ATOMIC_RELAXED);
    return corral_make_bool(c, cas(&s->state, TAKEN, REPLY));
}
