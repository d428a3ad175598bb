# The cost of isolation: `MIX_ENV=prod mix run isolated.exs` (run by
# `make bench`). The same C functions (c_src/corral_roundtrip) called as a
# NIF in this VM and through `isolate: true` in a separate OS process, in
# the same run, interleaved round after round; medians of ns per call.
#
# Environment: BENCH_ROUNDS (default 11), BENCH_SCALE (default 1.0) as in run.exs.

alias Bench.RoundTrip
alias Bench.RoundTrip.{Isolated, Native}

rounds = String.to_integer(System.get_env("BENCH_ROUNDS", "11"))
scale = String.to_float(System.get_env("BENCH_SCALE", "1.0"))
n = fn count -> max(round(count * scale), 1) end

IO.puts("Isolated calls against NIF calls of the same C")

IO.puts(
  "#{:erlang.system_info(:system_architecture)}, OTP #{System.otp_release()} " <>
    "(#{:erlang.system_info(:emu_flavor)}), Elixir #{System.version()}, " <>
    "#{System.schedulers_online()} schedulers, #{rounds} rounds"
)

# What a user would do instead: the NIF in a `:peer` node of this VM,
# called with :erpc. Distribution (epmd on 127.0.0.1 only) is started
# first, before any isolated call: a VM's pids change names with it.
System.put_env("ERL_EPMD_ADDRESS", "127.0.0.1")
epmd = System.find_executable("epmd") || Path.join([:code.root_dir(), "erts-#{:erlang.system_info(:version)}", "bin", "epmd"])
{_, 0} = System.cmd(epmd, ["-daemon", "-address", "127.0.0.1"])
{:ok, _} = :net_kernel.start([:"corral_bench_#{System.unique_integer([:positive])}", :shortnames])
kb = :binary.copy(<<7>>, 1024)
kb64 = :binary.copy(<<7>>, 65536)
native_cell = Native.cell_new(42)

# The first isolated call starts the native process; time it.
t0 = System.monotonic_time(:microsecond)
3 = Isolated.add(1, 2)
first_ms = (System.monotonic_time(:microsecond) - t0) / 1000
isolated_cell = Isolated.cell_new(42)

# Sanity: both compute the same thing.
3 = Native.add(1, 2)
^kb = Native.echo(kb)
^kb = Isolated.echo(kb)
42 = Native.cell_get(native_cell)
42 = Isolated.cell_get(isolated_cell)

peer_args = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])
t0 = System.monotonic_time(:microsecond)
{:ok, peer, node} = :peer.start_link(%{name: :peer.random_name(), args: peer_args})
3 = :erpc.call(node, Native, :add, [1, 2])
peer_first_ms = (System.monotonic_time(:microsecond) - t0) / 1000
^kb = :erpc.call(node, Native, :echo, [kb])

pinger = spawn(fn -> Stream.repeatedly(fn -> receive do: ({from, x} -> send(from, x)) end) |> Stream.run() end)


erpc = ":erpc to a :peer node"

cases = [
  {"add(a, b)",
   [{"NIF", &RoundTrip.add_native/1, n.(1_000_000)}, {"isolated", &RoundTrip.add_isolated/1, n.(2000)},
    {erpc, &RoundTrip.add_erpc(&1, node), n.(2000)}]},
  {"echo(1 KiB)",
   [{"NIF", &RoundTrip.echo_native(&1, kb), n.(1_000_000)}, {"isolated", &RoundTrip.echo_isolated(&1, kb), n.(2000)},
    {erpc, &RoundTrip.echo_erpc(&1, node, kb), n.(2000)}]},
  {"echo(64 KiB)",
   [{"NIF", &RoundTrip.echo_native(&1, kb64), n.(1_000_000)}, {"isolated", &RoundTrip.echo_isolated(&1, kb64), n.(500)},
    {erpc, &RoundTrip.echo_erpc(&1, node, kb64), n.(500)}]},
  # Many callers at once: ns per call of the whole batch (its inverse is the
  # throughput); the callers share this machine's cores with both VMs.
  {"add, 1 caller",
   [{"isolated", &RoundTrip.concurrent(fn k -> Isolated.add(k, 1) end, &1, 1), n.(2000)},
    {erpc, &RoundTrip.concurrent(fn k -> :erpc.call(node, Native, :add, [k, 1]) end, &1, 1), n.(2000)}]},
  {"add, 8 callers",
   [{"isolated", &RoundTrip.concurrent(fn k -> Isolated.add(k, 1) end, &1, 8), n.(4000)},
    {erpc, &RoundTrip.concurrent(fn k -> :erpc.call(node, Native, :add, [k, 1]) end, &1, 8), n.(4000)}]},
  {"add, 50 callers",
   [{"isolated", &RoundTrip.concurrent(fn k -> Isolated.add(k, 1) end, &1, 50), n.(5000)},
    {erpc, &RoundTrip.concurrent(fn k -> :erpc.call(node, Native, :add, [k, 1]) end, &1, 50), n.(5000)}]},
  {"cell_get(resource)",
   [{"NIF", &RoundTrip.cell_native(&1, native_cell), n.(1_000_000)}, {"isolated (handle)", &RoundTrip.cell_isolated(&1, isolated_cell), n.(2000)}]},
  {"for reading", [{"message to a process and back", &RoundTrip.ping(&1, pinger), n.(200_000)}]}
]

