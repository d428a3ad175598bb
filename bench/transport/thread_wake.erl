%% thread_wake:run([Spins, N]): N process -> thread -> process round trips
%% through thread_wake.c; prints the time of one.
-module(thread_wake).
-export([start/1, poke/0, run/1]).
-on_load(init/0).
init() -> erlang:load_nif(filename:join(filename:dirname(code:which(?MODULE)), "thread_wake"), 0).
start(_) -> erlang:nif_error(not_loaded).
poke() -> erlang:nif_error(not_loaded).

run([Spin, N]) ->
    ok = start(list_to_integer(Spin)),
    Count = list_to_integer(N),
    loop(1000),
    {T, ok} = timer:tc(fun() -> loop(Count) end),
    io:format("process -> thread -> process, spin ~s: ~.2f us per round trip~n", [Spin, T / Count]),
    halt().

loop(0) -> ok;
loop(K) -> ok = poke(), receive pong -> loop(K - 1) end.
