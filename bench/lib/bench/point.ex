defmodule Bench.Point do
  @moduledoc "The struct of the struct conversion benchmarks."
  defstruct [:x, :y]
end
