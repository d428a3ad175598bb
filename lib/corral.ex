defmodule Corral do
  @moduledoc """
  Safe, fast NIFs in C for Erlang and Elixir.

      defmodule Buffer.Native do
        use Corral, otp_app: :buffer, lib: "buffer_nif"
      end

  `use Corral` compiles the C sources of the library (by default every `.c`
  file under `c_src/<lib>/`) together with Corral's own C sources into
  `priv/native/lib<lib>.so` of the application, defines one Elixir function
  per row of the C export table (`CORRAL_MODULE`), and loads the library when
  the module loads. The functions are never written twice: the stubs come
  from the table in the built library.

  ## Options

    * `:otp_app` (required) - the application whose `priv/native` holds the
      library.
    * `:lib` (required) - the library name: `lib<lib>.so`, sources in
      `c_src/<lib>` unless `:path` says otherwise.
    * `:path` - the folder of the C sources, relative to the project root.
    * `:sources` - the C files to compile, relative to `:path` (default:
      every `.c` file below it).
    * `:cflags` - extra compiler flags, e.g. `["-DFAST", "-I/opt/x/include"]`.
    * `:ldflags` - extra linker flags, e.g. `["-lz"]`.
    * `:libs` - C libraries found through pkg-config, e.g. `["zlib"]`: their
      compiler and linker flags are added.
    * `:compile_commands` - `false` to not write `compile_commands.json` next
      to the sources (for clangd and other C tools; on by default).
    * `:mode` - `:release` (default, `-O3`, as fast as a C author's own
      build) or `:debug` (`-O0 -g3`, `CORRAL_DEBUG` defined: the scheduler
      watchdog and readable debugger sessions).
    * `:raise_locations` - `true` to show, as the top frame of the
      stacktrace of every exception raised in C, the file and line of the
      raise (or of the argument read that failed): `CORRAL_RAISE_LOCATIONS`
      (corral.h). Default: `true` in Mix's test environment, `false`
      elsewhere; always on in `:debug` mode. Off, no call does any work
      for it.
    * `:vm_locks` - `true` to make every `corral_mutex` and `corral_rwlock`
      an erl_nif lock (`CORRAL_VM_LOCKS`, corral.h), which the lock checker
      of a debug emulator and `lcnt` in a lock-counting one
      (`erl -emu_type lcnt`) see. Default: `false` (Corral's one-word
      locks); always on in `:debug` mode.
    * `:sanitize` - `[:address, :undefined]` (or a part) builds with
      AddressSanitizer/UndefinedBehaviorSanitizer; `CORRAL_SANITIZE` does it
      for every module. The VM needs the ASan runtime preloaded (docs/safety.md).
    * `:load_from` - `{app, "priv/path/libname"}` to load a library built
      elsewhere (the path has no `.so`).
    * `:skip_compilation?` - `true` to use an already built library as is.
    * `:prebuilt` - prebuilt libraries for users without a C compiler: a
      folder made by `mix corral.package` (shipped in the package), or
      `[base_url: "https://...", checksums: "checksums-<lib>.txt"]` to
      download them (made by `mix corral.precompile`, uploaded to
      `base_url`; the checksums file, relative to the project, is shipped).
      The artefact for this machine's target (architecture and C library)
      and the newest NIF version this VM loads is checked against its
      SHA-256 and installed instead of compiling; downloads use HTTPS with
      certificate checks (`CORRAL_CACERTFILE` names extra CA certificates)
      and are cached (`CORRAL_CACHE_DIR`, else the user's cache folder).
      With no fitting artefact the library is built from source;
      `CORRAL_FORCE_BUILD=1` always builds.
    * `:version` - the version in prebuilt file names (default: the app's).
    * `:load_data` - a term given to the library's load hook
      (`CORRAL_ON_LOAD` in C) when the library loads; `nil` by default. It
      is stored in the module, so it must be a term that can be written in
      code (no pids, references, ports or functions).
    * `:job_timeout` - how long (ms, or `:infinity`) the function of a thread
      job (`CORRAL_FN_THREAD`) waits for its reply; default 5000.
    * `:isolate` - `true` to run the library in a separate OS process that
      Corral starts and watches, so that a crash of the C code raises
      `Corral.NativeCrashError` in the caller instead of stopping the VM;
      `[timeout: ms]` also limits how long each call waits (default
      `:infinity`); `[unresponsive_after: ms]` how long the native process
      may leave a ping unanswered while calls are in flight before it is
      restarted (default 10000, or `:infinity`). Resources and other terms
      that cannot leave that process come back as `Corral.Handle` structs.
      See `Corral.Isolated`.

  Environment: `CC` (or `CROSSCOMPILE`) picks the C compiler, `CFLAGS`,
  `CPPFLAGS` and `LDFLAGS` add flags, `ERTS_INCLUDE_DIR` names the folder
  of `erl_nif.h` (docs/building-and-shipping.md, cross-compiling).

  A library that fails to load (missing file, another architecture, an
  undefined symbol) leaves every function raising `Corral.LoadError` with
  the reason; the failure is also printed when the module loads.
  """

  @abi_header Path.expand("../include/corral.h", __DIR__)
  @external_resource @abi_header
  @abi (case Regex.run(~r/#define CORRAL_ABI (\d+)/, File.read!(@abi_header)) do
          [_, n] -> String.to_integer(n)
        end)

  @doc "The ABI of Corral's C export table and load protocol (`CORRAL_ABI` in corral.h)."
  def abi, do: @abi

  @doc false
  # The functions of a `use Corral` module, for Corral.Functions: recorded
  # when the module compiles (Elixir 1.19+ need not load a module compiled
  # in the same run, so it cannot be called yet), else asked of the module
  # (compiled in an earlier run). nil for a module that is not Corral's.
  def functions_of(module) do
    case :persistent_term.get({__MODULE__, :functions, module}, nil) do
      nil ->
        if Code.ensure_loaded?(module) and function_exported?(module, :__corral_functions__, 0),
          do: module.__corral_functions__()

      functions ->
        functions
    end
  end

  @doc "Corral's include directory, for builds outside Mix (`-I`)."
  def include_dir, do: Corral.Compiler.include_dir()

  @doc """
  The number of live objects of each resource type of a Corral module, as a
  map from the C type name to the count. Useful in leak tests: run
  `:erlang.garbage_collect/0` in the processes that held terms first. The
  map also counts Corral's own objects of the library: `"corral_job"` (thread
  jobs) and `"corral_yield_state"` (the states of yielding NIFs), which
  leak like any other when a call never finishes.
  For an isolated module (`isolate: true`) the objects are counted in its
  native process, which holds them while handles to them live here.
  """
  def live_resources(module) do
    Map.new(live_counts(module, "live_resources"), fn {type, counts} -> {type, counts.objects} end)
  end

  @doc """
  The memory held by the live objects of each resource type of a Corral
  module, as a map from the C type name to
  `%{objects: n, allocated: bytes, reported: bytes, bytes: total}`:
  `allocated` is what the objects take themselves (Corral's header, the C
  struct, its extra bytes), which every type counts; `reported` is what
  their C code said the wrapped library holds for them
  (`corral_resource_report_memory`, for types declared with
  `CORRAL_RESOURCE_REPORTS_MEMORY`), taken off when an object's destructor
  runs; `bytes` is their sum. Updates from other threads in flight may be
  missing; the counts are exact once they land. Erlang modules:
  `Module:'__corral_live__'()` returns the same map without `bytes`.
  For an isolated module (`isolate: true`) the objects are counted in its
  native process.

  The SQLite example after opening an in-memory database, creating a table
  and inserting two rows (its connection reports SQLite's page cache):

      iex> Corral.resource_memory(Sqlite.Native)["Db"]
      %{allocated: 96, bytes: 13680, objects: 1, reported: 13584}
  """
  def resource_memory(module) do
    Map.new(live_counts(module, "resource_memory"), fn {type, c} -> {type, Map.put(c, :bytes, c.allocated + c.reported)} end)
  end

  defp live_counts(module, function) do
    if is_atom(module) and Code.ensure_loaded?(module) and function_exported?(module, :__corral_live__, 0) do
      module.__corral_live__()
    else
      raise ArgumentError,
            "Corral.#{function}/1: argument 1: expected a module that uses Corral (or Corral.Functions), got: #{inspect(module, limit: 20, printable_limit: 100)}"
    end
  end

  # @doc and @spec from a CORRAL_DOC record; built-ins are hidden.
  defp doc_attributes(nil, name, _arity, _config) do
    if String.starts_with?(Atom.to_string(name), "__corral_"), do: [quote(do: @doc(false))], else: []
  end

  defp doc_attributes({spec, doc}, name, arity, config) do
    doc_attr = if doc == "", do: [], else: [quote(do: @doc(unquote(doc)))]

    spec_attr =
      case spec do
        "" ->
          []

        text ->
          case Code.string_to_quoted(text) do
            {:ok, {:"::", _, [{^name, _, args}, _]} = ast} when length(args) == arity ->
              {ast, _} = resource_types(ast)
              [quote(do: @spec(unquote(ast)))]

            {:ok, _} ->
              Mix.raise(Corral.Messages.message({:bad_spec, {name, arity}, text, "expected #{name}(#{arity} argument types) :: return type", config}))

            {:error, {_, message, token}} ->
              Mix.raise(Corral.Messages.message({:bad_spec, {name, arity}, text, "#{inspect(message)} #{inspect(token)}", config}))
          end
      end

    doc_attr ++ spec_attr
  end

  # resource(Type) in a spec, as typed declarations write the type of a
  # resource parameter (Type is the C type's name): the type of the module
  # that :corral_stubs.resource_type/1 names (tally() for Tally), made by
  # `to` (a local type by default). Returns the spec and the
  # {type, C name} pairs it used.
  @doc false
  def resource_types(ast, to \\ fn type, meta -> {type, meta, []} end) do
    Macro.prewalk(ast, [], fn
      {:resource, meta, [arg]} = node, acc ->
        case resource_c_name(arg) do
          nil ->
            {node, acc}

          c_name ->
            type = c_name |> :corral_stubs.resource_type() |> List.to_atom()
            {to.(type, meta), [{type, c_name} | acc]}
        end

      node, acc ->
        {node, acc}
    end)
  end

  defp resource_c_name({:__aliases__, _, [part]}) when is_atom(part), do: Atom.to_string(part)
  defp resource_c_name({name, _, ctx}) when is_atom(name) and is_atom(ctx), do: Atom.to_string(name)
  defp resource_c_name(_), do: nil

  # One @type per resource type the specs name: a reference to the object.
  defp resource_type_defs(docs) do
    used =
      for {_, {spec, _}} <- docs,
          spec != "",
          {:ok, ast} <- [Code.string_to_quoted(spec)],
          pair <- elem(resource_types(ast), 1),
          uniq: true,
          do: pair

    for {type, c_name} <- Enum.sort(used) do
      doc = "A `#{c_name}` object of the native library (its C type), held through a reference; it lives while a reference to it does."

      quote do
        @typedoc unquote(doc)
        @type unquote({type, [], []}) :: reference()
      end
    end
  end

  # The generated function's arguments: the names a spec gives them
  # (`add(a :: integer(), b :: integer())`, as typed declarations write),
  # so `h` and the docs show them; argN where the spec names none, names one
  # twice, or there is no spec.
  @doc false
  def arg_vars(docs, arity) do
    named =
      with {spec, _} when spec != "" <- docs,
           {:ok, {:"::", _, [{_, _, args}, _]}} when is_list(args) and length(args) == arity <- Code.string_to_quoted(spec) do
        Enum.map(args, fn
          {:"::", _, [{var, _, ctx}, _]} when is_atom(var) and is_atom(ctx) -> var
          _ -> nil
        end)
      else
        _ -> List.duplicate(nil, arity)
      end

    usable = fn v -> v != nil and not String.starts_with?(Atom.to_string(v), "_") and Enum.count(named, &(&1 == v)) == 1 end

    for {v, i} <- Enum.with_index(named, 1) do
      if usable.(v), do: Macro.var(v, __MODULE__), else: Macro.var(:"arg#{i}", __MODULE__)
    end
  end

  # The load data, quoted: a term the module's code can hold.
  defp load_data!(data) do
    if writable?(data) do
      Macro.escape(data)
    else
      raise ArgumentError,
            "use Corral: :load_data must be a term that can be written in code (no pids, references, ports or functions), got: #{inspect(data)}"
    end
  end

  defp writable?(t) when is_pid(t) or is_reference(t) or is_port(t) or is_function(t), do: false
  defp writable?(t) when is_tuple(t), do: t |> Tuple.to_list() |> writable?()
  defp writable?(t) when is_map(t), do: Enum.all?(t, fn {k, v} -> writable?(k) and writable?(v) end)
  defp writable?([h | t]), do: writable?(h) and writable?(t)
  defp writable?(_), do: true

  # `isolate: true | false | [timeout: ms]`: nil, or what the stubs need.
  defp isolate_options!(false), do: nil
  defp isolate_options!(nil), do: nil
  defp isolate_options!(true), do: isolate_options!([])

  defp isolate_options!(opts) when is_list(opts) do
    timeout = Keyword.get(opts, :timeout, :infinity)
    unresponsive = Keyword.get(opts, :unresponsive_after, 10_000)

    case Keyword.keys(opts) -- [:timeout, :unresponsive_after] do
      [] -> :ok
      bad -> raise ArgumentError, "use Corral: unknown :isolate options #{inspect(bad)} (known: :timeout, :unresponsive_after)"
    end

    unless timeout == :infinity or (is_integer(timeout) and timeout >= 0) do
      raise ArgumentError, "use Corral: isolate: [timeout: ...] must be a non-negative integer (ms) or :infinity, got: #{inspect(timeout)}"
    end

    unless unresponsive == :infinity or (is_integer(unresponsive) and unresponsive > 0) do
      raise ArgumentError,
            "use Corral: isolate: [unresponsive_after: ...] must be a positive integer (ms) or :infinity, got: #{inspect(unresponsive)}"
    end

    %{timeout: timeout, unresponsive_after: unresponsive, server: nil, async: []}
  end

  defp isolate_options!(other) do
    raise ArgumentError,
          "use Corral: :isolate must be true, false or [timeout: ms, unresponsive_after: ms], got: #{inspect(other)}"
  end

  # The function the VM binds the NIF of `name` to (see corral__prepare in
  # c_src/corral/call.c); raises Corral.LoadError when the library did not load.
  defp native_stub(name, arity) do
    native = native_name(name)
    args = for i <- 1..arity//1, do: Macro.var(:"_arg#{i}", __MODULE__)

    quote do
      @doc false
      def unquote(native)(unquote_splicing(args)) do
        :erlang.nif_error(Corral.Loader.not_loaded(__MODULE__, unquote(name), unquote(arity)))
      end
    end
  end

  defp native_name(name), do: :"__nif_#{name}"

  # A call of the native function that turns Corral's error reasons into the
  # exceptions they describe (Corral.Error); other errors pass untouched.
  defp caller(name, vars) do
    quote do
      try do
        unquote(native_name(name))(unquote_splicing(vars))
      catch
        :error, {:"$corral_error", _, _} = reason -> Corral.Error.reraise(reason, __STACKTRACE__)
      end
    end
  end

  defp wrapper(name, vars) do
    native = native_name(name)

    quote do
      def unquote(name)(unquote_splicing(vars)) do
        unquote(native)(unquote_splicing(vars))
      catch
        :error, {:"$corral_error", _, _} = reason -> Corral.Error.reraise(reason, __STACKTRACE__)
      end
    end
  end

  @doc false
  defmacro __using__(opts) do
    quote do
      @corral_opts unquote(opts)
      @before_compile Corral
    end
  end

  @doc false
  defmacro __before_compile__(env) do
    opts = Module.get_attribute(env.module, :corral_opts)
    isolate = isolate_options!(Keyword.get(opts, :isolate, false))
    load_data = load_data!(Keyword.get(opts, :load_data))
    info = Corral.Compiler.build!(env.module, opts)
    config = info.config

    if Map.get(info, :binding) == :erlang do
      Mix.raise(Corral.Messages.message({:erlang_binding, config}))
    end
    timeout = Keyword.get(opts, :job_timeout, 5000)

    isolate =
      if isolate do
        Corral.Isolated.Tracker.build!()
        thread = Corral.Compiler.thread_flag()
        async = for {name, arity, flags} <- info.exports, Bitwise.band(flags, thread) != 0, do: {:"#{name}_async", arity}
        %{isolate | server: Corral.Isolated.server_name(env.module), async: async}
      end

    builtins = [{:__corral_live__, 0, 0}, {:__corral_cancel__, 1, 0}, {:__corral_ack__, 2, 0}]

    functions =
      for {name, arity, flags} <- info.exports do
        %{name: name, arity: arity, thread: Bitwise.band(flags, Corral.Compiler.thread_flag()) != 0, docs: Map.get(info.docs, {name, arity})}
      end

    stubs =
      for {name, arity, flags} <- info.exports ++ builtins do
        args = for i <- 1..arity//1, do: Macro.var(:"_arg#{i}", __MODULE__)
        vars = arg_vars(Map.get(info.docs, {name, arity}), arity)
        attrs = doc_attributes(Map.get(info.docs, {name, arity}), name, arity, config)
        thread? = Bitwise.band(flags, Corral.Compiler.thread_flag()) != 0

        builtin? = String.starts_with?(Atom.to_string(name), "__corral_")

        cond do
          builtin? and isolate ->
            # Replaced by the NIF in the native process; forwards from the caller.
            quote do
              unquote_splicing(attrs)
              def unquote(name)(unquote_splicing(vars)) do
                Corral.Isolated.forward(__MODULE__, unquote(isolate.server), unquote(name), [unquote_splicing(vars)], unquote(isolate.timeout))
              end
            end

          builtin? ->
            # Corral's own functions (live counts, cancel) never raise a
            # Corral error reason: bound to the NIF directly.
            quote do
              unquote_splicing(attrs)
              def unquote(name)(unquote_splicing(args)) do
                :erlang.nif_error(Corral.Loader.not_loaded(__MODULE__, unquote(name), unquote(arity)))
              end
            end

          thread? and isolate ->
            # The NIF is __nif_name_async, loaded in the native process only;
            # name waits for the job there, and is forwarded from the caller.
            async = :"#{name}_async"

            quote do
              @doc false
              def unquote(async)(unquote_splicing(args)) do
                Corral.Isolated.forward_async(__MODULE__, unquote(async), unquote(arity))
              end

              unquote(native_stub(async, arity))

              unquote_splicing(attrs)
              def unquote(name)(unquote_splicing(vars)) do
                if Corral.Isolated.peer?() do
                  Corral.Job.await(__MODULE__, unquote(caller(async, vars)), unquote(timeout))
                else
                  Corral.Isolated.forward(__MODULE__, unquote(isolate.server), unquote(name), [unquote_splicing(vars)], unquote(isolate.timeout))
                end
              end
            end

          thread? ->
            # A thread job: the NIF is __nif_name_async; name_async returns
            # the job, name waits for its reply.
            async = :"#{name}_async"

            quote do
              unquote(native_stub(async, arity))

              @doc false
              unquote(wrapper(async, vars))

              unquote_splicing(attrs)
              def unquote(name)(unquote_splicing(vars)) do
                Corral.Job.await(__MODULE__, unquote(async)(unquote_splicing(vars)), unquote(timeout))
              end
            end

          isolate ->
            # The native function is loaded in the native process only, where
            # name calls it; the caller forwards name there.
            quote do
              unquote(native_stub(name, arity))

              unquote_splicing(attrs)
              def unquote(name)(unquote_splicing(vars)) do
                if Corral.Isolated.peer?() do
                  unquote(caller(name, vars))
                else
                  Corral.Isolated.forward(__MODULE__, unquote(isolate.server), unquote(name), [unquote_splicing(vars)], unquote(isolate.timeout))
                end
              end
            end

          true ->
            quote do
              unquote(native_stub(name, arity))

              unquote_splicing(attrs)
              unquote(wrapper(name, vars))
            end
        end
      end

    library = %{exports: functions, job_timeout: timeout, isolated: isolate != nil}
    :persistent_term.put({__MODULE__, :functions, env.module}, library)

    resources = for f <- [config.src | info.inputs], do: quote(do: @external_resource(unquote(f)))
    so_base = Path.join(Path.dirname(info.so), "lib#{config.lib}")
    load_from = Keyword.get(opts, :load_from, {config.otp_app, "priv/native/lib#{config.lib}"})

    # The load info (c_src/corral/call.c): {:corral, abi, {pid, ref}, data};
    # a failed load hook sends its sentence to {pid, ref}.
    load_nif =
      quote do
        path = Corral.Loader.library_path(unquote(Macro.escape(load_from)), unquote(so_base))

        Corral.Loader.load(__MODULE__, path, fn load_path, reply ->
          :erlang.load_nif(String.to_charlist(load_path), {:corral, unquote(Corral.abi()), reply, unquote(load_data)})
        end)
      end

    # An isolated module loads its library only in its native process. (No
    # `if true` for the others: Dialyzer would report its dead branch in
    # every user's module.)
    load_body =
      if isolate do
        quote do
          if Corral.Isolated.peer?(), do: unquote(load_nif), else: Corral.Isolated.loaded(__MODULE__)
        end
      else
        load_nif
      end


    quote do
      unquote_splicing(resources)
      unquote_splicing(resource_type_defs(info.docs))
      unquote_splicing(stubs)

      @doc false
      def __corral_library__, do: unquote(info.so)
      @doc false
      def __corral_package__,
        do: %{lib: unquote(config.lib), version: unquote(config.version), prebuilt: unquote(Macro.escape(config.prebuilt))}

      @doc false
      def __corral_isolated__, do: unquote(Macro.escape(isolate))

      @doc false
      # What `use Corral.Functions` defines its functions from.
      def __corral_functions__, do: unquote(Macro.escape(library))

      @on_load :__corral_load__
      @doc false
      def __corral_load__ do
        unquote(load_body)
      end
    end
  end
end
