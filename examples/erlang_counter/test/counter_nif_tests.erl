-module(counter_nif_tests).
-include_lib("eunit/include/eunit.hrl").

%% The message of a Corral exception, as an Erlang caller matches it.
message(Fun) ->
    try Fun() of
        Value -> {no_exception, Value}
    catch
        error:#{'__struct__' := Module, message := Message} -> {Module, Message}
    end.

round_trip_test() ->
    K = counter_nif:new(40),
    ?assertEqual(41, counter_nif:add(K, 1)),
    ?assertEqual(42, counter_nif:add(K, 1)),
    ?assertEqual(42, counter_nif:get(K)).

bad_argument_test() ->
    K = counter_nif:new(0),
    ?assertEqual({'Elixir.ArgumentError',
                  <<"counter_nif:add/2: argument 2: expected an integer in -1000000..1000000, got: many">>},
                 message(fun() -> counter_nif:add(K, many) end)),
    ?assertEqual({'Elixir.ArgumentError',
                  <<"counter_nif:get/1: argument 1: expected a Counter resource, got: 7">>},
                 message(fun() -> counter_nif:get(7) end)),
    %% Terms are written as Erlang writes them in an Erlang module.
    ?assertEqual({'Elixir.ArgumentError',
                  <<"counter_nif:add/2: argument 2: expected an integer in -1000000..1000000, got: {ok,[1,2]}">>},
                 message(fun() -> counter_nif:add(K, {ok, [1, 2]}) end)).

overflow_test() ->
    K = counter_nif:new(9223372036854775807),
    ?assertEqual({'Elixir.ArgumentError', <<"counter_nif:add/2: the counter would overflow">>},
                 message(fun() -> counter_nif:add(K, 1) end)),
    %% The lock was released by the raise.
    ?assertEqual(9223372036854775807, counter_nif:get(K)).

concurrent_test() ->
    K = counter_nif:new(0),
    Self = self(),
    Pids = [spawn(fun() -> [counter_nif:add(K, 1) || _ <- lists:seq(1, 1000)], Self ! {done, self()} end)
            || _ <- lists:seq(1, 20)],
    [receive {done, P} -> ok end || P <- Pids],
    ?assertEqual(20000, counter_nif:get(K)).
