defmodule ZlibTest do
  use ExUnit.Case, async: true
  alias Zlib.Native, as: Z

  test "round trips, and the output is what Erlang's zlib reads" do
    for data <- ["", "hello", :binary.copy("abc", 100_000), :rand.bytes(50_000)] do
      packed = Z.compress(data, 6)
      assert :zlib.uncompress(packed) == data
      assert Z.uncompress(packed, byte_size(data) + 1) == {:ok, data}
      assert Z.uncompress(:zlib.compress(data), byte_size(data) + 1) == {:ok, data}
    end
  end

  test "iodata input" do
    assert :zlib.uncompress(Z.compress(["ab", [?c, "d"]], 1)) == "abcd"
  end

  test "data that is not zlib is an expected outcome: {:error, :invalid_data}" do
    assert Z.uncompress("definitely not zlib", 1000) == {:error, :invalid_data}
    truncated = binary_part(Z.compress(:binary.copy("x", 10_000), 9), 0, 10)
    assert Z.uncompress(truncated, 100_000) == {:error, :invalid_data}
  end

  test "output larger than allowed: {:error, :too_large}" do
    assert Z.uncompress(Z.compress(:binary.copy("z", 100_000), 9), 1000) == {:error, :too_large}
  end

  test "caller mistakes raise ArgumentError" do
    assert_raise ArgumentError, "Zlib.Native.compress/2: argument 2: expected an integer in 0..9, got: 10", fn ->
      Z.compress("x", 10)
    end

    assert_raise ArgumentError,
                 "Zlib.Native.compress/2: argument 1: expected iodata (a binary, or a list of binaries and bytes), got: :x",
                 fn -> Z.compress(:x, 1) end

    assert_raise ArgumentError, "Zlib.Native.uncompress/2: argument 1: expected a binary, got: [1]", fn ->
      Z.uncompress([1], 10)
    end
  end

  test "results are the binaries the NIF wrote into, at their exact size" do
    data = :binary.copy("abcdefgh", 200_000)
    {:ok, out} = Z.uncompress(Z.compress(data, 6), byte_size(data))
    assert out == data
    # Grown from a guess to 1.6 MB by doubling, then handed over shrunk to
    # what zlib wrote: the term holds no spare capacity.
    assert :binary.referenced_byte_size(out) == byte_size(data)
    packed = Z.compress(data, 9)
    assert :binary.referenced_byte_size(packed) == byte_size(packed)
  end

  test "error returns free the output buffer" do
    :erlang.garbage_collect()
    before = :erlang.memory(:binary)
    big = Z.compress(:binary.copy("z", 4_000_000), 9)

    for _ <- 1..200 do
      assert Z.uncompress(big, 2_000_000) == {:error, :too_large}
    end

    :erlang.garbage_collect()
    # 400 MB if the 2 MB buffers leaked.
    assert :erlang.memory(:binary) - before < 50_000_000
  end

  test "the linked library answers" do
    assert Z.version() =~ ~r/^\d+\.\d+/
  end
end
