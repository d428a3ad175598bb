-module(stats_nif_tests).
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

mean_test() ->
    ?assertEqual(2.0, stats_nif:mean([1, 2, 3])),
    ?assertEqual(0.5, stats_nif:mean([0.5])).

variance_test() ->
    ?assert(abs(stats_nif:variance([2, 4, 4, 4, 5, 5, 7, 9]) - 4.571428571428571) < 1.0e-12).

errors_name_the_function_and_argument_test() ->
    {error, badarg, Empty} = raised(fun() -> stats_nif:mean([]) end),
    ?assert(contains(Empty, "stats_nif:mean/1")),
    ?assert(contains(Empty, "*** argument 1: expected a non-empty list, got: []")),
    {error, badarg, Bad} = raised(fun() -> stats_nif:variance([1, x, 3]) end),
    ?assert(contains(Bad, "*** argument 1: index 1: expected a number")),
    ?assert(contains(Bad, "got: x")).

thread_job_test() ->
    ?assertEqual([2, 1, 1], stats_nif:histogram([1, 1.5, 2, 3], 3)),
    Job = stats_nif:histogram_async([5, 5], 1),
    receive {corral_reply, Job, Reply} -> ?assertEqual({ok, [2]}, Reply) after 5000 -> ?assert(false) end,
    {error, badarg, Shown} = raised(fun() -> stats_nif:histogram([1], 0) end),
    ?assert(contains(Shown, "*** argument 2: expected an integer in 1..1000, got: 0")).

generated_module_test() ->
    %% Specs and docs of the library's functions come from the C declarations.
    {ok, {stats_nif, [{abstract_code, {raw_abstract_v1, Forms}}]}} =
        beam_lib:chunks(code:which(stats_nif), [abstract_code]),
    Exported = stats_nif:module_info(exports),
    Specs = [{F, A} || {attribute, _, spec, {{F, A}, _}} <- Forms, lists:member({F, A}, Exported)],
    ?assertEqual(lists:sort([{mean, 1}, {variance, 1}, {histogram, 2}]), lists:sort(Specs)),
    ?assert(lists:member({histogram_async, 2}, stats_nif:module_info(exports))).
