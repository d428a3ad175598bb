/*
 * The test library: one NIF per public function of corral.h (and per way
 * it can fail), driven by the ExUnit files in test/.
 */
#include "corral_test.h"

#include <string.h>

/* {== the call context ==} */

CORRAL_NIF(argc_of) { return corral_make_int(c, corral_argc(c)); }

CORRAL_NIF(arg_raw) { return corral_arg(c, 0); }

/* Asks for a position past the arity: a bug in a NIF, reported not crashed. */
CORRAL_NIF(arg_beyond) { return corral_arg(c, 2); }

CORRAL_NIF(env_is_set) { return corral_make_bool(c, corral_env(c) != NULL); }

/* {== integers ==} */

CORRAL_NIF(i64) { return corral_make_i64(c, corral_arg_i64(c, 0)); }
CORRAL_NIF(u64) { return corral_make_u64(c, corral_arg_u64(c, 0)); }
CORRAL_NIF(int_) { return corral_make_int(c, corral_arg_int(c, 0)); }
CORRAL_NIF(uint_) { return corral_make_uint(c, corral_arg_uint(c, 0)); }
CORRAL_NIF(size) { return corral_make_size(c, corral_arg_size(c, 0)); }
CORRAL_NIF(u8) { return corral_make_uint(c, corral_arg_u8(c, 0)); }

CORRAL_NIF(int_range)
{
    int64_t lo = corral_arg_i64(c, 1), hi = corral_arg_i64(c, 2);
    return corral_make_i64(c, corral_arg_int_range(c, 0, lo, hi));
}

CORRAL_NIF(index_below) { return corral_make_size(c, corral_arg_index(c, 0, corral_arg_size(c, 1))); }

/* Signed overflow is undefined in C (the sanitizer run catches it), so the
 * sums are checked. */
static int64_t checked_add(corral_call *c, int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) corral_raise_argument(c, "the sum does not fit in 64 bits");
    return r;
}

CORRAL_NIF(add) { return corral_make_i64(c, checked_add(c, corral_arg_i64(c, 0), corral_arg_i64(c, 1))); }

/* The same body as add, as its own NIF: messages name the function by the
 * NIF, so a C function listed in two rows would be named by the first. */
CORRAL_NIF(dirty_add) { return corral_make_i64(c, checked_add(c, corral_arg_i64(c, 0), corral_arg_i64(c, 1))); }

CORRAL_NIF(try_i64)
{
    int64_t v = -1;
    if (corral_try_i64(c, corral_arg(c, 0), &v)) return corral_make_ok_tuple(c, corral_make_i64(c, v));
    return corral_make_error(c, corral_make_i64(c, v));
}

/* {== floats ==} */

CORRAL_NIF(dbl) { return corral_make_double(c, corral_arg_double(c, 0)); }

/* Divides to produce NaN/infinity on purpose. */
CORRAL_NIF(divide) { return corral_make_double(c, corral_arg_double(c, 0) / corral_arg_double(c, 1)); }

/* {== atoms ==} */

enum color { RED, GREEN, BLUE };
CORRAL_ATOMS(colors, "red", "green", "blue");

CORRAL_NIF(color_index) { return corral_make_uint(c, corral_arg_enum(c, 0, &colors)); }
CORRAL_NIF(color_atom) { return corral_atom(&colors, (unsigned)corral_arg_index(c, 0, colors.count)); }
CORRAL_NIF(next_color) { return corral_atom(&colors, (corral_arg_enum(c, 0, &colors) + 1) % colors.count); }

CORRAL_NIF(negate) { return corral_make_bool(c, !corral_arg_bool(c, 0)); }
CORRAL_NIF(make_nil) { return corral_make_nil(c); }

/* {== results ==} */

CORRAL_NIF(ok) { return corral_make_ok(c); }
CORRAL_NIF(ok_tuple) { return corral_make_ok_tuple(c, corral_arg(c, 0)); }
CORRAL_NIF(error_tuple) { return corral_make_error(c, corral_arg(c, 0)); }

/* {== binaries ==} */

CORRAL_NIF(byte_sum)
{
    corral_binary b = corral_arg_binary(c, 0);
    uint64_t sum = 0;
    for (size_t k = 0; k < b.size; k++) sum += b.data[k];
    return corral_make_u64(c, sum);
}

