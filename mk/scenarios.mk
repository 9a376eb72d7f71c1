# Scenarios: each scenario's parameters and defaults have ONE source, the
# user-facing scenarios/<name>.json.  The build compiles their "params" into
# libtorn (torn_defaults_<name>, the scenario ops' .defaults) with a small
# host tool, so the C code holds no second copy that could drift: a JSON
# edit rebuilds torn, a scenario without its file does not link, and
# parse_test checks the compiled-in defaults against the files.
SCENARIO_JSON := $(sort $(wildcard scenarios/*.json))
SCENARIO_GEN := $(BUILD)/tools/scenario_defaults
# The generated source is in the Makefile's GEN_SRC, so every libtorn
# (the fuzz builds' too) holds it.
SCENARIO_DEFAULTS_C := $(BUILD)/gen/scenario_defaults.c

$(SCENARIO_GEN): mk/scenario_defaults.c | need-pkgs
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) $(CSTD) $(WARN) -O1 $(PKG_CFLAGS) -o $@ $< $(PKG_LIBS)

$(SCENARIO_DEFAULTS_C): $(SCENARIO_GEN) $(SCENARIO_JSON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN $@")
	$(Q)$(SCENARIO_GEN) $(SCENARIO_JSON) >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }
