# Items a thread job sends while it runs (corral_emit, read with
# Corral.Job.stream/3): `MIX_ENV=prod mix run items.exs` (part of
# `make bench`).
#
# Each variant takes n integers from C to a process that sums them, and
# the figure is wall time per item (the work is on two threads: the
# sender's and the reader's scheduler), the median of interleaved rounds
# with min..max, and the per-round ratio to the hand-written sender:
#
#   - hand-written erl_nif C: a thread that enif_sends {hw_item, k} per
#     item, with no back-pressure (the reader's mailbox grows without
#     bound when it falls behind);
#   - Corral.Job.stream/3 over corral_emit: back-pressure (64 unread at
#     most), acks per 32 items, through Elixir's Stream;
#   - the same items read by hand ({:corral_item, job, k}, Corral.Job.ack/3
#     per 32), as a GenServer would;
#   - not streaming at all: the whole list built by one NIF call
#     (list_build, hand-written), what a user picks when the result fits
#     in memory and the call may hold a scheduler for its time.
#
# Environment: BENCH_ROUNDS (default 11), BENCH_SCALE (default 1.0).

rounds = String.to_integer(System.get_env("BENCH_ROUNDS", "11"))
scale = String.to_float(System.get_env("BENCH_SCALE", "1.0"))
n = max(round(1_000_000 * scale), 1)

IO.puts("Corral item streaming benchmarks")

IO.puts(
  "#{:erlang.system_info(:system_architecture)}, OTP #{System.otp_release()}, Elixir #{System.version()}, " <>
    "#{:erlang.system_info(:schedulers_online)} schedulers, #{rounds} rounds, #{n} items"
)

Bench.Handwritten.Build.load!()

defmodule Items.Bench do
  alias Bench.Handwritten, as: H
  alias Bench.CorralNative, as: C

  # ns per item of fun.() (which takes n items and returns their sum).
  def time(fun, n) do
    expected = div(n * (n - 1), 2)
    t0 = System.monotonic_time(:nanosecond)
    ^expected = fun.()
    (System.monotonic_time(:nanosecond) - t0) / n
  end

  def handwritten(n) do
    :ok = H.items_send(n)
    hw_sum(0)
  end

  defp hw_sum(acc) do
    receive do
      {:hw_item, k} -> hw_sum(acc + k)
      {:hw_done, _} -> acc
    end
  end

  def stream(n), do: Corral.Job.stream(C, C.items_async(n)) |> Enum.reduce(0, &+/2)

  def by_hand(n) do
    job = C.items_async(n)
    by_hand(job, 0, 0)
  end

  defp by_hand(job, taken, acc) do
    receive do
      {:corral_item, ^job, k} when taken == 31 ->
        Corral.Job.ack(C, job, 32)
        by_hand(job, 0, acc + k)

      {:corral_item, ^job, k} ->
        by_hand(job, taken + 1, acc + k)

      {:corral_reply, ^job, {:ok, _}} ->
        acc
    end
  end

  def whole_list(n), do: H.list_build(n) |> Enum.sum()

  def median(xs), do: xs |> Enum.sort() |> Enum.at(div(length(xs), 2))
  def spread(xs), do: {Enum.min(xs), Enum.max(xs)}
  def fmt(x) when x >= 100, do: :erlang.float_to_binary(x / 1, decimals: 0)
  def fmt(x) when x >= 10, do: :erlang.float_to_binary(x / 1, decimals: 1)
  def fmt(x), do: :erlang.float_to_binary(x / 1, decimals: 2)
end

alias Items.Bench, as: B

variants = [
  {"hand-written C thread, enif_send per item", fn -> B.time(fn -> B.handwritten(n) end, n) end},
  {"Corral.Job.stream/3 over corral_emit", fn -> B.time(fn -> B.stream(n) end, n) end},
  {"corral_emit, read by hand with ack/3", fn -> B.time(fn -> B.by_hand(n) end, n) end},
  {"no streaming: the whole list from one call", fn -> B.time(fn -> B.whole_list(n) end, n) end}
]

# One warm-up round, not counted.
Enum.each(variants, fn {_, f} -> f.() end)

results =
  Enum.reduce(1..rounds, %{}, fn _, acc ->
    Enum.reduce(variants, acc, fn {label, f}, acc -> Map.update(acc, label, [f.()], &[f.() | &1]) end)
  end)

ref = "hand-written C thread, enif_send per item"

rows =
  for {label, _} <- variants do
    xs = results[label]
    {lo, hi} = B.spread(xs)
    ratios = Enum.zip_with(xs, results[ref], &(&1 / &2))
    {rlo, rhi} = B.spread(ratios)
    IO.puts("  #{String.pad_trailing(label, 46)} #{String.pad_leading(B.fmt(B.median(xs)), 7)} ns/item (#{B.fmt(lo)}..#{B.fmt(hi)})  #{B.fmt(B.median(ratios))}x (#{B.fmt(rlo)}..#{B.fmt(rhi)})")
    [label, "#{B.fmt(B.median(xs))} ns (#{B.fmt(lo)}..#{B.fmt(hi)})", "#{B.fmt(B.median(ratios))}x (#{B.fmt(rlo)}x..#{B.fmt(rhi)}x)"]
  end

Bench.Figures.write(
  "items",
  "items.exs",
  "#{n} integers from C to a process that sums them, wall time per item (median and min..max of #{rounds} " <>
    "interleaved rounds), and its per-round ratio to a hand-written erl_nif thread that sends each item with no back-pressure",
  ["how the items travel", "per item", "vs hand-written C"],
  rows
)
