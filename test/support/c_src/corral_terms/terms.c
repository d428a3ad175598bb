/*
 * The term API's test library: one NIF per public function of the term
 * sections of corral.h (numbers, atoms, strings, lists, tuples, maps,
 * generic terms, structures), driven by test/term_*_test.exs.
 */
#include <corral.h>

#include <math.h>
#include <string.h>

/* {== integers of every width ==} */

CORRAL_ATOMS(widths, "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "int", "uint", "long", "ulong", "size",
             "ssize", "intptr", "uintptr");

/* width(w, v): argument 2 through corral_arg_<w>, back through corral_make_<w>. */
CORRAL_NIF(width)
{
    switch (corral_arg_enum(c, 0, &widths)) {
    case 0: return corral_make_i8(c, corral_arg_i8(c, 1));
    case 1: return corral_make_i16(c, corral_arg_i16(c, 1));
    case 2: return corral_make_i32(c, corral_arg_i32(c, 1));
    case 3: return corral_make_i64(c, corral_get_i64(c, corral_arg_term(c, 1)));
    case 4: return corral_make_u8(c, corral_get_u8(c, corral_arg_term(c, 1)));
    case 5: return corral_make_u16(c, corral_arg_u16(c, 1));
    case 6: return corral_make_u32(c, corral_arg_u32(c, 1));
    case 7: return corral_make_u64(c, corral_get_u64(c, corral_arg_term(c, 1)));
    case 8: return corral_make_int(c, corral_get_int(c, corral_arg_term(c, 1)));
    case 9: return corral_make_uint(c, corral_get_uint(c, corral_arg_term(c, 1)));
    case 10: return corral_make_long(c, corral_arg_long(c, 1));
    case 11: return corral_make_ulong(c, corral_arg_ulong(c, 1));
    case 12: return corral_make_size(c, corral_get_size(c, corral_arg_term(c, 1)));
    case 13: return corral_make_ssize(c, corral_arg_ssize(c, 1));
    case 14: return corral_make_intptr(c, corral_arg_intptr(c, 1));
    default: return corral_make_uintptr(c, corral_arg_uintptr(c, 1));
    }
}

CORRAL_NIF(i128) { return corral_make_i128(c, corral_get_i128(c, corral_arg_term(c, 0))); }
CORRAL_NIF(u128) { return corral_make_u128(c, corral_get_u128(c, corral_arg_term(c, 0))); }

/* i128_add(a, b): arithmetic beyond 64 bits, checked. */
CORRAL_NIF(i128_add)
{
    __int128 a = corral_get_i128(c, corral_arg_term(c, 0)), b = corral_get_i128(c, corral_arg_term(c, 1)), r;
    if (__builtin_add_overflow(a, b, &r)) corral_raise_argument(c, "the sum does not fit in 128 bits");
    return corral_make_i128(c, r);
}

/* bigint_bytes(v) -> {negative, little-endian magnitude}. */
CORRAL_NIF(bigint_bytes)
{
    bool neg;
    corral_binary m = corral_get_bigint(c, corral_arg_term(c, 0), &neg);
    return corral_make_pair(c, corral_make_bool(c, neg), corral_make_binary(c, m.data, m.size));
}

/* bigint_make(negative, bytes). */
CORRAL_NIF(bigint_make)
{
    bool neg = corral_arg_bool(c, 0);
    corral_binary m = corral_arg_binary(c, 1);
    return corral_make_bigint(c, neg, m.data, m.size);
}

CORRAL_NIF(float_) { return corral_make_double(c, corral_arg_float(c, 0)); }

/* {== atoms ==} */

CORRAL_NIF(atom_name) { return corral_make_string(c, corral_get_atom_name(c, corral_arg_term(c, 0))); }
CORRAL_NIF(make_atom) { return corral_make_atom(c, corral_arg_cstring(c, 0)); }

