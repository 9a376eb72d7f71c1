# torn — fault-injection verification of atomic-write guarantees.
#   make                 build ./torn
#   make test            unit tests (also under ASan+UBSan) + integration matrix
#   make SANITIZE=1 test everything built with ASan+UBSan
#   make run             set up dependencies and run the standard scenarios
#   make install PREFIX=/usr/local, make clean
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

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS += $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS) -Iharness -MMD -MP
LDFLAGS += $(SANLD)
LDLIBS += $(PKG_LIBS) -lpthread -lm

SRC_DIRS := harness targets scenarios reports
ALL_SRC := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
TEST_SRC := $(filter %_test.c,$(ALL_SRC)) $(wildcard tests/*_test.c)
LIB_SRC := $(filter-out %_test.c harness/main.c,$(ALL_SRC))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRC)))

# Each area adds its own rules in mk/<area>.mk (reference service, fuzz
# harnesses, ...) and may append to TEST_DEPS (built before `make test`),
# BENCH_DEPS and FUZZ_DEPS.
.DEFAULT_GOAL := all
TEST_DEPS :=
BENCH_DEPS :=
FUZZ_DEPS :=
-include $(wildcard mk/*.mk)

.PHONY: all test unit unit-san run install clean deps bench fuzz
all: torn

torn: $(BUILD)/torn
	@ln -sf $(BUILD)/torn torn

$(BUILD)/torn: $(BUILD)/harness/main.o $(BUILD)/libtorn.a
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

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%_test.o: CFLAGS += -Itests
vpath %_test.c $(SRC_DIRS) tests
$(BUILD)/tests/%_test: %_test.c $(BUILD)/libtorn.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST $@")
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libtorn.a $(LDLIBS)

unit: $(TEST_BIN)

# Unit tests under ASan+UBSan, in their own build directory.
unit-san:
	$(MAKE) --no-print-directory SANITIZE=1 unit

deps:
	scripts/deps.sh

run: deps torn
	./torn run

test: torn unit unit-san $(TEST_DEPS)
	TORN_BIN=$(CURDIR)/$(BUILD)/torn $(if $(filter 1,$(SANITIZE)),TORN_TEST_TIME_SCALE=3) tests/run.sh $(sort $(BUILD)/tests build-san/tests)

bench: torn $(BENCH_DEPS)
	bench/run.sh

install: torn
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/torn/scenarios
	install -m 755 $(BUILD)/torn $(DESTDIR)$(PREFIX)/bin/torn
	install -m 644 scenarios/*.json $(DESTDIR)$(PREFIX)/share/torn/scenarios/

fuzz: torn $(FUZZ_DEPS)

clean:
	rm -rf build build-san torn

-include $(shell find build build-san -name '*.d' 2>/dev/null)
