/*
 * tracker.c: the lifetime of Corral.Handle terms in the calling VM.
 *
 * An isolated module's results can hold terms that cannot cross to another
 * OS process (resources, pids, ports); the native process keeps them and
 * the caller gets a Corral.Handle whose `ref` is a Tracked object made here.
 * When the last copy of that term is garbage collected, the destructor puts
 * the handle's id on a list of dead ids; the module's server takes them
 * with drain/1 and tells the native process to let go of the real terms.
 *
 * The destructor cannot send a message itself: it runs on a scheduler
 * thread without a process environment. A list read by the server keeps it
 * to a lock and a small allocation.
 */
#include <corral.h>
#include <pthread.h>

typedef struct {
    uint64_t slot;  /* the server (one per isolated module) */
    uint64_t gen;   /* the native process that holds the term */
    uint64_t id;    /* the term's id in that process */
    int released;   /* atomic: set by release/1 or the destructor */
} Tracked;

typedef struct dead {
    struct dead *next;
    uint64_t slot, gen, id;
} dead;

static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;
static dead *dead_list;

static void tracked_destroy(Tracked *t)
{
    if (__atomic_exchange_n(&t->released, 1, __ATOMIC_ACQ_REL)) return;
    dead *d = enif_alloc(sizeof *d);
    if (d == NULL) return; /* the id is released when its native process ends */
    d->slot = t->slot;
    d->gen = t->gen;
    d->id = t->id;
    pthread_mutex_lock(&dead_lock);
    d->next = dead_list;
    dead_list = d;
    pthread_mutex_unlock(&dead_lock);
}

CORRAL_RESOURCE(Tracked, tracked_destroy);

/* track(slot, gen, id): a new tracking reference. */
CORRAL_NIF(track)
{
    uint64_t slot = corral_arg_u64(c, 0), gen = corral_arg_u64(c, 1), id = corral_arg_u64(c, 2);
    Tracked *t = corral_resource_new(c, Tracked, 0);
    t->slot = slot;
    t->gen = gen;
    t->id = id;
    return corral_make_resource(c, t);
}

/* release(ref): true the first time (the id must be released now), false
 * after. The destructor then does nothing. */
CORRAL_NIF(release)
{
    Tracked *t = corral_arg_resource(c, 0, Tracked);
    return corral_make_bool(c, !__atomic_exchange_n(&t->released, 1, __ATOMIC_ACQ_REL));
}

/* released(ref): whether the handle was released explicitly. */
CORRAL_NIF(released)
{
    Tracked *t = corral_arg_resource(c, 0, Tracked);
    return corral_make_bool(c, __atomic_load_n(&t->released, __ATOMIC_ACQUIRE) != 0);
}

/* drain(slot): [{gen, id}] of the slot's handles collected since the last
 * drain, taken off the list. */
CORRAL_NIF(drain)
{
    uint64_t slot = corral_arg_u64(c, 0);
    ErlNifEnv *env = corral_env(c);
    ERL_NIF_TERM list = enif_make_list(env, 0);
    dead *mine = NULL;

    pthread_mutex_lock(&dead_lock);
    for (dead **p = &dead_list; *p != NULL;) {
        dead *d = *p;
        if (d->slot == slot) {
            *p = d->next;
            d->next = mine;
            mine = d;
        } else {
            p = &d->next;
        }
    }
    pthread_mutex_unlock(&dead_lock);

    /* Building terms cannot raise here, so nothing is lost between the two. */
    while (mine != NULL) {
        dead *d = mine;
        mine = d->next;
        ERL_NIF_TERM pair = enif_make_tuple2(env, enif_make_uint64(env, d->gen), enif_make_uint64(env, d->id));
        list = enif_make_list_cell(env, pair, list);
        enif_free(d);
    }
    return list;
}

/* pending(slot): whether the slot has handles collected and not drained:
 * a call through the shared ring, which does not pass the server, has it
 * drain them first. */
CORRAL_NIF(pending)
{
    uint64_t slot = corral_arg_u64(c, 0);
    int found = 0;
    if (__atomic_load_n(&dead_list, __ATOMIC_RELAXED) == NULL) return corral_make_bool(c, 0);
    pthread_mutex_lock(&dead_lock);
    for (dead *d = dead_list; d != NULL && !found; d = d->next) found = d->slot == slot;
    pthread_mutex_unlock(&dead_lock);
    return corral_make_bool(c, found);
}

/* The shared-memory ring (ring.c). */
CORRAL_NIF_EXTERN(ring_create);
CORRAL_NIF_EXTERN(ring_unlink);
CORRAL_NIF_EXTERN(ring_close);
CORRAL_NIF_EXTERN(ring_call);
CORRAL_NIF_EXTERN(ring_owns);
CORRAL_NIF_EXTERN(ring_free);
CORRAL_NIF_EXTERN(ring_orphans);
CORRAL_NIF_EXTERN(ring_attach);
CORRAL_NIF_EXTERN(ring_poll);
CORRAL_NIF_EXTERN(ring_reply);

/* Bound as an Erlang module: its stubs are written by hand in tracker.ex and
 * only Corral calls them. Loaded in both VMs of an isolated module. */
CORRAL_ERLANG_MODULE(Elixir.Corral.Isolated.Tracker,
    CORRAL_FN("track", track, 3),
    CORRAL_FN("release", release, 1),
    CORRAL_FN("released", released, 1),
    CORRAL_FN("drain", drain, 1),
    CORRAL_FN("pending", pending, 1),
    CORRAL_FN("ring_create", ring_create, 0),
    CORRAL_FN("ring_unlink", ring_unlink, 1),
    CORRAL_FN("ring_close", ring_close, 1),
    CORRAL_FN("ring_call", ring_call, 3),
    CORRAL_FN("ring_owns", ring_owns, 3),
    CORRAL_FN("ring_free", ring_free, 3),
    CORRAL_FN("ring_orphans", ring_orphans, 1),
    CORRAL_FN("ring_attach", ring_attach, 2),
    CORRAL_FN("ring_poll", ring_poll, 2),
    CORRAL_FN("ring_reply", ring_reply, 3));
