defmodule CorralTest.CloseTest do
  # Closable resources, keep/release and resource binaries (corral.h,
  # "Resources"). Destructor counters are global: one test at a time.
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  defp destroyed_after(fun) do
    before = N.handles_destroyed()
    fun.()
    N.handles_destroyed() - before
  end

  test "close runs the destructor once; later uses raise, naming the type" do
    h = N.handle_open(7)
    assert N.handle_read(h) == 7
    assert destroyed_after(fn -> assert N.handle_close(h) == :ok end) == 1

    assert_raise_exact ArgumentError,
      "CorralTest.Native.handle_read/1: argument 1: expected an open Handle resource, got: a closed one #{inspect(h)}",
      fn -> N.handle_read(h) end

    assert_raise ArgumentError, fn -> N.handle_close(h) end
    # ...and garbage collection does not run it a second time.
    assert destroyed_after(fn -> gc_all() end) == 0
  end

  test "a handle that is never closed is destroyed once by garbage collection" do
    gc_all()
    before = N.handles_destroyed()
    for i <- 1..1000, do: N.handle_open(i)
    assert eventually(fn -> N.handles_destroyed() - before == 1000 end)
  end

  test "double close from two processes: exactly one closes" do
    for _ <- 1..200 do
      h = N.handle_open(1)
      parent = self()

      for _ <- 1..2 do
        spawn(fn ->
          result =
            try do
              N.handle_close(h)
            rescue
              ArgumentError -> :raised_closed
            end

          send(parent, {:closed, result})
        end)
      end

      results = for _ <- 1..2, do: (receive do {:closed, r} -> r end)
      assert Enum.count(results, &(&1 == :ok)) == 1
      assert Enum.all?(results, &(&1 in [:ok, :raised_closed, :already_closed]))
    end
  end

  test "close while another process is using the handle waits for that use to end" do
    h = N.handle_open(99)
    reader = Task.async(fn -> N.handle_read_slowly(h, 300) end)
    Process.sleep(50)
    before = N.handles_destroyed()
    assert N.handle_close(h) == :ok
    # The slow reader still holds a use: the destructor has not run yet.
    assert N.handles_destroyed() == before
    # It finishes with a valid payload (it raises if the payload was freed)...
    assert Task.await(reader) == 99
    # ...and its end of use ran the destructor.
    assert N.handles_destroyed() == before + 1
    assert_raise ArgumentError, fn -> N.handle_read(h) end
  end

  test "many readers and one closer: no reader ever sees freed memory" do
    for _ <- 1..20 do
      h = N.handle_open(5)

      readers =
        for _ <- 1..8 do
          Task.async(fn ->
            Enum.reduce_while(1..2000, 0, fn _, n ->
              try do
                5 = N.handle_read(h)
                {:cont, n + 1}
              rescue
                ArgumentError -> {:halt, n}
              end
            end)
          end)
        end

      Process.sleep(1)
      assert N.handle_close(h) in [:ok]
      Enum.each(readers, &Task.await/1)
    end
  end

  test "closing a type not declared closable is reported as a bug" do
    assert_raise_exact RuntimeError,
      "CorralTest.Native.close_counter/1: corral_resource_close: Counter is not closable (declare it with CORRAL_CLOSABLE_RESOURCE)",
      fn -> N.close_counter(N.counter_new(0, 0)) end
  end

  test "a kept reference keeps the object alive; uses through it see the close" do
    gc_all()
    live = Corral.live_resources(N)["Handle"]
    holder = N.holder_new(N.handle_open(3))
    gc_all()
    # The handle's only term is gone, but the holder keeps it.
    assert Corral.live_resources(N)["Handle"] == live + 1
    assert N.holder_read(holder) == {:ok, 3}
    refute N.holder_closed(holder)
    # Dropping the holder releases the kept reference.
    _ = holder
    holder = nil
    _ = holder
    assert eventually(fn -> Corral.live_resources(N)["Handle"] == live end)
  end

  test "try_enter on a closed object fails cleanly" do
    h = N.handle_open(4)
    holder = N.holder_new(h)
    N.handle_close(h)
    assert N.holder_closed(holder)
    assert N.holder_read(holder) == {:error, :already_closed}
  end

  test "resource binaries point into the object without copying and keep it alive" do
    gc_all()
    live = Corral.live_resources(N)["Blob"]
    slice = N.blob_slice(N.blob_new("hello world"), 6, 5)
    gc_all()
    assert slice == "world"
    assert Corral.live_resources(N)["Blob"] == live + 1
    # Not a copy: the binary refers into the whole object.
    assert :binary.referenced_byte_size(slice) > byte_size(slice)
  end

  test "a resource binary outside the object is refused" do
    blob = N.blob_new("abc")
    assert N.blob_slice(blob, 0, 3) == "abc"
    assert N.blob_slice(blob, 3, 0) == ""

    assert_raise_exact RuntimeError,
      "CorralTest.Native.blob_slice/3: corral_make_resource_binary: the 2 bytes at offset 10 lie outside the object (11 bytes)",
      fn -> N.blob_slice(blob, 2, 2) end
  end

  test "1,000,000 resources across many processes: each destroyed exactly once, memory returns" do
    gc_all()
    assert eventually(fn -> Corral.live_resources(N)["Handle"] == 0 end)
    before = N.handles_destroyed()
    memory = memory()

    1..20
    |> Enum.map(fn p ->
      Task.async(fn ->
        for i <- 1..50_000 do
          h = N.handle_open(i)
          if rem(i + p, 3) == 0, do: N.handle_close(h)
        end

        :ok
      end)
    end)
    |> Enum.each(&Task.await(&1, 120_000))

    assert eventually(fn -> Corral.live_resources(N)["Handle"] == 0 end, 500)
    assert N.handles_destroyed() - before == 1_000_000
    gc_all()
    assert_memory_back(memory, 10_000_000)
  end
end
