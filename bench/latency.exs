# Scheduler latency while a long NIF runs: `make bench` runs this in a VM
# with one normal scheduler (elixir --erl "+S 1"), so the ticking process
# and the NIF compete for it.
#
# For each mode the same ~2 s loop runs while a ticker process asks to wake
# up every 1 ms (`receive after 1`); its lateness (actual wait - 1 ms) is
# recorded. Reports max and p99 lateness, and the loop's total time.

alias Bench.Latency.Native, as: N

defmodule Bench.Latency do
  def ticker(parent, acc) do
    t0 = System.monotonic_time(:microsecond)

    receive do
      :stop -> send(parent, {:ticks, acc})
    after
      1 ->
        late = System.monotonic_time(:microsecond) - t0 - 1000
        ticker(parent, [late | acc])
    end
  end

  def run(label, fun) do
    parent = self()
    :erlang.garbage_collect()
    ticker = spawn(fn -> ticker(parent, []) end)
    Process.sleep(5)
    t0 = System.monotonic_time(:microsecond)
    worker = spawn(fn -> send(parent, {:result, fun.()}) end)
    result = receive do: ({:result, r} -> r)
    total = System.monotonic_time(:microsecond) - t0
    send(ticker, :stop)
    ticks = receive do: ({:ticks, t} -> Enum.sort(t))
    _ = worker
    n = length(ticks)
    max = List.last(ticks) || 0
    p99 = if n > 0, do: Enum.at(ticks, min(n - 1, trunc(n * 0.99))), else: 0
    {label, result, total, n, max, p99}
  end
end

n = String.to_integer(System.get_env("LATENCY_ITERATIONS", "2000000000"))
IO.puts("Scheduler latency with #{:erlang.system_info(:schedulers_online)} normal scheduler(s) online, #{n} loop iterations\n")

# Warm up (JIT, code loading, thread pool start).
N.spin_plain(1000); N.spin_dirty(1000); N.spin_yielding(1000); N.spin_yielding_chunked(1000); N.spin_thread(1000)

rounds =
  for _round <- 1..3 do
    for {label, fun} <- [
          {"plain (normal scheduler)", fn -> N.spin_plain(n) end},
          {"dirty CPU", fn -> N.spin_dirty(n) end},
          {"yielding", fn -> N.spin_yielding(n) end},
          {"yielding, check/1024", fn -> N.spin_yielding_chunked(n) end},
          {"thread job", fn -> N.spin_thread(n) end}
        ] do
      Bench.Latency.run(label, fun)
    end
  end

results = List.flatten(rounds)
[{_, expected, _, _, _, _} | _] = results
true = Enum.all?(results, fn {_, r, _, _, _, _} -> r == expected end) || raise "modes disagree"

median = fn list -> list |> Enum.sort() |> Enum.at(div(length(list), 2)) end

by_mode = Enum.group_by(results, &elem(&1, 0))
plain_total = by_mode["plain (normal scheduler)"] |> Enum.map(&elem(&1, 2)) |> median.()

IO.puts(String.pad_trailing("mode", 26) <> String.pad_leading("total ms", 10) <> String.pad_leading("vs plain", 10) <>
          String.pad_leading("ticks", 8) <> String.pad_leading("max late ms", 13) <> String.pad_leading("p99 late ms", 13))

for label <- ["plain (normal scheduler)", "dirty CPU", "yielding", "yielding, check/1024", "thread job"] do
  rows = by_mode[label]
  total = rows |> Enum.map(&elem(&1, 2)) |> median.()
  ticks = rows |> Enum.map(&elem(&1, 3)) |> median.()
  max = rows |> Enum.map(&elem(&1, 4)) |> Enum.max()
  p99 = rows |> Enum.map(&elem(&1, 5)) |> median.()

  IO.puts(
    String.pad_trailing(label, 26) <>
      String.pad_leading(:erlang.float_to_binary(total / 1000, decimals: 0), 10) <>
      String.pad_leading(:erlang.float_to_binary(total / plain_total, decimals: 3), 10) <>
      String.pad_leading(Integer.to_string(ticks), 8) <>
      String.pad_leading(:erlang.float_to_binary(max / 1000, decimals: 2), 13) <>
      String.pad_leading(:erlang.float_to_binary(p99 / 1000, decimals: 2), 13)
  )
end

IO.puts("\n(max late: worst wake-up delay beyond the 1 ms asked, over 3 rounds; p99 and total: median of 3 rounds)")

# Round trip of a trivial thread job against a plain call.
calls = 20_000
time = fn f -> t = System.monotonic_time(:nanosecond); f.(); (System.monotonic_time(:nanosecond) - t) / calls end

plain_rt = for(_ <- 1..5, do: time.(fn -> for _ <- 1..calls, do: N.spin_plain(1) end)) |> median.()
thread_rt = for(_ <- 1..5, do: time.(fn -> for _ <- 1..calls, do: N.spin_thread(1) end)) |> median.()

IO.puts("\nround trip of a trivial call: plain NIF #{:erlang.float_to_binary(plain_rt, decimals: 0)} ns, " <>
          "thread job #{:erlang.float_to_binary(thread_rt / 1000, decimals: 1)} us")
