# What a call costs on each way of running it, and a real C library
# (examples/sqlite) against its own command-line tool:
# `MIX_ENV=prod mix run lifecycle.exs` (part of `make bench`).
#
# Every figure is wall time (a dirty or thread-pool call leaves the
# caller's scheduler idle, so its CPU time says nothing), the median of
# interleaved rounds with min..max; ratios are per round, against the
# hand-written erl_nif C of the same scheduling, or against the sqlite3
# tool on the same database file.
#
# Environment: BENCH_ROUNDS (default 11), BENCH_SCALE (default 1.0).

rounds = String.to_integer(System.get_env("BENCH_ROUNDS", "11"))
scale = String.to_float(System.get_env("BENCH_SCALE", "1.0"))
n = fn count -> max(round(count * scale), 1) end

IO.puts("Corral lifecycle benchmarks")

IO.puts(
  "#{:erlang.system_info(:system_architecture)}, OTP #{System.otp_release()}, Elixir #{System.version()}, " <>
    "#{:erlang.system_info(:schedulers_online)} schedulers, #{:erlang.system_info(:dirty_cpu_schedulers)} dirty CPU, " <>
    "#{:erlang.system_info(:dirty_io_schedulers)} dirty IO, #{rounds} rounds"
)

Bench.Handwritten.Build.load!()

defmodule Lifecycle.Bench do
  # ns per operation of fun.(count) (which makes count operations).
  def time(fun, count) do
    t0 = System.monotonic_time(:nanosecond)
    fun.(count)
    (System.monotonic_time(:nanosecond) - t0) / count
  end

  def loop(_m, _f, 0), do: :ok

  def loop(m, f, k) do
    3 = apply(m, f, [1, 2])
    loop(m, f, k - 1)
  end

  def median(xs), do: xs |> Enum.sort() |> Enum.at(div(length(xs), 2))

  def spread(xs), do: {Enum.min(xs), Enum.max(xs)}

  def fmt(x) when x >= 100, do: :erlang.float_to_binary(x / 1, decimals: 0)
  def fmt(x) when x >= 10, do: :erlang.float_to_binary(x / 1, decimals: 1)
  def fmt(x), do: :erlang.float_to_binary(x / 1, decimals: 2)

  # Runs the variants interleaved, round after round: %{label => [value]}.
  def rounds(variants, rounds) do
    Enum.reduce(1..rounds, %{}, fn _, acc ->
      Enum.reduce(variants, acc, fn {label, fun}, acc -> Map.update(acc, label, [fun.()], &[fun.() | &1]) end)
    end)
    |> Map.new(fn {k, v} -> {k, Enum.reverse(v)} end)
  end

  # Table rows for Bench.Figures: the variant, its median (min..max) and
  # the median (min..max) of its per-round ratio to ref.
  def rows(results, order, unit, ref) do
    for label <- order do
      xs = results[label]
      {lo, hi} = spread(xs)
      ratio = Enum.zip_with(xs, results[ref], &(&1 / &2))
      {rlo, rhi} = spread(ratio)
      [label, "#{fmt(median(xs))}#{if unit != "", do: " " <> unit} (#{fmt(lo)}..#{fmt(hi)})", "#{fmt(median(ratio))}x (#{fmt(rlo)}x..#{fmt(rhi)}x)"]
    end
  end

  # Rows with their labels as the docs show them.
  def relabel(rows, shown), do: Enum.map(rows, fn [label | cells] -> [Map.fetch!(shown, label) | cells] end)

  # Prints each variant: median, min..max and, if ref is given, the median
  # and min..max of its per-round ratio to ref.
  def report(results, order, unit, ref \\ nil) do
    for label <- order do
      xs = results[label]
      {lo, hi} = spread(xs)
      line = "  #{String.pad_trailing(label, 46)} #{String.pad_leading(fmt(median(xs)), 9)} #{unit}  (#{fmt(lo)}..#{fmt(hi)})"

      line =
        if ref && label != ref do
          ratios = Enum.zip_with(xs, results[ref], &(&1 / &2))
          {rlo, rhi} = spread(ratios)
          line <> "  #{fmt(median(ratios))}x (#{fmt(rlo)}..#{fmt(rhi)})"
        else
          line
        end

      IO.puts(line)
    end
  end
end

