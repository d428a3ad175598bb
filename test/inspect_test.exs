defmodule CorralTest.InspectTest do
  # The term printer behind every message (corral_inspect): the same text as
  # Kernel.inspect/1 for the cases in test/support/inspect_cases.exs, cut
  # safely at any buffer size, and never crashing on random terms.
  use ExUnit.Case, async: true
  alias CorralTest.Native, as: N

  @cases Path.expand("support/inspect_cases.exs", __DIR__)

  test "every listed case prints exactly as inspect/1 does" do
    {cases, _} = Code.eval_file(@cases)
    assert length(cases) > 100
    mismatches = for t <- cases, (ours = N.inspect(t, 65_536)) != inspect(t), do: {inspect(t), ours}
    assert mismatches == []
  end

  test "cut output fits the buffer and ends in ..." do
    {cases, _} = Code.eval_file(@cases)

    for t <- cases, cap <- [1, 2, 4, 8, 17, 64] do
      out = N.inspect(t, cap)
      assert byte_size(out) <= cap - 1
      full = inspect(t)
      if byte_size(full) > cap - 1 and cap >= 4, do: assert(String.ends_with?(out, "..."), "#{inspect(out)} for #{full}")
    end
  end

  test "random terms: never a crash, never more than the buffer" do
    :rand.seed(:exsss, 7)

    for _ <- 1..20_000 do
      t = Corral.RandomTerm.generate(4)
      cap = Enum.random([16, 64, 300, 4096])
      assert byte_size(N.inspect(t, cap)) <= cap - 1
    end
  end
end
