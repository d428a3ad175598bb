defmodule Corral.Loader do
  @moduledoc false
  # Loading a module's native library, and what its functions do when that failed.

  @doc "The path (without .so) to load: from the app's priv dir, else where it was built."
  def library_path({app, rel}, built) do
    case :code.priv_dir(app) do
      {:error, _} ->
        built

      priv ->
        path = Path.join(Path.dirname(List.to_string(priv)), rel)
        if file(path), do: path, else: built
    end
  end

  # The library file of a path without extension: a Unix .so or a Windows
  # .dll (erlang:load_nif adds the one of the system it runs on; a DLL on
  # another system is a cross build, read here to say so).
  defp file(path), do: Enum.find([path <> ".so", path <> ".dll"], &File.exists?/1)

  @doc """
  Loads through `load_fun` (which calls :erlang.load_nif/2 from the module
  itself, with the given `{pid, ref}` in its load info: a failed load hook
  sends its reason there). A module loaded again in the same VM (recompiled in IEx, a hot
  upgrade) loads a private copy of the file: the dynamic loader hands back the
  library already mapped for a path it has seen, so a rebuilt library at the
  same path would never be used.
  """
  def load(module, path, load_fun) do
    key = {__MODULE__, module}
    reload? = :persistent_term.get(key, nil) != nil

    file = file(path)

    {load_path, copy} =
      if reload? and file do
        copy = "#{path}.reload-#{System.unique_integer([:positive])}"
        ext = Path.extname(file)
        File.cp!(file, copy <> ext)
        {copy, copy <> ext}
      else
        {path, nil}
      end

    ref = make_ref()

    # A library built for another machine is never handed to the dynamic
    # loader: a cross build's module is loaded by the compiler on the host.
    result =
      case file && foreign(file) do
        x when x in [nil, false] -> load_fun.(load_path, {self(), ref})
        foreign -> foreign
      end

    hook =
      receive do
        {:"$corral_load_failed", ^ref, reason} -> hook_text(reason)
      after
        0 -> nil
      end

    # The mapping stays valid once loaded; the copy's name is not needed.
    if copy, do: File.rm(copy)

    case result do
      :ok ->
        :persistent_term.put(key, path)
        :persistent_term.erase({__MODULE__, :error, module})
        :ok

      error ->
        # A static build (CORRAL_STATIC=1) loads only into a VM linked with
        # its archive; say so rather than the missing .so.
        error = if static_build?(path), do: {:static, Path.join(Path.dirname(path), static_name(path))}, else: error
        message = Corral.Messages.load_error(module, path, error, hook)
        :persistent_term.put({__MODULE__, :error, module}, message)
        # Expected in the build tool of a cross build; each call says it.
        unless (match?({:foreign, _, _}, error) or match?({:static, _}, error)) and build_tool?(), do: IO.warn(message, [])
        # The module stays loaded so that each call raises Corral.LoadError
        # with this reason, rather than UndefinedFunctionError.
        :ok
    end
  end

  defp foreign(file) do
    host = Corral.ObjectFile.host_target()

    case Corral.ObjectFile.target(file) do
      {:ok, ^host} -> nil
      {:ok, target} -> {:foreign, target, host}
      # Unreadable or missing: the dynamic loader says why.
      {:error, _} -> nil
    end
  end

  defp static_name(path), do: String.replace_prefix(Path.basename(path), "lib", "") <> ".a"

  defp static_build?(path) do
    file(path) == nil and File.exists?(Path.join(Path.dirname(path), static_name(path)))
  end

  # Mix loads the modules it compiles, and asks them whether to compile
  # again: a cross build's library is expected not to load there.
  defp build_tool? do
    Code.ensure_loaded?(Mix.ProjectStack) and Process.whereis(Mix.ProjectStack) != nil
  end

  # What a failed load hook said: its corral_load_fail text, or what a raise
  # in it would have raised from a function.
  defp hook_text(text) when is_binary(text), do: text

  defp hook_text({:"$corral_error", _, _} = reason) do
    case Corral.Error.exception(reason) do
      %{__exception__: true} = e -> Exception.message(e)
      other -> inspect(other)
    end
  end

  defp hook_text(other), do: inspect(other)

  @doc "The exception a function raises when the library is not loaded."
  def not_loaded(module, name, arity) do
    reason =
      :persistent_term.get({__MODULE__, :error, module}, "the native library of #{inspect(module)} is not loaded")

    %Corral.LoadError{message: "#{inspect(module)}.#{name}/#{arity}: #{reason}"}
  end
end
