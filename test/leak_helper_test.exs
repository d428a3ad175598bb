defmodule CorralTest.LeakHelperTest do
  # Corral.Test.assert_no_leaks/3, on CorralTest.Typed's closable Tally
  # resources and thread jobs.
  use ExUnit.Case, async: false
  import CorralTest.Case, only: [eventually: 1]
  alias CorralTest.Typed, as: T

  test "passes when everything the function made is destroyed, and returns its result" do
    assert Corral.Test.assert_no_leaks(T, fn ->
             for i <- 1..10_000, do: T.tally_new(i)
             :done
           end) == :done
  end

  test "waits for objects held by processes that have just exited" do
    Corral.Test.assert_no_leaks(T, fn ->
      1..8
      |> Enum.map(fn _ -> Task.async(fn -> for i <- 1..5_000, do: T.tally_add(T.tally_new(i), 1) end) end)
      |> Enum.each(&Task.await/1)
    end)
  end

  test "names each type with objects left, and how many" do
    error =
      assert_raise Corral.LeakError, fn ->
        kept = Corral.Test.assert_no_leaks(T, fn -> for i <- 1..100, do: T.tally_new(i) end, timeout: 50)
        length(kept)
      end

    assert error.left == %{"Tally" => 100}
    assert error.message == "CorralTest.Typed: objects left after 50 ms: 100 Tally"
  end

  test "Corral's own objects (thread jobs) count only when asked" do
    job = Corral.Test.assert_no_leaks(T, fn -> T.owned_job_async(10) end)
    assert Corral.Job.await(T, job) == "xxxxxxxxxx"
    # The pool drops its reference to the job just after the reply: wait for
    # it, or that release, during the next check, would hide the new job.
    assert eventually(fn -> Map.get(Corral.live_resources(T), "corral_job", 0) == 0 end)

    error =
      assert_raise Corral.LeakError, fn ->
        job = Corral.Test.assert_no_leaks(T, fn -> T.owned_job_async(10) end, internal: true, timeout: 50)
        Corral.Job.await(T, job)
      end

    assert error.left == %{"corral_job" => 1}
  end

  test "memory: the VM's growth is checked when a margin is given" do
    if CorralTest.Case.memory() != nil do
      error =
        assert_raise Corral.LeakError, fn ->
          kept = Corral.Test.assert_no_leaks(T, fn -> :binary.copy("x", 50_000_000) end, memory: 10_000_000, timeout: 500)
          byte_size(kept)
        end

      assert error.memory >= 10_000_000
      assert error.message =~ ~r/^CorralTest\.Typed: the VM's memory grew by \d+ bytes \(allowed: less than 10000000\)$/

      assert Corral.Test.assert_no_leaks(T, fn -> byte_size(:binary.copy("x", 50_000_000)) end, memory: 10_000_000) ==
               50_000_000
    end
  end

  # (Here rather than in the async typed_test.exs: memory is measured.)
  test "failing calls leak nothing: pure, and with resources in a context body" do
    # Once first: the first raise loads the modules that format messages.
    failing_calls = fn ->
      assert_raise ArgumentError, fn -> T.add(1, :x) end
      assert_raise ArithmeticError, fn -> T.add(9_223_372_036_854_775_807, 1) end
      assert_raise ArithmeticError, fn -> T.tally_add(T.tally_new(9_223_372_036_854_775_807), 1) end
    end

    failing_calls.()

    Corral.Test.assert_no_leaks(
      T,
      fn ->
        Enum.each(1..20_000, fn _ -> failing_calls.() end)
      end,
      memory: 5_000_000
    )
  end
end
