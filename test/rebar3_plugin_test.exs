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
    {provider_hooks, [{pre, [{compile, {corral, compile}}]}, {post, [{clean, {corral, clean}}]}]}.
    {corral, #{corral_config}}.
    """)

    File.write!(Path.join([proj, "src", "proj.app.src"]), """
    {application, proj, [{vsn, "0.1.0"}, {applications, [kernel, stdlib]}, {modules, []}, {registered, []}, {env, []}]}.
    """)

    if c_source, do: File.write!(Path.join([proj, "c_src", "proj_nif.c"]), c_source)
  end

  defp rebar3(proj, args, env \\ []) do
    System.cmd("rebar3", args,
      cd: proj,
      stderr_to_stdout: true,
      env: [{"REBAR_CACHE_DIR", Path.join(@tmp, "cache")}, {"MIX_ENV", nil}, {"MIX_BUILD_PATH", nil}, {"CC", nil},
            {"CORRAL_FORCE_BUILD", nil}, {"ERTS_INCLUDE_DIR", nil}, {"CORRAL_CACHE_DIR", Path.join(@tmp, "corral_cache")}] ++
            for(v <- CorralTest.ConnectProxy.variables(), do: {v, nil}) ++ env
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

  test "rebar3 corral precompile writes each target's artefact and checksums; a user's rebar3 compile downloads, checks and loads it",
       %{proj: proj} do
    {pid, port, www, ca} = CorralTest.HttpsServer.start!(Path.join(@tmp, "server"))
    on_exit(fn -> CorralTest.HttpsServer.stop(pid) end)
    url = "https://localhost:#{port}/v0.1.0"
    project(proj, ~s([{proj_nif, [{prebuilt, [{base_url, "#{url}"}, {checksums, "checksums-proj_nif.txt"}]}]}]), @good)

    # The author: no checksums file yet, so the build is from source.
    {out, status} = rebar3(proj, ["compile"])
    assert status == 0, out
    assert out =~ "checksums file checksums-proj_nif.txt is missing; building it from source"
    {out, status} = rebar3(proj, ~w(corral precompile --out dist --target musl-gcc))
    assert status == 0, out
    host = Corral.ObjectFile.host_target()
    nif = Corral.Prebuilt.nif_version()
    dist = Path.join(proj, "dist")
    names = Enum.sort(for t <- Enum.uniq([host, "x86_64-linux-musl"]), do: "libproj_nif-0.1.0-nif-#{nif}-#{t}.so")
    assert dist |> Path.join("*.so") |> Path.wildcard() |> Enum.map(&Path.basename/1) |> Enum.sort() == names

    for name <- names do
      [_, target] = Regex.run(~r/-nif-[\d.]+-(.*)\.so$/, name)
      assert Corral.ObjectFile.target(Path.join(dist, name)) == {:ok, target}
    end

    sums = Corral.Prebuilt.read_checksums(Path.join(dist, "checksums.txt"))
    assert Enum.sort(Map.keys(sums)) == names
    for {name, sum} <- sums, do: assert(Corral.Compiler.sha256(Path.join(dist, name)) == sum)
    assert Corral.Prebuilt.read_checksums(Path.join(proj, "checksums-proj_nif.txt")) == sums

    # A target that does not build is named; the host's artefact is still written; rebar3 fails.
    broken = "musl-gcc -include no_such_header.h"
    {out, status} = rebar3(proj, ["corral", "precompile", "--out", "dist2", "--target", broken])
    assert status != 0, out
    assert out =~ "the build of proj_nif with CC=#{broken} failed, so it is not in"
    assert out =~ "proj_nif: 1 of 2 builds made an artefact; failed: #{broken}"
    assert File.ls!(Path.join(proj, "dist2")) |> Enum.sort() == Enum.sort(["checksums.txt", "libproj_nif-0.1.0-nif-#{nif}-#{host}.so"])

    # The release, and a user whose C does not compile.
    File.mkdir_p!(Path.join(www, "v0.1.0"))
    for name <- names, do: File.cp!(Path.join(dist, name), Path.join([www, "v0.1.0", name]))
    host_name = "libproj_nif-0.1.0-nif-#{nif}-#{host}.so"
    File.rm_rf!(Path.join(proj, "priv"))
    File.write!(Path.join([proj, "c_src", "proj_nif.c"]), "#error only a download builds this\n")
    trust = [{"CORRAL_CACERTFILE", ca}]
    {out, status} = rebar3(proj, ["compile"], trust)
    assert status == 0, out
    assert out =~ "Corral: downloaded #{url}/#{host_name}"
    so = Path.join([proj, "priv", "proj_nif.so"])
    assert File.read!(so) == File.read!(Path.join(dist, host_name))
    ebin = Path.join([proj, "_build", "default", "lib", "proj", "ebin"])
    {out, 0} = System.cmd("erl", ["-noshell", "-pa", ebin, "-eval", "io:format(\"~p\", [proj_nif:twice(21)]), halt()."], cd: proj)
    assert out == "42"

    # A tampered artefact, with nothing cached, is refused.
    served = Path.join([www, "v0.1.0", host_name])
    File.write!(served, File.read!(served) <> "x")
    {out, status} = rebar3(proj, ["compile"], [{"CORRAL_CACHE_DIR", Path.join(@tmp, "cache2")} | trust])
    assert status != 0
    assert out =~ "corral: the prebuilt library #{url}/#{host_name} for proj_nif does not match its checksum in " <>
                    "checksums-proj_nif.txt (expected #{sums[host_name]}, got "

    # The server down, nothing cached.
    closed = "https://localhost:#{CorralTest.HttpsServer.closed_port()}/v0.1.0"
    project(proj, ~s([{proj_nif, [{prebuilt, [{base_url, "#{closed}"}, {checksums, "checksums-proj_nif.txt"}]}]}]), nil)
    {out, status} = rebar3(proj, ["compile"], [{"CORRAL_CACHE_DIR", Path.join(@tmp, "cache3")} | trust])
    assert status != 0
    assert out =~ "corral: could not download the prebuilt library of proj_nif from #{closed}/#{host_name}: " <>
                    "could not connect (connection refused). CORRAL_FORCE_BUILD=1 builds it from source instead"

    # No artefact for this target: built from source.
    File.write!(Path.join([proj, "c_src", "proj_nif.c"]), @good)
    File.write!(Path.join(proj, "checksums-proj_nif.txt"), "#{sums[host_name]}  libproj_nif-0.1.0-nif-#{nif}-sparc64-solaris.so\n")
    {out, status} = rebar3(proj, ["compile"], trust)
    assert status == 0, out
    assert out =~ "no prebuilt library of proj_nif 0.1.0 fits #{host} with NIF version #{nif}; building it from source"
    assert out =~ "Corral: building"

    # A URL that is not https is refused by name.
    project(proj, ~s([{proj_nif, [{prebuilt, [{base_url, "http://localhost/"}]}]}]), nil)
    {out, status} = rebar3(proj, ["compile"])
    assert status != 0
    assert out =~ ~s(corral: proj_nif: {prebuilt, [{base_url, ...}]} must be an https:// URL)
  end

  test "flags, the compiler and the headers rebuild; rebar3 clean removes what Corral built; ERTS_INCLUDE_DIR is read",
       %{proj: proj} do
    project(proj, "[{proj_nif, []}]", @good)
    {out, 0} = rebar3(proj, ["compile"])
    assert out =~ "Corral: building"
    {out, 0} = rebar3(proj, ["compile"])
    refute out =~ "Corral: building"

    # New cflags (no source changed): built again, once.
    project(proj, "[{proj_nif, [{cflags, [\"-DPROJ_FLAG=1\"]}]}]", nil)
    {out, 0} = rebar3(proj, ["compile"])
    assert out =~ "Corral: building"
    {out, 0} = rebar3(proj, ["compile"])
    refute out =~ "Corral: building"

    # ERTS_INCLUDE_DIR names the folder of erl_nif.h: here one whose
    # erl_nif.h stops the build, which shows it was read.
    fake = Path.join(@tmp, "fake_include")
    File.mkdir_p!(fake)
    File.write!(Path.join(fake, "erl_nif.h"), "#error this erl_nif.h is the one ERTS_INCLUDE_DIR names\n")
    {out, status} = rebar3(proj, ["compile"], [{"ERTS_INCLUDE_DIR", fake}])
    assert status != 0
    assert out =~ "this erl_nif.h is the one ERTS_INCLUDE_DIR names"
    # A folder without erl_nif.h is passed over.
    {out, 0} = rebar3(proj, ["compile"], [{"ERTS_INCLUDE_DIR", Path.join(@tmp, "nothing")}])
    assert out =~ "Corral: building"

    so = Path.join([proj, "priv", "proj_nif.so"])
    generated = Path.join([proj, "src", "proj_nif.erl"])
    assert File.exists?(so) and File.exists?(generated)
    {out, 0} = rebar3(proj, ["clean"])
    refute File.exists?(so), out
    refute File.exists?(so <> ".build")
    refute File.exists?(generated)

    # A module Corral did not write survives a clean.
    File.write!(generated, "-module(proj_nif).\n")
    {_, 0} = rebar3(proj, ["clean"])
    assert File.read!(generated) == "-module(proj_nif).\n"
  end
end
