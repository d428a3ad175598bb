/*
 * struct.c: C structs and tagged unions described by field tables, to and
 * from Elixir structs, maps, records and tuples.
 */
#include "corral_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static corral_struct *shapes;

void corral__register_struct(corral_struct *s)
{
    s->next = shapes;
    shapes = s;
}

static bool ascii_name(const char *name)
{
    size_t n = strlen(name);
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)name[k] >= 0x80) return false;
    return n <= 255;
}

bool corral__intern_structs(ErlNifEnv *env)
{
    /* Names are ASCII (C identifiers, module names): erl_nif before OTP 26
     * makes atoms from Latin-1 only. */
    for (corral_struct *s = shapes; s; s = s->next) {
        if (s->tag) {
            if (!ascii_name(s->tag)) return false;
            s->tag_atom = enif_make_atom(env, s->tag);
        }
        for (unsigned k = 0; k < s->count; k++) {
            corral_field *f = &s->fields[k];
            if (!ascii_name(f->name)) return false;
            f->atom = enif_make_atom(env, f->name);
            if ((f->type == CORRAL_STRUCT || (f->type == CORRAL_ARRAY && f->element == CORRAL_STRUCT)) && !f->detail)
                return false;
            /* A nested shape must describe the member it fills (the member's
             * size is recorded by CORRAL_FIELD_STRUCT / CORRAL_VARIANT_STRUCT). */
            if (f->type == CORRAL_STRUCT && ((const corral_struct *)f->detail)->size != f->count_offset) return false;
        }
        /* Flat: the shape's own loops (CORRAL_STRUCT) convert its arrays,
         * and say themselves whether they can (corral__rows_flat). */
        s->flat = s->loops && s->loops->flat();
        /* Dense: the 8-byte fields cover the whole C type, so a decoded
         * array needs no zeroing first. */
        uint32_t covered = 0;
        for (unsigned k = 0; k < s->count && s->flat; k++)
            if (s->fields[k].offset % 8 == 0 && s->fields[k].offset / 8 < 32) covered |= 1u << (s->fields[k].offset / 8);
        s->dense = s->flat && s->size % 8 == 0 && s->size / 8 < 32 && covered == (1u << (s->size / 8)) - 1;
    }
    return true;
}

/* {======================================================================
 * Terms to C
 *
 * The hot path passes a term and a pointer to its route; a corral_term is
 * built only when a check fails or a nested value needs one, so converting
 * many small structs costs little more than the hand-written lookups.
 * ======================================================================= */

static void get_shape(corral_call *c, ERL_NIF_TERM term, const corral__where *at, const corral_struct *s,
                      unsigned char *out);

/* The general case of one field: the value `v` at route {parent, step, kind}. */
static CORRAL__COLD void get_field_slow(corral_call *c, ERL_NIF_TERM v, const corral__where *parent, uintptr_t step,
                                        unsigned kind, const corral_field *f, unsigned char *base)
{
    corral_term t = {v, {parent, step, kind}};
    unsigned char *dst = base + f->offset;
    switch (f->type) {
    case CORRAL_ENUM: {
        unsigned k = corral_get_enum(c, t, f->detail);
        memcpy(dst, &k, sizeof k);
        break;
    }
    case CORRAL_ARRAY: {
        size_t n;
        void *p = f->element == CORRAL_STRUCT ? corral_get_struct_array(c, t, f->detail, &n)
                                              : corral_get_array(c, t, f->element, &n);
        memcpy(dst, &p, sizeof p);
        memcpy(base + f->count_offset, &n, sizeof n);
        break;
    }
    default: corral__get_scalar(c, t, f->type, dst); break;
    }
}

