ExUnit.start()

defmodule CorralTest.Case do
  @moduledoc false
  # Helpers shared by the suites: exact exception messages, and garbage
  # collection of every process so resource destructors run.

  defmacro assert_raise_exact(exception, message, fun) do
    quote do
      error = ExUnit.Assertions.assert_raise(unquote(exception), unquote(fun))
      ExUnit.Assertions.assert(Exception.message(error) == unquote(message),
        "message was: " <> inspect(Exception.message(error)))
    end
  end

  # Bytes the VM uses, or nil in the sanitizer run: there the VM allocates
  # through malloc (+Mea min), :erlang.memory/1 is not available, and ASan's
  # quarantine keeps freed memory, so byte counts say nothing; leaks of
  # Corral objects are still checked through the live resource counts.
  def memory do
    :erlang.memory(:total)
  rescue
    ErlangError -> nil
  end

  defmacro assert_memory_back(before, margin) do
    quote do
      before = unquote(before)
      if before != nil do
        growth = CorralTest.Case.memory() - before
        ExUnit.Assertions.assert(growth < unquote(margin), "memory grew by #{growth} bytes")
      end
    end
  end

  def gc_all do
    for pid <- Process.list(), do: :erlang.garbage_collect(pid)
    :ok
  end

  # Runs until `fun` returns true (resource destructors run when the VM
  # gets round to them after a GC), giving up after `tries`.
  def eventually(fun, tries \\ 100) do
    cond do
      fun.() -> true
      tries == 0 -> false
      true ->
        gc_all()
        Process.sleep(10)
        eventually(fun, tries - 1)
    end
  end
end
