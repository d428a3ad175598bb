defmodule Corral.Handle do
  @moduledoc """
  What an isolated module (`use Corral, ..., isolate: true`) returns in place
  of a term that cannot cross between operating system processes: a
  reference (every NIF resource is one), a pid or a port of the native
  process.

  The native process keeps the real term; passing the handle back as an
  argument (also inside lists, tuples and maps) gives the function the real
  term again. A handle lives as long as a process of the calling VM holds
  it, like a resource: when the last copy is garbage collected (for example
  when the process holding it exits), or when it is released with
  `Corral.Isolated.release/1`, the native process lets go of the term, and a
  resource's destructor runs there.

  A handle is only meaningful for the module that returned it and for the
  native process that made it: after that process crashed or was stopped,
  passing the handle raises `ArgumentError`
  (`expected a live handle, got: a handle from a native process that is gone ...`).

  Two calls returning the same object give two different handles.

  Fields: `:module` (the isolated module), `:kind` (`:reference`, `:pid` or
  `:port`), `:gen` (which native process), `:id`, and `:ref`, a reference
  in the calling VM that tracks the handle's lifetime.
  """
  defstruct [:module, :kind, :gen, :id, :ref]

  @type t :: %__MODULE__{module: module(), kind: :reference | :pid | :port, gen: pos_integer(), id: pos_integer(), ref: reference() | nil}

  defimpl Inspect do
    def inspect(%Corral.Handle{module: module, kind: kind, gen: gen, id: id}, _opts) do
      "#Corral.Handle<#{Kernel.inspect(module)} #{kind} #{gen}.#{id}>"
    end
  end
end
