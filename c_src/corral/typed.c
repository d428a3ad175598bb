/*
 * typed.c: the cold ends of typed NIFs (CORRAL_PURE, CORRAL_DEF) and the
 * failure reports of pure bodies and checked arithmetic.
 *
 * A pure NIF has no setjmp frame: its arguments are tested with plain
 * erl_nif calls and the body cannot unwind. Only when something fails does
 * it pay for a call context: the functions here build one, with its own
 * frame, and raise from it exactly as a CORRAL_NIF would (a bad argument
 * runs Corral's getter again, so the message and route are the getter's).
 */
#include "corral_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const char corral__error_result[] = "corral_return_error";

int corral__return_error_pure(corral_pure *c, const char *reason)
{
    if (c->exception != NULL) return 0; /* the first report is the one that counts */
    size_t n = strlen(reason);
    if (n >= sizeof c->message) {
        corral_fail(c, "Elixir.RuntimeError",
                    "corral_return_error: the reason %.40s... is %zu bytes; a pure body's takes at most %zu", reason, n,
                    sizeof c->message - 1);
        return 0;
    }
    memcpy(c->message, reason, n + 1);
    c->exception = corral__error_result;
    return 0;
}

void corral_fail(corral_pure *c, const char *exception, const char *fmt, ...)
{
    if (c->exception != NULL) return; /* the first failure is the one reported */
    c->exception = exception ? exception : "Elixir.RuntimeError";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
}

int64_t corral__overflow_i64_pure(corral_pure *c, const char *op, int64_t a, int64_t b)
{
    corral_fail(c, "Elixir.ArithmeticError",
                "integer overflow: %" PRId64 " %s %" PRId64 " does not fit in %" PRId64 "..%" PRId64, a, op, b,
                INT64_MIN, INT64_MAX);
    return 0;
}

uint64_t corral__overflow_u64_pure(corral_pure *c, const char *op, uint64_t a, uint64_t b)
{
    corral_fail(c, "Elixir.ArithmeticError", "integer overflow: %" PRIu64 " %s %" PRIu64 " does not fit in 0..%" PRIu64,
                a, op, b, UINT64_MAX);
    return 0;
}

int64_t corral__overflow_i64_call(corral_call *c, const char *op, int64_t a, int64_t b)
{
    corral__raisef(c, corral__atom_arithmetic_error,
                   "integer overflow: %" PRId64 " %s %" PRId64 " does not fit in %" PRId64 "..%" PRId64, a, op, b,
                   INT64_MIN, INT64_MAX);
}

uint64_t corral__overflow_u64_call(corral_call *c, const char *op, uint64_t a, uint64_t b)
{
    corral__raisef(c, corral__atom_arithmetic_error,
                   "integer overflow: %" PRIu64 " %s %" PRIu64 " does not fit in 0..%" PRIu64, a, op, b, UINT64_MAX);
}

void corral__null_resource_result(corral_call *c)
{
    corral_raise(c, "the body returned NULL for its (res, Type) result: return an object made with corral_resource_new");
}

ERL_NIF_TERM corral__make_double_pure(ErlNifEnv *env, double d, corral_pure *st)
{
    if (CORRAL__LIKELY(isfinite(d))) return enif_make_double(env, d);
    /* The same words as corral_make_double. */
    corral_fail(st, "Elixir.ArithmeticError", "the result is %s, which Erlang floats cannot hold",
                isnan(d) ? "NaN" : (d > 0 ? "infinity" : "-infinity"));
    return corral__atom_nil;
}

/* Kept out of line and apart from its callers: the frame is set up here,
 * on the failure path only. */
static __attribute__((noinline)) void run_check(corral_call *c, int i, void (*check)(corral_call *c, int i))
{
    check(c, i);
    /* The pure test refused what the getter accepts: a bug in Corral. */
    corral_raise(c, "argument %d: the typed decoder refused a value that Corral's getter accepts (a Corral bug)",
                 i + 1);
}

void corral__typed_raise_bad(corral_call *c, int i, void (*check)(corral_call *c, int i))
{
    run_check(c, i, check);
    __builtin_unreachable(); /* run_check always raises */
}

/* The careful path's body and end of call, kept out of the function that
 * holds the setjmp (as CORRAL_NIF does). */
static __attribute__((noinline)) ERL_NIF_TERM run_careful(corral_call *c, ERL_NIF_TERM (*run)(corral_call *c))
{
    ERL_NIF_TERM result = run(c);
    corral__end(c);
    return result;
}

ERL_NIF_TERM corral__typed_careful(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[], corral_nif_fn self,
                                   ERL_NIF_TERM (*run)(corral_call *c))
{
    corral_call call;
    corral__call_init(&call, env, argc, argv, self, 0);
    if (CORRAL__SETJMP(call.jmp)) return corral__unwound(&call);
    return run_careful(&call, run);
}

/* Raises what the body reported, or leaves with the error result it asked
 * for (checked here, where a message can be raised). */
void corral__pure_report(corral_call *c, const corral_pure *st, bool ok_result)
{
    if (st->exception != corral__error_result) corral_raise_exception(c, st->exception, "%s", st->message);
    if (!ok_result)
        corral_raise(c, "corral_return_error: the result is not declared (ok, word), so the function cannot "
                        "return {:error, reason}");
    corral__return_error_call(c, st->message);
}

ERL_NIF_TERM corral__pure_failed(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[], corral_nif_fn self,
                                 const corral_pure *st, bool ok_result)
{
    corral_call call;
    corral__call_init(&call, env, argc, argv, self, 0);
    if (CORRAL__SETJMP(call.jmp)) return corral__unwound(&call);
    corral__pure_report(&call, st, ok_result);
    return corral__unwound(&call); /* not reached */
}

ERL_NIF_TERM corral__make_cstring_result(corral_call *c, const char *s)
{
    if (CORRAL__UNLIKELY(s == NULL)) corral_raise(c, "the body returned NULL for its cstring result");
    return corral_make_string(c, s);
}

ERL_NIF_TERM corral__make_cstring_pure(ErlNifEnv *env, const char *s, corral_pure *st)
{
    if (CORRAL__UNLIKELY(s == NULL)) {
        corral_fail(st, "Elixir.RuntimeError", "the body returned NULL for its cstring result");
        return corral__atom_nil;
    }
    size_t n = strlen(s);
    ERL_NIF_TERM t;
    unsigned char *d = enif_make_new_binary(env, n, &t);
    if (n) memcpy(d, s, n);
    return t;
}
