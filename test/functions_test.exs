defmodule Corral.FunctionsTest do
  use ExUnit.Case, async: true

  alias CorralTest.{Owned, Tally, Typed}

  test "the prefixed functions of a library are defined in the module that takes them" do
    t = Tally.new(10)
    assert Tally.add(t, 5) == 15
    assert Tally.add_one(t) == 16
    # The library module keeps them, on the same resource.
    assert Typed.tally_add(t, 1) == 17
    assert Tally.close(t) == :ok

    assert Owned.repeat("ab", 3) == Typed.owned_repeat("ab", 3)
    assert {:repeat, 2} in Owned.__info__(:functions)
    refute {:tally_add, 2} in Tally.__info__(:functions)

    refute Enum.any?(Tally.__info__(:functions), fn {name, _} ->
             String.starts_with?(Atom.to_string(name), "owned")
           end)
  end

  test "argument errors name the function as the caller called it" do
    error = assert_raise ArgumentError, fn -> Tally.add(Tally.new(1), "1") end
    lib_error = assert_raise ArgumentError, fn -> Typed.tally_add(Tally.new(1), "1") end

    assert lib_error.message =~
             ~r/^CorralTest.Typed.tally_add\/2: argument 2: expected an integer.*, got: "1"$/

    assert error.message ==
             String.replace_prefix(
               lib_error.message,
               "CorralTest.Typed.tally_add/2",
               "CorralTest.Tally.add/2"
             )
  end

  test "raises from the body name the function too, and the stacktrace shows it with its arguments" do
    {error, stacktrace} =
      try do
        Owned.then_raise(5)
      rescue
        e -> {e, __STACKTRACE__}
      end

    assert %RuntimeError{message: "CorralTest.Owned.then_raise/1: raised with 5 owned bytes"} =
             error

    # The test environment places the raise in C (CORRAL_RAISE_LOCATIONS),
    # as a frame of the function the caller called, above its call.
    assert [{Owned, :then_raise, 1, [file: ~c"test/support/c_src/corral_typed/typed.c", line: line]}, {Owned, :then_raise, [5], _} | _] =
             stacktrace

    assert line == CorralTest.CSource.line_of("test/support/c_src/corral_typed/typed.c", "raised with %")
  end

  test "a thread job: name/n waits, name_async/n returns the job, and its raises are renamed" do
    assert Owned.job(6) == "xxxxxx"
    job = Owned.job_async(4)
    assert Corral.Job.await(Typed, job, 5000) == "xxxx"

    error = assert_raise ArgumentError, fn -> Owned.job(-1) end
    assert error.message =~ "CorralTest.Owned.job/1: argument 1: expected"
  end

  test "docs and specs come along, named as here" do
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(Tally)
    assert Enum.any?(docs, &match?({{:function, :add, 2}, _, _, _, _}, &1))

    {:ok, specs} = Code.Typespec.fetch_specs(Tally)
    assert [{{:add, 2}, [spec]}] = Enum.filter(specs, &match?({{:add, 2}, _}, &1))

    assert Macro.to_string(Code.Typespec.spec_to_quoted(:add, spec)) =~
             ~r/^add\(t :: CorralTest\.Typed\.tally\(\), by :: integer\(\)\) :: integer\(\)/

    {:ok, lib_specs} = Code.Typespec.fetch_specs(Typed)
    assert Enum.any?(lib_specs, &match?({{:tally_add, 2}, _}, &1))
  end

  test "a module with no function of the prefix, a module that is not Corral's, bad options: compile errors with a sentence" do
    compile = fn source ->
      try do
        Code.compile_string(source)
        :compiled
      rescue
        e -> Exception.message(e)
      end
    end

    assert compile.(
             "defmodule CorralTest.NoPrefix do use Corral.Functions, from: CorralTest.Typed, prefix: \"nope_\" end"
           ) =~
             ~s(CorralTest.Typed's library has no function whose C name starts with "nope_" (it has: )

    assert compile.(
             "defmodule CorralTest.NotCorral do use Corral.Functions, from: Enum, prefix: \"x\" end"
           ) =~
             "Enum is not a module that says use Corral"

    assert compile.(
             "defmodule CorralTest.Missing do use Corral.Functions, from: CorralTest.NoSuchModule, prefix: \"x\" end"
           ) =~
             "CorralTest.NoSuchModule could not be compiled"

    assert compile.(
             "defmodule CorralTest.NoPrefixGiven do use Corral.Functions, from: CorralTest.Typed end"
           ) =~
             ":prefix must be a non-empty string or atom"

    assert compile.(
             "defmodule CorralTest.Extra do use Corral.Functions, from: CorralTest.Typed, prefix: \"tally_\", only: [1] end"
           ) =~
             "unknown options [:only]"

    assert compile.(
             "defmodule CorralTest.FromIsolated do use Corral.Functions, from: CorralTest.IsolatedNative, prefix: \"ad\" end"
           ) =~
             "CorralTest.IsolatedNative is isolated (isolate: true)"
  end
end
