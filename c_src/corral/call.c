/*
 * call.c: the NIF boundary. The library entry point built from the export
 * table, load/upgrade, the unwind that ends a raising call, the cleanup
 * stack and raising itself.
 */
#define _GNU_SOURCE /* dladdr and Dl_info, on glibc */
#include "corral_internal.h"

#include <float.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dlfcn.h>
#endif

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
    CORRAL__LOAD_HOOK = 106,
};

static ERL_NIF_TERM live_nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    (void)argc;
    (void)argv;
    return corral__live_map(env);
}

/* {----------------------------------------------------------------------
 * The load info, and the library hooks
 *
 * Corral's loaders (the function `use Corral` generates, the on_load of a
 * module corral_stubs generates) pass {corral, Abi, Reply, Data}: Data is
 * the user's load data, Reply is {Pid, Ref} of the loading process. A
 * failed load hook sends its sentence there as
 * {'$corral_load_failed', Ref, Reason} before the load returns its code
 * (erl_nif keeps only the number); the loader reads it at once. Reason is
 * the text of corral_load_fail (a binary), or what a raise in the hook
 * would have raised from a NIF ({'$corral_error', ...}, which the loader
 * turns into text as the module's functions would).
 * ---------------------------------------------------------------------- */

typedef struct {
    ERL_NIF_TERM data;
    bool reply;
    ErlNifPid pid;
    ERL_NIF_TERM ref;
} load_info;

/* Any tuple tagged `corral` is Corral's load info, and must be this
 * version's; other terms (an Erlang user loading by hand) are the load
 * data as they are, and are not checked. */
static int read_load_info(ErlNifEnv *env, ERL_NIF_TERM info, load_info *out)
{
    int arity, n;
    const ERL_NIF_TERM *elems, *reply;
    char tag[8];
    int abi;
    out->data = info;
    out->reply = false;
    if (!enif_get_tuple(env, info, &arity, &elems) || arity < 1) return 0;
    if (!enif_get_atom(env, elems[0], tag, sizeof tag, ERL_NIF_LATIN1) || strcmp(tag, "corral") != 0) return 0;
    if (arity != 4 || !enif_get_int(env, elems[1], &abi) || abi != CORRAL_ABI) return CORRAL__LOAD_ABI_MISMATCH;
    out->data = elems[3];
    if (enif_get_tuple(env, elems[2], &n, &reply) && n == 2 && enif_get_local_pid(env, reply[0], &out->pid)) {
        out->reply = true;
        out->ref = reply[1];
    }
    return 0;
}

static corral_load_hook user_load;
static corral_unload_hook user_unload;

void corral__set_load_hook(corral_load_hook fn) { user_load = fn; }
void corral__set_unload_hook(corral_unload_hook fn) { user_unload = fn; }

#define LOAD_MESSAGE_MAX 1024

static ERL_NIF_TERM binary_of(ErlNifEnv *env, const char *text)
{
    ERL_NIF_TERM bin;
    size_t len = strlen(text);
    unsigned char *bytes = enif_make_new_binary(env, len, &bin);
    if (bytes) memcpy(bytes, text, len);
    return bin;
}

bool corral_load_fail(corral_load *l, const char *fmt, ...)
{
    if (l == NULL || l->message_ == NULL || l->message_cap_ == 0) return false;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(l->message_, l->message_cap_, fmt, ap);
    va_end(ap);
    /* An empty sentence still says the hook gave one. */
    if (w <= 0) snprintf(l->message_, l->message_cap_, "(no reason given)");
    return false;
}

/* What identifies the load hook's call context in messages
 * (corral__function_name): never called. */
static ERL_NIF_TERM load_hook_nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
    (void)argc;
    (void)argv;
    return enif_make_badarg(env);
}

static bool call_load_hook(corral_call *c, corral_load *l, bool *ok)
{
    if (CORRAL__SETJMP(c->jmp)) return false;
    *ok = user_load(l);
    return true;
}

/* Sends the reason of a failed load hook to the loading process. */
static void report_load_failure(ErlNifEnv *env, const load_info *li, ERL_NIF_TERM reason)
{
    if (!li->reply) return;
    ErlNifEnv *msg_env = enif_alloc_env();
    if (msg_env == NULL) return;
    ERL_NIF_TERM msg = enif_make_tuple3(msg_env, enif_make_atom(msg_env, "$corral_load_failed"),
                                        enif_make_copy(msg_env, li->ref), enif_make_copy(msg_env, reason));
    enif_send(env, &li->pid, msg_env, msg);
    enif_free_env(msg_env);
}

/* Runs the user's load hook, if there is one: 0, or the load's code. */
static int run_load_hook(ErlNifEnv *env, const load_info *li, bool upgrade)
{
    if (user_load == NULL) return 0;
    char message[LOAD_MESSAGE_MAX];
    message[0] = '\0';
    corral_call call;
    corral__call_init(&call, env, 0, NULL, load_hook_nif, 0);
    corral_load l = {&call, env, li->data, upgrade, message, sizeof message};
    bool ok = false;
    if (!call_load_hook(&call, &l, &ok)) {
        /* Raised (or corral_return_error*, whose result is no reason to
         * load): the reason, as a NIF would have raised it. */
        ERL_NIF_TERM reason = call.exception;
        report_load_failure(env, li, reason);
        corral__finish(&call);
        return CORRAL__LOAD_HOOK;
    }
    corral__finish(&call);
    if (ok) return 0;
    if (message[0] != '\0') report_load_failure(env, li, binary_of(env, message));
    return CORRAL__LOAD_HOOK;
}

/* }---------------------------------------------------------------------- */

/* Corral's own set-up of the library: 0, or the load's code. */
static int setup(ErlNifEnv *env)
{
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

int corral__on_load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info)
{
    *priv = &corral__lib;
    load_info li;
    int rc = read_load_info(env, info, &li);
    if (rc == 0) rc = setup(env);
    return rc ? rc : run_load_hook(env, &li, false);
}

/* Upgrades that loaded this same image again (a library loaded a second
 * time from the same path: the dynamic loader hands back the mapped one):
 * the unload of the older module then leaves the image, its pool and its
 * hooks to the newer one. */
static atomic_int same_image_upgrades;

/* A new version of the module loads while the old code still runs: resource
 * types are taken over, so objects made by the old library stay valid. */
int corral__on_upgrade(ErlNifEnv *env, void **priv, void **old_priv, ERL_NIF_TERM info)
{
    *priv = &corral__lib;
    load_info li;
    int rc = read_load_info(env, info, &li);
    if (rc == 0) rc = setup(env);
    if (rc == 0) rc = run_load_hook(env, &li, true);
    if (rc != 0) return rc;
    corral__library *old = *old_priv;
    if (old == &corral__lib) {
        atomic_fetch_add(&same_image_upgrades, 1);
    } else if (old && old->abi == CORRAL_ABI) {
        /* Objects of the old library now count against this one's types. */
        corral__carry_live_counts(old);
        atomic_store(&old->replaced, true);
    }
    return 0;
}

