defmodule CorralTest.StaticTest do
  # CORRAL_STATIC=1: a library built as an archive for a statically linked
  # VM (iOS, Android, embedded). `mix compile` of the Buffer example, as a
  # user runs it, makes `<lib>.a`; two such archives (the runtime of Corral
  # in each) are linked into one C program, which calls their
  # `<lib>_nif_init` and prints the entries the VM would read.
  use ExUnit.Case, async: true

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain
  @moduletag timeout: 600_000

  @root Path.expand("..", __DIR__)
  @tmp Path.expand("../_build/test/corral_static", __DIR__)

  @clean [{"CC", nil}, {"CROSSCOMPILE", nil}, {"CFLAGS", nil}, {"LDFLAGS", nil}, {"CPPFLAGS", nil}, {"ERTS_INCLUDE_DIR", nil}]

  # The Buffer example under another library name, copied so that its
  # build writes nothing into the checkout.
  defp buffer_project!(lib) do
    dir = Path.join([@tmp, lib])
    File.rm_rf!(dir)
    File.mkdir_p!(dir)
    src = Path.join(@root, "examples/buffer")
    File.cp_r!(Path.join(src, "c_src"), Path.join(dir, "c_src"))
    File.mkdir_p!(Path.join(dir, "lib/buffer"))
    File.write!(Path.join(dir, "lib/buffer/native.ex"), """
    defmodule Buffer.Native do
      use Corral, otp_app: :buffer, lib: #{inspect(lib)}, path: "c_src/buffer_nif"
    end
    """)

    mix = File.read!(Path.join(src, "mix.exs")) |> String.replace(~s(path: "../.."), "path: #{inspect(@root)}")
    File.write!(Path.join(dir, "mix.exs"), mix)
    dir
  end

  defp mix!(dir, args, env) do
    env = [{"MIX_ENV", "dev"}, {"MIX_BUILD_PATH", Path.join(dir, "_build")} | @clean] ++ env
    System.cmd("mix", args, cd: dir, env: env, stderr_to_stdout: true)
  end

  test "CORRAL_STATIC=1 makes <lib>.a whose only global is <lib>_nif_init; two link into one program and give their entries" do
    libs = ["static_one", "static_two"]

    archives =
      libs
      |> Task.async_stream(
        fn lib ->
          dir = buffer_project!(lib)
          {out, status} = mix!(dir, ["compile", "--warnings-as-errors"], [{"CORRAL_STATIC", "1"}])
          assert status == 0, out
          # The compiler's load of the module is not warned about.
          refute out =~ "could not load", out
          {dir, Path.join(dir, "_build/lib/buffer/priv/native/#{lib}.a")}
        end,
        timeout: :infinity
      )
      |> Enum.map(fn {:ok, r} -> r end)

    for {{_dir, a}, lib} <- Enum.zip(archives, libs) do
      {syms, 0} = System.cmd("nm", ["--defined-only", "-g", a])
      assert [[_, "T", name]] = Regex.scan(~r/^[0-9a-f]+ (\w) (\S+)$/m, syms), syms
      assert name == "#{lib}_nif_init"
      # The tables are read from the archive as from a shared library.
      assert Corral.ObjectFile.target(a) == {:ok, Corral.ObjectFile.host_target()}
      config = Corral.Compiler.config(Buffer.Native, otp_app: :corral, lib: lib, path: Path.dirname(a))
      info = Corral.Compiler.read_library!(%{config | so: a})
      assert {:new, 1, 0} in info.exports
    end

    {_, a} = hd(archives)
    config = Corral.Compiler.config(Buffer.Native, otp_app: :corral, lib: "static_one", path: Path.dirname(a))
    exports = Corral.Compiler.read_library!(%{config | so: a}).exports

    main = Path.join(@tmp, "main.c")
    File.write!(main, """
    #include <stdio.h>
    #include <erl_nif.h>
    ErlNifEntry *static_one_nif_init(void);
    ErlNifEntry *static_two_nif_init(void);
    static void show(ErlNifEntry *e)
    {
        printf("%s %d.%d %d\\n", e->name, e->major, e->minor, e->num_of_funcs);
        for (int i = 0; i < e->num_of_funcs; i++) printf("  %s/%u\\n", e->funcs[i].name, e->funcs[i].arity);
    }
    int main(void)
    {
        show(static_one_nif_init());
        show(static_two_nif_init());
        return 0;
    }
    """)

    # The enif_ functions are the VM's; this program calls none of them, so
    # each is a stub that would abort.
    {undefined, 0} = System.cmd("nm", ["--undefined-only" | Enum.map(archives, &elem(&1, 1))])
    enif = Regex.scan(~r/ U (enif_\w+)$/m, undefined) |> Enum.map(&Enum.at(&1, 1)) |> Enum.uniq()
    assert "enif_alloc_resource" in enif
    stubs = Path.join(@tmp, "stubs.c")
    File.write!(stubs, ["#include <stdlib.h>\n" | Enum.map(enif, &"void #{&1}(void) { abort(); }\n")])

    exe = Path.join(@tmp, "main")
    args = [main, stubs, "-I", Corral.Compiler.find_erts_include!(), "-o", exe] ++ Enum.map(archives, &elem(&1, 1)) ++ ["-lpthread"]
    {out, status} = System.cmd("cc", args, stderr_to_stdout: true)
    assert status == 0, out

    {out, 0} = System.cmd(exe, [])
    rows = Enum.map_join(exports, "", fn {name, arity, _} -> "  __nif_#{name}/#{arity}\n" end)
    builtins = "  __corral_live__/0\n  __corral_cancel__/1\n  __corral_ack__/2\n"
    [major, minor] = :erlang.system_info(:nif_version) |> List.to_string() |> String.split(".")
    entry = "Elixir.Buffer.Native #{major}.#{minor} #{length(exports) + 3}\n" <> rows <> builtins
    assert out == entry <> entry
  end
end
