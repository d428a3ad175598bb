defmodule Bench.Handwritten.Build do
  @moduledoc """
  Builds the hand-written reference NIF (`c_src/handwritten/handwritten.c`)
  with a plain compiler command, no Corral involved:

      cc -O3 -fPIC -shared -fvisibility=hidden -I<erts include> handwritten.c

  into `_build/handwritten/libhandwritten.so`. The library is rebuilt only
  when it is missing or older than the C file.
  """

  @root Path.expand("../..", __DIR__)
  @source Path.join(@root, "c_src/handwritten/handwritten.c")
  @out_dir Path.join(@root, "_build/handwritten")

  @doc "The C source of the library."
  def source, do: @source

  @doc "The built library, without the `.so` suffix (as :erlang.load_nif/2 wants it)."
  def library, do: Path.join(@out_dir, "libhandwritten")

  @doc "Builds the library if it is missing or stale; returns `library/0`."
  def ensure_built! do
    so = library() <> ".so"

    if stale?(so) do
      build!(so)
    end

    library()
  end

  @doc """
  Builds the library if needed and makes sure `Bench.Handwritten` runs it.
  When the module was loaded before the library existed (`mix run` compiles
  and then runs in the same VM, and the compiler loads what it compiles), it
  is loaded again so that its `@on_load` finds the library this time.
  """
  def load! do
    ensure_built!()

    unless nif_loaded?() do
      :code.purge(Bench.Handwritten)
      {:module, _} = :code.load_file(Bench.Handwritten)
      :code.purge(Bench.Handwritten)
      nif_loaded?() || raise "Bench.Handwritten did not load #{library()}.so"
    end

    :ok
  end

  defp nif_loaded? do
    Code.ensure_loaded?(Bench.Handwritten) and
      try do
        Bench.Handwritten.add(1, 2) == 3
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

  defp build!(so) do
    cc = System.get_env("CC") || "cc"
    cc_path = System.find_executable(cc) || raise "no C compiler: #{cc} is not on the PATH (set CC)"
    File.mkdir_p!(@out_dir)
    # Link to a fresh name and rename into place: a VM may have the old
    # library mapped, and overwriting a mapped file crashes it.
    tmp = so <> ".#{System.unique_integer([:positive])}.tmp"

    args = [
      # -O3, as a C author building for speed does.
      "-O3",
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