static inline void get_field(corral_call *c, ERL_NIF_TERM v, const corral__where *parent, uintptr_t step,
                             unsigned kind, const corral_field *f, unsigned char *base)
{
    unsigned char *dst = base + f->offset;
    switch (f->type) {
    case CORRAL_DOUBLE: {
        double d;
        if (CORRAL__LIKELY(enif_get_double(c->env, v, &d))) {
            memcpy(dst, &d, sizeof d);
            return;
        }
        break;
    }
    case CORRAL_I64: {
        ErlNifSInt64 i;
        if (CORRAL__LIKELY(enif_get_int64(c->env, v, &i))) {
            memcpy(dst, &i, sizeof i);
            return;
        }
        break;
    }
    case CORRAL_STRUCT: {
        corral__where here = {parent, step, kind};
        get_shape(c, v, &here, f->detail, dst);
        return;
    }
    default: break;
    }
    get_field_slow(c, v, parent, step, kind, f, base);
}

/* The struct's module as Elixir writes it: "Elixir.Geo.Point" -> "Geo.Point". */
static const char *struct_module_name(const char *tag)
{
    return strncmp(tag, "Elixir.", 7) == 0 ? tag + 7 : tag;
}

CORRAL__NORETURN CORRAL__COLD static void fail(corral_call *c, ERL_NIF_TERM term, const corral__where *at,
                                               const char *fmt, ...)
{
    corral_term t = {term, *at};
    va_list ap;
    va_start(ap, fmt);
    corral__raise_at_v(c, corral__atom_argument_error, &t, fmt, ap);
}

CORRAL__NORETURN CORRAL__COLD static void extra_key(corral_call *c, ERL_NIF_TERM term, const corral__where *at,
                                                    const corral_struct *s)
{
    ErlNifMapIterator it;
    ERL_NIF_TERM k, v;
    enif_map_iterator_create(c->env, term, &it, ERL_NIF_MAP_ITERATOR_FIRST);
    while (enif_map_iterator_get_pair(c->env, &it, &k, &v)) {
        bool known = s->as == CORRAL__AS_STRUCT && k == corral__atom_struct;
        for (unsigned f = 0; f < s->count && !known; f++) known = s->fields[f].atom == k;
        if (!known) {
            char key[CORRAL__SHOWN_MAX];
            corral__show(c, k, key, sizeof key);
            enif_map_iterator_destroy(c->env, &it);
            fail(c, term, at, "unexpected key %s (%s has no such field)", key, s->c_name);
        }
        enif_map_iterator_next(c->env, &it);
    }
    enif_map_iterator_destroy(c->env, &it);
    fail(c, term, at, "unexpected keys for %s", s->c_name);
}

CORRAL__NORETURN CORRAL__COLD static void union_mismatch(corral_call *c, ERL_NIF_TERM term, const corral__where *at,
                                                         const corral_struct *s)
{
    char list[512];
    size_t n = 0;
    list[0] = '\0';
    for (unsigned k = 0; k < s->count && n < sizeof list; k++) {
        int w = snprintf(list + n, sizeof list - n, "%s%s:%s%s", k == 0 ? "" : (k + 1 == s->count ? " or " : ", "),
                         s->fields[k].empty ? "" : "{", s->fields[k].name, s->fields[k].empty ? "" : ", _}");
        if (w < 0) break;
        n += (size_t)w;
    }
    fail(c, term, at, "expected one of %s", list);
}

static __attribute__((noinline)) void get_union(corral_call *c, ERL_NIF_TERM term, const corral__where *at,
                                                const corral_struct *s, unsigned char *out)
{
    int arity;
    const ERL_NIF_TERM *el;
    bool pair = enif_get_tuple(c->env, term, &arity, &el) && arity == 2;
    ERL_NIF_TERM tag = pair ? el[0] : term;
    for (unsigned k = 0; k < s->count; k++) {
        const corral_field *f = &s->fields[k];
        if (f->atom != tag || f->empty == pair) continue;
        memcpy(out + s->tag_offset, &k, sizeof k);
        if (pair) get_field(c, el[1], at, 1, CORRAL__AT_ELEMENT, f, out);
        return;
    }
    union_mismatch(c, term, at, s);
}

