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

  test "a long bad term is cut where inspect/1 cuts it" do
    for long <- [String.duplicate("x", 10_000), Enum.to_list(1..10_000), Map.new(1..1000, &{&1, &1})] do
      error = assert_raise ArgumentError, fn -> N.raise_arg(long) end
      assert Exception.message(error) ==
               "CorralTest.Native.raise_arg/1: argument 1: expected something else, got: " <> inspect(long)
      assert byte_size(Exception.message(error)) < 5000
    end
  end

  test "corral_raise_argument" do
    assert_raise_exact ArgumentError, "CorralTest.Native.raise_argument/0: the options conflict: 42",
      fn -> N.raise_argument() end
  end

  test "corral_raise raises RuntimeError" do
    assert_raise_exact RuntimeError, "CorralTest.Native.raise_runtime/0: the device is on fire",
      fn -> N.raise_runtime() end
  end

  test "corral_raise_exception gives the exception's other fields their defaults" do
    error = assert_raise CorralTest.FieldError, "CorralTest.Native.raise_field_error/0: bad field", fn -> N.raise_field_error() end
    assert %CorralTest.FieldError{code: 0, path: nil} = error
  end

  test "corral_raise_fields sets the fields given, by type, and the rest keep their defaults" do
    extra = %{list: [1, 2], tuple: {:a, "b"}}
    error = assert_raise CorralTest.FieldError, fn -> N.raise_fields(42, "/tmp/x", extra) end
    assert %CorralTest.FieldError{code: 42, path: "/tmp/x", extra: ^extra, kind: :truncated, fatal: true} = error
    assert error.size == 18_446_744_073_709_551_615
    assert error.ratio === 0.5
    assert error.message == "CorralTest.Native.raise_fields/3: code 42 at #{inspect("/tmp/x")}"

    # A NULL string is nil; pattern matching on a field other than message works.
    try do
      N.raise_fields(-7, nil, [])
    rescue
      e in CorralTest.FieldError ->
        assert %CorralTest.FieldError{code: -7, path: nil, extra: []} = e
        assert e.message == "CorralTest.Native.raise_fields/3: code -7 at nil"
    end

    # The arguments are still checked before anything is raised.
    assert_raise ArgumentError, ~r"raise_fields/3: argument 1: expected an integer", fn ->
      N.raise_fields(:x, nil, nil)
    end
  end

  test "corral_raise_fields without a message leaves it to the exception's message/1" do
    error = assert_raise CorralTest.ComputedError, fn -> N.raise_fields_only(5, 1.5) end
    assert %CorralTest.ComputedError{errno: 5, at: 1.5, origin: :disk} = error
    assert Exception.message(error) == "errno 5 at 1.5 (disk)"
  end

  test "corral_raise_fields: an exception/1 that refuses the fields gives a RuntimeError saying so" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.raise_fields_rejected/0: strict (raised as CorralTest.StrictError, whose exception/1 failed: unexpected [:code, :message])",
      fn -> N.raise_fields_rejected() end
  end

  test "corral_raise_fields: a field the exception does not have gives a RuntimeError naming it" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.raise_fields_unknown/0: unknown (raised as CorralTest.FieldError with the field :colour, which it does not have)",
      fn -> N.raise_fields_unknown() end
  end

  test "corral_raise_fields: a field without a name is a bug in the NIF, said as such" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.raise_fields_unnamed/0: corral_raise_fields: field 2 has no name (a bug in the NIF: names are the exception's field names, 1 to 255 bytes)",
      fn -> N.raise_fields_unnamed() end
  end

  test "corral_raise_exception with a module that is not an exception raises RuntimeError saying so" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.raise_no_module/0: lost (raised as CorralTest.NoSuchError, which is not an exception module)",
      fn -> N.raise_no_module() end
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

  test "corral_show puts terms in a message of one's own, and a stray placeholder stays text" do
    assert_raise_exact(ArgumentError, "CorralTest.Native.show/1: shown: [1, :two].", fn -> N.show([1, :two]) end)

    assert_raise_exact(RuntimeError, "CorralTest.Native.show_two/2: #{inspect(1..3)} then #{inspect(%{a: 1})}, \x1a\x7f\x7f",
      fn -> N.show_two(1..3, %{a: 1}) end)
  end
end
