defmodule CorralTest.BinaryTest do
  # Section "Binaries" of corral.h.
  use ExUnit.Case, async: true
  import CorralTest.Case
  alias CorralTest.Native, as: N

  test "corral_arg_binary views the bytes without copying" do
    assert N.byte_sum(<<>>) == 0
    assert N.byte_sum(<<1, 2, 255>>) == 258
    big = :binary.copy(<<255>>, 1_000_000)
    assert N.byte_sum(big) == 255_000_000
    # a sub-binary
    <<_, middle::binary-3, _>> = <<9, 1, 2, 3, 9>>
    assert N.byte_sum(middle) == 6
  end

  test "corral_arg_binary rejects bitstrings, iolists and other terms" do
    for bad <- [<<1::3>>, ["a"], :a, 1, nil] do
      assert_raise_exact ArgumentError,
        "CorralTest.Native.byte_sum/1: argument 1: expected a binary, got: #{inspect(bad)}",
        fn -> N.byte_sum(bad) end
    end
  end

  test "corral_arg_iodata flattens iolists" do
    assert N.iodata_copy("abc") == "abc"
    assert N.iodata_copy(["a", [?b, "c"], [], "d"]) == "abcd"
    assert N.iodata_copy([]) == ""
  end

  test "corral_arg_iodata rejects what is not iodata" do
    for bad <- [[256], [:a], ["a" | :b], 1, <<1::1>>] do
      assert_raise_exact ArgumentError,
        "CorralTest.Native.iodata_copy/1: argument 1: expected iodata (a binary, or a list of binaries and bytes), got: #{inspect(bad)}",
        fn -> N.iodata_copy(bad) end
    end
  end

  test "corral_new_binary fills a binary in place; corral_make_binary copies" do
    assert N.reverse("hello") == "olleh"
    assert N.reverse("") == ""
    assert N.empty_binary() == ""
  end
end
