/*
 * SQLite through Corral: a C library with the lifecycle most libraries have.
 *
 *   - a connection (Db) owns its prepared statements (Stmt): the statement
 *     type names Db as its parent, so a statement keeps its connection
 *     alive, and closing the connection finalizes its statements first;
 *   - teardown may block (sqlite3_finalize and sqlite3_close_v2 take the
 *     connection's mutex, which a long query on another thread holds), so
 *     both destructors are declared blocking: Corral runs them off the
 *     normal schedulers, also when a handle is garbage collected;
 *   - long calls (exec, fetch_all, rows) are thread jobs that register
 *     sqlite3_interrupt, so a caller that times out or dies stops the query;
 *     rows sends the rows as it reads them (corral_emit), for a Stream;
 *   - calls that take the connection's mutex run on a dirty IO scheduler.
 *
 * SQLite's own failures return {:error, {code, message}}; caller mistakes
 * raise ArgumentError through Corral's getters.
 */
#include <corral.h>

#include <math.h>
#include <stdint.h>
#include <sqlite3.h>
#include <string.h>

typedef struct {
    sqlite3 *handle;
} Db;

typedef struct {
    sqlite3_stmt *handle;
} Stmt;

/* Both may wait for the connection's mutex: declared blocking below. */
static void db_destroy(Db *db) { sqlite3_close_v2(db->handle); }
static void stmt_destroy(Stmt *stmt) { sqlite3_finalize(stmt->handle); }

CORRAL_CLOSABLE_RESOURCE(Db, db_destroy);
CORRAL_CLOSABLE_RESOURCE(Stmt, stmt_destroy);
CORRAL_RESOURCE_PARENT(Stmt, Db);
CORRAL_RESOURCE_BLOCKING_DESTRUCTOR(Db);
CORRAL_RESOURCE_BLOCKING_DESTRUCTOR(Stmt);
/* Corral.resource_memory(Sqlite.Native) shows each connection's page
 * cache, reported after the calls that fill it. */
CORRAL_RESOURCE_REPORTS_MEMORY(Db);

static void report_memory(Db *db)
{
    int used = 0, highwater = 0;
    if (sqlite3_db_status(db->handle, SQLITE_DBSTATUS_CACHE_USED, &used, &highwater, 0) == SQLITE_OK)
        corral_resource_report_memory(Db, db, (size_t)used);
}

CORRAL_ATOMS(atoms, "row", "rows", "done", "blob", "inf", "-inf", "busy_timeout", "infinity");
enum { ROW, ROWS, DONE, BLOB, INF, NEG_INF, BUSY_TIMEOUT, INFINITE };

/* {== load: the library's global state ==} */

/* How long a connection waits for another one's lock before SQLITE_BUSY:
 * the load data's busy_timeout (use Corral, load_data: %{busy_timeout: ms}). */
static int busy_timeout_ms;

static bool load(corral_load *l)
{
    /* Connections are shared by processes, so calls reach one connection
     * from several threads: only a thread-safe build of SQLite will do. */
    if (!sqlite3_threadsafe())
        return corral_load_fail(l, "this SQLite (%s) was built with SQLITE_THREADSAFE=0; Sqlite.Native needs a thread-safe build",
                                sqlite3_libversion());
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK) return corral_load_fail(l, "sqlite3_initialize failed: %s", sqlite3_errstr(rc));
    corral_map options = corral_get_map(l->c, corral_term_of(l->data));
    corral_term timeout = corral_map_get(l->c, &options, corral_atom(&atoms, BUSY_TIMEOUT));
    busy_timeout_ms = corral_get_int(l->c, timeout);
    if (busy_timeout_ms < 0) corral_raise_at(l->c, timeout, "expected a number of milliseconds (0 or more)");
    return true;
}
/* No unload hook: sqlite3_shutdown would pull SQLite from under every other
 * user of the same shared library in this OS process (another NIF library,
 * or the new version of this one after an upgrade). */
CORRAL_ON_LOAD(load);

/* {== errors ==} */

