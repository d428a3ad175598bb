defmodule Corral.Error.Shown do
  @moduledoc false
  # The terms of one error message, shown with the caller's inspect/1 at a
  # bounded cost.
  #
  # inspect/1 has limits of its own (50 items per collection, 4096
  # printable characters), but they do not bound its work: the limit only
  # shrinks by one per item, so nested collections multiply (5 levels of 50
  # lists print megabytes), a bignum has all its digits computed (2^4000000
  # takes minutes), and a charlist or a keyword list is walked to its end.
  # So a message's terms share a budget of units (about one per item that
  # inspect/1 would print; long binaries and bignums cost more):
  #
  #   - a term that fits in what is left is inspected as it is, so the
  #     message is exactly what the caller's inspect/1 prints;
  #   - a bigger one is copied first, keeping what inspect/1 would show
  #     (the same per-item limits) while the budget lasts. What is left out
  #     becomes a Corral.Error.Cut, which inspects as "...", as
  #     "%Module{...}" for a struct with an Inspect implementation of its
  #     own, or "#Integer<N bits>" for an integer of more than 4096 bits.
  #
  # Every walk here stops with the budget, so no term is walked to its end.
  # An Inspect implementation that raises, throws or exits does not replace
  # the error being raised: the term is then shown with every struct as its
  # head. Last, the terms of one message are cut at @text_max bytes: enough
  # for the longest string inspect/1 prints (4096 characters).

  import Bitwise, only: [<<<: 2, >>>: 2]
  alias Corral.Error.Cut

  @budget 1000
  @text_max 16_384
  @int_max 1 <<< 4096
  @word 1 <<< 64
  @binary_unit 64
  @struct_fields 100
  @map_listed 65_536

  @doc "The text of each piece of a message, terms shown within the budget."
  def text(pieces) do
    {parts, _} =
      Enum.map_reduce(pieces, {@budget, @text_max}, fn
        {:inspect, term}, {budget, room} ->
          {text, budget} = show(term, budget)
          text = fit_text(text, room)
          {text, {budget, room - byte_size(text)}}

        text, acc when is_binary(text) ->
          {text, acc}

        # Where in C it was raised: a stack frame, not text (Corral.Error).
        {:corral_at, _file, _line}, acc ->
          {"", acc}
      end)

    IO.iodata_to_binary(parts)
  end

  @doc "One term as the caller's inspect/1 shows it, within the budget."
  def inspect_bounded(term), do: fit_text(elem(show(term, @budget), 0), @text_max)

  defp show(term, budget) do
    case fits(term, budget) do
      left when left >= 0 ->
        {safe_inspect(term), left}

      _ ->
        {copy, left} = cut(term, budget, opts().limit)
        {safe_inspect(copy), left}
    end
  end

  defp opts, do: %Inspect.Opts{}

  # Inspect implementations are the caller's code: whatever they do, the
  # message is still made. One that raises would be shown by inspect/1 as
  # an Inspect.Error with the struct's fields (which that implementation
  # may have been written to hide) and a stacktrace: it gets the plain
  # description too.
  defp safe_inspect(term) do
    inspect(term, safe: false)
  catch
    _, _ ->
      try do
        {plain, _} = cut(term, @budget, opts().limit, true)
        inspect(plain)
      catch
        _, _ -> "#Term<could not be inspected>"
      end
  end

  defp fit_text(text, room) when byte_size(text) <= room, do: text

  defp fit_text(text, room) do
    keep = max(room - 4, 0)
    valid_prefix(binary_part(text, 0, keep)) <> " ..."
  end

  # The longest prefix that does not end inside a UTF-8 sequence (at most
  # three bytes are dropped).
  defp valid_prefix(bin, drop \\ 0) do
    if drop < 3 and byte_size(bin) > 0 and not String.valid?(bin),
      do: valid_prefix(binary_part(bin, 0, byte_size(bin) - 1), drop + 1),
      else: bin
  end

  ## What a term costs, if it fits in budget: the budget left, or -1.

  defp fits(_term, budget) when budget < 0, do: -1

  defp fits(term, budget) when is_integer(term) do
    cond do
      term > -@word and term < @word -> budget - 1
      term > -@int_max and term < @int_max -> budget - 17
      true -> -1
    end
  end

  defp fits(term, budget) when is_binary(term),
    do: budget - 1 - div(min(byte_size(term), 4 * @text_max), @binary_unit)

  defp fits(term, budget) when is_bitstring(term),
    do: budget - 1 - div(min(bit_size(term), 32 * @text_max), 8 * @binary_unit)

  defp fits([head | tail], budget), do: fits(tail, fits(head, budget - 1))

  defp fits(term, budget) when is_tuple(term),
    do: fits_tuple(term, 1, tuple_size(term), budget - 1)

  defp fits(term, budget) when is_map(term) do
    if 2 * map_size(term) > budget,
      do: -1,
      else: fits_entries(:maps.next(:maps.iterator(term)), budget - 1)
  end

  defp fits(_term, budget), do: budget - 1

  defp fits_tuple(_tuple, _i, _n, budget) when budget < 0, do: -1
  defp fits_tuple(_tuple, i, n, budget) when i > n, do: budget

  defp fits_tuple(tuple, i, n, budget),
    do: fits_tuple(tuple, i + 1, n, fits(elem(tuple, i - 1), budget))

  defp fits_entries(_iter, budget) when budget < 0, do: -1
  defp fits_entries(:none, budget), do: budget

  defp fits_entries({k, v, next}, budget),
    do: fits_entries(:maps.next(next), fits(v, fits(k, budget)))

  ## A copy of a term that does not fit, within the budget. `limit` is the
  ## number of items inspect/1 shows at this place (it shrinks by one per
  ## item, as in Inspect.Algebra.container_doc/6). `plain` shows every
  ## struct as its head (when an Inspect implementation failed).

  defp cut(term, budget, limit, plain \\ false)

  defp cut(_term, budget, _limit, _plain) when budget <= 0, do: {Cut.more(), 0}

  defp cut(%module{} = term, budget, limit, true) when is_atom(module),
    do: cut_struct(term, budget, limit, true)

  defp cut(term, budget, limit, plain) do
    case plain || fits(term, budget) do
      left when is_integer(left) and left >= 0 -> {term, left}
      _ -> cut_more(term, budget, limit, plain)
    end
  end

  defp cut_more(term, budget, _limit, _plain) when is_integer(term) do
    if term > -@int_max and term < @int_max do
      {term, budget - 17}
    else
      bytes = byte_size(:binary.encode_unsigned(abs(term)))
      top = abs(term) >>> (8 * (bytes - 1))
      bits = 8 * (bytes - 1) + length(Integer.digits(top, 2))
      sign = if term < 0, do: "negative, ", else: ""
      {%Cut{text: "#Integer<#{sign}#{bits} bits>"}, budget - 1 - div(bytes, 4096)}
    end
  end

  defp cut_more(term, budget, limit, _plain) when is_binary(term),
    do: cut_binary(term, budget, limit)

  defp cut_more(term, budget, limit, _plain) when is_bitstring(term),
    do: cut_bits(term, budget, limit)

  defp cut_more(term, budget, limit, plain) when is_list(term),
    do: cut_list(term, budget, limit, plain)

  defp cut_more(term, budget, limit, plain) when is_tuple(term) do
    {items, more?, budget} =
      cut_items(
        tuple_items(term, 0, shown_count(tuple_size(term), limit)),
        budget - 1,
        limit,
        plain
      )

    items = if more? or tuple_size(term) > length(items), do: items ++ [Cut.more()], else: items
    {List.to_tuple(items), budget}
  end

  defp cut_more(%module{} = term, budget, limit, plain) when is_atom(module),
    do: cut_struct(term, budget, limit, plain)

  defp cut_more(term, budget, limit, plain) when is_map(term) do
    {entries, more?, budget} = cut_entries(first_entry(term), budget - 1, limit, plain, [])

    if more? or map_size(term) > length(entries),
      do: {%Cut{entries: entries}, budget},
      else: {Map.new(entries), budget}
  end

  defp cut_more(term, budget, _limit, _plain), do: {term, budget - 1}

  # A struct is cut field by field only when the default implementation
  # shows it (Inspect.Any), which needs every field: another implementation
  # may need whole values, so the struct is shown as its head.
  defp cut_struct(%module{} = term, budget, limit, plain) do
    if not plain and map_size(term) <= @struct_fields and Inspect.impl_for(term) == Inspect.Any do
      {fields, budget} =
        Enum.map_reduce(:maps.to_list(term), budget - 1, fn {k, v}, budget ->
          {value, budget} = cut(v, budget - 1, decrement(limit), plain)
          {{k, value}, budget}
        end)

      {Map.new(fields), budget}
    else
      {%Cut{text: "%" <> Kernel.inspect(module) <> "{...}"}, budget - 1}
    end
  end

  defp tuple_items(_tuple, i, n) when i >= n, do: []
  defp tuple_items(tuple, i, n), do: [elem(tuple, i) | tuple_items(tuple, i + 1, n)]

  # Items while the limit and the budget last: {copies, cut?, budget}.
  defp cut_items(items, budget, limit, plain, acc \\ [])
  defp cut_items([], budget, _limit, _plain, acc), do: {Enum.reverse(acc), false, budget}

  defp cut_items(_items, budget, limit, _plain, acc) when limit == 0 or budget <= 0,
    do: {Enum.reverse(acc), true, budget}

  defp cut_items([item | rest], budget, limit, plain, acc) do
    {copy, budget} = cut(item, budget - 1, decrement(limit), plain)
    cut_items(rest, budget, decrement(limit), plain, [copy | acc])
  end

  # Entries in the order inspect/1 shows them (Map.to_list/1's), which
  # costs a list of the whole map: above @map_listed entries, in the
  # iterator's order (perhaps another one), never walked to the end.
  defp first_entry(map) when map_size(map) <= @map_listed,
    do: next_entry({:listed, :maps.to_list(map)})

  defp first_entry(map), do: :maps.next(:maps.iterator(map))

  defp next_entry({:listed, []}), do: :none
  defp next_entry({:listed, [{k, v} | rest]}), do: {k, v, {:listed, rest}}
  defp next_entry(iter), do: :maps.next(iter)

  defp cut_entries(:none, budget, _limit, _plain, acc), do: {Enum.reverse(acc), false, budget}

  defp cut_entries(_iter, budget, limit, _plain, acc) when limit == 0 or budget <= 0,
    do: {Enum.reverse(acc), true, budget}

  defp cut_entries({k, v, next}, budget, limit, plain, acc) do
    {key, budget} = cut(k, budget - 1, decrement(limit), plain)
    {value, budget} = cut(v, budget, decrement(limit), plain)
    cut_entries(next_entry(next), budget, decrement(limit), plain, [{key, value} | acc])
  end

  defp shown_count(n, :infinity), do: n
  defp shown_count(n, limit), do: min(n, limit + 1)

  defp decrement(:infinity), do: :infinity
  defp decrement(limit), do: limit - 1

  defp cut_list(list, budget, limit, plain) do
    printable_limit = opts().printable_limit

    if List.ascii_printable?(list, printable_limit) do
      # inspect/1 shows it as a charlist of at most printable_limit
      # characters, "..." after them when there are more.
      {chars, more?} = take(list, printable_limit)
      chars = if more?, do: chars ++ [?.], else: chars
      {chars, budget - 1 - div(length(chars), @binary_unit)}
    else
      {items, tail, budget} = cut_list_items(list, budget - 1, limit, plain, [])

      copy =
        case tail do
          [] -> items
          :more -> items ++ [Cut.more()]
          # Past the limit inspect/1 writes "..." without showing the item,
          # which only keeps a keyword list written as one.
          :limit -> items ++ [if(keyword?(items), do: {:..., Cut.more()}, else: Cut.more())]
          {:tail, tail} -> items ++ tail
        end

      {copy, budget}
    end
  end

  defp cut_list_items([], budget, _limit, _plain, acc), do: {Enum.reverse(acc), [], budget}

  defp cut_list_items([_ | _], budget, 0, _plain, acc), do: {Enum.reverse(acc), :limit, budget}

  defp cut_list_items([_ | _], budget, _limit, _plain, acc) when budget <= 0,
    do: {Enum.reverse(acc), :more, budget}

  defp cut_list_items([item | rest], budget, limit, plain, acc) do
    {copy, budget} = cut(item, budget - 1, decrement(limit), plain)
    cut_list_items(rest, budget, decrement(limit), plain, [copy | acc])
  end

  defp cut_list_items(tail, budget, limit, plain, acc) do
    {copy, budget} = cut(tail, budget, limit, plain)
    {Enum.reverse(acc), {:tail, copy}, budget}
  end

  defp keyword?(items) do
    items != [] and
      Enum.all?(items, &match?({key, _} when is_atom(key), &1)) and
      not Enum.any?(items, fn {key, _} -> String.starts_with?(Atom.to_string(key), "Elixir.") end)
  end

  defp take(list, n, acc \\ [])
  defp take([], _n, acc), do: {Enum.reverse(acc), false}
  defp take(_list, 0, acc), do: {Enum.reverse(acc), true}
  defp take([c | rest], n, acc), do: take(rest, n - 1, [c | acc])

  # A long binary: its first bytes, as inspect/1 shows them.
  defp cut_binary(bin, budget, limit) do
    printable_limit = opts().printable_limit
    room = min(max(budget - 1, 0) * @binary_unit, 4 * printable_limit)
    head = valid_prefix(binary_part(bin, 0, min(room, byte_size(bin))))

    cond do
      head == "" ->
        {Cut.more(), budget - 1}

      String.printable?(head) ->
        # At most printable_limit characters, as inspect/1 keeps.
        {shown, rest} = String.split_at(head, printable_limit)
        more = if rest != "" or byte_size(shown) < byte_size(bin), do: " <> ...", else: ""

        {%Cut{text: Kernel.inspect(shown) <> more},
         budget - 1 - div(byte_size(shown), @binary_unit)}

      true ->
        cut_bits(bin, budget, limit)
    end
  end

  # Bytes, at most as many as inspect/1 shows, and "..." for the rest.
  defp cut_bits(bits, budget, limit) do
    shown = if limit == :infinity, do: 64, else: max(limit, 0)

    text =
      cond do
        bit_size(bits) <= 8 * shown ->
          Kernel.inspect(bits, binaries: :as_binaries, limit: :infinity)

        # Less than one whole byte over: small enough to hand over whole.
        bit_size(bits) < 8 * (shown + 1) ->
          Kernel.inspect(bits, binaries: :as_binaries, limit: shown)

        # The first shown + 1 bytes: inspect then writes the "..." of a cut.
        true ->
          Kernel.inspect(binary_part(bits, 0, shown + 1), binaries: :as_binaries, limit: shown)
      end

    {%Cut{text: text}, budget - 1 - div(shown, @binary_unit)}
  end
end