CORRAL_NIF(existing_atom)
{
    ERL_NIF_TERM a;
    if (corral_make_existing_atom(c, corral_arg_cstring(c, 0), &a)) return corral_make_ok_tuple(c, a);
    return corral_make_error(c, corral_make_nil(c));
}

/* optional(v): nil and :undefined stay "no value" (:undefined), else a bool. */
CORRAL_NIF(optional)
{
    ERL_NIF_TERM t = corral_arg(c, 0);
    if (corral_is_nil(t) || corral_is_undefined(t)) return corral_make_undefined(c);
    return corral_make_bool(c, corral_get_bool(c, corral_arg_term(c, 0)));
}

/* {== binaries and strings ==} */

CORRAL_NIF(string) { corral_binary s = corral_arg_string(c, 0); return corral_make_binary(c, s.data, s.size); }
CORRAL_NIF(cstring) { return corral_make_string(c, corral_arg_cstring(c, 0)); }
CORRAL_NIF(charlist_to_string)
{
    corral_binary s = corral_arg_charlist(c, 0);
    if (s.data[s.size] != '\0') corral_raise(c, "not NUL-terminated");
    return corral_make_binary(c, s.data, s.size);
}
CORRAL_NIF(string_to_charlist)
{
    corral_binary s = corral_arg_binary(c, 0);
    return corral_make_charlist(c, (const char *)s.data, s.size);
}
CORRAL_NIF(utf8_prefix)
{
    corral_binary s = corral_arg_binary(c, 0);
    return corral_make_size(c, corral_utf8_valid_prefix(s.data, s.size));
}
CORRAL_NIF(sub_binary)
{
    return corral_make_sub_binary(c, corral_arg(c, 0), corral_arg_size(c, 1), corral_arg_size(c, 2));
}
/* iodata_sizes(list): the byte size of each iodata element. */
CORRAL_NIF(iodata_sizes)
{
    corral_list l = corral_arg_list(c, 0);
    corral_term e;
    ERL_NIF_TERM out = corral_make_empty_list(c);
    while (corral_list_next(c, &l, &e)) out = corral_make_list_cell(c, corral_make_size(c, corral_get_iodata(c, e).size), out);
    return corral_make_reverse_list(c, out);
}
/* binaries_size(list): total bytes of a list of binaries (corral_get_binary). */
CORRAL_NIF(binaries_size)
{
    corral_list l = corral_arg_list(c, 0);
    corral_term e;
    size_t n = 0;
    while (corral_list_next(c, &l, &e)) n += corral_get_binary(c, e).size;
    return corral_make_size(c, n);
}

/* {== lists ==} */

static int64_t add64(corral_call *c, int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) corral_raise_argument(c, "the sum does not fit in 64 bits");
    return r;
}

/* The sum of a list's integers, walked with corral_list_next. */
static int64_t sum_of(corral_call *c, corral_list l)
{
    corral_term e;
    int64_t sum = 0;
    while (corral_list_next(c, &l, &e)) sum = add64(c, sum, corral_get_i64(c, e));
    return sum;
}

CORRAL_NIF(list_sum) { return corral_make_i64(c, sum_of(c, corral_arg_list(c, 0))); }

CORRAL_NIF(list_length)
{
    corral_list l = corral_arg_list(c, 0);
    return corral_make_size(c, corral_list_length(c, &l));
}

/* nested_sum([[1, 2], [3]]): lists inside a list. */
CORRAL_NIF(nested_sum)
{
    corral_list outer = corral_arg_list(c, 0);
    corral_term row;
    int64_t sum = 0;
    while (corral_list_next(c, &outer, &row)) sum = add64(c, sum, sum_of(c, corral_get_list(c, row)));
    return corral_make_i64(c, sum);
}

/* unrouted_sum(list): the list taken with corral_term_of, so its elements'
 * messages name their index and nothing before it. */
CORRAL_NIF(unrouted_sum) { return corral_make_i64(c, sum_of(c, corral_get_list(c, corral_term_of(corral_arg(c, 0))))); }

/* last_arg_sum(a1, ..., a17): the sum of the list in argument 17, past the
 * arguments whose routes are static. */
