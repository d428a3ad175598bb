#!/usr/bin/env bash
# Instructions per call (or per element) of each case, Corral against
# hand-written erl_nif C, counted with valgrind's callgrind (see
# callgrind.exs). Needs valgrind. `make bench-icount` runs it.
#
# Only the NIF's C function and what it calls are counted
# (--toggle-collect=<the NIF's C name>), in two runs with two call counts
# (or element counts): the difference of the totals over the difference of
# the counts is one call (element), and anything outside the NIF, the VM's
# start included, is not counted at all. Counts of the whole loop (the
# Elixir side included) were not repeatable on a shared machine; these are
# to the instruction.
set -euo pipefail
cd "$(dirname "$0")"
export MIX_ENV=prod
mix compile >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The loop module, compiled here rather than in the counted VM.
elixirc $(printf -- '-pa %s ' _build/prod/lib/*/ebin) -o "$out/ebin" callgrind.exs
total() {
  # $1 the case and variant, $2 the count, $3 the C function to count in.
  # The VM's main process is the one that counted the most. Idle scheduler
  # threads spin before they sleep: +sbwt none (and for the dirty
  # schedulers) keeps that out.
  valgrind --tool=callgrind --smc-check=all --trace-children=yes --toggle-collect="$3" \
    --callgrind-out-file="$out/cg.%p" \
    elixir --erl "+S 1 +SDcpu 1 +SDio 1 +A 1 +sbwt none +sbwtdcpu none +sbwtdio none" -pa "$out/ebin" \
    -S mix run --no-compile -e 'Bench.CallgrindLoop.main(System.argv())' -- "$1" "$2" >"$out/log" 2>&1 ||
    { echo "callgrind.sh: $1 $2 failed:" >&2; grep -v "^==[0-9]*==" "$out/log" | tail -20 >&2; return 1; }
  grep -h '^summary:' "$out"/cg.* | awk '{print $2}' | sort -n | tail -1
  rm -f "$out"/cg.*
}
# The C function of a variant: Corral's NIFs and the hand-written ones
# share their names, but for the hand-written buffer functions.
fn_of() {
  case "$1_$2" in
    get_handwritten | set_handwritten) echo "buffer_$1" ;;
    list_checked_corral_ptr) echo list_sum_checked_ptr ;;
    list_sum_typed | list_sum_typed_again) echo list_sum_typed ;;
    list_checked_*) echo list_sum_checked ;;
    bytes_*) echo binary_sum ;;
    new_*) echo object_new ;;
    *) echo "$1" ;;
  esac
}
# CALLGRIND_CASES picks cases (default: all). add is counted in four forms:
# CORRAL_NIF, typed pure (CORRAL_PURE), typed with a context (CORRAL_DEF)
# and hand-written; the routed list sum with corral_raise_at given the
# element itself and a pointer to it; the typed list sum as a first call
# (typed) and as a call after one of the same length (typed_again), whose
# block is sized from the start.
printf "%-11s %-12s %14s %7s\n" case variant instructions "vs C"
for c in ${CALLGRIND_CASES:-add new get set list_sum list_checked list_build bytes points_in points_out}; do
  case "$c" in
    add) variants="handwritten corral typed_pure typed_def" ;;
    list_checked) variants="handwritten corral corral_ptr" ;;
    list_sum) variants="handwritten corral typed typed_again" ;;
    *) variants="handwritten corral" ;;
  esac
  case "$c" in
    points_* | list_*) small=${CALLGRIND_ELEMENTS_SMALL:-10000} big=${CALLGRIND_ELEMENTS_BIG:-30000} unit="per element" ;;
    bytes) small=${CALLGRIND_BYTES_SMALL:-1048576} big=${CALLGRIND_BYTES_BIG:-4194304} unit="per byte" ;;
    *) small=${CALLGRIND_SMALL:-10000} big=${CALLGRIND_BIG:-60000} unit="per call" ;;
  esac
  for v in $variants; do
    fn=$(fn_of "$c" "$v")
    if [ "$v" = typed_again ]; then
      # A call after one of the same length: two calls, less one.
      a=$(($(total "${c}_typed_twice" "$small" "$fn") - $(total "${c}_typed" "$small" "$fn")))
      b=$(($(total "${c}_typed_twice" "$big" "$fn") - $(total "${c}_typed" "$big" "$fn")))
    else
      a=$(total "${c}_$v" "$small" "$fn"); b=$(total "${c}_$v" "$big" "$fn")
    fi
    n=$(awk -v a="$a" -v b="$b" -v s="$small" -v g="$big" 'BEGIN{printf "%.1f", (b - a) / (g - s)}')
    [ "$v" = handwritten ] && base=$n
    printf "%-11s %-12s %14s %7s  %s\n" "$c" "$v" "$n" "$(awk -v a="$n" -v b="$base" 'BEGIN{printf "%.2f", a/b}')" "$unit"
  done
done
