defmodule CorralTest.Rebar3PluginTest do
  # Corral's rebar3 plugin in a new rebar3 project (Corral linked into
  # _checkouts, no Hex): a build that works, and each way it fails, with its
  # sentence. examples/rebar3_stats (make test-rebar3) is the full example.
  use ExUnit.Case, async: false

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain

  @tmp Path.expand("../_build/test/corral_rebar3", __DIR__)
  @corral Path.expand("..", __DIR__)

  setup do
    File.rm_rf!(@tmp)
    File.mkdir_p!(Path.join([@tmp, "proj", "src"]))
    File.mkdir_p!(Path.join([@tmp, "proj", "c_src"]))
    File.mkdir_p!(Path.join([@tmp, "proj", "_checkouts"]))
    File.ln_s!(@corral, Path.join([@tmp, "proj", "_checkouts", "corral"]))
    on_exit(fn -> File.rm_rf!(@tmp) end)
    {:ok, proj: Path.join(@tmp, "proj")}
  end

  defp project(proj, corral_config, c_source, erl_opts \\ "[]") do
    File.write!(Path.join(proj, "rebar.config"), """
    {erl_opts, #{erl_opts}}.
    {plugins, [corral]}.
    {provider_hooks, [{pre, [{compile, {corral, compile}}]}]}.
    {corral, #{corral_config}}.
    """)

    File.write!(Path.join([proj, "src", "proj.app.src"]), """
    {application, proj, [{vsn, "0.1.0"}, {applications, [kernel, stdlib]}, {modules, []}, {registered, []}, {env, []}]}.
    """)

    if c_source, do: File.write!(Path.join([proj, "c_src", "proj_nif.c"]), c_source)
  end

  defp rebar3(proj, args) do
    System.cmd("rebar3", args,
      cd: proj,
      stderr_to_stdout: true,
      env: [{"REBAR_CACHE_DIR", Path.join(@tmp, "cache")}, {"MIX_ENV", nil}, {"MIX_BUILD_PATH", nil}]
    )
  end

  @good """
  #include <corral.h>
  CORRAL_PURE(twice, i64, (i64, x)) { return corral_mul_i64(c, x, 2); }
  CORRAL_ERLANG_MODULE(proj_nif, CORRAL_EXPORT(twice));
  """

  test "builds the library, generates the module, and rebuilds only what changed", %{proj: proj} do
    project(proj, "[{proj_nif, [{load_data, {answer, 42}}]}]", @good)
    {out, status} = rebar3(proj, ["compile"])
    assert status == 0, out
    assert out =~ "Corral: building"
    assert File.exists?(Path.join([proj, "priv", "proj_nif.so"]))
    generated = File.read!(Path.join([proj, "src", "proj_nif.erl"]))
    assert generated =~ "-spec twice(X :: integer()) -> integer()."
    # The load data of the plugin's options, in the module's load info.
    assert generated =~ "{corral, #{Corral.abi()}, {self(), Ref}, {answer,42}}"

    {out, 0} = rebar3(proj, ["compile"])
    refute out =~ "Corral: building"

    ebin = Path.join([proj, "_build", "default", "lib", "proj", "ebin"])
    {out, 0} = System.cmd("erl", ["-noshell", "-pa", ebin, "-eval", "io:format(\"~p\", [proj_nif:twice(21)]), halt()."])
    assert out == "42"
  end

  test "a C compiler error fails the build, naming the module and the library", %{proj: proj} do
    project(proj, "[{proj_nif, []}]", String.replace(@good, "return", "retrun"))
    {out, status} = rebar3(proj, ["compile"])
    assert status != 0
    assert out =~ "corral: proj_nif: the C compiler failed on #{Path.join([proj, "priv", "proj_nif.so"])}"
    assert out =~ "retrun"
  end

  test "no C sources, a wrong entry, a module name that differs from the C's: sentences", %{proj: proj} do
    project(proj, "[{proj_nif, [{sources, [\"c_src/none/*.c\"]}]}]", @good)
    {out, status} = rebar3(proj, ["compile"])
    assert status != 0
    assert out =~ ~s(corral: proj_nif: no C sources match ["c_src/none/*.c"])

    project(proj, "[proj_nif]", nil)
    {out, status} = rebar3(proj, ["compile"])
    assert status != 0
    assert out =~ "corral: each entry of {corral, [...]} is {Module, Options}, got: proj_nif"

    project(proj, "[{other_nif, []}]", nil)
    {out, status} = rebar3(proj, ["compile"])
    assert status != 0
    assert out =~ "declares CORRAL_ERLANG_MODULE(proj_nif, ...) but is generated as other_nif"
  end

  @threaded """
  #include <corral.h>
  CORRAL_PURE(twice, i64, (i64, x)) { return corral_mul_i64(c, x, 2); }
  CORRAL_THREAD_NIF(later) { return corral_make_i64(c, corral_arg_int_range(c, 0, 0, 100)); }
  CORRAL_ERLANG_MODULE(proj_nif, CORRAL_EXPORT(twice), CORRAL_FN_THREAD("later", later, 1));
  """

  test "the generated module compiles under warnings_as_errors, with and without thread jobs", %{proj: proj} do
    ebin = Path.join([proj, "_build", "default", "lib", "proj", "ebin"])

    for {c_source, call, expected} <- [{@good, "proj_nif:twice(21)", "42"}, {@threaded, "proj_nif:later(7)", "7"}] do
      # A new library each time (modification times have whole seconds).
      File.rm_rf!(Path.join(proj, "priv"))
      project(proj, "[{proj_nif, []}]", c_source, "[debug_info, warnings_as_errors, warn_unused_function]")
      {out, status} = rebar3(proj, ["compile"])
      assert status == 0, out
      refute out =~ "Warning"
      {out, 0} = System.cmd("erl", ["-noshell", "-pa", ebin, "-eval", "io:format(\"~p\", [#{call}]), halt()."], cd: proj)
      assert out == expected
    end
  end

  test "a src/<module>.erl that Corral did not generate is not overwritten", %{proj: proj} do
    project(proj, "[{proj_nif, []}]", @good)
    mine = Path.join([proj, "src", "proj_nif.erl"])
    File.write!(mine, "-module(proj_nif).\n-export([hello/0]).\nhello() -> world.\n")
    {out, status} = rebar3(proj, ["compile"])
    assert status != 0
    assert out =~ "corral: #{mine} exists and was not generated by Corral"
    assert out =~ "move that file away or delete it"
    assert File.read!(mine) == "-module(proj_nif).\n-export([hello/0]).\nhello() -> world.\n"

    # Its own module, from an earlier build, it regenerates.
    File.rm!(mine)
    {_, 0} = rebar3(proj, ["compile"])
    File.write!(mine, File.read!(mine) <> "\n%% an edit\n")
    {out, status} = rebar3(proj, ["compile"])
    assert status == 0, out
    refute File.read!(mine) =~ "an edit"
  end
end
