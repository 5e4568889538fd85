/* SPDX-License-Identifier: MIT */
/* test_text.c - the bounded text builder both frontends print with (vhdx.h):
 * each formatter's output, and cutting at every buffer length. */
#include <stdio.h>

#include "test_util.h"
#include "vhdx.h"

typedef void (*format_fn)(struct vhdx_text *t, uint64_t v);

static void expect_text(format_fn fn, uint64_t v, const char *want)
{
	char buf[64];
	struct vhdx_text t;

	vhdx_text_init(&t, buf, sizeof(buf));
	fn(&t, v);
	assert_string_equal(buf, want);
	assert_int_equal(t.pos, strlen(want));
	assert_false(vhdx_text_full(&t));
}

static void test_formats(void **state)
{
	(void)state;
	expect_text(vhdx_text_u64, 0, "0");
	expect_text(vhdx_text_u64, UINT64_MAX, "18446744073709551615");
	expect_text(vhdx_text_hex, 0, "0x0");
	expect_text(vhdx_text_hex, 0x1f, "0x1f");
	expect_text(vhdx_text_hex, UINT64_MAX, "0xffffffffffffffff");
	expect_text(vhdx_text_size, 0, "0 bytes");
	expect_text(vhdx_text_size, 1, "1 byte");
	expect_text(vhdx_text_size, 513, "513 bytes");
	expect_text(vhdx_text_size, 4096, "4 KiB");
	expect_text(vhdx_text_size, 3ull << 20, "3 MiB");
	expect_text(vhdx_text_size, (1ull << 30) + (1ull << 20), "1025 MiB");
	expect_text(vhdx_text_size, 64ull << 40, "64 TiB");
	expect_text(vhdx_text_size_arg, 0, "0");
	expect_text(vhdx_text_size_arg, 512, "512");
	expect_text(vhdx_text_size_arg, 4096, "4K");
	expect_text(vhdx_text_size_arg, 252ull << 20, "252M");
	expect_text(vhdx_text_size_arg, 64ull << 30, "64G");
	expect_text(vhdx_text_size_arg, 64ull << 40, "64T");
	expect_text(vhdx_text_size_arg, (1ull << 40) + 512, "1099511628288");
}

/* Every length from 0 to past the text: the longest prefix that fits,
 * NUL-terminated, nothing written past len, full() once it is cut. */
static void test_cut_at_every_length(void **state)
{
	static const char whole[] = "abc 0x2a 64 GiB";
	char buf[sizeof(whole) + 8];
	size_t len, want;

	(void)state;
	for (len = 0; len <= sizeof(whole) + 1; len++) {
		struct vhdx_text t;

		memset(buf, 0x55, sizeof(buf));
		vhdx_text_init(&t, len ? buf : NULL, len);
		vhdx_text_str(&t, "abc ");
		vhdx_text_hex(&t, 42);
		vhdx_text_str(&t, " ");
		vhdx_text_size(&t, 64ull << 30);
		want = len ? (len - 1 < strlen(whole) ? len - 1 : strlen(whole)) : 0;
		assert_int_equal(t.pos, want);
		if (len) {
			assert_memory_equal(buf, whole, want);
			assert_int_equal(buf[want], '\0');
		}
		for (size_t i = len; i < sizeof(buf); i++)
			assert_int_equal((unsigned char)buf[i], 0x55);
		assert_int_equal(vhdx_text_full(&t), len <= strlen(whole) + 1); /* a full buffer may hide a cut */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_cut_at_every_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