static __attribute__((noinline)) void get_tuple_shape(corral_call *c, ERL_NIF_TERM term, const corral__where *at,
                                                      const corral_struct *s, unsigned char *out)
{
    int arity;
    const ERL_NIF_TERM *el;
    int skip = s->as == CORRAL__AS_RECORD ? 1 : 0;
    if (!enif_get_tuple(c->env, term, &arity, &el) || arity != (int)s->count + skip || (skip && el[0] != s->tag_atom)) {
        if (skip) fail(c, term, at, "expected a %s record {:%s, ...} of %u elements", s->c_name, s->tag, s->count + 1);
        fail(c, term, at, "expected a %s tuple of %u elements", s->c_name, s->count);
    }
    for (unsigned k = 0; k < s->count; k++)
        get_field(c, el[k + skip], at, (uintptr_t)s->fields[k].name, CORRAL__AT_FIELD, &s->fields[k], out);
}

static void get_shape(corral_call *c, ERL_NIF_TERM term, const corral__where *at, const corral_struct *s,
                      unsigned char *out)
{
    if (s->as == CORRAL__AS_UNION) {
        get_union(c, term, at, s, out);
        return;
    }
    if (s->as == CORRAL__AS_RECORD || s->as == CORRAL__AS_TUPLE) {
        get_tuple_shape(c, term, at, s, out);
        return;
    }
    /* A struct or a map with atom keys. */
    ERL_NIF_TERM v;
    if (s->as == CORRAL__AS_STRUCT) {
        if (CORRAL__UNLIKELY(!enif_get_map_value(c->env, term, corral__atom_struct, &v) || v != s->tag_atom))
            fail(c, term, at, "expected a %%%s{} struct", struct_module_name(s->tag));
    } else if (CORRAL__UNLIKELY(!enif_is_map(c->env, term))) {
        fail(c, term, at, "expected a map of %s", s->c_name);
    }
    for (unsigned k = 0; k < s->count; k++) {
        const corral_field *f = &s->fields[k];
        if (CORRAL__UNLIKELY(!enif_get_map_value(c->env, term, f->atom, &v))) fail(c, term, at, "missing field :%s", f->name);
        get_field(c, v, at, (uintptr_t)f->name, CORRAL__AT_FIELD, f, out);
    }
    size_t size = 0;
    enif_get_map_size(c->env, term, &size);
    if (CORRAL__UNLIKELY(size != s->count + (s->as == CORRAL__AS_STRUCT ? 1 : 0))) extra_key(c, term, at, s);
}

void corral__get_shape(corral_call *c, ERL_NIF_TERM term, const corral__where *at, const corral_struct *s, void *out)
{
    get_shape(c, term, at, s, out);
}

/* A flat shape goes through its own compiled loops first (corral.h,
 * CORRAL__FLAT_LOOPS), which hand every element they refuse to get_shape. */
void corral_get_struct(corral_call *c, corral_term t, const corral_struct *shape, void *out)
{
    if (shape->flat && shape->loops->get_one(c->env, t.term, shape, out)) return;
    get_shape(c, t.term, &t.at, shape, out);
}

void *corral_get_struct_array(corral_call *c, corral_term t, const corral_struct *shape, size_t *count)
{
    corral_list l = corral_get_list(c, t);
    size_t n = corral_list_length(c, &l);
    *count = n;
    if (n == 0) return NULL;
    /* Every byte of a dense shape's element is written by its decoding. */
    unsigned char *out = corral__scratch_for(c, n, shape->size, !shape->dense, &t.at);
    /* One route node for every element, its index updated as the walk goes. */
    corral__where here = {l.at, 0, CORRAL__AT_INDEX};
    if (shape->flat) {
        shape->loops->get_list(c, l.rest, &here, shape, out);
        return out;
    }
    ERL_NIF_TERM head, rest = l.rest;
    unsigned char *o = out;
    while (enif_get_list_cell(c->env, rest, &head, &rest)) {
        get_shape(c, head, &here, shape, o);
        here.step++;
        o += shape->size;
    }
    return out;
}

/* }====================================================================== */

/* {======================================================================
 * C to terms
 * ======================================================================= */

static ERL_NIF_TERM make_shape(corral_call *c, const corral_struct *s, const unsigned char *in);

