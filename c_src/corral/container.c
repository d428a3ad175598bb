/*
 * container.c: lists, tuples and maps, walked with routes so that a bad
 * element is named by where it sits.
 */
#include "corral_internal.h"

#include <math.h>
#include <string.h>

/* {======================================================================
 * Lists
 * ======================================================================= */

void corral__not_list(corral_call *c, CORRAL__SPREAD_PARAMS)
{
    const corral_term t = CORRAL__GATHERED;
    corral__raise_at(c, &t, "expected a list");
}

void corral__improper_list(corral_call *c, ERL_NIF_TERM list, const corral__where *at)
{
    corral_term t = {list, *at};
    corral__raise_at(c, &t, "expected a proper list");
}

size_t corral_list_length(corral_call *c, const corral_list *l)
{
    unsigned n;
    if (CORRAL__LIKELY(enif_get_list_length(c->env, l->rest, &n))) return n;
    corral__improper_list(c, l->list, l->at);
}

size_t corral_type_size(corral_type type)
{
    switch (type) {
    case CORRAL_I8: case CORRAL_U8: return 1;
    case CORRAL_I16: case CORRAL_U16: return 2;
    case CORRAL_I32: case CORRAL_U32: return 4;
    case CORRAL_I64: case CORRAL_U64: return 8;
    case CORRAL_INT: case CORRAL_UINT: return sizeof(int);
    case CORRAL_LONG: case CORRAL_ULONG: return sizeof(long);
    case CORRAL_SIZE: case CORRAL_SSIZE: return sizeof(size_t);
    case CORRAL_INTPTR: case CORRAL_UINTPTR: return sizeof(intptr_t);
    case CORRAL_FLOAT: return sizeof(float);
    case CORRAL_DOUBLE: return sizeof(double);
    case CORRAL_BOOL: return sizeof(bool);
    case CORRAL_TERM: return sizeof(ERL_NIF_TERM);
    case CORRAL_BINARY: case CORRAL_STRING: return sizeof(corral_binary);
    case CORRAL_CSTRING: return sizeof(const char *);
    default: return 0;
    }
}

/* Converts one term to the C value of `type` at `out`. */
void corral__get_scalar(corral_call *c, corral_term t, corral_type type, void *out)
{
    switch (type) {
#define CASE(T, w, ctype) case T: { ctype v_ = corral_get_##w(c, t); memcpy(out, &v_, sizeof v_); break; }
    CASE(CORRAL_I8, i8, int8_t)
    CASE(CORRAL_I16, i16, int16_t)
    CASE(CORRAL_I32, i32, int32_t)
    CASE(CORRAL_I64, i64, int64_t)
    CASE(CORRAL_U8, u8, uint8_t)
    CASE(CORRAL_U16, u16, uint16_t)
    CASE(CORRAL_U32, u32, uint32_t)
    CASE(CORRAL_U64, u64, uint64_t)
    CASE(CORRAL_INT, int, int)
    CASE(CORRAL_UINT, uint, unsigned)
    CASE(CORRAL_LONG, long, long)
    CASE(CORRAL_ULONG, ulong, unsigned long)
    CASE(CORRAL_SIZE, size, size_t)
    CASE(CORRAL_SSIZE, ssize, ptrdiff_t)
    CASE(CORRAL_INTPTR, intptr, intptr_t)
    CASE(CORRAL_UINTPTR, uintptr, uintptr_t)
    CASE(CORRAL_FLOAT, float, float)
    CASE(CORRAL_DOUBLE, double, double)
    CASE(CORRAL_BOOL, bool, bool)
    CASE(CORRAL_BINARY, binary, corral_binary)
    CASE(CORRAL_STRING, string, corral_binary)
    CASE(CORRAL_CSTRING, cstring, const char *)
#undef CASE
    case CORRAL_TERM: memcpy(out, &t.term, sizeof t.term); break;
    default: corral_raise(c, "corral_get_array: type %d is not a C value type", (int)type);
    }
}

