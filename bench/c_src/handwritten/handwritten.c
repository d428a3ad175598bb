/*
 * The reference for the benchmarks: plain erl_nif C, no Corral.
 *
 * Written the way an experienced C programmer writes a NIF by hand: every
 * argument checked, badarg on failure, no helpers between the VM and the
 * work. Corral's figures are given as ratios to these functions.
 *
 *   add(a, b)               a + b for two 64-bit integers
 *   buffer_new(size)        a zeroed byte buffer in a resource
 *   object_new(v)           a small resource holding the integer v
 *   buffer_get(buf, index)  the byte at index, under the read lock
 *   buffer_set(buf, index, byte)  stores byte (0..255), under the write lock
 *
 * and the bulk cases below, and items_send (a thread streaming messages). One more function is not a case but the
 * runner's clock: thread_clock() reads the CPU time of the scheduler thread
 * that runs the caller.
 *
 * Built by Bench.Handwritten.Build twice: with -O3 into
 * _build/handwritten/libhandwritten.so (Bench.Handwritten) and with -O2 and
 * -DBENCH_NIF_MODULE=Elixir.Bench.HandwrittenO2 into libhandwritten_o2.so.
 */
#include <erl_nif.h>

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_NIF_MODULE
#define BENCH_NIF_MODULE Elixir.Bench.Handwritten
#endif

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

/* The small object of object_new: an integer and a second word. */
typedef struct {
    ErlNifSInt64 value;
    ErlNifSInt64 spare;
} object;

static ErlNifResourceType *object_type;

static ERL_NIF_TERM atom_struct, atom_x, atom_y, atom_point;

static int open_resources(ErlNifEnv *env)
{
    buffer_type = enif_open_resource_type(env, NULL, "bench_buffer", buffer_dtor,
                                          ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER, NULL);
    if (buffer_type == NULL) return 1;
    object_type = enif_open_resource_type(env, NULL, "bench_object", NULL, ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER, NULL);
    if (object_type == NULL) return 1;
    atom_ok = enif_make_atom(env, "ok");
    atom_struct = enif_make_atom(env, "__struct__");
    atom_x = enif_make_atom(env, "x");
    atom_y = enif_make_atom(env, "y");
    atom_point = enif_make_atom(env, "Elixir.Bench.Point");
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

static ERL_NIF_TERM object_new(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    ErlNifSInt64 v;
    object *o;
    ERL_NIF_TERM term;
    (void)argc;

    if (!enif_get_int64(env, argv[0], &v)) return enif_make_badarg(env);
    o = enif_alloc_resource(object_type, sizeof *o);
    if (o == NULL) return enif_raise_exception(env, enif_make_atom(env, "enomem"));
    o->value = v;
    o->spare = 0;
    term = enif_make_resource(env, o);
    enif_release_resource(o);
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

/* {== bulk term conversions, compared with c_src/corral_bench ==} */


/* list_sum(list): the sum of a list of 64-bit integers (wrapping). */
static ERL_NIF_TERM list_sum(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    ERL_NIF_TERM list = argv[0], head;
    ErlNifSInt64 v;
    uint64_t sum = 0;
    (void)argc;
    while (enif_get_list_cell(env, list, &head, &list)) {
        if (!enif_get_int64(env, head, &v)) return enif_make_badarg(env);
        sum += (uint64_t)v;
    }
    if (!enif_is_empty_list(env, list)) return enif_make_badarg(env);
    return enif_make_int64(env, (ErlNifSInt64)sum);
}

/* list_sum_checked(list): the sum of a list of non-negative integers;
 * badarg for a negative one (the routed-error case of c_src/corral_bench). */
static ERL_NIF_TERM list_sum_checked(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    ERL_NIF_TERM list = argv[0], head;
    ErlNifSInt64 v;
    uint64_t sum = 0;
    (void)argc;
    while (enif_get_list_cell(env, list, &head, &list)) {
        if (!enif_get_int64(env, head, &v) || v < 0) return enif_make_badarg(env);
        sum += (uint64_t)v;
    }
    if (!enif_is_empty_list(env, list)) return enif_make_badarg(env);
    return enif_make_int64(env, (ErlNifSInt64)sum);
}

/* list_build(n): [0, 1, ..., n-1] from a C array. */
static ERL_NIF_TERM list_build(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    ErlNifUInt64 n;
    (void)argc;
    if (!enif_get_uint64(env, argv[0], &n) || n > 100000000) return enif_make_badarg(env);
    int64_t *v = enif_alloc((n ? n : 1) * sizeof *v);
    for (ErlNifUInt64 k = 0; k < n; k++) v[k] = (int64_t)k;
    ERL_NIF_TERM list = enif_make_list(env, 0);
    for (ErlNifUInt64 k = n; k-- > 0;) list = enif_make_list_cell(env, enif_make_int64(env, v[k]), list);
    enif_free(v);
    return list;
}

/* binary_sum(bin): the sum of the bytes. */
static ERL_NIF_TERM binary_sum(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    ErlNifBinary b;
    uint64_t sum = 0;
    (void)argc;
    if (!enif_inspect_binary(env, argv[0], &b)) return enif_make_badarg(env);
    for (size_t k = 0; k < b.size; k++) sum += b.data[k];
    return enif_make_uint64(env, sum);
}

typedef struct {
    double x, y;
} point;

static int get_number(ErlNifEnv *env, ERL_NIF_TERM t, double *d)
{
    ErlNifSInt64 v;
    if (enif_get_double(env, t, d)) return 1;
    if (!enif_get_int64(env, t, &v)) return 0;
    *d = (double)v;
    return 1;
}

/* points_in(list of %Bench.Point{}): decoded into a C array, checked as
 * Corral checks (struct module, fields, no extra keys); returns the sum. */
static ERL_NIF_TERM points_in(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    unsigned n;
    ERL_NIF_TERM list = argv[0], head, v;
    (void)argc;
    if (!enif_get_list_length(env, list, &n)) return enif_make_badarg(env);
    point *p = enif_alloc((n ? n : 1) * sizeof *p);
    size_t k = 0, size;
    while (enif_get_list_cell(env, list, &head, &list)) {
        if (!enif_get_map_value(env, head, atom_struct, &v) || v != atom_point ||
            !enif_get_map_value(env, head, atom_x, &v) || !get_number(env, v, &p[k].x) ||
            !enif_get_map_value(env, head, atom_y, &v) || !get_number(env, v, &p[k].y) ||
            !enif_get_map_size(env, head, &size) || size != 3) {
            enif_free(p);
            return enif_make_badarg(env);
        }
        k++;
    }
    double sum = 0;
    for (size_t j = 0; j < k; j++) sum += p[j].x + p[j].y;
    enif_free(p);
    return enif_make_double(env, sum);
}

/* points_out(n): [%Bench.Point{x: k, y: k}, ...] from a C array. */
static ERL_NIF_TERM points_out(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    ErlNifUInt64 n;
    (void)argc;
    if (!enif_get_uint64(env, argv[0], &n) || n > 10000000) return enif_make_badarg(env);
    point *p = enif_alloc((n ? n : 1) * sizeof *p);
    for (ErlNifUInt64 k = 0; k < n; k++) p[k].x = p[k].y = (double)k;
    ERL_NIF_TERM list = enif_make_list(env, 0);
    for (ErlNifUInt64 k = n; k-- > 0;) {
        ERL_NIF_TERM keys[3] = {atom_struct, atom_x, atom_y}, values[3], map;
        values[0] = atom_point;
        values[1] = enif_make_double(env, p[k].x);
        values[2] = enif_make_double(env, p[k].y);
        if (!enif_make_map_from_arrays(env, keys, values, 3, &map)) {
            enif_free(p);
            return enif_make_badarg(env);
        }
        list = enif_make_list_cell(env, map, list);
    }
    enif_free(p);
    return list;
}

/* items_send(n): what a user writes by hand to stream results from a
 * thread: a detached thread that sends {hw_item, k} for k in 0..n-1 to
 * the caller, then {hw_done, n}, one message env cleared after each send,
 * with no back-pressure (the mailbox grows as fast as the thread sends). */
typedef struct {
    ErlNifPid to;
    ErlNifUInt64 n;
} sender;

static void *send_items(void *arg)
{
    sender *s = arg;
    ErlNifEnv *env = enif_alloc_env();
    for (ErlNifUInt64 k = 0; k < s->n; k++) {
        enif_send(NULL, &s->to, env, enif_make_tuple2(env, enif_make_atom(env, "hw_item"), enif_make_uint64(env, k)));
        enif_clear_env(env);
    }
    enif_send(NULL, &s->to, env, enif_make_tuple2(env, enif_make_atom(env, "hw_done"), enif_make_uint64(env, s->n)));
    enif_free_env(env);
    enif_free(s);
    return NULL;
}

static ERL_NIF_TERM items_send(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    ErlNifUInt64 n;
    (void)argc;
    if (!enif_get_uint64(env, argv[0], &n)) return enif_make_badarg(env);
    sender *s = enif_alloc(sizeof *s);
    if (s == NULL) return enif_raise_exception(env, enif_make_atom(env, "enomem"));
    enif_self(env, &s->to);
    s->n = n;
    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&tid, &attr, send_items, s);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        enif_free(s);
        return enif_raise_exception(env, enif_make_atom(env, "thread"));
    }
    return atom_ok;
}