static ERL_NIF_TERM make_field(corral_call *c, const corral_struct *s, const corral_field *f, const unsigned char *base)
{
    const unsigned char *src = base + f->offset;
    switch (f->type) {
    case CORRAL_DOUBLE: {
        double d;
        memcpy(&d, src, sizeof d);
        if (CORRAL__LIKELY(isfinite(d))) return enif_make_double(c->env, d);
        return corral_make_double(c, d);
    }
    case CORRAL_I64: {
        int64_t v;
        memcpy(&v, src, sizeof v);
        return enif_make_int64(c->env, v);
    }
    case CORRAL_ENUM: {
        unsigned k;
        const corral_atoms *table = f->detail;
        memcpy(&k, src, sizeof k);
        if (k >= table->count)
            corral_raise(c, "field %s of %s holds %u, which is not a position in its atom table (%u atoms)", f->name,
                         s->c_name, k, table->count);
        return table->terms[k];
    }
    case CORRAL_STRUCT: return make_shape(c, f->detail, src);
    case CORRAL_ARRAY: {
        const void *p;
        size_t n;
        memcpy(&p, src, sizeof p);
        memcpy(&n, base + f->count_offset, sizeof n);
        if (n && !p) corral_raise(c, "field %s of %s is NULL with a count of %zu", f->name, s->c_name, n);
        return f->element == CORRAL_STRUCT ? corral_make_struct_array(c, f->detail, p, n)
                                           : corral_make_array(c, f->element, p, n);
    }
    default: return corral__make_scalar(c, f->type, src);
    }
}

static ERL_NIF_TERM make_shape(corral_call *c, const corral_struct *s, const unsigned char *in)
{
    if (s->as == CORRAL__AS_UNION) {
        unsigned k;
        memcpy(&k, in + s->tag_offset, sizeof k);
        if (k >= s->count)
            corral_raise(c, "the tag of %s is %u, which is not a variant (%u variants)", s->c_name, k, s->count);
        const corral_field *f = &s->fields[k];
        if (f->empty) return f->atom;
        return enif_make_tuple2(c->env, f->atom, make_field(c, s, f, in));
    }
    unsigned extra = s->as == CORRAL__AS_STRUCT || s->as == CORRAL__AS_RECORD ? 1 : 0;
    ERL_NIF_TERM small[2][17], *keys = small[0], *values = small[1];
    if (s->count + extra > 17) {
        keys = corral_alloc(c, 2 * (s->count + extra) * sizeof *keys);
        values = keys + s->count + extra;
    }
    if (extra) {
        keys[0] = corral__atom_struct;
        values[0] = s->tag_atom;
    }
    for (unsigned k = 0; k < s->count; k++) {
        keys[k + extra] = s->fields[k].atom;
        values[k + extra] = make_field(c, s, &s->fields[k], in);
    }
    if (s->as == CORRAL__AS_RECORD || s->as == CORRAL__AS_TUPLE)
        return enif_make_tuple_from_array(c->env, values, s->count + extra);
    ERL_NIF_TERM map;
    if (!enif_make_map_from_arrays(c->env, keys, values, s->count + extra, &map))
        corral_raise(c, "%s has two fields with the same name", s->c_name);
    return map;
}

ERL_NIF_TERM corral_make_struct(corral_call *c, const corral_struct *shape, const void *in)
{
    return make_shape(c, shape, in);
}

ERL_NIF_TERM corral__make_shape(corral_call *c, const corral_struct *s, const void *in) { return make_shape(c, s, in); }

ERL_NIF_TERM corral_make_struct_array(corral_call *c, const corral_struct *shape, const void *in, size_t count)
{
    const unsigned char *p = in;
    if (count && !p) corral_raise(c, "corral_make_struct_array: NULL for %zu elements", count);
    if (shape->flat) return shape->loops->make_list(c, shape, p, count);
    ERL_NIF_TERM list = enif_make_list(c->env, 0);
    for (size_t k = count; k-- > 0;) list = enif_make_list_cell(c->env, make_shape(c, shape, p + k * shape->size), list);
    return list;
}

/* }====================================================================== */
