defmodule Corral.DocFiguresTest do
  # The benchmark tables quoted by README.md and the guides are copies of
  # what `make bench` recorded in bench/results/ (bench/lib/bench/figures.ex):
  # a figure edited by hand, or a table left behind by a newer run, fails here.
  use ExUnit.Case, async: true

  @root Path.expand("..", __DIR__)
  @block ~r/<!-- bench:([a-z0-9-]+) -->\n(.*?)<!-- \/bench:\1 -->/s

  defp quotes do
    files = [Path.join(@root, "README.md"), Path.join(@root, "bench/README.md") | Path.wildcard(Path.join(@root, "docs/*.md"))]

    for file <- files,
        [_, name, text] <- Regex.scan(@block, File.read!(file)),
        do: {Path.relative_to(file, @root), name, text}
  end

  test "every quoted benchmark table is the one make bench recorded" do
    quoted = quotes()
    # README's front page quotes the call costs; the guides quote the rest.
    assert {"README.md", "calls-summary"} in Enum.map(quoted, fn {file, name, _} -> {file, name} end)

    for {file, name, text} <- quoted do
      path = Path.join(@root, "bench/results/#{name}.md")
      assert File.exists?(path), "#{file} quotes bench:#{name}, but bench/results/#{name}.md does not exist"

      assert text == File.read!(path),
             "#{file}: the bench:#{name} table differs from bench/results/#{name}.md; run `make bench` " <>
               "(or `cd bench && MIX_ENV=prod mix run figures.exs` to copy the recorded tables)"
    end
  end

  test "every recorded table is quoted somewhere" do
    quoted = MapSet.new(quotes(), fn {_, name, _} -> name end)
    recorded = for path <- Path.wildcard(Path.join(@root, "bench/results/*.md")), do: Path.basename(path, ".md")
    assert recorded != []
    assert Enum.reject(recorded, &(&1 in quoted)) == []
  end

  test "a recorded table says which run measured it" do
    for path <- Path.wildcard(Path.join(@root, "bench/results/*.md")) do
      [source | _] = String.split(File.read!(path), "\n")
      assert source =~ ~r/^`make bench` \(bench\/[a-z]+\.exs\), \d{4}-\d\d-\d\d, .+, OTP \d+, .+, commit [0-9a-f]{7}: /,
             "#{path}: #{source}"
    end
  end
end
