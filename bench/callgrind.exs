# Instructions per call, counted by valgrind's callgrind (repeatable on a
# noisy machine, where wall time cannot resolve a few per cent):
#
#   bench/callgrind.sh
#
# runs Bench.CallgrindLoop.main/1 under callgrind twice per case, with two
# call counts, and divides the difference of the totals by the difference of
# the counts, so the VM's start and the loop's set-up cancel out. This file
# is the loop. callgrind.sh compiles it with elixirc before valgrind starts:
# the Erlang compiler run under callgrind by the JIT of OTP 25 crashes or
# miscompiles now and then, so nothing is compiled in the counted VM.
defmodule Bench.CallgrindLoop do
  def main([which, count]) do
    count = String.to_integer(count)
    Bench.Handwritten.Build.load!()

    case which do
      "add_corral" -> add_corral(count)
      "add_handwritten" -> add_handwritten(count)
      "add_typed_pure" -> add_typed_pure(count)
      "add_typed_def" -> add_typed_def(count)
      "new_corral" -> new_corral(count)
      "new_handwritten" -> new_handwritten(count)
      "get_corral" -> get_corral(Buffer.Native.new(16384), count)
      "get_handwritten" -> get_handwritten(Bench.Handwritten.buffer_new(16384), count)
      "set_corral" -> set_corral(Buffer.Native.new(16384), count)
      "set_handwritten" -> set_handwritten(Bench.Handwritten.buffer_new(16384), count)
      # One call over `count` elements.
      "points_in_corral" -> Bench.CorralNative.points_in(points(count))
      "points_in_handwritten" -> Bench.Handwritten.points_in(points(count))
      "points_out_corral" -> Bench.CorralNative.points_out(count)
      "points_out_handwritten" -> Bench.Handwritten.points_out(count)
      "list_sum_corral" -> Bench.CorralNative.list_sum(Enum.to_list(1..count))
      "list_sum_handwritten" -> Bench.Handwritten.list_sum(Enum.to_list(1..count))
      "list_sum_typed" -> Bench.CorralNative.list_sum_typed(Enum.to_list(1..count))
      # The same call twice: the second starts from the first one's length.
      "list_sum_typed_twice" -> for _ <- 1..2, do: Bench.CorralNative.list_sum_typed(Enum.to_list(1..count))
      "list_checked_corral" -> Bench.CorralNative.list_sum_checked(Enum.to_list(1..count))
      "list_checked_corral_ptr" -> Bench.CorralNative.list_sum_checked_ptr(Enum.to_list(1..count))
      "list_checked_handwritten" -> Bench.Handwritten.list_sum_checked(Enum.to_list(1..count))
      "list_build_corral" -> Bench.CorralNative.list_build(count)
      "list_build_handwritten" -> Bench.Handwritten.list_build(count)
      # One call over a binary of `count` bytes.
      "bytes_corral" -> Bench.CorralNative.binary_sum(bytes(count))
      "bytes_handwritten" -> Bench.Handwritten.binary_sum(bytes(count))
    end
  end

  defp bytes(n), do: :binary.copy(<<1, 2, 3, 4, 5, 6, 7, 8>>, div(n, 8))
  defp points(n), do: for(k <- 1..n, do: %Bench.Point{x: k * 1.0, y: k * 0.5})

  def add_corral(0), do: :ok
  def add_corral(n), do: (Bench.CorralNative.add(n, 1); add_corral(n - 1))
  def add_typed_pure(0), do: :ok
  def add_typed_pure(n), do: (Bench.CorralTypedPure.add(n, 1); add_typed_pure(n - 1))
  def add_typed_def(0), do: :ok
  def add_typed_def(n), do: (Bench.CorralTypedDef.add(n, 1); add_typed_def(n - 1))
  def add_handwritten(0), do: :ok
  def add_handwritten(n), do: (Bench.Handwritten.add(n, 1); add_handwritten(n - 1))
  def new_corral(0), do: :ok
  def new_corral(n), do: (Bench.CorralNative.object_new(n); new_corral(n - 1))
  def new_handwritten(0), do: :ok
  def new_handwritten(n), do: (Bench.Handwritten.object_new(n); new_handwritten(n - 1))
  def get_corral(_b, 0), do: :ok
  def get_corral(b, n), do: (Buffer.Native.get(b, 7); get_corral(b, n - 1))
  def get_handwritten(_b, 0), do: :ok
  def get_handwritten(b, n), do: (Bench.Handwritten.buffer_get(b, 7); get_handwritten(b, n - 1))
  def set_corral(_b, 0), do: :ok
  def set_corral(b, n), do: (Buffer.Native.set(b, 7, 1); set_corral(b, n - 1))
  def set_handwritten(_b, 0), do: :ok
  def set_handwritten(b, n), do: (Bench.Handwritten.buffer_set(b, 7, 1); set_handwritten(b, n - 1))
end
