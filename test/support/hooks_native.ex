defmodule CorralTest.Hooks do
  @moduledoc false
  # The library hooks' test library (test/hooks_test.exs), with load data.
  use Corral,
    otp_app: :corral,
    lib: "corral_hooks",
    path: "test/support/c_src/corral_hooks",
    cflags: ["-Werror"],
    load_data: %{count: 3, name: "hooks ünï"},
    job_timeout: 10_000
end
