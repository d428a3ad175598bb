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
      docs: docs()
    ]
  end

  # The guides, in reading order (README.md's "Guides" list).
  @guides ~w(
    docs/getting-started.md
    docs/typed-declarations.md
    docs/c-api.md
    docs/errors.md
    docs/resources-and-lifecycles.md
    docs/scheduling.md
    docs/wrapping-a-c-library.md
    docs/safety.md
    docs/building-and-shipping.md
    docs/erlang-rebar3-make.md
  )

  defp docs do
    [
      main: "readme",
      extras: ["README.md"] ++ @guides ++ ["docs/design-notes.md", "CHANGELOG.md"],
      groups_for_extras: [
        Guides: @guides,
        Internals: ["docs/design-notes.md", "CHANGELOG.md"]
      ]
    ]
  end

  # What a Hex package of Corral carries: the Elixir code, the Erlang code
  # (the section reader, the stub generator and the rebar3 plugin), Corral's
  # C runtime and headers (compiled into every user's library), the make
  # fragment and Erlang header for builds outside Mix, and the guides in
  # docs/. test/package_test.exs builds a new project against a copy of only
  # these files.
  def package do
    [
      files: ~w(lib src c_src include corral.mk mix.exs README.md docs LICENSE CHANGELOG.md),
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
