defmodule CorralBench.MixProject do
  use Mix.Project

  # Run with `MIX_ENV=prod mix run run.exs` (or ./run.sh, or `make bench` at
  # the top level). Everything this project builds stays under bench/: its own
  # _build (the dependencies are path dependencies, so deps/ stays empty).
  def project do
    [
      app: :corral_bench,
      version: "0.1.0",
      elixir: "~> 1.14",
      build_path: Path.expand("_build", __DIR__),
      deps_path: Path.expand("deps", __DIR__),
      lockfile: Path.expand("mix.lock", __DIR__),
      start_permanent: false,
      deps: [{:corral, path: ".."}, {:buffer, path: "../examples/buffer"}, {:sqlite_example, path: "../examples/sqlite"}]
    ]
  end

  def application, do: [extra_applications: [:logger]]
end
