/*
 * corral.h: safe, fast NIFs in C for Erlang and Elixir.
 *
 * This is the whole public C API of Corral. It is grouped by topic; every
 * public declaration is documented directly above it with three tags that a
 * script checks (test/header_doc_test.exs):
 *
 *   Checks: what the call verifies before it uses its input.
 *   Raises: which exception the call can raise (or "never").
 *   Owns:   who owns the result and for how long.
 *
 * Conventions
 *   - A NIF body receives `corral_call *c`, the call context. It is the only
 *     thing user code threads around.
 *   - Argument positions are 0-based in C (`corral_arg_i64(c, 0)` is the first
 *     argument) and 1-based in messages ("argument 1"), as Elixir users count.
 *   - The name says whether a call can raise:
 *       corral_arg_<type>(c, i)   checks argument i and raises on a bad term;
 *       corral_try_<type>(...)    returns false instead of raising;
 *       corral_make_<type>(c, v)  builds a term (raises only when it cannot);
 *       corral_raise_<...>(c, ..) raises; never returns.
 *   - Raising unwinds to the NIF boundary with a longjmp and runs everything
 *     registered on the call's cleanup stack (scratch memory, held locks,
 *     resource references, corral_defer callbacks), newest first.
 *
 * The setjmp rules (the price of straight-line code without error plumbing)
 *   1. Corral does not run user code after an unwind, so ordinary locals are
 *      fine. Memory that a cleanup callback reads must be reachable through
 *      the pointer given to corral_defer, not through a register copy.
 *   2. Never raise across frames Corral does not own: inside a callback called
 *      by a third-party C library, or in C++ code with destructors. Use the
 *      corral_try_* functions there and raise after the foreign code returned.
 *   3. Never raise from a thread that is not running the NIF call.
 */
#ifndef CORRAL_H
#define CORRAL_H

#include <erl_nif.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(PTHREAD_RWLOCK_INITIALIZER)
#error "corral.h needs POSIX read/write locks: compile with -std=gnu11 or -D_POSIX_C_SOURCE=200809L"
#endif

#ifdef __cplusplus
#error "corral.h is a C header; its unwinding is not safe across C++ frames"
#endif

/* {======================================================================
 * Version
 * ======================================================================= */

#define CORRAL_VERSION_MAJOR 0
#define CORRAL_VERSION_MINOR 1
#define CORRAL_VERSION_PATCH 0
#define CORRAL_VERSION "0.1.0"
/* Bumped whenever the layout of the export table or the load protocol
 * changes; the Elixir side refuses a library built with another value. */
#define CORRAL_ABI 1

/* }====================================================================== */

/* {======================================================================
 * Compiler helpers (internal, but needed by the inline fast paths)
 * ======================================================================= */

#if defined(__GNUC__) || defined(__clang__)
#define CORRAL__LIKELY(x) __builtin_expect(!!(x), 1)
#define CORRAL__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CORRAL__NORETURN __attribute__((noreturn))
#define CORRAL__COLD __attribute__((cold, noinline))
#define CORRAL__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CORRAL__CONSTRUCTOR(fn) static void fn(void) __attribute__((constructor)); static void fn(void)
#else
#error "Corral needs GCC or Clang (constructor attributes, __builtin_expect)"
#endif

/* The cheap setjmp: __builtin_setjmp saves three words (frame, stack, resume
 * address) and lets the compiler spill the callee-saved registers, instead of
 * the libc version's full register file. Define CORRAL_PORTABLE_SETJMP to use
 * the POSIX _setjmp/_longjmp pair (no signal-mask system call either way). */
#if !defined(CORRAL_PORTABLE_SETJMP) && (defined(__x86_64__) || defined(__aarch64__) || defined(__i386__))
typedef void *corral__jmp_buf[5];
#define CORRAL__SETJMP(b) __builtin_setjmp(b)
#else
typedef jmp_buf corral__jmp_buf;
#define CORRAL__SETJMP(b) _setjmp(b)
#endif

/* }====================================================================== */

/* {======================================================================
 * The call context
 * ======================================================================= */

typedef ERL_NIF_TERM (*corral_nif_fn)(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]);

/* One entry of a call's cleanup stack. */
typedef struct {
    void (*fn)(void *arg);
    void *arg;
} corral__cleanup;

/* Cleanups that fit here cost no allocation: a lock or two plus a resource. */
#define CORRAL__INLINE_CLEANUPS 6

struct corral__arena;

/* The call context. User code reads it only through the functions below;
 * the fields are visible so the fast paths can be inline. */
typedef struct corral_call {
    ErlNifEnv *env;
    const ERL_NIF_TERM *argv;
    int argc;
    unsigned ncleanup;              /* entries on the cleanup stack */
    corral_nif_fn nif;              /* identifies the function in messages */
    struct corral__arena *arena;    /* scratch memory, NULL until first use */
    unsigned spill_cap;             /* 0 until the inline cleanups overflow */
    unsigned flags;                 /* CORRAL__CALL_* */
    corral__cleanup *spill;         /* cleanups beyond the inline ones */
    ERL_NIF_TERM exception;         /* set by a raise, read after the unwind */
    corral__jmp_buf jmp;
    corral__cleanup cleanup[CORRAL__INLINE_CLEANUPS];
    /* Yielding NIFs only (valid when flags has CORRAL__CALL_YIELDING). */
    long yield_countdown;           /* iterations until the next clock read */
    struct corral_yield_state *yield;
    /* Thread jobs only (valid when flags has CORRAL__CALL_THREAD). */
    struct corral_job *job;
} corral_call;

#define CORRAL__CALL_YIELDING 1u
#define CORRAL__CALL_CONTINUE 2u
#define CORRAL__CALL_THREAD 4u

/* Internals used by the macros; not part of the API. */
ERL_NIF_TERM corral__unwound(corral_call *c);
void corral__finish(corral_call *c);
CORRAL__NORETURN CORRAL__COLD void corral__bad_position(corral_call *c, int i);

/* Fills the fields every call needs; the rest are set when first used. */
static inline void corral__call_init(corral_call *c, ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[],
                                     corral_nif_fn nif, unsigned flags)
{
    c->env = env;
    c->argv = argv;
    c->argc = argc;
    c->ncleanup = 0;
    c->spill_cap = 0;
    c->flags = flags;
    c->nif = nif;
    c->arena = NULL;
}

static inline void corral__end(corral_call *c)
{
    if (CORRAL__LIKELY(c->ncleanup <= CORRAL__INLINE_CLEANUPS && c->arena == NULL)) {
        while (c->ncleanup > 0) {
            corral__cleanup *e = &c->cleanup[--c->ncleanup];
            if (e->fn) e->fn(e->arg);
        }
    } else {
        corral__finish(c);
    }
}

/* The watchdog of debug builds (CORRAL_DEBUG): a call that holds a normal
 * scheduler longer than the budget (1 ms, or CORRAL_WATCHDOG_US) is reported
 * on stderr with its function and time. Release builds compile it out. */
#ifdef CORRAL_DEBUG
uint64_t corral__now_ns(void);
void corral__watchdog(corral_call *c, uint64_t started);
#define CORRAL__WATCHDOG_START() uint64_t corral_started_ = corral__now_ns()
#define CORRAL__WATCHDOG_END(c) corral__watchdog((c), corral_started_)
#else
#define CORRAL__WATCHDOG_START() ((void)0)
#define CORRAL__WATCHDOG_END(c) ((void)0)
#endif

