defmodule CorralTest.TypedTest do
  # Section "Typed declarations" of corral.h: CORRAL_PURE and CORRAL_DEF,
  # through the test library CorralTest.Typed (test/support/c_src/corral_typed).
  use ExUnit.Case, async: true
  import CorralTest.Case

  alias CorralTest.Typed, as: T

  # word => {values that fit, values that do not}
  @int_words %{
    i8: {[-128, 0, 127], [-129, 128]},
    i16: {[-32768, 32767], [-32769, 32768]},
    i32: {[-2_147_483_648, 2_147_483_647], [-2_147_483_649, 2_147_483_648]},
    i64: {[-9_223_372_036_854_775_808, 9_223_372_036_854_775_807], [-9_223_372_036_854_775_809, 9_223_372_036_854_775_808]},
    int: {[-2_147_483_648, 2_147_483_647], [-2_147_483_649, 2_147_483_648]},
    long: {[-9_223_372_036_854_775_808, 9_223_372_036_854_775_807], [9_223_372_036_854_775_808]},
    ssize: {[-9_223_372_036_854_775_808, 9_223_372_036_854_775_807], [9_223_372_036_854_775_808]},
    intptr: {[-9_223_372_036_854_775_808, 9_223_372_036_854_775_807], [9_223_372_036_854_775_808]},
    u8: {[0, 255], [-1, 256]},
    u16: {[0, 65535], [-1, 65536]},
    u32: {[0, 4_294_967_295], [-1, 4_294_967_296]},
    u64: {[0, 18_446_744_073_709_551_615], [-1, 18_446_744_073_709_551_616]},
    uint: {[0, 4_294_967_295], [-1, 4_294_967_296]},
    ulong: {[0, 18_446_744_073_709_551_615], [-1, 18_446_744_073_709_551_616]},
    size: {[0, 18_446_744_073_709_551_615], [-1, 18_446_744_073_709_551_616]},
    uintptr: {[0, 18_446_744_073_709_551_615], [-1]}
  }

  @not_numbers [1.5, :atom, "1", [1], nil, {1}]

  defp call(word, kind, x), do: apply(T, :"#{kind}_#{word}", [x])

  # The message of an exception with the function's own name taken out, so
  # that typed and hand-written twins can be compared.
  defp message_of(fun) do
    try do
      fun.()
      flunk("expected an exception")
    rescue
      e -> {e.__struct__, e |> Exception.message() |> String.replace(~r/^CorralTest\.Typed\.\w+\/\d+: /, "")}
    end
  end

  test "every integer word takes what fits and returns it, in a pure and in a context body" do
    for {word, {good, _}} <- @int_words, x <- good, kind <- [:pure, :def] do
      assert call(word, kind, x) == x, "#{kind}_#{word}(#{x})"
    end
  end

  test "every integer word refuses what does not fit with the message of corral_arg_*" do
    for {word, {_, bad}} <- @int_words, x <- bad ++ @not_numbers do
      expected = message_of(fn -> call(word, :hand, x) end)
      assert {ArgumentError, _} = expected
      assert message_of(fn -> call(word, :pure, x) end) == expected, "pure_#{word}(#{inspect(x)})"
      assert message_of(fn -> call(word, :def, x) end) == expected, "def_#{word}(#{inspect(x)})"
    end
  end

  test "the whole message names the typed function and the argument" do
    assert_raise_exact ArgumentError,
                       "CorralTest.Typed.add/2: argument 2: expected an integer in " <>
                         "-9223372036854775808..9223372036854775807, got: #{inspect(:x)}",
                       fn -> T.add(1, :x) end

    # The first bad argument is the one reported.
    assert_raise ArgumentError, ~r/add\/2: argument 1:/, fn -> T.add(:x, :y) end
  end

  test "double takes floats and 64-bit integers, returns floats, and refuses the rest as corral_arg_double does" do
    for kind <- [:pure, :def] do
      assert call(:double, kind, 1.5) === 1.5
      assert call(:double, kind, 3) === 3.0
      assert call(:double, kind, -9_223_372_036_854_775_808) === -9.223372036854776e18
    end

    for x <- [:a, "1.0", 9_223_372_036_854_775_808, nil] do
      expected = message_of(fn -> call(:double, :hand, x) end)
      assert message_of(fn -> call(:double, :pure, x) end) == expected
      assert message_of(fn -> call(:double, :def, x) end) == expected
    end
  end

  test "a NaN or infinite double result is an ArithmeticError, as from corral_make_double" do
    assert_raise_exact ArithmeticError, "CorralTest.Typed.divide/2: the result is infinity, which Erlang floats cannot hold",
                       fn -> T.divide(1, 0) end

    assert_raise_exact ArithmeticError, "CorralTest.Typed.divide/2: the result is -infinity, which Erlang floats cannot hold",
                       fn -> T.divide(-1, 0) end

    assert_raise_exact ArithmeticError, "CorralTest.Typed.divide/2: the result is NaN, which Erlang floats cannot hold",
                       fn -> T.divide(0, 0) end

    assert T.divide(1, 4) == 0.25
  end

  test "bool, binary and term, both ways" do
    for kind <- [:pure, :def] do
      assert call(:bool, kind, true) == true
      assert call(:bool, kind, false) == false
    end

    for x <- [nil, 1, "true", :yes] do
      expected = message_of(fn -> call(:bool, :hand, x) end)
      assert message_of(fn -> call(:bool, :pure, x) end) == expected
      assert message_of(fn -> call(:bool, :def, x) end) == expected
    end

    assert T.pure_binary_size("hello") == 5
    assert T.pure_binary_size(<<>>) == 0
    assert T.def_binary("hello") == "hello"

    for x <- [<<1::3>>, [?a, ?b, ?c], :abc, 1] do
      expected = message_of(fn -> T.hand_binary(x) end)
      assert message_of(fn -> T.pure_binary_size(x) end) == expected
      assert message_of(fn -> T.def_binary(x) end) == expected
    end

    big = :binary.copy("x", 100_000)
    assert T.def_binary(big) == big
    assert T.pure_term_ignored({:any, [:term]}) == :ok
    assert T.def_term(%{a: [1]}) == %{a: [1]}
  end

  test "eight parameters of mixed words, and none" do
    assert T.mix(-1, 2, 0.5, true, "abc", 4, 5, 6) == -19.5
    assert T.mix(-1, 2, 0.5, false, "abc", 4, 5, 6) == 19.5
    assert_raise ArgumentError, ~r/mix\/8: argument 5: expected a binary/, fn -> T.mix(-1, 2, 0.5, false, :abc, 4, 5, 6) end
    assert_raise ArgumentError, ~r/mix\/8: argument 8: expected an integer in 0\.\./, fn -> T.mix(-1, 2, 0.5, false, "", 4, 5, -6) end
    assert T.answer() == 42
    assert T.def_answer() == :ok
  end

  describe "checked arithmetic" do
    test "overflow raises ArithmeticError naming the function and the operation, in pure and context bodies" do
      assert T.add(2, 3) == 5

      assert_raise_exact ArithmeticError,
                         "CorralTest.Typed.add/2: integer overflow: 9223372036854775807 + 1 does not fit in " <>
                           "-9223372036854775808..9223372036854775807",
                         fn -> T.add(9_223_372_036_854_775_807, 1) end

      assert_raise_exact ArithmeticError,
                         "CorralTest.Typed.add/2: integer overflow: -9223372036854775808 + -1 does not fit in " <>
                           "-9223372036854775808..9223372036854775807",
                         fn -> T.add(-9_223_372_036_854_775_808, -1) end

      assert T.sub_u64(5, 5) == 0

      assert_raise_exact ArithmeticError,
                         "CorralTest.Typed.sub_u64/2: integer overflow: 0 - 1 does not fit in 0..18446744073709551615",
                         fn -> T.sub_u64(0, 1) end

      assert T.mul_i64(-3_037_000_499, 3_037_000_499) == -9_223_372_030_926_249_001
      assert_raise ArithmeticError, ~r/mul_i64\/2: integer overflow: 3037000500 \* 3037000500 does not fit/, fn ->
        T.mul_i64(3_037_000_500, 3_037_000_500)
      end

      assert T.def_mul_u64(4_294_967_296, 4_294_967_295) == 18_446_744_069_414_584_320

      assert_raise_exact ArithmeticError,
                         "CorralTest.Typed.def_mul_u64/2: integer overflow: 4294967296 * 4294967296 does not fit in " <>
                           "0..18446744073709551615",
                         fn -> T.def_mul_u64(4_294_967_296, 4_294_967_296) end
    end

    test "the overflow of a resource's counter leaves it unchanged" do
      t = T.tally_new(9_223_372_036_854_775_800)
      assert_raise ArithmeticError, ~r/tally_add\/2: integer overflow: 9223372036854775800 \+ 100/, fn -> T.tally_add(t, 100) end
      assert T.hand_tally_get(t) == 9_223_372_036_854_775_800
    end
  end

  describe "failures reported by pure bodies" do
    test "corral_fail raises the named exception after the body returns; the first report wins" do
      assert T.safe_div(7, 2) == 3
      assert_raise_exact ArgumentError, "CorralTest.Typed.safe_div/2: division by zero (dividing 7)", fn -> T.safe_div(7, 0) end

      assert_raise_exact ArithmeticError,
                         "CorralTest.Typed.safe_div/2: integer overflow: 0 - -9223372036854775808 does not fit in " <>
                           "-9223372036854775808..9223372036854775807",
                         fn -> T.safe_div(-9_223_372_036_854_775_808, -1) end
    end

    test "a user exception module" do
      assert_raise_exact CorralTest.CustomError, "CorralTest.Typed.custom_failure/1: custom failure 7", fn ->
        T.custom_failure(7)
      end
    end
  end

  test "resources in context bodies: typed, closable, with corral_arg_resource's messages" do
    t = T.tally_new(5)
    assert T.tally_add(t, 3) == 8
    assert T.hand_tally_get(t) == 8

    ref = make_ref()
    expected = message_of(fn -> T.hand_tally_get(ref) end)
    assert message_of(fn -> T.tally_add(ref, 1) end) == expected

    assert T.tally_close(t) == :ok
    expected = message_of(fn -> T.hand_tally_get(t) end)
    assert {ArgumentError, "argument 1: expected an open Tally resource, got: a closed one " <> _} = expected
    assert message_of(fn -> T.tally_add(t, 1) end) == expected
  end

  test "resources and indexes in pure bodies: the same checks and messages as with a context" do
    cells = T.cells_new(4)
    assert T.cells_put(cells, 1, 10) == 10
    assert T.cells_put(cells, 3, 5) == 15
    assert T.cells_get(cells, 1) == 10
    assert T.cells_get(cells, 0) == 0

    # Every way an argument can be wrong, against CORRAL_DEF's message.
    ref = make_ref()

    for {args, what} <- [
          {[ref, 0], "a reference"},
          {[:nope, 0], "an atom"},
          {[T.tally_new(1), 0], "a resource of another type"},
          {[cells, 4], "an index at the size"},
          {[cells, -1], "a negative index"},
          {[cells, 1.0], "a float index"},
          {[cells, 2 ** 64], "an index past 64 bits"}
        ] do
      expected = message_of(fn -> apply(T, :def_cells_get, args) end)
      assert {ArgumentError, _} = expected
      assert message_of(fn -> apply(T, :cells_get, args) end) == expected, what
    end

    # The index's bound is the size of the object passed before it.
    small = T.cells_new(1)
    assert T.cells_get(small, 0) == 0
    assert {ArgumentError, message} = message_of(fn -> T.cells_get(small, 1) end)
    assert message == elem(message_of(fn -> T.def_cells_get(small, 1) end), 1)
    assert message =~ "argument 2"

    # A later bad argument after a good resource; a report after the unlock.
    assert {ArgumentError, "argument 3: " <> _} = message_of(fn -> T.cells_put(cells, 0, :x) end)
    assert T.cells_put(cells, 0, 9_223_372_036_854_775_800) == 9_223_372_036_854_775_800
    assert_raise ArithmeticError, ~r/cells_put\/3: integer overflow/, fn -> T.cells_put(cells, 2, 100) end
    # The lock was released: a write takes it again.
    assert T.cells_put(cells, 0, 1) == 1

    # corral_failed: a body that would store an overflowed sum does not.
    assert T.cells_add(cells, 3, 2) == 7
    assert_raise ArithmeticError, ~r/cells_add\/3: integer overflow: 7 \+ 9223372036854775807/, fn ->
      T.cells_add(cells, 3, 9_223_372_036_854_775_807)
    end

    assert T.cells_get(cells, 3) == 7
    assert T.cells_add(cells, 3, -7) == 0
  end

  test "a pure parameter may have its function's name" do
    assert T.twice(21) == 42
    assert {ArgumentError, "argument 1: expected an integer" <> _} = message_of(fn -> T.twice(:x) end)
    assert_raise ArithmeticError, ~r/^CorralTest.Typed.twice\/1: integer overflow/, fn -> T.twice(2 ** 62) end
  end

  test "a closable resource in a pure body: the same checks and messages as with a context" do
    t = T.tally_new(5)
    assert T.tally_peek(t) == 5
    ref = make_ref()
    expected = message_of(fn -> T.hand_tally_get(ref) end)
    assert message_of(fn -> T.tally_peek(ref) end) == expected
    assert T.tally_close(t) == :ok
    expected = message_of(fn -> T.hand_tally_get(t) end)
    assert {ArgumentError, "argument 1: expected an open Tally resource, got: a closed one " <> _} = expected
    assert message_of(fn -> T.tally_peek(t) end) == expected
  end

  test "string, iodata, atoms of a table and lists of scalars, with the getters' messages" do
    assert T.string_bytes("héllo") == 6
    assert T.iodata_bytes(["ab", ?c, ["de"]]) == "abcde"
    assert T.color_index(:blue) == 2
    assert T.sum_i64([1, 2, 3]) == 6
    assert T.sum_i64([]) == 0
    assert T.count_true([true, false, true], [1.0, 2]) == 4
    # The second array starts in the scratch chunk the first one is in and
    # outgrows it.
    assert T.count_true(List.duplicate(true, 10), List.duplicate(1.5, 5000)) == 5010
    assert T.sum_i64(Enum.to_list(1..300_000)) == div(300_000 * 300_001, 2)
    assert T.total_length(["ab", "çd"]) == 5

    for {typed, hand, bad} <- [
          {&T.string_bytes/1, &T.hand_string/1, [<<0xFF>>, "ok" <> <<0xC0, 0x80>>, :a, 1]},
          {&T.iodata_bytes/1, &T.hand_iodata/1, [[256], [:a], 1, ["a" | :b]]},
          {&T.color_index/1, &T.hand_color/1, [:purple, "red", 1]},
          {&T.sum_i64/1, &T.hand_list_i64/1, [[1, :x], [1 | 2], :x, [2 ** 64]]}
        ],
        x <- bad do
      assert message_of(fn -> typed.(x) end) == message_of(fn -> hand.(x) end), inspect(x)
    end

    assert_raise ArgumentError, ~r/count_true\/2: argument 2, index 1: expected a number .*, got: :x/, fn ->
      T.count_true([true], [1.0, :x])
    end

    # Each call starts from the length the last one converted: shorter,
    # longer, much longer, empty and short lists after long ones all
    # convert whole, and a bad element is still found where it is.
    for n <- [100_000, 3, 100_000, 100_001, 130_000, 2_000_000, 1, 0, 40, 100_000] do
      assert T.sum_i64(Enum.to_list(1..n//1)) == div(n * (n + 1), 2), "n = #{n}"
    end

    bad_tail = Enum.to_list(1..99_999) ++ [:x]

    assert {ArgumentError, "argument 1, index 99999: " <> _} = message_of(fn -> T.sum_i64(bad_tail) end)
    assert message_of(fn -> T.sum_i64(bad_tail) end) == message_of(fn -> T.hand_list_i64(bad_tail) end)

    # An overflow in the loop raises from the body, with the call context.
    assert_raise ArithmeticError, ~r/sum_i64\/1: integer overflow/, fn -> T.sum_i64([9_223_372_036_854_775_807, 1]) end
  end

  test "optional values: nil or a value of the word, with the word's messages saying nil is allowed" do
    assert T.opt_i64_or(nil, 7) == 7
    assert T.opt_i64_or(3, 7) == 3
    assert T.opt_bool_known(nil) == false
    assert T.opt_bool_known(false) == true
    assert T.opt_binary_size(nil) == -1
    assert T.opt_binary_size("abc") == 3
    assert T.def_opt_double(nil) == -1.0
    assert T.def_opt_double(2) == 4.0
    assert T.def_opt_string(nil) == -1
    assert T.def_opt_string("é") == 2

    for {typed, hand, bad} <- [
          {&T.opt_i64_or(&1, 0), &T.hand_i64/1, [:x, 1.5, 2 ** 64, "1"]},
          {&T.opt_bool_known/1, &T.hand_bool/1, [:x, 1]},
          {&T.opt_binary_size/1, &T.hand_binary/1, [:x, [1], <<1::3>>]},
          {&T.def_opt_double/1, &T.hand_double/1, [:x, "1.0"]},
          {&T.def_opt_string/1, &T.hand_string/1, [<<0xFF>>, :x]}
        ],
        x <- bad do
      {kind, text} = message_of(fn -> hand.(x) end)
      assert message_of(fn -> typed.(x) end) == {kind, String.replace(text, "expected ", "expected nil or ")}, inspect(x)
    end
  end

  test "a structure parameter's spec is its shape's type, and values of that type decode" do
    # The values the specs describe are the ones the functions take.
    assert T.pair_map_a(%{a: 5, b: "xy"}) == 7
    assert T.pair_record_a({:pair, 5, "xy"}) == 7
    assert T.pair_tuple_a({5, "xy"}) == 7
    assert T.pair_own_a(%{a: 5, b: "xy"}) == 7
    p = %CorralTest.Geo.Point{x: 1.0, y: 2}
    assert T.path_size(%{points: [p, p, p], origin: p, color: :blue, marks: [1, 2]}) == 322

    # And values outside them are refused, as corral_get_struct refuses them.
    assert_raise ArgumentError, fn -> T.pair_map_a(%{a: 2_147_483_648, b: "xy"}) end
    assert_raise ArgumentError, fn -> T.pair_record_a({:other, 5, "xy"}) end
    assert_raise ArgumentError, fn -> T.path_size(%{points: [%{x: 1.0, y: 2.0}], origin: p, color: :blue, marks: []}) end
    assert_raise ArgumentError, fn -> T.path_size(%{points: [], origin: p, color: :pink, marks: []}) end
  end

  test "a decoded array of structures has zeros in the members its shape leaves out" do
    # Memory freed by one call is handed out again to the next: leave some
    # full of 0xFF bytes first (a NaN if read as doubles).
    points = for k <- 1..5000, do: %{x: k * 1.0, y: 0.5}

    for _ <- 1..5 do
      T.dirty_scratch(5000 * 24)
      assert T.unlisted_sum(points) == Enum.sum(1..5000) * 1.0
    end
  end

  test "structures, as corral_get_struct decodes them" do
    p = %CorralTest.Geo.Point{x: -1.5, y: 2}
    assert T.point_norm1(p, nil) == 3.5
    assert T.point_norm1(p, 2) == 7.0

    for bad <- [%{x: 1.0, y: 2.0}, %CorralTest.Geo.Point{x: :a, y: 1.0}, {1.0, 2.0}, nil] do
      assert message_of(fn -> T.point_norm1(bad, nil) end) == message_of(fn -> T.hand_point(bad) end), inspect(bad)
    end
  end

  test "lists of structures, as corral_get_struct_array decodes them" do
    p = %CorralTest.Geo.Point{x: -1.5, y: 2}
    assert T.points_norm1([p, p, %CorralTest.Geo.Point{x: 1, y: 0.5}]) == 8.5
    assert T.points_norm1([]) == 0.0

    assert_raise_exact ArgumentError,
      "CorralTest.Typed.points_norm1/1: argument 1, index 1, field :x: expected a number (a float, or an integer in the 64-bit range), got: :a",
      fn -> T.points_norm1([p, %CorralTest.Geo.Point{x: :a, y: 1.0}]) end

    assert_raise_exact ArgumentError, "CorralTest.Typed.points_norm1/1: argument 1: expected a list, got: #{inspect(p)}",
      fn -> T.points_norm1(p) end

    assert_raise_exact ArgumentError,
      "CorralTest.Typed.points_norm1/1: argument 1: expected a proper list, got: #{inspect([p | p])}",
      fn -> T.points_norm1([p | p]) end
  end

  test "CORRAL_DEF_THREAD: a typed thread job, decoded and run on the pool, waited for or async" do
    assert T.pool_add(40, 2) == 42
    job = T.pool_add_async(1, 2)
    assert_receive {:corral_reply, ^job, {:ok, 3}}, 5000

    # The typed getters' messages and the checked arithmetic, raised in the caller.
    hand = assert_raise ArgumentError, fn -> T.add(1, :x) end
    error = assert_raise ArgumentError, fn -> T.pool_add(1, :x) end
    assert error.message == String.replace(hand.message, "CorralTest.Typed.add/2", "CorralTest.Typed.pool_add/2")
    assert_raise ArithmeticError, ~r"^CorralTest.Typed.pool_add/2: integer overflow", fn -> T.pool_add(9_223_372_036_854_775_807, 1) end

    # Resources too, with corral_arg_resource's checks.
    t = T.tally_new(10)
    assert T.pool_tally(t, 5) == :ok
    assert T.tally_add(t, 0) == 15
    assert_raise ArgumentError, ~r"^CorralTest.Typed.pool_tally/2: argument 1: expected a Tally resource", fn -> T.pool_tally(:nope, 1) end
    T.tally_close(t)
    assert_raise ArgumentError, ~r"^CorralTest.Typed.pool_tally/2: argument 1: .*closed", fn -> T.pool_tally(t, 1) end

    # The spec and doc of the waiting function come from the declaration.
    {:ok, specs} = Code.Typespec.fetch_specs(T)
    assert [{{:pool_add, 2}, [spec]}] = Enum.filter(specs, &match?({{:pool_add, 2}, _}, &1))
    assert Macro.to_string(Code.Typespec.spec_to_quoted(:pool_add, spec)) == "pool_add(a :: integer(), b :: integer()) :: integer()"
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(T)
    assert [{_, _, _, %{"en" => "Adds on a pool thread."}, _}] = Enum.filter(docs, &match?({{:function, :pool_add, 2}, _, _, _, _}, &1))
  end

  describe "(ok, word) results" do
    test "a pure body returns {:ok, value} or, after corral_return_error, {:error, :reason}" do
      assert T.checked_div(7, 2) == {:ok, 3}
      assert T.checked_div(7, 0) == {:error, :division_by_zero}
      assert T.ok_unless(false) == :ok
      assert T.ok_unless(true) == {:error, :refused}
      # Checks and failures still raise.
      assert_raise ArithmeticError, ~r"^CorralTest.Typed.checked_div/2: integer overflow", fn ->
        T.checked_div(-9_223_372_036_854_775_808, -1)
      end

      hand = assert_raise ArgumentError, fn -> T.add(1, :x) end
      error = assert_raise ArgumentError, fn -> T.checked_div(1, :x) end
      assert error.message == String.replace(hand.message, "add/2", "checked_div/2")
    end

    test "in a pure body the first report wins" do
      assert T.ok_reports(0) == {:ok, 1.5}
      assert_raise ArgumentError, "CorralTest.Typed.ok_reports/1: failed first", fn -> T.ok_reports(1) end
      assert T.ok_reports(2) == {:error, :second}
      assert T.ok_reports(3) == {:error, :second}
    end

    test "a reason that is not an atom name, or a result not declared (ok, word), raises" do
      assert_raise RuntimeError, ~r"^CorralTest.Typed.ok_bad_name/1: corral_return_error: the reason a_name_much.* is 211 bytes; a pure body's takes at most 199$", fn ->
        T.ok_bad_name(0)
      end

      # corral_make_atom's own check and message.
      error = assert_raise ArgumentError, fn -> T.ok_bad_name(1) end
      assert error.message == "CorralTest.Typed.ok_bad_name/1: cannot make an atom named #{inspect(<<"bad", 0xFF>>)}: the name is not valid UTF-8"

      assert T.not_ok_result(5) == 5
      assert_raise RuntimeError,
                   "CorralTest.Typed.not_ok_result/1: corral_return_error: the result is not declared (ok, word), so the function cannot return {:error, reason}",
                   fn -> T.not_ok_result(-1) end
    end

    test "with a call context it leaves at once, running the cleanups" do
      before = T.def_releases()
      assert T.def_lookup("key") == {:ok, "key"}
      assert T.def_lookup("?key") == {:error, :unknown}
      assert T.def_lookup("") == {:error, {:empty, 0}}
      assert T.def_releases() == before + 3
      assert T.def_ok_void(false) == :ok
      assert T.def_ok_void(true) == {:error, :refused}
      assert T.hand_error_result(false) == :ok
      assert T.hand_error_result(true) == {:error, :hand}
      # On the pool: a reply like any other.
      assert T.pool_checked(21) == {:ok, 42}
      assert T.pool_checked(0) == {:error, :zero}
      job = T.pool_checked_async(0)
      assert_receive {:corral_reply, ^job, {:ok, {:error, :zero}}}, 5000
    end
  end

  describe "C strings" do
    test "a cstring parameter is the string's bytes, NUL-terminated; an embedded NUL is refused as corral_arg_cstring refuses it" do
      assert T.cstring_len("héllo") == 6
      assert T.cstring_len("") == 0

      assert_raise_exact ArgumentError,
                         "CorralTest.Typed.cstring_len/1: argument 1: expected a string without NUL bytes (byte 1 is NUL), got: " <>
                           inspect("a\0b"),
                         fn -> T.cstring_len("a\0b") end

      for x <- ["a\0b", <<0>>, "ok\0", <<0xFF>>, "ok" <> <<0xC0, 0x80>>, :a, 1, ~c"abc"] do
        expected = message_of(fn -> T.hand_cstring(x) end)
        assert {ArgumentError, _} = expected
        assert message_of(fn -> T.cstring_len(x) end) == expected, inspect(x)
      end
    end

    test "(opt, cstring) is NULL for nil, and says nil is allowed when it refuses" do
      assert T.opt_cstring_len(nil) == -1
      assert T.opt_cstring_len("abc") == 3
      assert T.opt_cstring_len("") == 0

      for x <- ["a\0", <<0xFF>>, :x] do
        {kind, text} = message_of(fn -> T.hand_cstring(x) end)
        assert message_of(fn -> T.opt_cstring_len(x) end) == {kind, String.replace(text, "expected ", "expected nil or ")}, inspect(x)
      end
    end

    test "lists of cstrings, with the route of the bad element" do
      assert T.cstrings_joined(["a", "bc", ""]) == "a+bc+"
      assert T.cstrings_joined([]) == ""

      assert_raise_exact ArgumentError,
                         "CorralTest.Typed.cstrings_joined/1: argument 1, index 1: expected a string without NUL bytes (byte 0 is NUL), got: " <>
                           inspect(<<0, ?x>>),
                         fn -> T.cstrings_joined(["a", <<0, ?x>>]) end
    end

    test "a cstring result is a binary of the bytes before the NUL; NULL is a RuntimeError" do
      assert T.cstring_or_null("héllo", false) == "héllo"

      assert_raise_exact RuntimeError, "CorralTest.Typed.cstring_or_null/2: the body returned NULL for its cstring result", fn ->
        T.cstring_or_null("x", true)
      end

      # In a pure body too, reported after the body returns.
      assert T.pure_version(false) == "1.2.3"

      assert_raise_exact RuntimeError, "CorralTest.Typed.pure_version/1: the body returned NULL for its cstring result", fn ->
        T.pure_version(true)
      end

      assert T.cstring_checked("x") == {:ok, "x"}
      assert T.cstring_checked("") == {:error, :empty}
    end
  end

  test "(ok, (res, Type)): {:ok, object} or {:error, reason}; NULL is a RuntimeError" do
    assert {:ok, t} = T.tally_open(3)
    assert is_reference(t)
    assert T.tally_add(t, 1) == 4
    assert T.tally_open(-1) == {:error, :negative}

    assert_raise_exact RuntimeError,
                       "CorralTest.Typed.tally_open/1: the body returned NULL for its (res, Type) result: return an object made with corral_resource_new",
                       fn -> T.tally_open(0) end

    assert_raise_exact ArgumentError,
                       "CorralTest.Typed.tally_open/1: argument 1: expected an integer in -9223372036854775808..9223372036854775807, got: " <>
                         inspect(:x),
                       fn -> T.tally_open(:x) end
  end

  describe "tuple results" do
    test "a pure body returns the struct <name>_result; the NIF returns the tuple of its members" do
      assert T.divmod(7, 2) == {3, 1}
      assert T.divmod(18_446_744_073_709_551_615, 1) == {18_446_744_073_709_551_615, 0}
      assert_raise_exact ArithmeticError, "CorralTest.Typed.divmod/2: division by zero", fn -> T.divmod(1, 0) end

      hand = message_of(fn -> T.hand_u64(-1) end)
      assert {ArgumentError, "argument 1: " <> _} = hand
      assert message_of(fn -> T.divmod(-1, 1) end) == hand

      assert T.ok_divmod(7, 2) == {:ok, {3, 1}}
      assert T.ok_divmod(7, 0) == {:error, :division_by_zero}
    end

    test "with a call context: resources, doubles and C strings as elements, made left to right" do
      assert {l, r, 0.5, "split"} = T.tally_split(5, 0)
      assert T.hand_tally_get(l) == 2
      assert T.hand_tally_get(r) == 3

      assert_raise_exact RuntimeError,
                         "CorralTest.Typed.tally_split/2: the body returned NULL for its (res, Type) result: return an object made with corral_resource_new",
                         fn -> T.tally_split(5, 1) end

      assert_raise_exact ArithmeticError, "CorralTest.Typed.tally_split/2: the result is NaN, which Erlang floats cannot hold", fn ->
        T.tally_split(5, 2)
      end

      assert {:ok, {t, "label", true}} = T.tally_labelled("label")
      assert T.tally_add(t, 1) == 1
      assert T.tally_labelled("") == {:error, :no_label}
    end

    test "on the pool" do
      assert T.pool_divmod(7, -2) == {-3, 1}
      job = T.pool_divmod_async(9, 3)
      assert_receive {:corral_reply, ^job, {:ok, {3, 0}}}, 5000
      assert_raise_exact RuntimeError, "CorralTest.Typed.pool_divmod/2: cannot divide 1 by 0", fn -> T.pool_divmod(1, 0) end
    end
  end

  test "a result spec written by hand leaves the result as declared" do
    assert {:ok, t} = T.tally_or_busy(false)
    assert T.tally_add(t, 2) == 2
    assert T.tally_or_busy(true) == {:error, :busy}
    assert T.last_digit(1234) == 4
    assert T.spec_ok(2) == :ok
    assert T.spec_ok(3) == {:error, :odd}
  end

  test "CORRAL_EXPORT_FLAGS runs the NIF on a dirty scheduler" do
    assert T.on_dirty() == true
  end

  test "CORRAL_ALIAS: a second row of a typed NIF with its own name in messages, its own flags, and the spec and doc" do
    assert T.add_again(2, 3) == 5
    assert T.def_i64_again(-7) == -7
    # on_dirty's body, listed without the dirty flag.
    assert T.on_normal() == false and T.on_dirty() == true

    assert_raise_exact ArgumentError,
                       "CorralTest.Typed.add_again/2: argument 2: expected an integer in " <>
                         "-9223372036854775808..9223372036854775807, got: #{inspect(:x)}",
                       fn -> T.add_again(1, :x) end

    assert_raise_exact ArithmeticError,
                       "CorralTest.Typed.add_again/2: integer overflow: 9223372036854775807 + 1 does not fit in " <>
                         "-9223372036854775808..9223372036854775807",
                       fn -> T.add_again(9_223_372_036_854_775_807, 1) end

    assert_raise ArgumentError, ~r"^CorralTest\.Typed\.def_i64_again/1: argument 1: ", fn -> T.def_i64_again(1.5) end
    # The original keeps its own name.
    assert_raise ArgumentError, ~r"^CorralTest\.Typed\.add/2: argument 2: ", fn -> T.add(1, :x) end

    {:ok, specs} = Code.Typespec.fetch_specs(T)
    spec = fn key -> Map.new(specs)[key] |> Enum.map(&Macro.to_string(Code.Typespec.spec_to_quoted(elem(key, 0), &1))) end
    assert spec.({:add_again, 2}) == ["add_again(a :: integer(), b :: integer()) :: integer()"]
    assert spec.({:def_i64_again, 1}) == [String.replace(hd(spec.({:def_i64, 1})), "def_i64(", "def_i64_again(")]
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(T)
    assert [{["add_again(a, b)"], %{"en" => "Adds two integers" <> _}}] = for {{:function, :add_again, 2}, _, sig, doc, _} <- docs, do: {sig, doc}
  end

  test "the specs come from the types" do
    {:ok, specs} = Code.Typespec.fetch_specs(T)
    specs = Map.new(specs)

    expected = %{
      {:add, 2} => "add(a :: integer(), b :: integer()) :: integer()",
      {:pure_i8, 1} => "pure_i8(x :: -128..127) :: -128..127",
      {:pure_u8, 1} => "pure_u8(x :: byte()) :: byte()",
      {:pure_u16, 1} => "pure_u16(x :: 0..65535) :: 0..65535",
      {:pure_i32, 1} => "pure_i32(x :: -2147483648..2147483647) :: -2147483648..2147483647",
      {:pure_u64, 1} => "pure_u64(x :: non_neg_integer()) :: non_neg_integer()",
      {:pure_double, 1} => "pure_double(x :: number()) :: float()",
      {:pure_bool, 1} => "pure_bool(x :: boolean()) :: boolean()",
      {:pure_binary_size, 1} => "pure_binary_size(b :: binary()) :: non_neg_integer()",
      {:pure_term_ignored, 1} => "pure_term_ignored(t :: term()) :: :ok",
      {:def_binary, 1} => "def_binary(b :: binary()) :: binary()",
      {:tally_add, 2} => "tally_add(t :: tally(), by :: integer()) :: integer()",
      {:cells_get, 2} => "cells_get(cells :: cells(), i :: non_neg_integer()) :: integer()",
      {:tally_make, 2} => "tally_make(start :: integer(), null :: boolean()) :: tally()",
      {:answer, 0} => "answer() :: byte()",
      {:string_bytes, 1} => "string_bytes(s :: String.t()) :: non_neg_integer()",
      {:iodata_bytes, 1} => "iodata_bytes(data :: iodata()) :: binary()",
      {:color_index, 1} => "color_index(color :: atom()) :: non_neg_integer()",
      {:sum_i64, 1} => "sum_i64(xs :: [integer()]) :: integer()",
      {:count_true, 2} => "count_true(flags :: [boolean()], weights :: [number()]) :: non_neg_integer()",
      {:total_length, 1} => "total_length(names :: [String.t()]) :: non_neg_integer()",
      {:opt_i64_or, 2} => "opt_i64_or(x :: integer() | nil, otherwise :: integer()) :: integer()",
      {:opt_bool_known, 1} => "opt_bool_known(flag :: boolean() | nil) :: boolean()",
      {:def_opt_string, 1} => "def_opt_string(s :: String.t() | nil) :: integer()",
      {:point_norm1, 2} =>
        "point_norm1(p :: %{__struct__: CorralTest.Geo.Point, x: number(), y: number()}, scale :: number() | nil) :: float()",
      {:points_norm1, 1} => "points_norm1(ps :: [%{__struct__: CorralTest.Geo.Point, x: number(), y: number()}]) :: float()",
      {:pair_map_a, 1} => "pair_map_a(p :: %{a: -2147483648..2147483647, b: String.t()}) :: integer()",
      {:pair_record_a, 1} => "pair_record_a(p :: {:pair, -2147483648..2147483647, String.t()}) :: integer()",
      {:pair_tuple_a, 1} => "pair_tuple_a(p :: {-2147483648..2147483647, String.t()}) :: integer()",
      {:pair_own_a, 1} => "pair_own_a(p :: term()) :: integer()",
      {:path_size, 1} =>
        "path_size(path :: %{points: [%{__struct__: CorralTest.Geo.Point, x: number(), y: number()}], " <>
          "origin: %{__struct__: CorralTest.Geo.Point, x: number(), y: number()}, color: atom(), marks: [byte()]}) :: non_neg_integer()",
      {:checked_div, 2} => "checked_div(a :: integer(), b :: integer()) :: {:ok, integer()} | {:error, term()}",
      {:ok_unless, 1} => "ok_unless(fail :: boolean()) :: :ok | {:error, term()}",
      {:ok_reports, 1} => "ok_reports(mode :: integer()) :: {:ok, float()} | {:error, term()}",
      {:def_lookup, 1} => "def_lookup(key :: String.t()) :: {:ok, binary()} | {:error, term()}",
      {:pool_checked, 1} => "pool_checked(a :: non_neg_integer()) :: {:ok, non_neg_integer()} | {:error, term()}",
      {:cstring_len, 1} => "cstring_len(s :: String.t()) :: non_neg_integer()",
      {:opt_cstring_len, 1} => "opt_cstring_len(s :: String.t() | nil) :: integer()",
      {:cstrings_joined, 1} => "cstrings_joined(parts :: [String.t()]) :: String.t()",
      {:pure_version, 1} => "pure_version(null :: boolean()) :: String.t()",
      {:cstring_checked, 1} => "cstring_checked(s :: String.t()) :: {:ok, String.t()} | {:error, term()}",
      {:tally_open, 1} => "tally_open(start :: integer()) :: {:ok, tally()} | {:error, term()}",
      {:divmod, 2} => "divmod(a :: non_neg_integer(), b :: non_neg_integer()) :: {non_neg_integer(), non_neg_integer()}",
      {:ok_divmod, 2} =>
        "ok_divmod(a :: non_neg_integer(), b :: non_neg_integer()) :: {:ok, {non_neg_integer(), non_neg_integer()}} | {:error, term()}",
      {:tally_split, 2} => "tally_split(n :: integer(), mode :: integer()) :: {tally(), tally(), float(), String.t()}",
      {:tally_labelled, 1} => "tally_labelled(label :: String.t()) :: {:ok, {tally(), binary(), boolean()}} | {:error, term()}",
      {:pool_divmod, 2} => "pool_divmod(a :: integer(), b :: integer()) :: {integer(), integer()}",
      {:tally_or_busy, 1} => "tally_or_busy(busy :: boolean()) :: {:ok, tally()} | {:error, :busy}",
      {:last_digit, 1} => "last_digit(x :: non_neg_integer()) :: 0..9",
      {:spec_ok, 1} => "spec_ok(x :: integer()) :: :ok | {:error, :odd}",
      {:mix, 8} =>
        "mix(a :: -128..127, b :: 0..65535, x :: number(), neg :: boolean(), bytes :: binary(), " <>
          "n :: non_neg_integer(), d :: -2147483648..2147483647, e :: non_neg_integer()) :: float()"
    }

    for {{name, arity} = key, text} <- expected do
      assert [spec] = Map.get(specs, key), "no spec for #{name}/#{arity}"
      # Elixir prints a map type with a :__struct__ key as %Mod{...}; the
      # expected texts write that key, so both sides are read as maps.
      got = name |> Code.Typespec.spec_to_quoted(spec) |> struct_types_as_maps()
      # Both sides through the running Elixir's own parser and printer.
      want = Code.string_to_quoted!(text)
      assert Macro.to_string(strip_meta(got)) == Macro.to_string(strip_meta(want)), "#{name}/#{arity}"
    end
  end

  defp struct_types_as_maps(quoted) do
    Macro.prewalk(quoted, fn
      {:%, _, [module, {:%{}, meta, fields}]} -> {:%{}, meta, [{:__struct__, module} | fields]}
      other -> other
    end)
  end

  test "a resource as the result: (res, Type) makes the returned object's term, typed in the spec" do
    t = T.tally_make(5, false)
    assert is_reference(t)
    assert T.tally_add(t, 2) == 7

    assert_raise RuntimeError,
                 "CorralTest.Typed.tally_make/2: the body returned NULL for its (res, Type) result: return an object made with corral_resource_new",
                 fn -> T.tally_make(5, true) end
  end

  test "a resource parameter's spec is a type of the module, named after the C type" do
    {:ok, types} = Code.Typespec.fetch_types(T)
    assert [{:type, {:tally, {:type, _, :reference, []}, []}}] = Enum.filter(types, &match?({_, {:tally, _, _}}, &1))
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(T)
    assert [{_, _, _, %{"en" => "A `Tally` object" <> _}, _}] = Enum.filter(docs, &match?({{:type, :tally, 0}, _, _, _, _}, &1))

    # The name is the C name in snake case, and never a built-in type's.
    names = for c <- ~w(Tally BufferObject HTTPServer my_counter Binary Port node), do: {c, List.to_string(:corral_stubs.resource_type(c))}

    assert names == [
             {"Tally", "tally"},
             {"BufferObject", "buffer_object"},
             {"HTTPServer", "http_server"},
             {"my_counter", "my_counter"},
             {"Binary", "binary_resource"},
             {"Port", "port_resource"},
             {"node", "node_resource"}
           ]
  end

  defp strip_meta(ast), do: Macro.prewalk(ast, &Macro.update_meta(&1, fn _ -> [] end))

  test "the generated functions take the declared argument names, and CORRAL_DOC_OF's doc" do
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(T)
    by_key = for {{:function, n, a}, _, sig, doc, _} <- docs, into: %{}, do: {{n, a}, {sig, doc}}

    assert {["add(a, b)"], %{"en" => "Adds two integers" <> _}} = by_key[{:add, 2}]
    assert {["mix(a, b, x, neg, bytes, n, d, e)"], _} = by_key[{:mix, 8}]
    assert {["tally_add(t, by)"], :none} = by_key[{:tally_add, 2}]
    assert {["answer()"], _} = by_key[{:answer, 0}]
  end
end
