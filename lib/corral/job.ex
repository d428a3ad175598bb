defmodule Corral.Job do
  @moduledoc """
  Waiting for thread jobs.

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
  """

  @doc """
  Waits up to `timeout` ms (or `:infinity`) for the reply of `job`, started
  by `module.name_async/n`: returns the value, or raises what the job raised.
  On timeout the job is cancelled and `Corral.TimeoutError` is raised.
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

    receive do
      {:corral_reply, ^job, {:ok, value}} ->
        value

      {:corral_reply, ^job, {:raise, reason}} ->
        reason = if called_as, do: Corral.Error.renamed(reason, called_as), else: reason
        {:current_stacktrace, stack} = Process.info(self(), :current_stacktrace)
        # From the function that waited: these frames are noise.
        stack = Enum.drop_while(stack, fn frame -> elem(frame, 0) in [Process, __MODULE__] end)
        :erlang.raise(:error, Corral.Error.exception(reason), Corral.Error.placed(reason, stack))
    after
      timeout ->
        cancel(module, job)
        # A reply sent just before the cancel would otherwise linger.
        receive do
          {:corral_reply, ^job, _} -> :ok
        after
          0 -> :ok
        end

        raise Corral.TimeoutError,
          message:
            "#{inspect(module)}: the thread job did not reply within #{timeout} ms " <>
              "(it is cancelled: corral_cancelled(c) is now true in its C code, and its reply will be dropped)"
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
