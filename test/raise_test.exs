defmodule CorralTest.RaiseTest do
  # Section "Raising" of corral.h.
  use ExUnit.Case, async: true
  import CorralTest.Case
  alias CorralTest.Native, as: N

  test "corral_raise_arg: function, 1-based position, expectation and the term as Elixir shows it" do
    assert_raise_exact ArgumentError,
      ~s(CorralTest.Native.raise_arg/1: argument 1: expected something else, got: %{a: "b"}),
      fn -> N.raise_arg(%{a: "b"}) end
  end

  test "a long bad term is cut" do
    error = assert_raise ArgumentError, fn -> N.raise_arg(String.duplicate("x", 10_000)) end
    message = Exception.message(error)
    assert byte_size(message) < 400
    assert String.ends_with?(message, "...")
  end

  test "corral_raise_argument" do
    assert_raise_exact ArgumentError, "CorralTest.Native.raise_argument/0: the options conflict: 42",
      fn -> N.raise_argument() end
  end

  test "corral_raise raises RuntimeError" do
    assert_raise_exact RuntimeError, "CorralTest.Native.raise_runtime/0: the device is on fire",
      fn -> N.raise_runtime() end
  end

  test "corral_raise_exception raises the named exception struct" do
    assert_raise_exact CorralTest.CustomError, "CorralTest.Native.raise_exception/0: code 7",
      fn -> N.raise_exception() end
  end

  test "corral_raise_term raises the term as an Erlang error" do
    assert {:error, {:my, :reason}} ==
             (try do
                N.raise_term({:my, :reason})
              catch
                kind, reason -> {kind, reason}
              end)
  end

  test "corral_raise_oom" do
    assert_raise_exact RuntimeError, "CorralTest.Native.raise_oom/0: out of memory allocating 12345 bytes",
      fn -> N.raise_oom() end
  end

  test "a check deep in helper functions unwinds to the boundary" do
    assert N.deep(20) == 42
    assert_raise_exact ArgumentError,
      "CorralTest.Native.deep/1: argument 1: expected an integer in -1000000..1000000, got: 1.5",
      fn -> N.deep(1.5) end
  end

  test "a raise in Erlang code is catchable and the VM goes on" do
    for _ <- 1..10_000 do
      assert_raise ArgumentError, fn -> N.deep(:nope) end
    end

    assert N.deep(1) == 4
  end

  test "corral_inspect prints terms as Elixir does and respects the buffer size" do
    assert N.inspect(:ok, 100) == ":ok"
    assert N.inspect([1, 2], 100) == "[1, 2]"
    assert N.inspect("text", 100) == ~s("text")
    cut = N.inspect(Enum.to_list(1..100), 20)
    assert byte_size(cut) <= 19
    assert String.ends_with?(cut, "...")
    assert N.inspect(:ok, 0) == ""
  end
end
