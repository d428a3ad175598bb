# make demo: the Buffer example at work. Run with `mix run demo.exs`.

IO.puts("== A mutable byte buffer in C, through Corral ==\n")

buf = Buffer.new(1_048_576)
IO.puts("buf = Buffer.new(1_048_576)           # #{inspect(buf)}")
:ok = Buffer.set(buf, 42, 200)
IO.puts("Buffer.set(buf, 42, 200)             # :ok")
IO.puts("Buffer.get(buf, 42)                  # #{Buffer.get(buf, 42)}")
IO.puts("Buffer.size(buf)                     # #{Buffer.size(buf)}")
small = Buffer.from_binary("corral")
Buffer.update(small, 0, &(&1 - 32))
IO.puts("Buffer.to_binary(small)              # #{inspect(Buffer.to_binary(small))}")

IO.puts("\n== Bad calls raise clear exceptions; the VM keeps running ==\n")

for {code, fun} <- [
      {"Buffer.get(buf, 5_000_000)", fn -> Buffer.get(buf, 5_000_000) end},
      {"Buffer.set(buf, 0, 300)", fn -> Buffer.set(buf, 0, 300) end},
      {"Buffer.get(make_ref(), 0)", fn -> Buffer.get(make_ref(), 0) end},
      {"Buffer.new(-1)", fn -> Buffer.new(-1) end}
    ] do
  try do
    fun.()
  rescue
    e -> IO.puts("#{String.pad_trailing(code, 29)} ** (#{inspect(e.__struct__)}) #{Exception.message(e)}")
  end
end

IO.puts("\nstill alive: Buffer.get(buf, 42) = #{Buffer.get(buf, 42)}")

IO.puts("\n== Random get/set on a 1 MiB buffer, ns per operation ==\n")

# The loops are compiled (not evaluated) so that only the operations differ.
Code.compile_string("""
defmodule Demo.Loops do
  import Bitwise
  @mask 1_048_575
  def corral_get(_b, 0, acc), do: acc
  def corral_get(b, n, acc), do: corral_get(b, n - 1, acc + Buffer.Native.get(b, n * 7919 &&& @mask))
  def corral_set(_b, 0), do: :ok
  def corral_set(b, n), do: (Buffer.Native.set(b, n * 7919 &&& @mask, n &&& 255); corral_set(b, n - 1))
  def atomics_get(_a, 0, acc), do: acc
  def atomics_get(a, n, acc), do: atomics_get(a, n - 1, acc + :atomics.get(a, (n * 7919 &&& @mask) + 1))
  def atomics_set(_a, 0), do: :ok
  def atomics_set(a, n), do: (:atomics.put(a, (n * 7919 &&& @mask) + 1, n &&& 255); atomics_set(a, n - 1))
  def array_get(_a, 0, acc), do: acc
  def array_get(a, n, acc), do: array_get(a, n - 1, acc + :array.get(n * 7919 &&& @mask, a))
  def array_set(a, 0), do: a
  def array_set(a, n), do: array_set(:array.set(n * 7919 &&& @mask, n &&& 255, a), n - 1)
  def ets_get(_t, 0, acc), do: acc
  def ets_get(t, n, acc), do: ets_get(t, n - 1, acc + :ets.lookup_element(t, n * 7919 &&& @mask, 2))
  def ets_set(_t, 0), do: :ok
  def ets_set(t, n), do: (:ets.insert(t, {n * 7919 &&& @mask, n &&& 255}); ets_set(t, n - 1))
  def binary_get(_b, 0, acc), do: acc
  def binary_get(b, n, acc), do: binary_get(b, n - 1, acc + :binary.at(b, n * 7919 &&& @mask))
  def binary_set(b, 0), do: b
  def binary_set(b, n) do
    i = n * 7919 &&& @mask
    <<pre::binary-size(i), _, post::binary>> = b
    binary_set(<<pre::binary, (n &&& 255), post::binary>>, n - 1)
  end
end
""")

size = 1_048_576
atomics = :atomics.new(size, signed: false)
# Built from a list so every leaf exists (a default-only array answers
# gets without touching memory).
array = :array.fix(:array.from_list(List.duplicate(0, size)))
ets = :ets.new(:demo, [:set, :public])
:ets.insert(ets, for(i <- 0..(size - 1), do: {i, 0}))
binary = :binary.copy(<<0>>, size)

time = fn n, f ->
  t0 = System.monotonic_time(:nanosecond)
  f.()
  (System.monotonic_time(:nanosecond) - t0) / n
end

n = 200_000
nb = 200

rows = [
  {"Corral Buffer", time.(n, fn -> Demo.Loops.corral_get(buf, n, 0) end), time.(n, fn -> Demo.Loops.corral_set(buf, n) end)},
  {":atomics", time.(n, fn -> Demo.Loops.atomics_get(atomics, n, 0) end), time.(n, fn -> Demo.Loops.atomics_set(atomics, n) end)},
  {":array", time.(n, fn -> Demo.Loops.array_get(array, n, 0) end), time.(n, fn -> Demo.Loops.array_set(array, n) end)},
  {"ETS", time.(n, fn -> Demo.Loops.ets_get(ets, n, 0) end), time.(n, fn -> Demo.Loops.ets_set(ets, n) end)},
  {"copied binary", time.(n, fn -> Demo.Loops.binary_get(binary, n, 0) end), time.(nb, fn -> Demo.Loops.binary_set(binary, nb) end)}
]

IO.puts(String.pad_trailing("variant", 16) <> String.pad_leading("get", 12) <> String.pad_leading("set", 14))

for {name, get, set} <- rows do
  IO.puts(
    String.pad_trailing(name, 16) <>
      String.pad_leading(:erlang.float_to_binary(get, decimals: 1), 12) <>
      String.pad_leading(:erlang.float_to_binary(set, decimals: 1), 14)
  )
end

IO.puts("\n(one quick run; `make bench` measures carefully against hand-written C)")
