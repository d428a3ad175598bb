defmodule CorralTest.ConnectProxy do
  @moduledoc false
  # An HTTP proxy on 127.0.0.1 for the download tests: it answers CONNECT
  # (what an HTTPS client asks a proxy for) by opening a tunnel to the
  # port asked for, on 127.0.0.1 only, and tells the process that started
  # it each request it got: {:proxy_request, request_line, headers}. With
  # `answer: 407` it refuses every request with that status instead. It
  # takes at most `connections` connections (default 20), then stops
  # accepting.

  @doc "Starts the proxy; returns `{pid, port}`. Stop it with `stop/1`."
  def start!(opts \\ []) do
    owner = self()
    answer = Keyword.get(opts, :answer, 200)
    left = Keyword.get(opts, :connections, 20)
    {:ok, listen} = :gen_tcp.listen(0, [:binary, ip: {127, 0, 0, 1}, active: false, reuseaddr: true])
    {:ok, port} = :inet.port(listen)
    pid = spawn(fn -> accept(listen, owner, answer, left) end)
    :ok = :gen_tcp.controlling_process(listen, pid)
    {pid, port}
  end

  def stop(pid), do: Process.exit(pid, :kill)

  @doc "The environment variables that choose a proxy for a download."
  def variables, do: ~w(https_proxy HTTPS_PROXY no_proxy NO_PROXY)

  defp accept(listen, _owner, _answer, 0), do: :gen_tcp.close(listen)

  defp accept(listen, owner, answer, left) do
    {:ok, client} = :gen_tcp.accept(listen)
    handler = spawn(fn -> receive(do: (:go -> serve(client, owner, answer))) end)
    :ok = :gen_tcp.controlling_process(client, handler)
    send(handler, :go)
    accept(listen, owner, answer, left - 1)
  end

  defp serve(client, owner, answer) do
    with {:ok, head} <- read_head(client, "") do
      [line | headers] = String.split(head, "\r\n", trim: true)
      headers = for h <- headers, [k, v] = String.split(h, ":", parts: 2), do: {String.downcase(k), String.trim(v)}
      send(owner, {:proxy_request, line, headers})

      case {answer, String.split(line, " ")} do
        {200, ["CONNECT", target, _]} ->
          [_host, port] = String.split(target, ":")

          case :gen_tcp.connect({127, 0, 0, 1}, String.to_integer(port), [:binary, active: false]) do
            {:ok, server} ->
              :ok = :gen_tcp.send(client, "HTTP/1.1 200 Connection established\r\n\r\n")
              pipe(client, server)

            {:error, _} ->
              :gen_tcp.send(client, "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
          end

        {200, _} ->
          :gen_tcp.send(client, "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")

        {status, _} ->
          :gen_tcp.send(client, "HTTP/1.1 #{status} Refused\r\ncontent-length: 0\r\n\r\n")
      end
    end

    :gen_tcp.close(client)
  end

  defp read_head(socket, acc) do
    case :binary.split(acc, "\r\n\r\n") do
      [head, _] -> {:ok, head}
      [_] when byte_size(acc) > 65_536 -> {:error, :too_long}
      [_] ->
        case :gen_tcp.recv(socket, 0, 10_000) do
          {:ok, data} -> read_head(socket, acc <> data)
          error -> error
        end
    end
  end

  # Both ways until either side closes.
  defp pipe(client, server) do
    :ok = :inet.setopts(client, active: true)
    :ok = :inet.setopts(server, active: true)
    loop(client, server)
  end

  defp loop(client, server) do
    receive do
      {:tcp, ^client, data} -> :gen_tcp.send(server, data) && loop(client, server)
      {:tcp, ^server, data} -> :gen_tcp.send(client, data) && loop(client, server)
      {:tcp_closed, _} -> :gen_tcp.close(client) && :gen_tcp.close(server)
    after
      60_000 -> :ok
    end
  end
end