CORRAL_NIF(last_arg_sum) { return corral_make_i64(c, sum_of(c, corral_arg_list(c, 16))); }

/* positive(list): every element must be a positive integer (corral_raise_at). */
CORRAL_NIF(positive)
{
    corral_list l = corral_arg_list(c, 0);
    corral_term e;
    while (corral_list_next(c, &l, &e))
        if (corral_get_i64(c, e) <= 0) corral_raise_at(c, e, "expected a positive integer");
    return corral_make_ok(c);
}

/* The same, with the term passed by pointer (the form accepted too). */
CORRAL_NIF(positive_by_pointer)
{
    corral_list l = corral_arg_list(c, 0);
    corral_term e;
    while (corral_list_next(c, &l, &e)) {
        const corral_term *p = &e;
        if (corral_get_i64(c, e) <= 0) corral_raise_at(c, p, "expected a positive integer");
    }
    return corral_make_ok(c);
}

CORRAL_ATOMS(types, "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "int", "uint", "long", "ulong", "size",
             "ssize", "intptr", "uintptr", "float", "double", "bool", "term", "binary", "string", "cstring", "enum");

/* array(type, list): the list through a C array of that type and back. */
CORRAL_NIF(array)
{
    corral_type type = (corral_type)(corral_arg_enum(c, 0, &types) + CORRAL_I8);
    size_t n;
    void *v = corral_get_array(c, corral_arg_term(c, 1), type, &n);
    return corral_make_array(c, type, v, n);
}

/* array_size(type): corral_type_size. */
CORRAL_NIF(array_size) { return corral_make_size(c, corral_type_size((corral_type)(corral_arg_enum(c, 0, &types) + CORRAL_I8))); }

CORRAL_NIF(make_array_nan)
{
    double v[2] = {1.0, NAN};
    return corral_make_array(c, CORRAL_DOUBLE, v, 2);
}

CORRAL_NIF(seq)
{
    size_t n = corral_arg_size(c, 0);
    int64_t *v = corral_calloc(c, n ? n : 1, sizeof *v);
    for (size_t k = 0; k < n; k++) v[k] = (int64_t)k + 1;
    return corral_make_array(c, CORRAL_I64, v, n);
}

/* seq_reversed(n): [1..n] built with cells from the back... of the front, reversed once. */
CORRAL_NIF(seq_reversed)
{
    size_t n = corral_arg_size(c, 0);
    ERL_NIF_TERM l = corral_make_empty_list(c);
    for (size_t k = 1; k <= n; k++) l = corral_make_list_cell(c, corral_make_size(c, k), l);
    return corral_make_reverse_list(c, l);
}

CORRAL_NIF(reverse_improper) { return corral_make_reverse_list(c, corral_make_list_cell(c, corral_make_ok(c), corral_make_ok(c))); }

/* list_of(list): corral_make_list from the terms of a list. */
CORRAL_NIF(list_of)
{
    size_t n;
    ERL_NIF_TERM *v = corral_get_array(c, corral_arg_term(c, 0), CORRAL_TERM, &n);
    return corral_make_list(c, v, n);
}

/* {== tuples ==} */

/* tuple_sum(tuple, arity): arity -1 accepts any. */
CORRAL_NIF(tuple_sum)
{
    corral_tuple tp = corral_arg_tuple(c, 0, corral_arg_int(c, 1));
    int64_t sum = 0;
    for (int k = 0; k < tp.arity; k++) sum = add64(c, sum, corral_get_i64(c, corral_tuple_get(c, &tp, k)));
    return corral_make_i64(c, sum);
}

CORRAL_NIF(tuple_get) { corral_tuple tp = corral_arg_tuple(c, 0, -1); return corral_tuple_get(c, &tp, corral_arg_int(c, 1)).term; }

CORRAL_NIF(tuple_of)
{
    size_t n;
    ERL_NIF_TERM *v = corral_get_array(c, corral_arg_term(c, 0), CORRAL_TERM, &n);
    return corral_make_tuple(c, v, n);
}

