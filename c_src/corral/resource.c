/*
 * resource.c: typed resource objects, closing, monitors, select, resource
 * binaries, and the locks that live inside objects.
 *
 * Memory of an object: [16-byte header][the user's C struct][extra bytes],
 * then, for some types, a tail: the family record of a parent or child,
 * and the reported-bytes word of a type that reports memory.
 * The header holds the object's state word and its size; it holds no
 * pointer into the library, because each type has its own VM callbacks
 * (made by CORRAL_RESOURCE), so a module upgrade that takes the type over
 * never leaves a dangling pointer.
 *
 * The state word: CONSTRUCTED once handed to Erlang; CLOSED once
 * corral_resource_close ran; DESTROYED once the user destructor has been
 * claimed (it runs exactly once); the rest counts the calls and threads
 * using a closable object right now.
 */
#include "corral_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

enum {
    CONSTRUCTED = 1u,
    CLOSED = 2u,
    DESTROYED = 4u,
    USER = 8u, /* one use; uses are counted from bit 3 up */
};

/* Layout bits of an object, set when it is allocated: read from the object
 * rather than its type, because after a module upgrade the type's code is
 * a newer library's, whose declaration may differ. */
enum { HAS_REPORTED = 1u };

typedef struct {
    atomic_uint state;
    uint32_t layout; /* HAS_REPORTED */
    uint64_t size; /* bytes of the user object, extra included (64 bits wide
                    * so that the header is 16 bytes on 32-bit targets too) */
} resource_header;

_Static_assert(sizeof(resource_header) == CORRAL__RESOURCE_HEADER, "resource header size");

static resource_header *header_of(const void *obj)
{
    return (resource_header *)((char *)obj - CORRAL__RESOURCE_HEADER);
}

static void *base_of(void *obj) { return (char *)obj - CORRAL__RESOURCE_HEADER; }

/* {======================================================================
 * Families: parents and children
 *
 * An object of a type that is a parent or a child (CORRAL_RESOURCE_PARENT)
 * carries a family record after its bytes (at the object's size rounded up
 * to 16; the header's size stays the user's, so resource binaries cannot
 * reach it). A parent lists its living children under its family lock; a
 * child holds one reference to its parent (the parent's memory, given back
 * when the child's memory goes) and one use (which makes a close of the
 * parent wait for the child's destructor, given back once it has run).
 *
 * The list is weak: a child in it may be on its way to the VM's
 * destructor. Its memory stays valid as long as it is listed, because the
 * VM's destructor takes the parent's lock to unlink it first; so a close
 * of the parent closes its children while it holds that lock.
 * ======================================================================= */

typedef struct family {
    corral_mutex lock;          /* as a parent: guards `first` and the children's links */
    corral_resource_type *type; /* of the object that carries this record */
    void *obj;
    struct family *first;       /* as a parent: the first child */
    struct family *prev, *next; /* as a child: siblings */
    void *parent;               /* as a child: the parent object, once linked */
} family;

#define FAMILY_ALIGN 16u

static bool in_family(const corral_resource_type *type) { return type->parent || type->has_children; }

static size_t family_offset(size_t size) { return (size + FAMILY_ALIGN - 1) & ~(size_t)(FAMILY_ALIGN - 1); }

static family *family_of(const void *obj)
{
    return (family *)((char *)obj + family_offset(((const resource_header *)((const char *)obj - CORRAL__RESOURCE_HEADER))->size));
}

/* {======================================================================
 * Memory per type
 *
 * Every type counts the bytes of its live objects' allocations (header,
 * object, extra bytes, tail), changed with `live` on create and on the
 * VM's destructor. A type declared with CORRAL_RESOURCE_REPORTS_MEMORY
 * also counts what its bodies report for the wrapped library: each object
 * holds its last report in a word of its tail, and the type's sum changes
 * by the difference, so it is exact once the updates in flight land. The
 * object's destructor (a close, a collection, a hand-over to the pool)
 * takes its report off: the library's memory goes with it.
 * ======================================================================= */

static size_t tail_bytes(bool family_record, bool reported)
{
    return (family_record ? sizeof(family) : 0) + (reported ? sizeof(size_t) : 0);
}

/* What enif_alloc_resource was asked for an object of `size` bytes. */
static size_t allocation_bytes(size_t size, size_t tail)
{
    return CORRAL__RESOURCE_HEADER + (tail ? family_offset(size) + tail : size);
}

