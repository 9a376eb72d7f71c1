# Fuzzing area (issue 6): AFL++ persistent-mode harnesses fuzz/<name>.c,
# each linked three ways:
#   build-fuzz/afl/fuzz-<name>    afl-clang-fast, for campaigns (`torn fuzz`)
#   build-fuzz/asan/fuzz-<name>   afl-clang-fast + ASan/UBSan
#   $(BUILD)/fuzz/replay-<name>   plain cc, replays files (make test)
# The library is compiled again into build-fuzz/<variant>/ with the AFL++
# compiler (instrumentation needs it); the main build is untouched.
FUZZ_HARNESSES := schedule spec target_spec record file_read http_body http_events history exec_reply proxy_toxic params edn
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
fuzz-afl: fuzz-need-afl $(FUZZ_AFL_BIN)
fuzz-asan: fuzz-need-afl $(FUZZ_ASAN_BIN)
fuzz-need-afl:
	@command -v $(AFL_CC) >/dev/null || { echo "fuzz: $(AFL_CC) not found: install AFL++ (scripts/deps.sh installs the afl++ package)" >&2; exit 2; }
fuzz-clean:
	rm -rf $(FUZZ_DIR) $(BUILD)/fuzz

FUZZ_DEPS += fuzz-afl fuzz-asan fuzz-replay
TEST_DEPS += fuzz-replay
# The AFL++ builds compile everyone's sources with clang: if that fails,
# make test still runs (the fuzz test then reports the harness as failed)
# instead of stopping before any test.
.PHONY: fuzz-try
fuzz-try:
	-@$(MAKE) --no-print-directory fuzz-afl fuzz-asan
ifneq ($(AFL_FOUND),)
TEST_DEPS += fuzz-try
endif


ifneq ($(AFL_FOUND),)
BENCH_DEPS += $(FUZZ_DIR)/afl/fuzz-schedule
endif
-include $(shell find $(FUZZ_DIR) -name '*.d' 2>/dev/null)
