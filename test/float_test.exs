defmodule CorralTest.FloatTest do
  # Section "Floats" of corral.h.
  use ExUnit.Case, async: true
  import CorralTest.Case
  import Bitwise
  alias CorralTest.Native, as: N

  test "corral_arg_double takes floats as they are" do
    for f <- [0.0, -0.0, 1.5, -2.25e300, 5.0e-324, 1.7976931348623157e308] do
      assert N.double(f) === f
    end
  end

  test "corral_arg_double takes integers and converts them" do
    assert N.double(3) === 3.0
    assert N.double(-9_007_199_254_740_993) === -9_007_199_254_740_992.0
  end

  test "corral_arg_double rejects other terms and integers beyond 64 bits" do
    for bad <- [:x, "1.0", nil, 1 <<< 64, [1.0]] do
      assert_raise_exact ArgumentError,
        "CorralTest.Native.double/1: argument 1: expected a number (a float, or an integer in the 64-bit range), got: #{inspect(bad)}",
        fn -> N.double(bad) end
    end
  end

  test "corral_make_double refuses NaN and infinities with ArithmeticError" do
    assert N.divide(1, 4) == 0.25

    assert_raise_exact ArithmeticError,
      "CorralTest.Native.divide/2: the result is infinity, which Erlang floats cannot hold",
      fn -> N.divide(1, 0) end

    assert_raise_exact ArithmeticError,
      "CorralTest.Native.divide/2: the result is -infinity, which Erlang floats cannot hold",
      fn -> N.divide(-1, 0) end

    assert_raise_exact ArithmeticError,
      "CorralTest.Native.divide/2: the result is NaN, which Erlang floats cannot hold",
      fn -> N.divide(0, 0) end
  end

end
