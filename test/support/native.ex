defmodule CorralTest.CustomError do
  defexception [:message]
end

defmodule CorralTest.Native do
  @moduledoc false
  use Corral, otp_app: :corral, lib: "corral_test", path: "test/support/c_src/corral_test", job_timeout: 2000
end
