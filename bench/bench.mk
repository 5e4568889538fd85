# bench/bench.mk - benchmarks (not part of `make check`): BENCHMARKS.md.
#   make bench        all below but size, also saved in build/bench/results.md
#   make bench-create vhdx create against qemu-img create, side by side
#   make bench-zero   zeroing a fixed payload against dd on the same target
#                     (old files; loop devices and a mount when root)
#   make bench-core   the core's instructions per BAT entry (callgrind)
#   make bench-convert vhdx convert/compare against qemu-img and cp (images
#                     with data, 4 GiB and 64 TiB virtual; ~1.5 GiB in BENCH_DIR)
#   make bench-longlog convert/compare through dirty logs of 1, 16, 64 MiB
#                     against the same image after replay (~200 MiB in BENCH_DIR)
#   make bench-http   vhdx convert URL against curl -o + vhdx convert, HTTP and
#                     HTTPS from nginx on 127.0.0.1, full and sparse images
#   make bench-mapper source reads of a convert (preads per MiB, re-reads) and
#                     wall time on a 1 MiB-block image and a three-level chain,
#                     qemu-img beside; BENCH_BEFORE=PATH adds an older vhdx's rows
#   make bench-bmap   vhdx convert against convert --bmap (libcrypto's and the
#                     core's SHA-256) and qemu-img convert, a fully allocated
#                     4 GiB image (~8 GiB in BENCH_DIR; BENCH_BMAP_RUNS runs)
#   make size         sizes of vhdx.efi and of the core's code and data
# BENCH_DIR: where images are created (default build/bench, on the
# repository's filesystem); BENCH_RUNS: runs per tool and row.

BENCH_DIR       ?= $(BUILD)/bench
BENCH_RUNS      ?= 5
BENCH_ZERO_MIB  ?= 2048
BENCH_ZERO_RUNS ?= 3
# seconds qemu-img may take to convert the nearly empty 64 TiB image
BENCH_BIG_TIMEOUT ?= 60

BENCH_BMAP_RUNS ?= 3

.PHONY: bench-bmap

bench-bmap: host
	@bash bench/bmap.sh $(BUILD)/host/vhdx $(BENCH_DIR) 4 $(BENCH_BMAP_RUNS)

.PHONY: bench-create bench-zero bench-core bench-convert bench-longlog bench-http bench-mapper

$(BUILD)/bench/spawn: bench/spawn.c
	@mkdir -p $(dir $@)
	$(HOST_CC) -std=gnu11 -static $(WARN) -O2 -o $@ $<

$(BUILD)/bench/core_cost: bench/core_cost.c $(BUILD)/host/libvhdx.a $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) -std=gnu11 -Icore $(WARN) $(OPT) -o $@ $< $(BUILD)/host/libvhdx.a

bench-create: host $(BUILD)/bench/spawn
	@python3 bench/create.py --runs $(BENCH_RUNS) --dir $(BENCH_DIR) \
		--vhdx $(BUILD)/host/vhdx --spawn $(BUILD)/bench/spawn \
		--json $(BUILD)/bench/create.json

bench-zero: host
	@bash bench/zero.sh $(BUILD)/host/vhdx $(BENCH_DIR) $(BENCH_ZERO_MIB) $(BENCH_ZERO_RUNS)

# The 64 TiB fixed plan with 1 MiB blocks; ~2 minutes under callgrind.
bench-core: $(BUILD)/bench/core_cost
	@bash bench/core_cost.sh $(BUILD)/bench/core_cost -t fixed -s 65536 -b 1

bench-convert: host $(BUILD)/bench/spawn
	@python3 bench/convert.py --runs $(BENCH_RUNS) --dir $(BENCH_DIR) \
		--vhdx $(BUILD)/host/vhdx --spawn $(BUILD)/bench/spawn \
		--big-timeout $(BENCH_BIG_TIMEOUT)

bench-longlog: host $(BUILD)/bench/spawn
	@python3 bench/longlog.py --runs $(BENCH_RUNS) --dir $(BENCH_DIR) \
		--vhdx $(BUILD)/host/vhdx --spawn $(BUILD)/bench/spawn

bench-http: host
	@bash bench/http.sh $(BENCH_RUNS)

bench-mapper: host $(BUILD)/bench/spawn
	@python3 bench/mapper.py --runs $(BENCH_RUNS) --dir $(BENCH_DIR) \
		--vhdx $(BUILD)/host/vhdx --spawn $(BUILD)/bench/spawn \
		$(if $(BENCH_BEFORE),--before $(BENCH_BEFORE))

bench: SHELL := /bin/bash
bench: host $(BUILD)/bench/spawn $(BUILD)/bench/core_cost
	@set -o pipefail; { \
		echo "# make bench, $$(date -u '+%Y-%m-%d %H:%M UTC'), $$(nproc) CPUs, load $$(cut -d' ' -f1-3 /proc/loadavg)"; \
		echo; $(MAKE) -s --no-print-directory bench-create; \
		echo; $(MAKE) -s --no-print-directory bench-zero; \
		echo; $(MAKE) -s --no-print-directory bench-core; \
		echo; $(MAKE) -s --no-print-directory bench-convert; \
		echo; $(MAKE) -s --no-print-directory bench-longlog; \
		echo; $(MAKE) -s --no-print-directory bench-http; \
		echo; $(MAKE) -s --no-print-directory bench-mapper; \
	} | tee $(BUILD)/bench/results.md

size: host
	@bash bench/size.sh $(BUILD)
