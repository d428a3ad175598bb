%% corral.hrl: what Erlang code built with Corral may need to know of it.
%% The Erlang module of a Corral NIF library is generated from the built
%% library by corral_stubs (the rebar3 plugin `corral`, or corral.mk's
%% CORRAL_STUBS rule): it needs nothing from here.

%% The ABI of Corral's export table and load protocol (CORRAL_ABI in
%% corral.h): a library loads only with the load info
%% {corral, ?CORRAL_ABI, Reply, LoadData} of the Corral that built it.
-define(CORRAL_ABI, 5).
