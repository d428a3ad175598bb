defmodule Buffer.MixProject do
  use Mix.Project

  def project do
    [
      app: :buffer,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: [{:corral, path: "../.."}]
    ]
  end

  def application, do: [extra_applications: [:logger]]
end
