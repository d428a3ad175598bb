defmodule Corral.Test do
  @moduledoc """
  Helpers for the tests of your own NIF libraries.

      import Corral.Test

      test "buffers are freed" do
        assert_no_leaks Buffer.Native, fn ->
          for _ <- 1..10_000, do: Buffer.Native.new(64)
        end
      end

  `assert_no_leaks/3` runs the function, then checks that every resource
  object it made is destroyed again, per type, and (optionally) that the
  VM's memory came back. The VM destroys an object some time after the last
  term referring to it is gone: when the process that held it collects its
  garbage, or finishes exiting. So the check collects the garbage of every
  process and looks again, waiting a little longer each round (1, 2, 4 ...
  ms), until the counts are back or the time limit passes; a passing test
  costs only the rounds it needs. On failure it names each type with
  objects left, and how many.
  """

  @internal ["corral_job", "corral_yield_state"]

  @doc """
  Runs `fun` and asserts that the live objects of every resource type of
  `module` (a module that `use`s Corral) are back to what they were before.
  Returns what `fun` returned.

  Options:
    * `:timeout` - how long to wait for destructors, and for freed memory
      to be given back, in ms (default 5000);
    * `:internal` - also count Corral's own objects (thread jobs and
      yielding NIF states; default false);
    * `:memory` - a number of bytes: also assert that `:erlang.memory(:total)`
      grew by less than that (default: not checked; under the sanitizer
      build, where the VM cannot report memory, it is not checked either).

  Raises `Corral.LeakError` naming the types with objects left (its `:left`
  field maps each to the number left), or the memory growth (`:memory`).
  """
  def assert_no_leaks(module, fun, opts \\ []) when is_atom(module) and is_function(fun, 0) do
    timeout = Keyword.get(opts, :timeout, 5000)
    internal? = Keyword.get(opts, :internal, false)
    margin = Keyword.get(opts, :memory)

    # The baseline without the garbage of earlier work.
    collect_all()
    before = counts(module, internal?)
    memory_before = margin && memory()
    result = fun.()
    deadline = System.monotonic_time(:millisecond) + timeout

    case wait_back(module, internal?, before, deadline, 1) do
      [] ->
        :ok

      left ->
        listed = Enum.map_join(left, ", ", fn {type, n} -> "#{n} #{type}" end)

        raise Corral.LeakError,
          message: "#{inspect(module)}: objects left after #{timeout} ms: #{listed}",
          left: Map.new(left)
    end

    if margin && memory_before do
      grown = wait_memory(memory_before, margin, deadline, 1)

      if grown >= margin do
        raise Corral.LeakError,
          message: "#{inspect(module)}: the VM's memory grew by #{grown} bytes (allowed: less than #{margin})",
          memory: grown
      end
    end

    result
  end

  # The growth, looked at again until it is under the margin or the
  # deadline passes: memory freed on a scheduler other than the one that
  # allocated it is given back when that scheduler next runs, which on a
  # busy machine can be a while after the collection that freed it.
  defp wait_memory(before, margin, deadline, pause) do
    grown = memory() - before

    if grown < margin or System.monotonic_time(:millisecond) >= deadline do
      grown
    else
      receive do
      after pause -> :ok
      end

      wait_memory(before, margin, deadline, min(pause * 2, 100))
    end
  end

  # Types whose count is above the baseline; [] when all are back.
  defp wait_back(module, internal?, before, deadline, pause) do
    collect_all()
    left = above(counts(module, internal?), before)

    cond do
      left == [] ->
        []

      System.monotonic_time(:millisecond) >= deadline ->
        left

      true ->
        receive do
        after pause -> :ok
        end

        wait_back(module, internal?, before, deadline, min(pause * 2, 100))
    end
  end

  defp above(now, before) do
    for {type, n} <- Enum.sort(now), n > Map.get(before, type, 0), do: {type, n - Map.get(before, type, 0)}
  end

  defp counts(module, internal?) do
    live = Corral.live_resources(module)
    if internal?, do: live, else: Map.drop(live, @internal)
  end

  defp collect_all do
    for pid <- Process.list(), do: :erlang.garbage_collect(pid)
    :ok
  end

  # nil where the VM cannot say (the sanitizer build allocates with malloc).
  defp memory do
    collect_all()
    :erlang.memory(:total)
  rescue
    ErlangError -> nil
  end
end

defmodule Corral.LeakError do
  @moduledoc """
  Raised by `Corral.Test.assert_no_leaks/3`: `:left` maps each resource type
  with objects left to their number; `:memory` is the memory growth in bytes
  when that was the failure.
  """
  defexception [:message, left: %{}, memory: nil]
end
