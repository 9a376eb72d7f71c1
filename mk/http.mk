# HTTP area (issue 4): the reference research service, a standalone program
# torn's HTTP target and tests drive (examples/research-service/).
RS_SRC := $(wildcard examples/research-service/*.c)
RS_BIN := $(BUILD)/research-service

$(RS_BIN): $(RS_SRC) examples/research-service/svc.h | need-pkgs
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $(RS_SRC) $(PKG_LIBS) -lwslay -lpthread

.PHONY: research-service
research-service: $(RS_BIN)

# `make` builds the demo service too (README, docs/http-target.md).
all: $(RS_BIN)

TEST_DEPS += $(RS_BIN)
VERIFY_DEPS += $(RS_BIN)
BENCH_DEPS += $(RS_BIN)