/* Objects that call into the library that made them (the yield state of
 * a yielding NIF holds its description and state destructor; a yielding
 * call in flight continues in its code) can outlive the library's module:
 * after a reload, the new library frees them, through pointers into the old
 * one's image. Each such object holds the image while it lives. An unload
 * that finds holds left takes one more reference on the image, so the VM's
 * dlclose does not unmap it, and the release of the last hold (which runs
 * in a newer library's code: the VM only unloads a library whose resource
 * types were all taken over or have no objects left) gives that reference
 * back. So an old image lives as long as something points into it, and no
 * longer. One word holds both the count and whether the library is gone,
 * so that exactly one of the unload and the last release closes. */
struct corral__image {
    atomic_uint_fast64_t holds; /* live objects, plus IMAGE_UNLOADED */
    void *handle;               /* the unload's own reference */
};

#define IMAGE_UNLOADED ((uint_fast64_t)1 << 63)

static corral__image this_image;

/* Another reference on this image (the library file this code is in), or
 * NULL; close_image gives it back. */
#ifdef _WIN32
static void *reference_image(void)
{
    HMODULE module;
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (LPCWSTR)(void *)&corral__lib, &module))
        return NULL;
    return (void *)module;
}

static void close_image(void *handle) { FreeLibrary((HMODULE)handle); }
#else
static void *reference_image(void)
{
    Dl_info info;
    if (!dladdr((void *)&corral__lib, &info) || info.dli_fname == NULL) return NULL;
    return dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
}

static void close_image(void *handle) { dlclose(handle); }
#endif

corral__image *corral__image_hold(void)
{
    atomic_fetch_add_explicit(&this_image.holds, 1, memory_order_relaxed);
    return &this_image;
}

void corral__image_release(corral__image *image)
{
    uint_fast64_t before = atomic_fetch_sub_explicit(&image->holds, 1, memory_order_acq_rel);
    if (before == (IMAGE_UNLOADED | 1)) close_image(image->handle);
}

void corral__keep_image_mapped(void) { (void)reference_image(); }

/* At unload: keeps the image for the objects that still hold it. */
static void keep_image_for_holds(void)
{
    if (atomic_load_explicit(&this_image.holds, memory_order_acquire) == 0) return;
    this_image.handle = reference_image();
    if (this_image.handle == NULL) return; /* cannot happen while mapped */
    uint_fast64_t before = atomic_fetch_or_explicit(&this_image.holds, IMAGE_UNLOADED, memory_order_acq_rel);
    /* The last hold went between the two reads: nothing needs the image. */
    if (before == 0) close_image(this_image.handle);
}

/* The user's unload hook, once. */
static atomic_bool unload_hook_ran;

static void run_unload_hook(void)
{
    if (atomic_exchange(&unload_hook_ran, true)) return;
    if (user_unload != NULL) {
        corral_unload u = {atomic_load(&corral__lib.replaced)};
        user_unload(&u);
    }
    /* CORRAL_VM_LOCKS: nothing runs this library's code any more (its pool
     * has drained), so its locks can go, unless a newer library took over
     * its objects (they keep their locks, in that library's code) or an
     * object still holds this image (and may take a static lock): those
     * are left to the end of the VM. */
    if (!atomic_load(&corral__lib.replaced) && atomic_load_explicit(&this_image.holds, memory_order_acquire) == 0)
        corral__vm_locks_forget_all();
}

void corral__pool_drained(void) { run_unload_hook(); }

/* The library is going away (its module was purged): stop the threads that
 * run its code first. They finish the jobs already submitted; the unload
 * hook runs after the last of them, on its thread, or here when no pool
 * thread runs. */
void corral__on_unload(ErlNifEnv *env, void *priv)
{
    (void)env;
    (void)priv;
    int shared = atomic_load(&same_image_upgrades);
    while (shared > 0)
        if (atomic_compare_exchange_weak(&same_image_upgrades, &shared, shared - 1)) return;
    corral__watch_stop();
    if (!corral__pool_stop()) run_unload_hook();
    keep_image_for_holds();
}

/* Appends `suffix` to `prefix` in memory that lives as long as the library;
 * NULL when that memory cannot be had (the load then fails: the row's
 * function is not found). */
static char *join_name(const char *prefix, const char *name, const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(name), s = strlen(suffix);
    char *out = malloc(a + b + s + 1);
    if (out == NULL) return NULL;
    memcpy(out, prefix, a);
    memcpy(out + a, name, b);
    memcpy(out + a + b, suffix, s + 1);
    return out;
}

/* Runs when the library is opened, before the VM reads the function table
 * through ERL_NIF_INIT. Each row of the export table becomes the VM function
 * "__nif_<name>" ("__nif_<name>_async" for a thread job, which returns the
 * job): the module's own function `name` (generated by use Corral in
 * Elixir, by corral_stubs in Erlang) calls it and turns Corral's error
 * reasons into the exceptions they describe, and for a thread job waits for
 * the reply. A bad row (empty name, arity above 255, no function) gets an
 * empty name, which makes the VM refuse the load ("function not found");
 * the build reads the same rows and names them before that. */
void corral__prepare(const corral_module_info *info, corral_export *exports, ErlNifFunc *funcs)
{
    const char *module = info->module;
    unsigned count = info->count;
    bool elixir = info->magic[6] == 'X';
    for (unsigned k = 0; k < count; k++) {
        const corral_export *e = &exports[k];
        bool thread = (e->flags & CORRAL__THREAD) != 0;
        funcs[k].arity = e->arity;
        funcs[k].fptr = e->fptr;
        funcs[k].flags = thread ? 0 : e->flags;
        if (e->name[0] == '\0' || e->arity > 255 || e->fptr == NULL)
            funcs[k].name = "";
        else
            funcs[k].name = join_name("__nif_", e->name, thread ? "_async" : "");
        if (funcs[k].name == NULL) funcs[k].name = "";
    }
    funcs[count] = (ErlNifFunc){"__corral_live__", 0, live_nif, 0};
    funcs[count + 1] = (ErlNifFunc){"__corral_cancel__", 1, corral__cancel_nif, 0};
    funcs[count + 2] = (ErlNifFunc){"__corral_ack__", 2, corral__ack_nif, 0};
    corral__lib.abi = CORRAL_ABI;
    corral__lib.module = module;
    corral__lib.elixir = elixir;
    corral__lib.exports = exports;
    corral__lib.count = count;
}

/* }====================================================================== */

/* {======================================================================
 * Allocation failure, on demand (tests)
 *
 * Every allocation Corral makes for a call (scratch chunks, the cleanup
 * spill, resources, binaries, message and job environments) asks
 * corral__alloc_fails() first, so a test can make the n-th one fail and
 * check that each failure raises and releases everything. Off, it costs one
 * relaxed load on paths that are about to call the allocator anyway.
 * ======================================================================= */

atomic_long corral__fail_countdown;

void corral_fail_allocations_after(long n) { atomic_store(&corral__fail_countdown, n > 0 ? n : 0); }

bool corral__alloc_fails_counted(void)
{
    long left = atomic_load_explicit(&corral__fail_countdown, memory_order_relaxed);
    while (left > 0)
        if (atomic_compare_exchange_weak(&corral__fail_countdown, &left, left - 1)) return left == 1;
    return false;
}

/* }====================================================================== */

/* {======================================================================
 * Cleanup stack and scratch arena
 * ======================================================================= */

