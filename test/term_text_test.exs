defmodule CorralTest.TermTextTest do
  # corral.h, "Atoms" (names, making atoms, nil/undefined) and "Binaries"
  # (UTF-8 strings, C strings, charlists, sub-binaries, iodata by route).
  use ExUnit.Case, async: true
  import CorralTest.Case
  alias CorralTest.Terms, as: T

  test "atom names come out as UTF-8, Latin-1 and beyond" do
    for a <- [:ok, :"Elixir.Foo.Bar", :"héllo", :日本, :"😀", :"", String.to_atom(String.duplicate("x", 255))] do
      assert T.atom_name(a) == Atom.to_string(a)
    end

    assert_raise_exact ArgumentError, "CorralTest.Terms.atom_name/1: argument 1: expected an atom, got: \"ok\"",
      fn -> T.atom_name("ok") end
  end

  test "corral_make_atom makes any valid name and explains a bad one" do
    for name <- ["fresh_atom_from_c", "é", "日本語", String.duplicate("é", 255)] do
      assert T.make_atom(name) == String.to_atom(name)
    end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.make_atom/1: cannot make an atom named \"#{String.duplicate("a", 100)}\": the name has more than 255 characters",
      fn -> T.make_atom(String.duplicate("a", 256)) end

    # The name shown is cut between characters, never inside one: 33 × "日"
    # is 99 bytes, and the 34th character would end past byte 100.
    assert_raise_exact ArgumentError,
      "CorralTest.Terms.make_atom/1: cannot make an atom named #{inspect(String.duplicate("日", 33))}: the name has more than 255 characters",
      fn -> T.make_atom(String.duplicate("日", 256)) end
  end

  test "corral_make_existing_atom finds atoms and never creates one" do
    assert T.existing_atom("ok") == {:ok, :ok}
    assert T.existing_atom("日本") == {:ok, :日本}
    name = "corral_never_made_#{System.unique_integer([:positive])}"
    assert T.existing_atom(name) == {:error, nil}
    assert T.existing_atom("ünïcødé_never_made_#{System.unique_integer([:positive])}") == {:error, nil}
    assert_raise ArgumentError, fn -> String.to_existing_atom(name) end
    assert T.existing_atom(String.duplicate("a", 300)) == {:error, nil}
  end

  test "nil and :undefined are both 'no value'; anything else must be a boolean" do
    assert T.optional(nil) == :undefined
    assert T.optional(:undefined) == :undefined
    assert T.optional(true) == true
    assert T.optional(false) == false
    assert_raise_exact ArgumentError, "CorralTest.Terms.optional/1: argument 1: expected a boolean, got: 1", fn -> T.optional(1) end
  end

  test "UTF-8 strings: valid text passes as is, invalid text names the byte" do
    for s <- ["", "abc", "héllo", "日本語", "😀", String.duplicate("ascii", 100) <> "é"] do
      assert T.string(s) == s
    end

    for {bad, at} <- [
          {<<0xFF>>, 0},
          {<<"ab", 0xC3>>, 2},
          {<<"abcdefghij", 0xC0, 0x80>>, 10},
          {<<0xED, 0xA0, 0x80>>, 0},
          {<<0xF4, 0x90, 0x80, 0x80>>, 0},
          {<<"é", 0xE2, 0x82>>, 2}
        ] do
      assert_raise_exact ArgumentError,
        "CorralTest.Terms.string/1: argument 1: expected a UTF-8 string (byte #{at} is not valid UTF-8), got: #{inspect(bad)}",
        fn -> T.string(bad) end

      assert T.utf8_prefix(bad) == at
    end

    assert_raise_exact ArgumentError, "CorralTest.Terms.string/1: argument 1: expected a UTF-8 string, got: #{inspect(~c"abc")}",
      fn -> T.string(~c"abc") end
  end

  test "the UTF-8 check agrees with Elixir's on random bytes" do
    :rand.seed(:exsss, 11)

    for _ <- 1..3000 do
      bytes = for _ <- 1..:rand.uniform(12), into: <<>>, do: <<Enum.random([0x41, 0x80, 0xC3, 0xA9, 0xE2, 0xF0, 0x9F, 0xFF, :rand.uniform(255)])>>
      assert (T.utf8_prefix(bytes) == byte_size(bytes)) == String.valid?(bytes), inspect(bytes)
    end
  end

  test "C strings: NUL-terminated copies; an inner NUL is refused with its offset" do
    assert T.cstring("") == ""
    assert T.cstring("héllo") == "héllo"
    assert_raise_exact ArgumentError,
      "CorralTest.Terms.cstring/1: argument 1: expected a string without NUL bytes (byte 1 is NUL), got: <<97, 0, 98>>",
      fn -> T.cstring("a\0b") end
  end

  test "charlists to UTF-8 and back" do
    for s <- ["", "abc", "héllo", "日本", "😀 ok"] do
      assert T.charlist_to_string(String.to_charlist(s)) == s
      assert T.string_to_charlist(s) == String.to_charlist(s)
    end

    for {bad, at, elem} <- [{[?a, -1], 1, -1}, {[?a, ?b, 0xD800], 2, 0xD800}, {[0x110000], 0, 0x110000}, {[?a, :b], 1, :b}] do
      assert_raise_exact ArgumentError,
        "CorralTest.Terms.charlist_to_string/1: argument 1, index #{at}: expected a Unicode code point (an integer in 0..0x10FFFF, not a surrogate), got: #{inspect(elem)}",
        fn -> T.charlist_to_string(bad) end
    end

    assert_raise_exact ArgumentError, "CorralTest.Terms.charlist_to_string/1: argument 1: expected a proper list, got: [97 | 98]",
      fn -> T.charlist_to_string([?a | ?b]) end

    assert_raise_exact RuntimeError, "CorralTest.Terms.string_to_charlist/1: corral_make_charlist: byte 1 is not valid UTF-8",
      fn -> T.string_to_charlist(<<?h, 0xC3>>) end
  end

  test "sub-binaries share the bytes; a range outside is a RuntimeError" do
    big = :binary.copy("0123456789", 100)
    assert T.sub_binary(big, 3, 4) == "3456"
    assert T.sub_binary(big, 1000, 0) == ""
    # A slice refers to big's bytes. (Slices of up to 64 bytes may be copied
    # instead: since OTP 27 the VM keeps such small binaries on the heap.)
    slice = T.sub_binary(big, 10, 500)
    assert slice == binary_part(big, 10, 500)
    assert :binary.referenced_byte_size(slice) == 1000

    for {pos, len} <- [{998, 3}, {1001, 0}, {0, 1_000_000}] do
      assert_raise_exact RuntimeError,
        "CorralTest.Terms.sub_binary/3: corral_make_sub_binary: #{len} bytes at #{pos} lie outside a binary of 1000 bytes",
        fn -> T.sub_binary(big, pos, len) end
    end

    assert_raise_exact RuntimeError, "CorralTest.Terms.sub_binary/3: corral_make_sub_binary: the term is not a binary",
      fn -> T.sub_binary(:a, 0, 0) end
  end

  test "binaries and iodata inside a list are routed by index" do
    assert T.binaries_size(["ab", "", "cde"]) == 5
    assert T.iodata_sizes(["ab", [?c, "de"], []]) == [2, 3, 0]

    assert_raise_exact ArgumentError, "CorralTest.Terms.binaries_size/1: argument 1, index 1: expected a binary, got: 1",
      fn -> T.binaries_size(["ab", 1]) end

    assert_raise_exact ArgumentError,
      "CorralTest.Terms.iodata_sizes/1: argument 1, index 0: expected iodata (a binary, or a list of binaries and bytes), got: [256]",
      fn -> T.iodata_sizes([[256]]) end
  end
end
