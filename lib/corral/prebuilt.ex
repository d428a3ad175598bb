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

  @redirects 5
  @connect_timeout 15_000
  @timeout 120_000

  @doc "The file name of an artefact."
  def artefact_name(lib, version, nif, target), do: "lib#{lib}-#{version}-nif-#{nif}-#{target}.so"

  @doc "This VM's NIF version as \"major.minor\"."
  def nif_version, do: List.to_string(:erlang.system_info(:nif_version))

  @doc """
  Of `names`, the artefact of `lib` at `version` for `target` that a VM of
  NIF version `nif` ("2.17") loads, the newest NIF version first; nil if none.
  """
  def choose(names, lib, version, target, nif \\ nif_version()) do
    {major, minor} = parse_nif!(nif)
    prefix = "lib#{lib}-#{version}-nif-"
    suffix = "-#{target}.so"

    names
    |> Enum.flat_map(fn name ->
      with true <- String.starts_with?(name, prefix) and String.ends_with?(name, suffix),
           middle = binary_part(name, byte_size(prefix), byte_size(name) - byte_size(prefix) - byte_size(suffix)),
           {:ok, {^major, m}} when m <= minor <- parse_nif(middle) do
        [{m, name}]
      else
        _ -> []
      end
    end)
    |> Enum.max(fn -> {nil, nil} end)
    |> elem(1)
  end

  defp parse_nif(text) do
    with [a, b] <- String.split(text, "."),
         {major, ""} <- Integer.parse(a),
         {minor, ""} <- Integer.parse(b) do
      {:ok, {major, minor}}
    else
      _ -> :error
    end
  end

  defp parse_nif!(text) do
    {:ok, version} = parse_nif(text)
    version
  end

  @doc "Lowercase hex SHA-256 of a binary."
  def sha256_of(data), do: :crypto.hash(:sha256, data) |> Base.encode16(case: :lower)

  @doc "The checksums file at `path` as %{name => sha256}; %{} if absent."
  def read_checksums(path) do
    case File.read(path) do
      {:ok, text} ->
        for line <- String.split(text, "\n", trim: true),
            [sum, name] <- [String.split(String.trim(line), ~r/\s+/, parts: 2)],
            into: %{},
            do: {name, String.downcase(sum)}

      {:error, _} ->
        %{}
    end
  end

  @doc "Adds (or replaces) `sums` (%{name => sha256}) in the checksums file at `path`, sorted by name."
  def merge_checksums!(path, sums) do
    all = Map.merge(read_checksums(path), sums)
    File.mkdir_p!(Path.dirname(path))
    File.write!(path, Enum.map(Enum.sort(all), fn {name, sum} -> "#{sum}  #{name}\n" end))
  end

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
        Mix.shell().info(Messages.message({:prebuilt_no_checksums, sums_path, config}))
        false

      nil ->
        Mix.shell().info(Messages.message({:prebuilt_none_fits, target, config}))
        false

      name ->
        url = base_url <> "/" <> name
        cached = Path.join(cache_dir(), name)

        data =
          case File.read(cached) do
            {:ok, data} ->
              if sha256_of(data) == sums[name], do: data, else: fetch!(url, name, sums, sums_path, cached, config)

            {:error, _} ->
              fetch!(url, name, sums, sums_path, cached, config)
          end

        put!(config.so, data, "prebuilt:" <> url)
    end
  end

  defp fetch!(url, name, sums, sums_path, cached, config) do
    Mix.shell().info("Corral: downloading #{url}")

    data =
      case download(url) do
        {:ok, data} -> data
        {:error, why} -> Mix.raise(Messages.message({:prebuilt_download, url, why, config}))
      end

    check!(data, sums[name], url, sums_path, config)
    put!(cached, data, nil)
    data
  end

  defp check!(data, expected, where, sums, config) do
    actual = sha256_of(data)

    cond do
      expected == nil -> Mix.raise(Messages.message({:prebuilt_unlisted, where, sums, config}))
      expected != actual -> Mix.raise(Messages.message({:prebuilt_checksum, where, expected, actual, sums, config}))
      true -> :ok
    end
  end

  # Written beside the destination and renamed over it: a reader (the
  # loader, another build sharing the cache) never sees half a file.
  defp put!(path, data, build_note) do
    File.mkdir_p!(Path.dirname(path))
    tmp = path <> ".#{System.unique_integer([:positive])}.tmp"
    File.write!(tmp, data)
    File.rename!(tmp, path)
    if build_note, do: File.write!(path <> ".build", build_note)
    true
  end

  @doc "Where downloaded artefacts are kept: CORRAL_CACHE_DIR, else the user's cache folder."
  def cache_dir do
    case System.get_env("CORRAL_CACHE_DIR", "") do
      "" -> :filename.basedir(:user_cache, "corral") |> List.to_string()
      dir -> dir
    end
  end

  ## Downloading

  @doc """
  GETs an https:// URL with the peer's certificate and host name checked
  against the system's CA certificates (or the PEM file CORRAL_CACERTFILE
  names), following at most #{@redirects} redirects to https:// URLs.
  Returns `{:ok, body}` or `{:error, sentence}`.
  """
  def download(url) do
    with {:ok, _} <- Application.ensure_all_started(:ssl),
         {:ok, _} <- Application.ensure_all_started(:inets) do
      get(url, @redirects)
    else
      {:error, why} -> {:error, "could not start Erlang's HTTP client (#{inspect(why)})"}
    end
  end

  defp get(url, redirects) do
    uri = URI.parse(url)

    cond do
      uri.scheme != "https" or uri.host in [nil, ""] ->
        {:error, "#{url} is not an https:// URL"}

      true ->
        request = {String.to_charlist(url), [{~c"user-agent", ~c"corral"}]}
        http = [ssl: ssl_options(uri.host), connect_timeout: @connect_timeout, timeout: @timeout, autoredirect: false]

        case :httpc.request(:get, request, http, body_format: :binary) do
          {:ok, {{_, 200, _}, _headers, body}} ->
            {:ok, body}

          {:ok, {{_, status, _}, headers, _}} when status in [301, 302, 303, 307, 308] ->
            location = for({k, v} <- headers, String.downcase(List.to_string(k)) == "location", do: List.to_string(v))

            cond do
              redirects == 0 -> {:error, "more than #{@redirects} redirects"}
              location == [] -> {:error, "the server answered #{status} without a location"}
              true -> get(URI.merge(uri, hd(location)) |> URI.to_string(), redirects - 1)
            end

          {:ok, {{_, status, reason}, _, _}} ->
            {:error, "the server answered #{status} #{reason}"}

          {:error, why} ->
            {:error, describe(why)}
        end
    end
  end

  defp ssl_options(host) do
    cacerts =
      case System.get_env("CORRAL_CACERTFILE", "") do
        "" -> [cacerts: system_cacerts()]
        file -> [cacertfile: String.to_charlist(file)]
      end

    cacerts ++
      [
        verify: :verify_peer,
        depth: 10,
        server_name_indication: String.to_charlist(host),
        customize_hostname_check: [match_fun: :public_key.pkix_verify_hostname_match_fun(:https)],
        # A refused certificate is reported in the build's error, once.
        log_level: :warning
      ]
  end

  defp system_cacerts do
    :public_key.cacerts_get()
  rescue
    _ -> []
  end

  defp describe({:failed_connect, details}) do
    case List.keyfind(details, :inet, 0) do
      {:inet, _, {:tls_alert, {kind, text}}} ->
        "the TLS handshake failed (#{kind}: #{text |> List.to_string() |> String.split("\n") |> List.last() |> String.trim()}); " <>
          "a certificate the system does not trust can be named with CORRAL_CACERTFILE=ca.pem"

      {:inet, _, reason} ->
        "could not connect (#{List.to_string(:inet.format_error(reason))})"

      _ ->
        "could not connect (#{inspect(details)})"
    end
  end

  defp describe(:timeout), do: "no answer within #{div(@timeout, 1000)} s"
  defp describe(other), do: inspect(other)
end
