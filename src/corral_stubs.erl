%% Generates the Erlang module of a Corral NIF library from the built
%% library itself: its export table, CORRAL_DOC records and module record
%% (the same data `use Corral` reads for Elixir), so an Erlang user writes
%% no stub by hand.
%%
%% For each row of CORRAL_ERLANG_MODULE(name, ...) the module gets:
%%   - name/N, which calls the NIF (bound to '__nif_name'/N) and raises its
%%     errors as Erlang errors (below), with the -spec translated from the
%%     row's CORRAL_DOC or typed declaration and its doc as -doc;
%%   - for a thread job (CORRAL_FN_THREAD), name/N waits for the job's reply
%%     (up to the timeout, then cancels it) and name_async/N returns the job,
%%     whose reply arrives as {corral_reply, Job, {ok, Value}} or
%%     {corral_reply, Job, {raise, Reason}};
%%   - '__corral_live__'/0 (live objects per resource type) and
%%     '__corral_cancel__'/1 (cancels a job), and format_error/2 for the
%%     shell's error printing;
%%   - an on_load that loads priv/<lib>.so with Corral's ABI check and the
%%     load data (option load_data; undefined by default) for the library's
%%     CORRAL_ON_LOAD hook. A library that does not load leaves the module
%%     loaded, the reason logged (a failed load hook's own sentence), and
%%     every function raising error:{not_loaded, Sentence}.
%%
%% What the functions raise:
%%   - error:badarg for argument errors, error:badarith for overflow and
%%     non-finite results, as the VM's own functions do;
%%   - error:{runtime_error, Message} for corral_raise,
%%     error:{Tag, Message} for corral_raise_exception(c, "tag", ...),
%%     error:{Tag, #{message => Message, Field => Value}} for
%%     corral_raise_fields, error:{timeout, Message} for a thread job that
%%     does not reply in time.
%% The message (a UTF-8 binary, terms in it written as Erlang writes them)
%% rides in the stacktrace's error_info, so the shell and
%% erl_error:format_exception/3 show it under the call:
%%   ** exception error: bad argument
%%        in function  counter_nif:add/2
%%           called as counter_nif:add(#Ref<0.1.2.3>,many)
%%           *** argument 2: expected an integer in -1000000..1000000, got: many
%%
%% Run as: erl -noshell -pa EBIN -run corral_stubs main Library.so Out.erl [app=App] [timeout=Ms] [load_data=Term]
%% (the options may come first too; Term is written as in Erlang, without the final dot)
%% (corral.mk's rule), or through the rebar3 plugin (the corral module).
-module(corral_stubs).
-export([main/1, generate/2, read/1, load_details/0, spec_to_erlang/3, resource_type/1, spec_resources/1,
         overreach_text/1, shapes/1, expand_shapes/3]).

-include("../include/corral.hrl").

-define(THREAD, 16#10000).

%% {command line}

main(Args) ->
    case parse_args(Args, #{}) of
        {ok, So, Out, Opts} ->
            case generate(So, Opts#{out => Out}) of
                ok -> halt(0);
                {error, Sentence} ->
                    io:format(standard_error, "corral_stubs: ~ts~n", [Sentence]),
                    halt(1)
            end;
        {error, Sentence} ->
            io:format(standard_error, "corral_stubs: ~ts~n", [Sentence]),
            halt(2)
    end.

%% Options are recognized by their names, wherever they are (corral.mk's
%% CORRAL_STUBS puts CORRAL_LOAD_DATA before the paths).
parse_args(Args, Opts) ->
    {Named, Paths} = lists:partition(fun(A) -> lists:any(fun(P) -> lists:prefix(P, A) end, ["app=", "timeout=", "load_data="]) end, Args),
    case Paths of
        [So, Out] -> parse_opts(Named, So, Out, Opts);
        _ -> {error, "usage: corral_stubs Library.so Out.erl [app=App] [timeout=Ms] [load_data=Term]"}
    end.

parse_opts([], So, Out, Opts) -> {ok, So, Out, Opts};
parse_opts(["load_data=" ++ Text | Rest], So, Out, Opts) ->
    case parse_term(Text) of
        {ok, Term} -> parse_opts(Rest, So, Out, Opts#{load_data => Term});
        error -> {error, "load_data= takes an Erlang term (without the final dot), got: " ++ Text}
    end;
parse_opts(["app=" ++ App | Rest], So, Out, Opts) -> parse_opts(Rest, So, Out, Opts#{app => list_to_atom(App)});
parse_opts(["timeout=infinity" | Rest], So, Out, Opts) -> parse_opts(Rest, So, Out, Opts#{timeout => infinity});
parse_opts(["timeout=" ++ Ms | Rest], So, Out, Opts) ->
    case string:to_integer(Ms) of
        {N, ""} when N >= 0 -> parse_opts(Rest, So, Out, Opts#{timeout => N});
        _ -> {error, "timeout= takes a number of milliseconds or infinity, got: " ++ Ms}
    end;
parse_opts([Other | _], _So, _Out, _Opts) -> {error, "unknown option " ++ Other ++ " (known: app=, timeout=, load_data=)"}.

parse_term(Text) ->
    case erl_scan:string(Text ++ " .") of
        {ok, Tokens, _} ->
            case erl_parse:parse_term(Tokens) of
                {ok, Term} -> {ok, Term};
                {error, _} -> error
            end;
        _ -> error
    end.

%% The load data as code text, or an error for a term code cannot hold.
load_data_text(Term) ->
    Text = lists:flatten(io_lib:format("~tw", [Term])),
    case parse_term(Text) of
        {ok, Back} when Back =:= Term -> {ok, Text};
        _ -> {error, io_lib:format("load_data must be a term that can be written in code (no pids, references, "
                                   "ports or functions), got: ~tp", [Term])}
    end.

%% {generation}

%% Writes the module for library So to maps:get(out, Opts) (a path ending
%% in <module>.erl, which must be the library's module). Options: app (whose
%% priv dir holds the library; default: priv/ next to the module's ebin),
%% timeout (ms a thread job's function waits; default 5000), load_data (the
%% term the library's load hook receives; default undefined). The file is
%% rewritten only when its text changes, so make and rebar3 see no change
%% when there is none.
generate(So, Opts) ->
    Out = maps:get(out, Opts),
    Expected = binary_to_atom(unicode:characters_to_binary(filename:basename(Out, ".erl")), utf8),
    case read(So) of
        {error, _} = E -> E;
        {ok, #{binding := elixir, module := M}} ->
            {error, io_lib:format("~ts declares CORRAL_MODULE(~ts, ...), an Elixir module; an Erlang module is "
                                  "declared with CORRAL_ERLANG_MODULE(~ts, ...)",
                                  [So, strip_elixir(atom_to_binary(M, utf8)), Expected])};
        {ok, #{module := M}} when M =/= Expected ->
            {error, io_lib:format("~ts declares CORRAL_ERLANG_MODULE(~ts, ...) but is generated as ~ts (~ts): "
                                  "the two names must match", [So, M, Expected, Out])};
        {ok, Lib} ->
            case load_data_text(maps:get(load_data, Opts, undefined)) of
                {ok, _} -> generate_checked(So, Out, Lib, Opts);
                Error -> Error
            end
    end.

generate_checked(So, Out, Lib, Opts) ->
    case check_names(Lib) == ok andalso check_arg_reads(So) of
        ok ->
            Text = unicode:characters_to_binary(module_text(So, Lib, Opts)),
            case file:read_file(Out) of
                {ok, Text} -> ok;
                _ -> write(Out, Text)
            end;
        false -> check_names(Lib);
        Error -> Error
    end.

%% A body that reads, at a constant index, an argument its row does not
%% give it (corral.h, "Argument reads the build checks"): an error naming
%% the file and line, as the Elixir build gives it.
check_arg_reads(So) ->
    Over = case file:read_file(So) of
               {ok, Bin} -> case corral_object:overreaching_reads(Bin) of
                                {ok, Reads} -> Reads;
                                unsupported -> []
                            end;
               _ -> []
           end,
    case Over of
        [] -> ok;
        _ -> {error, [So, ": ", overreach_text(Over)]}
    end.

%% The sentence for reads past a row's arity (the Elixir build says the
%% same, with files relative to the project).
overreach_text(Over) ->
    Listed = [io_lib:format("~ts/~w reads argument ~w (index ~w) at ~ts:~w, but its row in the export table "
                            "gives it ~w argument~ts", [Row, Arity, Index + 1, Index, File, Line, Arity,
                                                         case Arity of 1 -> ""; _ -> "s" end])
              || {Row, Arity, Index, File, Line} <- Over],
    unicode:characters_to_binary(
      [lists:join("; ", Listed),
       ". Give the row the arity the body reads, or read only the arguments the row gives (indexes start at 0)"]).

write(Out, Text) ->
    ok = filelib:ensure_dir(Out),
    case file:write_file(Out, Text) of
        ok -> ok;
        {error, Reason} -> {error, io_lib:format("cannot write ~ts: ~ts", [Out, file:format_error(Reason)])}
    end.

strip_elixir(<<"Elixir.", Rest/binary>>) -> Rest;
strip_elixir(M) -> M.

%% Reads the library's module record, export table and docs:
%% {ok, #{module, binding, exports => [{Name, Arity, Thread}], docs => #{{Name, Arity} => {Spec, Doc}}}}
%% or {error, Sentence}.
read(So) ->
    case corral_object:sections(So, [<<"corral_module">>, <<"corral_exports">>, <<"corral_docs">>]) of
        {error, enoent} -> {error, io_lib:format("no library at ~ts (build it first)", [So])};
        {error, Reason} when is_atom(Reason) -> {error, io_lib:format("cannot read ~ts: ~ts", [So, file:format_error(Reason)])};
        {error, Reason} -> {error, io_lib:format("cannot read ~ts: ~ts", [So, Reason])};
        {ok, #{<<"corral_module">> := Mod} = S} -> module_record(So, Mod, maps:get(<<"corral_exports">>, S, <<>>), maps:get(<<"corral_docs">>, S, <<>>));
        {ok, _} -> {error, io_lib:format("~ts has no Corral export table: one of its C files must end with "
                                         "CORRAL_ERLANG_MODULE(name, CORRAL_FN(...), ...)", [So])}
    end.

module_record(So, <<"CORRAL", Binding, 0, Abi:32/little, Count:32/little, Name:256/binary, _/binary>>, Rows, Docs) ->
    if
        Abi =/= ?CORRAL_ABI ->
            {error, io_lib:format("~ts was built for Corral ABI ~w, but this Corral speaks ABI ~w: rebuild it", [So, Abi, ?CORRAL_ABI])};
        true ->
            Exports = rows(Rows, Count),
            case [{N, A} || {N, A, _} <- Exports, N =:= <<>> orelse A > 255] of
                [] ->
                    case docs(Docs, Exports) of
                        {ok, DocMap} ->
                            {ok, #{module => binary_to_atom(cstring(Name), utf8),
                                   binding => case Binding of $X -> elixir; _ -> erlang end,
                                   exports => [{binary_to_atom(N, utf8), A, T} || {N, A, T} <- Exports],
                                   docs => DocMap,
                                   shapes => shapes(Docs)}};
                        Error -> Error
                    end;
                Bad -> {error, io_lib:format("~ts has export rows with an empty name or an arity above 255: ~p", [So, Bad])}
            end
    end;
module_record(So, _, _, _) -> {error, io_lib:format("~ts has no Corral export table it can read", [So])}.

rows(_Rows, 0) -> [];
rows(Rows, Count) ->
    Size = byte_size(Rows) div Count,
    [begin
         <<Name:256/binary, Arity:32/little, Flags:32/little, _/binary>> = binary_part(Rows, K * Size, Size),
         {cstring(Name), Arity, Flags band ?THREAD =/= 0}
     end || K <- lists:seq(0, Count - 1)].

%% CORRAL_DOC records (kind 0: spec and doc by hand), typed declarations
%% (1: the spec made from the types) and CORRAL_DOC_OF (2: the doc of a
%% typed function, found by name), as the Elixir build reads them.
docs(Bin, Exports) ->
    Records = doc_records(Bin, []),
    Listed = [{binary_to_atom(N, utf8), A} || {N, A, _} <- Exports],
    Typed = maps:from_list([{Key, Spec} || {1, Key, Spec, _} <- Records]),
    Unlisted = [Key || {Kind, Key, _, _} <- Records, Kind =/= 2, not lists:member(Key, Listed)],
    case Unlisted of
        [] ->
            {ok, lists:foldl(
                   fun({1, Key, Spec, _}, Acc) -> maps:update_with(Key, fun({_, D}) -> {Spec, D} end, {Spec, <<>>}, Acc);
                      ({2, {Name, _}, _, Doc}, Acc) ->
                           case [K || {N, _} = K <- maps:keys(Typed), N =:= Name] of
                               [Key] -> maps:update_with(Key, fun({S, _}) -> {S, Doc} end, {maps:get(Key, Typed), Doc}, Acc);
                               _ -> Acc
                           end;
                      ({0, Key, Spec, Doc}, Acc) ->
                           maps:update_with(Key, fun({S, _}) -> {S, Doc} end, {Spec, Doc}, Acc)
                   end, #{}, Records)};
        [{N, A} | _] ->
            {error, io_lib:format("a CORRAL_DOC or typed declaration names ~ts/~w, which is not in the export table", [N, A])}
    end.

doc_records(<<"CORRDOC", 0, Arity:32/little, Kind:32/little, Name:240/binary, Spec:512/binary, Doc:1536/binary, Rest/binary>>, Acc) ->
    doc_records(Rest, [{Kind, {binary_to_atom(cstring(Name), utf8), Arity}, cstring(Spec), cstring(Doc)} | Acc]);
doc_records(<<_:32/binary, Rest/binary>>, Acc) -> doc_records(Rest, Acc);
doc_records(_, Acc) -> lists:reverse(Acc).

cstring(Bin) -> hd(binary:split(Bin, <<0>>)).

%% {structure types}

%% Typed declarations write a (struct, shape, Type, name) parameter's type
%% as corral_shape(name); CORRAL_STRUCT leaves its own text (the `as` and the field
%% rows, as written) in a CORRSHP record beside the doc records. shapes/1
%% reads those: #{Name => {As, Fields}}, with As one of {struct, Module},
%% map, {record, Tag}, tuple, and each field {Name, Type}, Type one of
%% {word, ElixirText, ErlangText}, {shape, Name}, {list, Type}; a shape
%% whose text is not rows of Corral's own field macros is unknown (its
%% parameters stay term()).
shapes(Docs) -> maps:from_list(shape_records(Docs, [])).

shape_records(<<"CORRSHP", 0, Size:32/little, _:32, Name:240/binary, As:320/binary, Fields:Size/binary, Rest/binary>>, Acc) ->
    shape_records(Rest, [{cstring(Name), parse_shape(cstring(As), cstring(Fields))} | Acc]);
shape_records(<<_:32/binary, Rest/binary>>, Acc) -> shape_records(Rest, Acc);
shape_records(_, Acc) -> Acc.

parse_shape(AsText, FieldsText) ->
    case {parse_as(calls(AsText)), calls(FieldsText)} of
        {{ok, As}, {ok, Rows}} ->
            case [field(Macro, Args) || {Macro, Args} <- Rows] of
                Fields when Fields =/= [] -> case lists:member(unknown, Fields) of true -> unknown; false -> {As, Fields} end;
                [] -> unknown
            end;
        _ -> unknown
    end.

parse_as({ok, [{<<"CORRAL_AS_STRUCT">>, [M]}]}) -> with_string(M, fun(Module) -> {struct, Module} end);
parse_as({ok, [{<<"CORRAL_AS_RECORD">>, [T]}]}) -> with_string(T, fun(Tag) -> {record, Tag} end);
parse_as({ok, [{<<"CORRAL_AS_MAP">>, []}]}) -> {ok, map};
parse_as({ok, [{<<"CORRAL_AS_TUPLE">>, []}]}) -> {ok, tuple};
parse_as(_) -> error.

with_string(<<$", _/binary>> = Quoted, Make) ->
    case re:run(Quoted, <<"^\"([A-Za-z0-9_.@]+)\"$">>, [{capture, all_but_first, binary}]) of
        {match, [Text]} -> {ok, Make(Text)};
        nomatch -> error
    end;
with_string(_, _) -> error.

%% Macro calls separated by commas, each with simple arguments:
%% {ok, [{Macro, [Arg]}]} or error.
calls(Text) ->
    case re:run(Text, <<"^\\s*([A-Z_][A-Z0-9_]*)\\s*\\(([^()]*)\\)\\s*(,(.*))?$">>, [{capture, all_but_first, binary}, dotall]) of
        {match, [Macro, Args | More]} ->
            Parsed = {Macro, [A || A <- [string:trim(A0) || A0 <- binary:split(Args, <<",">>, [global])], A =/= <<>>]},
            case More of
                [_, Rest] -> case calls(Rest) of {ok, Others} -> {ok, [Parsed | Others]}; error -> error end;
                _ -> {ok, [Parsed]}
            end;
        nomatch -> error
    end.

field(<<"CORRAL_FIELD">>, [_, M, T]) -> named(M, word(T));
field(<<"CORRAL_FIELD_ENUM">>, [_, M, _]) -> named(M, {word, "atom()", "atom()"});
field(<<"CORRAL_FIELD_STRUCT">>, [_, M, S]) -> named(M, {shape, shape_name(S)});
field(<<"CORRAL_FIELD_ARRAY">>, [_, M, _, T]) -> named(M, case word(T) of unknown -> unknown; W -> {list, W} end);
field(<<"CORRAL_FIELD_STRUCT_ARRAY">>, [_, M, _, S]) -> named(M, {list, {shape, shape_name(S)}});
field(_, _) -> unknown.

named(_, unknown) -> unknown;
named(M, Type) -> {M, Type}.

shape_name(<<"&", S/binary>>) -> string:trim(S);
shape_name(S) -> S.

%% The element types a structure field can have, as the typed words
%% write them (Elixir, then Erlang).
word(T) ->
    case T of
        <<"CORRAL_I8">> -> {word, "-128..127", "-128..127"};
        <<"CORRAL_I16">> -> {word, "-32768..32767", "-32768..32767"};
        <<"CORRAL_I32">> -> {word, "-2147483648..2147483647", "-2147483648..2147483647"};
        <<"CORRAL_U8">> -> {word, "byte()", "byte()"};
        <<"CORRAL_U16">> -> {word, "0..65535", "0..65535"};
        <<"CORRAL_U32">> -> {word, "0..4294967295", "0..4294967295"};
        <<"CORRAL_FLOAT">> -> {word, "number()", "number()"};
        <<"CORRAL_DOUBLE">> -> {word, "number()", "number()"};
        <<"CORRAL_BOOL">> -> {word, "boolean()", "boolean()"};
        <<"CORRAL_TERM">> -> {word, "term()", "term()"};
        <<"CORRAL_BINARY">> -> {word, "binary()", "binary()"};
        <<"CORRAL_STRING">> -> {word, "String.t()", "binary()"};
        <<"CORRAL_CSTRING">> -> {word, "String.t()", "binary()"};
        _ ->
            Signed = [<<"CORRAL_I64">>, <<"CORRAL_INT">>, <<"CORRAL_LONG">>, <<"CORRAL_SSIZE">>, <<"CORRAL_INTPTR">>],
            Unsigned = [<<"CORRAL_U64">>, <<"CORRAL_UINT">>, <<"CORRAL_ULONG">>, <<"CORRAL_SIZE">>, <<"CORRAL_UINTPTR">>],
            case {lists:member(T, Signed), lists:member(T, Unsigned)} of
                {true, _} -> {word, "integer()", "integer()"};
                {_, true} -> {word, "non_neg_integer()", "non_neg_integer()"};
                _ -> unknown
            end
    end.

%% The spec text with each corral_shape(name) replaced by the shape's type in
%% Lang (elixir or erlang); term() for a shape it does not know.
expand_shapes(Spec, Shapes, Lang) ->
    Parts = re:split(Spec, <<"\\bcorral_shape\\(([A-Za-z_][A-Za-z0-9_]*)\\)">>, [{return, binary}]),
    iolist_to_binary(expand_parts(Parts, Shapes, Lang)).

expand_parts([Text, Name | Rest], Shapes, Lang) -> [Text, shape_type(Name, Shapes, Lang, []) | expand_parts(Rest, Shapes, Lang)];
expand_parts(Last, _, _) -> Last.

shape_type(Name, Shapes, Lang, Seen) ->
    case {lists:member(Name, Seen), maps:get(Name, Shapes, unknown)} of
        {false, {As, Fields}} ->
            Types = [{F, field_type(T, Shapes, Lang, [Name | Seen])} || {F, T} <- Fields],
            container(As, Types, Lang);
        _ -> "term()"
    end.

field_type({word, Elixir, _}, _, elixir, _) -> Elixir;
field_type({word, _, Erlang}, _, erlang, _) -> Erlang;
field_type({shape, Name}, Shapes, Lang, Seen) -> shape_type(Name, Shapes, Lang, Seen);
field_type({list, T}, Shapes, Lang, Seen) -> ["[", field_type(T, Shapes, Lang, Seen), "]"].

%% Elixir keys are the C member names as written (letters, digits and
%% underscores are all valid keyword keys).
container({struct, Module}, Types, elixir) ->
    ["%{", lists:join(", ", [["__struct__: ", elixir_atom(Module)] | [[F, ": ", T] || {F, T} <- Types]]), "}"];
container(map, Types, elixir) -> ["%{", lists:join(", ", [[F, ": ", T] || {F, T} <- Types]), "}"];
container({record, Tag}, Types, elixir) -> ["{", lists:join(", ", [elixir_atom(Tag) | [T || {_, T} <- Types]]), "}"];
container({struct, Module}, Types, erlang) ->
    ["#{", lists:join(", ", [["'__struct__' := ", erlang_atom(Module)] | [[erlang_atom(F), " := ", T] || {F, T} <- Types]]), "}"];
container(map, Types, erlang) -> ["#{", lists:join(", ", [[erlang_atom(F), " := ", T] || {F, T} <- Types]), "}"];
container({record, Tag}, Types, erlang) -> ["{", lists:join(", ", [erlang_atom(Tag) | [T || {_, T} <- Types]]), "}"];
container(tuple, Types, _) -> ["{", lists:join(", ", [T || {_, T} <- Types]), "}"].

elixir_atom(<<"Elixir.", Alias/binary>>) -> Alias;
elixir_atom(A) -> [":", case re:run(A, <<"^[a-z_][A-Za-z0-9_@]*$">>) of
                            {match, _} -> A;
                            nomatch -> io_lib:format("~tp", [binary_to_list(A)])
                        end].

erlang_atom(A) -> io_lib:format("~tw", [binary_to_atom(A, utf8)]).

%% Names the generated module defines itself.
check_names(#{exports := Exports}) ->
    Taken = [{format_error, 2}, {module_info, 0}, {module_info, 1}],
    Clash = [{N, A} || {N, A, _} <- Exports, lists:member({N, A}, Taken) orelse
                                             lists:prefix("corral_", atom_to_list(N))],
    Async = [{N, A} || {N, A, _} <- Exports, {M, B, true} <- Exports, B =:= A,
                       atom_to_list(N) =:= atom_to_list(M) ++ "_async"],
    case Clash ++ Async of
        [] -> ok;
        [{N, A} | _] ->
            {error, io_lib:format("the export table has ~ts/~w, a name the generated module uses itself "
                                  "(format_error/2, module_info, corral_*, and name_async for a thread job name)", [N, A])}
    end.

%% {the module's text}

module_text(So, #{module := M, exports := Exports, docs := Docs} = Info, Opts) ->
    Shapes = maps:get(shapes, Info, #{}),
    App = maps:get(app, Opts, undefined),
    Lib = maps:get(lib, Opts, filename:basename(So, ".so")),
    Timeout = maps:get(timeout, Opts, 5000),
    Public = lists:append([[{N, A}] ++ [{async_name(N), A} || T] || {N, A, T} <- Exports]),
    [io_lib:format("%% Generated by Corral's corral_stubs from ~ts, the library of\n"
                   "%% CORRAL_ERLANG_MODULE(~ts, ...). Regenerated by the build: do not edit.\n", [filename:basename(So), M]),
     io_lib:format("-module(~tw).\n", [M]),
     [io_lib:format("-export([~tw/~w]).\n", [N, A]) || {N, A} <- Public],
     "-export(['__corral_live__'/0, '__corral_cancel__'/1, format_error/2]).\n",
     resource_types_text(Docs),
     "-on_load(corral_load/0).\n\n",
     [function_text(M, E, maps:get({N, A}, Docs, none), Timeout, Shapes) || {N, A, _} = E <- Exports],
     support_text(App, Lib, element(2, load_data_text(maps:get(load_data, Opts, undefined))),
                  #{wrappers => Exports =/= [], await => lists:any(fun({_, _, T}) -> T end, Exports)})].

async_name(N) -> list_to_atom(atom_to_list(N) ++ "_async").

%% The types that specs name with resource(Type): one exported type each.
resource_types_text(Docs) ->
    Types = lists:usort([resource_type(T) || {_, {Spec, _}} <- maps:to_list(Docs), T <- spec_resources(Spec)]),
    case Types of
        [] -> "";
        _ -> ["-export_type([", lists:join(", ", [[T, "/0"] || T <- Types]), "]).\n",
              [io_lib:format("-type ~ts() :: reference().\n", [T]) || T <- Types]]
    end.

%% {resource types}

%% Typed declarations write the spec of a resource parameter as
%% resource(Type), Type being the C type's name. The generated module (Elixir
%% or Erlang) has a type of that name in snake case (tally() for Tally,
%% buffer_object() for BufferObject) defined as reference(); a name that is
%% a built-in type of either language gets _resource after it. Elixir's
%% build calls this too, so both name a type alike.
resource_type(CName) when is_atom(CName) -> resource_type(atom_to_list(CName));
resource_type(CName) when is_binary(CName) -> resource_type(binary_to_list(CName));
resource_type(CName) ->
    Snake = snake(CName, undefined),
    case erl_internal:is_type(list_to_atom(Snake), 0) orelse lists:member(Snake, elixir_builtin_types()) of
        true -> Snake ++ "_resource";
        false -> Snake
    end.

snake([C | Rest], Prev) when C >= $A, C =< $Z ->
    Next = case Rest of [N | _] -> N; [] -> undefined end,
    Break = Prev =/= undefined andalso
            (is_lower_or_digit(Prev) orelse (is_upper(Prev) andalso is_lower_or_digit(Next))),
    [$_ || Break] ++ [C + 32 | snake(Rest, C)];
snake([C | Rest], _) -> [C | snake(Rest, C)];
snake([], _) -> [].

is_upper(C) -> is_integer(C) andalso C >= $A andalso C =< $Z.
is_lower_or_digit(C) -> is_integer(C) andalso ((C >= $a andalso C =< $z) orelse (C >= $0 andalso C =< $9)).

elixir_builtin_types() ->
    ["term", "arity", "as_boolean", "binary", "bitstring", "boolean", "byte", "char", "charlist",
     "nonempty_charlist", "fun", "function", "identifier", "iodata", "iolist", "keyword", "list",
     "nonempty_list", "maybe_improper_list", "nonempty_maybe_improper_list", "mfa", "module", "no_return",
     "node", "number", "struct", "timeout", "dynamic", "nonempty_binary", "nonempty_bitstring"].

%% The C type names a spec's text writes as resource(Type).
spec_resources(Spec) ->
    case tokens(Spec) of
        {ok, Toks} -> resources_in(Toks);
        _ -> []
    end.

resources_in([{atom, _, resource}, {'(', _}, {K, _, T}, {')', _} | Rest]) when K =:= var; K =:= atom ->
    [T | resources_in(Rest)];
resources_in([_ | Rest]) -> resources_in(Rest);
resources_in([]) -> [].

function_text(M, {N, A, Thread}, Docs, Timeout, Shapes) ->
    Vars = arg_vars(Docs, A),
    Args = lists:join(", ", Vars),
    Under = lists:join(", ", lists:duplicate(A, "_")),
    Native = "'__nif_" ++ atom_to_list(N) ++ case Thread of true -> "_async'"; false -> "'" end,
    Call = fun(Name) -> io_lib:format("~ts(~ts)", [Name, Args]) end,
    Wrapped = fun(Name) ->
                      io_lib:format("    try ~ts\n"
                                    "    catch error:{'$corral_error', _, _} = CorralError_ ->\n"
                                    "        erlang:error(corral_reason(CorralError_), [~ts], corral_error_info(CorralError_))\n"
                                    "    end.\n", [Call(Name), Args])
              end,
    Head = [doc_text(Docs), spec_text(M, N, A, Docs, Shapes)],
    Body =
        case Thread of
            false ->
                [io_lib:format("~tw(~ts) ->\n", [N, Args]), Wrapped(Native)];
            true ->
                Async = async_name(N),
                [io_lib:format("~tw(~ts) ->\n"
                               "    case corral_await(~tw(~ts), ~w, <<\"~ts:~ts/~w\"/utf8>>) of\n"
                               "        {ok, CorralValue_} -> CorralValue_;\n"
                               "        {raise, CorralError_} -> erlang:error(corral_reason(CorralError_), [~ts], corral_error_info(CorralError_))\n"
                               "    end.\n\n", [N, Args, Async, Args, Timeout, atom_to_list(M), atom_to_list(N), A, Args]),
                 doc_attribute("false"),
                 io_lib:format("~tw(~ts) ->\n", [Async, Args]), Wrapped(Native)]
        end,
    Stub = io_lib:format("~ts(~ts) -> erlang:nif_error(corral_not_loaded()).\n\n", [Native, Under]),
    [Head, Body, "\n", Stub].

%% The doc as EDoc reads it, and as -doc (OTP 27 and later; before, a
%% wild attribute may not follow a function).
doc_text({_, Doc}) when Doc =/= <<>> ->
    Text = unicode:characters_to_list(Doc),
    [[["%% ", L, "\n"] || L <- [case I of 1 -> "@doc " ++ Line; _ -> Line end
                                || {I, Line} <- lists:enumerate(string:split(Text, "\n", all))]],
     doc_attribute(io_lib:format("~tp", [Text]))];
doc_text(_) -> "".

doc_attribute(Value) -> ["-if(?OTP_RELEASE >= 27).\n-doc ", Value, ".\n-endif.\n"].

spec_text(M, N, A, {Spec, _}, Shapes) when Spec =/= <<>> ->
    case spec_to_erlang(Spec, N, A) of
        {ok, Text} -> ["-spec ", expand_shapes(Text, Shapes, erlang), ".\n"];
        {error, Why} -> io_lib:format("%% (the spec of ~ts:~ts/~w, ~ts, has no Erlang form here: ~ts)\n",
                                      [atom_to_list(M), atom_to_list(N), A, Spec, Why])
    end;
spec_text(_, _, _, _, _) -> "".

%% Argument variables named after the spec's argument names (counter ::
%% reference() gives Counter), else Arg1, Arg2 ...
arg_vars(Docs, A) ->
    Names = case Docs of
                {Spec, _} when Spec =/= <<>> -> spec_arg_names(Spec, A);
                _ -> lists:duplicate(A, undefined)
            end,
    [case Name of
         undefined -> "Arg" ++ integer_to_list(K);
         _ -> case length([X || X <- Names, X =:= Name]) of
                  1 -> Name;
                  _ -> "Arg" ++ integer_to_list(K)
              end
     end || {K, Name} <- lists:zip(lists:seq(1, A), Names)].

spec_arg_names(Spec, A) ->
    case tokens(Spec) of
        {ok, [{atom, _, _}, {'(', _} | Rest]} ->
            Args = split_args(Rest),
            case length(Args) of
                A -> [case Arg of
                          [{atom, _, Name}, {'::', _} | _] -> var_name(Name);
                          _ -> undefined
                      end || Arg <- Args];
                _ -> lists:duplicate(A, undefined)
            end;
        _ -> lists:duplicate(A, undefined)
    end.

var_name(Name) ->
    case atom_to_list(Name) of
        [$_ | _] -> undefined;
        [C | Rest] when C >= $a, C =< $z -> [C - 32 | Rest];
        _ -> undefined
    end.

%% {Elixir typespecs in Erlang}

%% The Erlang form of an Elixir spec "name(a :: t1, b :: t2) :: t3" of
%% function Name/Arity: {ok, "name(A :: t1, B :: t2) -> t3"}, or
%% {error, Why} for what has no translation here.
spec_to_erlang(Spec, Name, Arity) ->
    case tokens(Spec) of
        {ok, [{atom, _, Name}, {'(', _} | Rest]} ->
            case split_top(Rest) of
                {ArgTokens, [{'::', _} | RetTokens]} ->
                    Args = case ArgTokens of [] -> []; _ -> split_commas(ArgTokens) end,
                    if
                        length(Args) =/= Arity -> {error, "its argument count differs from the function's"};
                        true ->
                            try
                                ArgTexts = [arg_type(T) || T <- Args],
                                Ret = type(RetTokens),
                                Text = lists:flatten(io_lib:format("~tw(~ts) -> ~ts", [Name, lists:join(", ", ArgTexts), Ret])),
                                check_spec(Text)
                            catch throw:{untranslatable, Why} -> {error, Why}
                            end
                    end;
                _ -> {error, "it is not name(args) :: type"}
            end;
        {ok, _} -> {error, "it does not start with the function's name"};
        {error, Why} -> {error, Why}
    end.

check_spec(Text) ->
    case erl_scan:string("-spec " ++ Text ++ ".") of
        {ok, Toks, _} ->
            case erl_parse:parse_form(Toks) of
                {ok, _} -> {ok, Text};
                {error, _} -> {error, "its translation does not parse"}
            end;
        _ -> {error, "its translation does not scan"}
    end.

%% Elixir's %{ starts a map; % starts a comment for erl_scan.
tokens(Spec) ->
    S = binary_to_list(binary:replace(Spec, <<"%{">>, <<"#{">>, [global])),
    case erl_scan:string(S) of
        {ok, Toks, _} -> {ok, Toks};
        {error, _, _} -> {error, "it does not scan"}
    end.

%% The tokens up to the ')' that closes the argument list, and the rest.
split_top(Toks) -> split_top(Toks, 0, []).
split_top([{')', _} | Rest], 0, Acc) -> {lists:reverse(Acc), Rest};
split_top([{T, _} = Tok | Rest], D, Acc) when T =:= '('; T =:= '['; T =:= '{'; T =:= '#' -> split_top(Rest, D + open(T), [Tok | Acc]);
split_top([{T, _} = Tok | Rest], D, Acc) when T =:= ')'; T =:= ']'; T =:= '}' -> split_top(Rest, D - 1, [Tok | Acc]);
split_top([Tok | Rest], D, Acc) -> split_top(Rest, D, [Tok | Acc]);
split_top([], _, _) -> error.

open('#') -> 0;
open(_) -> 1.

split_args(Toks) ->
    case split_top(Toks) of
        {[], _} -> [];
        {Args, _} -> split_commas(Args);
        error -> []
    end.

split_commas(Toks) -> split_commas(Toks, 0, [], []).
split_commas([], _, Cur, Acc) -> lists:reverse([lists:reverse(Cur) | Acc]);
split_commas([{',', _} | Rest], 0, Cur, Acc) -> split_commas(Rest, 0, [], [lists:reverse(Cur) | Acc]);
split_commas([{T, _} = Tok | Rest], D, Cur, Acc) when T =:= '('; T =:= '['; T =:= '{' -> split_commas(Rest, D + 1, [Tok | Cur], Acc);
split_commas([{T, _} = Tok | Rest], D, Cur, Acc) when T =:= ')'; T =:= ']'; T =:= '}' -> split_commas(Rest, D - 1, [Tok | Cur], Acc);
split_commas([Tok | Rest], D, Cur, Acc) -> split_commas(Rest, D, [Tok | Cur], Acc).

arg_type([{atom, _, Name}, {'::', _} | Type]) ->
    case var_name(Name) of
        undefined -> type(Type);
        Var -> Var ++ " :: " ++ type(Type)
    end;
arg_type(Type) -> type(Type).

%% A type's tokens in Erlang: :atom is atom, String.t() is binary(),
%% keyword() a list of pairs, charlist() string(), key: t in a map key := t.
type(Toks) -> lists:flatten([spaced(T) || T <- type_tokens(Toks)]).

spaced(",") -> ", ";
spaced("|") -> " | ";
spaced("=>") -> " => ";
spaced(T) -> T.

type_tokens([]) -> [];
type_tokens([{':', _}, {atom, _, A} | Rest]) -> [io_lib:format("~tw", [A]) | type_tokens(Rest)];
type_tokens([{':', _}, {string, _, S} | Rest]) -> [io_lib:format("~tw", [list_to_atom(S)]) | type_tokens(Rest)];
type_tokens([{var, _, 'String'}, {'.', _}, {atom, _, t}, {'(', _}, {')', _} | Rest]) -> ["binary()" | type_tokens(Rest)];
type_tokens([{var, _, _}, {'.', _}, {atom, _, _}, {'(', _}, {')', _} | Rest]) -> ["term()" | type_tokens(Rest)];
type_tokens([{atom, _, keyword}, {'(', _}, {')', _} | Rest]) -> ["[{atom(), term()}]" | type_tokens(Rest)];
type_tokens([{atom, _, charlist}, {'(', _}, {')', _} | Rest]) -> ["string()" | type_tokens(Rest)];
type_tokens([{atom, _, struct}, {'(', _}, {')', _} | Rest]) -> ["map()" | type_tokens(Rest)];
type_tokens([{atom, _, resource}, {'(', _}, {K, _, T}, {')', _} | Rest]) when K =:= var; K =:= atom ->
    [resource_type(T) ++ "()" | type_tokens(Rest)];
type_tokens([{atom, _, as_boolean} | _]) -> throw({untranslatable, "as_boolean/1 has no Erlang form"});
type_tokens([{atom, _, K}, {':', _} | Rest]) -> [io_lib:format("~tw := ", [K]) | type_tokens(Rest)];
type_tokens([{atom, _, A} | Rest]) -> [io_lib:format("~tw", [A]) | type_tokens(Rest)];
type_tokens([{integer, _, I} | Rest]) -> [integer_to_list(I) | type_tokens(Rest)];
type_tokens([{'-', _}, {integer, _, I} | Rest]) -> ["-" ++ integer_to_list(I) | type_tokens(Rest)];
type_tokens([{T, _} | Rest]) when T =:= '('; T =:= ')'; T =:= '['; T =:= ']'; T =:= '{'; T =:= '}'; T =:= ',';
                                 T =:= '|'; T =:= '..'; T =:= '=>'; T =:= '#'; T =:= '...' ->
    [atom_to_list(T) | type_tokens(Rest)];
type_tokens([{var, _, V} | _]) -> throw({untranslatable, "a type variable or module name (" ++ atom_to_list(V) ++ ") has no translation here"});
type_tokens([Tok | _]) -> throw({untranslatable, lists:flatten(io_lib:format("`~ts` has no translation here", [token_text(Tok)]))}).

token_text({_, _, Value}) -> io_lib:format("~tw", [Value]);
token_text({Symbol, _}) -> atom_to_list(Symbol).

%% {the module's own functions}

%% The sentences of a failed load, by the load callback's code; the Elixir
%% build (Corral.Messages) uses the same table.
load_details() ->
    [{101, <<"it was built by a different version of Corral; rebuild it (mix compile --force with Mix, a clean build elsewhere)">>},
     {102, <<"an atom in one of its CORRAL_ATOMS tables is invalid (longer than 255 characters, or not ASCII before OTP 26)">>},
     {103, <<"the VM refused to register one of its resource types">>},
     {104, <<"it has dirty NIFs (CORRAL_DIRTY_CPU/IO) but this VM has no dirty schedulers">>},
     {105, <<"one of its CORRAL_STRUCT / CORRAL_UNION tables is invalid: a name is not ASCII or longer than 255 "
             "characters, or a nested shape describes a type of another size than its member">>},
     {106, <<"its load hook (CORRAL_ON_LOAD) returned false without a reason (corral_load_fail gives one)">>}].

%% Helpers: only those the module uses (wrappers: it has functions that
%% raise Corral's errors; await: it has thread jobs), for an unused
%% function is a warning, an error under warnings_as_errors.
support_text(App, Lib, LoadData, Uses) ->
    %% During on_load the module is not yet known to code:which/1: the
    %% beam is found on the code path.
    Beside = "    case code:where_is_file(atom_to_list(?MODULE) ++ \".beam\") of\n"
             "        non_existing -> \"priv\";\n"
             "        Beam -> filename:join(filename:dirname(filename:dirname(Beam)), \"priv\")\n"
             "    end",
    Priv = case App of
               undefined -> ["corral_priv_dir() ->\n", Beside, ".\n\n"];
               _ -> io_lib:format("corral_priv_dir() ->\n"
                                  "    case code:priv_dir(~tw) of\n"
                                  "        {error, _} ->\n~ts;\n"
                                  "        Dir -> Dir\n"
                                  "    end.\n\n", [App, re:replace(Beside, "^", "        ", [global, multiline, {return, list}])])
           end,
    ["%% Corral's part: loading, errors, thread jobs.\n\n",
     doc_attribute("false"),
     "'__corral_live__'() -> erlang:nif_error(corral_not_loaded()).\n",
     doc_attribute("false"),
     "'__corral_cancel__'(_) -> erlang:nif_error(corral_not_loaded()).\n\n",
     Priv,
     %% The load info (c_src/corral/call.c): a failed load hook sends its
     %% reason to {self(), Ref} before the load returns.
     io_lib:format("corral_load() ->\n"
                   "    Path = filename:join(corral_priv_dir(), ~tp),\n"
                   "    Ref = make_ref(),\n"
                   "    case erlang:load_nif(Path, {corral, ~w, {self(), Ref}, ~ts}) of\n"
                   "        ok -> persistent_term:erase({?MODULE, corral_load_error}), ok;\n"
                   "        {error, {Reason, Text}} ->\n"
                   "            Hook = receive {'$corral_load_failed', Ref, Why} -> corral_hook_text(Why) after 0 -> none end,\n"
                   "            Detail = case re:run(Text, \"\\\\(([0-9]+)\\\\)\", [{capture, all_but_first, list}]) of\n"
                   "                         _ when Hook =/= none -> [\"its load hook failed: \", Hook];\n"
                   "                         {match, [Code]} when Reason =:= load; Reason =:= load_failed ->\n"
                   "                             proplists:get_value(list_to_integer(Code), ~tp, io_lib:format(\"~~w: ~~ts\", [Reason, Text]));\n"
                   "                         _ -> io_lib:format(\"~~w: ~~ts\", [Reason, Text])\n"
                   "                     end,\n"
                   "            Sentence = unicode:characters_to_binary(io_lib:format(\"~~w could not load its native library ~~ts.so: ~~ts\", [?MODULE, Path, Detail])),\n"
                   "            persistent_term:put({?MODULE, corral_load_error}, Sentence),\n"
                   "            logger:error(\"~~ts\", [Sentence]),\n"
                   "            ok\n"
                   "    end.\n\n", [Lib, ?CORRAL_ABI, LoadData, load_details()]),
     "%% What a failed load hook said: its text, or the message of what it raised.\n"
     "corral_hook_text(Text) when is_binary(Text) -> Text;\n"
     "corral_hook_text({'$corral_error', _, Message}) when is_binary(Message) -> Message;\n"
     "corral_hook_text(Other) -> io_lib:format(\"~tp\", [Other]).\n\n",
     "corral_not_loaded() ->\n"
     "    {not_loaded, persistent_term:get({?MODULE, corral_load_error}, <<\"the native library of \", (atom_to_binary(?MODULE))/binary, \" is not loaded\">>)}.\n\n",
     [error_helpers_text() || maps:get(wrappers, Uses)],
     [await_text() || maps:get(await, Uses)],
     doc_attribute("false"),
     "%% The shell's and erl_error's text for an error raised here: the\n"
     "%% message, under the argument it is about.\n",
     "format_error(_Reason, [{_, _, _, Info} | _]) ->\n"
     "    case proplists:get_value(error_info, Info) of\n"
     "        #{cause := Message} when is_binary(Message) ->\n"
     "            Rest = case binary:split(Message, <<\": \">>) of [_, R] -> R; [R] -> R end,\n"
     "            case re:run(Rest, \"^argument ([0-9]+)(?:: |, )(.*)$\", [{capture, all_but_first, binary}, dotall, unicode]) of\n"
     "                {match, [N, Text]} -> #{binary_to_integer(N) => unicode:characters_to_list(Text)};\n"
     "                nomatch -> #{general => unicode:characters_to_list(Rest)}\n"
     "            end;\n"
     "        _ -> #{}\n"
     "    end;\n"
     "format_error(_Reason, _Stacktrace) -> #{}.\n"].

error_helpers_text() ->
    ["corral_reason({_, badarg, _}) -> badarg;\n"
     "corral_reason({_, badarith, _}) -> badarith;\n"
     "corral_reason({_, {Kind, Fields}, undefined}) -> {Kind, Fields};\n"
     "corral_reason({_, {Kind, Fields}, Message}) -> {Kind, Fields#{message => Message}};\n"
     "corral_reason({_, Kind, Message}) -> {Kind, Message}.\n\n",
     "corral_error_info({_, _, Message}) when is_binary(Message) -> [{error_info, #{module => ?MODULE, cause => Message}}];\n"
     "corral_error_info(_) -> [].\n\n"].

await_text() ->
    ["corral_await(Job, Timeout, Function) ->\n"
     "    receive\n"
     "        {corral_reply, Job, Reply} -> Reply\n"
     "    after Timeout ->\n"
     "        '__corral_cancel__'(Job),\n"
     "        receive {corral_reply, Job, _} -> ok after 0 -> ok end,\n"
     "        Text = io_lib:format(\"~ts: the thread job did not reply within ~w ms (it is cancelled: corral_cancelled(c) \"\n"
     "                             \"is now true in its C code, and its reply will be dropped)\", [Function, Timeout]),\n"
     "        {raise, {'$corral_error', timeout, unicode:characters_to_binary(Text)}}\n"
     "    end.\n\n"].
