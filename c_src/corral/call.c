/*
 * call.c: the NIF boundary. The library entry point built from the export
 * table, load/upgrade, the unwind that ends a raising call, the cleanup
 * stack and raising itself.
 */
#include "corral_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

corral__library corral__lib;

/* {======================================================================
 * Entry point and load
 * ======================================================================= */

/* Load failures return these codes; the Elixir loader turns each into a sentence
 * (Corral.Loader), since erl_nif only reports "load-call unsuccessful (N)". */
enum {
    CORRAL__LOAD_ABI_MISMATCH = 101,
    CORRAL__LOAD_ATOMS = 102,
    CORRAL__LOAD_STRUCTS = 105,
    CORRAL__LOAD_RESOURCES = 103,
    CORRAL__LOAD_NO_DIRTY = 104,
};

static ErlNifFunc *nif_funcs;

static ERL_NIF_TERM live_nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    (void)argc;
    (void)argv;
    return corral__live_map(env);
}

/* load_info from the Elixir side is {corral, Abi}; other callers (Erlang
 * users loading by hand) may pass anything, and are not checked. */
static int check_load_info(ErlNifEnv *env, ERL_NIF_TERM info)
{
    int arity;
    const ERL_NIF_TERM *elems;
    char tag[8];
    int abi;
    if (!enif_get_tuple(env, info, &arity, &elems) || arity != 2) return 0;
    if (!enif_get_atom(env, elems[0], tag, sizeof tag, ERL_NIF_LATIN1) || strcmp(tag, "corral") != 0) return 0;
    if (!enif_get_int(env, elems[1], &abi) || abi != CORRAL_ABI) return CORRAL__LOAD_ABI_MISMATCH;
    return 0;
}

static int setup(ErlNifEnv *env, ERL_NIF_TERM info)
{
    int rc = check_load_info(env, info);
    if (rc) return rc;
    ErlNifSysInfo sys;
    enif_system_info(&sys, sizeof sys);
    for (unsigned k = 0; k < corral__lib.count; k++)
        if ((corral__lib.exports[k].flags & (CORRAL_DIRTY_CPU | CORRAL_DIRTY_IO)) && !sys.dirty_scheduler_support)
            return CORRAL__LOAD_NO_DIRTY;
    if (!corral__intern_atoms(env)) return CORRAL__LOAD_ATOMS;
    if (!corral__intern_structs(env)) return CORRAL__LOAD_STRUCTS;
    if (!corral__open_resource_types(env)) return CORRAL__LOAD_RESOURCES;
    return 0;
}

static int on_load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info)
{
    *priv = &corral__lib;
    return setup(env, info);
}

/* A new version of the module loads while the old code still runs: resource
 * types are taken over, so objects made by the old library stay valid. */
static int on_upgrade(ErlNifEnv *env, void **priv, void **old_priv, ERL_NIF_TERM info)
{
    *priv = &corral__lib;
    int rc = setup(env, info);
    /* Objects of the old library now count against this one's types. */
    const corral__library *old = *old_priv;
    if (rc == 0 && old && old->abi == CORRAL_ABI) corral__carry_live_counts(old);
    return rc;
}

/* The library is going away (its module was purged): stop the threads that
 * run its code first. */
static void on_unload(ErlNifEnv *env, void *priv)
{
    (void)env;
    (void)priv;
    corral__pool_stop();
}

