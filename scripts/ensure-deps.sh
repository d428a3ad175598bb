#!/usr/bin/env bash
# Installs what Corral needs to build and test, from the OS packages:
# Erlang/OTP with its headers (erl_nif.h), Elixir and a C compiler.
# As root it installs them; otherwise it prints the command to run.
set -euo pipefail

missing=()
command -v erl >/dev/null 2>&1 || missing+=(erlang-nox)
command -v elixir >/dev/null 2>&1 || missing+=(elixir)
# Prebuilt downloads use Erlang's ssl and inets (httpc); some Debian
# releases' elixir package does not pull them in.
if command -v erl >/dev/null 2>&1; then
  erl -noshell -eval 'case {code:lib_dir(ssl), code:lib_dir(inets)} of {{error, _}, _} -> halt(1); {_, {error, _}} -> halt(1); _ -> halt(0) end.' \
    || missing+=(erlang-ssl erlang-inets)
fi
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
# examples/sqlite wraps the system's SQLite; its benchmark runs the sqlite3 tool.
pkg-config --exists sqlite3 2>/dev/null || missing+=(libsqlite3-dev)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v dialyzer >/dev/null 2>&1 || missing+=(erlang-dialyzer)
# rebar3 builds the rebar3 example with Corral's plugin.
command -v rebar3 >/dev/null 2>&1 || missing+=(rebar3)
# clang, lld and llvm cross-build Mach-O libraries for the macOS tests (and
# clang checks Corral's C beside gcc).
if command -v clang >/dev/null 2>&1; then
  llvm_bin=$(dirname "$(readlink -f "$(command -v clang)")")
  [ -x "$llvm_bin/ld64.lld" ] || command -v ld64.lld >/dev/null 2>&1 || missing+=(lld)
  [ -x "$llvm_bin/llvm-lipo" ] && [ -x "$llvm_bin/llvm-nm" ] || missing+=(llvm)
else
  missing+=(clang lld llvm)
fi
# Debian's cross compilers and musl-gcc build the examples for the targets
# of the cross-build tests (AArch64, 32-bit ARM, RISC-V, musl; Windows
# x86-64 with mingw-w64).
for pair in aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu arm-linux-gnueabihf-gcc:gcc-arm-linux-gnueabihf \
  riscv64-linux-gnu-gcc:gcc-riscv64-linux-gnu musl-gcc:musl-tools x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if command -v erl >/dev/null 2>&1; then
  root=$(erl -noshell -eval 'io:format("~s", [code:root_dir()]), halt().')
  ls "$root"/erts-*/include/erl_nif.h "$root"/usr/include/erl_nif.h >/dev/null 2>&1 || missing+=(erlang-dev)
else
  missing+=(erlang-dev)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Corral needs: ${missing[*]} (Erlang/OTP 25+ with headers, Elixir 1.14+, a C compiler)." >&2
  echo "Install them with your system's package manager." >&2
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "Corral needs these packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "Installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
