# debian/deb.mk - the Debian package.
#
#   make deb        $(BUILD)/deb/vhdx_VERSION_ARCH.deb, built by
#                   dpkg-buildpackage -us -uc -b in a copy of the tree under
#                   $(BUILD)/deb (the worktree stays clean; every output
#                   lands in $(BUILD)/deb)
#   make check-deb  the package: lintian, its files (dpkg -x into a scratch
#                   root), the installed vhdx on a sample image, the installed
#                   manual page and completion, the installed x86_64 vhdx.efi
#                   booted once under OVMF (tests/deb/check.sh)

DEB_VERSION := $(shell dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB_DIR     := $(BUILD)/deb
DEB_FILE    := $(DEB_DIR)/vhdx_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_CHANGES := $(DEB_DIR)/vhdx_$(DEB_VERSION)_$(DEB_ARCH).changes
DEB_GNUEFI_ARM64 := $(BUILD)/gnu-efi-arm64

.PHONY: deb check-deb
# The AArch64 gnu-efi is unpacked here first (efi/fetch-gnu-efi-arm64.sh),
# so the package build itself downloads nothing.  The copy: the files git
# knows or would add (tracked, and untracked but not ignored); outside a git
# checkout, everything but the build folders.
deb: $(DEB_GNUEFI_ARM64)/usr/lib/crt0-efi-aarch64.o
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/vhdx-$(DEB_VERSION)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf -; \
	else \
		tar --exclude=./build --exclude='./build-*' --exclude=./.git -cf - .; \
	fi | tar -xf - -C $(DEB_DIR)/vhdx-$(DEB_VERSION)
	cd $(DEB_DIR)/vhdx-$(DEB_VERSION) && \
		GNUEFI_aarch64=$(abspath $(DEB_GNUEFI_ARM64))/usr dpkg-buildpackage -us -uc -b -Jauto \
		>$(abspath $(DEB_DIR))/build.log 2>&1 || { tail -n 30 $(abspath $(DEB_DIR))/build.log; exit 1; }
	rm -rf $(DEB_DIR)/vhdx-$(DEB_VERSION)
	@ls -l $(DEB_FILE)

check-deb: deb
	BUILD=$(BUILD) DEB=$(DEB_FILE) CHANGES=$(DEB_CHANGES) bash tests/deb/check.sh

CHECK_TARGETS += check-deb