CORRAL_NIF(iodata_copy)
{
    corral_binary b = corral_arg_iodata(c, 0);
    return corral_make_binary(c, b.data, b.size);
}

CORRAL_NIF(reverse)
{
    corral_binary b = corral_arg_binary(c, 0);
    ERL_NIF_TERM out;
    unsigned char *p = corral_new_binary(c, b.size, &out);
    for (size_t k = 0; k < b.size; k++) p[k] = b.data[b.size - 1 - k];
    return out;
}

CORRAL_NIF(empty_binary) { return corral_make_binary(c, NULL, 0); }

/* {== raising ==} */

CORRAL_NIF(raise_arg) { return corral_raise_arg(c, 0, "expected %s", "something else"); }
CORRAL_NIF(raise_argument) { return corral_raise_argument(c, "the options conflict: %d", 42); }
CORRAL_NIF(raise_runtime) { return corral_raise(c, "the device is %s", "on fire"); }
CORRAL_NIF(raise_exception) { return corral_raise_exception(c, "Elixir.CorralTest.CustomError", "code %d", 7); }
CORRAL_NIF(raise_field_error) { return corral_raise_exception(c, "Elixir.CorralTest.FieldError", "bad field"); }
/* raise_fields(code, path, extra): corral_raise_fields with every kind of value. */
CORRAL_NIF(raise_fields)
{
    int64_t code = corral_arg_i64(c, 0);
    const char *path = corral_is_nil(corral_arg(c, 1)) ? NULL : corral_arg_cstring(c, 1);
    return corral_raise_fields(c, "Elixir.CorralTest.FieldError",
                               CORRAL_WITH(corral_with_i64("code", code), corral_with_string("path", path),
                                             corral_with_term("extra", corral_arg(c, 2)),
                                             corral_with_atom("kind", "truncated"),
                                             corral_with_u64("size", UINT64_MAX), corral_with_bool("fatal", true),
                                             corral_with_double("ratio", 0.5)),
                               "code %lld at %s", (long long)code, corral_show(c, corral_arg(c, 1)));
}
/* No message: the exception's message/1 is made from its fields. */
CORRAL_NIF(raise_fields_only)
{
    return corral_raise_fields(c, "Elixir.CorralTest.ComputedError",
                               CORRAL_WITH(corral_with_i64("errno", corral_arg_i64(c, 0)),
                                             corral_with_double("at", corral_arg_double(c, 1))),
                               NULL);
}
/* Field names the exception does not have, or none at all. */
CORRAL_NIF(raise_fields_rejected)
{
    return corral_raise_fields(c, "Elixir.CorralTest.StrictError", CORRAL_WITH(corral_with_i64("code", 1)), "strict");
}
CORRAL_NIF(raise_fields_unknown)
{
    return corral_raise_fields(c, "Elixir.CorralTest.FieldError",
                               CORRAL_WITH(corral_with_i64("code", 1), corral_with_atom("colour", "red")), "unknown");
}
CORRAL_NIF(raise_fields_unnamed)
{
    return corral_raise_fields(c, "Elixir.CorralTest.FieldError",
                               CORRAL_WITH(corral_with_i64("code", 1), corral_with_i64("", 2)), "unnamed");
}
CORRAL_NIF(raise_no_module) { return corral_raise_exception(c, "Elixir.CorralTest.NoSuchError", "lost"); }
CORRAL_NIF(raise_term) { return corral_raise_term(c, corral_arg(c, 0)); }
/* corral_show: terms inside a message of one's own. */
CORRAL_NIF(show) { return corral_raise_argument(c, "shown: %s.", corral_show(c, corral_arg(c, 0))); }
CORRAL_NIF(show_two)
{
    /* The third placeholder names no term of this call: it stays text. */
    return corral_raise(c, "%s then %s, \x1a\x7f\x7f", corral_show(c, corral_arg(c, 0)),
                        corral_show(c, corral_arg(c, 1)));
}

CORRAL_NIF(raise_oom) { return corral_raise_oom(c, 12345); }

