defmodule Corral.MachO do
  @moduledoc false
  # Reads named sections out of a 64-bit Mach-O library (macOS, arm64 and
  # x86_64) or a universal ("fat") file holding several of them. On Mach-O,
  # corral.h places its tables in the sections __DATA,corral_module,
  # __DATA,corral_exports and __DATA,corral_docs; sections are found by their
  # section name, whatever their segment. Only the layout is read: nothing is
  # loaded or relocated, so a library built for another machine reads as well
  # as one built here.

  import Bitwise

  @mh_magic_64 0xFEEDFACF
  @lc_segment_64 0x19
  @section_type_mask 0xFF
  @zerofill [0x01, 0x0C, 0x12]

  @cpu_types %{0x01000007 => "x86_64", 0x0100000C => "arm64"}

  @doc "Whether `bin` starts like a Mach-O or universal file."
  def magic?(<<0xCF, 0xFA, 0xED, 0xFE, _::binary>>), do: true
  def magic?(<<0xCE, 0xFA, 0xED, 0xFE, _::binary>>), do: true
  def magic?(<<0xCA, 0xFE, 0xBA, 0xBE, n::big-32, _::binary>>) when n in 1..30, do: true
  def magic?(<<0xCA, 0xFE, 0xBA, 0xBF, n::big-32, _::binary>>) when n in 1..30, do: true
  def magic?(_), do: false

  @doc """
  Returns `{:ok, %{name => bytes}}` for the requested section names, or
  `{:error, reason}`. A universal file is read in the slice of `arch`
  ("arm64" or "x86_64"; by default the running machine's), else its first.
  """
  def parse(bin, names, arch \\ host_arch())

  def parse(<<@mh_magic_64::little-32, _::binary>> = bin, names, _arch), do: thin(bin, names)

  def parse(<<0xCE, 0xFA, 0xED, 0xFE, _::binary>>, _names, _arch),
    do: {:error, "32-bit Mach-O files are not supported (macOS libraries are 64-bit)"}

  def parse(<<0xCA, 0xFE, 0xBA, magic, n::big-32, rest::binary>> = bin, names, arch)
      when magic in [0xBE, 0xBF] and n in 1..30 do
    with {:ok, slices} <- fat_slices(rest, n, magic == 0xBF, []) do
      {_cpu, off, size} = Enum.find(slices, hd(slices), fn {cpu, _, _} -> Map.get(@cpu_types, cpu) == arch end)

      case slice(bin, off, size) do
        {:ok, thin} -> parse(thin, names, arch)
        error -> error
      end
    end
  end

  def parse(_bin, _names, _arch), do: {:error, "not a Mach-O file"}

  @doc "The architectures of a Mach-O or universal file, as names (\"arm64\", \"x86_64\")."
  def architectures(<<@mh_magic_64::little-32, cpu::little-32, _::binary>>), do: {:ok, [cpu_name(cpu)]}

  def architectures(<<0xCA, 0xFE, 0xBA, magic, n::big-32, rest::binary>>) when magic in [0xBE, 0xBF] do
    with {:ok, slices} <- fat_slices(rest, n, magic == 0xBF, []) do
      {:ok, Enum.map(slices, fn {cpu, _, _} -> cpu_name(cpu) end)}
    end
  end

  def architectures(_), do: {:error, "not a Mach-O file"}

  defp cpu_name(cpu), do: Map.get(@cpu_types, cpu, "cpu type 0x#{Integer.to_string(cpu, 16)}")

  defp host_arch do
    case :erlang.system_info(:system_architecture) |> List.to_string() |> String.split("-") |> hd() do
      "aarch64" -> "arm64"
      other -> other
    end
  end

  defp fat_slices(_rest, 0, _wide, acc), do: {:ok, Enum.reverse(acc)}

  defp fat_slices(<<cpu::big-32, _sub::32, off::big-64, size::big-64, _align::32, _::32, rest::binary>>, n, true, acc),
    do: fat_slices(rest, n - 1, true, [{cpu, off, size} | acc])

  defp fat_slices(<<cpu::big-32, _sub::32, off::big-32, size::big-32, _align::32, rest::binary>>, n, false, acc),
    do: fat_slices(rest, n - 1, false, [{cpu, off, size} | acc])

  defp fat_slices(_rest, _n, _wide, _acc), do: {:error, "truncated universal (fat) header"}

  # mach_header_64 is 32 bytes; its load commands follow.
  defp thin(bin, names) do
    case bin do
      <<_magic::32, _cpu::32, _sub::32, _type::32, ncmds::little-32, sizeofcmds::little-32, _flags::32, _::32,
        cmds::binary-size(sizeofcmds), _::binary>> ->
        with {:ok, sections} <- load_commands(cmds, ncmds, []) do
          found =
            for {name, type, off, size} <- sections,
                name in names,
                {:ok, bytes} <- [contents(bin, type, off, size)],
                into: %{},
                do: {name, bytes}

          {:ok, found}
        end

      _ ->
        {:error, "truncated Mach-O header"}
    end
  end

  defp load_commands(_cmds, 0, acc), do: {:ok, acc}

  defp load_commands(<<cmd::little-32, cmdsize::little-32, _::binary>> = cmds, n, acc)
       when cmdsize >= 8 and cmdsize <= byte_size(cmds) do
    this = binary_part(cmds, 0, cmdsize)
    rest = binary_part(cmds, cmdsize, byte_size(cmds) - cmdsize)

    case cmd == @lc_segment_64 and segment_sections(this) do
      false -> load_commands(rest, n - 1, acc)
      {:ok, sections} -> load_commands(rest, n - 1, acc ++ sections)
      error -> error
    end
  end

  defp load_commands(_cmds, _n, _acc), do: {:error, "truncated Mach-O load command"}

  # segment_command_64: 72 bytes, then nsects section_64 records of 80 bytes.
  defp segment_sections(<<_::binary-64, nsects::little-32, _flags::32, sects::binary>>) do
    if byte_size(sects) >= nsects * 80 do
      {:ok,
       for <<sect::binary-80 <- binary_part(sects, 0, nsects * 80)>> do
         <<name::binary-16, _seg::binary-16, _addr::64, size::little-64, off::little-32, _align::32, _reloff::32,
           _nreloc::32, flags::little-32, _::binary>> = sect

         {cstring(name), flags &&& @section_type_mask, off, size}
       end}
    else
      {:error, "truncated Mach-O segment"}
    end
  end

  defp segment_sections(_), do: {:error, "truncated Mach-O segment"}

  # Zero-fill sections have no bytes in the file.
  defp contents(_bin, type, _off, size) when type in @zerofill, do: {:ok, :binary.copy(<<0>>, size)}
  defp contents(bin, _type, off, size), do: slice(bin, off, size)

  defp slice(bin, off, size) when off + size <= byte_size(bin), do: {:ok, binary_part(bin, off, size)}
  defp slice(_bin, _off, _size), do: {:error, "section beyond the end of the file"}

  defp cstring(bin), do: bin |> :binary.split(<<0>>) |> hd()
end
