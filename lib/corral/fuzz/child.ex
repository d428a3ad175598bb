defmodule Corral.Fuzz.Child do
  @moduledoc false
  # The VM that makes the calls for mix corral.fuzz. It connects to the
  # task's TCP port on the loopback interface and reports, as packets of
  # external terms:
  #
  #   {:hello, os_pid, [{name, arity, spec?}], specs_read?}
  #                                              once, before the first call
  #   {:call, index, descriptions}               before each call
  #   {:ret, outcome}                            after it: :ok, {:raised, module}, :throw or :exit
  #   {:done}                                    after the last call
  #   {:error, message}                          if the module cannot be used
  #
  # A call packet is in the kernel's socket buffer before the call starts,
  # so it survives the VM if the call kills it.

  alias Corral.Fuzz.Generator

  def main(encoded) do
    config = encoded |> Base.decode64!() |> :erlang.binary_to_term()
    opts = [:binary, packet: 4, active: false, nodelay: true]
    {:ok, sock} = :gen_tcp.connect({127, 0, 0, 1}, config.port, opts, 30_000)

    case Code.ensure_loaded(config.module) do
      {:module, module} ->
        funs = functions(module, config.skip, config.only)
        read = specs(module)
        specs = read || %{}
        report(sock, {:hello, System.pid(), for({n, a} <- funs, do: {n, a, Map.has_key?(specs, {n, a})}), read != nil})
        # One stream per VM of the run. (Seeding with the tuple {seed, vm, c}
        # would give {s, 2, c} and {s + 1, 1, c} the same stream.)
        Generator.use_dictionary(Map.get(config, :dictionary, []))
        <<stream::64, _::binary>> = :crypto.hash(:sha256, :erlang.term_to_binary({config.seed, config.vm}))
        :rand.seed(:exsss, stream)

        if funs != [] do
          ctx = %{sock: sock, module: module, funs: List.to_tuple(funs), specs: specs}
          loop(ctx, config.count, Generator.new())
        end

        report(sock, {:done})

      {:error, reason} ->
        report(sock, {:error, "#{inspect(config.module)} could not be loaded: #{inspect(reason)}"})
    end

    sent(sock)
    :gen_tcp.close(sock)
    System.halt(0)
  end

  defp functions(module, skip, only) do
    exported =
      if function_exported?(module, :__info__, 1),
        do: module.__info__(:functions),
        else: module.module_info(:exports) -- [module_info: 0, module_info: 1]

    for {name, arity} <- exported,
        not String.starts_with?(Atom.to_string(name), "__"),
        # The NIF behind a thread job's function is called through it.
        not (String.ends_with?(Atom.to_string(name), "_async") and
               {String.to_atom(String.replace_suffix(Atom.to_string(name), "_async", "")), arity} in exported),
        key = "#{name}/#{arity}",
        key not in skip,
        only == [] or key in only,
        do: {name, arity}
  end

  # {name, arity} => [argument types, one list per clause]; nil if the
  # specs cannot be read: they are kept in the debug info, which a module
  # compiled with debug_info: false does not have (recent versions of
  # mix test compile test files so).
  defp specs(module) do
    case Code.Typespec.fetch_specs(module) do
      {:ok, specs} ->
        local = local_types(module)

        for {{name, arity}, clauses} <- specs,
            types = clauses |> Enum.map(&Generator.arg_types/1) |> Enum.reject(&is_nil/1),
            types = Enum.map(types, fn args -> Enum.map(args, &expand(&1, local, 4)) end),
            types != [],
            into: %{},
            do: {{name, arity}, List.to_tuple(types)}

      :error ->
        nil
    end
  end

  # The module's own types without parameters (a resource parameter's
  # tally() :: reference()), so that a spec naming them is read as their
  # definition.
  defp local_types(module) do
    case Code.Typespec.fetch_types(module) do
      {:ok, types} -> for {kind, {name, definition, []}} <- types, kind in [:type, :opaque], into: %{}, do: {name, definition}
      :error -> %{}
    end
  end

  defp expand(_type, _local, 0), do: {:type, 0, :term, []}

  defp expand({:user_type, _, name, []} = type, local, depth) do
    case local do
      %{^name => definition} -> expand(definition, local, depth - 1)
      _ -> type
    end
  end

  defp expand({:type, l, name, args}, local, depth) when is_list(args), do: {:type, l, name, Enum.map(args, &expand(&1, local, depth))}
  # A typed declaration names its arguments: t :: tally().
  defp expand({:ann_type, l, [var, type]}, local, depth), do: {:ann_type, l, [var, expand(type, local, depth)]}
  defp expand({:paren_type, l, [type]}, local, depth), do: {:paren_type, l, [expand(type, local, depth)]}
  defp expand(type, _local, _depth), do: type

  defp loop(_ctx, 0, _gen), do: :ok

  defp loop(ctx, n, gen) do
    index = :rand.uniform(tuple_size(ctx.funs)) - 1
    {name, arity} = elem(ctx.funs, index)

    types =
      case ctx.specs do
        %{{^name, ^arity} => clauses} -> elem(clauses, :rand.uniform(tuple_size(clauses)) - 1)
        _ -> nil
      end

    {args, descs} = Generator.args(gen, {name, arity}, types)
    report(ctx.sock, {:call, index, descs})
    sent(ctx.sock)
    small_ints? = Enum.all?(args, &(not is_integer(&1) or abs(&1) < 1_000_000))

    {outcome, result} =
      try do
        {:ok, {:returned, apply(ctx.module, name, args)}}
      catch
        :error, reason ->
          e = Exception.normalize(:error, reason, __STACKTRACE__)
          {{:raised, e.__struct__}, {:raised, e}}

        kind, _ ->
          {kind, nil}
      end

    # A call given a large integer (a size or count of a million or more)
    # is not learnt from: reusing what it was given or returned (a huge
    # buffer, say) would make later calls slow. (A rule on the arguments,
    # not on the time taken, so that a seed replays the same run.)
    gen =
      case result do
        _ when not small_ints? -> gen
        {:returned, value} -> Generator.returned(gen, {name, arity}, args, descs, value)
        {:raised, e} -> Generator.rejected(gen, {name, arity}, args, descs, e)
        nil -> gen
      end

    report(ctx.sock, {:ret, outcome})
    drain()
    loop(ctx, n - 1, gen)
  end

  defp report(sock, message) do
    case :gen_tcp.send(sock, :erlang.term_to_binary(message)) do
      :ok -> :ok
      {:error, _} -> System.halt(3)
    end
  end

  # Waits until the socket's driver queue is empty: the packet is then with
  # the kernel, which delivers it even if this VM dies in the next call.
  defp sent(sock) do
    case :erlang.port_info(sock, :queue_size) do
      {:queue_size, 0} ->
        :ok

      {:queue_size, _} ->
        Process.sleep(1)
        sent(sock)

      nil ->
        System.halt(3)
    end
  end

  # Messages the functions send to the caller (replies, notifications).
  defp drain do
    case Process.info(self(), :message_queue_len) do
      {:message_queue_len, 0} -> :ok
      _ -> flush()
    end
  end

  defp flush do
    receive do
      _ -> flush()
    after
      0 -> :ok
    end
  end
end
