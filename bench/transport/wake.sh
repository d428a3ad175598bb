#!/usr/bin/env bash
# The wake-up costs an isolated call's transport is made of, on this
# machine: two OS processes over a shared page (futex, with and without a
# bounded spin first), and a process woken by a thread of its own VM
# (enif_send), each as a round trip. Builds into a temporary directory;
# Linux only (futex). bench/README.md, "Isolated calls: what a round trip
# costs", has the figures and what they mean.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
erts=$(erl -noshell -eval 'io:format("~s", [code:root_dir()]), halt().')
gcc -O2 -o "$out/futex_pair" "$here/futex_pair.c"
gcc -O2 -fPIC -shared -I"$erts/usr/include" -o "$out/thread_wake.so" "$here/thread_wake.c"
erlc -o "$out" "$here/thread_wake.erl"
for spins in 0 2000; do "$out/futex_pair" "$spins" 20000; done
for spins in 0 2000; do erl -noshell -pa "$out" -eval "thread_wake:run([\"$spins\", \"20000\"])"; done
