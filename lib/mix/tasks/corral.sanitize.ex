defmodule Mix.Tasks.Corral.Sanitize do
  @shortdoc "Runs mix test with every Corral library built with ASan and UBSan"

  @moduledoc """
  Runs `mix test` in a new VM whose Corral libraries are built with
  AddressSanitizer and UndefinedBehaviorSanitizer, and whose process has the
  ASan runtime loaded, so that a wild pointer, a heap overflow or undefined
  behaviour in your C stops the run with a report naming the line.

      mix corral.sanitize
      mix corral.sanitize test/my_nif_test.exs --seed 0
      mix corral.sanitize --sanitize address

  Arguments other than the options below are passed to `mix test`. The
  exit status is that of `mix test`.

  ## Options

    * `--sanitize LIST` - `address,undefined` (the default), `address` or
      `undefined`.

  ## What it sets

  The child `mix test` runs with:

    * `MIX_BUILD_PATH` - `_build/sanitize` of this project, as an absolute
      path: sanitizer flags take effect when a module compiles, and Mix does
      not recompile an unchanged module in a build folder that has it (a
      relative path would also make Mix build a path dependency inside the
      dependency's own folder);
    * `CORRAL_SANITIZE` - the list, for every Corral module;
    * `ERL_FLAGS` - `+Mea min` added, so that the VM's memory goes through
      `malloc`, where ASan sees it;
    * `ASAN_OPTIONS` - `detect_leaks=0:abort_on_error=1` (the VM's own
      allocations at exit are not leaks) and `UBSAN_OPTIONS` -
      `print_stacktrace=1:halt_on_error=1`, unless you set them;
    * `LD_PRELOAD` (Linux) or `DYLD_INSERT_LIBRARIES` (macOS) - the ASan
      runtime of the C compiler Corral builds with (`CC`, else `cc`, `gcc`,
      `clang`), found with `-print-file-name`.

  `:erlang.memory/1` is not available in such a VM (`+Mea min`).
  """

  use Mix.Task

  @switches [sanitize: :string]

  @impl true
  def run(argv) do
    {opts, rest} = take_options(argv)
    sanitize = parse_list!(Keyword.get(opts, :sanitize, "address,undefined"))
    env = environment(sanitize, build_path())
    mix = System.find_executable("mix") || Mix.raise("mix corral.sanitize: cannot find the mix executable in PATH")

    Mix.shell().info("mix corral.sanitize: mix test with #{Enum.join(sanitize, ",")} in #{build_path()}")
    {_, status} = System.cmd(mix, ["test" | rest], env: env, into: IO.stream(:stdio, :line), stderr_to_stdout: true)
    if status != 0, do: exit({:shutdown, status})
  end

  # --sanitize is ours; everything else (mix test's own switches, files)
  # goes to mix test as given.
  defp take_options(argv) do
    {opts, _, _} = OptionParser.parse(argv, strict: @switches)
    {opts, drop_ours(argv)}
  end

  defp drop_ours(["--sanitize", _ | rest]), do: drop_ours(rest)
  defp drop_ours(["--sanitize=" <> _ | rest]), do: drop_ours(rest)
  defp drop_ours([arg | rest]), do: [arg | drop_ours(rest)]
  defp drop_ours([]), do: []

  defp parse_list!(text) do
    list = text |> String.split(",", trim: true) |> Enum.map(&String.trim/1)

    if list == [] or Enum.any?(list, &(&1 not in ["address", "undefined"])) do
      Mix.raise("mix corral.sanitize: --sanitize takes address, undefined or address,undefined, got: #{inspect(text)}")
    end

    Enum.uniq(list)
  end

  defp build_path do
    Path.join(Path.dirname(Mix.Project.build_path()), "sanitize") |> Path.expand()
  end

  @doc false
  def environment(sanitize, build_path) do
    base = [
      {"MIX_ENV", "test"},
      {"MIX_BUILD_PATH", build_path},
      {"CORRAL_SANITIZE", Enum.join(sanitize, ",")},
      {"ERL_FLAGS", String.trim("#{System.get_env("ERL_FLAGS", "")} +Mea min")},
      {"ASAN_OPTIONS", System.get_env("ASAN_OPTIONS") || "detect_leaks=0:abort_on_error=1"},
      {"UBSAN_OPTIONS", System.get_env("UBSAN_OPTIONS") || "print_stacktrace=1:halt_on_error=1"}
    ]

    if "address" in sanitize, do: base ++ [preload(asan_runtime!())], else: base
  end

  defp preload(runtime) do
    case :os.type() do
      {:unix, :darwin} -> {"DYLD_INSERT_LIBRARIES", join_env(System.get_env("DYLD_INSERT_LIBRARIES"), runtime)}
      _ -> {"LD_PRELOAD", join_env(System.get_env("LD_PRELOAD"), runtime)}
    end
  end

  # The runtime goes first: ASan must be the first library loaded.
  defp join_env(nil, runtime), do: runtime
  defp join_env("", runtime), do: runtime
  defp join_env(old, runtime), do: runtime <> ":" <> old

  defp asan_runtime! do
    cc =
      Enum.find_value(Enum.reject([System.get_env("CC"), "cc", "gcc", "clang"], &is_nil/1), &System.find_executable/1) ||
        Mix.raise("mix corral.sanitize: no C compiler found (set CC, or install gcc or clang)")

    names =
      case :os.type() do
        {:unix, :darwin} -> ["libclang_rt.asan_osx_dynamic.dylib"]
        _ -> ["libasan.so", "libclang_rt.asan-#{arch()}.so", "libclang_rt.asan.so"]
      end

    Enum.find_value(names, fn name ->
      {out, status} = System.cmd(cc, ["-print-file-name=" <> name], stderr_to_stdout: true)
      path = String.trim(out)
      # Not found, the compiler prints the bare name back.
      if status == 0 and Path.type(path) == :absolute and File.exists?(path), do: path
    end) ||
      Mix.raise(
        "mix corral.sanitize: #{cc} has no ASan runtime (#{Enum.join(names, ", ")}); " <>
          "install it (Debian: the libasan package of your gcc) or run with --sanitize undefined"
      )
  end

  defp arch do
    :erlang.system_info(:system_architecture) |> List.to_string() |> String.split("-") |> hd()
  end
end
