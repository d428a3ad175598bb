defmodule CorralTest.MixNewTest do
  # mix corral.new in a fresh Mix project that depends on a copy of Corral's
  # package files: the generated library builds and its test passes; a
  # second run refuses to overwrite.
  use ExUnit.Case, async: false

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain

  @tmp Path.expand("../_build/test/corral_new", __DIR__)

  setup do
    File.rm_rf!(@tmp)
    File.mkdir_p!(@tmp)
    on_exit(fn -> File.rm_rf!(@tmp) end)
    :ok
  end

  defp mix(args, dir) do
    # A clean environment for the child project: its own MIX_ENV, no test
    # deps, and its own _build (the sanitizer run sets MIX_BUILD_PATH for
    # Corral's suite; inherited, the child would rebuild Corral's ebin there
    # and remove the test modules this VM has yet to load).
    System.cmd("mix", args, cd: dir, stderr_to_stdout: true, env: [{"MIX_ENV", "test"}, {"MIX_BUILD_PATH", nil}])
  end

  # Builds and tests a whole new project: in the sanitizer build with both
  # cores busy this took longer than ExUnit's default 60 s.
  @tag timeout: 600_000
  test "from mix new to a passing mix test" do
    {_, 0} = System.cmd("mix", ["new", "demo"], cd: @tmp, stderr_to_stdout: true)
    project = Path.join(@tmp, "demo")
    # Corral as its Hex package would install it: a copy of only the
    # package's files (mix.exs `package:`), so a file the build needs but
    # the package lacks fails here.
    corral = CorralTest.Package.copy!(Path.join(@tmp, "corral"))

    mix_exs = Path.join(project, "mix.exs")
    File.write!(mix_exs, String.replace(File.read!(mix_exs), "deps: deps()", "deps: [{:corral, path: #{inspect(corral)}}]"))

    {out, 0} = mix(["corral.new", "Demo.Native"], project)
    assert out =~ "creating c_src/demo_native/demo_native.c"
    assert File.exists?(Path.join(project, "lib/demo/native.ex"))
    # mix new's .gitignore gets the clangd file, once.
    assert out =~ "updating .gitignore"
    ignored = File.read!(Path.join(project, ".gitignore"))
    assert ignored =~ ~r{^/c_src/demo_native/compile_commands.json$}m

    # The generated tests run and pass: ExUnit's result (whose printed form
    # differs between Elixir versions) is written down by the suite.
    result_file = Path.join(project, "suite_result")
    helper = Path.join(project, "test/test_helper.exs")
    File.write!(helper, File.read!(helper) <> "ExUnit.after_suite(&File.write!(#{inspect(result_file)}, :erlang.term_to_binary(&1)))\n")
    {out, status} = mix(["test"], project)
    assert status == 0, out
    # The three tests of the generated file, and those of mix new.
    assert %{total: total, failures: 0} = result_file |> File.read!() |> :erlang.binary_to_term()
    assert total >= 3, out

    if clangd = System.find_executable("clangd") do
      {out, 0} = System.cmd(clangd, ["--check=" <> Path.join(project, "c_src/demo_native/demo_native.c")], stderr_to_stdout: true)
      assert out =~ "All checks completed, 0 errors", out
    end

    # mix corral.package: the library and its checksum, named for this target.
    {out, status} = mix(["corral.package", "Demo.Native", "prebuilt"], project)
    assert status == 0, out
    [artefact] = Path.wildcard(Path.join(project, "prebuilt/libdemo_native-0.1.0-nif-*.so"))
    sums = File.read!(Path.join(project, "prebuilt/checksums.txt"))
    assert sums == "#{Corral.Compiler.sha256(artefact)}  #{Path.basename(artefact)}\n"

    {out, status} = mix(["corral.new", "Demo.Native"], project)
    assert status != 0
    assert out =~ "not overwriting c_src/demo_native/demo_native.c, lib/demo/native.ex, test/demo/native_test.exs; nothing was written"

    {out, status} = mix(["corral.new", "not_a_module"], project)
    assert status != 0
    assert out =~ ~s(mix corral.new: "not_a_module" is not a module name)

    # A second library: its own line, the first one's kept; no .gitignore: one is made.
    {_, 0} = mix(["corral.new", "Demo.Other"], project)
    lines = project |> Path.join(".gitignore") |> File.read!() |> String.split("\n")
    assert Enum.count(lines, &(&1 == "/c_src/demo_native/compile_commands.json")) == 1
    assert "/c_src/demo_other/compile_commands.json" in lines
    File.rm!(Path.join(project, ".gitignore"))
    {out, 0} = mix(["corral.new", "Demo.Third"], project)
    assert out =~ "creating .gitignore"
    assert File.read!(Path.join(project, ".gitignore")) == "/c_src/demo_third/compile_commands.json\n"

    sanitize_run(project, corral, result_file)
  end

  # mix corral.sanitize: the same suite under ASan and UBSan, built in the
  # project's own _build/sanitize (a relative MIX_BUILD_PATH made Mix build
  # a path dependency inside the dependency's folder), then a heap overflow
  # in the C stops the run with ASan's report.
  defp sanitize_run(project, corral, result_file) do
    File.rm!(result_file)
    {out, status} = mix(["corral.sanitize"], project)
    assert status == 0, out
    assert out =~ "mix corral.sanitize: mix test with address,undefined in #{Path.join(project, "_build/sanitize")}"
    assert %{failures: 0, total: total} = result_file |> File.read!() |> :erlang.binary_to_term()
    assert total >= 3, out
    assert File.dir?(Path.join(project, "_build/sanitize/lib/corral"))
    refute File.exists?(Path.join(corral, "_build"))
    [so] = Path.wildcard(Path.join(project, "_build/sanitize/lib/demo/priv/native/libdemo_native*.so"))
    {symbols, 0} = System.cmd("nm", ["-D", "--undefined-only", so])
    assert symbols =~ "__asan_"

    c_file = Path.join(project, "c_src/demo_native/demo_native.c")
    overflow = """
    #include <stdlib.h>
    CORRAL_NIF(overflow)
    {
        size_t n = corral_arg_size(c, 0);
        volatile char *p = malloc(n);
        p[n] = 1; /* one past the end */
        free((void *)p);
        return corral_make_ok(c);
    }
    """

    File.write!(
      c_file,
      c_file |> File.read!() |> String.replace("CORRAL_MODULE(", overflow <> "CORRAL_MODULE(") |>
        String.replace("CORRAL_EXPORT(hello));", "CORRAL_EXPORT(hello), CORRAL_FN(\"overflow\", overflow, 1));")
    )

    File.write!(Path.join(project, "test/overflow_test.exs"), """
    defmodule OverflowTest do
      use ExUnit.Case
      test "writes past a buffer", do: Demo.Native.overflow(16)
    end
    """)

    # ASan reports it, or UBSan first where the compiler knows the block's
    # size (gcc 14: "store ... with insufficient space"); either halts.
    {out, status} = mix(["corral.sanitize", "test/overflow_test.exs"], project)
    assert status != 0, out
    assert out =~ ~r/AddressSanitizer: heap-buffer-overflow|runtime error: store to address \S+ with insufficient space/, out

    {out, status} = mix(["corral.sanitize", "--sanitize", "memory"], project)
    assert status != 0
    assert out =~ ~s(mix corral.sanitize: --sanitize takes address, undefined or address,undefined, got: "memory")
  end
end