/* Makes the term of the C value of `type` at `in`. */
ERL_NIF_TERM corral__make_scalar(corral_call *c, corral_type type, const void *in)
{
    switch (type) {
#define SIGNED(T, ctype) case T: { ctype v_; memcpy(&v_, in, sizeof v_); return enif_make_int64(c->env, (ErlNifSInt64)v_); }
#define UNSIGNED(T, ctype) case T: { ctype v_; memcpy(&v_, in, sizeof v_); return enif_make_uint64(c->env, (ErlNifUInt64)v_); }
    SIGNED(CORRAL_I8, int8_t)
    SIGNED(CORRAL_I16, int16_t)
    SIGNED(CORRAL_I32, int32_t)
    SIGNED(CORRAL_I64, int64_t)
    SIGNED(CORRAL_INT, int)
    SIGNED(CORRAL_LONG, long)
    SIGNED(CORRAL_SSIZE, ptrdiff_t)
    SIGNED(CORRAL_INTPTR, intptr_t)
    UNSIGNED(CORRAL_U8, uint8_t)
    UNSIGNED(CORRAL_U16, uint16_t)
    UNSIGNED(CORRAL_U32, uint32_t)
    UNSIGNED(CORRAL_U64, uint64_t)
    UNSIGNED(CORRAL_UINT, unsigned)
    UNSIGNED(CORRAL_ULONG, unsigned long)
    UNSIGNED(CORRAL_SIZE, size_t)
    UNSIGNED(CORRAL_UINTPTR, uintptr_t)
#undef SIGNED
#undef UNSIGNED
    case CORRAL_FLOAT: { float f; memcpy(&f, in, sizeof f); return corral_make_double(c, f); }
    case CORRAL_DOUBLE: { double d; memcpy(&d, in, sizeof d); return corral_make_double(c, d); }
    case CORRAL_BOOL: { bool b; memcpy(&b, in, sizeof b); return corral_make_bool(c, b); }
    case CORRAL_TERM: { ERL_NIF_TERM t; memcpy(&t, in, sizeof t); return t; }
    case CORRAL_BINARY:
    case CORRAL_STRING: { corral_binary b; memcpy(&b, in, sizeof b); return corral_make_binary(c, b.data, b.size); }
    case CORRAL_CSTRING: {
        const char *s;
        memcpy(&s, in, sizeof s);
        if (s == NULL) corral_raise(c, "a NULL C string cannot become a term");
        return corral_make_string(c, s);
    }
    default: corral_raise(c, "corral_make_array: type %d is not a C value type", (int)type);
    }
}

/* The common numeric arrays (int64_t, double) are converted in one pass of
 * erl_nif reads into a block that grows when it fills: the list is not
 * counted first. Each fill_ stops at the end of the list, at a full block,
 * or at an element that does not convert (*bad); the routed walk below then
 * runs from the start, to raise with that element's route. A list summed by
 * a typed declaration (callgrind, per element): counting first with
 * enif_get_list_length cost 47.5 instructions, one pass 43.0, the routed
 * cursor loop 39.0, hand-written C 37.0. */
static size_t fill_i64(ErlNifEnv *env, ERL_NIF_TERM *rest, int64_t *out, size_t room, bool *bad)
{
    ERL_NIF_TERM list = *rest, head;
    int64_t *p = out, *end = out + room;
    ErlNifSInt64 v;
    /* Two elements a turn: one test of the room for two reads. */
    while (end - p >= 2) {
        if (!enif_get_list_cell(env, list, &head, &list)) goto done;
        if (CORRAL__UNLIKELY(!enif_get_int64(env, head, &v))) goto bad;
        p[0] = v;
        if (!enif_get_list_cell(env, list, &head, &list)) {
            p += 1;
            goto done;
        }
        if (CORRAL__UNLIKELY(!enif_get_int64(env, head, &v))) goto bad;
        p[1] = v;
        p += 2;
    }
    if (p < end && enif_get_list_cell(env, list, &head, &list)) {
        if (CORRAL__UNLIKELY(!enif_get_int64(env, head, &v))) goto bad;
        *p++ = v;
    }
done:
    *rest = list;
    return (size_t)(p - out);
bad:
    *bad = true;
    return 0;
}

static size_t fill_double(ErlNifEnv *env, ERL_NIF_TERM *rest, double *out, size_t room, bool *bad)
{
    ERL_NIF_TERM list = *rest, head;
    double *p = out, *end = out + room;
    while (p < end && enif_get_list_cell(env, list, &head, &list)) {
        /* As corral_get_double: a float, or a 64-bit integer converted. */
        if (!enif_get_double(env, head, p)) {
            ErlNifSInt64 v;
            if (CORRAL__UNLIKELY(!enif_get_int64(env, head, &v))) {
                *bad = true;
                break;
            }
            *p = (double)v;
        }
        p++;
    }
    *rest = list;
    return (size_t)(p - out);
}

