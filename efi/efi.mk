# efi/efi.mk - the UEFI application vhdx.efi (x86_64 and AArch64, gnu-efi),
# its end-to-end tests under OVMF/AAVMF, and `make demo`.
#
#   make efi        build/efi/x86_64/vhdx.efi and build/efi/aarch64/vhdx.efi
#   make check-linker  the linker scripts' promises, checked and broken on purpose
#   make check-efi  boot QEMU (TCG) with the app, check the disks on the host
#                   (tests/efi/run.sh; then tests/efi/net.sh: deploys from URLs;
#                   tests/efi/bmap.sh: bmap, verify and convert --bmap against
#                   bmaptool and qemu-img, in one boot; tests/efi/bmapcut.sh:
#                   bmap cut by QEMU at each of its writes, then repaired)
#   make demo       build, boot OVMF, create an image, validate it, say what happened

EFI_ARCHES := x86_64 aarch64
EFI_SRCS := $(sort $(wildcard efi/*.c))
EFI_HDRS := $(wildcard efi/*.h)

# gnu-efi: x86_64 from the installed Debian package, aarch64 unpacked from
# the arm64 package by efi/fetch-gnu-efi-arm64.sh (the two cannot be
# co-installed).
GNUEFI_x86_64  ?= /usr
GNUEFI_aarch64 ?= $(BUILD)/gnu-efi-arm64/usr

EFI_CC_x86_64      ?= gcc
EFI_LD_x86_64      ?= ld
EFI_OBJCOPY_x86_64 ?= objcopy
EFI_CC_aarch64      ?= aarch64-linux-gnu-gcc
EFI_LD_aarch64      ?= aarch64-linux-gnu-ld
EFI_OBJCOPY_aarch64 ?= aarch64-linux-gnu-objcopy

EFI_CFLAGS_COMMON := -ffreestanding -fno-stack-protector -fno-stack-check -fpic \
	-fshort-wchar -fno-strict-aliasing -Os -g
EFI_CFLAGS_x86_64  := -mno-red-zone -maccumulate-outgoing-args -DGNU_EFI_USE_MS_ABI
EFI_CFLAGS_aarch64 := -mstrict-align
EFI_OBJDUMP_x86_64  ?= objdump
EFI_OBJDUMP_aarch64 ?= aarch64-linux-gnu-objdump
# Our own scripts (linker/README.md); gnu-efi gives only crt0 and the libs.
# EFI_SUBSYSTEM fills the Subsystem field of crt0-efi-aarch64.o's header.
EFI_LDFLAGS_x86_64  :=
EFI_LDFLAGS_aarch64 := --defsym=EFI_SUBSYSTEM=0xa
EFI_OBJCOPY_FLAGS_x86_64  := --target efi-app-x86_64 --subsystem=10
EFI_OBJCOPY_FLAGS_aarch64 := -O binary

# gnu-efi's headers are included as system headers: -Wstrict-prototypes
# and friends are for our code, not theirs.
efi_inc = -isystem $(GNUEFI_$(1))/include/efi -isystem $(GNUEFI_$(1))/include/efi/$(1) \
	-isystem $(GNUEFI_$(1))/include/efi/protocol
efi_sections = $(addprefix -j ,$(shell cat linker/$(1).sections))

.PHONY: efi efi-x86_64 efi-aarch64 check-linker check-efi demo
efi: efi-x86_64 efi-aarch64
efi-x86_64: $(BUILD)/efi/x86_64/vhdx.efi
efi-aarch64: $(BUILD)/efi/aarch64/vhdx.efi

$(BUILD)/gnu-efi-arm64/usr/lib/crt0-efi-aarch64.o:
	sh efi/fetch-gnu-efi-arm64.sh $(BUILD)/gnu-efi-arm64

define EFI_ARCH_RULES
EFI_CORE_OBJS_$(1) := $$(patsubst core/%.c,$(BUILD)/efi/$(1)/core/%.o,$$(CORE_SRCS))
EFI_APP_OBJS_$(1)  := $$(patsubst efi/%.c,$(BUILD)/efi/$(1)/efi/%.o,$$(EFI_SRCS))
EFI_SHARED_OBJS_$(1) := $$(patsubst app/%.c,$(BUILD)/efi/$(1)/app/%.o,$$(APP_SRCS))
EFI_GNUEFI_DEPS_$(1) := $$(GNUEFI_$(1))/lib/crt0-efi-$(1).o

# The core, unchanged: its own freestanding flags plus the ABI flags.
$(BUILD)/efi/$(1)/core/%.o: core/%.c $$(CORE_HDRS) efi/efi.mk
	@mkdir -p $$(dir $$@)
	$$(EFI_CC_$(1)) $$(CORE_FREESTANDING_FLAGS) $$(EFI_CFLAGS_COMMON) $$(EFI_CFLAGS_$(1)) \
		$$(WARN) -c $$< -o $$@

# The application layer both frontends share (app/), built like the core.
$(BUILD)/efi/$(1)/app/%.o: app/%.c $$(APP_HDRS) $$(CORE_HDRS) efi/efi.mk
	@mkdir -p $$(dir $$@)
	$$(EFI_CC_$(1)) $$(CORE_FREESTANDING_FLAGS) $$(APP_CFLAGS) $$(EFI_CFLAGS_COMMON) $$(EFI_CFLAGS_$(1)) \
		$$(WARN) -c $$< -o $$@

$(BUILD)/efi/$(1)/efi/%.o: efi/%.c $$(EFI_HDRS) $$(CORE_HDRS) $$(APP_HDRS) efi/efi.mk $$(EFI_GNUEFI_DEPS_$(1))
	@mkdir -p $$(dir $$@)
	$$(EFI_CC_$(1)) -std=gnu11 $$(EFI_CFLAGS_COMMON) $$(EFI_CFLAGS_$(1)) \
		$$(call efi_inc,$(1)) -Icore -Iapp -Iefi $$(WARN) -c $$< -o $$@

$(BUILD)/efi/$(1)/vhdx.so: $$(EFI_CORE_OBJS_$(1)) $$(EFI_SHARED_OBJS_$(1)) $$(EFI_APP_OBJS_$(1)) \
		$$(EFI_GNUEFI_DEPS_$(1)) \
		linker/$(1).lds linker/check-so.sh
	$$(EFI_LD_$(1)) -nostdlib -shared -Bsymbolic --no-undefined --fatal-warnings $$(EFI_LDFLAGS_$(1)) \
		-T linker/$(1).lds $$(GNUEFI_$(1))/lib/crt0-efi-$(1).o \
		$$(EFI_APP_OBJS_$(1)) $$(EFI_SHARED_OBJS_$(1)) $$(EFI_CORE_OBJS_$(1)) \
		-L $$(GNUEFI_$(1))/lib -lefi -lgnuefi -o $$@.tmp
	sh linker/check-so.sh $$@.tmp $(1)
	mv $$@.tmp $$@

$(BUILD)/efi/$(1)/vhdx.efi: $(BUILD)/efi/$(1)/vhdx.so linker/$(1).sections linker/check-pe.sh
	$$(EFI_OBJCOPY_$(1)) $$(call efi_sections,$(1)) $$(EFI_OBJCOPY_FLAGS_$(1)) $$< $$@.tmp
	sh linker/check-pe.sh $$(EFI_OBJDUMP_$(1)) $$@.tmp
	mv $$@.tmp $$@
	@echo "  $$@: $$$$(stat -c %s $$@) bytes"
endef
$(foreach a,$(EFI_ARCHES),$(eval $(call EFI_ARCH_RULES,$(a))))

# linker/check-so.sh and check-pe.sh pass the real images and fail broken ones
check-linker: efi
	BUILD=$(BUILD) bash tests/linker.sh

check-efi: host efi
	BUILD=$(BUILD) bash tests/efi/run.sh
	BUILD=$(BUILD) bash tests/efi/net.sh
	BUILD=$(BUILD) bash tests/efi/bmap.sh
	BUILD=$(BUILD) bash tests/efi/bmapcut.sh

demo: host efi
	BUILD=$(BUILD) bash tests/efi/demo.sh

CHECK_TARGETS += check-linker check-efi
