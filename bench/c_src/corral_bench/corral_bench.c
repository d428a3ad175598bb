/*
 * The Corral side of the benchmarks that the Buffer example does not cover.
 *
 *   add(a, b)   a + b for two 64-bit integers, written with Corral; compare
 *               with add/2 in c_src/handwritten/handwritten.c.
 */
#include <corral.h>

CORRAL_NIF(add)
{
    return corral_make_i64(c, corral_arg_i64(c, 0) + corral_arg_i64(c, 1));
}

/* add on each way of running a call, for what each costs (make bench's
 * lifecycle.exs): listed dirty in the table, a thread job, and a normal
 * call that moves itself to a dirty CPU scheduler. */
CORRAL_NIF(add_dirty)
{
    return corral_make_i64(c, corral_arg_i64(c, 0) + corral_arg_i64(c, 1));
}

CORRAL_THREAD_NIF(add_thread)
{
    return corral_make_i64(c, corral_arg_i64(c, 0) + corral_arg_i64(c, 1));
}

/* items(n): sends 0..n-1 to the caller (corral_emit), returns n; compare
 * with items_send in handwritten.c (make bench's items.exs). */
CORRAL_THREAD_NIF(items)
{
    uint64_t n = corral_arg_u64(c, 0);
    for (uint64_t k = 0; k < n; k++) corral_emit(c, corral_make_u64(c, k));
    return corral_make_u64(c, n);
}

CORRAL_NIF(add_moved)
{
    int64_t a = corral_arg_i64(c, 0), b = corral_arg_i64(c, 1);
    if (!corral_on_dirty_scheduler(c)) return corral_schedule_dirty(c, CORRAL_DIRTY_CPU);
    return corral_make_i64(c, a + b);
}

/* A small native object holding an integer: object_new in handwritten.c. */
typedef struct {
    int64_t value;
    int64_t spare;
} Object;
CORRAL_RESOURCE(Object, NULL);

CORRAL_DEF(object_new, (res, Object), (i64, v))
{
    Object *o = corral_resource_new(c, Object, 0);
    o->value = v;
    return o;
}

/* The bulk term conversions, each the Corral way of writing the function
 * of the same name in c_src/handwritten/handwritten.c. */

CORRAL_NIF(list_sum)
{
    corral_list l = corral_arg_list(c, 0);
    corral_term e;
    uint64_t sum = 0;
    while (corral_list_next(c, &l, &e)) sum += (uint64_t)corral_get_i64(c, e);
    return corral_make_i64(c, (int64_t)sum);
}

/* list_sum as a typed declaration: the list arrives as a C array. */
CORRAL_DEF(list_sum_typed, i64, (list, i64, xs))
{
    (void)c;
    uint64_t sum = 0;
    for (size_t k = 0; k < xs.count; k++) sum += (uint64_t)xs.data[k];
    return (int64_t)sum;
}

/* A routed error for a negative element, the term passed to
 * corral_raise_at by value (as docs/c-api.md teaches) ... */
CORRAL_NIF(list_sum_checked)
{
    corral_list l = corral_arg_list(c, 0);
    corral_term e;
    uint64_t sum = 0;
    while (corral_list_next(c, &l, &e)) {
        int64_t v = corral_get_i64(c, e);
        if (v < 0) corral_raise_at(c, e, "expected a non-negative integer");
        sum += (uint64_t)v;
    }
    return corral_make_i64(c, (int64_t)sum);
}

/* ... and by pointer, the earlier form. */
CORRAL_NIF(list_sum_checked_ptr)
{
    corral_list l = corral_arg_list(c, 0);
    corral_term e;
    uint64_t sum = 0;
    while (corral_list_next(c, &l, &e)) {
        int64_t v = corral_get_i64(c, e);
        if (v < 0) corral_raise_at(c, &e, "expected a non-negative integer");
        sum += (uint64_t)v;
    }
    return corral_make_i64(c, (int64_t)sum);
}

CORRAL_NIF(list_build)
{
    size_t n = corral_arg_size(c, 0);
    int64_t *v = corral_calloc(c, n ? n : 1, sizeof *v);
    for (size_t k = 0; k < n; k++) v[k] = (int64_t)k;
    return corral_make_array(c, CORRAL_I64, v, n);
}

CORRAL_NIF(binary_sum)
{
    corral_binary b = corral_arg_binary(c, 0);
    uint64_t sum = 0;
    for (size_t k = 0; k < b.size; k++) sum += b.data[k];
    return corral_make_u64(c, sum);
}

typedef struct {
    double x, y;
} Point;

CORRAL_STRUCT(point_shape, Point, CORRAL_AS_STRUCT("Elixir.Bench.Point"),
              CORRAL_FIELD(Point, x, CORRAL_DOUBLE),
              CORRAL_FIELD(Point, y, CORRAL_DOUBLE));

CORRAL_NIF(points_in)
{
    size_t n;
    Point *p = corral_get_struct_array(c, corral_arg_term(c, 0), &point_shape, &n);
    double sum = 0;
    for (size_t k = 0; k < n; k++) sum += p[k].x + p[k].y;
    return corral_make_double(c, sum);
}

CORRAL_NIF(points_out)
{
    size_t n = corral_arg_size(c, 0);
    Point *p = corral_calloc(c, n ? n : 1, sizeof *p);
    for (size_t k = 0; k < n; k++) p[k].x = p[k].y = (double)k;
    return corral_make_struct_array(c, &point_shape, p, n);
}

CORRAL_MODULE(Bench.CorralNative,
    CORRAL_FN("add", add, 2),
    CORRAL_FN_FLAGS("add_dirty_cpu", add_dirty, 2, CORRAL_DIRTY_CPU),
    CORRAL_FN_FLAGS("add_dirty_io", add_dirty, 2, CORRAL_DIRTY_IO),
    CORRAL_FN_THREAD("add_thread", add_thread, 2),
    CORRAL_FN_THREAD("items", items, 1),
    CORRAL_FN("add_moved", add_moved, 2),
    CORRAL_EXPORT(object_new),
    CORRAL_FN("list_sum", list_sum, 1),
    CORRAL_EXPORT(list_sum_typed),
    CORRAL_FN("list_sum_checked", list_sum_checked, 1),
    CORRAL_FN("list_sum_checked_ptr", list_sum_checked_ptr, 1),
    CORRAL_FN("list_build", list_build, 1),
    CORRAL_FN("binary_sum", binary_sum, 1),
    CORRAL_FN("points_in", points_in, 1),
    CORRAL_FN("points_out", points_out, 1));
