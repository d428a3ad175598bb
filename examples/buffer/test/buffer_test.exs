defmodule BufferTest do
  use ExUnit.Case, async: false
  import Bitwise
  doctest Buffer

  defp message(fun) do
    error = assert_raise ArgumentError, fun
    Exception.message(error)
  end

  describe "round trips" do
    test "new buffers are zeroed and sized" do
      buf = Buffer.new(1024)
      assert Buffer.size(buf) == 1024
      assert Buffer.to_binary(buf) == :binary.copy(<<0>>, 1024)
      assert Buffer.size(Buffer.new(0)) == 0
      assert Buffer.to_binary(Buffer.new(0)) == ""
    end

    test "set then get, at both ends and every byte value" do
      buf = Buffer.new(256)
      for i <- 0..255, do: assert(Buffer.set(buf, i, 255 - i) == :ok)
      for i <- 0..255, do: assert(Buffer.get(buf, i) == 255 - i)
      assert Buffer.to_binary(buf) == :binary.list_to_bin(Enum.to_list(255..0//-1))
    end

    test "from_binary and update" do
      buf = Buffer.from_binary("hello")
      Buffer.update(buf, 0, &(&1 - 32))
      assert Buffer.to_binary(buf) == "Hello"
    end

    test "to_binary is a copy" do
      buf = Buffer.new(3)
      snapshot = Buffer.to_binary(buf)
      Buffer.set(buf, 0, 9)
      assert snapshot == <<0, 0, 0>>
    end
  end

  describe "bad arguments raise ArgumentError and the VM goes on" do
    test "new/1" do
      for bad <- [-1, 1.5, :big, "10", nil, 18_446_744_073_709_551_616] do
        assert message(fn -> Buffer.Native.new(bad) end) ==
                 "Buffer.Native.new/1: argument 1: expected an integer in 0..18446744073709551615, got: #{inspect(bad)}"
      end
    end

    test "an index out of range" do
      buf = Buffer.new(1024)

      assert message(fn -> Buffer.get(buf, 5000) end) ==
               "Buffer.Native.get/2: argument 2: expected an index below 1024, got: 5000"

      for bad <- [1024, -1, 2.0, :zero, "0", nil] do
        assert message(fn -> Buffer.get(buf, bad) end) ==
                 "Buffer.Native.get/2: argument 2: expected an index below 1024, got: #{inspect(bad)}"

        assert message(fn -> Buffer.set(buf, bad, 1) end) ==
                 "Buffer.Native.set/3: argument 2: expected an index below 1024, got: #{inspect(bad)}"
      end
    end

    test "bytes outside 0..255" do
      buf = Buffer.new(4)

      for bad <- [256, -1, 1.0, :x, "a", 1 <<< 70] do
        assert message(fn -> Buffer.set(buf, 0, bad) end) ==
                 "Buffer.Native.set/3: argument 3: expected an integer in 0..255, got: #{inspect(bad)}"
      end

      assert Buffer.to_binary(buf) == <<0, 0, 0, 0>>
    end

    test "not a buffer: wrong type, a plain reference, another kind of resource" do
      others = [:buffer, 1, "bytes", make_ref(), :atomics.new(1, []), :counters.new(1, []), self(), {Buffer.new(1)}]

      for bad <- others, {name, fun} <- [
            {"get/2", fn -> Buffer.get(bad, 0) end},
            {"set/3", fn -> Buffer.set(bad, 0, 0) end},
            {"size/1", fn -> Buffer.size(bad) end},
            {"to_binary/1", fn -> Buffer.to_binary(bad) end}
          ] do
        assert message(fun) ==
                 "Buffer.Native.#{name}: argument 1: expected a Buffer resource, got: #{inspect(bad)}"
      end
    end
  end

  test "an impossible size raises ArgumentError; the VM survives" do
    assert_raise ArgumentError, ~r/^Buffer\.Native\.new\/1: cannot allocate Buffer of \d+ bytes: more than this VM can ever have/, fn ->
      Buffer.new(9_223_372_036_854_775_808)
    end

    assert Buffer.size(Buffer.new(3)) == 3
  end

  test "50 processes write and read concurrently" do
    buf = Buffer.new(50 * 1000)

    1..50
    |> Enum.map(fn p ->
      Task.async(fn ->
        base = (p - 1) * 1000

        for round <- 1..20, i <- 0..999 do
          :ok = Buffer.set(buf, base + i, rem(p + round + i, 256))
          # Reads of another process's area race with its writes, but must
          # always see a byte.
          other = rem(base + i * 7919, 50_000)
          assert Buffer.get(buf, other) in 0..255
        end

        for i <- 0..999, do: assert(Buffer.get(buf, base + i) == rem(p + 20 + i, 256))
        :ok
      end)
    end)
    |> Enum.each(&assert(Task.await(&1, 60_000) == :ok))

    expected = for p <- 1..50, i <- 0..999, into: <<>>, do: <<rem(p + 20 + i, 256)>>
    assert Buffer.to_binary(buf) == expected
  end

  test "100,000 buffers created and dropped are all destroyed, and memory returns" do
    # Corral.Test.assert_no_leaks/3 waits for the VM to run the destructors
    # (after the garbage of every process is collected), then compares the
    # live count of each resource type, and here the VM's memory, with
    # before.
    Corral.Test.assert_no_leaks(
      Buffer.Native,
      fn ->
        1..4
        |> Enum.map(fn _ ->
          Task.async(fn ->
            for i <- 1..25_000 do
              buf = Buffer.new(rem(i, 512) + 1)
              Buffer.set(buf, 0, 1)
            end

            :ok
          end)
        end)
        |> Enum.each(&Task.await(&1, 60_000))
      end,
      memory: 5_000_000
    )
  end

  test "a buffer still referenced is reported as left" do
    error =
      assert_raise Corral.LeakError, fn ->
        kept = Corral.Test.assert_no_leaks(Buffer.Native, fn -> Buffer.new(8) end, timeout: 100)
        Buffer.size(kept)
      end

    assert error.left == %{"Buffer" => 1}
    assert error.message == "Buffer.Native: objects left after 100 ms: 1 Buffer"
  end

  test "random terms at every function: a value or an ArgumentError, never a crash" do
    :rand.seed(:exsss, 42)
    buf = Buffer.new(100)

    calls = [
      fn t -> Buffer.Native.new(t) end,
      fn t -> Buffer.Native.get(buf, t) end,
      fn t -> Buffer.Native.get(t, 0) end,
      fn t -> Buffer.Native.set(buf, 0, t) end,
      fn t -> Buffer.Native.set(buf, t, 1) end,
      fn t -> Buffer.Native.set(t, 0, 1) end,
      fn t -> Buffer.Native.size(t) end,
      fn t -> Buffer.Native.to_binary(t) end
    ]

    raised =
      Enum.count(1..20_000, fn _ ->
        term = Corral.RandomTerm.generate()
        call = Enum.random(calls)

        try do
          # Small sizes only: a random huge size is a valid (if unwise) request.
          if is_integer(term) and term > 1_000_000, do: throw(:skip)
          call.(term)
          false
        rescue
          e in ArgumentError ->
            assert Exception.message(e) =~ ~r"^Buffer\.Native\.\w+/\d: argument \d: expected "
            true
        catch
          :skip -> false
        end
      end)

    assert raised > 1000
    assert Buffer.get(buf, 0) in 0..255
  end

  test "the typed declarations give the generated functions argument names, @doc and @spec" do
    {:docs_v1, _, :elixir, _, _, _, docs} = Code.fetch_docs(Buffer.Native)
    get = Enum.find(docs, &match?({{:function, :get, 2}, _, _, _, _}, &1))
    assert {_, _, ["get(buffer, index)"], %{"en" => "The byte at `index` (0-based)."}, _} = get

    {:ok, specs} = Code.Typespec.fetch_specs(Buffer.Native)
    assert [{{:get, 2}, [spec]}] = Enum.filter(specs, &match?({{:get, 2}, _}, &1))
    # Both through the running Elixir's own printer.
    assert Macro.to_string(Code.Typespec.spec_to_quoted(:get, spec)) ==
             Macro.to_string(quote(do: get(buffer :: buffer(), index :: non_neg_integer()) :: byte()))

    # buffer() is the Buffer resource's own type: a reference.
    {:ok, types} = Code.Typespec.fetch_types(Buffer.Native)
    assert {:type, {:buffer, {:type, 0, :reference, []}, []}} in Enum.map(types, fn {k, {n, d, a}} -> {k, {n, strip_line(d), a}} end)
  end

  defp strip_line({:type, _, name, args}), do: {:type, 0, name, args}
  defp strip_line(other), do: other
end
