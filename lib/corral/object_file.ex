defmodule Corral.ObjectFile do
  @moduledoc false
  # Sections of a built library (ELF or Mach-O), read by the Erlang module
  # corral_object (src/corral_object.erl), which the Erlang stub generator
  # uses too: one reader for both languages.

  @doc "Returns `{:ok, %{name => bytes}}` for the requested section names, or `{:error, reason}`."
  def sections(path, names), do: :corral_object.sections(path, names)
end