/* A chunk of scratch memory. The newest chunk that takes small requests
 * (c->arena, the head) also keeps the call's budget:
 *   - total: the bytes of all the call's chunks;
 *   - checked: the total up to which no check is needed. The first
 *     CORRAL__CHECK_VM_FROM bytes are free of checks; past them, each
 *     check approves the new chunk and SCRATCH_AHEAD bytes more;
 *   - reserved: what the last check reserved (limits.c), given back at the
 *     next check (the chunks before it are in use by then, so the usage
 *     counts them) or when the call ends.
 * A small input can decode into much more scratch memory than itself
 * (a list shared 10,000 times in a term is stored once), so the budget is
 * the call's, not the chunk's; its cost is in the path that makes a chunk. */
typedef struct corral__arena {
    struct corral__arena *prev;
    size_t used, cap;
    unsigned char *data; /* 16-aligned; enif_alloc only promises 8 */
    size_t total, checked, reserved; /* the head's: the call's budget */
} corral__arena;

#define ARENA_CHUNK 4096
#define SCRATCH_AHEAD ((size_t)CORRAL__CHECK_VM_FROM)

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
    if (a && a->reserved) corral__unreserve(a->reserved);
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
    /* corral_return_error left with a result, not an exception. */
    if (c->flags & CORRAL__CALL_ERROR_RESULT) return c->exception;
    return enif_raise_exception(c->env, c->exception);
}

