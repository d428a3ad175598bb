defmodule CorralTest.HeaderDocTest do
  # Every public function and function-like macro in corral.h is documented
  # directly above it with the three tags of the fixed format:
  # "Checks:", "Raises:" and "Owns:".
  use ExUnit.Case, async: true

  # Tests the build tools, not Corral's C at run time: left out of the
  # sanitizer run (make test-sanitize), which checks the latter.
  @moduletag :toolchain

  @header Path.expand("../include/corral.h", __DIR__)
  # The first Corral name followed by "(" on a line is what the line
  # declares; internal names (corral__x, CORRAL__X) need no documentation.
  @declared ~r/\b(corral_[a-z0-9_]*|CORRAL_[A-Z0-9_]*)\(/

  defp declarations(text) do
    {decls, _comment, _in_comment} =
      text
      |> String.split("\n")
      |> Enum.reduce({[], nil, nil}, fn line, {decls, comment, open} ->
        cond do
          open != nil ->
            block = open <> "\n" <> line
            if String.contains?(line, "*/"), do: {decls, block, nil}, else: {decls, comment, block}

          String.starts_with?(line, "/*") ->
            if String.contains?(line, "*/"), do: {decls, line, nil}, else: {decls, comment, line}

          line == "" or String.starts_with?(line, " ") ->
            {decls, comment, nil}

          true ->
            case Regex.run(@declared, line) do
              [_, "corral__" <> _] -> {decls, nil, nil}
              [_, "CORRAL__" <> _] -> {decls, comment, nil}
              [_, name] -> {[{name, comment} | decls], nil, nil}
              nil -> if String.starts_with?(line, "CORRAL__"), do: {decls, comment, nil}, else: {decls, nil, nil}
            end
        end
      end)

    Enum.reverse(decls)
  end

  # The last section re-declares the argument getters as macros of the same
  # names (they note their reads for the build's check); the getters are
  # documented where they are defined, so the section is read apart.
  defp api_and_getter_notes do
    [api, notes] = String.split(File.read!(@header), " * Argument reads the build checks\n", parts: 2)
    {api, notes}
  end

  test "the getter macros of the last section only re-declare getters defined above" do
    {api, notes} = api_and_getter_notes()
    noted = for [_, name] <- Regex.scan(~r/^#define (corral_[a-z0-9_]+)\(/m, notes), do: name
    assert "corral_arg_i64" in noted and length(noted) > 30
    # Defined above by name, or as a row of the integer family (corral_arg_<w>).
    for "corral_arg_" <> w = name <- noted do
      assert api =~ ~r/\b#{name}\(/ or api =~ ~r/^ \*   #{w}\s/m, "#{name} is not a getter of the API"
    end
    # Every getter is noted (corral_arg_resource is a macro above, noted there).
    getters = for [_, g] <- Regex.scan(~r/\b(corral_arg_[a-z0-9]+(?:_[a-z0-9]+)*)\(corral_call/, api), uniq: true, do: g
    assert getters -- noted == []
  end

  test "every public declaration states what it checks, raises and owns" do
    {api, _notes} = api_and_getter_notes()
    decls = declarations(api)
    # The parser must see the API, or this test would pass vacuously.
    names = Enum.map(decls, &elem(&1, 0))
    assert "corral_arg_i64" in names
    assert "CORRAL_NIF" in names
    assert "corral_arg_resource" in names
    assert length(decls) > 50

    missing =
      for {name, comment} <- decls,
          tag <- ["Checks:", "Raises:", "Owns:"],
          comment == nil or not String.contains?(comment, tag),
          do: "#{name} lacks #{tag}"

    assert missing == []
  end
end
