defmodule Corral.Error do
  @moduledoc """
  Turns the errors raised by Corral's C side into Elixir exceptions.

  C code cannot call `inspect/1`, and a term printer written in C can only
  imitate one Elixir version (and none of the `Inspect` implementations of
  your own structs). So a Corral NIF of an Elixir module raises a reason that
  describes the exception:

      {:"$corral_error", ExceptionModule, [text | {:inspect, term}, ...]}

  (or, when the C side set fields with `corral_raise_fields`,
  `{:"$corral_error", {ExceptionModule, [field: value, ...]}, pieces | nil}`)
  and the function that `use Corral` generates for it catches that reason
  and raises the exception, its message assembled here with the running
  Elixir's `inspect/1`. The same happens for the replies of thread jobs
  (`Corral.Job`). You meet the raw reason only when you call the native
  function (`__nif_<name>`) directly or receive a thread job's reply
  yourself: `exception/1` turns it into the exception.
  """

  @doc """
  The exception described by a Corral error reason (see the module doc);
  any other term is returned as it is.
  """
  def exception({:"$corral_error", module, pieces}) when is_atom(module) and is_list(pieces) do
    message = text(pieces)
    build(module, [message: message], message)
  end

  def exception({:"$corral_error", {module, fields}, pieces})
      when is_atom(module) and is_list(fields) and (is_list(pieces) or pieces == nil) do
    message = if pieces, do: text(pieces), else: "#{inspect(module)} raised with #{Corral.Error.Shown.inspect_bounded(fields)}"

    # Names the struct lacks would be dropped with only a warning by
    # defexception's exception/1: a field the C code sets must exist.
    case unknown_fields(module, fields) do
      [] -> build(module, if(pieces, do: fields ++ [message: message], else: fields), message)
      unknown -> RuntimeError.exception(message <> " (raised as #{inspect(module)} with #{fields_text(unknown)}, which it does not have)")
    end
  end

  def exception(other), do: other

  defp unknown_fields(module, fields) do
    if Code.ensure_loaded?(module) and function_exported?(module, :__struct__, 0) do
      struct = module.__struct__()
      for {name, _} <- fields, not Map.has_key?(struct, name), uniq: true, do: name
    else
      []
    end
  end

  defp fields_text([name]), do: "the field #{inspect(name)}"
  defp fields_text(names), do: "the fields " <> Enum.map_join(names, ", ", &inspect/1)

  # Terms are shown by the caller's inspect/1 at a bounded cost and size
  # (Corral.Error.Shown).
  defp text(pieces), do: Corral.Error.Shown.text(pieces)

  # `module.exception(fields)` gives the exception its other fields'
  # defaults, as `raise module, fields` does. `message` is what the
  # RuntimeError says when the module cannot make the exception.
  defp build(module, fields, message) do
    if Code.ensure_loaded?(module) and function_exported?(module, :exception, 1) do
      try do
        module.exception(fields)
      rescue
        error ->
          RuntimeError.exception(
            message <>
              " (raised as #{inspect(module)}, whose exception/1 failed: #{Exception.message(error)})"
          )
      end
    else
      RuntimeError.exception(
        message <> " (raised as #{inspect(module)}, which is not an exception module)"
      )
    end
  end

  @doc false
  # Called by the generated functions: raises the exception with the
  # stacktrace of the call, where the native function's frame and the
  # generated function's become one frame, the function the caller called
  # with its arguments.
  def reraise(reason, stacktrace) do
    :erlang.raise(:error, exception(reason), placed(reason, clean(stacktrace)))
  end

  # The same for a function that `use Corral.Functions` defines in another
  # module: the message and the stacktrace name the function the caller
  # called (`called_as`), not the library module's.
  def reraise(reason, stacktrace, called_as) do
    reason = renamed(reason, called_as)
    :erlang.raise(:error, exception(reason), placed(reason, clean(stacktrace, called_as)))
  end

  @doc false
  # The stacktrace with, on top, the place in C where the reason was raised,
  # when the library noted it (CORRAL_RAISE_LOCATIONS, corral.h): a frame
  # at the C file and line, of the function the message names (C writes
  # "Module.name/arity: " first, also for a thread job, whose waiting
  # function may be gone from the stacktrace), else of the top frame's.
  # `stacktrace` as it is otherwise.
  def placed({:"$corral_error", _, [first | _] = pieces}, stacktrace) when is_list(stacktrace) do
    with {:corral_at, file, line} when is_binary(file) and is_integer(line) <- List.keyfind(pieces, :corral_at, 0),
         {module, name, arity} <- named(first) || top(stacktrace) do
      [{module, name, arity, [file: String.to_charlist(file), line: line]} | stacktrace]
    else
      _ -> stacktrace
    end
  end

  def placed(_reason, stacktrace), do: stacktrace

  # "Module.name/arity: ..." -> the function, if the module and the name
  # are atoms already (they are: the function is loaded).
  defp named(text) when is_binary(text) do
    with [_, module, name, arity] <- Regex.run(~r/^((?:[A-Z][\w]*\.)*[A-Z][\w]*)\.([^\s\/]+)\/(\d+): /u, text) do
      {String.to_existing_atom("Elixir." <> module), String.to_existing_atom(name), String.to_integer(arity)}
    else
      _ -> nil
    end
  rescue
    ArgumentError -> nil
  end

  defp named(_), do: nil

  defp top([{module, name, args, _} | _]), do: {module, name, if(is_list(args), do: length(args), else: args)}
  defp top(_), do: nil

  @doc false
  # The reason with its message's leading "<Library>.<native>/<arity>: "
  # (which Corral's C side always writes first) naming the called function.
  def renamed({:"$corral_error", module, [text | pieces]} = reason, {from, to, arity})
      when is_binary(text) do
    old = function_text(from, arity)

    if String.starts_with?(text, old) do
      rest = binary_part(text, byte_size(old), byte_size(text) - byte_size(old))
      {:"$corral_error", module, [function_text(to, arity) <> rest | pieces]}
    else
      reason
    end
  end

  def renamed(reason, _called_as), do: reason

  # As c_src/corral/call.c writes a function: Module.name/arity.
  defp function_text({module, name}, arity),
    do: "#{String.replace_prefix(Atom.to_string(module), "Elixir.", "")}.#{name}/#{arity}"

  defp clean(
         [{lib, native, args, _}, {module, name, arity, location} | rest] = stacktrace,
         {{lib, lib_name}, {module, name}, arity}
       )
       when is_list(args) and length(args) == arity do
    if Atom.to_string(native) in ["__nif_#{lib_name}", "__nif_#{lib_name}_async"],
      do: [{module, name, args, location} | rest],
      else: stacktrace
  end

  defp clean(stacktrace, _called_as), do: stacktrace

  defp clean([{module, native, args, _}, {module, name, arity, location} | rest] = stacktrace)
       when is_list(args) and length(args) == arity do
    if Atom.to_string(native) == "__nif_" <> Atom.to_string(name),
      do: [{module, name, args, location} | rest],
      else: stacktrace
  end

  defp clean(stacktrace), do: stacktrace
end
