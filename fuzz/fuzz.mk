# fuzz/fuzz.mk - libFuzzer target over the reader/checker (clang, ASan, UBSan).
#   make fuzz         run it for FUZZ_TIME seconds (default 600) on a copy of the corpus,
#                     then merge what grew (new coverage only) into tests/fuzz/corpus
#   make check-fuzz   a short, fixed budget (FUZZ_RUNS inputs, seed 1): part of make check
#   make fuzz-corpus  rebuild tests/fuzz/corpus from ../shared/samples and our own images
# The core is compiled again with VHDX_FUZZ_IGNORE_CRC: checksums are computed and
# reported but do not stop the parse, so mutated inputs reach every structure.

FUZZ_CC    ?= clang
FUZZ_TIME  ?= 600
FUZZ_RUNS  ?= 20000
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1
FUZZ_CORE_OBJS := $(patsubst core/%.c,$(BUILD)/fuzz/core/%.o,$(CORE_SRCS))
FUZZ_APP_OBJS := $(patsubst app/%.c,$(BUILD)/fuzz/app/%.o,$(APP_SRCS))
FUZZ_BIN   := $(BUILD)/fuzz/fuzz_read
FUZZ_BMAP_BIN := $(BUILD)/fuzz/fuzz_bmap
FUZZ_HTTP_BIN := $(BUILD)/fuzz/fuzz_http

# Byte loops (CRC, memory compare/zero, text) carry no interesting branches but
# dominate the time under coverage tracing: sanitizers only for them.
FUZZ_NOCOV := $(BUILD)/fuzz/core/vhdx_crc32c.o $(BUILD)/fuzz/core/vhdx_util.o

$(BUILD)/fuzz/core/%.o: core/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -ffreestanding -fno-builtin -DVHDX_FUZZ_IGNORE_CRC $(WARN) \
		$(if $(filter $@,$(FUZZ_NOCOV)),,-fsanitize=fuzzer-no-link) \
		-fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 -c $< -o $@

$(BUILD)/fuzz/app/%.o: app/%.c $(APP_HDRS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -ffreestanding -fno-builtin $(APP_CFLAGS) $(WARN) -fsanitize=fuzzer-no-link \
		-fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 -c $< -o $@

$(FUZZ_BIN): fuzz/fuzz_read.c $(FUZZ_CORE_OBJS) $(FUZZ_APP_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -Icore -Iapp $(WARN) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_CORE_OBJS) $(FUZZ_APP_OBJS)

# SHA-256 streaming against one shot, and the bmap parser (seeded with a
# bmap of a sample, tests/fuzz/bmap-corpus)
$(FUZZ_BMAP_BIN): fuzz/fuzz_bmap.c $(FUZZ_CORE_OBJS) $(FUZZ_APP_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -Icore -Iapp $(WARN) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_CORE_OBJS) $(FUZZ_APP_OBJS)

# the HTTP response parser vhdx.efi reads servers with (seeded with a
# status line, header values and a chunked body, tests/fuzz/http-corpus)
$(FUZZ_HTTP_BIN): fuzz/fuzz_http.c $(FUZZ_CORE_OBJS) $(FUZZ_APP_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -Icore -Iapp $(WARN) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_CORE_OBJS) $(FUZZ_APP_OBJS)

.PHONY: fuzz check-fuzz fuzz-corpus
fuzz: $(FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus
	cp -n tests/fuzz/corpus/* $(BUILD)/fuzz/corpus/ 2>/dev/null || true
	$(FUZZ_BIN) -max_len=262144 -timeout=10 -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus
	@# keep what the run grew: inputs with new coverage go back to tests/fuzz/corpus
	$(FUZZ_BIN) -merge=1 -max_len=262144 tests/fuzz/corpus $(BUILD)/fuzz/corpus

check-fuzz: $(FUZZ_BIN) $(FUZZ_BMAP_BIN) $(FUZZ_HTTP_BIN)
	@rm -rf $(BUILD)/fuzz/check-corpus && mkdir -p $(BUILD)/fuzz/check-corpus
	$(FUZZ_BIN) -seed=1 -runs=$(FUZZ_RUNS) -timeout=10 -max_len=262144 -max_total_time=60 \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/check-corpus tests/fuzz/corpus
	@rm -rf $(BUILD)/fuzz/check-bmap && mkdir -p $(BUILD)/fuzz/check-bmap
	$(FUZZ_BMAP_BIN) -seed=1 -runs=$(FUZZ_RUNS) -timeout=10 -max_len=16384 -max_total_time=30 \
		-artifact_prefix=$(BUILD)/fuzz/bmap- $(BUILD)/fuzz/check-bmap tests/fuzz/bmap-corpus
	@rm -rf $(BUILD)/fuzz/check-http && mkdir -p $(BUILD)/fuzz/check-http
	$(FUZZ_HTTP_BIN) -seed=1 -runs=$(FUZZ_RUNS) -timeout=10 -max_len=16384 -max_total_time=30 \
		-artifact_prefix=$(BUILD)/fuzz/http- $(BUILD)/fuzz/check-http tests/fuzz/http-corpus
	@echo "check-fuzz: no crash (budget: $(FUZZ_RUNS) inputs or 60 s)"

fuzz-corpus: host
	bash fuzz/mkcorpus.sh

CHECK_TARGETS += check-fuzz
