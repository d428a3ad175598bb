# Copies bench/results/*.md into the blocks of README.md, docs/*.md and
# bench/README.md that quote them (<!-- bench:NAME --> ... <!-- /bench:NAME -->).
# The last step of `make bench`; see Bench.Figures.
case Bench.Figures.fill() do
  [] -> IO.puts("figures: every quoted table is up to date")
  files -> IO.puts("figures: updated " <> Enum.join(files, ", "))
end
