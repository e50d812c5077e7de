# fuzz.mk -- the libFuzzer targets of fuzz/ (what each checks: the comment
# at the top of fuzz/fuzz_decode.c and fuzz/fuzz_key.c). Paste into the
# Makefile, or `include fuzz/fuzz.mk` there below the default target (a rule
# here would otherwise become the default goal). Needs clang and libFuzzer's
# runtime (Debian 12: clang-14 and libclang-rt-14-dev; the latter is only
# recommended by libclang-common-14-dev, so --no-install-recommends leaves
# it out).
#   make fuzz                   each target for FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_SECONDS=600
# The targets run on copies of fuzz/corpus/<t> in build/fuzz/corpus-<t>
# (the repo's seeds stay as they are; new inputs accumulate in build/),
# after replaying fuzz/regressions/<t>/ when it has files. A crash, a
# leak, a sanitizer report or a failed check stops make with an error and
# leaves the input in build/fuzz/crash-*.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR      = build/fuzz
FUZZ_CFLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Ic $(SNAPPY_CFLAGS)
FUZZ_RUN      = -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
                -artifact_prefix=$(FUZZ_DIR)/

$(FUZZ_DIR)/fuzz_decode: fuzz/fuzz_decode.c c/okof_frame.c c/okof_crc32c.c \
                         c/okof_frame.h c/okof_crc32c.h c/okof_crc32c_table.h c/okof.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) fuzz/fuzz_decode.c c/okof_frame.c c/okof_crc32c.c \
	    $(SNAPPY_LIBS) -o $@

$(FUZZ_DIR)/fuzz_key: fuzz/fuzz_key.c c/okof_key.c c/okof_key.h c/okof.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) fuzz/fuzz_key.c c/okof_key.c -o $@

fuzz: $(FUZZ_DIR)/fuzz_decode $(FUZZ_DIR)/fuzz_key $(FUZZ_DIR)/fuzz_codec
	@set -e; for t in decode key codec; do \
	    if [ -n "$$(ls fuzz/regressions/$$t 2>/dev/null)" ]; then \
	        $(FUZZ_DIR)/fuzz_$$t -artifact_prefix=$(FUZZ_DIR)/ fuzz/regressions/$$t/*; \
	    fi; \
	    mkdir -p $(FUZZ_DIR)/corpus-$$t; \
	    cp fuzz/corpus/$$t/* $(FUZZ_DIR)/corpus-$$t/; \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	    $(FUZZ_DIR)/fuzz_$$t $(FUZZ_RUN) $(FUZZ_DIR)/corpus-$$t >$(FUZZ_DIR)/fuzz_$$t.log 2>&1 || { tail -n 60 $(FUZZ_DIR)/fuzz_$$t.log; exit 1; }; tail -n 8 $(FUZZ_DIR)/fuzz_$$t.log; \
	done

.PHONY: fuzz

# okofdb.codec.lua's decoder, linked with Lua 5.4.
CODEC_LUA_CFLAGS = $(shell $(PKG_CONFIG) --cflags lua5.4)
CODEC_LUA_LIBS   = $(shell $(PKG_CONFIG) --libs lua5.4)

$(FUZZ_DIR)/fuzz_codec: fuzz/fuzz_codec.c c/lua_codec.c c/lua_codec.h c/compat.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(CODEC_LUA_CFLAGS) fuzz/fuzz_codec.c c/lua_codec.c \
	    $(CODEC_LUA_LIBS) -lm -o $@
