/*
 * The reference for the benchmarks: plain erl_nif C, no Corral.
 *
 * Written the way an experienced C programmer writes a NIF by hand: every
 * argument checked, badarg on failure, no helpers between the VM and the
 * work. Corral's figures are given as ratios to these functions.
 *
 *   add(a, b)               a + b for two 64-bit integers
 *   buffer_new(size)        a zeroed byte buffer in a resource
 *   buffer_get(buf, index)  the byte at index, under the read lock
 *   buffer_set(buf, index, byte)  stores byte (0..255), under the write lock
 *
 * Built by Bench.Handwritten.Build into _build/handwritten/libhandwritten.so.
 */
#include <erl_nif.h>

#include <stdint.h>
#include <string.h>

typedef struct {
    ErlNifRWLock *lock;
    size_t size;
    unsigned char bytes[];
} buffer;

static ErlNifResourceType *buffer_type;
static ERL_NIF_TERM atom_ok;

static void buffer_dtor(ErlNifEnv *env, void *obj)
{
    buffer *b = obj;
    (void)env;
    if (b->lock != NULL) enif_rwlock_destroy(b->lock);
}

static int open_resources(ErlNifEnv *env)
{
    buffer_type = enif_open_resource_type(env, NULL, "bench_buffer", buffer_dtor,
                                          ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER, NULL);
    if (buffer_type == NULL) return 1;
    atom_ok = enif_make_atom(env, "ok");
    return 0;
}

static int load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info)
{
    (void)priv;
    (void)info;
    return open_resources(env);
}

static int upgrade(ErlNifEnv *env, void **priv, void **old_priv, ERL_NIF_TERM info)
{
    (void)priv;
    (void)old_priv;
    (void)info;
    return open_resources(env);
}

static ERL_NIF_TERM add(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    ErlNifSInt64 a, b;
    (void)argc;
    if (!enif_get_int64(env, argv[0], &a) || !enif_get_int64(env, argv[1], &b))
        return enif_make_badarg(env);
    /* Wraps on overflow instead of invoking undefined behaviour. */
    return enif_make_int64(env, (ErlNifSInt64)((uint64_t)a + (uint64_t)b));
}

static ERL_NIF_TERM buffer_new(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    ErlNifUInt64 size;
    buffer *b;
    ERL_NIF_TERM term;
    (void)argc;

    if (!enif_get_uint64(env, argv[0], &size) || size > SIZE_MAX - sizeof(buffer))
        return enif_make_badarg(env);

    b = enif_alloc_resource(buffer_type, sizeof(buffer) + (size_t)size);
    if (b == NULL) return enif_raise_exception(env, enif_make_atom(env, "enomem"));
    memset(b, 0, sizeof(buffer) + (size_t)size);
    b->size = (size_t)size;
    b->lock = enif_rwlock_create("bench_buffer");
    if (b->lock == NULL) {
        enif_release_resource(b);
        return enif_raise_exception(env, enif_make_atom(env, "enomem"));
    }

    term = enif_make_resource(env, b);
    enif_release_resource(b);
    return term;
}

static ERL_NIF_TERM buffer_get(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    buffer *b;
    ErlNifUInt64 index;
    unsigned value;
    (void)argc;

    if (!enif_get_resource(env, argv[0], buffer_type, (void **)&b)) return enif_make_badarg(env);
    if (!enif_get_uint64(env, argv[1], &index) || index >= b->size) return enif_make_badarg(env);

    enif_rwlock_rlock(b->lock);
    value = b->bytes[index];
    enif_rwlock_runlock(b->lock);
    return enif_make_uint(env, value);
}

static ERL_NIF_TERM buffer_set(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    buffer *b;
    ErlNifUInt64 index;
    unsigned byte;
    (void)argc;

    if (!enif_get_resource(env, argv[0], buffer_type, (void **)&b)) return enif_make_badarg(env);
    if (!enif_get_uint64(env, argv[1], &index) || index >= b->size) return enif_make_badarg(env);
    if (!enif_get_uint(env, argv[2], &byte) || byte > 255) return enif_make_badarg(env);

    enif_rwlock_rwlock(b->lock);
    b->bytes[index] = (unsigned char)byte;
    enif_rwlock_rwunlock(b->lock);
    return atom_ok;
}

static ErlNifFunc funcs[] = {
    {"add", 2, add, 0},
    {"buffer_new", 1, buffer_new, 0},
    {"buffer_get", 2, buffer_get, 0},
    {"buffer_set", 3, buffer_set, 0},
};

ERL_NIF_INIT(Elixir.Bench.Handwritten, funcs, load, NULL, upgrade, NULL)
