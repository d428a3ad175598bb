%% Prebuilt libraries, shared by Mix (Corral.Prebuilt) and the rebar3
%% plugin (corral): artefact names, which artefact fits a VM, checksums
%% files, the download cache and HTTPS downloads. Sentences come back as
%% binaries; each build tool words its own errors around them.
%%
%% An artefact is one built library named after what it fits,
%%     lib<lib>-<version>-nif-<major>.<minor>-<target>.so   (.dll for Windows)
%% and a checksums file ("<sha256>  <name>" lines, shipped in the package)
%% lists those that may be used. A VM loads a library of its own NIF major
%% version and any minor version up to its own (erl_nif's rule), so the
%% newest such artefact is chosen: one built on the oldest supported OTP
%% serves every newer one.
-module(corral_prebuilt).
-export([cross_compilers/0, artefact_name/4, extension/1, nif_version/0, choose/5, read_checksums/1, merge_checksums/2, sha256/1,
         cache_dir/0, fetch/3, download/1, target_include/3]).

-define(REDIRECTS, 5).
-define(PROFILE, corral_prebuilt).
-define(CONNECT_TIMEOUT, 15000).
-define(TIMEOUT, 120000).

%% The cross compilers Debian packages that a precompile (Mix's and
%% rebar3's) uses when they are installed, besides the host's compiler:
%% AArch64 and 32-bit Arm, RISC-V, musl (x86-64 and AArch64), Windows x86-64.
cross_compilers() ->
    ["aarch64-linux-gnu-gcc", "arm-linux-gnueabihf-gcc", "riscv64-linux-gnu-gcc", "musl-gcc",
     "aarch64-linux-musl-gcc", "x86_64-w64-mingw32-gcc"].

artefact_name(Lib, Version, Nif, Target) ->
    iolist_to_binary(["lib", Lib, "-", Version, "-nif-", Nif, "-", Target, extension(Target)]).

%% A Windows VM loads <path>.dll, every other <path>.so.
extension(Target) ->
    case string:find(Target, "-windows", trailing) of
        <<"-windows">> -> ".dll";
        "-windows" -> ".dll";
        _ -> ".so"
    end.

%% This VM's NIF version as <<"major.minor">>.
nif_version() -> list_to_binary(erlang:system_info(nif_version)).

%% Of Names, the artefact of Lib at Version for Target that a VM of NIF
%% version Nif (<<"2.17">>) loads, the newest NIF version first; undefined
%% if none.
choose(Names, Lib, Version, Target, Nif) ->
    {ok, {Major, Minor}} = parse_nif(Nif),
    Prefix = iolist_to_binary(["lib", Lib, "-", Version, "-nif-"]),
    Suffix = iolist_to_binary(["-", Target, extension(Target)]),
    Fits = [{M, Name} || Name0 <- Names,
                         Name <- [iolist_to_binary(Name0)],
                         {ok, {Ma, M}} <- [nif_of(Name, Prefix, Suffix)],
                         Ma =:= Major, M =< Minor],
    case lists:sort(Fits) of
        [] -> undefined;
        Sorted -> element(2, lists:last(Sorted))
    end.

nif_of(Name, Prefix, Suffix) ->
    P = byte_size(Prefix), S = byte_size(Suffix), N = byte_size(Name),
    case N > P + S andalso binary:part(Name, 0, P) =:= Prefix andalso binary:part(Name, N - S, S) =:= Suffix of
        true -> parse_nif(binary:part(Name, P, N - P - S));
        false -> error
    end.

parse_nif(Text) ->
    case binary:split(iolist_to_binary(Text), <<".">>, [global]) of
        [A, B] ->
            try {ok, {binary_to_integer(A), binary_to_integer(B)}}
            catch error:badarg -> error
            end;
        _ -> error
    end.

%% The checksums file at Path as #{Name => Sha256}; #{} if it is absent.
read_checksums(Path) ->
    case file:read_file(Path) of
        {ok, Text} ->
            maps:from_list([{Name, string:lowercase(Sum)}
                            || Line <- binary:split(Text, <<"\n">>, [global, trim_all]),
                               [Sum, Name] <- [string:lexemes(Line, " \t\r")]]);
        {error, _} -> #{}
    end.

%% Adds (or replaces) Sums (#{Name => Sha256}) in the checksums file at
%% Path, which is kept sorted by name.
merge_checksums(Path, Sums) ->
    All = maps:merge(read_checksums(Path), Sums),
    ok = filelib:ensure_dir(Path),
    ok = file:write_file(Path, [[Sum, "  ", Name, "\n"] || {Name, Sum} <- lists:sort(maps:to_list(All))]).

sha256(Data) -> string:lowercase(binary:encode_hex(crypto:hash(sha256, Data))).

%% Where downloaded artefacts are kept: CORRAL_CACHE_DIR, else the user's
%% cache folder (XDG_CACHE_HOME or ~/.cache on Linux).
cache_dir() ->
    case os:getenv("CORRAL_CACHE_DIR", "") of
        "" -> filename:basedir(user_cache, "corral");
        Dir -> Dir
    end.

%% The artefact Name from the cache if a file there has the Expected
%% SHA-256, else downloaded from Url, checked, and cached. The bytes are
%% checked before they are written anywhere.
%% {ok, Data, cached | downloaded} | {error, {download, Sentence}} |
%% {error, {checksum, Actual}}.
fetch(Url, Name, Expected) ->
    Cached = filename:join(cache_dir(), Name),
    case file:read_file(Cached) of
        {ok, Data} ->
            case sha256(Data) =:= Expected of
                true -> {ok, Data, cached};
                false -> fetch_new(Url, Expected, Cached)
            end;
        {error, _} -> fetch_new(Url, Expected, Cached)
    end.

fetch_new(Url, Expected, Cached) ->
    case download(Url) of
        {ok, Data} ->
            case sha256(Data) of
                Expected ->
                    put_file(Cached, Data),
                    {ok, Data, downloaded};
                Actual -> {error, {checksum, Actual}}
            end;
        {error, Why} -> {error, {download, Why}}
    end.

%% Written beside the destination and renamed over it: another build
%% sharing the cache never reads half a file.
put_file(Path, Data) ->
    ok = filelib:ensure_dir(Path),
    Tmp = iolist_to_binary([Path, ".", integer_to_list(erlang:unique_integer([positive])), ".tmp"]),
    ok = file:write_file(Tmp, Data),
    ok = file:rename(Tmp, Path).

%% GETs an https:// URL, the peer's certificate and host name checked
%% against the system's CA certificates (or the PEM file CORRAL_CACERTFILE
%% names), following at most five redirects, to https:// URLs only
%% (httpc's own autoredirect would follow one to plain HTTP). Through the
%% proxy https_proxy or HTTPS_PROXY names, as curl and Mix read them
%% (http://[user:password@]host[:port]), unless no_proxy or NO_PROXY lists
%% the host. httpc runs in a profile of Corral's own, so the options of
%% the build tool's downloads are left alone.
%% {ok, Body} | {error, Sentence}.
download(Url) ->
    case {https_url(iolist_to_binary(Url)), application:ensure_all_started(ssl), application:ensure_all_started(inets)} of
        {false, _, _} -> {error, <<(iolist_to_binary(Url))/binary, " is not an https:// URL">>};
        {true, {ok, _}, {ok, _}} ->
            case proxy() of
                {ok, Proxy} ->
                    ok = start_profile(Proxy),
                    get(iolist_to_binary(Url), Proxy, ?REDIRECTS);
                {error, _} = Error -> Error
            end;
        %% A minimal Erlang install (Debian's erlang-base alone) has no ssl or inets.
        {true, Ssl, Inets} ->
            {error, iolist_to_binary(io_lib:format("could not start Erlang's HTTPS client (ssl: ~0p, inets: ~0p); "
                                                   "install Erlang's ssl and inets applications (Debian: "
                                                   "erlang-ssl, erlang-inets)", [Ssl, Inets]))}
    end.

https_url(Url) ->
    case uri_string:parse(Url) of
        #{scheme := <<"https">>, host := Host} when Host =/= <<>> -> true;
        _ -> false
    end.

get(Url, Proxy, Redirects) ->
    case uri_string:parse(Url) of
        #{scheme := <<"https">>, host := Host} when Host =/= <<>> ->
            Request = {binary_to_list(Url), [{"user-agent", "corral"}]},
            Http = [{ssl, ssl_options(binary_to_list(Host))}, {connect_timeout, ?CONNECT_TIMEOUT},
                    {timeout, ?TIMEOUT}, {autoredirect, false} | proxy_auth(Proxy)],
            case httpc:request(get, Request, Http, [{body_format, binary}], ?PROFILE) of
                {ok, {{_, 200, _}, _, Body}} -> {ok, Body};
                {ok, {{_, Status, _}, Headers, _}} when Status =:= 301; Status =:= 302; Status =:= 303;
                                                       Status =:= 307; Status =:= 308 ->
                    case [V || {K, V} <- Headers, string:lowercase(K) =:= "location"] of
                        _ when Redirects =:= 0 -> {error, <<"more than 5 redirects">>};
                        [] -> {error, iolist_to_binary(io_lib:format("the server answered ~w without a location", [Status]))};
                        [Location | _] -> get(uri_string:resolve(list_to_binary(Location), Url), Proxy, Redirects - 1)
                    end;
                {ok, {{_, Status, Reason}, _, _}} ->
                    {error, iolist_to_binary(io_lib:format("the server answered ~w ~ts", [Status, Reason]))};
                {error, Why} -> {error, iolist_to_binary([describe(Why), through(Proxy, binary_to_list(Host))])}
            end;
        _ -> {error, <<Url/binary, " is not an https:// URL">>}
    end.

%% A fresh profile per download: what an earlier one was set to (another
%% proxy) does not stay.
start_profile(Proxy) ->
    _ = inets:stop(httpc, ?PROFILE),
    {ok, _} = inets:start(httpc, [{profile, ?PROFILE}]),
    case Proxy of
        none -> ok;
        {Host, Port, _, NoProxy, _} ->
            httpc:set_options([{https_proxy, {{Host, Port}, no_proxy_patterns(NoProxy)}}], ?PROFILE)
    end.

%% The proxy of the environment: none, or {Host, Port, Auth, NoProxy,
%% Variable}, NoProxy the hosts no_proxy lists; {error, Sentence} if the
%% variable does not hold a proxy URL.
proxy() ->
    case first_env(["https_proxy", "HTTPS_PROXY"]) of
        none -> {ok, none};
        {Var, Value} ->
            Bad = {error, iolist_to_binary([Var, "=", without_userinfo(Value),
                                            " is not an http:// proxy (http://[user:password@]host[:port])"])},
            Uri = case string:find(Value, "://") of
                      nomatch -> "http://" ++ Value;
                      _ -> Value
                  end,
            case uri_string:parse(Uri) of
                #{scheme := Scheme, host := Host} = Parts when Host =/= "" ->
                    case string:lowercase(Scheme) of
                        "http" ->
                            case no_proxy() of
                                all -> {ok, none};
                                NoProxy -> {ok, {Host, maps:get(port, Parts, 80), userinfo(Parts), NoProxy, Var}}
                            end;
                        _ -> Bad
                    end;
                _ -> Bad
            end
    end.

%% A proxy URL as a message may show it: without a password.
without_userinfo(Value) -> re:replace(Value, "^([^:/@]*://)?[^/@]*@", "\\1", [{return, list}]).

first_env([]) -> none;
first_env([Var | Rest]) ->
    case os:getenv(Var, "") of
        "" -> first_env(Rest);
        Value -> {Var, string:trim(Value)}
    end.

userinfo(#{userinfo := Info}) ->
    {User, Password} = case string:split(Info, ":") of
                           [U, P] -> {U, P};
                           [U] -> {U, ""}
                       end,
    {uri_string:percent_decode(User), uri_string:percent_decode(Password)};
userinfo(_) -> none.

%% no_proxy's hosts: a name covers that host and its subdomains
%% ("example.com" and ".example.com" alike); "*" turns the proxy off.
no_proxy() ->
    Hosts = case first_env(["no_proxy", "NO_PROXY"]) of
                none -> [];
                {_, Value} -> [string:trim(H) || H <- string:split(Value, ",", all), string:trim(H) =/= ""]
            end,
    case lists:member("*", Hosts) of
        true -> all;
        false -> [string:trim(H, leading, ".") || H <- Hosts]
    end.

%% httpc's patterns for those hosts: "*.X" matches any host ending in X,
%% so a subdomain's pattern keeps the dot ("*..example.com").
no_proxy_patterns(Hosts) -> lists:append([[H, "*.." ++ H] || H <- Hosts]).

direct(Target, Hosts) -> lists:any(fun(H) -> Target =:= H orelse lists:suffix("." ++ H, Target) end, Hosts).

proxy_auth({_, _, {User, Password}, _, _}) -> [{proxy_auth, {User, Password}}];
proxy_auth(_) -> [].

%% Where a failed request went through a proxy, which one.
through({Host, Port, _, NoProxy, Var}, Target) ->
    case direct(Target, NoProxy) of
        true -> "";
        false -> io_lib:format(", through the proxy ~ts:~w that ~ts names", [Host, Port, Var])
    end;
through(none, _) -> "".

ssl_options(Host) ->
    CaCerts = case os:getenv("CORRAL_CACERTFILE", "") of
                  "" -> [{cacerts, system_cacerts()}];
                  File -> [{cacertfile, File}]
              end,
    CaCerts ++ [{verify, verify_peer}, {depth, 10}, {server_name_indication, Host},
                {customize_hostname_check, [{match_fun, public_key:pkix_verify_hostname_match_fun(https)}]},
                %% A refused certificate is reported once, in the build's error.
                {log_level, warning}].

system_cacerts() ->
    try public_key:cacerts_get()
    catch _:_ -> []
    end.

describe({failed_connect, Details}) ->
    case lists:keyfind(inet, 1, Details) of
        {inet, _, {tls_alert, {Kind, Text}}} ->
            Lines = string:split(string:trim(Text), "\n", all),
            %% The hint only where the server's certificate was refused.
            Hint = case Kind =:= unknown_ca orelse string:find(Text, "bad_cert") =/= nomatch of
                       true -> "; a certificate the system does not trust can be named with CORRAL_CACERTFILE=ca.pem";
                       false -> ""
                   end,
            iolist_to_binary(io_lib:format("the TLS handshake failed (~w: ~ts)~ts",
                                           [Kind, string:trim(lists:last(Lines)), Hint]));
        {inet, _, Reason} ->
            iolist_to_binary(["could not connect (", inet:format_error(Reason), ")"]);
        false ->
            iolist_to_binary(io_lib:format("could not connect (~p)", [Details]))
    end;
describe({could_not_establish_ssl_tunnel, {_, Status, Reason}}) ->
    Hint = case Status of
               407 -> " (it wants a user and password: http://user:password@host:port)";
               _ -> ""
           end,
    iolist_to_binary(io_lib:format("the proxy answered ~w ~ts to the tunnel's request~ts", [Status, Reason, Hint]));
describe(timeout) -> iolist_to_binary(io_lib:format("no answer within ~w s", [?TIMEOUT div 1000]));
describe(Other) -> iolist_to_binary(io_lib:format("~p", [Other])).

%% The Erlang headers of a build for the target of the compiler CC (a
%% command line: "arm-linux-gnueabihf-gcc"), written to Dir from those in
%% HostInclude: erl_nif.h and its companions are the same on every machine
%% but erl_int_sizes_config.h, which Erlang's configure writes from the
%% target's type sizes; here they come from the compiler's predefined
%% macros. For cross builds to a target of another word size.
%% {ok, Dir} | {error, Sentence}.
target_include(CC, HostInclude, Dir) ->
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    [{ok, _} = file:copy(H, filename:join(Dir, filename:basename(H)))
     || H <- filelib:wildcard(filename:join(HostInclude, "*.h"))],
    Defs = os:cmd(CC ++ " -dM -E -x c /dev/null 2>&1"),
    Sizes = [{Name, re:run(Defs, "#define __SIZEOF_" ++ Macro ++ "__ (\\d+)", [{capture, [1], list}])}
             || {Macro, Name} <- [{"SHORT", "SHORT"}, {"INT", "INT"}, {"LONG", "LONG"},
                                  {"LONG_LONG", "LONG_LONG"}, {"POINTER", "VOID_P"}]],
    case [Name || {Name, nomatch} <- Sizes] of
        [] ->
            ok = file:write_file(filename:join(Dir, "erl_int_sizes_config.h"),
                                 ["#define SIZEOF_CHAR 1\n" | [["#define SIZEOF_", Name, " ", N, "\n"]
                                                              || {Name, {match, [N]}} <- Sizes]]),
            {ok, Dir};
        _ -> {error, iolist_to_binary(["could not read the type sizes of ", CC, ": ", Defs])}
    end.
