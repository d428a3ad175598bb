defmodule Bench.RoundTrip.Native do
  @moduledoc "`c_src/corral_roundtrip` loaded in this VM, as any Corral module."
  use Corral,
    otp_app: :corral_bench,
    lib: "corral_roundtrip",
    path: "c_src/corral_roundtrip",
    cflags: [~s(-DROUNDTRIP_MODULE=Bench.RoundTrip.Native)]
end

defmodule Bench.RoundTrip.Isolated do
  @moduledoc "The same C, run in a separate OS process (`isolate: true`)."
  use Corral,
    otp_app: :corral_bench,
    lib: "corral_roundtrip_isolated",
    path: "c_src/corral_roundtrip",
    cflags: [~s(-DROUNDTRIP_MODULE=Bench.RoundTrip.Isolated)],
    isolate: true
end

defmodule Bench.RoundTrip do
  @moduledoc """
  The loops of `isolated.exs`: each makes `n` calls of one function, with
  a literal remote call, so the two modules are called the same way.
  """
  alias Bench.RoundTrip.{Isolated, Native}

  def add_native(0), do: :ok
  def add_native(n), do: (Native.add(n, 1); add_native(n - 1))
  def add_isolated(0), do: :ok
  def add_isolated(n), do: (Isolated.add(n, 1); add_isolated(n - 1))

  def echo_native(0, _bin), do: :ok
  def echo_native(n, bin), do: (Native.echo(bin); echo_native(n - 1, bin))
  def echo_isolated(0, _bin), do: :ok
  def echo_isolated(n, bin), do: (Isolated.echo(bin); echo_isolated(n - 1, bin))

  def cell_native(0, _cell), do: :ok
  def cell_native(n, cell), do: (Native.cell_get(cell); cell_native(n - 1, cell))
  def cell_isolated(0, _cell), do: :ok
  def cell_isolated(n, cell), do: (Isolated.cell_get(cell); cell_isolated(n - 1, cell))

  # The same functions on another node (a `:peer` of this VM), through
  # `:erpc.call/4`: what a user would do instead of `isolate: true`.
  def add_erpc(0, _node), do: :ok
  def add_erpc(n, node), do: (:erpc.call(node, Native, :add, [n, 1]); add_erpc(n - 1, node))
  def echo_erpc(0, _node, _bin), do: :ok
  def echo_erpc(n, node, bin), do: (:erpc.call(node, Native, :echo, [bin]); echo_erpc(n - 1, node, bin))

  @doc "`n` messages to `pid` and its answers: the cost of a message round trip, for reading."
  def ping(0, _pid), do: :ok
  def ping(n, pid), do: (send(pid, {self(), n}); receive(do: (^n -> :ok)); ping(n - 1, pid))

  @doc """
  `total` calls of `call` (a function of one argument) shared by `callers`
  processes at once; returns when all are done.
  """
  def concurrent(call, total, callers) do
    each = max(div(total, callers), 1)
    parent = self()

    pids =
      for c <- 1..callers do
        spawn_link(fn ->
          receive do: (:go -> :ok)
          Enum.each(1..each, fn k -> call.(c * 1_000_000 + k) end)
          send(parent, {:done, self()})
        end)
      end

    Enum.each(pids, &send(&1, :go))
    Enum.each(pids, fn pid -> receive do: ({:done, ^pid} -> :ok) end)
  end
end
