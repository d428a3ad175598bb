# Corral: the two commands of the README, plus benchmarks.
#   make demo   builds the Buffer example and shows it working
#   make test   runs every test suite (Corral's own and the example's)
#   make bench  prints ratios against hand-written erl_nif C and pure BEAM
#   make bench-icount  instructions per call of each case and its
#               hand-written twin, under valgrind's callgrind
#   make fuzz   throws generated arguments at the example's and the test NIFs
#   make test-matrix  make test on OTP 27/Elixir 1.18 and OTP 29/Elixir 1.20
#               (Debian chroots, built once with debootstrap into
#               /var/cache/corral-matrix; needs root and Debian's mirror)
#   make test-arm64  Corral's suite on AArch64 Linux, emulated with qemu-user
#               in a Debian arm64 chroot (on demand: tens of minutes, more
#               than CI has; scripts/test-arm64.sh says what it takes)
#   make test-arm64-ci  the part of it CI runs: locks and atomics, every
#               typed word, terms, numbers, cleanup and raising (minutes)
#   make test-vm-lock-tools  a vm_locks: true library under lcnt and the
#               debug emulator's lock checker (builds both emulators once
#               in the trixie chroot of test-matrix: minutes)

export LANG ?= C.UTF-8
export LC_ALL ?= C.UTF-8
export ERL_AFLAGS ?= -kernel shell_history disabled

.PHONY: deps test test-corral test-example test-zlib test-sqlite test-erlang test-rebar3 test-sanitize test-matrix test-arm64 test-arm64-ci test-vm-lock-tools debootstrap fuzz demo bench bench-icount clean amalgamation

deps:
	@scripts/ensure-deps.sh

test: deps test-corral test-example test-zlib test-sqlite test-erlang test-rebar3

# Warnings are errors: from the Elixir compiler (its type checker included)
# and, for the test NIFs and Corral's own C, from the C compiler (-Werror).
test-corral: deps
	MIX_ENV=test mix do compile --warnings-as-errors + test --warnings-as-errors

test-example: deps
	cd examples/buffer && MIX_ENV=test mix do compile --warnings-as-errors + test --warnings-as-errors

test-zlib: deps
	cd examples/zlib && MIX_ENV=test mix do compile --warnings-as-errors + test --warnings-as-errors

test-sqlite: deps
	cd examples/sqlite && MIX_ENV=test mix do compile --warnings-as-errors + test --warnings-as-errors

test-erlang: deps
	$(MAKE) -C examples/erlang_counter test

# rebar3 with Corral's plugin from _checkouts (no Hex); its cache stays in
# the example's _build.
test-rebar3: deps
	cd examples/rebar3_stats && REBAR_CACHE_DIR=$(CURDIR)/examples/rebar3_stats/_build/rebar3_cache rebar3 eunit

# include/corral_all.c, Corral's C in one file (corral.mk builds from it);
# a test fails when it is older than c_src/corral/.
amalgamation:
	scripts/amalgamate.sh

