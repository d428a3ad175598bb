defmodule Bench.Containers do
  @moduledoc """
  The byte buffers the get/set cases work on, all of `size` bytes, zeroed.

    * `:handwritten` - the hand-written NIF's resource (`Bench.Handwritten`).
    * `:handwritten_o2` - the same C built with -O2 (`Bench.HandwrittenO2`,
      whose resource type is its own).
    * `:corral` - the Buffer example's resource (`Buffer.Native`).
    * `:atomics` - one unsigned 64-bit atomic per byte (not packed: 8 bytes
      of memory per byte stored, but a get or set is a single atomics call).
    * `:array` - a fixed-size `:array` built from a list of zeros, so every
      leaf exists (an `:array.new/2` with a default has no leaves yet and
      answers a get from the default without touching memory). Functional:
      a set returns a new array.
    * `:ets` - a `:set` table holding `{index, byte}` for every index.
    * `:binary` - a plain binary (immutable: a set copies it).
  """

  def new(:handwritten, size), do: Bench.Handwritten.buffer_new(size)
  def new(:handwritten_o2, size), do: Bench.HandwrittenO2.buffer_new(size)
  def new(:corral, size), do: Buffer.Native.new(size)
  def new(:atomics, size), do: :atomics.new(size, signed: false)
  def new(:array, size), do: :array.fix(:array.from_list(List.duplicate(0, size), 0))

  def new(:ets, size) do
    tab = :ets.new(:bench_buffer, [:set, :public])
    fill_ets(tab, 0, size)
    tab
  end

  def new(:binary, size), do: :binary.copy(<<0>>, size)

  defp fill_ets(_tab, i, size) when i >= size, do: :ok

  defp fill_ets(tab, i, size) do
    chunk = min(size - i, 65_536)
    :ets.insert(tab, for(j <- i..(i + chunk - 1), do: {j, 0}))
    fill_ets(tab, i + chunk, size)
  end

  @doc "Reads one byte, outside the timed loops (for the sanity checks)."
  def get(:handwritten, buf, i), do: Bench.Handwritten.buffer_get(buf, i)
  def get(:handwritten_o2, buf, i), do: Bench.HandwrittenO2.buffer_get(buf, i)
  def get(:corral, buf, i), do: Buffer.Native.get(buf, i)
  def get(:atomics, ref, i), do: :atomics.get(ref, i + 1)
  def get(:array, arr, i), do: :array.get(i, arr)
  def get(:ets, tab, i), do: :ets.lookup_element(tab, i, 2)
  def get(:binary, bin, i), do: :binary.at(bin, i)
end
