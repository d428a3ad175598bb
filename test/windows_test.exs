defmodule CorralTest.WindowsTest do
  # Windows x86-64, cross-built here with mingw-w64 (Debian's
  # gcc-mingw-w64-x86-64) and read, never run: the Buffer example through
  # `mix compile` with CC naming the cross compiler, and Corral's C with
  # the test NIFs under -Werror. Each DLL is checked for what a Windows VM
  # needs: its target, the one entry erlang:load_nif calls (nif_init), no
  # DLL beyond what every Windows has, and tables equal to the Linux build's.
  use ExUnit.Case, async: true

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain
  @moduletag timeout: 900_000

  @tmp Path.expand("../_build/test/corral_windows", __DIR__)
  @cc "x86_64-w64-mingw32-gcc"
  @objdump "x86_64-w64-mingw32-objdump"

  setup_all do
    for tool <- [@cc, @objdump], System.find_executable(tool) == nil do
      flunk("missing #{tool}: scripts/ensure-deps.sh installs it (gcc-mingw-w64-x86-64)")
    end

    File.mkdir_p!(@tmp)
    # Windows is LLP64 (long has 32 bits): the Erlang headers of a Windows
    # build differ from this machine's in erl_int_sizes_config.h.
    {:ok, include: Corral.Compiler.target_erts_include!(@cc, Path.join(@tmp, "include"))}
  end

  # The DLLs a PE file imports, and the names it exports, as mingw's
  # objdump prints them.
  defp pe_links(dll) do
    {out, 0} = System.cmd(@objdump, ["-p", dll])
    imports = Regex.scan(~r/DLL Name: (\S+)/, out) |> Enum.map(fn [_, n] -> String.downcase(n) end) |> Enum.sort()
    # binutils 2.40 prints "[   0] nif_init" under the table's title; 2.44
    # adds " -- Ordinal Base 1" to the title, a column header, and
    # "[   0] +base[   1]  0000 nif_init": the name ends each row.
    [_, table] = Regex.run(~r/\[Ordinal\/Name Pointer\] Table[^\n]*\n(.*?)\n\n/s, out)
    exports = Regex.scan(~r/^\s*\[\s*\d+\].*\s(\S+)$/m, table) |> Enum.map(fn [_, n] -> n end)
    {imports, exports}
  end

  defp tables(so, module, lib) do
    config = Corral.Compiler.config(module, otp_app: :corral, lib: lib, path: Path.dirname(so))
    info = Corral.Compiler.read_library!(%{config | so: so})
    Map.take(info, [:erlang_module, :binding, :exports, :docs])
  end

  defp buffer_project!(name), do: CorralTest.ExampleProject.buffer!(Path.join([@tmp, "projects", name]))

  test "mix compile with CC=x86_64-w64-mingw32-gcc builds the Buffer example into a DLL a Windows VM loads", %{include: include} do
    dir = buffer_project!("windows")
    env = [{"MIX_ENV", "dev"}, {"MIX_BUILD_PATH", Path.join(dir, "_build")}, {"CC", @cc}, {"CROSSCOMPILE", nil},
           {"CFLAGS", nil}, {"LDFLAGS", nil}, {"ERTS_INCLUDE_DIR", include}]
    {out, status} = System.cmd("mix", ["compile", "--warnings-as-errors"], cd: dir, env: env, stderr_to_stdout: true)
    assert status == 0, out
    refute out =~ "could not load", out

    native = Path.join(dir, "_build/lib/buffer/priv/native")
    assert File.ls!(native) |> Enum.filter(&(Path.extname(&1) in [".so", ".dll"])) == ["libbuffer_nif.dll"]
    dll = Path.join(native, "libbuffer_nif.dll")
    assert Corral.ObjectFile.target(dll) == {:ok, "x86_64-windows"}
    assert {imports, ["nif_init"]} = pe_links(dll)
    # GCC's runtime and the threads library are inside: nothing to ship beside it.
    assert imports -- ["kernel32.dll", "msvcrt.dll"] == [], inspect(imports)

    host = Path.join(Mix.Project.build_path() |> Path.dirname(), "corral_windows_host")
    File.rm_rf!(host)
    {out, 0} = System.cmd("mix", ["compile"], cd: dir, env: [{"MIX_ENV", "dev"}, {"MIX_BUILD_PATH", host}, {"CC", nil}, {"CROSSCOMPILE", nil}, {"ERTS_INCLUDE_DIR", nil}], stderr_to_stdout: true)
    host_so = Path.join(host, "lib/buffer/priv/native/libbuffer_nif.so")
    assert File.exists?(host_so), out
    assert tables(dll, Buffer.Native, "buffer_nif") == tables(host_so, Buffer.Native, "buffer_nif")

    # The prebuilt artefact of a Windows build is a .dll, named for its target.
    {out, 0} = System.cmd("mix", ["corral.package", "Buffer.Native", "prebuilt"], cd: dir, env: env, stderr_to_stdout: true)
    assert [artefact] = Path.wildcard(Path.join(dir, "prebuilt/libbuffer_nif-0.1.0-nif-*-x86_64-windows.dll")), out
    assert File.read!(artefact) == File.read!(dll)
  end

  test "Corral's C and the test NIFs compile for Windows without a warning and read back as the Linux build", %{include: include} do
    for {module, lib, path} <- [
          {CorralTest.Native, "corral_test", "test/support/c_src/corral_test"},
          {CorralTest.Typed, "corral_typed", "test/support/c_src/corral_typed"},
          {CorralTest.Terms, "corral_terms", "test/support/c_src/corral_terms"}
        ] do
      config = Corral.Compiler.config(module, otp_app: :corral, lib: lib, path: path, cflags: ["-Werror"])
      dir = Path.join([@tmp, "nifs", lib])
      File.mkdir_p!(dir)
      flags = ["-I", include] ++ Corral.Compiler.compile_flags(config)

      objects =
        config.sources
        |> Kernel.++(Corral.Compiler.corral_sources())
        |> Enum.with_index()
        |> Task.async_stream(fn {src, k} ->
          obj = Path.join(dir, "#{k}-#{Path.basename(src, ".c")}.o")
          {out, status} = System.cmd(@cc, ["-c", src, "-o", obj] ++ flags, stderr_to_stdout: true)
          assert status == 0 and out == "", "#{src}:\n#{out}"
          obj
        end, timeout: :infinity)
        |> Enum.map(fn {:ok, obj} -> obj end)

      dll = Path.join(dir, "lib#{lib}.dll")
      {out, status} = System.cmd(@cc, objects ++ ["-o", dll] ++ Corral.Compiler.link_flags(config, :windows), stderr_to_stdout: true)
      assert status == 0 and out == "", "link:\n#{out}"
      assert Corral.ObjectFile.target(dll) == {:ok, "x86_64-windows"}
      assert {_, ["nif_init"]} = pe_links(dll)
      host_so = Path.join(Mix.Project.app_path(), "priv/native/lib#{lib}.so")
      assert tables(dll, module, lib) == tables(host_so, module, lib), lib
    end
  end
end
