# core/core.mk - the freestanding core: the VHDX format and nothing else,
# built for the host (libvhdx.a, with app/) and, by tests/freestanding.sh,
# for cross targets with the same flags.

CORE_SRCS := $(sort $(wildcard core/*.c))
CORE_HDRS := $(wildcard core/*.h)
# What a user of libvhdx.a includes from the core: vhdx.h and what it
# includes, and the on-disk constants (app/app.mk adds the application layer's).
CORE_PUBLIC_HDRS := core/vhdx.h core/vhdx_env.h core/vhdx_base.h core/vhdx_text.h \
	core/vhdx_create.h core/vhdx_read.h core/vhdx_disk.h core/vhdx_log.h core/vhdx_rules.h \
	core/vhdx_info.h core/vhdx_chain.h core/vhdx_parent.h core/vhdx_data.h core/vhdx_format.h

# No libc, no builtins turned back into calls, no loop->memset rewrites.
CORE_FREESTANDING_FLAGS := -std=c11 -ffreestanding -fno-builtin -nostdlib \
	-fno-tree-loop-distribute-patterns -fno-stack-protector

HOST_CORE_OBJS := $(patsubst core/%.c,$(BUILD)/host/core/%.o,$(CORE_SRCS))

$(BUILD)/host/core/%.o: core/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(CORE_FREESTANDING_FLAGS) $(WARN) $(OPT) -c $< -o $@
