defmodule CorralTest.CompilerTest do
  # The Mix side: building, incremental rebuilds, export tables read from
  # the built library, error messages, loading and reloading.
  use ExUnit.Case, async: false

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain

  # Each test runs the C compiler many times (for builds that must fail,
  # too): with the sanitizers and both cores busy, more than ExUnit's
  # default 60 s.
  @moduletag timeout: 600_000
  import ExUnit.CaptureIO

  @tmp Path.expand("../_build/test/corral_tmp", __DIR__)

  setup do
    dir = Path.join(@tmp, "t#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)
    {:ok, dir: dir, rel: Path.relative_to(dir, File.cwd!())}
  end

  defp write_lib(dir, module, body, extra_rows \\ "") do
    File.write!(Path.join(dir, "lib.h"), "#define ANSWER 41\n")

    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    #include "lib.h"
    CORRAL_NIF(answer) { return corral_make_int(c, #{body}); }
    CORRAL_NIF(twice) { return corral_make_i64(c, 2 * corral_arg_i64(c, 0)); }
    CORRAL_MODULE(#{inspect(module)}, CORRAL_FN("answer", answer, 0), CORRAL_FN("twice", twice, 1)#{extra_rows});
    """)
  end

  defp unique_module, do: Module.concat(CorralTest.Tmp, "M#{System.unique_integer([:positive])}")

  defp build(module, dir, opts \\ []) do
    Corral.Compiler.build!(module, [otp_app: :corral, lib: "tmp_#{inspect(module) |> String.replace(".", "_")}", path: dir] ++ opts)
  end

  defp mtimes(module) do
    config = Corral.Compiler.config(module, otp_app: :corral, lib: "tmp_#{inspect(module) |> String.replace(".", "_")}")
    for f <- Path.wildcard(Path.join(config.build_dir, "*.o")), into: %{}, do: {Path.basename(f), File.stat!(f, time: :posix).mtime}
  end

  defp age(path, seconds) do
    t = System.os_time(:second) - seconds
    File.touch!(path, t)
  end

  defp compile_module(module, dir, opts \\ []) do
    lib = "tmp_#{inspect(module) |> String.replace(".", "_")}"
    opts = Keyword.merge([otp_app: :corral, lib: lib, path: dir], opts)

    Code.compile_string("""
    defmodule #{inspect(module)} do
      use Corral, #{inspect(opts)}
    end
    """)
  end

  test "the export table is read from the built library", %{dir: dir} do
    m = unique_module()
    write_lib(dir, m, "ANSWER + 1")
    info = build(m, dir)
    assert info.exports == [{:answer, 0, 0}, {:twice, 1, 0}]
    assert info.erlang_module == Atom.to_string(m)
    assert Path.join(dir, "lib.h") in info.inputs
    assert File.exists?(info.so)
  end

  test "reading a library's sections fails cleanly on other and broken files", %{dir: dir} do
    path = Path.join(dir, "not_elf.so")
    File.write!(path, "hello")
    assert Corral.ObjectFile.sections(path, ["x"]) == {:error, "not a shared library (neither ELF, Mach-O nor PE)"}
    assert {:error, :enoent} = Corral.ObjectFile.sections(Path.join(dir, "missing.so"), ["x"])
    assert :corral_object.parse_elf("hello", ["x"]) == {:error, "not an ELF file"}
    assert :corral_object.parse_macho("hello", ["x"]) == {:error, "not a Mach-O file"}

    # Cut short: the header promises load commands that are not there.
    assert :corral_object.parse_macho(<<0xFEEDFACF::little-32, 0x0100000C::little-32, 0::32, 6::little-32, 3::little-32,
                                 4096::little-32, 0::64>>, ["x"]) == {:error, "truncated Mach-O header"}

    # A load command whose size runs past the commands.
    cmds = <<0x19::little-32, 200::little-32, 0::64>>
    header = <<0xFEEDFACF::little-32, 0x0100000C::little-32, 0::32, 6::little-32, 1::little-32,
               byte_size(cmds)::little-32, 0::64>>
    assert :corral_object.parse_macho(header <> cmds, ["x"]) == {:error, "truncated Mach-O load command"}

    # A universal header with fewer entries than it counts.
    assert :corral_object.parse_macho(<<0xCAFEBABE::big-32, 2::big-32, 0x0100000C::big-32, 0::32>>, ["x"]) ==
             {:error, "truncated universal (fat) header"}

    assert :corral_object.parse_macho(<<0xFEEDFACE::little-32, 0::256>>, ["x"]) ==
             {:error, "32-bit Mach-O files are not supported (macOS libraries are 64-bit)"}

    # PE: a DOS header alone, a PE header pointer past the end, a section
    # table cut short.
    assert :corral_object.parse_pe("MZ", ["x"]) == {:error, "not a PE file"}
    assert :corral_object.parse_pe(<<"MZ", 0::58*8, 4096::little-32>>, ["x"]) == {:error, "not a PE file (no PE header)"}
    pe = <<"MZ", 0::58*8, 64::little-32, "PE", 0, 0, 0x8664::little-16, 3::little-16, 0::32, 0::32, 0::32, 0::16, 0::16>>
    assert :corral_object.parse_pe(pe <> <<0::39*8>>, ["x"]) == {:error, "truncated PE section table"}
    one = <<"MZ", 0::58*8, 64::little-32, "PE", 0, 0, 0x8664::little-16, 1::little-16, 0::32, 0::32, 0::32, 0::16, 0::16>>
    File.write!(path, one <> <<".text", 0, 0, 0, 0::32*8>>)
    assert Corral.ObjectFile.sections(path, ["x"]) == {:ok, %{}}
    # Two sections with long names (through the string table) and one short.
    strings = <<4 + 15::little-32, "corral_exports", 0>>
    table = fn name, size, off -> <<name::binary-8, size::little-32, 0::32, 16::little-32, off::little-32, 0::16*8>> end
    head = <<"MZ", 0::58*8, 64::little-32, "PE", 0, 0, 0x8664::little-16, 2::little-16, 0::32, 0::little-32, 0::32,
             0::16, 0::16>>
    data_off = byte_size(head) + 80
    body = table.(<<"/4", 0::6*8>>, 3, data_off) <> table.(<<"short", 0, 0, 0>>, 5, data_off + 16)
    data = <<"abc", 0::13*8, "hello", 0::11*8>>
    sym_off = data_off + 32
    head = binary_part(head, 0, 64 + 12) <> <<sym_off::little-32>> <> binary_part(head, 64 + 16, byte_size(head) - 80)
    File.write!(path, head <> body <> data <> strings)
    assert Corral.ObjectFile.sections(path, ["corral_exports", "short"]) == {:ok, %{"corral_exports" => "abc", "short" => "hello"}}
    assert Corral.ObjectFile.target(path) == {:ok, "x86_64-windows"}

    # A Java class file starts with the same four bytes as a universal file.
    refute :corral_object.macho_magic(<<0xCAFEBABE::big-32, 0::16, 52::16>>)
  end

  test "Corral's runtime is compiled once per compiler and flags, and shared by every library", %{dir: dir} do
    cache = Path.join(dir, "cache")
    System.put_env("CORRAL_CACHE_DIR", cache)
    on_exit(fn -> System.delete_env("CORRAL_CACHE_DIR") end)
    objects = fn -> for f <- Path.wildcard(Path.join(cache, "runtime/*/*.o")), into: %{}, do: {f, File.read!(f)} end

    # The first library compiles the runtime into the cache, and says so.
    a = unique_module()
    a_dir = Path.join(dir, "a")
    File.mkdir_p!(a_dir)
    write_lib(a_dir, a, "ANSWER + 1")
    out = capture_io(fn -> assert build(a, a_dir).exports == [{:answer, 0, 0}, {:twice, 1, 0}] end)
    assert out =~ "Corral: compiling its runtime for"
    first = objects.()
    assert map_size(first) == length(Corral.Compiler.corral_sources())

    # A second library, in another folder: the same objects, not compiled again.
    b = unique_module()
    b_dir = Path.join(dir, "b")
    File.mkdir_p!(b_dir)
    write_lib(b_dir, b, "ANSWER + 2")
    for f <- Map.keys(first), do: File.touch!(f, 1_000_000_000)
    out = capture_io(fn -> build(b, b_dir) end)
    refute out =~ "compiling its runtime"
    assert objects.() == first
    for f <- Map.keys(first), do: assert(File.stat!(f, time: :posix).mtime == 1_000_000_000)

    # Other flags: another set, beside the first.
    out = capture_io(fn -> build(b, b_dir, cflags: ["-DCORRAL_PORTABLE_LOCKS"]) end)
    assert out =~ "Corral: compiling its runtime for"
    assert map_size(objects.()) == 2 * map_size(first)
  end

  test "unchanged sources are not recompiled; a header change recompiles its users only", %{dir: dir} do
    m = unique_module()
    write_lib(dir, m, "ANSWER + 1")
    # Sources older than any object, so only a real change can be newer.
    for f <- [Path.join(dir, "lib.c"), Path.join(dir, "lib.h")], do: age(f, 200)
    build(m, dir)
    config = Corral.Compiler.config(m, otp_app: :corral, lib: "tmp_#{inspect(m) |> String.replace(".", "_")}")
    before = mtimes(m)
    so_before = File.stat!(config.so, time: :posix)

    build(m, dir)
    assert mtimes(m) == before
    assert File.stat!(config.so, time: :posix).inode == so_before.inode

    # A header edit (dated after the objects) rebuilds the file that includes it.
    File.touch!(Path.join(dir, "lib.h"), System.os_time(:second) + 2)
    Process.sleep(1100)
    build(m, dir)
    after_header = mtimes(m)
    changed = for {k, v} <- after_header, v != before[k], do: k
    assert changed == ["user__lib.c.o"]
    assert File.stat!(config.so, time: :posix).inode != so_before.inode

    # Other flags rebuild everything.
    Process.sleep(1100)
    build(m, dir, cflags: ["-DEXTRA_FLAG"])
    assert Enum.all?(mtimes(m), fn {k, v} -> v > before[k] end)
  end

  test "an unknown type word fails in one line that names it, at the user's line", %{dir: dir, rel: rel} do
    m = unique_module()

    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>

    CORRAL_PURE(add, i64, (i65, a), (i64, b)) { return a + b; }
    CORRAL_DEF(neg, u65, (i64, a)) { (void)c; return -a; }
    CORRAL_MODULE(#{inspect(m)}, CORRAL_EXPORT(add), CORRAL_EXPORT(neg));
    """)

    output =
      capture_io(:stderr, fn ->
        error = assert_raise Mix.Error, fn -> build(m, dir) end
        assert error.message =~ "Corral could not compile #{rel}/lib.c for #{inspect(m)}"
      end)

    words = "the words are: i8, i16, i32, i64, u8, u16, u32, u64, int, uint, long, ulong, size, ssize, intptr"
    assert output =~ "#{rel}/lib.c:3: error: unknown type word i65 for a parameter; #{words}"
    assert output =~ "#{rel}/lib.c:4: error: unknown type word u65 for the result; #{words}"
    assert [_, _, left_out] = String.split(output, "\n", trim: true)
    assert left_out =~ ~r/^\(\d+ lines of compiler errors that follow from the unknown word are left out\)$/
  end

  test "compiler output without an unknown word is shown whole" do
    text = "lib.c:3:5: error: 'x' undeclared\n   3 | x;\n"
    assert Corral.Compiler.shorten_word_errors(text) == text
  end

  test "compiler errors show the compiler's output with project-relative paths", %{dir: dir, rel: rel} do
    m = unique_module()
    write_lib(dir, m, "undeclared_thing")

    output =
      capture_io(:stderr, fn ->
        error = assert_raise Mix.Error, fn -> build(m, dir) end
        assert error.message =~ "Corral could not compile #{rel}/lib.c for #{inspect(m)}"
      end)

    assert output =~ "#{rel}/lib.c:3:"
    assert output =~ "undeclared_thing"
  end

  test "a CORRAL_MODULE naming another module is a compile error", %{dir: dir, rel: rel} do
    write_lib(dir, CorralTest.Elsewhere, "1")
    m = unique_module()
    error = assert_raise Mix.Error, fn -> build(m, dir) end

    assert error.message ==
             "the C code in #{rel} declares CORRAL_MODULE(CorralTest.Elsewhere, ...) but it is used by #{inspect(m)}: the two names must match"
  end

  test "a library without CORRAL_MODULE is reported", %{dir: dir} do
    File.write!(Path.join(dir, "lib.c"), "int unused_function(void) { return 1; }\n")
    m = unique_module()
    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message =~ "has no Corral export table"
    assert error.message =~ "CORRAL_MODULE(#{inspect(m)}, CORRAL_FN(...), ...)"
  end

  test "an empty source folder is reported", %{dir: dir, rel: rel} do
    m = unique_module()
    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message =~ "Corral found no C sources for #{inspect(m)} in #{rel}"
  end

  test "duplicate and invalid rows are reported", %{dir: dir} do
    m = unique_module()
    write_lib(dir, m, "1", ~s|, CORRAL_FN("twice", twice, 1)|)
    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message == "the export table of #{inspect(m)} lists twice/1 more than once"

    write_lib(dir, m, "1", ~s|, CORRAL_FN("", twice, 1)|)
    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message =~ "invalid rows"
  end

  test "invalid options are refused with a sentence", %{dir: dir} do
    assert_raise ArgumentError, "use Corral: :mode must be :release or :debug, got: :fast", fn ->
      build(unique_module(), dir, mode: :fast)
    end

    assert_raise ArgumentError, "use Corral needs the :lib option (the library name)", fn ->
      Corral.Compiler.config(unique_module(), otp_app: :corral)
    end
  end

  test "use Corral defines working functions, in release and debug mode", %{dir: dir} do
    for mode <- [:release, :debug] do
      m = unique_module()
      write_lib(dir, m, "ANSWER + 1")
      compile_module(m, dir, mode: mode)
      assert m.answer() == 42
      assert m.twice(21) == 42
      assert_raise ArgumentError, fn -> m.twice(:x) end
    end
  end

  # Every kind of generated function, compiled by the running Elixir with its
  # type checker (1.18+), must compile without a single warning.
  test "generated functions compile without a warning: plain, dirty, yielding, thread job, specs, typed, isolated",
       %{dir: dir} do
    for isolate <- [false, true] do
      m = unique_module()

      File.write!(Path.join(dir, "lib.c"), """
      #include <corral.h>
      CORRAL_NIF(plain) { return corral_make_i64(c, corral_arg_i64(c, 0)); }
      CORRAL_NIF(dirty) { return corral_make_i64(c, corral_arg_i64(c, 0) + 1); }
      typedef struct { int64_t i, n; } Count;
      CORRAL_YIELDING_NIF(count, Count, NULL)
      {
          if (corral_first_step(c)) state->n = corral_arg_int_range(c, 0, 0, 1000000);
          for (; state->i < state->n; state->i++)
              if (corral_should_yield(c)) { state->i++; return corral_continue(c); }
          return corral_make_i64(c, state->i);
      }
      CORRAL_THREAD_NIF(job) { return corral_make_i64(c, corral_arg_i64(c, 0) * 2); }
      CORRAL_DOC("plain", 1, "plain(integer()) :: integer()", "Returns its argument.");
      CORRAL_DOC("job", 1, "job(integer()) :: integer()", "Doubles on a thread.");
      CORRAL_DOC_OF(sum, "A checked sum.");
      CORRAL_PURE(sum, i64, (i64, a), (i64, b)) { return corral_add_i64(c, a, b); }
      CORRAL_DEF(twice, void, (term, t), (list, double, xs)) { (void)c; (void)t; (void)xs; }
      CORRAL_MODULE(#{inspect(m)},
          CORRAL_EXPORT(sum), CORRAL_EXPORT_FLAGS(twice, CORRAL_DIRTY_IO),
          CORRAL_FN("plain", plain, 1),
          CORRAL_FN_FLAGS("dirty", dirty, 1, CORRAL_DIRTY_CPU),
          CORRAL_FN("count", count, 1),
          CORRAL_FN_THREAD("job", job, 1));
      """)

      output = capture_io(:stderr, fn -> compile_module(m, dir, isolate: isolate) end)
      refute output =~ ~r/warning/i, output
      assert Enum.all?([plain: 1, dirty: 1, count: 1, job: 1, job_async: 1, sum: 2, twice: 2], fn {f, a} -> function_exported?(m, f, a) end)

      # An isolated module's native process loads the module from its .beam
      # file, which a module compiled from a string does not have: isolated
      # calls are tested with CorralTest.IsolatedNative (isolated_test.exs).
      unless isolate do
        assert m.plain(7) == 7
        assert m.sum(7, 8) == 15
        assert m.twice(:any, [1.5]) == :ok
        assert_raise ArithmeticError, ~r"^#{inspect(m)}\.sum/2: integer overflow", fn -> m.sum(9_223_372_036_854_775_807, 1) end
        assert m.dirty(7) == 8
        assert m.count(5000) == 5000
        assert m.job(21) == 42
        assert Corral.Job.await(m, m.job_async(4)) == 8
        assert_raise ArgumentError, ~r"^#{inspect(m)}\.plain/1: argument 1: expected an integer in .*, got: :x$", fn -> m.plain(:x) end
        assert_raise ArgumentError, ~r"^#{inspect(m)}\.job/1: argument 1: expected an integer", fn -> m.job(:x) end
      end
    end
  end

  test "CORRAL_ATOMS tables take UTF-8 names from OTP 26 on; before, the load says why it fails", %{dir: dir} do
    m = unique_module()

    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    CORRAL_ATOMS(drinks, "tea", "café");
    CORRAL_NIF(pick) { return corral_make_int(c, corral_arg_enum(c, 0, &drinks)); }
    CORRAL_MODULE(#{inspect(m)}, CORRAL_FN("pick", pick, 1));
    """)

    output = capture_io(:stderr, fn -> compile_module(m, dir) end)

    if String.to_integer(System.otp_release()) >= 26 do
      assert output == ""
      assert m.pick(:"café") == 1
      assert_raise ArgumentError, ~r/expected one of :tea or :café, got: :coffee$/, fn -> m.pick(:coffee) end
    else
      assert output =~ "not ASCII before OTP 26"
      assert_raise Corral.LoadError, ~r/not ASCII before OTP 26/, fn -> m.pick(:tea) end
    end
  end

  test "a call to an undeclared function or a destructor of the wrong type fails the build, not the load",
       %{dir: dir} do
    for body <- [
          "CORRAL_NIF(f) { return corral_make_int(c, corral_arg_array(c, 0)); }",
          "typedef struct { int x; } Box; static void box_free(int *p) { (void)p; } CORRAL_RESOURCE(Box, box_free);\n" <>
            "CORRAL_NIF(f) { return corral_make_int(c, 1); }"
        ] do
      m = unique_module()
      File.write!(Path.join(dir, "lib.c"), "#include <corral.h>\n#{body}\nCORRAL_MODULE(#{inspect(m)}, CORRAL_FN(\"f\", f, 1));\n")

      output =
        capture_io(:stderr, fn ->
          assert_raise Mix.Error, ~r/Corral could not compile/, fn -> build(m, dir) end
        end)

      assert output =~ ~r/error: (implicit declaration|.*incompatible pointer type|initialization of)/
    end
  end

  # make test builds with the system's cc; every other C compiler found here
  # (gcc, clang) must also accept Corral's C and the test NIFs without a
  # warning, against this VM's erl_nif.h.
  test "a function that is declared but defined nowhere fails the build, naming it and its user", %{dir: dir, rel: rel} do
    m = unique_module()
    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    #include <math.h>
    int64_t helper_defined_elsewhere(int64_t x);
    ERL_NIF_TERM enif_make_imaginary_number(ErlNifEnv *env);
    CORRAL_NIF(answer) { return corral_make_i64(c, helper_defined_elsewhere(41)); }
    CORRAL_NIF(other) { return enif_make_imaginary_number(corral_env(c)); }
    /* sqrt comes from libm, which the VM links: no false alarm. */
    CORRAL_PURE(root, double, (double, x)) { return sqrt(x); }
    CORRAL_MODULE(#{inspect(m)}, CORRAL_FN("answer", answer, 0), CORRAL_FN("other", other, 0), CORRAL_EXPORT(root));
    """)

    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message =~ "for #{inspect(m)} would not load: it uses symbols that neither the VM nor the libraries it links"
    assert error.message =~ "helper_defined_elsewhere (used in #{rel}/lib.c)"
    assert error.message =~ "enif_make_imaginary_number (used in #{rel}/lib.c), and this VM's erl_nif has no such function"
    refute error.message =~ "sqrt"

    # Fixed, the next build links and checks again, and loads.
    File.write!(Path.join(dir, "helper.c"), "#include <stdint.h>\nint64_t helper_defined_elsewhere(int64_t x) { return x + 1; }\n")
    File.write!(Path.join(dir, "lib.c"), File.read!(Path.join(dir, "lib.c")) |> String.replace("enif_make_imaginary_number(corral_env(c))", "corral_make_nil(c)"))
    compile_module(m, dir)
    assert m.answer() == 42
    assert m.root(16) == 4.0
  end

  test "Corral's C compiles without a warning under every C compiler present" do
    compilers = Enum.filter(["gcc", "clang"], &System.find_executable/1)
    assert compilers != []
    sources = Corral.Compiler.corral_sources() ++ Path.wildcard("test/support/c_src/*/*.c")

    for cc <- compilers, source <- sources do
      args = ["-std=gnu11", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-I", Corral.include_dir(),
              "-I", Corral.Compiler.find_erts_include!(), "-I", Path.dirname(source), source]
      {out, status} = System.cmd(cc, args, stderr_to_stdout: true)
      assert status == 0, "#{cc} #{source}:\n#{out}"
    end
  end

  test "a library that fails to load makes every call raise Corral.LoadError with the reason", %{dir: dir} do
    # (An undefined symbol no longer gets this far: the build refuses it.
    # An atom name longer than the VM allows fails the load itself.)
    m = unique_module()
    long = String.duplicate("a", 300)
    write_lib(dir, m, "41", ~s|);\nCORRAL_ATOMS(too_long, "#{long}"|)

    warning = capture_io(:stderr, fn -> compile_module(m, dir) end)
    assert warning =~ "could not load its native library"

    error = assert_raise Corral.LoadError, fn -> m.twice(1) end
    assert error.message =~ "#{inspect(m)}.twice/1: #{inspect(m)} could not load its native library"
    assert error.message =~ "atom"
  end

  test "a nested shape of the wrong size stops the load with a message naming structure tables", %{dir: dir} do
    m = unique_module()

    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    typedef struct { double x, y; } Point;
    typedef struct { float a; } Small;
    CORRAL_STRUCT(point_shape, Point, CORRAL_AS_TUPLE(), CORRAL_FIELD(Point, x, CORRAL_DOUBLE), CORRAL_FIELD(Point, y, CORRAL_DOUBLE));
    typedef struct { Small inner; } Outer;
    CORRAL_STRUCT(outer_shape, Outer, CORRAL_AS_MAP(), CORRAL_FIELD_STRUCT(Outer, inner, &point_shape));
    CORRAL_NIF(one) { return corral_make_int(c, 1); }
    CORRAL_MODULE(#{inspect(m)}, CORRAL_FN("one", one, 0));
    """)

    warning = capture_io(:stderr, fn -> compile_module(m, dir) end)
    assert warning =~ "one of its CORRAL_STRUCT / CORRAL_UNION tables is invalid"
    error = assert_raise Corral.LoadError, fn -> m.one() end
    assert error.message =~ "a nested shape describes a type of another size than its member"
  end

  test "editing the C code and compiling again reloads the new code in the running VM", %{dir: dir} do
    m = unique_module()
    write_lib(dir, m, "1")
    capture_io(:stderr, fn -> compile_module(m, dir) end)
    assert m.answer() == 1

    for v <- 2..4 do
      write_lib(dir, m, "#{v}")
      :code.purge(m)
      capture_io(:stderr, fn -> compile_module(m, dir) end)
      assert m.answer() == v
    end
  end

  test "a reload keeps resources made by the old library valid (type takeover)", %{dir: dir} do
    m = unique_module()

    write = fn version ->
      File.write!(Path.join(dir, "lib.c"), """
      #include <corral.h>
      typedef struct { int64_t value; } Box;
      CORRAL_RESOURCE(Box, NULL);
      #if #{version} == 1
      /* The first version reports memory; the second does not (its objects
       * have no word for it), and must still free the first's right. */
      CORRAL_RESOURCE_REPORTS_MEMORY(Box);
      #define REPORT(b) corral_resource_report_memory(Box, b, 1000)
      #else
      #define REPORT(b) (void)(b)
      #endif
      CORRAL_NIF(box) {
          Box *b = corral_resource_new(c, Box, 0);
          b->value = corral_arg_i64(c, 0);
          REPORT(b);
          return corral_make_resource(c, b);
      }
      CORRAL_NIF(unbox) { return corral_make_i64(c, corral_arg_resource(c, 0, Box)->value * #{version}); }
      CORRAL_MODULE(#{inspect(m)}, CORRAL_FN("box", box, 1), CORRAL_FN("unbox", unbox, 1));
      """)
    end

    write.(1)
    compile_module(m, dir)
    boxes = for i <- 1..100, do: m.box(i)
    assert m.unbox(hd(boxes)) == 1
    assert Corral.live_resources(m)["Box"] == 100
    memory = Corral.resource_memory(m)["Box"]
    assert memory.reported == 100_000 and memory.allocated > 0

    write.(10)
    :code.purge(m)
    capture_io(:stderr, fn -> compile_module(m, dir) end)
    # New code, old objects: still valid and of the right type.
    assert Enum.map(boxes, &m.unbox/1) == Enum.map(1..100, &(&1 * 10))
    assert Corral.live_resources(m)["Box"] == 100
    # The counts, memory too, carry over to the new library.
    assert Corral.resource_memory(m)["Box"] == Map.put(memory, :bytes, memory.allocated + memory.reported)
    assert m.unbox(m.box(7)) == 70

    # Objects of the old library are destroyed by the new one.
    _ = boxes
    boxes = nil
    _ = boxes
    assert CorralTest.Case.eventually(fn -> Corral.live_resources(m)["Box"] == 0 end)
    assert %{allocated: 0, reported: 0} = Corral.resource_memory(m)["Box"]
  end

  test "libs: flags come from pkg-config, and a C library links", %{dir: dir} do
    m = unique_module()

    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    #include <zlib.h>
    CORRAL_NIF(crc) {
        corral_binary b = corral_arg_binary(c, 0);
        return corral_make_u64(c, crc32(0L, b.data, (uInt)b.size));
    }
    CORRAL_MODULE(#{inspect(m)}, CORRAL_FN("crc", crc, 1));
    """)

    compile_module(m, dir, libs: ["zlib"])
    assert m.crc("hello") == :erlang.crc32("hello")
  end

  test "an unknown pkg-config library is reported with what to install", %{dir: dir} do
    m = unique_module()
    write_lib(dir, m, "1")
    error = assert_raise Mix.Error, fn -> build(m, dir, libs: ["no_such_library_xyz"]) end
    assert error.message =~ "pkg-config does not know the library \"no_such_library_xyz\" (from the :libs option of #{inspect(m)})"
    assert error.message =~ "apt-cache search no_such_library_xyz"
  end

  test "compile_commands.json lets clangd check the sources with no setup", %{dir: dir} do
    m = unique_module()
    write_lib(dir, m, "ANSWER + 1")
    build(m, dir)
    db = File.read!(Path.join(dir, "compile_commands.json"))
    assert db =~ ~s("file": "#{Path.join(dir, "lib.c")}")
    assert db =~ Corral.include_dir()

    if clangd = System.find_executable("clangd") do
      {out, status} = System.cmd(clangd, ["--check=#{Path.join(dir, "lib.c")}"], stderr_to_stdout: true)
      assert status == 0, out
      # clangd exits 0 either way; its summary line counts the errors.
      assert out =~ "All checks completed, 0 errors", out
    end

    m2 = unique_module()
    File.rm!(Path.join(dir, "compile_commands.json"))
    write_lib(dir, m2, "1")
    build(m2, dir, compile_commands: false)
    refute File.exists?(Path.join(dir, "compile_commands.json"))
  end

  # The watchdog prints on the VM's stderr, so the calls run in a separate VM.
  test "debug builds report calls that hold a normal scheduler too long; release builds do not", %{dir: dir} do
    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    #include <time.h>
    static void sleep_ms(long ms) { struct timespec t = {0, ms * 1000000L}; nanosleep(&t, NULL); }
    CORRAL_NIF(slow) { sleep_ms(5); return corral_make_ok(c); }
    CORRAL_NIF(fast) { return corral_make_ok(c); }
    CORRAL_NIF(slow_dirty) { sleep_ms(5); return corral_make_ok(c); }
    CORRAL_NIF(slow_raise) { sleep_ms(5); return corral_raise(c, "late"); }
    typedef struct { int steps; } Steps;
    /* Three steps; the second is too long. */
    CORRAL_YIELDING_NIF(stepper, Steps, NULL)
    {
        if (state->steps++ == 1) sleep_ms(5);
        if (state->steps < 3) return corral_continue(c);
        return corral_make_ok(c);
    }
    CORRAL_MODULE(CorralTest.Watched, CORRAL_FN("slow", slow, 0), CORRAL_FN("fast", fast, 0),
                  CORRAL_FN_FLAGS("slow_dirty", slow_dirty, 0, CORRAL_DIRTY_IO),
                  CORRAL_FN("slow_raise", slow_raise, 0), CORRAL_FN("stepper", stepper, 0));
    """)

    run = fn mode ->
      script = """
      Code.compile_string(~s(defmodule CorralTest.Watched do
        use Corral, otp_app: :corral, lib: "watched_#{mode}", path: #{inspect(dir)}, mode: :#{mode}
      end))
      :ok = CorralTest.Watched.fast()
      :ok = CorralTest.Watched.slow_dirty()
      IO.puts("fast and dirty done")
      :ok = CorralTest.Watched.slow()
      IO.puts("slow done")
      try do
        CorralTest.Watched.slow_raise()
      rescue
        RuntimeError -> IO.puts("raise done")
      end
      :ok = CorralTest.Watched.stepper()
      """

      ebin = Path.join(Mix.Project.app_path(), "ebin")
      {out, 0} = System.cmd("elixir", ["-pa", ebin, "-e", script], stderr_to_stdout: true, cd: File.cwd!())
      out
    end

    # The watchdog writes to stderr at once and IO.puts goes through the
    # group leader: on a busy machine the two interleave in any order, so
    # the output is searched as a whole, not cut at the markers.
    debug = run.(:debug)
    assert debug =~ "raise done"
    # Dirty calls are never watched (a fast call could be, if the machine
    # stalled it for a millisecond).
    refute debug =~ ~r"CorralTest\.Watched\.slow_dirty/0 held"
    assert debug =~ ~r/corral watchdog: CorralTest\.Watched\.slow\/0 held a normal scheduler for \d+\.\d+ ms \(budget 1\.00 ms\)/
    # A call that raises is timed too, and so is each step of a yielding NIF.
    assert debug =~ ~r/corral watchdog: CorralTest\.Watched\.slow_raise\/0 held a normal scheduler for \d+\.\d+ ms/
    assert debug =~ ~r/corral watchdog: one step of CorralTest\.Watched\.stepper\/0 held a normal scheduler for \d+\.\d+ ms/

    refute run.(:release) =~ "corral watchdog"
  end

  # A heap overflow in user C code: with sanitize: [:address] and the ASan
  # runtime preloaded (what make test-sanitize does for the whole suite),
  # the report names the file and line. The crash ends that VM, so it runs
  # in a separate one.
  test "sanitize: [:address] reports a heap overflow with its file and line", %{dir: dir, rel: rel} do
    {asan, 0} = System.cmd("gcc", ["-print-file-name=libasan.so"])
    asan = String.trim(asan)

    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    #include <stdlib.h>
    CORRAL_NIF(overflow) {
        size_t n = corral_arg_size(c, 0);
        volatile unsigned char *p = malloc(n); /* volatile: the store must happen */
        p[n] = 1; /* one past the end */
        free((void *)p);
        return corral_make_ok(c);
    }
    CORRAL_MODULE(CorralTest.Overflow, CORRAL_FN("overflow", overflow, 1));
    """)

    script = """
    Code.compile_string(~s(defmodule CorralTest.Overflow do
      use Corral, otp_app: :corral, lib: "overflow", path: #{inspect(dir)}, sanitize: [:address]
    end))
    IO.puts("calling")
    CorralTest.Overflow.overflow(16)
    IO.puts("survived")
    """

    ebin = Path.join(Mix.Project.app_path(), "ebin")
    env = [{"LD_PRELOAD", asan}, {"ASAN_OPTIONS", "detect_leaks=0"}, {"ERL_FLAGS", "+Mea min"}]
    {out, status} = System.cmd("elixir", ["-pa", ebin, "-e", script], stderr_to_stdout: true, env: env)

    assert status != 0
    assert out =~ "calling"
    refute out =~ "survived"
    assert out =~ "ERROR: AddressSanitizer: heap-buffer-overflow"
    assert out =~ "SUMMARY: AddressSanitizer: heap-buffer-overflow #{rel}/lib.c:6 in overflow__corral_body"
  end

  test "sanitize: takes only the known sanitizers", %{dir: dir} do
    assert_raise ArgumentError, "use Corral: :sanitize takes :address and :undefined, got: [:thread]", fn ->
      build(unique_module(), dir, sanitize: [:thread])
    end
  end

  test "CORRAL_DOC: a spec that does not parse, or a doc for no function, is a compile error", %{dir: dir, rel: rel} do
    m = unique_module()
    write_lib(dir, m, "1", ~s|);\nCORRAL_DOC("twice", 1, "twice(integer() :: integer()", "Doubles."|)
    error = assert_raise Mix.Error, fn -> compile_module(m, dir) end
    assert error.message =~ "CORRAL_DOC for #{inspect(m)}.twice/1 has a spec that does not parse"

    m = unique_module()
    write_lib(dir, m, "1", ~s|);\nCORRAL_DOC("thrice", 1, "", "Nothing."|)
    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message == ~s|CORRAL_DOC("thrice", 1, ...) in #{rel} documents thrice/1, which the export table of #{inspect(m)} does not list|
  end

  test "a body that reads a constant argument index its row does not give is a build error, with the line", %{dir: dir, rel: rel} do
    m = unique_module()

    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    /* A helper: its reads are checked when the call runs. */
    static double third(corral_call *c) { return corral_arg_double(c, 2); }
    CORRAL_NIF(dot)
    {
        double a = corral_arg_double(c, 0), b = corral_arg_double(c, 1);
        return corral_make_double(c, a * b + (corral_argc(c) > 2 ? third(c) : 0.0));
    }
    CORRAL_NIF(dot3)
    {
        double s = 0;
        for (int i = 0; i < corral_argc(c); i++) s += corral_arg_double(c, i); /* computed index */
        return corral_make_double(c, s + corral_arg_double(c, 3));
    }
    typedef struct { int64_t left; } Count;
    CORRAL_YIELDING_NIF(count, Count, NULL)
    {
        if (corral_first_step(c)) state->left = corral_arg_i64(c, 1);
        return corral_make_i64(c, state->left);
    }
    CORRAL_THREAD_NIF(job) { return corral_make_i64(c, corral_arg_i64(c, 0) + corral_arg_i64(c, 2)); }
    CORRAL_MODULE(#{inspect(m)}, CORRAL_FN("dot", dot, 2), CORRAL_FN("dot3", dot3, 3), CORRAL_FN("count", count, 1),
                  CORRAL_FN_THREAD("job", job, 2));
    """)

    error = assert_raise Mix.Error, fn -> build(m, dir) end

    assert error.message ==
             "#{inspect(m)}: count/1 reads argument 2 (index 1) at #{rel}/lib.c:18, but its row in the export table gives it 1 argument; " <>
               "dot3/3 reads argument 4 (index 3) at #{rel}/lib.c:13, but its row in the export table gives it 3 arguments; " <>
               "job/2 reads argument 3 (index 2) at #{rel}/lib.c:21, but its row in the export table gives it 2 arguments. " <>
               "Give the row the arity the body reads, or read only the arguments the row gives (indexes start at 0)"

    # The library was removed: the next build checks again. With the rows
    # right, it builds (the helper's read of index 2 is not the body's).
    refute File.exists?(Corral.Compiler.config(m, otp_app: :corral, lib: "tmp_#{inspect(m) |> String.replace(".", "_")}").so)
    File.write!(Path.join(dir, "lib.c"), File.read!(Path.join(dir, "lib.c")) |> String.replace(~s|"dot3", dot3, 3|, ~s|"dot3", dot3, 4|)
      |> String.replace(~s|"count", count, 1|, ~s|"count", count, 2|) |> String.replace(~s|"job", job, 2|, ~s|"job", job, 3|))
    assert build(m, dir).exports == [{:dot, 2, 0}, {:dot3, 4, 0}, {:count, 2, 0}, {:job, 3, Corral.Compiler.thread_flag()}]
  end

  defp write_typed(dir, module, extra, rows) do
    File.write!(Path.join(dir, "lib.c"), """
    #include <corral.h>
    CORRAL_PURE(add, i64, (i64, a), (i64, b)) { return corral_add_i64(c, a, b); }
    #{extra}
    CORRAL_MODULE(#{inspect(module)}, #{rows});
    """)
  end

  test "typed declarations: a NIF left out of the table, a hand spec for it, a doc for no typed NIF are build errors",
       %{dir: dir, rel: rel} do
    m = unique_module()
    write_typed(dir, m, "CORRAL_PURE(sub, i64, (i64, a), (i64, b)) { return corral_sub_i64(c, a, b); }", "CORRAL_EXPORT(add)")
    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message ==
             "sub/2 is declared in #{rel} but the export table of #{inspect(m)} does not list it: add CORRAL_EXPORT(sub) to CORRAL_MODULE " <>
               "(from another C file of the library, CORRAL_FN(\"sub\", sub, 2) after CORRAL_NIF_EXTERN(sub))"

    m = unique_module()
    write_typed(dir, m, ~s|CORRAL_DOC("add", 2, "add(integer(), integer()) :: float()", "Adds.");|, "CORRAL_EXPORT(add)")
    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message =~ "#{inspect(m)}.add/2 gives the spec add(integer(), integer()) :: float(), but add is declared"
    assert error.message =~ "its spec comes from the types (add(a :: integer(), b :: integer()) :: integer())"

    # A doc without a spec is fine.
    m = unique_module()
    write_typed(dir, m, ~s|CORRAL_DOC("add", 2, "", "Adds, by hand.");|, "CORRAL_EXPORT(add)")
    assert %{docs: %{{:add, 2} => {"add(a :: integer(), b :: integer()) :: integer()", "Adds, by hand."}}} = build(m, dir)

    m = unique_module()
    write_typed(dir, m, ~s|CORRAL_DOC_OF(plus, "Adds.");|, "CORRAL_EXPORT(add)")
    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message ==
             "CORRAL_DOC_OF(plus, ...) in #{rel} documents plus, but no NIF of #{inspect(m)} is declared with that name by CORRAL_PURE or CORRAL_DEF"

    # An alias left out of the table, as a typed NIF; listed, it has add's spec and doc under its name.
    m = unique_module()
    write_typed(dir, m, ~s|CORRAL_ALIAS(plus, add); CORRAL_DOC_OF(add, "Adds.");|, "CORRAL_EXPORT(add)")
    error = assert_raise Mix.Error, fn -> build(m, dir) end
    assert error.message =~ "plus/2 is declared in #{rel} but the export table of #{inspect(m)} does not list it: add CORRAL_EXPORT(plus)"
    m = unique_module()
    write_typed(dir, m, ~s|CORRAL_ALIAS(plus, add); CORRAL_DOC_OF(add, "Adds.");|, "CORRAL_EXPORT(add), CORRAL_EXPORT(plus)")
    assert %{docs: %{{:plus, 2} => {"plus(a :: integer(), b :: integer()) :: integer()", "Adds."}}} = build(m, dir)
  end

  test "typed declarations: what a pure body cannot take or return, and a result form that is none of the table's, fail the C build with a name that says why",
       %{dir: dir} do
    for {decl, why} <- [
          {"CORRAL_PURE(get, i64, (string, s)) { (void)s; return 0; }",
           "corral_string_parameters_need_CORRAL_DEF_not_CORRAL_PURE"},
          {"CORRAL_PURE(get, binary, (binary, b)) { return b; }", "corral_binary_results_need_CORRAL_DEF_not_CORRAL_PURE"},
          {"CORRAL_PURE(get, term, (term, t)) { return t; }", "corral_term_results_need_CORRAL_DEF_not_CORRAL_PURE"},
          {"typedef struct { double x; } P; CORRAL_STRUCT(p_shape, P, CORRAL_AS_MAP(), CORRAL_FIELD(P, x, CORRAL_DOUBLE)); " <>
             "CORRAL_PURE(get, i64, (structs, p_shape, P, ps)) { return (int64_t)ps.count; }",
           "corral_structs_parameters_need_CORRAL_DEF_not_CORRAL_PURE"},
          {"typedef struct { int n; } R; CORRAL_RESOURCE(R, NULL); CORRAL_PURE(get, (res, R), (i64, n)) { (void)n; return 0; }",
           "corral_resource_results_need_CORRAL_DEF_not_CORRAL_PURE"},
          {"CORRAL_PURE(get, i64, (cstring, s)) { (void)s; return 0; }", "corral_cstring_parameters_need_CORRAL_DEF_not_CORRAL_PURE"},
          {"typedef struct { int n; } R; CORRAL_RESOURCE(R, NULL); CORRAL_PURE(get, (ok, (res, R)), (i64, n)) { (void)n; return 0; }",
           "corral_resource_results_need_CORRAL_DEF_not_CORRAL_PURE"},
          {"CORRAL_PURE(get, (tuple, (i64, n), (binary, b)), (binary, b)) { return (get_result){0, b}; }",
           "corral_binary_results_need_CORRAL_DEF_not_CORRAL_PURE"},
          # A result form other than (ok, ...), (res, Type), (tuple, ...) or (spec, ...), in either kind of body.
          {"CORRAL_PURE(get, (err, i64), (i64, n)) { return n; }", "corral_result_forms_are_ok_res_tuple_or_spec_not_err"},
          {"CORRAL_DEF(get, (maybe, i64), (i64, n)) { (void)c; return n; }", "corral_result_forms_are_ok_res_tuple_or_spec_not_maybe"}
        ] do
      m = unique_module()
      write_typed(dir, m, decl, "CORRAL_EXPORT(add), CORRAL_EXPORT(get)")
      output = capture_io(:stderr, fn -> assert_raise(Mix.Error, fn -> build(m, dir) end) end)
      assert output =~ why
    end
  end

  test "prebuilt: a listed artefact is installed after its checksum; otherwise the build falls back to source", %{dir: dir} do
    m = unique_module()
    write_lib(dir, m, "ANSWER + 1")
    lib = "tmp_#{inspect(m) |> String.replace(".", "_")}"
    info = build(m, dir)

    # Package the built library the way mix corral.package does.
    prebuilt = Path.join(dir, "prebuilt")
    File.mkdir_p!(prebuilt)
    name = Corral.Compiler.artefact_name(lib, "1.2.3")
    assert name =~ ~r/^lib#{lib}-1\.2\.3-nif-\d+\.\d+-#{Corral.ObjectFile.host_target()}\.so$/
    assert name =~ ~r/-(x86_64|aarch64|arm|riscv64|i686)-linux-(gnu|musl)(eabihf)?\.so$/
    File.cp!(info.so, Path.join(prebuilt, name))
    File.write!(Path.join(prebuilt, "checksums.txt"), "#{Corral.Compiler.sha256(Path.join(prebuilt, name))}  #{name}\n")

    # Sources that would not compile: only the prebuilt file can satisfy the build.
    File.write!(Path.join(dir, "lib.c"), "this is not C\n")
    File.rm!(info.so)
    assert build(m, dir, prebuilt: prebuilt, version: "1.2.3").exports == [{:answer, 0, 0}, {:twice, 1, 0}]
    assert File.read!(info.so) == File.read!(Path.join(prebuilt, name))

    # A tampered artefact is refused.
    File.write!(Path.join(prebuilt, name), File.read!(Path.join(prebuilt, name)) <> "x")
    error = assert_raise Mix.Error, fn -> build(m, dir, prebuilt: prebuilt, version: "1.2.3") end
    assert error.message =~ "does not match its checksum"

    # An unlisted artefact is refused.
    File.write!(Path.join(prebuilt, "checksums.txt"), "")
    error = assert_raise Mix.Error, fn -> build(m, dir, prebuilt: prebuilt, version: "1.2.3") end
    assert error.message =~ "is not listed in"

    # No artefact for this version: build from source (which now fails, proving it was tried).
    capture_io(:stderr, fn ->
      assert_raise Mix.Error, ~r/Corral could not compile/, fn -> build(m, dir, prebuilt: prebuilt, version: "9.9.9") end
    end)
  end
end
