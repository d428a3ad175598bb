defmodule Bench.Latency.Native do
  @moduledoc false
  # The scheduler-latency benchmark's NIFs (c_src/corral_latency).
  use Corral, otp_app: :corral_bench, lib: "corral_latency", job_timeout: :infinity
end
