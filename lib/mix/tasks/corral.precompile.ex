defmodule Mix.Tasks.Corral.Precompile do
  @shortdoc "Builds a Corral library for every target this machine can build, with checksums"

  @moduledoc """
  Builds the library of a Corral module for each target this machine has a
  compiler for, and writes the artefacts a release uploads:

      mix corral.precompile MyApp.Native dist
      mix corral.precompile MyApp.Native dist --target aarch64-linux-gnu-gcc --target musl-gcc

  Each build is a `mix compile --force` of the project in its own build
  folder (`_build/corral_precompile/<compiler>`), from source
  (`CORRAL_FORCE_BUILD=1`), with `CC` naming the compiler. The host's
  compiler (`CC`, else `cc`) is always used, and each of these cross
  compilers that is installed: `aarch64-linux-gnu-gcc`,
  `arm-linux-gnueabihf-gcc`, `riscv64-linux-gnu-gcc`, `musl-gcc`,
  `aarch64-linux-musl-gcc` and `x86_64-w64-mingw32-gcc` (Windows x86-64, a
  DLL). On Debian they come with `gcc-aarch64-linux-gnu`,
  `gcc-arm-linux-gnueabihf`, `gcc-riscv64-linux-gnu`, `musl-tools` and
  `gcc-mingw-w64-x86-64`.
  `--target CC` (repeatable) builds only the named compilers, the host's
  included, and fails if one is missing.

  Each library is copied to
  `dist/lib<lib>-<version>-nif-<NIF version>-<target>.so` (`.dll` for
  Windows), with the target read from the built file (`x86_64-linux-gnu`,
  `aarch64-linux-gnu`, `arm-linux-gnueabihf`, `riscv64-linux-gnu`,
  `x86_64-linux-musl`, `x86_64-windows`...), and
  its SHA-256 is added to `dist/checksums.txt`. When the module downloads
  its prebuilt libraries (`prebuilt: [base_url: ..., checksums: file]`),
  the same lines are added to that checksums file, which the package ships.
  macOS and other systems build their own artefacts with this task or
  `mix corral.package` on a machine of that system, into the same folder.

  The NIF version is the running VM's: a library built on the oldest OTP
  you support is loaded by every newer VM of the same NIF major version, and
  users' builds pick the newest artefact their VM can load.
  """

  use Mix.Task

  @impl true
  def run(args) do
    case OptionParser.parse(args, strict: [target: :keep]) do
      {opts, [module_name, dir], []} -> precompile(Module.concat([module_name]), Path.expand(dir), Keyword.get_values(opts, :target))
      _ -> Mix.raise("usage: mix corral.precompile Module.Name dir [--target CC]...")
    end
  end

  defp precompile(module, dir, wanted) do
    # The author's own build never downloads what it is about to make.
    System.put_env("CORRAL_FORCE_BUILD", "1")
    Mix.Task.run("compile")

    unless Code.ensure_loaded?(module) and function_exported?(module, :__corral_package__, 0) do
      Mix.raise("mix corral.precompile: #{inspect(module)} is not a module that uses Corral")
    end

    %{lib: lib, version: version} = package = module.__corral_package__()
    host_cc = System.get_env("CC", "") |> String.trim() |> then(&if(&1 == "", do: "cc", else: &1))
    compilers = compilers(host_cc, wanted)
    root = Path.dirname(Mix.Project.project_file())
    app = Mix.Project.config()[:app]
    tmp = Path.join([root, "_build", "corral_precompile"])

    results =
      compilers
      |> Task.async_stream(&build(&1, &1 == host_cc, root, tmp, app, lib), timeout: :infinity, ordered: true,
        max_concurrency: System.schedulers_online())
      |> Enum.map(fn {:ok, result} -> result end)

    built = for {cc, {:ok, so}} <- results, do: {cc, so}
    failed = for {cc, {:error, out}} <- results, do: {cc, out}

    # A target that does not build (a cross build without the target's
    # copy of a library the NIF links, say) leaves the others to be shipped.
    for {cc, out} <- failed do
      Mix.shell().error("the build with CC=#{cc} failed, so it is not in #{Path.relative_to_cwd(dir)}:\n#{out}")
    end

    File.mkdir_p!(dir)

    sums =
      for {cc, so} <- built, into: %{} do
        target =
          case Corral.ObjectFile.target(so) do
            {:ok, target} -> target
            {:error, why} -> Mix.raise("mix corral.precompile: cannot tell the target of #{so} (built by #{cc}): #{why}")
          end

        name = Corral.Prebuilt.artefact_name(lib, version, Corral.Prebuilt.nif_version(), target)
        data = File.read!(so)
        File.write!(Path.join(dir, name), data)
        Mix.shell().info("#{cc}: #{Path.relative_to_cwd(Path.join(dir, name))}")
        {name, Corral.Prebuilt.sha256_of(data)}
      end

    Corral.Prebuilt.merge_checksums!(Path.join(dir, "checksums.txt"), sums)

    case package[:prebuilt] do
      {:url, _, checksums} ->
        Corral.Prebuilt.merge_checksums!(Path.expand(checksums, root), sums)
        Mix.shell().info("checksums added to #{checksums} (ship it in the package)")

      _ ->
        :ok
    end

    missing = if wanted == [], do: Enum.reject(cross_compilers(), &System.find_executable/1), else: []

    if missing != [] do
      Mix.shell().info("not installed, so not built: #{Enum.join(missing, ", ")}")
    end

    if failed != [] do
      Mix.raise("mix corral.precompile: #{length(built)} of #{length(results)} builds made an artefact; failed: " <>
                  "#{Enum.map_join(failed, ", ", &elem(&1, 0))} (their output is above)")
    end
  end

  # Shared with the rebar3 plugin (Erlang strings there).
  defp cross_compilers, do: Enum.map(:corral_prebuilt.cross_compilers(), &List.to_string/1)

  defp compilers(host_cc, []), do: [host_cc | Enum.filter(cross_compilers(), &System.find_executable/1)]

  defp compilers(host_cc, wanted) do
    for cc <- wanted, (cc |> OptionParser.split() |> hd() |> System.find_executable()) == nil do
      Mix.raise("mix corral.precompile: the compiler #{cc} is not installed")
    end

    Enum.uniq([host_cc | wanted])
  end

  # One `mix compile --force` of the project, in its own build folder, with
  # this compiler; a cross compiler gets the Erlang headers of its target.
  defp build(cc, host?, root, tmp, app, lib) do
    tag = cc |> OptionParser.split() |> hd() |> Path.basename()
    build_path = Path.join(tmp, if(host?, do: "host", else: tag))
    with {:ok, include} <- target_include(cc, host?, build_path),
         env = [{"CC", cc}, {"CROSSCOMPILE", nil}, {"MIX_BUILD_PATH", build_path}, {"CORRAL_FORCE_BUILD", "1"}] ++ include,
         {_, 0} <- System.cmd("mix", ["compile", "--force"], cd: root, env: env, stderr_to_stdout: true) do
      native = Path.join([build_path, "lib", Atom.to_string(app), "priv", "native"])
      {cc, {:ok, Enum.find([Path.join(native, "lib#{lib}.so"), Path.join(native, "lib#{lib}.dll")], &File.exists?/1)}}
    else
      {:error, why} -> {cc, {:error, why}}
      {out, _status} -> {cc, {:error, out}}
    end
  end

  defp target_include(_cc, true, _build_path), do: {:ok, []}

  defp target_include(cc, false, build_path) do
    {:ok, [{"ERTS_INCLUDE_DIR", Corral.Compiler.target_erts_include!(cc, Path.join(build_path, "erts_include"))}]}
  rescue
    e in Mix.Error -> {:error, Exception.message(e)}
  end
end
