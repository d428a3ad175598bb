defmodule Bench.Handwritten.Stubs do
  @moduledoc """
  The functions of a hand-written erl_nif library built from
  `c_src/handwritten/handwritten.c` (see `Bench.Handwritten.Build`), loaded
  with `:erlang.load_nif/2` when the module loads:
  `use Bench.Handwritten.Stubs, library: "libhandwritten"`.
  """

  defmacro __using__(library: name) do
    quote do
      # Where Bench.Handwritten.Build puts the library (without .so). Computed
      # here rather than asked of Build: while the project compiles, this
      # module can be loaded before Build exists.
      @library Path.expand("../../_build/handwritten/" <> unquote(name), __DIR__)

      @on_load :load_nif

      @doc false
      def load_nif do
        try do
          if Code.ensure_loaded?(Bench.Handwritten.Build), do: Bench.Handwritten.Build.ensure_built!(__MODULE__)

          if File.exists?(@library <> ".so") do
            case :erlang.load_nif(String.to_charlist(@library), 0) do
              :ok -> :ok
              {:error, {_reason, text}} -> IO.warn("#{inspect(__MODULE__)}: cannot load #{@library}.so: #{text}", [])
            end
          end
        rescue
          e -> IO.warn("#{inspect(__MODULE__)}: " <> Exception.message(e), [])
        end

        # Stay loaded either way: the stubs then say the library is missing.
        :ok
      end

      @doc """
      `{thread, ns}`: the CPU time used by the scheduler thread running the
      caller, and a number naming that thread (the runner's clock).
      """
      def thread_clock, do: not_loaded()

      @doc "a + b for two 64-bit integers."
      def add(_a, _b), do: not_loaded()

      @doc "add/2 on a dirty CPU scheduler."
      def add_dirty_cpu(_a, _b), do: not_loaded()

      @doc "add/2 on a dirty IO scheduler."
      def add_dirty_io(_a, _b), do: not_loaded()

      @doc "A buffer of `size` zero bytes."
      def buffer_new(_size), do: not_loaded()

      @doc "A small native object holding the integer `v`."
      def object_new(_v), do: not_loaded()

      @doc "The byte at `index` (0-based)."
      def buffer_get(_buf, _index), do: not_loaded()

      @doc "Stores `byte` at `index`; returns :ok."
      def buffer_set(_buf, _index, _byte), do: not_loaded()

      @doc "The sum of a list of 64-bit integers."
      def list_sum(_list), do: not_loaded()

      @doc "The sum of a list of non-negative 64-bit integers."
      def list_sum_checked(_list), do: not_loaded()

      @doc "[0, 1, ..., n-1]."
      def list_build(_n), do: not_loaded()

      @doc "The sum of the bytes of a binary."
      def binary_sum(_bin), do: not_loaded()

      @doc "The sum of x + y over a list of %Bench.Point{}."
      def points_in(_list), do: not_loaded()

      @doc "n points %Bench.Point{x: k, y: k}."
      def points_out(_n), do: not_loaded()

      @doc "Sends {:hw_item, k} for k in 0..n-1 from a thread, then {:hw_done, n}."
      def items_send(_n), do: not_loaded()

      defp not_loaded do
        :erlang.nif_error(
          "the hand-written NIF library #{@library}.so is not loaded (see the warning printed when #{inspect(__MODULE__)} loaded)"
        )
      end
    end
  end
end

defmodule Bench.Handwritten do
  @moduledoc "The hand-written erl_nif reference, built with -O3: the reference of every ratio."
  use Bench.Handwritten.Stubs, library: "libhandwritten"
end

defmodule Bench.HandwrittenO2 do
  @moduledoc "The same hand-written C built with -O2, reported beside the reference."
  use Bench.Handwritten.Stubs, library: "libhandwritten_o2"
end