corral_defer_id corral__defer_slow(corral_call *c, void (*fn)(void *), void *arg)
{
    unsigned n = c->ncleanup;
    if (n < CORRAL__INLINE_CLEANUPS) return corral__defer(c, fn, arg);
    unsigned k = n - CORRAL__INLINE_CLEANUPS;
    if (k >= c->spill_cap) {
        unsigned cap = c->spill_cap ? c->spill_cap * 2 : 16;
        corral__cleanup *grown =
            corral__alloc_fails() ? NULL : enif_realloc(c->spill_cap ? c->spill : NULL, cap * sizeof *grown);
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

/* "<route>: " for messages about scratch memory taken for a decoded
 * value, or "" for plain corral_alloc. */
static const char *route_prefix(corral_call *c, const corral__where *at, char *buf, size_t cap)
{
    size_t n = at ? corral__route(c, at, buf, cap - 2) : 0;
    if (n == 0) return "";
    buf[n] = ':';
    buf[n + 1] = ' ';
    buf[n + 2] = '\0';
    return buf;
}

static CORRAL__NORETURN CORRAL__COLD void scratch_oom(corral_call *c, size_t size, const corral__where *at)
{
    char route[400];
    const char *prefix = route_prefix(c, at, route, sizeof route);
    corral__raisef(c, corral__atom_runtime_error, "%sout of memory allocating %zu bytes", prefix, size);
}

/* The call's scratch memory grows from `held` bytes by a chunk of `bytes`
 * past what was approved: checks the whole against the limits and reserves
 * the chunk (and SCRATCH_AHEAD more, if free, so that the next check is
 * that far off). Returns what it reserved; raises, naming the value being
 * decoded when there is one, if the call cannot have that much. */
static CORRAL__COLD size_t check_scratch(corral_call *c, size_t held, size_t bytes, const corral__where *at,
                                          bool soft)
{
    corral__limits l;
    corral__fit fit = corral__reserve(bytes + SCRATCH_AHEAD, held + bytes, &l);
    if (fit == CORRAL__FITS) return bytes + SCRATCH_AHEAD;
    if (fit == CORRAL__NOT_NOW && corral__reserve(bytes, held + bytes, &l) == CORRAL__FITS) return bytes;
    /* A soft request (a guess of the size) takes no for an answer. */
    if (soft) return 0;
    /* The raise ends the call: the message's own small allocations need
     * no more checks. */
    if (c->arena) c->arena->checked = SIZE_MAX;
    char route[400];
    const char *prefix = route_prefix(c, at, route, sizeof route);
    if (fit == CORRAL__NEVER_FITS)
        corral__raisef(c, corral__atom_argument_error,
                       "%scannot allocate %zu bytes of scratch memory: the call would hold %zu bytes, more than "
                       "this VM can ever have (%zu bytes, %s)",
                       prefix, bytes, held + bytes, l.ever, l.name);
    corral__raisef(c, corral__atom_runtime_error,
                   "%scannot allocate %zu bytes of scratch memory: the call would hold %zu bytes, out of memory "
                   "(about %zu bytes are free)",
                   prefix, bytes, held + bytes, l.now);
}

/* A new chunk for a request of `size` (`need` rounded up); the slow path
 * of every scratch allocation. A `soft` request returns NULL where another
 * raises (over the limits, or out of memory). */
static CORRAL__COLD __attribute__((noinline)) void *arena_grow(corral_call *c, size_t need, size_t size,
                                                               const corral__where *at, bool soft)
{
    corral__arena *a = c->arena;
    if (need < size || need > SIZE_MAX / 4) {
        if (soft) return NULL;
        scratch_oom(c, size, at);
    }
    size_t cap = need > ARENA_CHUNK - sizeof *a ? need : ARENA_CHUNK - sizeof *a;
    size_t bytes = sizeof *a + 15 + cap;
    size_t total = a ? a->total : 0, checked = a ? a->checked : CORRAL__CHECK_VM_FROM;
    size_t reserved = a ? a->reserved : 0;
    bool checked_now = false;
    if (CORRAL__UNLIKELY(bytes > checked - total)) {
        /* The chunks made so far are in use: the usage counts them now. */
        if (reserved) {
            corral__unreserve(reserved);
            a->reserved = 0;
        }
        reserved = check_scratch(c, total, bytes, at, soft);
        if (reserved == 0) {
            /* (soft) Nothing is approved past the chunks in use now. */
            if (a) a->checked = total;
            return NULL;
        }
        checked = total + reserved;
        checked_now = true;
    }
    corral__arena *fresh = corral__alloc_fails() ? NULL : enif_alloc(bytes);
    if (fresh == NULL) {
        if (checked_now) {
            corral__unreserve(reserved);
            if (a) a->checked = total;
        }
        if (soft) return NULL;
        scratch_oom(c, size, at);
    }
    fresh->data = (unsigned char *)(((uintptr_t)(fresh + 1) + 15) & ~(uintptr_t)15);
    fresh->cap = cap;
    fresh->used = 0;
    /* A dedicated chunk for a big request goes under the current one, so
     * the current chunk's free space stays usable. */
    if (a != NULL && need > ARENA_CHUNK / 2) {
        fresh->prev = a->prev;
        a->prev = fresh;
        fresh->used = need;
        a->total = total + bytes;
        a->checked = checked;
        a->reserved = reserved;
        return fresh->data;
    }
    /* The first chunk of a call: what the call showed so far is none. */
    if (a == NULL) c->shown = NULL;
    fresh->prev = a;
    fresh->total = total + bytes;
    fresh->checked = checked;
    fresh->reserved = reserved;
    if (a) a->reserved = 0;
    c->arena = fresh;
    fresh->used = need;
    return fresh->data;
}

static inline void *arena_take(corral_call *c, size_t size, const corral__where *at, bool soft)
{
    size_t need = (size + 15) & ~(size_t)15;
    corral__arena *a = c->arena;
    if (CORRAL__LIKELY(a != NULL && need >= size && a->cap - a->used >= need)) {
        void *p = a->data + a->used;
        a->used += need;
        return p;
    }
    return arena_grow(c, need, size, at, soft);
}

void *corral_alloc(corral_call *c, size_t size) { return arena_take(c, size, NULL, false); }

void *corral__scratch_regrow(corral_call *c, void *p, size_t old, size_t size, const corral__where *at)
{
    size_t had = (old + 15) & ~(size_t)15, need = (size + 15) & ~(size_t)15;
    if (need < size || need > SIZE_MAX / 4) scratch_oom(c, size, at);
    corral__arena *h = c->arena, **link = NULL;
    if (h == NULL || size <= old) corral_raise(c, "corral__scratch_regrow: not a growth of the newest block");
    /* At the end of the head chunk with room after it: grows in place. */
    if ((unsigned char *)p + had == h->data + h->used && h->cap - (h->used - had) >= need) {
        h->used += need - had;
        return p;
    }
    if (h->data == p && h->used == had) link = &c->arena;
    else if (h->prev != NULL && h->prev->data == p && h->prev->used == had) link = &h->prev;
    if (link != NULL && (*link)->cap >= need) {
        (*link)->used = need;
        return p;
    }
    if (link == NULL) {
        /* Inside a shared chunk: a new block, the old one freed with the call. */
        void *q = arena_take(c, size, at, false);
        memcpy(q, p, old);
        return q;
    }
    /* A chunk of its own: the budget first (a raise leaves the chunk as it
     * was, freed with the call), then a new chunk and a copy. Not
     * enif_realloc: the VM's allocator moves a big block's pages with
     * mremap, whose new pages then fault one by one when written (a 1M
     * list took 8.5x the hand-written loop's time), where a new block comes
     * from its cache of freed segments, whose pages are already there. */
    size_t delta = need - (*link)->cap;
    if (CORRAL__UNLIKELY(delta > h->checked - h->total)) {
        if (h->reserved) {
            corral__unreserve(h->reserved);
            h->reserved = 0;
        }
        h->reserved = check_scratch(c, h->total, delta, at, false);
        h->checked = h->total + h->reserved;
    }
    h->total += delta;
    corral__arena *a = *link;
    corral__arena *moved = corral__alloc_fails() ? NULL : enif_alloc(sizeof *a + 15 + need);
    if (moved == NULL) scratch_oom(c, size, at);
    /* The data starts at the next 16-byte boundary, which may be at another
     * offset from the chunk's start than in the old chunk: the header and
     * the data are copied each to its place, so no byte moves twice. */
    unsigned char *data = (unsigned char *)(((uintptr_t)(moved + 1) + 15) & ~(uintptr_t)15);
    *moved = *a;
    memcpy(data, a->data, old);
    enif_free(a);
    *link = moved;
    moved->data = data;
    moved->cap = need;
    moved->used = need;
    return data;
}

void *corral__scratch_for(corral_call *c, size_t count, size_t width, bool zero, const corral__where *at)
{
    if (width != 0 && count > SIZE_MAX / width)
        corral_raise(c, "cannot allocate %zu items of %zu bytes: the size overflows", count, width);
    void *p = arena_take(c, count * width, at, false);
    if (zero) memset(p, 0, count * width);
    return p;
}

void *corral__scratch_try(corral_call *c, size_t size) { return arena_take(c, size, NULL, true); }

void *corral_calloc(corral_call *c, size_t count, size_t size)
{
    return corral__scratch_for(c, count, size, true, NULL);
}

/* }====================================================================== */

/* {======================================================================
 * Raising
 * ======================================================================= */

#define MESSAGE_MAX 1024

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
    if (c->nif == load_hook_nif) {
        snprintf(buf + n, cap - n, " load hook");
        return;
    }
    for (unsigned k = 0; k < corral__lib.count; k++) {
        if (corral__lib.exports[k].fptr == c->nif) {
            snprintf(buf + n, cap - n, "%c%s/%u", sep, corral__lib.exports[k].name, corral__lib.exports[k].arity);
            return;
        }
    }
    snprintf(buf + n, cap - n, "%c?/%d", sep, c->argc);
}

/* {----------------------------------------------------------------------
 * Terms inside messages
 *
 * A NIF cannot call Elixir, and a term printer written in C can only
 * imitate one version of inspect/1 (and none of the Inspect implementations
 * of the user's own structs). So messages do not print terms in C: where a
 * term belongs, the text holds a placeholder (SHOW_MARK and two bytes that
 * number it), and the term waits in a list of the call's scratch memory.
 * At the raise, the text is cut at the placeholders:
 *   - in an Elixir module, the reason raised is
 *     {:"$corral_error", ExceptionModule, [text | {:inspect, term}, ...]},
 *     which the module's generated function turns into the exception with
 *     the caller's own inspect/1 (Corral.Error);
 *   - in an Erlang module, the VM prints each term in Erlang syntax
 *     (enif_snprintf's %T), and the exception is raised as is.
 * A placeholder that does not name a term shown in this call (stray bytes
 * in user text) stays text.
 * ---------------------------------------------------------------------- */

#define SHOW_MARK '\x1a'
#define SHOW_MAX 4096 /* two bytes of six bits number a placeholder */

struct corral__shown {
    struct corral__shown *prev;
    ERL_NIF_TERM term;
    unsigned index;
};

size_t corral__show(corral_call *c, ERL_NIF_TERM term, char *buf, size_t cap)
{
    if (cap < 4) {
        if (cap) buf[0] = '\0';
        return 0;
    }
    struct corral__shown *m = corral_alloc(c, sizeof *m);
    unsigned index = c->shown ? c->shown->index + 1 : 0;
    if (index >= SHOW_MAX) return (size_t)snprintf(buf, cap, "...");
    m->prev = c->shown;
    m->term = term;
    m->index = index;
    c->shown = m;
    buf[0] = SHOW_MARK;
    buf[1] = (char)(0x40 + (index & 63));
    buf[2] = (char)(0x40 + (index >> 6));
    buf[3] = '\0';
    return 3;
}

const char *corral_show(corral_call *c, ERL_NIF_TERM term)
{
    char *text = corral_alloc(c, 4);
    corral__show(c, term, text, 4);
    return text;
}

/* The term behind the placeholder at msg[k], or false if there is none. */
static bool shown_at(corral_call *c, const char *msg, size_t len, size_t k, ERL_NIF_TERM *term)
{
    if (msg[k] != SHOW_MARK || k + 2 >= len || c->arena == NULL) return false;
    unsigned char lo = (unsigned char)msg[k + 1], hi = (unsigned char)msg[k + 2];
    if (lo < 0x40 || lo > 0x7f || hi < 0x40 || hi > 0x7f) return false;
    unsigned index = (unsigned)(lo - 0x40) | (unsigned)(hi - 0x40) << 6;
    for (const struct corral__shown *m = c->shown; m; m = m->prev)
        if (m->index == index) {
            *term = m->term;
            return true;
        }
    return false;
}

static ERL_NIF_TERM text_piece(ErlNifEnv *env, const char *text, size_t len)
{
    ERL_NIF_TERM bin;
    unsigned char *bytes = enif_make_new_binary(env, len, &bin);
    if (bytes) memcpy(bytes, text, len);
    return bin;
}

/* {----------------------------------------------------------------------
 * Where in C a raise was written (CORRAL_RAISE_LOCATIONS, corral.h): the
 * macros of the library's own C note it here, on the thread that raises,
 * and the raise takes it (throw_term forgets it, also for raises that do
 * not show it). Always compiled: a library built with the macros may use a
 * runtime built without them. Nothing here runs in a release build's calls.
 */

static _Thread_local struct {
    const char *file;
    int line;
} where;

void corral__where_raise(const char *file, int line)
{
    where.file = file;
    where.line = line;
}

void corral__where_first(const char *file, int line)
{
    if (where.file == NULL) corral__where_raise(file, line);
}

void corral__where_read(const char *file, int line) { corral__where_raise(file, line); }

void corral__where_done(void) { where.file = NULL; }

/* The place as the last piece of a message, {:corral_at, file, line}, onto
 * `tail`; `tail` alone when no place was noted. */
static ERL_NIF_TERM where_piece(ErlNifEnv *env, ERL_NIF_TERM tail)
{
    if (where.file == NULL) return tail;
    ERL_NIF_TERM at = enif_make_tuple3(env, enif_make_atom(env, "corral_at"),
                                       text_piece(env, where.file, strlen(where.file)), enif_make_int(env, where.line));
    return enif_make_list_cell(env, at, tail);
}

/* }---------------------------------------------------------------------- */

/* The message cut at its placeholders: [text | {:inspect, term}, ...],
 * then where it was raised if that is known. */
static ERL_NIF_TERM message_pieces(corral_call *c, const char *msg, size_t len)
{
    ErlNifEnv *env = c->env;
    ERL_NIF_TERM pieces = where_piece(env, enif_make_list(env, 0));
    size_t end = len, k = len;
    ERL_NIF_TERM term;
    /* Built from the end, so the list comes out in order. */
    while (k-- > 0) {
        if (!shown_at(c, msg, len, k, &term)) continue;
        if (k + 3 < end) pieces = enif_make_list_cell(env, text_piece(env, msg + k + 3, end - k - 3), pieces);
        pieces = enif_make_list_cell(env, enif_make_tuple2(env, corral__atom_inspect, term), pieces);
        end = k;
    }
    if (end > 0) pieces = enif_make_list_cell(env, text_piece(env, msg, end), pieces);
    return pieces;
}

/* The reason an Elixir module's function turns into the exception. */
static ERL_NIF_TERM elixir_reason(corral_call *c, ERL_NIF_TERM module, const char *msg, size_t len)
{
    return enif_make_tuple3(c->env, corral__atom_corral_error, module, message_pieces(c, msg, len));
}

/* What an Erlang module's generated function raises for an exception
 * module: badarg and badarith as the VM's own functions do, runtime_error
 * for RuntimeError, and any other name as it is. */
static ERL_NIF_TERM erlang_kind(ErlNifEnv *env, ERL_NIF_TERM module)
{
    if (module == corral__atom_argument_error) return enif_make_atom(env, "badarg");
    if (module == corral__atom_arithmetic_error) return enif_make_atom(env, "badarith");
    if (module == corral__atom_runtime_error) return enif_make_atom(env, "runtime_error");
    return module;
}

/* Terms in an Erlang module's message are printed by the VM (%T), at a
 * bounded cost: %T computes every digit of a bignum (2^1500000 held a
 * scheduler for 15 s) and walks what it prints. The terms of one message
 * share a budget of units (one per list cell, tuple, map entry or small
 * leaf; bigger integers and binaries cost more):
 *   - a term that fits in what is left is printed by %T, as it always was,
 *     unless it holds a float (%T writes 1.500000e+00): that one is walked
 *     as below, its floats printed as Erlang prints them (print_float);
 *   - a bigger one is printed here, container by container in %T's syntax,
 *     its leaves and the parts that fit by %T, and what the budget does not
 *     reach as "..." ([1,2|...], {a,...}, #{k=>v,...}, <<"abc"...>>, and
 *     "abc"... for a list of printable characters); an integer of more than
 *     SHOW_INT_BITS bits is "#Integer<N bits>", its size read from its
 *     external format (enif_term_to_binary: a copy of its bytes, not a
 *     conversion to decimal).
 * Every walk stops with the budget, so no term is walked to its end; only a
 * bitstring that is not a whole number of bytes, whose size erl_nif does not
 * tell, is left to %T (SHOW_BITS_COST each). */

#define SHOW_BUDGET 1000
#define SHOW_DEPTH 64
#define SHOW_INT_BITS 4096
#define SHOW_BINARY_MAX 1024 /* bytes of a binary printed whole */
#define SHOW_BINARY_HEAD 256 /* bytes shown of a longer one */
#define SHOW_BITS_COST 250
#define SHOW_STRING_MIN 16 /* printable characters that make a list print as a string */

struct printing {
    ErlNifEnv *env;
    char *out;
    size_t cap, n; /* out holds cap bytes, the last one for the NUL */
    long budget;
    int limits; /* 0: ±2^SHOW_INT_BITS not made yet, 1: made, -1: could not */
    bool floats; /* whether the last fits() met a float */
    ERL_NIF_TERM int_max, int_min;
};

/* Whether the text is full, all but the room kept for the "..." and the
 * brackets that close what is open: then every loop stops. */
#define SHOW_RESERVE 24
static bool full(const struct printing *p) { return p->n + SHOW_RESERVE >= p->cap; }

static void put(struct printing *p, const char *text, size_t len)
{
    if (p->n + 1 >= p->cap) return;
    if (len > p->cap - 1 - p->n) len = p->cap - 1 - p->n;
    memcpy(p->out + p->n, text, len);
    p->n += len;
    p->out[p->n] = '\0';
}

static void put_str(struct printing *p, const char *text) { put(p, text, strlen(text)); }

static void put_term(struct printing *p, ERL_NIF_TERM term)
{
    if (full(p)) return;
    size_t room = p->cap - SHOW_RESERVE - p->n;
    int w = enif_snprintf(p->out + p->n, room, "%T", term);
    if (w > 0) p->n += (size_t)w < room ? (size_t)w : room - 1;
}

/* -2^SHOW_INT_BITS and 2^SHOW_INT_BITS, from their external format
 * (LARGE_BIG_EXT: 513 little-endian bytes, the last one 1). */
static bool int_limits(struct printing *p)
{
    if (p->limits == 0) {
        unsigned char ext[2 + 4 + 1 + SHOW_INT_BITS / 8 + 1] = {131, 111, 0, 0, (SHOW_INT_BITS / 8 + 1) >> 8,
                                                                 (SHOW_INT_BITS / 8 + 1) & 0xff};
        ext[sizeof ext - 1] = 1;
        p->limits = enif_binary_to_term(p->env, ext, sizeof ext, &p->int_max, 0) ? 1 : -1;
        ext[6] = 1;
        if (p->limits == 1 && !enif_binary_to_term(p->env, ext, sizeof ext, &p->int_min, 0)) p->limits = -1;
    }
    return p->limits == 1;
}

/* The budget left after printing term whole, or -1 if it does not fit. */
static long fits(struct printing *p, ERL_NIF_TERM term, long budget, int depth)
{
    ErlNifEnv *env = p->env;
    if (budget < 0 || depth > SHOW_DEPTH) return -1;
    switch (enif_term_type(env, term)) {
    case ERL_NIF_TERM_TYPE_INTEGER: {
        ErlNifSInt64 i;
        ErlNifUInt64 u;
        if (enif_get_int64(env, term, &i) || enif_get_uint64(env, term, &u)) return budget - 1;
        if (!int_limits(p) || enif_compare(term, p->int_min) <= 0 || enif_compare(term, p->int_max) >= 0) return -1;
        return budget - 1 - SHOW_INT_BITS / 256;
    }
    case ERL_NIF_TERM_TYPE_BITSTRING: {
        ErlNifBinary bin;
        if (!enif_inspect_binary(env, term, &bin)) return budget - SHOW_BITS_COST;
        return bin.size <= SHOW_BINARY_MAX ? budget - 1 - (long)(bin.size / 16) : -1;
    }
    case ERL_NIF_TERM_TYPE_LIST: {
        ERL_NIF_TERM head;
        while (budget >= 0 && enif_get_list_cell(env, term, &head, &term)) budget = fits(p, head, budget - 1, depth + 1);
        return budget < 0 || enif_is_empty_list(env, term) ? budget : fits(p, term, budget, depth + 1);
    }
    case ERL_NIF_TERM_TYPE_TUPLE: {
        int arity;
        const ERL_NIF_TERM *items;
        if (!enif_get_tuple(env, term, &arity, &items)) return -1;
        budget -= 1;
        for (int k = 0; k < arity && budget >= 0; k++) budget = fits(p, items[k], budget, depth + 1);
        return budget;
    }
    case ERL_NIF_TERM_TYPE_MAP: {
        size_t size;
        ErlNifMapIterator it;
        if (!enif_get_map_size(env, term, &size) || size > (size_t)budget / 2) return -1;
        if (!enif_map_iterator_create(env, term, &it, ERL_NIF_MAP_ITERATOR_FIRST)) return -1;
        ERL_NIF_TERM key, value;
        budget -= 1;
        while (budget >= 0 && enif_map_iterator_get_pair(env, &it, &key, &value)) {
            budget = fits(p, value, fits(p, key, budget, depth + 1), depth + 1);
            enif_map_iterator_next(env, &it);
        }
        enif_map_iterator_destroy(env, &it);
        return budget;
    }
    case ERL_NIF_TERM_TYPE_FLOAT: p->floats = true; return budget - 1;
    default: return budget - 1;
    }
}

/* The size of an integer that does not fit 64 bits, from its external
 * format: SMALL_BIG_EXT (110, n, sign, digits) or LARGE_BIG_EXT (111, n in
 * four bytes, sign, digits), digits little-endian. False if unreadable. */
static bool int_size(ErlNifEnv *env, ERL_NIF_TERM term, unsigned long *bits, bool *negative, size_t *bytes)
{
    ErlNifBinary ext;
    if (!enif_term_to_binary(env, term, &ext)) return false;
    size_t n = 0, at = 0;
    if (ext.size > 4 && ext.data[1] == 110) {
        n = ext.data[2];
        at = 3;
    } else if (ext.size > 7 && ext.data[1] == 111) {
        n = (size_t)ext.data[2] << 24 | (size_t)ext.data[3] << 16 | (size_t)ext.data[4] << 8 | ext.data[5];
        at = 6;
    }
    bool ok = n > 0 && at + n < ext.size;
    if (ok) {
        unsigned top = ext.data[at + n], width = 0;
        while (top >> width) width++;
        *bits = 8 * (unsigned long)(n - 1) + width;
        *negative = ext.data[at] != 0;
        *bytes = n;
    }
    enif_release_binary(&ext);
    return ok;
}

static void print_term(struct printing *p, ERL_NIF_TERM term, int depth);
static void print_parts(struct printing *p, ERL_NIF_TERM term, int depth, bool whole);

/* A float as Erlang prints it (io_lib:format("~p"), float_to_list(F,
 * [short])), where %T writes 1.500000e+00: the fewest significant digits
 * that read back as the same double, in the shorter of the plain and the
 * scientific notation (the plain one on a tie), always with a dot (1.0e10,
 * 100.0, 1.0e-7, 0.001); from 2^53 in magnitude always scientific. */
static void print_float(struct printing *p, double d)
{
    char e[40];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(e, sizeof e, "%.*e", digits - 1, d);
        if (strtod(e, NULL) == d) break;
    }
    /* e is [-]D[.DDD]e(+|-)XX: its digits without trailing zeros, and the
     * exponent of the first one. */
    const char *at = e;
    bool negative = *at == '-';
    if (negative) at++;
    char s[20];
    int n = 0;
    for (; *at != 'e' && *at != '\0'; at++)
        if (*at >= '0' && *at <= '9' && n < (int)sizeof s - 1) s[n++] = *at;
    while (n > 1 && s[n - 1] == '0') n--;
    s[n] = '\0';
    int exp = *at == 'e' ? atoi(at + 1) : 0;

    char sci[40], plain[400];
    snprintf(sci, sizeof sci, "%s%c.%se%d", negative ? "-" : "", s[0], n > 1 ? s + 1 : "0", exp);
    size_t k = 0;
    if (negative) plain[k++] = '-';
    if (exp < 0) {
        plain[k++] = '0';
        plain[k++] = '.';
        for (int z = 0; z < -exp - 1; z++) plain[k++] = '0';
        memcpy(plain + k, s, (size_t)n);
        k += (size_t)n;
    } else {
        for (int j = 0; j < n || j <= exp; j++) {
            if (j == exp + 1) plain[k++] = '.';
            plain[k++] = j < n ? s[j] : '0';
        }
        if (n <= exp + 1) {
            plain[k++] = '.';
            plain[k++] = '0';
        }
    }
    plain[k] = '\0';
    bool scientific = (d < 0 ? -d : d) >= 9007199254740992.0 || strlen(sci) < k;
    put_str(p, scientific ? sci : plain);
}

