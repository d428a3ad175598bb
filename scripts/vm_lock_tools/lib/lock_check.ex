defmodule LockCheck do
  use Corral, otp_app: :lock_check, lib: "lock_check_nif", vm_locks: true
end
