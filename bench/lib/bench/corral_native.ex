defmodule Bench.CorralNative do
  @moduledoc """
  The Corral NIF library of the benchmarks (`c_src/corral_bench`): `add/2`.
  The buffer cases use the Buffer example's `Buffer.Native`.
  """
  use Corral, otp_app: :corral_bench, lib: "corral_bench"
end
