#!/bin/sh
# Runs the benchmark suite: one VM, variants interleaved, medians printed.
set -e
cd "$(dirname "$0")"
MIX_ENV=prod exec mix run run.exs "$@"