/* thread_clock(): {thread, ns}: a number naming the scheduler thread
 * running the caller and the CPU time that thread has used
 * (CLOCK_THREAD_CPUTIME_ID). Time the machine gives to other programs is
 * not in it, unlike wall time; neither is work the VM does on its other
 * threads (a dirty scheduler collecting a big heap). */
static ERL_NIF_TERM thread_clock(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    struct timespec ts;
    (void)argc;
    (void)argv;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return enif_make_badarg(env);
    ErlNifUInt64 ns = (ErlNifUInt64)ts.tv_sec * 1000000000u + (ErlNifUInt64)ts.tv_nsec;
    return enif_make_tuple2(env, enif_make_uint64(env, (ErlNifUInt64)(uintptr_t)pthread_self()),
                            enif_make_uint64(env, ns));
}

static ErlNifFunc funcs[] = {
    {"thread_clock", 0, thread_clock, 0},
    {"add", 2, add, 0},
    {"add_dirty_cpu", 2, add, ERL_NIF_DIRTY_JOB_CPU_BOUND},
    {"add_dirty_io", 2, add, ERL_NIF_DIRTY_JOB_IO_BOUND},
    {"buffer_new", 1, buffer_new, 0},
    {"object_new", 1, object_new, 0},
    {"buffer_get", 2, buffer_get, 0},
    {"buffer_set", 3, buffer_set, 0},
    {"list_sum", 1, list_sum, 0},
    {"list_sum_checked", 1, list_sum_checked, 0},
    {"list_build", 1, list_build, 0},
    {"binary_sum", 1, binary_sum, 0},
    {"points_in", 1, points_in, 0},
    {"points_out", 1, points_out, 0},
    {"items_send", 1, items_send, 0},
};

/* The module comes from a macro, expanded before ERL_NIF_INIT stringifies it. */
#define BENCH_NIF_INIT(module) ERL_NIF_INIT(module, funcs, load, NULL, upgrade, NULL)
BENCH_NIF_INIT(BENCH_NIF_MODULE)
