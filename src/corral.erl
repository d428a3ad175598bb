%% The rebar3 plugin: builds each Corral NIF library of a project and
%% generates its Erlang module (corral_stubs), before rebar3 compiles the
%% Erlang sources.
%%
%% rebar.config:
%%   {plugins, [corral]}.                                  % _checkouts/corral: a link to Corral
%%   {provider_hooks, [{pre, [{compile, {corral, compile}}]},
%%                     {post, [{clean, {corral, clean}}]}]}.      % rebar3 clean removes what it built
%%   {corral, [{counter_nif, [{sources, ["c_src/*.c"]},   % the default
%%                            {cflags, []}, {ldflags, []},
%%                            {timeout, 5000},            % a thread job's wait, ms
%%                            {load_data, {pool, 4}},    % the load hook's data (CORRAL_ON_LOAD)
%%                            {prebuilt, [{base_url, "https://..."},       % download the library
%%                                        {checksums, "checksums-counter_nif.txt"}]}]}]}.
%%
%% For each module listed: its C sources and Corral's runtime (one file,
%% include/corral_all.c) are compiled into priv/<module>.so when any of
%% them is newer than the library, and src/<module>.erl is generated from
%% the library (rewritten only when it changes; a src/<module>.erl the
%% generator did not write is left alone, and the build stops saying so).
%% `rebar3 corral compile` runs it alone. CC picks the compiler (default cc).
%%
%% With {prebuilt, ...}, the library for this machine's target and the
%% newest NIF version the VM loads is downloaded instead of compiled (see
%% corral_prebuilt: checked against the shipped checksums file, cached),
%% and built from source when none fits or CORRAL_FORCE_BUILD=1.
%% `rebar3 corral precompile --out dist` builds the artefacts to upload: one
%% per C compiler installed (the host's and Debian's cross compilers),
%% with their checksums.
-module(corral).
-export([init/1, do/1, format_error/1]).
-export([for_apps/2, libraries/1, sources/3, compile/6, erts_include/0, corral_dir/0, prebuilt_option/2, fail/2]).

-define(NAMESPACE, corral).

init(State) ->
    Providers =
        [{compile, ?MODULE, "rebar3 corral compile",
          "Build Corral NIF libraries and generate their Erlang modules.",
          "Builds priv/<module>.so from C with Corral and generates src/<module>.erl from it.", []},
         {precompile, corral_precompile, "rebar3 corral precompile --out dist",
          "Build each Corral NIF library for every target this machine can build.",
          "Builds each Corral library once per installed C compiler into dist/ as prebuilt artefacts, with "
          "checksums.txt, and adds their checksums to the file each library's {prebuilt, ...} option names.",
          [{out, $o, "out", {string, "dist"}, "folder of the artefacts"},
           {target, $t, "target", string, "only this compiler (and the host's), e.g. aarch64-linux-gnu-gcc"}]},
         {clean, corral_clean, "rebar3 corral clean",
          "Remove what Corral built: the libraries and generated modules.",
          "Removes priv/<module>.so of each Corral library and the src/<module>.erl Corral generated "
          "(a file it did not write is left alone).", []}],
    {ok, lists:foldl(
           fun({Name, Module, Example, Short, Desc, Opts}, S) ->
                   P = providers:create([{name, Name}, {module, Module}, {namespace, ?NAMESPACE}, {bare, true},
                                         {deps, [{default, app_discovery}]}, {example, Example},
                                         {short_desc, Short}, {desc, Desc}, {opts, Opts}]),
                   rebar_state:add_provider(S, P)
           end, State, Providers)}.

do(State) -> for_apps(State, fun(Apps) -> [build_app(App) || App <- Apps] end).

%% Runs Fun on the apps a provider works on: the one rebar3 is in, or
%% every app of the project. A Corral failure stops rebar3 with its
%% sentence: rebar3 misreads a {Module, Reason} error of a hooked provider
%% as a missing provider, so the sentence is printed here.
for_apps(State, Fun) ->
    Apps = case rebar_state:current_app(State) of
               undefined -> rebar_state:project_apps(State);
               App -> [App]
           end,
    try
        Fun(Apps),
        {ok, State}
    catch
        throw:{corral, Sentence} -> rebar_api:abort("corral: ~ts", [Sentence])
    end.

format_error(Sentence) -> io_lib:format("corral: ~ts", [Sentence]).

build_app(App) ->
    Dir = rebar_app_info:dir(App),
    Name = rebar_app_info:name(App),
    [build_lib(Dir, binary_to_atom(Name, utf8), rebar_app_info:vsn(App), Entry) || Entry <- libraries(App)].

%% The {Module, Options} entries of an app's {corral, [...]}.
libraries(App) ->
    Config = rebar_app_info:get(App, corral, []),
    is_list(Config) orelse fail("{corral, ...} in rebar.config takes a list of {Module, Options}, got: ~p", [Config]),
    [case Entry of
         {Module, Opts} when is_atom(Module), is_list(Opts) -> Entry;
         _ -> fail("each entry of {corral, [...]} is {Module, Options}, got: ~p", [Entry])
     end || Entry <- Config].