alias Lifecycle.Bench, as: B
alias Bench.Handwritten, as: H
alias Bench.CorralNative, as: C

# --- what a call costs, per way of running it --------------------------------

3 = C.add_dirty_cpu(1, 2)
3 = C.add_dirty_io(1, 2)
3 = C.add_thread(1, 2)
3 = C.add_moved(1, 2)
3 = H.add_dirty_cpu(1, 2)

n_normal = n.(1_000_000)
n_dirty = n.(100_000)
n_thread = n.(50_000)

calls = [
  {"normal: handwritten C", fn -> B.time(&B.loop(H, :add, &1), n_normal) end},
  {"normal: Corral", fn -> B.time(&B.loop(C, :add, &1), n_normal) end},
  {"dirty CPU: handwritten C", fn -> B.time(&B.loop(H, :add_dirty_cpu, &1), n_dirty) end},
  {"dirty CPU: Corral", fn -> B.time(&B.loop(C, :add_dirty_cpu, &1), n_dirty) end},
  {"dirty IO: handwritten C", fn -> B.time(&B.loop(H, :add_dirty_io, &1), n_dirty) end},
  {"dirty IO: Corral", fn -> B.time(&B.loop(C, :add_dirty_io, &1), n_dirty) end},
  {"moved to dirty CPU (corral_schedule_dirty)", fn -> B.time(&B.loop(C, :add_moved, &1), n_dirty) end},
  {"thread job (CORRAL_FN_THREAD)", fn -> B.time(&B.loop(C, :add_thread, &1), n_thread) end}
]

IO.puts("\nOne call of add(1, 2), ns (wall time per call in a loop of calls):")
results = B.rounds(calls, rounds)
B.report(results, ["normal: handwritten C", "normal: Corral"], "ns", "normal: handwritten C")
B.report(results, ["dirty CPU: handwritten C", "dirty CPU: Corral"], "ns", "dirty CPU: handwritten C")
B.report(results, ["dirty IO: handwritten C", "dirty IO: Corral"], "ns", "dirty IO: handwritten C")

B.report(
  results,
  ["dirty CPU: handwritten C", "moved to dirty CPU (corral_schedule_dirty)", "thread job (CORRAL_FN_THREAD)"],
  "ns",
  "dirty CPU: handwritten C"
)

Bench.Figures.write(
  "dispatch",
  "lifecycle.exs",
  "one call of add(1, 2) run each way, wall time per call in a loop of calls (median and min..max of #{rounds} " <>
    "interleaved rounds), and its per-round ratio to hand-written erl_nif C run the same way (dirty: to a dirty CPU call)",
  ["how the call runs", "one call", "vs hand-written C"],
  (B.rows(results, ["normal: Corral"], "ns", "normal: handwritten C") ++
     B.rows(results, ["dirty CPU: Corral"], "ns", "dirty CPU: handwritten C") ++
     B.rows(results, ["dirty IO: Corral"], "ns", "dirty IO: handwritten C") ++
     B.rows(results, ["moved to dirty CPU (corral_schedule_dirty)", "thread job (CORRAL_FN_THREAD)"], "ns", "dirty CPU: handwritten C"))
  |> B.relabel(%{
      "normal: Corral" => "normal scheduler (`CORRAL_FN`)",
      "dirty CPU: Corral" => "dirty CPU scheduler (`CORRAL_DIRTY_CPU`)",
      "dirty IO: Corral" => "dirty IO scheduler (`CORRAL_DIRTY_IO`)",
      "moved to dirty CPU (corral_schedule_dirty)" => "normal, moved with `corral_schedule_dirty` (ratio: to a dirty CPU call)",
      "thread job (CORRAL_FN_THREAD)" => "thread job, `CORRAL_FN_THREAD` (ratio: to a dirty CPU call)"
  })
)

# --- SQLite: examples/sqlite against the sqlite3 tool ----------------------------

alias Sqlite.Native, as: S
sqlite3 = System.find_executable("sqlite3") || raise "the sqlite3 tool is missing (make bench installs it)"
rows = n.(1_000_000)
dir = Path.join(System.tmp_dir!(), "corral-bench-sqlite-#{System.unique_integer([:positive])}")
File.mkdir_p!(dir)
file = Path.join(dir, "bench.db")

