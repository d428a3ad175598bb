defmodule Buffer do
  @moduledoc """
  A mutable byte buffer that processes can share.

      iex> buf = Buffer.new(4)
      iex> Buffer.set(buf, 1, 200)
      :ok
      iex> Buffer.get(buf, 1)
      200
      iex> Buffer.to_binary(buf)
      <<0, 200, 0, 0>>

  Bad arguments raise `ArgumentError` naming the function, the argument and
  what was expected; the buffer is freed when no process holds it any more.
  """

  @typedoc "A buffer handle (a resource reference)."
  @type t :: reference()

  @doc "A new buffer of `size` zero bytes."
  @spec new(non_neg_integer()) :: t
  defdelegate new(size), to: Buffer.Native

  @doc "The byte at `index` (0-based)."
  @spec get(t, non_neg_integer()) :: byte()
  defdelegate get(buffer, index), to: Buffer.Native

  @doc "Stores `byte` at `index` (0-based)."
  @spec set(t, non_neg_integer(), byte()) :: :ok
  defdelegate set(buffer, index, byte), to: Buffer.Native

  @doc "The number of bytes in the buffer."
  @spec size(t) :: non_neg_integer()
  defdelegate size(buffer), to: Buffer.Native

  @doc "A copy of the buffer's bytes."
  @spec to_binary(t) :: binary()
  defdelegate to_binary(buffer), to: Buffer.Native

  @doc "A new buffer holding a copy of `binary`."
  @spec from_binary(binary()) :: t
  def from_binary(binary) when is_binary(binary) do
    buffer = new(byte_size(binary))

    binary
    |> :binary.bin_to_list()
    |> Enum.with_index()
    |> Enum.each(fn {byte, i} -> set(buffer, i, byte) end)

    buffer
  end

  @doc "Applies `fun` to the byte at `index` and stores the result."
  @spec update(t, non_neg_integer(), (byte() -> byte())) :: :ok
  def update(buffer, index, fun) when is_function(fun, 1) do
    set(buffer, index, fun.(get(buffer, index)))
  end
end
