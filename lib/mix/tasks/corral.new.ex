defmodule Mix.Tasks.Corral.New do
  @shortdoc "Creates a Corral NIF library in the current Mix project"

  @moduledoc """
  Creates a working NIF library in the current Mix project:

      mix corral.new MyApp.Native
      mix corral.new MyApp.Native --lib my_nif

  writes

    * `c_src/<lib>/<lib>.c`: a documented example NIF (`add/2` and a
      `hello/1` that checks its argument),
    * `lib/<module path>.ex`: the Elixir module, `use Corral`,
    * `test/<module path>_test.exs`: a passing test,
    * a line in `.gitignore` (made if missing) for the
      `c_src/<lib>/compile_commands.json` that builds write for clangd,

  where `<lib>` defaults to the module name in snake case with the dots
  replaced by underscores (`my_app_native`). It never overwrites a file: if
  one exists, nothing is written.
  """

  use Mix.Task

  @impl true
  def run(argv) do
    {opts, args, invalid} = OptionParser.parse(argv, strict: [lib: :string])

    if invalid != [] do
      Mix.raise("mix corral.new: unknown option #{inspect(invalid)}; usage: mix corral.new Module.Name [--lib name]")
    end

    module_name =
      case args do
        [name] -> name
        _ -> Mix.raise("mix corral.new: give one module name, as in: mix corral.new MyApp.Native")
      end

    unless module_name =~ ~r/^[A-Z][A-Za-z0-9_]*(\.[A-Z][A-Za-z0-9_]*)*$/ do
      Mix.raise("mix corral.new: #{inspect(module_name)} is not a module name (expected something like MyApp.Native)")
    end

    config = Mix.Project.config()
    app = config[:app] || Mix.raise("mix corral.new: run it inside a Mix project")
    lib = opts[:lib] || module_name |> String.split(".") |> Enum.map_join("_", &Macro.underscore/1)

    unless lib =~ ~r/^[a-z_][a-z0-9_]*$/ do
      Mix.raise("mix corral.new: --lib must be a C identifier in lower case, got: #{inspect(lib)}")
    end

    path = Macro.underscore(module_name)

    files = [
      {Path.join(["c_src", lib, lib <> ".c"]), c_source(module_name)},
      {Path.join("lib", path <> ".ex"), elixir_module(module_name, app, lib)},
      {Path.join("test", path <> "_test.exs"), test_file(module_name)}
    ]

    case Enum.filter(files, fn {file, _} -> File.exists?(file) end) do
      [] ->
        for {file, text} <- files do
          File.mkdir_p!(Path.dirname(file))
          File.write!(file, text)
          Mix.shell().info([:green, "* creating ", :reset, file])
        end

        ignore_compile_commands(lib)

        Mix.shell().info("""

        Next: mix test. The C code is in #{Path.join("c_src", lib)}; every
        `mix compile` rebuilds what changed. compile_commands.json appears next
        to it for clangd (.gitignore leaves it out: it names paths of this machine).
        """)

      existing ->
        Mix.raise("mix corral.new: not overwriting #{Enum.map_join(existing, ", ", &elem(&1, 0))}; nothing was written")
    end
  end

  # The build writes c_src/<lib>/compile_commands.json for clangd; its paths
  # are this machine's, so git should not track it.
  defp ignore_compile_commands(lib) do
    line = "/" <> Path.join(["c_src", lib, "compile_commands.json"])
    existing = if File.exists?(".gitignore"), do: File.read!(".gitignore"), else: nil

    cond do
      existing == nil ->
        File.write!(".gitignore", line <> "\n")
        Mix.shell().info([:green, "* creating ", :reset, ".gitignore"])

      line in String.split(existing, ~r/\R/) ->
        :ok

      true ->
        separator = if existing == "" or String.ends_with?(existing, "\n"), do: "", else: "\n"
        File.write!(".gitignore", existing <> separator <> line <> "\n")
        Mix.shell().info([:green, "* updating ", :reset, ".gitignore"])
    end
  end

  defp c_source(module) do
    """
    /*
     * #{module}: native functions written with Corral.
     *
     * CORRAL_PURE declares a function by its C signature, written as pairs
     * of a type word and a name: Corral checks and decodes the arguments
     * (raising ArgumentError with a clear message when one does not fit),
     * encodes the result, and gives the Elixir function its @spec and
     * argument names. CORRAL_DEF is the same with the call context `c`
     * (resources, scratch memory, binaries you build). The table at the end
     * names the Elixir functions; `use Corral` generates them.
     */
    #include <corral.h>

    #include <string.h>

    CORRAL_DOC_OF(add, "The sum of two 64-bit integers; ArithmeticError when it does not fit.");
    CORRAL_PURE(add, i64, (i64, a), (i64, b)) { return corral_add_i64(c, a, b); }

    CORRAL_DOC_OF(hello, "\\"Hello, <name>!\\" for a binary name.");
    CORRAL_DEF(hello, term, (binary, name))
    {
        static const char prefix[] = "Hello, ";
        ERL_NIF_TERM out;
        unsigned char *p = corral_new_binary(c, sizeof prefix - 1 + name.size + 1, &out);
        memcpy(p, prefix, sizeof prefix - 1);
        memcpy(p + sizeof prefix - 1, name.data, name.size);
        p[sizeof prefix - 1 + name.size] = '!';
        return out;
    }

    CORRAL_MODULE(#{module},
        CORRAL_EXPORT(add),
        CORRAL_EXPORT(hello));
    """
  end

  defp elixir_module(module, app, lib) do
    """
    defmodule #{module} do
      @moduledoc \"\"\"
      Native functions from `c_src/#{lib}`: `add/2`, `hello/1`.
      \"\"\"
      use Corral, otp_app: #{inspect(app)}, lib: #{inspect(lib)}
    end
    """
  end

  defp test_file(module) do
    """
    defmodule #{module}Test do
      use ExUnit.Case, async: true

      test "add/2" do
        assert #{module}.add(40, 2) == 42
      end

      test "a bad argument raises a clear ArgumentError" do
        error = assert_raise ArgumentError, fn -> #{module}.add(1, :two) end
        assert Exception.message(error) =~ "#{module}.add/2: argument 2: expected an integer"
      end

      test "overflow raises ArithmeticError" do
        assert_raise ArithmeticError, ~r/integer overflow/, fn -> #{module}.add(9_223_372_036_854_775_807, 1) end
      end

      test "hello/1" do
        assert #{module}.hello("Corral") == "Hello, Corral!"
      end
    end
    """
  end
end
