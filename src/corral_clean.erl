%% `rebar3 corral clean` (hooked after rebar3 clean): removes what the
%% plugin built for each Corral library of the project: priv/<module>.so
%% (or .dll) with its build stamp, and src/<module>.erl when Corral
%% generated it (a file it did not write is left alone).
-module(corral_clean).
-export([do/1]).

do(State) ->
    corral:for_apps(State, fun(Apps) ->
                                   [clean(rebar_app_info:dir(App), Module)
                                    || App <- Apps, {Module, _} <- corral:libraries(App)]
                           end).

clean(Dir, Module) ->
    Base = filename:join([Dir, "priv", atom_to_list(Module)]),
    [file:delete(Base ++ Ext) || Ext <- [".so", ".so.build", ".dll", ".dll.build"]],
    Out = filename:join([Dir, "src", atom_to_list(Module) ++ ".erl"]),
    filelib:is_regular(Out) andalso corral_stubs:generated(Out) andalso file:delete(Out),
    ok.
