# Run by scripts/vm-lock-tools.sh in a debug emulator, whose lock checker
# must stop the VM at the second call: it takes two locks in the order
# opposite to the first's.
cell = LockCheck.cell_new()
IO.puts("mine then other: #{inspect(LockCheck.mine_then_other(cell))}")
IO.puts("other then mine: #{inspect(LockCheck.other_then_mine(cell))}")
IO.puts("the VM was not stopped")
