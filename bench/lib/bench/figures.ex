defmodule Bench.Figures do
  @moduledoc """
  The tables that README.md and the guides quote, written by the benchmark
  that measured them, so that a figure in the docs cannot drift from what
  `make bench` printed.

  `write/5` puts a Markdown table in `bench/results/NAME.md`, under a line
  saying which script, when, on what and at which commit. It writes only
  when `BENCH_RECORD=1` (set by `make bench`): a run with `BENCH_SCALE` or
  `BENCH_ROUNDS` for an experiment leaves the recorded figures alone.
  `fill/0` (`bench/figures.exs`, the last step of `make bench`) copies each
  results file into every block of README.md, docs/*.md and
  bench/README.md marked

      <!-- bench:NAME -->
      ...
      <!-- /bench:NAME -->

  and Corral's test suite (test/doc_figures_test.exs) fails when a block
  differs from its file.
  """

  @root Path.expand("../../..", __DIR__)
  @results Path.join(@root, "bench/results")

  @doc "True when this run records its figures (`BENCH_RECORD=1`)."
  def record?, do: System.get_env("BENCH_RECORD") == "1"

  @doc """
  Writes `bench/results/NAME.md` (when recording): `what` says what the
  table compares, `header` is the list of column titles, `rows` a list of
  lists of cells (strings).
  """
  def write(name, script, what, header, rows) do
    if record?() do
      File.mkdir_p!(@results)
      path = Path.join(@results, name <> ".md")
      File.write!(path, render(script, what, header, rows))
      IO.write(:stderr, "recorded #{Path.relative_to(path, @root)}\n")
    end

    :ok
  end

  @doc false
  def render(script, what, header, rows) do
    source =
      "`make bench` (bench/#{script}), #{Date.utc_today()}, #{:erlang.system_info(:system_architecture)}, " <>
        "OTP #{System.otp_release()}, Elixir #{System.version()}, #{:erlang.system_info(:logical_processors_available)} " <>
        "logical processors, commit #{commit()}: #{what}"

    line = fn cells -> "| " <> Enum.join(cells, " | ") <> " |" end

    Enum.join(
      [source, "", line.(header), line.(Enum.map(header, fn _ -> "---" end)) | Enum.map(rows, line)],
      "\n"
    ) <> "\n"
  end

  defp commit do
    case System.cmd("git", ["-C", @root, "rev-parse", "--short=7", "HEAD"], stderr_to_stdout: true) do
      {sha, 0} -> String.trim(sha)
      _ -> "unknown"
    end
  end

  @doc """
  Copies every results file into the blocks that quote it. Returns the
  list of `{file, names}` changed; raises on a block whose results file
  does not exist.
  """
  def fill do
    for file <- doc_files(), reduce: [] do
      acc ->
        text = File.read!(file)
        filled = fill_text(text, file)

        if filled != text do
          File.write!(file, filled)
          [Path.relative_to(file, @root) | acc]
        else
          acc
        end
    end
    |> Enum.reverse()
  end

  @block ~r/(<!-- bench:([a-z0-9-]+) -->\n)(.*?)(<!-- \/bench:\2 -->)/s

  defp fill_text(text, file) do
    Regex.replace(@block, text, fn _, open, name, _old, close ->
      path = Path.join(@results, name <> ".md")

      case File.read(path) do
        {:ok, table} -> open <> table <> close
        {:error, _} -> raise "#{Path.relative_to(file, @root)} quotes bench:#{name}, but #{Path.relative_to(path, @root)} does not exist: run make bench"
      end
    end)
  end

  defp doc_files do
    [Path.join(@root, "README.md"), Path.join(@root, "bench/README.md") | Path.wildcard(Path.join(@root, "docs/*.md"))]
  end

  ## Cells

  @doc "A ratio: `1.04x`."
  def ratio(nil), do: "-"
  def ratio(r) when r >= 100, do: :erlang.float_to_binary(r / 1, decimals: 0) <> "x"
  def ratio(r), do: :erlang.float_to_binary(r / 1, decimals: 2) <> "x"

  @doc "A median with its spread: `1.04x (0.98x..1.10x)` or `43.0 ns (41.2..47.9)`."
  def spread(nil, _fmt), do: "-"
  def spread(%{median: m, min: lo, max: hi}, :ratio), do: "#{ratio(m)} (#{ratio(lo)}..#{ratio(hi)})"
  def spread(%{median: m, min: lo, max: hi}, fmt) when is_function(fmt, 1), do: "#{fmt.(m)} (#{fmt.(lo)}..#{fmt.(hi)})"
end