/* A short list takes one small block; a long one grows, and each growth
 * copies what was converted so far (the body needs one array). Those
 * copies are what the conversion costs beyond walking the list in the
 * body: a 1M list converted into a block that never grew took 1.01x..1.03x
 * the time of the cursor loop. Growing by g copies about n / ln g of an
 * n-element list on average (from n / (g - 1) just below a block's size
 * to n just past it) and holds up to g times the list's bytes. Summing
 * lists of 300K, 1M and 2.5M (medians of three runs each): fourfold
 * 1.04x..1.24x the cursor loop, eightfold 1.04x..1.11x, sixteenfold no
 * better than eightfold.
 * A block past 64 MiB grows fourfold, so that a list near the memory
 * limits does not ask for eight times its size.
 *
 * A typed list parameter also keeps the length its last call converted
 * (`hint`, one per parameter: one per file or per type would give the
 * short lists of one function the blocks of another's long ones). The
 * next call starts with a block a quarter larger than that, if the call
 * may have it, so calls with lists of about the same length convert
 * without a copy; a block of up to 64 MiB, so that a guess never holds
 * much more than the lists it came from. */
#define FIRST_BLOCK 32
#define GROWTH 8
#define GROWTH_PAST_64MIB 4
#define HINT_MAX_BYTES ((size_t)64 << 20)

static bool fast_array(corral_call *c, const corral_term *t, corral_type type, void **out, size_t *count,
                       size_t *hint)
{
    ErlNifEnv *env = c->env;
    ERL_NIF_TERM rest = t->term;
    const size_t width = 8;
    size_t n = 0, cap = FIRST_BLOCK, last = hint ? __atomic_load_n(hint, __ATOMIC_RELAXED) : 0;
    unsigned char *block = NULL;
    if (last > FIRST_BLOCK) {
        size_t guess = last + last / 4 < HINT_MAX_BYTES / width ? last + last / 4 : HINT_MAX_BYTES / width;
        block = corral__scratch_try(c, guess * width);
        if (block != NULL) cap = guess;
    }
    if (block == NULL) block = corral__scratch_for(c, cap, width, false, &t->at);
    for (;;) {
        bool bad = false;
        n += type == CORRAL_I64 ? fill_i64(env, &rest, (int64_t *)block + n, cap - n, &bad)
                                : fill_double(env, &rest, (double *)block + n, cap - n, &bad);
        if (bad) return false;
        /* A block not filled: the list ended, or was improper. */
        if (n < cap || enif_is_empty_list(env, rest)) break;
        size_t growth = cap * width <= ((size_t)64 << 20) / GROWTH ? GROWTH : GROWTH_PAST_64MIB;
        if (cap > SIZE_MAX / growth / width) return false;
        block = corral__scratch_regrow(c, block, cap * width, growth * cap * width, &t->at);
        cap *= growth;
    }
    if (!enif_is_empty_list(env, rest)) return false;
    /* Written only when it changes: calls on other schedulers read it. */
    if (hint && n != last) __atomic_store_n(hint, n, __ATOMIC_RELAXED);
    *out = block;
    *count = n;
    return true;
}

void *corral__get_array_hinted(corral_call *c, corral_term t, corral_type type, size_t *count, size_t *hint)
{
    size_t width = corral_type_size(type);
    if (width == 0) corral_raise(c, "corral_get_array: type %d is not a C value type", (int)type);
    if (enif_is_empty_list(c->env, t.term)) {
        *count = 0;
        return NULL;
    }
    if (type == CORRAL_I64 || type == CORRAL_DOUBLE) {
        void *out;
        if (CORRAL__LIKELY(fast_array(c, &t, type, &out, count, hint))) return out;
    }
    corral_list l = corral_get_list(c, t);
    size_t n = corral_list_length(c, &l);
    *count = n;
    if (n == 0) return NULL;
    unsigned char *out = corral__scratch_for(c, n, width, true, &t.at), *o = out;
    corral_term e;
    /* The common numeric cases get their own loops (no switch per element). */
    if (type == CORRAL_I64) {
        int64_t *p = (int64_t *)out;
        while (corral_list_next(c, &l, &e)) *p++ = corral_get_i64(c, e);
    } else if (type == CORRAL_DOUBLE) {
        double *p = (double *)out;
        while (corral_list_next(c, &l, &e)) *p++ = corral_get_double(c, e);
    } else {
        while (corral_list_next(c, &l, &e)) {
            corral__get_scalar(c, e, type, o);
            o += width;
        }
    }
    return out;
}