static size_t *reported_word(const corral_resource_type *type, const void *obj)
{
    return (size_t *)((char *)obj + family_offset(header_of(obj)->size) + (in_family(type) ? sizeof(family) : 0));
}

void corral__resource_report_memory(corral_resource_type *type, void *obj, size_t bytes)
{
    resource_header *h = header_of(obj);
    if (!(h->layout & HAS_REPORTED)) return;
    if (atomic_load_explicit(&h->state, memory_order_acquire) & DESTROYED) return;
    size_t was = __atomic_exchange_n(reported_word(type, obj), bytes, __ATOMIC_ACQ_REL);
    __atomic_fetch_add(&type->reported, bytes - was, __ATOMIC_RELAXED);
}

/* The destructor ran (or was handed to the pool): the report goes. */
static void settle_reported(corral_resource_type *type, void *obj)
{
    if (CORRAL__LIKELY(!(header_of(obj)->layout & HAS_REPORTED))) return;
    size_t was = __atomic_exchange_n(reported_word(type, obj), (size_t)0, __ATOMIC_ACQ_REL);
    if (was) __atomic_fetch_sub(&type->reported, was, __ATOMIC_RELAXED);
}

/* The VM frees the object's memory. */
static void count_freed(corral_resource_type *type, void *obj)
{
    const resource_header *h = header_of(obj);
    settle_reported(type, obj);
    __atomic_fetch_sub(&type->allocated, allocation_bytes(h->size, tail_bytes(in_family(type), h->layout & HAS_REPORTED)),
                       __ATOMIC_RELAXED);
    __atomic_fetch_sub(&type->live, 1, __ATOMIC_RELAXED);
}

/* }====================================================================== */

void corral__set_parent(corral_resource_type *child, corral_resource_type *parent)
{
    child->parent = parent;
    parent->has_children = true;
}

void *corral__resource_parent(const void *obj) { return family_of(obj)->parent; }

/* Takes f (a linked child) out of its parent's list; the parent's lock is
 * held by the caller when `locked`. */
static void unlink_child(family *f, bool locked)
{
    family *pf = family_of(f->parent);
    if (!locked) corral_mutex_lock(&pf->lock);
    if (f->prev) f->prev->next = f->next; else pf->first = f->next;
    if (f->next) f->next->prev = f->prev;
    f->prev = f->next = NULL;
    if (!locked) corral_mutex_unlock(&pf->lock);
}

/* }====================================================================== */

void corral__register_resource(corral_resource_type *type)
{
    type->next = corral__lib.resources;
    corral__lib.resources = type;
}

bool corral__open_resource_types(ErlNifEnv *env)
{
    for (corral_resource_type *t = corral__lib.resources; t; t = t->next) {
        ErlNifResourceTypeInit init;
        memset(&init, 0, sizeof init);
        init.dtor = t->vm_dtor;
        init.stop = t->stop;
        init.down = t->down;
        init.members = 3;
        ErlNifResourceFlags tried;
        if (t->dyncall) {
            /* erl_nif 2.16: the fourth member, the dynamic call. */
            init.dyncall = t->dyncall;
            init.members = 4;
            t->rt = enif_init_resource_type(env, t->name, &init, ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER, &tried);
        } else {
            t->rt = enif_open_resource_type_x(env, t->name, &init, ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER, &tried);
        }
        if (t->rt == NULL) return false;
    }
    return true;
}

/* {======================================================================
 * Calls across libraries (enif_dynamic_resource_call)
 *
 * The VM checks the caller's side (the term is an object of the named
 * module's named type); the magic word checks the owner's (the data is a
 * corral_resource_call, not another toolkit's: an owner that is not a
 * Corral library answers nothing), and the protocol name and size the
 * struct between them. The owner's answer runs in the caller's
 * call, so a closable object counts it as a use, as an argument check does.
 * ======================================================================= */

void corral__answer_call(corral_resource_type *type, void *base, void *call_data,
                         void (*answer)(void *obj, corral_resource_call *call))
{
    corral_resource_call *call = call_data;
    if (call == NULL || call->magic != CORRAL__CALL_MAGIC) return;
    void *obj = (char *)base + CORRAL__RESOURCE_HEADER;
    if (type->closable && !corral__resource_try_enter(type, obj)) {
        call->closed = true;
        return;
    }
    answer(obj, call);
    if (type->closable) corral__resource_leave(type, obj);
}

