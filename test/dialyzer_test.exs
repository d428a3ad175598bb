defmodule CorralTest.DialyzerTest do
  # The specs of typed declarations are real contracts: Dialyzer, run over a
  # module that calls typed NIFs, accepts the calls with the right types and
  # flags the ones with wrong types (a structure's shape too; results
  # included: a resource's own type, {:ok, v} | {:error, reason}), and
  # finds nothing to say about the code
  # `use Corral` generates.
  use ExUnit.Case, async: true

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain

  @moduletag :dialyzer
  @moduletag timeout: 300_000

  @dir Path.expand("../_build/test/corral_dialyzer", __DIR__)

  @calls """
  defmodule CorralTest.DialyzerCalls do
    def right_add, do: CorralTest.Typed.add(1, 2)
    def wrong_add, do: CorralTest.Typed.add(:one, 2)
    def right_byte, do: CorralTest.Typed.pure_u8(200)
    def wrong_byte, do: CorralTest.Typed.pure_u8(300)
    def right_bool, do: CorralTest.Typed.pure_bool(false)
    def wrong_bool, do: CorralTest.Typed.pure_bool(1)
    def right_double, do: CorralTest.Typed.pure_double(3)
    def wrong_double, do: CorralTest.Typed.pure_double("3")
    def right_tally(t), do: CorralTest.Typed.tally_add(t, 1)
    def wrong_tally, do: CorralTest.Typed.tally_add(:not_a_ref, 1)
    def wrong_result, do: CorralTest.Typed.pure_i8(1) ++ [1]
    def right_made, do: CorralTest.Typed.tally_add(CorralTest.Typed.tally_make(1, false), 1)
    def wrong_made, do: CorralTest.Typed.tally_make(1, false) + 1
    def right_ok do
      case CorralTest.Typed.checked_div(4, 2) do
        {:ok, q} -> q + 1
        {:error, _} -> 0
      end
    end
    def wrong_ok, do: CorralTest.Typed.checked_div(4, 2) + 1
    def right_struct, do: CorralTest.Typed.pair_record_a({:pair, 1, "b"})
    def wrong_struct, do: CorralTest.Typed.pair_record_a({:pear, 1, "b"})
  end
  """

  test "Dialyzer accepts right calls of typed NIFs and flags wrong ones" do
    File.mkdir_p!(@dir)
    plt = Path.join(@dir, "erts.plt")

    unless File.exists?(plt) do
      {out, status} = System.cmd("dialyzer", ["--build_plt", "--apps", "erts", "--output_plt", plt], stderr_to_stdout: true)
      assert status in [0, 2], out
    end

    # Compiled by elixirc in its own VM: with its debug info whatever this
    # VM's compiler options are, and never loaded here.
    src = Path.join(@dir, "dialyzer_calls.ex")
    File.write!(src, @calls)
    out_dir = Path.join(@dir, "ebin")
    File.rm_rf!(out_dir)
    {out, status} = System.cmd("elixirc", ["--ignore-module-conflict", "-o", out_dir, "dialyzer_calls.ex"], cd: @dir, stderr_to_stdout: true)
    assert status == 0, out
    calls_beam = Path.join(out_dir, "Elixir.CorralTest.DialyzerCalls.beam")

    typed_beam = List.to_string(:code.which(CorralTest.Typed))
    # Dialyzer reads Elixir's debug info through Elixir's own modules.
    erl_libs = :code.lib_dir(:elixir) |> List.to_string() |> Path.dirname()

    {out, _status} =
      System.cmd("dialyzer", ["--plts", plt, "--no_check_plt", calls_beam, typed_beam],
        env: [{"ERL_LIBS", erl_libs}],
        stderr_to_stdout: true
      )

    flagged =
      Regex.scan(~r/^dialyzer_calls\.ex:(\d+)(?::\d+)?: (?:The call|Function)/m, out)
      |> Enum.map(fn [_, line | _] -> String.to_integer(line) end)
      |> Enum.uniq()
      |> Enum.sort()

    lines = String.split(@calls, "\n")
    line_of = fn name -> 1 + Enum.find_index(lines, &String.contains?(&1, "def #{name}")) end
    wrong = Enum.map(~w(wrong_add wrong_byte wrong_bool wrong_double wrong_tally wrong_result wrong_made wrong_ok wrong_struct), line_of)
    assert flagged == Enum.sort(wrong), out

    # Nothing about the generated module itself (its file is where `use Corral` is).
    refute out =~ ~r/^\S*terms_native\.ex:\d+/m, out
  end

  @erlang_nif """
  #include <corral.h>
  CORRAL_PURE(twice, i64, (i64, x)) { return corral_mul_i64(c, x, 2); }
  CORRAL_THREAD_NIF(slow) { return corral_make_i64(c, corral_arg_i64(c, 0)); }
  CORRAL_ERLANG_MODULE(dz_nif, CORRAL_EXPORT(twice), CORRAL_FN_THREAD("slow", slow, 1));
  """

  @erlang_calls """
  -module(dz_calls).
  -export([go/0]).
  go() -> A = dz_nif:twice(21), B = dz_nif:slow(1), A + B.
  """

  test "Dialyzer finds nothing in a generated Erlang module, nor in Erlang code that calls it" do
    # Every function of the module is a stub until the library loads:
    # Dialyzer must not take them, or their callers, for functions that
    # never return.
    dir = Path.join(@dir, "erlang")
    File.rm_rf!(dir)
    File.mkdir_p!(Path.join(dir, "c"))
    File.write!(Path.join([dir, "c", "dz.c"]), @erlang_nif)
    so = Corral.Compiler.build!(:dz_nif, otp_app: :corral, lib: "dz_nif", path: Path.join(dir, "c"), compile_commands: false).so
    erl = Path.join(dir, "dz_nif.erl")
    assert :corral_stubs.generate(String.to_charlist(so), %{out: String.to_charlist(erl)}) == :ok
    File.write!(Path.join(dir, "dz_calls.erl"), @erlang_calls)
    {out, status} = System.cmd("erlc", ["+debug_info", "dz_nif.erl", "dz_calls.erl"], cd: dir, stderr_to_stdout: true)
    assert status == 0, out

    plt = Path.join(@dir, "erts.plt")

    unless File.exists?(plt) do
      {out, status} = System.cmd("dialyzer", ["--build_plt", "--apps", "erts", "--output_plt", plt], stderr_to_stdout: true)
      assert status in [0, 2], out
    end

    {out, _status} = System.cmd("dialyzer", ["--plts", plt, "--no_check_plt", "dz_nif.beam", "dz_calls.beam"], cd: dir, stderr_to_stdout: true)
    # Calls into OTP's other applications are unknown to an erts-only PLT;
    # a warning about either file is not expected.
    assert out =~ "done"
    refute out =~ ~r/^dz_(nif|calls)\.erl:\d+/m, out
  end
end
