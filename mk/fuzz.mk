# Fuzzing area (issue 6): AFL++ persistent-mode harnesses fuzz/<name>.c,
# each linked three ways:
#   build-fuzz/afl/fuzz-<name>    afl-clang-fast, for campaigns (`torn fuzz`)
#   build-fuzz/asan/fuzz-<name>   afl-clang-fast + ASan/UBSan
#   $(BUILD)/fuzz/replay-<name>   plain cc, replays files (make test)
# The library is compiled again into build-fuzz/<variant>/ with the AFL++
# compiler (instrumentation needs it); the main build is untouched.
# fuzz/plan.c (fault plans of a real target, `torn fuzz --target URI
# --scenario NAME`) is AFL++-only and not among them: it runs a whole torn run
# in a child, which only AFL++'s shared coverage map sees, and it needs a
# campaign (TORN_PLAN_CONF), so it has no seed corpus to replay.
FUZZ_HARNESSES := schedule spec target_spec record file_read http_body http_events history exec_reply proxy_toxic params edn gate
AFL_CC ?= afl-clang-fast
AFL_FOUND := $(shell command -v $(AFL_CC) 2>/dev/null)
FUZZ_DIR := build-fuzz
FUZZ_CFLAGS := $(CSTD) $(filter-out -Werror,$(WARN)) -O2 -g $(PKG_CFLAGS) -Iharness -I. -Ifuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SUPPORT := fuzz/fail.c fuzz/http_common.c fuzz/http_common.h fuzz/fuzz.h

FUZZ_AFL_BIN := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/afl/fuzz-%)
FUZZ_ASAN_BIN := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/asan/fuzz-%)
FUZZ_REPLAY_BIN := $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/replay-%)