/* A list that starts with printable characters: the first ones as %T
 * prints a string, then "...". False if it does not start so. */
static bool print_string_head(struct printing *p, ERL_NIF_TERM list)
{
    ErlNifEnv *env = p->env;
    long most = p->budget * 16 < 256 ? p->budget * 16 : 256;
    int chars[256], n = 0;
    ERL_NIF_TERM head, rest = list;
    while (n < most && enif_get_list_cell(env, rest, &head, &rest) && enif_get_int(env, head, &chars[n]) &&
           chars[n] >= 32 && chars[n] < 127)
        n++;
    if (n < SHOW_STRING_MIN) return false;
    ERL_NIF_TERM string = enif_make_list(env, 0);
    for (int k = n; k-- > 0;) string = enif_make_list_cell(env, enif_make_int(env, chars[k]), string);
    put_term(p, string);
    put_str(p, "...");
    p->budget -= 1 + n / 16;
    return true;
}

/* whole: the list fits the budget (it is walked only for its floats). */
static void print_list(struct printing *p, ERL_NIF_TERM list, int depth, bool whole)
{
    ErlNifEnv *env = p->env;
    if (!whole && print_string_head(p, list)) return;
    ERL_NIF_TERM head;
    put_str(p, "[");
    for (int k = 0; enif_get_list_cell(env, list, &head, &list); k++) {
        if (p->budget <= 0 || full(p)) {
            put_str(p, k > 0 ? "|..." : "...");
            list = enif_make_list(env, 0);
            break;
        }
        if (k > 0) put_str(p, ",");
        p->budget -= 1;
        print_term(p, head, depth + 1);
    }
    if (!enif_is_empty_list(env, list)) {
        put_str(p, "|");
        print_term(p, list, depth + 1);
    }
    put_str(p, "]");
}

