defmodule CorralTest.CSource do
  @moduledoc false
  # Lines of the test libraries' C, for tests that check where in C an
  # error was raised without hard-coding line numbers.

  @doc "The line (1-based) of `path` that contains `needle`; there must be exactly one."
  def line_of(path, needle) do
    hits =
      path
      |> File.read!()
      |> String.split("\n")
      |> Enum.with_index(1)
      |> Enum.filter(fn {text, _} -> String.contains?(text, needle) end)

    case hits do
      [{_, line}] -> line
      other -> raise ArgumentError, "#{path}: #{length(other)} lines contain #{inspect(needle)}, expected one"
    end
  end
end