$(FUZZ_DIR)/afl/%.o: %.c | need-pkgs
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AFL-CC $<")
	$(Q)$(AFL_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/asan/%.o: %.c | need-pkgs
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AFL-CC $< (ASan)")
	$(Q)$(AFL_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/afl/libtorn.a: $(LIB_SRC:%.c=$(FUZZ_DIR)/afl/%.o)
	@rm -f $@
	@$(if $(Q),echo "  AR $@")
	$(Q)ar rcs $@ $^

$(FUZZ_DIR)/asan/libtorn.a: $(LIB_SRC:%.c=$(FUZZ_DIR)/asan/%.o)
	@rm -f $@
	@$(if $(Q),echo "  AR $@")
	$(Q)ar rcs $@ $^

$(FUZZ_DIR)/afl/fuzz-%: fuzz/%.c fuzz/afl_main.c $(FUZZ_SUPPORT) $(FUZZ_DIR)/afl/libtorn.a
	@$(if $(Q),echo "  AFL-LD $@")
	$(Q)$(AFL_CC) $(FUZZ_CFLAGS) -o $@ fuzz/$*.c fuzz/afl_main.c fuzz/fail.c fuzz/http_common.c \
	    $(FUZZ_DIR)/afl/libtorn.a $(PKG_LIBS) -lpthread -lm

$(FUZZ_DIR)/asan/fuzz-%: fuzz/%.c fuzz/afl_main.c $(FUZZ_SUPPORT) $(FUZZ_DIR)/asan/libtorn.a
	@$(if $(Q),echo "  AFL-LD $@")
	$(Q)$(AFL_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ fuzz/$*.c fuzz/afl_main.c fuzz/fail.c fuzz/http_common.c \
	    $(FUZZ_DIR)/asan/libtorn.a $(PKG_LIBS) -lpthread -lm

$(BUILD)/fuzz/replay-%: fuzz/%.c fuzz/replay_main.c $(FUZZ_SUPPORT) $(BUILD)/libtorn.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -I. -Ifuzz $(LDFLAGS) -o $@ fuzz/$*.c \
	    fuzz/replay_main.c fuzz/fail.c fuzz/http_common.c $(BUILD)/libtorn.a $(LDLIBS)

.PHONY: fuzz-afl fuzz-asan fuzz-replay fuzz-clean fuzz-need-afl
fuzz-replay: $(FUZZ_REPLAY_BIN)
fuzz-afl: fuzz-need-afl $(FUZZ_AFL_BIN) $(FUZZ_DIR)/afl/fuzz-plan
fuzz-asan: fuzz-need-afl $(FUZZ_ASAN_BIN)
fuzz-need-afl:
	@command -v $(AFL_CC) >/dev/null || { echo "fuzz: $(AFL_CC) not found: install AFL++ (scripts/deps.sh installs the afl++ package)" >&2; exit 2; }
fuzz-clean:
	rm -rf $(FUZZ_DIR) $(BUILD)/fuzz

FUZZ_DEPS += fuzz-afl fuzz-asan fuzz-replay
TEST_DEPS += fuzz-replay
# The AFL++ build compiles everyone's sources with clang: if that fails,
# make test still runs (the fuzz test then reports the harness as failed)
# instead of stopping before any test.  make test needs only the plain AFL++
# build (the afl-fuzz smoke runs): the regression inputs run under
# ASan/UBSan through the libFuzzer build (libfuzzer_test.sh), so the AFL++
# ASan build (make fuzz-asan, for campaigns) is one library compile fewer.
.PHONY: fuzz-try
fuzz-try:
	-@$(MAKE) --no-print-directory fuzz-afl
ifneq ($(AFL_FOUND),)
TEST_DEPS += fuzz-try
endif


ifneq ($(AFL_FOUND),)
BENCH_DEPS += $(FUZZ_DIR)/afl/fuzz-schedule $(FUZZ_DIR)/afl/fuzz-plan
endif

# libFuzzer: every harness also linked with fuzz/libfuzzer_main.c by clang
# -fsanitize=fuzzer,address,undefined into build-fuzz/libfuzzer/fuzz-<name>
# (`make fuzz-libfuzzer`; the library compiled again with
# -fsanitize=fuzzer-no-link for coverage).  Needs clang and its fuzzer
# runtime (Debian 12: clang-14, libclang-rt-14-dev; scripts/deps.sh).
# OSS-Fuzz/ClusterFuzzLite builds override LIBFUZZER_CC, LIBFUZZER_FLAGS
# (their $$SANITIZER_FLAGS) and LIBFUZZER_ENGINE ($$LIB_FUZZING_ENGINE).
LIBFUZZER_CC ?= clang
LIBFUZZER_FLAGS ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LIBFUZZER_ENGINE ?= -fsanitize=fuzzer
LIBFUZZER_BIN := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/libfuzzer/fuzz-%)

$(FUZZ_DIR)/libfuzzer/%.o: %.c | need-pkgs
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LF-CC $<")
	$(Q)$(LIBFUZZER_CC) $(FUZZ_CFLAGS) $(LIBFUZZER_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libfuzzer/libtorn.a: $(LIB_SRC:%.c=$(FUZZ_DIR)/libfuzzer/%.o)
	@rm -f $@
	@$(if $(Q),echo "  AR $@")
	$(Q)ar rcs $@ $^

$(FUZZ_DIR)/libfuzzer/fuzz-%: fuzz/%.c fuzz/libfuzzer_main.c $(FUZZ_SUPPORT) $(FUZZ_DIR)/libfuzzer/libtorn.a
	@$(if $(Q),echo "  LF-LD $@")
	$(Q)$(LIBFUZZER_CC) $(FUZZ_CFLAGS) $(LIBFUZZER_FLAGS) $(LIBFUZZER_ENGINE) -o $@ fuzz/$*.c \
	    fuzz/libfuzzer_main.c fuzz/fail.c fuzz/http_common.c $(FUZZ_DIR)/libfuzzer/libtorn.a \
	    $(PKG_LIBS) -lpthread -lm

.PHONY: fuzz-libfuzzer fuzz-libfuzzer-try fuzz-need-libfuzzer
fuzz-libfuzzer: fuzz-need-libfuzzer $(LIBFUZZER_BIN)
# One probe: clang links a one-line fuzz target, or names what is missing.
fuzz-need-libfuzzer:
	@command -v $(LIBFUZZER_CC) >/dev/null || { echo "fuzz: $(LIBFUZZER_CC) not found: install clang (Debian: clang-14)" >&2; exit 2; }
	@mkdir -p $(FUZZ_DIR)/libfuzzer
	@echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
	    | $(LIBFUZZER_CC) $(LIBFUZZER_ENGINE) -x c -o $(FUZZ_DIR)/libfuzzer/probe - 2>/dev/null || \
	    { echo "fuzz: $(LIBFUZZER_CC) cannot link a libFuzzer target: install its fuzzer runtime (Debian: libclang-rt-14-dev)" >&2; exit 2; }
# make test builds them when clang can; a failure leaves the test to say so.
fuzz-libfuzzer-try:
	-@$(MAKE) --no-print-directory fuzz-libfuzzer
TEST_DEPS += fuzz-libfuzzer-try

-include $(shell find $(FUZZ_DIR) -name '*.d' 2>/dev/null)
