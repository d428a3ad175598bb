defmodule CorralTest.LifecycleTest do
  # The lifecycle of a wrapped C library (corral.h, "Resources" and "Thread
  # jobs"): handles that own handles, destructors that may block, calls
  # that a cancel interrupts. The event log is global: one test at a time.
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  setup do
    gc_all()
    N.lifecycle_events()
    :ok
  end

  # Waits until the log holds `count` events, then returns them all.
  defp events_after(count) do
    Enum.reduce_while(1..500, [], fn _, seen ->
      seen = seen ++ N.lifecycle_events()

      if length(seen) >= count do
        {:halt, seen}
      else
        gc_all()
        Process.sleep(10)
        {:cont, seen}
      end
    end)
  end

  defp before?(events, a, b) do
    ia = Enum.find_index(events, &(&1 == a))
    ib = Enum.find_index(events, &(&1 == b))
    ia != nil and ib != nil and ia < ib
  end

  defp live(type), do: Map.get(Corral.live_resources(N), type, 0)

  describe "parents and children" do
    test "a child keeps its parent alive and reaches it" do
      # The conn's only term dies with the task that made it.
      cur = Task.async(fn -> N.cursor_open(N.conn_open(1), 10) end) |> Task.await()
      gc_all()
      assert N.cursor_read(cur) == {1, 10}
      assert N.lifecycle_events() == []
      row = N.row_open(cur, 100)
      assert N.row_read(row) == {1, 10, 100}
    end

    test "when the last child is collected, the parent's destructor runs after the child's" do
      Task.async(fn ->
        conn = N.conn_open(2)
        cur = N.cursor_open(conn, 20)
        N.row_open(cur, 200)
        :ok
      end)
      |> Task.await()

      assert events_after(3) == ["destroy row 200", "destroy cursor 20", "destroy conn 2"]
    end

    test "closing a parent closes its children first, at any depth; later uses raise" do
      conn = N.conn_open(3)
      a = N.cursor_open(conn, 30)
      b = N.cursor_open(conn, 31)
      row = N.row_open(a, 300)
      assert N.conn_close(conn) == true
      events = N.lifecycle_events()

      assert Enum.sort(events) ==
               Enum.sort(["destroy row 300", "destroy cursor 30", "destroy cursor 31", "destroy conn 3"])

      assert before?(events, "destroy row 300", "destroy cursor 30")
      assert before?(events, "destroy cursor 30", "destroy conn 3")
      assert before?(events, "destroy cursor 31", "destroy conn 3")

      assert_raise ArgumentError,
                   "CorralTest.Native.cursor_read/1: argument 1: expected an open Cursor resource, got: a closed one #{inspect(b)}",
                   fn -> N.cursor_read(b) end

      assert_raise ArgumentError,
                   "CorralTest.Native.row_read/1: argument 1: expected an open Row resource, got: a closed one #{inspect(row)}",
                   fn -> N.row_read(row) end

      assert_raise ArgumentError,
                   "CorralTest.Native.cursor_open/2: argument 1: expected an open Conn resource, got: a closed one #{inspect(conn)}",
                   fn -> N.cursor_open(conn, 32) end

      # Nothing runs twice when the terms are collected.
      gc_all()
      assert N.lifecycle_events() == []
    end

    test "closing a child alone leaves its parent and siblings open" do
      conn = N.conn_open(4)
      a = N.cursor_open(conn, 40)
      b = N.cursor_open(conn, 41)
      assert N.cursor_close(a) == true
      assert N.lifecycle_events() == ["destroy cursor 40"]
      assert N.cursor_read(b) == {4, 41}
      assert N.conn_close(conn) == true
      assert N.lifecycle_events() == ["destroy cursor 41", "destroy conn 4"]
    end

    test "a parent closed while a call uses its child waits for that call" do
      conn = N.conn_open(5)
      cur = N.cursor_open(conn, 50)
      reader = Task.async(fn -> N.cursor_read_slowly(cur, 300) end)
      Process.sleep(50)
      assert N.conn_close(conn) == true
      # The cursor is in use: its destructor, and so the conn's, wait.
      assert N.lifecycle_events() == []
      assert Task.await(reader) == {5, 50}
      assert events_after(2) == ["destroy cursor 50", "destroy conn 5"]
    end

    test "a child cannot be made of a closed parent" do
      conn = N.conn_open(6)

      assert_raise ArgumentError,
                   "CorralTest.Native.cursor_open_after_close/1: cannot make a Cursor: its Conn is closed",
                   fn -> N.cursor_open_after_close(conn) end

      assert N.lifecycle_events() == ["destroy conn 6"]
    end

    test "a child made by a call that raises gives its parent back" do
      cursors = live("Cursor")
      conn = N.conn_open(7)

      assert_raise RuntimeError, "CorralTest.Native.cursor_open_then_raise/1: failed after making a cursor", fn ->
        N.cursor_open_then_raise(conn)
      end

      # The VM may run the destructor of the dropped object a little later.
      assert eventually(fn -> live("Cursor") == cursors end)
      # No destructor for the child that was never handed out; the conn's
      # runs at once, as no child holds it.
      assert N.conn_close(conn) == true
      assert N.lifecycle_events() == ["destroy conn 7"]
    end

    test "100 processes using children while the parent closes: no wrong result, every destructor once" do
      conns = live("Conn")
      cursors = live("Cursor")
      conn = N.conn_open(8)
      parent = self()

      workers =
        for w <- 1..100 do
          spawn_link(fn ->
            outcomes =
              for i <- 1..40 do
                try do
                  cur = N.cursor_open(conn, w * 1000 + i)

                  # Made: its destructor runs once, also when the parent's
                  # close comes before the read.
                  try do
                    {8, _} = N.cursor_read(cur)
                    if rem(i, 2) == 0, do: N.cursor_close(cur)
                    :ok
                  rescue
                    e in ArgumentError ->
                      true = e.message =~ ~r/closed/
                      :made_then_closed
                  end
                rescue
                  e in ArgumentError ->
                    true = e.message =~ ~r/closed/
                    :closed
                end
              end

            send(parent, {self(), outcomes})
          end)
        end

      Process.sleep(5)
      assert N.conn_close(conn) == true

      outcomes =
        Enum.flat_map(workers, fn w ->
          receive do
            {^w, o} -> o
          after
            30_000 -> flunk("a worker did not finish")
          end
        end)

      assert length(outcomes) == 4000
      assert Enum.all?(outcomes, &(&1 in [:ok, :made_then_closed, :closed]))
      made = Enum.count(outcomes, &(&1 in [:ok, :made_then_closed]))
      events = events_after(made + 1)
      assert List.last(events) == "destroy conn 8"
      assert Enum.count(events, &String.starts_with?(&1, "destroy cursor ")) == made
      refute Enum.any?(events, &(&1 =~ "after its"))
      assert eventually(fn -> live("Conn") == conns and live("Cursor") == cursors end)
    end

    test "children collected while their parent closes are destroyed exactly once" do
      # (At most 4,096 events wait in the log: 15 rounds of 200 fit.)
      # The parent's close walks its children without holding references;
      # the children's own destructors run at the same moment, as the
      # processes holding them exit.
      cursors = live("Cursor")

      made =
        for round <- 1..15, reduce: 0 do
          made ->
            conn = N.conn_open(round)
            parent = self()

            holders =
              for h <- 1..20 do
                spawn(fn ->
                  for k <- 1..10, do: N.cursor_open(conn, round * 1000 + h * 10 + k)
                  send(parent, :made)

                  receive do
                    :exit -> :ok
                  end
                end)
              end

            for _ <- holders, do: assert_receive(:made, 10_000)
            for h <- holders, do: send(h, :exit)
            assert N.conn_close(conn) == true
            made + 200
        end

      events = events_after(made + 15)
      assert Enum.count(events, &String.starts_with?(&1, "destroy cursor ")) == made
      assert Enum.count(events, &String.starts_with?(&1, "destroy conn ")) == 15
      assert length(events) == made + 15
      refute Enum.any?(events, &(&1 =~ "after its"))
      assert eventually(fn -> live("Cursor") == cursors end)
    end
  end

  test "a child collected while its parent's close is in its destructor is freed after it" do
    # The close walks the conn's children without references and runs
    # the cursor's destructor (300 ms, on a dirty scheduler); meanwhile the
    # cursor's only holder exits. Its memory must outlive the destructor,
    # which writes to it at the end (under ASan a write to freed memory
    # aborts the VM).
    cursors = live("Cursor")
    conn = N.conn_open(7)
    parent = self()

    holder =
      spawn(fn ->
        cur = N.cursor_open_slow(conn, 300, 300)
        send(parent, :made)

        receive do
          :exit -> N.cursor_read(cur)
        end
      end)

    assert_receive :made, 10_000
    closer = Task.async(fn -> N.conn_close_dirty(conn) end)
    # (Polled without gc_all, which would wait for the close to return.)
    began =
      Enum.find_value(1..5000, fn _ ->
        Process.sleep(1)
        if (events = N.lifecycle_events()) != [], do: events
      end)

    assert began == ["destroy cursor begins 300"]
    ref = Process.monitor(holder)
    Process.exit(holder, :kill)
    assert_receive {:DOWN, ^ref, :process, ^holder, :killed}, 10_000
    assert Task.await(closer, 10_000) == true
    assert events_after(2) == ["destroy cursor 300", "destroy conn 7"]
    assert eventually(fn -> live("Cursor") == cursors end)
  end

  describe "destructors that may block" do
    test "a collected object's destructor runs off the schedulers, without a long schedule" do
      :erlang.system_monitor(self(), [{:long_schedule, 150}])

      holder =
        spawn(fn ->
          N.sleeper_new(1, 400)
          :erlang.garbage_collect()

          receive do
            :stop -> :ok
          end
        end)

      assert events_after(1) == ["sleeper destroyed off the schedulers 1"]
      send(holder, :stop)
      :erlang.system_monitor(:undefined)
      {:messages, messages} = :erlang.process_info(self(), :messages)
      assert for({:monitor, ^holder, :long_schedule, info} <- messages, do: info) == []
    end

    test "a close on a normal scheduler hands the destructor to the pool; a dirty close runs it in place" do
      s = N.sleeper_new(2, 200)
      assert N.sleeper_close(s) == true
      assert events_after(1) == ["sleeper destroyed off the schedulers 2"]
      assert_raise ArgumentError, fn -> N.sleeper_close_dirty(s) end

      d = N.sleeper_new(3, 10)
      assert N.sleeper_close_dirty(d) == true
      assert N.lifecycle_events() == ["sleeper destroyed on a dirty scheduler 3"]
      gc_all()
      assert N.lifecycle_events() == []
    end

    test "a blocking child's destructor, run on the pool, still precedes its parent's" do
      conn = N.conn_open(9)
      N.slow_open(conn, 90)
      assert N.conn_close(conn) == true
      assert events_after(2) == ["destroy slow 90", "destroy conn 9"]
    end
  end

  describe "interrupting a blocked thread job" do
    test "a cancel calls the interrupt while the body is blocked" do
      job = N.block_until_interrupted_async(1, 30_000)
      Process.sleep(100)
      assert Corral.Job.cancel(N, job) == true
      assert events_after(1) == ["interrupted 1"]
      assert Corral.Job.cancel(N, job) == false
    end

    test "a caller's timeout interrupts the job" do
      assert_raise Corral.TimeoutError, fn -> N.block_until_interrupted(2, 30_000) end
      assert events_after(1) == ["interrupted 2"]
    end

    test "a caller's death interrupts the job" do
      caller = spawn(fn -> N.block_until_interrupted(3, 30_000) end)
      Process.sleep(100)
      Process.exit(caller, :kill)
      assert events_after(1) == ["interrupted 3"]
    end

    test "a job that is not cancelled is not interrupted" do
      assert N.block_until_interrupted(4, 50) == false
      assert N.lifecycle_events() == ["ran to the end 4"]
    end

    test "after corral_on_cancel_clear a cancel no longer calls the interrupt" do
      before = N.stray_interrupts()
      job = N.set_then_clear_interrupt_async(2000)
      Process.sleep(100)
      assert Corral.Job.cancel(N, job) == true
      Process.sleep(50)
      assert N.stray_interrupts() == before
    end

    test "corral_on_cancel on a normal scheduler raises; on a dirty one nothing cancels it" do
      assert_raise RuntimeError,
                   "CorralTest.Native.on_cancel_outside_job/0: corral_on_cancel: only a thread job (CORRAL_THREAD_NIF) or a call on a dirty scheduler can be cancelled",
                   fn -> N.on_cancel_outside_job() end

      before = N.stray_interrupts()
      assert N.on_cancel_dirty() == :unreachable
      Process.sleep(50)
      assert N.stray_interrupts() == before
    end
  end

  describe "interrupting a blocked dirty call" do
    test "a deadline (corral_cancel_after) calls the interrupt, and corral_cancelled turns true" do
      {us, result} = :timer.tc(fn -> N.block_dirty(11, 30_000, 100) end)
      assert result == {true, true}
      assert N.lifecycle_events() == ["interrupted 11"]
      assert us >= 100_000
    end

    test "a call that ends before its deadline is neither interrupted nor cancelled" do
      assert N.block_dirty(12, 20, 30_000) == {false, false}
      assert N.lifecycle_events() == ["ran to the end 12"]
      # Nothing fires for it later either.
      Process.sleep(50)
      assert N.lifecycle_events() == []
    end

    test "a caller's death interrupts the call" do
      caller = spawn(fn -> N.block_dirty(13, 30_000, 0) end)
      Process.sleep(100)
      Process.exit(caller, :kill)
      assert events_after(1) == ["interrupted 13"]
    end

    test "without a deadline and with a live caller the call runs to its end" do
      assert N.block_dirty(14, 50, 0) == {false, false}
      assert N.lifecycle_events() == ["ran to the end 14"]
    end

    test "many dirty calls with deadlines at once: each is interrupted once" do
      tasks = for id <- 100..119, do: Task.async(fn -> N.block_dirty(id, 30_000, 20 + rem(id, 5) * 20) end)
      assert Enum.map(tasks, &Task.await(&1, 60_000)) == List.duplicate({true, true}, 20)
      assert Enum.sort(N.lifecycle_events()) == Enum.sort(for id <- 100..119, do: "interrupted #{id}")
    end

    test "corral_cancel_after outside a dirty call raises, naming what cancels a thread job" do
      assert_raise RuntimeError,
                   "CorralTest.Native.cancel_after_outside/0: corral_cancel_after: only a thread job (CORRAL_THREAD_NIF) or a call on a dirty scheduler can be cancelled",
                   fn -> N.cancel_after_outside() end

      assert_raise RuntimeError,
                   "CorralTest.Native.cancel_after_job/0: corral_cancel_after: a thread job is cancelled by its caller's timeout (Corral.Job.await/3 or the module's :job_timeout)",
                   fn -> N.cancel_after_job() end
    end
  end
end