/* A raise from three frames down, through code with no error handling. */
static int64_t deep3(corral_call *c) { return corral_arg_int_range(c, 0, -1000000, 1000000) * 2; }
static int64_t deep2(corral_call *c) { return deep3(c) + 1; }
static int64_t deep1(corral_call *c) { return deep2(c) + 1; }
CORRAL_NIF(deep) { return corral_make_i64(c, deep1(c)); }

/* {== cleanup and scratch ==} */

/* A counter the tests read to see that cleanups ran exactly once. */
static long cleanup_count;
static void count_cleanup(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&cleanup_count, 1, __ATOMIC_RELAXED);
}
CORRAL_NIF(cleanups_run) { return corral_make_i64(c, __atomic_load_n(&cleanup_count, __ATOMIC_RELAXED)); }

/* defer(n, raise?): registers n cleanups (beyond the inline ones when n > 6),
 * then returns n or raises. */
CORRAL_NIF(defer_n)
{
    size_t n = corral_arg_size(c, 0);
    bool fail = corral_arg_bool(c, 1);
    for (size_t k = 0; k < n; k++) corral_defer(c, count_cleanup, NULL);
    if (fail) corral_raise(c, "failing after %zu cleanups", n);
    return corral_make_size(c, n);
}

/* Disarms one of two cleanups: exactly one runs. */
CORRAL_NIF(undefer)
{
    corral_defer_id a = corral_defer(c, count_cleanup, NULL);
    corral_defer(c, count_cleanup, NULL);
    corral_undefer(c, a);
    return corral_make_ok(c);
}

/* Runs a cleanup early: it must not run a second time at the end. */
CORRAL_NIF(run_now)
{
    corral_defer_id a = corral_defer(c, count_cleanup, NULL);
    corral_run_now(c, a);
    return corral_make_i64(c, __atomic_load_n(&cleanup_count, __ATOMIC_RELAXED));
}

CORRAL_NIF(undefer_twice)
{
    corral_defer_id a = corral_defer(c, count_cleanup, NULL);
    corral_undefer(c, a);
    corral_undefer(c, a);
    return corral_make_ok(c);
}

CORRAL_NIF(run_now_unknown)
{
    corral_run_now(c, 99);
    return corral_make_ok(c);
}

/* alloc(sizes, raise?): allocates each size from the arena, writes every
 * byte, and returns the total (or raises after allocating). */
CORRAL_NIF(alloc_sum)
{
    size_t n = corral_arg_size(c, 0), each = corral_arg_size(c, 1);
    bool fail = corral_arg_bool(c, 2);
    uint64_t total = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char *p = corral_alloc(c, each);
        if (((uintptr_t)p & 15) != 0) corral_raise(c, "misaligned scratch memory");
        memset(p, (int)(k & 0xff), each);
        total += each;
    }
    if (fail) corral_raise(c, "failing after %zu allocations", n);
    return corral_make_u64(c, total);
}

CORRAL_NIF(calloc_zero)
{
    size_t n = corral_arg_size(c, 0), size = corral_arg_size(c, 1);
    unsigned char *p = corral_calloc(c, n, size);
    for (size_t k = 0; k < n * size; k++)
        if (p[k] != 0) return corral_make_bool(c, false);
    return corral_make_bool(c, true);
}

/* {== resources and locks ==} */


static long counters_destroyed;
static void counter_destroy(Counter *k)
{
    (void)k;
    __atomic_fetch_add(&counters_destroyed, 1, __ATOMIC_RELAXED);
}
CORRAL_RESOURCE(Counter, counter_destroy);

/* Calls from another library (test/resource_call_test.exs, the caller in
 * corral_typed): "corral_test.counter.v1" adds `add` to the counter and
 * gives back its value; a counter holding -1 refuses. */
struct counter_call {
    int64_t add;
    int64_t value;
};
static void counter_answer(Counter *k, corral_resource_call *call)
{
    struct counter_call *a = corral_call_data(call, "corral_test.counter.v1", sizeof *a);
    if (a == NULL) return;
    if (__atomic_load_n(&k->value, __ATOMIC_RELAXED) == -1) {
        corral_call_refuse(call, "this counter is broken");
        return;
    }
    a->value = __atomic_add_fetch(&k->value, a->add, __ATOMIC_RELAXED);
}
CORRAL_RESOURCE_CALLABLE(Counter, counter_answer);

