# app/app.mk - the application layer both frontends share: the command-line
# parser, the plan and image printers, what a target holds, the convert
# job, bmap manifests and SHA-256, URLs and HTTP answers.  Freestanding
# like the core (same flags, tests/freestanding.sh proves both); it calls
# the core, the core never calls it.

APP_SRCS := $(sort $(wildcard app/*.c))
APP_HDRS := $(wildcard app/*.h)
APP_PUBLIC_HDRS := app/vhdx_cli.h app/vhdx_describe.h app/vhdx_identify.h app/vhdx_print.h \
	app/vhdx_bmap.h app/vhdx_bmap_job.h app/vhdx_sha256.h app/vhdx_convert.h app/vhdx_url.h
APP_CFLAGS := -Icore -Iapp

HOST_APP_OBJS := $(patsubst app/%.c,$(BUILD)/host/app/%.o,$(APP_SRCS))

$(BUILD)/host/app/%.o: app/%.c $(APP_HDRS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(CORE_FREESTANDING_FLAGS) $(APP_CFLAGS) $(WARN) $(OPT) -c $< -o $@

# libvhdx.a: the core and the application layer
$(BUILD)/host/libvhdx.a: $(HOST_CORE_OBJS) $(HOST_APP_OBJS)
	rm -f $@
	ar rcs $@ $^