{_, 0} =
  System.cmd(sqlite3, [
    file,
    "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL); " <>
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT #{rows}) " <>
      "INSERT INTO t SELECT x, 'name ' || x, x / 2.0 FROM c;"
  ])

select = "SELECT id, name, score FROM t"

cli = fn sql_or_script ->
  t0 = System.monotonic_time(:nanosecond)
  {_, 0} = System.cmd("sh", ["-c", ~s|"$0" "$1" < "$2" > /dev/null|, sqlite3, file, sql_or_script])
  System.monotonic_time(:nanosecond) - t0
end

select_file = Path.join(dir, "select.sql")
File.write!(select_file, select <> ";\n")

fetch_all = fn ->
  t0 = System.monotonic_time(:nanosecond)
  {:ok, db} = S.open(file)
  {:ok, q} = S.prepare(db, select)
  {:ok, got} = S.fetch_all(q)
  :ok = S.close(db)
  ns = System.monotonic_time(:nanosecond) - t0
  ^rows = length(got)
  ns
end

# The same rows streamed: fetch/3 in chunks of 10,000 on a dirty IO
# scheduler, each chunk counted and dropped (as the tool drops each row
# once written), so the caller's heap stays small.
chunk = 10_000

fetch_chunks = fn ->
  t0 = System.monotonic_time(:nanosecond)
  {:ok, db} = S.open(file)
  {:ok, q} = S.prepare(db, select)

  count =
    Stream.unfold(:more, fn
      :stop -> nil
      :more ->
        case S.fetch(q, chunk, :infinity) do
          {:rows, got} -> {length(got), :more}
          {:done, got} -> {length(got), :stop}
        end
    end)
    |> Enum.sum()

  :ok = S.close(db)
  ns = System.monotonic_time(:nanosecond) - t0
  ^rows = count
  ns
end

# Rows read one call at a time (step), on a tenth of the rows.
step_rows = max(div(rows, 10), 1)

step_all = fn ->
  {:ok, db} = S.open(file)
  {:ok, q} = S.prepare(db, select <> " LIMIT #{step_rows}")
  t0 = System.monotonic_time(:nanosecond)
  count = Stream.repeatedly(fn -> S.step(q) end) |> Enum.take_while(&(&1 != :done)) |> length()
  ns = System.monotonic_time(:nanosecond) - t0
  ^step_rows = count
  :ok = S.close(db)
  ns
end

per_sec = fn ns, count -> count / (ns / 1.0e9) end

IO.puts("\nSQLite #{:os.cmd(~c"sqlite3 --version") |> List.to_string() |> String.split() |> hd()}: a #{rows}-row table (id, name, score) in a file, rows per second:")

sel =
  B.rounds(
    [
      {"sqlite3 tool: SELECT to /dev/null", fn -> per_sec.(cli.(select_file), rows) end},
      {"Corral: open, prepare, fetch_all, close", fn -> per_sec.(fetch_all.(), rows) end},
      {"Corral: fetch in chunks of #{chunk}, dropped", fn -> per_sec.(fetch_chunks.(), rows) end},
      {"Corral: step per row (#{step_rows} rows)", fn -> per_sec.(step_all.(), step_rows) end}
    ],
    max(div(rounds, 2), 3)
  )

B.report(
  sel,
  ["sqlite3 tool: SELECT to /dev/null", "Corral: open, prepare, fetch_all, close", "Corral: fetch in chunks of #{chunk}, dropped",
   "Corral: step per row (#{step_rows} rows)"],
  "rows/s",
  "sqlite3 tool: SELECT to /dev/null"
)

IO.puts("  (a ratio above 1 is more rows per second than the tool; the tool also formats every row as text)")

sqlite_version = :os.cmd(~c"sqlite3 --version") |> List.to_string() |> String.split() |> hd()

Bench.Figures.write(
  "sqlite-read",
  "lifecycle.exs",
  "SQLite #{sqlite_version}, reading a #{rows}-row table (integer, text, real) in a file: rows per second, median and " <>
    "min..max of #{max(div(rounds, 2), 3)} rounds, and the per-round ratio to the sqlite3 tool",
  ["reading all rows", "rows per second", "vs the tool"],
  B.rows(
    sel,
    ["sqlite3 tool: SELECT to /dev/null", "Corral: open, prepare, fetch_all, close", "Corral: fetch in chunks of #{chunk}, dropped",
     "Corral: step per row (#{step_rows} rows)"],
    "",
    "sqlite3 tool: SELECT to /dev/null"
  )
  |> B.relabel(%{
      "sqlite3 tool: SELECT to /dev/null" => "`sqlite3` tool, `SELECT` to `/dev/null`",
      "Corral: open, prepare, fetch_all, close" => "`fetch_all/1` (open, prepare, fetch, close)",
      "Corral: fetch in chunks of #{chunk}, dropped" => "`fetch/3` in chunks of #{chunk}, each dropped",
      "Corral: step per row (#{step_rows} rows)" => "`step/1`, one call per row (#{step_rows} rows)"
  })
)

