# tests/tests.mk - unit tests (cmocka, ASan + UBSan), freestanding proof,
# host integration tests.  Every tests/unit/test_*.c is one binary linked
# with the core, app/ and tests/unit/support/*.c.

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_SUPPORT_SRCS := $(sort $(wildcard tests/unit/support/*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
SAN_CORE_OBJS := $(patsubst core/%.c,$(BUILD)/san/core/%.o,$(CORE_SRCS))
SAN_APP_OBJS := $(patsubst app/%.c,$(BUILD)/san/app/%.o,$(APP_SRCS))
UNIT_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Icore -Iapp -Itests/unit/support -DVHDX_ASSERT=assert \
	-include assert.h $(SAN_FLAGS)

$(BUILD)/san/core/%.o: core/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(CORE_FREESTANDING_FLAGS) $(WARN) -O1 -g $(SAN_FLAGS) -c $< -o $@

$(BUILD)/san/app/%.o: app/%.c $(APP_HDRS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(CORE_FREESTANDING_FLAGS) $(APP_CFLAGS) $(WARN) -O1 -g $(SAN_FLAGS) -c $< -o $@

$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_SUPPORT_SRCS) $(SAN_CORE_OBJS) $(SAN_APP_OBJS) $(CORE_HDRS) $(APP_HDRS) \
		$(wildcard tests/unit/support/*.h)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(UNIT_CFLAGS) $(WARN) -O1 -g -o $@ $< $(UNIT_EXTRA) $(UNIT_SUPPORT_SRCS) $(SAN_CORE_OBJS) $(SAN_APP_OBJS) -lcmocka

# the host's writer thread (platform/write_ring.c), the one platform file tested here
$(BUILD)/tests/unit/test_write_ring: platform/write_ring.c platform/write_ring.h
$(BUILD)/tests/unit/test_write_ring: UNIT_EXTRA = -Iplatform -pthread platform/write_ring.c

.PHONY: check-unit check-freestanding check-layering check-duplicates check-host unit
unit: $(UNIT_BINS)

check-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

check-freestanding:
	bash tests/freestanding.sh

# no call circle between the files of a folder, read from the objects of
# both builds: core/ and platform/ from the host's, efi/ from the x86_64 app's
check-layering: host efi-x86_64
	BUILD=$(BUILD) bash tests/layering.sh

# no block of six lines written twice in core/, app/, efi/, platform/
check-duplicates:
	BUILD=$(BUILD) bash tests/duplicates.sh

check-host: host
	bash tests/host/run.sh

CHECK_TARGETS += check-unit check-freestanding check-layering check-duplicates check-host

# the sanitized core and app objects are prerequisites of pattern rules only: keep
# make from deleting them as intermediates after each test binary
.SECONDARY: $(SAN_CORE_OBJS) $(SAN_APP_OBJS)
