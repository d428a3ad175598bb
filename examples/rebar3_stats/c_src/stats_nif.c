/*
 * Statistics over lists of numbers, an Erlang module built by rebar3 with
 * Corral's plugin: rebar3 compile builds priv/stats_nif.so and generates
 * src/stats_nif.erl (stubs, specs, docs) from it.
 */
#include <corral.h>
#include <math.h>

/* Typed declarations: the list is decoded and checked before the body
 * runs, and the -spec comes from the types. */
CORRAL_DEF(mean, double, (list, double, xs))
{
    if (xs.count == 0) corral_raise_arg(c, 0, "expected a non-empty list");
    double sum = 0;
    for (size_t k = 0; k < xs.count; k++) sum += xs.data[k];
    return sum / (double)xs.count;
}
CORRAL_DOC_OF(mean, "The arithmetic mean of a non-empty list of numbers.");

CORRAL_DEF(variance, double, (list, double, xs))
{
    if (xs.count < 2) corral_raise_arg(c, 0, "expected a list of at least 2 numbers");
    double mean = 0, m2 = 0;
    for (size_t k = 0; k < xs.count; k++) {
        double d = xs.data[k] - mean;
        mean += d / (double)(k + 1);
        m2 += d * (xs.data[k] - mean);
    }
    return m2 / (double)(xs.count - 1);
}
CORRAL_DOC_OF(variance, "The sample variance (Welford's method) of at least 2 numbers.");

/* A long computation on Corral's thread pool: the Erlang function waits for
 * it without blocking a scheduler. */
CORRAL_THREAD_NIF(histogram)
{
    size_t n;
    double *xs = corral_get_array(c, corral_arg_term(c, 0), CORRAL_DOUBLE, &n);
    int64_t bins = corral_arg_int_range(c, 1, 1, 1000);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < n; k++) {
        if (xs[k] < lo) lo = xs[k];
        if (xs[k] > hi) hi = xs[k];
    }
    int64_t *counts = corral_alloc(c, (size_t)bins * sizeof *counts);
    for (int64_t b = 0; b < bins; b++) counts[b] = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t b = hi > lo ? (int64_t)((xs[k] - lo) / (hi - lo) * (double)bins) : 0;
        counts[b == bins ? bins - 1 : b]++;
    }
    return corral_make_array(c, CORRAL_I64, counts, (size_t)bins);
}
CORRAL_DOC("histogram", 2, "histogram(xs :: [number()], bins :: pos_integer()) :: [non_neg_integer()]",
           "Counts of `Xs` in `Bins` equal-width bins from the smallest to the largest, on Corral's thread pool.");

CORRAL_ERLANG_MODULE(stats_nif,
    CORRAL_EXPORT(mean),
    CORRAL_EXPORT(variance),
    CORRAL_FN_THREAD("histogram", histogram, 2));
