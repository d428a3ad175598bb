defmodule CorralTest.PackageTest do
  # The Hex package: its metadata, and that its files alone are enough to
  # build a user's NIF library (mix_new_test.exs builds a new Mix project
  # against a copy of them; here an Erlang project built with plain make).
  use ExUnit.Case, async: false

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain

  alias CorralTest.Package

  @tmp Path.expand("../_build/test/corral_package", __DIR__)

  setup do
    File.rm_rf!(@tmp)
    File.mkdir_p!(@tmp)
    on_exit(fn -> File.rm_rf!(@tmp) end)
    :ok
  end

  test "the package has a description, the Apache-2.0 licence with its text, and a changelog entry for this version" do
    config = Mix.Project.config()
    assert is_binary(config[:description]) and byte_size(config[:description]) > 20
    assert config[:package][:licenses] == ["Apache-2.0"]

    files = Package.files()
    assert "LICENSE" in files and "CHANGELOG.md" in files and "README.md" in files and "mix.exs" in files
    license = File.read!(Path.join(Package.root(), "LICENSE"))
    assert license =~ "Apache License" and license =~ "Version 2.0, January 2004"
    assert File.read!(Path.join(Package.root(), "CHANGELOG.md")) =~ ~r/^## #{Regex.escape(config[:version])}\b/m
  end

  test "the package carries what a build reads and nothing of the repository's own tests, examples or builds" do
    files = Package.files()

    # Everything under the folders the build reads from (Corral's C runtime,
    # the headers, the Elixir code) is in the package.
    for dir <- ["lib", "src", "c_src", "include"],
        file <- Path.wildcard(Path.join([Package.root(), dir, "**", "*"])),
        File.regular?(file),
        Path.extname(file) not in [".o", ".so", ".d"],
        Path.basename(file) != "compile_commands.json" do
      assert Path.relative_to(file, Package.root()) in files
    end

    assert "corral.mk" in files and "include/corral_all.c" in files and "include/corral.hrl" in files

    for file <- files do
      refute String.starts_with?(file, ["test/", "_build/", "examples/", "bench/", "deps/", ".ci/", "scripts/"]), file
      refute Path.extname(file) in [".o", ".so", ".beam"], file
    end
  end

  test "an Erlang project builds with plain make from the package's files alone and passes its EUnit tests" do
    corral = Package.copy!(Path.join(@tmp, "corral"))
    project = Path.join(@tmp, "erlang_counter")
    File.cp_r!(Path.join(Package.root(), "examples/erlang_counter"), project)
    File.rm_rf!(Path.join(project, "ebin"))
    File.rm_rf!(Path.join(project, "priv"))

    {out, status} = System.cmd("make", ["test", "CORRAL_DIR=#{corral}"], cd: project, stderr_to_stdout: true)
    assert status == 0, out
    assert out =~ "#{corral}/include/corral_all.c"
  end
end
