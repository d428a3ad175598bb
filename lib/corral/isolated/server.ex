defmodule Corral.Isolated.Server do
  @moduledoc false
  # One per isolated module, started by the first call and registered under
  # Corral.Isolated.server_name(module); not linked to any caller. It owns
  # the port of the module's native process (a VM running
  # Corral.Isolated.Peer), starts that VM when a call needs it, forwards
  # calls, routes replies, and turns the death of the VM into
  # {tag, :crash, info} for every call in flight.
  #
  # Callers encode their arguments and decode replies themselves; the
  # server only moves binaries. Replies go to the caller's monitor alias,
  # so a caller that stopped waiting (timeout) never gets a stray message.

  use GenServer
  alias Corral.Isolated.Tracker

  @drain_every 1000
  # How long an abandoned call may take to end once the native process has
  # killed it. Killing an Erlang process waits for its native code to
  # return; a call still running after this is stuck in C, holding a
  # scheduler of the native process for good, so the process is restarted.
  @stuck_after 5000
  @stuck_recheck 1000
  # How long the exit status may follow the end of the native process's pipe.
  @status_wait 2000
  # The largest message the native process may send (a reply, with its
  # term encoded), unless `config :corral, isolated_max_message: bytes`.
  @max_message 256 * 1024 * 1024

  # How long a native process may leave a ping unanswered while calls are
  # in flight, unless the module sets isolate: [unresponsive_after: ms].
  @unresponsive_after 10_000

  def start(module, name), do: GenServer.start(__MODULE__, {module, name}, name: name)

  @impl true
  def init({module, name}) do
    Process.flag(:trap_exit, true)
    # Not the first caller's group leader: that one may go away first.
    if user = Process.whereis(:user), do: Process.group_leader(self(), user)
    Tracker.load!()
    Process.send_after(self(), :drain, @drain_every)
    # Where callers find the shared ring of the running native process
    # ({:ring, gen, ring, slot}, while one is up); gone with this server.
    table = :ets.new(name, [:named_table, :protected, read_concurrency: true])

    unresponsive_after =
      case function_exported?(module, :__corral_isolated__, 0) && module.__corral_isolated__() do
        %{unresponsive_after: ms} -> ms
        _ -> @unresponsive_after
      end

    {:ok,
     %{
       module: module,
       # restart a native process that answers no ping for this long while
       # calls are in flight (isolate: [unresponsive_after: ms])
       unresponsive_after: unresponsive_after,
       # the ping not answered yet, when the last was, and the calls inside
       # their native function then
       ping: nil,
       pong_at: nil,
       running: [],
       slot: slot(module),
       # which native process: unique in this VM, so a handle of an earlier
       # process never matches a later one, whatever server made it
       gen: nil,
       port: nil,
       os_pid: nil,
       # the wrapper's shell, the port's own process
       shell_pid: nil,
       status: :down,
       # {why, [from]} while a kill is under way
       stopping: nil,
       # calls sent to the native process: id => {tag, fun, arity}
       calls: %{},
       # tag => id, for callers that give up
       ids: %{},
       # calls waiting for the native process to start, newest first
       queue: [],
       # bytes from the native process not yet cut into messages (take/2)
       chunks: [],
       buffered: 0,
       need: 4,
       max_message: Application.get_env(:corral, :isolated_max_message, @max_message),
       # abandoned calls not yet reported ended: id => {fun, arity}
       abandoned: %{},
       table: table,
       # the shared ring of the running native process (ring.c), or nil
       ring: nil,
       # calls made through the ring and parked here: id => ring slot
       ring_calls: %{},
       # replies on the pipe to ring calls whose caller has not parked yet:
       # id => {slot, reply}
       early: %{},
       # {gen, info} of the last native process that died, for callers that
       # park after it did
       last_death: nil,
       # release/1 callers waiting for the native process to let go: n => from
       syncs: %{},
       # ring calls whose caller died before parking: id => slot, freed
       # when their reply comes on the pipe
       orphans: %{}
     }}
  end

  # A call made through the ring whose reply did not come while its caller
  # spun: it comes on the pipe (<<6, ...>>), maybe already did.
  @impl true
  def handle_info({:"$corral_parked", tag, fun, arity, gen, ring_slot, id, how}, s) do
    cond do
      gen != s.gen or s.status != :up or s.ring == nil ->
        # The native process it was sent to is gone.
        info =
          case s.last_death do
            {^gen, info} -> info
            _ -> %{status: nil, signal: nil, why: :died}
          end

        send(tag, {tag, :crash, info})
        {:noreply, s}

      not Tracker.ring_owns(s.ring, ring_slot, id) ->
        # Its slot was freed as an orphan's: the caller had died (this was
        # its last message).
        {:noreply, %{s | orphans: Map.delete(s.orphans, id)}}

      how == :violation ->
        s = %{s | calls: Map.put(s.calls, id, {tag, fun, arity}), ids: Map.put(s.ids, tag, id), ring_calls: Map.put(s.ring_calls, id, ring_slot)}
        {:noreply, violation(s, "a malformed reply in the shared ring (another call's id, or a length over its slot)")}

      is_map_key(s.early, id) ->
        {{_slot, reply}, early} = Map.pop(s.early, id)
        Tracker.ring_free(s.ring, ring_slot, id)
        send(tag, {tag, :reply, s.slot, reply})
        {:noreply, %{s | early: early}}

      true ->
        {:noreply, %{s | calls: Map.put(s.calls, id, {tag, fun, arity}), ids: Map.put(s.ids, tag, id), ring_calls: Map.put(s.ring_calls, id, ring_slot)}}
    end
  end

  def handle_info({:"$corral_call", tag, fun, arity, payload}, s) do
    s = drain(s)

    case s.status do
      :up -> {:noreply, send_call(s, tag, fun, arity, payload)}
      :booting -> {:noreply, %{s | queue: [{tag, fun, arity, payload} | s.queue]}}
      :down -> {:noreply, boot(%{s | queue: [{tag, fun, arity, payload} | s.queue]})}
    end
  end

  # The channel is a byte stream that the server cuts into messages
  # (<<size::32, message>>) itself: with the port's own {:packet, 4}, a
  # size header of 4 GB written by the native process made this VM
  # allocate 4 GB before reading a byte of it. A message over the limit is
  # a protocol violation, like those message/2 finds.
  def handle_info({port, {:data, _}}, %{port: port, stopping: {{:protocol, _}, _}} = s) do
    # Broke the protocol and is being killed: nothing more it sends counts,
    # replies included; the calls in flight fail with the crash.
    {:noreply, s}
  end

  def handle_info({port, {:data, data}}, %{port: port} = s) do
    {:noreply, take(data, s)}
  end

  # An abandoned call whose process has not ended after @stuck_after: if
  # the last pong found it inside its native function, it holds a scheduler
  # there for good. If the native process has answered no ping since the
  # call was abandoned, it is restarted, naming the calls in flight (a
  # native call blocking a scheduler also stops the serving process, so
  # which call did it is not known). Otherwise the call waits for a
  # scheduler, is not to blame, and is looked at again later.
  def handle_info({:"$corral_stuck", gen, id, abandoned_at}, s) do
    case {s.gen == gen and s.status == :up and s.stopping == nil, s.abandoned} do
      {true, %{^id => function}} ->
        cond do
          id in s.running ->
            {:noreply, kill(s, {:stuck, function}, nil)}

          s.pong_at < abandoned_at ->
            waited = System.monotonic_time(:millisecond) - s.pong_at
            {:noreply, kill(s, {:unresponsive, waited, nil, culprits(s)}, nil)}

          true ->
            Process.send_after(self(), {:"$corral_stuck", gen, id, abandoned_at}, @stuck_recheck)
            {:noreply, s}
        end

      _ ->
        {:noreply, s}
    end
  end

  def handle_info({:"$corral_tick", gen}, %{gen: gen, status: :up, stopping: nil} = s) do
    now = System.monotonic_time(:millisecond)
    busy? = map_size(s.calls) > 0 or map_size(s.abandoned) > 0

    cond do
      s.ping != nil and s.unresponsive_after != :infinity and busy? and now - s.pong_at >= s.unresponsive_after ->
        {:noreply, kill(s, {:unresponsive, s.unresponsive_after, :limit, culprits(s)}, nil)}

      s.ping != nil ->
        tick(s)
        {:noreply, s}

      true ->
        <<n::64>> = :crypto.strong_rand_bytes(8)
        command(s.port, <<5, n::64>>)
        tick(s)
        # An idle native process is not held to the limit: the time counts
        # from the ping sent while calls are in flight.
        {:noreply, %{s | ping: n, pong_at: if(busy?, do: s.pong_at, else: now)}}
    end
  end

  def handle_info({:"$corral_tick", _gen}, s), do: {:noreply, s}

  def handle_info({port, {:exit_status, status}}, %{port: port} = s) do
    {:noreply, died(s, status)}
  end

  def handle_info({port, :eof}, %{port: port} = s) do
    # The exit status follows; should it not come, the process is taken
    # as dead without one.
    Process.send_after(self(), {:"$corral_no_status", port}, @status_wait)
    {:noreply, s}
  end

  def handle_info({:"$corral_no_status", port}, %{port: port} = s) do
    {:noreply, died(s, nil)}
  end

  def handle_info({:EXIT, port, _reason}, %{port: port} = s) do
    # The port closed without reporting an exit status.
    {:noreply, died(s, nil)}
  end

  def handle_info({:EXIT, _old, _reason}, s), do: {:noreply, s}

  def handle_info({:"$corral_abandon", tag}, s) do
    case Map.pop(s.ids, tag) do
      {nil, _} ->
        {:noreply, %{s | queue: Enum.reject(s.queue, &(elem(&1, 0) == tag))}}

      {id, ids} ->
        s =
          if s.status == :up do
            command(s.port, <<3, id::64>>)
            {_tag, fun, arity} = Map.fetch!(s.calls, id)
            Process.send_after(self(), {:"$corral_stuck", s.gen, id, System.monotonic_time(:millisecond)}, @stuck_after)
            %{s | abandoned: Map.put(s.abandoned, id, {fun, arity})}
          else
            s
          end

        {:noreply, %{s | ids: ids, calls: Map.delete(s.calls, id)}}
    end
  end

  def handle_info({:"$corral_release", gen, ids}, s) do
    {:noreply, release(s, for(id <- ids, do: {gen, id}))}
  end

  def handle_info(:drain, s) do
    Process.send_after(self(), :drain, @drain_every)
    {:noreply, drain(s)}
  end

  def handle_info(_other, s), do: {:noreply, s}

  @impl true
  def handle_call(:os_pid, _from, s) do
    {:reply, if(s.status == :up, do: s.os_pid), s}
  end

  # release/1: the native process lets go of the term, then answers the
  # sync (8) that follows, in order on the pipe.
  def handle_call({:release, gen, id}, from, %{status: :up, gen: gen, stopping: nil} = s) do
    command(s.port, [<<2>> | :erlang.term_to_binary([id])])
    {:noreply, sync(s, from)}
  end

  def handle_call({:release, _gen, _id}, _from, s), do: {:reply, :ok, s}

  # A call through the ring found collected handles: they are let go of
  # before it is made.
  def handle_call(:drain, from, s) do
    case drain(s) do
      %{status: :up, stopping: nil} = s -> {:noreply, sync(s, from)}
      s -> {:reply, :ok, s}
    end
  end

  def handle_call(:stop, from, s) do
    case s.status do
      :down ->
        {:reply, :ok, s}

      _ ->
        # The reply waits for the exit status, so the next call starts a
        # new process.
        {:noreply, kill(s, :stopped, from)}
    end
  end

  @impl true
  def handle_cast(:reloaded, s) do
    # The module was compiled and loaded again: the next call starts a
    # native process that loads the new library.
    case s.status do
      :down -> {:noreply, s}
      _ -> {:noreply, kill(s, :reloaded, nil)}
    end
  end

  ## Internals

  # Asks the native process for a sync (8), answered after what was sent
  # before it: `from` gets :ok then (or when the process dies).
  defp sync(s, from) do
    <<n::64>> = :crypto.strong_rand_bytes(8)
    command(s.port, <<8, n::64>>)
    %{s | syncs: Map.put(s.syncs, n, from)}
  end

  # What the native process sends is not trusted: a bug in its C can have
  # it write anything. A reply counts only for a call it was sent and has
  # not answered, by the call's id, which is random (a native process
  # cannot guess the id of another caller's call); anything else ends the
  # native process as a crash, which the calls in flight report.
  defp message(_, %{stopping: {{:protocol, _}, _}} = s) do
    # A violation earlier in the same chunk: the rest does not count either.
    s
  end

  # The first message, written by the wrapper's shell before it starts the
  # native VM in its own process: that process's pid, to kill it by.
  defp message(<<"P", pid::binary-10>>, %{status: :booting, os_pid: nil} = s) do
    case Integer.parse(pid) do
      {n, ""} when n > 0 -> %{s | os_pid: n}
      _ -> violation(s, "a malformed process id")
    end
  end

  defp message(<<1, id::64, _reply::binary>>, s) when is_map_key(s.ring_calls, id) do
    violation(s, "a reply on the pipe to a call made through the shared ring")
  end

  # The reply to a ring call that came on the pipe (the caller parked, or it
  # did not fit). It counts only for the call that holds that ring slot; if
  # the caller has not parked yet, it waits for it.
  defp message(<<6, ring_slot::32, id::64, reply::binary>>, %{ring: ring} = s) when ring != nil do
    case Map.pop(s.calls, id) do
      {{tag, _fun, _arity}, calls} when :erlang.map_get(id, s.ring_calls) == ring_slot ->
        Tracker.ring_free(ring, ring_slot, id)
        send(tag, {tag, :reply, s.slot, reply})
        %{s | calls: calls, ids: Map.delete(s.ids, tag), ring_calls: Map.delete(s.ring_calls, id), orphans: Map.delete(s.orphans, id)}

      {nil, _} when is_map_key(s.abandoned, id) ->
        s

      {nil, _} when :erlang.map_get(id, s.orphans) == ring_slot ->
        Tracker.ring_free(ring, ring_slot, id)
        %{s | orphans: Map.delete(s.orphans, id)}

      {nil, _} ->
        if not is_map_key(s.early, id) and Tracker.ring_owns(ring, ring_slot, id) do
          %{s | early: Map.put(s.early, id, {ring_slot, reply})}
        else
          violation(s, "a reply to no call in flight")
        end

      {_, _} ->
        violation(s, "a reply to no call in flight")
    end
  end

  defp message(<<1, id::64, reply::binary>>, s) do
    case Map.pop(s.calls, id) do
      {{tag, _fun, _arity}, calls} ->
        send(tag, {tag, :reply, s.slot, reply})
        %{s | calls: calls, ids: Map.delete(s.ids, tag)}

      {nil, _} when is_map_key(s.abandoned, id) ->
        # The caller gave up on it; its end (4) follows.
        s

      {nil, _} ->
        violation(s, "a reply to no call in flight")
    end
  end

  defp message(<<5, n::64, ids::binary>>, %{ping: n} = s) when rem(byte_size(ids), 8) == 0 do
    %{s | ping: nil, pong_at: System.monotonic_time(:millisecond), running: for(<<id::64 <- ids>>, do: id)}
  end

  defp message(<<5, _::binary>>, s), do: violation(s, "an answer to no ping")

  defp message(<<8, n::64>>, s) when is_map_key(s.syncs, n) do
    {from, syncs} = Map.pop(s.syncs, n)
    GenServer.reply(from, :ok)
    %{s | syncs: syncs}
  end

  defp message(<<8, _::binary>>, s), do: violation(s, "an answer to no release")

  defp message(<<4, id::64>>, s) do
    case s.abandoned do
      %{^id => _} ->
        {ring_slot, ring_calls} = Map.pop(s.ring_calls, id)
        if ring_slot != nil and s.ring != nil, do: Tracker.ring_free(s.ring, ring_slot, id)
        %{s | abandoned: Map.delete(s.abandoned, id), ring_calls: ring_calls}

      _ -> violation(s, "the end of a call that was not abandoned")
    end
  end

  defp message(<<0, ready::binary>>, %{status: :booting} = s) do
    case safe_decode(ready) do
      {:ok, {:ready, _load, ring?}} when is_boolean(ring?) ->
        # The native process has mapped the ring's file (or failed to):
        # the name is not needed any more.
        if s.ring, do: Tracker.ring_unlink(s.ring)
        s = if ring? and s.ring, do: s, else: %{s | ring: nil}
        if s.ring, do: :ets.insert(s.table, {:ring, s.gen, s.ring, s.slot})
        s = %{s | status: :up, pong_at: System.monotonic_time(:millisecond)}
        tick(s)
        queued = Enum.reverse(s.queue)
        Enum.reduce(queued, %{s | queue: []}, fn {tag, fun, arity, payload}, s -> send_call(s, tag, fun, arity, payload) end)

      _ ->
        violation(s, "a malformed ready message")
    end
  end

  defp message(<<0, _::binary>>, s), do: violation(s, "a ready message after it had started")
  defp message(_, s), do: violation(s, "a message of no known kind")

  # The bytes of a message that has not arrived whole wait as a list of
  # chunks (newest first) until `need` bytes are there (the size header, or
  # the whole message once its size is known): a big reply arrives in many
  # chunks, and joining them at each one would copy it over and over.
  defp take(data, %{chunks: []} = s) when byte_size(data) >= s.need, do: take_messages(data, s)

  defp take(data, s) do
    buffered = s.buffered + byte_size(data)
    chunks = [data | s.chunks]

    if buffered < s.need do
      %{s | chunks: chunks, buffered: buffered}
    else
      chunks |> Enum.reverse() |> IO.iodata_to_binary() |> take_messages(%{s | chunks: [], buffered: 0})
    end
  end

  defp take_messages(<<size::32, rest::binary>> = bytes, s) do
    cond do
      size > s.max_message ->
        violation(%{s | need: 4},
          "a message of #{size} bytes, over the limit of #{s.max_message} (config :corral, :isolated_max_message)")

      byte_size(rest) >= size ->
        body = binary_part(rest, 0, size)
        take_messages(binary_part(rest, size, byte_size(rest) - size), message(body, s))

      true ->
        %{s | chunks: [bytes], buffered: byte_size(bytes), need: 4 + size}
    end
  end

  defp take_messages(<<>>, s), do: %{s | need: 4}
  defp take_messages(bytes, s), do: %{s | chunks: [bytes], buffered: byte_size(bytes), need: 4}

  # Atoms are never created from what the native process sends.
  defp safe_decode(bin) do
    {:ok, :erlang.binary_to_term(bin, [:safe])}
  rescue
    ArgumentError -> :error
  end

  # The native process broke the protocol: it is killed, and the calls in
  # flight fail with the reason (once: a kill already under way keeps its
  # own).
  defp violation(%{stopping: nil} = s, what), do: kill(s, {:protocol, what}, nil)
  defp violation(s, _what), do: s

  defp tick(s) do
    every = if s.unresponsive_after == :infinity, do: 1000, else: s.unresponsive_after |> div(4) |> min(1000) |> max(10)
    Process.send_after(self(), {:"$corral_tick", s.gen}, every)
  end

  # The calls to name when the native process stopped answering:
  # {:running, those the last answer found inside their native function}, else
  # {:in_flight, all calls in flight}.
  defp culprits(s) do
    in_flight = Map.merge(Map.new(s.abandoned), Map.new(s.calls, fn {id, {_tag, fun, arity}} -> {id, {fun, arity}} end))

    case for(id <- s.running, Map.has_key?(in_flight, id), do: in_flight[id]) do
      [] -> {:in_flight, in_flight |> Map.values() |> Enum.uniq() |> Enum.sort()}
      running -> {:running, running |> Enum.uniq() |> Enum.sort()}
    end
  end

  # SIGKILL: a native call stuck in a loop cannot delay it. `stopping` is
  # {why, [callers of stop/1 waiting for the exit]}.
  defp kill(%{stopping: {why, waiting}} = s, _why, from) do
    %{s | stopping: {why, List.wrap(from) ++ waiting}}
  end

  defp kill(s, why, from) do
    # Before the native VM's pid came, the shell is killed: its child has
    # not started the VM yet, or will read the end of its input once the
    # port closes on the shell's exit.
    if pid = s.os_pid || s.shell_pid, do: :os.cmd(~c"kill -KILL #{pid}")
    %{s | stopping: {why, List.wrap(from)}}
  end

  # The slot of the module's handles in the tracker's list of collected
  # ids: the same for every server of the module, so a server started after
  # another died still drains what that one's handles left.
  defp slot(module) do
    key = {__MODULE__, :slot, module}

    case :persistent_term.get(key, nil) do
      nil ->
        slot = :erlang.unique_integer([:positive])
        :persistent_term.put(key, slot)
        slot

      slot ->
        slot
    end
  end

  defp send_call(s, tag, fun, arity, payload) do
    id = fresh_id(s.calls)
    # If the native process just died, its exit status is on the way and
    # fails this call with the others.
    command(s.port, [<<1, id::64>> | payload])
    %{s | calls: Map.put(s.calls, id, {tag, fun, arity}), ids: Map.put(s.ids, tag, id)}
  end

  # A call's id: 64 random bits, so that the native process cannot name a
  # call it was not sent.
  defp fresh_id(calls) do
    <<id::64>> = :crypto.strong_rand_bytes(8)
    if is_map_key(calls, id), do: fresh_id(calls), else: id
  end

  defp command(port, data) do
    Port.command(port, [<<IO.iodata_length(data)::32>> | data])
  rescue
    ArgumentError -> false
  end

  # Handles garbage collected in this VM: the native process lets go of
  # their terms. Ids of an earlier native process are gone already.
  defp drain(s) do
    # A reply waiting for a caller that took another from the ring (only a
    # native process that answered twice sends one) is dropped once the
    # slot has moved on.
    s =
      if s.early == %{} or s.ring == nil,
        do: s,
        else: %{s | early: Map.filter(s.early, fn {id, {slot, _}} -> Tracker.ring_owns(s.ring, slot, id) end)}

    s = if s.ring, do: reap(s), else: s

    case Tracker.drain(s.slot) do
      [] -> s
      dead -> release(s, dead)
    end
  end

  # A caller that stopped spinning and died before its parked message left
  # holds its slot for good: no reply would be routed to free it. Its slot
  # is freed now if the reply is in it, else when the reply comes on the
  # pipe (or at once if it came already).
  defp reap(s) do
    Enum.reduce(Tracker.ring_orphans(s.ring), s, fn {slot, id, replied?}, s ->
      cond do
        is_map_key(s.ring_calls, id) or is_map_key(s.orphans, id) ->
          s

        replied? or is_map_key(s.early, id) ->
          Tracker.ring_free(s.ring, slot, id)
          %{s | early: Map.delete(s.early, id)}

        true ->
          %{s | orphans: Map.put(s.orphans, id, slot)}
      end
    end)
  end

  defp release(%{status: :up, gen: gen} = s, pairs) do
    case for({^gen, id} <- pairs, do: id) do
      [] -> s
      ids -> command(s.port, [<<2>> | :erlang.term_to_binary(ids)])
    end

    s
  end

  defp release(s, _pairs), do: s

  # The native VM runs as the child of a shell that waits for it, so that
  # a command written after the VM died never fails with EPIPE: that closed
  # the port before the exit status arrived, and the crash report lost its
  # signal (1 report in 6 with 50 concurrent callers). The shell holds the
  # pipe of commands open while the VM runs, and once it ended leaves it
  # to a sleep (holding nothing else) for the seconds the status takes to
  # arrive and the port to close; it exits with the VM's status (128 + N
  # for signal N), which the port reports. It writes the VM's pid (its own,
  # before exec) as the first message, and says nothing of the job
  # ("Segmentation fault") on stderr.
  @wrapper ~S"""
  sh -c 'printf "\000\000\000\013P%010d" "$$" >&4 && exec "$@"' corral-native "$@" &
  exec 2>/dev/null
  wait "$!"
  status=$?
  sleep 10 </dev/null >/dev/null 2>&1 4>&- &
  exit "$status"
  """

  defp boot(s) do
    gen = :erlang.unique_integer([:positive, :monotonic])

    {ring, ring_path} =
      case Tracker.ring_create() do
        {ring, path} -> {ring, path}
        :unsupported -> {nil, "none"}
      end

    s = %{s | ring: ring}
    {exec, args} = command_line(s.module, gen, ring_path)
    try do
      Port.open({:spawn_executable, shell()}, [
        # A byte stream: messages are cut by take_messages/1.
        :binary,
        :nouse_stdio,
        # With :eof the port stays open when the native process's pipe
        # closes, so its exit status (and the signal that killed it) still
        # arrives; without it, the port could close first and the status
        # be lost.
        :eof,
        :exit_status,
        args: ["-c", @wrapper, "corral-native", exec | args],
        # The native VM takes no flags meant for this one (a -sname there
        # would clash), and writes no crash dump: a shared, predictable file
        # in /tmp could be planted or overwritten; how it ended is in the
        # Corral.NativeCrashError.
        env: [
          {~c"ERL_FLAGS", false},
          {~c"ERL_AFLAGS", false},
          {~c"ERL_ZFLAGS", false},
          {~c"ERL_CRASH_DUMP_BYTES", ~c"0"}
        ]
      ])
    rescue
      e ->
        if s.ring, do: Tracker.ring_unlink(s.ring)
        fail_queue(%{s | ring: nil}, %{status: nil, signal: nil, why: {:start_failed, Exception.message(e)}})
    else
      port ->
        os_pid =
          case Port.info(port, :os_pid) do
            {:os_pid, os_pid} -> os_pid
            nil -> nil
          end

        # The native VM's own pid comes first on the pipe (message/2).
        %{s | gen: gen, port: port, os_pid: nil, shell_pid: os_pid, status: :booting}
    end
  end

  defp close(port) do
    Port.close(port)
  rescue
    ArgumentError -> :already_closed
  end

  defp fail_queue(s, info) do
    for {tag, _, _, _} <- s.queue, do: send(tag, {tag, :crash, info})
    %{s | queue: []}
  end

  # The native process is gone: every call in flight fails, and the next
  # call starts a new process.
  defp died(s, status) do
    # With :eof the port stays open after the process ended.
    if s.port, do: close(s.port)
    why =
      cond do
        s.stopping != nil -> elem(s.stopping, 0)
        s.status == :booting -> :died_starting
        true -> :died
      end

    info = %{status: status, signal: signal(status), why: why}
    # Callers stop spinning on the ring, and new calls do not use it; those
    # that park later get `info` from last_death.
    :ets.delete(s.table, :ring)

    if s.ring do
      Tracker.ring_close(s.ring)
      Tracker.ring_unlink(s.ring)
    end

    for {_id, {tag, _, _}} <- s.calls, do: send(tag, {tag, :crash, info})
    # The terms are gone with the process.
    for {_n, from} <- s.syncs, do: GenServer.reply(from, :ok)
    s = fail_queue(s, info)

    case s.stopping do
      {_why, waiting} -> Enum.each(waiting, &GenServer.reply(&1, :ok))
      nil -> :ok
    end

    %{s | port: nil, os_pid: nil, shell_pid: nil, ping: nil, running: [], status: :down, stopping: nil, calls: %{}, ids: %{}, abandoned: %{}, chunks: [],
          buffered: 0, need: 4, ring: nil, ring_calls: %{}, early: %{}, last_death: {s.gen, info}, syncs: %{}, orphans: %{}}
  end

  # Signal numbers agree across Unix systems only up to 15 (and not on 7 and
  # 10); the rest are per system. Linux (x86, Arm, RISC-V) and the BSD family
  # (macOS, FreeBSD, OpenBSD, NetBSD) differ as below.
  @common_signals %{1 => :SIGHUP, 2 => :SIGINT, 3 => :SIGQUIT, 4 => :SIGILL, 5 => :SIGTRAP, 6 => :SIGABRT,
                    8 => :SIGFPE, 9 => :SIGKILL, 11 => :SIGSEGV, 13 => :SIGPIPE, 14 => :SIGALRM, 15 => :SIGTERM}
  @linux_signals Map.merge(@common_signals, %{7 => :SIGBUS, 10 => :SIGUSR1, 12 => :SIGUSR2, 24 => :SIGXCPU,
                                               25 => :SIGXFSZ, 31 => :SIGSYS})
  @bsd_signals Map.merge(@common_signals, %{7 => :SIGEMT, 10 => :SIGBUS, 12 => :SIGSYS, 24 => :SIGXCPU,
                                             25 => :SIGXFSZ, 30 => :SIGUSR1, 31 => :SIGUSR2})

  @doc false
  def signal_names(os) when os in [:darwin, :freebsd, :openbsd, :netbsd, :dragonfly], do: @bsd_signals
  def signal_names(_os), do: @linux_signals

  # Ports report death by signal N as status 128 + N.
  defp signal(status) when is_integer(status) and status > 128 do
    n = status - 128
    Map.get(signal_names(elem(:os.type(), 1)), n, :"signal #{n}")
  end

  defp signal(_), do: nil

  # The VM of the native process: erlexec of this VM's ERTS (its environment
  # variables are set by the erl script that started this VM), else erl.
  defp command_line(module, gen, ring_path) do
    paths =
      for dir <- :code.get_path(), dir = List.to_string(dir), dir != ".", not String.starts_with?(dir, otp_lib()), do: dir

    args =
      ["-noinput", "+Bi", "-corral_peer", Atom.to_string(module), Integer.to_string(gen), System.pid(), ring_path] ++
        Enum.flat_map(paths, &["-pa", &1]) ++ ["-s", "Elixir.Corral.Isolated.Peer", "main"]

    {executable(), args}
  end

  defp shell, do: System.find_executable("sh") || "/bin/sh"

  defp otp_lib, do: List.to_string(:code.lib_dir()) <> "/"

  defp executable do
    erlexec = Path.join(System.get_env("BINDIR", ""), "erlexec")

    cond do
      System.get_env("BINDIR") && System.get_env("ROOTDIR") && File.exists?(erlexec) -> erlexec
      File.exists?(Path.join([:code.root_dir(), "bin", "erl"])) -> Path.join([:code.root_dir(), "bin", "erl"])
      true -> System.find_executable("erl") || raise "Corral.Isolated: cannot find the erl executable"
    end
  end
end
