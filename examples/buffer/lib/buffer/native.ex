defmodule Buffer.Native do
  @moduledoc """
  The native functions, generated from the export table in
  `c_src/buffer_nif/buffer_nif.c`: `new/1`, `get/2`, `set/3`, `size/1`,
  `to_binary/1`, with the specs and docs given there by `CORRAL_DOC`.
  """
  use Corral, otp_app: :buffer, lib: "buffer_nif"
end
