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

#if defined(_WIN32) && !defined(__USE_MINGW_ANSI_STDIO)
/* C99 formats (%zu, %lld) in Corral's messages, with mingw-w64's own printf
 * instead of the system's older one. */
#define __USE_MINGW_ANSI_STDIO 1
#endif

#if defined(_WIN32) && defined(__GNUC__)
/* Under Windows erl_nif's functions are members of a callback table
 * (function pointers). OTP 25 and 26's erl_drv_nif.h still give them GCC's
 * allocator attributes, `malloc(enif_free)` among them, which GCC rejects on
 * a member ("enif_free undeclared"); OTP 27 leaves them out under Windows,
 * as done here. Attributes only: the table and the calls are the same. */
#include <erl_drv_nif.h>
#include <string.h> /* ERL_NIF_INIT's Windows body calls memcpy */
#undef ERL_NAPI_ATTR_WUR
#undef ERL_NAPI_ATTR_ALLOC_SIZE
#undef ERL_NAPI_ATTR_MALLOC_U
#undef ERL_NAPI_ATTR_MALLOC_US
#undef ERL_NAPI_ATTR_MALLOC_UD
#undef ERL_NAPI_ATTR_MALLOC_USD
#undef ERL_NAPI_ATTR_MALLOC_D
#define ERL_NAPI_ATTR_WUR
#define ERL_NAPI_ATTR_ALLOC_SIZE(SZPOS)
#define ERL_NAPI_ATTR_MALLOC_U
#define ERL_NAPI_ATTR_MALLOC_US(SZPOS)
#define ERL_NAPI_ATTR_MALLOC_UD(DTOR, PTRPOS)
#define ERL_NAPI_ATTR_MALLOC_USD(SZPOS, DTOR, PTRPOS)
#define ERL_NAPI_ATTR_MALLOC_D(DTOR, PTRPOS)
#endif

#include <erl_nif.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Debug builds note where in C each error was raised (see "Raising"). */
#if defined(CORRAL_DEBUG) && !defined(CORRAL_RAISE_LOCATIONS)
#define CORRAL_RAISE_LOCATIONS 1
#endif

/* Debug builds use the VM's locks, which its lock checker sees (see "Locks"). */
#if defined(CORRAL_DEBUG) && !defined(CORRAL_VM_LOCKS)
#define CORRAL_VM_LOCKS 1
#endif

#if !defined(PTHREAD_RWLOCK_INITIALIZER)
#error "corral.h needs POSIX read/write locks: compile with -std=gnu11 or -D_POSIX_C_SOURCE=200809L"
#endif

#ifdef __cplusplus
#error "corral.h is a C header; its unwinding is not safe across C++ frames"
#endif

/* erl_nif.h comes with sizes configured for the machine its Erlang was
 * built for (erl_int_sizes_config.h): ERL_NIF_TERM and the integer types
 * follow them. A cross build against the host's headers for a target of
 * another word size would compile, then pass every term wrongly. */
#if defined(SIZEOF_VOID_P) && defined(SIZEOF_LONG)
_Static_assert(SIZEOF_VOID_P == sizeof(void *) && SIZEOF_LONG == sizeof(long),
               "erl_nif.h is configured for another machine than this compiler's target: "
               "point ERTS_INCLUDE_DIR at the target's Erlang headers (erts-<version>/include)");
#endif

/* {======================================================================
 * Version
 * ======================================================================= */

#define CORRAL_VERSION_MAJOR 0
#define CORRAL_VERSION_MINOR 1
#define CORRAL_VERSION_PATCH 0
#define CORRAL_VERSION "0.1.0"
/* Bumped whenever the layout of the export table, the load protocol, or
 * what a library reads of an older one at an upgrade (its resource types'
 * counts) changes; the Elixir side refuses a library built with another
 * value, and an upgrade across values carries no counts. */
#define CORRAL_ABI 5

/* }====================================================================== */

/* {======================================================================
 * Compiler helpers (internal, but needed by the inline fast paths)
 * ======================================================================= */

#if defined(__GNUC__) || defined(__clang__)
#define CORRAL__LIKELY(x) __builtin_expect(!!(x), 1)
#define CORRAL__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CORRAL__NORETURN __attribute__((noreturn))
#define CORRAL__COLD __attribute__((cold, noinline))
#if defined(_WIN32)
/* PE has no symbol visibility: a DLL exports what is marked dllexport
 * (erl_nif's nif_init) and nothing else. Messages are formatted by
 * mingw-w64's C99 printf (__USE_MINGW_ANSI_STDIO, set above), whose
 * formats GCC calls gnu_printf. */
#define CORRAL__HIDDEN
#define CORRAL__PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define CORRAL__HIDDEN __attribute__((visibility("hidden")))
#define CORRAL__PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif
#define CORRAL__CONSTRUCTOR(fn) static void fn(void) __attribute__((constructor)); static void fn(void)
#else
#error "Corral needs GCC or Clang (constructor attributes, __builtin_expect)"
#endif

/* The cheap setjmp: __builtin_setjmp saves three words (frame, stack, resume
 * address) and lets the compiler spill the callee-saved registers, instead of
 * the libc version's full register file. GCC has it on x86 and AArch64, Clang
 * only on x86 (Clang refuses it for arm64, Apple silicon included). Elsewhere,
 * or with CORRAL_PORTABLE_SETJMP defined, the POSIX _setjmp/_longjmp pair is
 * used (no signal-mask system call either way). */
#if !defined(CORRAL_PORTABLE_SETJMP) &&                                                     \
    (defined(__x86_64__) || defined(__i386__) || (defined(__aarch64__) && !defined(__clang__)))
#define CORRAL__BUILTIN_SETJMP 1
#endif

#if defined(CORRAL__BUILTIN_SETJMP)
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
    struct corral__shown *shown;    /* terms shown in messages; valid while arena is set */
    /* Yielding NIFs only (valid when flags has CORRAL__CALL_YIELDING). */
    long yield_countdown;           /* iterations until the next clock read */
    struct corral_yield_state *yield;
    /* Thread jobs only (valid when flags has CORRAL__CALL_THREAD). */
    struct corral_job *job;
    /* Dirty calls that can be cancelled (valid when flags has CORRAL__CALL_WATCHED). */
    struct corral__watch *watch;
} corral_call;

#define CORRAL__CALL_YIELDING 1u
#define CORRAL__CALL_CONTINUE 2u
#define CORRAL__CALL_THREAD 4u
#define CORRAL__CALL_ERROR_RESULT 8u /* the unwind returns c->exception, {:error, reason} */
#define CORRAL__CALL_OPTIONAL 16u    /* decoding an optional value: messages say "nil or" */
#define CORRAL__CALL_WATCHED 32u     /* a dirty call with corral_on_cancel or corral_cancel_after */

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

/* The end of a call that returned (defined with the locks, below). */
static inline void corral__end(corral_call *c);

/* The watchdog of debug builds (CORRAL_DEBUG): a call (whether it returns
 * or raises) or a step of a yielding NIF that holds a normal scheduler
 * longer than the budget (1 ms, or CORRAL_WATCHDOG_US) is reported on
 * stderr with its function and time. Release builds compile it out. */
#ifdef CORRAL_DEBUG
uint64_t corral__now_ns(void);
void corral__watchdog(corral_call *c, uint64_t started);
#define CORRAL__WATCHDOG_START() uint64_t corral_started_ = corral__now_ns()
#define CORRAL__WATCHDOG_END(c) corral__watchdog((c), corral_started_)
#else
#define CORRAL__WATCHDOG_START() ((void)0)
#define CORRAL__WATCHDOG_END(c) ((void)0)
#endif

/* Notes for the build's check of argument reads (see "Argument reads the
 * build checks" at the end of this header). Fixed layout: 32 bytes each,
 * 32-aligned, so that the records of every file line up in their section. */
typedef struct __attribute__((aligned(32))) corral__nif_note {
    char magic[8];     /* "CORRNIF" */
    corral_nif_fn nif; /* the function the export table lists */
    const char *body;  /* the name of the C function holding its body */
    uint64_t reserved;
} corral__nif_note;

typedef struct __attribute__((aligned(32))) corral__arg_note {
    char magic[8];    /* "CORRARG" */
    const char *func; /* the C function that reads the argument */
    const char *file;
    int32_t index;    /* the constant index read, or -1 */
    uint32_t line;
} corral__arg_note;

#define CORRAL__NIF_NOTE(fn, body)                                                        \
    static const corral__nif_note fn##__corral_note CORRAL__SECTION("corral_nifs") = {"CORRNIF", fn, body, 0}

/* Defines a NIF body. `name` becomes an erl_nif function to list in
 * CORRAL_MODULE with CORRAL_FN (in this file, or in another one after
 * CORRAL_NIF_EXTERN(name)). Inside the body, `c` is the call context.
 * Checks: nothing itself; the body's corral_* calls check their input.
 * Raises: whatever the body raises, as an Erlang exception of the caller.
 * Owns: everything registered on the cleanup stack is released when the body
 *       returns or raises, newest first. */
#define CORRAL_NIF(name)                                                          \
    CORRAL_NIF_EXTERN(name);                                                      \
    CORRAL__NIF_NOTE(name, #name "__corral_body");                                \
    static ERL_NIF_TERM name##__corral_body(corral_call *c);                      \
    static __attribute__((noinline)) ERL_NIF_TERM name##__corral_run(corral_call *c) \
    {                                                                             \
        ERL_NIF_TERM result_ = name##__corral_body(c);                            \
        corral__end(c);                                                           \
        return result_;                                                           \
    }                                                                             \
    ERL_NIF_TERM name(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])        \
    {                                                                             \
        CORRAL__NIF_ENTRY(name, name);                                            \
    }                                                                             \
    /* The same for a CORRAL_ALIAS of `name`, whose `self` messages name. A  \
     * function that calls setjmp cannot be inlined, and a jump from `name` \
     * to it would cost every call: a copy, dropped when no alias uses it. */     \
    static __attribute__((unused)) ERL_NIF_TERM name##__corral_entry(             \
        ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[], corral_nif_fn self)  \
    {                                                                             \
        CORRAL__NIF_ENTRY(name, self);                                            \
    }                                                                             \
    static ERL_NIF_TERM name##__corral_body(corral_call *c)

/* The body of a CORRAL_NIF's erl_nif function, for the NIF `self`. */
#define CORRAL__NIF_ENTRY(name, self)                                             \
    corral_call call_;                                                            \
    corral__call_init(&call_, env, argc, argv, self, 0);                          \
    CORRAL__WATCHDOG_START();                                                     \
    if (CORRAL__UNLIKELY(CORRAL__SETJMP(call_.jmp))) {                            \
        ERL_NIF_TERM raised_ = corral__unwound(&call_);                           \
        CORRAL__WATCHDOG_END(&call_);                                             \
        return raised_;                                                           \
    }                                                                             \
    ERL_NIF_TERM result_ = name##__corral_run(&call_);                            \
    CORRAL__WATCHDOG_END(&call_);                                                 \
    return result_

/* Declares a NIF defined with CORRAL_NIF in another file of the same
 * library, so this file's CORRAL_MODULE can list it.
 * Checks: nothing. Raises: never. Owns: static (hidden from other libraries). */
#define CORRAL_NIF_EXTERN(name) \
    CORRAL__HIDDEN ERL_NIF_TERM name(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])

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
    char magic[8];              /* "CORRAL\0\0"; "CORRALX\0" for CORRAL_MODULE, whose NIFs
                                 * are bound to __nif_<name> (see corral__prepare) */
    uint32_t abi;               /* CORRAL_ABI */
    uint32_t count;             /* rows in corral_exports */
    char module[CORRAL_NAME_MAX]; /* Erlang module name, e.g. "Elixir.Buffer.Native" */
} corral_module_info;

/* A row of CORRAL_MODULE: function `name` of `arity` arguments runs NIF `fn`.
 * Messages name a NIF by its first row: give each row its own CORRAL_NIF
 * (for a typed NIF, its own CORRAL_ALIAS).
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
 * 2304 bytes, 32-aligned (compilers align big objects that way anyway).
 * `reserved` says who wrote it: 0 CORRAL_DOC, 1 a typed declaration, 2
 * CORRAL_DOC_OF, 3 CORRAL_ALIAS (`spec` holds the aliased C name). */
typedef struct __attribute__((aligned(32))) corral_doc_record {
    char magic[8]; /* "CORRDOC" */
    uint32_t arity;
    uint32_t reserved;
    char name[240];
    char spec[512];
    char doc[1536];
} corral_doc_record;

/* The tables are read from the file as laid out here, so AddressSanitizer
 * must not pad them with redzones (clang does for globals in named sections
 * on Mach-O; GCC never instruments them, and has no such variable
 * attribute). */
#if defined(__clang__)
#define CORRAL__NO_REDZONE __attribute__((no_sanitize("address")))
#else
#define CORRAL__NO_REDZONE
#endif

#if defined(__APPLE__)
#define CORRAL__SECTION(s) __attribute__((section("__DATA," s), used)) CORRAL__NO_REDZONE
#else
#define CORRAL__SECTION(s) __attribute__((section(s), used)) CORRAL__NO_REDZONE
#endif

/* Fills the VM's function table from the export table, before the VM reads
 * it (a constructor of the library runs this when the library is opened). */
void corral__prepare(const struct corral_module_info *info, corral_export *exports, ErlNifFunc *funcs);
int corral__on_load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info);
int corral__on_upgrade(ErlNifEnv *env, void **priv, void **old_priv, ERL_NIF_TERM info);
void corral__on_unload(ErlNifEnv *env, void *priv);

/* Rows Corral adds to every table: __corral_live__/0, __corral_cancel__/1,
 * __corral_ack__/2. */
#define CORRAL__BUILTIN_ROWS 3

#define CORRAL__DOC_ID2(a, b) a##b
#define CORRAL__DOC_ID(a, b) CORRAL__DOC_ID2(a, b)

/* Documents an exported function: `spec` is the Elixir typespec without
 * @spec ("get(reference(), non_neg_integer()) :: byte()", or "" for none)
 * and `doc` its documentation (Markdown). They become @spec and @doc of
 * the generated function, so `h Mod.fun` and Dialyzer see them. Write it at
 * file scope, anywhere in the library. A CORRAL_ERLANG_MODULE's spec may
 * be Erlang instead ("get(Buf :: reference(), I :: non_neg_integer()) ->
 * byte()"), used as written.
 * Checks: at compile time, name/arity exist in the table and the spec
 * parses (a CompileError names the function otherwise; for an Erlang
 * module, a spec with no Erlang form is a warning of the build and left
 * out); the strings fit (240, 512 and 1536 bytes, checked by the C
 * compiler).
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
 * The entry point is erl_nif's own ERL_NIF_INIT.
 * Checks: at load, the rows (see CORRAL_FN), the Corral ABI against the
 * loading Elixir side, and resource type registration. Raises: never; a
 * failed check fails the load with a reason. Owns: static. */
#define CORRAL_MODULE(mod, ...) CORRAL__ENTRY(Elixir.mod, "Elixir." #mod, "CORRALX", __VA_ARGS__)

/* CORRAL_MODULE for an Erlang module, named as in Erlang (a C identifier):
 * CORRAL_ERLANG_MODULE(counter_nif, ...). A macro that expands to the name
 * works too (-DMODNAME=counter_nif). The Erlang module is generated from
 * the built library by corral_stubs (Corral's rebar3 plugin, or corral.mk):
 * its functions call the NIFs (bound to '__nif_<name>') and raise Erlang
 * errors (badarg, badarith, {Tag, Message}) with the message in the
 * stacktrace's error_info; messages show terms as Erlang writes them.
 * Checks: as CORRAL_MODULE. Raises: never. Owns: static. */
#define CORRAL_ERLANG_MODULE(name, ...) CORRAL__ERLANG_ENTRY(name, __VA_ARGS__)
#define CORRAL__ERLANG_ENTRY(name, ...) CORRAL__ENTRY(name, #name, "CORRAL", __VA_ARGS__)

/* The rows' own alignment, given explicitly: left to itself GCC aligns a
 * big array to 32 bytes, and a PE/COFF section is then padded to a multiple
 * of 32, so that its size is no longer rows times the row size (the readers
 * divide it by the module record's count). */
#define CORRAL__ROWS_ALIGN __attribute__((aligned(_Alignof(corral_export))))

#define CORRAL__ENTRY(token, modstr, magic, ...)                                              \
    static corral_export corral__exports[] CORRAL__ROWS_ALIGN CORRAL__SECTION("corral_exports") = {__VA_ARGS__}; \
    static const corral_module_info corral__module_info CORRAL__SECTION("corral_module") = {  \
        magic, CORRAL_ABI, sizeof(corral__exports) / sizeof(corral__exports[0]), modstr};     \
    static ErlNifFunc corral__funcs[sizeof(corral__exports) / sizeof(corral__exports[0]) +    \
                                    CORRAL__BUILTIN_ROWS];                                    \
    CORRAL__CONSTRUCTOR(corral__prepare_funcs)                                                \
    {                                                                                         \
        corral__prepare(&corral__module_info, corral__exports, corral__funcs);                \
    }                                                                                         \
    CORRAL__STATIC_INIT_DECL(token)                                                           \
    ERL_NIF_INIT(token, corral__funcs, corral__on_load, NULL, corral__on_upgrade, corral__on_unload)

/* A static NIF (STATIC_ERLANG_NIF_LIBNAME=<lib>, set by a CORRAL_STATIC=1
 * build): the entry is <lib>_nif_init, which a statically linked VM's table
 * names. It keeps default visibility so that the archive's one object can
 * make every other symbol local (two Corral libraries in one VM must not
 * clash); erl_nif.h does not export it in a static build. An Elixir module's
 * name is no C name, so a static build needs the library name. */
#if defined(STATIC_ERLANG_NIF_LIBNAME)
#define CORRAL__STATIC_INIT_DECL(token) __attribute__((visibility("default"))) ErlNifEntry *ERL_NIF_INIT_NAME(token)(void);
#elif defined(STATIC_ERLANG_NIF)
#define CORRAL__STATIC_INIT_DECL(token) \
    _Static_assert(0, "a static Corral library needs STATIC_ERLANG_NIF_LIBNAME=<lib> (CORRAL_STATIC=1 sets it)");
#else
#define CORRAL__STATIC_INIT_DECL(token)
#endif

/* {----------------------------------------------------------------------
 * Library hooks: load, upgrade, unload
 *
 * A wrapped C library has global set-up and teardown (sqlite3_initialize,
 * curl_global_init); these hooks give them a home. At most one of each per
 * library, in any of its files:
 *
 *     static bool load(corral_load *l)
 *     {
 *         if (sqlite3_initialize() != SQLITE_OK) return corral_load_fail(l, "sqlite3_initialize failed");
 *         return true;
 *     }
 *     static void unload(const corral_unload *u) { if (!u->replaced) sqlite3_shutdown(); }
 *     CORRAL_ON_LOAD(load);
 *     CORRAL_ON_UNLOAD(unload);
 *
 * The load hook runs when the VM loads the library: the first load
 * (l->upgrade false) and a new version replacing a loaded one
 * (l->upgrade true: the old version's code may still run, and its unload
 * hook runs later, when the old code is purged). It runs after Corral's
 * own set-up (its ABI check, atoms, CORRAL_STRUCT tables, resource types),
 * on the process that loads the module. Returning false fails the load:
 * the library is not loaded, the unload hook does not run (undo in the
 * hook what it did before it failed), and the module's functions raise
 * Corral.LoadError (Elixir) or error:{not_loaded, Sentence} (Erlang) with
 * the sentence given to corral_load_fail.
 *
 * l->data is the load data: `use Corral, load_data: term` in Elixir; the
 * rebar3 plugin's {load_data, Term} or corral.mk's CORRAL_LOAD_DATA for an
 * Erlang module; nil (Elixir) or undefined (Erlang) when none is given; the
 * whole load info when the library is loaded by hand with
 * erlang:load_nif/2 and a term that is not a tuple tagged `corral`.
 * Decode it with plain enif calls on l->env, or with Corral's getters on
 * l->c: `corral_get_i64(l->c, corral_term_of(l->data))`. In the hook, l->c
 * is a call context with no arguments: the getters, corral_try_*,
 * corral_make_*, atom tables, corral_alloc and corral_defer (released when
 * the hook returns) and corral_raise* work; a raise fails the load with
 * its message, as corral_load_fail does. Not for the hook: corral_arg_*
 * (there are no arguments), yielding, thread jobs, corral_return_error*,
 * monitors. Terms made on l->env die with the hook: keep what you need
 * as C values (or copy it into an environment of your own).
 *
 * The unload hook runs once, when the VM unloads the library (its module
 * was purged or deleted; the VM waits until no object of the library's
 * resource types is left, unless a new version took the types over), and
 * after the last thread job of the library finished: thread jobs queued or
 * running at the unload still run, and the hook then runs on the pool
 * thread that ran the last one. Without such jobs it runs during the
 * VM's unload, on the thread that unloads. It never runs while a thread
 * job of this library runs. u->replaced is true when a new version of the
 * library was loaded over this one: a dependency both versions share (a
 * system libsqlite3.so, which the dynamic loader maps once) is still in use
 * by the new version and must not be shut down. Objects that outlive the
 * library's module in the new version (the state of a yielding call that was
 * in flight at the upgrade) may be freed after the hook ran.
 * ---------------------------------------------------------------------- */

/* What the load hook receives. Public fields only grow at the end. */
typedef struct corral_load {
    corral_call *c;    /* a call context for Corral's getters; a raise fails the load */
    ErlNifEnv *env;    /* the load's environment (the same as l->c->env) */
    ERL_NIF_TERM data; /* the load data (see above) */
    bool upgrade;      /* true: a new version replaces a loaded one */
    char *message_;    /* internal: where corral_load_fail writes */
    size_t message_cap_;
} corral_load;

/* What the unload hook receives. Public fields only grow at the end. */
typedef struct corral_unload {
    bool replaced; /* true: a new version of the library was loaded over this one */
} corral_unload;

typedef bool (*corral_load_hook)(corral_load *l);
typedef void (*corral_unload_hook)(const corral_unload *u);

void corral__set_load_hook(corral_load_hook fn);
void corral__set_unload_hook(corral_unload_hook fn);

/* Fails the load with a sentence (a printf format): the text of the
 * Corral.LoadError (Elixir) or of error:{not_loaded, Sentence} (Erlang) that
 * the module's functions then raise, and of the warning printed at the
 * load. Returns false, so the hook can `return corral_load_fail(l, ...)`.
 * Checks: nothing. Raises: never. Owns: the text is copied (up to 1023
 * bytes; longer text is cut). */
CORRAL__PRINTF(2, 3) bool corral_load_fail(corral_load *l, const char *fmt, ...);

/* Declares `bool fn(corral_load *l)` as the library's load hook (see the
 * section's comment for when it runs and what it may call). At file scope,
 * once per library: a second CORRAL_ON_LOAD fails to compile in the same
 * file, and to link in another one ("multiple definition of
 * corral__CORRAL_ON_LOAD_appears_twice").
 * Checks: at compile time, fn's type. Raises: never (a raise inside the hook
 * fails the load). Owns: static. */
#define CORRAL_ON_LOAD(fn)                                                                   \
    CORRAL__HIDDEN extern const char corral__CORRAL_ON_LOAD_appears_twice; \
    CORRAL__HIDDEN const char corral__CORRAL_ON_LOAD_appears_twice = 1;    \
    CORRAL__CONSTRUCTOR(corral__register_load_hook) { corral__set_load_hook(fn); }              \
    _Static_assert(1, "CORRAL_ON_LOAD")

/* Declares `void fn(const corral_unload *u)` as the library's unload hook
 * (see the section's comment for exactly when, and on which thread, it
 * runs).
 * At file scope, once per library, as CORRAL_ON_LOAD. The hook must not
 * call Corral functions that take a call context, nor wait for the VM.
 * Checks: at compile time, fn's type. Raises: never. Owns: static. */
#define CORRAL_ON_UNLOAD(fn)                                                                     \
    CORRAL__HIDDEN extern const char corral__CORRAL_ON_UNLOAD_appears_twice; \
    CORRAL__HIDDEN const char corral__CORRAL_ON_UNLOAD_appears_twice = 1;    \
    CORRAL__CONSTRUCTOR(corral__register_unload_hook) { corral__set_unload_hook(fn); }              \
    _Static_assert(1, "CORRAL_ON_UNLOAD")

