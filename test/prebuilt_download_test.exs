defmodule CorralTest.PrebuiltDownloadTest do
  # The download of a prebuilt library in this VM (corral_prebuilt:download/1,
  # which Mix's and rebar3's builds call): straight or through the proxy the
  # environment names, against OTP's web server and a tunnelling proxy, both
  # on 127.0.0.1. Not async: it sets the proxy variables of this VM, which
  # the builds other tests start would inherit.
  use ExUnit.Case, async: false

  @moduletag :toolchain
  @moduletag timeout: 300_000

  alias Corral.Prebuilt
  alias CorralTest.ConnectProxy

  @tmp Path.expand("../_build/test/corral_prebuilt_download", __DIR__)

  setup do
    saved = for v <- ["CORRAL_CACERTFILE" | ConnectProxy.variables()], do: {v, System.get_env(v)}
    for v <- ConnectProxy.variables(), do: System.delete_env(v)

    on_exit(fn ->
      for {v, value} <- saved, do: if(value, do: System.put_env(v, value), else: System.delete_env(v))
    end)

    # A folder (so a CA file) per test: ssl keeps what it read from a file
    # of the same name.
    dir = Path.join(@tmp, Integer.to_string(System.unique_integer([:positive])))
    File.rm_rf!(dir)
    {pid, port, www, ca} = CorralTest.HttpsServer.start!(dir)
    on_exit(fn -> CorralTest.HttpsServer.stop(pid) end)
    File.write!(Path.join(www, "lib.so"), "the bytes")
    System.put_env("CORRAL_CACERTFILE", ca)
    %{url: "https://localhost:#{port}/lib.so", port: port}
  end

  defp proxy!(opts \\ []) do
    {pid, port} = ConnectProxy.start!(opts)
    on_exit(fn -> ConnectProxy.stop(pid) end)
    port
  end

  test "straight: only https URLs; a closed port gives a sentence", %{url: url} do
    assert Prebuilt.download(url) == {:ok, "the bytes"}
    assert Prebuilt.download("http://localhost/x") == {:error, "http://localhost/x is not an https:// URL"}
    closed = CorralTest.HttpsServer.closed_port()
    assert Prebuilt.download("https://localhost:#{closed}/x") == {:error, "could not connect (connection refused)"}
    refute_received {:proxy_request, _, _}
  end

  test "HTTPS_PROXY (or https_proxy) tunnels the download, with its user and password", %{url: url, port: port} do
    proxy = proxy!()
    System.put_env("HTTPS_PROXY", "http://127.0.0.1:#{proxy}")
    assert Prebuilt.download(url) == {:ok, "the bytes"}
    assert_received {:proxy_request, line, headers}
    assert line == "CONNECT localhost:#{port} HTTP/1.1"
    refute List.keymember?(headers, "proxy-authorization", 0)

    System.delete_env("HTTPS_PROXY")
    System.put_env("https_proxy", "http://corral%20user:s3cret@127.0.0.1:#{proxy}")
    assert Prebuilt.download(url) == {:ok, "the bytes"}
    assert_received {:proxy_request, ^line, headers}
    assert {"proxy-authorization", "Basic " <> auth} = List.keyfind(headers, "proxy-authorization", 0)
    assert Base.decode64!(auth) == "corral user:s3cret"
  end

  test "NO_PROXY names hosts reached straight; * turns the proxy off", %{url: url} do
    proxy = proxy!()
    System.put_env("HTTPS_PROXY", "127.0.0.1:#{proxy}")

    for no_proxy <- ["localhost", "example.com, localhost", "*"] do
      System.put_env("NO_PROXY", no_proxy)
      assert Prebuilt.download(url) == {:ok, "the bytes"}, no_proxy
      refute_received {:proxy_request, _, _}, no_proxy
    end

    # A domain covers its subdomains, not a host that merely ends the same way.
    System.put_env("NO_PROXY", ".host")
    assert Prebuilt.download(url) == {:ok, "the bytes"}
    assert_received {:proxy_request, _, _}
  end

  test "a proxy that is down, refuses, or is not a URL gives a sentence naming it", %{url: url} do
    closed = CorralTest.HttpsServer.closed_port()
    System.put_env("HTTPS_PROXY", "http://127.0.0.1:#{closed}")

    assert Prebuilt.download(url) ==
             {:error, "could not connect (connection refused), through the proxy 127.0.0.1:#{closed} that HTTPS_PROXY names"}

    refusing = proxy!(answer: 407)
    System.put_env("HTTPS_PROXY", "http://127.0.0.1:#{refusing}")
    assert Prebuilt.download(url) ==
             {:error, "the proxy answered 407 Refused to the tunnel's request (it wants a user and password: " <>
                        "http://user:password@host:port), through the proxy 127.0.0.1:#{refusing} that HTTPS_PROXY names"}

    for bad <- ["socks5://127.0.0.1:1080", "http://", "https://user:s3cret@proxy.example:3128"] do
      System.put_env("HTTPS_PROXY", bad)
      shown = String.replace(bad, "user:s3cret@", "")
      assert Prebuilt.download(url) ==
               {:error, "HTTPS_PROXY=#{shown} is not an http:// proxy (http://[user:password@]host[:port])"}
    end
  end
end
