#include <corral.h>

/* A cell whose counter is under a Corral mutex, and one erl_nif mutex of
 * another kind, made by hand, to give the lock checker an order to see. */
typedef struct {
    corral_mutex mx;
    int64_t n;
} Cell;
CORRAL_RESOURCE(Cell, NULL);

static ErlNifMutex *other;

static bool load(corral_load *l)
{
    other = enif_mutex_create("lock_check_other");
    return other != NULL || corral_load_fail(l, "enif_mutex_create failed");
}
static void unload(const corral_unload *u)
{
    (void)u;
    enif_mutex_destroy(other);
}
CORRAL_ON_LOAD(load);
CORRAL_ON_UNLOAD(unload);

CORRAL_NIF(cell_new) { return corral_make_resource(c, corral_resource_new(c, Cell, 0)); }

/* Takes the cell's mutex n times: contention for lcnt to count. */
CORRAL_NIF(bump)
{
    Cell *x = corral_arg_resource(c, 0, Cell);
    int64_t n = corral_arg_i64(c, 1);
    for (int64_t i = 0; i < n; i++) {
        corral_defer_id held = corral_lock(c, &x->mx);
        x->n++;
        corral_run_now(c, held);
    }
    return corral_make_i64(c, x->n);
}

/* The cell's mutex, then the other: one order... */
CORRAL_NIF(mine_then_other)
{
    Cell *x = corral_arg_resource(c, 0, Cell);
    corral_lock(c, &x->mx);
    enif_mutex_lock(other);
    enif_mutex_unlock(other);
    return corral_make_ok(c);
}

/* ...and the other, then the cell's mutex: the reverse, a deadlock waiting
 * for two threads to meet, which a debug emulator stops at once. */
CORRAL_NIF(other_then_mine)
{
    Cell *x = corral_arg_resource(c, 0, Cell);
    enif_mutex_lock(other);
    corral_mutex_lock(&x->mx);
    corral_mutex_unlock(&x->mx);
    enif_mutex_unlock(other);
    return corral_make_ok(c);
}

CORRAL_MODULE(LockCheck,
    CORRAL_FN("cell_new", cell_new, 0),
    CORRAL_FN("bump", bump, 2),
    CORRAL_FN("mine_then_other", mine_then_other, 1),
    CORRAL_FN("other_then_mine", other_then_mine, 1));