/* Defines a NIF body. `name` becomes an erl_nif function to list in
 * CORRAL_MODULE with CORRAL_FN (in this file, or in another one after
 * CORRAL_NIF_EXTERN(name)). Inside the body, `c` is the call context.
 * Checks: nothing itself; the body's corral_* calls check their input.
 * Raises: whatever the body raises, as an Erlang exception of the caller.
 * Owns: everything registered on the cleanup stack is released when the body
 *       returns or raises, newest first. */
#define CORRAL_NIF(name)                                                          \
    CORRAL_NIF_EXTERN(name);                                                      \
    static ERL_NIF_TERM name##__corral_body(corral_call *c);                      \
    ERL_NIF_TERM name(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])        \
    {                                                                             \
        corral_call call_;                                                        \
        corral__call_init(&call_, env, argc, argv, name, 0);                      \
        CORRAL__WATCHDOG_START();                                                 \
        if (CORRAL__UNLIKELY(CORRAL__SETJMP(call_.jmp))) return corral__unwound(&call_); \
        ERL_NIF_TERM result_ = name##__corral_body(&call_);                       \
        corral__end(&call_);                                                      \
        CORRAL__WATCHDOG_END(&call_);                                             \
        return result_;                                                           \
    }                                                                             \
    static ERL_NIF_TERM name##__corral_body(corral_call *c)

/* Declares a NIF defined with CORRAL_NIF in another file of the same
 * library, so this file's CORRAL_MODULE can list it.
 * Checks: nothing. Raises: never. Owns: static (hidden from other libraries). */
#define CORRAL_NIF_EXTERN(name) \
    __attribute__((visibility("hidden"))) ERL_NIF_TERM name(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])

/* The environment of the call, for direct erl_nif calls (the escape hatch).
 * Checks: nothing. Raises: never.
 * Owns: the env belongs to the VM and is valid until the NIF returns. */
static inline ErlNifEnv *corral_env(corral_call *c) { return c->env; }

/* The number of arguments of the call (the arity in the export table).
 * Checks: nothing. Raises: never. Owns: nothing. */
static inline int corral_argc(corral_call *c) { return c->argc; }

/* The raw term of argument i (0-based), for anything Corral does not wrap.
 * Checks: i is below the arity. Raises: RuntimeError if it is not (a bug in
 * the NIF, named in the message). Owns: the term is valid until the NIF returns. */
static inline ERL_NIF_TERM corral_arg(corral_call *c, int i)
{
    if (CORRAL__UNLIKELY((unsigned)i >= (unsigned)c->argc)) corral__bad_position(c, i);
    return c->argv[i];
}

/* }====================================================================== */

/* {======================================================================
 * The export table
 * ======================================================================= */

/* Scheduling flags of an exported function. */
#define CORRAL_NORMAL 0
#define CORRAL_DIRTY_CPU ERL_NIF_DIRTY_JOB_CPU_BOUND
#define CORRAL_DIRTY_IO ERL_NIF_DIRTY_JOB_IO_BOUND

/* Row flag (not an erl_nif flag): the function runs on Corral's thread pool. */
#define CORRAL__THREAD 0x10000u

#define CORRAL_NAME_MAX 256

/* One row of the export table. It lives in the ELF section "corral_exports"
 * so the Elixir side can read names and arities from the built library
 * without loading it; the layout is fixed (see CORRAL_ABI). */
typedef struct corral_export {
    char name[CORRAL_NAME_MAX]; /* Elixir/Erlang function name */
    uint32_t arity;
    uint32_t flags;
    corral_nif_fn fptr; /* unreadable in the file (relocated at load) */
} corral_export;

/* The module record, in the ELF section "corral_module". */
typedef struct corral_module_info {
    char magic[8];              /* "CORRAL\0\0" */
    uint32_t abi;               /* CORRAL_ABI */
    uint32_t count;             /* rows in corral_exports */
    char module[CORRAL_NAME_MAX]; /* Erlang module name, e.g. "Elixir.Buffer.Native" */
} corral_module_info;

/* A row of CORRAL_MODULE: function `name` of `arity` arguments runs NIF `fn`.
 * Messages name a NIF by its first row: give each row its own CORRAL_NIF.
 * Checks: at load, the name is non-empty and the arity is at most 255; a
 * failure makes the load fail with a sentence. Raises: never. Owns: static. */
#define CORRAL_FN(name, fn, arity) {name, (arity), CORRAL_NORMAL, fn}

/* CORRAL_FN with a scheduling flag: CORRAL_DIRTY_CPU or CORRAL_DIRTY_IO.
 * Checks: as CORRAL_FN; the VM refuses the load if it has no dirty schedulers.
 * Raises: never. Owns: static. */
#define CORRAL_FN_FLAGS(name, fn, arity, flags) {name, (arity), (flags), fn}

/* A row for a CORRAL_THREAD_NIF: Elixir gets `name/arity`, which waits for
 * the result (raising what the job raised, or Corral.TimeoutError), and
 * `name_async/arity`, which returns a job reference at once; the reply
 * arrives as {:corral_reply, job, {:ok, value} | {:raise, exception}}.
 * Checks: at compile time, that fn was defined with CORRAL_THREAD_NIF.
 * Raises: never. Owns: static. */
#define CORRAL_FN_THREAD(name, fn, arity) {name, (arity), CORRAL__THREAD, fn##__corral_job}

/* A documentation record, in the ELF section "corral_docs": the Elixir side
 * turns it into @spec and @doc of the generated function. Fixed layout,
 * 2304 bytes, 32-aligned (compilers align big objects that way anyway). */
typedef struct __attribute__((aligned(32))) corral_doc_record {
    char magic[8]; /* "CORRDOC" */
    uint32_t arity;
    uint32_t reserved;
    char name[240];
    char spec[512];
    char doc[1536];
} corral_doc_record;

#if defined(__APPLE__)
#define CORRAL__SECTION(s) __attribute__((section("__DATA," s), used))
#else
#define CORRAL__SECTION(s) __attribute__((section(s), used))
#endif

ErlNifEntry *corral__nif_init(const char *module, corral_export *exports, unsigned count);

#define CORRAL__DOC_ID2(a, b) a##b
#define CORRAL__DOC_ID(a, b) CORRAL__DOC_ID2(a, b)

/* Documents an exported function: `spec` is the Elixir typespec without
 * @spec ("get(reference(), non_neg_integer()) :: byte()", or "" for none)
 * and `doc` its documentation (Markdown). They become @spec and @doc of
 * the generated function, so `h Mod.fun` and Dialyzer see them. Write it at
 * file scope, anywhere in the library.
 * Checks: at compile time, name/arity exist in the table and the spec
 * parses (a CompileError names the function otherwise); the strings fit
 * (240, 512 and 1536 bytes, checked by the C compiler).
 * Raises: never. Owns: static. */
#define CORRAL_DOC(name, arity, spec, doc)                                                    \
    _Static_assert(sizeof(name) <= 240 && sizeof(spec) <= 512 && sizeof(doc) <= 1536,         \
                   "CORRAL_DOC: name, spec or doc too long (240, 512, 1536 bytes)");          \
    static const corral_doc_record CORRAL__DOC_ID(corral__doc_, __LINE__)                     \
        CORRAL__SECTION("corral_docs") = {"CORRDOC", (arity), 0, name, spec, doc}

/* Defines the library's entry point for the Elixir module `mod` (written as
 * in Elixir: CORRAL_MODULE(Buffer.Native, ...)) with the given CORRAL_FN rows.
 * Use it once per library. Corral adds `__corral_live__/0`, which returns a map
 * from resource type name to the number of live objects of that type.
 * Checks: at load, the rows (see CORRAL_FN), the Corral ABI against the
 * loading Elixir side, and resource type registration. Raises: never; a
 * failed check fails the load with a reason. Owns: static. */
