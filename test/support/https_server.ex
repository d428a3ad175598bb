defmodule CorralTest.HttpsServer do
  @moduledoc false
  # A TLS web server on 127.0.0.1 (OTP's httpd) for the prebuilt-download
  # tests, with a certificate for localhost signed by a CA made here; the
  # builds under test are told to trust it through CORRAL_CACERTFILE.
  # public_key, inets and httpd are called through apply/3: they are not
  # applications Corral depends on, and the compiler's check would warn.

  @doc """
  Starts a server for the files under `dir`/www; returns `{pid, port, www,
  ca_pem_file}`. Stop it with `stop/1`.
  """
  def start!(dir) do
    Corral.Prebuilt.ensure_http_client()
    {:ok, _} = Application.ensure_all_started(:ssl)
    {:ok, _} = Application.ensure_all_started(:inets)
    san = {:Extension, {2, 5, 29, 17}, false, [{:dNSName, ~c"localhost"}]}
    # RSA: OTP 27's TLS server does not offer pkix_test_data's EC
    # certificates to an OTP 27 client ("unable to supply acceptable cert").
    key = {:rsa, 2048, 17}
    chain = fn peer -> %{root: [key: key], intermediates: [], peer: [key: key] ++ peer} end
    data = apply(:public_key, :pkix_test_data, [%{server_chain: chain.(extensions: [san]), client_chain: chain.([])}])
    www = Path.join(dir, "www")
    File.mkdir_p!(www)
    ca = Path.join(dir, "ca.pem")
    File.write!(ca, apply(:public_key, :pem_encode, [for(der <- data.client_config[:cacerts], do: {:Certificate, der, :not_encrypted})]))
    server = data.server_config

    {:ok, pid} =
      apply(:inets, :start, [
        :httpd,
        [
        port: 0,
        server_name: ~c"localhost",
        server_root: String.to_charlist(dir),
        document_root: String.to_charlist(www),
        bind_address: {127, 0, 0, 1},
        socket_type: {:ssl, [cert: server[:cert], key: server[:key], log_level: :warning]}
        ]
      ])

    {pid, apply(:httpd, :info, [pid])[:port], www, ca}
  end

  def stop(pid), do: apply(:inets, :stop, [:httpd, pid])

  @doc "A port on 127.0.0.1 that nothing listens on (it was just closed)."
  def closed_port do
    {:ok, socket} = :gen_tcp.listen(0, ip: {127, 0, 0, 1})
    {:ok, port} = :inet.port(socket)
    :gen_tcp.close(socket)
    port
  end
end
