#!/usr/bin/env bash
# test_install.sh - `make install` gives a user of the library everything:
# every public header and libvhdx.a, into DESTDIR.  A small program written
# against the installed headers only (no -I into the source tree) plans and
# writes an image into memory, decodes it, walks its chain of one and reads
# its virtual disk; it must compile without warnings and run.
source "$(dirname "$0")/lib.sh"

root=$T/root
if make -s install PREFIX=/usr DESTDIR="$root" BUILD="$BUILD" >"$T/install.log" 2>&1; then
	ok "make install into DESTDIR"
else
	bad "make install: $(tail -3 "$T/install.log")"
	finish
	exit 1
fi
for h in vhdx.h vhdx_env.h vhdx_base.h vhdx_text.h vhdx_create.h vhdx_read.h vhdx_parent.h vhdx_data.h \
	vhdx_format.h vhdx_cli.h vhdx_describe.h vhdx_identify.h; do
	[ -f "$root/usr/include/vhdx/$h" ] && ok || bad "$h not installed"
done
# every header that is installed includes only installed headers
for h in "$root"/usr/include/vhdx/*.h; do
	for inc in $(sed -n 's/^#include "\(.*\)"/\1/p' "$h"); do
		[ -f "$root/usr/include/vhdx/$inc" ] && ok || bad "${h##*/} includes $inc, which is not installed"
	done
done
cat >"$T/user.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vhdx/vhdx.h>

static uint8_t image[8u << 20];

static int mwrite(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	(void)s;
	memcpy(image + off, buf, len);
	return VHDX_OK;
}

static int mread(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	(void)s;
	memcpy(buf, image + off, len);
	return VHDX_OK;
}

static enum vhdx_parent_open none(void *ctx, const char *child, const char *key, const char *path,
				  enum vhdx_path_kind kind, struct vhdx_source *src, char *name,
				  size_t name_len, char *why, size_t why_len)
{
	(void)ctx; (void)child; (void)key; (void)path; (void)kind; (void)src; (void)name;
	(void)name_len; (void)why; (void)why_len;
	return VHDX_PARENT_ABSENT;
}

int main(void)
{
	static uint8_t scratch[1 << 20], buf[4096];
	static struct vhdx_chain_level levels[1];
	struct vhdx_params p = { .type = VHDX_TYPE_FIXED, .virtual_size = 2u << 20, .block_size = 1u << 20 };
	struct vhdx_parent_ops ops = { .open = none };
	struct vhdx_sink sink = { .write = mwrite, .block_size = 512 };
	struct vhdx_source src = { .read = mread };
	struct vhdx_chain chain;
	struct vhdx_plan plan;
	char why[VHDX_WHY_SIZE];

	p.data_write_guid.bytes[0] = 1;
	if (vhdx_plan_init(&plan, &p, why, sizeof(why)) || vhdx_image_write(&plan, &sink, scratch, sizeof(scratch)))
		return 1;
	src.size = plan.file_size;
	if (vhdx_chain_open(&chain, levels, 1, &src, "mem", &ops, scratch, sizeof(scratch), why, sizeof(why)) ||
	    chain.verdict != VHDX_CHAIN_COMPLETE || levels[0].disk.geom.payload_blocks != 2)
		return 2;
	if (vhdx_read_at(&chain, 1000, buf, sizeof(buf), scratch, sizeof(scratch)) || !vhdx_is_zero(buf, sizeof(buf)))
		return 3;
	printf("%s ok\n", vhdx_strerror(VHDX_OK));
	return 0;
}
C
if ${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$root/usr/include" -o "$T/user" "$T/user.c" \
	"$root/usr/lib/libvhdx.a" 2>"$T/cc.log"; then
	ok "a program against the installed headers and library compiles without warnings"
	if out=$("$T/user") && [ "$out" = "OK ok" ]; then ok "it plans, writes, opens and reads an image"; else
		bad "the installed library's program: exit $? '$out'"; fi
else
	bad "compiling against the installed headers: $(head -5 "$T/cc.log")"
fi
finish