CORRAL_NIF(pair) { return corral_make_pair(c, corral_arg(c, 0), corral_arg(c, 1)); }
CORRAL_NIF(triple) { return corral_make_triple(c, corral_arg(c, 0), corral_arg(c, 1), corral_arg(c, 2)); }

/* {== maps ==} */

CORRAL_NIF(map_get) { corral_map m = corral_arg_map(c, 0); return corral_map_get(c, &m, corral_arg(c, 1)).term; }

CORRAL_NIF(map_find)
{
    corral_map m = corral_arg_map(c, 0);
    corral_term v;
    if (corral_map_find(c, &m, corral_arg(c, 1), &v)) return corral_make_ok_tuple(c, v.term);
    return corral_make_error(c, corral_make_nil(c));
}

CORRAL_NIF(map_size) { corral_map m = corral_arg_map(c, 0); return corral_make_size(c, corral_map_size(c, &m)); }

/* map_pairs(map): [{k, v}] by walking the map. */
CORRAL_NIF(map_pairs)
{
    corral_map m = corral_arg_map(c, 0);
    corral_map_iter *it = corral_map_iterate(c, &m);
    corral_term k, v;
    ERL_NIF_TERM out = corral_make_empty_list(c);
    while (corral_map_next(c, it, &k, &v)) out = corral_make_list_cell(c, corral_make_pair(c, k.term, v.term), out);
    return out;
}

/* map_next_after_end(map): a walk used after it ended (a bug: RuntimeError). */
CORRAL_NIF(map_next_after_end)
{
    corral_map m = corral_arg_map(c, 0);
    corral_map_iter *it = corral_map_iterate(c, &m);
    corral_term k, v;
    while (corral_map_next(c, it, &k, &v)) {}
    corral_map_next(c, it, &k, &v);
    return corral_make_ok(c);
}

/* map_abort_walk(map): raises in the middle of a walk (the walk is released). */
CORRAL_NIF(map_abort_walk)
{
    corral_map m = corral_arg_map(c, 0);
    corral_map_iter *it = corral_map_iterate(c, &m);
    corral_term k, v;
    while (corral_map_next(c, it, &k, &v)) corral_get_i64(c, v);
    return corral_make_ok(c);
}

/* atom_keys(map): every key an atom and every value an integer. */
CORRAL_NIF(atom_keys)
{
    corral_map m = corral_arg_map(c, 0);
    corral_map_iter *it = corral_map_iterate(c, &m);
    corral_term k, v;
    int64_t sum = 0;
    while (corral_map_next(c, it, &k, &v)) {
        corral_get_atom_name(c, k);
        sum = add64(c, sum, corral_get_i64(c, v));
    }
    return corral_make_i64(c, sum);
}

CORRAL_ATOMS(order_keys, "items", "id");

/* order_total(%{items: [%{"qty" => n}, ...]}): routes through maps and lists. */
CORRAL_NIF(order_total)
{
    ERL_NIF_TERM qty = corral_make_string(c, "qty");
    corral_map order = corral_arg_map(c, 0);
    corral_list items = corral_get_list(c, corral_map_get(c, &order, corral_atom(&order_keys, 0)));
    corral_term item;
    int64_t total = 0;
    while (corral_list_next(c, &items, &item)) {
        corral_map im = corral_get_map(c, item);
        total = add64(c, total, corral_get_u32(c, corral_map_get(c, &im, qty)));
    }
    return corral_make_i64(c, total);
}

CORRAL_NIF(map_from)
{
    size_t nk, nv;
    ERL_NIF_TERM *k = corral_get_array(c, corral_arg_term(c, 0), CORRAL_TERM, &nk);
    ERL_NIF_TERM *v = corral_get_array(c, corral_arg_term(c, 1), CORRAL_TERM, &nv);
    if (nk != nv) corral_raise_argument(c, "keys and values differ in length");
    return nk ? corral_make_map_from(c, k, v, nk) : corral_make_map(c);
}

