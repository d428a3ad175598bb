defmodule CorralTest.AmalgamationTest do
  # include/corral_all.c (scripts/amalgamate.sh): current, and a complete
  # build of Corral's C in one file with no warning under every C compiler.
  use ExUnit.Case, async: true

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain

  @root Path.expand("..", __DIR__)
  @tmp Path.expand("../_build/test/corral_amalgamation", __DIR__)

  setup_all do
    File.mkdir_p!(@tmp)
    :ok
  end

  test "the committed amalgamation is what the script makes from c_src/corral today" do
    fresh = Path.join(@tmp, "corral_all.c")
    {out, 0} = System.cmd(Path.join(@root, "scripts/amalgamate.sh"), [fresh], stderr_to_stdout: true)
    assert out == ""

    assert File.read!(fresh) == File.read!(Path.join(@root, "include/corral_all.c")),
           "include/corral_all.c is out of date: run make amalgamation"

    # Every source file is in it.
    text = File.read!(fresh)
    for src <- Corral.Compiler.corral_sources(), do: assert(text =~ ~s(#line 1 "c_src/corral/#{Path.basename(src)}"))
  end

  test "it compiles alone, with -Wall -Wextra -Werror, into a library that links with a NIF and exports only nif_init" do
    compilers = Enum.filter(["gcc", "clang"], &System.find_executable/1)
    assert compilers != []
    nif = Path.join(@tmp, "one.c")

    File.write!(nif, """
    #include <corral.h>
    CORRAL_PURE(add, i64, (i64, a), (i64, b)) { return corral_add_i64(c, a, b); }
    CORRAL_MODULE(CorralTest.OneFile, CORRAL_EXPORT(add));
    """)

    for cc <- compilers do
      so = Path.join(@tmp, "libone_#{cc}.so")
      args = ["-std=gnu11", "-O2", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror", "-shared",
              "-I", Path.join(@root, "include"), "-I", Corral.Compiler.find_erts_include!(),
              "-o", so, nif, Path.join(@root, "include/corral_all.c")]
      {out, status} = System.cmd(cc, args, stderr_to_stdout: true)
      assert status == 0, "#{cc}:\n#{out}"

      # Undefined symbols are only the VM's and libc's: nothing of Corral's
      # own is missing from the one file.
      {syms, 0} = System.cmd("nm", ["-D", "--undefined-only", so])
      missing = for line <- String.split(syms, "\n"), line =~ "corral", do: line
      assert missing == []

      {defined, 0} = System.cmd("nm", ["-D", "--defined-only", so])
      assert defined =~ ~r/ T nif_init$/m
      refute defined =~ ~r/ T corral/
    end
  end
end
