defmodule Corral.RaiseLocationTest do
  # In the test environment Corral builds with CORRAL_RAISE_LOCATIONS
  # (corral.h): an exception raised in C has, as its top stack frame, the C
  # file and line of the raise, or of the argument read that failed, above
  # the frame of the function the caller called.
  use ExUnit.Case, async: true

  alias CorralTest.{CSource, Native, Typed}

  @native_c "test/support/c_src/corral_test/corral_test.c"
  @schedule_c "test/support/c_src/corral_test/schedule.c"
  @typed_c "test/support/c_src/corral_typed/typed.c"

  defp raised(fun) do
    fun.()
    flunk("expected a raise")
  rescue
    e -> {e, __STACKTRACE__}
  end

  # The C frame on top, then the function with its arguments.
  defp assert_placed(stacktrace, module, name, args, file, needle) do
    line = CSource.line_of(file, needle)
    arity = length(args)
    file = String.to_charlist(file)

    assert [{^module, ^name, ^arity, [file: ^file, line: ^line]}, {^module, ^name, ^args, _} | _] = stacktrace
  end

  test "corral_raise_arg, corral_raise_argument, corral_raise and corral_raise_exception are placed at the raise" do
    for {name, exception, needle} <- [
          {:raise_arg, ArgumentError, "CORRAL_NIF(raise_arg)"},
          {:raise_argument, ArgumentError, "CORRAL_NIF(raise_argument)"},
          {:raise_runtime, RuntimeError, "CORRAL_NIF(raise_runtime)"},
          {:raise_exception, CorralTest.CustomError, "CORRAL_NIF(raise_exception)"}
        ] do
      args = if name == :raise_arg, do: [:x], else: []
      {error, stacktrace} = raised(fn -> apply(Native, name, args) end)
      assert error.__struct__ == exception
      # The place is a frame, never part of the message.
      refute Exception.message(error) =~ "corral_test.c"
      assert_placed(stacktrace, Native, name, args, @native_c, needle)
    end
  end

  test "corral_raise_fields is placed at its call (which spans lines)" do
    {error, [{Native, :raise_fields, 3, [file: file, line: line]} | _]} =
      raised(fn -> Native.raise_fields(7, "a/b", [:x]) end)

    assert %CorralTest.FieldError{} = error
    assert file == String.to_charlist(@native_c)
    first = CSource.line_of(@native_c, "CORRAL_NIF(raise_fields)")
    # GCC and clang disagree on which line of a call spanning lines it is.
    assert line in (first + 1)..(first + 12)
  end

  test "a bad argument is placed at the read that failed" do
    {%ArgumentError{}, stacktrace} = raised(fn -> Native.add(1, :z) end)
    assert_placed(stacktrace, Native, :add, [1, :z], @native_c, "CORRAL_NIF(add)")
  end

  test "a bad argument of a typed declaration is placed at the declaration" do
    {%ArgumentError{}, stacktrace} = raised(fn -> Typed.add(1, :x) end)
    assert_placed(stacktrace, Typed, :add, [1, :x], @typed_c, "CORRAL_PURE(add,")

    {%ArgumentError{}, stacktrace} = raised(fn -> Typed.def_i64(:y) end)
    # def_i64 is declared by the ECHO macro: the place is where it is used.
    assert_placed(stacktrace, Typed, :def_i64, [:y], @typed_c, "ECHO(i64)")
  end

  test "corral_fail is placed at the first failure, as its message is" do
    {error, stacktrace} = raised(fn -> Typed.safe_div(1, 0) end)
    assert error.message =~ "division by zero"
    assert_placed(stacktrace, Typed, :safe_div, [1, 0], @typed_c, "division by zero (dividing")
  end

  test "a thread job's raise is placed, on the function that waited" do
    {%RuntimeError{message: message}, [{Native, :raise_thread, 1, [file: file, line: line]} | _]} =
      raised(fn -> Native.raise_thread(:runtime) end)

    assert message =~ "raised on a pool thread"
    assert file == String.to_charlist(@schedule_c)
    assert line == CSource.line_of(@schedule_c, "\"raised on a pool thread\"")
  end

  test "a function of Corral.Functions is placed under its own name" do
    {_error, stacktrace} = raised(fn -> CorralTest.Owned.then_raise(5) end)
    assert_placed(stacktrace, CorralTest.Owned, :then_raise, [5], @typed_c, "raised with %")
  end

  test "an isolated module's raise is placed in its native process's C" do
    file = "test/support/c_src/corral_crash/crash.c"
    {%RuntimeError{message: message}, stacktrace} = raised(fn -> CorralTest.IsolatedNative.fail(:runtime) end)
    assert message =~ "failed on purpose"
    assert_placed(stacktrace, CorralTest.IsolatedNative, :fail, [:runtime], file, "\"failed on purpose\"")
  end

  test "corral_raise_term's reason is raised as it is, with no C frame" do
    {error, [top | _]} = raised(fn -> Native.raise_term({:my, :reason}) end)
    assert %ErlangError{original: {:my, :reason}} = error
    assert {Native, _, _, location} = top
    refute location[:file] == String.to_charlist(@native_c)
  end

  test "a library built with raise_locations: false shows no C frame" do
    # CorralTest.Terms turns the option off (test/support/terms_native.ex).
    big = Bitwise.bsl(1, 126)
    {%ArgumentError{message: message}, [top | _]} = raised(fn -> CorralTest.Terms.i128_add(big, big) end)
    assert message =~ "the sum does not fit in 128 bits"
    assert {CorralTest.Terms, :i128_add, [^big, ^big], location} = top
    assert location[:file] == ~c"test/support/terms_native.ex"
  end

  test "the option takes only a boolean" do
    error =
      assert_raise ArgumentError, fn ->
        Corral.Compiler.config(CorralTest.Nothing, otp_app: :corral, lib: "x", raise_locations: :yes)
      end

    assert error.message == "use Corral: :raise_locations must be true or false, got: :yes"
  end
end

defmodule Corral.RaiseLocationGlobalTest do
  # Not async: it makes Corral's allocations fail, library-wide.
  use ExUnit.Case, async: false

  alias CorralTest.Native

  test "a raise of Corral's own after a successful read is not placed at that read" do
    # counter_new reads both arguments, then its object's allocation fails.
    Native.fail_allocations_after(1)

    {error, [top | _]} =
      try do
        Native.counter_new(0, 0)
        flunk("expected a raise")
      rescue
        e -> {e, __STACKTRACE__}
      after
        Native.fail_allocations_after(0)
      end

    assert %RuntimeError{message: message} = error
    assert message =~ "out of memory"
    assert {Native, :counter_new, [0, 0], location} = top
    assert location[:file] == ~c"test/support/native.ex"
  end
end