/* Holds the connection's mutex until the call ends, so that the message
 * read after a failed call is that call's, not another thread's. */
static void unlock_db(void *mutex) { sqlite3_mutex_leave(mutex); }

static void lock_db(corral_call *c, sqlite3 *db)
{
    sqlite3_mutex *m = sqlite3_db_mutex(db);
    if (m == NULL) return; /* a build without mutexes: one thread per connection */
    sqlite3_mutex_enter(m);
    corral_defer(c, unlock_db, m);
}

/* Leaves the call with {:error, {code, message}}. */
static _Noreturn void return_sqlite_error(corral_call *c, sqlite3 *db, int rc)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    ERL_NIF_TERM reason[2] = {corral_make_int(c, db ? sqlite3_extended_errcode(db) : rc), corral_make_string(c, msg)};
    corral_return_error_term(c, corral_make_tuple(c, reason, 2));
}

/* {== connections ==} */

/* open(path) -> {:ok, db} | {:error, {code, message}} */
CORRAL_NIF(db_open)
{
    const char *path = corral_arg_cstring(c, 0);
    Db *db = corral_resource_new(c, Db, 0);
    int rc = sqlite3_open_v2(path, &db->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        /* The object was never handed out, so its destructor will not run:
         * the handle (made even on failure) is closed here. */
        ERL_NIF_TERM reason[2] = {corral_make_int(c, rc),
                                  corral_make_string(c, db->handle ? sqlite3_errmsg(db->handle) : sqlite3_errstr(rc))};
        sqlite3_close_v2(db->handle);
        db->handle = NULL;
        return corral_make_error(c, corral_make_tuple(c, reason, 2));
    }
    sqlite3_extended_result_codes(db->handle, 1);
    sqlite3_busy_timeout(db->handle, busy_timeout_ms);
    report_memory(db);
    return corral_make_ok_tuple(c, corral_make_resource(c, db));
}

/* close(db) -> :ok; finalizes the statements of db first. Raises if it
 * was closed already. */
CORRAL_NIF(db_close)
{
    corral_resource_close(c, Db, corral_arg_resource(c, 0, Db));
    return corral_make_ok(c);
}

static void interrupt_db(void *db) { sqlite3_interrupt(db); }

/* exec(db, sql): runs one or more statements, discarding rows. A thread
 * job: the caller's timeout interrupts it. Typed: the declaration gives
 * the argument checks, the NUL-terminated SQL and the spec
 * (db :: db(), sql :: String.t()) :: :ok | {:error, term()}. */
CORRAL_DEF_THREAD(exec, (ok, void), (res, Db, db), (cstring, sql))
{
    corral_on_cancel(c, interrupt_db, db->handle);
    lock_db(c, db->handle);
    int rc = sqlite3_exec(db->handle, sql, NULL, NULL, NULL);
    report_memory(db);
    if (rc != SQLITE_OK) return_sqlite_error(c, db->handle, rc);
}

/* changes(db): rows changed by the last INSERT, UPDATE or DELETE. */
CORRAL_DEF(changes, i64, (res, Db, db))
{
    (void)c;
    return sqlite3_changes64(db->handle);
}

/* {== statements ==} */

/* prepare(db, sql) -> {:ok, stmt} | {:error, {code, message}} */
CORRAL_DEF(prepare, (ok, (res, Stmt)), (res, Db, db), (string, sql))
{
    if (sql.size > INT_MAX) corral_raise_arg(c, 1, "expected SQL of at most %d bytes", INT_MAX);
    Stmt *stmt = corral_resource_new_child(c, Stmt, db, 0);
    lock_db(c, db->handle);
    int rc = sqlite3_prepare_v2(db->handle, (const char *)sql.data, (int)sql.size, &stmt->handle, NULL);
    if (rc != SQLITE_OK) return_sqlite_error(c, db->handle, rc);
    if (stmt->handle == NULL) corral_raise_arg(c, 1, "expected an SQL statement, got only comments or spaces");
    return stmt;
}

