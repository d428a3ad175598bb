defmodule Corral.Job do
  @moduledoc """
  Waiting for thread jobs, and reading what they send while they run.

  A C function defined with `CORRAL_THREAD_NIF` and listed with
  `CORRAL_FN_THREAD("name", ...)` gives its module two functions:

    * `name(args...)` runs the job on Corral's thread pool and waits for it:
      it returns the result, re-raises in the caller what the C code raised,
      and raises `Corral.TimeoutError` (cancelling the job) when the job takes
      longer than the module's `:job_timeout` (default 5000 ms);
    * `name_async(args...)` returns the job at once. The reply arrives as a
      message `{:corral_reply, job, {:ok, value}}` or
      `{:corral_reply, job, {:raise, reason}}`, handy in a GenServer's
      `handle_info/2` (`Corral.Error.exception(reason)` is the exception the
      job raised); `await/3` waits for it.

  No scheduler is blocked while the job runs. If the caller dies, the job is
  marked cancelled (C code sees `corral_cancelled(c)` turn true) and its reply
  is dropped.

  ## Items: progress and partial results

  While it runs, a job can send items to its caller with `corral_emit(c,
  item)` in C: progress, rows, chunks. `stream/3` reads them as a stream:

      job = Native.scan_async(path)
      Corral.Job.stream(Native, job) |> Enum.each(&IO.inspect/1)

  At most 64 items (`CORRAL_EMIT_WINDOW`) wait unread in the caller's
  mailbox: `corral_emit` waits when the caller falls behind, and goes on as
  the stream takes them. Stopping early (`Enum.take/2`, a raise in the
  consumer) cancels the job, and its `corral_emit` unwinds the C body.
  `await/3` (and `name/n`) drop items. A process that reads them from its
  mailbox itself (`{:corral_item, job, item}` in a GenServer's
  `handle_info/2`) calls `ack/3` as it takes them.
  """

  # CORRAL_EMIT_WINDOW in corral.h: a job sends this many items unacked.
  @window 64
  # The stream acks in batches of half the window: one NIF call per 32
  # items, and the job does not run dry while the consumer keeps up.
  @ack_batch div(@window, 2)

  @doc """
  Waits up to `timeout` ms (or `:infinity`) for the reply of `job`, started
  by `module.name_async/n`: returns the value, or raises what the job raised.
  Items the job sends are dropped. On timeout the job is cancelled and
  `Corral.TimeoutError` is raised.
  """
  def await(module, job, timeout \\ 5000), do: await(module, job, timeout, nil)

  @doc false
  # `called_as`: see Corral.Error.reraise/3 (functions of Corral.Functions).
  def await(module, job, timeout, called_as) do
    check_job!("await/3", job)

    unless timeout == :infinity or (is_integer(timeout) and timeout >= 0) do
      raise ArgumentError,
            "Corral.Job.await/3: argument 3: expected a timeout (a non-negative integer of ms, or :infinity), got: #{shown(timeout)}"
    end

    deadline = if timeout == :infinity, do: :infinity, else: now() + timeout
    wait(module, job, deadline, timeout, called_as)
  end

  # Items (corral_emit) are dropped, each acked so that the job never waits
  # for a reader that is not reading; the timeout counts from the call.
  defp wait(module, job, deadline, timeout, called_as) do
    receive do
      {:corral_reply, ^job, {:ok, value}} ->
        value

      {:corral_reply, ^job, {:raise, reason}} ->
        raise_reply(reason, called_as)

      {:corral_item, ^job, _} ->
        module.__corral_ack__(job, 1)
        wait(module, job, deadline, timeout, called_as)
    after
      left(deadline) -> timed_out(module, job, timeout, "did not reply")
    end
  end

  defp now, do: System.monotonic_time(:millisecond)
  defp left(:infinity), do: :infinity
  defp left(deadline), do: max(deadline - now(), 0)

  defp raise_reply(reason, called_as) do
    reason = if called_as, do: Corral.Error.renamed(reason, called_as), else: reason
    {:current_stacktrace, stack} = Process.info(self(), :current_stacktrace)
    # From the function that waited: these frames are noise.
    stack = Enum.drop_while(stack, fn frame -> elem(frame, 0) in [Process, __MODULE__] end)
    :erlang.raise(:error, Corral.Error.exception(reason), Corral.Error.placed(reason, stack))
  end

  defp timed_out(module, job, timeout, what) do
    cancel(module, job)
    flush(job)

    raise Corral.TimeoutError,
      message:
        "#{inspect(module)}: the thread job #{what} within #{timeout} ms " <>
          "(it is cancelled: corral_cancelled(c) is now true in its C code, and its reply will be dropped)"
  end

  # After a cancel nothing more is sent (the job checks the flag and sends
  # under one lock), so what is in the mailbox now is all there will be.
  defp flush(job) do
    receive do
      {:corral_reply, ^job, _} -> flush(job)
      {:corral_item, ^job, _} -> flush(job)
    after
      0 -> :ok
    end
  end

  @doc """
  The items `job` sends (`corral_emit` in its C code) as a stream, in the
  order it sent them. The stream ends when the job returns (its result is
  not part of the stream) and raises what the job raised. Read it in the
  process that started the job: the items are sent to that process.

  Options:

    * `:timeout` - the longest wait for the next item, in ms or
      `:infinity` (default 5000); when it passes, the job is cancelled and
      `Corral.TimeoutError` is raised.

  At most 64 items wait unread in the mailbox. Stopping the stream before
  its end (`Enum.take/2`, `Stream.take_while/2`, a raise in the consumer)
  cancels the job: its `corral_emit` unwinds the C body, and the items
  already sent are taken out of the mailbox.

      job = Native.count_async(1_000_000)
      Corral.Job.stream(Native, job) |> Enum.take(3)
      #=> [0, 1, 2]
  """
  def stream(module, job, opts \\ []) do
    check_job!("stream/3", job)

    unless is_list(opts) and Enum.all?(opts, &match?({:timeout, _}, &1)) do
      raise ArgumentError, "Corral.Job.stream/3: argument 3: expected a keyword list with :timeout, got: #{shown(opts)}"
    end

    timeout = Keyword.get(opts, :timeout, 5000)

    unless timeout == :infinity or (is_integer(timeout) and timeout >= 0) do
      raise ArgumentError,
            "Corral.Job.stream/3: argument 3: expected :timeout to be a non-negative integer of ms or :infinity, got: #{shown(timeout)}"
    end

    Stream.resource(fn -> 0 end, &next_item(module, job, timeout, &1), &stop_stream(module, job, &1))
  end

  # The state: items taken since the last ack, or :done after the reply
  # (Stream.resource then calls only stop_stream).
  defp next_item(module, job, timeout, taken) do
    receive do
      {:corral_item, ^job, item} when taken + 1 == @ack_batch ->
        module.__corral_ack__(job, @ack_batch)
        {[item], 0}

      {:corral_item, ^job, item} ->
        {[item], taken + 1}

      {:corral_reply, ^job, {:ok, _value}} ->
        {:halt, :done}

      {:corral_reply, ^job, {:raise, reason}} ->
        raise_reply(reason, nil)
    after
      timeout -> timed_out(module, job, timeout, "sent nothing")
    end
  end

  defp stop_stream(_module, _job, :done), do: :ok

  # Stopped before the end, or a raise (the consumer's, or the job's: then
  # the cancel finds it finished and does nothing).
  defp stop_stream(module, job, _taken) do
    cancel(module, job)
    flush(job)
  end

  @doc """
  Tells `job` that its caller took `count` of its items
  (`{:corral_item, job, item}` messages) from the mailbox, so it may send
  `count` more. For a process that reads items itself; `stream/3` acks on
  its own. `count` is 1 to 64.
  """
  def ack(module, job, count) do
    check_job!("ack/3", job)

    unless is_integer(count) and count in 1..@window do
      raise ArgumentError, "Corral.Job.ack/3: argument 3: expected an integer from 1 to #{@window}, got: #{shown(count)}"
    end

    try do
      module.__corral_ack__(job, count)
    rescue
      _ in [ArgumentError, UndefinedFunctionError] ->
        raise ArgumentError,
              "Corral.Job.ack/3: argument 2: expected a job returned by a name_async function of #{inspect(module)}, got: #{shown(job)}"
    end
  end

  @doc """
  Marks `job` cancelled: its C code sees `corral_cancelled(c)` return true,
  and its reply is dropped. Returns `true` if the job was not cancelled yet.
  """
  def cancel(module, job) do
    check_job!("cancel/2", job)

    try do
      module.__corral_cancel__(job)
    rescue
      # Not a job of this module's library (or not a Corral module at all).
      _ in [ArgumentError, UndefinedFunctionError] ->
        raise ArgumentError,
              "Corral.Job.cancel/2: argument 2: expected a job returned by a name_async function of #{inspect(module)}, got: #{shown(job)}"
    end
  end

  # A job is a reference (a resource of the library); anything else cannot
  # be one, and is refused before waiting for a reply that never comes.
  defp check_job!(fun, job) do
    unless is_reference(job) do
      raise ArgumentError,
            "Corral.Job.#{fun}: argument 2: expected a job returned by a name_async function, got: #{shown(job)}"
    end
  end

  defp shown(term), do: inspect(term, limit: 20, printable_limit: 100)
end

defmodule Corral.TimeoutError do
  @moduledoc "Raised when a thread job does not reply within its timeout."
  defexception [:message]
end