/* }---------------------------------------------------------------------- */

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
 *   - corral_schedule_dirty: the body itself decides, once it has seen its
 *     input, to go on on a dirty scheduler (small inputs stay where a call
 *     is cheapest).
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
    CORRAL__NIF_NOTE(name, #name "__corral_ybody");                                       \
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

/* Whether the call runs on a dirty scheduler (CPU or IO) right now.
 * Checks: nothing. Raises: never. Owns: a plain value. */
bool corral_on_dirty_scheduler(corral_call *c);

/* Moves the rest of the call to a dirty scheduler, deciding at run time:
 * return its result from the body, and the body runs again, from the top
 * with the same arguments, on a dirty CPU (CORRAL_DIRTY_CPU) or IO
 * (CORRAL_DIRTY_IO) scheduler. Small work stays on the normal scheduler,
 * where a call costs least; big work moves before it starts:
 *     corral_binary in = corral_arg_binary(c, 0);
 *     if (in.size > 64 * 1024 && !corral_on_dirty_scheduler(c))
 *         return corral_schedule_dirty(c, CORRAL_DIRTY_CPU);
 * What the body registered before it (locks, scratch memory, new objects)
 * is released when it returns, as at any return.
 * Checks: flags is one of the two; the call is a plain or typed NIF (not a
 * yielding NIF or thread job) and not already on a dirty scheduler (which
 * would reschedule it for ever).
 * Raises: RuntimeError if a check fails (a bug in the NIF).
 * Owns: the arguments stay the VM's; nothing else carries over. */
ERL_NIF_TERM corral_schedule_dirty(corral_call *c, int flags);

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
    CORRAL__NIF_NOTE(name##__corral_job, #name "__corral_body");                         \
    ERL_NIF_TERM name##__corral_job(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) \
    {                                                                                    \
        return corral__job_submit(env, argc, argv, &name##__corral_tdesc);               \
    }                                                                                    \
    static const corral__thread_desc name##__corral_tdesc = {name##__corral_body, name##__corral_job}; \
    static ERL_NIF_TERM name##__corral_body(corral_call *c)

/* Sets how to interrupt what the body is about to block in, when the call
 * is cancelled: `interrupt(arg)` is then called once, from another thread,
 * while the body goes on running; it should make the blocked call return
 * early (sqlite3_interrupt, a write to a wake-up pipe, an atomic flag the
 * library polls). What cancels:
 *   - a thread job: its caller timed out, called Corral.Job.cancel/2, or
 *     died (the interrupt runs on the scheduler that cancels);
 *   - a call on a dirty scheduler (CORRAL_DIRTY_CPU/IO, or moved there by
 *     corral_schedule_dirty): its caller died (checked every 20 ms), or the
 *     deadline of corral_cancel_after passed (the interrupt runs on the
 *     library's watcher thread). Its caller sees nothing else: a killed
 *     caller is gone, and a deadline only interrupts the body, which
 *     returns (or raises) whatever it decides.
 * If the call is already cancelled, it is called at once, here. It stays
 * set until corral_on_cancel_clear or the end of the call (for a dirty call,
 * the end of the call is a cleanup registered here: cleanups registered
 * later, such as a lock, run before it); clearing it waits for an
 * interrupt already running, so after the clear it never runs, and what it
 * uses may be freed. A new corral_on_cancel replaces the previous one.
 * `interrupt` must be quick, must not block or raise, and must be safe to
 * call from another thread while the body runs.
 *     corral_on_cancel(c, interrupt_db, db->handle);
 *     rc = sqlite3_step(stmt);              // returns SQLITE_INTERRUPT
 *     corral_on_cancel_clear(c);
 * Checks: the call is a thread job (CORRAL_THREAD_NIF, CORRAL_DEF_THREAD) or
 * runs on a dirty scheduler.
 * Raises: RuntimeError if not: nothing can cancel a call on a normal
 * scheduler (it must not block); RuntimeError on out of memory, or if the
 * watcher thread cannot be started (a dirty call's first use).
 * Owns: arg stays the body's; Corral only passes it to interrupt. */
void corral_on_cancel(corral_call *c, void (*interrupt)(void *arg), void *arg);

/* Cancels this call on a dirty scheduler `ms` milliseconds from now if it
 * is still running: the interrupt of corral_on_cancel (set before or
 * after) is called and corral_cancelled turns true. A deadline for a body
 * that blocks in a C library, whose caller cannot time out (it waits in
 * the NIF). A second call sets a new deadline from now.
 *     corral_cancel_after(c, timeout_ms);   // e.g. from an argument
 *     corral_on_cancel(c, interrupt_db, db);
 *     rc = sqlite3_step(stmt);              // SQLITE_INTERRUPT after it
 * Checks: the call runs on a dirty scheduler.
 * Raises: RuntimeError for a thread job (its caller's timeout cancels it)
 * and for a call on a normal scheduler; RuntimeError on out of memory.
 * Owns: nothing; the deadline ends with the call. */
void corral_cancel_after(corral_call *c, uint32_t ms);

/* Ends what corral_on_cancel set: from here on a cancel does not call the
 * interrupt (one running now is waited for). Does nothing when none is
 * set, or in a call that cannot be cancelled.
 * Checks: nothing. Raises: never. Owns: nothing remains. */
void corral_on_cancel_clear(corral_call *c);

/* Whether the call should stop: a thread job's caller died or stopped
 * waiting (a timeout or Corral.Job.cancel/1); a dirty call's caller died,
 * or its corral_cancel_after deadline passed (once it has called
 * corral_on_cancel or corral_cancel_after: the watcher knows only those).
 * Always false in other calls.
 * Checks: nothing. Raises: never. Owns: a plain value. */
bool corral_cancelled(corral_call *c);

/* Items a thread job may send before its caller takes some: the most that
 * ever wait in the caller's mailbox. */
#define CORRAL_EMIT_WINDOW 64

/* Sends `item` to the job's caller now, while the body goes on: progress,
 * or a part of the result (rows, chunks, matches). The caller reads them
 * with Corral.Job.stream/3 (Elixir) or as messages
 * {corral_item, Job, Item} (see Corral.Job.ack/3, or `Mod:'__corral_ack__'(Job, N)`
 * in Erlang). A caller that only waits for the result (name/n, await/3)
 * drops them. At most CORRAL_EMIT_WINDOW items wait in the caller's mailbox:
 * when that many are unread, corral_emit waits (on the pool thread, which
 * then no longer counts as able to take other jobs) until the caller takes
 * some. When the job is cancelled (the caller stopped the stream, timed out,
 * called Corral.Job.cancel/2 or died), corral_emit does not return: the
 * body unwinds as on a raise, its cleanups run, nothing more is sent.
 * The item is copied into the message, so what the body made for it stays
 * in the job's memory until the job ends; for a long stream, make each item
 * after corral_emit_begin(c) instead (below).
 *     for (i = 0; i < n; i++) corral_emit(c, corral_make_i64(c, i));
 * Checks: the call is a thread job.
 * Raises: RuntimeError in any other call; RuntimeError when the job is
 * cancelled (its caller never sees it); RuntimeError on out of memory.
 * Owns: nothing of item; the message is the caller's. */
void corral_emit(corral_call *c, ERL_NIF_TERM item);

/* Makes the next item in memory of its own: from here until corral_emit,
 * every term the body makes (corral_make_*, typed results) goes into the
 * message and leaves with it, so a stream of any length uses the memory of
 * one item. Terms made before (arguments included) must not be used in
 * the item: make it from C values (read arguments with corral_arg_*).
 *     corral_emit_begin(c);
 *     corral_emit(c, corral_make_pair(c, corral_make_i64(c, row),
 *                                        corral_make_binary(c, buf, len)));
 * Checks: the call is a thread job, and not already between
 * corral_emit_begin and corral_emit.
 * Raises: RuntimeError if not; RuntimeError on out of memory.
 * Owns: nothing; a raise or return before corral_emit discards the item. */
void corral_emit_begin(corral_call *c);

/* }====================================================================== */

/* {======================================================================
 * Raising
 *
 * Every message starts with the function as Elixir writes it
 * ("Buffer.Native.get/2: "). Terms are shown as the caller's own inspect/1
 * shows them (Erlang syntax in an Erlang module): the text is assembled on
 * the Elixir side, so it follows the running Elixir version and the user's
 * Inspect implementations.
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

/* One field of an exception raised by corral_raise_fields: a name (an atom
 * of the exception struct, from a literal) and a typed value. Make them
 * with the corral_with_* helpers below, never by hand. */
typedef struct corral_exception_field {
    const char *name;
    int kind;
    union {
        int64_t i64;
        uint64_t u64;
        double f;
        const char *text;
        ERL_NIF_TERM term;
    } value;
} corral_exception_field;

enum { CORRAL__FIELD_I64 = 1, CORRAL__FIELD_U64, CORRAL__FIELD_DOUBLE, CORRAL__FIELD_BOOL,
       CORRAL__FIELD_STRING, CORRAL__FIELD_ATOM, CORRAL__FIELD_TERM };

/* A field with an integer value.
 * Checks: nothing. Raises: never. Owns: nothing (a small value). */
static inline corral_exception_field corral_with_i64(const char *name, int64_t value)
{
    corral_exception_field f = {name, CORRAL__FIELD_I64, {.i64 = value}};
    return f;
}
/* A field with a non-negative integer value.
 * Checks: nothing. Raises: never. Owns: nothing (a small value). */
static inline corral_exception_field corral_with_u64(const char *name, uint64_t value)
{
    corral_exception_field f = {name, CORRAL__FIELD_U64, {.u64 = value}};
    return f;
}
/* A field with a float value (NaN and infinities become :nan, :infinity and
 * :neg_infinity atoms, as the BEAM has no such floats).
 * Checks: nothing. Raises: never. Owns: nothing (a small value). */
static inline corral_exception_field corral_with_double(const char *name, double value)
{
    corral_exception_field f = {name, CORRAL__FIELD_DOUBLE, {.f = value}};
    return f;
}
/* A field with a boolean value (true or false).
 * Checks: nothing. Raises: never. Owns: nothing (a small value). */
static inline corral_exception_field corral_with_bool(const char *name, bool value)
{
    corral_exception_field f = {name, CORRAL__FIELD_BOOL, {.i64 = value ? 1 : 0}};
    return f;
}
/* A field with a string value: the NUL-terminated text (UTF-8) copied into
 * a binary at the raise; NULL gives nil (undefined in an Erlang module).
 * Checks: nothing. Raises: never. Owns: borrows `text` until the raise. */
static inline corral_exception_field corral_with_string(const char *name, const char *text)
{
    corral_exception_field f = {name, CORRAL__FIELD_STRING, {.text = text}};
    return f;
}
/* A field with an atom value, named by a literal ("timeout"); NULL gives
 * nil (undefined in an Erlang module).
 * Checks: nothing. Raises: never. Owns: borrows `atom` until the raise. */
static inline corral_exception_field corral_with_atom(const char *name, const char *atom)
{
    corral_exception_field f = {name, CORRAL__FIELD_ATOM, {.text = atom}};
    return f;
}
/* A field with any term of the call (an argument, or a term made in the
 * call's environment), kept as it is.
 * Checks: nothing. Raises: never. Owns: the term stays the call's. */
static inline corral_exception_field corral_with_term(const char *name, ERL_NIF_TERM term)
{
    corral_exception_field f = {name, CORRAL__FIELD_TERM, {.term = term}};
    return f;
}

/* The fields of corral_raise_fields, written in place: expands to an array
 * and its length, so the call reads
 *   corral_raise_fields(c, "Elixir.MyLib.DecodeError",
 *                       CORRAL_WITH(corral_with_i64("offset", at),
 *                                     corral_with_atom("reason", "truncated")),
 *                       "input ends inside a header at byte %zu", at);
 * Checks: nothing. Raises: never. Owns: a temporary array of the call. */
#define CORRAL_WITH(...)                                                                         \
    ((const corral_exception_field[]){__VA_ARGS__}),                                                         \
        (sizeof((const corral_exception_field[]){__VA_ARGS__}) / sizeof(corral_exception_field))

/* Raises the Elixir exception `module` with the given fields set, the
 * others taking their defaults from the exception's defstruct, as
 * `raise module, field: value, ...` does: the module's exception/1 gets the
 * fields as a keyword list, plus `message: "<fn>: <message>"` when `fmt` is
 * not NULL (pass NULL for an exception without a message field, whose
 * message/1 is computed from its fields). The message may show terms with
 * corral_show. From a thread job too (the fields travel with its reply).
 * A name that is not a field of the exception's struct, or an exception/1
 * that refuses the values, gives a RuntimeError saying so. In an Erlang module
 * (CORRAL_ERLANG_MODULE, `module` then an Erlang name such as "frozen")
 * the function raises error:{Module, #{message => ..., Field => Value}}:
 * the fields given, no defaults.
 * Checks: each field has a name of 1..255 bytes (else RuntimeError naming
 *         the field's position: a bug in the NIF). Raises: that exception,
 *         always. Owns: nothing; `text` and atom names are copied. */
CORRAL__NORETURN CORRAL__COLD CORRAL__PRINTF(5, 6) ERL_NIF_TERM
corral_raise_fields(corral_call *c, const char *module, const corral_exception_field *fields, size_t count,
                    const char *fmt, ...);

/* A placeholder for `term` inside the message of a raise: pass it for a %s
 * of corral_raise*, and the exception shows the term there as the caller's
 * own inspect/1 does in an Elixir module (the running Elixir's rules, the
 * user's Inspect implementations), or as Erlang writes it in an Erlang
 * module:  corral_raise_argument(c, "unknown option %s", corral_show(c, key));
 * Anywhere else the text shows nothing useful: it is not a printer.
 * Checks: nothing (any term). Raises: RuntimeError only when out of memory.
 * Owns: the text is scratch memory of the call; the term must stay valid
 *       until the raise (any term of the call is). */
const char *corral_show(corral_call *c, ERL_NIF_TERM term);

/* For tests of out-of-memory paths: makes the n-th allocation Corral makes
 * from now on fail (n >= 1; 0 turns this off), in this library, on any
 * thread: scratch chunks, the cleanup stack's spill, resources, binaries,
 * message and thread-job environments. The failing call raises as on a real
 * failure (RuntimeError "out of memory allocating N bytes") and releases
 * what it holds. Sweep n over a call to check every allocation it makes.
 * Checks: nothing. Raises: never. Owns: nothing (a library-wide setting). */
void corral_fail_allocations_after(long n);

/* Raises an Erlang error with `reason` as is (erlang:error(Reason)), for
 * exception structs built by hand or Erlang-style error terms.
 * Checks: nothing. Raises: the error, always. Owns: nothing. */
CORRAL__NORETURN CORRAL__COLD ERL_NIF_TERM corral_raise_term(corral_call *c, ERL_NIF_TERM reason);

/* Raises RuntimeError "<fn>: out of memory allocating <size> bytes", for C
 * libraries whose allocations fail outside Corral's own helpers.
 * Checks: nothing. Raises: RuntimeError, always. Owns: nothing. */
CORRAL__NORETURN CORRAL__COLD ERL_NIF_TERM corral_raise_oom(corral_call *c, size_t size);

/* Where in C an error was raised. In a build with CORRAL_RAISE_LOCATIONS
 * defined (use Corral defines it in Mix's test environment and in
 * `mode: :debug`; CORRAL_DEBUG implies it; add -DCORRAL_RAISE_LOCATIONS to
 * the cflags elsewhere), the raises above, corral_raise_at, corral_fail,
 * every corral_arg_* read of your C and the argument decoding of a typed
 * declaration note their file and line (a failed argument read: the line of
 * the read, or of the CORRAL_PURE/CORRAL_DEF line). The exception a
 * function of an Elixir module raises then has that place as its top stack
 * frame, above the caller's own:
 *     ** (ArgumentError) MyLib.Native.parse/1: argument 1: expected a binary, got: 1
 *         c_src/mylib/mylib.c:42: MyLib.Native.parse/1
 *         test/mylib_test.exs:8: (test)
 * (thread jobs and isolated modules too; in an Erlang module, the error's
 * top frame, with its error_info). corral_raise_term's reason is raised
 * as it is. Without
 * CORRAL_RAISE_LOCATIONS (release builds) nothing is noted and no call
 * runs an instruction more: the macros at the end of this header are plain
 * calls then. Internal: what those macros call. */
void corral__where_raise(const char *file, int line);
void corral__where_first(const char *file, int line);
void corral__where_read(const char *file, int line);
void corral__where_done(void);

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
 * Terms and where they sit
 *
 * A corral_term is a term together with its route from the arguments, so a
 * check that fails deep inside a list, tuple, map or struct names the spot:
 *
 *     Geo.Native.area/1: argument 1, index 3, field :x: expected a number, got: "1"
 *
 * Getters named corral_get_<kind>(c, t) check a corral_term; each
 * corral_arg_<kind>(c, i) is the same check on argument i. Routes are
 * printed 1-based for arguments (as Elixir counts them) and 0-based for
 * list and tuple indexes (as Enum.at/2 and elem/2 count them).
 *
 * A term found inside a container (a list element, a tuple element, a map
 * value) records its container's route in the call's scratch memory when
 * the container is opened, so the corral_term values themselves can be
 * copied, returned from helper functions and kept in local variables
 * freely until the NIF returns. Opening a container given as an argument
 * costs nothing; opening a nested one costs one small scratch allocation.
 * ======================================================================= */

/* A read-only view of bytes owned by a term. */
typedef struct {
    const unsigned char *data;
    size_t size;
} corral_binary;

/* Internal: one step of a route. `parent` is NULL at the root. */
typedef struct corral__where {
    const struct corral__where *parent;
    uintptr_t step;   /* argument number, index, key term or field name */
    unsigned kind;    /* CORRAL__AT_* */
} corral__where;

#define CORRAL__AT_NONE 0u   /* a term with no route (corral_term_of) */
#define CORRAL__AT_ARG 1u    /* argument <step> (0-based) */
#define CORRAL__AT_INDEX 2u  /* index <step> of a list */
#define CORRAL__AT_KEY 3u    /* the value under key <step> (a term) of a map */
#define CORRAL__AT_MAPKEY 4u /* a key itself (<step> is the key) */
#define CORRAL__AT_FIELD 5u  /* field <step> (a const char * name) of a structure */
#define CORRAL__AT_ELEMENT 7u /* element <step> (0-based, as elem/2) of a tuple */
#define CORRAL__AT_CELL 6u   /* an element of a list walked with corral_list_next: <step> is
                                the list after it, and the parent route (corral__pin_list) keeps
                                the whole list, so its index is counted only to print it */

/* A term and its route. Read `.term` freely; build one only with the
 * functions below. */
typedef struct corral_term {
    ERL_NIF_TERM term;
    corral__where at;
} corral_term;

/* Argument i (0-based) as a corral_term.
 * Checks: i is below the arity. Raises: RuntimeError if it is not (a bug in
 * the NIF). Owns: the term is valid until the NIF returns. */
static inline corral_term corral_arg_term(corral_call *c, int i)
{
    corral_term t = {corral_arg(c, i), {NULL, (uintptr_t)i, CORRAL__AT_ARG}};
    return t;
}

/* Any term (made in the call, received in a message, taken from the raw
 * API) as a corral_term with no route: its messages name no position.
 * Checks: nothing. Raises: never. Owns: the term stays where it was. */
static inline corral_term corral_term_of(ERL_NIF_TERM term)
{
    corral_term t = {term, {NULL, 0, CORRAL__AT_NONE}};
    return t;
}

/* The raising halves of inline checks take a corral_term spread into its
 * four scalars (registers), never the 32-byte struct: a struct argument
 * goes through memory, and GCC then stores every field of a list element
 * on every turn of the loop, whether the check fails or not. */
#define CORRAL__SPREAD(t) (t).term, (t).at.parent, (t).at.step, (t).at.kind
#define CORRAL__SPREAD_PARAMS ERL_NIF_TERM term_, const corral__where *parent_, uintptr_t step_, unsigned kind_
#define CORRAL__GATHERED {term_, {parent_, step_, kind_}}

CORRAL__NORETURN CORRAL__COLD CORRAL__PRINTF(6, 7) ERL_NIF_TERM
corral__raise_at_spread(corral_call *c, CORRAL__SPREAD_PARAMS, const char *expected, ...);
static inline corral_term corral__term_value(corral_term t) { return t; }
static inline corral_term corral__term_deref(const corral_term *t) { return *t; }

/* Raises ArgumentError "<fn>: <route of t>: <expected>, got: <t>" for your
 * own checks, with the same route as Corral's getters ("argument 2, index 0:
 * expected a positive width, got: -3"). `expected` is a printf format.
 * Pass the term (`corral_raise_at(c, x, ...)`) or a pointer to it (`&x`):
 * either way the raising function gets the term's fields as scalars, so a
 * loop over list elements keeps them in registers until a check fails.
 * Checks: nothing. Raises: ArgumentError, always. Owns: nothing. */
#define corral_raise_at(c, t, ...)                                                                  \
    __extension__({                                                                                 \
        const corral_term corral_at_ = _Generic((t), corral_term: corral__term_value,               \
                                                const corral_term *: corral__term_deref,            \
                                                corral_term *: corral__term_deref)(t);              \
        CORRAL__WHERE_RAISE();                                                                      \
        corral__raise_at_spread((c), CORRAL__SPREAD(corral_at_), __VA_ARGS__);                      \
    })

/* Internal: the stable route of a container, for its elements. A list's
 * also keeps the list itself (an argument's is in argv), from which the
 * index of a CORRAL__AT_CELL element is counted when a message needs it. */
const corral__where *corral__pin_slow(corral_call *c, const corral_term *t, bool list);
extern const corral__where corral__arg_where[16];
static inline const corral__where *corral__pin(corral_call *c, const corral_term *t)
{
    if (CORRAL__LIKELY(t->at.kind == CORRAL__AT_ARG && t->at.step < 16)) return &corral__arg_where[t->at.step];
    return corral__pin_slow(c, t, false);
}
static inline const corral__where *corral__pin_list(corral_call *c, const corral_term *t)
{
    if (CORRAL__LIKELY(t->at.kind == CORRAL__AT_ARG && t->at.step < 16)) return &corral__arg_where[t->at.step];
    return corral__pin_slow(c, t, true);
}

/* The kind of any term. */
typedef enum {
    CORRAL_KIND_ATOM = 1,
    CORRAL_KIND_BITSTRING,
    CORRAL_KIND_FLOAT,
    CORRAL_KIND_FUN,
    CORRAL_KIND_INTEGER,
    CORRAL_KIND_LIST,
    CORRAL_KIND_MAP,
    CORRAL_KIND_PID,
    CORRAL_KIND_PORT,
    CORRAL_KIND_REFERENCE,
    CORRAL_KIND_TUPLE
} corral_kind;

/* The kind of `term` (an empty list is a CORRAL_KIND_LIST, a binary a
 * CORRAL_KIND_BITSTRING). Checks: nothing. Raises: never. Owns: nothing. */
corral_kind corral_kind_of(corral_call *c, ERL_NIF_TERM term);

/* Compares two terms in Erlang's term order: negative, 0 or positive as
 * a < b, a == b or a > b, where == is Erlang's == (1 == 1.0; use
 * corral_equal for =:=). Checks: nothing. Raises: never. Owns: nothing. */
static inline int corral_compare(ERL_NIF_TERM a, ERL_NIF_TERM b) { return enif_compare(a, b); }

/* True if a and b are exactly equal (=:=: 1 and 1.0 differ).
 * Checks: nothing. Raises: never. Owns: nothing. */
static inline bool corral_equal(ERL_NIF_TERM a, ERL_NIF_TERM b) { return enif_is_identical(a, b) != 0; }

/* The portable hash of `term`, equal to :erlang.phash2(term): the same on
 * every node and VM version. Checks: nothing. Raises: never. Owns: nothing. */
static inline uint32_t corral_hash(ERL_NIF_TERM term) { return (uint32_t)enif_hash(ERL_NIF_PHASH2, term, 0); }

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

/* corral_arg_index for a typed declaration's parameter, whose position is
 * below the arity by construction. */
static inline size_t corral__typed_index(corral_call *c, int i, size_t n)
{
    ErlNifUInt64 v;
    if (CORRAL__LIKELY(enif_get_uint64(c->env, c->argv[i], &v) && v < n)) return (size_t)v;
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

/* Every other C integer type, checked on the way in and exact on the way
 * out. For each <w> below there are three functions:
 *
 *   <ctype> corral_get_<w>(corral_call *c, corral_term t);
 *   <ctype> corral_arg_<w>(corral_call *c, int i);
 *   ERL_NIF_TERM corral_make_<w>(corral_call *c, <ctype> v);
 *
 *   <w>      C type      accepts
 *   i8       int8_t      -128..127
 *   i16      int16_t     -32768..32767
 *   i32      int32_t     -2147483648..2147483647
 *   u16      uint16_t    0..65535
 *   u32      uint32_t    0..4294967295
 *   long     long        LONG_MIN..LONG_MAX
 *   ulong    unsigned long   0..ULONG_MAX
 *   ssize    ssize_t     SSIZE_MIN..SSIZE_MAX (ptrdiff_t's range)
 *   intptr   intptr_t    INTPTR_MIN..INTPTR_MAX
 *   uintptr  uintptr_t   0..UINTPTR_MAX
 *
 * and corral_get_<w> for the types that already have corral_arg_<w>: i64,
 * u64, int, uint, size, u8 (plus corral_make_u8).
 * Checks: an integer in the type's range (never truncated; floats are
 * refused). Raises: ArgumentError "expected an integer in lo..hi", with
 * the route of t. Owns: plain values; made terms live until the NIF returns. */
/* The cold paths take the term spread (CORRAL__SPREAD), so the hot loops keep it in registers. */
CORRAL__NORETURN CORRAL__COLD void corral__bad_integer_at(corral_call *c, CORRAL__SPREAD_PARAMS, int64_t lo, uint64_t hi);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtype-limits"
#define CORRAL__SIGNED(w, ctype, lo, hi)                                                          \
    static inline bool corral__try_##w(ErlNifEnv *env, ERL_NIF_TERM t, ctype *out)               \
    {                                                                                           \
        /* A 64-bit target is filled by erl_nif itself, with no copy: its own \
         * stack slot, as in a hand-written NIF. */                                           \
        if (_Generic(out, ErlNifSInt64 *: true, default: false))                                \
            return enif_get_int64(env, t, (ErlNifSInt64 *)(void *)out);                         \
        ErlNifSInt64 v;                                                                         \
        if (!(enif_get_int64(env, t, &v) && v >= (lo) && v <= (hi))) return false;              \
        *out = (ctype)v;                                                                        \
        return true;                                                                            \
    }                                                                                           \
    static inline ctype corral_get_##w(corral_call *c, corral_term t)                            \
    {                                                                                           \
        ctype v;                                                                                \
        if (CORRAL__LIKELY(corral__try_##w(c->env, t.term, &v))) return v;                      \
        corral__bad_integer_at(c, CORRAL__SPREAD(t), (int64_t)(lo), (uint64_t)(hi));            \
    }                                                                                           \
    static inline void corral__check_arg_##w(corral_call *c, int i) { (void)corral_get_##w(c, corral_arg_term(c, i)); }
#define CORRAL__UNSIGNED(w, ctype, hi)                                                            \
    static inline bool corral__try_##w(ErlNifEnv *env, ERL_NIF_TERM t, ctype *out)               \
    {                                                                                           \
        if (_Generic(out, ErlNifUInt64 *: true, default: false))                                \
            return enif_get_uint64(env, t, (ErlNifUInt64 *)(void *)out);                        \
        ErlNifUInt64 v;                                                                         \
        if (!(enif_get_uint64(env, t, &v) && v <= (hi))) return false;                          \
        *out = (ctype)v;                                                                        \
        return true;                                                                            \
    }                                                                                           \
    static inline ctype corral_get_##w(corral_call *c, corral_term t)                            \
    {                                                                                           \
        ctype v;                                                                                \
        if (CORRAL__LIKELY(corral__try_##w(c->env, t.term, &v))) return v;                      \
        corral__bad_integer_at(c, CORRAL__SPREAD(t), 0, (uint64_t)(hi));                         \
    }                                                                                           \
    static inline void corral__check_arg_##w(corral_call *c, int i) { (void)corral_get_##w(c, corral_arg_term(c, i)); }
/* The argument getters test the term alone and build its route only to
 * raise (corral__bad_integer), as corral_arg_i64 does. */
#define CORRAL__ARG_AND_MAKE(w, ctype, lo, hi, maker, wide)                                       \
    static inline ctype corral_arg_##w(corral_call *c, int i)                                   \
    {                                                                                           \
        ctype v;                                                                                \
        if (CORRAL__LIKELY(corral__try_##w(c->env, corral_arg(c, i), &v))) return v;            \
        corral__bad_integer(c, i, (int64_t)(lo), (uint64_t)(hi));                               \
    }                                                                                           \
    static inline ERL_NIF_TERM corral_make_##w(corral_call *c, ctype v) { return maker(c->env, (wide)v); }

CORRAL__SIGNED(i8, int8_t, INT8_MIN, INT8_MAX)
CORRAL__SIGNED(i16, int16_t, INT16_MIN, INT16_MAX)
CORRAL__SIGNED(i32, int32_t, INT32_MIN, INT32_MAX)
CORRAL__SIGNED(long, long, LONG_MIN, LONG_MAX)
CORRAL__SIGNED(ssize, ptrdiff_t, PTRDIFF_MIN, PTRDIFF_MAX)
CORRAL__SIGNED(intptr, intptr_t, INTPTR_MIN, INTPTR_MAX)
CORRAL__UNSIGNED(u16, uint16_t, UINT16_MAX)
CORRAL__UNSIGNED(u32, uint32_t, UINT32_MAX)
CORRAL__UNSIGNED(ulong, unsigned long, ULONG_MAX)
CORRAL__UNSIGNED(uintptr, uintptr_t, UINTPTR_MAX)
CORRAL__ARG_AND_MAKE(i8, int8_t, INT8_MIN, INT8_MAX, enif_make_int64, ErlNifSInt64)
CORRAL__ARG_AND_MAKE(i16, int16_t, INT16_MIN, INT16_MAX, enif_make_int64, ErlNifSInt64)
CORRAL__ARG_AND_MAKE(i32, int32_t, INT32_MIN, INT32_MAX, enif_make_int64, ErlNifSInt64)
CORRAL__ARG_AND_MAKE(long, long, LONG_MIN, LONG_MAX, enif_make_int64, ErlNifSInt64)
CORRAL__ARG_AND_MAKE(ssize, ptrdiff_t, PTRDIFF_MIN, PTRDIFF_MAX, enif_make_int64, ErlNifSInt64)
CORRAL__ARG_AND_MAKE(intptr, intptr_t, INTPTR_MIN, INTPTR_MAX, enif_make_int64, ErlNifSInt64)
CORRAL__ARG_AND_MAKE(u16, uint16_t, 0, UINT16_MAX, enif_make_uint64, ErlNifUInt64)
CORRAL__ARG_AND_MAKE(u32, uint32_t, 0, UINT32_MAX, enif_make_uint64, ErlNifUInt64)
CORRAL__ARG_AND_MAKE(ulong, unsigned long, 0, ULONG_MAX, enif_make_uint64, ErlNifUInt64)
CORRAL__ARG_AND_MAKE(uintptr, uintptr_t, 0, UINTPTR_MAX, enif_make_uint64, ErlNifUInt64)
CORRAL__SIGNED(i64, int64_t, INT64_MIN, INT64_MAX)
CORRAL__UNSIGNED(u64, uint64_t, UINT64_MAX)
CORRAL__SIGNED(int, int, INT_MIN, INT_MAX)
CORRAL__UNSIGNED(uint, unsigned, UINT_MAX)
CORRAL__UNSIGNED(size, size_t, SIZE_MAX)
CORRAL__UNSIGNED(u8, uint8_t, UINT8_MAX)
#pragma GCC diagnostic pop

/* A term for a byte. Checks: nothing. Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_u8(corral_call *c, uint8_t v) { return enif_make_uint(c->env, v); }

#ifdef __SIZEOF_INT128__
/* 128-bit integers (where the compiler has __int128: gcc and clang on
 * 64-bit targets): big integers in and out, without a detour through bytes.
 * Checks: an integer in the type's range. Raises: ArgumentError ("expected
 * an integer in -2^127..2^127-1" / "0..2^128-1") with the route of t.
 * Owns: plain values. */
__int128 corral_get_i128(corral_call *c, corral_term t);

/* Checks: an integer in 0..2^128-1. Raises: ArgumentError.
 * Owns: a plain value. */
unsigned __int128 corral_get_u128(corral_call *c, corral_term t);

/* A term for any __int128 (a big integer beyond 64 bits).
 * Checks: nothing. Raises: RuntimeError on out of memory.
 * Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_make_i128(corral_call *c, __int128 v);

/* Checks: nothing. Raises: RuntimeError on out of memory.
 * Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_make_u128(corral_call *c, unsigned __int128 v);
#endif

/* An integer of any size as its magnitude in little-endian bytes, for big
 * number libraries (GMP's mpz_import/export with order -1, OpenSSL's
 * BN_lebin2bn): `size` bytes without leading zero bytes (0 has size 0),
 * *negative set for integers below 0.
 * Checks: an integer. Raises: ArgumentError ("expected an integer").
 * Owns: the bytes are scratch memory of the call. */
corral_binary corral_get_bigint(corral_call *c, corral_term t, bool *negative);

/* The integer whose magnitude is the `size` little-endian bytes at
 * `bytes`, negated when `negative` (leading zero bytes are fine).
 * Checks: the VM accepts an integer that large. Raises: RuntimeError if
 * not, or on out of memory. Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_make_bigint(corral_call *c, bool negative, const void *bytes, size_t size);

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

CORRAL__NORETURN CORRAL__COLD void corral__bad_double_at(corral_call *c, CORRAL__SPREAD_PARAMS);

/* A term as a double, with the same rule as corral_arg_double (integers in
 * the 64-bit range are accepted and converted).
 * Checks: a float or such an integer. Raises: ArgumentError ("expected a
 * number") with the route of t. Owns: a plain value. */
static inline double corral_get_double(corral_call *c, corral_term t)
{
    double d;
    ErlNifSInt64 v;
    if (CORRAL__LIKELY(enif_get_double(c->env, t.term, &d))) return d;
    if (enif_get_int64(c->env, t.term, &v)) return (double)v;
    corral__bad_double_at(c, CORRAL__SPREAD(t));
}

/* A term as a float (single precision), rounded to nearest.
 * Checks: a number as for corral_get_double whose magnitude fits a float
 * (at most FLT_MAX); tiny values round towards 0.
 * Raises: ArgumentError with the route of t. Owns: a plain value. */
float corral_get_float(corral_call *c, corral_term t);

/* Argument i as a float: corral_get_float on argument i.
 * Checks: as corral_get_float. Raises: ArgumentError. Owns: a plain value. */
static inline float corral_arg_float(corral_call *c, int i) { return corral_get_float(c, corral_arg_term(c, i)); }

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

/* A term as the position of an atom in `table` (corral_arg_enum on a term).
 * Checks: an atom listed in the table. Raises: ArgumentError listing the
 * allowed atoms, with the route of t. Owns: a plain value. */
unsigned corral_get_enum(corral_call *c, corral_term t, const corral_atoms *table);

/* A term as a boolean. Checks: true or false. Raises: ArgumentError with
 * the route of t. Owns: a plain value. */
bool corral_get_bool(corral_call *c, corral_term t);

/* True if the term is nil (Elixir's "no value"), for optional arguments.
 * Checks: nothing. Raises: never. Owns: nothing. */
static inline bool corral_is_nil(ERL_NIF_TERM term) { return term == corral__atom_nil; }

extern ERL_NIF_TERM corral__atom_undefined;

/* True if the term is the atom undefined (Erlang's "no value").
 * Checks: nothing. Raises: never. Owns: nothing. */
static inline bool corral_is_undefined(ERL_NIF_TERM term) { return term == corral__atom_undefined; }

/* The atom undefined. Checks: nothing. Raises: never. Owns: atoms are permanent. */
static inline ERL_NIF_TERM corral_make_undefined(corral_call *c)
{
    (void)c;
    return corral__atom_undefined;
}

/* The name of any atom as a NUL-terminated UTF-8 string ("ok", "Elixir.Foo",
 * "é"). Checks: an atom. Raises: ArgumentError ("expected an atom") with
 * the route of t. Owns: scratch memory of the call. */
const char *corral_get_atom_name(corral_call *c, corral_term t);

/* The atom named by the NUL-terminated UTF-8 string `name`. Atoms are never
 * freed: make atoms from a fixed set of names (or use CORRAL_ATOMS), never
 * from unbounded input, or the atom table fills up and the VM stops.
 * Checks: name is valid UTF-8 of at most 255 characters.
 * Raises: ArgumentError naming the problem. Owns: atoms are permanent. */
ERL_NIF_TERM corral_make_atom(corral_call *c, const char *name);

/* The atom named `name` if it already exists; false (leaving *out alone)
 * if it does not or the name is not a valid atom name: safe on untrusted
 * input. Checks: as corral_make_atom. Raises: never. Owns: atoms are permanent. */
bool corral_make_existing_atom(corral_call *c, const char *name, ERL_NIF_TERM *out);

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

/* A binary the NIF owns while it writes it, for output whose size is known
 * only at the end (compression, encoding): allocated once, grown or shrunk
 * in place where the allocator can, and handed to the VM without a copy.
 * Read and write `data` (valid until the next resize) and `size`. */
typedef struct corral_owned_binary {
    unsigned char *data;
    size_t size;
    ErlNifBinary bin;      /* internal */
    corral_defer_id owner; /* internal: the cleanup that frees it */
    bool handed;           /* internal */
} corral_owned_binary;

/* Starts an owned binary of `size` bytes (not zeroed).
 * Checks: size is within what the VM can get (see corral_new_binary).
 * Raises: ArgumentError for a size beyond the VM's memory, RuntimeError when
 * the memory is not there now.
 * Owns: the handle and the bytes belong to the call: it frees the bytes when
 * it returns or raises, unless corral_owned_finish handed them to the VM. */
corral_owned_binary *corral_owned_new(corral_call *c, size_t size);

/* Resizes b to `size` bytes, keeping the first bytes (as realloc does) and
 * updating b->data and b->size.
 * Checks: b is still owned (not finished); size as corral_owned_new.
 * Raises: RuntimeError (finished, or out of memory; b stays as it was and is
 * freed with the call); ArgumentError for an impossible size.
 * Owns: as corral_owned_new. */
unsigned char *corral_owned_resize(corral_call *c, corral_owned_binary *b, size_t size);

/* The first `size` bytes of b as a binary term, without a copy (b shrinks
 * to `size` first). b is finished: its bytes now belong to the term.
 * Checks: b is still owned; size is at most b->size.
 * Raises: RuntimeError otherwise. Owns: the term owns the bytes; it lives
 * until the NIF returns. */
ERL_NIF_TERM corral_owned_finish(corral_call *c, corral_owned_binary *b, size_t size);

/* A term as a zero-copy view of a binary (corral_arg_binary on a term).
 * Checks: a binary. Raises: ArgumentError with the route of t.
 * Owns: the term; valid until the NIF returns; never write through it. */
corral_binary corral_get_binary(corral_call *c, corral_term t);

/* A term as iodata flattened to bytes (corral_arg_iodata on a term).
 * Checks: a binary or an iolist. Raises: ArgumentError with the route of t.
 * Owns: the call's env; valid until the NIF returns. */
corral_binary corral_get_iodata(corral_call *c, corral_term t);

/* A part of a binary, sharing its bytes (no copy): `size` bytes from `pos`.
 * Checks: bin is a binary and pos..pos+size lies inside it.
 * Raises: RuntimeError if not (the NIF computed a bad range: check
 * positions that come from arguments with corral_arg_index first).
 * Owns: the new term keeps the bytes alive; it lives until the NIF returns. */
ERL_NIF_TERM corral_make_sub_binary(corral_call *c, ERL_NIF_TERM bin, size_t pos, size_t size);

/* Argument i as a UTF-8 string (an Elixir string): a zero-copy view.
 * Checks: a binary holding valid UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF). Raises: ArgumentError naming the byte offset of
 * the first invalid byte. Owns: as corral_arg_binary. */
corral_binary corral_arg_string(corral_call *c, int i);

/* A term as a UTF-8 string (corral_arg_string on a term).
 * Checks: as corral_arg_string. Raises: ArgumentError with the route of t.
 * Owns: as corral_arg_binary. */
corral_binary corral_get_string(corral_call *c, corral_term t);

/* Argument i as a NUL-terminated copy of a UTF-8 string, for C libraries
 * that want `const char *`.
 * Checks: as corral_arg_string, and no NUL byte inside (it would cut the
 * string short). Raises: ArgumentError naming the offset.
 * Owns: scratch memory of the call. */
const char *corral_arg_cstring(corral_call *c, int i);

/* A term as a NUL-terminated UTF-8 copy (corral_arg_cstring on a term).
 * Checks: as corral_arg_cstring. Raises: ArgumentError with the route of t.
 * Owns: scratch memory of the call. */
const char *corral_get_cstring(corral_call *c, corral_term t);

/* A charlist (a list of Unicode code points, Erlang's strings: 'abc',
 * ~c"abc") encoded as UTF-8, NUL-terminated after `size` bytes.
 * Checks: a proper list of integers in 0..0x10FFFF that are not surrogates.
 * Raises: ArgumentError naming the index of the bad element.
 * Owns: scratch memory of the call. */
corral_binary corral_get_charlist(corral_call *c, corral_term t);

/* Argument i as a charlist (corral_get_charlist on argument i).
 * Checks: as corral_get_charlist. Raises: ArgumentError.
 * Owns: scratch memory of the call. */
static inline corral_binary corral_arg_charlist(corral_call *c, int i)
{
    return corral_get_charlist(c, corral_arg_term(c, i));
}

/* A string (binary) holding a copy of the NUL-terminated `s`.
 * Checks: nothing about the bytes (Erlang binaries may hold anything).
 * Raises: RuntimeError on out of memory. Owns: the term owns its copy. */
ERL_NIF_TERM corral_make_string(corral_call *c, const char *s);

/* A charlist of the code points of `size` bytes of UTF-8 at `utf8`.
 * Checks: the bytes are valid UTF-8. Raises: RuntimeError naming the
 * offset of the first invalid byte (the NIF produced bad text).
 * Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_make_charlist(corral_call *c, const char *utf8, size_t size);

/* The offset of the first byte that is not valid UTF-8 in `size` bytes at
 * `data`, or `size` if all of it is valid.
 * Checks: nothing. Raises: never. Owns: nothing. */
size_t corral_utf8_valid_prefix(const void *data, size_t size);

/* }====================================================================== */

/* {======================================================================
 * Lists
 *
 *     corral_list l = corral_arg_list(c, 0);
 *     corral_term x;
 *     int64_t sum = 0;
 *     while (corral_list_next(c, &l, &x)) sum += corral_get_i64(c, x);
 *
 * A list is checked as it is walked: an improper tail raises when the walk
 * reaches it ("expected a proper list, got: [1, 2 | 3]"), so a walk costs
 * one pass. Elements are routed as "index N".
 * ======================================================================= */

/* A cursor over a list. */
typedef struct {
    ERL_NIF_TERM list;            /* the whole list, for messages */
    ERL_NIF_TERM rest;            /* what is left to walk */
    size_t index;                 /* the index of the next element */
    const corral__where *at;      /* the list's route */
} corral_list;

CORRAL__NORETURN CORRAL__COLD void corral__not_list(corral_call *c, CORRAL__SPREAD_PARAMS);
CORRAL__NORETURN CORRAL__COLD void corral__improper_list(corral_call *c, ERL_NIF_TERM list, const corral__where *at);

/* A cursor at the start of a list.
 * Checks: t is a list (empty or not; properness is checked by the walk).
 * Raises: ArgumentError ("expected a list") with the route of t.
 * Owns: the cursor reads the term; use it until the NIF returns. */
static inline corral_list corral_get_list(corral_call *c, corral_term t)
{
    if (CORRAL__UNLIKELY(!enif_is_list(c->env, t.term))) corral__not_list(c, CORRAL__SPREAD(t));
    corral_list l = {t.term, t.term, 0, corral__pin_list(c, &t)};
    return l;
}

/* A cursor over argument i. Checks: as corral_get_list. Raises: ArgumentError.
 * Owns: as corral_get_list. */
static inline corral_list corral_arg_list(corral_call *c, int i) { return corral_get_list(c, corral_arg_term(c, i)); }

/* Moves to the next element: true and *out set, or false at the end.
 * Checks: the list is proper (when the walk reaches its tail).
 * Raises: ArgumentError ("expected a proper list") with the list's route.
 * Owns: *out is valid until the NIF returns. */
static inline bool corral_list_next(corral_call *c, corral_list *l, corral_term *out)
{
    ERL_NIF_TERM head, tail;
    /* "> 0", not "!= 0": knowing the result is 0 at the end of a walk, GCC
     * kept it in a register on every turn to reuse as a constant zero. */
    if (CORRAL__LIKELY(enif_get_list_cell(c->env, l->rest, &head, &tail) > 0)) {
        /* The route holds the rest of the list, already in a register,
         * rather than a counter kept for messages that may never come. */
        out->term = head;
        out->at.parent = l->at;
        out->at.step = (uintptr_t)tail;
        out->at.kind = CORRAL__AT_CELL;
        l->index++;
        l->rest = tail;
        return true;
    }
    if (CORRAL__LIKELY(enif_is_empty_list(c->env, l->rest))) return false;
    corral__improper_list(c, l->list, l->at);
}

/* The number of elements of a list (one pass, without consuming the cursor).
 * Checks: the list is proper. Raises: ArgumentError ("expected a proper
 * list") with the list's route. Owns: a plain value. */
size_t corral_list_length(corral_call *c, const corral_list *l);

/* The C types that lists convert to and from in one call. */
typedef enum {
    CORRAL_I8 = 1, CORRAL_I16, CORRAL_I32, CORRAL_I64,
    CORRAL_U8, CORRAL_U16, CORRAL_U32, CORRAL_U64,
    CORRAL_INT, CORRAL_UINT, CORRAL_LONG, CORRAL_ULONG,
    CORRAL_SIZE, CORRAL_SSIZE, CORRAL_INTPTR, CORRAL_UINTPTR,
    CORRAL_FLOAT, CORRAL_DOUBLE, CORRAL_BOOL,
    CORRAL_TERM,      /* ERL_NIF_TERM, unchecked */
    CORRAL_BINARY,    /* corral_binary: a zero-copy view of a binary */
    CORRAL_STRING,    /* corral_binary: a UTF-8 string */
    CORRAL_CSTRING,   /* const char *: a NUL-terminated UTF-8 copy */
    /* In structure descriptions only (they need more than a C type): */
    CORRAL_ENUM,      /* unsigned: an atom of a CORRAL_ATOMS table */
    CORRAL_STRUCT,    /* a nested structure (or union) */
    CORRAL_ARRAY      /* a pointer + count field: a list */
} corral_type;

/* The size in bytes of one C value of a type (0 for the structure-only ones).
 * Checks: nothing. Raises: never. Owns: nothing. */
size_t corral_type_size(corral_type type);

/* A whole list converted to a C array of `type` (CORRAL_I8..CORRAL_CSTRING)
 * in one call; *count receives the number of elements.
 * Checks: a proper list whose every element converts (as the matching
 * corral_get_<type>). Raises: ArgumentError naming the bad element's index.
 * Owns: the array is scratch memory of the call (NULL for an empty list). */
void *corral_get_array(corral_call *c, corral_term t, corral_type type, size_t *count);

/* A list built from `count` C values of `type` at `values` in one call
 * (CORRAL_I8..CORRAL_CSTRING; CORRAL_BINARY and CORRAL_STRING copy the bytes).
 * Checks: type is one of those; floats are finite. Raises: RuntimeError
 * (bad type), ArithmeticError (NaN or infinity). Owns: the term lives
 * until the NIF returns. */
ERL_NIF_TERM corral_make_array(corral_call *c, corral_type type, const void *values, size_t count);

/* A list of `count` terms. Checks: nothing. Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_list(corral_call *c, const ERL_NIF_TERM *terms, size_t count)
{
    return enif_make_list_from_array(c->env, terms, (unsigned)count);
}

/* [head | tail]. Checks: nothing. Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_list_cell(corral_call *c, ERL_NIF_TERM head, ERL_NIF_TERM tail)
{
    return enif_make_list_cell(c->env, head, tail);
}

/* The empty list []. Checks: nothing. Raises: never. Owns: permanent. */
static inline ERL_NIF_TERM corral_make_empty_list(corral_call *c) { return enif_make_list(c->env, 0); }

/* A list in reverse order: build with corral_make_list_cell from the front,
 * then reverse once. Checks: list is a proper list. Raises: RuntimeError
 * if it is not (a bug in the NIF). Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_make_reverse_list(corral_call *c, ERL_NIF_TERM list);

/* }====================================================================== */

/* {======================================================================
 * Tuples
 * ======================================================================= */

/* A checked tuple: its elements and its route. */
typedef struct {
    ERL_NIF_TERM tuple;
    const ERL_NIF_TERM *elements;
    int arity;
    const corral__where *at;
} corral_tuple;

/* A term as a tuple of `arity` elements (-1 for any arity).
 * Checks: a tuple of that arity. Raises: ArgumentError ("expected a tuple
 * of 2 elements") with the route of t. Owns: valid until the NIF returns. */
corral_tuple corral_get_tuple(corral_call *c, corral_term t, int arity);

/* Argument i as a tuple. Checks: as corral_get_tuple. Raises: ArgumentError.
 * Owns: as corral_get_tuple. */
static inline corral_tuple corral_arg_tuple(corral_call *c, int i, int arity)
{
    return corral_get_tuple(c, corral_arg_term(c, i), arity);
}

CORRAL__NORETURN CORRAL__COLD void corral__bad_tuple_index(corral_call *c, const corral_tuple *tp, int k);

/* Element k (0-based) of a checked tuple, routed as "element k".
 * Checks: k is below the arity. Raises: RuntimeError if not (a bug in the
 * NIF: the arity was checked by corral_get_tuple). Owns: valid until the NIF returns. */
static inline corral_term corral_tuple_get(corral_call *c, const corral_tuple *tp, int k)
{
    if (CORRAL__UNLIKELY((unsigned)k >= (unsigned)tp->arity)) corral__bad_tuple_index(c, tp, k);
    corral_term t = {tp->elements[k], {tp->at, (uintptr_t)k, CORRAL__AT_ELEMENT}};
    return t;
}

/* A tuple of `count` terms. Checks: nothing. Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_tuple(corral_call *c, const ERL_NIF_TERM *terms, size_t count)
{
    return enif_make_tuple_from_array(c->env, terms, (unsigned)count);
}

/* {a, b} and {a, b, c}. Checks: nothing. Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_pair(corral_call *c, ERL_NIF_TERM a, ERL_NIF_TERM b)
{
    return enif_make_tuple2(c->env, a, b);
}

/* Checks: nothing. Raises: never. Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_triple(corral_call *c, ERL_NIF_TERM a, ERL_NIF_TERM b, ERL_NIF_TERM d)
{
    return enif_make_tuple3(c->env, a, b, d);
}

/* }====================================================================== */

/* {======================================================================
 * Maps
 *
 *     corral_map m = corral_arg_map(c, 0);
 *     double x = corral_get_double(c, corral_map_get(c, &m, corral_atom(&keys, KEY_X)));
 *
 * Values are routed as "key <key>" ("argument 1, key :x: expected a number").
 * ======================================================================= */

/* A checked map and its route. */
typedef struct {
    ERL_NIF_TERM map;
    const corral__where *at;
} corral_map;

/* A term as a map. Checks: a map. Raises: ArgumentError ("expected a map")
 * with the route of t. Owns: valid until the NIF returns. */
corral_map corral_get_map(corral_call *c, corral_term t);

/* Argument i as a map. Checks: as corral_get_map. Raises: ArgumentError.
 * Owns: as corral_get_map. */
static inline corral_map corral_arg_map(corral_call *c, int i) { return corral_get_map(c, corral_arg_term(c, i)); }

/* The value under `key`.
 * Checks: the key is present. Raises: ArgumentError ("missing key :name in
 * %{...}") with the map's route. Owns: valid until the NIF returns. */
corral_term corral_map_get(corral_call *c, const corral_map *m, ERL_NIF_TERM key);

/* The value under `key` if present: true and *out set, else false.
 * Checks: nothing. Raises: never. Owns: *out is valid until the NIF returns. */
bool corral_map_find(corral_call *c, const corral_map *m, ERL_NIF_TERM key, corral_term *out);

/* The number of keys. Checks: nothing. Raises: never. Owns: a plain value. */
size_t corral_map_size(corral_call *c, const corral_map *m);

/* A walk over a map's keys and values (in the VM's order). */
typedef struct corral_map_iter corral_map_iter;

/* Starts a walk. Checks: nothing (the map was checked).
 * Raises: RuntimeError on out of memory.
 * Owns: the call: the walk is released when it ends or the call returns or raises. */
corral_map_iter *corral_map_iterate(corral_call *c, const corral_map *m);

/* The next key and value: true, or false at the end (the walk is then
 * released). Keys are routed as "a key", values as "key <key>".
 * Checks: the walk has not ended. Raises: RuntimeError if it has (a bug).
 * Owns: *key and *value are valid until the NIF returns. */
bool corral_map_next(corral_call *c, corral_map_iter *it, corral_term *key, corral_term *value);

/* An empty map. Checks: nothing. Raises: never.
 * Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_map(corral_call *c) { return enif_make_new_map(c->env); }

/* A map from `count` keys and values.
 * Checks: no key appears twice. Raises: RuntimeError naming a duplicate
 * key (a bug in the NIF). Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_make_map_from(corral_call *c, const ERL_NIF_TERM *keys, const ERL_NIF_TERM *values,
                                  size_t count);

/* `map` with key set to value (added or replaced); the original is unchanged.
 * Checks: map is a map. Raises: RuntimeError if not (a bug in the NIF).
 * Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_map_put(corral_call *c, ERL_NIF_TERM map, ERL_NIF_TERM key, ERL_NIF_TERM value);

/* `map` with the existing key's value replaced.
 * Checks: map is a map that has the key. Raises: RuntimeError if not.
 * Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_map_update(corral_call *c, ERL_NIF_TERM map, ERL_NIF_TERM key, ERL_NIF_TERM value);

/* `map` without key (unchanged if the key is absent).
 * Checks: map is a map. Raises: RuntimeError if not.
 * Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_map_remove(corral_call *c, ERL_NIF_TERM map, ERL_NIF_TERM key);

/* }====================================================================== */

/* {======================================================================
 * Structures, declared once
 *
 * A C struct described by a table of fields converts to and from an
 * Elixir struct, a map with atom keys, an Erlang record or a tuple, with
 * nested structures and lists of them:
 *
 *     typedef struct { double x, y; } Point;
 *     CORRAL_STRUCT(point_shape, Point, CORRAL_AS_STRUCT("Elixir.Geo.Point"),
 *         CORRAL_FIELD(Point, x, CORRAL_DOUBLE),
 *         CORRAL_FIELD(Point, y, CORRAL_DOUBLE));
 *
 *     Point p;
 *     corral_arg_struct(c, 0, &point_shape, &p);        // %Geo.Point{x: 1.0, y: 2.0}
 *     return corral_make_struct(c, &point_shape, &p);
 *
 * A tagged union (a C enum tag + a union) converts to and from {:tag, value}
 * (or a bare :tag for a variant without a value):
 *
 *     typedef struct { unsigned kind; union { double radius; Point corner; } as; } Shape;
 *     CORRAL_UNION(shape_shape, Shape, kind,
 *         CORRAL_VARIANT(Shape, "circle", as.radius, CORRAL_DOUBLE),
 *         CORRAL_VARIANT_STRUCT(Shape, "square", as.corner, &point_shape),
 *         CORRAL_VARIANT_EMPTY("empty"));
 *
 * Checks going in: the shape (struct module, record tag, tuple arity),
 * every field present, no extra keys, every value of its type; a failure
 * names the route: "argument 1, index 2, field :x: expected a number, got: \"1\"".
 * Strings, arrays and nested arrays are placed in the call's scratch
 * memory. The field table is checked against the C struct at compile time
 * (the member's size must match the declared type) and the names are
 * interned when the library loads.
 * ======================================================================= */

/* The Erlang side of a structure. */
#define CORRAL__AS_STRUCT 1
#define CORRAL__AS_MAP 2
#define CORRAL__AS_RECORD 3
#define CORRAL__AS_TUPLE 4
#define CORRAL__AS_UNION 5

/* Internal: one field (or one union variant). */
typedef struct corral_field {
    const char *name;               /* key / variant tag */
    corral_type type;
    size_t offset;                  /* of the member */
    size_t count_offset;            /* CORRAL_ARRAY: of the size_t count member;
                                       CORRAL_STRUCT: the member's size */
    corral_type element;            /* CORRAL_ARRAY: the element type */
    const void *detail;             /* CORRAL_ENUM: atoms table; CORRAL_STRUCT (or element): shape */
    bool empty;                     /* a union variant without a value */
    ERL_NIF_TERM atom;              /* the name, interned at load */
} corral_field;

/* A description made by CORRAL_STRUCT or CORRAL_UNION. */
typedef struct corral_struct {
    const char *c_name;             /* "Point", for messages */
    int as;                         /* CORRAL__AS_* */
    const char *tag;                /* struct module or record tag */
    size_t size;                    /* sizeof the C type */
    size_t tag_offset;              /* unions: of the unsigned tag member */
    corral_field *fields;
    unsigned count;
    ERL_NIF_TERM tag_atom;          /* interned at load */
    struct corral_struct *next;
    bool flat;                      /* set at load: a struct or map of doubles and
                                       64-bit integers only (struct.c's fast paths) */
    bool dense;                     /* set at load: flat, and its fields fill every byte */
    const struct corral__flat_loops *loops; /* CORRAL_STRUCT's own loops, used when flat */
} corral_struct;

void corral__register_struct(corral_struct *s);

/* {----------------------------------------------------------------------
 * Internal: the conversions of a flat shape (a struct or map of doubles
 * and 64-bit integers), compiled once per CORRAL_STRUCT.
 *
 * struct.c's generic walk reads the field table at run time (its atoms are
 * made at load), so it cannot be unrolled per shape. CORRAL_STRUCT keeps a
 * second, constant copy of its rows, and the functions below, inlined into
 * loops of its own with that copy, compile to straight-line code for the
 * shape: offsets and types are constants, only the key atoms are read from
 * the table. An element these fast tests refuse (an integer for a double, a
 * missing or extra key, a float that is not finite going out) is handed to
 * the generic walk, which decodes it or raises its exact message.
 * ---------------------------------------------------------------------- */

typedef struct corral__flat_loops {
    bool (*flat)(void); /* whether the shape is flat: the one test, made on the constant rows */
    bool (*get_one)(ErlNifEnv *env, ERL_NIF_TERM term, const corral_struct *s, void *out);
    void (*get_list)(corral_call *c, ERL_NIF_TERM list, corral__where *here, const corral_struct *s, void *out);
    ERL_NIF_TERM (*make_list)(corral_call *c, const corral_struct *s, const void *in, size_t count);
} corral__flat_loops;

extern ERL_NIF_TERM corral__atom_struct;
/* The generic walk of one element (struct.c), for what the fast tests refuse. */
CORRAL__COLD void corral__get_shape(corral_call *c, ERL_NIF_TERM term, const corral__where *at, const corral_struct *s,
                                    void *out);
CORRAL__COLD ERL_NIF_TERM corral__make_shape(corral_call *c, const corral_struct *s, const void *in);

#define CORRAL__FLAT_MAX 15 /* fields of a flat shape (keys: one more for __struct__) */

/* True when every row is a double or a 64-bit integer: a constant once
 * inlined with a constant table. */
static inline __attribute__((always_inline)) bool corral__rows_flat(const corral_field *rows, unsigned n, int as)
{
    if ((as != CORRAL__AS_STRUCT && as != CORRAL__AS_MAP) || n == 0 || n > CORRAL__FLAT_MAX) return false;
    for (unsigned k = 0; k < n; k++)
        if (rows[k].type != CORRAL_DOUBLE && rows[k].type != CORRAL_I64) return false;
    return true;
}

static inline __attribute__((always_inline)) bool corral__flat_get(ErlNifEnv *env, ERL_NIF_TERM term,
                                                                   const corral_struct *s, const corral_field *rows,
                                                                   unsigned n, int as, unsigned char *out)
{
    ERL_NIF_TERM v;
    size_t size;
    if (!corral__rows_flat(rows, n, as)) return false;
    if (as == CORRAL__AS_STRUCT && (!enif_get_map_value(env, term, corral__atom_struct, &v) || v != s->tag_atom))
        return false;
#pragma GCC unroll 16
    for (unsigned k = 0; k < n; k++) {
        if (!enif_get_map_value(env, term, s->fields[k].atom, &v)) return false;
        if (rows[k].type == CORRAL_DOUBLE) {
            double d;
            if (!enif_get_double(env, v, &d)) return false;
            __builtin_memcpy(out + rows[k].offset, &d, sizeof d);
        } else {
            ErlNifSInt64 i;
            if (!enif_get_int64(env, v, &i)) return false;
            __builtin_memcpy(out + rows[k].offset, &i, sizeof i);
        }
    }
    return enif_get_map_size(env, term, &size) && size == n + (as == CORRAL__AS_STRUCT);
}

static inline __attribute__((always_inline)) void corral__flat_get_list(corral_call *c, ERL_NIF_TERM rest,
                                                                        corral__where *here, const corral_struct *s,
                                                                        const corral_field *rows, unsigned n, int as,
                                                                        size_t size, unsigned char *out)
{
    ERL_NIF_TERM head;
    while (enif_get_list_cell(c->env, rest, &head, &rest)) {
        if (CORRAL__UNLIKELY(!corral__flat_get(c->env, head, s, rows, n, as, out))) corral__get_shape(c, head, here, s, out);
        here->step++;
        out += size;
    }
}

static inline __attribute__((always_inline)) bool corral__flat_make(ErlNifEnv *env, const corral_field *rows,
                                                                    unsigned n, unsigned extra,
                                                                    const unsigned char *e, ERL_NIF_TERM *keys,
                                                                    ERL_NIF_TERM *values, ERL_NIF_TERM *map)
{
#pragma GCC unroll 16
    for (unsigned k = 0; k < n; k++) {
        if (rows[k].type == CORRAL_DOUBLE) {
            double d;
            __builtin_memcpy(&d, e + rows[k].offset, sizeof d);
            if (!__builtin_isfinite(d)) return false;
            values[k + extra] = enif_make_double(env, d);
        } else {
            int64_t v;
            __builtin_memcpy(&v, e + rows[k].offset, sizeof v);
            values[k + extra] = enif_make_int64(env, v);
        }
    }
    return enif_make_map_from_arrays(env, keys, values, n + extra, map);
}

static inline __attribute__((always_inline)) ERL_NIF_TERM corral__flat_make_list(corral_call *c,
                                                                                const corral_struct *s,
                                                                                const corral_field *rows, unsigned n,
                                                                                int as, size_t size,
                                                                                const unsigned char *in, size_t count)
{
    ERL_NIF_TERM keys[CORRAL__FLAT_MAX + 1], values[CORRAL__FLAT_MAX + 1], map, list = enif_make_list(c->env, 0);
    const unsigned extra = as == CORRAL__AS_STRUCT;
    if (!corral__rows_flat(rows, n, as)) {
        /* Not called for such a shape (struct.c asks flat() first); the
         * generic walk keeps the function right for any shape. */
        for (size_t i = count; i-- > 0;) list = enif_make_list_cell(c->env, corral__make_shape(c, s, in + i * size), list);
        return list;
    }
    if (extra) {
        keys[0] = corral__atom_struct;
        values[0] = s->tag_atom;
    }
    for (unsigned k = 0; k < n; k++) keys[k + extra] = s->fields[k].atom;
    for (size_t i = count; i-- > 0;) {
        const unsigned char *e = in + i * size;
        if (CORRAL__UNLIKELY(!corral__flat_make(c->env, rows, n, extra, e, keys, values, &map)))
            map = corral__make_shape(c, s, e);
        list = enif_make_list_cell(c->env, map, list);
    }
    return list;
}

/* The first of a CORRAL_AS_* pair: the kind. */
#define CORRAL__AS_KIND(...) CORRAL__AS_KIND_(__VA_ARGS__, 0)
#define CORRAL__AS_KIND_(kind, ...) (kind)

/* The loops of one CORRAL_STRUCT, over the constant copy of its rows (the
 * variadic tail is its `as`, two macro arguments once expanded). */
#define CORRAL__FLAT_LOOPS(shape, T, ...)                                                           \
    static bool shape##__flat_get_one(ErlNifEnv *env, ERL_NIF_TERM term, const corral_struct *s, void *out) \
    {                                                                                               \
        return corral__flat_get(env, term, s, shape##__rows, sizeof shape##__rows / sizeof(corral_field), \
                                CORRAL__AS_KIND(__VA_ARGS__), out);                                          \
    }                                                                                               \
    static void shape##__flat_get_list(corral_call *c, ERL_NIF_TERM list, corral__where *here,      \
                                       const corral_struct *s, void *out)                           \
    {                                                                                               \
        corral__flat_get_list(c, list, here, s, shape##__rows, sizeof shape##__rows / sizeof(corral_field), \
                              CORRAL__AS_KIND(__VA_ARGS__), sizeof(T), out);                                 \
    }                                                                                               \
    static ERL_NIF_TERM shape##__flat_make_list(corral_call *c, const corral_struct *s, const void *in, \
                                                size_t count)                                       \
    {                                                                                               \
        return corral__flat_make_list(c, s, shape##__rows, sizeof shape##__rows / sizeof(corral_field), \
                                      CORRAL__AS_KIND(__VA_ARGS__), sizeof(T), in, count);                   \
    }                                                                                               \
    static bool shape##__flat(void)                                                                 \
    {                                                                                               \
        return corral__rows_flat(shape##__rows, sizeof shape##__rows / sizeof(corral_field),       \
                                 CORRAL__AS_KIND(__VA_ARGS__));                                     \
    }                                                                                               \
    static const corral__flat_loops shape##__loops = {shape##__flat, shape##__flat_get_one,         \
                                                      shape##__flat_get_list, shape##__flat_make_list}

/* The Erlang side, as the third argument of CORRAL_STRUCT:
 * an Elixir struct of module `module` ("Elixir.Geo.Point");
 * Checks: nothing. Raises: never. Owns: static. */
#define CORRAL_AS_STRUCT(module) CORRAL__AS_STRUCT, module
/* a plain map with atom keys. Checks: nothing. Raises: never. Owns: static. */
#define CORRAL_AS_MAP() CORRAL__AS_MAP, NULL
/* an Erlang record {tag, field1, field2, ...}. Checks: nothing. Raises: never. Owns: static. */
#define CORRAL_AS_RECORD(tag) CORRAL__AS_RECORD, tag
/* a tuple {field1, field2, ...}. Checks: nothing. Raises: never. Owns: static. */
#define CORRAL_AS_TUPLE() CORRAL__AS_TUPLE, NULL

/* Internal: a compile-time check that a member has the declared size. */
#define CORRAL__SIZE_CHECK(T, m, n) \
    (0 * sizeof(struct { _Static_assert(sizeof(((T *)0)->m) == (n), "Corral: member " #m " of " #T " does not have the size of its declared type"); int x_; }))

#define CORRAL__TYPE_SIZE(type)                                                                           \
    ((type) == CORRAL_I8 || (type) == CORRAL_U8 || (type) == CORRAL_BOOL ? 1                                \
     : (type) == CORRAL_I16 || (type) == CORRAL_U16 ? 2                                                    \
     : (type) == CORRAL_I32 || (type) == CORRAL_U32 || (type) == CORRAL_FLOAT ? 4                          \
     : (type) == CORRAL_INT || (type) == CORRAL_UINT || (type) == CORRAL_ENUM ? sizeof(int)                \
     : (type) == CORRAL_BINARY || (type) == CORRAL_STRING ? sizeof(corral_binary)                          \
     : (type) == CORRAL_CSTRING ? sizeof(const char *)                                                     \
     : (type) == CORRAL_TERM ? sizeof(ERL_NIF_TERM) : 8)

/* A field of C type `type` (CORRAL_I8..CORRAL_CSTRING) in member `m` of T;
 * the key is the member's name. Checks: at compile time, the member's size
 * matches the type. Raises: never. Owns: static. */
#define CORRAL_FIELD(T, m, type) \
    {#m, type, offsetof(T, m) + CORRAL__SIZE_CHECK(T, m, CORRAL__TYPE_SIZE(type)), 0, 0, NULL, false, 0}

/* A field holding an atom of a CORRAL_ATOMS table, stored as its unsigned
 * position. Checks: at compile time, the member is an unsigned int's size.
 * Raises: never. Owns: static. */
#define CORRAL_FIELD_ENUM(T, m, table) \
    {#m, CORRAL_ENUM, offsetof(T, m) + CORRAL__SIZE_CHECK(T, m, sizeof(unsigned)), 0, 0, (table), false, 0}

/* A field holding a nested structure (or union) described by `shape`.
 * Checks: at load, the shape describes a type of the member's size (else
 * the library does not load, with a message). Raises: never. Owns: static. */
#define CORRAL_FIELD_STRUCT(T, m, shape) {#m, CORRAL_STRUCT, offsetof(T, m), sizeof(((T *)0)->m), 0, (shape), false, 0}

/* A list field: member `m` points to `n` (a size_t member) elements of
 * `type`. Checks: at compile time, n is a size_t. Raises: never. Owns: static. */
#define CORRAL_FIELD_ARRAY(T, m, n, type) \
    {#m, CORRAL_ARRAY, offsetof(T, m), offsetof(T, n) + CORRAL__SIZE_CHECK(T, n, sizeof(size_t)), type, NULL, false, 0}

/* A list of structures: member `m` points to `n` elements described by `shape`.
 * Checks: at compile time, n is a size_t. Raises: never. Owns: static. */
#define CORRAL_FIELD_STRUCT_ARRAY(T, m, n, shape) \
    {#m, CORRAL_ARRAY, offsetof(T, m), offsetof(T, n) + CORRAL__SIZE_CHECK(T, n, sizeof(size_t)), CORRAL_STRUCT, (shape), false, 0}

/* Describes the C type T as a static `corral_struct` named `shape`, with
 * the Erlang side `as` (CORRAL_AS_STRUCT / _MAP / _RECORD / _TUPLE) and the
 * fields in order; also the type of a typed (structs, shape, T, name)
 * parameter, `.data` (T *) and `.count`. Checks: at load, the names are
 * valid atoms and nested shapes are sized for their members (a failure
 * fails the load). Raises: never. Owns: static. */
#define CORRAL_STRUCT(shape, T, as, ...)                                                          \
    typedef struct {                                                                            \
        T *data;                                                                                \
        size_t count;                                                                           \
    } shape##__corral_array;                                                                    \
    static corral_field shape##__fields[] = {__VA_ARGS__};                                      \
    static const corral_field shape##__rows[] = {__VA_ARGS__};                                  \
    CORRAL__FLAT_LOOPS(shape, T, as);                                                           \
    static corral_struct shape = {#T, as, sizeof(T), 0, shape##__fields,                        \
                                  sizeof(shape##__fields) / sizeof(corral_field), 0, NULL, false, false, \
                                  &shape##__loops};                                             \
    CORRAL__CONSTRUCTOR(shape##__corral_register) { corral__register_struct(&shape); }          \
    CORRAL__SHAPE_RECORD(shape, #as, #__VA_ARGS__)

/* The text of a CORRAL_STRUCT as written (its `as` and its field rows), in
 * the section of the doc records, from which the build makes the type of
 * a typed (struct, shape, Type, name) parameter: %Geo.Point{x: number(),
 * y: number()}. Whole 32-byte blocks, 32-aligned, so that a reader of doc
 * records steps over it. */
#define CORRAL__SHAPE_RECORD(shape, as_text, fields_text)                                         \
    _Static_assert(sizeof(#shape) <= 240 && sizeof(as_text) <= 320, "CORRAL_STRUCT: name too long"); \
    static const struct __attribute__((aligned(32))) {                                          \
        char magic[8];                                                                          \
        uint32_t fields_size;                                                                   \
        uint32_t reserved;                                                                      \
        char name[240];                                                                         \
        char as[320];                                                                           \
        char fields[(sizeof(fields_text) + 31) / 32 * 32];                                      \
    } shape##__corral_shape CORRAL__SECTION("corral_docs") = {                                  \
        "CORRSHP", (sizeof(fields_text) + 31) / 32 * 32, 0, #shape, as_text, fields_text}

/* A variant of a union: tag atom `name`, value in member `m` of type
 * `type`. The C tag value is the variant's position (0, 1, ...).
 * Checks: at compile time, the member's size matches. Raises: never. Owns: static. */
#define CORRAL_VARIANT(T, name, m, type) \
    {name, type, offsetof(T, m) + CORRAL__SIZE_CHECK(T, m, CORRAL__TYPE_SIZE(type)), 0, 0, NULL, false, 0}

/* A variant whose value is a nested structure. Checks: at load, as
 * CORRAL_FIELD_STRUCT. Raises: never. Owns: static. */
#define CORRAL_VARIANT_STRUCT(T, name, m, shape) {name, CORRAL_STRUCT, offsetof(T, m), sizeof(((T *)0)->m), 0, (shape), false, 0}

/* A variant without a value: the bare atom `name`.
 * Checks: nothing. Raises: never. Owns: static. */
#define CORRAL_VARIANT_EMPTY(name) {name, CORRAL_TERM, 0, 0, 0, NULL, true, 0}

/* Describes a tagged union T: `tag` is an unsigned member holding the
 * variant's position; the variants convert to and from {:name, value} or
 * :name. Checks: at compile time, tag is an unsigned int's size.
 * Raises: never. Owns: static. */
#define CORRAL_UNION(shape, T, tag, ...)                                                          \
    typedef struct {                                                                            \
        T *data;                                                                                \
        size_t count;                                                                           \
    } shape##__corral_array;                                                                    \
    static corral_field shape##__fields[] = {__VA_ARGS__};                                      \
    static corral_struct shape = {#T, CORRAL__AS_UNION, NULL, sizeof(T),                        \
                                  offsetof(T, tag) + CORRAL__SIZE_CHECK(T, tag, sizeof(unsigned)), \
                                  shape##__fields, sizeof(shape##__fields) / sizeof(corral_field), 0, NULL, false, false, \
                                  NULL};                                                        \
    CORRAL__CONSTRUCTOR(shape##__corral_register) { corral__register_struct(&shape); }          \
    typedef int shape##__corral_semicolon

/* Fills *out (a T of `shape`) from a term.
 * Checks: the term has the shape and every field its type.
 * Raises: ArgumentError with the route to the bad value.
 * Owns: *out is the caller's; strings and arrays it points to are scratch
 * memory of the call (zero-copy views for CORRAL_BINARY / CORRAL_STRING). */
void corral_get_struct(corral_call *c, corral_term t, const corral_struct *shape, void *out);

/* Argument i into *out. Checks: as corral_get_struct. Raises: ArgumentError.
 * Owns: as corral_get_struct. */
static inline void corral_arg_struct(corral_call *c, int i, const corral_struct *shape, void *out)
{
    corral_get_struct(c, corral_arg_term(c, i), shape, out);
}

/* The term for the T at `in`.
 * Checks: floats are finite; enum and union tags are in range; arrays are
 * not NULL when their count is not 0. Raises: RuntimeError naming the field
 * and the struct; ArithmeticError for a NaN or infinite float.
 * Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_make_struct(corral_call *c, const corral_struct *shape, const void *in);

/* A list of structures into a C array: *count elements of shape->size bytes.
 * Checks: a proper list, every element as corral_get_struct.
 * Raises: ArgumentError with the route. Owns: scratch memory of the call. */
void *corral_get_struct_array(corral_call *c, corral_term t, const corral_struct *shape, size_t *count);

/* A list of `count` structures at `in`.
 * Checks: as corral_make_struct. Raises: as corral_make_struct.
 * Owns: the term lives until the NIF returns. */
ERL_NIF_TERM corral_make_struct_array(corral_call *c, const corral_struct *shape, const void *in, size_t count);

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
 * the object when it was closed. It must not block for long and cannot raise;
 * a destructor that may block is declared with
 * CORRAL_RESOURCE_BLOCKING_DESTRUCTOR, and Corral runs it off the normal
 * schedulers. Handles that own handles (a database and its statements) are
 * declared with CORRAL_RESOURCE_PARENT.
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
    /* Added with parents and blocking destructors. */
    struct corral_resource_type *parent; /* CORRAL_RESOURCE_PARENT: the type objects belong to */
    bool has_children;                   /* some type names this one as its parent */
    bool blocking_destructor;            /* CORRAL_RESOURCE_BLOCKING_DESTRUCTOR */
    /* Added with calls across libraries (CORRAL_RESOURCE_CALLABLE). */
    void (*dyncall)(ErlNifEnv *env, void *base, void *call_data);
    /* Added with memory per type (Corral.resource_memory/1). */
    bool reports_memory;        /* CORRAL_RESOURCE_REPORTS_MEMORY: objects carry a reported-bytes word */
    size_t allocated;           /* bytes of the live objects' allocations (atomic) */
    size_t reported;            /* bytes their bodies reported (atomic) */
} corral_resource_type;

void corral__register_resource(corral_resource_type *type);
void corral__resource_vm_dtor(corral_resource_type *type, void *base);
void corral__resource_leave(corral_resource_type *type, void *obj);

#define CORRAL__RESOURCE(Type, destructor, is_closable)                                    \
    enum { Type##__corral_closable = (is_closable) };                                      \
    static void (*const Type##__corral_user_dtor)(Type *) = destructor;                    \
    static void Type##__corral_destroy(void *obj)                                          \
    {                                                                                      \
        if (Type##__corral_user_dtor) Type##__corral_user_dtor((Type *)obj);              \
    }                                                                                      \
    static void Type##__corral_vm_dtor(ErlNifEnv *env, void *base);                        \
    static void Type##__corral_leave(void *obj);                                           \
    corral_resource_type Type##__corral_type = {#Type, sizeof(Type), Type##__corral_destroy, \
                                                Type##__corral_vm_dtor, NULL, 0, NULL,      \
                                                is_closable, Type##__corral_leave, NULL, NULL, \
                                                NULL, false, false, NULL, false, 0, 0};     \
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
        Type##__corral_user_stop((Type *)((char *)base + CORRAL__RESOURCE_HEADER), (int)(intptr_t)fd, direct != 0); \
    }                                                                                      \
    CORRAL__CONSTRUCTOR(Type##__corral_set_stop) { Type##__corral_type.stop = Type##__corral_stop; } \
    typedef int Type##__corral_stop_semicolon

/* Calls across libraries. A resource type of one library (a shared image,
 * tensor or connection type) can be used by the C of another library, even
 * one built with another Corral version, through erl_nif's
 * enif_dynamic_resource_call: the caller names the owner's module and type
 * and a protocol, the owner answers with a struct both sides define.
 *
 *     // the owner, module Images.Native:
 *     struct rgba_view { const uint8_t *pixels; size_t width, height; };
 *     static void image_answer(Image *img, corral_resource_call *call)
 *     {
 *         struct rgba_view *v = corral_call_data(call, "images.rgba_view.v1", sizeof *v);
 *         if (v) { v->pixels = img->pixels; v->width = img->w; v->height = img->h; }
 *     }
 *     CORRAL_RESOURCE_CALLABLE(Image, image_answer);
 *
 *     // another library:
 *     struct rgba_view v;
 *     corral_call_resource(c, 0, "Elixir.Images.Native", "Image", "images.rgba_view.v1", &v, sizeof v);
 *
 * Checked both ways: the VM checks that the term is an object of that type
 * of that module; the owner answers only a protocol name it knows with the
 * struct size it expects; the caller raises unless the owner answered.
 * Version a protocol in its name and never change its struct. */

/* One call from another library: what corral_call_resource passes and the
 * owner's answer function receives. Read it only through corral_call_data
 * and corral_call_refuse. */
typedef struct corral_resource_call {
    uint32_t magic;       /* set by corral_call_resource: a call made by Corral */
    const char *protocol; /* the protocol's name */
    void *data;           /* the caller's struct */
    size_t size;          /* its size */
    const char *refused;  /* the owner's reason to refuse, or NULL */
    size_t known_size;    /* the size the owner expects for this protocol, if it knows it */
    bool closed;          /* the owner found the object closed */
    bool answered;        /* the owner took the data */
} corral_resource_call;

#define CORRAL__CALL_MAGIC 0x436f5243u

/* In the owner's answer function: the caller's struct when the call is
 * `protocol` with a struct of `size` bytes (the call then counts as
 * answered), else NULL (answer nothing: the caller raises, saying which
 * protocol and size it asked for).
 * Checks: the protocol name and the size. Raises: never.
 * Owns: borrows the caller's struct during the answer. */
void *corral_call_data(corral_resource_call *call, const char *protocol, size_t size);

/* In the owner's answer function: refuses the call with `why` (static
 * text, e.g. "the image is not decoded yet"); the caller raises
 * RuntimeError naming it.
 * Checks: nothing. Raises: never. Owns: borrows `why` (keep it static). */
void corral_call_refuse(corral_resource_call *call, const char *why);

/* Declares that objects of Type answer calls from other libraries:
 * `fn` is void fn(Type *obj, corral_resource_call *call), run on the
 * caller's thread, inside the caller's NIF call. It may not raise or use a
 * call context; it takes the caller's struct with corral_call_data, fills
 * it in or reads it, and returns. Pointers it gives out (into obj) stay
 * valid while the caller holds the object's term (its argument: until its
 * call ends) and obj is not changed; lock obj as its own NIFs do if other
 * threads may change it. A closed object (CORRAL_CLOSABLE_RESOURCE) is not
 * answered: the caller raises. Write it after the type's CORRAL_RESOURCE.
 * Checks: at compile time, fn's type. Raises: never. Owns: static. */
#define CORRAL_RESOURCE_CALLABLE(Type, fn)                                                 \
    static void (*const Type##__corral_user_answer)(Type *, corral_resource_call *) = fn;  \
    static void Type##__corral_answer(void *obj, corral_resource_call *call)               \
    {                                                                                      \
        Type##__corral_user_answer((Type *)obj, call);                                     \
    }                                                                                      \
    static void Type##__corral_dyncall(ErlNifEnv *env, void *base, void *call_data)        \
    {                                                                                      \
        (void)env;                                                                         \
        corral__answer_call(&Type##__corral_type, base, call_data, Type##__corral_answer); \
    }                                                                                      \
    CORRAL__CONSTRUCTOR(Type##__corral_set_dyncall) { Type##__corral_type.dyncall = Type##__corral_dyncall; } \
    typedef int Type##__corral_callable_semicolon

void corral__answer_call(corral_resource_type *type, void *base, void *call_data,
                         void (*answer)(void *obj, corral_resource_call *call));

/* Calls argument i, an object of resource type `type` ("Image") of the
 * library loaded by the module `module` ("Elixir.Images.Native", or an
 * Erlang module's name), with `protocol` and the struct `data` of `size`
 * bytes, which the owner reads or fills in (CORRAL_RESOURCE_CALLABLE).
 * Returns when the owner answered. What it gave stays valid while the
 * argument does (this call), as the owner documents.
 * Checks: that argument i is such an object and that the owner answered.
 * Raises: ArgumentError "argument <i+1>: expected a callable Image
 * resource of Images.Native, got: ..." when it is not one (or that module
 * has no such type, is not loaded, or the type is not callable), or an open
 * one when it is closed; RuntimeError when the owner does not answer
 * `protocol` with that size (naming both; an owner that is not a Corral
 * library answers nothing) or refused (with its reason). Owns: nothing. */
void corral_call_resource(corral_call *c, int i, const char *module, const char *type, const char *protocol,
                          void *data, size_t size);

void corral__set_parent(corral_resource_type *child, corral_resource_type *parent);

/* Declares that every object of Child belongs to an object of Parent (a
 * statement to its database, a stream to its context): objects of Child
 * are made with corral_resource_new_child, and then
 *   - a child keeps its parent alive: the parent's memory stays while the
 *     child's does, and the parent's destructor runs only after the
 *     destructor of every child made from it has run;
 *   - corral_resource_parent(Child, obj) gives the parent, usable wherever
 *     the child is (a call that took the child as an argument, or that
 *     holds a use of it): the parent's destructor waits for that use;
 *   - closing the parent closes its children first (and theirs, to any
 *     depth): each child's destructor runs at once if no call is using it,
 *     or when the last call using it ends; the parent's destructor runs
 *     after all of theirs. Later calls on any of them raise "closed".
 * Child must be declared with CORRAL_CLOSABLE_RESOURCE (so a call using it
 * is counted); Parent with either macro (a parent that is never closed
 * ends when its last child and term are gone). Write it in Child's file,
 * after both declarations (CORRAL_RESOURCE_EXTERN for a Parent declared in
 * another file). A child's destructor runs while its parent is still
 * alive, so it may use the parent (sqlite3_finalize before sqlite3_close).
 * A destructor must not create or close objects of the same parent.
 * Checks: at compile time, that Child is closable. Raises: never.
 * Owns: static. */
#define CORRAL_RESOURCE_PARENT(Child, Parent)                                              \
    _Static_assert(Child##__corral_closable,                                               \
                   "CORRAL_RESOURCE_PARENT: declare " #Child " with CORRAL_CLOSABLE_RESOURCE"); \
    typedef Parent Child##__corral_parent_t;                                               \
    CORRAL__CONSTRUCTOR(Child##__corral_set_parent)                                        \
    {                                                                                      \
        corral__set_parent(&Child##__corral_type, &Parent##__corral_type);                 \
    }                                                                                      \
    typedef int Child##__corral_parent_semicolon

/* Declares that Type's destructor may block (it waits for a lock another
 * thread holds for seconds, flushes to disk, joins a thread): Corral then
 * never runs it on a normal scheduler thread. Where it would (a garbage
 * collection, a corral_resource_close or the end of a call on a normal
 * scheduler), the destructor runs on Corral's thread pool instead, after
 * the VM has let go of the object: it gets a copy of the object's bytes at
 * another address, so it must use the values of the fields (the handles
 * the object owns), not the object's address (no pointers into the object
 * itself, no lock inside it that another thread waits on). On a dirty
 * scheduler or a thread of Corral's pool it runs in place, as any
 * destructor does. A close from a normal scheduler therefore returns before
 * the destructor has run; make the closing function dirty
 * (CORRAL_DIRTY_IO) when the caller must see the teardown finished. Write
 * it after the type's declaration, in the same file.
 * Checks: nothing. Raises: never. Owns: static. */
#define CORRAL_RESOURCE_BLOCKING_DESTRUCTOR(Type)                                          \
    CORRAL__CONSTRUCTOR(Type##__corral_set_blocking) { Type##__corral_type.blocking_destructor = true; } \
    typedef int Type##__corral_blocking_semicolon

/* Declares that objects of Type report the memory the wrapped library
 * holds for them (a connection's caches, a codec's buffers), with
 * corral_resource_report_memory. Corral.resource_memory/1 (Erlang:
 * Module:'__corral_live__'()) then shows it per type beside the bytes of
 * the objects themselves, which every type counts. Each object of Type
 * carries one more word for it. Write it after the type's declaration
 * (CORRAL_RESOURCE, or CORRAL_RESOURCE_EXTERN in another file that
 * reports) in each file that calls corral_resource_report_memory.
 * Checks: nothing. Raises: never. Owns: static. */
#define CORRAL_RESOURCE_REPORTS_MEMORY(Type)                                               \
    enum { Type##__corral_reports_memory = 1 };                                            \
    CORRAL__CONSTRUCTOR(Type##__corral_set_reports) { Type##__corral_type.reports_memory = true; } \
    typedef int Type##__corral_reports_semicolon

void corral__resource_report_memory(corral_resource_type *type, void *obj, size_t bytes);

/* Says that the wrapped library now holds `bytes` bytes for obj (not a
 * change: the whole amount, e.g. what a connection's memory query answers
 * after a call that may have grown it). Corral adds it to Type's reported
 * bytes, and takes it off when obj's destructor runs (a close, a garbage
 * collection, or its hand-over to the pool for a blocking destructor): the
 * library's memory goes with it. Call it from any thread, while you hold
 * obj (a call's argument, a reference of your own); a report after obj's
 * destructor has run is ignored.
 * Checks: at compile time, that Type was declared with
 * CORRAL_RESOURCE_REPORTS_MEMORY (a build error names
 * Type__corral_reports_memory otherwise). Raises: never. Owns: nothing. */
#define corral_resource_report_memory(Type, obj, bytes)                                   \
    ((void)Type##__corral_reports_memory, corral__resource_report_memory(&Type##__corral_type, (obj), (bytes)))

/* Makes a resource type declared in another .c file of the same library
 * visible here. Checks: nothing. Raises: never. Owns: static. */
#define CORRAL_RESOURCE_EXTERN(Type) extern corral_resource_type Type##__corral_type

/* Bytes before the user object: construction state and size. 16 keeps the
 * user object as aligned as the VM's allocation. */
#define CORRAL__RESOURCE_HEADER 16

/* The parts of corral_resource_new: the checks, the allocation and the
 * header, out of line; zeroing the object (inline, so a small fixed-size
 * object is a few stores) and the cleanup entry that drops the creator's
 * reference when the call ends (corral__end releases it inline). */
void *corral__resource_alloc(corral_call *c, corral_resource_type *type, size_t extra);
CORRAL__HIDDEN void corral__release_created(void *obj);
static inline void *corral__resource_new(corral_call *c, corral_resource_type *type, size_t size, size_t extra)
{
    void *obj = corral__resource_alloc(c, type, extra);
    __builtin_memset(obj, 0, size + extra);
    corral__defer(c, corral__release_created, obj);
    return obj;
}

/* A new, zeroed object of resource type Type with `extra` bytes after it
 * (for a flexible array member). Type must be complete here (its size is
 * what lets a small object be zeroed with a few stores).
 * Checks: the size does not overflow and is within the machine's memory
 * (the VM aborts instead of failing on an impossible allocation).
 * Raises: RuntimeError otherwise, or on out of memory.
 * Owns: the call holds the only reference until corral_make_resource hands
 * the object to a term; if the call raises or returns without that, the
 * object is freed without running the destructor. */
#define corral_resource_new(c, Type, extra) \
    ((Type *)corral__resource_new((c), &Type##__corral_type, sizeof(Type), (extra)))

void *corral__resource_new_child(corral_call *c, corral_resource_type *type, size_t size, size_t extra,
                                 void *parent);

/* corral_resource_new for a type declared with CORRAL_RESOURCE_PARENT: a
 * new, zeroed Type object that belongs to `parent` (a Parent *, typically
 * an argument of this call) until the child's destructor has run.
 * Checks: parent is not closed (it may have been closed by another process
 * since this call read it); as corral_resource_new.
 * Raises: ArgumentError "cannot make a <Type>: its <Parent> is closed";
 * as corral_resource_new.
 * Owns: as corral_resource_new; the child holds a reference to parent (and
 * a use of it) from here on, given back when the child is destroyed. The
 * call counts as using the child until it ends. */
#define corral_resource_new_child(c, Type, parent, extra)                                      \
    ((Type *)corral__resource_new_child((c), &Type##__corral_type, sizeof(Type), (extra),      \
                                        (void *)(1 ? (parent) : (Type##__corral_parent_t *)0)))

void *corral__resource_parent(const void *obj);

/* The parent of obj, an object of a type declared with
 * CORRAL_RESOURCE_PARENT, as a Parent *. It stays valid while obj is in
 * use (an argument of the running call); it may be closed meanwhile (test
 * with corral_resource_closed when that matters), but its destructor waits
 * until obj's has run.
 * Checks: nothing. Raises: never. Owns: borrowed from obj. */
#define corral_resource_parent(Type, obj) \
    ((Type##__corral_parent_t *)corral__resource_parent((const void *)(1 ? (obj) : (Type *)0)))

/* The term for a resource object made by corral_resource_new (in this call
 * or kept with corral_resource_keep). The object counts as fully built from
 * here on: its destructor will run.
 * Checks: nothing. Raises: never.
 * Owns: the term keeps the object alive as long as any process holds it. */
ERL_NIF_TERM corral_make_resource(corral_call *c, void *obj);

/* A (res, Type) result: corral_make_resource, and a NULL body result is a
 * RuntimeError rather than a crash. */
CORRAL__NORETURN CORRAL__COLD void corral__null_resource_result(corral_call *c);
static inline ERL_NIF_TERM corral__make_resource_result(corral_call *c, void *obj)
{
    if (CORRAL__UNLIKELY(obj == NULL)) corral__null_resource_result(c);
    return corral_make_resource(c, obj);
}

CORRAL__NORETURN CORRAL__COLD void corral__bad_resource(corral_call *c, int i, corral_resource_type *type);
void *corral__enter_resource(corral_call *c, int i, corral_resource_type *type, void *base);

/* Argument i as a resource of type; `typed` (a constant) says that i is
 * known to be below the arity (a typed declaration's parameter), so the
 * position is not checked again. */
static inline void *corral__resource_at(corral_call *c, int i, corral_resource_type *type, bool typed)
{
    void *base;
    ERL_NIF_TERM t = typed ? c->argv[i] : corral_arg(c, i);
    if (CORRAL__LIKELY(enif_get_resource(c->env, t, type->rt, &base))) {
        if (CORRAL__UNLIKELY(type->closable)) return corral__enter_resource(c, i, type, base);
        return (char *)base + CORRAL__RESOURCE_HEADER;
    }
    corral__bad_resource(c, i, type);
}

static inline void *corral__arg_resource(corral_call *c, int i, corral_resource_type *type)
{
    return corral__resource_at(c, i, type, false);
}

/* Argument i as a pointer to a Type object.
 * Checks: a resource of exactly this type (by identity, not by shape), and,
 * for a closable type, one that is not closed.
 * Raises: ArgumentError naming the expected type, the actual type when the
 * argument is a resource of another Corral type, or that it is closed.
 * Owns: the argument term keeps the object alive until the NIF returns; no
 * reference is taken. Keep the pointer beyond the call only with
 * corral_resource_keep. */
#define corral_arg_resource(c, i, Type)                                                          \
    (CORRAL__NOTE_ARG(i), CORRAL__READ((Type *)corral__arg_resource((c), (i), &Type##__corral_type)))

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
 * until the stop callback closes it.
 * Windows: the VM watches event objects, not descriptors; pass the HANDLE
 * as (int)(intptr_t)handle (Windows handles have 32 significant bits). */
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

/* A term as a local process identifier (corral_arg_pid on a term).
 * Checks: a pid of this node. Raises: ArgumentError with the route of t.
 * Owns: a plain value. */
ErlNifPid corral_get_pid(corral_call *c, corral_term t);

/* A term that must be a reference (make_ref/0, a monitor, a resource).
 * Checks: a reference. Raises: ArgumentError ("expected a reference") with
 * the route of t. Owns: the term, valid until the NIF returns. */
ERL_NIF_TERM corral_get_ref(corral_call *c, corral_term t);

/* A new unique reference, as make_ref/0 returns.
 * Checks: nothing. Raises: never. Owns: the term lives until the NIF returns. */
static inline ERL_NIF_TERM corral_make_ref(corral_call *c) { return enif_make_ref(c->env); }

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
 * Typed declarations: the C signature is the declaration
 *
 * One declaration gives the Elixir function its name, arity, argument
 * decoding (with exactly the checks and messages of corral_arg_*), return
 * encoding, @spec and argument names. Parameters are written as pairs of a
 * type word and a name, because C macros cannot split `int64_t a`:
 *
 *     CORRAL_PURE(add, i64, (i64, a), (i64, b))
 *     {
 *         return corral_add_i64(c, a, b); // ArithmeticError on overflow
 *     }
 *     CORRAL_MODULE(Demo.Native, CORRAL_EXPORT(add));
 *
 * gives `@spec add(a :: integer(), b :: integer()) :: integer()` and
 * `def add(a, b)`. Two kinds of body, declared the same way:
 *   - CORRAL_PURE: the body gets the decoded values and a `corral_pure *c`
 *     that can only report a failure (corral_fail, the checked arithmetic
 *     below), raised after the body returns. It cannot raise from inside,
 *     so the NIF has no setjmp frame: it compiles to what a careful C
 *     author writes by hand. Scalars, binaries, raw terms, optional
 *     values, resources and indexes. As nothing can leave a pure body
 *     early, it may take a lock itself (corral_rwlock_read ...
 *     corral_rwlock_read_unlock) around its use of an object. A bad argument
 *     or a closable resource sends the call the careful way, with a frame:
 *     CORRAL_DEF's decoding (its messages; a closable object counted as in
 *     use until the call ends), then the body.
 *   - CORRAL_DEF: the body gets the call context `corral_call *c` as every
 *     CORRAL_NIF does (resources, locks, scratch memory, makers, raising),
 *     and the decoded values.
 *
 *   type word  C type            argument accepts (spec)          returns (spec)
 *   i8 i16 i32 int8_t ...        that range (-128..127, ...)      integer term (same)
 *   i64 int long ssize intptr    that range (integer())           integer()
 *   u8         uint8_t           0..255 (byte())                  byte()
 *   u16 u32    uint16_t ...      that range (0..65535, ...)       same
 *   u64 uint ulong size uintptr  that range (non_neg_integer())   non_neg_integer()
 *   double     double            a float or a 64-bit integer      float() (ArithmeticError
 *                                (number())                       on NaN or infinity)
 *   bool       bool              true or false (boolean())        boolean()
 *   binary     corral_binary     a binary, zero-copy (binary())   (CORRAL_DEF: copied) binary()
 *   term       ERL_NIF_TERM      anything (term())                term() (CORRAL_DEF only)
 *   void       (return only)                                      :ok
 *   (res, Type) (return only, CORRAL_DEF)  Type *: a new object, made into its term
 *              as corral_make_resource makes it                  the type of Type, as for a parameter
 *   cstring    const char *      (parameter: CORRAL_DEF only,     a binary of the bytes before
 *                                see below)                       the NUL (NULL: RuntimeError)
 *                                                                 String.t()
 *   (ok, value) (return only: see corral_return_error)  {:ok, <value's>} | {:error, term()}
 *              value: a word, (res, Type) or a tuple    ((ok, void): :ok | {:error, term()})
 *   (tuple, element, ...) (return only; 1 to 8 elements, each written as a
 *              parameter: (word, name) or (res, Type, name); the words:
 *              the integer words, double, bool, binary, term, cstring)
 *              <name>_result: a struct declared with the NIF, one member
 *              per element, named as the element; the body returns one:
 *                  CORRAL_PURE(divmod, (tuple, (u64, q), (u64, r)), (u64, a), (u64, b))
 *                  { return (divmod_result){a / b, a % b}; }
 *              the tuple of the elements' terms, made left to right (so the
 *              leftmost bad one raises)                {<element's spec>, ...}
 *              (res, Type) elements and (ok, tuple) as for a whole result;
 *              CORRAL_PURE takes tuples of the words its results take
 *   (spec, "text", result) (return only) the result as declared, with the
 *              result spec written by hand instead of the one made from the
 *              types (the arguments' stay made): "{:ok, resource(Tally)} |
 *              {:error, :busy}" for a term, "0..9" for a u8; resource(Type)
 *              names the module's type of a resource, as the made specs do
 *   (as parameters with a qualifier before the name; both kinds of body):
 *   (res, Type, name)     Type *   a resource of Type, as corral_arg_resource
 *                                  checks it (the module's type named after
 *                                  Type in snake case: tally() for Tally,
 *                                  defined as reference())
 *   (index, bound, name)  size_t   an index below `bound`, an expression that
 *                                  may use earlier parameters, as
 *                                  corral_arg_index checks it (non_neg_integer())
 *   (CORRAL_DEF only):
 *   string                corral_binary  UTF-8, as corral_get_string (String.t())
 *   cstring               const char *   UTF-8 without NUL bytes, copied into
 *                                  scratch memory and NUL-terminated, as
 *                                  corral_get_cstring (String.t())
 *   iodata                corral_binary  flattened, as corral_get_iodata (iodata())
 *   (enum, table, name)   unsigned the position of an atom of a CORRAL_ATOMS
 *                                  table, as corral_get_enum (atom())
 *   (list, word, name)    corral_array_<word>  {data, count}: a list of
 *                                  i8..u64, int, uint, long, ulong, size, ssize,
 *                                  double, bool, string, cstring or binary,
 *                                  converted as
 *                                  corral_get_array does ([<word's spec>]);
 *                                  an i64 or double list is converted
 *                                  into a block sized from the parameter's
 *                                  last call (no copy when lengths repeat;
 *                                  a short list after a long one may hold
 *                                  up to 64 MiB, if the limits allow, until
 *                                  the call returns)
 *   (opt, word, name)     corral_opt_<word>  {present, value}: nil (present
 *                                  false) or a value of the word: i8..u64, int,
 *                                  uint, long, ulong, size, ssize, double, bool,
 *                                  binary, and string (<word's spec> | nil);
 *                                  CORRAL_PURE takes all but string;
 *                                  (opt, cstring, name) is a `const char *`,
 *                                  NULL for nil
 *   (struct, shape, Type, name)  Type  a term of a CORRAL_STRUCT or
 *                                  CORRAL_UNION shape, as corral_get_struct
 *                                  decodes it (the CORRAL_STRUCT's own type:
 *                                  %Geo.Point{x: number(), y: number()};
 *                                  term() for a union, or for rows written
 *                                  through macros of one's own)
 *
 * Up to 8 parameters. Parameter names become the Elixir argument names, so
 * use names that are valid in Elixir too (not `end`, `do`, `fn`, `when`),
 * and not `c`, the name of the call context.
 * ======================================================================= */

/* What a pure body can report: the first failure is kept and raised when
 * the body returns. Read nothing here; use corral_fail and the checked
 * arithmetic. */
typedef struct corral_pure {
    const char *exception; /* NULL while nothing failed */
    char message[200];
} corral_pure;

/* Reports a failure from a pure body: after the body returns, the NIF
 * raises `exception` ("Elixir.ArgumentError", "Elixir.ArithmeticError", a
 * user module with a message field) with "<fn>: <message>". The body goes
 * on running until it returns; return any value, it is not used.
 * Checks: nothing. Raises: never itself (the NIF raises afterwards).
 * Owns: nothing; the message is copied (up to 199 bytes). */
CORRAL__COLD CORRAL__PRINTF(3, 4) void corral_fail(corral_pure *c, const char *exception, const char *fmt, ...);

/* Whether the pure body has reported a failure so far (corral_fail, the
 * checked arithmetic, corral_return_error). A body that changes an object
 * tests it before storing what it computed, as the call will raise:
 *     int64_t v = corral_add_i64(c, cell->v, by);
 *     if (!corral_failed(c)) cell->v = v;
 * Checks: nothing. Raises: never. Owns: nothing. */
static inline bool corral_failed(const corral_pure *c) { return c->exception != NULL; }

/* Results {:ok, value} | {:error, reason}: declare the result as (ok, word),
 * for example CORRAL_DEF(open, (ok, u64), (string, path)), and the NIF
 * returns {:ok, <the word's term>} (just :ok for (ok, void)), or
 * {:error, :reason} when the body calls
 *
 *     return corral_return_error(c, "not_found");
 *
 * With a call context (CORRAL_DEF, CORRAL_DEF_THREAD, and CORRAL_NIF bodies
 * of every kind) it leaves the call at once, running the cleanups, as a
 * raise does, but the call returns {:error, :not_found}. In a pure body it
 * records the reason and returns 0: the body returns (any value; it is not
 * used) and the NIF then returns {:error, :not_found}. The first report of
 * a body wins (a corral_fail before it raises, one after it is ignored).
 * The spec of an (ok, word) result is {:ok, <spec>} | {:error, term()}.
 * Checks: reason is an atom name (see corral_make_atom; in a pure body at
 * most 199 bytes), and a pure body has an (ok, word) result.
 * Raises: RuntimeError when the name is not one or a pure NIF's result is
 * not (ok, word). Owns: the name is copied; atoms are permanent. */
#define corral_return_error(c, reason)                                                           \
    _Generic((c), corral_pure *: corral__return_error_pure, corral_call *: corral__return_error_call)((c), (reason))

/* corral_return_error with any term as the reason: the call returns
 * {:error, reason} at once, running the cleanups (call context only).
 * Checks: nothing. Raises: never; the call returns the tuple.
 * Owns: reason must live in the call's env (any term made with c). */
CORRAL__NORETURN CORRAL__COLD void corral_return_error_term(corral_call *c, ERL_NIF_TERM reason);

/* Internal: the two kinds of corral_return_error, and the mark in
 * corral_pure.exception of a recorded error result (its atom name is in
 * message). */
CORRAL__COLD int corral__return_error_pure(corral_pure *c, const char *reason);
CORRAL__NORETURN CORRAL__COLD int corral__return_error_call(corral_call *c, const char *reason);
extern const char corral__error_result[];

/* Internal: the overflow reports of the checked arithmetic. */
CORRAL__COLD int64_t corral__overflow_i64_pure(corral_pure *c, const char *op, int64_t a, int64_t b);
CORRAL__COLD uint64_t corral__overflow_u64_pure(corral_pure *c, const char *op, uint64_t a, uint64_t b);
CORRAL__NORETURN CORRAL__COLD int64_t corral__overflow_i64_call(corral_call *c, const char *op, int64_t a, int64_t b);
CORRAL__NORETURN CORRAL__COLD uint64_t corral__overflow_u64_call(corral_call *c, const char *op, uint64_t a, uint64_t b);

#define CORRAL__CHECKED(name, ctype, builtin, op, kind)                                            \
    static inline ctype corral__##name##_pure(corral_pure *c, ctype a, ctype b)                    \
    {                                                                                            \
        ctype r;                                                                                 \
        if (CORRAL__UNLIKELY(builtin(a, b, &r))) return corral__overflow_##kind##_pure(c, op, a, b); \
        return r;                                                                                \
    }                                                                                            \
    static inline ctype corral__##name##_call(corral_call *c, ctype a, ctype b)                    \
    {                                                                                            \
        ctype r;                                                                                 \
        if (CORRAL__UNLIKELY(builtin(a, b, &r))) corral__overflow_##kind##_call(c, op, a, b);    \
        return r;                                                                                \
    }
CORRAL__CHECKED(add_i64, int64_t, __builtin_add_overflow, "+", i64)
CORRAL__CHECKED(sub_i64, int64_t, __builtin_sub_overflow, "-", i64)
CORRAL__CHECKED(mul_i64, int64_t, __builtin_mul_overflow, "*", i64)
CORRAL__CHECKED(add_u64, uint64_t, __builtin_add_overflow, "+", u64)
CORRAL__CHECKED(sub_u64, uint64_t, __builtin_sub_overflow, "-", u64)
CORRAL__CHECKED(mul_u64, uint64_t, __builtin_mul_overflow, "*", u64)

#define CORRAL__CHECKED_PICK(c, name)                                                            \
    _Generic((c), corral_pure *: corral__##name##_pure, corral_call *: corral__##name##_call)

/* Checked 64-bit arithmetic, in pure bodies (c is the corral_pure) and in
 * any body with a call context (c is the corral_call). On overflow:
 * ArithmeticError "<fn>: integer overflow: 9223372036854775807 + 1 does not
 * fit in -9223372036854775808..9223372036854775807" (raised at once with a
 * call context; after the body returns in a pure body, where the result is
 * then 0 and unused).
 * Checks: the exact result fits the type. Raises: ArithmeticError.
 * Owns: plain values. */
#define corral_add_i64(c, a, b) CORRAL__CHECKED_PICK(c, add_i64)((c), (a), (b))
/* As corral_add_i64, for a - b. Checks: the result fits int64_t.
 * Raises: ArithmeticError. Owns: plain values. */
#define corral_sub_i64(c, a, b) CORRAL__CHECKED_PICK(c, sub_i64)((c), (a), (b))
/* As corral_add_i64, for a * b. Checks: the result fits int64_t.
 * Raises: ArithmeticError. Owns: plain values. */
#define corral_mul_i64(c, a, b) CORRAL__CHECKED_PICK(c, mul_i64)((c), (a), (b))
/* As corral_add_i64, for uint64_t. Checks: the result fits uint64_t.
 * Raises: ArithmeticError. Owns: plain values. */
#define corral_add_u64(c, a, b) CORRAL__CHECKED_PICK(c, add_u64)((c), (a), (b))
/* As corral_add_u64, for a - b (below 0 is an overflow). Checks: the
 * result fits uint64_t. Raises: ArithmeticError. Owns: plain values. */
#define corral_sub_u64(c, a, b) CORRAL__CHECKED_PICK(c, sub_u64)((c), (a), (b))
/* As corral_add_u64, for a * b. Checks: the result fits uint64_t.
 * Raises: ArithmeticError. Owns: plain values. */
#define corral_mul_u64(c, a, b) CORRAL__CHECKED_PICK(c, mul_u64)((c), (a), (b))

/* -- Preprocessor plumbing ------------------------------------------------ */

#define CORRAL__CAT(a, b) CORRAL__CAT_(a, b)
#define CORRAL__CAT_(a, b) a##b
#define CORRAL__STR(x) CORRAL__STR_(x)
#define CORRAL__STR_(x) #x
#define CORRAL__APPLY(m, args) m args
#define CORRAL__NARGS(...) CORRAL__NARGS_(x, ##__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define CORRAL__NARGS_(x, _1, _2, _3, _4, _5, _6, _7, _8, n, ...) n
#define CORRAL__NOTHING()
#define CORRAL__SPEC_SEP() ", "
#define CORRAL__EACH(m, sep, ...) CORRAL__CAT(CORRAL__EACH_, CORRAL__NARGS(__VA_ARGS__))(m, sep, ##__VA_ARGS__)
#define CORRAL__EACH_0(m, sep)
#define CORRAL__EACH_1(m, sep, p1) m(0, p1)
#define CORRAL__EACH_2(m, sep, p1, p2) m(0, p1) sep() m(1, p2)
#define CORRAL__EACH_3(m, sep, p1, p2, p3) CORRAL__EACH_2(m, sep, p1, p2) sep() m(2, p3)
#define CORRAL__EACH_4(m, sep, p1, p2, p3, p4) CORRAL__EACH_3(m, sep, p1, p2, p3) sep() m(3, p4)
#define CORRAL__EACH_5(m, sep, p1, p2, p3, p4, p5) CORRAL__EACH_4(m, sep, p1, p2, p3, p4) sep() m(4, p5)
#define CORRAL__EACH_6(m, sep, p1, p2, p3, p4, p5, p6) CORRAL__EACH_5(m, sep, p1, p2, p3, p4, p5) sep() m(5, p6)
#define CORRAL__EACH_7(m, sep, p1, p2, p3, p4, p5, p6, p7)                                       \
    CORRAL__EACH_6(m, sep, p1, p2, p3, p4, p5, p6) sep() m(6, p7)
#define CORRAL__EACH_8(m, sep, p1, p2, p3, p4, p5, p6, p7, p8)                                   \
    CORRAL__EACH_7(m, sep, p1, p2, p3, p4, p5, p6, p7) sep() m(7, p8)

/* A parameter is (word, name) or (res, Type, name); these take it apart. */
#define CORRAL__P_WORD(p) CORRAL__APPLY(CORRAL__P_WORD_, p)
#define CORRAL__P_WORD_(w, ...) w
#define CORRAL__P_NAME(p) CORRAL__APPLY(CORRAL__P_NAME_, p)
#define CORRAL__P_NAME_(w, ...) CORRAL__CAT(CORRAL__LAST_, CORRAL__NARGS(__VA_ARGS__))(__VA_ARGS__)
#define CORRAL__LAST_1(a) a
#define CORRAL__LAST_2(a, b) b
#define CORRAL__LAST_3(a, b, c) c
#define CORRAL__LAST_4(a, b, c, d) d
#define CORRAL__P_CTYPE(p) CORRAL__APPLY(CORRAL__P_CTYPE_, p)
#define CORRAL__P_CTYPE_(w, ...) CORRAL__T_##w##_CTYPE(__VA_ARGS__)
#define CORRAL__P_IN(p) CORRAL__APPLY(CORRAL__P_IN_, p)
#define CORRAL__P_IN_(w, ...) CORRAL__T_##w##_IN(__VA_ARGS__)
#define CORRAL__P_KIND(p) CORRAL__APPLY(CORRAL__P_KIND_, p)
#define CORRAL__P_KIND_(w, ...) CORRAL__T_##w##_KIND
#define CORRAL__P_QUAL(p) CORRAL__APPLY(CORRAL__P_QUAL_, p)
#define CORRAL__P_QUAL_(w, qual, ...) qual
#define CORRAL__P_QUAL2(p) CORRAL__APPLY(CORRAL__P_QUAL2_, p)
#define CORRAL__P_QUAL2_(w, qual, qual2, ...) qual2
#define CORRAL__KINDED(p, op) CORRAL__CAT(CORRAL__P_KIND(p), op)

/* A word the declarations do not know fails with one sentence that names
 * it, before any code is generated from it: a kind's probe expands to two
 * items, so the second item of the list is 1 for a known word's kind and
 * 0 for an unknown word (whose CORRAL__T_<word>_KIND stays a name). */
#define CORRAL__SECOND(a, b, ...) b
#define CORRAL__SECOND_OF(...) CORRAL__SECOND(__VA_ARGS__)
#define CORRAL__IS_KIND(k) CORRAL__SECOND_OF(CORRAL__CAT(k, _PROBE), 0, 0)
#define CORRAL__K_SINT_PROBE ~, 1
#define CORRAL__K_UINT_PROBE ~, 1
#define CORRAL__K_DOUBLE_PROBE ~, 1
#define CORRAL__K_BOOL_PROBE ~, 1
#define CORRAL__K_BINARY_PROBE ~, 1
#define CORRAL__K_STRING_PROBE ~, 1
#define CORRAL__K_CSTRING_PROBE ~, 1
#define CORRAL__K_IODATA_PROBE ~, 1
#define CORRAL__K_TERM_PROBE ~, 1
#define CORRAL__K_VOID_PROBE ~, 1
#define CORRAL__K_RES_PROBE ~, 1
#define CORRAL__K_ENUM_PROBE ~, 1
#define CORRAL__K_LIST_PROBE ~, 1
#define CORRAL__K_OPT_PROBE ~, 1
#define CORRAL__K_STRUCT_PROBE ~, 1
#define CORRAL__K_STRUCTS_PROBE ~, 1
#define CORRAL__K_INDEX_PROBE ~, 1
#define CORRAL__WORDS                                                                            \
    "i8, i16, i32, i64, u8, u16, u32, u64, int, uint, long, ulong, size, ssize, intptr, "       \
    "uintptr, double, bool, binary, string, cstring, iodata, term, enum, res, index, list, "   \
    "opt, struct, structs (and void for a result)"
#define CORRAL__P_WORD_CHECK(i, p) CORRAL__APPLY(CORRAL__P_WORD_CHECK_, p)
#define CORRAL__P_WORD_CHECK_(w, ...)                                                            \
    _Static_assert(CORRAL__IS_KIND(CORRAL__T_##w##_KIND),                                        \
                   "unknown type word " #w " for a parameter; the words are: " CORRAL__WORDS);
#define CORRAL__R_WORD_CHECK(ret) CORRAL__CAT(CORRAL__R_WORD_CHECK_, CORRAL__FORM(ret))(ret)
#define CORRAL__R_WORD_CHECK_PLAIN(w)                                                            \
    _Static_assert(CORRAL__IS_KIND(CORRAL__T_##w##_KIND),                                        \
                   "unknown type word " #w " for the result; the words are: " CORRAL__WORDS);
#define CORRAL__R_WORD_CHECK_ok(r)
#define CORRAL__R_WORD_CHECK_res(r)
#define CORRAL__R_WORD_CHECK_tuple(r)
#define CORRAL__R_WORD_CHECK_spec(r)

/* Pieces of the generated code, one parameter at a time. */
#define CORRAL__P_PARAM(i, p) , CORRAL__P_CTYPE(p) CORRAL__P_NAME(p)
#define CORRAL__P_SPEC(i, p) CORRAL__STR(CORRAL__P_NAME(p)) " :: " CORRAL__P_IN(p)
/* A pure NIF tests every argument in one condition, so the hot path has a
 * single way out: the careful path, where CORRAL_DEF's getters decode them
 * in order and the first bad argument raises its exact message. The locals
 * are named as the parameters, so that an index's bound can use an earlier
 * parameter in both. */
#define CORRAL__P_DECLARE_PURE(i, p) CORRAL__P_CTYPE(p) CORRAL__P_NAME(p);
#define CORRAL__P_TRY_PURE(i, p) &&CORRAL__KINDED(p, _TRY)(p, corral_env_, corral_argv_[i], &CORRAL__P_NAME(p))
/* With a call context the values are decoded in order into locals named as
 * the parameters, so a later parameter's check can use an earlier one
 * (`(index, buf->size, i)`). */
#define CORRAL__P_DECODE_CALL(i, p)                                                              \
    CORRAL__DECODE_BEGIN() CORRAL__P_CTYPE(p) CORRAL__P_NAME(p) = CORRAL__KINDED(p, _GET)(p, c, i); \
    CORRAL__DECODE_END()
#define CORRAL__P_PASS_NAME(i, p) , CORRAL__P_NAME(p)

/* Kinds of type word: how a value is tested in a pure NIF (_TRY), decoded
 * with a call context (_GET; the scalar kinds test with _TRY there too and
 * raise through _CHECK, Corral's getter, for its exact message), and made
 * (_MAKE_PURE, _MAKE). */
#define CORRAL__K_SINT_TRY(p, env, t, out) CORRAL__CAT(corral__try_, CORRAL__P_WORD(p))(env, t, out)
#define CORRAL__K_SINT_CHECK(p) CORRAL__CAT(corral__check_arg_, CORRAL__P_WORD(p))
#define CORRAL__K_SINT_GET(p, c, i) CORRAL__TRY_GET(p, c, i)
/* Values of 32 bits or less are made by the cheaper int/uint makers. */
#define CORRAL__K_SINT_MAKE_PURE(env, e, st)                                                     \
    __builtin_choose_expr(sizeof(e) <= sizeof(int), enif_make_int(env, (int)(e)),               \
                          enif_make_int64(env, (ErlNifSInt64)(e)))
#define CORRAL__K_SINT_MAKE(c, e) CORRAL__K_SINT_MAKE_PURE((c)->env, e, NULL)
#define CORRAL__K_UINT_TRY CORRAL__K_SINT_TRY
#define CORRAL__K_UINT_CHECK CORRAL__K_SINT_CHECK
#define CORRAL__K_UINT_GET CORRAL__K_SINT_GET
#define CORRAL__K_UINT_MAKE_PURE(env, e, st)                                                     \
    __builtin_choose_expr(sizeof(e) <= sizeof(unsigned), enif_make_uint(env, (unsigned)(e)),     \
                          enif_make_uint64(env, (ErlNifUInt64)(e)))
#define CORRAL__K_UINT_MAKE(c, e) CORRAL__K_UINT_MAKE_PURE((c)->env, e, NULL)
#define CORRAL__K_DOUBLE_TRY(p, env, t, out) corral__try_double(env, t, out)
#define CORRAL__K_DOUBLE_CHECK(p) corral__check_arg_double
#define CORRAL__K_DOUBLE_GET(p, c, i) CORRAL__TRY_GET(p, c, i)
#define CORRAL__K_DOUBLE_MAKE_PURE(env, e, st) corral__make_double_pure(env, (e), st)
#define CORRAL__K_DOUBLE_MAKE(c, e) corral_make_double(c, (e))
#define CORRAL__K_BOOL_TRY(p, env, t, out) corral__try_bool(env, t, out)
#define CORRAL__K_BOOL_CHECK(p) corral__check_arg_bool
#define CORRAL__K_BOOL_GET(p, c, i) CORRAL__TRY_GET(p, c, i)
#define CORRAL__K_BOOL_MAKE_PURE(env, e, st) ((e) ? corral__atom_true : corral__atom_false)
#define CORRAL__K_BOOL_MAKE(c, e) corral_make_bool(c, (e))
#define CORRAL__K_BINARY_TRY(p, env, t, out) corral__try_binary(env, t, out)
#define CORRAL__K_BINARY_GET(p, c, i) corral_get_binary(c, corral__typed_arg(c, i))
#define CORRAL__K_BINARY_MAKE(c, e) corral__make_binary_of(c, (e))
#define CORRAL__K_TERM_TRY(p, env, t, out) (*(out) = (t), true)
#define CORRAL__K_TERM_GET(p, c, i) ((c)->argv[i])
#define CORRAL__K_TERM_MAKE(c, e) (e)
#define CORRAL__K_VOID_MAKE_PURE(env, e, st) ((e), corral__atom_ok)
#define CORRAL__K_VOID_MAKE(c, e) ((e), corral__atom_ok)
#define CORRAL__K_RES_GET(p, c, i) CORRAL__RES_GET_(c, i, CORRAL__P_QUAL(p))
/* What a word cannot do, as a call to a function whose name says why: the
 * compiler's "implicit declaration" error then reads as the explanation. */
#define CORRAL__K_RES_TRY(p, env, t, out) CORRAL__RES_TRY_(env, t, out, CORRAL__P_QUAL(p))
#define CORRAL__RES_TRY_(env, t, out, type) CORRAL__RES_TRY__(env, t, out, type)
#define CORRAL__RES_TRY__(env, t, out, type)                                                     \
    __extension__({                                                                              \
        void *corral_o_ = NULL;                                                                  \
        bool corral_ok_ = corral__try_resource(env, t, &type##__corral_type, &corral_o_);        \
        *(out) = (type *)corral_o_;                                                              \
        corral_ok_;                                                                              \
    })
#define CORRAL__K_BINARY_MAKE_PURE(env, e, st) corral_binary_results_need_CORRAL_DEF_not_CORRAL_PURE(e)
#define CORRAL__K_TERM_MAKE_PURE(env, e, st) corral_term_results_need_CORRAL_DEF_not_CORRAL_PURE(e)
/* The bound is read after the integer, so it need not be kept across
 * erl_nif's call. */
#define CORRAL__K_INDEX_TRY(p, env, t, out) (corral__try_size(env, t, out) && *(out) < (CORRAL__P_QUAL(p)))
#define CORRAL__K_INDEX_GET(p, c, i) corral__typed_index(c, i, CORRAL__P_QUAL(p))
#define CORRAL__K_STRING_GET(p, c, i) corral_get_string(c, corral__typed_arg(c, i))
#define CORRAL__K_STRING_TRY(p, env, t, out) corral_string_parameters_need_CORRAL_DEF_not_CORRAL_PURE(t)
/* A C string is copied into scratch memory, which needs a call context. */
#define CORRAL__K_CSTRING_GET(p, c, i) corral_get_cstring(c, corral__typed_arg(c, i))
#define CORRAL__K_CSTRING_TRY(p, env, t, out) corral_cstring_parameters_need_CORRAL_DEF_not_CORRAL_PURE(t)
#define CORRAL__K_CSTRING_MAKE(c, e) corral__make_cstring_result(c, (e))
#define CORRAL__K_CSTRING_MAKE_PURE(env, e, st) corral__make_cstring_pure(env, (e), st)
#define CORRAL__K_IODATA_GET(p, c, i) corral_get_iodata(c, corral__typed_arg(c, i))
#define CORRAL__K_IODATA_TRY(p, env, t, out) corral_iodata_parameters_need_CORRAL_DEF_not_CORRAL_PURE(t)
#define CORRAL__K_ENUM_GET(p, c, i) corral_get_enum(c, corral__typed_arg(c, i), &CORRAL__P_QUAL(p))
#define CORRAL__K_ENUM_TRY(p, env, t, out) corral_enum_parameters_need_CORRAL_DEF_not_CORRAL_PURE(t)
#define CORRAL__K_LIST_GET(p, c, i) CORRAL__LIST_GET_(c, i, CORRAL__P_QUAL(p))
/* Each list parameter keeps the length its last call converted (its own
 * static), so that the next call can convert into a block of that size. */
#define CORRAL__LIST_GET_(c, i, elem)                                                             \
    __extension__({                                                                              \
        static size_t corral_list_hint_;                                                         \
        CORRAL__CAT(corral__get_array_, elem)(c, corral__typed_arg(c, i), &corral_list_hint_);   \
    })
#define CORRAL__K_LIST_TRY(p, env, t, out) corral_list_parameters_need_CORRAL_DEF_not_CORRAL_PURE(t)
#define CORRAL__K_OPT_TRY(p, env, t, out) CORRAL__CAT(corral__try_opt_, CORRAL__P_QUAL(p))(env, t, out)
#define CORRAL__K_OPT_GET(p, c, i) CORRAL__CAT(corral__get_opt_, CORRAL__P_QUAL(p))(c, corral__typed_arg(c, i))
#define CORRAL__K_STRUCT_GET(p, c, i) CORRAL__STRUCT_GET_(c, i, CORRAL__P_QUAL(p), CORRAL__P_QUAL2(p))
#define CORRAL__STRUCT_GET_(c, i, shape, type)                                                    \
    __extension__({                                                                              \
        type v_;                                                                                 \
        corral_get_struct(c, corral__typed_arg(c, i), &shape, &v_);                             \
        v_;                                                                                      \
    })
#define CORRAL__K_STRUCT_TRY(p, env, t, out) corral_struct_parameters_need_CORRAL_DEF_not_CORRAL_PURE(t)
#define CORRAL__K_STRUCTS_GET(p, c, i) CORRAL__STRUCTS_GET_(c, i, CORRAL__P_QUAL(p))
#define CORRAL__STRUCTS_GET_(c, i, shape) CORRAL__STRUCTS_GET__(c, i, shape)
#define CORRAL__STRUCTS_GET__(c, i, shape)                                                        \
    __extension__({                                                                              \
        shape##__corral_array v_;                                                                \
        v_.data = corral_get_struct_array(c, corral__typed_arg(c, i), &shape, &v_.count);       \
        v_;                                                                                      \
    })
#define CORRAL__K_STRUCTS_TRY(p, env, t, out) corral_structs_parameters_need_CORRAL_DEF_not_CORRAL_PURE(t)
#define CORRAL__RES_GET_(c, i, type) CORRAL__RES_GET__(c, i, type)
#define CORRAL__RES_GET__(c, i, type) ((type *)corral__resource_at((c), (i), &type##__corral_type, true))

/* The type words. */
#define CORRAL__T_i8_CTYPE(...) int8_t
#define CORRAL__T_i8_KIND CORRAL__K_SINT
#define CORRAL__T_i8_IN(...) "-128..127"
#define CORRAL__T_i8_OUT "-128..127"
#define CORRAL__T_i16_CTYPE(...) int16_t
#define CORRAL__T_i16_KIND CORRAL__K_SINT
#define CORRAL__T_i16_IN(...) "-32768..32767"
#define CORRAL__T_i16_OUT "-32768..32767"
#define CORRAL__T_i32_CTYPE(...) int32_t
#define CORRAL__T_i32_KIND CORRAL__K_SINT
#define CORRAL__T_i32_IN(...) "-2147483648..2147483647"
#define CORRAL__T_i32_OUT "-2147483648..2147483647"
#define CORRAL__T_i64_CTYPE(...) int64_t
#define CORRAL__T_i64_KIND CORRAL__K_SINT
#define CORRAL__T_i64_IN(...) "integer()"
#define CORRAL__T_i64_OUT "integer()"
#define CORRAL__T_int_CTYPE(...) int
#define CORRAL__T_int_KIND CORRAL__K_SINT
#define CORRAL__T_int_IN(...) "integer()"
#define CORRAL__T_int_OUT "integer()"
#define CORRAL__T_long_CTYPE(...) long
#define CORRAL__T_long_KIND CORRAL__K_SINT
#define CORRAL__T_long_IN(...) "integer()"
#define CORRAL__T_long_OUT "integer()"
#define CORRAL__T_ssize_CTYPE(...) ptrdiff_t
#define CORRAL__T_ssize_KIND CORRAL__K_SINT
#define CORRAL__T_ssize_IN(...) "integer()"
#define CORRAL__T_ssize_OUT "integer()"
#define CORRAL__T_intptr_CTYPE(...) intptr_t
#define CORRAL__T_intptr_KIND CORRAL__K_SINT
#define CORRAL__T_intptr_IN(...) "integer()"
#define CORRAL__T_intptr_OUT "integer()"
#define CORRAL__T_u8_CTYPE(...) uint8_t
#define CORRAL__T_u8_KIND CORRAL__K_UINT
#define CORRAL__T_u8_IN(...) "byte()"
#define CORRAL__T_u8_OUT "byte()"
#define CORRAL__T_u16_CTYPE(...) uint16_t
#define CORRAL__T_u16_KIND CORRAL__K_UINT
#define CORRAL__T_u16_IN(...) "0..65535"
#define CORRAL__T_u16_OUT "0..65535"
#define CORRAL__T_u32_CTYPE(...) uint32_t
#define CORRAL__T_u32_KIND CORRAL__K_UINT
#define CORRAL__T_u32_IN(...) "0..4294967295"
#define CORRAL__T_u32_OUT "0..4294967295"
#define CORRAL__T_u64_CTYPE(...) uint64_t
#define CORRAL__T_u64_KIND CORRAL__K_UINT
#define CORRAL__T_u64_IN(...) "non_neg_integer()"
#define CORRAL__T_u64_OUT "non_neg_integer()"
#define CORRAL__T_uint_CTYPE(...) unsigned
#define CORRAL__T_uint_KIND CORRAL__K_UINT
#define CORRAL__T_uint_IN(...) "non_neg_integer()"
#define CORRAL__T_uint_OUT "non_neg_integer()"
#define CORRAL__T_ulong_CTYPE(...) unsigned long
#define CORRAL__T_ulong_KIND CORRAL__K_UINT
#define CORRAL__T_ulong_IN(...) "non_neg_integer()"
#define CORRAL__T_ulong_OUT "non_neg_integer()"
#define CORRAL__T_size_CTYPE(...) size_t
#define CORRAL__T_size_KIND CORRAL__K_UINT
#define CORRAL__T_size_IN(...) "non_neg_integer()"
#define CORRAL__T_size_OUT "non_neg_integer()"
#define CORRAL__T_uintptr_CTYPE(...) uintptr_t
#define CORRAL__T_uintptr_KIND CORRAL__K_UINT
#define CORRAL__T_uintptr_IN(...) "non_neg_integer()"
#define CORRAL__T_uintptr_OUT "non_neg_integer()"
#define CORRAL__T_double_CTYPE(...) double
#define CORRAL__T_double_KIND CORRAL__K_DOUBLE
#define CORRAL__T_double_IN(...) "number()"
#define CORRAL__T_double_OUT "float()"
#define CORRAL__T_bool_CTYPE(...) bool
#define CORRAL__T_bool_KIND CORRAL__K_BOOL
#define CORRAL__T_bool_IN(...) "boolean()"
#define CORRAL__T_bool_OUT "boolean()"
/* <stdbool.h> makes bool a macro for _Bool, so the word arrives as _Bool. */
#define CORRAL__T__Bool_CTYPE(...) bool
#define CORRAL__T__Bool_KIND CORRAL__K_BOOL
#define CORRAL__T__Bool_IN(...) "boolean()"
#define CORRAL__T__Bool_OUT "boolean()"
#define CORRAL__T_binary_CTYPE(...) corral_binary
#define CORRAL__T_binary_KIND CORRAL__K_BINARY
#define CORRAL__T_binary_IN(...) "binary()"
#define CORRAL__T_binary_OUT "binary()"
#define CORRAL__T_term_CTYPE(...) ERL_NIF_TERM
#define CORRAL__T_term_KIND CORRAL__K_TERM
#define CORRAL__T_term_IN(...) "term()"
#define CORRAL__T_term_OUT "term()"
#define CORRAL__T_void_CTYPE(...) void
#define CORRAL__T_void_KIND CORRAL__K_VOID
#define CORRAL__T_void_OUT ":ok"
#define CORRAL__T_res_CTYPE(type, name) type *
#define CORRAL__T_res_KIND CORRAL__K_RES
#define CORRAL__T_res_IN(type, name) "resource(" #type ")"
#define CORRAL__T_string_CTYPE(...) corral_binary
#define CORRAL__T_string_KIND CORRAL__K_STRING
#define CORRAL__T_string_IN(...) "String.t()"
#define CORRAL__T_cstring_CTYPE(...) const char *
#define CORRAL__T_cstring_KIND CORRAL__K_CSTRING
#define CORRAL__T_cstring_IN(...) "String.t()"
#define CORRAL__T_cstring_OUT "String.t()"
#define CORRAL__T_iodata_CTYPE(...) corral_binary
#define CORRAL__T_iodata_KIND CORRAL__K_IODATA
#define CORRAL__T_iodata_IN(...) "iodata()"
#define CORRAL__T_enum_CTYPE(table, name) unsigned
#define CORRAL__T_enum_KIND CORRAL__K_ENUM
#define CORRAL__T_enum_IN(...) "atom()"
#define CORRAL__T_list_CTYPE(elem, name) corral_array_##elem
#define CORRAL__T_list_KIND CORRAL__K_LIST
#define CORRAL__T_list_IN(elem, name) "[" CORRAL__T_##elem##_IN() "]"
#define CORRAL__T_opt_CTYPE(word, name) corral_opt_##word
#define CORRAL__T_opt_KIND CORRAL__K_OPT
#define CORRAL__T_opt_IN(word, name) CORRAL__T_##word##_IN() " | nil"
#define CORRAL__T_struct_CTYPE(shape, type, name) type
#define CORRAL__T_struct_KIND CORRAL__K_STRUCT
/* The spec names the shape (corral_shape of its name); the build puts the
 * shape's own type there (term() if it cannot read its CORRAL_STRUCT). */
#define CORRAL__T_struct_IN(shape, ...) "corral_shape" "(" #shape ")"
#define CORRAL__T_structs_CTYPE(shape, type, name) shape##__corral_array
#define CORRAL__T_structs_KIND CORRAL__K_STRUCTS
#define CORRAL__T_structs_IN(shape, ...) "[" "corral_shape" "(" #shape ")" "]"
#define CORRAL__T_index_CTYPE(bound, name) size_t
#define CORRAL__T_index_KIND CORRAL__K_INDEX
#define CORRAL__T_index_IN(...) "non_neg_integer()"

/* Results, in three layers, so that no macro expands inside itself:
 *   ret    a value, (ok, value), or (spec, "text", r) with r one of those two;
 *   value  a type word (i64), (res, Type) or (tuple, (word, name), ...).
 * Every piece dispatches on the form of its list: PLAIN for a bare word,
 * else the list's first item (ok, res, tuple, spec). The pieces take the
 * declaration's name: a tuple's C type and makers are named after it. */
#define CORRAL__IS_PAREN(x) CORRAL__IS_PAREN_(CORRAL__IS_PAREN_PROBE x)
#define CORRAL__IS_PAREN_PROBE(...) ~, 1
#define CORRAL__IS_PAREN_(...) CORRAL__IS_PAREN_SECOND(__VA_ARGS__, 0, ~)
#define CORRAL__IS_PAREN_SECOND(a, b, ...) b
#define CORRAL__FORM(x) CORRAL__CAT(CORRAL__FORM_, CORRAL__IS_PAREN(x))(x)
#define CORRAL__FORM_0(w) PLAIN
#define CORRAL__FORM_1(p) CORRAL__HEAD_ p
#define CORRAL__HEAD_(h, ...) h
#define CORRAL__SECOND_(a, b, ...) b
#define CORRAL__THIRD_(a, b, x, ...) x
#define CORRAL__REST_(h, ...) __VA_ARGS__

/* A form other than these does not compile; the compiler names the
 * undeclared identifier below, which says why. */
#define CORRAL__R_CHECK(ret) CORRAL__R_CHECK_(CORRAL__FORM(ret))
#define CORRAL__R_CHECK_(f) CORRAL__R_CHECK__(f)
#define CORRAL__R_CHECK__(f) _Static_assert(corral_result_forms_are_ok_res_tuple_or_spec_not_##f, "")
#define corral_result_forms_are_ok_res_tuple_or_spec_not_PLAIN 1
#define corral_result_forms_are_ok_res_tuple_or_spec_not_ok 1
#define corral_result_forms_are_ok_res_tuple_or_spec_not_res 1
#define corral_result_forms_are_ok_res_tuple_or_spec_not_tuple 1
#define corral_result_forms_are_ok_res_tuple_or_spec_not_spec 1

/* The top layer: (spec, "text", r) is r with its spec replaced. */
#define CORRAL__S_INNER(ret) CORRAL__CAT(CORRAL__S_INNER_, CORRAL__FORM(ret))(ret)
#define CORRAL__S_INNER_PLAIN(x) x
#define CORRAL__S_INNER_ok(x) x
#define CORRAL__S_INNER_res(x) x
#define CORRAL__S_INNER_tuple(x) x
#define CORRAL__S_INNER_spec(x) CORRAL__THIRD_ x
/* The value inside (ok, value). */
#define CORRAL__O_VALUE(r) CORRAL__CAT(CORRAL__O_VALUE_, CORRAL__FORM(r))(r)
#define CORRAL__O_VALUE_PLAIN(x) x
#define CORRAL__O_VALUE_ok(x) CORRAL__SECOND_ x
#define CORRAL__O_VALUE_res(x) x
#define CORRAL__O_VALUE_tuple(x) x
#define CORRAL__O_IS_OK(r) CORRAL__CAT(CORRAL__O_IS_OK_, CORRAL__FORM(r))
#define CORRAL__O_IS_OK_PLAIN 0
#define CORRAL__O_IS_OK_ok 1
#define CORRAL__O_IS_OK_res 0
#define CORRAL__O_IS_OK_tuple 0
#define CORRAL__R_VALUE(ret) CORRAL__O_VALUE(CORRAL__S_INNER(ret))

/* The body's C type: the word's, Type * for (res, Type), <name>_result for
 * a tuple. */
#define CORRAL__R_CTYPE(name, ret) CORRAL__V_CTYPE(name, CORRAL__R_VALUE(ret))
#define CORRAL__V_CTYPE(name, v) CORRAL__CAT(CORRAL__V_CTYPE_, CORRAL__FORM(v))(name, v)
#define CORRAL__V_CTYPE_PLAIN(name, w) CORRAL__T_##w##_CTYPE()
#define CORRAL__V_CTYPE_res(name, v) CORRAL__SECOND_ v *
#define CORRAL__V_CTYPE_tuple(name, v) name##_result
/* Whether the result is (ok, value): 1 or 0. */
#define CORRAL__R_IS_OK(ret) CORRAL__O_IS_OK(CORRAL__S_INNER(ret))
/* The maker of the NIF's result with a call context: an expression of c
 * and the body's value e. */
#define CORRAL__R_MAKE(name, ret, c, e)                                                           \
    CORRAL__CAT(CORRAL__R_MAKE_, CORRAL__R_IS_OK(ret))(name, CORRAL__R_VALUE(ret), c, e)
#define CORRAL__R_MAKE_0(name, v, c, e) CORRAL__CAT(CORRAL__V_MAKE_, CORRAL__FORM(v))(name, v, c, e)
#define CORRAL__R_MAKE_1(name, v, c, e) CORRAL__CAT(CORRAL__V_OK_MAKE_, CORRAL__FORM(v))(name, v, c, e)
#define CORRAL__V_MAKE_PLAIN(name, w, c, e) CORRAL__R_KINDOP(w, _MAKE)(c, e)
#define CORRAL__V_MAKE_res(name, v, c, e) corral__make_resource_result(c, (e))
#define CORRAL__V_MAKE_tuple(name, v, c, e) name##__corral_make_result(c, (e))
#define CORRAL__V_OK_MAKE_PLAIN(name, w, c, e) CORRAL__R_KINDOP(w, _OK_MAKE)(c, e)
#define CORRAL__V_OK_MAKE_res(name, v, c, e)                                                      \
    corral_make_ok_tuple(c, corral__make_resource_result(c, (e)))
#define CORRAL__V_OK_MAKE_tuple(name, v, c, e)                                                    \
    corral_make_ok_tuple(c, name##__corral_make_result(c, (e)))
/* The maker in a pure NIF: an expression of env, e and the corral_pure st. */
#define CORRAL__R_MAKE_PURE(name, ret, env, e, st)                                                \
    CORRAL__CAT(CORRAL__R_MAKE_PURE_, CORRAL__R_IS_OK(ret))(name, CORRAL__R_VALUE(ret), env, e, st)
#define CORRAL__R_MAKE_PURE_0(name, v, env, e, st)                                               \
    CORRAL__CAT(CORRAL__V_MAKE_PURE_, CORRAL__FORM(v))(name, v, env, e, st)
#define CORRAL__R_MAKE_PURE_1(name, v, env, e, st)                                               \
    CORRAL__CAT(CORRAL__V_OK_MAKE_PURE_, CORRAL__FORM(v))(name, v, env, e, st)
#define CORRAL__V_MAKE_PURE_PLAIN(name, w, env, e, st) CORRAL__R_KINDOP(w, _MAKE_PURE)(env, e, st)
#define CORRAL__V_MAKE_PURE_res(name, v, env, e, st) corral_resource_results_need_CORRAL_DEF_not_CORRAL_PURE(e)
#define CORRAL__V_MAKE_PURE_tuple(name, v, env, e, st) name##__corral_make_result_pure(env, (e), st)
#define CORRAL__V_OK_MAKE_PURE_PLAIN(name, w, env, e, st) CORRAL__R_KINDOP(w, _OK_MAKE_PURE)(env, e, st)
#define CORRAL__V_OK_MAKE_PURE_res CORRAL__V_MAKE_PURE_res
#define CORRAL__V_OK_MAKE_PURE_tuple(name, v, env, e, st)                                        \
    enif_make_tuple2(env, corral__atom_ok, name##__corral_make_result_pure(env, (e), st))
#define CORRAL__R_KINDOP(w, op) CORRAL__R_KINDOP_(w, op)
#define CORRAL__R_KINDOP_(w, op) CORRAL__CAT(CORRAL__T_##w##_KIND, op)

/* The result's spec: the text of (spec, "text", r), else made from the
 * types. */
#define CORRAL__R_OUT(name, ret) CORRAL__CAT(CORRAL__S_OUT_, CORRAL__FORM(ret))(name, ret)
#define CORRAL__S_OUT_PLAIN(name, r) CORRAL__O_OUT(name, r)
#define CORRAL__S_OUT_ok(name, r) CORRAL__O_OUT(name, r)
#define CORRAL__S_OUT_res(name, r) CORRAL__O_OUT(name, r)
#define CORRAL__S_OUT_tuple(name, r) CORRAL__O_OUT(name, r)
#define CORRAL__S_OUT_spec(name, r) CORRAL__SECOND_ r
#define CORRAL__O_OUT(name, r) CORRAL__CAT(CORRAL__O_OUT_, CORRAL__O_IS_OK(r))(name, CORRAL__O_VALUE(r))
#define CORRAL__O_OUT_0(name, v) CORRAL__CAT(CORRAL__V_OUT_, CORRAL__FORM(v))(name, v)
#define CORRAL__O_OUT_1(name, v) CORRAL__CAT(CORRAL__V_OK_OUT_, CORRAL__FORM(v))(name, v)
#define CORRAL__V_OUT_PLAIN(name, w) CORRAL__T_##w##_OUT
#define CORRAL__V_OUT_res(name, v) "resource(" CORRAL__STR(CORRAL__SECOND_ v) ")"
#define CORRAL__V_OUT_tuple(name, v) "{" CORRAL__TUPLE_EACH(CORRAL__E_OUT, CORRAL__SPEC_SEP, v) "}"
#define CORRAL__V_OK_OUT_PLAIN(name, w) CORRAL__R_KINDOP(w, _OK_OUT)(CORRAL__T_##w##_OUT)
#define CORRAL__V_OK_OUT_res(name, v) CORRAL__OK_OUT_OF(CORRAL__V_OUT_res(name, v))
#define CORRAL__V_OK_OUT_tuple(name, v) CORRAL__OK_OUT_OF(CORRAL__V_OUT_tuple(name, v))

/* What a result needs declared before the body: for a tuple, its struct
 * <name>_result (one member per element, named as the element) and its
 * maker, the call context's or the pure one (each only where it is used,
 * as the pure one refuses the words that need a call context). */
#define CORRAL__R_PREPARE(name, ret, kind) CORRAL__V_PREPARE(name, CORRAL__R_VALUE(ret), kind)
#define CORRAL__V_PREPARE(name, v, kind) CORRAL__CAT(CORRAL__V_PREPARE_, CORRAL__FORM(v))(name, v, kind)
#define CORRAL__V_PREPARE_PLAIN(name, v, kind)
#define CORRAL__V_PREPARE_res(name, v, kind)
#define CORRAL__V_PREPARE_tuple(name, v, kind)                                                    \
    typedef struct {                                                                             \
        CORRAL__TUPLE_EACH(CORRAL__E_FIELD, CORRAL__NOTHING, v)                                  \
    } name##_result;                                                                             \
    CORRAL__CAT(CORRAL__TUPLE_MAKER_, kind)(name, v)
#define CORRAL__TUPLE_MAKER_CALL(name, v)                                                         \
    static inline ERL_NIF_TERM name##__corral_make_result(corral_call *c, name##_result v_)      \
    {                                                                                            \
        ERL_NIF_TERM t_[CORRAL__TUPLE_N(v)];                                                     \
        CORRAL__TUPLE_EACH(CORRAL__E_MAKE, CORRAL__NOTHING, v)                                   \
        return enif_make_tuple_from_array(c->env, t_, CORRAL__TUPLE_N(v));                       \
    }
#define CORRAL__TUPLE_MAKER_PURE(name, v)                                                         \
    static inline ERL_NIF_TERM name##__corral_make_result_pure(ErlNifEnv *env_, name##_result v_, \
                                                                corral_pure *st_)                \
    {                                                                                            \
        ERL_NIF_TERM t_[CORRAL__TUPLE_N(v)];                                                     \
        CORRAL__TUPLE_EACH(CORRAL__E_MAKE_PURE, CORRAL__NOTHING, v)                              \
        (void)st_;                                                                               \
        return enif_make_tuple_from_array(env_, t_, CORRAL__TUPLE_N(v));                         \
    }
/* A tuple's elements, written as parameters are: (word, name) or
 * (res, Type, name). Made in order, so the first that raises is the
 * leftmost. */
#define CORRAL__TUPLE_N(v) CORRAL__TUPLE_N_(CORRAL__REST_ v)
#define CORRAL__TUPLE_N_(...) CORRAL__NARGS(__VA_ARGS__)
#define CORRAL__TUPLE_EACH(m, sep, v) CORRAL__TUPLE_EACH_(m, sep, CORRAL__REST_ v)
#define CORRAL__TUPLE_EACH_(m, sep, ...) CORRAL__EACH(m, sep, __VA_ARGS__)
#define CORRAL__E_FIELD(i, p) CORRAL__P_CTYPE(p) CORRAL__P_NAME(p);
#define CORRAL__E_MAKE(i, p) t_[i] = CORRAL__KINDED(p, _MAKE)(c, v_.CORRAL__P_NAME(p));
#define CORRAL__E_MAKE_PURE(i, p) t_[i] = CORRAL__KINDED(p, _MAKE_PURE)(env_, v_.CORRAL__P_NAME(p), st_);
#define CORRAL__E_OUT(i, p) CORRAL__KINDED(p, _E_OUT)(p)
#define CORRAL__P_OUT(p) CORRAL__APPLY(CORRAL__P_OUT_, p)
#define CORRAL__P_OUT_(w, ...) CORRAL__T_##w##_OUT
#define CORRAL__K_SINT_E_OUT CORRAL__P_OUT
#define CORRAL__K_UINT_E_OUT CORRAL__P_OUT
#define CORRAL__K_DOUBLE_E_OUT CORRAL__P_OUT
#define CORRAL__K_BOOL_E_OUT CORRAL__P_OUT
#define CORRAL__K_BINARY_E_OUT CORRAL__P_OUT
#define CORRAL__K_TERM_E_OUT CORRAL__P_OUT
#define CORRAL__K_CSTRING_E_OUT CORRAL__P_OUT
#define CORRAL__K_RES_E_OUT(p) "resource(" CORRAL__STR(CORRAL__P_QUAL(p)) ")"
#define CORRAL__K_RES_MAKE(c, e) corral__make_resource_result(c, (e))
#define CORRAL__K_RES_MAKE_PURE(env, e, st) corral_resource_results_need_CORRAL_DEF_not_CORRAL_PURE(e)

/* The (ok, word) makers of each kind, and their specs. */
#define CORRAL__OK_OUT_OF(s) "{:ok, " s "} | {:error, term()}"
#define CORRAL__K_SINT_OK_OUT CORRAL__OK_OUT_OF
#define CORRAL__K_UINT_OK_OUT CORRAL__OK_OUT_OF
#define CORRAL__K_DOUBLE_OK_OUT CORRAL__OK_OUT_OF
#define CORRAL__K_BOOL_OK_OUT CORRAL__OK_OUT_OF
#define CORRAL__K_BINARY_OK_OUT CORRAL__OK_OUT_OF
#define CORRAL__K_TERM_OK_OUT CORRAL__OK_OUT_OF
#define CORRAL__K_CSTRING_OK_OUT CORRAL__OK_OUT_OF
#define CORRAL__K_VOID_OK_OUT(s) ":ok | {:error, term()}"
#define CORRAL__K_SINT_OK_MAKE_PURE(env, e, st) enif_make_tuple2(env, corral__atom_ok, CORRAL__K_SINT_MAKE_PURE(env, e, st))
#define CORRAL__K_UINT_OK_MAKE_PURE(env, e, st) enif_make_tuple2(env, corral__atom_ok, CORRAL__K_UINT_MAKE_PURE(env, e, st))
#define CORRAL__K_DOUBLE_OK_MAKE_PURE(env, e, st)                                                 \
    enif_make_tuple2(env, corral__atom_ok, CORRAL__K_DOUBLE_MAKE_PURE(env, e, st))
#define CORRAL__K_BOOL_OK_MAKE_PURE(env, e, st) enif_make_tuple2(env, corral__atom_ok, CORRAL__K_BOOL_MAKE_PURE(env, e, st))
#define CORRAL__K_BINARY_OK_MAKE_PURE CORRAL__K_BINARY_MAKE_PURE
#define CORRAL__K_TERM_OK_MAKE_PURE CORRAL__K_TERM_MAKE_PURE
#define CORRAL__K_VOID_OK_MAKE_PURE CORRAL__K_VOID_MAKE_PURE
#define CORRAL__K_CSTRING_OK_MAKE_PURE(env, e, st)                                                \
    enif_make_tuple2(env, corral__atom_ok, CORRAL__K_CSTRING_MAKE_PURE(env, e, st))
#define CORRAL__K_SINT_OK_MAKE(c, e) corral_make_ok_tuple(c, CORRAL__K_SINT_MAKE(c, e))
#define CORRAL__K_UINT_OK_MAKE(c, e) corral_make_ok_tuple(c, CORRAL__K_UINT_MAKE(c, e))
#define CORRAL__K_DOUBLE_OK_MAKE(c, e) corral_make_ok_tuple(c, CORRAL__K_DOUBLE_MAKE(c, e))
#define CORRAL__K_BOOL_OK_MAKE(c, e) corral_make_ok_tuple(c, CORRAL__K_BOOL_MAKE(c, e))
#define CORRAL__K_BINARY_OK_MAKE(c, e) corral_make_ok_tuple(c, CORRAL__K_BINARY_MAKE(c, e))
#define CORRAL__K_TERM_OK_MAKE(c, e) corral_make_ok_tuple(c, CORRAL__K_TERM_MAKE(c, e))
#define CORRAL__K_CSTRING_OK_MAKE(c, e) corral_make_ok_tuple(c, CORRAL__K_CSTRING_MAKE(c, e))
#define CORRAL__K_VOID_OK_MAKE CORRAL__K_VOID_MAKE

/* Helpers of the kinds above. */

/* Decoding with a call context by the pure test: nothing is built for the
 * message until the test fails, when the getter's own check raises it. */
#define CORRAL__TRY_GET(p, c, i)                                                                 \
    __extension__({                                                                              \
        CORRAL__P_CTYPE(p) corral_v_;                                                            \
        if (CORRAL__UNLIKELY(!CORRAL__KINDED(p, _TRY)(p, (c)->env, (c)->argv[i], &corral_v_)))    \
            corral__typed_raise_bad(c, i, CORRAL__KINDED(p, _CHECK)(p));                         \
        corral_v_;                                                                               \
    })
CORRAL__NORETURN CORRAL__COLD void corral__typed_raise_bad(corral_call *c, int i, void (*check)(corral_call *c, int i));

static inline corral_term corral__typed_arg(corral_call *c, int i)
{
    corral_term t = {c->argv[i], {NULL, (uintptr_t)i, CORRAL__AT_ARG}};
    return t;
}

/* A pure NIF's resource parameter: an object of the type, not closable (a
 * closable type's check counts the call as a user until it ends, which
 * needs a call context: such calls take the careful path). */
static inline bool corral__try_resource(ErlNifEnv *env, ERL_NIF_TERM t, corral_resource_type *type, void **out)
{
    void *base;
    if (CORRAL__UNLIKELY(!enif_get_resource(env, t, type->rt, &base) || type->closable)) return false;
    *out = (char *)base + CORRAL__RESOURCE_HEADER;
    return true;
}

static inline bool corral__try_double(ErlNifEnv *env, ERL_NIF_TERM t, double *out)
{
    ErlNifSInt64 v;
    if (CORRAL__LIKELY(enif_get_double(env, t, out))) return true;
    if (!enif_get_int64(env, t, &v)) return false;
    *out = (double)v;
    return true;
}

static inline bool corral__try_bool(ErlNifEnv *env, ERL_NIF_TERM t, bool *out)
{
    (void)env;
    *out = t == corral__atom_true;
    return *out || t == corral__atom_false;
}

static inline bool corral__try_binary(ErlNifEnv *env, ERL_NIF_TERM t, corral_binary *out)
{
    ErlNifBinary b;
    if (!enif_inspect_binary(env, t, &b)) return false;
    out->data = b.data;
    out->size = b.size;
    return true;
}

static inline void corral__check_arg_double(corral_call *c, int i) { (void)corral_arg_double(c, i); }
static inline void corral__check_arg_bool(corral_call *c, int i) { (void)corral_get_bool(c, corral_arg_term(c, i)); }

static inline ERL_NIF_TERM corral__make_binary_of(corral_call *c, corral_binary b)
{
    return corral_make_binary(c, b.data, b.size);
}

ERL_NIF_TERM corral__make_double_pure(ErlNifEnv *env, double d, corral_pure *st);

/* A cstring result: a binary holding a copy of the bytes before the NUL;
 * NULL is a RuntimeError (raised, or reported by a pure body). */
ERL_NIF_TERM corral__make_cstring_result(corral_call *c, const char *s);
ERL_NIF_TERM corral__make_cstring_pure(ErlNifEnv *env, const char *s, corral_pure *st);

/* A list parameter (list, <word>, name) arrives as corral_array_<word>: the
 * elements converted into scratch memory of the call, as corral_get_array
 * converts them (data is NULL for an empty list). `hint` is the
 * parameter's last length (container.c). */
void *corral__get_array_hinted(corral_call *c, corral_term t, corral_type type, size_t *count, size_t *hint);
#define CORRAL__ARRAY_WORD(w, ctype, type)                                                        \
    typedef struct {                                                                             \
        const ctype *data;                                                                       \
        size_t count;                                                                            \
    } corral_array_##w;                                                                          \
    static inline corral_array_##w corral__get_array_##w(corral_call *c, corral_term t, size_t *hint) \
    {                                                                                            \
        corral_array_##w a;                                                                      \
        a.data = (const ctype *)corral__get_array_hinted(c, t, type, &a.count, hint);            \
        return a;                                                                                \
    }
CORRAL__ARRAY_WORD(i8, int8_t, CORRAL_I8)
CORRAL__ARRAY_WORD(i16, int16_t, CORRAL_I16)
CORRAL__ARRAY_WORD(i32, int32_t, CORRAL_I32)
CORRAL__ARRAY_WORD(i64, int64_t, CORRAL_I64)
CORRAL__ARRAY_WORD(u8, uint8_t, CORRAL_U8)
CORRAL__ARRAY_WORD(u16, uint16_t, CORRAL_U16)
CORRAL__ARRAY_WORD(u32, uint32_t, CORRAL_U32)
CORRAL__ARRAY_WORD(u64, uint64_t, CORRAL_U64)
CORRAL__ARRAY_WORD(int, int, CORRAL_INT)
CORRAL__ARRAY_WORD(uint, unsigned, CORRAL_UINT)
CORRAL__ARRAY_WORD(long, long, CORRAL_LONG)
CORRAL__ARRAY_WORD(ulong, unsigned long, CORRAL_ULONG)
CORRAL__ARRAY_WORD(size, size_t, CORRAL_SIZE)
CORRAL__ARRAY_WORD(ssize, ptrdiff_t, CORRAL_SSIZE)
CORRAL__ARRAY_WORD(double, double, CORRAL_DOUBLE)
CORRAL__ARRAY_WORD(bool, bool, CORRAL_BOOL)
/* bool arrives as _Bool (see the type words). */
typedef corral_array_bool corral_array__Bool;
static inline corral_array_bool corral__get_array__Bool(corral_call *c, corral_term t, size_t *hint)
{
    return corral__get_array_bool(c, t, hint);
}
CORRAL__ARRAY_WORD(string, corral_binary, CORRAL_STRING)
CORRAL__ARRAY_WORD(binary, corral_binary, CORRAL_BINARY)
typedef const char *corral__cstring;
CORRAL__ARRAY_WORD(cstring, corral__cstring, CORRAL_CSTRING)

/* An optional parameter (opt, word, name) arrives as corral_opt_<word>:
 * `present` is false for nil, else `value` holds the value, checked as the
 * word checks it (a bad non-nil value gets the word's message, saying
 * "expected nil or ..."). */
#define CORRAL__OPT_TYPE(w, ctype)                                                               \
    typedef struct {                                                                             \
        bool present;                                                                            \
        ctype value;                                                                             \
    } corral_opt_##w;                                                                            \
    static inline corral_opt_##w corral__get_opt_##w(corral_call *c, corral_term t)              \
    {                                                                                            \
        corral_opt_##w o;                                                                        \
        __builtin_memset(&o, 0, sizeof o);                                                       \
        if (t.term != corral__atom_nil) {                                                        \
            o.present = true;                                                                    \
            c->flags |= CORRAL__CALL_OPTIONAL;                                                   \
            o.value = corral_get_##w(c, t);                                                      \
            c->flags &= ~CORRAL__CALL_OPTIONAL;                                                  \
        }                                                                                        \
        return o;                                                                                \
    }
/* The words a pure body may take as optional too (w is pasted only, so
 * bool stays bool). */
#define CORRAL__OPT_TRY(w)                                                                       \
    static inline bool corral__try_opt_##w(ErlNifEnv *env, ERL_NIF_TERM t, corral_opt_##w *o)   \
    {                                                                                            \
        __builtin_memset(o, 0, sizeof *o);                                                       \
        if (t == corral__atom_nil) return true;                                                  \
        o->present = true;                                                                       \
        return corral__try_##w(env, t, &o->value);                                               \
    }
CORRAL__OPT_TYPE(i8, int8_t)
CORRAL__OPT_TYPE(i16, int16_t)
CORRAL__OPT_TYPE(i32, int32_t)
CORRAL__OPT_TYPE(i64, int64_t)
CORRAL__OPT_TYPE(u8, uint8_t)
CORRAL__OPT_TYPE(u16, uint16_t)
CORRAL__OPT_TYPE(u32, uint32_t)
CORRAL__OPT_TYPE(u64, uint64_t)
CORRAL__OPT_TYPE(int, int)
CORRAL__OPT_TYPE(uint, unsigned)
CORRAL__OPT_TYPE(long, long)
CORRAL__OPT_TYPE(ulong, unsigned long)
CORRAL__OPT_TYPE(size, size_t)
CORRAL__OPT_TYPE(ssize, ptrdiff_t)
CORRAL__OPT_TYPE(double, double)
CORRAL__OPT_TYPE(bool, bool)
CORRAL__OPT_TYPE(binary, corral_binary)
CORRAL__OPT_TYPE(string, corral_binary)
CORRAL__OPT_TRY(i8)
CORRAL__OPT_TRY(i16)
CORRAL__OPT_TRY(i32)
CORRAL__OPT_TRY(i64)
CORRAL__OPT_TRY(u8)
CORRAL__OPT_TRY(u16)
CORRAL__OPT_TRY(u32)
CORRAL__OPT_TRY(u64)
CORRAL__OPT_TRY(int)
CORRAL__OPT_TRY(uint)
CORRAL__OPT_TRY(long)
CORRAL__OPT_TRY(ulong)
CORRAL__OPT_TRY(size)
CORRAL__OPT_TRY(ssize)
CORRAL__OPT_TRY(double)
CORRAL__OPT_TRY(bool)
CORRAL__OPT_TRY(binary)
/* An optional C string (opt, cstring, name) is a plain `const char *`,
 * NULL for nil, as C libraries take one. */
typedef const char *corral_opt_cstring;
static inline const char *corral__get_opt_cstring(corral_call *c, corral_term t)
{
    const char *s = NULL;
    if (t.term != corral__atom_nil) {
        c->flags |= CORRAL__CALL_OPTIONAL;
        s = corral_get_cstring(c, t);
        c->flags &= ~CORRAL__CALL_OPTIONAL;
    }
    return s;
}
/* bool arrives as _Bool. */
typedef corral_opt_bool corral_opt__Bool;
static inline corral_opt_bool corral__get_opt__Bool(corral_call *c, corral_term t) { return corral__get_opt_bool(c, t); }
static inline bool corral__try_opt__Bool(ErlNifEnv *env, ERL_NIF_TERM t, corral_opt_bool *o)
{
    return corral__try_opt_bool(env, t, o);
}

/* The cold ends of a pure NIF. When the pure tests refuse an argument (or
 * meet a closable resource), the call runs again the careful way: `run`
 * decodes the arguments in a call context with CORRAL_DEF's getters (the
 * first bad one raises its exact message and route; a closable resource
 * counts the call as a user until the end), then runs the body. And a
 * failure the body reported is raised (or made the {:error, reason}
 * result) by corral__pure_report, in a call context. */
ERL_NIF_TERM corral__typed_careful(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[], corral_nif_fn self,
                                   ERL_NIF_TERM (*run)(corral_call *c));
CORRAL__NORETURN CORRAL__COLD void corral__pure_report(corral_call *c, const corral_pure *st, bool ok_result);
ERL_NIF_TERM corral__pure_failed(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[], corral_nif_fn self,
                                 const corral_pure *st, bool ok_result);

/* The CORRAL_DOC record of a typed function: its spec, made from the types
 * (reserved = 1 marks it as generated). */
#define CORRAL__TYPED_RECORD(name, ret, ...)                                                     \
    _Static_assert(sizeof(#name "(" CORRAL__EACH(CORRAL__P_SPEC, CORRAL__SPEC_SEP, ##__VA_ARGS__) \
                          ") :: " CORRAL__R_OUT(name, ret)) <= 512,                            \
                   "typed declaration of " #name ": the generated spec is over 512 bytes");       \
    static const corral_doc_record name##__corral_spec CORRAL__SECTION("corral_docs") = {        \
        "CORRDOC", CORRAL__NARGS(__VA_ARGS__), 1, #name,                                          \
        #name "(" CORRAL__EACH(CORRAL__P_SPEC, CORRAL__SPEC_SEP, ##__VA_ARGS__) ") :: " CORRAL__R_OUT(name, ret), ""}

/* Declares the NIF `name` with a pure body: see the section's comment.
 * `ret` is a result of the table (a type word, void, (ok, value), a tuple,
 * (spec, "text", result)); each further argument is a parameter
 * (word, name). The body that follows is the C function
 *     <ret C type> body(corral_pure *c, <C type> name, ...)
 * List it in CORRAL_MODULE with CORRAL_EXPORT(name).
 * Checks: each argument as the corral_arg_* of its word (same messages and
 * routes), before the body runs; the result as the word's maker (a NaN or
 * infinite double raises ArithmeticError). A word that needs a call context
 * (string, cstring, iodata, enum, list, struct and structs parameters; res,
 * term or binary as the result or in a tuple) does not compile here: use
 * CORRAL_DEF.
 * Raises: ArgumentError for a bad argument; what the body reported with
 * corral_fail or the checked arithmetic, after it returns.
 * Owns: binaries are views valid until the body returns; nothing else. */
#define CORRAL_PURE(name, ret, ...)                                                              \
    enum { name##__corral_arity = CORRAL__NARGS(__VA_ARGS__) };                                  \
    CORRAL__R_CHECK(ret);                                                                        \
    CORRAL__R_WORD_CHECK(ret)                                                                    \
    CORRAL__EACH(CORRAL__P_WORD_CHECK, CORRAL__NOTHING, ##__VA_ARGS__)                           \
    CORRAL__TYPED_RECORD(name, ret, ##__VA_ARGS__);                                              \
    CORRAL__R_PREPARE(name, ret, PURE)                                                           \
    static inline CORRAL__R_CTYPE(name, ret) name##__corral_pure(                                \
        corral_pure *c CORRAL__EACH(CORRAL__P_PARAM, CORRAL__NOTHING, ##__VA_ARGS__));          \
    CORRAL_NIF_EXTERN(name);                                                                     \
    /* The careful path, out of line: CORRAL_DEF's decoding, then the body. */                  \
    static CORRAL__COLD __attribute__((noinline)) ERL_NIF_TERM name##__corral_careful(corral_call *c) \
    {                                                                                            \
        CORRAL__EACH(CORRAL__P_DECODE_CALL, CORRAL__NOTHING, ##__VA_ARGS__)                      \
        corral_pure pure_;                                                                       \
        pure_.exception = NULL;                                                                  \
        ERL_NIF_TERM out_ = CORRAL__R_MAKE_PURE(                                                 \
            name, ret, c->env,                                                                   \
            name##__corral_pure(&pure_ CORRAL__EACH(CORRAL__P_PASS_NAME, CORRAL__NOTHING, ##__VA_ARGS__)), \
            &pure_);                                                                             \
        if (CORRAL__UNLIKELY(pure_.exception != NULL)) corral__pure_report(c, &pure_, CORRAL__R_IS_OK(ret)); \
        return out_;                                                                             \
    }                                                                                            \
    /* The entry, for `name` and its CORRAL_ALIASes: self_ is the function  \
     * the VM called, which messages name (a parameter: one of the locals   \
     * may have the NIF's name). */                                                             \
    static inline __attribute__((always_inline, unused)) ERL_NIF_TERM name##__corral_entry(     \
        ErlNifEnv *corral_env_, int corral_argc_, const ERL_NIF_TERM corral_argv_[],            \
        corral_nif_fn const self_)                                                               \
    {                                                                                            \
        /* The arity is a constant here, so the failure paths need not keep  \
         * argc in a register. */                                                                \
        enum { arity_ = CORRAL__NARGS(__VA_ARGS__) };                                            \
        (void)corral_argc_;                                                                      \
        CORRAL__EACH(CORRAL__P_DECLARE_PURE, CORRAL__NOTHING, ##__VA_ARGS__)                     \
        if (CORRAL__UNLIKELY(!(1 CORRAL__EACH(CORRAL__P_TRY_PURE, CORRAL__NOTHING, ##__VA_ARGS__)))) \
            return corral__typed_careful(corral_env_, arity_, corral_argv_, self_, name##__corral_careful); \
        corral_pure pure_;                                                                       \
        pure_.exception = NULL;                                                                  \
        ERL_NIF_TERM out_ = CORRAL__R_MAKE_PURE(                                                 \
            name, ret, corral_env_,                                                              \
            name##__corral_pure(&pure_ CORRAL__EACH(CORRAL__P_PASS_NAME, CORRAL__NOTHING, ##__VA_ARGS__)), \
            &pure_);                                                                             \
        if (CORRAL__UNLIKELY(pure_.exception != NULL))                                           \
            return corral__pure_failed(corral_env_, arity_, corral_argv_, self_, &pure_, CORRAL__R_IS_OK(ret)); \
        return out_;                                                                             \
    }                                                                                            \
    ERL_NIF_TERM name(ErlNifEnv *corral_env_, int corral_argc_, const ERL_NIF_TERM corral_argv_[]) \
    {                                                                                            \
        return name##__corral_entry(corral_env_, corral_argc_, corral_argv_, name);             \
    }                                                                                            \
    static inline CORRAL__R_CTYPE(name, ret) name##__corral_pure(                                \
        corral_pure *c __attribute__((unused)) CORRAL__EACH(CORRAL__P_PARAM, CORRAL__NOTHING, ##__VA_ARGS__))

/* Declares the NIF `name` with a body that has the call context: as
 * CORRAL_PURE, but the body is
 *     <ret C type> body(corral_call *c, <C type> name, ...)
 * and may use everything a CORRAL_NIF body may (resources, locks, scratch
 * memory, makers, raising). Parameters may also be (res, Type, name): a
 * resource of a type declared with CORRAL_RESOURCE or
 * CORRAL_CLOSABLE_RESOURCE, as corral_arg_resource checks it.
 * Checks: each argument as its corral_arg_*, in order, before the body.
 * Raises: ArgumentError for a bad argument; whatever the body raises.
 * Owns: as CORRAL_NIF. */
#define CORRAL_DEF(name, ret, ...) CORRAL__TYPED_CONTEXT(CORRAL_NIF, name, ret, ##__VA_ARGS__)

/* A typed body with the call context, defined by `nif` (CORRAL_NIF or
 * CORRAL_THREAD_NIF): the arguments decoded in order, the body called with
 * them, its result made by the return word. */
#define CORRAL__TYPED_CONTEXT(nif, name, ret, ...)                                               \
    enum { name##__corral_arity = CORRAL__NARGS(__VA_ARGS__) };                                  \
    CORRAL__R_CHECK(ret);                                                                        \
    CORRAL__R_WORD_CHECK(ret)                                                                    \
    CORRAL__EACH(CORRAL__P_WORD_CHECK, CORRAL__NOTHING, ##__VA_ARGS__)                           \
    CORRAL__TYPED_RECORD(name, ret, ##__VA_ARGS__);                                              \
    CORRAL__R_PREPARE(name, ret, CALL)                                                           \
    static CORRAL__R_CTYPE(name, ret) name##__corral_typed(                                      \
        corral_call *c CORRAL__EACH(CORRAL__P_PARAM, CORRAL__NOTHING, ##__VA_ARGS__));          \
    nif(name)                                                                                    \
    {                                                                                            \
        CORRAL__EACH(CORRAL__P_DECODE_CALL, CORRAL__NOTHING, ##__VA_ARGS__)                      \
        return CORRAL__R_MAKE(                                                                   \
            name, ret, c,                                                                        \
            name##__corral_typed(c CORRAL__EACH(CORRAL__P_PASS_NAME, CORRAL__NOTHING, ##__VA_ARGS__))); \
    }                                                                                            \
    static CORRAL__R_CTYPE(name, ret) name##__corral_typed(                                      \
        corral_call *c CORRAL__EACH(CORRAL__P_PARAM, CORRAL__NOTHING, ##__VA_ARGS__))

/* Declares a thread job `name` (see CORRAL_THREAD_NIF) with a typed body:
 * as CORRAL_DEF, but the arguments are decoded and the body runs on
 * Corral's thread pool, where corral_cancelled(c) tells whether the caller
 * gave up. The module gets name/n, which waits for the result, and
 * name_async/n. List it with CORRAL_EXPORT_THREAD(name).
 * Checks: as CORRAL_DEF, on the pool thread. Raises: as CORRAL_DEF, in the
 * caller. Owns: as CORRAL_THREAD_NIF. */
#define CORRAL_DEF_THREAD(name, ret, ...) CORRAL__TYPED_CONTEXT(CORRAL_THREAD_NIF, name, ret, ##__VA_ARGS__)

/* The CORRAL_MODULE row of a typed NIF: its Elixir name is the C name, its
 * arity that of the declaration.
 * Checks: at compile time, that name was declared with CORRAL_PURE or
 * CORRAL_DEF. Raises: never. Owns: static. */
#define CORRAL_EXPORT(name) {#name, name##__corral_arity, 0, name}

/* CORRAL_EXPORT with flags: CORRAL_DIRTY_CPU or CORRAL_DIRTY_IO.
 * Checks: as CORRAL_EXPORT. Raises: never. Owns: static. */
#define CORRAL_EXPORT_FLAGS(name, flags) {#name, name##__corral_arity, (flags), name}

/* The CORRAL_MODULE row of a typed thread job (CORRAL_DEF_THREAD).
 * Checks: at compile time, that name was declared with CORRAL_DEF_THREAD.
 * Raises: never. Owns: static. */
#define CORRAL_EXPORT_THREAD(name) {#name, name##__corral_arity, CORRAL__THREAD, name##__corral_job}

/* A second name for the typed NIF `name` (CORRAL_PURE or CORRAL_DEF),
 * for a second row: `alias` is an erl_nif function of its own that decodes
 * and runs name's body, so CORRAL_EXPORT(alias) or
 * CORRAL_EXPORT_FLAGS(alias, CORRAL_DIRTY_CPU) lists it, its messages name
 * it ("Mod.alias/2: argument 1: ..."), and it gets name's spec (and doc)
 * under its own name. Write it at file scope after the declaration. (A row
 * CORRAL_FN("alias", name, n) instead shares name's function: its messages
 * name the first row, and it has no spec.)
 * Checks: at compile time, that name is a typed NIF declared with
 * CORRAL_PURE or CORRAL_DEF (not CORRAL_DEF_THREAD); at build time, that
 * alias is listed in the table. Raises: as name. Owns: as name. */
#define CORRAL_ALIAS(alias, name)                                                                \
    enum { alias##__corral_arity = name##__corral_arity };                                       \
    static const corral_doc_record alias##__corral_alias CORRAL__SECTION("corral_docs") = {      \
        "CORRDOC", name##__corral_arity, 3, #alias, #name, ""};                                  \
    CORRAL_NIF_EXTERN(alias);                                                                    \
    ERL_NIF_TERM alias(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])                      \
    {                                                                                            \
        return name##__corral_entry(env, argc, argv, alias);                                     \
    }                                                                                            \
    _Static_assert(1, "")

/* The documentation of a typed NIF (its spec comes from the types). Write
 * it anywhere at file scope, before or after the declaration.
 * Checks: at compile time, that a typed NIF of that name exists, and the
 * length (1536 bytes). Raises: never. Owns: static. */
#define CORRAL_DOC_OF(name, doc)                                                                 \
    _Static_assert(sizeof(doc) <= 1536, "CORRAL_DOC_OF: doc too long (1536 bytes)");             \
    static const corral_doc_record name##__corral_doc_of CORRAL__SECTION("corral_docs") = {      \
        "CORRDOC", 0, 2, #name, "", doc}

/* }====================================================================== */

/* {======================================================================
 * Locks
 *
 * corral_mutex and corral_rwlock are usable when zeroed, so they can live
 * inside a resource object without an init call. Taking one through the
 * call registers its release: it is unlocked when the call returns or
 * raises. Lock in one fixed order (for example by address) when a call takes
 * several, and never block on a lock held across a long computation.
 * Outside a call (resource callbacks, threads of your own) lock and unlock
 * by hand with corral_mutex_lock / corral_mutex_unlock and
 * corral_rwlock_read / corral_rwlock_read_unlock and corral_rwlock_write /
 * corral_rwlock_write_unlock. No lock
 * needs a destroy call: freeing its memory is enough, on every platform.
 *
 * Two builds of the same locks. By default they are Corral's own one-word
 * locks (below). With CORRAL_VM_LOCKS (`vm_locks: true`, and always in
 * debug builds: CORRAL_DEBUG implies it) each one is an erl_nif lock
 * (enif_mutex_create, enif_rwlock_create), made the first time it is
 * taken, so that the VM's tools see them: lcnt in a lock-counting
 * emulator (`erl -emu_type lcnt`) and the lock checker of a debug one. A
 * lock is named "<module>[mutex <file>:<line>]" or "<module>[rwlock ...]",
 * after the place in C that first took it; the checker orders locks by the
 * part before "[", so it sees a library's locks as one kind, ordered
 * against other libraries' and the VM's. The code you write is the same
 * in both builds; a lock is one word in both (a pointer with VM locks), so
 * only a library built the one way or the other as a whole is supported.
 * With VM locks, the erl_nif lock of a lock inside a resource object is
 * destroyed when the object's memory goes; for a lock in memory of your
 * own, call corral_mutex_forget / corral_rwlock_forget before freeing it
 * (without it, the erl_nif lock stays until a lock is made again at that
 * address, or the library is unloaded); static locks last as long as the
 * library. In release builds forgetting is nothing.
 * ======================================================================= */

#ifdef CORRAL_VM_LOCKS

typedef struct {
    ErlNifMutex *vm; /* NULL until first taken */
} corral_mutex;

typedef struct {
    ErlNifRWLock *vm;
} corral_rwlock;

/* Where a lock is taken, for the name of the erl_nif lock it makes the
 * first time: the public ways to take a lock are macros in this build
 * (after their functions, below), so that this is the caller's place. */
#define CORRAL__LOCK_SITE __FILE__ ":" CORRAL__STR(__LINE__)

/* The erl_nif lock of m (or l), made and registered the first time; the
 * VM out of memory for it ends the VM, as its own lock allocations do. */
ErlNifMutex *corral__vm_mutex(corral_mutex *m, const char *site);
ErlNifRWLock *corral__vm_rwlock(corral_rwlock *l, const char *site);

static inline ErlNifMutex *corral__vm_mutex_of(corral_mutex *m, const char *site)
{
    ErlNifMutex *x = __atomic_load_n(&m->vm, __ATOMIC_ACQUIRE);
    return CORRAL__LIKELY(x != NULL) ? x : corral__vm_mutex(m, site);
}

static inline ErlNifRWLock *corral__vm_rwlock_of(corral_rwlock *l, const char *site)
{
    ErlNifRWLock *x = __atomic_load_n(&l->vm, __ATOMIC_ACQUIRE);
    return CORRAL__LIKELY(x != NULL) ? x : corral__vm_rwlock(l, site);
}

static inline void corral__mutex_lock_at(corral_mutex *m, const char *site)
{
    enif_mutex_lock(corral__vm_mutex_of(m, site));
}

static inline void corral__read_lock_at(corral_rwlock *l, const char *site)
{
    enif_rwlock_rlock(corral__vm_rwlock_of(l, site));
}

static inline void corral__write_lock_at(corral_rwlock *l, const char *site)
{
    enif_rwlock_rwlock(corral__vm_rwlock_of(l, site));
}

#define corral__mutex_lock(m) corral__mutex_lock_at((m), CORRAL__LOCK_SITE)
#define corral__read_lock(l) corral__read_lock_at((l), CORRAL__LOCK_SITE)
#define corral__write_lock(l) corral__write_lock_at((l), CORRAL__LOCK_SITE)

/* A release follows a take, so the lock exists. */
static inline void corral__mutex_release(corral_mutex *m) { enif_mutex_unlock(m->vm); }
static inline void corral__read_release(corral_rwlock *l) { enif_rwlock_runlock(l->vm); }
static inline void corral__write_release(corral_rwlock *l) { enif_rwlock_rwunlock(l->vm); }

#else /* Corral's one-word locks */

/* One word each, on every platform. A zeroed pthread lock is an unlocked
 * one only on Linux's C libraries (macOS locks carry a signature word set by
 * their initializer; the BSDs' allocate on first use and leak unless
 * destroyed), and the system's locks cost a call and tens of instructions
 * each way where this one is a compare-and-swap to take a free lock and one
 * atomic operation to release it, both inline. Waiting threads sleep on a
 * futex on Linux, elsewhere on condition variables shared by all locks
 * (c_src/corral/lock.c; CORRAL_PORTABLE_LOCKS selects the shared ones on
 * Linux too, so both ways of waiting are tested).
 *
 * Mutex word: 0 free, 1 locked, 2 locked with waiters. Read-write word:
 * bit 0 a writer holds it, bit 1 someone waits, bits 2 and up count the
 * readers. Readers enter whenever no writer holds the lock, as with glibc's
 * default read-write lock. */
typedef struct {
    unsigned state;
} corral_mutex;

typedef struct {
    unsigned state;
} corral_rwlock;

#define CORRAL__LOCK_WRITER 1u
#define CORRAL__LOCK_WAITING 2u
#define CORRAL__LOCK_READER 4u

void corral__mutex_wait(corral_mutex *m);
void corral__read_wait(corral_rwlock *l);
void corral__write_wait(corral_rwlock *l);
void corral__lock_wake_one(unsigned *word);
void corral__lock_wake_all(unsigned *word);
void corral__read_release_wake(corral_rwlock *l);

static inline void corral__mutex_lock(corral_mutex *m)
{
    unsigned expected = 0;
    if (!__atomic_compare_exchange_n(&m->state, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        corral__mutex_wait(m);
}

static inline void corral__read_lock(corral_rwlock *l)
{
    unsigned s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
    if ((s & CORRAL__LOCK_WRITER) ||
        !__atomic_compare_exchange_n(&l->state, &s, s + CORRAL__LOCK_READER, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        corral__read_wait(l);
}

static inline void corral__write_lock(corral_rwlock *l)
{
    unsigned expected = 0;
    if (!__atomic_compare_exchange_n(&l->state, &expected, CORRAL__LOCK_WRITER, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        corral__write_wait(l);
}

static inline void corral__mutex_release(corral_mutex *m)
{
    if (CORRAL__UNLIKELY(__atomic_exchange_n(&m->state, 0u, __ATOMIC_RELEASE) == 2u)) corral__lock_wake_one(&m->state);
}

static inline void corral__read_release(corral_rwlock *l)
{
    if (CORRAL__UNLIKELY(__atomic_fetch_sub(&l->state, CORRAL__LOCK_READER, __ATOMIC_RELEASE) ==
                         (CORRAL__LOCK_READER | CORRAL__LOCK_WAITING)))
        corral__read_release_wake(l);
}

/* While a writer holds the lock the word is the writer bit, maybe with
 * the waiting bit (readers and writers only mark that they wait), so the
 * release is one exchange. */
static inline void corral__write_release(corral_rwlock *l)
{
    if (CORRAL__UNLIKELY(__atomic_exchange_n(&l->state, 0u, __ATOMIC_RELEASE) & CORRAL__LOCK_WAITING))
        corral__lock_wake_all(&l->state);
}

#endif /* CORRAL_VM_LOCKS */

/* The releases of the locks a call took, as cleanup functions (corral_defer's
 * form). Hidden, so that the end of a call compares with their addresses
 * directly rather than through the global offset table. */
CORRAL__HIDDEN void corral__unlock_mutex(void *m);
CORRAL__HIDDEN void corral__unlock_read(void *l);
CORRAL__HIDDEN void corral__unlock_write(void *l);

/* The end of a call that returned: its cleanups, newest first. The common
 * cases are inline: nothing to release, one lock Corral handed out, or the
 * reference of an object the call created (released here rather than
 * through their functions). Anything else (more
 * entries, other cleanups, scratch memory) goes to corral__finish, out of
 * line so that this path needs few registers. */
static inline void corral__end(corral_call *c)
{
    if (CORRAL__LIKELY(c->arena == NULL)) {
        unsigned n = c->ncleanup;
        if (CORRAL__LIKELY(n == 0)) return;
        if (n == 1) {
            void (*fn)(void *) = c->cleanup[0].fn;
            void *arg = c->cleanup[0].arg;
            if (fn == corral__unlock_read) {
                c->ncleanup = 0;
                corral__read_release((corral_rwlock *)arg);
                return;
            }
            if (fn == corral__unlock_write) {
                c->ncleanup = 0;
                corral__write_release((corral_rwlock *)arg);
                return;
            }
            if (fn == corral__unlock_mutex) {
                c->ncleanup = 0;
                corral__mutex_release((corral_mutex *)arg);
                return;
            }
            if (fn == corral__release_created) {
                c->ncleanup = 0;
                enif_release_resource((char *)arg - CORRAL__RESOURCE_HEADER);
                return;
            }
        }
    }
    corral__finish(c);
}

/* Locks m outside a call's cleanups: in resource callbacks (down, stop,
 * destructor), in threads of your own, which have no call to release it,
 * and in CORRAL_PURE bodies, which cannot raise, so nothing can leave
 * between the lock and the unlock (no frame, no cleanup entry: the fastest
 * way to guard a small read or write). Never in a body that can raise: use
 * corral_lock there. Unlock with corral_mutex_unlock.
 * Checks: nothing. Raises: never. Owns: the caller unlocks m. */
static inline void corral_mutex_lock(corral_mutex *m) { corral__mutex_lock(m); }

/* Unlocks a mutex taken with corral_mutex_lock.
 * Checks: nothing (unlocking a mutex this thread does not hold is undefined,
 * as with any mutex). Raises: never. Owns: nothing. */
static inline void corral_mutex_unlock(corral_mutex *m) { corral__mutex_release(m); }

/* Takes l for reading outside a call's cleanups: callbacks, threads of
 * your own, CORRAL_PURE bodies (see corral_mutex_lock; in a body that can
 * raise use corral_read_lock). Unlock with corral_rwlock_read_unlock.
 * Checks: nothing. Raises: never. Owns: the caller unlocks l. */
static inline void corral_rwlock_read(corral_rwlock *l) { corral__read_lock(l); }

/* Takes l for writing outside a call's cleanups, as corral_rwlock_read
 * (in a body that can raise use corral_write_lock). Unlock with
 * corral_rwlock_write_unlock.
 * Checks: nothing. Raises: never. Owns: the caller unlocks l. */
static inline void corral_rwlock_write(corral_rwlock *l) { corral__write_lock(l); }

/* Releases l, taken for reading with corral_rwlock_read: one atomic
 * subtraction. (There is one release per way of taking, as in erl_nif's
 * runlock and rwunlock: a release that first read the word to tell a
 * reader from a writer made a small pure accessor 10 % slower.)
 * Checks: nothing (releasing a lock this thread does not hold for reading
 * is undefined, as with any lock). Raises: never. Owns: nothing. */
static inline void corral_rwlock_read_unlock(corral_rwlock *l) { corral__read_release(l); }

/* Releases l, taken for writing with corral_rwlock_write: one exchange.
 * Checks: nothing (as corral_rwlock_read_unlock). Raises: never.
 * Owns: nothing. */
static inline void corral_rwlock_write_unlock(corral_rwlock *l) { corral__write_release(l); }

/* Locks m for the rest of the call.
 * Checks: nothing (locking the same mutex twice in one call deadlocks, as with
 * any non-recursive mutex). Raises: never.
 * Owns: the call unlocks m when it returns or raises; corral_run_now on the
 * returned id unlocks early. */
static inline corral_defer_id corral_lock(corral_call *c, corral_mutex *m)
{
    corral__mutex_lock(m);
    return corral__defer(c, corral__unlock_mutex, m);
}

/* Takes l for reading for the rest of the call.
 * Checks: nothing. Raises: never.
 * Owns: the call releases l when it returns or raises; corral_run_now on the
 * returned id releases early. */
static inline corral_defer_id corral_read_lock(corral_call *c, corral_rwlock *l)
{
    corral__read_lock(l);
    return corral__defer(c, corral__unlock_read, l);
}

/* Takes l for writing for the rest of the call.
 * Checks: nothing. Raises: never.
 * Owns: as corral_read_lock. */
static inline corral_defer_id corral_write_lock(corral_call *c, corral_rwlock *l)
{
    corral__write_lock(l);
    return corral__defer(c, corral__unlock_write, l);
}

/* Frees what m holds beyond its word: nothing in release builds; with
 * CORRAL_VM_LOCKS, its erl_nif lock. Needed only before freeing memory of
 * your own (malloc, enif_alloc) that holds a lock that was taken; never for
 * a lock in a resource object or in static memory. m must not be held, and
 * is a free lock again after (zeroed).
 * Checks: nothing. Raises: never. Owns: nothing. */
void corral_mutex_forget(corral_mutex *m);

/* As corral_mutex_forget, for a read-write lock.
 * Checks: nothing. Raises: never. Owns: nothing. */
void corral_rwlock_forget(corral_rwlock *l);

/* The number of erl_nif locks this library holds for its corral_mutex and
 * corral_rwlock locks (CORRAL_VM_LOCKS builds; 0 in release builds): for
 * tests that their memory is given back, and for diagnostics.
 * Checks: nothing. Raises: never. Owns: nothing. */
size_t corral_vm_lock_count(void);

#ifdef CORRAL_VM_LOCKS
/* The public ways to take a lock, carrying the caller's place (see
 * CORRAL__LOCK_SITE). Each argument is evaluated once, as with the
 * functions. */
static inline corral_defer_id corral__lock_at(corral_call *c, corral_mutex *m, const char *site)
{
    corral__mutex_lock_at(m, site);
    return corral__defer(c, corral__unlock_mutex, m);
}

static inline corral_defer_id corral__read_lock_call_at(corral_call *c, corral_rwlock *l, const char *site)
{
    corral__read_lock_at(l, site);
    return corral__defer(c, corral__unlock_read, l);
}

static inline corral_defer_id corral__write_lock_call_at(corral_call *c, corral_rwlock *l, const char *site)
{
    corral__write_lock_at(l, site);
    return corral__defer(c, corral__unlock_write, l);
}

/* corral_mutex_lock, naming its erl_nif lock after the caller's place.
 * Checks: nothing. Raises: never. Owns: as the function above. */
#define corral_mutex_lock(m) corral__mutex_lock_at((m), CORRAL__LOCK_SITE)

/* corral_rwlock_read, the same way.
 * Checks: nothing. Raises: never. Owns: as the function above. */
#define corral_rwlock_read(l) corral__read_lock_at((l), CORRAL__LOCK_SITE)

/* corral_rwlock_write, the same way.
 * Checks: nothing. Raises: never. Owns: as the function above. */
#define corral_rwlock_write(l) corral__write_lock_at((l), CORRAL__LOCK_SITE)

/* corral_lock, the same way.
 * Checks: nothing. Raises: never. Owns: as the function above. */
#define corral_lock(c, m) corral__lock_at((c), (m), CORRAL__LOCK_SITE)

/* corral_read_lock, the same way.
 * Checks: nothing. Raises: never. Owns: as the function above. */
#define corral_read_lock(c, l) corral__read_lock_call_at((c), (l), CORRAL__LOCK_SITE)

/* corral_write_lock, the same way.
 * Checks: nothing. Raises: never. Owns: as the function above. */
#define corral_write_lock(c, l) corral__write_lock_call_at((c), (l), CORRAL__LOCK_SITE)
#endif

/* }====================================================================== */

/* {======================================================================
 * Argument reads the build checks
 *
 * A hand-written body whose row gives it fewer arguments than it reads
 * (CORRAL_FN("dot", dot, 2) for a body that reads corral_arg_double(c, 2))
 * is refused by the build, naming the file and line, where the index is a
 * constant: every corral_arg_* call leaves a note (the calling C function,
 * file, line and constant index) in the section "corral_args", every
 * CORRAL_NIF, CORRAL_YIELDING_NIF and CORRAL_THREAD_NIF one naming its body
 * in "corral_nifs", and the build matches them with the export table (ELF
 * libraries: Linux, BSD). A computed index, or a read in a helper function,
 * is checked when the call runs (RuntimeError "... reads argument 3, but it
 * was called with 2"). The notes cost nothing at run time: static data only.
 * Corral's own sources define CORRAL__RUNTIME, which leaves the getters
 * plain.
 * ======================================================================= */

#define CORRAL__NOTE_ARG(i)                                                                      \
    __extension__({                                                                              \
        static const corral__arg_note corral__arg_note_ CORRAL__SECTION("corral_args") = {      \
            "CORRARG", __func__, __FILE__, __builtin_constant_p(i) ? (int32_t)(i) : -1, __LINE__}; \
        (void)corral__arg_note_;                                                                 \
    })

#ifndef CORRAL__RUNTIME
#define corral_arg_term(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_term(c, i, ##__VA_ARGS__)))
#define corral_arg_binary(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_binary(c, i, ##__VA_ARGS__)))
#define corral_arg_bool(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_bool(c, i, ##__VA_ARGS__)))
#define corral_arg_charlist(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_charlist(c, i, ##__VA_ARGS__)))
#define corral_arg_cstring(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_cstring(c, i, ##__VA_ARGS__)))
#define corral_arg_double(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_double(c, i, ##__VA_ARGS__)))
#define corral_arg_enum(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_enum(c, i, ##__VA_ARGS__)))
#define corral_arg_float(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_float(c, i, ##__VA_ARGS__)))
#define corral_arg_i8(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_i8(c, i, ##__VA_ARGS__)))
#define corral_arg_i16(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_i16(c, i, ##__VA_ARGS__)))
#define corral_arg_i32(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_i32(c, i, ##__VA_ARGS__)))
#define corral_arg_i64(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_i64(c, i, ##__VA_ARGS__)))
#define corral_arg_index(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_index(c, i, ##__VA_ARGS__)))
#define corral_arg_int(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_int(c, i, ##__VA_ARGS__)))
#define corral_arg_int_range(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_int_range(c, i, ##__VA_ARGS__)))
#define corral_arg_intptr(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_intptr(c, i, ##__VA_ARGS__)))
#define corral_arg_iodata(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_iodata(c, i, ##__VA_ARGS__)))
#define corral_arg_list(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_list(c, i, ##__VA_ARGS__)))
#define corral_arg_long(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_long(c, i, ##__VA_ARGS__)))
#define corral_arg_map(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_map(c, i, ##__VA_ARGS__)))
#define corral_arg_pid(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_pid(c, i, ##__VA_ARGS__)))
#define corral_arg_size(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_size(c, i, ##__VA_ARGS__)))
#define corral_arg_ssize(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_ssize(c, i, ##__VA_ARGS__)))
#define corral_arg_string(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_string(c, i, ##__VA_ARGS__)))
#define corral_arg_struct(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ_VOID(corral_arg_struct(c, i, ##__VA_ARGS__)))
#define corral_arg_tuple(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_tuple(c, i, ##__VA_ARGS__)))
#define corral_arg_u8(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_u8(c, i, ##__VA_ARGS__)))
#define corral_arg_u16(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_u16(c, i, ##__VA_ARGS__)))
#define corral_arg_u32(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_u32(c, i, ##__VA_ARGS__)))
#define corral_arg_u64(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_u64(c, i, ##__VA_ARGS__)))
#define corral_arg_uint(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_uint(c, i, ##__VA_ARGS__)))
#define corral_arg_uintptr(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_uintptr(c, i, ##__VA_ARGS__)))
#define corral_arg_ulong(c, i, ...) (CORRAL__NOTE_ARG(i), CORRAL__READ(corral_arg_ulong(c, i, ##__VA_ARGS__)))
#endif

/* }====================================================================== */

/* {======================================================================
 * Where errors are raised (CORRAL_RAISE_LOCATIONS; see "Raising")
 *
 * Each raise notes its place just before it runs; each argument read notes
 * its place while it runs and forgets it when it succeeds, so a raise from
 * inside the read (a bad argument) is placed at the read and any other
 * raise is not. corral_fail keeps the first failure's place, as it keeps
 * its message. Corral's own sources define CORRAL__RUNTIME: their raises
 * are not placed, the user's call that led to them is.
 * ======================================================================= */

#if defined(CORRAL_RAISE_LOCATIONS) && !defined(CORRAL__RUNTIME)
#define CORRAL__WHERE_RAISE() corral__where_raise(__FILE__, __LINE__)
#define CORRAL__DECODE_BEGIN() corral__where_read(__FILE__, __LINE__);
#define CORRAL__DECODE_END() corral__where_done();
#define CORRAL__READ(call)                                                                       \
    __extension__({                                                                              \
        corral__where_read(__FILE__, __LINE__);                                                  \
        __typeof__(call) corral_read_ = (call);                                                  \
        corral__where_done();                                                                    \
        corral_read_;                                                                            \
    })
#define CORRAL__READ_VOID(call)                                                                  \
    __extension__({                                                                              \
        corral__where_read(__FILE__, __LINE__);                                                  \
        (call);                                                                                  \
        corral__where_done();                                                                    \
    })
#define corral_raise_arg(c, ...) (corral__where_raise(__FILE__, __LINE__), corral_raise_arg(c, __VA_ARGS__))
#define corral_raise_argument(c, ...) (corral__where_raise(__FILE__, __LINE__), corral_raise_argument(c, __VA_ARGS__))
#define corral_raise(c, ...) (corral__where_raise(__FILE__, __LINE__), corral_raise(c, __VA_ARGS__))
#define corral_raise_exception(c, ...) (corral__where_raise(__FILE__, __LINE__), corral_raise_exception(c, __VA_ARGS__))
#define corral_raise_fields(c, ...) (corral__where_raise(__FILE__, __LINE__), corral_raise_fields(c, __VA_ARGS__))
#define corral_raise_oom(c, ...) (corral__where_raise(__FILE__, __LINE__), corral_raise_oom(c, __VA_ARGS__))
#define corral_fail(c, ...) (corral__where_first(__FILE__, __LINE__), corral_fail(c, __VA_ARGS__))
#else
#define CORRAL__WHERE_RAISE() ((void)0)
#define CORRAL__DECODE_BEGIN()
#define CORRAL__DECODE_END()
#define CORRAL__READ(call) (call)
#define CORRAL__READ_VOID(call) (call)
#endif

/* }====================================================================== */

#endif /* CORRAL_H */
