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

        Mix.shell().info("""

        Next: mix test. The C code is in #{Path.join("c_src", lib)}; every
        `mix compile` rebuilds what changed. compile_commands.json appears next
        to it for clangd (add it to .gitignore).
        """)

      existing ->
        Mix.raise("mix corral.new: not overwriting #{Enum.map_join(existing, ", ", &elem(&1, 0))}; nothing was written")
    end
  end

  defp c_source(module) do
    """
    /*
     * #{module}: native functions written with Corral.
     *
     * Each CORRAL_NIF gets `c`, the call context. corral_arg_* reads and
     * checks an argument (raising ArgumentError with a clear message when it
     * does not fit), corral_make_* builds a result. The table at the end
     * names the Elixir functions; `use Corral` generates them.
     */
    #include <corral.h>

    /* add(a, b): the sum of two 64-bit integers. */
    CORRAL_NIF(add)
    {
        int64_t a = corral_arg_i64(c, 0), b = corral_arg_i64(c, 1);
        int64_t sum;
        if (__builtin_add_overflow(a, b, &sum)) corral_raise_argument(c, "the sum does not fit in 64 bits");
        return corral_make_i64(c, sum);
    }

    /* hello(name): "Hello, <name>!" for a binary name. */
    CORRAL_NIF(hello)
    {
        corral_binary name = corral_arg_binary(c, 0);
        static const char prefix[] = "Hello, ";
        ERL_NIF_TERM out;
        unsigned char *p = corral_new_binary(c, sizeof prefix - 1 + name.size + 1, &out);
        memcpy(p, prefix, sizeof prefix - 1);
        memcpy(p + sizeof prefix - 1, name.data, name.size);
        p[sizeof prefix - 1 + name.size] = '!';
        return out;
    }

    CORRAL_MODULE(#{module},
        CORRAL_FN("add", add, 2),
        CORRAL_FN("hello", hello, 1));
    """
    |> String.replace("#include <corral.h>\n", "#include <corral.h>\n\n#include <string.h>\n")
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

      test "hello/1" do
        assert #{module}.hello("Corral") == "Hello, Corral!"
      end
    end
    """
  end
end