batch = fn fun, count ->
  :erlang.garbage_collect()
  t0 = :erlang.monotonic_time(:nanosecond)
  fun.(count)
  (:erlang.monotonic_time(:nanosecond) - t0) / count
end

median = fn list ->
  s = Enum.sort(list)
  Enum.at(s, div(length(s), 2))
end

IO.write(:stderr, "running (#{rounds} rounds per case)\n")
t0 = System.monotonic_time(:millisecond)

results =
  for {name, variants} <- cases do
    IO.write(:stderr, "  #{name}: ")
    Enum.each(variants, fn {_, fun, count} -> batch.(fun, max(div(count, 10), 1)) end)

    samples =
      Enum.reduce(0..(rounds - 1), %{}, fn r, acc ->
        IO.write(:stderr, ".")
        k = rem(r, length(variants))

        (Enum.drop(variants, k) ++ Enum.take(variants, k))
        |> Enum.reduce(acc, fn {label, fun, count}, acc -> Map.update(acc, label, [batch.(fun, count)], &[batch.(fun, count) | &1]) end)
      end)

    IO.write(:stderr, "\n")
    rows = for({label, _, _} <- variants, do: {label, median.(samples[label]), Enum.min(samples[label]), Enum.max(samples[label])})
    # Paired: isolated over :erpc in each round (both lists hold the rounds in the same order).
    ratios = if samples[erpc], do: Enum.zip_with(samples["isolated"], samples[erpc], &(&1 / &2)), else: []
    {name, rows, ratios}
  end

# Where the time of the throughput cases goes: CPU time of both OS
# processes (this VM and the native VM, from /proc: Linux only) beside the
# wall time of one batch per number of callers. With 2 cores, "cores busy"
# near 2.0 means more callers can only share them.
cpu_ticks = fn os_pid ->
  case File.read("/proc/#{os_pid}/stat") do
    {:ok, stat} ->
      fields = stat |> String.split(") ") |> List.last() |> String.split()
      String.to_integer(Enum.at(fields, 11)) + String.to_integer(Enum.at(fields, 12))

    {:error, _} ->
      nil
  end
end

# The native VM: the beam (not the shell that starts it) whose command line
# names this module and this VM.
native_os_pid =
  Enum.find(Path.wildcard("/proc/[0-9]*/cmdline"), fn path ->
    case File.read(path) do
      {:ok, cmd} ->
        String.contains?(hd(String.split(cmd, "\0")), "beam") and
          String.contains?(cmd, "-corral_peer\0#{Atom.to_string(Isolated)}\0") and String.contains?(cmd, "\0#{System.pid()}\0")

      _ -> false
    end
  end)
  |> then(&(&1 && &1 |> Path.dirname() |> Path.basename()))

cpu_rows =
  if native_os_pid && cpu_ticks.(System.pid()) do
    hz =
      case System.cmd("getconf", ["CLK_TCK"], stderr_to_stdout: true) do
        {out, 0} -> String.to_integer(String.trim(out))
        _ -> 100
      end

    tick_us = 1_000_000 / hz

    for callers <- [1, 8, 50] do
      calls = n.(200_000)
      here0 = cpu_ticks.(System.pid())
      there0 = cpu_ticks.(native_os_pid)
      t0 = :erlang.monotonic_time(:microsecond)
      RoundTrip.concurrent(fn k -> Isolated.add(k, 1) end, calls, callers)
      wall = :erlang.monotonic_time(:microsecond) - t0
      here = (cpu_ticks.(System.pid()) - here0) * tick_us
      there = (cpu_ticks.(native_os_pid) - there0) * tick_us
      {callers, calls * 1.0e6 / wall, here / calls, there / calls, (here + there) / wall}
    end
  else
    []
  end