void *corral_call_data(corral_resource_call *call, const char *protocol, size_t size)
{
    if (call->protocol == NULL || strcmp(call->protocol, protocol) != 0) return NULL;
    call->known_size = size;
    if (call->size != size) return NULL;
    call->answered = true;
    return call->data;
}

void corral_call_refuse(corral_resource_call *call, const char *why) { call->refused = why ? why : "refused"; }

/* "Elixir.Images.Native" as Elixir writes it; an Erlang name as it is. */
static const char *module_shown(const char *module)
{
    return strncmp(module, "Elixir.", 7) == 0 ? module + 7 : module;
}

void corral_call_resource(corral_call *c, int i, const char *module, const char *type, const char *protocol,
                          void *data, size_t size)
{
    ErlNifEnv *env = c->env;
    if ((unsigned)i >= (unsigned)c->argc) corral__bad_position(c, i);
    ERL_NIF_TERM mod, name, term = c->argv[i];
    corral_resource_call call = {.magic = CORRAL__CALL_MAGIC, .protocol = protocol, .data = data, .size = size};
    /* Atoms that do not exist name no loaded type: made only if they do,
     * so a bad name cannot grow the atom table. */
    bool found = enif_make_existing_atom(env, module, &mod, ERL_NIF_LATIN1) &&
                 enif_make_existing_atom(env, type, &name, ERL_NIF_LATIN1) &&
                 enif_dynamic_resource_call(env, mod, name, term, &call) == 0;
    if (!found) {
        char shown[CORRAL__SHOWN_MAX];
        corral__show(c, term, shown, sizeof shown);
        /* The VM does not say which: not that type, or a type without a
         * dynamic call (not CORRAL_RESOURCE_CALLABLE). */
        corral__raisef(c, corral__atom_argument_error, "argument %d: expected a callable %s resource of %s, got: %s",
                       i + 1, type, module_shown(module), shown);
    }
    if (call.closed) {
        char shown[CORRAL__SHOWN_MAX];
        corral__show(c, term, shown, sizeof shown);
        corral__raisef(c, corral__atom_argument_error, "argument %d: expected an open %s resource, got: a closed one %s",
                       i + 1, type, shown);
    }
    if (call.refused)
        corral__raisef(c, corral__atom_runtime_error, "argument %d: the %s resource of %s refused %s: %s", i + 1, type,
                       module_shown(module), protocol, call.refused);
    if (!call.answered) {
        if (call.known_size)
            corral__raisef(c, corral__atom_runtime_error,
                           "argument %d: the %s resource of %s answers %s with a struct of %zu bytes, not %zu "
                           "(the two libraries were built with different versions of the protocol)",
                           i + 1, type, module_shown(module), protocol, call.known_size, size);
        corral__raisef(c, corral__atom_runtime_error, "argument %d: the %s resource of %s does not answer %s", i + 1,
                       type, module_shown(module), protocol);
    }
}

/* }====================================================================== */

/* A destructor that may block, run on the pool from a copy of the object;
 * `parent` (with a reference of its own) gets the child's use back after. */
typedef struct deferred_destroy {
    corral_resource_type *type;
    void *parent;
    size_t size;
    max_align_t bytes[];
} deferred_destroy;

static void run_deferred_destroy(void *arg)
{
    deferred_destroy *d = arg;
    d->type->destroy(d->bytes);
    corral__vm_locks_forget_range(d->bytes, d->size);
    if (d->parent) {
        corral__resource_leave(d->type->parent, d->parent);
        corral_resource_release(d->parent);
    }
    enif_free(d);
}

/* Hands the destructor of obj to the pool; false if it must run here (not
 * on a normal scheduler, or no memory or thread for it). */
static bool defer_blocking_destroy(corral_resource_type *type, void *obj, void *parent)
{
    if (!type->blocking_destructor || enif_thread_type() != ERL_NIF_THR_NORMAL_SCHEDULER) return false;
    size_t size = header_of(obj)->size;
    deferred_destroy *d = enif_alloc(sizeof *d + size);
    if (d == NULL) return false;
    d->type = type;
    d->parent = parent;
    d->size = size;
    memcpy(d->bytes, obj, size);
    corral__vm_locks_move_range(obj, size, d->bytes);
    if (parent) corral_resource_keep(parent);
    if (corral__pool_task(run_deferred_destroy, d)) return true;
    corral__vm_locks_move_range(d->bytes, size, obj);
    if (parent) corral_resource_release(parent);
    enif_free(d);
    return false;
}