static void print_tuple(struct printing *p, ERL_NIF_TERM tuple, int depth)
{
    int arity;
    const ERL_NIF_TERM *items;
    if (!enif_get_tuple(p->env, tuple, &arity, &items)) return put_str(p, "{...}");
    put_str(p, "{");
    for (int k = 0; k < arity; k++) {
        if (k > 0) put_str(p, ",");
        if (p->budget <= 0 || full(p)) {
            put_str(p, "...");
            break;
        }
        print_term(p, items[k], depth + 1);
    }
    put_str(p, "}");
}

static void print_map(struct printing *p, ERL_NIF_TERM map, int depth)
{
    ErlNifEnv *env = p->env;
    ErlNifMapIterator it;
    if (!enif_map_iterator_create(env, map, &it, ERL_NIF_MAP_ITERATOR_FIRST)) return put_str(p, "#{...}");
    ERL_NIF_TERM key, value;
    put_str(p, "#{");
    for (int k = 0; enif_map_iterator_get_pair(env, &it, &key, &value); k++) {
        if (k > 0) put_str(p, ",");
        if (p->budget <= 0 || full(p)) {
            put_str(p, "...");
            break;
        }
        print_term(p, key, depth + 1);
        put_str(p, "=>");
        print_term(p, value, depth + 1);
        enif_map_iterator_next(env, &it);
    }
    enif_map_iterator_destroy(env, &it);
    put_str(p, "}");
}

