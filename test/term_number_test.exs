defmodule CorralTest.TermNumberTest do
  # corral.h, "Integers" (every width, 128-bit, big integers) and "Floats"
  # (corral_get_float), through CorralTest.Terms.
  use ExUnit.Case, async: true
  import CorralTest.Case
  import Bitwise
  alias CorralTest.Terms, as: T

  @widths [
    i8: {-128, 127},
    i16: {-32_768, 32_767},
    i32: {-2_147_483_648, 2_147_483_647},
    i64: {-(1 <<< 63), (1 <<< 63) - 1},
    u8: {0, 255},
    u16: {0, 65_535},
    u32: {0, 4_294_967_295},
    u64: {0, (1 <<< 64) - 1},
    int: {-2_147_483_648, 2_147_483_647},
    uint: {0, 4_294_967_295},
    long: {-(1 <<< 63), (1 <<< 63) - 1},
    ulong: {0, (1 <<< 64) - 1},
    size: {0, (1 <<< 64) - 1},
    ssize: {-(1 <<< 63), (1 <<< 63) - 1},
    intptr: {-(1 <<< 63), (1 <<< 63) - 1},
    uintptr: {0, (1 <<< 64) - 1}
  ]

  for {w, {lo, hi}} <- @widths do
    test "#{w}: the boundaries go in and come back exactly" do
      for v <- [unquote(lo), unquote(lo) + 1, 0, 1, unquote(hi) - 1, unquote(hi)] do
        assert T.width(unquote(w), v) === v
      end
    end

    test "#{w}: one past each boundary and non-integers raise, never truncate" do
      for bad <- [unquote(lo) - 1, unquote(hi) + 1, 1 <<< 70, 1.0, :a, "1", nil] do
        assert_raise_exact ArgumentError,
          "CorralTest.Terms.width/2: argument 2: expected an integer in #{unquote(lo)}..#{unquote(hi)}, got: #{inspect(bad)}",
          fn -> T.width(unquote(w), bad) end
      end
    end
  end

  test "128-bit integers: boundaries, arithmetic beyond 64 bits, and range errors" do
    for v <- [0, 1, -1, (1 <<< 64) + 5, -(1 <<< 64), -(1 <<< 127), (1 <<< 127) - 1] do
      assert T.i128(v) == v
    end

    for v <- [0, 1 <<< 64, (1 <<< 128) - 1], do: assert(T.u128(v) == v)
    assert T.i128_add((1 <<< 64) - 1, 1) == 1 <<< 64
    assert T.i128_add(-(1 <<< 100), 3) == -(1 <<< 100) + 3

    i128_range = "-170141183460469231731687303715884105728..170141183460469231731687303715884105727"

    for bad <- [1 <<< 127, -(1 <<< 127) - 1, 1 <<< 200] do
      assert_raise_exact ArgumentError,
        "CorralTest.Terms.i128/1: argument 1: expected an integer in #{i128_range}, got: #{bad}",
        fn -> T.i128(bad) end
    end

    for bad <- [-1, 1 <<< 128] do
      assert_raise_exact ArgumentError,
        "CorralTest.Terms.u128/1: argument 1: expected an integer in 0..340282366920938463463374607431768211455, got: #{bad}",
        fn -> T.u128(bad) end
    end

    assert_raise_exact ArgumentError, "CorralTest.Terms.i128/1: argument 1: expected an integer, got: 1.5", fn -> T.i128(1.5) end
    assert_raise_exact ArgumentError, "CorralTest.Terms.i128_add/2: the sum does not fit in 128 bits",
      fn -> T.i128_add((1 <<< 127) - 1, 1) end
  end

  test "big integers as little-endian bytes, both ways, any size" do
    for v <- [0, 1, -1, 255, 256, -(1 <<< 63), 1 <<< 63, (1 <<< 64) - 1, 1 <<< 64, -(1 <<< 64), 3 ** 200, -(7 ** 900)] do
      {neg, bytes} = T.bigint_bytes(v)
      assert neg == v < 0
      assert bytes == :binary.encode_unsigned(abs(v), :little) |> String.trim_trailing(<<0>>)
      assert T.bigint_make(neg, bytes) == v
      # Leading zero bytes of the magnitude are ignored.
      assert T.bigint_make(neg, bytes <> <<0, 0>>) == v
    end

    assert T.bigint_make(true, <<>>) == 0
    assert T.bigint_make(false, :binary.copy(<<255>>, 300)) == (1 <<< 2400) - 1
    assert_raise_exact ArgumentError, "CorralTest.Terms.bigint_bytes/1: argument 1: expected an integer, got: :a",
      fn -> T.bigint_bytes(:a) end
  end

  test "corral_get_float: numbers within a float's range, rounded" do
    assert T.float(1.5) == 1.5
    assert T.float(3) == 3.0
    assert T.float(0.1) == 0.10000000149011612
    assert T.float(-3.0e38) == -3.0000000054977558e38
    # FLT_MAX as usually written is a little above it, and rounds to it.
    assert T.float(3.4028235e38) == 3.4028234663852886e38
    assert T.float(-3.4028235e38) == -3.4028234663852886e38
    # The midpoint to the next power of two rounds to infinity.
    midpoint = 3.4028234663852886e38 + :math.pow(2, 103)

    for bad <- [1.0e39, -1.0e39, midpoint, -midpoint, :a] do
      expected =
        if is_float(bad),
          do: "expected a number in the range of a float (at most 3.40282e+38 in magnitude)",
          else: "expected a number (a float, or an integer in the 64-bit range)"

      assert_raise_exact ArgumentError, "CorralTest.Terms.float/1: argument 1: #{expected}, got: #{inspect(bad)}",
        fn -> T.float(bad) end
    end
  end
end
