/*
 * corral_internal.h: what the files of c_src/corral share and users never
 * include. Every .c file here depends only on this header and corral.h.
 */
#ifndef CORRAL_INTERNAL_H
#define CORRAL_INTERNAL_H

/* Corral's own calls of the getters leave no notes for the build's check. */
#define CORRAL__RUNTIME 1
#include "corral.h"

#include <stdarg.h>
#include <stdatomic.h>

/* Whether erl_nif.h is of NIF version major.minor or later: the one version
 * check of Corral's C (OTP 25 has 2.16, OTP 26 to 28 2.17, OTP 29 2.18). */
#define CORRAL__NIF_AT_LEAST(major, minor) \
    (ERL_NIF_MAJOR_VERSION > (major) || (ERL_NIF_MAJOR_VERSION == (major) && ERL_NIF_MINOR_VERSION >= (minor)))

/* The library-wide state, one copy per NIF library (hidden visibility). */
typedef struct {
    int abi;                   /* CORRAL_ABI: layouts match across an upgrade only if equal */
    const char *module;        /* Erlang module name, "Elixir.Buffer.Native" */
    bool elixir;               /* an Elixir module: errors are formatted by its functions */
    const corral_export *exports;
    unsigned count;
    corral_resource_type *resources; /* registered by constructors */
    corral_atoms *atoms;             /* registered by constructors */
    /* Set by the upgrade of a newer version of the library (another image,
     * the same CORRAL_ABI), read by this one's unload hook. */
    atomic_bool replaced;
} corral__library;

extern corral__library corral__lib;

/* Atoms Corral itself uses, interned at load. */
extern ERL_NIF_TERM corral__atom_struct,
    corral__atom_argument_error, corral__atom_runtime_error, corral__atom_arithmetic_error,
    corral__atom_undefined, corral__atom_raise, corral__atom_corral_reply, corral__atom_corral_item, corral__atom_corral_error,
    corral__atom_inspect;

/* An object that points into the image of the library that made it (the
 * yield state of a yielding NIF holds its description and its state's
 * destructor) takes a hold on that image when it is made, and gives it
 * back once it is freed, maybe by a newer library after a reload, which
 * calls corral__image_release through the pointer the hold returned. An
 * image unloaded with holds left stays mapped until the last one is given
 * back (call.c). */
typedef struct corral__image corral__image;
corral__image *corral__image_hold(void);
void corral__image_release(corral__image *image);

/* True when the allocation about to be made must fail (see
 * corral_fail_allocations_after; call.c). Inline: outside the tests that
 * arm it, one load of a counter that is zero. */
extern atomic_long corral__fail_countdown;
bool corral__alloc_fails_counted(void);
static inline bool corral__alloc_fails(void)
{
    return atomic_load_explicit(&corral__fail_countdown, memory_order_relaxed) > 0 && corral__alloc_fails_counted();
}

/* Keeps this library's image mapped after the VM unloads it (one more
 * reference on itself), for code that still runs in it (call.c). */
void corral__keep_image_mapped(void);

/* Cancelling dirty calls (watch.c): what corral_on_cancel,
 * corral_on_cancel_clear and corral_cancelled do outside thread jobs, and
 * the watcher's end when the library unloads. */
typedef struct corral__watch corral__watch;
void corral__watch_on_cancel(corral_call *c, void (*interrupt)(void *arg), void *arg);
void corral__watch_clear(corral_call *c);
bool corral__watch_cancelled(corral_call *c);
void corral__watch_stop(void);

/* Thread jobs (thread.c): stops the pool when the library unloads (true if
 * pool threads still run the submitted jobs; the last one to leave calls
 * corral__pool_drained), and the built-ins __corral_cancel__/1 and
 * __corral_ack__/2. */
bool corral__pool_stop(void);

/* The pool stopped by corral__pool_stop has no thread left: called once, on
 * the last pool thread, after its last job (call.c runs the unload hook). */
void corral__pool_drained(void);

/* The erl_nif locks of CORRAL_VM_LOCKS builds (lock.c; nothing in release
 * builds): those in memory that goes, those in memory copied elsewhere,
 * and all of them at unload. */
void corral__vm_locks_forget_range(void *from, size_t bytes);
void corral__vm_locks_move_range(void *from, size_t bytes, void *to);
void corral__vm_locks_forget_all(void);

/* Runs fn(arg) on a thread of the pool, soon; false if no thread could
 * take it (fn is then not called). For work that must not run on a
 * scheduler: destructors that may block (resource.c). */
bool corral__pool_task(void (*fn)(void *arg), void *arg);
ERL_NIF_TERM corral__cancel_nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]);
ERL_NIF_TERM corral__ack_nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]);

/* Interns every registered table and Corral's own atoms; false on failure. */
bool corral__intern_atoms(ErlNifEnv *env);

/* Opens every registered resource type (create or take over); false on failure. */
bool corral__open_resource_types(ErlNifEnv *env);

