defmodule Sqlite.Native do
  @moduledoc """
  SQLite through Corral: the system library (`libs: ["sqlite3"]`, found
  through pkg-config; on Debian: `apt-get install libsqlite3-dev`).

  A `Db` is a connection, a `Stmt` a prepared statement that belongs to its
  `Db`: a statement keeps its connection alive, and `close/1` of the
  connection finalizes its statements first. Calls that wait on SQLite run
  on a dirty IO scheduler; `exec/2` and `fetch_all/1` are thread jobs that
  the caller's timeout (`exec_async/2` with `Corral.Job.await/3`, or the
  module's `:job_timeout`) interrupts with `sqlite3_interrupt`. `rows/2`
  sends the rows in batches as it reads them, for a stream:
  `Corral.Job.stream(Sqlite.Native, rows_async(stmt, 1000))`, which stops
  the query when the reader stops.

  Errors that SQLite reports are `{:error, {code, message}}` (the extended
  result code and SQLite's message); mistakes of the caller (a term SQLite
  cannot bind, a closed handle) raise `ArgumentError`.
  """
  use Corral,
    otp_app: :sqlite_example,
    lib: "sqlite_nif",
    libs: ["sqlite3"],
    job_timeout: 60_000,
    # Read once, by the library's load hook: every connection waits up to
    # this long for another connection's lock before SQLITE_BUSY.
    load_data: %{busy_timeout: 5_000}
end
