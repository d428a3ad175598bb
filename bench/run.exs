# The benchmark suite: `MIX_ENV=prod mix run run.exs` (or ./run.sh).
#
# One VM run. Every case runs its variants interleaved, round after round,
# and reports the median ns per operation of each (scheduler thread CPU time
# and wall time), with the median and min..max of its per-round ratios to
# the hand-written erl_nif C library (-O3). See README.md and Bench.Runner.
#
# Environment: BENCH_ROUNDS (default 21) sets the number of timed rounds;
# BENCH_SCALE (default 1.0) scales every batch size (0.1 for a quick try).

alias Bench.{Containers, Runner}

rounds = String.to_integer(System.get_env("BENCH_ROUNDS", "21"))
scale = String.to_float(System.get_env("BENCH_SCALE", "1.0"))
n = fn count -> max(round(count * scale), 1) end

size = 1_048_576
small = 16_384

# Batch sizes: operations per timed batch.
n_add = n.(2_000_000)
n_new = n.(200_000)
n_buf = n.(1_000_000)
# Slow sets get smaller batches, to keep the whole run short: an :array set
# rebuilds a path of tuples (microseconds), and setting a byte of a binary
# copies the whole 1 MiB binary (about a millisecond).
n_array_set = n.(250_000)
n_binary_set = n.(500)

IO.puts("Corral benchmarks")

IO.puts(
  "#{:erlang.system_info(:system_architecture)}, OTP #{System.otp_release()} " <>
    "(#{:erlang.system_info(:emu_flavor)}), Elixir #{System.version()}, " <>
    "timed on one scheduler, #{rounds} rounds, buffers of #{size} and #{small} bytes"
)

IO.write(:stderr, "building the hand-written reference... ")
Bench.Handwritten.Build.load!()
IO.write(:stderr, "ok\nsetting up the buffers... ")

kinds = [:handwritten, :handwritten_o2, :corral, :atomics, :array, :ets, :binary]
buf = Map.new(kinds, fn k -> {k, Containers.new(k, size)} end)
small_buf = Map.new([:handwritten, :handwritten_o2, :corral], fn k -> {k, Containers.new(k, small)} end)
IO.write(:stderr, "ok\n")

# Sanity checks: every variant computes the same thing, outside the timing.
5 = Bench.Handwritten.add(2, 3)
5 = Bench.HandwrittenO2.add(2, 3)
5 = Bench.CorralNative.add(2, 3)
5 = Bench.CorralTypedPure.add(2, 3)
5 = Bench.CorralTypedDef.add(2, 3)
5 = :bench_erlang.add(2, 3)
# A loop of n returns its last result: add(1, 1).
2 = Bench.Loops.add_handwritten(3)
2 = Bench.Loops.add_handwritten_o2(3)
2 = Bench.Loops.add_corral(3)
2 = Bench.Loops.add_typed_pure(3)
2 = Bench.Loops.add_typed_pure_bare(3)
2 = Bench.Loops.add_typed_def(3)
2 = Bench.Loops.add_erlang(3)

probe = 12_345
:ok = Bench.Handwritten.buffer_set(buf.handwritten, probe, 77)
:ok = Bench.HandwrittenO2.buffer_set(buf.handwritten_o2, probe, 77)
:ok = Buffer.Native.set(buf.corral, probe, 77)
:ok = :atomics.put(buf.atomics, probe + 1, 77)
array = :array.set(probe, 77, buf.array)
true = :ets.insert(buf.ets, {probe, 77})
binary = Bench.Loops.set_binary(1, buf.binary)
x = Bitwise.band(1 * 1_664_525 + 1_013_904_223, 0xFFFFFFFF)
{i1, b1} = {Bitwise.bsr(x, 12), Bitwise.band(x, 255)}
^b1 = :binary.at(binary, i1)

for {k, c} <- [handwritten: buf.handwritten, handwritten_o2: buf.handwritten_o2, corral: buf.corral, atomics: buf.atomics, array: array, ets: buf.ets] do
  77 = Containers.get(k, c, probe)
  0 = Containers.get(k, c, probe + 1)
end

# One iteration of each set loop, then of each get loop, touches the same
# index: every variant reads back the byte its set loop wrote.
for k <- [:handwritten, :handwritten_o2, :corral, :atomics, :ets] do
  apply(Bench.Loops, :"set_#{k}", [1, buf[k]])
  ^b1 = Containers.get(k, buf[k], i1)
  ^b1 = apply(Bench.Loops, :"get_#{k}", [1, buf[k]])
end

# The same for the 16 KiB buffers, whose loops cut the index to 14 bits.
for k <- [:handwritten, :handwritten_o2, :corral] do
  apply(Bench.Loops, :"set_#{k}_16k", [1, small_buf[k]])
  ^b1 = Containers.get(k, small_buf[k], Bitwise.band(i1, small - 1))
  ^b1 = apply(Bench.Loops, :"get_#{k}_16k", [1, small_buf[k]])
end

^b1 = Bench.Loops.get_array(1, Bench.Loops.set_array(1, buf.array))
^b1 = Bench.Loops.get_binary(1, binary)

