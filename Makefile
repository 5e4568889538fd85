# vhdx - one entry point: all, host, efi, check, demo, bench, install, clean.
# Each part adds its own rules in its folder's .mk; CHECK_TARGETS collects
# what `make check` runs, in order.

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
HOST_CC ?= $(CC)

WARN := -Wall -Wextra -Werror -Wshadow -Wcast-qual -Wmissing-prototypes \
        -Wstrict-prototypes -Wwrite-strings -Wpointer-arith -Wvla -Wundef
OPT  ?= -O2 -g

CHECK_TARGETS :=

.PHONY: all host efi check demo bench install clean size fuzz deps
all: host efi

# Installs the Debian packages the build and the tests need (only the
# missing ones): `make deps check`, `make deps demo` on a fresh machine.
deps:
	@bash scripts/install-deps.sh

include core/core.mk
include app/app.mk
include platform/platform.mk
include tests/tests.mk
include efi/efi.mk
include fuzz/fuzz.mk
include bench/bench.mk
include tests/efi/efi_tests.mk
include man/man.mk
include debian/deb.mk

check: $(CHECK_TARGETS)
	@echo "make check: all suites passed"

install: host
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/host/vhdx $(DESTDIR)$(PREFIX)/bin/vhdx
	install -d $(DESTDIR)$(PREFIX)/include/vhdx
	install -m 0644 $(CORE_PUBLIC_HDRS) $(APP_PUBLIC_HDRS) $(DESTDIR)$(PREFIX)/include/vhdx/
	install -d $(DESTDIR)$(PREFIX)/lib
	install -m 0644 $(BUILD)/host/libvhdx.a $(DESTDIR)$(PREFIX)/lib/libvhdx.a

clean:
	rm -rf $(BUILD)
