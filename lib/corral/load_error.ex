defmodule Corral.LoadError do
  @moduledoc """
  Raised by a function of a Corral module whose native library failed to
  load; the message says why (missing file, wrong architecture, undefined
  symbol, a library built by another Corral version, or the sentence of its
  load hook, `CORRAL_ON_LOAD`, which failed).
  """
  defexception [:message]
end
