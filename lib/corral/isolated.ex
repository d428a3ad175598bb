defmodule Corral.Isolated do
  @moduledoc """
  Isolated modules: the same native library, run in a separate OS process.

      defmodule MyApp.Parser do
        use Corral, otp_app: :my_app, lib: "parser_nif", isolate: true
      end

  With `isolate: true` the module's functions do not run the library in the
  calling VM. The first call starts a second Erlang VM (the *native
  process*) with the caller's code paths, which loads the library; each
  call sends its arguments there and waits for the result. When the C code
  crashes that VM (a segmentation fault, an `abort()`, an `exit()` in C,
  the out-of-memory killer), the call raises `Corral.NativeCrashError`
  naming the function and the signal, the calling VM keeps running, and
  the next call starts a new native process.

  What stays the same: arguments and results (copied between the VMs),
  exceptions (re-raised in the caller with the same struct and message),
  thread jobs (`name/n` waits inside the native process; `name_async/n` is
  not available), `Corral.live_resources/1` (counted in the native process).

  What changes:

    * Terms that cannot leave an OS process come back as `Corral.Handle`
      structs: references (resources are references), pids and ports made
      in the native process. Pass a handle back as an argument, also inside
      lists, tuples and maps, and the function gets the real term. A handle
      lives as long as a process of the calling VM holds it (see
      `Corral.Handle`), or until `release/1`.
    * Pids and ports of the calling VM cannot be passed: the argument check
      raises `ArgumentError`. So a NIF cannot send messages to the caller or
      monitor it; `corral_self(c)` is a process of the native process.
    * A call costs a round trip between two OS processes (a few
      microseconds through memory the two share, on Linux, while calls keep
      coming; tens of microseconds for the first after a pause, through
      the pipe elsewhere, or for a call longer than 100 µs; bench/README.md)
      instead of a function call. While it waits, the caller spins on its
      scheduler for up to 100 µs, and the native process polls for the
      next request: on a machine with two cores one caller keeps both
      nearly busy, and more callers at once share them rather than get
      more calls through.
    * Calls wait without limit by default, as a NIF call does; `:timeout`
      (module-wide: `isolate: [timeout: ms]`, or per call with `call/4`)
      raises `Corral.TimeoutError` and abandons the call; the native code
      keeps running until it returns, and `stop/1` kills the native process.

  The native process inherits the environment (a sanitizer's `LD_PRELOAD`
  included), prints on the caller's standard output and error, ignores
  Ctrl-C (`+Bi`), and exits when the calling VM exits or closes it.
  """

  alias Corral.Isolated.{Server, Tracker}

  @doc false
  # True inside the native process of an isolated module.
  def peer?, do: :persistent_term.get({__MODULE__, :peer}, false)

  @doc false
  def server_name(module), do: :"Elixir.Corral.Isolated.Server:#{inspect(module)}"

  @doc """
  Calls `module.function(args...)` in the native process of an isolated
  module, with options:

    * `:timeout` - ms (or `:infinity`) to wait for the result; default: the
      module's `isolate: [timeout: ...]`, else `:infinity`. When it passes,
      the call raises `Corral.TimeoutError` and is abandoned.

  Returns what the function returns; raises what it raises.

      Corral.Isolated.call(MyApp.Parser, :parse, [text], timeout: 1000)
  """
  def call(module, function, args, opts \\ []) when is_atom(module) and is_atom(function) and is_list(args) and is_list(opts) do
    config =
      with true <- Code.ensure_loaded?(module) and function_exported?(module, :__corral_isolated__, 0),
           %{} = config <- module.__corral_isolated__() do
        config
      else
        _ -> raise ArgumentError, "Corral.Isolated.call/4: argument 1: expected a module defined with use Corral, isolate: true, got: #{inspect(module)}"
      end

    unless function_exported?(module, function, length(args)) do
      raise ArgumentError, "Corral.Isolated.call/4: #{inspect(module)} has no function #{function}/#{length(args)}"
    end

    if {function, length(args)} in config.async, do: forward_async(module, function, length(args))

    timeout =
      case Keyword.get(opts, :timeout, config.timeout) do
        t when t == :infinity or (is_integer(t) and t >= 0) -> t
        other -> raise ArgumentError, "Corral.Isolated.call/4: :timeout must be a non-negative integer or :infinity, got: #{inspect(other)}"
      end

    forward(module, config.server, function, args, timeout)
  end

  @doc """
  Releases a handle now: the native process lets go of the term it stands
  for (a resource's destructor runs there once no other handle or call holds
  it). Later uses of the handle raise `ArgumentError`
  (`expected a live handle, got: a released handle ...`). Releasing twice is
  harmless. Returns `:ok`.

  Handles are also released when garbage collected; call this to free a
  large native object early.
  """
  def release(%Corral.Handle{module: module, gen: gen, id: id, ref: ref}) when is_reference(ref) do
    if Tracker.release(ref) do
      case Process.whereis(server_name(module)) do
        nil ->
          :ok

        # Waits until the native process has let go: a call made after
        # this, which may take the ring instead of the server's pipe, must
        # not find the term still held.
        _pid ->
          sync(server_name(module), {:release, gen, id})
      end
    end

    :ok
  end


  def release(other) do
    raise ArgumentError, "Corral.Isolated.release/1: argument 1: expected a Corral.Handle returned by an isolated module, got: #{inspect(other)}"
  end

  @doc """
  Stops the native process of `module` now (SIGKILL, so it also ends native
  code stuck in a loop): calls in flight raise `Corral.NativeCrashError`,
  existing handles become stale, and the next call starts a new process.
  Returns `:ok`, also when no native process runs.
  """
  def stop(module) when is_atom(module) do
    case Process.whereis(server_name(module)) do
      nil -> :ok
      pid -> GenServer.call(pid, :stop, :infinity)
    end
  catch
    :exit, {:noproc, _} -> :ok
  end

  @doc """
  The OS process id of the native process of `module`, or `nil` when none
  is ready (none started yet, the last one died, or one is starting).
  """
  def os_pid(module) when is_atom(module) do
    case Process.whereis(server_name(module)) do
      nil -> nil
      pid -> GenServer.call(pid, :os_pid, :infinity)
    end
  catch
    :exit, {:noproc, _} -> nil
  end

  ## The calling side of a call (the generated functions call these)

  @doc false
  def forward(module, server_name, function, args, timeout) do
    arity = length(args)

    if peer?() do
      # In the native process the library replaced this function; it did
      # not load.
      :erlang.nif_error(Corral.Loader.not_loaded(module, function, arity))
    end

    handles? =
      try do
        scan_args(args, 1, false)
      catch
        {:corral_cannot_cross, i, term} ->
          raise ArgumentError,
                "#{inspect(module)}.#{function}/#{arity}: argument #{i}: expected a term without pids or ports " <>
                  "(#{inspect(module)} runs in another OS process), got: #{inspect(term)}"
      end

    payload = :erlang.term_to_binary({function, args, handles?})

    result =
      case ring(server_name) do
        {gen, ring, slot} -> ring_call(ring, gen, slot, payload, module, server_name, function, arity, timeout)
        nil -> pipe_call(payload, module, server_name, function, arity, timeout)
      end

    # The handles in args stay referenced until the reply is in, so none
    # can be collected (and released) while the call uses it.
    keep(args)
    result
  end

  # How long a caller spins for its reply in the shared ring before it
  # waits for it as a message (c_src/corral_isolated/ring.c).
  @spin_us 100

  defp ring(server_name) do
    case :ets.lookup(server_name, :ring) do
      [{:ring, gen, ring, slot}] -> {gen, ring, slot}
      [] -> nil
    end
  rescue
    # No server yet (its table is gone with it).
    ArgumentError -> nil
  end

  # The fast path: the request goes into the shared ring, and the reply
  # comes back there while the caller spins; a late one (or one too big for
  # the ring) comes through the server, as on the pipe.
  defp ring_call(ring, gen, slot, payload, module, server_name, function, arity, timeout) do
    # Handles collected since the last drain are let go of first, as a call
    # through the server does.
    if Tracker.pending(slot), do: sync(server_name, :drain)

    case Tracker.ring_call(ring, payload, @spin_us) do
      {:reply, bin} -> reply(decode_reply(bin, module, function, arity), slot)
      :full -> pipe_call(payload, module, server_name, function, arity, timeout)
      {how, ring_slot, id} -> parked({module, server_name, function, arity, timeout, gen}, ring_slot, id, how)
    end
  end

  # The reply comes through the server: it is told which slot and call to
  # route it for (how = :parked), or that the slot held another call's
  # reply (how = :violation).
  defp parked({module, server_name, function, arity, timeout, gen}, ring_slot, id, how) do
    case Process.whereis(server_name) do
      nil ->
        raise crash_error(module, function, arity, %{status: nil, signal: nil, why: {:server_down, :noproc}})

      server ->
        tag = :erlang.monitor(:process, server, [{:alias, :demonitor}])
        send(server, {:"$corral_parked", tag, function, arity, gen, ring_slot, id, how})
        await(tag, server, module, function, arity, timeout)
    end
  end

  defp pipe_call(payload, module, server_name, function, arity, timeout) do
    server = server!(module, server_name)
    tag = :erlang.monitor(:process, server, [{:alias, :demonitor}])
    send(server, {:"$corral_call", tag, function, arity, payload})
    await(tag, server, module, function, arity, timeout)
  end

  @doc false
  # The module was loaded (again) in this VM: a native process started for
  # the previous code stops, so the next call loads the new library.
  def loaded(module) do
    case Process.whereis(server_name(module)) do
      nil -> :ok
      pid -> GenServer.cast(pid, :reloaded)
    end
  end

  @doc false
  def forward_async(module, function, arity) do
    if peer?(), do: :erlang.nif_error(Corral.Loader.not_loaded(module, function, arity))

    raise RuntimeError,
          "#{inspect(module)}.#{function}/#{arity}: the _async form of a thread job is not available in an isolated module " <>
            "(its reply would go to a process of the native process); call #{String.replace_suffix(Atom.to_string(function), "_async", "")}/#{arity}"
  end

  defp keep(_args), do: :ok

  # Asks the server to send the native process what it must let go of,
  # and waits until it has.
  defp sync(server_name, request) do
    GenServer.call(server_name, request, :infinity)
  catch
    :exit, _ -> :ok
  end

  defp server!(module, name) do
    case Process.whereis(name) do
      nil ->
        case Server.start(module, name) do
          {:ok, pid} -> pid
          {:error, {:already_started, pid}} -> pid
          {:error, {%{__exception__: true} = e, _stack}} -> raise e
          {:error, reason} -> raise RuntimeError, "#{inspect(module)}: cannot start the isolated native process: #{inspect(reason)}"
        end

      pid ->
        pid
    end
  end

  defp await(tag, server, module, function, arity, timeout) do
    receive do
      {^tag, :reply, slot, reply} ->
        Process.demonitor(tag, [:flush])
        reply(decode_reply(reply, module, function, arity), slot)

      {^tag, :crash, info} ->
        Process.demonitor(tag, [:flush])
        raise crash_error(module, function, arity, info)

      {:DOWN, ^tag, :process, _, reason} ->
        raise crash_error(module, function, arity, %{status: nil, signal: nil, why: {:server_down, reason}})
    after
      timeout ->
        send(server, {:"$corral_abandon", tag})
        # Deactivates the alias: a reply sent after this is dropped.
        Process.demonitor(tag, [:flush])

        raise Corral.TimeoutError,
          message: "#{inspect(module)}.#{function}/#{arity}: no reply from the native process within #{timeout} ms (the call was abandoned)"
    end
  end

  # Atoms are never garbage collected, so a reply may hold only atoms this
  # VM already has: a native process cannot fill this VM's atom table.
  defp decode_reply(bin, module, function, arity) do
    :erlang.binary_to_term(bin, [:safe])
  rescue
    ArgumentError ->
      raise RuntimeError,
            "#{inspect(module)}.#{function}/#{arity}: the reply of the native process is not a term this VM can " <>
              "decode safely: it holds an atom that does not exist in this VM (isolated calls return only atoms " <>
              "that exist here: the atom table is never garbage collected), or it is not a valid term"
  end

  defp reply({:ok, result, false}, _slot), do: result
  defp reply({:ok, result, true}, slot), do: attach(result, slot)

  defp reply({:raise, kind, reason, stack}, _slot) do
    {:current_stacktrace, here} = Process.info(self(), :current_stacktrace)
    here = Enum.drop_while(here, fn frame -> elem(frame, 0) in [Process, __MODULE__] end)
    :erlang.raise(kind, reason, stack ++ here)
  end

  defp crash_error(module, function, arity, info) do
    what =
      case info.why do
        :died -> "the native process died during the call"
        :died_starting -> "the native process died while starting"
        :stopped -> "the native process was stopped by Corral.Isolated.stop/1"
        :reloaded -> "the native process was stopped: #{inspect(module)} was loaded again"
        {:stuck, {fun, n}} ->
          "the native process was restarted: an abandoned call of #{inspect(module)}.#{fun}/#{n} " <>
            "was still running in C, holding one of its schedulers for good"
        {:unresponsive, ms, limit, {which, culprits}} ->
          names = Enum.map_join(culprits, ", ", fn {fun, n} -> "#{inspect(module)}.#{fun}/#{n}" end)

          held =
            case which do
              :running -> ", its schedulers held in C by #{names}"
              :in_flight -> " (calls in flight: #{names})"
            end

          limit = if limit == :limit, do: " (isolate: [unresponsive_after: ms] sets the limit)", else: ""
          "the native process was restarted: it answered nothing for #{ms} ms#{held}#{limit}"

        {:start_failed, text} -> "the native process could not be started: #{text}"
        {:protocol, text} -> "the native process was restarted: it sent #{text}, so its memory cannot be trusted"
        {:server_down, reason} -> "the server of the native process stopped: #{inspect(reason)}"
      end

    how =
      cond do
        info.signal != nil -> " (killed by #{info.signal})"
        info.status != nil -> " (exit status #{info.status})"
        true -> ""
      end

    %Corral.NativeCrashError{
      message: "#{inspect(module)}.#{function}/#{arity}: #{what}#{how}",
      module: module,
      function: function,
      arity: arity,
      status: info.status,
      signal: info.signal
    }
  end

  # Arguments: pids and ports of this VM cannot cross; handles are
  # swapped back in the native process (only if there are any).
  defp scan_args([arg | rest], i, found) do
    found =
      try do
        scan(arg, found)
      catch
        {:corral_cannot_cross, term} -> throw({:corral_cannot_cross, i, term})
      end

    scan_args(rest, i + 1, found)
  end

  defp scan_args([], _i, found), do: found

  defp scan([head | tail], found), do: scan(tail, scan(head, found))
  defp scan([], found), do: found
  defp scan(%Corral.Handle{}, _found), do: true
  defp scan(t, found) when is_tuple(t), do: scan_tuple(t, tuple_size(t), found)
  defp scan(m, found) when is_map(m), do: :maps.fold(fn k, v, acc -> scan(v, scan(k, acc)) end, found, m)
  defp scan(t, _found) when is_pid(t) or is_port(t), do: throw({:corral_cannot_cross, t})
  defp scan(_, found), do: found

  defp scan_tuple(_t, 0, found), do: found
  defp scan_tuple(t, n, found), do: scan_tuple(t, n - 1, scan(:erlang.element(n, t), found))

  # Results: handles made by the native process get their tracking
  # reference in this VM.
  defp attach(%Corral.Handle{ref: nil, gen: gen, id: id} = h, slot), do: %{h | ref: Tracker.track(slot, gen, id)}
  defp attach([head | tail], slot), do: [attach(head, slot) | attach(tail, slot)]
  defp attach(t, slot) when is_tuple(t), do: t |> Tuple.to_list() |> Enum.map(&attach(&1, slot)) |> List.to_tuple()
  defp attach(m, slot) when is_map(m), do: :maps.from_list(for {k, v} <- :maps.to_list(m), do: {attach(k, slot), attach(v, slot)})
  defp attach(other, _slot), do: other
end