# Inserts, one row per statement, in one transaction.
ins_rows = n.(100_000)
ins_file = Path.join(dir, "insert.sql")

File.write!(
  ins_file,
  ["DROP TABLE IF EXISTS u; CREATE TABLE u (id INTEGER, name TEXT); BEGIN;\n"] ++
    for(k <- 1..ins_rows, do: "INSERT INTO u VALUES (#{k}, 'name #{k}');\n") ++ ["COMMIT;\n"]
)

insert_rows = fn ->
  {:ok, db} = S.open(file)
  :ok = S.exec(db, "DROP TABLE IF EXISTS u; CREATE TABLE u (id INTEGER, name TEXT)")
  {:ok, ins} = S.prepare(db, "INSERT INTO u VALUES (?, ?)")
  t0 = System.monotonic_time(:nanosecond)
  :ok = S.exec(db, "BEGIN")
  for k <- 1..ins_rows, do: (:ok = S.bind(ins, [k, "name #{k}"]); :done = S.step(ins))
  :ok = S.exec(db, "COMMIT")
  ns = System.monotonic_time(:nanosecond) - t0
  :ok = S.close(db)
  ns
end

insert_many = fn ->
  {:ok, db} = S.open(file)
  :ok = S.exec(db, "DROP TABLE IF EXISTS u; CREATE TABLE u (id INTEGER, name TEXT)")
  {:ok, ins} = S.prepare(db, "INSERT INTO u VALUES (?, ?)")
  batch = for k <- 1..ins_rows, do: [k, "name #{k}"]
  t0 = System.monotonic_time(:nanosecond)
  :ok = S.exec(db, "BEGIN")
  :ok = S.execute_many(ins, batch)
  :ok = S.exec(db, "COMMIT")
  ns = System.monotonic_time(:nanosecond) - t0
  :ok = S.close(db)
  ns
end

IO.puts("\nInserting #{ins_rows} rows one statement each, in one transaction, rows per second:")

ins =
  B.rounds(
    [
      {"sqlite3 tool: a script of INSERT statements", fn -> per_sec.(cli.(ins_file), ins_rows) end},
      {"Corral: bind + step per row (dirty IO)", fn -> per_sec.(insert_rows.(), ins_rows) end},
      {"Corral: execute_many, all rows in one call", fn -> per_sec.(insert_many.(), ins_rows) end}
    ],
    max(div(rounds, 2), 3)
  )

B.report(
  ins,
  ["sqlite3 tool: a script of INSERT statements", "Corral: bind + step per row (dirty IO)", "Corral: execute_many, all rows in one call"],
  "rows/s",
  "sqlite3 tool: a script of INSERT statements")

Bench.Figures.write(
  "sqlite-insert",
  "lifecycle.exs",
  "SQLite #{sqlite_version}, inserting #{ins_rows} rows one statement each in one transaction: rows per second, median " <>
    "and min..max of #{max(div(rounds, 2), 3)} rounds, and the per-round ratio to the sqlite3 tool",
  ["inserting rows", "rows per second", "vs the tool"],
  B.rows(
    ins,
    ["sqlite3 tool: a script of INSERT statements", "Corral: bind + step per row (dirty IO)", "Corral: execute_many, all rows in one call"],
    "",
    "sqlite3 tool: a script of INSERT statements"
  )
  |> B.relabel(%{
      "sqlite3 tool: a script of INSERT statements" => "`sqlite3` tool, a script of `INSERT` statements",
      "Corral: bind + step per row (dirty IO)" => "`bind/2` + `step/1` per row (two dirty calls)",
      "Corral: execute_many, all rows in one call" => "`execute_many/2`, all rows in one call"
  })
)

File.rm_rf!(dir)
