defmodule Zlib.Native do
  @moduledoc """
  zlib's compress and uncompress, from the system library (`libs: ["zlib"]`,
  found through pkg-config; on Debian: `apt-get install zlib1g-dev`).
  """
  use Corral, otp_app: :zlib_example, lib: "zlib_nif", libs: ["zlib"]
end