# Every object variant makes a resource term.
for k <- [:handwritten, :handwritten_o2, :corral, :corral_bare] do
  true = is_reference(apply(Bench.Loops, :"new_#{k}", [1]))
end

v = &Runner.variant/5
label = %{handwritten: "handwritten C", handwritten_o2: "handwritten C -O2", corral: "Corral", atomics: ":atomics", array: ":array", ets: "ETS", binary: "binary"}

cases = [
  {"add",
   [
     v.("handwritten C", :add_handwritten, n_add, [], reference: true),
     v.("handwritten C -O2", :add_handwritten_o2, n_add, [], []),
     v.("Corral", :add_corral, n_add, [], []),
     v.("Corral, bare NIF", :add_corral_bare, n_add, [], []),
     v.("Corral typed pure", :add_typed_pure, n_add, [], []),
     v.("Corral typed pure, bare NIF", :add_typed_pure_bare, n_add, [], []),
     v.("Corral typed def", :add_typed_def, n_add, [], []),
     v.("Erlang function", :add_erlang, n_add, [], [])
   ]},
  {"buffer get",
   for k <- kinds do
     v.(label[k], :"get_#{k}", n_buf, [buf[k]], reference: k == :handwritten)
   end ++ [v.("Corral, bare NIF", :get_corral_bare, n_buf, [buf.corral], [])]},
  {"buffer set",
   for k <- kinds do
     count =
       case k do
         :array -> n_array_set
         :binary -> n_binary_set
         _ -> n_buf
       end

     v.(label[k], :"set_#{k}", count, [buf[k]], reference: k == :handwritten)
   end ++ [v.("Corral, bare NIF", :set_corral_bare, n_buf, [buf.corral], [])]},
  {"object new",
   [
     v.("handwritten C", :new_handwritten, n_new, [], reference: true, fresh_process: true),
     v.("handwritten C -O2", :new_handwritten_o2, n_new, [], fresh_process: true),
     v.("Corral", :new_corral, n_new, [], fresh_process: true),
     v.("Corral, bare NIF", :new_corral_bare, n_new, [], fresh_process: true)
   ]},
  {"buffer get 16K",
   for k <- [:handwritten, :handwritten_o2, :corral] do
     v.(label[k], :"get_#{k}_16k", n_buf, [small_buf[k]], reference: k == :handwritten)
   end},
  {"buffer set 16K",
   for k <- [:handwritten, :handwritten_o2, :corral] do
     v.(label[k], :"set_#{k}_16k", n_buf, [small_buf[k]], reference: k == :handwritten)
   end}
]

# The loops alone (an empty remote call in place of the operation), timed
# the same way, for reading the figures; they are not subtracted.
baseline = [
  {"loop alone",
   [
     v.("add loop", :add_loop_only, n_add, [], []),
     v.("get loop", :get_loop_only, n_buf, [nil], []),
     v.("set loop", :set_loop_only, n_buf, [nil], [])
   ]}
]

IO.write(:stderr, "running (#{rounds} rounds per case)\n")
t0 = System.monotonic_time(:millisecond)
results = Runner.run(cases ++ baseline, rounds)
elapsed = System.monotonic_time(:millisecond) - t0

{main, [{_, loops}]} = Enum.split(results, length(cases))
loop_note = Enum.map_join(loops, ", ", fn {v, s} -> "#{v.label} #{Runner.fmt_ns(s.cpu && s.cpu.median)}" end)

IO.puts("")

Runner.print(main, [
  "",
  "Median of #{rounds} interleaved rounds; ns per operation including the loop, nothing subtracted.",
  "vs C: the median of the per-round ratios to hand-written C -O3 (CPU time of the scheduler thread; wall time last).",
  "Batches: add #{n_add}, get/set #{n_buf} (:array set #{n_array_set}, binary set #{n_binary_set}) operations.",
  "The loop with an empty remote call instead of the operation (cpu ns/op): #{loop_note}.",
  "Timed for #{Float.round(elapsed / 1000, 1)} s."
])

# The tables the docs quote (bench/results, with BENCH_RECORD=1; Bench.Figures).
rows = fn pick ->
  for {name, rows} <- main, {v, s} <- rows, pick.(name, v.label) do
    [name, v.label, Bench.Figures.spread(s.ratio, :ratio), Runner.fmt_ns(s.cpu && s.cpu.median), Bench.Figures.ratio(s.wall_ratio && s.wall_ratio.median)]
  end
end

header = ["operation", "variant", "vs hand-written C: median (min..max)", "ns per operation", "wall time vs C"]

what =
  "each variant's CPU time (scheduler thread) over hand-written erl_nif C -O3, the median and min..max of " <>
    "#{rounds} paired rounds; ns per operation include the calling loop"

Bench.Figures.write("calls", "run.exs", what, header, rows.(fn _, _ -> true end))

summary = %{
  "add" => ["Corral typed pure", "Erlang function"],
  "buffer get" => ["Corral", ":atomics", "ETS"],
  "buffer set" => ["Corral", ":atomics", "ETS"],
  "object new" => ["Corral"]
}

Bench.Figures.write("calls-summary", "run.exs", what, header, rows.(fn name, label -> label in Map.get(summary, name, []) end))
