# Corral: the two commands of the README, plus benchmarks.
#   make demo   builds the Buffer example and shows it working
#   make test   runs every test suite (Corral's own and the example's)
#   make bench  prints ratios against hand-written erl_nif C and pure BEAM

export LANG ?= C.UTF-8
export LC_ALL ?= C.UTF-8
export ERL_AFLAGS ?= -kernel shell_history disabled

.PHONY: deps test test-corral test-example demo bench clean

deps:
	@scripts/ensure-deps.sh

test: deps test-corral test-example

test-corral: deps
	MIX_ENV=test mix test

test-example: deps
	cd examples/buffer && MIX_ENV=test mix test

demo: deps
	cd examples/buffer && mix run demo.exs

bench: deps
	cd bench && MIX_ENV=prod mix run run.exs

clean:
	rm -rf _build examples/buffer/_build bench/_build
