defmodule CorralTest.ReloadTest do
  # Hot code loading while native work is in flight. A reload loads a new
  # copy of the library and a purge unloads the old one; objects the old
  # library made (yield states of yielding NIFs in flight) are freed later
  # by the new library. Runs in a separate VM, since the failure it guards
  # against is a dead VM.
  use ExUnit.Case, async: false

  # Each test runs a VM of its own, which is killed after 300 s
  # (CorralTest.Case.run_elixir/3): a hang fails there.
  @moduletag timeout: 600_000

  test "reload and purge with yielding calls in flight, again and again: the VM survives" do
    # The module is loaded (its on_load done) before anything else: a
    # load_binary that reaches the code server while the module's on_load
    # runs (here: the first call of the spinning processes loads it) can
    # hang for ever in OTP's code server (erlang/otp#7466).
    script = """
    n = CorralTest.Native
    {:module, ^n} = Code.ensure_loaded(n)
    {^n, bin, file} = :code.get_object_code(n)

    for _round <- 1..12 do
      pids = for _ <- 1..2, do: spawn(fn -> n.spin_yielding(1_000_000_000_000, 0) end)
      # Both calls are in flight (yielding) before the reload.
      Process.sleep(20)
      {:module, ^n} = :code.load_binary(n, file, bin)
      :code.purge(n)
      # Calls in flight may go on in the old code, or be killed by the purge;
      # either way their yield states are freed now, by the new library.
      for pid <- pids, do: Process.exit(pid, :kill)
      for pid <- Process.list(), do: :erlang.garbage_collect(pid)
      Process.sleep(5)
      {_, 1} = n.spin_yielding(1000, 0)
    end

    IO.puts("survived")
    """

    {out, status} = run_vm(script, [])
    assert status == 0, "exit status #{status}: #{out}"
    assert out =~ "survived"
  end

  test "reloads after yielding calls leave no old image mapped once nothing points into it" do
    # Each reload maps a private copy of the library (Corral.Loader); a yield
    # state made by an old copy keeps that copy mapped only while it lives.
    # Every 100th round leaves a call in flight across the reload.
    script = """
    n = CorralTest.Native
    {^n, bin, file} = :code.get_object_code(n)
    images = fn ->
      for line <- String.split(File.read!("/proc/self/maps"), "\\n"),
          [_, name] <- [Regex.run(~r/(libcorral_test\\.reload-[0-9]+\\.so)/, line)],
          uniq: true, do: name
    end

    for round <- 1..1000 do
      {_, _} = n.spin_yielding(3_000_000, 0)
      pid = if rem(round, 100) == 0, do: spawn(fn -> n.spin_yielding(1_000_000_000_000, 0) end)
      if pid, do: Process.sleep(10)
      {:module, ^n} = :code.load_binary(n, file, bin)
      :code.purge(n)
      if pid, do: Process.exit(pid, :kill)
      :erlang.garbage_collect()
    end

    for pid <- Process.list(), do: :erlang.garbage_collect(pid)
    left = Enum.reduce_while(1..200, nil, fn _, _ ->
      left = images.()
      if length(left) <= 2, do: {:halt, left}, else: (Process.sleep(20); {:cont, left})
    end)
    IO.puts("images mapped: \#{length(left)}")
    """

    {out, status} = run_vm(script, [])
    assert status == 0, "exit status #{status}: #{out}"
    [_, count] = Regex.run(~r/images mapped: ([0-9]+)/, out)
    assert String.to_integer(count) <= 2, out
  end

  defp run_vm(script, env), do: CorralTest.Case.run_elixir(script, env)

  test "a purge with thread jobs running and queued waits for none of them, and every caller gets its reply" do
    # One pool thread: a 1.5 s job runs, five wait in the queue, when the
    # module is reloaded and its old library unloaded.
    script = """
    n = CorralTest.Native
    {^n, bin, file} = :code.get_object_code(n)
    long = n.sleep_thread_async(1500)
    queued = for ms <- 1..5, do: {ms, n.sleep_thread_async(ms)}
    Process.sleep(50)
    :erlang.system_monitor(self(), [{:long_schedule, 300}])
    {:module, ^n} = :code.load_binary(n, file, bin)
    :code.purge(n)
    for {ms, job} <- queued, do: ^ms = Corral.Job.await(n, job, 10_000)
    1500 = Corral.Job.await(n, long, 10_000)
    :erlang.system_monitor(:undefined)
    long = for {:monitor, _, :long_schedule, info} <- :erlang.process_info(self(), :messages) |> elem(1), do: info
    IO.puts("long schedules: \#{inspect(long)}")
    IO.puts("all replied")
    """

    {out, status} = run_vm(script, [{"CORRAL_THREADS", "1"}])
    assert status == 0, out
    assert out =~ "all replied"
    assert out =~ "long schedules: []"
  end

  test "jobs that never look at corral_cancelled cannot starve the pool" do
    # Two pool threads, both held by jobs that ran past their callers'
    # timeout and go on sleeping: a new job still runs at once.
    script = """
    n = CorralTest.Native
    stuck = for _ <- 1..2, do: n.stubborn_thread_async(3000)
    Process.sleep(50)
    for job <- stuck do
      try do
        Corral.Job.await(n, job, 100)
      rescue
        Corral.TimeoutError -> :timed_out
      end
    end

    7 = Corral.Job.await(n, n.sleep_thread_async(7), 1000)
    IO.puts("not starved")
    """

    {out, status} = run_vm(script, [{"CORRAL_THREADS", "2"}])
    assert status == 0, out
    assert out =~ "not starved"
  end
end
