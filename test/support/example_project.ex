defmodule CorralTest.ExampleProject do
  @moduledoc false
  # A copy of examples/buffer (its lib/, c_src/ and mix.exs) in a folder of
  # its own, with Corral as a path dependency on this checkout: what the
  # build tests compile as a user's project would be.

  @root Path.expand("../..", __DIR__)

  @doc """
  Copies the Buffer example into `dir` (emptied first) and returns `dir`.
  `edit`, if given, gets the text of lib/buffer/native.ex and returns the
  text to write there instead.
  """
  def buffer!(dir, edit \\ nil) do
    File.rm_rf!(dir)
    File.mkdir_p!(dir)
    src = Path.join(@root, "examples/buffer")
    for d <- ["lib", "c_src"], do: File.cp_r!(Path.join(src, d), Path.join(dir, d))
    mix = File.read!(Path.join(src, "mix.exs")) |> String.replace(~s(path: "../.."), "path: #{inspect(@root)}")
    File.write!(Path.join(dir, "mix.exs"), mix)

    if edit do
      native = Path.join(dir, "lib/buffer/native.ex")
      File.write!(native, edit.(File.read!(native)))
    end

    dir
  end
end