/* finalize(stmt) -> :ok */
CORRAL_NIF(stmt_finalize)
{
    corral_resource_close(c, Stmt, corral_arg_resource(c, 0, Stmt));
    return corral_make_ok(c);
}

static void bind_one(corral_call *c, sqlite3_stmt *s, int k, corral_term x)
{
    int rc;
    switch (corral_kind_of(c, x.term)) {
    case CORRAL_KIND_INTEGER:
        rc = sqlite3_bind_int64(s, k, corral_get_i64(c, x));
        break;
    case CORRAL_KIND_FLOAT:
        rc = sqlite3_bind_double(s, k, corral_get_double(c, x));
        break;
    case CORRAL_KIND_BITSTRING: {
        corral_binary text = corral_get_binary(c, x);
        rc = sqlite3_bind_text64(s, k, (const char *)text.data, text.size, SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
    }
    case CORRAL_KIND_ATOM:
        if (corral_is_nil(x.term)) {
            rc = sqlite3_bind_null(s, k);
            break;
        }
        corral_raise_at(c, x, "expected an integer, a float, a binary, nil or {:blob, binary}");
    case CORRAL_KIND_TUPLE: {
        corral_tuple t = corral_get_tuple(c, x, 2);
        corral_term tag = corral_tuple_get(c, &t, 0);
        if (tag.term != corral_atom(&atoms, BLOB))
            corral_raise_at(c, x, "expected an integer, a float, a binary, nil or {:blob, binary}");
        corral_binary blob = corral_get_binary(c, corral_tuple_get(c, &t, 1));
        rc = sqlite3_bind_blob64(s, k, blob.data, blob.size, SQLITE_TRANSIENT);
        break;
    }
    default:
        corral_raise_at(c, x, "expected an integer, a float, a binary, nil or {:blob, binary}");
    }
    if (rc != SQLITE_OK) corral_raise_at(c, x, "a value SQLite can bind (%s)", sqlite3_errstr(rc));
}

/* bind(stmt, values) -> :ok: resets stmt and binds values (a list, one per
 * parameter, in order). */
CORRAL_NIF(stmt_bind)
{
    Stmt *stmt = corral_arg_resource(c, 0, Stmt);
    corral_list l = corral_arg_list(c, 1);
    int want = sqlite3_bind_parameter_count(stmt->handle);
    size_t got = corral_list_length(c, &l);
    if (got != (size_t)want)
        corral_raise_arg(c, 1, "expected a list of %d value%s (the statement's parameters)", want, want == 1 ? "" : "s");
    lock_db(c, sqlite3_db_handle(stmt->handle));
    sqlite3_reset(stmt->handle);
    sqlite3_clear_bindings(stmt->handle);
    corral_term x;
    for (int k = 1; corral_list_next(c, &l, &x); k++) bind_one(c, stmt->handle, k, x);
    return corral_make_ok(c);
}

/* execute_many(stmt, rows) -> :ok | {:error, {code, message}}: for each
 * row (a list of values, one per parameter), binds it and runs stmt to
 * its end: many inserts for the cost of one call. Stops at the first
 * failure; the rows before it stay done (wrap it in a transaction). */
CORRAL_NIF(stmt_execute_many)
{
    Stmt *stmt = corral_arg_resource(c, 0, Stmt);
    corral_list rows = corral_arg_list(c, 1);
    int want = sqlite3_bind_parameter_count(stmt->handle);
    sqlite3 *db = sqlite3_db_handle(stmt->handle);
    lock_db(c, db);
    corral_term r;
    while (corral_list_next(c, &rows, &r)) {
        corral_list values = corral_get_list(c, r);
        if (corral_list_length(c, &values) != (size_t)want)
            corral_raise_at(c, r, "expected a list of %d value%s (the statement's parameters)", want, want == 1 ? "" : "s");
        sqlite3_reset(stmt->handle);
        corral_term x;
        for (int k = 1; corral_list_next(c, &values, &x); k++) bind_one(c, stmt->handle, k, x);
        int rc;
        while ((rc = sqlite3_step(stmt->handle)) == SQLITE_ROW) continue;
        if (rc != SQLITE_DONE) {
            sqlite3_reset(stmt->handle);
            return_sqlite_error(c, db, rc);
        }
    }
    sqlite3_reset(stmt->handle);
    return corral_make_ok(c);
}

static ERL_NIF_TERM column(corral_call *c, sqlite3_stmt *s, int k)
{
    switch (sqlite3_column_type(s, k)) {
    case SQLITE_INTEGER:
        return corral_make_i64(c, sqlite3_column_int64(s, k));
    case SQLITE_FLOAT: {
        double d = sqlite3_column_double(s, k);
        if (isinf(d)) return corral_atom(&atoms, d > 0 ? INF : NEG_INF);
        return corral_make_double(c, d);
    }
    case SQLITE_TEXT:
        return corral_make_binary(c, sqlite3_column_text(s, k), (size_t)sqlite3_column_bytes(s, k));
    case SQLITE_BLOB:
        return corral_make_binary(c, sqlite3_column_blob(s, k), (size_t)sqlite3_column_bytes(s, k));
    default:
        return corral_make_nil(c);
    }
}

static ERL_NIF_TERM row(corral_call *c, sqlite3_stmt *s, ERL_NIF_TERM *cells, int n)
{
    for (int k = 0; k < n; k++) cells[k] = column(c, s, k);
    return corral_make_list(c, cells, (size_t)n);
}

/* step(stmt) -> {:row, [value]} | :done | {:error, {code, message}} */
CORRAL_NIF(stmt_step)
{
    Stmt *stmt = corral_arg_resource(c, 0, Stmt);
    sqlite3 *db = sqlite3_db_handle(stmt->handle);
    lock_db(c, db);
    int rc = sqlite3_step(stmt->handle);
    if (rc == SQLITE_DONE) return corral_atom(&atoms, DONE);
    if (rc != SQLITE_ROW) return_sqlite_error(c, db, rc);
    int n = sqlite3_column_count(stmt->handle);
    ERL_NIF_TERM *cells = corral_alloc(c, (size_t)n * sizeof *cells);
    return enif_make_tuple2(c->env, corral_atom(&atoms, ROW), row(c, stmt->handle, cells, n));
}

/* Up to max rows of s, in order (*got of them), with the connection's
 * mutex held, cells room for a row (cells_for); at the end of the rows (or
 * an error) s is reset and *more set false. An error leaves the call
 * with {:error, {code, message}}, or raises it when `raising`. Leaves the
 * call with {:error, {code, message}} on an error. */
static ERL_NIF_TERM *cells_for(corral_call *c, sqlite3_stmt *s)
{
    return corral_alloc(c, ((size_t)sqlite3_column_count(s) + 1) * sizeof(ERL_NIF_TERM));
}

static ERL_NIF_TERM read_rows(corral_call *c, sqlite3_stmt *s, ERL_NIF_TERM *cells, int64_t max, bool *more, int64_t *got,
                              bool raising)
{
    sqlite3 *db = sqlite3_db_handle(s);
    int n = sqlite3_column_count(s);
    ERL_NIF_TERM rows = corral_make_empty_list(c);
    int rc = SQLITE_ROW;
    int64_t k = 0;
    for (; k < max && (rc = sqlite3_step(s)) == SQLITE_ROW; k++) rows = corral_make_list_cell(c, row(c, s, cells, n), rows);
    *more = rc == SQLITE_ROW;
    *got = k;
    if (!*more) {
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            /* A stream has no result to carry {:error, ...}: it raises. */
            if (raising)
                corral_raise(c, "SQLite error %d: %s", sqlite3_extended_errcode(db), sqlite3_errmsg(db));
            return_sqlite_error(c, db, rc);
        }
    }
    return corral_make_reverse_list(c, rows);
}

