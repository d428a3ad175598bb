defmodule SqliteMemoryTest do
  # Each connection reports its page cache (CORRAL_RESOURCE_REPORTS_MEMORY):
  # run alone, so that the totals are this test's.
  use ExUnit.Case, async: false
  alias Sqlite.Native, as: S

  defp reported, do: Corral.resource_memory(S)["Db"].reported

  test "a connection's page cache shows in resource_memory, and goes with its close" do
    # The connections of the tests that ran before (async, in processes
    # that have ended) go once their garbage is collected.
    for p <- Process.list(), do: :erlang.garbage_collect(p)
    assert wait_for(fn -> Corral.resource_memory(S)["Db"].objects == 0 end, 500)
    before = reported()
    assert before == 0
    {:ok, db} = S.open(":memory:")
    :ok = S.exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)")

    :ok =
      S.exec(db, """
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
      INSERT INTO t SELECT i, randomblob(1000) FROM n
      """)

    # 2000 rows of 1000 bytes live in the cache of an in-memory database.
    grown = reported()
    assert grown - before > 2_000_000

    {:ok, q} = S.prepare(db, "SELECT id FROM t")
    assert {:ok, rows} = S.fetch_all(q)
    assert length(rows) == 2000
    assert reported() >= grown

    # The close runs the destructor when the last call using the
    # connection has let go of it: a thread job (exec) may still be
    # finishing on Corral's pool after its reply came.
    :ok = S.close(db)
    assert wait_for(fn -> reported() == 0 end, 500)
  end

  # Up to 10 ms x tries.
  defp wait_for(fun, tries) do
    cond do
      fun.() -> true
      tries == 0 -> false
      true -> Process.sleep(10) && wait_for(fun, tries - 1)
    end
  end
end
