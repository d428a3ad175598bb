defmodule Mix.Tasks.Corral.Package do
  @shortdoc "Copies a built Corral library into a prebuilt folder with its checksum"

  @moduledoc """
  Packages the library of a Corral module for users without a C compiler:

      mix corral.package MyApp.Native priv/prebuilt

  compiles the project, copies `priv/native/lib<lib>.so` to
  `priv/prebuilt/lib<lib>-<version>-nif-<nif version>-<target>.so` (the
  target read from the built file: `x86_64-linux-gnu`, `aarch64-linux-musl`,
  `arm-linux-gnueabihf`, `aarch64-macos`...) and records its SHA-256 in
  `priv/prebuilt/checksums.txt`. Run it once per target (architecture, C
  library, NIF version; a cross build with `CC` as in the building guide
  counts) and ship the folder; with
  `use Corral, ..., prebuilt: "priv/prebuilt"` a user's build installs the
  matching file after checking its checksum, and builds from source when no
  file matches.
  """

  use Mix.Task

  @impl true
  def run([module_name, dir]) do
    Mix.Task.run("compile")
    module = Module.concat([module_name])
    Code.ensure_loaded!(module)
    so = module.__corral_library__()
    %{lib: lib, version: version} = module.__corral_package__()
    target =
      case Corral.ObjectFile.target(so) do
        {:ok, target} -> target
        {:error, why} -> Mix.raise("mix corral.package: cannot tell the target of #{so}: #{why}")
      end

    name = Corral.Compiler.artefact_name(lib, version, target)
    File.mkdir_p!(dir)
    target = Path.join(dir, name)
    File.cp!(so, target)
    Corral.Prebuilt.merge_checksums!(Path.join(dir, "checksums.txt"), %{name => Corral.Compiler.sha256(target)})
    Mix.shell().info("packaged #{target}")
  end

  def run(_), do: Mix.raise("usage: mix corral.package Module.Name dir")
end
