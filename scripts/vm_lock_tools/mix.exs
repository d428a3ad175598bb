defmodule LockCheck.MixProject do
  use Mix.Project

  # Built by scripts/vm-lock-tools.sh in a chroot, where Corral is at
  # CORRAL_PATH.
  def project do
    [
      app: :lock_check,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: [{:corral, path: System.get_env("CORRAL_PATH", "../..")}]
    ]
  end

  def application, do: [extra_applications: [:logger, :tools]]
end
