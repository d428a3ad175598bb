defmodule Mix.Tasks.Corral.Fuzz do
  @shortdoc "Throws random terms at every function of a Corral module, in a separate VM"

  @moduledoc """
  Calls every exported function of a Corral module with random terms
  (`Corral.RandomTerm`), in a separate VM so that a crash of the native code
  cannot take the caller down, and reports any input that crashed it.

      mix corral.fuzz Buffer.Native --count 100000 --seed 42
      mix corral.fuzz MyApp.Native --except slow_fun/1

  Options: `--count N` calls in all (default 10,000), `--seed S` (default:
  random; printed so a run can be replayed), `--except name/arity`
  (repeatable) to leave out functions that may legitimately run for a long
  time with a random large argument.

  Each call either returns or raises (raising is fine: bad input should raise
  an `ArgumentError`). The run fails if the VM dies: the report shows the
  function and the arguments of the call that killed it.
  """

  use Mix.Task

  @impl true
  def run(argv) do
    {opts, args, _} = OptionParser.parse(argv, strict: [count: :integer, seed: :integer, except: :keep])

    module_name =
      case args do
        [name] -> name
        _ -> Mix.raise("usage: mix corral.fuzz Module.Name [--count N] [--seed S] [--except name/arity]")
      end

    Mix.Task.run("compile")
    count = Keyword.get(opts, :count, 10_000)
    seed = Keyword.get(opts, :seed, :rand.uniform(1_000_000_000))
    except = Keyword.get_values(opts, :except)

    case fuzz(Module.concat([module_name]), count, seed, except) do
      {:ok, summary} ->
        Mix.shell().info(summary)

      {:crash, report} ->
        Mix.raise(report)
    end
  end

  @doc """
  Runs the fuzzer; returns `{:ok, summary}` or `{:crash, report}`. The code
  paths of the current VM are given to the child VM.
  """
  def fuzz(module, count, seed, except \\ []) do
    last = Path.join(System.tmp_dir!(), "corral_fuzz_#{System.unique_integer([:positive])}")
    paths = Enum.flat_map(:code.get_path(), &["-pa", List.to_string(&1)])

    script = """
    module = #{inspect(module)}
    except = #{inspect(except)}
    Code.ensure_loaded!(module)
    :rand.seed(:exsss, #{seed})

    funs =
      for {name, arity} <- module.__info__(:functions),
          not String.starts_with?(Atom.to_string(name), "__"),
          "\#{name}/\#{arity}" not in except,
          do: {name, arity}

    stats =
      Enum.reduce(1..#{count}, %{ok: 0, raised: 0}, fn _, acc ->
        {name, arity} = Enum.random(funs)
        args = for _ <- 1..arity//1, do: Corral.RandomTerm.generate()
        File.write!(#{inspect(last)}, :erlang.term_to_binary({name, args}))

        try do
          apply(module, name, args)
          Map.update!(acc, :ok, &(&1 + 1))
        rescue
          _ -> Map.update!(acc, :raised, &(&1 + 1))
        catch
          _, _ -> Map.update!(acc, :raised, &(&1 + 1))
        end
      end)

    IO.puts("CORRAL_FUZZ_DONE \#{stats.ok} \#{stats.raised} \#{length(funs)}")
    """

    {out, status} = System.cmd("elixir", paths ++ ["-e", script], stderr_to_stdout: true)

    result =
      case Regex.run(~r/CORRAL_FUZZ_DONE (\d+) (\d+) (\d+)/, out) do
        [_, ok, raised, nfuns] when status == 0 ->
          {:ok,
           "#{inspect(module)}: #{count} calls over #{nfuns} functions (seed #{seed}): " <>
             "#{ok} returned, #{raised} raised, no crash"}

        _ ->
          input =
            case File.read(last) do
              {:ok, bin} ->
                {name, args} = :erlang.binary_to_term(bin)
                "#{inspect(module)}.#{name}(#{Enum.map_join(args, ", ", &inspect(&1, limit: 20, printable_limit: 200))})"

              _ ->
                "(no input recorded)"
            end

          {:crash,
           "the VM running #{inspect(module)} died (exit status #{status}, seed #{seed}) on the call\n  " <>
             input <> "\noutput:\n" <> String.slice(out, -2000, 2000)}
      end

    File.rm(last)
    result
  end
end
