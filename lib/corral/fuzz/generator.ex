defmodule Corral.Fuzz.Generator do
  @moduledoc """
  The arguments `mix corral.fuzz` passes to a function.

  With a spec (from `CORRAL_DOC`), each argument is, most of the time
  (~75%), a term of the argument's type: integers inside the type's range,
  with its boundaries; binaries; atoms of a union; lists, tuples and maps of
  the element types; a `reference()` is one that an earlier call of the
  module returned (a resource made by `new`, say), so sequences such as
  new, then set, then get are exercised. About 12% are near misses of the
  type (one past a range's ends, -1 for a `non_neg_integer()`, 256 for a
  `byte()`, the string form of an atom, a charlist for a binary, a plain
  reference where a resource is expected) and the rest are any term.

  Without a spec, an argument is a value returned by an earlier call, a
  small or boundary integer, a simple value or a random term
  (`Corral.RandomTerm`).

  Integers are mostly small, as sizes and counts should be for calls to stay
  fast; a few are huge (2^40 and more: beyond the memory of most machines,
  so refused at once as sizes), and about one in 100,000 is in the gigabyte
  range (a valid size that takes seconds to fill).

  Arguments come with a description for reports: `{:lit, term}`, or
  `{:ret, expr}` for a value returned earlier, where `expr` is
  `{:call, name, [description]}`, `{:elem, expr, index}` or
  `{:at, expr, index}`. `render/3` prints a call from them.
  """

  import Bitwise

  @pool_size 8
  @max_depth 3

  # Integer boundaries of the C types, cheap as sizes (at most 64 KiB) or
  # far beyond any memory; the gigabyte ones are drawn separately, rarely.
  @cheap_bounds [
    0, 1, 2, 127, 128, 255, 256, 32_767, 32_768, 65_535, 65_536,
    9_223_372_036_854_775_807, 9_223_372_036_854_775_808,
    18_446_744_073_709_551_615, 18_446_744_073_709_551_616,
    -1, -2, -128, -129, -32_768, -32_769,
    -2_147_483_648, -2_147_483_649, -9_223_372_036_854_775_808, -9_223_372_036_854_775_809
  ]
  @gigabyte_bounds [2_147_483_647, 2_147_483_648, 2_147_483_649, 4_294_967_295, 4_294_967_296, 4_294_967_297]

  @atoms [:ok, :error, nil, true, false, :undefined, :red, :infinity, :"with space", :""]
  @simple [true, false, nil, :ok, "", "abc", <<0, 1, 255>>, [], [1, 2, 3], ~c"abc", 1.5, {}, %{}, {:ok, 1}]
  @floats [0.0, -0.0, 1.0, -1.5, 1.0e300, -1.0e300, 5.0e-324, 2.2250738585072014e-308, 1.7976931348623157e308]

  @accepted_size 8

  # pools: {kind, origin} => the last values of that kind returned from
  # there (kind :reference, :process or :other; origin a function name, or
  # {:elem | :at, origin, index} for a part of its result); origins: kind =>
  # the origins seen; accepted: {fun, position} => arguments the function
  # accepted; feeds: {fun, position} => the pools those came from.
  defstruct pools: %{}, origins: %{}, accepted: %{}, feeds: %{}, hinted: MapSet.new(), dead_pid: nil, helper: nil

  @doc "A generator with an empty pool of returned values."
  def new do
    dead = spawn(fn -> :ok end)
    ref = Process.monitor(dead)

    receive do
      {:DOWN, ^ref, _, _, _} -> :ok
    end

    helper = spawn(fn -> sink() end)
    %__MODULE__{dead_pid: dead, helper: helper}
  end

  defp sink do
    receive do
      _ -> sink()
    end
  end

  @doc """
  The argument types of `spec` (a clause from `Code.Typespec.fetch_specs/1`),
  with type variables of a `when` clause replaced by their bounds; `nil` if
  the clause is not a function type.
  """
  def arg_types({:type, _, :fun, [{:type, _, :product, args}, _]}), do: args

  def arg_types({:type, _, :bounded_fun, [fun, constraints]}) do
    bindings =
      for {:type, _, :constraint, [{:atom, _, :is_subtype}, [{:var, _, var}, type]]} <- constraints,
          into: %{},
          do: {var, type}

    case arg_types(fun) do
      nil -> nil
      args -> Enum.map(args, &bind(&1, bindings))
    end
  end

  def arg_types(_), do: nil

  defp bind({:var, _, var} = v, bindings), do: Map.get(bindings, var, v)
  defp bind({:type, l, name, args}, bindings) when is_list(args), do: {:type, l, name, Enum.map(args, &bind(&1, bindings))}
  defp bind({:ann_type, l, [var, t]}, bindings), do: {:ann_type, l, [var, bind(t, bindings)]}
  defp bind(other, _), do: other

  @doc """
  `{values, descriptions}` for a call of `fun` (`{name, arity}`); `types` is
  a list of argument types (see `arg_types/1`) or `nil` for a function
  without a spec.

  An argument the function accepted before (see `returned/5` and
  `rejected/5`) is reused, as is or one step off, a quarter of the time;
  when it was a value returned by a function, another quarter of the time
  the argument is a fresh value returned by that function.
  """
  def args(gen, {_, arity} = fun, types) do
    pairs =
      for i <- 0..(arity - 1)//1 do
        r = :rand.uniform(4)
        accepted = Map.get(gen.accepted, {fun, i})
        feeds = Map.get(gen.feeds, {fun, i})

        cond do
          r == 1 and accepted != nil -> reuse(ring_pick(accepted))
          r == 2 and feeds != nil -> fresh(gen, Enum.random(feeds))
          types == nil -> untyped(gen)
          true -> arg(gen, Enum.at(types, i))
        end
      end

    {Enum.map(pairs, &elem(&1, 0)), Enum.map(pairs, &elem(&1, 1))}
  end

  defp arg(gen, type) do
    case :rand.uniform(100) do
      n when n <= 75 -> typed(gen, type)
      n when n <= 88 -> near(gen, type)
      _ -> untyped(gen)
    end
  end

  # An accepted argument again (a resource keeps its state between calls),
  # or, for numbers and binaries, a neighbour of it.
  defp reuse({v, desc}) do
    case :rand.uniform(10) <= 7 do
      true -> {v, desc}
      false when is_integer(v) -> lit(Enum.random([v + 1, v - 1, -v]))
      false when is_binary(v) and byte_size(v) > 0 -> lit(Enum.random([binary_part(v, 0, byte_size(v) - 1), v <> <<0>>]))
      false -> {v, desc}
    end
  end

  @doc """
  Remembers a call that returned: its arguments were accepted, and the
  references, pids and ports it returned (also inside tuples and short
  lists, three levels deep: `{:ok, {object, [object]}}`) and small values
  are kept for later calls to reuse.
  """
  def returned(gen, {name, _} = fun, args, descs, value) do
    gen = accept(gen, fun, args, descs, length(args))
    expr = {:call, name, descs}

    expr =
      if expr_depth(expr) > @max_depth do
        # Too long a chain to print: the arguments that came from earlier
        # calls are shown as their values.
        {:call, name, Enum.zip_with(args, descs, fn a, d -> if match?({:ret, _}, d), do: {:lit, a}, else: d end)}
      else
        expr
      end

    Enum.reduce(harvest(value, expr, 3, []), gen, fn {kind, v, e}, gen -> remember(gen, kind, {v, e}) end)
  end

  @doc """
  Remembers a call that raised `exception`. When Corral's message names the
  argument that was refused (`argument N: expected ...`), the ones before it
  were accepted; when it lists the atoms (`expected one of :a, :b`) or the
  range of integers (`expected an integer in 0..255`) it takes, those
  (and the range's ends) are tried at that position from then on.
  """
  def rejected(gen, fun, args, descs, %ArgumentError{message: message}) do
    case Regex.run(~r/: argument (\d+): expected (.*)/s, message) do
      [_, n, expected] ->
        n = String.to_integer(n)
        gen |> accept(fun, args, descs, n - 1) |> hint({fun, n - 1}, expected)

      nil ->
        gen
    end
  end

  def rejected(gen, _fun, _args, _descs, _exception), do: gen

  defp hint(gen, at, expected) do
    values =
      cond do
        MapSet.member?(gen.hinted, at) ->
          []

        match = Regex.run(~r/^one of (.*?), got: /s, expected) ->
          for [_, a] <- Regex.scan(~r/:([A-Za-z_][\w@]*[?!]?)/, Enum.at(match, 1)), do: String.to_atom(a)

        match = Regex.run(~r/^an integer in (-?\d+)\.\.(-?\d+)/, expected) ->
          [lo, hi] = match |> tl() |> Enum.map(&String.to_integer/1)
          Enum.uniq([lo, hi, lo + 1])

        true ->
          []
      end

    if values == [] do
      gen
    else
      ring = Enum.reduce(values, Map.get(gen.accepted, at), &ring_put(&2, {&1, {:lit, &1}}, @accepted_size))
      %{gen | accepted: Map.put(gen.accepted, at, ring), hinted: MapSet.put(gen.hinted, at)}
    end
  end

  defp accept(gen, fun, args, descs, n) do
    Enum.zip([0..(n - 1)//1, args, descs])
    |> Enum.reduce(gen, fn {i, a, d}, gen ->
      gen =
        if :erlang.external_size(a) <= 4096 do
          ring = ring_put(Map.get(gen.accepted, {fun, i}), {a, d}, @accepted_size)
          %{gen | accepted: Map.put(gen.accepted, {fun, i}, ring)}
        else
          gen
        end

      with {:ret, expr} <- d,
           pool = {kind(a), origin(expr)},
           feeds = Map.get(gen.feeds, {fun, i}, []),
           false <- pool in feeds do
        %{gen | feeds: Map.put(gen.feeds, {fun, i}, Enum.take([pool | feeds], 4))}
      else
        _ -> gen
      end
    end)
  end

  # Where a returned value comes from: the function, and the position in
  # its result.
  defp origin({:call, name, _}), do: name
  defp origin({kind, e, i}), do: {kind, origin(e), i}

  defp fresh(gen, pool) do
    {v, e} = gen.pools |> Map.fetch!(pool) |> ring_pick()
    {v, {:ret, e}}
  end

  defp kind(v) when is_reference(v), do: :reference
  defp kind(v) when is_pid(v) or is_port(v), do: :process
  defp kind(_), do: :other

  defp ring_put(nil, entry, size), do: ring_put({%{}, 0}, entry, size)
  defp ring_put({items, n}, entry, size), do: {Map.put(items, rem(n, size), entry), n + 1}
  defp ring_pick({items, n}), do: Map.fetch!(items, :rand.uniform(min(n, map_size(items))) - 1)

  defp expr_depth({:call, _, descs}), do: 1 + Enum.reduce(descs, 0, &max(desc_depth(&1), &2))
  defp expr_depth({_, e, _}), do: expr_depth(e)
  defp desc_depth({:ret, e}), do: expr_depth(e)
  defp desc_depth(_), do: 0

  defp harvest(v, e, _, acc) when is_reference(v) or is_pid(v) or is_port(v), do: [{kind(v), v, e} | acc]

  defp harvest(v, e, level, acc) when is_tuple(v) and tuple_size(v) <= 8 and level > 0 do
    acc = if small?(v), do: [{:other, v, e} | acc], else: acc

    v
    |> Tuple.to_list()
    |> Enum.with_index()
    |> Enum.reduce(acc, fn {x, i}, acc -> harvest(x, {:elem, e, i}, level - 1, acc) end)
  end

  defp harvest([_ | _] = v, e, level, acc) when level > 0 do
    acc = if small?(v), do: [{:other, v, e} | acc], else: acc

    case short_list(v, 8) do
      nil -> acc
      items -> items |> Enum.with_index() |> Enum.reduce(acc, fn {x, i}, acc -> harvest(x, {:at, e, i}, level - 1, acc) end)
    end
  end

  defp harvest(v, e, _, acc) do
    if small?(v), do: [{:other, v, e} | acc], else: acc
  end

  defp small?(v), do: :erlang.external_size(v) <= 512

  # The elements of a proper list of at most n elements, or nil.
  defp short_list(list, n), do: short_list(list, n, [])
  defp short_list([], _, acc), do: Enum.reverse(acc)
  defp short_list([x | rest], n, acc) when n > 0, do: short_list(rest, n - 1, [x | acc])
  defp short_list(_, _, _), do: nil

  defp remember(gen, kind, {_, e} = entry) do
    pool = {kind, origin(e)}

    case gen.pools do
      %{^pool => ring} ->
        %{gen | pools: %{gen.pools | pool => ring_put(ring, entry, @pool_size)}}

      _ ->
        origins = Map.update(gen.origins, kind, [pool], &[pool | &1])
        %{gen | pools: Map.put(gen.pools, pool, ring_put(nil, entry, @pool_size)), origins: origins}
    end
  end

  # A value of that kind, from an origin chosen evenly: a function that
  # returns many values does not crowd out one that rarely does.
  defp pick(gen, kind) do
    case Map.get(gen.origins, kind) do
      nil -> nil
      pools -> fresh(gen, Enum.random(pools))
    end
  end

  defp pick_any(gen) do
    kinds = Map.keys(gen.origins)

    if kinds == [] do
      nil
    else
      # Handles (references, processes) first: they open the stateful paths.
      handles = Enum.filter(kinds, &(&1 != :other))
      kind = if handles != [] and :rand.uniform(4) > 1, do: Enum.random(handles), else: Enum.random(kinds)
      pick(gen, kind)
    end
  end

  ## Any term

  defp untyped(gen) do
    r = :rand.uniform(100)

    cond do
      r <= 30 and gen.origins != %{} -> pick_any(gen)
      r <= 55 -> lit(if :rand.uniform(3) > 1, do: int(0, nil), else: int(nil, nil))
      r <= 65 -> lit(Enum.random(@simple))
      true -> lit(random_term())
    end
  end

  # Corral.RandomTerm, with top-level integers in the gigabyte range made
  # rare: as sizes they are valid requests that take long to fill.
  defp random_term do
    t = Corral.RandomTerm.generate(2)

    if is_integer(t) and abs(t) >= 1 <<< 24 and abs(t) < 1 <<< 40 and :rand.uniform(500) > 1,
      do: int(0, nil),
      else: t
  end

  defp lit(v), do: {v, {:lit, v}}

  ## Terms of a type

  defp typed(gen, {:ann_type, _, [_, t]}), do: typed(gen, t)
  defp typed(gen, {:paren_type, _, [t]}), do: typed(gen, t)
  defp typed(gen, {:type, _, :union, ts}), do: typed(gen, Enum.random(ts))
  defp typed(gen, {:type, _, :reference, []}), do: pick_or(gen, :reference, 10, fn -> make_ref() end)
  defp typed(gen, {:type, _, :pid, []}), do: pick_or(gen, :process, 3, fn -> Enum.random([self(), self(), gen.helper]) end)
  defp typed(gen, {:type, _, :port, []}), do: pick_or(gen, :process, 3, fn -> hd(Port.list()) end)
  defp typed(gen, {:type, _, t, []}) when t in [:any, :term], do: untyped(gen)
  defp typed(gen, type), do: lit(value(gen, type, 3))

  # From the pool n-1 times in n when it has something of that kind.
  defp pick_or(gen, kind, n, fallback) do
    case :rand.uniform(n) > 1 && pick(gen, kind) do
      pair when is_tuple(pair) -> pair
      _ -> lit(fallback.())
    end
  end

  defp value(gen, type, depth)
  defp value(gen, {:ann_type, _, [_, t]}, d), do: value(gen, t, d)
  defp value(gen, {:paren_type, _, [t]}, d), do: value(gen, t, d)
  defp value(gen, {:type, _, :union, ts}, d), do: value(gen, Enum.random(ts), d)
  defp value(_, {:atom, _, a}, _), do: a
  defp value(_, {:integer, _, _} = t, _), do: literal_int(t)
  defp value(_, {:op, _, _, _} = t, _), do: literal_int(t)
  defp value(_, {:type, _, :range, [lo, hi]}, _), do: int(literal_int(lo), literal_int(hi))
  defp value(_, {:type, _, :integer, []}, _), do: int(nil, nil)
  defp value(_, {:type, _, :non_neg_integer, []}, _), do: int(0, nil)
  defp value(_, {:type, _, :pos_integer, []}, _), do: int(1, nil)
  defp value(_, {:type, _, :neg_integer, []}, _), do: int(nil, -1)
  defp value(_, {:type, _, t, []}, _) when t in [:byte, :arity], do: int(0, 255)
  defp value(_, {:type, _, :char, []}, _), do: int(0, 0x10FFFF)
  defp value(_, {:type, _, :float, []}, _), do: float()
  defp value(_, {:type, _, :number, []}, _), do: if(:rand.uniform(2) == 1, do: int(nil, nil), else: float())
  defp value(_, {:type, _, :boolean, []}, _), do: :rand.uniform(2) == 1
  defp value(_, {:type, _, t, []}, _) when t in [:atom, :module, :node], do: Enum.random(@atoms)
  defp value(_, {:type, _, :binary, []}, _), do: binary()
  defp value(_, {:type, _, :bitstring, []}, _), do: bits(:rand.uniform(64) - 1)
  defp value(_, {:type, _, :binary, [{:integer, _, m}, {:integer, _, 0}]}, _), do: bits(m)
  defp value(_, {:type, _, :binary, [{:integer, _, m}, {:integer, _, n}]}, _), do: bits(m + n * (:rand.uniform(9) - 1))
  defp value(_, {:remote_type, _, [{:atom, _, String}, {:atom, _, :t}, []]}, _), do: text()
  defp value(_, {:type, _, t, []}, _) when t in [:iodata, :iolist], do: iolist(t == :iodata)
  defp value(_, {:type, _, t, []}, _) when t in [:charlist, :string], do: String.to_charlist(text())
  defp value(_, {:type, _, t, []}, _) when t in [:nonempty_charlist, :nonempty_string], do: String.to_charlist("x" <> text())
  defp value(_, {:type, _, :nil, []}, _), do: []
  defp value(gen, {:type, _, :list, []}, d), do: list(gen, nil, d, 0)
  defp value(gen, {:type, _, t, [e]}, d) when t in [:list, :maybe_improper_list], do: list(gen, e, d, 0)
  defp value(gen, {:type, _, :nonempty_list, []}, d), do: list(gen, nil, d, 1)
  defp value(gen, {:type, _, t, [e | _]}, d) when t in [:nonempty_list, :nonempty_maybe_improper_list], do: list(gen, e, d, 1)
  defp value(_, {:type, _, :tuple, :any}, _), do: random_of(:tuple)
  defp value(gen, {:type, _, :tuple, ts}, d), do: ts |> Enum.map(&value(gen, &1, d - 1)) |> List.to_tuple()
  defp value(_, {:type, _, :map, :any}, _), do: random_of(:map)
  defp value(gen, {:type, _, :map, fields}, d) when is_list(fields), do: map(gen, fields, d)
  defp value(gen, {:type, _, :reference, []} = t, _), do: elem(typed(gen, t), 0)
  defp value(gen, {:type, _, t, []} = type, _) when t in [:pid, :port], do: elem(typed(gen, type), 0)
  defp value(_, {:type, _, t, _}, _) when t in [:fun, :function], do: Enum.random([fn -> :ok end, fn x -> x end, &Enum.map/2])
  defp value(_, {:type, _, :timeout, []}, _), do: if(:rand.uniform(4) == 1, do: :infinity, else: int(0, nil))
  defp value(gen, _, _), do: elem(untyped(gen), 0)

  defp literal_int({:integer, _, n}), do: n
  defp literal_int({:op, _, :-, t}), do: -literal_int(t)
  defp literal_int({:op, _, :+, t}), do: literal_int(t)
  defp literal_int(_), do: 0

  defp list(_gen, _elem, depth, min) when depth <= 0, do: List.duplicate(0, min)

  defp list(gen, elem_type, depth, min) do
    n = max(min, if(:rand.uniform(20) == 1, do: :rand.uniform(200), else: :rand.uniform(5) - 1))

    for _ <- 1..n//1 do
      if elem_type, do: value(gen, elem_type, depth - 1), else: elem(untyped(gen), 0)
    end
  end

  defp map(gen, fields, depth) do
    for {:type, _, kind, [k, v]} <- fields,
        kind == :map_field_exact or :rand.uniform(2) == 1,
        into: %{},
        do: {value(gen, k, depth - 1), value(gen, v, depth - 1)}
  end

  defp random_of(kind) do
    t = Corral.RandomTerm.generate(2)

    cond do
      kind == :tuple and is_tuple(t) -> t
      kind == :map and is_map(t) -> t
      kind == :tuple -> {t}
      true -> %{t => t}
    end
  end

  @doc """
  An integer between `lo` and `hi` (`nil`: unbounded on that side): mostly
  small (near the lower end), sometimes up to 64 KiB, the range's ends and
  the C types' boundaries, rarely huge or gigabyte-sized.
  """
  def int(lo, hi) do
    r = :rand.uniform(100_000)

    v =
      cond do
        lo != nil and hi != nil and hi - lo <= 65_536 ->
          cond do
            r <= 40_000 -> lo + :rand.uniform(hi - lo + 1) - 1
            r <= 70_000 -> small(lo, hi)
            true -> bound(lo, hi)
          end

        r <= 70_000 ->
          small(lo, hi)

        r <= 85_000 ->
          sign(lo, hi) * ((1 <<< (4 + :rand.uniform(12))) + :rand.uniform(3) - 2)

        r <= 90_000 and lo != nil and hi != nil ->
          lo + :rand.uniform(hi - lo + 1) - 1

        r <= 96_000 ->
          bound(lo, hi)

        r <= 99_999 ->
          # At least 2^40: beyond the memory of most machines, refused at once as a size.
          sign(lo, hi) * ((1 <<< (39 + :rand.uniform(30))) + :rand.uniform(1 <<< 39))

        true ->
          sign(lo, hi) * Enum.random(@gigabyte_bounds)
      end

    if in_range?(v, lo, hi), do: v, else: small(lo, hi)
  end

  defp in_range?(v, lo, hi), do: (lo == nil or v >= lo) and (hi == nil or v <= hi)

  # The range's ends, and the C types' boundaries inside it.
  defp bound(lo, hi) do
    ends = Enum.reject([lo, hi, lo && lo + 1, hi && hi - 1], &is_nil/1)
    Enum.random(ends ++ Enum.filter(@cheap_bounds, &in_range?(&1, lo, hi)))
  end

  defp small(nil, nil), do: :rand.uniform(25) - 9
  defp small(lo, nil), do: lo + :rand.uniform(17) - 1
  defp small(nil, hi), do: hi - :rand.uniform(17) + 1
  defp small(lo, hi), do: min(hi, lo + :rand.uniform(17) - 1)

  defp sign(lo, hi) do
    cond do
      lo != nil and lo >= 0 -> 1
      hi != nil and hi < 0 -> -1
      true -> Enum.random([1, 1, -1])
    end
  end

  defp float, do: if(:rand.uniform(3) == 1, do: Enum.random(@floats), else: (:rand.uniform() - 0.5) * 2000)

  @doc """
  Strings to draw half of the generated strings and binaries from (the
  task's `--dict`), for this process; `[]` for none.
  """
  def use_dictionary(words), do: Process.put({__MODULE__, :dictionary}, List.to_tuple(words))

  defp from_dictionary do
    case Process.get({__MODULE__, :dictionary}, {}) do
      {} -> nil
      words -> if :rand.uniform(2) == 1, do: elem(words, :rand.uniform(tuple_size(words)) - 1)
    end
  end

  defp binary, do: from_dictionary() || any_binary()

  defp any_binary do
    case :rand.uniform(100) do
      n when n <= 40 -> text()
      n when n <= 80 -> :rand.bytes(:rand.uniform(65) - 1)
      n when n <= 90 -> binary_part(:rand.bytes(96), :rand.uniform(32), :rand.uniform(48))
      n when n <= 98 -> :rand.bytes(64 + :rand.uniform(4032))
      _ -> :rand.bytes(65_536 + :rand.uniform(1_000_000))
    end
  end

  defp text, do: from_dictionary() || Enum.random(["", "a", "hello", "héllo", "with\nnewline", String.duplicate("x", :rand.uniform(300))])

  defp bits(n), do: <<:rand.uniform(1 <<< n) - 1::size(n)>>

  defp iolist(binaries?) do
    case :rand.uniform(4) do
      1 when binaries? -> binary()
      2 -> [binary(), ?a | [[], "b"]]
      3 -> [[[], ["x"]], 255, [0 | "tail"]]
      _ -> ~c"plain"
    end
  end

  ## Near misses

  defp near(gen, {:ann_type, _, [_, t]}), do: near(gen, t)
  defp near(gen, {:paren_type, _, [t]}), do: near(gen, t)
  defp near(gen, {:type, _, :union, ts}), do: near(gen, Enum.random(ts))
  defp near(gen, type), do: lit(miss(gen, type))

  defp miss(_, {:type, _, :range, [lo, hi]}), do: Enum.random([literal_int(lo) - 1, literal_int(hi) + 1])
  defp miss(_, {:type, _, :non_neg_integer, []}), do: Enum.random([-1, -1, -9_223_372_036_854_775_809, 18_446_744_073_709_551_616, 1.0])
  defp miss(_, {:type, _, :pos_integer, []}), do: Enum.random([0, -1, 18_446_744_073_709_551_616])
  defp miss(_, {:type, _, :neg_integer, []}), do: Enum.random([0, 1, -9_223_372_036_854_775_809])
  defp miss(_, {:type, _, t, []}) when t in [:byte, :arity], do: Enum.random([-1, 256, 255.0])
  defp miss(_, {:type, _, :char, []}), do: Enum.random([-1, 0x110000])
  defp miss(_, {:type, _, :integer, []}), do: Enum.random([18_446_744_073_709_551_616, -9_223_372_036_854_775_809, 1 <<< 200, 1.0, "1"])
  defp miss(_, {:integer, _, n}), do: Enum.random([n - 1, n + 1, n * 1.0])
  defp miss(_, {:type, _, t, []}) when t in [:float, :number], do: Enum.random([:nan, "1.5", nil])
  defp miss(_, {:type, _, :boolean, []}), do: Enum.random([nil, 0, 1, "true", :True])
  defp miss(_, {:atom, _, a}), do: Enum.random([Atom.to_string(a), String.to_charlist(Atom.to_string(a)), :"#{a}_"])
  defp miss(_, {:type, _, t, []}) when t in [:atom, :module, :node], do: Enum.random(["ok", ~c"ok", 1])
  defp miss(_, {:type, _, :binary, _}), do: Enum.random([~c"abc", ["ab", "c"], <<1::7>>, :abc, 97])
  defp miss(_, {:type, _, :bitstring, _}), do: Enum.random([~c"abc", :abc])
  defp miss(_, {:remote_type, _, [{:atom, _, String}, {:atom, _, :t}, []]}), do: Enum.random([~c"abc", <<255, 254>>, :abc])
  defp miss(_, {:type, _, t, []}) when t in [:iodata, :iolist], do: Enum.random([["a" | 1], [256], [-1], [:a], {"a"}])
  defp miss(gen, {:type, _, t, [e | _]}) when t in [:list, :nonempty_list], do: Enum.random([[miss(gen, e)], [value(gen, e, 1) | :tail], {value(gen, e, 1)}])
  defp miss(_, {:type, _, t, _}) when t in [:list, :nonempty_list, :nil], do: Enum.random([[1 | 2], {}, :nil])
  defp miss(gen, {:type, _, :tuple, [_ | _] = ts}) do
    items = Enum.map(ts, &value(gen, &1, 1))
    Enum.random([List.to_tuple(tl(items)), List.to_tuple(items ++ [nil]), items])
  end

  defp miss(gen, {:type, _, :map, [_ | _] = fields}), do: gen |> map(fields, 2) |> Map.to_list()
  defp miss(_, {:type, _, :reference, []}), do: Enum.random([make_ref(), self(), {make_ref()}])
  defp miss(gen, {:type, _, :pid, []}), do: Enum.random([gen.dead_pid, hd(Port.list()), make_ref()])
  defp miss(_, {:type, _, :port, []}), do: Enum.random([self(), make_ref()])
  defp miss(gen, _), do: elem(untyped(gen), 0)

  ## Reports

  @doc "A call as Elixir code: `Module.fun(arg, ...)`, arguments from their descriptions."
  def render(module, name, descs) do
    "#{inspect(module)}.#{Macro.inspect_atom(:remote_call, name)}(#{Enum.map_join(descs, ", ", &render_arg(module, &1))})"
  end

  defp render_arg(_, {:lit, t}), do: inspect(t, limit: 20, printable_limit: 200)
  defp render_arg(m, {:ret, e}), do: render_expr(m, e)

  defp render_expr(m, {:call, name, descs}), do: render(m, name, descs)
  defp render_expr(m, {:elem, e, i}), do: "elem(#{render_expr(m, e)}, #{i})"
  defp render_expr(m, {:at, e, i}), do: "Enum.at(#{render_expr(m, e)}, #{i})"
end