void *corral_get_array(corral_call *c, corral_term t, corral_type type, size_t *count)
{
    return corral__get_array_hinted(c, t, type, count, NULL);
}

/* The terms go into scratch memory first and become the list in one
 * enif_make_list_from_array: the VM then builds every cell in one pass,
 * where a cell at a time costs a call into the VM per element (1.5x slower
 * for a million integers). The scratch array is freed with the call, also
 * when a value raises. */
ERL_NIF_TERM corral_make_array(corral_call *c, corral_type type, const void *values, size_t count)
{
    size_t width = corral_type_size(type);
    if (width == 0) corral_raise(c, "corral_make_array: type %d is not a C value type", (int)type);
    if (count == 0) return enif_make_list(c->env, 0);
    if (values == NULL) corral_raise(c, "corral_make_array: NULL values for %zu elements", count);
    if (count > UINT_MAX)
        corral_raise(c, "corral_make_array: %zu elements is more than one list can be made of (%u)", count, UINT_MAX);
    ERL_NIF_TERM *terms = corral_alloc(c, count * sizeof *terms);
    ErlNifEnv *env = c->env;
    switch (type) {
    case CORRAL_I64: {
        const int64_t *v = values;
        for (size_t k = 0; k < count; k++) terms[k] = enif_make_int64(env, v[k]);
        break;
    }
    case CORRAL_U8: {
        const uint8_t *v = values;
        for (size_t k = 0; k < count; k++) terms[k] = enif_make_uint(env, v[k]);
        break;
    }
    case CORRAL_I32: {
        const int32_t *v = values;
        for (size_t k = 0; k < count; k++) terms[k] = enif_make_int(env, v[k]);
        break;
    }
    default: {
        const unsigned char *p = values;
        for (size_t k = 0; k < count; k++) terms[k] = corral__make_scalar(c, type, p + k * width);
    }
    }
    return enif_make_list_from_array(env, terms, (unsigned)count);
}

ERL_NIF_TERM corral_make_reverse_list(corral_call *c, ERL_NIF_TERM list)
{
    ERL_NIF_TERM out;
    if (!enif_make_reverse_list(c->env, list, &out))
        corral_raise(c, "corral_make_reverse_list: the term is not a proper list");
    return out;
}

/* }====================================================================== */

/* {======================================================================
 * Tuples
 * ======================================================================= */

corral_tuple corral_get_tuple(corral_call *c, corral_term t, int arity)
{
    int n;
    const ERL_NIF_TERM *elements;
    if (!enif_get_tuple(c->env, t.term, &n, &elements)) {
        if (arity < 0) corral__raise_at(c, &t, "expected a tuple");
        corral__raise_at(c, &t, "expected a tuple of %d element%s", arity, arity == 1 ? "" : "s");
    }
    if (arity >= 0 && n != arity)
        corral__raise_at(c, &t, "expected a tuple of %d element%s", arity, arity == 1 ? "" : "s");
    corral_tuple tp = {t.term, elements, n, corral__pin(c, &t)};
    return tp;
}

void corral__bad_tuple_index(corral_call *c, const corral_tuple *tp, int k)
{
    corral_raise(c, "corral_tuple_get: index %d of a tuple of %d elements (a bug in the NIF)", k, tp->arity);
}

/* }====================================================================== */

/* {======================================================================
 * Maps
 * ======================================================================= */

corral_map corral_get_map(corral_call *c, corral_term t)
{
    if (!enif_is_map(c->env, t.term)) corral__raise_at(c, &t, "expected a map");
    corral_map m = {t.term, corral__pin(c, &t)};
    return m;
}

corral_term corral_map_get(corral_call *c, const corral_map *m, ERL_NIF_TERM key)
{
    corral_term v = {0, {m->at, (uintptr_t)key, CORRAL__AT_KEY}};
    if (CORRAL__LIKELY(enif_get_map_value(c->env, m->map, key, &v.term))) return v;
    char k[CORRAL__SHOWN_MAX];
    corral__show(c, key, k, sizeof k);
    corral_term whole = {m->map, *m->at};
    corral__raise_at(c, &whole, "missing key %s", k);
}

bool corral_map_find(corral_call *c, const corral_map *m, ERL_NIF_TERM key, corral_term *out)
{
    ERL_NIF_TERM v;
    if (!enif_get_map_value(c->env, m->map, key, &v)) return false;
    out->term = v;
    out->at.parent = m->at;
    out->at.step = (uintptr_t)key;
    out->at.kind = CORRAL__AT_KEY;
    return true;
}

