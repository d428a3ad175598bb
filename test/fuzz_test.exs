defmodule CorralTest.FuzzTest do
  # mix corral.fuzz against throwaway NIF libraries with bugs on purpose:
  # crashes, hangs, a crash deep behind a valid resource; and the argument
  # generator on its own.
  use ExUnit.Case, async: false

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain

  alias Corral.Fuzz.Generator
  alias Mix.Tasks.Corral.Fuzz

  @tmp Path.expand("../_build/test/corral_tmp", __DIR__)

  setup do
    dir = Path.join(@tmp, "f#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)

    on_exit(fn ->
      Code.delete_path(Path.join(dir, "ebin"))
      File.rm_rf!(dir)
    end)

    {:ok, dir: dir}
  end

  # Builds the C source as the library of `module`, and writes the module's
  # .beam where the fuzzer's VM finds it.
  defp build(dir, module, lib, c_source, debug_info \\ true) do
    File.write!(Path.join(dir, "lib.c"), c_source)
    ebin = Path.join(dir, "ebin")
    File.mkdir_p!(ebin)

    [{^module, beam}] =
      compile_string(
        """
        defmodule #{inspect(module)} do
          use Corral, otp_app: :corral, lib: #{inspect(lib)}, path: #{inspect(dir)}
        end
        """,
        debug_info
      )

    File.write!(Path.join(ebin, "#{module}.beam"), beam)
    Code.prepend_path(ebin)

    on_exit(fn ->
      :code.purge(module)
      :code.delete(module)
    end)

    module
  end

  # The specs are kept in the debug info, which mix test leaves out of the
  # modules it compiles in recent Elixir versions: it is set here.
  defp compile_string(source, debug_info) do
    previous = Code.get_compiler_option(:debug_info)
    Code.put_compiler_option(:debug_info, debug_info)

    try do
      Code.compile_string(source)
    after
      Code.put_compiler_option(:debug_info, previous)
    end
  end

  # The number of VMs a run used, from its summary's first line.
  defp vms(summary), do: ~r/, (\d+) VMs?\n/ |> Regex.run(summary) |> Enum.at(1) |> String.to_integer()

  defp buggy(dir) do
    build(dir, CorralTest.Fuzzed, "fuzzed", """
    #include <corral.h>
    CORRAL_NIF(safe) { return corral_make_i64(c, corral_arg_int_range(c, 0, 0, 100) + 1); }
    /* A bug on purpose: any tuple argument makes it dereference NULL. */
    CORRAL_NIF(buggy) {
        if (enif_is_tuple(corral_env(c), corral_arg(c, 0))) { volatile int *p = NULL; return corral_make_int(c, *p); }
        return corral_make_ok(c);
    }
    CORRAL_MODULE(CorralTest.Fuzzed, CORRAL_FN("safe", safe, 1), CORRAL_FN("buggy", buggy, 1));
    """)
  end

  test "a crash fails the run and is reported with its input; the summary counts each function's outcomes", %{dir: dir} do
    mod = buggy(dir)

    assert {:ok, summary} = Fuzz.fuzz(mod, count: 3000, seed: 1, except: ["buggy/1"])
    assert summary =~ ~r/^CorralTest\.Fuzzed: 3000 calls over 1 functions in [\d.]+ s \(\d+ calls\/s\), seed 1, 1 VM\n/
    assert summary =~ "no crashes, no hangs (time limit 1000 ms per call)"
    assert summary =~ ~r/function\s+spec\s+calls\s+returned\s+raised\s+hangs\s+crashes\s+raised as/
    [_, returned, raised] = Regex.run(~r/safe\/1\s+no\s+3000\s+(\d+)\s+(\d+)\s+0\s+0\s+ArgumentError \d+/, summary)
    assert String.to_integer(returned) + String.to_integer(raised) == 3000
    assert String.to_integer(returned) > 300

    assert {:crash, report} = Fuzz.fuzz(mod, count: 3000, seed: 1)
    assert report =~ "1 crash, no hangs"
    assert report =~ ~r/the VM running CorralTest\.Fuzzed died \(exit status \d+, seed 1, VM 1\) on the call\n  CorralTest\.Fuzzed\.buggy\(\{/
    refute report =~ "3000 calls"
  end

  test "--keep-going restarts the VM after a crash, and leaves a function out after --max-failures", %{dir: dir} do
    mod = buggy(dir)
    assert {:crash, report} = Fuzz.fuzz(mod, count: 2000, seed: 2, keep_going: true, max_failures: 2)
    assert report =~ ~r/^CorralTest\.Fuzzed: 2000 calls over 2 functions /
    assert report =~ "2 crashes, no hangs"
    assert report =~ "left out after 2 crashes or hangs: buggy/1"
    assert [_, _] = crashes = Regex.scan(~r/on the call\n  CorralTest\.Fuzzed\.buggy\(\{/, report)
    # Each crash took its VM down, and a new one went on.
    assert vms(report) == length(crashes) + 1
    assert report =~ ~r/buggy\/1\s+no\s+\d+\s+\d+\s+\d+\s+0\s+2/
  end

  test "a call over the time limit is a hang, reported with its input; the run goes on unless --fail-on-hang", %{dir: dir} do
    mod =
      build(dir, CorralTest.FuzzHang, "fuzz_hang", """
      #include <corral.h>
      #include <time.h>
      /* Never returns in time when given 3. */
      CORRAL_NIF(stall) {
          if (corral_arg_size(c, 0) == 3) { struct timespec t = {30, 0}; nanosleep(&t, NULL); }
          return corral_make_ok(c);
      }
      CORRAL_NIF(quick) { return corral_make_i64(c, corral_arg_i64(c, 0)); }
      CORRAL_DOC("stall", 1, "stall(non_neg_integer()) :: :ok", "");
      CORRAL_MODULE(CorralTest.FuzzHang, CORRAL_FN("stall", stall, 1), CORRAL_FN("quick", quick, 1));
      """)

    assert {:ok, summary} = Fuzz.fuzz(mod, count: 400, seed: 3, timeout: 300, max_failures: 2)
    assert summary =~ ~r/^CorralTest\.FuzzHang: 400 calls over 2 functions /
    # Every hang is reported with its input and costs its VM; a new one goes
    # on. (How many there are depends on the machine's load: a slow call is
    # a hang too.)
    [_, hangs] = Regex.run(~r/no crashes, (\d+) hangs? \(time limit 300 ms per call\)/, summary)
    reports = Regex.scan(~r/^hang: no return within 300 ms from\n  CorralTest\.FuzzHang\.(\w+\(.*\))\n/m, summary, capture: :all_but_first)
    assert length(reports) == String.to_integer(hangs)
    assert vms(summary) == length(reports) + 1
    assert ["stall(3)"] in reports
    assert summary =~ "left out after 2 crashes or hangs: stall/1"
    assert summary =~ ~r/stall\/1\s+yes\s+\d+\s+\d+\s+\d+\s+2\s+0/

    assert {:hang, report} = Fuzz.fuzz(mod, count: 400, seed: 3, timeout: 300, fail_on_hang: true)
    assert report =~ "no crashes, 1 hang"
    assert vms(report) == 1
    assert report =~ "CorralTest.FuzzHang.stall(3)"
  end

  test "spec-aware arguments reach a crash that needs a resource from new and an index of 7", %{dir: dir} do
    mod =
      build(dir, CorralTest.FuzzDeep, "fuzz_deep", """
      #include <corral.h>
      typedef struct { size_t size; } Box;
      CORRAL_RESOURCE(Box, NULL);
      typedef struct { int unused; } Other;
      CORRAL_RESOURCE(Other, NULL);
      CORRAL_NIF(box_new) {
          size_t size = corral_arg_int_range(c, 0, 0, 1000);
          Box *b = corral_resource_new(c, Box, 0);
          b->size = size;
          return corral_make_resource(c, b);
      }
      CORRAL_NIF(other_new) { return corral_make_resource(c, corral_resource_new(c, Other, 0)); }
      /* The bug: only a valid Box and an index of 7 reach the NULL store. */
      CORRAL_NIF(poke) {
          Box *b = corral_arg_resource(c, 0, Box);
          size_t i = corral_arg_size(c, 1);
          if (i == 7) { volatile int *p = NULL; *p = (int)b->size; }
          return corral_make_ok(c);
      }
      CORRAL_NIF(label) { return corral_make_ok_tuple(c, corral_arg(c, 0)); }
      CORRAL_DOC("new", 1, "new(0..1000) :: reference()", "");
      CORRAL_DOC("other", 0, "other() :: reference()", "");
      CORRAL_DOC("poke", 2, "poke(reference(), non_neg_integer()) :: :ok", "");
      CORRAL_DOC("label", 1, "label(:red | :green) :: {:ok, atom()}", "");
      CORRAL_MODULE(CorralTest.FuzzDeep, CORRAL_FN("new", box_new, 1), CORRAL_FN("other", other_new, 0),
                    CORRAL_FN("poke", poke, 2), CORRAL_FN("label", label, 1));
      """)

    assert {:crash, report} = Fuzz.fuzz(mod, count: 3000, seed: 4)
    assert report =~ ~r/on the call\n  CorralTest\.FuzzDeep\.poke\(CorralTest\.FuzzDeep\.new\(.*\), 7\)\n/
    assert report =~ ~r/poke\/2\s+yes\s/
    refute report =~ "no spec could be read"
  end

  test "objects inside {:ok, ...} and tuples of typed results are reused: a crash behind two of them", %{dir: dir} do
    mod =
      build(dir, CorralTest.FuzzTyped, "fuzz_typed", """
      #include <corral.h>
      typedef struct { size_t size; } Box;
      CORRAL_RESOURCE(Box, NULL);
      typedef struct { int n; } Lid;
      CORRAL_RESOURCE(Lid, NULL);
      CORRAL_DEF(box_open, (ok, (res, Box)), (u8, size)) {
          if (size > 200) corral_return_error(c, "too_big");
          Box *b = corral_resource_new(c, Box, 0);
          b->size = size;
          return b;
      }
      /* {:ok, {n, [lid]}}: the object three levels down. */
      CORRAL_DEF(lid_list, (ok, (tuple, (u8, n), (term, lids))), (u8, n)) {
          ERL_NIF_TERM lid = corral_make_resource(c, corral_resource_new(c, Lid, 0));
          return (lid_list_result){n, enif_make_list1(corral_env(c), lid)};
      }
      /* The bug: only a Box, a Lid and an index of 7 reach the NULL store. */
      CORRAL_DEF(poke, void, (res, Box, b), (res, Lid, l), (u64, i)) {
          (void)c;
          if (i == 7) { volatile int *p = NULL; *p = (int)b->size + l->n; }
      }
      CORRAL_MODULE(CorralTest.FuzzTyped, CORRAL_EXPORT(box_open), CORRAL_EXPORT(lid_list), CORRAL_EXPORT(poke));
      """)

    assert {:crash, report} = Fuzz.fuzz(mod, count: 5000, seed: 8)

    assert report =~
             ~r/on the call\n  CorralTest\.FuzzTyped\.poke\(elem\(CorralTest\.FuzzTyped\.box_open\(.*\), 1\), Enum\.at\(elem\(elem\(CorralTest\.FuzzTyped\.lid_list\(.*\), 1\), 1\), 0\), 7\)\n/
  end

  test "a module compiled without debug info has no readable specs: arguments are untyped, and the summary says so", %{dir: dir} do
    mod =
      build(
        dir,
        CorralTest.FuzzNoDebug,
        "fuzz_no_debug",
        """
        #include <corral.h>
        CORRAL_NIF(echo) { return corral_arg(c, 0); }
        CORRAL_DOC("echo", 1, "echo(byte()) :: byte()", "");
        CORRAL_MODULE(CorralTest.FuzzNoDebug, CORRAL_FN("echo", echo, 1));
        """,
        false
      )

    assert {:ok, summary} = Fuzz.fuzz(mod, count: 100, seed: 7)
    assert summary =~ "no spec could be read: CorralTest.FuzzNoDebug was compiled without debug info"
    assert summary =~ ~r/echo\/1\s+no\s+100\s/
  end

  describe "the argument generator" do
    # The argument types of a spec, as the fuzzer's VM reads them.
    defp spec_args(spec, arity) do
      mod = Module.concat(CorralTest.TypeProbe, "M#{System.unique_integer([:positive])}")
      args = Enum.map_join(1..arity, ", ", fn _ -> "_" end)
      name = spec |> String.split("(") |> hd()
      [{^mod, beam}] = compile_string("defmodule #{inspect(mod)} do\n@spec #{spec}\ndef #{name}(#{args}), do: :ok\nend", true)
      {:ok, [{_, [clause]}]} = Code.Typespec.fetch_specs(beam)
      :code.purge(mod)
      :code.delete(mod)
      Generator.arg_types(clause)
    end

    test "terms follow the type most of the time, with near misses and other terms" do
      :rand.seed(:exsss, 5)
      gen = Generator.new()
      types = spec_args("f(byte(), :red | :green, binary(), -5..5) :: :ok", 4)

      samples = for _ <- 1..2000, do: elem(Generator.args(gen, {:f, 4}, types), 0)
      bytes = Enum.map(samples, &Enum.at(&1, 0))
      share = fn list, pred -> Enum.count(list, pred) / length(list) end

      assert share.(bytes, &(is_integer(&1) and &1 in 0..255)) > 0.7
      assert -1 in bytes and 256 in bytes
      assert 0 in bytes and 255 in bytes
      assert share.(Enum.map(samples, &Enum.at(&1, 1)), &(&1 in [:red, :green])) > 0.7
      assert share.(Enum.map(samples, &Enum.at(&1, 2)), &is_binary/1) > 0.7
      ranged = Enum.map(samples, &Enum.at(&1, 3))
      assert share.(ranged, &(is_integer(&1) and &1 in -5..5)) > 0.7
      assert -6 in ranged and 6 in ranged
    end

    test "strings and binaries come from the dictionary half of the time, when there is one" do
      :rand.seed(:exsss, 10)
      types = spec_args("f(String.t(), binary()) :: :ok", 2)
      gen = Generator.new()
      Generator.use_dictionary(["SELECT 1", "BEGIN"])

      try do
        samples = for _ <- 1..1000, do: elem(Generator.args(gen, {:f, 2}, types), 0)

        for k <- 0..1 do
          words = Enum.count(samples, &(Enum.at(&1, k) in ["SELECT 1", "BEGIN"]))
          assert words > 300 and words < 800
        end
      after
        Generator.use_dictionary([])
      end

      samples = for _ <- 1..300, do: elem(Generator.args(gen, {:f, 2}, types), 0)
      refute Enum.any?(samples, fn [a, b] -> a == "SELECT 1" or b == "SELECT 1" end)
    end

    test "reference() arguments reuse what earlier calls returned, and reports write them as those calls" do
      :rand.seed(:exsss, 6)
      ref = make_ref()
      gen = Generator.returned(Generator.new(), {:new, 1}, [8], [{:lit, 8}], ref)
      types = spec_args("get(reference(), non_neg_integer()) :: byte()", 2)
      samples = for _ <- 1..1000, do: Generator.args(gen, {:get, 2}, types)
      from_new = Enum.filter(samples, fn {[r, _], _} -> r == ref end)
      assert length(from_new) > 600

      {_, descs} = hd(from_new)
      assert Generator.render(Buffer.Native, :get, [hd(descs), {:lit, 7}]) == "Buffer.Native.get(Buffer.Native.new(8), 7)"
    end
    test "references inside {:ok, ...}, tuples and lists of a result are reused, written as where they came from" do
      :rand.seed(:exsss, 9)
      a = make_ref()
      b = make_ref()
      gen = Generator.returned(Generator.new(), {:open, 1}, [8], [{:lit, 8}], {:ok, {a, [b]}})
      types = spec_args("get(reference()) :: byte()", 1)
      samples = for _ <- 1..1000, do: Generator.args(gen, {:get, 1}, types)
      assert {_, [from_a]} = Enum.find(samples, &match?({[^a], _}, &1))
      assert {_, [from_b]} = Enum.find(samples, &match?({[^b], _}, &1))
      assert Generator.render(M, :get, [from_a]) == "M.get(elem(elem(M.open(8), 1), 0))"
      assert Generator.render(M, :get, [from_b]) == "M.get(Enum.at(elem(elem(M.open(8), 1), 1), 0))"
    end
  end

  test "a dictionary's words reach a crash that random strings do not", %{dir: dir} do
    mod =
      build(dir, CorralTest.FuzzDict, "fuzz_dict", """
      #include <corral.h>
      #include <string.h>
      /* The bug: only the exact words reach the NULL store. */
      CORRAL_NIF(parse) {
          corral_binary s = corral_arg_binary(c, 0);
          if (s.size == 10 && memcmp(s.data, "magic word", 10) == 0) { volatile int *p = NULL; *p = 1; }
          return corral_make_ok(c);
      }
      CORRAL_DOC("parse", 1, "parse(String.t()) :: :ok", "");
      CORRAL_MODULE(CorralTest.FuzzDict, CORRAL_FN("parse", parse, 1));
      """)

    assert {:ok, _} = Fuzz.fuzz(mod, count: 500, seed: 5)
    assert {:crash, report} = Fuzz.fuzz(mod, count: 500, seed: 5, dictionary: ["SELECT 1", "magic word"])
    assert report =~ ~s|CorralTest.FuzzDict.parse("magic word")|
  end

  test "the task reads a dictionary file and refuses a missing one", %{dir: dir} do
    assert_raise Mix.Error, ~r/cannot read the dictionary .*missing\.dict: no such file or directory/, fn ->
      Fuzz.run(["Some.Module", "--dict", Path.join(dir, "missing.dict")])
    end
  end

  test "the task refuses unknown options" do
    assert_raise Mix.Error, ~r/unknown or invalid option --bogus/, fn -> Fuzz.run(["Some.Module", "--bogus"]) end
  end
end
