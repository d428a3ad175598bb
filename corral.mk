# corral.mk: build a Corral NIF library with plain make (Erlang projects,
# erlang.mk, or a rebar3 pre-hook that calls make).
#
#   CORRAL_DIR := path/to/corral
#   include $(CORRAL_DIR)/corral.mk
#   priv/my_nif.so: $(wildcard c_src/*.c) $(CORRAL_SOURCES)
#   	$(CORRAL_CC) $(CORRAL_CFLAGS) -o $@ $^ $(CORRAL_LDFLAGS)
#
# It needs only an include path and one C file of Corral's: the
# amalgamation include/corral_all.c (generated from c_src/corral/ by
# scripts/amalgamate.sh), which any other build system can compile too.

CORRAL_DIR ?= $(dir $(lastword $(MAKEFILE_LIST)))
CORRAL_SOURCES := $(CORRAL_DIR)/include/corral_all.c
ERTS_INCLUDE_DIR ?= $(shell erl -noshell -eval 'io:format("~ts/erts-~ts/include", [code:root_dir(), erlang:system_info(version)]), halt().')
CORRAL_CC ?= $(or $(CC),cc)
CORRAL_CFLAGS ?= -std=gnu11 -O3 -fPIC -fvisibility=hidden -Wall -Wextra \
  -Werror=implicit-function-declaration -Werror=incompatible-pointer-types -Werror=int-conversion \
  -I$(CORRAL_DIR)/include -I$(ERTS_INCLUDE_DIR)
CORRAL_LDFLAGS ?= $(if $(filter Darwin,$(shell uname -s)),-dynamiclib -undefined dynamic_lookup,-shared)

# The Erlang module of a library, generated from the built library itself
# (its export table and docs): stubs, -specs, -docs, thread jobs as plain
# functions, Erlang errors. corral_stubs and the section reader it uses are
# compiled from Corral's src/ into $(CORRAL_EBIN) once.
#   src/my_nif.erl: priv/my_nif.so $(CORRAL_STUBS_BEAMS)
#   	$(CORRAL_STUBS) $< $@                  (options: app=App timeout=Ms)
# CORRAL_LOAD_DATA, an Erlang term without the final dot ({pool, 4}), is
# the data the library's load hook (CORRAL_ON_LOAD) receives; set it before
# the rule runs (it defaults to the atom undefined).
CORRAL_EBIN ?= _corral/ebin
CORRAL_STUBS_BEAMS := $(CORRAL_EBIN)/corral_stubs.beam $(CORRAL_EBIN)/corral_object.beam
CORRAL_LOAD_DATA ?=
CORRAL_STUBS = erl -noshell -pa $(CORRAL_EBIN) -run corral_stubs main \
  $(if $(strip $(CORRAL_LOAD_DATA)),'load_data=$(subst ','\'',$(CORRAL_LOAD_DATA))')

$(CORRAL_EBIN)/%.beam: $(CORRAL_DIR)/src/%.erl $(CORRAL_DIR)/include/corral.hrl
	@mkdir -p $(CORRAL_EBIN)
	erlc -o $(CORRAL_EBIN) $<
