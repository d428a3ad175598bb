defmodule SqliteTest do
  use ExUnit.Case, async: true
  import Corral.Test
  alias Sqlite.Native, as: S

  defp open_memory do
    {:ok, db} = S.open(":memory:")
    db
  end

  defp table(db, rows) do
    :ok = S.exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)")
    {:ok, ins} = S.prepare(db, "INSERT INTO t (id, name, score, data) VALUES (?, ?, ?, ?)")
    :ok = S.exec(db, "BEGIN")
    for k <- 1..rows, do: (:ok = S.bind(ins, [k, "name #{k}", k / 2, {:blob, <<k::32>>}]); :done = S.step(ins))
    :ok = S.exec(db, "COMMIT")
    :ok = S.finalize(ins)
  end

  test "open, exec, prepare, bind, step and fetch_all" do
    db = open_memory()
    table(db, 3)
    {:ok, q} = S.prepare(db, "SELECT id, name, score, data, NULL FROM t WHERE id >= ? ORDER BY id")
    assert S.columns(q) == ["id", "name", "score", "data", "NULL"]
    :ok = S.bind(q, [2])
    assert S.step(q) == {:row, [2, "name 2", 1.0, <<2::32>>, nil]}
    assert S.step(q) == {:row, [3, "name 3", 1.5, <<3::32>>, nil]}
    assert S.step(q) == :done
    :ok = S.bind(q, [1])
    assert {:ok, [[1 | _], [2 | _], [3 | _]]} = S.fetch_all(q)
    # fetch_all resets: the same rows again.
    assert {:ok, rows} = S.fetch_all(q)
    assert length(rows) == 3
    :ok = S.exec(db, "UPDATE t SET score = 0")
    assert S.changes(db) == 3
  end

  test "fetch gives the rows in chunks, says when they end, and resets the statement then" do
    db = open_memory()
    table(db, 5)
    {:ok, q} = S.prepare(db, "SELECT id FROM t WHERE id >= ? ORDER BY id")
    :ok = S.bind(q, [2])
    assert S.fetch(q, 2, :infinity) == {:rows, [[2], [3]]}
    assert S.fetch(q, 2, :infinity) == {:rows, [[4], [5]]}
    # The last row was read, but only the next step finds the end.
    assert S.fetch(q, 2, :infinity) == {:done, []}
    # Reset at :done: the same rows again, with the same binding.
    assert S.fetch(q, 10, :infinity) == {:done, [[2], [3], [4], [5]]}
    assert S.fetch(q, 1_000_000, 5000) == {:done, [[2], [3], [4], [5]]}

    for bad <- [0, -1, 1_000_001, 1.5, :all] do
      assert_raise ArgumentError,
                   "Sqlite.Native.fetch/3: argument 2: expected an integer in 1..1000000, got: #{inspect(bad)}",
                   fn -> S.fetch(q, bad, :infinity) end
    end

    for bad <- [-1, 86_400_001, :never, 1.0] do
      assert_raise ArgumentError,
                   "Sqlite.Native.fetch/3: argument 3: expected :infinity or a timeout in milliseconds (0..86400000), got: #{inspect(bad)}",
                   fn -> S.fetch(q, 1, bad) end
    end

    # An error in the middle: the rows before it are lost with the call.
    {:ok, bad} = S.prepare(db, "SELECT CASE WHEN id < 4 THEN id ELSE abs(-9223372036854775807 - 1) END FROM t ORDER BY id")
    assert S.fetch(bad, 10, :infinity) == {:error, {1, "integer overflow"}}
    :ok = S.close(db)

    assert_raise ArgumentError, ~r/^Sqlite.Native.fetch\/3: argument 1: expected an open Stmt resource, got: a closed one/, fn ->
      S.fetch(q, 1, :infinity)
    end
  end

  test "execute_many runs a statement for each row in one call" do
    db = open_memory()
    :ok = S.exec(db, "CREATE TABLE m (k INTEGER PRIMARY KEY, v TEXT)")
    {:ok, ins} = S.prepare(db, "INSERT INTO m VALUES (?, ?)")
    assert S.execute_many(ins, for(k <- 1..1000, do: [k, "v#{k}"])) == :ok
    {:ok, q} = S.prepare(db, "SELECT count(*), max(v) FROM m")
    assert S.fetch_all(q) == {:ok, [[1000, "v999"]]}
    # A failing row stops the batch with SQLite's error; the rows before it stay.
    assert S.execute_many(ins, [[1001, "a"], [1, "dup"], [1002, "b"]]) == {:error, {1555, "UNIQUE constraint failed: m.k"}}
    assert S.fetch_all(q) == {:ok, [[1001, "v999"]]}

    assert_raise ArgumentError,
                 "Sqlite.Native.execute_many/2: argument 2, index 1: expected a list of 2 values (the statement's parameters), got: [3]",
                 fn -> S.execute_many(ins, [[2000, "x"], [3]]) end

    assert_raise ArgumentError,
                 "Sqlite.Native.execute_many/2: argument 2, index 0, index 1: expected an integer, a float, a binary, nil or {:blob, binary}, got: %{}",
                 fn -> S.execute_many(ins, [[3000, %{}]]) end
  end

  @tag :tmp_dir
  test "a writer waits for another connection's lock (the load data's busy_timeout)", %{tmp_dir: dir} do
    path = Path.join(dir, "busy.db")
    {:ok, a} = S.open(path)
    {:ok, b} = S.open(path)
    :ok = S.exec(a, "CREATE TABLE w (k INTEGER)")
    :ok = S.exec(a, "BEGIN IMMEDIATE; INSERT INTO w VALUES (1)")
    writer = Task.async(fn -> S.exec(b, "INSERT INTO w VALUES (2)") end)
    Process.sleep(300)
    :ok = S.exec(a, "COMMIT")
    # Without a busy timeout, b would get {:error, {5, "database is locked"}} at once.
    assert Task.await(writer, 10_000) == :ok
    {:ok, q} = S.prepare(a, "SELECT count(*) FROM w")
    assert S.fetch_all(q) == {:ok, [[2]]}
  end

  test "what SQLite refuses is {:error, {code, message}}" do
    db = open_memory()
    assert S.prepare(db, "SELEC 1") == {:error, {1, "near \"SELEC\": syntax error"}}
    assert S.exec(db, "SELECT * FROM missing") == {:error, {1, "no such table: missing"}}
    :ok = S.exec(db, "CREATE TABLE u (k INTEGER PRIMARY KEY)")
    {:ok, ins} = S.prepare(db, "INSERT INTO u VALUES (?)")
    :ok = S.bind(ins, [1])
    assert S.step(ins) == :done
    :ok = S.bind(ins, [1])
    # SQLITE_CONSTRAINT_PRIMARYKEY
    assert S.step(ins) == {:error, {1555, "UNIQUE constraint failed: u.k"}}
    assert {:error, {14, _}} = S.open("/nonexistent-dir/x.db")
  end

  test "caller mistakes raise ArgumentError naming the function and argument" do
    db = open_memory()
    {:ok, q} = S.prepare(db, "SELECT ?, ?")

    assert_raise ArgumentError,
                 "Sqlite.Native.bind/2: argument 2, index 1: expected an integer, a float, a binary, nil or {:blob, binary}, got: :x",
                 fn -> S.bind(q, [1, :x]) end

    assert_raise ArgumentError,
                 "Sqlite.Native.bind/2: argument 2: expected a list of 2 values (the statement's parameters), got: [1]",
                 fn -> S.bind(q, [1]) end

    assert_raise ArgumentError, ~r/^Sqlite.Native.step\/1: argument 1: expected a Stmt resource, got: a Db resource/, fn ->
      S.step(db)
    end

    assert_raise ArgumentError, "Sqlite.Native.open/1: argument 1: expected a string without NUL bytes (byte 1 is NUL), got: #{inspect("a\0b")}", fn ->
      S.open("a\0b")
    end
  end

  test "closing the database finalizes its statements first; both then raise" do
    db = open_memory()
    table(db, 2)
    {:ok, q} = S.prepare(db, "SELECT count(*) FROM t")
    assert S.close(db) == :ok

    assert_raise ArgumentError,
                 "Sqlite.Native.step/1: argument 1: expected an open Stmt resource, got: a closed one #{inspect(q)}",
                 fn -> S.step(q) end

    assert_raise ArgumentError, ~r/expected an open Db resource, got: a closed one/, fn -> S.prepare(db, "SELECT 1") end
  end

  test "a statement keeps its database alive after the last term of the database is gone" do
    q =
      Task.async(fn ->
        db = open_memory()
        table(db, 5)
        {:ok, q} = S.prepare(db, "SELECT count(*) FROM t")
        q
      end)
      |> Task.await()

    :erlang.garbage_collect()
    assert S.fetch_all(q) == {:ok, [[5]]}
  end

  test "rows streams a large result in batches, in order, and resets the statement" do
    db = open_memory()
    {:ok, q} = S.prepare(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) SELECT x, 'r' || x FROM c")
    stream = Corral.Job.stream(S, S.rows_async(q, 1000))
    batches = Enum.to_list(stream)
    assert length(batches) == 100
    assert Enum.all?(batches, &(length(&1) == 1000))
    rows = Enum.concat(batches)
    assert rows == for(x <- 1..100_000, do: [x, "r#{x}"])

    # A last short batch, and the count as the sync form's result.
    {:ok, q} = S.prepare(db, "SELECT x FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3) ORDER BY x")
    assert Corral.Job.stream(S, S.rows_async(q, 2)) |> Enum.to_list() == [[[1], [2]], [[3]]]
    assert S.rows(q, 2) == {:ok, 3}
    assert S.fetch_all(q) == {:ok, [[1], [2], [3]]}
  end

  test "a reader that stops early stops the query and frees the connection" do
    db = open_memory()
    # Endless: only the cancel ends it.
    {:ok, forever} = S.prepare(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c")
    first = Corral.Job.stream(S, S.rows_async(forever, 100)) |> Stream.concat() |> Enum.take(250)
    assert first == for(x <- 1..250, do: [x])
    # The stream held the connection's mutex; this returns once it is free.
    {:ok, one} = S.prepare(db, "SELECT 1")
    assert S.fetch_all(one) == {:ok, [[1]]}
    # The statement was reset: it starts again from the first row.
    assert Corral.Job.stream(S, S.rows_async(forever, 3)) |> Enum.take(1) == [[[1], [2], [3]]]
    refute_received {:corral_item, _, _}
  end

  test "an SQLite error in the middle of the rows is raised by the stream, after the rows before it" do
    db = open_memory()
    # abs() of the smallest integer overflows: SQLite fails at that row.
    {:ok, q} = S.prepare(db, "SELECT abs(x) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT -9223372036854775808)")

    assert_raise RuntimeError, "Sqlite.Native.rows/2: SQLite error 1: integer overflow", fn ->
      Corral.Job.stream(S, S.rows_async(q, 1)) |> Enum.each(&send(self(), {:batch, &1}))
    end

    assert_received {:batch, [[1]]}
    assert_received {:batch, [[2]]}
    refute_received {:batch, _}
    # The statement was reset: the rows again, from the first.
    assert_raise RuntimeError, fn -> S.rows(q, 10) end
    assert {:error, {1, "integer overflow"}} = S.fetch_all(q)
  end

  test "a long query is interrupted when its caller times out, and the connection is free again" do
    db = open_memory()
    # Counts for ever: only sqlite3_interrupt ends it.
    {:ok, forever} = S.prepare(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
    job = S.fetch_all_async(forever)
    assert_raise Corral.TimeoutError, fn -> Corral.Job.await(S, job, 200) end
    # The query held the connection's mutex; this returns only once the
    # interrupt has stopped it.
    {:ok, one} = S.prepare(db, "SELECT 1")
    assert S.fetch_all(one) == {:ok, [[1]]}

    # exec too, when the caller dies.
    caller = spawn(fn -> S.exec(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c") end)
    Process.sleep(100)
    Process.exit(caller, :kill)
    assert S.fetch_all(one) == {:ok, [[1]]}
  end

  test "a dirty fetch is interrupted at its timeout, or when its caller dies; the connection is free again" do
    db = open_memory()
    {:ok, forever} = S.prepare(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
    {us, result} = :timer.tc(fn -> S.fetch(forever, 1, 200) end)
    assert result == {:error, {9, "interrupted"}}
    assert us >= 200_000
    {:ok, one} = S.prepare(db, "SELECT 1")
    assert S.fetch(one, 10, 5_000) == {:done, [[1]]}

    # No timeout: the caller's death stops it. The next call waits for the
    # connection's mutex, which only the interrupt frees.
    caller = spawn(fn -> S.fetch(forever, 1, :infinity) end)
    Process.sleep(100)
    Process.exit(caller, :kill)
    next = Task.async(fn -> S.fetch(one, 10, :infinity) end)
    assert Task.await(next, 30_000) == {:done, [[1]]}
  end

  test "100 processes on one database" do
    db = open_memory()
    :ok = S.exec(db, "CREATE TABLE n (p INTEGER, k INTEGER)")

    1..100
    |> Enum.map(fn p ->
      Task.async(fn ->
        {:ok, ins} = S.prepare(db, "INSERT INTO n VALUES (?, ?)")
        for k <- 1..20, do: (:ok = S.bind(ins, [p, k]); :done = S.step(ins))
        {:ok, q} = S.prepare(db, "SELECT count(*) FROM n WHERE p = ?")
        :ok = S.bind(q, [p])
        S.fetch_all(q)
      end)
    end)
    |> Enum.each(fn t -> assert Task.await(t, 60_000) == {:ok, [[20]]} end)

    {:ok, all} = S.prepare(db, "SELECT count(*) FROM n")
    assert S.fetch_all(all) == {:ok, [[2000]]}
  end

  test "racing a close of the database against 50 processes using statements: no wrong result" do
    db = open_memory()
    table(db, 10)

    tasks =
      for _ <- 1..50 do
        Task.async(fn ->
          for _ <- 1..20 do
            try do
              {:ok, q} = S.prepare(db, "SELECT count(*) FROM t")
              {:ok, [[10]]} = S.fetch_all(q)
              :ok
            rescue
              e in ArgumentError -> if e.message =~ "closed", do: :closed, else: reraise(e, __STACKTRACE__)
            end
          end
        end)
      end

    Process.sleep(5)
    assert S.close(db) == :ok
    outcomes = Enum.flat_map(tasks, &Task.await(&1, 60_000))
    assert Enum.all?(outcomes, &(&1 in [:ok, :closed]))
  end

  test "no handle outlives its terms" do
    assert_no_leaks(S, fn ->
      for _ <- 1..20 do
        db = open_memory()
        table(db, 3)
        {:ok, q} = S.prepare(db, "SELECT * FROM t")
        {:ok, _} = S.fetch_all(q)
        if rem(:erlang.unique_integer([:positive]), 2) == 0, do: S.close(db)
      end
    end)
  end
end
