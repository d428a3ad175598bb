defmodule CorralTest.InspectTest do
  # Terms inside messages are shown by the running Elixir's own inspect/1:
  # the C side leaves a placeholder and the term, and the generated function
  # assembles the message (Corral.Error). So every case here, from any
  # Elixir version, must come out exactly as inspect/1 of this VM prints it,
  # structs with their own Inspect implementations included.
  use ExUnit.Case, async: true
  alias CorralTest.Native, as: N

  @cases Path.expand("support/inspect_cases.exs", __DIR__)

  defp shown(term) do
    error = assert_raise ArgumentError, fn -> N.show(term) end
    Exception.message(error)
  end

  defp expected(term), do: "CorralTest.Native.show/1: shown: " <> inspect(term) <> "."

  test "every listed case is shown exactly as inspect/1 shows it" do
    {cases, _} = Code.eval_file(@cases)
    assert length(cases) > 100
    mismatches = for t <- cases, (ours = shown(t)) != expected(t), do: {expected(t), ours}
    assert mismatches == []
  end

  test "structs with their own Inspect implementation, funs and derived Inspect" do
    for t <- [1..10//2, MapSet.new([1, 2]), ~D[2026-11-27], URI.parse("https://example.org"), ~r/a+b/,
              &String.upcase/1, fn x -> x end, %CorralTest.Secret{name: "n", password: "hidden"}] do
      assert shown(t) == expected(t)
    end

    refute shown(%CorralTest.Secret{name: "n", password: "hidden"}) =~ "hidden"
  end

  test "the argument in a failed check is shown the same way" do
    for t <- [~c"abc", %{b: 2, a: 1}, %ErlangError{original: :x}, "\u00A0nbsp", {:ok, [1, 2]}] do
      error = assert_raise ArgumentError, fn -> N.add(t, 1) end
      assert Exception.message(error) =~ ~r/, got: #{Regex.escape(inspect(t))}$/
    end
  end

  test "random terms are shown exactly as inspect/1 shows them" do
    :rand.seed(:exsss, 7)

    for _ <- 1..20_000 do
      t = Corral.RandomTerm.generate(4)
      assert shown(t) == expected(t)
    end
  end
end
