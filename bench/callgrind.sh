#!/usr/bin/env bash
# Instructions per call of each case, Corral against hand-written erl_nif C,
# counted with valgrind's callgrind (see callgrind.exs). Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")"
export MIX_ENV=prod
mix compile >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The loop module, compiled here rather than in the counted VM.
elixirc $(printf -- '-pa %s ' _build/prod/lib/*/ebin) -o "$out/ebin" callgrind.exs
small=${CALLGRIND_SMALL:-100000}
big=${CALLGRIND_BIG:-600000}
total() {
  # The VM's main process is the one that counted the most. Idle scheduler
  # threads spin before they sleep, for as long as the wall clock lets them:
  # +sbwt none (and for the dirty schedulers) keeps that out of the count.
  valgrind --tool=callgrind --smc-check=all --trace-children=yes ${CALLGRIND_TOGGLE:+--toggle-collect="$CALLGRIND_TOGGLE"} \
    --callgrind-out-file="$out/cg.%p" \
    elixir --erl "+S 1 +SDcpu 1 +SDio 1 +A 1 +sbwt none +sbwtdcpu none +sbwtdio none" -pa "$out/ebin" \
    -S mix run --no-compile -e 'Bench.CallgrindLoop.main(System.argv())' -- "$1" "$2" >"$out/log" 2>&1 ||
    { echo "callgrind.sh: $1 $2 failed:" >&2; grep -v "^==[0-9]*==" "$out/log" | tail -20 >&2; return 1; }
  grep -h '^summary:' "$out"/cg.* | awk '{print $2}' | sort -n | tail -1
  rm -f "$out"/cg.*
}
# CALLGRIND_TOGGLE=<function> counts only inside that C function and what
# it calls (e.g. add: the NIF itself, without the loop and the generated
# Elixir function).
# CALLGRIND_CASES picks cases (default: add get set). add is counted in four
# forms: CORRAL_NIF, typed pure (CORRAL_PURE), typed with a context
# (CORRAL_DEF) and hand-written.
printf "%-8s %-12s %12s %7s\n" case variant instructions "vs C"
for c in ${CALLGRIND_CASES:-add get set}; do
  case "$c" in
    add) variants="handwritten corral typed_pure typed_def" ;;
    *) variants="handwritten corral" ;;
  esac
  for v in $variants; do
    a=$(total "${c}_$v" "$small"); b=$(total "${c}_$v" "$big")
    n=$(( (b - a) / (big - small) ))
    [ "$v" = handwritten ] && base=$n
    printf "%-8s %-12s %12s %7s\n" "$c" "$v" "$n" "$(awk -v a="$n" -v b="$base" 'BEGIN{printf "%.2f", a/b}')"
  done
done