CORRAL_NIF(map_put) { return corral_map_put(c, corral_arg(c, 0), corral_arg(c, 1), corral_arg(c, 2)); }
CORRAL_NIF(map_update) { return corral_map_update(c, corral_arg(c, 0), corral_arg(c, 1), corral_arg(c, 2)); }
CORRAL_NIF(map_remove) { return corral_map_remove(c, corral_arg(c, 0), corral_arg(c, 1)); }

/* {== generic terms, pids and references ==} */

CORRAL_ATOMS(kinds, "atom", "bitstring", "float", "fun", "integer", "list", "map", "pid", "port", "reference", "tuple");

CORRAL_NIF(kind_of) { return corral_atom(&kinds, (unsigned)corral_kind_of(c, corral_arg(c, 0)) - 1); }
CORRAL_NIF(compare) { return corral_make_int(c, corral_compare(corral_arg(c, 0), corral_arg(c, 1))); }
CORRAL_NIF(equal) { return corral_make_bool(c, corral_equal(corral_arg(c, 0), corral_arg(c, 1))); }
CORRAL_NIF(hash) { return corral_make_u32(c, corral_hash(corral_arg(c, 0))); }
CORRAL_NIF(pid_in)
{
    corral_tuple tp = corral_arg_tuple(c, 0, 1);
    ErlNifPid p = corral_get_pid(c, corral_tuple_get(c, &tp, 0));
    return corral_make_pid(c, &p);
}
CORRAL_NIF(ref_in) { return corral_get_ref(c, corral_arg_term(c, 0)); }
CORRAL_NIF(new_ref) { return corral_make_ref(c); }
/* no_route(term): corral_term_of has no route in its messages. */
CORRAL_NIF(no_route) { return corral_make_i64(c, corral_get_i64(c, corral_term_of(corral_arg(c, 0)))); }

/* {== structures ==} */

typedef struct {
    double x, y;
} Point;

CORRAL_STRUCT(point_shape, Point, CORRAL_AS_STRUCT("Elixir.CorralTest.Geo.Point"),
              CORRAL_FIELD(Point, x, CORRAL_DOUBLE),
              CORRAL_FIELD(Point, y, CORRAL_DOUBLE));

CORRAL_STRUCT(point_map, Point, CORRAL_AS_MAP(), CORRAL_FIELD(Point, x, CORRAL_DOUBLE), CORRAL_FIELD(Point, y, CORRAL_DOUBLE));
CORRAL_STRUCT(point_record, Point, CORRAL_AS_RECORD("point"), CORRAL_FIELD(Point, x, CORRAL_DOUBLE),
              CORRAL_FIELD(Point, y, CORRAL_DOUBLE));
CORRAL_STRUCT(point_tuple, Point, CORRAL_AS_TUPLE(), CORRAL_FIELD(Point, x, CORRAL_DOUBLE), CORRAL_FIELD(Point, y, CORRAL_DOUBLE));

CORRAL_ATOMS(colors, "red", "green", "blue");

typedef struct {
    const char *name;
    unsigned color;
    uint8_t width;
    bool closed;
    Point *points;
    size_t npoints;
    int32_t *weights;
    size_t nweights;
    Point origin;
} Polygon;

CORRAL_STRUCT(polygon_shape, Polygon, CORRAL_AS_STRUCT("Elixir.CorralTest.Geo.Polygon"),
              CORRAL_FIELD(Polygon, name, CORRAL_CSTRING),
              CORRAL_FIELD_ENUM(Polygon, color, &colors),
              CORRAL_FIELD(Polygon, width, CORRAL_U8),
              CORRAL_FIELD(Polygon, closed, CORRAL_BOOL),
              CORRAL_FIELD_STRUCT_ARRAY(Polygon, points, npoints, &point_shape),
              CORRAL_FIELD_ARRAY(Polygon, weights, nweights, CORRAL_I32),
              CORRAL_FIELD_STRUCT(Polygon, origin, &point_tuple));