ErlNifEntry *corral__nif_init(const char *module, corral_export *exports, unsigned count)
{
    static ErlNifEntry entry;
    if (nif_funcs == NULL) {
        /* Two extra rows: __corral_live__/0 and __corral_cancel__/1. A bad
         * row (empty name, arity above 255) is left out, and the stub for it
         * cannot be generated: the Elixir compiler reads the same rows and
         * reports them. */
        nif_funcs = calloc(count + 2, sizeof *nif_funcs);
        if (nif_funcs == NULL) return NULL;
        unsigned n = 0;
        for (unsigned k = 0; k < count; k++) {
            if (exports[k].name[0] == '\0' || exports[k].arity > 255 || exports[k].fptr == NULL) continue;
            nif_funcs[n].name = exports[k].name;
            nif_funcs[n].arity = exports[k].arity;
            nif_funcs[n].fptr = exports[k].fptr;
            nif_funcs[n].flags = exports[k].flags;
            if (exports[k].flags & CORRAL__THREAD) {
                /* The VM knows a thread job as name_async: it returns the job;
                 * the Elixir function `name` waits for the reply. */
                size_t len = strlen(exports[k].name);
                char *async = malloc(len + sizeof "_async");
                if (async == NULL) return NULL;
                memcpy(async, exports[k].name, len);
                memcpy(async + len, "_async", sizeof "_async");
                nif_funcs[n].name = async;
                nif_funcs[n].flags = 0;
            }
            n++;
        }
        nif_funcs[n].name = "__corral_live__";
        nif_funcs[n].arity = 0;
        nif_funcs[n].fptr = live_nif;
        nif_funcs[n].flags = 0;
        n++;
        nif_funcs[n].name = "__corral_cancel__";
        nif_funcs[n].arity = 1;
        nif_funcs[n].fptr = corral__cancel_nif;
        nif_funcs[n].flags = 0;
        corral__lib.abi = CORRAL_ABI;
        corral__lib.module = module;
        corral__lib.exports = exports;
        corral__lib.count = count;
        entry.major = ERL_NIF_MAJOR_VERSION;
        entry.minor = ERL_NIF_MINOR_VERSION;
        entry.name = module;
        entry.num_of_funcs = (int)n + 1;
        entry.funcs = nif_funcs;
        entry.load = on_load;
        entry.reload = NULL;
        entry.upgrade = on_upgrade;
        entry.unload = on_unload;
        entry.vm_variant = ERL_NIF_VM_VARIANT;
        entry.options = 1; /* dirty schedulers supported */
        entry.sizeof_ErlNifResourceTypeInit = sizeof(ErlNifResourceTypeInit);
        entry.min_erts = ERL_NIF_MIN_ERTS_VERSION;
    }
    return &entry;
}

/* }====================================================================== */

/* {======================================================================
 * Cleanup stack and scratch arena
 * ======================================================================= */

typedef struct corral__arena {
    struct corral__arena *prev;
    size_t used, cap;
    unsigned char *data; /* 16-aligned; enif_alloc only promises 8 */
} corral__arena;

#define ARENA_CHUNK 4096

static corral__cleanup *cleanup_slot(corral_call *c, unsigned k)
{
    return k < CORRAL__INLINE_CLEANUPS ? &c->cleanup[k] : &c->spill[k - CORRAL__INLINE_CLEANUPS];
}

/* Runs the cleanup stack newest first, then frees the arena. */
static void run_cleanups(corral_call *c)
{
    while (c->ncleanup > 0) {
        corral__cleanup *e = cleanup_slot(c, --c->ncleanup);
        if (e->fn) {
            void (*fn)(void *) = e->fn;
            e->fn = NULL;
            fn(e->arg);
        }
    }
    if (c->spill_cap) {
        enif_free(c->spill);
        c->spill = NULL;
        c->spill_cap = 0;
    }
    corral__arena *a = c->arena;
    while (a) {
        corral__arena *prev = a->prev;
        enif_free(a);
        a = prev;
    }
    c->arena = NULL;
}

void corral__finish(corral_call *c) { run_cleanups(c); }

/* The raising path: the longjmp landed in the NIF wrapper. */
ERL_NIF_TERM corral__unwound(corral_call *c)
{
    run_cleanups(c);
    return enif_raise_exception(c->env, c->exception);
}

corral_defer_id corral__defer_slow(corral_call *c, void (*fn)(void *), void *arg)
{
    unsigned n = c->ncleanup;
    if (n < CORRAL__INLINE_CLEANUPS) return corral__defer(c, fn, arg);
    unsigned k = n - CORRAL__INLINE_CLEANUPS;
    if (k >= c->spill_cap) {
        unsigned cap = c->spill_cap ? c->spill_cap * 2 : 16;
        corral__cleanup *grown = enif_realloc(c->spill_cap ? c->spill : NULL, cap * sizeof *grown);
        if (grown == NULL) {
            fn(arg); /* never lose what the caller meant to release */
            corral_raise_oom(c, cap * sizeof *grown);
        }
        c->spill = grown;
        c->spill_cap = cap;
    }
    c->spill[k].fn = fn;
    c->spill[k].arg = arg;
    c->ncleanup = n + 1;
    /* The inline fast path of corral__end only handles inline entries. */
    return n;
}

