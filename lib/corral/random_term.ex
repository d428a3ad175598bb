defmodule Corral.RandomTerm do
  @moduledoc """
  Random Erlang terms of every kind, for throwing bad input at NIFs in
  tests: integers at and beyond every C width's boundaries, big integers,
  floats, atoms, binaries (printable, arbitrary and sub-binaries),
  bitstrings, lists (proper, improper, charlists, iolists), tuples, maps,
  pids, references, ports and funs, nested to a bounded depth.

      for _ <- 1..10_000 do
        term = Corral.RandomTerm.generate()
        try do
          MyNif.fun(term)
        rescue
          ArgumentError -> :ok
        end
      end

  The generator uses the process's `:rand` state: seed it with
  `:rand.seed(:exsss, seed)` to replay a run.
  """

  import Bitwise

  @boundaries [
    0, 1, -1, 127, 128, 255, 256, -128, -129, 32_767, 32_768, -32_769, 65_535, 65_536,
    2_147_483_647, 2_147_483_648, -2_147_483_648, -2_147_483_649, 4_294_967_295, 4_294_967_296,
    9_223_372_036_854_775_807, 9_223_372_036_854_775_808, -9_223_372_036_854_775_808,
    -9_223_372_036_854_775_809, 18_446_744_073_709_551_615, 18_446_744_073_709_551_616
  ]

  @atoms [:ok, :error, nil, true, false, :undefined, :red, :"with space", :"Elixir.Foo", :ä, :""]

  @doc "A random term nested at most `depth` levels deep."
  @spec generate(non_neg_integer()) :: term()
  def generate(depth \\ 3) do
    kinds = if depth <= 0, do: 9, else: 15

    case :rand.uniform(kinds) do
      1 -> Enum.random(@boundaries) + Enum.random([-1, 0, 0, 0, 1])
      2 -> :rand.uniform(1 <<< 200) * Enum.random([1, -1])
      3 -> Enum.random([0.0, -0.0, 1.5, -1.0e300, 5.0e-324, 1.0e20, :rand.uniform() * 1000])
      4 -> Enum.random(@atoms)
      5 -> :rand.bytes(:rand.uniform(40) - 1)
      6 -> Enum.random(["", "text", "héllo", String.duplicate("x", 300), "\#{x}\n"])
      7 -> <<:rand.uniform(255)::size(:rand.uniform(7))>>
      8 -> Enum.random([self(), make_ref(), hd(Port.list() ++ [self()]), &Enum.map/2, fn -> :ok end])
      9 -> sub_binary()
      10 -> for _ <- 1..:rand.uniform(6)//1, do: generate(depth - 1)
      11 -> [generate(depth - 1) | generate(0)]
      12 -> List.to_tuple(for _ <- 1..(:rand.uniform(5) - 1)//1, do: generate(depth - 1))
      13 -> Map.new(1..(:rand.uniform(5) - 1)//1, fn _ -> {generate(depth - 1), generate(depth - 1)} end)
      14 -> Enum.random([~c"abc", [1, 2, 3], [256, 1000], [[?a], "b" | "c"], []])
      15 -> Enum.random([%{__struct__: Foo, a: 1}, {:ok, generate(depth - 1)}, {:error, :enoent}, 1..3])
    end
  end

  defp sub_binary do
    bin = :rand.bytes(64)
    at = :rand.uniform(30)
    binary_part(bin, at, :rand.uniform(30))
  end
end
