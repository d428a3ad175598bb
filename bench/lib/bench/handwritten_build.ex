defmodule Bench.Handwritten.Build do
  @moduledoc """
  Builds the hand-written reference NIF (`c_src/handwritten/handwritten.c`)
  with a plain compiler command, no Corral involved, twice:

      cc -O3 -fPIC -shared -fvisibility=hidden -I<erts include> handwritten.c

  into `_build/handwritten/libhandwritten.so` (`Bench.Handwritten`, the
  reference of every ratio: a C author building for speed), and the same
  with `-O2 -DBENCH_NIF_MODULE=Elixir.Bench.HandwrittenO2` into
  `libhandwritten_o2.so` (`Bench.HandwrittenO2`, the common default of
  build scripts, reported beside it). A library is rebuilt only when it is
  missing or older than the C file.
  """

  @root Path.expand("../..", __DIR__)
  @source Path.join(@root, "c_src/handwritten/handwritten.c")
  @out_dir Path.join(@root, "_build/handwritten")

  @doc "The C source of the library."
  def source, do: @source

  # {module, library name, compiler flags}
  @builds [
    {Bench.Handwritten, "libhandwritten", ["-O3"]},
    {Bench.HandwrittenO2, "libhandwritten_o2", ["-O2", "-DBENCH_NIF_MODULE=Elixir.Bench.HandwrittenO2"]}
  ]

  @doc """
  The built library of `module` (`Bench.Handwritten` or
  `Bench.HandwrittenO2`), without the `.so` suffix (as :erlang.load_nif/2
  wants it).
  """
  def library(module \\ Bench.Handwritten) do
    {_, name, _} = build_of!(module)
    Path.join(@out_dir, name)
  end

  @doc "Builds `module`'s library if it is missing or stale; returns `library(module)`."
  def ensure_built!(module \\ Bench.Handwritten) do
    {_, _, flags} = build_of!(module)
    so = library(module) <> ".so"

    if stale?(so) do
      build!(so, flags)
    end

    library(module)
  end

  @doc """
  Builds the library if needed and makes sure `Bench.Handwritten` runs it.
  When the module was loaded before the library existed (`mix run` compiles
  and then runs in the same VM, and the compiler loads what it compiles), it
  is loaded again so that its `@on_load` finds the library this time.
  """
  def load! do
    for {module, _, _} <- @builds do
      ensure_built!(module)

      unless nif_loaded?(module) do
        :code.purge(module)
        {:module, _} = :code.load_file(module)
        :code.purge(module)
        nif_loaded?(module) || raise "#{inspect(module)} did not load #{library(module)}.so"
      end
    end

    :ok
  end

  defp build_of!(module) do
    List.keyfind(@builds, module, 0) || raise ArgumentError, "no hand-written build for #{inspect(module)}"
  end

  defp nif_loaded?(module) do
    Code.ensure_loaded?(module) and
      try do
        module.add(1, 2) == 3
      rescue
        _ -> false
      end
  end

  defp stale?(so) do
    case {File.stat(so, time: :posix), File.stat(@source, time: :posix)} do
      {{:ok, %{mtime: so_time}}, {:ok, %{mtime: src_time}}} -> src_time > so_time
      {{:error, _}, _} -> true
      {_, {:error, reason}} -> raise "cannot read #{@source}: #{:file.format_error(reason)}"
    end
  end

  defp build!(so, flags) do
    cc = System.get_env("CC") || "cc"
    cc_path = System.find_executable(cc) || raise "no C compiler: #{cc} is not on the PATH (set CC)"
    File.mkdir_p!(@out_dir)
    # Link to a fresh name and rename into place: a VM may have the old
    # library mapped, and overwriting a mapped file crashes it.
    tmp = so <> ".#{System.unique_integer([:positive])}.tmp"

    args =
      flags ++
        [
          "-fPIC",
          "-shared",
          "-fvisibility=hidden",
          "-Wall",
          "-Wextra",
          "-I",
          Corral.Compiler.find_erts_include!(),
          @source,
          "-o",
          tmp
        ]

    case System.cmd(cc_path, args, stderr_to_stdout: true) do
      {output, 0} ->
        if output != "", do: IO.write(:stderr, output)
        File.rename!(tmp, so)

      {output, status} ->
        File.rm(tmp)
        raise "building #{so} failed (#{cc} exited with #{status}):\n#{output}"
    end
  end
end
