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

    assert_raise_exact ArgumentError, "CorralTest.Terms.shape/1: argument 1, index 1, field :y: #{@number}, got: :a",
      fn -> T.shape({:square, %Point{x: 1, y: :a}}) end

    assert_raise_exact ArgumentError, "CorralTest.Terms.shape/1: argument 1, index 1: #{@number}, got: \"2\"",
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
