# Bulk term conversions: Corral against hand-written erl_nif C in the same
# run, and the pure-BEAM way of doing the same thing for scale.
# `MIX_ENV=prod mix run terms.exs` (run by `make bench`).
alias Bench.Runner

rounds = String.to_integer(System.get_env("BENCH_ROUNDS", "21"))
scale = String.to_float(System.get_env("BENCH_SCALE", "1.0"))
n = fn count -> max(round(count * scale), 1) end

Bench.Handwritten.Build.load!()
alias Bench.Handwritten, as: H
alias Bench.CorralNative, as: C

list = Enum.to_list(1..1_000_000)
bin = :rand.bytes(16 * 1024 * 1024)
points = for i <- 1..100_000, do: %Bench.Point{x: i * 1.0, y: i * 0.5}
expected_sum = Enum.sum(list)
expected_bytes = for(<<b <- bin>>, reduce: 0, do: (acc -> acc + b))

# Sanity: both libraries compute the same results, outside the timing.
^expected_sum = H.list_sum(list)
^expected_sum = C.list_sum(list)
^expected_sum = C.list_sum_typed(list)
^expected_sum = H.list_sum_checked(list)
^expected_sum = C.list_sum_checked(list)
^expected_sum = C.list_sum_checked_ptr(list)
true = H.list_build(1000) == C.list_build(1000) and C.list_build(1000) == Enum.to_list(0..999)
^expected_bytes = H.binary_sum(bin)
^expected_bytes = C.binary_sum(bin)
true = H.points_in(points) == C.points_in(points)
true = H.points_out(1000) == C.points_out(1000)
%Bench.Point{x: 999.0, y: 999.0} = List.last(C.points_out(1000))

v = fn label, f, arg, count, ref -> Runner.variant(label, :bulk, count, [f, arg], reference: ref) end

cases = [
  {"list sum 1M",
   [v.("handwritten C", &H.list_sum/1, list, n.(20), true), v.("Corral", &C.list_sum/1, list, n.(20), false),
    v.("Corral (list, i64, xs)", &C.list_sum_typed/1, list, n.(20), false),
    v.("Enum.sum", &Enum.sum/1, list, n.(20), false)]},
  {"checked sum 1M",
   [v.("handwritten C", &H.list_sum_checked/1, list, n.(20), true),
    v.("Corral raise_at(c, e)", &C.list_sum_checked/1, list, n.(20), false),
    v.("Corral raise_at(c, &e)", &C.list_sum_checked_ptr/1, list, n.(20), false)]},
  {"list build 1M",
   [v.("handwritten C", &H.list_build/1, 1_000_000, n.(20), true), v.("Corral", &C.list_build/1, 1_000_000, n.(20), false),
    v.("Enum.to_list", fn k -> Enum.to_list(0..(k - 1)) end, 1_000_000, n.(20), false)]},
  {"bytes 16 MiB",
   [v.("handwritten C", &H.binary_sum/1, bin, n.(20), true), v.("Corral", &C.binary_sum/1, bin, n.(20), false),
    v.("binary comp.", fn b -> for(<<x <- b>>, reduce: 0, do: (acc -> acc + x)) end, bin, n.(2), false)]},
  {"structs in 100k",
   [v.("handwritten C", &H.points_in/1, points, n.(40), true), v.("Corral", &C.points_in/1, points, n.(40), false),
    v.("Enum.reduce", fn ps -> Enum.reduce(ps, 0.0, fn %Bench.Point{x: x, y: y}, a -> a + x + y end) end, points, n.(40), false)]},
  {"structs out 100k",
   [v.("handwritten C", &H.points_out/1, 100_000, n.(40), true), v.("Corral", &C.points_out/1, 100_000, n.(40), false),
    v.("for", fn k -> for i <- 0..(k - 1), do: %Bench.Point{x: i * 1.0, y: i * 1.0} end, 100_000, n.(40), false)]}
]

# The typed list parameter against the cursor loop it replaces, at three
# lengths (its block grows eightfold, so each length copies a different
# share of the list).
typed_cases =
  for len <- [300_000, 1_000_000, 2_500_000] do
    l = Enum.to_list(1..len)
    s = Enum.sum(l)
    ^s = C.list_sum_typed(l)
    calls = n.(div(20_000_000, len))
    {"list sum #{div(len, 1000)}K typed",
     [v.("Corral cursor", &C.list_sum/1, l, calls, true), v.("Corral (list, i64, xs)", &C.list_sum_typed/1, l, calls, false)]}
  end

cases = cases ++ typed_cases

IO.puts("\nBulk term conversions (#{rounds} rounds; ns per whole conversion)")
results = Runner.run(cases, rounds)

Runner.print(results, [
  "",
  "Median of #{rounds} interleaved rounds; ns per call (one call converts the whole input).",
  "vs C: the median of the per-round ratios to hand-written C -O3 (CPU time of the scheduler thread; wall time last);",
  "in the \"typed\" cases, to Corral's cursor loop over the same list."
])

# The table the docs quote (bench/results, with BENCH_RECORD=1; Bench.Figures).
Bench.Figures.write(
  "terms",
  "terms.exs",
  "CPU time (scheduler thread) of one whole conversion over hand-written erl_nif C -O3, the median and min..max of " <>
    "#{rounds} paired rounds (in the \"typed\" cases, over Corral's cursor loop on the same list)",
  ["conversion", "variant", "vs reference: median (min..max)", "ms per conversion"],
  for {name, rows} <- results, {v, s} <- rows do
    ms = if s.cpu, do: :erlang.float_to_binary(s.cpu.median / 1.0e6, decimals: 2), else: "-"
    [name, v.label, Bench.Figures.spread(s.ratio, :ratio), ms]
  end
)
