# Run by scripts/vm-lock-tools.sh in a lock-counting emulator: four
# processes take one Corral mutex 200,000 times each, then lcnt reports on
# it by the name Corral gave it (module, kind of lock, the file and line of
# the first corral_lock), passed as the script's argument.
[name] = System.argv()
:lcnt.start()
:lcnt.clear()
cell = LockCheck.cell_new()
tasks = for _ <- 1..4, do: Task.async(fn -> for _ <- 1..200, do: LockCheck.bump(cell, 1000) end)
Enum.each(tasks, &Task.await(&1, :infinity))
IO.puts("count: #{LockCheck.bump(cell, 0)}")
:lcnt.collect()
:lcnt.inspect(String.to_atom(name))
