defmodule Bench.Loops do
  @moduledoc """
  The timed loops, one per variant (see `Bench.LoopGen` for the template).
  Buffer loops index a 1 MiB (2^20 bytes) container.
  """
  import Bench.LoopGen

  @doc """
  Calls f(arg) n times (the bulk cases: each call is a whole conversion).

  Each result is used after the call, as a caller uses it: the collection
  that follows a NIF returning a big term copies the result if it is still
  live. A result nobody uses would be dropped uncopied, but only for a NIF
  the loop calls directly, not for one called from inside an Elixir function
  (Corral's generated functions), which made a 13 MB result look 1.5 times
  as slow through Corral as by hand.
  """
  def bulk(0, _f, _arg), do: :ok

  def bulk(n, f, arg) do
    result = f.(arg)
    used(result)
    bulk(n - 1, f, arg)
  end

  defp used(_result), do: :ok

  ## object_new(v)

  defnew :new_handwritten, Bench.Handwritten, :object_new
  defnew :new_handwritten_o2, Bench.HandwrittenO2, :object_new
  defnew :new_corral, Bench.CorralNative, :object_new
  defnew :new_corral_bare, Bench.CorralNative, :__nif_object_new

  ## add(a, b)

  defadd :add_handwritten, Bench.Handwritten
  defadd :add_handwritten_o2, Bench.HandwrittenO2
  defadd :add_corral, Bench.CorralNative
  # The NIFs themselves, as if bound to add/2 with no Elixir function in
  # front (what the generated function's try and call cost; not a way to
  # call Corral NIFs: a failure would escape as a raw error reason).
  defadd :add_corral_bare, Bench.CorralNative, :__nif_add
  defadd :add_typed_pure, Bench.CorralTypedPure
  defadd :add_typed_pure_bare, Bench.CorralTypedPure, :__nif_add
  defadd :add_typed_def, Bench.CorralTypedDef
  defadd :add_erlang, :bench_erlang
  # The loop alone: the same shape, the call replaced by a local one that the
  # compiler cannot remove (for reading the figures; nothing is subtracted).
  defadd :add_loop_only, Bench.Loops.Nothing

  ## get(buffer, index)

  defget :get_handwritten, fn buf, i -> Bench.Handwritten.buffer_get(buf, i) end
  defget :get_handwritten_o2, fn buf, i -> Bench.HandwrittenO2.buffer_get(buf, i) end
  defget :get_corral, fn buf, i -> Buffer.Native.get(buf, i) end
  defget :get_atomics, fn ref, i -> :atomics.get(ref, i + 1) end
  defget :get_array, fn arr, i -> :array.get(i, arr) end
  defget :get_ets, fn tab, i -> :ets.lookup_element(tab, i, 2) end
  defget :get_binary, fn bin, i -> :binary.at(bin, i) end
  # The pure NIF itself, without the generated Elixir function (as for add).
  defget :get_corral_bare, fn buf, i -> Buffer.Native.__nif_get(buf, i) end
  defget :get_loop_only, fn s, i -> Bench.Loops.Nothing.get(s, i) end

  # A 16 KiB buffer, which stays in the caches: the index is cut to 14 bits
  # (one more operation in every variant alike).
  defget :get_handwritten_16k, fn buf, i -> Bench.Handwritten.buffer_get(buf, Bitwise.band(i, 16383)) end
  defget :get_handwritten_o2_16k, fn buf, i -> Bench.HandwrittenO2.buffer_get(buf, Bitwise.band(i, 16383)) end
  defget :get_corral_16k, fn buf, i -> Buffer.Native.get(buf, Bitwise.band(i, 16383)) end

  ## set(buffer, index, byte)

  defset_in_place :set_handwritten, fn buf, i, b -> Bench.Handwritten.buffer_set(buf, i, b) end
  defset_in_place :set_handwritten_o2, fn buf, i, b -> Bench.HandwrittenO2.buffer_set(buf, i, b) end
  defset_in_place :set_corral, fn buf, i, b -> Buffer.Native.set(buf, i, b) end
  defset_in_place :set_corral_bare, fn buf, i, b -> Buffer.Native.__nif_set(buf, i, b) end
  defset_in_place :set_atomics, fn ref, i, b -> :atomics.put(ref, i + 1, b) end
  defset_in_place :set_handwritten_16k, fn buf, i, b -> Bench.Handwritten.buffer_set(buf, Bitwise.band(i, 16383), b) end
  defset_in_place :set_handwritten_o2_16k, fn buf, i, b -> Bench.HandwrittenO2.buffer_set(buf, Bitwise.band(i, 16383), b) end
  defset_in_place :set_corral_16k, fn buf, i, b -> Buffer.Native.set(buf, Bitwise.band(i, 16383), b) end
  defset :set_array, fn arr, i, b -> :array.set(i, b, arr) end

  defset_in_place :set_ets, fn tab, i, b -> :ets.insert(tab, {i, b}) end

  # A binary is immutable: setting one byte builds a new 1 MiB binary.
  defset :set_binary, fn bin, i, b ->
    <<pre::binary-size(i), _old, post::binary>> = bin
    <<pre::binary, b, post::binary>>
  end

  defset_in_place :set_loop_only, fn s, i, b -> Bench.Loops.Nothing.set(s, i, b) end
end

defmodule Bench.Loops.Nothing do
  @moduledoc false
  # Remote targets that do nothing, to time the loops alone.
  def add(_a, _b), do: 0
  def get(_s, _i), do: 0
  def set(_s, _i, _b), do: :ok
end
