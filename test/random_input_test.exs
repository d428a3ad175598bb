defmodule CorralTest.RandomInputTest do
  # Random terms thrown at every checked getter of the test library: each
  # call returns or raises ArgumentError, the VM survives, and nothing is
  # left behind (resources, memory).
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  @count 20_000

  defp targets(counter) do
    [
      fn t -> N.i64(t) end,
      fn t -> N.u64(t) end,
      fn t -> N.int(t) end,
      fn t -> N.uint(t) end,
      fn t -> N.size(t) end,
      fn t -> N.u8(t) end,
      fn t -> N.int_range(t, -10, 10) end,
      fn t -> N.index_below(t, 100) end,
      fn t -> N.add(t, 1) end,
      fn t -> N.double(t) end,
      fn t -> N.color_index(t) end,
      fn t -> N.negate(t) end,
      fn t -> N.byte_sum(t) end,
      fn t -> N.iodata_copy(t) end,
      fn t -> N.counter_get(t) end,
      fn t -> N.counter_add(counter, t) end,
      fn t -> N.counter_add_mutex(counter, t) end,
      fn t -> N.raise_arg(t) end,
      fn t -> N.show(t) end
    ]
  end

  # 20,000 terms at a dozen getters: with both cores busy this took more
  # than ExUnit's default 60 s.
  @tag timeout: 600_000
  test "#{@count} random terms at every getter: only values or ArgumentError" do
    :rand.seed(:exsss, 20_261_124)
    gc_all()
    assert eventually(fn -> Corral.live_resources(N)["Counter"] == 0 end)
    memory = memory()
    counter = N.counter_new(0, 0)
    fs = targets(counter)

    outcomes =
      for _ <- 1..@count, reduce: %{ok: 0, raised: 0} do
        acc ->
          term = Corral.RandomTerm.generate()
          f = Enum.random(fs)

          try do
            f.(term)
            Map.update!(acc, :ok, &(&1 + 1))
          rescue
            e in ArgumentError ->
              assert Exception.message(e) =~ ~r/^CorralTest\.Native\.\w+\/\d: (argument \d: expected |the sum does not fit in 64 bits$|shown: )/
              Map.update!(acc, :raised, &(&1 + 1))
          end
      end

    # Both outcomes must occur, or the generator is not exercising the checks.
    assert outcomes.ok > 100
    assert outcomes.raised > 100
    # The counter still works: no lock was left held by a raise.
    assert is_integer(N.counter_add(counter, 1))
    gc_all()
    assert eventually(fn -> Corral.live_resources(N)["Counter"] == 1 end)
    # Used again, so the counter is alive during the count above on any VM.
    assert is_integer(N.counter_get(counter))
    assert_memory_back(memory, 20_000_000)
  end
end
