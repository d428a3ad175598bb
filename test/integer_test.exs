defmodule CorralTest.IntegerTest do
  # Section "Integers" of corral.h: success at the boundaries, and every
  # way a getter can fail with its exact message.
  use ExUnit.Case, async: true
  import CorralTest.Case
  import Bitwise
  alias CorralTest.Native, as: N

  @i64 {-9_223_372_036_854_775_808, 9_223_372_036_854_775_807}
  @u64 {0, 18_446_744_073_709_551_615}
  @int {-2_147_483_648, 2_147_483_647}
  @uint {0, 4_294_967_295}

  for {fun, {lo, hi}} <- [i64: @i64, u64: @u64, int: @int, uint: @uint, size: @u64, u8: {0, 255}] do
    test "corral_arg_#{fun} accepts #{lo}..#{hi}" do
      for v <- [unquote(lo), unquote(lo) + 1, div(unquote(lo) + unquote(hi), 2), unquote(hi) - 1, unquote(hi)] do
        assert apply(N, unquote(fun), [v]) == v
      end
    end

    test "corral_arg_#{fun} rejects values outside #{lo}..#{hi} and non-integers" do
      for bad <- [unquote(lo) - 1, unquote(hi) + 1, unquote(hi) * 4 + 1, 1.0, :one, "1", [1], nil, make_ref()] do
        assert_raise_exact ArgumentError,
          "CorralTest.Native.#{unquote(fun)}/1: argument 1: expected an integer in #{unquote(lo)}..#{unquote(hi)}, got: #{inspect(bad)}",
          fn -> apply(N, unquote(fun), [bad]) end
      end
    end
  end

  test "corral_arg_int_range accepts its bounds and names the range when it fails" do
    assert N.int_range(-5, -5, 5) == -5
    assert N.int_range(5, -5, 5) == 5

    for bad <- [-6, 6, 2.0, :x] do
      assert_raise_exact ArgumentError,
        "CorralTest.Native.int_range/3: argument 1: expected an integer in -5..5, got: #{inspect(bad)}",
        fn -> N.int_range(bad, -5, 5) end
    end
  end

  test "corral_arg_index: 0..n-1" do
    assert N.index_below(0, 1) == 0
    assert N.index_below(1023, 1024) == 1023

    for bad <- [1024, 5000, -1, 1.0, :x] do
      assert_raise_exact ArgumentError,
        "CorralTest.Native.index_below/2: argument 1: expected an index below 1024, got: #{inspect(bad)}",
        fn -> N.index_below(bad, 1024) end
    end
  end

  test "corral_arg_index into nothing" do
    assert_raise_exact ArgumentError,
      "CorralTest.Native.index_below/2: argument 1: expected an index, but there is nothing to index (size 0), got: 0",
      fn -> N.index_below(0, 0) end
  end

  test "the position in the message is the failing argument's" do
    assert N.add(40, 2) == 42

    assert_raise_exact ArgumentError,
      "CorralTest.Native.add/2: argument 2: expected an integer in -9223372036854775808..9223372036854775807, got: \"2\"",
      fn -> N.add(40, "2") end
  end

  test "corral_try_i64 returns a status instead of raising" do
    assert N.try_i64(7) == {:ok, 7}
    assert N.try_i64(:seven) == {:error, -1}
    assert N.try_i64(1 <<< 70) == {:error, -1}
  end

  test "makers round-trip the extremes" do
    {lo, hi} = @i64
    assert N.i64(lo) == lo and N.i64(hi) == hi
    {_, uhi} = @u64
    assert N.u64(uhi) == uhi
  end

end