/* fetch_all(stmt) -> {:ok, [[value]]} | {:error, {code, message}}: steps
 * to the end and resets. A thread job: the caller's timeout interrupts it. */
CORRAL_THREAD_NIF(stmt_fetch_all)
{
    Stmt *stmt = corral_arg_resource(c, 0, Stmt);
    sqlite3 *db = sqlite3_db_handle(stmt->handle);
    corral_on_cancel(c, interrupt_db, db);
    lock_db(c, db);
    bool more;
    int64_t got;
    return corral_make_ok_tuple(c, read_rows(c, stmt->handle, cells_for(c, stmt->handle), INT64_MAX, &more, &got, false));
}

static void reset_stmt(void *s) { sqlite3_reset(s); }

/* rows(stmt, batch) -> {:ok, count}: sends the
 * rows to the caller as they are read, in lists of up to `batch` rows
 * (corral_emit), then resets the statement and returns how many it sent.
 * Read them with Corral.Job.stream(Sqlite.Native, rows_async(stmt, batch)).
 * The connection's mutex is held from the first row to the last, as by
 * any open cursor: the reader must not use the same connection while it
 * reads. A reader that stops early cancels the job: SQLite is interrupted,
 * corral_emit unwinds, and the cleanups reset the statement and free the
 * connection. Each batch is made in its own memory (corral_emit_begin),
 * so a result of any size uses one batch of memory here. An SQLite error
 * raises RuntimeError (a stream's reader sees the raise, not a result). */
