%% The pure-BEAM counterpart of the native add/2: a plain Erlang function.
-module(bench_erlang).
-export([add/2]).

add(A, B) -> A + B.
