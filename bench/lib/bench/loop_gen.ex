defmodule Bench.LoopGen do
  @moduledoc """
  Generates the timed loops. Every variant of a case gets its own loop
  function from the same template, so variants differ only in the one call
  the loop makes, and that call is a direct remote call (`Mod.fun(a, b)`),
  never a call through a fun.

  The buffer loops draw their indexes from an inline linear congruential
  generator (x' = (1664525 x + 1013904223) mod 2^32, index = x' >>> 12, so
  0..2^20-1 for the 1 MiB buffer; byte = x' &&& 255). It costs a
  multiplication, an addition and two bit operations on small integers per
  iteration, the same in every variant, and keeps the access pattern scattered
  over the whole buffer. Nothing is subtracted: the figures include the loop.
  """

  @doc """
  `defadd name, Mod`: `name(n)` calls `Mod.add(k, 1)` for k = n..1 and
  returns the last result.
  """
  defmacro defadd(name, mod, fun \\ :add) do
    go = :"#{name}__loop"

    quote do
      def unquote(name)(n) when is_integer(n) and n > 0, do: unquote(go)(n, nil)

      defp unquote(go)(0, last), do: last
      defp unquote(go)(k, _last), do: unquote(go)(k - 1, unquote(mod).unquote(fun)(k, 1))
    end
  end

  @doc """
  `defnew name, Mod, fun`: `name(n)` calls `Mod.fun(k)` for k = n..1 and
  returns the last result (the objects made before it are garbage, collected
  as the loop runs, on the same thread).
  """
  defmacro defnew(name, mod, fun) do
    go = :"#{name}__loop"

    quote do
      def unquote(name)(n) when is_integer(n) and n > 0, do: unquote(go)(n, nil)

      defp unquote(go)(0, last), do: last
      defp unquote(go)(k, _last), do: unquote(go)(k - 1, unquote(mod).unquote(fun)(k))
    end
  end

  @doc """
  `defget name, fn s, i -> expr end`: `name(n, s)` evaluates `expr` n times
  with `s` the container and `i` a pseudo-random index; returns the last
  value of `expr`.
  """
  defmacro defget(name, {:fn, _, [{:->, _, [[s, i], body]}]}) do
    go = :"#{name}__loop"

    quote do
      def unquote(name)(n, s) when is_integer(n) and n > 0, do: unquote(go)(n, 1, s, nil)

      defp unquote(go)(0, _x, _s, last), do: last

      defp unquote(go)(k, x, unquote(s), _last) do
        x = Bitwise.band(x * 1_664_525 + 1_013_904_223, 0xFFFFFFFF)
        unquote(i) = Bitwise.bsr(x, 12)
        unquote(go)(k - 1, x, unquote(s), unquote(body))
      end
    end
  end

  @doc """
  `defset name, fn s, i, b -> expr end`: `name(n, s)` evaluates `expr` n
  times with `s` the container, `i` a pseudo-random index and `b` a byte;
  `expr` returns the container for the next iteration (the same one for a
  mutable container, a new one for a functional one). Returns the last one.
  """
  defmacro defset(name, {:fn, _, [{:->, _, [[s, i, b], body]}]}) do
    defset_loop(name, s, i, b, body)
  end

  @doc """
  `defset_in_place name, fn s, i, b -> expr end`: `defset` for a mutable
  container: `expr` is evaluated for its effect, and the same container
  goes to the next iteration.
  """
  defmacro defset_in_place(name, {:fn, _, [{:->, _, [[s, i, b], body]}]}) do
    defset_loop(name, s, i, b, quote(do: (unquote(body); unquote(s))))
  end

  defp defset_loop(name, s, i, b, body) do
    go = :"#{name}__loop"

    quote do
      def unquote(name)(n, s) when is_integer(n) and n > 0, do: unquote(go)(n, 1, s)

      defp unquote(go)(0, _x, s), do: s

      defp unquote(go)(k, x, unquote(s)) do
        x = Bitwise.band(x * 1_664_525 + 1_013_904_223, 0xFFFFFFFF)
        unquote(i) = Bitwise.bsr(x, 12)
        unquote(b) = Bitwise.band(x, 255)
        unquote(go)(k - 1, x, unquote(body))
      end
    end
  end
end
