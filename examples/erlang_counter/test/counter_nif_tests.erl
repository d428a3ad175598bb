-module(counter_nif_tests).
-include_lib("eunit/include/eunit.hrl").

%% What a call raised: {Class, Reason, the text the shell shows for it}.
raised(Fun) ->
    try Fun() of
        Value -> {no_exception, Value}
    catch
        Class:Reason:Stacktrace ->
            {Class, Reason, lists:flatten(io_lib:format("~ts", [erl_error:format_exception(Class, Reason, Stacktrace)]))}
    end.

contains(Text, Part) -> string:find(Text, Part) =/= nomatch.

round_trip_test() ->
    K = counter_nif:new(40),
    ?assertEqual(41, counter_nif:add(K, 1)),
    ?assertEqual(42, counter_nif:add(K, 1)),
    ?assertEqual(42, counter_nif:get(K)).

bad_argument_is_badarg_with_the_message_under_the_argument_test() ->
    K = counter_nif:new(0),
    {error, badarg, Shown} = raised(fun() -> counter_nif:add(K, many) end),
    ?assert(contains(Shown, "bad argument")),
    ?assert(contains(Shown, "counter_nif:add/2")),
    ?assert(contains(Shown, "*** argument 2: expected an integer in -9223372036854775808..9223372036854775807, got: many")),
    {error, badarg, Range} = raised(fun() -> counter_nif:add(K, 2000000) end),
    ?assert(contains(Range, "*** argument 2: expected an integer in -1000000..1000000, got: 2000000")),
    %% Terms are written as Erlang writes them.
    {error, badarg, Shown2} = raised(fun() -> counter_nif:add(K, {ok, [1, 2]}) end),
    ?assert(contains(Shown2, "got: {ok,[1,2]}")),
    {error, badarg, Shown3} = raised(fun() -> counter_nif:get(7) end),
    ?assert(contains(Shown3, "*** argument 1: expected a Counter resource, got: 7")),
    %% A plain catch matches badarg, as for the VM's own functions.
    ?assertEqual(caught, try counter_nif:add(K, many) catch error:badarg -> caught end).

overflow_is_badarith_and_releases_the_lock_test() ->
    K = counter_nif:new(9223372036854775807),
    {error, badarith, Shown} = raised(fun() -> counter_nif:add(K, 1) end),
    ?assert(contains(Shown, "integer overflow: 9223372036854775807 + 1")),
    ?assertEqual(9223372036854775807, counter_nif:get(K)).

own_error_with_fields_test() ->
    K = counter_nif:new(5),
    ok = counter_nif:freeze(K),
    {error, {counter_frozen, #{value := 5, message := Message}}, _} = raised(fun() -> counter_nif:add(K, 1) end),
    ?assertEqual(<<"counter_nif:add/2: the counter is frozen at 5">>, Message).

thread_job_test() ->
    ?assertEqual(500500, counter_nif:sum_to(1000)),
    Job = counter_nif:sum_to_async(10),
    receive {corral_reply, Job, Reply} -> ?assertEqual({ok, 55}, Reply) after 5000 -> ?assert(false) end,
    {error, badarg, Shown} = raised(fun() -> counter_nif:sum_to(-1) end),
    ?assert(contains(Shown, "counter_nif:sum_to/1")),
    ?assert(contains(Shown, "*** argument 1: expected")).

concurrent_test() ->
    K = counter_nif:new(0),
    Self = self(),
    Pids = [spawn(fun() -> [counter_nif:add(K, 1) || _ <- lists:seq(1, 1000)], Self ! {done, self()} end)
            || _ <- lists:seq(1, 20)],
    [receive {done, P} -> ok end || P <- Pids],
    ?assertEqual(20000, counter_nif:get(K)).

live_objects_test() ->
    #{<<"Counter">> := #{objects := N0, allocated := A0, reported := 0}} = counter_nif:'__corral_live__'(),
    K = counter_nif:new(0),
    #{<<"Counter">> := #{objects := N1, allocated := A1}} = counter_nif:'__corral_live__'(),
    ?assertEqual(N0 + 1, N1),
    %% Corral's 16-byte header and the struct.
    ?assert(A1 - A0 >= 16 + 8),
    counter_nif:get(K).

%% The message a call raised, from its error_info (not through the shell's
%% formatter, which prints the call's arguments in full).
message(Fun) ->
    try Fun() of
        Value -> {no_exception, Value}
    catch
        error:_:Stacktrace ->
            [{_, _, _, Info} | _] = Stacktrace,
            maps:get(cause, proplists:get_value(error_info, Info))
    end.

%% Terms in messages are printed at a bounded cost: 2^1500000 held a
%% scheduler for 15 s while its digits were computed. Run in a process of its
%% own, with a generous time, and with long schedules reported.
huge_terms_are_summarized_test_() ->
    {timeout, 60, fun() ->
        Previous = erlang:system_monitor(self(), [{long_schedule, 500}]),
        Self = self(),
        Pid = spawn(fun() ->
            K = counter_nif:new(0),
            Big = message(fun() -> counter_nif:add(K, 1 bsl 1500000) end),
            Nested = lists:foldl(fun(_, A) -> lists:duplicate(50, A) end, 1, lists:seq(1, 5)),
            Deep = message(fun() -> counter_nif:get(Nested) end),
            Self ! {self(), Big, Deep}
        end),
        receive
            {Pid, Big, Deep} ->
                ?assertEqual(<<"counter_nif:add/2: argument 2: expected an integer in -9223372036854775808..9223372036854775807, "
                               "got: #Integer<1500001 bits>">>, Big),
                ?assertMatch(<<"counter_nif:get/1: argument 1: expected a Counter resource, got: [[[[[1,1,1,", _/binary>>, Deep),
                ?assert(binary:match(Deep, <<"|...]">>) =/= nomatch),
                ?assert(byte_size(Deep) < 2048)
        after 5000 -> exit(Pid, kill), ?assert(false)
        end,
        Long = receive {monitor, _, long_schedule, Info} -> Info after 100 -> none end,
        case Previous of
            undefined -> erlang:system_monitor(undefined);
            {MonitorPid, Options} -> erlang:system_monitor(MonitorPid, Options)
        end,
        ?assertEqual(none, Long)
    end}.
