defmodule CorralTest.CallTest do
  # Section "The call context" and "The export table" of corral.h.
  use ExUnit.Case, async: true
  import CorralTest.Case
  alias CorralTest.Native, as: N

  test "stubs are generated from the C export table with the declared arities" do
    exports = N.__info__(:functions)
    assert {:add, 2} in exports
    assert {:argc_of, 3} in exports
    assert {:dirty_add, 2} in exports
    assert {:__corral_live__, 0} in exports
    refute {:add, 3} in exports
  end

  test "corral_argc is the arity in the table" do
    assert N.argc_of(:a, :b, :c) == 3
  end

  test "corral_arg returns the raw term" do
    term = %{a: [1, {2, "x"}]}
    assert N.arg_raw(term) == term
  end

  test "corral_arg past the arity raises RuntimeError naming the bug" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.arg_beyond/1: argument index 2 is out of range: the function has 1 arguments (a bug in the NIF: positions are 0-based in C)",
      fn -> N.arg_beyond(1) end
  end

  test "corral_env gives the call's environment" do
    assert N.env_is_set() == true
  end

  test "CORRAL_FN_FLAGS runs the function on a dirty scheduler with the same checks" do
    assert N.dirty_add(2, 3) == 5
    assert_raise_exact ArgumentError,
      "CorralTest.Native.dirty_add/2: argument 1: expected an integer in -9223372036854775808..9223372036854775807, got: :a",
      fn -> N.dirty_add(:a, 1) end
  end

  test "calling with the wrong number of arguments is an UndefinedFunctionError, never a crash" do
    assert_raise UndefinedFunctionError, fn -> apply(N, :add, [1]) end
  end
end
