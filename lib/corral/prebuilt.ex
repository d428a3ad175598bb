defmodule Corral.Prebuilt do
  @moduledoc false
  # Prebuilt libraries, for users without a C compiler. An artefact is one
  # built library named after what it fits:
  #
  #     lib<lib>-<version>-nif-<major>.<minor>-<target>.so
  #
  # and a checksums file ("<sha256>  <name>" lines) lists the artefacts that
  # may be used. `prebuilt:` takes either a folder holding both (shipped in
  # the package) or `[base_url: ..., checksums: ...]`: the checksums file is
  # shipped and the artefacts are downloaded over HTTPS, checked against it
  # before anything is written where the loader looks, and cached.
  #
  # The NIF version in a name is the one the library was built against. A VM
  # loads a library of its own NIF major version and any minor version up to
  # its own (erl_nif's rule), so the newest such artefact is chosen: one
  # built on the oldest supported OTP serves every newer one.

  alias Corral.Messages


  # The names, the choice, checksums files, the cache and the download are
  # :corral_prebuilt's, shared with the rebar3 plugin; this module reads
  # the option, words the errors, and installs.

  @doc "The file name of an artefact."
  def artefact_name(lib, version, nif, target), do: :corral_prebuilt.artefact_name(lib, version, nif, target)

  @doc "This VM's NIF version as \"major.minor\"."
  def nif_version, do: :corral_prebuilt.nif_version()

  @doc """
  Of `names`, the artefact of `lib` at `version` for `target` that a VM of
  NIF version `nif` ("2.17") loads, the newest NIF version first; nil if none.
  """
  def choose(names, lib, version, target, nif \\ nif_version()) do
    case :corral_prebuilt.choose(names, lib, version, target, nif) do
      :undefined -> nil
      name -> name
    end
  end

  @doc "Lowercase hex SHA-256 of a binary."
  def sha256_of(data), do: :corral_prebuilt.sha256(data)

  @doc "The checksums file at `path` as %{name => sha256}; %{} if absent."
  def read_checksums(path), do: :corral_prebuilt.read_checksums(path)

  @doc "Adds (or replaces) `sums` (%{name => sha256}) in the checksums file at `path`, sorted by name."
  def merge_checksums!(path, sums), do: :ok = :corral_prebuilt.merge_checksums(path, sums)

  @doc """
  Checks the `prebuilt:` option (nil, a folder, or a keyword list) and
  returns its normal form: nil, `{:dir, dir}` or `{:url, base_url, checksums}`.
  """
  def option!(nil, _lib), do: nil
  def option!(dir, _lib) when is_binary(dir), do: {:dir, dir}

  def option!(opts, lib) when is_list(opts) do
    case Keyword.split(opts, [:base_url, :checksums]) do
      {given, []} ->
        url = given[:base_url]

        unless is_binary(url) and String.starts_with?(url, "https://") do
          raise ArgumentError,
                "use Corral: prebuilt: [base_url: ...] must be an https:// URL (downloads are checked against " <>
                  "certificates and checksums), got: #{inspect(url)}"
        end

        checksums = Keyword.get(given, :checksums, "checksums-#{lib}.txt")

        unless is_binary(checksums) do
          raise ArgumentError, "use Corral: prebuilt: [checksums: ...] must be a path, got: #{inspect(checksums)}"
        end

        {:url, String.trim_trailing(url, "/"), checksums}

      {_, other} ->
        raise ArgumentError, "use Corral: prebuilt: takes :base_url and :checksums, got: #{inspect(Keyword.keys(other))}"
    end
  end

  def option!(other, _lib) do
    raise ArgumentError,
          "use Corral: prebuilt: must be a folder or [base_url: \"https://...\", checksums: \"...\"], got: #{inspect(other)}"
  end

  @doc """
  Installs the prebuilt library that fits this machine and VM at
  `config.so` and returns true; returns false when the library is to be
  built from source (no `prebuilt:`, no artefact fits, or
  CORRAL_FORCE_BUILD=1). Raises Mix.Error when an artefact fits but cannot
  be had or does not match its checksum.
  """
  def install!(config) do
    cond do
      config.prebuilt == nil -> false
      System.get_env("CORRAL_FORCE_BUILD") in ["1", "true"] -> false
      true -> install!(config.prebuilt, config)
    end
  end

  defp install!({:dir, dir}, config) do
    dir = Path.expand(dir, config.root)
    names = case File.ls(dir) do
      {:ok, names} -> names
      {:error, _} -> []
    end

    case choose(names, config.lib, config.version, Corral.ObjectFile.host_target()) do
      nil ->
        false

      name ->
        file = Path.join(dir, name)
        sums = Path.join(dir, "checksums.txt")
        data = File.read!(file)
        check!(data, read_checksums(sums)[name], file, sums, config)
        put!(config.so, data, "prebuilt:" <> file)
    end
  end

  defp install!({:url, base_url, checksums}, config) do
    sums_path = Path.expand(checksums, config.root)

    sums = read_checksums(sums_path)
    target = Corral.ObjectFile.host_target()

    # Without the checksums file nothing can be downloaded safely; it is
    # missing in an author's project before the first mix corral.precompile.
    case File.exists?(sums_path) && choose(Map.keys(sums), config.lib, config.version, target) do
      false ->
        Corral.Compiler.info(Messages.message({:prebuilt_no_checksums, sums_path, config}))
        false

      nil ->
        Corral.Compiler.info(Messages.message({:prebuilt_none_fits, target, config}))
        false

      name ->
        url = base_url <> "/" <> name

        ensure_http_client()

        case :corral_prebuilt.fetch(url, name, sums[name]) do
          {:ok, data, how} ->
            if how == :downloaded, do: Corral.Compiler.info("Corral: downloaded #{url}")
            put!(config.so, data, "prebuilt:" <> url)

          {:error, {:download, why}} -> Mix.raise(Messages.message({:prebuilt_download, url, why, config}))
          {:error, {:checksum, actual}} -> Mix.raise(Messages.message({:prebuilt_checksum, url, sums[name], actual, sums_path, config}))
        end
    end
  end

  defp check!(data, expected, where, sums, config) do
    actual = sha256_of(data)

    cond do
      expected == nil -> Mix.raise(Messages.message({:prebuilt_unlisted, where, sums, config}))
      expected != actual -> Mix.raise(Messages.message({:prebuilt_checksum, where, expected, actual, sums, config}))
      true -> :ok
    end
  end

  # Written beside the library and renamed over it: the loader never sees
  # half a file. The build marker names where it came from.
  defp put!(so, data, build_note) do
    File.mkdir_p!(Path.dirname(so))
    tmp = so <> ".#{System.unique_integer([:positive])}.tmp"
    File.write!(tmp, data)
    File.rename!(tmp, so)
    File.write!(so <> ".build", build_note)
    true
  end

  @doc "Where downloaded artefacts are kept: CORRAL_CACHE_DIR, else the user's cache folder."
  def cache_dir, do: :corral_prebuilt.cache_dir() |> IO.chardata_to_string()

  @doc """
  GETs an https:// URL with the peer's certificate and host name checked
  (see :corral_prebuilt.download/1). `{:ok, body}` or `{:error, sentence}`.
  """
  def download(url) do
    ensure_http_client()
    :corral_prebuilt.download(url)
  end

  @doc """
  Puts Erlang's ssl and inets (and what they need) on the code path: Mix
  1.15 and later prune it to the project's own applications while they
  compile and test, which would leave a download without its client. Mix
  does the same for its own downloads. A no-op outside Mix, on older Mix,
  and where the applications are not installed (the download then says so).
  """
  def ensure_http_client do
    if Code.ensure_loaded?(Mix) and function_exported?(Mix, :ensure_application!, 1) do
      for app <- [:ssl, :inets] do
        try do
          apply(Mix, :ensure_application!, [app])
        rescue
          _ -> :ok
        end
      end
    end

    :ok
  end
end
