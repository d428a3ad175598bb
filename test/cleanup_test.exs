defmodule CorralTest.CleanupTest do
  # Section "Cleanup and scratch memory" of corral.h. The cleanup counter is
  # global to the library, so these tests run one at a time.
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  defp ran(fun) do
    before = N.cleanups_run()
    result = fun.()
    {result, N.cleanups_run() - before}
  end

  test "every deferred cleanup runs once on return, inline and spilled" do
    for n <- [0, 1, 5, 6, 7, 40, 1000] do
      assert ran(fn -> N.defer_n(n, false) end) == {n, n}
    end
  end

  test "every deferred cleanup runs once when the call raises" do
    for n <- [0, 1, 6, 7, 100] do
      {result, count} =
        ran(fn ->
          assert_raise_exact RuntimeError, "CorralTest.Native.defer_n/2: failing after #{n} cleanups",
            fn -> N.defer_n(n, true) end
        end)

      assert result
      assert count == n
    end
  end

  test "a bad argument checked before any corral_defer leaves nothing to run" do
    {_, count} = ran(fn -> assert_raise ArgumentError, fn -> N.defer_n(3, :maybe) end end)
    assert count == 0
    {_, count} = ran(fn -> assert_raise ArgumentError, fn -> N.defer_n(-1, false) end end)
    assert count == 0
  end

  test "corral_undefer disarms one cleanup" do
    assert ran(fn -> N.undefer() end) == {:ok, 1}
  end

  test "corral_run_now runs the cleanup at once and never again" do
    before = N.cleanups_run()
    {during, count} = ran(fn -> N.run_now() end)
    assert during == before + 1
    assert count == 1
  end

  test "corral_undefer of a disarmed cleanup raises" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.undefer_twice/0: corral_undefer: cleanup 0 already ran or was disarmed",
      fn -> N.undefer_twice() end
  end

  test "corral_run_now of an unknown id raises" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.run_now_unknown/0: corral_run_now: no cleanup 99 is registered in this call",
      fn -> N.run_now_unknown() end
  end

  test "corral_alloc: aligned scratch memory, small and large, freed on return and on raise" do
    memory = memory()

    for _ <- 1..200 do
      assert N.alloc_sum(50, 100, false) == 5000
      assert N.alloc_sum(3, 1_000_000, false) == 3_000_000
      assert N.alloc_sum(0, 10, false) == 0
      assert N.alloc_sum(1, 0, false) == 0
      assert_raise RuntimeError, fn -> N.alloc_sum(20, 10_000, true) end
    end

    gc_all()
    # 200 rounds allocate about 1.2 GB in all; a leak would show here.
    assert_memory_back(memory, 50_000_000)
  end

  test "corral_alloc of an impossible size raises instead of crashing" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.alloc_sum/3: out of memory allocating 18446744073709551615 bytes",
      fn -> N.alloc_sum(1, 18_446_744_073_709_551_615, false) end
  end

  test "corral_calloc zeroes and checks for overflow" do
    assert N.calloc_zero(100, 7) == true
    assert N.calloc_zero(0, 7) == true

    assert_raise_exact RuntimeError,
      "CorralTest.Native.calloc_zero/2: cannot allocate 4294967296 items of 4294967296 bytes: the size overflows",
      fn -> N.calloc_zero(4_294_967_296, 4_294_967_296) end
  end
end