typedef struct {
    int unused;
} Other;
CORRAL_RESOURCE(Other, NULL);

/* fail_allocations_after(n): corral_fail_allocations_after. */
CORRAL_NIF(fail_allocations_after)
{
    corral_fail_allocations_after((long)corral_arg_int_range(c, 0, 0, 1000000));
    return corral_make_ok(c);
}

/* alloc_everything(): allocates in every way Corral allocates for a call:
 * cleanups past the inline ones (the spill), scratch memory (a chunk and a
 * dedicated big one), a resource, a message, a binary; returns
 * {counter, binary} or raises out of memory. */
CORRAL_NIF(alloc_everything)
{
    for (int k = 0; k < 8; k++) corral_defer(c, count_cleanup, NULL);
    char *small = corral_alloc(c, 100), *big = corral_alloc(c, 3 * 4096);
    small[0] = big[0] = 1;
    Counter *k = corral_resource_new(c, Counter, 0);
    k->value = 7;
    ERL_NIF_TERM counter = corral_make_resource(c, k);
    corral_msg *m = corral_msg_new_in(c);
    (void)corral_msg_copy(m, counter);
    corral_msg *loose = corral_msg_new();
    if (loose == NULL) corral_raise_oom(c, 0);
    corral_msg_free(loose);
    ERL_NIF_TERM bin = corral_make_binary(c, "bytes", 5);
    return enif_make_tuple2(corral_env(c), counter, bin);
}

CORRAL_NIF(counter_new)
{
    int64_t start = corral_arg_i64(c, 0);
    size_t extra = corral_arg_size(c, 1);
    Counter *k = corral_resource_new(c, Counter, extra);
    k->value = start;
    k->size = extra;
    for (size_t i = 0; i < extra; i++)
        if (k->bytes[i] != 0) corral_raise(c, "resource memory is not zeroed");
    return corral_make_resource(c, k);
}

/* Creates a resource, then raises before handing it to Erlang: the object
 * is freed and its destructor does not run (it was never fully built). */
CORRAL_NIF(counter_new_raise)
{
    Counter *k = corral_resource_new(c, Counter, 0);
    k->value = corral_arg_i64(c, 0);
    corral_raise(c, "gave up building the counter");
}

/* Creates a resource and returns without handing it to Erlang: the end of
 * the call drops the only reference (inline, not through corral__finish),
 * and the destructor does not run. */
CORRAL_NIF(counter_new_dropped)
{
    Counter *k = corral_resource_new(c, Counter, 0);
    k->value = corral_arg_i64(c, 0);
    return corral_make_i64(c, k->value);
}

CORRAL_NIF(counters_destroyed_count) { return corral_make_i64(c, __atomic_load_n(&counters_destroyed, __ATOMIC_RELAXED)); }

CORRAL_NIF(other_new) { return corral_make_resource(c, corral_resource_new(c, Other, 0)); }

CORRAL_NIF(counter_get)
{
    Counter *k = corral_arg_resource(c, 0, Counter);
    corral_read_lock(c, &k->lock);
    return corral_make_i64(c, k->value);
}

/* add(counter, delta): under the write lock; a delta of 0 raises while the
 * lock is held, and the lock must still be released. */
CORRAL_NIF(counter_add)
{
    Counter *k = corral_arg_resource(c, 0, Counter);
    corral_write_lock(c, &k->lock);
    int64_t d = corral_arg_i64(c, 1);
    if (d == 0) corral_raise_arg(c, 1, "expected a non-zero delta");
    k->value = checked_add(c, k->value, d);
    return corral_make_i64(c, k->value);
}

/* The same under the mutex, with an early unlock through corral_run_now. */
CORRAL_NIF(counter_add_mutex)
{
    Counter *k = corral_arg_resource(c, 0, Counter);
    corral_defer_id held = corral_lock(c, &k->mutex);
    int64_t d = corral_arg_i64(c, 1);
    if (d == 0) corral_raise_arg(c, 1, "expected a non-zero delta");
    k->value = checked_add(c, k->value, d);
    int64_t v = k->value;
    corral_run_now(c, held);
    return corral_make_i64(c, v);
}