typedef struct {
    unsigned kind;
    union {
        double radius;
        Point corner;
    } as;
} Shape;

CORRAL_UNION(shape_shape, Shape, kind,
             CORRAL_VARIANT(Shape, "circle", as.radius, CORRAL_DOUBLE),
             CORRAL_VARIANT_STRUCT(Shape, "square", as.corner, &point_shape),
             CORRAL_VARIANT_EMPTY("empty"));

CORRAL_ATOMS(forms, "struct", "map", "record", "tuple");

/* point(form, term): a Point through C and back in the same form. */
CORRAL_NIF(point)
{
    static const corral_struct *shapes[] = {&point_shape, &point_map, &point_record, &point_tuple};
    const corral_struct *s = shapes[corral_arg_enum(c, 0, &forms)];
    Point p;
    corral_get_struct(c, corral_arg_term(c, 1), s, &p);
    return corral_make_struct(c, s, &p);
}

CORRAL_NIF(polygon)
{
    Polygon p;
    corral_arg_struct(c, 0, &polygon_shape, &p);
    return corral_make_struct(c, &polygon_shape, &p);
}

/* polygon_area(polygon): uses the decoded array (shoelace formula). */
CORRAL_NIF(polygon_perimeter_points)
{
    Polygon p;
    corral_arg_struct(c, 0, &polygon_shape, &p);
    return corral_make_size(c, p.npoints);
}

CORRAL_NIF(shape)
{
    Shape s;
    corral_arg_struct(c, 0, &shape_shape, &s);
    return corral_make_struct(c, &shape_shape, &s);
}

CORRAL_NIF(points)
{
    size_t n;
    Point *p = corral_get_struct_array(c, corral_arg_term(c, 0), &point_shape, &n);
    for (size_t k = 0; k < n; k++) p[k].x += 1.0;
    return corral_make_struct_array(c, &point_shape, p, n);
}

/* A flat shape of mixed doubles and 64-bit integers, as a map: each
 * CORRAL_STRUCT's own loops convert its arrays (corral.h, "the conversions
 * of a flat shape"), handing refused elements to the generic walk. */
typedef struct {
    int64_t id;
    double value;
    int64_t count;
} Sample;

CORRAL_STRUCT(sample_shape, Sample, CORRAL_AS_MAP(), CORRAL_FIELD(Sample, id, CORRAL_I64),
              CORRAL_FIELD(Sample, value, CORRAL_DOUBLE), CORRAL_FIELD(Sample, count, CORRAL_I64));

/* samples(list): each value doubled and each count plus one. */
CORRAL_NIF(samples)
{
    size_t n;
    Sample *s = corral_get_struct_array(c, corral_arg_term(c, 0), &sample_shape, &n);
    for (size_t k = 0; k < n; k++) {
        s[k].value *= 2;
        s[k].count += 1;
    }
    return corral_make_struct_array(c, &sample_shape, s, n);
}

/* sample(map): one element, the same way. */
CORRAL_NIF(sample)
{
    Sample s;
    corral_arg_struct(c, 0, &sample_shape, &s);
    s.value *= 2;
    s.count += 1;
    return corral_make_struct(c, &sample_shape, &s);
}

/* samples_with(n, k, what): n samples (1..1000) going out, element k's
 * value not finite: NaN (what 0), infinity (1) or minus infinity (2). */
CORRAL_NIF(samples_with)
{
    size_t n = (size_t)corral_arg_int_range(c, 0, 1, 1000), k = corral_arg_index(c, 1, n);
    int64_t what = corral_arg_int_range(c, 2, 0, 2);
    Sample *s = corral_calloc(c, n, sizeof *s);
    for (size_t j = 0; j < n; j++) s[j] = (Sample){(int64_t)j, (double)j, 1};
    s[k].value = what == 0 ? NAN : what == 1 ? INFINITY : -INFINITY;
    return corral_make_struct_array(c, &sample_shape, s, n);
}

