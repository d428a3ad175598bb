defmodule CorralTest.ProcessTest do
  # Monitors, pids, messages and select (corral.h, "Resources" and
  # "Processes and messages").
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  test "a monitor fires when the owner dies, and the down callback runs" do
    lease = N.lease_new(self())
    parent = self()

    owner =
      spawn(fn ->
        send(parent, {:acquired, N.lease_acquire(lease)})
        receive do: (:never -> :ok)
      end)

    assert_receive {:acquired, :ok}
    assert N.lease_acquire(lease) == :busy
    Process.exit(owner, :kill)
    assert_receive {:lease_released, ^owner}, 1000
    assert N.lease_acquire(lease) == :ok
    assert N.lease_release(lease) == true
  end

  test "release demonitors: no down message after a normal release" do
    lease = N.lease_new(self())
    task = Task.async(fn -> {N.lease_acquire(lease), N.lease_release(lease)} end)
    assert Task.await(task) == {:ok, true}
    refute_receive {:lease_released, _}, 100
  end

  test "monitoring a dead process returns false and makes no monitor" do
    lease = N.lease_new(self())
    dead = spawn(fn -> :ok end)
    ref = Process.monitor(dead)
    assert_receive {:DOWN, ^ref, _, _, _}
    assert N.lease_acquire_for(lease, dead) == :not_alive
    assert N.lease_acquire(lease) == :ok
  end

  test "monitoring needs a down callback" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.monitor_counter/1: corral_monitor: the resource type has no down callback (add CORRAL_RESOURCE_ON_DOWN)",
      fn -> N.monitor_counter(N.counter_new(0, 0)) end
  end

  test "pids: self, a pid argument, and bad pids" do
    assert N.self_pid() == self()
    assert N.pid_arg(self()) == self()

    for bad <- [:self, 1, make_ref(), "pid"] do
      assert_raise_exact ArgumentError,
        "CorralTest.Native.pid_arg/1: argument 1: expected a local pid, got: #{inspect(bad)}",
        fn -> N.pid_arg(bad) end
    end
  end

  test "corral_send and a call-owned message" do
    assert N.send_in_call(self(), {:hello, [1, 2]}, false) == :ok
    assert_receive {:hello, [1, 2]}
    assert_receive {:copy, {:hello, [1, 2]}}
  end

  test "a call-owned message that is not sent is freed by the call" do
    memory = memory()
    for _ <- 1..20_000, do: N.send_in_call(self(), :x, true)
    for _ <- 1..20_000, do: assert_receive(:x)
    refute_received {:copy, _}
    gc_all()
    assert_memory_back(memory, 5_000_000)
  end

  test "a native thread sends messages through process-independent environments" do
    assert N.thread_send(self(), 1000) == :ok
    for k <- 0..999, do: assert_receive({:from_thread, ^k})
  end

  test "sending to a dead process is harmless" do
    dead = spawn(fn -> :ok end)
    ref = Process.monitor(dead)
    assert_receive {:DOWN, ^ref, _, _, _}
    assert N.send_in_call(dead, :lost, false) == :ok
    assert N.thread_send(dead, 10) == :ok
  end

  describe "select" do
    test "readiness of a pipe arrives as a message; stop closes the descriptor" do
      pipe = N.pipe_new()
      ref = make_ref()
      assert N.pipe_read(pipe) == {:error, nil}
      assert N.pipe_watch(pipe, ref) == :ok
      refute_receive {:select, _, ^ref, _}, 50
      assert N.pipe_write(pipe, "ping") == 4
      assert_receive {:select, ^pipe, ^ref, :ready_input}, 1000
      assert N.pipe_read(pipe) == {:ok, "ping"}
      stopped = N.pipes_stopped()
      assert N.pipe_stop_watch(pipe) == :ok
      assert eventually(fn -> N.pipes_stopped() == stopped + 1 end)
    end

    test "select needs a stop callback" do
      assert_raise_exact RuntimeError,
        "CorralTest.Native.select_counter/1: corral_select: Counter has no stop callback (add CORRAL_RESOURCE_ON_STOP)",
        fn -> N.select_counter(N.counter_new(0, 0)) end
    end

    test "a descriptor the VM refuses is reported" do
      assert_raise_exact RuntimeError,
        "CorralTest.Native.pipe_watch_bad/1: corral_select: file descriptor -1: not a valid file descriptor",
        fn -> N.pipe_watch_bad(N.pipe_new()) end
    end
  end
end
