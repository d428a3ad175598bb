defmodule Bench.Runner do
  @moduledoc """
  Times the benchmark cases in this VM and prints the table.

  A case is a list of variants; each variant is a batch: one call of a loop
  function of `Bench.Loops` doing `n` operations. A round runs one batch of
  every variant of the case, one after the other (the starting variant
  rotates from round to round), so slow drifts of the machine hit every
  variant alike. One short untimed round comes first, as a warm-up.

  Each batch is timed twice, after a garbage collection of this process:
  as wall time (`:erlang.monotonic_time/1`) and as the CPU time of the
  scheduler thread running it (`Bench.Handwritten.thread_clock/0`, which
  reads `CLOCK_THREAD_CPUTIME_ID`). On a shared machine another program
  can take the core in the middle of a batch: the wall time counts that,
  the thread's CPU time does not. Work the VM moves to its other threads
  is not in the thread's time either (after a bulk call returns a big term,
  a dirty scheduler may collect the heap): the wall time has it. While the
  cases run, the VM has one scheduler online, so the loop stays on one
  thread; a batch that ends on another thread anyway has no CPU figure and
  is counted in the table's notes.

  The ratio of a variant to the case's reference (hand-written C) is taken
  round by round, from the two batches of the same round, and the table
  gives the median and the min..max of those per-round ratios: a round the
  machine disturbed gives one odd ratio instead of moving a whole column.
  Nothing is subtracted.
  """

  defmodule Variant do
    @moduledoc false
    defstruct [:label, :fun, :args, :n, reference?: false, fresh_process?: false]
  end

  @doc """
  A variant: `label`, the loop `fun` of `Bench.Loops` called as
  `fun(n, extra_args...)`, and `n` operations per batch. Options:
  `reference: true` for the case's hand-written C; `fresh_process: true` to
  run each batch in a new process, for loops whose garbage collections are
  part of the operation (a process that ran many batches before collects
  at other moments than a new one, which spread the ratios of object
  creation from 0.7 to 1.5).
  """
  def variant(label, fun, n, extra_args \\ [], opts \\ []) do
    %Variant{
      label: label,
      fun: fun,
      args: extra_args,
      n: n,
      reference?: Keyword.get(opts, :reference, false),
      fresh_process?: Keyword.get(opts, :fresh_process, false)
    }
  end

  @doc """
  Runs `cases` (`[{case_name, [variant]}]`) for `rounds` rounds; returns
  `[{case_name, [{variant, stats}]}]`. Stats, in ns per operation and in
  ratios to the case's reference: `cpu` and `wall` (`%{median:, min:,
  max:}` or nil when no batch has that figure), `ratio` (per-round CPU-time
  ratios) and `wall_ratio` (per-round wall-time ratios), `%{median:, min:,
  max:}` or nil without a reference; `moved`, the batches that ended on
  another thread than they began.
  """
  def run(cases, rounds) do
    online = :erlang.system_info(:schedulers_online)
    :erlang.system_flag(:schedulers_online, 1)

    try do
      Enum.map(cases, fn {name, variants} -> {name, run_case(name, variants, rounds)} end)
    after
      :erlang.system_flag(:schedulers_online, online)
    end
  end

  defp run_case(name, variants, rounds) do
    IO.write(:stderr, "  #{name}: ")
    # Warm-up: a tenth of a batch of each variant, untimed.
    Enum.each(variants, fn v -> batch(v, max(div(v.n, 10), 1)) end)

    # One map per round: label => {wall ns/op, cpu ns/op or nil}.
    per_round =
      for r <- 0..(rounds - 1) do
        IO.write(:stderr, ".")

        for v <- rotate(variants, r), into: %{} do
          {wall, cpu} = batch(v, v.n)
          {v.label, {wall / v.n, cpu && cpu / v.n}}
        end
      end

    IO.write(:stderr, "\n")
    ref = Enum.find(variants, & &1.reference?)

    for v <- variants do
      mine = Enum.map(per_round, &Map.fetch!(&1, v.label))
      theirs = if ref, do: Enum.map(per_round, &Map.fetch!(&1, ref.label))

      {v,
       %{
         wall: summary(for({w, _} <- mine, do: w)),
         cpu: summary(for({_, c} <- mine, c != nil, do: c)),
         ratio: theirs && summary(paired(mine, theirs, 1)),
         wall_ratio: theirs && summary(paired(mine, theirs, 0)),
         moved: Enum.count(mine, fn {_, c} -> c == nil end)
       }}
    end
  end

  # The per-round ratios of one figure (element k of the pairs: 0 wall, 1 cpu)
  # for the rounds where both batches have it.
  defp paired(mine, theirs, k) do
    Enum.zip(mine, theirs)
    |> Enum.map(fn {a, b} -> {elem(a, k), elem(b, k)} end)
    |> Enum.filter(fn {x, y} -> x != nil and y != nil and y > 0 end)
    |> Enum.map(fn {x, y} -> x / y end)
  end

  defp rotate(list, r) do
    k = rem(r, length(list))
    Enum.drop(list, k) ++ Enum.take(list, k)
  end

  # One timed batch of n operations: {wall ns, thread CPU ns or nil}.
  defp batch(%Variant{fresh_process?: true} = v, n) do
    {pid, ref} = spawn_monitor(fn -> exit({:batch, batch(%{v | fresh_process?: false}, n)}) end)
    receive do
      {:DOWN, ^ref, :process, ^pid, {:batch, timed}} -> timed
      {:DOWN, ^ref, :process, ^pid, other} -> raise "batch #{v.label} failed: #{inspect(other)}"
    end
  end

  defp batch(%Variant{fun: fun, args: args}, n) do
    :erlang.garbage_collect()
    {thread0, cpu0} = Bench.Handwritten.thread_clock()
    t0 = :erlang.monotonic_time(:nanosecond)
    _ = apply(Bench.Loops, fun, [n | args])
    t1 = :erlang.monotonic_time(:nanosecond)
    {thread1, cpu1} = Bench.Handwritten.thread_clock()
    {t1 - t0, if(thread0 == thread1, do: cpu1 - cpu0)}
  end

  defp summary([]), do: nil

  defp summary(samples) do
    sorted = Enum.sort(samples)
    len = length(sorted)

    median =
      if rem(len, 2) == 1,
        do: Enum.at(sorted, div(len, 2)),
        else: (Enum.at(sorted, div(len, 2) - 1) + Enum.at(sorted, div(len, 2))) / 2

    %{median: median, min: hd(sorted), max: List.last(sorted)}
  end

  @doc """
  Prints the results as a table; `notes` are printed under it, after a line
  on batches that changed threads, if any did.
  """
  def print(results, notes \\ []) do
    IO.puts(
      Enum.join([
        pad("case", 17),
        pad("variant", 28),
        lpad("cpu ns/op", 10),
        lpad("vs C", 7),
        lpad("ratio min..max", 16),
        lpad("wall ns/op", 12),
        lpad("vs C", 7)
      ])
    )

    IO.puts(String.duplicate("-", 97))

    for {name, rows} <- results, {v, s} <- rows do
      IO.puts(
        Enum.join([
          pad(name, 17),
          pad(v.label, 28),
          lpad(fmt_ns(s.cpu && s.cpu.median), 10),
          lpad(fmt_ratio(s.ratio && s.ratio.median), 7),
          lpad(if(s.ratio, do: "#{fmt_ratio(s.ratio.min)}..#{fmt_ratio(s.ratio.max)}", else: "-"), 16),
          lpad(fmt_ns(s.wall && s.wall.median), 12),
          lpad(fmt_ratio(s.wall_ratio && s.wall_ratio.median), 7)
        ])
      )
    end

    moved = for {_, rows} <- results, {_, s} <- rows, reduce: 0, do: (acc -> acc + s.moved)
    if moved > 0, do: IO.puts("#{moved} batches ended on another scheduler thread: no CPU figure for them.")
    Enum.each(notes, &IO.puts/1)
  end

  def fmt_ns(nil), do: "-"
  def fmt_ns(ns) when ns >= 100_000, do: :erlang.float_to_binary(ns / 1, decimals: 0)
  def fmt_ns(ns) when ns >= 100, do: :erlang.float_to_binary(ns / 1, decimals: 1)
  def fmt_ns(ns), do: :erlang.float_to_binary(ns / 1, decimals: 2)

  defp fmt_ratio(nil), do: "-"
  defp fmt_ratio(r) when r >= 100, do: :erlang.float_to_binary(r, decimals: 0)
  defp fmt_ratio(r), do: :erlang.float_to_binary(r, decimals: 2)

  defp pad(s, w), do: String.pad_trailing(s, w)
  defp lpad(s, w), do: String.pad_leading(s, w)
end