/* The most fields a flat shape has (15), and one more (16: the generic walk). */
#define W_ROWS(T)                                                                                       \
    CORRAL_FIELD(T, a0, CORRAL_I64), CORRAL_FIELD(T, a1, CORRAL_DOUBLE), CORRAL_FIELD(T, a2, CORRAL_I64),     \
    CORRAL_FIELD(T, a3, CORRAL_I64), CORRAL_FIELD(T, a4, CORRAL_I64), CORRAL_FIELD(T, a5, CORRAL_I64),        \
    CORRAL_FIELD(T, a6, CORRAL_I64), CORRAL_FIELD(T, a7, CORRAL_I64), CORRAL_FIELD(T, a8, CORRAL_I64),        \
    CORRAL_FIELD(T, a9, CORRAL_I64), CORRAL_FIELD(T, a10, CORRAL_I64), CORRAL_FIELD(T, a11, CORRAL_I64),      \
    CORRAL_FIELD(T, a12, CORRAL_I64), CORRAL_FIELD(T, a13, CORRAL_I64), CORRAL_FIELD(T, a14, CORRAL_DOUBLE)
typedef struct {
    int64_t a0;
    double a1;
    int64_t a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13;
    double a14;
} Wide15;
typedef struct {
    int64_t a0;
    double a1;
    int64_t a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13;
    double a14;
    int64_t a15;
} Wide16;
CORRAL_STRUCT(wide15_shape, Wide15, CORRAL_AS_MAP(), W_ROWS(Wide15));
CORRAL_STRUCT(wide16_shape, Wide16, CORRAL_AS_MAP(), W_ROWS(Wide16), CORRAL_FIELD(Wide16, a15, CORRAL_I64));

/* wide15(list) / wide16(list): a list of such maps through C and back,
 * a0 plus one. */
CORRAL_NIF(wide15)
{
    size_t n;
    Wide15 *w = corral_get_struct_array(c, corral_arg_term(c, 0), &wide15_shape, &n);
    for (size_t k = 0; k < n; k++) w[k].a0 += 1;
    return corral_make_struct_array(c, &wide15_shape, w, n);
}
CORRAL_NIF(wide16)
{
    size_t n;
    Wide16 *w = corral_get_struct_array(c, corral_arg_term(c, 0), &wide16_shape, &n);
    for (size_t k = 0; k < n; k++) w[k].a0 += 1;
    return corral_make_struct_array(c, &wide16_shape, w, n);
}

/* fail_allocations_after(n): corral_fail_allocations_after, for this library. */
CORRAL_NIF(fail_allocations_after)
{
    corral_fail_allocations_after((long)corral_arg_int_range(c, 0, 0, 1000000));
    return corral_make_ok(c);
}

/* Bad C data going out: RuntimeError / ArithmeticError naming the field. */
CORRAL_NIF(bad_color)
{
    Polygon p = {"x", 7, 1, false, NULL, 0, NULL, 0, {0, 0}};
    return corral_make_struct(c, &polygon_shape, &p);
}
CORRAL_NIF(null_points)
{
    Polygon p = {"x", 0, 1, false, NULL, 3, NULL, 0, {0, 0}};
    return corral_make_struct(c, &polygon_shape, &p);
}
CORRAL_NIF(bad_tag)
{
    Shape s = {9, {0}};
    return corral_make_struct(c, &shape_shape, &s);
}
CORRAL_NIF(nan_point)
{
    Point p = {NAN, 0};
    return corral_make_struct(c, &point_shape, &p);
}

