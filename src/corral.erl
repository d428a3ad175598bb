%% The rebar3 plugin: builds each Corral NIF library of a project and
%% generates its Erlang module (corral_stubs), before rebar3 compiles the
%% Erlang sources.
%%
%% rebar.config:
%%   {plugins, [corral]}.                                  % _checkouts/corral: a link to Corral
%%   {provider_hooks, [{pre, [{compile, {corral, compile}}]}]}.
%%   {corral, [{counter_nif, [{sources, ["c_src/*.c"]},   % the default
%%                            {cflags, []}, {ldflags, []},
%%                            {timeout, 5000},            % a thread job's wait, ms
%%                            {load_data, {pool, 4}}]}]}. % the load hook's data (CORRAL_ON_LOAD)
%%
%% For each module listed: its C sources and Corral's runtime (one file,
%% include/corral_all.c) are compiled into priv/<module>.so when any of
%% them is newer than the library, and src/<module>.erl is generated from
%% the library (rewritten only when it changes). `rebar3 corral compile`
%% runs it alone. CC picks the compiler (default cc).
-module(corral).
-export([init/1, do/1, format_error/1]).

-define(NAMESPACE, corral).

init(State) ->
    Provider = providers:create([{name, compile},
                                 {module, ?MODULE},
                                 {namespace, ?NAMESPACE},
                                 {bare, true},
                                 {deps, [{default, app_discovery}]},
                                 {example, "rebar3 corral compile"},
                                 {short_desc, "Build Corral NIF libraries and generate their Erlang modules."},
                                 {desc, "Builds priv/<module>.so from C with Corral and generates src/<module>.erl from it."},
                                 {opts, []}]),
    {ok, rebar_state:add_provider(State, Provider)}.

do(State) ->
    Apps = case rebar_state:current_app(State) of
               undefined -> rebar_state:project_apps(State);
               App -> [App]
           end,
    try
        [build_app(App) || App <- Apps],
        {ok, State}
    catch
        %% rebar3 misreads a {Module, Reason} error of a hooked provider as
        %% a missing provider, so the sentence is printed here and the build
        %% stopped.
        throw:{corral, Sentence} -> rebar_api:abort("corral: ~ts", [Sentence])
    end.

format_error(Sentence) -> io_lib:format("corral: ~ts", [Sentence]).

build_app(App) ->
    Dir = rebar_app_info:dir(App),
    Name = rebar_app_info:name(App),
    Config = rebar_app_info:get(App, corral, []),
    is_list(Config) orelse fail("{corral, ...} in rebar.config takes a list of {Module, Options}, got: ~p", [Config]),
    [build_lib(Dir, binary_to_atom(Name, utf8), Entry) || Entry <- Config].

build_lib(Dir, AppName, {Module, Opts}) when is_atom(Module), is_list(Opts) ->
    Sources = lists:usort(lists:append([filelib:wildcard(filename:join(Dir, P)) || P <- option(sources, Opts, ["c_src/*.c"])])),
    Sources =:= [] andalso fail("~w: no C sources match ~p in ~ts", [Module, option(sources, Opts, ["c_src/*.c"]), Dir]),
    So = filename:join([Dir, "priv", atom_to_list(Module) ++ ".so"]),
    Runtime = filename:join(corral_dir(), "include/corral_all.c"),
    Headers = filelib:wildcard(filename:join(Dir, "c_src/**/*.h")) ++ filelib:wildcard(filename:join(corral_dir(), "include/*.h")),
    case stale(So, [Runtime | Sources ++ Headers]) of
        true -> compile(Module, So, Sources ++ [Runtime], Opts);
        false -> ok
    end,
    Out = filename:join([Dir, "src", atom_to_list(Module) ++ ".erl"]),
    Stubs = #{out => Out, app => AppName, timeout => option(timeout, Opts, 5000),
              load_data => option(load_data, Opts, undefined)},
    case corral_stubs:generate(So, Stubs) of
        ok -> ok;
        {error, Sentence} -> fail("~ts", [Sentence])
    end;
build_lib(_Dir, _App, Entry) -> fail("each entry of {corral, [...]} is {Module, Options}, got: ~p", [Entry]).

option(Key, Opts, Default) -> proplists:get_value(Key, Opts, Default).

stale(So, Inputs) ->
    case filelib:last_modified(So) of
        0 -> true;
        Built -> lists:any(fun(F) -> filelib:last_modified(F) > Built end, Inputs)
    end.

%% The flags corral.mk and `use Corral` build release libraries with.
compile(Module, So, Sources, Opts) ->
    ok = filelib:ensure_dir(So),
    Erts = filename:join([code:root_dir(), "erts-" ++ erlang:system_info(version), "include"]),
    Link = case os:type() of
               {unix, darwin} -> ["-dynamiclib", "-undefined", "dynamic_lookup"];
               _ -> ["-shared"]
           end,
    CC = case os:getenv("CC") of false -> "cc"; "" -> "cc"; Other -> Other end,
    Args = ["-std=gnu11", "-O3", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra",
            "-Werror=implicit-function-declaration", "-Werror=incompatible-pointer-types", "-Werror=int-conversion",
            "-I" ++ filename:join(corral_dir(), "include"), "-I" ++ Erts]
           ++ option(cflags, Opts, []) ++ ["-o", So] ++ Sources ++ Link ++ option(ldflags, Opts, []),
    rebar_api:info("Corral: building ~ts", [So]),
    case run(CC, Args) of
        {0, Output} -> Output =/= "" andalso io:put_chars(Output), ok;
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

%% Corral's own folder: this file is its src/corral.erl.
corral_dir() ->
    filename:dirname(filename:dirname(proplists:get_value(source, ?MODULE:module_info(compile)))).

fail(Format, Args) -> throw({corral, lists:flatten(io_lib:format(Format, Args))}).
