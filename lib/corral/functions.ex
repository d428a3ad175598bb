defmodule Corral.Functions do
  @moduledoc """
  Functions of one native library in another Elixir module.

  The VM binds a native library to exactly one module, so every NIF of a
  library lives in the module that says `use Corral`. When a library serves
  several public modules (a `Vecmath` API and its `Vecmath.Counter`
  resource, say), give the NIFs of each module a common prefix in C and
  let the module take them:

      defmodule Vecmath.Native do
        @moduledoc false
        use Corral, otp_app: :vecmath, lib: "vecmath"
      end

      defmodule Vecmath.Counter do
        # counter_new/1, counter_incr/2 ... of the library become
        # Vecmath.Counter.new/1, Vecmath.Counter.incr/2 ...
        use Corral.Functions, from: Vecmath.Native, prefix: "counter_"

        def incr(counter), do: incr(counter, 1)
      end

  Each function is defined with the NIF's docs and spec, and its argument
  checks, exceptions and stacktraces name it as the caller called it
  (`Vecmath.Counter.incr/2: argument 2: expected an integer, got: "1"`), not
  by the library module's name. Thread jobs (`CORRAL_FN_THREAD`) give both
  `name/n` and `name_async/n`, waited with the library's `:job_timeout`;
  `Corral.Job.await/3` takes the library module. The library module keeps
  its own functions too.

  Options:

    * `:from` (required) - the module that says `use Corral`; it is
      compiled first.
    * `:prefix` (required) - the prefix (string or atom) of the C names this
      module takes; the rest of each name is the function's name here.

  A library module with no function of that prefix, a module that is not a
  Corral module, and an isolated library (`isolate: true`, whose functions
  run in another OS process and stay in their module) fail the compilation
  with a sentence.
  """

  @doc false
  defmacro __using__(opts) do
    from = Macro.expand(Keyword.get(opts, :from), __CALLER__)
    prefix = Keyword.get(opts, :prefix)
    here = __CALLER__.module

    unless is_atom(from) and from != nil do
      raise ArgumentError,
            "use Corral.Functions: :from must name the module that says use Corral, got: #{Macro.to_string(Keyword.get(opts, :from))}"
    end

    unless (is_binary(prefix) or is_atom(prefix)) and prefix not in [nil, ""] do
      raise ArgumentError,
            "use Corral.Functions: :prefix must be a non-empty string or atom (\"counter_\"), got: #{inspect(prefix)}"
    end

    case Keyword.keys(opts) -- [:from, :prefix] do
      [] ->
        :ok

      bad ->
        raise ArgumentError,
              "use Corral.Functions: unknown options #{inspect(bad)} (known: :from, :prefix)"
    end

    prefix = to_string(prefix)
    library = library!(from, here)

    taken =
      for %{name: name} = f <- library.exports,
          String.starts_with?(Atom.to_string(name), prefix) do
        Map.put(
          f,
          :short,
          String.to_atom(String.replace_prefix(Atom.to_string(name), prefix, ""))
        )
      end

    if taken == [] do
      names = library.exports |> Enum.map(&"#{&1.name}/#{&1.arity}") |> Enum.join(", ")

      raise CompileError,
        description:
          "use Corral.Functions in #{inspect(here)}: #{inspect(from)}'s library has no function whose C name starts with #{inspect(prefix)} (it has: #{names})"
    end

    for f <- taken, do: define(f, from, here, library.job_timeout)
  end

  defp library!(from, here) do
    # Loading `from` runs its on_load, which calls Corral.Loader: where both
    # are compiled in one batch (Corral's own tests), the loader must be
    # there first.
    Code.ensure_compiled!(Corral.Loader)

    case Code.ensure_compiled(from) do
      {:module, _} ->
        :ok

      {:error, why} ->
        raise CompileError,
          description:
            "use Corral.Functions in #{inspect(here)}: #{inspect(from)} could not be compiled (#{why})"
    end

    library =
      case Corral.functions_of(from) do
        nil ->
          raise CompileError,
            description:
              "use Corral.Functions in #{inspect(here)}: #{inspect(from)} is not a module that says use Corral"

        library ->
          library
      end

    if library.isolated do
      raise CompileError,
        description:
          "use Corral.Functions in #{inspect(here)}: #{inspect(from)} is isolated (isolate: true); its functions run in its own OS process and are called through it only"
    end

    library
  end

  defp define(
         %{name: name, short: short, arity: arity, thread: thread?, docs: docs},
         from,
         here,
         job_timeout
       ) do
    vars = Corral.arg_vars(docs, arity)
    called_as = Macro.escape({{from, name}, {here, short}, arity})
    attrs = attributes(docs, name, short, from)

    if thread? do
      native = :"__nif_#{name}_async"
      async = :"#{short}_async"

      quote do
        @doc false
        def unquote(async)(unquote_splicing(vars)) do
          unquote(from).unquote(native)(unquote_splicing(vars))
        catch
          :error, {:"$corral_error", _, _} = reason ->
            Corral.Error.reraise(reason, __STACKTRACE__, unquote(called_as))
        end

        unquote_splicing(attrs)

        def unquote(short)(unquote_splicing(vars)) do
          Corral.Job.await(
            unquote(from),
            unquote(async)(unquote_splicing(vars)),
            unquote(job_timeout),
            unquote(called_as)
          )
        end
      end
    else
      native = :"__nif_#{name}"

      quote do
        unquote_splicing(attrs)

        def unquote(short)(unquote_splicing(vars)) do
          unquote(from).unquote(native)(unquote_splicing(vars))
        catch
          :error, {:"$corral_error", _, _} = reason ->
            Corral.Error.reraise(reason, __STACKTRACE__, unquote(called_as))
        end
      end
    end
  end

  # The library's doc and spec; the spec (checked when the library module
  # compiled) is rewritten to name the function as this module does.
  defp attributes(nil, _name, _short, _from), do: []

  defp attributes({spec, doc}, name, short, from) do
    doc_attr = if doc == "", do: [], else: [quote(do: @doc(unquote(doc)))]

    spec_attr =
      case spec != "" && Code.string_to_quoted(spec) do
        {:ok, {:"::", m1, [{^name, m2, args}, ret]}} ->
          # The library module's resource types, by their remote names.
          {spec, _} = Corral.resource_types({:"::", m1, [{short, m2, args}, ret]}, fn type, meta -> {{:., meta, [from, type]}, meta, []} end)
          [quote(do: @spec(unquote(spec)))]

        _ ->
          []
      end

    doc_attr ++ spec_attr
  end
end
