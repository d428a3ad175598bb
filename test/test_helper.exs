defmodule CorralTest.CrossTools do
  @moduledoc false
  # The tools that cross-build Mach-O libraries here: clang, with ld64.lld
  # beside it (Debian's lld), and llvm-lipo and llvm-nm (Debian's llvm).
  def find do
    with {:ok, clang} <- tool(System.find_executable("clang"), "clang"),
         bin = clang |> resolve() |> Path.dirname(),
         {:ok, _} <- tool(beside(bin, "ld64.lld"), "ld64.lld (Debian package lld)"),
         {:ok, lipo} <- tool(beside(bin, "llvm-lipo"), "llvm-lipo (Debian package llvm)"),
         {:ok, nm} <- tool(beside(bin, "llvm-nm"), "llvm-nm (Debian package llvm)") do
      {:ok, %{clang: clang, lipo: lipo, nm: nm}}
    end
  end

  defp tool(nil, what), do: {:error, what}
  defp tool(path, _what), do: {:ok, path}

  # clang finds ld64.lld in its own directory (Debian: /usr/lib/llvm-N/bin).
  defp beside(bin, name) do
    path = Path.join(bin, name)
    if File.exists?(path), do: path, else: System.find_executable(name)
  end

  defp resolve(path) do
    case File.read_link(path) do
      {:ok, target} -> resolve(Path.expand(target, Path.dirname(path)))
      {:error, _} -> path
    end
  end
end

exclude =
  case CorralTest.CrossTools.find() do
    {:ok, _} ->
      []

    {:error, missing} ->
      IO.puts("Skipping the macOS cross-build tests: #{missing} is missing (make test installs it).")
      [:macos_cross]
  end

exclude =
  if System.find_executable("dialyzer") do
    exclude
  else
    IO.puts("Skipping the Dialyzer test: dialyzer is missing (make test installs erlang-dialyzer).")
    [:dialyzer | exclude]
  end

# Isolated mode's shared ring is Linux's (futex); elsewhere calls take the pipe.
exclude = if match?({:unix, :linux}, :os.type()), do: exclude, else: [:linux | exclude]

ExUnit.start(exclude: exclude)

defmodule CorralTest.Case do
  @doc """
  `{root, limit_file, name}` of a memory cgroup hierarchy this process can
  make groups in (cgroup v2 with the memory controller, or v1's memory
  hierarchy; needs root), else nil.
  """
  def memory_cgroup do
    found =
      cond do
        File.exists?("/sys/fs/cgroup/cgroup.controllers") and
            File.read!("/sys/fs/cgroup/cgroup.subtree_control") =~ "memory" ->
          {"/sys/fs/cgroup", "memory.max", "memory.max"}

        File.dir?("/sys/fs/cgroup/memory") ->
          {"/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.limit_in_bytes"}

        true ->
          nil
      end

    with {root, _, _} <- found,
         probe = Path.join(root, "corral_probe_#{System.unique_integer([:positive])}"),
         :ok <- File.mkdir(probe) do
      File.rmdir(probe)
      found
    else
      _ -> nil
    end
  end

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

  @doc """
  Runs `script` in a VM of its own with Corral's test build on its code
  path: `{output, exit status}`. A VM still running after `limit` seconds
  is killed (status 124 or 137, with what it printed so far), so a hang
  fails its test instead of spinning on beside the rest of the suite.
  """
  def run_elixir(script, env \\ [], limit \\ 300) do
    ebin = Path.join(Mix.Project.app_path(), "ebin")
    args = ["-k", "5", Integer.to_string(limit), "elixir", "-pa", ebin, "-e", script]
    System.cmd("timeout", args, stderr_to_stdout: true, cd: File.cwd!(), env: env)
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
