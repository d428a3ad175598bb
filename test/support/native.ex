defmodule CorralTest.CustomError do
  defexception [:message]
end

defmodule CorralTest.FieldError do
  # An exception with fields beside message: raised from C, they keep their defaults.
  defexception [:message, code: 0, path: nil, extra: nil, kind: nil, size: 0, fatal: false, ratio: 1.0]
end

defmodule CorralTest.ComputedError do
  # No message field: message/1 is computed from the fields.
  defexception [:errno, at: 0.0, origin: :disk]

  @impl true
  def message(e), do: "errno #{e.errno} at #{e.at} (#{e.origin})"
end

defmodule CorralTest.StrictError do
  # An exception/1 that refuses what it is given.
  defexception [:message, :code]

  @impl true
  def exception(fields), do: raise(ArgumentError, "unexpected #{inspect(Keyword.keys(fields))}")
end

defmodule CorralTest.Secret do
  # A struct with a derived Inspect that hides a field: messages must hide it too.
  @derive {Inspect, except: [:password]}
  defstruct [:name, :password]
end

defmodule CorralTest.BadInspect do
  # A struct whose Inspect implementation fails the way `how` says: a
  # message that shows it must still be made, and the error still raised.
  defstruct [:how, :secret]

  defimpl Inspect do
    def inspect(%{how: :raise}, _opts), do: raise("inspect failed")
    def inspect(%{how: :throw}, _opts), do: throw(:inspect_failed)
    def inspect(%{how: :exit}, _opts), do: exit(:inspect_failed)
  end
end

defmodule CorralTest.Native do
  @moduledoc false
  use Corral, otp_app: :corral, lib: "corral_test", path: "test/support/c_src/corral_test", cflags: ["-Werror"], job_timeout: 2000
end
