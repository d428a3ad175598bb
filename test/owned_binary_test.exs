defmodule CorralTest.OwnedBinaryTest do
  # corral_owned_new / corral_owned_resize / corral_owned_finish (section
  # "Binaries" of corral.h), through CorralTest.Typed.
  use ExUnit.Case, async: false
  import CorralTest.Case
  import Bitwise
  alias CorralTest.Typed, as: T

  test "output of unknown size grows in place and is handed over at its exact size" do
    assert T.owned_repeat("ab", 3) == "ababab"
    assert T.owned_repeat("x", 0) == ""

    out = T.owned_repeat("0123456789", 100_000)
    assert byte_size(out) == 1_000_000
    assert out == :binary.copy("0123456789", 100_000)
    # The term is the owned binary itself, shrunk to what was written: no
    # slack from the doubling, and not a copy into a smaller binary (that
    # would be a fresh binary too, but the shrink is what is checked here).
    assert :binary.referenced_byte_size(out) == 1_000_000
  end

  test "a thread job builds and hands over an owned binary" do
    assert T.owned_job(100_000) == :binary.copy("x", 100_000)
    assert T.owned_job(0) == ""
  end

  test "a raise frees the owned bytes" do
    gc_all()
    before = memory()

    for _ <- 1..200 do
      assert_raise RuntimeError, "CorralTest.Typed.owned_then_raise/1: raised with 1000000 owned bytes", fn ->
        T.owned_then_raise(1_000_000)
      end
    end

    gc_all()
    # 200 MB if the bytes leaked.
    assert_memory_back(before, 20_000_000)
  end

  test "misuse is a RuntimeError naming the function, and frees what was owned" do
    assert_raise_exact RuntimeError,
                       "CorralTest.Typed.owned_misuse/1: corral_owned_finish: the owned binary was already handed over by corral_owned_finish",
                       fn -> T.owned_misuse(0) end

    assert_raise_exact RuntimeError,
                       "CorralTest.Typed.owned_misuse/1: corral_owned_finish: 9 bytes asked of an owned binary of 8",
                       fn -> T.owned_misuse(1) end

    assert_raise_exact RuntimeError,
                       "CorralTest.Typed.owned_misuse/1: corral_owned_resize: the owned binary was already handed over by corral_owned_finish",
                       fn -> T.owned_misuse(2) end
  end

  test "a size no VM can have is refused before allocating" do
    assert T.owned_sized(10) == 10
    error = assert_raise ArgumentError, fn -> T.owned_sized(1 <<< 62) end
    assert Exception.message(error) =~ "CorralTest.Typed.owned_sized/1: cannot allocate a binary of 4611686018427387904 bytes"
  end
end
