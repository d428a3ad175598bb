defmodule CorralTest.ScheduleTest do
  # Section "Scheduling" of corral.h: dirty and yielding NIFs give the same
  # results as the plain loop, raise like any NIF, and free their state
  # exactly once however they end.
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  @n 300_000_000

  test "plain, dirty and yielding compute the same result" do
    plain = N.spin(@n)
    assert N.spin_dirty(@n) == plain
    {yielded, steps} = N.spin_yielding(@n, 0)
    assert yielded == plain
    # 300M iterations take far longer than one 1 ms step.
    assert steps > 10
  end

  test "short work finishes in one step" do
    assert N.spin_yielding(1000, 0) == {N.spin(1000), 1}
    assert N.spin_yielding(0, 0) == {0, 1}
  end

  test "the state is freed once when the work completes" do
    gc_all()
    before = N.yield_states_freed()
    for _ <- 1..100, do: N.spin_yielding(10_000, 0)
    assert eventually(fn -> N.yield_states_freed() - before == 100 end)
    assert Corral.live_resources(N)["corral_yield_state"] == 0
  end

  test "a raise in a later step reaches the caller and frees the state" do
    gc_all()
    before = N.yield_states_freed()

    error = assert_raise RuntimeError, fn -> N.spin_yielding(@n, 100_000_000) end
    assert error.message =~ ~r/^CorralTest\.Native\.spin_yielding\/2: stopped at iteration 100000000 after \d+ steps$/
    refute error.message =~ "after 1 steps"
    assert eventually(fn -> N.yield_states_freed() - before == 1 end)
  end

  test "bad arguments raise in the first step" do
    assert_raise_exact ArgumentError,
      "CorralTest.Native.spin_yielding/2: argument 1: expected an integer in 0..18446744073709551615, got: -1",
      fn -> N.spin_yielding(-1, 0) end
  end

  test "a caller killed mid-way: the state is freed, nothing leaks" do
    gc_all()
    before = N.yield_states_freed()
    pid = spawn(fn -> N.spin_yielding(100_000_000_000, 0) end)
    Process.sleep(50)
    assert Process.alive?(pid)
    Process.exit(pid, :kill)
    assert eventually(fn -> N.yield_states_freed() - before == 1 end)
    assert eventually(fn -> Corral.live_resources(N)["corral_yield_state"] == 0 end)
  end

  # With one scheduler online, a process that ticks 20 times (1 ms sleeps)
  # can only finish before a 2-second NIF call if that call lets the
  # scheduler go: an ordering check, not a timing one.
  defp first_to_finish(call) do
    parent = self()
    spawn(fn -> send(parent, {:done, call.()}) end)
    spawn(fn -> for(_ <- 1..20, do: Process.sleep(1)); send(parent, :ticked) end)

    receive do
      {:done, _} -> receive(do: (:ticked -> :call))
      :ticked -> receive(do: ({:done, _} -> :ticker))
    after
      60_000 -> :timeout
    end
  end

  test "on one scheduler, other processes run while a yielding or dirty NIF works; a plain one blocks them" do
    online = :erlang.system_info(:schedulers_online)
    :erlang.system_flag(:schedulers_online, 1)

    try do
      n = 2_000_000_000
      assert first_to_finish(fn -> N.spin_yielding(n, 0) end) == :ticker
      assert first_to_finish(fn -> N.spin_dirty(n) end) == :ticker
      assert first_to_finish(fn -> N.spin(n) end) == :call
    after
      :erlang.system_flag(:schedulers_online, online)
    end
  end

  test "yield helpers in a NIF that is not yielding are reported as bugs" do
    msg = "the function is not a yielding NIF (define it with CORRAL_YIELDING_NIF)"
    assert_raise_exact RuntimeError, "CorralTest.Native.should_yield_plain/0: corral_should_yield: #{msg}", fn -> N.should_yield_plain() end
    assert_raise_exact RuntimeError, "CorralTest.Native.continue_plain/0: corral_continue: #{msg}", fn -> N.continue_plain() end
    assert_raise_exact RuntimeError, "CorralTest.Native.first_step_plain/0: corral_first_step: #{msg}", fn -> N.first_step_plain() end
  end

  describe "corral_schedule_dirty" do
    test "small input stays on the normal scheduler, big input moves to the dirty one asked for" do
      small = :binary.copy(<<1>>, 100)
      big = :binary.copy(<<2>>, 100_000)
      assert N.adaptive_sum(small, 1000, false) == {100, :normal}
      assert N.adaptive_sum(big, 1000, false) == {200_000, :dirty_cpu}
      assert N.adaptive_sum(big, 1000, true) == {200_000, :dirty_io}
    end

    test "what the body raises on the dirty scheduler reaches the caller as from any NIF" do
      assert_raise_exact ArgumentError,
                         "CorralTest.Native.adaptive_then_raise/1: argument 1: expected a value that is not 7 on a dirty scheduler, got: 7",
                         fn -> N.adaptive_then_raise(7) end
    end

    test "bad flags, a call already dirty and a thread job raise RuntimeError" do
      assert_raise_exact RuntimeError,
                         "CorralTest.Native.schedule_dirty_with/1: corral_schedule_dirty: flags must be CORRAL_DIRTY_CPU or CORRAL_DIRTY_IO, got 0",
                         fn -> N.schedule_dirty_with(0) end

      assert_raise_exact RuntimeError,
                         "CorralTest.Native.schedule_dirty_from_dirty/1: corral_schedule_dirty: the call is on a dirty scheduler already",
                         fn -> N.schedule_dirty_from_dirty(1) end

      assert_raise_exact RuntimeError,
                         "CorralTest.Native.schedule_dirty_thread/0: corral_schedule_dirty: a thread job cannot move to a dirty scheduler",
                         fn -> N.schedule_dirty_thread() end

      assert_raise_exact RuntimeError,
                         "CorralTest.Native.schedule_dirty_yielding/0: corral_schedule_dirty: a yielding NIF cannot move to a dirty scheduler",
                         fn -> N.schedule_dirty_yielding() end
    end
  end
end
