%% `rebar3 corral precompile`: builds each Corral library of the project
%% once per C compiler installed here (the host's, CC or cc, and the
%% cross compilers of corral_prebuilt:cross_compilers/0 found on PATH, or
%% only those named by --target) and writes the prebuilt artefacts a
%% release uploads, named after the target read from each built file, with
%% their SHA-256 in <out>/checksums.txt and in the checksums file each
%% library's {prebuilt, ...} option names (shipped in the package). See corral_prebuilt for the names and how a user's build
%% chooses among them.
-module(corral_precompile).
-export([do/1]).

do(State) ->
    {Args, _} = rebar_state:command_parsed_args(State),
    Out = filename:absname(proplists:get_value(out, Args, "dist")),
    Wanted = proplists:get_all_values(target, Args),
    corral:for_apps(State, fun(Apps) -> precompile(Apps, Wanted, Out) end).

precompile(Apps, Wanted, Out) ->
    Host = cc(),
    Compilers = compilers(Host, Wanted),
    [precompile_app(App, Host, Compilers, Out) || App <- Apps],
    Wanted =:= [] andalso
        case [C || C <- corral_prebuilt:cross_compilers(), os:find_executable(C) =:= false] of
            [] -> ok;
            Missing -> rebar_api:info("not installed, so not built: ~ts", [lists:join(", ", Missing)])
        end.

compilers(Host, []) -> [Host | [C || C <- corral_prebuilt:cross_compilers(), os:find_executable(C) =/= false]];
compilers(Host, Wanted) ->
    [corral:fail("the compiler ~ts is not installed", [C]) || C <- Wanted, os:find_executable(hd(string:lexemes(C, " "))) =:= false],
    [Host | lists:usort(Wanted) -- [Host]].

cc() -> case os:getenv("CC") of false -> "cc"; "" -> "cc"; Other -> Other end.

precompile_app(App, Host, Compilers, Out) ->
    Dir = rebar_app_info:dir(App),
    Vsn = rebar_app_info:vsn(App),
    [precompile_lib(Dir, Vsn, Entry, Host, Compilers, Out) || Entry <- corral:libraries(App)].

precompile_lib(Dir, Vsn, {Module, Opts}, Host, Compilers, Out) ->
    Sources = corral:sources(Dir, Module, Opts) ++ [filename:join(corral:corral_dir(), "include/corral_all.c")],
    Tmp = filename:join([Dir, "_build", "corral_precompile"]),
    %% A target that does not build (a cross build without the target's
    %% copy of a library the NIF links, say) leaves the others to be shipped.
    Results = [{CC, try {ok, build(Module, Vsn, Sources, Opts, CC, CC =:= Host, Tmp, Out)}
                    catch throw:{corral, Why} -> {error, Why}
                    end} || CC <- Compilers],
    Sums = maps:from_list([Sum || {_, {ok, Sum}} <- Results]),
    Failed = [{CC, Why} || {CC, {error, Why}} <- Results],
    [rebar_api:error("the build of ~w with CC=~ts failed, so it is not in ~ts: ~ts", [Module, CC, Out, Why])
     || {CC, Why} <- Failed],
    ok = corral_prebuilt:merge_checksums(filename:join(Out, "checksums.txt"), Sums),
    case proplists:get_value(prebuilt, Opts) of
        undefined -> ok;
        Prebuilt ->
            {_, SumsFile} = corral:prebuilt_option(Module, Prebuilt),
            ok = corral_prebuilt:merge_checksums(filename:join(Dir, SumsFile), Sums),
            rebar_api:info("checksums added to ~ts (ship it in the package)", [SumsFile])
    end,
    Failed =:= [] orelse
        corral:fail("~w: ~w of ~w builds made an artefact; failed: ~ts (their messages are above)",
                    [Module, maps:size(Sums), length(Results), lists:join(", ", [CC || {CC, _} <- Failed])]).

%% One build of the library with CC, copied to Out under its artefact name.
build(Module, Vsn, Sources, Opts, CC, Host, Tmp, Out) ->
    Tag = case Host of true -> "host"; false -> filename:basename(hd(string:lexemes(CC, " "))) end,
    So = filename:join([Tmp, Tag, atom_to_list(Module) ++ ".so"]),
    Include = case Host of
                  true -> [];
                  false ->
                      case corral_prebuilt:target_include(CC, corral:erts_include(), filename:join([Tmp, Tag, "erts_include"])) of
                          {ok, I} -> I;
                          {error, Why} -> corral:fail("~ts", [Why])
                      end
              end,
    corral:compile(Module, So, Sources, Opts, CC, Include),
    Target = case corral_object:target(So) of
                 {ok, T} -> T;
                 {error, Why2} -> corral:fail("cannot tell the target of ~ts (built by ~ts): ~ts", [So, CC, Why2])
             end,
    Name = corral_prebuilt:artefact_name(atom_to_list(Module), Vsn, corral_prebuilt:nif_version(), Target),
    {ok, Data} = file:read_file(So),
    ok = filelib:ensure_dir(filename:join(Out, "x")),
    ok = file:write_file(filename:join(Out, Name), Data),
    rebar_api:info("~ts: ~ts", [CC, filename:join(Out, Name)]),
    {Name, corral_prebuilt:sha256(Data)}.