/* A binary too long to print whole: its first bytes as %T prints them,
 * then "..." inside the brackets (<<"abc"...>>, <<1,2,...>>). */
static void print_binary_head(struct printing *p, ERL_NIF_TERM term, size_t size)
{
    long room = p->budget * 16 < SHOW_BINARY_HEAD ? p->budget * 16 : SHOW_BINARY_HEAD;
    size_t keep = size < (size_t)room ? size : (size_t)room;
    if (keep == 0) return put_str(p, "<<...>>");
    size_t start = p->n;
    put_term(p, enif_make_sub_binary(p->env, term, 0, keep));
    p->budget -= 1 + (long)(keep / 16);
    /* Unless the output was cut, it ends with ">>". */
    if (p->n - start < 2 || memcmp(p->out + p->n - 2, ">>", 2) != 0) return;
    p->n -= 2;
    put_str(p, p->n > start && p->out[p->n - 1] == '"' ? "...>>" : ",...>>");
}

static void print_term(struct printing *p, ERL_NIF_TERM term, int depth)
{
    if (full(p)) return;
    if (p->budget <= 0 || depth > SHOW_DEPTH) return put_str(p, "...");
    p->floats = false;
    long left = fits(p, term, p->budget, depth);
    bool whole = left >= 0;
    if (whole && !p->floats) {
        p->budget = left;
        return put_term(p, term);
    }
    if (whole) {
        /* %T writes a float as 1.500000e+00: a term with floats in it is
         * walked here even when it fits, with all the budget it needs (its
         * cost is already counted), so nothing of it becomes "...". */
        p->budget = LONG_MAX / 2;
        print_parts(p, term, depth, true);
        p->budget = left;
        return;
    }
    p->budget -= 1;
    print_parts(p, term, depth, false);
}

/* A term printed part by part: whole, walked only for its floats (see
 * print_term), or cut where the budget ends. */
static void print_parts(struct printing *p, ERL_NIF_TERM term, int depth, bool whole)
{
    ErlNifEnv *env = p->env;
    switch (enif_term_type(env, term)) {
    case ERL_NIF_TERM_TYPE_INTEGER: {
        unsigned long bits;
        bool negative;
        size_t bytes;
        char text[64];
        if (!int_size(env, term, &bits, &negative, &bytes)) return put_str(p, "#Integer<...>");
        p->budget -= (long)(bytes / 4096);
        snprintf(text, sizeof text, "#Integer<%s%lu bits>", negative ? "negative, " : "", bits);
        return put_str(p, text);
    }
    case ERL_NIF_TERM_TYPE_BITSTRING: {
        ErlNifBinary bin;
        if (!enif_inspect_binary(env, term, &bin)) return put_str(p, "<<...>>");
        return print_binary_head(p, term, bin.size);
    }
    case ERL_NIF_TERM_TYPE_FLOAT: {
        double d;
        return enif_get_double(env, term, &d) ? print_float(p, d) : put_term(p, term);
    }
    case ERL_NIF_TERM_TYPE_LIST: return print_list(p, term, depth, whole);
    case ERL_NIF_TERM_TYPE_TUPLE: return print_tuple(p, term, depth);
    case ERL_NIF_TERM_TYPE_MAP: return print_map(p, term, depth);
    default: return put_str(p, "...");
    }
}

/* A message as UTF-8: a byte that starts no valid UTF-8 sequence is read
 * as Latin-1 (%T writes a Latin-1 binary's bytes as they are, and user
 * text may hold any bytes), which is the character Erlang shows for it.
 * The shell drops an error's explanation line that is not valid UTF-8. */
static ERL_NIF_TERM utf8_piece(ErlNifEnv *env, const char *text, size_t len)
{
    if (corral_utf8_valid_prefix(text, len) == len) return text_piece(env, text, len);
    ERL_NIF_TERM bin;
    unsigned char *out = enif_make_new_binary(env, 2 * len, &bin), *o = out;
    if (out == NULL) return text_piece(env, text, len);
    for (size_t k = 0; k < len;) {
        size_t ok = corral_utf8_valid_prefix(text + k, len - k);
        memcpy(o, text + k, ok);
        o += ok;
        k += ok;
        if (k < len) {
            unsigned char b = (unsigned char)text[k++];
            *o++ = (unsigned char)(0xC0 | b >> 6);
            *o++ = (unsigned char)(0x80 | (b & 0x3F));
        }
    }
    ERL_NIF_TERM sub = enif_make_sub_binary(env, bin, 0, (size_t)(o - out));
    return sub;
}

/* The text of an Erlang module's message: terms printed in Erlang syntax,
 * at a bounded cost, as UTF-8. */
static ERL_NIF_TERM erlang_text(corral_call *c, const char *msg, size_t len)
{
    char out[MESSAGE_MAX * 2];
    struct printing p = {.env = c->env, .out = out, .cap = sizeof out, .budget = SHOW_BUDGET};
    ERL_NIF_TERM term;
    for (size_t k = 0; k < len && p.n + 1 < sizeof out; k++) {
        if (shown_at(c, msg, len, k, &term)) {
            print_term(&p, term, 0);
            k += 2;
        } else {
            out[p.n++] = msg[k];
        }
    }
    return utf8_piece(c->env, out, p.n);
}

/* An Erlang module's message, with where it was raised if that is known:
 * {Message, File, Line} (Message may be undefined). */
static ERL_NIF_TERM erlang_placed(ErlNifEnv *env, ERL_NIF_TERM message)
{
    if (where.file == NULL) return message;
    return enif_make_tuple3(env, message, text_piece(env, where.file, strlen(where.file)), enif_make_int(env, where.line));
}