/* The end of an object's life, once: its user destructor if it was built,
 * then, for a child, leaving its parent (unlinked first, so a close of the
 * parent does not find it; the parent's lock is already held when
 * `parent_locked`). The caller has claimed it (DESTROYED, or the VM's
 * destructor). */
static void run_destroy(corral_resource_type *type, void *obj, bool constructed, bool parent_locked)
{
    family *f = type->parent ? family_of(obj) : NULL;
    void *parent = f ? f->parent : NULL;
    if (parent) unlink_child(f, parent_locked);
    if (constructed) {
        if (defer_blocking_destroy(type, obj, parent)) return;
        type->destroy(obj);
    }
    if (parent) corral__resource_leave(type->parent, parent);
}

/* Runs the end of obj's life unless it already ran (or is running). */
static void destroy_once(corral_resource_type *type, void *obj, bool parent_locked)
{
    unsigned prev = atomic_fetch_or_explicit(&header_of(obj)->state, DESTROYED, memory_order_acq_rel);
    if (prev & DESTROYED) return;
    if (CORRAL__UNLIKELY(type->parent || type->blocking_destructor))
        run_destroy(type, obj, (prev & CONSTRUCTED) != 0, parent_locked);
    else if (prev & CONSTRUCTED)
        type->destroy(obj);
    settle_reported(type, obj);
}

/* The object's memory goes: with CORRAL_VM_LOCKS, the erl_nif locks of
 * the lock words in it (its own and its family record's) go with it. */
static inline void forget_locks_of(corral_resource_type *type, void *base)
{
#ifdef CORRAL_VM_LOCKS
    const resource_header *h = base;
    corral__vm_locks_forget_range(base, allocation_bytes(h->size, tail_bytes(in_family(type), h->layout & HAS_REPORTED)));
#else
    (void)type;
    (void)base;
#endif
}

void corral__resource_vm_dtor(corral_resource_type *type, void *base)
{
    /* The last reference is gone, so nothing else can be using the object:
     * a close, and every call and thread it waited for, held one. The state
     * is read, not claimed (one atomic operation fewer per object). */
    void *obj = (char *)base + CORRAL__RESOURCE_HEADER;
    if (CORRAL__UNLIKELY(type->parent || type->blocking_destructor)) {
        /* A child is claimed, not read: a close of its parent reaches it
         * through the parent's list, without a reference, and may be
         * destroying it right now, holding the parent's lock while it
         * does. A child not yet destroyed (also one never built: a call
         * that made it raised) is destroyed here, which takes that lock to
         * unlink it. One the walk claimed first may still be in its user
         * destructor: taking and dropping the lock waits for the walk to
         * be done with it before its memory goes (without this, ASan saw
         * a Cursor's destructor write to freed memory when its last
         * reference went during its Conn's close). Its memory gives back
         * the parent's memory in any case. */
        void *parent = type->parent ? family_of(obj)->parent : NULL;
        unsigned state = atomic_fetch_or_explicit(&header_of(obj)->state, DESTROYED, memory_order_acq_rel);
        if (!(state & DESTROYED)) {
            run_destroy(type, obj, (state & CONSTRUCTED) != 0, false);
        } else if (parent) {
            family *pf = family_of(parent);
            corral_mutex_lock(&pf->lock);
            corral_mutex_unlock(&pf->lock);
        }
        if (parent) corral_resource_release(parent);
        forget_locks_of(type, base);
        count_freed(type, obj);
        return;
    }
    unsigned state = atomic_load_explicit(&header_of(obj)->state, memory_order_acquire);
    if ((state & (CONSTRUCTED | DESTROYED)) == CONSTRUCTED) {
        type->destroy(obj);
    }
    forget_locks_of(type, base);
    count_freed(type, obj);
}

void corral__release_created(void *obj) { enif_release_resource(base_of(obj)); }