build_lib(Dir, AppName, Vsn, {Module, Opts}) ->
    So = filename:join([Dir, "priv", atom_to_list(Module) ++ ".so"]),
    case install_prebuilt(Dir, Module, Vsn, So, Opts) of
        true -> ok;
        false ->
            Sources = sources(Dir, Module, Opts),
            Runtime = filename:join(corral_dir(), "include/corral_all.c"),
            Headers = filelib:wildcard(filename:join(Dir, "c_src/**/*.h")) ++ filelib:wildcard(filename:join(corral_dir(), "include/*.h")),
            %% Built again when a source is newer, or the library came from
            %% elsewhere (a prebuilt download), or the compiler, the Erlang
            %% headers or the flags changed since it was built.
            case stale(So, [Runtime | Sources ++ Headers]) orelse
                 file:read_file(So ++ ".build") =/= {ok, build_stamp(cc(), erts_include(), Opts)} of
                true -> compile(Module, So, Sources ++ [Runtime], Opts, cc(), []);
                false -> ok
            end
    end,
    Out = filename:join([Dir, "src", atom_to_list(Module) ++ ".erl"]),
    filelib:is_regular(Out) andalso not corral_stubs:generated(Out) andalso
        fail("~ts exists and was not generated by Corral, which writes the Erlang module ~w there from the "
             "library (its functions come from CORRAL_ERLANG_MODULE in the C code): move that file away or "
             "delete it, or give the library another module name", [Out, Module]),
    Stubs = #{out => Out, app => AppName, timeout => option(timeout, Opts, 5000),
              load_data => option(load_data, Opts, undefined),
              warn => fun(W) -> rebar_api:warn("corral: ~ts", [W]) end},
    case corral_stubs:generate(So, Stubs) of
        ok -> ok;
        {error, Sentence} -> fail("~ts", [Sentence])
    end.

sources(Dir, Module, Opts) ->
    Patterns = option(sources, Opts, ["c_src/*.c"]),
    Sources = lists:usort(lists:append([filelib:wildcard(filename:join(Dir, P)) || P <- Patterns])),
    Sources =:= [] andalso fail("~w: no C sources match ~p in ~ts", [Module, Patterns, Dir]),
    Sources.

%% {prebuilt, [{base_url, Url}, {checksums, File}]}: true once the library
%% for this target is installed at So; false to build it from source.
install_prebuilt(Dir, Module, Vsn, So, Opts) ->
    case {option(prebuilt, Opts, undefined), os:getenv("CORRAL_FORCE_BUILD", "")} of
        {undefined, _} -> false;
        {_, Force} when Force =:= "1"; Force =:= "true" -> false;
        {Prebuilt, _} ->
            {BaseUrl, SumsFile} = prebuilt_option(Module, Prebuilt),
            SumsPath = filename:join(Dir, SumsFile),
            Sums = corral_prebuilt:read_checksums(SumsPath),
            Target = corral_object:host_target(),
            Nif = corral_prebuilt:nif_version(),
            Lib = atom_to_list(Module),
            case filelib:is_regular(SumsPath) andalso corral_prebuilt:choose(maps:keys(Sums), Lib, Vsn, Target, Nif) of
                false ->
                    rebar_api:info("Corral: ~w downloads prebuilt libraries, but their checksums file ~ts is missing; "
                                   "building it from source", [Module, SumsFile]),
                    false;
                undefined ->
                    rebar_api:info("Corral: no prebuilt library of ~w ~ts fits ~ts with NIF version ~ts; building it "
                                   "from source", [Module, Vsn, Target, Nif]),
                    false;
                Name ->
                    Url = <<(list_to_binary(string:trim(BaseUrl, trailing, "/")))/binary, "/", Name/binary>>,
                    case corral_prebuilt:fetch(Url, Name, maps:get(Name, Sums)) of
                        {ok, Data, How} ->
                            How =:= downloaded andalso rebar_api:info("Corral: downloaded ~ts", [Url]),
                            %% Rewritten only when it changes: every rebar3 compile gets here.
                            file:read_file(So) =:= {ok, Data} orelse
                                begin
                                    ok = filelib:ensure_dir(So),
                                    ok = file:write_file(So ++ ".tmp", Data),
                                    ok = file:rename(So ++ ".tmp", So)
                                end,
                            ok = file:write_file(So ++ ".build", ["prebuilt:", Url]),
                            true;
                        {error, {download, Why}} ->
                            fail("could not download the prebuilt library of ~w from ~ts: ~ts. CORRAL_FORCE_BUILD=1 "
                                 "builds it from source instead (with a C compiler)", [Module, Url, Why]);
                        {error, {checksum, Actual}} ->
                            fail("the prebuilt library ~ts for ~w does not match its checksum in ~ts (expected ~ts, "
                                 "got ~ts); refusing to load it", [Url, Module, SumsFile, maps:get(Name, Sums), Actual])
                    end
            end
    end.

