# Install area: `make install PREFIX=...` / `make uninstall PREFIX=...`
# (DESTDIR honoured), `make man` (man pages and shell completions generated
# from the binary's own --help by scripts/gen-docs.sh, so they cannot drift).
#
#   PREFIX/bin/torn                             the front (torn check, harness/cli/front.c)
#   PREFIX/libexec/torn/bin/torn-engine         every other command; the front runs it
#   PREFIX/share/torn/scenarios/*.json          scenario specs
#   PREFIX/share/man/man1/torn.1, torn-CMD.1    one page per command
#   PREFIX/share/bash-completion/completions/torn
#   PREFIX/share/zsh/site-functions/_torn
#   PREFIX/share/fish/vendor_completions.d/torn.fish
#   PREFIX/share/doc/torn/                      README.md, docs/, examples/
#   PREFIX/libexec/torn/                        torn fuzz's kit, when AFL++ is here:
#       fuzz/ (harness sources, corpus/, dict/), build-fuzz/afl/fuzz-*,
#       build/fuzz/replay-*: the layout of a clone, so the installed torn
#       fuzz (the engine in bin/) finds it two levels above its binary as
#       it finds a clone's

# Debug information names sources relative to the tree, not by this
# checkout's absolute path (an installed binary must not carry it).
CFLAGS += -ffile-prefix-map=$(CURDIR)=.

GEN := $(BUILD)/gen
INST := $(DESTDIR)$(PREFIX)
MAN1 := $(INST)/share/man/man1
BASHC := $(INST)/share/bash-completion/completions
ZSHC := $(INST)/share/zsh/site-functions
FISHC := $(INST)/share/fish/vendor_completions.d
DOCDIR := $(INST)/share/doc/torn
FUZZKIT := $(INST)/libexec/torn

.PHONY: man install uninstall
man: $(GEN)/.stamp

$(GEN)/.stamp: $(BUILD)/torn $(BUILD)/torn-engine scripts/gen-docs.sh
	@$(if $(Q),echo "  GEN $(GEN)/man $(GEN)/completions")
	$(Q)rm -rf $(GEN) && scripts/gen-docs.sh $(BUILD)/torn $(GEN) && touch $@

# A binary built before -ffile-prefix-map (stale objects) still names this
# directory: it is installed stripped instead.
install: torn man
	install -d $(INST)/bin $(FUZZKIT)/bin $(INST)/share/torn/scenarios $(MAN1) $(BASHC) $(ZSHC) \
	    $(FISHC) $(DOCDIR)/docs/img
	for b in torn:$(INST)/bin/torn torn-engine:$(FUZZKIT)/bin/torn-engine; do \
	    src=$(BUILD)/$${b%%:*} dst=$${b#*:}; \
	    if grep -qF '$(CURDIR)' $$src; then install -s -m 755 $$src $$dst; \
	    else install -m 755 $$src $$dst; fi || exit 1; done
	install -m 644 scenarios/*.json $(INST)/share/torn/scenarios/
	install -m 644 $(GEN)/man/*.1 $(MAN1)/
	install -m 644 $(GEN)/completions/torn.bash $(BASHC)/torn
	install -m 644 $(GEN)/completions/_torn $(ZSHC)/_torn
	install -m 644 $(GEN)/completions/torn.fish $(FISHC)/torn.fish
	install -m 644 README.md $(DOCDIR)/
	install -m 644 docs/*.md $(DOCDIR)/docs/
	install -m 644 docs/img/* $(DOCDIR)/docs/img/
	find examples -type f | while read -r f; do \
	    install -D -m 644 "$$f" "$(DOCDIR)/$$f" || exit 1; done
	@$(MAKE) --no-print-directory install-fuzz

# torn fuzz's kit: the AFL++ builds of the harnesses (built here if need be)
# with their corpora, dictionaries and replay binaries.  Without AFL++ the
# install goes on without it and says so (torn fuzz then runs from a clone).
.PHONY: install-fuzz
install-fuzz:
	@if [ -z "$(AFL_FOUND)" ]; then \
	    echo "install: $(AFL_CC) not found: torn fuzz not installed (it runs from a clone)"; \
	elif ! $(MAKE) --no-print-directory fuzz-afl fuzz-replay; then \
	    echo "install: the AFL++ build failed: torn fuzz not installed"; \
	else \
	    install -d $(FUZZKIT)/fuzz/dict $(FUZZKIT)/build-fuzz/afl $(FUZZKIT)/build/fuzz && \
	    install -m 644 fuzz/*.c fuzz/*.h $(FUZZKIT)/fuzz/ && \
	    install -m 644 fuzz/dict/* $(FUZZKIT)/fuzz/dict/ && \
	    cp -R fuzz/corpus $(FUZZKIT)/fuzz/ && \
	    install -m 755 $(FUZZ_AFL_BIN) $(FUZZ_DIR)/afl/fuzz-plan $(FUZZKIT)/build-fuzz/afl/ && \
	    install -m 755 $(FUZZ_REPLAY_BIN) $(FUZZKIT)/build/fuzz/ || exit 1; \
	fi

# Removes what install put there, then the directories below PREFIX it
# leaves empty (never PREFIX itself or anything above it).
uninstall:
	rm -f $(INST)/bin/torn $(MAN1)/torn.1 $(MAN1)/torn-*.1 $(BASHC)/torn $(ZSHC)/_torn \
	    $(FISHC)/torn.fish
	rm -rf $(INST)/share/torn $(DOCDIR) $(FUZZKIT)
	for d in $(MAN1) $(BASHC) $(ZSHC) $(FISHC) $(INST)/share/doc $(INST)/bin $(INST)/libexec; do \
	    while [ "$$d" != '$(INST)' ] && [ "$$d" != / ] && rmdir "$$d" 2>/dev/null; do \
	        d=$$(dirname "$$d"); done; done; true
