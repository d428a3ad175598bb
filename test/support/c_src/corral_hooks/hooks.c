/*
 * The test library of the library hooks (CORRAL_ON_LOAD, CORRAL_ON_UNLOAD):
 * test/hooks_test.exs. The load hook keeps what it saw (the load data,
 * whether it was an upgrade) for seen/0; environment variables set by the
 * tests make it fail, and name a log file where the hooks and thread jobs
 * write what happened, in order (the unload hook's only way to be seen).
 */
#include <corral.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ErlNifEnv *data_env; /* holds the copy of the load data */
static ERL_NIF_TERM data_copy;
static bool upgraded;
static int64_t count;
static char log_path[4096];

static void log_line(const char *fmt, ...) CORRAL__PRINTF(1, 2);
static void log_line(const char *fmt, ...)
{
    if (log_path[0] == '\0') return;
    FILE *f = fopen(log_path, "a");
    if (f == NULL) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static bool load(corral_load *l)
{
    const char *path = getenv("CORRAL_HOOKS_LOG");
    if (path && strlen(path) < sizeof log_path) strcpy(log_path, path);

    /* The load data is %{count: integer, name: string}: decoded with
     * Corral's getters, whose raise fails the load. */
    corral_map m = corral_get_map(l->c, corral_term_of(l->data));
    const char *key = getenv("CORRAL_HOOKS_BAD_DATA") ? "name" : "count";
    count = corral_get_i64(l->c, corral_map_get(l->c, &m, corral_make_atom(l->c, key)));

    const char *refuse = getenv("CORRAL_HOOKS_FAIL");
    if (refuse) {
        log_line("load refused");
        return corral_load_fail(l, "refused by the test: %s (count %lld)", refuse, (long long)count);
    }
    if (getenv("CORRAL_HOOKS_SILENT_FAIL")) return false;

    data_env = enif_alloc_env();
    if (data_env == NULL) return corral_load_fail(l, "no memory for the load data");
    data_copy = enif_make_copy(data_env, l->data);
    upgraded = l->upgrade;
    log_line("load upgrade=%d count=%lld", (int)l->upgrade, (long long)count);
    return true;
}

static void unload(const corral_unload *u)
{
    log_line("unload replaced=%d", (int)u->replaced);
    if (data_env) enif_free_env(data_env);
    data_env = NULL;
}

CORRAL_ON_LOAD(load);
CORRAL_ON_UNLOAD(unload);

/* seen() -> {load data, upgrade?, count} */
CORRAL_NIF(seen)
{
    ERL_NIF_TERM data = data_env ? enif_make_copy(c->env, data_copy) : corral_make_atom(c, "nil");
    return corral_make_triple(c, data, corral_make_bool(c, upgraded), corral_make_i64(c, count));
}

/* job(ms): sleeps on the pool, then logs "job <ms> done". */
CORRAL_THREAD_NIF(job)
{
    int64_t ms = corral_arg_int_range(c, 0, 0, 60000);
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
    log_line("job %lld done", (long long)ms);
    return corral_make_i64(c, ms);
}

CORRAL_MODULE(CorralTest.Hooks, CORRAL_FN("seen", seen, 0), CORRAL_FN_THREAD("job", job, 1));
