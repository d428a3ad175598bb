defmodule CorralTest.AtomTest do
  # Sections "Atoms" and "Results" of corral.h.
  use ExUnit.Case, async: true
  import CorralTest.Case
  alias CorralTest.Native, as: N

  test "CORRAL_ATOMS tables map atoms to positions and back" do
    assert N.color_index(:red) == 0
    assert N.color_index(:blue) == 2
    assert N.color_atom(1) == :green
    assert N.next_color(:blue) == :red
  end

  test "corral_arg_enum lists the allowed atoms" do
    for bad <- [:pink, "red", 0, nil] do
      assert_raise_exact ArgumentError,
        "CorralTest.Native.color_index/1: argument 1: expected one of :red, :green or :blue, got: #{inspect(bad)}",
        fn -> N.color_index(bad) end
    end
  end

  test "corral_arg_bool and corral_make_bool" do
    assert N.negate(true) == false
    assert N.negate(false) == true

    for bad <- [nil, 1, "true", :yes] do
      assert_raise_exact ArgumentError,
        "CorralTest.Native.negate/1: argument 1: expected a boolean, got: #{inspect(bad)}",
        fn -> N.negate(bad) end
    end
  end

  test "corral_make_nil" do
    assert N.make_nil() == nil
  end

  test "result helpers" do
    assert N.ok() == :ok
    assert N.ok_tuple([1]) == {:ok, [1]}
    assert N.error_tuple(:enoent) == {:error, :enoent}
  end
end