corral_defer_id corral_defer(corral_call *c, void (*fn)(void *arg), void *arg)
{
    return corral__defer(c, fn, arg);
}

static corral__cleanup *armed(corral_call *c, corral_defer_id id, const char *what)
{
    if (id >= c->ncleanup) corral_raise(c, "%s: no cleanup %u is registered in this call", what, id);
    corral__cleanup *e = cleanup_slot(c, id);
    if (e->fn == NULL) corral_raise(c, "%s: cleanup %u already ran or was disarmed", what, id);
    return e;
}

void corral_undefer(corral_call *c, corral_defer_id id)
{
    armed(c, id, "corral_undefer")->fn = NULL;
}

void corral_run_now(corral_call *c, corral_defer_id id)
{
    corral__cleanup *e = armed(c, id, "corral_run_now");
    void (*fn)(void *) = e->fn;
    e->fn = NULL;
    fn(e->arg);
}

void *corral_alloc(corral_call *c, size_t size)
{
    size_t need = (size + 15) & ~(size_t)15;
    if (need < size) corral_raise_oom(c, size);
    corral__arena *a = c->arena;
    if (a == NULL || a->cap - a->used < need) {
        size_t cap = need > ARENA_CHUNK - sizeof *a ? need : ARENA_CHUNK - sizeof *a;
        if (cap > SIZE_MAX - sizeof *a - 15) corral_raise_oom(c, size);
        if (cap > ARENA_CHUNK) corral__check_vm_size(c, cap, "scratch memory");
        corral__arena *fresh = enif_alloc(sizeof *fresh + 15 + cap);
        if (fresh == NULL) corral_raise_oom(c, size);
        fresh->data = (unsigned char *)(((uintptr_t)(fresh + 1) + 15) & ~(uintptr_t)15);
        fresh->cap = cap;
        fresh->used = 0;
        /* A dedicated chunk for a big request goes under the current one, so
         * the current chunk's free space stays usable. */
        if (a != NULL && need > ARENA_CHUNK / 2) {
            fresh->prev = a->prev;
            a->prev = fresh;
            fresh->used = need;
            return fresh->data;
        }
        fresh->prev = a;
        c->arena = a = fresh;
    }
    void *p = a->data + a->used;
    a->used += need;
    return p;
}

void corral__check_vm_size(corral_call *c, size_t size, const char *what)
{
    static size_t physical;
    if (physical == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        physical = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : SIZE_MAX / 2;
    }
    if (CORRAL__UNLIKELY(size > physical))
        corral_raise(c, "cannot allocate %s of %zu bytes: more than this machine's memory (%zu bytes)", what, size,
                     physical);
}

void *corral_calloc(corral_call *c, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        corral_raise(c, "cannot allocate %zu items of %zu bytes: the size overflows", count, size);
    void *p = corral_alloc(c, count * size);
    memset(p, 0, count * size);
    return p;
}

/* }====================================================================== */

/* {======================================================================
 * Raising
 * ======================================================================= */

/* Writes "Buffer.Native.get/2" for an Elixir module, as Elixir users read
 * it, and "buffer_nif:get/2" for an Erlang one, as Erlang users do. */
static size_t module_name(char *buf, size_t cap, char *separator)
{
    const char *m = corral__lib.module ? corral__lib.module : "?";
    bool elixir = strncmp(m, "Elixir.", 7) == 0;
    *separator = elixir ? '.' : ':';
    return (size_t)snprintf(buf, cap, "%s", elixir ? m + 7 : m);
}

void corral__function_name(corral_call *c, char *buf, size_t cap)
{
    char sep;
    size_t n = module_name(buf, cap, &sep);
    if (n >= cap) return;
    for (unsigned k = 0; k < corral__lib.count; k++) {
        if (corral__lib.exports[k].fptr == c->nif) {
            snprintf(buf + n, cap - n, "%c%s/%u", sep, corral__lib.exports[k].name, corral__lib.exports[k].arity);
            return;
        }
    }
    snprintf(buf + n, cap - n, "%c?/%d", sep, c->argc);
}

