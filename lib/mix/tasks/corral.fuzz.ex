defmodule Mix.Tasks.Corral.Fuzz do
  @shortdoc "Calls every function of a Corral module with generated terms, in a separate VM"

  @moduledoc """
  Calls every exported function of a Corral module with generated
  arguments, in a separate VM so that a crash of the native code cannot take
  the caller down, and reports the calls that crashed the VM or did not
  return in time, with their input.

      mix corral.fuzz Buffer.Native --count 100000 --seed 42
      mix corral.fuzz MyApp.Native --timeout 500 --except slow_fun/1 --keep-going

  Arguments follow the functions' specs (from `CORRAL_DOC`) most of the
  time: integers in the type's range and at its boundaries, binaries, atoms
  of a union, lists, tuples and maps, and for `reference()` a value an
  earlier call returned, so stateful sequences (new, then set, then get) are
  exercised. A share are near misses (one past a boundary) and fully random
  terms. Functions without a spec get values returned by earlier calls,
  small and boundary integers and random terms. Arguments a function
  accepted (it returned, or a Corral message named a later argument as the
  bad one) are reused, and the atoms and integer ranges that Corral's
  messages list are tried. Integers are mostly small, so that calls stay
  fast; see `Corral.Fuzz.Generator`. The specs are read from the module's
  debug info: a module compiled with `debug_info: false` is fuzzed with
  untyped arguments, and the summary says so.

  ## Options

    * `--count N` - calls in all (default 10000).
    * `--seed S` - the random seed (default: random, and printed). The same
      seed and options make the same calls.
    * `--timeout MS` - the time limit of one call (default 1000). A call
      that exceeds it is reported as a hang with its input; the VM is killed
      and a new one continues the run.
    * `--fail-on-hang` - stop and fail at the first hang. By default hangs
      are reported and the run goes on: a huge random count can make a
      correct function slow.
    * `--keep-going` - after a crash, start a new VM and go on, to find more
      crashes. By default the run stops at the first crash. Either way a run
      with a crash fails.
    * `--max-failures N` - a function that crashed or hung N times is left
      out for the rest of the run (default 3; raise it for long runs, where
      a rare gigabyte size may make an allocating function hang now and
      then).
    * `--duration S` - stop after S seconds even if fewer than `--count`
      calls were made (the summary says how many).
    * `--except name/arity` (repeatable) - leave a function out, e.g. one
      that sleeps or loops for as long as its argument says.
    * `--only name/arity` (repeatable) - call only these functions.
    * `--dict FILE` - strings the inputs of your library are made of (SQL
      statements, JSON snippets, format names), one per line (lines
      starting with `#` are comments): half of the strings and binaries
      generated are taken from it, so a parser's deeper paths are reached
      (`examples/sqlite/fuzz.dict` gets SQLite statements prepared, bound
      and stepped).

  Each call either returns or raises (raising is fine: bad input should
  raise an `ArgumentError`). The summary gives, per function, the calls,
  how many returned and how many raised (by exception), hangs and crashes,
  and the throughput. The task fails if the VM crashed (or a call hung, with
  `--fail-on-hang`). A report writes the call as Elixir code, with values
  returned by earlier calls written as those calls, e.g.
  `Buffer.Native.get(Buffer.Native.new(8), 7)`, and shows the VM's last
  output. A crash in a destructor or a native thread is reported on the call
  that was running when the VM died.

  The child VMs run in a scratch directory of their own, removed when the
  run ends: files the calls create with relative paths (a database named by
  a generated string) never land in the project.

  The child VM inherits the environment: run the task with the sanitizer
  settings of docs/safety.md (`CORRAL_SANITIZE`, `LD_PRELOAD` of the ASan
  runtime, `allocator_may_return_null=1` in `ASAN_OPTIONS`, and a
  `MIX_BUILD_PATH` of its own so that the module is compiled with them) to
  catch memory errors and undefined behaviour that would not crash the VM.
  Thread jobs
  (`CORRAL_FN_THREAD`) are called through their waiting function;
  `name_async` is not called directly.
  """

  use Mix.Task

  alias Corral.Fuzz.Generator

  @switches [
    count: :integer,
    seed: :integer,
    timeout: :integer,
    fail_on_hang: :boolean,
    keep_going: :boolean,
    max_failures: :integer,
    duration: :integer,
    except: :keep,
    only: :keep,
    dict: :string
  ]

  @impl true
  def run(argv) do
    {opts, args, invalid} = OptionParser.parse(argv, strict: @switches)

    module_name =
      case {args, invalid} do
        {[name], []} -> name
        {_, []} -> Mix.raise("usage: mix corral.fuzz Module.Name [options] (see mix help corral.fuzz)")
        {_, [{opt, _} | _]} -> Mix.raise("mix corral.fuzz: unknown or invalid option #{opt} (see mix help corral.fuzz)")
      end

    Mix.Task.run("compile")

    fuzz_opts =
      [except: Keyword.get_values(opts, :except), only: Keyword.get_values(opts, :only)] ++
        dictionary_opt(opts[:dict]) ++ Keyword.drop(opts, [:except, :only, :dict])

    case fuzz(Module.concat([module_name]), fuzz_opts) do
      {:ok, summary} ->
        Mix.shell().info(summary)

      {status, summary} ->
        Mix.shell().info(summary)
        Mix.raise("mix corral.fuzz #{module_name}: #{if status == :crash, do: "the VM crashed", else: "a call hung"} (see the report above)")
    end
  end

  # --dict FILE: one string per line; blank lines and lines starting with
  # "#" are skipped.
  defp dictionary_opt(nil), do: []

  defp dictionary_opt(path) do
    case File.read(path) do
      {:ok, text} ->
        words = for line <- String.split(text, "\n"), line != "", not String.starts_with?(line, "#"), do: line
        [dictionary: words]

      {:error, reason} ->
        Mix.raise("mix corral.fuzz: cannot read the dictionary #{path}: #{:file.format_error(reason)}")
    end
  end

  @doc """
  Runs the fuzzer against `module` and returns `{status, summary}`, where
  status is `:ok`, `:crash` (the VM died at least once) or `:hang` (a call
  hung and `fail_on_hang: true`). Options are those of the task, as a
  keyword list: `count`, `seed`, `timeout`, `fail_on_hang`, `keep_going`,
  `max_failures`, `duration` (seconds), `except` and `only` (lists of
  `"name/arity"`), `dictionary` (a list of strings). The child VM gets the code paths of the current VM.
  """
  def fuzz(module, opts \\ []) do
    cfg = %{
      module: module,
      count: Keyword.get(opts, :count, 10_000),
      seed: Keyword.get_lazy(opts, :seed, fn -> :rand.uniform(1_000_000_000) end),
      timeout: Keyword.get(opts, :timeout, 1000),
      fail_on_hang: Keyword.get(opts, :fail_on_hang, false),
      keep_going: Keyword.get(opts, :keep_going, false),
      max_failures: Keyword.get(opts, :max_failures, 3),
      except: Keyword.get(opts, :except, []),
      only: Keyword.get(opts, :only, []),
      dictionary: Keyword.get(opts, :dictionary, []),
      stop_at: if(d = Keyword.get(opts, :duration), do: now() + d * 1000),
      # The child VMs' working directory: what the calls write with relative
      # paths (a database file named by a generated string) stays out of
      # the project, and goes with the run.
      scratch: Path.join(System.tmp_dir!(), "corral-fuzz-#{System.unique_integer([:positive])}")
    }

    File.mkdir_p!(cfg.scratch)

    {:ok, listen} = :gen_tcp.listen(0, [:binary, packet: 4, active: false, ip: {127, 0, 0, 1}])

    st = %{
      done: 0,
      vms: 0,
      started: now(),
      funs: %{},
      stats: %{},
      hangs: [],
      crashes: [],
      failures: %{},
      left_out: [],
      vm_funs: %{},
      specs_read?: true,
      stopped: nil
    }

    try do
      st = drive(cfg, listen, st)
      st = %{st | hangs: Enum.reverse(st.hangs), crashes: Enum.reverse(st.crashes)}

      status =
        cond do
          st.crashes != [] -> :crash
          st.hangs != [] and cfg.fail_on_hang -> :hang
          true -> :ok
        end

      {status, summary(cfg, st)}
    after
      :gen_tcp.close(listen)
      File.rm_rf(cfg.scratch)
    end
  end

  defp now, do: System.monotonic_time(:millisecond)

  defp drive(cfg, listen, st) do
    cond do
      st.stopped != nil -> st
      st.done >= cfg.count -> st
      cfg.stop_at != nil and now() >= cfg.stop_at -> %{st | stopped: :time}
      st.vms > 0 and map_size(st.funs) == 0 -> %{st | stopped: :no_functions}
      st.vms > 0 and Enum.all?(Map.keys(st.funs), &(&1 in st.left_out)) -> %{st | stopped: :all_left_out}
      true -> drive(cfg, listen, run_vm(cfg, listen, st))
    end
  end

  ## One child VM

  defp run_vm(cfg, listen, st) do
    {:ok, tcp_port} = :inet.port(listen)
    vm_index = st.vms + 1

    child = %{
      port: tcp_port,
      module: cfg.module,
      count: cfg.count - st.done,
      seed: cfg.seed,
      vm: vm_index,
      skip: cfg.except ++ st.left_out,
      only: cfg.only,
      dictionary: cfg.dictionary
    }

    encoded = child |> :erlang.term_to_binary() |> Base.encode64()
    paths = Enum.flat_map(:code.get_path(), &["-pa", Path.expand(List.to_string(&1))])
    elixir = System.find_executable("elixir") || Mix.raise("mix corral.fuzz needs the elixir executable in PATH")

    port =
      Port.open({:spawn_executable, elixir}, [
        :binary,
        :exit_status,
        :stderr_to_stdout,
        args: paths ++ ["-e", ~s|Corral.Fuzz.Child.main("#{encoded}")|],
        cd: cfg.scratch,
        env: [{~c"ERL_CRASH_DUMP_SECONDS", ~c"0"}]
      ])

    vm = %{
      index: vm_index,
      port: port,
      sock: nil,
      os_pid: nil,
      output: "",
      funs: {},
      current: nil,
      last: nil,
      since: now(),
      done?: false,
      killed: nil,
      closed?: false,
      status: nil,
      calls: 0
    }

    st = %{st | vms: vm_index}

    case accept(listen, vm, now() + 60_000) do
      {:ok, vm} ->
        :ok = :inet.setopts(vm.sock, active: 200)
        watch(cfg, st, vm)

      {:exited, vm} ->
        Mix.raise("mix corral.fuzz: the VM for #{inspect(cfg.module)} exited (status #{vm.status}) before it started:\n" <> vm.output)

      {:timeout, vm} ->
        kill(vm)
        Mix.raise("mix corral.fuzz: the VM for #{inspect(cfg.module)} did not start within 60 s:\n" <> vm.output)
    end
  end

  defp accept(listen, vm, deadline) do
    case :gen_tcp.accept(listen, 200) do
      {:ok, sock} ->
        {:ok, %{vm | sock: sock}}

      {:error, :timeout} ->
        vm = collect_output(vm)

        cond do
          vm.status != nil -> {:exited, vm}
          now() > deadline -> {:timeout, vm}
          true -> accept(listen, vm, deadline)
        end
    end
  end

  defp collect_output(%{port: port} = vm) do
    receive do
      {^port, {:data, data}} -> collect_output(add_output(vm, data))
      {^port, {:exit_status, status}} -> collect_output(%{vm | status: status})
    after
      0 -> vm
    end
  end

  defp add_output(vm, data) do
    out = vm.output <> data
    %{vm | output: if(byte_size(out) > 16_384, do: binary_part(out, byte_size(out) - 16_384, 16_384), else: out)}
  end

  # Reads the child's reports until it has exited and closed its socket.
  defp watch(cfg, st, %{port: port, sock: sock} = vm) do
    if vm.closed? and vm.status != nil do
      finish_vm(cfg, st, vm)
    else
      receive do
        {:tcp, ^sock, data} ->
          {st, vm} = report(cfg, st, vm, :erlang.binary_to_term(data))
          watch(cfg, st, vm)

        {:tcp_passive, ^sock} ->
          :inet.setopts(sock, active: 200)
          watch(cfg, st, vm)

        {:tcp_closed, ^sock} ->
          watch(cfg, st, %{vm | closed?: true})

        {^port, {:data, data}} ->
          watch(cfg, st, add_output(vm, data))

        {^port, {:exit_status, status}} ->
          watch(cfg, st, %{vm | status: status})
      after
        wait_time(cfg, vm) ->
          {st, vm} = expired(cfg, st, vm)
          watch(cfg, st, vm)
      end
    end
  end

  # Until the current call's time limit, or the time budget of the run;
  # between calls (and while the VM starts) a generous limit.
  defp wait_time(cfg, vm) do
    limit =
      cond do
        vm.killed != nil or vm.done? or vm.status != nil or vm.closed? -> vm.since + 10_000
        vm.current != nil -> vm.since + cfg.timeout
        true -> vm.since + max(10 * cfg.timeout, 10_000)
      end

    limit = if cfg.stop_at != nil and vm.killed == nil, do: min(limit, cfg.stop_at), else: limit
    max(0, limit - now())
  end

  defp expired(cfg, st, vm) do
    t = now()

    cond do
      vm.killed != nil or vm.done? or vm.status != nil or vm.closed? ->
        # Exited but the socket did not close, or the other way round.
        kill(vm)
        {st, %{vm | closed?: true, status: vm.status || :killed}}

      cfg.stop_at != nil and t >= cfg.stop_at ->
        kill(vm)
        # The call in progress is not counted: it was cut short.
        st = if vm.current, do: %{st | done: st.done - 1, stats: uncount(st.stats, key(vm, vm.current))}, else: st
        {%{st | stopped: :time}, %{vm | killed: :time, since: t}}

      true ->
        kill(vm)
        {call, between?} = if vm.current, do: {vm.current, false}, else: {vm.last, true}

        hang = %{vm: vm.index, call: call, between?: between?}
        st = %{st | hangs: [hang | st.hangs]}
        st = if call, do: failed(cfg, st, key(vm, call), :hangs), else: st
        st = if cfg.fail_on_hang, do: %{st | stopped: :hang}, else: st
        {st, %{vm | killed: :hang, since: t}}
    end
  end

  defp uncount(stats, key), do: Map.update!(stats, key, &%{&1 | calls: &1.calls - 1})

  defp kill(vm) do
    pid = vm.os_pid || Port.info(vm.port, :os_pid) |> elem(1)
    System.cmd("kill", ["-KILL", to_string(pid)], stderr_to_stdout: true)
  end

  defp key(vm, {index, _descs, _n}) do
    {name, arity, _} = elem(vm.funs, index)
    "#{name}/#{arity}"
  end

  defp report(_cfg, st, vm, {:hello, os_pid, funs, specs_read?}) do
    funs = List.to_tuple(funs)
    known = for {name, arity, spec?} <- Tuple.to_list(funs), into: st.funs, do: {"#{name}/#{arity}", spec?}
    stats = Enum.reduce(Map.keys(known), st.stats, fn k, acc -> Map.put_new(acc, k, new_stats()) end)
    {%{st | funs: known, stats: stats, specs_read?: specs_read?}, %{vm | os_pid: os_pid, funs: funs, since: now()}}
  end

  defp report(_cfg, st, vm, {:call, index, descs}) do
    call = {index, descs, vm.calls + 1}
    st = %{st | done: st.done + 1, stats: Map.update!(st.stats, key(vm, call), &%{&1 | calls: &1.calls + 1})}
    {st, %{vm | current: call, calls: vm.calls + 1, since: now()}}
  end

  defp report(_cfg, st, vm, {:ret, outcome}) do
    k = key(vm, vm.current)

    stats =
      Map.update!(st.stats, k, fn s ->
        case outcome do
          :ok -> %{s | returned: s.returned + 1}
          {:raised, mod} -> %{s | raised: Map.update(s.raised, inspect(mod), 1, &(&1 + 1))}
          kind -> %{s | raised: Map.update(s.raised, "(#{kind})", 1, &(&1 + 1))}
        end
      end)

    {%{st | stats: stats}, %{vm | last: vm.current, current: nil, since: now()}}
  end

  defp report(_cfg, st, vm, {:done}), do: {st, %{vm | done?: true, since: now()}}

  defp report(cfg, _st, vm, {:error, message}) do
    kill(vm)
    Mix.raise("mix corral.fuzz #{inspect(cfg.module)}: #{message}")
  end

  defp new_stats, do: %{calls: 0, returned: 0, raised: %{}, hangs: 0, crashes: 0}

  # A crash or hang of a function: counted, and the function is left out of
  # later VMs once it reaches the limit.
  defp failed(cfg, st, key, what) do
    st = %{st | stats: Map.update!(st.stats, key, &Map.update!(&1, what, fn n -> n + 1 end))}
    n = Map.get(st.failures, key, 0) + 1
    st = %{st | failures: Map.put(st.failures, key, n)}
    if n >= cfg.max_failures and key not in st.left_out, do: %{st | left_out: st.left_out ++ [key]}, else: st
  end

  defp finish_vm(cfg, st, vm) do
    # Reports name calls by the function's index in the VM's list.
    st = %{st | vm_funs: Map.put(st.vm_funs, vm.index, vm.funs)}

    cond do
      vm.killed != nil or vm.done? ->
        st

      vm.funs == {} ->
        Mix.raise("mix corral.fuzz: the VM for #{inspect(cfg.module)} exited (status #{vm.status}) before its first call:\n" <> vm.output)

      true ->
        {call, between?} = if vm.current, do: {vm.current, false}, else: {vm.last, true}
        crash = %{vm: vm.index, call: call, between?: between?, status: vm.status, output: vm.output}
        st = %{st | crashes: [crash | st.crashes]}
        st = if call, do: failed(cfg, st, key(vm, call), :crashes), else: st
        if cfg.keep_going, do: st, else: %{st | stopped: :crash}
    end
  end

  ## Summary

  defp summary(cfg, st) do
    elapsed = max(now() - st.started, 1)
    rate = round(st.done * 1000 / elapsed)
    m = inspect(cfg.module)

    head =
      "#{m}: #{st.done} calls over #{map_size(st.funs)} functions in #{Float.round(elapsed / 1000, 1)} s " <>
        "(#{rate} calls/s), seed #{cfg.seed}, #{st.vms} VM#{if st.vms == 1, do: "", else: "s"}" <>
        case st.stopped do
          :time -> "; stopped by --duration after #{st.done} of #{cfg.count} calls"
          :all_left_out -> "; stopped: every function was left out"
          :no_functions -> "; no function to call (see --except and --only)"
          _ -> ""
        end

    outcome =
      "#{count_of(length(st.crashes), "crash", "crashes")}, #{count_of(length(st.hangs), "hang", "hangs")} " <>
        "(time limit #{cfg.timeout} ms per call)"

    # Without debug info the specs are lost, and every argument is untyped.
    specs =
      if st.specs_read?,
        do: [],
        else: ["no spec could be read: #{m} was compiled without debug info (debug_info: false); arguments are untyped"]

    left =
      if st.left_out == [],
        do: [],
        else: ["left out after #{count_of(cfg.max_failures, "crash or hang", "crashes or hangs")}: #{Enum.join(st.left_out, ", ")}"]

    hangs =
      for {h, i} <- Enum.with_index(st.hangs), i < 20 do
        where = if h.between?, do: "the VM stopped answering after", else: "no return within #{cfg.timeout} ms from"
        "hang: #{where}\n  #{render(cfg, st, h)}"
      end ++ if(length(st.hangs) > 20, do: ["... and #{length(st.hangs) - 20} more hangs"], else: [])

    crashes =
      for {c, i} <- Enum.with_index(st.crashes), i < 10 do
        where = if c.between?, do: "after the call (in a destructor, a native thread or between calls) ", else: "on the call"
        out = c.output |> String.slice(-(if i == 0, do: 3000, else: 800), 3000) |> String.trim_trailing()

        "the VM running #{m} died (exit status #{c.status}, seed #{cfg.seed}, VM #{c.vm}) #{where}\n  " <>
          render(cfg, st, c) <> if(out == "", do: "\n(no output)", else: "\noutput:\n" <> out)
      end ++ if(length(st.crashes) > 10, do: ["... and #{length(st.crashes) - 10} more crashes"], else: [])

    Enum.join([head, outcome] ++ specs ++ [table(st)] ++ left ++ hangs ++ crashes, "\n")
  end

  defp count_of(0, _, plural), do: "no #{plural}"
  defp count_of(1, one, _), do: "1 #{one}"
  defp count_of(n, _, plural), do: "#{n} #{plural}"

  defp render(_cfg, _st, %{call: nil}), do: "(before the first call)"

  defp render(cfg, st, %{call: {index, descs, n}, vm: vm}) do
    {name, _arity, _} = elem(Map.fetch!(st.vm_funs, vm), index)
    Generator.render(cfg.module, name, descs) <> "\n  (call #{n} of VM #{vm})"
  end

  defp table(st) do
    rows =
      for {k, s} <- Enum.sort(st.stats) do
        raised = Enum.reduce(s.raised, 0, fn {_, n}, acc -> acc + n end)
        by = s.raised |> Enum.sort_by(fn {mod, n} -> {-n, mod} end) |> Enum.map_join(", ", fn {mod, n} -> "#{mod} #{n}" end)
        spec = if Map.get(st.funs, k), do: "yes", else: "no"
        [k, spec, s.calls, s.returned, raised, s.hangs, s.crashes, by]
      end

    total = Enum.reduce(rows, [0, 0, 0, 0, 0], fn [_, _, c, r, ra, h, cr, _], [a, b, d, e, f] -> [a + c, b + r, d + ra, e + h, f + cr] end)
    header = ["function", "spec", "calls", "returned", "raised", "hangs", "crashes", "raised as"]
    all = [header | rows] ++ [["total", "" | total] ++ [""]]
    widths = for i <- 0..6, do: all |> Enum.map(&String.length(to_string(Enum.at(&1, i)))) |> Enum.max()

    Enum.map_join(all, "\n", fn row ->
      cells =
        for {cell, i} <- Enum.with_index(row) do
          cell = to_string(cell)

          cond do
            i == 7 -> cell
            i < 2 -> String.pad_trailing(cell, Enum.at(widths, i))
            true -> String.pad_leading(cell, Enum.at(widths, i))
          end
        end

      "  " <> String.trim_trailing(Enum.join(cells, "  "))
    end)
  end
end