/* Takes the write lock and the mutex of two counters, then raises: every
 * lock must be released (the next call would deadlock otherwise). */
CORRAL_NIF(counter_lock_raise)
{
    Counter *a = corral_arg_resource(c, 0, Counter);
    Counter *b = corral_arg_resource(c, 1, Counter);
    corral_write_lock(c, &a->lock);
    corral_lock(c, &a->mutex);
    if (a != b) corral_read_lock(c, &b->lock);
    corral_raise(c, "raised with locks held");
}

/* Defined in schedule.c: run-time choice of a dirty scheduler. */
CORRAL_NIF_EXTERN(adaptive_sum);
CORRAL_NIF_EXTERN(adaptive_then_raise);
CORRAL_NIF_EXTERN(schedule_dirty_with);
CORRAL_NIF_EXTERN(schedule_dirty_from_dirty);
CORRAL_NIF_EXTERN(schedule_dirty_yielding);
CORRAL_NIF_EXTERN(schedule_dirty_thread__corral_job);

/* Defined in lifecycle.c. */
CORRAL_NIF_EXTERN(lifecycle_events);
CORRAL_NIF_EXTERN(conn_open);
CORRAL_NIF_EXTERN(cursor_open);
CORRAL_NIF_EXTERN(cursor_open_slow);
CORRAL_NIF_EXTERN(cursor_open_then_raise);
CORRAL_NIF_EXTERN(cursor_open_after_close);
CORRAL_NIF_EXTERN(row_open);
CORRAL_NIF_EXTERN(cursor_read);
CORRAL_NIF_EXTERN(row_read);
CORRAL_NIF_EXTERN(cursor_read_slowly);
CORRAL_NIF_EXTERN(conn_close);
CORRAL_NIF_EXTERN(cursor_close);
CORRAL_NIF_EXTERN(row_close);
CORRAL_NIF_EXTERN(sleeper_new);
CORRAL_NIF_EXTERN(sleeper_close);
CORRAL_NIF_EXTERN(slow_open);
CORRAL_NIF_EXTERN(block_until_interrupted__corral_job);
CORRAL_NIF_EXTERN(set_then_clear_interrupt__corral_job);
CORRAL_NIF_EXTERN(stray_interrupts);
CORRAL_NIF_EXTERN(on_cancel_outside_job);

/* Defined in resources.c. */
CORRAL_NIF_EXTERN(handle_open);
CORRAL_NIF_EXTERN(handle_read);
CORRAL_NIF_EXTERN(handle_read_slowly);
CORRAL_NIF_EXTERN(handle_close);
CORRAL_NIF_EXTERN(handles_destroyed_count);
CORRAL_NIF_EXTERN(close_counter);
CORRAL_NIF_EXTERN(holder_new);
CORRAL_NIF_EXTERN(holder_read);
CORRAL_NIF_EXTERN(holder_closed);
CORRAL_NIF_EXTERN(lease_new);
CORRAL_NIF_EXTERN(lease_acquire);
CORRAL_NIF_EXTERN(lease_release);
CORRAL_NIF_EXTERN(lease_acquire_for);
CORRAL_NIF_EXTERN(monitor_counter);
CORRAL_NIF_EXTERN(blob_new);
CORRAL_NIF_EXTERN(blob_slice);
CORRAL_NIF_EXTERN(thread_send);
CORRAL_NIF_EXTERN(send_in_call);
CORRAL_NIF_EXTERN(self_pid);
CORRAL_NIF_EXTERN(pid_arg);
CORRAL_NIF_EXTERN(pipe_new);
CORRAL_NIF_EXTERN(pipe_write);
CORRAL_NIF_EXTERN(pipe_watch);
CORRAL_NIF_EXTERN(pipe_read);
CORRAL_NIF_EXTERN(pipe_stop_watch);
CORRAL_NIF_EXTERN(pipes_stopped_count);
CORRAL_NIF_EXTERN(select_counter);
CORRAL_NIF_EXTERN(pipe_watch_bad);
/* Defined in schedule.c. */
CORRAL_NIF_EXTERN(spin);
CORRAL_NIF_EXTERN(spin_dirty);
CORRAL_NIF_EXTERN(spin_yielding);
CORRAL_NIF_EXTERN(block_dirty);
CORRAL_NIF_EXTERN(cancel_after_outside);
CORRAL_NIF_EXTERN(cancel_after_job__corral_job);
CORRAL_NIF_EXTERN(yield_states_freed);
CORRAL_NIF_EXTERN(should_yield_plain);
CORRAL_NIF_EXTERN(continue_plain);
CORRAL_NIF_EXTERN(first_step_plain);
CORRAL_NIF_EXTERN(spin_thread__corral_job);
CORRAL_NIF_EXTERN(sleep_thread__corral_job);
CORRAL_NIF_EXTERN(stubborn_thread__corral_job);
CORRAL_NIF_EXTERN(raise_thread__corral_job);
CORRAL_NIF_EXTERN(alloc_steps);
CORRAL_NIF_EXTERN(alloc_steps_freed_count);
CORRAL_NIF_EXTERN(jobs_cancelled_count);
CORRAL_NIF_EXTERN(cancelled_plain);
CORRAL_NIF_EXTERN(emit_count__corral_job);
CORRAL_NIF_EXTERN(emit_progress);
CORRAL_NIF_EXTERN(emit_then_raise__corral_job);
CORRAL_NIF_EXTERN(emit_scope_end__corral_job);
CORRAL_NIF_EXTERN(emit_begin_twice__corral_job);
CORRAL_NIF_EXTERN(emit_plain);
CORRAL_NIF_EXTERN(emit_begin_plain);
CORRAL_NIF_EXTERN(counter_add_thread__corral_job);

