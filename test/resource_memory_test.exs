defmodule CorralTest.ResourceMemoryTest do
  # Memory per resource type (Corral.resource_memory/1): the bytes of the
  # live objects' allocations, which every type counts, and what the C code
  # reports for the wrapped library (CORRAL_RESOURCE_REPORTS_MEMORY), exact
  # after creates, growth, closes and collections, for plain, closable,
  # parent and child types and blocking destructors.
  use ExUnit.Case, async: false
  import CorralTest.Case, only: [eventually: 1]

  @tmp Path.expand("../_build/test/corral_tmp/resource_memory", __DIR__)

  @source """
  #include <corral.h>

  typedef struct { int64_t n; uint8_t bytes[]; } Plain;
  CORRAL_RESOURCE(Plain, NULL);

  /* A codec whose library holds buffers for it. */
  typedef struct { int64_t id; } Codec;
  CORRAL_CLOSABLE_RESOURCE(Codec, NULL);
  CORRAL_RESOURCE_REPORTS_MEMORY(Codec);

  /* A connection whose library holds memory for it; its statements too. */
  typedef struct { int64_t id; } Conn;
  CORRAL_CLOSABLE_RESOURCE(Conn, NULL);
  CORRAL_RESOURCE_REPORTS_MEMORY(Conn);

  typedef struct { int64_t id; char sql[40]; } Stmt;
  CORRAL_CLOSABLE_RESOURCE(Stmt, NULL);
  CORRAL_RESOURCE_PARENT(Stmt, Conn);
  CORRAL_RESOURCE_REPORTS_MEMORY(Stmt);

  /* Teardown that blocks: runs on Corral's pool, from a copy. */
  typedef struct { int64_t id; } Slow;
  static void slow_destroy(Slow *s) { (void)s; }
  CORRAL_RESOURCE(Slow, slow_destroy);
  CORRAL_RESOURCE_BLOCKING_DESTRUCTOR(Slow);
  CORRAL_RESOURCE_REPORTS_MEMORY(Slow);

  CORRAL_NIF(sizes)
  {
      ERL_NIF_TERM sizes[] = {corral_make_i64(c, sizeof(Plain)), corral_make_i64(c, sizeof(Conn)),
                              corral_make_i64(c, sizeof(Stmt)), corral_make_i64(c, sizeof(Codec))};
      return enif_make_tuple_from_array(c->env, sizes, 4);
  }

  CORRAL_NIF(plain_new) { return corral_make_resource(c, corral_resource_new(c, Plain, corral_arg_size(c, 0))); }
  CORRAL_NIF(conn_new) { return corral_make_resource(c, corral_resource_new(c, Conn, 0)); }
  CORRAL_NIF(codec_new) { return corral_make_resource(c, corral_resource_new(c, Codec, 0)); }

  CORRAL_NIF(codec_report)
  {
      corral_resource_report_memory(Codec, corral_arg_resource(c, 0, Codec), corral_arg_size(c, 1));
      return corral_make_ok(c);
  }

  CORRAL_NIF(codec_close) { return corral_make_bool(c, corral_resource_close(c, Codec, corral_arg_resource(c, 0, Codec))); }
  CORRAL_NIF(stmt_new)
  {
      return corral_make_resource(c, corral_resource_new_child(c, Stmt, corral_arg_resource(c, 0, Conn), 0));
  }
  CORRAL_NIF(slow_new)
  {
      Slow *s = corral_resource_new(c, Slow, 0);
      corral_resource_report_memory(Slow, s, corral_arg_size(c, 0));
      return corral_make_resource(c, s);
  }

  CORRAL_NIF(conn_report)
  {
      corral_resource_report_memory(Conn, corral_arg_resource(c, 0, Conn), corral_arg_size(c, 1));
      return corral_make_ok(c);
  }

  CORRAL_NIF(stmt_report)
  {
      corral_resource_report_memory(Stmt, corral_arg_resource(c, 0, Stmt), corral_arg_size(c, 1));
      return corral_make_ok(c);
  }

  /* A reference of the C code's own, as a thread of the user's holds one,
   * and a report through it after the object was closed. */
  static Codec *kept;

  CORRAL_NIF(codec_keep)
  {
      kept = corral_arg_resource(c, 0, Codec);
      corral_resource_keep(kept);
      return corral_make_ok(c);
  }

  CORRAL_NIF(report_kept)
  {
      corral_resource_report_memory(Codec, kept, corral_arg_size(c, 0));
      corral_resource_release(kept);
      kept = NULL;
      return corral_make_ok(c);
  }

  CORRAL_NIF(conn_close) { return corral_make_bool(c, corral_resource_close(c, Conn, corral_arg_resource(c, 0, Conn))); }

  /* Many reports on one object from a dirty scheduler: the last stands. */
  CORRAL_NIF(report_many)
  {
      Codec *k = corral_arg_resource(c, 0, Codec);
      int64_t n = corral_arg_i64(c, 1);
      for (int64_t i = 1; i <= n; i++) corral_resource_report_memory(Codec, k, (size_t)i);
      return corral_make_ok(c);
  }

  CORRAL_MODULE(MODULE_NAME,
                CORRAL_FN("sizes", sizes, 0),
                CORRAL_FN("plain_new", plain_new, 1),
                CORRAL_FN("conn_new", conn_new, 0),
                CORRAL_FN("stmt_new", stmt_new, 1),
                CORRAL_FN("slow_new", slow_new, 1),
                CORRAL_FN("conn_report", conn_report, 2),
                CORRAL_FN("stmt_report", stmt_report, 2),
                CORRAL_FN("codec_new", codec_new, 0),
                CORRAL_FN("codec_report", codec_report, 2),
                CORRAL_FN("codec_close", codec_close, 1),
                CORRAL_FN("codec_keep", codec_keep, 1),
                CORRAL_FN("report_kept", report_kept, 1),
                CORRAL_FN("conn_close", conn_close, 1),
                CORRAL_FN_FLAGS("report_many", report_many, 2, CORRAL_DIRTY_CPU));
  """

  @native CorralTest.Memory.Native

  setup_all do
    unless Code.ensure_loaded?(@native) do
      File.mkdir_p!(Path.join(@tmp, "native"))

      File.write!(
        Path.join([@tmp, "native", "memory.c"]),
        String.replace(@source, "MODULE_NAME", inspect(@native))
      )

      Code.compile_string("""
      defmodule #{inspect(@native)} do
        use Corral, otp_app: :corral, lib: "tmp_resource_memory", path: #{inspect(Path.join(@tmp, "native"))}, cflags: ["-Werror"]
      end
      """)
    end

    {:ok, n: @native}
  end

  # What the header documents an object takes: Corral's 16-byte header, the
  # struct and its extra bytes; with a tail (parent or child, or a type
  # that reports memory), the struct rounded up to 16, then the family
  # record, then the reported word.
  defp plain_bytes(n, extra), do: 16 + elem(n.sizes(), 0) + extra
  defp round16(n), do: div(n + 15, 16) * 16

  defp memory(type), do: Map.fetch!(Corral.resource_memory(@native), type)

  defp after_collection(fun) do
    # Objects made and dropped in a process of their own, which exits.
    task = Task.async(fun)
    Task.await(task, 60_000)
  end

  test "every type counts its objects' bytes, which go when the objects are collected", %{n: n} do
    base = memory("Plain")

    after_collection(fn ->
      objs = for extra <- [0, 10, 1000], do: n.plain_new(extra)
      now = memory("Plain")
      assert now.objects == base.objects + 3

      assert now.allocated ==
               base.allocated + plain_bytes(n, 0) + plain_bytes(n, 10) + plain_bytes(n, 1000)

      assert now.reported == 0 and now.bytes == now.allocated
      length(objs)
    end)

    assert eventually(fn -> memory("Plain") == base end)
  end

  test "reports are the whole amount, summed per type, taken off at close, and the rest at collection",
       %{n: n} do
    codec_size = elem(n.sizes(), 3)
    base = memory("Codec")

    after_collection(fn ->
      a = n.codec_new()
      b = n.codec_new()
      :ok = n.codec_keep(a)
      # A type that reports carries one word after its struct.
      one = 16 + round16(codec_size) + 8
      assert memory("Codec").allocated == base.allocated + 2 * one

      :ok = n.codec_report(a, 1000)
      :ok = n.codec_report(b, 300)
      assert memory("Codec").reported == base.reported + 1300
      # Growth and shrinking: the new total, not a change.
      :ok = n.codec_report(a, 5000)
      assert memory("Codec").reported == base.reported + 5300
      :ok = n.codec_report(a, 200)
      m = memory("Codec")
      assert m.reported == base.reported + 500
      assert m.bytes == m.allocated + m.reported

      # A close runs the destructor: the library's memory goes, the
      # object's own stays until it is collected.
      assert n.codec_close(a) == true
      m = memory("Codec")
      assert m.reported == base.reported + 300
      assert m.allocated == base.allocated + 2 * one
      assert m.objects == base.objects + 2
      # A report after the destructor ran is ignored.
      :ok = n.report_kept(77_777)
      assert memory("Codec").reported == base.reported + 300
      :ok
    end)

    # Collection takes off what b still reported.
    assert eventually(fn -> memory("Codec") == base end)
  end

  test "children that report, closed with their parent", %{n: n} do
    {_, conn_size, stmt_size, _} = n.sizes()
    base_conn = memory("Conn")
    base_stmt = memory("Stmt")

    after_collection(fn ->
      conn = n.conn_new()
      stmts = for _ <- 1..3, do: n.stmt_new(conn)
      for {s, i} <- Enum.with_index(stmts, 1), do: :ok = n.stmt_report(s, i * 100)
      :ok = n.conn_report(conn, 10_000)
      assert memory("Stmt").reported == base_stmt.reported + 600
      assert memory("Conn").reported == base_conn.reported + 10_000

      # Parent and child carry a family record before the reported word;
      # its size is whatever the two allocations differ by from the plain
      # formula, the same for both.
      family = memory("Stmt").allocated - base_stmt.allocated - 3 * (16 + round16(stmt_size) + 8)
      assert rem(family, 3) == 0 and family > 0

      assert memory("Conn").allocated - base_conn.allocated ==
               16 + round16(conn_size) + div(family, 3) + 8

      # Closing the parent closes the children first: every report goes.
      assert n.conn_close(conn) == true
      assert memory("Stmt").reported == base_stmt.reported
      assert memory("Conn").reported == base_conn.reported
      length(stmts)
    end)

    assert eventually(fn -> memory("Stmt") == base_stmt and memory("Conn") == base_conn end)
  end

  test "a blocking destructor's report goes when it is handed to the pool", %{n: n} do
    base = memory("Slow")

    after_collection(fn ->
      slows = for i <- 1..20, do: n.slow_new(i * 1000)
      assert memory("Slow").reported == base.reported + Enum.sum(for i <- 1..20, do: i * 1000)
      length(slows)
    end)

    assert eventually(fn -> memory("Slow") == base end)
  end

  test "reports from many processes at once add up", %{n: n} do
    base = memory("Codec")

    after_collection(fn ->
      conns = for _ <- 1..8, do: n.codec_new()

      conns
      |> Enum.map(&Task.async(fn -> n.report_many(&1, 20_000) end))
      |> Enum.each(&Task.await(&1, 60_000))

      assert memory("Codec").reported == base.reported + 8 * 20_000
      length(conns)
    end)

    assert eventually(fn -> memory("Codec") == base end)
  end

  test "live_resources counts the same objects", %{n: n} do
    live = Corral.live_resources(n)
    assert Map.new(Corral.resource_memory(n), fn {t, m} -> {t, m.objects} end) == live
    assert Map.has_key?(live, "Plain") and Map.has_key?(live, "corral_job")
  end

  test "a report for a type not declared to report memory does not build" do
    dir = Path.join(@tmp, "undeclared")
    File.mkdir_p!(dir)

    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    typedef struct { int64_t n; } Quiet;
    CORRAL_RESOURCE(Quiet, NULL);
    CORRAL_NIF(grow) { corral_resource_report_memory(Quiet, corral_arg_resource(c, 0, Quiet), 10); return corral_make_ok(c); }
    CORRAL_MODULE(CorralTest.Memory.Undeclared, CORRAL_FN("grow", grow, 1));
    """)

    output =
      ExUnit.CaptureIO.capture_io(:stderr, fn ->
        assert_raise Mix.Error, ~r/Corral could not compile/, fn ->
          Code.compile_string("""
          defmodule CorralTest.Memory.Undeclared do
            use Corral, otp_app: :corral, lib: "tmp_memory_undeclared", path: #{inspect(dir)}
          end
          """)
        end
      end)

    assert output =~ "Quiet__corral_reports_memory"
  end

  test "a module that does not use Corral" do
    assert_raise ArgumentError,
                 "Corral.resource_memory/1: argument 1: expected a module that uses Corral (or Corral.Functions), got: String",
                 fn -> Corral.resource_memory(String) end
  end
end
