defmodule Corral.ELF do
  @moduledoc false
  # Reads named sections out of an ELF shared object (Linux, the BSDs). Corral's C macros place
  # the export table in the sections "corral_module" and "corral_exports", so
  # the compiler learns the functions of a library without loading it into
  # the compiling VM and without parsing C source.

  @doc "Whether `bin` starts like an ELF file."
  def magic?(<<0x7F, "ELF", _::binary>>), do: true
  def magic?(_), do: false

  @doc "Returns `{:ok, %{name => bytes}}` for the requested section names, or `{:error, reason}`."
  def sections(path, names) do
    with {:ok, bin} <- File.read(path) do
      parse(bin, names)
    end
  end

  # Little-endian only: every platform Corral builds for (x86-64, AArch64,
  # RISC-V Linux) is.
  def parse(<<0x7F, "ELF", class, 1, _rest::binary>> = bin, names) when class in [1, 2] do
    with {:ok, shoff, shentsize, shnum, shstrndx} <- header(bin, class),
         {:ok, headers} <- section_headers(bin, class, shoff, shentsize, shnum),
         {:ok, {_, strtab_off, strtab_size}} <- fetch(headers, shstrndx),
         {:ok, strtab} <- slice(bin, strtab_off, strtab_size) do
      found =
        for {name_off, off, size} <- headers,
            name = cstring(strtab, name_off),
            name in names,
            {:ok, bytes} <- [slice(bin, off, size)],
            into: %{},
            do: {name, bytes}

      {:ok, found}
    end
  end

  def parse(<<0x7F, "ELF", _::binary>>, _names), do: {:error, "big-endian ELF files are not supported"}
  def parse(_bin, _names), do: {:error, "not an ELF file"}

  defp header(bin, 2) do
    case bin do
      <<_::binary-40, shoff::unsigned-little-64, _::binary-10, shentsize::unsigned-little-16,
        shnum::unsigned-little-16, shstrndx::unsigned-little-16, _::binary>> ->
        {:ok, shoff, shentsize, shnum, shstrndx}

      _ ->
        {:error, "truncated ELF header"}
    end
  end

  defp header(bin, 1) do
    case bin do
      <<_::binary-32, shoff::unsigned-little-32, _::binary-10, shentsize::unsigned-little-16,
        shnum::unsigned-little-16, shstrndx::unsigned-little-16, _::binary>> ->
        {:ok, shoff, shentsize, shnum, shstrndx}

      _ ->
        {:error, "truncated ELF header"}
    end
  end

  defp section_headers(bin, class, shoff, shentsize, shnum) do
    Enum.reduce_while(0..(shnum - 1)//1, {:ok, []}, fn k, {:ok, acc} ->
      case slice(bin, shoff + k * shentsize, shentsize) do
        {:ok, h} -> {:cont, {:ok, [section_header(h, class) | acc]}}
        error -> {:halt, error}
      end
    end)
    |> case do
      {:ok, acc} -> {:ok, Enum.reverse(acc)}
      error -> error
    end
  end

  defp section_header(<<name::unsigned-little-32, _type::32, _flags::64, _addr::64, off::unsigned-little-64,
                        size::unsigned-little-64, _::binary>>, 2),
       do: {name, off, size}

  defp section_header(<<name::unsigned-little-32, _type::32, _flags::32, _addr::32, off::unsigned-little-32,
                        size::unsigned-little-32, _::binary>>, 1),
       do: {name, off, size}

  defp section_header(_, _), do: {0, 0, 0}

  defp fetch(list, index) do
    case Enum.at(list, index) do
      nil -> {:error, "no section name table"}
      h -> {:ok, h}
    end
  end

  defp slice(bin, off, size) when off + size <= byte_size(bin), do: {:ok, binary_part(bin, off, size)}
  defp slice(_bin, _off, _size), do: {:error, "section beyond the end of the file"}

  defp cstring(tab, off) when off < byte_size(tab) do
    rest = binary_part(tab, off, byte_size(tab) - off)
    [s | _] = :binary.split(rest, <<0>>)
    s
  end

  defp cstring(_tab, _off), do: ""
end
