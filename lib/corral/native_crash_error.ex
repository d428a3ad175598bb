defmodule Corral.NativeCrashError do
  @moduledoc """
  Raised by a function of an isolated module (`use Corral, ..., isolate: true`)
  when the OS process running its native code died during the call: a
  segmentation fault, an `abort()`, an exit from C, the out-of-memory killer.

  The message names the function and what happened:

      CorralTest.Crash.null_deref/0: the native process died during the call (killed by SIGSEGV)

  Fields:

    * `:module`, `:function`, `:arity` - the function that was called;
    * `:status` - the exit status of the native process (`nil` if unknown);
    * `:signal` - the signal that killed it, as an atom (`:SIGSEGV`), or `nil`;
    * `:message` - the text above.

  Every call in flight at that moment raises it, whichever process made it.
  The native process is started again at the next call; handles
  (`Corral.Handle`) from the dead process raise `ArgumentError` when used.
  """
  defexception [:message, :module, :function, :arity, :status, :signal]
end