void *corral__resource_alloc(corral_call *c, corral_resource_type *type, size_t extra)
{
    size_t size = type->size;
    bool reports = type->reports_memory;
    size_t tail = tail_bytes(in_family(type), reports);
    if (extra > SIZE_MAX - size - CORRAL__RESOURCE_HEADER - FAMILY_ALIGN - tail)
        corral_raise_argument(c, "cannot allocate %s %s with %zu extra bytes: more than this VM can ever have (the size overflows)",
                              strchr("AEIOU", type->name[0]) ? "an" : "a", type->name, extra);
    size += extra;
    size_t bytes = allocation_bytes(size, tail);
    corral__check_vm_size(c, bytes, type->name);
    void *base = corral__alloc_fails() ? NULL : enif_alloc_resource(type->rt, bytes);
    if (base == NULL) corral_raise_oom(c, bytes);
    resource_header *h = base;
    atomic_init(&h->state, 0);
    h->layout = reports ? HAS_REPORTED : 0;
    h->size = size;
    void *obj = (char *)base + CORRAL__RESOURCE_HEADER;
    if (in_family(type)) {
        family *f = family_of(obj);
        memset(f, 0, sizeof *f);
        f->type = type;
        f->obj = obj;
    }
    if (reports) *reported_word(type, obj) = 0;
    __atomic_fetch_add(&type->live, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&type->allocated, bytes, __ATOMIC_RELAXED);
    /* The caller zeroes the object and registers the release of the
     * creator's reference for the end of the call, whichever way it ends (a
     * term made by corral_make_resource holds its own): nothing between
     * here and there can raise. */
    return (char *)base + CORRAL__RESOURCE_HEADER;
}

ERL_NIF_TERM corral_make_resource(corral_call *c, void *obj)
{
    /* Once built, always built: a term for an object made before (an
     * argument returned again) needs no atomic operation. */
    if (!(atomic_load_explicit(&header_of(obj)->state, memory_order_relaxed) & CONSTRUCTED))
        atomic_fetch_or_explicit(&header_of(obj)->state, CONSTRUCTED, memory_order_release);
    return enif_make_resource(c->env, base_of(obj));
}

void corral__bad_resource(corral_call *c, int i, corral_resource_type *type)
{
    ERL_NIF_TERM t = c->argv[i];
    void *base;
    for (corral_resource_type *other = corral__lib.resources; other; other = other->next) {
        if (other != type && other->rt && enif_get_resource(c->env, t, other->rt, &base)) {
            char shown[CORRAL__SHOWN_MAX];
            corral__show(c, t, shown, sizeof shown);
            corral__raisef(c, corral__atom_argument_error,
                           "argument %d: expected a %s resource, got: %s %s resource %s", i + 1, type->name,
                           strchr("AEIOU", other->name[0]) ? "an" : "a", other->name, shown);
        }
    }
    corral_raise_arg(c, i, "expected a %s resource", type->name);
}

/* #{"Db" => #{objects => 2, allocated => 192, reported => 4096}}: the
 * built-in __corral_live__/0. */
ERL_NIF_TERM corral__live_map(ErlNifEnv *env)
{
    ERL_NIF_TERM map = enif_make_new_map(env);
    ERL_NIF_TERM keys[3] = {enif_make_atom(env, "objects"), enif_make_atom(env, "allocated"), enif_make_atom(env, "reported")};
    for (corral_resource_type *t = corral__lib.resources; t; t = t->next) {
        ERL_NIF_TERM key, counts;
        size_t len = strlen(t->name);
        unsigned char *p = enif_make_new_binary(env, len, &key);
        if (p == NULL) return enif_make_badarg(env);
        memcpy(p, t->name, len);
        ERL_NIF_TERM values[3] = {enif_make_long(env, __atomic_load_n(&t->live, __ATOMIC_RELAXED)),
                                  enif_make_uint64(env, __atomic_load_n(&t->allocated, __ATOMIC_RELAXED)),
                                  enif_make_uint64(env, __atomic_load_n(&t->reported, __ATOMIC_RELAXED))};
        if (!enif_make_map_from_arrays(env, keys, values, 3, &counts)) return enif_make_badarg(env);
        enif_make_map_put(env, map, key, counts, &map);
    }
    return map;
}

void corral__carry_live_counts(const corral__library *old)
{
    for (corral_resource_type *t = corral__lib.resources; t; t = t->next)
        for (const corral_resource_type *o = old->resources; o; o = o->next)
            if (strcmp(t->name, o->name) == 0) {
                t->live = __atomic_load_n(&o->live, __ATOMIC_RELAXED);
                t->allocated = __atomic_load_n(&o->allocated, __ATOMIC_RELAXED);
                t->reported = __atomic_load_n(&o->reported, __ATOMIC_RELAXED);
            }
}

