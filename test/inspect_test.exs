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

  # 20,000 raises and inspects: in the sanitizer build with both cores
  # busy this took longer than ExUnit's default 60 s.
  @tag timeout: 600_000
  test "random terms are shown exactly as inspect/1 shows them" do
    :rand.seed(:exsss, 7)

    for _ <- 1..20_000 do
      t = Corral.RandomTerm.generate(4)
      assert shown(t) == expected(t)
    end
  end

  # The message of a term that is slow or huge to inspect, made in another
  # process: nil if it is not made within the (generous) time. Before the
  # bound, 2^4000000 took 110 s and the nested lists 10 s (8 MB of text).
  # The term is made there too: copying a term between processes undoes
  # its sharing (the nested lists would become 312 million cells).
  defp shown_within(make, ms \\ 5_000) do
    task = Task.async(fn -> shown(make.()) end)

    case Task.yield(task, ms) || Task.shutdown(task, :brutal_kill) do
      {:ok, message} -> message
      _ -> nil
    end
  end

  test "huge and deeply repeated terms are shown in bounded time and size" do
    import Bitwise
    nested = fn -> Enum.reduce(1..5, 1, fn _, a -> List.duplicate(a, 50) end) end
    message = shown_within(nested)
    assert message
    assert byte_size(message) < 4096
    assert message =~ ~r/^CorralTest.Native.show\/1: shown: \[\[\[\[\[1, 1, .*, \.\.\.\]\.$/

    assert shown_within(fn -> 1 <<< 4_000_000 end) == "CorralTest.Native.show/1: shown: #Integer<4000001 bits>."
    assert shown_within(fn -> {:ok, -(1 <<< 5000)} end) == "CorralTest.Native.show/1: shown: {:ok, #Integer<negative, 5001 bits>}."

    # 160 MB of terms under one list.
    message = shown_within(fn -> [nested.(), List.duplicate(:binary.copy("é", 10_000), 8_000), Map.new(1..100_000, &{&1, &1})] end)
    assert message
    assert byte_size(message) <= 16_384 + 100
  end

  test "a long collection is cut where inspect/1 cuts it, without walking it to the end" do
    for term <- [Enum.to_list(1..1_000_000), List.duplicate(?a, 1_000_000), :binary.copy("a", 10_000_000),
                 :binary.copy(<<1>>, 1_000_000), List.to_tuple(Enum.to_list(1..100_000)),
                 for(i <- 1..5000, do: {:"k#{i}", i}), Map.new(1..1000, &{&1, &1}),
                 %ArgumentError{message: Enum.to_list(1..100_000)}] do
      assert shown_within(fn -> term end) == expected(term)
    end
  end

  test "a term too big to keep whole keeps the head of a struct that inspects itself" do
    message = shown_within(fn -> [MapSet.new(1..100_000)] end)
    assert message == "CorralTest.Native.show/1: shown: [%MapSet{...}]."
  end

  test "an Inspect implementation that raises, throws or exits: the ArgumentError, with the struct's head" do
    for how <- [:raise, :throw, :exit] do
      term = [1, %CorralTest.BadInspect{how: how, secret: "s3cret"}]
      assert shown(term) == "CorralTest.Native.show/1: shown: [1, %CorralTest.BadInspect{...}]."
    end
  end
end
