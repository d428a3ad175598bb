defmodule SqliteMemoryTest do
  # Each connection reports its page cache (CORRAL_RESOURCE_REPORTS_MEMORY):
  # run alone, so that the totals are this test's.
  use ExUnit.Case, async: false
  alias Sqlite.Native, as: S

  defp reported, do: Corral.resource_memory(S)["Db"].reported

  test "a connection's page cache shows in resource_memory, and goes with its close" do
    before = reported()
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

    :ok = S.close(db)
    assert reported() == before
  end
end