# debootstrap comes from Debian's packages when it is missing.
debootstrap:
	@command -v debootstrap >/dev/null 2>&1 || { [ "$$(id -u)" -eq 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } || \
	  { echo "the Debian chroots need debootstrap (apt-get install debootstrap) and root" >&2; exit 1; }

test-matrix: debootstrap
	scripts/test-matrix.sh

test-vm-lock-tools: debootstrap
	scripts/vm-lock-tools.sh

# Installs qemu-user-static, binfmt-support and debootstrap when missing.
test-arm64:
	scripts/test-arm64.sh

ARM64_CI_FILES = test/lock_test.exs test/typed_test.exs test/term_container_test.exs \
                 test/term_number_test.exs test/cleanup_test.exs test/raise_test.exs

test-arm64-ci:
	scripts/test-arm64.sh --exclude toolchain $(ARM64_CI_FILES)

demo: deps
	cd examples/buffer && mix run demo.exs

# Each script records the tables the docs quote in bench/results/; the
# last step copies them into README.md and the guides (bench/figures.exs).
bench: deps
	cd bench && BENCH_RECORD=1 MIX_ENV=prod mix run run.exs
	cd bench && BENCH_RECORD=1 MIX_ENV=prod mix run terms.exs
	cd bench && MIX_ENV=prod elixir --erl "+S 1" -S mix run latency.exs
	cd bench && BENCH_RECORD=1 MIX_ENV=prod mix run isolated.exs
	cd bench && BENCH_RECORD=1 MIX_ENV=prod mix run lifecycle.exs
	cd bench && BENCH_RECORD=1 MIX_ENV=prod mix run items.exs
	cd bench && MIX_ENV=prod mix run figures.exs

# Instructions per call (per element) of each case and its hand-written
# twin, counted with callgrind: repeatable where times are not.
bench-icount: deps
	bench/callgrind.sh

clean:
	rm -rf _build examples/buffer/_build examples/zlib/_build examples/sqlite/_build examples/rebar3_stats/_build bench/_build
	$(MAKE) -C examples/erlang_counter clean

# The whole Corral suite with its test NIFs built with ASan and UBSan, in a
# VM that has the ASan runtime preloaded and sends its allocations through
# malloc (+Mea min) so the sanitizer sees them. Its own build folder, so the
# modules are compiled (and their libraries built) with the sanitizers even
# after a plain `make test` in the same checkout. The tests of the build
# tools (tagged toolchain: compiling, generating, packaging, cross-building)
# are left out: they check no C that runs in the VM, and every compiler they
# start would carry the ASan runtime (LD_PRELOAD), at several times the time.
ASAN_RUNTIME = $(shell gcc -print-file-name=libasan.so)
test-sanitize: deps
	CORRAL_SANITIZE=address,undefined ERL_FLAGS="+Mea min" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	MIX_BUILD_PATH=$(CURDIR)/_build/sanitize \
	LD_PRELOAD=$(ASAN_RUNTIME) MIX_ENV=test mix test --exclude toolchain
	cd examples/sqlite && CORRAL_SANITIZE=address,undefined ERL_FLAGS="+Mea min" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	MIX_BUILD_PATH=$(CURDIR)/examples/sqlite/_build/sanitize \
	LD_PRELOAD=$(ASAN_RUNTIME) MIX_ENV=test mix test

# mix corral.fuzz with a fixed seed (reproducible), a few tens of seconds
# each: the Buffer and SQLite examples (the SQLite one writes its databases
# in the fuzzer's scratch directory), and Corral's own test NIFs (CorralTest.Native,
# the term API's CorralTest.Terms, the typed declarations' CorralTest.Typed,
# without its owned-binary functions, whose sizes are their arguments). The test NIFs that
# sleep or spin for as long as their argument says are left out; those whose
# argument is a count (of messages, allocations, cleanups) stay in and are
# left out after their first call over the time limit.
FUZZ_TEST_SLOW = spin/1 spin_dirty/1 spin_yielding/2 spin_thread/1 sleep_thread/1 stubborn_thread/1 handle_read_slowly/2 \
  cursor_read_slowly/2 cursor_open_slow/3 sleeper_new/2 block_until_interrupted/2 block_dirty/3 set_then_clear_interrupt/1
fuzz: deps
	cd examples/buffer && mix corral.fuzz Buffer.Native --count 300000 --seed 1
	MIX_ENV=test mix corral.fuzz CorralTest.Native --count 200000 --seed 1 --max-failures 1 \
	  $(foreach f,$(FUZZ_TEST_SLOW),--except $(f)) --except fail_allocations_after/1
	MIX_ENV=test mix corral.fuzz CorralTest.Terms --count 100000 --seed 1 --max-failures 1 \
	  --except seq_reversed/1
	cd examples/sqlite && mix corral.fuzz Sqlite.Native --count 20000 --seed 1 --max-failures 1 --dict fuzz.dict
	MIX_ENV=test mix corral.fuzz CorralTest.Typed --count 50000 --seed 1 --max-failures 1 \
	  --except owned_repeat/2 --except owned_then_raise/1 --except owned_job/1 --except owned_sized/1 \
	  --except fail_allocations_after/1
