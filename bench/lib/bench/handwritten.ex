defmodule Bench.Handwritten do
  @moduledoc """
  The hand-written erl_nif reference (`c_src/handwritten/handwritten.c`),
  loaded with `:erlang.load_nif/2`. The library is built on first load by
  `Bench.Handwritten.Build`.
  """

  @on_load :load_nif

  @doc false
  def load_nif do
    path = Bench.Handwritten.Build.ensure_built!()

    case :erlang.load_nif(String.to_charlist(path), 0) do
      :ok ->
        :ok

      {:error, {_reason, text}} ->
        IO.warn("Bench.Handwritten: cannot load #{path}.so: #{text}", [])
        # Stay loaded: the stubs then say the library is missing.
        :ok
    end
  end

  @doc "a + b for two 64-bit integers."
  def add(_a, _b), do: :erlang.nif_error(:not_loaded)

  @doc "A buffer of `size` zero bytes."
  def buffer_new(_size), do: :erlang.nif_error(:not_loaded)

  @doc "The byte at `index` (0-based)."
  def buffer_get(_buf, _index), do: :erlang.nif_error(:not_loaded)

  @doc "Stores `byte` at `index`; returns :ok."
  def buffer_set(_buf, _index, _byte), do: :erlang.nif_error(:not_loaded)
end