CORRAL_MODULE(CorralTest.Native,
    CORRAL_FN("argc_of", argc_of, 3),
    CORRAL_FN("raise_fields", raise_fields, 3),
    CORRAL_FN("raise_fields_only", raise_fields_only, 2),
    CORRAL_FN("raise_fields_rejected", raise_fields_rejected, 0),
    CORRAL_FN("raise_fields_unnamed", raise_fields_unnamed, 0),
    CORRAL_FN("raise_fields_unknown", raise_fields_unknown, 0),
    CORRAL_FN("arg_raw", arg_raw, 1),
    CORRAL_FN("arg_beyond", arg_beyond, 1),
    CORRAL_FN("env_is_set", env_is_set, 0),
    CORRAL_FN("i64", i64, 1),
    CORRAL_FN("u64", u64, 1),
    CORRAL_FN("int", int_, 1),
    CORRAL_FN("uint", uint_, 1),
    CORRAL_FN("size", size, 1),
    CORRAL_FN("u8", u8, 1),
    CORRAL_FN("int_range", int_range, 3),
    CORRAL_FN("index_below", index_below, 2),
    CORRAL_FN("add", add, 2),
    CORRAL_FN("try_i64", try_i64, 1),
    CORRAL_FN("double", dbl, 1),
    CORRAL_FN("divide", divide, 2),
    CORRAL_FN("color_index", color_index, 1),
    CORRAL_FN("color_atom", color_atom, 1),
    CORRAL_FN("next_color", next_color, 1),
    CORRAL_FN("negate", negate, 1),
    CORRAL_FN("make_nil", make_nil, 0),
    CORRAL_FN("ok", ok, 0),
    CORRAL_FN("ok_tuple", ok_tuple, 1),
    CORRAL_FN("error_tuple", error_tuple, 1),
    CORRAL_FN("byte_sum", byte_sum, 1),
    CORRAL_FN("iodata_copy", iodata_copy, 1),
    CORRAL_FN("reverse", reverse, 1),
    CORRAL_FN("empty_binary", empty_binary, 0),
    CORRAL_FN("raise_arg", raise_arg, 1),
    CORRAL_FN("raise_argument", raise_argument, 0),
    CORRAL_FN("raise_runtime", raise_runtime, 0),
    CORRAL_FN("raise_exception", raise_exception, 0),
    CORRAL_FN("raise_term", raise_term, 1),
    CORRAL_FN("raise_oom", raise_oom, 0),
    CORRAL_FN("show", show, 1),
    CORRAL_FN("raise_field_error", raise_field_error, 0),
    CORRAL_FN("raise_no_module", raise_no_module, 0),
    CORRAL_FN("show_two", show_two, 2),
    CORRAL_FN("deep", deep, 1),
    CORRAL_FN("cleanups_run", cleanups_run, 0),
    CORRAL_FN("fail_allocations_after", fail_allocations_after, 1),
    CORRAL_FN("alloc_everything", alloc_everything, 0),
    CORRAL_FN("defer_n", defer_n, 2),
    CORRAL_FN("undefer", undefer, 0),
    CORRAL_FN("run_now", run_now, 0),
    CORRAL_FN("undefer_twice", undefer_twice, 0),
    CORRAL_FN("run_now_unknown", run_now_unknown, 0),
    CORRAL_FN("alloc_sum", alloc_sum, 3),
    CORRAL_FN("calloc_zero", calloc_zero, 2),
    CORRAL_FN("counter_new", counter_new, 2),
    CORRAL_FN("counter_new_raise", counter_new_raise, 1),
    CORRAL_FN("counter_new_dropped", counter_new_dropped, 1),
    CORRAL_FN("counters_destroyed", counters_destroyed_count, 0),
    CORRAL_FN("other_new", other_new, 0),
    CORRAL_FN("counter_get", counter_get, 1),
    CORRAL_FN("counter_add", counter_add, 2),
    CORRAL_FN("counter_add_mutex", counter_add_mutex, 2),
    CORRAL_FN("counter_lock_raise", counter_lock_raise, 2),
    CORRAL_FN("handle_open", handle_open, 1),
    CORRAL_FN("handle_read", handle_read, 1),
    CORRAL_FN_FLAGS("handle_read_slowly", handle_read_slowly, 2, CORRAL_DIRTY_IO),
    CORRAL_FN("handle_close", handle_close, 1),
    CORRAL_FN("handles_destroyed", handles_destroyed_count, 0),
    CORRAL_FN("close_counter", close_counter, 1),
    CORRAL_FN("holder_new", holder_new, 1),
    CORRAL_FN("holder_read", holder_read, 1),
    CORRAL_FN("holder_closed", holder_closed, 1),
    CORRAL_FN("lease_new", lease_new, 1),
    CORRAL_FN("lease_acquire", lease_acquire, 1),
    CORRAL_FN("lease_release", lease_release, 1),
    CORRAL_FN("lease_acquire_for", lease_acquire_for, 2),
    CORRAL_FN("monitor_counter", monitor_counter, 1),
    CORRAL_FN("blob_new", blob_new, 1),
    CORRAL_FN("blob_slice", blob_slice, 3),
    CORRAL_FN_FLAGS("thread_send", thread_send, 2, CORRAL_DIRTY_IO),
    CORRAL_FN("send_in_call", send_in_call, 3),
    CORRAL_FN("self_pid", self_pid, 0),
    CORRAL_FN("pid_arg", pid_arg, 1),
    CORRAL_FN("pipe_new", pipe_new, 0),
    CORRAL_FN("pipe_write", pipe_write, 2),
    CORRAL_FN("pipe_watch", pipe_watch, 2),
    CORRAL_FN("pipe_read", pipe_read, 1),
    CORRAL_FN("pipe_stop_watch", pipe_stop_watch, 1),
    CORRAL_FN("pipes_stopped", pipes_stopped_count, 0),
    CORRAL_FN("select_counter", select_counter, 1),
    CORRAL_FN("pipe_watch_bad", pipe_watch_bad, 1),
    CORRAL_FN("spin", spin, 1),
    CORRAL_FN_FLAGS("spin_dirty", spin_dirty, 1, CORRAL_DIRTY_CPU),
    CORRAL_FN("spin_yielding", spin_yielding, 2),
    CORRAL_FN("alloc_steps", alloc_steps, 1),
    CORRAL_FN("alloc_steps_freed", alloc_steps_freed_count, 0),
    CORRAL_FN("yield_states_freed", yield_states_freed, 0),
    CORRAL_FN("should_yield_plain", should_yield_plain, 0),
    CORRAL_FN("continue_plain", continue_plain, 0),
    CORRAL_FN("first_step_plain", first_step_plain, 0),
    CORRAL_FN_THREAD("spin_thread", spin_thread, 1),
    CORRAL_FN_THREAD("sleep_thread", sleep_thread, 1),
    CORRAL_FN_THREAD("stubborn_thread", stubborn_thread, 1),
    CORRAL_FN_THREAD("raise_thread", raise_thread, 1),
    CORRAL_FN("jobs_cancelled", jobs_cancelled_count, 0),
    CORRAL_FN("cancelled_plain", cancelled_plain, 0),
    CORRAL_FN_THREAD("emit_count", emit_count, 3),
    CORRAL_FN("emit_progress", emit_progress, 1),
    CORRAL_FN_THREAD("emit_then_raise", emit_then_raise, 1),
    CORRAL_FN_THREAD("emit_scope_end", emit_scope_end, 1),
    CORRAL_FN_THREAD("emit_begin_twice", emit_begin_twice, 0),
    CORRAL_FN("emit_plain", emit_plain, 0),
    CORRAL_FN("emit_begin_plain", emit_begin_plain, 0),
    CORRAL_FN_THREAD("counter_add_thread", counter_add_thread, 2),
    CORRAL_FN_FLAGS("dirty_add", dirty_add, 2, CORRAL_DIRTY_CPU),
    CORRAL_FN("adaptive_sum", adaptive_sum, 3),
    CORRAL_FN("adaptive_then_raise", adaptive_then_raise, 1),
    CORRAL_FN("schedule_dirty_with", schedule_dirty_with, 1),
    CORRAL_FN_FLAGS("schedule_dirty_from_dirty", schedule_dirty_from_dirty, 1, CORRAL_DIRTY_CPU),
    CORRAL_FN_THREAD("schedule_dirty_thread", schedule_dirty_thread, 0),
    CORRAL_FN("schedule_dirty_yielding", schedule_dirty_yielding, 0),
    CORRAL_FN("lifecycle_events", lifecycle_events, 0),
    CORRAL_FN("conn_open", conn_open, 1),
    CORRAL_FN("cursor_open", cursor_open, 2),
    CORRAL_FN("cursor_open_slow", cursor_open_slow, 3),
    CORRAL_FN("cursor_open_then_raise", cursor_open_then_raise, 1),
    CORRAL_FN("cursor_open_after_close", cursor_open_after_close, 1),
    CORRAL_FN("row_open", row_open, 2),
    CORRAL_FN("cursor_read", cursor_read, 1),
    CORRAL_FN("row_read", row_read, 1),
    CORRAL_FN_FLAGS("cursor_read_slowly", cursor_read_slowly, 2, CORRAL_DIRTY_IO),
    CORRAL_FN("conn_close", conn_close, 1),
    CORRAL_FN_FLAGS("conn_close_dirty", conn_close, 1, CORRAL_DIRTY_IO),
    CORRAL_FN("cursor_close", cursor_close, 1),
    CORRAL_FN("row_close", row_close, 1),
    CORRAL_FN("sleeper_new", sleeper_new, 2),
    CORRAL_FN("sleeper_close", sleeper_close, 1),
    CORRAL_FN_FLAGS("sleeper_close_dirty", sleeper_close, 1, CORRAL_DIRTY_IO),
    CORRAL_FN("slow_open", slow_open, 2),
    CORRAL_FN_THREAD("block_until_interrupted", block_until_interrupted, 2),
    CORRAL_FN_THREAD("set_then_clear_interrupt", set_then_clear_interrupt, 1),
    CORRAL_FN("stray_interrupts", stray_interrupts, 0),
    CORRAL_FN("on_cancel_outside_job", on_cancel_outside_job, 0),
    CORRAL_FN_FLAGS("on_cancel_dirty", on_cancel_outside_job, 0, CORRAL_DIRTY_CPU),
    CORRAL_FN_FLAGS("block_dirty", block_dirty, 3, CORRAL_DIRTY_IO),
    CORRAL_FN("cancel_after_outside", cancel_after_outside, 0),
    CORRAL_FN_THREAD("cancel_after_job", cancel_after_job, 0));
