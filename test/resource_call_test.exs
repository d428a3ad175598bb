defmodule CorralTest.ResourceCallTest do
  # Calls across libraries (CORRAL_RESOURCE_CALLABLE, corral_call_resource):
  # CorralTest.Typed's library calls resources of CorralTest.Native's, a
  # separate library, through enif_dynamic_resource_call.
  use ExUnit.Case, async: true

  alias CorralTest.{Native, Typed}

  @ok 0
  @unknown_protocol 1
  @bigger_struct 2
  @no_such_type 3
  @closable 4
  @not_callable 5

  test "the owner answers with the struct of the protocol, in the caller's call" do
    k = Native.counter_new(40, 0)
    assert Typed.call_counter(k, 2, @ok) == 42
    assert Native.counter_get(k) == 42
    assert Typed.call_counter(k, -2, @ok) == 40
  end

  test "concurrent calls from many processes all reach the object" do
    k = Native.counter_new(0, 0)
    1..20 |> Task.async_stream(fn _ -> for(_ <- 1..500, do: Typed.call_counter(k, 1, @ok)) end) |> Stream.run()
    assert Native.counter_get(k) == 10_000
  end

  test "a term that is not an object of that type raises ArgumentError naming it" do
    for bad <- [42, make_ref(), Native.handle_open(1)] do
      error = assert_raise ArgumentError, fn -> Typed.call_counter(bad, 1, @ok) end
      assert error.message == "CorralTest.Typed.call_counter/3: argument 1: expected a callable Counter resource of CorralTest.Native, got: #{inspect(bad)}"
    end
  end

  test "a module without that type raises ArgumentError" do
    k = Native.counter_new(1, 0)
    error = assert_raise ArgumentError, fn -> Typed.call_counter(k, 1, @no_such_type) end
    assert error.message =~ "argument 1: expected a callable Counter resource of CorralTest.Typed, got: "
  end

  test "an unknown protocol, or the protocol with another struct size, raises RuntimeError saying so" do
    k = Native.counter_new(1, 0)
    error = assert_raise RuntimeError, fn -> Typed.call_counter(k, 1, @unknown_protocol) end
    assert error.message == "CorralTest.Typed.call_counter/3: argument 1: the Counter resource of CorralTest.Native does not answer corral_test.counter.v0"

    error = assert_raise RuntimeError, fn -> Typed.call_counter(k, 1, @bigger_struct) end

    assert error.message ==
             "CorralTest.Typed.call_counter/3: argument 1: the Counter resource of CorralTest.Native answers corral_test.counter.v1 " <>
               "with a struct of 16 bytes, not 24 (the two libraries were built with different versions of the protocol)"

    # Nothing was changed by the calls that were not answered.
    assert Native.counter_get(k) == 1
  end

  test "the owner may refuse, with its reason" do
    k = Native.counter_new(-1, 0)
    error = assert_raise RuntimeError, fn -> Typed.call_counter(k, 1, @ok) end
    assert error.message == "CorralTest.Typed.call_counter/3: argument 1: the Counter resource of CorralTest.Native refused corral_test.counter.v1: this counter is broken"
  end

  test "a closable object answers while open; closed, the call raises as for a closed argument" do
    h = Native.handle_open(77)
    assert Typed.call_counter(h, 0, @closable) == 77
    Native.handle_close(h)
    error = assert_raise ArgumentError, fn -> Typed.call_counter(h, 0, @closable) end
    assert error.message == "CorralTest.Typed.call_counter/3: argument 1: expected an open Handle resource, got: a closed one #{inspect(h)}"
  end

  test "a type that is not callable raises ArgumentError" do
    t = Typed.tally_new(1)
    error = assert_raise ArgumentError, fn -> Typed.call_counter(t, 1, @not_callable) end
    assert error.message == "CorralTest.Typed.call_counter/3: argument 1: expected a callable Tally resource of CorralTest.Typed, got: #{inspect(t)}"
  end
end
