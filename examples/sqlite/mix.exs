defmodule Sqlite.MixProject do
  use Mix.Project

  def project do
    [
      app: :sqlite_example,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: [{:corral, path: "../.."}]
    ]
  end

  def application, do: [extra_applications: [:logger]]
end
