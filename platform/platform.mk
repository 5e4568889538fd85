# platform/platform.mk - the host command `vhdx`.

PLATFORM_SRCS := $(sort $(wildcard platform/*.c))
PLATFORM_HDRS := $(wildcard platform/*.h)
PLATFORM_OBJS := $(patsubst platform/%.c,$(BUILD)/host/platform/%.o,$(PLATFORM_SRCS))
PLATFORM_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Icore -Iapp -Iplatform
# a distribution's flags for the command (debian/rules: dpkg-buildflags'
# hardening); the core keeps its own freestanding flags
HOST_CFLAGS  ?=
HOST_LDFLAGS ?=
# URLs as sources (host_http.c): libcurl (Debian's libcurl4-openssl-dev)
CURL_CFLAGS := $(shell pkg-config --cflags libcurl)
CURL_LIBS   := $(shell pkg-config --libs libcurl)
PLATFORM_CFLAGS += $(CURL_CFLAGS)
# SHA-256 with the CPU's SHA instructions (host_sha256.c): libcrypto (libssl-dev)
CRYPTO_CFLAGS := $(shell pkg-config --cflags libcrypto)
CRYPTO_LIBS   := $(shell pkg-config --libs libcrypto)
PLATFORM_CFLAGS += $(CRYPTO_CFLAGS)
# the raw target's writer thread (write_ring.c)
PLATFORM_CFLAGS += -pthread

host: $(BUILD)/host/vhdx $(BUILD)/host/libvhdx.a

$(BUILD)/host/platform/%.o: platform/%.c $(PLATFORM_HDRS) $(CORE_HDRS) $(APP_HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(PLATFORM_CFLAGS) $(WARN) $(OPT) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/host/vhdx: $(PLATFORM_OBJS) $(BUILD)/host/libvhdx.a
	$(HOST_CC) $(OPT) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ $(PLATFORM_OBJS) $(BUILD)/host/libvhdx.a $(CURL_LIBS) $(CRYPTO_LIBS) -pthread
