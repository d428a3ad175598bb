defmodule CorralTest.CustomError do
  defexception [:message]
end

defmodule CorralTest.FieldError do
  # An exception with fields beside message: raised from C, they keep their defaults.
  defexception [:message, code: 0, path: nil]
end

defmodule CorralTest.Secret do
  # A struct with a derived Inspect that hides a field: messages must hide it too.
  @derive {Inspect, except: [:password]}
  defstruct [:name, :password]
end

defmodule CorralTest.Native do
  @moduledoc false
  use Corral, otp_app: :corral, lib: "corral_test", path: "test/support/c_src/corral_test", cflags: ["-Werror"], job_timeout: 2000
end
