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
  use Corral, otp_app: :corral, lib: "corral_terms", path: "test/support/c_src/corral_terms", cflags: ["-Werror"]
end

defmodule CorralTest.Typed do
  @moduledoc false
  use Corral, otp_app: :corral, lib: "corral_typed", path: "test/support/c_src/corral_typed", cflags: ["-Werror"]
end