/* After an upgrade, starts each type's live count from the old library's. */
void corral__carry_live_counts(const corral__library *old);

/* Live objects per resource type, as a map from type name to count. */
ERL_NIF_TERM corral__live_map(ErlNifEnv *env);

/* Writes into buf (at least 4 bytes) the placeholder of `term` inside a
 * message: the raise shows the term there as the caller's language writes
 * it (call.c, "Terms inside messages"). Returns the length written. */
size_t corral__show(corral_call *c, ERL_NIF_TERM term, char *buf, size_t cap);

/* Writes "Buffer.Native.get/2" for the running function into buf. */
void corral__function_name(corral_call *c, char *buf, size_t cap);

/* Raises exception struct `module` with "<fn>: " + the formatted text. */
CORRAL__NORETURN void corral__raisev(corral_call *c, ERL_NIF_TERM module, const char *fmt, va_list ap);
CORRAL__NORETURN CORRAL__PRINTF(3, 4) void corral__raisef(corral_call *c, ERL_NIF_TERM module, const char *fmt, ...);

/* The VM aborts, rather than failing, when it cannot allocate a resource
 * or a binary; so a size the VM cannot get is refused first (limits.c):
 * ArgumentError above what it could ever have (the machine, its cgroup's
 * memory.max, ulimit -v), RuntimeError above what is free now less what
 * other checks have reserved. A request that passes stays reserved until
 * the call ends (its memory is in use, and so in the usage the next check
 * reads, by then). `what` names the allocation in the message. */
void corral__check_vm_size_large(corral_call *c, size_t size, const char *what);
#define CORRAL__CHECK_VM_FROM (64u << 20) /* smaller requests are not checked */
static inline void corral__check_vm_size(corral_call *c, size_t size, const char *what)
{
    if (CORRAL__UNLIKELY(size >= CORRAL__CHECK_VM_FROM)) corral__check_vm_size_large(c, size, what);
}

/* Process-wide reservations (limits.c): what checked allocations in flight
 * are about to take, so that checks made at the same time see each other.
 * corral__reserve compares `whole` (the request, or all a call will hold)
 * with what the VM can ever have and `size` with what is free now less the
 * others' reservations, and reserves `size` when both fit. `l` gets the
 * limits read, its `now` less the others' reservations. corral__unreserve
 * gives back a reservation once its memory is in use or freed. */
typedef struct {
    size_t ever, now;
    const char *name; /* the tightest "ever" limit */
} corral__limits;
typedef enum { CORRAL__FITS, CORRAL__NEVER_FITS, CORRAL__NOT_NOW } corral__fit;
corral__fit corral__reserve(size_t size, size_t whole, corral__limits *l);
void corral__unreserve(size_t size);

/* Scratch memory for `count` items of `width` bytes (zeroed if `zero`), for
 * the value at route `at` (NULL: none): a failure to get it names the
 * value, "argument 1, field :points: out of memory ..." (call.c). */
void *corral__scratch_for(corral_call *c, size_t count, size_t width, bool zero, const corral__where *at);
/* Scratch memory of `size` bytes if the call may have it now, else NULL
 * (nothing raised, nothing kept): for a size that is only a guess. */
void *corral__scratch_try(corral_call *c, size_t size);
/* Grows the call's newest scratch block `p` from `old` to `size` bytes,
 * keeping its contents (a buffer filled before its length is known): in
 * place when its chunk has room, else by copying it into a new block (a
 * chunk of its own is freed at once; a block in a shared chunk with the
 * call). The call's budget counts the growth; raises as
 * corral__scratch_for does. Returns where the block now is. */
void *corral__scratch_regrow(corral_call *c, void *p, size_t old, size_t size, const corral__where *at);

/* Routes (path.c): writes "argument 1, index 3, key :name" for `at`. */
size_t corral__route(corral_call *c, const corral__where *at, char *buf, size_t cap);

/* Raises exception `module` with "<fn>: <route of t>: <expected>, got: <t>". */
CORRAL__NORETURN void corral__raise_at_v(corral_call *c, ERL_NIF_TERM module, const corral_term *t,
                                         const char *expected, va_list ap);
CORRAL__NORETURN CORRAL__PRINTF(3, 4) void corral__raise_at(corral_call *c, const corral_term *t,
                                                            const char *expected, ...);

/* One C value of a corral_type to and from a term (container.c). */
void corral__get_scalar(corral_call *c, corral_term t, corral_type type, void *out);
ERL_NIF_TERM corral__make_scalar(corral_call *c, corral_type type, const void *in);

/* Interns the names of every CORRAL_STRUCT / CORRAL_UNION (struct.c). */
bool corral__intern_structs(ErlNifEnv *env);

/* Room for what stands for a term in a message: a placeholder of
 * corral__show, or a short text in its place. */
#define CORRAL__SHOWN_MAX 64

#endif