prebuilt_option(Module, Prebuilt) ->
    BaseUrl = proplists:get_value(base_url, Prebuilt),
    (is_list(BaseUrl) andalso lists:prefix("https://", BaseUrl)) orelse
        fail("~w: {prebuilt, [{base_url, ...}]} must be an https:// URL (downloads are checked against certificates "
             "and checksums), got: ~p", [Module, BaseUrl]),
    {BaseUrl, proplists:get_value(checksums, Prebuilt, "checksums-" ++ atom_to_list(Module) ++ ".txt")}.

%% What a library built from source was built with, kept beside it in
%% <lib>.so.build (a prebuilt one has "prebuilt:<url>" there instead).
build_stamp(CC, Erts, Opts) ->
    iolist_to_binary(io_lib:format("source:~0p~n", [{CC, Erts, option(cflags, Opts, []), option(ldflags, Opts, [])}])).

cc() -> case os:getenv("CC") of false -> "cc"; "" -> "cc"; Other -> Other end.

option(Key, Opts, Default) -> proplists:get_value(Key, Opts, Default).

stale(So, Inputs) ->
    case filelib:last_modified(So) of
        0 -> true;
        Built -> lists:any(fun(F) -> filelib:last_modified(F) > Built end, Inputs)
    end.

%% The flags corral.mk and `use Corral` build release libraries with.
%% Include: the Erlang headers of a cross compiler's target, or [].
compile(Module, So, Sources, Opts, CC, Include) ->
    ok = filelib:ensure_dir(So),
    file:delete(So ++ ".build"),
    Erts = case Include of [] -> erts_include(); _ -> Include end,
    Link = case {os:type(), windows_cc(CC)} of
               {{unix, darwin}, _} -> ["-dynamiclib", "-undefined", "dynamic_lookup"];
               %% A DLL that needs only what every Windows has (use Corral does the same).
               {_, true} -> ["-shared", "-static-libgcc", "-Wl,-Bstatic", "-lpthread", "-Wl,-Bdynamic"];
               _ -> ["-shared"]
           end,
    [Exe | CCArgs] = string:lexemes(CC, " "),
    Stamp = build_stamp(CC, Erts, Opts),
    Args = CCArgs ++ ["-std=gnu11", "-O3", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra",
            "-Werror=implicit-function-declaration", "-Werror=incompatible-pointer-types", "-Werror=int-conversion",
            "-I" ++ filename:join(corral_dir(), "include"), "-I" ++ Erts]
           ++ option(cflags, Opts, []) ++ ["-o", So] ++ Sources ++ Link ++ option(ldflags, Opts, []),
    rebar_api:info("Corral: building ~ts", [So]),
    case run(Exe, Args) of
        {0, Output} ->
            Output =/= "" andalso io:put_chars(Output),
            Include =:= [] andalso file:write_file(So ++ ".build", Stamp),
            ok;
        {_, Output} ->
            io:put_chars(Output),
            fail("~w: the C compiler failed on ~ts (its messages are above)", [Module, So])
    end.

run(Program, Args) ->
    case os:find_executable(Program) of
        false -> fail("no C compiler: ~ts is not on PATH (install gcc or clang, or set CC)", [Program]);
        Exe ->
            Port = open_port({spawn_executable, Exe}, [{args, Args}, exit_status, stderr_to_stdout, binary]),
            collect(Port, [])
    end.

collect(Port, Acc) ->
    receive
        {Port, {data, Data}} -> collect(Port, [Acc, Data]);
        {Port, {exit_status, Status}} -> {Status, unicode:characters_to_list(iolist_to_binary(Acc))}
    end.

%% Whether CC builds for Windows (mingw-w64), as the compiler says.
windows_cc(CC) ->
    case os:type() of
        {win32, _} -> true;
        _ -> re:run(os:cmd(CC ++ " -dumpmachine"), "mingw|windows|cygwin", [{capture, none}]) =:= match
    end.

%% The folder of erl_nif.h: ERTS_INCLUDE_DIR (a cross build, or an
%% unusual install), else the running Erlang's erts-<version>/include, else
%% <root>/usr/include (where some packages put it).
erts_include() ->
    Root = code:root_dir(),
    Candidates = [os:getenv("ERTS_INCLUDE_DIR", ""),
                  filename:join([Root, "erts-" ++ erlang:system_info(version), "include"]),
                  filename:join([Root, "usr", "include"])],
    case [D || D <- Candidates, D =/= "", filelib:is_regular(filename:join(D, "erl_nif.h"))] of
        [D | _] -> D;
        [] -> fail("no erl_nif.h in ~ts: install Erlang's headers (erlang-dev on Debian) or set ERTS_INCLUDE_DIR",
                   [lists:join(", ", [D || D <- Candidates, D =/= ""])])
    end.

%% Corral's own folder: this file is its src/corral.erl.
corral_dir() ->
    filename:dirname(filename:dirname(proplists:get_value(source, ?MODULE:module_info(compile)))).

fail(Format, Args) -> throw({corral, lists:flatten(io_lib:format(Format, Args))}).
