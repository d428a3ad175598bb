defmodule CorralTest.ThreadTest do
  # Section "Thread jobs" of corral.h, and Corral.Job.
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  test "a thread job returns the same result as the plain loop" do
    assert N.spin_thread(50_000_000) == N.spin(50_000_000)
    assert N.spin_thread(0) == 0
  end

  test "both forms are generated: name/n waits, name_async/n returns the job" do
    exports = N.__info__(:functions)
    assert {:spin_thread, 1} in exports
    assert {:spin_thread_async, 1} in exports
    job = N.spin_thread_async(1000)
    assert is_reference(job)
    expected = N.spin(1000)
    assert_receive {:corral_reply, ^job, {:ok, ^expected}}, 5000
    assert Corral.Job.await(N, N.spin_thread_async(10), 5000) == N.spin(10)
  end

  test "exceptions raised on the pool thread are raised in the caller" do
    assert_raise_exact RuntimeError, "CorralTest.Native.raise_thread/1: raised on a pool thread",
      fn -> N.raise_thread(:runtime) end

    assert_raise_exact ArgumentError,
      "CorralTest.Native.raise_thread/1: argument 1: expected something else, got: :argument",
      fn -> N.raise_thread(:argument) end

    assert_raise_exact CorralTest.CustomError, "CorralTest.Native.raise_thread/1: custom from a thread",
      fn -> N.raise_thread(:custom) end

    error = assert_raise CorralTest.FieldError, fn -> N.raise_thread(:fields) end
    assert %CorralTest.FieldError{code: 3, extra: :fields, path: nil} = error
    assert error.message == "CorralTest.Native.raise_thread/1: fields from a thread"

    assert_raise_exact ArgumentError,
      "CorralTest.Native.raise_thread/1: argument 1: expected one of :runtime, :argument, :custom or :fields, got: :other",
      fn -> N.raise_thread(:other) end
  end

  test "a timeout raises Corral.TimeoutError and cancels the job" do
    before = N.jobs_cancelled()

    assert_raise_exact Corral.TimeoutError,
      "CorralTest.Native: the thread job did not reply within 2000 ms " <>
        "(it is cancelled: corral_cancelled(c) is now true in its C code, and its reply will be dropped)",
      fn -> N.sleep_thread(10_000) end

    assert eventually(fn -> N.jobs_cancelled() == before + 1 end)
    refute_received {:corral_reply, _, _}
  end

  test "Corral.Job refuses what is not a job, and a bad timeout, at once" do
    # The bad values come through Enum.random/1: written literally, Elixir's
    # type checker already warns about them at compile time.
    [bogus, one, minus_five] = [Enum.random([:bogus]), Enum.random([1]), Enum.random([-5])]

    assert_raise_exact ArgumentError,
      "Corral.Job.await/3: argument 2: expected a job returned by a name_async function, got: :bogus",
      fn -> Corral.Job.await(N, bogus, 60_000) end

    job = N.sleep_thread_async(10)

    assert_raise_exact ArgumentError,
      "Corral.Job.await/3: argument 3: expected a timeout (a non-negative integer of ms, or :infinity), got: -5",
      fn -> Corral.Job.await(N, job, minus_five) end

    assert Corral.Job.await(N, job, 5000) == 10
    ref = make_ref()

    assert_raise_exact ArgumentError,
      "Corral.Job.cancel/2: argument 2: expected a job returned by a name_async function of CorralTest.Native, got: #{inspect(ref)}",
      fn -> Corral.Job.cancel(N, ref) end

    assert_raise_exact ArgumentError,
      "Corral.Job.cancel/2: argument 2: expected a job returned by a name_async function, got: 1",
      fn -> Corral.Job.cancel(N, one) end
  end

  test "Corral.Job.cancel stops a running job" do
    before = N.jobs_cancelled()
    job = N.sleep_thread_async(10_000)
    Process.sleep(20)
    assert Corral.Job.cancel(N, job) == true
    assert Corral.Job.cancel(N, job) == false
    assert eventually(fn -> N.jobs_cancelled() == before + 1 end)
    refute_receive {:corral_reply, ^job, _}, 100
  end

  test "a caller that dies cancels its job; nothing is left behind" do
    gc_all()
    before = N.jobs_cancelled()
    pid = spawn(fn -> N.sleep_thread(10_000) end)
    Process.sleep(50)
    Process.exit(pid, :kill)
    assert eventually(fn -> N.jobs_cancelled() == before + 1 end)
    assert eventually(fn -> Corral.live_resources(N)["corral_job"] == 0 end)
  end

  test "200 concurrent callers each get their own result; no job is left" do
    results =
      1..200
      |> Enum.map(fn i -> Task.async(fn -> {i, N.spin_thread(i * 1000)} end) end)
      |> Enum.map(&Task.await(&1, 30_000))

    for {i, r} <- results, do: assert(r == N.spin(i * 1000))
    assert eventually(fn -> Corral.live_resources(N)["corral_job"] == 0 end)
  end

  test "no scheduler is blocked while jobs run: on one scheduler, a ticker finishes first" do
    online = :erlang.system_info(:schedulers_online)
    :erlang.system_flag(:schedulers_online, 1)

    try do
      parent = self()
      spawn(fn -> send(parent, {:done, Corral.Job.await(N, N.spin_thread_async(2_000_000_000), :infinity)}) end)
      spawn(fn -> for(_ <- 1..20, do: Process.sleep(1)); send(parent, :ticked) end)
      first = receive do
        :ticked -> :ticker
        {:done, _} -> :job
      end
      assert first == :ticker
      assert_receive {:done, _}, 30_000
    after
      :erlang.system_flag(:schedulers_online, online)
    end
  end

  test "corral_cancelled is false outside thread jobs" do
    assert N.cancelled_plain() == false
  end
end
