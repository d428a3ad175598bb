defmodule CorralTest.IsolatedTest do
  # Isolated mode (use Corral, isolate: true): the library runs in a
  # separate OS process; crashes there raise Corral.NativeCrashError here.
  use ExUnit.Case, async: false
  import CorralTest.Case
  import Bitwise
  alias CorralTest.IsolatedNative, as: N

  # Under `make test-sanitize` the native process runs with ASan and UBSan,
  # which report a bad access and abort instead of dying by SIGSEGV.
  @sanitized System.get_env("CORRAL_SANITIZE", "") != ""

  # OS processes running a native process for this VM.
  defp peers do
    me = System.pid()

    for dir <- Path.wildcard("/proc/[0-9]*"),
        {:ok, cmd} <- [File.read(Path.join(dir, "cmdline"))],
        # (not the shell that waits for it: see Corral.Isolated.Server)
        argv = String.split(cmd, <<0>>),
        "corral-native" not in argv,
        peer_of?(argv, me),
        do: Path.basename(dir)
  end

  defp peer_of?(["-corral_peer", _module, _gen, pid | _], me), do: pid == me
  defp peer_of?([_ | rest], me), do: peer_of?(rest, me)
  defp peer_of?([], _me), do: false

  defp maps(os_pid), do: File.read!("/proc/#{os_pid}/maps")

  # Waits until the server has sent n calls to the native process, which
  # may take a while when the machine is busy.
  defp in_flight(n) do
    server = Process.whereis(Corral.Isolated.server_name(N))
    assert eventually(fn -> map_size(:sys.get_state(server).calls) == n end, 500)
    # and they have reached the C code
    Process.sleep(50)
  end

  defp crash_message(function, how) do
    "CorralTest.IsolatedNative.#{function}: the native process died during the call (#{how})"
  end

  # The message of a crash by `signal`; under the sanitizers any signal or
  # status will do (ASan aborts after its report).
  defp assert_crash(function, signal, fun) do
    e = assert_raise Corral.NativeCrashError, fun
    assert e.module == N
    assert "#{e.function}/#{e.arity}" == function

    if @sanitized do
      assert String.starts_with?(e.message, "CorralTest.IsolatedNative.#{function}: the native process died during the call (")
      assert e.status != nil and e.status != 0
    else
      assert e.message == crash_message(function, "killed by #{signal}")
      assert e.signal == signal
      assert e.status == 128 + %{SIGSEGV: 11, SIGABRT: 6, SIGKILL: 9}[signal]
    end

    e
  end

  setup do
    # A native process running before each test (the previous one may have
    # crashed it on purpose).
    N.add(0, 0)
    :ok
  end

  test "functions run in another OS process, which alone loads the library" do
    assert N.add(2, 3) == 5
    os_pid = Corral.Isolated.os_pid(N)
    assert is_binary(os_pid) or is_integer(os_pid)
    assert "#{os_pid}" != System.pid()
    assert maps(os_pid) =~ "libcorral_crash.so"
    refute maps(System.pid()) =~ "libcorral_crash.so"
    assert peers() == ["#{os_pid}"]
  end

  test "arguments and results are copied both ways" do
    for term <- [1, -5, 2.5, :atom, "binary", <<1, 2, 3>>, [1, [2, [3]]], {:a, {:b}}, %{"b" => {2}, a: [1]}, [1 | 2], %{}, [], {}, 10 ** 40] do
      assert N.echo(term) == term
    end

    big = :binary.copy("x", 1_000_000)
    assert N.echo(big) == big
  end

  test "generated docs and specs are those of the library" do
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(N)
    assert Enum.any?(docs, &match?({{:function, :add, 2}, _, _, %{"en" => "The sum, computed in the native process."}, _}, &1))
    {:ok, specs} = Code.Typespec.fetch_specs(N)
    assert Enum.any?(specs, &match?({{:add, 2}, _}, &1))
  end

  test "exceptions raised in the native process are raised here with the same struct and message" do
    assert_raise_exact ArgumentError, "CorralTest.IsolatedNative.fail/1: argument 1: expected something else, got: :argument",
      fn -> N.fail(:argument) end

    assert_raise_exact RuntimeError, "CorralTest.IsolatedNative.fail/1: failed on purpose", fn -> N.fail(:runtime) end
    assert_raise_exact CorralTest.CustomError, "CorralTest.IsolatedNative.fail/1: custom failure 7", fn -> N.fail(:custom) end

    assert_raise_exact ArgumentError,
      "CorralTest.IsolatedNative.add/2: argument 2: expected an integer in -1000000..1000000, got: :x",
      fn -> N.add(1, :x) end

    # The stacktrace starts at the native function, then the caller's frames.
    try do
      N.fail(:runtime)
    rescue
      RuntimeError ->
        [{N, :fail, _, _} | rest] = __STACKTRACE__
        assert Enum.any?(rest, &match?({__MODULE__, _, _, _}, &1))
    end
  end

  test "a NULL dereference raises NativeCrashError naming the function; the next call works" do
    before = Corral.Isolated.os_pid(N)
    assert_crash("null_deref/0", :SIGSEGV, fn -> N.null_deref() end)
    assert Corral.Isolated.os_pid(N) == nil
    assert N.add(1, 1) == 2
    assert Corral.Isolated.os_pid(N) not in [nil, before]
  end

  test "abort() and exit() in C" do
    assert_crash("abort_now/0", :SIGABRT, fn -> N.abort_now() end)

    e = assert_raise Corral.NativeCrashError, fn -> N.exit_now(3) end
    assert e.message == crash_message("exit_now/1", "exit status 3")
    assert {e.status, e.signal} == {3, nil}
    assert N.add(1, 1) == 2
  end

  test "a native process killed from outside (as the out-of-memory killer does)" do
    task = Task.async(fn -> catch_error(N.sleep_ms(10_000)) end)
    in_flight(1)
    System.cmd("kill", ["-KILL", "#{Corral.Isolated.os_pid(N)}"])
    e = Task.await(task)
    assert %Corral.NativeCrashError{signal: :SIGKILL, status: 137} = e
    assert e.message == crash_message("sleep_ms/1", "killed by SIGKILL")
    assert N.add(1, 1) == 2
  end

  test "calls in flight from other processes get the error too" do
    tasks = for _ <- 1..5, do: Task.async(fn -> catch_error(N.sleep_ms(10_000)) end)
    in_flight(5)
    assert_crash("null_deref/0", :SIGSEGV, fn -> N.null_deref() end)

    for task <- tasks do
      e = Task.await(task)
      assert %Corral.NativeCrashError{function: :sleep_ms, arity: 1} = e
      assert e.message =~ "CorralTest.IsolatedNative.sleep_ms/1: the native process died during the call ("
    end
  end

  # Writing a call to a native process that has just died failed with
  # EPIPE, which closed the port before the exit status came: about one
  # report in six lost its signal with 50 callers. Rounds of 49 callers in
  # a loop and one crash, until #{if @sanitized, do: 200, else: 1000} reports.
  @reports if @sanitized, do: 200, else: 1000
  @tag timeout: 900_000
  test "with 50 concurrent callers, every crash report says how the process ended" do
    reports =
      Enum.reduce_while(1..100, [], fn _round, acc ->
        assert N.add(1, 1) == 2
        over = :atomics.new(1, [])

        callers =
          for _ <- 1..49 do
            Task.async(fn ->
              Stream.repeatedly(fn ->
                try do
                  N.add(1, 2)
                rescue
                  e in Corral.NativeCrashError -> e
                end
              end)
              |> Enum.find(fn r -> match?(%Corral.NativeCrashError{}, r) or :atomics.get(over, 1) == 1 end)
            end)
          end

        Process.sleep(5)
        crash = catch_error(N.null_deref())
        :atomics.put(over, 1, 1)
        round = [crash | for(t <- callers, do: Task.await(t, 120_000))]
        acc = acc ++ for(%Corral.NativeCrashError{} = e <- round, do: e)
        if length(acc) >= @reports, do: {:halt, acc}, else: {:cont, acc}
      end)

    assert length(reports) >= @reports
    assert Enum.count(reports, &(&1.function == :null_deref)) >= div(@reports, 50)

    for e <- reports do
      assert e.status not in [nil, 0], inspect(e)
      unless @sanitized, do: assert({e.signal, e.status} == {:SIGSEGV, 139}, inspect(e))
    end
  end

  # Each crash costs a new VM (about 0.2 s); under the sanitizers each also
  # prints ASan's report, so that run makes fewer.
  @crashes if @sanitized, do: 20, else: 100

  # Each crash starts a new VM: with both cores busy this took more than
  # ExUnit's default 60 s.
  @tag timeout: 600_000
  test "#{@crashes} crashes in a row leave no process, port or OS process behind" do
    assert N.add(0, 0) == 0
    ports = length(Port.list())
    processes = length(Process.list())
    assert length(peers()) == 1

    # Each says how the process ended: the signal is never lost to the
    # order in which the pipe's end and the exit status arrive.
    for _ <- 1..@crashes do
      e = catch_error(N.null_deref())
      assert %Corral.NativeCrashError{} = e
      if @sanitized, do: assert(e.status not in [nil, 0]), else: assert(e.signal == :SIGSEGV)
    end

    assert N.add(2, 2) == 4
    assert length(Port.list()) == ports
    assert length(Process.list()) == processes
    assert eventually(fn -> length(peers()) == 1 end)
  end

  test "resources come back as handles that work when passed back, also nested" do
    k = N.cell_new(5)
    assert %Corral.Handle{module: N, kind: :reference} = k
    assert N.cell_add(k, 3) == 8
    assert {:x, [k2], %{k: k3}} = N.echo({:x, [k], %{k: k}})
    assert N.cell_add(k2, 1) == 9
    assert N.cell_add(k3, 1) == 10
    assert N.cell_add(k, 0) == 10

    # A reference of this VM is no resource there.
    ref = make_ref()

    assert_raise_exact ArgumentError,
      "CorralTest.IsolatedNative.cell_add/2: argument 1: expected a Cell resource, got: #{inspect(ref)}",
      fn -> N.cell_add(ref, 1) end
  end

  test "pids of the native process come back as handles" do
    p = N.self_pid()
    assert %Corral.Handle{kind: :pid} = p
    assert %Corral.Handle{kind: :pid} = N.echo(p)
    assert inspect(p) == "#Corral.Handle<CorralTest.IsolatedNative pid #{p.gen}.#{p.id}>"
  end

  test "pids and ports of this VM cannot be passed" do
    assert_raise_exact ArgumentError,
      "CorralTest.IsolatedNative.echo/1: argument 1: expected a term without pids or ports " <>
        "(CorralTest.IsolatedNative runs in another OS process), got: #{inspect(self())}",
      fn -> N.echo({:reply_to, [self()]}) end

    port = hd(Port.list())

    assert_raise_exact ArgumentError,
      "CorralTest.IsolatedNative.add/2: argument 2: expected a term without pids or ports " <>
        "(CorralTest.IsolatedNative runs in another OS process), got: #{inspect(port)}",
      fn -> N.add(1, %{port: port}) end
  end

  defp live_cells, do: Corral.live_resources(N)["Cell"]

  # The count once handles dropped by earlier tests are collected (the call
  # behind live_cells/0 sends their release first).
  defp settled_cells do
    gc_all()
    live_cells()
  end

  test "a handle is released when the process holding it exits" do
    live = settled_cells()
    destroyed = N.cells_destroyed()
    parent = self()

    pid =
      spawn(fn ->
        k = N.cell_new(1)
        send(parent, {:made, N.cell_add(k, 1)})
        receive do: (:stop -> :ok)
      end)

    assert_receive {:made, 2}, 5000
    assert live_cells() == live + 1
    send(pid, :stop)
    assert eventually(fn -> live_cells() == live end)
    assert N.cells_destroyed() == destroyed + 1
  end

  test "a handle is released when garbage collected in a living process" do
    live = settled_cells()
    for _ <- 1..50, do: N.cell_new(1)
    assert live_cells() >= live
    assert eventually(fn -> live_cells() == live end)
  end

  test "Corral.Isolated.release/1 releases at once; the handle then raises" do
    k = N.cell_new(1)
    live = settled_cells()
    assert Corral.Isolated.release(k) == :ok
    assert live_cells() == live - 1
    assert Corral.Isolated.release(k) == :ok

    assert_raise_exact ArgumentError,
      "CorralTest.IsolatedNative.cell_add/2: argument 1: expected a live handle, got: a released handle #{inspect(k)}",
      fn -> N.cell_add(k, 1) end

    assert_raise_exact ArgumentError,
      "Corral.Isolated.release/1: argument 1: expected a Corral.Handle returned by an isolated module, got: :nope",
      fn -> Corral.Isolated.release(:nope) end

    assert_raise ArgumentError, fn -> Corral.Isolated.release(%Corral.Handle{module: N, gen: 1, id: 1}) end
  end

  test "a handle from a native process that crashed raises a clear ArgumentError" do
    k = N.cell_new(1)
    assert_raise Corral.NativeCrashError, fn -> N.null_deref() end

    assert_raise_exact ArgumentError,
      "CorralTest.IsolatedNative.cell_add/2: argument 1: expected a live handle, " <>
        "got: a handle from a native process that is gone (it crashed or was stopped) #{inspect(k)}",
      fn -> N.cell_add(k, 1) end

    other = %Corral.Handle{module: Other.Module, kind: :reference, gen: 1, id: 1}

    assert_raise_exact ArgumentError,
      "CorralTest.IsolatedNative.echo/1: argument 1: expected a handle of CorralTest.IsolatedNative, " <>
        "got: a handle of Other.Module #Corral.Handle<Other.Module reference 1.1>",
      fn -> N.echo([other]) end
  end

  test "thread jobs wait in the native process; their _async form is not available" do
    assert N.sum_thread(1000) == 499_500

    assert_raise_exact RuntimeError,
      "CorralTest.IsolatedNative.sum_thread_async/1: the _async form of a thread job is not available in an isolated module " <>
        "(its reply would go to a process of the native process); call sum_thread/1",
      fn -> N.sum_thread_async(3) end

    assert_raise RuntimeError, fn -> Corral.Isolated.call(N, :sum_thread_async, [3]) end
    assert Corral.Isolated.call(N, :sum_thread, [10]) == 45
  end

  test "a timeout abandons the call; the native process keeps serving" do
    assert_raise_exact Corral.TimeoutError,
      "CorralTest.IsolatedNative.sleep_ms/1: no reply from the native process within 100 ms (the call was abandoned)",
      fn -> Corral.Isolated.call(N, :sleep_ms, [2000], timeout: 100) end

    os_pid = Corral.Isolated.os_pid(N)
    assert Corral.Isolated.call(N, :add, [1, 2], timeout: 5000) == 3
    assert Corral.Isolated.call(N, :add, [1, 2]) == 3
    assert Corral.Isolated.os_pid(N) == os_pid
    refute_received _
  end

  test "a call stuck in C past its timeout restarts the native process, which it would hold for good" do
    os_pid = Corral.Isolated.os_pid(N) || (Corral.Isolated.call(N, :add, [1, 2]) && Corral.Isolated.os_pid(N))
    # Another call in flight when the restart comes.
    other = Task.async(fn -> catch_error(Corral.Isolated.call(N, :sleep_ms, [30_000])) end)

    assert_raise Corral.TimeoutError, fn -> Corral.Isolated.call(N, :block_ms, [60_000], timeout: 100) end

    # Killing the call's process waits for block_ms to return, which it does
    # not within the server's grace (5 s), and the native process is
    # restarted. Two reports are right, and which one comes depends on the
    # schedulers of the native process: if its serving process waits in the
    # run queue of the scheduler held in C, it answers no ping and the
    # message names the calls in flight (which one held it is not known);
    # if another scheduler took the serving process, its last answer found
    # block_ms still running, and the message names that call.
    error = Task.await(other, 15_000)

    assert %Corral.NativeCrashError{signal: :SIGKILL} = error
    prefix = "CorralTest.IsolatedNative.sleep_ms/1: the native process was restarted: "

    unresponsive =
      ~r/^#{Regex.escape(prefix)}it answered nothing for \d+ ms \(calls in flight: CorralTest.IsolatedNative.block_ms\/1, CorralTest.IsolatedNative.sleep_ms\/1\) \(killed by SIGKILL\)$/

    stuck =
      prefix <>
        "an abandoned call of CorralTest.IsolatedNative.block_ms/1 was still running in C, " <>
        "holding one of its schedulers for good (killed by SIGKILL)"

    assert error.message =~ unresponsive or error.message == stuck, error.message

    assert Corral.Isolated.call(N, :add, [2, 3], timeout: 10_000) == 5
    refute Corral.Isolated.os_pid(N) == os_pid
  end

  # Callers that wait for ever, native calls holding the schedulers of the
  # native process: it answers no ping, and is restarted after
  # isolate: [unresponsive_after: ms] (10 s by default). Each caller's
  # error names the calls in flight.
  @tag timeout: 120_000
  test "native calls holding schedulers cannot wedge the module, also with callers waiting for ever" do
    assert N.add(1, 1) == 2
    os_pid = Corral.Isolated.os_pid(N)
    started = System.monotonic_time(:millisecond)
    holders = for _ <- 1..System.schedulers_online(), do: Task.async(fn -> catch_error(N.block_ms(60_000)) end)
    in_flight(System.schedulers_online())
    queued = Task.async(fn -> catch_error(N.add(2, 2)) end)

    # The calls are named as the last answer to a ping found them: inside
    # their native function (if it came after the holders started), else
    # all those in flight.
    held = ", its schedulers held in C by CorralTest.IsolatedNative.block_ms/1"
    in_flight = " (calls in flight: CorralTest.IsolatedNative.add/2, CorralTest.IsolatedNative.block_ms/1)"

    for e <- Enum.map([queued | holders], &Task.await(&1, 60_000)) do
      assert %Corral.NativeCrashError{signal: :SIGKILL} = e

      assert Enum.any?([held, in_flight], fn which ->
               e.message =~
                 ": the native process was restarted: it answered nothing for 10000 ms#{which} " <>
                   "(isolate: [unresponsive_after: ms] sets the limit) (killed by SIGKILL)"
             end),
             e.message
    end

    # Not before the limit, and long before the calls would have returned.
    assert System.monotonic_time(:millisecond) - started in 9_000..40_000
    assert N.add(2, 3) == 5
    refute Corral.Isolated.os_pid(N) == os_pid
  end

  @tag timeout: 120_000
  test "a long call on a dirty scheduler is no reason to restart: the native process answers meanwhile" do
    assert N.add(1, 1) == 2
    os_pid = Corral.Isolated.os_pid(N)
    # Longer than the unresponsive limit (10 s).
    long = Task.async(fn -> N.sleep_ms(12_000) end)
    in_flight(1)
    for k <- 1..20, do: (assert N.add(k, k) == 2 * k; Process.sleep(100))
    assert Task.await(long, 60_000) == :ok
    assert Corral.Isolated.os_pid(N) == os_pid
  end

  test "Corral.Isolated.call/4 checks its arguments" do
    assert_raise_exact ArgumentError,
      "Corral.Isolated.call/4: argument 1: expected a module defined with use Corral, isolate: true, got: CorralTest.Native",
      fn -> Corral.Isolated.call(CorralTest.Native, :add, [1, 2]) end

    assert_raise_exact ArgumentError, "Corral.Isolated.call/4: CorralTest.IsolatedNative has no function add/3",
      fn -> Corral.Isolated.call(N, :add, [1, 2, 3]) end

    assert_raise_exact ArgumentError,
      "Corral.Isolated.call/4: :timeout must be a non-negative integer or :infinity, got: :soon",
      fn -> Corral.Isolated.call(N, :add, [1, 2], timeout: :soon) end

    # Through apply/3: Elixir 1.18+'s type checker rightly warns at
    # compile time about the wrong types these calls pass on purpose.
    assert_raise FunctionClauseError, fn -> apply(Corral.Isolated, :call, [N, "add", [1, 2]]) end
    assert_raise FunctionClauseError, fn -> apply(Corral.Isolated, :stop, ["CorralTest.IsolatedNative"]) end
    assert_raise FunctionClauseError, fn -> apply(Corral.Isolated, :os_pid, ["CorralTest.IsolatedNative"]) end
  end

  test "stop/1 kills the native process; calls in flight raise; the next call starts another" do
    os_pid = Corral.Isolated.os_pid(N)
    task = Task.async(fn -> catch_error(N.sleep_ms(10_000)) end)
    in_flight(1)
    assert Corral.Isolated.stop(N) == :ok
    e = Task.await(task)

    assert e.message ==
             "CorralTest.IsolatedNative.sleep_ms/1: the native process was stopped by Corral.Isolated.stop/1 (killed by SIGKILL)"

    assert Corral.Isolated.os_pid(N) == nil
    assert peers() == []
    assert Corral.Isolated.stop(N) == :ok
    assert N.add(1, 1) == 2
    assert Corral.Isolated.os_pid(N) not in [nil, os_pid]
    assert Corral.Isolated.stop(Not.Isolated) == :ok
    assert Corral.Isolated.os_pid(Not.Isolated) == nil
  end

  test "loading the module again (a recompile) stops the native process started for the old code" do
    os_pid = Corral.Isolated.os_pid(N)
    task = Task.async(fn -> catch_error(N.sleep_ms(10_000)) end)
    in_flight(1)
    {N, binary, file} = :code.get_object_code(N)
    {:module, N} = :code.load_binary(N, file, binary)

    assert Task.await(task).message ==
             "CorralTest.IsolatedNative.sleep_ms/1: the native process was stopped: CorralTest.IsolatedNative was loaded again (killed by SIGKILL)"

    assert N.add(1, 1) == 2
    assert Corral.Isolated.os_pid(N) not in [nil, os_pid]
  end

  test "the native process exits when its server goes away" do
    os_pid = Corral.Isolated.os_pid(N)
    server = Process.whereis(Corral.Isolated.server_name(N))
    ref = Process.monitor(server)
    Process.exit(server, :kill)
    assert_receive {:DOWN, ^ref, _, _, _}
    assert eventually(fn -> peers() == [] end)
    refute File.exists?("/proc/#{os_pid}/cmdline") and File.read!("/proc/#{os_pid}/cmdline") =~ "corral_peer"
    assert N.add(1, 1) == 2
  end

  test "concurrent callers" do
    tasks =
      for i <- 1..20 do
        Task.async(fn ->
          k = N.cell_new(0)
          for j <- 1..50, do: assert(N.add(i, j) == i + j)
          for _ <- 1..10, do: N.cell_add(k, i)
          N.cell_add(k, 0)
        end)
      end

    assert Enum.map(tasks, &Task.await(&1, 30_000)) == for(i <- 1..20, do: 10 * i)
  end

  test "a bad :isolate option is refused before anything is built" do
    assert_raise_exact ArgumentError,
      "use Corral: :isolate must be true, false or [timeout: ms, unresponsive_after: ms], got: :yes", fn ->
      Code.compile_string("defmodule CorralTest.BadIsolate do use Corral, otp_app: :corral, lib: \"nope\", isolate: :yes end")
    end

    assert_raise_exact ArgumentError, "use Corral: unknown :isolate options [:speed] (known: :timeout, :unresponsive_after)", fn ->
      Code.compile_string("defmodule CorralTest.BadIsolate do use Corral, otp_app: :corral, lib: \"nope\", isolate: [speed: 1] end")
    end

    for bad <- [0, -1, :never, 1.5] do
      assert_raise_exact ArgumentError,
        "use Corral: isolate: [unresponsive_after: ...] must be a positive integer (ms) or :infinity, got: #{inspect(bad)}", fn ->
        Code.compile_string("defmodule CorralTest.BadIsolate do use Corral, otp_app: :corral, lib: \"nope\", " <>
                              "isolate: [unresponsive_after: #{inspect(bad)}] end")
      end
    end
  end

  test "replies hold only atoms this VM has: a new atom raises instead of filling the atom table" do
    assert N.atom("ok") == :ok
    before = :erlang.system_info(:atom_count)
    name = "corral_never_made_here_#{System.unique_integer([:positive])}"

    assert_raise_exact RuntimeError,
      "CorralTest.IsolatedNative.atom/1: the reply of the native process is not a term this VM can decode safely: " <>
        "it holds an atom that does not exist in this VM (isolated calls return only atoms that exist here: the " <>
        "atom table is never garbage collected), or it is not a valid term",
      fn -> N.atom(name) end

    assert :erlang.system_info(:atom_count) - before < 10
    assert_raise ArgumentError, fn -> String.to_existing_atom(name) end
    # The native process goes on serving.
    assert N.add(1, 2) == 3
  end

  # What the native process writes is not trusted: a bug in its C can have
  # it write anything on its channel (raw_write/1 does it on purpose).
  defp frame(body), do: <<byte_size(body)::32, body::binary>>

  defp assert_violation(what, fun, function \\ "raw_write/1") do
    server = Process.whereis(Corral.Isolated.server_name(N))
    e = assert_raise Corral.NativeCrashError, fun

    unless @sanitized do
      assert e.message ==
               "CorralTest.IsolatedNative.#{function}: the native process was restarted: it sent #{what}, " <>
                 "so its memory cannot be trusted (killed by SIGKILL)"
    end

    assert e.message =~ "it sent #{what}"
    # The server behind the module lives on, and so does the module.
    assert Process.whereis(Corral.Isolated.server_name(N)) == server
    assert N.add(1, 2) == 3
  end

  test "a message of no known kind, a second ready message, a stray end: the native process is restarted" do
    assert_violation("a message of no known kind", fn -> N.raw_write(frame(<<9, "junk">>)) end)
    assert_violation("a ready message after it had started", fn -> N.raw_write(frame(<<0>> <> :erlang.term_to_binary({:ready, :ok}))) end)
    assert_violation("the end of a call that was not abandoned", fn -> N.raw_write(frame(<<4, 12345::64>>)) end)

    # A ready message naming an atom this VM does not have creates none.
    name = "corral_ready_atom_#{System.unique_integer([:positive])}"
    ready = <<131, 104, 2, 119, 5, "ready", 119, byte_size(name), name::binary>>
    assert_violation("a ready message after it had started", fn -> N.raw_write(frame(<<0>> <> ready)) end)
    assert_raise ArgumentError, fn -> String.to_existing_atom(name) end
  end

  test "a size header of 4 GB is refused without allocating it; big replies in many chunks arrive whole" do
    before = if @sanitized, do: 0, else: :erlang.memory(:total)

    assert_violation("a message of 4294967295 bytes, over the limit of 268435456 (config :corral, :isolated_max_message)",
      fn -> N.raw_write(<<0xFFFFFFFF::32, 1, 2, 3>>) end)

    unless @sanitized, do: assert(:erlang.memory(:total) - before < 200_000_000)

    big = :binary.copy(<<1, 2, 3, 4, 5, 6, 7, 8>>, 3_000_000)
    assert N.echo(big) == big
    assert N.echo({big, [big]}) == {big, [big]}
  end

  # Waits until the counter reaches n (true), or stays put for 30 s: the
  # callers are done or stuck (false).
  defp wait_for_calls(counter, n, last \\ -1, still \\ 0) do
    now = :counters.get(counter, 1)

    cond do
      now >= n -> true
      now == last and still >= 3000 -> false
      true ->
        Process.sleep(10)
        wait_for_calls(counter, n, now, if(now == last, do: still + 1, else: 0))
    end
  end

  # The shared ring (c_src/corral_isolated/ring.c) is memory the native
  # process can write at will; ring_scribble/1 does.
  @ring_violation "a malformed reply in the shared ring (another call's id, or a length over its slot)"

  @tag :linux
  test "a reply in the shared ring with another call's id or a length over its slot: the native process is restarted" do
    # (A call whose caller stopped spinning before it was served is not in
    # the ring when it runs, and returns: the next one is tried.)
    assert_violation(@ring_violation, fn -> for _ <- 1..1000, do: N.ring_scribble(0) end, "ring_scribble/1")
    assert_violation(@ring_violation, fn -> for _ <- 1..1000, do: N.ring_scribble(1) end, "ring_scribble/1")
  end

  @tag :linux
  test "a caller that dies between stopping to spin and parking does not keep its ring slot" do
    os_pid = Corral.Isolated.os_pid(N)
    [{:ring, _gen, ring, _slot}] = :ets.lookup(Corral.Isolated.server_name(N), :ring)

    # A process that writes a call into the ring, stops spinning at once,
    # and exits without telling the server (as a caller killed then
    # would): for a short call the reply is on the pipe before the server
    # finds the orphan, for a long one after.
    orphan = fn ms ->
      task = Task.async(fn -> Corral.Isolated.Tracker.ring_call(ring, :erlang.term_to_binary({:sleep_ms, [ms], false}), 0) end)
      {:parked, slot, id} = Task.await(task)
      assert Corral.Isolated.Tracker.ring_owns(ring, slot, id)
      {slot, id}
    end

    for {slot, id} <- [orphan.(0), orphan.(1500)] do
      assert eventually(fn -> not Corral.Isolated.Tracker.ring_owns(ring, slot, id) end, 500)
    end

    assert Corral.Isolated.os_pid(N) == os_pid
    assert N.add(1, 2) == 3
  end

  @tag :linux
  test "the ring's file is gone once the native process has mapped it" do
    maps = File.read!("/proc/#{Corral.Isolated.os_pid(N)}/maps") |> String.split("\n")
    ring = Enum.filter(maps, &(&1 =~ "/corral-ring-"))
    assert ring != []
    assert Enum.all?(ring, &String.ends_with?(&1, " (deleted)")), inspect(ring)
  end

  test "replies too big for the ring, and replies later than the caller spins, arrive through the server" do
    assert N.zeros(1_000_000) == :binary.copy(<<0>>, 1_000_000)
    assert N.sleep_ms(20) == :ok

    results =
      1..20
      |> Enum.map(fn k -> Task.async(fn -> for i <- 1..50, do: {N.sleep_ms(rem(i, 3)), N.add(k, i), N.zeros(rem(i, 7) * 40_000)} end) end)
      |> Task.await_many(60_000)

    for {rows, k} <- Enum.with_index(results, 1), {{slept, sum, zeros}, i} <- Enum.with_index(rows, 1) do
      assert {slept, sum, zeros} == {:ok, k + i, :binary.copy(<<0>>, rem(i, 7) * 40_000)}
    end
  end

  @tag :linux
  @tag timeout: 900_000
  test "forged replies in the shared ring never reach a caller" do
    # After every 5,000 calls the native process writes a finished reply of
    # -1 into each slot being served, with another call's id or a length
    # over the slot (each restarts it).
    adds_while_forging(fn k -> N.ring_scribble(rem(k, 2)) end)
  end

  @tag timeout: 900_000
  test "forged replies never reach another caller" do
    # A burst of replies to every id a counter would have given so far, and
    # one to a random id: a reply to no call in flight restarts the native
    # process, and ids are random, so no forged reply is taken for a call.
    burst = for id <- 1..3000, into: <<>>, do: frame(<<1, id::64>> <> :erlang.term_to_binary({:ok, -1, false}))
    guess = frame(<<1, :rand.uniform(1 <<< 62)::64>> <> :erlang.term_to_binary({:ok, -1, false}))
    # Alternately the burst and the guess.
    adds_while_forging(fn k -> N.raw_write(if rem(k, 2) == 1, do: burst, else: guess) end)
  end

  # 100,000 adds from 50 callers while `forge.(k)` runs after every 5,000
  # (k = 1..19; paced by the calls, not by time: each forgery restarts the
  # native process, and on a busy machine a restart can take longer than
  # any fixed pause). Asserts that every forgery was made while the calls
  # ran and that no caller got the forged -1: each add was right or failed
  # as a crash.
  defp adds_while_forging(forge) do
    calls = :counters.new(1, [])

    callers =
      for k <- 1..50 do
        Task.async(fn ->
          for i <- 1..2000 do
            result =
              try do
                {:ok, N.add(k, i) == k + i}
              rescue
                e in Corral.NativeCrashError -> {:crash, e.message}
              end

            :counters.add(calls, 1, 1)
            result
          end
        end)
      end

    forger =
      Task.async(fn ->
        for k <- 1..19, reduce: 0 do
          written ->
            if wait_for_calls(calls, k * 5000) do
              try do
                forge.(k)
              rescue
                Corral.NativeCrashError -> :restarted
              end

              written + 1
            else
              written
            end
        end
      end)

    results = callers |> Task.await_many(600_000) |> List.flatten()
    assert length(results) == 100_000
    assert Task.await(forger, 600_000) == 19

    assert Enum.all?(results, fn r -> r == {:ok, true} or match?({:crash, _}, r) end),
           inspect(Enum.frequencies(results) |> Enum.take(5))

    assert Enum.count(results, &(&1 == {:ok, true})) > 0
    assert N.add(2, 2) == 4
  end

  test "the native VM does not take this VM's ERL_FLAGS, ERL_AFLAGS, ERL_ZFLAGS" do
    saved = for v <- ~w(ERL_FLAGS ERL_AFLAGS ERL_ZFLAGS), do: {v, System.get_env(v)}

    try do
      # A name here would make the native VM fail to start if it took it.
      System.put_env("ERL_AFLAGS", "-sname corral_isolated_#{System.unique_integer([:positive])}")
      System.put_env("ERL_ZFLAGS", "-corral_probe yes")
      :ok = Corral.Isolated.stop(N)
      assert N.add(2, 2) == 4
      environ = File.read!("/proc/#{Corral.Isolated.os_pid(N)}/environ") |> String.split(<<0>>)
      refute Enum.any?(environ, &String.starts_with?(&1, ["ERL_FLAGS=", "ERL_AFLAGS=", "ERL_ZFLAGS="]))
    after
      for {v, value} <- saved, do: if(value, do: System.put_env(v, value), else: System.delete_env(v))
      Corral.Isolated.stop(N)
    end
  end

  test "the native VM ends with the calling VM, even with native calls holding all its schedulers" do
    script = """
    n = CorralTest.IsolatedNative
    n.add(1, 1)
    for _ <- 1..(2 * System.schedulers_online() + 2), do: spawn(fn -> n.block_ms(60_000) end)
    Process.sleep(500)
    IO.puts("native=\#{Corral.Isolated.os_pid(n)}")
    Process.sleep(:infinity)
    """

    ebin = Path.join(Mix.Project.app_path(), "ebin")
    elixir = System.find_executable("elixir")
    port = Port.open({:spawn_executable, elixir}, [:binary, :exit_status, args: ["-pa", ebin, "-e", script], cd: File.cwd!()])
    {:os_pid, caller} = Port.info(port, :os_pid)

    native =
      receive do
        {^port, {:data, "native=" <> rest}} -> String.trim(rest)
      after
        60_000 -> flunk("the calling VM did not start its native process")
      end

    assert File.exists?("/proc/#{native}")
    # The calling VM dies without a word (as with the out-of-memory killer).
    System.cmd("kill", ["-KILL", "#{caller}"])
    assert_receive {^port, {:exit_status, _}}, 10_000
    assert eventually(fn -> not File.exists?("/proc/#{native}") end, 500), "native VM #{native} outlived its caller"
  end
end
