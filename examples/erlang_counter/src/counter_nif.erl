%% A counter shared between processes, in C through Corral.
%% Bad arguments raise error:#{'__struct__' := 'Elixir.ArgumentError',
%% message := Binary}; see ../README.md for matching on it.
-module(counter_nif).
-export([new/1, add/2, get/1]).
-on_load(init/0).
-include("corral.hrl").

init() ->
    Priv = filename:join(filename:dirname(filename:dirname(code:which(?MODULE))), "priv"),
    erlang:load_nif(filename:join(Priv, "counter_nif"), 0).

new(_Start) -> erlang:nif_error(not_loaded).
add(_Counter, _Delta) -> erlang:nif_error(not_loaded).
get(_Counter) -> erlang:nif_error(not_loaded).