CORRAL_MODULE(CorralTest.Terms,
    CORRAL_FN("width", width, 2),
    CORRAL_FN("i128", i128, 1),
    CORRAL_FN("u128", u128, 1),
    CORRAL_FN("i128_add", i128_add, 2),
    CORRAL_FN("bigint_bytes", bigint_bytes, 1),
    CORRAL_FN("bigint_make", bigint_make, 2),
    CORRAL_FN("float", float_, 1),
    CORRAL_FN("atom_name", atom_name, 1),
    CORRAL_FN("make_atom", make_atom, 1),
    CORRAL_FN("existing_atom", existing_atom, 1),
    CORRAL_FN("optional", optional, 1),
    CORRAL_FN("string", string, 1),
    CORRAL_FN("cstring", cstring, 1),
    CORRAL_FN("charlist_to_string", charlist_to_string, 1),
    CORRAL_FN("string_to_charlist", string_to_charlist, 1),
    CORRAL_FN("utf8_prefix", utf8_prefix, 1),
    CORRAL_FN("sub_binary", sub_binary, 3),
    CORRAL_FN("iodata_sizes", iodata_sizes, 1),
    CORRAL_FN("binaries_size", binaries_size, 1),
    CORRAL_FN("list_sum", list_sum, 1),
    CORRAL_FN("list_length", list_length, 1),
    CORRAL_FN("nested_sum", nested_sum, 1),
    CORRAL_FN("positive", positive, 1),
    CORRAL_FN("positive_by_pointer", positive_by_pointer, 1),
    CORRAL_FN("array", array, 2),
    CORRAL_FN("array_size", array_size, 1),
    CORRAL_FN("make_array_nan", make_array_nan, 0),
    CORRAL_FN("seq", seq, 1),
    CORRAL_FN("seq_reversed", seq_reversed, 1),
    CORRAL_FN("reverse_improper", reverse_improper, 0),
    CORRAL_FN("list_of", list_of, 1),
    CORRAL_FN("tuple_sum", tuple_sum, 2),
    CORRAL_FN("tuple_get", tuple_get, 2),
    CORRAL_FN("tuple_of", tuple_of, 1),
    CORRAL_FN("pair", pair, 2),
    CORRAL_FN("triple", triple, 3),
    CORRAL_FN("map_get", map_get, 2),
    CORRAL_FN("map_find", map_find, 2),
    CORRAL_FN("map_size", map_size, 1),
    CORRAL_FN("map_pairs", map_pairs, 1),
    CORRAL_FN("map_next_after_end", map_next_after_end, 1),
    CORRAL_FN("map_abort_walk", map_abort_walk, 1),
    CORRAL_FN("atom_keys", atom_keys, 1),
    CORRAL_FN("order_total", order_total, 1),
    CORRAL_FN("fail_allocations_after", fail_allocations_after, 1),
    CORRAL_FN("map_from", map_from, 2),
    CORRAL_FN("map_put", map_put, 3),
    CORRAL_FN("map_update", map_update, 3),
    CORRAL_FN("map_remove", map_remove, 2),
    CORRAL_FN("kind_of", kind_of, 1),
    CORRAL_FN("compare", compare, 2),
    CORRAL_FN("equal", equal, 2),
    CORRAL_FN("hash", hash, 1),
    CORRAL_FN("pid_in", pid_in, 1),
    CORRAL_FN("ref_in", ref_in, 1),
    CORRAL_FN("new_ref", new_ref, 0),
    CORRAL_FN("no_route", no_route, 1),
    CORRAL_FN("point", point, 2),
    CORRAL_FN("polygon", polygon, 1),
    CORRAL_FN("polygon_points", polygon_perimeter_points, 1),
    CORRAL_FN("shape", shape, 1),
    CORRAL_FN("points", points, 1),
    CORRAL_FN("bad_color", bad_color, 0),
    CORRAL_FN("null_points", null_points, 0),
    CORRAL_FN("bad_tag", bad_tag, 0),
    CORRAL_FN("nan_point", nan_point, 0),
    CORRAL_FN("unrouted_sum", unrouted_sum, 1),
    CORRAL_FN("last_arg_sum", last_arg_sum, 17),
    CORRAL_FN("samples", samples, 1),
    CORRAL_FN("sample", sample, 1),
    CORRAL_FN("samples_with", samples_with, 3),
    CORRAL_FN("wide15", wide15, 1),
    CORRAL_FN("wide16", wide16, 1));
