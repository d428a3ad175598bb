defmodule CorralTest.ErlangStubsTest do
  # corral_stubs: the Erlang module of a library, generated from the built
  # library. Each test builds a CORRAL_ERLANG_MODULE library of its own,
  # generates its module, compiles and loads it in this VM, and calls it as
  # an Erlang user would.
  use ExUnit.Case, async: false
  # Builds libraries and Erlang modules: with the sanitizers and both
  # cores busy, more than ExUnit's default 60 s.
  @moduletag timeout: 600_000

  @tmp Path.expand("../_build/test/corral_stubs", __DIR__)

  setup do
    dir = Path.join(@tmp, "t#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)
    {:ok, dir: dir}
  end

  # A library for Erlang module `name` from C `body` (ending with its
  # CORRAL_ERLANG_MODULE), built with Corral's compiler.
  defp build(dir, name, body) do
    src = Path.join(dir, "c")
    File.mkdir_p!(src)
    File.write!(Path.join(src, "lib.c"), "#include <corral.h>\n" <> body)
    Corral.Compiler.build!(name, otp_app: :corral, lib: "stubs_#{name}", path: src, compile_commands: false).so
  end

  defp generate(so, out, opts \\ %{}), do: :corral_stubs.generate(String.to_charlist(so), Map.put(opts, :out, out))

  # Compiles and loads the generated module from dir/ebin, with the library
  # in dir/priv, as plain make builds lay them out (no app given to the
  # generator: the library is found beside the module's ebin).
  defp load(dir, so, erl) do
    ebin = Path.join(dir, "ebin")
    File.mkdir_p!(ebin)
    File.mkdir_p!(Path.join(dir, "priv"))
    File.cp!(so, Path.join([dir, "priv", Path.basename(so)]))
    {:ok, module} = :compile.file(String.to_charlist(erl), [:debug_info, :return_errors, outdir: String.to_charlist(ebin)])
    Code.prepend_path(ebin)

    on_exit(fn ->
      Code.delete_path(ebin)
      :code.purge(module)
      :code.delete(module)
      :code.purge(module)
    end)

    {:module, ^module} = :code.ensure_loaded(module)
    module
  end

  @counter """
  typedef struct { int64_t value; } Counter;
  CORRAL_RESOURCE(Counter, NULL);
  CORRAL_DEF(new, term, (i64, start))
  {
      Counter *k = corral_resource_new(c, Counter, 0);
      k->value = start;
      return corral_make_resource(c, k);
  }
  CORRAL_DOC_OF(new, "A new counter.\\nSecond line.");
  CORRAL_DEF(add, i64, (res, Counter, counter), (i64, delta)) { return counter->value = corral_add_i64(c, counter->value, delta); }
  CORRAL_NIF(tagged)
  {
      corral_raise_exception(c, "full", "no room for %s", corral_show(c, corral_arg(c, 0)));
  }
  CORRAL_NIF(with_fields) { corral_raise_fields(c, "full", CORRAL_WITH(corral_with_i64("size", 3)), NULL); }
  CORRAL_NIF(runtime) { corral_raise(c, "the device is on fire"); }
  /* Text of one's own in Latin-1, as C code may hold. */
  CORRAL_NIF(runtime_latin) { corral_raise(c, "caf\\xe9 %s", "cr\\xe8me"); }
  CORRAL_THREAD_NIF(slow)
  {
      int64_t ms = corral_arg_int_range(c, 0, 0, 10000);
      for (int64_t k = 0; k < ms && !corral_cancelled(c); k++) {
          struct timespec t = {0, 1000000};
          nanosleep(&t, NULL);
      }
      return corral_make_i64(c, ms);
  }
  /* Sends 0..n-1 to its caller, then returns n. */
  CORRAL_THREAD_NIF(items)
  {
      int64_t n = corral_arg_int_range(c, 0, 0, 100000);
      for (int64_t i = 0; i < n; i++) corral_emit(c, corral_make_i64(c, i));
      return corral_make_i64(c, n);
  }
  typedef struct { double x; int64_t n; } Pt;
  CORRAL_STRUCT(pt_shape, Pt, CORRAL_AS_STRUCT("Elixir.Geo.Pt"), CORRAL_FIELD(Pt, x, CORRAL_DOUBLE), CORRAL_FIELD(Pt, n, CORRAL_I64));
  CORRAL_STRUCT(pt_record, Pt, CORRAL_AS_RECORD("pt"), CORRAL_FIELD(Pt, x, CORRAL_DOUBLE), CORRAL_FIELD(Pt, n, CORRAL_I64));
  CORRAL_DEF(pt_n, i64, (struct, pt_shape, Pt, p), (struct, pt_record, Pt, q)) { (void)c; return p.n + q.n; }
  CORRAL_DOC("tagged", 1, "tagged(x :: term()) :: no_return()", "");
  CORRAL_DOC("with_fields", 0, "with_fields() :: %{size: integer(), name: String.t()} | :ok", "");
  CORRAL_DOC("slow", 1, "slow(ms :: 0..10000) :: integer()", "Sleeps.");
  CORRAL_ERLANG_MODULE(%MOD%,
      CORRAL_EXPORT(new), CORRAL_EXPORT(add), CORRAL_EXPORT(pt_n), CORRAL_FN("tagged", tagged, 1), CORRAL_FN("with_fields", with_fields, 0),
      CORRAL_FN("runtime", runtime, 0), CORRAL_FN("runtime_latin", runtime_latin, 0), CORRAL_FN_THREAD("slow", slow, 1), CORRAL_FN_THREAD("items", items, 1));
  """

  defp counter_lib(dir, name), do: build(dir, name, "#include <time.h>\n" <> String.replace(@counter, "%MOD%", Atom.to_string(name)))

  defp raised(fun) do
    fun.()
    :no_exception
  catch
    class, reason -> {class, reason, :unicode.characters_to_binary(:erl_error.format_exception(class, reason, __STACKTRACE__))}
  end

  test "functions, specs, docs and Erlang errors from the built library", %{dir: dir} do
    so = counter_lib(dir, :stubs_counter)
    erl = Path.join([dir, "src", "stubs_counter.erl"])
    assert generate(so, erl, %{timeout: 300}) == :ok
    text = File.read!(erl)
    assert text =~ "%% @doc A new counter.\n%% Second line.\n"
    m = load(dir, so, erl)

    k = m.new(40)
    assert m.add(k, 2) == 42

    # Specs from typed declarations and CORRAL_DOC, translated to Erlang.
    {:ok, {_, [abstract_code: {:raw_abstract_v1, forms}]}} = :beam_lib.chunks(String.to_charlist(Path.join([dir, "ebin", "stubs_counter.beam"])), [:abstract_code])
    specs = for {:attribute, _, :spec, {{f, a}, [spec]}} <- forms, into: %{}, do: {{f, a}, IO.iodata_to_binary(:erl_pp.form({:attribute, 0, :spec, {{f, a}, [spec]}}))}
    assert specs[{:add, 2}] =~ "add(Counter :: counter(), Delta :: integer()) -> integer()"
    # The resource's own type, exported: counter() :: reference().
    assert text =~ "-export_type([counter/0]).\n-type counter() :: reference().\n"
    {:ok, {_, [abstract_code: {:raw_abstract_v1, all_forms}]}} = :beam_lib.chunks(String.to_charlist(Path.join([dir, "ebin", "stubs_counter.beam"])), [:abstract_code])
    assert {:attribute, _, :type, {:counter, {:type, _, :reference, []}, []}} = List.keyfind(Enum.filter(all_forms, &match?({:attribute, _, :type, _}, &1)), :type, 2)
    assert specs[{:with_fields, 0}] =~ "with_fields() -> \#{size := integer(), name := binary()} | ok"
    assert specs[{:slow, 1}] =~ "slow(Ms :: 0..10000) -> integer()"
    # Structure parameters: the shapes' types, in Erlang's map and tuple syntax.
    assert String.replace(specs[{:pt_n, 2}], ~r/\s+/, " ") =~
             "pt_n(P :: \#{'__struct__' := 'Elixir.Geo.Pt', x := number(), n := integer()}, Q :: {pt, number(), integer()}) -> integer()"
    assert m.pt_n(%{__struct__: Geo.Pt, x: 1.0, n: 2}, {:pt, 0.5, 3}) == 5
    assert {:slow_async, 1} in m.module_info(:exports)

    # badarg and badarith, with the message under the argument.
    {:error, :badarg, shown} = raised(fn -> m.add(k, :many) end)
    assert shown =~ "stubs_counter:add/2"
    assert shown =~ "*** argument 2: expected an integer in -9223372036854775808..9223372036854775807, got: many"
    {:error, :badarith, shown} = raised(fn -> m.add(m.new(9_223_372_036_854_775_807), 1) end)
    assert shown =~ "integer overflow"

    # Tags of one's own, with fields, runtime errors; terms in Erlang syntax.
    assert {:error, {:full, "stubs_counter:tagged/1: no room for {a,\"b\"}"}, _} = raised(fn -> m.tagged({:a, String.to_charlist("b")}) end)
    assert {:error, {:full, %{size: 3} = fields}, _} = raised(fn -> m.with_fields() end)
    refute Map.has_key?(fields, :message)
    assert {:error, {:runtime_error, "stubs_counter:runtime/0: the device is on fire"}, shown} = raised(fn -> m.runtime() end)
    assert shown =~ "the device is on fire"
    # Bytes that are not UTF-8 in the text: read as Latin-1, so the message is UTF-8.
    assert {:error, {:runtime_error, "stubs_counter:runtime_latin/0: café crème"}, _} = raised(fn -> m.runtime_latin() end)

    # A thread job: waited for, its own errors raised in the caller, and a
    # timeout (the generator's timeout: option) raised as {timeout, Message}.
    assert m.slow(5) == 5
    {:error, :badarg, shown} = raised(fn -> m.slow(-1) end)
    assert shown =~ "*** argument 1: expected an integer in 0..10000, got: -1"
    assert {:error, {:timeout, message}, _} = raised(fn -> m.slow(2000) end)
    assert message =~ "stubs_counter:slow/1: the thread job did not reply within 300 ms"
    assert is_map(m.__corral_live__())

    # Items a job sends: name/N drops them (acking each, or the job would
    # wait for room after 64); a process that reads them acks them itself.
    assert m.items(1000) == 1000
    refute_received {:corral_item, _, _}
    job = m.items_async(200)
    taken = for _ <- 1..200, do: (receive do {:corral_item, ^job, i} -> m.__corral_ack__(job, 1) && i after 5000 -> :none end)
    assert taken == Enum.to_list(0..199)
    assert_receive {:corral_reply, ^job, {:ok, 200}}, 5000
  end

  test "in a test build, an error raised in C has its C file and line as the top frame", %{dir: dir} do
    # Corral.Compiler builds with CORRAL_RAISE_LOCATIONS in the test
    # environment, for Erlang modules too.
    so = counter_lib(dir, :stubs_placed)
    erl = Path.join([dir, "src", "stubs_placed.erl"])
    assert generate(so, erl) == :ok
    m = load(dir, so, erl)
    c_file = Path.join([dir, "c", "lib.c"])

    placed = fn fun, name, args, needle ->
      try do
        fun.()
        flunk("expected a raise")
      catch
        :error, reason ->
          [{^m, ^name, arity, here}, {^m, ^name, ^args, _} | _] = __STACKTRACE__
          assert arity == length(args)
          assert String.ends_with?(List.to_string(here[:file]), "/c/lib.c")
          assert here[:line] == CorralTest.CSource.line_of(c_file, needle)
          # The shell's explanation still comes from the top frame.
          {reason, :unicode.characters_to_binary(:erl_error.format_exception(:error, reason, __STACKTRACE__))}
      end
    end

    {{:runtime_error, "stubs_placed:runtime/0: the device is on fire"}, _} =
      placed.(fn -> m.runtime() end, :runtime, [], "CORRAL_NIF(runtime)")

    k = m.new(1)
    {:badarg, shown} = placed.(fn -> m.add(k, :many) end, :add, [k, :many], "CORRAL_DEF(add,")
    assert shown =~ "*** argument 2: expected an integer in"

    {{:full, %{size: 3} = fields}, _} = placed.(fn -> m.with_fields() end, :with_fields, [], "CORRAL_NIF(with_fields)")
    refute Map.has_key?(fields, :message)

    # A thread job: placed at the read on the pool thread, raised in the caller.
    {:badarg, shown} = placed.(fn -> m.slow(-1) end, :slow, [-1], "corral_arg_int_range(c, 0, 0, 10000)")
    assert shown =~ "*** argument 1: expected an integer in 0..10000, got: -1"
  end

  # The message a tagged error carries for term (made in the calling
  # process, which the scheduler runs the NIF for).
  defp tagged_message(m, term) do
    {:error, {:full, "stubs_bounded:tagged/1: no room for " <> shown}, _} = raised(fn -> m.tagged(term) end)
    shown
  end

  test "terms in Erlang messages: printed by the VM when small, bounded when not, on no long schedule", %{dir: dir} do
    import Bitwise
    so = counter_lib(dir, :stubs_bounded)
    erl = Path.join([dir, "src", "stubs_bounded.erl"])
    assert generate(so, erl) == :ok
    m = load(dir, so, erl)

    # Small terms: exactly as enif_snprintf's %T writes them.
    assert tagged_message(m, {:a, String.to_charlist("b"), [1 | 2], %{k: <<1, 2>>}, "s", 1 <<< 100}) ==
             ~s({a,"b",[1|2],\#{k=><<1,2>>},<<"s">>,1267650600228229401496703205376})
    assert tagged_message(m, Enum.to_list(1..200)) == "[" <> Enum.map_join(1..200, ",", &Integer.to_string/1) <> "]"

    # Floats as Erlang prints them (~p, float_to_list(F, [short])), not as
    # %T does (1.500000e+00): alone, inside containers, and in a cut term.
    for f <- [1.5, 0.1, 1.0e10, 1.0e-7, 100.0, 0.001, -0.0, 2.5e-5, 123_456_789.125, 9_007_199_254_740_992.0, 5.0e-324, 1.7976931348623157e308] do
      assert tagged_message(m, f) == List.to_string(:io_lib.format(~c"~p", [f]))
    end

    assert tagged_message(m, {1.5, [0.25, "ab", 3], %{x: 1.0e10}, String.to_charlist("abcdefghijklmnopqrstuvwxyz")}) ==
             ~s({1.5,[0.25,<<"ab">>,3],\#{x=>1.0e10},"abcdefghijklmnopqrstuvwxyz"})

    # A Latin-1 binary: written as its bytes, so the message stays UTF-8
    # (the shell drops an explanation line that is not).
    assert tagged_message(m, {<<"caf", 233>>, :ok}) == "{<<99,97,102,233>>,ok}"
    assert String.starts_with?(tagged_message(m, :binary.copy(<<"caf", 233>>, 1000)), "<<99,97,102,233,99,")
    {:error, :badarg, shown} = raised(fn -> m.add(m.new(1), <<"caf", 233>>) end)
    assert shown =~ "*** argument 2: expected an integer in -9223372036854775808..9223372036854775807, got: <<99,97,102,233>>"

    cut = tagged_message(m, List.duplicate(1.5, 5000))
    assert String.starts_with?(cut, "[1.5,1.5,")
    assert String.ends_with?(cut, ",1.5|...]")

    previous = :erlang.system_monitor(self(), [{:long_schedule, 500}])

    try do
      # 2^1500000 took 15 s on a normal scheduler; the nested lists print
      # 312 million leaves; the others are walked no further than shown.
      assert tagged_message(m, 1 <<< 1_500_000) == "#Integer<1500001 bits>"
      assert tagged_message(m, {-(1 <<< 5000)}) == "{#Integer<negative, 5001 bits>}"
      nested = tagged_message(m, Enum.reduce(1..5, 1, fn _, a -> List.duplicate(a, 50) end))
      assert String.starts_with?(nested, "[[[[[1,1,1,")
      assert nested =~ "|...]"
      assert byte_size(nested) < 2048
      assert tagged_message(m, List.duplicate(?a, 1_000_000)) == ~s(") <> String.duplicate("a", 256) <> ~s("...)
      assert tagged_message(m, :binary.copy("a", 10_000_000)) =~ ~r/^<<"a+"\.\.\.>>$/
      assert tagged_message(m, :binary.copy(<<1>>, 10_000_000)) =~ ~r/^<<1,1,.*,\.\.\.>>$/
      assert tagged_message(m, List.to_tuple(Enum.to_list(1..1_000_000))) =~ ~r/^\{1,2,3,.*,\.\.\.\}$/
      assert tagged_message(m, Map.new(1..1_000_000, &{&1, &1})) =~ ~r/^\#\{.*=>.*,\.\.\.\}$/
      refute_receive {:monitor, _, :long_schedule, _}, 100
    after
      case previous do
        :undefined -> :erlang.system_monitor(:undefined)
        {pid, options} -> :erlang.system_monitor(pid, options)
      end
    end
  end

  # The generator alone (see :toolchain in compiler_test.exs).
  @tag :toolchain
  test "a library built for another ABI: the module loads, says why, and every function raises it", %{dir: dir} do
    so = counter_lib(dir, :stubs_abi)
    erl = Path.join([dir, "src", "stubs_abi.erl"])
    :ok = generate(so, erl)
    File.write!(erl, String.replace(File.read!(erl), "{corral, #{Corral.abi()},", "{corral, 999,"))
    m = ExUnit.CaptureLog.with_log(fn -> load(dir, so, erl) end) |> elem(0)
    assert {:error, {:not_loaded, sentence}, shown} = raised(fn -> m.new(1) end)
    assert sentence =~ "stubs_abi could not load its native library"
    assert sentence =~ "it was built by a different version of Corral; build it again with this one " <>
                         "(mix compile --force; rebar3 clean, then rebar3 compile; make clean all)"
    # The shell shows the sentence whole, not cut inside the printed term.
    assert shown =~ "*** " <> sentence
  end

  # The generator alone (see :toolchain in compiler_test.exs).
  @tag :toolchain
  test "the module is rewritten only when its text changes", %{dir: dir} do
    so = counter_lib(dir, :stubs_same)
    erl = Path.join(dir, "stubs_same.erl")
    :ok = generate(so, erl)
    File.touch!(erl, System.os_time(:second) - 100)
    before = File.stat!(erl, time: :posix).mtime
    :ok = generate(so, erl)
    assert File.stat!(erl, time: :posix).mtime == before
  end

  # The generator alone (see :toolchain in compiler_test.exs).
  @tag :toolchain
  test "what cannot be generated is said in a sentence", %{dir: dir} do
    so = counter_lib(dir, :stubs_named)
    assert {:error, text} = generate(so, Path.join(dir, "other_name.erl"))
    assert IO.iodata_to_binary(text) =~ "declares CORRAL_ERLANG_MODULE(stubs_named, ...) but is generated as other_name"

    elixir_so = CorralTest.Native.__corral_library__()
    assert {:error, text} = generate(elixir_so, Path.join(dir, "x.erl"))
    assert IO.iodata_to_binary(text) =~ "declares CORRAL_MODULE(CorralTest.Native, ...), an Elixir module"

    assert {:error, text} = generate(Path.join(dir, "missing.so"), Path.join(dir, "x.erl"))
    assert IO.iodata_to_binary(text) =~ "no library at"

    File.write!(Path.join(dir, "junk.so"), "junk")
    assert {:error, text} = generate(Path.join(dir, "junk.so"), Path.join(dir, "x.erl"))
    assert IO.iodata_to_binary(text) =~ "not a shared library (neither ELF, Mach-O nor PE)"

    clash = build(dir, :stubs_clash, """
    CORRAL_NIF(fe) { return corral_arg(c, 0); }
    CORRAL_ERLANG_MODULE(stubs_clash, CORRAL_FN("format_error", fe, 2));
    """)

    assert {:error, text} = generate(clash, Path.join(dir, "stubs_clash.erl"))
    assert IO.iodata_to_binary(text) =~ "has format_error/2, a name the generated module uses itself"

    # A body reading past its row's arity: built as plain make builds (the
    # runtime from corral_all.c), since the Elixir build refuses it too.
    over = Path.join(dir, "over")
    File.mkdir_p!(over)
    File.write!(Path.join(over, "lib.c"), """
    #include <corral.h>
    CORRAL_NIF(two) { return corral_make_i64(c, corral_arg_i64(c, 0) + corral_arg_i64(c, 1)); }
    CORRAL_ERLANG_MODULE(stubs_over, CORRAL_FN("two", two, 1));
    """)
    config = Corral.Compiler.config(:stubs_over, otp_app: :corral, lib: "stubs_over", path: over)
    so = Path.join(over, "stubs_over.so")
    all = Path.expand("../include/corral_all.c", __DIR__)
    args = Corral.Compiler.compile_flags(config) ++ [Path.join(over, "lib.c"), all, "-o", so] ++ Corral.Compiler.link_flags(config, :linux)
    {_, 0} = System.cmd("cc", args, stderr_to_stdout: true)
    assert {:error, text} = generate(so, Path.join(dir, "stubs_over.erl"))
    assert IO.iodata_to_binary(text) ==
             "#{so}: two/1 reads argument 2 (index 1) at #{Path.join(over, "lib.c")}:2, but its row in the export table gives it 1 argument. " <>
               "Give the row the arity the body reads, or read only the arguments the row gives (indexes start at 0)"

    # A doc for a function the table lacks (the Elixir build refuses it too,
    # after linking: the library is there to generate from).
    assert_raise Mix.Error, ~r/nope\/1/, fn ->
      build(dir, :stubs_doc, """
      CORRAL_NIF(one) { return corral_arg(c, 0); }
      CORRAL_DOC("nope", 1, "nope(x :: term()) :: term()", "");
      CORRAL_ERLANG_MODULE(stubs_doc, CORRAL_FN("one", one, 1));
      """)
    end

    so = Corral.Compiler.config(:stubs_doc, otp_app: :corral, lib: "stubs_stubs_doc", path: Path.join(dir, "c")).so
    assert {:error, text} = generate(so, Path.join(dir, "stubs_doc.erl"))
    assert IO.iodata_to_binary(text) =~ "a CORRAL_DOC or typed declaration names nope/1, which is not in the export table"
  end

  # The generator alone (see :toolchain in compiler_test.exs).
  @tag :toolchain
  test "Elixir specs in Erlang: what translates, and what is said not to" do
    spec = fn text, name, arity ->
      case :corral_stubs.spec_to_erlang(text, name, arity) do
        {:ok, erlang} -> {:ok, List.to_string(erlang)}
        {:error, why} -> {:error, List.to_string(why)}
      end
    end

    assert spec.("f(x :: :ok | nil, k :: keyword(), s :: String.t(), l :: [0..255]) :: {:ok, charlist()}", :f, 4) ==
             {:ok, "f(X :: ok | nil, K :: [{atom(), term()}], S :: binary(), L :: [0..255]) -> {ok, string()}"}

    assert spec.("f() :: -1..1", :f, 0) == {:ok, "f() -> -1..1"}
    assert spec.("f(x :: t) :: t when t: var", :f, 1) == {:error, "`when` has no translation here"}
    assert spec.("f(x :: MyMod.Thing) :: :ok", :f, 1) == {:error, "a type variable or module name (MyMod) has no translation here"}
    assert spec.("f(a :: integer()) :: :ok", :f, 2) == {:error, "its argument count differs from the function's"}
    assert spec.("g() :: :ok", :f, 0) == {:error, "it does not start with the function's name"}

    # Written in Erlang: kept as it is when it parses, with its argument count checked.
    assert spec.("f(N :: integer(), Opts :: [atom()]) -> {ok, binary()} | {error, term()}", :f, 2) ==
             {:ok, "f(N :: integer(), Opts :: [atom()]) -> {ok, binary()} | {error, term()}"}
    assert spec.("f(X) -> X when X :: integer()", :f, 1) == {:ok, "f(X) -> X when X :: integer()"}
    assert spec.("f() -> ok", :f, 0) == {:ok, "f() -> ok"}
    assert spec.("f(X :: integer()) -> integer()", :f, 2) == {:error, "its argument count differs from the function's"}
    assert spec.("f(X :: integer()) -> -> integer()", :f, 1) == {:error, "it reads as an Erlang spec but does not parse as one"}
    assert spec.("f(x :: integer()) = integer()", :f, 1) ==
             {:error, "it is neither name(args) :: type (Elixir) nor name(Args) -> Type (Erlang)"}
  end

  test "CORRAL_ALIAS in an Erlang module: its own function, named in its errors, with the spec renamed", %{dir: dir} do
    so =
      build(dir, :stubs_alias, """
      CORRAL_DEF(twice, i64, (i64, n)) { return corral_mul_i64(c, n, 2); }
      CORRAL_ALIAS(double_it, twice);
      CORRAL_ERLANG_MODULE(stubs_alias, CORRAL_EXPORT(twice), CORRAL_EXPORT_FLAGS(double_it, CORRAL_DIRTY_CPU));
      """)

    erl = Path.join([dir, "src", "stubs_alias.erl"])
    assert generate(so, erl) == :ok
    text = File.read!(erl)
    assert text =~ "-spec twice(N :: integer()) -> integer().\n"
    assert text =~ "-spec double_it(N :: integer()) -> integer().\ndouble_it(N) ->"
    m = load(dir, so, erl)
    assert m.double_it(21) == 42 and m.twice(21) == 42
    assert {:error, :badarg, formatted} = raised(fn -> m.double_it(:x) end)
    assert formatted =~ "stubs_alias:double_it/1"
    assert formatted =~ "*** argument 1: expected an integer"
  end

  test "a CORRAL_DOC spec in Erlang syntax is the module's spec; one with no Erlang form is a warning", %{dir: dir} do
    so =
      build(dir, :stubs_erlspec, """
      CORRAL_NIF(scale) { return corral_make_i64(c, corral_arg_i64(c, 0) * corral_arg_i64(c, 1)); }
      CORRAL_NIF(ident) { return corral_arg(c, 0); }
      CORRAL_DOC("scale", 2, "scale(Value :: integer(), Factor :: pos_integer()) -> integer()", "Value times Factor.");
      CORRAL_DOC("ident", 1, "ident(x :: t) :: t when t: var", "");
      CORRAL_ERLANG_MODULE(stubs_erlspec, CORRAL_FN("scale", scale, 2), CORRAL_FN("ident", ident, 1));
      """)

    erl = Path.join([dir, "src", "stubs_erlspec.erl"])
    me = self()
    assert generate(so, erl, %{warn: &send(me, {:warning, List.to_string(&1)})}) == :ok
    text = File.read!(erl)
    assert text =~ "-spec scale(Value :: integer(), Factor :: pos_integer()) -> integer().\nscale(Value, Factor) ->"
    assert_received {:warning, warning}
    assert warning ==
             "the spec of stubs_erlspec:ident/1, ident(x :: t) :: t when t: var, has no Erlang form here, " <>
               "so the module has none for it: `when` has no translation here"
    assert text =~ "%% (#{warning})\n"
    refute_received {:warning, _}

    # Said when the module is written; a build that changes nothing is quiet.
    assert generate(so, erl, %{warn: &send(me, {:warning, List.to_string(&1)})}) == :ok
    refute_received {:warning, _}

    m = load(dir, so, erl)
    assert m.scale(6, 7) == 42
    {:ok, {_, [abstract_code: {:raw_abstract_v1, forms}]}} = :beam_lib.chunks(String.to_charlist(Path.join([dir, "ebin", "stubs_erlspec.beam"])), [:abstract_code])
    # The library's functions' specs (corral_raise/3 is Corral's own).
    assert [{:scale, 2}] == for({:attribute, _, :spec, {{f, _} = fa, _}} <- forms, not String.starts_with?(Atom.to_string(f), "corral_"), do: fa)
  end
end
