defmodule CorralTest.Package do
  @moduledoc false
  # The files of Corral's Hex package (mix.exs `package: [files: ...]`),
  # expanded as Hex expands them: each entry is a path or glob relative to
  # the project root, a directory stands for every file below it.

  @root Path.expand("../..", __DIR__)

  def root, do: @root

  def files do
    Mix.Project.config()[:package][:files]
    |> Enum.flat_map(fn entry ->
      case Path.wildcard(Path.join(@root, entry)) do
        [] -> raise "the package lists #{entry}, which does not exist"
        paths -> paths
      end
    end)
    |> Enum.flat_map(&expand/1)
    |> Enum.map(&Path.relative_to(&1, @root))
    |> Enum.uniq()
    |> Enum.sort()
  end

  defp expand(path) do
    if File.dir?(path),
      do: path |> File.ls!() |> Enum.flat_map(&expand(Path.join(path, &1))),
      else: [path]
  end

  # A copy of only the package's files in `dest`, as `mix deps.get` would
  # unpack it; returns `dest`.
  def copy!(dest) do
    File.rm_rf!(dest)

    for file <- files() do
      File.mkdir_p!(Path.dirname(Path.join(dest, file)))
      File.cp!(Path.join(@root, file), Path.join(dest, file))
    end

    dest
  end
end
