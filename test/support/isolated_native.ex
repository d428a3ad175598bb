defmodule CorralTest.IsolatedNative do
  @moduledoc false
  # The library of isolated mode's tests: it runs in a separate OS process,
  # and some of its functions crash that process on purpose.
  use Corral, otp_app: :corral, lib: "corral_crash", path: "test/support/c_src/corral_crash", cflags: ["-Werror"], isolate: true
end
