/*
 * term.c: atoms, numbers and binaries: the slow (raising) halves of the
 * inline getters in corral.h, and the makers that can fail.
 */
#include "corral_internal.h"

#include <inttypes.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* {======================================================================
 * Atoms
 * ======================================================================= */

ERL_NIF_TERM corral__atom_true, corral__atom_false, corral__atom_nil, corral__atom_ok, corral__atom_error;
ERL_NIF_TERM corral__atom_struct, corral__atom_argument_error,
    corral__atom_runtime_error, corral__atom_arithmetic_error, corral__atom_undefined, corral__atom_raise,
    corral__atom_corral_reply, corral__atom_corral_item, corral__atom_corral_error, corral__atom_inspect;

void corral__register_atoms(corral_atoms *table)
{
    table->next = corral__lib.atoms;
    corral__lib.atoms = table;
}

static bool intern(ErlNifEnv *env, const char *name, ERL_NIF_TERM *out)
{
    size_t len = strlen(name);
#if CORRAL__NIF_AT_LEAST(2, 17)
    /* NIF 2.17 (OTP 26) and later: UTF-8 names, checked by the VM.
     * (ERL_NIF_UTF8 is an enum constant, so the version is what tells.) */
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
        {"Elixir.ArgumentError", &corral__atom_argument_error},
        {"Elixir.RuntimeError", &corral__atom_runtime_error},
        {"Elixir.ArithmeticError", &corral__atom_arithmetic_error},
        {"undefined", &corral__atom_undefined},
        {"raise", &corral__atom_raise},
        {"corral_reply", &corral__atom_corral_reply},
        {"corral_item", &corral__atom_corral_item},
        {"$corral_error", &corral__atom_corral_error},
        {"inspect", &corral__atom_inspect},
    };
    for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
        if (!intern(env, own[k].name, own[k].term)) return false;
    for (corral_atoms *t = corral__lib.atoms; t; t = t->next)
        for (unsigned k = 0; k < t->count; k++)
            if (t->names[k] == NULL || !intern(env, t->names[k], &t->terms[k])) return false;
    return true;
}

/* "expected one of :red, :green or :blue" for t, the same for an argument
 * (corral_arg_enum) and a nested term (corral_get_enum). */
CORRAL__NORETURN static void not_in_table(corral_call *c, const corral_term *t, const corral_atoms *table)
{
    char list[512];
    size_t n = 0;
    list[0] = '\0';
    for (unsigned k = 0; k < table->count && n < sizeof list; k++) {
        char atom[CORRAL__SHOWN_MAX];
        corral__show(c, table->terms[k], atom, sizeof atom);
        int w = snprintf(list + n, sizeof list - n, "%s%s", k == 0 ? "" : (k + 1 == table->count ? " or " : ", "),
                         atom);
        if (w < 0) break;
        n += (size_t)w;
    }
    corral__raise_at(c, t, "expected one of %s", list);
}

void corral__bad_enum(corral_call *c, int i, const corral_atoms *table)
{
    corral_term t = corral_arg_term(c, i);
    not_in_table(c, &t, table);
}

void corral__bad_bool(corral_call *c, int i)
{
    corral_term t = corral_arg_term(c, i);
    corral__raise_at(c, &t, "expected a boolean");
}

/* }====================================================================== */

/* {======================================================================
 * Numbers
 * ======================================================================= */

/* The argument getters' cold paths name the argument through its route,
 * so each check has one message whether it runs on an argument or a term. */
void corral__bad_integer(corral_call *c, int i, int64_t lo, uint64_t hi)
{
    const corral_term t = corral_arg_term(c, i);
    corral__bad_integer_at(c, CORRAL__SPREAD(t), lo, hi);
}

void corral__bad_index(corral_call *c, int i, size_t n)
{
    if (n == 0) corral_raise_arg(c, i, "expected an index, but there is nothing to index (size 0)");
    corral_raise_arg(c, i, "expected an index below %zu", n);
}

