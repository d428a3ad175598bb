defmodule Corral.ObjectFile do
  @moduledoc false
  # The built library's own sections hold Corral's export table, docs and
  # module record; this reads them from whichever format the platform's
  # linker wrote, chosen by the file's magic: ELF (Linux, the BSDs) or
  # Mach-O (macOS, thin or universal).

  @doc "Returns `{:ok, %{name => bytes}}` for the requested section names, or `{:error, reason}`."
  def sections(path, names) do
    with {:ok, bin} <- File.read(path) do
      cond do
        Corral.ELF.magic?(bin) -> Corral.ELF.parse(bin, names)
        Corral.MachO.magic?(bin) -> Corral.MachO.parse(bin, names)
        true -> {:error, "not a shared library (neither ELF nor Mach-O)"}
      end
    end
  end
end
