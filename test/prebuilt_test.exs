defmodule CorralTest.PrebuiltTest do
  # Prebuilt libraries downloaded at a user's build, end to end: an author's
  # `mix corral.precompile` of the Buffer example, its artefacts served over
  # HTTPS by OTP's own web server on 127.0.0.1 (with a CA made here, which
  # the user's build is told to trust through CORRAL_CACERTFILE), and a
  # user's project whose C does not compile, so that only a checked
  # download can satisfy its build.
  use ExUnit.Case, async: true

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain
  @moduletag timeout: 900_000

  alias Corral.Prebuilt

  @tmp Path.expand("../_build/test/corral_prebuilt", __DIR__)

  test "choose: this target and NIF major version, the newest minor version the VM loads" do
    names = [
      "libx-1.0.0-nif-2.15-x86_64-linux-gnu.so",
      "libx-1.0.0-nif-2.16-x86_64-linux-gnu.so",
      "libx-1.0.0-nif-2.17-x86_64-linux-gnu.so",
      "libx-1.0.0-nif-3.0-x86_64-linux-gnu.so",
      "libx-1.0.0-nif-2.16-x86_64-linux-musl.so",
      "libx-1.0.1-nif-2.16-x86_64-linux-gnu.so",
      "libx-1.0.0-nif-2.x-x86_64-linux-gnu.so",
      "libxy-1.0.0-nif-2.16-x86_64-linux-gnu.so"
    ]

    assert Prebuilt.choose(names, "x", "1.0.0", "x86_64-linux-gnu", "2.16") == "libx-1.0.0-nif-2.16-x86_64-linux-gnu.so"
    assert Prebuilt.choose(names, "x", "1.0.0", "x86_64-linux-gnu", "2.18") == "libx-1.0.0-nif-2.17-x86_64-linux-gnu.so"
    assert Prebuilt.choose(names, "x", "1.0.0", "x86_64-linux-gnu", "2.14") == nil
    assert Prebuilt.choose(names, "x", "1.0.0", "x86_64-linux-musl", "2.17") == "libx-1.0.0-nif-2.16-x86_64-linux-musl.so"
    assert Prebuilt.choose(names, "x", "1.0.0", "aarch64-linux-gnu", "2.17") == nil
    assert Prebuilt.choose(names, "x", "1.0.1", "x86_64-linux-gnu", "2.16") == "libx-1.0.1-nif-2.16-x86_64-linux-gnu.so"
    assert Prebuilt.choose(names, "x", "1.0.0", "x86_64-linux-gnu", "3.1") == "libx-1.0.0-nif-3.0-x86_64-linux-gnu.so"
  end

  test "checksums files: read, merged and kept sorted; SHA-256 in lowercase hex" do
    assert Prebuilt.sha256_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    dir = Path.join(@tmp, "sums")
    File.rm_rf!(dir)
    path = Path.join(dir, "checksums.txt")
    assert Prebuilt.read_checksums(path) == %{}
    File.mkdir_p!(dir)
    File.write!(path, "ABCDEF  libb.so\r\n\n0123\tliba.so\n")
    assert Prebuilt.read_checksums(path) == %{"libb.so" => "abcdef", "liba.so" => "0123"}
    Prebuilt.merge_checksums!(path, %{"liba.so" => "99", "libc.so" => "77"})
    assert File.read!(path) == "99  liba.so\nabcdef  libb.so\n77  libc.so\n"
  end

  test "the prebuilt: option: a folder, or an https base URL with a checksums file; anything else is named" do
    assert Prebuilt.option!(nil, "x") == nil
    assert Prebuilt.option!("priv/prebuilt", "x") == {:dir, "priv/prebuilt"}
    assert Prebuilt.option!([base_url: "https://example.com/v1/"], "x") == {:url, "https://example.com/v1", "checksums-x.txt"}
    assert Prebuilt.option!([base_url: "https://e.org", checksums: "sums.txt"], "x") == {:url, "https://e.org", "sums.txt"}

    error = assert_raise ArgumentError, fn -> Prebuilt.option!([base_url: "http://example.com"], "x") end
    assert error.message =~ ~s{prebuilt: [base_url: ...] must be an https:// URL (downloads are checked against certificates and checksums), got: "http://example.com"}
    error = assert_raise ArgumentError, fn -> Prebuilt.option!([base_url: "https://e.org", url: "x"], "x") end
    assert error.message == "use Corral: prebuilt: takes :base_url and :checksums, got: [:url]"
    error = assert_raise ArgumentError, fn -> Prebuilt.option!([base_url: "https://e.org", checksums: :x], "x") end
    assert error.message == "use Corral: prebuilt: [checksums: ...] must be a path, got: :x"
    error = assert_raise ArgumentError, fn -> Prebuilt.option!(42, "x") end
    assert error.message =~ "prebuilt: must be a folder or [base_url:"
  end

  defp https_server!(dir) do
    {pid, port, www, ca} = CorralTest.HttpsServer.start!(dir)
    on_exit(fn -> CorralTest.HttpsServer.stop(pid) end)
    {port, www, ca}
  end

  defp closed_port, do: {:ok, CorralTest.HttpsServer.closed_port()}

  # The Buffer example with Corral as a path dependency, downloading its
  # library from BUFFER_URL.
  defp buffer_project!(dir) do
    CorralTest.ExampleProject.buffer!(dir, fn native ->
      String.replace(native, ~s(lib: "buffer_nif"), ~s{lib: "buffer_nif",
        prebuilt: [base_url: System.fetch_env!("BUFFER_URL"), checksums: "checksums-buffer_nif.txt"]})
    end)
  end

  defp mix(dir, args, env) do
    clean = [{"MIX_ENV", "dev"}, {"MIX_BUILD_PATH", Path.join(dir, "_build")}, {"CC", nil}, {"CROSSCOMPILE", nil},
             {"CFLAGS", nil}, {"LDFLAGS", nil}, {"ERTS_INCLUDE_DIR", nil}, {"CORRAL_FORCE_BUILD", nil}] ++
              for(v <- CorralTest.ConnectProxy.variables(), do: {v, nil})
    System.cmd("mix", args, cd: dir, env: clean ++ env, stderr_to_stdout: true)
  end

  test "precompile: a target that does not build is named with its output; the others are written; the task fails" do
    tmp = Path.join(@tmp, "partial")
    File.rm_rf!(tmp)
    author = buffer_project!(Path.join(tmp, "author"))
    broken = "musl-gcc -include no_such_header.h"
    {out, status} = mix(author, ["corral.precompile", "Buffer.Native", "dist", "--target", broken], [{"BUFFER_URL", "https://localhost/v0.1.0"}])
    assert status != 0, out
    assert out =~ "the build with CC=#{broken} failed, so it is not in dist:"
    assert out =~ "no_such_header.h"
    assert out =~ "mix corral.precompile: 1 of 2 builds made an artefact; failed: #{broken} (their output is above)"
    host_name = "libbuffer_nif-0.1.0-nif-#{Prebuilt.nif_version()}-#{Corral.ObjectFile.host_target()}.so"
    assert File.ls!(Path.join(author, "dist")) |> Enum.sort() == Enum.sort(["checksums.txt", host_name])
    assert Map.keys(Prebuilt.read_checksums(Path.join(author, "checksums-buffer_nif.txt"))) == [host_name]
  end

  test "an author precompiles, a user's build downloads, checks, caches; what fails says why; no artefact builds from source" do
    tmp = Path.join(@tmp, "flow")
    File.rm_rf!(tmp)
    {port, www, ca} = https_server!(Path.join(tmp, "server"))
    url = "https://localhost:#{port}/v0.1.0"
    host = Corral.ObjectFile.host_target()
    nif = Prebuilt.nif_version()

    # The author: the host and two cross targets (one of another word size,
    # one of another C library).
    author = buffer_project!(Path.join(tmp, "author"))
    {out, status} = mix(author, ~w(corral.precompile Buffer.Native dist --target arm-linux-gnueabihf-gcc --target musl-gcc), [{"BUFFER_URL", url}])
    assert status == 0, out
    refute out =~ "downloaded", out
    dist = Path.join(author, "dist")
    artefacts = dist |> Path.join("*.so") |> Path.wildcard() |> Enum.map(&Path.basename/1) |> Enum.sort()
    expected = Enum.sort(for t <- Enum.uniq([host, "arm-linux-gnueabihf", "x86_64-linux-musl"]), do: "libbuffer_nif-0.1.0-nif-#{nif}-#{t}.so")
    assert artefacts == expected

    for name <- artefacts do
      [_, target] = Regex.run(~r/-nif-[\d.]+-(.*)\.so$/, name)
      assert Corral.ObjectFile.target(Path.join(dist, name)) == {:ok, target}
    end

    sums = Prebuilt.read_checksums(Path.join(dist, "checksums.txt"))
    assert Map.keys(sums) |> Enum.sort() == artefacts
    for {name, sum} <- sums, do: assert(Corral.Compiler.sha256(Path.join(dist, name)) == sum)
    assert Prebuilt.read_checksums(Path.join(author, "checksums-buffer_nif.txt")) == sums

    # The release: the artefacts at the base URL.
    File.mkdir_p!(Path.join(www, "v0.1.0"))
    for name <- artefacts, do: File.cp!(Path.join(dist, name), Path.join([www, "v0.1.0", name]))
    host_name = "libbuffer_nif-0.1.0-nif-#{nif}-#{host}.so"

    # The user: the shipped checksums file, and C that does not compile.
    user = buffer_project!(Path.join(tmp, "user"))
    File.cp!(Path.join(author, "checksums-buffer_nif.txt"), Path.join(user, "checksums-buffer_nif.txt"))
    c = Path.join(user, "c_src/buffer_nif/buffer_nif.c")
    good_c = File.read!(c)
    File.write!(c, "#error only a download can build this\n" <> good_c)
    so = Path.join(user, "_build/lib/buffer/priv/native/libbuffer_nif.so")
    cache = Path.join(tmp, "cache")
    env = [{"BUFFER_URL", url}, {"CORRAL_CACHE_DIR", cache}, {"CORRAL_CACERTFILE", ca}]

    {out, status} = mix(user, ["run", "-e", "b = Buffer.Native.new(3); Buffer.Native.set(b, 1, 7); IO.inspect(Buffer.Native.to_binary(b))"], env)
    assert status == 0, out
    assert out =~ "Corral: downloaded #{url}/#{host_name}"
    assert out =~ "<<0, 7, 0>>"
    assert File.read!(so) == File.read!(Path.join(dist, host_name))
    assert File.read!(Path.join(cache, host_name)) == File.read!(so)

    # Offline: the cache serves, nothing is asked of the network.
    {:ok, closed} = closed_port()
    offline = [{"BUFFER_URL", "https://localhost:#{closed}/v0.1.0"}, {"CORRAL_CACHE_DIR", cache}, {"CORRAL_CACERTFILE", ca}]
    File.rm!(so)
    {out, status} = mix(user, ~w(compile --force), offline)
    assert status == 0, out
    refute out =~ "downloaded"
    assert File.read!(so) == File.read!(Path.join(dist, host_name))

    # The server down and nothing cached.
    empty = fn -> dir = Path.join(tmp, "cache-#{System.unique_integer([:positive])}"); {"CORRAL_CACHE_DIR", dir} end
    {out, status} = mix(user, ~w(compile --force), List.keystore(offline, "CORRAL_CACHE_DIR", 0, empty.()))
    assert status != 0
    assert out =~ "Corral could not download the prebuilt library of Buffer.Native from " <>
                    "https://localhost:#{closed}/v0.1.0/#{host_name}: could not connect (connection refused). " <>
                    "CORRAL_FORCE_BUILD=1 builds it from source instead (with a C compiler)"

    # A server whose certificate is not trusted.
    {"CORRAL_CACHE_DIR", fresh} = empty.()
    {out, status} = mix(user, ~w(compile --force), [{"BUFFER_URL", url}, {"CORRAL_CACHE_DIR", fresh}, {"CORRAL_CACERTFILE", nil}])
    assert status != 0
    assert out =~ "#{url}/#{host_name}: the TLS handshake failed (unknown_ca", out
    assert out =~ "CORRAL_CACERTFILE=ca.pem"

    # A tampered artefact is refused and not cached.
    served = Path.join([www, "v0.1.0", host_name])
    File.write!(served, File.read!(served) <> "x")
    {out, status} = mix(user, ~w(compile --force), List.keystore(env, "CORRAL_CACHE_DIR", 0, {"CORRAL_CACHE_DIR", fresh}))
    assert status != 0
    assert out =~ "the prebuilt library #{url}/#{host_name} for Buffer.Native does not match its checksum in " <>
                    "checksums-buffer_nif.txt (expected #{sums[host_name]}, got "
    assert Path.wildcard(Path.join(fresh, "*.so")) == []

    # An artefact the server does not have.
    File.rm!(served)
    {out, status} = mix(user, ~w(compile --force), List.keystore(env, "CORRAL_CACHE_DIR", 0, {"CORRAL_CACHE_DIR", fresh}))
    assert status != 0
    assert out =~ "#{url}/#{host_name}: the server answered 404 "

    # The newest NIF version this VM loads: an older one is used when it is
    # the only one (here the same file under an older name), a newer one
    # (which the VM could not load) never.
    [major, minor] = String.split(nif, ".")
    older = "libbuffer_nif-0.1.0-nif-#{major}.#{String.to_integer(minor) - 1}-#{host}.so"
    newer = "libbuffer_nif-0.1.0-nif-#{major}.#{String.to_integer(minor) + 1}-#{host}.so"
    File.cp!(Path.join(dist, host_name), Path.join([www, "v0.1.0", older]))
    Prebuilt.merge_checksums!(Path.join(user, "checksums-buffer_nif.txt"), %{older => sums[host_name], newer => String.duplicate("0", 64)})
    sums_file = Path.join(user, "checksums-buffer_nif.txt")
    kept = sums_file |> File.read!() |> String.split("\n", trim: true) |> Enum.reject(&String.ends_with?(&1, " " <> host_name))
    File.write!(sums_file, Enum.map(kept, &(&1 <> "\n")))
    {out, status} = mix(user, ["run", "-e", "IO.inspect(Buffer.Native.size(Buffer.Native.new(9)))"], List.keystore(env, "CORRAL_CACHE_DIR", 0, {"CORRAL_CACHE_DIR", fresh}))
    assert status == 0, out
    assert out =~ "Corral: downloaded #{url}/#{older}"
    assert out =~ ~r/^9$/m

    # No artefact for this target: built from source, and said so.
    File.write!(c, good_c)
    File.write!(Path.join(user, "checksums-buffer_nif.txt"), "#{sums[host_name]}  libbuffer_nif-0.1.0-nif-#{nif}-sparc64-solaris.so\n")
    {out, status} = mix(user, ~w(compile --force), env)
    assert status == 0, out
    assert out =~ "Corral: no prebuilt library of Buffer.Native 0.1.0 fits #{host} with NIF version #{nif}; building it from source"
    refute File.read!(so <> ".build") =~ "prebuilt:"

    # CORRAL_FORCE_BUILD=1 builds even when an artefact fits (and here fails, proving it).
    File.write!(c, "#error built from source\n" <> good_c)
    File.cp!(Path.join(author, "checksums-buffer_nif.txt"), Path.join(user, "checksums-buffer_nif.txt"))
    {out, status} = mix(user, ~w(compile --force), [{"CORRAL_FORCE_BUILD", "1"} | env])
    assert status != 0
    assert out =~ "built from source"
    refute out =~ "downloaded"
  end
end
