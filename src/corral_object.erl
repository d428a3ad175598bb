%% Reads named sections of a shared library: ELF (Linux, BSD), Mach-O
%% (macOS, thin or universal) and PE/COFF (Windows DLLs). Corral keeps its export table, docs and
%% module record in sections of the built library (corral_module,
%% corral_exports, corral_docs); this is how the Elixir build
%% (Corral.ObjectFile) and the Erlang stub generator (corral_stubs) read
%% them. Errors are sentences (binaries).
-module(corral_object).
-export([sections/2, parse/2, parse_elf/2, parse_macho/2, parse_macho/3, parse_pe/2, elf_magic/1, macho_magic/1,
         macho_architectures/1, host_arch/0, overreaching_reads/1, target/1, host_target/0]).

-define(MH_MAGIC_64, 16#FEEDFACF).
-define(LC_SEGMENT_64, 16#19).

%% {ok, #{Name => Bytes}} for the requested section names found in the file
%% at Path, or {error, Sentence}.
sections(Path, Names) ->
    case file:read_file(Path) of
        {ok, Bin} -> parse(Bin, Names);
        {error, Reason} -> {error, Reason}
    end.

parse(<<"!<arch>\n", Members/binary>>, Names) ->
    %% A static library (CORRAL_STATIC=1): Corral puts its one object there.
    case archive_object(Members) of
        {ok, Object} -> parse(Object, Names);
        none -> {error, <<"an archive without an ELF object">>}
    end;
parse(<<"MZ", _/binary>> = Bin, Names) -> parse_pe(Bin, Names);
parse(Bin, Names) ->
    case {elf_magic(Bin), macho_magic(Bin)} of
        {true, _} -> parse_elf(Bin, Names);
        {_, true} -> parse_macho(Bin, Names, host_arch());
        _ -> {error, <<"not a shared library (neither ELF, Mach-O nor PE)">>}
    end.

%% The first ELF member of an ar archive (members: a 60-byte header with the
%% size in decimal at byte 48, the data, padded to an even length).
archive_object(<<_Name:48/binary, Size:10/binary, "`\n", Rest/binary>>) ->
    case string:to_integer(string:trim(binary_to_list(Size))) of
        {N, []} when N >= 0, N =< byte_size(Rest) ->
            <<Data:N/binary, After/binary>> = Rest,
            case elf_magic(Data) of
                true -> {ok, Data};
                false -> archive_object(skip_pad(N, After))
            end;
        _ -> none
    end;
archive_object(_) -> none.

skip_pad(N, <<"\n", After/binary>>) when N rem 2 =:= 1 -> After;
skip_pad(_N, After) -> After.

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

%% {PE}

%% A Windows DLL: the DOS header points (at 0x3C) to "PE\0\0" and the COFF
%% header; the section table follows the optional header. Names longer than
%% eight bytes (GNU ld keeps ours whole) are "/<offset>" into the COFF
%% string table, which follows the symbol table. A section's bytes are its
%% virtual size (the raw size is padded to the file alignment).
parse_pe(Bin, Names) ->
    case pe_sections(Bin) of
        {ok, _Machine, Sections} ->
            {ok, maps:from_list([{Name, Bytes} || {Name, Off, Size} <- Sections, lists:member(Name, Names),
                                                  {ok, Bytes} <- [slice(Bin, Off, Size)]])};
        {error, _} = E -> E
    end.

pe_sections(<<"MZ", _:58/binary, PeOff:32/little, _/binary>> = Bin) ->
    case Bin of
        <<_:PeOff/binary, "PE", 0, 0, Machine:16/little, Count:16/little, _Time:32, SymOff:32/little,
          SymCount:32/little, OptSize:16/little, _Flags:16, _/binary>> ->
            Strings = case SymOff of
                          0 -> <<>>;
                          _ -> case Bin of
                                   <<_:(SymOff + SymCount * 18)/binary, Tab/binary>> -> Tab;
                                   _ -> <<>>
                               end
                      end,
            pe_section_table(Bin, PeOff + 24 + OptSize, Count, Strings, Machine, []);
        _ -> {error, <<"not a PE file (no PE header)">>}
    end;
pe_sections(_) -> {error, <<"not a PE file">>}.

pe_section_table(_Bin, _Off, 0, _Strings, Machine, Acc) -> {ok, Machine, lists:reverse(Acc)};
pe_section_table(Bin, Off, Left, Strings, Machine, Acc) ->
    case slice(Bin, Off, 40) of
        {ok, <<Name8:8/binary, VSize:32/little, _Addr:32, RawSize:32/little, RawOff:32/little, _/binary>>} ->
            Name = case cstring(Name8) of
                       <<"/", Digits/binary>> ->
                           try cstring_at(Strings, binary_to_integer(Digits))
                           catch error:badarg -> Name8
                           end;
                       Short -> Short
                   end,
            Size = if VSize =:= 0 -> RawSize; true -> min(VSize, RawSize) end,
            pe_section_table(Bin, Off + 40, Left - 1, Strings, Machine, [{Name, RawOff, Size} | Acc]);
        _ -> {error, <<"truncated PE section table">>}
    end.

pe_arch(16#8664) -> <<"x86_64">>;
pe_arch(16#AA64) -> <<"aarch64">>;
pe_arch(16#014C) -> <<"i686">>;
pe_arch(_) -> none.

%% {target}

%% What a library was built for, as a target name: <<"x86_64-linux-gnu">>,
%% <<"aarch64-linux-musl">>, <<"arm-linux-gnueabihf">>, <<"aarch64-macos">>.
%% The architecture comes from the file's header; on ELF, the C library
%% (and with it the OS) from the libraries it needs: a build for another
%% machine, or for musl on a glibc system, is told from a native one without
%% loading it. {ok, Name} or {error, Sentence}.
target(Path) ->
    case file:read_file(Path) of
        {ok, <<"!<arch>\n", Members/binary>>} ->
            case archive_object(Members) of
                {ok, Object} -> target_of(Object);
                none -> {error, <<"an archive without an ELF object">>}
            end;
        {ok, <<"MZ", _/binary>> = Bin} ->
            case pe_sections(Bin) of
                {ok, Machine, _} ->
                    case pe_arch(Machine) of
                        none -> {error, <<"a PE file for an unknown machine">>};
                        Arch -> {ok, <<Arch/binary, "-windows">>}
                    end;
                {error, _} = E -> E
            end;
        {ok, Bin} -> target_of(Bin);
        {error, Reason} -> {error, iolist_to_binary(["cannot read ", Path, ": ", file:format_error(Reason)])}
    end.

target_of(<<16#7F, "ELF", Class, 1, _/binary>> = Bin) when Class =:= 1; Class =:= 2 ->
    {Machine, Flags} =
        case {Class, Bin} of
            {2, <<_:18/binary, M:16/little, _:28/binary, F:32/little, _/binary>>} -> {M, F};
            {1, <<_:18/binary, M:16/little, _:16/binary, F:32/little, _/binary>>} -> {M, F};
            _ -> {none, 0}
        end,
    case elf_arch(Machine, Class) of
        none -> {error, <<"an ELF file for an unknown machine">>};
        Arch -> {ok, iolist_to_binary([Arch, "-", elf_system(Bin, Arch, Flags)])}
    end;
target_of(<<16#7F, "ELF", _/binary>>) -> {error, <<"big-endian ELF files are not supported">>};
target_of(Bin) ->
    case macho_magic(Bin) andalso macho_architectures(Bin) of
        {ok, [Arch]} -> {ok, <<(macho_arch(Arch))/binary, "-macos">>};
        {ok, Archs} -> {ok, iolist_to_binary([lists:join("+", [macho_arch(A) || A <- Archs]), "-macos"])};
        {error, _} = E -> E;
        false -> {error, <<"not a shared library (neither ELF, Mach-O nor PE)">>}
    end.

elf_arch(62, 2) -> <<"x86_64">>;
elf_arch(3, 1) -> <<"i686">>;
elf_arch(183, 2) -> <<"aarch64">>;
elf_arch(40, 1) -> <<"arm">>;
elf_arch(243, 2) -> <<"riscv64">>;
elf_arch(243, 1) -> <<"riscv32">>;
elf_arch(21, 2) -> <<"powerpc64le">>;
elf_arch(258, 2) -> <<"loongarch64">>;
elf_arch(_, _) -> none.

%% "linux-gnu", "linux-musl", "freebsd"...: from the C library named in the
%% dynamic section; ARM adds its float ABI (EF_ARM_ABI_FLOAT_HARD).
elf_system(Bin, Arch, Flags) ->
    Needed = elf_needed(Bin),
    Libc = case [N || N <- Needed, is_libc(N)] of
               [L | _] -> L;
               [] -> <<>>
           end,
    Eabi = case Arch of
               <<"arm">> when Flags band 16#400 =/= 0 -> "eabihf";
               <<"arm">> -> "eabi";
               _ -> ""
           end,
    case Libc of
        <<"libc.so.7">> -> "freebsd";
        <<"libc.musl-", _/binary>> -> ["linux-musl", Eabi];
        <<"libc.so">> -> ["linux-musl", Eabi];
        %% glibc (libc.so.6), or no C library named at all: a Linux library
        %% is glibc's unless it says otherwise.
        _ -> ["linux-gnu", Eabi]
    end.

is_libc(<<"libc.so", _/binary>>) -> true;
is_libc(<<"libc.musl-", _/binary>>) -> true;
is_libc(_) -> false.

%% The DT_NEEDED names of an ELF file.
elf_needed(<<16#7F, "ELF", Class, _/binary>> = Bin) ->
    case parse_elf(Bin, [<<".dynamic">>, <<".dynstr">>]) of
        {ok, #{<<".dynamic">> := Dyn, <<".dynstr">> := Str}} ->
            Word = Class * 32,
            [cstring_at(Str, Val) || <<Tag:Word/little, Val:Word/little>> <= Dyn, Tag =:= 1];
        _ -> []
    end.

macho_arch(<<"arm64">>) -> <<"aarch64">>;
macho_arch(Other) -> Other.

%% The running VM's target, named as target/1 names a library's:
%% erlang:system_info(system_architecture) is "x86_64-pc-linux-gnu",
%% "aarch64-unknown-linux-musl", "arm-unknown-linux-gnueabihf",
%% "aarch64-apple-darwin23.1.0"...
host_target() ->
    case os:type() of
        %% Windows says only "win32"; the processor is in the environment.
        {win32, _} ->
            Arch = case os:getenv("PROCESSOR_ARCHITEW6432", os:getenv("PROCESSOR_ARCHITECTURE", "")) of
                       "ARM64" -> "aarch64";
                       "x86" -> "i686";
                       _ -> "x86_64"
                   end,
            iolist_to_binary([Arch, "-windows"]);
        _ ->
            [Arch | Rest] = string:split(erlang:system_info(system_architecture), "-", all),
            iolist_to_binary([host_arch_name(Arch), "-", host_system(Rest)])
    end.

host_arch_name("amd64") -> "x86_64";
host_arch_name("arm64") -> "aarch64";
host_arch_name("arm" ++ _) -> "arm";
host_arch_name([$i, _, $8, $6]) -> "i686";
host_arch_name(Arch) -> Arch.

host_system([]) -> "unknown";
host_system(["linux", Abi | _]) -> ["linux-", Abi];
host_system(["linux"]) -> "linux-gnu";
host_system(["darwin" ++ _ | _]) -> "macos";
host_system(["freebsd" ++ _ | _]) -> "freebsd";
host_system([_Vendor | Rest]) -> host_system(Rest).

%% {argument reads}

%% The constant argument indexes that the bodies of the export table's
%% functions read at or past their row's arity, from the notes corral.h
%% leaves (see "Argument reads the build checks" there): {ok, [{Row, Arity,
%% Index, File, Line}]} sorted, with Row the row's name, or unsupported
%% where the notes cannot be resolved here
%% (their pointers are relocated at load, and only 64-bit little-endian ELF
%% relocations are read: Linux and BSD on x86-64, AArch64 and RISC-V).
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
                                                              (Info band 16#FFFFFFFF) =:= relative_reloc(Bin)])
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

%% The relocation type that adds the load address (R_*_RELATIVE) on each
%% 64-bit machine whose notes are read.
relative_reloc(<<_:18/binary, 62:16/little, _/binary>>) -> 8;
relative_reloc(<<_:18/binary, 183:16/little, _/binary>>) -> 1027;
relative_reloc(<<_:18/binary, 243:16/little, _/binary>>) -> 3;
relative_reloc(_) -> none.

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