void corral__bad_double(corral_call *c, int i)
{
    const corral_term t = corral_arg_term(c, i);
    corral__bad_double_at(c, CORRAL__SPREAD(t));
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

corral_binary corral_arg_iodata(corral_call *c, int i) { return corral_get_iodata(c, corral_arg_term(c, i)); }

unsigned char *corral_new_binary(corral_call *c, size_t size, ERL_NIF_TERM *term)
{
    corral__check_vm_size(c, size, "a binary");
    unsigned char *p = corral__alloc_fails() ? NULL : enif_make_new_binary(c->env, size, term);
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

/* Owned binaries: the handle lives in scratch memory (cleanups run after
 * the body has returned, so it cannot be a local of the body), and the
 * cleanup releases the bytes unless they were handed to a term. */
static void release_owned(void *p)
{
    corral_owned_binary *b = p;
    if (!b->handed) enif_release_binary(&b->bin);
}

corral_owned_binary *corral_owned_new(corral_call *c, size_t size)
{
    corral__check_vm_size(c, size, "a binary");
    corral_owned_binary *b = corral_calloc(c, 1, sizeof *b);
    if (corral__alloc_fails() || !enif_alloc_binary(size, &b->bin)) corral_raise_oom(c, size);
    b->owner = corral_defer(c, release_owned, b);
    b->data = b->bin.data;
    b->size = b->bin.size;
    return b;
}

static void check_owned(corral_call *c, const corral_owned_binary *b, const char *what)
{
    if (b->handed) corral_raise(c, "%s: the owned binary was already handed over by corral_owned_finish", what);
}

unsigned char *corral_owned_resize(corral_call *c, corral_owned_binary *b, size_t size)
{
    check_owned(c, b, "corral_owned_resize");
    corral__check_vm_size(c, size, "a binary");
    /* On failure enif_realloc_binary leaves the binary as it was, so the
     * cleanup still frees it. */
    if (corral__alloc_fails() || !enif_realloc_binary(&b->bin, size)) corral_raise_oom(c, size);
    b->data = b->bin.data;
    b->size = b->bin.size;
    return b->data;
}

ERL_NIF_TERM corral_owned_finish(corral_call *c, corral_owned_binary *b, size_t size)
{
    check_owned(c, b, "corral_owned_finish");
    if (size > b->size)
        corral_raise(c, "corral_owned_finish: %zu bytes asked of an owned binary of %zu", size, b->size);
    if (size < b->size) corral_owned_resize(c, b, size);
    b->handed = true;
    corral_undefer(c, b->owner);
    b->data = NULL;
    return enif_make_binary(c->env, &b->bin);
}

/* }====================================================================== */

/* {======================================================================
 * Terms with routes: the raising halves of the corral_get_* getters
 * ======================================================================= */

void corral__bad_integer_at(corral_call *c, CORRAL__SPREAD_PARAMS, int64_t lo, uint64_t hi)
{
    const corral_term t = CORRAL__GATHERED;
    corral__raise_at(c, &t, "expected an integer in %" PRId64 "..%" PRIu64, lo, hi);
}

void corral__bad_double_at(corral_call *c, CORRAL__SPREAD_PARAMS)
{
    const corral_term t = CORRAL__GATHERED;
    corral__raise_at(c, &t, "expected a number (a float, or an integer in the 64-bit range)");
}

/* The doubles that round to a finite float: below FLT_MAX plus half its
 * unit in the last place (2^104); the midpoint itself rounds to even, which
 * is infinity. So 3.4028235e38, FLT_MAX as usually written, is accepted. */
#define FLOAT_ROUNDS_FINITE ((double)FLT_MAX + 0x1p103)

float corral_get_float(corral_call *c, corral_term t)
{
    double d = corral_get_double(c, t);
    if (CORRAL__UNLIKELY(d >= FLOAT_ROUNDS_FINITE || d <= -FLOAT_ROUNDS_FINITE))
        corral__raise_at(c, &t, "expected a number in the range of a float (at most %g in magnitude)", (double)FLT_MAX);
    return (float)d;
}

unsigned corral_get_enum(corral_call *c, corral_term t, const corral_atoms *table)
{
    for (unsigned k = 0; k < table->count; k++)
        if (table->terms[k] == t.term) return k;
    not_in_table(c, &t, table);
}

bool corral_get_bool(corral_call *c, corral_term t)
{
    if (t.term == corral__atom_true) return true;
    if (t.term == corral__atom_false) return false;
    corral__raise_at(c, &t, "expected a boolean");
}

/* {======================================================================
 * Big integers, through the external term format (erl_nif has no big
 * integer API): SMALL_BIG_EXT 110 / LARGE_BIG_EXT 111, sign byte, then the
 * magnitude's bytes, least significant first.
 * ======================================================================= */

corral_binary corral_get_bigint(corral_call *c, corral_term t, bool *negative)
{
    ErlNifSInt64 s;
    ErlNifUInt64 u;
    unsigned char *out;
    if (enif_get_uint64(c->env, t.term, &u) || enif_get_int64(c->env, t.term, &s)) {
        bool neg = !enif_get_uint64(c->env, t.term, &u);
        if (neg) u = (ErlNifUInt64)0 - (ErlNifUInt64)s;
        out = corral_alloc(c, 8);
        size_t n = 0;
        while (u) {
            out[n++] = (unsigned char)u;
            u >>= 8;
        }
        *negative = neg;
        return (corral_binary){out, n};
    }
    ErlNifBinary ext;
    if (enif_term_type(c->env, t.term) != ERL_NIF_TERM_TYPE_INTEGER || !enif_term_to_binary(c->env, t.term, &ext))
        corral__raise_at(c, &t, "expected an integer");
    size_t n = 0, at = 0;
    if (ext.size >= 4 && ext.data[1] == 110) {
        n = ext.data[2];
        at = 3;
    } else if (ext.size >= 7 && ext.data[1] == 111) {
        n = ((size_t)ext.data[2] << 24) | ((size_t)ext.data[3] << 16) | ((size_t)ext.data[4] << 8) | ext.data[5];
        at = 6;
    }
    if (at == 0 || ext.size < at + 1 + n) {
        enif_release_binary(&ext);
        corral_raise(c, "corral_get_bigint: unexpected encoding of a big integer");
    }
    *negative = ext.data[at] != 0;
    out = n ? corral_alloc(c, n) : NULL;
    if (n) memcpy(out, ext.data + at + 1, n);
    enif_release_binary(&ext);
    while (n && out[n - 1] == 0) n--;
    return (corral_binary){out, n};
}

ERL_NIF_TERM corral_make_bigint(corral_call *c, bool negative, const void *bytes, size_t size)
{
    const unsigned char *p = bytes;
    while (size && p[size - 1] == 0) size--;
    if (size <= 8) {
        ErlNifUInt64 u = 0;
        for (size_t k = size; k-- > 0;) u = (u << 8) | p[k];
        if (!negative || u == 0) return enif_make_uint64(c->env, u);
        if (u <= (ErlNifUInt64)INT64_MAX) return enif_make_int64(c->env, -(ErlNifSInt64)u);
        if (u == (ErlNifUInt64)INT64_MAX + 1) return enif_make_int64(c->env, INT64_MIN);
    }
    if (size > UINT32_MAX) corral_raise(c, "corral_make_bigint: %zu bytes is too large for an integer", size);
    unsigned char *ext = corral_alloc(c, size + 7);
    size_t at;
    ext[0] = 131;
    if (size < 256) {
        ext[1] = 110;
        ext[2] = (unsigned char)size;
        at = 3;
    } else {
        ext[1] = 111;
        ext[2] = (unsigned char)(size >> 24);
        ext[3] = (unsigned char)(size >> 16);
        ext[4] = (unsigned char)(size >> 8);
        ext[5] = (unsigned char)size;
        at = 6;
    }
    ext[at] = negative ? 1 : 0;
    memcpy(ext + at + 1, p, size);
    ERL_NIF_TERM t;
    if (enif_binary_to_term(c->env, ext, at + 1 + size, &t, 0) == 0)
        corral_raise(c, "corral_make_bigint: the VM refused an integer of %zu bytes", size);
    return t;
}

#ifdef __SIZEOF_INT128__
unsigned __int128 corral_get_u128(corral_call *c, corral_term t)
{
    bool neg;
    corral_binary m = corral_get_bigint(c, t, &neg);
    if (neg || m.size > 16) corral__raise_at(c, &t, "expected an integer in 0..340282366920938463463374607431768211455");
    unsigned __int128 v = 0;
    for (size_t k = m.size; k-- > 0;) v = (v << 8) | m.data[k];
    return v;
}

__int128 corral_get_i128(corral_call *c, corral_term t)
{
    bool neg;
    corral_binary m = corral_get_bigint(c, t, &neg);
    unsigned __int128 v = 0, limit = (unsigned __int128)1 << 127;
    if (m.size <= 16)
        for (size_t k = m.size; k-- > 0;) v = (v << 8) | m.data[k];
    if (m.size > 16 || v > limit || (!neg && v == limit))
        corral__raise_at(c, &t,
                         "expected an integer in -170141183460469231731687303715884105728.."
                         "170141183460469231731687303715884105727");
    return neg ? (__int128)(0 - v) : (__int128)v;
}

ERL_NIF_TERM corral_make_u128(corral_call *c, unsigned __int128 v)
{
    unsigned char b[16];
    for (int k = 0; k < 16; k++) b[k] = (unsigned char)(v >> (8 * k));
    return corral_make_bigint(c, false, b, 16);
}

ERL_NIF_TERM corral_make_i128(corral_call *c, __int128 v)
{
    unsigned __int128 m = v < 0 ? 0 - (unsigned __int128)v : (unsigned __int128)v;
    unsigned char b[16];
    for (int k = 0; k < 16; k++) b[k] = (unsigned char)(m >> (8 * k));
    return corral_make_bigint(c, v < 0, b, 16);
}
#endif

/* {======================================================================
 * Atoms by name. Before OTP 26 erl_nif reads and makes atoms in Latin-1
 * only; names beyond Latin-1 go through the external format
 * (ATOM_UTF8_EXT 118), which every OTP version decodes.
 * ======================================================================= */

const char *corral_get_atom_name(corral_call *c, corral_term t)
{
    unsigned len;
    if (!enif_get_atom_length(c->env, t.term, &len, ERL_NIF_LATIN1)) {
        ErlNifBinary ext;
        if (!enif_is_atom(c->env, t.term)) corral__raise_at(c, &t, "expected an atom");
        if (!enif_term_to_binary(c->env, t.term, &ext)) corral_raise_oom(c, 0);
        size_t n = 0, at = 0;
        if (ext.size >= 3 && ext.data[1] == 119) n = ext.data[2], at = 3;
        else if (ext.size >= 4 && ext.data[1] == 118) n = ((size_t)ext.data[2] << 8) | ext.data[3], at = 4;
        char *s = at && ext.size >= at + n ? corral_alloc(c, n + 1) : NULL;
        if (s) memcpy(s, ext.data + at, n), s[n] = '\0';
        enif_release_binary(&ext);
        if (!s) corral_raise(c, "corral_get_atom_name: unexpected encoding of an atom");
        return s;
    }
    char latin1[256];
    enif_get_atom(c->env, t.term, latin1, sizeof latin1, ERL_NIF_LATIN1);
    char *s = corral_alloc(c, 2 * (size_t)len + 1), *o = s;
    for (unsigned k = 0; k < len; k++) {
        unsigned char ch = (unsigned char)latin1[k];
        if (ch < 0x80) {
            *o++ = (char)ch;
        } else {
            *o++ = (char)(0xC0 | (ch >> 6));
            *o++ = (char)(0x80 | (ch & 0x3F));
        }
    }
    *o = '\0';
    return s;
}

/* Reads an atom name: 1 if it is Latin-1 (written to latin1[]), 2 if it
 * needs UTF-8, 0 (with *why) if it is not a valid name. */
static int atom_name_kind(const char *name, char latin1[256], size_t *latin_len, const char **why)
{
    size_t len = strlen(name);
    if (corral_utf8_valid_prefix(name, len) != len) {
        *why = "is not valid UTF-8";
        return 0;
    }
    size_t chars = 0;
    bool wide = false;
    for (size_t k = 0; k < len;) {
        unsigned char b = (unsigned char)name[k];
        unsigned cp;
        size_t w = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        cp = w == 1 ? b : w == 2 ? ((b & 0x1Fu) << 6) | (name[k + 1] & 0x3F) : 0x800;
        if (w > 2 || cp > 255) wide = true;
        if (!wide && chars < 256) latin1[chars] = (char)cp;
        chars++;
        k += w;
    }
    if (chars > 255) {
        *why = "has more than 255 characters";
        return 0;
    }
    *latin_len = chars;
    return wide ? 2 : 1;
}

static bool utf8_atom(corral_call *c, const char *name, ERL_NIF_TERM *out, bool existing)
{
    size_t len = strlen(name);
#if CORRAL__NIF_AT_LEAST(2, 17)
    /* OTP 26 and later take UTF-8 names directly. */
    if (existing) return enif_make_existing_atom_len(c->env, name, len, out, ERL_NIF_UTF8) != 0;
    return enif_make_new_atom_len(c->env, name, len, out, ERL_NIF_UTF8) != 0;
#else
    /* Before, only through the external term format (ATOM_UTF8_EXT). */
    unsigned char *ext = corral_alloc(c, len + 4);
    ext[0] = 131;
    ext[1] = 118;
    ext[2] = (unsigned char)(len >> 8);
    ext[3] = (unsigned char)len;
    memcpy(ext + 4, name, len);
    return enif_binary_to_term(c->env, ext, len + 4, out, existing ? ERL_NIF_BIN2TERM_SAFE : 0) != 0;
#endif
}

ERL_NIF_TERM corral_make_atom(corral_call *c, const char *name)
{
    char latin1[256];
    size_t n;
    const char *why = NULL;
    ERL_NIF_TERM t;
    switch (atom_name_kind(name, latin1, &n, &why)) {
    case 1: return enif_make_atom_len(c->env, latin1, n);
    case 2:
        if (utf8_atom(c, name, &t, false)) return t;
        why = "was refused by the VM";
        break;
    default: break;
    }
    char shown[CORRAL__SHOWN_MAX];
    ERL_NIF_TERM bin;
    size_t len = strlen(name);
    /* The first 100 bytes, cut between UTF-8 characters. */
    size_t cut = len > 100 ? 100 : len;
    while (cut > 0 && cut < len && ((unsigned char)name[cut] & 0xC0) == 0x80) cut--;
    memcpy(enif_make_new_binary(c->env, cut, &bin), name, cut);
    corral__show(c, bin, shown, sizeof shown);
    corral__raisef(c, corral__atom_argument_error, "cannot make an atom named %s: the name %s", shown, why);
}

bool corral_make_existing_atom(corral_call *c, const char *name, ERL_NIF_TERM *out)
{
    char latin1[256];
    size_t n;
    const char *why;
    switch (atom_name_kind(name, latin1, &n, &why)) {
    case 1: return enif_make_existing_atom_len(c->env, latin1, n, out, ERL_NIF_LATIN1) != 0;
    case 2: return utf8_atom(c, name, out, true);
    default: return false;
    }
}
