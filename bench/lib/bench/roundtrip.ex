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
end
