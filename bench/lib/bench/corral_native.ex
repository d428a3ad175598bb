defmodule Bench.CorralNative do
  @moduledoc """
  The Corral NIF library of the benchmarks (`c_src/corral_bench`): `add/2`.
  The buffer cases use the Buffer example's `Buffer.Native`.
  """
  use Corral, otp_app: :corral_bench, lib: "corral_bench"
end

defmodule Bench.CorralTypedPure do
  @moduledoc "`add/2` declared with CORRAL_PURE (`c_src/corral_typed_pure`)."
  use Corral, otp_app: :corral_bench, lib: "corral_typed_pure"
end

defmodule Bench.CorralTypedDef do
  @moduledoc "`add/2` declared with CORRAL_DEF (`c_src/corral_typed_def`)."
  use Corral, otp_app: :corral_bench, lib: "corral_typed_def"
end
