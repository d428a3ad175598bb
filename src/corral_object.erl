%% Reads named sections of a shared library: ELF (Linux, BSD) and Mach-O
%% (macOS, thin or universal). Corral keeps its export table, docs and
%% module record in sections of the built library (corral_module,
%% corral_exports, corral_docs); this is how the Elixir build
%% (Corral.ObjectFile) and the Erlang stub generator (corral_stubs) read
%% them. Errors are sentences (binaries).
-module(corral_object).
-export([sections/2, parse/2, parse_elf/2, parse_macho/2, parse_macho/3, elf_magic/1, macho_magic/1,
         macho_architectures/1, host_arch/0, overreaching_reads/1]).

-define(MH_MAGIC_64, 16#FEEDFACF).
-define(LC_SEGMENT_64, 16#19).

%% {ok, #{Name => Bytes}} for the requested section names found in the file
%% at Path, or {error, Sentence}.
sections(Path, Names) ->
    case file:read_file(Path) of
        {ok, Bin} -> parse(Bin, Names);
        {error, Reason} -> {error, Reason}
    end.

parse(Bin, Names) ->
    case {elf_magic(Bin), macho_magic(Bin)} of
        {true, _} -> parse_elf(Bin, Names);
        {_, true} -> parse_macho(Bin, Names, host_arch());
        _ -> {error, <<"not a shared library (neither ELF nor Mach-O)">>}
    end.

elf_magic(<<16#7F, "ELF", _/binary>>) -> true;
elf_magic(_) -> false.

macho_magic(<<16#CF, 16#FA, 16#ED, 16#FE, _/binary>>) -> true;
macho_magic(<<16#CE, 16#FA, 16#ED, 16#FE, _/binary>>) -> true;
macho_magic(<<16#CA, 16#FE, 16#BA, M, N:32/big, _/binary>>) when (M =:= 16#BE orelse M =:= 16#BF), N >= 1, N =< 30 -> true;
macho_magic(_) -> false.

%% {ELF}

parse_elf(<<16#7F, "ELF", Class, 1, _/binary>> = Bin, Names) when Class =:= 1; Class =:= 2 ->
    maybe_elf(elf_header(Bin, Class), Bin, Class, Names);
parse_elf(<<16#7F, "ELF", _/binary>>, _Names) -> {error, <<"big-endian ELF files are not supported">>};
parse_elf(_Bin, _Names) -> {error, <<"not an ELF file">>}.

maybe_elf({error, _} = E, _Bin, _Class, _Names) -> E;
maybe_elf({ok, ShOff, ShEntSize, ShNum, ShStrNdx}, Bin, Class, Names) ->
    case elf_section_headers(Bin, Class, ShOff, ShEntSize, ShNum, 0, []) of
        {error, _} = E -> E;
        {ok, Headers} when ShStrNdx >= length(Headers) -> {error, <<"no section name table">>};
        {ok, Headers} ->
            {_, _, _, TabOff, TabSize} = lists:nth(ShStrNdx + 1, Headers),
            case slice(Bin, TabOff, TabSize) of
                {error, _} = E -> E;
                {ok, Tab} ->
                    {ok, maps:from_list([{Name, Bytes} || {NameOff, _, _, Off, Size} <- Headers,
                                                         Name <- [cstring_at(Tab, NameOff)],
                                                         lists:member(Name, Names),
                                                         {ok, Bytes} <- [slice(Bin, Off, Size)]])}
            end
    end.

elf_header(Bin, 2) ->
    case Bin of
        <<_:40/binary, ShOff:64/little, _:10/binary, ShEntSize:16/little, ShNum:16/little, ShStrNdx:16/little,
          _/binary>> ->
            {ok, ShOff, ShEntSize, ShNum, ShStrNdx};
        _ -> {error, <<"truncated ELF header">>}
    end;
elf_header(Bin, 1) ->
    case Bin of
        <<_:32/binary, ShOff:32/little, _:10/binary, ShEntSize:16/little, ShNum:16/little, ShStrNdx:16/little,
          _/binary>> ->
            {ok, ShOff, ShEntSize, ShNum, ShStrNdx};
        _ -> {error, <<"truncated ELF header">>}
    end.

elf_section_headers(_Bin, _Class, _Off, _Size, Num, Num, Acc) -> {ok, lists:reverse(Acc)};
elf_section_headers(Bin, Class, Off, Size, Num, K, Acc) ->
    case slice(Bin, Off + K * Size, Size) of
        {ok, H} -> elf_section_headers(Bin, Class, Off, Size, Num, K + 1, [elf_section(H, Class) | Acc]);
        Error -> Error
    end.

%% {NameOffset, Type, Address, FileOffset, Size}
elf_section(<<Name:32/little, Type:32/little, _Flags:64, Addr:64/little, Off:64/little, Size:64/little, _/binary>>, 2) ->
    {Name, Type, Addr, Off, Size};
elf_section(<<Name:32/little, Type:32/little, _Flags:32, Addr:32/little, Off:32/little, Size:32/little, _/binary>>, 1) ->
    {Name, Type, Addr, Off, Size};
elf_section(_, _) -> {0, 0, 0, 0, 0}.

%% {argument reads}

%% The constant argument indexes that the bodies of the export table's
%% functions read at or past their row's arity, from the notes corral.h
%% leaves (see "Argument reads the build checks" there): {ok, [{Row, Arity,
%% Index, File, Line}]} sorted, with Row the row's name, or unsupported
%% where the notes cannot be resolved here
%% (their pointers are relocated at load, and only 64-bit little-endian ELF
%% relocations are read: Linux and BSD on x86-64 and AArch64).
overreaching_reads(<<16#7F, "ELF", 2, 1, _/binary>> = Bin) ->
    case elf_header(Bin, 2) of
        {ok, ShOff, ShEntSize, ShNum, ShStrNdx} when ShEntSize =:= 64 ->
            case elf_section_headers(Bin, 2, ShOff, ShEntSize, ShNum, 0, []) of
                {ok, Headers} when ShStrNdx < length(Headers) ->
                    {_, _, _, TabOff, TabSize} = lists:nth(ShStrNdx + 1, Headers),
                    {ok, Tab} = slice(Bin, TabOff, TabSize),
                    Named = [{cstring_at(Tab, N), H} || {N, _, _, _, _} = H <- Headers],
                    overreaching_reads(Bin, Named);
                _ -> unsupported
            end;
        _ -> unsupported
    end;
overreaching_reads(_) -> unsupported.

overreaching_reads(Bin, Named) ->
    Sec = fun(Name) -> case lists:keyfind(Name, 1, Named) of
                           {_, {_, _, Addr, Off, Size}} -> {Addr, binary_part(Bin, Off, Size)};
                           false -> none
                       end
          end,
    Relocs = case Sec(<<".rela.dyn">>) of
                 none -> #{};
                 {_, Rela} -> maps:from_list([{Where, Addend} || <<Where:64/little, Info:64/little, Addend:64/little-signed>> <= Rela,
                                                              (Info band 16#FFFFFFFF) =:= 8 orelse (Info band 16#FFFFFFFF) =:= 1027])
             end,
    Loaded = [{Addr, Off, Size} || {_, {_, Type, Addr, Off, Size}} <- Named, Type =/= 8, Addr =/= 0],
    %% A pointer in the file: its relocation's addend (RELA), else the value
    %% in place (RELR, REL).
    Ptr = fun(At) -> case Relocs of
                         #{At := Target} -> Target;
                         _ -> case file_bytes(Bin, Loaded, At, 8) of
                                  <<V:64/little>> -> V;
                                  _ -> 0
                              end
                     end
          end,
    Str = fun(At) -> case file_offset(Loaded, At) of
                         none -> <<>>;
                         Off -> cstring_at(Bin, Off)
                     end
          end,
    case {Sec(<<"corral_exports">>), Sec(<<"corral_nifs">>), Sec(<<"corral_args">>)} of
        {{EAddr, Exports}, {NAddr, Nifs}, {AAddr, Args}} ->
            Rows = [{cstring_at(Name, 0), Arity, Ptr(EAddr + K * 272 + 264)}
                    || {K, <<Name:256/binary, Arity:32/little, _Flags:32/little, _:64>>} <- enumerate(Exports, 272)],
            Bodies = maps:from_list([{Ptr(NAddr + K * 32 + 8), Str(Ptr(NAddr + K * 32 + 16))}
                                     || {K, <<"CORRNIF", 0, _:24/binary>>} <- enumerate(Nifs, 32)]),
            Reads = [{Str(Ptr(AAddr + K * 32 + 8)), Str(Ptr(AAddr + K * 32 + 16)), Index, Line}
                     || {K, <<"CORRARG", 0, _:16/binary, Index:32/little-signed, Line:32/little>>} <- enumerate(Args, 32),
                        Index >= 0],
            {ok, lists:usort([{Row, Arity, Index, File, Line}
                              || {Row, Arity, Fn} <- Rows, {ok, Body} <- [maps:find(Fn, Bodies)],
                                 {Func, File, Index, Line} <- Reads, Func =:= Body, Index >= Arity])};
        _ -> {ok, []}
    end.

enumerate(Bin, Size) -> [{K, binary_part(Bin, K * Size, Size)} || K <- lists:seq(0, byte_size(Bin) div Size - 1)].

file_offset([], _At) -> none;
file_offset([{Addr, Off, Size} | _], At) when At >= Addr, At < Addr + Size -> Off + (At - Addr);
file_offset([_ | Rest], At) -> file_offset(Rest, At).

file_bytes(Bin, Loaded, At, N) ->
    case file_offset(Loaded, At) of
        Off when is_integer(Off), Off + N =< byte_size(Bin) -> binary_part(Bin, Off, N);
        _ -> <<>>
    end.

%% {Mach-O}

parse_macho(Bin, Names) -> parse_macho(Bin, Names, host_arch()).

%% A universal file is read in the slice of Arch ("arm64" or "x86_64"), else
%% its first.
parse_macho(<<?MH_MAGIC_64:32/little, _/binary>> = Bin, Names, _Arch) -> macho_thin(Bin, Names);
parse_macho(<<16#CE, 16#FA, 16#ED, 16#FE, _/binary>>, _Names, _Arch) ->
    {error, <<"32-bit Mach-O files are not supported (macOS libraries are 64-bit)">>};
parse_macho(<<16#CA, 16#FE, 16#BA, M, N:32/big, Rest/binary>> = Bin, Names, Arch)
  when (M =:= 16#BE orelse M =:= 16#BF), N >= 1, N =< 30 ->
    case fat_slices(Rest, N, M =:= 16#BF, []) of
        {error, _} = E -> E;
        {ok, [First | _] = Slices} ->
            {_Cpu, Off, Size} =
                case [S || {Cpu, _, _} = S <- Slices, cpu_name(Cpu) =:= Arch] of
                    [Match | _] -> Match;
                    [] -> First
                end,
            case slice(Bin, Off, Size) of
                {ok, Thin} -> parse_macho(Thin, Names, Arch);
                Error -> Error
            end
    end;
parse_macho(_Bin, _Names, _Arch) -> {error, <<"not a Mach-O file">>}.

%% The architectures of a Mach-O or universal file, as names.
macho_architectures(<<?MH_MAGIC_64:32/little, Cpu:32/little, _/binary>>) -> {ok, [cpu_name(Cpu)]};
macho_architectures(<<16#CA, 16#FE, 16#BA, M, N:32/big, Rest/binary>>) when M =:= 16#BE; M =:= 16#BF ->
    case fat_slices(Rest, N, M =:= 16#BF, []) of
        {ok, Slices} -> {ok, [cpu_name(Cpu) || {Cpu, _, _} <- Slices]};
        Error -> Error
    end;
macho_architectures(_) -> {error, <<"not a Mach-O file">>}.

cpu_name(16#01000007) -> <<"x86_64">>;
cpu_name(16#0100000C) -> <<"arm64">>;
cpu_name(Cpu) -> iolist_to_binary(["cpu type 0x", integer_to_list(Cpu, 16)]).

%% The running machine's architecture, named as Mach-O names it.
host_arch() ->
    [Arch | _] = string:split(erlang:system_info(system_architecture), "-"),
    case Arch of
        "aarch64" -> <<"arm64">>;
        Other -> list_to_binary(Other)
    end.

fat_slices(_Rest, 0, _Wide, Acc) -> {ok, lists:reverse(Acc)};
fat_slices(<<Cpu:32/big, _Sub:32, Off:64/big, Size:64/big, _Align:32, _:32, Rest/binary>>, N, true, Acc) ->
    fat_slices(Rest, N - 1, true, [{Cpu, Off, Size} | Acc]);
fat_slices(<<Cpu:32/big, _Sub:32, Off:32/big, Size:32/big, _Align:32, Rest/binary>>, N, false, Acc) ->
    fat_slices(Rest, N - 1, false, [{Cpu, Off, Size} | Acc]);
fat_slices(_Rest, _N, _Wide, _Acc) -> {error, <<"truncated universal (fat) header">>}.

macho_thin(Bin, Names) ->
    case Bin of
        <<_Magic:32, _Cpu:32, _Sub:32, _Type:32, NCmds:32/little, SizeOfCmds:32/little, _Flags:32, _:32,
          Cmds:SizeOfCmds/binary, _/binary>> ->
            case load_commands(Cmds, NCmds, []) of
                {error, _} = E -> E;
                {ok, Sections} ->
                    {ok, maps:from_list([{Name, Bytes} || {Name, Type, Off, Size} <- Sections,
                                                         lists:member(Name, Names),
                                                         {ok, Bytes} <- [contents(Bin, Type, Off, Size)]])}
            end;
        _ -> {error, <<"truncated Mach-O header">>}
    end.

load_commands(_Cmds, 0, Acc) -> {ok, Acc};
load_commands(<<Cmd:32/little, CmdSize:32/little, _/binary>> = Cmds, N, Acc)
  when CmdSize >= 8, CmdSize =< byte_size(Cmds) ->
    <<This:CmdSize/binary, Rest/binary>> = Cmds,
    case Cmd =:= ?LC_SEGMENT_64 andalso segment_sections(This) of
        false -> load_commands(Rest, N - 1, Acc);
        {ok, Sections} -> load_commands(Rest, N - 1, Acc ++ Sections);
        Error -> Error
    end;
load_commands(_Cmds, _N, _Acc) -> {error, <<"truncated Mach-O load command">>}.

segment_sections(<<_:64/binary, NSects:32/little, _Flags:32, Sects/binary>>) when byte_size(Sects) >= NSects * 80 ->
    {ok, [{cstring(Name), Flags band 16#FF, Off, Size}
          || <<Name:16/binary, _Seg:16/binary, _Addr:64, Size:64/little, Off:32/little, _Align:32, _RelOff:32,
               _NReloc:32, Flags:32/little, _:12/binary>> <= binary_part(Sects, 0, NSects * 80)]};
segment_sections(_) -> {error, <<"truncated Mach-O segment">>}.

%% Zero-fill sections (S_ZEROFILL, S_GB_ZEROFILL, S_THREAD_LOCAL_ZEROFILL)
%% have no bytes in the file.
contents(_Bin, Type, _Off, Size) when Type =:= 16#01; Type =:= 16#0C; Type =:= 16#12 ->
    {ok, binary:copy(<<0>>, Size)};
contents(Bin, _Type, Off, Size) -> slice(Bin, Off, Size).

%% {helpers}

slice(Bin, Off, Size) when Off + Size =< byte_size(Bin) -> {ok, binary_part(Bin, Off, Size)};
slice(_Bin, _Off, _Size) -> {error, <<"section beyond the end of the file">>}.

cstring(Bin) -> hd(binary:split(Bin, <<0>>)).

cstring_at(Tab, Off) when Off < byte_size(Tab) -> cstring(binary_part(Tab, Off, byte_size(Tab) - Off));
cstring_at(_Tab, _Off) -> <<>>.