size_t corral_map_size(corral_call *c, const corral_map *m)
{
    size_t n = 0;
    enif_get_map_size(c->env, m->map, &n);
    return n;
}

struct corral_map_iter {
    ErlNifMapIterator it;
    ErlNifEnv *env;
    const corral__where *at;
    corral_defer_id cleanup;
    bool open;
};

static void destroy_iter(void *arg)
{
    corral_map_iter *it = arg;
    if (it->open) enif_map_iterator_destroy(it->env, &it->it);
    it->open = false;
}

corral_map_iter *corral_map_iterate(corral_call *c, const corral_map *m)
{
    corral_map_iter *it = corral_alloc(c, sizeof *it);
    it->open = false;
    it->env = c->env;
    it->at = m->at;
    it->cleanup = corral_defer(c, destroy_iter, it);
    if (!enif_map_iterator_create(c->env, m->map, &it->it, ERL_NIF_MAP_ITERATOR_FIRST))
        corral_raise(c, "corral_map_iterate: the term is not a map");
    it->open = true;
    return it;
}

bool corral_map_next(corral_call *c, corral_map_iter *it, corral_term *key, corral_term *value)
{
    if (!it->open) corral_raise(c, "corral_map_next: the walk has already ended");
    ERL_NIF_TERM k, v;
    if (!enif_map_iterator_get_pair(c->env, &it->it, &k, &v)) {
        corral_run_now(c, it->cleanup);
        return false;
    }
    enif_map_iterator_next(c->env, &it->it);
    key->term = k;
    key->at.parent = it->at;
    key->at.step = (uintptr_t)k;
    key->at.kind = CORRAL__AT_MAPKEY;
    value->term = v;
    value->at.parent = it->at;
    value->at.step = (uintptr_t)k;
    value->at.kind = CORRAL__AT_KEY;
    return true;
}

ERL_NIF_TERM corral_make_map_from(corral_call *c, const ERL_NIF_TERM *keys, const ERL_NIF_TERM *values, size_t count)
{
    ERL_NIF_TERM map;
    size_t size;
    /* The VM refuses duplicate keys only in small maps (up to 32 keys);
     * a bigger map keeps the last value silently, so the size tells. */
    bool made = enif_make_map_from_arrays(c->env, (ERL_NIF_TERM *)keys, (ERL_NIF_TERM *)values, count, &map);
    if (made && enif_get_map_size(c->env, map, &size) && size == count) return map;
    /* Find the first key seen twice: O(count log count), on this path only. */
    ERL_NIF_TERM seen = enif_make_new_map(c->env), ignored;
    for (size_t i = 0; i < count; i++) {
        if (enif_get_map_value(c->env, seen, keys[i], &ignored)) {
            char k[CORRAL__SHOWN_MAX];
            corral__show(c, keys[i], k, sizeof k);
            corral_raise(c, "corral_make_map_from: the key %s appears twice", k);
        }
        enif_make_map_put(c->env, seen, keys[i], keys[i], &seen);
    }
    corral_raise(c, "corral_make_map_from: the VM refused the map");
}

ERL_NIF_TERM corral_map_put(corral_call *c, ERL_NIF_TERM map, ERL_NIF_TERM key, ERL_NIF_TERM value)
{
    ERL_NIF_TERM out;
    if (!enif_make_map_put(c->env, map, key, value, &out)) corral_raise(c, "corral_map_put: the term is not a map");
    return out;
}

ERL_NIF_TERM corral_map_update(corral_call *c, ERL_NIF_TERM map, ERL_NIF_TERM key, ERL_NIF_TERM value)
{
    ERL_NIF_TERM out;
    if (enif_make_map_update(c->env, map, key, value, &out)) return out;
    if (!enif_is_map(c->env, map)) corral_raise(c, "corral_map_update: the term is not a map");
    char k[CORRAL__SHOWN_MAX];
    corral__show(c, key, k, sizeof k);
    corral_raise(c, "corral_map_update: the key %s is not in the map", k);
}

ERL_NIF_TERM corral_map_remove(corral_call *c, ERL_NIF_TERM map, ERL_NIF_TERM key)
{
    ERL_NIF_TERM out;
    if (!enif_make_map_remove(c->env, map, key, &out)) corral_raise(c, "corral_map_remove: the term is not a map");
    return out;
}

/* }====================================================================== */
