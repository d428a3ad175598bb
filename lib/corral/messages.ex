defmodule Corral.Messages do
  @moduledoc false
  # Every build and load failure Corral reports, one clause each: what
  # happened and how to fix it.

  def message(:no_cc) do
    """
    Corral could not find a C compiler (tried $CC, cc, gcc and clang).

    Install one:
      Debian/Ubuntu: sudo apt-get install build-essential
      Fedora:        sudo dnf install gcc
      macOS:         xcode-select --install
    or point the CC environment variable at your compiler.
    """
  end

  def message({:cc_not_found, var, value, program}) do
    """
    Corral could not find the C compiler #{program}, which #{var}=#{value} names.

    Install it, or point #{var} at a compiler on PATH (or at its full path).
    Corral does not fall back to the host's compiler: that would build the
    library for another machine than the one #{var} is meant for.
    """
  end

  def message(:no_erl_nif_h) do
    """
    Corral could not find erl_nif.h, the header of the Erlang NIF API.

    It comes with the Erlang development files:
      Debian/Ubuntu: sudo apt-get install erlang-dev
      Fedora:        sudo dnf install erlang-erts-devel   (or erlang)
    or set ERTS_INCLUDE_DIR to the folder that holds erl_nif.h.
    """
  end

  def message(:no_pkg_config) do
    """
    Corral needs pkg-config to find the C libraries named in the :libs option.

    Install it:
      Debian/Ubuntu: sudo apt-get install pkg-config
      Fedora:        sudo dnf install pkgconf-pkg-config
      macOS:         brew install pkg-config
    or pass the flags yourself with :cflags and :ldflags.
    """
  end

  def message({:pkg_config_failed, lib, output, config}) do
    "pkg-config does not know the library #{inspect(lib)} (from the :libs option of #{inspect(config.module)}): " <>
      String.trim(output) <>
      "\nInstall its development package (on Debian/Ubuntu: apt-cache search #{lib} | grep -- -dev), " <>
      "or pass the flags with :cflags and :ldflags."
  end

  def message({:no_sources, config}) do
    "Corral found no C sources for #{inspect(config.module)} in #{rel(config.src, config)}: " <>
      "put the library's .c files there, or set the :path or :sources option of use Corral"
  end

  def message({:compile_failed, files, config}) do
    "Corral could not compile #{Enum.join(files, ", ")} for #{inspect(config.module)} " <>
      "(the compiler's messages are above)"
  end

  def message({:link_failed, config}) do
    "Corral could not link #{rel(config.so, config)} for #{inspect(config.module)} " <>
      "(the linker's messages are above; check the :ldflags option)"
  end

  def message({:no_library, config}) do
    "Corral found no library at #{config.so} for #{inspect(config.module)}" <>
      if(config.skip_compilation?, do: " (skip_compilation?: true was given, so it was not built)", else: "")
  end

  def message({:no_module_macro, config}) do
    "#{rel(config.so, config)} has no Corral export table: one C file in #{rel(config.src, config)} " <>
      "must end with CORRAL_MODULE(#{inspect(config.module)}, CORRAL_FN(...), ...)"
  end

  def message({:abi_mismatch, abi, config}) do
    "#{rel(config.so, config)} was built for Corral ABI #{abi}, but this Corral speaks ABI #{Corral.abi()}: " <>
      "rebuild it (delete #{rel(config.build_dir, config)} and compile again)"
  end

  def message({:bad_rows, rows, config}) do
    listed = Enum.map_join(rows, ", ", fn {n, a, _} -> "#{inspect(n)} with arity #{a}" end)

    "the export table of #{inspect(config.module)} has invalid rows (#{listed}): " <>
      "each CORRAL_FN needs a non-empty name and an arity of at most 255"
  end

  def message({:duplicate_rows, rows, config}) do
    listed = Enum.map_join(rows, ", ", fn {n, a} -> "#{n}/#{a}" end)
    "the export table of #{inspect(config.module)} lists #{listed} more than once"
  end

  def message({:doc_without_function, {name, arity}, config}) do
    "CORRAL_DOC(#{inspect(Atom.to_string(name))}, #{arity}, ...) in #{rel(config.src, config)} documents " <>
      "#{name}/#{arity}, which the export table of #{inspect(config.module)} does not list"
  end

  def message({:link_check, {:undefined_symbols, missing, users, libs}, config}) do
    listed =
      Enum.map_join(missing, "; ", fn sym ->
        where = if users[sym] == [], do: "", else: " (used in #{Enum.join(users[sym], ", ")})"
        why = if String.starts_with?(sym, "enif_"), do: ", and this VM's erl_nif has no such function (OTP #{System.otp_release()})", else: ""
        "#{sym}#{where}#{why}"
      end)

    "#{rel(config.so, config)} for #{inspect(config.module)} would not load: it uses symbols that neither the VM " <>
      "nor the libraries it links (#{Enum.join(libs, ", ")}) define: #{listed}. Define them, add their source files, " <>
      "or link their library with libs: or ldflags:"
  end

  def message({:link_check, {:argument_reads, over}, config}) do
    relative = for {row, arity, index, file, line} <- over, do: {row, arity, index, rel(file, config), line}
    "#{inspect(config.module)}: #{:corral_stubs.overreach_text(relative)}"
  end

  def message({:link_check, {:library_not_found, names}, config}) do
    "#{rel(config.so, config)} for #{inspect(config.module)} would not load: it links #{Enum.join(names, ", ")}, " <>
      "which the dynamic loader cannot find (install it, or set the library path)"
  end

  def message({:typed_not_exported, {name, arity}, config}) do
    "#{name}/#{arity} is declared in #{rel(config.src, config)} but the export table of " <>
      "#{inspect(config.module)} does not list it: add CORRAL_EXPORT(#{name}) to CORRAL_MODULE " <>
      "(from another C file of the library, CORRAL_FN(\"#{name}\", #{name}, #{arity}) after CORRAL_NIF_EXTERN(#{name}))"
  end

  def message({:doc_of_without_typed, name, config}) do
    "CORRAL_DOC_OF(#{name}, ...) in #{rel(config.src, config)} documents #{name}, but no NIF of " <>
      "#{inspect(config.module)} is declared with that name by CORRAL_PURE or CORRAL_DEF"
  end

  def message({:spec_of_typed, {name, arity}, spec, typed_spec, config}) do
    "CORRAL_DOC for #{inspect(config.module)}.#{name}/#{arity} gives the spec #{spec}, but #{name} is declared " <>
      "with typed parameters, so its spec comes from the types (#{typed_spec}); document it with " <>
      "CORRAL_DOC_OF(#{name}, \"...\") instead"
  end

  def message({:bad_spec, {name, arity}, spec, error, config}) do
    "CORRAL_DOC for #{inspect(config.module)}.#{name}/#{arity} has a spec that does not parse " <>
      "(#{error}): #{spec}"
  end

  def message({:prebuilt_unlisted, where, sums, config}) do
    "the prebuilt library #{place(where, config)} for #{inspect(config.module)} is not listed in " <>
      "#{rel(sums, config)}; refusing to load an unchecked library"
  end

  def message({:prebuilt_checksum, where, expected, actual, sums, config}) do
    "the prebuilt library #{place(where, config)} for #{inspect(config.module)} does not match its checksum " <>
      "in #{rel(sums, config)} (expected #{expected}, got #{actual}); refusing to load it"
  end

  def message({:prebuilt_no_checksums, sums, config}) do
    "Corral: #{inspect(config.module)} downloads prebuilt libraries, but their checksums file " <>
      "#{rel(sums, config)} is missing, so no download could be checked; building it from source " <>
      "(mix corral.precompile writes that file, and the package must ship it)"
  end

  def message({:prebuilt_none_fits, target, config}) do
    "Corral: no prebuilt library of #{inspect(config.module)} #{config.version} fits #{target} with NIF version " <>
      "#{Corral.Prebuilt.nif_version()}; building it from source"
  end

  def message({:prebuilt_download, url, why, config}) do
    "Corral could not download the prebuilt library of #{inspect(config.module)} from #{url}: #{why}. " <>
      "CORRAL_FORCE_BUILD=1 builds it from source instead (with a C compiler)"
  end

  def message({:erlang_binding, config}) do
    "the C code in #{rel(config.src, config)} declares its module with CORRAL_ERLANG_MODULE, " <>
      "but #{inspect(config.module)} uses Corral from Elixir: write CORRAL_MODULE(#{inspect(config.module)}, ...) instead"
  end

  def message({:module_mismatch, name, config}) do
    shown = String.replace_prefix(name, "Elixir.", "")

    "the C code in #{rel(config.src, config)} declares CORRAL_MODULE(#{shown}, ...) " <>
      "but it is used by #{inspect(config.module)}: the two names must match"
  end

  @doc "Turns the error of :erlang.load_nif/2 into a sentence."
  def load_error(module, path, error, hook \\ nil)

  # The load hook failed and said why (CORRAL_ON_LOAD, corral_load_fail).
  # The file was built for another machine (a cross build, or musl on glibc).
  def load_error(module, path, {:foreign, target, host}, _hook) do
    "#{inspect(module)} could not load its native library #{path}.so: it was built for #{target}, " <>
      "and this VM runs on #{host}. Build it on (or for) #{host}, or use the artefact for #{host}."
  end

  def load_error(module, path, {:static, archive}, _hook) do
    "#{inspect(module)} could not load its native library #{path}.so: it was built as the static archive " <>
      "#{archive} (CORRAL_STATIC=1), which loads only into a VM linked with it; build without CORRAL_STATIC for this VM."
  end

  def load_error(module, path, {:error, {_, _}}, hook) when is_binary(hook) do
    "#{inspect(module)} could not load its native library #{path}.so: its load hook failed: #{hook}"
  end

  def load_error(module, path, {:error, {reason, text}}, nil) do
    text = to_string(text)

    # The sentences per load-callback code are shared with the Erlang
    # modules that corral_stubs generates.
    detail =
      with [_, code] <- Regex.run(~r/\((\d+)\)/, text),
           true <- reason in [:load, :load_failed],
           {_, sentence} <- List.keyfind(:corral_stubs.load_details(), String.to_integer(code), 0) do
        sentence
      else
        _ -> "#{reason}: #{text}"
      end

    "#{inspect(module)} could not load its native library #{path}.so: #{detail}"
  end

  defp rel(path, config), do: Path.relative_to(path, config.root)

  # A file (shown relative to the project) or a URL (as it is: newer
  # Elixirs' Path functions would fold its "//").
  defp place(where, config), do: if(String.contains?(where, "://"), do: where, else: rel(where, config))
end
