/* SPDX-License-Identifier: MIT */
/* test_crc32c.c - CRC-32C known answers (RFC 3720 B.4) and chaining. */
#include "test_util.h"

static void test_check_value(void **state)
{
	(void)state;
	assert_int_equal(vhdx_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(vhdx_crc32c(0, "", 0), 0);
}

static void test_rfc3720_vectors(void **state)
{
	uint8_t buf[32];
	int i;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(vhdx_crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xFF, sizeof(buf));
	assert_int_equal(vhdx_crc32c(0, buf, 32), 0x62A8AB43u);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(vhdx_crc32c(0, buf, 32), 0x46DD794Eu);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(vhdx_crc32c(0, buf, 32), 0x113FDB5Cu);
}

static void test_chaining(void **state)
{
	uint8_t buf[1000];
	uint32_t whole;
	size_t split;

	(void)state;
	for (split = 0; split < sizeof(buf); split++)
		buf[split] = (uint8_t)(split % 251);
	whole = vhdx_crc32c(0, buf, sizeof(buf));
	assert_int_equal(whole, ref_crc32c(buf, sizeof(buf)));
	for (split = 0; split <= sizeof(buf); split += 37)
		assert_int_equal(vhdx_crc32c(vhdx_crc32c(0, buf, split), buf + split, sizeof(buf) - split),
				 whole);
}

static void test_zeros(void **state)
{
	static uint8_t zeros[65536];
	uint32_t head = vhdx_crc32c(0, "regi", 4);

	(void)state;
	assert_int_equal(vhdx_crc32c_zeros(0, sizeof(zeros)), vhdx_crc32c(0, zeros, sizeof(zeros)));
	assert_int_equal(vhdx_crc32c_zeros(head, 1000), vhdx_crc32c(head, zeros, 1000));
	assert_int_equal(vhdx_crc32c_zeros(head, 0), head);
}

/* every entry of the slicing tables, from the polynomial bit by bit */
static void test_tables(void **state)
{
#include "vhdx_crc32c_table.h"
	uint32_t n, k, bit;

	(void)state;
	for (n = 0; n < 256; n++) {
		uint32_t c = n;

		for (k = 0; k < 8; k++) {
			for (bit = 0; bit < 8; bit++)
				c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
			if (crc32c_table[k][n] != c)
				fail_msg("table %u entry %u: 0x%08x, bit by bit 0x%08x", k, n, crc32c_table[k][n], c);
		}
	}
}

/* every length 0..300 at every alignment mod 8, against the bitwise model */
static void test_lengths_and_alignments(void **state)
{
	static uint8_t buf[320], zeros[300];
	uint32_t seed = 1, start;
	size_t len, align;

	(void)state;
	for (len = 0; len < sizeof(buf); len++) {
		seed = seed * 1103515245u + 12345u;
		buf[len] = (uint8_t)(seed >> 16);
	}
	for (align = 0; align < 8; align++)
		for (len = 0; len + align <= 300; len++)
			assert_int_equal(vhdx_crc32c(0, buf + align, len), ref_crc32c(buf + align, len));
	start = vhdx_crc32c(0, buf, 5);
	for (len = 0; len < sizeof(zeros); len++)
		assert_int_equal(vhdx_crc32c_zeros(start, len), vhdx_crc32c(start, zeros, len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_rfc3720_vectors),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_zeros),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_lengths_and_alignments),
	};

	return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