#define CORRAL_MODULE(mod, ...) CORRAL_ERLANG_MODULE("Elixir." #mod, __VA_ARGS__)

/* CORRAL_MODULE for an Erlang module given as a string: CORRAL_ERLANG_MODULE("buffer_nif", ...).
 * The Erlang module must define the built-in functions too: include
 * corral.hrl (next to this header) in it.
 * Checks: as CORRAL_MODULE. Raises: never. Owns: static. */
#define CORRAL_ERLANG_MODULE(modstr, ...)                                                     \
    static corral_export corral__exports[] CORRAL__SECTION("corral_exports") = {__VA_ARGS__}; \
    static const corral_module_info corral__module_info CORRAL__SECTION("corral_module") = {  \
        "CORRAL", CORRAL_ABI, sizeof(corral__exports) / sizeof(corral__exports[0]), modstr};  \
    ERL_NIF_INIT_EXPORT ErlNifEntry *nif_init(void);                                          \
    ERL_NIF_INIT_EXPORT ErlNifEntry *nif_init(void)                                           \
    {                                                                                         \
        return corral__nif_init(corral__module_info.module, corral__exports,                  \
                                corral__module_info.count);                                   \
    }

/* }====================================================================== */

/* {======================================================================
 * Scheduling: dirty and yielding NIFs
 *
 * A NIF that runs longer than about a millisecond on a normal scheduler
 * delays every process queued on it. Three ways out:
 *   - CORRAL_FN_FLAGS(..., CORRAL_DIRTY_CPU or CORRAL_DIRTY_IO): the call
 *     runs on a dirty scheduler; simplest, for calls you cannot split.
 *   - CORRAL_YIELDING_NIF: the work is split into steps of about 1 ms;
 *     between steps other processes run. For loops you can pause.
 *
 *     typedef struct { int64_t i, n; uint64_t sum; } Sum;
 *     CORRAL_YIELDING_NIF(slow_sum, Sum, NULL)
 *     {
 *         if (corral_first_step(c)) state->n = corral_arg_i64(c, 0);
 *         for (; state->i < state->n; state->i++) {
 *             state->sum += work(state->i);
 *             if (corral_should_yield(c)) { state->i++; return corral_continue(c); }
 *         }
 *         return corral_make_u64(c, state->sum);
 *     }
 * ======================================================================= */

typedef struct corral__yield_desc {
    size_t state_size;
    void (*state_dtor)(void *state);
    ERL_NIF_TERM (*body)(corral_call *c, void *state);
    corral_nif_fn entry;
    corral_nif_fn cont;
} corral__yield_desc;

ERL_NIF_TERM corral__yield_run(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[], const corral__yield_desc *d,
                               bool first);

/* Defines a yielding NIF `name` (list it with CORRAL_FN as usual) whose
 * progress lives in `*state`, a zeroed State that Corral keeps across steps;
 * `state_dtor` is NULL or `void f(State *)`, run once when the work ends,
 * raises, or the calling process dies mid-way. Inside the body, `c` is the
 * call context of the current step and `state` the State.
 * Checks: arguments as in any NIF (they are the same in every step).
 * Raises: whatever a step raises; the state is then freed.
 * Owns: Corral owns the state; cleanups registered in a step (locks,
 *       scratch memory) run when that step ends, so never hold them across
 *       corral_continue. */
