defmodule CorralTest.JobStreamTest do
  # corral_emit and corral_emit_begin (section "Thread jobs" of corral.h),
  # and Corral.Job.stream/3 and ack/3.
  use ExUnit.Case, async: false
  import CorralTest.Case
  alias CorralTest.Native, as: N

  @window 64

  # Waits (up to about 10 s) until `fun` returns true.
  defp wait_until(fun), do: eventually(fun, 1000)

  test "a million items reach a slow reader in order, never more than the window unread" do
    n = 1_000_000
    job = N.emit_count_async(n, false, 1)

    {count, max_queue} =
      Corral.Job.stream(N, job, timeout: 30_000)
      |> Enum.reduce({0, 0}, fn item, {expected, max_queue} ->
        assert item == expected
        # A slow reader: a pause every 50,000 items, while the job goes on.
        if rem(item, 50_000) == 0, do: Process.sleep(20)
        {:message_queue_len, queued} = Process.info(self(), :message_queue_len)
        {expected + 1, max(max_queue, queued)}
      end)

    assert count == n
    # The items unread, plus at most the job's reply after the last one.
    assert max_queue <= @window + 1
    assert {^n, _} = N.emit_progress(1)
    refute_received {:corral_item, _, _}
    refute_received {:corral_reply, _, _}
  end

  test "a job whose caller acks nothing sends the window and waits" do
    job = N.emit_count_async(1000, false, 2)
    # Taking items out of the mailbox is not acking them.
    for i <- 0..(@window - 1), do: assert_receive({:corral_item, ^job, ^i}, 10_000)
    assert wait_until(fn -> N.emit_progress(2) |> elem(0) == @window end)
    # Still waiting a while later: nothing more was sent.
    Process.sleep(100)
    assert {@window, _} = N.emit_progress(2)
    refute_received {:corral_item, ^job, _}

    # Acking 10 items lets exactly 10 more through.
    assert Corral.Job.ack(N, job, 10) == :ok
    for i <- @window..(@window + 9), do: assert_receive({:corral_item, ^job, ^i}, 10_000)
    Process.sleep(50)
    assert {74, _} = N.emit_progress(2)
    refute_received {:corral_item, ^job, _}

    # The rest through the stream, once the items taken are acked.
    assert Corral.Job.ack(N, job, @window) == :ok
    assert Enum.to_list(Corral.Job.stream(N, job)) == Enum.to_list(74..999)
  end

  test "stopping the stream early cancels the job and leaves no message behind" do
    {_, unwound} = N.emit_progress(3)
    job = N.emit_count_async(1_000_000_000, false, 3)
    assert Corral.Job.stream(N, job) |> Enum.take(10) == Enum.to_list(0..9)

    # The job's corral_emit unwound its body (its cleanup ran early) ...
    assert wait_until(fn -> N.emit_progress(3) |> elem(1) == unwound + 1 end)
    {sent, _} = N.emit_progress(3)
    assert sent <= 10 + @window
    # ... and it sent nothing more; what it had sent was taken out.
    Process.sleep(50)
    assert {^sent, _} = N.emit_progress(3)
    refute_received {:corral_item, ^job, _}
    refute_received {:corral_reply, ^job, _}
  end

  test "a raise in the consumer cancels the job" do
    {_, unwound} = N.emit_progress(4)
    job = N.emit_count_async(1_000_000_000, false, 4)

    assert_raise RuntimeError, "enough", fn ->
      Corral.Job.stream(N, job) |> Enum.each(fn i -> if i == 100, do: raise("enough") end)
    end

    # A job that is not cancelled waits for credit and never unwinds.
    assert wait_until(fn -> N.emit_progress(4) |> elem(1) == unwound + 1 end)
    refute_received {:corral_item, ^job, _}
  end

  test "what the job raises after its items is raised by the stream" do
    job = N.emit_then_raise_async(5)
    stream = Corral.Job.stream(N, job)

    assert_raise_exact RuntimeError, "CorralTest.Native.emit_then_raise/1: failed after 5 items", fn ->
      Enum.each(stream, fn i -> send(self(), {:seen, i}) end)
    end

    for i <- 0..4, do: assert_received({:seen, ^i})
    refute_received {:seen, _}
  end

  test "items made after corral_emit_begin carry their own memory" do
    items = Corral.Job.stream(N, N.emit_count_async(100_000, true, 0)) |> Enum.to_list()
    assert length(items) == 100_000
    assert Enum.at(items, 0) == {0, <<0::64>>}
    assert Enum.at(items, 99_999) == {99_999, <<99_999::64>>}
    assert Enum.all?(Enum.with_index(items), fn {{i, <<b::64>>}, k} -> i == k and b == k end)
  end

  test "a result or a raise made in an item's scope reaches the caller intact" do
    assert N.emit_scope_end(:return) == {:made, "in the scope"}

    error = assert_raise CorralTest.FieldError, fn -> N.emit_scope_end(:raise) end
    assert error.message == "CorralTest.Native.emit_scope_end/1: raised in an item's scope"
    assert error.extra == {:made, "in the scope"}
    # The item sent before was dropped by the wait, not left in the mailbox.
    refute_received {:corral_item, _, _}
  end

  test "name/n and await/3 drop the items and return the result" do
    assert N.emit_count(10_000, false, 0) == 10_000
    assert Corral.Job.await(N, N.emit_count_async(500, true, 0), 5000) == 500
    refute_received {:corral_item, _, _}
    refute_received {:corral_reply, _, _}
  end

  test "a stream with no item in time raises Corral.TimeoutError and cancels the job" do
    before = N.jobs_cancelled()
    job = N.sleep_thread_async(10_000)

    assert_raise_exact Corral.TimeoutError,
      "CorralTest.Native: the thread job sent nothing within 50 ms " <>
        "(it is cancelled: corral_cancelled(c) is now true in its C code, and its reply will be dropped)",
      fn -> Corral.Job.stream(N, job, timeout: 50) |> Enum.to_list() end

    assert wait_until(fn -> N.jobs_cancelled() == before + 1 end)
    refute_received {:corral_reply, ^job, _}
  end

  test "jobs waiting for their readers do not hold the pool from other jobs" do
    stalled = for _ <- 1..(System.schedulers_online() * 2), do: N.emit_count_async(1000, false, 0)
    # Every one runs, and stops at the window (nothing is acked).
    for job <- stalled, i <- 0..(@window - 1), do: assert_receive({:corral_item, ^job, ^i}, 10_000)
    # Another job still runs (the pool starts a thread beside the waiting ones).
    assert N.sleep_thread(1) == 1
    for job <- stalled, do: assert(Corral.Job.cancel(N, job))
    refute_received {:corral_item, _, _}
  end

  test "corral_emit and corral_emit_begin outside a thread job, or begun twice, raise" do
    message = fn name, fun -> "CorralTest.Native.#{name}/0: #{fun}: only a thread job (CORRAL_THREAD_NIF, CORRAL_DEF_THREAD) can send items to its caller" end
    assert_raise_exact RuntimeError, message.("emit_plain", "corral_emit"), fn -> N.emit_plain() end
    assert_raise_exact RuntimeError, message.("emit_begin_plain", "corral_emit_begin"), fn -> N.emit_begin_plain() end

    assert_raise_exact RuntimeError,
      "CorralTest.Native.emit_begin_twice/0: corral_emit_begin: already called; corral_emit sends the item first",
      fn -> N.emit_begin_twice() end
  end

  test "stream/3 and ack/3 refuse bad arguments naming them" do
    [bogus, zero, big, bad_opts] = Enum.random([[:bogus, 0, @window + 1, [timeout: -1]]])
    job = N.emit_count_async(0, false, 0)
    assert Corral.Job.await(N, job) == 0

    assert_raise_exact ArgumentError,
      "Corral.Job.stream/3: argument 2: expected a job returned by a name_async function, got: :bogus",
      fn -> Corral.Job.stream(N, bogus) end

    assert_raise_exact ArgumentError,
      "Corral.Job.stream/3: argument 3: expected :timeout to be a non-negative integer of ms or :infinity, got: -1",
      fn -> Corral.Job.stream(N, job, bad_opts) end

    assert_raise_exact ArgumentError,
      "Corral.Job.stream/3: argument 3: expected a keyword list with :timeout, got: [limit: 3]",
      fn -> Corral.Job.stream(N, job, Enum.random([[limit: 3]])) end

    for count <- [zero, big, :many] do
      assert_raise_exact ArgumentError,
        "Corral.Job.ack/3: argument 3: expected an integer from 1 to 64, got: #{inspect(count)}",
        fn -> Corral.Job.ack(N, job, count) end
    end

    assert_raise_exact ArgumentError,
      "Corral.Job.ack/3: argument 2: expected a job returned by a name_async function, got: :bogus",
      fn -> Corral.Job.ack(N, bogus, 1) end

    ref = make_ref()

    assert_raise_exact ArgumentError,
      "Corral.Job.ack/3: argument 2: expected a job returned by a name_async function of CorralTest.Native, got: #{inspect(ref)}",
      fn -> Corral.Job.ack(N, ref, 1) end

    assert_raise_exact ArgumentError,
      "Corral.Job.ack/3: argument 2: expected a job returned by a name_async function of String, got: #{inspect(job)}",
      fn -> Corral.Job.ack(String, job, 1) end
  end
end