static ERL_NIF_TERM exception_struct(ErlNifEnv *env, ERL_NIF_TERM module, const char *msg, size_t len)
{
    ERL_NIF_TERM keys[3] = {corral__atom_struct, corral__atom_exception, corral__atom_message};
    ERL_NIF_TERM values[3];
    ERL_NIF_TERM map;
    unsigned char *bytes = enif_make_new_binary(env, len, &values[2]);
    if (bytes == NULL) return enif_make_badarg(env);
    memcpy(bytes, msg, len);
    values[0] = module;
    values[1] = corral__atom_true;
    if (!enif_make_map_from_arrays(env, keys, values, 3, &map)) return enif_make_badarg(env);
    return map;
}

static CORRAL__NORETURN void throw_term(corral_call *c, ERL_NIF_TERM reason)
{
    c->exception = reason;
#if !defined(CORRAL_PORTABLE_SETJMP) && (defined(__x86_64__) || defined(__aarch64__) || defined(__i386__))
    __builtin_longjmp(c->jmp, 1);
#else
    _longjmp(c->jmp, 1);
#endif
}

#define MESSAGE_MAX 1024

void corral__raisev(corral_call *c, ERL_NIF_TERM module, const char *fmt, va_list ap)
{
    char msg[MESSAGE_MAX];
    corral__function_name(c, msg, sizeof msg);
    size_t n = strlen(msg);
    if (n + 2 < sizeof msg) {
        msg[n++] = ':';
        msg[n++] = ' ';
        int w = vsnprintf(msg + n, sizeof msg - n, fmt, ap);
        if (w > 0) n += (size_t)w < sizeof msg - n ? (size_t)w : sizeof msg - n - 1;
    }
    throw_term(c, exception_struct(c->env, module, msg, n));
}

void corral__raisef(corral_call *c, ERL_NIF_TERM module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    corral__raisev(c, module, fmt, ap);
}

ERL_NIF_TERM corral_raise_arg(corral_call *c, int i, const char *expected, ...)
{
    char what[512], term[CORRAL__TERM_PRINT_MAX + 8];
    va_list ap;
    va_start(ap, expected);
    vsnprintf(what, sizeof what, expected, ap);
    va_end(ap);
    if ((unsigned)i < (unsigned)c->argc)
        corral__inspect(c->env, c->argv[i], term, sizeof term);
    else
        snprintf(term, sizeof term, "nothing (the function has %d arguments)", c->argc);
    corral__raisef(c, corral__atom_argument_error, "argument %d: %s, got: %s", i + 1, what, term);
}

ERL_NIF_TERM corral_raise_argument(corral_call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    corral__raisev(c, corral__atom_argument_error, fmt, ap);
}

ERL_NIF_TERM corral_raise(corral_call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    corral__raisev(c, corral__atom_runtime_error, fmt, ap);
}

ERL_NIF_TERM corral_raise_exception(corral_call *c, const char *module, const char *fmt, ...)
{
    ERL_NIF_TERM mod;
    /* Exception modules come from code literals, not data, so making the
     * atom here cannot grow the atom table without bound. */
    if (!enif_make_existing_atom(c->env, module, &mod, ERL_NIF_LATIN1)) mod = enif_make_atom(c->env, module);
    va_list ap;
    va_start(ap, fmt);
    corral__raisev(c, mod, fmt, ap);
}

size_t corral_inspect(corral_call *c, ERL_NIF_TERM term, char *buf, size_t cap)
{
    return corral__inspect(c->env, term, buf, cap);
}

ERL_NIF_TERM corral_raise_term(corral_call *c, ERL_NIF_TERM reason) { throw_term(c, reason); }

ERL_NIF_TERM corral_raise_oom(corral_call *c, size_t size)
{
    corral__raisef(c, corral__atom_runtime_error, "out of memory allocating %zu bytes", size);
}

void corral__bad_position(corral_call *c, int i)
{
    corral__raisef(c, corral__atom_runtime_error,
                   "argument index %d is out of range: the function has %d arguments "
                   "(a bug in the NIF: positions are 0-based in C)",
                   i, c->argc);
}

/* }====================================================================== */
