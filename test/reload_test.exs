defmodule CorralTest.ReloadTest do
  # Hot code loading while native work is in flight. A reload loads a new
  # copy of the library and a purge unloads the old one; objects the old
  # library made (yield states of yielding NIFs in flight) are freed later
  # by the new library. Runs in a separate VM, since the failure it guards
  # against is a dead VM.
  use ExUnit.Case, async: false

  test "reload and purge with yielding calls in flight, again and again: the VM survives" do
    script = """
    n = CorralTest.Native
    {^n, bin, file} = :code.get_object_code(n)

    for _round <- 1..12 do
      pids = for _ <- 1..2, do: spawn(fn -> n.spin_yielding(1_000_000_000_000, 0) end)
      # Both calls are in flight (yielding) before the reload.
      Process.sleep(20)
      {:module, ^n} = :code.load_binary(n, file, bin)
      :code.purge(n)
      # Calls in flight may go on in the old code, or be killed by the purge;
      # either way their yield states are freed now, by the new library.
      for pid <- pids, do: Process.exit(pid, :kill)
      for pid <- Process.list(), do: :erlang.garbage_collect(pid)
      Process.sleep(5)
      {_, 1} = n.spin_yielding(1000, 0)
    end

    IO.puts("survived")
    """

    ebin = Path.join(Mix.Project.app_path(), "ebin")
    {out, status} = System.cmd("elixir", ["-pa", ebin, "-e", script], stderr_to_stdout: true, cd: File.cwd!())
    assert status == 0, "exit status #{status}: #{out}"
    assert out =~ "survived"
  end
end
