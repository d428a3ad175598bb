/*
 * resource.c: typed resource objects and the locks that live inside them.
 *
 * Memory of an object: [16-byte header][the user's C struct][extra bytes].
 * The header records whether the object was handed to Erlang; only then
 * does the user destructor run. Each type has its own VM destructor (made
 * by CORRAL_RESOURCE), so the header holds no pointer into the library: a
 * module upgrade that takes the type over never leaves a dangling one.
 */
#include "corral_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

enum { CONSTRUCTED = 1u };

typedef struct {
    atomic_uint state;
} resource_header;

_Static_assert(sizeof(resource_header) <= CORRAL__RESOURCE_HEADER, "resource header too big");

static resource_header *header_of(void *obj) { return (resource_header *)((char *)obj - CORRAL__RESOURCE_HEADER); }

void corral__register_resource(corral_resource_type *type)
{
    type->next = corral__lib.resources;
    corral__lib.resources = type;
}

bool corral__open_resource_types(ErlNifEnv *env)
{
    for (corral_resource_type *t = corral__lib.resources; t; t = t->next) {
        ErlNifResourceFlags tried;
        t->rt = enif_open_resource_type(env, NULL, t->name, t->vm_dtor, ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER,
                                        &tried);
        if (t->rt == NULL) return false;
    }
    return true;
}

void corral__resource_vm_dtor(corral_resource_type *type, void *base)
{
    resource_header *h = base;
    if (atomic_load_explicit(&h->state, memory_order_acquire) & CONSTRUCTED)
        type->destroy((char *)base + CORRAL__RESOURCE_HEADER);
    __atomic_fetch_sub(&type->live, 1, __ATOMIC_RELAXED);
}

static void release_resource(void *obj) { enif_release_resource((char *)obj - CORRAL__RESOURCE_HEADER); }

void *corral__resource_new(corral_call *c, corral_resource_type *type, size_t extra)
{
    size_t size = CORRAL__RESOURCE_HEADER + type->size;
    if (extra > SIZE_MAX - size) corral_raise(c, "cannot allocate a %s with %zu extra bytes: the size overflows", type->name, extra);
    size += extra;
    void *base = enif_alloc_resource(type->rt, size);
    if (base == NULL) corral_raise_oom(c, size);
    memset(base, 0, size);
    __atomic_fetch_add(&type->live, 1, __ATOMIC_RELAXED);
    void *obj = (char *)base + CORRAL__RESOURCE_HEADER;
    /* The creator's reference is dropped when the call ends, whichever way;
     * a term made by corral_make_resource holds its own. */
    corral_defer(c, release_resource, obj);
    return obj;
}

ERL_NIF_TERM corral_make_resource(corral_call *c, void *obj)
{
    atomic_fetch_or_explicit(&header_of(obj)->state, CONSTRUCTED, memory_order_release);
    return enif_make_resource(c->env, (char *)obj - CORRAL__RESOURCE_HEADER);
}

void corral__bad_resource(corral_call *c, int i, corral_resource_type *type)
{
    ERL_NIF_TERM t = c->argv[i];
    void *base;
    for (corral_resource_type *other = corral__lib.resources; other; other = other->next) {
        if (other != type && other->rt && enif_get_resource(c->env, t, other->rt, &base)) {
            char shown[CORRAL__TERM_PRINT_MAX + 8];
            corral__inspect(c->env, t, shown, sizeof shown);
            corral__raisef(c, corral__atom_argument_error,
                           "argument %d: expected a %s resource, got: a %s resource %s", i + 1, type->name,
                           other->name, shown);
        }
    }
    corral_raise_arg(c, i, "expected a %s resource", type->name);
}

ERL_NIF_TERM corral__live_map(ErlNifEnv *env)
{
    ERL_NIF_TERM map = enif_make_new_map(env);
    for (corral_resource_type *t = corral__lib.resources; t; t = t->next) {
        ERL_NIF_TERM key;
        size_t len = strlen(t->name);
        unsigned char *p = enif_make_new_binary(env, len, &key);
        if (p == NULL) return enif_make_badarg(env);
        memcpy(p, t->name, len);
        enif_make_map_put(env, map, key, enif_make_long(env, __atomic_load_n(&t->live, __ATOMIC_RELAXED)), &map);
    }
    return map;
}

/* {======================================================================
 * Locks
 * ======================================================================= */

void corral__unlock_mutex(void *m) { pthread_mutex_unlock(&((corral_mutex *)m)->m); }

void corral__unlock_rwlock(void *l) { pthread_rwlock_unlock(&((corral_rwlock *)l)->l); }

/* }====================================================================== */
