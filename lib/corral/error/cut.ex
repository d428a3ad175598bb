defmodule Corral.Error.Cut do
  @moduledoc false
  # What Corral.Error.Shown leaves out of a term: shown as `text`, or as a
  # map of which only `entries` are kept.
  defstruct text: "...", entries: nil

  def more, do: %__MODULE__{}

  defimpl Inspect do
    import Inspect.Algebra

    def inspect(%{entries: nil, text: text}, _opts), do: text

    def inspect(%{entries: entries}, opts) do
      keyword? =
        Enum.all?(entries, fn {k, _} ->
          is_atom(k) and not String.starts_with?(Atom.to_string(k), "Elixir.")
        end)

      entry = fn
        :more, _opts -> "..."
        {k, v}, opts when keyword? -> concat([Macro.inspect_atom(:key, k), " ", to_doc(v, opts)])
        {k, v}, opts -> concat([to_doc(k, opts), " => ", to_doc(v, opts)])
      end

      container_doc("%{", entries ++ [:more], "}", %{opts | limit: :infinity}, entry,
        separator: ","
      )
    end
  end
end
