defmodule CorralTest.MacOSTest do
  # Corral on macOS, tested here without a Mac: Corral's C and real NIF
  # libraries are cross-built into Mach-O libraries for arm64 and x86_64
  # (clang -target ...-apple-macos11, linked by ld64.lld with the flags a Mac
  # build uses), then read through the same code that `use Corral` runs after
  # a build. Their export tables, docs and module records must equal those of
  # the ELF twin built from the same source. No macOS SDK is needed: the
  # stand-in headers in test/support/macos_sdk declare what the sources use,
  # with macOS's types and constants.
  use ExUnit.Case, async: true

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain

  @moduletag :macos_cross
  @moduletag timeout: 300_000

  @sdk Path.expand("support/macos_sdk/usr/include", __DIR__)
  @tmp Path.expand("../_build/test/corral_macos", __DIR__)
  @targets [{"arm64", "arm64-apple-macos11"}, {"x86_64", "x86_64-apple-macos11"}]

  @libraries [
    {CorralTest.Native, [otp_app: :corral, lib: "corral_test", path: "test/support/c_src/corral_test", cflags: ["-Werror"]]},
    # The Buffer example of docs/getting-started.md: five functions with docs and specs.
    {Buffer.Native, [otp_app: :corral, lib: "macos_twin_buffer", path: "examples/buffer/c_src/buffer_nif", cflags: ["-Werror"]]}
  ]

  setup_all do
    {:ok, tools} = CorralTest.CrossTools.find()
    {:ok, tools: tools}
  end

  # The host's search paths name Linux folders, which mean nothing to a
  # macOS link (and one that does not exist is a linker warning).
  @host_paths [{"LIBRARY_PATH", nil}, {"CPATH", nil}, {"C_INCLUDE_PATH", nil}]

  defp cross_build!(tools, config, {arch, target}) do
    dir = Path.join([@tmp, config.lib, arch])
    File.mkdir_p!(dir)
    # The flags Corral compiles with, -Werror included: no warning for macOS.
    cflags = ["-target", target, "-nostdlibinc", "-isystem", @sdk] ++ Corral.Compiler.compile_flags(config)

    objects =
      (config.sources ++ Corral.Compiler.corral_sources())
      |> Enum.with_index()
      |> Task.async_stream(
        fn {src, k} ->
          obj = Path.join(dir, "#{k}-#{Path.basename(src, ".c")}.o")
          {out, status} = System.cmd(tools.clang, ["-c", src, "-o", obj] ++ cflags, stderr_to_stdout: true, env: @host_paths)
          assert status == 0 and out == "", "#{target}: #{src}:\n#{out}"
          obj
        end,
        timeout: :infinity
      )
      |> Enum.map(fn {:ok, obj} -> obj end)

    so = Path.join(dir, "lib#{config.lib}.so")
    # No libSystem here: -nostdlib; the flags after it are Corral's own for macOS.
    args = ["-target", target, "-fuse-ld=lld", "-nostdlib"] ++ objects ++ ["-o", so] ++ Corral.Compiler.link_flags(config, :darwin)
    {out, status} = System.cmd(tools.clang, args, stderr_to_stdout: true, env: @host_paths)
    assert status == 0 and out == "", "#{target}: link:\n#{out}"
    so
  end

  for {module, opts} <- @libraries do
    @module module
    @opts opts

    test "#{inspect(module)}: Mach-O libraries for arm64, x86_64 and both in one file read as their ELF twin",
         %{tools: tools} do
      # The ELF twin: built by the compiler `use Corral` runs, from the same source.
      elf = Corral.Compiler.build!(@module, @opts)
      config = elf.config
      twin = Corral.Compiler.read_library!(config)
      assert length(twin.exports) >= 5
      assert twin.erlang_module == Atom.to_string(@module)

      thin =
        for {arch, _} = target <- @targets do
          so = cross_build!(tools, config, target)
          bin = File.read!(so)
          assert :corral_object.macho_architectures(bin) == {:ok, [arch]}
          assert Corral.Compiler.read_library!(%{config | so: so}) == twin

          # The VM finds the library by nif_init, the one symbol it exports.
          {out, 0} = System.cmd(tools.nm, ["-g", "--defined-only", "-j", so])
          assert String.split(out) == ["_nif_init"]
          so
        end

      fat = Path.join([@tmp, config.lib, "lib#{config.lib}-universal.so"])
      {out, status} = System.cmd(tools.lipo, ["-create" | thin] ++ ["-output", fat], stderr_to_stdout: true)
      assert status == 0, out
      assert :corral_object.macho_architectures(File.read!(fat)) == {:ok, ["x86_64", "arm64"]} or
               :corral_object.macho_architectures(File.read!(fat)) == {:ok, ["arm64", "x86_64"]}

      assert Corral.Compiler.read_library!(%{config | so: fat}) == twin

      # Each slice of the universal file, asked for by name.
      names = ["corral_module", "corral_exports", "corral_docs"]

      for {arch, _} <- @targets do
        {:ok, from_fat} = :corral_object.parse_macho(File.read!(fat), names, arch)
        {:ok, from_thin} = Corral.ObjectFile.sections(Enum.find(thin, &String.contains?(&1, "/#{arch}/")), names)
        assert from_fat["corral_module"] == from_thin["corral_module"]
        assert from_fat["corral_docs"] == from_thin["corral_docs"]
      end
    end
  end

  test "the Buffer example's docs and specs survive the Mach-O round trip", %{tools: tools} do
    {_, opts} = List.keyfind(@libraries, Buffer.Native, 0)
    config = Corral.Compiler.build!(Buffer.Native, opts).config
    so = cross_build!(tools, %{config | lib: config.lib <> "_docs"}, hd(@targets))
    info = Corral.Compiler.read_library!(%{config | so: so})
    {spec, doc} = Map.fetch!(info.docs, {:get, 2})
    assert spec =~ "get("
    assert doc != ""
  end

  test "a Mach-O library naming another module is refused as an ELF one is", %{tools: tools} do
    {_, opts} = List.keyfind(@libraries, Buffer.Native, 0)
    config = Corral.Compiler.build!(Buffer.Native, opts).config
    so = cross_build!(tools, %{config | lib: config.lib <> "_other"}, List.last(@targets))
    error = assert_raise Mix.Error, fn -> Corral.Compiler.read_library!(%{config | so: so, module: Other.Native}) end
    assert error.message =~ "Buffer.Native"
  end

  test "signal numbers are named as this system numbers them" do
    # The isolated mode names the signal that killed a native process; the
    # numbers differ between Linux and macOS. Checked against this machine's
    # own <signal.h>.
    src = Path.join(System.tmp_dir!(), "corral_signals_#{System.unique_integer([:positive])}.c")
    exe = src <> ".out"

    File.write!(src, """
    #include <signal.h>
    #include <stdio.h>
    int main(void) {
        printf("%d %d %d %d %d %d\\n", SIGBUS, SIGSEGV, SIGABRT, SIGKILL, SIGUSR1, SIGSYS);
        return 0;
    }
    """)

    {_, 0} = System.cmd("cc", [src, "-o", exe])
    {out, 0} = System.cmd(exe, [])
    File.rm(src)
    File.rm(exe)
    numbers = out |> String.split() |> Enum.map(&String.to_integer/1)
    names = Corral.Isolated.Server.signal_names(elem(:os.type(), 1))
    assert Enum.map(numbers, &names[&1]) == [:SIGBUS, :SIGSEGV, :SIGABRT, :SIGKILL, :SIGUSR1, :SIGSYS]
    # And macOS's, from the stand-in header (the numbers Apple's <sys/signal.h> gives).
    mac = Corral.Isolated.Server.signal_names(:darwin)
    assert {mac[10], mac[7], mac[12], mac[30]} == {:SIGBUS, :SIGEMT, :SIGSYS, :SIGUSR1}
  end
end
