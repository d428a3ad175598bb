defmodule CorralTest.TermStructTest do
  # corral.h, "Structures, declared once": Elixir structs, maps, records,
  # tuples, nested structures, lists of structures, enums and tagged unions.
  use ExUnit.Case, async: true
  import CorralTest.Case
  alias CorralTest.Terms, as: T
  alias CorralTest.Geo.{Point, Polygon}

  @number "expected a number (a float, or an integer in the 64-bit range)"

  defp polygon do
    %Polygon{name: "tri", color: :green, width: 2, closed: true,
             points: [%Point{x: 0.0, y: 0.0}, %Point{x: 1.0, y: 0.5}, %Point{x: 0.0, y: 1.0}],
             weights: [1, -2, 2_147_483_647], origin: {0.5, -1.0}}
  end

  test "a struct goes through C and back in every form" do
    assert T.point(:struct, %Point{x: 1.5, y: -2.0}) == %Point{x: 1.5, y: -2.0}
    assert T.point(:struct, %Point{x: 1, y: 2}) == %Point{x: 1.0, y: 2.0}
    assert T.point(:map, %{x: 1.5, y: 2.5}) == %{x: 1.5, y: 2.5}
    assert T.point(:record, {:point, 1.0, 2.0}) == {:point, 1.0, 2.0}
    assert T.point(:tuple, {1.0, 2.0}) == {1.0, 2.0}
  end

  test "nested structs, lists of structs, enums, strings and arrays" do
    assert T.polygon(polygon()) == polygon()
    assert T.polygon(%{polygon() | points: [], weights: []}) == %{polygon() | points: [], weights: []}
    assert T.polygon_points(polygon()) == 3
    many = for i <- 1..10_000, do: %Point{x: i * 1.0, y: 0.0}
    assert T.points(many) == for(i <- 1..10_000, do: %Point{x: i + 1.0, y: 0.0})
    assert T.points([]) == []
    # Integers for doubles leave the quick test of plain structs for the full decoding.
    assert T.points([%Point{x: 1, y: 2}, %Point{x: 2.5, y: -3}]) == [%Point{x: 2.0, y: 2.0}, %Point{x: 3.5, y: -3.0}]
  end

  test "tagged unions: {:tag, value} and bare tags" do
    assert T.shape({:circle, 2.5}) == {:circle, 2.5}
    assert T.shape({:square, %Point{x: 1.0, y: 2.0}}) == {:square, %Point{x: 1.0, y: 2.0}}
    assert T.shape(:empty) == :empty

    for bad <- [{:oval, 1}, :circle, {:empty, 1}, {:circle, 1, 2}, "circle"] do
      assert_raise_exact ArgumentError,
        "CorralTest.Terms.shape/1: argument 1: expected one of {:circle, _}, {:square, _} or :empty, got: #{inspect(bad)}",
        fn -> T.shape(bad) end
    end

    assert_raise_exact ArgumentError, "CorralTest.Terms.shape/1: argument 1, element 1, field :y: #{@number}, got: :a",
      fn -> T.shape({:square, %Point{x: 1, y: :a}}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.shape/1: argument 1, element 1: #{@number}, got: \"2\"",
      fn -> T.shape({:circle, "2"}) end
  end

  test "the wrong shape is named with the expected struct, record or tuple" do
    assert_raise_exact ArgumentError,
      "CorralTest.Terms.point/2: argument 2: expected a %CorralTest.Geo.Point{} struct, got: #{inspect(%{x: 1, y: 2})}",
      fn -> T.point(:struct, %{x: 1, y: 2}) end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.point/2: argument 2: expected a %CorralTest.Geo.Point{} struct, got: #{inspect(%Polygon{})}",
      fn -> T.point(:struct, %Polygon{}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.point/2: argument 2: expected a map of Point, got: {1, 2}",
      fn -> T.point(:map, {1, 2}) end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.point/2: argument 2: expected a Point record {:point, ...} of 3 elements, got: {:pt, 1, 2}",
      fn -> T.point(:record, {:pt, 1, 2}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.point/2: argument 2: expected a Point tuple of 2 elements, got: {1}",
      fn -> T.point(:tuple, {1}) end
  end

  test "missing fields, extra fields and wrong types are named with their route" do
    assert_raise_exact ArgumentError, "CorralTest.Terms.point/2: argument 2: missing field :y, got: %{x: 1}",
      fn -> T.point(:map, %{x: 1}) end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.point/2: argument 2: unexpected key :z (Point has no such field), got: #{inspect(%{x: 1, y: 2, z: 3})}",
      fn -> T.point(:map, %{x: 1, y: 2, z: 3}) end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.point/2: argument 2: unexpected key :z (Point has no such field), got: #{inspect(Map.put(%Point{x: 1, y: 2}, :z, 3))}",
      fn -> T.point(:struct, Map.put(%Point{x: 1, y: 2}, :z, 3)) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.point/2: argument 2, field :x: #{@number}, got: \"1\"",
      fn -> T.point(:struct, %Point{x: "1", y: 2}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.point/2: argument 2, field :y: #{@number}, got: nil",
      fn -> T.point(:record, {:point, 1, nil}) end

    p = polygon()

    cases = [
      {%{p | color: :pink}, "field :color: expected one of :red, :green or :blue, got: :pink"},
      {%{p | width: 256}, "field :width: expected an integer in 0..255, got: 256"},
      {%{p | closed: 1}, "field :closed: expected a boolean, got: 1"},
      {%{p | name: <<0xFF>>}, "field :name: expected a UTF-8 string (byte 0 is not valid UTF-8), got: <<255>>"},
      {%{p | points: [%Point{x: 0, y: 0}, %Point{x: "1", y: 0}]}, "field :points, index 1, field :x: #{@number}, got: \"1\""},
      {%{p | points: [%Point{x: 0, y: 0} | :tail]}, "field :points: expected a proper list, got: #{inspect([%Point{x: 0, y: 0} | :tail])}"},
      {%{p | weights: [1, 2_147_483_648]}, "field :weights, index 1: expected an integer in -2147483648..2147483647, got: 2147483648"},
      {%{p | origin: {0.0, :up}}, "field :origin, field :y: #{@number}, got: :up"}
    ]

    for {bad, message} <- cases do
      assert_raise_exact ArgumentError, "CorralTest.Terms.polygon/1: argument 1, #{message}", fn -> T.polygon(bad) end
    end

    assert_raise_exact ArgumentError, "CorralTest.Terms.points/1: argument 1, index 2: expected a %CorralTest.Geo.Point{} struct, got: {1, 2}",
      fn -> T.points([%Point{x: 0, y: 0}, %Point{x: 0, y: 0}, {1, 2}]) end

    # What the quick test of plain structs refuses gets the full decoding's message.
    assert_raise ArgumentError, ~r"^CorralTest.Terms.points/1: argument 1, index 1: unexpected key :z \(Point has no such field\)",
      fn -> T.points([%Point{x: 0.0, y: 0.0}, Map.put(%Point{x: 0.0, y: 0.0}, :z, 1)]) end
    assert_raise ArgumentError, ~r"^CorralTest.Terms.points/1: argument 1, index 0: missing field :y",
      fn -> T.points([Map.delete(%Point{x: 0.0, y: 0.0}, :y)]) end
    assert_raise ArgumentError, ~r"^CorralTest.Terms.points/1: argument 1, index 1, field :x: ",
      fn -> T.points([%Point{x: 0.0, y: 0.0}, %Point{x: :one, y: 0.0}]) end
  end

  test "bad C data going out raises instead of making a wrong term" do
    assert_raise_exact RuntimeError,
      "CorralTest.Terms.bad_color/0: field color of Polygon holds 7, which is not a position in its atom table (3 atoms)",
      fn -> T.bad_color() end

    assert_raise_exact RuntimeError, "CorralTest.Terms.null_points/0: field points of Polygon is NULL with a count of 3",
      fn -> T.null_points() end

    assert_raise_exact RuntimeError, "CorralTest.Terms.bad_tag/0: the tag of Shape is 9, which is not a variant (3 variants)",
      fn -> T.bad_tag() end

    assert_raise_exact ArithmeticError, "CorralTest.Terms.nan_point/0: the result is NaN, which Erlang floats cannot hold",
      fn -> T.nan_point() end
  end

  # Shapes of doubles and 64-bit integers only (up to 15 fields) go through
  # loops their CORRAL_STRUCT compiles; what those refuse goes through the
  # generic walk, which converts it or raises its exact message.
  test "arrays of doubles and 64-bit integers: converted, refused and raised as any other shape" do
    assert T.samples([%{id: 1, value: 2.5, count: 3}, %{id: -5, value: 1, count: 0}]) ==
             [%{id: 1, value: 5.0, count: 4}, %{id: -5, value: 2.0, count: 1}]

    assert T.samples([]) == []
    assert T.sample(%{id: 9_223_372_036_854_775_807, value: -1, count: -9_223_372_036_854_775_808}) ==
             %{id: 9_223_372_036_854_775_807, value: -2.0, count: -9_223_372_036_854_775_807}

    int64 = "expected an integer in -9223372036854775808..9223372036854775807"

    assert_raise_exact ArgumentError, "CorralTest.Terms.samples/1: argument 1, index 1, field :id: #{int64}, got: 1.0",
      fn -> T.samples([%{id: 1, value: 1.0, count: 1}, %{id: 1.0, value: 1.0, count: 1}]) end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.samples/1: argument 1, index 0, field :count: #{int64}, got: 9223372036854775808",
      fn -> T.samples([%{id: 1, value: 1.0, count: 9_223_372_036_854_775_808}]) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.sample/1: argument 1, field :value: #{@number}, got: :x",
      fn -> T.sample(%{id: 1, value: :x, count: 1}) end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.samples/1: argument 1, index 0: expected a map of Sample, got: #{inspect({1, 2.0, 3})}",
      fn -> T.samples([{1, 2.0, 3}]) end

    assert_raise ArgumentError, ~r"^CorralTest.Terms.samples/1: argument 1, index 2: missing field :count",
      fn -> T.samples(List.duplicate(%{id: 1, value: 1.0, count: 1}, 2) ++ [%{id: 1, value: 1.0}]) end

    # Going out: a float that is not finite, at any index.
    for {what, name} <- [{0, "NaN"}, {1, "infinity"}, {2, "-infinity"}], k <- [0, 2] do
      assert_raise_exact ArithmeticError,
        "CorralTest.Terms.samples_with/3: the result is #{name}, which Erlang floats cannot hold",
        fn -> T.samples_with(3, k, what) end
    end
  end

  test "the most fields such a shape has (15), and one more (16), convert alike" do
    row = fn n -> Map.new(0..(n - 1), fn k -> {:"a#{k}", if(k in [1, 14], do: k * 1.0, else: k)} end) end

    for {n, fun} <- [{15, &T.wide15/1}, {16, &T.wide16/1}] do
      r = row.(n)
      assert fun.([r, r]) == [%{r | a0: 1}, %{r | a0: 1}]
      # An integer for the double a14 is accepted by the generic walk.
      assert [%{a14: 14.0}] = fun.([%{r | a14: 14}])

      assert_raise ArgumentError, ~r"^CorralTest.Terms.wide#{n}/1: argument 1, index 1: unexpected key :z",
        fn -> fun.([r, Map.put(r, :z, 0)]) end
    end
  end

  test "a field whose member does not have the declared type's size does not compile" do
    dir = Path.join(System.tmp_dir!(), "corral_shape_#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    src = Path.join(dir, "shape.c")

    File.write!(src, """
    #include <corral.h>
    typedef struct { float f; } Bad;
    CORRAL_STRUCT(bad_shape, Bad, CORRAL_AS_MAP(), CORRAL_FIELD(Bad, f, CORRAL_DOUBLE));
    """)

    cc = System.get_env("CC", "cc")
    args = ["-std=gnu11", "-I", Corral.include_dir(), "-I", Corral.Compiler.find_erts_include!(), "-c", src, "-o", Path.join(dir, "shape.o")]
    {out, status} = System.cmd(cc, args, stderr_to_stdout: true)
    assert status != 0
    assert out =~ "Corral: member f of Bad does not have the size of its declared type"

    # The same table with the right type compiles.
    File.write!(src, String.replace(File.read!(src), "CORRAL_DOUBLE", "CORRAL_FLOAT"))
    assert {_, 0} = System.cmd(cc, args, stderr_to_stdout: true)
    File.rm_rf!(dir)
  end
end
