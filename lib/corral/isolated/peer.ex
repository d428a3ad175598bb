defmodule Corral.Isolated.Peer do
  @moduledoc false
  # The code that runs in the native process of an isolated module: a VM
  # started by Corral.Isolated.Server with
  #
  #     -corral_peer Module Gen CallerOsPid RingPath -s Elixir.Corral.Isolated.Peer main
  #
  # It sets the flag that makes the module's @on_load load its library
  # (Corral.Isolated.peer?/0), loads the module, and serves calls read from
  # file descriptor 3 (answers go to 4), or from the shared ring at RingPath
  # ("none": no ring; c_src/corral_isolated/ring.c), each in a process of
  # its own:
  #
  #   <<1, id::64, call>>   call = term_to_binary({fun, args, handles?})
  #   <<2, ids>>            ids = term_to_binary([id]): let go of these handles
  #   <<3, id::64>>         the caller gave up on call id: kill its process
  #   <<5, n::64>>          ping
  #   <<8, n::64>>          sync: answered in order, after what came before
  #
  # and answers
  #
  #   <<0, ready>>          ready = term_to_binary({:ready, load_result, ring_attached?})
  #   <<1, id::64, reply>>  reply = term_to_binary({:ok, result, handles?} | {:raise, kind, reason, stack})
  #   <<4, id::64>>         the process of abandoned call id has ended
  #   <<8, n::64>>          the sync answered
  #   <<6, slot::32, id::64, reply>>  the reply to a call that came through
  #                         the ring, when the ring cannot take it
  #   <<5, n::64, ids>>     pong: ids (64 bits each) of the calls inside
  #                         their native function now
  #
  # When the calling VM closes the channel (or dies), this VM halts.

  @doc false
  def main do
    # Called by `-s` in the init process: serve from a process of our own.
    spawn(&init/0)
    :ok
  end

  defp init do
    # Whatever ends this process ends this VM: nobody else can talk to it.
    Process.flag(:trap_exit, true)

    try do
      serve()
    after
      :erlang.halt(1, flush: false)
    end
  end

  defp serve do
    if user = Process.whereis(:user), do: Process.group_leader(self(), user)
    {:ok, [[module, gen, parent, ring_path | _]]} = :init.get_argument(:corral_peer)
    module = List.to_atom(module)
    gen = List.to_integer(gen)
    watch_parent(List.to_string(parent))
    :persistent_term.put({Corral.Isolated, :peer}, true)
    # No busy limits: with calls through the ring, this process (answering
    # a ping) and the calls' processes (writing replies too big for the
    # ring) could stay suspended on a port that had gone idle, its pipe
    # empty, until the calling VM gave up on them (seen 1 run in 8 with 20
    # callers mixing big replies and sleeps while both cores were loaded;
    # 0 in 20 without the limits). What is queued is bounded by the calls
    # in flight.
    port = Port.open({:fd, 3, 4}, [:binary, {:packet, 4}, :eof, {:busy_limits_port, :disabled}])
    table = :ets.new(__MODULE__, [:public, :set, read_concurrency: true, write_concurrency: true])
    # Calls inside their native function (not waiting for a scheduler).
    running = :ets.new(__MODULE__, [:public, :set, write_concurrency: true])

    load =
      case Code.ensure_loaded(module) do
        {:module, ^module} -> :ok
        {:error, reason} -> {:error, reason}
      end

    ring? = ring_path != ~c"none" and attach(ring_path)
    Port.command(port, [<<0>> | :erlang.term_to_binary({:ready, load, ring?})])
    loop(%{port: port, table: table, running: running, module: module, gen: gen, ring?: ring?}, %{}, %{})
  end

  # This VM must not outlive the calling one. Its channel's end of file says
  # so, but only to a process that gets a scheduler, and native calls that
  # never return can hold them all. So a shell, which needs none, watches
  # the calling VM's OS process and kills this one when it is gone. It
  # leaves by itself when this VM ends first.
  defp watch_parent(parent) do
    script = ~S"""
    while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
    kill -0 "$1" 2>/dev/null || kill -KILL "$2" 2>/dev/null
    """

    if sh = System.find_executable("sh") do
      Port.open({:spawn_executable, sh}, [:nouse_stdio, args: ["-c", script, "corral-watch", parent, System.pid()]])
    end
  end

  # Maps the calling VM's ring; this process then polls it (loop/4), and
  # the ring's thread only wakes it when it stopped polling.
  defp attach(path) do
    Corral.Isolated.Tracker.load!()
    Corral.Isolated.Tracker.ring_attach(List.to_string(path), self()) == :ok
  rescue
    _ -> false
  end

  # How long one poll of the ring spins (us), and how many empty polls in
  # a row end polling (about a millisecond): then this process waits for a
  # message, and the ring's thread sends one when a request comes.
  @poll_us 50
  @idle_polls 20

  # Messages first, without waiting; then, with a ring, a poll of it; with
  # none (or after polling went idle), waiting for a message.
  defp loop(ctx, by_id, by_pid, idle \\ 0) do
    receive do
      message ->
        {by_id, by_pid} = handle(message, ctx, by_id, by_pid)
        loop(ctx, by_id, by_pid, idle)
    after
      0 ->
        if ctx.ring? do
          case Corral.Isolated.Tracker.ring_poll(@poll_us, idle >= @idle_polls) do
            [] ->
              loop(ctx, by_id, by_pid, idle + 1)

            :idle ->
              wait(ctx, by_id, by_pid)

            requests ->
              {by_id, by_pid} =
                Enum.reduce(requests, {by_id, by_pid}, fn {slot, id, call}, {by_id, by_pid} ->
                  {pid, _} = spawn_monitor(fn -> run(ctx, id, call, slot) end)
                  {Map.put(by_id, id, pid), Map.put(by_pid, pid, id)}
                end)

              # The calls' processes run on this scheduler first.
              :erlang.yield()
              loop(ctx, by_id, by_pid, 0)
          end
        else
          wait(ctx, by_id, by_pid)
        end
    end
  end

  defp wait(ctx, by_id, by_pid) do
    receive do
      :"$corral_ring_wake" ->
        loop(ctx, by_id, by_pid, 0)

      message ->
        {by_id, by_pid} = handle(message, ctx, by_id, by_pid)
        loop(ctx, by_id, by_pid, if(ctx.ring?, do: @idle_polls, else: 0))
    end
  end

  defp handle(message, ctx, by_id, by_pid) do
    port = ctx.port

    case message do
      {^port, {:data, <<1, id::64, call::binary>>}} ->
        {pid, _} = spawn_monitor(fn -> run(ctx, id, call, nil) end)
        {Map.put(by_id, id, pid), Map.put(by_pid, pid, id)}

      {^port, {:data, <<2, ids::binary>>}} ->
        for id <- :erlang.binary_to_term(ids), do: :ets.delete(ctx.table, id)
        {by_id, by_pid}

      {^port, {:data, <<3, id::64>>}} ->
        # The caller gave up: the call's process is killed, which takes
        # effect only when its native code returns. Its end is reported
        # (4), so the server can tell a call stuck in native code.
        case by_id do
          %{^id => pid} ->
            Process.exit(pid, :kill)
            {by_id, Map.put(by_pid, pid, {:abandoned, id})}

          _ ->
            Port.command(port, <<4, id::64>>)
            {by_id, by_pid}
        end

      {^port, {:data, <<8, n::64>>}} ->
        Port.command(port, <<8, n::64>>)
        {by_id, by_pid}

      {^port, {:data, <<5, n::64>>}} ->
        # Answered by this process, which needs a scheduler: native calls
        # holding them all leave the server without an answer.
        Port.command(port, [<<5, n::64>> | for({id} <- :ets.tab2list(ctx.running), do: <<id::64>>)])
        {by_id, by_pid}

      {:DOWN, _, :process, pid, _} ->
        case Map.pop(by_pid, pid) do
          {{:abandoned, id}, by_pid} ->
            :ets.delete(ctx.running, id)
            Port.command(port, <<4, id::64>>)
            {Map.delete(by_id, id), by_pid}

          {id, by_pid} ->
            :ets.delete(ctx.running, id)
            {Map.delete(by_id, id), by_pid}
        end

      {^port, :eof} ->
        :erlang.halt(0, flush: false)

      {:EXIT, ^port, _} ->
        :erlang.halt(0, flush: false)

      _other ->
        {by_id, by_pid}
    end
  end

  defp run(ctx, id, call, slot) do
    reply =
      try do
        {fun, args, handles?} = :erlang.binary_to_term(call)
        args = if handles?, do: swap_in_args(args, ctx, fun), else: args
        :ets.insert(ctx.running, {id})
        result = apply(ctx.module, fun, args)
        :ets.delete(ctx.running, id)

        if crossable?(result) do
          {:ok, result, false}
        else
          {:ok, swap_out(result, ctx), true}
        end
      catch
        kind, reason -> {:raise, kind, reason, trim(__STACKTRACE__)}
      end

    reply = :erlang.term_to_binary(reply)

    cond do
      slot == nil -> Port.command(ctx.port, [<<1, id::64>> | reply])
      Corral.Isolated.Tracker.ring_reply(slot, id, reply) -> :ok
      true -> Port.command(ctx.port, [<<6, slot::32, id::64>> | reply])
    end
  end

  # The frames of the native call, without this module's.
  defp trim(stack), do: Enum.take_while(stack, fn frame -> elem(frame, 0) != __MODULE__ end)

  ## Handles in arguments: back to the terms they stand for

  defp swap_in_args(args, ctx, fun) do
    arity = length(args)

    args
    |> Enum.with_index(1)
    |> Enum.map(fn {arg, i} -> swap_in(arg, ctx, {fun, arity, i}) end)
  end

  defp swap_in(%Corral.Handle{} = h, ctx, where), do: resolve(h, ctx, where)
  defp swap_in([head | tail], ctx, where), do: [swap_in(head, ctx, where) | swap_in(tail, ctx, where)]
  defp swap_in([], _ctx, _where), do: []

  defp swap_in(t, ctx, where) when is_tuple(t) do
    t |> Tuple.to_list() |> Enum.map(&swap_in(&1, ctx, where)) |> List.to_tuple()
  end

  defp swap_in(m, ctx, where) when is_map(m) do
    :maps.from_list(for {k, v} <- :maps.to_list(m), do: {swap_in(k, ctx, where), swap_in(v, ctx, where)})
  end

  defp swap_in(other, _ctx, _where), do: other

  defp resolve(%Corral.Handle{module: module, gen: gen, id: id} = h, %{module: module, gen: gen} = ctx, where) do
    case :ets.lookup(ctx.table, id) do
      [{^id, term}] -> term
      [] -> bad_handle(ctx, where, "a live handle", "a released handle #{inspect(h)}")
    end
  end

  defp resolve(%Corral.Handle{module: module} = h, %{module: module} = ctx, where) do
    bad_handle(ctx, where, "a live handle", "a handle from a native process that is gone (it crashed or was stopped) #{inspect(h)}")
  end

  defp resolve(%Corral.Handle{} = h, ctx, where) do
    bad_handle(ctx, where, "a handle of #{inspect(ctx.module)}", "a handle of #{inspect(h.module)} #{inspect(h)}")
  end

  defp bad_handle(ctx, {fun, arity, i}, expected, got) do
    raise ArgumentError, "#{inspect(ctx.module)}.#{fun}/#{arity}: argument #{i}: expected #{expected}, got: #{got}"
  end

  ## Results: references, pids and ports stay here, the caller gets handles

  defp crossable?([head | tail]), do: crossable?(head) and crossable?(tail)
  defp crossable?(t) when is_tuple(t), do: crossable_tuple?(t, tuple_size(t))
  defp crossable?(m) when is_map(m), do: crossable_map?(:maps.next(:maps.iterator(m)))
  defp crossable?(t) when is_reference(t) or is_pid(t) or is_port(t), do: false
  defp crossable?(_), do: true

  defp crossable_tuple?(_t, 0), do: true
  defp crossable_tuple?(t, n), do: crossable?(:erlang.element(n, t)) and crossable_tuple?(t, n - 1)

  defp crossable_map?(:none), do: true
  defp crossable_map?({k, v, next}), do: crossable?(k) and crossable?(v) and crossable_map?(:maps.next(next))

  defp swap_out([head | tail], ctx), do: [swap_out(head, ctx) | swap_out(tail, ctx)]
  defp swap_out(t, ctx) when is_tuple(t), do: t |> Tuple.to_list() |> Enum.map(&swap_out(&1, ctx)) |> List.to_tuple()

  defp swap_out(m, ctx) when is_map(m) do
    :maps.from_list(for {k, v} <- :maps.to_list(m), do: {swap_out(k, ctx), swap_out(v, ctx)})
  end

  defp swap_out(t, ctx) when is_reference(t), do: keep(t, :reference, ctx)
  defp swap_out(t, ctx) when is_pid(t), do: keep(t, :pid, ctx)
  defp swap_out(t, ctx) when is_port(t), do: keep(t, :port, ctx)
  defp swap_out(other, _ctx), do: other

  defp keep(term, kind, ctx) do
    id = :erlang.unique_integer([:positive, :monotonic])
    :ets.insert(ctx.table, {id, term})
    %Corral.Handle{module: ctx.module, kind: kind, gen: ctx.gen, id: id}
  end
end