#define CORRAL_YIELDING_NIF(name, State, state_dtor)                                      \
    static ERL_NIF_TERM name##__corral_ybody(corral_call *c, State *state);               \
    static void (*const name##__corral_ydtor)(State *) = state_dtor;                      \
    static void name##__corral_ystate_dtor(void *s)                                       \
    {                                                                                     \
        if (name##__corral_ydtor) name##__corral_ydtor((State *)s);                       \
    }                                                                                     \
    static ERL_NIF_TERM name##__corral_yany(corral_call *c, void *s)                      \
    {                                                                                     \
        return name##__corral_ybody(c, (State *)s);                                       \
    }                                                                                     \
    CORRAL_NIF_EXTERN(name);                                                              \
    static ERL_NIF_TERM name##__corral_cont(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]); \
    static const corral__yield_desc name##__corral_ydesc = {                              \
        sizeof(State), name##__corral_ystate_dtor, name##__corral_yany, name, name##__corral_cont}; \
    ERL_NIF_TERM name(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])                \
    {                                                                                     \
        return corral__yield_run(env, argc, argv, &name##__corral_ydesc, true);           \
    }                                                                                     \
    static ERL_NIF_TERM name##__corral_cont(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) \
    {                                                                                     \
        return corral__yield_run(env, argc, argv, &name##__corral_ydesc, false);          \
    }                                                                                     \
    static ERL_NIF_TERM name##__corral_ybody(corral_call *c, State *state)

CORRAL__NORETURN CORRAL__COLD void corral__not_yielding(corral_call *c, const char *what);
bool corral__yield_check(corral_call *c);

/* True in the first step of a yielding NIF (read the arguments into the
 * state there). Checks: the NIF is a yielding one.
 * Raises: RuntimeError if not. Owns: a plain value. */
bool corral_first_step(corral_call *c);

/* Whether the current step has used its time (about 1 ms): call it often in
 * the loop; it reads the clock only every so many calls, adapting to the
 * loop's speed, so a call costs about a decrement.
 * Checks: the NIF is a yielding one. Raises: RuntimeError if not.
 * Owns: a plain value. */
static inline bool corral_should_yield(corral_call *c)
{
    if (CORRAL__UNLIKELY(!(c->flags & CORRAL__CALL_YIELDING))) corral__not_yielding(c, "corral_should_yield");
    if (CORRAL__LIKELY(--c->yield_countdown > 0)) return false;
    return corral__yield_check(c);
}

/* Ends this step and asks for another: return its result from the body.
 * The next step runs the body again with the same arguments and state.
 * Checks: the NIF is a yielding one. Raises: RuntimeError if not.
 * Owns: nothing; the state stays Corral's. */
ERL_NIF_TERM corral_continue(corral_call *c);

/* }====================================================================== */

/* {======================================================================
 * Thread jobs
 *
 * A CORRAL_THREAD_NIF body runs on a fixed pool of native threads (one per
 * online scheduler, or CORRAL_THREADS), never on a scheduler. Its arguments
 * are copied into the job's own environment; the result or the exception
 * travels back to the caller as a message, and the generated Elixir
 * function waits for it, so the caller sees an ordinary call.
 *
 *     CORRAL_THREAD_NIF(hash_file) { ... long work, may raise ... }
 *     CORRAL_MODULE(My.Native, CORRAL_FN_THREAD("hash_file", hash_file, 1));
 *
 * In the body, corral_cancelled(c) turns true when the caller died or gave
 * up waiting: check it in long loops and return early.
 * ======================================================================= */

typedef struct corral__thread_desc {
    ERL_NIF_TERM (*body)(corral_call *c);
    corral_nif_fn entry; /* the row's function, for messages */
} corral__thread_desc;

ERL_NIF_TERM corral__job_submit(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[], const corral__thread_desc *d);

/* Defines a NIF whose body runs on Corral's thread pool; list it with
 * CORRAL_FN_THREAD. Inside the body, `c` is the job's call context: argument
 * getters, makers, scratch memory, cleanups and raising work as in any NIF.
 * Checks: arguments as in any NIF, on the pool thread.
 * Raises: what the body raises reaches the caller's process, re-raised there.
 * Owns: the job owns copies of the arguments until the reply is sent; a
 *       reply to a caller that died or gave up is dropped and freed. */
#define CORRAL_THREAD_NIF(name)                                                          \
    static ERL_NIF_TERM name##__corral_body(corral_call *c);                             \
    static const corral__thread_desc name##__corral_tdesc;                               \
    CORRAL_NIF_EXTERN(name##__corral_job);                                               \
    ERL_NIF_TERM name##__corral_job(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) \
    {                                                                                    \
        return corral__job_submit(env, argc, argv, &name##__corral_tdesc);               \
    }                                                                                    \
    static const corral__thread_desc name##__corral_tdesc = {name##__corral_body, name##__corral_job}; \
    static ERL_NIF_TERM name##__corral_body(corral_call *c)

/* Whether the job should stop: its caller died, or stopped waiting (a
 * timeout or Corral.Job.cancel/1). Always false outside thread jobs.
 * Checks: nothing. Raises: never. Owns: a plain value. */
bool corral_cancelled(corral_call *c);

/* }====================================================================== */

/* {======================================================================
 * Raising
 *
 * Every message starts with the function as Elixir writes it
 * ("Buffer.Native.get/2: "). Terms are printed as Elixir's inspect shows
 * them, cut to a sane length.
 * ======================================================================= */

/* Raises ArgumentError for argument i (0-based): "<fn>: argument <i+1>:
 * <expected>, got: <term>", where `expected` is a printf format.
 * Checks: nothing. Raises: ArgumentError, always. Owns: nothing; the cleanup
 * stack runs before the exception reaches the caller. */
CORRAL__NORETURN CORRAL__COLD CORRAL__PRINTF(3, 4) ERL_NIF_TERM
corral_raise_arg(corral_call *c, int i, const char *expected, ...);

/* Raises ArgumentError with "<fn>: <message>".
 * Checks: nothing. Raises: ArgumentError, always. Owns: nothing. */
CORRAL__NORETURN CORRAL__COLD CORRAL__PRINTF(2, 3) ERL_NIF_TERM
corral_raise_argument(corral_call *c, const char *fmt, ...);

/* Raises RuntimeError with "<fn>: <message>": for failures that are not the
 * caller's fault and not an expected outcome of the domain.
 * Checks: nothing. Raises: RuntimeError, always. Owns: nothing. */
CORRAL__NORETURN CORRAL__COLD CORRAL__PRINTF(2, 3) ERL_NIF_TERM
corral_raise(corral_call *c, const char *fmt, ...);

/* Raises the Elixir exception `module` (e.g. "Elixir.MyLib.DecodeError", an
 * exception with a `message` field) with "<fn>: <message>".
 * Checks: nothing. Raises: that exception, always. Owns: nothing. */
CORRAL__NORETURN CORRAL__COLD CORRAL__PRINTF(3, 4) ERL_NIF_TERM
corral_raise_exception(corral_call *c, const char *module, const char *fmt, ...);

/* Writes `term` into buf as Elixir's inspect/1 shows it (":ok", "\"text\"",
 * "[1, 2]", "#Reference<...>"), cut with "..." to fit cap bytes, for your
 * own messages. Returns the length written (without the final NUL).
 * Checks: nothing (any term prints). Raises: never.
 * Owns: buf is the caller's; nothing is allocated. */
size_t corral_inspect(corral_call *c, ERL_NIF_TERM term, char *buf, size_t cap);

/* Raises an Erlang error with `reason` as is (erlang:error(Reason)), for
 * exception structs built by hand or Erlang-style error terms.
 * Checks: nothing. Raises: the error, always. Owns: nothing. */
CORRAL__NORETURN CORRAL__COLD ERL_NIF_TERM corral_raise_term(corral_call *c, ERL_NIF_TERM reason);

/* Raises RuntimeError "<fn>: out of memory allocating <size> bytes", for C
 * libraries whose allocations fail outside Corral's own helpers.
 * Checks: nothing. Raises: RuntimeError, always. Owns: nothing. */
CORRAL__NORETURN CORRAL__COLD ERL_NIF_TERM corral_raise_oom(corral_call *c, size_t size);

/* }====================================================================== */

/* {======================================================================
 * Cleanup and scratch memory
 * ======================================================================= */

/* Scratch memory: `size` bytes, 16-byte aligned, uninitialised, freed when
 * the call returns or raises.
 * Checks: the allocation succeeded. Raises: RuntimeError on out of memory.
 * Owns: the call; never free it yourself; do not keep it past the call. */
void *corral_alloc(corral_call *c, size_t size);

/* Scratch memory for `count` items of `size` bytes, zeroed.
 * Checks: count * size does not overflow; the allocation succeeded.
 * Raises: RuntimeError on overflow or out of memory. Owns: as corral_alloc. */
void *corral_calloc(corral_call *c, size_t count, size_t size);

/* A handle to a registered cleanup, for corral_undefer and corral_run_now. */
typedef unsigned corral_defer_id;

/* Registers fn(arg) to run when the call returns or raises (newest first).
 * The cleanups run after the body has returned, so arg must not point to a
 * local variable of the body: use scratch memory (corral_alloc), a
 * resource, or heap memory.
 * Checks: the cleanup stack could grow. Raises: RuntimeError on out of memory,
 * after running fn(arg) at once, so a resource is never lost.
 * Owns: the call runs fn exactly once unless corral_undefer disarms it. */
corral_defer_id corral_defer(corral_call *c, void (*fn)(void *arg), void *arg);

/* Disarms a registered cleanup: it will not run (ownership moved elsewhere).
 * Checks: id names an armed cleanup of this call. Raises: RuntimeError if not.
 * Owns: the caller now owns what the cleanup would have released. */
void corral_undefer(corral_call *c, corral_defer_id id);

/* Runs a registered cleanup now and disarms it (an early unlock or free).
 * Checks: id names an armed cleanup of this call. Raises: RuntimeError if not.
 * Owns: nothing remains. */
void corral_run_now(corral_call *c, corral_defer_id id);

/* Internal: push without the out-of-memory path when an inline slot is free. */
corral_defer_id corral__defer_slow(corral_call *c, void (*fn)(void *), void *arg);
static inline corral_defer_id corral__defer(corral_call *c, void (*fn)(void *), void *arg)
{
    unsigned n = c->ncleanup;
    if (CORRAL__LIKELY(n < CORRAL__INLINE_CLEANUPS)) {
        c->cleanup[n].fn = fn;
        c->cleanup[n].arg = arg;
        c->ncleanup = n + 1;
        return n;
    }
    return corral__defer_slow(c, fn, arg);
}

/* }====================================================================== */

/* {======================================================================
 * Integers
 *
 * One getter per C type, each range-checked: an integer that does not fit
 * raises, it is never truncated. Floats are not accepted where an integer is
 * expected.
 * ======================================================================= */

CORRAL__NORETURN CORRAL__COLD void corral__bad_integer(corral_call *c, int i, int64_t lo, uint64_t hi);

/* Argument i as int64_t.
 * Checks: an integer in -9223372036854775808..9223372036854775807.
 * Raises: ArgumentError. Owns: a plain value. */
static inline int64_t corral_arg_i64(corral_call *c, int i)
{
    ErlNifSInt64 v;
    if (CORRAL__LIKELY(enif_get_int64(c->env, corral_arg(c, i), &v))) return v;
    corral__bad_integer(c, i, INT64_MIN, INT64_MAX);
}

/* Argument i as uint64_t.
 * Checks: an integer in 0..18446744073709551615.
 * Raises: ArgumentError. Owns: a plain value. */
static inline uint64_t corral_arg_u64(corral_call *c, int i)
{
    ErlNifUInt64 v;
    if (CORRAL__LIKELY(enif_get_uint64(c->env, corral_arg(c, i), &v))) return v;
    corral__bad_integer(c, i, 0, UINT64_MAX);
}

/* Argument i as int.
 * Checks: an integer in INT_MIN..INT_MAX. Raises: ArgumentError. Owns: a plain value. */
static inline int corral_arg_int(corral_call *c, int i)
{
    int v;
    if (CORRAL__LIKELY(enif_get_int(c->env, corral_arg(c, i), &v))) return v;
    corral__bad_integer(c, i, INT32_MIN, INT32_MAX);
}

/* Argument i as unsigned int.
 * Checks: an integer in 0..UINT_MAX. Raises: ArgumentError. Owns: a plain value. */
static inline unsigned corral_arg_uint(corral_call *c, int i)
{
    unsigned v;
    if (CORRAL__LIKELY(enif_get_uint(c->env, corral_arg(c, i), &v))) return v;
    corral__bad_integer(c, i, 0, UINT32_MAX);
}

/* Argument i as size_t (a length or a count).
 * Checks: a non-negative integer that fits size_t. Raises: ArgumentError.
 * Owns: a plain value. */
static inline size_t corral_arg_size(corral_call *c, int i)
{
    ErlNifUInt64 v;
    if (CORRAL__LIKELY(enif_get_uint64(c->env, corral_arg(c, i), &v) && v <= SIZE_MAX)) return (size_t)v;
    corral__bad_integer(c, i, 0, SIZE_MAX);
}

/* Argument i as an integer in lo..hi (inclusive), e.g. 0..255 for a byte.
 * Checks: an integer in lo..hi. Raises: ArgumentError naming the range.
 * Owns: a plain value. */
static inline int64_t corral_arg_int_range(corral_call *c, int i, int64_t lo, int64_t hi)
{
    ErlNifSInt64 v;
    if (CORRAL__LIKELY(enif_get_int64(c->env, corral_arg(c, i), &v) && v >= lo && v <= hi)) return v;
    corral__bad_integer(c, i, lo, (uint64_t)hi);
}

/* Argument i as a byte.
 * Checks: an integer in 0..255. Raises: ArgumentError. Owns: a plain value. */
static inline uint8_t corral_arg_u8(corral_call *c, int i)
{
    unsigned v;
    if (CORRAL__LIKELY(enif_get_uint(c->env, corral_arg(c, i), &v) && v <= 255)) return (uint8_t)v;
    corral__bad_integer(c, i, 0, 255);
}

CORRAL__NORETURN CORRAL__COLD void corral__bad_index(corral_call *c, int i, size_t n);

/* Argument i as an index into something of n elements (0-based).
 * Checks: an integer in 0..n-1. Raises: ArgumentError ("expected an index
 * below n"). Owns: a plain value. */
static inline size_t corral_arg_index(corral_call *c, int i, size_t n)
{
    ErlNifUInt64 v;
    if (CORRAL__LIKELY(enif_get_uint64(c->env, corral_arg(c, i), &v) && v < n)) return (size_t)v;
    corral__bad_index(c, i, n);
}

/* Checks: nothing (every int64_t has a term). Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_i64(corral_call *c, int64_t v) { return enif_make_int64(c->env, v); }

/* Checks: nothing. Raises: never. Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_u64(corral_call *c, uint64_t v) { return enif_make_uint64(c->env, v); }

/* Checks: nothing. Raises: never. Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_int(corral_call *c, int v) { return enif_make_int(c->env, v); }

/* Checks: nothing. Raises: never. Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_uint(corral_call *c, unsigned v) { return enif_make_uint(c->env, v); }

/* Checks: nothing. Raises: never. Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_size(corral_call *c, size_t v) { return enif_make_uint64(c->env, (ErlNifUInt64)v); }

/* Converts any term to int64_t without raising.
 * Checks: an integer in the int64_t range. Raises: never; returns false
 * (leaving *out untouched) if the check fails. Owns: a plain value. */
static inline bool corral_try_i64(corral_call *c, ERL_NIF_TERM t, int64_t *out)
{
    ErlNifSInt64 v;
    if (!enif_get_int64(c->env, t, &v)) return false;
    *out = v;
    return true;
}

/* }====================================================================== */

/* {======================================================================
 * Floats
 * ======================================================================= */

CORRAL__NORETURN CORRAL__COLD void corral__bad_double(corral_call *c, int i);

/* Argument i as a double. Integers are accepted too and converted to the
 * nearest double (exact up to 2^53), because Elixir users write `1` for `1.0`.
 * Checks: a float, or an integer in the int64_t range.
 * Raises: ArgumentError ("expected a number"). Owns: a plain value. */
static inline double corral_arg_double(corral_call *c, int i)
{
    double d;
    ErlNifSInt64 v;
    ERL_NIF_TERM t = corral_arg(c, i);
    if (CORRAL__LIKELY(enif_get_double(c->env, t, &d))) return d;
    if (enif_get_int64(c->env, t, &v)) return (double)v;
    corral__bad_double(c, i);
}

/* A float term.
 * Checks: d is finite (Erlang has no NaN or infinity).
 * Raises: ArithmeticError if it is not. Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_make_double(corral_call *c, double d);

/* }====================================================================== */

/* {======================================================================
 * Atoms
 *
 * Atoms are interned once, when the library loads, from tables declared with
 * CORRAL_ATOMS; a call never creates an atom by name.
 *
 *     enum color { RED, GREEN, BLUE };
 *     CORRAL_ATOMS(colors, "red", "green", "blue");
 *     enum color k = corral_arg_enum(c, 0, &colors);
 *     return corral_atom(&colors, BLUE);
 * ======================================================================= */

typedef struct corral_atoms {
    const char *const *names;
    ERL_NIF_TERM *terms;
    unsigned count;
    struct corral_atoms *next;
} corral_atoms;

void corral__register_atoms(corral_atoms *table);

/* Declares a table of atoms, interned at load, as a static `corral_atoms`
 * named `table`. Checks: at load, each name is a valid atom (at most 255
 * characters, UTF-8); a failure fails the load. Raises: never. Owns: static. */
#define CORRAL_ATOMS(table, ...)                                                             \
    static ERL_NIF_TERM table##__terms[sizeof((const char *const[]){__VA_ARGS__}) /          \
                                       sizeof(const char *)];                                \
    static corral_atoms table = {(const char *const[]){__VA_ARGS__}, table##__terms,         \
                                 sizeof(table##__terms) / sizeof(ERL_NIF_TERM), NULL};       \
    CORRAL__CONSTRUCTOR(table##__corral_register) { corral__register_atoms(&table); }        \
    typedef int table##__corral_semicolon

/* The k-th atom of a table.
 * Checks: nothing (k must be below the table's count). Raises: never.
 * Owns: atoms are permanent. */
static inline ERL_NIF_TERM corral_atom(const corral_atoms *table, unsigned k) { return table->terms[k]; }

CORRAL__NORETURN CORRAL__COLD void corral__bad_enum(corral_call *c, int i, const corral_atoms *table);

/* Argument i as the position of an atom in `table`.
 * Checks: an atom listed in the table. Raises: ArgumentError listing the
 * allowed atoms. Owns: a plain value. */
static inline unsigned corral_arg_enum(corral_call *c, int i, const corral_atoms *table)
{
    ERL_NIF_TERM t = corral_arg(c, i);
    for (unsigned k = 0; k < table->count; k++)
        if (table->terms[k] == t) return k;
    corral__bad_enum(c, i, table);
}

extern ERL_NIF_TERM corral__atom_true, corral__atom_false, corral__atom_nil, corral__atom_ok, corral__atom_error;

CORRAL__NORETURN CORRAL__COLD void corral__bad_bool(corral_call *c, int i);

/* Argument i as a boolean.
 * Checks: the atom true or false. Raises: ArgumentError. Owns: a plain value. */
static inline bool corral_arg_bool(corral_call *c, int i)
{
    ERL_NIF_TERM t = corral_arg(c, i);
    if (t == corral__atom_true) return true;
    if (CORRAL__LIKELY(t == corral__atom_false)) return false;
    corral__bad_bool(c, i);
}

/* Checks: nothing. Raises: never. Owns: atoms are permanent. */
static inline ERL_NIF_TERM corral_make_bool(corral_call *c, bool b)
{
    (void)c;
    return b ? corral__atom_true : corral__atom_false;
}

/* The atom nil (Elixir's nil).
 * Checks: nothing. Raises: never. Owns: atoms are permanent. */
static inline ERL_NIF_TERM corral_make_nil(corral_call *c)
{
    (void)c;
    return corral__atom_nil;
}

/* }====================================================================== */

/* {======================================================================
 * Results: {:ok, v} and {:error, reason}
 *
 * Caller mistakes raise; expected outcomes of the domain (a missing file,
 * data that does not parse) return {:error, reason}. Never both for one
 * condition.
 * ======================================================================= */

/* The atom :ok. Checks: nothing. Raises: never. Owns: atoms are permanent. */
static inline ERL_NIF_TERM corral_make_ok(corral_call *c)
{
    (void)c;
    return corral__atom_ok;
}

/* {:ok, value}. Checks: nothing. Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_ok_tuple(corral_call *c, ERL_NIF_TERM value)
{
    return enif_make_tuple2(c->env, corral__atom_ok, value);
}

/* {:error, reason}. Checks: nothing. Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_error(corral_call *c, ERL_NIF_TERM reason)
{
    return enif_make_tuple2(c->env, corral__atom_error, reason);
}

/* }====================================================================== */

/* {======================================================================
 * Binaries
 * ======================================================================= */

/* A read-only view of bytes owned by a term. */
typedef struct {
    const unsigned char *data;
    size_t size;
} corral_binary;

CORRAL__NORETURN CORRAL__COLD void corral__bad_binary(corral_call *c, int i, const char *expected);

/* Argument i as a zero-copy view of a binary.
 * Checks: a binary (a bitstring whose size is a whole number of bytes).
 * Raises: ArgumentError. Owns: the term; the view is valid until the NIF
 * returns. Never write through it, never keep it (copy what you store). */
static inline corral_binary corral_arg_binary(corral_call *c, int i)
{
    ErlNifBinary b;
    if (CORRAL__LIKELY(enif_inspect_binary(c->env, corral_arg(c, i), &b)))
        return (corral_binary){b.data, b.size};
    corral__bad_binary(c, i, "expected a binary");
}

/* Argument i as bytes, accepting iodata: a binary, or a possibly nested list
 * of binaries and bytes (0..255). A list is flattened into a fresh binary.
 * Checks: a binary or an iolist. Raises: ArgumentError.
 * Owns: the call's env; valid until the NIF returns. */
corral_binary corral_arg_iodata(corral_call *c, int i);

/* A fresh binary holding a copy of size bytes at data (data may be NULL when
 * size is 0). Checks: the allocation succeeded. Raises: RuntimeError on out
 * of memory. Owns: the term owns its copy; data stays the caller's. */
ERL_NIF_TERM corral_make_binary(corral_call *c, const void *data, size_t size);

/* A fresh binary of size bytes to fill in place; *term receives the binary.
 * Checks: size is within the machine's memory (the VM aborts instead of
 * failing on an impossible allocation). Raises: RuntimeError otherwise.
 * Owns: the bytes belong to *term; write them before the NIF returns, and
 * never after. */
unsigned char *corral_new_binary(corral_call *c, size_t size, ERL_NIF_TERM *term);

/* }====================================================================== */

/* {======================================================================
 * Resources
 *
 *     typedef struct { corral_rwlock lock; size_t size; uint8_t bytes[]; } Buffer;
 *     CORRAL_RESOURCE(Buffer, NULL);
 *
 * A resource type is declared once per C type. Objects are zeroed when
 * created; the term made by corral_make_resource keeps the object alive; the
 * destructor runs once, and only if the object was handed to Erlang
 * (corral_make_resource), so it never sees a half-built object.
 *
 * Where the destructor runs: when the last reference goes, on whichever
 * thread drops it: a scheduler thread after a garbage collection (normal or
 * dirty), the thread that calls corral_resource_release, or, for a closable
 * type, the thread of corral_resource_close or of the last call still using
 * the object when it was closed. It must not block for long and cannot raise.
 * ======================================================================= */

typedef struct corral_resource_type {
    const char *name;           /* the C type name, used in messages */
    size_t size;                /* sizeof the C type */
    void (*destroy)(void *obj); /* calls the user destructor, if any */
    void (*vm_dtor)(ErlNifEnv *env, void *base);
    ErlNifResourceType *rt;     /* opened at load */
    long live;                  /* objects alive (atomic) */
    struct corral_resource_type *next;
    /* Added with closing, monitors and select. */
    bool closable;
    void (*leave)(void *obj);   /* ends one use of a closable object */
    void (*down)(ErlNifEnv *env, void *base, ErlNifPid *pid, ErlNifMonitor *mon);
    void (*stop)(ErlNifEnv *env, void *base, ErlNifEvent event, int is_direct_call);
} corral_resource_type;

void corral__register_resource(corral_resource_type *type);
void corral__resource_vm_dtor(corral_resource_type *type, void *base);
void corral__resource_leave(corral_resource_type *type, void *obj);

#define CORRAL__RESOURCE(Type, destructor, is_closable)                                    \
    static void (*const Type##__corral_user_dtor)(Type *) = destructor;                    \
    static void Type##__corral_destroy(void *obj)                                          \
    {                                                                                      \
        if (Type##__corral_user_dtor) Type##__corral_user_dtor((Type *)obj);              \
    }                                                                                      \
    static void Type##__corral_vm_dtor(ErlNifEnv *env, void *base);                        \
    static void Type##__corral_leave(void *obj);                                           \
    corral_resource_type Type##__corral_type = {#Type, sizeof(Type), Type##__corral_destroy, \
                                                Type##__corral_vm_dtor, NULL, 0, NULL,      \
                                                is_closable, Type##__corral_leave, NULL, NULL}; \
    static void Type##__corral_vm_dtor(ErlNifEnv *env, void *base)                         \
    {                                                                                      \
        (void)env;                                                                         \
        corral__resource_vm_dtor(&Type##__corral_type, base);                              \
    }                                                                                      \
    static void Type##__corral_leave(void *obj) { corral__resource_leave(&Type##__corral_type, obj); } \
    CORRAL__CONSTRUCTOR(Type##__corral_register) { corral__register_resource(&Type##__corral_type); } \
    typedef int Type##__corral_semicolon

/* Declares the resource type for the C type `Type`; `destructor` is NULL or
 * a function `void destructor(Type *obj)` that releases what obj holds (it
 * must not free obj itself). Use once per type, at file scope.
 * Checks: at compile time, the destructor's type; at load, registration with
 * the VM (with takeover on upgrade). Raises: never. Owns: static. */
#define CORRAL_RESOURCE(Type, destructor) CORRAL__RESOURCE(Type, destructor, false)

/* CORRAL_RESOURCE for a type whose objects can be closed early with
 * corral_resource_close (a database handle, a file): the destructor then
 * runs at close instead of at garbage collection, exactly once either way.
 * Each argument check of such a type also counts the call as a user of the
 * object until the call ends (an atomic add and subtract), so a close from
 * another process never frees what a running call is using.
 * Checks: as CORRAL_RESOURCE. Raises: never. Owns: static. */
#define CORRAL_CLOSABLE_RESOURCE(Type, destructor) CORRAL__RESOURCE(Type, destructor, true)

/* Gives the type a monitor callback, `void fn(Type *obj, ErlNifEnv *env,
 * const ErlNifPid *pid)`, run when a process monitored with corral_monitor
 * exits. Write it after the type's CORRAL_RESOURCE, in the same file.
 * Checks: at compile time, fn's type. Raises: never (fn must not raise).
 * Owns: static; obj is valid during fn. */
#define CORRAL_RESOURCE_ON_DOWN(Type, fn)                                                  \
    static void (*const Type##__corral_user_down)(Type *, ErlNifEnv *, const ErlNifPid *) = fn; \
    static void Type##__corral_down(ErlNifEnv *env, void *base, ErlNifPid *pid, ErlNifMonitor *mon) \
    {                                                                                      \
        (void)mon;                                                                         \
        Type##__corral_user_down((Type *)((char *)base + CORRAL__RESOURCE_HEADER), env, pid); \
    }                                                                                      \
    CORRAL__CONSTRUCTOR(Type##__corral_set_down) { Type##__corral_type.down = Type##__corral_down; } \
    typedef int Type##__corral_down_semicolon

/* Gives the type a select stop callback, `void fn(Type *obj, int fd, bool
 * direct)`, run when the VM no longer watches fd after corral_select_stop:
 * the place to close fd. `direct` is true when it runs inside the
 * corral_select_stop call itself. Write it after the type's CORRAL_RESOURCE.
 * Checks: at compile time, fn's type. Raises: never (fn must not raise).
 * Owns: static; obj is valid during fn. */
#define CORRAL_RESOURCE_ON_STOP(Type, fn)                                                  \
    static void (*const Type##__corral_user_stop)(Type *, int, bool) = fn;                 \
    static void Type##__corral_stop(ErlNifEnv *env, void *base, ErlNifEvent fd, int direct) \
    {                                                                                      \
        (void)env;                                                                         \
        Type##__corral_user_stop((Type *)((char *)base + CORRAL__RESOURCE_HEADER), (int)fd, direct != 0); \
    }                                                                                      \
    CORRAL__CONSTRUCTOR(Type##__corral_set_stop) { Type##__corral_type.stop = Type##__corral_stop; } \
    typedef int Type##__corral_stop_semicolon

/* Makes a resource type declared in another .c file of the same library
 * visible here. Checks: nothing. Raises: never. Owns: static. */
#define CORRAL_RESOURCE_EXTERN(Type) extern corral_resource_type Type##__corral_type

/* Bytes before the user object: construction state and size. 16 keeps the
 * user object as aligned as the VM's allocation. */
#define CORRAL__RESOURCE_HEADER 16

void *corral__resource_new(corral_call *c, corral_resource_type *type, size_t extra);

/* A new, zeroed object of resource type Type with `extra` bytes after it
 * (for a flexible array member).
 * Checks: the size does not overflow and is within the machine's memory
 * (the VM aborts instead of failing on an impossible allocation).
 * Raises: RuntimeError otherwise, or on out of memory.
 * Owns: the call holds the only reference until corral_make_resource hands
 * the object to a term; if the call raises or returns without that, the
 * object is freed without running the destructor. */
#define corral_resource_new(c, Type, extra) ((Type *)corral__resource_new((c), &Type##__corral_type, (extra)))

/* The term for a resource object made by corral_resource_new (in this call
 * or kept with corral_resource_keep). The object counts as fully built from
 * here on: its destructor will run.
 * Checks: nothing. Raises: never.
 * Owns: the term keeps the object alive as long as any process holds it. */
ERL_NIF_TERM corral_make_resource(corral_call *c, void *obj);

CORRAL__NORETURN CORRAL__COLD void corral__bad_resource(corral_call *c, int i, corral_resource_type *type);
void *corral__enter_resource(corral_call *c, int i, corral_resource_type *type, void *base);

static inline void *corral__arg_resource(corral_call *c, int i, corral_resource_type *type)
{
    void *base;
    if (CORRAL__LIKELY(enif_get_resource(c->env, corral_arg(c, i), type->rt, &base))) {
        if (CORRAL__UNLIKELY(type->closable)) return corral__enter_resource(c, i, type, base);
        return (char *)base + CORRAL__RESOURCE_HEADER;
    }
    corral__bad_resource(c, i, type);
}

/* Argument i as a pointer to a Type object.
 * Checks: a resource of exactly this type (by identity, not by shape), and,
 * for a closable type, one that is not closed.
 * Raises: ArgumentError naming the expected type, the actual type when the
 * argument is a resource of another Corral type, or that it is closed.
 * Owns: the argument term keeps the object alive until the NIF returns; no
 * reference is taken. Keep the pointer beyond the call only with
 * corral_resource_keep. */
#define corral_arg_resource(c, i, Type) ((Type *)corral__arg_resource((c), (i), &Type##__corral_type))

/* Takes a reference to obj, for native code that stores the pointer beyond
 * the call (in another resource, or for a thread).
 * Checks: nothing. Raises: never.
 * Owns: the caller owns one reference; give it back with
 * corral_resource_release, exactly once. */
void corral_resource_keep(void *obj);

/* Gives back a reference taken with corral_resource_keep. The destructor
 * runs here if it was the last reference.
 * Checks: nothing. Raises: never. Owns: the reference is gone; obj may be. */
void corral_resource_release(void *obj);

bool corral__resource_close(corral_call *c, corral_resource_type *type, void *obj);

/* Closes a closable object now: runs its destructor (once) and makes every
 * later argument check raise "closed". If other calls are using the object
 * at this moment, the destructor runs when the last of them ends instead.
 * Returns true if this call closed it, false if it was already closed.
 * Checks: Type was declared with CORRAL_CLOSABLE_RESOURCE.
 * Raises: RuntimeError if it was not (a bug in the NIF).
 * Owns: the memory of obj stays valid while terms or references hold it;
 * only what the destructor releases is gone. */
#define corral_resource_close(c, Type, obj) \
    corral__resource_close((c), &Type##__corral_type, (void *)(1 ? (obj) : (Type *)0))

/* Whether obj (of a closable type) has been closed.
 * Checks: nothing. Raises: never. Owns: a plain value. */
bool corral_resource_closed(const void *obj);

bool corral__resource_try_enter(corral_resource_type *type, void *obj);

/* For code outside a NIF call (a thread holding a kept reference): starts
 * one use of a closable object, so a concurrent close waits for it. Returns
 * false, with no use started, if the object is closed.
 * Checks: the object is open. Raises: never.
 * Owns: the caller must end the use with corral_resource_leave, once. */
#define corral_resource_try_enter(Type, obj) \
    corral__resource_try_enter(&Type##__corral_type, (void *)(1 ? (obj) : (Type *)0))

/* Ends a use started by corral_resource_try_enter; runs the destructor if the
 * object was closed meanwhile and this was its last use.
 * Checks: nothing. Raises: never. Owns: the use is over. */
#define corral_resource_leave(Type, obj) \
    corral__resource_leave(&Type##__corral_type, (void *)(1 ? (obj) : (Type *)0))

/* A binary whose bytes are `size` bytes at `data` inside obj, without
 * copying; the binary keeps obj alive. Changing those bytes later changes
 * the binary: only hand out bytes that no longer change.
 * Checks: data..data+size lies inside obj (its struct and extra bytes).
 * Raises: RuntimeError if it does not (a bug in the NIF).
 * Owns: the term holds a reference to obj for as long as the binary lives. */
ERL_NIF_TERM corral_make_resource_binary(corral_call *c, void *obj, const void *data, size_t size);

/* Monitors process `pid` on behalf of obj: when it exits, the type's
 * CORRAL_RESOURCE_ON_DOWN callback runs with obj. Returns false if the
 * process is not alive (no monitor is made). `mon`, if not NULL, receives
 * the monitor for corral_demonitor.
 * Checks: the type has a down callback. Raises: RuntimeError if not.
 * Owns: the monitor belongs to obj; it ends at the down callback, at
 * corral_demonitor, or when obj is destroyed. */
bool corral_monitor(corral_call *c, void *obj, const ErlNifPid *pid, ErlNifMonitor *mon);

/* Removes a monitor made by corral_monitor. Returns false if it had already
 * fired or been removed.
 * Checks: nothing. Raises: never. Owns: nothing remains. */
bool corral_demonitor(corral_call *c, void *obj, const ErlNifMonitor *mon);

#define CORRAL_SELECT_READ ERL_NIF_SELECT_READ
#define CORRAL_SELECT_WRITE ERL_NIF_SELECT_WRITE

/* Asks the VM to tell the calling process when fd is ready, once per call:
 * it receives {:select, obj_term, ref, :ready_input | :ready_output}.
 * `mode` is CORRAL_SELECT_READ, CORRAL_SELECT_WRITE or both (or-ed).
 * Checks: the type has a stop callback (CORRAL_RESOURCE_ON_STOP); the VM
 * accepted fd. Raises: RuntimeError if not (naming the reason).
 * Owns: obj owns the watch until corral_select_stop; fd stays the caller's
 * until the stop callback closes it. */
#define corral_select(c, Type, obj, fd, mode, ref) \
    corral__select((c), &Type##__corral_type, (void *)(1 ? (obj) : (Type *)0), (fd), (mode), (ref))
void corral__select(corral_call *c, corral_resource_type *type, void *obj, int fd, unsigned mode, ERL_NIF_TERM ref);

/* Stops watching fd; the type's stop callback runs (now, or once the VM is
 * done with fd) and should close it.
 * Checks: the VM knew fd. Raises: RuntimeError if the VM refused.
 * Owns: fd passes to the stop callback. */
#define corral_select_stop(c, Type, obj, fd) \
    corral__select_stop((c), &Type##__corral_type, (void *)(1 ? (obj) : (Type *)0), (fd))
void corral__select_stop(corral_call *c, corral_resource_type *type, void *obj, int fd);

/* }====================================================================== */

/* {======================================================================
 * Processes and messages
 * ======================================================================= */

CORRAL__NORETURN CORRAL__COLD void corral__bad_pid(corral_call *c, int i);

/* Argument i as a local process identifier.
 * Checks: a pid of this node. Raises: ArgumentError. Owns: a plain value. */
static inline ErlNifPid corral_arg_pid(corral_call *c, int i)
{
    ErlNifPid pid;
    if (CORRAL__LIKELY(enif_get_local_pid(c->env, corral_arg(c, i), &pid))) return pid;
    corral__bad_pid(c, i);
}

/* The calling process.
 * Checks: the call runs in a process (always true in a NIF call).
 * Raises: RuntimeError if not. Owns: a plain value. */
ErlNifPid corral_self(corral_call *c);

/* The term of a pid. Checks: nothing. Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_pid(corral_call *c, const ErlNifPid *pid)
{
    return enif_make_pid(c->env, pid);
}

/* Sends `msg` (a term of this call) to `to` from inside a NIF call.
 * Returns false if the receiver is not alive.
 * Checks: nothing. Raises: never. Owns: the message is copied; msg stays valid. */
bool corral_send(corral_call *c, const ErlNifPid *to, ERL_NIF_TERM msg);

/* A message under construction in its own (process-independent)
 * environment, for sending from threads or after the call. */
typedef struct corral_msg corral_msg;

/* A new empty message, usable from any thread.
 * Checks: the allocation succeeded. Raises: never; returns NULL on out of memory.
 * Owns: the caller, until corral_msg_send or corral_msg_free (exactly one). */
corral_msg *corral_msg_new(void);

/* A new message owned by the call: freed when the call ends unless sent.
 * Checks: the allocation succeeded. Raises: RuntimeError on out of memory.
 * Owns: the call; corral_msg_send may hand it to a receiver before that. */
corral_msg *corral_msg_new_in(corral_call *c);

/* The environment to build the message's terms in (enif_make_* calls).
 * Checks: nothing. Raises: never.
 * Owns: the message; the env and its terms die at send or free. */
ErlNifEnv *corral_msg_env(corral_msg *m);

/* Copies a term (from a call or another env) into the message's env.
 * Checks: nothing. Raises: never. Owns: the copy lives in the message. */
ERL_NIF_TERM corral_msg_copy(corral_msg *m, ERL_NIF_TERM term);

/* Sends `msg` (built in m's env) to `to` and frees the message's env.
 * `c` is the current call, or NULL on a thread that is not a scheduler.
 * Returns false if the receiver is not alive.
 * Checks: nothing. Raises: never.
 * Owns: m is consumed whatever the result; for a corral_msg_new_in message
 * the call frees the small handle later, so never use m again. */
bool corral_msg_send(corral_call *c, corral_msg *m, const ErlNifPid *to, ERL_NIF_TERM msg);

/* Frees a message without sending it.
 * Checks: nothing. Raises: never. Owns: m is gone. */
void corral_msg_free(corral_msg *m);

/* }====================================================================== */

/* {======================================================================
 * Locks
 *
 * corral_mutex and corral_rwlock are usable when zeroed, so they can live
 * inside a resource object without an init call. Taking one through the
 * call registers its release: it is unlocked when the call returns or
 * raises. Lock in one fixed order (for example by address) when a call takes
 * several, and never block on a lock held across a long computation.
 * ======================================================================= */

typedef struct {
    pthread_mutex_t m;
} corral_mutex;

typedef struct {
    pthread_rwlock_t l;
} corral_rwlock;

void corral__unlock_mutex(void *m);
void corral__unlock_rwlock(void *l);

/* Locks m for the rest of the call.
 * Checks: nothing (locking the same mutex twice in one call deadlocks, as with
 * any non-recursive mutex). Raises: never.
 * Owns: the call unlocks m when it returns or raises; corral_run_now on the
 * returned id unlocks early. */
static inline corral_defer_id corral_lock(corral_call *c, corral_mutex *m)
{
    pthread_mutex_lock(&m->m);
    return corral__defer(c, corral__unlock_mutex, m);
}

/* Takes l for reading for the rest of the call.
 * Checks: nothing. Raises: never.
 * Owns: the call releases l when it returns or raises; corral_run_now on the
 * returned id releases early. */
static inline corral_defer_id corral_read_lock(corral_call *c, corral_rwlock *l)
{
    pthread_rwlock_rdlock(&l->l);
    return corral__defer(c, corral__unlock_rwlock, l);
}

/* Takes l for writing for the rest of the call.
 * Checks: nothing. Raises: never.
 * Owns: as corral_read_lock. */
static inline corral_defer_id corral_write_lock(corral_call *c, corral_rwlock *l)
{
    pthread_rwlock_wrlock(&l->l);
    return corral__defer(c, corral__unlock_rwlock, l);
}

/* }====================================================================== */

#endif /* CORRAL_H */
