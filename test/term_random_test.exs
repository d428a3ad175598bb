defmodule CorralTest.TermRandomTest do
  # 100,000 random terms (Corral.RandomTerm: nested, every kind, boundary and
  # big integers) thrown at every checked getter of the term API. The VM
  # survives, every failure is an ArgumentError, and neither memory nor
  # atoms are left behind.
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Terms, as: T

  @one_arg [:list_sum, :list_length, :nested_sum, :positive, :atom_name, :string, :cstring, :charlist_to_string,
            :binaries_size, :iodata_sizes, :float, :i128, :u128, :bigint_bytes, :optional, :polygon, :polygon_points,
            :points, :shape, :atom_keys, :order_total, :map_pairs, :map_size, :pid_in, :ref_in, :no_route, :list_of,
            :tuple_of]
  @widths [:i8, :i16, :i32, :i64, :u8, :u16, :u32, :u64, :int, :uint, :long, :ulong, :size, :ssize, :intptr, :uintptr]
  @types @widths ++ [:float, :double, :bool, :term, :binary, :string, :cstring]

  defp calls(term) do
    Enum.map(@one_arg, &{&1, [term]}) ++
      [
        {:width, [Enum.random(@widths), term]},
        {:array, [Enum.random(@types), term]},
        {:point, [Enum.random([:struct, :map, :record, :tuple]), term]},
        {:tuple_sum, [term, -1]},
        {:map_get, [term, :a]},
        {:map_find, [term, :a]}
      ]
  end

  defp run(count, seed) do
    :rand.seed(:exsss, seed)

    Enum.reduce(1..count, {0, 0}, fn _, {ok, raised} ->
      term = Corral.RandomTerm.generate(4)

      Enum.reduce(calls(term), {ok, raised}, fn {f, args}, {ok, raised} ->
        try do
          apply(T, f, args)
          {ok + 1, raised}
        rescue
          e in ArgumentError ->
            assert String.starts_with?(e.message, "CorralTest.Terms.#{f}/#{length(args)}: ")
            {ok, raised + 1}

          other ->
            flunk("#{f}(#{inspect(args, limit: 20)}) raised #{inspect(other)}, not an ArgumentError")
        end
      end)
    end)
  end

  # 3.4 million calls: with both cores busy and another suite running
  # beside it, more than 600 s.
  @tag timeout: 1_800_000
  test "100,000 random terms at every getter: only ArgumentErrors, nothing leaked" do
    run(2_000, 1)
    atoms = :erlang.system_info(:atom_count)
    :erlang.garbage_collect()
    before = memory()
    {ok, raised} = run(100_000, 2)
    :erlang.garbage_collect()
    # Both outcomes happen: the generator does produce valid input too.
    assert ok > 10_000 and raised > 1_000_000
    # A getter that made atoms from its input would add tens of thousands;
    # the test framework itself may load a module or two meanwhile.
    assert :erlang.system_info(:atom_count) - atoms < 1000
    assert_memory_back(before, 20_000_000)
  end

  # Memory checks run here, with no other test running (async: false).
  test "a walk abandoned by a raise is released (many times over, no growth)" do
    m = Map.new(1..100, &{&1, &1}) |> Map.put(:bad, :x)

    for _ <- 1..2000 do
      assert_raise ArgumentError, fn -> T.map_abort_walk(m) end
    end

    before = memory()
    for _ <- 1..20_000, do: assert_raise(ArgumentError, fn -> T.map_abort_walk(m) end)
    :erlang.garbage_collect()
    assert_memory_back(before, 5_000_000)
  end

  test "failed conversions of large inputs leave no memory behind" do
    bad = for(i <- 1..1000, do: %CorralTest.Geo.Point{x: i, y: 0}) ++ [%CorralTest.Geo.Point{x: :bad, y: 0}]
    for _ <- 1..200, do: assert_raise(ArgumentError, fn -> T.points(bad) end)
    before = memory()
    for _ <- 1..2000, do: assert_raise(ArgumentError, fn -> T.points(bad) end)
    :erlang.garbage_collect()
    assert_memory_back(before, 5_000_000)
  end
end