/* The reason an Erlang module's generated function turns into the error:
 * {'$corral_error', Kind, Message | {Message, File, Line}} (corral_stubs
 * documents what it raises). */
static ERL_NIF_TERM erlang_reason(corral_call *c, ERL_NIF_TERM module, const char *msg, size_t len)
{
    return enif_make_tuple3(c->env, corral__atom_corral_error, erlang_kind(c->env, module),
                            erlang_placed(c->env, erlang_text(c, msg, len)));
}

/* }---------------------------------------------------------------------- */

static CORRAL__NORETURN void throw_term(corral_call *c, ERL_NIF_TERM reason)
{
    c->exception = reason;
    where.file = NULL;
#if defined(CORRAL__BUILTIN_SETJMP)
    __builtin_longjmp(c->jmp, 1);
#else
    _longjmp(c->jmp, 1);
#endif
}

void corral_return_error_term(corral_call *c, ERL_NIF_TERM reason)
{
    ERL_NIF_TERM result = enif_make_tuple2(c->env, corral__atom_error, reason);
    c->flags |= CORRAL__CALL_ERROR_RESULT;
    throw_term(c, result);
}

int corral__return_error_call(corral_call *c, const char *reason)
{
    corral_return_error_term(c, corral_make_atom(c, reason));
}


/* "<fn>: <formatted message>" into msg (MESSAGE_MAX bytes); its length.
 * The load hook's messages have no prefix: the load error names the module
 * and says the hook failed. */
static size_t format_message(corral_call *c, char *msg, const char *fmt, va_list ap)
{
    bool hook = c->nif == load_hook_nif;
    if (!hook) corral__function_name(c, msg, MESSAGE_MAX);
    size_t n = hook ? 0 : strlen(msg);
    if (!hook && n + 2 < MESSAGE_MAX) {
        msg[n++] = ':';
        msg[n++] = ' ';
    }
    if (n + 2 < MESSAGE_MAX) {
        int w = vsnprintf(msg + n, MESSAGE_MAX - n, fmt, ap);
        if (w > 0) n += (size_t)w < MESSAGE_MAX - n ? (size_t)w : MESSAGE_MAX - n - 1;
    }
    return n;
}

void corral__raisev(corral_call *c, ERL_NIF_TERM module, const char *fmt, va_list ap)
{
    char msg[MESSAGE_MAX];
    size_t n = format_message(c, msg, fmt, ap);
    throw_term(c, corral__lib.elixir ? elixir_reason(c, module, msg, n) : erlang_reason(c, module, msg, n));
}

void corral__raisef(corral_call *c, ERL_NIF_TERM module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    corral__raisev(c, module, fmt, ap);
}

ERL_NIF_TERM corral_raise_arg(corral_call *c, int i, const char *expected, ...)
{
    char what[512], term[CORRAL__SHOWN_MAX];
    va_list ap;
    va_start(ap, expected);
    vsnprintf(what, sizeof what, expected, ap);
    va_end(ap);
    if ((unsigned)i < (unsigned)c->argc)
        corral__show(c, c->argv[i], term, sizeof term);
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

/* What a NULL string or atom field gives: nil, or undefined in Erlang. */
static ERL_NIF_TERM no_value(ErlNifEnv *env)
{
    return corral__lib.elixir ? enif_make_atom(env, "nil") : corral__atom_undefined;
}

/* The value of one field of corral_raise_fields, in the call's environment. */
static ERL_NIF_TERM field_value(ErlNifEnv *env, const corral_exception_field *f)
{
    switch (f->kind) {
    case CORRAL__FIELD_I64: return enif_make_int64(env, f->value.i64);
    case CORRAL__FIELD_U64: return enif_make_uint64(env, f->value.u64);
    case CORRAL__FIELD_BOOL: return f->value.i64 ? corral__atom_true : enif_make_atom(env, "false");
    case CORRAL__FIELD_DOUBLE:
        if (f->value.f != f->value.f) return enif_make_atom(env, "nan");
        if (f->value.f > DBL_MAX) return enif_make_atom(env, "infinity");
        if (f->value.f < -DBL_MAX) return enif_make_atom(env, "neg_infinity");
        return enif_make_double(env, f->value.f);
    case CORRAL__FIELD_STRING:
        return f->value.text ? text_piece(env, f->value.text, strlen(f->value.text)) : no_value(env);
    case CORRAL__FIELD_ATOM: {
        const char *a = f->value.text;
        if (a == NULL) return no_value(env);
        size_t len = strlen(a);
        ERL_NIF_TERM atom;
        /* Names come from literals; longer than an atom can be, they are
         * shown as a string rather than lost. */
        if (len > 255 || !enif_make_existing_atom_len(env, a, len, &atom, ERL_NIF_LATIN1))
            atom = len > 255 ? text_piece(env, a, len) : enif_make_atom_len(env, a, len);
        return atom;
    }
    default: return f->value.term;
    }
}

ERL_NIF_TERM corral_raise_fields(corral_call *c, const char *module, const corral_exception_field *fields, size_t count,
                                 const char *fmt, ...)
{
    ErlNifEnv *env = c->env;
    for (size_t k = 0; k < count; k++) {
        size_t len = fields[k].name ? strlen(fields[k].name) : 0;
        if (len == 0 || len > 255)
            corral__raisef(c, corral__atom_runtime_error,
                           "corral_raise_fields: field %zu has %s (a bug in the NIF: names are the "
                           "exception's field names, 1 to 255 bytes)",
                           k + 1, len == 0 ? "no name" : "a name longer than 255 bytes");
    }
    ERL_NIF_TERM mod;
    if (!enif_make_existing_atom(env, module, &mod, ERL_NIF_LATIN1)) mod = enif_make_atom(env, module);
    char msg[MESSAGE_MAX];
    size_t n = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        n = format_message(c, msg, fmt, ap);
        va_end(ap);
    }
    if (corral__lib.elixir) {
        /* {:"$corral_error", {Module, [field: value, ...]}, pieces | nil}:
         * Corral.Error passes the keyword list to Module.exception/1. */
        ERL_NIF_TERM kw = enif_make_list(env, 0);
        for (size_t k = count; k-- > 0;)
            kw = enif_make_list_cell(env, enif_make_tuple2(env, enif_make_atom(env, fields[k].name),
                                                           field_value(env, &fields[k])),
                                     kw);
        ERL_NIF_TERM pieces = fmt ? message_pieces(c, msg, n) : enif_make_atom(env, "nil");
        throw_term(c, enif_make_tuple3(env, corral__atom_corral_error, enif_make_tuple2(env, mod, kw), pieces));
    }
    /* {'$corral_error', {Kind, #{Field => Value}}, Message | undefined}, the
     * message placed as erlang_reason places it. */
    ERL_NIF_TERM map = enif_make_new_map(env);
    for (size_t k = 0; k < count; k++)
        enif_make_map_put(env, map, enif_make_atom(env, fields[k].name), field_value(env, &fields[k]), &map);
    throw_term(c, enif_make_tuple3(env, corral__atom_corral_error, enif_make_tuple2(env, erlang_kind(env, mod), map),
                                   erlang_placed(env, fmt ? erlang_text(c, msg, n) : corral__atom_undefined)));
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
