defmodule CorralTest.CrossTest do
  # Linux targets this machine cannot run, built with Debian's cross
  # compilers the way a user builds for them: `mix compile` with CC naming
  # the target's compiler (and, for a target of another word size,
  # ERTS_INCLUDE_DIR naming that target's Erlang headers). The libraries are
  # read, never loaded here: their target from the file, their tables through
  # the code `use Corral` runs after a build, equal to the host's twin.
  # (The AArch64 build also ran in the emulated Debian arm64 chroot of
  # `make test-arm64`; see docs/building-and-shipping.md.)
  use ExUnit.Case, async: true

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain
  @moduletag timeout: 900_000

  @root Path.expand("..", __DIR__)
  @tmp Path.expand("../_build/test/corral_cross", __DIR__)

  # {target name as Corral reads it from the file, the compiler, 64-bit?}
  @targets [
    {"aarch64-linux-gnu", "aarch64-linux-gnu-gcc", true},
    {"arm-linux-gnueabihf", "arm-linux-gnueabihf-gcc", false},
    {"riscv64-linux-gnu", "riscv64-linux-gnu-gcc", true},
    {"x86_64-linux-musl", "musl-gcc", true}
  ]

  setup_all do
    missing = for {_, cc, _} <- @targets, System.find_executable(cc) == nil, do: cc

    if missing != [] do
      flunk("missing cross compilers #{Enum.join(missing, ", ")}: scripts/ensure-deps.sh installs them " <>
              "(gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-riscv64-linux-gnu musl-tools)")
    end

    File.mkdir_p!(@tmp)
    :ok
  end

  defp target_include!(cc, dir), do: Corral.Compiler.target_erts_include!(cc, dir)

  defp target_env(target, cc, wide?) do
    base = [{"CC", cc}, {"CROSSCOMPILE", nil}, {"CFLAGS", nil}, {"LDFLAGS", nil}, {"CPPFLAGS", nil}]
    if wide?, do: base ++ [{"ERTS_INCLUDE_DIR", nil}], else: base ++ [{"ERTS_INCLUDE_DIR", target_include!(cc, Path.join([@tmp, "include", target]))}]
  end

  # The Buffer example, copied so that its build writes nothing into the
  # checkout, with Corral as a path dependency.
  defp buffer_project!(name), do: CorralTest.ExampleProject.buffer!(Path.join([@tmp, "projects", name]))

  defp mix_compile!(dir, env) do
    env = [{"MIX_ENV", "dev"}, {"MIX_BUILD_PATH", Path.join(dir, "_build")}] ++ env
    {out, status} = System.cmd("mix", ["compile", "--warnings-as-errors"], cd: dir, env: env, stderr_to_stdout: true)
    assert status == 0, "mix compile with #{inspect(env)}:\n#{out}"
    {out, Path.join(dir, "_build/lib/buffer/priv/native/libbuffer_nif.so")}
  end

  defp tables(so, module, lib) do
    config = Corral.Compiler.config(module, otp_app: :corral, lib: lib, path: Path.dirname(so))
    info = Corral.Compiler.read_library!(%{config | so: so})
    Map.take(info, [:erlang_module, :binding, :exports, :docs])
  end

  test "mix compile builds the Buffer example for each target: a library for that target, the host's tables, no load tried" do
    host = Task.async(fn -> mix_compile!(buffer_project!("host"), [{"CC", nil}, {"CROSSCOMPILE", nil}]) end)

    built =
      @targets
      |> Task.async_stream(fn {target, cc, wide?} -> {target, mix_compile!(buffer_project!(target), target_env(target, cc, wide?))} end,
        max_concurrency: 2,
        timeout: :infinity
      )
      |> Enum.map(fn {:ok, r} -> r end)

    {_, host_so} = Task.await(host, :infinity)
    assert Corral.ObjectFile.target(host_so) == {:ok, Corral.ObjectFile.host_target()}
    host_tables = tables(host_so, Buffer.Native, "buffer_nif")
    assert [_ | _] = host_tables.exports

    for {target, {out, so}} <- built do
      assert Corral.ObjectFile.target(so) == {:ok, target}
      # The compiler loads the module it compiled; its library is never
      # handed to the dynamic loader, and nothing is said about it.
      refute out =~ "could not load", out
      assert File.exists?(Path.join(Path.dirname(so), "../../ebin/Elixir.Buffer.Native.beam"))
      assert tables(so, Buffer.Native, "buffer_nif") == host_tables, target
      # Its objects are kept apart from a host build's.
      assert [_] = Path.wildcard(Path.join(Path.dirname(so), "../../corral/buffer_nif/release-*gcc"))
    end

    # mix corral.package names the artefact after the file's target, quietly.
    {_, {_, so}} = List.keyfind(built, "arm-linux-gnueabihf", 0)
    project = Path.join([@tmp, "projects", "arm-linux-gnueabihf"])
    env = [{"MIX_BUILD_PATH", Path.join(project, "_build")} | target_env("arm-linux-gnueabihf", "arm-linux-gnueabihf-gcc", false)]
    {out, 0} = System.cmd("mix", ["corral.package", "Buffer.Native", "prebuilt"], cd: project, env: env, stderr_to_stdout: true)
    refute out =~ "warning", out
    [artefact] = Path.wildcard(Path.join(project, "prebuilt/*.so"))
    assert Path.basename(artefact) =~ ~r/^libbuffer_nif-0\.1\.0-nif-\d+\.\d+-arm-linux-gnueabihf\.so$/
    assert File.read!(artefact) == File.read!(so)

    # Loaded later by a VM of this machine: one warning, and each call
    # raises Corral.LoadError saying for what the file was built.
    {_, {_, so}} = List.keyfind(built, "aarch64-linux-gnu", 0)
    ebin = Path.expand("../../ebin", Path.dirname(so))
    corral_ebin = Path.expand("../../../corral/ebin", Path.dirname(so))

    script = "try do Buffer.Native.new(1) rescue e in Corral.LoadError -> IO.puts(\"raised: \" <> Exception.message(e)) end"
    {out, 0} = System.cmd("elixir", ["-pa", ebin, "-pa", corral_ebin, "-e", script], stderr_to_stdout: true)
    sentence = "it was built for aarch64-linux-gnu, and this VM runs on #{Corral.ObjectFile.host_target()}"
    assert [_] = Regex.scan(~r/warning: Buffer.Native could not load .*#{sentence}/, out), out
    assert out =~ ~r/raised: Buffer.Native.new\/1: .*#{sentence}/
  end

  test "the environment as cross toolchains set it: CROSSCOMPILE, CC with flags, CFLAGS, LDFLAGS; a compiler that is not there fails" do
    dir = buffer_project!("env")
    so = Path.join(dir, "_build/lib/buffer/priv/native/libbuffer_nif.so")
    clean = [{"CC", nil}, {"CROSSCOMPILE", nil}, {"CFLAGS", nil}, {"LDFLAGS", nil}, {"CPPFLAGS", nil}, {"ERTS_INCLUDE_DIR", nil}]
    run = fn env ->
      # --force: Mix does not compile again for another environment.
      System.cmd("mix", ["compile", "--force"], cd: dir, env: [{"MIX_BUILD_PATH", Path.join(dir, "_build")} | clean] ++ env, stderr_to_stdout: true)
    end

    # Nerves sets CROSSCOMPILE to the path and prefix of its tools.
    prefix = "riscv64-linux-gnu-gcc" |> System.find_executable() |> String.replace_suffix("-gcc", "")
    {out, 0} = run.([{"CROSSCOMPILE", prefix}])
    assert Corral.ObjectFile.target(so) == {:ok, "riscv64-linux-gnu"}, out

    # Never the host's compiler instead of the one named.
    {out, status} = run.([{"CC", "/nonexistent/aarch64-gcc"}])
    assert status != 0
    assert out =~ "Corral could not find the C compiler /nonexistent/aarch64-gcc, which CC=/nonexistent/aarch64-gcc names."
    {out, status} = run.([{"CROSSCOMPILE", "/nonexistent/arm-none"}])
    assert status != 0
    assert out =~ "Corral could not find the C compiler /nonexistent/arm-none-gcc, which CROSSCOMPILE=/nonexistent/arm-none names."

    # CC's own flags, CFLAGS and LDFLAGS reach the compiler and the linker.
    {out, status} = run.([{"CC", "aarch64-linux-gnu-gcc -fcorral-cc-flag"}])
    assert status != 0 and out =~ "-fcorral-cc-flag"
    {out, status} = run.([{"CC", "aarch64-linux-gnu-gcc"}, {"CFLAGS", "-fcorral-cflag"}])
    assert status != 0 and out =~ "-fcorral-cflag"
    {out, status} = run.([{"CC", "aarch64-linux-gnu-gcc"}, {"LDFLAGS", "-Wl,--corral-ldflag"}])
    assert status != 0 and out =~ "--corral-ldflag"
    {out, 0} = run.([{"CC", "aarch64-linux-gnu-gcc -O1"}, {"CFLAGS", "-mcpu=cortex-a53"}])
    assert Corral.ObjectFile.target(so) == {:ok, "aarch64-linux-gnu"}, out
  end

  test "Corral's C and the test NIFs compile for each target without a warning, and read back as the host's" do
    config = Corral.Compiler.config(CorralTest.Native, otp_app: :corral, lib: "corral_test", path: "test/support/c_src/corral_test", cflags: ["-Werror"])
    host_so = Path.join(Mix.Project.app_path(), "priv/native/libcorral_test.so")
    host_tables = tables(host_so, CorralTest.Native, "corral_test")

    @targets
    |> Task.async_stream(
      fn {target, cc, wide?} ->
        dir = Path.join([@tmp, "corral_test", target])
        File.mkdir_p!(dir)
        include = if wide?, do: [], else: ["-I", target_include!(cc, Path.join([@tmp, "include", target]))]
        flags = include ++ Corral.Compiler.compile_flags(config)

        objects =
          for {src, k} <- Enum.with_index(config.sources ++ Corral.Compiler.corral_sources()) do
            obj = Path.join(dir, "#{k}-#{Path.basename(src, ".c")}.o")
            {out, status} = System.cmd(cc, ["-c", src, "-o", obj] ++ flags, stderr_to_stdout: true)
            assert status == 0 and out == "", "#{target}: #{src}:\n#{out}"
            obj
          end

        so = Path.join(dir, "libcorral_test.so")
        {out, status} = System.cmd(cc, objects ++ ["-o", so] ++ Corral.Compiler.link_flags(config, :linux), stderr_to_stdout: true)
        assert status == 0, "#{target}: link:\n#{out}"
        assert Corral.ObjectFile.target(so) == {:ok, target}
        assert tables(so, CorralTest.Native, "corral_test") == host_tables, target
      end,
      max_concurrency: 2,
      timeout: :infinity
    )
    |> Enum.each(fn {:ok, _} -> :ok end)
  end

  test "a body reading past its row's arity is found in the libraries of the 64-bit targets too" do
    # The build's check reads the notes corral.h leaves, through the
    # relocations of each 64-bit machine (see corral_object:overreaching_reads/1).
    dir = Path.join(@tmp, "over")
    File.mkdir_p!(dir)
    lib = Path.join(dir, "lib.c")
    File.write!(lib, """
    #include <corral.h>
    CORRAL_NIF(two) { return corral_make_i64(c, corral_arg_i64(c, 0) + corral_arg_i64(c, 1)); }
    CORRAL_ERLANG_MODULE(cross_over, CORRAL_FN("two", two, 1));
    """)

    config = Corral.Compiler.config(:cross_over, otp_app: :corral, lib: "cross_over", path: dir)
    all = Path.join(@root, "include/corral_all.c")

    for {target, cc, wide?} <- @targets do
      so = Path.join(dir, "#{target}.so")
      include = if wide?, do: [], else: ["-I", target_include!(cc, Path.join([@tmp, "include", target]))]
      args = include ++ Corral.Compiler.compile_flags(config) ++ [lib, all, "-o", so] ++ Corral.Compiler.link_flags(config, :linux)
      {out, 0} = System.cmd(cc, args, stderr_to_stdout: true)
      assert out == ""
      reads = :corral_object.overreaching_reads(File.read!(so))

      if wide? do
        assert reads == {:ok, [{"two", 1, 1, lib, 2}]}, target
      else
        # 32-bit notes are not read: the check is left to the 64-bit builds.
        assert reads == :unsupported, target
      end
    end
  end
end
