# torn — fault-injection verification of atomic-write guarantees.
#   make                 build ./torn
#   make test            unit tests (also under ASan+UBSan) + integration matrix
#   make SANITIZE=1 test everything built with ASan+UBSan
#   make run             install missing packages, build, run the standard scenarios
#   make verify          repetition proofs (correct twins many times under CPU load)
#   make deps            install the Debian packages torn needs (scripts/deps.sh)
#   make install PREFIX=/usr/local, make uninstall PREFIX=..., make man, make clean
#                        (mk/install.mk)
# `make run`, `make test` and `make verify` install what is missing first
# (DEPS_SCRIPT=true skips that), then build in a fresh make, so pkg-config is
# asked after the packages exist.
PREFIX ?= /usr/local
CC ?= cc
CSTD := -std=c11 -D_GNU_SOURCE
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wwrite-strings -Wformat=2 -Wvla
PKGS := hiredis libpq libcurl libcjson fuse3 libwebsockets libmicrohttpd openssl
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

ifeq ($(SANITIZE),1)
BUILD := build-san
OPT ?= -O1 -g $(SAN_FLAGS)
SANLD := $(SAN_FLAGS)
else
BUILD := build
OPT ?= -O2 -g
SANLD :=
endif

PKG_CONFIG ?= pkg-config
DEPS_SCRIPT ?= scripts/deps.sh

# The Debian package that provides each pkg-config module, for the message
# a build without it prints.
DEB_hiredis := libhiredis-dev
DEB_libpq := libpq-dev
DEB_libcurl := libcurl4-openssl-dev
DEB_libcjson := libcjson-dev
DEB_fuse3 := libfuse3-dev
DEB_libwebsockets := libwebsockets-dev
DEB_libmicrohttpd := libmicrohttpd-dev
DEB_openssl := libssl-dev

# Asked when make parses this file: in a make that installs packages first
# (run, test, verify) the build happens in a sub-make that asks again.
PKGS_MISSING := $(strip $(foreach p,$(PKGS),$(if $(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo y),,$(p))))
ifeq ($(PKGS_MISSING),)
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
endif
CFLAGS += $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS) -Iharness -I. -MMD -MP
LDFLAGS += $(SANLD)
LDLIBS += $(PKG_LIBS) -lpthread -lm

# Sources are found in every room (harness/core, harness/check, targets/http,
# scenarios/lib, ...); unit tests live in tests/unit.
SRC_DIRS := harness targets scenarios reports
ALL_SRC := $(sort $(shell find $(SRC_DIRS) -name '*.c'))
TEST_SRC := $(wildcard tests/unit/*_test.c)
# Generated sources, compiled into libtorn like the rest: the scenarios'
# parameter files (mk/scenarios.mk).
GEN_SRC := $(BUILD)/gen/scenario_defaults.c
LIB_SRC := $(filter-out harness/cli/main.c harness/cli/front.c,$(ALL_SRC)) $(GEN_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRC)))

# Each area adds its own rules in mk/<area>.mk (reference service, fuzz
# harnesses, ...) and may append to TEST_DEPS (built before `make test`),
# VERIFY_DEPS (built before `make verify`),
# BENCH_DEPS and FUZZ_DEPS.
.DEFAULT_GOAL := all
TEST_DEPS :=
VERIFY_DEPS :=
BENCH_DEPS :=
FUZZ_DEPS :=
-include $(wildcard mk/*.mk)

.PHONY: all torn test test-run unit unit-san run clean deps bench fuzz verify verify-run need-pkgs
all: torn

# Phony: the link is made again on every make, so that `make` after `make
# SANITIZE=1` points it back at build/torn (a newer build-san/torn made it
# look up to date).
torn: $(BUILD)/torn $(BUILD)/torn-engine
	@ln -sf $(BUILD)/torn torn

# Two programs (harness/cli/front.c): torn, the front, runs `torn check`
# linked with cJSON and libm only, so a checker run starts fast; it
# execv()s torn-engine, every command with every library, for the rest.
FRONT_LIBS := $(shell $(PKG_CONFIG) --libs libcjson 2>/dev/null) -lm
$(BUILD)/torn: $(BUILD)/harness/cli/front.o $(BUILD)/libtorn.a
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(FRONT_LIBS)

$(BUILD)/torn-engine: $(BUILD)/harness/cli/main.o $(BUILD)/libtorn.a
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libtorn.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

# `make V=1` prints whole compiler command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif

# Every compile waits for this: without the packages it stops with one line
# naming what is missing instead of a compiler error about a header.
need-pkgs:
ifneq ($(PKGS_MISSING),)
	@echo "torn: cannot build: $(PKG_CONFIG) finds no $(PKGS_MISSING) (Debian: $(strip $(foreach p,$(PKGS_MISSING),$(DEB_$(p))))); run 'make deps' to install them" >&2; exit 2
endif

$(BUILD)/%.o: %.c | need-pkgs
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

vpath %_test.c tests/unit
$(BUILD)/tests/%_test: %_test.c $(BUILD)/libtorn.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST $@")
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libtorn.a $(LDLIBS)

unit: $(TEST_BIN)

# Unit tests under ASan+UBSan, in their own build directory.
unit-san:
	$(MAKE) --no-print-directory SANITIZE=1 unit

deps:
	$(DEPS_SCRIPT)

# Install first, then build in a fresh make: this make's pkg-config answers
# were taken before the packages existed.
RUN_ARGS ?=
run: deps
	@$(MAKE) --no-print-directory torn
	./torn run $(RUN_ARGS)

test: deps
	@$(MAKE) --no-print-directory test-run

test-run: torn unit unit-san $(TEST_DEPS)
	TORN_BIN=$(CURDIR)/$(BUILD)/torn $(if $(filter 1,$(SANITIZE)),TORN_TEST_TIME_SCALE=3) tests/run.sh $(sort $(BUILD)/tests build-san/tests)

# Repetition proofs: every tests/verify/*_verify.sh (correct twins many
# runs in a row under CPU load).  Kept out of `make test` for time.
verify: deps
	@$(MAKE) --no-print-directory verify-run

verify-run: torn $(VERIFY_DEPS)
	TORN_BIN=$(CURDIR)/$(BUILD)/torn TORN_TEST_SUITE=verify tests/run.sh

bench: torn $(BENCH_DEPS)
	bench/run.sh


fuzz: torn $(FUZZ_DEPS)

clean:
	rm -rf build build-san torn

-include $(shell find build build-san -name '*.d' 2>/dev/null)
