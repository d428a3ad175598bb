defmodule CorralTest.TermContainerTest do
  # corral.h, "Terms and where they sit", "Lists", "Tuples", "Maps" and the
  # pid/reference getters: success, boundaries, and every failure with the
  # route to the bad value.
  use ExUnit.Case, async: true
  import CorralTest.Case
  import Bitwise
  alias CorralTest.Terms, as: T

  @i64 "an integer in -9223372036854775808..9223372036854775807"

  test "lists: walking, length, empty and huge lists" do
    assert T.list_sum([]) == 0
    assert T.list_sum([1, 2, 3]) == 6
    assert T.list_sum(Enum.to_list(1..1_000_000)) == 500_000_500_000
    assert T.list_length([]) == 0
    assert T.list_length(Enum.to_list(1..100_000)) == 100_000
    assert T.nested_sum([[1, 2], [], [3]]) == 6
  end

  test "lists: not a list, an improper list, and a bad element, each named" do
    assert_raise_exact ArgumentError, "CorralTest.Terms.list_sum/1: argument 1: expected a list, got: {1, 2}",
      fn -> T.list_sum({1, 2}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.list_sum/1: argument 1: expected a proper list, got: [1, 2 | 3]",
      fn -> T.list_sum([1, 2 | 3]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.list_length/1: argument 1: expected a proper list, got: [1 | :x]",
      fn -> T.list_length([1 | :x]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.list_sum/1: argument 1, index 2: expected #{@i64}, got: \"3\"",
      fn -> T.list_sum([1, 2, "3"]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.nested_sum/1: argument 1, index 1, index 2: expected #{@i64}, got: 1.5",
      fn -> T.nested_sum([[1], [2, 3, 1.5]]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.nested_sum/1: argument 1, index 1: expected a list, got: 2",
      fn -> T.nested_sum([[1], 2]) end

    # An element's index is counted from its list when a message needs it:
    # for a list with no route, in an argument past the first 16, and at the
    # last cell of a list whose tail is not [].
    assert T.unrouted_sum([1, 2, 3]) == 6
    assert_raise_exact ArgumentError, "CorralTest.Terms.unrouted_sum/1: index 3: expected #{@i64}, got: :x",
      fn -> T.unrouted_sum([1, 2, 3, :x, 5]) end

    pad = List.duplicate(0, 16)
    assert apply(T, :last_arg_sum, pad ++ [[4, 5]]) == 9
    assert_raise_exact ArgumentError, "CorralTest.Terms.last_arg_sum/17: argument 17, index 1: expected #{@i64}, got: 1.0",
      fn -> apply(T, :last_arg_sum, pad ++ [[4, 1.0, 6]]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.list_sum/1: argument 1, index 1: expected #{@i64}, got: :y",
      fn -> T.list_sum([1, :y | 3]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.nested_sum/1: argument 1, index 2, index 0: expected #{@i64}, got: []",
      fn -> T.nested_sum([[], [1], [[]]]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.positive/1: argument 1, index 2: expected a positive integer, got: 0",
      fn -> T.positive([3, 1, 0]) end

    assert T.positive([1, 2]) == :ok

    assert_raise_exact ArgumentError,
                       "CorralTest.Terms.positive_by_pointer/1: argument 1, index 2: expected a positive integer, got: 0",
                       fn -> T.positive_by_pointer([3, 1, 0]) end

    assert T.positive_by_pointer([1, 2]) == :ok
  end

  @types [:i8, :i16, :i32, :i64, :u8, :u16, :u32, :u64, :int, :uint, :long, :ulong, :size, :ssize, :intptr, :uintptr]

  test "lists to C arrays and back, for every C type" do
    for type <- @types, do: assert(T.array(type, [0, 1, 100, 127]) == [0, 1, 100, 127])
    assert T.array(:i8, [-128, 127]) == [-128, 127]
    assert T.array(:double, [1.5, 2, -0.25]) == [1.5, 2.0, -0.25]
    assert T.array(:float, [1.5, 0.1]) == [1.5, 0.10000000149011612]
    assert T.array(:bool, [true, false]) == [true, false]
    assert T.array(:term, [self(), :a, {1}]) == [self(), :a, {1}]
    assert T.array(:binary, ["a", <<255>>]) == ["a", <<255>>]
    assert T.array(:string, ["é", ""]) == ["é", ""]
    assert T.array(:cstring, ["a", "b"]) == ["a", "b"]
    assert T.array(:i64, []) == []
    assert T.seq(0) == []
    assert T.seq(5) == [1, 2, 3, 4, 5]
    assert T.seq_reversed(5) == [1, 2, 3, 4, 5]
    assert T.list_of([:a, 1, "b"]) == [:a, 1, "b"]

    sizes = for t <- @types ++ [:float, :double, :bool, :term, :binary, :string, :cstring, :enum], do: T.array_size(t)
    assert sizes == [1, 2, 4, 8, 1, 2, 4, 8, 4, 4, 8, 8, 8, 8, 8, 8, 4, 8, 1, 8, 16, 16, 8, 0]
  end

  test "lists to C arrays: the bad element is named; bad types and values going out raise" do
    assert_raise_exact ArgumentError, "CorralTest.Terms.array/2: argument 2, index 2: expected an integer in 0..65535, got: 70000",
      fn -> T.array(:u16, [1, 2, 70_000]) end

    # int64_t and double arrays are read by a loop of their own; its error
    # path is the routed walk's.
    assert_raise_exact ArgumentError, "CorralTest.Terms.array/2: argument 2, index 2: expected an integer in -9223372036854775808..9223372036854775807, got: 1.5",
      fn -> T.array(:i64, [1, 2, 1.5]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.array/2: argument 2, index 1: expected a number (a float, or an integer in the 64-bit range), got: :x",
      fn -> T.array(:double, [1.0, :x]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.array/2: argument 2: expected a proper list, got: [1.0 | 2.0]",
      fn -> T.array(:double, [1.0 | 2.0]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.array/2: argument 2, index 0: expected a boolean, got: nil",
      fn -> T.array(:bool, [nil]) end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.array/2: argument 2, index 1: expected a string without NUL bytes (byte 0 is NUL), got: <<0>>",
      fn -> T.array(:cstring, ["a", <<0>>]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.array/2: argument 2: expected a proper list, got: [1 | 2]",
      fn -> T.array(:i64, [1 | 2]) end

    assert_raise_exact RuntimeError, "CorralTest.Terms.array/2: corral_get_array: type 24 is not a C value type",
      fn -> T.array(:enum, [1]) end

    assert_raise_exact ArithmeticError, "CorralTest.Terms.make_array_nan/0: the result is NaN, which Erlang floats cannot hold",
      fn -> T.make_array_nan() end

    assert_raise_exact RuntimeError, "CorralTest.Terms.reverse_improper/0: corral_make_reverse_list: the term is not a proper list",
      fn -> T.reverse_improper() end
  end

  # int64_t and double arrays are filled in one pass into a block that
  # grows (32 elements, then eight times as many each time it fills, four
  # times past 64 MiB): every length around a boundary converts whole, and
  # a bad element or tail past a boundary is still named by its index.
  test "int64 and double arrays across the growth of their block" do
    for n <- [1, 31, 32, 33, 255, 256, 257, 2048, 2049, 16_384, 16_385, 131_072, 131_073] do
      ints = Enum.to_list(1..n)
      assert T.array(:i64, ints) == ints, "i64, #{n} elements"
      floats = Enum.map(ints, &(&1 / 2))
      assert T.array(:double, floats) == floats, "double, #{n} elements"
      # Integers in a double array are converted, also past a boundary.
      assert T.array(:double, ints) == Enum.map(ints, &(&1 * 1.0)), "double from integers, #{n} elements"
    end

    # Past the 64 MiB block (8,388,608 elements) the growth is fourfold.
    big = Enum.to_list(1..8_388_609)
    assert T.array(:i64, big) == big

    for k <- [32, 256, 257, 16_384, 131_072, 139_999] do
      list = Enum.to_list(1..140_000) |> List.replace_at(k, :x)

      assert_raise_exact ArgumentError,
        "CorralTest.Terms.array/2: argument 2, index #{k}: expected an integer in -9223372036854775808..9223372036854775807, got: :x",
        fn -> T.array(:i64, list) end

      assert_raise_exact ArgumentError,
        "CorralTest.Terms.array/2: argument 2, index #{k}: expected a number (a float, or an integer in the 64-bit range), got: :x",
        fn -> T.array(:double, list) end
    end

    for n <- [32, 256, 257, 16_384] do
      improper = Enum.to_list(1..n) ++ 7
      message = "CorralTest.Terms.array/2: argument 2: expected a proper list, got: #{inspect(improper)}"
      assert_raise_exact ArgumentError, message, fn -> T.array(:i64, improper) end
      assert_raise_exact ArgumentError, message, fn -> T.array(:double, improper) end
    end
  end

  test "tuples: arity checks, elements by index, building" do
    assert T.tuple_sum({}, 0) == 0
    assert T.tuple_sum({1, 2, 3}, 3) == 6
    assert T.tuple_sum({1, 2, 3}, -1) == 6
    assert T.tuple_get({:a, :b}, 1) == :b
    assert T.tuple_of([1, :a]) == {1, :a}
    assert T.tuple_of([]) == {}
    assert T.pair(1, 2) == {1, 2}
    assert T.triple(1, 2, 3) == {1, 2, 3}

    assert_raise_exact ArgumentError, "CorralTest.Terms.tuple_sum/2: argument 1: expected a tuple of 3 elements, got: {1, 2}",
      fn -> T.tuple_sum({1, 2}, 3) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.tuple_sum/2: argument 1: expected a tuple of 1 element, got: [1]",
      fn -> T.tuple_sum([1], 1) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.tuple_sum/2: argument 1: expected a tuple, got: [1]",
      fn -> T.tuple_sum([1], -1) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.tuple_sum/2: argument 1, element 1: expected #{@i64}, got: :a",
      fn -> T.tuple_sum({1, :a}, 2) end

    assert_raise_exact RuntimeError,
      "CorralTest.Terms.tuple_get/2: corral_tuple_get: index 2 of a tuple of 2 elements (a bug in the NIF)",
      fn -> T.tuple_get({:a, :b}, 2) end
  end

  test "maps: get, find, size, walk, and building" do
    m = %{:a => 1, "b" => 2, {1} => [3]}
    assert T.map_get(m, "b") == 2
    assert T.map_find(m, {1}) == {:ok, [3]}
    assert T.map_find(m, :zz) == {:error, nil}
    assert T.map_size(m) == 3
    assert T.map_size(%{}) == 0
    assert Enum.sort(T.map_pairs(m)) == Enum.sort(Map.to_list(m))
    assert T.map_pairs(%{}) == []
    big = Map.new(1..10_000, &{&1, &1})
    assert length(T.map_pairs(big)) == 10_000
    assert T.atom_keys(%{a: 1, b: 2}) == 3
    assert T.order_total(%{items: [%{"qty" => 2}, %{"qty" => 3}]}) == 5
    assert T.map_from([:a, "b"], [1, 2]) == %{:a => 1, "b" => 2}
    assert T.map_from([], []) == %{}
    assert T.map_put(%{a: 1}, :b, 2) == %{a: 1, b: 2}
    assert T.map_put(%{a: 1}, :a, 2) == %{a: 2}
    assert T.map_update(%{a: 1}, :a, 3) == %{a: 3}
    assert T.map_remove(%{a: 1, b: 2}, :a) == %{b: 2}
    assert T.map_remove(%{a: 1}, :zz) == %{a: 1}
  end

  test "maps: every failure names the key or the route" do
    assert_raise_exact ArgumentError, "CorralTest.Terms.map_get/2: argument 1: expected a map, got: [a: 1]",
      fn -> T.map_get([a: 1], :a) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.map_get/2: argument 1: missing key :b, got: %{a: 1}",
      fn -> T.map_get(%{a: 1}, :b) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.atom_keys/1: argument 1, a key: expected an atom, got: \"b\"",
      fn -> T.atom_keys(%{"b" => 2}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.atom_keys/1: argument 1, key :b: expected #{@i64}, got: \"2\"",
      fn -> T.atom_keys(%{a: 1, b: "2"}) end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.order_total/1: argument 1, key :items, index 1, key \"qty\": expected an integer in 0..4294967295, got: -1",
      fn -> T.order_total(%{items: [%{"qty" => 1}, %{"qty" => -1}]}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.order_total/1: argument 1, key :items, index 0: missing key \"qty\", got: %{}",
      fn -> T.order_total(%{items: [%{}]}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.order_total/1: argument 1, key :items: expected a list, got: nil",
      fn -> T.order_total(%{items: nil}) end

    assert_raise_exact RuntimeError, "CorralTest.Terms.map_next_after_end/1: corral_map_next: the walk has already ended",
      fn -> T.map_next_after_end(%{a: 1}) end

    assert_raise_exact RuntimeError, "CorralTest.Terms.map_from/2: corral_make_map_from: the key :a appears twice",
      fn -> T.map_from([:a, :a], [1, 2]) end

    # Above 32 keys the VM builds a hash map and keeps duplicates silently.
    for n <- [33, 100, 10_000] do
      keys = Enum.to_list(1..n) ++ [17]
      assert_raise_exact RuntimeError, "CorralTest.Terms.map_from/2: corral_make_map_from: the key 17 appears twice",
        fn -> T.map_from(keys, keys) end

      assert T.map_from(Enum.to_list(1..n), Enum.to_list(1..n)) == Map.new(1..n, &{&1, &1})
    end

    assert_raise_exact RuntimeError, "CorralTest.Terms.map_update/3: corral_map_update: the key :b is not in the map",
      fn -> T.map_update(%{a: 1}, :b, 2) end

    for {f, args} <- [map_put: [[], :a, 1], map_update: [[], :a, 1], map_remove: [[], :a]] do
      assert_raise_exact RuntimeError, "CorralTest.Terms.#{f}/#{length(args)}: corral_#{f}: the term is not a map",
        fn -> apply(T, f, args) end
    end
  end

  test "generic terms: kind, order, exact equality, portable hash" do
    kinds = [atom: :a, bitstring: <<1::3>>, float: 1.0, fun: &Enum.map/2, integer: 1 <<< 70, list: [], map: %{},
             pid: self(), port: hd(Port.list()), reference: make_ref(), tuple: {}]

    for {kind, term} <- kinds, do: assert(T.kind_of(term) == kind)
    assert T.compare(1, 2) < 0
    assert T.compare(2, 1) > 0
    assert T.compare(1, 1.0) == 0
    assert T.compare(:a, 1) > 0
    assert T.equal(1, 1) and not T.equal(1, 1.0)
    assert T.equal(%{a: [1]}, %{a: [1]})

    for term <- [1, :a, "b", {1, [2]}, %{a: 1}, 1 <<< 80, 1.5] do
      assert T.hash(term) == :erlang.phash2(term)
    end
  end

  test "pids and references by route; new references" do
    assert T.pid_in({self()}) == self()
    ref = make_ref()
    assert T.ref_in(ref) == ref
    assert is_reference(T.new_ref())
    refute T.new_ref() == T.new_ref()

    assert_raise_exact ArgumentError, "CorralTest.Terms.pid_in/1: argument 1, element 0: expected a local pid, got: :me",
      fn -> T.pid_in({:me}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.ref_in/1: argument 1: expected a reference, got: 1",
      fn -> T.ref_in(1) end
  end

  test "a term without a route is named without a position" do
    assert T.no_route(5) == 5
    assert_raise_exact ArgumentError, "CorralTest.Terms.no_route/1: expected #{@i64}, got: :x", fn -> T.no_route(:x) end
  end
end