CORRAL_THREAD_NIF(stmt_rows)
{
    Stmt *stmt = corral_arg_resource(c, 0, Stmt);
    int64_t batch = corral_arg_int_range(c, 1, 1, 100000);
    sqlite3 *db = sqlite3_db_handle(stmt->handle);
    corral_on_cancel(c, interrupt_db, db);
    lock_db(c, db);
    /* Registered after the lock, so it runs first: reset under the mutex,
     * also when the body unwinds in the middle of the rows. */
    corral_defer(c, reset_stmt, stmt->handle);
    ERL_NIF_TERM *cells = cells_for(c, stmt->handle);
    int64_t sent = 0;
    for (bool more = true; more;) {
        corral_emit_begin(c);
        int64_t got;
        ERL_NIF_TERM rows = read_rows(c, stmt->handle, cells, batch, &more, &got, true);
        if (got == 0) break; /* the rows ended at a batch boundary */
        corral_emit(c, rows);
        sent += got;
    }
    return corral_make_ok_tuple(c, corral_make_i64(c, sent));
}

/* fetch(stmt, max_rows, timeout) -> {:rows, [[value]]} | {:done, [[value]]} |
 * {:error, {code, message}}: up to max_rows rows; :done when the statement
 * has no row left (it is then reset). A dirty IO call: a chunk at a time
 * keeps the caller's heap small and lets it stream a large result. The
 * caller cannot time out inside a dirty call, so the call itself takes the
 * timeout (ms, or :infinity): SQLite is interrupted when it passes, or
 * when the caller dies. */
CORRAL_NIF(stmt_fetch)
{
    Stmt *stmt = corral_arg_resource(c, 0, Stmt);
    int64_t max = corral_arg_int_range(c, 1, 1, 1000000);
    ErlNifSInt64 ms;
    if (enif_get_int64(c->env, corral_arg(c, 2), &ms) && ms >= 0 && ms <= 86400000)
        corral_cancel_after(c, (uint32_t)ms);
    else if (!enif_is_identical(corral_arg(c, 2), corral_atom(&atoms, INFINITE)))
        corral_raise_arg(c, 2, "expected :infinity or a timeout in milliseconds (0..86400000)");
    sqlite3 *db = sqlite3_db_handle(stmt->handle);
    corral_on_cancel(c, interrupt_db, db);
    lock_db(c, db);
    bool more;
    int64_t got;
    ERL_NIF_TERM rows = read_rows(c, stmt->handle, cells_for(c, stmt->handle), max, &more, &got, false);
    report_memory(corral_resource_parent(Stmt, stmt));
    return enif_make_tuple2(c->env, corral_atom(&atoms, more ? ROWS : DONE), rows);
}

