defmodule Corral.ObjectFile do
  @moduledoc false
  # Sections of a built library (ELF or Mach-O), read by the Erlang module
  # corral_object (src/corral_object.erl), which the Erlang stub generator
  # uses too: one reader for both languages.

  @doc "Returns `{:ok, %{name => bytes}}` for the requested section names, or `{:error, reason}`."
  def sections(path, names), do: :corral_object.sections(path, names)

  @doc """
  What the library at `path` was built for, read from the file (never
  loaded): `{:ok, "aarch64-linux-gnu"}`, `{:ok, "x86_64-linux-musl"}`,
  `{:ok, "arm-linux-gnueabihf"}`, `{:ok, "aarch64-macos"}`, or `{:error, reason}`.
  """
  def target(path), do: :corral_object.target(path)

  @doc "The running VM's target, named as `target/1` names a library's."
  def host_target, do: :corral_object.host_target()
end
