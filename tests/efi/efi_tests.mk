# tests/efi/efi_tests.mk - EFI programs of the UEFI tests (not the app):
#   $(BUILD)/tests/efi/ARCH/marker.efi   tests/efi/marker.c: the program on
#   the golden disk's ESP that tests/efi/deploy.sh deploys and boots alone
#   (prints a marker line, powers off).  Built with vhdx.efi's flags,
#   linker scripts and checks (efi/efi.mk); included by the Makefile after
#   efi/efi.mk, whose variables it uses.

.PHONY: efi-markers
efi-markers: $(foreach a,$(EFI_ARCHES),$(BUILD)/tests/efi/$(a)/marker.efi)

define EFI_MARKER_RULES
$(BUILD)/tests/efi/$(1)/marker.o: tests/efi/marker.c tests/efi/efi_tests.mk efi/efi.mk \
		$$(EFI_GNUEFI_DEPS_$(1))
	@mkdir -p $$(dir $$@)
	$$(EFI_CC_$(1)) -std=gnu11 $$(EFI_CFLAGS_COMMON) $$(EFI_CFLAGS_$(1)) \
		$$(call efi_inc,$(1)) $$(WARN) -c $$< -o $$@

$(BUILD)/tests/efi/$(1)/marker.so: $(BUILD)/tests/efi/$(1)/marker.o $$(EFI_GNUEFI_DEPS_$(1)) \
		linker/$(1).lds linker/check-so.sh
	$$(EFI_LD_$(1)) -nostdlib -shared -Bsymbolic --no-undefined --fatal-warnings $$(EFI_LDFLAGS_$(1)) \
		-T linker/$(1).lds $$(GNUEFI_$(1))/lib/crt0-efi-$(1).o $$< \
		-L $$(GNUEFI_$(1))/lib -lefi -lgnuefi -o $$@.tmp
	sh linker/check-so.sh $$@.tmp $(1)
	mv $$@.tmp $$@

$(BUILD)/tests/efi/$(1)/marker.efi: $(BUILD)/tests/efi/$(1)/marker.so linker/$(1).sections linker/check-pe.sh
	$$(EFI_OBJCOPY_$(1)) $$(call efi_sections,$(1)) $$(EFI_OBJCOPY_FLAGS_$(1)) $$< $$@.tmp
	sh linker/check-pe.sh $$(EFI_OBJDUMP_$(1)) $$@.tmp
	mv $$@.tmp $$@
endef
$(foreach a,$(EFI_ARCHES),$(eval $(call EFI_MARKER_RULES,$(a))))

# the suites that boot the marker build it first
check-efi demo: efi-markers

# issue 14's bench (not part of `make check` or `make bench`: it boots OVMF
# for a few minutes): vhdx.efi deploy against the raw WriteBlocks loop,
# and --sparse; BENCHMARKS.md "UEFI deploy"
.PHONY: bench-efi-deploy
bench-efi-deploy: host efi
	BUILD=$(BUILD) bash tests/efi/bench.sh deploy $(BENCH_EFI_ROUNDS)

# issue 20's bench (not part of `make check`: one boot of a few minutes):
# vhdx.efi deploying a URL against the UEFI shell's `http` command
# downloading the same file, and a sparse image; BENCHMARKS.md "UEFI
# network deploy"
.PHONY: bench-efi-net
bench-efi-net: host efi
	BUILD=$(BUILD) bash tests/efi/netbench.sh