/* columns(stmt) -> [name] */
CORRAL_NIF(stmt_columns)
{
    Stmt *stmt = corral_arg_resource(c, 0, Stmt);
    int n = sqlite3_column_count(stmt->handle);
    ERL_NIF_TERM *names = corral_alloc(c, ((size_t)n + 1) * sizeof *names);
    for (int k = 0; k < n; k++) {
        const char *name = sqlite3_column_name(stmt->handle, k);
        if (name == NULL) corral_raise_oom(c, 0);
        names[k] = corral_make_string(c, name);
    }
    return corral_make_list(c, names, (size_t)n);
}

CORRAL_DOC("open", 1, "open(path :: String.t()) :: {:ok, reference()} | {:error, {integer(), String.t()}}",
           "Opens (or creates) the database at `path` (`\":memory:\"` for one in memory).");
CORRAL_DOC("close", 1, "close(db :: reference()) :: :ok",
           "Closes `db`, finalizing its statements first. Later uses of either raise.");
CORRAL_DOC("finalize", 1, "finalize(stmt :: reference()) :: :ok", "Finalizes `stmt` now; later uses raise.");
CORRAL_DOC("bind", 2, "bind(stmt :: reference(), values :: [integer() | float() | binary() | nil | {:blob, binary()}]) :: :ok",
           "Resets `stmt` and binds one value per parameter.");
CORRAL_DOC("execute_many", 2, "execute_many(stmt :: reference(), rows :: [[term()]]) :: :ok | {:error, {integer(), String.t()}}",
           "Binds each row of values in turn and runs `stmt` for it, in one call.");
CORRAL_DOC("step", 1, "step(stmt :: reference()) :: {:row, [term()]} | :done | {:error, {integer(), String.t()}}",
           "Runs `stmt` to its next row.");
CORRAL_DOC("fetch_all", 1, "fetch_all(stmt :: reference()) :: {:ok, [[term()]]} | {:error, {integer(), String.t()}}",
           "Every remaining row of `stmt`, then resets it; interrupted when the caller gives up.");
CORRAL_DOC("fetch", 3,
           "fetch(stmt :: reference(), max_rows :: pos_integer(), timeout :: timeout()) :: "
           "{:rows | :done, [[term()]]} | {:error, {integer(), String.t()}}",
           "Up to `max_rows` rows of `stmt`: `{:rows, rows}` while more may follow, `{:done, rows}` once none is left "
           "(`stmt` is then reset). SQLite is interrupted (`{:error, {9, \"interrupted\"}}`) once `timeout` "
           "milliseconds have passed, or when the caller dies.");
CORRAL_DOC("columns", 1, "columns(stmt :: reference()) :: [String.t()]", "The column names of `stmt`.");

CORRAL_MODULE(Sqlite.Native,
    CORRAL_FN_FLAGS("open", db_open, 1, CORRAL_DIRTY_IO),
    CORRAL_FN_FLAGS("close", db_close, 1, CORRAL_DIRTY_IO),
    CORRAL_EXPORT_THREAD(exec),
    CORRAL_EXPORT(changes),
    CORRAL_EXPORT_FLAGS(prepare, CORRAL_DIRTY_IO),
    CORRAL_FN_FLAGS("finalize", stmt_finalize, 1, CORRAL_DIRTY_IO),
    CORRAL_FN_FLAGS("bind", stmt_bind, 2, CORRAL_DIRTY_IO),
    CORRAL_FN_FLAGS("step", stmt_step, 1, CORRAL_DIRTY_IO),
    CORRAL_FN_FLAGS("execute_many", stmt_execute_many, 2, CORRAL_DIRTY_IO),
    CORRAL_FN_THREAD("fetch_all", stmt_fetch_all, 1),
    CORRAL_FN_THREAD("rows", stmt_rows, 2),
    CORRAL_FN_FLAGS("fetch", stmt_fetch, 3, CORRAL_DIRTY_IO),
    CORRAL_FN_FLAGS("columns", stmt_columns, 1, CORRAL_DIRTY_IO));
