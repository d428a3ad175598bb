/*
 * term.c: atoms, numbers and binaries: the slow (raising) halves of the
 * inline getters in corral.h, and the makers that can fail.
 */
#include "corral_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* {======================================================================
 * Atoms
 * ======================================================================= */

ERL_NIF_TERM corral__atom_true, corral__atom_false, corral__atom_nil, corral__atom_ok, corral__atom_error;
ERL_NIF_TERM corral__atom_struct, corral__atom_exception, corral__atom_message, corral__atom_argument_error,
    corral__atom_runtime_error, corral__atom_arithmetic_error, corral__atom_undefined, corral__atom_raise,
    corral__atom_corral_reply;

void corral__register_atoms(corral_atoms *table)
{
    table->next = corral__lib.atoms;
    corral__lib.atoms = table;
}

static bool intern(ErlNifEnv *env, const char *name, ERL_NIF_TERM *out)
{
    size_t len = strlen(name);
#ifdef ERL_NIF_UTF8
    /* OTP 26 and later: UTF-8 names, checked by the VM. */
    return enif_make_new_atom_len(env, name, len, out, ERL_NIF_UTF8) != 0;
#else
    /* Before OTP 26 atoms are made from Latin-1 only; enif_make_atom_len
     * raises badarg past 255 characters instead of failing, so check first. */
    if (len > 255) return false;
    for (size_t k = 0; k < len; k++)
        if ((unsigned char)name[k] >= 0x80) return false;
    *out = enif_make_atom_len(env, name, len);
    return true;
#endif
}

bool corral__intern_atoms(ErlNifEnv *env)
{
    static const struct {
        const char *name;
        ERL_NIF_TERM *term;
    } own[] = {
        {"true", &corral__atom_true},
        {"false", &corral__atom_false},
        {"nil", &corral__atom_nil},
        {"ok", &corral__atom_ok},
        {"error", &corral__atom_error},
        {"__struct__", &corral__atom_struct},
        {"__exception__", &corral__atom_exception},
        {"message", &corral__atom_message},
        {"Elixir.ArgumentError", &corral__atom_argument_error},
        {"Elixir.RuntimeError", &corral__atom_runtime_error},
        {"Elixir.ArithmeticError", &corral__atom_arithmetic_error},
        {"undefined", &corral__atom_undefined},
        {"raise", &corral__atom_raise},
        {"corral_reply", &corral__atom_corral_reply},
    };
    for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
        if (!intern(env, own[k].name, own[k].term)) return false;
    for (corral_atoms *t = corral__lib.atoms; t; t = t->next)
        for (unsigned k = 0; k < t->count; k++)
            if (t->names[k] == NULL || !intern(env, t->names[k], &t->terms[k])) return false;
    return true;
}

void corral__bad_enum(corral_call *c, int i, const corral_atoms *table)
{
    char list[512];
    size_t n = 0;
    list[0] = '\0';
    for (unsigned k = 0; k < table->count && n < sizeof list; k++) {
        char atom[CORRAL__TERM_PRINT_MAX];
        corral__inspect(c->env, table->terms[k], atom, sizeof atom);
        int w = snprintf(list + n, sizeof list - n, "%s%s", k == 0 ? "" : (k + 1 == table->count ? " or " : ", "),
                         atom);
        if (w < 0) break;
        n += (size_t)w;
    }
    corral_raise_arg(c, i, "expected one of %s", list);
}

void corral__bad_bool(corral_call *c, int i) { corral_raise_arg(c, i, "expected a boolean"); }

/* }====================================================================== */

/* {======================================================================
 * Numbers
 * ======================================================================= */

void corral__bad_integer(corral_call *c, int i, int64_t lo, uint64_t hi)
{
    corral_raise_arg(c, i, "expected an integer in %" PRId64 "..%" PRIu64, lo, hi);
}

void corral__bad_index(corral_call *c, int i, size_t n)
{
    if (n == 0) corral_raise_arg(c, i, "expected an index, but there is nothing to index (size 0)");
    corral_raise_arg(c, i, "expected an index below %zu", n);
}

void corral__bad_double(corral_call *c, int i)
{
    corral_raise_arg(c, i, "expected a number (a float, or an integer in the 64-bit range)");
}

ERL_NIF_TERM corral_make_double(corral_call *c, double d)
{
    if (CORRAL__UNLIKELY(!isfinite(d)))
        corral__raisef(c, corral__atom_arithmetic_error, "the result is %s, which Erlang floats cannot hold",
                       isnan(d) ? "NaN" : (d > 0 ? "infinity" : "-infinity"));
    return enif_make_double(c->env, d);
}

/* }====================================================================== */

/* {======================================================================
 * Binaries
 * ======================================================================= */

void corral__bad_binary(corral_call *c, int i, const char *expected) { corral_raise_arg(c, i, "%s", expected); }

corral_binary corral_arg_iodata(corral_call *c, int i)
{
    ErlNifBinary b;
    ERL_NIF_TERM t = corral_arg(c, i);
    if (enif_inspect_binary(c->env, t, &b) || enif_inspect_iolist_as_binary(c->env, t, &b))
        return (corral_binary){b.data, b.size};
    corral__bad_binary(c, i, "expected iodata (a binary, or a list of binaries and bytes)");
}

unsigned char *corral_new_binary(corral_call *c, size_t size, ERL_NIF_TERM *term)
{
    corral__check_vm_size(c, size, "a binary");
    unsigned char *p = enif_make_new_binary(c->env, size, term);
    if (CORRAL__UNLIKELY(p == NULL)) corral_raise_oom(c, size);
    return p;
}

ERL_NIF_TERM corral_make_binary(corral_call *c, const void *data, size_t size)
{
    ERL_NIF_TERM t;
    unsigned char *p = corral_new_binary(c, size, &t);
    if (size) memcpy(p, data, size);
    return t;
}

/* }====================================================================== */
