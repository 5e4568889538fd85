# bench/bench.mk - benchmarks (not part of `make check`): BENCHMARKS.md.
#   make bench        the create table against qemu-img, zeroing against dd,
#                     the core's instruction counts (callgrind)
#   make size         sizes of vhdx.efi and of the core's code and data
# BENCH_DIR: where images are created (default build/bench, on the
# repository's filesystem); BENCH_RUNS: runs per tool and row.

BENCH_DIR  ?= $(BUILD)/bench
BENCH_RUNS ?= 5

$(BUILD)/bench/spawn: bench/spawn.c
	@mkdir -p $(dir $@)
	$(HOST_CC) -std=gnu11 -static $(WARN) -O2 -o $@ $<

.PHONY: bench-create
bench-create: host $(BUILD)/bench/spawn
	python3 bench/create.py --runs $(BENCH_RUNS) --dir $(BENCH_DIR) \
		--vhdx $(BUILD)/host/vhdx --spawn $(BUILD)/bench/spawn \
		--json $(BUILD)/bench/create.json

bench: bench-create

$(BUILD)/bench/core_cost: bench/core_cost.c $(BUILD)/host/libvhdx.a $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) -std=gnu11 -Icore $(WARN) $(OPT) -o $@ $< $(BUILD)/host/libvhdx.a

# The 64 TiB fixed plan with 1 MiB blocks; ~2 minutes under callgrind.
.PHONY: bench-core
bench-core: $(BUILD)/bench/core_cost
	bash bench/core_cost.sh $(BUILD)/bench/core_cost -t fixed -s 65536 -b 1

bench: bench-core
