defmodule Corral.Compiler do
  @moduledoc false
  # Builds a NIF library from C sources: each C file is compiled once into an
  # object (in parallel, one job per scheduler), header dependencies are
  # tracked through the compiler's -MMD files, and the library is linked only
  # when an object changed. The export table is then read from the built
  # library's own sections (Corral.ObjectFile: ELF or Mach-O), never by
  # parsing C.

  alias Corral.Messages

  @corral_root Path.expand("../..", __DIR__)
  @corral_c_src Path.join(@corral_root, "c_src/corral")
  @corral_include Path.join(@corral_root, "include")

  # The define of corral.h that places raises in C (CORRAL_RAISE_LOCATIONS).
  @raise_locations "-DCORRAL_RAISE_LOCATIONS"

  @doc "The row flag of thread jobs (CORRAL__THREAD in corral.h)."
  def thread_flag, do: 0x10000

  @doc "Corral's public include directory."
  def include_dir, do: @corral_include

  @doc "Corral's own C sources, compiled into every NIF library."
  def corral_sources, do: @corral_c_src |> Path.join("*.c") |> Path.wildcard() |> Enum.sort()

  @doc "Corral's own headers (the public one and the private one)."
  def corral_headers,
    do: Enum.sort(Path.wildcard(Path.join(@corral_c_src, "*.h")) ++ Path.wildcard(Path.join(@corral_include, "*.h")))

  @doc """
  Builds the library for `module` according to `opts` (see `Corral`) and
  returns a map with `:config` (the resolved options), `:so` (the built library), `:exports`
  (`[{name, arity, flags}]`), `:erlang_module`, and `:inputs` (every C file and
  header the build read, for `@external_resource`).
  """
  def build!(module, opts) do
    config = config(module, opts)

    cond do
      config.skip_compilation? -> :ok
      Corral.Prebuilt.install!(config) -> :ok
      true -> compile_and_link!(config)
    end

    info = read_library!(config)
    Map.merge(info, %{so: config.so, inputs: inputs(config), config: config})
  end

  @doc false
  # What the generated module is made from: the export table, docs and module
  # record of the library at config.so, checked against config.module. The
  # cross-build test reads Mach-O libraries through this too.
  def read_library!(config) do
    info = read_exports!(config)
    check_module!(config, info)
    info
  end

  @doc false
  # The flags Corral compiles a library's C files with (the test that
  # cross-builds for macOS uses them as they are).
  def compile_flags(config), do: cflags(config, find_erts_include!())

  @doc false
  # The flags Corral links a library with on `os` (`:os.type()`'s second
  # element: :linux, :darwin, :freebsd...).
  def link_flags(config, os), do: ldflags(config, os)

  @doc false
  def config(module, opts) do
    otp_app = Keyword.get(opts, :otp_app) || raise ArgumentError, "use Corral needs the :otp_app option"
    lib = Keyword.get(opts, :lib) || raise ArgumentError, "use Corral needs the :lib option (the library name)"
    root = project_root()
    src = Keyword.get(opts, :path, Path.join("c_src", lib))
    src_abs = Path.expand(src, root)
    mode = Keyword.get(opts, :mode, :release)
    sanitize = sanitizers!(Keyword.get(opts, :sanitize, []))

    unless mode in [:release, :debug] do
      raise ArgumentError, "use Corral: :mode must be :release or :debug, got: #{inspect(mode)}"
    end

    app_path = app_path(otp_app, root)
    # A build with another compiler (CC or CROSSCOMPILE: another target, or
    # musl) keeps its objects apart, named after that compiler.
    static? = static?()
    windows? = windows_target?()
    variant =
      Enum.join([Atom.to_string(mode) | Enum.map(sanitize, &Atom.to_string/1)] ++ compiler_tag() ++ if(static?, do: ["static"], else: []), "-")
    build_dir = Path.join([app_path, "corral", lib, variant])

    sources =
      case Keyword.fetch(opts, :sources) do
        {:ok, list} -> Enum.map(list, &Path.expand(&1, src_abs))
        :error -> src_abs |> Path.join("**/*.c") |> Path.wildcard() |> Enum.sort()
      end

    %{
      module: module,
      otp_app: otp_app,
      lib: lib,
      root: root,
      src: src_abs,
      sources: sources,
      mode: mode,
      sanitize: sanitize,
      cflags: Keyword.get(opts, :cflags, []),
      raise_locations: raise_locations!(Keyword.get(opts, :raise_locations, test_env?())),
      vm_locks: boolean_option!(:vm_locks, Keyword.get(opts, :vm_locks, false)),
      ldflags: Keyword.get(opts, :ldflags, []),
      libs: Keyword.get(opts, :libs, []),
      compile_commands?: Keyword.get(opts, :compile_commands, true),
      build_dir: build_dir,
      # CORRAL_STATIC=1: an archive for a statically linked VM instead
      so: Path.join([app_path, "priv", "native", library_file(lib, static?, windows?)]),
      static?: static?,
      windows?: windows?,
      skip_compilation?: Keyword.get(opts, :skip_compilation?, false),
      prebuilt: Corral.Prebuilt.option!(Keyword.get(opts, :prebuilt), lib),
      version: Keyword.get(opts, :version) || app_version(otp_app)
    }
  end

  defp library_file(lib, true, _), do: "#{lib}.a"
  defp library_file(lib, _, true), do: "lib#{lib}.dll"
  defp library_file(lib, _, _), do: "lib#{lib}.so"

  # A library for Windows (a DLL: another file name, other link flags):
  # on a Windows VM, or when CC or CROSSCOMPILE names a compiler for
  # Windows (mingw-w64: x86_64-w64-mingw32-gcc), which it says itself.
  defp windows_target? do
    case {:os.type(), env("CC"), env("CROSSCOMPILE")} do
      {{:win32, _}, _, _} -> true
      {_, nil, nil} -> false
      _ ->
        {cc, args} = find_cc!()

        case System.cmd(cc, args ++ ["-dumpmachine"], stderr_to_stdout: true) do
          {out, 0} -> out =~ ~r/mingw|windows|cygwin/
          _ -> false
        end
    end
  end

  # Mix may be loaded without running (a plain `elixir` script); then there
  # is no project and the current directory is the root.
  defp mix_project? do
    Code.ensure_loaded?(Mix.Project) and Process.whereis(Mix.ProjectStack) != nil and Mix.Project.get() != nil
  end

  # Sanitizers come from the :sanitize option or, for a whole test run, from
  # CORRAL_SANITIZE=address,undefined.
  defp sanitizers!(list) do
    from_env =
      case System.get_env("CORRAL_SANITIZE", "") do
        "" -> []
        text -> text |> String.split(",", trim: true) |> Enum.map(&String.to_atom(String.trim(&1)))
      end

    all = Enum.uniq(List.wrap(list) ++ from_env)

    case all -- [:address, :undefined] do
      [] -> Enum.sort(all)
      bad -> raise ArgumentError, "use Corral: :sanitize takes :address and :undefined, got: #{inspect(bad)}"
    end
  end

  defp project_root do
    if mix_project?() do
      Path.dirname(Mix.Project.project_file())
    else
      File.cwd!()
    end
  end

  defp app_path(otp_app, root) do
    if mix_project?() and Mix.Project.config()[:app] == otp_app do
      Mix.Project.app_path()
    else
      case :code.lib_dir(otp_app) do
        {:error, _} -> Path.join([root, "_build", "corral", Atom.to_string(otp_app)])
        dir -> List.to_string(dir)
      end
    end
  end

  defp app_version(otp_app) do
    if mix_project?() and Mix.Project.config()[:app] == otp_app,
      do: Mix.Project.config()[:version] || "0.0.0",
      else: "0.0.0"
  end

  ## Prebuilt libraries (Corral.Prebuilt)

  @doc """
  The file name of a prebuilt library for `target` (default: this machine)
  and this VM's NIF version: `lib<lib>-<version>-nif-<major>.<minor>-<target>.so`,
  with the target as `Corral.ObjectFile.target/1` reads it from a library:
  `x86_64-linux-gnu`, `x86_64-linux-musl` (so an Alpine machine never picks
  a glibc build), `aarch64-linux-gnu`, `arm-linux-gnueabihf`, `aarch64-macos`.
  """
  def artefact_name(lib, version, target \\ Corral.ObjectFile.host_target()),
    do: Corral.Prebuilt.artefact_name(lib, version, Corral.Prebuilt.nif_version(), target)

  @doc "Lowercase hex SHA-256 of a file."
  def sha256(path), do: Corral.Prebuilt.sha256_of(File.read!(path))

  defp inputs(config) do
    headers = config.src |> Path.join("**/*.h") |> Path.wildcard()
    Enum.uniq(config.sources ++ headers ++ corral_sources() ++ corral_headers())
  end

  ## Compiling

  defp compile_and_link!(config) do
    {cc, cc_args} = find_cc!()
    erts_include = find_erts_include!()

    if config.sources == [] do
      Mix.raise(Messages.message({:no_sources, config}))
    end

    if String.contains?(config.root, " ") do
      IO.warn("Corral: the project path contains spaces (#{config.root}); C builds often break on such paths")
    end

    File.mkdir_p!(config.build_dir)
    File.mkdir_p!(Path.dirname(config.so))

    {lib_cflags, lib_ldflags} = pkg_config!(config)
    config = %{config | cflags: lib_cflags ++ config.cflags, ldflags: lib_ldflags ++ config.ldflags}
    # The environment's flags come first, Corral's after them: CFLAGS of a
    # cross toolchain (-mcpu, --sysroot, even -fPIE) cannot undo -fPIC or
    # the -O level of the :mode.
    static = if config.static?, do: ["-DSTATIC_ERLANG_NIF_LIBNAME=#{config.lib}"], else: []
    cflags = cc_args ++ env_flags("CFLAGS") ++ env_flags("CPPFLAGS") ++ cflags(config, erts_include) ++ static
    ldflags = cc_args ++ env_flags("LDFLAGS") ++ ldflags(config, if(config.windows?, do: :windows, else: host_os()))
    stamp = Path.join(config.build_dir, "flags")
    stamp_text = Enum.join([cc | cflags] ++ ["--" | ldflags], "\n")
    flags_changed? = File.read(stamp) != {:ok, stamp_text}

    # Corral's runtime does not read the library's folder, so it is built
    # without it, once per compiler, flags and Corral sources, into a cache
    # shared by every library and project (runtime_dir/3).
    # Nor does it read CORRAL_RAISE_LOCATIONS (its own raises are not placed).
    runtime_flags = drop_include(cflags, config.src) -- [@raise_locations]
    runtime = runtime_dir(cc, runtime_flags, erts_include)

    jobs =
      Enum.map(config.sources, &{&1, Path.join(config.build_dir, object_name(&1, config)), cflags, :user}) ++
        Enum.map(corral_sources(), &{&1, Path.join(runtime, Path.basename(&1, ".c") <> ".o"), runtime_flags, :runtime})

    stale =
      Enum.filter(jobs, fn
        {_, obj, _, :runtime} -> not File.exists?(obj)
        {src, obj, _, :user} -> flags_changed? or stale?(src, obj)
      end)

    if config.compile_commands?, do: write_compile_commands(cc, cflags, Enum.map(jobs, &{elem(&1, 0), elem(&1, 1)}), config)

    if Enum.any?(stale, &(elem(&1, 3) == :runtime)) do
      info("Corral: compiling its runtime for #{Path.basename(cc)} (once per compiler, flags and Corral version; kept in #{runtime})")
    end

    results =
      stale
      |> Task.async_stream(fn {src, obj, flags, _} -> compile_one(cc, flags, src, obj, config.root) end,
        max_concurrency: System.schedulers_online(),
        timeout: :infinity
      )
      |> Enum.map(fn {:ok, r} -> r end)

    Enum.each(results, fn {_status, _src, output} -> if output != "", do: IO.write(:stderr, shorten_word_errors(output)) end)

    case Enum.filter(results, fn {status, _, _} -> status != 0 end) do
      [] -> :ok
      failed -> Mix.raise(Messages.message({:compile_failed, Enum.map(failed, &elem(&1, 1)), config}))
    end

    File.write!(stamp, stamp_text)
    objects = Enum.map(jobs, &elem(&1, 1))

    # The library may have been linked from another variant's objects
    # (debug, sanitized): the marker names the build that made it.
    marker = config.so <> ".build"

    if stale != [] or not File.exists?(config.so) or newer_than?(objects, config.so) or
         File.read(marker) != {:ok, config.build_dir} do
      if config.static? do
        archive!(cc, cc_args, objects, config)
      else
        link!(cc, objects, ldflags, config)
        # The symbol check asks the host's dynamic loader (ldd), which knows
        # nothing of another target's libraries; a library for another
        # target is checked where it runs (its load names what is missing).
        if native_target?(config.so), do: check_symbols!(config, objects)
        check_argument_reads!(config)
      end
      File.write!(marker, config.build_dir)
    end
  end

  ## A build that succeeds loads

  # Every symbol the library leaves undefined must come from the VM (the
  # enif_ API: the functions beam.smp exports, and its own libraries) or
  # from a library it links (ldd lists them, and the dependencies of those). Otherwise the build
  # fails here, naming the symbol and the files that use it, instead of
  # every call failing later with "undefined symbol". ELF systems with nm
  # and ldd only (binutils and the C library's tools); elsewhere the load
  # reports it.
  defp check_symbols!(config, objects) do
    with {:unix, os} when os in [:linux, :freebsd] <- :os.type(),
         nm when is_binary(nm) <- System.find_executable("nm"),
         ldd when is_binary(ldd) <- System.find_executable("ldd"),
         beam = Path.join([:code.root_dir(), "erts-#{:erlang.system_info(:version)}", "bin", "beam.smp"]),
         # A beam.smp that is a script in front of the real one (as some
         # debug and emulation setups have it) has no symbols to read.
         {:ok, <<0x7F, "ELF", _::binary>>} <- File.open(beam, [:read, :binary], &IO.binread(&1, 4)),
         {:ok, undefined} <- dynamic_symbols(nm, config.so, :undefined) do
      {libs, unfound} = linked_libraries(ldd, config.so)

      if unfound != [] do
        fail_link_check!(config, {:library_not_found, unfound})
      end

      # The VM's own libraries (libm among them) are in the process too, and
      # resolve a NIF's symbols as well as the ones it links.
      {vm_libs, _} = linked_libraries(ldd, beam)

      provided =
        Enum.uniq([beam | libs ++ vm_libs])
        |> Enum.flat_map(fn lib ->
          case dynamic_symbols(nm, lib, :defined) do
            {:ok, syms} -> syms
            :error -> []
          end
        end)
        |> MapSet.new()

      case Enum.reject(undefined, &MapSet.member?(provided, &1)) do
        [] ->
          :ok

        missing ->
          users = for sym <- missing, into: %{}, do: {sym, users_of(nm, sym, objects, config)}
          fail_link_check!(config, {:undefined_symbols, missing, users, Enum.map(libs, &Path.basename/1)})
      end
    else
      _ -> :ok
    end
  end

  # A body that reads, at a constant index, an argument its export row does
  # not give it (corral.h, "Argument reads the build checks"). Read from the
  # notes in the library, where they can be resolved (ELF).
  defp check_argument_reads!(config) do
    with {:ok, bin} <- File.read(config.so),
         {:ok, [_ | _] = over} <- :corral_object.overreaching_reads(bin) do
      fail_link_check!(config, {:argument_reads, over})
    else
      _ -> :ok
    end
  end

  # The library is removed, so that the next build links (and checks) again.
  defp fail_link_check!(config, what) do
    File.rm(config.so)
    File.rm(config.so <> ".build")
    Mix.raise(Messages.message({:link_check, what, config}))
  end

  # Strong undefined symbols, or every defined one, without version suffixes.
  defp dynamic_symbols(nm, file, kind) do
    flag = if kind == :undefined, do: "--undefined-only", else: "--defined-only"

    case System.cmd(nm, ["-D", flag, file], stderr_to_stdout: true) do
      {out, 0} ->
        syms =
          for line <- String.split(out, "\n", trim: true),
              [type, name] <- [line |> String.split() |> Enum.take(-2)],
              kind == :defined or type == "U",
              do: name |> String.split("@") |> hd()

        {:ok, Enum.uniq(syms)}

      _ ->
        :error
    end
  end

  # The libraries the dynamic loader would map for the library, and the
  # names it could not find.
  defp linked_libraries(ldd, so) do
    {out, _} = System.cmd(ldd, [so], stderr_to_stdout: true)
    lines = String.split(out, "\n", trim: true)

    found =
      for line <- lines,
          path <- [Regex.run(~r{=>\s+(/\S+)}, line, capture: :all_but_first) || Regex.run(~r{^\s*(/\S+)}, line, capture: :all_but_first)],
          path != nil,
          do: hd(path)

    unfound = for line <- lines, line =~ "not found", do: line |> String.split() |> hd()
    {found, unfound}
  end

  defp users_of(nm, sym, objects, config) do
    for obj <- objects,
        {:ok, undefined} <- [object_undefined(nm, obj)],
        sym in undefined,
        do: source_of(obj, config)
  end

  defp object_undefined(nm, obj) do
    case System.cmd(nm, ["--undefined-only", obj], stderr_to_stdout: true) do
      {out, 0} -> {:ok, for(line <- String.split(out, "\n", trim: true), do: line |> String.split() |> List.last())}
      _ -> :error
    end
  end

  defp source_of(obj, config) do
    Enum.find(config.sources ++ corral_sources(), obj, fn src ->
      Path.join(config.build_dir, object_name(src, config)) == obj
    end)
    |> Path.relative_to(config.root)
  end

  # clangd and other C tools look for compile_commands.json in the folders
  # above a source file: written next to the library's sources, it makes
  # them resolve corral.h, erl_nif.h and the flags with no setup.
  defp write_compile_commands(cc, cflags, jobs, config) do
    entries =
      for {src, obj} <- jobs, String.starts_with?(src, config.src <> "/") do
        %{directory: config.root, file: src, output: obj, arguments: [cc, "-c", src, "-o", obj | cflags]}
      end

    path = Path.join(config.src, "compile_commands.json")
    text = json(entries)
    if File.read(path) != {:ok, text}, do: File.write!(path, text)
  end

  # A small JSON writer for the compilation database (no Hex packages).
  defp json(list) when is_list(list), do: "[\n" <> Enum.map_join(list, ",\n", &json/1) <> "\n]\n"

  defp json(map) when is_map(map) do
    fields =
      for {k, v} <- Enum.sort(map) do
        value = if is_list(v), do: "[" <> Enum.map_join(v, ", ", &json_string/1) <> "]", else: json_string(v)
        "  " <> json_string(Atom.to_string(k)) <> ": " <> value
      end

    "{\n" <> Enum.join(fields, ",\n") <> "\n}"
  end

  defp json_string(s) do
    escaped =
      s
      |> String.replace("\\", "\\\\")
      |> String.replace("\"", "\\\"")
      |> String.replace("\n", "\\n")

    "\"" <> escaped <> "\""
  end

  # `libs: ["zlib"]`: flags from pkg-config.
  defp pkg_config!(%{libs: []}), do: {[], []}

  defp pkg_config!(config) do
    pkg = System.find_executable("pkg-config") || Mix.raise(Messages.message(:no_pkg_config))

    Enum.reduce(config.libs, {[], []}, fn lib, {cf, lf} ->
      case {System.cmd(pkg, ["--cflags", lib], stderr_to_stdout: true), System.cmd(pkg, ["--libs", lib], stderr_to_stdout: true)} do
        {{cflags, 0}, {libs, 0}} ->
          {cf ++ String.split(cflags), lf ++ String.split(libs)}

        {{output, _}, _} ->
          Mix.raise(Messages.message({:pkg_config_failed, lib, output, config}))
      end
    end)
  end

  defp object_name(src, config) do
    rel =
      if String.starts_with?(src, config.src <> "/"),
        do: "user/" <> Path.relative_to(src, config.src),
        else: "corral/" <> Path.basename(src)

    String.replace(rel, "/", "__") <> ".o"
  end

  # What gcc 14 and later refuse anyway, refused by every compiler: a call
  # to an undeclared function links and then fails at load (undefined
  # symbol), and a destructor or callback of the wrong type is a crash.
  @hard_errors ["-Werror=implicit-function-declaration", "-Werror=incompatible-pointer-types", "-Werror=int-conversion"]

  # Where in C errors are raised, shown in their stacktraces
  # (CORRAL_RAISE_LOCATIONS, corral.h): in the test environment by default,
  # and always in debug mode (CORRAL_DEBUG implies it).
  defp raise_locations!(value) when is_boolean(value), do: value

  defp raise_locations!(other) do
    raise ArgumentError, "use Corral: :raise_locations must be true or false, got: #{inspect(other)}"
  end

  defp boolean_option!(_name, value) when is_boolean(value), do: value

  defp boolean_option!(name, other) do
    raise ArgumentError, "use Corral: #{inspect(name)} must be true or false, got: #{inspect(other)}"
  end

  defp test_env? do
    Code.ensure_loaded?(Mix) and Mix.env() == :test
  catch
    _, _ -> false
  end

  defp cflags(config, erts_include) do
    mode_flags =
      case config.mode do
        # -O3: GCC vectorizes loops over arguments (a 16 MiB byte sum ran
        # 2.7x faster than at -O2 with gcc 12); see bench/README.md.
        :release -> ["-O3"]
        :debug -> ["-O0", "-g3", "-DCORRAL_DEBUG"]
      end

    ["-std=gnu11", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra"] ++ @hard_errors ++
      mode_flags ++ if(Map.get(config, :raise_locations, false), do: [@raise_locations], else: []) ++
      if(Map.get(config, :vm_locks, false), do: ["-DCORRAL_VM_LOCKS"], else: []) ++ sanitize_flags(config) ++
      ["-I", @corral_include, "-I", erts_include, "-I", config.src] ++ config.cflags
  end

  # macOS: a dynamic library whose undefined symbols (the enif_ API) are
  # looked up when the VM loads it; the two-level namespace is kept, so the
  # library's own symbols never bind to another image's.
  #
  # Windows (mingw-w64): a DLL whose enif_ calls go through the table the VM
  # hands to nif_init (erl_nif.h), so nothing is left undefined; GCC's
  # runtime and the POSIX threads Corral's pool and locks use are linked in,
  # so the DLL needs only what every Windows has (KERNEL32, msvcrt).
  defp ldflags(config, os) do
    kind =
      case os do
        :darwin -> ["-dynamiclib", "-undefined", "dynamic_lookup"]
        :windows -> ["-shared", "-static-libgcc", "-Wl,-Bstatic", "-lpthread", "-Wl,-Bdynamic"]
        _ -> ["-shared"]
      end

    kind ++ sanitize_flags(config) ++ config.ldflags
  end

  defp host_os, do: elem(:os.type(), 1)

  defp sanitize_flags(%{sanitize: []}), do: []

  defp sanitize_flags(%{sanitize: list}) do
    ["-fsanitize=" <> Enum.join(list, ","), "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g"]
  end

  # An object is stale when it is missing, or older than its source or any
  # header listed in its dependency file.
  defp stale?(src, obj) do
    case File.stat(obj, time: :posix) do
      {:error, _} ->
        true

      {:ok, %{mtime: obj_time}} ->
        deps = [src | dependencies(obj <> ".d")]

        Enum.any?(deps, fn dep ->
          case File.stat(dep, time: :posix) do
            # Same second counts as newer: mtimes have one-second resolution here,
            # and an edit made in the second of the build must not be missed.
            {:ok, %{mtime: t}} -> t >= obj_time
            {:error, _} -> true
          end
        end)
    end
  end

  defp dependencies(dfile) do
    case File.read(dfile) do
      {:ok, text} ->
        text
        |> String.replace("\\\n", " ")
        |> String.split("\n", trim: true)
        |> Enum.flat_map(fn line ->
          case String.split(line, ":", parts: 2) do
            [_target, deps] -> String.split(deps)
            _ -> []
          end
        end)

      {:error, _} ->
        []
    end
  end

  defp newer_than?(files, target) do
    {:ok, %{mtime: t}} = File.stat(target, time: :posix)
    Enum.any?(files, fn f -> File.stat!(f, time: :posix).mtime > t end)
  end

  defp compile_one(cc, cflags, src, obj, root) do
    # Paths relative to the project keep compiler messages clickable. The
    # object is written beside its place and renamed into it: the runtime
    # cache is shared by builds that may run at once.
    rel = Path.relative_to(src, root)
    File.mkdir_p!(Path.dirname(obj))
    tmp = obj <> ".#{System.unique_integer([:positive])}.tmp"
    args = ["-c", rel, "-o", tmp, "-MMD", "-MF", obj <> ".d", "-MT", obj] ++ cflags
    {output, status} = System.cmd(cc, args, cd: root, stderr_to_stdout: true)
    if status == 0, do: File.rename!(tmp, obj), else: File.rm(tmp)
    {status, rel, output}
  end

  @doc false
  # A line of progress: through Mix's shell when Mix runs, else on stderr
  # (a plain `elixir` script that defines a Corral module).
  def info(text) do
    if Code.ensure_loaded?(Mix.State) and :ets.whereis(Mix.State) != :undefined,
      do: Mix.shell().info(text),
      else: IO.puts(:stderr, text)
  end

  defp drop_include([], _dir), do: []
  defp drop_include(["-I", dir | rest], dir), do: rest
  defp drop_include([flag | rest], dir), do: [flag | drop_include(rest, dir)]

  # The folder of Corral's runtime objects for this compiler and these
  # flags: named by a hash of the compiler (its path, size and time, so an
  # upgrade counts), the flags, the Erlang headers and Corral's own C and
  # headers; under CORRAL_CACHE_DIR or the user's cache folder. A first
  # build compiles the runtime there once; every later library and project
  # with the same compiler and flags links the same objects.
  defp runtime_dir(cc, flags, erts_include) do
    stat = fn path ->
      case File.stat(path, time: :posix) do
        {:ok, %{size: size, mtime: mtime}} -> "#{path} #{size} #{mtime}"
        _ -> path
      end
    end

    headers = Enum.map(~w(erl_nif.h erl_nif_api_funcs.h erl_drv_nif.h erl_int_sizes_config.h), &Path.join(erts_include, &1))
    files = corral_sources() ++ corral_headers()

    key =
      :crypto.hash(:sha256, [stat.(cc), "\0", Enum.intersperse(flags, "\0"), "\0" | Enum.map(headers, &stat.(&1))] ++ Enum.map(files, &File.read!/1))
      |> Base.encode16(case: :lower)
      |> binary_part(0, 24)

    Path.join([Corral.Prebuilt.cache_dir(), "runtime", key])
  end

  # A type word the typed declarations do not know fails its static
  # assertion first, then makes hundreds of lines of errors in the code
  # generated from it: show one line per unknown word, at the user's own
  # line, and leave the rest out.
  @doc false
  def shorten_word_errors(output) do
    lines = String.split(output, "\n")

    found =
      lines
      |> Enum.with_index()
      |> Enum.flat_map(fn {line, k} ->
        case Regex.run(~r/static assertion failed[^"]*"(unknown type word [^"]*)"/, line) do
          [_, text] -> [{user_location(line, Enum.drop(lines, k + 1)), text}]
          nil -> []
        end
      end)
      |> Enum.uniq()

    case found do
      [] ->
        output

      _ ->
        Enum.map_join(found, "", fn {where, text} -> "#{where}: error: #{text}\n" end) <>
          "(#{length(lines)} lines of compiler errors that follow from the unknown word are left out)\n"
    end
  end

  # The first position outside Corral's header: the error line itself
  # (clang reports it at the use) or the note of the macro's expansion.
  defp user_location(line, rest) do
    [line | rest]
    |> Enum.find_value("?", fn l ->
      case Regex.run(~r/^(.+?):(\d+):\d+: /, l) do
        [_, file, n] -> if Path.basename(file) != "corral.h", do: "#{file}:#{n}"
        nil -> nil
      end
    end)
  end

  defp link!(cc, objects, ldflags, config) do
    # Link to a fresh file and rename it into place: the VM may have the old
    # library mapped, and writing into a mapped file crashes it.
    tmp = config.so <> ".#{System.unique_integer([:positive])}.tmp"
    args = objects ++ ["-o", tmp] ++ ldflags
    {output, status} = System.cmd(cc, args, cd: config.root, stderr_to_stdout: true)
    if output != "", do: IO.write(:stderr, output)

    if status != 0 do
      File.rm(tmp)
      Mix.raise(Messages.message({:link_failed, config}))
    end

    File.rename!(tmp, config.so)
  end

  # The C compiler and the arguments that come with it: CC, a command that
  # may carry flags ("ccache gcc", "gcc -m32"); else the cross toolchain's
  # gcc that CROSSCOMPILE names (Nerves sets it to the prefix of its tools);
  # else cc, gcc or clang from PATH. A CC or CROSSCOMPILE naming no program
  # fails the build: the host's compiler would build for the wrong machine.
  defp find_cc! do
    case {env("CC"), env("CROSSCOMPILE")} do
      {nil, nil} ->
        cc = Enum.find_value(["cc", "gcc", "clang"], &System.find_executable/1) || Mix.raise(Messages.message(:no_cc))
        {cc, []}

      {nil, prefix} ->
        {find_named_cc!("CROSSCOMPILE", prefix, prefix <> "-gcc"), []}

      {cc, _} ->
        [program | args] = OptionParser.split(cc)
        {find_named_cc!("CC", cc, program), args}
    end
  end

  defp static?, do: env("CORRAL_STATIC") in ["1", "true"]

  # CORRAL_STATIC=1: the objects become one relocatable object (`cc -r`) in
  # which every symbol but <lib>_nif_init is made local (objcopy
  # --localize-hidden: Corral compiles with hidden visibility), so that the
  # Corral runtimes of several libraries linked into one VM do not clash;
  # then an archive <lib>.a holding it, for the VM's link
  # (--enable-static-nifs) or an app's own (iOS, Android).
  defp archive!(cc, cc_args, objects, config) do
    one = Path.join(config.build_dir, "#{config.lib}.o")
    run_tool!(cc, cc_args ++ ["-r", "-nostdlib", "-o", one] ++ objects, config)
    run_tool!(find_tool!("OBJCOPY", cc, ["objcopy", "llvm-objcopy"]), ["--localize-hidden", one], config)
    tmp = config.so <> ".#{System.unique_integer([:positive])}.tmp"
    run_tool!(find_tool!("AR", cc, ["ar", "llvm-ar"]), ["rcs", tmp, one], config)
    File.rename!(tmp, config.so)
  end

  # AR or OBJCOPY; else the tool beside the compiler with its prefix
  # (aarch64-linux-gnu-gcc -> aarch64-linux-gnu-objcopy); else the host's.
  defp find_tool!(var, cc, names) do
    tool = hd(names)
    base = Path.basename(cc)

    sibling =
      case Regex.run(~r/^(.*-)(gcc|cc|clang)(-[0-9.]+)?$/, base) do
        [_, prefix | _] -> Path.join(Path.dirname(cc), prefix <> tool)
        _ -> nil
      end

    candidates = Enum.reject([env(var), sibling | names], &is_nil/1)
    Enum.find_value(candidates, &System.find_executable/1) || Mix.raise("Corral could not find #{Enum.join(candidates, ", ")} (#{var}) to make a static library")
  end

  defp run_tool!(tool, args, config) do
    {output, status} = System.cmd(tool, args, cd: config.root, stderr_to_stdout: true)
    if output != "", do: IO.write(:stderr, output)
    if status != 0, do: Mix.raise("Corral: #{Path.basename(tool)} #{Enum.join(args, " ")} failed for #{inspect(config.module)} (its messages are above)")
  end

  defp find_named_cc!(var, value, program) do
    System.find_executable(program) || Mix.raise(Messages.message({:cc_not_found, var, value, program}))
  end

  # Compiler tag of the build folder: the program CC or CROSSCOMPILE names.
  defp compiler_tag do
    case {env("CC"), env("CROSSCOMPILE")} do
      {nil, nil} -> []
      {nil, prefix} -> [Path.basename(prefix) <> "-gcc"]
      {cc, _} -> [cc |> OptionParser.split() |> Enum.map_join("_", &Path.basename/1) |> String.replace(~r/[^A-Za-z0-9_.+-]/, "_")]
    end
  end

  defp env(var) do
    case System.get_env(var) do
      nil -> nil
      value -> if String.trim(value) == "", do: nil, else: value
    end
  end

  defp env_flags(var), do: if(value = env(var), do: OptionParser.split(value), else: [])

  @doc false
  # Whether the library at `so` was built for the machine running this VM
  # (architecture and C library), read from the file.
  def native_target?(so), do: Corral.ObjectFile.target(so) == {:ok, Corral.ObjectFile.host_target()}

  @doc false
  def find_erts_include! do
    candidates = [
      System.get_env("ERTS_INCLUDE_DIR"),
      Path.join([:code.root_dir(), "erts-#{:erlang.system_info(:version)}", "include"]),
      Path.join([:code.root_dir(), "usr", "include"])
    ]

    Enum.find(Enum.reject(candidates, &is_nil/1), fn dir -> File.exists?(Path.join(dir, "erl_nif.h")) end) ||
      Mix.raise(Messages.message(:no_erl_nif_h))
  end

  @doc false
  # The headers of an Erlang built for `cc`'s target, written to `dir`:
  # erl_nif.h and its companions are the same on every machine but
  # erl_int_sizes_config.h, which Erlang's configure writes from the
  # target's type sizes; here they come from the compiler's own predefined
  # macros. For cross builds to a target of another word size.
  def target_erts_include!(cc, dir) do
    case :corral_prebuilt.target_include(String.to_charlist(cc), String.to_charlist(find_erts_include!()), String.to_charlist(dir)) do
      {:ok, _} -> dir
      {:error, why} -> Mix.raise(why)
    end
  end

  ## Reading the export table


  defp read_exports!(config) do
    unless File.exists?(config.so) do
      Mix.raise(Messages.message({:no_library, config}))
    end

    case Corral.ObjectFile.sections(config.so, ["corral_module", "corral_exports", "corral_docs"]) do
      {:ok, %{"corral_module" => mod} = sections} ->
        info = parse_exports!(mod, Map.get(sections, "corral_exports", ""), config)
        Map.put(info, :docs, parse_docs!(Map.get(sections, "corral_docs", ""), info.exports, config))

      {:ok, _} ->
        Mix.raise(Messages.message({:no_module_macro, config}))

      {:error, reason} ->
        Mix.raise("Corral could not read #{config.so}: #{reason}")
    end
  end

  defp parse_exports!(<<"CORRAL", binding, 0, abi::unsigned-little-32, count::unsigned-little-32, name::binary-256, _::binary>>, rows, config) do
    if abi != Corral.abi() do
      Mix.raise(Messages.message({:abi_mismatch, abi, config}))
    end

    size = if count == 0, do: 0, else: div(byte_size(rows), count)

    exports =
      for k <- 0..(count - 1)//1 do
        <<fname::binary-256, arity::unsigned-little-32, flags::unsigned-little-32, _::binary>> =
          binary_part(rows, k * size, size)

        {cstring(fname), arity, flags}
      end

    bad = Enum.filter(exports, fn {n, a, _} -> n == "" or a > 255 end)
    if bad != [], do: Mix.raise(Messages.message({:bad_rows, bad, config}))

    dups = exports |> Enum.frequencies_by(fn {n, a, _} -> {n, a} end) |> Enum.filter(fn {_, k} -> k > 1 end)
    if dups != [], do: Mix.raise(Messages.message({:duplicate_rows, Enum.map(dups, &elem(&1, 0)), config}))

    %{
      erlang_module: cstring(name),
      # CORRAL_MODULE binds each NIF to __nif_<name>, wrapped by the
      # generated function; CORRAL_ERLANG_MODULE binds it to <name>.
      binding: if(binding == ?X, do: :elixir, else: :erlang),
      exports: Enum.map(exports, fn {n, a, f} -> {String.to_atom(n), a, f} end)
    }
  end

  defp parse_exports!(_mod, _rows, config), do: Mix.raise(Messages.message({:no_module_macro, config}))

  # CORRAL_DOC records: 2304 bytes each, 32-aligned; scanned by their magic
  # so padding between records cannot confuse the reader. The reserved word
  # says who wrote the record: 0 CORRAL_DOC (spec and doc by hand), 1 a typed
  # declaration (CORRAL_PURE/CORRAL_DEF: the spec made from the types),
  # 2 CORRAL_DOC_OF (the doc of a typed NIF, found by name), 3 CORRAL_ALIAS
  # (a second name of a typed NIF, whose spec and doc it takes, renamed).
  defp parse_docs!(bin, exports, config) do
    # A typed structure parameter's type is the shape's, from its CORRAL_STRUCT text.
    shapes = :corral_stubs.shapes(bin)

    records =
      for {kind, key, spec, doc} <- doc_records(bin, []) do
        spec = if kind == 1, do: :corral_stubs.expand_shapes(spec, shapes, :elixir), else: spec
        {kind, key, spec, doc}
      end

    typed = for {1, key, spec, _doc} <- records, into: %{}, do: {key, spec}

    Enum.reduce(records, %{}, fn
      {1, key, spec, _}, acc ->
        check_listed!(key, exports, config, :typed)
        Map.update(acc, key, {spec, ""}, fn {_, doc} -> {spec, doc} end)

      {2, {name, _}, _, doc}, acc ->
        case for({{^name, arity}, _} <- typed, do: arity) do
          [arity] -> Map.update(acc, {name, arity}, {Map.fetch!(typed, {name, arity}), doc}, fn {spec, _} -> {spec, doc} end)
          [] -> Mix.raise(Messages.message({:doc_of_without_typed, name, config}))
        end

      {0, key, spec, doc}, acc ->
        check_listed!(key, exports, config, :doc)

        if spec != "" and Map.has_key?(typed, key) do
          Mix.raise(Messages.message({:spec_of_typed, key, spec, Map.fetch!(typed, key), config}))
        end

        Map.update(acc, key, {spec, doc}, fn {typed_spec, _} -> {typed_spec, doc} end)

      {3, _, _, _}, acc ->
        acc
    end)
    |> add_aliases(records, exports, config)
  end

  # An alias takes its typed NIF's spec (renamed) and doc; the records of
  # the typed NIF are all in by now.
  defp add_aliases(docs, records, exports, config) do
    Enum.reduce(records, docs, fn
      {3, {alias, arity} = key, original, _}, acc ->
        check_listed!(key, exports, config, :typed)
        {spec, doc} = Map.fetch!(acc, {String.to_atom(original), arity})
        Map.put(acc, key, {:corral_stubs.rename_spec(spec, original, Atom.to_string(alias)), doc})

      _, acc ->
        acc
    end)
  end

  defp doc_records(<<"CORRDOC\0", arity::unsigned-little-32, kind::unsigned-little-32, name::binary-240,
                     spec::binary-512, doc::binary-1536, rest::binary>>, acc) do
    record = {kind, {String.to_atom(cstring(name)), arity}, cstring(spec), cstring(doc)}
    doc_records(rest, [record | acc])
  end

  defp doc_records(<<_::binary-32, rest::binary>>, acc), do: doc_records(rest, acc)
  defp doc_records(_, acc), do: Enum.reverse(acc)

  defp check_listed!(key, exports, config, kind) do
    unless Enum.any?(exports, fn {n, a, _} -> {n, a} == key end) do
      what = if kind == :typed, do: :typed_not_exported, else: :doc_without_function
      Mix.raise(Messages.message({what, key, config}))
    end
  end

  defp cstring(bin), do: bin |> :binary.split(<<0>>) |> hd()

  defp check_module!(config, %{erlang_module: name}) do
    if name != Atom.to_string(config.module) do
      Mix.raise(Messages.message({:module_mismatch, name, config}))
    end
  end
end
