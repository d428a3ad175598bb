defmodule CorralTest.Geo.Point do
  @moduledoc false
  defstruct [:x, :y]
end

defmodule CorralTest.Geo.Polygon do
  @moduledoc false
  defstruct [:name, :color, :width, :closed, :points, :weights, :origin]
end

defmodule CorralTest.Terms do
  @moduledoc false
  # Built as a release build is (test/raise_location_test.exs).
  use Corral, otp_app: :corral, lib: "corral_terms", path: "test/support/c_src/corral_terms", cflags: ["-Werror"], raise_locations: false
end

defmodule CorralTest.Typed do
  @moduledoc false
  use Corral, otp_app: :corral, lib: "corral_typed", path: "test/support/c_src/corral_typed", cflags: ["-Werror"]
end

defmodule CorralTest.Tally do
  @moduledoc false
  # The tally_* functions of CorralTest.Typed's library, as Tally.new/1,
  # Tally.add/2 and Tally.close/1 (typed declarations with specs).
  use Corral.Functions, from: CorralTest.Typed, prefix: "tally_"

  def add_one(t), do: add(t, 1)
end

defmodule CorralTest.Owned do
  @moduledoc false
  # owned_* of the same library, among them a thread job (owned_job).
  use Corral.Functions, from: CorralTest.Typed, prefix: :owned_
end