/* {======================================================================
 * Keeping, closing and uses
 * ======================================================================= */

void corral_resource_keep(void *obj) { enif_keep_resource(base_of(obj)); }

void corral_resource_release(void *obj) { enif_release_resource(base_of(obj)); }

bool corral_resource_closed(const void *obj)
{
    return (atomic_load_explicit(&header_of(obj)->state, memory_order_acquire) & CLOSED) != 0;
}

bool corral__resource_try_enter(corral_resource_type *type, void *obj)
{
    resource_header *h = header_of(obj);
    unsigned prev = atomic_fetch_add_explicit(&h->state, USER, memory_order_acq_rel);
    if (prev & CLOSED) {
        corral__resource_leave(type, obj);
        return false;
    }
    return true;
}

void corral__resource_leave(corral_resource_type *type, void *obj)
{
    unsigned now = atomic_fetch_sub_explicit(&header_of(obj)->state, USER, memory_order_acq_rel) - USER;
    /* The last use of a closed object runs the destructor a close had to leave to it. */
    if ((now & CLOSED) && now / USER == 0) destroy_once(type, obj, false);
}

void *corral__enter_resource(corral_call *c, int i, corral_resource_type *type, void *base)
{
    void *obj = (char *)base + CORRAL__RESOURCE_HEADER;
    if (!corral__resource_try_enter(type, obj)) {
        char shown[CORRAL__SHOWN_MAX];
        corral__show(c, c->argv[i], shown, sizeof shown);
        corral__raisef(c, corral__atom_argument_error, "argument %d: expected an open %s resource, got: a closed one %s",
                       i + 1, type->name, shown);
    }
    corral__defer(c, type->leave, obj);
    return obj;
}

/* How many uses of obj this call holds (through argument checks). */
static unsigned own_uses(corral_call *c, corral_resource_type *type, void *obj)
{
    unsigned n = 0;
    for (unsigned k = 0; k < c->ncleanup; k++) {
        corral__cleanup *e = k < CORRAL__INLINE_CLEANUPS ? &c->cleanup[k] : &c->spill[k - CORRAL__INLINE_CLEANUPS];
        if (e->fn == type->leave && e->arg == obj) n++;
    }
    return n;
}

/* Closes obj: its children first (each closed the same way), then its own
 * destructor, now if only `own` uses remain, else at the last use's end.
 * `parent_locked`: the caller holds the lock of obj's parent (a close of
 * the parent walking its children). */
static bool close_object(corral_resource_type *type, void *obj, unsigned own, bool parent_locked)
{
    resource_header *h = header_of(obj);
    unsigned prev = atomic_fetch_or_explicit(&h->state, CLOSED, memory_order_acq_rel);
    if (prev & CLOSED) return false;
    unsigned now = prev | CLOSED;
    if (type->has_children) {
        /* One use of our own while the children go, so that the last of
         * them leaving does not destroy obj from inside this walk. New
         * children cannot join: they check CLOSED under the same lock. */
        atomic_fetch_add_explicit(&h->state, USER, memory_order_acq_rel);
        family *f = family_of(obj);
        corral_mutex_lock(&f->lock);
        for (family *child = f->first, *next; child; child = next) {
            next = child->next;
            close_object(child->type, child->obj, 0, true);
        }
        corral_mutex_unlock(&f->lock);
        now = atomic_fetch_sub_explicit(&h->state, USER, memory_order_acq_rel) - USER;
    }
    /* Uses by this very call cannot be running elsewhere: only other calls
     * and threads make the destructor wait. */
    if (now / USER == own) destroy_once(type, obj, parent_locked);
    return true;
}

bool corral__resource_close(corral_call *c, corral_resource_type *type, void *obj)
{
    if (!type->closable)
        corral_raise(c, "corral_resource_close: %s is not closable (declare it with CORRAL_CLOSABLE_RESOURCE)",
                     type->name);
    return close_object(type, obj, own_uses(c, type, obj), false);
}

