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