# A crash, then the next call: the new native process starts (its VM boots).
restart_ms =
  for _ <- 1..5 do
    try do
      Isolated.crash()
    rescue
      Corral.NativeCrashError -> :ok
    end

    t = System.monotonic_time(:microsecond)
    3 = Isolated.add(1, 2)
    (System.monotonic_time(:microsecond) - t) / 1000
  end

elapsed = System.monotonic_time(:millisecond) - t0
:peer.stop(peer)
fmt = fn ns -> if ns >= 1000, do: "#{Float.round(ns / 1000, 1)} us", else: "#{Float.round(ns, 1)} ns" end

IO.puts("")
IO.puts(String.pad_trailing("case", 20) <> String.pad_trailing("variant", 32) <> String.pad_leading("per call", 12) <> "   spread (min..max)")
IO.puts(String.duplicate("-", 90))

for {name, rows, _} <- results, {label, med, lo, hi} <- rows do
  IO.puts(String.pad_trailing(name, 20) <> String.pad_trailing(label, 32) <> String.pad_leading(fmt.(med), 12) <> "   #{fmt.(lo)}..#{fmt.(hi)}")
end

IO.puts("")
IO.puts("Isolated call over :erpc.call to a :peer node, paired per round (below 1.0: isolation is cheaper)")
IO.puts(String.pad_trailing("case", 20) <> String.pad_leading("median", 10) <> "   spread (min..max)")

for {name, _, [_ | _] = ratios} <- results do
  r = fn x -> :erlang.float_to_binary(x, decimals: 2) end
  IO.puts(String.pad_trailing(name, 20) <> String.pad_leading(r.(median.(ratios)) <> "x", 10) <> "   #{r.(Enum.min(ratios))}x..#{r.(Enum.max(ratios))}x")
end

for {name, rows, _} <- results, String.starts_with?(name, "add, ") do
  {_, med, _, _} = List.keyfind(rows, "isolated", 0)
  IO.puts("#{name}: isolated #{round(1.0e9 / med)} calls/s")
end

if cpu_rows != [] do
  IO.puts("")
  IO.puts("CPU time of both VMs during one batch of isolated add (user + system, from /proc, in clock ticks)")

  for {callers, rate, here, there, busy} <- cpu_rows do
    IO.puts(
      "#{callers} caller(s): #{round(rate)} calls/s; CPU per call: this VM #{Float.round(here, 2)} us, " <>
        "native VM #{Float.round(there, 2)} us; cores busy #{Float.round(busy, 2)}"
    )
  end
end

IO.puts("")
IO.puts("Median of #{rounds} interleaved rounds; per call including the loop, nothing subtracted.")
IO.puts("First isolated call (starts the native process): #{Float.round(first_ms, 1)} ms; " <>
          ":peer.start_link and the first :erpc call: #{Float.round(peer_first_ms, 1)} ms.")
IO.puts("Crash, then the next call (a new native process starts): median #{Float.round(median.(restart_ms), 1)} ms of 5 (#{Enum.map_join(restart_ms, ", ", &Float.round(&1, 1))}).")
IO.puts("Timed for #{Float.round(elapsed / 1000, 1)} s.")

# The table the docs quote (bench/results, with BENCH_RECORD=1; Bench.Figures).
cell = fn rows, pick ->
  case Enum.find(rows, fn {label, _, _, _} -> pick.(label) end) do
    {_, med, lo, hi} -> "#{fmt.(med)} (#{fmt.(lo)}..#{fmt.(hi)})"
    nil -> "-"
  end
end

table =
  for {name, rows, ratios} <- results, name != "for reading" do
    r = fn x -> :erlang.float_to_binary(x, decimals: 2) <> "x" end
    vs = if ratios == [], do: "-", else: "#{r.(median.(ratios))} (#{r.(Enum.min(ratios))}..#{r.(Enum.max(ratios))})"
    [name, cell.(rows, &String.starts_with?(&1, "isolated")), cell.(rows, &(&1 == "NIF")), cell.(rows, &(&1 == erpc)), vs]
  end

Bench.Figures.write(
  "isolated",
  "isolated.exs",
  "wall time per isolated call, median and min..max of #{rounds} interleaved rounds, beside a NIF call of the same C in " <>
    "this VM and :erpc.call to a local :peer node in the same rounds, and the per-round ratio of the isolated call to " <>
    ":erpc; first isolated call #{Float.round(first_ms, 1)} ms (:peer start and first :erpc call " <>
    "#{Float.round(peer_first_ms, 1)} ms), a crash and the next call #{Float.round(median.(restart_ms), 1)} ms (median of 5)",
  ["case", "isolated call", "NIF call in this VM", ":erpc to a :peer node", "isolated vs :erpc"],
  table
)
