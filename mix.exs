defmodule Corral.MixProject do
  use Mix.Project

  @version "0.1.0"

  def project do
    [
      app: :corral,
      version: @version,
      elixir: "~> 1.14",
      elixirc_paths: elixirc_paths(Mix.env()),
      start_permanent: Mix.env() == :prod,
      deps: [],
      description: "Safe, fast NIFs in C for Erlang and Elixir: checked arguments with clear exceptions, " <>
        "errors that unwind, typed resources, scheduler-friendly work, and a Mix compiler.",
      package: package(),
      docs: [main: "readme", extras: ["README.md", "CHANGELOG.md"]]
    ]
  end

  # What a Hex package of Corral carries: the Elixir code, the Erlang code
  # (the section reader, the stub generator and the rebar3 plugin), Corral's
  # C runtime and headers (compiled into every user's library), the make
  # fragment and Erlang header for builds outside Mix. test/package_test.exs
  # builds a new project against a copy of only these files.
  def package do
    [
      files: ~w(lib src c_src include corral.mk mix.exs README.md LICENSE CHANGELOG.md),
      licenses: ["Apache-2.0"],
      links: %{"Changelog" => "CHANGELOG.md"}
    ]
  end

  def application do
    [extra_applications: [:logger, :crypto]]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
