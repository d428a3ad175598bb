/* Typed declarations (CORRAL_PURE, CORRAL_DEF): every type word both ways,
 * with hand-written twins whose messages the typed ones must repeat. */
#include <corral.h>
#include <math.h>
#include <string.h>

/* Every scalar word: a pure echo, a context echo, and the hand-written
 * getter (corral_arg_<w>) for the message comparison. */
#define ECHO(w)                                                                                   \
    CORRAL_PURE(pure_##w, w, (w, x)) { return x; }                                               \
    CORRAL_DEF(def_##w, w, (w, x))                                                                \
    {                                                                                            \
        (void)c;                                                                                 \
        return x;                                                                                \
    }                                                                                            \
    CORRAL_NIF(hand_##w) { return corral_make_i64(c, (int64_t)corral_get_##w(c, corral_arg_term(c, 0))); }

ECHO(i8)
ECHO(i16)
ECHO(i32)
ECHO(i64)
ECHO(int)
ECHO(long)
ECHO(ssize)
ECHO(intptr)
ECHO(u8)
ECHO(u16)
ECHO(u32)
ECHO(u64)
ECHO(uint)
ECHO(ulong)
ECHO(size)
ECHO(uintptr)

CORRAL_PURE(pure_double, double, (double, x)) { return x; }
CORRAL_DEF(def_double, double, (double, x))
{
    (void)c;
    return x;
}
CORRAL_NIF(hand_double) { return corral_make_double(c, corral_arg_double(c, 0)); }

CORRAL_PURE(pure_bool, bool, (bool, x)) { return x; }
CORRAL_DEF(def_bool, bool, (bool, x))
{
    (void)c;
    return x;
}
CORRAL_NIF(hand_bool) { return corral_make_bool(c, corral_get_bool(c, corral_arg_term(c, 0))); }

CORRAL_PURE(pure_binary_size, size, (binary, b)) { return b.size; }
CORRAL_DEF(def_binary, binary, (binary, b))
{
    (void)c;
    return b;
}
CORRAL_NIF(hand_binary) { return corral_make_size(c, corral_arg_binary(c, 0).size); }

CORRAL_PURE(pure_term_ignored, void, (term, t)) { (void)t; }
CORRAL_DEF(def_term, term, (term, t))
{
    (void)c;
    return t;
}

/* The README's first example. */
CORRAL_DOC_OF(add, "Adds two integers; raises ArithmeticError when the sum does not fit in 64 bits.");
CORRAL_PURE(add, i64, (i64, a), (i64, b)) { return corral_add_i64(c, a, b); }

CORRAL_PURE(sub_u64, u64, (u64, a), (u64, b)) { return corral_sub_u64(c, a, b); }
CORRAL_PURE(mul_i64, i64, (i64, a), (i64, b)) { return corral_mul_i64(c, a, b); }
CORRAL_DEF(def_mul_u64, u64, (u64, a), (u64, b)) { return corral_mul_u64(c, a, b); }

/* Reported failures: the first one wins, and is raised after the body. */
CORRAL_PURE(safe_div, i64, (i64, a), (i64, b))
{
    if (b == 0) {
        corral_fail(c, "Elixir.ArgumentError", "division by zero (dividing %lld)", (long long)a);
        corral_fail(c, "Elixir.RuntimeError", "never seen: only the first failure is reported");
        return 0;
    }
    if (a == INT64_MIN && b == -1) return corral_sub_i64(c, 0, a); /* overflows */
    return a / b;
}

CORRAL_PURE(custom_failure, void, (i64, code))
{
    corral_fail(c, "Elixir.CorralTest.CustomError", "custom failure %lld", (long long)code);
}

CORRAL_PURE(divide, double, (double, x), (double, y)) { return x / y; }

/* Several parameters of several words, and none at all. */
CORRAL_PURE(mix, double, (i8, a), (u16, b), (double, x), (bool, neg), (binary, bytes), (size, n), (i32, d), (u64, e))
{
    double sum = (double)a + (double)b + x + (double)bytes.size + (double)n + (double)d + (double)e;
    return neg ? -sum : sum;
}
CORRAL_PURE(answer, u8) { return 42; }
CORRAL_DEF(def_answer, void) { (void)c; }

/* Resources through CORRAL_DEF. */
typedef struct {
    int64_t n;
} Tally;
CORRAL_CLOSABLE_RESOURCE(Tally, NULL);

CORRAL_DEF(tally_new, term, (i64, start))
{
    Tally *t = corral_resource_new(c, Tally, 0);
    t->n = start;
    return corral_make_resource(c, t);
}
/* A resource as the result: the body returns the object. */
CORRAL_DEF(tally_make, (res, Tally), (i64, start), (bool, null))
{
    if (null) return NULL;
    Tally *t = corral_resource_new(c, Tally, 0);
    t->n = start;
    return t;
}
CORRAL_DEF(tally_add, i64, (res, Tally, t), (i64, by))
{
    t->n = corral_add_i64(c, t->n, by);
    return t->n;
}
CORRAL_DEF(tally_close, void, (res, Tally, t)) { corral_resource_close(c, Tally, t); }
CORRAL_NIF(hand_tally_get) { return corral_make_i64(c, corral_arg_resource(c, 0, Tally)->n); }
/* A parameter named as its function (the pure NIF's locals are named as
 * the parameters). */
CORRAL_PURE(twice, i64, (i64, twice)) { return corral_mul_i64(c, twice, 2); }

/* A pure body over a closable type: every call takes the careful path. */
CORRAL_PURE(tally_peek, i64, (res, Tally, t)) { return t->n; }

/* Resources and indexes in pure bodies: a body that cannot raise may take
 * the lock itself, as nothing can leave between the lock and the unlock. */
typedef struct {
    corral_rwlock lock;
    corral_mutex count_lock; /* cells_add's, to use a mutex too */
    size_t size;
    int64_t v[];
} Cells;
CORRAL_RESOURCE(Cells, NULL);

CORRAL_DEF(cells_new, (res, Cells), (size, size))
{
    if (size > 1000000) corral_raise(c, "at most 1000000 cells");
    Cells *cells = corral_resource_new(c, Cells, size * sizeof(int64_t));
    cells->size = size;
    return cells;
}
CORRAL_PURE(cells_get, i64, (res, Cells, cells), (index, cells->size, i))
{
    corral_rwlock_read(&cells->lock);
    int64_t v = cells->v[i];
    corral_rwlock_read_unlock(&cells->lock);
    return v;
}
/* Stores v at i and returns the sum of the cells up to i (a pure body
 * reporting an overflow after it released the lock). */
CORRAL_PURE(cells_put, i64, (res, Cells, cells), (index, cells->size, i), (i64, v))
{
    int64_t sum = 0;
    corral_rwlock_write(&cells->lock);
    cells->v[i] = v;
    for (size_t k = 0; k <= i; k++) sum = corral_add_i64(c, sum, cells->v[k]);
    corral_rwlock_write_unlock(&cells->lock);
    return sum;
}
/* Adds by to the cell at i, storing the sum only if it fits. */
CORRAL_PURE(cells_add, i64, (res, Cells, cells), (index, cells->size, i), (i64, by))
{
    corral_mutex_lock(&cells->count_lock);
    int64_t v = corral_add_i64(c, cells->v[i], by);
    if (!corral_failed(c)) cells->v[i] = v;
    corral_mutex_unlock(&cells->count_lock);
    return v;
}
/* The same checks with a call context, for the messages. */
CORRAL_DEF(def_cells_get, i64, (res, Cells, cells), (index, cells->size, i))
{
    corral_read_lock(c, &cells->lock);
    return cells->v[i];
}

/* Strings, iodata, atoms of a table, lists of scalars (CORRAL_DEF only). */
CORRAL_ATOMS(colors, "red", "green", "blue");

CORRAL_DEF(string_bytes, size, (string, s))
{
    (void)c;
    return s.size;
}
CORRAL_NIF(hand_string) { return corral_make_size(c, corral_arg_string(c, 0).size); }
CORRAL_DEF(iodata_bytes, binary, (iodata, data))
{
    (void)c;
    return data;
}
CORRAL_NIF(hand_iodata) { return corral_make_size(c, corral_arg_iodata(c, 0).size); }
CORRAL_DEF(color_index, uint, (enum, colors, color))
{
    (void)c;
    return color;
}
CORRAL_NIF(hand_color) { return corral_make_uint(c, corral_get_enum(c, corral_arg_term(c, 0), &colors)); }
CORRAL_DEF(sum_i64, i64, (list, i64, xs))
{
    int64_t sum = 0;
    for (size_t k = 0; k < xs.count; k++) sum = corral_add_i64(c, sum, xs.data[k]);
    return sum;
}
CORRAL_NIF(hand_list_i64)
{
    size_t n;
    (void)corral_get_array(c, corral_arg_term(c, 0), CORRAL_I64, &n);
    return corral_make_size(c, n);
}
/* fail_allocations_after(n): corral_fail_allocations_after, for this library. */
CORRAL_NIF(fail_allocations_after)
{
    corral_fail_allocations_after((long)corral_arg_int_range(c, 0, 0, 1000000));
    return corral_make_ok(c);
}
CORRAL_DEF(count_true, size, (list, bool, flags), (list, double, weights))
{
    (void)c;
    size_t n = 0;
    for (size_t k = 0; k < flags.count; k++) n += flags.data[k];
    return n + weights.count;
}
CORRAL_DEF(total_length, size, (list, string, names))
{
    (void)c;
    size_t n = 0;
    for (size_t k = 0; k < names.count; k++) n += names.data[k].size;
    return n;
}

/* Owned binaries: output of unknown size, grown in place, handed over
 * without a copy. */
CORRAL_DEF(owned_repeat, term, (binary, part), (size, times))
{
    corral_owned_binary *out = corral_owned_new(c, 16);
    size_t used = 0;
    for (size_t k = 0; k < times; k++) {
        if (out->size - used < part.size) {
            size_t want = out->size * 2 > used + part.size ? out->size * 2 : used + part.size;
            corral_owned_resize(c, out, want);
        }
        memcpy(out->data + used, part.data, part.size);
        used += part.size;
    }
    return corral_owned_finish(c, out, used);
}

/* Grows a binary to `size` bytes, then raises: the call frees it. */
CORRAL_DEF(owned_then_raise, void, (size, size))
{
    corral_owned_binary *out = corral_owned_new(c, 1);
    corral_owned_resize(c, out, size);
    memset(out->data, 1, out->size);
    corral_raise(c, "raised with %zu owned bytes", out->size);
}

/* Misuses: 0 finish twice, 1 finish more than there is, 2 resize after finish. */
CORRAL_DEF(owned_misuse, void, (int, mode))
{
    corral_owned_binary *out = corral_owned_new(c, 8);
    if (mode == 1) corral_owned_finish(c, out, 9);
    corral_owned_finish(c, out, 8);
    if (mode == 0) corral_owned_finish(c, out, 8);
    if (mode == 2) corral_owned_resize(c, out, 16);
}

CORRAL_DEF(owned_sized, size, (size, size))
{
    corral_owned_binary *out = corral_owned_new(c, size);
    return out->size;
}

/* A typed thread job: decoded and run on the pool, with the checked
 * arithmetic's ArithmeticError raised in the caller. */
CORRAL_DEF_THREAD(pool_add, i64, (i64, a), (i64, b)) { return corral_add_i64(c, a, b); }
CORRAL_DOC_OF(pool_add, "Adds on a pool thread.");
CORRAL_DEF_THREAD(pool_tally, void, (res, Tally, t), (i64, by))
{
    if (corral_cancelled(c)) return;
    t->n = corral_add_i64(c, t->n, by);
}

CORRAL_THREAD_NIF(owned_job)
{
    size_t n = corral_arg_size(c, 0);
    corral_owned_binary *out = corral_owned_new(c, n / 2);
    corral_owned_resize(c, out, n);
    memset(out->data, 'x', n);
    return corral_owned_finish(c, out, n);
}

/* Optional values (nil or a value) and structures. */
CORRAL_PURE(opt_i64_or, i64, (opt, i64, x), (i64, otherwise)) { return x.present ? x.value : otherwise; }
CORRAL_PURE(opt_bool_known, bool, (opt, bool, flag)) { return flag.present; }
CORRAL_PURE(opt_binary_size, i64, (opt, binary, b)) { return b.present ? (int64_t)b.value.size : -1; }
CORRAL_DEF(def_opt_double, double, (opt, double, x))
{
    (void)c;
    return x.present ? x.value * 2 : -1.0;
}
CORRAL_DEF(def_opt_string, i64, (opt, string, s))
{
    (void)c;
    return s.present ? (int64_t)s.value.size : -1;
}

typedef struct {
    double x, y;
} Point;
CORRAL_STRUCT(point_shape, Point, CORRAL_AS_STRUCT("Elixir.CorralTest.Geo.Point"),
              CORRAL_FIELD(Point, x, CORRAL_DOUBLE), CORRAL_FIELD(Point, y, CORRAL_DOUBLE));

CORRAL_DEF(point_norm1, double, (struct, point_shape, Point, p), (opt, double, scale))
{
    (void)c;
    double n = (p.x < 0 ? -p.x : p.x) + (p.y < 0 ? -p.y : p.y);
    return scale.present ? n * scale.value : n;
}
/* A list of structures as one typed parameter: .data and .count. */
CORRAL_DEF(points_norm1, double, (structs, point_shape, Point, ps))
{
    (void)c;
    double n = 0;
    for (size_t k = 0; k < ps.count; k++)
        n += (ps.data[k].x < 0 ? -ps.data[k].x : ps.data[k].x) + (ps.data[k].y < 0 ? -ps.data[k].y : ps.data[k].y);
    return n;
}
/* Each way a structure can look, for the specs made from the shapes. */
typedef struct {
    int32_t a;
    corral_binary b;
} Pair;
CORRAL_STRUCT(pair_map, Pair, CORRAL_AS_MAP(), CORRAL_FIELD(Pair, a, CORRAL_I32), CORRAL_FIELD(Pair, b, CORRAL_STRING));
CORRAL_STRUCT(pair_record, Pair, CORRAL_AS_RECORD("pair"), CORRAL_FIELD(Pair, a, CORRAL_I32),
              CORRAL_FIELD(Pair, b, CORRAL_STRING));
CORRAL_STRUCT(pair_tuple, Pair, CORRAL_AS_TUPLE(), CORRAL_FIELD(Pair, a, CORRAL_I32), CORRAL_FIELD(Pair, b, CORRAL_STRING));
/* Rows written through a macro of the user's own: not read, so term(). */
#define PAIR_INT(m) CORRAL_FIELD(Pair, m, CORRAL_I32)
CORRAL_STRUCT(pair_own, Pair, CORRAL_AS_MAP(), PAIR_INT(a), CORRAL_FIELD(Pair, b, CORRAL_STRING));

typedef struct {
    Point *points;
    size_t n;
    Point origin;
    unsigned color;
    uint8_t *marks;
    size_t nmarks;
} Path;
CORRAL_STRUCT(path_shape, Path, CORRAL_AS_MAP(), CORRAL_FIELD_STRUCT_ARRAY(Path, points, n, &point_shape),
              CORRAL_FIELD_STRUCT(Path, origin, &point_shape), CORRAL_FIELD_ENUM(Path, color, &colors),
              CORRAL_FIELD_ARRAY(Path, marks, nmarks, CORRAL_U8));

CORRAL_DEF(pair_map_a, i64, (struct, pair_map, Pair, p)) { (void)c; return p.a + (int64_t)p.b.size; }
CORRAL_DEF(pair_record_a, i64, (struct, pair_record, Pair, p)) { (void)c; return p.a + (int64_t)p.b.size; }
CORRAL_DEF(pair_tuple_a, i64, (struct, pair_tuple, Pair, p)) { (void)c; return p.a + (int64_t)p.b.size; }
CORRAL_DEF(pair_own_a, i64, (struct, pair_own, Pair, p)) { (void)c; return p.a + (int64_t)p.b.size; }
CORRAL_DEF(path_size, size, (struct, path_shape, Path, path)) { (void)c; return path.n * 100 + path.color * 10 + path.nmarks; }

/* Paths in a record, {:scene, [path]}: a small term (one list shared by
 * every path) can decode into far more scratch memory than itself. */
typedef struct {
    Path *paths;
    size_t n;
} Scene;
CORRAL_STRUCT(scene_shape, Scene, CORRAL_AS_RECORD("scene"), CORRAL_FIELD_STRUCT_ARRAY(Scene, paths, n, &path_shape));
CORRAL_DEF(scene_points, size, (struct, scene_shape, Scene, scene))
{
    (void)c;
    size_t points = 0;
    for (size_t k = 0; k < scene.n; k++) points += scene.paths[k].n;
    return points;
}

/* A plain shape that leaves a member out: decoded arrays still start zeroed. */
typedef struct {
    double x, y, unlisted;
} Point3;
CORRAL_STRUCT(point3_shape, Point3, CORRAL_AS_MAP(), CORRAL_FIELD(Point3, x, CORRAL_DOUBLE),
              CORRAL_FIELD(Point3, y, CORRAL_DOUBLE));
/* Leaves scratch memory full of 0xFF for the allocator to hand out again. */
CORRAL_NIF(dirty_scratch)
{
    size_t n = corral_arg_size(c, 0);
    memset(corral_alloc(c, n), 0xFF, n);
    return corral_make_ok(c);
}
CORRAL_NIF(unlisted_sum)
{
    size_t n;
    Point3 *p = corral_get_struct_array(c, corral_arg_term(c, 0), &point3_shape, &n);
    double sum = 0;
    for (size_t k = 0; k < n; k++) sum += p[k].unlisted + p[k].x;
    return corral_make_double(c, sum);
}

CORRAL_NIF(hand_point) { Point p; corral_arg_struct(c, 0, &point_shape, &p); return corral_make_double(c, p.x + p.y); }

/* Results {:ok, v} | {:error, reason}: pure and with a call context. */
CORRAL_PURE(checked_div, (ok, i64), (i64, a), (i64, b))
{
    if (b == 0) return corral_return_error(c, "division_by_zero");
    if (a == INT64_MIN && b == -1) return corral_sub_i64(c, 0, a); /* ArithmeticError */
    return a / b;
}
CORRAL_PURE(ok_unless, (ok, void), (bool, fail))
{
    if (fail) corral_return_error(c, "refused");
}
/* The first report wins: a failure before the error raises, one after is ignored. */
CORRAL_PURE(ok_reports, (ok, double), (int, mode))
{
    if (mode == 1) corral_fail(c, "Elixir.ArgumentError", "failed first");
    if (mode >= 1) corral_return_error(c, "second");
    if (mode == 2) corral_fail(c, "Elixir.ArgumentError", "never seen");
    if (mode == 3) return 0.0 / 0.0; /* NaN after the error: ignored */
    return 1.5;
}
CORRAL_PURE(ok_bad_name, (ok, bool), (int, mode))
{
    static const char long_name[] = "a_name_much_longer_than_a_pure_body_may_report_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    if (mode == 0) return corral_return_error(c, long_name);
    return corral_return_error(c, "bad\xff"); /* not UTF-8 */
}
/* Not declared (ok, word): reporting an error result is refused. */
CORRAL_PURE(not_ok_result, i64, (i64, a)) { return a < 0 ? corral_return_error(c, "negative") : a; }

static void count_release(void *arg) { (*(int *)arg)++; }
static int releases;
CORRAL_DEF(def_lookup, (ok, binary), (string, key))
{
    corral_defer(c, count_release, &releases);
    if (key.size == 0) corral_return_error_term(c, enif_make_tuple2(corral_env(c), corral_make_atom(c, "empty"), corral_make_i64(c, 0)));
    if (key.data[0] == '?') corral_return_error(c, "unknown");
    return key;
}
CORRAL_DEF(def_releases, i64) { (void)c; return releases; }
CORRAL_DEF(def_ok_void, (ok, void), (bool, fail))
{
    if (fail) corral_return_error(c, "refused");
}
/* Also from a hand-written body, and on the pool. */
CORRAL_NIF(hand_error_result)
{
    if (corral_arg_bool(c, 0)) corral_return_error(c, "hand");
    return corral_make_ok(c);
}
CORRAL_DEF_THREAD(pool_checked, (ok, u64), (u64, a))
{
    if (a == 0) corral_return_error(c, "zero");
    return a * 2;
}

/* C strings: NUL-terminated copies for C libraries, NULL for nil. */
CORRAL_DEF(cstring_len, size, (cstring, s))
{
    (void)c;
    return strlen(s);
}
CORRAL_NIF(hand_cstring) { return corral_make_size(c, strlen(corral_arg_cstring(c, 0))); }
CORRAL_DEF(opt_cstring_len, i64, (opt, cstring, s))
{
    (void)c;
    return s == NULL ? -1 : (int64_t)strlen(s);
}
/* The parts joined with "+", as a C string result. */
CORRAL_DEF(cstrings_joined, cstring, (list, cstring, parts))
{
    size_t n = 1;
    for (size_t k = 0; k < parts.count; k++) n += strlen(parts.data[k]) + 1;
    char *out = corral_alloc(c, n), *at = out;
    for (size_t k = 0; k < parts.count; k++) {
        if (k > 0) *at++ = '+';
        size_t len = strlen(parts.data[k]);
        memcpy(at, parts.data[k], len);
        at += len;
    }
    *at = '\0';
    return out;
}
CORRAL_DEF(cstring_or_null, cstring, (cstring, s), (bool, null))
{
    (void)c;
    return null ? NULL : s;
}
CORRAL_PURE(pure_version, cstring, (bool, null)) { return null ? NULL : "1.2.3"; }
CORRAL_DEF(cstring_checked, (ok, cstring), (cstring, s))
{
    if (*s == '\0') corral_return_error(c, "empty");
    return s;
}

/* (ok, (res, Type)): {:ok, object} or {:error, reason}. */
CORRAL_DEF(tally_open, (ok, (res, Tally)), (i64, start))
{
    if (start < 0) corral_return_error(c, "negative");
    if (start == 0) return NULL; /* RuntimeError */
    Tally *t = corral_resource_new(c, Tally, 0);
    t->n = start;
    return t;
}

/* Tuples of typed values: the body returns <name>_result. */
CORRAL_PURE(divmod, (tuple, (u64, q), (u64, r)), (u64, a), (u64, b))
{
    if (b == 0) {
        corral_fail(c, "Elixir.ArithmeticError", "division by zero");
        return (divmod_result){0, 0};
    }
    return (divmod_result){.q = a / b, .r = a % b};
}
CORRAL_PURE(ok_divmod, (ok, (tuple, (u64, q), (u64, r))), (u64, a), (u64, b))
{
    if (b == 0) corral_return_error(c, "division_by_zero");
    return (ok_divmod_result){.q = b ? a / b : 0, .r = b ? a % b : 0};
}
/* mode 1: the second object is NULL; mode 2: the ratio is NaN. */
CORRAL_DEF(tally_split, (tuple, (res, Tally, left), (res, Tally, right), (double, ratio), (cstring, label)), (i64, n),
           (int, mode))
{
    Tally *l = corral_resource_new(c, Tally, 0), *r = mode == 1 ? NULL : corral_resource_new(c, Tally, 0);
    l->n = n / 2;
    if (r) r->n = n - n / 2;
    return (tally_split_result){l, r, mode == 2 ? NAN : 0.5, "split"};
}
CORRAL_DEF(tally_labelled, (ok, (tuple, (res, Tally, t), (binary, label), (bool, fresh))), (string, label))
{
    if (label.size == 0) corral_return_error(c, "no_label");
    Tally *t = corral_resource_new(c, Tally, 0);
    return (tally_labelled_result){.t = t, .label = label, .fresh = true};
}
CORRAL_DEF_THREAD(pool_divmod, (tuple, (i64, q), (i64, r)), (i64, a), (i64, b))
{
    if (b == 0 || (a == INT64_MIN && b == -1)) corral_raise(c, "cannot divide %lld by %lld", (long long)a, (long long)b);
    return (pool_divmod_result){a / b, a % b};
}

/* Result specs written by hand. */
CORRAL_DEF(tally_or_busy, (spec, "{:ok, resource(Tally)} | {:error, :busy}", term), (bool, busy))
{
    if (busy) return corral_make_error(c, corral_make_atom(c, "busy"));
    return corral_make_ok_tuple(c, corral_make_resource(c, corral_resource_new(c, Tally, 0)));
}
CORRAL_PURE(last_digit, (spec, "0..9", u8), (u64, x)) { return (uint8_t)(x % 10); }
CORRAL_DEF(spec_ok, (spec, ":ok | {:error, :odd}", (ok, void)), (i64, x))
{
    if (x % 2) corral_return_error(c, "odd");
}

/* Runs on a dirty CPU scheduler when exported with CORRAL_EXPORT_FLAGS. */
CORRAL_PURE(on_dirty, bool) { return enif_thread_type() == ERL_NIF_THR_DIRTY_CPU_SCHEDULER; }

/* Second names of typed NIFs, each a row of its own: a pure body, a
 * context body, and on_dirty on a normal scheduler. */
CORRAL_ALIAS(add_again, add);
CORRAL_ALIAS(def_i64_again, def_i64);
CORRAL_ALIAS(on_normal, on_dirty);

#define ROWS(w) CORRAL_EXPORT(pure_##w), CORRAL_EXPORT(def_##w), CORRAL_FN("hand_" #w, hand_##w, 1)

/* call_counter(obj, add, how): corral_call_resource from this library into
 * a resource of CorralTest.Native's (test/resource_call_test.exs). how 0:
 * its Counter with "corral_test.counter.v1", returns the new value; 1 an
 * unknown protocol; 2 that protocol with a bigger struct; 3 a module
 * without the type; 4 its closable Handle with "corral_test.handle.v1",
 * returns the payload; 5 this library's own Tally, which is not callable. */
struct counter_call {
    int64_t add;
    int64_t value;
};
CORRAL_NIF(call_counter)
{
    int64_t add = corral_arg_i64(c, 1);
    const char *native = "Elixir.CorralTest.Native";
    switch (corral_arg_int_range(c, 2, 0, 5)) {
    case 0: {
        struct counter_call a = {add, 0};
        corral_call_resource(c, 0, native, "Counter", "corral_test.counter.v1", &a, sizeof a);
        return corral_make_i64(c, a.value);
    }
    case 1: {
        struct counter_call a = {add, 0};
        corral_call_resource(c, 0, native, "Counter", "corral_test.counter.v0", &a, sizeof a);
        return corral_make_i64(c, a.value);
    }
    case 2: {
        struct {
            struct counter_call a;
            int64_t more;
        } b = {{add, 0}, 0};
        corral_call_resource(c, 0, native, "Counter", "corral_test.counter.v1", &b, sizeof b);
        return corral_make_i64(c, b.a.value);
    }
    case 3: {
        struct counter_call a = {add, 0};
        corral_call_resource(c, 0, "Elixir.CorralTest.Typed", "Counter", "corral_test.counter.v1", &a, sizeof a);
        return corral_make_i64(c, a.value);
    }
    case 4: {
        int64_t payload = 0;
        corral_call_resource(c, 0, native, "Handle", "corral_test.handle.v1", &payload, sizeof payload);
        return corral_make_i64(c, payload);
    }
    default: {
        struct counter_call a = {add, 0};
        corral_call_resource(c, 0, "Elixir.CorralTest.Typed", "Tally", "corral_test.counter.v1", &a, sizeof a);
        return corral_make_i64(c, a.value);
    }
    }
}

CORRAL_MODULE(CorralTest.Typed,
              CORRAL_FN("call_counter", call_counter, 3),
              ROWS(i8), ROWS(i16), ROWS(i32), ROWS(i64), ROWS(int), ROWS(long), ROWS(ssize), ROWS(intptr),
              ROWS(u8), ROWS(u16), ROWS(u32), ROWS(u64), ROWS(uint), ROWS(ulong), ROWS(size), ROWS(uintptr),
              ROWS(double), ROWS(bool),
              CORRAL_EXPORT(pure_binary_size), CORRAL_EXPORT(def_binary), CORRAL_FN("hand_binary", hand_binary, 1),
              CORRAL_EXPORT(pure_term_ignored), CORRAL_EXPORT(def_term),
              CORRAL_EXPORT(add), CORRAL_EXPORT(sub_u64), CORRAL_EXPORT(mul_i64), CORRAL_EXPORT(def_mul_u64),
              CORRAL_EXPORT(safe_div), CORRAL_EXPORT(custom_failure), CORRAL_EXPORT(divide),
              CORRAL_EXPORT(mix), CORRAL_EXPORT(answer), CORRAL_EXPORT(def_answer),
              CORRAL_EXPORT(tally_new), CORRAL_EXPORT(tally_add), CORRAL_EXPORT(tally_close), CORRAL_EXPORT(tally_make),
              CORRAL_FN("hand_tally_get", hand_tally_get, 1), CORRAL_EXPORT(tally_peek), CORRAL_EXPORT(twice),
              CORRAL_EXPORT(cells_new), CORRAL_EXPORT(cells_get), CORRAL_EXPORT(cells_put), CORRAL_EXPORT(cells_add),
              CORRAL_EXPORT(def_cells_get),
              CORRAL_EXPORT(string_bytes), CORRAL_FN("hand_string", hand_string, 1),
              CORRAL_EXPORT(iodata_bytes), CORRAL_FN("hand_iodata", hand_iodata, 1),
              CORRAL_EXPORT(color_index), CORRAL_FN("hand_color", hand_color, 1),
              CORRAL_EXPORT(sum_i64), CORRAL_FN("hand_list_i64", hand_list_i64, 1),
              CORRAL_FN("fail_allocations_after", fail_allocations_after, 1),
              CORRAL_EXPORT(count_true), CORRAL_EXPORT(total_length),
              CORRAL_EXPORT(owned_repeat), CORRAL_EXPORT(owned_then_raise), CORRAL_EXPORT(owned_misuse),
              CORRAL_EXPORT(owned_sized), CORRAL_FN_THREAD("owned_job", owned_job, 1),
              CORRAL_EXPORT_THREAD(pool_add), CORRAL_EXPORT_THREAD(pool_tally),
              CORRAL_EXPORT(opt_i64_or), CORRAL_EXPORT(opt_bool_known), CORRAL_EXPORT(opt_binary_size),
              CORRAL_EXPORT(def_opt_double), CORRAL_EXPORT(def_opt_string), CORRAL_EXPORT(point_norm1), CORRAL_EXPORT(points_norm1),
              CORRAL_FN("hand_point", hand_point, 1), CORRAL_FN("unlisted_sum", unlisted_sum, 1),
              CORRAL_FN("dirty_scratch", dirty_scratch, 1), CORRAL_EXPORT(pair_map_a), CORRAL_EXPORT(pair_record_a),
              CORRAL_EXPORT(pair_tuple_a), CORRAL_EXPORT(pair_own_a), CORRAL_EXPORT(path_size), CORRAL_EXPORT(scene_points),
              CORRAL_EXPORT(checked_div), CORRAL_EXPORT(ok_unless), CORRAL_EXPORT(ok_reports),
              CORRAL_EXPORT(ok_bad_name), CORRAL_EXPORT(not_ok_result), CORRAL_EXPORT(def_lookup),
              CORRAL_EXPORT(def_releases), CORRAL_EXPORT(def_ok_void), CORRAL_FN("hand_error_result", hand_error_result, 1),
              CORRAL_EXPORT_THREAD(pool_checked),
              CORRAL_EXPORT(cstring_len), CORRAL_FN("hand_cstring", hand_cstring, 1), CORRAL_EXPORT(opt_cstring_len),
              CORRAL_EXPORT(cstrings_joined), CORRAL_EXPORT(cstring_or_null), CORRAL_EXPORT(pure_version),
              CORRAL_EXPORT(cstring_checked), CORRAL_EXPORT(tally_open), CORRAL_EXPORT(divmod), CORRAL_EXPORT(ok_divmod),
              CORRAL_EXPORT(tally_split), CORRAL_EXPORT(tally_labelled), CORRAL_EXPORT_THREAD(pool_divmod),
              CORRAL_EXPORT(tally_or_busy), CORRAL_EXPORT(last_digit), CORRAL_EXPORT(spec_ok),
              CORRAL_EXPORT_FLAGS(on_dirty, CORRAL_DIRTY_CPU), CORRAL_EXPORT(on_normal), CORRAL_EXPORT(add_again),
              CORRAL_EXPORT(def_i64_again));
