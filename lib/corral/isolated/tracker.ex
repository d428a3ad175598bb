defmodule Corral.Isolated.Tracker do
  @moduledoc false
  # The calling VM's side of Corral.Handle lifetimes (c_src/corral_isolated/tracker.c):
  # `track/3` makes the reference stored in a handle; its destructor records
  # the handle's id when the last copy is garbage collected, and the module's
  # server collects those ids with `drain/1`.
  #
  # The library is built by Corral's compiler when the first isolated
  # module compiles (so projects without isolated modules never build it) and
  # loaded by the first server.

  @source_dir Path.expand("../../../c_src/corral_isolated", __DIR__)
  @external_resource Path.join(@source_dir, "tracker.c")
  @external_resource Path.join(@source_dir, "ring.c")

  defp build_opts, do: [otp_app: :corral, lib: "corral_isolated", path: @source_dir, compile_commands: false]

  @doc "Builds the library (once per VM; parallel compiles wait for each other)."
  def build! do
    case :persistent_term.get({__MODULE__, :built}, nil) do
      nil ->
        info =
          :global.trans({{__MODULE__, :build}, self()}, fn -> Corral.Compiler.build!(__MODULE__, build_opts()) end, [node()], :infinity)

        expected =
          [{:drain, 1, 0}, {:pending, 1, 0}, {:release, 1, 0}, {:released, 1, 0}, {:ring_attach, 2, 0}, {:ring_call, 3, 0}, {:ring_close, 1, 0},
           {:ring_create, 0, 0}, {:ring_free, 3, 0}, {:ring_orphans, 1, 0}, {:ring_owns, 3, 0}, {:ring_poll, 2, 0}, {:ring_reply, 3, 0}, {:ring_unlink, 1, 0}, {:track, 3, 0}]

        if Enum.sort(info.exports) != expected do
          raise "Corral: the handle tracker library exports #{inspect(info.exports)}, expected #{inspect(expected)}"
        end

        :persistent_term.put({__MODULE__, :built}, info.so)
        info.so

      so ->
        so
    end
  end

  @doc "Loads the library into this VM unless it is loaded; raises if it cannot be."
  def load! do
    if loaded?() do
      :ok
    else
      built = build_opts() |> then(&Corral.Compiler.config(__MODULE__, &1)) |> Map.fetch!(:so) |> String.replace_suffix(".so", "")
      path = Corral.Loader.library_path({:corral, "priv/native/libcorral_isolated"}, built)

      case :erlang.load_nif(String.to_charlist(path), {:corral, Corral.abi(), :none, nil}) do
        :ok ->
          :ok

        error ->
          # Another server may have loaded it meanwhile.
          unless loaded?() do
            raise Corral.LoadError,
              message:
                "Corral.Isolated: cannot load the handle library #{path}.so: #{inspect(error)}; " <>
                  "it is built when a module with isolate: true compiles"
          end

          :ok
      end
    end
  end

  defp loaded? do
    is_map(__corral_live__())
  rescue
    _ -> false
  end

  # The NIFs are bound to __nif_<name> (as in every Corral library), and
  # raise nothing of Corral's: the functions call them directly.
  @doc "A reference tracking handle `id` of native process `gen` for server `slot`."
  def track(slot, gen, id), do: __nif_track(slot, gen, id)
  @doc "Marks the reference released; true the first time."
  def release(ref), do: __nif_release(ref)
  @doc "Whether the reference was released explicitly."
  def released(ref), do: __nif_released(ref)
  @doc "`[{gen, id}]` of the slot's handles collected since the last drain."
  def drain(slot), do: __nif_drain(slot)

  # The shared-memory ring of c_src/corral_isolated/ring.c (its comments
  # say what each returns).
  @doc false
  def ring_create, do: __nif_ring_create()
  @doc false
  def ring_unlink(ring), do: __nif_ring_unlink(ring)
  @doc false
  def ring_close(ring), do: __nif_ring_close(ring)
  @doc false
  def ring_call(ring, request, spin_us), do: __nif_ring_call(ring, request, spin_us)
  @doc false
  def ring_owns(ring, slot, id), do: __nif_ring_owns(ring, slot, id)
  @doc false
  def ring_free(ring, slot, id), do: __nif_ring_free(ring, slot, id)
  @doc false
  def ring_orphans(ring), do: __nif_ring_orphans(ring)
  @doc false
  def __nif_ring_orphans(_ring), do: :erlang.nif_error(:not_loaded)
  @doc false
  def ring_attach(path, server), do: __nif_ring_attach(path, server)
  @doc false
  def ring_reply(slot, id, reply), do: __nif_ring_reply(slot, id, reply)
  @doc false
  def ring_poll(spin_us, stop?), do: __nif_ring_poll(spin_us, stop?)
  @doc false
  def __nif_ring_poll(_spin_us, _stop?), do: :erlang.nif_error(:not_loaded)

  @doc false
  def __nif_ring_create, do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_ring_unlink(_ring), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_ring_close(_ring), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_ring_call(_ring, _request, _spin_us), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_ring_owns(_ring, _slot, _id), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_ring_free(_ring, _slot, _id), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_ring_attach(_path, _server), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_ring_reply(_slot, _id, _reply), do: :erlang.nif_error(:not_loaded)
  @doc "Whether the slot has collected handles not drained yet."
  def pending(slot), do: __nif_pending(slot)
  @doc false
  def __nif_pending(_slot), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_track(_slot, _gen, _id), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_release(_ref), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_released(_ref), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __nif_drain(_slot), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __corral_live__, do: :erlang.nif_error(:not_loaded)
  @doc false
  def __corral_cancel__(_job), do: :erlang.nif_error(:not_loaded)
  @doc false
  def __corral_ack__(_job, _n), do: :erlang.nif_error(:not_loaded)
end
