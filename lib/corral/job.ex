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
    receive do
      {:corral_reply, ^job, {:ok, value}} ->
        value

      {:corral_reply, ^job, {:raise, reason}} ->
        reason = if called_as, do: Corral.Error.renamed(reason, called_as), else: reason
        :erlang.error(Corral.Error.exception(reason))
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
  def cancel(module, job), do: module.__corral_cancel__(job)
end

defmodule Corral.TimeoutError do
  @moduledoc "Raised when a thread job does not reply within its timeout."
  defexception [:message]
end
