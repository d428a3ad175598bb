defmodule CorralTest.HooksTest do
  # Library hooks (CORRAL_ON_LOAD, CORRAL_ON_UNLOAD) and load data, with
  # CorralTest.Hooks (test/support/c_src/corral_hooks/hooks.c). What needs a
  # failed load, an upgrade or an unload runs in a VM of its own, which
  # environment variables steer: the library's hooks write what happened to
  # the CORRAL_HOOKS_LOG file, in order.
  use ExUnit.Case, async: false

  # Each test builds libraries or starts VMs: minutes on a busy machine.
  @moduletag timeout: 600_000

  @tmp Path.expand("../_build/test/corral_hooks", __DIR__)
  @root Path.expand("..", __DIR__)

  setup do
    dir = Path.join(@tmp, "t#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)
    {:ok, dir: dir}
  end

  defp run_vm(script, env), do: CorralTest.Case.run_elixir(script, env)

  # The log's lines once `done?` holds for them (the unload hook may run on
  # a pool thread after the VM's unload returned), or after 10 s.
  @read_log """
  read_log = fn log, done? ->
    Enum.reduce_while(1..500, [], fn _, _ ->
      lines = String.split(File.read!(log), "\\n", trim: true)
      if done?.(lines), do: {:halt, lines}, else: (Process.sleep(20); {:cont, lines})
    end)
  end
  """

  test "the load hook runs with the load data of use Corral, decoded by Corral's getters" do
    assert CorralTest.Hooks.seen() == {%{count: 3, name: "hooks ünï"}, false, 3}
  end

  test "a failing load hook fails the load: every function raises Corral.LoadError with its sentence" do
    script = """
    try do
      CorralTest.Hooks.seen()
      IO.puts("loaded")
    rescue
      e in Corral.LoadError -> IO.puts("raised: " <> Exception.message(e))
    end
    """

    cases = [
      {"CORRAL_HOOKS_FAIL", "no thanks", "its load hook failed: refused by the test: no thanks (count 3)"},
      # A getter's raise inside the hook: its message, without a function name.
      {"CORRAL_HOOKS_BAD_DATA", "1",
       "its load hook failed: key :name: expected an integer in -9223372036854775808..9223372036854775807, got: \"hooks ünï\""},
      {"CORRAL_HOOKS_SILENT_FAIL", "1", "its load hook (CORRAL_ON_LOAD) returned false without a reason (corral_load_fail gives one)"}
    ]

    for {var, value, sentence} <- cases do
      {out, 0} = run_vm(script, [{var, value}])
      assert out =~ "raised: CorralTest.Hooks.seen/0: CorralTest.Hooks could not load its native library ", out
      assert out =~ "libcorral_hooks.so: " <> sentence <> "\n", out
      refute out =~ "loaded\n"
    end
  end

  test "an upgrade is told apart, and each version's unload hook runs when it is purged", %{dir: dir} do
    log = Path.join(dir, "log")
    File.write!(log, "")

    script = """
    #{@read_log}
    n = CorralTest.Hooks
    {_, false, 3} = n.seen()
    {^n, bin, file} = :code.get_object_code(n)
    {:module, ^n} = :code.load_binary(n, file, bin)
    {%{count: 3}, true, 3} = n.seen()
    :code.purge(n)
    old = read_log.(#{inspect(log)}, &(length(&1) >= 3))
    IO.puts("after purge: \#{inspect(old)}")
    :code.delete(n)
    :code.purge(n)
    all = read_log.(#{inspect(log)}, &(length(&1) >= 4))
    IO.puts("after delete: \#{inspect(all)}")
    """

    {out, status} = run_vm(script, [{"CORRAL_HOOKS_LOG", log}])
    assert status == 0, out
    # The old version learns it was replaced; the last one that it was not.
    assert out =~ ~s(after purge: ["load upgrade=0 count=3", "load upgrade=1 count=3", "unload replaced=1"])
    assert out =~ ~s(after delete: ["load upgrade=0 count=3", "load upgrade=1 count=3", "unload replaced=1", "unload replaced=0"])
  end

  test "the unload hook runs after the thread jobs still running and queued at the unload", %{dir: dir} do
    log = Path.join(dir, "log")
    File.write!(log, "")

    # One pool thread: a 600 ms job runs and a short one waits when the
    # old version is purged.
    script = """
    #{@read_log}
    n = CorralTest.Hooks
    {^n, bin, file} = :code.get_object_code(n)
    running = n.job_async(600)
    queued = n.job_async(1)
    Process.sleep(100)
    {:module, ^n} = :code.load_binary(n, file, bin)
    :code.purge(n)
    at_purge = File.read!(#{inspect(log)})
    600 = Corral.Job.await(n, running, 20_000)
    1 = Corral.Job.await(n, queued, 20_000)
    lines = read_log.(#{inspect(log)}, &Enum.any?(&1, fn l -> l =~ "unload" end))
    IO.puts("at purge: \#{inspect(at_purge)}")
    IO.puts("log: \#{inspect(lines)}")
    """

    {out, status} = run_vm(script, [{"CORRAL_HOOKS_LOG", log}, {"CORRAL_THREADS", "1"}])
    assert status == 0, out
    refute out =~ ~r/at purge: "[^"]*unload/
    assert out =~ ~s(log: ["load upgrade=0 count=3", "load upgrade=1 count=3", "job 600 done", "job 1 done", "unload replaced=1"])
  end

  # A library of C `files` (name => text), built with Corral's compiler.
  defp build(dir, name, files, opts \\ []) do
    src = Path.join(dir, "c_#{name}")
    File.mkdir_p!(src)
    for {file, text} <- files, do: File.write!(Path.join(src, file), "#include <corral.h>\n" <> text)
    Corral.Compiler.build!(name, [otp_app: :corral, lib: "hooks_#{name}", path: src, compile_commands: false] ++ opts).so
  end

  test "a library with two load or unload hooks does not build", %{dir: dir} do
    hook = "static bool load(corral_load *l) { (void)l; return true; }\n"
    unhook = "static void unload(const corral_unload *u) { (void)u; }\n"
    row = "CORRAL_NIF(one) { return corral_arg(c, 0); }\nCORRAL_ERLANG_MODULE(%M, CORRAL_FN(\"one\", one, 1));\n"

    # In one file: the C compiler refuses the second declaration.
    shown =
      ExUnit.CaptureIO.capture_io(:stderr, fn ->
        assert_raise Mix.Error, ~r/could not compile/, fn ->
          build(dir, :hooks_twice, %{"a.c" => hook <> "CORRAL_ON_LOAD(load);\nCORRAL_ON_LOAD(load);\n" <> String.replace(row, "%M", "hooks_twice")})
        end
      end)

    assert shown =~ "redefinition of ‘corral__CORRAL_ON_LOAD_appears_twice’" or
             shown =~ "redefinition of 'corral__CORRAL_ON_LOAD_appears_twice'"

    # In two files: the linker does.
    shown =
      ExUnit.CaptureIO.capture_io(:stderr, fn ->
        assert_raise Mix.Error, fn ->
          build(dir, :hooks_apart, %{
            "a.c" => unhook <> "CORRAL_ON_UNLOAD(unload);\n" <> String.replace(row, "%M", "hooks_apart"),
            "b.c" => unhook <> "CORRAL_ON_UNLOAD(unload);\n"
          })
        end
      end)

    assert shown =~ "multiple definition of `corral__CORRAL_ON_UNLOAD_appears_twice'" or
             shown =~ "duplicate symbol: corral__CORRAL_ON_UNLOAD_appears_twice"
  end

  test "use Corral refuses load data that code cannot hold" do
    error =
      assert_raise ArgumentError, fn ->
        Code.compile_string("""
        defmodule CorralTest.HooksBadData do
          use Corral, otp_app: :corral, lib: "corral_hooks", path: "test/support/c_src/corral_hooks", load_data: {:pid, self()}
        end
        """)
      end

    assert Exception.message(error) =~ "use Corral: :load_data must be a term that can be written in code"
  end

  # {Erlang modules}

  # The load hook of an Erlang module, decoding its load data with plain
  # enif calls: {fail, Text} fails the load with Text; anything else is
  # kept for seen/0.
  @erlang_lib """
  #include <string.h>
  static ErlNifEnv *data_env;
  static ERL_NIF_TERM data;
  static bool load(corral_load *l)
  {
      int arity;
      const ERL_NIF_TERM *e;
      char tag[8];
      ErlNifBinary text;
      if (enif_get_tuple(l->env, l->data, &arity, &e) && arity == 2 &&
          enif_get_atom(l->env, e[0], tag, sizeof tag, ERL_NIF_LATIN1) && strcmp(tag, "fail") == 0 &&
          enif_inspect_binary(l->env, e[1], &text))
          return corral_load_fail(l, "%.*s", (int)text.size, (const char *)text.data);
      data_env = enif_alloc_env();
      data = enif_make_copy(data_env, l->data);
      return true;
  }
  CORRAL_ON_LOAD(load);
  CORRAL_NIF(seen) { return enif_make_copy(c->env, data); }
  CORRAL_ERLANG_MODULE(%MOD%, CORRAL_FN("seen", seen, 0));
  """

  defp erlang_lib(dir, name), do: build(dir, name, %{"lib.c" => String.replace(@erlang_lib, "%MOD%", Atom.to_string(name))})

  # Compiles and loads the generated module (dir/ebin, the library in dir/priv).
  defp load_erlang(dir, so, erl) do
    ebin = Path.join(dir, "ebin")
    File.mkdir_p!(ebin)
    File.mkdir_p!(Path.join(dir, "priv"))
    File.cp!(so, Path.join([dir, "priv", Path.basename(so)]))
    {:ok, module} = :compile.file(String.to_charlist(erl), [:return_errors, outdir: String.to_charlist(ebin)])
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

  defp generate(so, erl, opts), do: :corral_stubs.generate(String.to_charlist(so), Map.put(opts, :out, erl))

  test "an Erlang module passes its load data (corral_stubs' load_data), and a failing hook's sentence", %{dir: dir} do
    so = erlang_lib(dir, :hooks_erl)
    erl = Path.join([dir, "src", "hooks_erl.erl"])
    data = {:answer, 42, "ünï", %{list: [1.5, :x]}}
    assert generate(so, erl, %{load_data: data}) == :ok
    m = load_erlang(dir, so, erl)
    assert m.seen() == data

    # No load data: undefined.
    dir2 = Path.join(dir, "none")
    erl2 = Path.join([dir2, "src", "hooks_erl.erl"])
    :code.purge(m)
    :code.delete(m)
    :code.purge(m)
    assert generate(so, erl2, %{}) == :ok
    assert load_erlang(dir2, so, erl2).seen() == :undefined

    so = erlang_lib(dir, :hooks_erl_fail)
    erl = Path.join([dir, "src", "hooks_erl_fail.erl"])
    assert generate(so, erl, %{load_data: {:fail, "the device is missing"}}) == :ok
    {m, log} = ExUnit.CaptureLog.with_log(fn -> load_erlang(dir, so, erl) end)
    assert log =~ "its load hook failed: the device is missing"

    {:not_loaded, sentence} =
      try do
        m.seen()
      catch
        :error, reason -> reason
      end

    assert sentence =~ "hooks_erl_fail could not load its native library"
    assert sentence =~ "hooks_erl_fail.so: its load hook failed: the device is missing"

    assert {:error, text} = generate(so, erl, %{load_data: self()})
    assert IO.iodata_to_binary(text) =~ "load_data must be a term that can be written in code"
  end

  test "corral.mk's CORRAL_LOAD_DATA reaches the load hook through the generator's command line", %{dir: dir} do
    so = erlang_lib(dir, :hooks_mk)
    File.mkdir_p!(Path.join(dir, "priv"))
    File.cp!(so, Path.join([dir, "priv", "hooks_mk.so"]))

    File.write!(Path.join(dir, "Makefile"), """
    CORRAL_DIR := #{@root}
    include $(CORRAL_DIR)/corral.mk
    CORRAL_LOAD_DATA := {tag, 'it\\'s quoted', "a string", [1, 2]}
    src/hooks_mk.erl: priv/hooks_mk.so $(CORRAL_STUBS_BEAMS)
    \t$(CORRAL_STUBS) $< $@
    """)

    {out, status} = System.cmd("make", ["src/hooks_mk.erl"], cd: dir, stderr_to_stdout: true)
    assert status == 0, out
    m = load_erlang(dir, so, Path.join([dir, "src", "hooks_mk.erl"]))
    assert m.seen() == {:tag, :"it's quoted", ~c"a string", [1, 2]}

    # A term that does not parse: a sentence, and a failed generation.
    {out, status} =
      System.cmd("make", ["-B", "src/hooks_mk.erl", "CORRAL_LOAD_DATA={unclosed"], cd: dir, stderr_to_stdout: true)

    assert status != 0
    assert out =~ "corral_stubs: load_data= takes an Erlang term (without the final dot), got: {unclosed"
  end
end
