defmodule Bench.Runner do
  @moduledoc """
  Times the benchmark cases in this VM and prints the table.

  A case is a list of variants; each variant is a batch: one call of a loop
  function of `Bench.Loops` doing `n` operations. A round runs one batch of
  every variant of the case, one after the other (the starting variant
  rotates from round to round), so slow drifts of the machine hit every
  variant alike. Each batch is timed with `:erlang.monotonic_time/1` in
  nanoseconds, after a garbage collection of this process; the figure of a
  variant is the median over the rounds of (batch time / n). Nothing is
  subtracted. One short untimed round comes first, as a warm-up.
  """

  defmodule Variant do
    @moduledoc false
    defstruct [:label, :fun, :args, :n, reference?: false]
  end

  @doc """
  A variant: `label`, the loop `fun` of `Bench.Loops` called as
  `fun(n, extra_args...)`, and `n` operations per batch.
  """
  def variant(label, fun, n, extra_args \\ [], opts \\ []) do
    %Variant{label: label, fun: fun, args: extra_args, n: n, reference?: Keyword.get(opts, :reference, false)}
  end

  @doc """
  Runs `cases` (`[{case_name, [variant]}]`) for `rounds` rounds; returns
  `[{case_name, [{variant, stats}]}]` with stats `%{median:, min:, max:}` in
  ns per operation.
  """
  def run(cases, rounds) do
    for {name, variants} <- cases do
      IO.write(:stderr, "  #{name}: ")
      # Warm-up: a tenth of a batch of each variant, untimed.
      Enum.each(variants, fn v -> batch(v, max(div(v.n, 10), 1)) end)

      samples =
        Enum.reduce(0..(rounds - 1), %{}, fn r, acc ->
          IO.write(:stderr, ".")

          variants
          |> rotate(r)
          |> Enum.reduce(acc, fn v, acc ->
            ns = batch(v, v.n)
            Map.update(acc, v.label, [ns / v.n], &[ns / v.n | &1])
          end)
        end)

      IO.write(:stderr, "\n")
      {name, for(v <- variants, do: {v, stats(Map.fetch!(samples, v.label))})}
    end
  end

  defp rotate(list, r) do
    k = rem(r, length(list))
    Enum.drop(list, k) ++ Enum.take(list, k)
  end

  # One timed batch: n operations; returns the elapsed nanoseconds.
  defp batch(%Variant{fun: fun, args: args}, n) do
    :erlang.garbage_collect()
    t0 = :erlang.monotonic_time(:nanosecond)
    _ = apply(Bench.Loops, fun, [n | args])
    t1 = :erlang.monotonic_time(:nanosecond)
    t1 - t0
  end

  defp stats(samples) do
    sorted = Enum.sort(samples)
    len = length(sorted)

    median =
      if rem(len, 2) == 1,
        do: Enum.at(sorted, div(len, 2)),
        else: (Enum.at(sorted, div(len, 2) - 1) + Enum.at(sorted, div(len, 2))) / 2

    %{median: median, min: hd(sorted), max: List.last(sorted)}
  end

  @doc "Prints the results as a table; `notes` are printed under it."
  def print(results, notes \\ []) do
    header = [pad("case", 12), pad("variant", 20), lpad("ns/op", 10), lpad("vs C", 8), "   spread (min..max ns/op)"]
    IO.puts(Enum.join(header))
    IO.puts(String.duplicate("-", 80))

    for {name, rows} <- results do
      ref =
        case Enum.find(rows, fn {v, _} -> v.reference? end) do
          {_, s} -> s.median
          nil -> nil
        end

      for {v, s} <- rows do
        ratio = if ref, do: fmt_ratio(s.median / ref), else: "-"

        IO.puts(
          Enum.join([
            pad(name, 12),
            pad(v.label, 20),
            lpad(fmt_ns(s.median), 10),
            lpad(ratio, 8),
            "   #{fmt_ns(s.min)}..#{fmt_ns(s.max)}"
          ])
        )
      end
    end

    Enum.each(notes, &IO.puts/1)
  end

  def fmt_ns(ns) when ns >= 100_000, do: :erlang.float_to_binary(ns / 1, decimals: 0)
  def fmt_ns(ns) when ns >= 100, do: :erlang.float_to_binary(ns / 1, decimals: 1)
  def fmt_ns(ns), do: :erlang.float_to_binary(ns / 1, decimals: 2)

  defp fmt_ratio(r) when r >= 100, do: :erlang.float_to_binary(r, decimals: 0)
  defp fmt_ratio(r), do: :erlang.float_to_binary(r, decimals: 2)

  defp pad(s, w), do: String.pad_trailing(s, w)
  defp lpad(s, w), do: String.pad_leading(s, w)
end