void *corral__resource_new_child(corral_call *c, corral_resource_type *type, size_t size, size_t extra, void *parent)
{
    void *obj = corral__resource_new(c, type, size, extra);
    /* The creating call uses the child until it ends: a close of the
     * parent meanwhile leaves the child's destructor to that end, when the
     * body has filled the object (or raised, and nothing needs destroying). */
    atomic_fetch_add_explicit(&header_of(obj)->state, USER, memory_order_relaxed);
    corral__defer(c, type->leave, obj);
    corral_resource_type *ptype = type->parent;
    if (!corral__resource_try_enter(ptype, parent)) goto closed;
    family *f = family_of(obj), *pf = family_of(parent);
    corral_mutex_lock(&pf->lock);
    /* Checked again under the lock a close walks the children with: the
     * child is either found by that walk, or sees the parent closed. */
    if (corral_resource_closed(parent)) {
        corral_mutex_unlock(&pf->lock);
        corral__resource_leave(ptype, parent);
        goto closed;
    }
    corral_resource_keep(parent);
    f->parent = parent;
    f->next = pf->first;
    if (pf->first) pf->first->prev = f;
    pf->first = f;
    corral_mutex_unlock(&pf->lock);
    return obj;
closed:
    corral__raisef(c, corral__atom_argument_error, "cannot make %s %s: its %s is closed",
                   strchr("AEIOU", type->name[0]) ? "an" : "a", type->name, ptype->name);
}

/* }====================================================================== */

/* {======================================================================
 * Resource binaries, monitors, select
 * ======================================================================= */

ERL_NIF_TERM corral_make_resource_binary(corral_call *c, void *obj, const void *data, size_t size)
{
    const char *start = obj, *end = start + header_of(obj)->size, *p = data;
    if (p < start || p > end || size > (size_t)(end - p))
        corral_raise(c, "corral_make_resource_binary: the %zu bytes at offset %td lie outside the object (%zu bytes)",
                     size, p - start, (size_t)header_of(obj)->size);
    return enif_make_resource_binary(c->env, base_of(obj), data, size);
}

bool corral_monitor(corral_call *c, void *obj, const ErlNifPid *pid, ErlNifMonitor *mon)
{
    ErlNifMonitor scratch;
    int rc = enif_monitor_process(c->env, base_of(obj), pid, mon ? mon : &scratch);
    if (rc < 0) corral_raise(c, "corral_monitor: the resource type has no down callback (add CORRAL_RESOURCE_ON_DOWN)");
    return rc == 0;
}

bool corral_demonitor(corral_call *c, void *obj, const ErlNifMonitor *mon)
{
    return enif_demonitor_process(c->env, base_of(obj), mon) == 0;
}

static CORRAL__NORETURN void select_failed(corral_call *c, const char *what, int fd, int rc)
{
    const char *why = (rc & ERL_NIF_SELECT_INVALID_EVENT) ? "not a valid file descriptor"
                      : (rc & ERL_NIF_SELECT_NOTSUP)      ? "not supported on this system"
                      : (rc & ERL_NIF_SELECT_FAILED)      ? "the system call failed"
                                                          : "refused";
    corral_raise(c, "%s: file descriptor %d: %s", what, fd, why);
}

static void need_stop(corral_call *c, corral_resource_type *type, const char *what)
{
    /* Without a stop callback nobody would close fd, and the VM complains
     * when the object dies with fd still selected. */
    if (type->stop == NULL)
        corral_raise(c, "%s: %s has no stop callback (add CORRAL_RESOURCE_ON_STOP)", what, type->name);
}

void corral__select(corral_call *c, corral_resource_type *type, void *obj, int fd, unsigned mode, ERL_NIF_TERM ref)
{
    need_stop(c, type, "corral_select");
    ErlNifPid self;
    if (!enif_self(c->env, &self)) corral_raise(c, "corral_select: not called from a process");
    int rc = enif_select(c->env, (ErlNifEvent)(intptr_t)fd, (enum ErlNifSelectFlags)mode, base_of(obj), &self, ref);
    if (rc < 0) select_failed(c, "corral_select", fd, rc);
}

void corral__select_stop(corral_call *c, corral_resource_type *type, void *obj, int fd)
{
    need_stop(c, type, "corral_select_stop");
    int rc = enif_select(c->env, (ErlNifEvent)(intptr_t)fd, ERL_NIF_SELECT_STOP, base_of(obj), NULL, corral__atom_undefined);
    if (rc < 0) select_failed(c, "corral_select_stop", fd, rc);
}

/* }====================================================================== */
